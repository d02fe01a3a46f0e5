/*-------------------------------------------------------------------------
 *
 * mailing_resources.c
 *		  The catalogue of mailing resources (copernica-api-v2.md section
 *		  11): the static table of what each 'resource' reads (its listing
 *		  URLs, parameters, time style), the columns the docs name and their
 *		  keys, the lookups planning and the scan use (mailing.h), and IMPORT
 *		  FOREIGN SCHEMA's tables made from it.  Planning is mailing.c, the
 *		  scan mailing_scan.c.  Nothing here does I/O.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "foreign/foreign.h"
#include "lib/stringinfo.h"
#include "nodes/parsenodes.h"
#include "utils/builtins.h"

#include "copernica_fdw.h"
#include "mailing.h"


const char *const mailing_key_columns[NUM_KEYS] = {
	"destination", "subprofile", "profile", "emailing", "testgroup", "template"
};




#define EVENT_LINKS_PUB \
	{"emailing", "bigint", NULL}, {"destination", "bigint", NULL}, \
	{"profile", "bigint", NULL}, {"subprofile", "bigint", NULL}
#define EVENT_LINKS_MS \
	{"emailing", "bigint", "mailing"}, {"destination", "bigint", NULL}, \
	{"profile", "bigint", NULL}, {"subprofile", "bigint", NULL}

static const MailingColumnDef pub_emailing_cols[] = {
	{"id", "bigint", NULL}, {"timestamp", "timestamp", NULL},
	{"subject", "text", NULL}, {"description", "text", NULL}, {"type", "text", NULL},
	{"from_address", "jsonb", NULL}, {"destinations", "integer", NULL},
	{"target", "jsonb", NULL}, {"document", "bigint", NULL}, {"template", "bigint", NULL},
	{"contenttype", "text", NULL}, {"testgroups", "integer", NULL},
	{"finalgroup", "bigint", NULL},
	{"clicks", "integer", NULL}, {"impressions", "integer", NULL},
	{"errors", "integer", NULL}, {"unsubscribes", "integer", NULL},
	{"abuses", "integer", NULL},
	{"profile", "bigint", NULL}, {"subprofile", "bigint", NULL}, {NULL}
};
static const MailingColumnDef ms_emailing_cols[] = {
	{"id", "bigint", NULL}, {"timestamp", "timestamp", NULL},
	{"subject", "text", NULL}, {"type", "text", NULL},
	{"from_address", "jsonb", NULL}, {"destinations", "integer", NULL},
	{"target", "jsonb", NULL}, {"template", "bigint", NULL},
	{"profile", "bigint", NULL}, {"subprofile", "bigint", NULL},
	{"tags", "text[]", NULL}, {NULL}
};
static const MailingColumnDef pub_destination_cols[] = {
	{"id", "text", NULL}, {"internal", "bigint", NULL},
	{"timestampsent", "timestamp", NULL}, {"emailing", "bigint", "mailing"},
	{"profile", "bigint", NULL}, {"subprofile", "bigint", NULL}, {NULL}
};
static const MailingColumnDef ms_destination_cols[] = {
	{"id", "bigint", NULL}, {"message_id", "text", "messageID"},
	{"timestampsent", "timestamp", NULL}, {"emailing", "bigint", "mailing"},
	{"profile", "bigint", NULL}, {"subprofile", "bigint", NULL},
	{"unsubscribed", "boolean", NULL}, {NULL}
};
static const MailingColumnDef pub_statistics_cols[] = {
	{"emailing", "bigint", NULL},
	{"abuses_total", "integer", "abuses.total"}, {"abuses_unique", "integer", "abuses.unique"},
	{"clicks_total", "integer", "clicks.total"}, {"clicks_unique", "integer", "clicks.unique"},
	{"errors_total", "integer", "errors.total"}, {"errors_unique", "integer", "errors.unique"},
	{"impressions_total", "integer", "impressions.total"},
	{"impressions_unique", "integer", "impressions.unique"},
	{"unsubscribes_total", "integer", "unsubscribes.total"},
	{"unsubscribes_unique", "integer", "unsubscribes.unique"},
	{"unknown_total", "integer", "unknown.total"}, {NULL}
};
static const MailingColumnDef ms_statistics_cols[] = {
	{"emailing", "bigint", NULL}, {"destinations", "integer", NULL},
	{"abuses_total", "integer", "abuses.total"}, {"abuses_unique", "integer", "abuses.unique"},
	{"clicks_total", "integer", "clicks.total"}, {"clicks_unique", "integer", "clicks.unique"},
	{"deliveries_total", "integer", "deliveries.total"},
	{"errors_total", "integer", "errors.total"}, {"errors_unique", "integer", "errors.unique"},
	{"impressions_total", "integer", "impressions.total"},
	{"impressions_unique", "integer", "impressions.unique"},
	{"retries_total", "integer", "retries.total"}, {"retries_unique", "integer", "retries.unique"},
	{"unsubscribes_total", "integer", "unsubscribes.total"},
	{"unsubscribes_unique", "integer", "unsubscribes.unique"}, {NULL}
};
/* each Publisher event kind's own columns, also read per test group */
#define PUB_DELIVERIES \
	{"id", "bigint", NULL}, {"timestamp", "timestamp", NULL}, \
	{"attempt", "integer", NULL}, {"smtp_response", "text", "smtp-response"}
#define PUB_IMPRESSIONS \
	{"id", "bigint", NULL}, {"timestamp", "timestamp", NULL}, \
	{"ip", "text", NULL}, {"useragent", "text", NULL}, {"device", "text", NULL}, \
	{"referer", "text", NULL}
#define PUB_CLICKS \
	{"id", "bigint", NULL}, {"timestamp", "timestamp", NULL}, \
	{"link_id", "bigint", NULL}, {"link", "text", NULL}, {"link_title", "text", NULL}, \
	{"ip", "text", NULL}, {"useragent", "text", NULL}, {"referer", "text", NULL}
#define PUB_ERRORS \
	{"id", "bigint", NULL}, {"timestamp", "timestamp", NULL}, \
	{"errorcode", "text", NULL}, {"description", "text", NULL}, \
	{"errortype", "text", NULL}, {"errortypedescription", "text", NULL}
#define PUB_UNSUBSCRIBES \
	{"id", "bigint", NULL}, {"timestamp", "timestamp", NULL}, \
	{"source", "text", NULL}, {"success", "boolean", NULL}
#define PUB_ABUSES \
	{"id", "bigint", NULL}, {"timestamp", "timestamp", NULL}, \
	{"recognized_as", "text", NULL}, {"feedback_type", "text", NULL}, \
	{"arf_version", "text", NULL}, {"details", "text", NULL}
/* a test group's events: the test group is the URL's, not the item's */
#define TESTGROUP_KEY	{"testgroup", "bigint", NULL}

static const MailingColumnDef pub_deliveries_cols[] = {PUB_DELIVERIES, EVENT_LINKS_PUB, {NULL}};
static const MailingColumnDef pub_impressions_cols[] = {PUB_IMPRESSIONS, EVENT_LINKS_PUB, {NULL}};
static const MailingColumnDef pub_clicks_cols[] = {PUB_CLICKS, EVENT_LINKS_PUB, {NULL}};
static const MailingColumnDef pub_errors_cols[] = {PUB_ERRORS, EVENT_LINKS_PUB, {NULL}};
static const MailingColumnDef pub_unsubscribes_cols[] = {PUB_UNSUBSCRIBES, EVENT_LINKS_PUB, {NULL}};
static const MailingColumnDef pub_abuses_cols[] = {PUB_ABUSES, EVENT_LINKS_PUB, {NULL}};
static const MailingColumnDef tg_deliveries_cols[] = {
	TESTGROUP_KEY, PUB_DELIVERIES, EVENT_LINKS_PUB, {NULL}
};
static const MailingColumnDef tg_impressions_cols[] = {
	TESTGROUP_KEY, PUB_IMPRESSIONS, EVENT_LINKS_PUB, {NULL}
};
static const MailingColumnDef tg_clicks_cols[] = {TESTGROUP_KEY, PUB_CLICKS, EVENT_LINKS_PUB, {NULL}};
static const MailingColumnDef tg_errors_cols[] = {TESTGROUP_KEY, PUB_ERRORS, EVENT_LINKS_PUB, {NULL}};
static const MailingColumnDef tg_unsubscribes_cols[] = {
	TESTGROUP_KEY, PUB_UNSUBSCRIBES, EVENT_LINKS_PUB, {NULL}
};
static const MailingColumnDef tg_abuses_cols[] = {TESTGROUP_KEY, PUB_ABUSES, EVENT_LINKS_PUB, {NULL}};
static const MailingColumnDef ms_deliveries_cols[] = {
	{"id", "bigint", NULL}, {"timestamp", "timestamp", NULL},
	{"attempts", "integer", NULL}, EVENT_LINKS_MS, {NULL}
};
static const MailingColumnDef ms_impressions_cols[] = {
	{"id", "bigint", NULL}, {"timestamp", "timestamp", NULL},
	{"ip", "text", NULL}, {"useragent", "text", NULL}, {"device", "text", NULL},
	EVENT_LINKS_MS, {NULL}
};
static const MailingColumnDef ms_clicks_cols[] = {
	{"id", "bigint", NULL}, {"timestamp", "timestamp", NULL},
	{"link", "text", NULL}, {"ip", "text", NULL}, {"useragent", "text", NULL},
	EVENT_LINKS_MS, {NULL}
};
static const MailingColumnDef ms_errors_cols[] = {
	{"id", "bigint", NULL}, {"timestamp", "timestamp", NULL},
	{"status", "text", NULL}, {"errorcode", "text", NULL}, {"description", "text", NULL},
	{"errortype", "text", NULL}, EVENT_LINKS_MS, {NULL}
};
static const MailingColumnDef ms_abuses_cols[] = {
	{"id", "bigint", NULL}, {"timestamp", "timestamp", NULL},
	{"report", "jsonb", NULL}, EVENT_LINKS_MS, {NULL}
};
static const MailingColumnDef pub_template_cols[] = {
	{"id", "bigint", NULL}, {"name", "text", NULL}, {"description", "text", NULL}, {NULL}
};
static const MailingColumnDef ms_template_cols[] = {
	{"id", "bigint", NULL}, {"name", "text", NULL}, {"subject", "text", NULL},
	{"type", "text", NULL}, {"from_address", "jsonb", NULL}, {NULL}
};
/* a test group and a snapshot write the sender as one string */
static const MailingColumnDef pub_testgroup_cols[] = {
	{"id", "bigint", NULL}, {"emailing", "bigint", NULL}, {"name", "text", NULL},
	{"subject", "text", NULL}, {"from_address", "text", NULL},
	{"timestamp", "timestamp", NULL}, {"destinations", "integer", NULL},
	{"document", "bigint", NULL}, {NULL}
};
static const MailingColumnDef pub_snapshot_cols[] = {
	{"emailing", "bigint", NULL}, {"name", "text", NULL}, {"subject", "text", NULL},
	{"from_address", "text", NULL}, {"document", "bigint", NULL}, {NULL}
};
/* a split run's final group: the test group's shape plus the template */
static const MailingColumnDef pub_finalgroup_cols[] = {
	{"id", "bigint", NULL}, {"emailing", "bigint", NULL}, {"name", "text", NULL},
	{"subject", "text", NULL}, {"from_address", "text", NULL},
	{"timestamp", "timestamp", NULL}, {"destinations", "integer", NULL},
	{"document", "bigint", NULL}, {"template", "bigint", NULL}, {NULL}
};
/* a message or template body: the URL's key and type, the answer as text */
static const MailingColumnDef destination_body_cols[] = {
	{"destination", "bigint", NULL}, {"type", "text", NULL}, {"body", "text", NULL}, {NULL}
};
static const MailingColumnDef template_body_cols[] = {
	{"template", "bigint", NULL}, {"type", "text", NULL}, {"body", "text", NULL}, {NULL}
};
static const char *const body_types[] = {"html", "mime", "text", NULL};

static const MailingColumnDef pub_content_cols[] = {
	{"destination", "bigint", NULL}, {"subject", "text", NULL},
	{"html", "text", NULL}, {"text", "text", NULL}, {NULL}
};
static const MailingColumnDef pub_dest_statistics_cols[] = {
	{"destination", "bigint", "ID"},
	{"abuses_total", "integer", "abuses.total"}, {"clicks_total", "integer", "clicks.total"},
	{"deliveries_total", "integer", "deliveries.total"},
	{"errors_total", "integer", "errors.total"},
	{"impressions_total", "integer", "impressions.total"},
	{"retries_total", "integer", "retries.total"},
	{"unsubscribes_total", "integer", "unsubscribes.total"}, {NULL}
};
#define MS_STATISTICS_COUNTS \
	{"abuses_total", "integer", "abuses.total"}, \
	{"clicks_total", "integer", "clicks.total"}, {"clicks_unique", "integer", "clicks.unique"}, \
	{"deliveries_total", "integer", "deliveries.total"}, \
	{"errors_total", "integer", "errors.total"}, \
	{"impressions_total", "integer", "impressions.total"}, \
	{"impressions_unique", "integer", "impressions.unique"}, \
	{"retries_total", "integer", "retries.total"}, \
	{"unsubscribes_total", "integer", "unsubscribes.total"}, \
	{"unsubscribes_unique", "integer", "unsubscribes.unique"}
static const MailingColumnDef ms_dest_statistics_cols[] = {
	{"destination", "bigint", "ID"}, MS_STATISTICS_COUNTS, {NULL}
};
static const MailingColumnDef ms_template_statistics_cols[] = {
	{"template", "bigint", NULL}, {"destinations", "integer", NULL}, MS_STATISTICS_COUNTS,
	{NULL}
};
static const MailingColumnDef pub_scheduled_cols[] = {
	{"id", "bigint", NULL}, {"next", "timestamp", NULL}, {"previous", "timestamp", NULL},
	{"interval", "jsonb", NULL}, {"iterations", "integer", NULL},
	{"processed_iterations", "integer", NULL}, {"scheduled_iterations", "integer", NULL},
	{"subject", "text", NULL}, {"from_address", "jsonb", NULL},
	{"emailing_type", "text", NULL}, {"contenttype", "text", NULL},
	{"testgroups", "integer", NULL}, {"target", "jsonb", NULL},
	{"document", "bigint", NULL}, {"template", "bigint", NULL}, {NULL}
};
static const MailingColumnDef ms_scheduled_cols[] = {
	{"id", "bigint", NULL}, {"start", "timestamp", NULL}, {"rrule", "text", NULL},
	{"next", "timestamp", NULL}, {"previous", "timestamp", NULL},
	{"subject", "text", NULL}, {"type", "text", NULL}, {"from_address", "jsonb", NULL},
	{"target", "jsonb", NULL}, {"template", "bigint", NULL}, {NULL}
};

/* a body per key and type: body/html, body/mime, body/text */
#define BODY(name, path, cols) \
	{name, NULL, {[KEY_DESTINATION] = path}, "", TIME_NONE, TIME_NONE, NULL, false, false, \
	 NULL, cols, .raw_column = "body", .variant_column = "type", .variants = body_types}

#define PUB_EMAILINGS	"publisher_emailings"
/* publisher/emailing/$id lists the listing's keys but these [doc 11.2] */
static const char *const pub_single_lacks[] = {"errors", "unsubscribes", "abuses", NULL};
#define MS_EMAILINGS	"ms_emailings"

#define PUB_EVENT(kind, cols) \
	{"publisher_" kind, "publisher/" kind, \
	 {"publisher/destination/%s/" kind, NULL, NULL, "publisher/emailing/%s/" kind}, \
	 "", TIME_FIELDS, TIME_FIELDS, "timestamp", true, true, PUB_EMAILINGS, cols}
/* a test group's events: only by test group (no listing of them all) */
#define TESTGROUP_EVENT(kind, cols) \
	{"publisher_testgroup_" kind, NULL, \
	 {[KEY_TESTGROUP] = "publisher/testgroup/%s/" kind}, \
	 "", TIME_NONE, TIME_NONE, NULL, false, true, NULL, cols}
#define MS_EVENT(kind, cols) \
	{"ms_" kind, "ms/" kind, \
	 {"ms/destination/%s/" kind, NULL, NULL, "ms/emailing/%s/" kind}, \
	 "", TIME_BEGINEND, TIME_BEGINEND, "timestamp", false, true, MS_EMAILINGS, cols}

static const MailingResource mailing_resources[] = {
	{"publisher_emailings", "publisher/emailings",
	 {NULL, "subprofile/%s/publisher/emailings", "profile/%s/publisher/emailings",
	  "publisher/emailing/%s"},
	 "&test=both&followups=both", TIME_FROMDATE, TIME_FROMDATE, "timestamp", false, true,
	 NULL, pub_emailing_cols, .id_is_key = true, .single_lacks = pub_single_lacks},
	{"ms_emailings", "ms/emailings",
	 {NULL, "subprofile/%s/ms/emailings", "profile/%s/ms/emailings", "ms/emailing/%s"},
	 "&followups=both", TIME_FROMDATE, TIME_FROMDATE, "timestamp", false, true,
	 NULL, ms_emailing_cols, .detail_column = "tags", .detail_path = "ms/emailing/%s",
	 .id_is_key = true},
	{"publisher_destinations", NULL,
	 {NULL, "subprofile/%s/publisher/destinations", "profile/%s/publisher/destinations",
	  "publisher/emailing/%s/destinations"},
	 "", TIME_FIELDS, TIME_FIELDS, "timestampsent", false, true, PUB_EMAILINGS,
	 pub_destination_cols},
	{"ms_destinations", "ms/destinations",
	 {NULL, "subprofile/%s/ms/destinations", "profile/%s/ms/destinations",
	  "ms/emailing/%s/destinations"},
	 "", TIME_FIELDS, TIME_FROMTO, "timestampsent", false, true, MS_EMAILINGS,
	 ms_destination_cols, "unsubscribed", "&Unsubscribed=true&unsubscribed=true",
	 MAILING_FLAG_ON(KEY_EMAILING) | MAILING_FLAG_ON(NUM_KEYS), MAILING_FLAG_ON(NUM_KEYS),
	 /* only ms/destinations and the single destination have messageID */
	 .detail_column = "messageID", .detail_path = "ms/destination/%s"},
	{"publisher_statistics", NULL,
	 {NULL, NULL, NULL, "publisher/emailing/%s/statistics"},
	 "", TIME_NONE, TIME_NONE, NULL, false, false, PUB_EMAILINGS, pub_statistics_cols},
	{"ms_statistics", NULL,
	 {NULL, NULL, NULL, "ms/emailing/%s/statistics"},
	 "", TIME_NONE, TIME_NONE, NULL, false, false, MS_EMAILINGS, ms_statistics_cols},
	PUB_EVENT("abuses", pub_abuses_cols),
	PUB_EVENT("clicks", pub_clicks_cols),
	PUB_EVENT("deliveries", pub_deliveries_cols),
	PUB_EVENT("errors", pub_errors_cols),
	PUB_EVENT("impressions", pub_impressions_cols),
	PUB_EVENT("unsubscribes", pub_unsubscribes_cols),
	MS_EVENT("abuses", ms_abuses_cols),
	MS_EVENT("clicks", ms_clicks_cols),
	MS_EVENT("deliveries", ms_deliveries_cols),
	MS_EVENT("errors", ms_errors_cols),
	MS_EVENT("impressions", ms_impressions_cols),
	{"publisher_templates", "publisher/templates", {NULL}, "", TIME_NONE, TIME_NONE,
	 NULL, false, true, NULL, pub_template_cols},
	{"publisher_documents", "publisher/documents", {NULL}, "", TIME_NONE, TIME_NONE,
	 NULL, false, true, NULL, pub_template_cols},
	{"ms_templates", "ms/templates", {NULL}, "", TIME_NONE, TIME_NONE,
	 NULL, false, true, NULL, ms_template_cols},
	{"publisher_testgroups", NULL, {[KEY_EMAILING] = "publisher/emailing/%s/testgroups"},
	 "", TIME_NONE, TIME_NONE, NULL, false, true, PUB_EMAILINGS, pub_testgroup_cols,
	 .emailings_count = "testgroups"},
	TESTGROUP_EVENT("abuses", tg_abuses_cols),
	TESTGROUP_EVENT("clicks", tg_clicks_cols),
	TESTGROUP_EVENT("deliveries", tg_deliveries_cols),
	TESTGROUP_EVENT("errors", tg_errors_cols),
	TESTGROUP_EVENT("impressions", tg_impressions_cols),
	TESTGROUP_EVENT("unsubscribes", tg_unsubscribes_cols),
	{"publisher_snapshots", NULL, {[KEY_EMAILING] = "publisher/emailing/%s/snapshot"},
	 "", TIME_NONE, TIME_NONE, NULL, false, false, PUB_EMAILINGS, pub_snapshot_cols},
	{"publisher_finalgroups", NULL, {[KEY_EMAILING] = "publisher/emailing/%s/finalgroup"},
	 "", TIME_NONE, TIME_NONE, NULL, false, false, PUB_EMAILINGS, pub_finalgroup_cols,
	 .maybe_absent = true},
	BODY("publisher_destination_body", "publisher/destination/%s/body", destination_body_cols),
	BODY("ms_destination_body", "ms/destination/%s/body", destination_body_cols),
	{"ms_template_body", NULL, {[KEY_TEMPLATE] = "ms/template/%s/body"}, "",
	 TIME_NONE, TIME_NONE, NULL, false, false, NULL, template_body_cols,
	 .raw_column = "body", .variant_column = "type", .variants = body_types},
	{"publisher_destination_content", NULL,
	 {[KEY_DESTINATION] = "publisher/destination/%s/content"},
	 "", TIME_NONE, TIME_NONE, NULL, false, false, NULL, pub_content_cols},
	{"publisher_destination_statistics", NULL,
	 {[KEY_DESTINATION] = "publisher/destination/%s/statistics"},
	 "", TIME_NONE, TIME_NONE, NULL, false, false, NULL, pub_dest_statistics_cols},
	{"ms_destination_statistics", NULL,
	 {[KEY_DESTINATION] = "ms/destination/%s/statistics"},
	 "", TIME_NONE, TIME_NONE, NULL, false, false, NULL, ms_dest_statistics_cols},
	{"ms_template_statistics", NULL, {[KEY_TEMPLATE] = "ms/template/%s/statistics"},
	 "", TIME_NONE, TIME_NONE, NULL, false, false, NULL, ms_template_statistics_cols},
	{"publisher_scheduledemailings", "publisher/scheduledemailings", {NULL}, "",
	 TIME_FROMDATE_ONLY, TIME_FROMDATE_ONLY, "next", false, true, NULL, pub_scheduled_cols},
	{"ms_scheduledemailings", "ms/scheduledemailings", {NULL}, "",
	 TIME_NEXTRUN, TIME_NEXTRUN, "next", false, true, NULL, ms_scheduled_cols},
	{NULL}
};

/* ----------------------------------------------------------------
 * The resources
 * ----------------------------------------------------------------
 */

const MailingResource *
copernica_mailing_find(const char *name)
{
	const MailingResource *mr;

	if (name == NULL)
		return NULL;
	for (mr = mailing_resources; mr->name; mr++)
		if (strcmp(mr->name, name) == 0)
			return mr;
	return NULL;
}

/* A key's column: the emailings' own is their id. */
const char *
copernica_mailing_key_name(const MailingResource *mr, int key)
{
	if (mr->id_is_key && key == KEY_EMAILING)
		return "id";
	return mailing_key_columns[key];
}

/* Does the single object lack this key of the listing's items? */
bool
copernica_mailing_single_lacks(const MailingResource *mr, const char *key)
{
	int			i;

	for (i = 0; mr->single_lacks && mr->single_lacks[i]; i++)
		if (strcmp(mr->single_lacks[i], key) == 0)
			return true;
	return false;
}

/* The index of a variant (a body type) among the resource's, or -1. */
int
copernica_mailing_variant(const MailingResource *mr, const char *value)
{
	int			i;

	for (i = 0; mr->variants && mr->variants[i]; i++)
		if (strcmp(mr->variants[i], value) == 0)
			return i;
	return -1;
}

bool
copernica_is_mailing_resource(const char *name)
{
	return copernica_mailing_find(name) != NULL;
}

/* "publisher_emailings, ms_emailings, ..." for an error's detail. */
char *
copernica_mailing_resource_names(void)
{
	StringInfoData buf;
	const MailingResource *mr;

	initStringInfo(&buf);
	for (mr = mailing_resources; mr->name; mr++)
		appendStringInfo(&buf, "%s%s", buf.len ? ", " : "", mr->name);
	return buf.data;
}


/*
 * A column's source: its 'field' option names the item's key; else one of
 * the documented columns by name.  False when neither.
 */
bool
copernica_mailing_column(const MailingResource *mr, Oid relid, Form_pg_attribute attr,
						 MailingColumn *col)
{
	const char *name = NameStr(attr->attname);
	char	   *field = copernica_column_field_option(relid, attr->attnum);
	const MailingColumnDef *def;
	int			k;

	memset(col, 0, sizeof(*col));
	col->role = KEY_NONE;
	for (def = mr->columns; def->name; def++)
		if (pg_strcasecmp(def->name, name) == 0)
			break;
	if (field == NULL && def->name == NULL)
		return false;
	if (field)
		col->key = field;
	else
	{
		const char *key = def->key ? def->key : def->name;
		const char *dot = strchr(key, '.');

		if (dot)
		{
			col->key = pnstrdup(key, dot - key);
			col->sub = dot + 1;
		}
		else
			col->key = key;
	}
	/* by its key: a column renamed with 'field' too */
	col->is_detail = mr->detail_column && col->sub == NULL &&
		strcmp(col->key, mr->detail_column) == 0;
	if (def->name == NULL)
		return true;
	for (k = 0; k < NUM_KEYS; k++)
		if (strcmp(def->name, mailing_key_columns[k]) == 0)
			col->role = (MailingKey) k;
	col->is_time = mr->time_column && strcmp(def->name, mr->time_column) == 0;
	col->is_id = strcmp(def->name, "id") == 0;
	if (col->is_id && mr->id_is_key)
		col->role = KEY_EMAILING;
	col->is_flag = mr->flag_column && strcmp(def->name, mr->flag_column) == 0;
	col->is_raw = mr->raw_column && strcmp(def->name, mr->raw_column) == 0;
	col->is_variant = mr->variant_column && strcmp(def->name, mr->variant_column) == 0;
	return true;
}

void
copernica_mailing_unknown_column(const MailingResource *mr, const char *colname,
								 const char *relname)
{
	StringInfoData list;
	const MailingColumnDef *def;

	initStringInfo(&list);
	for (def = mr->columns; def->name; def++)
		appendStringInfo(&list, "%s%s", list.len ? ", " : "", def->name);
	ereport(ERROR,
			(errcode(ERRCODE_FDW_COLUMN_NAME_NOT_FOUND),
			 errmsg("column \"%s\" of foreign table \"%s\" matches nothing in Copernica's %s",
					colname, relname, mr->name),
			 errdetail("The columns it knows are: %s.", list.data),
			 errhint("Rename the column, or name the item's key with the column option \"field\".")));
}

/* ----------------------------------------------------------------
 * IMPORT FOREIGN SCHEMA
 * ----------------------------------------------------------------
 */

/*
 * CREATE FOREIGN TABLE commands for every mailing resource that LIMIT TO /
 * EXCEPT lets through, typed from the docs: IDs bigint, times timestamp,
 * counters integer, nested objects jsonb.  The names are taken in *used.
 */
List *
copernica_mailing_import(ImportForeignSchemaStmt *stmt, const char *server,
						 List **used)
{
	const MailingResource *mr;
	List	   *commands = NIL;

	for (mr = mailing_resources; mr->name; mr++)
	{
		StringInfoData buf;
		const MailingColumnDef *def;

		*used = lappend(*used, (char *) mr->name);
		if (!IsImportableForeignTable(mr->name, stmt))
			continue;
		initStringInfo(&buf);
		appendStringInfo(&buf, "CREATE FOREIGN TABLE %s (\n", quote_identifier(mr->name));
		for (def = mr->columns; def->name; def++)
			appendStringInfo(&buf, "  %s %s%s", quote_identifier(def->name), def->type,
							 def[1].name ? ",\n" : "\n");
		appendStringInfo(&buf, ") SERVER %s\nOPTIONS (resource %s)",
						 quote_identifier(server), quote_literal_cstr(mr->name));
		commands = lappend(commands, buf.data);
	}
	return commands;
}
