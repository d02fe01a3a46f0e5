/*-------------------------------------------------------------------------
 *
 * modify.c
 *		  INSERT, UPDATE and DELETE: which tables can be written, the plan,
 *		  the state of a write (columns' roles and every check that can fail
 *		  before a request), and EXPLAIN.  The rows themselves are written by
 *		  modify_insert.c and modify_write.c.
 *
 * HTTP has no transactions, so a failed statement cannot take back what
 * earlier requests did.  What we promise instead: a failure names the row
 * that failed and Copernica's reason, and lists the entities the statement
 * created before it, so nothing is lost without a trace (modify_report.c).
 * A POST is never retried once it may have reached Copernica (that would
 * create twice).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/sysattr.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/pg_language.h"
#include "catalog/pg_proc.h"
#include "commands/defrem.h"
#include "commands/explain.h"
#include "executor/executor.h"
#include "foreign/fdwapi.h"
#include "foreign/foreign.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "optimizer/appendinfo.h"
#include "optimizer/inherit.h"
#include "optimizer/optimizer.h"
#include "optimizer/pathnode.h"
#include "parser/parsetree.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/syscache.h"

#include "copernica_fdw.h"
#include "modify.h"

/* the junk column that carries the entity ID of an UPDATE or DELETE */
#define ID_JUNK_NAME	"copernica_id"

static const char *const read_only_properties[] = {
	"created", "modified", "database", "collection", "removed", NULL
};

static WriteRole
column_role(const CopernicaResource *res, Form_pg_attribute attr, Oid relid,
			char **name)
{
	char	   *colname = NameStr(attr->attname);
	char	   *field = copernica_column_field_option(relid, attr->attnum);
	const char *prop;
	const char *const *ro;

	if (field)
	{
		*name = field;
		return ROLE_FIELD;
	}
	if (pg_strcasecmp(colname, "fields") == 0 &&
		(attr->atttypid == JSONBOID || attr->atttypid == JSONOID))
	{
		*name = "fields";
		return ROLE_FIELDS_OBJECT;
	}
	prop = copernica_resource_property(res, colname);
	*name = prop ? pstrdup(prop) : colname;
	if (prop == NULL)
		return ROLE_FIELD;
	if (strcmp(prop, "ID") == 0)
		return ROLE_ID;
	if (strcmp(prop, "interests") == 0)
		return ROLE_INTERESTS;
	if (strcmp(prop, "profile") == 0)
		return ROLE_PARENT;
	if (strcmp(prop, "secret") == 0)
		return ROLE_SECRET;
	for (ro = read_only_properties; *ro; ro++)
		if (strcmp(*ro, prop) == 0)
			return ROLE_READ_ONLY;
	return ROLE_FIELD;
}

/*
 * The attnum of the column that holds the entity ID, or 0: the column "id"
 * (any case) that no 'field' option turns into a field.  Profiles and
 * subprofiles alike, so no options need resolving to find it.
 */
static AttrNumber
find_id_column(Relation rel)
{
	TupleDesc	tupdesc = RelationGetDescr(rel);
	int			i;

	for (i = 0; i < tupdesc->natts; i++)
	{
		Form_pg_attribute attr = TupleDescAttr(tupdesc, i);

		if (!attr->attisdropped &&
			pg_strcasecmp(NameStr(attr->attname), "id") == 0 &&
			copernica_column_field_option(RelationGetRelid(rel), attr->attnum) == NULL)
			return attr->attnum;
	}
	return 0;
}

/*
 * Only profile and subprofile tables can be written, and only while
 * 'updatable' (table over server) allows it.  No token is needed to say so.
 */
int
copernicaIsForeignRelUpdatable(Relation rel)
{
	ForeignTable *table = GetForeignTable(RelationGetRelid(rel));
	ForeignServer *server = GetForeignServer(table->serverid);
	bool		updatable = true;
	bool		is_entity_table = true;
	ListCell   *lc;

	foreach(lc, server->options)
	{
		DefElem    *def = lfirst(lc);

		if (strcmp(def->defname, "updatable") == 0)
			updatable = defGetBoolean(def);
	}
	foreach(lc, table->options)
	{
		DefElem    *def = lfirst(lc);

		if (strcmp(def->defname, "updatable") == 0)
			updatable = defGetBoolean(def);
		else if (strcmp(def->defname, "resource") == 0)
			is_entity_table = false;
	}
	if (!updatable || !is_entity_table)
		return 0;
	return (1 << CMD_INSERT) | (1 << CMD_UPDATE) | (1 << CMD_DELETE);
}

/*
 * TRUNCATE is refused.  Copernica has no request that empties a database or
 * a collection: it would be a DELETE of every profile, one request each,
 * which no rollback undoes, behind a command that is expected to be cheap
 * and skips DELETE triggers.  Without this callback PostgreSQL refuses too,
 * but says only that the table is a foreign table.  PostgreSQL calls it
 * after its own checks and after local tables of the same statement are
 * emptied (which the error rolls back), and no request has been sent.
 */
void
copernicaExecForeignTruncate(List *rels, DropBehavior behavior, bool restart_seqs)
{
	Relation	rel = linitial(rels);

	/* a read-only table: no hint towards a DELETE that is refused too */
	if (copernicaIsForeignRelUpdatable(rel) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("TRUNCATE is not supported on foreign table \"%s\"",
						RelationGetRelationName(rel)),
				 errdetail("The foreign table is read-only.")));
	ereport(ERROR,
			(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			 errmsg("TRUNCATE is not supported on foreign table \"%s\"",
					RelationGetRelationName(rel)),
			 errdetail("Copernica cannot empty a database or a collection in one request, and removing its entities cannot be undone."),
			 errhint("DELETE removes entities one request each; use DELETE FROM \"%s\" if every one should go.",
					 RelationGetRelationName(rel))));
}

void
copernicaAddForeignUpdateTargets(PlannerInfo *root, Index rtindex,
								 RangeTblEntry *target_rte,
								 Relation target_relation)
{
	AttrNumber	id_attnum = find_id_column(target_relation);
	Form_pg_attribute attr;
	Var		   *var;

	if (id_attnum == 0)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_COLUMN_NAME_NOT_FOUND),
				 errmsg("foreign table \"%s\" has no column \"id\"",
						RelationGetRelationName(target_relation)),
				 errdetail("UPDATE and DELETE find Copernica entities by their ID."),
				 errhint("Add a column \"id bigint\" to the foreign table.")));

	attr = TupleDescAttr(RelationGetDescr(target_relation), id_attnum - 1);
	var = makeVar(rtindex, id_attnum, attr->atttypid, attr->atttypmod,
				  attr->attcollation, 0);
	add_row_identity_var(root, var, rtindex, ID_JUNK_NAME);
}

/*
 * The attribute numbers a write sets (of cols) and RETURNING reads (of ret,
 * a whole-row reference meaning all), dropped columns left out.
 */
static void
written_and_returned(TupleDesc tupdesc, Bitmapset *cols, Bitmapset *ret,
					 List **target_attrs, List **returning_attrs)
{
	int			i;

	for (i = 1; i <= tupdesc->natts; i++)
	{
		if (TupleDescAttr(tupdesc, i - 1)->attisdropped)
			continue;
		if (bms_is_member(i - FirstLowInvalidHeapAttributeNumber, cols))
			*target_attrs = lappend_int(*target_attrs, i);
		if (bms_is_member(i - FirstLowInvalidHeapAttributeNumber, ret) ||
			bms_is_member(0 - FirstLowInvalidHeapAttributeNumber, ret))
			*returning_attrs = lappend_int(*returning_attrs, i);
	}
}

/*
 * The columns an INSERT or COPY writes: those it names, and those PostgreSQL
 * computes from a DEFAULT or a generation expression of the foreign table.
 * The value is the table's, not Copernica's, so it is sent (a column left
 * to Copernica would get the field's default instead).
 */
static Bitmapset *
inserted_cols(TupleDesc tupdesc, Bitmapset *named)
{
	Bitmapset  *cols = bms_copy(named);
	int			i;

	for (i = 0; i < tupdesc->natts; i++)
	{
		Form_pg_attribute attr = TupleDescAttr(tupdesc, i);

		if (!attr->attisdropped && (attr->atthasdef || attr->attgenerated))
			cols = bms_add_member(cols,
								  attr->attnum - FirstLowInvalidHeapAttributeNumber);
	}
	return cols;
}

/*
 * Whether a column already written names the field: two columns over one
 * field would both be sent, and Copernica keeps the last.
 */
static bool
field_written(CopernicaModifyState *st, const char *field)
{
	ListCell   *lc;

	foreach(lc, st->target_attrs)
	{
		WriteColumn *col = &st->columns[lfirst_int(lc) - 1];

		if (col->role == ROLE_FIELD && pg_strcasecmp(col->name, field) == 0)
			return true;
	}
	return false;
}

/*
 * A BEFORE ROW trigger may change any column of the row, not only those
 * the statement names, and postgres_fdw then writes every column.  Here:
 *
 * - UPDATE writes every column Copernica lets it change.  The row holds the
 *   old values of the columns the trigger leaves alone (PostgreSQL fetches
 *   the whole row for the trigger), so they are written back as they are.
 *   When the table has both the "fields" object and single field columns,
 *   only the kind the statement names is added, as the two cannot be
 *   written together.
 * - INSERT adds every column too, but one still null after the triggers is
 *   left out: it is what the row had without them, and sending it as an
 *   empty value would overwrite the field's default in Copernica.
 *
 * A column added so that matches no Copernica field is an error only when
 * it holds a value (an UPDATE reads such a column as null).  Of columns
 * over one field, the first written is sent: one the statement names, or
 * else the first in the table.
 *
 * The columns left out (an UPDATE's ID, profile and read-only columns, the
 * kind of field column the statement does not name, a second column over
 * a field) are guarded: a trigger that changes one is an error before the
 * row's request (check_guarded in modify_row.c), not a change dropped.
 */
static void
add_trigger_columns(CopernicaModifyState *st)
{
	bool		fields_object_named = false;
	bool		has_field_column = false;
	ListCell   *lc;
	int			i;

	foreach(lc, st->target_attrs)
		if (st->columns[lfirst_int(lc) - 1].role == ROLE_FIELDS_OBJECT)
			fields_object_named = true;
	for (i = 0; i < st->ncolumns; i++)
		if (st->columns[i].attnum != 0 && st->columns[i].role == ROLE_FIELD)
			has_field_column = true;

	/* the plan's list is shared with later executions: extend a copy */
	st->target_attrs = list_copy(st->target_attrs);
	for (i = 0; i < st->ncolumns; i++)
	{
		WriteColumn *col = &st->columns[i];

		if (col->attnum == 0 || list_member_int(st->target_attrs, col->attnum))
			continue;
		if (st->operation == CMD_UPDATE &&
			(col->role == ROLE_ID || col->role == ROLE_PARENT ||
			 col->role == ROLE_READ_ONLY ||
			 (col->role == ROLE_FIELDS_OBJECT && has_field_column &&
			  !fields_object_named) ||
			 (col->role == ROLE_FIELD && fields_object_named)))
		{
			st->guarded_attrs = lappend_int(st->guarded_attrs, col->attnum);
			continue;
		}
		if (col->role == ROLE_FIELD && field_written(st, col->name))
		{
			st->guarded_attrs = lappend_int(st->guarded_attrs, col->attnum);
			continue;
		}
		col->by_trigger = true;
		st->target_attrs = lappend_int(st->target_attrs, col->attnum);
	}
}

/* Copernica has nothing an ON CONFLICT clause could act on. */
static void
reject_on_conflict(ModifyTable *plan, Relation rel)
{
	if (plan && plan->onConflictAction != ONCONFLICT_NONE)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("INSERT with ON CONFLICT is not supported on foreign table \"%s\"",
						RelationGetRelationName(rel)),
				 errdetail("Copernica has no unique constraint to detect a conflict with.")));
}

/*
 * A volatile function that may run queries of its own: one written in SQL
 * or a procedural language, or in C (an extension's).  PostgreSQL's own
 * (random(), nextval(), clock_timestamp()) run none.
 */
static bool
may_run_queries(Oid funcid, void *context)
{
	HeapTuple	tup = SearchSysCache1(PROCOID, ObjectIdGetDatum(funcid));
	bool		result = false;

	if (HeapTupleIsValid(tup))
	{
		Form_pg_proc proc = (Form_pg_proc) GETSTRUCT(tup);

		result = proc->provolatile == PROVOLATILE_VOLATILE &&
			proc->prolang != INTERNALlanguageId;
		ReleaseSysCache(tup);
	}
	return result;
}

static bool calls_query_function_walker(Node *node, void *context);

/* The query of a level being planned, and its initplans' */
static bool
calls_query_function_in(PlannerInfo *root)
{
	return calls_query_function_walker((Node *) root->parse, root->glob) ||
		calls_query_function_walker((Node *) root->init_plans, root->glob);
}

/*
 * The walk of a query being planned, whose sublinks may be subplans by
 * now: a subplan's query is its subroot's (context: the PlannerGlobal).
 */
static bool
calls_query_function_walker(Node *node, void *context)
{
	if (node == NULL)
		return false;
	if (check_functions_in_node(node, may_run_queries, context))
		return true;
	if (IsA(node, Query))
		return query_tree_walker((Query *) node, calls_query_function_walker,
								 context, 0);
	if (IsA(node, SubPlan))
	{
		PlannerGlobal *glob = (PlannerGlobal *) context;
		SubPlan    *subplan = (SubPlan *) node;

		if (subplan->plan_id >= 1 &&
			subplan->plan_id <= list_length(glob->subroots))
		{
			PlannerInfo *subroot = list_nth(glob->subroots,
											subplan->plan_id - 1);

			if (subroot != NULL && calls_query_function_in(subroot))
				return true;
		}
	}
	return expression_tree_walker(node, calls_query_function_walker, context);
}

/*
 * Does the statement call a volatile function that may run queries (in its
 * whole query: subqueries, CTEs, security quals, functions inlined)?  Such
 * a function sees the changes the statement has made before it runs, in
 * PostgreSQL's tables, so the writes of an UPDATE or DELETE are not to
 * overlap with the next rows: it could read Copernica while earlier ones
 * are still in flight.
 */
static bool
calls_query_function(PlannerInfo *root)
{
	while (root->parent_root != NULL)
		root = root->parent_root;
	return calls_query_function_in(root);
}

/*
 * The plan remembers which columns are written and which RETURNING reads.
 * INSERT writes the columns the statement names and those with a DEFAULT
 * or a generation expression, so fields left out keep Copernica's
 * defaults; UPDATE the columns it sets and the generated columns that
 * depend on them.  BEFORE ROW triggers add more when the write begins
 * (add_trigger_columns).
 */
List *
copernicaPlanForeignModify(PlannerInfo *root, ModifyTable *plan,
						   Index resultRelation, int subplan_index)
{
	CmdType		operation = plan->operation;
	RangeTblEntry *rte = planner_rt_fetch(resultRelation, root);
	Relation	rel = table_open(rte->relid, NoLock);
	TupleDesc	tupdesc = RelationGetDescr(rel);
	List	   *target_attrs = NIL;
	List	   *returning_attrs = NIL;
	Bitmapset  *cols = NULL;
	Bitmapset  *ret = NULL;

	reject_on_conflict(plan, rel);

	if (operation == CMD_INSERT)
		cols = inserted_cols(tupdesc, copernica_inserted_cols(root, rte));
	else if (operation == CMD_UPDATE)
		cols = get_rel_all_updated_cols(root, find_base_rel(root, resultRelation));

	if (plan->returningLists)
		pull_varattnos((Node *) list_nth(plan->returningLists, subplan_index),
					   resultRelation, &ret);

	written_and_returned(tupdesc, cols, ret, &target_attrs, &returning_attrs);
	table_close(rel, NoLock);

	/* by CopernicaModifyPrivateIndex */
	return list_make3(target_attrs, returning_attrs,
					  makeInteger(operation != CMD_INSERT &&
								  calls_query_function(root)));
}

/*
 * The state of a write to rel: options, connection, the columns' roles,
 * and every check that can fail before a request.  For EXPLAIN without
 * ANALYZE, only the options.
 */
static CopernicaModifyState *
modify_state_create(EState *estate, ResultRelInfo *rinfo, CmdType operation,
					List *target_attrs, List *returning_attrs, Oid userid,
					bool explain_only)
{
	CopernicaModifyState *st = palloc0(sizeof(CopernicaModifyState));
	Relation	rel = rinfo->ri_RelationDesc;
	TupleDesc	tupdesc = RelationGetDescr(rel);
	ListCell   *lc;
	int			i;

	rinfo->ri_FdwState = st;
	st->rel = rel;
	st->operation = operation;
	st->target_attrs = target_attrs;
	st->returning_attrs = returning_attrs;
	st->opts = copernica_get_options(RelationGetRelid(rel), userid);
	st->res = copernica_resolve_resource(st->opts);
	if (explain_only)
		return st;

	st->serverid = GetForeignTable(RelationGetRelid(rel))->serverid;
	st->conn = copernica_get_connection(st->serverid, userid, st->opts);
	copernica_resource_bind(st->res, st->conn, st->opts, &st->stats);
	if (st->res->kind == COPERNICA_SUBPROFILES)
	{
		/* collection/ID/subprofiles */
		char	   *p = pstrdup(st->res->list_path + strlen("collection/"));

		*strchr(p, '/') = '\0';
		st->collection_id = p;
	}

	st->ncolumns = tupdesc->natts;
	st->columns = palloc0(sizeof(WriteColumn) * tupdesc->natts);
	for (i = 0; i < tupdesc->natts; i++)
	{
		Form_pg_attribute attr = TupleDescAttr(tupdesc, i);
		WriteColumn *col = &st->columns[i];

		if (attr->attisdropped)
			continue;
		col->attnum = attr->attnum;
		col->colname = pstrdup(NameStr(attr->attname));
		col->role = column_role(st->res, attr, RelationGetRelid(rel), &col->name);
		copernica_column_type_init(&col->type, attr->atttypid, attr->atttypmod);
		if (col->role == ROLE_ID)
			st->id_attnum = attr->attnum;
	}

	if (rinfo->ri_TrigDesc &&
		((operation == CMD_INSERT && rinfo->ri_TrigDesc->trig_insert_before_row) ||
		 (operation == CMD_UPDATE && rinfo->ri_TrigDesc->trig_update_before_row)))
		add_trigger_columns(st);

	/* writes the statement cannot do are errors before any request */
	foreach(lc, st->target_attrs)
	{
		WriteColumn *col = &st->columns[lfirst_int(lc) - 1];

		if (st->operation == CMD_UPDATE &&
			(col->role == ROLE_ID || col->role == ROLE_PARENT ||
			 col->role == ROLE_READ_ONLY))
			ereport(ERROR,
					(errcode(ERRCODE_FDW_ERROR),
					 errmsg("column \"%s\" of foreign table \"%s\" cannot be changed",
							col->colname, RelationGetRelationName(rel)),
					 errdetail("Copernica sets %s itself.", col->name)));
	}
	if (st->operation == CMD_INSERT && st->res->kind == COPERNICA_SUBPROFILES)
	{
		bool		has_parent = false;

		foreach(lc, st->target_attrs)
			if (st->columns[lfirst_int(lc) - 1].role == ROLE_PARENT)
				has_parent = true;
		if (!has_parent)
			ereport(ERROR,
					(errcode(ERRCODE_FDW_COLUMN_NAME_NOT_FOUND),
					 errmsg("an INSERT into subprofile table \"%s\" must give the column \"profile\"",
							RelationGetRelationName(rel)),
					 errdetail("Copernica creates a subprofile under its profile.")));
	}

	/* Copernica ignores unknown field names: make that an error instead */
	{
		const CopernicaMetadata *md = copernica_get_metadata(st->conn, st->res, st->opts,
															 GetForeignTable(RelationGetRelid(rel))->serverid,
															 userid);

		st->field_names = md->field_names;
		st->field_md = md;
		foreach(lc, st->target_attrs)
		{
			WriteColumn *col = &st->columns[lfirst_int(lc) - 1];

			if (col->role == ROLE_FIELD &&
				!copernica_name_in_list(col->name, md->field_names))
			{
				if (col->by_trigger)
				{
					col->unknown_field = true;
					continue;
				}
				copernica_report_unmatched_column(col->colname,
												  RelationGetRelationName(rel),
												  md->field_names);
			}
			if (col->role == ROLE_FIELD)
				copernica_field_limits_init(col, md);
		}
	}

	/* and unknown interest names: the database's are read once */
	foreach(lc, st->target_attrs)
	{
		if (st->columns[lfirst_int(lc) - 1].role == ROLE_INTERESTS &&
			!st->columns[lfirst_int(lc) - 1].by_trigger &&
			!st->interests_known)
		{
			st->interests = copernica_database_interests(st->conn, st->opts->database);
			st->interests_known = true;
		}
	}

	foreach(lc, st->returning_attrs)
	{
		WriteColumn *col = &st->columns[lfirst_int(lc) - 1];

		if (col->role != ROLE_ID || st->operation == CMD_DELETE)
			st->readback = true;
	}

	/* an upsert's key is checked before any row is written */
	if (operation == CMD_INSERT && st->opts->upsert_key)
		st->upsert = copernica_upsert_begin(rel, st->opts, st->res, st->conn,
											&st->stats, st->target_attrs,
											estate->es_query_cxt);

	st->row_cxt = AllocSetContextCreate(estate->es_query_cxt,
										"copernica_fdw modify row",
										ALLOCSET_SMALL_SIZES);
	st->trace = copernica_trace_begin(st, operation, st->res->entity_prefix);
	/* scans of this command and earlier ones do not see its rows */
	st->output_cid = estate->es_output_cid;
	copernica_own_ref_init(&st->own, st->opts, st->res,
						   operation == CMD_INSERT);
	return st;
}

/*
 * The set of IDs an UPDATE or DELETE has written: the one of an earlier
 * result relation of the same ModifyTable on the same server and kind of
 * entity, or a new one.  Copernica's IDs are unique across its databases,
 * so two foreign tables that name one database (even one by name, one by
 * ID) find their rows in the same set; a row reached through both is
 * written once, as postgres_fdw writes a remote row once.  Later result
 * relations are not begun yet (their ri_FdwState is still NULL).
 */
static HTAB *
written_ids_set(ModifyTableState *mtstate, CopernicaModifyState *st)
{
	HASHCTL		ctl;
	int			i;

	for (i = 0; i < mtstate->mt_nrels; i++)
	{
		ResultRelInfo *other = &mtstate->resultRelInfo[i];
		CopernicaModifyState *ost;

		if (other->ri_FdwRoutine == NULL ||
			other->ri_FdwRoutine->ExecForeignUpdate != copernicaExecForeignUpdate ||
			other->ri_FdwState == NULL || other->ri_FdwState == st)
			continue;
		ost = other->ri_FdwState;
		if (ost->written_ids && ost->serverid == st->serverid &&
			strcmp(ost->res->entity_prefix, st->res->entity_prefix) == 0)
			return ost->written_ids;
	}

	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = sizeof(int64);
	ctl.entrysize = sizeof(int64);
	ctl.hcxt = mtstate->ps.state->es_query_cxt;
	return hash_create("copernica_fdw written IDs", 256, &ctl,
					   HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
}

/*
 * Whether a trigger of the table, or a statement trigger of the table the
 * statement names (a partitioned or inheritance parent), may fire: AFTER
 * STATEMENT triggers fire before copernicaEndForeignModify and
 * copernicaEndForeignInsert, so a write finished there is not done yet
 * when they run.
 */
static bool
has_triggers(ModifyTableState *mtstate, ResultRelInfo *rinfo)
{
	ResultRelInfo *root = mtstate->rootResultRelInfo;

	return rinfo->ri_TrigDesc != NULL || (root && root->ri_TrigDesc != NULL);
}

void
copernicaBeginForeignModify(ModifyTableState *mtstate, ResultRelInfo *rinfo,
							List *fdw_private, int subplan_index, int eflags)
{
	EState	   *estate = mtstate->ps.state;
	CopernicaModifyState *st;

	st = modify_state_create(estate, rinfo, mtstate->operation,
							 list_nth(fdw_private, ModifyPrivateTargetAttrs),
							 list_nth(fdw_private, ModifyPrivateReturningAttrs),
							 copernica_modify_userid(rinfo, estate),
							 (eflags & EXEC_FLAG_EXPLAIN_ONLY) != 0);
	if (eflags & EXEC_FLAG_EXPLAIN_ONLY)
		return;

	if (st->operation != CMD_INSERT)
	{
		Plan	   *subplan = outerPlanState(mtstate)->plan;

		st->id_junk = ExecFindJunkAttributeInTlist(subplan->targetlist, ID_JUNK_NAME);
		if (!AttributeNumberIsValid(st->id_junk))
			elog(ERROR, "could not find junk column %s", ID_JUNK_NAME);

		/*
		 * The row as read, before the triggers: PostgreSQL fetches it
		 * whole for an UPDATE of a foreign table.
		 */
		if (st->guarded_attrs != NIL)
		{
			st->wholerow_junk = ExecFindJunkAttributeInTlist(subplan->targetlist,
															 "wholerow");
			if (!AttributeNumberIsValid(st->wholerow_junk))
				elog(ERROR, "could not find junk column wholerow");
		}

		/*
		 * Overlap the requests unless something needs each row's outcome
		 * first: RETURNING (any, even of no column: its row goes on at
		 * once, to a consumer that may act on it), triggers, which
		 * PostgreSQL fires before the end of the statement reaches us, and
		 * a view's WITH CHECK OPTION, whose failure must find the row's
		 * write done, not in flight.
		 */
		st->maxinflight = Max(st->opts->max_concurrency, 1);
		st->overlap = !st->readback &&
			((ModifyTable *) mtstate->ps.plan)->returningLists == NIL &&
			!intVal(list_nth(fdw_private, ModifyPrivateCallsQueries)) &&
			((ModifyTable *) mtstate->ps.plan)->withCheckOptionLists == NIL &&
			!has_triggers(mtstate, rinfo) && st->maxinflight > 1;
		if (st->overlap && mtstate->canSetTag)
			st->processed = &estate->es_processed;
		st->written_ids = written_ids_set(mtstate, st);
	}
}

/*
 * Whether an AFTER STATEMENT trigger fires for COPY into rinfo: COPY fires
 * it (the root's, for a row routed through a partitioned table) before it
 * ends the foreign insert, so rows still gathered then are not sent yet.
 */
static bool
has_after_statement_trigger(ModifyTableState *mtstate, ResultRelInfo *rinfo)
{
	ResultRelInfo *root = mtstate->rootResultRelInfo;

	return (rinfo->ri_TrigDesc && rinfo->ri_TrigDesc->trig_insert_after_statement) ||
		(root && root->ri_TrigDesc &&
		 root->ri_TrigDesc->trig_insert_after_statement);
}

/*
 * COPY FROM, and INSERT or COPY into a partitioned table that routes rows
 * to this foreign table, come here instead of the planner's callbacks.
 * Like INSERT, the columns the statement names and those PostgreSQL
 * computes are written.
 */
void
copernicaBeginForeignInsert(ModifyTableState *mtstate, ResultRelInfo *rinfo)
{
	EState	   *estate = mtstate->ps.state;
	Relation	rel = rinfo->ri_RelationDesc;
	ModifyTable *plan = (ModifyTable *) mtstate->ps.plan;
	TupleDesc	tupdesc = RelationGetDescr(rel);
	Bitmapset  *cols;
	Bitmapset  *ret = NULL;
	List	   *target_attrs = NIL;
	List	   *returning_attrs = NIL;
	CopernicaModifyState *st;

	/* an UPDATE moving a row here would have to create it, ID and all */
	if (mtstate->operation != CMD_INSERT)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("cannot move a row into foreign table \"%s\"",
						RelationGetRelationName(rel)),
				 errdetail("An UPDATE of a partitioned table cannot route rows into a Copernica partition.")));
	reject_on_conflict(plan, rel);

	cols = inserted_cols(tupdesc, ExecGetInsertedCols(rinfo, estate));
	if (rinfo->ri_returningList && mtstate->resultRelInfo)
		pull_varattnos((Node *) rinfo->ri_returningList,
					   mtstate->resultRelInfo[0].ri_RangeTableIndex, &ret);
	written_and_returned(tupdesc, cols, ret, &target_attrs, &returning_attrs);

	st = modify_state_create(estate, rinfo, CMD_INSERT, target_attrs,
							 returning_attrs, copernica_modify_userid(rinfo, estate), false);
	/* COPY's executor state has no output command: COPY's is the current */
	if (plan == NULL)
		st->output_cid = GetCurrentCommandId(true);

	/*
	 * COPY (no plan) hands over one row at a time.  Unless a row trigger
	 * needs each row's outcome before the next, gather them into batches:
	 * a BEFORE ROW trigger may read the table, and must find the rows COPY
	 * passed before (as INSERT, which batches nothing then, and COPY into
	 * a local table, which inserts row by row then).
	 */
	if (plan == NULL && st->opts->batch_size > 1 && !st->readback &&
		rinfo->ri_projectReturning == NULL &&
		!(rinfo->ri_TrigDesc && (rinfo->ri_TrigDesc->trig_insert_after_row ||
								 rinfo->ri_TrigDesc->trig_insert_before_row)) &&
		!has_after_statement_trigger(mtstate, rinfo))
	{
		st->gather = true;
		st->pending = MemoryContextAlloc(estate->es_query_cxt,
										 sizeof(CopernicaRequest *) * st->opts->batch_size);
		st->pending_keys = MemoryContextAllocZero(estate->es_query_cxt,
												  sizeof(char *) * st->opts->batch_size);
		st->pending_wait = MemoryContextAllocZero(estate->es_query_cxt,
												  sizeof(bool) * st->opts->batch_size);
	}
}

void
copernicaExplainForeignModify(ModifyTableState *mtstate, ResultRelInfo *rinfo,
							  List *fdw_private, int subplan_index,
							  ExplainState *es)
{
	CopernicaModifyState *st = rinfo->ri_FdwState;
	const char *what;

	if (st == NULL || st->res == NULL)
		return;
	what = mtstate->operation == CMD_INSERT ?
		psprintf("%s %s%s",
				 st->opts->upsert_key ? "PUT" : "POST",
				 st->res->kind == COPERNICA_SUBPROFILES ?
				 psprintf("profile/$profile/subprofiles/%s",
						  st->collection_id ? st->collection_id : st->opts->collection) :
				 st->res->list_path,
				 st->opts->upsert_key ?
				 psprintf("?fields[]=%s==$key&create=true", st->opts->upsert_key) : "") :
		psprintf("%s %s/$id", mtstate->operation == CMD_UPDATE ? "PUT" : "DELETE",
				 st->res->entity_prefix);
	ExplainPropertyText("Copernica", what, es);
	if (mtstate->operation == CMD_INSERT)
		ExplainPropertyInteger("Batch Size", NULL,
							   copernicaGetForeignModifyBatchSize(rinfo), es);
	/* the writes' own requests; the scan that found the rows shows its own */
	if (es->analyze)
	{
		ExplainPropertyInteger("Copernica Requests", NULL, st->stats.requests, es);
		ExplainPropertyInteger("Copernica Retries", NULL, st->stats.retries, es);
	}
}
