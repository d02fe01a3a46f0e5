--
-- JSON strings in Copernica's answers: escapes of every kind read back as
-- PostgreSQL's own parser reads them, in keys and in values, in a UTF-8 and
-- in a LATIN1 database.  The page parser takes the strings it keeps from
-- the answer and has PostgreSQL de-escape those with a backslash, so the
-- answers below put escapes where that could go wrong: next to the quotes,
-- in runs of backslashes, in keys.
--
\getenv emu_url COPERNICA_EMULATOR_URL
\getenv token COPERNICA_TOKEN
\! $EMUCTL reset demo
CREATE FOREIGN TABLE js_customers
    (id bigint, email text, firstname text, lastname text, city text)
    SERVER copernica OPTIONS (database 'Customers');
SELECT count(*) FROM js_customers;   -- caches the metadata: no planning requests below

-- escapes in values: \" \\ \/ \b \f \n \r \t, \u (BMP and surrogate pairs),
-- a backslash or an escaped quote just before the closing quote, nothing but
-- escapes, and the same in keys (email's key \u-escaped, ID's too)
\! $EMUCTL answer 200 1 '{"start":0,"limit":1000,"count":4,"total":4,"data":[{"ID":"1","fields":{"email":"a\\","firstname":"\\\"","lastname":"x\"","city":"\"\\\/\b\f\n\r\t"}},{"\u0049D":"2","fields":{"em\u0061il":"caf\u00e9 \u00C9t\u00e9","firstname":"\ud83d\ude00 \uD834\uDD1E","lastname":"\u4e2d\u6587","city":"\\\\\\"}},{"ID":"\u0033","fields":{"a\\":"unread","\\\"":"unread","email":"\"quoted\" \/slash\/","firstname":"","lastname":"\\u0000 is text","city":"plain"}},{"ID":"4","fields":{"email":"ç raw","firstname":"\u0041\u0042\u0043","lastname":"tab\there","city":"end\\\\"}}]}' --match /profiles
SELECT id, to_json(email) AS email, to_json(firstname) AS firstname,
       to_json(lastname) AS lastname, to_json(city) AS city,
       octet_length(email) AS email_bytes, octet_length(city) AS city_bytes
  FROM js_customers ORDER BY id;

-- the envelope's keys and numbers may be escaped too
\! $EMUCTL answer 200 1 '{"st\u0061rt":0,"limit":1000,"c\u006funt":"\u0031","total":1,"d\u0061ta":[{"ID":"5","fields":{"email":"e\u0040x"}}]}' --match /profiles
SELECT id, email FROM js_customers;

-- \u0000 and lone surrogates in a value the scan reads are errors, with the
-- byte where PostgreSQL's lexer found them
\! $EMUCTL answer 200 1 '{"start":0,"limit":1000,"count":1,"total":1,"data":[{"ID":"1","fields":{"email":"a\u0000b"}}]}' --match /profiles
SELECT email FROM js_customers;
\! $EMUCTL answer 200 1 '{"start":0,"limit":1000,"count":1,"total":1,"data":[{"ID":"1","fields":{"email":"x\ud83d"}}]}' --match /profiles
SELECT email FROM js_customers;
\! $EMUCTL answer 200 1 '{"start":0,"limit":1000,"count":1,"total":1,"data":[{"ID":"1","fields":{"email":"\ude00x"}}]}' --match /profiles
SELECT email FROM js_customers;
\! $EMUCTL answer 200 1 '{"start":0,"limit":1000,"count":1,"total":1,"data":[{"ID":"1","fields":{"email":"\ud83d\ud83d"}}]}' --match /profiles
SELECT email FROM js_customers;
-- and in a key that the scan reads (every key of "fields")
\! $EMUCTL answer 200 1 '{"start":0,"limit":1000,"count":1,"total":1,"data":[{"ID":"1","fields":{"e\u0000":"x"}}]}' --match /profiles
SELECT email FROM js_customers;
-- an escape PostgreSQL does not know is invalid JSON wherever it is
\! $EMUCTL answer 200 1 '{"start":0,"limit":1000,"count":1,"total":1,"data":[{"ID":"1","fields":{"email":"x"},"other":"\x"}]}' --match /profiles
SELECT email FROM js_customers;
\! $EMUCTL answer 200 1 '{"start":0,"limit":1000,"count":1,"total":1,"data":[{"ID":"1","fields":{"email":"x"},"other":"\u12"}]}' --match /profiles
SELECT email FROM js_customers;
-- but \u0000 or a lone surrogate in a string the scan does not read (a
-- field not selected, a value nested in another) is no reason to fail,
-- as in a json value
\! $EMUCTL answer 200 1 '{"start":0,"limit":1000,"count":1,"total":1,"data":[{"ID":"1","fields":{"email":"ok","notes":"a\u0000b","x":{"k\u0000":"\ud800"}}}]}' --match /profiles
SELECT id, email FROM js_customers;
\! $EMUCTL clear-faults

-- a LATIN1 database: escapes and raw UTF-8 both become LATIN1, and a
-- character LATIN1 does not have is an error
CREATE DATABASE regress_json_latin1 ENCODING 'LATIN1' LC_COLLATE 'C' LC_CTYPE 'C'
    TEMPLATE template0;
\c regress_json_latin1
SET client_encoding = 'UTF8';
CREATE EXTENSION copernica_fdw;
CREATE SERVER copernica FOREIGN DATA WRAPPER copernica_fdw OPTIONS (url :'emu_url');
CREATE USER MAPPING FOR CURRENT_USER SERVER copernica OPTIONS (access_token :'token');
CREATE FOREIGN TABLE js_customers (id bigint, email text, firstname text, city text)
    SERVER copernica OPTIONS (database 'Customers');
SELECT count(*) FROM js_customers;
\! $EMUCTL answer 200 1 '{"start":0,"limit":1000,"count":2,"total":2,"data":[{"ID":"1","fields":{"\u0065mail":"caf\u00e9","firstname":"Ætt \"x\" \\","city":"\u00ff\\"}},{"ID":"2","fields":{"email":"ç","firstname":"\u0041","city":"\"\u00e7\""}}]}' --match /profiles
SELECT id, email, to_json(firstname) AS firstname, to_json(city) AS city,
       encode(convert_to(email, 'LATIN1'), 'hex') AS email_latin1,
       encode(convert_to(city, 'LATIN1'), 'hex') AS city_latin1
  FROM js_customers ORDER BY id;
-- (15 raises the conversion's own error, 17 and later an invalid JSON one)
\! $EMUCTL answer 200 1 '{"start":0,"limit":1000,"count":1,"total":1,"data":[{"ID":"1","fields":{"email":"\u4e2d"}}]}' --match /profiles
DO $$
DECLARE
    msg text; det text;
BEGIN
    PERFORM email FROM js_customers;
    RAISE NOTICE 'no error';
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS msg = MESSAGE_TEXT, det = PG_EXCEPTION_DETAIL;
    RAISE NOTICE 'an error that names LATIN1: %', concat(msg, det) LIKE '%LATIN1%';
END $$;
-- not read, not converted
\! $EMUCTL answer 200 1 '{"start":0,"limit":1000,"count":1,"total":1,"data":[{"ID":"1","fields":{"email":"ok","notes":"\u4e2d"}}]}' --match /profiles
SELECT id, email FROM js_customers;
\! $EMUCTL clear-faults
\c contrib_regression
DROP DATABASE regress_json_latin1;
DROP FOREIGN TABLE js_customers;
