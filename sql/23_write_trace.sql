--
-- What a failed write statement says it changed in Copernica, which no
-- rollback undoes: the wrapper's own error lists it in its detail (also
-- when RETURNING's read-back fails); any other error (an expression, a
-- trigger, a local partition's constraint, statement_timeout) is followed
-- by a WARNING from the abort with the same sentences, once, only for the
-- failing statement, savepoints and functions included.  State from the
-- emulator, requests from its log.
--
\! $EMUCTL reset demo
-- The warning comes during the abort, after the error has been sent, and
-- psql prints the two in either order: statements that warn run in a psql
-- of their own (\! psql), whose messages go through $WARN_FIRST, which
-- puts the WARNING blocks first.
\setenv PGDATABASE :DBNAME
\setenv WARN_FIRST '/^WARNING:/ { w = 1 } /^(ERROR|NOTICE|CONTEXT|HINT):/ { w = 0 } { if (w) a = a $0 "\\n"; else b = b $0 "\\n" } END { printf "%s%s", a, b }'
CREATE FOREIGN TABLE tr_customers (id bigint, email text, notes text)
    SERVER copernica OPTIONS (database 'Customers');
CREATE VIEW tr_notes AS
    SELECT id, notes FROM tr_customers WHERE id BETWEEN 7 AND 10 ORDER BY id;
SELECT * FROM tr_notes;

-- UPDATE ... RETURNING whose read-back of profile 8 fails: 7 and 8 were
-- updated, and the error says so (no warning repeats it)
\! $EMUCTL answer 500 1 boom --match profile/8 --method GET --content-type text/html
\! $EMUCTL clear-log
UPDATE tr_customers SET notes = 'rb' WHERE id IN (7, 8, 9) RETURNING id, notes;
\! $EMUCTL log | grep -E '^(PUT|DELETE)'
SELECT * FROM tr_notes;
-- DELETE ... RETURNING whose read-back of profile 9 (before its DELETE)
-- fails: 8 was removed
\! $EMUCTL answer 500 1 boom --match profile/9 --method GET --content-type text/html
\! $EMUCTL clear-log
DELETE FROM tr_customers WHERE id IN (8, 9, 10) RETURNING id, email;
\! $EMUCTL log | grep -E '^(PUT|DELETE)'
SELECT * FROM tr_notes;
\! $EMUCTL clear-faults

-- an expression error in a later row, one request at a time: a warning
-- lists the two profiles updated
\! $EMUCTL reset demo
ALTER FOREIGN TABLE tr_customers OPTIONS (ADD max_concurrency '1');
\! psql -X -q -c "UPDATE tr_customers SET notes = 'div' WHERE id IN (7, 8, 9) AND 1/(id-9) IS NOT NULL" 2>&1 | awk "$WARN_FIRST"
SELECT * FROM tr_notes;
-- overlapped (up to 4 in flight): the requests sent before the error were
-- not answered yet: their outcome is unknown, and the warning says which
ALTER FOREIGN TABLE tr_customers OPTIONS (SET max_concurrency '4');
\! psql -X -q -c "UPDATE tr_customers SET notes = 'ovl' WHERE id IN (7, 8, 9) AND 1/(id-9) IS NOT NULL" 2>&1 | awk "$WARN_FIRST"
ALTER FOREIGN TABLE tr_customers OPTIONS (SET max_concurrency '1');

-- an AFTER ROW trigger raising (fired at the end of the statement): all
-- three updates are listed
\! $EMUCTL reset demo
CREATE FUNCTION tr_boom() RETURNS trigger LANGUAGE plpgsql AS
  'BEGIN IF NEW.id = 8 THEN RAISE EXCEPTION ''no 8''; END IF; RETURN NEW; END';
CREATE TRIGGER tr_boom AFTER UPDATE ON tr_customers FOR EACH ROW EXECUTE FUNCTION tr_boom();
\! psql -X -q -c "UPDATE tr_customers SET notes = 'tr' WHERE id IN (7, 8, 9)" 2>&1 | awk "$WARN_FIRST"
SELECT * FROM tr_notes;
DROP TRIGGER tr_boom ON tr_customers;

-- a DELETE stopped by statement_timeout in a later row
\! $EMUCTL reset demo
\! PGOPTIONS='-c statement_timeout=2s' psql -X -q -c "DELETE FROM tr_customers WHERE id IN (8, 9, 10) AND (id < 10 OR pg_sleep(30) IS NULL)" 2>&1 | awk "$WARN_FIRST"
SELECT * FROM tr_notes;

-- an INSERT routed to a Copernica partition, then a local partition's
-- constraint fails: the profile created is listed
\! $EMUCTL reset demo
CREATE TABLE tr_parts (id bigint, email text, notes text) PARTITION BY LIST (notes);
CREATE FOREIGN TABLE tr_part_remote PARTITION OF tr_parts FOR VALUES IN ('remote')
    SERVER copernica OPTIONS (database 'Customers', batch_size '1');
CREATE TABLE tr_part_local PARTITION OF tr_parts (CHECK (email LIKE '%@%')) FOR VALUES IN ('local');
\! psql -X -q -c "INSERT INTO tr_parts (email, notes) VALUES ('new@example.com', 'remote'), ('bad', 'local')" 2>&1 | awk "$WARN_FIRST"
SELECT id, email, notes FROM tr_customers WHERE email = 'new@example.com';
DROP TABLE tr_parts;

-- statements that changed nothing warn of nothing: an INSERT whose batch
-- fails before it is sent, an error before the first row is written
\! $EMUCTL clear-log
INSERT INTO tr_customers (email) SELECT 'b' || g || '@example.com'
  FROM generate_series(1, 3) g WHERE 1/(g-3) IS NOT NULL;
UPDATE tr_customers SET notes = 'none' WHERE id IN (7, 8) AND 1/(id-7) IS NOT NULL;
\! $EMUCTL log | grep -cE '^(POST|PUT|DELETE)'

-- a savepoint: the failing statement warns when its savepoint aborts, not
-- again at ROLLBACK TO; an earlier statement that succeeded is not listed
-- when a later one fails, nor at ROLLBACK
\! $EMUCTL reset demo
\! psql -X -q -c "BEGIN" -c "UPDATE tr_customers SET notes = 'ok' WHERE id = 7" -c "SAVEPOINT s" -c "UPDATE tr_customers SET notes = 'sp' WHERE id IN (8, 9, 10) AND 1/(id-10) IS NOT NULL" -c "ROLLBACK TO s" -c "UPDATE tr_customers SET notes = 'ok2' WHERE id = 10" -c "SELECT 1/0" -c "ROLLBACK" 2>&1 | awk "$WARN_FIRST"
SELECT * FROM tr_notes;

-- functions: what a nested statement changed is listed when the calling
-- statement fails later, once; a PL/pgSQL block that catches an error
-- goes on without a warning (21_own_rows loops so), but what was written
-- inside it is listed if the statement fails later
\! $EMUCTL reset demo
CREATE FUNCTION tr_touch(i bigint) RETURNS bigint LANGUAGE plpgsql AS
  'BEGIN UPDATE tr_customers SET notes = ''fn'' WHERE id = i; RETURN i; END';
\! psql -X -q -c "SELECT tr_touch(7) + tr_touch(8) + 1/tr_touch(0)" 2>&1 | awk "$WARN_FIRST"
\! psql -X -q -c "SELECT tr_touch(i) FROM (VALUES (9), (10), (0)) v(i) WHERE 1/i IS NOT NULL" 2>&1 | awk "$WARN_FIRST"
DO $$
BEGIN
  BEGIN
    PERFORM tr_touch(7);
    PERFORM 1/0;
  EXCEPTION WHEN division_by_zero THEN
    RAISE NOTICE 'caught';
  END;
  PERFORM tr_touch(8);
END $$;
CREATE FUNCTION tr_later() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  BEGIN
    PERFORM tr_touch(9);
    PERFORM 1/0;
  EXCEPTION WHEN division_by_zero THEN
    RAISE NOTICE 'caught';
  END;
  PERFORM tr_touch(10);
  RAISE EXCEPTION 'later';
END $$;
\! psql -X -q -c "SELECT tr_later()" 2>&1 | awk "$WARN_FIRST"
DROP FUNCTION tr_later();
SELECT tr_touch(7);
SELECT * FROM tr_notes;

-- the wrapper's own error lists the rows written before it: no warning
-- after it
\! $EMUCTL reset demo
\! $EMUCTL answer 500 1 boom --match profile/9 --method PUT --content-type text/html
UPDATE tr_customers SET notes = 'own' WHERE id IN (7, 8, 9);
\! $EMUCTL clear-faults
SELECT * FROM tr_notes;

DROP FUNCTION tr_touch(bigint);
DROP FUNCTION tr_boom();
DROP VIEW tr_notes;
DROP FOREIGN TABLE tr_customers;
