/*-------------------------------------------------------------------------
 *
 * modify_write.c
 *		  UPDATE and DELETE: one PUT or DELETE per row.  Without RETURNING or
 *		  triggers, up to max_concurrency requests stay in flight and each
 *		  is checked when room is needed or at the end of the statement; a
 *		  failure waits for the others, so that the error can say which
 *		  rows were changed.  A row the statement has written already (a
 *		  join that yields it twice) is skipped, as PostgreSQL skips a row
 *		  already changed by the same command, and so is one Copernica has
 *		  removed meanwhile, as PostgreSQL skips a row deleted concurrently.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "executor/executor.h"
#include "miscadmin.h"
#include "nodes/execnodes.h"
#include "utils/memutils.h"

#include "copernica_fdw.h"
#include "modify.h"

static ExecutorRun_hook_type prev_executor_run = NULL;

/*
 * The row an UPDATE or DELETE is at: its ID, and the error context.  Work
 * happens in the row context, reset at the next row; returns the caller's.
 */
static MemoryContext
begin_row(CopernicaModifyState *st, TupleTableSlot *planSlot,
		  ErrorContextCallback *errcb)
{
	MemoryContext caller_cxt;

	MemoryContextReset(st->row_cxt);
	caller_cxt = MemoryContextSwitchTo(st->row_cxt);
	st->current_row = st->rows_done + 1;
	st->current_id = copernica_modify_junk_id(st, planSlot);
	errcb->callback = copernica_modify_error_callback;
	errcb->arg = st;
	errcb->previous = error_context_stack;
	error_context_stack = errcb;
	return caller_cxt;
}

/* The row is done: what begin_row set up goes back. */
static void
end_row(CopernicaModifyState *st, ErrorContextCallback *errcb,
		MemoryContext caller_cxt)
{
	error_context_stack = errcb->previous;
	st->current_id = NULL;
	MemoryContextSwitchTo(caller_cxt);
}

/*
 * Whether this is the statement's first write to the entity: its ID is
 * remembered before the request is sent, so that a repeat is skipped even
 * while the first is still in flight.
 */
static bool
first_write(CopernicaModifyState *st, int64 id)
{
	bool		found;

	(void) hash_search(st->written_ids, &id, HASH_ENTER, &found);
	return !found;
}

/*
 * Check the answer to an UPDATE's or DELETE's request.  A DELETE of an
 * entity that is gone already is not an error: another client removed it
 * after the scan read it.  Returns true then; the row is not the
 * statement's (see write_row).
 */
static bool
check_write(CopernicaModifyState *st, CopernicaRequest *req,
			CopernicaResponse *resp)
{
	char	   *gone;

	if (resp->error_message == NULL)
		return false;

	/* Copernica's exact words; anything else is an error */
	gone = psprintf("This %s has already been removed", st->res->entity_prefix);
	if (st->operation != CMD_DELETE ||
		pg_strcasecmp(resp->error_message, gone) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_ERROR),
				 errmsg("Copernica rejected the request: %s", resp->error_message),
				 errcontext("Copernica request: %s",
							copernica_request_shown(req))));
	st->already_removed++;
	return true;
}

/*
 * A write failed: learn what became of every write in flight (the one that
 * failed too), and raise the error again with what the statement changed.
 * Each is then done (listed as changed), answered with an error (not
 * changed), not sent, or cut off after it may have reached Copernica: that
 * one stays among the trace's requests in flight, which the detail names
 * as of unknown outcome.  An error while waiting for them (a second cancel,
 * libcurl failing) ends the wait: what has not been answered by then is of
 * unknown outcome, and the detail says why the wait stopped.  The first
 * error is the one raised, as postgres_fdw does.
 */
static void
fail_writes(CopernicaModifyState *st, MemoryContext cxt)
{
	ErrorData  *edata;
	volatile int i;

	MemoryContextSwitchTo(cxt);
	edata = CopyErrorData();
	FlushErrorState();
	copernica_batch_stop(st->wbatch);
	for (i = 0; i < st->ninflight; i++)
	{
		InflightWrite *w = &st->inflight[i];
		const char *x_created;
		CopernicaOutcome outcome;

		if (st->wait_error == NULL)
		{
			PG_TRY();
			{
				copernica_batch_settle(st->wbatch, w->handle);
			}
			PG_CATCH();
			{
				ErrorData  *second;

				MemoryContextSwitchTo(cxt);
				second = CopyErrorData();
				FlushErrorState();
				st->wait_error = second->message;
			}
			PG_END_TRY();
		}
		outcome = copernica_batch_outcome(st->wbatch, w->handle, &x_created);
		switch (outcome)
		{
			case COPERNICA_OUTCOME_SUCCEEDED:
				copernica_trace_answered(st->trace, w->id);
				copernica_modify_remember_created(st, w->id);
				break;
			case COPERNICA_OUTCOME_PENDING:
			case COPERNICA_OUTCOME_UNKNOWN:
				break;
			default:
				copernica_trace_answered(st->trace, w->id);
				copernica_modify_count_unfinished(st, outcome);
				break;
		}
	}
	st->ninflight = 0;
	copernica_modify_raise(st, edata);
}

/*
 * Wait for the answer to the oldest write in flight and check it.  The
 * error context names that write's row, not the current one.  It stays in
 * flight until then, so that a failure (its own, or a cancel while waiting
 * for it) accounts for it too.
 */
static void
finish_oldest_write(CopernicaModifyState *st)
{
	InflightWrite w = st->inflight[0];
	MemoryContext cxt = CurrentMemoryContext;
	int64		save_row = st->current_row;
	const char *save_id = st->current_id;
	volatile bool gone = false;

	st->current_row = w.row;
	st->current_id = psprintf(INT64_FORMAT, w.id);
	PG_TRY();
	{
		CopernicaResponse *resp = copernica_batch_wait(st->wbatch, w.handle);

		gone = check_write(st, w.req, resp);
	}
	PG_CATCH();
	{
		fail_writes(st, cxt);
	}
	PG_END_TRY();
	memmove(st->inflight, st->inflight + 1,
			sizeof(InflightWrite) * (st->ninflight - 1));
	st->ninflight--;
	copernica_trace_answered(st->trace, w.id);

	/*
	 * The row was counted when its request was sent; one that was gone
	 * already is taken off the count again.  The statement's command tag
	 * is read once the plan has run, and every answer has been checked by
	 * then (copernica_executor_run).
	 */
	if (gone)
	{
		if (st->processed)
			(*st->processed)--;
	}
	else
		copernica_modify_remember_created(st, w.id);
	copernica_batch_forget(st->wbatch, w.handle);
	pfree(w.req->path);
	if (w.req->body)
		pfree(w.req->body);
	pfree(w.req);
	st->current_row = save_row;
	st->current_id = save_id;
}

/*
 * Send the current row's request and return: it is checked when room is
 * needed, or at the end.  No two are to the same entity (first_write).
 */
static void
start_write(CopernicaModifyState *st, TupleTableSlot *slot,
			TupleTableSlot *planSlot, int64 id)
{
	MemoryContext old;
	InflightWrite *w;

	if (st->ninflight >= st->maxinflight)
		finish_oldest_write(st);

	old = MemoryContextSwitchTo(GetMemoryChunkContext(st));
	if (st->wbatch == NULL)
	{
		st->wbatch = copernica_batch_begin(st->conn, &st->stats);
		st->inflight = palloc0(sizeof(InflightWrite) * st->maxinflight);
	}
	w = &st->inflight[st->ninflight];
	w->row = st->current_row;
	w->id = id;
	w->req = palloc0(sizeof(CopernicaRequest));
	MemoryContextSwitchTo(old);

	{
		CopernicaRequest *req = copernica_modify_write_request(st, slot, planSlot);

		old = MemoryContextSwitchTo(GetMemoryChunkContext(st));
		w->req->method = req->method;
		w->req->path = pstrdup(req->path);
		w->req->body = req->body ? pstrdup(req->body) : NULL;
		w->req->accept_error = req->accept_error;
		MemoryContextSwitchTo(old);
	}
	w->handle = copernica_batch_add(st->wbatch, w->req);
	st->ninflight++;
	/* an error elsewhere before its answer is checked: outcome unknown */
	copernica_trace_sent(st->trace, id);
}

/* Every write in flight is answered and checked. */
static void
finish_writes(CopernicaModifyState *st)
{
	ErrorContextCallback errcb;

	if (st->ninflight == 0)
		return;
	errcb.callback = copernica_modify_error_callback;
	errcb.arg = st;
	errcb.previous = error_context_stack;
	error_context_stack = &errcb;
	while (st->ninflight > 0)
		finish_oldest_write(st);
	error_context_stack = errcb.previous;
	st->current_id = NULL;
}

/*
 * The current row's request, now, and RETURNING's read-back.  Returns
 * whether the entity was gone already (see write_row).  Any error of the
 * row, its read-back's too, lists the rows written before it (and this
 * one, once its request has succeeded).
 */
static bool
write_now(CopernicaModifyState *st, TupleTableSlot *slot,
		  TupleTableSlot *planSlot, int64 id)
{
	volatile bool gone = false;

	PG_TRY();
	{
		CopernicaRequest *req;

		/*
		 * RETURNING shows a removed row as it was: read it before it goes.
		 * One removed already is not asked to go again.
		 */
		if (st->readback && st->operation == CMD_DELETE &&
			copernica_modify_read_back(st, st->current_id, slot))
		{
			st->already_removed++;
			gone = true;
		}
		if (!gone)
		{
			req = copernica_modify_write_request(st, slot, planSlot);
			gone = check_write(st, req,
							   copernica_trace_perform(st->trace, id, st->conn,
													   req, &st->stats));
		}
		if (!gone)
		{
			copernica_modify_remember_created(st, id);
			if (st->readback && st->operation == CMD_UPDATE &&
				copernica_modify_read_back(st, st->current_id, slot))
			{
				st->already_removed++;
				gone = true;
			}
		}
	}
	PG_CATCH();
	{
		copernica_modify_rethrow(st, st->row_cxt);
	}
	PG_END_TRY();
	return gone;
}

/*
 * The write of one row, now or overlapped with the next ones.  NULL for a
 * row written already: no request, not counted, no RETURNING row and no
 * AFTER ROW trigger, as for a row PostgreSQL finds already changed by the
 * same command.  NULL too for an entity Copernica had removed already,
 * as for a row PostgreSQL (or postgres_fdw, whose remote UPDATE or DELETE
 * then affects no row) finds deleted concurrently: a DELETE that Copernica
 * answers "already removed", and an UPDATE or DELETE whose RETURNING reads
 * the entity as removed (Copernica accepts an UPDATE of a removed entity
 * and keeps its fields empty).  The NOTICE at the end counts them.
 * Overlapped, the row is counted when its request is sent, and taken off
 * the count when its answer says it was gone.
 */
static TupleTableSlot *
write_row(CopernicaModifyState *st, TupleTableSlot *slot,
		  TupleTableSlot *planSlot)
{
	ErrorContextCallback errcb;
	MemoryContext caller_cxt = begin_row(st, planSlot, &errcb);
	int64		id;
	bool		gone;

	/* copernica_modify_junk_id has checked it */
	(void) copernica_parse_id(st->current_id, &id);
	if (!first_write(st, id))
	{
		end_row(st, &errcb, caller_cxt);
		return NULL;
	}
	st->rows_done++;

	if (st->overlap)
	{
		start_write(st, slot, planSlot, id);
		end_row(st, &errcb, caller_cxt);
		return slot;
	}

	gone = write_now(st, slot, planSlot, id);
	end_row(st, &errcb, caller_cxt);
	return gone ? NULL : slot;
}

TupleTableSlot *
copernicaExecForeignUpdate(EState *estate, ResultRelInfo *rinfo,
						   TupleTableSlot *slot, TupleTableSlot *planSlot)
{
	return write_row(rinfo->ri_FdwState, slot, planSlot);
}

TupleTableSlot *
copernicaExecForeignDelete(EState *estate, ResultRelInfo *rinfo,
						   TupleTableSlot *slot, TupleTableSlot *planSlot)
{
	return write_row(rinfo->ri_FdwState, slot, planSlot);
}

void
copernicaEndForeignModify(EState *estate, ResultRelInfo *rinfo)
{
	CopernicaModifyState *st = rinfo->ri_FdwState;

	if (st && st->overlap)
		finish_writes(st);
	/* the statement's trace keeps what this write changed */
	if (st && st->trace)
	{
		copernica_trace_end(st->trace);
		st->trace = NULL;
	}
	if (st && st->already_removed > 0)
		ereport(NOTICE,
				(errmsg(INT64_FORMAT " %s%s had already been removed in Copernica",
						st->already_removed, st->res->entity_prefix,
						st->already_removed == 1 ? "" : "s"),
				 st->already_removed == 1 ?
				 errdetail("It was removed after this statement read it, and is not counted as %s.",
						   st->operation == CMD_DELETE ? "deleted" : "updated") :
				 errdetail("They were removed after this statement read them, and are not counted as %s.",
						   st->operation == CMD_DELETE ? "deleted" : "updated")));
}

/*
 * The plan of an UPDATE or DELETE has run: its requests still in flight
 * are answered and checked now.  PostgreSQL reads the statement's row
 * count (the command tag, SPI's and PL/pgSQL's ROW_COUNT) right after
 * ExecutorRun, before copernicaEndForeignModify, and a row whose entity
 * was gone already is to be taken off that count first.  A failed request
 * is an error here as it would be there.
 */
static void
copernica_executor_run(COPERNICA_EXECUTOR_RUN_PARAMS)
{
	if (prev_executor_run)
		prev_executor_run(COPERNICA_EXECUTOR_RUN_ARGS);
	else
		standard_ExecutorRun(COPERNICA_EXECUTOR_RUN_ARGS);

	/*
	 * Only the statement's own ModifyTable counts rows; a data-modifying
	 * WITH runs to its end in ExecutorFinish and counts none.
	 */
	if (queryDesc->planstate && IsA(queryDesc->planstate, ModifyTableState))
	{
		ModifyTableState *mtstate = (ModifyTableState *) queryDesc->planstate;
		int			i;

		if (mtstate->operation != CMD_UPDATE && mtstate->operation != CMD_DELETE)
			return;
		for (i = 0; i < mtstate->mt_nrels; i++)
		{
			ResultRelInfo *rinfo = &mtstate->resultRelInfo[i];
			CopernicaModifyState *st;

			if (rinfo->ri_FdwRoutine == NULL ||
				rinfo->ri_FdwRoutine->ExecForeignUpdate != copernicaExecForeignUpdate ||
				rinfo->ri_FdwState == NULL)
				continue;
			st = rinfo->ri_FdwState;
			if (st->overlap)
				finish_writes(st);
		}
	}
}

/* Called once, when the library is loaded. */
void
copernica_modify_install_hooks(void)
{
	prev_executor_run = ExecutorRun_hook;
	ExecutorRun_hook = copernica_executor_run;
}
