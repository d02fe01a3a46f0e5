/*-------------------------------------------------------------------------
 *
 * modify_insert.c
 *		  INSERT and COPY: the rows of a batch (ModifyTable's, or those COPY
 *		  gathers here) go out together, up to max_concurrency at once;
 *		  every answer is waited for, the new IDs read from X-Created, and
 *		  RETURNING filled in.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "executor/executor.h"
#include "miscadmin.h"
#include "utils/memutils.h"

#include "copernica_fdw.h"
#include "modify.h"

/* The ID from X-Created: digits only, or the answer is not trusted. */
static int64
created_id(CopernicaResponse *resp)
{
	int64		id;

	if (resp->x_created == NULL || resp->x_created[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_FDW_ERROR),
				 errmsg("Copernica did not say which ID it created"),
				 errdetail("The answer (HTTP %ld) had no X-Created header.", resp->status)));
	if (!copernica_parse_id(resp->x_created, &id))
		ereport(ERROR,
				(errcode(ERRCODE_FDW_INVALID_STRING_FORMAT),
				 errmsg("Copernica sent an invalid X-Created header")));
	return id;
}

/*
 * The answer to one row's request: the new ID, into the slot RETURNING
 * reads when slot is given.  An upsert that updated says no ID; RETURNING
 * looks it up by the key.
 */
static void
finish_insert(CopernicaModifyState *st, CopernicaBatch *batch, int handle,
			  CopernicaRequest *req, const char *key, TupleTableSlot *slot)
{
	CopernicaResponse *resp = copernica_batch_wait(batch, handle);
	char	   *id = NULL;

	if (st->upsert && (resp->x_created == NULL || resp->x_created[0] == '\0'))
	{
		copernica_upsert_note_updated(st->upsert, key);
		if (slot && st->returning_attrs != NIL)
			id = copernica_upsert_lookup_id(st->upsert, st->conn, &st->stats,
											req->path, key);
	}
	else
	{
		int64		idnum = created_id(resp);

		copernica_modify_remember_created(st, idnum);
		id = psprintf(INT64_FORMAT, idnum);
	}
	if (slot && id)
	{
		/* the ID too, which RETURNING may not name but a trigger reads */
		if (st->readback)
			(void) copernica_modify_read_back(st, id, slot);
		copernica_modify_set_returned_id(st, slot, id);
	}
}

/*
 * Send the requests of rows first_row.., all in flight together (up to
 * max_concurrency), and put each new ID into its slot when slots is given.
 *
 * Every request started is waited for, so that an error can list all the
 * statement created.  After a row fails no request is started any more,
 * and an interrupt stops the batch at once: no POST goes out after a
 * cancel.  The first error, in row order, is raised again with that list.
 *
 * An upsert (keys given) whose key may be that of a row before it waits
 * until the rows before it are done: sent together, both would find no
 * match and create two profiles.
 */
static void
send_inserts(CopernicaModifyState *st, CopernicaRequest **reqs,
			 TupleTableSlot **slots, char **keys, bool *wait_before,
			 int n, int64 first_row)
{
	MemoryContext cxt = CurrentMemoryContext;
	CopernicaBatch *volatile batch = NULL;
	int		   *handles = palloc(sizeof(int) * n);
	volatile int nadded = 0;
	volatile int i;

	PG_TRY();
	{
		bool		stopped = false;
		int			j;

		CHECK_FOR_INTERRUPTS();
		batch = copernica_batch_begin(st->conn, &st->stats);
		for (i = 0; i < n && !stopped; i++)
		{
			if (wait_before && wait_before[i])
			{
				for (j = 0; j < i; j++)
				{
					const char *x_created;

					st->current_row = first_row + j;
					copernica_batch_settle(batch, handles[j]);
					if (copernica_batch_outcome(batch, handles[j], &x_created) !=
						COPERNICA_OUTCOME_SUCCEEDED)
						stopped = true;
				}
				if (stopped)
					break;
			}
			handles[i] = copernica_batch_add(batch, reqs[i]);
			nadded = i + 1;
		}
		for (i = 0; i < nadded; i++)
		{
			const char *x_created;

			st->current_row = first_row + i;
			copernica_batch_settle(batch, handles[i]);
			if (copernica_batch_outcome(batch, handles[i], &x_created) !=
				COPERNICA_OUTCOME_SUCCEEDED)
				copernica_batch_stop(batch);
		}
	}
	PG_CATCH();
	{
		/* an interrupt, or libcurl failing: what is running was cut off */
		if (batch)
		{
			copernica_batch_stop(batch);
			copernica_modify_note_outcomes(st, batch, handles, keys, 0, nadded);
			st->not_sent += n - nadded;
			copernica_batch_end(batch);
		}
		else
			st->not_sent += n;
		copernica_modify_rethrow(st, cxt);
	}
	PG_END_TRY();

	/* rows an earlier failure kept from being sent */
	st->not_sent += n - nadded;

	for (i = 0; i < nadded; i++)
	{
		st->current_row = first_row + i;
		PG_TRY();
		{
			finish_insert(st, batch, handles[i], reqs[i], keys ? keys[i] : NULL,
						  slots ? slots[i] : NULL);
		}
		PG_CATCH();
		{
			copernica_modify_note_outcomes(st, batch, handles, keys, i + 1, nadded);
			copernica_batch_end(batch);
			copernica_modify_rethrow(st, cxt);
		}
		PG_END_TRY();
	}
	copernica_batch_end(batch);
}

/* Send the rows COPY gathered, and start gathering afresh. */
static void
send_pending(CopernicaModifyState *st)
{
	ErrorContextCallback errcb;
	MemoryContext caller_cxt;
	int			n = st->npending;

	if (n == 0)
		return;
	caller_cxt = MemoryContextSwitchTo(st->row_cxt);
	errcb.callback = copernica_modify_error_callback;
	errcb.arg = st;
	errcb.previous = error_context_stack;
	error_context_stack = &errcb;
	st->current_id = NULL;

	st->npending = 0;
	send_inserts(st, st->pending, NULL,
				 st->upsert ? st->pending_keys : NULL,
				 st->upsert ? st->pending_wait : NULL,
				 n, st->rows_done + 1);
	st->rows_done += n;

	error_context_stack = errcb.previous;
	MemoryContextSwitchTo(caller_cxt);
	MemoryContextReset(st->row_cxt);
}

TupleTableSlot *
copernicaExecForeignInsert(EState *estate, ResultRelInfo *rinfo,
						   TupleTableSlot *slot, TupleTableSlot *planSlot)
{
	CopernicaModifyState *st = rinfo->ri_FdwState;
	int			one = 1;

	if (st->gather)
	{
		ErrorContextCallback errcb;
		MemoryContext caller_cxt = MemoryContextSwitchTo(st->row_cxt);

		errcb.callback = copernica_modify_error_callback;
		errcb.arg = st;
		errcb.previous = error_context_stack;
		error_context_stack = &errcb;
		st->current_id = NULL;
		st->current_row = st->rows_done + st->npending + 1;

		/* a row that cannot be written stops COPY before its batch goes */
		PG_TRY();
		{
			if (st->upsert && st->npending == 0)
				copernica_upsert_new_batch(st->upsert);
			st->pending[st->npending] =
				copernica_modify_insert_request(st, slot,
												&st->pending_keys[st->npending],
												&st->pending_wait[st->npending]);
		}
		PG_CATCH();
		{
			st->not_sent += st->npending;
			copernica_modify_rethrow(st, st->row_cxt);
		}
		PG_END_TRY();
		st->npending++;

		error_context_stack = errcb.previous;
		MemoryContextSwitchTo(caller_cxt);
		if (st->npending >= st->opts->batch_size)
			send_pending(st);
		return slot;
	}
	return copernicaExecForeignBatchInsert(estate, rinfo, &slot, &planSlot, &one)[0];
}

/*
 * A batch of rows.  Every body is built before the first request goes out:
 * a row that cannot be written stops the batch before any of it is sent.
 */
TupleTableSlot **
copernicaExecForeignBatchInsert(EState *estate, ResultRelInfo *rinfo,
								TupleTableSlot **slots, TupleTableSlot **planSlots,
								int *numSlots)
{
	CopernicaModifyState *st = rinfo->ri_FdwState;
	MemoryContext caller_cxt = CurrentMemoryContext;
	MemoryContext cxt;
	ErrorContextCallback errcb;
	CopernicaRequest **reqs;
	char	  **keys;
	bool	   *wait_before;
	int64		first_row = st->rows_done + 1;
	volatile int i;

	/*
	 * Everything a batch needs lives in the row context, reset at the next
	 * call: ModifyTable is done with the slots by then.
	 */
	MemoryContextReset(st->row_cxt);
	MemoryContextSwitchTo(st->row_cxt);
	cxt = st->row_cxt;
	reqs = palloc(sizeof(CopernicaRequest *) * *numSlots);
	keys = palloc0(sizeof(char *) * *numSlots);
	wait_before = palloc0(sizeof(bool) * *numSlots);

	errcb.callback = copernica_modify_error_callback;
	errcb.arg = st;
	errcb.previous = error_context_stack;
	error_context_stack = &errcb;
	st->current_id = NULL;

	PG_TRY();
	{
		if (st->upsert)
			copernica_upsert_new_batch(st->upsert);
		for (i = 0; i < *numSlots; i++)
		{
			st->current_row = first_row + i;
			reqs[i] = copernica_modify_insert_request(st, slots[i], &keys[i], &wait_before[i]);
		}
	}
	PG_CATCH();
	{
		st->not_sent += *numSlots - 1;
		copernica_modify_rethrow(st, cxt);
	}
	PG_END_TRY();

	send_inserts(st, reqs, slots, st->upsert ? keys : NULL,
				 st->upsert ? wait_before : NULL, *numSlots, first_row);
	st->rows_done += *numSlots;

	error_context_stack = errcb.previous;
	MemoryContextSwitchTo(caller_cxt);
	return slots;
}

int
copernicaGetForeignModifyBatchSize(ResultRelInfo *rinfo)
{
	CopernicaModifyState *st = rinfo->ri_FdwState;

	/*
	 * RETURNING and row triggers need each row back before the next, and
	 * so does a view's WITH CHECK OPTION, which PostgreSQL checks once the
	 * write has returned: batched, the rows after one that fails it would
	 * be created too.  COPY gathers its rows here (st->gather) on every
	 * version; from 16 on, COPY would otherwise batch them itself, and fail
	 * differently.
	 */
	if (st == NULL || st->opts == NULL || st->gather || rinfo->ri_projectReturning ||
		rinfo->ri_WithCheckOptions != NIL ||
		(rinfo->ri_TrigDesc &&
		 (rinfo->ri_TrigDesc->trig_insert_after_row ||
		  rinfo->ri_TrigDesc->trig_insert_before_row)))
		return 1;
	return st->opts->batch_size;
}

/* COPY's last rows go out here, before the statement can report success. */
void
copernicaEndForeignInsert(EState *estate, ResultRelInfo *rinfo)
{
	CopernicaModifyState *st = rinfo->ri_FdwState;

	if (st && st->gather)
		send_pending(st);
	copernicaEndForeignModify(estate, rinfo);
}
