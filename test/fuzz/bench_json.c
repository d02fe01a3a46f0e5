/*-------------------------------------------------------------------------
 *
 * bench_json.c
 *		  Time copernica_parse_page on a page of 1000 profiles with 13
 *		  fields each, as Copernica sends them.  Built by run.sh --bench
 *		  without sanitizers and with the bump-allocator shim.
 *
 * Two pages: one whose non-ASCII letters are \u-escaped (PHP's json_encode
 * does that by default) and one with them as UTF-8 (as the emulator sends
 * them).  Each is parsed as the scan does (in place), and, for comparison,
 * copying each kept string (copernica_parse_page) and with the lexer
 * de-escaping every string (copernica_parse_page_escaped, which is how
 * pages were parsed before); the runs alternate, so that a busy machine
 * slows all alike.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "copernica_fdw.h"
#include "shim.h"

static const char *const field_names[] = {
	"firstname", "lastname", "email", "phone", "street", "zipcode", "city",
	"country", "birthdate", "age", "score", "newsletter", "notes"
};
#define NFIELDS ((int) lengthof(field_names))

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

typedef CopernicaPage *(*ParseFn) (char *body, size_t len, bool envelope,
								   const CopernicaValuePath *paths, int npaths);

/* The page: 1000 profiles; non-ASCII letters \u-escaped or as UTF-8. */
static char *
make_page(bool escaped, size_t *len)
{
	StringInfoData body;
	char	   *copy;
	int			i,
				f;

	initStringInfo(&body);
	appendStringInfoString(&body, "{\"start\":0,\"limit\":1000,\"count\":1000,\"data\":[");
	for (i = 0; i < 1000; i++)
	{
		if (i > 0)
			appendStringInfoChar(&body, ',');
		appendStringInfo(&body, "{\"ID\":\"%d\",\"fields\":{", 100000 + i);
		for (f = 0; f < NFIELDS; f++)
		{
			if (f > 0)
				appendStringInfoChar(&body, ',');
			if (f == 2)
				appendStringInfo(&body, "\"email\":\"user%d@example.com\"", i);
			else if (f == 8)
				appendStringInfoString(&body, "\"birthdate\":\"1980-04-01\"");
			else if (f == 9 || f == 10)
				appendStringInfo(&body, "\"%s\":\"%d\"", field_names[f], i % 90);
			else
				appendStringInfo(&body, "\"%s\":\"Some value %s %d\"",
								 field_names[f], escaped ? "\\u00e9" : "\xc3\xa9", i);
		}
		appendStringInfo(&body, "},\"interests\":[\"soccer\",\"news\"],"
						 "\"database\":\"7616\",\"secret\":\"e5903b43c08g011f7a1e1f2644f618be\","
						 "\"created\":\"2013-01-06 14:19:51\",\"modified\":\"2019-02-21 13:26:21\","
						 "\"removed\":false}");
	}
	appendStringInfoString(&body, "],\"total\":1700}");
	*len = body.len;
	copy = malloc(body.len + 1);
	memcpy(copy, body.data, body.len + 1);
	return copy;
}

/* One timed parse; its time in seconds. */
static double
time_parse(ParseFn parse, char *page, size_t len,
		   const CopernicaValuePath *paths, int npaths)
{
	double		t1 = now();
	CopernicaPage *result = parse(page, len, true, paths, npaths);
	double		t2 = now();

	if (result->nitems != 1000 || result->values[999 * npaths + 3] == NULL ||
		strncmp(result->values[5], "Some value ", 11) != 0)
	{
		fprintf(stderr, "wrong parse\n");
		exit(1);
	}
	shim_arena_reset();
	return t2 - t1;
}

int
main(int argc, char **argv)
{
	int			iterations = argc > 1 ? atoi(argv[1]) : 500;
	CopernicaValuePath paths[NFIELDS + 4];
	sigjmp_buf	jb;
	int			npaths = 0;
	int			i,
				f,
				k;
	static const struct
	{
		const char *label;
		bool		escaped;
		ParseFn		parse;
	}			kinds[] = {
		{"\\u-escaped, in place, as the scan does", true, copernica_parse_page_in_place},
		{"\\u-escaped, copying kept strings", true, copernica_parse_page},
		{"\\u-escaped, de-escaping every string", true, copernica_parse_page_escaped},
		{"UTF-8, in place, as the scan does", false, copernica_parse_page_in_place},
		{"UTF-8, copying kept strings", false, copernica_parse_page},
		{"UTF-8, de-escaping every string", false, copernica_parse_page_escaped},
	};
	char	   *pages[2];
	size_t		lens[2];
	char	   *scratch;
	double		total[lengthof(kinds)] = {0};
	double		best[lengthof(kinds)];

	pages[0] = make_page(true, &lens[0]);
	pages[1] = make_page(false, &lens[1]);
	scratch = malloc(Max(lens[0], lens[1]) + 1);

	paths[npaths].source = COPERNICA_SRC_PROPERTY;
	paths[npaths++].name = "id";
	for (f = 0; f < NFIELDS; f++)
	{
		paths[npaths].source = COPERNICA_SRC_FIELD;
		paths[npaths++].name = field_names[f];
	}
	paths[npaths].source = COPERNICA_SRC_PROPERTY;
	paths[npaths++].name = "interests";
	paths[npaths].source = COPERNICA_SRC_PROPERTY;
	paths[npaths++].name = "Modified";
	shim_arena_reset();

	if (sigsetjmp(jb, 0) != 0)
	{
		fprintf(stderr, "error: %s (%s)\n", shim_errmsg, shim_errdetail);
		return 1;
	}
	shim_error_jmp = &jb;

	for (k = 0; k < lengthof(kinds); k++)
		best[k] = 1e9;
	for (i = 0; i < iterations; i++)
	{
		for (k = 0; k < lengthof(kinds); k++)
		{
			int			p = kinds[k].escaped ? 0 : 1;
			double		t;

			/* a fresh copy each time: parsing in place changes the page */
			memcpy(scratch, pages[p], lens[p] + 1);
			t = time_parse(kinds[k].parse, scratch, lens[p], paths, npaths);

			total[k] += t;
			if (t < best[k])
				best[k] = t;
		}
	}
	printf("pages of 1000 profiles, %d paths, %zu and %zu bytes; %d runs each, alternating\n",
		   npaths, lens[0], lens[1], iterations);
	for (k = 0; k < lengthof(kinds); k++)
		printf("  %-40s %.3f ms per page on average, %.3f ms best\n",
			   kinds[k].label, total[k] * 1000 / iterations, best[k] * 1000);
	return 0;
}
