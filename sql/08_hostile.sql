--
-- Hostile server owners and hostile answers: the security promises hold
-- when an unprivileged role owns the server, and when Copernica (or what
-- pretends to be it) answers with anything at all.
--
\getenv emu_url COPERNICA_EMULATOR_URL
\! $EMUCTL reset demo
SET timezone = 'UTC';
SET datestyle = 'ISO, YMD';
CREATE ROLE regress_hostile_owner;
GRANT USAGE ON FOREIGN DATA WRAPPER copernica_fdw TO regress_hostile_owner;

-- (1) A server's url is the base of every request URL, which goes on with
-- "/" path "?" query "&access_token=" token.  An unprivileged owner may only
-- name Copernica's own base URLs; nothing may take over the path, the query
-- or the host, or drop the token.
SET ROLE regress_hostile_owner;
CREATE SERVER regress_h_own FOREIGN DATA WRAPPER copernica_fdw;
ALTER SERVER regress_h_own OPTIONS (ADD url 'https://api.copernica.com/v2/database/42?x=');
ALTER SERVER regress_h_own OPTIONS (ADD url 'https://api.copernica.com/v2#');
ALTER SERVER regress_h_own OPTIONS (ADD url 'https://api.copernica.com/v2/database/42');
ALTER SERVER regress_h_own OPTIONS (ADD url 'https://api.copernica.com/v2//');
ALTER SERVER regress_h_own OPTIONS (ADD url 'https://api.copernica.com/v2/..');
ALTER SERVER regress_h_own OPTIONS (ADD url 'https://api.copernica.com/v1');
ALTER SERVER regress_h_own OPTIONS (ADD url 'https://api.copernica.com/');
ALTER SERVER regress_h_own OPTIONS (ADD url 'https://api.copernica.com@evil.example.com/v2');
ALTER SERVER regress_h_own OPTIONS (ADD url 'https://api.copernica.com.evil.example.com/v2');
ALTER SERVER regress_h_own OPTIONS (ADD url 'https://api.copernica.com:8443/v2');
ALTER SERVER regress_h_own OPTIONS (ADD url 'https://api.copernica.com/v2%2F..%2Fx');
ALTER SERVER regress_h_own OPTIONS (ADD url 'https://api.copernica.com/v2\x');
ALTER SERVER regress_h_own OPTIONS (ADD url 'https://api.copernica.com/v2 x');
ALTER SERVER regress_h_own OPTIONS (ADD url E'https://api.copernica.com/v2\n');
ALTER SERVER regress_h_own OPTIONS (ADD url 'http://api.copernica.com/v2');
-- the exact base URLs, with or without one trailing slash, any case of host
ALTER SERVER regress_h_own OPTIONS (ADD url 'https://api.copernica.com/v2/');
ALTER SERVER regress_h_own OPTIONS (SET url 'https://REST.Copernica.com/v2');
SELECT srvoptions FROM pg_foreign_server WHERE srvname = 'regress_h_own';
DROP SERVER regress_h_own;
RESET ROLE;
-- a superuser may name another host and path, but the same characters are
-- refused, and there must be a host
CREATE SERVER regress_h_su FOREIGN DATA WRAPPER copernica_fdw;
ALTER SERVER regress_h_su OPTIONS (ADD url 'http://127.0.0.1:1/v2?x=');
ALTER SERVER regress_h_su OPTIONS (ADD url 'http://127.0.0.1:1/v2#');
ALTER SERVER regress_h_su OPTIONS (ADD url 'http://user@127.0.0.1:1/v2');
ALTER SERVER regress_h_su OPTIONS (ADD url 'http:///v2');
ALTER SERVER regress_h_su OPTIONS (ADD url 'http://');
ALTER SERVER regress_h_su OPTIONS (ADD url 'ftp://127.0.0.1/v2');
ALTER SERVER regress_h_su OPTIONS (ADD url 'http://127.0.0.1:1/a%20b');
ALTER SERVER regress_h_su OPTIONS (ADD url 'http://127.0.0.1:1/some/path/v2/');
SELECT srvoptions FROM pg_foreign_server WHERE srvname = 'regress_h_su';
DROP SERVER regress_h_su;

-- (2) Remote text reaches messages only through the redaction: a server
-- that echoes the token, in any spelling, in anything that becomes part of
-- an error finds *** there instead.
\getenv token COPERNICA_TOKEN
CREATE SERVER regress_h FOREIGN DATA WRAPPER copernica_fdw
    OPTIONS (url :'emu_url', max_retries '0');
CREATE USER MAPPING FOR CURRENT_USER SERVER regress_h OPTIONS (access_token :'token');
-- a token with characters that URLs and JSON escape (the emulator refuses
-- it, so only canned answers reach this server's tables)
CREATE SERVER regress_h2 FOREIGN DATA WRAPPER copernica_fdw
    OPTIONS (url :'emu_url', max_retries '0');
CREATE USER MAPPING FOR CURRENT_USER SERVER regress_h2
    OPTIONS (access_token 'regress/hostile+tok en');
CREATE TABLE h_tokens (token text);
INSERT INTO h_tokens VALUES (:'token'), ('regress/hostile+tok en'),
    ('regress\/hostile+tok en'), ('regress%2Fhostile%2Btok%20en'),
    ('\u0072\u0065\u0067'), ('regress\/'), ('SOMETHINGELSE');
CREATE TABLE h_captured (what text, txt text);
CREATE FUNCTION h_error(what text, q text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    msg text; det text; hnt text; ctx text;
BEGIN
    EXECUTE q;
    RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS msg = MESSAGE_TEXT, det = PG_EXCEPTION_DETAIL,
                            hnt = PG_EXCEPTION_HINT, ctx = PG_EXCEPTION_CONTEXT;
    INSERT INTO h_captured VALUES (what, concat_ws(E'\n', msg, det, hnt, ctx));
    -- message and detail; the context names the request, which varies
    RETURN concat_ws(E'\n', msg, det);
END $$;
CREATE FOREIGN TABLE h_customers (id bigint, email text, age integer)
    SERVER regress_h OPTIONS (database 'Customers');
CREATE FOREIGN TABLE h2_databases (id bigint, name text)
    SERVER regress_h2 OPTIONS (resource 'databases');
CREATE FOREIGN TABLE h2_databases_int (id bigint, name integer)
    SERVER regress_h2 OPTIONS (resource 'databases');
SELECT count(*) FROM h_customers;   -- caches the metadata: no planning requests below
-- invalid JSON that quotes the token
\! $EMUCTL answer 200 1 '{"start":0 {token}' --match /profiles
SELECT h_error('json', 'SELECT * FROM h_customers');
\! $EMUCTL answer 200 1 '{"start":0 {token_url}' --match /profiles
SELECT h_error('json, url', 'SELECT * FROM h_customers');
-- a value that an input function quotes when it rejects it
\! $EMUCTL answer 200 1 '{"start":0,"limit":1000,"count":1,"total":1,"data":[{"ID":"1","fields":{"email":"a@b","age":"{token}"}}]}' --match /profiles
SELECT h_error('value', 'SELECT * FROM h_customers');
-- ANALYZE reads its pages through the scan's page loop, checks included: a
-- page from another offset than the one asked for is refused
\! $EMUCTL answer 200 1 '{"start":5,"limit":1000,"count":1,"total":1,"data":[{"ID":"1","fields":{"email":"a@b","age":"1"}}]}' --match /profiles
SELECT h_error('analyze', 'ANALYZE h_customers');
\! $EMUCTL answer 200 9 '{"start":0,"limit":1000,"count":1,"data":[{"ID":"1","name":"{token_u}"}]}'
SELECT h_error('value, \u', 'SELECT * FROM h2_databases_int');
\! $EMUCTL clear-faults
-- an error page that echoes the token JSON-escaped, \u-escaped, URL-escaped
\! $EMUCTL answer 500 1 '{"error":"no access for {token_json}"}'
SELECT h_error('500, json', 'SELECT * FROM h2_databases');
\! $EMUCTL answer 500 1 '{"error":"no access for {token_u}, or {token_url}"}'
SELECT h_error('500, \u', 'SELECT * FROM h2_databases');
\! $EMUCTL answer 400 1 '{"error":{"message":"Invalid access token {token_json}"}}'
SELECT h_error('400', 'SELECT * FROM h2_databases');
-- any access_token= value, whoever's it is
\! $EMUCTL answer 500 1 '<a href="https://x/v2/identity?access_token=SOMETHINGELSE&x=1">' --content-type text/html
SELECT h_error('access_token=', 'SELECT * FROM h2_databases');
-- a token that the excerpt's cut would leave half of (the answer is longer
-- than an excerpt, and the token begins just before the cut)
SELECT format('\! $EMUCTL answer 503 1 ''%s{token_json}%s'' --content-type text/plain',
              repeat('x', 190), repeat('y', 40)) AS cmd \gset
:cmd
SELECT h_error('cut', 'SELECT * FROM h2_databases');
SELECT format('\! $EMUCTL answer 503 1 ''%sregress\/hostile+t%s'' --content-type text/plain',
              repeat('x', 190), repeat('y', 40)) AS cmd \gset
:cmd
SELECT h_error('cut, partial', 'SELECT * FROM h2_databases');
-- names in a listing that an error lists
CREATE FOREIGN TABLE h_orders (id bigint)
    SERVER regress_h OPTIONS (database 'Customers', collection 'Nope');
\! $EMUCTL answer 200 1 '{"start":0,"limit":1000,"count":2,"data":[{"ID":"1","name":"Orders"},{"ID":"2","name":"{token}"}]}' --match /collections
SELECT h_error('collections', 'SELECT * FROM h_orders');
CREATE SCHEMA h_import;
\! $EMUCTL answer 200 1 '{"start":0,"limit":1000,"count":1,"data":[{"ID":"1","name":"x {token_url}"}]}' --match /databases
SELECT h_error('import', 'IMPORT FOREIGN SCHEMA "Nope" FROM SERVER regress_h INTO h_import');
-- a list of names in a message is bounded: the first 20 and how many more
-- (a full page of made-up collections, then of made-up fields) ...
\! $EMUCTL full-pages 1
SELECT h_error('many collections', 'SELECT * FROM h_orders');
CREATE FOREIGN TABLE h_nofield (id bigint, nosuchfield text)
    SERVER regress_h OPTIONS (database 'Newsletter');
SELECT copernica_forget_metadata();
\! $EMUCTL full-pages 1
SELECT h_error('many fields', 'SELECT nosuchfield FROM h_nofield');
-- ... and each name is cut, never inside a token's beginning
-- (the second name holds the token's first 6 characters where the cut
-- falls, after 60 others)
SELECT format('\! $EMUCTL answer 200 1 ''{"start":0,"limit":1000,"count":3,"data":[{"ID":"1","name":"%s"},{"ID":"2","name":"%s%szzzz"},{"ID":"3","name":"%s{token}"}]}'' --match /collections',
              repeat('n', 100), repeat('m', 60), left(:'token', 6), repeat('k', 10)) AS cmd \gset
:cmd
SELECT h_error('long names', 'SELECT * FROM h_orders');
\! $EMUCTL clear-faults
-- every error was captured, and none shows a token in any spelling
SELECT count(*) AS captured,
       count(*) FILTER (WHERE EXISTS (SELECT FROM h_tokens t
                                       WHERE position(t.token IN c.txt) > 0)) AS showing_a_token
  FROM h_captured c;
SELECT what, txt FROM h_captured c
 WHERE EXISTS (SELECT FROM h_tokens t WHERE position(t.token IN c.txt) > 0);
-- (the check would find one)
SELECT count(*) FROM h_tokens t WHERE position(t.token IN 'x regress\/hostile+tok en') > 0;
DROP SCHEMA h_import CASCADE;

-- (3) Planning owns the metadata it uses.  A function that planning
-- evaluates (a STABLE one, to estimate a condition) may forget the cache
-- and fill it again with another table's metadata; the plan is still the
-- one for this table, and the rows are all there.
CREATE FOREIGN TABLE h_newsletter (id bigint, email text)
    SERVER regress_h OPTIONS (database 'Newsletter');
CREATE FUNCTION pg_temp.h_forget() RETURNS text STABLE LANGUAGE plpgsql AS $$
BEGIN
    PERFORM copernica_forget_metadata();
    EXECUTE 'SELECT count(*) FROM h_newsletter';   -- planned anew each time
    RETURN 'nobody@example.com';
END $$;
SELECT count(*), sum(id) FROM h_customers WHERE email <> pg_temp.h_forget();
SELECT count(*), sum(id) FROM h_customers WHERE email <> pg_temp.h_forget() AND id > 20;
-- the requests of a scan follow from the plan's metadata (its size and ID
-- bounds), so they are the same with and without the forgetting function
CREATE FOREIGN TABLE h_customers1 (id bigint, email text)
    SERVER regress_h OPTIONS (database 'Customers', page_size '1');
SELECT copernica_forget_metadata();
\! $EMUCTL clear-log
SELECT count(*), sum(id) FROM h_customers1 WHERE email <> 'nobody@example.com';
\set plain_requests `$EMUCTL log | grep 'Customers/profiles?start=' | sort | md5sum`
\! $EMUCTL clear-log
SELECT count(*), sum(id) FROM h_customers1 WHERE email <> pg_temp.h_forget();
\set forget_requests `$EMUCTL log | grep 'Customers/profiles?start=' | sort | md5sum`
SELECT :'plain_requests' = :'forget_requests' AS same_requests;
-- The cache frees what it no longer holds: plans that fail to get metadata
-- leave nothing behind, and forgetting frees every entry.
CREATE VIEW h_md_memory AS
    SELECT count(*) AS contexts, coalesce(sum(used_bytes), 0) AS used
      FROM pg_backend_memory_contexts WHERE name = 'copernica_fdw metadata';
SELECT copernica_forget_metadata();
SELECT count(*) FROM h_customers;
SELECT contexts FROM h_md_memory;
CREATE TEMP TABLE h_md_before AS SELECT * FROM h_md_memory;
\! $EMUCTL fail 503 1000
DO $$
BEGIN
    FOR i IN 1..40 LOOP
        BEGIN
            PERFORM count(*) FROM h_newsletter;
        EXCEPTION WHEN OTHERS THEN NULL;
        END;
    END LOOP;
END $$;
\! $EMUCTL clear-faults
SELECT m.contexts = b.contexts AS same_entries, m.used = b.used AS no_growth
  FROM h_md_memory m, h_md_before b;
SELECT count(*) FROM h_newsletter;
SELECT contexts FROM h_md_memory;
SELECT copernica_forget_metadata();
SELECT * FROM h_md_memory;

-- (4) Names and IDs become path segments safely: "." and ".." would be
-- resolved (by libcurl, or the server) into another resource's path.
CREATE FOREIGN TABLE h_dots (id bigint) SERVER regress_h OPTIONS (database '..');
CREATE FOREIGN TABLE h_dots (id bigint) SERVER regress_h OPTIONS (collection '.');
CREATE FOREIGN TABLE h_dots (id bigint)
    SERVER regress_h OPTIONS (resource 'view_profiles', view '..');
CREATE FOREIGN TABLE h_dots (id bigint) SERVER regress_h OPTIONS (database '...');
DROP FOREIGN TABLE h_dots;
-- a value that becomes a path segment: the profile of a new subprofile
CREATE FOREIGN TABLE h_orders_by_id (id bigint, profile text, ordernumber text)
    SERVER regress_h OPTIONS (collection '1');
\! $EMUCTL clear-log
INSERT INTO h_orders_by_id (profile, ordernumber) VALUES ('..', 'X1');
INSERT INTO h_orders_by_id (profile, ordernumber) VALUES ('.', 'X1');
INSERT INTO h_orders_by_id (profile, ordernumber) VALUES ('', 'X1');
\! $EMUCTL log | sort
\! $EMUCTL subprofiles 1
-- IDs from Copernica's answers go into paths only as plain integers: a
-- collection's ID, found by its name ...
CREATE FOREIGN TABLE h_orders_named (id bigint)
    SERVER regress_h OPTIONS (database 'Customers', collection 'Orders');
\! $EMUCTL answer 200 1 '{"start":0,"limit":1000,"count":1,"data":[{"ID":"../../identity","name":"Orders"}]}' --match /collections
\! $EMUCTL clear-log
SELECT h_error('collection ID', 'SELECT * FROM h_orders_named');
\! $EMUCTL log
SELECT count(*) FROM h_orders_named;
-- ... IDs in IMPORT ...
\! $EMUCTL answer 200 1 '{"start":0,"limit":1000,"count":1,"data":[{"ID":"1/../2","name":"Customers"}]}' --match /databases
CREATE SCHEMA h_import;
SELECT h_error('import ID', 'IMPORT FOREIGN SCHEMA "Customers" FROM SERVER regress_h INTO h_import');
DROP SCHEMA h_import;

-- (5) A hostile answer cannot make a scan run forever or overflow.
SET statement_timeout = '120s';
-- structure listings that answer full pages forever end in an error after
-- a bounded number of requests: looking up a collection by name (not the
-- name cached by an earlier statement) ...
SELECT copernica_forget_metadata();
\! $EMUCTL full-pages 1000
\! $EMUCTL clear-log
SELECT h_error('endless collections', 'SELECT * FROM h_orders_named');
\set n `$EMUCTL log | wc -l`
SELECT :n BETWEEN 100 AND 110 AS bounded_requests;
-- ... a listing table ...
CREATE FOREIGN TABLE h_fields (id bigint, name text)
    SERVER regress_h OPTIONS (resource 'fields', database 'Customers');
\! $EMUCTL clear-log
SELECT h_error('endless fields', 'SELECT count(*) FROM h_fields');
\set n `$EMUCTL log | wc -l`
SELECT :n BETWEEN 100 AND 110 AS bounded_requests;
-- ... and IMPORT
CREATE SCHEMA h_import;
\! $EMUCTL clear-log
SELECT h_error('endless import', 'IMPORT FOREIGN SCHEMA "_all" FROM SERVER regress_h INTO h_import');
\set n `$EMUCTL log | wc -l`
SELECT :n BETWEEN 100 AND 110 AS bounded_requests;
DROP SCHEMA h_import;
\! $EMUCTL clear-faults
SELECT count(*) FROM h_fields;
-- The largest ID possible: a table large enough to be read by ID ranges,
-- planned with ID bounds 1 and 2^63 - 1, and read unplanned (with a
-- condition) too.  Every row comes back, in a few requests.
\! $EMUCTL renumber 25 9223372036854775807
CREATE FOREIGN TABLE h_customers5 (id bigint, email text, age integer)
    SERVER regress_h OPTIONS (database 'Customers', page_size '5');
SELECT copernica_forget_metadata();
\! $EMUCTL clear-log
SELECT count(*), sum(id) - 9223372036854775807 AS sum_but_the_largest, max(id)
  FROM h_customers5;
\set n `$EMUCTL log | grep -c 'Customers/profiles?start='`
SELECT :n BETWEEN 5 AND 30 AS few_requests;
\! $EMUCTL clear-log
SELECT count(*), sum(id) - 9223372036854775807 AS sum_but_the_largest
  FROM h_customers5 WHERE age >= 0;
\set n `$EMUCTL log | grep -c 'Customers/profiles?start='`
SELECT :n BETWEEN 5 AND 30 AS few_requests;
SELECT id FROM h_customers5 WHERE id > 9223372036854775800;
-- a negative ID: a clear error (Copernica's IDs are positive), in a few requests
\! $EMUCTL reset demo
\! $EMUCTL renumber 3 -5
SELECT copernica_forget_metadata();
\! $EMUCTL clear-log
SELECT count(*), sum(id) FROM h_customers5;
\set n `$EMUCTL log | wc -l`
SELECT :n <= 20 AS few_requests;
\! $EMUCTL clear-log
SELECT count(*), sum(id) FROM h_customers5 WHERE age >= 0;
\set n `$EMUCTL log | wc -l`
SELECT :n <= 20 AS few_requests;
\! $EMUCTL reset demo
SELECT copernica_forget_metadata();
RESET statement_timeout;

-- (6) Smaller things.  A 303 is success only for a write Copernica answers
-- with one (PUT, or a POST it handles as a PUT); a DELETE answered with one
-- did not delete anything, and a GET answered with one read nothing.
\! $EMUCTL answer 303 1 '' --match /profile/7 --content-type ''
SELECT h_error('303', 'DELETE FROM h_customers WHERE id = 7');
\! $EMUCTL clear-faults
SELECT id FROM h_customers WHERE id = 7;
\! $EMUCTL answer 303 1 '' --match /profiles --content-type ''
SELECT h_error('303 GET', 'SELECT count(*) FROM h_customers');
-- Requests go through a proxy only when a superuser sets the server option
-- "proxy", never through one the postmaster's environment names.
\getenv ctl_url COPERNICA_EMULATOR_CONTROL
SET ROLE regress_hostile_owner;
CREATE SERVER regress_h_proxy FOREIGN DATA WRAPPER copernica_fdw
    OPTIONS (proxy 'http://127.0.0.1:1');
RESET ROLE;
CREATE SERVER regress_h_proxy FOREIGN DATA WRAPPER copernica_fdw
    OPTIONS (proxy 'ftp://127.0.0.1:1');
CREATE SERVER regress_h_proxy FOREIGN DATA WRAPPER copernica_fdw
    OPTIONS (proxy 'http://127.0.0.1:1/ x');
-- (the emulator answers proxy requests too: the host in the URL is never
-- looked up, the proxy is asked instead)
CREATE SERVER regress_h_proxy FOREIGN DATA WRAPPER copernica_fdw
    OPTIONS (url 'http://copernica.invalid/v2', proxy :'ctl_url', max_retries '0');
CREATE USER MAPPING FOR CURRENT_USER SERVER regress_h_proxy OPTIONS (access_token :'token');
CREATE FOREIGN TABLE h_proxied (id bigint) SERVER regress_h_proxy OPTIONS (database 'Customers');
SELECT count(*), sum(id) FROM h_proxied;
ALTER SERVER regress_h_proxy OPTIONS (SET proxy 'http://127.0.0.1:1');
SELECT h_error('proxy', 'SELECT count(*) FROM h_proxied') LIKE 'could not reach Copernica:%' AS through_the_proxy;
DROP SERVER regress_h_proxy CASCADE;
-- A prepared statement's plan holds a collection's ID looked up by name
-- with the planning role's token: another role plans (and looks up) anew.
CREATE ROLE regress_h_reader;
GRANT USAGE ON FOREIGN SERVER regress_h TO regress_h_reader;
CREATE USER MAPPING FOR regress_h_reader SERVER regress_h OPTIONS (access_token :'token');
GRANT SELECT ON h_orders_named TO regress_h_reader;
SET plan_cache_mode = force_generic_plan;
PREPARE h_named AS SELECT count(*) FROM h_orders_named;
EXECUTE h_named;
\! $EMUCTL clear-log
EXECUTE h_named;
\! $EMUCTL log | grep -c /collections
SET ROLE regress_h_reader;
EXECUTE h_named;
RESET ROLE;
\! $EMUCTL log | grep -c /collections
DEALLOCATE h_named;
RESET plan_cache_mode;
DROP USER MAPPING FOR regress_h_reader SERVER regress_h;
REVOKE ALL ON h_orders_named FROM regress_h_reader;
REVOKE USAGE ON FOREIGN SERVER regress_h FROM regress_h_reader;
DROP ROLE regress_h_reader;

-- (7) What no wrapper can hide: the text of the statement that sets a
-- token.  A failing CREATE USER MAPPING is logged with its text, token and
-- all; in a session with log_min_error_statement = 'panic' (a setting only
-- a superuser may change) it is not.  README: "Credentials and security".
CREATE TEMP TABLE h_log AS
    SELECT coalesce(pg_current_logfile(),
                    regexp_replace(current_setting('data_directory'),
                                   '/data/([0-9]+)/([^/]+)$',
                                   '/log/postgresql-\1-\2.log')) AS path;
CREATE TEMP TABLE h_log_start AS SELECT (pg_stat_file(path)).size AS size FROM h_log;
CREATE USER MAPPING FOR regress_h_no_such_role SERVER regress_h
    OPTIONS (access_token 'regress-logged-token-1');
SET log_min_error_statement = 'panic';
CREATE USER MAPPING FOR regress_h_no_such_role SERVER regress_h
    OPTIONS (access_token 'regress-logged-token-2');
RESET log_min_error_statement;
-- the logging collector writes behind: wait for a line logged after both
DO $$
DECLARE
    p text := (SELECT path FROM h_log);
    s bigint := (SELECT size FROM h_log_start);
BEGIN
    RAISE LOG 'regress-h-log-marker';
    FOR i IN 1..300 LOOP
        EXIT WHEN position('regress-h-log-marker' IN
                           pg_read_file(p, s, (pg_stat_file(p)).size - s)) > 0;
        PERFORM pg_sleep(0.1);
    END LOOP;
END $$;
SELECT position('regress-logged-token-1' IN t) > 0 AS failed_statement_logged,
       position('regress-logged-token-2' IN t) > 0 AS quiet_statement_logged
  FROM (SELECT pg_read_file(l.path, s.size, (pg_stat_file(l.path)).size - s.size) AS t
          FROM h_log l, h_log_start s) x;

-- clean up
DROP SERVER regress_h, regress_h2 CASCADE;
DROP TABLE h_tokens, h_captured;
DROP FUNCTION h_error(text, text);
REVOKE USAGE ON FOREIGN DATA WRAPPER copernica_fdw FROM regress_hostile_owner;
DROP ROLE regress_hostile_owner;
