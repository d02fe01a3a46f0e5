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

#include <ctype.h>

#include "commands/explain.h"
#include "executor/executor.h"
#include "foreign/fdwapi.h"
#include "foreign/foreign.h"
#include "miscadmin.h"
#include "nodes/nodeFuncs.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/hsearch.h"
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
	bool		is_raw;			/* a body: the answer itself */
	bool		is_variant;		/* a body's type: the URL's */
	bool		is_detail;
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
	Oid			serverid;		/* with userid: where sizes are noted */
	Oid			userid;

	MailingScanColumn *columns; /* like loop.columns */
	CopernicaValuePath *paths;	/* loop.npaths: one per column, then the ID */

	List	   *conds;			/* per condition: role, key, op */
	List	   *value_states;
	int			key;			/* MailingKey; NUM_KEYS: account-wide */
	int64		limit;			/* rows in all, 0 for no limit */
	char	   *limit_text;		/* a LIMIT known at scan start: EXPLAIN's
								 * view of it, or NULL */
	char	   *filter_text;
	char	   *path_text;
	int			flag_column;	/* the flag column's index in columns, or -1 */
	int			emailing_path;	/* paths: the item's emailing, or -1 */
	MemoryContext flag_cxt;		/* the open part's flag IDs */
	MemoryContext cache_cxt;	/* the statement's: flag_cache */
	HTAB	   *flag_cache;		/* emailing -> FlagCacheEntry, for the
								 * per-(sub)profile lookups */
	int			detail_column;	/* the detail column's index, or -1 */
	int			detail_id_path; /* paths: the item's id, for its detail */

	/* this (re)scan */
	bool		empty;			/* a condition's value rules out every row */
	bool		flag_sent;		/* the resource's flag parameter was sent */
	int64		delivered;		/* items of the pages read so far */
	char	   *params;			/* query parameters after start/limit */
	List	   *parts;			/* key values still to read; a NULL value
								 * for the account-wide listing */
	int			emailing_parts; /* per-emailing listings in all, for sizes */
	char	   *part_value;		/* the one being read */
	bool		part_open;
	uint32		variants;		/* a body's types still wanted, by bit */
	const char *variant_shown;	/* EXPLAIN's type known only at run time */
	int			variant;		/* the type being read, or -1 */
	char	   *body;			/* its answer, in the server encoding */
	CopernicaPager *pager;

	/*
	 * Parts read with several in flight (mailing_fetch.c): a part's value
	 * and body type per unit, or none when they are read one by one.
	 */
	MailingFetch *fetch;
	char	  **unit_parts;
	int		   *unit_variants;

	/*
	 * The open part's flag column, where its listing's items lack it: true
	 * for the IDs the emailings' listings hold with the flag's parameter.
	 */
	bool		flag_lookup;
	int64	   *flag_ids;		/* sorted, distinct */
	int			nflag_ids;
	int64		part_items;		/* items of the open part so far */
	bool		part_check;		/* at its end, compare them with nflag_ids */
	bool	   *flags;			/* or, a (sub)profile's: per item of the page */
	char	  **item;			/* the current item's values */

	/*
	 * The page's detail column, per item, from the single objects: read as
	 * rows need them, details_batch at a time (doubling), so that a LIMIT
	 * the executor applies reads few more objects than rows it takes.
	 */
	char	  **details;
	bool	   *details_json;
	int			details_read;	/* items of the page whose objects were read */
	int			details_batch;	/* objects to read at the next row needing one */
} MailingScanState;

static const CopernicaRowHooks mailing_hooks;
static bool parts_overlap(MailingScanState *st);
static bool accept_missing(MailingScanState *st);
static bool part_bare(MailingScanState *st, const char *value);
static int	part_listing(MailingScanState *st);
static void start_fetch(MailingScanState *st);
static void check_error_object(CopernicaResponse *resp);
static void check_own_object(MailingScanState *st, CopernicaPage *page);

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
	st->userid = userid;
	st->serverid = GetForeignTable(RelationGetRelid(st->rel))->serverid;
	st->opts = copernica_get_options(RelationGetRelid(st->rel), userid);
	st->mr = copernica_mailing_find(st->opts->resource);
	st->conds = lthird(priv);
	st->key = intVal(lfourth(priv));
	st->limit = intVal(list_nth(priv, 5));
	if (st->limit < 0)
	{
		st->limit = 0;
		st->limit_text = strVal(lthird(texts));
	}
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
		st->columns[i].is_raw = col.is_raw;
		st->columns[i].is_variant = col.is_variant;
		st->columns[i].is_detail = col.is_detail;
		st->paths[i].source = COPERNICA_SRC_PROPERTY;
		st->paths[i].name = col.key;
		i++;
	}
	/* the ID, for error messages */
	st->paths[st->loop.id_path].source = COPERNICA_SRC_PROPERTY;
	st->paths[st->loop.id_path].name = "ID";

	/*
	 * The flag column, where a listing's items lack it, comes from the
	 * emailings' listings read with the flag's parameter (flag_lookup): a
	 * (sub)profile's listing names each item's emailing, one path more.
	 */
	st->flag_column = -1;
	st->emailing_path = -1;
	for (i = 0; i < st->loop.ncolumns; i++)
		if (st->columns[i].is_flag)
			st->flag_column = i;
	if (st->flag_column >= 0 && (st->mr->flag_keys & MAILING_FLAG_ON(KEY_EMAILING)))
	{
		const MailingColumnDef *def;

		for (def = st->mr->columns; def->name; def++)
			if (strcmp(def->name, mailing_key_columns[KEY_EMAILING]) == 0)
				break;
		if (def->name)
		{
			st->paths = repalloc(st->paths,
								 sizeof(CopernicaValuePath) * (st->loop.npaths + 1));
			st->emailing_path = st->loop.npaths++;
			st->paths[st->emailing_path].source = COPERNICA_SRC_PROPERTY;
			st->paths[st->emailing_path].name = def->key ? def->key : def->name;
		}
	}
	st->flag_cxt = AllocSetContextCreate(estate->es_query_cxt, "copernica_fdw flag",
										 ALLOCSET_DEFAULT_SIZES);
	st->cache_cxt = AllocSetContextCreate(estate->es_query_cxt, "copernica_fdw flag cache",
										  ALLOCSET_DEFAULT_SIZES);

	/* a column only the single object has: read by the item's id */
	st->detail_column = -1;
	st->detail_id_path = -1;
	for (i = 0; i < st->loop.ncolumns; i++)
		if (st->columns[i].is_detail)
			st->detail_column = i;
	if (st->detail_column >= 0)
	{
		st->paths = repalloc(st->paths, sizeof(CopernicaValuePath) * (st->loop.npaths + 1));
		st->detail_id_path = st->loop.npaths++;
		st->paths[st->detail_id_path].source = COPERNICA_SRC_PROPERTY;
		st->paths[st->detail_id_path].name = "id";

		/*
		 * Every emailing's listing, one request more per item: a whole
		 * account's destinations, one by one.  Refused; the account-wide
		 * listing carries the column.
		 */
		if (st->key == KEY_NONE)
		{
			Form_pg_attribute attr =
				TupleDescAttr(tupdesc, list_nth_int(retrieved, st->detail_column) - 1);

			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("column \"%s\" of foreign table \"%s\" cannot be read from every emailing's listing",
							NameStr(attr->attname), RelationGetRelationName(st->rel)),
					 errdetail("The emailings' listings lack %s; only %s and each item's own object (%s) have it, which would be one request per row.",
							   st->mr->detail_column, st->mr->all_path,
							   psprintf(st->mr->detail_path, "$id")),
					 errhint("Add a lower and an upper bound on %s (the scan then reads %s), or a condition on emailing, profile or subprofile, or leave the column out.",
							 st->mr->time_column, st->mr->all_path)));
		}
	}

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

/* A text and where it came in its list, for unique_texts. */
typedef struct TextAt
{
	const char *text;
	int			pos;
} TextAt;

static int
text_at_cmp(const void *a, const void *b)
{
	const TextAt *x = a;
	const TextAt *y = b;
	int			c = strcmp(x->text, y->text);

	if (c != 0)
		return c;
	return x->pos < y->pos ? -1 : x->pos > y->pos;
}

/*
 * The texts without duplicates, each where it first came (the requests
 * follow that order).  Sorted with their positions, so that a long list
 * costs n log n comparisons, not n squared.
 */
static List *
unique_texts(char **texts, int n)
{
	TextAt	   *sorted;
	bool	   *keep;
	List	   *out = NIL;
	int			i;

	if (n == 0)
		return NIL;
	sorted = palloc(sizeof(TextAt) * n);
	keep = palloc0(sizeof(bool) * n);
	for (i = 0; i < n; i++)
	{
		sorted[i].text = texts[i];
		sorted[i].pos = i;
	}
	qsort(sorted, n, sizeof(TextAt), text_at_cmp);
	for (i = 0; i < n; i++)
		if (i == 0 || strcmp(sorted[i].text, sorted[i - 1].text) != 0)
			keep[sorted[i].pos] = true;
	for (i = 0; i < n; i++)
		if (keep[i])
			out = lappend(out, texts[i]);
	pfree(sorted);
	pfree(keep);
	return out;
}

/* The elements of an array value as text, duplicates and NULLs left out. */
static List *
array_texts(Datum array)
{
	Oid			elemtype;
	Datum	   *elems;
	bool	   *nulls;
	char	  **texts;
	int			n,
				i,
				m = 0;

	n = copernica_array_elements(array, &elemtype, &elems, &nulls);
	texts = palloc(sizeof(char *) * Max(n, 1));
	for (i = 0; i < n; i++)
		if (!nulls[i])
			texts[m++] = datum_text(elems[i], elemtype);
	return unique_texts(texts, m);
}

/*
 * The texts of a that b holds too, in a's order.  Sorted copies of b are
 * searched, so that two long lists cost n log n, not n squared.
 */
static int
text_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *) a, *(char *const *) b);
}

static List *
intersect_texts(List *a, List *b)
{
	int			n = list_length(b);
	char	  **sorted = palloc(sizeof(char *) * Max(n, 1));
	List	   *out = NIL;
	ListCell   *lc;
	int			i = 0;

	foreach(lc, b)
		sorted[i++] = lfirst(lc);
	qsort(sorted, n, sizeof(char *), text_cmp);
	foreach(lc, a)
	{
		char	   *t = lfirst(lc);

		if (n > 0 && bsearch(&t, sorted, n, sizeof(char *), text_cmp))
			out = lappend(out, t);
	}
	pfree(sorted);
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
	const CopernicaValuePath id_path[] = {
		{COPERNICA_SRC_PROPERTY, "ID"},
		{COPERNICA_SRC_PROPERTY, st->mr->emailings_count}
	};
	int			npaths = st->mr->emailings_count ? 2 : 1;
	int			nall = 0;
	CopernicaPagerSpec spec;
	CopernicaPager *pager;
	List	   *ids = NIL;

	emailings_spec(st, &spec);
	pager = copernica_pager_begin(st->conn, &st->stats, &spec);
	for (;;)
	{
		CopernicaPage *page;
		int			i;

		page = copernica_next_page(pager, NULL, id_path, npaths, -1,
								   CurrentMemoryContext);
		if (page == NULL)
			break;
		for (i = 0; i < page->nitems; i++)
		{
			char	  **v = page->values + (size_t) i * npaths;
			int64		id;
			int64		count;

			if (v[0] == NULL || !copernica_parse_id(v[0], &id))
				ereport(ERROR,
						(errcode(ERRCODE_FDW_INVALID_STRING_FORMAT),
						 errmsg("unexpected answer from Copernica"),
						 errdetail("An emailing of %s has the ID \"%s\".", spec.path,
								   v[0] ? copernica_redact_excerpt(v[0], strlen(v[0])) :
								   "(none)")));
			nall++;

			/*
			 * It says it has none (0 test groups): its listing is not
			 * asked.  Anything else, a count missing too, is asked.
			 */
			if (npaths == 2 && v[1] != NULL && copernica_parse_integer(v[1], &count) &&
				count == 0)
				continue;
			ids = lappend(ids, psprintf(INT64_FORMAT, id));
		}
	}
	copernica_pager_end(pager);
	copernica_mailing_size_note(st->serverid, st->userid,
								copernica_mailing_size_key(copernica_mailing_find(st->mr->emailings),
														   NUM_KEYS),
								nall, 1, false);
	return ids;
}

/* The bits of all the resource's variants (a body's types). */
static uint32
all_variants(const MailingResource *mr)
{
	uint32		mask = 0;
	int			i;

	for (i = 0; mr->variants && mr->variants[i]; i++)
		mask |= ((uint32) 1) << i;
	return mask;
}

/*
 * The bits of the variants that values name.  A value that is no type has
 * no bit: it stands for no row.
 */
static uint32
variant_mask(const MailingResource *mr, List *values)
{
	uint32		mask = 0;
	ListCell   *lc;
	int			i;

	foreach(lc, values)
	{
		i = copernica_mailing_variant(mr, lfirst(lc));
		if (i >= 0)
			mask |= ((uint32) 1) << i;
	}
	return mask;
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
				have_key = false,
				keys_shown = false;
	Timestamp	lower = 0,
				upper = 0;
	const char *lower_shown = NULL,
			   *upper_shown = NULL;
	ListCell   *lc;
	int			i = 0;

	*keys = NIL;
	*empty = false;
	*flag_sent = false;
	st->variants = ~(uint32) 0;
	st->variant_shown = NULL;
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
			case COND_KEY_LIST:
				{
					List	   *these = text ? list_make1(pstrdup(text)) :
						role == COND_KEY_LIST ? array_texts(v->value) :
						list_make1(datum_text(v->value, v->type));

					/*
					 * Two conditions on the key: the values both allow (a
					 * value known only to EXPLAIN: the first condition's).
					 */
					if (!have_key)
						*keys = these;
					else if (text == NULL && !keys_shown)
						*keys = intersect_texts(*keys, these);
					keys_shown |= text != NULL;
					have_key = true;
				}
				break;
			case COND_VARIANT:
			case COND_VARIANT_LIST:
				if (text)
					st->variant_shown = text;
				else
					st->variants &= variant_mask(st->mr, role == COND_VARIANT_LIST ?
												 array_texts(v->value) :
												 list_make1(datum_text(v->value, v->type)));
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
						!copernica_local_range(DatumGetTimestampTz(v->value),
											   pg_tzset(st->opts->timezone),
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

	/* a type no body has: no rows, and nothing to ask */
	if (mr->variants && (st->variants & all_variants(mr)) == 0)
		*empty = true;

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
	if (st->fetch)
		copernica_mailing_fetch_end(st->fetch);
	st->fetch = NULL;
	MemoryContextReset(st->loop.scan_cxt);
	st->delivered = 0;
	st->details_batch = 1;
	vals = palloc0(sizeof(CondValue) * Max(list_length(st->conds), 1));
	st->parts = NIL;
	st->part_open = false;
	st->flag_lookup = false;
	MemoryContextReset(st->flag_cxt);
	foreach(lc, st->value_states)
	{
		ExprState  *es = lfirst(lc);

		/* after the conditions' values, a LIMIT's */
		if (i == list_length(st->conds))
		{
			st->limit = copernica_evaluate_limit(list_copy_tail(st->value_states, i),
												 econtext);
			break;
		}
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

		/*
		 * More emailings by id than the profiles' lookups go (a list known
		 * only now): one listing costs less than their objects.
		 */
		else if (st->mr->id_is_key && list_length(values) > COPERNICA_ID_LOOKUP_MAX)
			st->parts = list_make1(NULL);
	}
	else
		st->parts = all_emailing_ids(st);
	st->emailing_parts = 0;
	if (part_listing(st) == KEY_EMAILING && st->mr->envelope &&
		!part_bare(st, "") && st->parts != NIL && linitial(st->parts) != NULL)
		st->emailing_parts = list_length(st->parts);
	if (parts_overlap(st))
		start_fetch(st);
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
	spec->missing_is_empty = accept_missing(st);
}

/* The listing a part reads: a key's, or (NUM_KEYS) the account-wide one. */
static int
part_listing(MailingScanState *st)
{
	return st->key == KEY_NONE ? KEY_EMAILING : st->key;
}

/*
 * Is the flag column (ms_destinations' unsubscribed) looked up for this
 * scan's parts?  Where the query uses it, the listing's items lack it, and
 * its parameter was not sent (then every item read is flagged): it is
 * true for the IDs the emailings' listings hold with the parameter, false
 * for the others.  A query that does not use the column asks nothing more.
 */
static bool
needs_flag_lookup(MailingScanState *st, bool flag_sent)
{
	int			listing = part_listing(st);

	return st->flag_column >= 0 && !flag_sent &&
		!(st->mr->flag_items & MAILING_FLAG_ON(listing)) &&
		(st->mr->flag_keys & MAILING_FLAG_ON(KEY_EMAILING)) &&
		(listing == KEY_EMAILING || st->emailing_path >= 0);
}

/*
 * An answer that shows the flag's parameter was not applied: the column
 * cannot be told, and guessing it would filter rows wrongly.
 */
static void
flag_not_applied(MailingScanState *st, const char *path, const char *what)
{
	ereport(ERROR,
			(errcode(ERRCODE_FDW_ERROR),
			 errmsg("unexpected answer from Copernica"),
			 errdetail("GET %s with %s %s: the filter was not applied, so column \"%s\" cannot be told.",
					   path, st->mr->flag_params + 1, what, st->mr->flag_column),
			 errhint("%s carries the column in its items; it is read with both a lower and an upper bound on %s and no condition on %s, profile or subprofile.",
					 st->mr->all_path, st->mr->time_column,
					 mailing_key_columns[KEY_EMAILING])));
}

/* An item's ID from path's listing, which must have one. */
static int64
item_id(const char *idtext, const char *path)
{
	int64		id;

	if (idtext == NULL || !copernica_parse_id(idtext, &id))
		ereport(ERROR,
				(errcode(ERRCODE_FDW_INVALID_STRING_FORMAT),
				 errmsg("unexpected answer from Copernica"),
				 errdetail("An item of %s has the ID \"%s\".", path,
						   idtext ? copernica_redact_excerpt(idtext, strlen(idtext)) :
						   "(none)")));
	return id;
}

static int
int64_cmp(const void *a, const void *b)
{
	int64		x = *(const int64 *) a;
	int64		y = *(const int64 *) b;

	return x < y ? -1 : x > y;
}

/* Sort IDs and drop repeats; the count left. */
static int
sort_unique_ids(int64 *ids, int n)
{
	int			i,
				m = 0;

	if (n == 0)
		return 0;
	qsort(ids, n, sizeof(int64), int64_cmp);
	for (i = 0; i < n; i++)
		if (i == 0 || ids[i] != ids[m - 1])
			ids[m++] = ids[i];
	return m;
}

/*
 * The IDs an emailing's listing holds with the flag's parameter
 * (Unsubscribed=true), with params besides: sorted, distinct, in the
 * current memory context, one page in memory at a time.  An item that
 * carries the column itself, and says false, shows the parameter was
 * ignored.
 */
static int64 *
read_flagged(MailingScanState *st, const char *emailing, const char *params, int *count)
{
	CopernicaValuePath paths[3] = {
		{COPERNICA_SRC_PROPERTY, "ID"}, {COPERNICA_SRC_PROPERTY, "id"},
		{COPERNICA_SRC_PROPERTY, st->paths[st->flag_column].name}
	};
	MemoryContext page_cxt = AllocSetContextCreate(CurrentMemoryContext,
												   "copernica_fdw flag page",
												   ALLOCSET_DEFAULT_SIZES);
	int			cap = 64,
				n = 0,
				i;
	int64	   *ids = palloc(sizeof(int64) * cap);
	CopernicaPagerSpec spec;
	CopernicaPager *pager;
	CopernicaPage *page;
	char	   *path = psprintf(st->mr->by_path[KEY_EMAILING],
								copernica_escape_path_segment(emailing));

	part_spec(st, path, psprintf("%s%s", params, st->mr->flag_params), 0, &spec);
	pager = copernica_pager_begin(st->conn, &st->stats, &spec);
	while ((page = copernica_next_page(pager, NULL, paths, 3, -1, page_cxt)) != NULL)
	{
		for (i = 0; i < page->nitems; i++)
		{
			char	  **v = page->values + (size_t) i * 3;
			bool		flagged;
			int64		id;

			if (v[2] != NULL && (!parse_bool(v[2], &flagged) || !flagged))
				flag_not_applied(st, path,
								 psprintf("listed a destination whose \"%s\" is %s",
										  paths[2].name,
										  copernica_redact_excerpt(v[2], strlen(v[2]))));
			id = item_id(v[0] ? v[0] : v[1], path);
			if (n == cap)
			{
				cap *= 2;
				ids = repalloc_huge(ids, sizeof(int64) * cap);
			}
			ids[n++] = id;
		}
		st->pages++;
		MemoryContextReset(page_cxt);
	}
	copernica_pager_end(pager);
	MemoryContextDelete(page_cxt);
	*count = sort_unique_ids(ids, n);
	return ids;
}

/* An emailing's flagged IDs, as the per-(sub)profile lookups keep them. */
typedef struct FlagCacheEntry
{
	int64		emailing;		/* the key */
	int64	   *ids;
	int			nids;
} FlagCacheEntry;

/*
 * An emailing's flagged IDs for a (sub)profile's rows, read once a
 * statement: a join over many profiles names the same emailings again.
 */
static FlagCacheEntry *
cached_flagged(MailingScanState *st, const char *emailing)
{
	FlagCacheEntry *e;
	MemoryContext old;
	int64		key;
	int64	   *ids;
	int			n;
	bool		found;

	if (!copernica_parse_id(emailing, &key))
		elog(ERROR, "invalid emailing ID \"%s\"", emailing);
	if (st->flag_cache == NULL)
	{
		HASHCTL		ctl;

		ctl.keysize = sizeof(int64);
		ctl.entrysize = sizeof(FlagCacheEntry);
		ctl.hcxt = st->cache_cxt;
		st->flag_cache = hash_create("copernica_fdw flag cache", 64, &ctl,
									 HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	}
	e = hash_search(st->flag_cache, &key, HASH_FIND, NULL);
	if (e)
		return e;
	old = MemoryContextSwitchTo(st->cache_cxt);
	ids = read_flagged(st, emailing, st->mr->params, &n);
	MemoryContextSwitchTo(old);
	e = hash_search(st->flag_cache, &key, HASH_ENTER, &found);
	e->ids = ids;
	e->nids = n;
	return e;
}

/*
 * The flag column of a (sub)profile's page, whose items lack it and whose
 * listing takes no parameter for it: true for the items whose ID is in the
 * flagged listing of the emailing the item names.  Each emailing's is read
 * once a statement, as its first item comes; the (sub)profile's listing
 * itself goes a page at a time like any other, so memory does not grow with
 * it (a listing that never ends is a long scan, not an ever larger one).
 */
static void
look_up_flags(MailingScanState *st, CopernicaPage *page)
{
	MemoryContext old = MemoryContextSwitchTo(st->loop.page_cxt);
	int			npaths = st->loop.npaths;
	char	   *path = part_path(st, st->part_value, false);
	int			i;

	st->flags = palloc0(sizeof(bool) * Max(page->nitems, 1));
	for (i = 0; i < page->nitems; i++)
	{
		char	  **v = page->values + (size_t) i * npaths;
		const char *e = v[st->emailing_path];
		FlagCacheEntry *entry;
		int64		emailing;
		int64		id;

		if (e == NULL || !copernica_parse_id(e, &emailing))
			ereport(ERROR,
					(errcode(ERRCODE_FDW_INVALID_STRING_FORMAT),
					 errmsg("unexpected answer from Copernica"),
					 errdetail("An item of %s names the emailing \"%s\".", path,
							   e ? copernica_redact_excerpt(e, strlen(e)) : "(none)")));
		entry = cached_flagged(st, psprintf(INT64_FORMAT, emailing));
		id = item_id(v[st->loop.id_path], path);
		st->flags[i] = bsearch(&id, entry->ids, entry->nids, sizeof(int64),
							   int64_cmp) != NULL;
	}
	MemoryContextSwitchTo(old);
}

/* An object's ID (or NULL for none) is the one asked for. */
static void
check_object_id(const char *idtext, int64 asked)
{
	int64		id;

	if (idtext == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_INVALID_STRING_FORMAT),
				 errmsg("unexpected answer from Copernica"),
				 errdetail("The object has no ID; " INT64_FORMAT " was asked for.", asked)));
	if (!copernica_parse_id(idtext, &id) || id != asked)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_INVALID_STRING_FORMAT),
				 errmsg("unexpected answer from Copernica"),
				 errdetail("The object has the ID \"%s\"; " INT64_FORMAT " was asked for.",
						   copernica_redact_excerpt(idtext, strlen(idtext)), asked)));
}

/*
 * A detail answer is the object asked for and holds the key (its value may
 * be null): another object's value, or a NULL for a key that is missing,
 * would be a wrong answer that a condition on the column silently acts on.
 */
static void
check_detail(CopernicaPage *obj, int64 asked, const char *key)
{
	if (obj->nitems != 1)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_INVALID_STRING_FORMAT),
				 errmsg("unexpected answer from Copernica"),
				 errdetail("The answer is no object.")));
	check_object_id(obj->values[1], asked);
	if (!obj->path_seen[0])
		ereport(ERROR,
				(errcode(ERRCODE_FDW_INVALID_STRING_FORMAT),
				 errmsg("unexpected answer from Copernica"),
				 errdetail("The object has no \"%s\".", key)));
}

/*
 * The detail column of the page's items from first on (ms_emailings' tags),
 * which only the single object has: one request per item, several in
 * flight, when a row first needs one.  Under a pushed LIMIT the page holds
 * only rows to return, so the rest of it is read at once; otherwise a
 * batch that doubles from one, so that the executor's LIMIT (or a
 * consumer that stops early) costs at most about twice the rows it took,
 * not a page's worth.
 */
static void
read_details(MailingScanState *st, int first)
{
	CopernicaPage *page = st->loop.page;
	CopernicaValuePath paths[2] = {
		{COPERNICA_SRC_PROPERTY, st->paths[st->detail_column].name},
		{COPERNICA_SRC_PROPERTY, "id"}
	};
	MemoryContext old;
	CopernicaBatch *batch;
	CopernicaRequest *reqs;
	int		   *handles;
	int64	   *ids;
	int			npaths = st->loop.npaths;
	int			n = page->nitems - first;
	int			i;

	if (st->limit == 0 && n > st->details_batch)
		n = st->details_batch;
	st->details_batch = Min(st->details_batch * 2, COPERNICA_MAX_PAGE_SIZE);
	old = MemoryContextSwitchTo(st->loop.page_cxt);
	reqs = palloc0(sizeof(CopernicaRequest) * n);
	handles = palloc(sizeof(int) * n);
	ids = palloc(sizeof(int64) * n);
	batch = copernica_batch_begin(st->conn, &st->stats);
	for (i = 0; i < n; i++)
	{
		char	  **v = page->values + (size_t) (first + i) * npaths;
		int64		id = item_id(v[st->detail_id_path] ? v[st->detail_id_path] :
								 v[st->loop.id_path],
								 part_path(st, st->part_value, false));

		ids[i] = id;
		reqs[i].method = "GET";
		reqs[i].path = psprintf(st->mr->detail_path, psprintf(INT64_FORMAT, id));
		handles[i] = copernica_batch_add(batch, &reqs[i]);
	}
	for (i = 0; i < n; i++)
	{
		CopernicaResponse *resp = copernica_batch_wait(batch, handles[i]);
		ErrorContextCallback errcb;
		CopernicaPage *obj;

		errcb.callback = copernica_request_error_callback;
		errcb.arg = &reqs[i];
		errcb.previous = error_context_stack;
		error_context_stack = &errcb;
		check_error_object(resp);
		obj = copernica_parse_page(resp->body.data, resp->body.len, false, paths, 2);
		check_detail(obj, ids[i], paths[0].name);
		error_context_stack = errcb.previous;
		if (obj->values[0])
		{
			st->details[first + i] = pstrdup(obj->values[0]);
			st->details_json[first + i] = obj->is_json[0];
		}
		copernica_batch_forget(batch, handles[i]);
	}
	copernica_batch_end(batch);
	st->details_read = first + n;
	MemoryContextSwitchTo(old);
}

/* The query of a request for one bare object (statistics), or NULL. */
static char *
bare_query(char *params)
{
	return params[0] == '&' ? params + 1 : NULL;
}

/*
 * Is a part (its key value; NULL: the account-wide listing) one bare
 * object rather than a listing?  An emailings table's id reads the
 * emailing's own object.
 */
static bool
part_bare(MailingScanState *st, const char *value)
{
	return !st->mr->envelope ||
		(value != NULL && st->mr->id_is_key && st->key == KEY_EMAILING);
}

/*
 * The query of a bare part's request: an emailing's own object takes no
 * parameters (the conditions are rechecked locally).
 */
static char *
part_query(MailingScanState *st, char *params)
{
	return st->mr->envelope ? NULL : bare_query(params);
}

/*
 * May a part's answer be HTTP 400 "No emailing with supplied ID" (or
 * destination, test group, template, profile, subprofile), no row
 * (copernica_report_unless_missing tells it from other errors)?  Every
 * part read by a key: a condition on the key (emailing = X, a join's
 * parameter, id = X of the emailings) that matches nothing is no row, as
 * the same condition checked locally on a listing would give, whatever
 * the plan.  And every emailing's listing: an emailing removed after the
 * emailings were read has no rows left.  Not the account-wide listing,
 * and only on a listing's first page: a part gone halfway through is an
 * error.
 */
static bool
accept_missing(MailingScanState *st)
{
	return st->key != NUM_KEYS;
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
	page = copernica_parse_answer(&req, &resp, true, NULL, 0);
	if (!page->has_total || page->total < 0)
		return -1;
	/* the whole listing's (no condition sent): for planning the next */
	if (strcmp(st->params, st->mr->params) == 0)
		copernica_mailing_size_note(st->serverid, st->userid,
									copernica_mailing_size_key(st->mr, NUM_KEYS),
									page->total, 1, false);
	return page->total;
}

/*
 * The next of a body's types the conditions let through, in st->variant;
 * false when none is left.  A resource without types has the one request.
 */
static bool
next_variant(MailingScanState *st)
{
	int			i;

	if (st->mr->variants == NULL)
		return true;
	for (i = st->variant + 1; st->mr->variants[i]; i++)
		if (st->variants & (((uint32) 1) << i))
		{
			st->variant = i;
			return true;
		}
	return false;
}

/*
 * Whether a single object's answer holds none: what PHP writes for nothing
 * ([], null, false) or an empty answer.  {} parses, and has no ID.
 */
static bool
absent_answer(const char *body, int len)
{
	static const char *const none[] = {"", "[]", "null", "false", NULL};
	int			i;

	while (len > 0 && isspace((unsigned char) body[len - 1]))
		len--;
	while (len > 0 && isspace((unsigned char) *body))
	{
		body++;
		len--;
	}
	for (i = 0; none[i]; i++)
		if ((int) strlen(none[i]) == len && memcmp(body, none[i], len) == 0)
			return true;
	return false;
}

/*
 * A body's answer as the page of one row: the text itself (column_value
 * gives it, the key and the type).  It is no JSON; but Copernica's error
 * object, which an error may come as with HTTP 200, is taken for what it
 * is.  Checked to be UTF-8 and brought into the server encoding as a
 * page's JSON is; its size is bounded by max_response_size.
 */
/* Copernica's error object, answered with HTTP 200: the error it is. */
static void
check_error_object(CopernicaResponse *resp)
{
	char	   *message = copernica_json_error_message(resp->body.data, resp->body.len);

	if (message)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_ERROR),
				 errmsg("Copernica rejected the request: %s", copernica_redact_message(message))));
}

static CopernicaPage *
body_page(MailingScanState *st, CopernicaResponse *resp)
{
	size_t		len = resp->body.len;
	CopernicaPage *page;

	check_error_object(resp);
	st->body = copernica_body_to_server(resp->body.data, &len);
	page = palloc0(sizeof(CopernicaPage));
	page->nitems = page->count = 1;
	page->npaths = st->loop.npaths;
	page->values = palloc0(sizeof(char *) * st->loop.npaths);
	page->is_json = palloc0(sizeof(bool) * st->loop.npaths);
	page->path_seen = palloc0(sizeof(bool) * st->loop.npaths);
	return page;
}

/*
 * The one request of a bare object (or a body's type), in the current
 * memory context, as a page.  An object that may be absent (a final
 * group) and is, or has no ID, is no row.
 */
static CopernicaPage *
parse_bare(MailingScanState *st, CopernicaRequest *req, CopernicaResponse *resp)
{
	ErrorContextCallback errcb;
	CopernicaPage *page;

	/* the emailing is not there (accept_missing); any other error raises */
	if (resp->status == 400)
	{
		copernica_report_unless_missing(NULL, resp, req, true, NULL, NULL);
		return palloc0(sizeof(CopernicaPage));
	}
	errcb.callback = copernica_request_error_callback;
	errcb.arg = req;
	errcb.previous = error_context_stack;
	error_context_stack = &errcb;
	if (st->mr->raw_column)
		page = body_page(st, resp);
	else if (st->mr->maybe_absent && absent_answer(resp->body.data, resp->body.len))
		page = palloc0(sizeof(CopernicaPage));
	else
	{
		/*
		 * Copernica's error object, which may come with HTTP 200, is that
		 * error: never a row of NULLs (nor, where the object may be absent,
		 * no row).
		 */
		check_error_object(resp);
		page = copernica_parse_page(resp->body.data, resp->body.len, false,
									st->paths, st->loop.npaths);
		if (st->mr->maybe_absent && page->nitems == 1 &&
			page->values[st->loop.id_path] == NULL)
			page->nitems = 0;
		check_own_object(st, page);
	}
	error_context_stack = errcb.previous;
	return page;
}

/*
 * An emailing read by its own URL (publisher/emailing/$id) is that
 * emailing: another's, or one without an ID, would be a wrong row.
 */
static void
check_own_object(MailingScanState *st, CopernicaPage *page)
{
	int64		asked;

	if (!st->mr->envelope || page->nitems != 1 || st->part_value == NULL ||
		!copernica_parse_id(st->part_value, &asked))
		return;
	check_object_id(page->values[st->loop.id_path], asked);
	/* the object the detail column is read from holds it */
	if (st->detail_column >= 0 && !page->path_seen[st->detail_column])
		ereport(ERROR,
				(errcode(ERRCODE_FDW_INVALID_STRING_FORMAT),
				 errmsg("unexpected answer from Copernica"),
				 errdetail("The object has no \"%s\".", st->mr->detail_column)));
}

/* The URL of a part's object (and a body's type), escaped. */
static char *
bare_path(MailingScanState *st, const char *value, int variant)
{
	char	   *path = part_path(st, value, true);

	if (variant >= 0)
		path = psprintf("%s/%s", path, st->mr->variants[variant]);
	return path;
}

static CopernicaPage *
read_bare(MailingScanState *st)
{
	CopernicaRequest *req = palloc0(sizeof(CopernicaRequest));
	CopernicaResponse *resp = palloc0(sizeof(CopernicaResponse));

	req->method = "GET";
	req->path = bare_path(st, st->part_value, st->variant);
	req->query = part_query(st, st->params);
	req->accept_error = accept_missing(st);
	copernica_perform(st->conn, req, resp, &st->stats);
	return parse_bare(st, req, resp);
}

/*
 * Can the parts be read several at a time, with the same requests?  Not
 * the account-wide listing (one part, paged by the pager), not with a
 * pushed LIMIT (a part read ahead may not be needed), not where the flag
 * column is looked up part by part.
 */
static bool
parts_overlap(MailingScanState *st)
{
	return st->key != NUM_KEYS && st->limit == 0 && st->opts->max_concurrency > 1 &&
		!needs_flag_lookup(st, st->flag_sent) && list_length(st->parts) > 1;
}

/* Start reading the parts (each body type of each) several at a time. */
static void
start_fetch(MailingScanState *st)
{
	MemoryContext old = MemoryContextSwitchTo(st->loop.scan_cxt);
	int			nparts = list_length(st->parts);
	int			nvariants = 1;
	/* the parts are all of one key (several: no account-wide one) */
	bool		bare = part_bare(st, linitial(st->parts));
	char	  **paths;
	int			n = 0;
	ListCell   *lc;

	if (st->mr->variants)
		for (nvariants = 0; st->mr->variants[nvariants]; nvariants++)
			;
	paths = palloc(sizeof(char *) * nparts * nvariants);
	st->unit_parts = palloc(sizeof(char *) * nparts * nvariants);
	st->unit_variants = palloc(sizeof(int) * nparts * nvariants);
	foreach(lc, st->parts)
	{
		const char *value = lfirst(lc);
		int			v;

		/* a resource without types: the one unit, v = -1 */
		for (v = st->mr->variants ? 0 : -1; v < (st->mr->variants ? nvariants : 0); v++)
		{
			if (v >= 0 && !(st->variants & (((uint32) 1) << v)))
				continue;
			st->unit_parts[n] = (char *) value;
			st->unit_variants[n] = v;
			paths[n++] = bare ? bare_path(st, value, v) : part_path(st, value, true);
		}
	}
	st->parts = NIL;
	st->fetch = copernica_mailing_fetch_begin(st->conn, &st->stats, paths, n,
											  bare ? part_query(st, st->params) :
											  st->params,
											  !bare, st->opts->page_size,
											  st->opts->max_concurrency,
											  accept_missing(st));
	MemoryContextSwitchTo(old);
}

/*
 * A page arrived: count it, make room for its details (read as rows need
 * them), and hand it to the row loop.
 */
static void
take_page(MailingScanState *st, CopernicaPage *page)
{
	st->pages++;
	st->delivered += page->nitems;
	if (st->detail_column >= 0 && page->nitems > 0 &&
		!page->path_seen[st->detail_column])
	{
		st->details = MemoryContextAllocZero(st->loop.page_cxt,
											 sizeof(char *) * page->nitems);
		st->details_json = MemoryContextAllocZero(st->loop.page_cxt,
												  sizeof(bool) * page->nitems);
		st->details_read = 0;
	}
	else
		st->details = NULL;
	st->loop.page = page;
	st->loop.next_item = 0;
}

/* The next page of the parts read several at a time; false at their end. */
static bool
fetched_page(MailingScanState *st)
{
	CopernicaRequest *req;
	CopernicaResponse *resp;
	CopernicaPage *page;
	MemoryContext old;
	int64		start;
	int			asked;
	int			unit;

	resp = copernica_mailing_fetch_next(st->fetch, &unit, &req, &start, &asked);
	if (resp == NULL)
	{
		copernica_mailing_fetch_end(st->fetch);
		st->fetch = NULL;
		return false;
	}
	st->part_value = st->unit_parts[unit];
	st->variant = st->unit_variants[unit];
	old = MemoryContextSwitchTo(st->loop.page_cxt);
	if (!part_bare(st, st->part_value))
	{
		ErrorContextCallback errcb;

		/* an emailing removed (accept_missing); any other error raises */
		if (resp->status == 400)
		{
			copernica_report_unless_missing(NULL, resp, req, start == 0, NULL, NULL);
			page = palloc0(sizeof(CopernicaPage));
		}
		else
		{
			errcb.callback = copernica_request_error_callback;
			errcb.arg = req;
			errcb.previous = error_context_stack;
			error_context_stack = &errcb;
			page = copernica_parse_page(resp->body.data, resp->body.len, true,
										st->paths, st->loop.npaths);
			copernica_check_page_window(page, start, asked);
			error_context_stack = errcb.previous;
		}
	}
	else
	{
		/* the answer goes with the batch's forgetting it: a copy */
		CopernicaResponse *copy = palloc(sizeof(CopernicaResponse));

		*copy = *resp;
		initStringInfo(&copy->body);
		appendBinaryStringInfo(&copy->body, resp->body.data, resp->body.len);
		page = parse_bare(st, req, copy);
	}
	MemoryContextSwitchTo(old);
	copernica_mailing_fetch_done(st->fetch, page->nitems);
	take_page(st, page);
	return true;
}

/*
 * Every part read: the items per emailing listing, for planning (not with
 * more parameters than always sent, nor with a LIMIT that cut it short).
 */
static void
note_part_sizes(MailingScanState *st)
{
	if (st->emailing_parts > 0 && st->limit == 0 && !st->flag_sent &&
		strcmp(st->params, st->mr->params) == 0)
		copernica_mailing_size_note(st->serverid, st->userid,
									copernica_mailing_size_key(st->mr, KEY_EMAILING),
									st->delivered, st->emailing_parts, true);
	st->emailing_parts = 0;
}

/* The next page of items, from the open part or the next one. */
static bool
next_page(void *arg)
{
	MailingScanState *st = arg;
	MemoryContext old;

	MemoryContextReset(st->loop.page_cxt);
	st->loop.page = NULL;
	st->details = NULL;
	st->flags = NULL;
	for (;;)
	{
		CopernicaPage *page;

		if (st->empty)
			return false;
		if (st->fetch)
		{
			if (fetched_page(st))
				return true;
			note_part_sizes(st);
			return false;
		}
		if (!st->part_open)
		{
			/* a pushed LIMIT ends the scan when it is reached */
			if (st->parts == NIL || (st->limit > 0 && st->delivered >= st->limit))
			{
				if (st->parts == NIL)
					note_part_sizes(st);
				return false;
			}
			st->part_value = linitial(st->parts);
			st->parts = list_delete_first(st->parts);
			st->part_open = true;
			MemoryContextReset(st->flag_cxt);
			st->flag_ids = NULL;
			st->nflag_ids = 0;
			st->part_items = 0;
			st->part_check = false;
			st->flag_lookup = needs_flag_lookup(st, st->flag_sent);
			old = MemoryContextSwitchTo(st->loop.scan_cxt);
			if (!part_bare(st, st->part_value))
			{
				CopernicaPagerSpec spec;

				part_spec(st, part_path(st, st->part_value, true), st->params,
						  st->limit > 0 ? st->limit - st->delivered : 0, &spec);

				/*
				 * An emailing's flagged listing first; read whole, it also
				 * tells an ignored parameter (an equal count, at the end).
				 */
				if (st->flag_lookup && part_listing(st) == KEY_EMAILING)
				{
					MemoryContext fold = MemoryContextSwitchTo(st->flag_cxt);

					st->flag_ids = read_flagged(st, st->part_value, st->params,
												&st->nflag_ids);
					MemoryContextSwitchTo(fold);
					st->part_check = spec.limit == 0;
				}

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
			st->variant = -1;
			continue;
		}

		/* one bare object per request (statistics), or per body type */
		if (st->pager == NULL)
		{
			if (!next_variant(st))
			{
				st->part_open = false;
				continue;
			}
			old = MemoryContextSwitchTo(st->loop.page_cxt);
			st->loop.page = read_bare(st);
			MemoryContextSwitchTo(old);
			st->pages++;
			st->delivered += st->loop.page->nitems;
			if (st->mr->variants == NULL)
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

			/*
			 * Every destination of the emailing (two or more) flagged: the
			 * parameter was most likely ignored (one cannot be told).
			 */
			if (st->part_check && st->nflag_ids >= 2 && st->part_items == st->nflag_ids)
				flag_not_applied(st, part_path(st, st->part_value, false),
								 psprintf("listed every one of its " INT64_FORMAT " destinations",
										  st->part_items));
			continue;
		}
		st->part_items += page->nitems;
		if (st->flag_lookup && part_listing(st) != KEY_EMAILING)
			look_up_flags(st, page);
		take_page(st, page);
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

	/* a body's text and type: the answer's and the URL's */
	if (col->is_raw || (col->is_variant && st->variant >= 0))
	{
		*is_json = false;
		return col->is_raw ? st->body : st->mr->variants[st->variant];
	}
	if (col->sub)
		value = nested_value(value, *is_json, col->sub, is_json);
	/* the single object's, where the listing's item lacks it */
	if (value == NULL && col->is_detail && st->details)
	{
		int			item = st->loop.next_item - 1;

		if (item >= st->details_read)
		{
			/* a failed request names itself, not the row being converted */
			CopernicaScanColumn *converting = st->loop.converting;

			st->loop.converting = NULL;
			read_details(st, item);
			st->loop.converting = converting;
		}
		value = st->details[item];
		*is_json = st->details_json[item];
	}
	if (value == NULL && col->role != KEY_NONE && col->role == key && st->part_value)
	{
		value = st->part_value;
		*is_json = false;
	}
	/* what the flag's parameter selected, where the items do not say */
	if (value == NULL && col->is_flag && st->flag_lookup && st->flags)
	{
		value = st->flags[st->loop.next_item - 1] ? "true" : "false";
		*is_json = false;
	}
	else if (value == NULL && col->is_flag && st->flag_lookup)
	{
		int64		id = item_id(st->item[st->loop.id_path],
								 part_path(st, st->part_value, false));

		value = bsearch(&id, st->flag_ids, st->nflag_ids, sizeof(int64), int64_cmp) ?
			"true" : "false";
		*is_json = false;
	}
	else if (value == NULL && col->is_flag && st->flag_sent)
	{
		value = "true";
		*is_json = false;
	}

	/* never a NULL that a condition on it would silently drop */
	if (value == NULL && col->is_flag)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_INVALID_STRING_FORMAT),
				 errmsg("unexpected answer from Copernica"),
				 errdetail("An item of %s has no \"%s\".",
						   part_path(st, st->part_value, false), st->paths[i].name)));
	return value;
}

/* The item whose columns come next, for column_value. */
static void
remember_item(void *arg, char **values)
{
	MailingScanState *st = arg;

	st->item = values;
}

static const CopernicaRowHooks mailing_hooks = {
	.start = start_scan,
	.next_page = next_page,
	.check_item = remember_item,
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
	if (st->fetch)
		copernica_mailing_fetch_end(st->fetch);
	st->fetch = NULL;
	st->part_open = false;
	copernica_row_loop_rescan(&st->loop);
}

void
copernica_mailing_end(ForeignScanState *node)
{
	MailingScanState *st = node->fdw_state;

	if (st && st->pager)
		copernica_pager_end(st->pager);
	if (st && st->fetch)
		copernica_mailing_fetch_end(st->fetch);
	if (st)
	{
		st->pager = NULL;
		st->fetch = NULL;
	}
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
	bool		flag_unknown = false;
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
		else if (intVal(linitial((List *) lfirst(lc1))) == COND_FLAG)
		{
			/* whether it is sent is known only at run time */
			vals[i].shown = "";
			flag_unknown = true;
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
	if (st->mr->variants)
	{
		const char *type = st->variant_shown;
		int			v;

		for (v = 0; type == NULL && st->mr->variants[v]; v++)
			if (st->variants & (((uint32) 1) << v))
				type = st->mr->variants[v];
		path = psprintf("%s/%s", path, type);
	}
	if (!part_bare(st, part))
	{
		part_spec(st, path, params, st->limit, &spec);
		explain_first_request("Copernica Request", &spec, es);
	}
	else
		ExplainPropertyText("Copernica Request",
							part_query(st, params) ?
							psprintf("GET %s?%s", path, part_query(st, params)) :
							psprintf("GET %s", path), es);

	if (st->detail_column >= 0)
		ExplainPropertyText(psprintf("Copernica %c%s Request",
									 pg_toupper(st->mr->detail_column[0]),
									 st->mr->detail_column + 1),
							psprintf("GET %s", psprintf(st->mr->detail_path, "(each item's id)")),
							es);

	/* the flag column's lookups: an emailing's, or those of each it lists */
	if (!flag_unknown && needs_flag_lookup(st, flag_sent))
	{
		const char *fc = st->mr->flag_column;
		bool		by_emailing = part_listing(st) == KEY_EMAILING;

		part_spec(st, psprintf(st->mr->by_path[KEY_EMAILING],
							   by_emailing ? part : "(each emailing it lists)"),
				  psprintf("%s%s", by_emailing ? params : st->mr->params,
						   st->mr->flag_params), 0, &spec);
		explain_first_request(psprintf("Copernica %c%s Request", pg_toupper(fc[0]), fc + 1),
							  &spec, es);
	}
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
	else if (st->limit_text)
		ExplainPropertyText("Copernica Limit", st->limit_text, es);
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
