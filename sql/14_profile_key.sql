--
-- A subprofile table's profile column: profile = value reads that profile's
-- subprofiles (GET profile/$id/subprofiles/$collection, the other pushed
-- conditions as fields[]), and a join on profile can run as a nested loop
-- that asks it once per outer row, when that is cheaper than reading the
-- whole collection.  Requests are counted in the emulator's log; rows are
-- compared with a local copy of the collection.
--
SET timezone = 'UTC';
\! $EMUCTL reset generate 3000 --shape clustered
CREATE FOREIGN TABLE pk_orders (id bigint, profile bigint, total float8, status text,
                        placed timestamp)
    SERVER copernica OPTIONS (database 'Customers', collection 'Orders',
                              page_size '20', max_concurrency '4');
CREATE FOREIGN TABLE pk_customers (id bigint, age integer)
    SERVER copernica OPTIONS (database 'Customers', page_size '100', max_concurrency '4');
CREATE TABLE pk_orders_copy AS SELECT * FROM pk_orders;
SELECT count(*) AS orders, count(DISTINCT profile) AS profiles FROM pk_orders_copy;
\! $EMUCTL subprofiles 1

-- 100 local profile IDs: 99 of Copernica's (a third without orders) and
-- one it does not know
CREATE TABLE pk_wanted AS SELECT id FROM pk_customers ORDER BY id DESC LIMIT 99;
INSERT INTO pk_wanted VALUES (987654321);
ANALYZE pk_wanted;
SELECT explain_portable('VERBOSE, COSTS OFF',
  'SELECT w.id, o.id, o.total FROM pk_wanted w JOIN pk_orders o ON o.profile = w.id');
\! $EMUCTL clear-log
CREATE TABLE pk_joined AS
  SELECT w.id AS wanted, o.* FROM pk_wanted w JOIN pk_orders o ON o.profile = w.id;
-- one request per outer row, none for the collection
\! $EMUCTL log | grep -c '^GET /v2/profile/[0-9]*/subprofiles/1?start=0&limit=20&total=false&dataonly=true$'
\! $EMUCTL log | grep -v '^GET /v2/profile/[0-9]*/subprofiles/1?'
-- the rows of the local copy, no more, no fewer
SELECT count(*) AS joined, sum(id) AS idsum FROM pk_joined;
SELECT count(*) AS differences FROM (
  (SELECT * FROM pk_joined
   EXCEPT ALL
   SELECT w.id, o.* FROM pk_wanted w JOIN pk_orders_copy o ON o.profile = w.id)
  UNION ALL
  (SELECT w.id, o.* FROM pk_wanted w JOIN pk_orders_copy o ON o.profile = w.id
   EXCEPT ALL
   SELECT * FROM pk_joined)) d;

-- another pushed condition goes along as fields[]; ten outer rows
CREATE TABLE pk_few AS SELECT id FROM pk_wanted ORDER BY id LIMIT 10;
ANALYZE pk_few;
-- (the local filter's join clause prints its sides by version: left out)
SELECT line FROM explain_portable('VERBOSE, COSTS OFF',
  'SELECT w.id, o.id FROM pk_few w JOIN pk_orders o ON o.profile = w.id WHERE o.placed >= ''2024-01-01''') line
 WHERE line !~ '^ *Filter: ';
\! $EMUCTL clear-log
SELECT count(*) AS recent, sum(o.id) AS idsum
  FROM pk_few w JOIN pk_orders o ON o.profile = w.id WHERE o.placed >= '2024-01-01';
SELECT count(*) AS recent, sum(o.id) AS idsum
  FROM pk_few w JOIN pk_orders_copy o ON o.profile = w.id WHERE o.placed >= '2024-01-01';
\! $EMUCTL log | grep '^GET /v2/profile/' | sed 's/profile\/[0-9]*/profile\/N/' | sort | uniq -c
\! $EMUCTL log | grep -v '^GET /v2/profile/[0-9]*/subprofiles/1?'

-- many outer rows: reading the collection once is cheaper
CREATE TABLE pk_many AS SELECT id FROM pk_customers;
ANALYZE pk_many;
SELECT explain_portable('COSTS OFF',
  'SELECT count(*) FROM pk_many m JOIN pk_orders o ON o.profile = m.id');
\! $EMUCTL clear-log
SELECT count(*) AS joined FROM pk_many m JOIN pk_orders o ON o.profile = m.id;
\! $EMUCTL log | grep -c '^GET /v2/profile/'

-- profile = constant: that profile's listing, one request
SELECT max(profile) AS busy FROM pk_orders_copy
 WHERE profile IN (SELECT profile FROM pk_orders_copy GROUP BY 1 HAVING count(*) = 2) \gset
EXPLAIN (VERBOSE, COSTS OFF) SELECT id, total FROM pk_orders WHERE profile = :busy;
\! $EMUCTL clear-log
SELECT id, total, status FROM pk_orders WHERE profile = :busy
EXCEPT ALL SELECT id, total, status FROM pk_orders_copy WHERE profile = :busy;
SELECT count(*) FROM pk_orders WHERE profile = :busy;
\! $EMUCTL log | grep -c '^GET /v2/profile/[0-9]*/subprofiles/1?'
\! $EMUCTL log | grep -v '^GET /v2/profile/[0-9]*/subprofiles/1?'
-- count(*) of one profile's subprofiles, no other condition: that
-- listing's total, one request instead of its pages
SELECT min(profile) AS many FROM pk_orders_copy \gset
INSERT INTO pk_orders (profile, total, status, placed)
  SELECT :many, g, 'open', '2024-01-01' FROM generate_series(1, 45) g;
EXPLAIN (VERBOSE, COSTS OFF) SELECT count(*) FROM pk_orders WHERE profile = :many;
\! $EMUCTL clear-log
SELECT count(*) FROM pk_orders WHERE profile = :many;
\! $EMUCTL log
-- the rows read and counted here: as many
SELECT count(id) AS read FROM pk_orders WHERE profile = :many;
-- another condition sent along: counted locally (that the profile's
-- listing honours fields[] is inferred), as is one not sent
EXPLAIN (COSTS OFF) SELECT count(*) FROM pk_orders WHERE profile = :many AND id > 0;
EXPLAIN (COSTS OFF) SELECT count(*) FROM pk_orders WHERE profile = :many AND total + 0 > 10;
-- a correlated outer value: one request per outer row
SELECT explain_portable('VERBOSE, COSTS OFF',
  'SELECT w.id, (SELECT count(*) FROM pk_orders o WHERE o.profile = w.id) FROM pk_few w');
\! $EMUCTL clear-log
SELECT sum((SELECT count(*) FROM pk_orders o WHERE o.profile = w.id)) AS counted,
       count(*) AS outer_rows
  FROM pk_few w;
\! $EMUCTL log | grep -c '^GET /v2/profile/[0-9]*/subprofiles/1?start=0&limit=0&total=true$'
\! $EMUCTL log | grep -v '^GET /v2/profile/[0-9]*/subprofiles/1?start=0&limit=0&total=true$'
SELECT sum((SELECT count(o.id) FROM pk_orders o WHERE o.profile = w.id)) AS read
  FROM pk_few w;
-- a parameter likewise; an unknown profile, and one of another database,
-- have no orders; no ID below 1 is asked for
PREPARE orders_of(bigint) AS SELECT count(*) FROM pk_orders WHERE profile = $1;
SET plan_cache_mode = force_generic_plan;
EXPLAIN (VERBOSE, COSTS OFF) EXECUTE orders_of(1);
\! $EMUCTL clear-log
EXECUTE orders_of(:busy);
EXECUTE orders_of(987654321);
EXECUTE orders_of(0);
EXECUTE orders_of(NULL);
RESET plan_cache_mode;
\! $EMUCTL log
-- a profile of another database
\! $EMUCTL reset demo
SELECT copernica_forget_metadata();
CREATE FOREIGN TABLE pk_newsletter (id bigint) SERVER copernica OPTIONS (database 'Newsletter');
SELECT min(id) AS other_db FROM pk_newsletter \gset
\! $EMUCTL clear-log
SELECT count(*) FROM pk_orders WHERE profile = :other_db;
SELECT id FROM pk_orders WHERE profile = :other_db;
\! $EMUCTL log | grep -e '^GET /v2/profile/' -e '^GET /v2/collection/1/subprofiles?start'
-- any other error is an error, counted or read
\! $EMUCTL answer 400 1 '{"error":{"message":"Invalid request"}}' --match /subprofiles/1
SELECT count(*) FROM pk_orders WHERE profile = 1;
\! $EMUCTL answer 400 1 '{"error":{"message":"Invalid request"}}' --match /subprofiles/1
SELECT id FROM pk_orders WHERE profile = 1;
SELECT count(*) FROM pk_orders WHERE profile = 1;
-- a removed collection gives the same message as a profile of another
-- database: the collection's own listing tells them apart (both answers
-- are faked here, so the table reads as gone), and it is an error
\! $EMUCTL answer 400 2 '{"error":{"message":"No collection with given ID"}}' --match /subprofiles
\! $EMUCTL clear-log
\set VERBOSITY default
SELECT count(*) FROM pk_orders WHERE profile = :other_db;
\set VERBOSITY terse
\! $EMUCTL log
\! $EMUCTL answer 400 2 '{"error":{"message":"No collection with given ID"}}' --match /subprofiles
SELECT id FROM pk_orders WHERE profile = :other_db;
-- with another condition sent along, LIMIT stays local: that the profile's
-- listing honours fields[] is inferred, not documented
SELECT line FROM explain_portable('VERBOSE, COSTS OFF',
  'SELECT id FROM pk_orders WHERE profile = 7 AND id > 0 LIMIT 1') line
 WHERE line ~ 'Copernica (Limit|Request)';
SELECT line FROM explain_portable('VERBOSE, COSTS OFF',
  'SELECT id FROM pk_orders WHERE profile = 7 LIMIT 1') line
 WHERE line ~ 'Copernica (Limit|Request)';

-- DELETE and UPDATE read their target by ID from the collection (a
-- profile's listing pages by offset, which their changes would shift)
\! $EMUCTL reset generate 300 --shape sparse
SELECT copernica_forget_metadata();
ALTER FOREIGN TABLE pk_orders OPTIONS (SET page_size '1');
SELECT profile AS busy FROM pk_orders GROUP BY 1 HAVING count(*) = 2 ORDER BY 1 LIMIT 1 \gset
EXPLAIN (COSTS OFF) DELETE FROM pk_orders WHERE profile = :busy;
\! $EMUCTL clear-log
DELETE FROM pk_orders WHERE profile = :busy;
\! $EMUCTL log | grep -c '^DELETE /v2/subprofile/'
\! $EMUCTL log | grep -c '^GET /v2/profile/'
SELECT count(*) FROM pk_orders WHERE profile = :busy;
\! $EMUCTL subprofiles 1
-- nor when the target is this table under another name: an inheritance
-- child of the statement's target, or the same table in USING
INSERT INTO pk_orders (profile, total, status, placed)
  SELECT :busy, g, 'open', '2024-01-01' FROM generate_series(1, 12) g;
CREATE TABLE pk_parent (id bigint, profile bigint, total float8, status text,
                        placed timestamp);
ALTER FOREIGN TABLE pk_orders INHERIT pk_parent;
SELECT line FROM explain_portable('VERBOSE, COSTS OFF',
  'DELETE FROM pk_parent WHERE profile = ' || :busy) line
 WHERE line ~ 'Copernica Request';
DELETE FROM pk_parent WHERE profile = :busy;
SELECT count(*) FROM pk_orders WHERE profile = :busy;
ALTER FOREIGN TABLE pk_orders NO INHERIT pk_parent;
INSERT INTO pk_orders (profile, total, status, placed)
  SELECT :busy, g, 'open', '2024-01-01' FROM generate_series(1, 12) g;
\! $EMUCTL clear-log
DELETE FROM pk_orders o USING pk_orders k WHERE k.profile = :busy AND o.id = k.id;
\! $EMUCTL log | grep -c '^DELETE /v2/subprofile/'
\! $EMUCTL log | grep -c '^GET /v2/profile/'
SELECT count(*) FROM pk_orders WHERE profile = :busy;
-- a modifying WITH likewise
INSERT INTO pk_orders (profile, total, status, placed)
  SELECT :busy, g, 'open', '2024-01-01' FROM generate_series(1, 12) g;
WITH gone AS (DELETE FROM pk_orders o WHERE o.id IN
                (SELECT k.id FROM pk_orders k WHERE k.profile = :busy) RETURNING o.id)
SELECT count(*) FROM gone;
SELECT count(*) FROM pk_orders WHERE profile = :busy;

DROP TABLE pk_parent, pk_orders_copy, pk_wanted, pk_joined, pk_few, pk_many;
DROP FOREIGN TABLE pk_orders, pk_customers, pk_newsletter;
