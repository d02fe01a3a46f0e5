--
-- Edges of UPDATE and DELETE.
-- 1. An entity Copernica has removed already (another client removed it
--    after the scan read it) is not the statement's: not counted, not
--    returned, no AFTER ROW trigger, as PostgreSQL skips a row deleted
--    concurrently and postgres_fdw one its remote statement did not find;
--    a NOTICE counts them.
-- 2. A BEFORE ROW trigger that changes a column the write leaves out (the
--    ID, a subprofile's profile, created, modified, a second column over
--    a field) is an error before the row's request, as the statement
--    setting it is, where the change was dropped without a word.
-- Row counts from psql's ROW_COUNT, requests from the emulator's log,
-- state from the emulator.
--
\! $EMUCTL reset demo
SET timezone = 'UTC';
SET datestyle = 'ISO, YMD';
CREATE FOREIGN TABLE we_c (id bigint, email text, city text, age integer,
    notes text, created timestamp, modified timestamp)
    SERVER copernica OPTIONS (database 'Customers');
CREATE FOREIGN TABLE we_o (id bigint, profile bigint, ordernumber text, status text)
    SERVER copernica OPTIONS (database 'Customers', collection 'Orders');
-- another client's view of the same database
CREATE FOREIGN TABLE we_other (id bigint) SERVER copernica OPTIONS (database 'Customers');
CREATE TABLE we_log (op text, id bigint);
CREATE FUNCTION we_after() RETURNS trigger LANGUAGE plpgsql AS
$$BEGIN INSERT INTO we_log VALUES (TG_OP, OLD.id); RETURN NULL; END$$;

--
-- 1. Removed already
--
-- the tester's case: one row at a time (an AFTER ROW trigger needs each
-- row's outcome), Copernica answers the DELETE of profile 5 "already
-- removed": RETURNING, the count and the trigger have profile 6 only
CREATE TRIGGER we_after AFTER UPDATE OR DELETE ON we_c
    FOR EACH ROW EXECUTE FUNCTION we_after();
\! $EMUCTL clear-log
\! $EMUCTL answer 400 1 '{"error":{"message":"This profile has already been removed"}}' --match /profile/5 --method DELETE
DELETE FROM we_c WHERE id IN (5, 6) RETURNING id;
\echo :ROW_COUNT
SELECT * FROM we_log ORDER BY id;
\! $EMUCTL log --status | grep -e DELETE -e "GET /v2/profile/"
-- profile 5 stays (the answer was made up), 6 is gone
\! $EMUCTL profile 5 | grep -c '"removed": false'
\! $EMUCTL profile 6 | grep -c '"removed": false'
TRUNCATE we_log;

-- removed for real by another statement between the scan and the write:
-- the BEFORE ROW trigger removes profile 7 through the other table first.
-- RETURNING reads the row before the DELETE, finds it removed, and sends
-- no DELETE; profile 8 goes as usual
CREATE FUNCTION we_remove_first() RETURNS trigger LANGUAGE plpgsql AS
$$BEGIN DELETE FROM we_other WHERE id = OLD.id; RETURN NEW; END$$;
CREATE FUNCTION we_remove_first_del() RETURNS trigger LANGUAGE plpgsql AS
$$BEGIN DELETE FROM we_other WHERE id = OLD.id; RETURN OLD; END$$;
CREATE TRIGGER we_remove_first BEFORE UPDATE ON we_c
    FOR EACH ROW WHEN (OLD.id IN (7, 9)) EXECUTE FUNCTION we_remove_first();
CREATE TRIGGER we_remove_first_del BEFORE DELETE ON we_c
    FOR EACH ROW WHEN (OLD.id IN (7, 9)) EXECUTE FUNCTION we_remove_first_del();
\! $EMUCTL clear-log
DELETE FROM we_c WHERE id IN (7, 8) RETURNING id, email;
\echo :ROW_COUNT
SELECT * FROM we_log ORDER BY id;
\! $EMUCTL log | grep -v -e '/fields' -e '?limit=' -e 'fields%5B%5D'
TRUNCATE we_log;
-- an UPDATE of a removed profile: Copernica accepts the PUT and keeps the
-- fields empty; RETURNING reads it back as removed, so the row is not
-- the statement's either
\! $EMUCTL clear-log
UPDATE we_c SET notes = 'late' WHERE id IN (9, 10) RETURNING id, notes;
\echo :ROW_COUNT
SELECT * FROM we_log ORDER BY id;
\! $EMUCTL log | grep -v -e '/fields' -e '?limit=' -e 'fields%5B%5D'
\! $EMUCTL profile 9 | grep -o '"notes": "[^"]*"'
\! $EMUCTL profile 10 | grep -o '"notes": "[^"]*"'
DROP TRIGGER we_remove_first ON we_c;
DROP TRIGGER we_remove_first_del ON we_c;
TRUNCATE we_log;

-- a subprofile
\! $EMUCTL clear-log
\! $EMUCTL answer 400 1 '{"error":{"message":"This subprofile has already been removed"}}' --match /subprofile/3 --method DELETE
DELETE FROM we_o WHERE id IN (3, 4) RETURNING id, ordernumber;
\echo :ROW_COUNT
\! $EMUCTL log --status | grep DELETE
DROP TRIGGER we_after ON we_c;

-- overlapped requests (no RETURNING, no trigger), two in flight: the
-- first row's answer is checked while later rows are sent ...
ALTER FOREIGN TABLE we_c OPTIONS (ADD max_concurrency '2');
\! $EMUCTL clear-log
\! $EMUCTL answer 400 1 '{"error":{"message":"This profile has already been removed"}}' --match /profile/11 --method DELETE
\! $EMUCTL slow 100 4 --method DELETE
DELETE FROM we_c WHERE id BETWEEN 11 AND 14;
\echo :ROW_COUNT
\! $EMUCTL log --in-flight-at-end 4
\! $EMUCTL log --status | grep DELETE | sort
-- ... the last row's once the plan has run, before the count is read
\! $EMUCTL clear-log
\! $EMUCTL answer 400 1 '{"error":{"message":"This profile has already been removed"}}' --match /profile/18 --method DELETE
\! $EMUCTL slow 100 4 --method DELETE
DELETE FROM we_c WHERE id BETWEEN 15 AND 18;
\echo :ROW_COUNT
\! $EMUCTL log --in-flight-at-end 4
-- four at a time (the default)
ALTER FOREIGN TABLE we_c OPTIONS (DROP max_concurrency);
\! $EMUCTL answer 400 1 '{"error":{"message":"This profile has already been removed"}}' --match /profile/20 --method DELETE
DELETE FROM we_c WHERE id IN (19, 20, 21);
\echo :ROW_COUNT
-- live profiles left: 25 less 6, 8, 12-17, 19, 21 (5, 11, 18 and 20 were
-- answered "removed" without being removed, 7 and 9 removed for real)
\! $EMUCTL profiles Customers
SELECT array_agg(id ORDER BY id) FROM we_c;

-- a prepared statement in a generic plan, and the count PL/pgSQL reads
\! $EMUCTL reset demo
SET plan_cache_mode = force_generic_plan;
PREPARE we_del(bigint[]) AS DELETE FROM we_c WHERE id = ANY($1);
\! $EMUCTL answer 400 1 '{"error":{"message":"This profile has already been removed"}}' --match /profile/2 --method DELETE
EXECUTE we_del('{1,2,3}');
\echo :ROW_COUNT
-- profile 2 was not removed: now it is
EXECUTE we_del('{1,2,3}');
\echo :ROW_COUNT
DEALLOCATE we_del;
RESET plan_cache_mode;
\! $EMUCTL answer 400 1 '{"error":{"message":"This profile has already been removed"}}' --match /profile/4 --method DELETE
DO $$
DECLARE n bigint;
BEGIN
    DELETE FROM we_c WHERE id IN (4, 5);
    GET DIAGNOSTICS n = ROW_COUNT;
    RAISE NOTICE 'deleted %', n;
END$$;

-- a partitioned table with a Copernica partition
CREATE TABLE we_parted (id bigint, email text, age integer) PARTITION BY RANGE (age);
CREATE TABLE we_parted_local PARTITION OF we_parted FOR VALUES FROM (MINVALUE) TO (18);
CREATE FOREIGN TABLE we_parted_cop PARTITION OF we_parted FOR VALUES FROM (18) TO (MAXVALUE)
    SERVER copernica OPTIONS (database 'Customers');
INSERT INTO we_parted_local VALUES (1000, 'local@example.com', 10);
\! $EMUCTL answer 400 1 '{"error":{"message":"This profile has already been removed"}}' --match /profile/6 --method DELETE
DELETE FROM we_parted WHERE id IN (6, 7, 1000);
\echo :ROW_COUNT
CREATE TRIGGER we_after AFTER DELETE ON we_parted_cop
    FOR EACH ROW EXECUTE FUNCTION we_after();
\! $EMUCTL answer 400 1 '{"error":{"message":"This profile has already been removed"}}' --match /profile/8 --method DELETE
DELETE FROM we_parted WHERE id IN (8, 9) RETURNING id;
\echo :ROW_COUNT
SELECT * FROM we_log ORDER BY id;
TRUNCATE we_log;
DROP TABLE we_parted;

-- EXPLAIN ANALYZE: the trigger fires for profile 11 only; overlapped,
-- the NOTICE counts the one removed already
CREATE TRIGGER we_after AFTER DELETE ON we_c
    FOR EACH ROW EXECUTE FUNCTION we_after();
\! $EMUCTL answer 400 1 '{"error":{"message":"This profile has already been removed"}}' --match /profile/10 --method DELETE
SELECT explain_portable('ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF, BUFFERS OFF',
    'DELETE FROM we_c WHERE id IN (10, 11)');
SELECT * FROM we_log ORDER BY id;
DROP TRIGGER we_after ON we_c;
\! $EMUCTL answer 400 1 '{"error":{"message":"This profile has already been removed"}}' --match /profile/13 --method DELETE
SELECT explain_portable('ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF, BUFFERS OFF',
    'DELETE FROM we_c WHERE id IN (12, 13, 14)');
\! $EMUCTL profiles Customers

-- in a savepoint: a later row fails (division by zero in the scan), and
-- the warning lists what the statement removed: 15 and 16, not 17 (in a
-- session of its own: the warning comes during the abort, after the error
-- on some versions, and WARN_FIRST puts it first)
\setenv PGDATABASE :DBNAME
\setenv WARN_FIRST '/^WARNING:/ { w = 1 } /^(ERROR|NOTICE|CONTEXT|HINT):/ { w = 0 } { if (w) a = a $0 "\\n"; else b = b $0 "\\n" } END { printf "%s%s", a, b }'
ALTER FOREIGN TABLE we_c OPTIONS (ADD max_concurrency '1');
\! $EMUCTL answer 400 1 '{"error":{"message":"This profile has already been removed"}}' --match /profile/17 --method DELETE
\! psql -X -q -c "BEGIN" -c "SAVEPOINT s" -c "DELETE FROM we_c WHERE id IN (15, 16, 17, 18) AND 10 / (18 - id) > 0" -c "ROLLBACK TO s" -c "COMMIT" 2>&1 | awk "$WARN_FIRST"
SELECT array_agg(id ORDER BY id) FROM we_c WHERE id BETWEEN 15 AND 18;
ALTER FOREIGN TABLE we_c OPTIONS (DROP max_concurrency);
\! $EMUCTL clear-faults


--
-- 2. A BEFORE ROW trigger changes a column the write leaves out
--
\! $EMUCTL reset demo
-- the column named in we_change(col) for the profile we_change(id)
CREATE TABLE we_change (col text, id bigint);
CREATE FUNCTION we_change() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE c text;
BEGIN
    SELECT col INTO c FROM we_change WHERE id = NEW.id;
    CASE c
        WHEN 'id' THEN NEW.id := NEW.id + 1000;
        WHEN 'modified' THEN NEW.modified := '2030-01-01 00:00:00';
        WHEN 'created' THEN NEW.created := NEW.created + interval '1 day';
        WHEN 'same' THEN NEW.id := OLD.id; NEW.created := OLD.created;
                         NEW.notes := 'same';
        ELSE NULL;
    END CASE;
    RETURN NEW;
END$$;
CREATE TRIGGER we_change BEFORE UPDATE ON we_c
    FOR EACH ROW EXECUTE FUNCTION we_change();
-- the trigger changes profile 4's ID: profile 3 is written, profile 4's
-- request is never sent, and the error lists what was written (the same
-- one request at a time with max_concurrency 4: a trigger needs each
-- row's outcome)
INSERT INTO we_change VALUES ('id', 4);
\! $EMUCTL clear-log
UPDATE we_c SET notes = 'n1' WHERE id IN (3, 4, 5);
\! $EMUCTL log | grep '^PUT'
-- the statement setting it says the same, with the same SQLSTATE
UPDATE we_c SET id = 1004 WHERE id = 4;
\set VERBOSITY sqlstate
UPDATE we_c SET notes = 'n1' WHERE id = 4;
UPDATE we_c SET id = 1004 WHERE id = 4;
\set VERBOSITY default
-- created and modified
UPDATE we_change SET col = 'modified';
UPDATE we_c SET notes = 'n2' WHERE id = 4;
UPDATE we_change SET col = 'created';
UPDATE we_c SET notes = 'n2' WHERE id = 4;
-- one request at a time: the same
ALTER FOREIGN TABLE we_c OPTIONS (ADD max_concurrency '1');
UPDATE we_c SET notes = 'n3' WHERE id IN (2, 4);
ALTER FOREIGN TABLE we_c OPTIONS (DROP max_concurrency);
-- a trigger that sets them to what they were is no change
UPDATE we_change SET col = 'same';
UPDATE we_c SET city = 'Same' WHERE id = 4 RETURNING id, city, notes;
\! $EMUCTL clear-log
-- a prepared statement, in a generic plan
UPDATE we_change SET col = 'id';
SET plan_cache_mode = force_generic_plan;
PREPARE we_upd(text, bigint) AS UPDATE we_c SET notes = $1 WHERE id = $2;
EXECUTE we_upd('n4', 4);
EXECUTE we_upd('n4', 6);
DEALLOCATE we_upd;
RESET plan_cache_mode;
-- in a savepoint: the statement fails, the transaction goes on
BEGIN;
SAVEPOINT s;
UPDATE we_c SET notes = 'n5' WHERE id IN (7, 4);
ROLLBACK TO s;
UPDATE we_c SET notes = 'n5' WHERE id = 8;
COMMIT;
\! $EMUCTL log | grep '^PUT'
-- the emulator: profile 4 as it was, the others written
SELECT id, notes FROM we_c WHERE id BETWEEN 2 AND 8 ORDER BY id;
DROP TRIGGER we_change ON we_c;

-- a partitioned table with a Copernica partition: the partition's trigger
CREATE TABLE we_parted (id bigint, email text, notes text, age integer)
    PARTITION BY RANGE (age);
CREATE TABLE we_parted_local PARTITION OF we_parted FOR VALUES FROM (MINVALUE) TO (18);
CREATE FOREIGN TABLE we_parted_cop PARTITION OF we_parted FOR VALUES FROM (18) TO (MAXVALUE)
    SERVER copernica OPTIONS (database 'Customers');
CREATE FUNCTION we_parted_id() RETURNS trigger LANGUAGE plpgsql AS
$$BEGIN NEW.id := NEW.id + 1000; RETURN NEW; END$$;
CREATE TRIGGER we_parted_id BEFORE UPDATE ON we_parted_cop
    FOR EACH ROW EXECUTE FUNCTION we_parted_id();
\! $EMUCTL clear-log
UPDATE we_parted SET notes = 'p1' WHERE id = 4;
\! $EMUCTL log | grep -c '^PUT'
DROP TABLE we_parted;

-- a subprofile's profile
CREATE FUNCTION we_move() RETURNS trigger LANGUAGE plpgsql AS
$$BEGIN NEW.profile := 7; RETURN NEW; END$$;
CREATE TRIGGER we_move BEFORE UPDATE ON we_o
    FOR EACH ROW EXECUTE FUNCTION we_move();
\! $EMUCTL clear-log
UPDATE we_o SET status = 'paid' WHERE id = 4;
\! $EMUCTL log | grep -c '^PUT'
DROP TRIGGER we_move ON we_o;
SELECT id, profile, status FROM we_o WHERE id = 4;

-- two columns over one field: a trigger changing the one the statement
-- does not name
CREATE FOREIGN TABLE we_two (id bigint, city text, town text OPTIONS (field 'city'))
    SERVER copernica OPTIONS (database 'Customers');
CREATE FUNCTION we_town() RETURNS trigger LANGUAGE plpgsql AS
$$BEGIN NEW.town := 'Town'; RETURN NEW; END$$;
CREATE TRIGGER we_town BEFORE UPDATE OR INSERT ON we_two
    FOR EACH ROW EXECUTE FUNCTION we_town();
\! $EMUCTL clear-log
UPDATE we_two SET city = 'City' WHERE id = 4;
INSERT INTO we_two (city) VALUES ('City');
COPY we_two (city) FROM STDIN;
City
\.
\! $EMUCTL log | grep -c -e '^PUT' -e '^POST'
DROP FOREIGN TABLE we_two;

-- the "fields" object and single field columns
CREATE FOREIGN TABLE we_f (id bigint, city text, fields jsonb)
    SERVER copernica OPTIONS (database 'Customers');
CREATE FUNCTION we_fields() RETURNS trigger LANGUAGE plpgsql AS
$$BEGIN NEW.fields := '{"city": "F"}'; RETURN NEW; END$$;
CREATE TRIGGER we_fields BEFORE UPDATE ON we_f
    FOR EACH ROW EXECUTE FUNCTION we_fields();
\! $EMUCTL clear-log
UPDATE we_f SET city = 'C' WHERE id = 4;
\! $EMUCTL log | grep -c '^PUT'
DROP FOREIGN TABLE we_f;
\! $EMUCTL profile 4 | grep -o '"city": "[^"]*"'

-- INSERT and COPY: the ID set by a BEFORE ROW trigger, directly and
-- through a partitioned table
CREATE FUNCTION we_new_id() RETURNS trigger LANGUAGE plpgsql AS
$$BEGIN NEW.id := 999; RETURN NEW; END$$;
CREATE TRIGGER we_new_id BEFORE INSERT ON we_c
    FOR EACH ROW EXECUTE FUNCTION we_new_id();
\! $EMUCTL clear-log
INSERT INTO we_c (email) VALUES ('new@example.com');
COPY we_c (email) FROM STDIN;
copy@example.com
\.
DROP TRIGGER we_new_id ON we_c;
CREATE TABLE we_parted (id bigint, email text, age integer) PARTITION BY RANGE (age);
CREATE FOREIGN TABLE we_parted_cop PARTITION OF we_parted FOR VALUES FROM (18) TO (MAXVALUE)
    SERVER copernica OPTIONS (database 'Customers');
CREATE TRIGGER we_new_id BEFORE INSERT ON we_parted_cop
    FOR EACH ROW EXECUTE FUNCTION we_new_id();
INSERT INTO we_parted (email, age) VALUES ('routed@example.com', 30);
DROP TABLE we_parted;
\! $EMUCTL log | grep -c '^POST'
\! $EMUCTL profiles Customers
