--
-- More pushdown, each choice shown in EXPLAIN and its requests counted in
-- the emulator's log.
--
SET timezone = 'UTC';

--
-- 1. Ascending ORDER BY id on a view's profiles and a miniview's
-- subprofiles: their listings are read by ID anyway (keyset pages, each
-- checked to go on rising), so the order and a LIMIT are sent as for a
-- database's profiles.  Descending stays local: their listings document no
-- order.
--
\! $EMUCTL reset generate 3000 --shape sparse
SELECT copernica_forget_metadata();
CREATE FOREIGN TABLE pm_gold (id bigint, email text, segment text)
    SERVER copernica OPTIONS (resource 'view_profiles', database 'Customers',
                              view 'Gold customers', page_size '100');
CREATE FOREIGN TABLE pm_paid (id bigint, profile bigint, status text)
    SERVER copernica OPTIONS (resource 'miniview_subprofiles', database 'Customers',
                              collection 'Orders', miniview 'Paid orders', page_size '100');
SELECT count(*) AS gold, min(id) AS first_gold FROM pm_gold;
SELECT explain_portable('VERBOSE, COSTS OFF', 'SELECT id FROM pm_gold ORDER BY id LIMIT 10');
\! $EMUCTL clear-log
SELECT array_agg(id) = (SELECT array_agg(id) FROM (SELECT id FROM pm_gold ORDER BY id + 0 LIMIT 10) s)
       AS same_as_sorted_locally
  FROM (SELECT id FROM pm_gold ORDER BY id LIMIT 10) s;
-- one request for the ten rows (the rest is the local comparison's scan)
\! $EMUCTL log | grep '^GET /v2/view/1/profiles' | grep 'order=asc'
\! $EMUCTL clear-log
SELECT id FROM pm_gold ORDER BY id LIMIT 3;
\! $EMUCTL log | grep -c '^GET /v2/view/1/profiles'
-- a miniview likewise
SELECT explain_portable('COSTS OFF', 'SELECT id, status FROM pm_paid ORDER BY id LIMIT 5');
\! $EMUCTL clear-log
SELECT id, status FROM pm_paid ORDER BY id LIMIT 5;
\! $EMUCTL log | grep '^GET /v2/miniview/'
-- with OFFSET, the rows up to it are asked for
\! $EMUCTL clear-log
SELECT id FROM pm_gold ORDER BY id LIMIT 2 OFFSET 50;
\! $EMUCTL log | grep '^GET /v2/view/1/profiles' | sed -E 's/&total=(true|false)//'
-- without LIMIT, over several pages: a keyset chain in ID order, or a
-- local sort of the striped scan, whichever the planner finds cheaper; the
-- rows are the same
SELECT explain_portable('COSTS OFF', 'SELECT id FROM pm_gold ORDER BY id');
ALTER FOREIGN TABLE pm_gold OPTIONS (SET page_size '1000');
SELECT explain_portable('COSTS OFF', 'SELECT id FROM pm_gold ORDER BY id');
\! $EMUCTL clear-log
SELECT count(*), bool_and(id > prev) AS rising
  FROM (SELECT id, lag(id, 1, 0::bigint) OVER () AS prev FROM (SELECT id FROM pm_gold ORDER BY id) s) t;
\! $EMUCTL log | grep '^GET /v2/view/1/profiles' | sed -E 's/&total=(true|false)//'
ALTER FOREIGN TABLE pm_gold OPTIONS (SET page_size '100');
-- descending, or by another column: sorted locally
SELECT explain_portable('COSTS OFF', 'SELECT id FROM pm_gold ORDER BY id DESC LIMIT 3');
SELECT explain_portable('COSTS OFF', 'SELECT id FROM pm_paid ORDER BY profile LIMIT 3');
-- a condition sent inexactly (text compares without case) keeps the LIMIT
-- local, the order is still sent
SELECT explain_portable('COSTS OFF',
    'SELECT id FROM pm_gold WHERE email = ''x@example.com'' ORDER BY id LIMIT 3');
-- prepared: a custom plan sends the LIMIT's value, a generic one the order
PREPARE gold_first(int) AS SELECT id FROM pm_gold ORDER BY id LIMIT $1;
SET plan_cache_mode = force_custom_plan;
SELECT explain_portable('COSTS OFF', 'EXECUTE gold_first(4)');
\! $EMUCTL clear-log
EXECUTE gold_first(4);
\! $EMUCTL log | grep -c '^GET /v2/view/1/profiles'
SET plan_cache_mode = force_generic_plan;
SELECT explain_portable('COSTS OFF', 'EXECUTE gold_first(4)');
\! $EMUCTL clear-log
EXECUTE gold_first(4);
\! $EMUCTL log | grep -c '^GET /v2/view/1/profiles'
RESET plan_cache_mode;
DEALLOCATE gold_first;
-- a cursor in ID order: rows as they come, one page asked for at a time
BEGIN;
DECLARE gold_cur CURSOR FOR SELECT id FROM pm_gold ORDER BY id;
\! $EMUCTL clear-log
FETCH 3 FROM gold_cur;
\! $EMUCTL log | grep -c '^GET /v2/view/1/profiles'
FETCH ABSOLUTE 150 FROM gold_cur;
\! $EMUCTL log | grep -c '^GET /v2/view/1/profiles'
COMMIT;
-- in a join the order is sent (a merge join or the final order uses it),
-- the LIMIT is not: the join may drop rows
CREATE FOREIGN TABLE pm_customers (id bigint, email text, city text, modified timestamp)
    SERVER copernica OPTIONS (database 'Customers');
SELECT explain_portable('COSTS OFF',
    'SELECT g.id, c.city FROM pm_gold g JOIN pm_customers c ON c.id = g.id ORDER BY g.id LIMIT 3');
SELECT g.id, c.city = '' AS no_city FROM pm_gold g JOIN pm_customers c ON c.id = g.id ORDER BY g.id LIMIT 3;

--
-- 2. A view's or miniview's full scan costs what a database's does: its
-- pages, ceil(rows / page_size), plus the max_concurrency - 1 requests
-- (start=N&limit=1) that cut the ID space into stripes where the rows are,
-- the striped scan's price for max_concurrency requests in flight that a
-- database's profiles pay too, plus an empty last page when the rows fill
-- whole pages exactly.  Within 1.1 * ceil(rows / page_size) + 2 *
-- max_concurrency on every ID shape, and every row once: the rows are
-- those of the database that match the view's rule as the emulator lists
-- them, and those of the collection whose status PostgreSQL finds paid.
--
CREATE FOREIGN TABLE pm_all (id bigint) SERVER copernica
    OPTIONS (database 'Customers', page_size '50', max_concurrency '4');
CREATE FOREIGN TABLE pm_gold50 (id bigint) SERVER copernica
    OPTIONS (resource 'view_profiles', database 'Customers', view 'Gold customers',
             page_size '50', max_concurrency '4');
CREATE FOREIGN TABLE pm_orders (id bigint, status text) SERVER copernica
    OPTIONS (database 'Customers', collection 'Orders', page_size '50', max_concurrency '4');
CREATE FOREIGN TABLE pm_paid50 (id bigint) SERVER copernica
    OPTIONS (resource 'miniview_subprofiles', database 'Customers', collection 'Orders',
             miniview 'Paid orders', page_size '50', max_concurrency '4');
CREATE TEMP TABLE pm_costs (shape text, tab text, n bigint, once boolean, requests int, cuts int);
\! $EMUCTL reset generate 3000 --shape dense
SELECT copernica_forget_metadata();
\set truth_gold `$EMUCTL profiles Customers --ids-with segment=gold | wc -l`
\set truth_gold_sum `$EMUCTL profiles Customers --ids-with segment=gold | awk '{ s += $1 } END { print s }'`
SELECT count(*) AS truth_paid, sum(id) AS truth_paid_sum FROM pm_orders WHERE status || '' = 'paid' \gset
\! $EMUCTL clear-log
SELECT count(*) AS n, count(DISTINCT id) = count(*) AND count(*) = 3000 AS once FROM pm_all \gset
\set requests `$EMUCTL log | grep -c '^GET /v2/database/Customers/profiles?start'`
\set cuts `$EMUCTL log | grep -c '^GET /v2/database/Customers/profiles?start=[0-9]*&limit=1&'`
INSERT INTO pm_costs VALUES ('dense', 'pm_all', :n, :'once', :requests, :cuts);
\! $EMUCTL clear-log
SELECT count(*) AS n, count(*) = :truth_gold AND count(DISTINCT id) = count(*) AND sum(id) = :truth_gold_sum AS once FROM pm_gold50 \gset
\set requests `$EMUCTL log | grep -c '^GET /v2/view/1/profiles?start'`
\set cuts `$EMUCTL log | grep -c '^GET /v2/view/1/profiles?start=[0-9]*&limit=1&'`
INSERT INTO pm_costs VALUES ('dense', 'pm_gold50', :n, :'once', :requests, :cuts);
\! $EMUCTL clear-log
SELECT count(*) AS n, count(*) = :truth_paid AND count(DISTINCT id) = count(*) AND sum(id) = :truth_paid_sum AS once FROM pm_paid50 \gset
\set requests `$EMUCTL log | grep -c '^GET /v2/miniview/1/subprofiles?start'`
\set cuts `$EMUCTL log | grep -c '^GET /v2/miniview/1/subprofiles?start=[0-9]*&limit=1&'`
INSERT INTO pm_costs VALUES ('dense', 'pm_paid50', :n, :'once', :requests, :cuts);
\! $EMUCTL reset generate 3000 --shape sparse
SELECT copernica_forget_metadata();
\set truth_gold `$EMUCTL profiles Customers --ids-with segment=gold | wc -l`
\set truth_gold_sum `$EMUCTL profiles Customers --ids-with segment=gold | awk '{ s += $1 } END { print s }'`
SELECT count(*) AS truth_paid, sum(id) AS truth_paid_sum FROM pm_orders WHERE status || '' = 'paid' \gset
\! $EMUCTL clear-log
SELECT count(*) AS n, count(DISTINCT id) = count(*) AND count(*) = 3000 AS once FROM pm_all \gset
\set requests `$EMUCTL log | grep -c '^GET /v2/database/Customers/profiles?start'`
\set cuts `$EMUCTL log | grep -c '^GET /v2/database/Customers/profiles?start=[0-9]*&limit=1&'`
INSERT INTO pm_costs VALUES ('sparse', 'pm_all', :n, :'once', :requests, :cuts);
\! $EMUCTL clear-log
SELECT count(*) AS n, count(*) = :truth_gold AND count(DISTINCT id) = count(*) AND sum(id) = :truth_gold_sum AS once FROM pm_gold50 \gset
\set requests `$EMUCTL log | grep -c '^GET /v2/view/1/profiles?start'`
\set cuts `$EMUCTL log | grep -c '^GET /v2/view/1/profiles?start=[0-9]*&limit=1&'`
INSERT INTO pm_costs VALUES ('sparse', 'pm_gold50', :n, :'once', :requests, :cuts);
\! $EMUCTL clear-log
SELECT count(*) AS n, count(*) = :truth_paid AND count(DISTINCT id) = count(*) AND sum(id) = :truth_paid_sum AS once FROM pm_paid50 \gset
\set requests `$EMUCTL log | grep -c '^GET /v2/miniview/1/subprofiles?start'`
\set cuts `$EMUCTL log | grep -c '^GET /v2/miniview/1/subprofiles?start=[0-9]*&limit=1&'`
INSERT INTO pm_costs VALUES ('sparse', 'pm_paid50', :n, :'once', :requests, :cuts);
\! $EMUCTL reset generate 3000 --shape clustered
SELECT copernica_forget_metadata();
\set truth_gold `$EMUCTL profiles Customers --ids-with segment=gold | wc -l`
\set truth_gold_sum `$EMUCTL profiles Customers --ids-with segment=gold | awk '{ s += $1 } END { print s }'`
SELECT count(*) AS truth_paid, sum(id) AS truth_paid_sum FROM pm_orders WHERE status || '' = 'paid' \gset
\! $EMUCTL clear-log
SELECT count(*) AS n, count(DISTINCT id) = count(*) AND count(*) = 3000 AS once FROM pm_all \gset
\set requests `$EMUCTL log | grep -c '^GET /v2/database/Customers/profiles?start'`
\set cuts `$EMUCTL log | grep -c '^GET /v2/database/Customers/profiles?start=[0-9]*&limit=1&'`
INSERT INTO pm_costs VALUES ('clustered', 'pm_all', :n, :'once', :requests, :cuts);
\! $EMUCTL clear-log
SELECT count(*) AS n, count(*) = :truth_gold AND count(DISTINCT id) = count(*) AND sum(id) = :truth_gold_sum AS once FROM pm_gold50 \gset
\set requests `$EMUCTL log | grep -c '^GET /v2/view/1/profiles?start'`
\set cuts `$EMUCTL log | grep -c '^GET /v2/view/1/profiles?start=[0-9]*&limit=1&'`
INSERT INTO pm_costs VALUES ('clustered', 'pm_gold50', :n, :'once', :requests, :cuts);
\! $EMUCTL clear-log
SELECT count(*) AS n, count(*) = :truth_paid AND count(DISTINCT id) = count(*) AND sum(id) = :truth_paid_sum AS once FROM pm_paid50 \gset
\set requests `$EMUCTL log | grep -c '^GET /v2/miniview/1/subprofiles?start'`
\set cuts `$EMUCTL log | grep -c '^GET /v2/miniview/1/subprofiles?start=[0-9]*&limit=1&'`
INSERT INTO pm_costs VALUES ('clustered', 'pm_paid50', :n, :'once', :requests, :cuts);
\! $EMUCTL reset generate 3000 --shape skewed
SELECT copernica_forget_metadata();
\set truth_gold `$EMUCTL profiles Customers --ids-with segment=gold | wc -l`
\set truth_gold_sum `$EMUCTL profiles Customers --ids-with segment=gold | awk '{ s += $1 } END { print s }'`
SELECT count(*) AS truth_paid, sum(id) AS truth_paid_sum FROM pm_orders WHERE status || '' = 'paid' \gset
\! $EMUCTL clear-log
SELECT count(*) AS n, count(DISTINCT id) = count(*) AND count(*) = 3000 AS once FROM pm_all \gset
\set requests `$EMUCTL log | grep -c '^GET /v2/database/Customers/profiles?start'`
\set cuts `$EMUCTL log | grep -c '^GET /v2/database/Customers/profiles?start=[0-9]*&limit=1&'`
INSERT INTO pm_costs VALUES ('skewed', 'pm_all', :n, :'once', :requests, :cuts);
\! $EMUCTL clear-log
SELECT count(*) AS n, count(*) = :truth_gold AND count(DISTINCT id) = count(*) AND sum(id) = :truth_gold_sum AS once FROM pm_gold50 \gset
\set requests `$EMUCTL log | grep -c '^GET /v2/view/1/profiles?start'`
\set cuts `$EMUCTL log | grep -c '^GET /v2/view/1/profiles?start=[0-9]*&limit=1&'`
INSERT INTO pm_costs VALUES ('skewed', 'pm_gold50', :n, :'once', :requests, :cuts);
\! $EMUCTL clear-log
SELECT count(*) AS n, count(*) = :truth_paid AND count(DISTINCT id) = count(*) AND sum(id) = :truth_paid_sum AS once FROM pm_paid50 \gset
\set requests `$EMUCTL log | grep -c '^GET /v2/miniview/1/subprofiles?start'`
\set cuts `$EMUCTL log | grep -c '^GET /v2/miniview/1/subprofiles?start=[0-9]*&limit=1&'`
INSERT INTO pm_costs VALUES ('skewed', 'pm_paid50', :n, :'once', :requests, :cuts);
\! $EMUCTL reset generate 3000 --shape removed
SELECT copernica_forget_metadata();
\set truth_gold `$EMUCTL profiles Customers --ids-with segment=gold | wc -l`
\set truth_gold_sum `$EMUCTL profiles Customers --ids-with segment=gold | awk '{ s += $1 } END { print s }'`
SELECT count(*) AS truth_paid, sum(id) AS truth_paid_sum FROM pm_orders WHERE status || '' = 'paid' \gset
\! $EMUCTL clear-log
SELECT count(*) AS n, count(DISTINCT id) = count(*) AND count(*) = 3000 AS once FROM pm_all \gset
\set requests `$EMUCTL log | grep -c '^GET /v2/database/Customers/profiles?start'`
\set cuts `$EMUCTL log | grep -c '^GET /v2/database/Customers/profiles?start=[0-9]*&limit=1&'`
INSERT INTO pm_costs VALUES ('removed', 'pm_all', :n, :'once', :requests, :cuts);
\! $EMUCTL clear-log
SELECT count(*) AS n, count(*) = :truth_gold AND count(DISTINCT id) = count(*) AND sum(id) = :truth_gold_sum AS once FROM pm_gold50 \gset
\set requests `$EMUCTL log | grep -c '^GET /v2/view/1/profiles?start'`
\set cuts `$EMUCTL log | grep -c '^GET /v2/view/1/profiles?start=[0-9]*&limit=1&'`
INSERT INTO pm_costs VALUES ('removed', 'pm_gold50', :n, :'once', :requests, :cuts);
\! $EMUCTL clear-log
SELECT count(*) AS n, count(*) = :truth_paid AND count(DISTINCT id) = count(*) AND sum(id) = :truth_paid_sum AS once FROM pm_paid50 \gset
\set requests `$EMUCTL log | grep -c '^GET /v2/miniview/1/subprofiles?start'`
\set cuts `$EMUCTL log | grep -c '^GET /v2/miniview/1/subprofiles?start=[0-9]*&limit=1&'`
INSERT INTO pm_costs VALUES ('removed', 'pm_paid50', :n, :'once', :requests, :cuts);
-- (the cuts: three first ones, and up to four more where a stripe ends
-- early, which depends on timing)
SELECT shape, tab, n AS rows, once AS every_row_once, ceil(n / 50.0) AS pages,
       requests - cuts AS page_requests, cuts >= 3 AS cut_in_four,
       requests <= 1.1 * ceil(n / 50.0) + 2 * 4 AS within_bound
  FROM pm_costs ORDER BY tab, shape;

