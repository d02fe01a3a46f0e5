/*-------------------------------------------------------------------------
 *
 * copernica_fdw.c
 *		  The handler and the planner callbacks: which columns a scan needs,
 *		  what it costs, and what its plan carries to the executor.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "access/sysattr.h"
#include "access/table.h"
#include "foreign/fdwapi.h"
#include "foreign/foreign.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "optimizer/cost.h"
#include "optimizer/optimizer.h"
#include "optimizer/pathnode.h"
#include "optimizer/planmain.h"
#include "optimizer/restrictinfo.h"
#include "parser/parsetree.h"
#include "utils/rel.h"

#include "copernica_fdw.h"

PG_MODULE_MAGIC;

/*
 * Without asking the API (planning makes no requests) a table is assumed to
 * hold this many rows.
 */
#define DEFAULT_ROW_ESTIMATE	1000.0

/* What one HTTP request costs, in units of seq_page_cost. */
#define REQUEST_COST			100.0

typedef struct CopernicaRelInfo
{
	CopernicaOptions *opts;
	CopernicaResource *res;
	List	   *local_conds;	/* all of baserestrictinfo, for now */
	Bitmapset  *attrs_used;		/* columns the query reads */
} CopernicaRelInfo;

PG_FUNCTION_INFO_V1(copernica_fdw_handler);

static void
copernicaGetForeignRelSize(PlannerInfo *root, RelOptInfo *baserel,
						   Oid foreigntableid)
{
	CopernicaRelInfo *info = palloc0(sizeof(CopernicaRelInfo));
	RangeTblEntry *rte = planner_rt_fetch(baserel->relid, root);
	Oid			userid = OidIsValid(rte->checkAsUser) ? rte->checkAsUser : GetUserId();
	ListCell   *lc;
	Selectivity sel;

	baserel->fdw_private = info;
	info->opts = copernica_get_options(foreigntableid, userid);
	info->res = copernica_resolve_resource(info->opts);
	info->local_conds = baserel->baserestrictinfo;

	pull_varattnos((Node *) baserel->reltarget->exprs, baserel->relid,
				   &info->attrs_used);
	foreach(lc, info->local_conds)
	{
		RestrictInfo *rinfo = lfirst(lc);

		pull_varattnos((Node *) rinfo->clause, baserel->relid, &info->attrs_used);
	}

	sel = clauselist_selectivity(root, info->local_conds, baserel->relid,
								 JOIN_INNER, NULL);
	baserel->rows = clamp_row_est(DEFAULT_ROW_ESTIMATE * sel);
	baserel->tuples = DEFAULT_ROW_ESTIMATE;
}

static void
copernicaGetForeignPaths(PlannerInfo *root, RelOptInfo *baserel,
						 Oid foreigntableid)
{
	CopernicaRelInfo *info = baserel->fdw_private;
	double		pages = ceil(baserel->tuples / info->opts->page_size);
	Cost		startup = REQUEST_COST * seq_page_cost;
	Cost		total = startup + pages * REQUEST_COST * seq_page_cost +
		baserel->tuples * (cpu_tuple_cost + cpu_operator_cost * 10);

	add_path(baserel, (Path *) create_foreignscan_path(root, baserel, NULL,
													   baserel->rows,
													   startup, total,
													   NIL, NULL, NULL, NIL));
}

/*
 * The plan carries the attribute numbers the executor must fill, and
 * whether any of them needs more than dataonly=true gives.
 */
static ForeignScan *
copernicaGetForeignPlan(PlannerInfo *root, RelOptInfo *baserel,
						Oid foreigntableid, ForeignPath *best_path,
						List *tlist, List *scan_clauses, Plan *outer_plan)
{
	CopernicaRelInfo *info = baserel->fdw_private;
	List	   *retrieved = NIL;
	Relation	rel = table_open(foreigntableid, NoLock);
	TupleDesc	tupdesc = RelationGetDescr(rel);
	bool		whole_row;
	int			i;

	whole_row = bms_is_member(0 - FirstLowInvalidHeapAttributeNumber,
							  info->attrs_used);
	for (i = 1; i <= tupdesc->natts; i++)
	{
		if (TupleDescAttr(tupdesc, i - 1)->attisdropped)
			continue;
		if (whole_row ||
			bms_is_member(i - FirstLowInvalidHeapAttributeNumber, info->attrs_used))
			retrieved = lappend_int(retrieved, i);
	}
	table_close(rel, NoLock);

	/* Every condition is checked locally: nothing is pushed yet. */
	scan_clauses = extract_actual_clauses(scan_clauses, false);

	return make_foreignscan(tlist, scan_clauses, baserel->relid, NIL,
							list_make1(retrieved), NIL, NIL, outer_plan);
}

Datum
copernica_fdw_handler(PG_FUNCTION_ARGS)
{
	FdwRoutine *routine = makeNode(FdwRoutine);

	routine->GetForeignRelSize = copernicaGetForeignRelSize;
	routine->GetForeignPaths = copernicaGetForeignPaths;
	routine->GetForeignPlan = copernicaGetForeignPlan;
	routine->BeginForeignScan = copernicaBeginForeignScan;
	routine->IterateForeignScan = copernicaIterateForeignScan;
	routine->ReScanForeignScan = copernicaReScanForeignScan;
	routine->EndForeignScan = copernicaEndForeignScan;
	routine->ExplainForeignScan = copernicaExplainForeignScan;

	routine->IsForeignRelUpdatable = copernicaIsForeignRelUpdatable;
	routine->AddForeignUpdateTargets = copernicaAddForeignUpdateTargets;
	routine->PlanForeignModify = copernicaPlanForeignModify;
	routine->BeginForeignModify = copernicaBeginForeignModify;
	routine->ExecForeignInsert = copernicaExecForeignInsert;
	routine->ExecForeignBatchInsert = copernicaExecForeignBatchInsert;
	routine->GetForeignModifyBatchSize = copernicaGetForeignModifyBatchSize;
	routine->ExecForeignUpdate = copernicaExecForeignUpdate;
	routine->ExecForeignDelete = copernicaExecForeignDelete;
	routine->EndForeignModify = copernicaEndForeignModify;
	routine->ExplainForeignModify = copernicaExplainForeignModify;

	PG_RETURN_POINTER(routine);
}
