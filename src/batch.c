/*-------------------------------------------------------------------------
 *
 * batch.c
 *		  The multi-handle driver: requests queued into a batch, started up
 *		  to max_concurrency at a time, waited for while honouring query
 *		  cancel and statement_timeout, and taken out of libcurl on abort.
 *
 * Every request goes through a libcurl multi handle, so that one code path
 * serves single requests and concurrent page fetches alike, and so that the
 * backend never blocks inside libcurl for longer than one short poll: query
 * cancel, statement_timeout and pg_terminate_backend are honoured within a
 * fraction of a second.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <curl/curl.h>

#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "portability/instr_time.h"
#include "storage/latch.h"
#include "utils/memutils.h"

#include "copernica_fdw.h"
#include "http_internal.h"

static const char *const method_names[] = {"GET", "POST", "PUT", "DELETE"};

static int	batch_add_internal(CopernicaBatch *batch, CopernicaRequest *req,
							   CopernicaResponse *resp, MemoryContext body_cxt,
							   bool body_cxt_owned);
static void batch_make_room(CopernicaBatch *batch);
static void batch_release(void *arg);
static void batch_abort_running(CopernicaBatch *batch);
static void batch_start_ready(CopernicaBatch *batch);
static void batch_drive(CopernicaBatch *batch, Transfer **targets, int ntargets);
static void conn_collect_completions(CopernicaConnection *conn);


/* ----------------------------------------------------------------
 * Requests and batches
 * ----------------------------------------------------------------
 */

char *
copernica_request_describe(const CopernicaRequest *req)
{
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfoString(&buf, req->method ? req->method : "GET");
	appendStringInfoChar(&buf, ' ');
	appendStringInfoString(&buf, req->path ? req->path : "");
	if (req->query && req->query[0] != '\0')
		appendStringInfo(&buf, "?%s", req->query);
	return buf.data;
}

/*
 * The request as an error's context shows it: without the token, and cut
 * short, since a key value from a query can make a URL of any length.
 */
char *
copernica_request_shown(const CopernicaRequest *req)
{
	char	   *s = copernica_redact(copernica_request_describe(req));
	int			len = strlen(s);

	if (len <= COPERNICA_REQUEST_SHOWN_MAX)
		return s;
	return psprintf("%.*s... (%d bytes)",
					pg_mbcliplen(s, len, COPERNICA_REQUEST_SHOWN_MAX), s, len);
}

/*
 * One request, start to finish: a batch of one.  The response body is
 * allocated in the caller's memory context so that it outlives the batch.
 */
void
copernica_perform(CopernicaConnection *conn, CopernicaRequest *req,
				  CopernicaResponse *resp, CopernicaStats *stats)
{
	MemoryContext callercxt = CurrentMemoryContext;
	CopernicaBatch *batch;
	int			h;

	batch = copernica_batch_begin(conn, stats);
	h = batch_add_internal(batch, req, resp, callercxt, false);
	(void) copernica_batch_wait(batch, h);
	copernica_batch_end(batch);
}

CopernicaBatch *
copernica_batch_begin(CopernicaConnection *conn, CopernicaStats *stats)
{
	MemoryContext cxt;
	MemoryContext oldcxt;
	CopernicaBatch *batch;
	StringInfoData token;
	int64		limit;

	copernica_conn_ensure_handles(conn);

	cxt = AllocSetContextCreate(CurrentMemoryContext, "copernica_fdw batch",
								ALLOCSET_DEFAULT_SIZES);
	oldcxt = MemoryContextSwitchTo(cxt);

	batch = palloc0(sizeof(CopernicaBatch));
	batch->cxt = cxt;
	batch->conn = conn;
	batch->stats = stats;
	batch->url = pstrdup(conn->url);
	batch->access_token = pstrdup(conn->access_token);
	initStringInfo(&token);
	copernica_append_url_escaped(&token, conn->access_token);
	batch->escaped_token = token.data;
	batch->ssl_verify = conn->ssl_verify;
	batch->proxy = pstrdup(conn->proxy);
	batch->connect_timeout = Max(conn->connect_timeout, 0);
	batch->request_timeout = Max(conn->request_timeout, 0);
	batch->max_concurrency = Max(conn->max_concurrency, 1);
	batch->max_retries = Max(conn->max_retries, 0);
	batch->max_retry_time = Max(conn->max_retry_time, 0);

	/* leave room for the terminating NUL of a StringInfo */
	limit = MaxAllocSize - 2;
	batch->limit_is_option = false;
	if (conn->max_response_size > 0 && conn->max_response_size < limit)
	{
		limit = conn->max_response_size;
		batch->limit_is_option = true;
	}
	batch->body_limit = (size_t) limit;

	batch->maxtransfers = 8;
	batch->transfers = palloc(sizeof(Transfer *) * batch->maxtransfers);

	/* libcurl holds back transfers beyond this; match our own limit */
	if (conn->host_limit != batch->max_concurrency)
	{
		conn->host_limit = batch->max_concurrency;
		(void) curl_multi_setopt(conn->multi, CURLMOPT_MAX_HOST_CONNECTIONS,
								 conn->host_limit);
	}

	/*
	 * However the batch's memory goes away, at batch end or in an abort, its
	 * easy handles must leave the multi handle first: libcurl would
	 * otherwise write into freed memory on the next transfer.
	 */
	batch->release_cb.func = batch_release;
	batch->release_cb.arg = batch;
	MemoryContextRegisterResetCallback(cxt, &batch->release_cb);

	MemoryContextSwitchTo(oldcxt);
	return batch;
}

int
copernica_batch_add(CopernicaBatch *batch, CopernicaRequest *req)
{
	MemoryContext cxt;
	CopernicaResponse *resp;

	/*
	 * Each response in a context of its own, so that forgetting the request
	 * frees all of it at once, or copernica_batch_keep_response hands it
	 * over whole.
	 */
	cxt = AllocSetContextCreate(batch->cxt, "copernica_fdw response",
								ALLOCSET_SMALL_SIZES);
	resp = MemoryContextAllocZero(cxt, sizeof(CopernicaResponse));
	return batch_add_internal(batch, req, resp, cxt, true);
}

static int
batch_add_internal(CopernicaBatch *batch, CopernicaRequest *req,
				   CopernicaResponse *resp, MemoryContext body_cxt,
				   bool body_cxt_owned)
{
	MemoryContext oldcxt;
	Transfer   *t;
	StringInfoData url;
	const char *path;
	int			m;

	if (batch->released)
		elog(ERROR, "Copernica batch used after its end");

	for (m = 0; m < lengthof(method_names); m++)
		if (req->method && pg_strcasecmp(req->method, method_names[m]) == 0)
			break;
	if (m == lengthof(method_names))
		elog(ERROR, "unsupported HTTP method \"%s\"",
			 req->method ? req->method : "(null)");

	oldcxt = MemoryContextSwitchTo(batch->cxt);

	t = palloc0(sizeof(Transfer));
	t->batch = batch;
	t->method = (CopernicaMethod) m;
	t->req.method = method_names[m];
	t->req.path = pstrdup(req->path ? req->path : "");
	t->req.query = req->query ? pstrdup(req->query) : NULL;
	t->req.body = req->body ? pstrdup(req->body) : NULL;
	t->req.accept_error = req->accept_error;
	t->resp = resp;
	t->body_cxt = body_cxt;
	t->body_cxt_owned = body_cxt_owned;
	t->body_limit = batch->body_limit;
	t->state = TRANSFER_QUEUED;
	t->retry_deadline = -1;

	/* URL = base "/" path "?" query "&access_token=" token; token last */
	path = t->req.path;
	while (*path == '/')
		path++;
	initStringInfo(&url);
	appendStringInfo(&url, "%s/%s?", batch->url, path);
	if (t->req.query && t->req.query[0] != '\0')
		appendStringInfo(&url, "%s&", t->req.query);
	appendStringInfo(&url, "access_token=%s", batch->escaped_token);
	t->url = url.data;

	memset(resp, 0, sizeof(CopernicaResponse));

	if (batch->ntransfers >= batch->maxtransfers)
		batch_make_room(batch);
	batch->transfers[batch->ntransfers++] = t;

	MemoryContextSwitchTo(oldcxt);

	/* start it right away when a slot is free, so it overlaps other work */
	batch_start_ready(batch);
	if (t->state == TRANSFER_RUNNING)
	{
		int			running;

		/* let libcurl begin resolving and connecting; never blocks */
		(void) curl_multi_perform(batch->conn->multi, &running);
	}

	return batch->base + batch->ntransfers - 1;
}

/*
 * Room for one more transfer.  A scan adds and forgets pages for as long as
 * it runs, so first drop the forgotten ones at the front (handles stay valid
 * through base) and grow the array only when that frees too little.
 */
static void
batch_make_room(CopernicaBatch *batch)
{
	int			k = 0;

	while (k < batch->first_live && batch->transfers[k] == NULL)
		k++;
	if (k >= batch->maxtransfers / 2)
	{
		memmove(batch->transfers, batch->transfers + k,
				sizeof(Transfer *) * (batch->ntransfers - k));
		batch->base += k;
		batch->ntransfers -= k;
		batch->first_live -= k;
		batch->next_queued -= k;
		return;
	}
	batch->maxtransfers *= 2;
	batch->transfers = repalloc(batch->transfers,
								sizeof(Transfer *) * batch->maxtransfers);
}

/* The transfer behind a handle, or NULL when unknown or forgotten */
static Transfer *
batch_lookup(CopernicaBatch *batch, int handle)
{
	int			i = handle - batch->base;

	if (handle < 0 || i < 0 || i >= batch->ntransfers)
		return NULL;
	return batch->transfers[i];
}

/*
 * Wait until the request behind handle is done, driving every transfer of
 * the connection meanwhile, and return its response or raise its error.
 * The response lives in the batch's memory until copernica_batch_end; its
 * body may be pfree'd earlier by the caller.
 */
CopernicaResponse *
copernica_batch_wait(CopernicaBatch *batch, int handle)
{
	Transfer   *t;

	copernica_batch_settle(batch, handle);
	t = batch_lookup(batch, handle);
	if (t->state == TRANSFER_ABORTED)
	{
		if (t->method == METHOD_POST && t->cut_off)
			ereport(ERROR,
					(errcode(ERRCODE_FDW_UNABLE_TO_ESTABLISH_CONNECTION),
					 errmsg("the outcome of the request is unknown: it was interrupted"),
					 copernica_transfer_errcontext(t)));
		ereport(ERROR,
				(errcode(ERRCODE_FDW_ERROR),
				 errmsg("the request was abandoned after an earlier error"),
				 copernica_transfer_errcontext(t)));
	}

	return copernica_transfer_finish(t);
}

/* Wait until the request behind handle is finished or abandoned. */
void
copernica_batch_settle(CopernicaBatch *batch, int handle)
{
	Transfer   *t;

	if (batch->released)
		elog(ERROR, "Copernica batch used after its end");
	t = batch_lookup(batch, handle);
	if (t == NULL)
		elog(ERROR, "invalid Copernica request handle %d", handle);
	if (t->state != TRANSFER_DONE && t->state != TRANSFER_ABORTED)
		batch_drive(batch, &t, 1);
}

/*
 * Start nothing more: requests not started yet and retries not due yet are
 * abandoned; running ones go on.  Never throws.
 */
void
copernica_batch_stop(CopernicaBatch *batch)
{
	int			i;

	if (batch->released)
		return;
	for (i = batch->first_live; i < batch->ntransfers; i++)
	{
		Transfer   *t = batch->transfers[i];

		if (t == NULL)
			continue;
		if (t->state == TRANSFER_BACKOFF)
			batch->nactive--;
		if (t->state == TRANSFER_QUEUED || t->state == TRANSFER_BACKOFF)
			t->state = TRANSFER_ABORTED;
	}
	batch->next_queued = batch->ntransfers;
}

/*
 * What became of a request, without raising; *x_created receives the
 * X-Created header of a success (NULL when there is none).
 */
CopernicaOutcome
copernica_batch_outcome(CopernicaBatch *batch, int handle, const char **x_created)
{
	Transfer   *t = batch->released ? NULL : batch_lookup(batch, handle);

	*x_created = NULL;
	if (t == NULL)
		return COPERNICA_OUTCOME_NOT_SENT;
	switch (t->state)
	{
		case TRANSFER_QUEUED:
		case TRANSFER_RUNNING:
		case TRANSFER_BACKOFF:
			return COPERNICA_OUTCOME_PENDING;
		case TRANSFER_ABORTED:
			/* a retry waits only after an attempt that never arrived */
			return t->cut_off ? COPERNICA_OUTCOME_UNKNOWN : COPERNICA_OUTCOME_NOT_SENT;
		case TRANSFER_DONE:
			break;
	}
	if (t->too_large || t->out_of_memory)
		return COPERNICA_OUTCOME_UNKNOWN;
	if (t->result != CURLE_OK)
	{
		if (t->method == METHOD_POST &&
			t->result != CURLE_COULDNT_CONNECT &&
			t->result != CURLE_COULDNT_RESOLVE_HOST &&
			t->result != CURLE_COULDNT_RESOLVE_PROXY &&
			!copernica_curl_error_is_permanent(t->result))
			return COPERNICA_OUTCOME_UNKNOWN;
		return COPERNICA_OUTCOME_FAILED;
	}
	if ((t->status >= 200 && t->status < 300) || copernica_see_other_is_success(t))
	{
		if (t->x_created[0])
			*x_created = t->x_created;
		return COPERNICA_OUTCOME_SUCCEEDED;
	}
	/* a gateway giving up says nothing about what happened behind it */
	if (t->method == METHOD_POST && copernica_transfer_may_have_arrived(t))
		return COPERNICA_OUTCOME_UNKNOWN;
	return COPERNICA_OUTCOME_FAILED;
}

/*
 * Wait until any of the requests behind handles is done (or failed), and
 * return its index in handles; copernica_batch_wait then gives its answer.
 * A scan that reads several independent streams takes each page as it
 * comes.
 */
int
copernica_batch_wait_any(CopernicaBatch *batch, const int *handles, int nhandles)
{
	Transfer  **targets;
	int			i;

	if (batch->released)
		elog(ERROR, "Copernica batch used after its end");
	targets = palloc(sizeof(Transfer *) * Max(nhandles, 1));
	for (i = 0; i < nhandles; i++)
	{
		targets[i] = batch_lookup(batch, handles[i]);
		if (targets[i] == NULL)
			elog(ERROR, "invalid Copernica request handle %d", handles[i]);
		if (targets[i]->state == TRANSFER_DONE ||
			targets[i]->state == TRANSFER_ABORTED)
		{
			pfree(targets);
			return i;
		}
	}
	if (nhandles == 0)
		elog(ERROR, "no Copernica request to wait for");
	batch_drive(batch, targets, nhandles);
	for (i = 0; i < nhandles; i++)
		if (targets[i]->state == TRANSFER_DONE ||
			targets[i]->state == TRANSFER_ABORTED)
			break;
	pfree(targets);
	if (i == nhandles)
		elog(ERROR, "Copernica requests ended without an outcome");
	return i;
}

/* Abort unfinished requests, give the handles back, free the batch. */
void
copernica_batch_end(CopernicaBatch *batch)
{
	/* the reset callback does the libcurl part */
	batch->ending = true;
	MemoryContextDelete(batch->cxt);
}

/*
 * Free everything of one request: a scan forgets each page once parsed, so
 * that its memory does not grow with the number of pages.  A request still
 * running is abandoned.  The handle is invalid afterwards.
 */
void
copernica_batch_forget(CopernicaBatch *batch, int handle)
{
	CopernicaConnection *conn = batch->conn;
	Transfer   *t;

	t = batch->released ? NULL : batch_lookup(batch, handle);
	if (t == NULL)
		return;

	if (t->state == TRANSFER_RUNNING)
	{
		copernica_transfer_count_cut_off(t);
		curl_multi_remove_handle(conn->multi, t->easy);
		conn->nattached--;
		copernica_conn_put_easy(conn, t->easy);
		t->easy = NULL;
	}
	if (t->state == TRANSFER_RUNNING || t->state == TRANSFER_BACKOFF)
		batch->nactive--;
	batch->transfers[handle - batch->base] = NULL;

	/*
	 * The response belongs to the batch unless copernica_perform lent it or
	 * copernica_batch_keep_response handed it over.
	 */
	if (t->body_cxt_owned)
		MemoryContextDelete(t->body_cxt);
	pfree(t->req.path);
	if (t->req.query)
		pfree(t->req.query);
	if (t->req.body)
		pfree(t->req.body);
	pfree(t->url);
	pfree(t);
}

/*
 * Hand the response of a finished request over to cxt: its body, and all
 * else of the response, then lives as long as cxt does, and
 * copernica_batch_forget leaves it alone.  A page parsed in place keeps its
 * values in the body (json.c).
 */
void
copernica_batch_keep_response(CopernicaBatch *batch, int handle,
							  MemoryContext cxt)
{
	Transfer   *t;

	t = batch->released ? NULL : batch_lookup(batch, handle);
	if (t == NULL || !t->body_cxt_owned || t->state != TRANSFER_DONE)
		elog(ERROR, "copernica_fdw: no finished response %d to keep", handle);
	MemoryContextSetParent(t->body_cxt, cxt);
	t->body_cxt_owned = false;
}

/*
 * Memory context reset callback of a batch: take its transfers out of the
 * multi handle.  Runs at batch end and during error cleanup, so it must not
 * throw.
 */
static void
batch_release(void *arg)
{
	CopernicaBatch *batch = (CopernicaBatch *) arg;
	CopernicaConnection *conn = batch->conn;

	if (batch->released)
		return;
	batch_abort_running(batch);
	batch->released = true;

	if (conn->handles_stale && conn->nattached == 0)
		copernica_conn_destroy_handles(conn);
}

/*
 * Remove every running transfer of the batch from the multi handle.  An
 * interrupted transfer leaves its connection in an unknown state, and
 * libcurl closes that one connection; the other kept-alive connections
 * stay, so a scan that stops early (a LIMIT, a cursor closed) costs the
 * next query no new connections but those.  Never throws.
 */
static void
batch_abort_running(CopernicaBatch *batch)
{
	CopernicaConnection *conn = batch->conn;
	int			i;

	for (i = batch->first_live; i < batch->next_queued; i++)
	{
		Transfer   *t = batch->transfers[i];

		if (t == NULL)
			continue;
		if (t->state == TRANSFER_RUNNING)
		{
			/* in error cleanup the stats may be gone with their stack */
			if (batch->ending)
				copernica_transfer_count_cut_off(t);
			curl_multi_remove_handle(conn->multi, t->easy);
			conn->nattached--;
			t->cut_off = true;
			copernica_conn_put_easy(conn, t->easy);
			t->easy = NULL;
		}
		if (t->state == TRANSFER_RUNNING || t->state == TRANSFER_BACKOFF)
		{
			t->state = TRANSFER_ABORTED;
			batch->nactive--;
		}
	}
}

/*
 * Restart retries whose backoff is over, then start queued requests in the
 * order they were added.
 */
static void
batch_start_ready(CopernicaBatch *batch)
{
	int64		now = -1;
	int			i;

	/* skip the finished: a long scan must not look at all its old pages */
	while (batch->first_live < batch->next_queued)
	{
		Transfer   *t = batch->transfers[batch->first_live];

		if (t != NULL &&
			(t->state == TRANSFER_RUNNING || t->state == TRANSFER_BACKOFF))
			break;
		batch->first_live++;
	}

	for (i = batch->first_live; i < batch->next_queued; i++)
	{
		Transfer   *t = batch->transfers[i];

		if (t == NULL || t->state != TRANSFER_BACKOFF)
			continue;
		if (now < 0)
			now = copernica_now_ms();
		if (t->retry_at <= now)
			copernica_transfer_start(t);
	}

	while (batch->next_queued < batch->ntransfers &&
		   batch->nactive < batch->max_concurrency)
	{
		Transfer   *t = batch->transfers[batch->next_queued];

		/* forgotten before it ever started */
		if (t == NULL)
		{
			batch->next_queued++;
			continue;
		}
		copernica_transfer_start(t);
		batch->nactive++;
		batch->next_queued++;
	}
}

/*
 * The wait loop.  libcurl never blocks us for more than a short poll, and
 * between polls we look at interrupts.  If anything throws, the batch's
 * transfers are taken out of the multi handle before the error goes on, so
 * the cached connection stays usable for the next query.
 */
static void
batch_drive(CopernicaBatch *batch, Transfer **targets, int ntargets)
{
	CopernicaConnection *conn = batch->conn;
	instr_time	start;
	instr_time	elapsed;

	INSTR_TIME_SET_CURRENT(start);
	pgstat_report_wait_start(WAIT_EVENT_EXTENSION);

	PG_TRY();
	{
		for (;;)
		{
			CURLMcode	mc;
			int			running;
			int64		timeout = COPERNICA_POLL_MS;
			int64		now;
			bool		backoff = false;
			int			i;

			CHECK_FOR_INTERRUPTS();

			/* a catalog change may have dropped idle handles meanwhile */
			copernica_conn_ensure_handles(conn);
			batch_start_ready(batch);

			mc = curl_multi_perform(conn->multi, &running);
			if (mc != CURLM_OK)
				ereport(ERROR,
						(errcode(ERRCODE_FDW_ERROR),
						 errmsg("libcurl failed: %s", curl_multi_strerror(mc))));

			conn_collect_completions(conn);
			for (i = 0; i < ntargets; i++)
				if (targets[i]->state == TRANSFER_DONE ||
					targets[i]->state == TRANSFER_ABORTED)
					break;
			if (i < ntargets)
				break;

			/* a finished transfer freed a slot: start the next one now */
			if (batch->next_queued < batch->ntransfers &&
				batch->nactive < batch->max_concurrency)
				continue;

			/* wake up in time for the next retry of this batch */
			now = copernica_now_ms();
			for (i = batch->first_live; i < batch->next_queued; i++)
			{
				Transfer   *t = batch->transfers[i];

				if (t != NULL && t->state == TRANSFER_BACKOFF)
				{
					backoff = true;
					timeout = Min(timeout, Max(t->retry_at - now, 0));
				}
			}

			if (conn->nattached > 0)
			{
				mc = curl_multi_poll(conn->multi, NULL, 0, (int) timeout, NULL);
				if (mc != CURLM_OK)
					ereport(ERROR,
							(errcode(ERRCODE_FDW_ERROR),
							 errmsg("libcurl failed: %s",
									curl_multi_strerror(mc))));
			}
			else if (backoff)
			{
				/*
				 * Nothing in flight, only retries waiting: sleep on the latch,
				 * which an interrupt sets, so cancel is immediate.
				 */
				int64		sleep_ms = COPERNICA_BACKOFF_CAP_MS;

				for (i = batch->first_live; i < batch->next_queued; i++)
				{
					Transfer   *t = batch->transfers[i];

					if (t != NULL && t->state == TRANSFER_BACKOFF)
						sleep_ms = Min(sleep_ms, Max(t->retry_at - now, 0));
				}
				if (sleep_ms > 0)
				{
					(void) WaitLatch(MyLatch,
									 WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
									 (long) sleep_ms, WAIT_EVENT_EXTENSION);
					ResetLatch(MyLatch);
					/* WaitLatch ended our wait event; we are still waiting */
					pgstat_report_wait_start(WAIT_EVENT_EXTENSION);
				}
			}
			else
				elog(ERROR, "Copernica request is neither running nor waiting to be retried");
		}
	}
	PG_CATCH();
	{
		pgstat_report_wait_end();
		batch_abort_running(batch);
		PG_RE_THROW();
	}
	PG_END_TRY();

	pgstat_report_wait_end();

	INSTR_TIME_SET_CURRENT(elapsed);
	INSTR_TIME_SUBTRACT(elapsed, start);
	if (batch->stats)
		batch->stats->wait_seconds += INSTR_TIME_GET_DOUBLE(elapsed);
}

/*
 * Record every transfer libcurl reports finished, whichever batch it belongs
 * to: a message read here is gone for everyone else.  Never throws.
 */
static void
conn_collect_completions(CopernicaConnection *conn)
{
	CURLMsg    *msg;
	int			left;

	while ((msg = curl_multi_info_read(conn->multi, &left)) != NULL)
	{
		CURL	   *easy;
		CURLcode	result;
		char	   *priv = NULL;

		if (msg->msg != CURLMSG_DONE)
			continue;
		/* msg does not survive curl_multi_remove_handle: copy it first */
		easy = msg->easy_handle;
		result = msg->data.result;
		if (curl_easy_getinfo(easy, CURLINFO_PRIVATE, &priv) != CURLE_OK ||
			priv == NULL)
			continue;
		copernica_transfer_attempt_done((Transfer *) priv, result);
	}
}
