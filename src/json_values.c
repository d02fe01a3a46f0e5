/*-------------------------------------------------------------------------
 *
 * json_values.c
 *		  The small JSON readers and the writer, beside json.c's page parser:
 *		  a bare array of strings, Copernica's error message, the one ID
 *		  reader (copernica_parse_id, copernica_page_item_id), and JSON
 *		  string literals for request bodies.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "common/jsonapi.h"
#include "mb/pg_wchar.h"
#include "utils/memutils.h"

#include "copernica_fdw.h"

typedef struct StringArrayState
{
	JsonLexContext *lex;
	List	   *result;
	const char *elem_start;
	char	   *scalar;
} StringArrayState;

static JSON_ACTION
array_object_start(void *state)
{
	StringArrayState *st = (StringArrayState *) state;

	if (st->lex->lex_level == 0)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_INVALID_STRING_FORMAT),
				 errmsg("expected a JSON array, not a JSON object")));
	copernica_json_check_depth(st->lex);

	JSON_ACTION_DONE;
}

static JSON_ACTION
array_array_start(void *state)
{
	StringArrayState *st = (StringArrayState *) state;

	copernica_json_check_depth(st->lex);

	JSON_ACTION_DONE;
}

static JSON_ACTION
array_element_start(void *state, bool isnull)
{
	StringArrayState *st = (StringArrayState *) state;

	if (st->lex->lex_level == 1)
	{
		st->elem_start = st->lex->token_start;
		st->scalar = NULL;
	}

	JSON_ACTION_DONE;
}

static JSON_ACTION
array_element_end(void *state, bool isnull)
{
	StringArrayState *st = (StringArrayState *) state;
	char	   *value;

	if (st->lex->lex_level != 1)
		JSON_ACTION_DONE;

	if (isnull)
		value = NULL;
	else if (st->scalar != NULL)
		value = st->scalar;
	else
		value = pnstrdup(st->elem_start,
						 st->lex->prev_token_terminator - st->elem_start);
	st->result = lappend(st->result, value);

	JSON_ACTION_DONE;
}

static JSON_ACTION
array_scalar(void *state, char *token, JsonTokenType type)
{
	StringArrayState *st = (StringArrayState *) state;

	if (st->lex->lex_level == 0)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_INVALID_STRING_FORMAT),
				 errmsg("expected a JSON array, not a JSON %s",
						copernica_json_token_name(type))));
	if (st->lex->lex_level == 1)
		st->scalar = token;

	JSON_ACTION_DONE;
}

/*
 * Elements come back as text: strings unescaped, numbers and booleans as
 * written, nested arrays and objects as their JSON text.  A JSON null
 * becomes a NULL pointer in the list, so that positions are kept and the
 * caller decides what null means (a text[] element that is NULL).  The input
 * is in the server encoding, as values from copernica_parse_page are.
 */
List *
copernica_json_string_array(const char *json)
{
	StringArrayState st;
	JsonSemAction sem;
	JsonParseErrorType rc;

	if (json == NULL)
		return NIL;

	memset(&st, 0, sizeof(st));
	st.lex = copernica_json_lexer(json, (int) strlen(json), GetDatabaseEncoding());

	memset(&sem, 0, sizeof(sem));
	sem.semstate = &st;
	sem.object_start = array_object_start;
	sem.array_start = array_array_start;
	sem.array_element_start = array_element_start;
	sem.array_element_end = array_element_end;
	sem.scalar = array_scalar;

	/* the parser's words may quote a token cut short: not with redact */
	rc = pg_parse_json(st.lex, &sem);
	if (rc != JSON_SUCCESS)
		copernica_report_json_error(rc, st.lex);

	return st.result;
}

typedef struct ObjectMembersState
{
	JsonLexContext *lex;
	List	   *result;
	CopernicaJsonMember *member;
} ObjectMembersState;

static JSON_ACTION
members_field_start(void *state, char *fname, bool isnull)
{
	ObjectMembersState *st = (ObjectMembersState *) state;

	if (st->lex->lex_level == 1)
	{
		st->member = palloc0(sizeof(CopernicaJsonMember));
		st->member->key = fname;
		st->result = lappend(st->result, st->member);
	}

	JSON_ACTION_DONE;
}

static JSON_ACTION
members_scalar(void *state, char *token, JsonTokenType type)
{
	ObjectMembersState *st = (ObjectMembersState *) state;

	if (st->lex->lex_level == 1 && st->member != NULL)
	{
		st->member->scalar = token;
		st->member->type = type;
	}

	JSON_ACTION_DONE;
}

/*
 * The members of a JSON object in the order written, duplicate keys and
 * all (which jsonb keeps only the last of): each key unescaped, with its
 * value's text if that is a scalar.  Anything but an object gives NIL.
 * The input is in the server encoding.
 */
List *
copernica_json_object_members(const char *json)
{
	ObjectMembersState st;
	JsonSemAction sem;
	JsonParseErrorType rc;

	memset(&st, 0, sizeof(st));
	st.lex = copernica_json_lexer(json, (int) strlen(json), GetDatabaseEncoding());

	memset(&sem, 0, sizeof(sem));
	sem.semstate = &st;
	sem.object_field_start = members_field_start;
	sem.scalar = members_scalar;

	rc = pg_parse_json(st.lex, &sem);
	if (rc != JSON_SUCCESS)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("invalid JSON object"),
				 errdetail("%s", copernica_redact(json_errdetail(rc, st.lex)))));

	return st.result;
}

/*
 * Append s as a JSON string literal.  s is in the server encoding and is
 * copied byte for byte apart from the escapes JSON requires; when the
 * database is not UTF-8 the caller converts the finished body to UTF-8 for
 * Copernica.  Runs of plain bytes are appended in one go, since most values
 * need no escaping at all.
 */
void
copernica_json_append_string(StringInfo buf, const char *s)
{
	const char *run = s;
	const char *p;

	appendStringInfoChar(buf, '"');
	for (p = s; *p; p++)
	{
		unsigned char c = (unsigned char) *p;

		if (c >= 0x20 && c != '"' && c != '\\')
			continue;

		appendBinaryStringInfo(buf, run, p - run);
		run = p + 1;
		switch (c)
		{
			case '"':
				appendStringInfoString(buf, "\\\"");
				break;
			case '\\':
				appendStringInfoString(buf, "\\\\");
				break;
			case '\b':
				appendStringInfoString(buf, "\\b");
				break;
			case '\f':
				appendStringInfoString(buf, "\\f");
				break;
			case '\n':
				appendStringInfoString(buf, "\\n");
				break;
			case '\r':
				appendStringInfoString(buf, "\\r");
				break;
			case '\t':
				appendStringInfoString(buf, "\\t");
				break;
			default:
				appendStringInfo(buf, "\\u%04x", c);
				break;
		}
	}
	appendBinaryStringInfo(buf, run, p - run);
	appendStringInfoChar(buf, '"');
}

/*
 * An ID as Copernica writes it, in JSON or in the X-Created header: decimal
 * digits only, at least one, fitting in an int64.  Anything else (a sign,
 * blanks, "12abc", "") is not an ID: returns false.
 */
bool
copernica_parse_id(const char *text, int64 *id)
{
	int64		v;

	if (text == NULL || text[0] == '-' || !copernica_parse_integer(text, &v))
		return false;
	*id = v;
	return true;
}

/*
 * The ID an item of a page carries at path (the index of the ID among the
 * page's paths), or -1 when the item has none or it is not an ID.
 */
int64
copernica_page_item_id(const CopernicaPage *page, int item, int path)
{
	int64		id;

	if (item < 0 || item >= page->nitems || path < 0 || path >= page->npaths ||
		!copernica_parse_id(page->values[(size_t) item * page->npaths + path], &id))
		return -1;
	return id;
}

/* Parser state for Copernica's {"error":{"message":"..."}} */
typedef struct ErrorParseState
{
	JsonLexContext *lex;
	int			depth;			/* object nesting */
	bool		error_next;		/* the next value is the top-level "error" */
	bool		in_error;		/* directly inside that object */
	bool		message_next;	/* the next value is its "message" */
	char	   *message;
} ErrorParseState;

static JSON_ACTION
error_object_start(void *state)
{
	ErrorParseState *s = (ErrorParseState *) state;

	copernica_json_check_depth(s->lex);
	s->depth++;
	if (s->depth == 2 && s->error_next)
		s->in_error = true;
	s->error_next = false;
	s->message_next = false;

	JSON_ACTION_DONE;
}

static JSON_ACTION
error_object_end(void *state)
{
	ErrorParseState *s = (ErrorParseState *) state;

	if (s->depth == 2)
		s->in_error = false;
	s->depth--;

	JSON_ACTION_DONE;
}

static JSON_ACTION
error_array_start(void *state)
{
	ErrorParseState *s = (ErrorParseState *) state;

	copernica_json_check_depth(s->lex);
	s->error_next = false;
	s->message_next = false;

	JSON_ACTION_DONE;
}

static JSON_ACTION
error_field_start(void *state, char *fname, bool isnull)
{
	ErrorParseState *s = (ErrorParseState *) state;

	s->error_next = (s->depth == 1 && strcmp(fname, "error") == 0);
	s->message_next = (s->depth == 2 && s->in_error &&
					   strcmp(fname, "message") == 0);

	JSON_ACTION_DONE;
}

static JSON_ACTION
error_scalar(void *state, char *token, JsonTokenType tokentype)
{
	ErrorParseState *s = (ErrorParseState *) state;

	if (s->message_next && tokentype == JSON_TOKEN_STRING &&
		s->message == NULL)
		s->message = token;
	s->error_next = false;
	s->message_next = false;

	JSON_ACTION_DONE;
}

/*
 * Copernica's error message from a 400 body, or NULL when the body is not
 * the usual {"error":{"message":"..."}}.
 */
char *
copernica_json_error_message(const char *body, size_t len)
{
	ErrorParseState state;
	JsonSemAction sem;
	JsonLexContext *lex;
	int			encoding = GetDatabaseEncoding();
	char	   *copy;
	char	   *p;

	if (body == NULL || len == 0 || len > PG_INT32_MAX / 2)
		return NULL;
	if (pg_encoding_verifymbstr(PG_UTF8, body, (int) len) != (int) len)
		return NULL;

	memset(&state, 0, sizeof(state));
	memset(&sem, 0, sizeof(sem));
	sem.semstate = &state;
	sem.object_start = error_object_start;
	sem.object_end = error_object_end;
	sem.array_start = error_array_start;
	sem.object_field_start = error_field_start;
	sem.scalar = error_scalar;

	copy = pnstrdup(body, len);
	lex = copernica_json_lexer(copy, (int) len, PG_UTF8);
	state.lex = lex;
	if (pg_parse_json(lex, &sem) != JSON_SUCCESS || state.message == NULL)
		return NULL;

	/*
	 * The message is UTF-8.  Rather than risk a conversion error hiding the
	 * real one, show only ASCII in databases of other encodings.
	 */
	for (p = state.message; *p; p++)
	{
		unsigned char c = (unsigned char) *p;

		if (c < 0x20 || c == 0x7F ||
			(c >= 0x80 && encoding != PG_UTF8 && encoding != PG_SQL_ASCII))
			*p = '?';
	}
	return state.message;
}
