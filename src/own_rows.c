/*-------------------------------------------------------------------------
 *
 * own_rows.c
 *		  The profiles and subprofiles this transaction created, and which
 *		  scans must not see them.
 *
 * PostgreSQL never shows a scan the rows its own transaction inserted
 * after the scan's snapshot: a row made by a later command (a cursor's
 * FETCH after an INSERT, a PL/pgSQL loop's INSERTs, a trigger's INSERT
 * while a scan feeds it) is not read.  Copernica has no snapshots, so each
 * ID an INSERT gets back is remembered here with the command that made it,
 * and a scan drops, page by page, the rows of commands its snapshot does
 * not see.  Without that such a statement reads its own new rows, and a
 * loop that inserts one row per row read never ends.
 *
 * Copernica hands out profile and subprofile IDs across all its databases
 * and accounts, so the kind (profile or subprofile) and the ID name one row
 * wherever it is read on one platform (a database's listing, a view's, a
 * collection's, a profile's subprofiles, through any server with any
 * token).  Another endpoint (a test server, a staging platform) hands out
 * its own IDs, so the runs are kept per endpoint: the server's url, its
 * scheme and host in lower case, Copernica's two hosts as one.  A table
 * resolves its endpoint's list once (CopernicaOwnRef), not per row.  Rows
 * other clients create are not here: they show up.
 *
 * The registry lives in a child of TopTransactionContext, so it goes at the
 * transaction's end, commit or abort.  A subtransaction's abort keeps it:
 * the rows it created are still in Copernica, and scans that began before
 * them must still skip them.
 *
 * It keeps runs of consecutive IDs of one command, not one entry per row:
 * Copernica hands out IDs in ascending order across the account, so the
 * rows one command creates are mostly one run (a COPY of a million rows in
 * one run is 16 bytes), and only other clients' rows created meanwhile, or
 * another command's, start a new one.  The runs of a kind are kept in ID
 * order and a scan looks each row up by the run its previous lookup found
 * (pages come in ascending ID order) or else by binary search.  Memory is
 * bounded by the runs; with none, scans pay one test per page.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "utils/memutils.h"

#include "copernica_fdw.h"

/* IDs first .. first + count - 1, all created by command cid */
typedef struct OwnRun
{
	int64		first;
	uint32		count;
	CommandId	cid;
} OwnRun;

/* The runs of one kind of row (profile or subprofile). */
typedef struct OwnRuns
{
	OwnRun	   *runs;			/* ascending, disjoint */
	int64		nruns;
	int64		maxruns;
	int64		hint;			/* the run the last lookup found */
	CommandId	last_cid;		/* the latest command that created any */
} OwnRuns;

/* The runs of one endpoint (the IDs one platform hands out) */
typedef struct OwnEndpoint
{
	struct OwnEndpoint *next;
	char	   *endpoint;
	OwnRuns		runs[2];		/* by kind */
} OwnEndpoint;

static MemoryContext own_cxt = NULL;
static OwnEndpoint *own_endpoints = NULL;

/*
 * Changes when an endpoint's list is added or the registry goes: a
 * reference resolved at another generation looks its list up again (and
 * never follows a pointer into a registry that went).
 */
static uint64 own_generation = 1;

/* The transaction's memory went: so did the registry. */
static void
forget_own_rows(void *arg)
{
	own_cxt = NULL;
	own_endpoints = NULL;
	own_generation++;
}

/* Which kind of row a table's items are, or -1 for neither. */
static int
own_row_kind(const CopernicaResource *res)
{
	switch (res->kind)
	{
		case COPERNICA_PROFILES:
		case COPERNICA_VIEW_PROFILES:
			return COPERNICA_OWN_PROFILE;
		case COPERNICA_SUBPROFILES:
		case COPERNICA_MINIVIEW_SUBPROFILES:
			return COPERNICA_OWN_SUBPROFILE;
		default:
			return -1;
	}
}

/*
 * The endpoint a server's url names, as the registry's key: the scheme and
 * host in lower case (they are case-insensitive), the path as it is (the
 * options took off trailing slashes).  rest.copernica.com is Copernica's
 * platform as api.copernica.com is, and hands out the same IDs.
 */
static char *
endpoint_key(const char *url)
{
	char	   *key = pstrdup(url);
	char	   *p = strstr(key, "://");
	char	   *q;

	/* scheme, "://" and host (and port): up to the next '/' */
	p = p ? p + 3 : key;
	while (*p && *p != '/')
		p++;
	for (q = key; q < p; q++)
		*q = pg_ascii_tolower((unsigned char) *q);
	if (strcmp(key, "https://rest.copernica.com/v2") == 0)
		return pstrdup("https://api.copernica.com/v2");
	return key;
}

/*
 * Which of this transaction's rows a table (resource res of a server with
 * options opts) could read or create: none without a snapshot (no own rows
 * are hidden then) or for other items than profiles and subprofiles.
 */
void
copernica_own_ref_init(CopernicaOwnRef *ref, const CopernicaOptions *opts,
					   const CopernicaResource *res, bool tracked)
{
	ref->kind = tracked ? own_row_kind(res) : -1;
	ref->endpoint = ref->kind >= 0 ? endpoint_key(opts->url) : NULL;
	ref->runs = NULL;
	ref->generation = 0;
}

/*
 * The runs of ref's kind and endpoint, or NULL for none; create makes them.
 * A lookup by name only when the registry changed since the last one.
 */
static OwnRuns *
resolve(CopernicaOwnRef *ref, bool create)
{
	OwnEndpoint *e;

	if (ref->kind < 0)
		return NULL;
	if (ref->generation == own_generation && (ref->runs != NULL || !create))
		return (OwnRuns *) ref->runs;
	for (e = own_endpoints; e != NULL; e = e->next)
		if (strcmp(e->endpoint, ref->endpoint) == 0)
			break;
	if (e == NULL && create)
	{
		if (own_cxt == NULL)
		{
			MemoryContextCallback *cb;

			own_cxt = AllocSetContextCreate(TopTransactionContext,
											"copernica_fdw own rows",
											ALLOCSET_SMALL_SIZES);
			cb = MemoryContextAlloc(own_cxt, sizeof(MemoryContextCallback));
			cb->func = forget_own_rows;
			cb->arg = NULL;
			MemoryContextRegisterResetCallback(own_cxt, cb);
		}
		e = MemoryContextAllocZero(own_cxt, sizeof(OwnEndpoint));
		e->endpoint = MemoryContextStrdup(own_cxt, ref->endpoint);
		e->next = own_endpoints;
		own_endpoints = e;
		own_generation++;
	}
	ref->runs = e ? &e->runs[ref->kind] : NULL;
	ref->generation = own_generation;
	return (OwnRuns *) ref->runs;
}

/*
 * The index of the last run whose first ID is id or below, or -1.  The run
 * the previous lookup found, or the one after it, answers a scan reading in
 * ascending ID order and the INSERT appending IDs without a search.
 */
static int64
find_run(OwnRuns *o, int64 id)
{
	int64		h = o->hint;
	int64		lo = 0;
	int64		hi = o->nruns;

	if (h < o->nruns && o->runs[h].first <= id)
	{
		if (h + 1 == o->nruns || id < o->runs[h + 1].first)
			return h;
		if (h + 2 == o->nruns || id < o->runs[h + 2].first)
		{
			o->hint = h + 1;
			return h + 1;
		}
		lo = h + 2;
	}
	/* runs before lo start at id or below, those from hi on above it */
	while (lo < hi)
	{
		int64		mid = lo + (hi - lo) / 2;

		if (o->runs[mid].first <= id)
			lo = mid + 1;
		else
			hi = mid;
	}
	o->hint = lo > 0 ? lo - 1 : 0;
	return lo - 1;
}

/* Is id in run r?  (id is r->first or above: no overflow in unsigned.) */
static inline bool
in_run(const OwnRun *r, int64 id)
{
	return (uint64) id - (uint64) r->first < r->count;
}

/* Command cid of this transaction created the row id of ref's table. */
void
copernica_own_row_created(CopernicaOwnRef *ref, int64 id, CommandId cid)
{
	OwnRuns    *o = resolve(ref, true);
	OwnRun	   *r;
	int64		i;

	if (o == NULL)
		return;
	if (o->nruns == 0 || cid > o->last_cid)
		o->last_cid = cid;

	i = find_run(o, id);
	if (i >= 0)
	{
		r = &o->runs[i];
		/* an ID comes back once; should it come again, the first command made it */
		if (in_run(r, id))
			return;
		/* the ID after its command's run: the usual case */
		if (r->cid == cid && (uint64) id - (uint64) r->first == r->count &&
			r->count < PG_UINT32_MAX)
		{
			r->count++;
			/* filled the gap to the command's next run: one run */
			if (i + 1 < o->nruns && r[1].cid == cid &&
				(uint64) r[1].first - (uint64) r->first == r->count &&
				(uint64) r->count + r[1].count <= PG_UINT32_MAX)
			{
				r->count += r[1].count;
				memmove(&r[1], &r[2], sizeof(OwnRun) * (o->nruns - i - 2));
				o->nruns--;
			}
			return;
		}
	}
	/* the ID before its command's next run (answers that came in late) */
	if (i + 1 < o->nruns)
	{
		r = &o->runs[i + 1];
		if (r->cid == cid && (uint64) r->first - (uint64) id == 1 &&
			r->count < PG_UINT32_MAX)
		{
			r->first = id;
			r->count++;
			return;
		}
	}

	/* a run of its own, after run i */
	if (o->nruns == o->maxruns)
	{
		int64		n = o->maxruns > 0 ? o->maxruns * 2 : 8;

		o->runs = o->runs ?
			repalloc_huge(o->runs, sizeof(OwnRun) * n) :
			MemoryContextAllocHuge(own_cxt, sizeof(OwnRun) * n);
		o->maxruns = n;
	}
	r = &o->runs[i + 1];
	memmove(&r[1], r, sizeof(OwnRun) * (o->nruns - i - 1));
	r->first = id;
	r->count = 1;
	r->cid = cid;
	o->nruns++;
	o->hint = i + 1;
}

/*
 * Did commands a snapshot of command cid does not see (cid itself or
 * later) create rows of this kind?  The one test a scan makes per page.
 */
bool
copernica_own_rows_since(CopernicaOwnRef *ref, CommandId cid)
{
	OwnRuns    *o = resolve(ref, false);

	return o != NULL && o->nruns > 0 && o->last_cid >= cid;
}

/* Was kind/id created by command cid or later? */
static inline bool
created_since(OwnRuns *o, int64 id, CommandId cid)
{
	int64		i = find_run(o, id);

	return i >= 0 && in_run(&o->runs[i], id) && o->runs[i].cid >= cid;
}

/*
 * Take out of a page the items this transaction created at command cid or
 * later: the scan's snapshot does not see them.  The page's items keep
 * their order.  Returns how many were taken out.
 */
int
copernica_drop_own_rows(CopernicaPage *page, int id_path, CopernicaOwnRef *ref,
						CommandId cid)
{
	OwnRuns    *o;
	int			kept = 0;
	int			i;

	if (!copernica_own_rows_since(ref, cid))
		return 0;
	o = (OwnRuns *) ref->runs;
	for (i = 0; i < page->nitems; i++)
	{
		if (created_since(o, copernica_page_item_id(page, i, id_path), cid))
			continue;
		if (kept != i)
		{
			memcpy(page->values + (size_t) kept * page->npaths,
				   page->values + (size_t) i * page->npaths,
				   sizeof(char *) * page->npaths);
			memcpy(page->is_json + (size_t) kept * page->npaths,
				   page->is_json + (size_t) i * page->npaths,
				   sizeof(bool) * page->npaths);
		}
		kept++;
	}
	i = page->nitems - kept;
	page->nitems = kept;
	return i;
}

/*
 * How many rows of this kind were created at command cid or later, and
 * the smallest of their IDs (0 for none) into *first: a pushed LIMIT reads
 * that many more, since the scan drops them, and a count stops below the
 * first (IDs are handed out in ascending order, so every row with this ID
 * or a higher one was created after such a snapshot).
 */
int64
copernica_own_rows_after(CopernicaOwnRef *ref, CommandId cid, int64 *first)
{
	OwnRuns    *o;
	int64		n = 0;
	int64		i;

	*first = 0;
	if (!copernica_own_rows_since(ref, cid))
		return 0;
	o = (OwnRuns *) ref->runs;
	for (i = 0; i < o->nruns; i++)
	{
		const OwnRun *r = &o->runs[i];

		if (r->cid < cid)
			continue;
		/* the runs are in ascending ID order */
		if (n == 0)
			*first = r->first;
		n += r->count;
	}
	return n;
}
