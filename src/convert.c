/*-------------------------------------------------------------------------
 *
 * convert.c
 *		  Copernica's string values to and from PostgreSQL datums, and the
 *		  one writer of Copernica's dates and datetimes, for writes and for
 *		  conditions alike.
 *
 * Copernica sends every value as a JSON string and has no NULL: an empty
 * integer is "", an empty mandatory date is "0000-00-00".  Reading maps
 * those to NULL for every type but text; writing maps NULL back to "".
 * Datetimes carry no zone: they are local time in the server's 'timezone'
 * option, which only matters for timestamptz columns.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "datatype/timestamp.h"
#include "pgtime.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/datetime.h"
#include "utils/lsyscache.h"
#include "utils/numeric.h"
#include "utils/timestamp.h"

#include "copernica_fdw.h"

static CopernicaTypeKind
type_kind(Oid typid)
{
	switch (typid)
	{
		case TEXTOID:
		case VARCHAROID:
		case BPCHAROID:
		case NAMEOID:
			return COPERNICA_TYPE_TEXT;
		case DATEOID:
			return COPERNICA_TYPE_DATE;
		case TIMESTAMPOID:
			return COPERNICA_TYPE_TIMESTAMP;
		case TIMESTAMPTZOID:
			return COPERNICA_TYPE_TIMESTAMPTZ;
		case BOOLOID:
			return COPERNICA_TYPE_BOOL;
		case JSONOID:
			return COPERNICA_TYPE_JSON;
		case JSONBOID:
			return COPERNICA_TYPE_JSONB;
		case TEXTARRAYOID:
		case VARCHARARRAYOID:
			return COPERNICA_TYPE_TEXT_ARRAY;
		default:
			return COPERNICA_TYPE_OTHER;
	}
}

void
copernica_column_type_init(CopernicaColumnType *ct, Oid typid, int32 typmod)
{
	Oid			infunc;
	Oid			outfunc;
	bool		isvarlena;

	ct->typid = typid;
	ct->typmod = typmod;
	ct->kind = type_kind(typid);
	getTypeInputInfo(typid, &infunc, &ct->ioparam);
	fmgr_info(infunc, &ct->input);
	getTypeOutputInfo(typid, &outfunc, &isvarlena);
	fmgr_info(outfunc, &ct->output);
}

/* n decimal digits at s, or -1. */
static int
digits(const char *s, int n)
{
	int			v = 0;

	while (n-- > 0)
	{
		if (*s < '0' || *s > '9')
			return -1;
		v = v * 10 + (*s++ - '0');
	}
	return v;
}

/*
 * Copernica writes dates as "YYYY-MM-DD" and times as "YYYY-MM-DD hh:mm:ss".
 * Reading exactly those shapes directly skips the general date parser,
 * which is a fifth of a scan's CPU time; anything else goes to the type's
 * input function.
 */
static bool
fast_date(const char *v, struct pg_tm *tm, bool with_time)
{
	size_t		len = strlen(v);

	if (len != (with_time ? 19 : 10) || v[4] != '-' || v[7] != '-')
		return false;
	memset(tm, 0, sizeof(*tm));
	tm->tm_year = digits(v, 4);
	tm->tm_mon = digits(v + 5, 2);
	tm->tm_mday = digits(v + 8, 2);
	if (tm->tm_year < 1 || tm->tm_mon < 1 || tm->tm_mon > 12 || tm->tm_mday < 1 ||
		tm->tm_mday > day_tab[isleap(tm->tm_year)][tm->tm_mon - 1])
		return false;
	if (!with_time)
		return true;
	if (v[10] != ' ' || v[13] != ':' || v[16] != ':')
		return false;
	tm->tm_hour = digits(v + 11, 2);
	tm->tm_min = digits(v + 14, 2);
	tm->tm_sec = digits(v + 17, 2);
	return tm->tm_hour >= 0 && tm->tm_hour <= 23 &&
		tm->tm_min >= 0 && tm->tm_min <= 59 &&
		tm->tm_sec >= 0 && tm->tm_sec <= 59;
}

/*
 * Whether value, in Copernica's form "YYYY-MM-DD" (with_time: "YYYY-MM-DD
 * hh:mm:ss"), is a day and time of the calendar in Copernica's years 1 to
 * 9999: what a write of text to a date field checks (modify_values.c).
 */
bool
copernica_is_calendar_date(const char *value, bool with_time)
{
	struct pg_tm tm;

	return fast_date(value, &tm, with_time);
}

/*
 * A plain decimal, "-12.50": an optional minus, digits, and a point with
 * digits after it, 18 digits at most in all so that they fit an int64.
 * numeric_in reads such a value as the integer of its digits divided by
 * 10^(digits after the point), with those digits as its display scale:
 * int64_div_fast_to_numeric makes exactly that numeric ("0.50" keeps its
 * scale of 2, "-0" is zero).  Anything else (exponents, blanks, "NaN",
 * "1.", ".5", more digits) is left to numeric_in.
 */
static bool
fast_numeric(const char *v, Datum *result)
{
	const char *s = v;
	uint64		acc = 0;			/* wraps harmlessly past 18 digits */
	int			ndigits = 0;
	int			scale = 0;
	bool		neg = false;

	if (*s == '-')
	{
		neg = true;
		s++;
	}
	if (*s < '0' || *s > '9')
		return false;
	for (; *s >= '0' && *s <= '9'; s++, ndigits++)
		acc = acc * 10 + (*s - '0');
	if (*s == '.')
	{
		s++;
		if (*s < '0' || *s > '9')
			return false;
		for (; *s >= '0' && *s <= '9'; s++, ndigits++, scale++)
			acc = acc * 10 + (*s - '0');
	}
	if (*s != '\0' || ndigits > 18)
		return false;
	*result = NumericGetDatum(int64_div_fast_to_numeric(neg ? -(int64) acc : (int64) acc,
														scale));
	return true;
}

/* Copernica's way of saying "no date": 0000-00-00, with or without a time. */
static bool
is_zero_date(const char *value)
{
	return strncmp(value, "0000-00-00", 10) == 0;
}

static Datum
json_array_to_text_array(CopernicaColumnType *ct, const char *value)
{
	List	   *elems = copernica_json_string_array(value);
	int			n = list_length(elems);
	Datum	   *datums = palloc(sizeof(Datum) * Max(n, 1));
	bool	   *nulls = palloc(sizeof(bool) * Max(n, 1));
	int			dims[1];
	int			lbs[1] = {1};
	ListCell   *lc;
	int			i = 0;
	Oid			elemtype = get_element_type(ct->typid);
	int16		typlen;
	bool		typbyval;
	char		typalign;

	foreach(lc, elems)
	{
		char	   *s = lfirst(lc);

		nulls[i] = (s == NULL);
		datums[i] = s ? CStringGetTextDatum(s) : (Datum) 0;
		i++;
	}
	dims[0] = n;
	get_typlenbyvalalign(elemtype, &typlen, &typbyval, &typalign);
	return PointerGetDatum(construct_md_array(datums, nulls, 1, dims, lbs,
											  elemtype, typlen, typbyval, typalign));
}

/*
 * value is what the page parser produced: unescaped text for JSON strings,
 * raw JSON text for objects and arrays, NULL for absent or null.
 */
static Datum
value_to_datum(CopernicaColumnType *ct, const char *value, bool is_json,
			   const char *timezone, bool *isnull)
{
	*isnull = false;
	if (value == NULL)
	{
		*isnull = true;
		return (Datum) 0;
	}

	/* Only text keeps the empty string; elsewhere it is Copernica's NULL. */
	if (ct->kind != COPERNICA_TYPE_TEXT && value[0] == '\0')
	{
		*isnull = true;
		return (Datum) 0;
	}

	switch (ct->kind)
	{
		case COPERNICA_TYPE_DATE:
		case COPERNICA_TYPE_TIMESTAMP:
			/* Copernica's own form was tried by fast_value */
			if (is_zero_date(value))
			{
				*isnull = true;
				return (Datum) 0;
			}
			break;
		case COPERNICA_TYPE_TIMESTAMPTZ:
			if (is_zero_date(value))
			{
				*isnull = true;
				return (Datum) 0;
			}
			else
			{
				/*
				 * A zone-less local time in the timezone option's zone, read
				 * with the same zone rules that write it (pg_tzset): as
				 * input text, "UTC+2" would mean the opposite offset.
				 */
				struct pg_tm tm;
				fsec_t		fsec = 0;
				int			tz;
				TimestampTz result;
				pg_tz	   *zone = pg_tzset(timezone);

				if (zone == NULL)
					ereport(ERROR,
							(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
							 errmsg("time zone \"%s\" not recognized", timezone)));
				if (!fast_date(value, &tm, true))
				{
					Timestamp	local;

					local = DatumGetTimestamp(DirectFunctionCall3(timestamp_in,
																  CStringGetDatum(value),
																  ObjectIdGetDatum(InvalidOid),
																  Int32GetDatum(-1)));
					if (TIMESTAMP_NOT_FINITE(local))
						return TimestampTzGetDatum(local);
					if (timestamp2tm(local, NULL, &tm, &fsec, NULL, NULL) != 0)
						ereport(ERROR,
								(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
								 errmsg("timestamp out of range: \"%s\"", value)));
				}
				tz = DetermineTimeZoneOffset(&tm, zone);
				if (tm2timestamp(&tm, fsec, &tz, &result) != 0)
					ereport(ERROR,
							(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
							 errmsg("timestamp out of range: \"%s\"", value)));
				copernica_adjust_timestamp(&result, ct->typmod);
				return TimestampTzGetDatum(result);
			}
		case COPERNICA_TYPE_TEXT_ARRAY:
			if (is_json && value[0] == '[')
				return json_array_to_text_array(ct, value);
			break;
		case COPERNICA_TYPE_JSON:
		case COPERNICA_TYPE_JSONB:

			/*
			 * Objects and arrays arrive as JSON text; a scalar arrives
			 * unescaped (even one that starts with { or [), so make it a
			 * JSON string again.
			 */
			if (!is_json)
			{
				StringInfoData buf;

				initStringInfo(&buf);
				copernica_json_append_string(&buf, value);
				return InputFunctionCall(&ct->input, buf.data, ct->ioparam, ct->typmod);
			}
			break;
		default:
			break;
	}

	return InputFunctionCall(&ct->input, (char *) value, ct->ioparam, ct->typmod);
}

/*
 * The commonest values read directly, as their input functions would read
 * them: text, integers in plain digits, plain decimals, Copernica's dates
 * and datetimes.
 * Nothing here can fail; false sends the value to value_to_datum, which
 * also gives every error.
 */
static bool
fast_value(CopernicaColumnType *ct, const char *value, Datum *result)
{
	int64		i;
	struct pg_tm tm;
	Timestamp	ts;

	switch (ct->typid)
	{
		case TEXTOID:
			*result = PointerGetDatum(cstring_to_text(value));
			return true;
		case INT8OID:
			if (!copernica_parse_integer(value, &i))
				return false;
			*result = Int64GetDatum(i);
			return true;
		case INT4OID:
			if (!copernica_parse_integer(value, &i) ||
				i < PG_INT32_MIN || i > PG_INT32_MAX)
				return false;
			*result = Int32GetDatum((int32) i);
			return true;
		case DATEOID:
			if (!fast_date(value, &tm, false))
				return false;
			*result = DateADTGetDatum(date2j(tm.tm_year, tm.tm_mon, tm.tm_mday) -
									  POSTGRES_EPOCH_JDATE);
			return true;
		case TIMESTAMPOID:
			if (!fast_date(value, &tm, true) ||
				tm2timestamp(&tm, 0, NULL, &ts) != 0)
				return false;
			*result = TimestampGetDatum(ts);
			return true;
		case NUMERICOID:
			/* a typmod rounds and checks: numeric_in's business */
			return ct->typmod < 0 && fast_numeric(value, result);
		default:
			return false;
	}
}

/*
 * The same, but an input function that rejects a value quotes it in its
 * error, and the value came from Copernica: such errors are raised again
 * with any token taken out.  Text cannot fail, so it needs no guard, nor
 * do the values fast_value reads.
 */
Datum
copernica_item_value_to_datum(CopernicaColumnType *ct, const char *value,
							  bool is_json, const char *timezone, bool *isnull)
{
	MemoryContext cxt = CurrentMemoryContext;
	Datum		result;

	if (value != NULL && fast_value(ct, value, &result))
	{
		*isnull = false;
		return result;
	}
	/* Copernica's NULL, as value_to_datum has it, without a PG_TRY */
	if (value != NULL && value[0] == '\0' && ct->kind != COPERNICA_TYPE_TEXT)
	{
		*isnull = true;
		return (Datum) 0;
	}
	if (ct->kind == COPERNICA_TYPE_TEXT || value == NULL)
		return value_to_datum(ct, value, is_json, timezone, isnull);

	PG_TRY();
	{
		result = value_to_datum(ct, value, is_json, timezone, isnull);
	}
	PG_CATCH();
	{
		copernica_rethrow_redacted(cxt);
	}
	PG_END_TRY();
	return result;
}

/*
 * Copernica's text for a date, "YYYY-MM-DD": the one writer of dates, for
 * values written and for conditions sent alike.  Copernica holds the years
 * 1 to 9999 and no infinity; for anything else the answer is not OK and
 * *year says which year it was.
 */
CopernicaDatetimeProblem
copernica_date_text(Datum date, char **text, int *year)
{
	DateADT		d = DatumGetDateADT(date);
	int			y,
				m,
				day;

	*text = NULL;
	*year = 0;
	if (DATE_NOT_FINITE(d))
		return COPERNICA_DATETIME_INFINITE;
	j2date(d + POSTGRES_EPOCH_JDATE, &y, &m, &day);
	*year = y;
	if (y <= 0 || y > 9999)
		return COPERNICA_DATETIME_YEAR;
	*text = psprintf("%04d-%02d-%02d", y, m, day);
	return COPERNICA_DATETIME_OK;
}

/*
 * Copernica's text for a timestamp, "YYYY-MM-DD HH:MM:SS", as local time in
 * zone (NULL: the timestamp as it is): the one writer of datetimes.
 * Copernica keeps whole seconds, so the fraction is dropped and *fraction
 * says whether there was one.
 */
CopernicaDatetimeProblem
copernica_timestamp_text(Datum timestamp, struct pg_tz *zone, char **text,
						 int *year, bool *fraction)
{
	Timestamp	ts = DatumGetTimestamp(timestamp);
	struct pg_tm tm;
	fsec_t		fsec;
	int			tzoff;

	*text = NULL;
	*year = 0;
	*fraction = false;
	if (TIMESTAMP_NOT_FINITE(ts))
		return COPERNICA_DATETIME_INFINITE;
	if (timestamp2tm(ts, zone ? &tzoff : NULL, &tm, &fsec, NULL, zone) != 0)
		return COPERNICA_DATETIME_OUT_OF_RANGE;
	*year = tm.tm_year;
	if (tm.tm_year <= 0 || tm.tm_year > 9999)
		return COPERNICA_DATETIME_YEAR;
	*fraction = (fsec != 0);
	*text = psprintf("%04d-%02d-%02d %02d:%02d:%02d",
					 tm.tm_year, tm.tm_mon, tm.tm_mday,
					 tm.tm_hour, tm.tm_min, tm.tm_sec);
	return COPERNICA_DATETIME_OK;
}

/*
 * The local times in zone that a timestamptz bound stands for: ts plus the
 * least (*lo) and the greatest (*hi) UTC offset the zone has within two
 * days of ts, the way a local time in that zone is read as a timestamptz
 * (by convert.c in Copernica's zone, by PostgreSQL in the session's).  The
 * two are equal unless a change of offset (summer time) is near, where a
 * local time may be read as either: then a bound widens by the change, and
 * the local recheck does the rest.  false: not to be sent (infinite, or an
 * unknown zone).
 */
bool
copernica_local_range(TimestampTz ts, struct pg_tz *zone, Timestamp *lo,
					  Timestamp *hi)
{
	pg_time_t	t,
				end;
	long int	min_off = 0,
				max_off = 0;
	int			i;

	if (zone == NULL || TIMESTAMP_NOT_FINITE(ts))
		return false;
	t = ts / USECS_PER_SEC +
		((pg_time_t) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) - 2) * SECS_PER_DAY;
	end = t + 4 * SECS_PER_DAY;
	for (i = 0; i < 64; i++)
	{
		long int	before,
					after;
		int			before_dst,
					after_dst;
		pg_time_t	boundary;
		int			found = pg_next_dst_boundary(&t, &before, &before_dst, &boundary,
												 &after, &after_dst, zone);

		if (found < 0)
			return false;
		if (i == 0)
			min_off = max_off = before;
		min_off = Min(min_off, before);
		max_off = Max(max_off, before);
		if (found == 0 || boundary > end)
			break;
		min_off = Min(min_off, after);
		max_off = Max(max_off, after);
		t = boundary;
	}
	if (i == 64)
		return false;
	*lo = ts + (Timestamp) min_off * USECS_PER_SEC;
	*hi = ts + (Timestamp) max_off * USECS_PER_SEC;
	return true;
}

static char *
format_timestamp(Datum ts, pg_tz *zone)
{
	char	   *text;
	int			year;
	bool		fraction;

	switch (copernica_timestamp_text(ts, zone, &text, &year, &fraction))
	{
		case COPERNICA_DATETIME_OK:
			break;
		case COPERNICA_DATETIME_INFINITE:
			ereport(ERROR,
					(errcode(ERRCODE_FDW_INVALID_DATA_TYPE),
					 errmsg("Copernica cannot store an infinite timestamp")));
			break;
		case COPERNICA_DATETIME_OUT_OF_RANGE:
			ereport(ERROR,
					(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
					 errmsg("timestamp out of range")));
			break;
		case COPERNICA_DATETIME_YEAR:
			ereport(ERROR,
					(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
					 errmsg("Copernica cannot store the year %d", year)));
			break;
	}
	return text;
}

/*
 * The string Copernica should store for a datum.  Dates and times are
 * written in Copernica's own format whatever DateStyle says.
 */
char *
copernica_datum_to_value(CopernicaColumnType *ct, Datum value, bool isnull,
						 const char *timezone)
{
	if (isnull)
		return pstrdup("");

	switch (ct->kind)
	{
		case COPERNICA_TYPE_DATE:
			{
				char	   *text;
				int			y;
				CopernicaDatetimeProblem problem;

				problem = copernica_date_text(value, &text, &y);
				if (problem == COPERNICA_DATETIME_INFINITE)
					ereport(ERROR,
							(errcode(ERRCODE_FDW_INVALID_DATA_TYPE),
							 errmsg("Copernica cannot store an infinite date")));
				if (problem != COPERNICA_DATETIME_OK)
					ereport(ERROR,
							(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
							 errmsg("Copernica cannot store the year %d", y)));
				return text;
			}
		case COPERNICA_TYPE_TIMESTAMP:
			return format_timestamp(value, NULL);
		case COPERNICA_TYPE_TIMESTAMPTZ:
			{
				pg_tz	   *zone = pg_tzset(timezone);

				if (zone == NULL)
					ereport(ERROR,
							(errcode(ERRCODE_FDW_INVALID_ATTRIBUTE_VALUE),
							 errmsg("unknown time zone \"%s\"", timezone)));
				return format_timestamp(value, zone);
			}
		case COPERNICA_TYPE_BOOL:
			return pstrdup(DatumGetBool(value) ? "1" : "0");
		default:
			return OutputFunctionCall(&ct->output, value);
	}
}
