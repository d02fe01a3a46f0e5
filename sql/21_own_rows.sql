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
-- IDs with gaps: other clients create profiles between this transaction's
-- own (emuctl id-gaps: after each own profile, another client's).  The
-- registry keeps runs of consecutive own IDs: a cursor declared before
-- skips the own rows, and reads the others' between them
\! $EMUCTL reset generate 20 --shape sparse
\! $EMUCTL id-gaps 1 1 --into Customers
BEGIN;
DECLARE c CURSOR FOR SELECT email FROM ow_customers;
MOVE 5 FROM c;
COPY ow_customers (email) FROM STDIN;
gap-1@example.com
gap-2@example.com
gap-3@example.com
gap-4@example.com
\.
INSERT INTO ow_customers (email) VALUES ('gap-5@example.com'), ('gap-6@example.com');
\! $EMUCTL id-gaps 0 0
SELECT * FROM ow_rest('c', 'gap-%');
-- no own ID follows another: each is followed by another client's
SELECT count(*) AS own,
       count(*) FILTER (WHERE (SELECT o.email FROM ow_customers o WHERE o.id = g.id + 1) = '') AS other_next
  FROM ow_customers g WHERE email LIKE 'gap-%';
COMMIT;
-- a pushed LIMIT reads as many more rows as it drops, with others' rows
-- between the own ones; a pushed count stops below the first own ID
BEGIN;
DECLARE d CURSOR FOR SELECT id, email FROM ow_customers ORDER BY id DESC LIMIT 3;
DECLARE n CURSOR FOR SELECT count(*) FROM ow_customers;
\! $EMUCTL id-gaps 1 1 --into Customers
INSERT INTO ow_customers (email) VALUES ('gap-7@example.com'), ('gap-8@example.com'), ('gap-9@example.com');
\! $EMUCTL id-gaps 0 0
\! $EMUCTL clear-log
FETCH ALL FROM d;
\! $EMUCTL log
FETCH ALL FROM n;
COMMIT;
-- IDs out of order: the first POST of a statement to arrive (its first or
-- second row, two are in flight) is handled last (emuctl slow --before), so
-- its row gets the largest ID, after those of the rows sent after it; in
-- the second statement another client's profiles come between.  A cursor
-- declared before skips them all, the next statement reads them all
\! $EMUCTL reset generate 20 --shape sparse
BEGIN;
DECLARE c CURSOR FOR SELECT email FROM ow_customers;
MOVE 5 FROM c;
\! $EMUCTL slow 1000 1 --method POST --before
INSERT INTO ow_customers (email) VALUES ('late-1@example.com'), ('late-2@example.com'),
  ('late-3@example.com'), ('late-4@example.com');
\! $EMUCTL slow 1000 1 --method POST --before
\! $EMUCTL id-gaps 2 1 --into Customers
INSERT INTO ow_customers (email) VALUES ('late-5@example.com'), ('late-6@example.com'),
  ('late-7@example.com'), ('late-8@example.com');
\! $EMUCTL id-gaps 0 0
SELECT email ~ '^late-[1-4]@' AS first_statement,
       array_agg(id ORDER BY email) <> array_agg(id ORDER BY id) AS ids_out_of_row_order
  FROM ow_customers WHERE email LIKE 'late-%' GROUP BY 1 ORDER BY 1 DESC;
SELECT * FROM ow_rest('c', 'late-%');
SELECT count(*) FILTER (WHERE email LIKE 'late-%') AS own, count(*) FILTER (WHERE email = '') AS others
  FROM ow_customers;
COMMIT;
-- rows across savepoints: each cursor skips the rows of the commands after
-- its own, whether their savepoint was rolled back or released, with other
-- clients' profiles between them (all cursors read those)
\! $EMUCTL reset generate 20 --shape sparse
\! $EMUCTL id-gaps 2 1 --into Customers
BEGIN;
DECLARE c CURSOR FOR SELECT email FROM ow_customers;
INSERT INTO ow_customers (email) VALUES ('sp-a-1@example.com'), ('sp-a-2@example.com'), ('sp-a-3@example.com');
DECLARE d CURSOR FOR SELECT email FROM ow_customers;
SAVEPOINT s1;
COPY ow_customers (email) FROM STDIN;
sp-b-1@example.com
sp-b-2@example.com
sp-b-3@example.com
\.
ROLLBACK TO SAVEPOINT s1;
DECLARE e CURSOR FOR SELECT email FROM ow_customers;
SAVEPOINT s2;
INSERT INTO ow_customers (email) VALUES ('sp-c-1@example.com'), ('sp-c-2@example.com'), ('sp-c-3@example.com');
RELEASE SAVEPOINT s2;
\! $EMUCTL id-gaps 0 0
SELECT * FROM ow_rest('c', 'sp-%');
SELECT * FROM ow_rest('d', 'sp-%');
SELECT * FROM ow_rest('e', 'sp-%');
SELECT count(*) FILTER (WHERE email LIKE 'sp-%') AS own, count(*) FILTER (WHERE email = '') AS others
  FROM ow_customers;
COMMIT;
-- the registry keeps runs of consecutive IDs, not one entry per row: after
-- a COPY of 1,000 rows with consecutive IDs its memory context stays at
-- its first block; with another client's profile after each own one, it
-- holds 1,000 runs of 16 bytes (a hash entry per row took about 84)
\! $EMUCTL reset empty
BEGIN;
COPY ow_customers (email) FROM PROGRAM 'seq -f "bulk-%g@example.com" 1000';
SELECT sum(total_bytes) <= 8192 AS small FROM pg_backend_memory_contexts
 WHERE 'copernica_fdw own rows' IN (name, ident);
COMMIT;
\! $EMUCTL id-gaps 1 1 --into Customers
BEGIN;
COPY ow_customers (email) FROM PROGRAM 'seq -f "bulk-%g@example.com" 1000';
SELECT sum(total_bytes) BETWEEN 16000 AND 40000 AS runs_only FROM pg_backend_memory_contexts
 WHERE 'copernica_fdw own rows' IN (name, ident);
COMMIT;
\! $EMUCTL id-gaps 0 0
\! $EMUCTL profiles Customers
-- IDs are handed out per platform: rows created through one endpoint hide
-- nothing from another (a second emulator, its own IDs), while two servers
-- on one endpoint (its url in another form) share them.  The second
-- emulator's profile with the highest ID gets an ID the first one's INSERT
-- below hands out
\! $EMUCTL reset generate 20 --shape sparse
\set ow_dir `mktemp -d /tmp/ow_second.XXXXXX`
\setenv OW_DIR :ow_dir
\! (${EMUCTL%emuctl.py}copernica_emulator.py --port 0 --port-file $OW_DIR/port --dataset demo --quiet >/dev/null 2>&1 </dev/null & echo $! > $OW_DIR/pid)
\! for i in $(seq 1 300); do [ -s $OW_DIR/port ] && $EMUCTL --url http://127.0.0.1:$(cat $OW_DIR/port) state >/dev/null 2>&1 && break; sleep 0.1; done
\set ow_url2 `echo http://127.0.0.1:$(cat $OW_DIR/port)/v2`
\set ow_next `$EMUCTL state | python3 -c "import json, sys; print(json.load(sys.stdin)['counters']['profile'])"`
CREATE SERVER ow_second FOREIGN DATA WRAPPER copernica_fdw OPTIONS (url :'ow_url2');
CREATE USER MAPPING FOR CURRENT_USER SERVER ow_second OPTIONS (access_token 'test-token');
CREATE FOREIGN TABLE ow_b (id bigint, email text) SERVER ow_second
  OPTIONS (database 'Customers', page_size '2');
SELECT id AS ow_b_id, email AS ow_b_email FROM ow_b ORDER BY id DESC LIMIT 1 \gset
SELECT :ow_b_id < :ow_next AS below_first_new_id;
\setenv OW_B_ID :ow_b_id
\setenv OW_NEXT :ow_next
\! $EMUCTL --url http://127.0.0.1:$(cat $OW_DIR/port) renumber $OW_B_ID $((OW_NEXT + 1))
SELECT count(*) AS ow_b_rows FROM ow_b \gset
BEGIN;
DECLARE c CURSOR FOR SELECT email FROM ow_b;
DECLARE n CURSOR FOR SELECT count(*) FROM ow_b;
MOVE 1 FROM c;
INSERT INTO ow_customers (email) VALUES ('ep-1@example.com'), ('ep-2@example.com'), ('ep-3@example.com');
SELECT array_agg(id ORDER BY id) = ARRAY[:ow_next, :ow_next + 1, :ow_next + 2]::bigint[] AS ids_shared_with_b
  FROM ow_customers WHERE email LIKE 'ep-%';
-- the cursor over the second endpoint reads its renumbered profile, and
-- its count asks for no ID bound
SELECT rest + 1 = :ow_b_rows AS all_read, own_rows AS renumbered_read FROM ow_rest('c', :'ow_b_email');
\! $EMUCTL --url http://127.0.0.1:$(cat $OW_DIR/port) clear-log
SELECT :ow_b_rows AS counted_before;
FETCH ALL FROM n;
\! $EMUCTL --url http://127.0.0.1:$(cat $OW_DIR/port) log | grep -c 'id%3C'
COMMIT;
-- a server on the first endpoint, its url in another form, hides them
\set ow_url1 `echo "$COPERNICA_EMULATOR_URL/" | sed 's/^http:/HTTP:/'`
CREATE SERVER ow_same FOREIGN DATA WRAPPER copernica_fdw
  OPTIONS (url :'ow_url1');
CREATE USER MAPPING FOR CURRENT_USER SERVER ow_same OPTIONS (access_token 'test-token');
CREATE FOREIGN TABLE ow_same_customers (id bigint, email text) SERVER ow_same
  OPTIONS (database 'Customers', page_size '10');
BEGIN;
DECLARE c CURSOR FOR SELECT email FROM ow_same_customers;
MOVE 1 FROM c;
INSERT INTO ow_customers (email) VALUES ('ep-4@example.com'), ('ep-5@example.com');
SELECT * FROM ow_rest('c', 'ep-%');
COMMIT;
\! kill $(cat $OW_DIR/pid); rm -rf $OW_DIR
DROP SERVER ow_second, ow_same CASCADE;
-- ORDER BY another column with a LIMIT of at most page_size is pushed as
-- one request; fetched after the transaction's own INSERT, the rows it
-- drops must not push the rows wanted past that request: it asks for the
-- IDs below the first own one instead (was: "take more than one request").
-- The answer is that of a local copy taken before
\! $EMUCTL reset generate 20 --shape sparse
CREATE FOREIGN TABLE ow_pm (id bigint, email text, modified timestamp) SERVER copernica
  OPTIONS (database 'Customers', page_size '3');
CREATE TEMP TABLE ow_pm_local AS SELECT id, modified FROM ow_pm;
CREATE FUNCTION ow_ids(c refcursor) RETURNS bigint[] LANGUAGE plpgsql AS $$
DECLARE
  r record;
  ids bigint[] := '{}';
BEGIN
  LOOP
    FETCH c INTO r;
    EXIT WHEN NOT FOUND;
    ids := ids || r.id;
  END LOOP;
  RETURN ids;
END $$;
SELECT line FROM explain_portable('VERBOSE, COSTS OFF',
  'SELECT id, modified FROM ow_pm ORDER BY modified DESC LIMIT 3') AS line;
BEGIN;
DECLARE c CURSOR FOR SELECT id, modified FROM ow_pm ORDER BY modified DESC LIMIT 3;
INSERT INTO ow_pm (email) VALUES ('pm-1@example.com'), ('pm-2@example.com');
\! $EMUCTL clear-log
SELECT ow_ids('c') = (SELECT array_agg(id ORDER BY modified DESC)
                        FROM (SELECT id, modified FROM ow_pm_local ORDER BY modified DESC LIMIT 3) l)
  AS top_3_before_insert;
\! $EMUCTL log | sed 's/id%3C[0-9]*/id%3C<first own ID>/'
-- a statement after the INSERT reads its rows
SELECT count(*) AS own_read FROM ow_pm WHERE email LIKE 'pm-%';
COMMIT;
DROP FUNCTION ow_ids(refcursor);
DROP FOREIGN TABLE ow_pm;
RESET statement_timeout;
DROP FUNCTION ow_copy() CASCADE;
DROP FUNCTION ow_rest(refcursor, text);
DROP TABLE ow_local;
DROP FOREIGN TABLE ow_customers, ow_orders;
