/*-------------------------------------------------------------------------
 *
 * redact.c
 *		  The one place that takes access tokens out of text from outside
 *		  (Copernica's answers, libcurl's messages, PostgreSQL's messages
 *		  about remote values) before it reaches an error or a notice.
 *
 * A server can echo a token in any form: raw, percent-encoded as in our
 * URLs, JSON-escaped ("\/" or "\u002f" for "/"), or a mixture.  The matcher
 * below takes each character of a token in any of those forms, so every
 * spelling is found with one pass.  Any "access_token=..." value is hidden
 * too, whoever's token it is.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "mb/pg_wchar.h"
#include "utils/memutils.h"

#include "copernica_fdw.h"

#define REDACTED		"***"

/* Every token this backend has sent, in TopMemoryContext. */
static List *known_tokens = NIL;

/*
 * Remember a token that requests will carry.  The list only grows by
 * distinct tokens, of which a session has few.
 */
void
copernica_redact_remember(const char *token)
{
	MemoryContext old;
	ListCell   *lc;

	if (token == NULL || token[0] == '\0')
		return;
	foreach(lc, known_tokens)
		if (strcmp((const char *) lfirst(lc), token) == 0)
			return;
	old = MemoryContextSwitchTo(TopMemoryContext);
	known_tokens = lappend(known_tokens, pstrdup(token));
	MemoryContextSwitchTo(old);
}

static int
hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* The value of n hex digits at s, or -1; stops at the end of the text. */
static int
hex_run(const char *s, const char *end, int n)
{
	int			v = 0;
	int			i;

	if (end - s < n)
		return -1;
	for (i = 0; i < n; i++)
	{
		int			d = hex_value(s[i]);

		if (d < 0)
			return -1;
		v = v * 16 + d;
	}
	return v;
}

/*
 * How many bytes at s spell the byte c: as itself, %XX, \uXXXX, a JSON
 * short escape, or "+" for a blank.  0 when they do not; -1 when the text
 * ends in the middle of what could be a spelling of c (for the cut of an
 * excerpt).
 */
static int
spelled_as(const char *s, const char *end, unsigned char c)
{
	if (s >= end)
		return -1;
	if ((unsigned char) *s == c)
		return 1;
	if (*s == '%')
	{
		if (hex_run(s + 1, end, 2) == c)
			return 3;
		return (end - s < 3) ? -1 : 0;
	}
	if (*s == '+' && c == ' ')
		return 1;
	if (*s == '\\')
	{
		if (end - s < 2)
			return -1;
		if ((s[1] == '/' && c == '/') || (s[1] == '\\' && c == '\\') ||
			(s[1] == '"' && c == '"'))
			return 2;
		if (s[1] == 'u')
		{
			if (c < 0x80 && hex_run(s + 2, end, 4) == c)
				return 6;
			return (end - s < 6) ? -1 : 0;
		}
	}
	return 0;
}

/*
 * Whether a spelling of token starts at s: returns its length in bytes, 0
 * for no, or -(n + 1) when the text ends after a spelling of the token's
 * first n characters (n >= 1), that is, a token cut short by the end.
 */
static long
token_at(const char *s, const char *end, const char *token)
{
	const char *p = s;
	const char *t;

	for (t = token; *t; t++)
	{
		int			n = spelled_as(p, end, (unsigned char) *t);

		if (n < 0)
			return (t > token) ? -(long) (t - token + 1) : 0;
		if (n == 0)
			return 0;
		p += n;
	}
	return p - s;
}

/* The end of an "access_token=" value: URL and JSON text both end there. */
static bool
ends_value(char c)
{
	return c == '\0' || c == '&' || c == '"' || c == '\'' || c == '<' ||
		c == '>' || c == '#' || c == ',' || c == ';' || c == ')' ||
		c == ']' || c == '}' || isspace((unsigned char) c);
}

/*
 * The text of len bytes at s with every known token, and every
 * "access_token=" value, replaced by ***.  With cut_partial, a spelling of
 * a token's beginning that the text ends in is left out too (the text is
 * an excerpt, cut where the rest of a token might have been).  NUL bytes in
 * s end it.
 */
static char *
redact_internal(const char *s, size_t len, bool cut_partial)
{
	const char *end;
	const char *p;
	StringInfoData buf;

	len = strnlen(s, len);
	end = s + len;
	initStringInfo(&buf);
	p = s;
	while (p < end)
	{
		ListCell   *lc;
		long		hit = 0;

		if (end - p >= 13 && pg_strncasecmp(p, "access_token=", 13) == 0)
		{
			appendStringInfoString(&buf, "access_token=" REDACTED);
			p += 13;
			while (p < end && !ends_value(*p))
				p++;
			continue;
		}
		foreach(lc, known_tokens)
		{
			hit = token_at(p, end, (const char *) lfirst(lc));
			if (hit > 0 || (hit < 0 && cut_partial))
				break;
			hit = 0;
		}
		if (hit > 0)
		{
			appendStringInfoString(&buf, REDACTED);
			p += hit;
			continue;
		}
		if (hit < 0)
			break;				/* the rest is a token's beginning */
		appendStringInfoChar(&buf, *p);
		p++;
	}
	return buf.data;
}

char *
copernica_redact(const char *s)
{
	if (s == NULL)
		return NULL;
	return redact_internal(s, strlen(s), false);
}

/*
 * Whether len bytes of remote text hold a token, an "access_token=" value,
 * or end in a token's beginning: for a fragment of an answer, such as the
 * JSON token a parser quotes, which may be a token cut short.
 */
bool
copernica_redact_needed(const char *s, size_t len)
{
	char	   *clean;
	bool		needed;

	if (s == NULL)
		return false;
	len = strnlen(s, len);
	clean = redact_internal(s, len, true);
	needed = (strlen(clean) != len || memcmp(clean, s, len) != 0);
	pfree(clean);
	return needed;
}

/*
 * The start of len bytes of remote text for an error detail: tokens removed
 * first (so that the cut cannot leave half of one), then cut to
 * COPERNICA_EXCERPT_LEN with "..." when there was more, never ending in the
 * beginning of a token; anything unprintable is replaced so that the
 * message is valid in every encoding.  NULL when nothing but blanks is
 * left.
 */
char *
copernica_redact_excerpt(const char *s, size_t len)
{
	size_t		window;
	size_t		longest = 0;
	char	   *clean;
	size_t		n;
	size_t		i;
	ListCell   *lc;
	bool		more;

	if (s == NULL || len == 0)
		return NULL;

	/* wide enough that a token starting within the excerpt is whole */
	foreach(lc, known_tokens)
		longest = Max(longest, strlen((const char *) lfirst(lc)));
	window = Min(len, COPERNICA_EXCERPT_LEN + 6 * longest + 16);
	clean = redact_internal(s, window, window < len);

	n = strlen(clean);
	more = (n > COPERNICA_EXCERPT_LEN || window < len);
	if (n > COPERNICA_EXCERPT_LEN)
	{
		char	   *cut;

		clean[COPERNICA_EXCERPT_LEN] = '\0';
		/* the cut may have left a token's first characters */
		cut = redact_internal(clean, COPERNICA_EXCERPT_LEN, true);
		pfree(clean);
		clean = cut;
		n = strlen(clean);
	}
	for (i = 0; i < n; i++)
	{
		unsigned char c = (unsigned char) clean[i];

		if (c == '\n' || c == '\r' || c == '\t')
			clean[i] = ' ';
		else if (c < 0x20 || c >= 0x7F)
			clean[i] = '?';
	}
	/* nothing but blanks says nothing */
	for (i = 0; i < n; i++)
		if (clean[i] != ' ')
			break;
	if (i == n)
		return NULL;
	if (more)
		return psprintf("%s...", clean);
	return clean;
}

/*
 * In a PG_CATCH block: raise the caught error again with the token taken
 * out of its texts.  For errors that PostgreSQL's own functions raise about
 * remote values (an input function quotes the value it rejects).  cxt is a
 * memory context that is not ErrorContext.
 */
void
copernica_rethrow_redacted(MemoryContext cxt)
{
	ErrorData  *edata;

	MemoryContextSwitchTo(cxt);
	edata = CopyErrorData();
	FlushErrorState();
	edata->message = copernica_redact(edata->message);
	edata->detail = copernica_redact(edata->detail);
	edata->detail_log = copernica_redact(edata->detail_log);
	edata->hint = copernica_redact(edata->hint);
	edata->context = copernica_redact(edata->context);
	ReThrowError(edata);
}

/*
 * One name from Copernica's answer (a field's, a collection's) for a
 * message: tokens removed, cut to maxlen bytes (never inside a character,
 * never in a token's beginning) with "..." when there was more,
 * control characters replaced.  Unlike an excerpt it keeps non-ASCII
 * letters: a name is text in the database's encoding, checked on arrival.
 */
static char *
redact_bounded(const char *name, int maxlen)
{
	char	   *clean;
	size_t		len;
	char	   *p;

	if (name == NULL)
		return NULL;
	clean = redact_internal(name, strlen(name), false);
	len = strlen(clean);
	if (len > (size_t) maxlen)
	{
		int			cut = pg_mbcliplen(clean, len, maxlen);
		char	   *shown = redact_internal(clean, cut, true);

		pfree(clean);
		clean = psprintf("%s...", shown);
		pfree(shown);
	}
	for (p = clean; *p; p++)
		if ((unsigned char) *p < 0x20 || *p == 0x7F)
			*p = '?';
	return clean;
}

char *
copernica_redact_name(const char *name)
{
	return redact_bounded(name, COPERNICA_NAME_LEN);
}

/*
 * Copernica's error message (copernica_json_error_message) for an error's
 * primary message: like a name, but cut at COPERNICA_EXCERPT_LEN bytes.  A
 * server may send a message of any length, up to max_response_size, and
 * it would otherwise go whole into the client's error and the server log.
 */
char *
copernica_redact_message(const char *message)
{
	return redact_bounded(message, COPERNICA_EXCERPT_LEN);
}

/*
 * A list of names for a message's detail or hint: "a, b, c and 480 more".
 * A listing can hold thousands of names, each as long as a server likes;
 * the message shows the first COPERNICA_LIST_NAMES, each through
 * copernica_redact_name.
 */
void
copernica_name_list_init(CopernicaNameList *list)
{
	initStringInfo(&list->buf);
	list->count = 0;
}

void
copernica_name_list_add(CopernicaNameList *list, const char *name)
{
	char	   *shown;

	if (++list->count > COPERNICA_LIST_NAMES)
		return;
	shown = copernica_redact_name(name);
	appendStringInfo(&list->buf, "%s%s", list->count > 1 ? ", " : "", shown);
	pfree(shown);
}

/* The list as text, or NULL when no name was added. */
char *
copernica_name_list_text(CopernicaNameList *list)
{
	if (list->count == 0)
		return NULL;
	if (list->count > COPERNICA_LIST_NAMES)
		appendStringInfo(&list->buf, " and %d more",
						 list->count - COPERNICA_LIST_NAMES);
	return list->buf.data;
}
