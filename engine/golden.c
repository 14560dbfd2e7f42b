/* golden.c -- a rule set's golden cases, checked field by field. */
#include "golden.h"

#include <dirent.h>
#include <lauxlib.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "lvalue.h"
#include "reader.h"
#include "util.h"
#include "validate.h"
#include "writer.h"

typedef struct {
    lua_State *L;
    sr_buf_t report;   /* lines describing the differences */
    int differences;
} cmp_t;

static void show(cmp_t *c, int idx, sr_buf_t *b)
{
    if (lua_isnoneornil(c->L, idx)) {
        sr_buf_puts(b, "(absent)");
        return;
    }
    char *s = sr_writer_to_json(c->L, idx);
    sr_buf_puts(b, s ? s : "(unprintable)");
    free(s);
}

static void differ(cmp_t *c, const char *path, int exp, int act, const char *why)
{
    c->differences++;
    sr_buf_printf(&c->report, "    %s: expected ", path[0] ? path : "(result)");
    show(c, exp, &c->report);
    sr_buf_puts(&c->report, ", got ");
    show(c, act, &c->report);
    if (why)
        sr_buf_printf(&c->report, " (%s)", why);
    sr_buf_puts(&c->report, "\n");
}

static int is_null(lua_State *L, int idx) { return lua_isnoneornil(L, idx) || sr_lv_isnull(L, idx); }

static int all_have_id(lua_State *L, int idx)
{
    lua_Integer n = (lua_Integer)lua_rawlen(L, idx);
    if (n == 0)
        return 0;
    for (lua_Integer i = 1; i <= n; i++) {
        lua_rawgeti(L, idx, i);
        int ok = 0;
        if (lua_istable(L, -1)) {
            ok = lua_getfield(L, -1, "id") == LUA_TSTRING;
            lua_pop(L, 1);
        }
        lua_pop(L, 1);
        if (!ok)
            return 0;
    }
    return 1;
}

static void compare(cmp_t *c, const char *path, int exp, int act);

static char *join(const char *path, const char *key)
{
    return path[0] ? sr_asprintf("%s.%s", path, key) : sr_strdup(key);
}

static void compare_map(cmp_t *c, const char *path, int exp, int act)
{
    lua_State *L = c->L;
    lua_pushnil(L);
    while (lua_next(L, exp)) {
        int ev = lua_gettop(L);
        const char *key = lua_tostring(L, ev - 1);
        char *sub = join(path, key ? key : "?");
        lua_pushvalue(L, ev - 1);
        lua_rawget(L, act);
        compare(c, sub ? sub : path, ev, lua_gettop(L));
        free(sub);
        lua_pop(L, 2);
    }
}

static void compare_array(cmp_t *c, const char *path, int exp, int act)
{
    lua_State *L = c->L;
    lua_Integer ne = (lua_Integer)lua_rawlen(L, exp), na = (lua_Integer)lua_rawlen(L, act);
    if (all_have_id(L, exp)) {
        for (lua_Integer i = 1; i <= ne; i++) {
            lua_rawgeti(L, exp, i);
            int ev = lua_gettop(L);
            lua_getfield(L, ev, "id");
            const char *id = lua_tostring(L, -1);
            int found = 0;
            for (lua_Integer j = 1; j <= na && !found; j++) {
                lua_rawgeti(L, act, j);
                if (lua_istable(L, -1)) {
                    lua_getfield(L, -1, "id");
                    if (lua_type(L, -1) == LUA_TSTRING && strcmp(lua_tostring(L, -1), id) == 0) {
                        found = 1;
                        lua_pop(L, 1);
                        char *sub = sr_asprintf("%s[id=%s]", path, id);
                        compare(c, sub ? sub : path, ev, lua_gettop(L));
                        free(sub);
                    } else {
                        lua_pop(L, 1);
                    }
                }
                lua_pop(L, 1);
            }
            if (!found) {
                char *sub = sr_asprintf("%s[id=%s]", path, id);
                lua_pushnil(L);
                differ(c, sub ? sub : path, ev, lua_gettop(L), "no element with this id");
                lua_pop(L, 1);
                free(sub);
            }
            lua_pop(L, 2);
        }
        return;
    }
    if (ne != na) {
        char why[64];
        snprintf(why, sizeof why, "%lld elements expected, %lld found", (long long)ne, (long long)na);
        differ(c, path, exp, act, why);
        return;
    }
    for (lua_Integer i = 1; i <= ne; i++) {
        lua_rawgeti(L, exp, i);
        lua_rawgeti(L, act, i);
        char *sub = sr_asprintf("%s[%lld]", path, (long long)(i - 1));
        compare(c, sub ? sub : path, lua_gettop(L) - 1, lua_gettop(L));
        free(sub);
        lua_pop(L, 2);
    }
}

static void compare(cmp_t *c, const char *path, int exp, int act)
{
    lua_State *L = c->L;
    if (!lua_checkstack(L, 8))
        return;
    if (sr_lv_isnull(L, exp)) {
        if (!is_null(L, act))
            differ(c, path, exp, act, NULL);
        return;
    }
    if (lua_istable(L, exp)) {
        int exp_array = sr_lv_isarray(L, exp);
        if (!lua_istable(L, act) || (exp_array && !sr_lv_isarray(L, act) && lua_rawlen(L, act) > 0)) {
            differ(c, path, exp, act, NULL);
            return;
        }
        if (exp_array)
            compare_array(c, path, exp, act);
        else
            compare_map(c, path, exp, act);
        return;
    }
    if (lua_type(L, exp) == LUA_TNUMBER && lua_type(L, act) == LUA_TNUMBER) {
        if (lua_compare(L, exp, act, LUA_OPEQ))
            return;
    } else if (lua_type(L, exp) == lua_type(L, act) && lua_rawequal(L, exp, act)) {
        return;
    }
    differ(c, path, exp, act, NULL);
}

static int name_cmp(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Lists <dir>/ *.yaml in name order; returns a malloc'd array of malloc'd names. */
static char **list_yaml(const char *dir, size_t *n)
{
    *n = 0;
    DIR *dp = opendir(dir);
    if (!dp)
        return NULL;
    size_t cap = 16;
    char **names = malloc(cap * sizeof *names);
    struct dirent *de;
    while (names && (de = readdir(dp))) {
        size_t len = strlen(de->d_name);
        if (len < 6 || strcmp(de->d_name + len - 5, ".yaml") != 0)
            continue;
        if (*n == cap) {
            char **p = realloc(names, 2 * cap * sizeof *p);
            if (!p)
                break;
            names = p;
            cap *= 2;
        }
        names[(*n)++] = sr_strdup(de->d_name);
    }
    closedir(dp);
    if (names)
        qsort(names, *n, sizeof *names, name_cmp);
    return names;
}

/* Validates the golden document at doc against the golden schema, and its
 * case against the rule set's case schema and checks; appends each problem
 * to report. Returns the number of problems. */
static size_t check_golden(sr_engine_t *e, const sr_schema_t *gs, sr_reader_t *rd, const char *file, int doc,
                           sr_idset_t *ids, sr_case_report_t *rep, sr_buf_t *report)
{
    lua_State *L = e->sb.L;
    sr_case_report_reset(rep);
    sr_status_t vs = sr_schema_validate(gs, L, doc, rd, &rep->errors);
    if (vs == SR_OK && lua_getfield(L, doc, "case") == LUA_TTABLE) {
        sr_pathseg_t at = {"case", 4, 0};
        vs = sr_case_validate(e->case_sch, L, -1, rd, &at, 1, ids, rep);
    }
    lua_settop(L, doc);
    for (size_t i = 0; i < rep->errors.n; i++) {
        const sr_verror_t *v = &rep->errors.v[i];
        sr_buf_printf(report, "    %s:%d:%d: error: %s%s%s\n", file, v->line, v->column, v->path,
                      v->path[0] ? ": " : "", v->message);
    }
    if (rep->errors.dropped)
        sr_buf_printf(report, "    %zu more errors not shown\n", rep->errors.dropped);
    if (vs == SR_ERR_NOMEM && rep->errors.n == 0)
        sr_buf_puts(report, "    out of memory while validating\n");
    return vs == SR_OK ? 0 : sr_verrors_count(&rep->errors) ? sr_verrors_count(&rep->errors) : 1;
}

/* Pushes a deep copy of the value at idx (metatables kept: arrays stay
 * arrays). Cases are trees of at most 64 levels. [-0, +1] */
static void push_copy(lua_State *L, int idx, int depth)
{
    idx = lua_absindex(L, idx);
    if (!lua_istable(L, idx) || depth > 100 || !lua_checkstack(L, 4)) {
        lua_pushvalue(L, idx);
        return;
    }
    lua_newtable(L);
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        push_copy(L, -1, depth + 1);
        lua_remove(L, -2);    /* the original value */
        lua_pushvalue(L, -2); /* key copy key */
        lua_insert(L, -2);    /* key key copy */
        lua_rawset(L, -4);
    }
    if (lua_getmetatable(L, idx))
        lua_setmetatable(L, -2);
}

/* Records one evaluated golden case in the table at runs, for the second,
 * shuffled pass: {label, case = a copy as evaluated, result = JSON}. */
static void record_run(lua_State *L, int runs, const char *label, int case_copy, int result, int passed)
{
    char *json = sr_writer_to_json(L, result);
    lua_createtable(L, 0, 4);
    lua_pushboolean(L, passed);
    lua_setfield(L, -2, "passed");
    lua_pushstring(L, label);
    lua_setfield(L, -2, "label");
    lua_pushvalue(L, case_copy);
    lua_setfield(L, -2, "case");
    lua_pushstring(L, json ? json : "");
    lua_setfield(L, -2, "result");
    lua_rawseti(L, runs, (lua_Integer)lua_rawlen(L, runs) + 1);
    free(json);
}

/* Evaluates every recorded golden case again, in a shuffled order (fixed
 * seed: a failure can be reproduced), and reports each result that differs
 * from the first pass: rules must keep no state from one case to the next. */
static void shuffled_pass(sr_engine_t *e, int runs, FILE *out, sr_golden_stats_t *stats)
{
    lua_State *L = e->sb.L;
    lua_Integer n = (lua_Integer)lua_rawlen(L, runs);
    lua_Integer *order = malloc((size_t)(n > 0 ? n : 1) * sizeof *order);
    if (!order)
        return;
    for (lua_Integer i = 0; i < n; i++)
        order[i] = i + 1;
    unsigned long long x = 0x9E3779B97F4A7C15ULL; /* xorshift64 */
    for (lua_Integer i = n - 1; i > 0; i--) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        lua_Integer j = (lua_Integer)(x % (unsigned long long)(i + 1));
        lua_Integer t = order[i];
        order[i] = order[j];
        order[j] = t;
    }
    int top = lua_gettop(L);
    for (lua_Integer k = 0; k < n; k++) {
        lua_rawgeti(L, runs, order[k]);
        int run = lua_gettop(L);
        lua_getfield(L, run, "case");
        push_copy(L, -1, 0);
        lua_remove(L, -2);
        sr_diag_t d;
        sr_diag_init(&d);
        char *json = NULL;
        int same = 0;
        if (sr_engine_eval_top(e, &d) == SR_OK) {
            json = sr_writer_to_json(L, -1);
            lua_getfield(L, run, "result");
            same = json && strcmp(json, lua_tostring(L, -1)) == 0;
        }
        if (!same) {
            if (lua_getfield(L, run, "passed") == LUA_TBOOLEAN && lua_toboolean(L, -1)) {
                stats->passed--; /* it passed the first time only */
                stats->failed++;
            }
            lua_getfield(L, run, "label");
            fprintf(out, "FAIL %s\n    the result differs when the golden cases run in another order"
                         " (rules must keep no state from one case to the next)%s%s\n",
                    lua_tostring(L, -1), d.message ? ": " : "", d.message ? d.message : "");
        }
        free(json);
        sr_diag_free(&d);
        lua_settop(L, top);
    }
    free(order);
}

static void run_one(sr_engine_t *e, const sr_schema_t *gs, sr_reader_t *rd, const char *file, FILE *out,
                    sr_golden_stats_t *stats, sr_idset_t *ids, sr_case_report_t *rep, int runs)
{
    lua_State *L = e->sb.L;
    int doc = lua_gettop(L);
    int line = sr_reader_doc_line(rd);
    lua_getfield(L, doc, "name");
    const char *name = lua_isstring(L, -1) ? lua_tostring(L, -1) : "(unnamed)";
    char *label = sr_asprintf("%s:%d: %s", file, line, name);
    lua_pop(L, 1);
    cmp_t c = {L, {0}, 0};
    sr_buf_init(&c.report);
    sr_diag_t d;
    sr_diag_init(&d);
    size_t problems = check_golden(e, gs, rd, file, doc, ids, rep, &c.report);
    if (problems) {
        c.differences += (int)problems; /* an invalid golden case is not evaluated */
    } else if (lua_getfield(L, doc, "case") != LUA_TTABLE || lua_getfield(L, doc, "expect") != LUA_TTABLE) {
        sr_buf_puts(&c.report, "    the golden case needs a 'case' and an 'expect' mapping\n");
        c.differences++;
    } else {
        sr_strip_nulls(L, doc + 1);
        push_copy(L, doc + 1, 0); /* kept for the shuffled pass */
        lua_pushvalue(L, doc + 1); /* the case */
        if (sr_engine_eval_top(e, &d) != SR_OK) {
            sr_buf_printf(&c.report, "    evaluation failed: %s%s%d: %s\n", d.file ? d.file : "",
                          d.file ? ":" : "", d.line, d.message ? d.message : "");
            c.differences++;
        } else {
            compare(&c, "", doc + 2, lua_gettop(L));
            record_run(L, runs, label ? label : name, doc + 3, lua_gettop(L), c.differences == 0);
        }
    }
    if (c.differences) {
        stats->failed++;
        fprintf(out, "FAIL %s\n%s", label ? label : name, c.report.data ? c.report.data : "");
    } else {
        stats->passed++;
    }
    sr_diag_free(&d);
    sr_buf_free(&c.report);
    free(label);
    lua_settop(L, doc);
}

sr_status_t sr_golden_verify(sr_engine_t *e, const char *rules_dir, FILE *out, sr_golden_stats_t *stats,
                             sr_diag_t *d)
{
    lua_State *L = e->sb.L;
    memset(stats, 0, sizeof *stats);
    char *gdir = sr_asprintf("%s/golden", rules_dir);
    size_t n = 0;
    char **names = gdir ? list_yaml(gdir, &n) : NULL;
    sr_status_t st = SR_OK;
    if (!names || n == 0) {
        sr_diag_set(d, SR_ERR_IO, gdir, 0, 0, NULL, "no golden case files (*.yaml) found");
        st = SR_ERR_IO;
    }
    sr_schema_t *gs = NULL;
    if (st == SR_OK)
        st = sr_load_schema_at(&gs, L, e->root, "golden.schema.yaml", d);
    sr_case_report_t rep;
    sr_case_report_init(&rep);
    lua_newtable(L); /* every evaluated case, for the shuffled pass */
    int runs = lua_gettop(L);
    int top = lua_gettop(L);
    for (size_t i = 0; st == SR_OK && i < n; i++) {
        char *path = sr_asprintf("%s/%s", gdir, names[i]);
        sr_reader_t *rd = NULL;
        sr_diag_t rdiag;
        sr_diag_init(&rdiag);
        sr_idset_t *ids = sr_idset_new(); /* golden case ids are unique within a file */
        if (!path || !ids || sr_reader_open(&rd, path, SR_IN_YAML, NULL, d) != SR_OK) {
            st = path && ids ? SR_ERR_IO : SR_ERR_NOMEM;
            free(path);
            sr_idset_free(ids);
            break;
        }
        for (;;) {
            sr_status_t rs = sr_reader_next(rd, L, &rdiag);
            if (rs == SR_DONE)
                break;
            if (rs != SR_OK) {
                stats->failed++;
                fprintf(out, "FAIL ");
                sr_diag_print(&rdiag, out);
                sr_diag_free(&rdiag);
                continue;
            }
            if (!lua_istable(L, -1)) {
                stats->failed++;
                fprintf(out, "FAIL %s:%d: a golden case must be a mapping\n", path, sr_reader_doc_line(rd));
            } else {
                run_one(e, gs, rd, path, out, stats, ids, &rep, runs);
            }
            lua_settop(L, top);
        }
        sr_reader_close(rd);
        sr_idset_free(ids);
        free(path);
    }
    if (st == SR_OK)
        shuffled_pass(e, runs, out, stats);
    lua_settop(L, runs - 1);
    sr_case_report_free(&rep);
    sr_schema_free(gs);
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    free(gdir);
    if (st == SR_OK)
        fprintf(out, "%zu passed, %zu failed\n", stats->passed, stats->failed);
    return st;
}
