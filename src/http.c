/*-------------------------------------------------------------------------
 *
 * http.c
 *		  One request's transfer through its attempts: the easy handle set
 *		  up for it, the retry policy (transport failures, 429, 503,
 *		  Retry-After, backoff with jitter) and turning bad answers into
 *		  errors with the right SQLSTATE that never show the access token.
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

#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "portability/instr_time.h"
#include "utils/memutils.h"

#include "copernica_fdw.h"
#include "http_internal.h"

static bool transfer_should_retry(Transfer *t, int64 *delay_ms);
static bool transfer_is_overload_page(Transfer *t);
static size_t write_callback(char *ptr, size_t size, size_t nmemb, void *userdata);
static size_t header_callback(char *buffer, size_t size, size_t nitems,
							  void *userdata);
static size_t read_callback(char *buffer, size_t size, size_t nitems,
							void *userdata);
static int	seek_callback(void *userdata, curl_off_t offset, int origin);
static char *without_elapsed_time(char *s);
#if LIBCURL_VERSION_NUM >= 0x075000
static int	prereq_callback(void *userdata, char *conn_primary_ip,
							char *conn_local_ip, int conn_primary_port,
							int conn_local_port);
#endif


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
void
copernica_transfer_start(Transfer *t)
{
	CopernicaBatch *batch = t->batch;
	CopernicaConnection *conn = batch->conn;
	CURL	   *easy;
	CURLcode	rc = CURLE_OK;
	CURLMcode	mc;
	bool		has_body = (t->req.body != NULL);

	copernica_conn_ensure_handles(conn);

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

	easy = copernica_conn_get_easy(conn);

	SETOPT(easy, CURLOPT_URL, t->url);
	SETOPT(easy, CURLOPT_NOSIGNAL, 1L);
#if LIBCURL_VERSION_NUM >= 0x075700

	/*
	 * A transfer taken off the multi handle while its host name is being
	 * resolved (a cancel, statement_timeout) would otherwise wait for the
	 * resolver thread, as long as a stuck DNS server keeps it: the thread
	 * is left to end and clean up on its own instead.
	 */
	SETOPT(easy, CURLOPT_QUICK_EXIT, 1L);
#endif
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
	/* "" means no proxy, also none from http_proxy and the like */
	SETOPT(easy, CURLOPT_PROXY, batch->proxy);
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
		copernica_conn_put_easy(conn, easy);
		ereport(ERROR,
				(errcode(ERRCODE_FDW_ERROR),
				 errmsg("could not set up the request to Copernica: %s",
						curl_easy_strerror(rc)),
				 copernica_transfer_errcontext(t)));
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
		copernica_conn_put_easy(conn, easy);
		ereport(ERROR,
				(errcode(ERRCODE_FDW_ERROR),
				 errmsg("libcurl failed: %s", curl_multi_strerror(mc)),
				 copernica_transfer_errcontext(t)));
	}

	t->easy = easy;
	t->state = TRANSFER_RUNNING;
	conn->nattached++;
	if (batch->stats)
		batch->stats->requests++;
}

/*
 * A running transfer is taken off the multi handle before it ended (a
 * rescan, a LIMIT reached): it was counted when started, and stays counted
 * only if it had gone out, so that EXPLAIN ANALYZE's count is what
 * Copernica saw.  Call before the handle is put back.  Never throws.
 */
void
copernica_transfer_count_cut_off(Transfer *t)
{
	if (t->batch->stats && !copernica_transfer_went_out(t))
		t->batch->stats->requests--;
}

/*
 * Has a running transfer's request been written?  libcurl writes it once
 * the connection is up, at pretransfer.  Never throws.
 */
bool
copernica_transfer_went_out(Transfer *t)
{
	curl_off_t	pretransfer = 0;

	return t->easy &&
		curl_easy_getinfo(t->easy, CURLINFO_PRETRANSFER_TIME_T, &pretransfer) == CURLE_OK &&
		pretransfer > 0;
}

/*
 * libcurl finished an attempt: take the handle back, record the outcome and
 * decide whether to retry.  Never throws, and never sleeps: a retry only
 * gets a time, and the wait loop restarts it.
 */
void
copernica_transfer_attempt_done(Transfer *t, CURLcode result)
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
	copernica_conn_put_easy(conn, t->easy);
	t->easy = NULL;

	if (batch->stats)
		batch->stats->bytes += t->body_len;

	if (transfer_should_retry(t, &delay))
	{
		t->retries++;
		t->retry_at = copernica_now_ms() + delay;
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
bool
copernica_transfer_may_have_arrived(Transfer *t)
{
	if (t->status == 500 || t->status == 502)
		return true;
	return (t->status == 503 || t->status == 504) && !transfer_is_overload_page(t);
}

/*
 * Transport failures that no retry can cure.  Everything else a retry may
 * fix: time-outs, refused and dropped connections, truncated answers.
 */
bool
copernica_curl_error_is_permanent(CURLcode rc)
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
		if (copernica_curl_error_is_permanent(t->result))
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
	now = copernica_now_ms();
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
 * Copernica answers 303 to writes that change an entity: a PUT, and a POST
 * that it handles as one (profile/N/interests).  From a GET or a DELETE a
 * 303 means something else answered: nothing was read or removed.
 */
bool
copernica_see_other_is_success(Transfer *t)
{
	return t->status == 303 &&
		(t->method == METHOD_PUT || t->method == METHOD_POST);
}

/*
 * The final word on a finished transfer: raise its error, or fill in and
 * return its response.
 */
CopernicaResponse *
copernica_transfer_finish(Transfer *t)
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
				 copernica_transfer_errcontext(t)));

	if (t->too_large)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_ERROR),
				 errmsg("Copernica's answer exceeds max_response_size (%lld bytes)",
						(long long) t->body_limit),
				 t->req.query && strstr(t->req.query, "limit=") ?
				 errhint("Raise the server option max_response_size, or lower page_size.") :
				 errhint("Raise the server option max_response_size."),
				 copernica_transfer_errcontext(t)));

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
			!copernica_curl_error_is_permanent(t->result))
			ereport(ERROR,
					(errcode(ERRCODE_FDW_UNABLE_TO_ESTABLISH_CONNECTION),
					 errmsg("the outcome of the request is unknown: %s", reason),
					 errdetail("The connection failed after the request may have reached Copernica, so it was not repeated."),
					 copernica_transfer_errcontext(t)));

		ereport(ERROR,
				(errcode(ERRCODE_FDW_UNABLE_TO_ESTABLISH_CONNECTION),
				 errmsg("could not reach Copernica: %s", reason),
				 t->retries > 0 ?
				 errdetail("The request was tried %d times.", t->retries + 1) : 0,
				 copernica_transfer_errcontext(t)));
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
	if ((t->status >= 200 && t->status < 300) || copernica_see_other_is_success(t))
		return resp;

	excerpt = copernica_redact_excerpt(t->body, t->body_len);

	if (t->status == 400)
	{
		ErrorContextCallback errcb;

		/* a body nested too deep to read is an error naming the request */
		errcb.callback = copernica_request_error_callback;
		errcb.arg = &t->req;
		errcb.previous = error_context_stack;
		error_context_stack = &errcb;
		message = copernica_json_error_message(t->body, t->body_len);
		error_context_stack = errcb.previous;
		if (message != NULL)
			message = copernica_redact_message(message);

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
					 copernica_transfer_errcontext(t)));
		}
	}

	/* a gateway giving up says nothing about what happened behind it */
	if (t->method == METHOD_POST && copernica_transfer_may_have_arrived(t))
		ereport(ERROR,
				(errcode(ERRCODE_FDW_ERROR),
				 errmsg("Copernica answered HTTP %ld", t->status),
				 excerpt ? errdetail("The answer begins with: %s", excerpt) : 0,
				 errhint("The request may have been carried out nevertheless."),
				 copernica_transfer_errcontext(t)));

	if (t->retries > 0)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_ERROR),
				 errmsg("Copernica answered HTTP %ld", t->status),
				 excerpt ?
				 errdetail("The request was tried %d times. The last answer begins with: %s",
						   t->retries + 1, excerpt) :
				 errdetail("The request was tried %d times.", t->retries + 1),
				 copernica_transfer_errcontext(t)));

	ereport(ERROR,
			(errcode(ERRCODE_FDW_ERROR),
			 errmsg("Copernica answered HTTP %ld", t->status),
			 excerpt ? errdetail("The answer begins with: %s", excerpt) : 0,
			 copernica_transfer_errcontext(t)));
	return NULL;				/* keep compiler quiet */
}

/*
 * errcontext for an error about a transfer: the request, token removed.
 * Called only within ereport's argument list.
 */
int
copernica_transfer_errcontext(Transfer *t)
{
	return errcontext("Copernica request: %s",
					  copernica_request_shown(&t->req));
}


/* ----------------------------------------------------------------
 * libcurl callbacks: no ereport, no throwing allocation
 * ----------------------------------------------------------------
 */

/* The most room a body gets before its bytes arrive (write_callback). */
#define BODY_PRESIZE_MAX	(16 * 1024 * 1024)

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
		curl_off_t	announced;

		/*
		 * The first time, room for the Content-Length announced, so that a
		 * page's body is not copied as it grows.  The server may lie: the
		 * room asked for stays within max_response_size and
		 * BODY_PRESIZE_MAX, and a longer body grows as any other.
		 */
		if (t->body_cap == 0 && t->easy != NULL &&
			curl_easy_getinfo(t->easy, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T,
							  &announced) == CURLE_OK &&
			announced > 0 && (uint64) announced < BODY_PRESIZE_MAX &&
			(size_t) announced <= t->body_limit)
			newcap = Max(newcap, (size_t) announced + 1);

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
int64
copernica_now_ms(void)
{
	instr_time	now;

	INSTR_TIME_SET_CURRENT(now);
	return (int64) INSTR_TIME_GET_MILLISEC(now);
}
