/*-------------------------------------------------------------------------
 *
 * mailing_size.c
 *		  What mailing scans learnt about sizes, for planning the next
 *		  queries (planning a mailing table asks Copernica nothing): an
 *		  account-wide listing's total (its limit=0 request, or the
 *		  emailings read for every emailing's listing), and the items a
 *		  per-emailing listing held on average.  Per backend, by server,
 *		  user and URL, for a minute, as the profiles' metadata is cached
 *		  (metadata.c).  Nothing here does I/O.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "utils/hsearch.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "copernica_fdw.h"
#include "mailing.h"

#define SIZE_TTL_SECONDS	60
#define SIZE_KEY_LEN		256

typedef struct SizeEntry
{
	char		key[SIZE_KEY_LEN];	/* server/user/what */
	TimestampTz seen;			/* the first of the current sums */
	double		items;
	double		parts;
} SizeEntry;

static HTAB *sizes = NULL;

/* The entry's key; false when it would not fit (then nothing is kept). */
static bool
size_key(Oid serverid, Oid userid, const char *what, char *key)
{
	return snprintf(key, SIZE_KEY_LEN, "%u/%u/%s", serverid, userid, what) < SIZE_KEY_LEN;
}

/*
 * items were read in parts listings of what: an account-wide listing's
 * total (parts 1, replacing what was known), or per-emailing listings read
 * whole (added up for a minute).
 */
void
copernica_mailing_size_note(Oid serverid, Oid userid, const char *what,
							double items, double parts, bool add)
{
	char		key[SIZE_KEY_LEN];
	SizeEntry  *e;
	bool		found;
	TimestampTz now = GetCurrentTimestamp();

	if (parts <= 0 || items < 0 || !size_key(serverid, userid, what, key))
		return;
	if (sizes == NULL)
	{
		HASHCTL		ctl;

		memset(&ctl, 0, sizeof(ctl));
		ctl.keysize = SIZE_KEY_LEN;
		ctl.entrysize = sizeof(SizeEntry);
		ctl.hcxt = TopMemoryContext;
		sizes = hash_create("copernica_fdw mailing sizes", 64, &ctl,
							HASH_ELEM | HASH_STRINGS | HASH_CONTEXT);
	}
	e = hash_search(sizes, key, HASH_ENTER, &found);
	if (!found || !add ||
		TimestampDifferenceExceeds(e->seen, now, SIZE_TTL_SECONDS * 1000))
	{
		e->seen = now;
		e->items = 0;
		e->parts = 0;
	}
	e->items += items;
	e->parts += parts;
}

/* Items per listing of what, as last seen within a minute; -1 unknown. */
double
copernica_mailing_size_get(Oid serverid, Oid userid, const char *what)
{
	char		key[SIZE_KEY_LEN];
	SizeEntry  *e;

	if (sizes == NULL || !size_key(serverid, userid, what, key))
		return -1;
	e = hash_search(sizes, key, HASH_FIND, NULL);
	if (e == NULL || e->parts <= 0 ||
		TimestampDifferenceExceeds(e->seen, GetCurrentTimestamp(),
								   SIZE_TTL_SECONDS * 1000))
		return -1;
	return e->items / e->parts;
}

/*
 * What a listing's size is kept under: the account-wide listing (key
 * NUM_KEYS) or a per-key one, with the parameters always sent (a scan
 * with more, a time range, says nothing of the whole).
 */
char *
copernica_mailing_size_key(const MailingResource *mr, int key)
{
	return psprintf("%s?%s", key == NUM_KEYS ? mr->all_path : mr->by_path[key],
					mr->params);
}

/* Forget every size (copernica_forget_metadata()). */
void
copernica_mailing_sizes_forget(void)
{
	if (sizes)
		hash_destroy(sizes);
	sizes = NULL;
}
