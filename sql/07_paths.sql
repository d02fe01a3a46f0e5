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
-- TRUNCATE and MERGE are refused before any request: TRUNCATE of the
-- foreign table, of a parent with a foreign partition (the local partition
-- keeps its rows), MERGE into either
\! $EMUCTL clear-log
TRUNCATE pp_remote;
TRUNCATE pp_people;
SELECT count(*) FROM pp_local;
TRUNCATE p_customers, pp_local;
SELECT count(*) FROM pp_local;
-- a read-only table's refusal does not point at DELETE, refused as well
CREATE FOREIGN TABLE pp_readonly (id bigint) SERVER copernica
    OPTIONS (database 'Customers', updatable 'false');
TRUNCATE pp_readonly;
DROP FOREIGN TABLE pp_readonly;
MERGE INTO p_customers c USING (VALUES (3, 50)) v(id, age) ON c.id = v.id
    WHEN MATCHED THEN UPDATE SET age = v.age;
MERGE INTO pp_people p USING (VALUES ('l1@example.com', 20)) v(email, age) ON p.email = v.email
    WHEN MATCHED THEN UPDATE SET age = v.age
    WHEN NOT MATCHED THEN INSERT (email, age) VALUES (v.email, v.age);
\! $EMUCTL log --count
\! $EMUCTL profiles Customers
DROP TABLE pp_people;

-- ON CONFLICT: Copernica has no constraint to conflict with
\! $EMUCTL clear-log
INSERT INTO p_customers (email) VALUES ('x@example.com') ON CONFLICT DO NOTHING;
\! $EMUCTL log | grep -c -v -e '^GET'

-- a named collection without its database is an error, not a crash
CREATE FOREIGN TABLE p_order_fields (id bigint, name text)
    SERVER copernica OPTIONS (resource 'fields', collection 'Orders');

-- UPDATE ... FROM and DELETE ... USING a local table: one PUT or DELETE per
-- matched row, found by ID
\! $EMUCTL reset demo
CREATE TABLE p_changes (id bigint, new_age integer);
INSERT INTO p_changes VALUES (3, 46), (4, 53), (99, 1);
\! $EMUCTL clear-log
UPDATE p_customers c SET age = ch.new_age FROM p_changes ch WHERE c.id = ch.id;
\! $EMUCTL log | grep -v -e '^GET' | sort
SELECT id, age FROM p_customers WHERE id IN (3, 4) ORDER BY id;
\! $EMUCTL clear-log
DELETE FROM p_customers c USING p_changes ch WHERE c.id = ch.id AND ch.new_age > 50;
\! $EMUCTL log | grep -v -e '^GET'
\! $EMUCTL profile 4 | grep -c '"removed": *"2'
\! $EMUCTL profiles Customers

-- RETURNING *: UPDATE shows what Copernica stored, DELETE the row as it was
UPDATE p_customers SET firstname = 'Piet' WHERE id = 3 RETURNING *;
DELETE FROM p_customers WHERE id = 5 RETURNING *;
\! $EMUCTL profiles Customers

-- row and statement triggers on the foreign table see every row
CREATE TABLE p_trigger_log (event text);
CREATE FUNCTION p_log_row() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO p_trigger_log VALUES (TG_WHEN || ' ' || TG_OP || ' ' || TG_LEVEL || ' ' ||
        coalesce(CASE TG_OP WHEN 'DELETE' THEN OLD.email ELSE NEW.email END, '-') ||
        ' id=' || coalesce(CASE TG_OP WHEN 'DELETE' THEN OLD.id ELSE NEW.id END::text, '-'));
    IF TG_OP = 'INSERT' AND TG_WHEN = 'BEFORE' THEN
        NEW.firstname := 'set by trigger';
    END IF;
    RETURN CASE TG_OP WHEN 'DELETE' THEN OLD ELSE NEW END;
END$$;
CREATE FUNCTION p_log_stmt() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO p_trigger_log VALUES (TG_WHEN || ' ' || TG_OP || ' ' || TG_LEVEL);
    RETURN NULL;
END$$;
CREATE TRIGGER p_row_before BEFORE INSERT OR UPDATE OR DELETE ON p_customers
    FOR EACH ROW EXECUTE FUNCTION p_log_row();
CREATE TRIGGER p_row_after AFTER INSERT OR UPDATE OR DELETE ON p_customers
    FOR EACH ROW EXECUTE FUNCTION p_log_row();
CREATE TRIGGER p_stmt AFTER INSERT OR UPDATE OR DELETE ON p_customers
    FOR EACH STATEMENT EXECUTE FUNCTION p_log_stmt();
INSERT INTO p_customers (email, firstname) VALUES ('t1@example.com', 'x'), ('t2@example.com', 'x');
UPDATE p_customers SET age = 1 WHERE email = 't1@example.com';
DELETE FROM p_customers WHERE email = 't2@example.com';
COPY p_customers (email, firstname) FROM STDIN;
t3@example.com	x
\.
SELECT * FROM p_trigger_log;
SELECT id, email, firstname, age FROM p_customers WHERE email LIKE 't_@example.com' ORDER BY id;
\! $EMUCTL profiles Customers
DROP TRIGGER p_row_before ON p_customers;
DROP TRIGGER p_row_after ON p_customers;
DROP TRIGGER p_stmt ON p_customers;

-- a view over a foreign table: read, and written through
CREATE VIEW p_adults AS SELECT id, email, age FROM p_customers WHERE age >= 18;
SELECT count(*) FROM p_adults;
EXPLAIN (VERBOSE, COSTS OFF) SELECT id FROM p_adults WHERE id = 7;
UPDATE p_adults SET age = 68 WHERE id = 7;
\! $EMUCTL profile 7 | grep -o '"age": *"[^"]*"'

-- cursors: FETCH forward in steps; SCROLL and WITH HOLD work on the
-- materialized rows
BEGIN;
DECLARE c1 CURSOR FOR SELECT id FROM p_customers WHERE id <= 10 ORDER BY id;
FETCH 3 FROM c1;
FETCH 2 FROM c1;
CLOSE c1;
DECLARE c2 SCROLL CURSOR FOR SELECT id FROM p_customers WHERE id <= 5;
FETCH ALL FROM c2;
FETCH BACKWARD 2 FROM c2;
FETCH FIRST FROM c2;
DECLARE c3 CURSOR FOR SELECT id FROM p_customers WHERE id <= 5;
FETCH 1 FROM c3;
FETCH BACKWARD 1 FROM c3;
COMMIT;
DECLARE c4 CURSOR WITH HOLD FOR SELECT id, email FROM p_customers WHERE id IN (1, 2) ORDER BY id;
FETCH ALL FROM c4;
CLOSE c4;

-- prepared statements: custom plans and the generic plan give the same rows
SET plan_cache_mode = force_generic_plan;
PREPARE p_by_id(bigint) AS SELECT id, email FROM p_customers WHERE id = $1;
EXPLAIN (COSTS OFF) EXECUTE p_by_id(2);
\! $EMUCTL clear-log
EXECUTE p_by_id(2);
EXECUTE p_by_id(8);
\! $EMUCTL log | grep -v -e '/fields'
PREPARE p_set_age(integer, bigint) AS UPDATE p_customers SET age = $1 WHERE id = $2;
EXECUTE p_set_age(20, 8);
EXECUTE p_set_age(21, 9);
SELECT id, age FROM p_customers WHERE id IN (8, 9) ORDER BY id;
RESET plan_cache_mode;
DEALLOCATE ALL;

-- savepoints: a foreign query failing inside one, ROLLBACK TO, then more
-- foreign queries in the same transaction
CREATE FOREIGN TABLE p_nowhere (id bigint) SERVER copernica OPTIONS (database 'Nowhere');
BEGIN;
SELECT count(*) FROM p_customers WHERE id < 10;
SAVEPOINT s1;
SELECT * FROM p_nowhere;
ROLLBACK TO s1;
SELECT count(*) FROM p_customers WHERE id < 10;
SAVEPOINT s2;
UPDATE p_customers SET age = 30 WHERE id = 10;
\! $EMUCTL fail 503 20
SELECT count(id) FROM p_customers;
ROLLBACK TO s2;
\! $EMUCTL clear-faults
UPDATE p_customers SET age = 31 WHERE id = 11;
COMMIT;
SELECT id, age FROM p_customers WHERE id IN (10, 11) ORDER BY id;

-- a self-join, LATERAL, and two foreign tables in one statement
SELECT a.id, b.id AS referrer_id FROM p_customers a
  JOIN p_customers b ON b.id = a.age - 1 WHERE a.id IN (8, 9) ORDER BY a.id;
SELECT c.id, o.ordernumber FROM p_customers c,
  LATERAL (SELECT ordernumber FROM p_orders o WHERE o.profile = c.id ORDER BY o.id LIMIT 1) o
  WHERE c.id IN (1, 2, 3) ORDER BY c.id;
SELECT c.email, count(o.id) AS orders FROM p_customers c JOIN p_orders o ON o.profile = c.id
  WHERE c.id <= 3 GROUP BY c.email ORDER BY c.email;
UPDATE p_orders o SET ordernumber = 'for ' || c.email FROM p_customers c
  WHERE o.profile = c.id AND c.id = 1;
SELECT id, profile, ordernumber FROM p_orders WHERE profile = 1 ORDER BY id;

-- an outer join whose nullable side feeds a parameterized scan: the value
-- is a PlaceHolderVar, looked up once per outer row
CREATE TABLE p_local (k bigint);
INSERT INTO p_local VALUES (1), (2), (3);
ANALYZE p_local;
SELECT explain_portable('VERBOSE, COSTS OFF', 'SELECT l.k, s.one, c.email FROM p_local l
  LEFT JOIN (SELECT k, 1::bigint AS one FROM p_local) s ON s.k = l.k - 1
  LEFT JOIN p_customers c ON c.id = s.one');
SELECT l.k, s.one, c.email FROM p_local l
  LEFT JOIN (SELECT k, 1::bigint AS one FROM p_local) s ON s.k = l.k - 1
  LEFT JOIN p_customers c ON c.id = s.one
  ORDER BY l.k;
SELECT l.k, s.x, c.email FROM p_local l
  LEFT JOIN (SELECT k, coalesce(k, 0) AS x FROM p_local) s ON s.k = l.k - 1
  JOIN p_customers c ON c.id = s.x
  ORDER BY l.k;

-- EXPLAIN ANALYZE of each write names the request and counts it
\! $EMUCTL reset demo
SELECT explain_portable('ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF, BUFFERS OFF',
    $q$INSERT INTO p_customers (email) VALUES ('e1@example.com'), ('e2@example.com')$q$);
SELECT explain_portable('ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF, BUFFERS OFF',
    'UPDATE p_customers SET age = 5 WHERE id = 29');
SELECT explain_portable('ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF, BUFFERS OFF',
    'DELETE FROM p_customers WHERE id = 30');
\! $EMUCTL profiles Customers
\! $EMUCTL profile 29 | grep -o '"age": *"[^"]*"'

-- statement_timeout (a cancel alike) stops a batched INSERT: no request is
-- started after it, and the error lists what was created and what may have
-- been (metadata is read first, before the emulator slows down)
\! $EMUCTL reset demo
ALTER FOREIGN TABLE p_customers OPTIONS (ADD max_concurrency '1');
SELECT count(*) FROM p_customers;
\! $EMUCTL latency 2000
\! $EMUCTL clear-log
SET statement_timeout = '3s';
INSERT INTO p_customers (email) SELECT 'to' || g || '@example.com' FROM generate_series(1, 6) g;
RESET statement_timeout;
\! $EMUCTL latency 0
\! $EMUCTL log | grep -c '^POST'
\! $EMUCTL profiles Customers
ALTER FOREIGN TABLE p_customers OPTIONS (DROP max_concurrency);

-- a text value that starts with { or [ stays text, in a jsonb column too;
-- a JSON object is JSON
\! $EMUCTL reset demo
CREATE FOREIGN TABLE p_json (id bigint, firstname text,
                             firstname_json jsonb OPTIONS (field 'firstname'),
                             fields jsonb)
    SERVER copernica OPTIONS (database 'Customers');
UPDATE p_customers SET firstname = '[1, 2]' WHERE id = 1;
UPDATE p_customers SET firstname = '{not json' WHERE id = 2;
\! $EMUCTL profile 1 | grep -o '"firstname": *"[^"]*"'
SELECT id, firstname, firstname_json, jsonb_typeof(firstname_json) AS json_type,
       fields->'firstname' AS in_fields, jsonb_typeof(fields) AS fields_type
  FROM p_json WHERE id IN (1, 2) ORDER BY id;

-- timestamptz is read with the same zone rules it is written with: a POSIX
-- zone such as UTC+2 (two hours west of Greenwich) round-trips
ALTER SERVER copernica OPTIONS (SET timezone 'UTC+2');
CREATE FOREIGN TABLE p_tz (id bigint, lastvisit timestamptz,
                           lastvisit_local timestamp OPTIONS (field 'lastvisit'))
    SERVER copernica OPTIONS (database 'Customers');
SET timezone = 'UTC';
UPDATE p_tz SET lastvisit = '2024-01-15 12:00:00+00' WHERE id = 1;
\! $EMUCTL profile 1 | grep -o '"lastvisit": *"[^"]*"'
SELECT lastvisit, lastvisit_local FROM p_tz WHERE id = 1;
SELECT id FROM p_tz WHERE id = 1 AND lastvisit = '2024-01-15 12:00:00+00';
ALTER SERVER copernica OPTIONS (SET timezone 'Europe/Amsterdam');
SELECT lastvisit, lastvisit_local FROM p_tz WHERE id = 1;

-- DELETE: Copernica's "already been removed" is counted, any other refusal
-- is an error that names the request (canned answers: nothing is removed)
\! $EMUCTL answer 400 1 '{"error":{"message":"This profile has already been removed"}}' --method DELETE
DELETE FROM p_customers WHERE id = 3;
\! $EMUCTL answer 400 1 '{"error":{"message":"Profile 4 has not already been removed"}}' --method DELETE
DELETE FROM p_customers WHERE id = 4;
\! $EMUCTL profiles Customers

-- a scan that ends with a page still in flight (LIMIT on a local condition)
-- closes only that connection: the next query reuses the kept-alive ones
\! $EMUCTL reset demo
CREATE FOREIGN TABLE p_one_at_a_time (id bigint, firstname text)
    SERVER copernica OPTIONS (database 'Customers', page_size '5', max_concurrency '1');
ALTER FOREIGN TABLE p_customers OPTIONS (ADD page_size '5');
SELECT count(*) FROM p_one_at_a_time;
\! $EMUCTL latency 300
\! $EMUCTL clear-log
SELECT count(id) FROM p_customers;
SELECT id FROM p_one_at_a_time WHERE firstname <> 'x' LIMIT 1;
\set conn_after_limit `$EMUCTL log --connections`
SELECT count(*) FROM databases;
\set conn_after_next `$EMUCTL log --connections`
\! $EMUCTL latency 0
SELECT :'conn_after_limit' = :'conn_after_next' AS no_new_connection;
ALTER FOREIGN TABLE p_customers OPTIONS (DROP page_size);

-- rescans do not grow per-query memory: a nested loop looks a profile up
-- once per outer row (a rescan of the parameterized scan each time), and
-- the memory in use by the cursor's ExecutorState and the scan's contexts
-- is the same after 50 rescans and after 350 (less than a byte a rescan)
CREATE FUNCTION query_memory() RETURNS bigint LANGUAGE sql AS $$
  SELECT sum(used_bytes)::bigint FROM pg_backend_memory_contexts
   WHERE name = 'ExecutorState' OR name LIKE 'copernica_fdw%' $$;
SET enable_hashjoin = off;
SET enable_mergejoin = off;
SET enable_material = off;
SELECT explain_portable('COSTS OFF', 'SELECT g, c.email FROM generate_series(1, 400) g
  LEFT JOIN p_customers c ON c.id = g % 20 + 1');
BEGIN;
DECLARE rescans NO SCROLL CURSOR FOR SELECT g, c.email FROM generate_series(1, 400) g
  LEFT JOIN p_customers c ON c.id = g % 20 + 1;
MOVE 50 IN rescans;
SELECT query_memory() AS after_50 \gset
\! $EMUCTL clear-log
MOVE 300 IN rescans;
SELECT query_memory() AS after_350 \gset
\! $EMUCTL log --count
SELECT :after_350 - :after_50 < 300 AS no_growth_with_rescans;
COMMIT;
RESET enable_hashjoin;
RESET enable_mergejoin;
RESET enable_material;
