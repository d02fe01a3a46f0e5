/*-------------------------------------------------------------------------
 *
 * resource.c
 *		  What each kind of foreign table means: the path of its listing,
 *		  its entity properties, which field or property each column reads,
 *		  and whether it can be written.  No I/O: what needs Copernica's
 *		  answer (names bound to IDs, fields, size) is in metadata.c.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_attribute.h"
#include "catalog/pg_type.h"
#include "fmgr.h"
#include "mb/pg_wchar.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "copernica_fdw.h"

/* Entity properties of profiles and subprofiles; anything else is a field. */
static const char *const profile_properties[] = {
	"ID", "secret", "created", "modified", "interests", "database", "removed", NULL
};
static const char *const subprofile_properties[] = {
	"ID", "secret", "created", "modified", "profile", "collection", "removed", NULL
};

/* Properties dataonly=true leaves out (Copernica's documentation). */
static const char *const dataonly_dropped[] = {
	"secret", "created", "database", "removed", NULL
};

/*
 * Append s percent-encoded for a URL's path or query, in UTF-8 whatever the
 * database's encoding: a name may hold spaces, slashes or "&", and nothing
 * in it may end a path segment or smuggle in a query parameter.
 */
void
copernica_append_url_escaped(StringInfo buf, const char *s)
{
	const unsigned char *p;

	p = (const unsigned char *) pg_server_to_any(s, strlen(s), PG_UTF8);
	for (; *p; p++)
	{
		if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
			(*p >= '0' && *p <= '9') || *p == '-' || *p == '_' ||
			*p == '.' || *p == '~')
			appendStringInfoChar(buf, (char) *p);
		else
			appendStringInfo(buf, "%%%02X", *p);
	}
}

char *
copernica_escape_path_segment(const char *segment)
{
	StringInfoData buf;

	/*
	 * libcurl (and any server) resolves "." and ".." segments: a name of
	 * that kind would take the request to another resource.  Escaping the
	 * dots would not help where the server decodes before it resolves.
	 */
	if (segment[0] == '\0' || strcmp(segment, ".") == 0 || strcmp(segment, "..") == 0)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_INVALID_ATTRIBUTE_VALUE),
				 errmsg("\"%s\" cannot name anything in a Copernica request", segment),
				 errdetail("A name or ID in a request's path must not be empty, \".\" or \"..\".")));

	initStringInfo(&buf);
	copernica_append_url_escaped(&buf, segment);
	return buf.data;
}

/*
 * A subprofile table's rows of one profile: profile/$id/subprofiles/$cid,
 * with the collection's ID from the bound listing path.  profile is a
 * checked ID, or EXPLAIN's name for a value not known yet.
 */
char *
copernica_profile_subprofiles_path(const CopernicaResource *res, const char *profile)
{
	const char *prefix = "collection/";
	const char *suffix = "/subprofiles";
	size_t		len;

	if (res->kind != COPERNICA_SUBPROFILES || res->list_path == NULL ||
		strncmp(res->list_path, prefix, strlen(prefix)) != 0)
		elog(ERROR, "a subprofile table's listing is not bound to a collection");
	len = strlen(res->list_path) - strlen(prefix);
	if (len <= strlen(suffix) ||
		strcmp(res->list_path + strlen(prefix) + len - strlen(suffix), suffix) != 0)
		elog(ERROR, "a subprofile table's listing is not bound to a collection");
	return psprintf("profile/%s/subprofiles/%.*s", profile,
					(int) (len - strlen(suffix)), res->list_path + strlen(prefix));
}

/*
 * An ID from Copernica's answer, checked before it goes into a path or an
 * option: a plain decimal integer, written without leading zeros.
 */
char *
copernica_checked_id(const char *text)
{
	int64		id;

	if (text == NULL || !copernica_parse_id(text, &id))
		ereport(ERROR,
				(errcode(ERRCODE_FDW_INVALID_STRING_FORMAT),
				 errmsg("unexpected answer from Copernica"),
				 text ?
				 errdetail("An ID is \"%s\", not a plain decimal integer.",
						   copernica_redact_excerpt(text, strlen(text))) :
				 errdetail("An item has no ID.")));
	return psprintf(INT64_FORMAT, id);
}

bool
copernica_is_numeric_id(const char *s)
{
	if (*s == '\0')
		return false;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

/* A collection is looked up by name in its database: without one, no path. */
static void
report_collection_needs_database(const CopernicaOptions *opts)
{
	ereport(ERROR,
			(errcode(ERRCODE_FDW_OPTION_NAME_NOT_FOUND),
			 errmsg("collection \"%s\" is given by name, which needs option \"database\"",
					opts->collection),
			 errhint("Give the collection's ID, or the database it belongs to.")));
}

/* The static description of a table, from its options alone. */
CopernicaResource *
copernica_resolve_resource(const CopernicaOptions *opts)
{
	CopernicaResource *res = palloc0(sizeof(CopernicaResource));
	const char *r = opts->resource;
	char	   *db = opts->database ? copernica_escape_path_segment(opts->database) : NULL;

	if (r == NULL && opts->collection)
	{
		res->kind = COPERNICA_SUBPROFILES;
		res->name = "subprofiles";
		res->entity_prefix = "subprofile";
		res->has_fields = true;
		res->writable = true;
		/* the path needs the collection's ID: see copernica_resource_bind */
		res->list_path = NULL;
		if (copernica_is_numeric_id(opts->collection))
			res->list_path = psprintf("collection/%s/subprofiles", opts->collection);
		else if (opts->database == NULL)
			report_collection_needs_database(opts);
	}
	else if (r == NULL)
	{
		res->kind = COPERNICA_PROFILES;
		res->name = "profiles";
		res->entity_prefix = "profile";
		res->has_fields = true;
		res->writable = true;
		res->list_path = psprintf("database/%s/profiles", db);
	}
	else if (strcmp(r, "view_profiles") == 0)
	{
		res->kind = COPERNICA_VIEW_PROFILES;
		res->name = "view profiles";
		res->entity_prefix = "profile";
		res->has_fields = true;
		/* a view named, not numbered, is looked up: copernica_resource_bind */
		if (copernica_is_numeric_id(opts->view))
			res->list_path = psprintf("view/%s/profiles", opts->view);
		else if (opts->database == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_FDW_OPTION_NAME_NOT_FOUND),
					 errmsg("view \"%s\" is given by name, which needs option \"database\"",
							opts->view),
					 errhint("Give the view's ID, or the database it belongs to.")));
	}
	else if (strcmp(r, "miniview_subprofiles") == 0)
	{
		res->kind = COPERNICA_MINIVIEW_SUBPROFILES;
		res->name = "miniview subprofiles";
		res->entity_prefix = "subprofile";
		res->has_fields = true;
		if (copernica_is_numeric_id(opts->miniview))
			res->list_path = psprintf("miniview/%s/subprofiles", opts->miniview);
		else if (opts->collection == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_FDW_OPTION_NAME_NOT_FOUND),
					 errmsg("miniview \"%s\" is given by name, which needs option \"collection\"",
							opts->miniview),
					 errhint("Give the miniview's ID, or the collection it belongs to.")));
		else if (!copernica_is_numeric_id(opts->collection) && opts->database == NULL)
			report_collection_needs_database(opts);
	}
	else if (copernica_is_mailing_resource(r))
	{
		/* its URL follows from the conditions: see mailing.c */
		res->kind = COPERNICA_MAILING;
		res->name = r;
	}
	else
	{
		res->kind = COPERNICA_LISTING;
		res->name = r;
		if (strcmp(r, "databases") == 0)
			res->list_path = pstrdup("databases");
		else if (strcmp(r, "collections") == 0)
			res->list_path = psprintf("database/%s/collections", db);
		else if (strcmp(r, "interests") == 0)
			res->list_path = psprintf("database/%s/interests", db);
		else if (strcmp(r, "views") == 0)
			res->list_path = psprintf("database/%s/views", db);
		else if (strcmp(r, "miniviews") == 0)
		{
			if (copernica_is_numeric_id(opts->collection))
				res->list_path = psprintf("collection/%s/miniviews", opts->collection);
			else if (opts->database == NULL)
				report_collection_needs_database(opts);
			/* else bound by name like a subprofile table */
		}
		else if (strcmp(r, "fields") == 0 && opts->collection)
		{
			if (copernica_is_numeric_id(opts->collection))
				res->list_path = psprintf("collection/%s/fields", opts->collection);
			else if (opts->database == NULL)
				report_collection_needs_database(opts);
			/* else bound by name like a subprofile table */
		}
		else if (strcmp(r, "fields") == 0)
			res->list_path = psprintf("database/%s/fields", db);
		else if (strcmp(r, "profile_ids") == 0)
		{
			res->bare = res->id_array = true;
			res->list_path = psprintf("database/%s/profileids", db);
		}
		else if (strcmp(r, "subprofile_ids") == 0 || strcmp(r, "unsubscribe") == 0)
		{
			const char *what = strcmp(r, "unsubscribe") == 0 ?
				"unsubscribe" : "subprofileids";

			res->bare = true;
			res->id_array = strcmp(r, "subprofile_ids") == 0;
			if (opts->collection == NULL)
				res->list_path = psprintf("database/%s/%s", db, what);
			else if (copernica_is_numeric_id(opts->collection))
				res->list_path = psprintf("collection/%s/%s", opts->collection, what);
			else if (opts->database == NULL)
				report_collection_needs_database(opts);
			/* else bound by name like a subprofile table */
		}
		else
			ereport(ERROR,
					(errcode(ERRCODE_FDW_INVALID_ATTRIBUTE_VALUE),
					 errmsg("unknown resource \"%s\"", r)));
	}
	return res;
}

/*
 * Are the table's items (sub)profiles listed by ID, with fields[] on id:
 * a database's or collection's, or a view's or miniview's members?  Such a
 * scan is read by ID (pager.c), never by offset.
 */
bool
copernica_lists_by_id(const CopernicaResource *res)
{
	return res->kind == COPERNICA_PROFILES ||
		res->kind == COPERNICA_SUBPROFILES ||
		res->kind == COPERNICA_VIEW_PROFILES ||
		res->kind == COPERNICA_MINIVIEW_SUBPROFILES;
}

/*
 * The property a column name stands for, in Copernica's spelling, or NULL
 * when the column is a field.  Listings have no fields: every column is a
 * property.
 */
const char *
copernica_resource_property(const CopernicaResource *res, const char *colname)
{
	const char *const *props;

	switch (res->kind)
	{
		case COPERNICA_PROFILES:
		case COPERNICA_VIEW_PROFILES:
			props = profile_properties;
			break;
		case COPERNICA_SUBPROFILES:
		case COPERNICA_MINIVIEW_SUBPROFILES:
			props = subprofile_properties;
			break;
		default:
			return colname;
	}
	for (; *props; props++)
		if (pg_strcasecmp(*props, colname) == 0)
			return *props;
	return NULL;
}

/* Does reading this property rule out dataonly=true? */
bool
copernica_property_needs_full(const char *property)
{
	const char *const *p;

	for (p = dataonly_dropped; *p; p++)
		if (pg_strcasecmp(*p, property) == 0)
			return true;
	return false;
}

/*
 * A column that matches no field would read as NULL forever, and Copernica
 * ignores unknown fields in writes: both are errors that list the fields.
 */
void
copernica_report_unmatched_column(const char *colname, const char *relname,
								  List *field_names)
{
	CopernicaNameList list;
	ListCell   *lc;
	char	   *names;

	copernica_name_list_init(&list);
	foreach(lc, field_names)
		copernica_name_list_add(&list, (char *) lfirst(lc));
	names = copernica_name_list_text(&list);
	ereport(ERROR,
			(errcode(ERRCODE_FDW_COLUMN_NAME_NOT_FOUND),
			 errmsg("column \"%s\" of foreign table \"%s\" matches no Copernica field",
					colname, relname),
			 names ? errdetail("The fields are: %s.", names)
			 : errdetail("There are no fields."),
			 errhint("Rename the column, or name the field with the column option \"field\".")));
}

bool
copernica_name_in_list(const char *name, List *names)
{
	ListCell   *lc;

	foreach(lc, names)
		if (pg_strcasecmp(lfirst(lc), name) == 0)
			return true;
	return false;
}

/*
 * The keys Copernica's docs give the items of a structure listing, or NULL
 * where every column reads the item itself (an ID list) or the docs give
 * none.  A column named for none of them would read NULL on every row.
 */
static const char *const database_keys[] = {
	"ID", "name", "description", "archived", "created", "fields", "interests",
	"collections", "intentions", NULL
};
static const char *const collection_keys[] = {
	"ID", "name", "database", "fields", "intentions", NULL
};
static const char *const field_keys[] = {
	"ID", "name", "type", "value", "displayed", "ordered", "length",
	"textlines", "hidden", "index", NULL
};
static const char *const interest_keys[] = {"ID", "name", "group", NULL};
static const char *const view_keys[] = {
	"ID", "name", "description", "parent-type", "parent-id", "has-children",
	"has-referred", "has-rules", "database", "last-built", "intentions", NULL
};
static const char *const miniview_keys[] = {
	"ID", "name", "description", "parent-type", "parent-id", "collection",
	"last-built", "intentions", NULL
};
static const char *const unsubscribe_keys[] = {"behavior", "fields", NULL};

static const struct
{
	const char *resource;
	const char *const *keys;
}			listing_keys[] = {
	{"databases", database_keys},
	{"collections", collection_keys},
	{"fields", field_keys},
	{"interests", interest_keys},
	{"views", view_keys},
	{"miniviews", miniview_keys},
	{"unsubscribe", unsubscribe_keys},
	{NULL, NULL}
};

/*
 * A structure listing's column named for no key its items have (a typo:
 * "nmae") would read NULL on every row: refuse it, naming the keys.  Only
 * the column's name is checked against the docs' keys; the column option
 * "field" names a key as it is, for keys the docs leave out.  The keys
 * come from the docs, not from the answers: a key that is optional may be
 * on no item of a listing and still be a key.
 */
void
copernica_check_listing_column(const CopernicaResource *res, Oid relid,
							   Form_pg_attribute attr)
{
	const char *const *keys = NULL;
	const char *const *k;
	StringInfoData list;
	int			i;

	if (res->kind != COPERNICA_LISTING || res->id_array ||
		copernica_column_field_option(relid, attr->attnum) != NULL)
		return;
	for (i = 0; listing_keys[i].resource; i++)
		if (strcmp(listing_keys[i].resource, res->name) == 0)
			keys = listing_keys[i].keys;
	if (keys == NULL)
		return;
	for (k = keys; *k; k++)
		if (pg_strcasecmp(*k, NameStr(attr->attname)) == 0)
			return;
	initStringInfo(&list);
	for (k = keys; *k; k++)
		appendStringInfo(&list, "%s%s", list.len ? ", " : "", *k);
	ereport(ERROR,
			(errcode(ERRCODE_FDW_COLUMN_NAME_NOT_FOUND),
			 errmsg("column \"%s\" of foreign table \"%s\" matches nothing in Copernica's %s",
					NameStr(attr->attname), get_rel_name(relid), res->name),
			 errdetail("The keys Copernica documents for its %s are: %s.", res->name, list.data),
			 errhint("Rename the column, or name the item's key with the column option \"field\".")));
}

/*
 * Where a column's values live in an item: the 'field' option names a field
 * (in a listing, whose items have none, a key of the item);
 * a json(b) column "fields" takes the whole fields object; a property's name
 * is a property; anything else is a field of the same name.
 */
CopernicaValuePath
copernica_column_source(const CopernicaResource *res, Oid relid,
						Form_pg_attribute attr)
{
	CopernicaValuePath path;
	char	   *name = NameStr(attr->attname);
	char	   *field = copernica_column_field_option(relid, attr->attnum);
	const char *property;

	if (field)
	{
		/* a listing's items have no fields: the option names an item's key */
		path.source = res->has_fields ? COPERNICA_SRC_FIELD : COPERNICA_SRC_PROPERTY;
		path.name = field;
		return path;
	}
	if (res->has_fields && pg_strcasecmp(name, "fields") == 0 &&
		(attr->atttypid == JSONBOID || attr->atttypid == JSONOID))
	{
		path.source = COPERNICA_SRC_FIELDS_OBJECT;
		path.name = NULL;
		return path;
	}
	property = copernica_resource_property(res, name);
	if (property)
	{
		path.source = COPERNICA_SRC_PROPERTY;
		path.name = property;
		return path;
	}
	path.source = COPERNICA_SRC_FIELD;
	path.name = pstrdup(name);
	return path;
}
