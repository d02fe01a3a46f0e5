--
-- Hostile answers found by a security review: what Copernica (or what
-- pretends to be it) sends is checked and bounded before it reaches a
-- message, and never shows the access token, not even its beginning.
--
\getenv emu_url COPERNICA_EMULATOR_URL
\getenv token COPERNICA_TOKEN
\! $EMUCTL reset demo
CREATE SERVER regress_h30 FOREIGN DATA WRAPPER copernica_fdw
    OPTIONS (url :'emu_url', max_retries '0');
CREATE USER MAPPING FOR CURRENT_USER SERVER regress_h30 OPTIONS (access_token :'token');
CREATE FUNCTION h30_error(q text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    msg text; det text;
BEGIN
    EXECUTE q;
    RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS msg = MESSAGE_TEXT, det = PG_EXCEPTION_DETAIL;
    RETURN concat_ws(E'\n', msg, nullif(det, ''));
END $$;
CREATE FOREIGN TABLE h30_databases (id bigint, name text)
    SERVER regress_h30 OPTIONS (resource 'databases');
CREATE FOREIGN TABLE h30_profile_ids (id bigint)
    SERVER regress_h30 OPTIONS (resource 'profile_ids', database '1');
CREATE FOREIGN TABLE h30_finalgroups (emailing bigint, id bigint, subject text)
    SERVER regress_h30 OPTIONS (resource 'publisher_finalgroups');

-- (1) Copernica's error message is cut to 200 bytes, as an excerpt of an
-- answer is: a server may send one of any length (up to max_response_size),
-- which went whole into the error and the server log.  A 400 ...
SELECT format('\! $EMUCTL answer 400 1 ''{"error":{"message":"Bad %s"}}''',
              repeat('A', 100000)) AS cmd \gset
:cmd
SELECT h30_error('SELECT * FROM h30_databases') AS e \gset
SELECT length(:'e') AS message_length, left(:'e', 40) AS message_start,
       right(:'e', 8) AS message_end;
-- ... and an error object answered with HTTP 200 (a mailing table's object)
SELECT format('\! $EMUCTL answer 200 1 ''{"error":{"message":"Bad %s"}}'' --match finalgroup',
              repeat('B', 100000)) AS cmd \gset
:cmd
SELECT h30_error('SELECT * FROM h30_finalgroups WHERE emailing = 1281') AS e \gset
SELECT length(:'e') AS message_length, left(:'e', 40) AS message_start,
       right(:'e', 8) AS message_end;
-- the cut never leaves the beginning of a token (a whole one is ***)
SELECT format('\! $EMUCTL answer 400 1 ''{"error":{"message":"%s%szzzz {token}"}}''',
              repeat('C', 197), left(:'token', 6)) AS cmd \gset
:cmd
SELECT h30_error('SELECT * FROM h30_databases') AS e \gset
SELECT length(:'e') AS message_length, right(:'e', 8) AS message_end;
\! $EMUCTL clear-faults

-- (2) An array of IDs (profile_ids) is UTF-8 like every answer: an invalid
-- byte in it reached the error's detail as it was
\! $EMUCTL answer 200 1 '["1","2{xff}"]' --match profileids
SELECT h30_error('SELECT count(*) FROM h30_profile_ids');
\! $EMUCTL clear-faults
SELECT count(*) FROM h30_profile_ids;

-- (3) The JSON parser's words about an array of IDs quote the offending
-- token, which may be the beginning of an echoed token cut short: then
-- they are not shown (the page parser already did so)
SELECT format('\! $EMUCTL answer 200 1 ''["1", "%s''  --match profileids',
              left(:'token', 6)) AS cmd \gset
:cmd
SELECT h30_error('SELECT count(*) FROM h30_profile_ids');
SELECT format('\! $EMUCTL answer 200 1 ''["1", %s]''  --match profileids',
              left(:'token', 6)) AS cmd \gset
:cmd
SELECT h30_error('SELECT count(*) FROM h30_profile_ids');
-- other invalid JSON is still described
\! $EMUCTL answer 200 1 '["1", nope]' --match profileids
SELECT h30_error('SELECT count(*) FROM h30_profile_ids');
\! $EMUCTL clear-faults

-- (4) ANALYZE sizes its scan by Copernica's total as planning does, within
-- int: the largest total, as a double, was cast to int64, which it does not
-- fit (undefined behaviour; the sanitizer suite reports it)
SELECT copernica_forget_metadata();
\! $EMUCTL clear-log
\! $EMUCTL answer 200 1 '{"start":0,"limit":0,"count":0,"total":9223372036854775807,"data":[]}' --match databases
ANALYZE h30_databases;
\! $EMUCTL log --status
SELECT reltuples FROM pg_class WHERE relname = 'h30_databases';
\! $EMUCTL clear-faults

DROP SERVER regress_h30 CASCADE;
DROP FUNCTION h30_error(text);
