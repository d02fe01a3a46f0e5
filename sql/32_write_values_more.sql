--
-- More values a Copernica field cannot hold, refused before the row's
-- request (as in 25_write_values).  Bodies and counts of writes from the
-- emulator's request log, values from the emulator.
--
\! $EMUCTL reset demo

-- A date or datetime field written from a text column: Copernica reads any
-- text like PHP's strtotime ('31-02-2024' becomes 2024-03-02, 'next
-- tuesday?' no date), so only its own forms pass, of a real day and time.
-- birthday is an empty_date field, signup a date, lastvisit an
-- empty_datetime; an order's placed a datetime.
CREATE FOREIGN TABLE wd_c (id bigint, email text, birthday text,
    signup varchar(20), lastvisit text)
    SERVER copernica OPTIONS (database 'Customers');
CREATE FOREIGN TABLE wd_o (id bigint, profile bigint, placed text)
    SERVER copernica OPTIONS (database 'Customers', collection 'Orders');
\! $EMUCTL clear-log
UPDATE wd_c SET birthday = '31-02-2024' WHERE id = 6;
UPDATE wd_c SET signup = 'next tuesday?' WHERE id = 6;
UPDATE wd_c SET lastvisit = '2024-02-30 25:61:00' WHERE id = 6;
UPDATE wd_c SET birthday = '2024-02-30' WHERE id = 6;
UPDATE wd_c SET birthday = '2023-02-29' WHERE id = 6;
UPDATE wd_c SET birthday = '2024-03-02 00:00:00' WHERE id = 6;
UPDATE wd_c SET birthday = ' 2024-03-02' WHERE id = 6;
UPDATE wd_c SET signup = '0000-05-01' WHERE id = 6;
UPDATE wd_c SET signup = '-0043-03-15' WHERE id = 6;
UPDATE wd_c SET lastvisit = '2024-03-02 24:00:00' WHERE id = 6;
UPDATE wd_c SET lastvisit = '2024-03-02T10:00:00' WHERE id = 6;
UPDATE wd_c SET lastvisit = '2024-03-02 10:00' WHERE id = 6;
UPDATE wd_c SET lastvisit = '0000-00-00 12:00:00' WHERE id = 6;
UPDATE wd_o SET placed = 'now' WHERE id = 1;
INSERT INTO wd_c (email, birthday) VALUES ('wd@x', '2024-1-5');
COPY wd_c (email, signup) FROM STDIN;
wd1@x	2024-01-05
wd2@x	05.01.2024
\.
\set VERBOSITY sqlstate
UPDATE wd_c SET birthday = '31-02-2024' WHERE id = 6;
UPDATE wd_c SET birthday = '2024-02-30' WHERE id = 6;
UPDATE wd_c SET lastvisit = '2024-02-30 25:61:00' WHERE id = 6;
\set VERBOSITY default
-- not one write was sent; profile 6 and the orders keep their dates
\! $EMUCTL log --bodies | wc -l
\! $EMUCTL profile 6 | grep -oE '"(birthday|signup|lastvisit)": *"[^"]*"'
SELECT count(*) FROM wd_c WHERE email IN ('wd@x', 'wd1@x', 'wd2@x');
-- Copernica's forms are written as they are: a date, a datetime (or, for a
-- datetime field, a date: its midnight), a leap day, and "no date" as the
-- empty value, NULL, or 0000-00-00 (as a text column reads an empty
-- mandatory date)
\! $EMUCTL clear-log
UPDATE wd_c SET birthday = '2024-02-29', signup = '2022-01-01',
    lastvisit = '2024-03-03 23:59:59' WHERE id = 6 RETURNING birthday, signup, lastvisit;
UPDATE wd_c SET birthday = '', signup = '0000-00-00', lastvisit = '2024-03-04'
    WHERE id = 7 RETURNING birthday, signup, lastvisit;
UPDATE wd_c SET birthday = '0000-00-00', signup = NULL,
    lastvisit = '0000-00-00 00:00:00' WHERE id = 8 RETURNING birthday, signup, lastvisit;
UPDATE wd_o SET placed = '9999-12-31 23:59:59' WHERE id = 1 RETURNING placed;
UPDATE wd_o SET placed = '' WHERE id = 1 RETURNING placed;
\! $EMUCTL log --bodies
\! $EMUCTL log --bodies | wc -l
\! $EMUCTL profile 6 | grep -oE '"(birthday|signup|lastvisit)": *"[^"]*"'
-- a date column is written in Copernica's form, as before
CREATE FOREIGN TABLE wd_d (id bigint, birthday date, lastvisit timestamp)
    SERVER copernica OPTIONS (database 'Customers');
\! $EMUCTL clear-log
UPDATE wd_d SET birthday = '2024-02-29', lastvisit = '2024-03-05' WHERE id = 9
    RETURNING birthday, lastvisit;
\! $EMUCTL log --bodies

-- An interests map that names one interest twice (names match without
-- regard to case, and a json value keeps duplicate keys) with different
-- values: which one Copernica kept would be an accident of spelling and key
-- order, so it is an error before the row's request.  Named twice alike it
-- is sent once.
CREATE FOREIGN TABLE wd_j (id bigint, email text, interests json)
    SERVER copernica OPTIONS (database 'Customers');
CREATE FOREIGN TABLE wd_jb (id bigint, interests jsonb)
    SERVER copernica OPTIONS (database 'Customers');
CREATE FOREIGN TABLE wd_t (id bigint, interests text[])
    SERVER copernica OPTIONS (database 'Customers');
SELECT id, interests FROM wd_t WHERE id = 7;
\! $EMUCTL clear-log
UPDATE wd_j SET interests = '{"tennis": 0, "TENNIS": 1}' WHERE id = 7;
UPDATE wd_jb SET interests = '{"tennis": 1, "TENNIS": 0}' WHERE id = 7;
UPDATE wd_j SET interests = '{"news": 1, "news": 0}' WHERE id = 7;
UPDATE wd_j SET interests = '{"news": true, "soccer": 1, "News": false}' WHERE id = 7;
UPDATE wd_j SET interests = '{"news": "yes", "news": 1}' WHERE id = 7;
INSERT INTO wd_j (email, interests) VALUES ('wdj@x', '{"Soccer": 1, "soccer": 0}');
\set VERBOSITY sqlstate
UPDATE wd_j SET interests = '{"news": 1, "news": 0}' WHERE id = 7;
UPDATE wd_jb SET interests = '{"tennis": 1, "TENNIS": 0}' WHERE id = 7;
\set VERBOSITY default
-- not one write was sent; profile 7 keeps its interests
\! $EMUCTL log --bodies | wc -l
\! $EMUCTL profile 7 | python3 -c 'import json, sys; print(sorted(json.load(sys.stdin)["interests"]))'
SELECT count(*) FROM wd_j WHERE email = 'wdj@x';
-- named twice alike: sent once; a list (text[] or json) cannot conflict
\! $EMUCTL clear-log
UPDATE wd_j SET interests = '{"tennis": 1, "TENNIS": true, "news": 0, "news": false}' WHERE id = 7;
UPDATE wd_jb SET interests = '{"Tennis": 1, "tennis": 1e0, "soccer": 0}' WHERE id = 7;
UPDATE wd_t SET interests = '{news,NEWS,tennis}' WHERE id = 8;
UPDATE wd_j SET interests = '["soccer", "Soccer"]' WHERE id = 9;
\! $EMUCTL log --bodies
\! $EMUCTL log --bodies | wc -l
SELECT id, interests FROM wd_t WHERE id IN (7, 8, 9) ORDER BY id;
