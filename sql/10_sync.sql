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
\! $EMUCTL state > /tmp/sync_before.$PGPORT.json
\! $EMUCTL clear-log
INSERT INTO sync_customers (email, firstname, city) VALUES ('jan.jansen@example.com', 'Jan-Willem', 'Zwolle');
\! $EMUCTL log --status | grep -v '?limit='
\! $EMUCTL profile 1 | python3 -c "import json,sys; p=json.load(sys.stdin); print(p['fields']['email'], p['fields']['firstname'], p['fields']['city'])"
-- every other profile is exactly as it was
\! $EMUCTL state | python3 -c "import json,sys; a=json.load(open('/tmp/sync_before.$PGPORT.json')); b=json.load(sys.stdin); pa={p['ID']:p for p in a['profiles']}; pb={p['ID']:p for p in b['profiles']}; sa={p['ID']:p for p in a['subprofiles']}; sb={p['ID']:p for p in b['subprofiles']}; print('profiles:', len(pb), 'changed:', sorted(i for i in pb if pb[i]!=pa.get(i)), 'subprofiles changed:', sorted(i for i in sb if sb[i]!=sa.get(i)))"; rm -f /tmp/sync_before.$PGPORT.json

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

-- subprofiles: the key matches within the profile
CREATE FOREIGN TABLE sync_orders (id bigint, profile bigint, ordernumber text, total numeric)
    SERVER copernica OPTIONS (database 'Customers', collection 'Orders', upsert_key 'ordernumber');
SELECT id, profile, ordernumber, total FROM sync_orders WHERE profile = 1 ORDER BY id;
\! $EMUCTL clear-log
INSERT INTO sync_orders (profile, ordernumber, total) VALUES (1, 'ORD-1001', 99.5), (1, 'NEW-1', 5) RETURNING id, profile, ordernumber, total;
\! $EMUCTL log --status | grep -v -e '/fields' -e 'collections'
SELECT id, profile, ordernumber, total FROM sync_orders WHERE profile = 1 ORDER BY id;
\! $EMUCTL subprofiles 1
