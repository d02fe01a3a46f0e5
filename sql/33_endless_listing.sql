--
-- A listing that never ends costs requests, never memory: a server that
-- answers a (sub)profile's ms destinations with full pages for ever.  The
-- unsubscribed column is not in those items; each emailing they name has
-- its filtered listing read once.  The profile's listing was read whole
-- before the first row came (read ahead), so its memory grew with every
-- page until the user cancelled; it is now read a page at a time.
--
\getenv emu_url COPERNICA_EMULATOR_URL
\getenv token COPERNICA_TOKEN
\! $EMUCTL reset demo
CREATE SERVER regress_e33 FOREIGN DATA WRAPPER copernica_fdw
    OPTIONS (url :'emu_url', max_retries '0');
CREATE USER MAPPING FOR CURRENT_USER SERVER regress_e33 OPTIONS (access_token :'token');
CREATE SCHEMA e33;
IMPORT FOREIGN SCHEMA "_mailings" LIMIT TO (ms_destinations)
    FROM SERVER regress_e33 INTO e33;
-- the backend's memory in all its contexts
CREATE FUNCTION e33_memory() RETURNS bigint LANGUAGE sql AS $$
  SELECT sum(total_bytes)::bigint FROM pg_backend_memory_contexts $$;

-- the real listing: one destination, unsubscribed in emailing 169
\! $EMUCTL clear-log
SELECT id, emailing, profile, unsubscribed FROM e33.ms_destinations WHERE profile = 14;
\! $EMUCTL log

-- 200 full pages of 1000 items, each the page asked for (then the real,
-- empty one): the first item of each is the unsubscribed destination
SELECT format('\! $EMUCTL answer 200 200 ''{"start":{start},"limit":1000,"count":1000,"data":[%s]}'' --match /profile/14/ms/destinations',
              '{"ID":"1840014","profile":"14","mailing":"169"},' ||
              string_agg(format('{"ID":"%s","profile":"14","mailing":"169"}', 9000000 + g), ','))
         AS cmd
  FROM generate_series(1, 999) g \gset
:cmd
\! $EMUCTL clear-log
BEGIN;
DECLARE endless NO SCROLL CURSOR FOR
  SELECT id, unsubscribed FROM e33.ms_destinations WHERE profile = 14;
SELECT e33_memory() AS before \gset
-- the first page's rows come after its one request (and those the pager
-- keeps in flight) and the emailing's filtered listing: not after 200
MOVE 1000 IN endless;
SELECT e33_memory() AS first_page \gset
\set listing `$EMUCTL log | grep -c profile/14/ms/destinations`
\set filtered `$EMUCTL log | grep -c ms/emailing/169/destinations`
SELECT :listing BETWEEN 1 AND 5 AS few_pages_asked, :filtered AS filtered_requests;
-- halfway through, the memory is what it was after the first page
MOVE 100000 IN endless;
SELECT e33_memory() AS halfway \gset
SELECT :first_page - :before < 4 * 1024 * 1024 AS first_page_small,
       abs(:halfway - :first_page) < 1024 * 1024 AS flat;
FETCH 2 IN endless;
COMMIT;
-- every row, each page's first unsubscribed; 201 requests for the listing,
-- one for the emailing's filtered listing
\! $EMUCTL clear-faults
:cmd
\! $EMUCTL clear-log
SELECT count(*), count(*) FILTER (WHERE unsubscribed) AS unsubscribed,
       count(DISTINCT id) AS ids
  FROM e33.ms_destinations WHERE profile = 14;
\set listing `$EMUCTL log | grep -c profile/14/ms/destinations`
\set filtered `$EMUCTL log | grep -c ms/emailing/169/destinations`
SELECT :listing AS listing_requests, :filtered AS filtered_requests;
\! $EMUCTL clear-faults

DROP SCHEMA e33 CASCADE;
DROP SERVER regress_e33 CASCADE;
