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
-- prepared: a custom plan sends the LIMIT's value; a generic one too,
-- computed when the scan starts (EXPLAIN shows the parameter, and with
-- ANALYZE the value sent); LIMIT NULL sends none
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
\! $EMUCTL log | grep '^GET /v2/view/1/profiles' | sed -E 's/&total=(true|false)//'
SELECT explain_portable('ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF, BUFFERS OFF',
                        'EXECUTE gold_first(2)');
\! $EMUCTL clear-log
\o /dev/null
EXECUTE gold_first(NULL);
\o
\! $EMUCTL log | grep '^GET /v2/view/1/profiles' | grep -c 'limit=100&'
-- an OFFSET's rows are asked for too, with a condition sent exactly
PREPARE gold_page(int, int, int) AS
    SELECT id FROM pm_gold WHERE id > $3 LIMIT $1 OFFSET $2;
SELECT explain_portable('VERBOSE, COSTS OFF', 'EXECUTE gold_page(3, 5, 700)');
\! $EMUCTL clear-log
EXECUTE gold_page(3, 5, 700);
\! $EMUCTL log | grep '^GET /v2/view/1/profiles' | sed -E 's/&total=(true|false)//'
-- a negative value: PostgreSQL's error, nothing sent
\! $EMUCTL clear-log
EXECUTE gold_first(-1);
\! $EMUCTL log --count
-- a mailing resource likewise: a generic plan's LIMIT $1 is sent, and the
-- destinations' own objects (message_id) are read for those rows only
CREATE SCHEMA pm_mail;
IMPORT FOREIGN SCHEMA "_mailings" LIMIT TO (ms_destinations)
  FROM SERVER copernica INTO pm_mail;
PREPARE dest_first(int, int) AS
    SELECT id, message_id IS NOT NULL AS has_message_id
      FROM pm_mail.ms_destinations WHERE emailing = $2 LIMIT $1;
SELECT explain_portable('COSTS OFF', 'EXECUTE dest_first(2, 169)');
\! $EMUCTL clear-log
EXECUTE dest_first(2, 169);
\! $EMUCTL log | LC_ALL=C sort
SET plan_cache_mode = force_custom_plan;
\! $EMUCTL clear-log
EXECUTE dest_first(2, 169);
\! $EMUCTL log | LC_ALL=C sort
RESET plan_cache_mode;
DEALLOCATE gold_first;
DEALLOCATE gold_page;
DEALLOCATE dest_first;
DROP SCHEMA pm_mail CASCADE;
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

--
-- 3. A timestamp column (modified, a datetime field) compared with a
-- timestamptz or a date known at scan start (now() - interval '1 day',
-- current_date, a parameter, a stable function of one) is sent: a date as
-- its midnight, exact; a timestamptz as the local time PostgreSQL reads the
-- column in to compare them, the session's time zone's, widened by the
-- change where the zone changes its UTC offset within two days (summer
-- time), and rechecked: never exact, since the session's zone may change
-- before a cached plan runs (so no LIMIT or count(*) is sent with it).
--
\! $EMUCTL reset demo
SELECT copernica_forget_metadata();
CREATE FOREIGN TABLE pm_demo (id bigint, email text, age integer, modified timestamp,
                              lastvisit timestamp)
    SERVER copernica OPTIONS (database 'Customers');
SELECT explain_portable('VERBOSE, COSTS OFF',
    'SELECT id FROM pm_demo WHERE modified > now() - interval ''1 day''');
-- three profiles changed now: found with one request that asks only for them
UPDATE pm_demo SET age = age + 1 WHERE id IN (3, 5, 8);
\! $EMUCTL clear-log
SELECT id FROM pm_demo WHERE modified > now() - interval '1 day' ORDER BY id;
\! $EMUCTL log | grep '^GET /v2/database/Customers/profiles' | sed -E 's/[0-9]{4}-[0-9]{2}-[0-9]{2}%20[0-9]{2}%3A[0-9]{2}%3A[0-9]{2}/(a day ago)/'
-- a date is its midnight: exact, so a LIMIT and count(*) are sent with it
SELECT explain_portable('VERBOSE, COSTS OFF',
    'SELECT id FROM pm_demo WHERE modified >= DATE ''2020-05-01'' ORDER BY id LIMIT 2');
\! $EMUCTL clear-log
SELECT id FROM pm_demo WHERE modified >= DATE '2020-05-01' ORDER BY id LIMIT 2;
SELECT count(*) FROM pm_demo WHERE modified < DATE '2020-05-01';
\! $EMUCTL log | grep '^GET /v2/database/Customers/profiles'
-- a datetime field against current_date, a stable expression: sent as the
-- date's midnight, rechecked (Copernica may count empty datetimes)
SELECT explain_portable('COSTS OFF',
    'SELECT count(*) FROM pm_demo WHERE lastvisit >= current_date - 20000');
\! $EMUCTL clear-log
SELECT count(*) FROM pm_demo WHERE lastvisit >= current_date - 20000;
\! $EMUCTL log | grep '^GET /v2/database/Customers/profiles' | sed -E 's/lastvisit%3E%3D[0-9]{4}-[0-9]{2}-[0-9]{2}%2000%3A00%3A00/lastvisit%3E%3D(midnight)/'
-- the local time in the session's zone: Amsterdam is two hours ahead in June
SET timezone = 'Europe/Amsterdam';
\! $EMUCTL clear-log
SELECT count(*) FROM pm_demo WHERE modified > '2020-06-07 12:33:52+00'::timestamptz;
SELECT count(*) FROM pm_demo WHERE modified >= '2020-06-07 12:33:52+00'::timestamptz;
-- near the change to summer time (29 March 2020) a local time reads as
-- either offset: the bound widens by the hour, and the rows are rechecked
SELECT count(*) FROM pm_demo WHERE modified > '2020-03-27 13:14:49+00'::timestamptz;
SELECT count(*) FROM pm_demo WHERE modified <= '2020-03-27 13:14:49+00'::timestamptz;
SELECT count(*) FROM pm_demo WHERE modified = '2020-03-27 13:14:49+00'::timestamptz;
\! $EMUCTL log | grep '^GET /v2/database/Customers/profiles'
-- what is sent depends on the zone when the scan starts, not when planned
PREPARE since(timestamptz) AS SELECT count(*) FROM pm_demo WHERE modified > $1;
SET plan_cache_mode = force_generic_plan;
SELECT explain_portable('VERBOSE, COSTS OFF', 'EXECUTE since(''2020-06-07 12:33:52+00'')');
\! $EMUCTL clear-log
EXECUTE since('2020-06-07 12:33:52+00');
SET timezone = 'UTC';
EXECUTE since('2020-06-07 12:33:52+00');
SET timezone = 'America/New_York';
EXECUTE since('2020-06-07 12:33:52+00');
\! $EMUCTL log | grep '^GET /v2/database/Customers/profiles'
RESET plan_cache_mode;
DEALLOCATE since;
-- so does a constant's, in a plan cached under another zone: EXPLAIN
-- writes the value as PostgreSQL does, not the local time of planning
SET timezone = 'UTC';
CREATE TEMP TABLE pm_demo_copy AS SELECT id, modified FROM pm_demo;
PREPARE since_const AS SELECT count(*) FROM pm_demo
 WHERE modified > '2020-06-07 12:33:52+00'::timestamptz;
SELECT explain_portable('VERBOSE, COSTS OFF', 'EXECUTE since_const');
SET timezone = 'America/New_York';
SELECT explain_portable('VERBOSE, COSTS OFF', 'EXECUTE since_const');
\! $EMUCTL clear-log
EXECUTE since_const;
\! $EMUCTL log | grep '^GET /v2/database/Customers/profiles'
SELECT count(*) FROM pm_demo_copy WHERE modified > '2020-06-07 12:33:52+00'::timestamptz;
DEALLOCATE since_const;
-- a stable function of a parameter
PREPARE since_days(int) AS SELECT count(*) FROM pm_demo
 WHERE modified >= make_timestamptz(2020, 1, 1, 0, 0, 0) + make_interval(days => $1);
SET plan_cache_mode = force_generic_plan;
SELECT explain_portable('COSTS OFF', 'EXECUTE since_days(150)');
\! $EMUCTL clear-log
EXECUTE since_days(150);
\! $EMUCTL log | grep '^GET /v2/database/Customers/profiles'
RESET plan_cache_mode;
DEALLOCATE since_days;
-- a cursor
BEGIN;
DECLARE recent CURSOR FOR SELECT id FROM pm_demo
 WHERE modified > now() - interval '1 day' ORDER BY id;
FETCH ALL FROM recent;
COMMIT;
-- a LATERAL lookup by ID: the outer row's timestamptz is sent with it
CREATE TEMP TABLE seen (id bigint, since timestamptz);
INSERT INTO seen VALUES (3, now() - interval '1 hour'), (4, now() - interval '1 hour'),
                        (5, '2020-01-01 00:00+00');
SELECT explain_portable('COSTS OFF',
    'SELECT s.id, p.age FROM seen s, LATERAL (SELECT age FROM pm_demo p
      WHERE p.id = s.id AND p.modified > s.since OFFSET 0) p');
\! $EMUCTL clear-log
SELECT s.id FROM seen s, LATERAL (SELECT age FROM pm_demo p
  WHERE p.id = s.id AND p.modified > s.since OFFSET 0) p ORDER BY 1;
\! $EMUCTL log | grep '^GET /v2/database/Customers/profiles' | sed -E 's/modified%3E(%3D)?[0-9]{4}-[0-9]{2}-[0-9]{2}%20[0-9]{2}%3A[0-9]{2}%3A[0-9]{2}/modified>(since)/' | sort
-- an executor's parameter inside an expression (a LATERAL row's, a
-- correlated subquery's, an initplan's): EXPLAIN, with ANALYZE too, says
-- "(expression)", having no name for it outside the plan around it; NULL
-- asks nothing, infinity sends no bound
INSERT INTO seen VALUES (6, NULL), (7, 'infinity'), (8, '-infinity');
SELECT explain_portable('VERBOSE, COSTS OFF',
    'SELECT s.id, p.age FROM seen s, LATERAL (SELECT age FROM pm_demo p
      WHERE p.id = s.id AND p.modified > s.since - interval ''1 hour'' OFFSET 0) p');
-- (per-loop averages differ by version: the rows are compared below)
SELECT regexp_replace(regexp_replace(x, 'rows=[0-9.]+ loops=6', 'rows=(average) loops=6'),
                      'Removed by Filter: [0-9.]+', 'Removed by Filter: (average)')
  FROM explain_portable('VERBOSE, COSTS OFF, ANALYZE, TIMING OFF, SUMMARY OFF, BUFFERS OFF',
    'SELECT s.id, (SELECT count(*) FROM pm_demo p WHERE p.modified > s.since - interval ''1 day'')
       FROM seen s') x WHERE x !~ 'Copernica Bytes';
\! $EMUCTL clear-log
SELECT s.id,
       (SELECT count(*) FROM pm_demo p WHERE p.modified > s.since - interval '1 day') AS n,
       (SELECT count(*) FROM pm_demo_copy p WHERE p.modified > s.since - interval '1 day') AS n_local
  FROM seen s ORDER BY 1;
\! $EMUCTL log | grep '^GET /v2/database/Customers/profiles' | sed -E 's/modified%3E(%3D)?[0-9]{4}-[0-9]{2}-[0-9]{2}%20[0-9]{2}%3A[0-9]{2}%3A[0-9]{2}/modified>(since - 1 day)/' | sort
SELECT x FROM explain_portable('VERBOSE, COSTS OFF, ANALYZE, TIMING OFF, SUMMARY OFF, BUFFERS OFF',
    'SELECT count(*) FROM pm_demo
      WHERE modified > (SELECT max(since) FROM seen WHERE since < ''infinity'') - interval ''1 day''') x
 WHERE x !~ 'Copernica Bytes';
\! $EMUCTL clear-log
SELECT (SELECT count(*) FROM pm_demo
         WHERE modified > (SELECT max(since) FROM seen WHERE since < 'infinity') - interval '1 day') AS n,
       (SELECT count(*) FROM pm_demo_copy
         WHERE modified > (SELECT max(since) FROM seen WHERE since < 'infinity') - interval '1 day') AS n_local;
\! $EMUCTL log | grep '^GET /v2/database/Customers/profiles' | sed -E 's/modified%3E(%3D)?[0-9]{4}-[0-9]{2}-[0-9]{2}%20[0-9]{2}%3A[0-9]{2}%3A[0-9]{2}/modified>(an hour ago - 1 day)/'
-- every comparison in several zones, around each row's modified and the
-- changes of offset: the rows are those PostgreSQL finds in a local copy,
-- and each query sends its bound
\! $EMUCTL reset demo
CREATE TEMP TABLE demo_local AS SELECT modified FROM pm_demo;
\! $EMUCTL clear-log
DO $$
DECLARE
    zone text;
    op text;
    t timestamptz;
    pushed bigint;
    local bigint;
    queries int := 0;
    wrong int := 0;
BEGIN
    FOREACH zone IN ARRAY ARRAY['UTC', 'Europe/Amsterdam', 'America/New_York', 'Asia/Kathmandu'] LOOP
        PERFORM set_config('timezone', zone, true);
        FOR t IN SELECT DISTINCT x FROM (
                   SELECT (modified AT TIME ZONE zone) + d AS x
                     FROM demo_local m,
                          unnest(ARRAY['0', '1 hour', '-1 hour', '0.5 s']::interval[]) d
                   UNION ALL
                   SELECT unnest(ARRAY['2020-03-29 00:30+00', '2020-03-29 01:00+00',
                                       '2020-03-29 01:30+00', '2020-03-08 07:00+00',
                                       '2020-10-25 00:30+00', '-infinity', 'infinity']::timestamptz[])) s
        LOOP
            FOREACH op IN ARRAY ARRAY['>', '>=', '<', '<=', '='] LOOP
                EXECUTE format('SELECT count(*) FROM pm_demo WHERE modified %s $1', op)
                   INTO pushed USING t;
                EXECUTE format('SELECT count(*) FROM demo_local WHERE modified %s $1', op)
                   INTO local USING t;
                queries := queries + 1;
                IF pushed <> local THEN
                    wrong := wrong + 1;
                    RAISE NOTICE 'zone %: modified % %: % rows, locally %', zone, op, t, pushed, local;
                END IF;
            END LOOP;
        END LOOP;
    END LOOP;
    RAISE NOTICE '% comparisons, % wrong', queries, wrong;
END $$;
-- one request each; those not bounded: infinity, no time Copernica
-- writes, and = near a change of offset, which no one bound can say
\set n `$EMUCTL log | grep '^GET /v2/database/Customers/profiles' | grep -c 'modified%3'`
\set all `$EMUCTL log | grep -c '^GET /v2/database/Customers/profiles'`
SELECT :all AS requests, :n AS bounded;
SET timezone = 'UTC';

--
-- 4. key IN (outer.a, outer.b) on a mailing table: PostgreSQL keeps an IN
-- list of columns apart from its arrays, as key = a OR key = b, which is
-- read as key = ANY(ARRAY[a, b]): a parameterized path that reads each
-- key's listing per outer row (each value once, NULLs left out), as a
-- plain key = outer.a does.
--
\! $EMUCTL reset demo
CREATE SCHEMA pm_mail;
IMPORT FOREIGN SCHEMA "_mailings"
    LIMIT TO (publisher_destinations, publisher_clicks, publisher_destination_statistics)
    FROM SERVER copernica INTO pm_mail;
CREATE TEMP TABLE pairs (a bigint, b bigint);
INSERT INTO pairs VALUES (1281, 1290), (1282, 1282), (1290, NULL);
ANALYZE pairs;
-- local copies, read whole (every emailing's listing)
CREATE TEMP TABLE dest_local AS SELECT * FROM pm_mail.publisher_destinations;
CREATE TEMP TABLE clicks_local AS SELECT * FROM pm_mail.publisher_clicks;
-- (and what they taught of the listings' sizes forgotten: each plan below
-- is the one made knowing nothing of them)
SELECT copernica_forget_metadata();
SELECT explain_portable('VERBOSE, COSTS OFF',
    'SELECT p.a, d.id FROM pairs p JOIN pm_mail.publisher_destinations d ON d.emailing IN (p.a, p.b)');
\! $EMUCTL clear-log
SELECT p.a, p.b, count(d.id) FROM pairs p
  JOIN pm_mail.publisher_destinations d ON d.emailing IN (p.a, p.b) GROUP BY 1, 2 ORDER BY 1;
-- one request per key of each outer row: 1281 and 1290, 1282 once, 1290
-- (sorted: a row's keys are asked for at once)
\! $EMUCTL log | grep '^GET /v2/publisher/emailing/' | sort
-- the same rows as the local copy's
SELECT (SELECT array_agg((p.a, p.b, d.id)::text ORDER BY (p.a, p.b, d.id)::text)
          FROM pairs p JOIN pm_mail.publisher_destinations d ON d.emailing IN (p.a, p.b))
     = (SELECT array_agg((p.a, p.b, d.id)::text ORDER BY (p.a, p.b, d.id)::text)
          FROM pairs p JOIN dest_local d ON d.emailing IN (p.a, p.b)) AS same_rows,
       (SELECT count(*) FROM pairs p JOIN dest_local d ON d.emailing IN (p.a, p.b)) AS local_rows;
-- and as each key's listing read alone
SELECT (SELECT count(*) FROM pm_mail.publisher_destinations WHERE emailing IN (1281, 1290)) AS a1281_1290,
       (SELECT count(*) FROM pm_mail.publisher_destinations WHERE emailing = 1282) AS a1282,
       (SELECT count(*) FROM pm_mail.publisher_destinations WHERE emailing = 1290) AS a1290;
-- LATERAL, pulled up into the join: the same path
SELECT explain_portable('COSTS OFF',
    'SELECT p.a, c.id FROM pairs p, LATERAL (SELECT id FROM pm_mail.publisher_clicks c
      WHERE c.emailing IN (p.a, p.b)) c');
\! $EMUCTL clear-log
SELECT p.a, count(c.id) FROM pairs p, LATERAL (SELECT id FROM pm_mail.publisher_clicks c
  WHERE c.emailing IN (p.a, p.b)) c GROUP BY 1 ORDER BY 1;
\! $EMUCTL log | grep -c '^GET /v2/publisher/emailing/'
SELECT p.a, count(c.id) FROM pairs p, LATERAL (SELECT id FROM clicks_local c
  WHERE c.emailing IN (p.a, p.b)) c GROUP BY 1 ORDER BY 1;
-- (not pulled up, its IN list of the outer row's values is an array of
-- parameters, which was sent already)
SELECT explain_portable('COSTS OFF',
    'SELECT p.a, c.n FROM pairs p, LATERAL (SELECT count(*) AS n FROM pm_mail.publisher_clicks c
      WHERE c.emailing IN (p.a, p.b)) c');
-- a resource that needs its key (a message's statistics) can now be
-- joined this way; it was an error, the key missing
CREATE TEMP TABLE two_messages AS
SELECT min(internal) AS a, max(internal) AS b FROM pm_mail.publisher_destinations WHERE emailing = 1281;
ANALYZE two_messages;
SELECT explain_portable('COSTS OFF',
    'SELECT s.destination FROM two_messages m
       JOIN pm_mail.publisher_destination_statistics s ON s.destination IN (m.a, m.b)');
\! $EMUCTL clear-log
SELECT count(*) FROM two_messages m
  JOIN pm_mail.publisher_destination_statistics s ON s.destination IN (m.a, m.b);
\! $EMUCTL log | grep -c '^GET /v2/publisher/destination/'
-- the same rows as each message's statistics read alone
SELECT (SELECT array_agg(s::text ORDER BY s::text) FROM two_messages m
          JOIN pm_mail.publisher_destination_statistics s ON s.destination IN (m.a, m.b))
     = (SELECT array_agg(s::text ORDER BY s::text) FROM two_messages m,
          LATERAL (SELECT * FROM pm_mail.publisher_destination_statistics WHERE destination = m.a
                   UNION ALL
                   SELECT * FROM pm_mail.publisher_destination_statistics WHERE destination = m.b) s)
       AS same_rows;
-- a cursor over the join
BEGIN;
DECLARE pair_cur CURSOR FOR SELECT p.a, d.id FROM pairs p
  JOIN pm_mail.publisher_destinations d ON d.emailing IN (p.a, p.b) ORDER BY 1, 2;
FETCH 2 FROM pair_cur;
COMMIT;
SELECT p.a, d.id FROM pairs p JOIN dest_local d ON d.emailing IN (p.a, p.b) ORDER BY 1, 2 LIMIT 2;
-- a prepared statement's IN ($1, $2) is an array already: custom and
-- generic plans read each key's listing
PREPARE two_keys(bigint, bigint) AS
  SELECT count(*) FROM pm_mail.publisher_clicks WHERE emailing IN ($1, $2);
SET plan_cache_mode = force_generic_plan;
SELECT explain_portable('COSTS OFF', 'EXECUTE two_keys(1281, 1290)');
\! $EMUCTL clear-log
EXECUTE two_keys(1281, 1290);
\! $EMUCTL log | grep '^GET /v2/publisher/emailing/' | sort
SET plan_cache_mode = force_custom_plan;
SELECT explain_portable('COSTS OFF', 'EXECUTE two_keys(1281, 1290)');
\! $EMUCTL clear-log
EXECUTE two_keys(1281, 1290);
\! $EMUCTL log | grep '^GET /v2/publisher/emailing/' | sort
RESET plan_cache_mode;
DEALLOCATE two_keys;
-- constants written as OR likewise: those two listings, not every emailing's
\! $EMUCTL clear-log
SELECT count(*) FROM pm_mail.publisher_clicks WHERE emailing = 1281 OR emailing = 1290;
\! $EMUCTL log | grep '^GET /v2/publisher/' | sort
SELECT count(*) FROM clicks_local WHERE emailing = 1281 OR emailing = 1290;
-- written the other way round, with integers of another type
CREATE TEMP TABLE pairs4 (a int, b int);
INSERT INTO pairs4 VALUES (1281, 1290);
ANALYZE pairs4;
SELECT explain_portable('COSTS OFF',
    'SELECT count(*) FROM pairs4 p JOIN pm_mail.publisher_destinations d
       ON p.a = d.emailing OR d.emailing = p.b');
\! $EMUCTL clear-log
SELECT count(*) FROM pairs4 p JOIN pm_mail.publisher_destinations d
  ON p.a = d.emailing OR d.emailing = p.b;
\! $EMUCTL log | grep '^GET /v2/publisher/emailing/' | sort
SELECT count(*) FROM pairs4 p JOIN dest_local d ON p.a = d.emailing OR d.emailing = p.b;
-- values of two types, or another column: a local filter
SELECT explain_portable('COSTS OFF',
    'SELECT count(*) FROM pairs p JOIN pairs4 q ON q.a = p.a
       JOIN pm_mail.publisher_destinations d ON d.emailing = p.a OR d.emailing = q.b');
SELECT explain_portable('COSTS OFF',
    'SELECT count(*) FROM pairs p JOIN pm_mail.publisher_destinations d
       ON d.emailing = p.a OR d.profile = p.b');
