/*-------------------------------------------------------------------------
 *
 * copernica_fdw.h
 *		  The private header of copernica_fdw: what each file offers the
 *		  others (http_internal.h and mailing.h serve only their groups of
 *		  files).  Data flows one way: options -> plan -> requests -> pages
 *		  -> rows.  src/README.md follows one SELECT and one INSERT through
 *		  the files.
 *
 *-------------------------------------------------------------------------
 */
#ifndef COPERNICA_FDW_H
#define COPERNICA_FDW_H

#include "common/jsonapi.h"
#include "datatype/timestamp.h"
#include "fmgr.h"
#include "foreign/fdwapi.h"
#include "lib/stringinfo.h"
#include "nodes/pg_list.h"
#include "nodes/primnodes.h"
#include "utils/relcache.h"

#include "compat.h"

/* ----------------------------------------------------------------
 * option.c: every option, validated once, resolved into one struct
 * ----------------------------------------------------------------
 */
#define COPERNICA_DEFAULT_URL			"https://api.copernica.com/v2"
#define COPERNICA_DEFAULT_PAGE_SIZE		1000
#define COPERNICA_MAX_PAGE_SIZE			1000
#define COPERNICA_DEFAULT_TIMEZONE		"Europe/Amsterdam"

typedef struct CopernicaOptions
{
	/* server, possibly overridden by the user mapping */
	char	   *url;			/* base URL without trailing slash */
	char	   *access_token;	/* never printed anywhere */
	int			connect_timeout;	/* seconds */
	int			request_timeout;	/* seconds, whole request */
	char	   *timezone;		/* zone Copernica's datetimes are in */
	int			max_retries;	/* retries of idempotent requests */
	int			max_retry_time; /* seconds, all retries of one request */
	int			max_concurrency;	/* requests in flight at once */
	int64		max_response_size;	/* bytes; larger answers are an error */
	bool		ssl_verify;		/* TLS certificate checks (superuser turns off) */
	char	   *proxy;			/* proxy URL (superuser sets); NULL: none, and
								 * never the environment's */

	/* server, overridable per table */
	int			page_size;
	int			batch_size;
	bool		updatable;

	/* table */
	char	   *database;		/* name or ID */
	char	   *collection;		/* name or ID */
	char	   *resource;		/* read-only listing name */
	char	   *view;			/* view ID or name, for resource 'view_profiles' */
	char	   *miniview;		/* miniview ID or name, for 'miniview_subprofiles' */
	char	   *upsert_key;		/* column an INSERT upserts on, or NULL */
} CopernicaOptions;

extern CopernicaOptions *copernica_get_options(Oid foreigntableid, Oid userid);
extern CopernicaOptions *copernica_get_server_options(Oid serverid, Oid userid);
extern Oid	copernica_user_mapping(Oid userid, Oid serverid, List **options);
extern char *copernica_column_field_option(Oid relid, AttrNumber attnum);

/* ----------------------------------------------------------------
 * connection.c, batch.c, http.c: libcurl, one cached multi handle per user
 * mapping (connection.c), batches of requests driven through it (batch.c),
 * each request's attempts, retries and errors (http.c)
 * ----------------------------------------------------------------
 */
typedef struct CopernicaConnection CopernicaConnection;

/* Counters shown by EXPLAIN ANALYZE; callers own and zero them. */
typedef struct CopernicaStats
{
	int64		requests;		/* HTTP requests sent, retries included */
	int64		retries;
	int64		bytes;			/* response body bytes received */
	double		wait_seconds;	/* wall time spent waiting on the API */
} CopernicaStats;

typedef struct CopernicaRequest
{
	const char *method;			/* "GET", "POST", "PUT", "DELETE" */
	char	   *path;			/* below the base URL, already escaped, e.g.
								 * "database/Customers/profiles" */
	char	   *query;			/* "start=0&limit=1000", escaped, without the
								 * token; NULL for none */
	char	   *body;			/* JSON body or NULL */
	bool		accept_error;	/* return HTTP 400 answers instead of raising */
} CopernicaRequest;

typedef struct CopernicaResponse
{
	long		status;			/* HTTP status; 0 before completion */
	StringInfoData body;		/* response body, NUL-terminated */
	char	   *content_type;	/* NULL when absent */
	char	   *x_created;		/* X-Created header value, or NULL */
	char	   *x_deleted;		/* X-Deleted header value, or NULL */
	char	   *error_message;	/* Copernica's {"error":{"message"}} on a 400
								 * when accept_error, else NULL */
} CopernicaResponse;

extern CopernicaConnection *copernica_get_connection(Oid serverid, Oid userid,
													 const CopernicaOptions *opts);

/*
 * One request, start to finish.  Raises on transport failure or an error
 * status (unless req->accept_error and the status is 400).  Idempotent
 * requests are retried as the options allow.
 */
extern void copernica_perform(CopernicaConnection *conn,
							  CopernicaRequest *req,
							  CopernicaResponse *resp,
							  CopernicaStats *stats);

/*
 * Several requests in flight at once (up to max_concurrency).  Requests are
 * started in the order added; waiting for one drives all of them.  The batch
 * lives in the memory context current at begin.
 */
typedef struct CopernicaBatch CopernicaBatch;

extern CopernicaBatch *copernica_batch_begin(CopernicaConnection *conn,
											 CopernicaStats *stats);
extern int	copernica_batch_add(CopernicaBatch *batch, CopernicaRequest *req);
extern CopernicaResponse *copernica_batch_wait(CopernicaBatch *batch, int handle);
extern int	copernica_batch_wait_any(CopernicaBatch *batch, const int *handles,
									 int nhandles);
extern void copernica_batch_end(CopernicaBatch *batch);

/*
 * For a caller that must learn every request's outcome even after one
 * fails (a batch of POSTs):  settle waits until the request is finished or
 * abandoned, raising only for interrupts and libcurl failures; stop starts
 * nothing more (queued requests and pending retries are abandoned); outcome
 * says what became of a request without ever raising.
 */
typedef enum CopernicaOutcome
{
	COPERNICA_OUTCOME_PENDING,	/* still running or waiting to be retried */
	COPERNICA_OUTCOME_NOT_SENT, /* abandoned before it could arrive */
	COPERNICA_OUTCOME_UNKNOWN,	/* cut off after it may have arrived */
	COPERNICA_OUTCOME_FAILED,	/* answered with an error */
	COPERNICA_OUTCOME_SUCCEEDED /* answered with success */
} CopernicaOutcome;

extern void copernica_batch_settle(CopernicaBatch *batch, int handle);
extern void copernica_batch_stop(CopernicaBatch *batch);
extern CopernicaOutcome copernica_batch_outcome(CopernicaBatch *batch, int handle,
												const char **x_created);

/* Free a waited-for response's body: a long scan must not keep old pages. */
extern void copernica_batch_forget(CopernicaBatch *batch, int handle);
extern void copernica_batch_keep_response(CopernicaBatch *batch, int handle,
										  MemoryContext cxt);

/* "GET database/x/profiles?start=0" for error contexts: never the token. */
extern char *copernica_request_describe(const CopernicaRequest *req);

/* how many bytes of a request an error's context shows */
#define COPERNICA_REQUEST_SHOWN_MAX 1000
extern char *copernica_request_shown(const CopernicaRequest *req);

/* ----------------------------------------------------------------
 * redact.c: access tokens out of remote text before it reaches a message
 * ----------------------------------------------------------------
 */
#define COPERNICA_EXCERPT_LEN		200	/* bytes of an answer in a message */

extern void copernica_redact_remember(const char *token);
extern char *copernica_redact(const char *s);
extern char *copernica_redact_excerpt(const char *s, size_t len);
extern char *copernica_redact_message(const char *message);
extern bool copernica_redact_needed(const char *s, size_t len);
extern void copernica_rethrow_redacted(MemoryContext cxt) pg_attribute_noreturn();

/* Names from Copernica's answers in a message: redacted and bounded. */
#define COPERNICA_LIST_NAMES		20	/* names a list shows */
#define COPERNICA_NAME_LEN			64	/* bytes of one name shown */

typedef struct CopernicaNameList
{
	StringInfoData buf;
	int			count;			/* names added, shown or not */
} CopernicaNameList;

extern char *copernica_redact_name(const char *name);
extern void copernica_name_list_init(CopernicaNameList *list);
extern void copernica_name_list_add(CopernicaNameList *list, const char *name);
extern char *copernica_name_list_text(CopernicaNameList *list);

/* ----------------------------------------------------------------
 * json.c, json_values.c: the page parser (common/jsonapi.h); the small
 * readers (string arrays, error messages, IDs) and JSON writing
 * ----------------------------------------------------------------
 */

/* Where one wanted value lives in an item. */
typedef enum CopernicaValueSource
{
	COPERNICA_SRC_PROPERTY,		/* a top-level key of the item, e.g. "ID" */
	COPERNICA_SRC_FIELD,		/* a key of the item's "fields" object */
	COPERNICA_SRC_FIELDS_OBJECT /* the whole "fields" object, as JSON text */
} CopernicaValueSource;

typedef struct CopernicaValuePath
{
	CopernicaValueSource source;
	const char *name;			/* matched case-insensitively; unused for
								 * FIELDS_OBJECT */
} CopernicaValuePath;

/*
 * One parsed page.  values[i * npaths + p] is item i's value for path p: a
 * NUL-terminated string (unescaped for JSON strings, the literal text for
 * numbers and booleans, the raw JSON text for objects and arrays), or NULL
 * when the key is absent or JSON null.
 */
typedef struct CopernicaPage
{
	bool		has_envelope;
	int64		start;
	int64		limit;
	int64		count;
	bool		has_total;
	int64		total;
	int			nitems;
	int			npaths;
	char	  **values;
	bool	   *is_json;		/* like values: true where the value is a JSON
								 * object or array, false for a string */
	bool	   *path_seen;		/* per path: present in at least one item */
	/*
	 * The first item that lacks a field a path names (-1: none), that path,
	 * and whether the item had no "fields" object at all.
	 */
	int			lacking_item;
	int			lacking_path;
	bool		lacking_fields;
	const char *body;			/* parsed in place: the body's bytes, where */
	const char *body_end;		/* its strings are (copernica_page_text_datum) */
} CopernicaPage;

/*
 * Parse a response body.  With envelope, the body must be a list envelope
 * {"start","limit","count","data":[...],"total"} and each element of data is
 * an item; without, the body is one item.  Raises
 * ERRCODE_FDW_INVALID_STRING_FORMAT on anything malformed: invalid encoding,
 * invalid JSON, a wrong envelope (count not matching data), items that are
 * not objects.
 */
extern CopernicaPage *copernica_parse_page(char *body, size_t len,
										   bool envelope,
										   const CopernicaValuePath *paths,
										   int npaths);
extern CopernicaPage *copernica_parse_page_in_place(char *body, size_t len,
													bool envelope,
													const CopernicaValuePath *paths,
													int npaths);
extern CopernicaPage *copernica_parse_page_escaped(char *body, size_t len,
												   bool envelope,
												   const CopernicaValuePath *paths,
												   int npaths);
/* A value of a page parsed in place as a text datum, if it is one as it is */
extern bool copernica_page_text_datum(const CopernicaPage *page,
									  const char *value, Datum *datum);

/*
 * An answer checked to be UTF-8 (else ERRCODE_FDW_INVALID_STRING_FORMAT)
 * and brought into the server encoding, a byte order mark dropped; *len is
 * updated.  The body a page is parsed from, or a message body as text.
 */
extern char *copernica_body_to_server(char *body, size_t *len);

/* A JSON array of scalars, e.g. ["soccer","news"], as a List of C strings. */
extern List *copernica_json_string_array(const char *json);

/* A member of a JSON object, for copernica_json_object_members. */
typedef struct CopernicaJsonMember
{
	char	   *key;
	char	   *scalar;			/* the value's text, NULL if not a scalar */
	JsonTokenType type;			/* the scalar's type */
} CopernicaJsonMember;

extern List *copernica_json_object_members(const char *json);

/*
 * Copernica's message from an error body {"error":{"message":"..."}}, or
 * NULL when the body is not of that shape.
 */
extern char *copernica_json_error_message(const char *body, size_t len);

/* Raise the JSON parser's error about remote text, token never shown. */
extern void copernica_report_json_error(JsonParseErrorType rc,
										JsonLexContext *lex) pg_attribute_noreturn();

/* An ID's decimal text (from JSON or X-Created); false when not one. */
extern bool copernica_parse_integer(const char *s, int64 *result);
extern const char *copernica_json_token_name(JsonTokenType type);

/*
 * How deep arrays and objects may nest in an answer.  Copernica's go five
 * or six levels deep; PostgreSQL's JSON parser recurses once per level, so
 * a hostile answer nested far deeper would otherwise end in "stack depth
 * limit exceeded", which blames the server's settings.
 */
#define COPERNICA_JSON_MAX_DEPTH 64
extern void copernica_json_check_depth(JsonLexContext *lex);
extern bool copernica_parse_id(const char *text, int64 *id);
extern int64 copernica_page_item_id(const CopernicaPage *page, int item,
									 int path);

/* Append s as a JSON string literal, quotes and escapes included. */
extern void copernica_json_append_string(StringInfo buf, const char *s);

/* ----------------------------------------------------------------
 * convert.c: Copernica's string values to and from datums
 * ----------------------------------------------------------------
 */
typedef enum CopernicaTypeKind
{
	COPERNICA_TYPE_TEXT,		/* text, varchar, bpchar, name: as is */
	COPERNICA_TYPE_DATE,
	COPERNICA_TYPE_TIMESTAMP,
	COPERNICA_TYPE_TIMESTAMPTZ,
	COPERNICA_TYPE_BOOL,
	COPERNICA_TYPE_JSON,
	COPERNICA_TYPE_JSONB,
	COPERNICA_TYPE_TEXT_ARRAY,
	COPERNICA_TYPE_OTHER		/* anything else: its input function */
} CopernicaTypeKind;

typedef struct CopernicaColumnType
{
	Oid			typid;
	int32		typmod;
	CopernicaTypeKind kind;
	FmgrInfo	input;
	Oid			ioparam;
	FmgrInfo	output;
} CopernicaColumnType;

extern void copernica_column_type_init(CopernicaColumnType *ct, Oid typid, int32 typmod);

/*
 * Copernica's string value to a datum, the one conversion of every read:
 * is_json says whether the value was a JSON object or array (page->is_json)
 * rather than a string that happens to start with { or [.
 */
extern Datum copernica_item_value_to_datum(CopernicaColumnType *ct, const char *value,
										   bool is_json, const char *timezone,
										   bool *isnull);

/* The one writer of Copernica's dates and datetimes (convert.c). */
typedef enum CopernicaDatetimeProblem
{
	COPERNICA_DATETIME_OK,
	COPERNICA_DATETIME_INFINITE,
	COPERNICA_DATETIME_OUT_OF_RANGE,	/* not a calendar time at all */
	COPERNICA_DATETIME_YEAR		/* outside Copernica's years 1 to 9999 */
} CopernicaDatetimeProblem;

struct pg_tz;
extern CopernicaDatetimeProblem copernica_date_text(Datum date, char **text,
													int *year);
extern CopernicaDatetimeProblem copernica_timestamp_text(Datum timestamp,
														 struct pg_tz *zone,
														 char **text, int *year,
														 bool *fraction);
extern char *copernica_datum_to_value(CopernicaColumnType *ct, Datum value,
									  bool isnull, const char *timezone);
extern bool copernica_is_calendar_date(const char *value, bool with_time);
extern bool copernica_local_range(TimestampTz ts, struct pg_tz *zone,
								  Timestamp *lo, Timestamp *hi);

/* ----------------------------------------------------------------
 * resource.c: what each kind of table means
 * ----------------------------------------------------------------
 */
typedef enum CopernicaResourceKind
{
	COPERNICA_PROFILES,			/* database/$id/profiles */
	COPERNICA_SUBPROFILES,		/* collection/$id/subprofiles */
	COPERNICA_VIEW_PROFILES,	/* view/$id/profiles */
	COPERNICA_MINIVIEW_SUBPROFILES, /* miniview/$id/subprofiles */
	COPERNICA_LISTING,			/* read-only listing: databases, fields, ... */
	COPERNICA_MAILING			/* emailings, destinations, events: mailing.c */
} CopernicaResourceKind;

typedef struct CopernicaResource
{
	CopernicaResourceKind kind;
	const char *name;			/* 'databases', 'profiles', ... for EXPLAIN */
	char	   *list_path;		/* escaped path of the listing */
	const char *entity_prefix;	/* "profile" / "subprofile" / NULL */
	bool		has_fields;		/* items carry a "fields" object */
	bool		writable;
	bool		bare;			/* one request answers all, without an
								 * envelope: an array of IDs, or one object */
	bool		id_array;		/* bare, and the answer is an array of IDs */
} CopernicaResource;

extern CopernicaResource *copernica_resolve_resource(const CopernicaOptions *opts);
extern bool copernica_lists_by_id(const CopernicaResource *res);
extern const char *copernica_resource_property(const CopernicaResource *res,
											   const char *colname);
extern bool copernica_property_needs_full(const char *property);
extern void copernica_check_listing_column(const CopernicaResource *res,
										   Oid relid, Form_pg_attribute attr);
extern void copernica_report_unmatched_column(const char *colname,
											  const char *relname,
											  List *field_names);
extern bool copernica_name_in_list(const char *name, List *names);

struct FormData_pg_attribute;
extern CopernicaValuePath copernica_column_source(const CopernicaResource *res,
												  Oid relid,
												  struct FormData_pg_attribute *attr);
extern char *copernica_escape_path_segment(const char *segment);
extern char *copernica_checked_id(const char *text);
extern char *copernica_profile_subprofiles_path(const CopernicaResource *res,
												const char *profile);
extern void copernica_append_url_escaped(StringInfo buf, const char *s);
extern bool copernica_is_numeric_id(const char *s);

/* ----------------------------------------------------------------
 * metadata.c: what planning reads from Copernica (listings, names bound
 * to IDs, bare resources, cached fields, size and ID bounds)
 * ----------------------------------------------------------------
 */
extern void copernica_resource_bind(CopernicaResource *res, CopernicaConnection *conn,
									const CopernicaOptions *opts, CopernicaStats *stats);
#define COPERNICA_MAX_LISTING_PAGES	100	/* of a structure listing */
extern void copernica_report_endless_listing(const char *path, int64 items) pg_attribute_noreturn();
extern List *copernica_fetch_listing(CopernicaConnection *conn, const char *path,
									 const CopernicaValuePath *paths, int npaths,
									 CopernicaStats *stats);
extern CopernicaPage *copernica_fetch_bare(CopernicaConnection *conn,
										   const CopernicaResource *res,
										   const CopernicaValuePath *paths,
										   int npaths, CopernicaStats *stats);

/* What planning knows of a table: its fields and size (cached a while). */
typedef struct CopernicaMetadata
{
	List	   *field_names;	/* of profile/subprofile tables */
	List	   *field_types;	/* Copernica types, parallel to names */
	List	   *field_values;	/* their "value": a select's choices */
	bool		has_total;
	double		total;			/* items in the listing, or -1 */
	int64		min_id;			/* smallest and largest ID of a profile or */
	int64		max_id;			/* subprofile listing, or -1 */
} CopernicaMetadata;

extern const CopernicaMetadata *copernica_get_metadata(CopernicaConnection *conn,
													   const CopernicaResource *res,
													   const CopernicaOptions *opts,
													   Oid serverid, Oid userid);
extern const char *copernica_field_type(const CopernicaMetadata *md, const char *name);
extern const char *copernica_field_definition(const CopernicaMetadata *md,
											  const char *name);

/* ----------------------------------------------------------------
 * deparse.c: what goes to the API, and how it is written
 * ----------------------------------------------------------------
 */
extern bool copernica_is_integer_type(Oid t);
extern const char *copernica_commuted_operator(const char *op);
struct RelOptInfo;

/* A longer text value is not sent: its request line could be refused. */
#define COPERNICA_MAX_CONDITION_TEXT	1000

/* What planning knows of the table a scan reads. */
typedef struct CopernicaPlanInfo
{
	struct PlannerInfo *root;	/* the query being planned */
	Oid			relid;
	struct TupleDescData *tupdesc;
	CopernicaOptions *opts;
	CopernicaResource *res;
	const CopernicaMetadata *md;	/* NULL for listings */
} CopernicaPlanInfo;

/*
 * A scan plan's fdw_private, by position (copernica_fdw.c writes it,
 * scan.c reads it), as postgres_fdw's FdwScanPrivateIndex.  int64 values
 * travel as int8 Consts.
 */
enum CopernicaScanPrivateIndex
{
	ScanPrivateRetrieved,		/* Integer list: attribute numbers to fill */
	ScanPrivateConds,			/* a list per pushed condition, below */
	ScanPrivateOrderField,		/* String: "id", "modified" or "" */
	ScanPrivateOrderDesc,		/* Integer: 1 for descending */
	ScanPrivateLimit,			/* Integer: rows, 0 for none, -1 for the
								 * last two fdw_exprs (LIMIT and OFFSET,
								 * evaluated when the scan starts) */
	ScanPrivateFilterText,		/* String: EXPLAIN's Copernica Filter */
	ScanPrivateSizeHint,		/* Integer: items in the listing, or -1 */
	ScanPrivateRequestText,		/* String: EXPLAIN's Copernica Request */
	ScanPrivateListPath,		/* String: the listing, IDs looked up */
	ScanPrivateMinId,			/* int8 Const: smallest ID, or -1 */
	ScanPrivateMaxId,			/* int8 Const: largest ID, or -1 */
	ScanPrivateRowsHint,		/* int8 Const: rows the plan expects */
	ScanPrivateKeyPath,			/* String: EXPLAIN's profile/$id/subprofiles/$c
								 * of a profile key, or "" */
	ScanPrivateLimitText		/* String: EXPLAIN's Copernica Limit when it
								 * is -1, or "" */
};

/* One pushed condition in a scan plan; its value is in fdw_exprs. */
enum CopernicaCondPrivateIndex
{
	CondPrivateField,			/* String */
	CondPrivateOp,				/* String */
	CondPrivateFormat,			/* Integer */
	CondPrivateExact,			/* Integer: 1 when Copernica's answer is exact */
	CondPrivateIdList,			/* Integer: 1 for id = ANY(array) */
	CondPrivateProfileKey		/* Integer: 1 for a subprofile's profile =
								 * value, read from the profile's listing */
};

/* A modify plan's fdw_private (modify.c), by position. */
enum CopernicaModifyPrivateIndex
{
	ModifyPrivateTargetAttrs,	/* Integer list: columns written */
	ModifyPrivateReturningAttrs,	/* Integer list: columns RETURNING reads */
	ModifyPrivateCallsQueries	/* Integer: a volatile function may read */
};

/* One condition that can be sent as fields[]=<field><op><value>. */
typedef struct CopernicaPushedCond
{
	const char *field;			/* "id", "modified" or a field name */
	const char *op;				/* Copernica's operator */
	Expr	   *value;			/* evaluated at scan start */
	int			format;			/* how the value is written */
	bool		exact;			/* Copernica's answer is exactly ours */
	bool		id_list;		/* id = ANY(array): one lookup per ID */
	bool		profile_key;	/* a subprofile's profile = value: read from
								 * profile/$value/subprofiles/$collection */
} CopernicaPushedCond;

extern bool copernica_classify_clause(struct RelOptInfo *baserel,
									  CopernicaPlanInfo *info,
									  Expr *clause, CopernicaPushedCond *cond);
extern char *copernica_condition_text(const char *field, const char *op,
									  int format, Datum value, Oid valtype,
									  bool *exact);
extern bool copernica_condition_exact_for_any_value(const CopernicaPushedCond *cond);
extern bool copernica_append_condition(StringInfo query, const char *field,
									   const char *op, int format, Datum value,
									   Oid valtype, bool *exact);
typedef void (*CopernicaColumnCheck) (struct FormData_pg_attribute *attr, void *arg);
extern Bitmapset *copernica_used_columns(struct RelOptInfo *baserel, TupleDesc tupdesc,
										 CopernicaColumnCheck check, void *arg);
extern char *copernica_explain_value(Expr *value, bool quoted);
extern int	copernica_array_elements(Datum array, Oid *elemtype, Datum **elems,
									 bool **nulls);
extern int64 *copernica_id_array(Datum array, int *nids);

/* ----------------------------------------------------------------
 * pager.c: which page requests a scan makes, in which order
 * ----------------------------------------------------------------
 */
typedef struct CopernicaPagerSpec
{
	const char *path;			/* the listing */
	char	   *params;			/* "&dataonly=true&fields%5B%5D=..." */
	bool		params_filter;	/* params hold conditions */
	char	   *order;			/* "&orderby=id", "&orderby=X&order=Y" or "" */
	int			page_size;
	int			max_concurrency;
	int64		limit;			/* rows in all, 0 for no limit */
	int64		size_hint;		/* the listing's size when planned, or -1 */
	int64		rows_hint;		/* rows expected to match, or -1 */
	int64		min_id_hint;	/* its smallest and largest ID when planned, */
	int64		max_id_hint;	/* or -1 */
	int64		id_ceiling;		/* read no ID above it, or 0 for no bound */
	bool		by_id;			/* a profile or subprofile listing whose rows
								 * may come in any order: read by ID */
	bool		keyset;			/* profiles or subprofiles: in ID order, one
								 * page after another, never by offset */
	bool		keyset_desc;	/* in descending ID order */
	bool		one_request;	/* offset paging in a pushed order: a second
								 * page would shift, and raises */
	bool		missing_is_empty;	/* an unknown profile (HTTP 400) has no
									 * rows: the scan reads one profile's */
	bool		ids_mode;		/* id = ANY(ids) */
	bool		ids_desc;		/* looked up in descending order */
	const int64 *ids;			/* sorted, distinct, positive */
	int			nids;
} CopernicaPagerSpec;

/* Up to this many IDs of an id = ANY(...) are looked up one by one. */
#define COPERNICA_ID_LOOKUP_MAX		20

typedef struct CopernicaPager CopernicaPager;

/* An item's ID, for the pager: items of a page come in ascending ID order. */
typedef int64 (*CopernicaItemId) (void *arg, int item);

extern CopernicaPager *copernica_pager_begin(CopernicaConnection *conn,
											 CopernicaStats *stats,
											 const CopernicaPagerSpec *spec);
extern CopernicaResponse *copernica_pager_next(CopernicaPager *pg,
											   CopernicaRequest **req,
											   int64 *start, int *asked);
extern int	copernica_pager_done(CopernicaPager *pg, int nitems, int64 total,
								 CopernicaItemId item_id, void *arg);
extern int	copernica_pager_id_ranges(CopernicaPager *pg);
extern int	copernica_id_ranges(const int64 *ids, int nids, double density,
								int page_size, int64 **bounds);
extern void copernica_pager_end(CopernicaPager *pg);
extern void copernica_pager_keep_response(CopernicaPager *pg, MemoryContext cxt);
extern bool copernica_pager_path_exists(CopernicaPager *pg, const char *path);
extern CopernicaRequest *copernica_pager_first_request(const CopernicaPagerSpec *spec);

/* ----------------------------------------------------------------
 * mailing_resources.c, mailing.c and mailing_scan.c: emailings,
 * destinations, statistics and events
 * ----------------------------------------------------------------
 */
struct PlannerInfo;
struct ForeignPath;
struct ForeignScan;
struct ForeignScanState;
struct ExplainState;
struct ImportForeignSchemaStmt;

extern int	copernica_query_limit(struct PlannerInfo *root, struct RelOptInfo *baserel,
								  bool order_pushed);
extern List *copernica_query_limit_exprs(struct PlannerInfo *root,
										 struct RelOptInfo *baserel,
										 bool order_pushed);
extern char *copernica_limit_exprs_text(List *exprs);
extern int64 copernica_evaluate_limit(List *limit_states, struct ExprContext *econtext);
extern bool copernica_is_mailing_resource(const char *name);
extern void copernica_mailing_sizes_forget(void);
extern char *copernica_mailing_resource_names(void);
extern bool copernica_is_mailing_rel(struct RelOptInfo *baserel);
extern void copernica_mailing_rel_size(struct PlannerInfo *root, struct RelOptInfo *baserel,
									   Oid foreigntableid, CopernicaOptions *opts,
									   CopernicaResource *res);
extern void copernica_mailing_paths(struct PlannerInfo *root, struct RelOptInfo *baserel);
extern struct ForeignScan *copernica_mailing_plan(struct PlannerInfo *root,
												  struct RelOptInfo *baserel,
												  Oid foreigntableid,
												  struct ForeignPath *best_path,
												  List *tlist, List *scan_clauses,
												  struct Plan *outer_plan);
extern bool copernica_is_mailing_plan(struct ForeignScan *plan);
extern void copernica_mailing_begin(struct ForeignScanState *node, int eflags);
extern struct TupleTableSlot *copernica_mailing_iterate(struct ForeignScanState *node);
extern void copernica_mailing_rescan(struct ForeignScanState *node);
extern void copernica_mailing_end(struct ForeignScanState *node);
extern void copernica_mailing_explain(struct ForeignScanState *node,
									  struct ExplainState *es);
extern List *copernica_mailing_import(struct ImportForeignSchemaStmt *stmt,
									  const char *server, List **used);

/*
 * param_path.c: the join clauses a parameterized path can use.  The
 * callbacks' types are the planner's (ec_matches_callback_type), spelled
 * out so that this header needs no planner headers.
 */
struct EquivalenceClass;
struct EquivalenceMember;
struct RestrictInfo;
typedef bool (*CopernicaEcMember) (struct PlannerInfo *root, struct RelOptInfo *rel,
								   struct EquivalenceClass *ec,
								   struct EquivalenceMember *em, void *arg);
typedef void (*CopernicaParamClause) (struct PlannerInfo *root,
									  struct RelOptInfo *baserel,
									  struct RestrictInfo *rinfo,
									  Bitmapset *outer, void *arg);
extern void copernica_param_clauses(struct PlannerInfo *root, struct RelOptInfo *baserel,
									CopernicaEcMember ec_member,
									CopernicaParamClause add_path_for, void *arg);
extern struct FormData_pg_attribute *copernica_ec_member_column(struct RelOptInfo *rel,
																struct EquivalenceMember *em,
																struct TupleDescData *tupdesc);

/* The scan callbacks: mailing.c's or scan.c's, by the plan. */
extern void copernica_dispatch_begin(struct ForeignScanState *node, int eflags);
extern struct TupleTableSlot *copernica_dispatch_iterate(struct ForeignScanState *node);
extern void copernica_dispatch_rescan(struct ForeignScanState *node);
extern void copernica_dispatch_end(struct ForeignScanState *node);
extern void copernica_dispatch_explain(struct ForeignScanState *node,
									   struct ExplainState *es);

/* ----------------------------------------------------------------
 * scan.c: the executor side of a foreign scan
 * ----------------------------------------------------------------
 */
struct ForeignScanState;
struct ExplainState;

extern void copernicaBeginForeignScan(struct ForeignScanState *node, int eflags);
extern struct TupleTableSlot *copernicaIterateForeignScan(struct ForeignScanState *node);
extern void copernicaReScanForeignScan(struct ForeignScanState *node);
extern void copernicaEndForeignScan(struct ForeignScanState *node);
extern void copernicaExplainForeignScan(struct ForeignScanState *node,
										struct ExplainState *es);
extern void copernica_request_error_callback(void *arg);
extern CopernicaPage *copernica_parse_answer(CopernicaRequest *req,
											 CopernicaResponse *resp,
											 bool envelope,
											 const CopernicaValuePath *paths,
											 int npaths);
extern int64 copernica_integer_value(Datum value, Oid type);

/* Does GET path answer (not with a 400)?  arg is the caller's. */
typedef bool (*CopernicaPathExists) (void *arg, const char *path);
extern void copernica_report_unless_missing(const CopernicaResource *res,
											CopernicaResponse *resp,
											CopernicaRequest *req, bool first,
											CopernicaPathExists path_exists,
											void *arg);
extern void copernica_check_page_window(const CopernicaPage *page,
										int64 start, int asked);
extern CopernicaPage *copernica_next_page(CopernicaPager *pager,
										 const CopernicaResource *res,
										 const CopernicaValuePath *paths,
										 int npaths, int id_path,
										 MemoryContext cxt);

/*
 * The row loop of a scan, shared by profile and listing scans (scan.c) and
 * mailing scans (mailing_scan.c): start at the first row wanted, take
 * pages until one has an item left, convert the item's values in a per-row
 * context with an error context naming column, table and item.  What
 * differs is in the hooks, called with arg.
 */
typedef struct CopernicaScanColumn
{
	AttrNumber	attnum;			/* in the foreign table */
	char	   *colname;
	CopernicaColumnType type;
} CopernicaScanColumn;

typedef struct CopernicaRowHooks
{
	/* evaluate the conditions and start paging, in the loop's scan_cxt */
	void		(*start) (void *arg, struct ExprContext *econtext);
	/* the next page into loop->page (next_item 0); false at the end */
	bool		(*next_page) (void *arg);
	/* or NULL: check an item before its values are converted */
	void		(*check_item) (void *arg, char **values);
	/* or NULL: column i's value, from the item's (may change *is_json) */
	const char *(*column_value) (void *arg, int i, const char *value,
								 bool *is_json);
} CopernicaRowHooks;

typedef struct CopernicaRowLoop
{
	const CopernicaRowHooks *hooks;
	void	   *arg;
	Relation	rel;
	const char *timezone;		/* the server's 'timezone' option */
	const char *item_noun;		/* "profile": an error's "Copernica profile 5" */
	int			ncolumns;
	CopernicaScanColumn *columns;
	int			npaths;			/* of each item: one per column, then more */
	int			id_path;		/* the item's ID, for errors */

	MemoryContext scan_cxt;		/* one run of the scan: reset at rescan */
	MemoryContext page_cxt;
	MemoryContext row_cxt;
	bool		started;		/* paging begun for this (re)scan */
	CopernicaPage *page;		/* the current page */
	int			next_item;

	/* for the error context of a failed conversion */
	CopernicaScanColumn *converting;
	const char *converting_id;
} CopernicaRowLoop;

extern void copernica_row_loop_init(CopernicaRowLoop *loop, Relation rel,
									struct EState *estate, List *retrieved);
extern struct TupleTableSlot *copernica_row_loop_next(CopernicaRowLoop *loop,
													 struct ForeignScanState *node);
extern void copernica_row_loop_rescan(CopernicaRowLoop *loop);

/* ----------------------------------------------------------------
 * count.c: a count(*) answered by the listing's total
 * ----------------------------------------------------------------
 */
extern bool copernica_is_count_plan(struct ForeignScanState *node);
extern void copernica_count_begin(struct ForeignScanState *node, int eflags);
extern struct TupleTableSlot *copernica_count_next(struct ForeignScanState *node);
extern void copernica_count_rescan(struct ForeignScanState *node);
extern void copernica_count_explain(struct ForeignScanState *node,
									struct ExplainState *es);

/* ----------------------------------------------------------------
 * own_rows.c: the rows this transaction created, hidden from scans that
 * began before them
 * ----------------------------------------------------------------
 */
#define COPERNICA_OWN_PROFILE		0
#define COPERNICA_OWN_SUBPROFILE	1

/* A table's rows in the registry: its kind and endpoint, looked up once */
typedef struct CopernicaOwnRef
{
	int			kind;			/* COPERNICA_OWN_*, or -1: none hidden */
	char	   *endpoint;		/* the server's url, as the registry's key */
	void	   *runs;			/* its runs, as last looked up (or NULL) */
	uint64		generation;		/* the registry's generation then */
} CopernicaOwnRef;

extern void copernica_own_ref_init(CopernicaOwnRef *ref,
								   const CopernicaOptions *opts,
								   const CopernicaResource *res, bool tracked);
extern void copernica_own_row_created(CopernicaOwnRef *ref, int64 id,
									  CommandId cid);
extern bool copernica_own_rows_since(CopernicaOwnRef *ref, CommandId cid);
extern int	copernica_drop_own_rows(CopernicaPage *page, int id_path,
									CopernicaOwnRef *ref, CommandId cid);
extern int64 copernica_own_rows_after(CopernicaOwnRef *ref, CommandId cid,
									  int64 *first);

/* ----------------------------------------------------------------
 * analyze.c: ANALYZE
 * ----------------------------------------------------------------
 */
extern bool copernicaAnalyzeForeignTable(Relation relation,
										 AcquireSampleRowsFunc *func,
										 BlockNumber *totalpages);

/* ----------------------------------------------------------------
 * modify.c, modify_insert.c, modify_write.c: INSERT, UPDATE and DELETE
 * ----------------------------------------------------------------
 */
struct PlannerInfo;
struct ModifyTable;
struct ModifyTableState;
struct ResultRelInfo;
struct RangeTblEntry;
struct EState;

extern int	copernicaIsForeignRelUpdatable(Relation rel);
extern void copernicaExecForeignTruncate(List *rels, DropBehavior behavior,
										 bool restart_seqs);
extern void copernicaAddForeignUpdateTargets(struct PlannerInfo *root, Index rtindex,
											 struct RangeTblEntry *target_rte,
											 Relation target_relation);
extern List *copernicaPlanForeignModify(struct PlannerInfo *root,
										struct ModifyTable *plan,
										Index resultRelation, int subplan_index);
extern void copernicaBeginForeignModify(struct ModifyTableState *mtstate,
										struct ResultRelInfo *rinfo,
										List *fdw_private, int subplan_index,
										int eflags);
extern void copernicaBeginForeignInsert(struct ModifyTableState *mtstate,
										struct ResultRelInfo *rinfo);
extern void copernicaEndForeignInsert(struct EState *estate,
									  struct ResultRelInfo *rinfo);
extern struct TupleTableSlot *copernicaExecForeignInsert(struct EState *estate,
														 struct ResultRelInfo *rinfo,
														 struct TupleTableSlot *slot,
														 struct TupleTableSlot *planSlot);
extern struct TupleTableSlot **copernicaExecForeignBatchInsert(struct EState *estate,
															   struct ResultRelInfo *rinfo,
															   struct TupleTableSlot **slots,
															   struct TupleTableSlot **planSlots,
															   int *numSlots);
extern int	copernicaGetForeignModifyBatchSize(struct ResultRelInfo *rinfo);
extern struct TupleTableSlot *copernicaExecForeignUpdate(struct EState *estate,
														 struct ResultRelInfo *rinfo,
														 struct TupleTableSlot *slot,
														 struct TupleTableSlot *planSlot);
extern struct TupleTableSlot *copernicaExecForeignDelete(struct EState *estate,
														 struct ResultRelInfo *rinfo,
														 struct TupleTableSlot *slot,
														 struct TupleTableSlot *planSlot);
extern void copernicaEndForeignModify(struct EState *estate, struct ResultRelInfo *rinfo);
extern void copernica_modify_install_hooks(void);
extern void copernicaExplainForeignModify(struct ModifyTableState *mtstate,
										  struct ResultRelInfo *rinfo,
										  List *fdw_private, int subplan_index,
										  struct ExplainState *es);

/* ----------------------------------------------------------------
 * upsert.c: INSERT on a key, as Copernica's PUT with create=true
 * ----------------------------------------------------------------
 */
typedef struct CopernicaUpsert CopernicaUpsert;

extern CopernicaUpsert *copernica_upsert_begin(Relation rel,
											   const CopernicaOptions *opts,
											   const CopernicaResource *res,
											   CopernicaConnection *conn,
											   CopernicaStats *stats,
											   List *target_attrs,
											   MemoryContext cxt);
extern void copernica_upsert_new_batch(CopernicaUpsert *up);
extern char *copernica_upsert_query(CopernicaUpsert *up,
									struct TupleTableSlot *slot,
									char **key, bool *wait_before);
extern void copernica_upsert_note_updated(CopernicaUpsert *up, const char *key);
extern char *copernica_upsert_applied_detail(CopernicaUpsert *up);
extern char *copernica_upsert_lookup_id(CopernicaUpsert *up,
										CopernicaConnection *conn,
										CopernicaStats *stats,
										const char *path, const char *key);

/* ----------------------------------------------------------------
 * functions.c: unsubscribe and interests, one profile at a time
 * ----------------------------------------------------------------
 */
extern List *copernica_database_interests(CopernicaConnection *conn,
										  const char *database);
extern char *copernica_match_interest(List *interests, const char *name,
									  const char *database);

/* ----------------------------------------------------------------
 * import.c: IMPORT FOREIGN SCHEMA
 * ----------------------------------------------------------------
 */
struct ImportForeignSchemaStmt;

extern List *copernicaImportForeignSchema(struct ImportForeignSchemaStmt *stmt,
										  Oid serverOid);
extern bool copernica_wrapper_is_ours(Oid fdwid);

#endif							/* COPERNICA_FDW_H */
