--
-- Rows that change while a scan reads them, by the statement itself or by
-- a PL/pgSQL loop over the scan: every row is read once.  Profiles and
-- subprofiles are read by ID (keyset: fields[]=id>last, start=0), never by
-- offset; ORDER BY modified is pushed only when the rows wanted fit in one
-- request.  Requests are counted in the emulator's log, and what was
-- written is read back from the emulator's state.
--
SET timezone = 'UTC';
\! $EMUCTL reset generate 3000
SELECT copernica_forget_metadata();
-- (one request in flight: a sorted read of several pages is then as quick
-- as the unordered one, so the planner takes it; see the end for four)
CREATE FOREIGN TABLE lp_c (id bigint, age integer, notes text, modified timestamp)
    SERVER copernica OPTIONS (database 'Customers', page_size '4', max_concurrency '1');
CREATE FOREIGN TABLE lp_big (id bigint, age integer, notes text, modified timestamp)
    SERVER copernica OPTIONS (database 'Customers');
CREATE FOREIGN TABLE lp_orders (id bigint, profile bigint, ordernumber text, total numeric)
    SERVER copernica OPTIONS (database 'Customers', collection 'Orders', page_size '4');
CREATE TABLE lp_copy AS SELECT * FROM lp_big;

-- (1) a loop over ORDER BY modified that updates each row (which moves it
-- to the end of Copernica's modified order): each row once
EXPLAIN (COSTS OFF) SELECT id FROM lp_c WHERE age = 35 ORDER BY modified;
\! $EMUCTL clear-log
DO $$
DECLARE r record; n int := 0; seen bigint[] := '{}';
BEGIN
  FOR r IN SELECT id FROM lp_c WHERE age = 35 ORDER BY modified LOOP
    n := n + 1; seen := seen || r.id;
    UPDATE lp_c SET notes = 'loop-' || n WHERE id = r.id;
  END LOOP;
  RAISE NOTICE 'rows % distinct % expected %', n,
    (SELECT count(DISTINCT x) FROM unnest(seen) x),
    (SELECT count(*) FROM lp_copy WHERE age = 35);
END $$;
\! $EMUCTL log | grep -c 'orderby=modified'
\set ids `$EMUCTL profiles 1 --ids-with notes=loop- | paste -sd, -`
SELECT ('{' || :'ids' || '}')::bigint[] =
       ARRAY(SELECT id FROM lp_copy WHERE age = 35 ORDER BY id) AS emulator_has_each_once;

-- (2) the same over ORDER BY id: keyset pages, never an offset
\! $EMUCTL clear-log
DO $$
DECLARE r record; n int := 0; seen bigint[] := '{}';
BEGIN
  FOR r IN SELECT id FROM lp_c WHERE age = 36 ORDER BY id LOOP
    n := n + 1; seen := seen || r.id;
    UPDATE lp_c SET notes = 'byid-' || n WHERE id = r.id;
  END LOOP;
  RAISE NOTICE 'rows % distinct % expected %', n,
    (SELECT count(DISTINCT x) FROM unnest(seen) x),
    (SELECT count(*) FROM lp_copy WHERE age = 36);
END $$;
\set ids `$EMUCTL profiles 1 --ids-with notes=byid- | paste -sd, -`
SELECT ('{' || :'ids' || '}')::bigint[] =
       ARRAY(SELECT id FROM lp_copy WHERE age = 36 ORDER BY id) AS emulator_has_each_once;
\set n `$EMUCTL log | grep '^GET /v2/database/Customers/profiles?' | grep -vc 'start=0&'`
SELECT :n AS requests_at_an_offset;
\set n `$EMUCTL log | grep '^GET /v2/database/Customers/profiles?' | grep -c 'fields%5B%5D=id%3E'`
SELECT :n = (SELECT count(*) / 4 FROM lp_copy WHERE age = 36) AS one_keyset_request_a_page;

-- (3) UPDATE ... FROM a subquery ORDER BY modified LIMIT 30 (more than a
-- page): the 30 intended rows, each once
CREATE TABLE lp_t41 AS SELECT id FROM lp_copy WHERE age = 41 ORDER BY modified, id LIMIT 30;
EXPLAIN (COSTS OFF) SELECT id FROM lp_c WHERE age = 41 ORDER BY modified LIMIT 30;
UPDATE lp_c c SET notes = 'upd41'
  FROM (SELECT id FROM lp_c WHERE age = 41 ORDER BY modified LIMIT 30) s
 WHERE c.id = s.id;
\set ids `$EMUCTL profiles 1 --ids-with notes=upd41 | paste -sd, -`
SELECT ('{' || :'ids' || '}')::bigint[] = ARRAY(SELECT id FROM lp_t41 ORDER BY id)
  AS emulator_has_the_30;

-- (4) DELETE ... USING a subquery ORDER BY id LIMIT 30: the 30 lowest IDs
CREATE TABLE lp_t38 AS SELECT id FROM lp_copy WHERE age = 38 ORDER BY id LIMIT 30;
EXPLAIN (VERBOSE, COSTS OFF) SELECT id FROM lp_c WHERE age = 38 ORDER BY id LIMIT 30;
\! $EMUCTL clear-log
DELETE FROM lp_c c USING (SELECT id FROM lp_c WHERE age = 38 ORDER BY id LIMIT 30) s
 WHERE c.id = s.id;
SELECT count(*) AS deleted_other, (SELECT count(*) FROM lp_t38) AS meant
  FROM (SELECT id FROM lp_copy WHERE age = 38 EXCEPT SELECT id FROM lp_big WHERE age = 38) d
 WHERE id NOT IN (SELECT id FROM lp_t38);
SELECT count(*) AS meant_left FROM lp_big WHERE id IN (SELECT id FROM lp_t38);
-- (the DELETE's requests: lp_big's check reads one page, sorted or not as
-- the version's planner likes for EXCEPT)
\! $EMUCTL log | grep 'age%3D%3D38' | grep -v 'limit=1000&' | sed -E 's/id%3E[0-9]+/id%3EN/'
\! $EMUCTL log | grep '^GET /v2/database/Customers/profiles?' | grep -vc 'start=0&'
-- descending: fields[]=id<last
\! $EMUCTL clear-log
SELECT count(*), count(DISTINCT id), min(id) = (SELECT min(id) FROM (SELECT id FROM lp_copy
         WHERE age = 39 ORDER BY id DESC LIMIT 10) x) AS lowest_right
  FROM (SELECT id FROM lp_c WHERE age = 39 ORDER BY id DESC LIMIT 10) s;
\! $EMUCTL log | grep -c 'fields%5B%5D=id%3C[0-9]*&orderby=id&order=desc'

-- (5) ORDER BY modified DESC LIMIT 10 fits one request: it is pushed
EXPLAIN (COSTS OFF) SELECT id FROM lp_big ORDER BY modified DESC LIMIT 10;
CREATE TABLE lp_now AS SELECT id, modified FROM lp_big;
\! $EMUCTL clear-log
SELECT array_agg(modified ORDER BY modified DESC) =
       ARRAY(SELECT modified FROM lp_now ORDER BY modified DESC LIMIT 10) AS newest_ten,
       count(DISTINCT id) AS n
  FROM (SELECT id, modified FROM lp_big ORDER BY modified DESC LIMIT 10) s;
\! $EMUCTL log | grep -c '^GET /v2/database/Customers/profiles?start=0&limit=10&total=false&dataonly=true&orderby=modified&order=desc$'
\! $EMUCTL log | wc -l

-- (5b) a sorted read goes one page after another: with four requests in
-- flight, a read of many pages is sorted locally (the unordered scan keeps
-- four in flight), one of a page or a few is sorted by Copernica
ALTER FOREIGN TABLE lp_c OPTIONS (SET max_concurrency '4');
EXPLAIN (COSTS OFF) SELECT id FROM lp_c ORDER BY id;
EXPLAIN (COSTS OFF) SELECT id FROM lp_c ORDER BY id LIMIT 4;
ALTER FOREIGN TABLE lp_c OPTIONS (SET max_concurrency '1');

-- (6) one profile's subprofiles (profile = X), several pages, deleted by
-- a loop over them: each once, all gone
CREATE TABLE lp_p AS SELECT min(profile) AS p FROM lp_orders;
INSERT INTO lp_orders (profile, ordernumber, total)
  SELECT (SELECT p FROM lp_p), 'T' || g, g FROM generate_series(1, 12) g;
CREATE TABLE lp_o AS SELECT id FROM lp_orders WHERE profile = (SELECT p FROM lp_p);
SELECT count(*) > 12 AS several_pages FROM lp_o;
\! $EMUCTL clear-log
DO $$
DECLARE r record; n int := 0; seen bigint[] := '{}'; pid bigint := (SELECT p FROM lp_p);
BEGIN
  FOR r IN EXECUTE format('SELECT id FROM lp_orders WHERE profile = %s', pid) LOOP
    n := n + 1; seen := seen || r.id;
    DELETE FROM lp_orders WHERE id = r.id;
  END LOOP;
  RAISE NOTICE 'visited % distinct % expected %', n,
    (SELECT count(DISTINCT x) FROM unnest(seen) x), (SELECT count(*) FROM lp_o);
END $$;
SELECT count(*) AS left_over FROM lp_orders WHERE profile = (SELECT p FROM lp_p);
\! $EMUCTL log | grep '^GET /v2/profile/' | grep -vc 'start=0&'
\! $EMUCTL log | grep '^GET /v2/profile/' | grep -c 'fields%5B%5D=id%3E'

--
-- (7) Copernica's IDs are positive.  A condition on IDs below 1 matches
-- nothing, without a request; an answer with an ID below 1 is an error,
-- wherever it shows up.
--
\! $EMUCTL reset demo
\! $EMUCTL renumber 4 -5
SELECT copernica_forget_metadata();
SELECT id FROM lp_big WHERE id = 2;
\! $EMUCTL clear-log
SELECT id FROM lp_big WHERE id = -5;
SELECT id FROM lp_big WHERE id < 0;
SELECT id FROM lp_big WHERE id < 1;
SELECT id FROM lp_big WHERE id <= 0;
SELECT id FROM lp_big WHERE id = 0;
SELECT id FROM lp_big WHERE id IN (-5, 0);
\! $EMUCTL log | wc -l
SELECT id FROM lp_big WHERE id IN (-5, 1);
\! $EMUCTL log
\set VERBOSITY default
SELECT id FROM lp_big WHERE id <= 1;
SELECT sum(id) FROM lp_big;
SELECT id FROM lp_big ORDER BY id LIMIT 3;
\! $EMUCTL reset demo
SELECT copernica_forget_metadata();

--
-- (8) EXPLAIN ANALYZE's Copernica Requests counts the requests that went
-- out, as the emulator's log does: requests queued but cut off before they
-- were sent (a LIMIT reached while pages are in flight, a rescan) are not
-- counted.
--
\! $EMUCTL reset generate 3000
SELECT copernica_forget_metadata();
CREATE FOREIGN TABLE lp_cc (id bigint, notes text)
    SERVER copernica OPTIONS (database 'Customers', page_size '50', max_concurrency '4');
SELECT count(*) FROM lp_cc WHERE id = 1;
CREATE FUNCTION lp_requests(query text) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE line text; n bigint := 0;
BEGIN
  FOR line IN EXECUTE 'EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) ' || query LOOP
    IF line ~ 'Copernica Requests: ' THEN
      n := n + substring(line from 'Copernica Requests: ([0-9]+)')::bigint;
    END IF;
  END LOOP;
  RETURN n;
END $$;
\! $EMUCTL latency 30
\! $EMUCTL clear-log
SELECT lp_requests('SELECT id FROM lp_cc WHERE notes ILIKE ''%'' LIMIT 1') AS reported \gset
\set n `$EMUCTL log | grep -c '^GET /v2/database/Customers/profiles?'`
SELECT :reported = :n AS limit_counts_what_was_sent;
CREATE TABLE lp_outer AS SELECT g AS k FROM generate_series(1, 3) g;
\! $EMUCTL clear-log
SELECT lp_requests('SELECT (SELECT max(id) FROM (SELECT id FROM lp_cc WHERE notes ILIKE ''%'' LIMIT k) s) FROM lp_outer') AS reported \gset
\set n `$EMUCTL log | grep -c '^GET /v2/database/Customers/profiles?'`
SELECT :reported = :n AS rescans_count_what_was_sent;
\! $EMUCTL latency 0
