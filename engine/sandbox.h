/* sandbox.h -- the sandboxed Lua state: safe libraries only, the rules'
 * allow-list environment, limits (memory, time, string sizes, pattern
 * steps) that a rule's pcall cannot swallow, freezing of everything the rules
 * defined, and the one protected-call helper. docs/security.md explains why
 * each piece is there. */
#ifndef SR_SANDBOX_H
#define SR_SANDBOX_H

#include <lua.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>

#include "spinerules.h"

/* Limits of one sandbox; the defaults are in sr_sandbox_default_limits. */
typedef struct {
    size_t mem_limit;            /* bytes the Lua state may hold; 0 = none */
    unsigned time_limit_ms;      /* per case, and per rule file at load; 0 = none */
    size_t max_string;           /* bytes of one string built by string.rep, string.format,
                                  * string.gsub or table.concat */
    unsigned long pattern_steps; /* steps of one string.find/match/gmatch/gsub call */
    lua_Integer max_move;        /* elements table.move may copy in one call */
    unsigned log_messages;       /* log() messages kept per case */
    size_t log_bytes;            /* bytes kept of one log() message */
    size_t max_message;          /* bytes kept of one error message */
    size_t result_values;        /* values (table entries) in one result */
    size_t result_bytes;         /* bytes of text (keys and strings) in one result */
} sr_sandbox_limits_t;

/* The defaults every new sandbox starts from: 64 MiB, 1000 ms, 1 MiB strings,
 * 10,000,000 pattern steps, 1,000,000 moved elements, 20 log messages of 500
 * bytes, 1000-byte error messages, results of 100,000 values and 4 MiB of
 * text. A process (a test, an embedding program)
 * may change them before opening an engine. */
extern sr_sandbox_limits_t sr_sandbox_default_limits;

/* Which limit stopped the current run (sticky until the next run starts). */
typedef enum {
    SR_LIMIT_NONE = 0,
    SR_LIMIT_MEMORY,
    SR_LIMIT_TIME,
    SR_LIMIT_SIZE /* string size, pattern steps, table.move span */
} sr_limit_kind_t;

typedef struct sr_watchdog sr_watchdog_t;

/* A table that results share in place of a frozen table of the rule set: a
 * raw copy made the first time a result held that frozen table, never
 * changed after (nothing writes into a checked result below its top
 * level), so its size is counted once and the JSON writer keeps its bytes.
 * Private to sandbox.c and writer.c. */
typedef struct {
    const void *table;     /* the copy (lua_topointer); NULL for a free slot */
    lua_Integer values;    /* values under it, as the result check counts them */
    size_t bytes;          /* bytes of text under it */
    int height;            /* levels of tables in it, 1 for a table of scalars */
    char *json;            /* its JSON (malloc'd) once written; NULL before */
    size_t json_len;
    const void *json_rank; /* the key-rank table json was written with */
} sr_shared_t;

/* The shared tables of one state, by address (open addressing); the
 * registry holds every one of them, so an address is never reused. */
typedef struct {
    sr_shared_t *slots;
    size_t cap, n;       /* cap is 0 or a power of two */
    lua_Integer values;  /* values under all of them (bounded) */
    size_t json_bytes;   /* bytes of JSON kept (bounded) */
} sr_shared_map_t;

typedef struct {
    lua_State *L;
    sr_sandbox_limits_t limits;
    size_t mem_used;
    size_t mem_limit;     /* = limits.mem_limit (kept for older callers) */
    /* Fault injection (tests/unit/test_oom.c): fail the Nth allocation from
     * now (-1 = never). With fail_in_run, only allocations inside
     * sr_sandbox_run count, and once one fails every later one fails too,
     * until that run ends. */
    long fail_after;
    int fail_in_run;
    int failing;          /* fail_in_run: the current run's allocations fail */
    unsigned long allocs; /* allocations requested so far (to size a sweep) */
    int env_ref;          /* registry reference to the rules' environment */
    int running;          /* inside sr_sandbox_run: positions of memory errors are recorded */
    sr_limit_kind_t limit_hit;
    int budget_failed;    /* the memory budget refused an allocation in this run */
    int oom;              /* a memory error not due to the budget (malloc failed) */
    char limit_msg[512];  /* "file:line: message" of the first limit hit in this run */
    char mem_where[256];  /* "file:line:" where the memory budget ran out, or "" */
    FILE *log_out;        /* where log() writes; NULL discards. Default stderr */
    unsigned log_count;   /* log() messages in the current run */
    sr_watchdog_t *wd;    /* the timer thread, started on first use; NULL before */
    sr_shared_map_t shared; /* frozen tables' copies shared by results */
} sr_sandbox_t;

/* Creates the state: opens base, string, table, math and utf8 only; removes
 * what is not safe (load, dofile, string.dump, math.random, ...); installs the
 * capped string and table functions; builds the rules' environment
 * (allow-listed globals plus log; reading an undefined global is an error
 * naming it). mem_limit overrides the default memory limit when not 0.
 * Returns SR_OK or SR_ERR_NOMEM with *d filled. Free with sr_sandbox_free. */
sr_status_t sr_sandbox_init(sr_sandbox_t *sb, size_t mem_limit, sr_diag_t *d);
void sr_sandbox_free(sr_sandbox_t *sb);

/* Pushes the rules' environment. [-0, +1] */
void sr_sandbox_push_env(sr_sandbox_t *sb);

/* The chunk name of the prelude, and what the names of all the engine's own
 * Lua chunks (prelude, checker, probes) start with. */
#define SR_PRELUDE_SOURCE "@engine/prelude.lua"
#define SR_ENGINE_SOURCES "@engine/"

/* The nearest function on L's call stack, from level `from` up to (not
 * including) level `to`, that is running a line of Lua and whose source
 * does not start with `skip` (NULL: any source): fills *ar ("Sl") and
 * returns 1, or returns 0. Allocates nothing. */
int sr_sandbox_find_frame(lua_State *L, int from, int to, const char *skip, lua_Debug *ar);

/* Loads text (never bytecode) as a chunk named chunkname ("@file" form) whose
 * _ENV is the rules' environment (env_idx == 0) or the table at env_idx, then
 * checks its bytecode: a function that assigns a variable of its file's main
 * chunk (state kept between cases) and a bitwise operator in a function with
 * more than 256 constants (miscompiled by Lua 5.4.4) are refused.
 * [-0, +1] on success, [-0, +0] on error with *d filled (file:line). */
sr_status_t sr_sandbox_load(sr_sandbox_t *sb, const char *text, size_t len, const char *chunkname,
                            int env_idx, sr_diag_t *d);

/* Calls the function below its nargs arguments, in protected mode with a
 * traceback handler. On error, fills *d from the Lua message ("file:line:
 * message" becomes file, line and message; long messages are cut, invalid
 * UTF-8 replaced) and leaves nothing on the stack. No limit bookkeeping: see
 * sr_sandbox_run. [-(nargs+1), +nres] */
sr_status_t sr_sandbox_pcall(lua_State *L, int nargs, int nres, sr_diag_t *d);

/* sr_sandbox_pcall for rule code: arms the time limit, resets the per-run
 * counters, and reports a limit that was hit as SR_ERR_LIMIT (memory and
 * time with the rule file and line where it happened), even when rule code
 * caught the error. [-(nargs+1), +nres] */
sr_status_t sr_sandbox_run(sr_sandbox_t *sb, int nargs, int nres, sr_diag_t *d);

/* Makes everything the rule files defined read-only: the environment's
 * values and every table reachable from them or from the upvalues of
 * functions defined in rule files (not the prelude's own state). Tables the
 * prelude froze already are left as they are. After this, reading an
 * undefined global is again an error. Call once, after P.finish.
 * Returns SR_OK or SR_ERR_NOMEM with *d filled. */
sr_status_t sr_sandbox_freeze(sr_sandbox_t *sb, sr_diag_t *d);

/* Checks the result table at idx before it is written: at most
 * limits.result_values values and limits.result_bytes of text, else
 * SR_ERR_LIMIT with *d filled. Frozen tables in it (rule-set constants a rule
 * returned) are replaced by raw copies, so the writer sees their contents;
 * the copy of a frozen table is made once and shared by every later result
 * (see sr_shared_t): readers must not change a checked result below its top
 * level. [-0, +0] */
sr_status_t sr_sandbox_check_result(sr_sandbox_t *sb, int idx, sr_diag_t *d);

/* The sandbox that made L, or NULL (a state of another kind). */
sr_sandbox_t *sr_sandbox_of(lua_State *L);

/* The shared table at address t (lua_topointer), or NULL. */
sr_shared_t *sr_shared_find(sr_shared_map_t *m, const void *t);

/* Raises a limit error "<where> message" from C code running under the
 * sandbox, marking the run so that no pcall in rule code can catch it.
 * [-0, +0, v] */
int sr_sandbox_limit_error(lua_State *L, sr_sandbox_t *sb, sr_limit_kind_t kind, const char *fmt, ...);

/* Splits a Lua message "file:line: message" (with an optional traceback)
 * held in d->message into d->file, d->line and d->message. */
void sr_diag_split_lua(sr_diag_t *d);

/* pattern.c: installs the step-bounded find, match, gmatch and gsub into
 * the string library table at lib. [-0, +0] */
void sr_pattern_install(lua_State *L, sr_sandbox_t *sb, int lib);

#endif
