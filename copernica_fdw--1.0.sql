/* copernica_fdw--1.0.sql */

-- complain if script is sourced in psql, rather than via CREATE EXTENSION
\echo Use "CREATE EXTENSION copernica_fdw" to load this file. \quit

CREATE FUNCTION copernica_fdw_handler()
RETURNS fdw_handler
AS 'MODULE_PATHNAME'
LANGUAGE C STRICT;

CREATE FUNCTION copernica_fdw_validator(text[], oid)
RETURNS void
AS 'MODULE_PATHNAME'
LANGUAGE C STRICT;

CREATE FOREIGN DATA WRAPPER copernica_fdw
  HANDLER copernica_fdw_handler
  VALIDATOR copernica_fdw_validator;

-- Planning caches each table's field definitions and size for a minute;
-- this forgets them now (after changing fields in Copernica, say).
CREATE FUNCTION copernica_forget_metadata()
RETURNS void
AS 'MODULE_PATHNAME'
LANGUAGE C STRICT;

-- Whose account do a server's credentials open?  Asks Copernica (GET
-- identity) with the current user's token, as a scan would: the user
-- mapping's, else the server's.  Needs USAGE on the server.
CREATE FUNCTION copernica_identity(server name)
RETURNS TABLE (id bigint, name text, description text, company text)
AS 'MODULE_PATHNAME'
LANGUAGE C STRICT;
