/*-------------------------------------------------------------------------
 *
 * option.c
 *		  The option table, the validator, the one user mapping lookup
 *		  (copernica_user_mapping), and resolving server, user mapping and
 *		  table options into one CopernicaOptions.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <limits.h>

#include "access/genam.h"
#include "access/reloptions.h"
#include "access/table.h"
#include "catalog/pg_foreign_server.h"
#include "catalog/pg_foreign_table.h"
#include "catalog/pg_user_mapping.h"
#include "commands/defrem.h"
#include "foreign/foreign.h"
#include "miscadmin.h"
#include "pgtime.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/syscache.h"

#include "copernica_fdw.h"

/* Where an option may be set; a bit mask because some fit several places. */
#define OPT_SERVER		0x01
#define OPT_MAPPING		0x02
#define OPT_TABLE		0x04
#define OPT_COLUMN		0x08

typedef enum OptionKind
{
	OK_STRING,
	OK_INT,
	OK_BOOL,
	OK_URL,
	OK_PROXY,
	OK_TIMEZONE,
	OK_RESOURCE
} OptionKind;

typedef struct CopernicaOptionDef
{
	const char *name;
	int			where;
	OptionKind	kind;
	int64		min;			/* for OK_INT */
	int64		max;
} CopernicaOptionDef;

static const CopernicaOptionDef option_defs[] = {
	{"url", OPT_SERVER, OK_URL},
	{"access_token", OPT_SERVER | OPT_MAPPING, OK_STRING},
	{"connect_timeout", OPT_SERVER, OK_INT, 1, 3600},
	{"request_timeout", OPT_SERVER, OK_INT, 1, 86400},
	{"timezone", OPT_SERVER, OK_TIMEZONE},
	{"max_retries", OPT_SERVER, OK_INT, 0, 100},
	{"max_retry_time", OPT_SERVER, OK_INT, 0, 86400},
	{"max_response_size", OPT_SERVER, OK_INT, 1024, INT64CONST(1) << 40},
	{"max_concurrency", OPT_SERVER | OPT_TABLE, OK_INT, 1, 64},
	{"page_size", OPT_SERVER | OPT_TABLE, OK_INT, 1, COPERNICA_MAX_PAGE_SIZE},
	{"batch_size", OPT_SERVER | OPT_TABLE, OK_INT, 1, 10000},
	{"updatable", OPT_SERVER | OPT_TABLE, OK_BOOL},
	{"ssl_verify", OPT_SERVER, OK_BOOL},
	{"proxy", OPT_SERVER, OK_PROXY},
	{"database", OPT_TABLE, OK_STRING},
	{"collection", OPT_TABLE, OK_STRING},
	{"resource", OPT_TABLE, OK_RESOURCE},
	{"view", OPT_TABLE, OK_STRING},
	{"miniview", OPT_TABLE, OK_STRING},
	{"upsert_key", OPT_TABLE, OK_STRING},
	{"field", OPT_COLUMN, OK_STRING},
	{NULL}
};

/* The listings a 'resource' table can show; see resource.c. */
static const char *const resource_names[] = {
	"databases", "collections", "fields", "interests", "views",
	"view_profiles", "miniviews", "miniview_subprofiles",
	"profile_ids", "subprofile_ids", "unsubscribe", NULL
};

/*
 * The base URLs an unprivileged role may point a server at: Copernica's API,
 * in the one version this wrapper speaks.
 */
static const char *const trusted_urls[] = {
	"https://api.copernica.com/v2", "https://rest.copernica.com/v2", NULL
};

static int
context_mask(Oid catalog)
{
	switch (catalog)
	{
		case ForeignServerRelationId:
			return OPT_SERVER;
		case UserMappingRelationId:
			return OPT_MAPPING;
		case ForeignTableRelationId:
			return OPT_TABLE;
		case AttributeRelationId:
			return OPT_COLUMN;
		default:
			return 0;
	}
}

static const CopernicaOptionDef *
find_option(const char *name)
{
	const CopernicaOptionDef *def;

	for (def = option_defs; def->name; def++)
		if (strcmp(def->name, name) == 0)
			return def;
	return NULL;
}

/*
 * The options valid on the objects of mask, in the option table's order,
 * as "a, b, c"; those takes refuses left out (takes may be NULL).
 */
static void
valid_option_names(StringInfo buf, int mask,
				   bool (*takes) (const void *arg, const char *name),
				   const void *arg)
{
	const CopernicaOptionDef *def;

	initStringInfo(buf);
	for (def = option_defs; def->name; def++)
	{
		if (!(def->where & mask) || (takes && !takes(arg, def->name)))
			continue;
		if (buf->len > 0)
			appendStringInfoString(buf, ", ");
		appendStringInfoString(buf, def->name);
	}
}

static void
report_invalid_option(const char *name, int mask)
{
	StringInfoData buf;

	valid_option_names(&buf, mask, NULL, NULL);
	ereport(ERROR,
			(errcode(ERRCODE_FDW_INVALID_OPTION_NAME),
			 errmsg("invalid option \"%s\"", name),
			 buf.len > 0
			 ? errhint("Valid options in this context are: %s.", buf.data)
			 : errhint("There are no valid options in this context.")));
}

static int64
parse_int_option(const char *name, const char *value, int64 min, int64 max)
{
	char	   *end;
	long long	v;

	errno = 0;
	v = strtoll(value, &end, 10);
	while (*end == ' ')
		end++;
	if (errno != 0 || end == value || *end != '\0' || v < min || v > max)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_INVALID_ATTRIBUTE_VALUE),
				 errmsg("invalid value for option \"%s\": \"%s\"", name, value),
				 errdetail("Valid values are integers from " INT64_FORMAT " to " INT64_FORMAT ".",
						   min, max)));
	return (int64) v;
}

/*
 * Whether url is one of the trusted base URLs, with or without one trailing
 * slash.  Scheme and host are compared without regard to case, the path
 * exactly.
 */
static bool
url_is_trusted(const char *url)
{
	const char *const *p;

	for (p = trusted_urls; *p; p++)
	{
		size_t		len = strlen(*p);
		size_t		hostend = strrchr(*p, '/') - *p;

		if (pg_strncasecmp(url, *p, hostend) == 0 &&
			strncmp(url + hostend, *p + hostend, len - hostend) == 0 &&
			(url[len] == '\0' || (url[len] == '/' && url[len + 1] == '\0')))
			return true;
	}
	return false;
}

static void report_bad_url(const char *url, const char *why) pg_attribute_noreturn();

static void
report_bad_url(const char *url, const char *why)
{
	ereport(ERROR,
			(errcode(ERRCODE_FDW_INVALID_ATTRIBUTE_VALUE),
			 errmsg("invalid value for option \"url\": \"%s\"", url),
			 errdetail("%s", why)));
}

/*
 * The request URL is this base, "/", a path and "?" with the query and the
 * token, concatenated.  So the base must be nothing but a scheme, a host and
 * a plain path: a "?" or "#" in it would take over the query or drop the
 * token, an "@" would name another host, and escapes or blanks would hide
 * either.
 */
static void
validate_url(const char *url, bool kept)
{
	const char *host;
	const char *p;

	if (pg_strncasecmp(url, "https://", 8) == 0)
		host = url + 8;
	else if (pg_strncasecmp(url, "http://", 7) == 0)
		host = url + 7;
	else
		report_bad_url(url, "The URL must start with https:// (or http:// for a test server).");

	for (p = url; *p; p++)
	{
		unsigned char c = (unsigned char) *p;

		if (c <= ' ' || c >= 0x7F || strchr("?#@\\%\"<>^`{|}", c) != NULL)
			report_bad_url(url, "The URL must not contain query strings, fragments, user names, escapes, blanks or characters other than printable ASCII.");
	}
	if (*host == '\0' || *host == '/' || *host == ':')
		report_bad_url(url, "The URL must name a host.");

	/*
	 * Any role with USAGE on the server makes the backend fetch this URL with
	 * its own token, so anything but Copernica's own base URL is a
	 * superuser's decision.
	 */
	if (!url_is_trusted(url) && !superuser() && !kept)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to set option \"url\" to \"%s\"", url),
				 errdetail("Only superusers may set a URL other than https://api.copernica.com/v2 or https://rest.copernica.com/v2.")));
}

/*
 * Where every request (and its token) goes through: a superuser's decision,
 * like url.  Without the option no proxy is used, whatever the postmaster's
 * environment (http_proxy and the like) says.
 */
static void
validate_proxy(const char *proxy, bool kept)
{
	const char *p;

	if (!superuser() && !kept)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to set option \"proxy\""),
				 errdetail("Only superusers may send requests through a proxy.")));
	if (pg_strncasecmp(proxy, "http://", 7) != 0 &&
		pg_strncasecmp(proxy, "https://", 8) != 0 &&
		pg_strncasecmp(proxy, "socks5://", 9) != 0 &&
		pg_strncasecmp(proxy, "socks5h://", 10) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_INVALID_ATTRIBUTE_VALUE),
				 errmsg("invalid value for option \"proxy\": \"%s\"", proxy),
				 errdetail("The proxy must be a URL starting with http://, https://, socks5:// or socks5h://.")));
	for (p = proxy; *p; p++)
		if ((unsigned char) *p <= ' ' || (unsigned char) *p >= 0x7F)
			ereport(ERROR,
					(errcode(ERRCODE_FDW_INVALID_ATTRIBUTE_VALUE),
					 errmsg("invalid value for option \"proxy\": \"%s\"", proxy),
					 errdetail("The proxy URL must not contain blanks or characters other than printable ASCII.")));
}

static void
validate_option_value(const CopernicaOptionDef *def, DefElem *elem, bool kept)
{
	char	   *value = defGetString(elem);
	const char *const *r;

	switch (def->kind)
	{
		case OK_STRING:
			if (value[0] == '\0')
				ereport(ERROR,
						(errcode(ERRCODE_FDW_INVALID_ATTRIBUTE_VALUE),
						 errmsg("option \"%s\" must not be empty", def->name)));
			/* these go into request paths, where dot segments resolve */
			if ((strcmp(def->name, "database") == 0 ||
				 strcmp(def->name, "collection") == 0 ||
				 strcmp(def->name, "view") == 0) &&
				(strcmp(value, ".") == 0 || strcmp(value, "..") == 0))
				ereport(ERROR,
						(errcode(ERRCODE_FDW_INVALID_ATTRIBUTE_VALUE),
						 errmsg("invalid value for option \"%s\": \"%s\"", def->name, value),
						 errdetail("A name that is \".\" or \"..\" cannot be sent in a request's path.")));
			break;
		case OK_INT:
			(void) parse_int_option(def->name, value, def->min, def->max);
			break;
		case OK_BOOL:
			{
				bool		b;

				if (!parse_bool(value, &b))
					ereport(ERROR,
							(errcode(ERRCODE_FDW_INVALID_ATTRIBUTE_VALUE),
							 errmsg("invalid value for option \"%s\": \"%s\"", def->name, value),
							 errdetail("Valid values are true and false.")));
			}
			break;
		case OK_URL:
			validate_url(value, kept);
			break;
		case OK_PROXY:
			validate_proxy(value, kept);
			break;
		case OK_TIMEZONE:
			if (pg_tzset(value) == NULL)
				ereport(ERROR,
						(errcode(ERRCODE_FDW_INVALID_ATTRIBUTE_VALUE),
						 errmsg("invalid value for option \"timezone\": \"%s\"", value),
						 errdetail("The value must be a time zone name known to PostgreSQL, such as Europe/Amsterdam.")));
			break;
		case OK_RESOURCE:
			for (r = resource_names; *r; r++)
				if (strcmp(*r, value) == 0)
					break;
			if (*r == NULL && !copernica_is_mailing_resource(value))
				ereport(ERROR,
						(errcode(ERRCODE_FDW_INVALID_ATTRIBUTE_VALUE),
						 errmsg("invalid value for option \"resource\": \"%s\"", value),
						 errdetail("Valid values are databases, collections, fields, interests, views, view_profiles, miniviews, miniview_subprofiles, profile_ids, subprofile_ids, unsubscribe, and the mailing resources %s.",
								   copernica_mailing_resource_names())));
			break;
	}
}

/*
 * What each kind of foreign table takes besides the options every table
 * takes (resource, page_size, max_concurrency): the names that say which
 * data it shows, and whether it can be written (the options that only
 * writes read).  An option a kind does not read would be ignored without a
 * word, so it is refused.  Which of the names a kind needs is checked in
 * validate_table_options.
 */
typedef struct TableKind
{
	const char *resource;		/* NULL: profiles or subprofiles */
	const char *what;			/* for messages */
	bool		writable;
	const char *names[4];		/* of database, collection, view, miniview */
} TableKind;

static const TableKind table_kinds[] = {
	{NULL, "a profile table", true, {"database"}},
	{NULL, "a subprofile table", true, {"database", "collection"}},
	{"databases", "resource 'databases'", false, {NULL}},
	{"collections", "resource 'collections'", false, {"database"}},
	{"fields", "resource 'fields'", false, {"database", "collection"}},
	{"interests", "resource 'interests'", false, {"database"}},
	{"views", "resource 'views'", false, {"database"}},
	{"view_profiles", "resource 'view_profiles'", false, {"database", "view"}},
	{"miniviews", "resource 'miniviews'", false, {"database", "collection"}},
	{"miniview_subprofiles", "resource 'miniview_subprofiles'", false,
	{"database", "collection", "miniview"}},
	{"profile_ids", "resource 'profile_ids'", false, {"database"}},
	{"subprofile_ids", "resource 'subprofile_ids'", false, {"database", "collection"}},
	{"unsubscribe", "resource 'unsubscribe'", false, {"database", "collection"}},
	{NULL}
};

/* Mailing resources (mailing_resources.c) take none of the names: their URLs do not. */
static const TableKind mailing_kind = {"", "a mailing resource", false, {NULL}};

static const char *const every_table_options[] = {
	"resource", "page_size", "max_concurrency", NULL
};
static const char *const write_options[] = {
	"updatable", "batch_size", "upsert_key", NULL
};

static bool
name_in(const char *name, const char *const *names, int n)
{
	int			i;

	for (i = 0; (n < 0 || i < n) && names[i]; i++)
		if (strcmp(names[i], name) == 0)
			return true;
	return false;
}

static bool
kind_takes(const TableKind *kind, const char *name)
{
	return name_in(name, every_table_options, -1) ||
		(kind->writable && name_in(name, write_options, -1)) ||
		name_in(name, kind->names, lengthof(kind->names));
}

/* kind_takes for valid_option_names */
static bool
kind_takes_option(const void *kind, const char *name)
{
	return kind_takes((const TableKind *) kind, name);
}

/*
 * An option this kind of table does not read: the error names the options
 * it takes, in the option table's order, like report_invalid_option.
 */
static void
report_option_not_for_kind(const char *name, const TableKind *kind,
						   const char *resource)
{
	StringInfoData buf;
	char	   *what = kind == &mailing_kind ?
		psprintf("resource '%s'", resource) : pstrdup(kind->what);

	valid_option_names(&buf, OPT_TABLE, kind_takes_option, kind);
	ereport(ERROR,
			(errcode(ERRCODE_FDW_INVALID_OPTION_NAME),
			 errmsg("option \"%s\" is not valid for %s", name, what),
			 name_in(name, write_options, -1) ?
			 errdetail("A table with option \"resource\" is read-only.") : 0,
			 errhint("Valid options for %s are: %s.", what, buf.data)));
}

static void
report_needs_option(const char *given, const char *value, const char *needed)
{
	ereport(ERROR,
			(errcode(ERRCODE_FDW_OPTION_NAME_NOT_FOUND),
			 errmsg("%s \"%s\" is given by name, which needs option \"%s\"",
					given, value, needed),
			 errhint("Give the %s's ID, or the %s it belongs to.", given, needed)));
}

/*
 * A foreign table must say which Copernica data it shows, with the options
 * its kind reads and no others: all of one table's options are here, so
 * every check that needs only them is made when they are set, not when a
 * query is planned.
 */
static void
validate_table_options(List *options)
{
	ListCell   *lc;
	char	   *database = NULL,
			   *collection = NULL,
			   *resource = NULL,
			   *view = NULL,
			   *miniview = NULL,
			   *upsert_key = NULL;
	bool		updatable = true;
	const TableKind *kind;

	foreach(lc, options)
	{
		DefElem    *elem = lfirst(lc);

		if (strcmp(elem->defname, "database") == 0)
			database = defGetString(elem);
		else if (strcmp(elem->defname, "collection") == 0)
			collection = defGetString(elem);
		else if (strcmp(elem->defname, "resource") == 0)
			resource = defGetString(elem);
		else if (strcmp(elem->defname, "view") == 0)
			view = defGetString(elem);
		else if (strcmp(elem->defname, "miniview") == 0)
			miniview = defGetString(elem);
		else if (strcmp(elem->defname, "upsert_key") == 0)
			upsert_key = defGetString(elem);
		else if (strcmp(elem->defname, "updatable") == 0)
			(void) parse_bool(defGetString(elem), &updatable);
	}

	if (!database && !collection && !resource)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_OPTION_NAME_NOT_FOUND),
				 errmsg("a Copernica foreign table needs option \"database\", \"collection\" or \"resource\"")));
	if (resource != NULL && upsert_key != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_INVALID_OPTION_NAME),
				 errmsg("option \"upsert_key\" needs a profile or subprofile table"),
				 errdetail("A table with option \"resource\" cannot be written.")));
	if (upsert_key != NULL && !updatable)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_INVALID_OPTION_NAME),
				 errmsg("option \"upsert_key\" needs a table that can be written"),
				 errdetail("The table's option \"updatable\" is false.")));
	if (resource == NULL)
	{
		if (view)
			ereport(ERROR,
					(errcode(ERRCODE_FDW_INVALID_OPTION_NAME),
					 errmsg("option \"view\" needs option resource 'view_profiles'")));
		if (miniview)
			ereport(ERROR,
					(errcode(ERRCODE_FDW_INVALID_OPTION_NAME),
					 errmsg("option \"miniview\" needs option resource 'miniview_subprofiles'")));
		kind = collection ? &table_kinds[1] : &table_kinds[0];
	}
	else
	{
		if (strcmp(resource, "view_profiles") == 0 && !view)
			ereport(ERROR,
					(errcode(ERRCODE_FDW_OPTION_NAME_NOT_FOUND),
					 errmsg("resource 'view_profiles' needs option \"view\"")));
		if (miniview && strcmp(resource, "miniview_subprofiles") != 0)
			ereport(ERROR,
					(errcode(ERRCODE_FDW_INVALID_OPTION_NAME),
					 errmsg("option \"miniview\" needs option resource 'miniview_subprofiles'")));
		if (strcmp(resource, "miniview_subprofiles") == 0 && !miniview)
			ereport(ERROR,
					(errcode(ERRCODE_FDW_OPTION_NAME_NOT_FOUND),
					 errmsg("resource 'miniview_subprofiles' needs option \"miniview\"")));
		if (strcmp(resource, "miniviews") == 0 && !collection)
			ereport(ERROR,
					(errcode(ERRCODE_FDW_OPTION_NAME_NOT_FOUND),
					 errmsg("resource 'miniviews' needs option \"collection\"")));
		if ((strcmp(resource, "collections") == 0 ||
			 strcmp(resource, "interests") == 0 ||
			 strcmp(resource, "views") == 0) && !database)
			ereport(ERROR,
					(errcode(ERRCODE_FDW_OPTION_NAME_NOT_FOUND),
					 errmsg("resource '%s' needs option \"database\"", resource)));
		if (strcmp(resource, "profile_ids") == 0 && !database)
			ereport(ERROR,
					(errcode(ERRCODE_FDW_OPTION_NAME_NOT_FOUND),
					 errmsg("resource 'profile_ids' needs option \"database\"")));
		if (strcmp(resource, "subprofile_ids") == 0 && !collection)
			ereport(ERROR,
					(errcode(ERRCODE_FDW_OPTION_NAME_NOT_FOUND),
					 errmsg("resource 'subprofile_ids' needs option \"collection\"")));
		if (strcmp(resource, "unsubscribe") == 0 && !database && !collection)
			ereport(ERROR,
					(errcode(ERRCODE_FDW_OPTION_NAME_NOT_FOUND),
					 errmsg("resource 'unsubscribe' needs option \"database\" or \"collection\"")));
		if (strcmp(resource, "fields") == 0 && !database && !collection)
			ereport(ERROR,
					(errcode(ERRCODE_FDW_OPTION_NAME_NOT_FOUND),
					 errmsg("resource 'fields' needs option \"database\" or \"collection\"")));

		if (copernica_is_mailing_resource(resource))
			kind = &mailing_kind;
		else
		{
			for (kind = &table_kinds[2]; kind->what; kind++)
				if (strcmp(kind->resource, resource) == 0)
					break;
			if (kind->what == NULL)
				return;			/* validate_option_value refused it */
		}
	}

	/* options this kind of table would ignore */
	foreach(lc, options)
	{
		DefElem    *elem = lfirst(lc);

		if (!kind_takes(kind, elem->defname))
			report_option_not_for_kind(elem->defname, kind, resource);
	}

	/*
	 * Paths take IDs: a name is looked up in its owner's listing, so it
	 * needs its owner (a view's or a collection's database, a miniview's
	 * collection).  A name the kind does not read was refused above.
	 */
	if (view && !copernica_is_numeric_id(view) && !database)
		report_needs_option("view", view, "database");
	if (miniview && !copernica_is_numeric_id(miniview) && !collection)
		report_needs_option("miniview", miniview, "collection");
	if (collection && !copernica_is_numeric_id(collection) && !database)
		report_needs_option("collection", collection, "database");
}

/*
 * The choices only a superuser makes in a server's options: its url (or the
 * default), its proxy (NULL for none), whether it turns certificate checks
 * off.
 */
typedef struct ServerChoices
{
	const char *url;
	const char *proxy;
	bool		no_verify;
} ServerChoices;

static void
server_choices(List *options, ServerChoices *c)
{
	ListCell   *lc;

	c->url = COPERNICA_DEFAULT_URL;
	c->proxy = NULL;
	c->no_verify = false;
	foreach(lc, options)
	{
		DefElem    *elem = lfirst(lc);
		bool		verify = true;

		if (strcmp(elem->defname, "url") == 0)
			c->url = defGetString(elem);
		else if (strcmp(elem->defname, "proxy") == 0)
			c->proxy = defGetString(elem);
		else if (strcmp(elem->defname, "ssl_verify") == 0 &&
				 parse_bool(defGetString(elem), &verify))
			c->no_verify = !verify;
	}
}

/*
 * Which of the choices in a server's new options a superuser made already
 * on a server of this wrapper (validator: its validator function) that the
 * current user owns: the url, on one with that url; the proxy, on one with
 * that url and proxy; ssl_verify false, on one with that url, with the new
 * options' proxy if they have one, and with ssl_verify false.  The options
 * ALTER SERVER validates are the server's whole new list, unchanged ones
 * included, so without this the owner of a server whose url a superuser
 * chose could change no option at all.  Keeping (or copying) such choices
 * grants nothing the owner does not already have through that server.  But
 * a proxy or ssl_verify false chosen for one url, taken to another (such
 * as Copernica's own) or next to another proxy, could let the server's
 * traffic, tokens and all, be read: that still needs a superuser.
 */
typedef struct KeptChoices
{
	bool		url;
	bool		proxy;
	bool		no_verify;
} KeptChoices;

static void
choices_kept(Oid validator, List *options, KeptChoices *kept)
{
	ServerChoices want;
	Relation	rel;
	SysScanDesc scan;
	HeapTuple	tup;

	memset(kept, 0, sizeof(KeptChoices));
	server_choices(options, &want);
	rel = table_open(ForeignServerRelationId, AccessShareLock);
	scan = systable_beginscan(rel, InvalidOid, false, NULL, 0, NULL);
	while (HeapTupleIsValid(tup = systable_getnext(scan)))
	{
		Form_pg_foreign_server srv = (Form_pg_foreign_server) GETSTRUCT(tup);
		ServerChoices have;
		bool		same_proxy;

		if (!has_privs_of_role(GetUserId(), srv->srvowner) ||
			GetForeignDataWrapper(srv->srvfdw)->fdwvalidator != validator)
			continue;
		server_choices(GetForeignServer(srv->oid)->options, &have);
		if (strcmp(have.url, want.url) != 0)
			continue;
		same_proxy = want.proxy != NULL && have.proxy != NULL &&
			strcmp(have.proxy, want.proxy) == 0;
		kept->url = true;
		kept->proxy |= same_proxy;
		kept->no_verify |= have.no_verify &&
			(want.proxy == NULL || same_proxy);
	}
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
}

PG_FUNCTION_INFO_V1(copernica_fdw_validator);

Datum
copernica_fdw_validator(PG_FUNCTION_ARGS)
{
	List	   *options = untransformRelOptions(PG_GETARG_DATUM(0));
	Oid			catalog = PG_GETARG_OID(1);
	int			mask = context_mask(catalog);
	ListCell   *lc;
	KeptChoices kept_choices = {0};
	bool		kept_asked = false;

	foreach(lc, options)
	{
		DefElem    *elem = lfirst(lc);
		const CopernicaOptionDef *def = find_option(elem->defname);
		bool		kept = false;

		if (def == NULL || !(def->where & mask))
			report_invalid_option(elem->defname, mask);

		/* a superuser's choice only: url, proxy, ssl_verify */
		if (catalog == ForeignServerRelationId && !superuser() &&
			(def->kind == OK_URL || def->kind == OK_PROXY ||
			 strcmp(def->name, "ssl_verify") == 0))
		{
			if (!kept_asked)
				choices_kept(fcinfo->flinfo->fn_oid, options, &kept_choices);
			kept_asked = true;
			kept = def->kind == OK_URL ? kept_choices.url :
				def->kind == OK_PROXY ? kept_choices.proxy :
				kept_choices.no_verify;
		}
		validate_option_value(def, elem, kept);

		/* like url: turning off certificate checks is a superuser's call */
		if (strcmp(def->name, "ssl_verify") == 0 && !superuser() && !kept)
		{
			bool		verify = true;

			(void) parse_bool(defGetString(elem), &verify);
			if (!verify)
				ereport(ERROR,
						(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
						 errmsg("permission denied to set option \"ssl_verify\" to false"),
						 errdetail("Only superusers may turn off TLS certificate verification.")));
		}
	}

	if (catalog == ForeignTableRelationId)
		validate_table_options(options);

	PG_RETURN_VOID();
}

/*
 * The user mapping for userid on serverid, falling back to PUBLIC, as
 * GetUserMapping finds it but without raising when there is none (a server
 * may carry the token itself): its OID, or InvalidOid.  *options, when
 * asked for, receives its options (NIL for none).
 */
Oid
copernica_user_mapping(Oid userid, Oid serverid, List **options)
{
	HeapTuple	tp;
	Datum		datum;
	bool		isnull;
	Oid			umid;

	if (options)
		*options = NIL;
	tp = SearchSysCache2(USERMAPPINGUSERSERVER,
						 ObjectIdGetDatum(userid), ObjectIdGetDatum(serverid));
	if (!HeapTupleIsValid(tp))
		tp = SearchSysCache2(USERMAPPINGUSERSERVER,
							 ObjectIdGetDatum(InvalidOid), ObjectIdGetDatum(serverid));
	if (!HeapTupleIsValid(tp))
		return InvalidOid;

	umid = ((Form_pg_user_mapping) GETSTRUCT(tp))->oid;
	if (options)
	{
		datum = SysCacheGetAttr(USERMAPPINGUSERSERVER, tp,
								Anum_pg_user_mapping_umoptions, &isnull);
		if (!isnull)
			*options = untransformRelOptions(datum);
	}
	ReleaseSysCache(tp);
	return umid;
}

static void
apply_options(CopernicaOptions *opts, List *options)
{
	ListCell   *lc;

	foreach(lc, options)
	{
		DefElem    *elem = lfirst(lc);
		const char *name = elem->defname;
		char	   *value = defGetString(elem);
		const CopernicaOptionDef *def = find_option(name);

		if (def == NULL)
			continue;

		if (strcmp(name, "url") == 0)
		{
			size_t		len = strlen(value);

			/* the paths we append start without a slash */
			while (len > 0 && value[len - 1] == '/')
				len--;
			opts->url = pnstrdup(value, len);
		}
		else if (strcmp(name, "access_token") == 0)
			opts->access_token = pstrdup(value);
		else if (strcmp(name, "timezone") == 0)
			opts->timezone = pstrdup(value);
		else if (strcmp(name, "database") == 0)
			opts->database = pstrdup(value);
		else if (strcmp(name, "collection") == 0)
			opts->collection = pstrdup(value);
		else if (strcmp(name, "resource") == 0)
			opts->resource = pstrdup(value);
		else if (strcmp(name, "view") == 0)
			opts->view = pstrdup(value);
		else if (strcmp(name, "miniview") == 0)
			opts->miniview = pstrdup(value);
		else if (strcmp(name, "upsert_key") == 0)
			opts->upsert_key = pstrdup(value);
		else if (strcmp(name, "updatable") == 0)
			(void) parse_bool(value, &opts->updatable);
		else if (strcmp(name, "ssl_verify") == 0)
			(void) parse_bool(value, &opts->ssl_verify);
		else if (strcmp(name, "proxy") == 0)
			opts->proxy = pstrdup(value);
		else if (def->kind == OK_INT)
		{
			int64		v = parse_int_option(name, value, def->min, def->max);

			if (strcmp(name, "connect_timeout") == 0)
				opts->connect_timeout = (int) v;
			else if (strcmp(name, "request_timeout") == 0)
				opts->request_timeout = (int) v;
			else if (strcmp(name, "max_retries") == 0)
				opts->max_retries = (int) v;
			else if (strcmp(name, "max_retry_time") == 0)
				opts->max_retry_time = (int) v;
			else if (strcmp(name, "max_response_size") == 0)
				opts->max_response_size = v;
			else if (strcmp(name, "max_concurrency") == 0)
				opts->max_concurrency = (int) v;
			else if (strcmp(name, "page_size") == 0)
				opts->page_size = (int) v;
			else if (strcmp(name, "batch_size") == 0)
				opts->batch_size = (int) v;
		}
	}
}

/*
 * Server options, then the user mapping's token (the per-role token wins),
 * on top of the defaults.
 */
CopernicaOptions *
copernica_get_server_options(Oid serverid, Oid userid)
{
	CopernicaOptions *opts = palloc0(sizeof(CopernicaOptions));
	ForeignServer *server = GetForeignServer(serverid);
	List	   *mapping_options;

	opts->url = pstrdup(COPERNICA_DEFAULT_URL);
	opts->connect_timeout = 10;
	opts->request_timeout = 300;
	opts->timezone = pstrdup(COPERNICA_DEFAULT_TIMEZONE);
	opts->max_retries = 5;
	opts->max_retry_time = 120;
	opts->max_concurrency = 4;
	opts->max_response_size = INT64CONST(256) * 1024 * 1024;
	opts->page_size = COPERNICA_DEFAULT_PAGE_SIZE;
	opts->batch_size = 100;
	opts->updatable = true;
	opts->ssl_verify = true;

	apply_options(opts, server->options);
	(void) copernica_user_mapping(userid, serverid, &mapping_options);
	apply_options(opts, mapping_options);

	if (opts->access_token == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_OPTION_NAME_NOT_FOUND),
				 errmsg("no Copernica access token for server \"%s\"", server->servername),
				 errhint("Create a user mapping with OPTIONS (access_token '...'), or set the server's access_token option.")));
	return opts;
}

CopernicaOptions *
copernica_get_options(Oid foreigntableid, Oid userid)
{
	ForeignTable *table = GetForeignTable(foreigntableid);
	CopernicaOptions *opts = copernica_get_server_options(table->serverid, userid);

	apply_options(opts, table->options);
	return opts;
}

/* The column's 'field' option, or NULL. */
char *
copernica_column_field_option(Oid relid, AttrNumber attnum)
{
	List	   *options = GetForeignColumnOptions(relid, attnum);
	ListCell   *lc;

	foreach(lc, options)
	{
		DefElem    *elem = lfirst(lc);

		if (strcmp(elem->defname, "field") == 0)
			return defGetString(elem);
	}
	return NULL;
}
