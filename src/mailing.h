/*-------------------------------------------------------------------------
 *
 * mailing.h
 *		  What mailing_resources.c (the resources and their columns),
 *		  mailing.c (their planning), mailing_scan.c (their execution) and
 *		  mailing_fetch.c (its parts in flight) share; private to those.
 *
 *-------------------------------------------------------------------------
 */
#ifndef COPERNICA_MAILING_H
#define COPERNICA_MAILING_H

#include "catalog/pg_attribute.h"

/* The key columns that pick a per-item URL, in order of preference. */
typedef enum MailingKey
{
	KEY_DESTINATION,
	KEY_SUBPROFILE,
	KEY_PROFILE,
	KEY_EMAILING,
	KEY_TESTGROUP,
	KEY_TEMPLATE,
	NUM_KEYS,
	KEY_NONE = -1
} MailingKey;

/* How a listing takes a time range. */
typedef enum TimeStyle
{
	TIME_NONE,
	TIME_FIELDS,				/* fields[]=timestamp>... (Publisher) */
	TIME_BEGINEND,				/* begintime=...&endtime=... (MS events) */
	TIME_FROMDATE,				/* fromdate=...&todate=... (emailings) */
	TIME_FROMTO,				/* from=YYYY-MM-DD&to=... (ms/destinations) */
	TIME_FROMDATE_ONLY,			/* fromdate=... alone (Publisher's scheduled
								 * emailings: no upper bound documented) */
	TIME_NEXTRUN				/* nextrunafter=...&nextrunbefore=... (MS
								 * scheduled emailings) */
} TimeStyle;

/* A column the docs name: for IMPORT, and to check a table's columns. */
typedef struct MailingColumnDef
{
	const char *name;
	const char *type;
	const char *key;			/* the item's key, "a.b" for a nested one;
								 * NULL: the name */
} MailingColumnDef;

typedef struct MailingResource
{
	const char *name;			/* the 'resource' option */
	const char *all_path;		/* account-wide listing, or NULL */
	const char *by_path[NUM_KEYS];	/* "publisher/emailing/%s/clicks" */
	const char *params;			/* always sent */
	TimeStyle	time_style;		/* of the per-key and account-wide listings */
	TimeStyle	all_time_style; /* of the account-wide one, if different */
	const char *time_column;
	bool		id_filter;		/* fields[]=id... understood */
	bool		envelope;		/* false: one bare object per request */
	const char *emailings;		/* the resource whose IDs to go through; NULL
								 * with no all_path: a key condition is
								 * required */
	const MailingColumnDef *columns;
	/* a boolean column whose "true" a parameter selects (or NULL) */
	const char *flag_column;
	const char *flag_params;	/* sent for flag_column = true */
	uint32		flag_keys;		/* the listings that take it: MAILING_FLAG_ON */
	uint32		flag_items;		/* the listings whose items carry the column */
	/* an answer without an object or an ID is no row (a final group) */
	bool		maybe_absent;
	/*
	 * A message body, not JSON: the column that takes the answer as text,
	 * and the column whose value (one of variants) ends the URL, /html.
	 */
	const char *raw_column;
	const char *variant_column;
	const char *const *variants;	/* NULL-terminated, at most 32 */
	/* a column only the single object has (or NULL), and its URL */
	const char *detail_column;
	const char *detail_path;	/* "ms/emailing/%s", by the item's id */
	/*
	 * The id column is the emailing key: by_path[KEY_EMAILING] is the one
	 * emailing's own object (bare), and an unknown ID is no row.  The
	 * single object lacks the keys of single_lacks (NULL-terminated, or
	 * NULL): a query that uses one reads the listing instead.
	 */
	bool		id_is_key;
	const char *const *single_lacks;
	/*
	 * Reading every emailing's listing: the emailings' key that counts the
	 * items (testgroups); an emailing whose count is 0 is not asked.
	 */
	const char *emailings_count;
} MailingResource;

/* flag_keys: the per-key listing of key k, or (NUM_KEYS) the account-wide one */
#define MAILING_FLAG_ON(k)	(((uint32) 1) << (k))

/* Where one column's values come from. */
typedef struct MailingColumn
{
	const char *key;			/* the item's key */
	const char *sub;			/* a key inside it, or NULL */
	MailingKey	role;			/* a key column, or KEY_NONE */
	bool		is_time;		/* the resource's time column */
	bool		is_id;
	bool		is_flag;		/* the resource's flag_column */
	bool		is_raw;			/* the resource's raw_column */
	bool		is_variant;		/* the resource's variant_column */
	bool		is_detail;		/* the resource's detail_column */
} MailingColumn;

/* What a condition does. */
typedef enum CondRole
{
	COND_KEY,					/* a key column = value */
	COND_KEY_LIST,				/* a key column = ANY(array) */
	COND_TIME,					/* the time column op value */
	COND_ID,					/* id op value, sent as fields[]=id... */
	COND_FLAG,					/* the flag column (= true): its parameter */
	COND_VARIANT,				/* the variant column = value */
	COND_VARIANT_LIST			/* the variant column = ANY(array) */
} CondRole;

/* the key columns' names, by MailingKey */
extern const char *const mailing_key_columns[NUM_KEYS];

extern const MailingResource *copernica_mailing_find(const char *name);
extern const char *copernica_mailing_key_name(const MailingResource *mr, int key);
extern bool copernica_mailing_single_lacks(const MailingResource *mr, const char *key);
extern int	copernica_mailing_variant(const MailingResource *mr, const char *value);
extern bool copernica_mailing_column(const MailingResource *mr, Oid relid,
									 Form_pg_attribute attr, MailingColumn *col);
extern void copernica_mailing_unknown_column(const MailingResource *mr,
											 const char *colname,
											 const char *relname) pg_attribute_noreturn();

/* mailing_size.c: sizes the scans saw, for planning */
extern void copernica_mailing_size_note(Oid serverid, Oid userid, const char *what,
										double items, double parts, bool add);
extern double copernica_mailing_size_get(Oid serverid, Oid userid, const char *what);
extern char *copernica_mailing_size_key(const MailingResource *mr, int key);

/* mailing_fetch.c: the parts of a per-key scan, several in flight */
typedef struct MailingFetch MailingFetch;

extern MailingFetch *copernica_mailing_fetch_begin(CopernicaConnection *conn,
												   CopernicaStats *stats,
												   char **paths, int nunits,
												   const char *query, bool paged,
												   int page_size, int window,
												   bool accept_missing);
extern CopernicaResponse *copernica_mailing_fetch_next(MailingFetch *mf, int *unit,
													   CopernicaRequest **req,
													   int64 *start, int *asked);
extern void copernica_mailing_fetch_done(MailingFetch *mf, int nitems);
extern void copernica_mailing_fetch_end(MailingFetch *mf);

#endif							/* COPERNICA_MAILING_H */
