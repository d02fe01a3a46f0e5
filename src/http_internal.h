/*-------------------------------------------------------------------------
 *
 * http_internal.h
 *		  What the three files behind the HTTP interface of copernica_fdw.h
 *		  share, and nobody else sees: the cached connection, one request's
 *		  transfer through its attempts, and the batch that drives them.
 *
 * connection.c owns the connection and handle cache (one per user mapping),
 * batch.c the multi-handle driver (queueing, waiting, cancel), http.c one
 * transfer: the request libcurl sends, the retry policy and the errors.
 *
 *-------------------------------------------------------------------------
 */
#ifndef COPERNICA_HTTP_INTERNAL_H
#define COPERNICA_HTTP_INTERNAL_H

#include <curl/curl.h>

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
	char	   *proxy;			/* "" for none */

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
	bool		body_cxt_owned; /* body_cxt is the response's own, freed
								 * with the transfer */

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
	bool		ending;			/* copernica_batch_end, not error cleanup:
								 * stats may still be written */
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
	char	   *proxy;			/* "" for none */
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

/* connection.c */
extern void copernica_conn_destroy_handles(CopernicaConnection *conn);
extern void copernica_conn_ensure_handles(CopernicaConnection *conn);
extern CURL *copernica_conn_get_easy(CopernicaConnection *conn);
extern void copernica_conn_put_easy(CopernicaConnection *conn, CURL *easy);

/* http.c */
extern void copernica_transfer_start(Transfer *t);
extern void copernica_transfer_attempt_done(Transfer *t, CURLcode result);
extern void copernica_transfer_count_cut_off(Transfer *t);
extern bool copernica_transfer_went_out(Transfer *t);
extern bool copernica_transfer_may_have_arrived(Transfer *t);
extern bool copernica_curl_error_is_permanent(CURLcode rc);
extern bool copernica_see_other_is_success(Transfer *t);
extern CopernicaResponse *copernica_transfer_finish(Transfer *t);
extern int	copernica_transfer_errcontext(Transfer *t);
extern int64 copernica_now_ms(void);

#endif							/* COPERNICA_HTTP_INTERNAL_H */
