/*-------------------------------------------------------------------------
 *
 * shim.h
 *		  The few backend services src/json.c needs, provided outside the
 *		  backend so that the file can be fuzzed and timed as it is.
 *
 *-------------------------------------------------------------------------
 */
#ifndef COPERNICA_FUZZ_SHIM_H
#define COPERNICA_FUZZ_SHIM_H

#include <setjmp.h>

/* Where an ERROR goes: set around each call into json.c, else abort(). */
extern sigjmp_buf *shim_error_jmp;

/* The last error raised. */
extern int	shim_errcode;
extern char shim_errmsg[];
extern char shim_errdetail[];

/* Free everything palloc'd since the last reset (the "memory context"). */
extern void shim_arena_reset(void);

/* Bytes currently allocated in the arena. */
extern size_t shim_arena_bytes(void);

#endif							/* COPERNICA_FUZZ_SHIM_H */
