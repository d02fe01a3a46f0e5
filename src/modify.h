/*-------------------------------------------------------------------------
 *
 * modify.h
 *		  What the files of INSERT, UPDATE and DELETE share; private to them:
 *		  modify.c (planning, the state of a write, EXPLAIN), modify_row.c
 *		  (a row as a request, and back for RETURNING), modify_insert.c
 *		  (INSERT and COPY), modify_write.c (UPDATE and DELETE) and
 *		  modify_report.c (what a failed statement says it did) and
 *		  modify_trace.c (what it changed, kept beyond an error), which
 *		  functions.c uses too.
 *
 *-------------------------------------------------------------------------
 */
#ifndef COPERNICA_MODIFY_H
#define COPERNICA_MODIFY_H

#include "datatype/timestamp.h"
#include "executor/tuptable.h"
#include "lib/stringinfo.h"
#include "utils/hsearch.h"
#include "utils/rel.h"

/* At most this many created IDs are listed in an error. */
#define MAX_LISTED_IDS	1000

/* What the field a column writes can hold (modify_values.c). */
typedef enum FieldKind
{
	FIELD_ANY,					/* any text */
	FIELD_SELECT,				/* one of its choices */
	FIELD_INTEGER,				/* a 64-bit integer */
	FIELD_FLOAT,				/* a finite number */
	FIELD_DATE,					/* a date, "YYYY-MM-DD" */
	FIELD_DATETIME				/* a datetime, "YYYY-MM-DD hh:mm:ss" */
} FieldKind;

/* What a column of the table stands for when written. */
typedef enum WriteRole
{
	ROLE_FIELD,
	ROLE_FIELDS_OBJECT,
	ROLE_ID,
	ROLE_INTERESTS,
	ROLE_PARENT,				/* a subprofile's profile */
	ROLE_SECRET,
	ROLE_READ_ONLY				/* created, modified, database, ... */
} WriteRole;

typedef struct WriteColumn
{
	AttrNumber	attnum;
	char	   *colname;
	char	   *name;			/* field or property name */
	WriteRole	role;
	CopernicaColumnType type;

	/*
	 * Written only because a BEFORE ROW trigger may have set it: an INSERT
	 * leaves it out while it is null (Copernica's default stays), and one
	 * over no Copernica field is an error only once it holds a value.
	 */
	bool		by_trigger;
	bool		unknown_field;	/* by_trigger, and no such field */
	FieldKind	field_kind;
	List	   *choices;		/* of a select field */
} WriteColumn;

/*
 * The kind of change of copernica_unsubscribe() in a trace, beside INSERT,
 * UPDATE and DELETE: what it does is the database's choice.
 */
#define COPERNICA_TRACE_UNSUBSCRIBE CMD_UTILITY

/* IDs, the first MAX_LISTED_IDS of count kept (modify_trace.c). */
typedef struct CopernicaIdList
{
	int64		count;
	int			n;
	int			max;
	int64	   *ids;			/* in TopMemoryContext */
} CopernicaIdList;

/*
 * What a write has changed in Copernica, in TopMemoryContext so that the
 * abort of its transaction can still read it (modify_trace.c).
 */
typedef struct CopernicaTrace
{
	struct CopernicaTrace *next;
	const void *owner;			/* the write still running, or NULL */
	TimestampTz stmt;			/* its statement's statement_timestamp() */
	int			level;			/* its transaction nesting level */
	CmdType		operation;
	char		entity[NAMEDATALEN];	/* "profile" or "subprofile" */
	CopernicaIdList done;		/* entities changed */
	CopernicaIdList in_flight;	/* requests sent, answers not checked */
	bool		reported;		/* the wrapper's own error listed them */
} CopernicaTrace;

typedef struct CopernicaModifyState
{
	Relation	rel;
	CmdType		operation;
	Oid			serverid;
	CopernicaOptions *opts;
	CopernicaResource *res;
	CopernicaConnection *conn;
	CopernicaStats stats;
	char	   *collection_id;	/* for subprofile inserts */
	CopernicaUpsert *upsert;	/* INSERT on the table's upsert_key */
	bool		interests_known;	/* interests are written: their names */
	List	   *interests;		/* the database's interests */
	List	   *field_names;	/* the table's Copernica fields */
	const CopernicaMetadata *field_md;	/* their types and choices */

	int			ncolumns;
	WriteColumn *columns;		/* every column of the table */
	List	   *target_attrs;	/* attnums written */
	List	   *guarded_attrs;	/* not written: a trigger must not set them */
	AttrNumber	wholerow_junk;	/* an UPDATE's row as read, for those */
	List	   *returning_attrs;	/* attnums RETURNING reads */
	bool		readback;		/* RETURNING needs more than the ID */
	AttrNumber	id_attnum;		/* the table's id column, or 0 */
	AttrNumber	id_junk;		/* its junk copy in the plan's output */

	MemoryContext row_cxt;
	int64		rows_done;		/* rows written so far */
	CopernicaTrace *trace;		/* the entities written so far */
	CommandId	output_cid;		/* the command an INSERT's rows belong to */
	CopernicaOwnRef own;		/* where it remembers them (own_rows.c) */
	int64		already_removed;	/* rows whose entity was gone already */

	/*
	 * The IDs an UPDATE or DELETE has written (sent) so far.  A join can
	 * yield a row more than once; like PostgreSQL, which sees the row
	 * already changed by the same command, the repeats are skipped.  Shared
	 * by the result relations of one ModifyTable on the same server and
	 * kind of entity, since IDs are Copernica's, not the table's.
	 */
	HTAB	   *written_ids;

	int64		current_row;	/* for the error context */
	const char *current_id;

	/*
	 * COPY sends rows one at a time; they are gathered here into batches
	 * (requests built, in row_cxt) and sent when batch_size are ready.
	 */
	bool		gather;
	int			npending;
	CopernicaRequest **pending;
	char	  **pending_keys;	/* an upsert's keys, and where they repeat */
	bool	   *pending_wait;

	/* of the failing batch, for the error's detail */
	int64		unknown_outcome;	/* cut off after they may have arrived */
	int64		not_sent;		/* rows never sent */
	char	   *wait_error;		/* why waiting for the rest stopped early */

	/*
	 * UPDATE and DELETE keep up to max_concurrency requests in flight: a row
	 * is done when its request is sent, and its answer is checked when room
	 * is needed, or at the end.  Not with RETURNING or triggers, which need
	 * each row's outcome before the next.
	 */
	bool		overlap;
	uint64	   *processed;		/* the statement's row count, if it counts */
	CopernicaBatch *wbatch;
	struct InflightWrite *inflight;
	int			ninflight;
	int			maxinflight;
} CopernicaModifyState;

/* An UPDATE's or DELETE's request in flight. */
typedef struct InflightWrite
{
	int			handle;
	int64		row;			/* the statement's row number */
	int64		id;
	CopernicaRequest *req;		/* for the error context */
} InflightWrite;

/* modify_row.c */
extern CopernicaRequest *copernica_modify_insert_request(CopernicaModifyState *st,
														 TupleTableSlot *slot,
														 char **key,
														 bool *wait_before);
extern CopernicaRequest *copernica_modify_write_request(CopernicaModifyState *st,
														TupleTableSlot *slot,
														TupleTableSlot *planSlot);
extern char *copernica_modify_junk_id(CopernicaModifyState *st,
									  TupleTableSlot *planSlot);
extern bool copernica_modify_read_back(CopernicaModifyState *st, const char *id,
									   TupleTableSlot *slot);
extern void copernica_modify_set_returned_id(CopernicaModifyState *st,
											 TupleTableSlot *slot,
											 const char *id);

/* modify_values.c */
extern void copernica_field_limits_init(WriteColumn *col,
										const CopernicaMetadata *md);
extern char *copernica_fields_object_value(CopernicaModifyState *st,
										   WriteColumn *col, Datum value);
extern char *copernica_field_column_value(CopernicaModifyState *st,
										  WriteColumn *col, Datum value,
										  bool isnull);

/* modify_report.c */
extern void copernica_modify_error_callback(void *arg);
extern void copernica_modify_remember_created(CopernicaModifyState *st, int64 id);
extern void copernica_modify_count_unfinished(CopernicaModifyState *st,
											  CopernicaOutcome outcome);
extern void copernica_modify_note_outcomes(CopernicaModifyState *st,
										   CopernicaBatch *batch, int *handles,
										   char **keys, int from, int n);
extern void copernica_modify_rethrow(CopernicaModifyState *st,
									 MemoryContext cxt) pg_attribute_noreturn();
extern void copernica_modify_raise(CopernicaModifyState *st,
								   ErrorData *edata) pg_attribute_noreturn();

/* modify_trace.c */
extern CopernicaTrace *copernica_trace_begin(const void *owner, CmdType operation,
											 const char *entity);
extern void copernica_trace_done(CopernicaTrace *t, int64 id);
extern void copernica_trace_sent(CopernicaTrace *t, int64 id);
extern void copernica_trace_answered(CopernicaTrace *t, int64 id);
extern CopernicaResponse *copernica_trace_perform(CopernicaTrace *t, int64 id,
												  CopernicaConnection *conn,
												  CopernicaRequest *req,
												  CopernicaStats *stats);
extern void copernica_trace_reported(CopernicaTrace *t, StringInfo detail);
extern void copernica_trace_end(CopernicaTrace *t);
extern void copernica_trace_append_done(StringInfo buf, CmdType operation,
										const char *entity, CopernicaIdList *done);
extern void copernica_trace_append_unknown(StringInfo buf, int64 n);

#endif							/* COPERNICA_MODIFY_H */
