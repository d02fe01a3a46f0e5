--
-- Faults: every query either returns exactly the right rows or fails with a
-- clear error, and no write is lost or doubled.
--
\! $EMUCTL reset demo
CREATE FOREIGN TABLE f_customers (id bigint, email text, age integer)
    SERVER copernica OPTIONS (database 'Customers');
SELECT count(*), sum(id) FROM f_customers;   -- plans once, caching metadata

-- overload pages (503, 504, 502) and 429 are retried, and counted
\! $EMUCTL fail 503 2
SELECT explain_portable('ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF, BUFFERS OFF',
                        'SELECT id FROM f_customers');
\! $EMUCTL fail 504 1
SELECT count(*), sum(id) FROM f_customers;
\! $EMUCTL fail 502 1
SELECT count(*), sum(id) FROM f_customers;
\! $EMUCTL clear-log
\! $EMUCTL fail 429 1 --retry-after 1
SELECT count(*), sum(id) FROM f_customers;
\! $EMUCTL log --status | grep -v -e '?limit=' -e '/fields'

-- a dropped connection and a truncated body are retried for a GET
\! $EMUCTL drop 1
SELECT count(*), sum(id) FROM f_customers;
\! $EMUCTL truncate 1
SELECT count(*), sum(id) FROM f_customers;

-- when the retries run out, the error says what came back
ALTER SERVER copernica OPTIONS (ADD max_retries '2');
\! $EMUCTL fail 503 10
SELECT count(id) FROM f_customers;
\! $EMUCTL clear-faults
SELECT count(*) FROM f_customers;

-- garbage is an error, never a short result (count(id): a scan, not a count)
\! $EMUCTL malformed 1
SELECT count(id) FROM f_customers;
\! $EMUCTL invalid-utf8 1
SELECT count(id) FROM f_customers;
-- the request in an error's context is cut short: values from the query
-- make it long (each up to 1000 bytes is sent)
\! $EMUCTL malformed 1
DO $$
DECLARE
    ctx text;
BEGIN
    PERFORM count(id) FROM f_customers
      WHERE email = repeat('x', 1000) AND email LIKE repeat('x', 999) || '%';
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS ctx = PG_EXCEPTION_CONTEXT;
    RAISE NOTICE 'context: % bytes, %', length(ctx),
        substring(ctx FROM '\.\.\. \([0-9]+ bytes\)');
END $$;
SELECT count(*), sum(id) FROM f_customers;  -- and the backend goes on

-- a 400 is never retried
\! $EMUCTL clear-log
CREATE FOREIGN TABLE f_nowhere (id bigint) SERVER copernica OPTIONS (database 'Nowhere');
SELECT * FROM f_nowhere;
\! $EMUCTL log --status | sort

-- a POST is retried only when it certainly never reached Copernica: a 429,
-- and the load balancer's "too many requests" page (a 503 or 504)
\! $EMUCTL clear-log
\! $EMUCTL fail 503 1 --method POST
INSERT INTO f_customers (email) VALUES ('lb503@example.com');
\! $EMUCTL fail 504 1 --method POST
INSERT INTO f_customers (email) VALUES ('lb504@example.com');
\! $EMUCTL fail 429 1 --method POST --retry-after 0
INSERT INTO f_customers (email) VALUES ('slow429@example.com');
\! $EMUCTL log --status | grep POST
-- but not once it may have: a 502, a 503 without that page, a dropped
-- connection; no duplicate, and the error says the outcome is unknown
\! $EMUCTL clear-log
\! $EMUCTL fail 502 1 --method POST
INSERT INTO f_customers (email) VALUES ('once@example.com');
\! $EMUCTL answer 503 1 '<html><body>Service Unavailable</body></html>' --content-type text/html --method POST
INSERT INTO f_customers (email) VALUES ('once@example.com');
\! $EMUCTL log --status | grep POST
\! $EMUCTL drop 1
INSERT INTO f_customers (email) VALUES ('twice@example.com');
\! $EMUCTL log --status | grep POST
SELECT email, count(*) FROM f_customers
  WHERE email IN ('lb503@example.com', 'lb504@example.com', 'slow429@example.com',
                  'once@example.com', 'twice@example.com')
  GROUP BY email ORDER BY email;
-- PUT and DELETE are retried: the fault is armed for the write, not for the
-- scan that finds its row
\! $EMUCTL clear-log
\! $EMUCTL fail 503 1 --method PUT
UPDATE f_customers SET age = 99 WHERE id = 5;
\! $EMUCTL fail 503 1 --method DELETE
DELETE FROM f_customers WHERE id = 6;
\! $EMUCTL log --status | grep -v -e '^GET'
SELECT id, age FROM f_customers WHERE id IN (5, 6);
ALTER SERVER copernica OPTIONS (DROP max_retries);

-- rows that change while a scan pages through them: a profile added while
-- reading newest first shifts nothing (each page asks for IDs below the
-- last one read), so each row comes once (offset paging read one twice)
\! $EMUCTL reset demo
CREATE FUNCTION add_profile_at(id bigint, at bigint) RETURNS bigint
LANGUAGE plpgsql AS $$
BEGIN
    IF id = at THEN
        INSERT INTO f_customers (email) VALUES ('during@example.com');
    END IF;
    RETURN id;
END$$;
ALTER FOREIGN TABLE f_customers OPTIONS (ADD page_size '5', ADD max_concurrency '1');
SELECT add_profile_at(id, 21) FROM f_customers ORDER BY id DESC;
SELECT count(*) FROM f_customers;
ALTER FOREIGN TABLE f_customers OPTIONS (DROP page_size, DROP max_concurrency);
