--
-- Campaign data beyond emailings, destinations and events: a split run's
-- test groups and their events, snapshots, message contents, statistics
-- per destination and per template, scheduled emailings.  Which URL each
-- scan reads comes from the emulator's request log; every answer is
-- checked against what other endpoints say about the same mailings.
--
\! $EMUCTL reset demo
SET timezone = 'UTC';
SET datestyle = 'ISO, YMD';
CREATE SCHEMA camp;
IMPORT FOREIGN SCHEMA "_mailings" FROM SERVER copernica INTO camp;

-- test groups: per emailing, or every emailing's in turn (not those whose
-- testgroups count is 0: 1282 is not asked)
\! $EMUCTL clear-log
SELECT * FROM camp.publisher_testgroups WHERE emailing = 1281 ORDER BY id;
\! $EMUCTL log | sort
\! $EMUCTL clear-log
SELECT emailing, count(*), sum(destinations) FROM camp.publisher_testgroups GROUP BY 1 ORDER BY 1;
\! $EMUCTL log | sort

-- a test group's events: read by test group only, the column filled from
-- the condition; they are the emailing's events of the group's destinations
\! $EMUCTL clear-log
SELECT testgroup, id, emailing, destination, link FROM camp.publisher_testgroup_clicks
 WHERE testgroup = 12811 ORDER BY id;
SELECT testgroup, count(*) FROM camp.publisher_testgroup_deliveries
 WHERE testgroup = ANY ('{12811,12812,12901}') GROUP BY 1 ORDER BY 1;
\! $EMUCTL log | sort
SELECT g.id, g.destinations = count(DISTINCT d.destination) AS destinations_agree
  FROM camp.publisher_testgroups g
  JOIN camp.publisher_testgroup_deliveries d ON d.testgroup = g.id
 GROUP BY g.id, g.destinations ORDER BY 1;
SELECT (SELECT array_agg(id ORDER BY id) FROM camp.publisher_testgroup_clicks
         WHERE testgroup = ANY ('{12811,12812}'))
     = (SELECT array_agg(c.id ORDER BY c.id) FROM camp.publisher_clicks c
         WHERE c.emailing = 1281
           AND c.destination IN (SELECT destination FROM camp.publisher_testgroup_deliveries
                                  WHERE testgroup = ANY ('{12811,12812}')
                                 UNION
                                 SELECT destination FROM camp.publisher_testgroup_errors
                                  WHERE testgroup = ANY ('{12811,12812}'))) AS clicks_agree;
-- every kind has its own shape
SELECT count(*) FROM camp.publisher_testgroup_impressions WHERE testgroup = 12811;
SELECT count(*) FROM camp.publisher_testgroup_errors WHERE testgroup = 12811;
SELECT count(*) FROM camp.publisher_testgroup_unsubscribes WHERE testgroup = 12811;
SELECT count(*) FROM camp.publisher_testgroup_abuses WHERE testgroup = 12811;
-- a join on the test group is a parameterized path, one request per group
SELECT explain_portable('COSTS OFF',
  'SELECT g.id, count(c.id) FROM camp.publisher_testgroups g
     JOIN camp.publisher_testgroup_clicks c ON c.testgroup = g.id
    WHERE g.emailing = 1281 GROUP BY 1');
\! $EMUCTL clear-log
SELECT g.id, count(c.id) FROM camp.publisher_testgroups g
  JOIN camp.publisher_testgroup_clicks c ON c.testgroup = g.id
 WHERE g.emailing = 1281 GROUP BY 1 ORDER BY 1;
\! $EMUCTL log | sort
-- without a test group there is nothing to read: an error, no request
\! $EMUCTL clear-log
SELECT count(*) FROM camp.publisher_testgroup_clicks;
SELECT count(*) FROM camp.publisher_testgroup_clicks WHERE testgroup > 1;
\! $EMUCTL log --count
-- an unknown test group is no row (33_unknown_keys)
SELECT count(*) FROM camp.publisher_testgroup_clicks WHERE testgroup = 99;

-- snapshots: one bare object per emailing
\! $EMUCTL clear-log
SELECT * FROM camp.publisher_snapshots ORDER BY emailing;
\! $EMUCTL log | sort

-- message contents and statistics of single destinations
\! $EMUCTL clear-log
SELECT c.destination, c.subject, c.html IS NOT NULL AS has_html, c.text IS NOT NULL AS has_text,
       coalesce(c.html, c.text) LIKE '%Dear customer ' || d.profile || ',%' AS personal
  FROM camp.publisher_destinations d
  JOIN camp.publisher_destination_content c ON c.destination = d.internal
 WHERE d.emailing = 1290 ORDER BY 1;
\! $EMUCTL log | sort
SELECT c.subject = e.subject AS subject_agrees
  FROM camp.publisher_destination_content c, camp.publisher_emailings e
 WHERE c.destination = 7340001 AND e.id = 1281;
\! $EMUCTL clear-log
SELECT * FROM camp.publisher_destination_statistics WHERE destination = ANY ('{7340001,7340002}')
 ORDER BY destination;
\! $EMUCTL log | sort
-- they agree with the destination's events
SELECT s.destination,
       s.clicks_total = (SELECT count(*) FROM camp.publisher_clicks c
                          WHERE c.destination = s.destination) AS clicks_agree,
       s.impressions_total = (SELECT count(*) FROM camp.publisher_impressions i
                               WHERE i.destination = s.destination) AS impressions_agree,
       s.deliveries_total = (SELECT count(*) FROM camp.publisher_deliveries d
                              WHERE d.destination = s.destination) AS deliveries_agree
  FROM camp.publisher_destination_statistics s
 WHERE s.destination IN (SELECT DISTINCT destination FROM camp.publisher_clicks WHERE emailing = 1282)
 ORDER BY 1;
SELECT s.destination, s.deliveries_total, s.retries_total,
       s.retries_total = (SELECT sum(attempts - 1) FROM camp.ms_deliveries d
                           WHERE d.destination = s.destination) AS retries_agree
  FROM camp.ms_destination_statistics s
 WHERE s.destination = ANY ('{1840001,1840002,1840003}') ORDER BY 1;
-- a destination is required
SELECT * FROM camp.publisher_destination_content;
SELECT * FROM camp.ms_destination_statistics WHERE abuses_total > 0;

-- a template's statistics add up its emailings'
\! $EMUCTL clear-log
SELECT * FROM camp.ms_template_statistics WHERE template = 579;
\! $EMUCTL log | sort
SELECT t.destinations = sum(s.destinations) AS destinations_agree,
       t.clicks_total = sum(s.clicks_total) AS clicks_agree,
       t.impressions_unique = sum(s.impressions_unique) AS impressions_agree
  FROM camp.ms_template_statistics t, camp.ms_statistics s, camp.ms_emailings e
 WHERE t.template = 579 AND e.template = 579 AND s.emailing = e.id
 GROUP BY t.destinations, t.clicks_total, t.impressions_unique;
SELECT * FROM camp.ms_template_statistics;

-- scheduled emailings: nothing is hidden by default, nothing is sent
\! $EMUCTL clear-log
SELECT id, next, previous, "interval", iterations, processed_iterations, scheduled_iterations,
       subject, emailing_type, contenttype, testgroups, document, template,
       target->>'type' AS target
  FROM camp.publisher_scheduledemailings ORDER BY id;
SELECT id, start, rrule, next, previous, subject, type, template, from_address->>'email' AS sender
  FROM camp.ms_scheduledemailings ORDER BY id;
\! $EMUCTL log | sort
-- a range on next becomes nextrunafter/nextrunbefore (MS) or fromdate
-- (Publisher, which documents no upper bound), a second wider, rechecked
CREATE TABLE sched AS
  SELECT 'ms' AS sys, id, next FROM camp.ms_scheduledemailings
  UNION ALL SELECT 'pub', id, next FROM camp.publisher_scheduledemailings;
\! $EMUCTL clear-log
SELECT id, next FROM camp.ms_scheduledemailings WHERE next > '2024-07-01' ORDER BY id;
SELECT id, next FROM camp.ms_scheduledemailings
 WHERE next >= '2024-06-28 17:30:00' AND next < '2024-08-01 09:00:00' ORDER BY id;
SELECT id, next FROM camp.publisher_scheduledemailings
 WHERE next > '2024-06-30 12:00:00' AND next <= '2024-08-01' ORDER BY id;
\! $EMUCTL log | sort
SELECT sys, array_agg(id ORDER BY id) FROM sched
 WHERE (sys = 'ms' AND next >= '2024-06-28 17:30:00' AND next < '2024-08-01 09:00:00')
    OR (sys = 'pub' AND next > '2024-06-30 12:00:00' AND next <= '2024-08-01')
 GROUP BY 1 ORDER BY 1;
EXPLAIN (COSTS OFF) SELECT id FROM camp.ms_scheduledemailings WHERE next > '2024-07-01';

-- Marketing Suite's Unsubscribed filter: sent (in both spellings, the docs
-- write it with a capital U) for a condition that asks for unsubscribed
-- destinations, to the listings that take it; never otherwise
CREATE TABLE ms_dest AS SELECT * FROM camp.ms_destinations
 WHERE timestampsent >= '2024-01-01' AND timestampsent < '2025-01-01';
SELECT count(*), count(*) FILTER (WHERE unsubscribed) AS unsubscribed FROM ms_dest;
\! $EMUCTL clear-log
SELECT id, emailing, profile, unsubscribed FROM camp.ms_destinations
 WHERE emailing = 169 AND unsubscribed;
SELECT id, emailing, unsubscribed FROM camp.ms_destinations WHERE unsubscribed IS TRUE ORDER BY id;
SELECT id, unsubscribed FROM camp.ms_destinations
 WHERE unsubscribed AND timestampsent >= '2024-01-01' AND timestampsent < '2025-01-01';
\! $EMUCTL log | sort
EXPLAIN (COSTS OFF) SELECT * FROM camp.ms_destinations WHERE emailing = 169 AND unsubscribed;
-- a value known only at run time (a generic plan, a stable expression):
-- EXPLAIN VERBOSE shows the parameter or "(expression)", and the rows are
-- those of the constant (this EXPLAIN once crashed the backend)
SET plan_cache_mode = force_generic_plan;
PREPARE unsub_p(boolean) AS SELECT count(*) FROM camp.ms_destinations
 WHERE emailing = 169 AND unsubscribed = $1;
SELECT explain_portable('VERBOSE, COSTS OFF', 'EXECUTE unsub_p(true)');
\! $EMUCTL clear-log
EXECUTE unsub_p(true);
\! $EMUCTL log | sort
SELECT count(*) FROM camp.ms_destinations WHERE emailing = 169 AND unsubscribed;
EXECUTE unsub_p(false);
SELECT count(*) FROM camp.ms_destinations WHERE emailing = 169 AND NOT unsubscribed;
DEALLOCATE unsub_p;
RESET plan_cache_mode;
SELECT explain_portable('VERBOSE, COSTS OFF',
  'SELECT id FROM camp.ms_destinations WHERE emailing = 169 AND unsubscribed = (now() IS NOT NULL)');
SELECT count(*) FROM camp.ms_destinations WHERE emailing = 169 AND unsubscribed = (now() IS NOT NULL);
-- the same rows as the local copy
SELECT (SELECT array_agg(id ORDER BY id) FROM ms_dest WHERE unsubscribed)
     = (SELECT array_agg(id ORDER BY id) FROM camp.ms_destinations WHERE unsubscribed) AS same;
-- without such a condition the filter narrows nothing, no row is hidden;
-- the per-emailing items do not carry the column, so where the query uses
-- it, the emailing's listing is also read with the filter: true for the
-- IDs that holds, false for the others.  ms/destinations, whose items
-- carry it, is the reference (every destination, read by date range)
CREATE TABLE ms_ref AS SELECT * FROM camp.ms_destinations
 WHERE timestampsent >= '2000-01-01' AND timestampsent < '2100-01-01';
SELECT count(*), count(unsubscribed), count(*) FILTER (WHERE unsubscribed) AS unsubscribed
  FROM ms_ref;
\! $EMUCTL clear-log
SELECT count(*), count(profile) FROM camp.ms_destinations WHERE emailing = 169;
\! $EMUCTL log | sort
\! $EMUCTL clear-log
SELECT count(*), count(unsubscribed) FROM camp.ms_destinations WHERE emailing = 169;
SELECT count(*) FROM camp.ms_destinations WHERE emailing = 169 AND unsubscribed IS NOT TRUE;
SELECT count(*) FROM camp.ms_destinations
 WHERE NOT unsubscribed AND timestampsent >= '2024-01-01' AND timestampsent < '2025-01-01';
\! $EMUCTL log | sort
-- every way of asking for the others gives the reference's rows
\! $EMUCTL clear-log
SELECT (SELECT array_agg(id ORDER BY id) FROM ms_ref WHERE emailing = 169 AND NOT unsubscribed)
     = (SELECT array_agg(id ORDER BY id) FROM camp.ms_destinations
         WHERE emailing = 169 AND NOT unsubscribed) AS not_same,
       (SELECT count(*) FROM camp.ms_destinations
         WHERE emailing = 169 AND unsubscribed IS FALSE) AS is_false,
       (SELECT count(*) FROM camp.ms_destinations
         WHERE emailing = 169 AND unsubscribed = false) AS eq_false,
       (SELECT count(*) FROM camp.ms_destinations
         WHERE emailing = 169 AND NOT coalesce(unsubscribed, true)) AS coalesced;
\! $EMUCTL log --count
-- every emailing's in turn: the same as the reference, row by row
\! $EMUCTL clear-log
SELECT emailing, unsubscribed, count(*) FROM camp.ms_destinations GROUP BY 1, 2 ORDER BY 1, 2;
\! $EMUCTL log | sort
SELECT (SELECT array_agg(ROW(id, emailing, profile, unsubscribed) ORDER BY id) FROM ms_ref)
     = (SELECT array_agg(ROW(id, emailing, profile, unsubscribed) ORDER BY id)
          FROM camp.ms_destinations) AS same_rows;
EXPLAIN (VERBOSE, COSTS OFF) SELECT id FROM camp.ms_destinations
 WHERE emailing = 169 AND NOT unsubscribed;
-- a profile's listing neither takes the filter nor carries the column: it
-- is read whole, then the filtered listing of each emailing it names, and
-- the condition is checked locally; with an emailing too, that one's
-- listing takes the filter (the profile stays local)
\! $EMUCTL clear-log
SELECT id, emailing, profile FROM camp.ms_destinations WHERE profile = 14 AND unsubscribed;
\! $EMUCTL log | sort
EXPLAIN (COSTS OFF) SELECT id FROM camp.ms_destinations WHERE profile = 14 AND unsubscribed;
\! $EMUCTL clear-log
SELECT id, emailing, profile FROM camp.ms_destinations
 WHERE profile = 14 AND emailing = 169 AND unsubscribed;
\! $EMUCTL log | sort
-- so without the condition, where the column is used
\! $EMUCTL clear-log
SELECT count(*), count(unsubscribed) FROM camp.ms_destinations WHERE profile = 14;
SELECT count(*) FROM camp.ms_destinations WHERE profile = 14 AND NOT unsubscribed;
\! $EMUCTL log | sort
SELECT p, (SELECT array_agg(ROW(id, unsubscribed) ORDER BY id) FROM ms_ref WHERE profile = p)
        = (SELECT array_agg(ROW(id, unsubscribed) ORDER BY id) FROM camp.ms_destinations
            WHERE profile = p) AS same
  FROM unnest('{14,3,7}'::bigint[]) p ORDER BY p;
-- a subprofile's listing alike
\! $EMUCTL clear-log
SELECT s, (SELECT array_agg(ROW(id, unsubscribed) ORDER BY id) FROM ms_ref WHERE subprofile = s)
        = (SELECT array_agg(ROW(id, unsubscribed) ORDER BY id) FROM camp.ms_destinations
            WHERE subprofile = s) AS same
  FROM (SELECT DISTINCT subprofile AS s FROM ms_ref WHERE subprofile IS NOT NULL) x;
\! $EMUCTL log
EXPLAIN (VERBOSE, COSTS OFF) SELECT id, unsubscribed FROM camp.ms_destinations
 WHERE profile = 14;
-- a server that ignores the filter answers every destination: two or more
-- of an emailing all unsubscribed is taken for that, an error, as is an
-- item that says itself it is not unsubscribed
\! $EMUCTL ignore-param unsubscribed 1 --match /ms/emailing/169/destinations
SELECT count(*) FROM camp.ms_destinations WHERE emailing = 169 AND NOT unsubscribed;
\! $EMUCTL clear-faults
\! $EMUCTL answer 200 1 '{"start":0,"limit":1000,"count":1,"data":[{"ID":"1840001","unsubscribed":false}]}' --match /ms/emailing/169/destinations
SELECT count(*) FROM camp.ms_destinations WHERE emailing = 169 AND NOT unsubscribed;
\! $EMUCTL clear-faults
-- an ms/destinations item without the key is an error, not a NULL
\! $EMUCTL answer 200 2 '{"start":0,"limit":1000,"count":1,"data":[{"id":"1840001","mailing":"169"}]}' --match /ms/destinations
SELECT count(*) FROM camp.ms_destinations
 WHERE NOT unsubscribed AND timestampsent >= '2024-01-01' AND timestampsent < '2025-01-01';
\! $EMUCTL clear-faults
-- a join on profile with the condition: each profile's listing, and the
-- filtered listing of each emailing they name once a statement
CREATE TABLE ms_prof AS SELECT DISTINCT profile AS id FROM ms_dest
 WHERE profile IS NOT NULL ORDER BY 1 LIMIT 20;
ANALYZE ms_prof;
\! $EMUCTL clear-log
CREATE TABLE ms_unsub AS SELECT id, profile FROM camp.ms_destinations WHERE unsubscribed;
\! $EMUCTL clear-log
SELECT count(*) FROM ms_prof p JOIN camp.ms_destinations d ON d.profile = p.id
 WHERE d.unsubscribed;
SELECT count(*) FROM ms_prof p JOIN ms_unsub d ON d.profile = p.id;
\! $EMUCTL log | grep -c 'Unsubscribed=true'
\! $EMUCTL log | grep -c '^GET /v2/profile/'
-- the other rows of such a join: the same as the reference's
\! $EMUCTL clear-log
SELECT (SELECT array_agg(d.id ORDER BY d.id) FROM ms_prof p
          JOIN camp.ms_destinations d ON d.profile = p.id WHERE NOT d.unsubscribed)
     = (SELECT array_agg(d.id ORDER BY d.id) FROM ms_prof p
          JOIN ms_ref d ON d.profile = p.id WHERE NOT d.unsubscribed) AS same;
\! $EMUCTL log | grep -c 'Unsubscribed=true'
-- a parameter: true sends it, false does not
SET plan_cache_mode = force_generic_plan;
PREPARE unsub(boolean) AS
  SELECT count(*) FROM camp.ms_destinations WHERE emailing = 169 AND unsubscribed = $1;
\! $EMUCTL clear-log
EXECUTE unsub(true);
EXECUTE unsub(false);
EXECUTE unsub(NULL);
\! $EMUCTL log | sort
RESET plan_cache_mode;

-- a long key list (5,000 values, NULLs and repeats among them): each value
-- is read once, in the order it first comes
CREATE TABLE long_keys AS
  SELECT g, CASE WHEN g % 97 = 0 THEN NULL ELSE (g * 7919) % 28 + 1 END AS p
    FROM generate_series(1, 5000) g;
SELECT array_agg(p ORDER BY g)::text AS long_keys FROM long_keys \gset
-- (one part at a time: the requests' order is the one they are sent in)
ALTER FOREIGN TABLE camp.ms_destinations OPTIONS (ADD max_concurrency '1');
\! $EMUCTL clear-log
SELECT count(*) = (SELECT count(*) FROM ms_ref WHERE profile BETWEEN 1 AND 28) AS same_count
  FROM camp.ms_destinations WHERE profile = ANY (:'long_keys'::bigint[]);
\! $EMUCTL log --count
\! $EMUCTL log | sed -n 's|^GET /v2/profile/\([0-9]*\)/ms/destinations?.*|\1|p' | paste -sd,
SELECT string_agg(p::text, ',' ORDER BY first) AS first_come
  FROM (SELECT p, min(g) AS first FROM long_keys WHERE p IS NOT NULL GROUP BY p) s;
ALTER FOREIGN TABLE camp.ms_destinations OPTIONS (DROP max_concurrency);

-- a split run's final group: one bare object per emailing; an emailing
-- that is no split run answers [] (PHP's nothing): no row, not an error
\! $EMUCTL clear-log
SELECT * FROM camp.publisher_finalgroups ORDER BY emailing;
\! $EMUCTL log | sort
SELECT * FROM camp.publisher_finalgroups WHERE emailing = 1282;
-- the final group has the destinations no test group had
SELECT f.emailing, f.destinations + sum(g.destinations) = e.destinations AS destinations_agree,
       f.subject = min(g.subject) AS subject_of_the_first_group
  FROM camp.publisher_finalgroups f
  JOIN camp.publisher_testgroups g ON g.emailing = f.emailing
  JOIN camp.publisher_emailings e ON e.id = f.emailing
 GROUP BY f.emailing, f.destinations, f.subject, e.destinations ORDER BY 1;
-- an object without an ID, null, false or an empty answer: no final group;
-- an error stays one (an unknown emailing answers the same way)
\! $EMUCTL answer 200 1 '{}' --match /finalgroup
SELECT count(*) FROM camp.publisher_finalgroups WHERE emailing = 1281;
\! $EMUCTL answer 200 1 ' null ' --match /finalgroup
SELECT count(*) FROM camp.publisher_finalgroups WHERE emailing = 1281;
\! $EMUCTL answer 200 1 '' --match /finalgroup
SELECT count(*) FROM camp.publisher_finalgroups WHERE emailing = 1281;
\! $EMUCTL answer 200 1 '[1]' --match /finalgroup
SELECT count(*) FROM camp.publisher_finalgroups WHERE emailing = 1281;
\! $EMUCTL answer 200 1 '{"error":{"message":"No emailing with supplied ID"}}' --match /finalgroup
SELECT count(*) FROM camp.publisher_finalgroups WHERE emailing = 1281;
SELECT count(*) FROM camp.publisher_finalgroups WHERE emailing = 9;
EXPLAIN (VERBOSE, COSTS OFF) SELECT id FROM camp.publisher_finalgroups WHERE emailing = 1281;

-- message bodies: not JSON, one request per key and type, the text as it
-- came (UTF-8, here with non-ASCII); html, mime and text without a
-- condition on type
\! $EMUCTL clear-log
SELECT destination, type, length(body) > 100 AS long, body LIKE '%5 € korting%' AS euro
  FROM camp.publisher_destination_body WHERE destination = 7340001 ORDER BY type;
\! $EMUCTL log | sort
\! $EMUCTL clear-log
SELECT destination, type, body FROM camp.publisher_destination_body
 WHERE destination = 7340001 AND type = 'text';
SELECT destination, type, length(body) FROM camp.publisher_destination_body
 WHERE destination = ANY ('{7340001,7340002}') AND type IN ('html', 'mime') ORDER BY 1, 2;
\! $EMUCTL log | sort
-- a type that no body has: no rows, no request (as a remote table with no
-- such rows); a type condition that cannot be sent is rechecked locally
\! $EMUCTL clear-log
SELECT count(*) FROM camp.publisher_destination_body WHERE destination = 7340001 AND type = 'pdf';
SELECT count(*) FROM camp.publisher_destination_body WHERE destination = 7340001 AND type = 'HTML';
SELECT count(*) FROM camp.publisher_destination_body
 WHERE destination = 7340001 AND type = ANY ('{}');
SELECT count(*) FROM camp.publisher_destination_body WHERE destination = 7340001 AND type = NULL;
\! $EMUCTL log --count
\! $EMUCTL clear-log
SELECT type FROM camp.publisher_destination_body
 WHERE destination = 7340001 AND type LIKE '%t%' ORDER BY 1;
\! $EMUCTL log --count
-- the html body is the content endpoint's html (and a text mailing's html
-- body is empty, where the content says NULL)
SELECT d.emailing, b.type, b.body LIKE replace(coalesce(c.html, c.text), '</body></html>', '') || '%'
       AS agrees, b.body = '' AS empty
  FROM camp.publisher_destinations d
  JOIN camp.publisher_destination_content c ON c.destination = d.internal
  JOIN camp.publisher_destination_body b ON b.destination = d.internal AND b.type IN ('html', 'text')
 WHERE d.emailing IN (1281, 1290) AND d.internal IN (7340001, 7340034)
 ORDER BY 1, 2;
-- a join on the key: a parameterized nested loop, one request per key and type
SELECT explain_portable('VERBOSE, COSTS OFF',
  'SELECT d.internal, b.body FROM camp.publisher_destinations d
     JOIN camp.publisher_destination_body b ON b.destination = d.internal
    WHERE d.emailing = 1290');
\! $EMUCTL clear-log
SELECT d.internal, b.body LIKE '%Dear customer ' || d.profile || ',%' AS personal
  FROM camp.publisher_destinations d
  JOIN camp.publisher_destination_body b ON b.destination = d.internal
 WHERE d.emailing = 1290 AND b.type = 'text' ORDER BY 1;
\! $EMUCTL log | sort
-- Marketing Suite: destinations and templates
\! $EMUCTL clear-log
SELECT destination, type, body LIKE '%Dear customer%' AS personal
  FROM camp.ms_destination_body WHERE destination = 1840001 ORDER BY type;
SELECT template, type, body LIKE '%Grüße aus Köln%' AS umlauts,
       body LIKE 'MIME-Version: 1.0%' AS mime
  FROM camp.ms_template_body WHERE template = 579 ORDER BY type;
\! $EMUCTL log | sort
-- a join: one request per destination of the emailing (and its listing)
\! $EMUCTL clear-log
SELECT count(*), count(*) FILTER (WHERE b.body LIKE 'MIME-Version: 1.0%') AS mime
  FROM camp.ms_destinations d
  JOIN camp.ms_destination_body b ON b.destination = d.id AND b.type = 'mime'
 WHERE d.emailing = 169;
\! $EMUCTL log --count
\! $EMUCTL log | grep -c '^GET /v2/ms/destination/[0-9]*/body/mime$'
PREPARE tbody(text) AS SELECT length(body) > 0 FROM camp.ms_template_body
 WHERE template = 580 AND type = $1;
EXPLAIN (VERBOSE, COSTS OFF) EXECUTE tbody('html');
SET plan_cache_mode = force_generic_plan;
EXPLAIN (VERBOSE, COSTS OFF) EXECUTE tbody('html');
\! $EMUCTL clear-log
EXECUTE tbody('text');
EXECUTE tbody('rtf');
\! $EMUCTL log | sort
RESET plan_cache_mode;
-- the key is required: an error before any request
\! $EMUCTL clear-log
SELECT count(*) FROM camp.ms_template_body;
SELECT count(*) FROM camp.publisher_destination_body WHERE type = 'html';
\! $EMUCTL log --count
-- an unknown destination or template is no row, as elsewhere
SELECT count(*) FROM camp.ms_destination_body WHERE destination = 1;
SELECT count(*) FROM camp.ms_template_body WHERE template = 1 AND type = 'html';
-- an error object with HTTP 200 is an error, not a body
\! $EMUCTL answer 200 1 '{"error":{"message":"No destination with supplied ID"}}' --match /body
SELECT count(*) FROM camp.publisher_destination_body WHERE destination = 7340001 AND type = 'html';
-- a body that is not UTF-8 is refused
\! $EMUCTL answer 200 1 'caf{xff} au lait' --match /body --content-type text/plain
SELECT count(*) FROM camp.publisher_destination_body WHERE destination = 7340001 AND type = 'text';
-- a body over max_response_size is an error; one within it is read whole
ALTER SERVER copernica OPTIONS (ADD max_response_size '1024');
\! $EMUCTL answer 200 2 "$(python3 -c 'print("€" * 341, end="")')" --match /body --content-type text/plain
SELECT length(body), octet_length(body) FROM camp.publisher_destination_body
 WHERE destination = 7340001 AND type = 'text';
SELECT length(body) FROM camp.publisher_destination_body
 WHERE destination = 7340001 AND type = 'text';
\! $EMUCTL answer 200 1 "$(python3 -c 'print("€" * 342, end="")')" --match /body --content-type text/plain
SELECT length(body) FROM camp.publisher_destination_body
 WHERE destination = 7340001 AND type = 'text';
-- (a page of a listing, unlike a body, can be made smaller)
SELECT count(*) FROM camp.publisher_destinations WHERE emailing = 1281;
ALTER SERVER copernica OPTIONS (DROP max_response_size);
-- Marketing Suite tags: only the single emailing (ms/emailing/$id) has
-- them.  A query that uses the column makes one request more per emailing
-- read, several in flight (the log sorted: their order varies); none
-- otherwise.  IMPORT types them text[], as interests
SELECT format_type(atttypid, atttypmod) FROM pg_attribute
 WHERE attrelid = 'camp.ms_emailings'::regclass AND attname = 'tags';
\! $EMUCTL clear-log
SELECT id, subject FROM camp.ms_emailings ORDER BY id;
\! $EMUCTL log | sort
\! $EMUCTL clear-log
SELECT id, type, tags FROM camp.ms_emailings ORDER BY id;
\! $EMUCTL log | sort
-- a mail history's too; the tags a condition can use
\! $EMUCTL clear-log
SELECT id, tags FROM camp.ms_emailings WHERE profile = 14 AND 'promo' = ANY (tags) ORDER BY id;
\! $EMUCTL log | sort
EXPLAIN (VERBOSE, COSTS OFF) SELECT id, tags FROM camp.ms_emailings;
-- named by the option field, as jsonb
CREATE FOREIGN TABLE camp.ms_labels (id bigint, labels jsonb OPTIONS (field 'tags'))
  SERVER copernica OPTIONS (resource 'ms_emailings');
SELECT id, labels, jsonb_typeof(labels) FROM camp.ms_labels ORDER BY id;
-- an emailing gone between the listing and its own read is Copernica's error
\! $EMUCTL answer 400 1 '{"error":{"message":"No emailing with supplied ID"}}' --match /ms/emailing/175
SELECT id, tags FROM camp.ms_emailings ORDER BY id;
\! $EMUCTL clear-faults

-- The parts of a per-key scan (every emailing's listing or object, or the
-- keys of = ANY) are read several at a time: the same requests as one by
-- one (max_concurrency 1), the same rows, and more than one in flight
CREATE FOREIGN TABLE camp.stats_one (emailing bigint, clicks_total integer)
  SERVER copernica OPTIONS (resource 'publisher_statistics', max_concurrency '1');
CREATE FOREIGN TABLE camp.dest_one (id text, emailing bigint)
  SERVER copernica OPTIONS (resource 'publisher_destinations', max_concurrency '1',
                            page_size '7');
CREATE FOREIGN TABLE camp.dest_four (id text, emailing bigint)
  SERVER copernica OPTIONS (resource 'publisher_destinations', max_concurrency '4',
                            page_size '7');
\! $EMUCTL latency 30
\! $EMUCTL clear-log
SELECT emailing, clicks_total FROM camp.publisher_statistics;
\set overlap `$EMUCTL log --in-flight-at-end 3`
\set four `$EMUCTL log | sort | md5sum`
\! $EMUCTL log | sort
\! $EMUCTL clear-log
SELECT emailing, clicks_total FROM camp.stats_one;
\set one `$EMUCTL log | sort | md5sum`
SELECT :overlap >= 2 AS in_flight, :'one' = :'four' AS same_requests;
-- a listing of several pages per part: each part's pages in order, the
-- rows part by part, the requests as one by one
\! $EMUCTL clear-log
CREATE TABLE dest_four AS SELECT row_number() OVER () AS n, * FROM camp.dest_four
  WHERE emailing = ANY ('{1290,1281,1282}');
\set four `$EMUCTL log | sort | md5sum`
\! $EMUCTL log --count
\! $EMUCTL clear-log
CREATE TABLE dest_one AS SELECT row_number() OVER () AS n, * FROM camp.dest_one
  WHERE emailing = ANY ('{1290,1281,1282}');
\set one `$EMUCTL log | sort | md5sum`
\! $EMUCTL latency 0
SELECT :'one' = :'four' AS same_requests,
       (SELECT count(*) FROM dest_one) AS rows,
       NOT EXISTS (SELECT * FROM dest_one FULL JOIN dest_four USING (n, id, emailing)
                    WHERE dest_one.n IS NULL OR dest_four.n IS NULL) AS same_rows_same_order,
       (SELECT array_agg(emailing ORDER BY first) FROM
          (SELECT emailing, min(n) AS first FROM dest_four GROUP BY 1) s) AS part_order;
-- an error names the part it came from, whichever are in flight
\! $EMUCTL answer 400 1 '{"error":{"message":"Invalid method"}}' --match /publisher/emailing/1282/
SELECT count(*) FROM camp.dest_four;
\! $EMUCTL clear-faults
-- a scan ended with parts in flight (LIMIT above a local filter), and
-- rescanned (the inner side of a nested loop)
SELECT emailing FROM camp.publisher_statistics WHERE clicks_total >= 0 LIMIT 1;
SET enable_hashjoin = off;
SET enable_mergejoin = off;
SELECT v.x, count(*) FROM (VALUES (1), (2)) v(x)
  JOIN camp.dest_four d ON d.emailing > v.x GROUP BY 1 ORDER BY 1;
RESET enable_hashjoin;
RESET enable_mergejoin;
DROP TABLE dest_one, dest_four;

-- Two conditions on the key: the values both allow are read, whichever
-- comes first; none left, no request and no row (a single unknown
-- emailing stays Copernica's error)
\! $EMUCTL clear-log
SELECT count(*) = (SELECT count(*) FROM camp.publisher_destinations WHERE emailing = 1281)
       AS same_count
  FROM camp.publisher_destinations WHERE emailing = 1281 AND emailing = ANY ('{1281,0}');
SELECT count(*) FROM camp.publisher_destinations
 WHERE emailing = ANY ('{0,1282,1281}') AND emailing = ANY ('{1290,1282,1281}')
   AND emailing = ANY ('{1282,9,1281}');
SELECT count(*) FROM camp.publisher_destinations WHERE emailing = 0 AND emailing = ANY ('{1281}');
SELECT count(*) FROM camp.publisher_destinations WHERE emailing = 1281 AND emailing = 1282;
\! $EMUCTL log | sort
PREPARE two_keys(bigint, bigint[]) AS
  SELECT count(*) FROM camp.publisher_destinations WHERE emailing = $1 AND emailing = ANY ($2);
EXECUTE two_keys(1282, '{0,1282}');
EXECUTE two_keys(0, '{1282}');
SELECT count(*) FROM camp.publisher_destinations WHERE emailing = 0;
DEALLOCATE two_keys;

-- ms_destinations.message_id: only ms/destinations and the single
-- destination (ms/destination/$id) carry messageID.  Read through an
-- emailing's or a profile's listing, each row's own object is read too
-- (several in flight), never a NULL that a filter would drop; the same
-- values as ms/destinations.  Every emailing's listing is refused
\! $EMUCTL clear-log
SELECT count(*) FROM camp.ms_destinations WHERE emailing = 175 AND message_id IS NOT NULL;
\! $EMUCTL log | sort
SELECT (SELECT array_agg(message_id ORDER BY id) FROM camp.ms_destinations WHERE emailing = 175)
     = (SELECT array_agg(message_id ORDER BY id) FROM ms_ref WHERE emailing = 175) AS same_by_emailing,
       (SELECT array_agg(message_id ORDER BY id) FROM camp.ms_destinations WHERE profile = 14)
     = (SELECT array_agg(message_id ORDER BY id) FROM ms_ref WHERE profile = 14) AS same_by_profile,
       (SELECT count(*) FROM ms_ref WHERE message_id IS NULL) AS ref_nulls;
-- without the column, or through ms/destinations, no request more
\! $EMUCTL clear-log
SELECT count(id) FROM camp.ms_destinations WHERE emailing = 175;
SELECT count(message_id) FROM camp.ms_destinations
 WHERE timestampsent >= '2000-01-01' AND timestampsent < '2100-01-01';
\! $EMUCTL log --count
EXPLAIN (VERBOSE, COSTS OFF) SELECT message_id FROM camp.ms_destinations WHERE emailing = 175;
\! $EMUCTL clear-log
SELECT count(message_id) FROM camp.ms_destinations;
SELECT count(*) FROM camp.ms_destinations WHERE message_id IS NULL;
\! $EMUCTL log --count
