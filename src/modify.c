/*-------------------------------------------------------------------------
 *
 * modify.c
 *		  INSERT, UPDATE and DELETE: rows become POST, PUT and DELETE requests.
 *
 * HTTP has no transactions, so a failed statement cannot take back what
 * earlier requests did.  What we promise instead: a failure names the row
 * that failed and Copernica's reason, and lists the entities the statement
 * created before it, so nothing is lost without a trace.  A POST is never
 * retried once it may have reached Copernica (that would create twice).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/sysattr.h"
#include "access/table.h"
#include "catalog/pg_type.h"
#include "commands/defrem.h"
#include "commands/explain.h"
#include "executor/executor.h"
#include "foreign/fdwapi.h"
#include "foreign/foreign.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "optimizer/appendinfo.h"
#include "optimizer/inherit.h"
#include "optimizer/optimizer.h"
#include "optimizer/pathnode.h"
#include "parser/parsetree.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"

#include "copernica_fdw.h"

/* the junk column that carries the entity ID of an UPDATE or DELETE */
#define ID_JUNK_NAME	"copernica_id"

/* At most this many created IDs are listed in an error. */
#define MAX_LISTED_IDS	1000

/* What a column of the table stands for when written. */
typedef enum WriteRole
{
	ROLE_FIELD,
	ROLE_FIELDS_OBJECT,
	ROLE_ID,
	ROLE_INTERESTS,
	ROLE_PARENT,				/* a subprofile's profile */
	ROLE_SECRET,
	ROLE_READ_ONLY				/* created, modified, database, ... */
} WriteRole;

typedef struct WriteColumn
{
	AttrNumber	attnum;
	char	   *colname;
	char	   *name;			/* field or property name */
	WriteRole	role;
	CopernicaColumnType type;
} WriteColumn;

typedef struct CopernicaModifyState
{
	Relation	rel;
	CmdType		operation;
	CopernicaOptions *opts;
	CopernicaResource *res;
	CopernicaConnection *conn;
	CopernicaStats stats;
	char	   *collection_id;	/* for subprofile inserts */
	CopernicaUpsert *upsert;	/* INSERT on the table's upsert_key */
	bool		interests_known;	/* interests are written: their names */
	List	   *interests;		/* the database's interests */

	int			ncolumns;
	WriteColumn *columns;		/* every column of the table */
	List	   *target_attrs;	/* attnums written */
	List	   *returning_attrs;	/* attnums RETURNING reads */
	bool		readback;		/* RETURNING needs more than the ID */
	AttrNumber	id_attnum;		/* the table's id column, or 0 */
	AttrNumber	id_junk;		/* its junk copy in the plan's output */

	MemoryContext row_cxt;
	int64		rows_done;		/* rows written so far */
	int64		ncreated;
	int64	   *created;		/* the first MAX_LISTED_IDS IDs created */
	int64		already_removed;	/* DELETEs of entities gone already */

	int64		current_row;	/* for the error context */
	const char *current_id;

	/*
	 * COPY sends rows one at a time; they are gathered here into batches
	 * (requests built, in row_cxt) and sent when batch_size are ready.
	 */
	bool		gather;
	int			npending;
	CopernicaRequest **pending;
	char	  **pending_keys;	/* an upsert's keys, and where they repeat */
	bool	   *pending_wait;

	/* of the failing batch, for the error's detail */
	int64		unknown_outcome;	/* cut off after they may have arrived */
	int64		not_sent;		/* rows never sent */

	/*
	 * UPDATE and DELETE keep up to max_concurrency requests in flight: a row
	 * is done when its request is sent, and its answer is checked when room
	 * is needed, or at the end.  Not with RETURNING or triggers, which need
	 * each row's outcome before the next.
	 */
	bool		overlap;
	CopernicaBatch *wbatch;
	struct InflightWrite *inflight;
	int			ninflight;
	int			maxinflight;
} CopernicaModifyState;

/* An UPDATE's or DELETE's request in flight. */
typedef struct InflightWrite
{
	int			handle;
	int64		row;			/* the statement's row number */
	int64		id;
	CopernicaRequest *req;		/* for the error context */
} InflightWrite;

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
 * The plan remembers which columns are written and which RETURNING reads.
 * INSERT writes only the columns the statement names, so fields left out
 * keep Copernica's defaults.
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

	if (plan->onConflictAction != ONCONFLICT_NONE)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("INSERT with ON CONFLICT is not supported on foreign table \"%s\"",
						RelationGetRelationName(rel)),
				 errdetail("Copernica has no unique constraint to detect a conflict with.")));

	if (operation == CMD_INSERT)
		cols = copernica_inserted_cols(root, rte);
	else if (operation == CMD_UPDATE)
		cols = get_rel_all_updated_cols(root, find_base_rel(root, resultRelation));

	if (plan->returningLists)
		pull_varattnos((Node *) list_nth(plan->returningLists, subplan_index),
					   resultRelation, &ret);

	written_and_returned(tupdesc, cols, ret, &target_attrs, &returning_attrs);
	table_close(rel, NoLock);

	/* by CopernicaModifyPrivateIndex */
	return list_make2(target_attrs, returning_attrs);
}

static void
modify_error_callback(void *arg)
{
	CopernicaModifyState *st = arg;
	const char *what = st->operation == CMD_INSERT ? "INSERT" :
		st->operation == CMD_UPDATE ? "UPDATE" : "DELETE";

	if (st->current_id)
		errcontext("%s of row " INT64_FORMAT " (Copernica %s %s) in foreign table \"%s\"",
				   what, st->current_row, st->res->entity_prefix, st->current_id,
				   RelationGetRelationName(st->rel));
	else
		errcontext("%s of row " INT64_FORMAT " in foreign table \"%s\"",
				   what, st->current_row, RelationGetRelationName(st->rel));
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

	st->conn = copernica_get_connection(GetForeignTable(RelationGetRelid(rel))->serverid,
										userid, st->opts);
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

		foreach(lc, st->target_attrs)
		{
			WriteColumn *col = &st->columns[lfirst_int(lc) - 1];

			if (col->role == ROLE_FIELD &&
				!copernica_name_in_list(col->name, md->field_names))
				copernica_report_unmatched_column(col->colname,
												  RelationGetRelationName(rel),
												  md->field_names);
		}
	}

	/* and unknown interest names: the database's are read once */
	foreach(lc, st->target_attrs)
	{
		if (st->columns[lfirst_int(lc) - 1].role == ROLE_INTERESTS &&
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
	st->created = MemoryContextAlloc(estate->es_query_cxt,
									 sizeof(int64) * MAX_LISTED_IDS);
	return st;
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
		 * Overlap the requests unless something needs each row's outcome
		 * first: RETURNING, and triggers, which PostgreSQL fires before the
		 * end of the statement reaches us.
		 */
		st->maxinflight = Max(st->opts->max_concurrency, 1);
		st->overlap = !st->readback && rinfo->ri_TrigDesc == NULL &&
			st->maxinflight > 1;
	}
}

/*
 * COPY FROM, and INSERT or COPY into a partitioned table that routes rows
 * to this foreign table, come here instead of the planner's callbacks.
 * Like INSERT, only the columns the statement names are written.
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
	if (plan && plan->onConflictAction != ONCONFLICT_NONE)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("INSERT with ON CONFLICT is not supported on foreign table \"%s\"",
						RelationGetRelationName(rel)),
				 errdetail("Copernica has no unique constraint to detect a conflict with.")));

	cols = ExecGetInsertedCols(rinfo, estate);
	if (rinfo->ri_returningList && mtstate->resultRelInfo)
		pull_varattnos((Node *) rinfo->ri_returningList,
					   mtstate->resultRelInfo[0].ri_RangeTableIndex, &ret);
	written_and_returned(tupdesc, cols, ret, &target_attrs, &returning_attrs);

	st = modify_state_create(estate, rinfo, CMD_INSERT, target_attrs,
							 returning_attrs, copernica_modify_userid(rinfo, estate), false);

	/*
	 * COPY (no plan) hands over one row at a time.  Unless a row trigger
	 * needs each row's outcome before the next, gather them into batches.
	 */
	if (plan == NULL && st->opts->batch_size > 1 && !st->readback &&
		rinfo->ri_projectReturning == NULL &&
		!(rinfo->ri_TrigDesc && rinfo->ri_TrigDesc->trig_insert_after_row))
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

/* Append one written value to the JSON object being built. */
static void
append_member(StringInfo buf, bool *first, const char *name, const char *value)
{
	if (!*first)
		appendStringInfoChar(buf, ',');
	*first = false;
	copernica_json_append_string(buf, name);
	appendStringInfoChar(buf, ':');
	copernica_json_append_string(buf, value);
}

/*
 * Each interest a JSON interests value names (the elements of a list, the
 * keys of a map) must be one of the database's.
 */
static void
check_json_interests(CopernicaModifyState *st, char *json)
{
	Jsonb	   *jb = DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(json)));
	JsonbIterator *it = JsonbIteratorInit(&jb->root);
	JsonbValue	v;
	JsonbIteratorToken tok;
	int			level = 0;

	while ((tok = JsonbIteratorNext(&it, &v, false)) != WJB_DONE)
	{
		if (tok == WJB_BEGIN_ARRAY || tok == WJB_BEGIN_OBJECT)
			level++;
		else if (tok == WJB_END_ARRAY || tok == WJB_END_OBJECT)
			level--;
		else if (level == 1 && (tok == WJB_KEY || tok == WJB_ELEM) &&
				 v.type == jbvString)
			(void) copernica_match_interest(st->interests,
											pnstrdup(v.val.string.val, v.val.string.len),
											st->opts->database);
	}
}

/*
 * A text[] or jsonb interests value as the JSON Copernica takes, every name
 * in it checked: Copernica would drop one it does not know without a word.
 */
static char *
interests_json(CopernicaModifyState *st, WriteColumn *col, Datum value, bool isnull)
{
	StringInfoData buf;

	if (isnull)
		return "[]";
	if (col->type.kind == COPERNICA_TYPE_JSON || col->type.kind == COPERNICA_TYPE_JSONB)
	{
		char	   *json = OutputFunctionCall(&col->type.output, value);

		check_json_interests(st, json);
		return json;
	}
	if (col->type.kind == COPERNICA_TYPE_TEXT_ARRAY)
	{
		ArrayType  *arr = DatumGetArrayTypeP(value);
		Datum	   *elems;
		bool	   *nulls;
		int			n,
					i;
		bool		first = true;

		deconstruct_array(arr, ARR_ELEMTYPE(arr), -1, false, TYPALIGN_INT,
						  &elems, &nulls, &n);
		initStringInfo(&buf);
		appendStringInfoChar(&buf, '[');
		for (i = 0; i < n; i++)
		{
			if (nulls[i])
				continue;
			if (!first)
				appendStringInfoChar(&buf, ',');
			first = false;
			copernica_json_append_string(&buf,
										 copernica_match_interest(st->interests,
																  TextDatumGetCString(elems[i]),
																  st->opts->database));
		}
		appendStringInfoChar(&buf, ']');
		return buf.data;
	}
	ereport(ERROR,
			(errcode(ERRCODE_FDW_INVALID_DATA_TYPE),
			 errmsg("column \"%s\" must be of type text[] or jsonb to write interests",
					col->colname)));
	return NULL;
}

/*
 * The JSON body for a row: {"fields":{...},"interests":[...],"secret":...},
 * except that creating a subprofile takes a flat field map.  *parent
 * receives a subprofile's profile.  In the server's encoding: see
 * row_body.
 */
static char *
build_body(CopernicaModifyState *st, TupleTableSlot *slot, char **parent)
{
	StringInfoData fields;
	char	   *interests = NULL;
	char	   *secret = NULL;
	char	   *fields_object = NULL;
	bool		first = true;
	ListCell   *lc;

	initStringInfo(&fields);
	foreach(lc, st->target_attrs)
	{
		WriteColumn *col = &st->columns[lfirst_int(lc) - 1];
		bool		isnull;
		Datum		value = slot_getattr(slot, col->attnum, &isnull);

		switch (col->role)
		{
			case ROLE_SECRET:
				if (st->operation == CMD_INSERT)
				{
					if (!isnull)
						ereport(ERROR,
								(errcode(ERRCODE_FDW_ERROR),
								 errmsg("column \"%s\" of foreign table \"%s\" cannot be set by INSERT",
										col->colname, RelationGetRelationName(st->rel)),
								 errdetail("Copernica chooses a new entity's secret; UPDATE can change it.")));
					break;
				}
				secret = copernica_datum_to_value(&col->type, value, isnull,
												  st->opts->timezone);
				break;
			case ROLE_FIELD:
				append_member(&fields, &first, col->name,
							  copernica_datum_to_value(&col->type, value, isnull,
													   st->opts->timezone));
				break;
			case ROLE_FIELDS_OBJECT:
				if (!isnull)
					fields_object = OutputFunctionCall(&col->type.output, value);
				break;
			case ROLE_INTERESTS:
				interests = interests_json(st, col, value, isnull);
				break;
			case ROLE_PARENT:
				if (isnull)
					ereport(ERROR,
							(errcode(ERRCODE_NOT_NULL_VIOLATION),
							 errmsg("column \"%s\" must not be null: a subprofile belongs to a profile",
									col->colname)));
				*parent = copernica_datum_to_value(&col->type, value, false,
												   st->opts->timezone);
				break;
			case ROLE_ID:
			case ROLE_READ_ONLY:
				if (!isnull)
					ereport(ERROR,
							(errcode(ERRCODE_FDW_ERROR),
							 errmsg("column \"%s\" of foreign table \"%s\" cannot be set",
									col->colname, RelationGetRelationName(st->rel)),
							 errdetail("Copernica sets %s itself.", col->name)));
				break;
		}
	}

	if (fields_object && fields.len > 0)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_ERROR),
				 errmsg("cannot write the \"fields\" column together with single field columns")));

	if (st->res->kind == COPERNICA_SUBPROFILES && st->operation == CMD_INSERT)
		return fields_object ? fields_object : psprintf("{%s}", fields.data);

	{
		StringInfoData body;

		initStringInfo(&body);
		appendStringInfo(&body, "{\"fields\":%s",
						 fields_object ? fields_object : psprintf("{%s}", fields.data));
		if (interests)
			appendStringInfo(&body, ",\"interests\":%s", interests);
		if (secret)
		{
			appendStringInfoString(&body, ",\"secret\":");
			copernica_json_append_string(&body, secret);
		}
		appendStringInfoChar(&body, '}');
		return body.data;
	}
}

/* The body as sent: Copernica takes UTF-8 whatever the database's encoding. */
static char *
row_body(CopernicaModifyState *st, TupleTableSlot *slot, char **parent)
{
	char	   *body = build_body(st, slot, parent);

	return pg_server_to_any(body, strlen(body), PG_UTF8);
}

/*
 * The request that creates the row in slot: a POST, or for an upsert a PUT
 * to the same path with the key as its condition, which creates only when
 * nothing matches.  An upsert's *key receives the key, and *wait_before
 * says whether a row before it in the batch may have the same key.
 */
static CopernicaRequest *
insert_request(CopernicaModifyState *st, TupleTableSlot *slot, char **key,
			   bool *wait_before)
{
	CopernicaRequest *req = palloc0(sizeof(CopernicaRequest));
	char	   *parent = NULL;

	req->method = "POST";
	if (st->upsert)
	{
		req->method = "PUT";
		req->query = copernica_upsert_query(st->upsert, slot, key, wait_before);
	}
	req->body = row_body(st, slot, &parent);
	if (st->res->kind == COPERNICA_SUBPROFILES)
		req->path = psprintf("profile/%s/subprofiles/%s",
							 copernica_escape_path_segment(parent), st->collection_id);
	else
		req->path = psprintf("database/%s/profiles",
							 copernica_escape_path_segment(st->opts->database));
	return req;
}

static void
remember_created(CopernicaModifyState *st, int64 id)
{
	if (st->ncreated < MAX_LISTED_IDS)
		st->created[st->ncreated] = id;
	st->ncreated++;
}

static int
compare_ids(const void *a, const void *b)
{
	int64		x = *(const int64 *) a;
	int64		y = *(const int64 *) b;

	return (x > y) - (x < y);
}

/*
 * "31, 32, 33": concurrent requests finish in any order, so the list is
 * sorted to read well.
 */
static char *
created_list(CopernicaModifyState *st)
{
	StringInfoData buf;
	int64		n = Min(st->ncreated, MAX_LISTED_IDS);
	int64		i;

	qsort(st->created, n, sizeof(int64), compare_ids);
	initStringInfo(&buf);
	for (i = 0; i < n; i++)
		appendStringInfo(&buf, "%s" INT64_FORMAT, i ? ", " : "", st->created[i]);
	if (st->ncreated > n)
		appendStringInfoString(&buf, ", ...");
	return buf.data;
}

/*
 * Add what the statement created so far, and what became of the rest of
 * the failing batch, to the escaping error, and raise it again.
 */
static void
rethrow_with_created(CopernicaModifyState *st, MemoryContext cxt)
{
	ErrorData  *edata;
	StringInfoData detail;

	MemoryContextSwitchTo(cxt);
	edata = CopyErrorData();
	FlushErrorState();
	initStringInfo(&detail);
	if (edata->detail)
		appendStringInfoString(&detail, edata->detail);
	if (st->ncreated > 0)
		appendStringInfo(&detail, "%sBefore the failure this statement %s " INT64_FORMAT " %s%s: %s.",
						 detail.len ? "\n" : "",
						 st->operation == CMD_UPDATE ? "updated" :
						 st->operation == CMD_DELETE ? "removed" : "created",
						 st->ncreated, st->res->entity_prefix,
						 st->ncreated == 1 ? "" : "s",
						 created_list(st));
	if (st->unknown_outcome > 0)
		appendStringInfo(&detail, "%sThe outcome of " INT64_FORMAT " request%s is unknown: %s cut off after it may have reached Copernica.",
						 detail.len ? "\n" : "",
						 st->unknown_outcome, st->unknown_outcome == 1 ? "" : "s",
						 st->unknown_outcome == 1 ? "it was" : "they were");
	if (st->upsert && copernica_upsert_applied_detail(st->upsert))
		appendStringInfo(&detail, "%s%s", detail.len ? "\n" : "",
						 copernica_upsert_applied_detail(st->upsert));
	if (st->not_sent > 0)
		appendStringInfo(&detail, "%s" INT64_FORMAT " other row%s of the batch %s not sent.",
						 detail.len ? "\n" : "",
						 st->not_sent, st->not_sent == 1 ? "" : "s",
						 st->not_sent == 1 ? "was" : "were");
	edata->detail = detail.len ? detail.data : NULL;
	ReThrowError(edata);
}

/* Count a request given up on that did not succeed: unknown or not sent. */
static void
count_unfinished(CopernicaModifyState *st, CopernicaOutcome outcome)
{
	if (outcome == COPERNICA_OUTCOME_PENDING ||
		outcome == COPERNICA_OUTCOME_UNKNOWN)
		st->unknown_outcome++;
	else if (outcome == COPERNICA_OUTCOME_NOT_SENT)
		st->not_sent++;
}

/*
 * Learn, without raising, what became of requests from..n-1 of a batch
 * that is being given up: the IDs created, and the rest counted.
 */
static void
note_outcomes(CopernicaModifyState *st, CopernicaBatch *batch, int *handles,
			  char **keys, int from, int n)
{
	int			i;

	for (i = from; i < n; i++)
	{
		const char *x_created;
		int64		id;
		CopernicaOutcome outcome;

		outcome = copernica_batch_outcome(batch, handles[i], &x_created);
		switch (outcome)
		{
			case COPERNICA_OUTCOME_SUCCEEDED:
				if (x_created && copernica_parse_id(x_created, &id))
					remember_created(st, id);
				else if (keys)
					copernica_upsert_note_updated(st->upsert, keys[i]);
				else
					st->unknown_outcome++;
				break;
			default:
				count_unfinished(st, outcome);
				break;
		}
	}
}

/* The ID from X-Created: digits only, or the answer is not trusted. */
static int64
created_id(CopernicaResponse *resp)
{
	int64		id;

	if (resp->x_created == NULL || resp->x_created[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_FDW_ERROR),
				 errmsg("Copernica did not say which ID it created"),
				 errdetail("The answer (HTTP %ld) had no X-Created header.", resp->status)));
	if (!copernica_parse_id(resp->x_created, &id))
		ereport(ERROR,
				(errcode(ERRCODE_FDW_INVALID_STRING_FORMAT),
				 errmsg("Copernica sent an invalid X-Created header")));
	return id;
}

/* Fill slot from the entity as Copernica now shows it. */
static void
read_back(CopernicaModifyState *st, const char *id, TupleTableSlot *slot)
{
	CopernicaRequest req = {0};
	CopernicaResponse resp = {0};
	CopernicaValuePath *paths;
	CopernicaPage *page;
	int			n = list_length(st->returning_attrs);
	ListCell   *lc;
	int			i = 0;

	req.method = "GET";
	req.path = psprintf("%s/%s", st->res->entity_prefix, id);
	copernica_perform(st->conn, &req, &resp, &st->stats);

	paths = palloc0(sizeof(CopernicaValuePath) * Max(n, 1));
	foreach(lc, st->returning_attrs)
	{
		WriteColumn *col = &st->columns[lfirst_int(lc) - 1];

		if (col->role == ROLE_FIELD)
			paths[i].source = COPERNICA_SRC_FIELD;
		else if (col->role == ROLE_FIELDS_OBJECT)
			paths[i].source = COPERNICA_SRC_FIELDS_OBJECT;
		else
			paths[i].source = COPERNICA_SRC_PROPERTY;
		paths[i].name = col->name;
		i++;
	}
	page = copernica_parse_page(resp.body.data, resp.body.len, false, paths, n);

	ExecClearTuple(slot);
	memset(slot->tts_isnull, true, sizeof(bool) * slot->tts_tupleDescriptor->natts);
	i = 0;
	foreach(lc, st->returning_attrs)
	{
		WriteColumn *col = &st->columns[lfirst_int(lc) - 1];
		int			att = col->attnum - 1;

		slot->tts_values[att] = copernica_item_value_to_datum(&col->type,
															  page->nitems ? page->values[i] : NULL,
															  page->nitems && page->is_json[i],
															  st->opts->timezone,
															  &slot->tts_isnull[att]);
		i++;
	}
	ExecStoreVirtualTuple(slot);
}

/* Put the new ID into the slot RETURNING reads. */
static void
set_returned_id(CopernicaModifyState *st, TupleTableSlot *slot, const char *id)
{
	WriteColumn *col;
	int			att;

	if (st->id_attnum == 0)
		return;
	col = &st->columns[st->id_attnum - 1];
	att = col->attnum - 1;
	slot_getallattrs(slot);
	slot->tts_values[att] = copernica_value_to_datum(&col->type, id, st->opts->timezone,
													 &slot->tts_isnull[att]);
}

/*
 * The answer to one row's request: the new ID, into the slot RETURNING
 * reads when slot is given.  An upsert that updated says no ID; RETURNING
 * looks it up by the key.
 */
static void
finish_insert(CopernicaModifyState *st, CopernicaBatch *batch, int handle,
			  CopernicaRequest *req, const char *key, TupleTableSlot *slot)
{
	CopernicaResponse *resp = copernica_batch_wait(batch, handle);
	char	   *id = NULL;

	if (st->upsert && (resp->x_created == NULL || resp->x_created[0] == '\0'))
	{
		copernica_upsert_note_updated(st->upsert, key);
		if (slot && st->returning_attrs != NIL)
			id = copernica_upsert_lookup_id(st->upsert, st->conn, &st->stats,
											req->path, key);
	}
	else
	{
		int64		idnum = created_id(resp);

		remember_created(st, idnum);
		id = psprintf(INT64_FORMAT, idnum);
	}
	if (slot && id)
	{
		if (st->readback)
			read_back(st, id, slot);
		else
			set_returned_id(st, slot, id);
	}
}

/*
 * Send the requests of rows first_row.., all in flight together (up to
 * max_concurrency), and put each new ID into its slot when slots is given.
 *
 * Every request started is waited for, so that an error can list all the
 * statement created.  After a row fails no request is started any more,
 * and an interrupt stops the batch at once: no POST goes out after a
 * cancel.  The first error, in row order, is raised again with that list.
 *
 * An upsert (keys given) whose key may be that of a row before it waits
 * until the rows before it are done: sent together, both would find no
 * match and create two profiles.
 */
static void
send_inserts(CopernicaModifyState *st, CopernicaRequest **reqs,
			 TupleTableSlot **slots, char **keys, bool *wait_before,
			 int n, int64 first_row)
{
	MemoryContext cxt = CurrentMemoryContext;
	CopernicaBatch *volatile batch = NULL;
	int		   *handles = palloc(sizeof(int) * n);
	volatile int nadded = 0;
	volatile int i;

	PG_TRY();
	{
		bool		stopped = false;
		int			j;

		CHECK_FOR_INTERRUPTS();
		batch = copernica_batch_begin(st->conn, &st->stats);
		for (i = 0; i < n && !stopped; i++)
		{
			if (wait_before && wait_before[i])
			{
				for (j = 0; j < i; j++)
				{
					const char *x_created;

					st->current_row = first_row + j;
					copernica_batch_settle(batch, handles[j]);
					if (copernica_batch_outcome(batch, handles[j], &x_created) !=
						COPERNICA_OUTCOME_SUCCEEDED)
						stopped = true;
				}
				if (stopped)
					break;
			}
			handles[i] = copernica_batch_add(batch, reqs[i]);
			nadded = i + 1;
		}
		for (i = 0; i < nadded; i++)
		{
			const char *x_created;

			st->current_row = first_row + i;
			copernica_batch_settle(batch, handles[i]);
			if (copernica_batch_outcome(batch, handles[i], &x_created) !=
				COPERNICA_OUTCOME_SUCCEEDED)
				copernica_batch_stop(batch);
		}
	}
	PG_CATCH();
	{
		/* an interrupt, or libcurl failing: what is running was cut off */
		if (batch)
		{
			copernica_batch_stop(batch);
			note_outcomes(st, batch, handles, keys, 0, nadded);
			st->not_sent += n - nadded;
			copernica_batch_end(batch);
		}
		else
			st->not_sent += n;
		rethrow_with_created(st, cxt);
	}
	PG_END_TRY();

	/* rows an earlier failure kept from being sent */
	st->not_sent += n - nadded;

	for (i = 0; i < nadded; i++)
	{
		st->current_row = first_row + i;
		PG_TRY();
		{
			finish_insert(st, batch, handles[i], reqs[i], keys ? keys[i] : NULL,
						  slots ? slots[i] : NULL);
		}
		PG_CATCH();
		{
			note_outcomes(st, batch, handles, keys, i + 1, nadded);
			copernica_batch_end(batch);
			rethrow_with_created(st, cxt);
		}
		PG_END_TRY();
	}
	copernica_batch_end(batch);
}

/* Send the rows COPY gathered, and start gathering afresh. */
static void
send_pending(CopernicaModifyState *st)
{
	ErrorContextCallback errcb;
	MemoryContext caller_cxt;
	int			n = st->npending;

	if (n == 0)
		return;
	caller_cxt = MemoryContextSwitchTo(st->row_cxt);
	errcb.callback = modify_error_callback;
	errcb.arg = st;
	errcb.previous = error_context_stack;
	error_context_stack = &errcb;
	st->current_id = NULL;

	st->npending = 0;
	send_inserts(st, st->pending, NULL,
				 st->upsert ? st->pending_keys : NULL,
				 st->upsert ? st->pending_wait : NULL,
				 n, st->rows_done + 1);
	st->rows_done += n;

	error_context_stack = errcb.previous;
	MemoryContextSwitchTo(caller_cxt);
	MemoryContextReset(st->row_cxt);
}

TupleTableSlot *
copernicaExecForeignInsert(EState *estate, ResultRelInfo *rinfo,
						   TupleTableSlot *slot, TupleTableSlot *planSlot)
{
	CopernicaModifyState *st = rinfo->ri_FdwState;
	int			one = 1;

	if (st->gather)
	{
		ErrorContextCallback errcb;
		MemoryContext caller_cxt = MemoryContextSwitchTo(st->row_cxt);

		errcb.callback = modify_error_callback;
		errcb.arg = st;
		errcb.previous = error_context_stack;
		error_context_stack = &errcb;
		st->current_id = NULL;
		st->current_row = st->rows_done + st->npending + 1;

		/* a row that cannot be written stops COPY before its batch goes */
		PG_TRY();
		{
			if (st->upsert && st->npending == 0)
				copernica_upsert_new_batch(st->upsert);
			st->pending[st->npending] = insert_request(st, slot,
													   &st->pending_keys[st->npending],
													   &st->pending_wait[st->npending]);
		}
		PG_CATCH();
		{
			st->not_sent += st->npending;
			rethrow_with_created(st, st->row_cxt);
		}
		PG_END_TRY();
		st->npending++;

		error_context_stack = errcb.previous;
		MemoryContextSwitchTo(caller_cxt);
		if (st->npending >= st->opts->batch_size)
			send_pending(st);
		return slot;
	}
	return copernicaExecForeignBatchInsert(estate, rinfo, &slot, &planSlot, &one)[0];
}

/*
 * A batch of rows.  Every body is built before the first request goes out:
 * a row that cannot be written stops the batch before any of it is sent.
 */
TupleTableSlot **
copernicaExecForeignBatchInsert(EState *estate, ResultRelInfo *rinfo,
								TupleTableSlot **slots, TupleTableSlot **planSlots,
								int *numSlots)
{
	CopernicaModifyState *st = rinfo->ri_FdwState;
	MemoryContext caller_cxt = CurrentMemoryContext;
	MemoryContext cxt;
	ErrorContextCallback errcb;
	CopernicaRequest **reqs;
	char	  **keys;
	bool	   *wait_before;
	int64		first_row = st->rows_done + 1;
	volatile int i;

	/*
	 * Everything a batch needs lives in the row context, reset at the next
	 * call: ModifyTable is done with the slots by then.
	 */
	MemoryContextReset(st->row_cxt);
	MemoryContextSwitchTo(st->row_cxt);
	cxt = st->row_cxt;
	reqs = palloc(sizeof(CopernicaRequest *) * *numSlots);
	keys = palloc0(sizeof(char *) * *numSlots);
	wait_before = palloc0(sizeof(bool) * *numSlots);

	errcb.callback = modify_error_callback;
	errcb.arg = st;
	errcb.previous = error_context_stack;
	error_context_stack = &errcb;
	st->current_id = NULL;

	PG_TRY();
	{
		if (st->upsert)
			copernica_upsert_new_batch(st->upsert);
		for (i = 0; i < *numSlots; i++)
		{
			st->current_row = first_row + i;
			reqs[i] = insert_request(st, slots[i], &keys[i], &wait_before[i]);
		}
	}
	PG_CATCH();
	{
		st->not_sent += *numSlots - 1;
		rethrow_with_created(st, cxt);
	}
	PG_END_TRY();

	send_inserts(st, reqs, slots, st->upsert ? keys : NULL,
				 st->upsert ? wait_before : NULL, *numSlots, first_row);
	st->rows_done += *numSlots;

	error_context_stack = errcb.previous;
	MemoryContextSwitchTo(caller_cxt);
	return slots;
}

int
copernicaGetForeignModifyBatchSize(ResultRelInfo *rinfo)
{
	CopernicaModifyState *st = rinfo->ri_FdwState;

	/*
	 * RETURNING and row triggers need each row back before the next.  COPY
	 * gathers its rows here (st->gather) on every version; from 16 on,
	 * COPY would otherwise batch them itself, and fail differently.
	 */
	if (st == NULL || st->opts == NULL || st->gather || rinfo->ri_projectReturning ||
		(rinfo->ri_TrigDesc &&
		 (rinfo->ri_TrigDesc->trig_insert_after_row ||
		  rinfo->ri_TrigDesc->trig_insert_before_row)))
		return 1;
	return st->opts->batch_size;
}

static char *
junk_id(CopernicaModifyState *st, TupleTableSlot *planSlot)
{
	bool		isnull;
	Datum		d = ExecGetJunkAttribute(planSlot, st->id_junk, &isnull);
	WriteColumn *col = &st->columns[st->id_attnum - 1];
	char	   *text;
	int64		id;

	if (isnull)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_ERROR),
				 errmsg("cannot change a row whose \"%s\" is null", col->colname)));
	/* it goes into the request's path: a plain integer only */
	text = OutputFunctionCall(&col->type.output, d);
	if (!copernica_parse_id(text, &id))
		ereport(ERROR,
				(errcode(ERRCODE_FDW_INVALID_ATTRIBUTE_VALUE),
				 errmsg("cannot change a row whose \"%s\" is not a Copernica ID", col->colname),
				 errdetail("The value is \"%s\"; an ID is a plain decimal integer.",
						   copernica_redact_excerpt(text, strlen(text)))));
	return psprintf(INT64_FORMAT, id);
}

/*
 * The row an UPDATE or DELETE is at: its ID, and the error context.  Work
 * happens in the row context, reset at the next row; returns the caller's.
 */
static MemoryContext
begin_row(CopernicaModifyState *st, TupleTableSlot *planSlot,
		  ErrorContextCallback *errcb)
{
	MemoryContext caller_cxt;

	MemoryContextReset(st->row_cxt);
	caller_cxt = MemoryContextSwitchTo(st->row_cxt);
	st->current_row = ++st->rows_done;
	st->current_id = junk_id(st, planSlot);
	errcb->callback = modify_error_callback;
	errcb->arg = st;
	errcb->previous = error_context_stack;
	error_context_stack = errcb;
	return caller_cxt;
}

/* The row is done: what begin_row set up goes back. */
static void
end_row(CopernicaModifyState *st, ErrorContextCallback *errcb,
		MemoryContext caller_cxt)
{
	error_context_stack = errcb->previous;
	st->current_id = NULL;
	MemoryContextSwitchTo(caller_cxt);
}

/*
 * Check the answer to an UPDATE's or DELETE's request.  A DELETE of an
 * entity that is gone already is counted, not an error: the row is gone
 * either way.
 */
static void
check_write(CopernicaModifyState *st, CopernicaRequest *req,
			CopernicaResponse *resp)
{
	char	   *gone;

	if (resp->error_message == NULL)
		return;

	/* Copernica's exact words; anything else is an error */
	gone = psprintf("This %s has already been removed", st->res->entity_prefix);
	if (st->operation != CMD_DELETE ||
		pg_strcasecmp(resp->error_message, gone) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_ERROR),
				 errmsg("Copernica rejected the request: %s", resp->error_message),
				 errcontext("Copernica request: %s",
							copernica_request_describe(req))));
	st->already_removed++;
}

/* The request that updates or removes the current row. */
static CopernicaRequest *
write_request(CopernicaModifyState *st, TupleTableSlot *slot)
{
	CopernicaRequest *req = palloc0(sizeof(CopernicaRequest));
	char	   *parent = NULL;

	req->method = st->operation == CMD_UPDATE ? "PUT" : "DELETE";
	req->path = psprintf("%s/%s", st->res->entity_prefix, st->current_id);
	if (st->operation == CMD_UPDATE)
		req->body = row_body(st, slot, &parent);
	req->accept_error = st->operation == CMD_DELETE;
	return req;
}

/*
 * A write failed: learn what became of the others in flight (never
 * raising), and raise the error again with what the statement changed.
 */
static void
fail_writes(CopernicaModifyState *st, MemoryContext cxt)
{
	ErrorData  *edata;
	int			i;

	MemoryContextSwitchTo(cxt);
	edata = CopyErrorData();
	FlushErrorState();
	copernica_batch_stop(st->wbatch);
	for (i = 0; i < st->ninflight; i++)
	{
		InflightWrite *w = &st->inflight[i];
		const char *x_created;
		CopernicaOutcome outcome;

		PG_TRY();
		{
			copernica_batch_settle(st->wbatch, w->handle);
		}
		PG_CATCH();
		{
			FlushErrorState();
		}
		PG_END_TRY();
		outcome = copernica_batch_outcome(st->wbatch, w->handle, &x_created);
		switch (outcome)
		{
			case COPERNICA_OUTCOME_SUCCEEDED:
				remember_created(st, w->id);
				break;
			default:
				count_unfinished(st, outcome);
				break;
		}
	}
	st->ninflight = 0;
	PG_TRY();
	{
		ReThrowError(edata);
	}
	PG_CATCH();
	{
		rethrow_with_created(st, cxt);
	}
	PG_END_TRY();
}

/*
 * Wait for the answer to the oldest write in flight and check it.  The
 * error context names that write's row, not the current one.
 */
static void
finish_oldest_write(CopernicaModifyState *st)
{
	InflightWrite w = st->inflight[0];
	MemoryContext cxt = CurrentMemoryContext;
	int64		save_row = st->current_row;
	const char *save_id = st->current_id;

	memmove(st->inflight, st->inflight + 1,
			sizeof(InflightWrite) * (st->ninflight - 1));
	st->ninflight--;
	st->current_row = w.row;
	st->current_id = psprintf(INT64_FORMAT, w.id);
	PG_TRY();
	{
		CopernicaResponse *resp = copernica_batch_wait(st->wbatch, w.handle);

		check_write(st, w.req, resp);
	}
	PG_CATCH();
	{
		fail_writes(st, cxt);
	}
	PG_END_TRY();
	remember_created(st, w.id);
	copernica_batch_forget(st->wbatch, w.handle);
	pfree(w.req->path);
	if (w.req->body)
		pfree(w.req->body);
	pfree(w.req);
	st->current_row = save_row;
	st->current_id = save_id;
}

/*
 * Send the current row's request and return: it is checked when room is
 * needed, or at the end.  A second write to an entity waits for the first.
 */
static void
start_write(CopernicaModifyState *st, TupleTableSlot *slot, int64 id)
{
	MemoryContext old;
	InflightWrite *w;
	int			i;

	for (i = 0; i < st->ninflight; i++)
		if (st->inflight[i].id == id)
		{
			while (st->ninflight > i)
				finish_oldest_write(st);
			break;
		}
	if (st->ninflight >= st->maxinflight)
		finish_oldest_write(st);

	old = MemoryContextSwitchTo(GetMemoryChunkContext(st));
	if (st->wbatch == NULL)
	{
		st->wbatch = copernica_batch_begin(st->conn, &st->stats);
		st->inflight = palloc0(sizeof(InflightWrite) * st->maxinflight);
	}
	w = &st->inflight[st->ninflight];
	w->row = st->current_row;
	w->id = id;
	w->req = palloc0(sizeof(CopernicaRequest));
	MemoryContextSwitchTo(old);

	{
		CopernicaRequest *req = write_request(st, slot);

		old = MemoryContextSwitchTo(GetMemoryChunkContext(st));
		w->req->method = req->method;
		w->req->path = pstrdup(req->path);
		w->req->body = req->body ? pstrdup(req->body) : NULL;
		w->req->accept_error = req->accept_error;
		MemoryContextSwitchTo(old);
	}
	w->handle = copernica_batch_add(st->wbatch, w->req);
	st->ninflight++;
}

/* Every write in flight is answered and checked. */
static void
finish_writes(CopernicaModifyState *st)
{
	ErrorContextCallback errcb;

	if (st->ninflight == 0)
		return;
	errcb.callback = modify_error_callback;
	errcb.arg = st;
	errcb.previous = error_context_stack;
	error_context_stack = &errcb;
	while (st->ninflight > 0)
		finish_oldest_write(st);
	error_context_stack = errcb.previous;
	st->current_id = NULL;
}

/* The write of one row, now or overlapped with the next ones. */
static TupleTableSlot *
write_row(CopernicaModifyState *st, TupleTableSlot *slot,
		  TupleTableSlot *planSlot)
{
	ErrorContextCallback errcb;
	MemoryContext caller_cxt = begin_row(st, planSlot, &errcb);
	CopernicaRequest *req;
	CopernicaResponse resp = {0};

	if (st->overlap)
	{
		int64		id;

		(void) copernica_parse_id(st->current_id, &id);
		start_write(st, slot, id);
		end_row(st, &errcb, caller_cxt);
		return slot;
	}

	/* RETURNING shows a removed row as it was: read it before it goes */
	if (st->readback && st->operation == CMD_DELETE)
		read_back(st, st->current_id, slot);
	req = write_request(st, slot);
	PG_TRY();
	{
		int64		id;

		copernica_perform(st->conn, req, &resp, &st->stats);
		check_write(st, req, &resp);
		if (copernica_parse_id(st->current_id, &id))
			remember_created(st, id);
	}
	PG_CATCH();
	{
		rethrow_with_created(st, st->row_cxt);
	}
	PG_END_TRY();
	if (st->readback && st->operation == CMD_UPDATE)
		read_back(st, st->current_id, slot);

	end_row(st, &errcb, caller_cxt);
	return slot;
}

TupleTableSlot *
copernicaExecForeignUpdate(EState *estate, ResultRelInfo *rinfo,
						   TupleTableSlot *slot, TupleTableSlot *planSlot)
{
	return write_row(rinfo->ri_FdwState, slot, planSlot);
}

TupleTableSlot *
copernicaExecForeignDelete(EState *estate, ResultRelInfo *rinfo,
						   TupleTableSlot *slot, TupleTableSlot *planSlot)
{
	return write_row(rinfo->ri_FdwState, slot, planSlot);
}

/* COPY's last rows go out here, before the statement can report success. */
void
copernicaEndForeignInsert(EState *estate, ResultRelInfo *rinfo)
{
	CopernicaModifyState *st = rinfo->ri_FdwState;

	if (st && st->gather)
		send_pending(st);
	copernicaEndForeignModify(estate, rinfo);
}

void
copernicaEndForeignModify(EState *estate, ResultRelInfo *rinfo)
{
	CopernicaModifyState *st = rinfo->ri_FdwState;

	if (st && st->overlap)
		finish_writes(st);
	if (st && st->already_removed > 0)
		ereport(NOTICE,
				(errmsg(INT64_FORMAT " %s%s had already been removed in Copernica",
						st->already_removed, st->res->entity_prefix,
						st->already_removed == 1 ? "" : "s")));
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
