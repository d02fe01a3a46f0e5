/*-------------------------------------------------------------------------
 *
 * scan.c
 *		  The executor side of a foreign scan: pages in, rows out.
 *
 * Pages are fetched with offset paging.  The first page is asked for alone
 * (most tables fit in one); after a full page, up to max_concurrency pages
 * are kept in flight so the wait for one overlaps the others.  A page shorter
 * than asked for ends the scan.  Each page is parsed into its own memory
 * context, reset when the next one arrives, and each row into a per-row
 * context, so memory does not grow with the number of rows.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "commands/explain.h"
#include "executor/executor.h"
#include "foreign/fdwapi.h"
#include "foreign/foreign.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"

#include "copernica_fdw.h"

/* One column the scan fills. */
typedef struct ScanColumn
{
	AttrNumber	attnum;			/* in the foreign table */
	char	   *colname;
	CopernicaColumnType type;
} ScanColumn;

/* A page request in flight. */
typedef struct PendingPage
{
	int			handle;
	int64		start;
} PendingPage;

typedef struct CopernicaScanState
{
	Relation	rel;
	CopernicaOptions *opts;
	CopernicaResource *res;
	CopernicaConnection *conn;
	CopernicaStats stats;
	int64		pages;			/* pages received */

	/* what each item gives */
	int			ncolumns;
	ScanColumn *columns;
	CopernicaValuePath *paths;	/* one per column, then ID */
	int			npaths;
	int			id_path;		/* index of the ID path */
	bool		dataonly;
	bool		columns_checked;	/* unmatched columns looked for */

	/* paging */
	CopernicaBatch *batch;
	PendingPage *pending;		/* ring of max_concurrency requests */
	int			npending;
	int			pending_head;
	int64		next_start;		/* offset of the next page to ask for */
	bool		last_page_seen;

	/* current page */
	MemoryContext page_cxt;
	MemoryContext row_cxt;
	CopernicaPage *page;
	int			next_item;

	/* for the error context of a failed conversion */
	ScanColumn *converting;
	const char *converting_id;
} CopernicaScanState;

/* the scan whose conversion failed: for the error context */
static void
conversion_error_callback(void *arg)
{
	CopernicaScanState *st = arg;

	if (st->converting)
		errcontext("column \"%s\" of foreign table \"%s\", Copernica %s %s",
				   st->converting->colname, RelationGetRelationName(st->rel),
				   st->res->entity_prefix ? st->res->entity_prefix : "item",
				   st->converting_id ? st->converting_id : "(no ID)");
}

/* Where a column's values live in an item. */
static CopernicaValuePath
column_path(CopernicaScanState *st, Form_pg_attribute attr)
{
	CopernicaValuePath path;
	char	   *name = NameStr(attr->attname);
	char	   *field = copernica_column_field_option(RelationGetRelid(st->rel),
													  attr->attnum);
	const char *property;

	if (field)
	{
		path.source = COPERNICA_SRC_FIELD;
		path.name = field;
		return path;
	}
	if (st->res->has_fields && pg_strcasecmp(name, "fields") == 0 &&
		(attr->atttypid == JSONBOID || attr->atttypid == JSONOID))
	{
		path.source = COPERNICA_SRC_FIELDS_OBJECT;
		path.name = NULL;
		return path;
	}
	property = copernica_resource_property(st->res, name);
	if (property)
	{
		path.source = COPERNICA_SRC_PROPERTY;
		path.name = property;
		if (copernica_property_needs_full(property))
			st->dataonly = false;
		return path;
	}
	path.source = COPERNICA_SRC_FIELD;
	path.name = name;
	return path;
}

static void
send_page_request(CopernicaScanState *st)
{
	CopernicaRequest *req = palloc0(sizeof(CopernicaRequest));
	int			slot = (st->pending_head + st->npending) % st->opts->max_concurrency;

	req->method = "GET";
	req->path = st->res->list_path;
	req->query = psprintf("start=" INT64_FORMAT "&limit=%d&total=false%s",
						  st->next_start, st->opts->page_size,
						  st->dataonly ? "&dataonly=true" : "");
	st->pending[slot].handle = copernica_batch_add(st->batch, req);
	st->pending[slot].start = st->next_start;
	st->npending++;
	st->next_start += st->opts->page_size;
}

/*
 * A column that matches no field would read as NULL forever: say so at the
 * first page instead, naming the fields there are.
 */
static void
check_unmatched_columns(CopernicaScanState *st, CopernicaPage *page)
{
	List	   *names = NIL;
	bool		have_names = false;
	int			i;

	st->columns_checked = true;
	if (!st->res->has_fields)
		return;

	for (i = 0; i < st->ncolumns; i++)
	{
		bool		matched;

		if (st->paths[i].source != COPERNICA_SRC_FIELD)
			continue;
		if (page->nitems > 0)
		{
			matched = page->path_seen[i];
			names = page->field_names;
		}
		else
		{
			if (st->res->kind == COPERNICA_VIEW_PROFILES)
				return;
			if (!have_names)
			{
				names = copernica_fetch_field_names(st->conn, st->res, st->opts,
													  &st->stats);
				have_names = true;
			}
			matched = copernica_name_in_list(st->paths[i].name, names);
		}
		if (!matched)
		{
			StringInfoData list;
			ListCell   *lc;

			initStringInfo(&list);
			foreach(lc, names)
				appendStringInfo(&list, "%s%s", list.len ? ", " : "",
								 (char *) lfirst(lc));
			ereport(ERROR,
					(errcode(ERRCODE_FDW_COLUMN_NAME_NOT_FOUND),
					 errmsg("column \"%s\" of foreign table \"%s\" matches no Copernica field",
							st->columns[i].colname, RelationGetRelationName(st->rel)),
					 list.len ? errdetail("The fields are: %s.", list.data)
					 : errdetail("There are no fields."),
					 errhint("Rename the column, or name the field with the column option \"field\".")));
		}
	}
}

/* Wait for the oldest page in flight, parse it, and keep the pipe full. */
static bool
fetch_next_page(CopernicaScanState *st)
{
	PendingPage pp;
	CopernicaResponse *resp;
	CopernicaPage *page;
	MemoryContext old;

	if (st->npending == 0)
	{
		if (st->last_page_seen)
			return false;
		send_page_request(st);
	}

	pp = st->pending[st->pending_head];
	st->pending_head = (st->pending_head + 1) % st->opts->max_concurrency;
	st->npending--;

	MemoryContextReset(st->page_cxt);
	st->page = NULL;
	resp = copernica_batch_wait(st->batch, pp.handle);

	old = MemoryContextSwitchTo(st->page_cxt);
	page = copernica_parse_page(resp->body.data, resp->body.len, true,
								st->paths, st->npaths);
	MemoryContextSwitchTo(old);
	copernica_batch_forget(st->batch, pp.handle);
	st->pages++;

	if (page->start != pp.start)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_INVALID_STRING_FORMAT),
				 errmsg("unexpected answer from Copernica"),
				 errdetail("Asked for the page at offset " INT64_FORMAT " but got the one at " INT64_FORMAT ".",
						   pp.start, page->start)));
	if (page->nitems > st->opts->page_size)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_INVALID_STRING_FORMAT),
				 errmsg("unexpected answer from Copernica"),
				 errdetail("Asked for at most %d items but got %d.",
						   st->opts->page_size, page->nitems)));

	if (page->nitems < st->opts->page_size)
	{
		/* the last page: whatever is still in flight lies beyond the end */
		st->last_page_seen = true;
		st->npending = 0;
	}
	else
	{
		while (st->npending < st->opts->max_concurrency)
			send_page_request(st);
	}

	if (!st->columns_checked)
		check_unmatched_columns(st, page);

	st->page = page;
	st->next_item = 0;
	return true;
}

static void
start_paging(CopernicaScanState *st)
{
	if (st->batch)
		copernica_batch_end(st->batch);
	st->batch = copernica_batch_begin(st->conn, &st->stats);
	st->npending = 0;
	st->pending_head = 0;
	st->next_start = 0;
	st->last_page_seen = false;
	st->page = NULL;
	st->next_item = 0;
}

void
copernicaBeginForeignScan(ForeignScanState *node, int eflags)
{
	ForeignScan *fsplan = (ForeignScan *) node->ss.ps.plan;
	EState	   *estate = node->ss.ps.state;
	CopernicaScanState *st = palloc0(sizeof(CopernicaScanState));
	RangeTblEntry *rte = exec_rt_fetch(fsplan->scan.scanrelid, estate);
	Oid			userid = OidIsValid(rte->checkAsUser) ? rte->checkAsUser : GetUserId();
	List	   *retrieved = linitial(fsplan->fdw_private);
	TupleDesc	tupdesc;
	ListCell   *lc;
	int			i = 0;

	node->fdw_state = st;
	st->rel = node->ss.ss_currentRelation;
	st->opts = copernica_get_options(RelationGetRelid(st->rel), userid);
	st->res = copernica_resolve_resource(st->opts);
	if (eflags & EXEC_FLAG_EXPLAIN_ONLY)
		return;

	tupdesc = RelationGetDescr(st->rel);
	st->dataonly = st->res->has_fields;
	st->ncolumns = list_length(retrieved);
	st->columns = palloc0(sizeof(ScanColumn) * (st->ncolumns + 1));
	st->npaths = st->ncolumns + 1;
	st->paths = palloc0(sizeof(CopernicaValuePath) * st->npaths);
	foreach(lc, retrieved)
	{
		Form_pg_attribute attr = TupleDescAttr(tupdesc, lfirst_int(lc) - 1);

		st->columns[i].attnum = attr->attnum;
		st->columns[i].colname = pstrdup(NameStr(attr->attname));
		copernica_column_type_init(&st->columns[i].type, attr->atttypid,
								   attr->atttypmod);
		st->paths[i] = column_path(st, attr);
		i++;
	}
	/* the ID always comes along, for error messages */
	st->id_path = st->ncolumns;
	st->paths[st->id_path].source = COPERNICA_SRC_PROPERTY;
	st->paths[st->id_path].name = "ID";

	st->pending = palloc0(sizeof(PendingPage) * st->opts->max_concurrency);
	st->page_cxt = AllocSetContextCreate(estate->es_query_cxt,
										 "copernica_fdw page",
										 ALLOCSET_DEFAULT_SIZES);
	st->row_cxt = AllocSetContextCreate(estate->es_query_cxt,
										"copernica_fdw row",
										ALLOCSET_SMALL_SIZES);

	st->conn = copernica_get_connection(GetForeignTable(RelationGetRelid(st->rel))->serverid,
										userid, st->opts);
	copernica_resource_bind(st->res, st->conn, st->opts, &st->stats);
	start_paging(st);
}

TupleTableSlot *
copernicaIterateForeignScan(ForeignScanState *node)
{
	CopernicaScanState *st = node->fdw_state;
	TupleTableSlot *slot = node->ss.ss_ScanTupleSlot;
	ErrorContextCallback errcb;
	MemoryContext old;
	char	  **values;
	int			i;

	ExecClearTuple(slot);
	MemoryContextReset(st->row_cxt);

	while (st->page == NULL || st->next_item >= st->page->nitems)
	{
		if (!fetch_next_page(st))
			return slot;
	}

	values = st->page->values + (size_t) st->next_item * st->npaths;
	st->next_item++;

	memset(slot->tts_isnull, true, sizeof(bool) * slot->tts_tupleDescriptor->natts);

	errcb.callback = conversion_error_callback;
	errcb.arg = st;
	errcb.previous = error_context_stack;
	error_context_stack = &errcb;
	st->converting_id = values[st->id_path];

	old = MemoryContextSwitchTo(st->row_cxt);
	for (i = 0; i < st->ncolumns; i++)
	{
		ScanColumn *col = &st->columns[i];
		int			att = col->attnum - 1;

		st->converting = col;
		slot->tts_values[att] = copernica_value_to_datum(&col->type, values[i],
														 st->opts->timezone,
														 &slot->tts_isnull[att]);
	}
	MemoryContextSwitchTo(old);
	st->converting = NULL;
	error_context_stack = errcb.previous;

	return ExecStoreVirtualTuple(slot);
}

void
copernicaReScanForeignScan(ForeignScanState *node)
{
	CopernicaScanState *st = node->fdw_state;

	MemoryContextReset(st->page_cxt);
	start_paging(st);
}

void
copernicaEndForeignScan(ForeignScanState *node)
{
	CopernicaScanState *st = node->fdw_state;

	if (st == NULL || st->batch == NULL)
		return;
	copernica_batch_end(st->batch);
	st->batch = NULL;
}

void
copernicaExplainForeignScan(ForeignScanState *node, ExplainState *es)
{
	CopernicaScanState *st = node->fdw_state;
	const char *path = st->res->list_path;

	if (path == NULL)
		path = psprintf("collection \"%s\" of database \"%s\"",
						st->opts->collection, st->opts->database);
	ExplainPropertyText("Copernica", psprintf("GET %s", path), es);

	if (es->analyze)
	{
		ExplainPropertyInteger("Copernica Requests", NULL, st->stats.requests, es);
		ExplainPropertyInteger("Copernica Pages", NULL, st->pages, es);
		ExplainPropertyInteger("Copernica Retries", NULL, st->stats.retries, es);
		ExplainPropertyInteger("Copernica Bytes", NULL, st->stats.bytes, es);
		if (es->timing)
			ExplainPropertyFloat("Copernica Wait Time", "ms",
								 st->stats.wait_seconds * 1000.0, 3, es);
	}
}
