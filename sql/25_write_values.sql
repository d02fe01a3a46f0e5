--
-- A value a Copernica field cannot hold is an error before the row's
-- request: Copernica refuses nothing, it stores something else instead (a
-- select value that is not one of its choices becomes empty, 12.7 in an
-- integer field 12, 1e30 the largest integer, NaN or an infinity in a float
-- field 0).  A boolean column over a select field is written as the choice
-- that reads as it.  Bodies from the emulator's request log, values from
-- the emulator.
--
\! $EMUCTL reset demo
CREATE FOREIGN TABLE wv_c (id bigint, email text, segment text, newsletter boolean,
    score double precision, age numeric, agetext text OPTIONS (field 'age'),
    notes text)
    SERVER copernica OPTIONS (database 'Customers');
CREATE FOREIGN TABLE wv_up (email text, segment text, newsletter boolean)
    SERVER copernica OPTIONS (database 'Customers', upsert_key 'email');

-- a boolean over the yes/no select newsletter: written as it reads
SELECT id, newsletter FROM wv_c WHERE id IN (1, 2) ORDER BY id;
\! $EMUCTL clear-log
UPDATE wv_c SET newsletter = newsletter WHERE id IN (1, 2) RETURNING id, newsletter;
UPDATE wv_c SET newsletter = NOT newsletter WHERE id = 2 RETURNING id, newsletter;
\! $EMUCTL log --bodies | sort
\! $EMUCTL profile 1 | grep -o '"newsletter": *"[^"]*"'
\! $EMUCTL profile 2 | grep -o '"newsletter": *"[^"]*"'

-- a select value must be one of the choices, exactly
\! $EMUCTL clear-log
UPDATE wv_c SET segment = 'Gold' WHERE id = 2;
UPDATE wv_c SET segment = 'platinum' WHERE id = 3;
INSERT INTO wv_c (email, segment) VALUES ('sel@x', 'GOLD');
COPY wv_c (email, segment) FROM STDIN;
copy@x	silver
copy2@x	Silver
\.
INSERT INTO wv_up (email, segment) VALUES ('jan.jansen@example.com', 'golden');
\set VERBOSITY sqlstate
UPDATE wv_c SET segment = 'Gold' WHERE id = 2;
\set VERBOSITY default
-- none of them sent a write
\! $EMUCTL log --bodies
\! $EMUCTL profile 2 | grep -o '"segment": *"[^"]*"'
\! $EMUCTL profile 3 | grep -o '"segment": *"[^"]*"'
SELECT count(*) FROM wv_c WHERE email IN ('sel@x', 'copy@x', 'copy2@x');
-- a choice, and the empty value (NULL or ''), are written
\! $EMUCTL clear-log
UPDATE wv_c SET segment = 'silver' WHERE id = 2;
UPDATE wv_c SET segment = NULL WHERE id = 3;
INSERT INTO wv_up (email, segment, newsletter) VALUES ('jan.jansen@example.com', 'bronze', false);
\! $EMUCTL log --bodies
SELECT id, segment, newsletter FROM wv_c WHERE id IN (1, 2, 3) ORDER BY id;

-- a float field: a finite number
\! $EMUCTL clear-log
UPDATE wv_c SET score = 'NaN' WHERE id = 7;
UPDATE wv_c SET score = '-Infinity' WHERE id = 7;
INSERT INTO wv_c (email, score) VALUES ('inf@x', 'Infinity');
COPY wv_c (email, score) FROM STDIN;
nan@x	NaN
\.
\set VERBOSITY sqlstate
UPDATE wv_c SET score = 'NaN' WHERE id = 7;
\set VERBOSITY default
-- an integer field: a plain integer within 64 bits
UPDATE wv_c SET age = 12.7 WHERE id = 7;
UPDATE wv_c SET age = 1e30 WHERE id = 7;
UPDATE wv_c SET agetext = 'abc' WHERE id = 7;
UPDATE wv_c SET agetext = ' 3' WHERE id = 7;
\set VERBOSITY sqlstate
UPDATE wv_c SET age = 12.7 WHERE id = 7;
UPDATE wv_c SET age = 1e30 WHERE id = 7;
\set VERBOSITY default
\! $EMUCTL log --bodies
\! $EMUCTL profile 7 | grep -oE '"(age|score)": *"[^"]*"'
SELECT count(*) FROM wv_c WHERE email IN ('inf@x', 'nan@x');
-- what the fields hold is written
\! $EMUCTL clear-log
UPDATE wv_c SET score = -2.5e3, age = 12.000 WHERE id = 7 RETURNING score, age;
UPDATE wv_c SET agetext = '-9223372036854775808' WHERE id = 8 RETURNING age;
\! $EMUCTL log --bodies

-- a BEFORE ROW trigger makes UPDATE write every column back: the boolean
-- newsletter and the select segment keep their values
CREATE FUNCTION wv_notes() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN NEW.notes := 'by trigger'; RETURN NEW; END $$;
CREATE TRIGGER wv_bn BEFORE UPDATE ON wv_c FOR EACH ROW EXECUTE FUNCTION wv_notes();
\! $EMUCTL clear-log
UPDATE wv_c SET email = email WHERE id = 1 RETURNING id, segment, newsletter, notes;
\! $EMUCTL log --bodies
\! $EMUCTL profile 1 | grep -oE '"(segment|newsletter|notes)": *"[^"]*"'
DROP TRIGGER wv_bn ON wv_c;

-- choices one a line ending in "\n", as Copernica's documentation writes
-- them ("A\nB\nC*"), serve as well as the "\r\n" Copernica was seen to use:
-- the fields listing is answered with segment's choices so written
SELECT copernica_forget_metadata();
\! $EMUCTL answer 200 1 "$(python3 -c 'import json, os, urllib.request as u; d = json.load(u.urlopen(os.environ["COPERNICA_EMULATOR_URL"] + "/database/Customers/fields?limit=1000&access_token=" + os.environ["COPERNICA_TOKEN"])); [f.update(value=f["value"].replace("\r\n", "\n")) for f in d["data"]]; print(json.dumps(d))')" --match /database/Customers/fields
\! $EMUCTL clear-log
UPDATE wv_c SET segment = 'silver' WHERE id = 3;
UPDATE wv_c SET segment = 'tin' WHERE id = 3;
\! $EMUCTL log --bodies
\! $EMUCTL profile 3 | grep -o '"segment": *"[^"]*"'
