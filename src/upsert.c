/*-------------------------------------------------------------------------
 *
 * upsert.c
 *		  INSERT into a table with option upsert_key: Copernica's bulk
 *		  PUT ...?fields[]=<key>==<value>&create=true, which updates the
 *		  entities whose key matches and creates one when none does.
 *
 * Copernica's filter is dangerous here.  A condition on a field it does not
 * know is ignored, and a PUT whose conditions are all ignored updates every
 * profile of the database.  Numeric and date values are cast before they
 * are compared ("abc" is 0), and the whole expression is trimmed.  So the
 * key must be a text-like or integer field that the field definitions,
 * fetched afresh for each statement, show to exist; and each value must be
 * one that Copernica compares exactly as sent: not empty, without leading
 * or trailing white space or control characters, and for an integer field
 * a plain integer.  All of this is checked before the request is made.
 *
 * Text compares without regard to case in Copernica, so "ABC" and "abc" are
 * one key.  Two rows of one batch whose keys may be the same key are never
 * in flight at once: both would find no match and create two profiles.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/tupdesc.h"
#include "catalog/pg_collation.h"
#include "common/hashfn.h"
#include "executor/tuptable.h"
#include "utils/builtins.h"
#include "utils/formatting.h"
#include "utils/hsearch.h"
#include "utils/memutils.h"
#include "utils/rel.h"

#include "copernica_fdw.h"

/* At most this many updated keys are listed in an error. */
#define MAX_LISTED_KEYS		100

struct CopernicaUpsert
{
	Relation	rel;
	const CopernicaOptions *opts;
	const CopernicaResource *res;
	AttrNumber	attnum;			/* the key column */
	char	   *colname;
	char	   *field;			/* the key field, as Copernica spells it */
	bool		integer;		/* an integer-valued field */
	CopernicaColumnType type;

	HTAB	   *segment;		/* folded key hashes of the requests in
								 * flight together */
	int64		nupdated;
	List	   *updated;		/* the first MAX_LISTED_KEYS updated keys */
	MemoryContext cxt;			/* lives as long as the statement */
};

/* Copernica field types a key may have: compared as sent. */
static const char *const text_key_types[] = {
	"text", "email", "phone", "phone_fax", "phone_gsm", "big", NULL
};
static const char *const integer_key_types[] = {
	"integer", "foreign_key", NULL
};

static bool
type_in(const char *type, const char *const *list)
{
	for (; *list; list++)
		if (pg_strcasecmp(type, *list) == 0)
			return true;
	return false;
}

/* The field definitions, afresh: the cache may be a minute old. */
static List *
fetch_field_definitions(CopernicaConnection *conn, const CopernicaResource *res,
						const CopernicaOptions *opts, CopernicaStats *stats)
{
	static const CopernicaValuePath paths[] = {
		{COPERNICA_SRC_PROPERTY, "name"},
		{COPERNICA_SRC_PROPERTY, "type"}
	};
	char	   *path;

	if (res->kind == COPERNICA_SUBPROFILES)
	{
		/* collection/ID/subprofiles -> collection/ID/fields */
		char	   *p = pstrdup(res->list_path);

		*strrchr(p, '/') = '\0';
		path = psprintf("%s/fields", p);
	}
	else
		path = psprintf("database/%s/fields",
						copernica_escape_path_segment(opts->database));
	return copernica_fetch_listing(conn, path, paths, lengthof(paths), stats);
}

/*
 * Check the table's upsert_key before any row is written: it names a column
 * the INSERT gives, and that column is a Copernica field fit to be a key.
 */
CopernicaUpsert *
copernica_upsert_begin(Relation rel, const CopernicaOptions *opts,
					   const CopernicaResource *res, CopernicaConnection *conn,
					   CopernicaStats *stats, List *target_attrs,
					   MemoryContext cxt)
{
	TupleDesc	tupdesc = RelationGetDescr(rel);
	const char *relname = RelationGetRelationName(rel);
	CopernicaUpsert *up;
	Form_pg_attribute attr = NULL;
	CopernicaValuePath source;
	List	   *defs;
	ListCell   *lc;
	CopernicaNameList names;
	HASHCTL		ctl;
	int			i;
	MemoryContext old = MemoryContextSwitchTo(cxt);

	up = palloc0(sizeof(CopernicaUpsert));
	up->rel = rel;
	up->opts = opts;
	up->res = res;
	up->cxt = cxt;

	for (i = 0; i < tupdesc->natts; i++)
	{
		Form_pg_attribute a = TupleDescAttr(tupdesc, i);

		if (!a->attisdropped && strcmp(NameStr(a->attname), opts->upsert_key) == 0)
			attr = a;
	}
	if (attr == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("upsert_key \"%s\" is not a column of foreign table \"%s\"",
						opts->upsert_key, relname)));
	up->attnum = attr->attnum;
	up->colname = pstrdup(NameStr(attr->attname));

	source = copernica_column_source(res, RelationGetRelid(rel), attr);
	if (source.source != COPERNICA_SRC_FIELD)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_INVALID_ATTRIBUTE_VALUE),
				 errmsg("upsert_key \"%s\" of foreign table \"%s\" is not a field column",
						up->colname, relname),
				 errdetail("Only a Copernica field can be the key of an upsert.")));

	if (!list_member_int(target_attrs, attr->attnum))
		ereport(ERROR,
				(errcode(ERRCODE_NOT_NULL_VIOLATION),
				 errmsg("an INSERT into foreign table \"%s\" must give its upsert_key column \"%s\"",
						relname, up->colname),
				 errdetail("Each row is matched with Copernica's profiles by its key.")));

	/* a key on a field Copernica does not know would match everything */
	defs = fetch_field_definitions(conn, res, opts, stats);
	copernica_name_list_init(&names);
	foreach(lc, defs)
	{
		char	  **v = lfirst(lc);

		if (v[0] == NULL)
			continue;
		if (pg_strcasecmp(v[0], source.name) == 0)
		{
			const char *type = v[1] ? v[1] : "";

			up->field = pstrdup(v[0]);
			if (type_in(type, integer_key_types))
				up->integer = true;
			else if (!type_in(type, text_key_types))
				ereport(ERROR,
						(errcode(ERRCODE_FDW_INVALID_DATA_TYPE),
						 errmsg("Copernica field \"%s\" of type %s cannot be an upsert key",
								copernica_redact_name(up->field),
								copernica_redact_name(type)),
						 errdetail("Copernica casts or rewrites values of this type before it compares them, so a key could match profiles it is not equal to."),
						 errhint("Use a text, email, phone or integer field as the key.")));
		}
		copernica_name_list_add(&names, v[0]);
	}
	if (up->field == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_COLUMN_NAME_NOT_FOUND),
				 errmsg("upsert_key \"%s\" of foreign table \"%s\" matches no Copernica field",
						up->colname, relname),
				 errdetail("Copernica ignores a condition on an unknown field, so the upsert would update every %s.",
						   res->entity_prefix),
				 names.count ? errhint("The fields are: %s.",
									   copernica_name_list_text(&names)) : 0));

	copernica_column_type_init(&up->type, attr->atttypid, attr->atttypmod);

	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = sizeof(uint32);
	ctl.entrysize = sizeof(uint32);
	ctl.hcxt = cxt;
	up->segment = hash_create("copernica_fdw upsert keys", 64, &ctl,
							  HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	MemoryContextSwitchTo(old);
	return up;
}

/* Requests added after this may run together with none before it. */
void
copernica_upsert_new_batch(CopernicaUpsert *up)
{
	HASH_SEQ_STATUS seq;
	uint32	   *entry;

	hash_seq_init(&seq, up->segment);
	while ((entry = hash_seq_search(&seq)) != NULL)
		(void) hash_search(up->segment, entry, HASH_REMOVE, NULL);
}

/* A key value Copernica compares exactly as sent, or an error. */
static void
check_key_value(CopernicaUpsert *up, const char *value)
{
	const unsigned char *p;
	size_t		len = strlen(value);

	if (len == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("upsert key \"%s\" must not be empty", up->colname),
				 errdetail("Copernica would update every %s whose %s is empty.",
						   up->res->entity_prefix, up->field)));
	if (isspace((unsigned char) value[0]) || isspace((unsigned char) value[len - 1]))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("upsert key \"%s\" must not begin or end with white space",
						up->colname),
				 errdetail("Copernica trims its conditions, so the key would match a different value.")));
	for (p = (const unsigned char *) value; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("upsert key \"%s\" must not contain control characters",
							up->colname)));
	if (up->integer)
	{
		p = (const unsigned char *) value;
		if (*p == '-')
			p++;
		if (*p == '\0')
			p--;
		for (; *p; p++)
			if (*p < '0' || *p > '9')
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("upsert key \"%s\" must be an integer: \"%s\"",
								up->colname, value),
						 errdetail("Copernica casts the value of integer field \"%s\", so \"%s\" would match another number.",
								   up->field, value)));
	}
}

/*
 * The query of a row's upsert, "fields[]=<field>==<value>&create=true",
 * escaped.  *key receives the key's value.  *wait_before becomes true when
 * a request for the same key (as Copernica compares keys) is in flight
 * already: the row must wait for the ones before it.
 */
char *
copernica_upsert_query(CopernicaUpsert *up, TupleTableSlot *slot, char **key,
					   bool *wait_before)
{
	bool		isnull;
	Datum		d = slot_getattr(slot, up->attnum, &isnull);
	char	   *value;
	char	   *folded;
	uint32		h;
	bool		found;
	StringInfoData query;

	if (isnull)
		ereport(ERROR,
				(errcode(ERRCODE_NOT_NULL_VIOLATION),
				 errmsg("upsert key \"%s\" must not be null", up->colname),
				 errdetail("Copernica cannot match a %s by a missing key.",
						   up->res->entity_prefix)));
	value = copernica_datum_to_value(&up->type, d, false, up->opts->timezone);
	check_key_value(up, value);

	/*
	 * Copernica compares text without regard to case (and its collation may
	 * fold more); keys equal after lower-casing are treated as one.  A hash
	 * collision only makes a row wait needlessly.
	 */
	folded = str_tolower(value, strlen(value), DEFAULT_COLLATION_OID);
	h = hash_bytes((const unsigned char *) folded, strlen(folded));
	(void) hash_search(up->segment, &h, HASH_FIND, &found);
	*wait_before = found;
	if (found)
		copernica_upsert_new_batch(up);
	(void) hash_search(up->segment, &h, HASH_ENTER, NULL);

	initStringInfo(&query);
	appendStringInfoString(&query, "fields%5B%5D=");
	copernica_append_url_escaped(&query, psprintf("%s==%s", up->field, value));
	appendStringInfoString(&query, "&create=true");
	*key = value;
	return query.data;
}

/* Remember an updated key, for the error detail of a later failure. */
void
copernica_upsert_note_updated(CopernicaUpsert *up, const char *key)
{
	if (up->nupdated < MAX_LISTED_KEYS)
	{
		MemoryContext old = MemoryContextSwitchTo(up->cxt);

		up->updated = lappend(up->updated, pstrdup(key));
		MemoryContextSwitchTo(old);
	}
	up->nupdated++;
}

/* "It updated the profiles with email a, b." or NULL when none. */
char *
copernica_upsert_applied_detail(CopernicaUpsert *up)
{
	StringInfoData buf;
	ListCell   *lc;

	if (up == NULL || up->nupdated == 0)
		return NULL;
	initStringInfo(&buf);
	appendStringInfo(&buf, "Before the failure this statement updated the %ss with %s ",
					 up->res->entity_prefix, up->field);
	foreach(lc, up->updated)
		appendStringInfo(&buf, "%s\"%s\"", foreach_current_index(lc) ? ", " : "",
						 (char *) lfirst(lc));
	if (up->nupdated > list_length(up->updated))
		appendStringInfo(&buf, " and " INT64_FORMAT " more",
						 up->nupdated - list_length(up->updated));
	appendStringInfoChar(&buf, '.');
	return buf.data;
}

/*
 * The ID of the entity an upsert updated, for RETURNING: Copernica does not
 * say, so the listing at the PUT's path is asked for the key.  NULL, with a
 * warning, when the key matches no entity or several (all were updated).
 */
char *
copernica_upsert_lookup_id(CopernicaUpsert *up, CopernicaConnection *conn,
						   CopernicaStats *stats, const char *path,
						   const char *key)
{
	static const CopernicaValuePath id_path[] = {{COPERNICA_SRC_PROPERTY, "ID"}};
	CopernicaRequest req = {0};
	CopernicaResponse resp = {0};
	CopernicaPage *page;
	StringInfoData query;
	int64		id;

	initStringInfo(&query);
	appendStringInfoString(&query, "start=0&limit=2&total=false&dataonly=true&fields%5B%5D=");
	copernica_append_url_escaped(&query, psprintf("%s==%s", up->field, key));
	req.method = "GET";
	req.path = (char *) path;
	req.query = query.data;
	copernica_perform(conn, &req, &resp, stats);
	page = copernica_parse_page(resp.body.data, resp.body.len, true, id_path, 1);
	if (page->nitems == 1 && copernica_parse_id(page->values[0], &id))
		return psprintf(INT64_FORMAT, id);
	ereport(WARNING,
			(errmsg("cannot return the ID of the %s updated by key %s \"%s\"",
					up->res->entity_prefix, up->field, key),
			 page->nitems == 0 ?
			 errdetail("No %s has that key any more.", up->res->entity_prefix) :
			 errdetail("Several %ss have that key; Copernica updated them all.",
					   up->res->entity_prefix)));
	return NULL;
}
