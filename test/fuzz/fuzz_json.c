/*-------------------------------------------------------------------------
 *
 * fuzz_json.c
 *		  libFuzzer target for src/json.c: the page parser with and without
 *		  the list envelope, the string-array parser, and a round trip
 *		  through copernica_json_append_string.
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

#include "mb/pg_wchar.h"

#include "copernica_fdw.h"
#include "shim.h"

/*
 * The backend's check_stack_depth() stops deep nesting with an ERROR; the
 * frontend parser linked here does not, so deeper inputs are skipped.
 */
#define MAX_NESTING		1000

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

static bool
too_deep(const uint8_t *data, size_t size)
{
	int			depth = 0;
	bool		in_string = false;
	size_t		i;

	for (i = 0; i < size; i++)
	{
		uint8_t		c = data[i];

		if (in_string)
		{
			if (c == '\\')
				i++;
			else if (c == '"')
				in_string = false;
		}
		else if (c == '"')
			in_string = true;
		else if (c == '[' || c == '{')
		{
			if (++depth > MAX_NESTING)
				return true;
		}
		else if (c == ']' || c == '}')
			depth--;
	}
	return false;
}

/* An ERROR is fine if it is one json.c means to raise. */
static void
check_error(void)
{
	if (shim_errcode == ERRCODE_FDW_INVALID_STRING_FORMAT ||
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
	ListCell   *lc;

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
				/* readable to its terminator, and the path was seen */
				check(strlen(row[p]) < 1024 * 1024 * 1024);
				check(page->path_seen[p]);
			}
		}
		/* the same key found the same value */
		check(row[0] == row[5]);
		check(row[1] == row[6]);
	}
	check(page->path_seen[0] == page->path_seen[5]);
	check(page->path_seen[1] == page->path_seen[6]);

	foreach(lc, page->field_names)
		check(strlen((char *) lfirst(lc)) < 1024 * 1024 * 1024);
}

static void
fuzz_page(char *body, size_t size, bool envelope)
{
	sigjmp_buf	jb;
	CopernicaPage *volatile page = NULL;

	if (sigsetjmp(jb, 0) == 0)
	{
		shim_error_jmp = &jb;
		page = copernica_parse_page(body, size, envelope, paths, NPATHS);
		shim_error_jmp = NULL;
		check_page(page, envelope);
	}
	else
	{
		shim_error_jmp = NULL;
		check_error();
	}

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
 * NULL; never an ERROR (shim_error_jmp is NULL here, so one would abort).
 */
static void
fuzz_error_message(const char *body, size_t size)
{
	char	   *msg = copernica_json_error_message(body, size);
	const char *p;

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

	if (size > 1024 * 1024 || too_deep(data, size))
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
