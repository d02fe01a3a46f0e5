/*-------------------------------------------------------------------------
 *
 * shim.c
 *		  Backend services for src/json.c outside the backend: palloc and
 *		  friends on one arena freed after each input, ereport that
 *		  longjmps back to the driver at ERROR, and the encoding and list
 *		  functions json.c calls.
 *
 * The JSON parser itself is PostgreSQL's frontend build of jsonapi.c from
 * libpgcommon.a, which is the same code as the backend's except that it
 * neither checks the stack depth nor has json_errdetail; the driver bounds
 * nesting instead (the backend would raise "stack depth limit exceeded") and
 * json_errdetail is provided below.
 *
 * Each allocation is its own malloc() by default so that AddressSanitizer
 * sees every overrun; with -DSHIM_BUMP the arena is a bump allocator, closer
 * to a backend memory context in speed, for timing.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "common/jsonapi.h"
#include "mb/pg_wchar.h"
#include "nodes/pg_list.h"
#include "utils/memutils.h"

#include "shim.h"

sigjmp_buf *shim_error_jmp = NULL;
int			shim_errcode;
char		shim_errmsg[1024];
char		shim_errdetail[1024];

static int	shim_elevel;

/* An input may not make the parser allocate more than this. */
#define SHIM_ARENA_LIMIT	((size_t) 256 * 1024 * 1024)

typedef struct Chunk
{
	struct Chunk *prev;
	struct Chunk *next;
	Size		size;
	Size		pad;			/* keeps the user data 16-byte aligned */
} Chunk;

static size_t arena_bytes = 0;

static void
shim_oom(Size size)
{
	ereport(ERROR,
			(errcode(ERRCODE_OUT_OF_MEMORY),
			 errmsg("out of memory"),
			 errdetail("Failed on request of size %zu.", size)));
}

#ifndef SHIM_BUMP

static Chunk *arena_head = NULL;

static void *
arena_alloc(Size size)
{
	Chunk	   *c;

	if (!AllocSizeIsValid(size))
		elog(ERROR, "invalid memory alloc request size %zu", size);
	if (arena_bytes + size > SHIM_ARENA_LIMIT)
		shim_oom(size);
	c = malloc(sizeof(Chunk) + size);
	if (c == NULL)
		shim_oom(size);
	c->size = size;
	c->prev = NULL;
	c->next = arena_head;
	if (arena_head)
		arena_head->prev = c;
	arena_head = c;
	arena_bytes += size;
	return c + 1;
}

static void
arena_free(void *ptr)
{
	Chunk	   *c = ((Chunk *) ptr) - 1;

	if (c->prev)
		c->prev->next = c->next;
	else
		arena_head = c->next;
	if (c->next)
		c->next->prev = c->prev;
	arena_bytes -= c->size;
	free(c);
}

void
shim_arena_reset(void)
{
	while (arena_head)
	{
		Chunk	   *next = arena_head->next;

		free(arena_head);
		arena_head = next;
	}
	arena_bytes = 0;
}

#else							/* SHIM_BUMP */

#define BLOCK_SIZE	((Size) 1024 * 1024)

typedef struct Block
{
	struct Block *next;
	Size		used;
	Size		size;
	Size		pad;
} Block;

static Block *blocks = NULL;

static void *
arena_alloc(Size size)
{
	Size		need = MAXALIGN(sizeof(Chunk)) + TYPEALIGN(16, size);
	Chunk	   *c;

	if (!AllocSizeIsValid(size))
		elog(ERROR, "invalid memory alloc request size %zu", size);
	if (arena_bytes + size > SHIM_ARENA_LIMIT)
		shim_oom(size);
	if (blocks == NULL || blocks->size - blocks->used < need)
	{
		Size		bsize = Max(BLOCK_SIZE, need + sizeof(Block));
		Block	   *b = malloc(bsize);

		if (b == NULL)
			shim_oom(size);
		b->next = blocks;
		b->used = sizeof(Block);
		b->size = bsize;
		blocks = b;
	}
	c = (Chunk *) ((char *) blocks + blocks->used);
	blocks->used += need;
	c->size = size;
	arena_bytes += size;
	return c + 1;
}

static void
arena_free(void *ptr)
{
	/* like a memory context: freed with the arena */
}

void
shim_arena_reset(void)
{
	while (blocks)
	{
		Block	   *next = blocks->next;

		free(blocks);
		blocks = next;
	}
	arena_bytes = 0;
}

#endif							/* SHIM_BUMP */

size_t
shim_arena_bytes(void)
{
	return arena_bytes;
}

void *
palloc(Size size)
{
	return arena_alloc(size);
}

void *
palloc0(Size size)
{
	void	   *p = arena_alloc(size);

	memset(p, 0, size);
	return p;
}

void *
palloc_extended(Size size, int flags)
{
	void	   *p = arena_alloc(size);

	if (flags & MCXT_ALLOC_ZERO)
		memset(p, 0, size);
	return p;
}

void *
repalloc(void *pointer, Size size)
{
	Chunk	   *c = ((Chunk *) pointer) - 1;
	void	   *p = arena_alloc(size);

	memcpy(p, pointer, Min(size, c->size));
	arena_free(pointer);
	return p;
}

void
pfree(void *pointer)
{
	arena_free(pointer);
}

char *
pstrdup(const char *in)
{
	return pnstrdup(in, strlen(in));
}

char *
pnstrdup(const char *in, Size len)
{
	char	   *out;

	len = strnlen(in, len);
	out = arena_alloc(len + 1);
	memcpy(out, in, len);
	out[len] = '\0';
	return out;
}

/* ereport: only ERROR and above matter here */

bool
errstart(int elevel, const char *domain)
{
	if (elevel < ERROR)
		return false;
	shim_elevel = elevel;
	shim_errcode = ERRCODE_INTERNAL_ERROR;
	shim_errmsg[0] = '\0';
	shim_errdetail[0] = '\0';
	return true;
}

bool
errstart_cold(int elevel, const char *domain)
{
	return errstart(elevel, domain);
}

void
errfinish(const char *filename, int lineno, const char *funcname)
{
	if (shim_elevel < ERROR)
		return;
	if (shim_error_jmp == NULL)
	{
		fprintf(stderr, "ERROR outside a guarded call at %s:%d: %s (%s)\n",
				filename, lineno, shim_errmsg, shim_errdetail);
		abort();
	}
	siglongjmp(*shim_error_jmp, 1);
}

int
errcode(int sqlerrcode)
{
	shim_errcode = sqlerrcode;
	return 0;
}

/*
 * Formatting the messages for real checks that their arguments are sound.
 * The _internal variants differ only in translation, which there is none of.
 */
#define FORMAT_INTO(buf) \
	do { \
		va_list		ap; \
		va_start(ap, fmt); \
		vsnprintf((buf), sizeof(buf), fmt, ap); \
		va_end(ap); \
	} while (0)

int
errmsg(const char *fmt,...)
{
	FORMAT_INTO(shim_errmsg);
	return 0;
}

int
errmsg_internal(const char *fmt,...)
{
	FORMAT_INTO(shim_errmsg);
	return 0;
}

int
errdetail(const char *fmt,...)
{
	FORMAT_INTO(shim_errdetail);
	return 0;
}

int
errdetail_internal(const char *fmt,...)
{
	FORMAT_INTO(shim_errdetail);
	return 0;
}

int
errhint(const char *fmt,...)
{
	return 0;
}

/* encodings: the fuzzed database is UTF-8 */

int
GetDatabaseEncoding(void)
{
	return PG_UTF8;
}

char *
pg_any_to_server(const char *s, int len, int encoding)
{
	/* only called for a non-UTF-8 database, which this shim is not */
	abort();
}

/*
 * The frontend libpgcommon has no json_errdetail in PG15.  Like the backend
 * version, look at the offending token, so that a bad token pointer would
 * show up under the sanitizers.
 */
char *
json_errdetail(JsonParseErrorType error, JsonLexContext *lex)
{
	char	   *buf = palloc(128);
	int			toklen = 0;

	if (error == JSON_INVALID_TOKEN || error == JSON_EXPECTED_JSON ||
		error == JSON_EXPECTED_END || error == JSON_EXPECTED_STRING ||
		error == JSON_EXPECTED_COLON || error == JSON_EXPECTED_ARRAY_NEXT ||
		error == JSON_EXPECTED_OBJECT_NEXT)
	{
		if (lex->token_start != NULL)
		{
			char	   *tok;

			toklen = lex->token_terminator - lex->token_start;
			tok = pnstrdup(lex->token_start, toklen);
			pfree(tok);
		}
	}
	snprintf(buf, 128, "JSON parse error %d (token of %d bytes).",
			 (int) error, toklen);
	return buf;
}

/*
 * redact.c is not linked in: the fuzzer sends no token.  Copy the text, as
 * the real one does, so that a bad pointer still shows up.
 */
char *
copernica_redact(const char *s)
{
	return s ? pstrdup(s) : NULL;
}

bool
copernica_redact_needed(const char *s, size_t len)
{
	return false;
}

char *
copernica_redact_excerpt(const char *s, size_t len)
{
	return (s && len > 0) ? pnstrdup(s, len) : NULL;
}

char *
copernica_redact_message(const char *message)
{
	return message ? pstrdup(message) : NULL;
}

/* a minimal lappend with the PG15 List layout */
List *
lappend(List *list, void *datum)
{
	if (list == NIL)
	{
		list = palloc(offsetof(List, initial_elements) + 4 * sizeof(ListCell));
		list->type = T_List;
		list->length = 0;
		list->max_length = 4;
		list->elements = list->initial_elements;
	}
	else if (list->length == list->max_length)
	{
		ListCell   *cells = palloc(sizeof(ListCell) * list->max_length * 2);

		memcpy(cells, list->elements, sizeof(ListCell) * list->length);
		if (list->elements != list->initial_elements)
			pfree(list->elements);
		list->elements = cells;
		list->max_length *= 2;
	}
	list->elements[list->length++].ptr_value = datum;
	return list;
}
