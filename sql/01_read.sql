--
-- Reading: every kind of table, every type, NULL and empty values, paging,
-- joins, rescans, cancel, and the errors a user can run into.
--
\getenv emu_url COPERNICA_EMULATOR_URL
\getenv token COPERNICA_TOKEN
\! $EMUCTL reset demo
SET timezone = 'UTC';
SET datestyle = 'ISO, YMD';

-- profiles, with every property and field
CREATE FOREIGN TABLE customers (
    id         bigint,
    email      text,
    firstname  varchar(20),
    lastname   text,
    town       text OPTIONS (field 'City'),
    age        integer,
    score      numeric,
    birthday   date,
    signup     date,
    lastvisit  timestamp,
    segment    text,
    notes      text,
    referrer   bigint,
    newsletter text,
    interests  text[],
    secret     text,
    created    timestamp,
    modified   timestamp,
    database   integer
) SERVER copernica OPTIONS (database 'Customers');

SELECT id, email, firstname, lastname, town, age, score, birthday, signup,
       lastvisit, segment, referrer, newsletter, interests
  FROM customers ORDER BY id;
SELECT id, notes, length(secret) AS secret_length, created, modified, database
  FROM customers WHERE notes <> '' ORDER BY id;

-- Copernica has no NULL: "" is NULL except for text, 0000-00-00 is NULL
SELECT count(*) FILTER (WHERE email = '') AS empty_email,
       count(*) FILTER (WHERE email IS NULL) AS null_email,
       count(*) FILTER (WHERE birthday IS NULL) AS no_birthday,
       count(*) FILTER (WHERE signup IS NULL) AS zero_signup,
       count(*) FILTER (WHERE lastvisit IS NULL) AS no_lastvisit
  FROM customers;

-- timestamptz reads Copernica's local time in the server's timezone option
CREATE FOREIGN TABLE visits (id bigint, lastvisit timestamptz, modified timestamptz)
    SERVER copernica OPTIONS (database 'Customers');
SELECT v.id, v.lastvisit, v.lastvisit AT TIME ZONE 'Europe/Amsterdam' = c.lastvisit AS same_local
  FROM visits v JOIN customers c USING (id) WHERE v.id IN (1, 4, 7) ORDER BY v.id;
ALTER SERVER copernica OPTIONS (SET timezone 'America/New_York');
SELECT id, lastvisit FROM visits WHERE id = 1;
ALTER SERVER copernica OPTIONS (SET timezone 'Europe/Amsterdam');

-- jsonb: the whole fields object, and interests
CREATE FOREIGN TABLE customers_json (id bigint, fields jsonb, interests jsonb)
    SERVER copernica OPTIONS (database 'Customers');
SELECT id, fields->>'firstname' AS firstname, fields->'age' AS age,
       jsonb_typeof(fields) AS fields_type, interests
  FROM customers_json WHERE id <= 3 ORDER BY id;

-- subprofiles, by collection name (with its database) or by ID
CREATE FOREIGN TABLE orders (id bigint, profile bigint, ordernumber text,
                             total numeric(10,2), placed timestamp, status text,
                             collection integer)
    SERVER copernica OPTIONS (database 'Customers', collection 'Orders');
SELECT * FROM orders ORDER BY id LIMIT 5;
SELECT count(*), sum(total), count(DISTINCT profile) FROM orders;
-- the collection's name is looked up once, and cached like the field
-- metadata: an ALTER of the options or an expired cache looks it up anew
\! $EMUCTL clear-log
DO $$ DECLARE n bigint; BEGIN FOR i IN 1..5 LOOP
    SELECT count(*) INTO n FROM orders WHERE profile = i;
END LOOP; END $$;
ALTER FOREIGN TABLE orders OPTIONS (SET collection 'ORDERS');
SELECT count(*) FROM orders;
SELECT count(*) FROM orders;
SELECT copernica_forget_metadata();
SELECT count(*) FROM orders;
ALTER FOREIGN TABLE orders OPTIONS (SET collection 'Orders');
\! $EMUCTL log | grep -c 'GET /v2/database/Customers/collections'
\! $EMUCTL subprofiles 1
CREATE FOREIGN TABLE orders_by_id (id bigint, total numeric)
    SERVER copernica OPTIONS (collection '1');
SELECT count(*), sum(total) FROM orders_by_id;

-- read-only listings
CREATE FOREIGN TABLE collections (id bigint, name text, database bigint)
    SERVER copernica OPTIONS (resource 'collections', database 'Customers');
SELECT * FROM collections;
CREATE FOREIGN TABLE customer_fields (id bigint, name text, type text, value text,
                                      displayed boolean, length integer)
    SERVER copernica OPTIONS (resource 'fields', database 'Customers');
SELECT * FROM customer_fields ORDER BY id;
CREATE FOREIGN TABLE order_fields (id bigint, name text, type text)
    SERVER copernica OPTIONS (resource 'fields', database 'Customers', collection 'Orders');
SELECT * FROM order_fields ORDER BY id;
CREATE FOREIGN TABLE interests (id bigint, name text, "group" text)
    SERVER copernica OPTIONS (resource 'interests', database 'Customers');
SELECT * FROM interests ORDER BY id;
CREATE FOREIGN TABLE views (id bigint, name text, database bigint)
    SERVER copernica OPTIONS (resource 'views', database 'Customers');
SELECT * FROM views ORDER BY id;
CREATE FOREIGN TABLE gold (id bigint, email text, segment text)
    SERVER copernica OPTIONS (resource 'view_profiles', view '1');
SELECT * FROM gold ORDER BY id;
CREATE FOREIGN TABLE emailings (id bigint, subject text, "timestamp" timestamp,
                                type text, from_address jsonb, destinations integer)
    SERVER copernica OPTIONS (resource 'publisher_emailings');
SELECT id, subject, type, from_address->>'email' AS sender FROM emailings ORDER BY id;
CREATE FOREIGN TABLE ms_emailings (id bigint, subject text, target jsonb)
    SERVER copernica OPTIONS (resource 'ms_emailings');
SELECT id, subject, target->>'type' AS target FROM ms_emailings ORDER BY id;

-- a join with a local table, and a nested loop that rescans the foreign side
CREATE TABLE tiers (city text, tier text);
INSERT INTO tiers VALUES ('Amsterdam', 'capital'), ('Utrecht', 'central'), ('Berlin', 'abroad');
SELECT t.tier, count(*), string_agg(c.id::text, ',' ORDER BY c.id)
  FROM customers c JOIN tiers t ON t.city = c.town GROUP BY t.tier ORDER BY t.tier;
EXPLAIN (COSTS OFF)
SELECT t.tier, s.id FROM tiers t,
       LATERAL (SELECT c.id FROM customers c WHERE c.town = t.city OFFSET 0) s;
\! $EMUCTL clear-log
SELECT t.tier, s.id FROM tiers t,
       LATERAL (SELECT c.id FROM customers c WHERE c.town = t.city OFFSET 0) s
 ORDER BY 1, 2;
-- three outer rows: three scans, each with its own condition
\! $EMUCTL log

-- a column that matches no field names the fields there are
CREATE FOREIGN TABLE typo (id bigint, emial text) SERVER copernica OPTIONS (database 'Customers');
SELECT * FROM typo;
SELECT id FROM typo WHERE id = 1;  -- only columns that are read count

-- a value that does not convert names the column, the table and the profile
CREATE FOREIGN TABLE wrong_type (id bigint, firstname integer) SERVER copernica OPTIONS (database 'Customers');
SELECT * FROM wrong_type;
CREATE FOREIGN TABLE too_short (id bigint, firstname varchar(3)) SERVER copernica OPTIONS (database 'Customers');
SELECT * FROM too_short;
-- values read without their input function (text, integers in plain digits,
-- Copernica's dates and times) read as the input function reads them, and
-- every other form still goes to it
CREATE FOREIGN TABLE value_forms (id bigint, email text, age integer, referrer bigint,
  birthday date, lastvisit timestamp) SERVER copernica OPTIONS (database 'Customers');
SELECT count(*) FROM value_forms;   -- caches the metadata: only the page below
\! $EMUCTL answer 200 1 '{"start":0,"limit":1000,"count":5,"total":5,"data":[{"ID":"1","fields":{"email":"","age":"+42","referrer":" 7 ","birthday":"2024-02-29","lastvisit":"2024-02-29 23:59:59"}},{"ID":"2","fields":{"email":"a\"b","age":"007","referrer":"-9223372036854775808","birthday":"0000-00-00","lastvisit":"2024-02-29T10:00:00"}},{"ID":"3","fields":{"email":"x","age":"","referrer":"","birthday":"","lastvisit":""}},{"ID":"4","fields":{"email":"y","age":"2147483647","referrer":"9223372036854775807","birthday":"24-02-29","lastvisit":"2024-02-29 10:00:00.5"}},{"ID":"5","fields":{"email":"z","age":-2147483648,"referrer":"-0","birthday":"2023-1-2","lastvisit":"0000-00-00 00:00:00"}}]}' --match /profiles
SELECT id, email, email IS NULL AS email_null, age, referrer, birthday, lastvisit FROM value_forms ORDER BY id;
\! $EMUCTL answer 200 1 '{"start":0,"limit":1000,"count":1,"total":1,"data":[{"ID":"1","fields":{"age":"2147483648"}}]}' --match /profiles
SELECT id, age FROM value_forms;
\! $EMUCTL answer 200 1 '{"start":0,"limit":1000,"count":1,"total":1,"data":[{"ID":"1","fields":{"referrer":"9223372036854775808"}}]}' --match /profiles
SELECT id, referrer FROM value_forms;
\! $EMUCTL answer 200 1 '{"start":0,"limit":1000,"count":1,"total":1,"data":[{"ID":"1","fields":{"birthday":"2023-02-29"}}]}' --match /profiles
SELECT id, birthday FROM value_forms;
-- plain decimals are read without numeric_in, and exactly as it reads them
-- (the scale kept, "-0.00" a zero): the same value, scale, size and bytes;
-- other forms, more than 18 digits, and a typmod still go to it
CREATE FOREIGN TABLE numeric_forms (id bigint, n numeric OPTIONS (field 'score'),
  t text OPTIONS (field 'score'), r numeric(30,4) OPTIONS (field 'score'))
  SERVER copernica OPTIONS (database 'Customers');
SELECT count(*) FROM numeric_forms;   -- caches the metadata: only the page below
\! $EMUCTL answer 200 1 '{"start":0,"limit":1000,"count":13,"total":13,"data":[{"ID":"1","fields":{"score":"65.16"}},{"ID":"2","fields":{"score":"-0.00"}},{"ID":"3","fields":{"score":"007.50"}},{"ID":"4","fields":{"score":"-12"}},{"ID":"5","fields":{"score":"999999999999999999"}},{"ID":"6","fields":{"score":"-0.00000000000000001"}},{"ID":"7","fields":{"score":"1234567890.12345678901"}},{"ID":"8","fields":{"score":"1."}},{"ID":"9","fields":{"score":" .5 "}},{"ID":"10","fields":{"score":"1e3"}},{"ID":"11","fields":{"score":"NaN"}},{"ID":"12","fields":{"score":""}},{"ID":"13","fields":{"score":"0.10000"}}]}' --match /profiles
SELECT id, n, t, r,
       numeric_send(n) IS NOT DISTINCT FROM numeric_send(NULLIF(t, '')::numeric)
       AND pg_column_size(n) IS NOT DISTINCT FROM pg_column_size(NULLIF(t, '')::numeric)
       AND n::text IS NOT DISTINCT FROM NULLIF(t, '')::numeric::text AS as_numeric_in
  FROM numeric_forms ORDER BY id;
-- text is a datum in the page itself up to 126 bytes (its opening quote
-- becomes the length byte), copied beyond and when it had escapes: the same
-- text as varchar's input function reads, also when the scan starts again
CREATE FOREIGN TABLE text_forms (id bigint, t text OPTIONS (field 'email'),
  v varchar OPTIONS (field 'email')) SERVER copernica OPTIONS (database 'Customers');
SELECT count(*) FROM text_forms;   -- caches the metadata: only the pages below
\! $EMUCTL answer 200 3 "$(python3 -c 'import json; v = ["", "a", chr(233) * 63, "x" * 126, "x" * 127, "y" * 300, "a" + chr(34) + "b" + chr(92) + "c", chr(252)]; print(json.dumps({"start": 0, "limit": 1000, "count": len(v), "total": len(v), "data": [{"ID": str(i + 1), "fields": {"email": s}} for i, s in enumerate(v)]}))')" --match /profiles
SELECT id, octet_length(t) AS bytes, left(t, 3) AS starts, t = v::text AS same
  FROM text_forms ORDER BY id;
SET enable_hashjoin = off;
SET enable_mergejoin = off;
SET enable_material = off;
SELECT x, count(*), sum(octet_length(t)) AS bytes, bool_and(t = v::text) AS same
  FROM (VALUES (1), (2)) o(x) JOIN text_forms ON octet_length(t) >= x - 1
 GROUP BY x ORDER BY x;
RESET enable_hashjoin;
RESET enable_mergejoin;
RESET enable_material;
\! $EMUCTL clear-faults

-- unknown database, unknown collection, unknown view, a wrong token
CREATE FOREIGN TABLE nowhere (id bigint) SERVER copernica OPTIONS (database 'Nowhere');
SELECT * FROM nowhere;
CREATE FOREIGN TABLE no_collection (id bigint) SERVER copernica OPTIONS (database 'Customers', collection 'Returns');
SELECT * FROM no_collection;
CREATE FOREIGN TABLE no_collection_id (id bigint) SERVER copernica OPTIONS (collection '999');
SELECT * FROM no_collection_id;
CREATE FOREIGN TABLE no_collection_db (id bigint) SERVER copernica OPTIONS (collection 'Orders');
CREATE SERVER wrong_token FOREIGN DATA WRAPPER copernica_fdw
    OPTIONS (url :'emu_url', access_token 'not-the-token');
CREATE FOREIGN TABLE wrong_token_customers (id bigint) SERVER wrong_token OPTIONS (database 'Customers');
SELECT * FROM wrong_token_customers;
-- nobody listens on port 9 of the loopback
CREATE SERVER unreachable FOREIGN DATA WRAPPER copernica_fdw
    OPTIONS (url 'http://127.0.0.1:9/v2', access_token 'secret-token', max_retries '0');
CREATE FOREIGN TABLE unreachable_customers (id bigint) SERVER unreachable OPTIONS (database 'Customers');
-- (libcurl words its part of the message differently from version to version)
DO $$
DECLARE
    context text;
BEGIN
    PERFORM * FROM unreachable_customers;
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS context = PG_EXCEPTION_CONTEXT;
    RAISE NOTICE 'SQLSTATE %: %', SQLSTATE,
        replace(replace(SQLERRM, ' port 9:', ':9:'), 'Couldn''t', 'Could not');
    RAISE NOTICE 'context: %', split_part(context, E'\n', 1);
END $$;

-- paging: counts and ID sums match the emulator's for many sizes, page size 1000 and 7
CREATE FOREIGN TABLE gen (id bigint, email text, age integer) SERVER copernica OPTIONS (database 'Customers');
\! $EMUCTL reset generate 0 --shape dense
SELECT count(*), coalesce(sum(id), 0) AS idsum FROM gen;
\! $EMUCTL reset generate 1 --shape dense
SELECT count(*), sum(id) AS idsum FROM gen;
\! $EMUCTL reset generate 999 --shape dense
SELECT count(*), sum(id) AS idsum FROM gen;
\! $EMUCTL profiles 1
\! $EMUCTL reset generate 1000 --shape dense
SELECT count(*), sum(id) AS idsum FROM gen;
\! $EMUCTL reset generate 1001 --shape dense
SELECT count(*), sum(id) AS idsum FROM gen;
\! $EMUCTL reset generate 2500 --shape dense
SELECT copernica_forget_metadata();  -- planning sees the new size
\! $EMUCTL clear-log
-- (DISTINCT id + 0: from 16 on, DISTINCT id would ask the scan for ID order)
SELECT count(*), sum(id) AS idsum, count(DISTINCT id + 0) AS distinct_ids FROM gen;
\! $EMUCTL profiles 1
-- three pages: read by ID, one after the other (cutting them into stripes
-- would cost a request per stripe)
\! $EMUCTL log | grep -v -e '?limit=' -e '/fields' | sort
-- many pages on one connection: one chain of pages by ID (id > last)
ALTER FOREIGN TABLE gen OPTIONS (ADD page_size '7', ADD max_concurrency '1');
\! $EMUCTL clear-log
SELECT count(*), sum(id) AS idsum, count(DISTINCT id + 0) AS distinct_ids FROM gen;
-- exactly one request per page (2500 / 7 = 357.1), all on one connection
\! $EMUCTL log | grep -v -e '?limit=' -e '/fields' | wc -l
\! $EMUCTL log | grep -v -e '?limit=' -e '/fields' | sed -n '1,4p'
\! $EMUCTL log --connections
ALTER FOREIGN TABLE gen OPTIONS (SET max_concurrency '4');
SELECT count(*), sum(id) AS idsum, count(DISTINCT id + 0) AS distinct_ids FROM gen;
-- sparse and clustered IDs: stripes are cut where the rows are
DELETE FROM gen WHERE id BETWEEN 101 AND 1900 OR id % 10 = 3;
\! $EMUCTL profiles 1
ALTER FOREIGN TABLE gen OPTIONS (SET page_size '20');
SELECT count(*), sum(id) AS idsum, count(DISTINCT id + 0) AS distinct_ids FROM gen;
SELECT count(*), sum(id) AS idsum FROM gen WHERE id > 50 AND email <> '';
SELECT count(*), sum(id) AS idsum FROM (SELECT id FROM gen WHERE id > 50 OFFSET 0) s
 WHERE id IN (SELECT id FROM gen WHERE email <> '');
\! $EMUCTL reset generate 13 --shape dense
SELECT count(*), sum(id) AS idsum FROM gen;
\! $EMUCTL reset generate 14 --shape dense
SELECT count(*), sum(id) AS idsum FROM gen;

-- a slow answer is interrupted by statement_timeout, and the backend goes on
\! $EMUCTL reset demo
\! $EMUCTL latency 10000
SELECT clock_timestamp() AS before_scan \gset
SET statement_timeout = '1s';
SELECT count(*) FROM gen;
RESET statement_timeout;
SELECT clock_timestamp() - :'before_scan'::timestamptz < interval '5 seconds' AS interrupted_quickly;
\! $EMUCTL latency 0
SELECT count(*) FROM gen;
