--
-- Every way PostgreSQL reaches a foreign table works, or fails with a clear
-- error: COPY, partitions, ON CONFLICT, joins, cursors, triggers, views,
-- prepared statements, savepoints.  State is checked in the emulator.
--
\! $EMUCTL reset demo
SET timezone = 'UTC';
SET datestyle = 'ISO, YMD';
CREATE FOREIGN TABLE p_customers (id bigint, email text, firstname text, age integer)
    SERVER copernica OPTIONS (database 'Customers');
CREATE FOREIGN TABLE p_orders (id bigint, profile bigint, ordernumber text, total numeric)
    SERVER copernica OPTIONS (database 'Customers', collection 'Orders');

-- COPY FROM sends only the named columns (age keeps Copernica's default),
-- gathered into batches of batch_size (one request at a time here, so that
-- IDs follow the rows)
ALTER FOREIGN TABLE p_customers OPTIONS (ADD batch_size '2', ADD max_concurrency '1');
\! $EMUCTL clear-log
COPY p_customers (email, firstname) FROM STDIN;
c1@example.com	Een
c2@example.com	Twee
c3@example.com	Drie
\.
\! $EMUCTL log | grep -v -e '^GET'
\! $EMUCTL profiles Customers
SELECT id, email, firstname, age FROM p_customers WHERE id > 25 ORDER BY id;

-- a row that cannot be written stops COPY before its batch is sent: the
-- first batch went, row 4 was gathered and is not sent
\! $EMUCTL clear-log
COPY p_customers (email, id) FROM STDIN;
c4@example.com	\N
c5@example.com	\N
c6@example.com	\N
c7@example.com	77
\.
\! $EMUCTL log | grep -c -v -e '^GET'
-- Copernica refusing a row: the error names it and lists what was created
\! $EMUCTL clear-log
COPY p_orders (profile, ordernumber) FROM STDIN;
1	co1
999999	co2
3	co3
\.
\! $EMUCTL log --status | grep -v -e '^GET' | sort
\! $EMUCTL subprofiles 1
ALTER FOREIGN TABLE p_customers OPTIONS (DROP batch_size, DROP max_concurrency);

-- a foreign table as a partition: INSERT and COPY route rows to it (in
-- batches), SELECT, UPDATE and DELETE reach it through the parent
\! $EMUCTL reset demo
CREATE TABLE pp_people (id bigint, email text, firstname text, age integer)
    PARTITION BY RANGE (age);
CREATE TABLE pp_local PARTITION OF pp_people FOR VALUES FROM (MINVALUE) TO (18);
CREATE FOREIGN TABLE pp_remote PARTITION OF pp_people FOR VALUES FROM (18) TO (MAXVALUE)
    SERVER copernica OPTIONS (database 'Customers', max_concurrency '1');
\! $EMUCTL clear-log
INSERT INTO pp_people (email, firstname, age)
    VALUES ('r1@example.com', 'Remote', 40), ('l1@example.com', 'Local', 12),
           ('r2@example.com', 'Remote', 50);
\! $EMUCTL log | grep -v -e '^GET'
\! $EMUCTL profiles Customers
SELECT * FROM pp_local;
INSERT INTO pp_people (email, age) VALUES ('r3@example.com', 60) RETURNING *;
COPY pp_people (email, age) FROM STDIN;
r4@example.com	70
l2@example.com	7
\.
\! $EMUCTL profiles Customers
SELECT tableoid::regclass, id, email, age FROM pp_people
  WHERE email LIKE '_%@example.com' AND id > 25 OR id IS NULL ORDER BY email;
UPDATE pp_people SET firstname = 'Changed' WHERE email = 'r1@example.com';
DELETE FROM pp_people WHERE email = 'r2@example.com';
\! $EMUCTL profiles Customers
SELECT id, email, firstname FROM pp_remote WHERE id > 25 ORDER BY id;
-- moving a local row into the foreign partition would create it there
UPDATE pp_people SET age = 45 WHERE email = 'l1@example.com';
\! $EMUCTL profiles Customers
DROP TABLE pp_people;

-- ON CONFLICT: Copernica has no constraint to conflict with
\! $EMUCTL clear-log
INSERT INTO p_customers (email) VALUES ('x@example.com') ON CONFLICT DO NOTHING;
\! $EMUCTL log | grep -c -v -e '^GET'

-- a named collection without its database is an error, not a crash
CREATE FOREIGN TABLE p_order_fields (id bigint, name text)
    SERVER copernica OPTIONS (resource 'fields', collection 'Orders');
SELECT * FROM p_order_fields;
DROP FOREIGN TABLE p_order_fields;
