--
-- Options are accepted only where they are read: each on the objects it
-- belongs to (wrapper, server, user mapping, table, column), and on a table
-- only the ones its kind reads.  What needs only one object's options is
-- checked when they are set, not when a query is planned.
--
\getenv emu_url COPERNICA_EMULATOR_URL
\getenv token COPERNICA_TOKEN
\! $EMUCTL reset demo
SET timezone = 'UTC';
SET datestyle = 'ISO, YMD';

-- every catalog: an option of another object is refused, with the options
-- of this one in the hint
ALTER FOREIGN DATA WRAPPER copernica_fdw OPTIONS (ADD url 'https://api.copernica.com/v2');
CREATE SERVER regress_opt FOREIGN DATA WRAPPER copernica_fdw OPTIONS (database 'Customers');
CREATE SERVER regress_opt FOREIGN DATA WRAPPER copernica_fdw OPTIONS (field 'email');
CREATE SERVER regress_opt FOREIGN DATA WRAPPER copernica_fdw
    OPTIONS (url :'emu_url', max_retries '0');
CREATE USER MAPPING FOR CURRENT_USER SERVER regress_opt OPTIONS (url 'https://api.copernica.com/v2');
CREATE USER MAPPING FOR CURRENT_USER SERVER regress_opt OPTIONS (page_size '10');
CREATE USER MAPPING FOR CURRENT_USER SERVER regress_opt OPTIONS (access_token :'token');
CREATE FOREIGN TABLE opt_t (id bigint) SERVER regress_opt
    OPTIONS (database 'Customers', access_token 'x');
CREATE FOREIGN TABLE opt_t (id bigint) SERVER regress_opt
    OPTIONS (database 'Customers', timezone 'UTC');
CREATE FOREIGN TABLE opt_t (id bigint) SERVER regress_opt
    OPTIONS (database 'Customers', field 'email');
CREATE FOREIGN TABLE opt_t (id bigint OPTIONS (database 'Customers')) SERVER regress_opt
    OPTIONS (database 'Customers');
CREATE FOREIGN TABLE opt_t (id bigint OPTIONS (access_token 'x')) SERVER regress_opt
    OPTIONS (database 'Customers');

-- a table's kind decides which of the table options it reads; the others
-- would be ignored without a word, so they are refused
CREATE FOREIGN TABLE opt_t (id bigint, name text) SERVER regress_opt
    OPTIONS (resource 'databases', database 'Customers');
CREATE FOREIGN TABLE opt_t (id bigint, name text) SERVER regress_opt
    OPTIONS (resource 'collections', database 'Customers', collection 'Orders');
CREATE FOREIGN TABLE opt_t (id bigint, name text) SERVER regress_opt
    OPTIONS (resource 'fields', database 'Customers', view '1');
CREATE FOREIGN TABLE opt_t (id bigint) SERVER regress_opt
    OPTIONS (resource 'profile_ids', database 'Customers', collection 'Orders');
-- read-only tables take no write options
CREATE FOREIGN TABLE opt_t (id bigint, name text) SERVER regress_opt
    OPTIONS (resource 'views', database 'Customers', updatable 'false');
CREATE FOREIGN TABLE opt_t (id bigint) SERVER regress_opt
    OPTIONS (resource 'view_profiles', view '1', batch_size '10');
-- mailing resources take none of the names
CREATE FOREIGN TABLE opt_t (id bigint) SERVER regress_opt
    OPTIONS (resource 'publisher_emailings', database 'Customers');
CREATE FOREIGN TABLE opt_t (id bigint) SERVER regress_opt
    OPTIONS (resource 'ms_emailings', collection '1');
CREATE FOREIGN TABLE opt_t (destination bigint, body text) SERVER regress_opt
    OPTIONS (resource 'publisher_destination_body', view '1');
CREATE FOREIGN TABLE opt_t (template bigint, body text) SERVER regress_opt
    OPTIONS (resource 'ms_template_body', database 'Customers');
CREATE FOREIGN TABLE opt_t (id bigint) SERVER regress_opt
    OPTIONS (resource 'publisher_finalgroups', miniview '1');
-- an upsert key on a table that may not be written
CREATE FOREIGN TABLE opt_t (id bigint, email text) SERVER regress_opt
    OPTIONS (database 'Customers', upsert_key 'email', updatable 'false');

-- a name is looked up in its owner: without the owner the table is refused
-- when it is created, not when it is first read
CREATE FOREIGN TABLE opt_t (id bigint) SERVER regress_opt OPTIONS (collection 'Orders');
CREATE FOREIGN TABLE opt_t (id bigint, name text) SERVER regress_opt
    OPTIONS (resource 'miniviews', collection 'Orders');
CREATE FOREIGN TABLE opt_t (id bigint) SERVER regress_opt
    OPTIONS (resource 'subprofile_ids', collection 'Orders');
CREATE FOREIGN TABLE opt_t (id bigint) SERVER regress_opt
    OPTIONS (resource 'view_profiles', view 'Gold customers');
CREATE FOREIGN TABLE opt_t (id bigint) SERVER regress_opt
    OPTIONS (resource 'miniview_subprofiles', miniview 'Big orders');
CREATE FOREIGN TABLE opt_t (id bigint) SERVER regress_opt
    OPTIONS (resource 'miniview_subprofiles', collection 'Orders', miniview 'Big orders');
-- none of those sent a request
\! $EMUCTL log --count

-- what each kind reads is accepted, and works
CREATE FOREIGN TABLE opt_orders (id bigint, profile bigint, ordernumber text) SERVER regress_opt
    OPTIONS (collection '1', page_size '5', max_concurrency '2', batch_size '10',
             updatable 'true', upsert_key 'ordernumber');
CREATE FOREIGN TABLE opt_emailings (id bigint) SERVER regress_opt
    OPTIONS (resource 'publisher_emailings', page_size '50', max_concurrency '1');
CREATE FOREIGN TABLE opt_gold (id bigint) SERVER regress_opt
    OPTIONS (resource 'view_profiles', database 'Customers', view 'Gold customers');
CREATE FOREIGN TABLE opt_big (id bigint) SERVER regress_opt
    OPTIONS (resource 'miniview_subprofiles', database 'Customers', collection 'Orders',
             miniview 'Big orders');
SELECT count(*) FROM opt_orders;
SELECT count(*) > 0 AS some FROM opt_gold;
SELECT count(*) > 0 AS some FROM opt_big;

-- a column's field option on a listing names the item's key (its items
-- have no fields)
CREATE FOREIGN TABLE opt_dbs (id bigint, db_name text OPTIONS (field 'name'))
    SERVER regress_opt OPTIONS (resource 'databases');
SELECT * FROM opt_dbs ORDER BY id;
CREATE FOREIGN TABLE opt_colls (id bigint, title text OPTIONS (field 'name'))
    SERVER regress_opt OPTIONS (resource 'collections', database 'Customers');
\! $EMUCTL clear-log
SELECT * FROM opt_colls WHERE title = 'Orders';
\! $EMUCTL log

-- ALTER checks the options the table ends up with
ALTER FOREIGN TABLE opt_gold OPTIONS (DROP database);
ALTER FOREIGN TABLE opt_orders OPTIONS (SET collection 'Orders');
ALTER FOREIGN TABLE opt_orders OPTIONS (ADD resource 'subprofile_ids');
ALTER FOREIGN TABLE opt_orders OPTIONS (SET updatable 'false');
ALTER FOREIGN TABLE opt_emailings OPTIONS (ADD updatable 'false');
ALTER FOREIGN TABLE opt_orders OPTIONS (ADD database 'Customers', SET collection 'Orders');
SELECT ftoptions FROM pg_foreign_table WHERE ftrelid = 'opt_orders'::regclass;
SELECT count(*) FROM opt_orders;

DROP SERVER regress_opt CASCADE;
