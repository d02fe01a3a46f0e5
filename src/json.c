/*-------------------------------------------------------------------------
 *
 * json.c
 *		  The page parser: Copernica's listings read on PostgreSQL's own JSON
 *		  parser (common/jsonapi.h), and the one integer reader
 *		  (copernica_parse_integer).  json_values.c has the small readers
 *		  and the writer.
 *
 * A page is parsed in one pass with semantic-action callbacks, picking out
 * only the values the scan asked for.  That avoids building a jsonb (three
 * times slower and far bigger) for values we would mostly throw away.
 *
 * For the same reason the lexer does not de-escape strings: it would copy
 * every string of the page, one character at a time on PostgreSQL 15.  It
 * only validates them, and the callbacks take the few strings they keep
 * from the input (string_token).  So \u0000, a lone surrogate or a \u
 * escape with no equivalent in the server encoding is an error only in a
 * string the scan reads, as it would be in a json value, not in any
 * string of the page.
 *
 * Everything is allocated in CurrentMemoryContext; the caller parses each
 * page in a context of its own and resets it afterwards.  Parsed in place
 * (copernica_parse_page_in_place), the strings kept are not copied at all:
 * they end in the body itself, which then lives as long as the page, and
 * the opening quote of one shorter than 127 bytes becomes a 1-byte varlena
 * header, so that it is a text datum as well (copernica_page_text_datum).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "common/int.h"
#include "common/jsonapi.h"
#include "mb/pg_wchar.h"
#include "utils/memutils.h"

#include "copernica_fdw.h"

/*
 * Key positions remembered per object level.  Items of one page share the
 * order of their keys, so the key at position n is nearly always the one we
 * saw at position n in the previous item and costs one strcmp.  Objects with
 * more keys than this are unusual; their later keys go through the hash.
 */
#define MAX_CACHED_KEYS		256

/* The envelope keys we read; anything else ("nextid", ...) is ignored. */
typedef enum EnvelopeKey
{
	ENV_OTHER = 0,
	ENV_START,
	ENV_LIMIT,
	ENV_COUNT,
	ENV_TOTAL,
	ENV_DATA
} EnvelopeKey;

static const char *const envelope_key_names[] = {
	NULL, "start", "limit", "count", "total", "data"
};

/*
 * One key name the paths ask for, with every path that asks for it.  Names
 * are kept as given; hashing and comparing fold ASCII letters on the fly.
 */
typedef struct KeyTargets
{
	const char *name;
	uint32		hash;
	bool		in_fields;		/* a key of "fields" rather than of the item */
	bool		is_fields;		/* this is the item's "fields" key itself */
	int			ntargets;
	int		   *targets;		/* indexes into the paths */
} KeyTargets;

/* Open-addressing hash of the wanted names, built once per page. */
typedef struct KeyTable
{
	KeyTargets *entries;
	int			nentries;
	int		   *slots;			/* entry index or -1; size is a power of 2 */
	int			mask;
} KeyTable;

/* What one key position of an object resolved to last time. */
typedef struct CachedKey
{
	const char *name;			/* NULL where nothing is remembered */
	const KeyTargets *hit;		/* NULL for "nobody wants this key" */
	int			len;			/* name's length, -1 if it has '"' or '\\' */
} CachedKey;

/* What key position n of an object resolved to last time. */
typedef struct KeyCache
{
	int			next;			/* position of the next key in this object */
	int			size;
	CachedKey  *keys;
} KeyCache;

/* The value of one key being read, for the paths that want it. */
typedef struct ValueCapture
{
	const KeyTargets *targets;	/* NULL when no path wants the current key */
	const char *start;		/* where the value's JSON text starts */
	JsonTokenType type;			/* and its first token */
	char	   *scalar;			/* a string's text, once seen */
} ValueCapture;

typedef struct PageParseState
{
	JsonLexContext *lex;
	bool		raw;			/* lex gives no strings: take them from input */
	bool		in_place;		/* and end kept ones in place, not copied */
	JsonLexContext *unescape;	/* de-escapes one string; made on first use */
	CopernicaPage *page;
	KeyTable	keys;
	bool		envelope;
	int			item_level;		/* lex_level of an item's own '{' */

	/*
	 * The next backslash in the input at or after backslash_from
	 * (has_backslash), or the input's end when there is none.
	 */
	const char *backslash_from;
	const char *backslash_at;

	/* the envelope */
	EnvelopeKey env_key;		/* envelope key whose value is being read */
	const char *env_start;		/* where its value starts */
	JsonTokenType env_type;		/* and the value's first token */
	char	   *env_string;		/* its value if a string */
	uint32		env_seen;		/* bit per EnvelopeKey: the key appeared */
	bool		has_start;
	bool		has_limit;
	bool		has_count;
	bool		in_data;

	/* the items */
	int			capacity;		/* items the values array has room for */
	bool		in_item;
	bool		in_fields;		/* inside the current item's "fields" */
	char	  **row;			/* the current item's values */
	bool	   *row_is_json;	/* and which are objects or arrays */
	KeyCache	item_keys;
	KeyCache	field_keys;
	ValueCapture item_value;
	ValueCapture field_value;
	const CopernicaValuePath *paths;
	bool	   *item_seen;		/* per path: present in the current item */
	bool		item_has_fields;	/* it has a "fields" object */
} PageParseState;

#define unexpected_answer(...) \
	ereport(ERROR, \
			(errcode(ERRCODE_FDW_INVALID_STRING_FORMAT), \
			 errmsg("unexpected answer from Copernica"), \
			 errdetail(__VA_ARGS__)))


/*
 * Case-insensitive for ASCII letters only.  Copernica's field names are
 * matched without regard to case; folding bytes above 0x7F one at a time
 * would corrupt multibyte characters, and full Unicode case folding is not
 * worth its cost for field names.
 */
static inline unsigned char
fold_ascii(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') ? c + ('a' - 'A') : c;
}

static uint32
key_hash(const char *name, bool in_fields)
{
	/* FNV-1a; the two kinds of key start from different seeds */
	uint32		h = in_fields ? 0x9e3779b9 : 2166136261u;
	const unsigned char *p;

	for (p = (const unsigned char *) name; *p; p++)
	{
		h ^= fold_ascii(*p);
		h *= 16777619u;
	}
	return h;
}

static bool
key_equal(const char *a, const char *b)
{
	const unsigned char *p = (const unsigned char *) a;
	const unsigned char *q = (const unsigned char *) b;

	while (*p && fold_ascii(*p) == fold_ascii(*q))
	{
		p++;
		q++;
	}
	return fold_ascii(*p) == fold_ascii(*q);
}

static KeyTargets *
key_table_find(const KeyTable *kt, const char *name, bool in_fields,
			   uint32 hash)
{
	int			i;

	for (i = hash & kt->mask; kt->slots[i] >= 0; i = (i + 1) & kt->mask)
	{
		KeyTargets *e = &kt->entries[kt->slots[i]];

		if (e->hash == hash && e->in_fields == in_fields &&
			key_equal(e->name, name))
			return e;
	}
	return NULL;
}

static KeyTargets *
key_table_add(KeyTable *kt, const char *name, bool in_fields)
{
	uint32		hash = key_hash(name, in_fields);
	KeyTargets *e = key_table_find(kt, name, in_fields, hash);
	int			i;

	if (e != NULL)
		return e;

	e = &kt->entries[kt->nentries];
	e->name = name;
	e->hash = hash;
	e->in_fields = in_fields;
	e->is_fields = false;
	e->ntargets = 0;
	e->targets = NULL;

	for (i = hash & kt->mask; kt->slots[i] >= 0; i = (i + 1) & kt->mask)
		;
	kt->slots[i] = kt->nentries++;
	return e;
}

/*
 * Index the paths by key name.  The item's "fields" key always has an entry,
 * wanted or not, because it is how we know where field keys live.
 */
static void
key_table_build(KeyTable *kt, const CopernicaValuePath *paths, int npaths)
{
	KeyTargets **path_entry;
	KeyTargets *fields;
	int			size = 8;
	int			p;

	while (size < 2 * (npaths + 1))
		size *= 2;
	kt->entries = palloc(sizeof(KeyTargets) * (npaths + 1));
	kt->nentries = 0;
	kt->slots = palloc(sizeof(int) * size);
	memset(kt->slots, -1, sizeof(int) * size);
	kt->mask = size - 1;

	fields = key_table_add(kt, "fields", false);
	fields->is_fields = true;

	/* first count the paths per name, then hand out the target arrays */
	path_entry = palloc(sizeof(KeyTargets *) * (npaths + 1));
	for (p = 0; p < npaths; p++)
	{
		const char *name = paths[p].name;
		bool		in_fields = false;

		switch (paths[p].source)
		{
			case COPERNICA_SRC_PROPERTY:
				break;
			case COPERNICA_SRC_FIELD:
				in_fields = true;
				break;
			case COPERNICA_SRC_FIELDS_OBJECT:
				name = "fields";
				break;
		}
		if (name == NULL)
			elog(ERROR, "copernica_fdw: value path %d has no name", p);

		path_entry[p] = key_table_add(kt, name, in_fields);
		path_entry[p]->ntargets++;
	}

	for (p = 0; p < kt->nentries; p++)
	{
		KeyTargets *e = &kt->entries[p];

		if (e->ntargets > 0)
			e->targets = palloc(sizeof(int) * e->ntargets);
		e->ntargets = 0;
	}
	for (p = 0; p < npaths; p++)
		path_entry[p]->targets[path_entry[p]->ntargets++] = p;
	pfree(path_entry);
}

/* Which paths want key fname, the key at the next position of its object. */
static const KeyTargets *
lookup_key(PageParseState *st, KeyCache *cache, const char *fname,
		   bool in_fields)
{
	int			pos = cache->next++;
	const KeyTargets *hit;

	if (pos < cache->size && cache->keys[pos].name != NULL &&
		strcmp(cache->keys[pos].name, fname) == 0)
		return cache->keys[pos].hit;

	hit = key_table_find(&st->keys, fname, in_fields,
						 key_hash(fname, in_fields));

	if (pos < MAX_CACHED_KEYS)
	{
		if (pos >= cache->size)
		{
			int			newsize = Max(16, cache->size * 2);

			while (newsize <= pos)
				newsize *= 2;
			newsize = Min(newsize, MAX_CACHED_KEYS);
			if (cache->size == 0)
				cache->keys = palloc0(sizeof(CachedKey) * newsize);
			else
			{
				cache->keys = repalloc(cache->keys, sizeof(CachedKey) * newsize);
				memset(cache->keys + cache->size, 0,
					   sizeof(CachedKey) * (newsize - cache->size));
			}
			cache->size = newsize;
		}
		/* fname is palloc'd for this key and outlives the parse */
		cache->keys[pos].name = fname;
		cache->keys[pos].hit = hit;
		cache->keys[pos].len = strpbrk(fname, "\"\\") ? -1 : (int) strlen(fname);
	}
	return hit;
}

const char *
copernica_json_token_name(JsonTokenType type)
{
	switch (type)
	{
		case JSON_TOKEN_STRING:
			return "string";
		case JSON_TOKEN_NUMBER:
			return "number";
		case JSON_TOKEN_OBJECT_START:
			return "object";
		case JSON_TOKEN_ARRAY_START:
			return "array";
		case JSON_TOKEN_TRUE:
		case JSON_TOKEN_FALSE:
			return "boolean";
		case JSON_TOKEN_NULL:
			return "null";
		default:
			return "value";
	}
}

/*
 * Parse a whole decimal integer.  Unlike strtoll this accepts no spaces, no
 * plus sign and no trailing text, so "12abc" or "1.5" is not taken for a
 * number.
 */
bool
copernica_parse_integer(const char *s, int64 *result)
{
	bool		neg = false;
	uint64		acc = 0;

	if (*s == '-')
	{
		neg = true;
		s++;
	}
	if (*s < '0' || *s > '9')
		return false;
	for (; *s >= '0' && *s <= '9'; s++)
	{
		if (pg_mul_u64_overflow(acc, 10, &acc) ||
			pg_add_u64_overflow(acc, (uint64) (*s - '0'), &acc))
			return false;
	}
	if (*s != '\0')
		return false;

	if (neg)
	{
		if (acc > (uint64) PG_INT64_MAX + 1)
			return false;
		/* negate unsigned: -(int64) acc would overflow for INT64_MIN */
		*result = (int64) (~acc + 1);
	}
	else
	{
		if (acc > (uint64) PG_INT64_MAX)
			return false;
		*result = (int64) acc;
	}
	return true;
}

/*
 * Raise the parser's error, with where in the body it happened.  The
 * parser's words quote the offending JSON token, which may be (the start
 * of) an echoed access token: then they are not used.
 */
void
copernica_report_json_error(JsonParseErrorType rc, JsonLexContext *lex)
{
	const char *what;

	if (lex->token_start != NULL && lex->token_terminator > lex->token_start &&
		copernica_redact_needed(lex->token_start,
								lex->token_terminator - lex->token_start))
		what = "A JSON token is invalid (not shown: it may hold the access token).";
	else
		what = copernica_redact(json_errdetail(rc, lex));

	ereport(ERROR,
			(errcode(ERRCODE_FDW_INVALID_STRING_FORMAT),
			 errmsg("invalid JSON in Copernica's answer"),
			 errdetail("%s It was found near byte %d of %d.",
					   what,
					   (int) (lex->token_terminator - lex->input),
					   (int) lex->input_length)));
}

/*
 * Is there a backslash in [from, to)?  The answer for the next string
 * comes from the last search as long as the strings asked about move
 * forward, so the whole input is searched about once, not every string.
 */
static inline bool
has_backslash(PageParseState *st, const char *from, const char *to)
{
	if (from < st->backslash_from || st->backslash_at < from)
	{
		const char *end = st->lex->input + st->lex->input_length;
		const char *p = memchr(from, '\\', end - from);

		st->backslash_from = from;
		st->backslash_at = p ? p : end;
	}
	return st->backslash_at < to;
}

/*
 * The text of the string token from start (its opening quote) to end (just
 * past its closing quote), which the lexer has validated.  Without a
 * backslash it is the bytes between the quotes, which body_to_server has
 * verified and brought into the server encoding: what the lexer would have
 * copied.  With one, PostgreSQL's lexer de-escapes it, lexing this token
 * alone, so that \u escapes, surrogate pairs and their errors (with the
 * same position in the body) stay its own.
 */
static char *
string_token(PageParseState *st, const char *start, const char *end,
			 bool in_place)
{
	JsonLexContext *lex;
	JsonParseErrorType rc;
	size_t		len = end - start - 2;

	if (!has_backslash(st, start + 1, end - 1))
	{
		if (!in_place)
			return pnstrdup(start + 1, len);

		/*
		 * The lexer is past the closing quote and never looks back, so the
		 * string can end there: no copy.  Nor does anything look back at
		 * its opening quote (key_bounds and lookup_raw_key look at a key's
		 * quotes and at the byte before a key, never a value's), which
		 * becomes the header of a short varlena of the same bytes when the
		 * string fits one.  The header byte is odd: never a quote or a
		 * backslash (has_backslash).
		 */
		((char *) end)[-1] = '\0';
		if (len + VARHDRSZ_SHORT <= VARATT_SHORT_MAX)
			SET_VARSIZE_1B((char *) start, len + VARHDRSZ_SHORT);
		return (char *) start + 1;
	}

	if (st->unescape == NULL)
		st->unescape = copernica_json_lexer(st->lex->input,
											st->lex->input_length,
											st->lex->input_encoding);
	lex = st->unescape;
	copernica_json_lexer_seek(lex, start);
	rc = json_lex(lex);
	if (rc != JSON_SUCCESS)
		copernica_report_json_error(rc, lex);
	if (lex->token_type != JSON_TOKEN_STRING || lex->token_terminator != end)
		elog(ERROR, "copernica_fdw: string at byte %d lexed differently alone",
			 (int) (start - lex->input));
	return pnstrdup(lex->strval->data, lex->strval->len);
}

/*
 * Where the key of the object_field_start callback running is in the input,
 * when raw: *start at its opening quote, *end just past its closing one.
 * The lexer has consumed the key and the colon and peeked at the value, so
 * the colon ends at prev_token_terminator, and the key's closing quote is
 * the first non-blank before it.  Within a string a '"' is always escaped,
 * so the opening quote is the first '"' before that one with an even number
 * of backslashes before it (a server encoding never uses ASCII bytes within
 * a multibyte character).
 */
static void
key_bounds(PageParseState *st, const char **start, const char **end)
{
	const char *input = st->lex->input;
	const char *p = st->lex->prev_token_terminator - 1;
	const char *b;

	if (p <= input || *p != ':')
		elog(ERROR, "copernica_fdw: no colon before a value at byte %d",
			 (int) (p - input));
	do
		p--;
	while (p > input && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'));
	if (*p != '"')
		elog(ERROR, "copernica_fdw: no key before byte %d", (int) (p - input));
	*end = p + 1;
	for (;;)
	{
		do
			p--;
		while (p > input && *p != '"');
		if (*p != '"')
			elog(ERROR, "copernica_fdw: no key before byte %d",
				 (int) (*end - input));
		for (b = p; b > input && b[-1] == '\\'; b--)
			;
		if ((p - b) % 2 == 0)
			break;
	}
	*start = p;
}

/* The key of the object_field_start callback running, when raw. */
static char *
field_name(PageParseState *st)
{
	const char *start;
	const char *end;

	key_bounds(st, &start, &end);
	return string_token(st, start, end, false);
}

/*
 * lookup_key for the key of the object_field_start callback running, when
 * raw, by finding its text (key_bounds) and copying it: for keys that are
 * not the one remembered at their position.  The key's text is returned
 * in *fname when fname is not NULL.
 */
static pg_noinline const KeyTargets *
lookup_raw_key_slow(PageParseState *st, KeyCache *cache, bool in_fields,
					char **fname)
{
	const char *start;
	const char *end;
	char	   *name;

	key_bounds(st, &start, &end);
	name = string_token(st, start, end, false);
	if (fname != NULL)
		*fname = name;
	return lookup_key(st, cache, name, in_fields);
}

/*
 * lookup_key for the key of the object_field_start callback running, when
 * raw.  When the key is the one remembered at its position, its text is
 * the bytes before its closing quote, so they are compared in place and
 * nothing is copied: if the remembered name holds no '"' and no backslash
 * and those bytes equal it, the '"' before them is the key's opening quote
 * when an even number of backslashes precedes it (see key_bounds).  Items
 * of a page nearly always have the same keys in the same order, so this is
 * the common case, and kept short.  The key's text is returned in *fname
 * when fname is not NULL.
 */
static pg_attribute_always_inline const KeyTargets *
lookup_raw_key(PageParseState *st, KeyCache *cache, bool in_fields,
			   char **fname)
{
	const char *input = st->lex->input;
	const CachedKey *ck;
	const char *p;
	const char *b;
	int			len;

	if (fname != NULL || cache->next >= cache->size)
		return lookup_raw_key_slow(st, cache, in_fields, fname);
	ck = &cache->keys[cache->next];
	len = ck->len;
	if (ck->name == NULL || len < 0)
		return lookup_raw_key_slow(st, cache, in_fields, fname);

	/* the colon, then back over blanks (seldom any) to the closing quote */
	p = st->lex->prev_token_terminator - 1;
	if (p <= input || *p != ':')
		return lookup_raw_key_slow(st, cache, in_fields, fname);
	p--;
	if (*p != '"')
		while (p > input && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
			p--;
	if (*p != '"' || p - input <= len || p[-len - 1] != '"' ||
		memcmp(p - len, ck->name, len) != 0)
		return lookup_raw_key_slow(st, cache, in_fields, fname);

	/* an even number of backslashes before the opening quote */
	for (b = p - len - 1; b > input && b[-1] == '\\'; b--)
		;
	if ((p - len - 1 - b) % 2 != 0)
		return lookup_raw_key_slow(st, cache, in_fields, fname);

	cache->next++;
	return ck->hit;
}

/*
 * Start a new item: make room for its row of values.  The array doubles, so
 * a page of n items costs O(log n) reallocations.
 */
static void
begin_item(PageParseState *st)
{
	CopernicaPage *page = st->page;

	if (page->npaths > 0)
	{
		if (page->nitems >= st->capacity)
		{
			int			newcap;

			if (st->capacity == 0)
			{
				/*
				 * "count" usually comes before "data"; trust it to size the
				 * array, but not beyond a page's possible size.
				 */
				if (st->envelope && st->has_count && page->count > 0 &&
					page->count <= COPERNICA_MAX_PAGE_SIZE)
					newcap = (int) page->count;
				else
					newcap = st->envelope ? 16 : 1;
			}
			else
				newcap = st->capacity * 2;

			if ((Size) newcap * page->npaths >= MaxAllocSize / sizeof(char *))
				ereport(ERROR,
						(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
						 errmsg("Copernica's answer holds too many items")));

			if (page->values == NULL)
			{
				page->values = palloc(sizeof(char *) * newcap * page->npaths);
				page->is_json = palloc(sizeof(bool) * newcap * page->npaths);
			}
			else
			{
				page->values = repalloc(page->values,
										sizeof(char *) * newcap * page->npaths);
				page->is_json = repalloc(page->is_json,
										 sizeof(bool) * newcap * page->npaths);
			}
			st->capacity = newcap;
		}
		st->row = page->values + (Size) page->nitems * page->npaths;
		st->row_is_json = page->is_json + (Size) page->nitems * page->npaths;
		memset(st->row, 0, sizeof(char *) * page->npaths);
		memset(st->row_is_json, 0, sizeof(bool) * page->npaths);
	}

	page->nitems++;
	st->in_item = true;
	st->in_fields = false;
	st->item_has_fields = false;
	memset(st->item_seen, 0, sizeof(bool) * Max(page->npaths, 1));
	st->item_keys.next = 0;
	st->item_value.targets = NULL;
	st->field_value.targets = NULL;
}

static inline void
capture_begin(PageParseState *st, ValueCapture *cap, const KeyTargets *kt)
{
	JsonLexContext *lex = st->lex;

	cap->targets = kt;
	cap->start = lex->token_start;
	cap->type = lex->token_type;
	cap->scalar = NULL;

	/*
	 * The value's token is the one the lexer is at.  Not in place within
	 * "fields" kept whole as JSON text, which is copied from the input when
	 * it ends.
	 */
	if (st->raw && lex->token_type == JSON_TOKEN_STRING)
		cap->scalar = string_token(st, lex->token_start, lex->token_terminator,
								   st->in_place &&
								   (cap == &st->item_value ||
									st->item_value.targets == NULL));
}

/*
 * The value is complete: the lexer has moved past its last token, so its
 * text ends at prev_token_terminator.  A string was taken already; another
 * scalar (a number, true, false) is its token's text, as the parser would
 * have given it to a scalar callback; an object or array is its JSON text.
 */
static void
capture_end(PageParseState *st, ValueCapture *cap, bool isnull)
{
	const KeyTargets *kt = cap->targets;
	char	   *value;
	bool		is_json = false;
	int			i;

	if (isnull)
		value = NULL;
	else if (cap->scalar != NULL)
		value = cap->scalar;
	else
	{
		value = pnstrdup(cap->start, st->lex->prev_token_terminator - cap->start);
		is_json = (cap->type == JSON_TOKEN_OBJECT_START ||
				   cap->type == JSON_TOKEN_ARRAY_START);
	}

	/* paths asking for the same key share one string */
	for (i = 0; i < kt->ntargets; i++)
	{
		int			target = kt->targets[i];

		st->row[target] = value;
		st->row_is_json[target] = is_json;
		st->page->path_seen[target] = true;
		st->item_seen[target] = true;
	}
	cap->targets = NULL;
	cap->scalar = NULL;
}

/*
 * An envelope key: note which one and check its value's type before the
 * value is parsed, so that a wrong "data" fails before we walk it.
 */
static void
envelope_field_start(PageParseState *st, const char *fname)
{
	JsonTokenType type = st->lex->token_type;
	EnvelopeKey key;

	for (key = ENV_DATA; key > ENV_OTHER; key--)
		if (strcmp(fname, envelope_key_names[key]) == 0)
			break;
	st->env_key = key;
	if (key == ENV_OTHER)
		return;

	/* a string's errors come first, as the lexer would raise them */
	st->env_start = st->lex->token_start;
	st->env_type = type;
	st->env_string = NULL;
	if (st->raw && type == JSON_TOKEN_STRING)
		st->env_string = string_token(st, st->lex->token_start,
									  st->lex->token_terminator, false);

	if (st->env_seen & (1 << key))
		unexpected_answer("The page has the key \"%s\" twice.", fname);

	/* a body cut short: let the parser say the JSON is invalid */
	if (type == JSON_TOKEN_END)
		return;
	st->env_seen |= (1 << key);

	if (key == ENV_DATA)
	{
		if (type != JSON_TOKEN_ARRAY_START)
			unexpected_answer("The page's \"data\" is a JSON %s, not an array.",
							  copernica_json_token_name(type));
	}
	else if (key == ENV_TOTAL && type == JSON_TOKEN_NULL)
	{
		/* a null total means the same as no total */
	}
	else if (type != JSON_TOKEN_NUMBER && type != JSON_TOKEN_STRING)
		unexpected_answer("The page's \"%s\" is a JSON %s, not an integer.",
						  fname, copernica_json_token_name(type));
}

/*
 * An envelope number, once its key ends.  Copernica sends JSON integers; an
 * integer in a string is accepted too, since it means the same and PHP is
 * loose about the difference.  envelope_field_start refused every other
 * type but null (a total's).
 */
static void
envelope_value(PageParseState *st)
{
	CopernicaPage *page = st->page;
	char	   *token;
	int64		value;

	if (st->env_key == ENV_OTHER)
		return;
	if (st->env_type == JSON_TOKEN_STRING)
		token = st->env_string;
	else if (st->env_type == JSON_TOKEN_NUMBER)
		token = pnstrdup(st->env_start,
						 st->lex->prev_token_terminator - st->env_start);
	else
		return;

	/* the value named, bounded and redacted as every network string */
	if (!copernica_parse_integer(token, &value))
		unexpected_answer("The page's \"%s\" is %s, not an integer.",
						  envelope_key_names[st->env_key],
						  st->env_type == JSON_TOKEN_STRING ?
						  psprintf("\"%s\"", token[0] ?
								   copernica_redact_excerpt(token, strlen(token)) : "") :
						  copernica_redact_excerpt(token, strlen(token)));

	switch (st->env_key)
	{
		case ENV_START:
			page->start = value;
			st->has_start = true;
			break;
		case ENV_LIMIT:
			page->limit = value;
			st->has_limit = true;
			break;
		case ENV_COUNT:
			page->count = value;
			st->has_count = true;
			break;
		case ENV_TOTAL:
			page->total = value;
			page->has_total = true;
			break;
		default:
			/* "data" was checked to be an array, so never a number */
			break;
	}
}

/*
 * Called as an array or object starts, before the parser recurses into it:
 * an answer nested deeper than any of Copernica's is refused while the
 * stack is still shallow.
 */
void
copernica_json_check_depth(JsonLexContext *lex)
{
	if (lex->lex_level >= COPERNICA_JSON_MAX_DEPTH)
		unexpected_answer("The answer nests arrays and objects more than %d levels deep.",
						  COPERNICA_JSON_MAX_DEPTH);
}

static JSON_ACTION
page_object_start(void *state)
{
	PageParseState *st = (PageParseState *) state;
	int			level = st->lex->lex_level;

	copernica_json_check_depth(st->lex);

	if (level == 0)
	{
		if (!st->envelope)
			begin_item(st);
	}
	else if (level == 2 && st->in_data)
		begin_item(st);			/* an element of "data" */

	JSON_ACTION_DONE;
}

/*
 * An item has ended: note it if it is the page's first to lack a field a
 * path names (the caller decides whether that is an error).
 */
static void
note_lacking_field(PageParseState *st)
{
	CopernicaPage *page = st->page;
	int			p;

	if (page->lacking_item >= 0)
		return;
	for (p = 0; p < page->npaths; p++)
		if (st->paths[p].source == COPERNICA_SRC_FIELD && !st->item_seen[p])
		{
			page->lacking_item = page->nitems - 1;
			page->lacking_path = p;
			page->lacking_fields = !st->item_has_fields;
			return;
		}
}

static JSON_ACTION
page_object_end(void *state)
{
	PageParseState *st = (PageParseState *) state;

	/* objects nested in an item end at deeper levels */
	if (st->in_item && st->lex->lex_level == st->item_level)
	{
		st->in_item = false;
		note_lacking_field(st);
	}

	JSON_ACTION_DONE;
}

static JSON_ACTION
page_array_start(void *state)
{
	PageParseState *st = (PageParseState *) state;
	int			level = st->lex->lex_level;

	copernica_json_check_depth(st->lex);

	if (level == 0)
		unexpected_answer("The answer is a JSON array, not an object.");
	if (st->envelope && level == 1 && st->env_key == ENV_DATA)
		st->in_data = true;

	JSON_ACTION_DONE;
}

static JSON_ACTION
page_array_end(void *state)
{
	PageParseState *st = (PageParseState *) state;

	if (st->envelope && st->lex->lex_level == 1)
		st->in_data = false;

	JSON_ACTION_DONE;
}

static JSON_ACTION
page_array_element_start(void *state, bool isnull)
{
	PageParseState *st = (PageParseState *) state;
	JsonTokenType type = st->lex->token_type;

	if (st->in_data && st->lex->lex_level == 2 &&
		type != JSON_TOKEN_OBJECT_START)
		unexpected_answer("Item %d of the page is a JSON %s, not an object.",
						  st->page->nitems + 1, copernica_json_token_name(type));

	JSON_ACTION_DONE;
}

static JSON_ACTION
page_field_start(void *state, char *fname, bool isnull)
{
	PageParseState *st = (PageParseState *) state;
	JsonLexContext *lex = st->lex;
	int			level = lex->lex_level;
	const KeyTargets *kt;

	if (st->envelope && level == 1)
	{
		if (st->raw)
			fname = field_name(st);
		envelope_field_start(st, fname);
		JSON_ACTION_DONE;
	}
	if (!st->in_item)
		JSON_ACTION_DONE;

	if (level == st->item_level + 1)
	{
		if (st->raw)
			kt = lookup_raw_key(st, &st->item_keys, false, NULL);
		else
			kt = lookup_key(st, &st->item_keys, fname, false);
		if (kt == NULL)
			JSON_ACTION_DONE;
		if (kt->is_fields && lex->token_type == JSON_TOKEN_OBJECT_START)
		{
			st->in_fields = true;
			st->item_has_fields = true;
			st->field_keys.next = 0;
		}
		if (kt->ntargets > 0)
			capture_begin(st, &st->item_value, kt);
	}
	else if (level == st->item_level + 2 && st->in_fields)
	{
		if (st->raw)
			kt = lookup_raw_key(st, &st->field_keys, true, NULL);
		else
			kt = lookup_key(st, &st->field_keys, fname, true);
		if (kt != NULL)
			capture_begin(st, &st->field_value, kt);
	}

	JSON_ACTION_DONE;
}

static JSON_ACTION
page_field_end(void *state, char *fname, bool isnull)
{
	PageParseState *st = (PageParseState *) state;
	int			level = st->lex->lex_level;

	if (st->envelope && level == 1)
	{
		envelope_value(st);
		st->env_key = ENV_OTHER;
		JSON_ACTION_DONE;
	}
	if (!st->in_item)
		JSON_ACTION_DONE;

	if (level == st->item_level + 1)
	{
		if (st->item_value.targets != NULL)
			capture_end(st, &st->item_value, isnull);
		st->in_fields = false;
	}
	else if (level == st->item_level + 2 && st->in_fields)
	{
		if (st->field_value.targets != NULL)
			capture_end(st, &st->field_value, isnull);
	}

	JSON_ACTION_DONE;
}

/*
 * Only for the parse that de-escapes every string (not raw): it is how the
 * lexer's strings arrive.  Other scalars are read from the input when their
 * key ends, as when raw.
 */
static JSON_ACTION
page_scalar(void *state, char *token, JsonTokenType type)
{
	PageParseState *st = (PageParseState *) state;
	int			level = st->lex->lex_level;

	if (type != JSON_TOKEN_STRING)
		JSON_ACTION_DONE;
	if (st->envelope && level == 1)
	{
		st->env_string = token;
		JSON_ACTION_DONE;
	}
	if (!st->in_item)
		JSON_ACTION_DONE;

	/*
	 * At these levels a scalar is the direct value of the key just started:
	 * elements of arrays and values in nested objects sit one level deeper,
	 * and the field level counts only inside "fields".
	 */
	if (level == st->item_level + 1)
	{
		if (st->item_value.targets != NULL)
			st->item_value.scalar = token;
	}
	else if (level == st->item_level + 2 && st->in_fields)
	{
		if (st->field_value.targets != NULL)
			st->field_value.scalar = token;
	}

	JSON_ACTION_DONE;
}

/*
 * The answer must be an object.  The parse has no callback for a scalar at
 * the top (when raw, none at all), so one is refused here, where the parse
 * would have: once the token after it is lexed, whose errors come first.
 */
static void
refuse_top_level_scalar(const char *body, size_t len, bool raw)
{
	JsonLexContext *lex;
	JsonTokenType type;
	JsonParseErrorType rc;
	size_t		i = 0;

	while (i < len && (body[i] == ' ' || body[i] == '\t' ||
					   body[i] == '\n' || body[i] == '\r'))
		i++;
	if (i < len && body[i] == '{')
		return;

	if (raw)
		lex = copernica_json_validating_lexer(body, (int) len,
											  GetDatabaseEncoding());
	else
		lex = copernica_json_lexer(body, (int) len, GetDatabaseEncoding());
	if (json_lex(lex) != JSON_SUCCESS)
		return;					/* the parse raises it */
	type = lex->token_type;
	if (type != JSON_TOKEN_STRING && type != JSON_TOKEN_NUMBER &&
		type != JSON_TOKEN_TRUE && type != JSON_TOKEN_FALSE &&
		type != JSON_TOKEN_NULL)
		return;
	rc = json_lex(lex);
	if (rc != JSON_SUCCESS)
		copernica_report_json_error(rc, lex);
	unexpected_answer("The answer is a JSON %s, not an object.",
					  copernica_json_token_name(type));
}

/*
 * Check that body is UTF-8 and bring it into the server encoding.  Copernica
 * speaks UTF-8 only; an answer that is not is damaged, and must not reach
 * the parser, which trusts its input's encoding.
 */
char *
copernica_body_to_server(char *body, size_t *len)
{
	int			valid;

	if (*len >= MaxAllocSize)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("Copernica's answer is too large"),
				 errdetail("The answer has %zu bytes.", *len)));

	valid = pg_encoding_verifymbstr(PG_UTF8, body, (int) *len);
	if (valid < (int) *len)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_INVALID_STRING_FORMAT),
				 errmsg("Copernica sent invalid UTF-8"),
				 errdetail("The answer has an invalid byte sequence at byte %d.",
						   valid)));

	/*
	 * RFC 8259 lets a parser ignore a byte order mark; PostgreSQL's lexer
	 * would call it an invalid token.
	 */
	if (*len >= 3 && memcmp(body, "\xEF\xBB\xBF", 3) == 0)
	{
		body += 3;
		*len -= 3;
	}

	if (GetDatabaseEncoding() != PG_UTF8)
	{
		char	   *converted = pg_any_to_server(body, (int) *len, PG_UTF8);

		if (converted != body)
		{
			body = converted;
			*len = strlen(converted);
		}
	}
	return body;
}

static CopernicaPage *
parse_page(char *body, size_t len, bool envelope,
		   const CopernicaValuePath *paths, int npaths, bool raw,
		   bool in_place)
{
	PageParseState st;
	JsonSemAction sem;
	JsonParseErrorType rc;
	CopernicaPage *page;

	body = copernica_body_to_server(body, &len);

	page = palloc0(sizeof(CopernicaPage));
	if (in_place)
	{
		page->body = body;
		page->body_end = body + len;
	}
	page->has_envelope = envelope;
	page->npaths = npaths;
	page->path_seen = palloc0(sizeof(bool) * Max(npaths, 1));
	page->lacking_item = -1;

	memset(&st, 0, sizeof(st));
	st.page = page;
	st.paths = paths;
	st.item_seen = palloc0(sizeof(bool) * Max(npaths, 1));
	st.envelope = envelope;
	st.item_level = envelope ? 2 : 0;
	key_table_build(&st.keys, paths, npaths);
	st.raw = raw;
	st.in_place = in_place;
	if (raw)
		st.lex = copernica_json_validating_lexer(body, (int) len,
												 GetDatabaseEncoding());
	else
		st.lex = copernica_json_lexer(body, (int) len, GetDatabaseEncoding());
	st.backslash_from = st.backslash_at = body + len;

	refuse_top_level_scalar(body, len, raw);

	memset(&sem, 0, sizeof(sem));
	sem.semstate = &st;
	sem.object_start = page_object_start;
	sem.object_end = page_object_end;
	sem.array_start = page_array_start;
	sem.array_end = page_array_end;
	sem.object_field_start = page_field_start;
	sem.object_field_end = page_field_end;
	sem.array_element_start = page_array_element_start;
	/* when raw, strings are taken from the input, other scalars too */
	if (!raw)
		sem.scalar = page_scalar;

	rc = pg_parse_json(st.lex, &sem);
	if (rc != JSON_SUCCESS)
		copernica_report_json_error(rc, st.lex);

	/*
	 * A well-formed top level that is not an object was refused in the
	 * callbacks, so here the answer is an object.
	 */
	if (envelope)
	{
		if (!(st.env_seen & (1 << ENV_DATA)))
		{
			/* Copernica's error object, answered with HTTP 200 */
			char	   *message = copernica_json_error_message(body, len);

			if (message != NULL)
				ereport(ERROR,
						(errcode(ERRCODE_FDW_ERROR),
						 errmsg("Copernica rejected the request: %s",
								copernica_redact_message(message))));
			unexpected_answer("The page has no \"data\" array.");
		}
		if (!st.has_count)
			unexpected_answer("The page has no \"count\".");
		if (!st.has_start)
			unexpected_answer("The page has no \"start\".");
		if (!st.has_limit)
			unexpected_answer("The page has no \"limit\".");
		if (page->count != page->nitems)
			unexpected_answer("The page says count %lld but holds %d items.",
							  (long long) page->count, page->nitems);
	}
	else
		page->count = page->nitems;

	return page;
}

CopernicaPage *
copernica_parse_page(char *body, size_t len, bool envelope,
					 const CopernicaValuePath *paths, int npaths)
{
	return parse_page(body, len, envelope, paths, npaths, true, false);
}

/*
 * The same, but the strings kept are ended in place in body, which must
 * outlive the page: values then point into body rather than being copied.
 * body is changed (a kept string's closing quote becomes its NUL).
 */
CopernicaPage *
copernica_parse_page_in_place(char *body, size_t len, bool envelope,
							  const CopernicaValuePath *paths, int npaths)
{
	return parse_page(body, len, envelope, paths, npaths, true, true);
}

/*
 * A value of a page parsed in place as a text datum, without a copy: a
 * string within the body is one string_token ended in place, and its
 * opening quote before it is its 1-byte varlena header, unless the string
 * is too long for one (the quote, 0x22, is not a 1-byte header).  Every
 * other value (de-escaped, or not a string) was copied out of the body.
 * The datum lives as long as the page.
 */
bool
copernica_page_text_datum(const CopernicaPage *page, const char *value,
						  Datum *datum)
{
	if (value <= page->body || value >= page->body_end ||
		!VARATT_IS_1B(value - 1))
		return false;
	*datum = PointerGetDatum(value - 1);
	return true;
}

/*
 * The same parse with the lexer de-escaping every string, as before
 * string_token: for the fuzz target, which checks that both agree.
 */
CopernicaPage *
copernica_parse_page_escaped(char *body, size_t len, bool envelope,
							 const CopernicaValuePath *paths, int npaths)
{
	return parse_page(body, len, envelope, paths, npaths, false, false);
}
