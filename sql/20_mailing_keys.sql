--
-- The emailings tables by their own key, id: id = X, id = ANY(a few) and
-- a join on id read each emailing's own object (ms/emailing/X,
-- publisher/emailing/X), one request per key, not the whole listing; an
-- unknown ID is no row.  The requests are counted in the emulator's log.
--
\! $EMUCTL reset generate 200 --shape dense --mailings 40
SET timezone = 'UTC';
SET datestyle = 'ISO, YMD';
CREATE SCHEMA mk;
IMPORT FOREIGN SCHEMA "_mailings"
  LIMIT TO (ms_emailings, publisher_emailings, publisher_statistics, publisher_clicks)
  FROM SERVER copernica INTO mk;
-- pages of 10: the listing of 43 Publisher emailings takes five
ALTER FOREIGN TABLE mk.publisher_emailings OPTIONS (ADD page_size '10');
ALTER FOREIGN TABLE mk.ms_emailings OPTIONS (ADD page_size '10');

-- one Marketing Suite emailing: its object (tags included), one request
\! $EMUCTL clear-log
SELECT id, subject, type, tags FROM mk.ms_emailings WHERE id = 170;
\! $EMUCTL log
-- the same row as the listing gives (the listing leaves out the tags)
SELECT (SELECT row(id, "timestamp", subject, type, from_address, destinations, target, template)
          FROM mk.ms_emailings WHERE id = 170)
     = (SELECT row(id, "timestamp", subject, type, from_address, destinations, target, template)
          FROM mk.ms_emailings WHERE id + 0 = 170) AS same_row;
-- an unknown ID is no row, not an error, after one request
\! $EMUCTL clear-log
SELECT count(*) FROM mk.ms_emailings WHERE id = 171;
\! $EMUCTL log
-- a few keys: one request each, duplicates and NULLs left out
\! $EMUCTL clear-log
SELECT id FROM mk.ms_emailings WHERE id = ANY ('{175,169,171,175,NULL}') ORDER BY id;
\! $EMUCTL log | sort
-- other conditions are rechecked on the object
SELECT count(*) FROM mk.ms_emailings WHERE id = 175 AND "timestamp" < '2024-01-01';
SELECT explain_portable('COSTS OFF, VERBOSE',
  $$SELECT id, subject FROM mk.ms_emailings WHERE id = ANY ('{175,169}')$$);

-- Publisher: the object lacks the counters errors, unsubscribes and
-- abuses, so a query that uses one reads the listing (five pages)
\! $EMUCTL clear-log
SELECT id, subject, clicks FROM mk.publisher_emailings WHERE id = 2007;
\! $EMUCTL log
\! $EMUCTL clear-log
SELECT id, errors FROM mk.publisher_emailings WHERE id = 2007;
\! $EMUCTL log --count
\! $EMUCTL clear-log
SELECT count(*) FROM (SELECT * FROM mk.publisher_emailings WHERE id = 2007) e;
SELECT row_to_json(e)->>'abuses' AS abuses FROM mk.publisher_emailings e WHERE id = 2007;
\! $EMUCTL log --count
-- many keys (more than 20): the listing, not one request each, whether
-- the list is known when planning or only when the scan starts
\! $EMUCTL clear-log
SELECT count(*) FROM mk.publisher_emailings
 WHERE id = ANY (ARRAY(SELECT generate_series(2001, 2030)::bigint));
\! $EMUCTL log --count
SELECT explain_portable('COSTS OFF',
  $$SELECT id FROM mk.publisher_emailings WHERE id = ANY ('{2001,2002,2003,2004,2005,2006,2007,2008,2009,2010,2011,2012,2013,2014,2015,2016,2017,2018,2019,2020,2021}')$$);
-- an error other than an unknown emailing is still one
\! $EMUCTL answer 400 1 '{"error":{"message":"Invalid method"}}' --match /ms/emailing/169
SELECT id FROM mk.ms_emailings WHERE id = 169;
\! $EMUCTL answer 400 1 '{"error":{"message":"No emailing with supplied ID"}}' --match /ms/emailing/169
SELECT id FROM mk.ms_emailings WHERE id = 169;
\! $EMUCTL clear-faults

-- a join on id: a parameterized nested loop, one request per outer row
CREATE TABLE mk.wanted (emailing bigint);
INSERT INTO mk.wanted VALUES (2003), (2011), (2029), (9999);
ANALYZE mk.wanted;
SELECT explain_portable('COSTS OFF',
  $$SELECT w.emailing, e.subject FROM mk.wanted w JOIN mk.publisher_emailings e ON e.id = w.emailing$$);
\! $EMUCTL clear-log
SELECT w.emailing, e.subject FROM mk.wanted w JOIN mk.publisher_emailings e ON e.id = w.emailing
 ORDER BY 1;
\! $EMUCTL log | sort
DROP TABLE mk.wanted;

-- Every emailing's listing (a table keyed by emailing, read without a key
-- condition): an emailing removed between reading the emailings and
-- reading its listing (HTTP 400 "No emailing with supplied ID" on its
-- first page) has no rows left; the others are read as before.  One part
-- at a time (max_concurrency 1) and several in flight alike
\! $EMUCTL reset demo
CREATE FOREIGN TABLE mk.dest_one (id text, emailing bigint)
  SERVER copernica OPTIONS (resource 'publisher_destinations', max_concurrency '1',
                            page_size '7');
CREATE FOREIGN TABLE mk.dest_four (id text, emailing bigint)
  SERVER copernica OPTIONS (resource 'publisher_destinations', max_concurrency '4',
                            page_size '7');
CREATE TABLE mk.dest_counts AS
  SELECT emailing, count(*) AS n FROM mk.dest_one GROUP BY 1;
SELECT * FROM mk.dest_counts ORDER BY 1;
\! $EMUCTL answer 400 1 '{"error":{"message":"No emailing with supplied ID"}}' --match /publisher/emailing/1282/destinations
\! $EMUCTL clear-log
SELECT emailing, count(*) FROM mk.dest_one GROUP BY 1 ORDER BY 1;
\! $EMUCTL log --count
\! $EMUCTL answer 400 1 '{"error":{"message":"No emailing with supplied ID"}}' --match /publisher/emailing/1282/destinations
\! $EMUCTL clear-log
SELECT emailing, count(*) FROM mk.dest_four GROUP BY 1 ORDER BY 1;
\! $EMUCTL log --count
-- a bare object per emailing (statistics) likewise
\! $EMUCTL answer 400 1 '{"error":{"message":"No emailing with supplied ID"}}' --match /publisher/emailing/1281/statistics
SELECT emailing FROM mk.publisher_statistics ORDER BY 1;
-- any other error still raises: another message, a removal halfway
-- through a listing (its second page), an error answered with HTTP 200;
-- an unknown emailing named by a condition is no row (33_unknown_keys)
\! $EMUCTL answer 400 1 '{"error":{"message":"Invalid method"}}' --match /publisher/emailing/1282/destinations
SELECT count(*) FROM mk.dest_one;
\! $EMUCTL answer 400 1 '{"error":{"message":"No emailing with supplied ID"}}' --match /publisher/emailing/1282/destinations --after 1
SELECT count(*) FROM mk.dest_one;
\! $EMUCTL answer 400 1 '{"error":{"message":"No emailing with supplied ID"}}' --match /publisher/emailing/1282/destinations --after 1
SELECT count(*) FROM mk.dest_four;
\! $EMUCTL answer 400 1 'No emailing with supplied ID' --match /publisher/emailing/1282/destinations --content-type text/plain
SELECT count(*) FROM mk.dest_four;
\! $EMUCTL answer 200 1 '{"error":{"message":"No emailing with supplied ID"}}' --match /publisher/emailing/1282/destinations
SELECT count(*) FROM mk.dest_four;
\! $EMUCTL clear-faults
SELECT count(*) FROM mk.dest_four WHERE emailing = 999;
DROP TABLE mk.dest_counts;

-- Planning uses what the scans saw (planning asks Copernica nothing):
-- an account-wide listing's total (its limit=0 request), the emailings
-- there are and the rows an emailing's listing holds; before any scan (or
-- after copernica_forget_metadata()) a large account is assumed
SELECT copernica_forget_metadata();
CREATE TABLE mk.many AS SELECT g AS id, g::text AS hex FROM generate_series(1, 5000) g;
ANALYZE mk.many;
SELECT explain_portable('COSTS OFF',
  $$SELECT count(*) FROM mk.many m JOIN mk.publisher_clicks c ON c.id = m.id$$);
SELECT explain_portable('COSTS OFF',
  $$SELECT count(*) FROM mk.many m JOIN mk.dest_four d ON d.id = m.hex$$);
\! $EMUCTL clear-log
SELECT count(*) FROM mk.publisher_clicks;
SELECT count(*) FROM mk.dest_four;
\! $EMUCTL log --count
-- the small listings now go to the hash side
SELECT explain_portable('COSTS OFF',
  $$SELECT count(*) FROM mk.many m JOIN mk.publisher_clicks c ON c.id = m.id$$);
SELECT explain_portable('COSTS OFF',
  $$SELECT count(*) FROM mk.many m JOIN mk.dest_four d ON d.id = m.hex$$);
-- a time range sent with the listing says nothing of its whole size
SELECT copernica_forget_metadata();
SELECT count(*) FROM mk.publisher_clicks WHERE "timestamp" > '2024-01-01';
SELECT explain_portable('COSTS OFF',
  $$SELECT count(*) FROM mk.many m JOIN mk.publisher_clicks c ON c.id = m.id$$);
DROP TABLE mk.many;
