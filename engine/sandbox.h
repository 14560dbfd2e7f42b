/* sandbox.h -- the sandboxed Lua state: safe libraries only, a memory budget,
 * the rules' allow-list environment, and the one protected-call helper. */
#ifndef SR_SANDBOX_H
#define SR_SANDBOX_H

#include <lua.h>
#include <stddef.h>

#include "spinerules.h"

typedef struct {
    lua_State *L;
    size_t mem_used;
    size_t mem_limit;   /* bytes; 0 means no limit */
    long fail_after;    /* fault injection: fail the Nth allocation from now; -1 = never */
    int env_ref;        /* registry reference to the rules' environment */
} sr_sandbox_t;

/* Creates the state: opens base, string, table, math and utf8 only, removes
 * load, loadfile, dofile, collectgarbage, print and string.dump from them,
 * and builds the rules' environment (allow-listed globals; reading an
 * undefined global is an error naming it). Returns SR_OK or SR_ERR_NOMEM. */
sr_status_t sr_sandbox_init(sr_sandbox_t *sb, size_t mem_limit, sr_diag_t *d);
void sr_sandbox_free(sr_sandbox_t *sb);

/* Pushes the rules' environment. [-0, +1] */
void sr_sandbox_push_env(sr_sandbox_t *sb);

/* Loads text (never bytecode) as a chunk named chunkname ("@file" form) whose
 * _ENV is the rules' environment (env_idx == 0) or the table at env_idx.
 * [-0, +1] on success, [-0, +0] on error with *d filled (file:line). */
sr_status_t sr_sandbox_load(sr_sandbox_t *sb, const char *text, size_t len, const char *chunkname,
                            int env_idx, sr_diag_t *d);

/* Calls the function below its nargs arguments, in protected mode with a
 * traceback handler. On error, fills *d from the Lua message ("file:line:
 * message" becomes file, line and message) and leaves nothing on the stack.
 * [-(nargs+1), +nres] */
sr_status_t sr_sandbox_pcall(lua_State *L, int nargs, int nres, sr_diag_t *d);

/* Splits a Lua message "file:line: message" (with an optional traceback)
 * held in d->message into d->file, d->line and d->message. */
void sr_diag_split_lua(sr_diag_t *d);

#endif
