/*-------------------------------------------------------------------------
 *
 * pager.c
 *		  Which page requests a scan makes, and in which order their pages
 *		  are returned.
 *
 * Three ways to page:
 *	- offset: start=0, 1000, 2000, ... in the order asked for.  Used for
 *	  small tables, a pushed LIMIT, an order other than ascending ID, and
 *	  listings.  The first page is asked for alone (most tables fit in one);
 *	  after a full page, up to max_concurrency pages are in flight.
 *	- ID lookups: id = ANY(...), one request per ID.
 *	- ID ranges: a large table (more than RANGES_MIN_PAGES pages when
 *	  planned) read in ascending ID order.  Copernica serves deep offsets
 *	  slowly, and offsets shift when rows are added or removed during a scan.
 *	  So the ID space is cut into ranges (lo, hi] that are read concurrently
 *	  with fields[]=id>lo and id<=hi, each at start=0, and a range whose page
 *	  is full goes on from its last ID.  Without conditions, the table's ID
 *	  bounds as planning saw them place the ranges from the start, a page
 *	  wide by the table's average density; with conditions, a first page is
 *	  read alone (its density is what counts) while the largest ID matching
 *	  them is asked for beside it.  A range's width doubles after an empty
 *	  range and halves after a full one, so sparse or clustered IDs cost few
 *	  requests.  The first range starts at 0 and the last is open-ended, so
 *	  rows added since planning, or during the scan, are not missed.
 *
 * In every mode at most max_concurrency requests (one more while a range
 * continues) are in flight, so memory does not grow with the table.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "utils/memutils.h"

#include "copernica_fdw.h"

/* Pages of one range: its key is (range number << RANGE_SHIFT) + page. */
#define RANGE_SHIFT		24

/*
 * Ranges cost two requests more than offsets (the largest ID, and the open
 * range at the end): worth it from this many pages on.
 */
#define RANGES_MIN_PAGES	4

typedef enum PagerMode
{
	PAGER_OFFSET,
	PAGER_IDS,
	PAGER_RANGES
} PagerMode;

typedef struct PagerRequest
{
	CopernicaRequest *req;
	int			handle;
	int64		key;			/* pages are returned smallest key first */
	int64		start;
	int			asked;
	bool		in_range;
	bool		range_first;	/* a range's first page */
	int64		lo;				/* range (lo, hi]; hi < 0: open-ended */
	int64		hi;
} PagerRequest;

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
	bool		ended;

	/* offset */
	int64		next_start;
	int64		next_key;

	/* ID lookups */
	List	   *ids;

	/* ID ranges */
	int			max_id_handle;	/* the largest-ID request in flight, or -1 */
	int64		next_lo;
	int64		max_id;
	int64		width;
	int64		first_hi;		/* the first range's end, when planned */
	int64		next_range;
	bool		open_range_sent;
};

/*
 * Callers run in short-lived memory (a scan's per-tuple context), so the
 * request lives in the pager's context until its page is done.
 */
static void
send_request(CopernicaPager *pg, PagerRequest *pr, const char *extra)
{
	MemoryContext old = MemoryContextSwitchTo(pg->cxt);
	CopernicaRequest *req = palloc0(sizeof(CopernicaRequest));

	req->method = "GET";
	req->path = (char *) pg->spec.path;
	req->query = psprintf("start=" INT64_FORMAT "&limit=%d&total=false%s%s%s",
						  pr->start, pr->asked, pg->spec.params, extra,
						  pr->in_range ? "&orderby=id" : pg->spec.order);
	pr->req = req;
	pr->handle = copernica_batch_add(pg->batch, req);
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
	send_request(pg, &pr, "");
}

static void
send_id_lookup(CopernicaPager *pg)
{
	PagerRequest pr = {0};

	pr.asked = 1;
	pr.key = pg->next_key++;
	send_request(pg, &pr, psprintf("&fields%%5B%%5D=id%%3D%%3D%s",
								   (char *) linitial(pg->ids)));
	pg->ids = list_delete_first(pg->ids);
}

static void
send_range_page(CopernicaPager *pg, int64 key, int64 lo, int64 hi, bool first)
{
	PagerRequest pr = {0};

	pr.asked = pg->spec.page_size;
	pr.key = key;
	pr.in_range = true;
	pr.range_first = first;
	pr.lo = lo;
	pr.hi = hi;
	if (hi >= 0)
		send_request(pg, &pr,
					 psprintf("&fields%%5B%%5D=id%%3E" INT64_FORMAT
							  "&fields%%5B%%5D=id%%3C%%3D" INT64_FORMAT, lo, hi));
	else
		send_request(pg, &pr, psprintf("&fields%%5B%%5D=id%%3E" INT64_FORMAT, lo));
}

/* Will a full first page switch this scan to ID ranges? */
static bool
ranges_planned(CopernicaPager *pg)
{
	return pg->spec.ranges_allowed && pg->spec.limit == 0 &&
		(pg->spec.size_hint < 0 ||
		 pg->spec.size_hint > RANGES_MIN_PAGES * pg->spec.page_size);
}

/*
 * The largest ID the scan's conditions let through: where the ranges end.
 * Asked for together with the first page when ranges are likely, so that it
 * costs no round trip of its own.
 */
static void
send_max_id_request(CopernicaPager *pg)
{
	MemoryContext old = MemoryContextSwitchTo(pg->cxt);
	CopernicaRequest *req = palloc0(sizeof(CopernicaRequest));

	req->method = "GET";
	req->path = (char *) pg->spec.path;
	req->query = psprintf("start=0&limit=1&total=false%s&orderby=id&order=desc",
						  pg->spec.params);
	pg->max_id_handle = copernica_batch_add(pg->batch, req);
	MemoryContextSwitchTo(old);
}

static bool
more_offset_pages(CopernicaPager *pg)
{
	return !pg->ended &&
		!(pg->spec.limit > 0 && pg->next_start >= pg->spec.limit);
}

static bool
more_ranges(CopernicaPager *pg)
{
	return pg->next_lo < pg->max_id || !pg->open_range_sent;
}

static void
send_next_range(CopernicaPager *pg)
{
	int64		key = (pg->next_range++) << RANGE_SHIFT;

	if (pg->next_lo < pg->max_id)
	{
		int64		hi = Min(pg->next_lo + pg->width, pg->max_id);

		/* the first range reaches from 0 past the smallest ID */
		if (key == 0 && pg->first_hi > 0)
			hi = pg->first_hi;

		send_range_page(pg, key, pg->next_lo, hi, true);
		pg->next_lo = hi;
	}
	else
	{
		send_range_page(pg, key, pg->max_id, -1, true);
		pg->open_range_sent = true;
	}
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
			while (pg->npending < max && pg->ids != NIL)
				send_id_lookup(pg);
			break;
		case PAGER_RANGES:
			while (pg->npending < max && more_ranges(pg))
				send_next_range(pg);
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

CopernicaPager *
copernica_pager_begin(CopernicaConnection *conn, CopernicaStats *stats,
					  const CopernicaPagerSpec *spec)
{
	MemoryContext cxt = AllocSetContextCreate(CurrentMemoryContext,
											  "copernica_fdw pager",
											  ALLOCSET_SMALL_SIZES);
	MemoryContext old = MemoryContextSwitchTo(cxt);
	CopernicaPager *pg = palloc0(sizeof(CopernicaPager));
	ListCell   *lc;

	pg->cxt = cxt;
	pg->spec = *spec;
	pg->spec.path = pstrdup(spec->path);
	pg->spec.params = pstrdup(spec->params);
	pg->spec.order = pstrdup(spec->order);
	pg->batch = copernica_batch_begin(conn, stats);
	pg->capacity = spec->max_concurrency + 1;
	pg->pending = palloc0(sizeof(PagerRequest) * pg->capacity);
	pg->mode = spec->ids_mode ? PAGER_IDS : PAGER_OFFSET;
	pg->max_id_handle = -1;

	/*
	 * A large table whose ID bounds planning saw: ranges from the start, a
	 * page wide each by the table's average density, with no first page
	 * asked for alone.  The first range starts at 0 and the last is
	 * open-ended, so bounds that have changed since lose nothing.
	 */
	if (!spec->ids_mode && ranges_planned(pg) && spec->size_hint > 0 &&
		spec->min_id_hint > 0 && spec->max_id_hint >= spec->min_id_hint)
	{
		pg->mode = PAGER_RANGES;
		pg->next_lo = 0;
		pg->max_id = spec->max_id_hint;
		pg->width = Max(pg->spec.page_size,
						(spec->max_id_hint - spec->min_id_hint + 1) *
						pg->spec.page_size / spec->size_hint);
		pg->first_hi = Min(spec->min_id_hint - 1 + pg->width, pg->max_id);
	}
	foreach(lc, spec->ids)
		pg->ids = lappend(pg->ids, pstrdup(lfirst(lc)));
	MemoryContextSwitchTo(old);
	return pg;
}

/*
 * Wait for the next page in order.  NULL when there are no more.  *req,
 * *start and *asked describe the request, for checking the page.
 */
CopernicaResponse *
copernica_pager_next(CopernicaPager *pg, CopernicaRequest **req,
					 int64 *start, int *asked)
{
	CopernicaResponse *resp;
	int			best = 0;
	int			i;

	if (pg->npending == 0)
	{
		switch (pg->mode)
		{
			case PAGER_IDS:
				if (pg->ids == NIL)
					return NULL;
				top_up(pg, false);
				break;
			case PAGER_RANGES:
				if (!more_ranges(pg))
					return NULL;
				top_up(pg, false);
				break;
			case PAGER_OFFSET:
				if (!more_offset_pages(pg))
					return NULL;
				send_offset_page(pg);
				if (pg->pending[0].start == 0 &&
					pg->max_id_handle < 0 && ranges_planned(pg))
					send_max_id_request(pg);
				break;
		}
	}

	for (i = 1; i < pg->npending; i++)
		if (pg->pending[i].key < pg->pending[best].key)
			best = i;
	pg->current = pg->pending[best];
	pg->pending[best] = pg->pending[--pg->npending];

	*req = pg->current.req;
	*start = pg->current.start;
	*asked = pg->current.asked;
	resp = copernica_batch_wait(pg->batch, pg->current.handle);

	/*
	 * Refill the pipe now rather than after the page is parsed, so that the
	 * next requests overlap the parsing.  Not after an offset scan's first
	 * page: whether more is needed, and how, depends on what it holds.
	 */
	if (pg->mode != PAGER_OFFSET || pg->current.start != 0)
		top_up(pg, true);
	return resp;
}

/* The answer to the largest-ID request: -1 when there is no row at all. */
static int64
fetch_max_id(CopernicaPager *pg)
{
	static const CopernicaValuePath id_path[] = {{COPERNICA_SRC_PROPERTY, "ID"}};
	CopernicaResponse *resp;
	CopernicaPage *page;
	int64		id = -1;

	if (pg->max_id_handle < 0)
		send_max_id_request(pg);
	resp = copernica_batch_wait(pg->batch, pg->max_id_handle);
	page = copernica_parse_page(resp->body.data, resp->body.len, true, id_path, 1);
	if (page->nitems > 0 && !copernica_parse_id(page->values[0], &id))
		id = -1;
	copernica_batch_forget(pg->batch, pg->max_id_handle);
	pg->max_id_handle = -1;
	return id;
}

/*
 * The page last returned held nitems items, the first and last with these
 * IDs (ascending ID order).  Decide what to ask for next.
 */
void
copernica_pager_done(CopernicaPager *pg, int nitems, int64 first_id, int64 last_id)
{
	PagerRequest *cur = &pg->current;
	bool		full = nitems >= cur->asked;

	copernica_batch_forget(pg->batch, cur->handle);
	free_request(cur);

	switch (pg->mode)
	{
		case PAGER_IDS:
			break;

		case PAGER_OFFSET:
			if (!full)
			{
				pg->ended = true;
				drop_pending(pg);
				if (pg->max_id_handle >= 0)
					copernica_batch_forget(pg->batch, pg->max_id_handle);
				pg->max_id_handle = -1;
				return;
			}
			if (cur->start == 0 && ranges_planned(pg))
			{
				/* a large table: read the rest by ID ranges */
				drop_pending(pg);
				pg->mode = PAGER_RANGES;
				pg->max_id = fetch_max_id(pg);
				pg->next_lo = last_id;
				pg->width = Max(last_id - first_id + 1, pg->spec.page_size);
				if (pg->max_id < last_id)
					pg->max_id = last_id;
			}
			break;

		case PAGER_RANGES:
			if (full && (cur->hi < 0 || last_id < cur->hi))
			{
				/* the range holds more: go on from its last ID, in order */
				send_range_page(pg, cur->key + 1, last_id, cur->hi, false);
				if (cur->range_first)
					pg->width = Max(pg->width / 2, 1);
			}
			else if (cur->range_first && nitems == 0)
				pg->width = Min(pg->width * 2, INT64CONST(1) << 40);
			break;
	}
	top_up(pg, false);
}

void
copernica_pager_end(CopernicaPager *pg)
{
	copernica_batch_end(pg->batch);
	MemoryContextDelete(pg->cxt);
}
