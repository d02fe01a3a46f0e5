--
-- Keeping Copernica in sync: upsert on a key, the live ID set, unsubscribes
-- and interests, proven from the emulator's state and request log.
--
\! $EMUCTL reset demo
SET timezone = 'UTC';
SET datestyle = 'ISO, YMD';

-- upsert_key is a table option of profile and subprofile tables only
CREATE FOREIGN TABLE bad (id bigint) SERVER copernica
    OPTIONS (resource 'databases', upsert_key 'email');
CREATE FOREIGN TABLE bad (id bigint) SERVER copernica
    OPTIONS (database 'Customers', upsert_key '');

CREATE FOREIGN TABLE sync_customers (
    id bigint, email text, firstname text, city text, age integer,
    interests text[], modified timestamp
) SERVER copernica OPTIONS (database 'Customers', upsert_key 'email');

-- one row that matches: a PUT with the key as the condition and
-- create=true, nothing else; only that profile changes
\! $EMUCTL profile 1 | python3 -c "import json,sys; p=json.load(sys.stdin); print(p['fields']['email'], p['fields']['firstname'], p['fields']['city'])"
\set state_before `$EMUCTL state`
\! $EMUCTL clear-log
INSERT INTO sync_customers (email, firstname, city) VALUES ('jan.jansen@example.com', 'Jan-Willem', 'Zwolle');
\! $EMUCTL log --status | grep -v '?limit='
\! $EMUCTL profile 1 | python3 -c "import json,sys; p=json.load(sys.stdin); print(p['fields']['email'], p['fields']['firstname'], p['fields']['city'])"
-- every other profile is exactly as it was
\set state_after `$EMUCTL state`
SELECT count(*) AS profiles,
       array_agg(a->>'ID' ORDER BY (a->>'ID')::int) FILTER (WHERE a IS DISTINCT FROM b) AS changed
  FROM jsonb_array_elements(:'state_after'::jsonb->'profiles') a
  LEFT JOIN jsonb_array_elements(:'state_before'::jsonb->'profiles') b ON a->>'ID' = b->>'ID';
SELECT count(*) AS subprofiles,
       array_agg(a->>'ID' ORDER BY (a->>'ID')::int) FILTER (WHERE a IS DISTINCT FROM b) AS changed
  FROM jsonb_array_elements(:'state_after'::jsonb->'subprofiles') a
  LEFT JOIN jsonb_array_elements(:'state_before'::jsonb->'subprofiles') b ON a->>'ID' = b->>'ID';
\unset state_before
\unset state_after

-- Copernica matches the key without regard to case: the same profile again
\! $EMUCTL clear-log
INSERT INTO sync_customers (email, age) VALUES ('JAN.JANSEN@EXAMPLE.COM', 51) RETURNING id, email, age;
\! $EMUCTL log | grep -v '/fields'
SELECT id, email, firstname, age FROM sync_customers WHERE id = 1;

-- a key that matches nothing creates the profile: RETURNING id from X-Created
\! $EMUCTL clear-log
INSERT INTO sync_customers (email, firstname) VALUES ('nieuw@example.com', 'Nieuw') RETURNING id;
\! $EMUCTL log --status | grep -v '/fields'
SELECT id, email, firstname FROM sync_customers WHERE email = 'nieuw@example.com';

-- bad keys are errors before any write: NULL, left out, empty, blank at an
-- end, and only the field definitions are read
\! $EMUCTL clear-log
INSERT INTO sync_customers (email, firstname) VALUES (NULL, 'x');
INSERT INTO sync_customers (firstname) VALUES ('x');
INSERT INTO sync_customers (email, firstname) VALUES ('', 'x');
INSERT INTO sync_customers (email, firstname) VALUES ('a@example.com ', 'x');
INSERT INTO sync_customers (email, firstname) VALUES (E'a@example.com\nb', 'x');
-- a bad key in the last row of a statement: no row of it is sent
INSERT INTO sync_customers (email, firstname) VALUES ('ok1@example.com', 'x'), ('ok2@example.com', 'x'), (NULL, 'y');
\! $EMUCTL log | sort | uniq -c
-- their SQLSTATEs: not_null_violation, invalid_parameter_value
\set VERBOSITY sqlstate
INSERT INTO sync_customers (email, firstname) VALUES (NULL, 'x');
INSERT INTO sync_customers (firstname) VALUES ('x');
INSERT INTO sync_customers (email, firstname) VALUES ('', 'x');
INSERT INTO sync_customers (email, firstname) VALUES (' a@example.com', 'x');
\set VERBOSITY default

-- an unknown key field would match every profile: an error before any write
CREATE FOREIGN TABLE sync_unknown (id bigint, customer_id text, email text)
    SERVER copernica OPTIONS (database 'Customers', upsert_key 'customer_id');
\! $EMUCTL clear-log
INSERT INTO sync_unknown (customer_id, email) VALUES ('C1', 'c1@example.com');
\! $EMUCTL log
-- the key names a column, which must be a field of a type compared as sent
ALTER FOREIGN TABLE sync_unknown DROP COLUMN customer_id;
ALTER FOREIGN TABLE sync_unknown OPTIONS (SET upsert_key 'nope');
INSERT INTO sync_unknown (email) VALUES ('C1');
ALTER FOREIGN TABLE sync_unknown OPTIONS (SET upsert_key 'id');
INSERT INTO sync_unknown (email) VALUES ('C1');
CREATE FOREIGN TABLE sync_by_date (id bigint, birthday date, email text)
    SERVER copernica OPTIONS (database 'Customers', upsert_key 'birthday');
INSERT INTO sync_by_date (birthday, email) VALUES ('2000-01-01', 'd@example.com');
-- an integer key must be a plain integer (Copernica casts "abc" to 0)
CREATE FOREIGN TABLE sync_by_age (id bigint, age text, email text)
    SERVER copernica OPTIONS (database 'Customers', upsert_key 'age');
\! $EMUCTL clear-log
INSERT INTO sync_by_age (age, email) VALUES ('abc', 'e@example.com');
INSERT INTO sync_by_age (age, email) VALUES ('-', 'e@example.com');
\! $EMUCTL log | grep -c -v '/fields?'
-- SQLSTATEs: fdw_column_name_not_found, undefined_column,
-- fdw_invalid_attribute_value, fdw_invalid_data_type, invalid_parameter_value
\set VERBOSITY sqlstate
CREATE FOREIGN TABLE sync_unknown2 (id bigint, customer_id text, email text)
    SERVER copernica OPTIONS (database 'Customers', upsert_key 'customer_id');
INSERT INTO sync_unknown2 (customer_id, email) VALUES ('C1', 'c1@example.com');
ALTER FOREIGN TABLE sync_unknown OPTIONS (SET upsert_key 'nope');
INSERT INTO sync_unknown (email) VALUES ('C1');
ALTER FOREIGN TABLE sync_unknown OPTIONS (SET upsert_key 'id');
INSERT INTO sync_unknown (email) VALUES ('C1');
INSERT INTO sync_by_date (birthday, email) VALUES ('2000-01-01', 'd@example.com');
INSERT INTO sync_by_age (age, email) VALUES ('abc', 'e@example.com');
\set VERBOSITY default

-- a batch: rows are sent concurrently, and two rows with one key (as
-- Copernica compares keys) are never in flight together, so the second
-- updates the profile the first created
CREATE TABLE crm (email text, firstname text, age integer);
INSERT INTO crm VALUES ('jan.jansen@example.com', 'Jan', 60),
    ('batch1@example.com', 'B1', 1), ('batch2@example.com', 'B2', 2),
    ('BATCH1@example.com', 'B1 again', 11), ('batch3@example.com', 'B3', 3);
\! $EMUCTL profiles 1
\! $EMUCTL clear-log
INSERT INTO sync_customers (email, firstname, age) SELECT * FROM crm;
-- the first three in flight together, then the other two
\! $EMUCTL log --status | grep '^PUT' | head -n 3 | sort
\! $EMUCTL log --status | grep '^PUT' | tail -n +4 | sort
\! $EMUCTL profiles 1
SELECT email, firstname, age FROM sync_customers
 WHERE lower(email) IN ('jan.jansen@example.com', 'batch1@example.com', 'batch2@example.com', 'batch3@example.com')
 ORDER BY lower(email);
-- running the same sync again changes nothing and creates nothing
INSERT INTO sync_customers (email, firstname, age) SELECT * FROM crm;
\! $EMUCTL profiles 1
EXPLAIN (COSTS OFF) INSERT INTO sync_customers (email, firstname, age) SELECT * FROM crm;

-- COPY upserts too, in batches, with the same checks
\! $EMUCTL clear-log
COPY sync_customers (email, firstname) FROM STDIN;
batch3@example.com	B3 copied
copy1@example.com	C1
Copy1@Example.com	C1 again
\.
\! $EMUCTL log --status | grep '^PUT' | head -n 2 | sort
\! $EMUCTL log --status | grep '^PUT' | tail -n +3 | sort
\! $EMUCTL profiles 1
SELECT email, firstname FROM sync_customers WHERE lower(email) IN ('batch3@example.com', 'copy1@example.com') ORDER BY 1;
COPY sync_customers (email, firstname) FROM STDIN;
ok@example.com	x
	empty key
\.

-- batches run concurrently: a 10,000-row upsert at 20 ms latency is measured
-- in test/bench (bench.py upsert)

-- a failure halfway says which rows were applied: created IDs and updated
-- keys.  Batches of 2: the third batch fails, the first two were applied.
ALTER SERVER copernica OPTIONS (ADD max_retries '0');
ALTER FOREIGN TABLE sync_customers OPTIONS (ADD batch_size '2');
CREATE TABLE crm2 (email text, firstname text);
INSERT INTO crm2 VALUES ('jan.jansen@example.com', 'J1'), ('half1@example.com', 'H1'),
    ('batch2@example.com', 'B2b'), ('half2@example.com', 'H2'), ('half3@example.com', 'H3');
\! $EMUCTL fail 503 1 --after 4 --method PUT
INSERT INTO sync_customers (email, firstname) SELECT * FROM crm2;
\! $EMUCTL clear-faults
SELECT email, firstname FROM sync_customers
 WHERE email IN (SELECT email FROM crm2) ORDER BY email;
ALTER SERVER copernica OPTIONS (DROP max_retries);
ALTER FOREIGN TABLE sync_customers OPTIONS (DROP batch_size);

-- a key Copernica holds twice: the upsert updates both, and RETURNING
-- cannot say which ID; it says so
CREATE FOREIGN TABLE plain_customers (id bigint, email text, firstname text)
    SERVER copernica OPTIONS (database 'Customers');
INSERT INTO plain_customers (email, firstname) VALUES ('twice@example.com', 'A'), ('TWICE@example.com', 'B');
INSERT INTO sync_customers (email, firstname) VALUES ('twice@example.com', 'Both') RETURNING id, email, firstname;
SELECT email, firstname FROM plain_customers WHERE lower(email) = 'twice@example.com' ORDER BY id;

-- subprofiles: the key matches within the profile
CREATE FOREIGN TABLE sync_orders (id bigint, profile bigint, ordernumber text, total numeric)
    SERVER copernica OPTIONS (database 'Customers', collection 'Orders', upsert_key 'ordernumber');
SELECT id, profile, ordernumber, total FROM sync_orders WHERE profile = 1 ORDER BY id;
\! $EMUCTL clear-log
INSERT INTO sync_orders (profile, ordernumber, total) VALUES (1, 'ORD-1001', 99.5), (1, 'NEW-1', 5) RETURNING id, profile, ordernumber, total;
\! $EMUCTL log --status | grep -v -e '/fields' -e 'collections'
SELECT id, profile, ordernumber, total FROM sync_orders WHERE profile = 1 ORDER BY id;
\! $EMUCTL subprofiles 1

-- the live ID set: one request, Copernica's bare array of IDs
CREATE FOREIGN TABLE bad (id bigint) SERVER copernica OPTIONS (resource 'profile_ids');
CREATE FOREIGN TABLE bad (id bigint) SERVER copernica
    OPTIONS (resource 'subprofile_ids', database 'Customers');
CREATE FOREIGN TABLE customer_ids (id bigint) SERVER copernica
    OPTIONS (resource 'profile_ids', database 'Customers');
CREATE FOREIGN TABLE order_ids (id bigint) SERVER copernica
    OPTIONS (resource 'subprofile_ids', database 'Customers', collection 'Orders');
\! $EMUCTL clear-log
SELECT count(*), min(id), max(id), sum(id) FROM customer_ids;
\! $EMUCTL log
\! $EMUCTL profiles 1
SELECT count(*), sum(id) FROM order_ids;
\! $EMUCTL subprofiles 1
EXPLAIN (VERBOSE, COSTS OFF) SELECT id FROM customer_ids;

-- the incremental sync recipe: a local copy, then new and changed rows by
-- modified, removed rows by the ID set
CREATE FOREIGN TABLE n_customers (id bigint, email text, firstname text,
    newsletter text, interests text[], modified timestamp)
    SERVER copernica OPTIONS (database 'Customers');
CREATE TABLE local_copy AS SELECT id, email, firstname, modified FROM n_customers;
ALTER TABLE local_copy ADD PRIMARY KEY (id);
SELECT max(modified) AS high_water FROM local_copy \gset
-- meanwhile, in Copernica: one changed, one removed, one new
UPDATE n_customers SET firstname = 'Changed' WHERE id = 3;
DELETE FROM n_customers WHERE id = 4;
INSERT INTO n_customers (email, firstname) VALUES ('late@example.com', 'Late') RETURNING id;
\! $EMUCTL clear-log
BEGIN;
INSERT INTO local_copy
    SELECT id, email, firstname, modified FROM n_customers WHERE modified >= :'high_water'
    ON CONFLICT (id) DO UPDATE
    SET email = EXCLUDED.email, firstname = EXCLUDED.firstname, modified = EXCLUDED.modified;
DELETE FROM local_copy WHERE id IN (SELECT id FROM local_copy EXCEPT SELECT id FROM customer_ids)
    RETURNING id;
COMMIT;
-- two requests: the changed rows (modified pushed down) and the ID set
\! $EMUCTL log | sed -e 's/modified%3E%3D[^&]*/modified%3E%3D.../'
-- the copy is now the same as Copernica
SELECT count(*) AS differences FROM (
    (SELECT id, email, firstname, modified FROM local_copy
     EXCEPT SELECT id, email, firstname, modified FROM n_customers)
    UNION ALL
    (SELECT id, email, firstname, modified FROM n_customers
     EXCEPT SELECT id, email, firstname, modified FROM local_copy)) d;
SELECT id, firstname FROM local_copy WHERE id IN (3, 4) OR email = 'late@example.com' ORDER BY id;

-- unsubscribing follows the database's configured behaviour, read as a listing
CREATE FOREIGN TABLE customers_unsubscribe (behavior text, fields jsonb) SERVER copernica
    OPTIONS (resource 'unsubscribe', database 'Customers');
CREATE FOREIGN TABLE orders_unsubscribe (behavior text, fields jsonb) SERVER copernica
    OPTIONS (resource 'unsubscribe', database 'Customers', collection 'Orders');
CREATE FOREIGN TABLE newsletter_unsubscribe (behavior text, fields jsonb) SERVER copernica
    OPTIONS (resource 'unsubscribe', database 'Newsletter');
CREATE FOREIGN TABLE bad (behavior text) SERVER copernica OPTIONS (resource 'unsubscribe');
SELECT * FROM customers_unsubscribe;
SELECT * FROM orders_unsubscribe;
SELECT * FROM newsletter_unsubscribe;
SELECT id, newsletter FROM n_customers WHERE id = 7;
\! $EMUCTL clear-log
SELECT copernica_unsubscribe('n_customers', 7);
\! $EMUCTL log --status
SELECT id, newsletter FROM n_customers WHERE id = 7;
-- an ID that is not a live profile of the table is an error before any change
\! $EMUCTL clear-log
SELECT copernica_unsubscribe('n_customers', 26);
SELECT copernica_unsubscribe('n_customers', 4);
SELECT copernica_unsubscribe('n_customers', 0);
SELECT copernica_unsubscribe('customer_ids', 1);
SELECT copernica_unsubscribe('local_copy', 1);
\! $EMUCTL log | grep -c -v '^GET'
-- Newsletter removes the profile
CREATE FOREIGN TABLE nl_profiles (id bigint, email text) SERVER copernica
    OPTIONS (database 'Newsletter');
SELECT copernica_unsubscribe('nl_profiles', 26);
SELECT id FROM nl_profiles ORDER BY id;
-- subprofiles follow their collection's behaviour (here: nothing)
SELECT copernica_unsubscribe('sync_orders', 2);
SELECT id, ordernumber FROM sync_orders WHERE id = 2;
-- changing data needs UPDATE on the table
CREATE ROLE sync_reader;
GRANT SELECT ON n_customers TO sync_reader;
SET ROLE sync_reader;
SELECT copernica_unsubscribe('n_customers', 8);
SELECT copernica_add_interest('n_customers', 8, 'news');
RESET ROLE;
DROP OWNED BY sync_reader;
DROP ROLE sync_reader;

-- interests one by one; writing the interests column replaces them all
SELECT id, interests FROM n_customers WHERE id = 11;
\! $EMUCTL clear-log
SELECT copernica_remove_interest('n_customers', 11, 'tennis');
\! $EMUCTL log | grep -v '^GET'
\! python3 -c "import json,os,urllib.request; print([e['body'] for e in json.load(urllib.request.urlopen(os.environ['COPERNICA_EMULATOR_CONTROL'] + '/_control/log')) if e['method'] == 'POST'])"
SELECT id, interests FROM n_customers WHERE id = 11;
-- nothing to change: no request that writes
\! $EMUCTL clear-log
SELECT copernica_remove_interest('n_customers', 11, 'tennis');
\! $EMUCTL log | grep -c -v '^GET'
-- the name as Copernica spells it, found without regard to case
SELECT copernica_add_interest('n_customers', 11, 'TENNIS');
SELECT id, interests FROM n_customers WHERE id = 11;
-- an unknown interest is an error before any change
\! $EMUCTL clear-log
SELECT copernica_add_interest('n_customers', 11, 'golf');
\! $EMUCTL log
SELECT copernica_add_interest('sync_orders', 1, 'news');
SELECT copernica_add_interest('n_customers', 26, 'news');
-- SQLSTATEs: undefined_object, invalid_parameter_value, wrong_object_type
\set VERBOSITY sqlstate
SELECT copernica_add_interest('n_customers', 11, 'golf');
SELECT copernica_add_interest('n_customers', 26, 'news');
SELECT copernica_unsubscribe('customer_ids', 1);
\set VERBOSITY default
-- the interests column: the list replaces the whole set
UPDATE n_customers SET interests = '{news}' WHERE id = 11;
SELECT id, interests FROM n_customers WHERE id = 11;
-- the interests column: names Copernica does not know would be dropped
-- without a word, so they are an error before any request that writes
\! $EMUCTL clear-log
UPDATE n_customers SET interests = '{news,golf}' WHERE id = 11;
INSERT INTO n_customers (email, interests) VALUES ('golfer@example.com', '{golf}');
CREATE FOREIGN TABLE j_customers (id bigint, email text, interests jsonb)
    SERVER copernica OPTIONS (database 'Customers');
UPDATE j_customers SET interests = '{"news": 1, "golf": 0}' WHERE id = 11;
UPDATE j_customers SET interests = '["Golf"]' WHERE id = 11;
\! $EMUCTL log | grep -c -v '^GET'
-- known names, in any case, are sent as Copernica spells them
UPDATE n_customers SET interests = '{NEWS,Soccer}' WHERE id = 11;
UPDATE j_customers SET interests = '{"tennis": 1}' WHERE id = 12 RETURNING id, interests;
SELECT id, interests FROM n_customers WHERE id IN (11, 12) ORDER BY id;
