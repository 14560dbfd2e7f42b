/* sandbox.c -- one sandboxed lua_State per worker, with a memory budget. */
#include "sandbox.h"

#include <lauxlib.h>
#include <lualib.h>
#include <stdlib.h>
#include <string.h>

#include "lvalue.h"
#include "util.h"

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
    if (sb->fail_after >= 0 && sb->fail_after-- == 0)
        return NULL;
    if (nsize > old && sb->mem_limit && sb->mem_used + (nsize - old) > sb->mem_limit)
        return NULL;
    void *p = realloc(ptr, nsize);
    if (!p)
        return NULL;
    sb->mem_used = sb->mem_used - old + nsize;
    return p;
}

/* Globals the rules may read. Everything else is absent. */
static const char *const allowed_globals[] = {
    "assert", "error", "ipairs", "next", "pairs", "pcall", "select",
    "tonumber", "tostring", "type", NULL,
};

/* Library tables copied into the rules' environment, minus the listed names. */
static const struct {
    const char *lib;
    const char *const drop[4];
} allowed_libs[] = {
    {"string", {"dump", NULL}},
    {"table", {NULL}},
    {"math", {"random", "randomseed", NULL}},
    {"utf8", {NULL}},
};

static int undefined_global(lua_State *L)
{
    const char *name = lua_tostring(L, 2);
    return luaL_error(L, "undefined global '%s'", name ? name : "?");
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
    static const char *const drop_globals[] = {"load", "loadfile", "dofile", "collectgarbage",
                                               "print", NULL};
    for (int i = 0; drop_globals[i]; i++) {
        lua_pushnil(L);
        lua_setglobal(L, drop_globals[i]);
    }
    lua_getglobal(L, LUA_STRLIBNAME);
    lua_pushnil(L);
    lua_setfield(L, -2, "dump"); /* reachable from any string through its metatable */
    lua_pop(L, 1);

    lua_newtable(L); /* env */
    for (int i = 0; allowed_globals[i]; i++) {
        lua_getglobal(L, allowed_globals[i]);
        lua_setfield(L, -2, allowed_globals[i]);
    }
    for (size_t i = 0; i < sizeof allowed_libs / sizeof allowed_libs[0]; i++) {
        lua_newtable(L); /* the copy */
        lua_getglobal(L, allowed_libs[i].lib);
        lua_pushnil(L);
        while (lua_next(L, -2)) {   /* copy each field */
            lua_pushvalue(L, -2);   /* key */
            lua_insert(L, -2);      /* key key value */
            lua_rawset(L, -5);      /* copy[key] = value */
        }
        lua_pop(L, 1);              /* the library */
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
    sb->mem_limit = mem_limit;
    sb->fail_after = -1;
    sb->env_ref = LUA_NOREF;
    sb->L = lua_newstate(sandbox_alloc, sb);
    if (!sb->L) {
        sr_diag_set(d, SR_ERR_NOMEM, NULL, 0, 0, NULL, "out of memory creating the Lua state");
        return SR_ERR_NOMEM;
    }
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
    if (sb->L)
        lua_close(sb->L);
    sb->L = NULL;
}

void sr_sandbox_push_env(sr_sandbox_t *sb) { lua_rawgeti(sb->L, LUA_REGISTRYINDEX, sb->env_ref); }

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
        return d->status;
    }
    if (env_idx)
        lua_pushvalue(L, env_idx);
    else
        sr_sandbox_push_env(sb);
    if (!lua_setupvalue(L, -2, 1)) /* _ENV is the main chunk's first upvalue */
        lua_pop(L, 1);
    return SR_OK;
}

/* Message handler: adds a traceback to string errors and names other
 * error objects without calling their metamethods. */
static int msghandler(lua_State *L)
{
    const char *msg = lua_tostring(L, 1);
    if (msg == NULL || lua_type(L, 1) != LUA_TSTRING)
        msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
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
        d->message = sr_strdup("out of memory (the rule set's memory budget is exhausted)");
    } else {
        sr_diag_split_lua(d);
    }
    return st;
}
