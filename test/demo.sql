-- test/demo.sql: copernica_fdw against the emulator's demo dataset.
-- Run by test/demo.sh; by hand: export COPERNICA_EMULATOR_URL and
-- COPERNICA_TOKEN, then psql -f test/demo.sql.

\set ON_ERROR_STOP on
\getenv emu_url COPERNICA_EMULATOR_URL
\getenv token COPERNICA_TOKEN

\echo
\echo '== Set up: the extension, a server, a user mapping and three foreign tables'
CREATE EXTENSION copernica_fdw;
CREATE SERVER copernica FOREIGN DATA WRAPPER copernica_fdw
    OPTIONS (url :'emu_url');
CREATE USER MAPPING FOR CURRENT_USER SERVER copernica
    OPTIONS (access_token :'token');

-- the profiles of database "Customers"; columns match fields by name
CREATE FOREIGN TABLE customers (
    id        bigint,
    email     text,
    firstname text,
    lastname  text,
    city      text,
    age       integer,
    score     numeric,
    birthday  date,
    segment   text,
    interests text[],
    modified  timestamp
) SERVER copernica OPTIONS (database 'Customers');

-- the subprofiles in collection "Orders"; profile is the owning profile's ID
CREATE FOREIGN TABLE orders (
    id          bigint,
    profile     bigint,
    ordernumber text,
    total       numeric,
    placed      timestamp,
    status      text
) SERVER copernica OPTIONS (database 'Customers', collection 'Orders');

-- a read-only listing
CREATE FOREIGN TABLE databases (
    id          bigint,
    name        text,
    description text
) SERVER copernica OPTIONS (resource 'databases');

\echo
\echo '== The databases in the account'
SELECT id, name, description FROM databases ORDER BY id;

\echo
\echo '== A first look at the profiles'
SELECT id, firstname, lastname, city, age, birthday, interests
FROM customers ORDER BY id LIMIT 5;

\echo
\echo '== How "Amsterdam" is spelled in the data'
SELECT city, count(*) FROM customers
WHERE lower(city) = 'amsterdam' GROUP BY city ORDER BY city;

\echo
\echo '== Customers in Amsterdam: Copernica compares text case-insensitively,'
\echo '== PostgreSQL does not; the condition is sent and also rechecked locally,'
\echo '== so the answer is exactly PostgreSQL''s'
EXPLAIN (COSTS OFF)
SELECT id, firstname, lastname, city FROM customers WHERE city = 'Amsterdam';
SELECT id, firstname, lastname, city FROM customers WHERE city = 'Amsterdam'
ORDER BY id;

\echo
\echo '== A local table joined with a foreign one'
CREATE TABLE loyalty (customer_id bigint PRIMARY KEY, tier text NOT NULL);
INSERT INTO loyalty
SELECT id, 'gold' FROM customers ORDER BY score DESC NULLS LAST, id LIMIT 2;
INSERT INTO loyalty
SELECT id, 'silver' FROM customers
WHERE id NOT IN (SELECT customer_id FROM loyalty)
ORDER BY score DESC NULLS LAST, id LIMIT 3;
SELECT l.tier, c.firstname, c.lastname, c.email, c.score
FROM loyalty l JOIN customers c ON c.id = l.customer_id
ORDER BY l.tier, c.score DESC, c.id;

\echo
\echo '== Order totals per customer (subprofiles joined with profiles)'
SELECT c.id, c.firstname, c.lastname,
       count(*) AS orders, sum(o.total) AS total
FROM orders o JOIN customers c ON c.id = o.profile
GROUP BY c.id, c.firstname, c.lastname
ORDER BY total DESC, c.id
LIMIT 5;

\echo
\echo '== ETL: copy the profiles into a local table'
CREATE TABLE local_customers AS
SELECT id, email, firstname, lastname, city, age, birthday
FROM customers WHERE age < 40;
INSERT INTO local_customers
SELECT id, email, firstname, lastname, city, age, birthday
FROM customers WHERE age >= 40 OR age IS NULL;
SELECT count(*) AS copied, (SELECT count(*) FROM customers) AS in_copernica
FROM local_customers;

\echo
\echo '== Writing back: a new profile, an update, and what Copernica stored'
INSERT INTO customers (email, firstname, lastname, city, age, interests)
VALUES ('new.customer@example.com', 'Nieuw', 'Klant', 'Utrecht', 30, '{news}')
RETURNING id, email, segment, modified IS NOT NULL AS stored;
UPDATE customers SET age = age + 1, segment = 'gold'
WHERE email = 'new.customer@example.com'
RETURNING id, age, segment;

\echo
\echo '== What was sent: the request behind a selective query'
EXPLAIN (VERBOSE, COSTS OFF)
SELECT id, email FROM customers WHERE age >= 60 ORDER BY id DESC LIMIT 3;

\echo
\echo '== Campaign report: which mailings brought in revenue'
\echo '== The mailing tables, typed from the docs, in a schema of their own'
CREATE SCHEMA mail;
IMPORT FOREIGN SCHEMA "_mailings" FROM SERVER copernica INTO mail;
-- the web shop's own orders, which Copernica never sees
CREATE TABLE web_orders (
    order_id    integer PRIMARY KEY,
    customer_id bigint NOT NULL,        -- the Copernica profile ID
    placed      timestamp NOT NULL,
    revenue     numeric(10,2) NOT NULL
);
INSERT INTO web_orders VALUES
    (5001,  1, '2024-03-15 09:12', 129.00),
    (5002, 13, '2024-03-16 10:00',  59.95),
    (5003,  4, '2024-03-18 20:00', 249.50),
    (5004,  2, '2024-03-20 12:00',  35.00),
    (5005, 16, '2024-03-30 08:00',  80.00),
    (5006,  7, '2024-04-02 09:00',  42.00),
    (5007, 24, '2024-04-04 15:00', 310.00),
    (5008,  1, '2024-04-02 12:00',  18.50),
    (5009,  9, '2024-04-10 10:00',  22.00);

\echo
\echo '== Per mailing: sent, opened, clicked, and the orders placed within 7 days'
\echo '== of a customer''s first click in it'
CREATE VIEW campaign_report AS
WITH first_click AS (
    SELECT emailing, profile, min("timestamp") AS clicked
    FROM mail.publisher_clicks GROUP BY emailing, profile
), attributed AS (
    SELECT f.emailing, f.profile, o.order_id, o.revenue
    FROM first_click f
    JOIN web_orders o ON o.customer_id = f.profile
     AND o.placed BETWEEN f.clicked AND f.clicked + interval '7 days'
)
SELECT e.id, e.subject, e."timestamp"::date AS sent_on,
       e.destinations AS sent, s.impressions_unique AS opened,
       (SELECT count(*) FROM first_click f WHERE f.emailing = e.id) AS clicked,
       count(a.order_id) AS orders, coalesce(sum(a.revenue), 0) AS revenue
FROM mail.publisher_emailings e
JOIN mail.publisher_statistics s ON s.emailing = e.id
LEFT JOIN attributed a ON a.emailing = e.id
GROUP BY e.id, e.subject, e."timestamp", e.destinations, s.impressions_unique;
SELECT * FROM campaign_report ORDER BY id;

\echo
\echo '== The requests behind it: each table says how many it made'
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF)
SELECT * FROM campaign_report;

\echo
\echo '== Recipients of the spring sale who bought within a week of the send,'
\echo '== clicked or not (destinations joined with the local orders)'
SELECT d.profile, d.timestampsent, o.order_id, o.revenue,
       EXISTS (SELECT FROM mail.publisher_clicks c
               WHERE c.emailing = d.emailing AND c.profile = d.profile) AS clicked
FROM mail.publisher_destinations d
JOIN web_orders o ON o.customer_id = d.profile
 AND o.placed BETWEEN d.timestampsent AND d.timestampsent + interval '7 days'
WHERE d.emailing = 1281
ORDER BY d.profile, o.order_id;

\echo
\echo '== Whose account the token opens'
SELECT name, company FROM copernica_identity('copernica');
