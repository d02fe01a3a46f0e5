/*-------------------------------------------------------------------------
 *
 * param_path.c
 *		  The join clauses a parameterized path can be built on: those of
 *		  the equivalence classes (a = b, b = c gives a = c too) and the
 *		  relation's other join clauses, each with the outer relations it
 *		  needs.  Profiles, subprofiles and the mailing tables share it;
 *		  each decides which clauses it can send and what a path costs.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/tupdesc.h"
#include "nodes/pathnodes.h"
#include "optimizer/paths.h"
#include "optimizer/restrictinfo.h"

#include "copernica_fdw.h"

/*
 * Call add_path_for for each join clause that can be moved into a scan of
 * baserel as a condition whose value comes from other relations: the
 * equalities implied for the columns ec_member accepts, then the
 * relation's own join clauses.  outer is the relations the value needs.
 */
void
copernica_param_clauses(PlannerInfo *root, RelOptInfo *baserel,
						CopernicaEcMember ec_member,
						CopernicaParamClause add_path_for, void *arg)
{
	List	   *clauses;
	ListCell   *lc;

	clauses = generate_implied_equalities_for_column(root, baserel, ec_member,
													 arg, baserel->lateral_referencers);
	foreach(lc, baserel->joininfo)
		clauses = lappend(clauses, lfirst(lc));

	foreach(lc, clauses)
	{
		RestrictInfo *rinfo = lfirst(lc);
		Relids		outer;

		if (!join_clause_is_movable_to(rinfo, baserel))
			continue;
		outer = bms_difference(rinfo->clause_relids, baserel->relids);
		if (bms_is_empty(outer))
			continue;
		add_path_for(root, baserel, rinfo, outer, arg);
	}
}

/*
 * The column of rel an equivalence class member is (tupdesc is rel's), or
 * NULL when the member is anything else: for the callers' ec_member.
 */
struct FormData_pg_attribute *
copernica_ec_member_column(RelOptInfo *rel, EquivalenceMember *em,
						   struct TupleDescData *tupdesc)
{
	Var		   *var = (Var *) em->em_expr;

	if (!IsA(var, Var) || var->varno != rel->relid || var->varattno <= 0 ||
		var->varattno > tupdesc->natts)
		return NULL;
	return TupleDescAttr(tupdesc, var->varattno - 1);
}
