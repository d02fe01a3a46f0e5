--
-- Overlapped writes at their edges: nothing is passed on (a RETURNING row,
-- an AFTER trigger) before its request is answered and checked; a write cut
-- off while in flight is named in the error as done or of unknown outcome;
-- the wrapper's functions are in the statement's trace.  State from the
-- emulator, requests and their overlap from its log.
--
\! $EMUCTL reset demo
\setenv PGDATABASE :DBNAME
\setenv WARN_FIRST '/^WARNING:/ { w = 1 } /^(ERROR|NOTICE|CONTEXT|HINT):/ { w = 0 } { if (w) a = a $0 "\\n"; else b = b $0 "\\n" } END { printf "%s%s", a, b }'
CREATE FOREIGN TABLE ov_people (id bigint, email text, notes text)
    SERVER copernica OPTIONS (database 'Customers');
CREATE FOREIGN TABLE ov_orders (id bigint, profile bigint, ordernumber text, status text)
    SERVER copernica OPTIONS (database 'Customers', collection 'Orders');
SELECT count(*) FROM ov_people WHERE id = 1;
SELECT count(*) FROM ov_orders WHERE id = 1;

-- UPDATE ... RETURNING id feeding an INSERT: profile 21's PUT is refused,
-- and no order is created for it (nor for 22, whose row comes later): the
-- row goes on only once its PUT has succeeded
\! $EMUCTL subprofiles 1
\! $EMUCTL answer 400 1 '{"error":{"message":"Profile could not be updated"}}' --match profile/21 --method PUT
\! $EMUCTL clear-log
WITH u AS (UPDATE ov_people SET notes = 'ret' WHERE id IN (21, 22) RETURNING id)
INSERT INTO ov_orders (profile, ordernumber, status)
SELECT id, 'AFTER-' || id, 'open' FROM u RETURNING profile;
\! $EMUCTL log --status | grep -v GET
\! $EMUCTL subprofiles 1
\! $EMUCTL clear-faults

-- RETURNING of no column of the table, UPDATE and DELETE: one request at
-- a time (at most 1 in flight, where 4 would be without RETURNING)
\! $EMUCTL latency 40
\! $EMUCTL clear-log
WITH u AS (UPDATE ov_people SET notes = 'one' WHERE id BETWEEN 1 AND 8 RETURNING 1)
SELECT count(*) FROM u;
\! $EMUCTL log --in-flight-at-end 8
\! $EMUCTL clear-log
WITH d AS (DELETE FROM ov_people WHERE id BETWEEN 9 AND 12 RETURNING 'gone')
SELECT count(*) FROM d;
\! $EMUCTL log --in-flight-at-end 4
-- and without RETURNING they overlap
\! $EMUCTL clear-log
UPDATE ov_people SET notes = 'many' WHERE id BETWEEN 13 AND 20;
\! $EMUCTL log --in-flight-at-end 8
\! $EMUCTL latency 0

-- an AFTER STATEMENT trigger of the partitioned table an UPDATE names fires
-- only once the foreign partition's writes are checked: profile 22's PUT
-- is refused, and the trigger does not run
CREATE TABLE ov_parts (id bigint, email text, notes text) PARTITION BY RANGE (id);
CREATE FOREIGN TABLE ov_part_remote PARTITION OF ov_parts DEFAULT
    SERVER copernica OPTIONS (database 'Customers');
CREATE FUNCTION ov_said() RETURNS trigger LANGUAGE plpgsql AS
  'BEGIN RAISE NOTICE ''% % done'', TG_OP, TG_TABLE_NAME; RETURN NULL; END';
CREATE TRIGGER ov_said AFTER UPDATE OR INSERT ON ov_parts
    FOR EACH STATEMENT EXECUTE FUNCTION ov_said();
\! $EMUCTL answer 400 1 '{"error":{"message":"Profile could not be updated"}}' --match profile/22 --method PUT
\! $EMUCTL clear-log
UPDATE ov_parts SET notes = 'part' WHERE id IN (21, 22, 23);
\! $EMUCTL log --status | grep -v GET
\! $EMUCTL clear-faults

-- COPY: an AFTER STATEMENT trigger (of the foreign table, or of the
-- partitioned table that routes to it) sees every row of the COPY in
-- Copernica
CREATE FUNCTION ov_count() RETURNS trigger LANGUAGE plpgsql AS
  'BEGIN RAISE NOTICE ''% rows in Copernica'', (SELECT count(*) FROM ov_people WHERE notes = ''copied''); RETURN NULL; END';
CREATE TRIGGER ov_count AFTER INSERT ON ov_people
    FOR EACH STATEMENT EXECUTE FUNCTION ov_count();
\! $EMUCTL clear-log
COPY ov_people (email, notes) FROM stdin;
c1@example.com	copied
c2@example.com	copied
c3@example.com	copied
\.
\! $EMUCTL log | grep -c POST
DROP TRIGGER ov_count ON ov_people;
CREATE TRIGGER ov_count AFTER INSERT ON ov_parts
    FOR EACH STATEMENT EXECUTE FUNCTION ov_count();
COPY ov_parts (email, notes) FROM stdin;
c4@example.com	copied
c5@example.com	copied
\.
DROP TABLE ov_parts;
DROP FUNCTION ov_said();
DROP FUNCTION ov_count();

-- statement_timeout while an overlapped UPDATE waits for profile 5's PUT
-- (4 in flight: 5, 6, 7, 8; 1 to 4 answered): the detail lists 1 to 4 as
-- updated and names 5 to 8 as of unknown outcome, the one waited for too.
-- All eight reach Copernica, so each change is in the error.
\! $EMUCTL reset demo
\! $EMUCTL slow 3000 8 --method PUT
SET statement_timeout = '4500ms';
UPDATE ov_people SET notes = 'cx' WHERE id <= 20;
RESET statement_timeout;
\! sleep 2.5; $EMUCTL clear-faults
\! $EMUCTL profiles 1 --ids-with notes=cx | tr '\n' ' '; echo
-- the same one request at a time: profile 3's PUT is cut off
ALTER FOREIGN TABLE ov_people OPTIONS (ADD max_concurrency '1');
\! $EMUCTL slow 3000 1 --method PUT --match profile/3
SET statement_timeout = '1500ms';
UPDATE ov_people SET notes = 'cy' WHERE id <= 5;
RESET statement_timeout;
\! sleep 2; $EMUCTL clear-faults
\! $EMUCTL profiles 1 --ids-with notes=cy | tr '\n' ' '; echo
ALTER FOREIGN TABLE ov_people OPTIONS (DROP max_concurrency);
-- an overlapped PUT refused: it is neither updated nor of unknown outcome,
-- and the others in flight are waited for and listed
\! $EMUCTL answer 400 1 '{"error":{"message":"Profile could not be updated"}}' --match profile/2 --method PUT
UPDATE ov_people SET notes = 'cz' WHERE id <= 4;
\! $EMUCTL profiles 1 --ids-with notes=cz | tr '\n' ' '; echo
\! $EMUCTL clear-faults

-- the wrapper's functions are in the statement's trace: when the statement
-- fails afterwards, the abort warns what they changed
\! $EMUCTL reset demo
CREATE FOREIGN TABLE ov_interests (id bigint, email text, interests text[])
    SERVER copernica OPTIONS (database 'Customers');
UPDATE ov_interests SET interests = '{}' WHERE id <= 5;
\! $EMUCTL clear-log
\! psql -X -q -c "SELECT copernica_add_interest('ov_interests', g, 'news'), 1 / (g - 3) FROM generate_series(1, 5) g" 2>&1 | awk "$WARN_FIRST"
\! $EMUCTL log | grep -v GET
SELECT id, interests FROM ov_interests WHERE id <= 5 ORDER BY id;
\! psql -X -q -c "SELECT copernica_remove_interest('ov_interests', g, 'news'), 1 / (g - 2) FROM generate_series(1, 5) g" 2>&1 | awk "$WARN_FIRST"
SELECT id, interests FROM ov_interests WHERE id <= 5 ORDER BY id;
\! $EMUCTL profiles 1 --ids-with newsletter=no | tr '\n' ' '; echo
\! $EMUCTL clear-log
\! psql -X -q -c "SELECT copernica_unsubscribe('ov_interests', g), 1 / (g - 12) FROM generate_series(11, 13) g" 2>&1 | awk "$WARN_FIRST"
\! $EMUCTL log | grep -v GET
\! $EMUCTL profiles 1 --ids-with newsletter=no | tr '\n' ' '; echo
-- a function's own failure after earlier calls: they are listed
\! psql -X -q -c "SELECT copernica_add_interest('ov_interests', g, 'news') FROM unnest(ARRAY[4, 5, 999]) g" 2>&1 | awk "$WARN_FIRST"
-- a function's request cut off by statement_timeout: of unknown outcome
\! $EMUCTL slow 3000 1 --method POST --match profile/2/interests
\! PGOPTIONS='-c statement_timeout=1500' psql -X -q -c "SELECT copernica_add_interest('ov_interests', g, 'tennis') FROM generate_series(1, 3) g" 2>&1 | awk "$WARN_FIRST"
\! sleep 2; $EMUCTL clear-faults
SELECT id, interests FROM ov_interests WHERE id <= 3 ORDER BY id;
-- a statement that succeeds warns of nothing
SELECT copernica_remove_interest('ov_interests', g, 'tennis') FROM generate_series(1, 2) g;
DROP FOREIGN TABLE ov_interests;

-- a volatile function that runs queries sees the rows its statement changed
-- before it, in PostgreSQL's tables (ov_local shows it): an UPDATE that
-- calls one sends one request at a time, so that it reads each earlier
-- write done, not still in flight; PostgreSQL's own (random()) run no query
-- and keep the overlap
\! $EMUCTL reset demo
CREATE TABLE ov_local AS SELECT id, notes FROM ov_people WHERE id <= 8;
CREATE FUNCTION ov_marked_local() RETURNS bigint VOLATILE LANGUAGE sql AS
  $$ SELECT count(*) FROM ov_local WHERE notes LIKE 'mark%' $$;
CREATE FUNCTION ov_marked() RETURNS bigint VOLATILE LANGUAGE sql AS
  $$ SELECT count(*) FROM ov_people WHERE notes LIKE 'mark%' $$;
UPDATE ov_local SET notes = 'mark' || ov_marked_local();
SELECT string_agg(notes, ' ' ORDER BY id) FROM ov_local;
\! $EMUCTL latency 30
\! $EMUCTL clear-log
UPDATE ov_people SET notes = 'mark' || ov_marked() WHERE id <= 8;
\! $EMUCTL log --in-flight-at-end 16
SELECT string_agg(notes, ' ' ORDER BY id) FROM ov_people WHERE id <= 8;
-- in a subquery, and a DELETE's condition
\! $EMUCTL clear-log
UPDATE ov_people SET notes = (SELECT 'again' || ov_marked() WHERE ov_people.id > 0) WHERE id <= 4;
\! $EMUCTL log --in-flight-at-end 8
SELECT string_agg(notes, ' ' ORDER BY id) FROM ov_people WHERE id <= 8;
\! $EMUCTL clear-log
DELETE FROM ov_people WHERE id BETWEEN 5 AND 7 AND ov_marked() >= 0;
\! $EMUCTL log --in-flight-at-end 6
\! $EMUCTL clear-log
UPDATE ov_people SET notes = 'r' || (random() < 2)::text WHERE id BETWEEN 9 AND 16;
\! $EMUCTL log --in-flight-at-end 8
\! $EMUCTL latency 0
DROP FUNCTION ov_marked, ov_marked_local;
DROP TABLE ov_local;
