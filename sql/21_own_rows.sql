--
-- A scan does not read the rows its own transaction created after it began,
-- as PostgreSQL's tables never show a scan the rows inserted after its
-- snapshot: the IDs each INSERT gets back are remembered with the command
-- that made them, and a scan skips those of later commands.  Without that,
-- a statement that inserts into Copernica while it reads it (a trigger, a
-- PL/pgSQL loop, a cursor) would read its own new rows, and some never end
-- (statement_timeout guards the test).  Rows other clients create meanwhile
-- do show up.  POSTs and pages are counted in the emulator's log.
--
\! $EMUCTL reset generate 20 --shape sparse
CREATE FOREIGN TABLE ow_customers (id bigint, email text) SERVER copernica
  OPTIONS (database 'Customers', page_size '10', max_concurrency '2');
CREATE FOREIGN TABLE ow_orders (id bigint, profile bigint, total float8) SERVER copernica
  OPTIONS (database 'Customers', collection 'Orders', page_size '10');
SELECT count(*) AS profiles FROM ow_customers \gset
SELECT :profiles;
SET statement_timeout = '20s';
-- a BEFORE ROW trigger on a local table that a scan of Copernica feeds
-- inserts a profile per row: the scan reads only the 20 there were
CREATE TABLE ow_local (id bigint, email text);
CREATE FUNCTION ow_copy() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO ow_customers (email) VALUES ('copy-' || NEW.email);
  RETURN NEW;
END $$;
CREATE TRIGGER ow_before BEFORE INSERT ON ow_local
  FOR EACH ROW EXECUTE FUNCTION ow_copy();
\! $EMUCTL clear-log
INSERT INTO ow_local SELECT id, email FROM ow_customers;
\! $EMUCTL log | grep -c '^POST /v2/database/Customers/profiles'
-- its pages: the 20 rows and the 20 new ones at most (read, then skipped)
\! $EMUCTL log | grep -c '^GET /v2/database/Customers/profiles?start='
SELECT count(*) AS copied, count(*) FILTER (WHERE email LIKE 'copy-%') AS copies_read
  FROM ow_local;
\! $EMUCTL profiles Customers
DROP TRIGGER ow_before ON ow_local;
-- an AFTER ROW trigger fires once the scan has ended: the same outcome
TRUNCATE ow_local;
CREATE TRIGGER ow_after AFTER INSERT ON ow_local
  FOR EACH ROW EXECUTE FUNCTION ow_copy();
\! $EMUCTL clear-log
INSERT INTO ow_local SELECT id, email FROM ow_customers WHERE email NOT LIKE 'copy-%';
\! $EMUCTL log | grep -c '^POST /v2/database/Customers/profiles'
SELECT count(*) AS copied FROM ow_local;
DROP TRIGGER ow_after ON ow_local;
-- a rescan (each outer row of a join) sees what the statement's snapshot
-- sees: not the rows the trigger made during the first run
TRUNCATE ow_local;
CREATE TRIGGER ow_before BEFORE INSERT ON ow_local
  FOR EACH ROW EXECUTE FUNCTION ow_copy();
\! $EMUCTL reset generate 20 --shape sparse
\! $EMUCTL clear-log
INSERT INTO ow_local
  SELECT c.id, c.email FROM generate_series(1, 2) g,
    LATERAL (SELECT id, email FROM ow_customers WHERE id > g) c;
SELECT count(*) AS copied, count(DISTINCT id) AS distinct_ids FROM ow_local;
\! $EMUCTL log | grep -c '^POST /v2/database/Customers/profiles'
DROP TRIGGER ow_before ON ow_local;
-- a PL/pgSQL loop over the profiles that inserts one per row, each INSERT
-- its own statement: the loop's cursor reads only the rows there were
\! $EMUCTL reset generate 20 --shape sparse
\! $EMUCTL clear-log
DO $$
DECLARE
  r record;
  n int := 0;
BEGIN
  FOR r IN SELECT id, email FROM ow_customers LOOP
    INSERT INTO ow_customers (email) VALUES ('loop-' || r.email);
    n := n + 1;
  END LOOP;
  RAISE NOTICE 'loop read % rows', n;
END $$;
\! $EMUCTL log | grep -c '^POST /v2/database/Customers/profiles'
\! $EMUCTL log | grep -c '^GET /v2/database/Customers/profiles?start='
-- the next statement sees them all
SELECT count(*) AS profiles, count(*) FILTER (WHERE email LIKE 'loop-%') AS made
  FROM ow_customers;
-- a cursor declared before an INSERT does not read what the INSERT made;
-- a profile another client creates meanwhile it does read
\! $EMUCTL reset generate 20 --shape sparse
BEGIN;
DECLARE c CURSOR FOR SELECT email FROM ow_customers;
FETCH 5 FROM c;
INSERT INTO ow_customers (email) VALUES ('mine-1@example.com');
INSERT INTO ow_customers (email) VALUES ('mine-2@example.com');
\! python3 -c "import os,urllib.request as r; u=os.environ['COPERNICA_EMULATOR_URL'].rstrip('/')+'/database/Customers/profiles?access_token='+os.environ['COPERNICA_TOKEN']; x=r.urlopen(r.Request(u, b'{\"fields\":{\"email\":\"other@example.com\"}}', {'Content-Type':'application/json'}, method='POST')); print('created by another client')"
FETCH ALL FROM c;
COMMIT;
-- a pushed LIMIT reads as many more rows as it drops: the three largest
-- IDs the cursor's snapshot sees, not the one left after the two new ones
BEGIN;
DECLARE d CURSOR FOR SELECT email FROM ow_customers ORDER BY id DESC LIMIT 3;
INSERT INTO ow_customers (email) VALUES ('mine-4@example.com'), ('mine-5@example.com');
\! $EMUCTL clear-log
FETCH ALL FROM d;
\! $EMUCTL log
COMMIT;
-- the rest of a cursor of emails: how many, and how many like own
CREATE FUNCTION ow_rest(c refcursor, own text, OUT rest int, OUT own_rows int)
LANGUAGE plpgsql AS $$
DECLARE
  e text;
BEGIN
  rest := 0;
  own_rows := 0;
  LOOP
    FETCH c INTO e;
    EXIT WHEN NOT FOUND;
    rest := rest + 1;
    IF e LIKE own THEN
      own_rows := own_rows + 1;
    END IF;
  END LOOP;
END $$;
-- a savepoint rolled back: its profiles stay in Copernica, and the cursor
-- that began before them still does not read them; a later statement does
\! $EMUCTL reset generate 20 --shape sparse
BEGIN;
DECLARE c CURSOR FOR SELECT email FROM ow_customers;
MOVE 5 FROM c;
SAVEPOINT s;
\! $EMUCTL clear-log
INSERT INTO ow_customers (email) VALUES ('undone-1@example.com'), ('undone-2@example.com');
ROLLBACK TO SAVEPOINT s;
\! $EMUCTL log | grep -c '^POST /v2/database/Customers/profiles'
SELECT * FROM ow_rest('c', 'undone-%');
SELECT count(*) AS undone FROM ow_customers WHERE email LIKE 'undone-%';
COMMIT;
-- rows COPY creates likewise
\! $EMUCTL reset generate 20 --shape sparse
BEGIN;
DECLARE c CURSOR FOR SELECT email FROM ow_customers;
MOVE 5 FROM c;
\! $EMUCTL clear-log
COPY ow_customers (email) FROM STDIN;
copied-1@example.com
copied-2@example.com
\.
\! $EMUCTL log | grep -c '^POST /v2/database/Customers/profiles'
SELECT * FROM ow_rest('c', 'copied-%');
SELECT count(*) AS copied FROM ow_customers WHERE email LIKE 'copied-%';
COMMIT;
-- likewise a loop whose INSERTs are in subtransactions that fail
\! $EMUCTL reset generate 20 --shape sparse
\! $EMUCTL clear-log
DO $$
DECLARE
  r record;
  n int := 0;
BEGIN
  FOR r IN SELECT id, email FROM ow_customers LOOP
    BEGIN
      INSERT INTO ow_customers (email) VALUES ('failed-' || r.email);
      RAISE EXCEPTION 'undo';
    EXCEPTION WHEN raise_exception THEN
      n := n + 1;
    END;
  END LOOP;
  RAISE NOTICE 'loop read % rows', n;
END $$;
\! $EMUCTL log | grep -c '^POST /v2/database/Customers/profiles'
SELECT count(*) AS failed FROM ow_customers WHERE email LIKE 'failed-%';
-- subprofiles: a loop over a collection that adds one per row
\! $EMUCTL reset generate 20 --shape sparse
SELECT count(*) AS orders FROM ow_orders \gset
\! $EMUCTL clear-log
DO $$
DECLARE
  r record;
  n int := 0;
BEGIN
  FOR r IN SELECT profile, total FROM ow_orders LOOP
    INSERT INTO ow_orders (profile, total) VALUES (r.profile, r.total + 1000);
    n := n + 1;
  END LOOP;
  RAISE NOTICE 'loop read % rows', n;
END $$;
SELECT count(*) = :orders AS one_post_per_order FROM ow_orders WHERE total >= 1000;
SELECT count(*) = 2 * :orders AS doubled FROM ow_orders;
-- a pushed count(*) fetched after the transaction created rows counts
-- none of them (nor others' made since: the rows below the first new ID)
\! $EMUCTL reset generate 20 --shape sparse
SELECT line FROM explain_portable('COSTS OFF', 'SELECT count(*) FROM ow_customers') AS line;
BEGIN;
DECLARE n CURSOR FOR SELECT count(*) FROM ow_customers;
INSERT INTO ow_customers (email) VALUES ('mine-3@example.com');
\! $EMUCTL clear-log
FETCH ALL FROM n;
\! $EMUCTL log
SELECT count(*) FROM ow_customers;
COMMIT;
-- an INSERT fed by its own table keeps its ID ceiling (one request), and
-- reads its 20 rows
\! $EMUCTL clear-log
INSERT INTO ow_customers (email) SELECT 'again-' || email FROM ow_customers WHERE email NOT LIKE 'mine-%';
\! $EMUCTL log | grep -c 'orderby=id&order=desc'
\! $EMUCTL log | grep -c '^POST /v2/database/Customers/profiles'
RESET statement_timeout;
DROP FUNCTION ow_copy() CASCADE;
DROP FUNCTION ow_rest(refcursor, text);
DROP TABLE ow_local;
DROP FOREIGN TABLE ow_customers, ow_orders;
