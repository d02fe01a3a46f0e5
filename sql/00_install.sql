--
-- The wrapper installs, and every option is checked when it is set.
--
\getenv emu_url COPERNICA_EMULATOR_URL
\getenv token COPERNICA_TOKEN

CREATE EXTENSION copernica_fdw;
SELECT fdwname, fdwhandler::regproc, fdwvalidator::regproc
  FROM pg_foreign_data_wrapper WHERE fdwname = 'copernica_fdw';

-- unknown options name the valid ones, for each kind of object
CREATE SERVER bad FOREIGN DATA WRAPPER copernica_fdw OPTIONS (host 'x');
CREATE SERVER copernica FOREIGN DATA WRAPPER copernica_fdw OPTIONS (url :'emu_url');
CREATE USER MAPPING FOR CURRENT_USER SERVER copernica OPTIONS (token 'x');
CREATE FOREIGN TABLE bad (id bigint) SERVER copernica OPTIONS (databse 'Customers');
CREATE FOREIGN TABLE bad (id bigint OPTIONS (name 'x')) SERVER copernica OPTIONS (database 'Customers');
-- a server option that is not a table option
CREATE FOREIGN TABLE bad (id bigint) SERVER copernica OPTIONS (database 'Customers', url 'https://api.copernica.com/v2');

-- values are checked too
ALTER SERVER copernica OPTIONS (ADD page_size '0');
ALTER SERVER copernica OPTIONS (ADD page_size '1001');
ALTER SERVER copernica OPTIONS (ADD page_size 'many');
ALTER SERVER copernica OPTIONS (ADD connect_timeout '-1');
ALTER SERVER copernica OPTIONS (ADD timezone 'Mars/Olympus_Mons');
ALTER SERVER copernica OPTIONS (ADD updatable 'perhaps');
ALTER SERVER copernica OPTIONS (ADD max_concurrency '0');
ALTER SERVER copernica OPTIONS (SET url 'ftp://api.copernica.com/v2');
ALTER SERVER copernica OPTIONS (ADD access_token '');
ALTER SERVER copernica OPTIONS (ADD page_size '500', ADD timezone 'Europe/Amsterdam');
ALTER SERVER copernica OPTIONS (DROP page_size);
CREATE FOREIGN TABLE bad (id bigint) SERVER copernica OPTIONS (resource 'profiles');
CREATE FOREIGN TABLE bad (id bigint) SERVER copernica OPTIONS (resource 'interests');
CREATE FOREIGN TABLE bad (id bigint) SERVER copernica OPTIONS (resource 'view_profiles');
CREATE FOREIGN TABLE bad (id bigint) SERVER copernica OPTIONS (page_size '10');
CREATE FOREIGN TABLE bad (id bigint) SERVER copernica OPTIONS (database 'Customers', view '1');

-- without a token, a scan says where to put one
CREATE FOREIGN TABLE no_token (id bigint) SERVER copernica OPTIONS (database 'Customers');
SELECT * FROM no_token;
DROP FOREIGN TABLE no_token;

-- the shared setup of the tests that follow
CREATE USER MAPPING FOR CURRENT_USER SERVER copernica OPTIONS (access_token :'token');
CREATE FOREIGN TABLE databases (id bigint, name text, description text)
    SERVER copernica OPTIONS (resource 'databases');
SELECT * FROM databases ORDER BY id;

-- EXPLAIN that reads the same on every PostgreSQL version (as PostgreSQL's
-- own tests filter theirs): 18 shows actual row counts with two decimals,
-- versions print the two sides of a join clause in different orders, 17
-- orders some Output lists differently (so they are sorted here), and 17
-- calls an InitPlan's value (InitPlan 1).col1 where 15 says $0.
CREATE FUNCTION explain_portable(options text, query text) RETURNS SETOF text
LANGUAGE plpgsql AS $$
DECLARE
    line text;
    m text[];
    params text[] := '{}';
    names text[] := '{}';
    i int;
BEGIN
    FOR line IN EXECUTE 'EXPLAIN (' || options || ') ' || query LOOP
        line := regexp_replace(line, '(actual rows=\d+)\.00 ', '\1 ');
        m := regexp_match(line, '^(\s*Filter: )\(([a-z_][\w.]*) = ([a-z_][\w.]*)\)$');
        IF m IS NOT NULL AND m[2] > m[3] THEN
            line := m[1] || '(' || m[3] || ' = ' || m[2] || ')';
        END IF;
        m := regexp_match(line, '^(\s*Output: )(.*)$');
        IF m IS NOT NULL THEN
            line := m[1] || (SELECT string_agg(x, ', ' ORDER BY x COLLATE "C")
                             FROM unnest(string_to_array(m[2], ', ')) x);
        END IF;
        m := regexp_match(line, '^(\s*InitPlan (\d+)) \(returns (.*)\)$');
        IF m IS NOT NULL THEN
            line := m[1];
            FOR i IN 1 .. cardinality(string_to_array(m[3], ',')) LOOP
                params := params || (string_to_array(m[3], ','))[i];
                names := names || format('(InitPlan %s).col%s', m[2], i);
            END LOOP;
        ELSIF line !~ 'Copernica' THEN
            FOR i IN 1 .. cardinality(params) LOOP
                line := regexp_replace(line, '\' || params[i] || '(?!\d)', names[i], 'g');
            END LOOP;
        END IF;
        RETURN NEXT line;
    END LOOP;
END $$;
