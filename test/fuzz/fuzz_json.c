/*-------------------------------------------------------------------------
 *
 * fuzz_json.c
 *		  libFuzzer target for src/json.c: the page parser with and without
 *		  the list envelope, the string-array parser, and a round trip
 *		  through copernica_json_append_string.
 *
 * Each page is parsed three times: with strings taken from the input,
 * de-escaped one at a time; the same in place, as the scan does
 * (copernica_parse_page_in_place, on a copy of the input, which may change
 * only where a closing quote became a NUL and an opening quote the 1-byte
 * varlena header of the string after it); and with the lexer de-escaping
 * every string (copernica_parse_page_escaped).  All must find the same
 * values, field names and errors.  The one allowed difference: a de-escaping error
 * (\u0000, a lone surrogate) in a string the page parser does not keep
 * fails only the second.
 *
 * An ERROR raised by json.c is a correct answer to a bad input; a crash, a
 * sanitizer report, an internal error (elog) or a broken invariant of the
 * parsed page is a bug and aborts.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "common/jsonapi.h"
#include "mb/pg_wchar.h"

#include "copernica_fdw.h"
#include "shim.h"

/* what a scan of profiles asks for, with duplicates in other cases */
static const CopernicaValuePath paths[] = {
	{COPERNICA_SRC_PROPERTY, "ID"},
	{COPERNICA_SRC_FIELD, "email"},
	{COPERNICA_SRC_FIELD, "age"},
	{COPERNICA_SRC_FIELDS_OBJECT, NULL},
	{COPERNICA_SRC_PROPERTY, "interests"},
	{COPERNICA_SRC_PROPERTY, "id"},
	{COPERNICA_SRC_FIELD, "EMAIL"},
};
#define NPATHS ((int) lengthof(paths))

#define check(cond) \
	do { \
		if (!(cond)) \
		{ \
			fprintf(stderr, "invariant failed at %s:%d: %s\n", \
					__FILE__, __LINE__, #cond); \
			abort(); \
		} \
	} while (0)

/* An ERROR is fine if it is one json.c means to raise. */
static void
check_error(void)
{
	if (shim_errcode == ERRCODE_FDW_INVALID_STRING_FORMAT ||
		shim_errcode == ERRCODE_FDW_ERROR ||	/* Copernica's error object */
		shim_errcode == ERRCODE_PROGRAM_LIMIT_EXCEEDED ||
		shim_errcode == ERRCODE_OUT_OF_MEMORY)
		return;
	fprintf(stderr, "unexpected error (code %d): %s (%s)\n",
			shim_errcode, shim_errmsg, shim_errdetail);
	abort();
}

static void
check_page(const CopernicaPage *page, bool envelope)
{
	int			i,
				p;

	check(page->npaths == NPATHS);
	check(page->has_envelope == envelope);
	if (envelope)
		check(page->count == page->nitems);
	else
		check(page->nitems == 1);

	for (i = 0; i < page->nitems; i++)
	{
		char	  **row = page->values + (size_t) i * NPATHS;

		for (p = 0; p < NPATHS; p++)
		{
			if (row[p] != NULL)
			{
				Datum		d;

				/* readable to its terminator, and the path was seen */
				check(strlen(row[p]) < 1024 * 1024 * 1024);
				check(page->path_seen[p]);

				/* a text datum in place is the same string, not JSON text */
				if (copernica_page_text_datum(page, row[p], &d))
				{
					check(!page->is_json[(size_t) i * NPATHS + p]);
					check(VARATT_IS_SHORT(DatumGetPointer(d)));
					check(VARDATA_ANY(DatumGetPointer(d)) == row[p]);
					check(VARSIZE_ANY_EXHDR(DatumGetPointer(d)) == strlen(row[p]));
				}
			}
		}
		/* the same key found the same value */
		check(row[0] == row[5]);
		check(row[1] == row[6]);
	}
	check(page->path_seen[0] == page->path_seen[5]);
	check(page->path_seen[1] == page->path_seen[6]);

	/* an item lacking a field is one of the page's, for one of its paths */
	check(page->lacking_item >= -1 && page->lacking_item < page->nitems);
	check(page->lacking_item == -1 ||
		  (page->lacking_path >= 0 && page->lacking_path < NPATHS));
}

/* The outcome of one parse: the page, or the error. */
typedef struct Outcome
{
	CopernicaPage *page;
	int			errcode;
	char		errmsg[1024];
	char		errdetail[1024];
} Outcome;

static bool
same_string(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

/*
 * An error that only de-escaping raises (shim.c's json_errdetail names the
 * code): the lexer checks the form of a \u escape either way.
 */
static bool
deescaping_error(const Outcome *o)
{
	int			code;

	if (o->page != NULL || o->errcode != ERRCODE_FDW_INVALID_STRING_FORMAT ||
		sscanf(o->errdetail, "JSON parse error %d", &code) != 1)
		return false;
	return code == JSON_UNICODE_CODE_POINT_ZERO ||
		code == JSON_UNICODE_HIGH_ESCAPE ||
		code == JSON_UNICODE_HIGH_SURROGATE ||
		code == JSON_UNICODE_LOW_SURROGATE;
}

typedef enum ParseMode
{
	PARSE_RAW,
	PARSE_IN_PLACE,
	PARSE_ESCAPED
} ParseMode;

static void
parse_one(Outcome *o, char *body, size_t size, bool envelope, ParseMode mode)
{
	sigjmp_buf	jb;
	CopernicaPage *volatile page = NULL;

	o->page = NULL;
	if (sigsetjmp(jb, 0) == 0)
	{
		shim_error_jmp = &jb;
		if (mode == PARSE_ESCAPED)
			page = copernica_parse_page_escaped(body, size, envelope, paths,
												NPATHS);
		else if (mode == PARSE_IN_PLACE)
			page = copernica_parse_page_in_place(body, size, envelope, paths,
												 NPATHS);
		else
			page = copernica_parse_page(body, size, envelope, paths, NPATHS);
		shim_error_jmp = NULL;
		check_page(page, envelope);
		o->page = page;
	}
	else
	{
		shim_error_jmp = NULL;
		check_error();
		o->errcode = shim_errcode;
		strcpy(o->errmsg, shim_errmsg);
		strcpy(o->errdetail, shim_errdetail);
	}
}

/* The two parses of one page agree. */
static void
check_same(const Outcome *fast, const Outcome *ref)
{
	const CopernicaPage *a = fast->page;
	const CopernicaPage *b = ref->page;
	int			i;

	if (a == NULL || b == NULL)
	{
		if (deescaping_error(ref))
			return;
		if (a != NULL || b != NULL)
			fprintf(stderr, "one parse failed: %s (%s)\n",
					a ? ref->errmsg : fast->errmsg,
					a ? ref->errdetail : fast->errdetail);
		check(a == NULL && b == NULL);
		check(fast->errcode == ref->errcode);
		check(strcmp(fast->errmsg, ref->errmsg) == 0);
		check(strcmp(fast->errdetail, ref->errdetail) == 0);
		return;
	}

	check(a->nitems == b->nitems);
	check(a->count == b->count);
	check(a->start == b->start && a->limit == b->limit);
	check(a->has_total == b->has_total && a->total == b->total);
	for (i = 0; i < NPATHS; i++)
		check(a->path_seen[i] == b->path_seen[i]);
	for (i = 0; i < a->nitems * NPATHS; i++)
	{
		check(same_string(a->values[i], b->values[i]));
		check(a->is_json[i] == b->is_json[i]);
	}
	check(a->lacking_item == b->lacking_item);
	check(a->lacking_path == b->lacking_path);
	check(a->lacking_fields == b->lacking_fields);
}

static void
fuzz_page(char *body, size_t size, bool envelope)
{
	sigjmp_buf	jb;
	Outcome		ref;
	Outcome		fast;
	Outcome		in_place;
	CopernicaPage *volatile page;
	char	   *copy;
	size_t		k;

	parse_one(&ref, body, size, envelope, PARSE_ESCAPED);
	parse_one(&fast, body, size, envelope, PARSE_RAW);
	check_same(&fast, &ref);
	page = fast.page;

	/* exactly the input's bytes again, kept until the page is compared */
	copy = malloc(size > 0 ? size : 1);
	memcpy(copy, body, size);
	parse_one(&in_place, copy, size, envelope, PARSE_IN_PLACE);
	check_same(&in_place, &ref);
	for (k = 0; k < size; k++)
		check(copy[k] == body[k] ||
			  (body[k] == '"' &&
			   (copy[k] == '\0' ||
				(VARATT_IS_1B(&copy[k]) &&
				 VARSIZE_1B(&copy[k]) == strnlen(&copy[k + 1], size - k - 1) + 1))));

	/* the scan feeds "interests" to the array parser */
	if (page != NULL)
	{
		volatile int i;

		for (i = 0; i < page->nitems; i++)
		{
			char	   *interests = page->values[(size_t) i * NPATHS + 4];

			if (interests == NULL)
				continue;
			if (sigsetjmp(jb, 0) == 0)
			{
				shim_error_jmp = &jb;
				(void) copernica_json_string_array(interests);
			}
			else
				check_error();
			shim_error_jmp = NULL;
		}
	}
	shim_arena_reset();
	free(copy);
}

static void
fuzz_string_array(const char *text)
{
	sigjmp_buf	jb;

	if (sigsetjmp(jb, 0) == 0)
	{
		List	   *list;
		ListCell   *lc;

		shim_error_jmp = &jb;
		list = copernica_json_string_array(text);
		shim_error_jmp = NULL;
		foreach(lc, list)
		{
			if (lfirst(lc) != NULL)
				check(strlen((char *) lfirst(lc)) <= strlen(text));
		}
	}
	else
	{
		shim_error_jmp = NULL;
		check_error();
	}
	shim_arena_reset();
}

/* Any valid string written as a JSON literal must read back unchanged. */
static void
fuzz_round_trip(const char *text)
{
	StringInfoData buf;
	List	   *list;

	/* no guard: an ERROR here is a bug, and aborts in errfinish */
	initStringInfo(&buf);
	appendStringInfoChar(&buf, '[');
	copernica_json_append_string(&buf, text);
	appendStringInfoChar(&buf, ']');
	list = copernica_json_string_array(buf.data);
	check(list_length(list) == 1);
	check(linitial(list) != NULL);
	check(strcmp(linitial(list), text) == 0);
	shim_arena_reset();
}

/*
 * The message of an error body: a string with no control characters, or
 * NULL; the only ERROR is for nesting deeper than COPERNICA_JSON_MAX_DEPTH.
 */
static void
fuzz_error_message(const char *body, size_t size)
{
	sigjmp_buf	jb;
	char	   *volatile msg = NULL;
	const char *p;

	if (sigsetjmp(jb, 0) == 0)
	{
		shim_error_jmp = &jb;
		msg = copernica_json_error_message(body, size);
		shim_error_jmp = NULL;
	}
	else
	{
		shim_error_jmp = NULL;
		check(shim_errcode == ERRCODE_FDW_INVALID_STRING_FORMAT &&
			  strstr(shim_errdetail, "levels deep") != NULL);
		return;
	}
	if (msg == NULL)
		return;
	for (p = msg; *p; p++)
		check((unsigned char) *p >= 0x20 && *p != 0x7f);
}

/*
 * IDs from pages and from the X-Created header: accepted exactly when the
 * text is 1 to 19 digits whose value fits, and then printed back the same
 * (leading zeros aside).
 */
static void
fuzz_parse_id(const char *text)
{
	int64		id;
	char		back[32];
	const char *digits = text;

	if (!copernica_parse_id(text, &id))
		return;
	check(*text != '\0' && strspn(text, "0123456789") == strlen(text));
	check(id >= 0);
	while (*digits == '0' && digits[1] != '\0')
		digits++;
	snprintf(back, sizeof(back), INT64_FORMAT, id);
	check(strcmp(back, digits) == 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	   *body;
	char	   *text;

	/*
	 * Any nesting: the parsers stop at COPERNICA_JSON_MAX_DEPTH, before the
	 * frontend parser linked here (which has no check_stack_depth) recurses
	 * far.
	 */
	if (size > 1024 * 1024)
		return 0;

	/* exactly the input's bytes, so that a read past the end is caught */
	body = malloc(size > 0 ? size : 1);
	memcpy(body, data, size);
	fuzz_page(body, size, true);
	fuzz_page(body, size, false);
	fuzz_error_message(body, size);
	free(body);

	text = malloc(size + 1);
	memcpy(text, data, size);
	text[size] = '\0';
	fuzz_string_array(text);
	fuzz_parse_id(text);
	if (pg_encoding_verifymbstr(PG_UTF8, text, (int) size) == (int) size)
		fuzz_round_trip(text);
	free(text);

	return 0;
}
