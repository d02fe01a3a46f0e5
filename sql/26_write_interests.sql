--
-- Interests written through a json or jsonb column: each name checked and
-- spelled as Copernica spells it (as for text[]), a map's values 0 or 1;
-- anything else Copernica would ignore or misread is an error before the
-- request.  Bodies from the emulator's request log.
--
\! $EMUCTL reset demo
CREATE FOREIGN TABLE wi_c (id bigint, email text, interests jsonb)
    SERVER copernica OPTIONS (database 'Customers');
CREATE FOREIGN TABLE wi_t (id bigint, interests text[])
    SERVER copernica OPTIONS (database 'Customers');
\! $EMUCTL clear-log
UPDATE wi_t SET interests = '{NEWS,Tennis}' WHERE id = 2;
UPDATE wi_c SET interests = '["NEWS", "Tennis"]' WHERE id = 2;
UPDATE wi_c SET interests = '{"TENNIS": 1, "News": 0}' WHERE id = 2;
UPDATE wi_c SET interests = '{"news": true, "tennis": false}' WHERE id = 2;
UPDATE wi_c SET interests = '[]' WHERE id = 3;
\! $EMUCTL log --bodies
SELECT id, interests FROM wi_t WHERE id IN (2, 3) ORDER BY id;
-- refused before any request
\! $EMUCTL clear-log
UPDATE wi_c SET interests = '["news", 5]' WHERE id = 2;
UPDATE wi_c SET interests = '"news"' WHERE id = 2;
UPDATE wi_c SET interests = '{"news": "yes"}' WHERE id = 2;
UPDATE wi_c SET interests = '{"news": null}' WHERE id = 2;
UPDATE wi_c SET interests = '{"news": 2}' WHERE id = 2;
UPDATE wi_c SET interests = '[["news"]]' WHERE id = 2;
UPDATE wi_c SET interests = '["golf"]' WHERE id = 2;
INSERT INTO wi_c (email, interests) VALUES ('wi@x', '{"news": "1"}');
\set VERBOSITY sqlstate
UPDATE wi_c SET interests = '"news"' WHERE id = 2;
\set VERBOSITY default
\! $EMUCTL log --bodies
SELECT count(*) FROM wi_c WHERE email = 'wi@x';
