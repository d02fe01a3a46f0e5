--
-- Credentials: where a server may point, whose token a query uses, how to
-- check it, and that the token shows nowhere: not in errors, EXPLAIN,
-- pg_stat_activity or the server log.
--
\getenv emu_url COPERNICA_EMULATOR_URL
\getenv token COPERNICA_TOKEN
\! $EMUCTL reset demo
SET timezone = 'UTC';
SET datestyle = 'ISO, YMD';

-- The token is stored once, here; no later statement carries it in its text
-- (statement texts show in pg_stat_activity and in the server log).
CREATE TABLE secret (token text);
INSERT INTO secret VALUES (:'token');
CREATE ROLE regress_copernica_user;
CREATE ROLE regress_copernica_other;
GRANT USAGE ON FOREIGN DATA WRAPPER copernica_fdw TO regress_copernica_user;

-- a server whose own token is wrong; the user mappings hold the right one
CREATE SERVER regress_sec FOREIGN DATA WRAPPER copernica_fdw
    OPTIONS (url :'emu_url', access_token 'regress-server-token', max_retries '0');
GRANT USAGE ON FOREIGN SERVER regress_sec TO regress_copernica_user, regress_copernica_other;
CREATE USER MAPPING FOR CURRENT_USER SERVER regress_sec OPTIONS (access_token :'token');
CREATE USER MAPPING FOR regress_copernica_user SERVER regress_sec
    OPTIONS (access_token :'token');
-- a wrong token with characters that are escaped in a URL
CREATE USER MAPPING FOR regress_copernica_other SERVER regress_sec
    OPTIONS (access_token 'regress-other/token&x=1 %');
-- a server with the right token, and a user mapping with a wrong one
CREATE SERVER regress_sec_right FOREIGN DATA WRAPPER copernica_fdw
    OPTIONS (url :'emu_url', access_token :'token', max_retries '0');
CREATE USER MAPPING FOR CURRENT_USER SERVER regress_sec_right
    OPTIONS (access_token 'regress-mapping-token');

-- Every token, right and wrong, raw and as sent in a URL, that must not show.
CREATE TABLE tokens (token text);
INSERT INTO tokens SELECT token FROM secret;
INSERT INTO tokens VALUES ('regress-server-token'), ('regress-mapping-token'),
    ('regress-other/token&x=1 %'), ('regress-other%2Ftoken%26x%3D1%20%25'),
    ('regress-other%2Ftoken%26x%3D1+%25');
GRANT SELECT ON secret, tokens TO PUBLIC;

-- From here on the server log is searched for the tokens too.  Statements
-- that fail are logged with their text, so the text of every statement that
-- follows is free of tokens; so are the texts of the errors it gets.
CREATE TABLE log_marker (marker text);
INSERT INTO log_marker VALUES ('copernica_fdw security test ' || md5(random()::text));
DO $$ BEGIN RAISE LOG '%', (SELECT marker FROM log_marker); END $$;
SET log_min_messages = 'debug1';
SET log_error_verbosity = 'verbose';

-- What was captured: every error's message, detail, hint and context, and
-- every line of EXPLAIN output.
CREATE TABLE captured (what text, txt text);
GRANT INSERT, SELECT ON captured TO PUBLIC;
CREATE FUNCTION capture_error(what text, q text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    msg text; det text; hnt text; ctx text;
BEGIN
    EXECUTE q;
    RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS msg = MESSAGE_TEXT, det = PG_EXCEPTION_DETAIL,
                            hnt = PG_EXCEPTION_HINT, ctx = PG_EXCEPTION_CONTEXT;
    INSERT INTO captured VALUES (what, concat_ws(E'\n', msg, det, hnt, ctx));
    RETURN msg;
END $$;
CREATE FUNCTION capture_explain(what text, options text, q text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    line text;      -- text, json or xml: FORMAT decides; a record would not do
    n int := 0;
    m text[];
    requests text;
BEGIN
    FOR line IN EXECUTE 'EXPLAIN (' || options || ') ' || q LOOP
        INSERT INTO captured VALUES (what, line);
        n := n + 1;
        -- the requests shown (each once), to prove the output says what
        -- was sent
        m := regexp_match(line, '(GET|PUT) ([A-Za-z/0-9$]+)');
        IF m IS NOT NULL AND
           position(m[1] || ' ' || m[2] IN coalesce(requests, '')) = 0 THEN
            requests := concat_ws(', ', requests, m[1] || ' ' || m[2]);
        END IF;
    END LOOP;
    RETURN CASE WHEN n > 0 THEN requests ELSE 'no output' END;
EXCEPTION WHEN OTHERS THEN
    DECLARE
        msg text; det text; hnt text; ctx text;
    BEGIN
        GET STACKED DIAGNOSTICS msg = MESSAGE_TEXT, det = PG_EXCEPTION_DETAIL,
                                hnt = PG_EXCEPTION_HINT, ctx = PG_EXCEPTION_CONTEXT;
        INSERT INTO captured VALUES (what, concat_ws(E'\n', msg, det, hnt, ctx));
        RETURN 'error: ' || msg;
    END;
END $$;
-- how many captured texts show a token (should be none), and how many
-- things were captured
CREATE VIEW leaks AS
    SELECT count(*) FILTER (WHERE EXISTS (SELECT FROM tokens t
                                           WHERE position(t.token IN c.txt) > 0)) AS leaks,
           count(DISTINCT what) AS captures
      FROM captured c;

-- (1) Only a superuser may point a server at another host than Copernica
SET ROLE regress_copernica_user;
CREATE SERVER regress_evil FOREIGN DATA WRAPPER copernica_fdw
    OPTIONS (url 'https://evil.example.com/v2');
CREATE SERVER regress_own FOREIGN DATA WRAPPER copernica_fdw;
ALTER SERVER regress_own OPTIONS (ADD url 'http://127.0.0.1:1/v2');
ALTER SERVER regress_own OPTIONS (ADD url 'https://rest.copernica.com/v2');
ALTER SERVER regress_own OPTIONS (SET url 'https://api.copernica.com/v2/');
SELECT srvname, srvoptions FROM pg_foreign_server WHERE srvname = 'regress_own';
DROP SERVER regress_own;
RESET ROLE;

-- (2) Server options are visible to everyone; a user mapping's options only
-- to its own role (and superusers).  So tokens belong in user mappings.
SET ROLE regress_copernica_user;
SELECT srvname, array_to_string(srvoptions, ',') LIKE '%access_token=regress-server-token%'
       AS server_token_visible
  FROM pg_foreign_server WHERE srvname = 'regress_sec';
SELECT usename, umoptions IS NULL AS options_hidden
  FROM pg_user_mappings WHERE srvname = 'regress_sec' ORDER BY usename;
SELECT count(*) FROM pg_user_mapping;
RESET ROLE;

-- (3) The user mapping's token wins over the server's.
CREATE FOREIGN TABLE sec_customers (id bigint, email text, firstname text)
    SERVER regress_sec OPTIONS (database 'Customers');
CREATE FOREIGN TABLE sec_right_customers (id bigint, email text)
    SERVER regress_sec_right OPTIONS (database 'Customers');
GRANT SELECT, UPDATE ON sec_customers, sec_right_customers TO PUBLIC;
-- wrong server token, right mapping token: works
SELECT count(*) FROM sec_customers;
SET ROLE regress_copernica_user;
SELECT count(*) FROM sec_customers;
-- a wrong mapping token fails, though the server's is right
RESET ROLE;
SELECT count(*) FROM sec_right_customers;
SET ROLE regress_copernica_other;
SELECT count(*) FROM sec_customers;
RESET ROLE;
SELECT capture_error('wrong mapping token', 'SELECT count(*) FROM sec_right_customers');
SET ROLE regress_copernica_other;
SELECT capture_error('wrong mapping token, escaped', 'SELECT count(*) FROM sec_customers');
RESET ROLE;
-- without the mapping, the server's token is used
DROP USER MAPPING FOR CURRENT_USER SERVER regress_sec_right;
SELECT count(*) FROM sec_right_customers;

-- copernica_identity(server): whose account the credentials open
SELECT * FROM copernica_identity('regress_sec');
SELECT id, name FROM copernica_identity('regress_sec_right');
SET ROLE regress_copernica_user;
SELECT id, name, company FROM copernica_identity('regress_sec');
RESET ROLE;
SET ROLE regress_copernica_other;
SELECT capture_error('identity, wrong token', $q$SELECT * FROM copernica_identity('regress_sec')$q$);
SELECT * FROM copernica_identity('copernica');
RESET ROLE;
CREATE FOREIGN DATA WRAPPER regress_other_fdw;
CREATE SERVER regress_other_srv FOREIGN DATA WRAPPER regress_other_fdw;
SELECT * FROM copernica_identity('regress_other_srv');
SELECT * FROM copernica_identity('no_such_server');
DROP SERVER regress_other_srv;
DROP FOREIGN DATA WRAPPER regress_other_fdw;

-- (4) The token shows nowhere.
-- errors: an unknown database, a refused token, HTTP 503, no connection
CREATE FOREIGN TABLE sec_nope (id bigint) SERVER regress_sec OPTIONS (database 'Nope');
SELECT * FROM sec_nope;
SELECT capture_error('unknown database', 'SELECT * FROM sec_nope');
SELECT capture_explain('unknown database, EXPLAIN', 'VERBOSE', 'SELECT * FROM sec_nope');
\! $EMUCTL fail 503 10
SELECT capture_error('HTTP 503', 'SELECT count(*) FROM sec_customers');
SELECT capture_explain('HTTP 503, EXPLAIN ANALYZE', 'VERBOSE, ANALYZE',
                       'SELECT count(*) FROM sec_customers');
\! $EMUCTL clear-faults
CREATE SERVER regress_closed FOREIGN DATA WRAPPER copernica_fdw
    OPTIONS (url 'http://127.0.0.1:1/v2', max_retries '0', connect_timeout '5');
DO $$ BEGIN
    EXECUTE format('CREATE USER MAPPING FOR CURRENT_USER SERVER regress_closed OPTIONS (access_token %L)',
                   (SELECT token FROM secret));
END $$;
SELECT capture_error('no connection', $q$SELECT * FROM copernica_identity('regress_closed')$q$) LIKE '%connect%' AS connect_error;
-- EXPLAIN at every verbosity, before and after running the scan
SELECT capture_explain('EXPLAIN', 'COSTS OFF',
                       $q$SELECT * FROM sec_customers WHERE firstname = 'Jan'$q$);
SELECT capture_explain('EXPLAIN VERBOSE', 'VERBOSE',
                       $q$SELECT * FROM sec_customers WHERE firstname = 'Jan'$q$);
SELECT capture_explain('EXPLAIN ANALYZE', 'VERBOSE, ANALYZE, BUFFERS, SETTINGS',
                       $q$SELECT * FROM sec_customers WHERE id IN (1, 2)$q$);
SELECT capture_explain('EXPLAIN JSON', 'VERBOSE, ANALYZE, FORMAT JSON',
                       'SELECT * FROM sec_customers ORDER BY id LIMIT 3');
SELECT capture_explain('EXPLAIN YAML', 'VERBOSE, FORMAT YAML',
                       'SELECT * FROM sec_customers');
-- a PUT is answered with 303 and a Location that repeats the URL with the
-- token: the update runs, and the Location goes nowhere
\! $EMUCTL clear-log
SELECT capture_explain('UPDATE, EXPLAIN ANALYZE', 'VERBOSE, ANALYZE',
                       $q$UPDATE sec_customers SET firstname = 'Jan' WHERE id = 1$q$);
UPDATE sec_customers SET firstname = 'Janneke' WHERE id = 1 RETURNING id, firstname;
SELECT capture_error('UPDATE', $q$UPDATE sec_customers SET firstname = 'Jan' WHERE id = 1$q$);
\! $EMUCTL log --status
SELECT id, firstname FROM sec_customers WHERE id = 1;
-- an UPDATE that fails
\! $EMUCTL fail 503 10
SELECT capture_error('UPDATE, HTTP 503', $q$UPDATE sec_customers SET firstname = 'Jan' WHERE id = 1$q$);
\! $EMUCTL clear-faults

-- pg_stat_activity: this backend in the middle of a scan ...
SELECT c.id,
       (SELECT count(*) FROM pg_stat_activity a, tokens t
         WHERE position(t.token IN concat_ws(' ', a.query, a.application_name,
                                             a.backend_type)) > 0
           AND c.id > 0) AS showing_a_token
  FROM sec_customers c WHERE c.id <= 2 ORDER BY c.id;
-- ... and another one, waiting for a slow Copernica
\! $EMUCTL latency 1500
\setenv PGDATABASE :DBNAME
\! psql -X -q -c 'SELECT count(*) FROM sec_customers /* regress_background */' >/dev/null 2>&1 &
DO $$
BEGIN
    FOR i IN 1..400 LOOP
        EXIT WHEN EXISTS (SELECT FROM pg_stat_activity
                           WHERE pid <> pg_backend_pid() AND state = 'active'
                             AND query LIKE '%regress\_background%');
        PERFORM pg_sleep(0.025);
        PERFORM pg_stat_clear_snapshot();   -- else one snapshot per transaction
    END LOOP;
END $$;
SELECT count(*) AS other_backends,
       count(*) FILTER (WHERE EXISTS (SELECT FROM tokens t
                                       WHERE position(t.token IN a.query) > 0)) AS showing_a_token
  FROM pg_stat_activity a
 WHERE pid <> pg_backend_pid() AND state = 'active' AND query LIKE '%regress\_background%';
DO $$
BEGIN
    FOR i IN 1..800 LOOP
        EXIT WHEN NOT EXISTS (SELECT FROM pg_stat_activity
                               WHERE pid <> pg_backend_pid()
                                 AND query LIKE '%regress\_background%');
        PERFORM pg_sleep(0.025);
        PERFORM pg_stat_clear_snapshot();
    END LOOP;
END $$;
\! $EMUCTL latency 0

-- the captured texts hold no token, and some of them show requests
SELECT * FROM leaks;
-- (the check finds a token where there is one)
SELECT count(*) AS tokens_in_user_mappings FROM tokens t
 WHERE EXISTS (SELECT FROM pg_user_mappings m
                WHERE position(t.token IN array_to_string(m.umoptions, ',')) > 0);
SELECT what, count(*) > 0 AS shows_requests FROM captured
 WHERE txt ~ 'Copernica( [A-Za-z]+)?"?: "?(GET|PUT) '
 GROUP BY what ORDER BY what;

-- the server log, from the marker on: it has the errors above, and no token
RESET log_min_messages;
RESET log_error_verbosity;
CREATE TEMP TABLE server_log AS
    SELECT coalesce(pg_current_logfile(),
                    regexp_replace(current_setting('data_directory'),
                                   '/data/([0-9]+)/([^/]+)$',
                                   '/log/postgresql-\1-\2.log')) AS path;
SELECT (pg_stat_file(path, true)).size IS NOT NULL AS log_found FROM server_log;
CREATE TEMP TABLE log_text AS
    SELECT strpos(t, m.marker) > 0 AS marker_found, substr(t, strpos(t, m.marker)) AS txt
      FROM (SELECT pg_read_file(path, 0, (pg_stat_file(path)).size) AS t FROM server_log) l,
           log_marker m;
SELECT marker_found,
       position('Copernica rejected the request: No database with supplied ID' IN txt) > 0
           AS has_errors,
       (SELECT count(*) FROM tokens t WHERE position(t.token IN l.txt) > 0) AS tokens_in_log
  FROM log_text l;

-- TLS certificate checks: only a superuser may turn them off
SET ROLE regress_copernica_user;
CREATE SERVER regress_tls FOREIGN DATA WRAPPER copernica_fdw OPTIONS (ssl_verify 'false');
CREATE SERVER regress_tls FOREIGN DATA WRAPPER copernica_fdw OPTIONS (ssl_verify 'true');
DROP SERVER regress_tls;
RESET ROLE;
CREATE SERVER regress_tls FOREIGN DATA WRAPPER copernica_fdw OPTIONS (ssl_verify 'false');
DROP SERVER regress_tls;

-- clean up
SET client_min_messages = warning;
DROP TABLE captured, secret, tokens, log_marker CASCADE;
DROP FUNCTION capture_error(text, text), capture_explain(text, text, text);
DROP SERVER regress_sec, regress_sec_right, regress_closed CASCADE;
REVOKE USAGE ON FOREIGN DATA WRAPPER copernica_fdw FROM regress_copernica_user;
DROP ROLE regress_copernica_user, regress_copernica_other;
RESET client_min_messages;
