/*-------------------------------------------------------------------------
 *
 * pager.c
 *		  Which page requests a scan makes, and in which order their pages
 *		  are returned.
 *
 * Four ways to page:
 *	- offset: start=0, 1000, 2000, ... in the order asked for.  Used for
 *	  listings other than profiles and subprofiles, and for a pushed ORDER
 *	  BY on another column than the ID, which is only pushed when the rows
 *	  wanted fit in one request (one_request): offsets shift when rows
 *	  change between requests, by other clients or the statement itself
 *	  (an UPDATE moves the row to the end of the modified order), so a
 *	  second page could miss or repeat rows; it is refused instead.  The
 *	  first page is asked for alone (most tables fit in one); after a full
 *	  page, up to max_concurrency pages are in flight.
 *	- keyset: profiles or subprofiles in ID order (a pushed ORDER BY id, or
 *	  a pushed LIMIT), and a profile's subprofiles: each page asks for IDs
 *	  beyond the last one read (fields[]=id>last, or id<last descending) at
 *	  start=0, one page at a time.  Rows changed or removed meanwhile shift
 *	  nothing; an answer whose IDs do not go on rising (or falling) raises.
 *	- ID lookups: id = ANY(...) with few IDs, one request per ID.
 *	- stripes: every other profile or subprofile scan, UPDATE's and
 *	  DELETE's included.  The ID space is cut into stripes (lo, hi], each
 *	  read by keyset: fields[]=id>last, full pages at start=0 in ascending
 *	  ID order, until a page is short or reaches hi.  Removing or changing
 *	  rows already read shifts nothing, so no row is missed or read twice,
 *	  whatever the table's size or page_size.
 *
 * Stripes are cut where the rows are, not where the IDs are: Copernica's
 * IDs are handed out across all databases, so one table's IDs have dense
 * runs, long gaps and holes, and an even cut of the ID span would give
 * stripes of very different sizes.  A cut is the ID at a row offset: one
 * request start=o&limit=1.  With the table's size known (from planning, or
 * the first page's total), up to max_concurrency stripes of at least two
 * whole pages each are cut at once, so each stripe ends on a full page exactly at its cut and
 * the scan makes about ceil(rows / page_size) + k requests.  With
 * conditions, the size is what matches: a full first page is followed by
 * one request limit=0&total=true that counts it.  Stripes of equal pages
 * end together, so the connections stay busy to the end.  The cuts depend
 * only on the rows, never on how answers are timed, so a scan's requests
 * are the same each time.  The last stripe is open-ended: rows added
 * meanwhile are not missed (a size much grown since planning makes it the
 * longest).  When a stripe ends and no other waits to start, the one
 * with the most whole pages left is cut again at its middle page (one cut
 * request, at most max_concurrency times a scan), so that the connections
 * stay busy to the end even when stripes run at different speeds or the
 * planned size was wrong.  Pages come back in the order they arrive.
 *
 * Large id = ANY(...) lists become stripes too: sorted IDs close together
 * (by the table's density) share a stripe, when that costs fewer requests
 * than one per ID.
 *
 * An ID ceiling (a scan that feeds an INSERT into Copernica reads no row
 * created after it began) is the last stripe's upper bound instead of its
 * open end: the scan costs what it would without one, and its last stripe
 * ends on reaching the ceiling.  ID lookups above it are not made, and
 * offset paging sends it as a condition, and raises should an ID above it
 * come back all the same (a profile's subprofiles document no conditions).
 *
 * In every mode at most max_concurrency pages are in flight, so memory does
 * not grow with the table.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "miscadmin.h"
#include "utils/memutils.h"

#include "copernica_fdw.h"

/* The upper bound of the open-ended stripe. */
#define STRIPE_OPEN			PG_INT64_MAX

/* No table has more rows than this: bounds offset arithmetic. */
#define MAX_ROWS			(INT64CONST(1) << 40)

typedef enum PagerMode
{
	PAGER_OFFSET,
	PAGER_KEYSET,
	PAGER_IDS,
	PAGER_STRIPES
} PagerMode;

typedef enum RequestKind
{
	REQ_PAGE,
	REQ_CUT,					/* the ID at an offset of a stripe */
	REQ_COUNT					/* how many rows match: limit=0&total=true */
} RequestKind;

typedef struct PagerRequest
{
	CopernicaRequest *req;
	int			handle;
	RequestKind kind;
	int64		key;			/* pages are returned smallest key first */
	int64		start;
	int			asked;
	int			stripe;			/* stripes: which one */
	int64		base_pos;		/* a cut or count: stripe's position when sent */
	int64		base_last;		/* a count: stripe 0's last ID when sent */
	bool		first;			/* the scan's first page */
} PagerRequest;

/*
 * Positions are row offsets into the whole listing, as far as known: they
 * estimate how many rows a stripe has left.
 */
typedef struct Stripe
{
	int64		last;			/* read up to this ID */
	int64		hi;				/* up to this ID, or STRIPE_OPEN */
	int64		pos_last;		/* position of last */
	int64		pos_hi;			/* position of hi, or -1 when unknown */
	int64		pos_first;		/* position of its first ID: its length */
	bool		busy;			/* a page is in flight */
	bool		done;
} Stripe;

struct CopernicaPager
{
	CopernicaPagerSpec spec;
	MemoryContext cxt;			/* the pager and its requests */
	CopernicaBatch *batch;
	PagerMode	mode;
	int			capacity;
	PagerRequest *pending;
	int			npending;
	PagerRequest current;		/* the page last returned */
	int64		next_key;

	/* offset */
	bool		ended;
	int64		next_start;

	/* ID lookups */
	int			next_id;

	/* keyset */
	bool		have_last;
	int64		key_last;		/* the last ID read */
	int64		returned;		/* rows read, against the limit */

	/* stripes */
	Stripe	   *stripes;
	int			nstripes;
	int			maxstripes;
	int			next_stripe;	/* stripes before it have been started */
	int			npages;			/* page requests in flight */
	int			ncuts;			/* cut requests in flight */
	bool		cut_planned;	/* the first cuts are decided */
	int			first_cuts_out; /* the first cuts still in flight */
	bool		count_out;		/* the count is in flight */
	int			recuts;			/* stripes split since the first cuts */
};

/*
 * Callers run in short-lived memory (a scan's per-tuple context), so the
 * request lives in the pager's context until its page is done.  A pager
 * without a batch (copernica_pager_first_request) only builds requests.
 */
static void
send_request(CopernicaPager *pg, PagerRequest *pr, const char *extra,
			 bool total, const char *order)
{
	MemoryContext old = MemoryContextSwitchTo(pg->cxt);
	CopernicaRequest *req = palloc0(sizeof(CopernicaRequest));

	req->method = "GET";
	req->path = (char *) pg->spec.path;
	req->accept_error = pg->spec.missing_is_empty;
	req->query = psprintf("start=" INT64_FORMAT "&limit=%d&total=%s%s%s%s",
						  pr->start, pr->asked, total ? "true" : "false",
						  pg->spec.params, extra, order);
	pr->req = req;
	pr->handle = pg->batch ? copernica_batch_add(pg->batch, req) : -1;
	if (pg->npending >= pg->capacity)
		elog(ERROR, "too many Copernica requests in flight");
	pg->pending[pg->npending++] = *pr;
	MemoryContextSwitchTo(old);
}

/* Requests no longer in flight: their memory goes. */
static void
free_request(PagerRequest *pr)
{
	pfree(pr->req->query);
	pfree(pr->req);
	pr->req = NULL;
}

/* Forget what is still in flight: it lies beyond the end. */
static void
drop_pending(CopernicaPager *pg)
{
	while (pg->npending > 0)
	{
		PagerRequest *pr = &pg->pending[--pg->npending];

		copernica_batch_forget(pg->batch, pr->handle);
		free_request(pr);
	}
}

/* ----------------------------------------------------------------
 * offset and ID lookups
 * ----------------------------------------------------------------
 */
static void
send_offset_page(CopernicaPager *pg)
{
	PagerRequest pr = {0};

	pr.start = pg->next_start;
	pr.asked = pg->spec.page_size;
	if (pg->spec.limit > 0 && pg->spec.limit - pg->next_start < pr.asked)
		pr.asked = (int) (pg->spec.limit - pg->next_start);
	pr.key = pg->next_key++;
	pg->next_start += pr.asked;
	send_request(pg, &pr, "", false, pg->spec.order);
}

static void
send_id_lookup(CopernicaPager *pg)
{
	PagerRequest pr = {0};
	int64		id = pg->spec.ids[pg->spec.ids_desc ?
								  pg->spec.nids - 1 - pg->next_id : pg->next_id];

	pr.asked = 1;
	pr.key = pg->next_key++;
	pg->next_id++;
	send_request(pg, &pr, psprintf("&fields%%5B%%5D=id%%3D%%3D" INT64_FORMAT, id),
				 false, pg->spec.order);
}

static bool
more_offset_pages(CopernicaPager *pg)
{
	return !pg->ended &&
		!(pg->spec.limit > 0 && pg->next_start >= pg->spec.limit);
}

/* ----------------------------------------------------------------
 * keyset
 * ----------------------------------------------------------------
 */
static bool
more_keyset_pages(CopernicaPager *pg)
{
	return !pg->ended &&
		!(pg->spec.limit > 0 && pg->returned >= pg->spec.limit);
}

/* The next page: IDs beyond the last one read, at start=0. */
static void
send_keyset_page(CopernicaPager *pg)
{
	PagerRequest pr = {0};
	char	   *bound = "";

	pr.asked = pg->spec.page_size;
	if (pg->spec.limit > 0 && pg->spec.limit - pg->returned < pr.asked)
		pr.asked = (int) (pg->spec.limit - pg->returned);
	pr.key = pg->next_key++;
	if (pg->have_last)
		bound = psprintf("&fields%%5B%%5D=id%s" INT64_FORMAT,
						 pg->spec.keyset_desc ? "%3C" : "%3E", pg->key_last);
	send_request(pg, &pr, bound, false, pg->spec.order);
}

/*
 * Every item must lie beyond the last ID read, in the asked direction:
 * otherwise Copernica ignored the bound or the order, and going on could
 * repeat or skip rows.
 */
static void
check_keyset_page(CopernicaPager *pg, int nitems, CopernicaItemId item_id, void *arg)
{
	int			i;

	for (i = 0; i < nitems; i++)
	{
		int64		id = item_id(arg, i);

		if (pg->have_last &&
			(pg->spec.keyset_desc ? id >= pg->key_last : id <= pg->key_last))
			ereport(ERROR,
					(errcode(ERRCODE_FDW_INVALID_STRING_FORMAT),
					 errmsg("unexpected answer from Copernica"),
					 errdetail("Asked for IDs %s " INT64_FORMAT " in %s order but got " INT64_FORMAT ".",
							   pg->spec.keyset_desc ? "below" : "above",
							   pg->key_last,
							   pg->spec.keyset_desc ? "descending" : "ascending",
							   id)));
		pg->have_last = true;
		pg->key_last = id;
	}
}

/* ----------------------------------------------------------------
 * stripes
 * ----------------------------------------------------------------
 */

/* fields[] that keep a request inside (last, hi] */
static char *
stripe_bounds(int64 last, int64 hi)
{
	char	   *lo_part = last > 0 ?
		psprintf("&fields%%5B%%5D=id%%3E" INT64_FORMAT, last) : "";

	if (hi == STRIPE_OPEN)
		return lo_part;
	return psprintf("%s&fields%%5B%%5D=id%%3C%%3D" INT64_FORMAT, lo_part, hi);
}

static int
add_stripe(CopernicaPager *pg, int64 last, int64 hi, int64 pos_last, int64 pos_hi)
{
	Stripe	   *s;

	if (pg->nstripes >= pg->maxstripes)
	{
		pg->maxstripes *= 2;
		pg->stripes = repalloc(pg->stripes, sizeof(Stripe) * pg->maxstripes);
	}
	s = &pg->stripes[pg->nstripes];
	memset(s, 0, sizeof(Stripe));
	s->last = last;
	s->hi = hi;
	s->pos_last = pos_last;
	s->pos_first = pos_last;
	s->pos_hi = pos_hi;
	return pg->nstripes++;
}

static void
send_stripe_page(CopernicaPager *pg, int i)
{
	Stripe	   *s = &pg->stripes[i];
	PagerRequest pr = {0};

	pr.kind = REQ_PAGE;
	pr.asked = pg->spec.page_size;
	pr.key = pg->next_key++;
	pr.stripe = i;
	pr.first = pr.key == 0;
	s->busy = true;
	pg->npages++;
	send_request(pg, &pr, stripe_bounds(s->last, s->hi), false, "&orderby=id");
}

/*
 * Ask how many rows match, where planning could not know: cuts need it.
 * Only once a first page came back full, so that the many scans that fit
 * in a page never pay for a count.
 */
static void
send_count(CopernicaPager *pg)
{
	PagerRequest pr = {0};

	pr.kind = REQ_COUNT;
	pr.key = pg->next_key++;
	pr.base_pos = pg->stripes[0].pos_last;
	pr.base_last = pg->stripes[0].last;
	pg->count_out = true;
	send_request(pg, &pr, pg->spec.id_ceiling > 0 ?
				 stripe_bounds(0, pg->spec.id_ceiling) : "", true, "");
}

/*
 * The listing holds about total rows, and stripe 0 had read base_pos of
 * them, up to ID base_last, when the total was asked for: cut the rest into
 * up to max_concurrency stripes of whole pages.  Cut j is the ID ending page
 * j * pages / k after base_last, so each stripe ends on a full page at its
 * cut and costs no request beyond its pages.  The cuts depend on what was
 * known when the total was asked for, not on what arrived since, so a scan
 * makes the same requests however its answers are timed.
 */
static void
plan_first_cuts(CopernicaPager *pg, int64 total, int64 base_last, int64 base_pos)
{
	Stripe	   *s = &pg->stripes[0];
	int64		ps = pg->spec.page_size;
	int64		rest;
	int64		pages;
	int			k;
	int			j;

	pg->cut_planned = true;
	total = Min(total, MAX_ROWS);
	s->pos_hi = Max(total, s->pos_last);
	rest = Max(total - base_pos, 0);
	pages = (rest + ps - 1) / ps;
	/* a stripe of one page would cost a cut per page: two at least */
	k = (int) Min(Max(pages / 2, 1), (int64) pg->spec.max_concurrency);
	for (j = 1; j < k; j++)
	{
		PagerRequest pr = {0};

		pr.kind = REQ_CUT;
		pr.start = (j * pages / k) * ps - 1;
		pr.asked = 1;
		pr.key = pg->next_key++;
		pr.stripe = 0;
		pr.base_pos = base_pos;
		pg->ncuts++;
		send_request(pg, &pr, stripe_bounds(base_last, s->hi), false, "&orderby=id");
	}
	pg->first_cuts_out = k - 1;
}

/*
 * A cut came back: the stripe that holds its ID now ends there, and a new
 * one takes the rest.  Stripes already past it ignore it.  A page in
 * flight beyond it is cut short when it arrives.
 */
static void
apply_cut(CopernicaPager *pg, PagerRequest *pr, CopernicaResponse *resp)
{
	static const CopernicaValuePath id_path[] = {{COPERNICA_SRC_PROPERTY, "ID"}};
	CopernicaPage *page;
	int64		id;
	int			i;

	page = copernica_parse_answer(pr->req, resp, true, id_path, 1);
	id = copernica_page_item_id(page, 0, 0);
	if (id < 0)
		return;					/* fewer rows than thought: no cut */

	for (i = 0; i < pg->nstripes; i++)
	{
		Stripe	   *s = &pg->stripes[i];

		if (!s->done && s->last < id && id < s->hi)
		{
			int64		pos = Min(pr->base_pos + pr->start + 1, MAX_ROWS);
			int			n;

			pos = Max(pos, s->pos_last);
			n = add_stripe(pg, id, s->hi, pos, s->pos_hi);
			s = &pg->stripes[i];	/* add_stripe may move the array */
			s->hi = id;
			s->pos_hi = pos;
			(void) n;
			break;
		}
	}
}

/*
 * A connection is idle and no stripe waits to start: split the stripe with
 * the most whole pages left, at the middle page of what follows its page
 * in flight, so that max_concurrency requests stay in flight to the end
 * instead of one long stripe finishing alone.  The cut is whole pages
 * after the stripe's last ID, so both halves end on full pages and the
 * split costs its one cut request; at most max_concurrency splits are
 * made, which keeps the scan within its request bound.  Only a stripe with
 * half its pages or more still ahead, eight at least, is split: stripes cut
 * equal and a little apart by timing end near enough together, and are
 * left as they are, so their requests do not depend on timing.
 */
static void
recut_largest(CopernicaPager *pg)
{
	int64		ps = pg->spec.page_size;
	int			best = -1;
	int64		best_pages = 0;
	int			i;
	PagerRequest pr = {0};
	Stripe	   *s;

	if (pg->recuts >= pg->spec.max_concurrency || pg->ncuts > 0 ||
		!pg->cut_planned || pg->count_out || pg->next_stripe < pg->nstripes ||
		pg->spec.ids_mode)
		return;
	for (i = 0; i < pg->nstripes; i++)
	{
		int64		pages;

		s = &pg->stripes[i];
		if (s->done || s->pos_hi < 0)
			continue;
		/* whole pages left after the one in flight */
		pages = (s->pos_hi - s->pos_last) / ps - (s->busy ? 1 : 0);
		if (pages < 8 || 2 * pages < (s->pos_hi - s->pos_first) / ps)
			continue;
		if (pages > best_pages)
		{
			best = i;
			best_pages = pages;
		}
	}
	if (best < 0)
		return;
	s = &pg->stripes[best];
	pr.kind = REQ_CUT;
	pr.start = ((s->busy ? 1 : 0) + best_pages / 2) * ps - 1;
	pr.asked = 1;
	pr.key = pg->next_key++;
	pr.stripe = best;
	pr.base_pos = s->pos_last;
	pg->ncuts++;
	pg->recuts++;
	send_request(pg, &pr, stripe_bounds(s->last, s->hi), false, "&orderby=id");
}

static void
top_up_stripes(CopernicaPager *pg)
{
	int			max = pg->spec.max_concurrency;
	int			i;

	/*
	 * Until the first cuts are back, nothing more is asked for: each page
	 * then carries its stripe's end, the same however the answers are
	 * timed.  While the count is out, stripe 0 reads its second page,
	 * surely its own (every stripe gets two pages at least).
	 */
	if (pg->first_cuts_out > 0)
		return;
	if (pg->count_out)
	{
		Stripe	   *s = &pg->stripes[0];

		if (!s->done && !s->busy && pg->npages < max &&
			s->pos_last + pg->spec.page_size <= 2 * (int64) pg->spec.page_size)
			send_stripe_page(pg, 0);
		return;
	}

	/* stripes that were read from before go on first, then new ones */
	for (i = 0; i < pg->next_stripe && pg->npages < max; i++)
	{
		Stripe	   *s = &pg->stripes[i];

		if (!s->done && !s->busy)
			send_stripe_page(pg, i);
	}
	while (pg->npages < max && pg->next_stripe < pg->nstripes)
	{
		Stripe	   *s = &pg->stripes[pg->next_stripe];

		if (!s->done && !s->busy)
			send_stripe_page(pg, pg->next_stripe);
		pg->next_stripe++;
	}
	if (pg->npages < max)
		recut_largest(pg);
}

/*
 * Fill the pipe up to max_concurrency requests.  Early, before the page just
 * received is parsed, offset paging does not go past the planned size: only
 * the page's fill says whether there is more.
 */
static void
top_up(CopernicaPager *pg, bool early)
{
	int			max = pg->spec.max_concurrency;

	switch (pg->mode)
	{
		case PAGER_IDS:
			while (pg->npending < max && pg->next_id < pg->spec.nids)
			{
				CHECK_FOR_INTERRUPTS();
				send_id_lookup(pg);
			}
			break;
		case PAGER_STRIPES:
			top_up_stripes(pg);
			break;
		case PAGER_KEYSET:
			/* the next page's bound is the last ID of this one */
			if (!early && pg->npending == 0 && more_keyset_pages(pg))
				send_keyset_page(pg);
			break;
		case PAGER_OFFSET:

			/*
			 * Past the size the table had when planned, ask one page at a
			 * time: only a short page ends the scan, but speculation there is
			 * likely waste.
			 */
			while (pg->npending < max && more_offset_pages(pg) &&
				   ((pg->npending == 0 && !early) || pg->spec.size_hint < 0 ||
					pg->next_start < pg->spec.size_hint))
				send_offset_page(pg);
			break;
	}
}

/*
 * Group sorted IDs into ranges read as stripes, where two neighbours share
 * a range when the rows between them cost less than a request of their
 * own.  Returns the number of ranges, or 0 when one request per ID is as
 * cheap: few IDs, or IDs far apart.  With bounds, fills (lo, hi] pairs.
 */
int
copernica_id_ranges(const int64 *ids, int nids, double density, int page_size,
					int64 **bounds)
{
	int			nranges = 0;
	double		requests = 0;
	double		rows = 0;
	int64	   *b = NULL;
	int			i;

	if (nids <= COPERNICA_ID_LOOKUP_MAX)
		return 0;
	if (density <= 0 || density > 1)
		density = 1;
	if (bounds)
		b = palloc(sizeof(int64) * 2 * nids);
	for (i = 0; i < nids; i++)
	{
		CHECK_FOR_INTERRUPTS();
		if (i > 0 && (double) (ids[i] - ids[i - 1]) * density < page_size / 2.0)
		{
			rows += (double) (ids[i] - ids[i - 1]) * density;
			if (b)
				b[2 * nranges - 1] = ids[i];
			continue;
		}
		requests += ceil(Max(rows, 1.0) / page_size);
		rows = 1;
		if (b)
		{
			b[2 * nranges] = ids[i] - 1;
			b[2 * nranges + 1] = ids[i];
		}
		nranges++;
	}
	requests += ceil(Max(rows, 1.0) / page_size);
	if (requests >= nids)
	{
		if (b)
			pfree(b);
		return 0;
	}
	if (bounds)
		*bounds = b;
	return nranges;
}

/* The table's density (rows per ID) as planning saw it; 1 when unknown. */
static double
planned_density(const CopernicaPagerSpec *spec)
{
	if (spec->size_hint > 0 && spec->min_id_hint > 0 &&
		spec->max_id_hint >= spec->min_id_hint)
		return (double) spec->size_hint /
			((double) (spec->max_id_hint - spec->min_id_hint) + 1.0);
	return 1.0;
}

CopernicaPager *
copernica_pager_begin(CopernicaConnection *conn, CopernicaStats *stats,
					  const CopernicaPagerSpec *spec)
{
	MemoryContext cxt = AllocSetContextCreate(CurrentMemoryContext,
											  "copernica_fdw pager",
											  ALLOCSET_SMALL_SIZES);
	MemoryContext old = MemoryContextSwitchTo(cxt);
	CopernicaPager *pg = palloc0(sizeof(CopernicaPager));
	int64	   *bounds = NULL;
	int			nranges = 0;

	pg->cxt = cxt;
	pg->spec = *spec;
	pg->spec.path = pstrdup(spec->path);
	pg->spec.params = pstrdup(spec->params);
	pg->spec.order = pstrdup(spec->order);
	pg->batch = conn ? copernica_batch_begin(conn, stats) : NULL;
	pg->capacity = 2 * spec->max_concurrency + 2;
	pg->pending = palloc0(sizeof(PagerRequest) * pg->capacity);
	pg->mode = PAGER_OFFSET;
	if (spec->ids_mode)
	{
		pg->mode = PAGER_IDS;
		/* sorted ascending: the IDs above the ceiling are the last */
		while (spec->id_ceiling > 0 && pg->spec.nids > 0 &&
			   spec->ids[pg->spec.nids - 1] > spec->id_ceiling)
			pg->spec.nids--;
		if (spec->by_id)
			nranges = copernica_id_ranges(spec->ids, pg->spec.nids,
										  planned_density(spec),
										  spec->page_size, &bounds);
	}
	else if (spec->by_id && spec->limit == 0)
		pg->mode = PAGER_STRIPES;
	else if (spec->keyset)
		pg->mode = PAGER_KEYSET;
	if (!spec->ids_mode && pg->mode != PAGER_STRIPES && spec->id_ceiling > 0)
	{
		/* rows in another order, or a limit: the ceiling is a condition */
		pg->spec.params = psprintf("%s%s", pg->spec.params,
								   stripe_bounds(0, spec->id_ceiling));
		pg->spec.params_filter = true;
	}

	pg->maxstripes = Max(nranges, 4);
	pg->stripes = palloc0(sizeof(Stripe) * pg->maxstripes);
	if (nranges > 0)
	{
		/* an ID list read by ranges: the stripes are given */
		int			i;

		pg->mode = PAGER_STRIPES;
		pg->cut_planned = true;
		for (i = 0; i < nranges; i++)
			add_stripe(pg, bounds[2 * i], bounds[2 * i + 1], 0, -1);
		pg->next_key = 1;		/* no page is the scan's first */
	}
	else if (pg->mode == PAGER_STRIPES)
	{
		add_stripe(pg, 0, spec->id_ceiling > 0 ? spec->id_ceiling : STRIPE_OPEN,
				   0, -1);

		/*
		 * The table's size as planned holds for a scan without conditions:
		 * it is cut at once, beside the first page (see pager_next).
		 * Otherwise a full first page is followed by a count.
		 */
	}
	if (bounds)
		pfree(bounds);
	pg->next_id = 0;
	MemoryContextSwitchTo(old);
	return pg;
}

/* What EXPLAIN ANALYZE says of an ID list: ranges read, or 0 for lookups. */
int
copernica_pager_id_ranges(CopernicaPager *pg)
{
	return pg->spec.ids_mode && pg->mode == PAGER_STRIPES ? pg->nstripes : 0;
}

/*
 * The next pending request to hand out: in offset and lookup modes the
 * smallest key, waited for; with stripes whichever is done first.
 */
static int
wait_next(CopernicaPager *pg, CopernicaResponse **resp)
{
	int			best = 0;
	int			i;

	if (pg->mode == PAGER_STRIPES)
	{
		int		   *handles = palloc(sizeof(int) * pg->npending);

		for (i = 0; i < pg->npending; i++)
			handles[i] = pg->pending[i].handle;
		best = copernica_batch_wait_any(pg->batch, handles, pg->npending);
		pfree(handles);
	}
	else
	{
		for (i = 1; i < pg->npending; i++)
			if (pg->pending[i].key < pg->pending[best].key)
				best = i;
	}
	*resp = copernica_batch_wait(pg->batch, pg->pending[best].handle);
	return best;
}

/*
 * Nothing is in flight: send what comes next (at the start, the scan's
 * first requests).  False when there is nothing more to read.
 */
static bool
send_more(CopernicaPager *pg)
{
	switch (pg->mode)
	{
		case PAGER_OFFSET:
			if (!more_offset_pages(pg))
				return false;
			send_offset_page(pg);
			break;
		case PAGER_KEYSET:
			if (!more_keyset_pages(pg))
				return false;
			send_keyset_page(pg);
			break;
		case PAGER_IDS:
		case PAGER_STRIPES:
			top_up(pg, false);
			if (pg->npending == 0)
				return false;
			break;
	}

	/*
	 * A scan without conditions knows its size from planning: its first
	 * cuts go out with the first page.
	 */
	if (pg->mode == PAGER_STRIPES && pg->nstripes == 1 &&
		!pg->cut_planned && !pg->spec.params_filter &&
		pg->spec.size_hint > pg->spec.page_size)
		plan_first_cuts(pg, pg->spec.size_hint, 0, 0);
	return true;
}

/*
 * The first request a scan of spec makes, built by the code that sends it
 * but not sent: what EXPLAIN shows.  NULL when the scan makes none.  In
 * the caller's memory.
 */
CopernicaRequest *
copernica_pager_first_request(const CopernicaPagerSpec *spec)
{
	CopernicaPager *pg = copernica_pager_begin(NULL, NULL, spec);
	CopernicaRequest *req = NULL;

	if (send_more(pg))
	{
		CopernicaRequest *first = pg->pending[0].req;

		req = palloc0(sizeof(CopernicaRequest));
		req->method = first->method;
		req->path = pstrdup(first->path);
		req->query = pstrdup(first->query);
	}
	MemoryContextDelete(pg->cxt);
	return req;
}

/*
 * Wait for the next page.  NULL when there are no more.  *req, *start and
 * *asked describe the request, for checking the page.
 */
CopernicaResponse *
copernica_pager_next(CopernicaPager *pg, CopernicaRequest **req,
					 int64 *start, int *asked)
{
	CopernicaResponse *resp;

	for (;;)
	{
		PagerRequest pr;
		int			i;

		if (pg->npending == 0 && !send_more(pg))
			return NULL;

		i = wait_next(pg, &resp);
		pr = pg->pending[i];
		pg->pending[i] = pg->pending[--pg->npending];
		if (pr.kind == REQ_COUNT)
		{
			CopernicaPage *page;

			page = copernica_parse_answer(pr.req, resp, true, NULL, 0);
			pg->count_out = false;
			if (page->has_total && page->total >= 0 && !pg->stripes[0].done)
				plan_first_cuts(pg, page->total, pr.base_last, pr.base_pos);
			copernica_batch_forget(pg->batch, pr.handle);
			free_request(&pr);
			top_up(pg, false);
			continue;
		}
		if (pr.kind == REQ_CUT)
		{
			pg->ncuts--;
			if (pg->first_cuts_out > 0)
				pg->first_cuts_out--;
			apply_cut(pg, &pr, resp);
			copernica_batch_forget(pg->batch, pr.handle);
			free_request(&pr);
			top_up(pg, false);
			continue;
		}
		pg->current = pr;
		break;
	}

	*req = pg->current.req;
	*start = pg->current.start;
	*asked = pg->current.asked;

	/*
	 * Refill the pipe now rather than after the page is parsed, so that the
	 * next requests overlap the parsing.  Not after an offset scan's first
	 * page: whether more is needed, and how, depends on what it holds.
	 */
	if (pg->mode != PAGER_OFFSET || pg->current.start != 0)
		top_up(pg, true);
	return resp;
}

/* How many of a page's items, in ascending ID order, are at most hi. */
static int
items_up_to(int nitems, int64 hi, CopernicaItemId item_id, void *arg)
{
	int			lo = 0;
	int			up = nitems;

	while (lo < up)
	{
		int			mid = lo + (up - lo) / 2;

		if (item_id(arg, mid) <= hi)
			lo = mid + 1;
		else
			up = mid;
	}
	return lo;
}

/*
 * A row created after the scan began came back, though the request bounded
 * the IDs: Copernica ignored the condition, and the scan would read the
 * rows its own INSERT creates.
 */
static void
check_ceiling(CopernicaPager *pg, int nitems, CopernicaItemId item_id, void *arg)
{
	int			i;

	if (pg->spec.id_ceiling <= 0 || item_id == NULL)
		return;
	for (i = 0; i < nitems; i++)
	{
		int64		id = item_id(arg, i);

		if (id > pg->spec.id_ceiling)
			ereport(ERROR,
					(errcode(ERRCODE_FDW_INVALID_STRING_FORMAT),
					 errmsg("unexpected answer from Copernica"),
					 errdetail("Asked for IDs up to " INT64_FORMAT " but got " INT64_FORMAT ".",
							   pg->spec.id_ceiling, id)));
	}
}

/*
 * The page last returned held nitems items, and its envelope said total
 * (or -1).  item_id gives an item's ID.  Decide what to ask for next, and
 * return how many of the items belong to the scan: the rest lie past a
 * stripe's end that was cut while the page was in flight.
 */
int
copernica_pager_done(CopernicaPager *pg, int nitems, int64 total,
					 CopernicaItemId item_id, void *arg)
{
	PagerRequest *cur = &pg->current;
	bool		full = nitems >= cur->asked;
	int			keep = nitems;

	copernica_batch_forget(pg->batch, cur->handle);
	free_request(cur);

	switch (pg->mode)
	{
		case PAGER_IDS:
			check_ceiling(pg, nitems, item_id, arg);
			break;

		case PAGER_OFFSET:
			check_ceiling(pg, nitems, item_id, arg);
			if (!full)
			{
				pg->ended = true;
				drop_pending(pg);
				return keep;
			}
			if (pg->spec.one_request && more_offset_pages(pg))
				ereport(ERROR,
						(errcode(ERRCODE_FDW_ERROR),
						 errmsg("Copernica's rows in the pushed order take more than one request"),
						 errdetail("Paging by offset would miss or repeat rows that change between requests."),
						 errhint("Add a LIMIT of at most page_size rows, or sort by another expression so that the rows are sorted locally.")));
			break;

		case PAGER_KEYSET:
			check_ceiling(pg, nitems, item_id, arg);
			check_keyset_page(pg, nitems, item_id, arg);
			pg->returned += nitems;
			if (!full)
				pg->ended = true;
			break;

		case PAGER_STRIPES:
			{
				Stripe	   *s = &pg->stripes[cur->stripe];
				int64		last_id = -1;

				s->busy = false;
				pg->npages--;
				if (s->hi != STRIPE_OPEN)
					keep = items_up_to(nitems, s->hi, item_id, arg);
				if (keep > 0)
					last_id = item_id(arg, keep - 1);
				if (keep > 0 && last_id <= s->last)
					ereport(ERROR,
							(errcode(ERRCODE_FDW_INVALID_STRING_FORMAT),
							 errmsg("unexpected answer from Copernica"),
							 errdetail("Asked for IDs above " INT64_FORMAT " but got " INT64_FORMAT ".",
									   s->last, last_id)));
				s->pos_last = Min(s->pos_last + keep, MAX_ROWS);
				if (!full || keep < nitems || last_id == s->hi)
					s->done = true;
				else
					s->last = last_id;

				/*
				 * The first page of a large scan: cut the rest by its total,
				 * or count first.  While the count is out, stripe 0 goes on:
				 * every stripe gets two pages at least, so its next page is
				 * surely its own.
				 */
				if (cur->first && !s->done && !pg->cut_planned)
				{
					if (total >= 0)
						plan_first_cuts(pg, total, s->last, s->pos_last);
					else
					{
						pg->cut_planned = true;
						if (pg->spec.max_concurrency > 1)
							send_count(pg);
					}
				}
				break;
			}
	}
	top_up(pg, false);
	return keep;
}

/*
 * The response of the page last returned is handed over to cxt, before
 * copernica_pager_done: a page parsed in place keeps its values in it.
 */
void
copernica_pager_keep_response(CopernicaPager *pg, MemoryContext cxt)
{
	copernica_batch_keep_response(pg->batch, pg->current.handle, cxt);
}

void
copernica_pager_end(CopernicaPager *pg)
{
	copernica_batch_end(pg->batch);
	MemoryContextDelete(pg->cxt);
}

/*
 * Does GET path answer, outside the paging?  One request in the pager's
 * batch (its connection), limit=0: true on success, false when Copernica
 * rejects it with a 400; anything else raises.
 */
bool
copernica_pager_path_exists(CopernicaPager *pg, const char *path)
{
	MemoryContext old = MemoryContextSwitchTo(pg->cxt);
	CopernicaRequest *req = palloc0(sizeof(CopernicaRequest));
	CopernicaResponse *resp;

	req->method = "GET";
	req->path = pstrdup(path);
	req->query = "start=0&limit=0&total=false";
	req->accept_error = true;
	resp = copernica_batch_wait(pg->batch, copernica_batch_add(pg->batch, req));
	MemoryContextSwitchTo(old);
	return resp->status != 400;
}
