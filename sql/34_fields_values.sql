--
-- The values inside a json or jsonb "fields" column are checked as a field
-- column's are (25_write_values, 32_write_values_more), each naming its
-- field, before the row's request: one bad value writes nothing of the
-- row.  An object or an array is no field's value, a key that matches no
-- field is an error (Copernica would ignore it), JSON null is the empty
-- value NULL is, true and false are written as a boolean column's are.
-- Bodies from the emulator's request log, values from the emulator.
--
\! $EMUCTL reset demo
CREATE FOREIGN TABLE wf_c (id bigint, fields jsonb)
    SERVER copernica OPTIONS (database 'Customers');
CREATE FOREIGN TABLE wf_j (id bigint, fields json)
    SERVER copernica OPTIONS (database 'Customers');
CREATE FOREIGN TABLE wf_o (id bigint, profile bigint, fields jsonb)
    SERVER copernica OPTIONS (database 'Customers', collection 'Orders');
\set before `$EMUCTL profile 6`

-- each bad value is an error before any write, whatever the others are
\! $EMUCTL clear-log
UPDATE wf_c SET fields = '{"city": "Delft", "birthday": "31-02-2024"}' WHERE id = 6;
UPDATE wf_c SET fields = '{"city": "Delft", "birthday": "2024-02-30"}' WHERE id = 6;
UPDATE wf_c SET fields = '{"signup": "next tuesday?"}' WHERE id = 6;
UPDATE wf_c SET fields = '{"lastvisit": "2024-03-02T10:00:00"}' WHERE id = 6;
UPDATE wf_c SET fields = '{"lastvisit": "2024-03-02 24:00:00"}' WHERE id = 6;
UPDATE wf_c SET fields = '{"birthday": 20240302}' WHERE id = 6;
UPDATE wf_c SET fields = '{"birthday": true}' WHERE id = 6;
UPDATE wf_c SET fields = '{"age": 12.7}' WHERE id = 6;
UPDATE wf_c SET fields = '{"age": "12.7"}' WHERE id = 6;
UPDATE wf_c SET fields = '{"age": 1e30}' WHERE id = 6;
UPDATE wf_c SET fields = '{"age": "abc"}' WHERE id = 6;
UPDATE wf_c SET fields = '{"referrer": "7x"}' WHERE id = 6;
UPDATE wf_c SET fields = '{"score": "NaN"}' WHERE id = 6;
UPDATE wf_c SET fields = '{"score": "Infinity"}' WHERE id = 6;
UPDATE wf_c SET fields = '{"segment": "Gold"}' WHERE id = 6;
UPDATE wf_c SET fields = '{"newsletter": "maybe"}' WHERE id = 6;
UPDATE wf_c SET fields = '{"segment": true}' WHERE id = 6;
UPDATE wf_o SET fields = '{"placed": "now"}' WHERE id = 1;
UPDATE wf_o SET fields = '{"total": "12,50"}' WHERE id = 1;
-- nested values, unknown keys, one field twice, not an object
UPDATE wf_c SET fields = '{"city": {"name": "Delft"}}' WHERE id = 6;
UPDATE wf_c SET fields = '{"city": ["Delft"]}' WHERE id = 6;
UPDATE wf_c SET fields = '{"city": "Delft", "town": "Delft"}' WHERE id = 6;
UPDATE wf_c SET fields = '{"City": "Delft", "city": "Leiden"}' WHERE id = 6;
UPDATE wf_c SET fields = '["Delft"]' WHERE id = 6;
UPDATE wf_c SET fields = '"Delft"' WHERE id = 6;
UPDATE wf_j SET fields = '{"age": "1", "age": "2.5"}' WHERE id = 6;
-- INSERT and COPY alike
INSERT INTO wf_c (fields) VALUES ('{"email": "wf@x", "age": "12.5"}');
INSERT INTO wf_o (profile, fields) VALUES (6, '{"status": "Open"}');
COPY wf_c (fields) FROM STDIN;
{"email": "wf1@x", "signup": "05.01.2024"}
\.
\set VERBOSITY sqlstate
UPDATE wf_c SET fields = '{"birthday": "31-02-2024"}' WHERE id = 6;
UPDATE wf_c SET fields = '{"birthday": "2024-02-30"}' WHERE id = 6;
UPDATE wf_c SET fields = '{"age": 12.7}' WHERE id = 6;
UPDATE wf_c SET fields = '{"age": 1e30}' WHERE id = 6;
UPDATE wf_c SET fields = '{"segment": "Gold"}' WHERE id = 6;
UPDATE wf_c SET fields = '{"city": {"name": "Delft"}}' WHERE id = 6;
UPDATE wf_c SET fields = '{"town": "Delft"}' WHERE id = 6;
UPDATE wf_c SET fields = '["Delft"]' WHERE id = 6;
\set VERBOSITY default
-- none of them sent a write, and profile 6 is as it was
\! $EMUCTL log --bodies
\set after `$EMUCTL profile 6`
SELECT :'before' = :'after' AS profile_6_unchanged;
\! $EMUCTL profiles Customers

-- what passes is written as a field column writes it: 12.0 as 12, true
-- as 1 (over the yes/no select: yes), null and "" as the empty value
\! $EMUCTL clear-log
UPDATE wf_c SET fields = '{"city": true, "age": 12.0, "score": 1.50, "birthday": "2024-02-29",
    "lastvisit": "2024-03-02", "signup": null, "segment": "gold", "newsletter": true,
    "firstname": "", "referrer": 7, "notes": false}' WHERE id = 6;
UPDATE wf_j SET fields = '{"age": "1", "AGE": 2}' WHERE id = 7;
UPDATE wf_j SET fields = '{"age": "1", "age": "2.0"}' WHERE id = 7;
UPDATE wf_o SET fields = '{"placed": "2024-03-02 10:00:00", "total": "12.50",
    "status": "paid"}' WHERE id = 1;
\! $EMUCTL log --bodies
\! $EMUCTL profile 6 | grep -o '"\(city\|age\|score\|birthday\|lastvisit\|signup\|segment\|newsletter\|firstname\|referrer\|notes\)": *"[^"]*"'
\! $EMUCTL profile 7 | grep -o '"age": *"[^"]*"'
-- a profile's fields as read go back as they are
\! $EMUCTL clear-log
UPDATE wf_c SET fields = fields || '{"city": "Delft"}' WHERE id IN (5, 6)
  RETURNING id, fields->>'city' AS city, fields->>'birthday' AS birthday;
\! $EMUCTL log --bodies | wc -l

DROP FOREIGN TABLE wf_c, wf_j, wf_o;
