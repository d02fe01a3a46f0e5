--
-- The rows an INSERT creates in Copernica must not feed the scan that
-- drives it, whichever way the statement reaches the foreign table: a
-- data-modifying WITH or routing through a partitioned table.  Each would
-- otherwise read its own new profiles and never end (statement_timeout
-- guards the test).  An UPDATE never routes rows into Copernica (07_paths).
--
\! $EMUCTL reset generate 300 --shape clustered
CREATE FOREIGN TABLE ip_customers (id bigint, email text) SERVER copernica
  OPTIONS (database 'Customers', page_size '50', max_concurrency '4');
SELECT count(*) AS profiles FROM ip_customers \gset
SET statement_timeout = '60s';
-- a data-modifying WITH: the statement is a SELECT
\! $EMUCTL clear-log
WITH made AS (INSERT INTO ip_customers (email) SELECT email FROM ip_customers RETURNING 1)
SELECT count(*) = :profiles AS made_one_each FROM made;
\! $EMUCTL log | grep -c 'orderby=id&order=desc'
SELECT count(*) = 2 * :profiles AS doubled FROM ip_customers;
-- routed through a partitioned table whose default partition is Copernica
CREATE TABLE ip_parted (id bigint, email text) PARTITION BY RANGE (id);
CREATE TABLE ip_local PARTITION OF ip_parted FOR VALUES FROM (-1000) TO (0);
CREATE FOREIGN TABLE ip_remote PARTITION OF ip_parted DEFAULT SERVER copernica
  OPTIONS (database 'Customers', page_size '50');
\! $EMUCTL clear-log
INSERT INTO ip_parted (email) SELECT email FROM ip_customers WHERE id > 0;
\! $EMUCTL log | grep -c 'orderby=id&order=desc'
SELECT count(*) = 4 * :profiles AS doubled_again FROM ip_customers;
-- a plain INSERT into a local partitioned table asks for no ceiling
CREATE TABLE ip_all_local (id bigint, email text) PARTITION BY RANGE (id);
CREATE TABLE ip_all_local_d PARTITION OF ip_all_local DEFAULT;
\! $EMUCTL clear-log
INSERT INTO ip_all_local SELECT id, email FROM ip_customers;
\! $EMUCTL log | grep -c 'orderby=id&order=desc'
RESET statement_timeout;
-- UPDATE cannot route rows into a Copernica partition
INSERT INTO ip_local VALUES (-1, 'moved@example.com');
UPDATE ip_parted SET id = 5 WHERE id = -1;
DROP TABLE ip_parted, ip_all_local;
DROP FOREIGN TABLE ip_customers;
