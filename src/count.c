/*-------------------------------------------------------------------------
 *
 * count.c
 *		  The executor side of a pushed-down count(*): one request
 *		  start=0&limit=0&total=true with the table's conditions, and one row
 *		  whose every column is Copernica's total.
 *
 * Planning (copernica_fdw.c) chooses this only when every condition is
 * sent exactly, so the total is the count PostgreSQL would compute.  A
 * subprofile table's profile = value asks that profile's listing,
 * profile/$id/subprofiles/$collection, as a scan does: an unknown profile,
 * or one of another database, has none.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "commands/explain.h"
#include "executor/executor.h"
#include "foreign/foreign.h"
#include "miscadmin.h"
#include "nodes/nodeFuncs.h"
#include "parser/parsetree.h"
#include "utils/lsyscache.h"

#include "compat.h"
#include "copernica_fdw.h"

typedef struct CopernicaCountState
{
	List	   *conds;			/* per condition: field, op, format, ... */
	List	   *value_states;
	char	   *filter_text;
	char	   *request_text;
	char	   *path;			/* the table's listing */
	char	   *key_path_text;	/* EXPLAIN's profile/$id/subprofiles/$c, or "" */
	char	   *relname;
	CopernicaOptions *opts;
	CopernicaConnection *conn;
	CopernicaStats stats;
	CopernicaOwnRef own;		/* its rows this transaction created (own_rows.c) */
	CommandId	snapshot_cid;	/* rows this transaction created from this
								 * command on are not counted */
	bool		done;
} CopernicaCountState;

bool
copernica_is_count_plan(ForeignScanState *node)
{
	ForeignScan *fsplan = (ForeignScan *) node->ss.ps.plan;

	return fsplan->scan.scanrelid == 0 && fsplan->fdw_private != NIL &&
		IsA(linitial(fsplan->fdw_private), String) &&
		strcmp(strVal(linitial(fsplan->fdw_private)), "count") == 0;
}

void
copernica_count_begin(ForeignScanState *node, int eflags)
{
	ForeignScan *fsplan = (ForeignScan *) node->ss.ps.plan;
	EState	   *estate = node->ss.ps.state;
	CopernicaCountState *st = palloc0(sizeof(CopernicaCountState));
	List	   *where = list_nth(fsplan->fdw_private, 4);

	/*
	 * The counted table's range table index in the final plan: setrefs
	 * offsets fs_relids (the one table) but not our private list, whose
	 * index is the subquery's own when the count sits in a subquery.
	 */
	int			rtindex = bms_next_member(fsplan->fs_relids, -1);
	RangeTblEntry *rte = exec_rt_fetch(rtindex, estate);
	Oid			userid = copernica_upper_userid(fsplan, estate, rtindex);

	node->fdw_state = st;
	st->conds = lsecond(fsplan->fdw_private);
	st->filter_text = strVal(lthird(fsplan->fdw_private));
	st->request_text = strVal(lfourth(fsplan->fdw_private));
	st->path = strVal(linitial(where));
	st->key_path_text = strVal(lsecond(where));
	st->relname = get_rel_name(rte->relid);
	st->opts = copernica_get_options(rte->relid, userid);
	if (eflags & EXEC_FLAG_EXPLAIN_ONLY)
		return;
	copernica_own_ref_init(&st->own, st->opts,
						   copernica_resolve_resource(st->opts),
						   estate->es_snapshot != NULL);
	st->snapshot_cid = estate->es_snapshot ? estate->es_snapshot->curcid : 0;
	st->value_states = ExecInitExprList(fsplan->fdw_exprs, (PlanState *) node);
	st->conn = copernica_get_connection(GetForeignTable(rte->relid)->serverid,
										userid, st->opts);
}

/* Does the listing answer?  For copernica_report_unless_missing. */
static bool
listing_answers(void *arg, const char *path)
{
	CopernicaCountState *st = arg;
	CopernicaRequest req = {0};
	CopernicaResponse resp = {0};

	req.method = "GET";
	req.path = (char *) path;
	req.query = "start=0&limit=0&total=false";
	req.accept_error = true;
	copernica_perform(st->conn, &req, &resp, &st->stats);
	return resp.status != 400;
}

/* Copernica's total of the matching rows; 0 when a value is NULL. */
static int64
fetch_total(ForeignScanState *node, CopernicaCountState *st)
{
	ExprContext *econtext = node->ss.ps.ps_ExprContext;
	StringInfoData query;
	CopernicaRequest req = {0};
	CopernicaResponse resp = {0};
	CopernicaResource res = {0};
	CopernicaPage *page;
	ListCell   *lc1,
			   *lc2;
	bool		exact = true;
	int64		first_own;

	res.kind = COPERNICA_SUBPROFILES;
	res.list_path = st->path;
	req.method = "GET";
	req.path = st->path;
	initStringInfo(&query);
	appendStringInfoString(&query, "start=0&limit=0&total=true");
	forboth(lc1, st->conds, lc2, st->value_states)
	{
		List	   *cond = lfirst(lc1);
		ExprState  *es = lfirst(lc2);
		bool		isnull;
		Datum		value = ExecEvalExpr(es, econtext, &isnull);

		if (isnull)
			return 0;			/* = NULL matches nothing */
		if (intVal(list_nth(cond, CondPrivateProfileKey)))
		{
			int64		profile = copernica_integer_value(value,
														  exprType((Node *) es->expr));

			/* no profile has an ID below 1 */
			if (profile < 1)
				return 0;
			req.path = copernica_profile_subprofiles_path(&res,
														  psprintf(INT64_FORMAT, profile));
			req.accept_error = true;
			continue;
		}
		(void) copernica_append_condition(&query, strVal(linitial(cond)),
										  strVal(lsecond(cond)),
										  intVal(lthird(cond)), value,
										  exprType((Node *) es->expr), &exact);
	}
	/* planning checked the constants; a change since is a bug */
	if (!exact)
		elog(ERROR, "a counted condition can no longer be sent exactly");

	/*
	 * Rows this transaction created since the snapshot (a cursor's count
	 * fetched after an INSERT, a rescan after a trigger's INSERT) are not
	 * counted, as PostgreSQL would not.  Which of them match is unknown
	 * without reading them, but IDs are handed out in ascending order: no
	 * row from the first of them on existed when the snapshot was taken.
	 * Still one request; rows other clients created since are left out too.
	 */
	if (copernica_own_rows_after(&st->own, st->snapshot_cid, &first_own) > 0)
		appendStringInfo(&query, "&fields%%5B%%5D=id%%3C" INT64_FORMAT,
						 first_own);

	req.query = query.data;
	copernica_perform(st->conn, &req, &resp, &st->stats);
	if (resp.status == 400)
	{
		/* a profile's listing: the profile unknown, or raise */
		copernica_report_unless_missing(&res, &resp, &req, true,
										listing_answers, st);
		return 0;
	}
	page = copernica_parse_answer(&req, &resp, true, NULL, 0);
	/* as copernica_parse_answer's: a missing, null or negative total */
	if (!page->has_total)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_INVALID_STRING_FORMAT),
				 errmsg("unexpected answer from Copernica"),
				 errdetail("The page has no \"total\"."),
				 errcontext("Copernica request: %s", copernica_request_shown(&req))));
	if (page->total < 0)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_INVALID_STRING_FORMAT),
				 errmsg("unexpected answer from Copernica"),
				 errdetail("The page's \"total\" is " INT64_FORMAT ", not a number of rows.",
						   page->total),
				 errcontext("Copernica request: %s", copernica_request_shown(&req))));
	return page->total;
}

TupleTableSlot *
copernica_count_next(ForeignScanState *node)
{
	CopernicaCountState *st = node->fdw_state;
	TupleTableSlot *slot = node->ss.ss_ScanTupleSlot;
	int64		total;
	int			i;

	ExecClearTuple(slot);
	if (st->done)
		return slot;
	st->done = true;
	total = fetch_total(node, st);
	for (i = 0; i < slot->tts_tupleDescriptor->natts; i++)
	{
		slot->tts_values[i] = Int64GetDatum(total);
		slot->tts_isnull[i] = false;
	}
	return ExecStoreVirtualTuple(slot);
}

void
copernica_count_rescan(ForeignScanState *node)
{
	CopernicaCountState *st = node->fdw_state;

	st->done = false;
}

void
copernica_count_explain(ForeignScanState *node, ExplainState *es)
{
	CopernicaCountState *st = node->fdw_state;
	const char *path = st->key_path_text[0] != '\0' ? st->key_path_text : st->path;

	ExplainPropertyText("Relations", psprintf("Aggregate on (%s)", st->relname), es);
	ExplainPropertyText("Copernica", psprintf("GET %s", path), es);
	if (st->filter_text[0] != '\0')
		ExplainPropertyText("Copernica Filter", st->filter_text, es);
	ExplainPropertyText("Copernica Aggregate", "count(*) from the listing's total", es);
	if (es->verbose)
		ExplainPropertyText("Copernica Request",
							psprintf("GET %s?start=0&limit=0&total=true%s",
									 path, st->request_text), es);
	if (es->analyze)
		ExplainPropertyInteger("Copernica Requests", NULL, st->stats.requests, es);
}
