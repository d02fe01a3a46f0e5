/*-------------------------------------------------------------------------
 *
 * http.c
 *		  Talking to Copernica: libcurl handles cached per user mapping,
 *		  request building, retries, cancellation, concurrency and turning
 *		  bad answers into errors that never show the access token.
 *
 * Every request goes through a libcurl multi handle, so that one code path
 * serves single requests and concurrent page fetches alike, and so that the
 * backend never blocks inside libcurl for longer than one short poll: query
 * cancel, statement_timeout and pg_terminate_backend are honoured within a
 * fraction of a second.
 *
 * libcurl callbacks run deep inside libcurl; a longjmp out of them would
 * leave its state corrupt.  So the callbacks never ereport and never use an
 * allocation that can fail by throwing: they record what went wrong, make
 * libcurl stop, and the error is raised once libcurl has returned.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <curl/curl.h>

#include "access/htup_details.h"
#include "catalog/pg_user_mapping.h"
#include "common/jsonapi.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "portability/instr_time.h"
#include "storage/latch.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/memutils.h"
#include "utils/syscache.h"

#include "copernica_fdw.h"

/* PostgreSQL 15 calls the extension wait event PG_WAIT_EXTENSION */
#ifndef WAIT_EVENT_EXTENSION
#define WAIT_EVENT_EXTENSION PG_WAIT_EXTENSION
#endif

#define COPERNICA_USER_AGENT		"copernica_fdw/1.0"

/* longest a single poll may block before we look at interrupts again */
#define COPERNICA_POLL_MS			100

/* exponential backoff with full jitter */
#define COPERNICA_BACKOFF_BASE_MS	200
#define COPERNICA_BACKOFF_CAP_MS	10000

/* idle easy handles kept per connection */
#define COPERNICA_EASY_POOL_SIZE	16

/* room for one collected response header value */
#define COPERNICA_HEADER_VALUE_LEN	256

/*
 * Connection cache key.  A user mapping OID alone would do, but with no user
 * mapping we fall back to the server OID, and OIDs are only unique within
 * one catalog; keeping both apart makes collisions impossible.
 */
typedef struct ConnCacheKey
{
	Oid			serverid;
	Oid			umid;			/* InvalidOid when there is no user mapping */
} ConnCacheKey;

/*
 * One cached connection: the hash entry itself, so the pointer handed to
 * callers stays valid for the life of the backend (dynahash never moves
 * entries and we never remove any).  The libcurl handles inside may be
 * destroyed and recreated when the catalogs change, but only while no
 * transfer is attached to the multi handle.
 */
struct CopernicaConnection
{
	ConnCacheKey key;			/* hash key; must be first */

	bool		invalidated;	/* set by the syscache callback */
	bool		handles_stale;	/* recreate the handles once idle */
	uint32		server_hashvalue;
	uint32		mapping_hashvalue;

	/* the options the entry was made with; strings in TopMemoryContext */
	char	   *url;
	char	   *access_token;
	int			connect_timeout;
	int			request_timeout;
	int			max_concurrency;
	int			max_retries;
	int			max_retry_time;
	int64		max_response_size;
	bool		ssl_verify;

	/* libcurl state; created lazily, all NULL when destroyed */
	CURLM	   *multi;
	CURLSH	   *share;			/* TLS session cache shared by easy handles */
	struct curl_slist *headers_plain;	/* requests without a body */
	struct curl_slist *headers_json;	/* requests with a JSON body */
	CURL	   *idle[COPERNICA_EASY_POOL_SIZE];
	int			nidle;
	int			nattached;		/* easy handles currently in the multi */
	long		host_limit;		/* CURLMOPT_MAX_HOST_CONNECTIONS now set */
};

typedef enum CopernicaMethod
{
	METHOD_GET,
	METHOD_POST,
	METHOD_PUT,
	METHOD_DELETE
} CopernicaMethod;

static const char *const method_names[] = {"GET", "POST", "PUT", "DELETE"};

typedef enum TransferState
{
	TRANSFER_QUEUED,			/* added, not started yet */
	TRANSFER_RUNNING,			/* its easy handle is in the multi handle */
	TRANSFER_BACKOFF,			/* failed, waiting to be retried */
	TRANSFER_DONE,				/* final outcome recorded */
	TRANSFER_ABORTED			/* given up because of an error elsewhere */
} TransferState;

/*
 * One request of a batch, through all its attempts.  Lives in the batch's
 * memory context.  The fields written by libcurl callbacks are all plain
 * memory owned here, so that the callbacks need nothing that can throw.
 */
typedef struct Transfer
{
	CopernicaBatch *batch;
	CopernicaRequest req;		/* private copy */
	CopernicaMethod method;
	char	   *url;			/* contains the token: never shown */
	CopernicaResponse *resp;	/* filled in when the caller waits for it */
	MemoryContext body_cxt;		/* where the response body is allocated */

	TransferState state;
	CURL	   *easy;			/* while RUNNING */
	int			retries;		/* retries done so far */
	int64		retry_at;		/* when BACKOFF ends, ms on the monotonic
								 * clock */
	int64		retry_deadline; /* end of the retry budget, or -1 before the
								 * first failure */

	/* outcome of the last attempt */
	CURLcode	result;
	long		status;
	bool		too_large;		/* aborted: body over max_response_size */
	bool		out_of_memory;	/* aborted: could not grow the body */
	char		errbuf[CURL_ERROR_SIZE];

	/* how much of a POST body libcurl has taken */
	size_t		body_sent;
	bool		sent_once;		/* the request went out at least once */
	bool		cut_off;		/* aborted while in flight */
	bool		resend_refused; /* libcurl wanted to send a POST again */

	/* response body, grown by the write callback without throwing */
	char	   *body;
	size_t		body_len;
	size_t		body_cap;
	size_t		body_limit;

	/* response headers we care about; empty string when absent */
	char		content_type[COPERNICA_HEADER_VALUE_LEN];
	char		x_created[COPERNICA_HEADER_VALUE_LEN];
	char		x_deleted[COPERNICA_HEADER_VALUE_LEN];
	char		retry_after[32];
} Transfer;

struct CopernicaBatch
{
	MemoryContext cxt;			/* everything of the batch lives here */
	CopernicaConnection *conn;
	CopernicaStats *stats;		/* may be NULL */
	bool		released;		/* handles given back */
	MemoryContextCallback release_cb;

	/*
	 * Copies of the connection's options, so that a catalog change while the
	 * batch runs cannot pull strings from under it.
	 */
	char	   *url;
	char	   *access_token;
	char	   *escaped_token;
	int			connect_timeout;
	int			request_timeout;
	int			max_concurrency;
	int			max_retries;
	int			max_retry_time;
	bool		ssl_verify;
	size_t		body_limit;
	bool		limit_is_option;	/* body_limit comes from max_response_size */

	Transfer  **transfers;		/* NULL once forgotten */
	int			base;			/* handle of transfers[0] */
	int			ntransfers;
	int			maxtransfers;
	int			first_live;		/* no RUNNING or BACKOFF transfer before */
	int			next_queued;	/* first transfer never started */
	int			nactive;		/* RUNNING or BACKOFF */
};

static HTAB *ConnectionHash = NULL;
static bool curl_initialized = false;

static void copernica_inval_callback(Datum arg, int cacheid, uint32 hashvalue);
static void conn_set_options(CopernicaConnection *conn,
							 const CopernicaOptions *opts);
static void conn_set_numbers(CopernicaConnection *conn,
							 const CopernicaOptions *opts);
static bool conn_options_differ(CopernicaConnection *conn,
								const CopernicaOptions *opts);
static void conn_destroy_handles(CopernicaConnection *conn);
static void conn_ensure_handles(CopernicaConnection *conn);
static CURL *conn_get_easy(CopernicaConnection *conn);
static void conn_put_easy(CopernicaConnection *conn, CURL *easy);
static char *escape_query_value(const char *s);
static int	batch_add_internal(CopernicaBatch *batch, CopernicaRequest *req,
							   CopernicaResponse *resp, MemoryContext body_cxt);
static void batch_make_room(CopernicaBatch *batch);
static void batch_release(void *arg);
static void batch_abort_running(CopernicaBatch *batch);
static void batch_start_ready(CopernicaBatch *batch);
static void batch_drive(CopernicaBatch *batch, Transfer **targets, int ntargets);
static void conn_collect_completions(CopernicaConnection *conn);
static void transfer_start(Transfer *t);
static void transfer_attempt_done(Transfer *t, CURLcode result);
static bool transfer_should_retry(Transfer *t, int64 *delay_ms);
static bool curl_error_is_permanent(CURLcode rc);
static bool transfer_is_overload_page(Transfer *t);
static bool transfer_may_have_arrived(Transfer *t);
static CopernicaResponse *transfer_finish(Transfer *t);
static int	transfer_errcontext(Transfer *t);
static size_t write_callback(char *ptr, size_t size, size_t nmemb, void *userdata);
static size_t header_callback(char *buffer, size_t size, size_t nitems,
							  void *userdata);
static size_t read_callback(char *buffer, size_t size, size_t nitems,
							void *userdata);
static int	seek_callback(void *userdata, curl_off_t offset, int origin);
#if LIBCURL_VERSION_NUM >= 0x075000
static int	prereq_callback(void *userdata, char *conn_primary_ip,
							char *conn_local_ip, int conn_primary_port,
							int conn_local_port);
#endif
static char *without_elapsed_time(char *s);
static int64 now_ms(void);


/* ----------------------------------------------------------------
 * Connection cache
 * ----------------------------------------------------------------
 */

/*
 * Get the cached connection for this server and user, creating it on first
 * use.  The options are normally the caller's resolved options; they decide
 * URL, token, timeouts and limits of every request made through it.
 */
CopernicaConnection *
copernica_get_connection(Oid serverid, Oid userid, const CopernicaOptions *opts)
{
	ConnCacheKey key;
	CopernicaConnection *conn;
	HeapTuple	tp;
	bool		found;

	if (!curl_initialized)
	{
		CURLcode	rc = curl_global_init(CURL_GLOBAL_DEFAULT);

		if (rc != CURLE_OK)
			ereport(ERROR,
					(errcode(ERRCODE_FDW_UNABLE_TO_ESTABLISH_CONNECTION),
					 errmsg("could not initialize libcurl: %s",
							curl_easy_strerror(rc))));
		curl_initialized = true;
	}

	if (ConnectionHash == NULL)
	{
		HASHCTL		ctl;

		ctl.keysize = sizeof(ConnCacheKey);
		ctl.entrysize = sizeof(CopernicaConnection);
		ConnectionHash = hash_create("copernica_fdw connections", 8, &ctl,
									 HASH_ELEM | HASH_BLOBS);

		CacheRegisterSyscacheCallback(FOREIGNSERVEROID,
									  copernica_inval_callback, (Datum) 0);
		CacheRegisterSyscacheCallback(USERMAPPINGOID,
									  copernica_inval_callback, (Datum) 0);
	}

	if (opts == NULL)
		opts = copernica_get_server_options(serverid, userid);

	/*
	 * Find the user mapping as GetUserMapping would, the user's own first and
	 * then PUBLIC, but without raising when there is none: a server may carry
	 * the token itself.
	 */
	memset(&key, 0, sizeof(key));
	key.serverid = serverid;
	key.umid = InvalidOid;
	tp = SearchSysCache2(USERMAPPINGUSERSERVER,
						 ObjectIdGetDatum(userid), ObjectIdGetDatum(serverid));
	if (!HeapTupleIsValid(tp))
		tp = SearchSysCache2(USERMAPPINGUSERSERVER,
							 ObjectIdGetDatum(InvalidOid),
							 ObjectIdGetDatum(serverid));
	if (HeapTupleIsValid(tp))
	{
		key.umid = ((Form_pg_user_mapping) GETSTRUCT(tp))->oid;
		ReleaseSysCache(tp);
	}

	conn = (CopernicaConnection *) hash_search(ConnectionHash, &key,
											   HASH_ENTER, &found);
	if (!found)
	{
		/* hash_search only filled in the key */
		memset((char *) conn + sizeof(ConnCacheKey), 0,
			   sizeof(CopernicaConnection) - sizeof(ConnCacheKey));
		conn->server_hashvalue =
			GetSysCacheHashValue1(FOREIGNSERVEROID,
								  ObjectIdGetDatum(serverid));
		if (OidIsValid(key.umid))
			conn->mapping_hashvalue =
				GetSysCacheHashValue1(USERMAPPINGOID,
									  ObjectIdGetDatum(key.umid));
		conn_set_options(conn, opts);
	}
	else if (conn->invalidated || conn_options_differ(conn, opts))
	{
		/*
		 * A new URL or token, or a catalog change, calls for fresh handles.
		 * Other options only steer later requests: max_concurrency may differ
		 * per table, and must not make scans of two tables throw away each
		 * other's connections.
		 */
		conn->handles_stale = true;
		conn_set_options(conn, opts);
	}
	else
		conn_set_numbers(conn, opts);
	conn->invalidated = false;

	/* drop old handles now if nothing uses them; recreated on demand */
	if (conn->handles_stale && conn->nattached == 0)
		conn_destroy_handles(conn);

	return conn;
}

/*
 * The server or a user mapping changed: mark the affected connections so
 * that the next get picks up the new options and starts afresh.  Handles
 * cannot be destroyed here, a scan may be in the middle of using them.
 */
static void
copernica_inval_callback(Datum arg, int cacheid, uint32 hashvalue)
{
	HASH_SEQ_STATUS scan;
	CopernicaConnection *conn;

	if (ConnectionHash == NULL)
		return;

	hash_seq_init(&scan, ConnectionHash);
	while ((conn = (CopernicaConnection *) hash_seq_search(&scan)) != NULL)
	{
		if (hashvalue == 0 ||
			(cacheid == FOREIGNSERVEROID &&
			 conn->server_hashvalue == hashvalue) ||
			(cacheid == USERMAPPINGOID && OidIsValid(conn->key.umid) &&
			 conn->mapping_hashvalue == hashvalue))
			conn->invalidated = true;
	}
}

static void
conn_set_options(CopernicaConnection *conn, const CopernicaOptions *opts)
{
	const char *url = opts->url ? opts->url : COPERNICA_DEFAULT_URL;
	char	   *copy;
	size_t		len;

	copy = MemoryContextStrdup(TopMemoryContext, url);
	/* the path is appended after a slash of our own */
	len = strlen(copy);
	while (len > 0 && copy[len - 1] == '/')
		copy[--len] = '\0';
	if (conn->url)
		pfree(conn->url);
	conn->url = copy;

	if (conn->access_token)
		pfree(conn->access_token);
	conn->access_token = MemoryContextStrdup(TopMemoryContext,
											 opts->access_token ? opts->access_token : "");
	/* whatever comes back may echo it */
	copernica_redact_remember(conn->access_token);
	conn->ssl_verify = opts->ssl_verify;

	conn_set_numbers(conn, opts);
}

static void
conn_set_numbers(CopernicaConnection *conn, const CopernicaOptions *opts)
{
	conn->connect_timeout = opts->connect_timeout;
	conn->request_timeout = opts->request_timeout;
	conn->max_concurrency = opts->max_concurrency;
	conn->max_retries = opts->max_retries;
	conn->max_retry_time = opts->max_retry_time;
	conn->max_response_size = opts->max_response_size;
}

/* Whether the URL or the token differs from what the handles were made for */
static bool
conn_options_differ(CopernicaConnection *conn, const CopernicaOptions *opts)
{
	const char *url = opts->url ? opts->url : COPERNICA_DEFAULT_URL;
	const char *token = opts->access_token ? opts->access_token : "";
	size_t		len = strlen(url);

	while (len > 0 && url[len - 1] == '/')
		len--;
	if (strlen(conn->url) != len || strncmp(conn->url, url, len) != 0)
		return true;
	/* TLS sessions verified (or not) must not be shared across the change */
	if (conn->ssl_verify != opts->ssl_verify)
		return true;
	return strcmp(conn->access_token, token) != 0;
}

/*
 * Free all libcurl state of a connection.  Only legal while no easy handle
 * is attached to the multi handle.  Never throws: it runs from memory
 * context callbacks during abort too.
 */
static void
conn_destroy_handles(CopernicaConnection *conn)
{
	Assert(conn->nattached == 0);

	while (conn->nidle > 0)
		curl_easy_cleanup(conn->idle[--conn->nidle]);
	if (conn->multi)
		curl_multi_cleanup(conn->multi);
	conn->multi = NULL;
	/* after the easy handles: a share in use cannot be cleaned up */
	if (conn->share)
		curl_share_cleanup(conn->share);
	conn->share = NULL;
	if (conn->headers_plain)
		curl_slist_free_all(conn->headers_plain);
	conn->headers_plain = NULL;
	if (conn->headers_json)
		curl_slist_free_all(conn->headers_json);
	conn->headers_json = NULL;
	conn->handles_stale = false;
}

static void
conn_ensure_handles(CopernicaConnection *conn)
{
	struct curl_slist *list;

	if (conn->handles_stale && conn->nattached == 0)
		conn_destroy_handles(conn);
	if (conn->multi != NULL)
		return;

	conn->multi = curl_multi_init();
	if (conn->multi == NULL)
		goto fail;
	/* keep-alive connections are reused by every transfer of this mapping */
	conn->host_limit = Max(conn->max_concurrency, 1);
	(void) curl_multi_setopt(conn->multi, CURLMOPT_MAX_HOST_CONNECTIONS,
							 conn->host_limit);

	/* TLS session reuse across the easy handles, should a connection drop */
	conn->share = curl_share_init();
	if (conn->share != NULL)
		(void) curl_share_setopt(conn->share, CURLSHOPT_SHARE,
								 CURL_LOCK_DATA_SSL_SESSION);

	/* "Expect:" stops libcurl from waiting for 100-continue on bodies */
	list = curl_slist_append(NULL, "Accept: application/json");
	if (list == NULL)
		goto fail;
	conn->headers_plain = list;
	list = curl_slist_append(NULL, "Accept: application/json");
	if (list == NULL)
		goto fail;
	conn->headers_json = list;
	list = curl_slist_append(conn->headers_json,
							 "Content-Type: application/json");
	if (list == NULL)
		goto fail;
	list = curl_slist_append(conn->headers_json, "Expect:");
	if (list == NULL)
		goto fail;
	return;

fail:
	conn_destroy_handles(conn);
	ereport(ERROR,
			(errcode(ERRCODE_FDW_OUT_OF_MEMORY),
			 errmsg("out of memory"),
			 errdetail("Could not create a libcurl handle.")));
}

static CURL *
conn_get_easy(CopernicaConnection *conn)
{
	CURL	   *easy;

	if (conn->nidle > 0)
		return conn->idle[--conn->nidle];
	easy = curl_easy_init();
	if (easy == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_OUT_OF_MEMORY),
				 errmsg("out of memory"),
				 errdetail("Could not create a libcurl handle.")));
	return easy;
}

/*
 * Give an easy handle back to the pool.  Its options are reset now so that
 * no pointer into freed batch memory stays behind in it; the connections it
 * used belong to the multi handle and stay open.  Never throws.
 */
static void
conn_put_easy(CopernicaConnection *conn, CURL *easy)
{
	if (conn->nidle < COPERNICA_EASY_POOL_SIZE && !conn->handles_stale)
	{
		curl_easy_reset(easy);
		conn->idle[conn->nidle++] = easy;
	}
	else
		curl_easy_cleanup(easy);
}

/*
 * Percent-encode a query parameter value: everything but RFC 3986's
 * unreserved characters.
 */
static char *
escape_query_value(const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	StringInfoData buf;
	const unsigned char *p;

	initStringInfo(&buf);
	for (p = (const unsigned char *) s; *p; p++)
	{
		if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
			(*p >= '0' && *p <= '9') ||
			*p == '-' || *p == '.' || *p == '_' || *p == '~')
			appendStringInfoChar(&buf, (char) *p);
		else
		{
			appendStringInfoChar(&buf, '%');
			appendStringInfoChar(&buf, hex[*p >> 4]);
			appendStringInfoChar(&buf, hex[*p & 0x0F]);
		}
	}
	return buf.data;
}


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
	h = batch_add_internal(batch, req, resp, callercxt);
	(void) copernica_batch_wait(batch, h);
	copernica_batch_end(batch);
}

CopernicaBatch *
copernica_batch_begin(CopernicaConnection *conn, CopernicaStats *stats)
{
	MemoryContext cxt;
	MemoryContext oldcxt;
	CopernicaBatch *batch;
	int64		limit;

	conn_ensure_handles(conn);

	cxt = AllocSetContextCreate(CurrentMemoryContext, "copernica_fdw batch",
								ALLOCSET_DEFAULT_SIZES);
	oldcxt = MemoryContextSwitchTo(cxt);

	batch = palloc0(sizeof(CopernicaBatch));
	batch->cxt = cxt;
	batch->conn = conn;
	batch->stats = stats;
	batch->url = pstrdup(conn->url);
	batch->access_token = pstrdup(conn->access_token);
	batch->escaped_token = escape_query_value(conn->access_token);
	batch->ssl_verify = conn->ssl_verify;
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
	CopernicaResponse *resp;

	resp = MemoryContextAllocZero(batch->cxt, sizeof(CopernicaResponse));
	return batch_add_internal(batch, req, resp, batch->cxt);
}

static int
batch_add_internal(CopernicaBatch *batch, CopernicaRequest *req,
				   CopernicaResponse *resp, MemoryContext body_cxt)
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

	if (batch->released)
		elog(ERROR, "Copernica batch used after its end");
	t = batch_lookup(batch, handle);
	if (t == NULL)
		elog(ERROR, "invalid Copernica request handle %d", handle);

	if (t->state != TRANSFER_DONE && t->state != TRANSFER_ABORTED)
		batch_drive(batch, &t, 1);

	if (t->state == TRANSFER_ABORTED)
	{
		if (t->method == METHOD_POST && t->cut_off)
			ereport(ERROR,
					(errcode(ERRCODE_FDW_UNABLE_TO_ESTABLISH_CONNECTION),
					 errmsg("the outcome of the request is unknown: it was interrupted"),
					 transfer_errcontext(t)));
		ereport(ERROR,
				(errcode(ERRCODE_FDW_ERROR),
				 errmsg("the request was abandoned after an earlier error"),
				 transfer_errcontext(t)));
	}

	return transfer_finish(t);
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
			!curl_error_is_permanent(t->result))
			return COPERNICA_OUTCOME_UNKNOWN;
		return COPERNICA_OUTCOME_FAILED;
	}
	if ((t->status >= 200 && t->status < 300) || t->status == 303)
	{
		if (t->x_created[0])
			*x_created = t->x_created;
		return COPERNICA_OUTCOME_SUCCEEDED;
	}
	/* a gateway giving up says nothing about what happened behind it */
	if (t->method == METHOD_POST && transfer_may_have_arrived(t))
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
		curl_multi_remove_handle(conn->multi, t->easy);
		conn->nattached--;
		conn_put_easy(conn, t->easy);
		t->easy = NULL;
	}
	if (t->state == TRANSFER_RUNNING || t->state == TRANSFER_BACKOFF)
		batch->nactive--;
	batch->transfers[handle - batch->base] = NULL;

	/* the body belongs to the batch unless copernica_perform lent it */
	if (t->body_cxt == batch->cxt)
	{
		if (t->body)
			pfree(t->body);
		if (t->resp->content_type)
			pfree(t->resp->content_type);
		if (t->resp->x_created)
			pfree(t->resp->x_created);
		if (t->resp->x_deleted)
			pfree(t->resp->x_deleted);
		if (t->resp->error_message)
			pfree(t->resp->error_message);
		pfree(t->resp);
	}
	pfree(t->req.path);
	if (t->req.query)
		pfree(t->req.query);
	if (t->req.body)
		pfree(t->req.body);
	pfree(t->url);
	pfree(t);
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
		conn_destroy_handles(conn);
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
			curl_multi_remove_handle(conn->multi, t->easy);
			conn->nattached--;
			t->cut_off = true;
			conn_put_easy(conn, t->easy);
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
			now = now_ms();
		if (t->retry_at <= now)
			transfer_start(t);
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
		transfer_start(t);
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
			conn_ensure_handles(conn);
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
			now = now_ms();
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
		transfer_attempt_done((Transfer *) priv, result);
	}
}


/* ----------------------------------------------------------------
 * One transfer
 * ----------------------------------------------------------------
 */

#define SETOPT(easy, opt, val) \
	do { \
		if (rc == CURLE_OK) \
			rc = curl_easy_setopt((easy), (opt), (val)); \
	} while (0)

/* Start (or restart) one attempt: set up an easy handle and attach it. */
static void
transfer_start(Transfer *t)
{
	CopernicaBatch *batch = t->batch;
	CopernicaConnection *conn = batch->conn;
	CURL	   *easy;
	CURLcode	rc = CURLE_OK;
	CURLMcode	mc;
	bool		has_body = (t->req.body != NULL);

	conn_ensure_handles(conn);

	/* forget the previous attempt */
	t->result = CURLE_OK;
	t->status = 0;
	t->too_large = false;
	t->out_of_memory = false;
	t->errbuf[0] = '\0';
	t->body_sent = 0;
	t->sent_once = false;
	t->resend_refused = false;
	t->body_len = 0;
	t->content_type[0] = '\0';
	t->x_created[0] = '\0';
	t->x_deleted[0] = '\0';
	t->retry_after[0] = '\0';

	easy = conn_get_easy(conn);

	SETOPT(easy, CURLOPT_URL, t->url);
	SETOPT(easy, CURLOPT_NOSIGNAL, 1L);
#if LIBCURL_VERSION_NUM >= 0x075500
	SETOPT(easy, CURLOPT_PROTOCOLS_STR, "http,https");
	SETOPT(easy, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
#else
	SETOPT(easy, CURLOPT_PROTOCOLS, (long) (CURLPROTO_HTTP | CURLPROTO_HTTPS));
	SETOPT(easy, CURLOPT_REDIR_PROTOCOLS, (long) (CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
	/* a PUT answers 303 with the token in Location: never follow */
	SETOPT(easy, CURLOPT_FOLLOWLOCATION, 0L);
	/* set every time: easy handles are reused */
	SETOPT(easy, CURLOPT_SSL_VERIFYPEER, batch->ssl_verify ? 1L : 0L);
	SETOPT(easy, CURLOPT_SSL_VERIFYHOST, batch->ssl_verify ? 2L : 0L);
	SETOPT(easy, CURLOPT_CONNECTTIMEOUT, (long) batch->connect_timeout);
	SETOPT(easy, CURLOPT_TIMEOUT, (long) batch->request_timeout);
	SETOPT(easy, CURLOPT_ERRORBUFFER, t->errbuf);
	SETOPT(easy, CURLOPT_PRIVATE, (void *) t);
	SETOPT(easy, CURLOPT_WRITEFUNCTION, write_callback);
	SETOPT(easy, CURLOPT_WRITEDATA, (void *) t);
	SETOPT(easy, CURLOPT_HEADERFUNCTION, header_callback);
	SETOPT(easy, CURLOPT_HEADERDATA, (void *) t);
	SETOPT(easy, CURLOPT_USERAGENT, COPERNICA_USER_AGENT);
	SETOPT(easy, CURLOPT_HTTPHEADER,
		   has_body ? conn->headers_json : conn->headers_plain);

	switch (t->method)
	{
		case METHOD_GET:
			SETOPT(easy, CURLOPT_HTTPGET, 1L);
			break;
		case METHOD_POST:

			/*
			 * libcurl silently sends a request again when a reused
			 * connection dies before any answer.  For a POST that could
			 * create a row twice.  Feeding the body through callbacks that
			 * refuse to rewind or to send again once body bytes were taken
			 * makes such a resend fail, and we report the outcome as unknown
			 * instead.
			 */
			SETOPT(easy, CURLOPT_POST, 1L);
			SETOPT(easy, CURLOPT_POSTFIELDSIZE_LARGE,
				   (curl_off_t) (has_body ? strlen(t->req.body) : 0));
			SETOPT(easy, CURLOPT_READFUNCTION, read_callback);
			SETOPT(easy, CURLOPT_READDATA, (void *) t);
			SETOPT(easy, CURLOPT_SEEKFUNCTION, seek_callback);
			SETOPT(easy, CURLOPT_SEEKDATA, (void *) t);
#if LIBCURL_VERSION_NUM >= 0x075000
			SETOPT(easy, CURLOPT_PREREQFUNCTION, prereq_callback);
			SETOPT(easy, CURLOPT_PREREQDATA, (void *) t);
#endif
			break;
		case METHOD_PUT:
			/* an empty body still gets a Content-Length: 0 */
			SETOPT(easy, CURLOPT_POSTFIELDSIZE_LARGE,
				   (curl_off_t) (has_body ? strlen(t->req.body) : 0));
			SETOPT(easy, CURLOPT_POSTFIELDS, has_body ? t->req.body : "");
			SETOPT(easy, CURLOPT_CUSTOMREQUEST, "PUT");
			break;
		case METHOD_DELETE:
			if (has_body)
			{
				SETOPT(easy, CURLOPT_POSTFIELDSIZE_LARGE,
					   (curl_off_t) strlen(t->req.body));
				SETOPT(easy, CURLOPT_POSTFIELDS, t->req.body);
			}
			SETOPT(easy, CURLOPT_CUSTOMREQUEST, "DELETE");
			break;
	}

	if (rc == CURLE_OK && batch->limit_is_option)
		rc = curl_easy_setopt(easy, CURLOPT_MAXFILESIZE_LARGE,
							  (curl_off_t) t->body_limit);

	if (rc != CURLE_OK)
	{
		conn_put_easy(conn, easy);
		ereport(ERROR,
				(errcode(ERRCODE_FDW_ERROR),
				 errmsg("could not set up the request to Copernica: %s",
						curl_easy_strerror(rc)),
				 transfer_errcontext(t)));
	}

	/* nice to have; a failure here changes nothing essential */
	if (conn->share)
		(void) curl_easy_setopt(easy, CURLOPT_SHARE, conn->share);
	(void) curl_easy_setopt(easy, CURLOPT_ACCEPT_ENCODING, "");
	(void) curl_easy_setopt(easy, CURLOPT_TCP_KEEPALIVE, 1L);
	(void) curl_easy_setopt(easy, CURLOPT_TCP_KEEPIDLE, 60L);
	(void) curl_easy_setopt(easy, CURLOPT_TCP_KEEPINTVL, 30L);

	mc = curl_multi_add_handle(conn->multi, easy);
	if (mc != CURLM_OK)
	{
		conn_put_easy(conn, easy);
		ereport(ERROR,
				(errcode(ERRCODE_FDW_ERROR),
				 errmsg("libcurl failed: %s", curl_multi_strerror(mc)),
				 transfer_errcontext(t)));
	}

	t->easy = easy;
	t->state = TRANSFER_RUNNING;
	conn->nattached++;
	if (batch->stats)
		batch->stats->requests++;
}

/*
 * libcurl finished an attempt: take the handle back, record the outcome and
 * decide whether to retry.  Never throws, and never sleeps: a retry only
 * gets a time, and the wait loop restarts it.
 */
static void
transfer_attempt_done(Transfer *t, CURLcode result)
{
	CopernicaBatch *batch = t->batch;
	CopernicaConnection *conn = batch->conn;
	int64		delay;

	Assert(t->state == TRANSFER_RUNNING);

	t->result = result;
	t->status = 0;
	if (result == CURLE_OK)
		(void) curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &t->status);
	else if (result == CURLE_FILESIZE_EXCEEDED)
		t->too_large = true;
	/* make sure the error text is there even if libcurl left it empty */
	if (result != CURLE_OK && t->errbuf[0] == '\0')
		strlcpy(t->errbuf, curl_easy_strerror(result), sizeof(t->errbuf));

	curl_multi_remove_handle(conn->multi, t->easy);
	conn->nattached--;
	conn_put_easy(conn, t->easy);
	t->easy = NULL;

	if (batch->stats)
		batch->stats->bytes += t->body_len;

	if (transfer_should_retry(t, &delay))
	{
		t->retries++;
		t->retry_at = now_ms() + delay;
		t->state = TRANSFER_BACKOFF;
		if (batch->stats)
			batch->stats->retries++;
	}
	else
	{
		t->state = TRANSFER_DONE;
		batch->nactive--;
	}
}

/*
 * The load balancer's "Loadbalancer Error ... too many requests to handle"
 * page (a 503 or 504 in HTML): the request was turned away before it
 * reached Copernica.  Never throws.
 */
static bool
transfer_is_overload_page(Transfer *t)
{
	static const char phrase[] = "too many requests";
	size_t		n = sizeof(phrase) - 1;
	size_t		i;

	if (t->status != 503 && t->status != 504)
		return false;
	if (pg_strncasecmp(t->content_type, "text/html", 9) != 0)
		return false;
	for (i = 0; t->body && i + n <= t->body_len; i++)
		if (pg_strncasecmp(t->body + i, phrase, n) == 0)
			return true;
	return false;
}

/* A gateway's error that says nothing of what happened behind it. */
static bool
transfer_may_have_arrived(Transfer *t)
{
	if (t->status == 500 || t->status == 502)
		return true;
	return (t->status == 503 || t->status == 504) && !transfer_is_overload_page(t);
}

/*
 * Transport failures that no retry can cure.  Everything else a retry may
 * fix: time-outs, refused and dropped connections, truncated answers.
 */
static bool
curl_error_is_permanent(CURLcode rc)
{
	switch (rc)
	{
		case CURLE_UNSUPPORTED_PROTOCOL:
		case CURLE_URL_MALFORMAT:
		case CURLE_NOT_BUILT_IN:
		case CURLE_OUT_OF_MEMORY:
		case CURLE_BAD_FUNCTION_ARGUMENT:
		case CURLE_UNKNOWN_OPTION:
		case CURLE_PEER_FAILED_VERIFICATION:
		case CURLE_SSL_CERTPROBLEM:
		case CURLE_SSL_CIPHER:
		case CURLE_SSL_CACERT_BADFILE:
		case CURLE_SSL_CRL_BADFILE:
		case CURLE_SSL_ISSUER_ERROR:
		case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
		case CURLE_FILESIZE_EXCEEDED:
		case CURLE_TOO_MANY_REDIRECTS:
		case CURLE_LOGIN_DENIED:
			return true;
		default:
			return false;
	}
}

/*
 * Whether the last attempt is worth repeating, and after how long.
 *
 * GET, PUT and DELETE are idempotent and are retried on transport failures
 * and on the overload answers 429, 502, 503, 504.  A POST is repeated only
 * when it certainly never reached Copernica (no connection, a 429, the load
 * balancer's "too many requests" page), or a row would be created twice.
 * A 400 is Copernica's considered answer and never retried.
 */
static bool
transfer_should_retry(Transfer *t, int64 *delay_ms)
{
	CopernicaBatch *batch = t->batch;
	bool		honour_retry_after = false;
	int64		now;
	int64		remaining;
	int64		delay;

	if (t->too_large || t->out_of_memory)
		return false;

	if (t->result != CURLE_OK)
	{
		if (curl_error_is_permanent(t->result))
			return false;
		if (t->method == METHOD_POST &&
			t->result != CURLE_COULDNT_CONNECT &&
			t->result != CURLE_COULDNT_RESOLVE_HOST &&
			t->result != CURLE_COULDNT_RESOLVE_PROXY)
			return false;
	}
	else if (t->status == 429 || t->status == 502 ||
			 t->status == 503 || t->status == 504)
	{
		/* a POST only when it certainly was turned away before Copernica */
		if (t->method == METHOD_POST && t->status != 429 &&
			!transfer_is_overload_page(t))
			return false;
		honour_retry_after = (t->status == 429 || t->status == 503);
	}
	else
		return false;

	if (t->retries >= batch->max_retries)
		return false;

	/* the budget covers all retries, from the first failure on */
	now = now_ms();
	if (t->retry_deadline < 0)
		t->retry_deadline = now + (int64) batch->max_retry_time * 1000;
	remaining = t->retry_deadline - now;
	if (remaining <= 0)
		return false;

	delay = -1;
	if (honour_retry_after && t->retry_after[0] != '\0')
	{
		/* only the delay-seconds form; an HTTP date falls back to backoff */
		char	   *end;
		long		secs;

		errno = 0;
		secs = strtol(t->retry_after, &end, 10);
		if (errno == 0 && *end == '\0' && end != t->retry_after && secs >= 0)
			delay = (int64) Min(secs, (long) (PG_INT32_MAX / 1000)) * 1000;
	}
	if (delay < 0)
	{
		int64		ceiling = COPERNICA_BACKOFF_BASE_MS;
		int			i;

		for (i = 0; i < t->retries && ceiling < COPERNICA_BACKOFF_CAP_MS; i++)
			ceiling *= 2;
		ceiling = Min(ceiling, COPERNICA_BACKOFF_CAP_MS);
		delay = (int64) copernica_random_upto((uint64) ceiling);
	}

	*delay_ms = Min(delay, remaining);
	return true;
}

/*
 * The final word on a finished transfer: raise its error, or fill in and
 * return its response.
 */
static CopernicaResponse *
transfer_finish(Transfer *t)
{
	CopernicaResponse *resp = t->resp;
	char	   *excerpt;
	char	   *message;

	Assert(t->state == TRANSFER_DONE);

	if (t->out_of_memory)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_OUT_OF_MEMORY),
				 errmsg("out of memory"),
				 errdetail("Failed while receiving Copernica's answer of %zu bytes.",
						   t->body_len),
				 transfer_errcontext(t)));

	if (t->too_large)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_ERROR),
				 errmsg("Copernica's answer exceeds max_response_size (%lld bytes)",
						(long long) t->body_limit),
				 errhint("Raise the server option max_response_size, or lower page_size."),
				 transfer_errcontext(t)));

	if (t->result != CURLE_OK)
	{
		char	   *reason;

		/* libcurl's words for a POST we refused to send twice */
		if (t->resend_refused || t->result == CURLE_SEND_FAIL_REWIND)
			reason = "the connection closed before Copernica answered";
		else
			reason = without_elapsed_time(copernica_redact(t->errbuf));

		if (t->method == METHOD_POST &&
			t->result != CURLE_COULDNT_CONNECT &&
			t->result != CURLE_COULDNT_RESOLVE_HOST &&
			t->result != CURLE_COULDNT_RESOLVE_PROXY &&
			!curl_error_is_permanent(t->result))
			ereport(ERROR,
					(errcode(ERRCODE_FDW_UNABLE_TO_ESTABLISH_CONNECTION),
					 errmsg("the outcome of the request is unknown: %s", reason),
					 errdetail("The connection failed after the request may have reached Copernica, so it was not repeated."),
					 transfer_errcontext(t)));

		ereport(ERROR,
				(errcode(ERRCODE_FDW_UNABLE_TO_ESTABLISH_CONNECTION),
				 errmsg("could not reach Copernica: %s", reason),
				 t->retries > 0 ?
				 errdetail("The request was tried %d times.", t->retries + 1) : 0,
				 transfer_errcontext(t)));
	}

	/* the body becomes a StringInfo as it is, without a copy */
	if (t->body == NULL)
	{
		t->body = MemoryContextAlloc(t->body_cxt, 1);
		t->body_cap = 1;
	}
	t->body[t->body_len] = '\0';
	resp->status = t->status;
	resp->body.data = t->body;
	resp->body.len = (int) t->body_len;
	resp->body.maxlen = (int) t->body_cap;
	resp->body.cursor = 0;
	if (resp->content_type == NULL && t->content_type[0])
		resp->content_type = MemoryContextStrdup(t->body_cxt, t->content_type);
	if (resp->x_created == NULL && t->x_created[0])
		resp->x_created = MemoryContextStrdup(t->body_cxt, t->x_created);
	if (resp->x_deleted == NULL && t->x_deleted[0])
		resp->x_deleted = MemoryContextStrdup(t->body_cxt, t->x_deleted);

	/* a PUT's 303 points back at the request, token included: ignore it */
	if ((t->status >= 200 && t->status < 300) || t->status == 303)
		return resp;

	excerpt = copernica_redact_excerpt(t->body, t->body_len);

	if (t->status == 400)
	{
		message = copernica_json_error_message(t->body, t->body_len);
		if (message != NULL)
			message = copernica_redact(message);

		if (t->req.accept_error)
		{
			if (resp->error_message == NULL)
				resp->error_message =
					MemoryContextStrdup(t->body_cxt,
										message ? message :
										excerpt ? excerpt :
										"HTTP 400 without an error message");
			return resp;
		}

		if (message != NULL)
		{
			int			code;

			if (pg_strcasecmp(message, "Invalid access token") == 0)
				code = ERRCODE_FDW_UNABLE_TO_ESTABLISH_CONNECTION;
			else if (pg_strcasecmp(message, "No database with supplied ID") == 0 ||
					 pg_strcasecmp(message, "No collection with given ID") == 0 ||
					 pg_strcasecmp(message, "No view with supplied ID") == 0)
				code = ERRCODE_FDW_TABLE_NOT_FOUND;
			else
				code = ERRCODE_FDW_ERROR;

			ereport(ERROR,
					(errcode(code),
					 errmsg("Copernica rejected the request: %s", message),
					 transfer_errcontext(t)));
		}
	}

	/* a gateway giving up says nothing about what happened behind it */
	if (t->method == METHOD_POST && transfer_may_have_arrived(t))
		ereport(ERROR,
				(errcode(ERRCODE_FDW_ERROR),
				 errmsg("Copernica answered HTTP %ld", t->status),
				 excerpt ? errdetail("The answer begins with: %s", excerpt) : 0,
				 errhint("The request may have been carried out nevertheless."),
				 transfer_errcontext(t)));

	if (t->retries > 0)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_ERROR),
				 errmsg("Copernica answered HTTP %ld", t->status),
				 excerpt ?
				 errdetail("The request was tried %d times. The last answer begins with: %s",
						   t->retries + 1, excerpt) :
				 errdetail("The request was tried %d times.", t->retries + 1),
				 transfer_errcontext(t)));

	ereport(ERROR,
			(errcode(ERRCODE_FDW_ERROR),
			 errmsg("Copernica answered HTTP %ld", t->status),
			 excerpt ? errdetail("The answer begins with: %s", excerpt) : 0,
			 transfer_errcontext(t)));
	return NULL;				/* keep compiler quiet */
}

/*
 * errcontext for an error about a transfer: the request, token removed.
 * Called only within ereport's argument list.
 */
static int
transfer_errcontext(Transfer *t)
{
	return errcontext("Copernica request: %s",
					  copernica_redact(copernica_request_describe(&t->req)));
}


/* ----------------------------------------------------------------
 * libcurl callbacks: no ereport, no throwing allocation
 * ----------------------------------------------------------------
 */

/*
 * Append received body bytes.  Returning less than given makes libcurl abort
 * the transfer with CURLE_WRITE_ERROR; the flags say why.
 */
static size_t
write_callback(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	Transfer   *t = (Transfer *) userdata;
	size_t		n = size * nmemb;

	if (n == 0)
		return 0;
	if (n > t->body_limit || t->body_len > t->body_limit - n)
	{
		t->too_large = true;
		return 0;
	}
	if (t->body_len + n + 1 > t->body_cap)
	{
		size_t		newcap = Max(t->body_cap, 8192);
		char	   *newbody;

		while (newcap < t->body_len + n + 1)
			newcap *= 2;
		/* body_limit keeps body_len + n + 1 within MaxAllocSize */
		newcap = Min(newcap, (size_t) MaxAllocSize);
		newbody = MemoryContextAllocExtended(t->body_cxt, newcap,
											 MCXT_ALLOC_NO_OOM);
		if (newbody == NULL)
		{
			t->out_of_memory = true;
			return 0;
		}
		if (t->body_len > 0)
			memcpy(newbody, t->body, t->body_len);
		if (t->body)
			pfree(t->body);
		t->body = newbody;
		t->body_cap = newcap;
	}
	memcpy(t->body + t->body_len, ptr, n);
	t->body_len += n;
	return n;
}

/* Hand libcurl the next piece of a POST body. */
static size_t
read_callback(char *buffer, size_t size, size_t nitems, void *userdata)
{
	Transfer   *t = (Transfer *) userdata;
	size_t		total = t->req.body ? strlen(t->req.body) : 0;
	size_t		n = Min(size * nitems, total - t->body_sent);

	if (n > 0)
		memcpy(buffer, t->req.body + t->body_sent, n);
	t->body_sent += n;
	return n;
}

/*
 * libcurl asks to rewind a POST body only to send the request again.  Allow
 * it while nothing has been sent; otherwise refuse, so the request fails
 * rather than possibly being carried out twice.
 */
static int
seek_callback(void *userdata, curl_off_t offset, int origin)
{
	Transfer   *t = (Transfer *) userdata;

	if (origin == SEEK_SET && offset == 0 && t->body_sent == 0)
		return CURL_SEEKFUNC_OK;
	t->resend_refused = true;
	return CURL_SEEKFUNC_FAIL;
}

#if LIBCURL_VERSION_NUM >= 0x075000
/*
 * Called each time libcurl is about to send the request.  A second time
 * means libcurl is resending a POST on its own; allow that only while none
 * of the body has been taken, since then Copernica cannot have acted on it.
 */
static int
prereq_callback(void *userdata, char *conn_primary_ip, char *conn_local_ip,
				int conn_primary_port, int conn_local_port)
{
	Transfer   *t = (Transfer *) userdata;

	if (t->sent_once && t->body_sent > 0)
	{
		t->resend_refused = true;
		return CURL_PREREQFUNC_ABORT;
	}
	t->sent_once = true;
	return CURL_PREREQFUNC_OK;
}
#endif

/*
 * Copy a header's value if the line is that header: name matched without
 * regard to case, value trimmed, control characters replaced, truncated to
 * fit.
 */
static bool
header_value(const char *line, size_t len, const char *name,
			 char *dest, size_t destsize)
{
	size_t		namelen = strlen(name);
	const char *value;
	const char *end;
	size_t		n;
	size_t		i;

	if (len <= namelen || line[namelen] != ':' ||
		pg_strncasecmp(line, name, namelen) != 0)
		return false;

	value = line + namelen + 1;
	end = line + len;
	while (value < end && (*value == ' ' || *value == '\t'))
		value++;
	while (end > value &&
		   (end[-1] == ' ' || end[-1] == '\t' ||
			end[-1] == '\r' || end[-1] == '\n'))
		end--;

	n = Min((size_t) (end - value), destsize - 1);
	for (i = 0; i < n; i++)
	{
		unsigned char c = (unsigned char) value[i];

		dest[i] = (c < 0x20 || c >= 0x7F) ? '?' : (char) c;
	}
	dest[n] = '\0';
	return true;
}

/*
 * Collect the few headers we use.  Location is deliberately ignored: on a
 * PUT it echoes the URL with the token.
 */
static size_t
header_callback(char *buffer, size_t size, size_t nitems, void *userdata)
{
	Transfer   *t = (Transfer *) userdata;
	size_t		len = size * nitems;

	/* a status line starts a new response (after a 1xx, say) */
	if (len >= 5 && strncmp(buffer, "HTTP/", 5) == 0)
	{
		t->content_type[0] = '\0';
		t->x_created[0] = '\0';
		t->x_deleted[0] = '\0';
		t->retry_after[0] = '\0';
		return len;
	}

	if (!header_value(buffer, len, "Content-Type",
					  t->content_type, sizeof(t->content_type)) &&
		!header_value(buffer, len, "X-Created",
					  t->x_created, sizeof(t->x_created)) &&
		!header_value(buffer, len, "X-Deleted",
					  t->x_deleted, sizeof(t->x_deleted)))
		(void) header_value(buffer, len, "Retry-After",
							t->retry_after, sizeof(t->retry_after));
	return len;
}


/* ----------------------------------------------------------------
 * Error helpers
 * ----------------------------------------------------------------
 */

/*
 * libcurl says "Failed to connect to host port 9 after 3 ms: ...": the same
 * failure should read the same every time, so the elapsed time goes.
 */
static char *
without_elapsed_time(char *s)
{
	char	   *p = strstr(s, " after ");
	char	   *q;

	if (p == NULL)
		return s;
	q = p + strlen(" after ");
	if (!isdigit((unsigned char) *q))
		return s;
	while (isdigit((unsigned char) *q))
		q++;
	if (strncmp(q, " ms", 3) != 0)
		return s;
	memmove(p, q + 3, strlen(q + 3) + 1);
	return s;
}

/* Milliseconds on a monotonic clock, for backoff and retry budgets. */
static int64
now_ms(void)
{
	instr_time	now;

	INSTR_TIME_SET_CURRENT(now);
	return (int64) INSTR_TIME_GET_MILLISEC(now);
}
