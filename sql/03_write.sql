--
-- Writing: INSERT, UPDATE and DELETE do exactly what was asked, proven from
-- the emulator's state and request log.
--
\! $EMUCTL reset demo
SET timezone = 'UTC';
SET datestyle = 'ISO, YMD';
CREATE FOREIGN TABLE w_customers (
    id bigint, email text, firstname text, lastname text, city text,
    age integer, score numeric, birthday date, lastvisit timestamp,
    lastvisit_tz timestamptz OPTIONS (field 'lastvisit'),
    segment text, newsletter text, interests text[], secret text,
    modified timestamp, created timestamp
) SERVER copernica OPTIONS (database 'Customers');
CREATE FOREIGN TABLE w_orders (id bigint, profile bigint, ordernumber text,
                               total numeric, placed timestamp, status text)
    SERVER copernica OPTIONS (database 'Customers', collection 'Orders');

-- INSERT of one row: only the named fields are sent; RETURNING id needs no
-- extra request
\! $EMUCTL clear-log
INSERT INTO w_customers (email, firstname, age, birthday, interests)
    VALUES ('new@example.com', 'Nieuw', 44, '1980-02-03', '{soccer,news}')
    RETURNING id;
\! $EMUCTL log | grep -v -e '?limit=' -e '/fields'
-- fields left out got Copernica's defaults
SELECT id, email, firstname, age, birthday, segment, newsletter, interests
  FROM w_customers WHERE id = 29;
-- RETURNING other columns reads the profile back: Copernica's normalised
-- values show (the timestamp's fraction is dropped; a select value it
-- does not know is refused before the request, see 25_write_values)
INSERT INTO w_customers (email, segment, newsletter, age, lastvisit)
    VALUES ('x@example.com', 'gold', 'yes', 7, '2024-05-06 07:08:09.75')
    RETURNING id, email, segment, newsletter, age, lastvisit;
-- timestamptz is written in the server's timezone option (Europe/Amsterdam)
INSERT INTO w_customers (email, lastvisit_tz)
    VALUES ('tz@example.com', '2024-01-15 09:30:00+00') RETURNING id, lastvisit, lastvisit_tz;
\! $EMUCTL profiles 1

-- multi-row INSERT, and INSERT ... SELECT from a local table
CREATE TABLE staging (email text, firstname text, age integer);
INSERT INTO staging SELECT 'bulk' || g || '@example.com', 'Bulk ' || g, g FROM generate_series(1, 250) g;
\! $EMUCTL clear-log
INSERT INTO w_customers (email, firstname, age)
    VALUES ('a@example.com', 'A', 1), ('b@example.com', 'B', 2);
INSERT INTO w_customers (email, firstname, age) SELECT * FROM staging;
\! $EMUCTL log | grep -c '^POST /v2/database/Customers/profiles'
\! $EMUCTL profiles 1
SELECT count(*), sum(age), count(DISTINCT email) FROM w_customers WHERE email LIKE 'bulk%';
EXPLAIN (COSTS OFF) INSERT INTO w_customers (email) SELECT email FROM staging;
-- with batch_size 1 the same is sent row by row
ALTER FOREIGN TABLE w_customers OPTIONS (ADD batch_size '1');
EXPLAIN (COSTS OFF) INSERT INTO w_customers (email) SELECT email FROM staging;
ALTER FOREIGN TABLE w_customers OPTIONS (DROP batch_size);

-- UPDATE by id: one PUT with only the changed field, no listing first
\! $EMUCTL clear-log
UPDATE w_customers SET age = 35 WHERE id = 1;
\! $EMUCTL log --status | grep -v -e '?limit=' -e '/fields'
-- UPDATE of several columns, by a condition on a field, with RETURNING
UPDATE w_customers SET firstname = 'Johanna', lastvisit = '2025-01-01 10:00:00', interests = '{tennis}'
    WHERE email = 'jan.jansen@example.com' RETURNING id, firstname, lastvisit, interests, age;
SELECT id, email, firstname, lastname, city, age, lastvisit, interests
  FROM w_customers WHERE id = 1;
-- nothing else changed: profile 2 is as it was
SELECT id, firstname, age, interests FROM w_customers WHERE id = 2;
-- UPDATE of many rows
UPDATE w_customers SET newsletter = 'no' WHERE email LIKE 'bulk1%';
SELECT newsletter, count(*) FROM w_customers WHERE email LIKE 'bulk%' GROUP BY 1 ORDER BY 1;
-- the secret can be changed by UPDATE only
UPDATE w_customers SET secret = 'abc123' WHERE id = 3 RETURNING id, secret;
INSERT INTO w_customers (email, secret) VALUES ('s@example.com', 'x');

-- DELETE by id, by condition, with RETURNING; a removed profile is gone from lists
\! $EMUCTL clear-log
DELETE FROM w_customers WHERE id = 2;
\! $EMUCTL log --status | grep -v -e '?limit=' -e '/fields'
WITH d AS (DELETE FROM w_customers WHERE email LIKE 'bulk2%' RETURNING id, email)
SELECT count(*), min(email), max(email) FROM d;
SELECT count(*) FROM w_customers WHERE email LIKE 'bulk2%';
\! $EMUCTL profiles 1 | cut -d' ' -f1
-- deleting what is already gone is not an error, and not counted (as a row
-- deleted concurrently): here a trigger deletes each row through another
-- table just before the DELETE
CREATE FOREIGN TABLE w_customers_too (id bigint) SERVER copernica OPTIONS (database 'Customers');
CREATE FUNCTION delete_first() RETURNS trigger LANGUAGE plpgsql AS
$$BEGIN DELETE FROM w_customers_too WHERE id = OLD.id; RETURN OLD; END$$;
CREATE TRIGGER delete_first BEFORE DELETE ON w_customers
    FOR EACH ROW EXECUTE FUNCTION delete_first();
DELETE FROM w_customers WHERE email LIKE 'bulk3%';
\echo :ROW_COUNT
DROP TRIGGER delete_first ON w_customers;
SELECT count(*) FROM w_customers WHERE email LIKE 'bulk3%';

-- subprofiles: INSERT needs the profile; UPDATE and DELETE by id
INSERT INTO w_orders (profile, ordernumber, total, placed, status)
    VALUES (3, 'ORD-9001', 12.5, '2025-02-03 04:05:06', 'open') RETURNING *;
UPDATE w_orders SET total = 13.75, status = 'paid' WHERE ordernumber = 'ORD-9001' RETURNING *;
\! $EMUCTL subprofiles 1
DELETE FROM w_orders WHERE ordernumber = 'ORD-9001';
\! $EMUCTL subprofiles 1
INSERT INTO w_orders (ordernumber) VALUES ('ORD-9002');
INSERT INTO w_orders (profile, ordernumber) VALUES (NULL, 'ORD-9002');

-- a table without id can be inserted into, not updated or deleted from
CREATE FOREIGN TABLE no_id (email text) SERVER copernica OPTIONS (database 'Customers');
INSERT INTO no_id VALUES ('noid@example.com');
-- what cannot be written is an error before any write request
\! $EMUCTL clear-log
INSERT INTO w_customers (id, email) VALUES (5, 'x');
UPDATE w_customers SET id = 3 WHERE id = 4;
UPDATE w_customers SET modified = now() WHERE id = 4;
UPDATE w_orders SET profile = 4 WHERE id = 1;
INSERT INTO databases (name) VALUES ('x');
UPDATE no_id SET email = 'y';
DELETE FROM no_id;
CREATE FOREIGN TABLE w_typo (id bigint, emial text) SERVER copernica OPTIONS (database 'Customers');
INSERT INTO w_typo (emial) VALUES ('x');
CREATE FOREIGN TABLE read_only (id bigint, email text)
    SERVER copernica OPTIONS (database 'Customers', updatable 'false');
DELETE FROM read_only WHERE id = 1;
\! $EMUCTL log | grep -c -v -e '^GET'

-- a failure in the middle of a batch names the row and lists what was created
\! $EMUCTL reset demo
CREATE TABLE staging2 (email text, profile bigint);
INSERT INTO staging2 VALUES ('o1', 1), ('o2', 2), ('o3', 999999), ('o4', 4);
INSERT INTO w_orders (ordernumber, profile) SELECT email, profile FROM staging2;
\! $EMUCTL subprofiles 1
SELECT ordernumber, profile FROM w_orders WHERE ordernumber LIKE 'o_' ORDER BY 1;
