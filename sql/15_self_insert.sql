--
-- INSERT INTO t SELECT ... FROM t: the scan reads only the rows there were
-- when it began (new IDs are higher: one request asks for the largest, and
-- the pager reads no ID above it), else it would read the rows the INSERT
-- creates and never end.  Profiles and subprofiles, several pages each.
-- The ceiling is the last stripe's upper bound, not a condition: the scan
-- costs at most what a plain scan costs plus the one request for the
-- largest ID (here even as much: a plain scan's open last stripe reads an
-- empty page past the end, a bounded one stops at the ceiling).
--
\! $EMUCTL reset generate 3000 --shape sparse
CREATE FOREIGN TABLE si_customers (id bigint, email text) SERVER copernica
  OPTIONS (database 'Customers', page_size '100', max_concurrency '4');
CREATE FOREIGN TABLE si_orders (id bigint, profile bigint, total float8) SERVER copernica
  OPTIONS (database 'Customers', collection 'Orders', page_size '100');
SELECT count(*) AS profiles FROM si_customers;
SELECT count(*) AS orders FROM si_orders \gset
-- what a plain scan of each costs (start=: not planning's metadata requests)
\! $EMUCTL clear-log
SELECT count(email) > 0 AS rows FROM si_customers;
\! $EMUCTL log | grep -c '^GET /v2/database/Customers/profiles?start='
\! $EMUCTL clear-log
SELECT count(total) > 0 AS rows FROM si_orders;
\! $EMUCTL log | grep -c '^GET /v2/collection/1/subprofiles?start='
SET statement_timeout = '120s';
-- EXPLAIN says so (the value is known once the scan ran)
SELECT line FROM explain_portable('VERBOSE, COSTS OFF',
  'INSERT INTO si_customers (email) SELECT email FROM si_customers') AS line
  WHERE line ~ 'Copernica';
\! $EMUCTL clear-log
INSERT INTO si_customers (email) SELECT email FROM si_customers;
\! $EMUCTL log | grep -c '^GET /v2/database/Customers/profiles?start=0&limit=1&total=false&orderby=id&order=desc'
-- that one and the plain scan's pages but its last, empty one; no count
\! $EMUCTL log | grep -c '^GET /v2/database/Customers/profiles?start='
\! $EMUCTL log | grep -c 'total=true'
\! $EMUCTL log | grep -c 'id%3E8127'
\! $EMUCTL log | grep -c '^POST /v2/database/Customers/profiles'
SELECT count(*) AS profiles, count(DISTINCT email) AS emails FROM si_customers;
-- a subprofile table likewise, through another foreign table as target
CREATE FOREIGN TABLE si_orders_too (profile bigint, total float8) SERVER copernica
  OPTIONS (database 'Customers', collection 'Orders');
\! $EMUCTL clear-log
INSERT INTO si_orders_too SELECT profile, total FROM si_orders;
\! $EMUCTL log | grep -c '^GET /v2/collection/1/subprofiles?start='
\! $EMUCTL log | grep -c 'total=true'
SELECT count(*) = 2 * :orders AS doubled FROM si_orders;
-- one profile's subprofiles (profile/$id/subprofiles/$collection, read by
-- offset), pages of them beyond a batch of inserts: bounded by the
-- collection's largest ID (before, the pages after the first batch read
-- the rows it had created, until statement_timeout)
CREATE FOREIGN TABLE si_orders_key (id bigint, profile bigint, total float8) SERVER copernica
  OPTIONS (database 'Customers', collection 'Orders', page_size '10');
SELECT min(profile) AS key_profile FROM si_orders \gset
INSERT INTO si_orders_too SELECT :key_profile, g FROM generate_series(1, 400) g;
SELECT count(*) AS key_orders FROM si_orders WHERE profile = :key_profile \gset
SELECT :key_orders;
\! $EMUCTL clear-log
SELECT line FROM explain_portable('ANALYZE, VERBOSE, COSTS OFF, TIMING OFF, SUMMARY OFF',
  format('INSERT INTO si_orders_too SELECT profile, total FROM si_orders_key WHERE profile = %s',
         :key_profile)) AS line
  WHERE line ~ 'Copernica( Request| ID Ceiling)?:';
\! $EMUCTL log | grep -c '^GET /v2/collection/1/subprofiles?start=0&limit=1&total=false&orderby=id&order=desc'
\! $EMUCTL log | grep '^GET /v2/profile/' | grep -c 'fields%5B%5D=id%3C%3D'
\! $EMUCTL log | grep -c '^POST /v2/profile/'
SELECT count(*) = 2 * :key_orders AS doubled FROM si_orders WHERE profile = :key_profile;
-- an ID list: no lookup above the ceiling
SELECT min(id) AS first_id FROM si_customers \gset
\! $EMUCTL clear-log
INSERT INTO si_customers (email)
  SELECT email FROM si_customers WHERE id IN (:first_id, 2000000000);
\! $EMUCTL log | grep -c '^GET /v2/database/Customers/profiles?start='
\! $EMUCTL log | grep -c 'id%3D%3D2000000000'
-- rows asked in another order, with a limit: read by offset, the ceiling
-- sent as a condition
\! $EMUCTL clear-log
INSERT INTO si_customers (email)
  SELECT email FROM si_customers ORDER BY id DESC LIMIT 3;
\! $EMUCTL log | grep -c '^GET /v2/database/Customers/profiles?start=0&limit=3&.*fields%5B%5D=id%3C%3D'
-- a plain scan asks for no ceiling
\! $EMUCTL clear-log
SELECT count(*) > 0 AS rows FROM (SELECT email FROM si_customers) s;
\! $EMUCTL log | grep -c 'order=desc'
RESET statement_timeout;
DROP FOREIGN TABLE si_customers, si_orders, si_orders_too, si_orders_key;
