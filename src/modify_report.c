/*-------------------------------------------------------------------------
 *
 * modify_report.c
 *		  What a failed INSERT, UPDATE or DELETE says it did: the error
 *		  context (which row, which entity), the entities created, changed or
 *		  removed before the failure, and the requests whose outcome is
 *		  unknown or that were never sent.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "copernica_fdw.h"
#include "modify.h"

void
copernica_modify_error_callback(void *arg)
{
	CopernicaModifyState *st = arg;
	const char *what = st->operation == CMD_INSERT ? "INSERT" :
		st->operation == CMD_UPDATE ? "UPDATE" : "DELETE";

	if (st->current_id)
		errcontext("%s of row " INT64_FORMAT " (Copernica %s %s) in foreign table \"%s\"",
				   what, st->current_row, st->res->entity_prefix, st->current_id,
				   RelationGetRelationName(st->rel));
	else
		errcontext("%s of row " INT64_FORMAT " in foreign table \"%s\"",
				   what, st->current_row, RelationGetRelationName(st->rel));
}

void
copernica_modify_remember_created(CopernicaModifyState *st, int64 id)
{
	copernica_trace_done(st->trace, id);
	/* scans that began before it do not read it (own_rows.c) */
	if (st->operation == CMD_INSERT)
		copernica_own_row_created(&st->own, id, st->output_cid);
}

/*
 * Add what the statement created so far, and what became of the rest of
 * the failing batch, to the escaping error, and raise it again.
 */
void
copernica_modify_rethrow(CopernicaModifyState *st, MemoryContext cxt)
{
	ErrorData  *edata;

	MemoryContextSwitchTo(cxt);
	edata = CopyErrorData();
	FlushErrorState();
	copernica_modify_raise(st, edata);
}

/*
 * The same for an error already caught (copied, and the error state
 * flushed): edata, in the current memory context, is raised again.
 */
void
copernica_modify_raise(CopernicaModifyState *st, ErrorData *edata)
{
	StringInfoData detail;

	initStringInfo(&detail);
	if (edata->detail)
		appendStringInfoString(&detail, edata->detail);
	/* and no warning repeats it when the transaction aborts */
	if (st->trace)
		copernica_trace_reported(st->trace, &detail);
	if (st->unknown_outcome > 0)
		copernica_trace_append_unknown(&detail, st->unknown_outcome);
	if (st->upsert && copernica_upsert_applied_detail(st->upsert))
		appendStringInfo(&detail, "%s%s", detail.len ? "\n" : "",
						 copernica_upsert_applied_detail(st->upsert));
	if (st->not_sent > 0)
		appendStringInfo(&detail, "%s" INT64_FORMAT " other row%s of the batch %s not sent.",
						 detail.len ? "\n" : "",
						 st->not_sent, st->not_sent == 1 ? "" : "s",
						 st->not_sent == 1 ? "was" : "were");
	if (st->wait_error)
		appendStringInfo(&detail, "%sWaiting for the other requests in flight was cut short: %s.",
						 detail.len ? "\n" : "", st->wait_error);
	edata->detail = detail.len ? detail.data : NULL;
	ReThrowError(edata);
}

/* Count a request given up on that did not succeed: unknown or not sent. */
void
copernica_modify_count_unfinished(CopernicaModifyState *st,
								  CopernicaOutcome outcome)
{
	if (outcome == COPERNICA_OUTCOME_PENDING ||
		outcome == COPERNICA_OUTCOME_UNKNOWN)
		st->unknown_outcome++;
	else if (outcome == COPERNICA_OUTCOME_NOT_SENT)
		st->not_sent++;
}

/*
 * Learn, without raising, what became of requests from..n-1 of a batch
 * that is being given up: the IDs created, and the rest counted.
 */
void
copernica_modify_note_outcomes(CopernicaModifyState *st, CopernicaBatch *batch,
							   int *handles, char **keys, int from, int n)
{
	int			i;

	for (i = from; i < n; i++)
	{
		const char *x_created;
		int64		id;
		CopernicaOutcome outcome;

		outcome = copernica_batch_outcome(batch, handles[i], &x_created);
		switch (outcome)
		{
			case COPERNICA_OUTCOME_SUCCEEDED:
				if (x_created && copernica_parse_id(x_created, &id))
					copernica_modify_remember_created(st, id);
				else if (keys)
					copernica_upsert_note_updated(st->upsert, keys[i]);
				else
					st->unknown_outcome++;
				break;
			default:
				copernica_modify_count_unfinished(st, outcome);
				break;
		}
	}
}
