/*-------------------------------------------------------------------------
 *
 * mailing_scan.c
 *		  The executor side of a mailing table's scan (see mailing.c): the
 *		  conditions' values become the URLs to read and their parameters,
 *		  each URL is paged through pager.c, rows come out of scan.c's row
 *		  loop (its memory: one context per page, one per row).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "commands/explain.h"
#include "executor/executor.h"
#include "foreign/fdwapi.h"
#include "foreign/foreign.h"
#include "miscadmin.h"
#include "nodes/nodeFuncs.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/timestamp.h"
#include "pgtime.h"

#include "copernica_fdw.h"
#include "mailing.h"

/* What a column of a mailing table adds to the loop's column. */
typedef struct MailingScanColumn
{
	const char *sub;			/* key inside the item's object, or NULL */
	MailingKey	role;
	bool		is_flag;
} MailingScanColumn;

typedef struct MailingScanState
{
	CopernicaRowLoop loop;		/* rows, pages, their memory */
	Relation	rel;
	CopernicaOptions *opts;
	const MailingResource *mr;
	CopernicaConnection *conn;
	CopernicaStats stats;
	int64		pages;

	MailingScanColumn *columns; /* like loop.columns */
	CopernicaValuePath *paths;	/* loop.npaths: one per column, then the ID */

	List	   *conds;			/* per condition: role, key, op */
	List	   *value_states;
	int			key;			/* MailingKey; NUM_KEYS: account-wide */
	int64		limit;			/* rows in all, 0 for no limit */
	char	   *filter_text;
	char	   *path_text;

	/* this (re)scan */
	bool		empty;			/* a condition's value rules out every row */
	bool		flag_sent;		/* the resource's flag parameter was sent */
	int64		delivered;		/* items of the pages read so far */
	char	   *params;			/* query parameters after start/limit */
	List	   *parts;			/* key values still to read; a NULL value
								 * for the account-wide listing */
	char	   *part_value;		/* the one being read */
	bool		part_open;
	CopernicaPager *pager;
} MailingScanState;

static const CopernicaRowHooks mailing_hooks;

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
	st->mr = copernica_mailing_find(st->opts->resource);
	st->conds = lthird(priv);
	st->key = intVal(lfourth(priv));
	st->limit = intVal(list_nth(priv, 5));
	st->filter_text = strVal(linitial(texts));
	st->path_text = strVal(lsecond(texts));

	tupdesc = RelationGetDescr(st->rel);
	copernica_row_loop_init(&st->loop, st->rel, estate, retrieved);
	st->loop.hooks = &mailing_hooks;
	st->loop.arg = st;
	st->loop.timezone = st->opts->timezone;
	st->loop.item_noun = psprintf("%s item", st->mr->name);
	st->columns = palloc0(sizeof(MailingScanColumn) * (st->loop.ncolumns + 1));
	st->paths = palloc0(sizeof(CopernicaValuePath) * st->loop.npaths);
	foreach(lc, retrieved)
	{
		Form_pg_attribute attr = TupleDescAttr(tupdesc, lfirst_int(lc) - 1);
		MailingColumn col;

		if (!copernica_mailing_column(st->mr, RelationGetRelid(st->rel), attr, &col))
			copernica_mailing_unknown_column(st->mr, NameStr(attr->attname),
								  RelationGetRelationName(st->rel));
		st->columns[i].sub = col.sub;
		st->columns[i].role = col.role;
		st->columns[i].is_flag = col.is_flag;
		st->paths[i].source = COPERNICA_SRC_PROPERTY;
		st->paths[i].name = col.key;
		i++;
	}
	/* the ID, for error messages */
	st->paths[st->loop.id_path].source = COPERNICA_SRC_PROPERTY;
	st->paths[st->loop.id_path].name = "ID";

	if (eflags & EXEC_FLAG_EXPLAIN_ONLY)
		return;
	st->value_states = ExecInitExprList(fsplan->fdw_exprs, (PlanState *) node);
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

/*
 * The local times, in the zone Copernica's datetimes are in, that a
 * timestamptz bound stands for: ts plus the least (*lo) and the greatest
 * (*hi) UTC offset the zone has within two days of ts, the way convert.c
 * reads them back.  The two are equal unless a change of offset (summer
 * time) is near, where a local time may be read as either: then a bound
 * widens by the change, and the local recheck does the rest.  false: not
 * to be sent (infinite, or an unknown zone).
 */
static bool
local_range(TimestampTz ts, const char *timezone, Timestamp *lo, Timestamp *hi)
{
	pg_tz	   *zone = pg_tzset(timezone);
	pg_time_t	t,
				end;
	long int	min_off = 0,
				max_off = 0;
	int			i;

	if (zone == NULL || TIMESTAMP_NOT_FINITE(ts))
		return false;
	t = ts / USECS_PER_SEC +
		((pg_time_t) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) - 2) * SECS_PER_DAY;
	end = t + 4 * SECS_PER_DAY;
	for (i = 0; i < 64; i++)
	{
		long int	before,
					after;
		int			before_dst,
					after_dst;
		pg_time_t	boundary;
		int			found = pg_next_dst_boundary(&t, &before, &before_dst, &boundary,
												 &after, &after_dst, zone);

		if (found < 0)
			return false;
		if (i == 0)
			min_off = max_off = before;
		min_off = Min(min_off, before);
		max_off = Max(max_off, before);
		if (found == 0 || boundary > end)
			break;
		min_off = Min(min_off, after);
		max_off = Max(max_off, after);
		t = boundary;
	}
	if (i == 64)
		return false;
	*lo = ts + (Timestamp) min_off * USECS_PER_SEC;
	*hi = ts + (Timestamp) max_off * USECS_PER_SEC;
	return true;
}

/*
 * Append "&fields%5B%5D=<expr>", URL-escaped as sent; unescaped (escape
 * false) it is written for reading, as EXPLAIN shows it.
 */
static void
append_fields_param(StringInfo buf, const char *expr, bool escape)
{
	if (!escape)
	{
		appendStringInfo(buf, "&fields[]=%s", expr);
		return;
	}
	appendStringInfoString(buf, "&fields%5B%5D=");
	copernica_append_url_escaped(buf, expr);
}

static void
append_param(StringInfo buf, const char *name, const char *value, bool escape)
{
	appendStringInfo(buf, "&%s=", name);
	if (escape)
		copernica_append_url_escaped(buf, value);
	else
		appendStringInfoString(buf, value);
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
	Oid			elemtype;
	Datum	   *elems;
	bool	   *nulls;
	int			n,
				i;
	List	   *out = NIL;

	n = copernica_array_elements(array, &elemtype, &elems, &nulls);
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
static void
emailings_spec(MailingScanState *st, CopernicaPagerSpec *spec)
{
	const MailingResource *em = copernica_mailing_find(st->mr->emailings);

	memset(spec, 0, sizeof(*spec));
	spec->path = em->all_path;
	spec->params = (char *) em->params;
	spec->order = "";
	spec->page_size = COPERNICA_MAX_PAGE_SIZE;
	spec->max_concurrency = st->opts->max_concurrency;
	spec->size_hint = -1;
	spec->min_id_hint = spec->max_id_hint = -1;
}

static List *
all_emailing_ids(MailingScanState *st)
{
	static const CopernicaValuePath id_path[] = {{COPERNICA_SRC_PROPERTY, "ID"}};
	CopernicaPagerSpec spec;
	CopernicaPager *pager;
	List	   *ids = NIL;

	emailings_spec(st, &spec);
	pager = copernica_pager_begin(st->conn, &st->stats, &spec);
	for (;;)
	{
		CopernicaPage *page;
		int			i;

		page = copernica_next_page(pager, NULL, id_path, 1, -1,
								   CurrentMemoryContext);
		if (page == NULL)
			break;
		for (i = 0; i < page->nitems; i++)
		{
			int64		id;

			if (page->values[i] == NULL || !copernica_parse_id(page->values[i], &id))
				ereport(ERROR,
						(errcode(ERRCODE_FDW_INVALID_STRING_FORMAT),
						 errmsg("unexpected answer from Copernica"),
						 errdetail("An emailing of %s has the ID \"%s\".", spec.path,
								   page->values[i] ?
								   copernica_redact_excerpt(page->values[i],
															strlen(page->values[i])) :
								   "(none)")));
			ids = lappend(ids, psprintf(INT64_FORMAT, id));
		}
	}
	copernica_pager_end(pager);
	return ids;
}

/*
 * A condition's value, for the request writer: evaluated by the scan, or,
 * for EXPLAIN, the plan's constant or the text that stands for a value
 * known only at run time.
 */
typedef struct CondValue
{
	bool		isnull;
	Datum		value;
	Oid			type;
	const char *shown;			/* not known: how to show it; else NULL */
} CondValue;

/*
 * The one writer of a mailing scan's parameters, from its conditions'
 * values, for the scan (escape true: as sent) and for EXPLAIN (for
 * reading).  *keys: the key values to read by; *empty: a NULL value rules
 * out every row; *flag_sent: the resource's flag parameter is sent (not
 * for a value known only at run time).
 */
static char *
write_params(MailingScanState *st, CondValue *vals, bool escape, List **keys,
			 bool *empty, bool *flag_sent)
{
	const MailingResource *mr = st->mr;
	TimeStyle	style = st->key == NUM_KEYS ? mr->all_time_style : mr->time_style;
	StringInfoData params;
	bool		have_lower = false,
				have_upper = false,
				have_key = false;
	Timestamp	lower = 0,
				upper = 0;
	const char *lower_shown = NULL,
			   *upper_shown = NULL;
	ListCell   *lc;
	int			i = 0;

	*keys = NIL;
	*empty = false;
	*flag_sent = false;
	initStringInfo(&params);
	appendStringInfoString(&params, mr->params);
	foreach(lc, st->conds)
	{
		List	   *c = lfirst(lc);
		CondRole	role = intVal(linitial(c));
		const char *op = strVal(lthird(c));
		CondValue  *v = &vals[i++];
		const char *text;

		if (v->shown == NULL && v->isnull)
		{
			*empty = true;
			continue;
		}
		text = v->shown;
		switch (role)
		{
			case COND_KEY:
				if (!have_key)
					*keys = list_make1(text ? pstrdup(text) : datum_text(v->value, v->type));
				have_key = true;
				break;
			case COND_KEY_LIST:
				if (!have_key)
					*keys = text ? list_make1(pstrdup(text)) : array_texts(v->value);
				have_key = true;
				break;
			case COND_FLAG:
				if (text == NULL && DatumGetBool(v->value) && !*flag_sent)
				{
					appendStringInfoString(&params, mr->flag_params);
					*flag_sent = true;
				}
				break;
			case COND_ID:
				append_fields_param(&params,
									psprintf("id%s%s", strcmp(op, "=") == 0 ? "==" : op,
											 text ? text : datum_text(v->value, v->type)),
									escape);
				break;
			case COND_TIME:
				{
					Timestamp	ts = text ? 0 : DatumGetTimestamp(v->value);
					Timestamp	ts_hi = ts;
					bool		lo = strcmp(op, "<") != 0 && strcmp(op, "<=") != 0;
					bool		hi = strcmp(op, ">") != 0 && strcmp(op, ">=") != 0;

					/* a timestamptz: Copernica's local time, maybe a range */
					if (text == NULL && v->type == TIMESTAMPTZOID &&
						!local_range(DatumGetTimestampTz(v->value), st->opts->timezone,
									 &ts, &ts_hi))
						break;
					if (style == TIME_FIELDS && ts != ts_hi)
					{
						if (lo && (text = format_time(ts, -1, 0, false)) != NULL)
							append_fields_param(&params, psprintf("%s>=%s", mr->time_column,
																  text),
												escape);
						if (hi && (text = format_time(ts_hi, 1, 0, false)) != NULL)
							append_fields_param(&params, psprintf("%s<=%s", mr->time_column,
																  text),
												escape);
						break;
					}
					if (style == TIME_FIELDS)
					{
						/* Copernica keeps whole seconds: widen a fraction */
						const char *sent = strcmp(op, "=") == 0 ? "==" : op;
						fsec_t		fsec = ts % USECS_PER_SEC;

						if (text == NULL)
							text = format_time(ts, lo ? -1 : 1, 0, false);
						if (fsec != 0)
							sent = strcmp(op, "=") == 0 ? NULL : lo ? ">=" : "<=";
						if (text && sent)
							append_fields_param(&params, psprintf("%s%s%s", mr->time_column,
																  sent, text),
												escape);
						break;
					}
					if (text)
					{
						if (lo)
							lower_shown = text;
						if (hi)
							upper_shown = text;
						break;
					}
					if (lo && (!have_lower || ts > lower))
						lower = ts;
					if (hi && (!have_upper || ts_hi < upper))
						upper = ts_hi;
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
	if (style != TIME_NONE && style != TIME_FIELDS)
	{
		bool		dates = style == TIME_FROMTO;
		const char *lo_name = style == TIME_BEGINEND ? "begintime" :
			style == TIME_FROMDATE || style == TIME_FROMDATE_ONLY ? "fromdate" :
			style == TIME_NEXTRUN ? "nextrunafter" : "from";
		const char *hi_name = style == TIME_BEGINEND ? "endtime" :
			style == TIME_FROMDATE ? "todate" :
			style == TIME_NEXTRUN ? "nextrunbefore" : "to";
		char	   *text;

		if (style == TIME_FROMDATE_ONLY)
		{
			have_upper = false;
			upper_shown = NULL;
		}

		if (lower_shown)
			append_param(&params, lo_name, lower_shown, escape);
		else if (have_lower &&
				 (text = format_time(lower, -1, dates ? -SECS_PER_DAY : -1, dates)) != NULL)
			append_param(&params, lo_name, text, escape);
		else if (dates)
			append_param(&params, lo_name, "0001-01-01", escape);
		if (upper_shown)
			append_param(&params, hi_name, upper_shown, escape);
		else if (have_upper &&
				 (text = format_time(upper, 1, dates ? SECS_PER_DAY : 1, dates)) != NULL)
			append_param(&params, hi_name, text, escape);
		else if (dates)
			append_param(&params, hi_name, "9999-12-31", escape);
	}
	return params.data;
}

/* Evaluate the conditions: the URLs to read and their parameters. */
static void
start_scan(void *arg, ExprContext *econtext)
{
	MailingScanState *st = arg;
	CondValue  *vals;
	List	   *values;
	ListCell   *lc;
	int			i = 0;

	/* the previous run's parts, pagers and values are done with */
	Assert(st->pager == NULL);
	MemoryContextReset(st->loop.scan_cxt);
	st->delivered = 0;
	vals = palloc0(sizeof(CondValue) * Max(list_length(st->conds), 1));
	st->parts = NIL;
	st->part_open = false;
	foreach(lc, st->value_states)
	{
		ExprState  *es = lfirst(lc);

		vals[i].value = ExecEvalExpr(es, econtext, &vals[i].isnull);
		vals[i].type = exprType((Node *) es->expr);
		i++;
	}
	st->params = write_params(st, vals, true, &values, &st->empty, &st->flag_sent);

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

/*
 * The URL of a part: the per-key one with its value, or the account-wide
 * one; escape false: for reading.
 */
static char *
part_path(MailingScanState *st, const char *value, bool escape)
{
	int			key = st->key == KEY_NONE ? KEY_EMAILING : st->key;

	if (value == NULL)
		return pstrdup(st->mr->all_path);
	return psprintf(st->mr->by_path[key],
					escape ? copernica_escape_path_segment(value) : value);
}

/* How a part's listing is paged: limit, the rows still wanted, or 0. */
static void
part_spec(MailingScanState *st, const char *path, char *params, int64 limit,
		  CopernicaPagerSpec *spec)
{
	memset(spec, 0, sizeof(*spec));
	spec->path = path;
	spec->params = params;
	spec->order = "";
	spec->page_size = st->opts->page_size;
	spec->max_concurrency = st->opts->max_concurrency;
	spec->limit = limit;
	spec->size_hint = -1;
	spec->min_id_hint = spec->max_id_hint = -1;
}

/* The query of a request for one bare object (statistics), or NULL. */
static char *
bare_query(char *params)
{
	return params[0] == '&' ? params + 1 : NULL;
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
next_page(void *arg)
{
	MailingScanState *st = arg;
	MemoryContext old;

	MemoryContextReset(st->loop.page_cxt);
	st->loop.page = NULL;
	for (;;)
	{
		CopernicaRequest *req;
		CopernicaResponse *resp;
		ErrorContextCallback errcb;
		CopernicaPage *page;

		if (st->empty)
			return false;
		if (!st->part_open)
		{
			/* a pushed LIMIT ends the scan when it is reached */
			if (st->parts == NIL || (st->limit > 0 && st->delivered >= st->limit))
				return false;
			st->part_value = linitial(st->parts);
			st->parts = list_delete_first(st->parts);
			st->part_open = true;
			old = MemoryContextSwitchTo(st->loop.scan_cxt);
			if (st->mr->envelope)
			{
				CopernicaPagerSpec spec;

				part_spec(st, part_path(st, st->part_value, true), st->params,
						  st->limit > 0 ? st->limit - st->delivered : 0, &spec);

				/*
				 * The size lets the pager keep pages in flight: with a
				 * limit, that many rows at the most, known without asking.
				 */
				spec.size_hint = spec.limit > 0 ? spec.limit :
					st->part_value == NULL ? listing_size(st, spec.path) : 0;
				st->pager = copernica_pager_begin(st->conn, &st->stats, &spec);
				MemoryContextSwitchTo(old);
				continue;
			}
			MemoryContextSwitchTo(old);

			/* one bare object per request: the statistics */
			old = MemoryContextSwitchTo(st->loop.page_cxt);
			req = palloc0(sizeof(CopernicaRequest));
			resp = palloc0(sizeof(CopernicaResponse));
			req->method = "GET";
			req->path = part_path(st, st->part_value, true);
			req->query = bare_query(st->params);
			copernica_perform(st->conn, req, resp, &st->stats);
			errcb.callback = copernica_request_error_callback;
			errcb.arg = req;
			errcb.previous = error_context_stack;
			error_context_stack = &errcb;
			st->loop.page = copernica_parse_page(resp->body.data, resp->body.len, false,
												 st->paths, st->loop.npaths);
			error_context_stack = errcb.previous;
			MemoryContextSwitchTo(old);
			st->pages++;
			st->delivered += st->loop.page->nitems;
			st->part_open = false;
			st->loop.next_item = 0;
			return true;
		}

		page = copernica_next_page(st->pager, NULL, st->paths, st->loop.npaths, -1,
								   st->loop.page_cxt);
		if (page == NULL)
		{
			copernica_pager_end(st->pager);
			st->pager = NULL;
			st->part_open = false;
			continue;
		}
		st->pages++;
		st->delivered += page->nitems;
		st->loop.page = page;
		st->loop.next_item = 0;
		return true;
	}
}

/*
 * A key of the object an item holds at a column's key ({"total":3,...}),
 * and whether that is an object or array itself.  A string is no object,
 * even one that reads like one.
 */
static const char *
nested_value(const char *object, bool object_is_json, const char *sub,
			 bool *is_json)
{
	CopernicaValuePath path = {COPERNICA_SRC_PROPERTY, sub};
	CopernicaPage *page;

	*is_json = false;
	if (object == NULL || !object_is_json || object[0] != '{')
		return NULL;
	page = copernica_parse_page((char *) object, strlen(object), false, &path, 1);
	if (page->nitems != 1)
		return NULL;
	*is_json = page->is_json[0];
	return page->values[0];
}

/*
 * A column's value: a nested key's, or, where the per-key listings leave
 * out the key itself, the URL's.
 */
static const char *
column_value(void *arg, int i, const char *value, bool *is_json)
{
	MailingScanState *st = arg;
	MailingScanColumn *col = &st->columns[i];
	int			key = st->key == KEY_NONE ? KEY_EMAILING : st->key;

	if (col->sub)
		value = nested_value(value, *is_json, col->sub, is_json);
	if (value == NULL && col->role != KEY_NONE && col->role == key && st->part_value)
	{
		value = st->part_value;
		*is_json = false;
	}
	/* what the flag's parameter selected, where the items do not say */
	if (value == NULL && col->is_flag && st->flag_sent)
	{
		value = "true";
		*is_json = false;
	}
	return value;
}

static const CopernicaRowHooks mailing_hooks = {
	.start = start_scan,
	.next_page = next_page,
	.column_value = column_value,
};

TupleTableSlot *
copernica_mailing_iterate(ForeignScanState *node)
{
	MailingScanState *st = node->fdw_state;

	return copernica_row_loop_next(&st->loop, node);
}

void
copernica_mailing_rescan(ForeignScanState *node)
{
	MailingScanState *st = node->fdw_state;

	if (st->pager)
		copernica_pager_end(st->pager);
	st->pager = NULL;
	st->part_open = false;
	copernica_row_loop_rescan(&st->loop);
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

/* The first request a listing's pager makes, built by the pager. */
static void
explain_first_request(const char *label, CopernicaPagerSpec *spec, ExplainState *es)
{
	CopernicaRequest *req = copernica_pager_first_request(spec);

	if (req)
		ExplainPropertyText(label, copernica_request_describe(req), es);
}

/*
 * The first request of the scan as it would be sent, unescaped for
 * reading, written by the code that writes the scan's requests: the
 * plan's constants as sent, other values as the filter shows them.  None
 * when a constant rules out every row.  Reading every emailing's listing
 * starts with the emailings.
 */
static void
explain_requests(ForeignScanState *node, MailingScanState *st, ExplainState *es)
{
	ForeignScan *fsplan = (ForeignScan *) node->ss.ps.plan;
	CondValue  *vals = palloc0(sizeof(CondValue) * Max(list_length(st->conds), 1));
	CopernicaPagerSpec spec;
	List	   *keys;
	bool		empty;
	bool		flag_sent;
	char	   *params;
	char	   *path;
	const char *part;
	ListCell   *lc1,
			   *lc2;
	int			i = 0;

	forboth(lc1, st->conds, lc2, fsplan->fdw_exprs)
	{
		Expr	   *value = lfirst(lc2);

		if (IsA(value, Const))
		{
			vals[i].isnull = ((Const *) value)->constisnull;
			vals[i].value = ((Const *) value)->constvalue;
			vals[i].type = ((Const *) value)->consttype;
		}
		else
			vals[i].shown = strVal(lfourth((List *) lfirst(lc1)));
		i++;
	}
	params = write_params(st, vals, false, &keys, &empty, &flag_sent);
	if (empty || (st->key != NUM_KEYS && st->key != KEY_NONE && keys == NIL))
		return;
	if (st->key == KEY_NONE)
	{
		emailings_spec(st, &spec);
		explain_first_request("Copernica Emailings Request", &spec, es);
	}
	part = st->key == NUM_KEYS ? NULL :
		st->key == KEY_NONE ? "(each emailing)" : linitial(keys);
	path = part_path(st, part, false);
	if (st->mr->envelope)
	{
		part_spec(st, path, params, st->limit, &spec);
		explain_first_request("Copernica Request", &spec, es);
	}
	else
		ExplainPropertyText("Copernica Request",
							bare_query(params) ?
							psprintf("GET %s?%s", path, bare_query(params)) :
							psprintf("GET %s", path), es);
}

void
copernica_mailing_explain(ForeignScanState *node, ExplainState *es)
{
	MailingScanState *st = node->fdw_state;

	ExplainPropertyText("Copernica", psprintf("GET %s", st->path_text), es);
	if (st->filter_text[0] != '\0')
		ExplainPropertyText("Copernica Filter", st->filter_text, es);
	if (st->limit > 0)
		ExplainPropertyInteger("Copernica Limit", NULL, st->limit, es);
	if (es->verbose)
		explain_requests(node, st, es);
	if (es->analyze)
	{
		ExplainPropertyInteger("Copernica Requests", NULL, st->stats.requests, es);
		ExplainPropertyInteger("Copernica Pages", NULL, st->pages, es);
	}
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
