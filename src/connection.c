/*-------------------------------------------------------------------------
 *
 * connection.c
 *		  The connection cache: one entry per server and user mapping,
 *		  holding the options requests are made with and the libcurl
 *		  handles (multi handle, pool of easy handles, TLS session share)
 *		  they reuse; invalidated when the catalogs change.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <curl/curl.h>

#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/memutils.h"
#include "utils/syscache.h"

#include "copernica_fdw.h"
#include "http_internal.h"

static HTAB *ConnectionHash = NULL;
static bool curl_initialized = false;

static void copernica_inval_callback(Datum arg, int cacheid, uint32 hashvalue);
static void conn_set_options(CopernicaConnection *conn,
							 const CopernicaOptions *opts);
static void conn_set_numbers(CopernicaConnection *conn,
							 const CopernicaOptions *opts);
static bool conn_options_differ(CopernicaConnection *conn,
								const CopernicaOptions *opts);


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

	memset(&key, 0, sizeof(key));
	key.serverid = serverid;
	key.umid = copernica_user_mapping(userid, serverid, NULL);

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
		copernica_conn_destroy_handles(conn);

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
	if (conn->proxy)
		pfree(conn->proxy);
	conn->proxy = MemoryContextStrdup(TopMemoryContext,
									  opts->proxy ? opts->proxy : "");

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
	if (strcmp(conn->proxy, opts->proxy ? opts->proxy : "") != 0)
		return true;
	return strcmp(conn->access_token, token) != 0;
}

/*
 * Free all libcurl state of a connection.  Only legal while no easy handle
 * is attached to the multi handle.  Never throws: it runs from memory
 * context callbacks during abort too.
 */
void
copernica_conn_destroy_handles(CopernicaConnection *conn)
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

void
copernica_conn_ensure_handles(CopernicaConnection *conn)
{
	struct curl_slist *list;

	if (conn->handles_stale && conn->nattached == 0)
		copernica_conn_destroy_handles(conn);
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
	copernica_conn_destroy_handles(conn);
	ereport(ERROR,
			(errcode(ERRCODE_FDW_OUT_OF_MEMORY),
			 errmsg("out of memory"),
			 errdetail("Could not create a libcurl handle.")));
}

CURL *
copernica_conn_get_easy(CopernicaConnection *conn)
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
void
copernica_conn_put_easy(CopernicaConnection *conn, CURL *easy)
{
	if (conn->nidle < COPERNICA_EASY_POOL_SIZE && !conn->handles_stale)
	{
		curl_easy_reset(easy);
		conn->idle[conn->nidle++] = easy;
	}
	else
		curl_easy_cleanup(easy);
}
