--
-- Hostile server owners and hostile answers: the security promises hold
-- when an unprivileged role owns the server, and when Copernica (or what
-- pretends to be it) answers with anything at all.
--
\getenv emu_url COPERNICA_EMULATOR_URL
\! $EMUCTL reset demo
SET timezone = 'UTC';
SET datestyle = 'ISO, YMD';
CREATE ROLE regress_hostile_owner;
GRANT USAGE ON FOREIGN DATA WRAPPER copernica_fdw TO regress_hostile_owner;

-- (1) A server's url is the base of every request URL, which goes on with
-- "/" path "?" query "&access_token=" token.  An unprivileged owner may only
-- name Copernica's own base URLs; nothing may take over the path, the query
-- or the host, or drop the token.
SET ROLE regress_hostile_owner;
CREATE SERVER regress_h_own FOREIGN DATA WRAPPER copernica_fdw;
ALTER SERVER regress_h_own OPTIONS (ADD url 'https://api.copernica.com/v2/database/42?x=');
ALTER SERVER regress_h_own OPTIONS (ADD url 'https://api.copernica.com/v2#');
ALTER SERVER regress_h_own OPTIONS (ADD url 'https://api.copernica.com/v2/database/42');
ALTER SERVER regress_h_own OPTIONS (ADD url 'https://api.copernica.com/v2//');
ALTER SERVER regress_h_own OPTIONS (ADD url 'https://api.copernica.com/v2/..');
ALTER SERVER regress_h_own OPTIONS (ADD url 'https://api.copernica.com/v1');
ALTER SERVER regress_h_own OPTIONS (ADD url 'https://api.copernica.com/');
ALTER SERVER regress_h_own OPTIONS (ADD url 'https://api.copernica.com@evil.example.com/v2');
ALTER SERVER regress_h_own OPTIONS (ADD url 'https://api.copernica.com.evil.example.com/v2');
ALTER SERVER regress_h_own OPTIONS (ADD url 'https://api.copernica.com:8443/v2');
ALTER SERVER regress_h_own OPTIONS (ADD url 'https://api.copernica.com/v2%2F..%2Fx');
ALTER SERVER regress_h_own OPTIONS (ADD url 'https://api.copernica.com/v2\x');
ALTER SERVER regress_h_own OPTIONS (ADD url 'https://api.copernica.com/v2 x');
ALTER SERVER regress_h_own OPTIONS (ADD url E'https://api.copernica.com/v2\n');
ALTER SERVER regress_h_own OPTIONS (ADD url 'http://api.copernica.com/v2');
-- the exact base URLs, with or without one trailing slash, any case of host
ALTER SERVER regress_h_own OPTIONS (ADD url 'https://api.copernica.com/v2/');
ALTER SERVER regress_h_own OPTIONS (SET url 'https://REST.Copernica.com/v2');
SELECT srvoptions FROM pg_foreign_server WHERE srvname = 'regress_h_own';
DROP SERVER regress_h_own;
RESET ROLE;
-- a superuser may name another host and path, but the same characters are
-- refused, and there must be a host
CREATE SERVER regress_h_su FOREIGN DATA WRAPPER copernica_fdw;
ALTER SERVER regress_h_su OPTIONS (ADD url 'http://127.0.0.1:1/v2?x=');
ALTER SERVER regress_h_su OPTIONS (ADD url 'http://127.0.0.1:1/v2#');
ALTER SERVER regress_h_su OPTIONS (ADD url 'http://user@127.0.0.1:1/v2');
ALTER SERVER regress_h_su OPTIONS (ADD url 'http:///v2');
ALTER SERVER regress_h_su OPTIONS (ADD url 'http://');
ALTER SERVER regress_h_su OPTIONS (ADD url 'ftp://127.0.0.1/v2');
ALTER SERVER regress_h_su OPTIONS (ADD url 'http://127.0.0.1:1/a%20b');
ALTER SERVER regress_h_su OPTIONS (ADD url 'http://127.0.0.1:1/some/path/v2/');
SELECT srvoptions FROM pg_foreign_server WHERE srvname = 'regress_h_su';
DROP SERVER regress_h_su;

-- clean up
REVOKE USAGE ON FOREIGN DATA WRAPPER copernica_fdw FROM regress_hostile_owner;
DROP ROLE regress_hostile_owner;
