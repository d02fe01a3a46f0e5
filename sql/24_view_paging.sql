--
-- A view's profiles and a miniview's subprofiles are read by ID, as a
-- database's profiles (pager.c): stripes or keyset pages with
-- fields[]=id>last and orderby=id, never by offset, so a statement that
-- moves members out of the view, or deletes them, while it reads the view
-- reads each member once.  Requests are counted in the emulator's log, and
-- what was written is read back from the emulator's state.
--
\! $EMUCTL reset demo
SELECT copernica_forget_metadata();
CREATE FOREIGN TABLE vp_customers (id bigint, email text, city text)
    SERVER copernica OPTIONS (database 'Customers');
CREATE FOREIGN TABLE vp_amsterdam (id bigint, email text, city text)
    SERVER copernica OPTIONS (resource 'view_profiles', database 'Customers',
                              view 'Amsterdam', page_size '1');
CREATE FOREIGN TABLE vp_orders (id bigint, profile bigint, total float8, status text)
    SERVER copernica OPTIONS (database 'Customers', collection 'Orders');
CREATE FOREIGN TABLE vp_paid (id bigint, profile bigint, total float8, status text)
    SERVER copernica OPTIONS (resource 'miniview_subprofiles', database 'Customers',
                              collection 'Orders', miniview 'Paid orders', page_size '1');
SELECT array_agg(id ORDER BY id) AS members FROM vp_amsterdam;
SELECT count(*) AS paid FROM vp_paid;

-- the requests a scan of the view makes: by ID, none at an offset
EXPLAIN (VERBOSE, COSTS OFF) SELECT id FROM vp_amsterdam;
-- (eight pages of one: three cuts, start=N&limit=1, then four stripes;
-- offset paging made nine requests, start=0..8, and is what skipped rows)
\! $EMUCTL clear-log
SELECT count(*), count(DISTINCT id) FROM vp_amsterdam;
\! $EMUCTL log | grep '^GET /v2/view/2/profiles' | sed -E 's/&total=(true|false)//' | LC_ALL=C sort
\! $EMUCTL log | grep -c '^GET /v2/view/2/profiles'
SELECT explain_portable('ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF, BUFFERS OFF',
                        'SELECT id FROM vp_amsterdam');
-- a view that fits a page: one request, as before
ALTER FOREIGN TABLE vp_amsterdam OPTIONS (SET page_size '1000');
\! $EMUCTL clear-log
SELECT count(*) FROM vp_amsterdam;
\! $EMUCTL log | grep '^GET /v2/view/2/profiles'
ALTER FOREIGN TABLE vp_amsterdam OPTIONS (SET page_size '1');

-- (a) a PL/pgSQL loop over the view that moves each member out of it:
-- every member once
DO $$ DECLARE r record; n int := 0; BEGIN
  FOR r IN SELECT id FROM vp_amsterdam LOOP
    n := n + 1; UPDATE vp_customers SET city = 'Utrecht' WHERE id = r.id;
  END LOOP;
  RAISE NOTICE 'loop saw % members', n; END $$;
SELECT count(*) AS left_in_view FROM vp_amsterdam;
\! $EMUCTL log | grep -c '^PUT /v2/profile/'

-- (b) DELETE ... USING the view, as a nested loop: every member deleted
\! $EMUCTL reset demo
SELECT copernica_forget_metadata();
\! $EMUCTL profiles Customers
SET enable_hashjoin = off;
SET enable_mergejoin = off;
SET enable_material = off;
SELECT explain_portable('COSTS OFF',
    'DELETE FROM vp_customers c USING vp_amsterdam v WHERE c.id = v.id');
\! $EMUCTL clear-log
DELETE FROM vp_customers c USING vp_amsterdam v WHERE c.id = v.id;
\! $EMUCTL log | grep -c '^DELETE /v2/profile/'
\! $EMUCTL log | grep -c '^GET /v2/view/2/profiles'
\! $EMUCTL profiles Customers
SELECT count(*) AS left_in_view FROM vp_amsterdam;
SELECT count(*) AS amsterdam_left FROM vp_customers WHERE city = 'Amsterdam';

-- a miniview likewise: deleting its members while reading it
\! $EMUCTL subprofiles 1
\! $EMUCTL clear-log
DELETE FROM vp_orders o USING vp_paid p WHERE o.id = p.id;
\! $EMUCTL log | grep -c '^DELETE /v2/subprofile/'
\! $EMUCTL log | grep '^GET /v2/miniview/1/subprofiles' | grep -vc 'start=0&'
\! $EMUCTL subprofiles 1
SELECT count(*) AS left_in_miniview FROM vp_paid;
RESET enable_hashjoin;
RESET enable_mergejoin;
RESET enable_material;

-- (c) INSERT into the database from a scan of its view reads the members
-- there were when it began (the ID ceiling), and ends
\! $EMUCTL reset demo
SELECT copernica_forget_metadata();
ALTER FOREIGN TABLE vp_amsterdam OPTIONS (SET page_size '2');
SET statement_timeout = '20s';
EXPLAIN (COSTS OFF)
INSERT INTO vp_customers (email, city) SELECT email, city FROM vp_amsterdam;
\! $EMUCTL clear-log
INSERT INTO vp_customers (email, city) SELECT email, city FROM vp_amsterdam RETURNING id > 0 AS created;
\! $EMUCTL log | grep -c '^POST /v2/database/Customers/profiles'
-- (the ceiling, a cut and four pages; offset paging read nine pages, the
-- new members among them)
\! $EMUCTL log | grep '^GET /v2/view/2/profiles' | sed -E 's/&total=(true|false)//' | LC_ALL=C sort
SELECT count(*) AS members_now FROM vp_amsterdam;
RESET statement_timeout;

-- an answer out of ID order is an error, never a wrong answer
\! $EMUCTL reset demo
SELECT copernica_forget_metadata();
\! $EMUCTL ignore-param order 1 --match view/2/profiles
INSERT INTO vp_customers (email, city) SELECT email, city FROM vp_amsterdam;
\! $EMUCTL clear-faults
ALTER FOREIGN TABLE vp_amsterdam OPTIONS (SET page_size '1', ADD max_concurrency '1');
\! $EMUCTL ignore-param 'fields[]' 1 --match view/2/profiles
SELECT count(*) FROM vp_amsterdam;
\! $EMUCTL clear-faults
\! $EMUCTL profiles Customers

-- a view or miniview named, not numbered, is looked up once, and cached
-- like the field metadata: five statements make one views listing and one
-- miniviews listing; an ALTER of the name or copernica_forget_metadata()
-- looks it up anew
SELECT copernica_forget_metadata();
ALTER FOREIGN TABLE vp_amsterdam OPTIONS (SET page_size '1000');
ALTER FOREIGN TABLE vp_paid OPTIONS (SET page_size '1000');
\! $EMUCTL clear-log
DO $$ DECLARE n bigint; BEGIN FOR i IN 1..5 LOOP
    SELECT count(*) INTO n FROM vp_amsterdam WHERE id > i;
    SELECT count(*) INTO n FROM vp_paid WHERE id > i;
END LOOP; END $$;
\! $EMUCTL log | grep -c '^GET /v2/database/Customers/views'
\! $EMUCTL log | grep -c '^GET /v2/collection/1/miniviews'
\! $EMUCTL log | grep -c '^GET /v2/database/Customers/collections'
\! $EMUCTL clear-log
ALTER FOREIGN TABLE vp_amsterdam OPTIONS (SET view 'AMSTERDAM');
ALTER FOREIGN TABLE vp_paid OPTIONS (SET miniview 'PAID ORDERS');
SELECT count(*) FROM vp_amsterdam;
SELECT count(*) FROM vp_amsterdam;
SELECT count(*) FROM vp_paid;
SELECT count(*) FROM vp_paid;
\! $EMUCTL log | grep -c '^GET /v2/database/Customers/views'
\! $EMUCTL log | grep -c '^GET /v2/collection/1/miniviews'
\! $EMUCTL clear-log
SELECT copernica_forget_metadata();
SELECT count(*) FROM vp_amsterdam;
SELECT count(*) FROM vp_paid;
\! $EMUCTL log | grep -c '^GET /v2/database/Customers/views'
\! $EMUCTL log | grep -c '^GET /v2/collection/1/miniviews'
-- an unknown name is an error each time, and is not cached
ALTER FOREIGN TABLE vp_amsterdam OPTIONS (SET view 'Rotterdam');
\! $EMUCTL clear-log
SELECT count(*) FROM vp_amsterdam;
SELECT count(*) FROM vp_amsterdam;
\! $EMUCTL log | grep -c '^GET /v2/database/Customers/views'
ALTER FOREIGN TABLE vp_amsterdam OPTIONS (SET view 'Amsterdam');
