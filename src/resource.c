/*-------------------------------------------------------------------------
 *
 * resource.c
 *		  What each kind of foreign table means: the path of its listing,
 *		  its entity properties, and whether it can be written.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_attribute.h"
#include "catalog/pg_type.h"
#include "fmgr.h"
#include "mb/pg_wchar.h"
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

static bool
is_numeric_id(const char *s)
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
		if (is_numeric_id(opts->collection))
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
		if (is_numeric_id(opts->view))
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
		if (is_numeric_id(opts->miniview))
			res->list_path = psprintf("miniview/%s/subprofiles", opts->miniview);
		else if (opts->collection == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_FDW_OPTION_NAME_NOT_FOUND),
					 errmsg("miniview \"%s\" is given by name, which needs option \"collection\"",
							opts->miniview),
					 errhint("Give the miniview's ID, or the collection it belongs to.")));
		else if (!is_numeric_id(opts->collection) && opts->database == NULL)
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
			if (is_numeric_id(opts->collection))
				res->list_path = psprintf("collection/%s/miniviews", opts->collection);
			else if (opts->database == NULL)
				report_collection_needs_database(opts);
			/* else bound by name like a subprofile table */
		}
		else if (strcmp(r, "fields") == 0 && opts->collection)
		{
			if (is_numeric_id(opts->collection))
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
			else if (is_numeric_id(opts->collection))
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
 * Every item of a structure listing (databases, collections, fields, ...),
 * all pages of it, in Copernica's order: a List of value arrays, one value
 * per path.
 */
static List *
fetch_listing_from(CopernicaConnection *conn, const char *path,
				   const CopernicaValuePath *paths, int npaths,
				   CopernicaStats *stats, List *items, int64 start)
{
	int			pages = 0;

	for (;;)
	{
		CopernicaRequest req = {0};
		CopernicaResponse resp = {0};
		CopernicaPage *page;
		int			i;

		req.method = "GET";
		req.path = (char *) path;
		req.query = psprintf("start=" INT64_FORMAT "&limit=%d&total=false",
							 start, COPERNICA_MAX_PAGE_SIZE);
		copernica_perform(conn, &req, &resp, stats);
		page = copernica_parse_page(resp.body.data, resp.body.len, true,
									paths, npaths);
		for (i = 0; i < page->nitems; i++)
			items = lappend(items, &page->values[(size_t) i * npaths]);
		/* a short page is the last */
		if (page->nitems < COPERNICA_MAX_PAGE_SIZE)
			break;
		start += page->nitems;

		if (++pages >= COPERNICA_MAX_LISTING_PAGES)
			copernica_report_endless_listing(path, start);
	}
	return items;
}

/*
 * No database has this many fields, collections or the like: a structure
 * listing whose pages stay full is a hostile or broken answer, and must not
 * keep the backend asking forever.
 */
void
copernica_report_endless_listing(const char *path, int64 items)
{
	ereport(ERROR,
			(errcode(ERRCODE_FDW_ERROR),
			 errmsg("Copernica's listing %s does not end", path),
			 errdetail("It still answered full pages after " INT64_FORMAT " items; a structure listing is read up to %d pages of %d items.",
					   items, COPERNICA_MAX_LISTING_PAGES, COPERNICA_MAX_PAGE_SIZE)));
}

List *
copernica_fetch_listing(CopernicaConnection *conn, const char *path,
						const CopernicaValuePath *paths, int npaths,
						CopernicaStats *stats)
{
	return fetch_listing_from(conn, path, paths, npaths, stats, NIL, 0);
}

/*
 * The whole of a bare resource in one request, as a page: for an array of
 * IDs (profileids, subprofileids) one item per ID, whose every value is the
 * ID; for one object (an unsubscribe behaviour) one item.  Copernica says
 * these take no paging parameters, so none are sent.
 */
CopernicaPage *
copernica_fetch_bare(CopernicaConnection *conn, const CopernicaResource *res,
					 const CopernicaValuePath *paths, int npaths,
					 CopernicaStats *stats)
{
	CopernicaRequest req = {0};
	CopernicaResponse resp = {0};
	CopernicaPage *page;
	List	   *ids;
	ListCell   *lc;
	int			i;

	req.method = "GET";
	req.path = res->list_path;
	copernica_perform(conn, &req, &resp, stats);
	if (!res->id_array)
		return copernica_parse_page(resp.body.data, resp.body.len, false,
									paths, npaths);
	if (strlen(resp.body.data) != (size_t) resp.body.len)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_INVALID_STRING_FORMAT),
				 errmsg("unexpected answer from Copernica"),
				 errdetail("The list of IDs holds a NUL byte.")));

	ids = copernica_json_string_array(resp.body.data);
	page = palloc0(sizeof(CopernicaPage));
	page->nitems = list_length(ids);
	page->npaths = npaths;
	page->values = palloc(sizeof(char *) * Max((size_t) page->nitems * npaths, 1));
	page->is_json = palloc0(sizeof(bool) * Max((size_t) page->nitems * npaths, 1));
	page->path_seen = palloc(sizeof(bool) * Max(npaths, 1));
	for (i = 0; i < npaths; i++)
		page->path_seen[i] = true;
	foreach(lc, ids)
	{
		char	   *id = lfirst(lc);
		int64		v;

		if (id == NULL || !copernica_parse_id(id, &v))
			ereport(ERROR,
					(errcode(ERRCODE_FDW_INVALID_STRING_FORMAT),
					 errmsg("unexpected answer from Copernica"),
					 errdetail("The list of IDs holds \"%s\".",
							   id ? copernica_redact(id) : "null")));
		for (i = 0; i < npaths; i++)
			page->values[(size_t) foreach_current_index(lc) * npaths + i] = id;
	}
	return page;
}

/* One item of a structure listing: only ID and name matter here. */
static const CopernicaValuePath id_name_paths[] = {
	{COPERNICA_SRC_PROPERTY, "ID"},
	{COPERNICA_SRC_PROPERTY, "name"}
};

/*
 * Copernica only accepts a collection's ID in collection/... paths, so a
 * name is looked up in its database's collections once per scan.
 */
static char *
lookup_collection_id(CopernicaConnection *conn, const CopernicaOptions *opts,
					 CopernicaStats *stats)
{
	List	   *items;
	ListCell   *lc;
	StringInfoData names;

	items = copernica_fetch_listing(conn,
									psprintf("database/%s/collections",
											 copernica_escape_path_segment(opts->database)),
									id_name_paths, lengthof(id_name_paths), stats);
	initStringInfo(&names);
	foreach(lc, items)
	{
		char	  **v = lfirst(lc);

		if (v[1] && v[0] && pg_strcasecmp(v[1], opts->collection) == 0)
			return copernica_checked_id(v[0]);
		if (v[1])
			appendStringInfo(&names, "%s%s", names.len ? ", " : "", v[1]);
	}
	ereport(ERROR,
			(errcode(ERRCODE_FDW_TABLE_NOT_FOUND),
			 errmsg("Copernica database \"%s\" has no collection \"%s\"",
					opts->database, opts->collection),
			 names.len ? errdetail("Its collections are: %s.", copernica_redact(names.data))
			 : errdetail("It has no collections.")));
	return NULL;				/* keep compiler quiet */
}

/*
 * The ID of the item called name in a structure listing (a view in its
 * database, a miniview in its collection): paths take IDs.
 */
static char *
lookup_id_by_name(CopernicaConnection *conn, const char *listing, const char *name,
				  const char *what, const char *owner_kind, const char *owner,
				  CopernicaStats *stats)
{
	List	   *items;
	ListCell   *lc;
	StringInfoData names;

	items = copernica_fetch_listing(conn, listing, id_name_paths,
									lengthof(id_name_paths), stats);
	initStringInfo(&names);
	foreach(lc, items)
	{
		char	  **v = lfirst(lc);
		int64		id;

		if (v[1] && v[0] && pg_strcasecmp(v[1], name) == 0 && copernica_parse_id(v[0], &id))
			return psprintf(INT64_FORMAT, id);
		if (v[1])
			appendStringInfo(&names, "%s%s", names.len ? ", " : "", v[1]);
	}
	ereport(ERROR,
			(errcode(ERRCODE_FDW_TABLE_NOT_FOUND),
			 errmsg("Copernica %s \"%s\" has no %s \"%s\"", owner_kind, owner, what, name),
			 names.len ? errdetail("Its %ss are: %s.", what, copernica_redact(names.data))
			 : errdetail("It has no %ss.", what)));
	return NULL;				/* keep compiler quiet */
}

/*
 * Fill in what needs the API to know: a collection, view or miniview named,
 * not numbered.
 */
void
copernica_resource_bind(CopernicaResource *res, CopernicaConnection *conn,
						const CopernicaOptions *opts, CopernicaStats *stats)
{
	char	   *cid;

	if (res->list_path != NULL || res->kind == COPERNICA_MAILING)
		return;
	if (res->kind == COPERNICA_VIEW_PROFILES)
	{
		res->list_path = psprintf("view/%s/profiles",
								  lookup_id_by_name(conn,
													psprintf("database/%s/views",
															 copernica_escape_path_segment(opts->database)),
													opts->view, "view", "database",
													opts->database, stats));
		return;
	}
	cid = is_numeric_id(opts->collection) ? pstrdup(opts->collection) :
		lookup_collection_id(conn, opts, stats);
	if (res->kind == COPERNICA_MINIVIEW_SUBPROFILES)
		res->list_path = psprintf("miniview/%s/subprofiles",
								  lookup_id_by_name(conn,
													psprintf("collection/%s/miniviews", cid),
													opts->miniview, "miniview", "collection",
													opts->collection, stats));
	else if (res->kind == COPERNICA_SUBPROFILES)
		res->list_path = psprintf("collection/%s/subprofiles", cid);
	else if (strcmp(res->name, "miniviews") == 0)
		res->list_path = psprintf("collection/%s/miniviews", cid);
	else if (res->bare)
		res->list_path = psprintf("collection/%s/%s", cid,
								  res->id_array ? "subprofileids" : "unsubscribe");
	else
		res->list_path = psprintf("collection/%s/fields", cid);
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
	StringInfoData list;
	ListCell   *lc;

	initStringInfo(&list);
	foreach(lc, field_names)
		appendStringInfo(&list, "%s%s", list.len ? ", " : "", (char *) lfirst(lc));
	ereport(ERROR,
			(errcode(ERRCODE_FDW_COLUMN_NAME_NOT_FOUND),
			 errmsg("column \"%s\" of foreign table \"%s\" matches no Copernica field",
					colname, relname),
			 list.len ? errdetail("The fields are: %s.", copernica_redact(list.data))
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
 * What planning wants to know about a table, cached per backend for a
 * while: asking on every query would add requests, and field definitions
 * and table sizes change slowly.
 *
 * Each entry lives in its own memory context, so that an expired entry is
 * freed when it is replaced, and copernica_forget_metadata() frees them
 * all.  Callers get a copy in their own memory: anything planning calls
 * (a function in a condition, say) may forget the cache meanwhile.
 */
#define METADATA_TTL_SECONDS	60

typedef struct MetadataEntry
{
	MemoryContext cxt;			/* holds the entry and all it points to */
	char	   *key;
	TimestampTz fetched;
	CopernicaMetadata md;
} MetadataEntry;

/* The entries; the list's cells live in TopMemoryContext. */
static List *metadata_cache = NIL;

static const CopernicaValuePath field_def_paths[] = {
	{COPERNICA_SRC_PROPERTY, "name"},
	{COPERNICA_SRC_PROPERTY, "type"}
};

/* The ID of the one item of a page asked for with limit=1; -1 for none. */
static int64
only_id(CopernicaResponse *resp)
{
	static const CopernicaValuePath id_path[] = {{COPERNICA_SRC_PROPERTY, "ID"}};
	CopernicaPage *page = copernica_parse_page(resp->body.data, resp->body.len,
											   true, id_path, 1);
	int64		id;

	if (page->nitems == 0 || !copernica_parse_id(page->values[0], &id))
		return -1;
	return id;
}

/*
 * The fields of a view's database or a miniview's collection: the view or
 * miniview object says which (one request; metadata is cached).
 */
static char *
owner_fields_path(CopernicaConnection *conn, const CopernicaResource *res)
{
	bool		view = res->kind == COPERNICA_VIEW_PROFILES;
	CopernicaValuePath owner = {COPERNICA_SRC_PROPERTY, view ? "database" : "collection"};
	CopernicaRequest req = {0};
	CopernicaResponse resp = {0};
	CopernicaPage *page;
	int64		id;

	/* view/ID/profiles -> view/ID */
	req.method = "GET";
	req.path = pstrdup(res->list_path);
	*strrchr(req.path, '/') = '\0';
	copernica_perform(conn, &req, &resp, NULL);
	page = copernica_parse_page(resp.body.data, resp.body.len, false, &owner, 1);
	if (page->nitems != 1 || page->values[0] == NULL ||
		!copernica_parse_id(page->values[0], &id))
		ereport(ERROR,
				(errcode(ERRCODE_FDW_INVALID_STRING_FORMAT),
				 errmsg("unexpected answer from Copernica"),
				 errdetail("GET %s names no %s.", req.path, owner.name)));
	return psprintf("%s/" INT64_FORMAT "/fields", owner.name, id);
}

/*
 * What planning wants, asked for at once so that it costs one round trip:
 * the size (limit=0 gives no items, only the total), the field definitions,
 * and for profiles and subprofiles the smallest and largest ID, which let a
 * large scan start reading ID ranges at once (see pager.c).  Metadata
 * requests start with "limit=", a scan's with "start=".
 */
static void
fetch_metadata(CopernicaConnection *conn, const CopernicaResource *res,
			   const CopernicaOptions *opts, CopernicaMetadata *md)
{
	CopernicaRequest size_req = {0};
	CopernicaRequest fields_req = {0};
	CopernicaRequest min_req = {0};
	CopernicaRequest max_req = {0};
	CopernicaResponse *resp;
	CopernicaPage *page;
	CopernicaBatch *batch;
	int			size_handle;
	int			fields_handle = -1;
	int			min_handle = -1;
	int			max_handle = -1;
	List	   *items = NIL;
	ListCell   *lc;
	int			i;
	char	   *owner_fields = NULL;
	bool		ranges = res->kind == COPERNICA_PROFILES || res->kind == COPERNICA_SUBPROFILES;

	md->field_names = NIL;
	md->field_types = NIL;
	md->min_id = -1;
	md->max_id = -1;
	if (res->kind == COPERNICA_VIEW_PROFILES || res->kind == COPERNICA_MINIVIEW_SUBPROFILES)
		owner_fields = owner_fields_path(conn, res);
	batch = copernica_batch_begin(conn, NULL);

	/* a bare answer has no size to ask for: it is one request anyway */
	size_req.method = "GET";
	size_req.path = res->list_path;
	size_req.query = res->has_fields ? "limit=0&start=0&dataonly=true" : "limit=0&start=0";
	size_handle = res->bare ? -1 : copernica_batch_add(batch, &size_req);

	if (res->has_fields)
	{
		fields_req.method = "GET";
		if (owner_fields)
			fields_req.path = owner_fields;
		else if (res->kind == COPERNICA_SUBPROFILES)
		{
			/* collection/ID/subprofiles -> collection/ID/fields */
			char	   *p = pstrdup(res->list_path);

			*strrchr(p, '/') = '\0';
			fields_req.path = psprintf("%s/fields", p);
		}
		else
			fields_req.path = psprintf("database/%s/fields",
									   copernica_escape_path_segment(opts->database));
		fields_req.query = psprintf("start=0&limit=%d&total=false", COPERNICA_MAX_PAGE_SIZE);
		fields_handle = copernica_batch_add(batch, &fields_req);
	}

	/* views and miniviews promise no orderby: no ID bounds for them */
	if (res->has_fields && ranges)
	{
		min_req.method = max_req.method = "GET";
		min_req.path = max_req.path = res->list_path;
		min_req.query = "limit=1&start=0&total=false&dataonly=true&orderby=id&order=asc";
		max_req.query = "limit=1&start=0&total=false&dataonly=true&orderby=id&order=desc";
		min_handle = copernica_batch_add(batch, &min_req);
		max_handle = copernica_batch_add(batch, &max_req);
	}

	md->has_total = false;
	md->total = -1;
	if (size_handle >= 0)
	{
		resp = copernica_batch_wait(batch, size_handle);
		page = copernica_parse_page(resp->body.data, resp->body.len, true, NULL, 0);
		md->has_total = page->has_total;
		md->total = page->has_total ? (double) page->total : -1;
	}

	if (fields_handle >= 0)
	{
		resp = copernica_batch_wait(batch, fields_handle);
		page = copernica_parse_page(resp->body.data, resp->body.len, true,
									field_def_paths, lengthof(field_def_paths));
		for (i = 0; i < page->nitems; i++)
			items = lappend(items, &page->values[(size_t) i * 2]);
		if (page->nitems >= COPERNICA_MAX_PAGE_SIZE)
			items = fetch_listing_from(conn, fields_req.path, field_def_paths,
									   lengthof(field_def_paths), NULL, items,
									   page->nitems);
	}
	if (min_handle >= 0)
	{
		md->min_id = only_id(copernica_batch_wait(batch, min_handle));
		md->max_id = only_id(copernica_batch_wait(batch, max_handle));
	}
	copernica_batch_end(batch);

	foreach(lc, items)
	{
		char	  **v = lfirst(lc);

		if (v[0] == NULL)
			continue;
		md->field_names = lappend(md->field_names, pstrdup(v[0]));
		md->field_types = lappend(md->field_types, pstrdup(v[1] ? v[1] : ""));
	}
}

/* md and its lists, copied into the current memory context. */
static CopernicaMetadata *
copy_metadata(const CopernicaMetadata *md)
{
	CopernicaMetadata *copy = palloc(sizeof(CopernicaMetadata));
	ListCell   *a,
			   *b;

	*copy = *md;
	copy->field_names = NIL;
	copy->field_types = NIL;
	forboth(a, md->field_names, b, md->field_types)
	{
		copy->field_names = lappend(copy->field_names, pstrdup(lfirst(a)));
		copy->field_types = lappend(copy->field_types, pstrdup(lfirst(b)));
	}
	return copy;
}

static void
forget_entry(MetadataEntry *entry)
{
	MemoryContextDelete(entry->cxt);
}

/*
 * The table's metadata, from the cache or from Copernica, as a copy that
 * the caller owns (in its current memory context).
 */
const CopernicaMetadata *
copernica_get_metadata(CopernicaConnection *conn, const CopernicaResource *res,
					   const CopernicaOptions *opts, Oid serverid, Oid userid)
{
	char	   *key = psprintf("%u/%u/%s/%s", serverid, userid, opts->url,
							   res->list_path);
	TimestampTz now = GetCurrentTimestamp();
	ListCell   *lc;
	MetadataEntry *entry;
	MemoryContext cxt;
	MemoryContext old;
	CopernicaMetadata fetched;

	foreach(lc, metadata_cache)
	{
		entry = lfirst(lc);
		if (strcmp(entry->key, key) == 0)
		{
			if (!TimestampDifferenceExceeds(entry->fetched, now,
											METADATA_TTL_SECONDS * 1000))
				return copy_metadata(&entry->md);
			/* expired: free it now, so that a long session does not grow */
			old = MemoryContextSwitchTo(TopMemoryContext);
			metadata_cache = foreach_delete_current(metadata_cache, lc);
			MemoryContextSwitchTo(old);
			forget_entry(entry);
			break;
		}
	}

	/*
	 * Ask in the caller's memory: if asking fails, nothing was added to the
	 * cache, and the caller's context takes what was allocated with it.
	 */
	fetch_metadata(conn, res, opts, &fetched);

	cxt = AllocSetContextCreate(TopMemoryContext, "copernica_fdw metadata",
								ALLOCSET_SMALL_SIZES);
	old = MemoryContextSwitchTo(cxt);
	entry = palloc0(sizeof(MetadataEntry));
	entry->cxt = cxt;
	entry->key = pstrdup(key);
	entry->fetched = now;
	entry->md = *copy_metadata(&fetched);
	MemoryContextSwitchTo(TopMemoryContext);
	metadata_cache = lappend(metadata_cache, entry);
	MemoryContextSwitchTo(old);
	return copy_metadata(&fetched);
}

/* The Copernica type of a field ("integer", "text", ...), or NULL. */
const char *
copernica_field_type(const CopernicaMetadata *md, const char *name)
{
	ListCell   *a,
			   *b;

	forboth(a, md->field_names, b, md->field_types)
		if (pg_strcasecmp(lfirst(a), name) == 0)
			return lfirst(b);
	return NULL;
}

/*
 * Where a column's values live in an item: the 'field' option names a field;
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
		path.source = COPERNICA_SRC_FIELD;
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

PG_FUNCTION_INFO_V1(copernica_forget_metadata);

Datum
copernica_forget_metadata(PG_FUNCTION_ARGS)
{
	ListCell   *lc;

	/* callers hold copies, never pointers into the cache: free it all */
	foreach(lc, metadata_cache)
		forget_entry(lfirst(lc));
	list_free(metadata_cache);
	metadata_cache = NIL;
	PG_RETURN_VOID();
}
