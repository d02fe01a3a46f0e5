--
-- UPDATE ... FROM and DELETE ... USING whose join yields a row more than
-- once write it once: one request, counted once, one RETURNING row, one
-- AFTER ROW trigger, as PostgreSQL does on a local table (a row already
-- changed by the same command is skipped).  Row counts from psql's
-- ROW_COUNT, requests from the emulator's log, state from the emulator,
-- each compared with the same statement on a local copy.
--
\! $EMUCTL reset demo
SET timezone = 'UTC';
SET datestyle = 'ISO, YMD';
CREATE FOREIGN TABLE wo_customers (id bigint, email text, city text, age integer, notes text)
    SERVER copernica OPTIONS (database 'Customers');
CREATE FOREIGN TABLE wo_orders (id bigint, profile bigint, ordernumber text, status text)
    SERVER copernica OPTIONS (database 'Customers', collection 'Orders');
CREATE SCHEMA wo_mail;
IMPORT FOREIGN SCHEMA "_mailings" LIMIT TO (publisher_clicks)
    FROM SERVER copernica INTO wo_mail;
CREATE TABLE lo_customers AS SELECT * FROM wo_customers;
CREATE TABLE lo_orders AS SELECT * FROM wo_orders;
CREATE TABLE lo_clicks AS SELECT profile, emailing FROM wo_mail.publisher_clicks;
-- the joins below yield rows more than once
SELECT count(*) AS orders, count(DISTINCT profile) AS profiles FROM lo_orders;
SELECT count(*) AS clicks, count(DISTINCT profile) AS profiles
  FROM lo_clicks WHERE emailing = 1281;
-- what differs between the foreign tables and the local copies
CREATE VIEW wo_diff AS
    (SELECT 'foreign' AS side, * FROM wo_customers EXCEPT SELECT 'foreign', * FROM lo_customers)
    UNION ALL
    (SELECT 'local', * FROM lo_customers EXCEPT SELECT 'local', * FROM wo_customers)
    ORDER BY 2, 1;

-- UPDATE FROM the orders (several per profile), requests overlapped
-- (max_concurrency 4 by default): one PUT per profile
UPDATE lo_customers c SET notes = 'buyer' FROM lo_orders o WHERE o.profile = c.id;
\echo :ROW_COUNT
\! $EMUCTL clear-log
UPDATE wo_customers c SET notes = 'buyer' FROM wo_orders o WHERE o.profile = c.id;
\echo :ROW_COUNT
\! $EMUCTL log | grep -c '^PUT'
\! $EMUCTL log | grep '^PUT' | sort | uniq -d
SELECT * FROM wo_diff;
-- the same one request at a time
ALTER FOREIGN TABLE wo_customers OPTIONS (ADD max_concurrency '1');
UPDATE lo_customers c SET notes = 'one by one' FROM lo_orders o WHERE o.profile = c.id;
\echo :ROW_COUNT
\! $EMUCTL clear-log
UPDATE wo_customers c SET notes = 'one by one' FROM wo_orders o WHERE o.profile = c.id;
\echo :ROW_COUNT
\! $EMUCTL log | grep -c '^PUT'
\! $EMUCTL log | grep '^PUT' | sort | uniq -d
SELECT * FROM wo_diff;
ALTER FOREIGN TABLE wo_customers OPTIONS (DROP max_concurrency);

-- the tester's case: clicks of emailing 1281, several per profile
UPDATE lo_customers c SET notes = 'click' FROM lo_clicks k
 WHERE c.id = k.profile AND k.emailing = 1281;
\echo :ROW_COUNT
\! $EMUCTL clear-log
UPDATE wo_customers c SET notes = 'click' FROM wo_mail.publisher_clicks k
 WHERE c.id = k.profile AND k.emailing = 1281;
\echo :ROW_COUNT
\! $EMUCTL log | grep -c '^PUT'
\! $EMUCTL log | grep '^PUT' | sort | uniq -d
SELECT * FROM wo_diff;

-- RETURNING reads each profile back once and returns it once
\! $EMUCTL clear-log
WITH u AS (
    UPDATE wo_customers c SET age = c.age + 1 FROM wo_orders o
     WHERE o.profile = c.id AND o.profile < 10 RETURNING c.id, c.age)
SELECT count(*), count(DISTINCT id), sum(age) FROM u;
\! $EMUCTL log | grep -c '^PUT'
\! $EMUCTL log | grep -c '^GET /v2/profile/[0-9]*$'
WITH u AS (
    UPDATE lo_customers c SET age = c.age + 1 FROM lo_orders o
     WHERE o.profile = c.id AND o.profile < 10 RETURNING c.id, c.age)
SELECT count(*), count(DISTINCT id), sum(age) FROM u;
SELECT * FROM wo_diff;

-- AFTER ROW triggers fire once per profile written
CREATE TABLE wo_fired (id bigint);
CREATE FUNCTION wo_note() RETURNS trigger LANGUAGE plpgsql AS
$$BEGIN INSERT INTO wo_fired VALUES (NEW.id); RETURN NEW; END$$;
CREATE TRIGGER wo_note AFTER UPDATE ON wo_customers
    FOR EACH ROW EXECUTE FUNCTION wo_note();
\! $EMUCTL clear-log
UPDATE wo_customers c SET city = 'Ordered' FROM wo_orders o WHERE o.profile = c.id;
\echo :ROW_COUNT
\! $EMUCTL log | grep -c '^PUT'
SELECT count(*), count(DISTINCT id) FROM wo_fired;
DROP TRIGGER wo_note ON wo_customers;
UPDATE lo_customers c SET city = 'Ordered' FROM lo_orders o WHERE o.profile = c.id;
SELECT * FROM wo_diff;

-- each statement writes its rows again: the IDs are remembered per
-- statement, not per transaction, prepared statement or savepoint
PREPARE wo_upd AS
    UPDATE wo_customers c SET notes = 'again' FROM wo_orders o WHERE o.profile = c.id;
\! $EMUCTL clear-log
EXECUTE wo_upd;
\echo :ROW_COUNT
EXECUTE wo_upd;
\echo :ROW_COUNT
\! $EMUCTL log | grep -c '^PUT'
-- a statement that fails halfway (Copernica refuses the fifth PUT) and is
-- rolled back to a savepoint, then run again, writes every row
BEGIN;
SAVEPOINT s;
\! $EMUCTL fail 500 1 --method PUT --after 4
\set VERBOSITY terse
UPDATE wo_customers c SET notes = 'retried' FROM wo_orders o WHERE o.profile = c.id;
\set VERBOSITY default
ROLLBACK TO SAVEPOINT s;
\! $EMUCTL clear-faults
\! $EMUCTL clear-log
UPDATE wo_customers c SET notes = 'retried' FROM wo_orders o WHERE o.profile = c.id;
\echo :ROW_COUNT
COMMIT;
\! $EMUCTL log | grep -c '^PUT'
\! $EMUCTL log | grep '^PUT' | sort | uniq -d
UPDATE lo_customers c SET notes = 'retried' FROM lo_orders o WHERE o.profile = c.id;
SELECT * FROM wo_diff;

-- two foreign tables over one database (by name and by ID) under one
-- parent: a profile reached through both is written once, as
-- postgres_fdw writes a remote row once
CREATE TABLE wo_parent (id bigint, email text, city text, age integer, notes text);
CREATE FOREIGN TABLE wo_by_name () INHERITS (wo_parent)
    SERVER copernica OPTIONS (database 'Customers');
CREATE FOREIGN TABLE wo_by_id () INHERITS (wo_parent)
    SERVER copernica OPTIONS (database '1');
SELECT tableoid::regclass, id FROM wo_parent WHERE id IN (1, 2, 3) ORDER BY 2, 1;
\! $EMUCTL clear-log
UPDATE wo_parent SET city = 'Twice' WHERE id IN (1, 2, 3);
\echo :ROW_COUNT
\! $EMUCTL log | grep -v '^GET' | sort
SELECT id, city FROM wo_customers WHERE id IN (1, 2, 3) ORDER BY id;
\! $EMUCTL clear-log
DELETE FROM wo_parent WHERE id IN (1, 2);
\echo :ROW_COUNT
\! $EMUCTL log | grep -v '^GET' | sort
UPDATE lo_customers SET city = 'Twice' WHERE id IN (1, 2, 3);
DELETE FROM lo_customers WHERE id IN (1, 2);
-- a removed profile's subprofiles go with it
DELETE FROM lo_orders WHERE profile IN (1, 2);

-- DELETE USING the clicks: profile 4's three orders, each joined with two
-- clicks, are removed with three requests and no notice
DELETE FROM lo_orders o USING lo_clicks k
 WHERE k.profile = o.profile AND k.emailing = 1281 AND o.profile = 4;
\echo :ROW_COUNT
\! $EMUCTL clear-log
DELETE FROM wo_orders o USING wo_mail.publisher_clicks k
 WHERE k.profile = o.profile AND k.emailing = 1281 AND o.profile = 4;
\echo :ROW_COUNT
\! $EMUCTL log | grep -v '^GET' | sort
-- DELETE USING a local list that names profiles twice, with RETURNING:
-- each order is read before it goes, removed and returned once
CREATE TABLE wo_gone (profile bigint);
INSERT INTO wo_gone VALUES (11), (11), (12), (11), (12);
\! $EMUCTL clear-log
WITH d AS (
    DELETE FROM wo_orders o USING wo_gone g WHERE o.profile = g.profile
    RETURNING o.id, o.ordernumber)
SELECT count(*), count(DISTINCT id), string_agg(ordernumber, ',' ORDER BY ordernumber) FROM d;
\! $EMUCTL log | grep -c '^DELETE'
\! $EMUCTL log | grep -c '^GET /v2/subprofile/[0-9]*$'
WITH d AS (
    DELETE FROM lo_orders o USING wo_gone g WHERE o.profile = g.profile
    RETURNING o.id, o.ordernumber)
SELECT count(*), count(DISTINCT id), string_agg(ordernumber, ',' ORDER BY ordernumber) FROM d;
-- and without RETURNING, overlapped
INSERT INTO wo_gone VALUES (18), (18), (20), (18);
\! $EMUCTL clear-log
DELETE FROM wo_orders o USING wo_gone g WHERE o.profile = g.profile;
\echo :ROW_COUNT
\! $EMUCTL log | grep -c '^DELETE'
\! $EMUCTL log | grep '^DELETE' | sort | uniq -d
DELETE FROM lo_orders o USING wo_gone g WHERE o.profile = g.profile;
\echo :ROW_COUNT
\! $EMUCTL subprofiles 1
(SELECT 'foreign' AS side, * FROM wo_orders EXCEPT SELECT 'foreign', * FROM lo_orders)
UNION ALL
(SELECT 'local', * FROM lo_orders EXCEPT SELECT 'local', * FROM wo_orders);
SELECT * FROM wo_diff;
