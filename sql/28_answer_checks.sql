--
-- Every answer is checked, not only the pages of listings: the objects
-- read one per row (ms_destinations' message_id, ms_emailings' tags) and
-- the single objects (statistics, an emailing's own object).  An object
-- for another ID, one without the key asked for, or Copernica's error
-- object answered with HTTP 200 is an error, never a wrong value or a
-- NULL that a condition would act on.
--
\! $EMUCTL reset demo
SET timezone = 'UTC';
SET datestyle = 'ISO, YMD';
CREATE SCHEMA ac;
IMPORT FOREIGN SCHEMA "_mailings"
  LIMIT TO (ms_destinations, ms_emailings, publisher_statistics, ms_statistics,
            publisher_emailings)
  FROM SERVER copernica INTO ac;

-- (1) ms_destinations' message_id: one request per destination
\! $EMUCTL clear-log
SELECT id, message_id IS NOT NULL AS has_message_id
  FROM ac.ms_destinations WHERE emailing = 169 ORDER BY id LIMIT 3;
\! $EMUCTL log --count
SELECT count(*) FROM ac.ms_destinations WHERE emailing = 169 AND message_id IS NOT NULL;
-- the objects are read as rows need them, not a page's worth at its
-- arrival: a LIMIT the executor applies over a condition kept local reads
-- them in batches of 1, 2 and 4 for the five rows the filter saw (7, not
-- 25); a pushed LIMIT reads those of the rows it asked for; a cursor that
-- fetches two rows, batches of 1 and 2; all rows, all 25
\! $EMUCTL clear-log
SELECT id, message_id IS NOT NULL AS has_message_id
  FROM ac.ms_destinations WHERE emailing = 169 AND id % 2 = 1 LIMIT 3;
\! $EMUCTL log | grep -c '^GET /v2/ms/destination/'
\! $EMUCTL clear-log
SELECT id, message_id IS NOT NULL AS has_message_id
  FROM ac.ms_destinations WHERE emailing = 169 LIMIT 3;
\! $EMUCTL log | LC_ALL=C sort
BEGIN;
DECLARE two CURSOR FOR SELECT id, message_id IS NOT NULL AS has_message_id
  FROM ac.ms_destinations WHERE emailing = 169;
\! $EMUCTL clear-log
FETCH 2 FROM two;
\! $EMUCTL log | grep -c '^GET /v2/ms/destination/'
COMMIT;
\! $EMUCTL clear-log
SELECT count(message_id), count(DISTINCT message_id) FROM ac.ms_destinations WHERE emailing = 169;
\! $EMUCTL log | grep -c '^GET /v2/ms/destination/'
-- ms_emailings' tags likewise: two rows of four, three objects
\! $EMUCTL clear-log
SELECT id, tags FROM ac.ms_emailings WHERE id % 2 = id % 2 LIMIT 2;
\! $EMUCTL log | grep -c '^GET /v2/ms/emailing/[0-9]*$'
-- the object without messageID, another destination's, the error object
\! $EMUCTL answer 200 1 '{"ID":"1840002"}' --match ms/destination/1840002
SELECT id, message_id FROM ac.ms_destinations WHERE emailing = 169 ORDER BY id LIMIT 3;
\! $EMUCTL answer 200 1 '{"ID":"9999","messageID":"zzz"}' --match ms/destination/1840002
SELECT id, message_id FROM ac.ms_destinations WHERE emailing = 169 ORDER BY id LIMIT 3;
\! $EMUCTL answer 200 1 '{"messageID":"zzz"}' --match ms/destination/1840002
SELECT id, message_id FROM ac.ms_destinations WHERE emailing = 169 ORDER BY id LIMIT 3;
\! $EMUCTL answer 200 1 '{"error":{"message":"No destination"}}' --match ms/destination/1840002
SELECT count(*) FROM ac.ms_destinations WHERE emailing = 169 AND message_id IS NOT NULL;
-- hostile text in the ID is redacted and bounded
\! $EMUCTL answer 200 1 '{"ID":"{token}","messageID":"zzz"}' --match ms/destination/1840002
SELECT id, message_id FROM ac.ms_destinations WHERE emailing = 169 ORDER BY id LIMIT 3;
\! $EMUCTL answer 200 1 "{\"ID\":\"$(python3 -c 'print("7" * 5000)')\",\"messageID\":\"zzz\"}" --match ms/destination/1840002
SELECT id, message_id FROM ac.ms_destinations WHERE emailing = 169 ORDER BY id LIMIT 3;
-- a messageID that is null is a NULL, as the listing's would be
\! $EMUCTL answer 200 1 '{"ID":"1840002","messageID":null}' --match ms/destination/1840002
SELECT id, message_id FROM ac.ms_destinations WHERE emailing = 169 ORDER BY id LIMIT 3;
\! $EMUCTL clear-faults

-- (2) ms_emailings' tags, from the emailing's own object
SELECT id, tags FROM ac.ms_emailings WHERE id = 169;
\! $EMUCTL answer 200 1 '{"error":{"message":"No emailing"}}' --match ms/emailing/169
SELECT id, tags FROM ac.ms_emailings WHERE id = 169;
\! $EMUCTL answer 200 1 '{"id":"9999"}' --match ms/emailing/169
SELECT id, tags FROM ac.ms_emailings WHERE id = 169;
\! $EMUCTL answer 200 1 '{"id":"169"}' --match ms/emailing/169
SELECT id, tags FROM ac.ms_emailings WHERE id = 169;
\! $EMUCTL clear-faults

-- (3) single objects: Copernica's error object with HTTP 200 is that error
SELECT emailing, clicks_total, clicks_unique FROM ac.publisher_statistics WHERE emailing = 1281;
\! $EMUCTL answer 200 1 '{"error":{"message":"No emailing with supplied ID"}}' --match publisher/emailing/1281/statistics
SELECT emailing, clicks_total, clicks_unique FROM ac.publisher_statistics WHERE emailing = 1281;
\! $EMUCTL answer 200 1 '{"error":{"message":"No emailing with supplied ID"}}' --match ms/emailing/169/statistics
SELECT count(*) FROM ac.ms_statistics WHERE emailing = 169;
-- an emailing's own object for another emailing
\! $EMUCTL answer 200 1 '{"ID":"1282","subject":"x"}' --match publisher/emailing/1281
SELECT id, subject FROM ac.publisher_emailings WHERE id = 1281;
\! $EMUCTL clear-faults
SELECT id FROM ac.publisher_emailings WHERE id = 1281;
\! $EMUCTL answer 200 1 '{"ID":"1281"}' --match publisher/emailing/1281
SELECT id, subject FROM ac.publisher_emailings WHERE id = 1281;

-- (4) An answer nested deeper than any of Copernica's (50,000 arrays) is
-- refused while the stack is shallow, naming the request, rather than
-- ending in "stack depth limit exceeded": a structure listing, a page of
-- profiles, a single object, an error answer (HTTP 400), a list of IDs.
\! python3 -c 'print("{\"x\":" + "[" * 50000 + "]" * 50000 + "}")' > /tmp/copernica_deep_$PPID.json
CREATE FOREIGN TABLE ac.dbs (id bigint, name text) SERVER copernica OPTIONS (resource 'databases');
\! $EMUCTL answer 200 1 "$(cat /tmp/copernica_deep_$PPID.json)" --match /databases
SELECT * FROM ac.dbs;
\! $EMUCTL answer 200 1 "$(cat /tmp/copernica_deep_$PPID.json)" --match ms/destination/1840002
SELECT id, message_id FROM ac.ms_destinations WHERE emailing = 169 ORDER BY id LIMIT 3;
\! $EMUCTL answer 200 1 "$(cat /tmp/copernica_deep_$PPID.json)" --match publisher/emailing/1281/statistics
SELECT emailing, clicks_total FROM ac.publisher_statistics WHERE emailing = 1281;
\! $EMUCTL answer 400 1 "$(cat /tmp/copernica_deep_$PPID.json)" --match /databases
SELECT * FROM ac.dbs;
CREATE FOREIGN TABLE ac.customers (id bigint) SERVER copernica OPTIONS (database 'Customers');
-- (the planner asks for the size and the smallest and largest ID at once)
\! $EMUCTL answer 200 3 "$(cat /tmp/copernica_deep_$PPID.json)" --match /profiles
SELECT count(*) FROM ac.customers;
CREATE FOREIGN TABLE ac.ids (id bigint) SERVER copernica OPTIONS (resource 'profile_ids', database 'Customers');
\! $EMUCTL answer 200 1 "$(python3 -c 'print("[" * 50000 + "]" * 50000)')" --match /profileids
SELECT count(*) FROM ac.ids;
-- 63 levels are still read (here an unknown key of the envelope), by the
-- planner's count and the scan alike
\! $EMUCTL answer 200 2 "$(python3 -c 'print("{\"x\":" + "[" * 62 + "]" * 62 + ",\"start\":0,\"limit\":100,\"count\":1,\"total\":1,\"data\":[{\"ID\":\"7\",\"name\":\"deep\"}]}")')" --match /databases
SELECT * FROM ac.dbs;
\! rm -f /tmp/copernica_deep_$PPID.json
\! $EMUCTL clear-faults
SELECT * FROM ac.dbs ORDER BY id;

-- (5) The owner of a server whose url (proxy, ssl_verify false) a
-- superuser set may still change its other options: the validator sees
-- the whole new list, and a value already on a server of this wrapper
-- that the role owns is no new choice.  A new url, proxy or ssl_verify
-- false, or one only on another role's server, still needs a superuser.
CREATE ROLE regress_ac_owner;
GRANT USAGE ON FOREIGN DATA WRAPPER copernica_fdw TO regress_ac_owner;
CREATE SERVER regress_ac_owned FOREIGN DATA WRAPPER copernica_fdw
    OPTIONS (url 'http://127.0.0.1:1/v2', proxy 'http://127.0.0.1:2', ssl_verify 'false');
CREATE SERVER regress_ac_su FOREIGN DATA WRAPPER copernica_fdw
    OPTIONS (url 'http://127.0.0.1:3/v2');
ALTER SERVER regress_ac_owned OWNER TO regress_ac_owner;
SET ROLE regress_ac_owner;
ALTER SERVER regress_ac_owned OPTIONS (ADD page_size '10');
-- the url, proxy and ssl_verify false a superuser chose are one choice: a
-- new server may copy them together, but not take the proxy or ssl_verify
-- false to another url (Copernica's own: a proxy that reads its tokens)
CREATE SERVER regress_ac_copy FOREIGN DATA WRAPPER copernica_fdw
    OPTIONS (url 'http://127.0.0.1:1/v2', proxy 'http://127.0.0.1:2', ssl_verify 'false');
DROP SERVER regress_ac_copy;
CREATE SERVER regress_ac_copy FOREIGN DATA WRAPPER copernica_fdw
    OPTIONS (ssl_verify 'false');
CREATE SERVER regress_ac_copy FOREIGN DATA WRAPPER copernica_fdw
    OPTIONS (url 'https://api.copernica.com/v2', proxy 'http://127.0.0.1:2');
SELECT count(*) FROM pg_foreign_server WHERE srvname = 'regress_ac_copy';
ALTER SERVER regress_ac_owned OPTIONS (SET page_size '20', DROP ssl_verify);
ALTER SERVER regress_ac_owned OPTIONS (SET url 'http://127.0.0.1:1/v2');
ALTER SERVER regress_ac_owned OPTIONS (SET url 'http://127.0.0.1:4/v2');
ALTER SERVER regress_ac_owned OPTIONS (SET url 'http://127.0.0.1:3/v2');
ALTER SERVER regress_ac_owned OPTIONS (SET proxy 'http://127.0.0.1:5');
ALTER SERVER regress_ac_owned OPTIONS (ADD ssl_verify 'false');
SELECT srvoptions FROM pg_foreign_server WHERE srvname = 'regress_ac_owned';
CREATE SERVER regress_ac_new FOREIGN DATA WRAPPER copernica_fdw
    OPTIONS (url 'http://127.0.0.1:3/v2');
RESET ROLE;
DROP SERVER regress_ac_owned;
DROP SERVER regress_ac_su;
REVOKE USAGE ON FOREIGN DATA WRAPPER copernica_fdw FROM regress_ac_owner;
DROP ROLE regress_ac_owner;

-- (6) A structure listing's column named for no key Copernica documents
-- for its items is an error at planning, not NULL on every row; no
-- request is made.  The column option "field" names a key as it is.
CREATE FOREIGN TABLE ac.dbs_typo (id bigint, nmae text, descripton text)
    SERVER copernica OPTIONS (resource 'databases');
\! $EMUCTL clear-log
SELECT * FROM ac.dbs_typo;
SELECT count(*) FROM ac.dbs_typo WHERE nmae IS NULL;
\! $EMUCTL log --count
-- a column not used is not checked, as postgres_fdw's
SELECT id FROM ac.dbs_typo ORDER BY id;
CREATE FOREIGN TABLE ac.flds (id bigint, nmae text, type text)
    SERVER copernica OPTIONS (resource 'fields', database 'Customers');
SELECT * FROM ac.flds LIMIT 3;
-- a documented key in any case, a hyphenated one quoted or through "field"
CREATE FOREIGN TABLE ac.vws (ID bigint, NAME text, "parent-type" text,
    last_built text OPTIONS (field 'last-built'), intentions jsonb)
    SERVER copernica OPTIONS (resource 'views', database 'Customers');
SELECT count(*) > 0 AS some, count("parent-type") > 0 AS typed FROM ac.vws;
CREATE FOREIGN TABLE ac.vws_typo (id bigint, parent_type text)
    SERVER copernica OPTIONS (resource 'views', database 'Customers');
SELECT * FROM ac.vws_typo;

-- A profile holds every field of its database (copernica-api-v2.md 5.1):
-- an item that lacks a field a column reads, or has no "fields" object,
-- is an unexpected answer naming the profile, with the request; never a
-- column mismatch listing that item's keys (the definitions planning read
-- list the field), nor a NULL when other items have the field
CREATE FOREIGN TABLE ac.people (id bigint, email text)
    SERVER copernica OPTIONS (database 'Customers');
SELECT count(*) AS read FROM ac.people WHERE id = 5;
-- the only item lacks it: the hint tells of a field removed since
\! $EMUCTL answer 200 1 '{"start":0,"limit":1000,"count":1,"data":[{"ID":"5","fields":{"firstname":"x"}}]}' --match Customers/profiles
SELECT id, email FROM ac.people WHERE id = 5;
-- no "fields", or a string there
\! $EMUCTL answer 200 1 '{"start":0,"limit":1000,"count":1,"data":[{"ID":"5"}]}' --match Customers/profiles
SELECT id, email FROM ac.people WHERE id = 5;
\! $EMUCTL answer 200 1 '{"start":0,"limit":1000,"count":1,"data":[{"ID":"5","fields":"str"}]}' --match Customers/profiles
SELECT id, email FROM ac.people WHERE id = 5;
-- the second of two lacks it, the first has it: not a NULL for 6
\! $EMUCTL answer 200 1 '{"start":0,"limit":1000,"count":2,"data":[{"ID":"5","fields":{"email":"a@b.c"}},{"ID":"6","fields":{"firstname":"y"}}]}' --match Customers/profiles
SELECT id, email FROM ac.people WHERE id <= 6;
-- a null value is a value there (NULL), not a missing field
\! $EMUCTL answer 200 1 '{"start":0,"limit":1000,"count":1,"data":[{"ID":"5","fields":{"email":null}}]}' --match Customers/profiles
SELECT id, email IS NULL AS null_email FROM ac.people WHERE id = 5;
-- an empty "fields" object
\! $EMUCTL answer 200 1 '{"start":0,"limit":1000,"count":1,"data":[{"ID":"5","fields":{}}]}' --match Customers/profiles
SELECT id, email FROM ac.people WHERE id = 5;
\! $EMUCTL clear-faults
-- a column whose field the definitions do not list is still that error
CREATE FOREIGN TABLE ac.people_typo (id bigint, emial text)
    SERVER copernica OPTIONS (database 'Customers');
SELECT id, emial FROM ac.people_typo WHERE id = 5;

-- A pushed count(*) reads the listing's "total" (limit=0&total=true): a
-- total that is no count of rows is one error, HV00A, naming the value
-- (bounded) and the request; Copernica's error object answered with HTTP
-- 200 is that error, with its message
SELECT count(*) AS counted FROM ac.people WHERE id > 3;
SELECT explain_portable('COSTS OFF', 'SELECT count(*) FROM ac.people WHERE id > 3');
CREATE FUNCTION ac.count_error(answer text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE st text; msg text; det text; ctx text;
BEGIN
  PERFORM count(*) FROM ac.people WHERE id > 3;
  RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
  GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT,
                          det = PG_EXCEPTION_DETAIL, ctx = PG_EXCEPTION_CONTEXT;
  RETURN format('%s %s%s [%s]', st, msg, coalesce(': ' || nullif(det, ''), ''),
                substring(ctx from 'Copernica request: GET [^?]*'));
END $$;
\! $EMUCTL answer 200 1 '{"start":0,"limit":0,"count":0,"total":"abc","data":[]}' --match Customers/profiles
SELECT ac.count_error('"abc"');
\! $EMUCTL answer 200 1 '{"start":0,"limit":0,"count":0,"total":3.7,"data":[]}' --match Customers/profiles
SELECT ac.count_error('3.7');
\! $EMUCTL answer 200 1 '{"start":0,"limit":0,"count":0,"total":1e3,"data":[]}' --match Customers/profiles
SELECT ac.count_error('1e3');
\! $EMUCTL answer 200 1 '{"start":0,"limit":0,"count":0,"total":1e23,"data":[]}' --match Customers/profiles
SELECT ac.count_error('1e23');
\! $EMUCTL answer 200 1 '{"start":0,"limit":0,"count":0,"total":-5,"data":[]}' --match Customers/profiles
SELECT ac.count_error('-5');
\! $EMUCTL answer 200 1 '{"start":0,"limit":0,"count":0,"total":"-5","data":[]}' --match Customers/profiles
SELECT ac.count_error('"-5"');
\! $EMUCTL answer 200 1 '{"start":0,"limit":0,"count":0,"total":null,"data":[]}' --match Customers/profiles
SELECT ac.count_error('null');
\! $EMUCTL answer 200 1 '{"start":0,"limit":0,"count":0,"data":[]}' --match Customers/profiles
SELECT ac.count_error('none');
\! $EMUCTL answer 200 1 '{"start":0,"limit":0,"count":0,"total":true,"data":[]}' --match Customers/profiles
SELECT ac.count_error('true');
\! $EMUCTL answer 200 1 '{"start":0,"limit":0,"count":0,"total":"","data":[]}' --match Customers/profiles
SELECT ac.count_error('""');
-- a long one is cut
\! $EMUCTL answer 200 1 '{"start":0,"limit":0,"count":0,"total":"1111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111","data":[]}' --match Customers/profiles
SELECT length(ac.count_error('long')) < 300 AS bounded;
\! $EMUCTL answer 200 1 '{"error":{"message":"boom"}}' --match Customers/profiles
SELECT ac.count_error('error object');
\! $EMUCTL answer 200 1 '{"start":0,"limit":0,"count":0,"total":7,"data":[]}' --match Customers/profiles
SELECT count(*) AS seven FROM ac.people WHERE id > 3;
\! $EMUCTL clear-faults
-- the same checks on a listing's page
\! $EMUCTL answer 200 1 '{"start":"x","limit":1000,"count":0,"data":[]}' --match Customers/profiles
SELECT id FROM ac.people WHERE id > 3;
\! $EMUCTL answer 200 1 '{"error":{"message":"boom"}}' --match Customers/profiles
SELECT id FROM ac.people WHERE id > 3;
\! $EMUCTL clear-faults
DROP FUNCTION ac.count_error(text);
