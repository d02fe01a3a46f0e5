/*-------------------------------------------------------------------------
 *
 * copernica_fdw.c
 *		  The handler and the planner callbacks: which conditions, order and
 *		  limit a scan sends, what it costs, and what its plan carries to the
 *		  executor.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "access/sysattr.h"
#include "access/table.h"
#include "catalog/pg_type.h"
#include "foreign/fdwapi.h"
#include "foreign/foreign.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "optimizer/cost.h"
#include "optimizer/optimizer.h"
#include "optimizer/pathnode.h"
#include "optimizer/paths.h"
#include "optimizer/planmain.h"
#include "optimizer/restrictinfo.h"
#include "optimizer/clauses.h"
#include "parser/parsetree.h"
#include "utils/fmgroids.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/ruleutils.h"

#include "copernica_fdw.h"

PG_MODULE_MAGIC;

/* Without a total from Copernica, a table is assumed to hold this many. */
#define DEFAULT_ROW_ESTIMATE	1000.0

/* What one HTTP request costs, in units of seq_page_cost. */
#define REQUEST_COST			100.0

/* What moving one item over the network and parsing it costs. */
#define ITEM_TRANSFER_COST		0.1

/* Subprofiles one profile has in a collection, as a guess: a few. */
#define SUBPROFILES_PER_PROFILE	10.0

typedef struct CopernicaRelInfo
{
	CopernicaPlanInfo plan;
	List	   *pushed;			/* RestrictInfos sent to the API */
	List	   *local_only;		/* RestrictInfos checked locally only */
	bool		all_exact;		/* every condition pushed, all exact */
	bool		has_id_list;	/* an id = ANY(...) among the pushed */
	bool		has_profile_key;	/* a subprofile's profile = constant */
	Bitmapset  *attrs_used;		/* columns the query reads */
	Oid			userid;
	Oid			serverid;
} CopernicaRelInfo;

/* fdw_private of a path: the pushed ORDER BY and LIMIT */
enum CopernicaPathPrivate
{
	PathOrderField,				/* String: "id", "modified" or "" */
	PathOrderDesc,				/* Integer */
	PathLimit					/* Integer: rows, 0 for none */
};

PG_FUNCTION_INFO_V1(copernica_fdw_handler);

void		_PG_init(void);

void
_PG_init(void)
{
	copernica_modify_install_hooks();
}

/*
 * The columns a scan of baserel reads, its output and its conditions, each
 * given to check (which raises for a column it cannot serve), so that a
 * column that matches nothing is an error before any row is read.  The set
 * is offset by FirstLowInvalidHeapAttributeNumber, as pull_varattnos makes.
 */
Bitmapset *
copernica_used_columns(RelOptInfo *baserel, TupleDesc tupdesc,
					   CopernicaColumnCheck check, void *arg)
{
	Bitmapset  *used = NULL;
	ListCell   *lc;
	int			x = -1;

	pull_varattnos((Node *) baserel->reltarget->exprs, baserel->relid, &used);
	foreach(lc, baserel->baserestrictinfo)
		pull_varattnos((Node *) ((RestrictInfo *) lfirst(lc))->clause,
					   baserel->relid, &used);
	while ((x = bms_next_member(used, x)) >= 0)
	{
		AttrNumber	attnum = x + FirstLowInvalidHeapAttributeNumber;

		if (attnum > 0)
			check(TupleDescAttr(tupdesc, attnum - 1), arg);
	}
	return used;
}

/* A profile or subprofile column whose field the database does not have. */
static void
check_field_column(Form_pg_attribute attr, void *arg)
{
	CopernicaRelInfo *info = arg;
	CopernicaValuePath path;

	copernica_check_listing_column(info->plan.res, info->plan.relid, attr);
	if (info->plan.md->field_names == NIL)
		return;
	path = copernica_column_source(info->plan.res, info->plan.relid, attr);
	if (path.source == COPERNICA_SRC_FIELD &&
		!copernica_name_in_list(path.name, info->plan.md->field_names))
		copernica_report_unmatched_column(NameStr(attr->attname),
										  get_rel_name(info->plan.relid),
										  info->plan.md->field_names);
}

/*
 * A scan reads by at most one ID list or one profile key, not both: the
 * ID list from the collection's listing, the key from the profile's own.
 * The first met is used; any other stays a local condition.
 */
static bool
cond_fits(const CopernicaPushedCond *cond, bool *has_id_list, bool *has_profile_key)
{
	if ((cond->id_list || cond->profile_key) && (*has_id_list || *has_profile_key))
		return false;
	*has_id_list |= cond->id_list;
	*has_profile_key |= cond->profile_key;
	return true;
}

static void
copernicaGetForeignRelSize(PlannerInfo *root, RelOptInfo *baserel,
						   Oid foreigntableid)
{
	CopernicaRelInfo *info = palloc0(sizeof(CopernicaRelInfo));
	Relation	rel;
	CopernicaConnection *conn;
	ListCell   *lc;
	Selectivity sel;
	double		total;

	baserel->fdw_private = info;
	info->userid = OidIsValid(baserel->userid) ? baserel->userid : GetUserId();

	/*
	 * The plan holds what the role's token showed: field types, sizes, and
	 * a collection's ID looked up by its name, which another role's account
	 * may not share.  So a cached plan serves only the role it was made
	 * for; another role's EXECUTE plans anew.
	 */
	if (!OidIsValid(baserel->userid))
		root->glob->dependsOnRole = true;
	info->serverid = GetForeignTable(foreigntableid)->serverid;
	info->plan.root = root;
	info->plan.relid = foreigntableid;
	info->plan.opts = copernica_get_options(foreigntableid, info->userid);
	info->plan.res = copernica_resolve_resource(info->plan.opts);
	if (info->plan.res->kind == COPERNICA_MAILING)
	{
		copernica_mailing_rel_size(root, baserel, foreigntableid, info->plan.opts,
								   info->plan.res);
		return;
	}

	rel = table_open(foreigntableid, NoLock);
	info->plan.tupdesc = CreateTupleDescCopy(RelationGetDescr(rel));
	table_close(rel, NoLock);

	/* field types decide what can be pushed; the total sizes the table */
	conn = copernica_get_connection(info->serverid, info->userid, info->plan.opts);
	copernica_resource_bind(info->plan.res, conn, info->plan.opts, NULL);
	info->plan.md = copernica_get_metadata(conn, info->plan.res, info->plan.opts,
										   info->serverid, info->userid);

	info->all_exact = true;
	foreach(lc, baserel->baserestrictinfo)
	{
		RestrictInfo *rinfo = lfirst(lc);
		CopernicaPushedCond cond;

		if (info->plan.res->has_fields &&
			copernica_classify_clause(baserel, &info->plan, rinfo->clause, &cond) &&
			cond_fits(&cond, &info->has_id_list, &info->has_profile_key))
		{
			info->pushed = lappend(info->pushed, rinfo);
			if (!cond.exact)
				info->all_exact = false;
		}
		else
		{
			info->local_only = lappend(info->local_only, rinfo);
			info->all_exact = false;
		}
	}

	info->attrs_used = copernica_used_columns(baserel, info->plan.tupdesc,
											  check_field_column, info);

	total = info->plan.md->total >= 0 ? info->plan.md->total : DEFAULT_ROW_ESTIMATE;
	sel = clauselist_selectivity(root, baserel->baserestrictinfo, baserel->relid,
								 JOIN_INNER, NULL);
	baserel->tuples = total;
	baserel->rows = clamp_row_est(total * sel);
}

/* Requests to fetch rows rows, given the page size. */
static double
request_cost(CopernicaRelInfo *info, double rows)
{
	double		pages = Max(1.0, ceil(rows / info->plan.opts->page_size));

	return pages * REQUEST_COST * seq_page_cost;
}

/*
 * The column behind a pathkey, when it is one whose order Copernica shares:
 * id and modified, never empty, compared the same way.  NULL otherwise.
 */
static const char *
pushable_order_field(PlannerInfo *root, RelOptInfo *baserel,
					 CopernicaRelInfo *info, PathKey *pathkey)
{
	EquivalenceClass *ec = pathkey->pk_eclass;
	ListCell   *lc;

	if (ec->ec_has_volatile)
		return NULL;
	foreach(lc, ec->ec_members)
	{
		EquivalenceMember *em = lfirst(lc);
		Var		   *var = (Var *) em->em_expr;
		CopernicaValuePath path;
		Form_pg_attribute attr;

		if (!IsA(var, Var) || var->varno != baserel->relid || var->varattno <= 0)
			continue;
		attr = TupleDescAttr(info->plan.tupdesc, var->varattno - 1);
		path = copernica_column_source(info->plan.res, info->plan.relid, attr);
		if (path.source != COPERNICA_SRC_PROPERTY)
			continue;
		/* the btree opfamily must be the type's default, as sorting implies */
		if (strcmp(path.name, "ID") == 0 &&
			(attr->atttypid == INT8OID || attr->atttypid == INT4OID))
			return "id";
		if (strcmp(path.name, "modified") == 0 && attr->atttypid == TIMESTAMPOID &&
			!info->has_id_list)
			return "modified";
	}
	return NULL;
}

/* An int64 for a plan's private list: copied and printed as a node. */
static Const *
int8_const(int64 value)
{
	return makeConst(INT8OID, -1, InvalidOid, sizeof(int64),
					 Int64GetDatum(value), false, FLOAT8PASSBYVAL);
}

/*
 * Does the query's LIMIT (with OFFSET, the sum) bound what the scan must
 * return: nothing above the scan can drop or reorder rows (one relation, a
 * plain SELECT, and the query's whole ORDER BY produced by the path,
 * order_pushed)?  Whether every condition is sent exactly is the caller's
 * to add.
 */
static bool
limit_reaches_scan(PlannerInfo *root, RelOptInfo *baserel, bool order_pushed)
{
	Query	   *parse = root->parse;

	if (parse->limitOption != LIMIT_OPTION_COUNT)
		return false;
	if (bms_membership(root->all_baserels) != BMS_SINGLETON ||
		!bms_is_member(baserel->relid, root->all_baserels))
		return false;
	if (root->query_pathkeys != NIL && !order_pushed)
		return false;
	if (parse->rowMarks != NIL || parse->commandType != CMD_SELECT)
		return false;
	return true;
}

/* That LIMIT when it is a constant: 0 for none to send. */
int
copernica_query_limit(PlannerInfo *root, RelOptInfo *baserel, bool order_pushed)
{
	if (root->limit_tuples <= 0 || root->limit_tuples > INT_MAX)
		return 0;
	if (!limit_reaches_scan(root, baserel, order_pushed))
		return 0;
	return (int) root->limit_tuples;
}

/*
 * Can a LIMIT or OFFSET expression be computed once when the scan starts,
 * to the value the Limit node above it computes: parameters the statement
 * is executed with, constants and stable functions, nothing from a row, a
 * subquery or a volatile function.
 */
static bool
limit_expr_walker(Node *node, void *context)
{
	if (node == NULL)
		return false;
	if (IsA(node, Param) && ((Param *) node)->paramkind != PARAM_EXTERN)
		return true;
	if (IsA(node, Var) || IsA(node, PlaceHolderVar) || IsA(node, SubLink) ||
		IsA(node, SubPlan) || IsA(node, AlternativeSubPlan))
		return true;
	return expression_tree_walker(node, limit_expr_walker, context);
}

static bool
limit_expr_at_scan_start(Node *expr)
{
	return expr == NULL ||
		(!limit_expr_walker(expr, NULL) &&
		 !contain_volatile_functions(expr));
}

/*
 * A LIMIT known only when the plan runs (a generic plan's LIMIT $1, as
 * PREPARE with plan_cache_mode = force_generic_plan makes): its count and
 * offset expressions (the offset a 0 when there is none), for the scan to
 * evaluate when it starts and send as postgres_fdw sends its parameters;
 * NIL when the limit is a constant (copernica_query_limit) or none.
 */
List *
copernica_query_limit_exprs(PlannerInfo *root, RelOptInfo *baserel,
							bool order_pushed)
{
	Query	   *parse = root->parse;
	Node	   *count = parse->limitCount;
	Node	   *offset = parse->limitOffset;

	if (root->limit_tuples > 0 || count == NULL ||
		(IsA(count, Const) && ((Const *) count)->constisnull))
		return NIL;
	/* constants alone the planner has counted: beyond INT_MAX, say */
	if (IsA(count, Const) && (offset == NULL || IsA(offset, Const)))
		return NIL;
	if (!limit_reaches_scan(root, baserel, order_pushed) ||
		!limit_expr_at_scan_start(count) || !limit_expr_at_scan_start(offset))
		return NIL;
	if (offset == NULL)
		offset = (Node *) int8_const(0);
	return list_make2(copyObject(count), copyObject(offset));
}

/* EXPLAIN's Copernica Limit for those: "$1", or "$1 + $2" with an OFFSET. */
char *
copernica_limit_exprs_text(List *exprs)
{
	Node	   *offset = lsecond(exprs);
	char	   *text = deparse_expression(linitial(exprs), NIL, false, false);

	if (!IsA(offset, Const) || DatumGetInt64(((Const *) offset)->constvalue) != 0)
		text = psprintf("%s + %s", text, deparse_expression(offset, NIL, false, false));
	return text;
}

/*
 * LIMIT may go to the API when besides every condition is pushed exactly:
 * the rows, 0 for none, -1 for a LIMIT known when the scan starts.
 */
static int
pushable_limit(PlannerInfo *root, RelOptInfo *baserel, CopernicaRelInfo *info,
			   bool order_pushed)
{
	if (!info->all_exact || info->has_id_list)
		return 0;

	/*
	 * profile/$id/subprofiles/$collection is documented without parameters:
	 * that it honours fields[] is inferred from clients.  Were it to ignore
	 * them, a LIMIT would keep rows the local recheck then drops.
	 */
	if (info->has_profile_key && list_length(info->pushed) > 1)
		return 0;
	if (copernica_query_limit_exprs(root, baserel, order_pushed) != NIL)
		return -1;
	return copernica_query_limit(root, baserel, order_pushed);
}

static void
add_scan_path(PlannerInfo *root, RelOptInfo *baserel, CopernicaRelInfo *info,
			  List *pathkeys, const char *order_field, bool desc)
{
	double		rows = baserel->rows;
	double		fetched = baserel->tuples;
	int			limit = pushable_limit(root, baserel, info, pathkeys != NIL);
	Cost		startup = REQUEST_COST * seq_page_cost;
	Cost		total;
	List	   *priv;

	if (info->has_id_list || info->pushed != NIL)
		fetched = Max(rows, 1.0);
	if (limit > 0)
	{
		fetched = Min(fetched, limit);
		rows = Min(rows, limit);
	}
	total = startup + request_cost(info, fetched) +
		fetched * (ITEM_TRANSFER_COST + cpu_tuple_cost);

	/*
	 * A pushed order is free when one request holds the rows: make it win
	 * over a local sort.  Over more pages it is read one page after another
	 * (by keyset), where the unordered scan has max_concurrency requests in
	 * flight: then each page costs that many times more, so a scan sorted
	 * locally wins unless few pages are wanted.
	 */
	if (pathkeys != NIL && request_cost(info, fetched) > REQUEST_COST * seq_page_cost)
		total += request_cost(info, fetched) * (info->plan.opts->max_concurrency - 1);
	else if (pathkeys != NIL)
		total *= 0.99;

	priv = list_make3(makeString(pstrdup(order_field ? order_field : "")),
					  makeInteger(desc ? 1 : 0),
					  makeInteger(limit));
	add_path(baserel, (Path *) copernica_create_foreignscan_path(root, baserel, NULL,
																 rows, startup, total,
																 pathkeys, NULL, NULL, priv));
}

/*
 * An equivalence class member that is this table's id column, or a
 * subprofile table's profile column.
 */
static bool
ec_member_is_key(PlannerInfo *root, RelOptInfo *rel, EquivalenceClass *ec,
				 EquivalenceMember *em, void *arg)
{
	CopernicaRelInfo *info = arg;
	Form_pg_attribute attr = copernica_ec_member_column(rel, em, info->plan.tupdesc);
	CopernicaValuePath path;

	if (attr == NULL)
		return false;
	path = copernica_column_source(info->plan.res, info->plan.relid, attr);
	return path.source == COPERNICA_SRC_PROPERTY &&
		(strcmp(path.name, "ID") == 0 ||
		 (strcmp(path.name, "profile") == 0 &&
		  info->plan.res->kind == COPERNICA_SUBPROFILES));
}

/*
 * A join on id can run as a nested loop that looks each entity up by its
 * ID: one small request per outer row instead of reading the whole table.
 * A join on a subprofile table's profile likewise reads each profile's
 * subprofiles from profile/$id/subprofiles/$collection, the other pushed
 * conditions sent along: a page or so per outer row.
 */
static void
add_key_path(PlannerInfo *root, RelOptInfo *baserel, RestrictInfo *rinfo,
			 Relids outer, void *arg)
{
	CopernicaRelInfo *info = arg;
	CopernicaPushedCond cond;
	ParamPathInfo *ppi;
	double		rows;
	Cost		startup = REQUEST_COST * seq_page_cost;
	Cost		total;

	if (!copernica_classify_clause(baserel, &info->plan, rinfo->clause, &cond) ||
		strcmp(cond.op, "==") != 0 || cond.id_list)
		return;
	ppi = get_baserel_parampathinfo(root, baserel, outer);
	if (cond.profile_key)
	{
		/* the scan's constant ID list or profile key would be used instead */
		if (info->has_id_list || info->has_profile_key)
			return;
		rows = Min(ppi->ppi_rows, SUBPROFILES_PER_PROFILE);
		total = startup + request_cost(info, rows) - REQUEST_COST * seq_page_cost +
			rows * (ITEM_TRANSFER_COST + cpu_tuple_cost);
	}
	else if (strcmp(cond.field, "id") == 0)
	{
		rows = Min(ppi->ppi_rows, 1.0);
		total = startup + cpu_tuple_cost;
	}
	else
		return;
	add_path(baserel, (Path *) copernica_create_foreignscan_path(root, baserel, NULL, rows,
																 startup, total,
																 NIL, outer, NULL,
																 list_make3(makeString(""),
																			makeInteger(0),
																			makeInteger(0))));
}

static void
copernicaGetForeignPaths(PlannerInfo *root, RelOptInfo *baserel,
						 Oid foreigntableid)
{
	CopernicaRelInfo *info = baserel->fdw_private;

	if (copernica_is_mailing_rel(baserel))
	{
		copernica_mailing_paths(root, baserel);
		return;
	}
	add_scan_path(root, baserel, info, NIL, NULL, false);

	/*
	 * One sort key on id or modified can come sorted from Copernica; not
	 * from a profile's subprofiles, whose listing documents no orderby.  A
	 * view's or miniview's listing documents none either, but it is read
	 * by ID, ascending, anyway (keyset pages, each checked to go on
	 * rising): ascending id is pushed for them, nothing else.
	 */
	if (list_length(root->query_pathkeys) == 1 && info->plan.res->has_fields &&
		!info->has_profile_key)
	{
		PathKey    *pk = linitial(root->query_pathkeys);
		const char *field = pushable_order_field(root, baserel, info, pk);
		bool		selection = info->plan.res->kind == COPERNICA_VIEW_PROFILES ||
			info->plan.res->kind == COPERNICA_MINIVIEW_SUBPROFILES;

		if (field && selection &&
			(strcmp(field, "id") != 0 || copernica_pathkey_is_desc(pk)))
			field = NULL;

		/*
		 * Rows in an order other than by ID are paged by offset, which
		 * misses or repeats rows that change between requests (an UPDATE
		 * moves its row to the end of the modified order): that order is
		 * pushed only when the rows wanted fit in one request.  Otherwise
		 * PostgreSQL sorts the scan by ID, which spills to disk as needed.
		 */
		if (field && strcmp(field, "id") != 0)
		{
			int			limit = pushable_limit(root, baserel, info, true);

			if (limit <= 0 || limit > info->plan.opts->page_size)
				field = NULL;
		}
		if (field)
			add_scan_path(root, baserel, info, root->query_pathkeys, field,
						  copernica_pathkey_is_desc(pk));
	}

	if (info->plan.res->has_fields)
		copernica_param_clauses(root, baserel, ec_member_is_key, add_key_path, info);
}

/*
 * A condition's value for EXPLAIN: the constant (quoted as an SQL literal
 * when quoted, else as written, an array as the list (5,2)), $n for a
 * parameter, or what else gives it at run time.
 */
char *
copernica_explain_value(Expr *value, bool quoted)
{
	if (IsA(value, Const) && !((Const *) value)->constisnull)
	{
		Const	   *c = (Const *) value;
		Oid			outfunc;
		bool		isvarlena;
		char	   *text;

		getTypeOutputInfo(c->consttype, &outfunc, &isvarlena);
		text = OidOutputFunctionCall(outfunc, c->constvalue);
		if (quoted)
			return quote_literal_cstr(text);
		if (type_is_array(c->consttype) && text[0] == '{')
		{
			/* {5,2} reads as the list (5,2) */
			text[0] = '(';
			text[strlen(text) - 1] = ')';
		}
		return text;
	}
	if (IsA(value, Param))
		return psprintf("$%d", ((Param *) value)->paramid);
	if (IsA(value, Var) || IsA(value, PlaceHolderVar))
		return pstrdup("(outer row's value)");
	if (IsA(value, ArrayExpr) && ((ArrayExpr *) value)->elements != NIL)
	{
		/* IN ($1, $2), or key IN (outer.a, outer.b) made an array */
		StringInfoData buf;
		bool		outer = true;
		ListCell   *lc;

		initStringInfo(&buf);
		foreach(lc, ((ArrayExpr *) value)->elements)
		{
			outer &= IsA(lfirst(lc), Var) || IsA(lfirst(lc), PlaceHolderVar);
			appendStringInfo(&buf, "%s%s", buf.len ? ", " : "",
							 copernica_explain_value(lfirst(lc), quoted));
		}
		if (outer)
			return pstrdup("(outer row's values)");
		return psprintf("ARRAY[%s]", buf.data);
	}
	return pstrdup("(expression)");
}

/*
 * Does an expression hold what ruleutils cannot write without the plan
 * around it: a column (an outer row's) or a parameter set by the executor
 * (a correlated subquery's outer value)?  A query's own $n it writes.
 */
static bool
has_unnamed(Node *node, void *context)
{
	if (node == NULL)
		return false;
	if (IsA(node, Var) || IsA(node, PlaceHolderVar) ||
		(IsA(node, Param) && ((Param *) node)->paramkind != PARAM_EXTERN))
		return true;
	return expression_tree_walker(node, has_unnamed, context);
}

/*
 * A condition for EXPLAIN: a constant's written by the code that writes
 * the request (deparse.c), so it reads as sent whatever DateStyle says;
 * other values are named (see copernica_explain_value).
 */
static char *
explain_condition(CopernicaPushedCond *cond)
{
	/*
	 * Not a timestamptz: its text is its local time in the zone the scan
	 * starts in, which a cached plan's EXECUTE need not share.
	 */
	bool		zoned = exprType((Node *) cond->value) == TIMESTAMPTZOID;

	if (IsA(cond->value, Const) && !((Const *) cond->value)->constisnull &&
		!zoned)
	{
		Const	   *c = (Const *) cond->value;
		bool		exact = true;
		char	   *text = copernica_condition_text(cond->field, cond->op,
													cond->format, c->constvalue,
													c->consttype, &exact);

		if (text != NULL)
			return text;
	}

	/*
	 * An expression evaluated once at scan start (now() - '1 day', say):
	 * written as PostgreSQL would, as postgres_fdw shows its $1.  Not one
	 * with an outer row's columns, which have no names here.
	 */
	if ((zoned || !IsA(cond->value, Const)) && !IsA(cond->value, Param) &&
		!has_unnamed((Node *) cond->value, NULL))
		return psprintf("%s%s%s", cond->field, cond->op,
						deparse_expression((Node *) cond->value, NIL, false, false));
	return psprintf("%s%s%s", cond->field, cond->op,
					copernica_explain_value(cond->value, false));
}

/* A pushed condition as the plan keeps it, by CopernicaCondPrivateIndex. */
static List *
cond_private(const CopernicaPushedCond *cond, bool exact, bool id_list)
{
	return lappend(list_make5(makeString(pstrdup(cond->field)),
							  makeString(pstrdup(cond->op)),
							  makeInteger(cond->format),
							  makeInteger(exact ? 1 : 0),
							  makeInteger(id_list ? 1 : 0)),
				   makeInteger(cond->profile_key ? 1 : 0));
}

/*
 * The plan carries, in fdw_private (CopernicaScanPrivateIndex): the
 * attribute numbers to fill; the pushed conditions, whose values are in
 * fdw_exprs; the order and limit; EXPLAIN's text; the listing's path and
 * what planning knew of its IDs and rows.
 */
static ForeignScan *count_plan(PlannerInfo *root, RelOptInfo *upperrel, List *tlist,
							   Plan *outer_plan);

static ForeignScan *
copernicaGetForeignPlan(PlannerInfo *root, RelOptInfo *baserel,
						Oid foreigntableid, ForeignPath *best_path,
						List *tlist, List *scan_clauses, Plan *outer_plan)
{
	CopernicaRelInfo *info;
	TupleDesc	tupdesc;
	List	   *retrieved = NIL;
	List	   *conds = NIL;
	List	   *fdw_exprs = NIL;
	List	   *local_exprs = NIL;
	StringInfoData filter;
	StringInfoData request;
	bool		whole_row;
	bool		has_id_list = false;
	bool		has_profile_key = false;
	char	   *key_path = "";
	ListCell   *lc;
	int			i;
	char	   *order_field;
	int			order_desc;
	int			limit;
	char	   *limit_text = "";
	List	   *private;

	if (IS_UPPER_REL(baserel))
		return count_plan(root, baserel, tlist, outer_plan);
	if (copernica_is_mailing_rel(baserel))
		return copernica_mailing_plan(root, baserel, foreigntableid, best_path,
									  tlist, scan_clauses, outer_plan);
	info = baserel->fdw_private;
	tupdesc = info->plan.tupdesc;
	order_field = strVal(list_nth(best_path->fdw_private, PathOrderField));
	order_desc = intVal(list_nth(best_path->fdw_private, PathOrderDesc));
	limit = intVal(list_nth(best_path->fdw_private, PathLimit));
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

	/*
	 * Every clause is checked locally, pushed or not: Copernica's answer to
	 * a pushed condition may be a superset of ours.
	 */
	initStringInfo(&filter);
	initStringInfo(&request);
	foreach(lc, scan_clauses)
	{
		RestrictInfo *rinfo = lfirst(lc);
		CopernicaPushedCond cond;

		local_exprs = lappend(local_exprs, rinfo->clause);
		if (!info->plan.res->has_fields ||
			!copernica_classify_clause(baserel, &info->plan, rinfo->clause, &cond) ||
			!cond_fits(&cond, &has_id_list, &has_profile_key))
			continue;
		conds = lappend(conds, cond_private(&cond, cond.exact, cond.id_list));
		fdw_exprs = lappend(fdw_exprs, cond.value);
		if (cond.profile_key)
		{
			/* the path says it: profile/$id/subprofiles/$collection */
			key_path = copernica_profile_subprofiles_path(info->plan.res,
														  copernica_explain_value(cond.value,
																				  false));
			continue;
		}
		if (filter.len > 0)
			appendStringInfoString(&filter, ", ");
		if (cond.id_list)
		{
			appendStringInfo(&filter, "id in %s",
							 copernica_explain_value(cond.value, false));
			appendStringInfoString(&request, "&fields[]=id==(each)");
		}
		else
		{
			char	   *text = explain_condition(&cond);

			appendStringInfoString(&filter, text);
			appendStringInfo(&request, "&fields[]=%s", text);
		}
	}

	/* a LIMIT known when the scan starts: its values come last */
	if (limit < 0)
	{
		List	   *exprs = copernica_query_limit_exprs(root, baserel,
														best_path->path.pathkeys != NIL);

		Assert(exprs != NIL);
		fdw_exprs = list_concat(fdw_exprs, exprs);
		limit_text = copernica_limit_exprs_text(exprs);
	}

	/*
	 * By CopernicaScanPrivateIndex.  The listing's path has a named
	 * collection's ID looked up already; the ID bounds are the planned ones.
	 */
	private = list_make5(retrieved, conds, makeString(order_field),
						 makeInteger(order_desc), makeInteger(limit));
	private = lappend(private, makeString(filter.data));
	private = lappend(private,
					  makeInteger((int) Min(info->plan.md->total, INT_MAX)));
	private = lappend(private, makeString(request.data));
	private = lappend(private, makeString(pstrdup(info->plan.res->list_path)));
	private = lappend(private, int8_const(info->plan.md->min_id));
	private = lappend(private, int8_const(info->plan.md->max_id));
	private = lappend(private,
					  int8_const((int64) rint(Min(best_path->path.rows, 1e15))));
	private = lappend(private, makeString(key_path));
	private = lappend(private, makeString(limit_text));
	return make_foreignscan(tlist, local_exprs, baserel->relid, fdw_exprs,
							private, NIL, NIL, outer_plan);
}

/* count(*), and nothing else: no FILTER, DISTINCT or ORDER BY inside */
static bool
is_count_star(Node *node)
{
	Aggref	   *agg = (Aggref *) node;

	return IsA(node, Aggref) && agg->aggfnoid == F_COUNT_ && agg->aggstar &&
		agg->aggfilter == NULL && agg->aggdistinct == NIL &&
		agg->aggorder == NIL && agg->agglevelsup == 0;
}

/*
 * SELECT count(*) FROM t WHERE ... with every condition sent exactly is
 * answered by Copernica's total: one request with limit=0&total=true
 * instead of reading every row.  Only count(*), only one table, no GROUP
 * BY; conditions whose exactness is known now: constants, or values known
 * at run time (a parameter, the outer query's row in a correlated
 * subquery) of conditions exact whatever the value (integers).  A
 * subprofile table's profile = value counts that profile's listing, alone:
 * that it honours fields[] is inferred, not documented (as for LIMIT).
 * Everything else aggregates locally.
 */
static void
copernicaGetForeignUpperPaths(PlannerInfo *root, UpperRelationKind stage,
							  RelOptInfo *input_rel, RelOptInfo *output_rel,
							  void *extra)
{
	CopernicaRelInfo *info = input_rel->fdw_private;
	Query	   *parse = root->parse;
	StringInfoData scratch;
	ListCell   *lc;
	Cost		cost = REQUEST_COST * seq_page_cost;

	if (stage != UPPERREL_GROUP_AGG || input_rel->reloptkind != RELOPT_BASEREL ||
		info == NULL || output_rel->fdw_private != NULL ||
		copernica_is_mailing_rel(input_rel))
		return;
	if (parse->groupClause || parse->groupingSets || parse->havingQual ||
		parse->hasWindowFuncs || parse->hasTargetSRFs || parse->rowMarks ||
		bms_membership(root->all_baserels) != BMS_SINGLETON)
		return;
	if (!info->plan.res->has_fields || !info->all_exact ||
		info->local_only != NIL || info->has_id_list ||
		(info->has_profile_key && list_length(info->pushed) > 1) ||
		(info->plan.res->kind != COPERNICA_PROFILES &&
		 info->plan.res->kind != COPERNICA_SUBPROFILES))
		return;
	if (output_rel->reltarget->exprs == NIL)
		return;
	foreach(lc, output_rel->reltarget->exprs)
		if (!is_count_star(lfirst(lc)))
			return;

	initStringInfo(&scratch);
	foreach(lc, info->pushed)
	{
		RestrictInfo *rinfo = lfirst(lc);
		CopernicaPushedCond cond;
		Const	   *value;
		bool		exact = true;

		if (!copernica_classify_clause(input_rel, &info->plan, rinfo->clause, &cond) ||
			!cond.exact || cond.id_list)
			return;
		/* the profile whose listing is counted: any integer, NULL none */
		if (cond.profile_key)
			continue;
		/* a value known at run time only: exact whatever it is, or local */
		if (!IsA(cond.value, Const))
		{
			if (!copernica_condition_exact_for_any_value(&cond))
				return;
			continue;
		}
		value = (Const *) cond.value;
		if (value->constisnull)
			return;
		if (!copernica_append_condition(&scratch, cond.field, cond.op, cond.format,
										value->constvalue, value->consttype, &exact) ||
			!exact)
			return;
	}

	output_rel->fdw_private = input_rel;
	add_path(output_rel, (Path *)
			 copernica_create_foreign_upper_path(root, output_rel,
												 output_rel->reltarget, 1,
												 cost, cost + cpu_tuple_cost,
												 list_make1(makeString("count"))));
}

/*
 * The plan of a count: no relation scanned (scanrelid 0), one row of
 * count(*) values, built from fdw_scan_tlist.  fdw_private holds "count",
 * the conditions (as a scan's, CopernicaCondPrivateIndex), EXPLAIN's texts
 * and the listing's path with EXPLAIN's profile/$id/subprofiles/$c (or "");
 * the table is found at execution through fs_relids, which setrefs keeps
 * right.
 */
static ForeignScan *
count_plan(PlannerInfo *root, RelOptInfo *upperrel, List *tlist, Plan *outer_plan)
{
	RelOptInfo *baserel = upperrel->fdw_private;
	CopernicaRelInfo *info = baserel->fdw_private;
	List	   *conds = NIL;
	List	   *fdw_exprs = NIL;
	StringInfoData filter;
	StringInfoData request;
	char	   *key_path = "";
	ListCell   *lc;

	initStringInfo(&filter);
	initStringInfo(&request);
	foreach(lc, info->pushed)
	{
		RestrictInfo *rinfo = lfirst(lc);
		CopernicaPushedCond cond;

		if (!copernica_classify_clause(baserel, &info->plan, rinfo->clause, &cond))
			elog(ERROR, "a counted condition is no longer pushable");
		conds = lappend(conds, cond_private(&cond, true, false));
		fdw_exprs = lappend(fdw_exprs, cond.value);
		if (cond.profile_key)
		{
			/* the path says it, as a scan's EXPLAIN does */
			key_path = copernica_profile_subprofiles_path(info->plan.res,
														  copernica_explain_value(cond.value,
																				  false));
			continue;
		}
		appendStringInfo(&filter, "%s%s%s%s", filter.len ? ", " : "",
						 cond.field, cond.op,
						 copernica_explain_value(cond.value, false));
		appendStringInfo(&request, "&fields[]=%s%s%s", cond.field, cond.op,
						 copernica_explain_value(cond.value, false));
	}
	return make_foreignscan(tlist, NIL, 0, fdw_exprs,
							list_make5(makeString("count"), conds,
									   makeString(filter.data),
									   makeString(request.data),
									   list_make2(makeString(pstrdup(info->plan.res->list_path)),
												  makeString(key_path))),
							tlist, NIL, outer_plan);
}

Datum
copernica_fdw_handler(PG_FUNCTION_ARGS)
{
	FdwRoutine *routine = makeNode(FdwRoutine);

	routine->GetForeignRelSize = copernicaGetForeignRelSize;
	routine->GetForeignPaths = copernicaGetForeignPaths;
	routine->GetForeignUpperPaths = copernicaGetForeignUpperPaths;
	routine->GetForeignPlan = copernicaGetForeignPlan;
	routine->BeginForeignScan = copernica_dispatch_begin;
	routine->IterateForeignScan = copernica_dispatch_iterate;
	routine->ReScanForeignScan = copernica_dispatch_rescan;
	routine->EndForeignScan = copernica_dispatch_end;
	routine->ExplainForeignScan = copernica_dispatch_explain;
	routine->AnalyzeForeignTable = copernicaAnalyzeForeignTable;

	routine->IsForeignRelUpdatable = copernicaIsForeignRelUpdatable;
	routine->ExecForeignTruncate = copernicaExecForeignTruncate;
	routine->AddForeignUpdateTargets = copernicaAddForeignUpdateTargets;
	routine->PlanForeignModify = copernicaPlanForeignModify;
	routine->BeginForeignModify = copernicaBeginForeignModify;
	routine->BeginForeignInsert = copernicaBeginForeignInsert;
	routine->EndForeignInsert = copernicaEndForeignInsert;
	routine->ExecForeignInsert = copernicaExecForeignInsert;
	routine->ExecForeignBatchInsert = copernicaExecForeignBatchInsert;
	routine->GetForeignModifyBatchSize = copernicaGetForeignModifyBatchSize;
	routine->ExecForeignUpdate = copernicaExecForeignUpdate;
	routine->ExecForeignDelete = copernicaExecForeignDelete;
	routine->EndForeignModify = copernicaEndForeignModify;
	routine->ExplainForeignModify = copernicaExplainForeignModify;
	routine->ImportForeignSchema = copernicaImportForeignSchema;

	PG_RETURN_POINTER(routine);
}
