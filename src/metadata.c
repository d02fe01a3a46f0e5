/*-------------------------------------------------------------------------
 *
 * metadata.c
 *		  What planning asks Copernica about a table: structure listings
 *		  read whole, names of collections, views and miniviews bound to
 *		  their IDs, bare resources fetched in one request, and the cached
 *		  metadata (fields, size, ID bounds) that copernica_forget_metadata()
 *		  empties.  resource.c describes tables; this file does their I/O.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "copernica_fdw.h"
#include "http_internal.h"

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
		page = copernica_parse_answer(&req, &resp, true, paths, npaths);
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
	ErrorContextCallback errcb;
	List	   *ids;
	ListCell   *lc;
	size_t		len;
	int			i;

	req.method = "GET";
	req.path = res->list_path;
	copernica_perform(conn, &req, &resp, stats);
	if (!res->id_array)
		return copernica_parse_answer(&req, &resp, false, paths, npaths);
	errcb.callback = copernica_request_error_callback;
	errcb.arg = &req;
	errcb.previous = error_context_stack;
	error_context_stack = &errcb;
	if (strlen(resp.body.data) != (size_t) resp.body.len)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_INVALID_STRING_FORMAT),
				 errmsg("unexpected answer from Copernica"),
				 errdetail("The list of IDs holds a NUL byte.")));

	/* as a page's JSON: UTF-8, and in the server encoding for the lexer */
	len = resp.body.len;
	ids = copernica_json_string_array(copernica_body_to_server(resp.body.data,
															   &len));
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
	error_context_stack = errcb.previous;
	return page;
}

/* One item of a structure listing: only ID and name matter here. */
static const CopernicaValuePath id_name_paths[] = {
	{COPERNICA_SRC_PROPERTY, "ID"},
	{COPERNICA_SRC_PROPERTY, "name"}
};

#define METADATA_TTL_SECONDS	60

/*
 * IDs of collections, views and miniviews looked up by name, cached like
 * the field metadata (same lifetime, emptied by copernica_forget_metadata()):
 * a single-row statement must not cost a structure listing besides its own
 * request.  The key holds the server, user mapping, URL, listing (which
 * names the database or collection) and name, so an ALTER of any of them
 * looks the name up again.
 */
typedef struct NamedIdEntry
{
	char	   *key;			/* all in TopMemoryContext */
	char	   *id;
	TimestampTz fetched;
} NamedIdEntry;

static List *named_id_cache = NIL;

static void
forget_named_id(NamedIdEntry *entry)
{
	pfree(entry->key);
	pfree(entry->id);
	pfree(entry);
}

/*
 * The ID of the item called name in a structure listing (a collection or
 * view in its database, a miniview in its collection): paths take IDs.  A
 * strict lookup rejects a bad ID of the item named; otherwise such an item
 * is passed over.
 */
static char *
lookup_id_by_name_uncached(CopernicaConnection *conn, const char *listing,
						   const char *name, const char *what,
						   const char *owner_kind, const char *owner,
						   bool strict, CopernicaStats *stats)
{
	List	   *items;
	ListCell   *lc;
	CopernicaNameList names;
	char	   *list;

	items = copernica_fetch_listing(conn, listing, id_name_paths,
									lengthof(id_name_paths), stats);
	copernica_name_list_init(&names);
	foreach(lc, items)
	{
		char	  **v = lfirst(lc);
		int64		id;

		if (v[1] && v[0] && pg_strcasecmp(v[1], name) == 0)
		{
			if (strict)
				return copernica_checked_id(v[0]);
			if (copernica_parse_id(v[0], &id))
				return psprintf(INT64_FORMAT, id);
		}
		if (v[1])
			copernica_name_list_add(&names, v[1]);
	}
	list = copernica_name_list_text(&names);
	ereport(ERROR,
			(errcode(ERRCODE_FDW_TABLE_NOT_FOUND),
			 errmsg("Copernica %s \"%s\" has no %s \"%s\"", owner_kind, owner, what, name),
			 list ? errdetail("Its %ss are: %s.", what, list)
			 : errdetail("It has no %ss.", what)));
	return NULL;				/* keep compiler quiet */
}

/* As above, at most once a minute per server, user mapping, listing, name. */
static char *
lookup_id_by_name(CopernicaConnection *conn, const CopernicaOptions *opts,
				  const char *listing, const char *name, const char *what,
				  const char *owner_kind, const char *owner, bool strict,
				  CopernicaStats *stats)
{
	char	   *key = psprintf("%u/%u/%s/%s/%s", conn->key.serverid,
							   conn->key.umid, opts->url, listing, name);
	TimestampTz now = GetCurrentTimestamp();
	ListCell   *lc;
	NamedIdEntry *entry;
	MemoryContext old;
	char	   *id;

	foreach(lc, named_id_cache)
	{
		entry = lfirst(lc);
		if (strcmp(entry->key, key) == 0)
		{
			if (!TimestampDifferenceExceeds(entry->fetched, now,
											METADATA_TTL_SECONDS * 1000))
				return pstrdup(entry->id);
			old = MemoryContextSwitchTo(TopMemoryContext);
			named_id_cache = foreach_delete_current(named_id_cache, lc);
			MemoryContextSwitchTo(old);
			forget_named_id(entry);
			break;
		}
	}

	/* an unknown name raises here, and nothing is cached */
	id = lookup_id_by_name_uncached(conn, listing, name, what, owner_kind,
									owner, strict, stats);

	old = MemoryContextSwitchTo(TopMemoryContext);
	entry = palloc(sizeof(NamedIdEntry));
	entry->key = pstrdup(key);
	entry->id = pstrdup(id);
	entry->fetched = now;
	named_id_cache = lappend(named_id_cache, entry);
	MemoryContextSwitchTo(old);
	return id;
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
								  lookup_id_by_name(conn, opts,
													psprintf("database/%s/views",
															 copernica_escape_path_segment(opts->database)),
													opts->view, "view", "database",
													opts->database, false, stats));
		return;
	}
	cid = copernica_is_numeric_id(opts->collection) ? pstrdup(opts->collection) :
		lookup_id_by_name(conn, opts,
						  psprintf("database/%s/collections",
								   copernica_escape_path_segment(opts->database)),
						  opts->collection, "collection", "database",
						  opts->database, true, stats);
	if (res->kind == COPERNICA_MINIVIEW_SUBPROFILES)
		res->list_path = psprintf("miniview/%s/subprofiles",
								  lookup_id_by_name(conn, opts,
													psprintf("collection/%s/miniviews", cid),
													opts->miniview, "miniview", "collection",
													opts->collection, false, stats));
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
 * What planning wants to know about a table, cached per backend for a
 * while: asking on every query would add requests, and field definitions
 * and table sizes change slowly.
 *
 * Each entry lives in its own memory context, so that an expired entry is
 * freed when it is replaced, and copernica_forget_metadata() frees them
 * all.  Callers get a copy in their own memory: anything planning calls
 * (a function in a condition, say) may forget the cache meanwhile.
 */
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
	{COPERNICA_SRC_PROPERTY, "type"},
	{COPERNICA_SRC_PROPERTY, "value"}
};

/* The ID of the one item of a page asked for with limit=1; -1 for none. */
static int64
only_id(CopernicaRequest *req, CopernicaResponse *resp)
{
	static const CopernicaValuePath id_path[] = {{COPERNICA_SRC_PROPERTY, "ID"}};
	CopernicaPage *page = copernica_parse_answer(req, resp, true, id_path, 1);

	return copernica_page_item_id(page, 0, 0);
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
	page = copernica_parse_answer(&req, &resp, false, &owner, 1);
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
	md->field_values = NIL;
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
		page = copernica_parse_answer(&size_req, resp, true, NULL, 0);
		md->has_total = page->has_total;
		md->total = page->has_total ? (double) page->total : -1;
	}

	if (fields_handle >= 0)
	{
		resp = copernica_batch_wait(batch, fields_handle);
		page = copernica_parse_answer(&fields_req, resp, true,
									  field_def_paths, lengthof(field_def_paths));
		for (i = 0; i < page->nitems; i++)
			items = lappend(items, &page->values[(size_t) i * lengthof(field_def_paths)]);
		if (page->nitems >= COPERNICA_MAX_PAGE_SIZE)
			items = fetch_listing_from(conn, fields_req.path, field_def_paths,
									   lengthof(field_def_paths), NULL, items,
									   page->nitems);
	}
	if (min_handle >= 0)
	{
		md->min_id = only_id(&min_req, copernica_batch_wait(batch, min_handle));
		md->max_id = only_id(&max_req, copernica_batch_wait(batch, max_handle));
	}
	copernica_batch_end(batch);

	foreach(lc, items)
	{
		char	  **v = lfirst(lc);

		if (v[0] == NULL)
			continue;
		md->field_names = lappend(md->field_names, pstrdup(v[0]));
		md->field_types = lappend(md->field_types, pstrdup(v[1] ? v[1] : ""));
		md->field_values = lappend(md->field_values, pstrdup(v[2] ? v[2] : ""));
	}
}

/* md and its lists, copied into the current memory context. */
static CopernicaMetadata *
copy_metadata(const CopernicaMetadata *md)
{
	CopernicaMetadata *copy = palloc(sizeof(CopernicaMetadata));
	ListCell   *a,
			   *b,
			   *c;

	*copy = *md;
	copy->field_names = NIL;
	copy->field_types = NIL;
	copy->field_values = NIL;
	forthree(a, md->field_names, b, md->field_types, c, md->field_values)
	{
		copy->field_names = lappend(copy->field_names, pstrdup(lfirst(a)));
		copy->field_types = lappend(copy->field_types, pstrdup(lfirst(b)));
		copy->field_values = lappend(copy->field_values, pstrdup(lfirst(c)));
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

/* The entry of props (one per field, in field_names' order) for a field. */
static const char *
field_property(const CopernicaMetadata *md, const char *name, List *props)
{
	ListCell   *a,
			   *b;

	forboth(a, md->field_names, b, props)
		if (pg_strcasecmp(lfirst(a), name) == 0)
			return lfirst(b);
	return NULL;
}

/* The Copernica type of a field ("integer", "text", ...), or NULL. */
const char *
copernica_field_type(const CopernicaMetadata *md, const char *name)
{
	return field_property(md, name, md->field_types);
}

/* The "value" of a field's definition (a select's choices), or NULL. */
const char *
copernica_field_definition(const CopernicaMetadata *md, const char *name)
{
	return field_property(md, name, md->field_values);
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
	foreach(lc, named_id_cache)
		forget_named_id(lfirst(lc));
	list_free(named_id_cache);
	named_id_cache = NIL;
	copernica_mailing_sizes_forget();
	PG_RETURN_VOID();
}
