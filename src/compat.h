/*-------------------------------------------------------------------------
 *
 * compat.h
 *		  Every difference between the PostgreSQL versions copernica_fdw
 *		  builds on (14 to 18), in one place.  The rest of the source calls
 *		  these names and never tests PG_VERSION_NUM itself.
 *
 * Mostly macros rather than functions, so that each expands where the
 * caller already includes the headers it needs; a header that only some
 * versions need is included here.
 *
 *-------------------------------------------------------------------------
 */
#ifndef COPERNICA_COMPAT_H
#define COPERNICA_COMPAT_H

#if PG_VERSION_NUM < 140000
#error "copernica_fdw needs PostgreSQL 14 or later"
#endif

/*
 * 18 moved ExplainState and the ExplainProperty* functions out of
 * commands/explain.h.
 */
#if PG_VERSION_NUM >= 180000
#include "commands/explain_format.h"
#include "commands/explain_state.h"
#endif

/*
 * 18 replaced the pg_attribute_noreturn() suffix by a pg_noreturn prefix;
 * keep the suffix, which every compiler PostgreSQL supports on Linux takes.
 */
#if PG_VERSION_NUM >= 180000 && !defined(pg_attribute_noreturn)
#if defined(__GNUC__) || defined(__clang__)
#define pg_attribute_noreturn() __attribute__((noreturn))
#else
#define pg_attribute_noreturn()
#endif
#endif

/*
 * create_foreignscan_path gained fdw_restrictinfo in 17 and disabled_nodes
 * in 18.  copernica_fdw passes neither: its scans are never disabled, and it
 * pushes no join clauses that the executor would need back.
 */
#if PG_VERSION_NUM >= 180000
#define copernica_create_foreignscan_path(root, rel, target, rows, startup, total, pathkeys, outer, outerpath, priv) \
	create_foreignscan_path((root), (rel), (target), (rows), 0, (startup), (total), \
							(pathkeys), (outer), (outerpath), NIL, (priv))
#elif PG_VERSION_NUM >= 170000
#define copernica_create_foreignscan_path(root, rel, target, rows, startup, total, pathkeys, outer, outerpath, priv) \
	create_foreignscan_path((root), (rel), (target), (rows), (startup), (total), \
							(pathkeys), (outer), (outerpath), NIL, (priv))
#else
#define copernica_create_foreignscan_path(root, rel, target, rows, startup, total, pathkeys, outer, outerpath, priv) \
	create_foreignscan_path((root), (rel), (target), (rows), (startup), (total), \
							(pathkeys), (outer), (outerpath), (priv))
#endif

/* create_foreign_upper_path changed the same way. */
#if PG_VERSION_NUM >= 180000
#define copernica_create_foreign_upper_path(root, rel, target, rows, startup, total, priv) \
	create_foreign_upper_path((root), (rel), (target), (rows), 0, (startup), (total), \
							  NIL, NULL, NIL, (priv))
#elif PG_VERSION_NUM >= 170000
#define copernica_create_foreign_upper_path(root, rel, target, rows, startup, total, priv) \
	create_foreign_upper_path((root), (rel), (target), (rows), (startup), (total), \
							  NIL, NULL, NIL, (priv))
#else
#define copernica_create_foreign_upper_path(root, rel, target, rows, startup, total, priv) \
	create_foreign_upper_path((root), (rel), (target), (rows), (startup), (total), \
							  NIL, NULL, (priv))
#endif

/*
 * The user whose user mapping a scan or a write uses: the view owner inside
 * a view, else the current user.  16 moved checkAsUser from the range table
 * entry into RTEPermissionInfo and gave the executor direct ways to it.
 */
#if PG_VERSION_NUM >= 160000
#define copernica_scan_userid(fsplan, estate) \
	(OidIsValid((fsplan)->checkAsUser) ? (fsplan)->checkAsUser : GetUserId())
#define copernica_modify_userid(rinfo, estate) \
	ExecGetResultRelCheckAsUser((rinfo), (estate))
/* a pushed-down aggregate scans no relation: its table's is at rti */
#define copernica_upper_userid(fsplan, estate, rti) \
	copernica_scan_userid((fsplan), (estate))
#else
#define copernica_upper_userid(fsplan, estate, rti) \
	copernica_rte_userid(exec_rt_fetch((rti), (estate)))
#define copernica_scan_userid(fsplan, estate) \
	copernica_rte_userid(exec_rt_fetch((fsplan)->scan.scanrelid, (estate)))
/* a partition that rows are routed to has no range table entry: its root has */
#define copernica_modify_userid(rinfo, estate) \
	copernica_rte_userid(exec_rt_fetch((rinfo)->ri_RangeTableIndex != 0 ? \
									   (rinfo)->ri_RangeTableIndex : \
									   (rinfo)->ri_RootResultRelInfo->ri_RangeTableIndex, \
									   (estate)))
#define copernica_rte_userid(rte) \
	(OidIsValid((rte)->checkAsUser) ? (rte)->checkAsUser : GetUserId())
#endif

/* 18 tells apart the delays of VACUUM and ANALYZE; ours is ANALYZE's. */
#if PG_VERSION_NUM >= 180000
#define copernica_vacuum_delay_point() vacuum_delay_point(true)
#else
#define copernica_vacuum_delay_point() vacuum_delay_point()
#endif

/* A descending pathkey: 18 keeps a CompareType instead of a strategy. */
#if PG_VERSION_NUM >= 180000
#define copernica_pathkey_is_desc(pk) ((pk)->pk_cmptype == COMPARE_GT)
#else
#define copernica_pathkey_is_desc(pk) ((pk)->pk_strategy == BTGreaterStrategyNumber)
#endif

/* 16 gave AdjustTimestampForTypmod a soft-error context (NULL: raise). */
#if PG_VERSION_NUM >= 160000
#define copernica_adjust_timestamp(ts, typmod) \
	((void) AdjustTimestampForTypmod((ts), (typmod), NULL))
#else
#define copernica_adjust_timestamp(ts, typmod) AdjustTimestampForTypmod((ts), (typmod))
#endif

/* A random number from 0 to max: common/pg_prng.h is new in 15. */
#if PG_VERSION_NUM >= 150000
#include "common/pg_prng.h"
#define copernica_random_upto(max) \
	pg_prng_uint64_range(&pg_global_prng_state, 0, (max))
#else
#define copernica_random_upto(max) ((uint64) random() % ((max) + 1))
#endif

/* USAGE on a foreign server: one function for all object kinds since 16. */
#if PG_VERSION_NUM >= 160000
#include "catalog/pg_foreign_server.h"
#define copernica_foreign_server_aclcheck(serverid, roleid, mode) \
	object_aclcheck(ForeignServerRelationId, (serverid), (roleid), (mode))
#else
#define copernica_foreign_server_aclcheck(serverid, roleid, mode) \
	pg_foreign_server_aclcheck((serverid), (roleid), (mode))
#endif

/* The columns an INSERT names: in RTEPermissionInfo since 16. */
#if PG_VERSION_NUM >= 160000
#include "parser/parse_relation.h"
#define copernica_inserted_cols(root, rte) \
	(getRTEPermissionInfo((root)->parse->rteperminfos, (rte))->insertedCols)
#else
#define copernica_inserted_cols(root, rte) ((rte)->insertedCols)
#endif

/*
 * common/jsonapi.h: semantic actions return JsonParseErrorType since 16
 * (void before).  Ours report errors with ereport, so they always succeed:
 * declare them as JSON_ACTION and leave them with JSON_ACTION_DONE.
 */
#if PG_VERSION_NUM >= 160000
#define JSON_ACTION JsonParseErrorType
#define JSON_ACTION_DONE return JSON_SUCCESS
#else
#define JSON_ACTION void
#define JSON_ACTION_DONE return
#endif

/*
 * A lexer over a string of known length that keeps de-escaped strings;
 * 17 added the context to fill in (NULL: allocate one); before, the string
 * was not const (though never written to).
 */
#if PG_VERSION_NUM >= 170000
#define copernica_json_lexer(json, len, encoding) \
	makeJsonLexContextCstringLen(NULL, (json), (len), (encoding), true)
#else
#define copernica_json_lexer(json, len, encoding) \
	makeJsonLexContextCstringLen((char *) (json), (len), (encoding), true)
#endif

/*
 * A lexer that only validates strings (need_escapes false): the string
 * callbacks get NULL, and json.c takes a string's bytes from the input.
 * That rests on what 15, 17 and 18 do alike: with need_escapes false,
 * json_lex_string checks every escape's form but neither combines
 * surrogates nor refuses \u0000 (those checks and the conversion to the
 * server encoding happen only while de-escaping); on success
 * prev_token_terminator is where the token before ended; and json_lex
 * lexes one token from token_terminator, so it can de-escape one string of
 * the same input.
 */
#if PG_VERSION_NUM >= 170000
#define copernica_json_validating_lexer(json, len, encoding) \
	makeJsonLexContextCstringLen(NULL, (json), (len), (encoding), false)
#else
#define copernica_json_validating_lexer(json, len, encoding) \
	makeJsonLexContextCstringLen((char *) (json), (len), (encoding), false)
#endif

/*
 * Point a lexer at a token of its input: json_lex lexes from there.  Before
 * 17 the lexer's pointers were not const.
 */
#if PG_VERSION_NUM >= 170000
#define copernica_json_lexer_seek(lex, pos) \
	((lex)->token_terminator = (pos))
#else
#define copernica_json_lexer_seek(lex, pos) \
	((lex)->token_terminator = (char *) (pos))
#endif

/*
 * ExecutorRun lost its execute_once argument in 18: the parameters and
 * arguments of an ExecutorRun hook.
 */
#if PG_VERSION_NUM >= 180000
#define COPERNICA_EXECUTOR_RUN_PARAMS \
	QueryDesc *queryDesc, ScanDirection direction, uint64 count
#define COPERNICA_EXECUTOR_RUN_ARGS queryDesc, direction, count
#else
#define COPERNICA_EXECUTOR_RUN_PARAMS \
	QueryDesc *queryDesc, ScanDirection direction, uint64 count, bool execute_once
#define COPERNICA_EXECUTOR_RUN_ARGS queryDesc, direction, count, execute_once
#endif

#endif							/* COPERNICA_COMPAT_H */
