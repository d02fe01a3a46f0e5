/*-------------------------------------------------------------------------
 *
 * modify_values.c
 *		  What a Copernica field can hold, checked before a write sends a
 *		  value.  Copernica refuses no value: it stores something else
 *		  instead (copernica-api-v2.md 5.3).  A select field keeps only one
 *		  of its choices, else it becomes empty; an integer field casts
 *		  (12.7 becomes 12, 1e30 the largest integer, "abc" 0); a float
 *		  field stores 0 for NaN and the infinities; a date field reads
 *		  text like PHP's strtotime ("31-02-2024" becomes 2024-03-02,
 *		  "next tuesday?" no date).  Each of those would be a write that
 *		  silently stores another value, so it is an error before the row's
 *		  request instead.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <ctype.h>
#include <math.h>

#include "utils/builtins.h"
#include "utils/fmgrprotos.h"
#include "utils/jsonb.h"

#include "copernica_fdw.h"
#include "modify.h"

/* Cut off the white space at the end of s, as Copernica trims choices. */
static void
trim_right(char *s)
{
	size_t		len = strlen(s);

	while (len > 0 && isspace((unsigned char) s[len - 1]))
		s[--len] = '\0';
}

/*
 * The choices of a select field: its "value", one choice a line, each
 * right-trimmed, the default marked by a trailing "*".  Copernica was seen
 * to split on "\r\n", its documentation shows "\n": a line ends at "\n",
 * and the "\r" before it goes with the trimming, so that no choice either
 * way is ever refused.
 */
static List *
select_choices(const char *def)
{
	List	   *choices = NIL;
	const char *p = def ? def : "";

	for (;;)
	{
		const char *end = strchr(p, '\n');
		char	   *choice = end ? pnstrdup(p, end - p) : pstrdup(p);
		size_t		len;

		trim_right(choice);
		len = strlen(choice);
		if (len > 0 && choice[len - 1] == '*')
		{
			choice[len - 1] = '\0';
			trim_right(choice);
		}
		choices = lappend(choices, choice);
		if (end == NULL)
			break;
		p = end + 1;
	}
	return choices;
}

/*
 * What col's field can hold, from the field definitions: called for each
 * field column a write sends, once per statement.
 */
void
copernica_field_limits_init(WriteColumn *col, const CopernicaMetadata *md)
{
	const char *type = copernica_field_type(md, col->name);

	col->field_kind = FIELD_ANY;
	if (type == NULL)
		return;
	if (pg_strcasecmp(type, "select") == 0)
	{
		col->field_kind = FIELD_SELECT;
		col->choices = select_choices(copernica_field_definition(md, col->name));
	}
	else if (pg_strcasecmp(type, "integer") == 0 ||
			 pg_strcasecmp(type, "foreign_key") == 0)
		col->field_kind = FIELD_INTEGER;
	else if (pg_strcasecmp(type, "float") == 0)
		col->field_kind = FIELD_FLOAT;
	else if (pg_strcasecmp(type, "date") == 0 ||
			 pg_strcasecmp(type, "empty_date") == 0)
		col->field_kind = FIELD_DATE;
	else if (pg_strcasecmp(type, "datetime") == 0 ||
			 pg_strcasecmp(type, "empty_datetime") == 0)
		col->field_kind = FIELD_DATETIME;
}

static bool
is_choice(WriteColumn *col, const char *text)
{
	ListCell   *lc;

	foreach(lc, col->choices)
		if (strcmp(lfirst(lc), text) == 0)
			return true;
	return false;
}

/*
 * A select field's value: one of its choices, exactly (Copernica compares
 * case-sensitively).  A boolean column is written as the choice that reads
 * as its value ("yes" for true over yes/no), as it was read.
 */
static char *
select_value(CopernicaModifyState *st, WriteColumn *col, Datum value, char *text)
{
	CopernicaNameList names;
	ListCell   *lc;
	const char *shown = text;

	if (is_choice(col, text))
		return text;
	if (col->type.kind == COPERNICA_TYPE_BOOL)
	{
		foreach(lc, col->choices)
		{
			bool		b;

			if (parse_bool(lfirst(lc), &b) && b == DatumGetBool(value))
				return lfirst(lc);
		}
		shown = DatumGetBool(value) ? "true" : "false";
	}

	copernica_name_list_init(&names);
	foreach(lc, col->choices)
		if (((char *) lfirst(lc))[0] != '\0')
			copernica_name_list_add(&names, lfirst(lc));
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("value \"%s\" of column \"%s\" is not a choice of Copernica select field \"%s\"",
					copernica_redact_excerpt(shown, strlen(shown)), col->colname,
					copernica_redact_name(col->name)),
			 names.count ? errdetail("The choices are: %s.", copernica_name_list_text(&names))
			 : errdetail("The field has no choices."),
			 errhint("Copernica would store an empty value instead; choices are compared case-sensitively.")));
	return NULL;
}

static void
report_not_storable(CopernicaModifyState *st, WriteColumn *col, const char *text,
					const char *what)
{
	ereport(ERROR,
			(errcode(ERRCODE_FDW_INVALID_DATA_TYPE),
			 errmsg("value \"%s\" of column \"%s\" is not %s Copernica field \"%s\" can store",
					copernica_redact_excerpt(text, strlen(text)), col->colname, what,
					copernica_redact_name(col->name)),
			 errdetail("Copernica would store another value instead.")));
}

/*
 * An integer field's value: a plain decimal integer within 64 bits.  A
 * fraction of zeros ("12.0", a numeric's scale) is dropped; any other one
 * Copernica would cut off.
 */
static char *
integer_value(CopernicaModifyState *st, WriteColumn *col, char *text)
{
	const char *p = text;
	const char *digits;
	char	   *whole;
	char	   *end;

	if (*p == '-')
		p++;
	digits = p;
	while (isdigit((unsigned char) *p))
		p++;
	whole = pnstrdup(text, p - text);
	if (p == digits)
		report_not_storable(st, col, text, "an integer");
	if (*p == '.')
	{
		const char *frac = ++p;

		while (*p == '0')
			p++;
		if (*p == '\0' && p > frac)
			p = frac + strlen(frac);
		else
			report_not_storable(st, col, text, "an integer");
	}
	if (*p != '\0')
		report_not_storable(st, col, text, "an integer");
	errno = 0;
	(void) strtoi64(whole, &end, 10);
	if (errno == ERANGE)
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("value \"%s\" of column \"%s\" is out of range for Copernica integer field \"%s\"",
						copernica_redact_excerpt(text, strlen(text)), col->colname,
						copernica_redact_name(col->name)),
				 errdetail("Copernica's integers have 64 bits; it would store the nearest one instead.")));
	return whole;
}

/*
 * A float field's value: a finite decimal number (Copernica stores 0 for
 * NaN, the infinities and anything it cannot read as a number).
 */
static void
check_float(CopernicaModifyState *st, WriteColumn *col, const char *text)
{
	const char *p;
	char	   *end;
	double		d;

	for (p = text; *p; p++)
		if (!isdigit((unsigned char) *p) && strchr("+-.eE", *p) == NULL)
			report_not_storable(st, col, text, "a finite number");
	errno = 0;
	d = strtod(text, &end);
	if (end == text || *end != '\0' || errno == ERANGE || isinf(d) || isnan(d))
		report_not_storable(st, col, text, "a finite number");
}

/* Whether s has the shape of form, where each 'd' stands for a digit. */
static bool
has_shape(const char *s, const char *form)
{
	for (; *form; form++, s++)
		if (*form == 'd' ? !isdigit((unsigned char) *s) : *s != *form)
			return false;
	return *s == '\0';
}

/*
 * A date field's value written from a column that is not a date or a
 * timestamp (whose values are always written in Copernica's form): the form
 * Copernica stores, "YYYY-MM-DD", and for a datetime field also
 * "YYYY-MM-DD hh:mm:ss" (a date alone is its midnight, which Copernica
 * stores as such), of a real day and time.  Copernica would read anything
 * else like PHP's strtotime and store another date or none.  Its "no date",
 * 0000-00-00 (as a text column reads an empty mandatory date), is written as
 * it is, like the empty value.
 */
static void
check_date(CopernicaModifyState *st, WriteColumn *col, const char *text)
{
	bool		datetime = (col->field_kind == FIELD_DATETIME);
	bool		with_time = false;
	const char *what = datetime ? "a datetime" : "a date";

	if (strcmp(text, "0000-00-00") == 0 ||
		(datetime && strcmp(text, "0000-00-00 00:00:00") == 0))
		return;
	if (datetime && has_shape(text, "dddd-dd-dd dd:dd:dd"))
		with_time = true;
	else if (!has_shape(text, "dddd-dd-dd"))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_DATETIME_FORMAT),
				 errmsg("value \"%s\" of column \"%s\" is not %s Copernica field \"%s\" can store",
						copernica_redact_excerpt(text, strlen(text)), col->colname, what,
						copernica_redact_name(col->name)),
				 errdetail("Copernica would read it as it reads any text, and store another date or none instead."),
				 datetime ?
				 errhint("Write a datetime as YYYY-MM-DD HH:MM:SS or YYYY-MM-DD, or an empty value for none.") :
				 errhint("Write a date as YYYY-MM-DD, or an empty value for none.")));
	if (!copernica_is_calendar_date(text, with_time))
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_FIELD_OVERFLOW),
				 errmsg("value \"%s\" of column \"%s\" is not %s Copernica field \"%s\" can store",
						copernica_redact_excerpt(text, strlen(text)), col->colname, what,
						copernica_redact_name(col->name)),
				 errdetail("There is no such %s in the years 1 to 9999; Copernica would store another date or none instead.",
						   with_time ? "day and time" : "day"),
				 datetime ?
				 errhint("Write a datetime as YYYY-MM-DD HH:MM:SS or YYYY-MM-DD, or an empty value for none.") :
				 errhint("Write a date as YYYY-MM-DD, or an empty value for none.")));
}

/*
 * A field's value as text (not empty), checked against what the field can
 * hold: the text to send.  value is the column's Datum, for a boolean.
 */
static char *
checked_value(CopernicaModifyState *st, WriteColumn *col, Datum value, char *text)
{
	switch (col->field_kind)
	{
		case FIELD_ANY:
			break;
		case FIELD_SELECT:
			return select_value(st, col, value, text);
		case FIELD_INTEGER:
			return integer_value(st, col, text);
		case FIELD_FLOAT:
			check_float(st, col, text);
			break;
		case FIELD_DATE:
		case FIELD_DATETIME:
			if (col->type.kind != COPERNICA_TYPE_DATE &&
				col->type.kind != COPERNICA_TYPE_TIMESTAMP &&
				col->type.kind != COPERNICA_TYPE_TIMESTAMPTZ)
				check_date(st, col, text);
			break;
	}
	return text;
}

/*
 * The text a field column sends for value: as copernica_datum_to_value
 * writes it, checked against what the field can hold.  NULL is an empty
 * value, as ever.
 */
char *
copernica_field_column_value(CopernicaModifyState *st, WriteColumn *col,
							 Datum value, bool isnull)
{
	char	   *text = copernica_datum_to_value(&col->type, value, isnull,
												st->opts->timezone);

	/* an empty value is how NULL is written: every field takes it */
	if (isnull || text[0] == '\0')
		return text;
	return checked_value(st, col, value, text);
}

/*
 * One member of the object a "fields" column writes, checked as a field
 * column over the same field would be (the column is named, and the field):
 * a string or number as its text, true and false as a boolean column writes
 * them (1 and 0, or over a select field the choice that reads as the
 * value), null as the empty value that NULL is.  An object or an array is
 * no field's value: Copernica would store its text, or nothing.
 */
static char *
object_member_value(CopernicaModifyState *st, WriteColumn *objcol,
					const char *field, JsonbValue *v)
{
	WriteColumn fc;
	Datum		value = (Datum) 0;
	char	   *text;

	memset(&fc, 0, sizeof(fc));
	fc.colname = objcol->colname;
	fc.name = (char *) field;
	fc.role = ROLE_FIELD;
	fc.type.kind = COPERNICA_TYPE_TEXT;
	switch (v->type)
	{
		case jbvNull:
			return "";
		case jbvString:
			text = pnstrdup(v->val.string.val, v->val.string.len);
			break;
		case jbvNumeric:
			text = DatumGetCString(DirectFunctionCall1(numeric_out,
													   NumericGetDatum(v->val.numeric)));
			break;
		case jbvBool:
			fc.type.kind = COPERNICA_TYPE_BOOL;
			value = BoolGetDatum(v->val.boolean);
			text = v->val.boolean ? "1" : "0";
			break;
		default:
			ereport(ERROR,
					(errcode(ERRCODE_FDW_INVALID_DATA_TYPE),
					 errmsg("value of Copernica field \"%s\" in column \"%s\" is a JSON %s",
							copernica_redact_name(field), objcol->colname,
							v->type == jbvBinary &&
							JsonContainerIsObject(v->val.binary.data) ? "object" : "array"),
					 errdetail("A field holds one value: write a string, a number, a boolean or null.")));
			return NULL;
	}
	if (text[0] == '\0')
		return text;
	copernica_field_limits_init(&fc, st->field_md);
	/* no date: the error shows the value as given */
	if (v->type == jbvBool &&
		(fc.field_kind == FIELD_DATE || fc.field_kind == FIELD_DATETIME))
		text = v->val.boolean ? "true" : "false";
	return checked_value(st, &fc, value, text);
}

/* The field a key of the "fields" object names, as Copernica spells it. */
static const char *
object_field(CopernicaModifyState *st, WriteColumn *col, const char *key)
{
	CopernicaNameList names;
	ListCell   *lc;

	foreach(lc, st->field_names)
		if (pg_strcasecmp(lfirst(lc), key) == 0)
			return lfirst(lc);

	copernica_name_list_init(&names);
	foreach(lc, st->field_names)
		copernica_name_list_add(&names, lfirst(lc));
	ereport(ERROR,
			(errcode(ERRCODE_FDW_COLUMN_NAME_NOT_FOUND),
			 errmsg("key \"%s\" of column \"%s\" matches no Copernica field",
					copernica_redact_name(key), col->colname),
			 names.count ? errdetail("The fields are: %s.", copernica_name_list_text(&names))
			 : errdetail("There are no fields."),
			 errhint("Copernica would ignore it, and the value would not be written.")));
	return NULL;
}

/*
 * The object a json or jsonb "fields" column writes, as JSON: each member's
 * value checked as a field column's would be, before the row's request, so
 * that one bad value writes nothing of the row.  Keys are matched to the
 * fields case-insensitively, as columns are; two keys for one field (which
 * jsonb keeps apart when they differ in case) are an error, since Copernica
 * would store one of them.  Of a json value's keys given twice exactly, the
 * last counts, as in jsonb and in Copernica.
 */
char *
copernica_fields_object_value(CopernicaModifyState *st, WriteColumn *col, Datum value)
{
	Jsonb	   *jb;
	JsonbIterator *it;
	JsonbIteratorToken tok;
	JsonbValue	v;
	StringInfoData buf;
	List	   *seen = NIL;
	const char *field = NULL;

	if (col->type.kind == COPERNICA_TYPE_JSONB)
		jb = DatumGetJsonbP(value);
	else
		jb = DatumGetJsonbP(DirectFunctionCall1(jsonb_in,
												CStringGetDatum(OutputFunctionCall(&col->type.output,
																				   value))));
	if (!JB_ROOT_IS_OBJECT(jb))
		ereport(ERROR,
				(errcode(ERRCODE_FDW_INVALID_DATA_TYPE),
				 errmsg("column \"%s\" must hold a JSON object of Copernica fields and their values",
						col->colname),
				 errdetail("It holds a JSON %s.",
						   JB_ROOT_IS_SCALAR(jb) ? "scalar" : "array")));

	initStringInfo(&buf);
	appendStringInfoChar(&buf, '{');
	it = JsonbIteratorInit(&jb->root);
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		if (tok == WJB_KEY)
		{
			char	   *key = pnstrdup(v.val.string.val, v.val.string.len);

			field = object_field(st, col, key);
			if (list_member_ptr(seen, field))
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("column \"%s\" gives Copernica field \"%s\" more than one value",
								col->colname, copernica_redact_name(field)),
						 errdetail("Its keys differ only in case; Copernica would store one of the values.")));
			seen = lappend(seen, (void *) field);
		}
		else if (tok == WJB_VALUE)
		{
			if (buf.len > 1)
				appendStringInfoChar(&buf, ',');
			copernica_json_append_string(&buf, field);
			appendStringInfoChar(&buf, ':');
			copernica_json_append_string(&buf,
										 object_member_value(st, col, field, &v));
		}
	}
	appendStringInfoChar(&buf, '}');
	return buf.data;
}
