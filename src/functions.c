/*-------------------------------------------------------------------------
 *
 * functions.c
 *		  SQL functions that act on one profile of a foreign table the way
 *		  Copernica means it to be done: copernica_unsubscribe (the
 *		  database's configured unsubscribe behaviour), copernica_add_interest
 *		  and copernica_remove_interest (one interest, the others kept).
 *
 * Each takes the foreign table, not a server: the table says which database
 * (or collection) the ID must belong to, and calling needs UPDATE on it, as
 * changing the profile through the table would.  Before anything is
 * changed, one listing request proves that the ID is a live entity of that
 * table; an unknown interest name is an error before any change, as an
 * unknown field is.  The change is in the statement's trace, as an UPDATE's
 * is: when the statement fails afterwards, the abort warns of it.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_class.h"
#include "foreign/fdwapi.h"
#include "foreign/foreign.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"

#include "copernica_fdw.h"
#include "modify.h"

/* What a function works on: a table's options, resource and connection. */
typedef struct TableTarget
{
	Oid			relid;
	char	   *relname;
	CopernicaOptions *opts;
	CopernicaResource *res;
	CopernicaConnection *conn;
} TableTarget;

/*
 * The profile or subprofile table relid, checked: ours, writable, and the
 * caller may UPDATE it.
 */
static void
open_target(Oid relid, bool profiles_only, TableTarget *t)
{
	ForeignTable *table;
	ForeignServer *server;
	AclResult	aclresult;

	t->relid = relid;
	t->relname = get_rel_name(relid);
	if (t->relname == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation with OID %u does not exist", relid)));
	if (get_rel_relkind(relid) != RELKIND_FOREIGN_TABLE)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("\"%s\" is not a foreign table", t->relname)));
	table = GetForeignTable(relid);
	server = GetForeignServer(table->serverid);
	if (!copernica_wrapper_is_ours(server->fdwid))
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("foreign table \"%s\" does not use foreign-data wrapper copernica_fdw",
						t->relname)));

	aclresult = pg_class_aclcheck(relid, GetUserId(), ACL_UPDATE);
	if (aclresult != ACLCHECK_OK)
		aclcheck_error(aclresult, OBJECT_FOREIGN_TABLE, t->relname);

	t->opts = copernica_get_options(relid, GetUserId());
	t->res = copernica_resolve_resource(t->opts);
	if ((t->res->kind != COPERNICA_PROFILES &&
		 (profiles_only || t->res->kind != COPERNICA_SUBPROFILES)) ||
		!t->opts->updatable)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("foreign table \"%s\" is not a writable %s table",
						t->relname, profiles_only ? "profile" : "profile or subprofile")));
	t->conn = copernica_get_connection(server->serverid, GetUserId(), t->opts);
	copernica_resource_bind(t->res, t->conn, t->opts, NULL);
}

/*
 * One live entity of the table by its ID, or an error: the listing filtered
 * on the ID shows it only when it belongs to the table and is not removed.
 * *interests receives its interests (a JSON array) when asked for.
 */
static void
check_member(TableTarget *t, int64 id, char **interests)
{
	CopernicaValuePath paths[] = {
		{COPERNICA_SRC_PROPERTY, "ID"},
		{COPERNICA_SRC_PROPERTY, "interests"}
	};
	CopernicaRequest req = {0};
	CopernicaResponse resp = {0};
	CopernicaPage *page;
	int64		found;

	req.method = "GET";
	req.path = t->res->list_path;
	req.query = psprintf("start=0&limit=2&total=false&dataonly=true&fields%%5B%%5D=id%%3D%%3D" INT64_FORMAT,
						 id);
	copernica_perform(t->conn, &req, &resp, NULL);
	page = copernica_parse_page(resp.body.data, resp.body.len, true, paths,
								interests ? 2 : 1);
	if (page->nitems != 1 || page->values[0] == NULL ||
		!copernica_parse_id(page->values[0], &found) || found != id)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("foreign table \"%s\" has no %s with ID " INT64_FORMAT,
						t->relname, t->res->entity_prefix, id),
				 errdetail("The %s does not exist in Copernica, was removed, or belongs to another %s.",
						   t->res->entity_prefix,
						   t->res->kind == COPERNICA_PROFILES ? "database" : "collection")));
	if (interests)
		*interests = page->values[1];
}

/*
 * Send req, a change of kind (CMD_UPDATE, COPERNICA_TRACE_UNSUBSCRIBE) to
 * the entity id, recorded in the statement's trace: done once answered,
 * of unknown outcome while in flight.
 */
static void
traced_change(TableTarget *t, CopernicaRequest *req, CmdType kind, int64 id)
{
	CopernicaTrace *trace = copernica_trace_begin(t, kind, t->res->entity_prefix);

	(void) copernica_trace_perform(trace, id, t->conn, req, NULL);
	copernica_trace_done(trace, id);
	copernica_trace_end(trace);
}

static int64
checked_id(int64 id)
{
	if (id <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid Copernica ID: " INT64_FORMAT, id)));
	return id;
}

PG_FUNCTION_INFO_V1(copernica_unsubscribe);

/*
 * copernica_unsubscribe(foreign_table regclass, id bigint): PUT
 * profile/$id/unsubscribe (or subprofile/...), which does what the
 * database (or collection) is configured to do: nothing, update some
 * fields, or remove the entity.  The table's resource 'unsubscribe' shows
 * that configuration.
 */
Datum
copernica_unsubscribe(PG_FUNCTION_ARGS)
{
	int64		id = checked_id(PG_GETARG_INT64(1));
	TableTarget t;
	CopernicaRequest req = {0};

	open_target(PG_GETARG_OID(0), false, &t);
	check_member(&t, id, NULL);

	req.method = "PUT";
	req.path = psprintf("%s/" INT64_FORMAT "/unsubscribe", t.res->entity_prefix, id);
	req.body = "[]";
	traced_change(&t, &req, COPERNICA_TRACE_UNSUBSCRIBE, id);
	PG_RETURN_VOID();
}

/* The names of a database's interests (all pages of them). */
List *
copernica_database_interests(CopernicaConnection *conn, const char *database)
{
	static const CopernicaValuePath paths[] = {{COPERNICA_SRC_PROPERTY, "name"}};
	List	   *items;
	List	   *names = NIL;
	ListCell   *lc;

	items = copernica_fetch_listing(conn,
									psprintf("database/%s/interests",
											 copernica_escape_path_segment(database)),
									paths, lengthof(paths), NULL);
	foreach(lc, items)
	{
		char	  **v = lfirst(lc);

		if (v[0] != NULL)
			names = lappend(names, v[0]);
	}
	return names;
}

/*
 * The interest named name among interests, as Copernica spells it: the
 * exact name, else the one name equal without regard to case.  An error
 * listing the interests when there is none: Copernica would ignore it.
 */
char *
copernica_match_interest(List *interests, const char *name, const char *database)
{
	ListCell   *lc;
	char	   *caseless = NULL;
	int			ncaseless = 0;
	CopernicaNameList names;
	char	   *list;

	copernica_name_list_init(&names);
	foreach(lc, interests)
	{
		char	   *v = lfirst(lc);

		if (strcmp(v, name) == 0)
			return v;
		if (pg_strcasecmp(v, name) == 0)
		{
			caseless = v;
			ncaseless++;
		}
		copernica_name_list_add(&names, v);
	}
	if (ncaseless == 1)
		return caseless;
	list = copernica_name_list_text(&names);
	ereport(ERROR,
			(errcode(ERRCODE_UNDEFINED_OBJECT),
			 errmsg("Copernica database \"%s\" has no interest \"%s\"",
					database, name),
			 list ? errdetail("Its interests are: %s.", list)
			 : errdetail("It has no interests."),
			 errhint("Copernica ignores interests it does not know, so the write would be lost.")));
	return NULL;				/* keep compiler quiet */
}

/*
 * Add or remove one interest of a profile: POST profile/$id/interests with
 * {"name":1} or {"name":0}, which sets that one and keeps the others.
 * Returns whether the profile's interests changed; when they would not,
 * nothing is sent.
 */
static bool
set_interest(FunctionCallInfo fcinfo, bool on)
{
	int64		id = checked_id(PG_GETARG_INT64(1));
	char	   *wanted = text_to_cstring(PG_GETARG_TEXT_PP(2));
	TableTarget t;
	char	   *name;
	char	   *current = NULL;
	bool		has = false;
	ListCell   *lc;
	CopernicaRequest req = {0};
	StringInfoData body;

	open_target(PG_GETARG_OID(0), true, &t);
	name = copernica_match_interest(copernica_database_interests(t.conn, t.opts->database),
									wanted, t.opts->database);
	check_member(&t, id, &current);

	foreach(lc, copernica_json_string_array(current))
		if (lfirst(lc) && strcmp(lfirst(lc), name) == 0)
			has = true;
	if (has == on)
		return false;

	initStringInfo(&body);
	appendStringInfoChar(&body, '{');
	copernica_json_append_string(&body, name);
	appendStringInfo(&body, ":%d}", on ? 1 : 0);
	req.method = "POST";
	req.path = psprintf("profile/" INT64_FORMAT "/interests", id);
	req.body = pg_server_to_any(body.data, body.len, PG_UTF8);
	traced_change(&t, &req, CMD_UPDATE, id);
	return true;
}

PG_FUNCTION_INFO_V1(copernica_add_interest);

Datum
copernica_add_interest(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(set_interest(fcinfo, true));
}

PG_FUNCTION_INFO_V1(copernica_remove_interest);

Datum
copernica_remove_interest(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(set_interest(fcinfo, false));
}
