--
-- IMPORT FOREIGN SCHEMA: one table per database and per collection, typed
-- from Copernica's field definitions; "_all" adds every database and the
-- listings.
--
\! $EMUCTL reset demo
SET timezone = 'UTC';
SET datestyle = 'ISO, YMD';

-- the columns of every table a schema got, with their 'field' options
CREATE FUNCTION imported(schema_name name)
RETURNS TABLE (table_name name, column_name name, type text, field text)
LANGUAGE sql AS $$
    SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod),
           (SELECT substr(o, 7) FROM unnest(a.attfdwoptions) o WHERE o LIKE 'field=%')
      FROM pg_class c
      JOIN pg_namespace n ON n.oid = c.relnamespace
      JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0
     WHERE n.nspname = schema_name AND c.relkind = 'f'
     ORDER BY c.relname, a.attnum
$$;
-- the tables of a schema with their server and table options
CREATE FUNCTION imported_tables(schema_name name)
RETURNS TABLE (table_name name, server name, options text[])
LANGUAGE sql AS $$
    SELECT c.relname, s.srvname, ft.ftoptions
      FROM pg_foreign_table ft
      JOIN pg_class c ON c.oid = ft.ftrelid
      JOIN pg_namespace n ON n.oid = c.relnamespace
      JOIN pg_foreign_server s ON s.oid = ft.ftserver
     WHERE n.nspname = schema_name
     ORDER BY c.relname
$$;

-- one database: its profiles and its collection
CREATE SCHEMA imp;
\! $EMUCTL clear-log
IMPORT FOREIGN SCHEMA "Customers" FROM SERVER copernica INTO imp;
\! $EMUCTL log
SELECT * FROM imported_tables('imp');
SELECT * FROM imported('imp') WHERE table_name IN ('customers', 'customers_orders');
\d+ imp.customers
\d+ imp.customers_orders

-- every imported table reads, every column typed as its field
SELECT count(*), sum(age), round(sum(score)::numeric, 2) AS score,
       count(birthday) AS birthdays, count(lastvisit) AS visits,
       count(*) FILTER (WHERE 'soccer' = ANY (interests)) AS soccer
  FROM imp.customers;
SELECT id, email, firstname, lastname, city, age, score, birthday, signup,
       lastvisit, segment, referrer, newsletter, interests
  FROM imp.customers WHERE id <= 3 ORDER BY id;
SELECT id, length(secret) AS secret_length, created <= modified AS ordered
  FROM imp.customers WHERE id <= 2 ORDER BY id;
SELECT count(*), sum(total)::numeric(10,2), count(DISTINCT profile), min(placed), max(placed)
  FROM imp.customers_orders;
SELECT id, profile, ordernumber, total, placed, status
  FROM imp.customers_orders ORDER BY id LIMIT 3;
-- the collection is named by its ID: no lookup of its name at scan time
\! $EMUCTL clear-log
SELECT count(*) FROM imp.customers_orders WHERE status = 'paid';
\! $EMUCTL log

-- the selections: a view's table has its database's columns, a miniview's
-- its collection's (the fields were asked once per database and collection)
SELECT table_name, array_agg(column_name || ' ' || type || coalesce(' ' || field, '')
                             ORDER BY n) =
       (SELECT array_agg(o.column_name || ' ' || o.type || coalesce(' ' || o.field, '')
                         ORDER BY o.n)
          FROM imported('imp') WITH ORDINALITY AS o(table_name, column_name, type, field, n)
         WHERE o.table_name = CASE WHEN i.table_name LIKE '%\_miniview\_%'
                                   THEN 'customers_orders' ELSE 'customers' END) AS same_columns
  FROM imported('imp') WITH ORDINALITY AS i(table_name, column_name, type, field, n)
 WHERE table_name LIKE '%view%' GROUP BY table_name ORDER BY 1;
\d+ imp.customers_view_gold_customers
-- they read the selection's members: the views' rules are segment==gold and
-- city==Amsterdam (Copernica compares text ignoring case), the
-- miniviews' status==paid and total>100
\! $EMUCTL clear-log
SELECT (SELECT count(*) FROM imp.customers_view_gold_customers) AS gold,
       (SELECT count(*) FROM imp.customers_view_amsterdam) AS amsterdam,
       (SELECT count(*) FROM imp.customers_orders_miniview_paid_orders) AS paid,
       (SELECT count(*) FROM imp.customers_orders_miniview_big_orders) AS big;
\! $EMUCTL log | sort
SELECT (SELECT array_agg(id ORDER BY id) FROM imp.customers_view_gold_customers)
     = (SELECT array_agg(id ORDER BY id) FROM imp.customers WHERE segment = 'gold') AS gold,
       (SELECT array_agg(id ORDER BY id) FROM imp.customers_view_amsterdam)
     = (SELECT array_agg(id ORDER BY id) FROM imp.customers WHERE lower(city) = 'amsterdam')
       AS amsterdam,
       (SELECT array_agg(id ORDER BY id) FROM imp.customers_orders_miniview_paid_orders)
     = (SELECT array_agg(id ORDER BY id) FROM imp.customers_orders WHERE status = 'paid') AS paid,
       (SELECT array_agg(id ORDER BY id) FROM imp.customers_orders_miniview_big_orders)
     = (SELECT array_agg(id ORDER BY id) FROM imp.customers_orders WHERE total > 100) AS big;
SELECT count(*), min(total) > 100 AS all_big FROM imp.customers_orders_miniview_big_orders;

-- the database's name is matched as Copernica does, ignoring case; an ID
-- works too; the table names come from Copernica's spelling either way
CREATE SCHEMA imp_case;
IMPORT FOREIGN SCHEMA "CUSTOMERS" FROM SERVER copernica INTO imp_case;
IMPORT FOREIGN SCHEMA "2" FROM SERVER copernica INTO imp_case;
SELECT * FROM imported_tables('imp_case');
SELECT count(*) FROM imp_case.newsletter;
SELECT count(*) FROM imp_case.newsletter_clicks;

-- LIMIT TO and EXCEPT work on the generated names; fields are only fetched
-- for the tables that are created
CREATE SCHEMA imp_limit;
\! $EMUCTL clear-log
IMPORT FOREIGN SCHEMA "Customers" LIMIT TO (customers_orders)
    FROM SERVER copernica INTO imp_limit;
\! $EMUCTL log
SELECT * FROM imported_tables('imp_limit');
CREATE SCHEMA imp_except;
IMPORT FOREIGN SCHEMA "Customers" EXCEPT (customers_orders)
    FROM SERVER copernica INTO imp_except;
SELECT * FROM imported_tables('imp_except');
SELECT count(*) FROM imp_except.customers;
-- a name that is not generated imports nothing
CREATE SCHEMA imp_none;
\! $EMUCTL clear-log
IMPORT FOREIGN SCHEMA "Customers" LIMIT TO (orders, "Customers")
    FROM SERVER copernica INTO imp_none;
\! $EMUCTL log
SELECT count(*) FROM imported_tables('imp_none');

-- importing again into the same schema: the tables exist
IMPORT FOREIGN SCHEMA "Customers" FROM SERVER copernica INTO imp;

-- errors: an unknown database lists the databases; options are refused
IMPORT FOREIGN SCHEMA "Customer" FROM SERVER copernica INTO imp_none;
IMPORT FOREIGN SCHEMA "1x" FROM SERVER copernica INTO imp_none;
IMPORT FOREIGN SCHEMA "Customers" FROM SERVER copernica INTO imp_none
    OPTIONS (import_default 'true');
IMPORT FOREIGN SCHEMA "Customers" FROM SERVER copernica INTO no_such_schema;
SELECT count(*) FROM imported_tables('imp_none');

-- "_all": every database, and the listings
CREATE SCHEMA allc;
IMPORT FOREIGN SCHEMA "_all" FROM SERVER copernica INTO allc;
SELECT * FROM imported_tables('allc');
SELECT * FROM imported('allc')
 WHERE table_name IN ('databases', 'publisher_emailings', 'ms_emailings',
                      'newsletter', 'newsletter_clicks');
SELECT * FROM allc.databases ORDER BY id;
SELECT id, "timestamp", subject, description, type, from_address->>'email' AS sender,
       destinations, target->>'type' AS target, document, template
  FROM allc.publisher_emailings ORDER BY id;
SELECT id, "timestamp", subject, type, from_address->>'name' AS sender,
       destinations, target->'sources'->0->>'id' AS source, template
  FROM allc.ms_emailings ORDER BY id;
SELECT count(*), count(DISTINCT city), max(age) FROM allc.customers;
SELECT count(*), sum(total)::numeric(10,2) FROM allc.customers_orders;
SELECT id, email, name, interests FROM allc.newsletter ORDER BY id;
SELECT id, profile, url FROM allc.newsletter_clicks ORDER BY id;
-- LIMIT TO applies to the listings as well
CREATE SCHEMA allc_limit;
IMPORT FOREIGN SCHEMA "_all" LIMIT TO (databases, newsletter)
    FROM SERVER copernica INTO allc_limit;
SELECT * FROM imported_tables('allc_limit');

-- odd names: spaces, capitals, a leading digit, quotes, non-ASCII letters,
-- names longer than 63 bytes, fields named like properties, names that come
-- out the same.  The emulator's API cannot create fields, so its state is
-- loaded with two more databases (fields listed out of ID order).
\! python3 -c "import json,os,urllib.request as r; c=os.environ['COPERNICA_EMULATOR_CONTROL'].rstrip('/')+'/_control/'; s=json.load(r.urlopen(c+'state')); F=lambda i,n,t='text',v='':{'ID':str(i),'name':n,'type':t,'value':v}; s['databases'].append({'ID':'3','name':'Customers Orders','description':'odd names','created':'2024-02-29 12:00:00','fields':[F(102,'First Name'),F(101,'first_name'),F(103,'ID','integer','0'),F(104,'E-mail','email'),F(105,'2nd phone','phone'),F(106,'Straße'),F(107,'x'*70+'a'),F(108,'x'*70+'b'),F(109,'created','datetime'),F(110,'Removed','empty_date'),F(111,'SELECT'),F(112,'Amount €','float','0'),F(113,'interests')],'collections':[{'ID':'3','name':'Order Lines','fields':[F(115,'Line Total','float','0'),F(114,'profile','integer','0'),F(116,'Collection')]}]}); s['databases'].append({'ID':'4','name':\"2024 Ünïcode 'DB'\",'description':'','created':'2024-03-01 00:00:00','fields':[F(117,'Naam')],'collections':[]}); s['profiles'].append({'ID':'1000','database':'3','fields':{'First Name':'Ann','first_name':'ann_2','ID':'7','E-mail':'ann@example.com','2nd phone':'+31 6 1234','Straße':'Damrak 1','x'*70+'a':'long a','x'*70+'b':'long b','created':'2020-01-02 03:04:05','Removed':'2021-05-06','SELECT':'chosen','Amount €':'12.5','interests':'none'},'interests':[],'secret':'s1000','created':'2024-03-01 10:00:00','modified':'2024-03-02 11:00:00','removed':False}); s['profiles'].append({'ID':'1001','database':'4','fields':{'Naam':'Jöns'},'interests':[],'created':'2024-03-01 10:00:00','modified':'2024-03-01 10:00:00','removed':False}); s['subprofiles'].append({'ID':'1000','collection':'3','profile':'1000','fields':{'Line Total':'3.25','profile':'42','Collection':'spring'},'secret':'t1000','created':'2024-03-01 10:00:00','modified':'2024-03-01 10:00:00','removed':False}); r.urlopen(r.Request(c+'reset', json.dumps({'load': s}).encode(), method='POST')); print('loaded')"
CREATE SCHEMA odd;
IMPORT FOREIGN SCHEMA "Customers Orders" FROM SERVER copernica INTO odd;
SELECT * FROM imported_tables('odd');
SELECT * FROM imported('odd');
-- the renamed columns read their fields, the properties stay properties
SELECT id, id_2, first_name, first_name_2, e_mail, _2nd_phone, stra_e,
       created, created_2, removed_2, "select", amount__, interests, interests_2
  FROM odd.customers_orders;
SELECT xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx AS a,
       xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx_2 AS b
  FROM odd.customers_orders;
SELECT id, profile, profile_2, line_total, collection_2, secret
  FROM odd.customers_orders_order_lines;
-- names match ignoring the case of ASCII letters only
IMPORT FOREIGN SCHEMA "2024 Ünïcode 'db'" FROM SERVER copernica INTO odd;
SELECT * FROM imported_tables('odd') WHERE table_name LIKE '\_2024%';
SELECT id, naam FROM odd._2024__n_code__db_;
-- "_all": a database whose name comes out like another's table is suffixed
CREATE SCHEMA odd_all;
IMPORT FOREIGN SCHEMA "_all" FROM SERVER copernica INTO odd_all;
SELECT table_name, options FROM imported_tables('odd_all');
SELECT count(*) FROM odd_all.customers_orders;
SELECT count(*) FROM odd_all.customers_orders_2;
SELECT count(*) FROM odd_all.customers_orders_order_lines;

-- nested selections: views of a view and miniviews of a miniview are
-- imported too, named after their parent's table (one more request per
-- selection, for its own nested ones); a nested "Amsterdam" is not the
-- database's
\! $EMUCTL reset demo
\! python3 -c "import json,os,urllib.request as r; c=os.environ['COPERNICA_EMULATOR_CONTROL'].rstrip('/')+'/_control/'; s=json.load(r.urlopen(c+'state')); d=s['databases'][0]; d['views']+=[{'ID':'3','name':'Amsterdam','parent':'1','rules':['city==Amsterdam']},{'ID':'4','name':'Over 40','parent':'3','rules':['age>40']},{'ID':'5','name':'Young','parent':'1','rules':['age<30']}]; d['collections'][0]['miniviews'].append({'ID':'3','name':'Big paid','parent':'1','rules':['total>100']}); r.urlopen(r.Request(c+'reset', json.dumps({'load': s}).encode(), method='POST')); print('loaded')"
CREATE SCHEMA nest;
\! $EMUCTL clear-log
IMPORT FOREIGN SCHEMA "Customers" FROM SERVER copernica INTO nest;
\! $EMUCTL log
SELECT table_name, options FROM imported_tables('nest') WHERE table_name LIKE '%view%';
SELECT (SELECT array_agg(id ORDER BY id) FROM nest.customers_view_gold_customers_view_amsterdam)
     = (SELECT array_agg(id ORDER BY id) FROM nest.customers
         WHERE segment = 'gold' AND lower(city) = 'amsterdam') AS gold_amsterdam,
       (SELECT array_agg(id ORDER BY id)
          FROM nest.customers_view_gold_customers_view_amsterdam_view_over_40)
     = (SELECT array_agg(id ORDER BY id) FROM nest.customers
         WHERE segment = 'gold' AND lower(city) = 'amsterdam' AND age > 40) AS over_40,
       (SELECT array_agg(id ORDER BY id) FROM nest.customers_view_gold_customers_view_young)
     = (SELECT array_agg(id ORDER BY id) FROM nest.customers
         WHERE segment = 'gold' AND age < 30) AS young,
       (SELECT array_agg(id ORDER BY id)
          FROM nest.customers_orders_miniview_paid_orders_miniview_big_paid)
     = (SELECT array_agg(id ORDER BY id) FROM nest.customers_orders
         WHERE status = 'paid' AND total > 100) AS big_paid,
       (SELECT count(*) FROM nest.customers_view_gold_customers_view_amsterdam_view_over_40)
       AS over_40_rows;
-- LIMIT TO and EXCEPT take the nested names
CREATE SCHEMA nest_limit;
\! $EMUCTL clear-log
IMPORT FOREIGN SCHEMA "Customers"
    LIMIT TO (customers_view_gold_customers_view_amsterdam_view_over_40,
              customers_orders_miniview_paid_orders_miniview_big_paid)
    FROM SERVER copernica INTO nest_limit;
\! $EMUCTL log --count
SELECT * FROM imported_tables('nest_limit');
CREATE SCHEMA nest_except;
IMPORT FOREIGN SCHEMA "Customers"
    EXCEPT (customers_view_gold_customers_view_young, customers_view_amsterdam)
    FROM SERVER copernica INTO nest_except;
SELECT table_name FROM imported_tables('nest_except') WHERE table_name LIKE '%view%';
-- a hostile answer that loops (view 4 says its ancestors are nested in it):
-- a selection met before keeps its first table, and the import ends
CREATE SCHEMA nest_loop;
\! $EMUCTL answer 200 5 '{"start":0,"limit":100,"count":3,"total":3,"data":[{"ID":"1","name":"Gold customers"},{"ID":"3","name":"Again"},{"ID":"4","name":"Itself"}]}' --match view/4/views
\! $EMUCTL clear-log
IMPORT FOREIGN SCHEMA "Customers" FROM SERVER copernica INTO nest_loop;
\! $EMUCTL log --count
SELECT (SELECT array_agg(table_name || ' ' || options::text ORDER BY table_name)
          FROM imported_tables('nest_loop'))
     = (SELECT array_agg(table_name || ' ' || options::text ORDER BY table_name)
          FROM imported_tables('nest')) AS same_tables;
\! $EMUCTL clear-faults
-- selections nested deeper than ten levels are an error, not a long walk
\! python3 -c "import json,os,urllib.request as r; c=os.environ['COPERNICA_EMULATOR_CONTROL'].rstrip('/')+'/_control/'; s=json.load(r.urlopen(c+'state')); d=s['databases'][0]; d['views']+=[{'ID':str(10+i),'name':'Level %d' % (i+2),'parent':str(9+i) if i else '1','rules':[]} for i in range(10)]; r.urlopen(r.Request(c+'reset', json.dumps({'load': s}).encode(), method='POST')); print('loaded')"
CREATE SCHEMA nest_deep;
\! $EMUCTL clear-log
IMPORT FOREIGN SCHEMA "Customers" FROM SERVER copernica INTO nest_deep;
\! $EMUCTL log --count
SELECT count(*) FROM imported_tables('nest_deep');

-- clean up
\! $EMUCTL reset demo
SET client_min_messages = warning;
DROP SCHEMA imp, imp_case, imp_limit, imp_except, imp_none, allc, allc_limit,
    odd, odd_all, nest, nest_limit, nest_except, nest_loop, nest_deep CASCADE;
DROP FUNCTION imported(name), imported_tables(name);
RESET client_min_messages;
