/*-------------------------------------------------------------------------
 *
 * mailing.c
 *		  Campaign data as tables: emailings, destinations, statistics,
 *		  events, templates and documents of Publisher and Marketing Suite
 *		  (copernica-api-v2.md section 11): planning a scan of one (which
 *		  URL it reads, costs, paths, the plan, EXPLAIN's lines).  The
 *		  resources, their columns and IMPORT are mailing_resources.c; the
 *		  scan itself is mailing_scan.c.
 *
 * A table names one endpoint family with its 'resource' option, e.g.
 * publisher_clicks.  Which URL a scan reads follows from its conditions:
 *	- destination = X, subprofile = X, profile = X or emailing = X (or
 *	  = ANY(array), or a join on it: a parameterized path) read that one's
 *	  listing, e.g. publisher/emailing/X/clicks, in that order of preference;
 *	  the column is filled from the condition where the items lack it;
 *	- id = X (or = ANY(array) of a few) on an emailings table reads the
 *	  emailing's own object, ms/emailing/X, one request per key; an unknown
 *	  ID is no row;
 *	- else the account-wide listing (publisher/clicks), where there is one;
 *	- else every emailing's listing in turn, the emailings read first;
 *	- a resource with neither (a test group's events, a message's content or
 *	  statistics) needs a key condition: an error at plan time without one.
 * Time conditions become the API's parameters: fields[]=timestamp>... on
 * Publisher listings, begintime/endtime on Marketing Suite events,
 * fromdate/todate on emailings, from/to on ms/destinations.  The docs do
 * not say whether those bounds are inclusive, so they are widened by a
 * second (a day for from/to), and every condition is rechecked locally:
 * the API's answer only has to be a superset of ours.
 *
 * Where the API's defaults may hide rows (test mailings, follow-ups), the
 * scan asks for all of them.  No ORDER BY is sent: the docs promise no
 * order for these listings.  LIMIT is, where every condition is the key
 * the scan reads by (mailing_limit).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "access/sysattr.h"
#include "access/table.h"
#include "catalog/pg_operator.h"
#include "catalog/pg_type.h"
#include "foreign/fdwapi.h"
#include "foreign/foreign.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "nodes/pathnodes.h"
#include "optimizer/clauses.h"
#include "optimizer/cost.h"
#include "optimizer/optimizer.h"
#include "optimizer/pathnode.h"
#include "optimizer/paths.h"
#include "optimizer/planmain.h"
#include "optimizer/restrictinfo.h"
#include "parser/parsetree.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"

#include "copernica_fdw.h"
#include "mailing.h"


/* ----------------------------------------------------------------
 * Planning
 * ----------------------------------------------------------------
 */

/* Costs, in units of seq_page_cost. */
#define MAILING_REQUEST_COST	100.0
#define MAILING_ITEM_COST		0.1

/* Rows guessed, without a count from the API (planning asks nothing). */
#define ROWS_ACCOUNT_WIDE		100000.0
#define ROWS_PER_KEY			1000.0
#define ROWS_PER_PROFILE		10.0
#define EMAILINGS_GUESS			100.0

/* Keys in a list known only at run time (key IN (outer.a, ...)), a guess. */
#define KEYS_PER_LIST			2.0

/* requests charged for a scan that lacks the key its resource requires */
#define MAILING_UNKEYED_REQUESTS	1.0e8

typedef struct MailingRelInfo
{
	CopernicaPlanInfo plan;		/* first, as in copernica_fdw.c's RelInfo */
	const MailingResource *mr;
	Bitmapset  *attrs_used;
	bool		key_missing;	/* a key is required and no condition gives it */
	bool		detail_used;	/* one request more per row (mailing_scan.c) */
	bool		single_lacking; /* a column the single object lacks is used */
	bool		every_emailing; /* no key, no account-wide listing */
	double		per_key;		/* rows an emailing's listing holds */
	double		emailings;		/* emailings there are */
} MailingRelInfo;


typedef struct MailingCond
{
	CondRole	role;
	MailingKey	key;
	const char *op;				/* "=", "<", ... */
	Expr	   *value;
} MailingCond;

/* Evaluable once at scan start: no Var of this rel, nothing volatile. */
static bool
scan_start_value(Expr *expr, RelOptInfo *baserel)
{
	if (bms_is_member(baserel->relid, pull_varnos(NULL, (Node *) expr)))
		return false;
	return !contain_volatile_functions((Node *) expr) &&
		!contain_subplans((Node *) expr);
}

/*
 * Can id = X (or = ANY(array)) of an emailings table read each emailing's
 * own object?  Not where the query uses a key the object lacks, nor for a
 * constant list longer than the profiles' ID lookups go: one listing is
 * cheaper.  (A list known only at run time is measured then.)
 */
static bool
single_objects_serve(MailingRelInfo *info, Expr *value, bool is_list)
{
	if (info->single_lacking)
		return false;
	if (is_list && IsA(value, Const) && !((Const *) value)->constisnull)
	{
		Oid			elemtype;
		Datum	   *elems;
		bool	   *nulls;

		if (copernica_array_elements(((Const *) value)->constvalue, &elemtype,
									 &elems, &nulls) > COPERNICA_ID_LOOKUP_MAX)
			return false;
	}
	return true;
}

/*
 * key = a OR key = b OR ...: what key IN (a, b) becomes where a or b holds
 * a Var (an outer row's column: PostgreSQL keeps such IN lists apart from
 * its arrays), as key = ANY(ARRAY[a, b]), built here: the same column of
 * this table each time, the built-in =, values of one type known at scan
 * start.  NULL when the clause is anything else.
 */
static ScalarArrayOpExpr *
or_as_any(RelOptInfo *baserel, BoolExpr *or)
{
	ScalarArrayOpExpr *saop;
	ArrayExpr  *array;
	Var		   *var = NULL;
	Oid			opno = InvalidOid;
	Oid			elemtype = InvalidOid;
	Oid			collid = InvalidOid;
	List	   *values = NIL;
	ListCell   *lc;

	if (or->boolop != OR_EXPR)
		return NULL;
	foreach(lc, or->args)
	{
		OpExpr	   *o = lfirst(lc);
		Expr	   *left,
				   *right;
		Oid			op;

		if (!IsA(o, OpExpr) || list_length(o->args) != 2)
			return NULL;
		left = linitial(o->args);
		right = lsecond(o->args);
		op = o->opno;
		if (IsA(right, Var) && ((Var *) right)->varno == baserel->relid &&
			!(IsA(left, Var) && ((Var *) left)->varno == baserel->relid))
		{
			/* value = key: key = value with the commutator */
			Expr	   *swap = left;

			left = right;
			right = swap;
			op = get_commutator(op);
		}
		if (!IsA(left, Var) || ((Var *) left)->varno != baserel->relid ||
			!OidIsValid(op) || (var != NULL && !equal(left, var)) ||
			(OidIsValid(opno) && op != opno) ||
			(OidIsValid(elemtype) && exprType((Node *) right) != elemtype))
			return NULL;
		var = (Var *) left;
		opno = op;
		collid = o->inputcollid;
		elemtype = exprType((Node *) right);
		values = lappend(values, right);
	}
	if (var == NULL || !OidIsValid(get_array_type(elemtype)))
		return NULL;
	array = makeNode(ArrayExpr);
	array->array_typeid = get_array_type(elemtype);
	array->array_collid = exprCollation(linitial(values));
	array->element_typeid = elemtype;
	array->elements = values;
	array->multidims = false;
	array->location = -1;
	saop = makeNode(ScalarArrayOpExpr);
	saop->opno = opno;
	saop->opfuncid = get_opcode(opno);
	saop->useOr = true;
	saop->inputcollid = collid;
	saop->args = list_make2(var, array);
	saop->location = -1;
	return saop;
}

static bool
classify(RelOptInfo *baserel, MailingRelInfo *info, Expr *clause, MailingCond *cond)
{
	Expr	   *left,
			   *right;
	Var		   *var;
	Expr	   *value;
	const char *op;
	Oid			opno;
	MailingColumn col;
	Form_pg_attribute attr;
	bool		is_list = false;
	ScalarArrayOpExpr *any = NULL;

	/* the flag column alone (what "= true" becomes), or IS TRUE */
	if (IsA(clause, Var) ||
		(IsA(clause, BooleanTest) && ((BooleanTest *) clause)->booltesttype == IS_TRUE))
	{
		var = IsA(clause, Var) ? (Var *) clause : (Var *) ((BooleanTest *) clause)->arg;
		if (info->mr->flag_column == NULL || !IsA(var, Var) ||
			var->varno != baserel->relid || var->varattno <= 0 || var->varlevelsup != 0)
			return false;
		attr = TupleDescAttr(info->plan.tupdesc, var->varattno - 1);
		if (attr->atttypid != BOOLOID ||
			!copernica_mailing_column(info->mr, info->plan.relid, attr, &col) || !col.is_flag)
			return false;
		cond->role = COND_FLAG;
		cond->key = KEY_NONE;
		cond->op = "=";
		cond->value = (Expr *) makeBoolConst(true, false);
		return true;
	}

	if (IsA(clause, OpExpr) && list_length(((OpExpr *) clause)->args) == 2)
	{
		OpExpr	   *o = (OpExpr *) clause;

		opno = o->opno;
		left = linitial(o->args);
		right = lsecond(o->args);
		op = get_opname(opno);
		if (op == NULL)
			return false;
		if (IsA(left, Var) && ((Var *) left)->varno == baserel->relid)
		{
			var = (Var *) left;
			value = right;
		}
		else if (IsA(right, Var) && ((Var *) right)->varno == baserel->relid)
		{
			var = (Var *) right;
			value = left;
			op = copernica_commuted_operator(op);
		}
		else
			return false;
	}
	else if (IsA(clause, ScalarArrayOpExpr) ||
			 (IsA(clause, BoolExpr) &&
			  (any = or_as_any(baserel, (BoolExpr *) clause)) != NULL))
	{
		ScalarArrayOpExpr *s = any ? any : (ScalarArrayOpExpr *) clause;

		opno = s->opno;
		op = get_opname(opno);
		if (!s->useOr || op == NULL || strcmp(op, "=") != 0 ||
			!IsA(linitial(s->args), Var) ||
			((Var *) linitial(s->args))->varno != baserel->relid)
			return false;
		var = linitial(s->args);
		value = lsecond(s->args);
		is_list = true;
	}
	else
		return false;

	/* only the built-in operators mean what their names say */
	if (opno >= FirstNormalObjectId || var->varattno <= 0 || var->varlevelsup != 0)
		return false;
	if (!scan_start_value(value, baserel))
		return false;
	attr = TupleDescAttr(info->plan.tupdesc, var->varattno - 1);
	if (!copernica_mailing_column(info->mr, info->plan.relid, attr, &col))
		return false;
	/* an emailing's own object, where it serves: else the id stays local */
	if (col.role == KEY_EMAILING && info->mr->id_is_key &&
		!single_objects_serve(info, value, is_list))
		col.role = KEY_NONE;

	cond->op = op;
	cond->value = value;
	cond->key = col.role;
	if (col.is_flag && !is_list && strcmp(op, "=") == 0 && attr->atttypid == BOOLOID &&
		exprType((Node *) value) == BOOLOID)
	{
		cond->role = COND_FLAG;
		return true;
	}
	if (col.role != KEY_NONE && info->mr->by_path[col.role] != NULL &&
		strcmp(op, "=") == 0 &&
		(copernica_is_integer_type(attr->atttypid) || attr->atttypid == TEXTOID))
	{
		Oid			vt = exprType((Node *) value);

		if (is_list)
			vt = get_element_type(vt);
		if (vt != attr->atttypid && !(copernica_is_integer_type(vt) && copernica_is_integer_type(attr->atttypid)))
			return false;
		cond->role = is_list ? COND_KEY_LIST : COND_KEY;
		return true;
	}
	/* a body's type: which of its URLs to read */
	if (col.is_variant && strcmp(op, "=") == 0 && attr->atttypid == TEXTOID)
	{
		Oid			vt = exprType((Node *) value);

		if ((is_list ? get_element_type(vt) : vt) != TEXTOID)
			return false;
		cond->role = is_list ? COND_VARIANT_LIST : COND_VARIANT;
		return true;
	}
	if (is_list)
		return false;
	if (strcmp(op, "=") != 0 && strcmp(op, "<") != 0 && strcmp(op, ">") != 0 &&
		strcmp(op, "<=") != 0 && strcmp(op, ">=") != 0)
		return false;
	/* timestamptz too: mailing_scan.c converts it to Copernica's zone */
	if (col.is_time && info->mr->time_style != TIME_NONE &&
		(attr->atttypid == TIMESTAMPOID || attr->atttypid == TIMESTAMPTZOID) &&
		exprType((Node *) value) == attr->atttypid)
	{
		cond->role = COND_TIME;
		return true;
	}
	if (col.is_id && info->mr->id_filter && copernica_is_integer_type(attr->atttypid) &&
		copernica_is_integer_type(exprType((Node *) value)))
	{
		cond->role = COND_ID;
		return true;
	}
	return false;
}

bool
copernica_is_mailing_rel(RelOptInfo *baserel)
{
	CopernicaPlanInfo *plan = baserel->fdw_private;

	return plan && plan->res && plan->res->kind == COPERNICA_MAILING;
}

/* A column of a mailing table that matches none of its items' keys. */
static void
check_mailing_column(Form_pg_attribute attr, void *arg)
{
	MailingRelInfo *info = arg;
	MailingColumn col;

	if (!copernica_mailing_column(info->mr, info->plan.relid, attr, &col))
		copernica_mailing_unknown_column(info->mr, NameStr(attr->attname),
										 get_rel_name(info->plan.relid));
	info->detail_used |= col.is_detail;
	info->single_lacking |= copernica_mailing_single_lacks(info->mr, col.key);
}

/*
 * Rows a key's listing is guessed to hold: one for an object; for an
 * emailing's, what the scans saw (info->per_key) where they saw it.
 */
static double
rows_per_key(MailingRelInfo *info, MailingKey key)
{
	const MailingResource *mr = info->mr;

	if (!mr->envelope || (mr->id_is_key && key == KEY_EMAILING))
		return 1;
	if (key == KEY_DESTINATION || key == KEY_SUBPROFILE || key == KEY_PROFILE)
		return ROWS_PER_PROFILE;
	if (key == KEY_EMAILING && info->per_key >= 0)
		return info->per_key;
	return ROWS_PER_KEY;
}

void
copernica_mailing_rel_size(PlannerInfo *root, RelOptInfo *baserel,
						   Oid foreigntableid, CopernicaOptions *opts,
						   CopernicaResource *res)
{
	MailingRelInfo *info = palloc0(sizeof(MailingRelInfo));
	Relation	rel;
	ListCell   *lc;
	int			x;
	double		rows;
	double		known_total;
	bool		keyed[NUM_KEYS] = {false};
	Oid			serverid;
	Oid			userid;

	baserel->fdw_private = info;
	info->plan.relid = foreigntableid;
	info->plan.opts = opts;
	info->plan.res = res;
	info->mr = copernica_mailing_find(opts->resource);
	rel = table_open(foreigntableid, NoLock);
	info->plan.tupdesc = CreateTupleDescCopy(RelationGetDescr(rel));
	table_close(rel, NoLock);

	info->attrs_used = copernica_used_columns(baserel, info->plan.tupdesc,
											  check_mailing_column, info);
	/* the whole row uses every column */
	if (bms_is_member(0 - FirstLowInvalidHeapAttributeNumber, info->attrs_used))
		for (x = 0; x < info->plan.tupdesc->natts; x++)
			if (!TupleDescAttr(info->plan.tupdesc, x)->attisdropped)
				check_mailing_column(TupleDescAttr(info->plan.tupdesc, x), info);

	foreach(lc, baserel->baserestrictinfo)
	{
		MailingCond cond;

		if (classify(baserel, info, ((RestrictInfo *) lfirst(lc))->clause, &cond) &&
			(cond.role == COND_KEY || cond.role == COND_KEY_LIST))
			keyed[cond.key] = true;
	}
	/*
	 * Planning asks Copernica nothing: what earlier scans saw of the sizes
	 * (mailing_size.c), else guesses.
	 */
	serverid = GetForeignTable(foreigntableid)->serverid;
	userid = OidIsValid(baserel->userid) ? baserel->userid : GetUserId();
	known_total = info->mr->all_path ?
		copernica_mailing_size_get(serverid, userid,
								   copernica_mailing_size_key(info->mr, NUM_KEYS)) : -1;
	info->per_key = info->mr->envelope && info->mr->by_path[KEY_EMAILING] ?
		copernica_mailing_size_get(serverid, userid,
								   copernica_mailing_size_key(info->mr, KEY_EMAILING)) : -1;
	info->emailings = info->mr->emailings ?
		copernica_mailing_size_get(serverid, userid,
								   copernica_mailing_size_key(copernica_mailing_find(info->mr->emailings),
															  NUM_KEYS)) : -1;
	if (info->emailings < 0)
		info->emailings = EMAILINGS_GUESS;

	if (keyed[KEY_DESTINATION] || keyed[KEY_SUBPROFILE] || keyed[KEY_PROFILE])
		rows = ROWS_PER_PROFILE;
	else if (keyed[KEY_EMAILING] || keyed[KEY_TESTGROUP] || keyed[KEY_TEMPLATE])
		rows = rows_per_key(info, keyed[KEY_EMAILING] ? KEY_EMAILING : KEY_TESTGROUP);
	else if (info->mr->all_path)
		rows = known_total >= 0 ? known_total : ROWS_ACCOUNT_WIDE;
	else
	{
		info->every_emailing = true;
		rows = info->emailings * rows_per_key(info, KEY_EMAILING);
	}
	info->key_missing = info->mr->all_path == NULL && info->mr->emailings == NULL;
	for (x = 0; x < NUM_KEYS; x++)
		if (keyed[x])
			info->key_missing = false;
	if (known_total < 0 &&
		(strcmp(info->mr->name + strlen(info->mr->name) - 9, "emailings") == 0 ||
		 strcmp(info->mr->name + strlen(info->mr->name) - 9, "templates") == 0 ||
		 strcmp(info->mr->name + strlen(info->mr->name) - 9, "documents") == 0))
		rows = Min(rows, EMAILINGS_GUESS);
	baserel->tuples = rows;
	baserel->rows = clamp_row_est(rows * clauselist_selectivity(root,
																baserel->baserestrictinfo,
																baserel->relid,
																JOIN_INNER, NULL));
}

static Cost
mailing_cost(MailingRelInfo *info, double fetched, double requests)
{
	return requests * MAILING_REQUEST_COST * seq_page_cost +
		fetched * (MAILING_ITEM_COST + cpu_tuple_cost) +
		ceil(fetched / info->plan.opts->page_size) * MAILING_REQUEST_COST * seq_page_cost;
}

/* An equivalence member that is one of this table's key columns. */
static bool
ec_member_is_key(PlannerInfo *root, RelOptInfo *rel, EquivalenceClass *ec,
				 EquivalenceMember *em, void *arg)
{
	MailingRelInfo *info = arg;
	Form_pg_attribute attr = copernica_ec_member_column(rel, em, info->plan.tupdesc);
	MailingColumn col;

	if (attr == NULL ||
		!copernica_mailing_column(info->mr, info->plan.relid, attr, &col))
		return false;
	return col.role != KEY_NONE && info->mr->by_path[col.role] != NULL;
}

/*
 * A join on a key column: read the one item's listing per outer row.
 */
static void
add_key_path(PlannerInfo *root, RelOptInfo *baserel, RestrictInfo *rinfo,
			 Relids outer, void *arg)
{
	MailingRelInfo *info = arg;
	MailingCond cond;
	ParamPathInfo *ppi;
	double		fetched;
	double		keys = 1;
	bool		bare;

	if (!classify(baserel, info, rinfo->clause, &cond) ||
		(cond.role != COND_KEY && cond.role != COND_KEY_LIST))
		return;
	/* key IN (outer.a, outer.b): each key's listing in turn */
	if (cond.role == COND_KEY_LIST)
		keys = IsA(cond.value, ArrayExpr) ?
			list_length(((ArrayExpr *) cond.value)->elements) : KEYS_PER_LIST;
	ppi = get_baserel_parampathinfo(root, baserel, outer);
	/* an emailing's own object: its one request, no listing's pages */
	bare = cond.key == KEY_EMAILING && info->mr->id_is_key;
	fetched = keys * (cond.key == KEY_EMAILING ? rows_per_key(info, KEY_EMAILING) :
					  ROWS_PER_PROFILE);
	add_path(baserel, (Path *)
			 copernica_create_foreignscan_path(root, baserel, NULL, Min(ppi->ppi_rows, fetched),
											   MAILING_REQUEST_COST * seq_page_cost,
											   mailing_cost(info, fetched,
															bare ? keys - 1 :
															keys + (info->detail_used ? fetched : 0)),
											   NIL, outer, NULL, NIL));
}

static int	mailing_limit(PlannerInfo *root, RelOptInfo *baserel, MailingRelInfo *info);

void
copernica_mailing_paths(PlannerInfo *root, RelOptInfo *baserel)
{
	MailingRelInfo *info = baserel->fdw_private;
	double		requests = 1;
	double		rows = baserel->rows;
	double		fetched = baserel->tuples;
	int			limit = mailing_limit(root, baserel, info);

	/* without a key condition, every emailing costs a request */
	if (info->every_emailing)
		requests = 1 + info->emailings;

	/*
	 * Without the key it requires the scan cannot run (an error at plan
	 * time): priced out of reach, so that a join on the key wins.
	 */
	if (info->key_missing)
		requests = MAILING_UNKEYED_REQUESTS;
	else if (limit > 0)
	{
		rows = Min(rows, limit);
		fetched = Min(fetched, limit);
	}
	if (info->detail_used)
		requests += fetched;
	add_path(baserel, (Path *)
			 copernica_create_foreignscan_path(root, baserel, NULL, rows,
									 MAILING_REQUEST_COST * seq_page_cost,
									 mailing_cost(info, fetched, requests),
									 NIL, NULL, NULL,
									 list_make1(makeInteger(limit))));
	copernica_param_clauses(root, baserel, ec_member_is_key, add_key_path, info);
}

/*
 * The key a scan reads by: the most selective one some condition gives.
 * KEY_NONE: the account-wide listing, or every emailing's.
 */
static MailingKey
choose_key(List *conds)
{
	MailingKey	best = KEY_NONE;
	ListCell   *lc;

	foreach(lc, conds)
	{
		MailingCond *c = lfirst(lc);

		if ((c->role == COND_KEY || c->role == COND_KEY_LIST) &&
			(best == KEY_NONE || c->key < best))
			best = c->key;
	}
	return best;
}

/*
 * With a condition on the flag column, prefer a key whose listing takes
 * the flag's parameter (ms_destinations by emailing rather than by
 * profile), leaving the other key's condition local.  Without one, the
 * key stays: the column is then looked up per emailing (mailing_scan.c).
 */
static MailingKey
flag_key(const MailingResource *mr, List *conds, MailingKey key)
{
	MailingKey	best = KEY_NONE;
	bool		flagged = false;
	ListCell   *lc;

	foreach(lc, conds)
		flagged |= ((MailingCond *) lfirst(lc))->role == COND_FLAG;
	if (!flagged || key == KEY_NONE || (mr->flag_keys & MAILING_FLAG_ON(key)))
		return key;
	foreach(lc, conds)
	{
		MailingCond *c = lfirst(lc);

		if ((c->role == COND_KEY || c->role == COND_KEY_LIST) &&
			(mr->flag_keys & MAILING_FLAG_ON(c->key)) &&
			(best == KEY_NONE || c->key < best))
			best = c->key;
	}
	return best == KEY_NONE ? key : best;
}

/*
 * A resource read only per key (a test group's events, a destination's
 * statistics) without a condition that gives one.
 */
static void
missing_key_error(const MailingResource *mr, const char *relname)
{
	StringInfoData keys;
	StringInfoData paths;
	int			k;

	initStringInfo(&keys);
	initStringInfo(&paths);
	for (k = 0; k < NUM_KEYS; k++)
		if (mr->by_path[k])
		{
			appendStringInfo(&keys, "%s%s", keys.len ? " or " : "", mailing_key_columns[k]);
			appendStringInfo(&paths, "%s%s%s%s%s", paths.len ? ", " : "",
							 psprintf(mr->by_path[k], psprintf("{%s}", mailing_key_columns[k])),
							 mr->variant_column ? "/{" : "",
							 mr->variant_column ? mr->variant_column : "",
							 mr->variant_column ? "}" : "");
		}
	ereport(ERROR,
			(errcode(ERRCODE_FDW_UNABLE_TO_CREATE_EXECUTION),
			 errmsg("foreign table \"%s\" needs a condition on %s", relname, keys.data),
			 errdetail("Copernica's %s is read one %s at a time (GET %s); it has no listing of all of them.",
					   mr->name, keys.data, paths.data),
			 errhint("Add WHERE %s = value or = ANY(array), or join on that column.",
					 keys.data)));
}

/*
 * LIMIT goes with the requests only where every condition is the key the
 * scan reads by: the listings' items are then exactly the rows, and no
 * local recheck can drop one below the limit.  Time, id and other
 * conditions may be answered with a superset, so with them it stays local.
 */
static int
mailing_limit(PlannerInfo *root, RelOptInfo *baserel, MailingRelInfo *info)
{
	List	   *conds = NIL;
	ListCell   *lc;
	MailingKey	key;

	if (info->key_missing || !info->mr->envelope)
		return 0;
	foreach(lc, baserel->baserestrictinfo)
	{
		MailingCond *cond = palloc(sizeof(MailingCond));

		if (!classify(baserel, info, ((RestrictInfo *) lfirst(lc))->clause, cond) ||
			(cond->role != COND_KEY && cond->role != COND_KEY_LIST))
			return 0;
		conds = lappend(conds, cond);
	}
	key = choose_key(conds);
	foreach(lc, conds)
		if (((MailingCond *) lfirst(lc))->key != key)
			return 0;
	/* a LIMIT known when the scan starts: -1 */
	if (copernica_query_limit_exprs(root, baserel, false) != NIL)
		return -1;
	return copernica_query_limit(root, baserel, false);
}

/* fdw_private of a mailing scan */
#define MAILING_PLAN_TAG	"copernica mailing scan"

ForeignScan *
copernica_mailing_plan(PlannerInfo *root, RelOptInfo *baserel, Oid foreigntableid,
					   ForeignPath *best_path, List *tlist, List *scan_clauses,
					   Plan *outer_plan)
{
	/* the unparameterized path's LIMIT, 0, or -1 for one known at start */
	int			limit = best_path->fdw_private != NIL ?
		intVal(linitial(best_path->fdw_private)) : 0;
	MailingRelInfo *info = baserel->fdw_private;
	TupleDesc	tupdesc = info->plan.tupdesc;
	List	   *retrieved = NIL;
	List	   *conds = NIL;
	List	   *plan_conds = NIL;
	List	   *flags = NIL;
	List	   *fdw_exprs = NIL;
	List	   *local_exprs = NIL;
	StringInfoData filter;
	bool		whole_row;
	bool		has_lower = false,
				has_upper = false;
	MailingKey	key;
	const char *path;
	char	   *limit_text = "";
	ListCell   *lc;
	int			i;

	whole_row = bms_is_member(0 - FirstLowInvalidHeapAttributeNumber, info->attrs_used);
	for (i = 1; i <= tupdesc->natts; i++)
	{
		if (TupleDescAttr(tupdesc, i - 1)->attisdropped)
			continue;
		if (whole_row ||
			bms_is_member(i - FirstLowInvalidHeapAttributeNumber, info->attrs_used))
			retrieved = lappend_int(retrieved, i);
	}

	/* every clause is rechecked: the API's answer may be a superset */
	foreach(lc, scan_clauses)
	{
		RestrictInfo *rinfo = lfirst(lc);
		MailingCond *cond = palloc(sizeof(MailingCond));

		local_exprs = lappend(local_exprs, rinfo->clause);
		if (classify(baserel, info, rinfo->clause, cond))
			conds = lappend(conds, cond);
	}
	key = choose_key(conds);
	key = flag_key(info->mr, conds, key);

	initStringInfo(&filter);
	foreach(lc, conds)
	{
		MailingCond *c = lfirst(lc);

		/* other keys' conditions stay local */
		if ((c->role == COND_KEY || c->role == COND_KEY_LIST) && c->key != key)
			continue;
		/* the flag's parameter waits for the listing to be chosen */
		if (c->role == COND_FLAG)
		{
			flags = lappend(flags, c);
			continue;
		}
		if (c->role == COND_TIME)
		{
			has_lower |= strcmp(c->op, "<") != 0 && strcmp(c->op, "<=") != 0;
			has_upper |= strcmp(c->op, ">") != 0 && strcmp(c->op, ">=") != 0;
		}
		/* a value known only at run time: how EXPLAIN's request shows it */
		plan_conds = lappend(plan_conds, list_make4(makeInteger(c->role),
													makeInteger(c->key),
													makeString(pstrdup(c->op)),
													makeString(IsA(c->value, Const) ? "" :
															   copernica_explain_value(c->value, true))));
		fdw_exprs = lappend(fdw_exprs, c->value);
		appendStringInfo(&filter, "%s%s %s %s%s", filter.len ? ", " : "",
						 c->role == COND_KEY || c->role == COND_KEY_LIST ?
						 copernica_mailing_key_name(info->mr, c->key) :
						 c->role == COND_TIME ? info->mr->time_column :
						 c->role == COND_VARIANT || c->role == COND_VARIANT_LIST ?
						 info->mr->variant_column : "id",
						 c->op,
						 c->role == COND_KEY_LIST || c->role == COND_VARIANT_LIST ? "ANY(" : "",
						 copernica_explain_value(c->value, true));
		if (c->role == COND_KEY_LIST || c->role == COND_VARIANT_LIST)
			appendStringInfoChar(&filter, ')');
	}

	if (key == KEY_NONE && info->mr->all_path == NULL && info->mr->emailings == NULL)
		missing_key_error(info->mr, get_rel_name(foreigntableid));
	if (key != KEY_NONE)
		path = psprintf(info->mr->by_path[key],
						psprintf("{%s}", copernica_mailing_key_name(info->mr, key)));
	else if (info->mr->all_path &&
			 (info->mr->all_time_style != TIME_FROMTO || (has_lower && has_upper)))
	{
		path = info->mr->all_path;
		key = NUM_KEYS;			/* account-wide */
	}
	else
		path = psprintf(info->mr->by_path[KEY_EMAILING], "{each emailing}");
	if (info->mr->variant_column)
		path = psprintf("%s/{%s}", path, info->mr->variant_column);

	/*
	 * The flag's parameter goes only to the listings the docs give it; a
	 * listing whose items lack the column has it filled from the request
	 * (mailing_scan.c), as a key column is from the URL.
	 */
	foreach(lc, flags)
	{
		MailingCond *c = lfirst(lc);

		if (!(info->mr->flag_keys & MAILING_FLAG_ON(key == KEY_NONE ? KEY_EMAILING : key)))
			break;
		plan_conds = lappend(plan_conds, list_make3(makeInteger(c->role),
													makeInteger(c->key),
													makeString(pstrdup(c->op))));
		fdw_exprs = lappend(fdw_exprs, c->value);
		appendStringInfo(&filter, "%s%s = %s", filter.len ? ", " : "",
						 info->mr->flag_column,
						 !IsA(c->value, Const) ? copernica_explain_value(c->value, true) :
						 ((Const *) c->value)->constisnull ? "NULL" :
						 DatumGetBool(((Const *) c->value)->constvalue) ? "true" : "false");
	}

	/* its count and offset come after the conditions' values */
	if (limit < 0)
	{
		List	   *exprs = copernica_query_limit_exprs(root, baserel, false);

		Assert(exprs != NIL);
		fdw_exprs = list_concat(fdw_exprs, exprs);
		limit_text = copernica_limit_exprs_text(exprs);
	}

	return make_foreignscan(tlist, local_exprs, baserel->relid, fdw_exprs,
							lappend(list_make5(makeString(MAILING_PLAN_TAG), retrieved,
											   plan_conds, makeInteger(key),
											   list_make3(makeString(filter.data),
														  makeString((char *) path),
														  makeString(limit_text))),
									makeInteger(limit)),
							NIL, NIL, outer_plan);
}

bool
copernica_is_mailing_plan(ForeignScan *plan)
{
	return plan->fdw_private != NIL && linitial(plan->fdw_private) != NULL &&
		IsA(linitial(plan->fdw_private), String) &&
		strcmp(strVal(linitial(plan->fdw_private)), MAILING_PLAN_TAG) == 0;
}
