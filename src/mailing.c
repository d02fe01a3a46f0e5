/*-------------------------------------------------------------------------
 *
 * mailing.c
 *		  Campaign data as tables: emailings, destinations, statistics,
 *		  events, templates and documents of Publisher and Marketing Suite
 *		  (copernica-api-v2.md section 11), planned and read.
 *
 * A table names one endpoint family with its 'resource' option, e.g.
 * publisher_clicks.  Which URL a scan reads follows from its conditions:
 *	- destination = X, subprofile = X, profile = X or emailing = X (or
 *	  = ANY(array), or a join on it: a parameterized path) read that one's
 *	  listing, e.g. publisher/emailing/X/clicks, in that order of preference;
 *	  the column is filled from the condition where the items lack it;
 *	- else the account-wide listing (publisher/clicks), where there is one;
 *	- else every emailing's listing in turn, the emailings read first.
 * Time conditions become the API's parameters: fields[]=timestamp>... on
 * Publisher listings, begintime/endtime on Marketing Suite events,
 * fromdate/todate on emailings, from/to on ms/destinations.  The docs do
 * not say whether those bounds are inclusive, so they are widened by a
 * second (a day for from/to), and every condition is rechecked locally:
 * the API's answer only has to be a superset of ours.
 *
 * Where the API's defaults may hide rows (test mailings, follow-ups), the
 * scan asks for all of them.  No ORDER BY or LIMIT is sent: the docs promise
 * no order for these listings.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "access/sysattr.h"
#include "access/table.h"
#include "catalog/pg_operator.h"
#include "catalog/pg_type.h"
#include "commands/explain.h"
#include "executor/executor.h"
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
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/timestamp.h"

#include "copernica_fdw.h"

/* The key columns that pick a per-item URL, in order of preference. */
typedef enum MailingKey
{
	KEY_DESTINATION,
	KEY_SUBPROFILE,
	KEY_PROFILE,
	KEY_EMAILING,
	NUM_KEYS,
	KEY_NONE = -1
} MailingKey;

static const char *const key_columns[NUM_KEYS] = {
	"destination", "subprofile", "profile", "emailing"
};

/* How a listing takes a time range. */
typedef enum TimeStyle
{
	TIME_NONE,
	TIME_FIELDS,				/* fields[]=timestamp>... (Publisher) */
	TIME_BEGINEND,				/* begintime=...&endtime=... (MS events) */
	TIME_FROMDATE,				/* fromdate=...&todate=... (emailings) */
	TIME_FROMTO					/* from=YYYY-MM-DD&to=... (ms/destinations) */
} TimeStyle;

/* A column the docs name: for IMPORT, and to check a table's columns. */
typedef struct MailingColumnDef
{
	const char *name;
	const char *type;
	const char *key;			/* the item's key, "a.b" for a nested one;
								 * NULL: the name */
} MailingColumnDef;

typedef struct MailingResource
{
	const char *name;			/* the 'resource' option */
	const char *all_path;		/* account-wide listing, or NULL */
	const char *by_path[NUM_KEYS];	/* "publisher/emailing/%s/clicks" */
	const char *params;			/* always sent */
	TimeStyle	time_style;		/* of the per-key and account-wide listings */
	TimeStyle	all_time_style; /* of the account-wide one, if different */
	const char *time_column;
	bool		id_filter;		/* fields[]=id... understood */
	bool		envelope;		/* false: one bare object per request */
	const char *emailings;		/* the resource whose IDs to go through */
	const MailingColumnDef *columns;
} MailingResource;

#define EVENT_LINKS_PUB \
	{"emailing", "bigint", NULL}, {"destination", "bigint", NULL}, \
	{"profile", "bigint", NULL}, {"subprofile", "bigint", NULL}
#define EVENT_LINKS_MS \
	{"emailing", "bigint", "mailing"}, {"destination", "bigint", NULL}, \
	{"profile", "bigint", NULL}, {"subprofile", "bigint", NULL}

static const MailingColumnDef pub_emailing_cols[] = {
	{"id", "bigint", NULL}, {"timestamp", "timestamp", NULL},
	{"subject", "text", NULL}, {"description", "text", NULL}, {"type", "text", NULL},
	{"from_address", "jsonb", NULL}, {"destinations", "integer", NULL},
	{"target", "jsonb", NULL}, {"document", "bigint", NULL}, {"template", "bigint", NULL},
	{"contenttype", "text", NULL}, {"testgroups", "integer", NULL},
	{"finalgroup", "bigint", NULL},
	{"clicks", "integer", NULL}, {"impressions", "integer", NULL},
	{"errors", "integer", NULL}, {"unsubscribes", "integer", NULL},
	{"abuses", "integer", NULL},
	{"profile", "bigint", NULL}, {"subprofile", "bigint", NULL}, {NULL}
};
static const MailingColumnDef ms_emailing_cols[] = {
	{"id", "bigint", NULL}, {"timestamp", "timestamp", NULL},
	{"subject", "text", NULL}, {"type", "text", NULL},
	{"from_address", "jsonb", NULL}, {"destinations", "integer", NULL},
	{"target", "jsonb", NULL}, {"template", "bigint", NULL},
	{"profile", "bigint", NULL}, {"subprofile", "bigint", NULL}, {NULL}
};
static const MailingColumnDef pub_destination_cols[] = {
	{"id", "text", NULL}, {"internal", "bigint", NULL},
	{"timestampsent", "timestamp", NULL}, {"emailing", "bigint", "mailing"},
	{"profile", "bigint", NULL}, {"subprofile", "bigint", NULL}, {NULL}
};
static const MailingColumnDef ms_destination_cols[] = {
	{"id", "bigint", NULL}, {"message_id", "text", "messageID"},
	{"timestampsent", "timestamp", NULL}, {"emailing", "bigint", "mailing"},
	{"profile", "bigint", NULL}, {"subprofile", "bigint", NULL},
	{"unsubscribed", "boolean", NULL}, {NULL}
};
static const MailingColumnDef pub_statistics_cols[] = {
	{"emailing", "bigint", NULL},
	{"abuses_total", "integer", "abuses.total"}, {"abuses_unique", "integer", "abuses.unique"},
	{"clicks_total", "integer", "clicks.total"}, {"clicks_unique", "integer", "clicks.unique"},
	{"errors_total", "integer", "errors.total"}, {"errors_unique", "integer", "errors.unique"},
	{"impressions_total", "integer", "impressions.total"},
	{"impressions_unique", "integer", "impressions.unique"},
	{"unsubscribes_total", "integer", "unsubscribes.total"},
	{"unsubscribes_unique", "integer", "unsubscribes.unique"},
	{"unknown_total", "integer", "unknown.total"}, {NULL}
};
static const MailingColumnDef ms_statistics_cols[] = {
	{"emailing", "bigint", NULL}, {"destinations", "integer", NULL},
	{"abuses_total", "integer", "abuses.total"}, {"abuses_unique", "integer", "abuses.unique"},
	{"clicks_total", "integer", "clicks.total"}, {"clicks_unique", "integer", "clicks.unique"},
	{"deliveries_total", "integer", "deliveries.total"},
	{"errors_total", "integer", "errors.total"}, {"errors_unique", "integer", "errors.unique"},
	{"impressions_total", "integer", "impressions.total"},
	{"impressions_unique", "integer", "impressions.unique"},
	{"retries_total", "integer", "retries.total"}, {"retries_unique", "integer", "retries.unique"},
	{"unsubscribes_total", "integer", "unsubscribes.total"},
	{"unsubscribes_unique", "integer", "unsubscribes.unique"}, {NULL}
};
static const MailingColumnDef pub_deliveries_cols[] = {
	{"id", "bigint", NULL}, {"timestamp", "timestamp", NULL},
	{"attempt", "integer", NULL}, {"smtp_response", "text", "smtp-response"},
	EVENT_LINKS_PUB, {NULL}
};
static const MailingColumnDef pub_impressions_cols[] = {
	{"id", "bigint", NULL}, {"timestamp", "timestamp", NULL},
	{"ip", "text", NULL}, {"useragent", "text", NULL}, {"device", "text", NULL},
	{"referer", "text", NULL}, EVENT_LINKS_PUB, {NULL}
};
static const MailingColumnDef pub_clicks_cols[] = {
	{"id", "bigint", NULL}, {"timestamp", "timestamp", NULL},
	{"link_id", "bigint", NULL}, {"link", "text", NULL}, {"link_title", "text", NULL},
	{"ip", "text", NULL}, {"useragent", "text", NULL}, {"referer", "text", NULL},
	EVENT_LINKS_PUB, {NULL}
};
static const MailingColumnDef pub_errors_cols[] = {
	{"id", "bigint", NULL}, {"timestamp", "timestamp", NULL},
	{"errorcode", "text", NULL}, {"description", "text", NULL},
	{"errortype", "text", NULL}, {"errortypedescription", "text", NULL},
	EVENT_LINKS_PUB, {NULL}
};
static const MailingColumnDef pub_unsubscribes_cols[] = {
	{"id", "bigint", NULL}, {"timestamp", "timestamp", NULL},
	{"source", "text", NULL}, {"success", "boolean", NULL}, EVENT_LINKS_PUB, {NULL}
};
static const MailingColumnDef pub_abuses_cols[] = {
	{"id", "bigint", NULL}, {"timestamp", "timestamp", NULL},
	{"recognized_as", "text", NULL}, {"feedback_type", "text", NULL},
	{"arf_version", "text", NULL}, {"details", "text", NULL}, EVENT_LINKS_PUB, {NULL}
};
static const MailingColumnDef ms_deliveries_cols[] = {
	{"id", "bigint", NULL}, {"timestamp", "timestamp", NULL},
	{"attempts", "integer", NULL}, EVENT_LINKS_MS, {NULL}
};
static const MailingColumnDef ms_impressions_cols[] = {
	{"id", "bigint", NULL}, {"timestamp", "timestamp", NULL},
	{"ip", "text", NULL}, {"useragent", "text", NULL}, {"device", "text", NULL},
	EVENT_LINKS_MS, {NULL}
};
static const MailingColumnDef ms_clicks_cols[] = {
	{"id", "bigint", NULL}, {"timestamp", "timestamp", NULL},
	{"link", "text", NULL}, {"ip", "text", NULL}, {"useragent", "text", NULL},
	EVENT_LINKS_MS, {NULL}
};
static const MailingColumnDef ms_errors_cols[] = {
	{"id", "bigint", NULL}, {"timestamp", "timestamp", NULL},
	{"status", "text", NULL}, {"errorcode", "text", NULL}, {"description", "text", NULL},
	{"errortype", "text", NULL}, EVENT_LINKS_MS, {NULL}
};
static const MailingColumnDef ms_abuses_cols[] = {
	{"id", "bigint", NULL}, {"timestamp", "timestamp", NULL},
	{"report", "jsonb", NULL}, EVENT_LINKS_MS, {NULL}
};
static const MailingColumnDef pub_template_cols[] = {
	{"id", "bigint", NULL}, {"name", "text", NULL}, {"description", "text", NULL}, {NULL}
};
static const MailingColumnDef ms_template_cols[] = {
	{"id", "bigint", NULL}, {"name", "text", NULL}, {"subject", "text", NULL},
	{"type", "text", NULL}, {"from_address", "jsonb", NULL}, {NULL}
};

#define PUB_EMAILINGS	"publisher_emailings"
#define MS_EMAILINGS	"ms_emailings"

#define PUB_EVENT(kind, cols) \
	{"publisher_" kind, "publisher/" kind, \
	 {"publisher/destination/%s/" kind, NULL, NULL, "publisher/emailing/%s/" kind}, \
	 "", TIME_FIELDS, TIME_FIELDS, "timestamp", true, true, PUB_EMAILINGS, cols}
#define MS_EVENT(kind, cols) \
	{"ms_" kind, "ms/" kind, \
	 {"ms/destination/%s/" kind, NULL, NULL, "ms/emailing/%s/" kind}, \
	 "", TIME_BEGINEND, TIME_BEGINEND, "timestamp", false, true, MS_EMAILINGS, cols}

static const MailingResource mailing_resources[] = {
	{"publisher_emailings", "publisher/emailings",
	 {NULL, "subprofile/%s/publisher/emailings", "profile/%s/publisher/emailings", NULL},
	 "&test=both&followups=both", TIME_FROMDATE, TIME_FROMDATE, "timestamp", false, true,
	 NULL, pub_emailing_cols},
	{"ms_emailings", "ms/emailings",
	 {NULL, "subprofile/%s/ms/emailings", "profile/%s/ms/emailings", NULL},
	 "&followups=both", TIME_FROMDATE, TIME_FROMDATE, "timestamp", false, true,
	 NULL, ms_emailing_cols},
	{"publisher_destinations", NULL,
	 {NULL, "subprofile/%s/publisher/destinations", "profile/%s/publisher/destinations",
	  "publisher/emailing/%s/destinations"},
	 "", TIME_FIELDS, TIME_FIELDS, "timestampsent", false, true, PUB_EMAILINGS,
	 pub_destination_cols},
	{"ms_destinations", "ms/destinations",
	 {NULL, "subprofile/%s/ms/destinations", "profile/%s/ms/destinations",
	  "ms/emailing/%s/destinations"},
	 "", TIME_FIELDS, TIME_FROMTO, "timestampsent", false, true, MS_EMAILINGS,
	 ms_destination_cols},
	{"publisher_statistics", NULL,
	 {NULL, NULL, NULL, "publisher/emailing/%s/statistics"},
	 "", TIME_NONE, TIME_NONE, NULL, false, false, PUB_EMAILINGS, pub_statistics_cols},
	{"ms_statistics", NULL,
	 {NULL, NULL, NULL, "ms/emailing/%s/statistics"},
	 "", TIME_NONE, TIME_NONE, NULL, false, false, MS_EMAILINGS, ms_statistics_cols},
	PUB_EVENT("abuses", pub_abuses_cols),
	PUB_EVENT("clicks", pub_clicks_cols),
	PUB_EVENT("deliveries", pub_deliveries_cols),
	PUB_EVENT("errors", pub_errors_cols),
	PUB_EVENT("impressions", pub_impressions_cols),
	PUB_EVENT("unsubscribes", pub_unsubscribes_cols),
	MS_EVENT("abuses", ms_abuses_cols),
	MS_EVENT("clicks", ms_clicks_cols),
	MS_EVENT("deliveries", ms_deliveries_cols),
	MS_EVENT("errors", ms_errors_cols),
	MS_EVENT("impressions", ms_impressions_cols),
	{"publisher_templates", "publisher/templates", {NULL}, "", TIME_NONE, TIME_NONE,
	 NULL, false, true, NULL, pub_template_cols},
	{"publisher_documents", "publisher/documents", {NULL}, "", TIME_NONE, TIME_NONE,
	 NULL, false, true, NULL, pub_template_cols},
	{"ms_templates", "ms/templates", {NULL}, "", TIME_NONE, TIME_NONE,
	 NULL, false, true, NULL, ms_template_cols},
	{NULL}
};

/* ----------------------------------------------------------------
 * The resources
 * ----------------------------------------------------------------
 */

static const MailingResource *
find_resource(const char *name)
{
	const MailingResource *mr;

	if (name == NULL)
		return NULL;
	for (mr = mailing_resources; mr->name; mr++)
		if (strcmp(mr->name, name) == 0)
			return mr;
	return NULL;
}

bool
copernica_is_mailing_resource(const char *name)
{
	return find_resource(name) != NULL;
}

/* "publisher_emailings, ms_emailings, ..." for an error's detail. */
char *
copernica_mailing_resource_names(void)
{
	StringInfoData buf;
	const MailingResource *mr;

	initStringInfo(&buf);
	for (mr = mailing_resources; mr->name; mr++)
		appendStringInfo(&buf, "%s%s", buf.len ? ", " : "", mr->name);
	return buf.data;
}

/* Where one column's values come from. */
typedef struct MailingColumn
{
	const char *key;			/* the item's key */
	const char *sub;			/* a key inside it, or NULL */
	MailingKey	role;			/* a key column, or KEY_NONE */
	bool		is_time;		/* the resource's time column */
	bool		is_id;
} MailingColumn;

/*
 * A column's source: its 'field' option names the item's key; else one of
 * the documented columns by name.  False when neither.
 */
static bool
mailing_column(const MailingResource *mr, Oid relid, Form_pg_attribute attr,
			   MailingColumn *col)
{
	const char *name = NameStr(attr->attname);
	char	   *field = copernica_column_field_option(relid, attr->attnum);
	const MailingColumnDef *def;
	int			k;

	memset(col, 0, sizeof(*col));
	col->role = KEY_NONE;
	for (def = mr->columns; def->name; def++)
		if (pg_strcasecmp(def->name, name) == 0)
			break;
	if (field == NULL && def->name == NULL)
		return false;
	if (field)
		col->key = field;
	else
	{
		const char *key = def->key ? def->key : def->name;
		const char *dot = strchr(key, '.');

		if (dot)
		{
			col->key = pnstrdup(key, dot - key);
			col->sub = dot + 1;
		}
		else
			col->key = key;
	}
	if (def->name == NULL)
		return true;
	for (k = 0; k < NUM_KEYS; k++)
		if (strcmp(def->name, key_columns[k]) == 0)
			col->role = (MailingKey) k;
	col->is_time = mr->time_column && strcmp(def->name, mr->time_column) == 0;
	col->is_id = strcmp(def->name, "id") == 0;
	return true;
}

static void
report_unknown_column(const MailingResource *mr, const char *colname,
					  const char *relname)
{
	StringInfoData list;
	const MailingColumnDef *def;

	initStringInfo(&list);
	for (def = mr->columns; def->name; def++)
		appendStringInfo(&list, "%s%s", list.len ? ", " : "", def->name);
	ereport(ERROR,
			(errcode(ERRCODE_FDW_COLUMN_NAME_NOT_FOUND),
			 errmsg("column \"%s\" of foreign table \"%s\" matches nothing in Copernica's %s",
					colname, relname, mr->name),
			 errdetail("The columns it knows are: %s.", list.data),
			 errhint("Rename the column, or name the item's key with the column option \"field\".")));
}

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

typedef struct MailingRelInfo
{
	CopernicaPlanInfo plan;		/* first, as in copernica_fdw.c's RelInfo */
	const MailingResource *mr;
	Bitmapset  *attrs_used;
} MailingRelInfo;

/* What a condition does. */
typedef enum CondRole
{
	COND_KEY,					/* a key column = value */
	COND_KEY_LIST,				/* a key column = ANY(array) */
	COND_TIME,					/* the time column op value */
	COND_ID						/* id op value, sent as fields[]=id... */
} CondRole;

typedef struct MailingCond
{
	CondRole	role;
	MailingKey	key;
	const char *op;				/* "=", "<", ... */
	Expr	   *value;
} MailingCond;

static bool
is_integer_type(Oid t)
{
	return t == INT2OID || t == INT4OID || t == INT8OID;
}

/* Evaluable once at scan start: no Var of this rel, nothing volatile. */
static bool
scan_start_value(Expr *expr, RelOptInfo *baserel)
{
	if (bms_is_member(baserel->relid, pull_varnos(NULL, (Node *) expr)))
		return false;
	return !contain_volatile_functions((Node *) expr) &&
		!contain_subplans((Node *) expr);
}

static const char *
commute(const char *op)
{
	if (strcmp(op, "<") == 0)
		return ">";
	if (strcmp(op, ">") == 0)
		return "<";
	if (strcmp(op, "<=") == 0)
		return ">=";
	if (strcmp(op, ">=") == 0)
		return "<=";
	return op;
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
			op = commute(op);
		}
		else
			return false;
	}
	else if (IsA(clause, ScalarArrayOpExpr))
	{
		ScalarArrayOpExpr *s = (ScalarArrayOpExpr *) clause;

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
	if (!mailing_column(info->mr, info->plan.relid, attr, &col))
		return false;

	cond->op = op;
	cond->value = value;
	cond->key = col.role;
	if (col.role != KEY_NONE && info->mr->by_path[col.role] != NULL &&
		strcmp(op, "=") == 0 &&
		(is_integer_type(attr->atttypid) || attr->atttypid == TEXTOID))
	{
		Oid			vt = exprType((Node *) value);

		if (is_list)
			vt = get_element_type(vt);
		if (vt != attr->atttypid && !(is_integer_type(vt) && is_integer_type(attr->atttypid)))
			return false;
		cond->role = is_list ? COND_KEY_LIST : COND_KEY;
		return true;
	}
	if (is_list)
		return false;
	if (strcmp(op, "=") != 0 && strcmp(op, "<") != 0 && strcmp(op, ">") != 0 &&
		strcmp(op, "<=") != 0 && strcmp(op, ">=") != 0)
		return false;
	if (col.is_time && info->mr->time_style != TIME_NONE &&
		attr->atttypid == TIMESTAMPOID && exprType((Node *) value) == TIMESTAMPOID)
	{
		cond->role = COND_TIME;
		return true;
	}
	if (col.is_id && info->mr->id_filter && is_integer_type(attr->atttypid) &&
		is_integer_type(exprType((Node *) value)))
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

void
copernica_mailing_rel_size(PlannerInfo *root, RelOptInfo *baserel,
						   Oid foreigntableid, CopernicaOptions *opts,
						   CopernicaResource *res)
{
	MailingRelInfo *info = palloc0(sizeof(MailingRelInfo));
	Relation	rel;
	ListCell   *lc;
	int			x = -1;
	double		rows;
	bool		keyed[NUM_KEYS] = {false};

	baserel->fdw_private = info;
	info->plan.relid = foreigntableid;
	info->plan.opts = opts;
	info->plan.res = res;
	info->mr = find_resource(opts->resource);
	rel = table_open(foreigntableid, NoLock);
	info->plan.tupdesc = CreateTupleDescCopy(RelationGetDescr(rel));
	table_close(rel, NoLock);

	pull_varattnos((Node *) baserel->reltarget->exprs, baserel->relid, &info->attrs_used);
	foreach(lc, baserel->baserestrictinfo)
		pull_varattnos((Node *) ((RestrictInfo *) lfirst(lc))->clause, baserel->relid,
					   &info->attrs_used);

	/* a column that matches nothing is an error before any request */
	while ((x = bms_next_member(info->attrs_used, x)) >= 0)
	{
		AttrNumber	attnum = x + FirstLowInvalidHeapAttributeNumber;
		Form_pg_attribute attr;
		MailingColumn col;

		if (attnum <= 0)
			continue;
		attr = TupleDescAttr(info->plan.tupdesc, attnum - 1);
		if (!mailing_column(info->mr, foreigntableid, attr, &col))
			report_unknown_column(info->mr, NameStr(attr->attname),
								  get_rel_name(foreigntableid));
	}

	foreach(lc, baserel->baserestrictinfo)
	{
		MailingCond cond;

		if (classify(baserel, info, ((RestrictInfo *) lfirst(lc))->clause, &cond) &&
			(cond.role == COND_KEY || cond.role == COND_KEY_LIST))
			keyed[cond.key] = true;
	}
	if (keyed[KEY_DESTINATION] || keyed[KEY_SUBPROFILE] || keyed[KEY_PROFILE])
		rows = ROWS_PER_PROFILE;
	else if (keyed[KEY_EMAILING])
		rows = info->mr->envelope ? ROWS_PER_KEY : 1;
	else if (info->mr->all_path)
		rows = ROWS_ACCOUNT_WIDE;
	else
		rows = EMAILINGS_GUESS * (info->mr->envelope ? ROWS_PER_KEY : 1);
	if (strcmp(info->mr->name + strlen(info->mr->name) - 9, "emailings") == 0 ||
		strcmp(info->mr->name + strlen(info->mr->name) - 9, "templates") == 0 ||
		strcmp(info->mr->name + strlen(info->mr->name) - 9, "documents") == 0)
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
	Var		   *var = (Var *) em->em_expr;
	MailingColumn col;

	if (!IsA(var, Var) || var->varno != rel->relid || var->varattno <= 0)
		return false;
	if (!mailing_column(info->mr, info->plan.relid,
						TupleDescAttr(info->plan.tupdesc, var->varattno - 1), &col))
		return false;
	return col.role != KEY_NONE && info->mr->by_path[col.role] != NULL;
}

void
copernica_mailing_paths(PlannerInfo *root, RelOptInfo *baserel)
{
	MailingRelInfo *info = baserel->fdw_private;
	double		requests = 1;
	List	   *clauses;
	ListCell   *lc;

	/* without a key condition, every emailing may cost a request */
	if (info->mr->all_path == NULL && info->mr->emailings != NULL &&
		baserel->tuples > ROWS_PER_KEY)
		requests = EMAILINGS_GUESS;
	add_path(baserel, (Path *)
			 copernica_create_foreignscan_path(root, baserel, NULL, baserel->rows,
									 MAILING_REQUEST_COST * seq_page_cost,
									 mailing_cost(info, baserel->tuples, requests),
									 NIL, NULL, NULL, NIL));

	/* a join on a key column: read the one item's listing per outer row */
	clauses = generate_implied_equalities_for_column(root, baserel, ec_member_is_key,
													 info, baserel->lateral_referencers);
	foreach(lc, baserel->joininfo)
		clauses = lappend(clauses, lfirst(lc));
	foreach(lc, clauses)
	{
		RestrictInfo *rinfo = lfirst(lc);
		MailingCond cond;
		Relids		outer;
		ParamPathInfo *ppi;
		double		fetched;

		if (!join_clause_is_movable_to(rinfo, baserel))
			continue;
		if (!classify(baserel, info, rinfo->clause, &cond) || cond.role != COND_KEY)
			continue;
		outer = bms_difference(rinfo->clause_relids, baserel->relids);
		if (bms_is_empty(outer))
			continue;
		ppi = get_baserel_parampathinfo(root, baserel, outer);
		fetched = cond.key == KEY_EMAILING ?
			(info->mr->envelope ? ROWS_PER_KEY : 1) : ROWS_PER_PROFILE;
		add_path(baserel, (Path *)
				 copernica_create_foreignscan_path(root, baserel, NULL, Min(ppi->ppi_rows, fetched),
										 MAILING_REQUEST_COST * seq_page_cost,
										 mailing_cost(info, fetched, 1),
										 NIL, outer, NULL, NIL));
	}
}

/* A condition's value for EXPLAIN. */
static char *
explain_value(Expr *value)
{
	if (IsA(value, Const) && !((Const *) value)->constisnull)
	{
		Const	   *c = (Const *) value;
		Oid			outfunc;
		bool		isvarlena;

		getTypeOutputInfo(c->consttype, &outfunc, &isvarlena);
		return quote_literal_cstr(OidOutputFunctionCall(outfunc, c->constvalue));
	}
	if (IsA(value, Param))
		return psprintf("$%d", ((Param *) value)->paramid);
	if (IsA(value, Var))
		return pstrdup("(outer row's value)");
	return pstrdup("(expression)");
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

/* fdw_private of a mailing scan */
#define MAILING_PLAN_TAG	"copernica mailing scan"

ForeignScan *
copernica_mailing_plan(PlannerInfo *root, RelOptInfo *baserel, Oid foreigntableid,
					   ForeignPath *best_path, List *tlist, List *scan_clauses,
					   Plan *outer_plan)
{
	MailingRelInfo *info = baserel->fdw_private;
	TupleDesc	tupdesc = info->plan.tupdesc;
	List	   *retrieved = NIL;
	List	   *conds = NIL;
	List	   *plan_conds = NIL;
	List	   *fdw_exprs = NIL;
	List	   *local_exprs = NIL;
	StringInfoData filter;
	bool		whole_row;
	bool		has_lower = false,
				has_upper = false;
	MailingKey	key;
	const char *path;
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

	initStringInfo(&filter);
	foreach(lc, conds)
	{
		MailingCond *c = lfirst(lc);

		/* other keys' conditions stay local */
		if ((c->role == COND_KEY || c->role == COND_KEY_LIST) && c->key != key)
			continue;
		if (c->role == COND_TIME)
		{
			has_lower |= strcmp(c->op, "<") != 0 && strcmp(c->op, "<=") != 0;
			has_upper |= strcmp(c->op, ">") != 0 && strcmp(c->op, ">=") != 0;
		}
		plan_conds = lappend(plan_conds, list_make3(makeInteger(c->role),
													makeInteger(c->key),
													makeString(pstrdup(c->op))));
		fdw_exprs = lappend(fdw_exprs, c->value);
		appendStringInfo(&filter, "%s%s %s %s%s", filter.len ? ", " : "",
						 c->role == COND_KEY || c->role == COND_KEY_LIST ? key_columns[c->key] :
						 c->role == COND_TIME ? info->mr->time_column : "id",
						 c->op, c->role == COND_KEY_LIST ? "ANY(" : "",
						 explain_value(c->value));
		if (c->role == COND_KEY_LIST)
			appendStringInfoChar(&filter, ')');
	}

	if (key != KEY_NONE)
		path = psprintf(info->mr->by_path[key], psprintf("{%s}", key_columns[key]));
	else if (info->mr->all_path &&
			 (info->mr->all_time_style != TIME_FROMTO || (has_lower && has_upper)))
	{
		path = info->mr->all_path;
		key = NUM_KEYS;			/* account-wide */
	}
	else
		path = psprintf(info->mr->by_path[KEY_EMAILING], "{each emailing}");

	return make_foreignscan(tlist, local_exprs, baserel->relid, fdw_exprs,
							list_make5(makeString(MAILING_PLAN_TAG), retrieved, plan_conds,
									   makeInteger(key),
									   list_make2(makeString(filter.data),
												  makeString((char *) path))),
							NIL, NIL, outer_plan);
}

bool
copernica_is_mailing_plan(ForeignScan *plan)
{
	return plan->fdw_private != NIL && linitial(plan->fdw_private) != NULL &&
		IsA(linitial(plan->fdw_private), String) &&
		strcmp(strVal(linitial(plan->fdw_private)), MAILING_PLAN_TAG) == 0;
}

/* ----------------------------------------------------------------
 * Execution
 * ----------------------------------------------------------------
 */

typedef struct MailingScanColumn
{
	AttrNumber	attnum;
	char	   *colname;
	const char *sub;			/* key inside the item's object, or NULL */
	MailingKey	role;
	CopernicaColumnType type;
} MailingScanColumn;

typedef struct MailingScanState
{
	Relation	rel;
	CopernicaOptions *opts;
	const MailingResource *mr;
	CopernicaConnection *conn;
	CopernicaStats stats;
	int64		pages;

	int			ncolumns;
	MailingScanColumn *columns;
	CopernicaValuePath *paths;	/* one per column, then the ID */
	int			npaths;

	List	   *conds;			/* per condition: role, key, op */
	List	   *value_states;
	int			key;			/* MailingKey; NUM_KEYS: account-wide */
	char	   *filter_text;
	char	   *path_text;

	/* this (re)scan */
	bool		started;
	bool		empty;			/* a condition's value rules out every row */
	char	   *params;			/* query parameters after start/limit */
	List	   *parts;			/* key values still to read; a NULL value
								 * for the account-wide listing */
	char	   *part_value;		/* the one being read */
	bool		part_open;
	CopernicaPager *pager;

	MemoryContext scan_cxt;
	MemoryContext page_cxt;
	MemoryContext row_cxt;
	CopernicaPage *page;
	int			next_item;

	MailingScanColumn *converting;
	const char *converting_id;
} MailingScanState;

static void
mailing_conversion_error_callback(void *arg)
{
	MailingScanState *st = arg;

	if (st->converting)
		errcontext("column \"%s\" of foreign table \"%s\", Copernica %s item %s",
				   st->converting->colname, RelationGetRelationName(st->rel),
				   st->mr->name, st->converting_id ? st->converting_id : "(no ID)");
}

void
copernica_mailing_begin(ForeignScanState *node, int eflags)
{
	ForeignScan *fsplan = (ForeignScan *) node->ss.ps.plan;
	EState	   *estate = node->ss.ps.state;
	MailingScanState *st = palloc0(sizeof(MailingScanState));
	Oid			userid = copernica_scan_userid(fsplan, estate);
	List	   *priv = fsplan->fdw_private;
	List	   *retrieved = lsecond(priv);
	List	   *texts = list_nth(priv, 4);
	TupleDesc	tupdesc;
	ListCell   *lc;
	int			i = 0;

	node->fdw_state = st;
	st->rel = node->ss.ss_currentRelation;
	st->opts = copernica_get_options(RelationGetRelid(st->rel), userid);
	st->mr = find_resource(st->opts->resource);
	st->conds = lthird(priv);
	st->key = intVal(lfourth(priv));
	st->filter_text = strVal(linitial(texts));
	st->path_text = strVal(lsecond(texts));

	tupdesc = RelationGetDescr(st->rel);
	st->ncolumns = list_length(retrieved);
	st->columns = palloc0(sizeof(MailingScanColumn) * (st->ncolumns + 1));
	st->npaths = st->ncolumns + 1;
	st->paths = palloc0(sizeof(CopernicaValuePath) * st->npaths);
	foreach(lc, retrieved)
	{
		Form_pg_attribute attr = TupleDescAttr(tupdesc, lfirst_int(lc) - 1);
		MailingColumn col;

		if (!mailing_column(st->mr, RelationGetRelid(st->rel), attr, &col))
			report_unknown_column(st->mr, NameStr(attr->attname),
								  RelationGetRelationName(st->rel));
		st->columns[i].attnum = attr->attnum;
		st->columns[i].colname = pstrdup(NameStr(attr->attname));
		st->columns[i].sub = col.sub;
		st->columns[i].role = col.role;
		copernica_column_type_init(&st->columns[i].type, attr->atttypid, attr->atttypmod);
		st->paths[i].source = COPERNICA_SRC_PROPERTY;
		st->paths[i].name = col.key;
		i++;
	}
	/* the ID, for error messages */
	st->paths[st->ncolumns].source = COPERNICA_SRC_PROPERTY;
	st->paths[st->ncolumns].name = "ID";

	if (eflags & EXEC_FLAG_EXPLAIN_ONLY)
		return;
	st->value_states = ExecInitExprList(fsplan->fdw_exprs, (PlanState *) node);
	st->scan_cxt = estate->es_query_cxt;
	st->page_cxt = AllocSetContextCreate(estate->es_query_cxt, "copernica_fdw mailing page",
										 ALLOCSET_DEFAULT_SIZES);
	st->row_cxt = AllocSetContextCreate(estate->es_query_cxt, "copernica_fdw mailing row",
										ALLOCSET_SMALL_SIZES);
	st->conn = copernica_get_connection(GetForeignTable(RelationGetRelid(st->rel))->serverid,
										userid, st->opts);
}

/*
 * A timestamp as Copernica writes it, moved by shift seconds and rounded
 * down (round < 0) or up to the second; NULL when it cannot be written.
 */
static char *
format_time(Timestamp ts, int round, int64 shift, bool date_only)
{
	struct pg_tm tm;
	fsec_t		fsec;

	if (TIMESTAMP_NOT_FINITE(ts))
		return NULL;
	ts += shift * USECS_PER_SEC;
	if (timestamp2tm(ts, NULL, &tm, &fsec, NULL, NULL) != 0)
		return NULL;
	if (fsec != 0 && round > 0)
	{
		ts += USECS_PER_SEC - fsec;
		if (timestamp2tm(ts, NULL, &tm, &fsec, NULL, NULL) != 0)
			return NULL;
	}
	if (tm.tm_year <= 0 || tm.tm_year > 9999)
		return NULL;
	if (date_only)
		return psprintf("%04d-%02d-%02d", tm.tm_year, tm.tm_mon, tm.tm_mday);
	return psprintf("%04d-%02d-%02d %02d:%02d:%02d", tm.tm_year, tm.tm_mon, tm.tm_mday,
					tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* Append "&fields%5B%5D=<expr>". */
static void
append_fields_param(StringInfo buf, const char *expr)
{
	appendStringInfoString(buf, "&fields%5B%5D=");
	copernica_append_url_escaped(buf, expr);
}

static void
append_param(StringInfo buf, const char *name, const char *value)
{
	appendStringInfo(buf, "&%s=", name);
	copernica_append_url_escaped(buf, value);
}

static char *
datum_text(Datum value, Oid type)
{
	Oid			outfunc;
	bool		isvarlena;

	getTypeOutputInfo(type, &outfunc, &isvarlena);
	return OidOutputFunctionCall(outfunc, value);
}

/* The elements of an array value as text, duplicates and NULLs left out. */
static List *
array_texts(Datum array)
{
	ArrayType  *arr = DatumGetArrayTypeP(array);
	Oid			elemtype = ARR_ELEMTYPE(arr);
	int16		typlen;
	bool		typbyval;
	char		typalign;
	Datum	   *elems;
	bool	   *nulls;
	int			n,
				i;
	List	   *out = NIL;

	get_typlenbyvalalign(elemtype, &typlen, &typbyval, &typalign);
	deconstruct_array(arr, elemtype, typlen, typbyval, typalign, &elems, &nulls, &n);
	for (i = 0; i < n; i++)
	{
		char	   *s;
		ListCell   *lc;
		bool		dup = false;

		if (nulls[i])
			continue;
		s = datum_text(elems[i], elemtype);
		foreach(lc, out)
			if (strcmp(lfirst(lc), s) == 0)
				dup = true;
		if (!dup)
			out = lappend(out, s);
	}
	return out;
}

/*
 * Every ID of the emailings listing, for tables that have no account-wide
 * listing and no key condition: their items are read emailing by emailing.
 */
static List *
all_emailing_ids(MailingScanState *st)
{
	const MailingResource *em = find_resource(st->mr->emailings);
	static const CopernicaValuePath id_path[] = {{COPERNICA_SRC_PROPERTY, "ID"}};
	CopernicaPagerSpec spec = {0};
	CopernicaPager *pager;
	List	   *ids = NIL;

	spec.path = em->all_path;
	spec.params = (char *) em->params;
	spec.order = "";
	spec.page_size = COPERNICA_MAX_PAGE_SIZE;
	spec.max_concurrency = st->opts->max_concurrency;
	spec.size_hint = -1;
	spec.min_id_hint = spec.max_id_hint = -1;
	pager = copernica_pager_begin(st->conn, &st->stats, &spec);
	for (;;)
	{
		CopernicaRequest *req;
		CopernicaResponse *resp;
		CopernicaPage *page;
		int64		start;
		int			asked;
		int			i;

		resp = copernica_pager_next(pager, &req, &start, &asked);
		if (resp == NULL)
			break;
		page = copernica_parse_page(resp->body.data, resp->body.len, true, id_path, 1);
		for (i = 0; i < page->nitems; i++)
		{
			int64		id;

			if (page->values[i] == NULL || !copernica_parse_id(page->values[i], &id))
				ereport(ERROR,
						(errcode(ERRCODE_FDW_INVALID_STRING_FORMAT),
						 errmsg("unexpected answer from Copernica"),
						 errdetail("An emailing of %s has the ID \"%s\".", em->all_path,
								   page->values[i] ? page->values[i] : "(none)")));
			ids = lappend(ids, psprintf(INT64_FORMAT, id));
		}
		(void) copernica_pager_done(pager, page->nitems, -1, NULL, NULL);
	}
	copernica_pager_end(pager);
	return ids;
}

/* Evaluate the conditions: the URLs to read and their parameters. */
static void
start_scan(MailingScanState *st, ExprContext *econtext)
{
	const MailingResource *mr = st->mr;
	TimeStyle	style = st->key == NUM_KEYS ? mr->all_time_style : mr->time_style;
	StringInfoData params;
	bool		have_lower = false,
				have_upper = false,
				have_key = false;
	Timestamp	lower = 0,
				upper = 0;
	List	   *values = NIL;
	ListCell   *lc1,
			   *lc2;

	st->empty = false;
	st->parts = NIL;
	st->part_open = false;
	initStringInfo(&params);
	appendStringInfoString(&params, mr->params);
	forboth(lc1, st->conds, lc2, st->value_states)
	{
		List	   *c = lfirst(lc1);
		CondRole	role = intVal(linitial(c));
		const char *op = strVal(lthird(c));
		ExprState  *es = lfirst(lc2);
		bool		isnull;
		Datum		value = ExecEvalExpr(es, econtext, &isnull);

		if (isnull)
		{
			st->empty = true;
			continue;
		}
		switch (role)
		{
			case COND_KEY:
				if (!have_key)
					values = list_make1(datum_text(value, exprType((Node *) es->expr)));
				have_key = true;
				break;
			case COND_KEY_LIST:
				if (!have_key)
					values = array_texts(value);
				have_key = true;
				break;
			case COND_ID:
				append_fields_param(&params,
									psprintf("id%s%s", strcmp(op, "=") == 0 ? "==" : op,
											 datum_text(value, exprType((Node *) es->expr))));
				break;
			case COND_TIME:
				{
					Timestamp	ts = DatumGetTimestamp(value);
					bool		lo = strcmp(op, "<") != 0 && strcmp(op, "<=") != 0;
					bool		hi = strcmp(op, ">") != 0 && strcmp(op, ">=") != 0;

					if (style == TIME_FIELDS)
					{
						/* Copernica keeps whole seconds: widen a fraction */
						const char *sent = strcmp(op, "=") == 0 ? "==" : op;
						char	   *text = format_time(ts, lo ? -1 : 1, 0, false);
						fsec_t		fsec = ts % USECS_PER_SEC;

						if (fsec != 0)
							sent = strcmp(op, "=") == 0 ? NULL : lo ? ">=" : "<=";
						if (text && sent)
							append_fields_param(&params, psprintf("%s%s%s", mr->time_column,
																  sent, text));
						break;
					}
					if (lo && (!have_lower || ts > lower))
						lower = ts;
					if (hi && (!have_upper || ts < upper))
						upper = ts;
					have_lower |= lo;
					have_upper |= hi;
				}
				break;
		}
	}

	/*
	 * The docs do not say whether these bounds are inclusive: a second (a
	 * day) wider either way, the answer is a superset whichever they are.
	 */
	if (style == TIME_BEGINEND || style == TIME_FROMDATE || style == TIME_FROMTO)
	{
		bool		dates = style == TIME_FROMTO;
		const char *lo_name = style == TIME_BEGINEND ? "begintime" :
			style == TIME_FROMDATE ? "fromdate" : "from";
		const char *hi_name = style == TIME_BEGINEND ? "endtime" :
			style == TIME_FROMDATE ? "todate" : "to";
		char	   *text;

		if (have_lower &&
			(text = format_time(lower, -1, dates ? -SECS_PER_DAY : -1, dates)) != NULL)
			append_param(&params, lo_name, text);
		else if (dates)
			append_param(&params, lo_name, "0001-01-01");
		if (have_upper &&
			(text = format_time(upper, 1, dates ? SECS_PER_DAY : 1, dates)) != NULL)
			append_param(&params, hi_name, text);
		else if (dates)
			append_param(&params, hi_name, "9999-12-31");
	}
	st->params = params.data;

	if (st->empty)
		return;
	if (st->key == NUM_KEYS)
		st->parts = list_make1(NULL);
	else if (st->key != KEY_NONE)
	{
		st->parts = values;
		if (values == NIL)
			st->empty = true;
	}
	else
		st->parts = all_emailing_ids(st);
}

/* The URL of a part: the per-key one with its value, or the account-wide one. */
static char *
part_path(MailingScanState *st, const char *value)
{
	int			key = st->key == KEY_NONE ? KEY_EMAILING : st->key;

	if (value == NULL)
		return pstrdup(st->mr->all_path);
	return psprintf(st->mr->by_path[key], copernica_escape_path_segment(value));
}

static void
request_error_callback(void *arg)
{
	errcontext("Copernica request: %s",
			   copernica_request_describe((CopernicaRequest *) arg));
}

/*
 * How many items an account-wide listing holds under this scan's
 * parameters (limit=0: no items, only the total), or -1.  It lets the pager
 * keep several pages in flight without asking past the end; per-item
 * listings are small and read a page at a time.
 */
static int64
listing_size(MailingScanState *st, const char *path)
{
	CopernicaRequest req = {0};
	CopernicaResponse resp = {0};
	CopernicaPage *page;

	req.method = "GET";
	req.path = (char *) path;
	req.query = psprintf("limit=0&start=0%s", st->params);
	copernica_perform(st->conn, &req, &resp, &st->stats);
	page = copernica_parse_page(resp.body.data, resp.body.len, true, NULL, 0);
	return page->has_total && page->total >= 0 ? page->total : -1;
}

/* The next page of items, from the open part or the next one. */
static bool
next_page(MailingScanState *st)
{
	MemoryContext old;

	MemoryContextReset(st->page_cxt);
	st->page = NULL;
	for (;;)
	{
		CopernicaRequest *req;
		CopernicaResponse *resp;
		ErrorContextCallback errcb;
		CopernicaPage *page;
		int64		start;
		int			asked;

		if (st->empty)
			return false;
		if (!st->part_open)
		{
			if (st->parts == NIL)
				return false;
			st->part_value = linitial(st->parts);
			st->parts = list_delete_first(st->parts);
			st->part_open = true;
			old = MemoryContextSwitchTo(st->scan_cxt);
			if (st->mr->envelope)
			{
				CopernicaPagerSpec spec = {0};

				spec.path = part_path(st, st->part_value);
				spec.params = st->params;
				spec.order = "";
				spec.page_size = st->opts->page_size;
				spec.max_concurrency = st->opts->max_concurrency;
				spec.size_hint = st->part_value == NULL ?
					listing_size(st, spec.path) : 0;
				spec.min_id_hint = spec.max_id_hint = -1;
				st->pager = copernica_pager_begin(st->conn, &st->stats, &spec);
				MemoryContextSwitchTo(old);
				continue;
			}
			MemoryContextSwitchTo(old);

			/* one bare object per request: the statistics */
			old = MemoryContextSwitchTo(st->page_cxt);
			req = palloc0(sizeof(CopernicaRequest));
			resp = palloc0(sizeof(CopernicaResponse));
			req->method = "GET";
			req->path = part_path(st, st->part_value);
			req->query = st->params[0] == '&' ? st->params + 1 : NULL;
			copernica_perform(st->conn, req, resp, &st->stats);
			errcb.callback = request_error_callback;
			errcb.arg = req;
			errcb.previous = error_context_stack;
			error_context_stack = &errcb;
			st->page = copernica_parse_page(resp->body.data, resp->body.len, false,
											st->paths, st->npaths);
			error_context_stack = errcb.previous;
			MemoryContextSwitchTo(old);
			st->pages++;
			st->part_open = false;
			st->next_item = 0;
			return true;
		}

		resp = copernica_pager_next(st->pager, &req, &start, &asked);
		if (resp == NULL)
		{
			copernica_pager_end(st->pager);
			st->pager = NULL;
			st->part_open = false;
			continue;
		}
		errcb.callback = request_error_callback;
		errcb.arg = req;
		errcb.previous = error_context_stack;
		error_context_stack = &errcb;
		old = MemoryContextSwitchTo(st->page_cxt);
		page = copernica_parse_page(resp->body.data, resp->body.len, true,
									st->paths, st->npaths);
		MemoryContextSwitchTo(old);
		if (page->start != start || page->nitems > asked)
			ereport(ERROR,
					(errcode(ERRCODE_FDW_INVALID_STRING_FORMAT),
					 errmsg("unexpected answer from Copernica"),
					 errdetail("Asked for at most %d items at offset " INT64_FORMAT " but got %d at " INT64_FORMAT ".",
							   asked, start, page->nitems, page->start)));
		error_context_stack = errcb.previous;
		st->pages++;
		(void) copernica_pager_done(st->pager, page->nitems, -1, NULL, NULL);
		st->page = page;
		st->next_item = 0;
		return true;
	}
}

/* A key of the object an item holds at a column's key ({"total":3,...}). */
static const char *
nested_value(const char *object, const char *sub)
{
	CopernicaValuePath path = {COPERNICA_SRC_PROPERTY, sub};
	CopernicaPage *page;

	if (object == NULL || object[0] != '{')
		return NULL;
	page = copernica_parse_page((char *) object, strlen(object), false, &path, 1);
	return page->nitems == 1 ? page->values[0] : NULL;
}

TupleTableSlot *
copernica_mailing_iterate(ForeignScanState *node)
{
	MailingScanState *st = node->fdw_state;
	TupleTableSlot *slot = node->ss.ss_ScanTupleSlot;
	ErrorContextCallback errcb;
	MemoryContext old;
	char	  **values;
	int			i;

	ExecClearTuple(slot);
	MemoryContextReset(st->row_cxt);
	if (!st->started)
	{
		old = MemoryContextSwitchTo(st->scan_cxt);
		start_scan(st, node->ss.ps.ps_ExprContext);
		MemoryContextSwitchTo(old);
		st->started = true;
	}
	while (st->page == NULL || st->next_item >= st->page->nitems)
		if (!next_page(st))
			return slot;

	values = st->page->values + (size_t) st->next_item * st->npaths;
	st->next_item++;
	memset(slot->tts_isnull, true, sizeof(bool) * slot->tts_tupleDescriptor->natts);

	errcb.callback = mailing_conversion_error_callback;
	errcb.arg = st;
	errcb.previous = error_context_stack;
	error_context_stack = &errcb;
	st->converting_id = values[st->ncolumns];
	old = MemoryContextSwitchTo(st->row_cxt);
	for (i = 0; i < st->ncolumns; i++)
	{
		MailingScanColumn *col = &st->columns[i];
		const char *v = values[i];
		int			key = st->key == KEY_NONE ? KEY_EMAILING : st->key;

		st->converting = col;
		if (col->sub)
			v = nested_value(v, col->sub);

		/* the per-key listings leave out the key itself: it is the URL's */
		if (v == NULL && col->role != KEY_NONE && col->role == key && st->part_value)
			v = st->part_value;
		slot->tts_values[col->attnum - 1] =
			copernica_value_to_datum(&col->type, v, st->opts->timezone,
									 &slot->tts_isnull[col->attnum - 1]);
	}
	MemoryContextSwitchTo(old);
	st->converting = NULL;
	error_context_stack = errcb.previous;
	return ExecStoreVirtualTuple(slot);
}

void
copernica_mailing_rescan(ForeignScanState *node)
{
	MailingScanState *st = node->fdw_state;

	if (st->pager)
		copernica_pager_end(st->pager);
	st->pager = NULL;
	MemoryContextReset(st->page_cxt);
	st->page = NULL;
	st->part_open = false;
	st->started = false;
}

void
copernica_mailing_end(ForeignScanState *node)
{
	MailingScanState *st = node->fdw_state;

	if (st && st->pager)
		copernica_pager_end(st->pager);
	if (st)
		st->pager = NULL;
}

void
copernica_mailing_explain(ForeignScanState *node, ExplainState *es)
{
	MailingScanState *st = node->fdw_state;

	ExplainPropertyText("Copernica", psprintf("GET %s", st->path_text), es);
	if (st->filter_text[0] != '\0')
		ExplainPropertyText("Copernica Filter", st->filter_text, es);
	if (es->analyze)
	{
		ExplainPropertyInteger("Copernica Requests", NULL, st->stats.requests, es);
		ExplainPropertyInteger("Copernica Pages", NULL, st->pages, es);
	}
}

/* ----------------------------------------------------------------
 * IMPORT FOREIGN SCHEMA
 * ----------------------------------------------------------------
 */

/*
 * CREATE FOREIGN TABLE commands for every mailing resource that LIMIT TO /
 * EXCEPT lets through, typed from the docs: IDs bigint, times timestamp,
 * counters integer, nested objects jsonb.  The names are taken in *used.
 */
List *
copernica_mailing_import(ImportForeignSchemaStmt *stmt, const char *server,
						 List **used)
{
	const MailingResource *mr;
	List	   *commands = NIL;

	for (mr = mailing_resources; mr->name; mr++)
	{
		StringInfoData buf;
		const MailingColumnDef *def;

		*used = lappend(*used, (char *) mr->name);
		if (!IsImportableForeignTable(mr->name, stmt))
			continue;
		initStringInfo(&buf);
		appendStringInfo(&buf, "CREATE FOREIGN TABLE %s (\n", quote_identifier(mr->name));
		for (def = mr->columns; def->name; def++)
			appendStringInfo(&buf, "  %s %s%s", quote_identifier(def->name), def->type,
							 def[1].name ? ",\n" : "\n");
		appendStringInfo(&buf, ") SERVER %s\nOPTIONS (resource %s)",
						 quote_identifier(server), quote_literal_cstr(mr->name));
		commands = lappend(commands, buf.data);
	}
	return commands;
}

/* ----------------------------------------------------------------
 * The scan callbacks, by the plan: a mailing scan's or scan.c's
 * ----------------------------------------------------------------
 */
#define IS_MAILING_SCAN(node) \
	copernica_is_mailing_plan((ForeignScan *) (node)->ss.ps.plan)

void
copernica_dispatch_begin(ForeignScanState *node, int eflags)
{
	if (IS_MAILING_SCAN(node))
		copernica_mailing_begin(node, eflags);
	else
		copernicaBeginForeignScan(node, eflags);
}

TupleTableSlot *
copernica_dispatch_iterate(ForeignScanState *node)
{
	if (IS_MAILING_SCAN(node))
		return copernica_mailing_iterate(node);
	return copernicaIterateForeignScan(node);
}

void
copernica_dispatch_rescan(ForeignScanState *node)
{
	if (IS_MAILING_SCAN(node))
		copernica_mailing_rescan(node);
	else
		copernicaReScanForeignScan(node);
}

void
copernica_dispatch_end(ForeignScanState *node)
{
	if (IS_MAILING_SCAN(node))
		copernica_mailing_end(node);
	else
		copernicaEndForeignScan(node);
}

void
copernica_dispatch_explain(ForeignScanState *node, ExplainState *es)
{
	if (IS_MAILING_SCAN(node))
		copernica_mailing_explain(node, es);
	else
		copernicaExplainForeignScan(node, es);
}
