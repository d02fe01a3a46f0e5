--
-- INSERT INTO t SELECT ... FROM t: the scan reads only the rows there were
-- when it began (new IDs are higher: one request asks for the largest, and
-- id<= it bounds every page), else it would read the rows the INSERT
-- creates and never end.  Profiles and subprofiles, several pages each.
--
\! $EMUCTL reset generate 3000 --shape sparse
CREATE FOREIGN TABLE si_customers (id bigint, email text) SERVER copernica
  OPTIONS (database 'Customers', page_size '100', max_concurrency '4');
CREATE FOREIGN TABLE si_orders (id bigint, profile bigint, total float8) SERVER copernica
  OPTIONS (database 'Customers', collection 'Orders', page_size '100');
SELECT count(*) AS profiles FROM si_customers;
SELECT count(*) AS orders FROM si_orders \gset
SET statement_timeout = '120s';
\! $EMUCTL clear-log
INSERT INTO si_customers (email) SELECT email FROM si_customers;
\! $EMUCTL log | grep -c '^GET /v2/database/Customers/profiles?start=0&limit=1&total=false&orderby=id&order=desc'
\! $EMUCTL log | grep -c '^POST /v2/database/Customers/profiles'
SELECT count(*) AS profiles, count(DISTINCT email) AS emails FROM si_customers;
-- a subprofile table likewise, through another foreign table as target
CREATE FOREIGN TABLE si_orders_too (profile bigint, total float8) SERVER copernica
  OPTIONS (database 'Customers', collection 'Orders');
INSERT INTO si_orders_too SELECT profile, total FROM si_orders;
SELECT count(*) = 2 * :orders AS doubled FROM si_orders;
-- a plain scan asks for no ceiling
\! $EMUCTL clear-log
SELECT count(*) > 0 AS rows FROM (SELECT email FROM si_customers) s;
\! $EMUCTL log | grep -c 'order=desc'
RESET statement_timeout;
DROP FOREIGN TABLE si_customers, si_orders, si_orders_too;
