--
-- A key condition that names nothing (an emailing, test group, profile or
-- destination that is not there) gives no rows, whatever the plan: the key
-- sent as the URL (Copernica answers 400 "No emailing with supplied ID"),
-- a join's parameter, a prepared generic plan, or the condition checked
-- locally on every emailing's listing.  Each plan's requests are counted
-- in the emulator's log.  Only a part gone halfway through its listing,
-- another message, or such an error answered with HTTP 200 still raise.
--
\! $EMUCTL reset demo
SET timezone = 'UTC';
CREATE SCHEMA uk;
IMPORT FOREIGN SCHEMA "_mailings"
  LIMIT TO (publisher_clicks, publisher_statistics, publisher_emailings,
            publisher_testgroup_clicks)
  FROM SERVER copernica INTO uk;
-- the truth: 99 is no emailing, 1281 is one
SELECT count(*) FILTER (WHERE id = 99) AS e99, count(*) FILTER (WHERE id = 1281) AS e1281
  FROM uk.publisher_emailings WHERE id + 0 IN (99, 1281);
SELECT count(*) AS clicks_1281 FROM uk.publisher_clicks WHERE emailing + 0 = 1281 \gset
-- the key sent, one request per emailing: 99's answers 400, no rows
SELECT explain_portable('COSTS OFF',
  'SELECT count(*) FROM uk.publisher_clicks WHERE emailing IN (99, 1281)');
\! $EMUCTL clear-log
SELECT count(*) = :clicks_1281 AS same FROM uk.publisher_clicks WHERE emailing IN (99, 1281);
\! $EMUCTL log | sed -E 's/\?.*//' | sort
\! $EMUCTL clear-log
SELECT count(*) = :clicks_1281 AS same FROM uk.publisher_clicks WHERE emailing = 99 OR emailing = 1281;
\! $EMUCTL log | sed -E 's/\?.*//' | sort
\! $EMUCTL clear-log
SELECT count(*) AS none FROM uk.publisher_clicks WHERE emailing = 99;
\! $EMUCTL log | sed -E 's/\?.*//'
-- checked locally on every emailing's listing: the same answer
\! $EMUCTL clear-log
SELECT count(*) = :clicks_1281 AS same FROM uk.publisher_clicks WHERE emailing + 0 IN (99, 1281);
\! $EMUCTL log | grep -c 'emailing/99/'
-- a prepared statement: custom and generic plans agree
PREPARE clicks_of(bigint) AS SELECT count(*) FROM uk.publisher_clicks WHERE emailing = $1;
SET plan_cache_mode = force_custom_plan;
EXECUTE clicks_of(99);
SET plan_cache_mode = force_generic_plan;
SELECT explain_portable('COSTS OFF', 'EXECUTE clicks_of(99)');
\! $EMUCTL clear-log
EXECUTE clicks_of(99);
EXECUTE clicks_of(1281);
\! $EMUCTL log | sed -E 's/\?.*//'
RESET plan_cache_mode;
DEALLOCATE clicks_of;
-- a local list of emailings that holds 99: a nested loop and a hash join
-- (on the account-wide listing) and a LATERAL LIMIT (the join's parameter
-- sent as the key, one request per emailing) agree
CREATE TEMP TABLE eids AS SELECT unnest('{1281,99}'::bigint[]) AS eid;
ANALYZE eids;
CREATE TEMP TABLE answers (plan text, eid bigint, n bigint, last bigint);
SET enable_hashjoin = off;
SET enable_mergejoin = off;
SELECT explain_portable('COSTS OFF',
  'SELECT e.eid, count(c.id) FROM eids e LEFT JOIN uk.publisher_clicks c ON c.emailing = e.eid GROUP BY e.eid');
\! $EMUCTL clear-log
INSERT INTO answers
SELECT 'nestloop', e.eid, count(c.id), max(c.id) FROM eids e LEFT JOIN uk.publisher_clicks c
    ON c.emailing = e.eid GROUP BY e.eid;
\! $EMUCTL log | sed -E 's/\?.*//' | sort
RESET enable_hashjoin;
RESET enable_mergejoin;
SET enable_nestloop = off;
SET enable_mergejoin = off;
SELECT explain_portable('COSTS OFF',
  'SELECT e.eid, count(c.id) FROM eids e LEFT JOIN uk.publisher_clicks c ON c.emailing = e.eid GROUP BY e.eid');
INSERT INTO answers
SELECT 'hash', e.eid, count(c.id), max(c.id) FROM eids e LEFT JOIN uk.publisher_clicks c
    ON c.emailing = e.eid GROUP BY e.eid;
RESET enable_nestloop;
RESET enable_mergejoin;
\! $EMUCTL clear-log
INSERT INTO answers
SELECT 'lateral', e.eid, count(c.id), max(c.id) FROM eids e LEFT JOIN LATERAL
    (SELECT id FROM uk.publisher_clicks c WHERE c.emailing = e.eid ORDER BY id DESC LIMIT 1) c
    ON true GROUP BY e.eid;
\! $EMUCTL log | sed -E 's/\?.*//' | sort
-- every plan: 99 has no click; 1281 all its clicks (LATERAL: its last)
SELECT plan, eid, n, last FROM answers ORDER BY eid, plan;
SELECT count(DISTINCT (eid, last)) = 2 AS plans_agree FROM answers;
SELECT n = :clicks_1281 AS all_clicks FROM answers WHERE plan <> 'lateral' AND eid = 1281;
-- a bare object per emailing (statistics) and the emailings by id
SELECT count(*) AS none FROM uk.publisher_statistics WHERE emailing = 99;
SELECT s.emailing FROM eids e JOIN uk.publisher_statistics s ON s.emailing = e.eid;
SELECT count(*) AS none FROM uk.publisher_emailings WHERE id = 99;
-- other keys: a test group, a profile (Copernica's "No entity")
\! $EMUCTL clear-log
SELECT count(*) AS none FROM uk.publisher_testgroup_clicks WHERE testgroup = 99;
SELECT count(*) AS none FROM uk.publisher_emailings WHERE profile = 999999;
\! $EMUCTL log | sed -E 's/\?.*//'
-- still errors: another message, a part gone after its first page, the
-- error object answered with HTTP 200, a plain-text 400
\! $EMUCTL answer 400 1 '{"error":{"message":"Invalid method"}}' --match /publisher/emailing/99/clicks
SELECT count(*) FROM uk.publisher_clicks WHERE emailing = 99;
ALTER FOREIGN TABLE uk.publisher_clicks OPTIONS (ADD page_size '2');
\! $EMUCTL answer 400 1 '{"error":{"message":"No emailing with supplied ID"}}' --match /publisher/emailing/1281/clicks --after 1
SELECT count(*) FROM uk.publisher_clicks WHERE emailing = 1281;
ALTER FOREIGN TABLE uk.publisher_clicks OPTIONS (DROP page_size);
\! $EMUCTL answer 200 1 '{"error":{"message":"No emailing with supplied ID"}}' --match /publisher/emailing/99/clicks
SELECT count(*) FROM uk.publisher_clicks WHERE emailing = 99;
\! $EMUCTL answer 400 1 'No emailing with supplied ID' --match /publisher/emailing/99/clicks --content-type text/plain
SELECT count(*) FROM uk.publisher_clicks WHERE emailing = 99;
\! $EMUCTL clear-faults
DROP SCHEMA uk CASCADE;
