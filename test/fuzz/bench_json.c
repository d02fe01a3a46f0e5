/*-------------------------------------------------------------------------
 *
 * bench_json.c
 *		  Time copernica_parse_page on a page of 1000 profiles with 13
 *		  fields each, as Copernica sends them.  Built by run.sh --bench
 *		  without sanitizers and with the bump-allocator shim.
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

int
main(int argc, char **argv)
{
	int			iterations = argc > 1 ? atoi(argv[1]) : 500;
	StringInfoData body;
	CopernicaValuePath paths[NFIELDS + 4];
	sigjmp_buf	jb;
	int			npaths = 0;
	int			i,
				f;
	double		t0,
				elapsed,
				best = 1e9;
	char	   *copy;
	size_t		len;

	/* the page, built once, kept outside the arena */
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
				appendStringInfo(&body, "\"%s\":\"Some value \\u00e9 %d\"",
								 field_names[f], i);
		}
		appendStringInfo(&body, "},\"interests\":[\"soccer\",\"news\"],"
						 "\"database\":\"7616\",\"secret\":\"e5903b43c08g011f7a1e1f2644f618be\","
						 "\"created\":\"2013-01-06 14:19:51\",\"modified\":\"2019-02-21 13:26:21\","
						 "\"removed\":false}");
	}
	appendStringInfoString(&body, "],\"total\":1700}");
	len = body.len;
	copy = malloc(len + 1);
	memcpy(copy, body.data, len + 1);

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

	t0 = now();
	for (i = 0; i < iterations; i++)
	{
		double		t1 = now();
		CopernicaPage *page = copernica_parse_page(copy, len, true, paths, npaths);
		double		t2 = now();

		if (t2 - t1 < best)
			best = t2 - t1;
		if (page->nitems != 1000 || page->values[999 * npaths + 3] == NULL)
		{
			fprintf(stderr, "wrong parse\n");
			return 1;
		}
		if (i == 0)
			printf("page: %zu bytes, %d items, %d paths, %zu bytes allocated\n",
				   len, page->nitems, npaths, shim_arena_bytes());
		shim_arena_reset();
	}
	elapsed = now() - t0;
	printf("copernica_parse_page: %.3f ms per page on average, %.3f ms best (%d runs)\n",
		   elapsed * 1000 / iterations, best * 1000, iterations);
	return 0;
}
