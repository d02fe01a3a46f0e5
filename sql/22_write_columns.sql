--
-- Which columns a write sends.  A BEFORE ROW trigger may change columns
-- the statement does not name: UPDATE then sends every column it may
-- change, INSERT every column that is not null after the triggers.  A
-- DEFAULT or a generated column of the foreign table is computed by
-- PostgreSQL, and INSERT, COPY and UPDATE send it.  Each case shows the
-- bodies in the emulator's request log and what the emulator stored.
--
\! $EMUCTL reset demo
SET timezone = 'UTC';
SET datestyle = 'ISO, YMD';
CREATE SCHEMA wc;
IMPORT FOREIGN SCHEMA "Customers" LIMIT TO (customers, customers_orders)
    FROM SERVER copernica INTO wc;

-- a BEFORE ROW trigger sets two columns the statements do not name
CREATE FUNCTION wc_city() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN NEW.city := 'TrigCity'; NEW.age := 99; RETURN NEW; END $$;
CREATE TRIGGER wc_bc BEFORE UPDATE OR INSERT ON wc.customers
    FOR EACH ROW EXECUTE FUNCTION wc_city();
\! $EMUCTL clear-log
UPDATE wc.customers SET notes = 'u2' WHERE id = 4 RETURNING id, notes, city, age;
-- every column Copernica lets an UPDATE change, the others as they were
\! $EMUCTL log --bodies
\! $EMUCTL profile 4 | grep -oE '"(city|age|notes|segment|newsletter|signup|lastvisit)": *"[^"]*"'
SELECT id, email, firstname, score, birthday, signup, lastvisit, segment,
       newsletter, interests FROM wc.customers WHERE id = 4;
\! $EMUCTL clear-log
INSERT INTO wc.customers (email) VALUES ('t@t.t') RETURNING city, age, segment;
-- the named column and the trigger's; the null ones are left to Copernica
\! $EMUCTL log --bodies
SELECT city, age, segment, newsletter FROM wc.customers WHERE email = 't@t.t';
-- COPY goes the same way
\! $EMUCTL clear-log
COPY wc.customers (email, firstname) FROM STDIN;
copy@t.t	Carl
\.
\! $EMUCTL log --bodies
SELECT firstname, city, age FROM wc.customers WHERE email = 'copy@t.t';
-- a column over no Copernica field: left out of an INSERT while the
-- triggers leave it null, an error before the request once one sets it
-- (an UPDATE's scan already refuses the column)
ALTER FOREIGN TABLE wc.customers ADD COLUMN nosuch text;
\! $EMUCTL clear-log
INSERT INTO wc.customers (email) VALUES ('n1@t.t');
CREATE FUNCTION wc_nosuch() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN NEW.nosuch := 'x'; RETURN NEW; END $$;
CREATE TRIGGER wc_bn BEFORE INSERT ON wc.customers
    FOR EACH ROW EXECUTE FUNCTION wc_nosuch();
INSERT INTO wc.customers (email) VALUES ('n2@t.t');
\! $EMUCTL log --bodies
DROP TRIGGER wc_bn ON wc.customers;
ALTER FOREIGN TABLE wc.customers DROP COLUMN nosuch;
DROP TRIGGER wc_bc ON wc.customers;
-- without a trigger, only the named columns
\! $EMUCTL clear-log
UPDATE wc.customers SET notes = 'u5' WHERE id = 4;
INSERT INTO wc.customers (email) VALUES ('plain@t.t');
\! $EMUCTL log --bodies

-- a subprofile's trigger: the profile is sent, the read-only columns not
CREATE FUNCTION wc_status() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN NEW.status := 'paid'; RETURN NEW; END $$;
CREATE TRIGGER wc_bs BEFORE UPDATE OR INSERT ON wc.customers_orders
    FOR EACH ROW EXECUTE FUNCTION wc_status();
\! $EMUCTL clear-log
UPDATE wc.customers_orders SET ordernumber = 'X-1' WHERE id = 1 RETURNING ordernumber, status;
INSERT INTO wc.customers_orders (profile, ordernumber) VALUES (2, 'X-2')
    RETURNING profile, ordernumber, status;
\! $EMUCTL log --bodies
DROP TRIGGER wc_bs ON wc.customers_orders;

-- a DEFAULT and a generated column of the foreign table
CREATE FOREIGN TABLE wc.cg (id bigint, email text, firstname text,
    notes text DEFAULT 'from-default',
    city text GENERATED ALWAYS AS (upper(firstname)) STORED)
    SERVER copernica OPTIONS (database 'Customers');
\! $EMUCTL clear-log
INSERT INTO wc.cg (email, firstname) VALUES ('g@g.g', 'gina') RETURNING notes, city;
UPDATE wc.cg SET firstname = 'hanna' WHERE email = 'g@g.g' RETURNING notes, city;
COPY wc.cg (email, firstname) FROM STDIN;
copy@x.y	carl
\.
INSERT INTO wc.cg (email, firstname, notes) VALUES ('h@g.g', 'hugo', 'named');
\! $EMUCTL log --bodies
SELECT email, firstname, notes, city FROM wc.cg WHERE email IN ('g@g.g', 'copy@x.y', 'h@g.g')
    ORDER BY email;

DROP SCHEMA wc CASCADE;
