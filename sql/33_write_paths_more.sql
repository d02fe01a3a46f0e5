--
-- Paths into a write that PostgreSQL takes around the wrapper: what an
-- AFTER ROW trigger is given as the new row, a BEFORE ROW trigger that
-- reads the table during COPY, a view's WITH CHECK OPTION.  Rows from the
-- emulator's state, requests from its log.
--
\! $EMUCTL reset demo
\setenv PGDATABASE :DBNAME
\setenv WARN_FIRST '/^WARNING:/ { w = 1 } /^(ERROR|NOTICE|CONTEXT|HINT):/ { w = 0 } { if (w) a = a $0 "\\n"; else b = b $0 "\\n" } END { printf "%s%s", a, b }'
CREATE FOREIGN TABLE wp_people (id bigint, email text, city text, created timestamp)
    SERVER copernica OPTIONS (database 'Customers');

-- An AFTER ROW trigger gets the row as written, with the ID Copernica gave
-- it (X-Created), whether or not RETURNING names the ID, and with every
-- column written, whatever RETURNING reads back: the ID had been NULL, and
-- with RETURNING of another column every column but the returned ones
-- (INSERT and UPDATE)
CREATE TABLE wp_log (op text, id bigint, email text, city text);
CREATE FUNCTION wp_log_row() RETURNS trigger LANGUAGE plpgsql AS
$$BEGIN INSERT INTO wp_log VALUES (TG_OP, NEW.id, NEW.email, NEW.city); RETURN NULL; END$$;
CREATE TRIGGER wp_after AFTER INSERT OR UPDATE ON wp_people
    FOR EACH ROW EXECUTE FUNCTION wp_log_row();
INSERT INTO wp_people (email, city) VALUES ('tr1@example.com', 'Leiden');
INSERT INTO wp_people (email, city) VALUES ('tr2@example.com', 'Leiden') RETURNING id;
INSERT INTO wp_people (email, city) VALUES ('tr3@example.com', 'Leiden') RETURNING email;
INSERT INTO wp_people (email, city) SELECT 'tr' || g || '@example.com', 'Ede'
    FROM generate_series(4, 5) g;
COPY wp_people (email, city) FROM STDIN;
tr6@example.com	Ede
\.
UPDATE wp_people SET city = 'Delft' WHERE email = 'tr1@example.com' RETURNING email;
UPDATE wp_people SET city = 'Gouda' WHERE email = 'tr2@example.com';
SELECT * FROM wp_log ORDER BY op, email;
-- the IDs Copernica gave them
\! $EMUCTL profiles Customers --ids-with email=tr
SELECT id, email, city FROM wp_people WHERE email LIKE 'tr%' ORDER BY id;
DROP TRIGGER wp_after ON wp_people;

-- COPY with a BEFORE ROW trigger that reads the table sends each row before
-- the next row's trigger runs, as INSERT does: the trigger finds the rows
-- before it (three copies of one e-mail had been created, COPY 3)
CREATE FUNCTION wp_skip_known() RETURNS trigger LANGUAGE plpgsql AS
$$BEGIN
  IF EXISTS (SELECT 1 FROM wp_people WHERE email = NEW.email) THEN
    RAISE NOTICE 'skipping %, already there', NEW.email;
    RETURN NULL;
  END IF;
  RETURN NEW;
END$$;
CREATE TRIGGER wp_before BEFORE INSERT ON wp_people
    FOR EACH ROW EXECUTE FUNCTION wp_skip_known();
\! $EMUCTL clear-log
INSERT INTO wp_people (email) VALUES ('dup1@example.com'), ('dup1@example.com');
COPY wp_people (email) FROM STDIN;
dup2@example.com
dup2@example.com
dup2@example.com
\.
\! $EMUCTL log | grep -c '^POST'
\! $EMUCTL profiles Customers --ids-with email=dup
DROP TRIGGER wp_before ON wp_people;

-- Through a view WITH CHECK OPTION, which PostgreSQL checks after each
-- write: INSERT batches nothing, so the rows after the one that fails the
-- check are not created (they were, the whole batch being sent first), and
-- an UPDATE's write is done when the check fails, so the warning lists it
-- as updated (it had been named as of unknown outcome, still in flight)
CREATE FOREIGN TABLE wp_people_short (id bigint, email text, city text)
    SERVER copernica OPTIONS (database 'Customers');
CREATE VIEW wp_leiden AS SELECT id, email, city FROM wp_people_short
    WHERE city = 'Leiden' WITH CHECK OPTION;
\! $EMUCTL clear-log
\! psql -X -q -c "INSERT INTO wp_leiden (email, city) SELECT 'wco' || g || '@example.com', CASE WHEN g = 3 THEN 'Paris' ELSE 'Leiden' END FROM generate_series(1, 5) g" 2>&1 | awk "$WARN_FIRST"
\! $EMUCTL log | grep -c '^POST'
\! $EMUCTL profiles Customers --ids-with email=wco
SELECT explain_portable('COSTS OFF',
    $$INSERT INTO wp_leiden (email, city) VALUES ('x', 'Leiden'), ('y', 'Leiden')$$);
\! $EMUCTL clear-log
\! psql -X -q -c "UPDATE wp_leiden SET city = 'Paris' WHERE email LIKE 'wco%'" 2>&1 | awk "$WARN_FIRST"
\! $EMUCTL log | grep -c '^PUT'
SELECT email, city FROM wp_people WHERE email LIKE 'wco%' ORDER BY id;
