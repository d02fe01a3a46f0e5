--
-- Mailing data as tables: emailings, destinations, statistics and events of
-- Publisher and Marketing Suite.  Which URL each scan reads, and which of
-- its conditions became the API's parameters, is proven from the
-- emulator's request log; every answer is also checked against a local copy.
--
\! $EMUCTL reset demo
SET timezone = 'UTC';
SET datestyle = 'ISO, YMD';
CREATE SCHEMA mail;
IMPORT FOREIGN SCHEMA "_mailings" FROM SERVER copernica INTO mail;
SELECT foreign_table_name, array_agg(column_name::text || ' ' || data_type ORDER BY ordinal_position)
  FROM information_schema.foreign_tables JOIN information_schema.columns
    ON table_schema = foreign_table_schema AND table_name = foreign_table_name
 WHERE foreign_table_schema = 'mail'
 GROUP BY 1 ORDER BY 1;

-- emailings: test mailings and follow-ups are asked for too
\! $EMUCTL clear-log
SELECT id, "timestamp", subject, type, destinations, clicks, impressions, errors,
       from_address->>'email' AS sender, target->>'type' AS target
  FROM mail.publisher_emailings ORDER BY id;
SELECT id, "timestamp", subject, destinations, template FROM mail.ms_emailings ORDER BY id;
\! $EMUCTL log | sort
-- a time range becomes fromdate/todate, a second wider (bounds may be
-- exclusive), and is rechecked
\! $EMUCTL clear-log
SELECT id, "timestamp" FROM mail.publisher_emailings
 WHERE "timestamp" > '2024-03-14 15:02:14' AND "timestamp" <= '2024-06-20 18:45:10' ORDER BY id;
\! $EMUCTL log | sort
EXPLAIN (COSTS OFF) SELECT id FROM mail.publisher_emailings WHERE "timestamp" > '2024-03-14 15:02:14';
-- a profile's mail history: the profile column is filled from the condition
\! $EMUCTL clear-log
SELECT id, subject, profile FROM mail.publisher_emailings WHERE profile = 1 ORDER BY id;
SELECT id, subject, profile FROM mail.ms_emailings WHERE profile = 2 ORDER BY id;
\! $EMUCTL log | sort

-- destinations of one emailing, of several, and of every emailing
\! $EMUCTL clear-log
SELECT count(*), count(DISTINCT profile), min(timestampsent), max(timestampsent),
       min(length(id)) AS hexlen
  FROM mail.publisher_destinations WHERE emailing = 1281;
SELECT emailing, count(*) FROM mail.publisher_destinations
 WHERE emailing = ANY ('{1282,1290,1282}') GROUP BY 1 ORDER BY 1;
\! $EMUCTL log | sort
\! $EMUCTL clear-log
SELECT emailing, count(*) FROM mail.publisher_destinations GROUP BY 1 ORDER BY 1;
\! $EMUCTL log | sort
EXPLAIN (COSTS OFF) SELECT * FROM mail.publisher_destinations;
-- timestampsent goes as fields[]
\! $EMUCTL clear-log
SELECT count(*) FROM mail.publisher_destinations
 WHERE emailing = 1281 AND timestampsent > '2024-03-14 15:02:30.5';
\! $EMUCTL log | sort
-- the profile's destinations, and the subprofile's (its listing lacks messageID:
-- each row's own object has it)
SELECT emailing, profile, subprofile FROM mail.publisher_destinations WHERE profile = 1 ORDER BY emailing;
SELECT emailing, profile, subprofile, message_id IS NOT NULL AS has_message
  FROM mail.ms_destinations WHERE subprofile = 1;
-- ms/destinations needs a date range: with both bounds it is read at once
-- (from/to a day wider), without them emailing by emailing
\! $EMUCTL clear-log
SELECT count(*), count(*) FILTER (WHERE unsubscribed) AS unsubscribed
  FROM mail.ms_destinations
 WHERE timestampsent >= '2024-01-13 15:00:00' AND timestampsent < '2024-01-14';
SELECT emailing, count(*) FROM mail.ms_destinations GROUP BY 1 ORDER BY 1;
\! $EMUCTL log | sort

-- statistics: one row per emailing, nested totals as columns
\! $EMUCTL clear-log
SELECT * FROM mail.publisher_statistics ORDER BY emailing;
SELECT emailing, destinations, deliveries_total, retries_total, clicks_unique, impressions_unique
  FROM mail.ms_statistics WHERE emailing = 169;
\! $EMUCTL log | sort
-- and they agree with the events
SELECT s.emailing, s.clicks_total = count(c.id) AS clicks_agree,
       s.clicks_unique = count(DISTINCT c.destination) AS uniques_agree
  FROM mail.publisher_statistics s JOIN mail.publisher_clicks c ON c.emailing = s.emailing
 GROUP BY s.emailing, s.clicks_total, s.clicks_unique ORDER BY 1;

-- events: account-wide in one request, per emailing by condition
\! $EMUCTL clear-log
SELECT count(*), count(DISTINCT emailing), min("timestamp") > '2024-03-14 15:02:14' AS after_send
  FROM mail.publisher_clicks;
SELECT id, "timestamp", link_id, link, emailing, destination, profile
  FROM mail.publisher_clicks WHERE emailing = 1282 ORDER BY id;
\! $EMUCTL log | sort
-- every kind reads, with its own shape
SELECT count(*) FROM mail.publisher_deliveries WHERE attempt = 0 AND smtp_response LIKE '250%';
SELECT errortype, count(*) FROM mail.publisher_errors GROUP BY 1 ORDER BY 1;
SELECT source, success, count(*) FROM mail.publisher_unsubscribes GROUP BY 1, 2;
SELECT count(*) FROM mail.publisher_abuses;
SELECT count(*) > 0 AS any, bool_and(device IN ('desktop', 'mobile', 'tablet', 'unknown'))
  FROM mail.publisher_impressions;
SELECT emailing, count(*), sum(attempts) - count(*) AS retries FROM mail.ms_deliveries
 GROUP BY 1 ORDER BY 1;
-- Marketing Suite impressions carry the profile as a JSON number
SELECT id, emailing, profile, device FROM mail.ms_impressions WHERE emailing = 169 ORDER BY id LIMIT 3;
SELECT count(*) FROM mail.ms_clicks;
SELECT count(*), min(errorcode) FROM mail.ms_errors;
SELECT count(*) FROM mail.ms_abuses;
-- a join on emailing reads each emailing's events (a parameterized path),
-- planned as in a fresh session: the sizes the scans above saw (the
-- demo's few clicks, one request) forgotten, events taken to be many
SELECT copernica_forget_metadata();
CREATE TABLE wanted (emailing bigint);
INSERT INTO wanted VALUES (1282), (1290);
ANALYZE wanted;
SELECT explain_portable('COSTS OFF',
  'SELECT w.emailing, count(c.id) FROM wanted w JOIN mail.publisher_clicks c ON c.emailing = w.emailing
    GROUP BY 1');
\! $EMUCTL clear-log
SELECT w.emailing, count(c.id) FROM wanted w JOIN mail.publisher_clicks c ON c.emailing = w.emailing
 GROUP BY 1 ORDER BY 1;
\! $EMUCTL log | sort
-- one destination's events
\! $EMUCTL clear-log
SELECT id, emailing, destination, profile FROM mail.publisher_clicks
 WHERE destination = 7340026 AND emailing = 1282 ORDER BY id;
SELECT count(*) FROM mail.ms_deliveries WHERE destination = 1840001;
\! $EMUCTL log | sort
-- Marketing Suite events take begintime/endtime, a second wider, rechecked
CREATE TABLE ms_del AS SELECT * FROM mail.ms_deliveries;
\! $EMUCTL clear-log
SELECT count(*) FROM mail.ms_deliveries
 WHERE "timestamp" >= '2024-01-13 15:09:55' AND "timestamp" < '2024-01-13 15:10:20';
\! $EMUCTL log | sort
SELECT count(*) FROM ms_del
 WHERE "timestamp" >= '2024-01-13 15:09:55' AND "timestamp" < '2024-01-13 15:10:20';
-- a condition the API cannot take stays local, and is right
SELECT count(*) FROM mail.publisher_clicks WHERE link LIKE '%sale%';
SELECT count(*) FROM mail.publisher_clicks WHERE link_title = 'Sale';
-- templates and documents
SELECT * FROM mail.ms_templates ORDER BY id;
SELECT * FROM mail.publisher_documents ORDER BY id;
SELECT * FROM mail.publisher_templates ORDER BY id;
-- a string stays a string, however it reads: text as it is, a JSON string
-- in a jsonb column; only an object or array is one (also inside nested
-- statistics)
CREATE FOREIGN TABLE tpl_json (id bigint, name text, description jsonb)
    SERVER copernica OPTIONS (resource 'publisher_templates');
\! $EMUCTL answer 200 2 '{"start":0,"limit":1000,"count":3,"data":[{"id":"1","name":"{\"a\":1}","description":"{\"a\":1}"},{"id":"2","name":"[x","description":"[x"},{"id":"3","name":"{}","description":{"a":[1]}}],"total":3}' --match publisher/templates
SELECT id, name, description, jsonb_typeof(description) FROM tpl_json ORDER BY id;
\! $EMUCTL clear-faults
\! $EMUCTL answer 200 1 '{"abuses":{"total":1,"unique":1},"clicks":"{\"total\":5,\"unique\":4}"}' --match /emailing/1281/statistics
SELECT emailing, abuses_total, clicks_total, clicks_unique FROM mail.publisher_statistics WHERE emailing = 1281;
\! $EMUCTL clear-faults

-- EXPLAIN VERBOSE's Copernica Request is what the scan sends: each page
-- request of the log (the limit=0 size request left out), URL-decoded, is
-- checked against it; a value known only at run time matches any number
CREATE FUNCTION url_decode(text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
  SELECT convert_from(coalesce(string_agg(CASE WHEN m[1] IS NOT NULL
                                               THEN decode(substr(m[1], 2), 'hex')
                                               ELSE convert_to(m[2], 'UTF8') END,
                                          ''::bytea ORDER BY n), ''), 'UTF8')
    FROM regexp_matches($1, '(%[0-9A-Fa-f]{2})|([^%]+)', 'g') WITH ORDINALITY AS t(m, n)
$$;
CREATE FUNCTION explained(query text) RETURNS text LANGUAGE sql AS $$
  SELECT string_agg(substring(line FROM '^\s*Copernica (?:Emailings )?Request: (.*)$'), E'\n')
    FROM explain_portable('VERBOSE, COSTS OFF', query) line
   WHERE line ~ '^\s*Copernica (Emailings )?Request: '
$$;
CREATE FUNCTION sent_as_explained(explained text, log text)
RETURNS TABLE (sent text, as_explained boolean) LANGUAGE sql AS $$
  SELECT s, EXISTS (SELECT FROM unnest(string_to_array(explained, E'\n')) e
                     WHERE s ~ ('^' || regexp_replace(
                                  regexp_replace(e, '([.?*+^$()\[\]{}|\\])', '\\\1', 'g'),
                                  '\\\(outer row''s value\\\)|\\\(each emailing\\\)|\\\$[0-9]+',
                                  '[0-9]+', 'g') || '$'))
    FROM unnest(string_to_array(log, E'\n')) l,
         LATERAL (SELECT regexp_replace(url_decode(l), '^GET /v2/', 'GET ')) AS d(s)
   WHERE l <> ''
$$;
SET datestyle = 'SQL, DMY';
-- account-wide, with time and id conditions
SELECT explained($$SELECT id FROM mail.publisher_clicks
                    WHERE "timestamp" > '2024-03-14 15:02:14' AND id >= 3$$) AS req \gset
\echo :req
\! $EMUCTL clear-log
SELECT count(*) FROM (SELECT id FROM mail.publisher_clicks
                       WHERE "timestamp" > '2024-03-14 15:02:14' AND id >= 3) s;
\set log `$EMUCTL log | grep -v '[?&]limit=0&'`
SELECT * FROM sent_as_explained(:'req', :'log');
-- one emailing's, a fraction widened; Marketing Suite's begintime/endtime
SELECT explained($$SELECT id FROM mail.publisher_clicks
                    WHERE emailing = 1282 AND "timestamp" >= '2024-03-14 15:30:00.5'$$) AS req \gset
\echo :req
\! $EMUCTL clear-log
SELECT count(*) FROM mail.publisher_clicks
 WHERE emailing = 1282 AND "timestamp" >= '2024-03-14 15:30:00.5';
\set log `$EMUCTL log | sort`
SELECT * FROM sent_as_explained(:'req', :'log');
SELECT explained($$SELECT id FROM mail.ms_deliveries
                    WHERE "timestamp" >= '2024-01-13 15:09:55' AND "timestamp" < '2024-01-13 15:10:20'$$) AS req \gset
\echo :req
\! $EMUCTL clear-log
SELECT count(id) FROM mail.ms_deliveries
 WHERE "timestamp" >= '2024-01-13 15:09:55' AND "timestamp" < '2024-01-13 15:10:20';
\set log `$EMUCTL log | grep -v '[?&]limit=0&'`
SELECT * FROM sent_as_explained(:'req', :'log');
-- every emailing's listing, the emailings first (several in flight: the
-- log sorted); statistics, one bare object
SELECT explained('SELECT emailing FROM mail.publisher_destinations') AS req \gset
\echo :req
\! $EMUCTL clear-log
SELECT count(emailing) FROM mail.publisher_destinations;
\set log `$EMUCTL log | sort`
SELECT * FROM sent_as_explained(:'req', :'log');
SELECT explained('SELECT * FROM mail.ms_statistics WHERE emailing = 169') AS req \gset
\echo :req
\! $EMUCTL clear-log
SELECT count(*) FROM (SELECT * FROM mail.ms_statistics WHERE emailing = 169) s;
\set log `$EMUCTL log | sort`
SELECT * FROM sent_as_explained(:'req', :'log');
-- per outer row of a join (a parameterized path; the sizes seen
-- forgotten, as above), and a generic plan's $1
SELECT copernica_forget_metadata();
SELECT explained($$SELECT c.id FROM wanted w JOIN mail.publisher_clicks c
                    ON c.emailing = w.emailing$$) AS req \gset
\echo :req
\! $EMUCTL clear-log
SELECT count(c.id) FROM wanted w JOIN mail.publisher_clicks c ON c.emailing = w.emailing;
\set log `$EMUCTL log | sort`
SELECT * FROM sent_as_explained(:'req', :'log');
PREPARE clicks_of(bigint) AS SELECT id FROM mail.publisher_clicks WHERE emailing = $1;
SET plan_cache_mode = force_generic_plan;
SELECT explained('EXECUTE clicks_of(1290)') AS req \gset
\echo :req
\! $EMUCTL clear-log
EXECUTE clicks_of(1290);
\set log `$EMUCTL log | sort`
SELECT * FROM sent_as_explained(:'req', :'log');
RESET plan_cache_mode;
DEALLOCATE clicks_of;
SET datestyle = 'ISO, YMD';

-- LIMIT goes with the request where every condition is the key read by:
-- one request of 3 rows (no size request), per key the rest of it; with a
-- condition the API may answer with a superset it stays local
SELECT explained('SELECT id FROM mail.publisher_clicks LIMIT 3') AS req \gset
\echo :req
\! $EMUCTL clear-log
SELECT count(*) FROM (SELECT id FROM mail.publisher_clicks LIMIT 3) s;
\set log `$EMUCTL log | sort`
SELECT * FROM sent_as_explained(:'req', :'log');
\! $EMUCTL clear-log
SELECT count(*) FROM (SELECT id, emailing FROM mail.publisher_clicks
                       WHERE emailing = ANY ('{1282,1290}') LIMIT 10) s;
SELECT count(*) FROM (SELECT emailing FROM mail.publisher_destinations LIMIT 2) s;
\! $EMUCTL log | sort
\! $EMUCTL clear-log
SELECT count(*) FROM (SELECT id FROM mail.publisher_clicks WHERE link LIKE '%sale%' LIMIT 2) s;
SELECT count(*) FROM (SELECT id FROM mail.publisher_clicks
                       WHERE emailing = 1282 AND "timestamp" > '2024-01-01' LIMIT 2) s;
SELECT count(*) FROM (SELECT id FROM mail.publisher_clicks ORDER BY id LIMIT 2) s;
\! $EMUCTL log | sort
EXPLAIN (COSTS OFF) SELECT id FROM mail.ms_deliveries LIMIT 5;

-- timestamptz bounds go too, as Copernica's local time in the server's
-- timezone option (Europe/Amsterdam here) whatever the session's zone;
-- within two days of a change of UTC offset a bound widens by the change;
-- every row is rechecked, and the answers match a local copy
SET timezone = 'America/New_York';
CREATE FOREIGN TABLE clicks_tz (id bigint, "timestamp" timestamptz, emailing bigint)
    SERVER copernica OPTIONS (resource 'publisher_clicks');
CREATE FOREIGN TABLE ms_deliveries_tz (id bigint, "timestamp" timestamptz)
    SERVER copernica OPTIONS (resource 'ms_deliveries');
CREATE TABLE clicks_tz_copy AS SELECT * FROM clicks_tz;
CREATE TABLE ms_deliveries_tz_copy AS SELECT * FROM ms_deliveries_tz;
\! $EMUCTL clear-log
SELECT count(*), min("timestamp") FROM clicks_tz WHERE "timestamp" > '2024-03-14 10:30:00-04';
SELECT count(*) FROM ms_deliveries_tz
 WHERE "timestamp" >= '2024-01-13 09:09:55-05' AND "timestamp" < '2024-01-13 09:10:20-05';
\! $EMUCTL log | grep -v '[?&]limit=0&' | sort
SELECT count(*), min("timestamp") FROM clicks_tz_copy WHERE "timestamp" > '2024-03-14 10:30:00-04';
SELECT count(*) FROM ms_deliveries_tz_copy
 WHERE "timestamp" >= '2024-01-13 09:09:55-05' AND "timestamp" < '2024-01-13 09:10:20-05';
-- Amsterdam goes to summer time on 31 March 2024 at 01:00 UTC: a bound
-- a day before it is sent as >= (a local time may be read either way), and
-- the upper one widened by the hour; one after the change is exact
SELECT explained($$SELECT id FROM clicks_tz WHERE emailing = 1282
                      AND "timestamp" > '2024-03-30 12:00:00+00'
                      AND "timestamp" < '2024-03-31 00:30:00+00'$$) AS req \gset
\echo :req
\! $EMUCTL clear-log
SELECT count(*) FROM clicks_tz WHERE emailing = 1282
   AND "timestamp" > '2024-03-30 12:00:00+00' AND "timestamp" < '2024-03-31 00:30:00+00';
\set log `$EMUCTL log | sort`
SELECT * FROM sent_as_explained(:'req', :'log');
SELECT explained($$SELECT id FROM clicks_tz WHERE emailing = 1282
                      AND "timestamp" >= '2024-04-03 12:00:00+00'$$);
SELECT (SELECT array_agg(id ORDER BY id) FROM clicks_tz
         WHERE "timestamp" BETWEEN '2024-03-14 15:00:00+01' AND '2024-03-14 16:00:00+01')
     IS NOT DISTINCT FROM
       (SELECT array_agg(id ORDER BY id) FROM clicks_tz_copy
         WHERE "timestamp" BETWEEN '2024-03-14 15:00:00+01' AND '2024-03-14 16:00:00+01')
       AS same_rows;
SET timezone = 'UTC';

-- bad input: an unknown emailing (no row), a NULL key, a column that matches nothing
SELECT count(*) FROM mail.publisher_clicks WHERE emailing = 999;
\! $EMUCTL clear-log
SELECT count(*) FROM mail.publisher_clicks WHERE emailing = NULL::bigint;
SELECT count(*) FROM mail.publisher_clicks WHERE emailing = ANY ('{}');
\! $EMUCTL log --count
CREATE FOREIGN TABLE bad_clicks (id bigint, clicked_at timestamp)
    SERVER copernica OPTIONS (resource 'publisher_clicks');
SELECT * FROM bad_clicks;
ALTER FOREIGN TABLE bad_clicks ALTER clicked_at OPTIONS (field 'timestamp');
SELECT clicked_at FROM bad_clicks ORDER BY id LIMIT 2;
CREATE FOREIGN TABLE bad (id bigint) SERVER copernica OPTIONS (resource 'publisher_click');
INSERT INTO mail.publisher_clicks (id) VALUES (1);
ANALYZE mail.publisher_clicks;

-- an incremental load makes only the requests for the new rows
\! $EMUCTL reset generate 3000 --shape dense
CREATE TABLE local_deliveries AS
  SELECT * FROM mail.publisher_deliveries WHERE "timestamp" < '2024-03-14 16:00:00';
SELECT count(*) FROM local_deliveries;
\! $EMUCTL clear-log
INSERT INTO local_deliveries
  SELECT * FROM mail.publisher_deliveries
   WHERE "timestamp" > (SELECT max("timestamp") FROM local_deliveries);
\! $EMUCTL log | sort
SELECT (SELECT count(*) FROM local_deliveries) = (SELECT count(*) FROM mail.publisher_deliveries)
       AS complete,
       (SELECT count(DISTINCT id) FROM local_deliveries) = (SELECT count(*) FROM local_deliveries)
       AS no_duplicates;
-- a big account-wide read pages with requests in flight at once
\! $EMUCTL clear-log
SELECT count(*), count(DISTINCT id), min(id), max(id) FROM mail.publisher_deliveries;
\! $EMUCTL log | sort

--
-- Views and miniviews: field checks, field conditions sent, ORDER BY
-- pushed only for ascending id (their listings document no orderby, but
-- are read by ID, which sends orderby=id anyway), named by name as well as
-- by ID
--
\! $EMUCTL reset demo
CREATE FOREIGN TABLE gold_named (id bigint, email text, segment text, age integer, town text OPTIONS (field 'city'))
    SERVER copernica OPTIONS (resource 'view_profiles', database 'Customers', view 'gold customers');
\! $EMUCTL clear-log
SELECT id, segment, age FROM gold_named WHERE age > 40 ORDER BY id;
\! $EMUCTL log | sort
-- ORDER BY is sorted locally: no order=desc is asked of the view
EXPLAIN (COSTS OFF) SELECT id FROM gold_named ORDER BY id DESC;
\! $EMUCTL clear-log
SELECT id FROM gold_named ORDER BY id DESC;
SELECT id, town FROM gold_named WHERE town = 'Amsterdam' ORDER BY id;
SELECT count(*) FROM gold_named WHERE id = ANY ('{1,2,4}');
\! $EMUCTL log | sort
-- a column that matches no field of the view's database is an error
CREATE FOREIGN TABLE gold_bad (id bigint, nosuch text)
    SERVER copernica OPTIONS (resource 'view_profiles', view '1');
SELECT * FROM gold_bad;
-- a view named but not found, or named without its database
CREATE FOREIGN TABLE no_view (id bigint)
    SERVER copernica OPTIONS (resource 'view_profiles', database 'Customers', view 'Platinum');
SELECT * FROM no_view;
CREATE FOREIGN TABLE no_db (id bigint)
    SERVER copernica OPTIONS (resource 'view_profiles', view 'Platinum');
-- miniviews of a collection, and the subprofiles of one
CREATE FOREIGN TABLE order_selections (id bigint, name text, collection bigint, "last-built" timestamp)
    SERVER copernica OPTIONS (resource 'miniviews', database 'Customers', collection 'Orders');
SELECT * FROM order_selections ORDER BY id;
CREATE FOREIGN TABLE big_orders (id bigint, profile bigint, total numeric, status text)
    SERVER copernica OPTIONS (resource 'miniview_subprofiles', database 'Customers',
                              collection 'Orders', miniview 'Big orders');
CREATE FOREIGN TABLE paid_orders (id bigint, profile bigint, total numeric, status text)
    SERVER copernica OPTIONS (resource 'miniview_subprofiles', miniview '1');
\! $EMUCTL clear-log
SELECT * FROM big_orders WHERE status = 'paid' ORDER BY id;
SELECT count(*), sum(total) FROM paid_orders;
\! $EMUCTL log | sort
CREATE FOREIGN TABLE bad_mv (id bigint) SERVER copernica OPTIONS (resource 'miniview_subprofiles');
CREATE FOREIGN TABLE bad_mv (id bigint) SERVER copernica OPTIONS (resource 'miniviews');
CREATE FOREIGN TABLE bad_mv (id bigint) SERVER copernica OPTIONS (database 'Customers', miniview '1');
