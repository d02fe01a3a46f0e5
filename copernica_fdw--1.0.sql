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

-- Runs the unsubscribe behaviour configured in Copernica (nothing, update
-- some fields, or remove) for one profile or subprofile of a foreign table:
-- PUT profile/$id/unsubscribe.  The table's resource 'unsubscribe' shows the
-- configuration.  Needs UPDATE on the table; the ID must be a live entity
-- of it.
CREATE FUNCTION copernica_unsubscribe(foreign_table regclass, id bigint)
RETURNS void
AS 'MODULE_PATHNAME'
LANGUAGE C STRICT;

-- Add or remove one interest of a profile, keeping the others (writing the
-- interests column replaces them all).  An unknown interest is an error
-- before anything changes.  Returns whether the interests changed.  Needs
-- UPDATE on the table.
CREATE FUNCTION copernica_add_interest(foreign_table regclass, id bigint, interest text)
RETURNS boolean
AS 'MODULE_PATHNAME'
LANGUAGE C STRICT;

CREATE FUNCTION copernica_remove_interest(foreign_table regclass, id bigint, interest text)
RETURNS boolean
AS 'MODULE_PATHNAME'
LANGUAGE C STRICT;
