/* sandbox.c -- one sandboxed lua_State per worker: the allow-list
 * environment, the limits, the freezing of the rule set, the bytecode checks
 * and the one protected-call helper. */
#include "sandbox.h"

#include <errno.h>
#include <lauxlib.h>
#include <lualib.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bytecode.h"
#include "lvalue.h"
#include "util.h"

sr_sandbox_limits_t sr_sandbox_default_limits = {
    .mem_limit = 64u << 20,
    .time_limit_ms = 1000,
    .max_string = 1u << 20,
    .pattern_steps = 10000000UL,
    .max_move = 1000000,
    .log_messages = 20,
    .log_bytes = 500,
    .max_message = 1000,
    .result_values = 100000,
    .result_bytes = 4u << 20,
};

#define REG_FROZEN "sr.frozen" /* weak table: frozen proxy -> its contents */
#define REG_SHARED "sr.shared" /* frozen table -> the copy results share (sr_shared_t) */

/* ---- memory ---- */

/* Where the running rule is: "file:line:" of the innermost Lua function.
 * Called only when an allocation is refused, before anything moves, so the
 * call stack is consistent; lua_getinfo "Sl" does not allocate. */
static void note_position(sr_sandbox_t *sb)
{
    lua_Debug ar;
    if (sr_sandbox_find_frame(sb->L, 0, 64, NULL, &ar))
        snprintf(sb->mem_where, sizeof sb->mem_where, "%s:%d:", ar.short_src, ar.currentline);
}

/* The allocator keeps a budget, so a rule that allocates without end gets a
 * memory error instead of taking the machine. */
static void *sandbox_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
    sr_sandbox_t *sb = ud;
    size_t old = ptr ? osize : 0;
    if (nsize == 0) {
        free(ptr);
        sb->mem_used -= old;
        return NULL;
    }
    sb->allocs++;
    if (sb->failing && sb->running)
        return NULL;
    if (sb->fail_after >= 0 && (!sb->fail_in_run || sb->running) && sb->fail_after-- == 0) {
        sb->failing = sb->fail_in_run;
        return NULL;
    }
    if (nsize > old && sb->mem_limit && (nsize - old > sb->mem_limit || sb->mem_used + (nsize - old) > sb->mem_limit)) {
        if (sb->running) {
            sb->budget_failed = 1;
            note_position(sb);
        }
        return NULL;
    }
    void *p = ptr ? realloc(ptr, nsize) : malloc(nsize); /* most are new blocks: malloc is the shorter path */
    if (!p)
        return NULL;
    sb->mem_used = sb->mem_used - old + nsize;
    return p;
}

static sr_sandbox_t *sandbox_of(lua_State *L)
{
    void *ud = NULL;
    return lua_getallocf(L, &ud) == sandbox_alloc ? ud : NULL;
}

sr_sandbox_t *sr_sandbox_of(lua_State *L) { return sandbox_of(L); }

/* "64 MiB" or "1000 bytes". */
static void format_size(char *buf, size_t cap, size_t n)
{
    if (n >= (1u << 20) && n % (1u << 20) == 0)
        snprintf(buf, cap, "%zu MiB", n >> 20);
    else if (n >= 1024 && n % 1024 == 0)
        snprintf(buf, cap, "%zu KiB", n >> 10);
    else
        snprintf(buf, cap, "%zu bytes", n);
}

/* ---- limit errors ---- */

/* Pushes "file:line: " of the innermost Lua function below the running C
 * function (a capped function may be called through pcall), or "". */
static void push_rule_where(lua_State *L)
{
    lua_Debug ar;
    for (int level = 1; level < 32 && lua_getstack(L, level, &ar); level++) {
        if (lua_getinfo(L, "Sl", &ar) && ar.currentline > 0) {
            lua_pushfstring(L, "%s:%d: ", ar.short_src, ar.currentline);
            return;
        }
    }
    lua_pushliteral(L, "");
}

int sr_sandbox_limit_error(lua_State *L, sr_sandbox_t *sb, sr_limit_kind_t kind, const char *fmt, ...)
{
    if (sb && sb->limit_hit == SR_LIMIT_NONE)
        sb->limit_hit = kind;
    push_rule_where(L);
    va_list ap;
    va_start(ap, fmt);
    lua_pushvfstring(L, fmt, ap);
    va_end(ap);
    lua_concat(L, 2);
    if (sb && sb->limit_msg[0] == '\0') {
        const char *m = lua_tostring(L, -1);
        snprintf(sb->limit_msg, sizeof sb->limit_msg, "%s", m ? m : "limit exceeded");
    }
    return lua_error(L);
}

/* ---- the watchdog: a timer thread that arms the count hook only when a
 * run overruns its time limit, so rules pay nothing while within it ---- */

struct sr_watchdog {
    pthread_t thread;
    pthread_mutex_t mu;        /* held by the thread except while it waits */
    pthread_cond_t cv;
    int stop;
    int fired;                 /* the hook is set for the current run */
    atomic_ulong armed;        /* number of the run being timed; 0 when idle */
    atomic_llong deadline_ns;  /* when that run overruns */
    atomic_llong period_ns;    /* how often the thread looks */
    unsigned long runs;
    sr_sandbox_t *sb;
};

static long long now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Runs in the Lua thread, at the next instruction after the watchdog fired.
 * It stays set until the run ends, so no handler can keep going. */
static void timeout_hook(lua_State *L, lua_Debug *ar)
{
    sr_sandbox_t *sb = sandbox_of(L);
    char where[160] = "";
    if (lua_getinfo(L, "Sl", ar) && ar->currentline > 0)
        snprintf(where, sizeof where, "%s:%d: ", ar->short_src, ar->currentline);
    unsigned ms = sb ? sb->limits.time_limit_ms : 0;
    if (sb && sb->limit_hit == SR_LIMIT_NONE)
        sb->limit_hit = SR_LIMIT_TIME;
    if (sb && sb->limit_msg[0] == '\0')
        snprintf(sb->limit_msg, sizeof sb->limit_msg, "%stime limit of %u ms exceeded", where, ms);
    lua_pushfstring(L, "%stime limit of %d ms exceeded", where, (int)ms);
    lua_error(L);
}

static void *watchdog_main(void *arg)
{
    sr_watchdog_t *wd = arg;
    pthread_mutex_lock(&wd->mu);
    while (!wd->stop) {
        long long t = now_ns() + atomic_load(&wd->period_ns);
        struct timespec until = {(time_t)(t / 1000000000LL), (long)(t % 1000000000LL)};
        pthread_cond_timedwait(&wd->cv, &wd->mu, &until);
        if (wd->stop)
            break;
        unsigned long run = atomic_load(&wd->armed);
        if (run == 0 || wd->fired || now_ns() < atomic_load(&wd->deadline_ns))
            continue;
        if (atomic_load(&wd->armed) == run) { /* still the same run: stop it */
            wd->fired = 1;
            lua_sethook(wd->sb->L, timeout_hook, LUA_MASKCOUNT, 1); /* documented as safe from another thread */
        }
    }
    pthread_mutex_unlock(&wd->mu);
    return NULL;
}

static sr_watchdog_t *watchdog_start(sr_sandbox_t *sb)
{
    sr_watchdog_t *wd = calloc(1, sizeof *wd);
    if (!wd)
        return NULL;
    wd->sb = sb;
    atomic_init(&wd->armed, 0);
    atomic_init(&wd->deadline_ns, 0);
    atomic_init(&wd->period_ns, 10000000LL);
    pthread_condattr_t ca;
    int ok = pthread_condattr_init(&ca) == 0;
    ok = ok && pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) == 0;
    ok = ok && pthread_mutex_init(&wd->mu, NULL) == 0;
    ok = ok && pthread_cond_init(&wd->cv, &ca) == 0;
    pthread_condattr_destroy(&ca);
    if (!ok || pthread_create(&wd->thread, NULL, watchdog_main, wd) != 0) {
        free(wd);
        return NULL;
    }
    return wd;
}

static void watchdog_stop(sr_watchdog_t *wd)
{
    if (!wd)
        return;
    pthread_mutex_lock(&wd->mu);
    wd->stop = 1;
    pthread_cond_signal(&wd->cv);
    pthread_mutex_unlock(&wd->mu);
    pthread_join(wd->thread, NULL);
    pthread_cond_destroy(&wd->cv);
    pthread_mutex_destroy(&wd->mu);
    free(wd);
}

/* Starts timing a run: two atomic stores, no lock, no system call. */
static void watchdog_arm(sr_sandbox_t *sb)
{
    long long limit = (long long)sb->limits.time_limit_ms * 1000000LL;
    if (!limit)
        return;
    if (!sb->wd && !(sb->wd = watchdog_start(sb)))
        return; /* no thread: runs are untimed rather than refused */
    sr_watchdog_t *wd = sb->wd;
    long long period = limit / 10 < 5000000LL ? 5000000LL : limit / 10;
    atomic_store(&wd->period_ns, period);
    atomic_store(&wd->deadline_ns, now_ns() + limit);
    if (++wd->runs == 0)
        wd->runs = 1;
    atomic_store(&wd->armed, wd->runs);
}

/* Stops timing; once it returns, no hook from this run can be set. */
static void watchdog_disarm(sr_sandbox_t *sb)
{
    sr_watchdog_t *wd = sb->wd;
    if (!wd || !atomic_load(&wd->armed))
        return;
    pthread_mutex_lock(&wd->mu);
    atomic_store(&wd->armed, 0);
    if (wd->fired) {
        lua_sethook(sb->L, NULL, 0, 0);
        wd->fired = 0;
    }
    pthread_mutex_unlock(&wd->mu);
}

/* ---- functions that replace or wrap library functions ---- */

static sr_sandbox_t *up_sb(lua_State *L) { return lua_touserdata(L, lua_upvalueindex(1)); }

/* pcall that cannot catch a limit: a memory, time or size limit hit inside
 * is raised again, so a rule cannot keep running past it. */
static int sb_pcall(lua_State *L)
{
    sr_sandbox_t *sb = up_sb(L);
    luaL_checkany(L, 1);
    int status = lua_pcall(L, lua_gettop(L) - 1, LUA_MULTRET, 0);
    if (status != LUA_OK) {
        if (status == LUA_ERRMEM) {
            if (sb->budget_failed && sb->limit_hit == SR_LIMIT_NONE)
                sb->limit_hit = SR_LIMIT_MEMORY;
            else if (!sb->budget_failed)
                sb->oom = 1;
            return lua_error(L);
        }
        if (sb->limit_hit != SR_LIMIT_NONE)
            return lua_error(L);
        lua_pushboolean(L, 0);
        lua_insert(L, -2);
        return 2;
    }
    lua_pushboolean(L, 1);
    lua_insert(L, 1);
    return lua_gettop(L);
}

/* Contents of a frozen table (ours or the prelude's), pushed; or nothing.
 * [-0, +(0|1)] */
static int push_frozen_contents(lua_State *L, int idx)
{
    idx = lua_absindex(L, idx);
    int top = lua_gettop(L);
    if (!lua_getmetatable(L, idx))
        return 0; /* every frozen table has one, which __metatable protects */
    /* the prelude's, and ours of a table that had no metatable: "frozen",
     * with the contents as __index */
    if (lua_getfield(L, -1, "__metatable") == LUA_TSTRING && strcmp(lua_tostring(L, -1), "frozen") == 0 &&
        lua_getfield(L, -2, "__index") == LUA_TTABLE) {
        lua_replace(L, top + 1); /* contents where the metatable was */
        lua_settop(L, top + 1);
        return 1;
    }
    lua_settop(L, top);
    lua_getfield(L, LUA_REGISTRYINDEX, REG_FROZEN); /* ours of a table that had a metatable */
    if (lua_istable(L, -1)) {
        lua_pushvalue(L, idx);
        if (lua_rawget(L, -2) == LUA_TTABLE) {
            lua_remove(L, -2);
            return 1;
        }
    }
    lua_settop(L, top);
    return 0;
}

/* next that sees the contents of frozen tables, so `next(t) == nil` keeps
 * meaning "t is empty". */
static int sb_next(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_settop(L, 2);
    if (push_frozen_contents(L, 1))
        lua_replace(L, 1);
    if (lua_next(L, 1))
        return 2;
    lua_pushnil(L);
    return 1;
}

/* Copies at most cap bytes of s into out as valid UTF-8 (a byte that is not
 * part of a valid sequence becomes '?'; control characters other than tab
 * and, when keep_newlines, newline become spaces), never cutting a
 * sequence. out has room for cap + 1 bytes. Returns the bytes written; *cut
 * is set when s did not fit. */
static size_t clean_text(const char *s, size_t n, size_t cap, int keep_newlines, char *out, int *cut)
{
    size_t w = 0, i = 0;
    while (i < n) {
        unsigned char c = (unsigned char)s[i];
        size_t len = c < 0x80 ? 1 : (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3 : (c & 0xf8) == 0xf0 ? 4 : 0;
        int ok = len > 0 && i + len <= n && !(len == 2 && c < 0xc2);
        for (size_t k = 1; ok && k < len; k++)
            ok = ((unsigned char)s[i + k] & 0xc0) == 0x80;
        if (ok && len == 3) {
            unsigned cp = ((c & 0x0fu) << 12) | (((unsigned char)s[i + 1] & 0x3fu) << 6);
            ok = cp >= 0x800 && (cp < 0xd800 || cp > 0xdfff);
        }
        if (ok && len == 4) {
            unsigned cp = ((c & 0x07u) << 18) | (((unsigned char)s[i + 1] & 0x3fu) << 12);
            ok = cp >= 0x10000 && cp <= 0x10ffff;
        }
        if (!ok)
            len = 1;
        if (w + len > cap)
            break;
        if (!ok)
            out[w++] = '?';
        else if (len == 1 && (c < 0x20 || c == 0x7f) && c != '\t' && !(keep_newlines && c == '\n'))
            out[w++] = ' ';
        else
            for (size_t k = 0; k < len; k++)
                out[w++] = s[i + k];
        i += len;
    }
    out[w] = '\0';
    *cut = i < n;
    return w;
}

/* log(...): the rules' print. Writes "file:line: log: text" (the values
 * as tostring shows them, separated by tabs) to the sandbox's log stream,
 * at most limits.log_messages per run, each cut to limits.log_bytes. */
static int sb_log(lua_State *L)
{
    sr_sandbox_t *sb = up_sb(L);
    int n = lua_gettop(L);
    if (!sb->log_out)
        return 0;
    if (sb->log_count++ >= sb->limits.log_messages) {
        if (sb->log_count == sb->limits.log_messages + 1) {
            luaL_where(L, 1);
            fprintf(sb->log_out, "%slog: more than %u messages; the rest are dropped\n", lua_tostring(L, -1),
                    sb->limits.log_messages);
        }
        return 0;
    }
    for (int i = 1; i <= n; i++) { /* all values as one string, tab-separated */
        luaL_tolstring(L, i, NULL);
        if (i < n)
            lua_pushliteral(L, "\t");
    }
    lua_concat(L, n > 0 ? 2 * n - 1 : 0);
    size_t len;
    const char *text = lua_tolstring(L, -1, &len);
    char buf[4096];
    size_t cap = sb->limits.log_bytes < sizeof buf - 1 ? sb->limits.log_bytes : sizeof buf - 1;
    int cut;
    clean_text(text, len, cap, 0, buf, &cut);
    luaL_where(L, 1);
    fprintf(sb->log_out, "%slog: %s%s\n", lua_tostring(L, -1), buf, cut ? " [cut]" : "");
    return 0;
}

static int sb_string_rep(lua_State *L)
{
    sr_sandbox_t *sb = up_sb(L);
    size_t l, lsep;
    luaL_checklstring(L, 1, &l);
    lua_Integer n = luaL_checkinteger(L, 2);
    luaL_optlstring(L, 3, "", &lsep);
    if (n > 0 && l + lsep > 0) {
        size_t max = sb->limits.max_string;
        /* l*n + lsep*(n-1) > max, without overflow */
        if ((lua_Unsigned)n > (max + lsep) / (l + lsep) + 1 ||
            (lua_Unsigned)n * (l + lsep) - lsep > (lua_Unsigned)max)
            return sr_sandbox_limit_error(L, sb, SR_LIMIT_SIZE,
                                          "string.rep: the result would exceed the limit of %d bytes", (int)max);
    }
    lua_pushvalue(L, lua_upvalueindex(2));
    lua_insert(L, 1);
    lua_call(L, lua_gettop(L) - 1, 1);
    return 1;
}

static int sb_string_format(lua_State *L)
{
    sr_sandbox_t *sb = up_sb(L);
    lua_pushvalue(L, lua_upvalueindex(2));
    lua_insert(L, 1);
    lua_call(L, lua_gettop(L) - 1, 1);
    size_t len;
    lua_tolstring(L, -1, &len);
    if (len > sb->limits.max_string)
        return sr_sandbox_limit_error(L, sb, SR_LIMIT_SIZE, "string.format: the result exceeds the limit of %d bytes",
                                      (int)sb->limits.max_string);
    return 1;
}

static int sb_table_concat(lua_State *L)
{
    sr_sandbox_t *sb = up_sb(L);
    luaL_checktype(L, 1, LUA_TTABLE);
    size_t lsep;
    luaL_optlstring(L, 2, "", &lsep);
    lua_Integer i = luaL_optinteger(L, 3, 1);
    lua_Integer last = lua_isnoneornil(L, 4) ? luaL_len(L, 1) : luaL_checkinteger(L, 4);
    size_t total = 0, max = sb->limits.max_string;
    for (; i <= last; i++) { /* measure first; the library reports bad values */
        int t = lua_geti(L, 1, i);
        size_t len = 0;
        if (t == LUA_TSTRING || t == LUA_TNUMBER)
            lua_tolstring(L, -1, &len);
        lua_pop(L, 1);
        if (t != LUA_TSTRING && t != LUA_TNUMBER)
            break;
        total += len + (i < last ? lsep : 0);
        if (total > max)
            return sr_sandbox_limit_error(L, sb, SR_LIMIT_SIZE,
                                          "table.concat: the result would exceed the limit of %d bytes", (int)max);
        if (i == LUA_MAXINTEGER)
            break;
    }
    lua_pushvalue(L, lua_upvalueindex(2));
    lua_insert(L, 1);
    lua_call(L, lua_gettop(L) - 1, 1);
    return 1;
}

static int sb_table_move(lua_State *L)
{
    sr_sandbox_t *sb = up_sb(L);
    lua_Integer f = luaL_checkinteger(L, 2), e = luaL_checkinteger(L, 3);
    if (e >= f && (lua_Unsigned)e - (lua_Unsigned)f >= (lua_Unsigned)sb->limits.max_move)
        return sr_sandbox_limit_error(L, sb, SR_LIMIT_SIZE, "table.move: more than %I elements in one call",
                                      (lua_Integer)sb->limits.max_move);
    lua_pushvalue(L, lua_upvalueindex(2));
    lua_insert(L, 1);
    lua_call(L, lua_gettop(L) - 1, LUA_MULTRET);
    return lua_gettop(L);
}

/* Replaces lib[name] with fn, which gets the sandbox and the original as
 * upvalues. [-0, +0] */
static void wrap(lua_State *L, int lib, const char *name, lua_CFunction fn, sr_sandbox_t *sb)
{
    lua_pushlightuserdata(L, sb);
    lua_getfield(L, lib, name);
    lua_pushcclosure(L, fn, 2);
    lua_setfield(L, lib, name);
}

/* ---- the environment ---- */

/* Globals the rules may read, besides the libraries below and log. */
static const char *const allowed_globals[] = {
    "assert", "error", "ipairs", "next", "pairs", "pcall", "select", "tonumber", "tostring", "type", NULL,
};

/* Library tables copied into the rules' environment, minus the listed names. */
static const struct {
    const char *lib;
    const char *const drop[5];
} allowed_libs[] = {
    {"string", {"dump", "pack", "packsize", "unpack", NULL}},
    {"table", {NULL}},
    {"math", {"random", "randomseed", NULL}},
    {"utf8", {NULL}},
};

static int undefined_global(lua_State *L)
{
    const char *name = lua_type(L, 2) == LUA_TSTRING ? lua_tostring(L, 2) : "?";
    return luaL_error(L, "undefined global '%s'", name);
}

/* Builds the environment; runs in protected mode. */
static int build_env(lua_State *L)
{
    sr_sandbox_t *sb = lua_touserdata(L, 1);
    sr_lv_init(L);
    luaL_requiref(L, LUA_GNAME, luaopen_base, 1);
    luaL_requiref(L, LUA_STRLIBNAME, luaopen_string, 1);
    luaL_requiref(L, LUA_TABLIBNAME, luaopen_table, 1);
    luaL_requiref(L, LUA_MATHLIBNAME, luaopen_math, 1);
    luaL_requiref(L, LUA_UTF8LIBNAME, luaopen_utf8, 1);
    lua_settop(L, 1);

    /* Not even the trusted prelude needs these. */
    static const char *const drop_globals[] = {"load", "loadfile", "dofile", "collectgarbage", "print", NULL};
    for (int i = 0; drop_globals[i]; i++) {
        lua_pushnil(L);
        lua_setglobal(L, drop_globals[i]);
    }
    /* The real string table is every string's __index: what is removed or
     * capped here is removed or capped for ("x"):method() calls too. */
    lua_getglobal(L, LUA_STRLIBNAME);
    int str = lua_gettop(L);
    for (int k = 0; allowed_libs[0].drop[k]; k++) {
        lua_pushnil(L);
        lua_setfield(L, str, allowed_libs[0].drop[k]);
    }
    wrap(L, str, "rep", sb_string_rep, sb);
    wrap(L, str, "format", sb_string_format, sb);
    sr_pattern_install(L, sb, str);
    lua_getglobal(L, LUA_TABLIBNAME);
    int tab = lua_gettop(L);
    wrap(L, tab, "concat", sb_table_concat, sb);
    wrap(L, tab, "move", sb_table_move, sb);
    lua_settop(L, 1);

    lua_newtable(L); /* weak-keyed map of frozen proxies to their contents */
    lua_newtable(L);
    lua_pushliteral(L, "k");
    lua_setfield(L, -2, "__mode");
    lua_setmetatable(L, -2);
    lua_setfield(L, LUA_REGISTRYINDEX, REG_FROZEN);
    lua_newtable(L);
    lua_setfield(L, LUA_REGISTRYINDEX, REG_SHARED);

    lua_newtable(L); /* env */
    for (int i = 0; allowed_globals[i]; i++) {
        lua_getglobal(L, allowed_globals[i]);
        lua_setfield(L, -2, allowed_globals[i]);
    }
    lua_pushlightuserdata(L, sb);
    lua_pushcclosure(L, sb_pcall, 1);
    lua_setfield(L, -2, "pcall");
    lua_pushcfunction(L, sb_next);
    lua_setfield(L, -2, "next");
    lua_pushlightuserdata(L, sb);
    lua_pushcclosure(L, sb_log, 1);
    lua_setfield(L, -2, "log");
    for (size_t i = 0; i < sizeof allowed_libs / sizeof allowed_libs[0]; i++) {
        lua_newtable(L); /* the copy */
        lua_getglobal(L, allowed_libs[i].lib);
        lua_pushnil(L);
        while (lua_next(L, -2)) { /* copy each field */
            lua_pushvalue(L, -2); /* key */
            lua_insert(L, -2);    /* key key value */
            lua_rawset(L, -5);    /* copy[key] = value */
        }
        lua_pop(L, 1); /* the library */
        for (int k = 0; allowed_libs[i].drop[k]; k++) {
            lua_pushnil(L);
            lua_setfield(L, -2, allowed_libs[i].drop[k]);
        }
        lua_setfield(L, -2, allowed_libs[i].lib);
    }
    lua_newtable(L); /* env's metatable: an undefined global is an error */
    lua_pushcfunction(L, undefined_global);
    lua_setfield(L, -2, "__index");
    lua_setmetatable(L, -2);
    sb->env_ref = luaL_ref(L, LUA_REGISTRYINDEX); /* pops env */
    return 0;
}

sr_status_t sr_sandbox_init(sr_sandbox_t *sb, size_t mem_limit, sr_diag_t *d)
{
    memset(sb, 0, sizeof *sb);
    sb->limits = sr_sandbox_default_limits;
    if (mem_limit)
        sb->limits.mem_limit = mem_limit;
    sb->mem_limit = sb->limits.mem_limit;
    sb->fail_after = -1;
    sb->env_ref = LUA_NOREF;
    sb->log_out = stderr;
    sb->L = lua_newstate(sandbox_alloc, sb);
    if (!sb->L) {
        sr_diag_set(d, SR_ERR_NOMEM, NULL, 0, 0, NULL, "out of memory creating the Lua state");
        return SR_ERR_NOMEM;
    }
    /* collect when the heap reaches 1.5 times what the last cycle kept (Lua's
     * default is 2): a worker's peak memory about 2 MB lower (issue 7's 16 MiB
     * a worker), for about 1.5 % more instructions a case (docs/performance.md) */
    lua_gc(sb->L, LUA_GCINC, 150, 0, 0);
    lua_pushcfunction(sb->L, build_env);
    lua_pushlightuserdata(sb->L, sb);
    sr_status_t st = sr_sandbox_pcall(sb->L, 1, 0, d);
    if (st != SR_OK) {
        lua_close(sb->L);
        sb->L = NULL;
    }
    return st;
}

void sr_sandbox_free(sr_sandbox_t *sb)
{
    watchdog_stop(sb->wd);
    sb->wd = NULL;
    if (sb->L)
        lua_close(sb->L);
    sb->L = NULL;
    for (size_t i = 0; i < sb->shared.cap; i++)
        free(sb->shared.slots[i].json);
    free(sb->shared.slots);
    memset(&sb->shared, 0, sizeof sb->shared);
}

void sr_sandbox_push_env(sr_sandbox_t *sb) { lua_rawgeti(sb->L, LUA_REGISTRYINDEX, sb->env_ref); }

int sr_sandbox_find_frame(lua_State *L, int from, int to, const char *skip, lua_Debug *ar)
{
    size_t nskip = skip ? strlen(skip) : 0;
    for (int level = from; level < to && lua_getstack(L, level, ar); level++)
        if (lua_getinfo(L, "Sl", ar) && ar->currentline > 0 && (!skip || strncmp(ar->source, skip, nskip) != 0))
            return 1;
    return 0;
}

/* ---- bytecode checks ---- */

/* Lua 5.4 opcodes the checks look for (lopcodes.h). */
enum {
    OPC_SETUPVAL = 10,
    OPC_BANDK = 29, OPC_BORK, OPC_BXORK, OPC_SHRI, OPC_SHLI,
    OPC_BAND = 41, OPC_BOR, OPC_BXOR, OPC_SHL, OPC_SHR,
    OPC_BNOT = 50,
};

/* The first finding of a scan (bc_t.user). */
typedef struct {
    int line;
    char what[200];
} finding_t;


static int is_bitwise(int op)
{
    return (op >= OPC_BANDK && op <= OPC_SHLI) || (op >= OPC_BAND && op <= OPC_SHR) || op == OPC_BNOT;
}

/* Walks one dumped function. outer[i] says whether upvalue i of this function
 * is a variable of the main chunk (a local of the file, or _ENV). */
static void bc_function(bc_t *r, int depth, const unsigned char *outer, size_t nouter)
{
    size_t len;
    if (depth > 250) {
        r->bad = 1;
        return;
    }
    bc_string(r, &len);            /* source */
    size_t linedefined = bc_size(r);
    bc_size(r);                    /* lastlinedefined */
    bc_skip(r, 3);                 /* numparams, is_vararg, maxstacksize */
    size_t ncode = bc_size(r);
    if (ncode > (size_t)(r->end - r->p) / 4) {
        r->bad = 1;
        return;
    }
    const unsigned char *code = bc_skip(r, ncode * 4);
    size_t nk = bc_size(r);
    for (size_t i = 0; i < nk && !r->bad; i++) {
        int t = bc_byte(r);
        switch (t) {
        case 0: case 1: case 17: break;             /* nil, false, true */
        case 3: bc_skip(r, r->int_size); break;     /* integer */
        case 19: bc_skip(r, r->num_size); break;    /* float */
        case 4: case 20: bc_string(r, &len); break; /* strings */
        default: r->bad = 1;
        }
    }
    size_t nup = bc_size(r);
    if (r->bad || nup > 255 || nup > (size_t)(r->end - r->p) / 3) {
        r->bad = 1;
        return;
    }
    unsigned char mine[256];  /* is upvalue i a main-chunk variable? */
    unsigned char child[256]; /* for each child: its upvalues resolved against ours */
    bc_skip(r, nup * 3); /* our own descriptors: our parent read them for us */
    for (size_t i = 0; i < nup; i++)
        mine[i] = depth == 0 ? 0 : (i < nouter ? outer[i] : 0);
    size_t nprotos = bc_size(r);
    for (size_t i = 0; i < nprotos && !r->bad; i++) {
        /* Read ahead to the child's upvalue descriptors: (instack=1, idx)
         * is our local idx, a variable of the file when we are the main
         * chunk; (instack=0, idx) is our upvalue idx. */
        bc_t save = *r;
        bc_t probe = *r;
        size_t plen;
        bc_string(&probe, &plen);
        bc_size(&probe);
        bc_size(&probe);
        bc_skip(&probe, 3);
        size_t pcode = bc_size(&probe);
        if (pcode > (size_t)(probe.end - probe.p) / 4) {
            r->bad = 1;
            return;
        }
        bc_skip(&probe, pcode * 4);
        size_t pk = bc_size(&probe);
        for (size_t k = 0; k < pk && !probe.bad; k++) {
            int t = bc_byte(&probe);
            if (t == 3)
                bc_skip(&probe, probe.int_size);
            else if (t == 19)
                bc_skip(&probe, probe.num_size);
            else if (t == 4 || t == 20)
                bc_string(&probe, &plen);
            else if (t != 0 && t != 1 && t != 17)
                probe.bad = 1;
        }
        size_t pup = bc_size(&probe);
        if (probe.bad || pup > 255 || pup > (size_t)(probe.end - probe.p) / 3) {
            r->bad = 1;
            return;
        }
        for (size_t k = 0; k < pup; k++) {
            int instack = probe.p[3 * k], idx = probe.p[3 * k + 1];
            if (depth == 0)
                child[k] = 1; /* our locals and our _ENV are the file's */
            else
                child[k] = instack ? 0 : ((size_t)idx < nup ? mine[idx] : 0);
        }
        *r = save;
        bc_function(r, depth + 1, child, pup);
        if (r->bad)
            return;
    }
    /* debug information: line of each instruction, upvalue names */
    bc_lines_t li;
    bc_read_lines(r, linedefined, &li);
    size_t nupnames = bc_size(r);
    const char *upname[256] = {0};
    size_t upnamelen[256] = {0};
    for (size_t i = 0; i < nupnames && !r->bad; i++) {
        const char *s = bc_string(r, &len);
        if (i < 256) {
            upname[i] = s;
            upnamelen[i] = len;
        }
    }
    if (r->bad || ((finding_t *)r->user)->what[0])
        return;
    for (size_t pc = 0; pc < ncode; pc++) {
        unsigned long ins = (unsigned long)code[4 * pc] | ((unsigned long)code[4 * pc + 1] << 8) |
                            ((unsigned long)code[4 * pc + 2] << 16) | ((unsigned long)code[4 * pc + 3] << 24);
        int op = (int)(ins & 0x7f);
        int b = (int)((ins >> 16) & 0xff);
        const char *what = NULL;
        char buf[200];
        if (op == OPC_SETUPVAL && (size_t)b < nup) {
            const char *name = (size_t)b < nupnames ? upname[b] : NULL;
            int len_name = (size_t)b < nupnames ? (int)upnamelen[b] : 0;
            if (name && len_name == 4 && memcmp(name, "_ENV", 4) == 0) {
                what = "a rule file cannot assign _ENV";
            } else if (depth > 0 && mine[b]) {
                snprintf(buf, sizeof buf,
                         "a function cannot assign '%.*s', a variable of the file: rules keep no state between cases",
                         name ? len_name : 1, name ? name : "?");
                what = buf;
            }
        } else if (is_bitwise(op) && nk > 256) {
            what = "bitwise operator in a function with more than 256 constants (Lua 5.4.4 can compile it "
                   "wrongly): split the function";
        }
        if (!what)
            continue;
        finding_t *f = r->user;
        f->line = bc_pc_line(r, &li, pc);
        snprintf(f->what, sizeof f->what, "%s", what);
        return;
    }
}

/* Checks the function at the top of the stack. Returns SR_OK, or an error
 * with *d filled. [-0, +0] */
static sr_status_t check_bytecode(lua_State *L, sr_diag_t *d)
{
    sr_buf_t buf;
    sr_buf_init(&buf);
    if (bc_dump(L, &buf) != 0) {
        sr_buf_free(&buf);
        sr_diag_set(d, SR_ERR_NOMEM, NULL, 0, 0, NULL, "out of memory checking a rule file");
        return SR_ERR_NOMEM;
    }
    finding_t found = {0, ""};
    bc_t r = bc_open(&buf, &found);
    bc_function(&r, 0, NULL, 0);
    sr_status_t st = SR_OK;
    if (found.what[0]) {
        lua_Debug ar;
        lua_pushvalue(L, -1);
        lua_getinfo(L, ">S", &ar);
        sr_diag_set(d, SR_ERR_RULE, ar.short_src, found.line, 0, NULL, "%s", found.what);
        st = SR_ERR_RULE;
    } else if (r.bad) {
        sr_diag_set(d, SR_ERR_RULE, NULL, 0, 0, NULL, "cannot check the compiled rule file");
        st = SR_ERR_RULE;
    }
    sr_buf_free(&buf);
    return st;
}

sr_status_t sr_sandbox_load(sr_sandbox_t *sb, const char *text, size_t len, const char *chunkname,
                            int env_idx, sr_diag_t *d)
{
    lua_State *L = sb->L;
    if (env_idx)
        env_idx = lua_absindex(L, env_idx);
    int rc = luaL_loadbufferx(L, text, len, chunkname, "t"); /* text only, never bytecode */
    if (rc != LUA_OK) {
        const char *msg = lua_tostring(L, -1);
        sr_diag_set(d, rc == LUA_ERRMEM ? SR_ERR_NOMEM : SR_ERR_RULE, NULL, 0, 0, NULL, "%s",
                    msg ? msg : "cannot load chunk");
        lua_pop(L, 1);
        if (rc != LUA_ERRMEM)
            sr_diag_split_lua(d);
        if (!d->file && chunkname && chunkname[0] == '@') /* "attempt to load a binary chunk" has no position */
            d->file = sr_strdup(chunkname + 1);
        return d->status;
    }
    sr_status_t st = check_bytecode(L, d);
    if (st != SR_OK) {
        lua_pop(L, 1);
        return st;
    }
    if (env_idx)
        lua_pushvalue(L, env_idx);
    else
        sr_sandbox_push_env(sb);
    if (!lua_setupvalue(L, -2, 1)) /* _ENV is the main chunk's first upvalue */
        lua_pop(L, 1);
    return SR_OK;
}

/* ---- protected calls ---- */

/* Does msg start with a "file:line: " position? */
static int has_position(const char *msg)
{
    const char *c = strchr(msg, ':');
    while (c && !memchr(msg, '\n', (size_t)(c - msg))) {
        const char *q = c + 1;
        while (*q >= '0' && *q <= '9')
            q++;
        if (q > c + 1 && q[0] == ':' && q[1] == ' ')
            return 1;
        c = strchr(c + 1, ':');
    }
    return 0;
}

/* Message handler: adds a traceback to string errors and names other
 * error objects without calling their metamethods. An error raised inside a
 * C function with no position ("C stack overflow", a library function called
 * through a capped wrapper) gets the position of the rule that called it. */
static int msghandler(lua_State *L)
{
    const char *msg = lua_tostring(L, 1);
    if (msg == NULL || lua_type(L, 1) != LUA_TSTRING) {
        luaL_where(L, 2); /* only error() raises other objects: where it was called */
        msg = lua_pushfstring(L, "%s(error object is a %s value)", lua_tostring(L, -1), luaL_typename(L, 1));
    } else if (!has_position(msg)) {
        lua_Debug ar; /* the prelude places its own messages */
        if (sr_sandbox_find_frame(L, 1, 32, NULL, &ar) && strcmp(ar.source, SR_PRELUDE_SOURCE) != 0)
            msg = lua_pushfstring(L, "%s:%d: %s", ar.short_src, ar.currentline, msg);
    }
    luaL_traceback(L, L, msg, 1);
    return 1;
}

/* Turns "file:line: message\nstack traceback:..." into file, line, message
 * and a traceback note. */
void sr_diag_split_lua(sr_diag_t *d)
{
    char *m = d->message;
    if (!m)
        return;
    char *tb = strstr(m, "\nstack traceback:");
    if (tb) {
        free(d->note);
        d->note = NULL; /* tracebacks are for developers; keep the message clean */
        *tb = '\0';
    }
    /* "file:123: rest" */
    char *c1 = strchr(m, ':');
    while (c1) {
        char *p = c1 + 1;
        char *q = p;
        while (*q >= '0' && *q <= '9')
            q++;
        if (q > p && *q == ':' && q[1] == ' ') {
            free(d->file);
            d->file = sr_strndup(m, (size_t)(c1 - m));
            d->line = atoi(p);
            char *rest = sr_strdup(q + 2);
            if (rest) {
                free(d->message);
                d->message = rest;
            }
            return;
        }
        c1 = strchr(c1 + 1, ':');
    }
}

/* Cuts a long message and replaces what is not UTF-8, so any error can be
 * printed and written into a JSON record. */
static void tidy_message(sr_diag_t *d, size_t cap)
{
    if (!d->message)
        return;
    size_t n = strlen(d->message);
    char *out = malloc(cap + 64);
    if (!out)
        return;
    int cut;
    size_t w = clean_text(d->message, n, cap, 1, out, &cut);
    if (cut)
        snprintf(out + w, 64, "... (message cut at %zu of %zu bytes)", w, n);
    free(d->message);
    d->message = out;
}

sr_status_t sr_sandbox_pcall(lua_State *L, int nargs, int nres, sr_diag_t *d)
{
    int base = lua_gettop(L) - nargs; /* the function's index */
    lua_pushcfunction(L, msghandler);
    lua_insert(L, base);
    int rc = lua_pcall(L, nargs, nres, base);
    lua_remove(L, base);
    if (rc == LUA_OK)
        return SR_OK;
    sr_status_t st = rc == LUA_ERRMEM ? SR_ERR_NOMEM : SR_ERR_RULE;
    const char *msg = lua_tostring(L, -1);
    sr_diag_set(d, st, NULL, 0, 0, NULL, "%s", msg ? msg : "error");
    lua_pop(L, 1);
    if (rc == LUA_ERRMEM) {
        free(d->message);
        d->message = sr_strdup("out of memory");
    } else {
        sr_diag_split_lua(d);
        sr_sandbox_t *sb = sandbox_of(L);
        tidy_message(d, sb ? sb->limits.max_message : sr_sandbox_default_limits.max_message);
    }
    return st;
}

sr_status_t sr_sandbox_run(sr_sandbox_t *sb, int nargs, int nres, sr_diag_t *d)
{
    sb->limit_hit = SR_LIMIT_NONE;
    sb->limit_msg[0] = '\0';
    sb->budget_failed = 0;
    sb->oom = 0;
    sb->mem_where[0] = '\0';
    sb->log_count = 0;
    sb->running = 1;
    watchdog_arm(sb);
    sr_status_t st = sr_sandbox_pcall(sb->L, nargs, nres, d);
    watchdog_disarm(sb);
    sb->running = 0;
    sb->failing = 0;
    if (sb->limit_hit == SR_LIMIT_NONE && st == SR_ERR_NOMEM && sb->budget_failed)
        sb->limit_hit = SR_LIMIT_MEMORY;
    if (sb->limit_hit == SR_LIMIT_NONE) {
        if (st == SR_ERR_NOMEM || sb->oom) {
            if (st == SR_OK)
                lua_pop(sb->L, nres);
            sr_diag_set(d, SR_ERR_NOMEM, NULL, 0, 0, NULL, "out of memory");
            return SR_ERR_NOMEM;
        }
        return st;
    }
    if (st == SR_OK) /* a limit error that some handler swallowed is still an error */
        lua_pop(sb->L, nres);
    if (sb->limit_hit == SR_LIMIT_MEMORY) {
        char size[32];
        format_size(size, sizeof size, sb->limits.mem_limit);
        sr_diag_set(d, SR_ERR_LIMIT, NULL, 0, 0, NULL, "%s%smemory limit of %s exceeded", sb->mem_where,
                    sb->mem_where[0] ? " " : "", size);
    } else {
        sr_diag_set(d, SR_ERR_LIMIT, NULL, 0, 0, NULL, "%s", sb->limit_msg[0] ? sb->limit_msg : "limit exceeded");
    }
    sr_diag_split_lua(d);
    return SR_ERR_LIMIT;
}

/* ---- freezing ---- */

static int ro_newindex(lua_State *L)
{
    const char *what = lua_type(L, 2) == LUA_TSTRING ? lua_tostring(L, 2) : NULL;
    if (what)
        return luaL_error(L, "tables of the rule set are read-only once it is loaded (tried to set '%s')", what);
    if (lua_type(L, 2) == LUA_TNUMBER)
        return luaL_error(L, "tables of the rule set are read-only once it is loaded (tried to set [%s])",
                          lua_tostring(L, 2));
    return luaL_error(L, "tables of the rule set are read-only once it is loaded");
}

static int ro_len(lua_State *L)
{
    if (!push_frozen_contents(L, 1))
        return luaL_error(L, "not a frozen table");
    lua_pushinteger(L, (lua_Integer)lua_rawlen(L, -1));
    return 1;
}

static int ro_pairs(lua_State *L)
{
    if (!push_frozen_contents(L, 1))
        return luaL_error(L, "not a frozen table");
    lua_getglobal(L, "next"); /* the real next, on the contents */
    lua_insert(L, -2);
    lua_pushnil(L);
    return 3;
}

static int set_global(lua_State *L)
{
    const char *name = lua_type(L, 2) == LUA_TSTRING ? lua_tostring(L, 2) : "?";
    return luaL_error(L, "rule files cannot set globals once the rule set is loaded (tried '%s')", name);
}

enum { SCAN = 1, FREEZE = 2 };

typedef struct {
    lua_State *L;
    int seen;   /* table: value -> modes seen (bit mask) */
    int work;   /* table: stack of values */
    int modes;  /* table: stack of modes */
    lua_Integer n;
    int frozen; /* the registry's proxy -> contents map */
} walk_t;

/* Queues the value at the top (popped) in mode. */
static void walk_push(walk_t *w, int mode)
{
    lua_State *L = w->L;
    int t = lua_type(L, -1);
    if (t != LUA_TTABLE && t != LUA_TFUNCTION) {
        lua_pop(L, 1);
        return;
    }
    lua_pushvalue(L, -1);
    lua_rawget(L, w->seen);
    int seen = (int)lua_tointeger(L, -1);
    lua_pop(L, 1);
    if (seen & mode) {
        lua_pop(L, 1);
        return;
    }
    lua_pushvalue(L, -1);
    lua_pushinteger(L, seen | mode);
    lua_rawset(L, w->seen);
    w->n++;
    lua_rawseti(L, w->work, w->n);
    lua_pushinteger(L, mode);
    lua_rawseti(L, w->modes, w->n);
}

/* Queues every key and value of the table at idx, raw. */
static void walk_contents(walk_t *w, int idx, int mode)
{
    lua_State *L = w->L;
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        walk_push(w, mode);     /* the value */
        lua_pushvalue(L, -1);
        walk_push(w, mode);     /* the key */
    }
}

/* Replaces the table at idx by a read-only proxy of itself: its contents
 * move to a new table that the proxy reads through. */
static void freeze_table(walk_t *w, int idx)
{
    lua_State *L = w->L;
    lua_newtable(L); /* contents */
    int contents = lua_gettop(L);
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        lua_pushvalue(L, -2);
        lua_insert(L, -2);
        lua_rawset(L, contents);
    }
    lua_pushnil(L);
    while (lua_next(L, contents)) {
        lua_pop(L, 1);
        lua_pushvalue(L, -1);
        lua_pushnil(L);
        lua_rawset(L, idx); /* clearing a present field is allowed during lua_next of another table */
    }
    lua_newtable(L); /* the proxy's metatable */
    int had_mt = lua_getmetatable(L, idx);
    if (had_mt) { /* keep the original's fields, and getmetatable() still answers it */
        lua_pushnil(L);
        while (lua_next(L, -2)) {
            lua_pushvalue(L, -2);
            lua_insert(L, -2);
            lua_rawset(L, -5);
        }
        lua_setfield(L, -2, "__metatable");
    } else {
        lua_pushliteral(L, "frozen");
        lua_setfield(L, -2, "__metatable");
    }
    lua_pushvalue(L, contents);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, ro_newindex);
    lua_setfield(L, -2, "__newindex");
    lua_pushcfunction(L, ro_len);
    lua_setfield(L, -2, "__len");
    lua_pushcfunction(L, ro_pairs);
    lua_setfield(L, -2, "__pairs");
    lua_setmetatable(L, idx);
    lua_pushvalue(L, idx);
    lua_pushvalue(L, contents);
    lua_rawset(L, w->frozen);
    lua_pop(L, 1); /* contents */
}

/* What to do with the table at idx: 0 freeze it; 1 it is frozen already
 * (by us or by the prelude); 2 leave it (a protected metatable, or an
 * __index or __newindex of its own: not ours to change). Pushes the table
 * whose contents are to be walked: the contents of a frozen table, else the
 * table itself. [-0, +1] */
static int table_kind(walk_t *w, int idx)
{
    lua_State *L = w->L;
    int top = lua_gettop(L);
    lua_pushvalue(L, idx);
    if (lua_rawget(L, w->frozen) == LUA_TTABLE)
        return 1;
    lua_settop(L, top);
    if (!lua_getmetatable(L, idx)) {
        lua_pushvalue(L, idx);
        return 0;
    }
    int mt = lua_gettop(L);
    int kind = 0;
    int tm = lua_getfield(L, mt, "__metatable");
    if (tm == LUA_TSTRING && strcmp(lua_tostring(L, -1), "frozen") == 0 &&
        lua_getfield(L, mt, "__index") == LUA_TTABLE) {
        lua_replace(L, top + 1);
        lua_settop(L, top + 1);
        return 1;
    }
    lua_settop(L, mt);
    if (tm != LUA_TNIL)
        kind = 2;
    else if (lua_getfield(L, mt, "__index") != LUA_TNIL || lua_getfield(L, mt, "__newindex") != LUA_TNIL)
        kind = 2;
    lua_settop(L, top);
    lua_pushvalue(L, idx);
    return kind;
}

static int is_prelude_function(lua_State *L, int idx)
{
    lua_Debug ar;
    lua_pushvalue(L, idx);
    lua_getinfo(L, ">S", &ar);
    return strcmp(ar.source, SR_PRELUDE_SOURCE) == 0;
}

static int freeze_all(lua_State *L)
{
    sr_sandbox_t *sb = lua_touserdata(L, 1);
    walk_t w = {L, 0, 0, 0, 0, 0};
    lua_settop(L, 1);
    lua_newtable(L);
    w.seen = lua_gettop(L);
    lua_newtable(L);
    w.work = lua_gettop(L);
    lua_newtable(L);
    w.modes = lua_gettop(L);
    lua_getfield(L, LUA_REGISTRYINDEX, REG_FROZEN);
    w.frozen = lua_gettop(L);

    /* the environment: after the prelude's lock, its values live in the
     * __index table of its metatable; without one, lock it here */
    sr_sandbox_push_env(sb);
    int env = lua_gettop(L);
    int backing;
    if (lua_getmetatable(L, env) && lua_getfield(L, -1, "__index") == LUA_TTABLE) {
        backing = lua_gettop(L);
    } else {
        lua_settop(L, env);
        lua_newtable(L);
        backing = lua_gettop(L);
        lua_pushnil(L);
        while (lua_next(L, env)) {
            lua_pushvalue(L, -2);
            lua_insert(L, -2);
            lua_rawset(L, backing);
        }
        lua_pushnil(L);
        while (lua_next(L, backing)) {
            lua_pop(L, 1);
            lua_pushvalue(L, -1);
            lua_pushnil(L);
            lua_rawset(L, env);
        }
        lua_newtable(L);
        lua_pushvalue(L, backing);
        lua_setfield(L, -2, "__index");
        lua_pushcfunction(L, set_global);
        lua_setfield(L, -2, "__newindex");
        lua_setmetatable(L, env);
    }
    /* never to be frozen themselves: the environment, its contents, the
     * registry's own tables */
    int keep[] = {env, backing, w.seen, w.work, w.modes, w.frozen};
    for (size_t i = 0; i < sizeof keep / sizeof keep[0]; i++) {
        lua_pushvalue(L, keep[i]);
        lua_pushinteger(L, SCAN | FREEZE);
        lua_rawset(L, w.seen);
    }
    walk_contents(&w, backing, FREEZE);

    while (w.n > 0) {
        lua_rawgeti(L, w.work, w.n);
        lua_rawgeti(L, w.modes, w.n);
        int mode = (int)lua_tointeger(L, -1);
        lua_pop(L, 1);
        lua_pushnil(L);
        lua_rawseti(L, w.work, w.n);
        w.n--;
        int v = lua_gettop(L);
        if (lua_type(L, v) == LUA_TFUNCTION) {
            if (!lua_iscfunction(L, v)) {
                int up_mode = is_prelude_function(L, v) ? SCAN : FREEZE;
                for (int i = 1; lua_getupvalue(L, v, i) != NULL; i++)
                    walk_push(&w, up_mode);
            }
        } else if (mode == FREEZE) {
            int kind = table_kind(&w, v); /* pushes what to walk */
            walk_contents(&w, lua_gettop(L), FREEZE);
            lua_pop(L, 1);
            if (kind == 0)
                freeze_table(&w, v);
        } else {
            table_kind(&w, v);
            walk_contents(&w, lua_gettop(L), SCAN);
            lua_pop(L, 1);
        }
        lua_settop(L, v - 1);
    }

    /* reading a global that does not exist is an error again */
    lua_newtable(L);
    lua_pushcfunction(L, undefined_global);
    lua_setfield(L, -2, "__index");
    lua_setmetatable(L, backing);
    return 0;
}

sr_status_t sr_sandbox_freeze(sr_sandbox_t *sb, sr_diag_t *d)
{
    lua_pushcfunction(sb->L, freeze_all);
    lua_pushlightuserdata(sb->L, sb);
    return sr_sandbox_pcall(sb->L, 1, 0, d);
}

/* ---- results ---- */

/* Bounds of what results may share: beyond them, frozen tables are copied
 * for every result, as they were. */
#define SHARED_MAX_TABLES 1024
#define SHARED_MAX_VALUES 12500 /* about 1 MiB of the memory budget; 4096 tables
                                   and 50,000 values held 2 MB more for 0.3 %
                                   fewer instructions (docs/performance.md) */

static size_t shared_hash(const void *t, size_t cap)
{
    uint64_t h = (uint64_t)(uintptr_t)t * 0x9E3779B97F4A7C15ULL;
    return (size_t)(h >> 32) & (cap - 1);
}

sr_shared_t *sr_shared_find(sr_shared_map_t *m, const void *t)
{
    if (!m->n)
        return NULL;
    for (size_t i = shared_hash(t, m->cap);; i = (i + 1) & (m->cap - 1)) {
        if (m->slots[i].table == t)
            return &m->slots[i];
        if (!m->slots[i].table)
            return NULL;
    }
}

/* Adds t; returns its slot, or NULL when memory is short. */
static sr_shared_t *shared_add(sr_shared_map_t *m, const void *t)
{
    if ((m->n + 1) * 2 > m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 64;
        sr_shared_t *slots = calloc(cap, sizeof *slots);
        if (!slots)
            return NULL;
        for (size_t i = 0; i < m->cap; i++) {
            if (!m->slots[i].table)
                continue;
            size_t j = shared_hash(m->slots[i].table, cap);
            while (slots[j].table)
                j = (j + 1) & (cap - 1);
            slots[j] = m->slots[i];
        }
        free(m->slots);
        m->slots = slots;
        m->cap = cap;
    }
    size_t i = shared_hash(t, m->cap);
    while (m->slots[i].table)
        i = (i + 1) & (m->cap - 1);
    memset(&m->slots[i], 0, sizeof m->slots[i]);
    m->slots[i].table = t;
    m->n++;
    return &m->slots[i];
}

typedef struct {
    sr_sandbox_t *sb;
    lua_Integer values;
    size_t bytes;
    int shared;     /* stack index of the registry's frozen table -> shared copy map */
    int array_mt;   /* stack index of the arrays' metatable */
    int deepest;    /* the deepest level walked */
    int incomplete; /* a part was not walked (too deep), holds a null or a table not
                     * frozen: not to be shared */
} result_walk_t;

/* registry.shared[proxy] = copy, protected: a failure only means the copy
 * is not shared. [-3, +0] */
static int set_shared(lua_State *L)
{
    lua_rawset(L, 1);
    return 0;
}

/* Shares the copy at copy of the frozen table at proxy with later results:
 * it holds values and bytes in height levels. [-0, +0] */
static void share_copy(lua_State *L, result_walk_t *rw, int proxy, int copy, lua_Integer values, size_t bytes,
                       int height)
{
    sr_shared_map_t *m = &rw->sb->shared;
    if (m->n >= SHARED_MAX_TABLES || m->values + values > SHARED_MAX_VALUES)
        return;
    lua_pushcfunction(L, set_shared);
    lua_pushvalue(L, rw->shared);
    lua_pushvalue(L, proxy);
    lua_pushvalue(L, copy);
    if (lua_pcall(L, 3, 0, 0) != LUA_OK) {
        lua_pop(L, 1); /* the message */
        return;
    }
    sr_shared_t *s = shared_add(m, lua_topointer(L, copy));
    if (!s)
        return; /* the registry keeps the copy, unused */
    s->values = values;
    s->bytes = bytes;
    s->height = height;
    m->values += values;
}

/* Counts the values under the table at idx (at level depth) and replaces
 * each frozen table found in it by a raw copy (the writer reads tables raw):
 * the shared copy when there is one, else a new one, shared once counted
 * whole. Returns 1 as soon as a limit is passed. [-0, +0] */
static int result_walk(lua_State *L, result_walk_t *rw, int idx, int depth)
{
    if (depth > 64 || !lua_checkstack(L, 12)) {
        rw->incomplete = 1;
        return 0; /* the writer refuses results this deep */
    }
    if (depth > rw->deepest)
        rw->deepest = depth;
    lua_Integer max_values = (lua_Integer)rw->sb->limits.result_values;
    size_t max_bytes = rw->sb->limits.result_bytes;
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        int vt = lua_type(L, -1);
        rw->values++;
        if (vt == LUA_TSTRING)
            rw->bytes += lua_rawlen(L, -1);
        else if (vt == LUA_TLIGHTUSERDATA)
            rw->incomplete = 1; /* a null, which sr_strip_nulls may remove */
        if (lua_type(L, -2) == LUA_TSTRING)
            rw->bytes += lua_rawlen(L, -2);
        if (rw->values > max_values || rw->bytes > max_bytes) {
            lua_pop(L, 2);
            return 1;
        }
        if (vt != LUA_TTABLE) {
            lua_pop(L, 1);
            continue;
        }
        int frozen = 0;
        if (lua_getmetatable(L, -1)) { /* arrays share one metatable; frozen tables each have their own */
            frozen = !lua_rawequal(L, -1, rw->array_mt);
            lua_pop(L, 1);
        }
        int known = 0; /* shared already: never shared twice, so that a copy's address stays its own */
        if (frozen) { /* key value */
            int proxy = lua_gettop(L);
            if (rw->shared) {
                lua_pushvalue(L, proxy);
                known = lua_rawget(L, rw->shared) == LUA_TTABLE; /* key proxy copy */
            }
            if (known) {
                sr_shared_t *s = sr_shared_find(&rw->sb->shared, lua_topointer(L, -1));
                if (s && depth + s->height <= 64 && rw->values + s->values <= max_values &&
                    rw->bytes + s->bytes <= max_bytes) {
                    rw->values += s->values;
                    rw->bytes += s->bytes;
                    if (depth + s->height > rw->deepest)
                        rw->deepest = depth + s->height;
                    lua_pushvalue(L, proxy - 1);
                    lua_pushvalue(L, -2);
                    lua_rawset(L, idx); /* replacing a present field is allowed during lua_next */
                    lua_settop(L, proxy - 1);
                    continue;
                }
            }
            lua_settop(L, proxy);
            frozen = push_frozen_contents(L, proxy);
        }
        if (frozen) { /* key proxy contents */
            int proxy = lua_gettop(L) - 1, contents = proxy + 1;
            lua_settop(L, contents);
            int copy = contents + 1;
            lua_newtable(L);
            lua_pushnil(L);
            while (lua_next(L, contents)) {
                lua_pushvalue(L, -2);
                lua_insert(L, -2);
                lua_rawset(L, copy);
            }
            if (lua_getmetatable(L, proxy)) {
                if (lua_getfield(L, -1, "__metatable") == LUA_TTABLE)
                    lua_setmetatable(L, copy); /* the original's: an array stays an array */
                lua_settop(L, copy);
            }
            lua_pushvalue(L, proxy - 1);
            lua_pushvalue(L, copy);
            lua_rawset(L, idx); /* key proxy contents copy */
            lua_Integer values = rw->values;
            size_t bytes = rw->bytes;
            int deepest = rw->deepest, incomplete = rw->incomplete;
            rw->deepest = depth + 1;
            rw->incomplete = 0;
            if (result_walk(L, rw, copy, depth + 1)) {
                lua_settop(L, proxy - 2);
                return 1;
            }
            if (!rw->incomplete && !known && rw->shared)
                share_copy(L, rw, proxy, copy, rw->values - values, rw->bytes - bytes, rw->deepest - depth);
            if (deepest > rw->deepest)
                rw->deepest = deepest;
            rw->incomplete |= incomplete;
            lua_settop(L, proxy - 1);
            continue;
        }
        /* a table that is not frozen: a frozen table holding one could
         * change under the copy (freezing is deep, so this does not happen;
         * checked, as sharing would then write stale data) */
        rw->incomplete = 1;
        if (result_walk(L, rw, lua_gettop(L), depth + 1)) {
            lua_pop(L, 2);
            return 1;
        }
        lua_pop(L, 1);
    }
    return 0;
}

static int check_result(lua_State *L)
{
    result_walk_t rw = {lua_touserdata(L, 2), 0, 0, 0, 0, 0, 0};
    lua_settop(L, 2);
    lua_getfield(L, LUA_REGISTRYINDEX, REG_SHARED);
    rw.shared = lua_istable(L, 3) ? 3 : 0;
    sr_lv_push_array_mt(L);
    rw.array_mt = 4;
    result_walk(L, &rw, 1, 0);
    if (rw.values > (lua_Integer)rw.sb->limits.result_values)
        return luaL_error(L, "the result holds more than %d values", (int)rw.sb->limits.result_values);
    if (rw.bytes > rw.sb->limits.result_bytes)
        return luaL_error(L, "the result holds more than %d bytes of text", (int)rw.sb->limits.result_bytes);
    return 0;
}

sr_status_t sr_sandbox_check_result(sr_sandbox_t *sb, int idx, sr_diag_t *d)
{
    lua_State *L = sb->L;
    idx = lua_absindex(L, idx);
    lua_pushcfunction(L, check_result);
    lua_pushvalue(L, idx);
    lua_pushlightuserdata(L, sb);
    sr_status_t st = sr_sandbox_pcall(L, 2, 0, d);
    if (st == SR_ERR_RULE)
        d->status = st = SR_ERR_LIMIT;
    return st;
}
