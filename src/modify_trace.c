/*-------------------------------------------------------------------------
 *
 * modify_trace.c
 *		  What a statement has changed in Copernica, kept outside the
 *		  executor so that it outlives an error: when the statement the
 *		  client sent fails on an error the wrapper did not raise itself (an
 *		  expression, a trigger, a local partition's constraint, a cancel),
 *		  the abort warns what it had changed, since no rollback undoes it.
 *
 * A trace belongs to one write (a ModifyTable's result relation) while it
 * runs, and is then folded into its statement's.  The statement is the one
 * the client sent: functions and triggers it runs add to it.  Traces of an
 * earlier statement that completed are dropped when a later one begins to
 * write, and all at the transaction's end.  A subtransaction that commits,
 * or that a PL/pgSQL block rolls back to handle an error, hands its traces
 * to the level above (the statement goes on); one that an error reaching
 * the client aborts (a statement failing after SAVEPOINT) reports them.
 *
 * The abort callbacks send no request, read no catalog and touch no
 * executor memory: only these traces, in TopMemoryContext.  Each lists at
 * most MAX_LISTED_IDS IDs, and there is one per running write and per
 * statement, level and kind of change: a loop of a million one-row
 * statements folds into one.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "tcop/pquery.h"
#include "utils/memutils.h"

#include "copernica_fdw.h"
#include "modify.h"

static CopernicaTrace *traces = NULL;
static bool callbacks_registered = false;

/* Add n IDs to list, of which it keeps the first MAX_LISTED_IDS. */
static void
add_ids(CopernicaIdList *list, const int64 *ids, int n, int64 count)
{
	int			keep = Min(n, MAX_LISTED_IDS - list->n);

	list->count += count;
	if (keep <= 0)
		return;
	if (list->n + keep > list->max)
	{
		int			newmax = Max(list->max * 2, 16);

		while (newmax < list->n + keep)
			newmax *= 2;
		newmax = Min(newmax, MAX_LISTED_IDS);
		list->ids = list->ids ?
			repalloc(list->ids, sizeof(int64) * newmax) :
			MemoryContextAlloc(TopMemoryContext, sizeof(int64) * newmax);
		list->max = newmax;
	}
	memcpy(list->ids + list->n, ids, sizeof(int64) * keep);
	list->n += keep;
}

static void
trace_free(CopernicaTrace *t)
{
	if (t->done.ids)
		pfree(t->done.ids);
	if (t->in_flight.ids)
		pfree(t->in_flight.ids);
	pfree(t);
}

/* Unlink t from the list and free it. */
static void
trace_drop(CopernicaTrace *t)
{
	CopernicaTrace **p;

	for (p = &traces; *p != t; p = &(*p)->next)
		;
	*p = t->next;
	trace_free(t);
}

/*
 * A trace no write owns any more joins another of the same statement, level
 * and kind of change, if there is one: t is freed then.
 */
static void
fold(CopernicaTrace *t)
{
	CopernicaTrace *o;

	for (o = traces; o; o = o->next)
		if (o != t && o->owner == NULL && o->stmt == t->stmt &&
			o->level == t->level && o->operation == t->operation &&
			o->reported == t->reported &&
			strcmp(o->entity, t->entity) == 0)
			break;
	if (o == NULL)
		return;
	add_ids(&o->done, t->done.ids, t->done.n, t->done.count);
	add_ids(&o->in_flight, t->in_flight.ids, t->in_flight.n, t->in_flight.count);
	trace_drop(t);
}

static int
compare_ids(const void *a, const void *b)
{
	int64		x = *(const int64 *) a;
	int64		y = *(const int64 *) b;

	return (x > y) - (x < y);
}

/*
 * "31, 32, 33": concurrent requests finish in any order, so the list is
 * sorted to read well.
 */
static void
append_id_list(StringInfo buf, CopernicaIdList *list)
{
	int			i;

	qsort(list->ids, list->n, sizeof(int64), compare_ids);
	for (i = 0; i < list->n; i++)
		appendStringInfo(buf, "%s" INT64_FORMAT, i ? ", " : "", list->ids[i]);
	if (list->count > list->n)
		appendStringInfoString(buf, ", ...");
}

/*
 * The sentence of an error's (or the abort warning's) detail that lists
 * what the statement changed: "Before the failure this statement updated
 * 2 profiles: 7, 8."
 */
void
copernica_trace_append_done(StringInfo buf, CmdType operation,
							const char *entity, CopernicaIdList *done)
{
	appendStringInfo(buf, "%sBefore the failure this statement %s " INT64_FORMAT " %s%s: ",
					 buf->len ? "\n" : "",
					 operation == CMD_UPDATE ? "updated" :
					 operation == CMD_DELETE ? "removed" :
					 operation == COPERNICA_TRACE_UNSUBSCRIBE ? "unsubscribed" :
					 "created",
					 done->count, entity, done->count == 1 ? "" : "s");
	append_id_list(buf, done);
	appendStringInfoChar(buf, '.');
}

/* The same for requests cut off: "The outcome of 2 requests is unknown..." */
void
copernica_trace_append_unknown(StringInfo buf, int64 n)
{
	appendStringInfo(buf, "%sThe outcome of " INT64_FORMAT " request%s is unknown: %s cut off after %s may have reached Copernica.",
					 buf->len ? "\n" : "",
					 n, n == 1 ? "" : "s",
					 n == 1 ? "it was" : "they were",
					 n == 1 ? "it" : "they");
}

/*
 * The sentence for requests cut off, with the entities they were for: "The
 * outcome of 2 requests is unknown: ... Copernica (updates of profiles 7,
 * 8)."
 */
static void
append_in_flight(StringInfo buf, CmdType operation, const char *entity,
				 CopernicaIdList *flight)
{
	copernica_trace_append_unknown(buf, flight->count);
	buf->data[--buf->len] = '\0';
	appendStringInfo(buf, " (%s of %s%s ",
					 operation == CMD_UPDATE ? "updates" :
					 operation == CMD_DELETE ? "removals" :
					 operation == COPERNICA_TRACE_UNSUBSCRIBE ? "unsubscriptions" :
					 "creations",
					 entity, flight->count == 1 ? "" : "s");
	append_id_list(buf, flight);
	appendStringInfoString(buf, ").");
}

/*
 * Warn what the traces of the failing statement at nesting level level or
 * deeper changed, unless the wrapper's own error listed it, and drop every
 * trace of those levels.  One sentence per kind of change, as in an
 * error's detail.
 */
static void
report_and_drop(int level)
{
	TimestampTz stmt = GetCurrentStatementStartTimestamp();
	CopernicaTrace *mine = NULL;
	CopernicaTrace **p = &traces;
	StringInfoData detail;
	static const CmdType ops[] = {CMD_INSERT, CMD_UPDATE, CMD_DELETE,
	COPERNICA_TRACE_UNSUBSCRIBE};
	int			i;

	/* unlinked first: an error while reporting does not report again */
	while (*p)
	{
		CopernicaTrace *t = *p;

		if (t->level >= level)
		{
			*p = t->next;
			t->next = mine;
			mine = t;
		}
		else
			p = &t->next;
	}

	initStringInfo(&detail);
	for (i = 0; i < lengthof(ops); i++)
	{
		CopernicaTrace *t;
		CopernicaTrace *u;

#define LISTED(x) ((x)->operation == ops[i] && !(x)->reported && (x)->stmt == stmt)

		/* each kind of entity once, all its traces together */
		for (t = mine; t; t = t->next)
		{
			CopernicaIdList done = {0};
			CopernicaIdList flight = {0};

			if (!LISTED(t))
				continue;
			for (u = mine; u != t; u = u->next)
				if (LISTED(u) && strcmp(u->entity, t->entity) == 0)
					break;
			if (u != t)
				continue;		/* listed with an earlier one */
			for (u = t; u; u = u->next)
				if (LISTED(u) && strcmp(u->entity, t->entity) == 0)
				{
					add_ids(&done, u->done.ids, u->done.n, u->done.count);
					add_ids(&flight, u->in_flight.ids, u->in_flight.n,
							u->in_flight.count);
				}
			if (done.count > 0)
				copernica_trace_append_done(&detail, ops[i], t->entity, &done);
			if (flight.count > 0)
				append_in_flight(&detail, ops[i], t->entity, &flight);
			if (done.ids)
				pfree(done.ids);
			if (flight.ids)
				pfree(flight.ids);
		}
#undef LISTED
	}

	while (mine)
	{
		CopernicaTrace *next = mine->next;

		trace_free(mine);
		mine = next;
	}

	if (detail.len > 0)
		ereport(WARNING,
				(errmsg("changes made in Copernica before the error are not undone"),
				 errdetail_internal("%s", detail.data)));
	pfree(detail.data);
}

/*
 * The statement goes on at the level above level: its traces of level and
 * deeper are that level's now.  A write the abort of a subtransaction cut
 * short is over.
 */
static void
hand_up(int level)
{
	CopernicaTrace *t;
	CopernicaTrace *next;

	for (t = traces; t; t = next)
	{
		next = t->next;
		if (t->level < level)
			continue;
		t->level = level - 1;
		if (t->owner == NULL)
			fold(t);
	}
}

/*
 * An error that reaches the client has left every portal: ActivePortal is
 * NULL while the transaction or savepoint aborts.  A PL/pgSQL block that
 * handles an error rolls back inside the running statement's portal.
 */
static bool
error_reaches_client(void)
{
	return ActivePortal == NULL;
}

static void
trace_xact_callback(XactEvent event, void *arg)
{
	switch (event)
	{
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PARALLEL_ABORT:
			if (traces && error_reaches_client())
				report_and_drop(0);
			else
				while (traces)
					trace_drop(traces);
			break;
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_PARALLEL_COMMIT:
		case XACT_EVENT_PREPARE:
			while (traces)
				trace_drop(traces);
			break;
		default:
			break;
	}
}

static void
trace_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
					   SubTransactionId parentSubid, void *arg)
{
	int			level = GetCurrentTransactionNestLevel();
	CopernicaTrace *t;

	if (traces == NULL)
		return;
	if (event == SUBXACT_EVENT_ABORT_SUB)
	{
		if (error_reaches_client())
			report_and_drop(level);
		else
		{
			/*
			 * The writes the abort cut short are over, and the error that
			 * may have listed what they did does not reach the client.
			 */
			for (t = traces; t; t = t->next)
				if (t->level >= level)
				{
					t->owner = NULL;
					t->reported = false;
				}
			hand_up(level);
		}
	}
	else if (event == SUBXACT_EVENT_COMMIT_SUB)
		hand_up(level);
}

/* The trace of a write about to begin; owner is its state, only compared. */
CopernicaTrace *
copernica_trace_begin(const void *owner, CmdType operation, const char *entity)
{
	TimestampTz stmt = GetCurrentStatementStartTimestamp();
	CopernicaTrace *t;
	CopernicaTrace *next;

	if (!callbacks_registered)
	{
		RegisterXactCallback(trace_xact_callback, NULL);
		RegisterSubXactCallback(trace_subxact_callback, NULL);
		callbacks_registered = true;
	}
	/* earlier statements of the transaction completed */
	for (t = traces; t; t = next)
	{
		next = t->next;
		if (t->owner == NULL && t->stmt != stmt)
			trace_drop(t);
	}

	t = MemoryContextAllocZero(TopMemoryContext, sizeof(CopernicaTrace));
	t->owner = owner;
	t->stmt = stmt;
	t->level = GetCurrentTransactionNestLevel();
	t->operation = operation;
	strlcpy(t->entity, entity, sizeof(t->entity));
	t->next = traces;
	traces = t;
	return t;
}

/* The write changed the entity id. */
void
copernica_trace_done(CopernicaTrace *t, int64 id)
{
	add_ids(&t->done, &id, 1, 1);
}

/* A request for the entity id went out; its answer is not checked yet. */
void
copernica_trace_sent(CopernicaTrace *t, int64 id)
{
	add_ids(&t->in_flight, &id, 1, 1);
}

/*
 * Send req, a change of the entity id, and wait for its answer, the
 * request in t's requests in flight meanwhile: when an error cuts it off
 * before its answer (a cancel, statement_timeout), it stays there, of
 * unknown outcome.  The answer lives in the current memory context, and is
 * not checked here.
 */
CopernicaResponse *
copernica_trace_perform(CopernicaTrace *t, int64 id, CopernicaConnection *conn,
						CopernicaRequest *req, CopernicaStats *stats)
{
	CopernicaBatch *batch = copernica_batch_begin(conn, stats);
	int			handle = copernica_batch_add(batch, req);
	CopernicaResponse *resp;

	copernica_trace_sent(t, id);
	PG_TRY();
	{
		resp = copernica_batch_wait(batch, handle);
	}
	PG_CATCH();
	{
		const char *x_created;
		CopernicaOutcome outcome = copernica_batch_outcome(batch, handle,
														   &x_created);

		if (outcome != COPERNICA_OUTCOME_PENDING &&
			outcome != COPERNICA_OUTCOME_UNKNOWN)
			copernica_trace_answered(t, id);
		PG_RE_THROW();
	}
	PG_END_TRY();
	copernica_trace_answered(t, id);
	return resp;
}

/* The answer to the request for id has been checked. */
void
copernica_trace_answered(CopernicaTrace *t, int64 id)
{
	int			i;

	for (i = 0; i < t->in_flight.n; i++)
		if (t->in_flight.ids[i] == id)
		{
			t->in_flight.ids[i] = t->in_flight.ids[--t->in_flight.n];
			t->in_flight.count--;
			return;
		}
}

/*
 * What t changed, for the detail of the wrapper's own error; no warning
 * repeats it.
 */
void
copernica_trace_reported(CopernicaTrace *t, StringInfo detail)
{
	if (t->done.count > 0)
		copernica_trace_append_done(detail, t->operation, t->entity, &t->done);
	if (t->in_flight.count > 0)
		append_in_flight(detail, t->operation, t->entity, &t->in_flight);
	t->reported = true;
}

/* The write is over: its trace becomes part of its statement's. */
void
copernica_trace_end(CopernicaTrace *t)
{
	t->owner = NULL;
	fold(t);
}
