/*-------------------------------------------------------------------------
 *
 * deparse.c
 *		  Which WHERE, ORDER BY and LIMIT parts go to the API, and how they are
 *		  written as query parameters.
 *
 * Pushdown must never change a result.  Copernica compares text without
 * regard to case, ignores conditions on fields it does not know, has no
 * NULL and no OR, and sorts text its own way.  So:
 *	- every pushed condition is still checked locally;
 *	- a condition is pushed only where Copernica's answer is a superset of
 *	  PostgreSQL's ("exact" where it is the same set);
 *	- ORDER BY is pushed only for id and modified, whose order is the same
 *	  in both and which are never empty;
 *	- LIMIT is pushed (see copernica_fdw.c) only when every condition is
 *	  exact and the whole ORDER BY was pushed.
 *
 * A condition's value is an expression evaluated at scan start: a constant,
 * a parameter, a stable expression, or (for parameterized joins) a value
 * from the outer side.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/transam.h"
#include "catalog/pg_collation.h"
#include "catalog/pg_operator.h"
#include "catalog/pg_type.h"
#include "miscadmin.h"
#include "nodes/nodeFuncs.h"
#include "nodes/pathnodes.h"
#include "optimizer/clauses.h"
#include "optimizer/optimizer.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/datetime.h"
#include "utils/lsyscache.h"
#include "utils/timestamp.h"
#include "pgtime.h"

#include "copernica_fdw.h"

/* How a pushed value is written, decided by the column's type. */
typedef enum ValueFormat
{
	FORMAT_INTEGER,
	FORMAT_TEXT,
	FORMAT_LIKE,
	FORMAT_DATE,
	FORMAT_TIMESTAMP,
	FORMAT_TIMESTAMPTZ,			/* against a timestamp column: the session's
								 * local time */
	FORMAT_DATE_MIDNIGHT		/* against a timestamp column: its midnight */
} ValueFormat;

/* The integer types Copernica's integer fields and IDs compare with. */
bool
copernica_is_integer_type(Oid t)
{
	return t == INT2OID || t == INT4OID || t == INT8OID;
}

static bool
is_text_type(Oid t)
{
	return t == TEXTOID || t == VARCHAROID;
}

/* Copernica operator for a PostgreSQL one, or NULL. */
static const char *
copernica_operator(const char *pgop)
{
	if (strcmp(pgop, "=") == 0)
		return "==";
	if (strcmp(pgop, "<>") == 0)
		return "!=";
	if (strcmp(pgop, "<") == 0 || strcmp(pgop, ">") == 0 ||
		strcmp(pgop, "<=") == 0 || strcmp(pgop, ">=") == 0)
		return pgop;
	if (strcmp(pgop, "~~") == 0)
		return "=~";
	return NULL;
}

/* The operator with its operands swapped: a < b is b > a. */
const char *
copernica_commuted_operator(const char *op)
{
	if (strcmp(op, "<") == 0)
		return ">";
	if (strcmp(op, ">") == 0)
		return "<";
	if (strcmp(op, "<=") == 0)
		return ">=";
	if (strcmp(op, ">=") == 0)
		return "<=";
	return op;
}

/*
 * Can expr be evaluated once at scan start?  No Vars of this relation, and
 * nothing volatile.  Vars of other relations become executor parameters in
 * a parameterized path.
 */
static bool
is_scan_start_value(Expr *expr, RelOptInfo *baserel, CopernicaPlanInfo *info)
{
	/* the real root: a PlaceHolderVar's relids are looked up in it */
	Relids		relids = pull_varnos(info->root, (Node *) expr);

	if (bms_is_member(baserel->relid, relids))
		return false;
	if (contain_volatile_functions((Node *) expr))
		return false;
	if (contain_subplans((Node *) expr))
		return false;
	return true;
}

/*
 * How a value compared with a timestamp column (Copernica's local time, as
 * it is) is sent, by its type: a timestamp as it is; a timestamptz as the
 * local time PostgreSQL reads the column in to compare them, the session's
 * time zone's; a date as its midnight, as PostgreSQL compares them.  Not
 * <> nor LIKE.  false: stays local.
 */
static bool
timestamp_value_format(Oid valtype, const char *op, int *format)
{
	if (strcmp(op, "!=") == 0 || strcmp(op, "=~") == 0)
		return false;
	if (valtype == TIMESTAMPOID)
		*format = FORMAT_TIMESTAMP;
	else if (valtype == TIMESTAMPTZOID)
		*format = FORMAT_TIMESTAMPTZ;
	else if (valtype == DATEOID)
		*format = FORMAT_DATE_MIDNIGHT;
	else
		return false;
	return true;
}

/* The column a Var stands for, in Copernica's terms. */
static bool
var_source(RelOptInfo *baserel, CopernicaPlanInfo *info, Var *var,
		   CopernicaValuePath *path, Oid *coltype)
{
	Form_pg_attribute attr;

	if (var->varno != baserel->relid || var->varlevelsup != 0 ||
		var->varattno <= 0)
		return false;
	attr = TupleDescAttr(info->tupdesc, var->varattno - 1);
	*path = copernica_column_source(info->res, info->relid, attr);
	*coltype = attr->atttypid;
	return true;
}

/*
 * Can a subprofile table's profile = value be read from the profile's own
 * listing, profile/$id/subprofiles/$collection?  That listing is paged by
 * offset (the docs promise it no keyset), which a DELETE or UPDATE of the
 * rows read would shift.  The statement's target can be this table under
 * another name (a partition, an inheritance child, a self-join in USING or
 * FROM, a modifying WITH), so only a statement that changes no existing
 * row uses it: a SELECT, or an INSERT, with no data-modifying WITH.
 */
static bool
is_profile_key(CopernicaPlanInfo *info)
{
	PlannerInfo *top = info->root;

	if (info->res->kind != COPERNICA_SUBPROFILES)
		return false;
	while (top->parent_root != NULL)
		top = top->parent_root;
	if (top->parse->hasModifyingCTE)
		return false;
	return top->parse->commandType == CMD_SELECT ||
		top->parse->commandType == CMD_INSERT;
}

/*
 * Decide whether one comparison "column op value" can go to the API, and
 * how.  Returns false when it stays local only.
 */
static bool
classify_comparison(RelOptInfo *baserel, CopernicaPlanInfo *info,
					Var *var, const char *pgop, Expr *value, Oid opno,
					Oid inputcollid, CopernicaPushedCond *cond)
{
	CopernicaValuePath path;
	Oid			coltype;
	Oid			valtype = exprType((Node *) value);
	const char *op = copernica_operator(pgop);
	const char *ftype;

	if (op == NULL || opno >= FirstNormalObjectId)
		return false;
	if (!var_source(baserel, info, var, &path, &coltype))
		return false;
	if (!is_scan_start_value(value, baserel, info))
		return false;

	cond->op = op;
	cond->value = value;
	cond->exact = false;

	if (path.source == COPERNICA_SRC_PROPERTY)
	{
		if (strcmp(path.name, "ID") == 0 &&
			copernica_is_integer_type(coltype) && copernica_is_integer_type(valtype) &&
			strcmp(op, "=~") != 0)
		{
			cond->field = "id";
			cond->format = FORMAT_INTEGER;
			cond->exact = true;
			return true;
		}
		if (strcmp(path.name, "modified") == 0 && coltype == TIMESTAMPOID &&
			timestamp_value_format(valtype, op, &cond->format))
		{
			/*
			 * Exact unless a fraction of a second turns up at run time; a
			 * timestamptz's local time depends on the session's time zone,
			 * which may change before the plan runs: never exact.
			 */
			cond->field = "modified";
			cond->exact = cond->format != FORMAT_TIMESTAMPTZ;
			return true;
		}
		if (strcmp(path.name, "profile") == 0 && is_profile_key(info) &&
			copernica_is_integer_type(coltype) && copernica_is_integer_type(valtype) &&
			strcmp(op, "==") == 0)
		{
			/* read from the profile's own listing, not sent as fields[] */
			cond->field = "profile";
			cond->format = FORMAT_INTEGER;
			cond->exact = true;
			cond->profile_key = true;
			return true;
		}
		return false;
	}
	if (path.source != COPERNICA_SRC_FIELD || info->md == NULL)
		return false;

	/* names Copernica's expression parser would split wrongly */
	if (strpbrk(path.name, "=<>!~") != NULL || path.name[0] == ' ' ||
		path.name[strlen(path.name) - 1] == ' ')
		return false;
	ftype = copernica_field_type(info->md, path.name);
	if (ftype == NULL)
		return false;
	cond->field = path.name;

	if (is_text_type(coltype) && is_text_type(valtype))
	{
		/* the comparison's own: an explicit COLLATE overrides the column's */
		Oid			collation = inputcollid;

		/* a nondeterministic collation may find more than Copernica does */
		if (OidIsValid(collation) && collation != DEFAULT_COLLATION_OID &&
			collation != C_COLLATION_OID &&
			!get_collation_isdeterministic(collation))
			return false;
		if (strcmp(ftype, "text") != 0 && strcmp(ftype, "email") != 0 &&
			strcmp(ftype, "select") != 0 && strcmp(ftype, "big") != 0 &&
			strncmp(ftype, "phone", 5) != 0)
			return false;

		/*
		 * Copernica's text equality ignores case, so its matches are a
		 * superset of ours; its ordering and inequality do not fit.
		 */
		if (strcmp(op, "==") == 0)
		{
			cond->format = FORMAT_TEXT;
			return true;
		}
		if (strcmp(op, "=~") == 0)
		{
			cond->format = FORMAT_LIKE;
			return true;
		}
		return false;
	}
	if (copernica_is_integer_type(coltype) && copernica_is_integer_type(valtype) &&
		(strcmp(ftype, "integer") == 0 || strcmp(ftype, "foreign_key") == 0) &&
		strcmp(op, "=~") != 0)
	{
		cond->format = FORMAT_INTEGER;
		cond->exact = true;
		return true;
	}
	if (coltype == DATEOID && valtype == DATEOID &&
		(strcmp(ftype, "date") == 0 || strcmp(ftype, "empty_date") == 0) &&
		strcmp(op, "!=") != 0 && strcmp(op, "=~") != 0)
	{
		/* empty dates: Copernica may or may not count them; rechecked */
		cond->format = FORMAT_DATE;
		return true;
	}
	if (coltype == TIMESTAMPOID &&
		(strcmp(ftype, "datetime") == 0 || strcmp(ftype, "empty_datetime") == 0) &&
		timestamp_value_format(valtype, op, &cond->format))
		return true;
	return false;
}

/*
 * Classify one restriction clause.  Fills cond and returns true when it can
 * be sent; *id_list is set for "id = ANY(array)", fetched ID by ID.
 */
bool
copernica_classify_clause(RelOptInfo *baserel, CopernicaPlanInfo *info,
						  Expr *clause, CopernicaPushedCond *cond)
{
	memset(cond, 0, sizeof(*cond));

	if (IsA(clause, OpExpr))
	{
		OpExpr	   *op = (OpExpr *) clause;
		Expr	   *left,
				   *right;
		char	   *opname;

		if (list_length(op->args) != 2)
			return false;
		left = linitial(op->args);
		right = lsecond(op->args);
		/* look through a binary-compatible cast, as varchar -> text */
		if (IsA(left, RelabelType))
			left = ((RelabelType *) left)->arg;
		if (IsA(right, RelabelType))
			right = ((RelabelType *) right)->arg;
		opname = get_opname(op->opno);
		if (opname == NULL)
			return false;
		if (IsA(left, Var) && ((Var *) left)->varno == baserel->relid)
			return classify_comparison(baserel, info, (Var *) left, opname,
									   lsecond(op->args), op->opno,
									   op->inputcollid, cond);
		if (IsA(right, Var) && ((Var *) right)->varno == baserel->relid &&
			strcmp(opname, "~~") != 0)
			return classify_comparison(baserel, info, (Var *) right,
									   copernica_commuted_operator(opname), linitial(op->args),
									   op->opno, op->inputcollid, cond);
		return false;
	}

	if (IsA(clause, ScalarArrayOpExpr))
	{
		ScalarArrayOpExpr *saop = (ScalarArrayOpExpr *) clause;
		Expr	   *left = linitial(saop->args);
		Expr	   *right = lsecond(saop->args);
		CopernicaValuePath path;
		Oid			coltype;
		char	   *opname = get_opname(saop->opno);

		if (!saop->useOr || opname == NULL || strcmp(opname, "=") != 0 ||
			saop->opno >= FirstNormalObjectId || !IsA(left, Var))
			return false;
		if (!var_source(baserel, info, (Var *) left, &path, &coltype))
			return false;
		if (path.source != COPERNICA_SRC_PROPERTY || strcmp(path.name, "ID") != 0 ||
			!copernica_is_integer_type(coltype) ||
			!copernica_is_integer_type(get_element_type(exprType((Node *) right))))
			return false;
		if (!is_scan_start_value(right, baserel, info))
			return false;
		cond->field = "id";
		cond->op = "==";
		cond->value = right;
		cond->format = FORMAT_INTEGER;
		cond->exact = true;
		cond->id_list = true;
		return true;
	}
	return false;
}

/* ----------------------------------------------------------------
 * At scan start: values evaluated, the query string written
 * ----------------------------------------------------------------
 */


/*
 * A timestamp as Copernica writes it, or NULL when it has no such text.
 * Copernica keeps whole seconds: with a fraction, compare with the whole
 * second below, *op widened to include it.
 */
static char *
timestamp_value(Timestamp ts, const char **op)
{
	char	   *text;
	int			year;
	bool		fraction;

	if (copernica_timestamp_text(TimestampGetDatum(ts), NULL, &text, &year,
								 &fraction) != COPERNICA_DATETIME_OK)
		return NULL;
	if (fraction)
	{
		if (strcmp(*op, "<") == 0 || strcmp(*op, "<=") == 0)
			*op = "<=";
		else if (strcmp(*op, ">") == 0 || strcmp(*op, ">=") == 0)
			*op = ">=";
		else
			return NULL;
	}
	return text;
}

/*
 * One condition's "field op value" text, or NULL when this value cannot be
 * sent as it is (then the condition stays local for this scan, which is
 * always safe, but no longer exact).  *op may be widened.
 */
static char *
format_value(int format, Datum value, Oid valtype, const char **op)
{
	switch (format)
	{
		case FORMAT_INTEGER:
			{
				Oid			outfunc;
				bool		isvarlena;

				getTypeOutputInfo(valtype, &outfunc, &isvarlena);
				return OidOutputFunctionCall(outfunc, value);
			}
		case FORMAT_TEXT:
		case FORMAT_LIKE:
			{
				char	   *s = TextDatumGetCString(value);
				size_t		len = strlen(s);

				/*
				 * A long value would make a request line that servers refuse
				 * (HTTP 414): the condition only narrows, PostgreSQL checks it
				 */
				if (len > COPERNICA_MAX_CONDITION_TEXT)
					return NULL;
				/* Copernica trims the expression: trailing blanks vanish */
				if (len > 0 && isspace((unsigned char) s[len - 1]))
					return NULL;
				/* PostgreSQL's LIKE escape has no Copernica equivalent */
				if (format == FORMAT_LIKE && strchr(s, '\\') != NULL)
					return NULL;
				return s;
			}
		case FORMAT_DATE:
			{
				char	   *text;
				int			year;

				if (copernica_date_text(value, &text, &year) != COPERNICA_DATETIME_OK)
					return NULL;
				return text;
			}
		case FORMAT_TIMESTAMP:
			return timestamp_value(DatumGetTimestamp(value), op);
		case FORMAT_TIMESTAMPTZ:
			{
				/*
				 * PostgreSQL reads the column's local time in the session's
				 * zone to compare: the value's local time there is the
				 * bound.  Near a change of UTC offset a local time reads as
				 * either offset: the bound widens to both.
				 */
				bool		lower = strcmp(*op, ">") == 0 || strcmp(*op, ">=") == 0;
				Timestamp	lo,
							hi;

				if (!copernica_local_range(DatumGetTimestampTz(value),
										   session_timezone, &lo, &hi))
					return NULL;
				if (lo != hi)
				{
					if (strcmp(*op, "==") == 0)
						return NULL;
					*op = lower ? ">=" : "<=";
				}
				return timestamp_value(lower ? lo : hi, op);
			}
		case FORMAT_DATE_MIDNIGHT:
			{
				DateADT		d = DatumGetDateADT(value);

				/* a date's midnight, where a timestamp can hold it */
				if (DATE_NOT_FINITE(d) ||
					d < DATETIME_MIN_JULIAN - POSTGRES_EPOCH_JDATE ||
					d >= TIMESTAMP_END_JULIAN - POSTGRES_EPOCH_JDATE)
					return NULL;
				return timestamp_value((Timestamp) d * USECS_PER_DAY, op);
			}
	}
	return NULL;
}

/*
 * One evaluated condition as Copernica reads it, "field==value" before URL
 * escaping: what a scan sends and what EXPLAIN shows alike.  NULL when the
 * value makes the condition unsendable; *exact becomes false when the
 * condition is sent widened, or not at all.
 */
char *
copernica_condition_text(const char *field, const char *op, int format,
						 Datum value, Oid valtype, bool *exact)
{
	const char *sent_op = op;
	char	   *text = format_value(format, value, valtype, &sent_op);

	if (text == NULL)
	{
		*exact = false;
		return NULL;
	}
	if (sent_op != op)
		*exact = false;
	return psprintf("%s%s%s", field, sent_op, text);
}

/*
 * Is a condition sent exactly whatever value it turns out to have, so that
 * a value known only at run time (a parameter, the outer query's row) can
 * be relied on at planning?  An integer's is.  A timestamp is widened when
 * it has a fraction of a second, and text is compared without regard to
 * case, so theirs depends on the value, or never holds.
 */
bool
copernica_condition_exact_for_any_value(const CopernicaPushedCond *cond)
{
	return cond->exact && !cond->id_list && !cond->profile_key &&
		cond->format == FORMAT_INTEGER;
}

/*
 * Append "&fields%5B%5D=field%3D%3Dvalue" for one evaluated condition.
 * Returns false when the value makes the condition unsendable.
 */
bool
copernica_append_condition(StringInfo query, const char *field, const char *op,
						   int format, Datum value, Oid valtype, bool *exact)
{
	char	   *text = copernica_condition_text(field, op, format, value,
												valtype, exact);

	if (text == NULL)
		return false;
	appendStringInfoString(query, "&fields%5B%5D=");
	copernica_append_url_escaped(query, text);
	return true;
}

/*
 * The IDs of an id = ANY(array) value: sorted ascending, without NULLs,
 * duplicates or IDs no entity can have.  O(n log n), and interruptible:
 * the array may hold millions.
 */
static int
compare_int64(const void *a, const void *b)
{
	int64		x = *(const int64 *) a;
	int64		y = *(const int64 *) b;

	return (x > y) - (x < y);
}

/*
 * An array value's elements and their type; nulls[i] marks a NULL.  The
 * number of elements is returned.
 */
int
copernica_array_elements(Datum array, Oid *elemtype, Datum **elems, bool **nulls)
{
	ArrayType  *arr = DatumGetArrayTypeP(array);
	int16		typlen;
	bool		typbyval;
	char		typalign;
	int			n;

	*elemtype = ARR_ELEMTYPE(arr);
	get_typlenbyvalalign(*elemtype, &typlen, &typbyval, &typalign);
	deconstruct_array(arr, *elemtype, typlen, typbyval, typalign,
					  elems, nulls, &n);
	return n;
}

int64 *
copernica_id_array(Datum array, int *nids)
{
	Oid			elemtype;
	Datum	   *elems;
	bool	   *nulls;
	int			n,
				i,
				k = 0,
				out = 0;
	int64	   *ids;

	n = copernica_array_elements(array, &elemtype, &elems, &nulls);
	ids = palloc(sizeof(int64) * Max(n, 1));
	for (i = 0; i < n; i++)
	{
		int64		v;

		if ((i & 0xFFFF) == 0)
			CHECK_FOR_INTERRUPTS();
		if (nulls[i])
			continue;
		if (elemtype == INT2OID)
			v = DatumGetInt16(elems[i]);
		else if (elemtype == INT4OID)
			v = DatumGetInt32(elems[i]);
		else
			v = DatumGetInt64(elems[i]);
		if (v > 0)				/* no entity has another ID */
			ids[k++] = v;
	}
	pfree(elems);
	pfree(nulls);
	CHECK_FOR_INTERRUPTS();
	qsort(ids, k, sizeof(int64), compare_int64);
	CHECK_FOR_INTERRUPTS();
	for (i = 0; i < k; i++)
		if (out == 0 || ids[i] != ids[out - 1])
			ids[out++] = ids[i];
	*nids = out;
	return ids;
}
