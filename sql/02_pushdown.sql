--
-- Pushdown: what goes to Copernica, proven from the emulator's request log,
-- and the same answer as PostgreSQL's own in every case.
--
-- The log lines shown leave out planning's metadata requests (the table's
-- size and fields, cached a minute), which are not what these tests are about.
--
\! $EMUCTL reset demo
SET timezone = 'UTC';
SET datestyle = 'ISO, YMD';
CREATE FOREIGN TABLE people (
    id bigint, email text, firstname text, town text OPTIONS (field 'city'),
    age integer, score numeric, birthday date, lastvisit timestamp,
    segment text, referrer bigint, modified timestamp
) SERVER copernica OPTIONS (database 'Customers');
CREATE TABLE people_local AS SELECT * FROM people;
SELECT count(*) FROM people_local;

-- id = constant: one request, for that ID
\! $EMUCTL clear-log
SELECT id, email FROM people WHERE id = 7;
\! $EMUCTL log | grep -v -e '?limit=' -e '/fields'
EXPLAIN (VERBOSE, COSTS OFF) SELECT id, email FROM people WHERE id = 7;

-- text equality is sent, and PostgreSQL's case-sensitive answer kept
\! $EMUCTL clear-log
SELECT id, town FROM people WHERE town = 'AMSTERDAM' ORDER BY id;
SELECT id, town FROM people WHERE town = 'amsterdam' ORDER BY id;
SELECT id, town FROM people WHERE town = 'Amsterdam' ORDER BY id;
\! $EMUCTL log | grep -v -e '?limit=' -e '/fields'
EXPLAIN (COSTS OFF) SELECT id FROM people WHERE town = 'Amsterdam';

-- LIMIT on a plain scan asks for just that many
\! $EMUCTL clear-log
SELECT id FROM people LIMIT 5;
\! $EMUCTL log | grep -v -e '?limit=' -e '/fields'
EXPLAIN (COSTS OFF) SELECT id FROM people LIMIT 5;
-- LIMIT with OFFSET: the first limit + offset rows
\! $EMUCTL clear-log
SELECT id FROM people ORDER BY id LIMIT 3 OFFSET 4;
\! $EMUCTL log | grep -v -e '?limit=' -e '/fields'

-- LIMIT with a condition Copernica cannot apply is not pushed
\! $EMUCTL clear-log
SELECT id, town FROM people WHERE lower(town) = 'amsterdam' ORDER BY id LIMIT 5;
\! $EMUCTL log | grep -v -e '?limit=' -e '/fields'
-- nor with one it applies loosely (ignoring case): still exactly right
SELECT id FROM people WHERE town = 'Amsterdam' ORDER BY id LIMIT 2;
EXPLAIN (COSTS OFF) SELECT id FROM people WHERE town = 'Amsterdam' ORDER BY id LIMIT 2;
-- but an exact condition (integer field) and a pushed order take it along
\! $EMUCTL clear-log
SELECT id, age FROM people WHERE age >= 40 ORDER BY id DESC LIMIT 3;
\! $EMUCTL log | grep -v -e '?limit=' -e '/fields'
EXPLAIN (COSTS OFF) SELECT id, age FROM people WHERE age >= 40 ORDER BY id DESC LIMIT 3;
-- a join is never limited on one side
EXPLAIN (COSTS OFF)
SELECT p.id FROM people p JOIN people_local l ON l.email = p.email LIMIT 3;

-- ORDER BY: id and modified go, text and numbers sort locally
EXPLAIN (COSTS OFF) SELECT id FROM people ORDER BY modified;
EXPLAIN (COSTS OFF) SELECT id FROM people ORDER BY modified DESC LIMIT 2;
SELECT id, modified FROM people ORDER BY modified DESC LIMIT 2;
EXPLAIN (COSTS OFF) SELECT id FROM people ORDER BY email;
EXPLAIN (COSTS OFF) SELECT id FROM people ORDER BY age;

-- what is pushed, what is not
EXPLAIN (COSTS OFF) SELECT id FROM people WHERE score > 5;               -- float: no
EXPLAIN (COSTS OFF) SELECT id FROM people WHERE town <> 'Utrecht';       -- text <>: no
EXPLAIN (COSTS OFF) SELECT id FROM people WHERE town < 'B';              -- text order: no
EXPLAIN (COSTS OFF) SELECT id FROM people WHERE email IS NULL;           -- no NULLs
EXPLAIN (COSTS OFF) SELECT id FROM people WHERE age = 19 OR age = 80;    -- no OR
EXPLAIN (COSTS OFF) SELECT id FROM people WHERE birthday < '1960-01-01'; -- date: yes
EXPLAIN (COSTS OFF) SELECT id FROM people WHERE email LIKE '%.nl';       -- LIKE: yes
EXPLAIN (COSTS OFF) SELECT id FROM people WHERE email ILIKE '%.NL';      -- ILIKE: no
EXPLAIN (COSTS OFF) SELECT id FROM people WHERE 30 < age;                -- commuted
EXPLAIN (COSTS OFF) SELECT id FROM people WHERE referrer = 1;            -- foreign_key
SELECT id FROM people WHERE birthday < '1960-01-01' ORDER BY id;
SELECT id FROM people_local WHERE birthday < '1960-01-01' ORDER BY id;
-- EXPLAIN shows dates and datetimes as they are sent, whatever DateStyle
-- says: the same code writes both (the log shows the request)
SET datestyle = 'SQL, DMY';
EXPLAIN (VERBOSE, COSTS OFF)
SELECT id FROM people WHERE birthday < '1960-01-02' AND lastvisit > '2001-02-03 04:05:06' ORDER BY id;
\! $EMUCTL clear-log
SELECT id FROM people WHERE birthday < '1960-01-02' AND lastvisit > '2001-02-03 04:05:06' ORDER BY id;
\! $EMUCTL log | grep -v -e '?limit=' -e '/fields'
SET datestyle = 'ISO, YMD';
SELECT id, email FROM people WHERE email LIKE '%.nl' AND age < 25 ORDER BY id;
SELECT id, email FROM people WHERE email LIKE '%.NL' ORDER BY id;
SELECT id, age FROM people WHERE 70 <= age ORDER BY id;

-- a nondeterministic collation finds more than Copernica would: not sent
CREATE COLLATION regress_ci (provider = icu, locale = 'und-u-ks-level1', deterministic = false);
EXPLAIN (COSTS OFF) SELECT id FROM people WHERE firstname = 'ZOE' COLLATE regress_ci;
SELECT id, firstname FROM people WHERE firstname = 'ZOE' COLLATE regress_ci;
EXPLAIN (COSTS OFF) SELECT id FROM people WHERE firstname = 'Zoë' COLLATE "C";

-- values Copernica would read differently are not sent, and still answered
\! $EMUCTL clear-log
SELECT id FROM people WHERE town = 'Amsterdam ';
SELECT id FROM people WHERE firstname LIKE 'Lu\_%';
\! $EMUCTL log | grep -v -e '?limit=' -e '/fields'
-- a fraction of a second is widened to whole seconds, then rechecked
\! $EMUCTL clear-log
SELECT id, modified FROM people WHERE modified < '2020-02-16 14:04:14.5' ORDER BY id;
\! $EMUCTL log | grep -v -e '?limit=' -e '/fields'
-- a NULL value matches nothing and asks for nothing
\! $EMUCTL clear-log
SELECT id FROM people WHERE id = NULL::bigint;
\! $EMUCTL log --count

-- id = ANY(...) and IN look up each ID once
\! $EMUCTL clear-log
SELECT id, firstname FROM people WHERE id = ANY (ARRAY[12, 3, 99, 3, -1]) ORDER BY id;
\! $EMUCTL log | grep -v -e '?limit=' -e '/fields' | sort
SELECT id FROM people WHERE id IN (5, 2) ORDER BY id DESC;
EXPLAIN (COSTS OFF) SELECT id FROM people WHERE id IN (5, 2) ORDER BY id DESC;

-- prepared statements keep their pushdown in a generic plan
SET plan_cache_mode = force_generic_plan;
PREPARE by_id(bigint) AS SELECT id, firstname FROM people WHERE id = $1;
PREPARE by_town(text, int) AS SELECT id FROM people WHERE town = $1 AND age > $2 ORDER BY id;
EXPLAIN (COSTS OFF) EXECUTE by_id(4);
\! $EMUCTL clear-log
EXECUTE by_id(4);
EXECUTE by_id(8);
EXECUTE by_town('Amsterdam', 30);
\! $EMUCTL log | grep -v -e '?limit=' -e '/fields'
EXPLAIN (COSTS OFF) EXECUTE by_town('Amsterdam', 30);
DEALLOCATE by_id;
DEALLOCATE by_town;
RESET plan_cache_mode;

-- a stable expression is evaluated once, at scan start
\! $EMUCTL clear-log
SELECT count(*) FROM people WHERE modified >= now() - interval '100 years';
\! $EMUCTL log | grep -v -e '?limit=' -e '/fields' | sed -E 's/(modified%3E%3D)[0-9]{4}-[0-9]{2}-[0-9]{2}%20[0-9]{2}%3A[0-9]{2}%3A[0-9]{2}/\1(100 years ago)/'

-- EXPLAIN ANALYZE counts requests, pages and bytes
ALTER FOREIGN TABLE people OPTIONS (ADD page_size '10');
SELECT explain_portable('ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF, BUFFERS OFF',
                        'SELECT id FROM people');
EXPLAIN (VERBOSE, COSTS OFF) SELECT id, town FROM people WHERE town = 'Utrecht' AND age > 20;
ALTER FOREIGN TABLE people OPTIONS (DROP page_size);

-- only dataonly=true unless a column needs what it leaves out
\! $EMUCTL clear-log
CREATE FOREIGN TABLE people_created (id bigint, created timestamp) SERVER copernica OPTIONS (database 'Customers');
SELECT id, created FROM people_created WHERE id = 2;
\! $EMUCTL log | grep -v -e '?limit=' -e '/fields'

-- a join on id runs as a nested loop of ID lookups, when that is cheaper
\! $EMUCTL reset generate 2500 --shape dense
SELECT copernica_forget_metadata();
CREATE TABLE picks (customer_id bigint, note text);
INSERT INTO picks VALUES (3, 'three'), (1100, 'eleven hundred'), (4200, 'nobody');
ANALYZE picks;
SELECT explain_portable('COSTS OFF',
    'SELECT k.note, p.firstname FROM picks k JOIN people p ON p.id = k.customer_id');
\! $EMUCTL clear-log
SELECT k.note, p.firstname FROM picks k JOIN people p ON p.id = k.customer_id ORDER BY 1;
\! $EMUCTL log | grep -v -e '?limit=' -e '/fields'


-- ANALYZE reads the table once, in pages, and samples it
\! $EMUCTL reset demo
\! $EMUCTL clear-log
ANALYZE people;
\! $EMUCTL log | grep -v -e '?limit=' -e '/fields'
SELECT reltuples FROM pg_class WHERE relname = 'people';
SELECT attname, null_frac, n_distinct FROM pg_stats
 WHERE tablename = 'people' AND attname IN ('email', 'birthday', 'town', 'segment')
 ORDER BY attname;

-- a text value longer than 1000 bytes is not sent (a request line that long
-- could be refused, HTTP 414): PostgreSQL checks the condition, the other
-- conditions still go, and a count(*) with it is not pushed
\! $EMUCTL clear-log
SELECT count(*) FROM people WHERE firstname = repeat('a', 70000);
SELECT id FROM people WHERE town = 'Utrecht' AND firstname LIKE repeat('x', 1001) || '%';
SELECT id FROM people WHERE town = 'Utrecht' AND firstname = repeat('c', 1000);
SELECT id FROM people WHERE town = 'Utrecht' AND firstname <= repeat('z', 5000) ORDER BY id LIMIT 2;
\! $EMUCTL log | sed -E 's/c{1000}/c{1000}/' | grep -v -e '?limit=' -e '/fields'
