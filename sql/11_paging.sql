--
-- Paging by ID: scans, UPDATEs and DELETEs neither miss nor repeat a row,
-- on every shape of Copernica's IDs, and make about as many requests as
-- there are pages.  State is checked in the emulator, requests in its log.
--
SET timezone = 'UTC';
CREATE FOREIGN TABLE pg_customers (id bigint, email text, age integer, city text)
    SERVER copernica OPTIONS (database 'Customers', page_size '7', max_concurrency '1');
CREATE FOREIGN TABLE pg_orders (id bigint, profile bigint, total numeric)
    SERVER copernica OPTIONS (database 'Customers', collection 'Orders', page_size '7');

-- DELETE across pages of a small table removes every row: each page asks
-- for IDs above the last one read, so a removal shifts nothing
\! $EMUCTL reset demo
\! $EMUCTL clear-log
DELETE FROM pg_customers WHERE id > 0;
\! $EMUCTL profiles 1
\! $EMUCTL log | grep -c '^DELETE /v2/profile/'
\! $EMUCTL log | grep '^GET /v2/database/Customers/profiles?start'

-- UPDATE whose new value leaves the pushed condition: every row once
\! $EMUCTL reset demo
SELECT count(*) AS young, sum(age) AS age_sum FROM pg_customers WHERE age < 50;
\! $EMUCTL profiles 1 --sum age
\! $EMUCTL clear-log
UPDATE pg_customers SET age = 99 WHERE age < 50;
\! $EMUCTL log | grep -c '^PUT /v2/profile/'
\! $EMUCTL profiles 1 --sum age
SELECT count(*) FROM pg_customers WHERE age < 50;

-- UPDATE whose new value keeps the condition: every row once, none twice
\! $EMUCTL clear-log
UPDATE pg_customers SET age = age + 1 WHERE age >= 0;
\! $EMUCTL log | grep -c '^PUT /v2/profile/'
\! $EMUCTL profiles 1 --sum age

-- the same on many pages of irregular IDs, four requests in flight
\! $EMUCTL reset generate 600 --shape clustered
SELECT copernica_forget_metadata();
ALTER FOREIGN TABLE pg_customers OPTIONS (SET page_size '20', SET max_concurrency '4');
SELECT count(*) FILTER (WHERE age > 40) AS old, count(*) AS all_rows,
       sum(age) FILTER (WHERE age <= 40) AS young_age_sum FROM pg_customers;
\! $EMUCTL clear-log
UPDATE pg_customers SET age = age + 100 WHERE age > 40;
\! $EMUCTL log | grep -c '^PUT /v2/profile/'
SELECT count(*) FILTER (WHERE age > 140) AS moved, count(*) FILTER (WHERE age > 40) AS old
  FROM pg_customers;
\! $EMUCTL clear-log
DELETE FROM pg_customers WHERE age > 40;
\! $EMUCTL log | grep -c '^DELETE /v2/profile/'
\! $EMUCTL profiles 1 --sum age
-- updates that move rows out of the condition, by keyset on a sparse table
\! $EMUCTL reset generate 500 --shape sparse
SELECT copernica_forget_metadata();
SELECT count(*) AS rows_before FROM pg_customers WHERE city <> '';
UPDATE pg_customers SET city = '' WHERE city <> '';
SELECT count(*) AS rows_after FROM pg_customers WHERE city <> '';

--
-- Full scans on every ID shape: every row once, and at most
-- 1.1 * ceil(rows / page_size) + 2 * max_concurrency data requests.
-- (3000 rows, page_size 50, max_concurrency 4: at most 66 + 8 = 74)
--
ALTER FOREIGN TABLE pg_customers OPTIONS (SET page_size '50');
\set check_scan 'SELECT count(*) AS n, count(DISTINCT id) AS distinct_ids, sum(id) AS idsum FROM pg_customers'

\! $EMUCTL reset generate 3000 --shape dense
SELECT copernica_forget_metadata();
\! $EMUCTL clear-log
:check_scan;
\! $EMUCTL profiles 1
\set n `$EMUCTL log | grep '^GET /v2/database/Customers/profiles?start' | wc -l`
SELECT :n BETWEEN 60 AND 74 AS requests_within_bound;

\! $EMUCTL reset generate 3000 --shape sparse
SELECT copernica_forget_metadata();
\! $EMUCTL clear-log
:check_scan;
\! $EMUCTL profiles 1
\set n `$EMUCTL log | grep '^GET /v2/database/Customers/profiles?start' | wc -l`
SELECT :n BETWEEN 60 AND 74 AS requests_within_bound;

\! $EMUCTL reset generate 3000 --shape clustered
SELECT copernica_forget_metadata();
\! $EMUCTL clear-log
:check_scan;
\! $EMUCTL profiles 1
\set n `$EMUCTL log | grep '^GET /v2/database/Customers/profiles?start' | wc -l`
SELECT :n BETWEEN 60 AND 74 AS requests_within_bound;

\! $EMUCTL reset generate 3000 --shape skewed
SELECT copernica_forget_metadata();
\! $EMUCTL clear-log
:check_scan;
\! $EMUCTL profiles 1
\set n `$EMUCTL log | grep '^GET /v2/database/Customers/profiles?start' | wc -l`
SELECT :n BETWEEN 60 AND 74 AS requests_within_bound;

\! $EMUCTL reset generate 3000 --shape removed
SELECT copernica_forget_metadata();
\! $EMUCTL clear-log
:check_scan;
\! $EMUCTL profiles 1
\set n `$EMUCTL log | grep '^GET /v2/database/Customers/profiles?start' | wc -l`
SELECT :n BETWEEN 60 AND 74 AS requests_within_bound;
-- the four connections were all used
\! $EMUCTL log --connections

-- with a condition, a full first page is followed by a count of what
-- matches, and the rest is cut by it: rows as without pushdown, requests
-- within the bound
SELECT count(*) AS pushed, sum(id) AS idsum FROM pg_customers WHERE age > 30;
\! $EMUCTL clear-log
SELECT count(*) AS local, sum(id) AS idsum FROM pg_customers WHERE age + 0 > 30;
\! $EMUCTL clear-log
SELECT count(id) AS pushed FROM pg_customers WHERE age > 30 \gset
\set n `$EMUCTL log | grep '^GET /v2/database/Customers/profiles?start' | wc -l`
SELECT :n <= ceil(:pushed / 50.0) * 1.1 + 8 AS requests_within_bound;
\! $EMUCTL log | grep '^GET /v2/database/Customers/profiles?start=0&limit=0&total=true'

-- a collection of irregular subprofile IDs
\! $EMUCTL reset generate 3000 --shape clustered
SELECT copernica_forget_metadata();
ALTER FOREIGN TABLE pg_orders OPTIONS (SET page_size '50', ADD max_concurrency '4');
\! $EMUCTL clear-log
SELECT count(*) AS n, count(DISTINCT id) AS distinct_ids, sum(id) AS idsum FROM pg_orders;
\! $EMUCTL subprofiles 1
\set n `$EMUCTL log | grep '^GET /v2/collection/1/subprofiles?start' | wc -l`
SELECT :n BETWEEN 60 AND 74 AS requests_within_bound;

-- with max_concurrency 1, one keyset chain: exactly one request per page
ALTER FOREIGN TABLE pg_customers OPTIONS (SET max_concurrency '1');
\! $EMUCTL clear-log
:check_scan;
\! $EMUCTL log | grep -c '^GET /v2/database/Customers/profiles?start'
\! $EMUCTL log --connections

-- a stripe that ends early hands its connection to the largest one left:
-- planned for 6000 rows (the cached size), the table has 3000, so the
-- first cuts leave two stripes of 30 pages and an empty one; those two are
-- split again, and four requests stay in flight to the end, within the bound
\! $EMUCTL reset generate 6000 --shape sparse
SELECT copernica_forget_metadata();
ALTER FOREIGN TABLE pg_customers OPTIONS (SET max_concurrency '4');
EXPLAIN (COSTS OFF) SELECT id FROM pg_customers;
\! $EMUCTL reset generate 3000 --shape sparse
\! $EMUCTL latency 20
\! $EMUCTL clear-log
:check_scan;
\! $EMUCTL latency 0
\! $EMUCTL profiles 1
\set n `$EMUCTL log | grep '^GET /v2/database/Customers/profiles?start' | wc -l`
SELECT :n BETWEEN 60 AND 74 AS requests_within_bound;
\set overlap `$EMUCTL log --in-flight-at-end 4`
SELECT :overlap >= 3 AS in_flight_to_the_end;

--
-- Long id = ANY(...) lists: sorted in O(n log n), and read as ID ranges
-- when that costs fewer requests than one per ID
--
\! $EMUCTL reset generate 3000 --shape sparse
SELECT copernica_forget_metadata();
ALTER FOREIGN TABLE pg_customers OPTIONS (SET page_size '100', SET max_concurrency '4');
CREATE TABLE wanted_ids AS SELECT id FROM pg_customers WHERE id % 3 = 0;
SELECT count(*) AS wanted_ids FROM wanted_ids;
SELECT '{' || string_agg(id::text, ',' ORDER BY id DESC) || '}' AS id_list FROM wanted_ids \gset
SELECT '{' || string_agg(id::text, ',' ORDER BY id DESC) || '}' AS short_list
  FROM (SELECT id FROM wanted_ids ORDER BY id LIMIT 25) s \gset
EXPLAIN (COSTS OFF) SELECT count(*) FROM pg_customers WHERE id = ANY(:'short_list'::bigint[]);
\! $EMUCTL clear-log
SELECT count(*) FROM pg_customers WHERE id = ANY(:'short_list'::bigint[]);
\! $EMUCTL log | grep '^GET /v2/database/Customers/profiles?start'
-- EXPLAIN VERBOSE shows the request as the pager builds it, the range's
-- bounds included (not a text rebuilt by hand): it is the one just sent
SELECT trim(line) AS explained FROM explain_portable('VERBOSE, COSTS OFF',
  format('SELECT count(*) FROM pg_customers WHERE id = ANY(%L::bigint[])', :'short_list')) line
 WHERE line LIKE '%Copernica Request:%' \gset
\echo :explained
\setenv EXPLAINED :explained
\! $EMUCTL log | python3 -c 'import sys, urllib.parse; [print("Copernica Request: " + urllib.parse.unquote(l.strip()).replace(" /v2/", " ", 1)) for l in sys.stdin]' | grep -c -x -F -e "$EXPLAINED"
\! $EMUCTL clear-log
SELECT count(*), sum(id) AS idsum FROM pg_customers WHERE id = ANY(:'id_list'::bigint[]);
SELECT count(*), sum(id) AS idsum FROM wanted_ids;
-- the 30 pages of the range (and three cuts) instead of 974 lookups
\set n `$EMUCTL log | grep -c '^GET /v2/database/Customers/profiles?start'`
SELECT :n <= 40 AS few_requests;
-- IDs far apart stay lookups, one request each
SELECT explain_portable('COSTS OFF', 'SELECT count(*) FROM pg_customers
 WHERE id = ANY(ARRAY(SELECT g * 1000000 FROM generate_series(1, 30) g))');
\! $EMUCTL clear-log
SELECT count(*) FROM pg_customers WHERE id = ANY('{1000000,2000000,3000000,4000000,5000000,6000000,7000000,8000000,9000000,10000000,11000000,12000000,13000000,14000000,15000000,16000000,17000000,18000000,19000000,20000000,21000000,22000000}'::bigint[]);
\! $EMUCTL log | grep -c '^GET /v2/database/Customers/profiles?start'
EXPLAIN (COSTS OFF) SELECT count(*) FROM pg_customers WHERE id = ANY('{1000000,2000000,3000000,4000000,5000000,6000000,7000000,8000000,9000000,10000000,11000000,12000000,13000000,14000000,15000000,16000000,17000000,18000000,19000000,20000000,21000000,22000000}'::bigint[]);
-- a parameter: the choice is made at run time
PREPARE by_ids(bigint[]) AS SELECT count(*) FROM pg_customers WHERE id = ANY($1);
SET plan_cache_mode = force_generic_plan;
EXPLAIN (COSTS OFF) EXECUTE by_ids('{1,2,3}');
RESET plan_cache_mode;
-- half a million IDs in descending order: sorted at once, read by ranges
\! $EMUCTL clear-log
SELECT count(*), sum(id) AS idsum FROM pg_customers
 WHERE id = ANY(ARRAY(SELECT g FROM generate_series(500000, 1, -1) g));
\! $EMUCTL profiles 1
\set n `$EMUCTL log | grep -c '^GET /v2/database/Customers/profiles?start'`
SELECT :n <= 40 AS few_requests;
DROP TABLE wanted_ids;

--
-- UPDATE and DELETE keep max_concurrency requests in flight; the row count
-- is exact, and a failure names its row and lists what was changed
--
\! $EMUCTL reset demo
CREATE FOREIGN TABLE pg_demo (id bigint, email text, age integer)
    SERVER copernica OPTIONS (database 'Customers');
\! $EMUCTL latency 20
\! $EMUCTL clear-log
UPDATE pg_demo SET age = age + 1 WHERE id > 0;
\! $EMUCTL latency 0
\! $EMUCTL log | grep -c '^PUT /v2/profile/'
-- the PUTs went out over four connections at once
\! $EMUCTL log | grep '^PUT' | wc -l
\! $EMUCTL log --connections
\! $EMUCTL profiles 1 --sum age
-- the tenth PUT fails: the error names row 10 and profile 10, and lists the
-- profiles updated before it was seen (the three sent after it, too)
\! $EMUCTL answer 400 1 '{"error":{"message":"Invalid data"}}' --match /profile/10 --method PUT
UPDATE pg_demo SET age = age + 1 WHERE id > 0;
\! $EMUCTL profiles 1 --sum age
-- a cancel (here statement_timeout) while the failure waits for the other
-- writes in flight is not lost: the first error is raised, the detail says
-- the wait was cut short, and the two PUTs left unanswered count as
-- unknown, not as updated (they did reach Copernica: the emulator answers
-- them late)
\! $EMUCTL clear-log
\! $EMUCTL answer 400 1 '{"error":{"message":"Invalid data"}}' --match /profile/1 --method PUT
\! $EMUCTL slow 10000 2 --method PUT
SET statement_timeout = '3s';
UPDATE pg_demo SET age = age + 1 WHERE id IN (1, 2, 3);
RESET statement_timeout;
\! $EMUCTL log | grep '^PUT' | sort
\! $EMUCTL clear-faults
-- RETURNING and triggers need each row's outcome: one request at a time
\! $EMUCTL clear-log
UPDATE pg_demo SET age = age - 1 WHERE id <= 3 RETURNING id, age;
CREATE FUNCTION pg_demo_trigger() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE NOTICE 'deleting profile %', OLD.id;
    RETURN OLD;
END $$;
CREATE TRIGGER pg_demo_before BEFORE DELETE ON pg_demo
    FOR EACH ROW EXECUTE FUNCTION pg_demo_trigger();
DELETE FROM pg_demo WHERE id IN (24, 25);
DROP TRIGGER pg_demo_before ON pg_demo;
-- DELETE overlapped too, with exact counts
\! $EMUCTL clear-log
DELETE FROM pg_demo WHERE id > 15;
\! $EMUCTL log | grep -c '^DELETE /v2/profile/'
\! $EMUCTL profiles 1

--
-- count(*) with every condition sent exactly: Copernica's total, one request
--
\! $EMUCTL reset generate 3000 --shape clustered
SELECT copernica_forget_metadata();
EXPLAIN (VERBOSE, COSTS OFF) SELECT count(*) FROM pg_customers;
\! $EMUCTL clear-log
SELECT count(*) FROM pg_customers;
\! $EMUCTL log | grep -v -e '/fields'
\! $EMUCTL profiles 1
EXPLAIN (VERBOSE, COSTS OFF) SELECT count(*), count(*) AS again FROM pg_customers WHERE age > 30;
\! $EMUCTL clear-log
SELECT count(*), count(*) AS again FROM pg_customers WHERE age > 30;
\! $EMUCTL log | grep -v -e '/fields'
SELECT count(*) AS counted_locally FROM pg_customers WHERE age + 0 > 30;
-- a count in a subquery, after a local table in the range table (the
-- demo's shape): the counted table is found in the final range table
CREATE TEMP TABLE count_local (n int);
INSERT INTO count_local VALUES (1), (2);
\! $EMUCTL clear-log
SELECT count(*) AS local_rows, (SELECT count(*) FROM pg_customers) = 3000 AS all_counted
  FROM count_local;
\! $EMUCTL log | grep -v -e '/fields'
DROP TABLE count_local;
-- subprofiles too
EXPLAIN (COSTS OFF) SELECT count(*) FROM pg_orders;
SELECT count(*) FROM pg_orders;
\! $EMUCTL subprofiles 1
-- anything else is aggregated locally: a condition not sent (or not
-- exactly), another aggregate, GROUP BY
EXPLAIN (COSTS OFF) SELECT count(*) FROM pg_customers WHERE age + 0 > 30;
EXPLAIN (COSTS OFF) SELECT count(email) FROM pg_customers;
EXPLAIN (COSTS OFF) SELECT count(*), max(age) FROM pg_customers;
EXPLAIN (COSTS OFF) SELECT age, count(*) FROM pg_customers GROUP BY age;
-- a parameter of an integer (or id) condition is sent exactly whatever its
-- value: counted by Copernica, one request per execution
PREPARE count_older(integer) AS SELECT count(*) FROM pg_customers WHERE age > $1;
SET plan_cache_mode = force_generic_plan;
EXPLAIN (VERBOSE, COSTS OFF) EXECUTE count_older(30);
\! $EMUCTL clear-log
EXECUTE count_older(30);
EXECUTE count_older(NULL);
\! $EMUCTL log | grep -v -e '/fields'
SELECT count(*) AS counted_locally FROM pg_customers WHERE age + 0 > 30;
-- text is compared without regard to case, so = $1 on it is counted locally
PREPARE count_email(text) AS SELECT count(*) FROM pg_customers WHERE email = $1;
EXPLAIN (COSTS OFF) EXECUTE count_email('x');
RESET plan_cache_mode;
-- a correlated subquery: one count request per outer row, with its value
CREATE TEMP TABLE count_ages (age int);
INSERT INTO count_ages VALUES (30), (45), (200);
SELECT explain_portable('VERBOSE, COSTS OFF',
  'SELECT a.age, (SELECT count(*) FROM pg_customers c WHERE c.age = a.age) FROM count_ages a');
\! $EMUCTL clear-log
SELECT a.age, (SELECT count(*) FROM pg_customers c WHERE c.age = a.age) AS n,
       (SELECT count(*) FROM pg_customers c WHERE c.age + 0 = a.age) AS counted_locally
  FROM count_ages a ORDER BY a.age;
\! $EMUCTL log | grep -c 'limit=0&total=true&fields%5B%5D=age%3D%3D'
DROP TABLE count_ages;
-- a NULL can match nothing; an empty table counts 0
SELECT count(*) FROM pg_customers WHERE age > NULL::integer;
\! $EMUCTL reset empty
SELECT count(*) FROM pg_customers;

--
-- id = $1 in a nested loop: one request per outer row, nothing else
--
\! $EMUCTL reset generate 3000 --shape dense
SELECT copernica_forget_metadata();
CREATE TABLE pg_wanted (id bigint);
INSERT INTO pg_wanted VALUES (3), (7), (11), (99999);
ANALYZE pg_wanted;
SELECT explain_portable('COSTS OFF', 'SELECT w.id, c.age FROM pg_wanted w JOIN pg_customers c ON c.id = w.id');
\! $EMUCTL clear-log
SELECT w.id, c.age FROM pg_wanted w JOIN pg_customers c ON c.id = w.id ORDER BY w.id;
\! $EMUCTL log | grep -v -e '/fields'
DROP TABLE pg_wanted;
