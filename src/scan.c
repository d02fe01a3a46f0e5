/*-------------------------------------------------------------------------
 *
 * scan.c
 *		  The executor side of a foreign scan: pages in, rows out; the one
 *		  page loop (copernica_next_page) that ANALYZE and mailing scans
 *		  read through too, and the one row loop (copernica_row_loop_next)
 *		  that mailing scans run with their own hooks.
 *
 * Which pages are asked for, and when, is pager.c's business.  Here each
 * page is parsed into its own memory context, reset when the next one
 * arrives, and each row converted in a per-row context, so memory does not
 * grow with the number of rows.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <ctype.h>

#include "catalog/pg_class.h"
#include "catalog/pg_inherits.h"
#include "catalog/pg_type.h"
#include "commands/explain.h"
#include "executor/executor.h"
#include "foreign/fdwapi.h"
#include "foreign/foreign.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "nodes/nodeFuncs.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"

#include "copernica_fdw.h"

typedef struct CopernicaScanState
{
	CopernicaRowLoop loop;		/* rows, pages, their memory */
	Relation	rel;
	CopernicaOptions *opts;
	CopernicaResource *res;
	CopernicaConnection *conn;
	CopernicaStats stats;
	int64		pages;			/* pages received */

	/* what each item gives: loop.npaths, one per column, then ID */
	CopernicaValuePath *paths;
	bool		dataonly;

	/* what the plan pushed */
	List	   *conds;			/* per condition: field, op, format, exact, id_list */
	List	   *value_states;	/* ExprStates of the conditions' values */
	char	   *order_field;	/* "" for none */
	bool		order_desc;
	int64		limit;			/* rows asked for in all, 0 for no limit */
	char	   *limit_text;		/* a LIMIT known at scan start: EXPLAIN's
								 * view of it, or NULL */
	char	   *filter_text;	/* EXPLAIN's view of the conditions */
	char	   *request_text;	/* and of their fields[] parameters */
	int64		size_hint;		/* the listing's size when planned, or -1 */
	int64		min_id_hint;	/* and its ID bounds, or -1 */
	int64		max_id_hint;
	StringInfoData filter;		/* this scan's evaluated fields[] parameters */
	int64		rows_hint;		/* rows expected to match, or -1 */
	char	   *key_path_text;	/* EXPLAIN's profile/$id/subprofiles/$c, or "" */
	char	   *key_path;		/* this run's, or NULL: the table's listing */
	bool		id_mode;		/* an id = ANY(...) list */
	int64	   *id_values;		/* its IDs, sorted */
	int			nids;
	bool		empty_result;	/* a condition's value is NULL: no rows */
	bool		bare_done;		/* a bare resource's one request made */
	bool		feeds_insert;	/* an INSERT into Copernica reads this scan */
	int64		id_ceiling;		/* then the largest ID when it began, 0 for
								 * none, -1 not asked yet */
	CopernicaOwnRef own;		/* its rows this transaction created (own_rows.c) */
	CommandId	snapshot_cid;	/* rows this transaction created from this
								 * command on are not read */

	/*
	 * Profiles and subprofiles are read by ID (stripes, or keyset in ID
	 * order), never by offset, which shifts when rows change during a scan
	 * (pager.c).
	 */
	bool		check_id_order;

	/* paging */
	CopernicaPager *pager;
} CopernicaScanState;

/* the scan whose conversion failed: for the error context */
static void
conversion_error_callback(void *arg)
{
	CopernicaRowLoop *loop = arg;

	if (loop->converting)
		errcontext("column \"%s\" of foreign table \"%s\", Copernica %s %s",
				   loop->converting->colname, RelationGetRelationName(loop->rel),
				   loop->item_noun,
				   loop->converting_id ?
				   copernica_redact_excerpt(loop->converting_id,
											strlen(loop->converting_id)) :
				   "(no ID)");
}


/*
 * Error context callback of everything that reads an answer: a page that
 * makes no sense says which request brought it.  arg is the request.
 */
void
copernica_request_error_callback(void *arg)
{
	errcontext("Copernica request: %s",
			   copernica_request_shown((CopernicaRequest *) arg));
}

/*
 * copernica_parse_page for the answer to req: an error names the request,
 * as a page's does.
 */
CopernicaPage *
copernica_parse_answer(CopernicaRequest *req, CopernicaResponse *resp,
					   bool envelope, const CopernicaValuePath *paths,
					   int npaths)
{
	ErrorContextCallback errcb;
	CopernicaPage *page;

	errcb.callback = copernica_request_error_callback;
	errcb.arg = req;
	errcb.previous = error_context_stack;
	error_context_stack = &errcb;
	page = copernica_parse_page(resp->body.data, resp->body.len, envelope,
								paths, npaths);
	error_context_stack = errcb.previous;
	return page;
}

/*
 * Is msg what Copernica answers for a mailing table's key (an emailing, a
 * destination, a test group, a template, a subprofile) that is not there?
 * Profiles ("No entity with supplied ID") are told apart by the caller.
 */
static bool
mailing_key_unknown(const char *msg)
{
	static const char *const kinds[] = {
		"emailing", "destination", "testgroup", "template", "subprofile"
	};
	int			i;

	for (i = 0; i < lengthof(kinds); i++)
		if (pg_strcasecmp(msg, psprintf("No %s with supplied ID", kinds[i])) == 0)
			return true;
	return false;
}

/*
 * A profile's subprofiles were asked for and Copernica answered 400.  On
 * the first page (or a count) that means the profile is unknown ("No
 * entity with supplied ID"), or it is of another database, whose
 * collections do not hold this one ("No collection with given ID"): no
 * rows here.  The second message is also what a removed collection gives,
 * which must not read as an empty table: the collection's own listing is
 * asked once (path_exists) to tell the two apart.  Later pages, and any
 * other error, raise.
 */
void
copernica_report_unless_missing(const CopernicaResource *res,
								CopernicaResponse *resp, CopernicaRequest *req,
								bool first, CopernicaPathExists path_exists,
								void *arg)
{
	ErrorContextCallback errcb;
	const char *msg = resp->error_message;

	if (msg != NULL && first)
	{
		if (pg_strcasecmp(msg, "No entity with supplied ID") == 0)
			return;
		/* a mailing table's key (res NULL) that is not there */
		if (res == NULL && mailing_key_unknown(msg) &&
			copernica_json_error_message(resp->body.data, resp->body.len) != NULL)
			return;
		if (pg_strcasecmp(msg, "No collection with given ID") == 0 &&
			res != NULL && res->kind == COPERNICA_SUBPROFILES &&
			path_exists(arg, res->list_path))
			return;
	}
	errcb.callback = copernica_request_error_callback;
	errcb.arg = req;
	errcb.previous = error_context_stack;
	error_context_stack = &errcb;
	ereport(ERROR,
			(errcode(msg != NULL && pg_strcasecmp(msg, "No collection with given ID") == 0 ?
					 ERRCODE_FDW_TABLE_NOT_FOUND : ERRCODE_FDW_ERROR),
			 errmsg("Copernica rejected the request: %s",
					msg ? copernica_redact(msg) : "HTTP 400")));
}

/*
 * Copernica's profiles and subprofiles hold every field of their database
 * or collection (copernica-api-v2.md 5.1), and planning checked that the
 * column's field is one of them: an item without it, or without "fields",
 * is an answer to refuse, not a row of NULLs.  Also when no item of the
 * page has it, which a field removed since its definitions were read
 * (the metadata cache) would give too: the hint says how to read them
 * again, and the column's error follows.
 */
static void
check_item_fields(const CopernicaResource *res, CopernicaPage *page,
				  const CopernicaValuePath *paths, int id_path)
{
	const char *noun = res->entity_prefix ? res->entity_prefix : "item";
	const char *id = NULL;
	const char *field = paths[page->lacking_path].name;
	char	   *who;

	if (id_path >= 0)
		id = page->values[(size_t) page->lacking_item * page->npaths + id_path];
	who = psprintf("%c%s %s", pg_toupper((unsigned char) noun[0]), noun + 1,
				   id ? copernica_redact_excerpt(id, strlen(id)) : "without an ID");
	if (page->lacking_fields)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_INVALID_STRING_FORMAT),
				 errmsg("unexpected answer from Copernica"),
				 errdetail("%s has no \"fields\" object.", who)));
	ereport(ERROR,
			(errcode(ERRCODE_FDW_INVALID_STRING_FORMAT),
			 errmsg("unexpected answer from Copernica"),
			 errdetail("%s has no field \"%s\".", who, field),
			 page->path_seen[page->lacking_path] ? 0 :
			 errhint("If the field was removed or renamed in Copernica, run SELECT copernica_forget_metadata() to read the fields again.")));
}

/* Does the listing answer?  Asked through the pager's own connection. */
static bool
pager_path_exists(void *arg, const char *path)
{
	return copernica_pager_path_exists((CopernicaPager *) arg, path);
}

/* What the pager's item_id callback reads: a page and where its IDs are. */
typedef struct PageIds
{
	CopernicaPage *page;
	int			id_path;
} PageIds;

/* An item's ID, for the pager: -1 when there is none. */
static int64
item_id(void *arg, int item)
{
	PageIds    *ids = arg;

	return copernica_page_item_id(ids->page, item, ids->id_path);
}

/*
 * Copernica's profile and subprofile IDs are positive: an item without
 * one, or with one below 1, is not an answer to trust (paging by ID would
 * go wrong on it), wherever it shows up.
 */
static void
check_item_ids(CopernicaPage *page, int id_path)
{
	int			i;

	for (i = 0; i < page->nitems; i++)
	{
		const char *text = page->values[(size_t) i * page->npaths + id_path];
		int64		id;

		if (text == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_FDW_INVALID_STRING_FORMAT),
					 errmsg("unexpected answer from Copernica"),
					 errdetail("An item has no ID.")));
		if (!copernica_parse_integer(text, &id) || id < 1)
			ereport(ERROR,
					(errcode(ERRCODE_FDW_INVALID_STRING_FORMAT),
					 errmsg("unexpected answer from Copernica"),
					 errdetail("An item has the ID \"%s\"; Copernica's IDs are positive.",
							   copernica_redact_excerpt(text, strlen(text)))));
	}
}

/*
 * A page is the one asked for: at the offset asked, with no more items than
 * asked.  Anything else could repeat or skip rows.
 */
void
copernica_check_page_window(const CopernicaPage *page, int64 start, int asked)
{
	if (page->start != start)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_INVALID_STRING_FORMAT),
				 errmsg("unexpected answer from Copernica"),
				 errdetail("Asked for the page at offset " INT64_FORMAT " but got the one at " INT64_FORMAT ".",
						   start, page->start)));
	if (page->nitems > asked)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_INVALID_STRING_FORMAT),
				 errmsg("unexpected answer from Copernica"),
				 errdetail("Asked for at most %d items but got %d.",
						   asked, page->nitems)));
}

/*
 * The one page loop of scans and ANALYZE: wait for the pager's next page,
 * parse it into cxt, check it is the page asked for, and let the pager ask
 * for more.  Items past the end of the stripe they were asked for are not
 * ours: nitems counts only the rest.  NULL when there are no more pages.
 * res is NULL for a mailing table's listing; id_path is -1 when the pager
 * needs no IDs (it reads by offset only).
 */
CopernicaPage *
copernica_next_page(CopernicaPager *pager, const CopernicaResource *res,
					const CopernicaValuePath *paths, int npaths, int id_path,
					MemoryContext cxt)
{
	ErrorContextCallback errcb;
	CopernicaRequest *req;
	CopernicaResponse *resp;
	CopernicaPage *page;
	PageIds		ids;
	MemoryContext old;
	int64		start;
	int			asked;

	resp = copernica_pager_next(pager, &req, &start, &asked);
	if (resp == NULL)
		return NULL;
	if (resp->status == 400)
	{
		/* a profile's subprofiles (missing_is_empty), the profile unknown */
		copernica_report_unless_missing(res, resp, req, start == 0,
										pager_path_exists, pager);
		(void) copernica_pager_done(pager, 0, -1, NULL, NULL);
		return NULL;
	}

	errcb.callback = copernica_request_error_callback;
	errcb.arg = req;
	errcb.previous = error_context_stack;
	error_context_stack = &errcb;
	old = MemoryContextSwitchTo(cxt);
	page = copernica_parse_page_in_place(resp->body.data, resp->body.len, true,
										 paths, npaths);
	MemoryContextSwitchTo(old);

	/* the page's values are in the body: it lives as long as the page */
	copernica_pager_keep_response(pager, cxt);
	if (res != NULL && res->kind == COPERNICA_LISTING &&
		start >= (int64) COPERNICA_MAX_LISTING_PAGES * COPERNICA_MAX_PAGE_SIZE)
		copernica_report_endless_listing(res->list_path, start);
	copernica_check_page_window(page, start, asked);
	if (id_path >= 0 && res != NULL && res->kind != COPERNICA_LISTING)
		check_item_ids(page, id_path);
	if (res != NULL && page->lacking_item >= 0)
		check_item_fields(res, page, paths, id_path);
	error_context_stack = errcb.previous;

	/* the response is parsed: the pager frees it and asks for more */
	ids.page = page;
	ids.id_path = id_path;
	page->nitems = copernica_pager_done(pager, page->nitems,
										page->has_total ? page->total : -1,
										id_path >= 0 ? item_id : NULL, &ids);
	return page;
}

/* Wait for the next page, parse it, and let the pager ask for more. */
static bool
fetch_next_page(void *arg)
{
	CopernicaScanState *st = arg;
	CopernicaRowLoop *loop = &st->loop;
	CopernicaPage *page;
	MemoryContext old;

	MemoryContextReset(loop->page_cxt);
	loop->page = NULL;
	if (st->empty_result)
		return false;
	if (st->res->bare)
	{
		/* one request is the whole answer (metadata.c) */
		if (st->bare_done)
			return false;
		st->bare_done = true;
		old = MemoryContextSwitchTo(loop->page_cxt);
		loop->page = copernica_fetch_bare(st->conn, st->res, st->paths, loop->npaths,
										  &st->stats);
		MemoryContextSwitchTo(old);
		st->pages++;
		loop->next_item = 0;
		return true;
	}
	page = copernica_next_page(st->pager, st->res, st->paths, loop->npaths,
							   loop->id_path, loop->page_cxt);
	if (page == NULL)
		return false;
	st->pages++;
	/* rows its transaction created since the scan's snapshot are not read */
	if (copernica_own_rows_since(&st->own, st->snapshot_cid))
		(void) copernica_drop_own_rows(page, loop->id_path, &st->own,
									   st->snapshot_cid);

	loop->page = page;
	loop->next_item = 0;
	return true;
}

/* An int2, int4 or int8 value as an int64. */
int64
copernica_integer_value(Datum value, Oid type)
{
	if (type == INT2OID)
		return DatumGetInt16(value);
	if (type == INT4OID)
		return DatumGetInt32(value);
	return DatumGetInt64(value);
}

/*
 * Does a condition ask only for IDs below 1?  Copernica's IDs are positive
 * (an answer with another raises, see check_item_ids): it matches nothing,
 * and no request is made.
 */
static bool
id_below_one(const char *field, const char *op, Datum value,
			 Oid type)
{
	int64		v;

	if (strcmp(field, "id") != 0 ||
		(type != INT2OID && type != INT4OID && type != INT8OID))
		return false;
	v = copernica_integer_value(value, type);
	if (strcmp(op, "==") == 0 || strcmp(op, "<=") == 0)
		return v < 1;
	if (strcmp(op, "<") == 0)
		return v <= 1;
	return false;
}

/*
 * A LIMIT known when the scan starts (a generic plan's parameter): the
 * rows the Limit node above will take, count plus offset, as the values it
 * computes from the same expressions.  0 (none sent) for LIMIT NULL or
 * ALL, for a negative value (the Limit node raises its error), or beyond
 * what one int holds, as a constant LIMIT there.
 */
int64
copernica_evaluate_limit(List *limit_states, ExprContext *econtext)
{
	ExprState  *count_state = linitial(limit_states);
	ExprState  *offset_state = lsecond(limit_states);
	bool		isnull;
	int64		count;
	int64		offset;

	count = DatumGetInt64(ExecEvalExpr(count_state, econtext, &isnull));
	if (isnull || count < 0)
		return 0;
	offset = DatumGetInt64(ExecEvalExpr(offset_state, econtext, &isnull));
	if (isnull)
		offset = 0;
	if (offset < 0 || count > INT_MAX || offset > INT_MAX - count)
		return 0;
	return count + offset;
}

/*
 * Evaluate the pushed conditions' values and write them as fields[]
 * parameters.  A NULL value means no row can match.
 */
static void
evaluate_conditions(CopernicaScanState *st, ExprContext *econtext)
{
	ListCell   *lc1,
			   *lc2;
	bool		exact = true;
	MemoryContext run_cxt = CurrentMemoryContext;
	MemoryContext old;

	/*
	 * Values are computed in per-tuple memory; only what the run keeps (the
	 * ID list) is copied to the run's context, and the filter text grows
	 * its buffer in the scan's memory, where it was made.
	 */
	old = MemoryContextSwitchTo(econtext->ecxt_per_tuple_memory);

	if (st->limit_text)
		st->limit = copernica_evaluate_limit(list_copy_tail(st->value_states,
															list_length(st->conds)),
											 econtext);
	resetStringInfo(&st->filter);
	st->key_path = NULL;
	st->id_values = NULL;
	st->nids = 0;
	st->id_mode = false;
	st->empty_result = false;
	forboth(lc1, st->conds, lc2, st->value_states)
	{
		List	   *cond = lfirst(lc1);
		ExprState  *es = lfirst(lc2);
		const char *field = strVal(list_nth(cond, CondPrivateField));
		const char *op = strVal(list_nth(cond, CondPrivateOp));
		int			format = intVal(list_nth(cond, CondPrivateFormat));
		bool		cond_exact = intVal(list_nth(cond, CondPrivateExact)) != 0;
		bool		id_list = intVal(list_nth(cond, CondPrivateIdList)) != 0;
		bool		profile_key = intVal(list_nth(cond, CondPrivateProfileKey)) != 0;
		bool		isnull;
		Datum		value = ExecEvalExpr(es, econtext, &isnull);

		if (isnull)
		{
			st->empty_result = true;
			continue;
		}
		if (profile_key)
		{
			int64		profile = copernica_integer_value(value,
														  exprType((Node *) es->expr));

			/* no profile has an ID below 1: no path to ask either */
			if (profile < 1)
				st->empty_result = true;
			else
			{
				MemoryContextSwitchTo(run_cxt);
				st->key_path = copernica_profile_subprofiles_path(st->res,
																  psprintf(INT64_FORMAT, profile));
				MemoryContextSwitchTo(econtext->ecxt_per_tuple_memory);
			}
			continue;
		}
		if (id_list)
		{
			st->id_mode = true;
			MemoryContextSwitchTo(run_cxt);
			st->id_values = copernica_id_array(value, &st->nids);
			MemoryContextSwitchTo(econtext->ecxt_per_tuple_memory);
			if (st->nids == 0)
				st->empty_result = true;
			continue;
		}
		if (id_below_one(field, op, value, exprType((Node *) es->expr)))
		{
			st->empty_result = true;
			continue;
		}
		if (!cond_exact)
			exact = false;
		(void) copernica_append_condition(&st->filter, field, op, format, value,
										  exprType((Node *) es->expr), &exact);
	}
	MemoryContextSwitchTo(old);

	/* a condition not sent as planned may drop rows above a pushed LIMIT */
	if (!exact)
		st->limit = 0;
}

/* Is relid a table of the wrapper fdwid, or partitioned with one under it? */
static bool
inserts_reach_wrapper(Oid relid, Oid fdwid)
{
	char		relkind = get_rel_relkind(relid);
	ListCell   *lc;

	if (relkind == RELKIND_FOREIGN_TABLE)
		return GetForeignServer(GetForeignTable(relid)->serverid)->fdwid == fdwid;
	if (relkind != RELKIND_PARTITIONED_TABLE)
		return false;
	/* rows are routed at run time: any foreign partition may get them */
	foreach(lc, find_all_inheritors(relid, AccessShareLock, NULL))
	{
		Oid			part = lfirst_oid(lc);

		if (part != relid && get_rel_relkind(part) == RELKIND_FOREIGN_TABLE &&
			GetForeignServer(GetForeignTable(part)->serverid)->fdwid == fdwid)
			return true;
	}
	return false;
}

/* Is plan an INSERT whose rows may reach the wrapper fdwid? */
static bool
plan_inserts_into(Plan *plan, EState *estate, Oid fdwid)
{
	ListCell   *lc;

	if (plan == NULL || !IsA(plan, ModifyTable) ||
		((ModifyTable *) plan)->operation != CMD_INSERT)
		return false;
	foreach(lc, ((ModifyTable *) plan)->resultRelations)
	{
		if (inserts_reach_wrapper(exec_rt_fetch(lfirst_int(lc), estate)->relid,
								  fdwid))
			return true;
	}
	return false;
}

/*
 * Does the statement insert into Copernica while it reads this scan?  Then
 * the scan could read the rows it creates (INSERT INTO t SELECT ... FROM t),
 * whose IDs are new and higher, and never end.  Any Copernica table as the
 * target counts: two foreign tables may name one database.  The INSERT may
 * be the statement, a data-modifying WITH (a subplan: the statement is then
 * a SELECT), or go through a partitioned table to a foreign partition.
 * (UPDATE never routes rows into a Copernica partition: see modify.c.)
 */
static bool
scan_feeds_insert(CopernicaScanState *st, EState *estate)
{
	PlannedStmt *stmt = estate->es_plannedstmt;
	Oid			fdwid;
	ListCell   *lc;

	if (stmt == NULL || stmt->resultRelations == NIL ||
		!copernica_lists_by_id(st->res))
		return false;
	fdwid = GetForeignServer(GetForeignTable(RelationGetRelid(st->rel))->serverid)->fdwid;
	if (plan_inserts_into(stmt->planTree, estate, fdwid))
		return true;
	foreach(lc, stmt->subplans)
	{
		if (plan_inserts_into(lfirst(lc), estate, fdwid))
			return true;
	}
	return false;
}

/*
 * Read only the rows there were when the scan began: one request asks for
 * the largest ID (new ones are higher: Copernica hands them out in
 * ascending order), and the pager reads no ID above it.  The table's own
 * listing is asked, also for one profile's subprofiles: the collection's
 * largest ID bounds theirs.  Once per scan, so a rescan (a join's next
 * outer row) sees the same rows and asks nothing more.
 */
static void
add_id_ceiling(CopernicaScanState *st)
{
	if (st->id_ceiling < 0)
	{
		CopernicaRequest req = {0};
		CopernicaResponse resp = {0};
		CopernicaPage *page;
		MemoryContext old = MemoryContextSwitchTo(st->loop.scan_cxt);

		/*
		 * A view's or miniview's listing documents no orderby: two items
		 * show that order=desc was honoured, where one would pass for the
		 * largest while the smallest, and the scan miss every row above.
		 */
		bool		two = st->res->kind == COPERNICA_VIEW_PROFILES ||
			st->res->kind == COPERNICA_MINIVIEW_SUBPROFILES;

		req.method = "GET";
		req.path = st->res->list_path;
		req.query = two ?
			"start=0&limit=2&total=false&orderby=id&order=desc&dataonly=true" :
			"start=0&limit=1&total=false&orderby=id&order=desc&dataonly=true";
		copernica_perform(st->conn, &req, &resp, &st->stats);
		page = copernica_parse_answer(&req, &resp, true,
									  st->paths, st->loop.npaths);
		st->id_ceiling = page->nitems > 0 ?
			copernica_page_item_id(page, 0, st->loop.id_path) : 0;
		MemoryContextSwitchTo(old);
		if (st->id_ceiling < 0)
			ereport(ERROR,
					(errcode(ERRCODE_FDW_INVALID_STRING_FORMAT),
					 errmsg("unexpected answer from Copernica"),
					 errdetail("The item with the largest ID has no valid ID.")));
		if (two && page->nitems > 1 &&
			copernica_page_item_id(page, 1, st->loop.id_path) >= st->id_ceiling)
			ereport(ERROR,
					(errcode(ERRCODE_FDW_INVALID_STRING_FORMAT),
					 errmsg("unexpected answer from Copernica"),
					 errdetail("Asked for the largest IDs first but got " INT64_FORMAT " before " INT64_FORMAT ".",
							   st->id_ceiling,
							   copernica_page_item_id(page, 1, st->loop.id_path))));
	}
	if (st->id_ceiling == 0)
		st->empty_result = true;
}

/* What this run asks the pager for: the plan, and the conditions' values. */
static void
make_pager_spec(CopernicaScanState *st, CopernicaPagerSpec *spec)
{
	int64		first_own;
	int64		nown;

	spec->path = st->key_path ? st->key_path : st->res->list_path;
	spec->missing_is_empty = st->key_path != NULL;
	spec->params = psprintf("%s%s", st->dataonly ? "&dataonly=true" : "",
							st->filter.data);
	spec->params_filter = st->filter.len > 0;
	spec->rows_hint = st->rows_hint;
	if (st->order_field[0] != '\0')
		spec->order = psprintf("&orderby=%s&order=%s", st->order_field,
							   st->order_desc ? "desc" : "asc");
	else
		spec->order = st->check_id_order ? "&orderby=id" : "";
	spec->page_size = st->opts->page_size;
	spec->max_concurrency = st->opts->max_concurrency;
	spec->limit = st->limit;
	/* another order is pushed only when its rows fit in one request */
	spec->one_request = st->order_field[0] != '\0' &&
		strcmp(st->order_field, "id") != 0;
	nown = copernica_own_rows_after(&st->own, st->snapshot_cid, &first_own);
	if (nown > 0 && spec->one_request)
	{
		/*
		 * The rows its transaction created since the snapshot, which the
		 * scan drops, must not take the places of rows it reads: those would
		 * no longer fit in the one request.  IDs are handed out in ascending
		 * order, so no row from the first of them on existed at the
		 * snapshot: the request leaves them out (with rows other clients
		 * created since, as a count does).
		 */
		spec->params = psprintf("%s&fields%%5B%%5D=id%%3C" INT64_FORMAT,
								spec->params, first_own);
		spec->params_filter = true;
	}
	else if (spec->limit > 0)
	{
		/* read by ID, a pushed LIMIT reads the rows the scan drops extra */
		spec->limit += nown;
	}
	/* a profile has a page of subprofiles or so: no speculation past it */
	spec->size_hint = st->key_path ? 0 : st->size_hint;
	spec->min_id_hint = st->min_id_hint;
	spec->max_id_hint = st->max_id_hint;
	spec->id_ceiling = st->feeds_insert && st->id_ceiling > 0 ? st->id_ceiling : 0;
	/* rows in any order: read by ID, which neither misses nor repeats */
	spec->by_id = st->check_id_order && st->order_field[0] == '\0';
	/* in ID order, with a limit, or one profile's subprofiles: by keyset */
	spec->keyset = st->check_id_order || st->key_path != NULL;
	spec->keyset_desc = st->order_desc && strcmp(st->order_field, "id") == 0;
	spec->ids_mode = st->id_mode;
	spec->ids_desc = st->order_desc;
	spec->ids = st->id_values;
	spec->nids = st->nids;
}

/*
 * Conditions' values may come from the outer side of a join, set only once
 * the outer row is there: paging starts at the first row wanted.
 */
static void
start_paging(void *arg, ExprContext *econtext)
{
	CopernicaScanState *st = arg;
	CopernicaPagerSpec spec = {0};

	if (st->pager)
		copernica_pager_end(st->pager);
	st->pager = NULL;
	/* the previous run's pager, ID list and parameters are done with */
	Assert(CurrentMemoryContext == st->loop.scan_cxt);
	MemoryContextReset(st->loop.scan_cxt);
	st->loop.page = NULL;
	st->loop.next_item = 0;
	evaluate_conditions(st, econtext);
	st->bare_done = false;
	if (st->res->bare)
		return;
	if (st->feeds_insert && !st->empty_result)
		add_id_ceiling(st);

	make_pager_spec(st, &spec);
	st->pager = copernica_pager_begin(st->conn, &st->stats, &spec);
}

/* An int64 of a plan's private list (an int8 Const). */
static int64
private_int64(List *private, int index)
{
	return DatumGetInt64(castNode(Const, list_nth(private, index))->constvalue);
}

static const CopernicaRowHooks scan_hooks = {
	.start = start_paging,
	.next_page = fetch_next_page,
};

void
copernicaBeginForeignScan(ForeignScanState *node, int eflags)
{
	ForeignScan *fsplan = (ForeignScan *) node->ss.ps.plan;
	EState	   *estate = node->ss.ps.state;
	CopernicaScanState *st;
	Oid			userid;
	List	   *private = fsplan->fdw_private;
	List	   *retrieved = list_nth(private, ScanPrivateRetrieved);
	TupleDesc	tupdesc;
	ListCell   *lc;
	int			i = 0;

	if (copernica_is_count_plan(node))
	{
		copernica_count_begin(node, eflags);
		return;
	}
	st = palloc0(sizeof(CopernicaScanState));
	userid = copernica_scan_userid(fsplan, estate);
	node->fdw_state = st;
	st->rel = node->ss.ss_currentRelation;
	st->opts = copernica_get_options(RelationGetRelid(st->rel), userid);
	st->res = copernica_resolve_resource(st->opts);
	st->res->list_path = strVal(list_nth(private, ScanPrivateListPath));
	st->conds = list_nth(private, ScanPrivateConds);
	st->order_field = strVal(list_nth(private, ScanPrivateOrderField));
	st->order_desc = intVal(list_nth(private, ScanPrivateOrderDesc)) != 0;
	st->limit = intVal(list_nth(private, ScanPrivateLimit));
	if (st->limit < 0)
	{
		st->limit = 0;
		st->limit_text = strVal(list_nth(private, ScanPrivateLimitText));
	}
	st->filter_text = strVal(list_nth(private, ScanPrivateFilterText));
	st->key_path_text = strVal(list_nth(private, ScanPrivateKeyPath));

	/*
	 * Read by ID in ascending order; a profile's subprofiles, whose listing
	 * documents no orderby, by keyset in the order they come, which must be
	 * by ID (pager.c checks).  A view's or miniview's members likewise: their
	 * listings take fields[] on id and list by ID by default; orderby=id is
	 * sent as for a database's, and an answer out of order raises.
	 */
	st->check_id_order = copernica_lists_by_id(st->res) &&
		(st->order_field[0] == '\0' || strcmp(st->order_field, "id") == 0) &&
		st->key_path_text[0] == '\0';
	st->size_hint = intVal(list_nth(private, ScanPrivateSizeHint));
	st->min_id_hint = private_int64(private, ScanPrivateMinId);
	st->max_id_hint = private_int64(private, ScanPrivateMaxId);
	st->rows_hint = private_int64(private, ScanPrivateRowsHint);
	tupdesc = RelationGetDescr(st->rel);
	st->dataonly = st->res->has_fields;
	copernica_row_loop_init(&st->loop, st->rel, estate, retrieved);
	st->loop.hooks = &scan_hooks;
	st->loop.arg = st;
	st->loop.timezone = st->opts->timezone;
	st->loop.item_noun = st->res->entity_prefix ? st->res->entity_prefix : "item";
	st->paths = palloc0(sizeof(CopernicaValuePath) * st->loop.npaths);
	foreach(lc, retrieved)
	{
		Form_pg_attribute attr = TupleDescAttr(tupdesc, lfirst_int(lc) - 1);

		st->paths[i] = copernica_column_source(st->res, RelationGetRelid(st->rel), attr);
		if (st->paths[i].source == COPERNICA_SRC_PROPERTY &&
			copernica_property_needs_full(st->paths[i].name))
			st->dataonly = false;
		i++;
	}
	/* the ID always comes along, for error messages */
	st->paths[st->loop.id_path].source = COPERNICA_SRC_PROPERTY;
	st->paths[st->loop.id_path].name = "ID";

	st->request_text = strVal(list_nth(private, ScanPrivateRequestText));
	/* known from the plan alone: EXPLAIN says it too */
	st->feeds_insert = scan_feeds_insert(st, estate);
	st->id_ceiling = -1;

	/*
	 * What the statement's snapshot sees, also on a rescan: as PostgreSQL's
	 * own tables, not the rows a later command (or this one) creates.
	 */
	copernica_own_ref_init(&st->own, st->opts, st->res,
						   estate->es_snapshot != NULL);
	st->snapshot_cid = estate->es_snapshot ? estate->es_snapshot->curcid : 0;
	if (eflags & EXEC_FLAG_EXPLAIN_ONLY)
		return;

	st->value_states = ExecInitExprList(fsplan->fdw_exprs, (PlanState *) node);
	initStringInfo(&st->filter);

	st->conn = copernica_get_connection(GetForeignTable(RelationGetRelid(st->rel))->serverid,
										userid, st->opts);
}

/*
 * The columns to fill (retrieved: attribute numbers) and the memory of the
 * loop: one context per run, per page and per row, so that memory does not
 * grow with the rows or with rescans.  The caller sets hooks, arg,
 * timezone, item_noun and its own value paths (npaths: one per column,
 * then the ID at id_path).
 */
void
copernica_row_loop_init(CopernicaRowLoop *loop, Relation rel, EState *estate,
						List *retrieved)
{
	TupleDesc	tupdesc = RelationGetDescr(rel);
	ListCell   *lc;
	int			i = 0;

	memset(loop, 0, sizeof(*loop));
	loop->rel = rel;
	loop->ncolumns = list_length(retrieved);
	loop->columns = palloc0(sizeof(CopernicaScanColumn) * (loop->ncolumns + 1));
	loop->npaths = loop->ncolumns + 1;
	loop->id_path = loop->ncolumns;
	foreach(lc, retrieved)
	{
		Form_pg_attribute attr = TupleDescAttr(tupdesc, lfirst_int(lc) - 1);

		loop->columns[i].attnum = attr->attnum;
		loop->columns[i].colname = pstrdup(NameStr(attr->attname));
		copernica_column_type_init(&loop->columns[i].type, attr->atttypid,
								   attr->atttypmod);
		i++;
	}
	loop->scan_cxt = AllocSetContextCreate(estate->es_query_cxt,
										   "copernica_fdw scan run",
										   ALLOCSET_SMALL_SIZES);
	loop->page_cxt = AllocSetContextCreate(estate->es_query_cxt,
										   "copernica_fdw page",
										   ALLOCSET_DEFAULT_SIZES);
	loop->row_cxt = AllocSetContextCreate(estate->es_query_cxt,
										  "copernica_fdw row",
										  ALLOCSET_SMALL_SIZES);
}

/* The next row into the scan slot; an empty slot at the end. */
TupleTableSlot *
copernica_row_loop_next(CopernicaRowLoop *loop, ForeignScanState *node)
{
	TupleTableSlot *slot = node->ss.ss_ScanTupleSlot;
	const CopernicaRowHooks *hooks = loop->hooks;
	ErrorContextCallback errcb;
	MemoryContext old;
	char	  **values;
	bool	   *is_json;
	int			i;

	ExecClearTuple(slot);
	MemoryContextReset(loop->row_cxt);
	if (!loop->started)
	{
		old = MemoryContextSwitchTo(loop->scan_cxt);
		hooks->start(loop->arg, node->ss.ps.ps_ExprContext);
		MemoryContextSwitchTo(old);
		loop->started = true;
	}

	while (loop->page == NULL || loop->next_item >= loop->page->nitems)
	{
		if (!hooks->next_page(loop->arg))
			return slot;
	}

	values = loop->page->values + (size_t) loop->next_item * loop->npaths;
	is_json = loop->page->is_json + (size_t) loop->next_item * loop->npaths;
	loop->next_item++;

	memset(slot->tts_isnull, true, sizeof(bool) * slot->tts_tupleDescriptor->natts);

	errcb.callback = conversion_error_callback;
	errcb.arg = loop;
	errcb.previous = error_context_stack;
	error_context_stack = &errcb;
	loop->converting_id = values[loop->id_path];
	if (hooks->check_item)
		hooks->check_item(loop->arg, values);

	old = MemoryContextSwitchTo(loop->row_cxt);
	for (i = 0; i < loop->ncolumns; i++)
	{
		CopernicaScanColumn *col = &loop->columns[i];
		int			att = col->attnum - 1;
		const char *value = values[i];
		bool		value_is_json = is_json[i];

		loop->converting = col;
		if (hooks->column_value)
			value = hooks->column_value(loop->arg, i, value, &value_is_json);

		/*
		 * A text value the page ended in place is a datum as it is: it
		 * lives as long as the page, past this row (see
		 * copernica_row_loop_rescan).
		 */
		if (col->type.typid == TEXTOID && value != NULL && value == values[i] &&
			copernica_page_text_datum(loop->page, value, &slot->tts_values[att]))
		{
			slot->tts_isnull[att] = false;
			continue;
		}
		slot->tts_values[att] = copernica_item_value_to_datum(&col->type, value,
															  value_is_json,
															  loop->timezone,
															  &slot->tts_isnull[att]);
	}
	MemoryContextSwitchTo(old);
	loop->converting = NULL;
	error_context_stack = errcb.previous;

	return ExecStoreVirtualTuple(slot);
}

/*
 * A rescan starts afresh at the next row asked for.  The page's memory is
 * freed when the next page is fetched, not here: the last row returned may
 * hold text datums in it, as it holds the row's other values until the
 * next row.
 */
void
copernica_row_loop_rescan(CopernicaRowLoop *loop)
{
	loop->page = NULL;
	loop->started = false;
}

TupleTableSlot *
copernicaIterateForeignScan(ForeignScanState *node)
{
	CopernicaScanState *st = node->fdw_state;

	if (copernica_is_count_plan(node))
		return copernica_count_next(node);
	return copernica_row_loop_next(&st->loop, node);
}

void
copernicaReScanForeignScan(ForeignScanState *node)
{
	CopernicaScanState *st = node->fdw_state;

	if (copernica_is_count_plan(node))
	{
		copernica_count_rescan(node);
		return;
	}
	copernica_row_loop_rescan(&st->loop);
}

void
copernicaEndForeignScan(ForeignScanState *node)
{
	CopernicaScanState *st = node->fdw_state;

	if (st == NULL || copernica_is_count_plan(node) || st->pager == NULL)
		return;
	copernica_pager_end(st->pager);
	st->pager = NULL;
}

/*
 * How a long id = ANY(...) list is read: one request per ID, or ID ranges.
 * Shown when ranges are possible: more IDs than are looked up one by one,
 * or not known before the scan.
 */
static void
explain_id_list(ForeignScanState *node, CopernicaScanState *st, ExplainState *es)
{
	ForeignScan *fsplan = (ForeignScan *) node->ss.ps.plan;
	ListCell   *lc1,
			   *lc2;

	if (!st->check_id_order || st->order_field[0] != '\0')
		return;					/* rows in order: always looked up */
	forboth(lc1, st->conds, lc2, fsplan->fdw_exprs)
	{
		List	   *cond = lfirst(lc1);
		Expr	   *value = lfirst(lc2);
		int			nranges = -1;
		int			nids = 0;

		if (!intVal(list_nth(cond, CondPrivateIdList)))
			continue;
		if (es->analyze && st->pager)
		{
			nranges = copernica_pager_id_ranges(st->pager);
			nids = st->nids;
		}
		else if (IsA(value, Const) && !((Const *) value)->constisnull)
		{
			int64	   *ids = copernica_id_array(((Const *) value)->constvalue, &nids);
			double		density = 1.0;

			if (st->size_hint > 0 && st->min_id_hint > 0 &&
				st->max_id_hint >= st->min_id_hint)
				density = (double) st->size_hint /
					((double) (st->max_id_hint - st->min_id_hint) + 1.0);
			nranges = copernica_id_ranges(ids, nids, density,
										  st->opts->page_size, NULL);
		}
		if (nranges < 0)
			ExplainPropertyText("Copernica ID Lookup",
								psprintf("one request per ID up to %d IDs; more as ID ranges when that is cheaper",
										 COPERNICA_ID_LOOKUP_MAX), es);
		else if (nranges > 0)
			ExplainPropertyText("Copernica ID Lookup",
								psprintf("%d IDs read as %d ID range%s", nids, nranges,
										 nranges == 1 ? "" : "s"), es);
		else if (nids > COPERNICA_ID_LOOKUP_MAX)
			ExplainPropertyText("Copernica ID Lookup",
								psprintf("one request per ID (%d IDs, too far apart for ranges)",
										 nids), es);
	}
}

/* "fields%5B%5D=id%3E7" as "fields[]=id>7": a query made to be read. */
static char *
unescaped_query(const char *query)
{
	StringInfoData buf;
	const char *p;

	initStringInfo(&buf);
	for (p = query; *p; p++)
	{
		if (p[0] == '%' && isxdigit((unsigned char) p[1]) &&
			isxdigit((unsigned char) p[2]))
		{
			char		hex[3] = {p[1], p[2], '\0'};

			appendStringInfoChar(&buf, (char) strtol(hex, NULL, 16));
			p += 2;
		}
		else
			appendStringInfoChar(&buf, *p);
	}
	return pg_any_to_server(buf.data, buf.len, PG_UTF8);
}

/*
 * The first request the scan makes, built by the pager from the conditions'
 * values as the scan evaluates them, so that EXPLAIN shows what is sent.
 * NULL when a value is known only when the scan runs, or no request is
 * made (a NULL value).
 */
static char *
explain_first_request(ForeignScanState *node, CopernicaScanState *st)
{
	ForeignScan *fsplan = (ForeignScan *) node->ss.ps.plan;
	CopernicaPagerSpec spec = {0};
	CopernicaRequest *req;
	char	   *query;
	ListCell   *lc;

	foreach(lc, fsplan->fdw_exprs)
		if (!IsA(lfirst(lc), Const))
			return NULL;
	/* without ANALYZE the scan was not set up to run */
	if (st->value_states == NIL)
		st->value_states = ExecInitExprList(fsplan->fdw_exprs, (PlanState *) node);
	if (st->filter.data == NULL)
		initStringInfo(&st->filter);
	evaluate_conditions(st, node->ss.ps.ps_ExprContext);
	if (st->empty_result)
		return NULL;
	make_pager_spec(st, &spec);

	/*
	 * An INSERT's ceiling not asked for yet (EXPLAIN without ANALYZE): a
	 * stand-in the pager bounds the request with, then named.
	 */
	if (st->feeds_insert && st->id_ceiling < 0)
		spec.id_ceiling = PG_INT64_MAX - 1;
	req = copernica_pager_first_request(&spec);
	if (req == NULL)
		return NULL;
	query = unescaped_query(req->query);
	if (spec.id_ceiling == PG_INT64_MAX - 1)
	{
		char	   *stand_in = psprintf("id<=" INT64_FORMAT, spec.id_ceiling);
		char	   *at = strstr(query, stand_in);

		if (at != NULL)
			query = psprintf("%.*sid<=(largest ID)%s", (int) (at - query), query,
							 at + strlen(stand_in));
	}
	return psprintf("%s %s?%s", req->method, req->path, query);
}

void
copernicaExplainForeignScan(ForeignScanState *node, ExplainState *es)
{
	CopernicaScanState *st = node->fdw_state;
	const char *path;

	if (copernica_is_count_plan(node))
	{
		copernica_count_explain(node, es);
		return;
	}
	path = st->res->list_path;
	if (st->key_path_text[0] != '\0')
		path = st->key_path_text;
	else if (path == NULL)
		path = psprintf("collection/%s/subprofiles", st->opts->collection);
	ExplainPropertyText("Copernica", psprintf("GET %s", path), es);
	if (st->filter_text[0] != '\0')
		ExplainPropertyText("Copernica Filter", st->filter_text, es);
	if (st->order_field[0] != '\0')
		ExplainPropertyText("Copernica Order",
							psprintf("%s %s", st->order_field,
									 st->order_desc ? "desc" : "asc"), es);
	if (st->limit > 0)
		ExplainPropertyInteger("Copernica Limit", NULL, st->limit, es);
	else if (st->limit_text)
		ExplainPropertyText("Copernica Limit", st->limit_text, es);
	/* the request line has it once the scan ran (EXPLAIN ANALYZE) */
	if (st->feeds_insert)
		ExplainPropertyText("Copernica ID Ceiling",
							st->id_ceiling >= 0 ?
							psprintf(INT64_FORMAT, st->id_ceiling) :
							"the largest ID when the scan begins", es);
	explain_id_list(node, st, es);
	if (es->verbose && st->res->bare)
		ExplainPropertyText("Copernica Request", psprintf("GET %s", path), es);
	else if (es->verbose)
	{
		char	   *request = explain_first_request(node, st);

		/*
		 * A value known only when the scan runs (a join's outer row, a
		 * parameter): the plan's view of the request, with placeholders.
		 */
		if (request == NULL)
		{
			int			first = st->limit > 0 && st->limit < st->opts->page_size ?
				(int) st->limit : st->opts->page_size;

			request = psprintf("GET %s?start=0&limit=%d&total=false%s%s%s",
							   path, first,
							   st->dataonly ? "&dataonly=true" : "",
							   st->request_text,
							   st->order_field[0] ? psprintf("&orderby=%s&order=%s",
															 st->order_field,
															 st->order_desc ? "desc" : "asc") :
							   st->check_id_order ? "&orderby=id" : "");
		}
		ExplainPropertyText("Copernica Request", request, es);
	}

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
