/*-------------------------------------------------------------------------
 *
 * mailing_fetch.c
 *		  The parts of a per-key mailing scan (one listing or one object per
 *		  emailing, profile, ...), read with several in flight at once: the
 *		  front part's next request and the first requests of the parts
 *		  after it, up to a window, all in one batch.  Answers come back
 *		  part by part, in the parts' order, each part's pages in order, so
 *		  the rows come as they did when the parts were read one after
 *		  another; the requests are the same ones (a listing is paged by
 *		  offset one page at a time, as pager.c pages a listing of unknown
 *		  size, and ends at its first short page).  At most window answers
 *		  are held.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "miscadmin.h"
#include "utils/memutils.h"

#include "copernica_fdw.h"
#include "mailing.h"

typedef struct FetchSlot
{
	int			unit;
	int64		start;
	int			asked;
	CopernicaRequest req;
	int			handle;
} FetchSlot;

struct MailingFetch
{
	MemoryContext cxt;
	CopernicaBatch *batch;
	char	  **paths;			/* per unit, escaped */
	int			nunits;
	int			next_unit;		/* the first unit not yet asked for */
	char	   *query;			/* after start/limit/total; or a bare one */
	bool		paged;
	int			page_size;
	int			window;
	bool		accept_missing; /* HTTP 400 answers are the caller's */
	FetchSlot  *slots;			/* in flight, in the order to return */
	int			nslots;
	FetchSlot	current;		/* returned, not yet done */
	bool		has_current;
};

/* Send a unit's request for the page at start, at slot position pos. */
static void
send_unit(MailingFetch *mf, int unit, int64 start, int pos)
{
	MemoryContext old = MemoryContextSwitchTo(mf->cxt);
	FetchSlot	s = {0};

	s.unit = unit;
	s.start = start;
	s.asked = mf->page_size;
	s.req.method = "GET";
	s.req.path = mf->paths[unit];
	s.req.accept_error = mf->accept_missing;
	if (mf->paged)
		s.req.query = psprintf("start=" INT64_FORMAT "&limit=%d&total=false%s",
							   start, mf->page_size, mf->query);
	else
		s.req.query = mf->query ? pstrdup(mf->query) : NULL;
	MemoryContextSwitchTo(old);
	memmove(&mf->slots[pos + 1], &mf->slots[pos],
			sizeof(FetchSlot) * (mf->nslots - pos));
	mf->slots[pos] = s;
	mf->nslots++;
	/* the request is copied by the batch; the slot keeps it for errors */
	mf->slots[pos].handle = copernica_batch_add(mf->batch, &mf->slots[pos].req);
}

/* The first requests of the next units, up to the window. */
static void
top_up(MailingFetch *mf)
{
	while (mf->nslots < mf->window && mf->next_unit < mf->nunits)
	{
		CHECK_FOR_INTERRUPTS();
		send_unit(mf, mf->next_unit++, 0, mf->nslots);
	}
}

MailingFetch *
copernica_mailing_fetch_begin(CopernicaConnection *conn, CopernicaStats *stats,
							  char **paths, int nunits, const char *query,
							  bool paged, int page_size, int window,
							  bool accept_missing)
{
	MemoryContext cxt = AllocSetContextCreate(CurrentMemoryContext,
											  "copernica_fdw mailing fetch",
											  ALLOCSET_SMALL_SIZES);
	MemoryContext old = MemoryContextSwitchTo(cxt);
	MailingFetch *mf = palloc0(sizeof(MailingFetch));

	mf->cxt = cxt;
	mf->batch = copernica_batch_begin(conn, stats);
	mf->paths = paths;
	mf->nunits = nunits;
	mf->query = query ? pstrdup(query) : NULL;
	mf->paged = paged;
	mf->page_size = page_size;
	mf->window = Max(window, 1);
	mf->accept_missing = accept_missing;
	/* one more: a part's next page goes in front of a full window */
	mf->slots = palloc0(sizeof(FetchSlot) * (mf->window + 1));
	MemoryContextSwitchTo(old);
	return mf;
}

/*
 * The front part's next answer, waited for: NULL when every part is read.
 * *unit: whose; *req, *start, *asked: the request (a listing's page).
 * copernica_mailing_fetch_done must follow before the next call.
 */
CopernicaResponse *
copernica_mailing_fetch_next(MailingFetch *mf, int *unit, CopernicaRequest **req,
							 int64 *start, int *asked)
{
	CopernicaResponse *resp;

	Assert(!mf->has_current);
	top_up(mf);
	if (mf->nslots == 0)
		return NULL;
	mf->current = mf->slots[0];
	mf->nslots--;
	memmove(&mf->slots[0], &mf->slots[1], sizeof(FetchSlot) * mf->nslots);
	mf->has_current = true;
	resp = copernica_batch_wait(mf->batch, mf->current.handle);
	*unit = mf->current.unit;
	*req = &mf->current.req;
	*start = mf->current.start;
	*asked = mf->current.asked;
	return resp;
}

/*
 * The answer last returned is read, and (a listing's page) held nitems:
 * a full page is followed by its part's next, ahead of the other parts.
 */
void
copernica_mailing_fetch_done(MailingFetch *mf, int nitems)
{
	FetchSlot  *cur = &mf->current;

	Assert(mf->has_current);
	mf->has_current = false;
	copernica_batch_forget(mf->batch, cur->handle);
	if (cur->req.query)
		pfree(cur->req.query);
	if (mf->paged && nitems >= cur->asked)
		send_unit(mf, cur->unit, cur->start + cur->asked, 0);
	top_up(mf);
}

void
copernica_mailing_fetch_end(MailingFetch *mf)
{
	copernica_batch_end(mf->batch);
	MemoryContextDelete(mf->cxt);
}
