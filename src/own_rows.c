/*-------------------------------------------------------------------------
 *
 * own_rows.c
 *		  The profiles and subprofiles this transaction created, and which
 *		  scans must not see them.
 *
 * PostgreSQL never shows a scan the rows its own transaction inserted
 * after the scan's snapshot: a row made by a later command (a cursor's
 * FETCH after an INSERT, a PL/pgSQL loop's INSERTs, a trigger's INSERT
 * while a scan feeds it) is not read.  Copernica has no snapshots, so each
 * ID an INSERT gets back is remembered here with the command that made it,
 * and a scan drops, page by page, the rows of commands its snapshot does
 * not see.  Without that such a statement reads its own new rows, and a
 * loop that inserts one row per row read never ends.
 *
 * Copernica hands out profile and subprofile IDs across all its databases,
 * so the kind (profile or subprofile) and the ID name one row wherever it
 * is read (a database's listing, a view's, a collection's, a profile's
 * subprofiles).  Rows other clients create are not here: they show up.
 *
 * The registry lives in a child of TopTransactionContext, so it goes at the
 * transaction's end, commit or abort.  A subtransaction's abort keeps it:
 * the rows it created are still in Copernica, and scans that began before
 * them must still skip them.  Memory is bounded by the rows the
 * transaction created; with none, scans pay one test per page.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "utils/hsearch.h"
#include "utils/memutils.h"

#include "copernica_fdw.h"

typedef struct OwnRowKey
{
	int64		id;
	int64		kind;			/* COPERNICA_OWN_PROFILE or _SUBPROFILE */
} OwnRowKey;

typedef struct OwnRow
{
	OwnRowKey	key;
	CommandId	cid;			/* the command that created it */
} OwnRow;

static MemoryContext own_cxt = NULL;
static HTAB *own_rows = NULL;

/* per kind: whether any was created, and the latest command that did */
static bool own_any[2];
static CommandId own_last_cid[2];

/* The transaction's memory went: so did the registry. */
static void
forget_own_rows(void *arg)
{
	own_cxt = NULL;
	own_rows = NULL;
	own_any[0] = own_any[1] = false;
}

/* Which kind of row a table's items are, or -1 for neither. */
int
copernica_own_row_kind(const CopernicaResource *res)
{
	switch (res->kind)
	{
		case COPERNICA_PROFILES:
		case COPERNICA_VIEW_PROFILES:
			return COPERNICA_OWN_PROFILE;
		case COPERNICA_SUBPROFILES:
		case COPERNICA_MINIVIEW_SUBPROFILES:
			return COPERNICA_OWN_SUBPROFILE;
		default:
			return -1;
	}
}

/* Command cid of this transaction created the row kind/id. */
void
copernica_own_row_created(int kind, int64 id, CommandId cid)
{
	OwnRowKey	key;
	OwnRow	   *row;
	bool		found;

	if (kind < 0)
		return;
	if (own_rows == NULL)
	{
		HASHCTL		ctl;
		MemoryContextCallback *cb;

		own_cxt = AllocSetContextCreate(TopTransactionContext,
										"copernica_fdw own rows",
										ALLOCSET_DEFAULT_SIZES);
		cb = MemoryContextAlloc(own_cxt, sizeof(MemoryContextCallback));
		cb->func = forget_own_rows;
		cb->arg = NULL;
		MemoryContextRegisterResetCallback(own_cxt, cb);
		memset(&ctl, 0, sizeof(ctl));
		ctl.keysize = sizeof(OwnRowKey);
		ctl.entrysize = sizeof(OwnRow);
		ctl.hcxt = own_cxt;
		own_rows = hash_create("copernica_fdw own rows", 256, &ctl,
							   HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	}
	memset(&key, 0, sizeof(key));
	key.id = id;
	key.kind = kind;
	row = hash_search(own_rows, &key, HASH_ENTER, &found);
	/* an ID comes back once; should it come again, the first command made it */
	if (!found)
		row->cid = cid;
	if (!own_any[kind] || cid > own_last_cid[kind])
		own_last_cid[kind] = cid;
	own_any[kind] = true;
}

/*
 * Did commands a snapshot of command cid does not see (cid itself or
 * later) create rows of this kind?  The one test a scan makes per page.
 */
bool
copernica_own_rows_since(int kind, CommandId cid)
{
	return kind >= 0 && own_rows != NULL && own_any[kind] &&
		own_last_cid[kind] >= cid;
}

/* Was kind/id created by command cid or later? */
static bool
created_since(int kind, int64 id, CommandId cid)
{
	OwnRowKey	key;
	OwnRow	   *row;

	memset(&key, 0, sizeof(key));
	key.id = id;
	key.kind = kind;
	row = hash_search(own_rows, &key, HASH_FIND, NULL);
	return row != NULL && row->cid >= cid;
}

/*
 * Take out of a page the items this transaction created at command cid or
 * later: the scan's snapshot does not see them.  The page's items keep
 * their order.  Returns how many were taken out.
 */
int
copernica_drop_own_rows(CopernicaPage *page, int id_path, int kind, CommandId cid)
{
	int			kept = 0;
	int			i;

	if (!copernica_own_rows_since(kind, cid))
		return 0;
	for (i = 0; i < page->nitems; i++)
	{
		if (created_since(kind, copernica_page_item_id(page, i, id_path), cid))
			continue;
		if (kept != i)
		{
			memcpy(page->values + (size_t) kept * page->npaths,
				   page->values + (size_t) i * page->npaths,
				   sizeof(char *) * page->npaths);
			memcpy(page->is_json + (size_t) kept * page->npaths,
				   page->is_json + (size_t) i * page->npaths,
				   sizeof(bool) * page->npaths);
		}
		kept++;
	}
	i = page->nitems - kept;
	page->nitems = kept;
	return i;
}

/*
 * How many rows of this kind were created at command cid or later, and
 * the smallest of their IDs (0 for none) into *first: a pushed LIMIT reads
 * that many more, since the scan drops them, and a count stops below the
 * first (IDs are handed out in ascending order, so every row with this ID
 * or a higher one was created after such a snapshot).
 */
int64
copernica_own_rows_after(int kind, CommandId cid, int64 *first)
{
	HASH_SEQ_STATUS seq;
	OwnRow	   *row;
	int64		n = 0;

	*first = 0;
	if (!copernica_own_rows_since(kind, cid))
		return 0;
	hash_seq_init(&seq, own_rows);
	while ((row = hash_seq_search(&seq)) != NULL)
	{
		if (row->key.kind != kind || row->cid < cid)
			continue;
		if (*first == 0 || row->key.id < *first)
			*first = row->key.id;
		n++;
	}
	return n;
}
