/* diff.c -- `spinerules diff`: evaluates the same cases under two rule sets
 * (two engines, two sandboxed Lua states) and reports what changed, in the
 * rules' structure and in each case's clinical fields.
 *
 * The two structures (P.describe) and every result cross over as JSON into a
 * third, plain Lua state where engine/diff.lua (trusted host code, never rule
 * code) compares them and lays the report out. Results are compared as
 * written, so what the report says changed is what a user of the JSON
 * results would see change. */
#include "diff.h"

#include <lauxlib.h>
#include <lualib.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "report.h"
#include "lvalue.h"
#include "reader.h"
#include "util.h"
#include "writer.h"

/* engine/diff.lua, embedded at build time. */
extern const char *const sr_diff_lua;
extern const size_t sr_diff_lua_len;

/* Opens the report's Lua state: base, string, table and math, the reader's
 * array and null conventions, and diff.lua's module left on the stack. */
static sr_status_t open_host(lua_State **out, sr_diag_t *d)
{
    lua_State *H = luaL_newstate();
    *out = H;
    if (!H) {
        sr_diag_set(d, SR_ERR_NOMEM, NULL, 0, 0, NULL, "out of memory");
        return SR_ERR_NOMEM;
    }
    static const luaL_Reg libs[] = {
        {LUA_GNAME, luaopen_base}, {LUA_STRLIBNAME, luaopen_string}, {LUA_TABLIBNAME, luaopen_table},
        {LUA_MATHLIBNAME, luaopen_math}, {NULL, NULL}};
    for (const luaL_Reg *lib = libs; lib->func; lib++) {
        luaL_requiref(H, lib->name, lib->func, 1);
        lua_pop(H, 1); /* the library */
    }
    sr_lv_init(H);
    if (luaL_loadbufferx(H, sr_diff_lua, sr_diff_lua_len, "@engine/diff.lua", "t") != LUA_OK) {
        sr_diag_set(d, SR_ERR_RULE, NULL, 0, 0, NULL, "%s", lua_tostring(H, -1));
        sr_diag_split_lua(d);
        lua_pop(H, 1);
        return SR_ERR_RULE;
    }
    lua_createtable(H, 0, 2); /* host */
    sr_lv_push_null(H);
    lua_setfield(H, -2, "null");
    sr_lv_push_array_mt(H);
    lua_setfield(H, -2, "array_mt");
    sr_status_t st = sr_sandbox_pcall(H, 1, 1, d);
    if (st == SR_OK && !lua_istable(H, -1)) {
        lua_pop(H, 1);
        sr_diag_set(d, SR_ERR_RULE, "engine/diff.lua", 0, 0, NULL, "diff.lua did not return a table");
        st = SR_ERR_RULE;
    }
    return st;
}

/* Reads one JSON text into a Lua value on H. [-0, +1] on success */
static sr_status_t push_json(lua_State *H, const char *name, const char *json, size_t len, sr_diag_t *d)
{
    sr_reader_t *rd = NULL;
    sr_status_t st = sr_reader_open_mem(&rd, name, json, len, SR_IN_JSONL, NULL, d);
    if (st == SR_OK)
        st = sr_reader_next(rd, H, d);
    if (st == SR_DONE) {
        st = SR_ERR_RULE;
        sr_diag_set(d, st, name, 0, 0, NULL, "empty");
    }
    sr_reader_close(rd);
    return st;
}

/* Pushes e's structure (P.describe()), as plain data, onto H. [-0, +1] */
static sr_status_t push_description(sr_engine_t *e, lua_State *H, sr_diag_t *d)
{
    lua_State *L = e->sb.L;
    sr_status_t st = sr_report_describe(e, d); /* the same description the reports read */
    if (st != SR_OK)
        return st;
    char *json = sr_writer_to_json(L, -1);
    lua_pop(L, 1); /* the description */
    if (!json) {
        sr_diag_set(d, SR_ERR_RULE, e->dir, 0, 0, NULL, "the rule set's description has no JSON form");
        return SR_ERR_RULE;
    }
    st = push_json(H, "describe", json, strlen(json), d);
    free(json);
    return st;
}

/* Pushes {name, version, status, digest, dir} of e onto H. [-0, +1] */
static void push_identity(sr_engine_t *e, lua_State *H)
{
    lua_createtable(H, 0, 5);
    const char *v[][2] = {{"name", e->name}, {"version", e->version}, {"status", e->status},
                          {"digest", e->digest}, {"dir", e->dir}};
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        if (v[i][1])
            lua_pushstring(H, v[i][1]);
        else
            sr_lv_push_null(H);
        lua_setfield(H, -2, v[i][0]);
    }
}

/* Pushes the manifest of the rule set in dir onto H (nil when it cannot be
 * read again: the engine read it a moment ago). [-0, +1] */
static void push_manifest(const char *dir, lua_State *H)
{
    char *path = sr_asprintf("%s/manifest.yaml", dir);
    sr_reader_t *rd = NULL;
    sr_diag_t d;
    sr_diag_init(&d);
    if (!path || sr_reader_open(&rd, path, SR_IN_YAML, NULL, &d) != SR_OK || sr_reader_next(rd, H, &d) != SR_OK)
        lua_pushnil(H);
    sr_reader_close(rd);
    sr_diag_free(&d);
    free(path);
}

/* Calls D.<fn> with the nargs values on top of H. [-nargs, +nres] */
static sr_status_t call_d(lua_State *H, int dmod, const char *fn, int nargs, int nres, sr_diag_t *d)
{
    lua_getfield(H, dmod, fn);
    lua_insert(H, -1 - nargs);
    return sr_sandbox_pcall(H, nargs, nres, d);
}

/* The results of one file under e, as JSON Lines in a malloc'd buffer. */
static sr_status_t eval_to_memory(sr_engine_t *e, const char *file, sr_input_format_t fmt, FILE *diag_out,
                                  char **buf, size_t *len, sr_diag_t *d)
{
    *buf = NULL;
    *len = 0;
    FILE *mem = open_memstream(buf, len);
    if (!mem) {
        sr_diag_set(d, SR_ERR_NOMEM, NULL, 0, 0, NULL, "out of memory");
        return SR_ERR_NOMEM;
    }
    sr_run_stats_t stats = {0, 0};
    sr_status_t st = sr_engine_eval_file(e, file, fmt, SR_OUT_JSONL, mem, diag_out, &stats, d);
    if (fclose(mem) != 0 && st == SR_OK) {
        sr_diag_set(d, SR_ERR_NOMEM, NULL, 0, 0, NULL, "out of memory");
        st = SR_ERR_NOMEM;
    }
    return st;
}

/* The line where each document of file starts, in order (*n of them). */
static int *doc_lines(const char *file, sr_input_format_t fmt, lua_State *H, size_t *n)
{
    sr_reader_t *rd = NULL;
    sr_diag_t d;
    sr_diag_init(&d);
    int *lines = NULL;
    size_t cap = 0;
    *n = 0;
    if (sr_reader_open(&rd, file, fmt, NULL, &d) == SR_OK) {
        for (;;) {
            sr_status_t st = sr_reader_next(rd, H, &d);
            if (st == SR_DONE)
                break;
            if (st == SR_OK)
                lua_pop(H, 1);
            if (*n == cap) {
                int *l = realloc(lines, (cap = cap ? 2 * cap : 64) * sizeof *lines);
                if (!l)
                    break;
                lines = l;
            }
            lines[(*n)++] = sr_reader_doc_line(rd);
        }
    }
    sr_reader_close(rd);
    sr_diag_free(&d);
    return lines;
}

/* Evaluates one file under both engines and gives each pair of results to
 * D.add_case. */
static sr_status_t diff_file(sr_engine_t *ea, sr_engine_t *eb, const sr_diff_opts_t *o, const char *file,
                             lua_State *H, int dmod, sr_diag_t *d)
{
    char *ba = NULL, *bb = NULL;
    size_t la = 0, lb = 0, nlines = 0;
    int *lines = NULL;
    sr_reader_t *ra = NULL, *rb = NULL;
    sr_status_t st;
    int top = lua_gettop(H);
    if ((st = eval_to_memory(ea, file, o->input_format, o->diag_out, &ba, &la, d)) != SR_OK ||
        (st = eval_to_memory(eb, file, o->input_format, NULL, &bb, &lb, d)) != SR_OK)
        goto cleanup;
    lines = doc_lines(file, o->input_format, H, &nlines);
    lua_pushstring(H, file);
    if ((st = call_d(H, dmod, "add_file", 1, 0, d)) != SR_OK)
        goto cleanup;
    if ((st = sr_reader_open_mem(&ra, "results (from)", ba, la, SR_IN_JSONL, NULL, d)) != SR_OK ||
        (st = sr_reader_open_mem(&rb, "results (to)", bb, lb, SR_IN_JSONL, NULL, d)) != SR_OK)
        goto cleanup;
    for (size_t i = 0;; i++) {
        lua_pushstring(H, file);
        if (i < nlines)
            lua_pushinteger(H, lines[i]);
        else
            lua_pushnil(H);
        sr_status_t sa = sr_reader_next(ra, H, d);
        if (sa != SR_OK && sa != SR_DONE) {
            st = sa;
            goto cleanup;
        }
        sr_status_t sb = sr_reader_next(rb, H, d);
        if (sb != SR_OK && sb != SR_DONE) {
            st = sb;
            goto cleanup;
        }
        if (sa == SR_DONE && sb == SR_DONE)
            break;
        if (sa != sb) {
            st = SR_ERR_RULE;
            sr_diag_set(d, st, file, 0, 0, NULL, "the two rule sets gave different numbers of records");
            goto cleanup;
        }
        if ((st = call_d(H, dmod, "add_case", 4, 0, d)) != SR_OK)
            goto cleanup;
    }
    st = SR_OK;
cleanup:
    lua_settop(H, top);
    sr_reader_close(ra);
    sr_reader_close(rb);
    free(lines);
    free(ba);
    free(bb);
    return st;
}

/* Writes the report at idx in the chosen format. */
static sr_status_t write_report(lua_State *H, int dmod, int report, sr_diff_format_t fmt, FILE *out, sr_diag_t *d)
{
    if (fmt == SR_DIFF_JSON) {
        /* the writer orders keys by D.key_order */
        lua_newtable(H);
        if (lua_getfield(H, dmod, "key_order") == LUA_TTABLE) {
            lua_Integer n = (lua_Integer)lua_rawlen(H, -1);
            for (lua_Integer i = 1; i <= n; i++) {
                lua_rawgeti(H, -1, i);
                lua_pushinteger(H, i);
                lua_rawset(H, -4);
            }
        }
        lua_pop(H, 1);
        lua_setfield(H, LUA_REGISTRYINDEX, SR_REG_KEY_RANK);
        char *json = sr_writer_to_json(H, report);
        if (!json) {
            sr_diag_set(d, SR_ERR_NOMEM, NULL, 0, 0, NULL, "the report has no JSON form");
            return SR_ERR_NOMEM;
        }
        fputs(json, out);
        fputc('\n', out);
        free(json);
        return SR_OK;
    }
    lua_pushvalue(H, report);
    sr_status_t st = call_d(H, dmod, fmt == SR_DIFF_MARKDOWN ? "markdown" : "text", 1, 1, d);
    if (st != SR_OK)
        return st;
    size_t len;
    const char *s = lua_tolstring(H, -1, &len);
    if (s)
        fwrite(s, 1, len, out);
    lua_pop(H, 1);
    return SR_OK;
}

sr_status_t sr_diff_run(const sr_diff_opts_t *o, size_t *changed, sr_diag_t *d)
{
    sr_engine_t *ea = NULL, *eb = NULL;
    lua_State *H = NULL;
    *changed = 0;
    sr_status_t st;
    for (int i = 0; i < o->nfiles; i++) {
        if (strcmp(o->files[i], "-") == 0) {
            sr_diag_set(d, SR_ERR_USAGE, NULL, 0, 0, NULL,
                        "diff reads each case file more than once: give files, not standard input");
            return SR_ERR_USAGE;
        }
    }
    if ((st = sr_engine_open(&ea, o->from, d)) != SR_OK || (st = sr_engine_open(&eb, o->to, d)) != SR_OK ||
        (st = open_host(&H, d)) != SR_OK)
        goto cleanup;
    int dmod = lua_gettop(H);
    push_identity(ea, H);
    push_identity(eb, H);
    if ((st = push_description(ea, H, d)) != SR_OK || (st = push_description(eb, H, d)) != SR_OK)
        goto cleanup;
    push_manifest(ea->dir, H);
    push_manifest(eb->dir, H);
    if ((st = call_d(H, dmod, "start", 6, 0, d)) != SR_OK)
        goto cleanup;
    for (int i = 0; i < o->nfiles; i++)
        if ((st = diff_file(ea, eb, o, o->files[i], H, dmod, d)) != SR_OK)
            goto cleanup;
    if ((st = call_d(H, dmod, "finish", 0, 2, d)) != SR_OK)
        goto cleanup;
    *changed = (size_t)lua_tointeger(H, -1);
    lua_pop(H, 1);
    st = write_report(H, dmod, lua_gettop(H), o->format, o->out, d);
cleanup:
    if (H)
        lua_close(H);
    sr_engine_close(ea);
    sr_engine_close(eb);
    return st;
}
