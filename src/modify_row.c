/*-------------------------------------------------------------------------
 *
 * modify_row.c
 *		  One row of a write as Copernica's request: the JSON body (fields,
 *		  interests checked against the database's, secret), the POST or PUT
 *		  that creates it, the PUT or DELETE that changes it, the entity ID
 *		  an UPDATE or DELETE carries; and, for RETURNING, the row as
 *		  Copernica shows it afterwards.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "executor/executor.h"
#include "mb/pg_wchar.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/fmgrprotos.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"

#include "copernica_fdw.h"
#include "modify.h"

/* Append one written value to the JSON object being built. */
static void
append_member(StringInfo buf, bool *first, const char *name, const char *value)
{
	if (!*first)
		appendStringInfoChar(buf, ',');
	*first = false;
	copernica_json_append_string(buf, name);
	appendStringInfoChar(buf, ':');
	copernica_json_append_string(buf, value);
}

/* A json or jsonb interests value Copernica would ignore or misread. */
static void
report_bad_interests(WriteColumn *col, const char *json, const char *why)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("invalid interests in column \"%s\"", col->colname),
			 errdetail("%s; the value is %s.", why,
					   copernica_redact_excerpt(json, strlen(json))),
			 errhint("Write a JSON array of interest names, or an object of interest names to 0 or 1.")));
}

/* An interest a map sets: as Copernica spells it, as written, and to what. */
typedef struct InterestFlag
{
	const char *name;
	const char *given;
	const char *flag;
} InterestFlag;

/*
 * Note that a map sets interest name (given: as written) to flag, "0" or
 * "1".  Names are matched without regard to case, so a map can name one
 * interest twice; with different flags Copernica would keep whichever came
 * last, an accident of spelling and key order, so that is an error.
 * Returns whether the interest is new to the map.
 */
static bool
note_interest_flag(List **seen, WriteColumn *col, const char *name,
				   const char *given, const char *flag)
{
	ListCell   *lc;
	InterestFlag *f;

	foreach(lc, *seen)
	{
		f = lfirst(lc);
		if (strcmp(f->name, name) != 0)
			continue;
		if (strcmp(f->flag, flag) != 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("conflicting values for interest \"%s\" in column \"%s\"",
							copernica_redact_name(name), col->colname),
					 errdetail("\"%s\" is %s and \"%s\" is %s.",
							   copernica_redact_name(f->given), f->flag,
							   copernica_redact_name(given), flag),
					 errhint("Name each interest once: interest names are matched without regard to case.")));
		return false;
	}
	f = palloc(sizeof(InterestFlag));
	f->name = name;
	f->given = given;
	f->flag = flag;
	*seen = lappend(*seen, f);
	return true;
}

/* "0" or "1" for a JSON number or boolean that says so, else NULL. */
static char *
interest_flag(const char *number, bool is_bool, bool boolean)
{
	char	   *flag;

	if (is_bool)
		return boolean ? "1" : "0";
	if (number == NULL)
		return NULL;
	flag = DatumGetCString(DirectFunctionCall1(numeric_out,
											   DirectFunctionCall3(numeric_in,
																   CStringGetDatum(number),
																   ObjectIdGetDatum(InvalidOid),
																   Int32GetDatum(-1))));
	if (strcmp(flag, "0") != 0 && strcmp(flag, "1") != 0)
		return NULL;
	return flag;
}

/*
 * A json value's map as written, before jsonb_in keeps only the last of
 * each duplicate key: a name given twice with different values is an
 * error, whichever came last.
 */
static void
check_json_map(CopernicaModifyState *st, WriteColumn *col, const char *json)
{
	List	   *seen = NIL;
	ListCell   *lc;

	foreach(lc, copernica_json_object_members(json))
	{
		CopernicaJsonMember *m = lfirst(lc);
		char	   *flag;

		flag = interest_flag(m->type == JSON_TOKEN_NUMBER ? m->scalar : NULL,
							 m->type == JSON_TOKEN_TRUE || m->type == JSON_TOKEN_FALSE,
							 m->type == JSON_TOKEN_TRUE);
		if (flag == NULL)
			report_bad_interests(col, json, "An interest's value is not 0 or 1");
		note_interest_flag(&seen, col,
						   copernica_match_interest(st->interests, m->key,
													st->opts->database),
						   m->key, flag);
	}
}

/*
 * A json or jsonb interests value as the JSON Copernica takes: a list of
 * names (the profile's interests), or an object of names to 0 or 1 (set or
 * clear just those).  Each name is checked and spelled as Copernica spells
 * it, as for text[]; anything else is an error, and so is a map that sets
 * one interest to both 0 and 1.  A map that names one twice alike sends it
 * once.
 */
static char *
json_interests(CopernicaModifyState *st, WriteColumn *col, char *json)
{
	Jsonb	   *jb = DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(json)));
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken tok;
	StringInfoData buf;
	bool		first = true;
	bool		is_object = JB_ROOT_IS_OBJECT(jb);
	List	   *seen = NIL;
	const char *name = NULL;
	const char *given = NULL;

	if (JB_ROOT_IS_SCALAR(jb))
		report_bad_interests(col, json, "It is neither an array nor an object");
	if (is_object && col->type.kind == COPERNICA_TYPE_JSON)
		check_json_map(st, col, json);
	initStringInfo(&buf);
	appendStringInfoChar(&buf, is_object ? '{' : '[');
	it = JsonbIteratorInit(&jb->root);
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		if (tok == WJB_ELEM || tok == WJB_KEY)
		{
			if (v.type != jbvString)
				report_bad_interests(col, json, "An interest name is not a string");
			given = pnstrdup(v.val.string.val, v.val.string.len);
			name = copernica_match_interest(st->interests, given,
											st->opts->database);
			if (tok == WJB_ELEM)
			{
				if (!first)
					appendStringInfoChar(&buf, ',');
				first = false;
				copernica_json_append_string(&buf, name);
			}
		}
		else if (tok == WJB_VALUE)
		{
			char	   *flag = NULL;

			if (v.type == jbvBool)
				flag = interest_flag(NULL, true, v.val.boolean);
			else if (v.type == jbvNumeric)
				flag = interest_flag(DatumGetCString(DirectFunctionCall1(numeric_out,
																		 NumericGetDatum(v.val.numeric))),
									 false, false);
			if (flag == NULL)
				report_bad_interests(col, json, "An interest's value is not 0 or 1");
			if (!note_interest_flag(&seen, col, name, given, flag))
				continue;
			if (!first)
				appendStringInfoChar(&buf, ',');
			first = false;
			copernica_json_append_string(&buf, name);
			appendStringInfo(&buf, ":%s", flag);
		}
	}
	appendStringInfoChar(&buf, is_object ? '}' : ']');
	return buf.data;
}

/*
 * A text[] or jsonb interests value as the JSON Copernica takes, every name
 * in it checked: Copernica would drop one it does not know without a word.
 */
static char *
interests_json(CopernicaModifyState *st, WriteColumn *col, Datum value, bool isnull)
{
	StringInfoData buf;

	if (isnull)
		return "[]";
	/* a column a trigger may have set: its names are read when first needed */
	if (!st->interests_known)
	{
		st->interests = copernica_database_interests(st->conn, st->opts->database);
		st->interests_known = true;
	}
	if (col->type.kind == COPERNICA_TYPE_JSON || col->type.kind == COPERNICA_TYPE_JSONB)
	{
		return json_interests(st, col, OutputFunctionCall(&col->type.output, value));
	}
	if (col->type.kind == COPERNICA_TYPE_TEXT_ARRAY)
	{
		ArrayType  *arr = DatumGetArrayTypeP(value);
		Datum	   *elems;
		bool	   *nulls;
		int			n,
					i;
		bool		first = true;

		deconstruct_array(arr, ARR_ELEMTYPE(arr), -1, false, TYPALIGN_INT,
						  &elems, &nulls, &n);
		initStringInfo(&buf);
		appendStringInfoChar(&buf, '[');
		for (i = 0; i < n; i++)
		{
			if (nulls[i])
				continue;
			if (!first)
				appendStringInfoChar(&buf, ',');
			first = false;
			copernica_json_append_string(&buf,
										 copernica_match_interest(st->interests,
																  TextDatumGetCString(elems[i]),
																  st->opts->database));
		}
		appendStringInfoChar(&buf, ']');
		return buf.data;
	}
	ereport(ERROR,
			(errcode(ERRCODE_FDW_INVALID_DATA_TYPE),
			 errmsg("column \"%s\" must be of type text[] or jsonb to write interests",
					col->colname)));
	return NULL;
}

/*
 * The JSON body for a row: {"fields":{...},"interests":[...],"secret":...},
 * except that creating a subprofile takes a flat field map.  *parent
 * receives a subprofile's profile.  In the server's encoding: see
 * row_body.
 */
static char *
build_body(CopernicaModifyState *st, TupleTableSlot *slot, char **parent)
{
	StringInfoData fields;
	char	   *interests = NULL;
	char	   *secret = NULL;
	char	   *fields_object = NULL;
	bool		first = true;
	ListCell   *lc;

	initStringInfo(&fields);
	foreach(lc, st->target_attrs)
	{
		WriteColumn *col = &st->columns[lfirst_int(lc) - 1];
		bool		isnull;
		Datum		value = slot_getattr(slot, col->attnum, &isnull);

		/* see add_trigger_columns */
		if (col->by_trigger)
		{
			if (isnull && col->role != ROLE_PARENT &&
				(st->operation == CMD_INSERT || col->unknown_field))
				continue;
			if (col->unknown_field)
				copernica_report_unmatched_column(col->colname,
												  RelationGetRelationName(st->rel),
												  st->field_names);
		}

		switch (col->role)
		{
			case ROLE_SECRET:
				if (st->operation == CMD_INSERT)
				{
					if (!isnull)
						ereport(ERROR,
								(errcode(ERRCODE_FDW_ERROR),
								 errmsg("column \"%s\" of foreign table \"%s\" cannot be set by INSERT",
										col->colname, RelationGetRelationName(st->rel)),
								 errdetail("Copernica chooses a new entity's secret; UPDATE can change it.")));
					break;
				}
				secret = copernica_datum_to_value(&col->type, value, isnull,
												  st->opts->timezone);
				break;
			case ROLE_FIELD:
				append_member(&fields, &first, col->name,
							  copernica_field_column_value(st, col, value, isnull));
				break;
			case ROLE_FIELDS_OBJECT:
				if (!isnull)
					fields_object = copernica_fields_object_value(st, col, value);
				break;
			case ROLE_INTERESTS:
				interests = interests_json(st, col, value, isnull);
				break;
			case ROLE_PARENT:
				if (isnull)
					ereport(ERROR,
							(errcode(ERRCODE_NOT_NULL_VIOLATION),
							 errmsg("column \"%s\" must not be null: a subprofile belongs to a profile",
									col->colname)));
				*parent = copernica_datum_to_value(&col->type, value, false,
												   st->opts->timezone);
				break;
			case ROLE_ID:
			case ROLE_READ_ONLY:
				if (!isnull)
					ereport(ERROR,
							(errcode(ERRCODE_FDW_ERROR),
							 errmsg("column \"%s\" of foreign table \"%s\" cannot be set",
									col->colname, RelationGetRelationName(st->rel)),
							 col->by_trigger ?
							 errdetail("A BEFORE ROW trigger set it, but Copernica sets %s itself.",
									   col->name) :
							 errdetail("Copernica sets %s itself.", col->name)));
				break;
		}
	}

	if (fields_object && fields.len > 0)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_ERROR),
				 errmsg("cannot write the \"fields\" column together with single field columns")));

	if (st->res->kind == COPERNICA_SUBPROFILES && st->operation == CMD_INSERT)
		return fields_object ? fields_object : psprintf("{%s}", fields.data);

	{
		StringInfoData body;

		initStringInfo(&body);
		appendStringInfo(&body, "{\"fields\":%s",
						 fields_object ? fields_object : psprintf("{%s}", fields.data));
		if (interests)
			appendStringInfo(&body, ",\"interests\":%s", interests);
		if (secret)
		{
			appendStringInfoString(&body, ",\"secret\":");
			copernica_json_append_string(&body, secret);
		}
		appendStringInfoChar(&body, '}');
		return body.data;
	}
}

/*
 * A column add_trigger_columns left out of the write holds what it held
 * before the BEFORE ROW triggers: an UPDATE's value as read (old, the row
 * PostgreSQL fetched whole), null for an INSERT (old is NULL).  Else a
 * trigger changed it, and the change would be dropped without a word: an
 * error instead, before the row's request, in the words of the statement
 * writing the column itself.
 */
static void
check_guarded(CopernicaModifyState *st, TupleTableSlot *slot, HeapTuple old)
{
	TupleDesc	tupdesc = RelationGetDescr(st->rel);
	ListCell   *lc;

	foreach(lc, st->guarded_attrs)
	{
		WriteColumn *col = &st->columns[lfirst_int(lc) - 1];
		Form_pg_attribute attr = TupleDescAttr(tupdesc, col->attnum - 1);
		bool		isnull;
		bool		oldnull = true;
		Datum		value = slot_getattr(slot, col->attnum, &isnull);
		Datum		oldvalue = (Datum) 0;
		const char *verb = st->operation == CMD_INSERT ? "set" : "changed";
		ListCell   *lc2;

		if (old)
			oldvalue = heap_getattr(old, col->attnum, tupdesc, &oldnull);
		if (isnull && oldnull)
			continue;
		if (!isnull && !oldnull &&
			datum_image_eq(value, oldvalue, attr->attbyval, attr->attlen))
			continue;

		if (col->role == ROLE_FIELDS_OBJECT || col->role == ROLE_FIELD)
		{
			/* the column the statement writes instead */
			foreach(lc2, st->target_attrs)
			{
				WriteColumn *other = &st->columns[lfirst_int(lc2) - 1];

				if (col->role == ROLE_FIELD && other->role == ROLE_FIELD &&
					pg_strcasecmp(other->name, col->name) == 0)
					ereport(ERROR,
							(errcode(ERRCODE_FDW_ERROR),
							 errmsg("column \"%s\" of foreign table \"%s\" cannot be %s",
									col->colname, RelationGetRelationName(st->rel), verb),
							 errdetail("A BEFORE ROW trigger %s it, but column \"%s\" writes the same Copernica field, %s.",
									   verb, other->colname, col->name)));
			}
			ereport(ERROR,
					(errcode(ERRCODE_FDW_ERROR),
					 errmsg("cannot write the \"fields\" column together with single field columns"),
					 errdetail("A BEFORE ROW trigger %s column \"%s\".",
							   verb, col->colname)));
		}
		ereport(ERROR,
				(errcode(ERRCODE_FDW_ERROR),
				 errmsg("column \"%s\" of foreign table \"%s\" cannot be %s",
						col->colname, RelationGetRelationName(st->rel), verb),
				 errdetail("A BEFORE ROW trigger %s it, but Copernica sets %s itself.",
						   verb, col->name)));
	}
}

/* The body as sent: Copernica takes UTF-8 whatever the database's encoding. */
static char *
row_body(CopernicaModifyState *st, TupleTableSlot *slot, char **parent)
{
	char	   *body = build_body(st, slot, parent);

	return pg_server_to_any(body, strlen(body), PG_UTF8);
}

/*
 * The request that creates the row in slot: a POST, or for an upsert a PUT
 * to the same path with the key as its condition, which creates only when
 * nothing matches.  An upsert's *key receives the key, and *wait_before
 * says whether a row before it in the batch may have the same key.
 */
CopernicaRequest *
copernica_modify_insert_request(CopernicaModifyState *st, TupleTableSlot *slot,
								char **key, bool *wait_before)
{
	CopernicaRequest *req = palloc0(sizeof(CopernicaRequest));
	char	   *parent = NULL;

	check_guarded(st, slot, NULL);
	req->method = "POST";
	if (st->upsert)
	{
		req->method = "PUT";
		req->query = copernica_upsert_query(st->upsert, slot, key, wait_before);
	}
	req->body = row_body(st, slot, &parent);
	if (st->res->kind == COPERNICA_SUBPROFILES)
		req->path = psprintf("profile/%s/subprofiles/%s",
							 copernica_escape_path_segment(parent), st->collection_id);
	else
		req->path = psprintf("database/%s/profiles",
							 copernica_escape_path_segment(st->opts->database));
	return req;
}

/*
 * The request that updates or removes the current row: slot holds the row
 * to write, planSlot the plan's row (the ID, and the row as read).
 */
CopernicaRequest *
copernica_modify_write_request(CopernicaModifyState *st, TupleTableSlot *slot,
							   TupleTableSlot *planSlot)
{
	CopernicaRequest *req = palloc0(sizeof(CopernicaRequest));
	char	   *parent = NULL;

	if (st->operation == CMD_UPDATE && st->guarded_attrs != NIL)
	{
		bool		isnull;
		Datum		d = ExecGetJunkAttribute(planSlot, st->wholerow_junk, &isnull);
		HeapTupleData old;

		if (isnull)
			elog(ERROR, "wholerow is NULL");
		old.t_data = DatumGetHeapTupleHeader(d);
		old.t_len = HeapTupleHeaderGetDatumLength(old.t_data);
		ItemPointerSetInvalid(&old.t_self);
		old.t_tableOid = InvalidOid;
		check_guarded(st, slot, &old);
	}

	req->method = st->operation == CMD_UPDATE ? "PUT" : "DELETE";
	req->path = psprintf("%s/%s", st->res->entity_prefix, st->current_id);
	if (st->operation == CMD_UPDATE)
		req->body = row_body(st, slot, &parent);
	req->accept_error = st->operation == CMD_DELETE;
	return req;
}

char *
copernica_modify_junk_id(CopernicaModifyState *st, TupleTableSlot *planSlot)
{
	bool		isnull;
	Datum		d = ExecGetJunkAttribute(planSlot, st->id_junk, &isnull);
	WriteColumn *col = &st->columns[st->id_attnum - 1];
	char	   *text;
	int64		id;

	if (isnull)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_ERROR),
				 errmsg("cannot change a row whose \"%s\" is null", col->colname)));
	/* it goes into the request's path: a plain integer only */
	text = OutputFunctionCall(&col->type.output, d);
	if (!copernica_parse_id(text, &id))
		ereport(ERROR,
				(errcode(ERRCODE_FDW_INVALID_ATTRIBUTE_VALUE),
				 errmsg("cannot change a row whose \"%s\" is not a Copernica ID", col->colname),
				 errdetail("The value is \"%s\"; an ID is a plain decimal integer.",
						   copernica_redact_excerpt(text, strlen(text)))));
	return psprintf(INT64_FORMAT, id);
}

/*
 * Store values and nulls into slot as its row.  The row is formed anew in
 * the slot's memory, not written into tts_values in place: an AFTER ROW
 * trigger's queue copies the slot's stored tuple (ExecFetchSlotHeapTuple),
 * which values written in place never reach.
 */
static void
store_row(TupleTableSlot *slot, Datum *values, bool *nulls)
{
	MemoryContext old = MemoryContextSwitchTo(slot->tts_mcxt);
	HeapTuple	tuple = heap_form_tuple(slot->tts_tupleDescriptor, values, nulls);

	MemoryContextSwitchTo(old);
	ExecForceStoreHeapTuple(tuple, slot, true);
}

/*
 * The slot's row as arrays to change and store again (store_row): for an
 * INSERT or UPDATE the row as written, which an AFTER ROW trigger gets
 * whole; for a DELETE, whose slot only RETURNING reads, all null.
 */
static void
slot_row(CopernicaModifyState *st, TupleTableSlot *slot, Datum **values,
		 bool **nulls)
{
	int			natts = slot->tts_tupleDescriptor->natts;

	*values = palloc0(sizeof(Datum) * natts);
	*nulls = palloc(sizeof(bool) * natts);
	if (st->operation == CMD_DELETE || TTS_EMPTY(slot))
	{
		memset(*nulls, true, sizeof(bool) * natts);
		return;
	}
	slot_getallattrs(slot);
	memcpy(*values, slot->tts_values, sizeof(Datum) * natts);
	memcpy(*nulls, slot->tts_isnull, sizeof(bool) * natts);
}

/*
 * Fill slot from the entity as Copernica now shows it.  Returns whether it
 * is removed: Copernica still shows a removed profile or subprofile by its
 * ID, with "removed" its time of removal (false otherwise) and its fields
 * empty.
 */
bool
copernica_modify_read_back(CopernicaModifyState *st, const char *id,
						   TupleTableSlot *slot)
{
	CopernicaRequest req = {0};
	CopernicaResponse resp = {0};
	CopernicaValuePath *paths;
	CopernicaPage *page;
	int			n = list_length(st->returning_attrs);
	ListCell   *lc;
	int			i = 0;
	const char *removed;
	Datum	   *values;
	bool	   *nulls;

	req.method = "GET";
	req.path = psprintf("%s/%s", st->res->entity_prefix, id);
	copernica_perform(st->conn, &req, &resp, &st->stats);

	/* the columns', and last "removed" */
	paths = palloc0(sizeof(CopernicaValuePath) * (n + 1));
	foreach(lc, st->returning_attrs)
	{
		WriteColumn *col = &st->columns[lfirst_int(lc) - 1];

		if (col->role == ROLE_FIELD)
			paths[i].source = COPERNICA_SRC_FIELD;
		else if (col->role == ROLE_FIELDS_OBJECT)
			paths[i].source = COPERNICA_SRC_FIELDS_OBJECT;
		else
			paths[i].source = COPERNICA_SRC_PROPERTY;
		paths[i].name = col->name;
		i++;
	}
	paths[n].source = COPERNICA_SRC_PROPERTY;
	paths[n].name = "removed";
	page = copernica_parse_page(resp.body.data, resp.body.len, false, paths, n + 1);

	/* the other columns stay as written: an AFTER ROW trigger sees them */
	slot_row(st, slot, &values, &nulls);
	i = 0;
	foreach(lc, st->returning_attrs)
	{
		WriteColumn *col = &st->columns[lfirst_int(lc) - 1];
		int			att = col->attnum - 1;

		values[att] = copernica_item_value_to_datum(&col->type,
													page->nitems ? page->values[i] : NULL,
													page->nitems && page->is_json[i],
													st->opts->timezone,
													&nulls[att]);
		i++;
	}
	store_row(slot, values, nulls);

	removed = page->nitems ? page->values[n] : NULL;
	return removed != NULL && removed[0] != '\0' &&
		strcmp(removed, "false") != 0 && strcmp(removed, "0") != 0;
}

/*
 * Put the new ID into the slot, which RETURNING and AFTER ROW triggers
 * read.
 */
void
copernica_modify_set_returned_id(CopernicaModifyState *st, TupleTableSlot *slot,
								 const char *id)
{
	WriteColumn *col;
	int			att;
	Datum	   *values;
	bool	   *nulls;

	if (st->id_attnum == 0)
		return;
	col = &st->columns[st->id_attnum - 1];
	att = col->attnum - 1;
	slot_row(st, slot, &values, &nulls);
	/* a header's text, never JSON */
	values[att] = copernica_item_value_to_datum(&col->type, id, false,
												st->opts->timezone,
												&nulls[att]);
	store_row(slot, values, nulls);
}
