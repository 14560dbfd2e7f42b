/* validate.c -- the input checks: case schema plus the engine's own case
 * checks, manifest and golden files against their schemas (see validate.h). */
#include "validate.h"

#include <lauxlib.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine.h"
#include "lvalue.h"
#include "messages.h"
#include "util.h"

/* ------------------------------------------------------------------ */
/* Reports                                                              */

void sr_case_report_init(sr_case_report_t *r)
{
    sr_verrors_init(&r->errors);
    sr_verrors_init(&r->warnings);
    r->no_nulls = 0;
}

void sr_case_report_reset(sr_case_report_t *r)
{
    sr_verrors_reset(&r->errors);
    sr_verrors_reset(&r->warnings);
    r->no_nulls = 0;
}

void sr_case_report_free(sr_case_report_t *r)
{
    sr_verrors_free(&r->errors);
    sr_verrors_free(&r->warnings);
}

static void print_one(const sr_verror_t *v, const char *file, const char *kind, FILE *f)
{
    fputs(file, f);
    if (v->line > 0) {
        fprintf(f, ":%d", v->line);
        if (v->column > 0)
            fprintf(f, ":%d", v->column);
    }
    fprintf(f, ": %s: ", kind);
    if (v->path && v->path[0])
        fprintf(f, "%s: ", v->path);
    char *msg = sr_tr_message(sr_strdup(v->message ? v->message : "")); /* the record keeps the English */
    fputs(msg ? msg : "", f);
    free(msg);
    fputc('\n', f);
}

void sr_case_report_print(const sr_case_report_t *rep, const char *file, int doc_line, FILE *f)
{
    size_t i = 0, j = 0;
    const sr_verrors_t *e = &rep->errors, *w = &rep->warnings;
    while (i < e->n || j < w->n) {
        int take_error = j >= w->n ||
                         (i < e->n && (e->v[i].line < w->v[j].line ||
                                       (e->v[i].line == w->v[j].line && e->v[i].column <= w->v[j].column)));
        if (take_error)
            print_one(&e->v[i++], file, sr_msg(SR_MSG_ERROR), f);
        else
            print_one(&w->v[j++], file, sr_msg(SR_MSG_WARNING), f);
    }
    if (e->dropped)
        fprintf(f, sr_msg(e->dropped == 1 ? SR_MSG_DIAG_MORE_ERRORS_1 : SR_MSG_DIAG_MORE_ERRORS_N), file, doc_line,
                e->dropped);
}

void sr_verrors_to_diag(const sr_verrors_t *e, const char *file, sr_diag_t *d)
{
    if (e->n == 0) {
        sr_diag_set(d, SR_ERR_SCHEMA, file, 0, 0, NULL, "invalid");
        return;
    }
    const sr_verror_t *v = &e->v[0];
    sr_diag_set(d, SR_ERR_SCHEMA, file, v->line, v->column, v->path, "%s", v->message);
    size_t more = sr_verrors_count(e) - 1;
    if (more && e->n > 1) {
        const sr_verror_t *n2 = &e->v[1];
        d->note = sr_asprintf("%zu more error%s, the next at %s:%d:%d: %s%s%s", more, more == 1 ? "" : "s", file,
                              n2->line, n2->column, n2->path[0] ? n2->path : "", n2->path[0] ? ": " : "",
                              n2->message);
    } else if (more) {
        d->note = sr_asprintf("%zu more error%s", more, more == 1 ? "" : "s");
    }
}

static int set_protected(lua_State *L)
{
    const sr_verrors_t *e = lua_touserdata(L, 1);
    const char *field = lua_touserdata(L, 2);
    /* the table is argument 3 */
    lua_createtable(L, (int)e->n, 0);
    sr_lv_mark_array(L, -1);
    for (size_t i = 0; i < e->n; i++) {
        const sr_verror_t *v = &e->v[i];
        lua_createtable(L, 0, 4);
        lua_pushstring(L, v->message);
        lua_setfield(L, -2, "message");
        if (v->path && v->path[0])
            lua_pushstring(L, v->path);
        else
            sr_lv_push_null(L);
        lua_setfield(L, -2, "path");
        if (v->line > 0)
            lua_pushinteger(L, v->line);
        else
            sr_lv_push_null(L);
        lua_setfield(L, -2, "line");
        if (v->column > 0)
            lua_pushinteger(L, v->column);
        else
            sr_lv_push_null(L);
        lua_setfield(L, -2, "column");
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
    lua_setfield(L, 3, field);
    return 0;
}

sr_status_t sr_verrors_set_field(lua_State *L, int table, const char *field, const sr_verrors_t *e)
{
    table = lua_absindex(L, table);
    if (!lua_checkstack(L, 4))
        return SR_ERR_NOMEM;
    lua_pushcfunction(L, set_protected);
    lua_pushlightuserdata(L, (void *)e);
    lua_pushlightuserdata(L, (void *)field);
    lua_pushvalue(L, table);
    if (lua_pcall(L, 3, 0, 0) != LUA_OK) {
        lua_pop(L, 1);
        return SR_ERR_NOMEM;
    }
    return SR_OK;
}

/* ------------------------------------------------------------------ */
/* The engine's case checks                                             */

#define MAX_PREFIX 8

typedef struct {
    const sr_reader_t *rd;
    sr_idset_t *ids;
    sr_case_report_t *rep;
    const sr_pathseg_t *prefix; /* where the case sits in its document */
    size_t nprefix;
    char *pfx;                  /* the prefix as a path, with a trailing '.', or "";
                                   built when first needed (malloc'd, or NULL) */
    int oom;
} checks_t;

/* Is there an error at the path (below the prefix), above it, or (when
 * below is set) below it? With no error at all (the usual case) it builds
 * no path. */
static int touched(checks_t *k, const sr_verrors_t *e, const char *rel, int below)
{
    if (e->n == 0)
        return 0;
    if (!k->pfx) {
        char *pfx = k->nprefix ? sr_path_string(k->prefix, k->nprefix) : NULL;
        k->pfx = k->nprefix ? (pfx ? sr_asprintf("%s.", pfx) : NULL) : sr_strdup("");
        free(pfx);
        if (!k->pfx) {
            k->oom = 1;
            return 1;
        }
    }
    char buf[256]; /* as snprintf "%s%s" into it would leave it */
    size_t np = strlen(k->pfx), nr = strlen(rel);
    if (np > sizeof buf - 1)
        np = sizeof buf - 1;
    if (nr > sizeof buf - 1 - np)
        nr = sizeof buf - 1 - np;
    memcpy(buf, k->pfx, np);
    memcpy(buf + np, rel, nr);
    buf[np + nr] = '\0';
    const char *path = buf;
    size_t n = np + nr;
    for (size_t i = 0; i < e->n; i++) {
        const char *p = e->v[i].path;
        size_t m = strlen(p);
        size_t common = m < n ? m : n;
        if (memcmp(p, path, common) != 0)
            continue;
        if (m == n || common == 0)
            return 1;
        char next = m < n ? path[m] : p[n];
        if ((next == '.' || next == '[') && (m < n || below))
            return 1;
    }
    return 0;
}

/* Pushes parent[b] when parent (a case's field, case[a]) is a mapping,
 * else parent itself, and returns its type. [-0, +1] */
static int get_in(lua_State *L, int parent, const char *b)
{
    if (lua_type(L, parent) != LUA_TTABLE) {
        lua_pushvalue(L, parent);
        return lua_type(L, -1);
    }
    return lua_getfield(L, parent, b);
}

/* Adds msg at the n segments below the prefix. */
static void add(checks_t *k, sr_verrors_t *e, const sr_pathseg_t *p, size_t n, const char *msg)
{
    sr_pathseg_t all[MAX_PREFIX + 8];
    if (k->nprefix + n > sizeof all / sizeof all[0]) {
        k->oom = 1;
        return;
    }
    if (k->nprefix)
        memcpy(all, k->prefix, k->nprefix * sizeof *all);
    if (n)
        memcpy(all + k->nprefix, p, n * sizeof *all);
    if (!msg || sr_verrors_add(e, k->rd, all, k->nprefix + n, 0, "%s", msg) != 0)
        k->oom = 1;
}

static void check_id(lua_State *L, int c, checks_t *k)
{
    if (!k->ids)
        return;
    if (lua_getfield(L, c, "id") != LUA_TSTRING) {
        lua_pop(L, 1);
        return;
    }
    size_t n;
    const char *id = lua_tolstring(L, -1, &n);
    sr_pathseg_t seg = {"id", 2, 0};
    sr_pathseg_t where[MAX_PREFIX + 1];
    if (k->nprefix)
        memcpy(where, k->prefix, k->nprefix * sizeof *where);
    where[k->nprefix] = seg;
    int line = 0, col = 0, first = 0;
    if (k->rd && sr_reader_locate(k->rd, where, k->nprefix + 1, 0, &line, &col) < 0)
        line = 0;
    int rc = sr_idset_add(k->ids, id, n, line, &first);
    if (rc < 0) {
        k->oom = 1;
    } else if (rc == 1) {
        sr_buf_t b;
        sr_buf_init(&b);
        sr_buf_puts(&b, "expected a case id unique in this file, found ");
        sr_schema_quote(&b, id, n);
        sr_buf_printf(&b, " again (first at line %d)", first);
        add(k, &k->rep->errors, &seg, 1, b.failed ? NULL : b.data);
        sr_buf_free(&b);
    }
    lua_pop(L, 1);
}

/* touched() for spine.lesions[i].level (i 0-based). */
static int level_touched(checks_t *k, const sr_verrors_t *e, lua_Integer i)
{
    if (e->n == 0)
        return 0;
    char path[64];
    snprintf(path, sizeof path, "spine.lesions[%lld].level", (long long)i);
    return touched(k, e, path, 1);
}

/* spine is the index of case.spine. */
static void check_levels(lua_State *L, int spine, checks_t *k)
{
    sr_verrors_t *e = &k->rep->errors;
    if (get_in(L, spine, "lesions") != LUA_TTABLE || !sr_lv_isarray(L, -1) || touched(k, e, "spine.lesions", 0)) {
        lua_pop(L, 1);
        return;
    }
    int lesions = lua_gettop(L);
    int have_list = get_in(L, spine, "metastatic_levels") == LUA_TTABLE && sr_lv_isarray(L, -1) &&
                    !touched(k, e, "spine.metastatic_levels", 1);
    int levels = lua_gettop(L);
    lua_Integer n = (lua_Integer)lua_rawlen(L, lesions);
    lua_Integer nlev = have_list ? (lua_Integer)lua_rawlen(L, levels) : 0;
    for (lua_Integer i = 1; i <= n && !k->oom; i++) {
        lua_rawgeti(L, lesions, i);
        if (!lua_istable(L, -1) || lua_getfield(L, -1, "level") != LUA_TSTRING || level_touched(k, e, i - 1)) {
            lua_settop(L, levels);
            continue;
        }
        int lv = lua_gettop(L);
        sr_pathseg_t segs[4] = {{"spine", 5, 0}, {"lesions", 7, 0}, {NULL, 0, i - 1}, {"level", 5, 0}};
        /* the same level assessed twice */
        int dup = 0;
        for (lua_Integer j = 1; j < i && !dup; j++) {
            lua_rawgeti(L, lesions, j);
            if (lua_istable(L, -1) && lua_getfield(L, -1, "level") == LUA_TSTRING && !level_touched(k, e, j - 1) &&
                lua_rawequal(L, -1, lv)) {
                dup = 1;
                sr_buf_t b;
                sr_buf_init(&b);
                size_t len;
                const char *s = lua_tolstring(L, lv, &len);
                sr_buf_puts(&b, "expected one lesion per level, found ");
                sr_schema_quote(&b, s, len);
                sr_buf_printf(&b, " again (first at spine.lesions[%lld])", (long long)(j - 1));
                add(k, e, segs, 4, b.failed ? NULL : b.data);
                sr_buf_free(&b);
            }
            lua_settop(L, lv);
        }
        /* a lesion at a level metastatic_levels does not list */
        if (!dup && have_list) {
            int found = 0;
            for (lua_Integer j = 1; j <= nlev && !found; j++) {
                lua_rawgeti(L, levels, j);
                found = lua_rawequal(L, -1, lv);
                lua_pop(L, 1);
            }
            if (!found) {
                sr_buf_t b;
                sr_buf_init(&b);
                sr_buf_puts(&b, "expected a level listed in spine.metastatic_levels (");
                for (lua_Integer j = 1; j <= nlev; j++) {
                    lua_rawgeti(L, levels, j);
                    if (lua_type(L, -1) == LUA_TSTRING)
                        sr_buf_printf(&b, "%s%s", j > 1 ? ", " : "", lua_tostring(L, -1));
                    lua_pop(L, 1);
                }
                if (nlev == 0)
                    sr_buf_puts(&b, "it is empty");
                sr_buf_puts(&b, "), found ");
                size_t len;
                const char *s = lua_tolstring(L, lv, &len);
                sr_schema_quote(&b, s, len);
                add(k, e, segs, 4, b.failed ? NULL : b.data);
                sr_buf_free(&b);
            }
        }
        lua_settop(L, levels);
    }
    lua_settop(L, lesions - 1);
}

/* The revised Tokuhashi score (2005): Karnofsky 10-40 poor, 50-70
 * moderate, 80-100 good. patient is the index of case.patient. */
static void check_general_condition(lua_State *L, int patient, checks_t *k)
{
    sr_verrors_t *e = &k->rep->errors;
    int top = lua_gettop(L);
    if (get_in(L, patient, "karnofsky") != LUA_TNUMBER || touched(k, e, "patient.karnofsky", 1)) {
        lua_settop(L, top);
        return;
    }
    double kps = lua_tonumber(L, -1);
    if (get_in(L, patient, "general_condition") != LUA_TSTRING || touched(k, e, "patient.general_condition", 1)) {
        lua_settop(L, top);
        return;
    }
    const char *given = lua_tostring(L, -1);
    const char *derived = kps <= 40 ? "poor" : kps <= 70 ? "moderate" : "good";
    const char *band = kps <= 40 ? "10-40" : kps <= 70 ? "50-70" : "80-100";
    if (strcmp(given, derived) != 0) {
        sr_pathseg_t segs[2] = {{"patient", 7, 0}, {"general_condition", 17, 0}};
        char *m = sr_asprintf("'%s' contradicts karnofsky %.0f, which the revised Tokuhashi score (2005) rates %s "
                              "(%s); the given general_condition is used",
                              given, kps, derived, band);
        add(k, &k->rep->warnings, segs, 2, m);
        free(m);
    }
    lua_settop(L, top);
}

static int checks_protected(lua_State *L)
{
    checks_t *k = lua_touserdata(L, 1);
    /* the case is argument 2 */
    check_id(L, 2, k);
    lua_getfield(L, 2, "spine");   /* 3 */
    lua_getfield(L, 2, "patient"); /* 4 */
    check_levels(L, 3, k);
    check_general_condition(L, 4, k);
    return 0;
}

sr_status_t sr_case_validate(const sr_schema_t *schema, lua_State *L, int idx, const sr_reader_t *rd,
                             const sr_pathseg_t *prefix, size_t nprefix, sr_idset_t *ids, sr_case_report_t *rep)
{
    idx = lua_absindex(L, idx);
    rep->no_nulls = 0;
    if (nprefix > MAX_PREFIX)
        nprefix = MAX_PREFIX;
    if (!lua_istable(L, idx) || sr_lv_isarray(L, idx)) {
        sr_buf_t b;
        sr_buf_init(&b);
        sr_buf_puts(&b, "expected a case (a mapping with an 'id'), found ");
        sr_schema_describe(&b, L, idx);
        if (lua_isnil(L, idx) || sr_lv_isnull(L, idx))
            sr_buf_puts(&b, " (an empty document)");
        int rc = b.failed ? -1 : sr_verrors_add(&rep->errors, rd, prefix, nprefix, 0, "%s", b.data);
        sr_buf_free(&b);
        return rc ? SR_ERR_NOMEM : SR_ERR_SCHEMA;
    }
    sr_status_t st = sr_schema_validate_at(schema, L, idx, rd, prefix, nprefix, &rep->errors);
    if (st == SR_ERR_NOMEM)
        return st;
    checks_t k = {rd, ids, rep, prefix, nprefix, NULL, 0};
    if (!lua_checkstack(L, 4))
        return SR_ERR_NOMEM;
    lua_pushcfunction(L, checks_protected);
    lua_pushlightuserdata(L, &k);
    lua_pushvalue(L, idx);
    if (lua_pcall(L, 2, 0, 0) != LUA_OK) {
        lua_pop(L, 1);
        k.oom = 1;
    }
    free(k.pfx);
    sr_verrors_sort(&rep->errors);
    sr_verrors_sort(&rep->warnings);
    if (k.oom)
        return SR_ERR_NOMEM;
    if (sr_verrors_count(&rep->errors))
        return SR_ERR_SCHEMA;
    rep->no_nulls = rep->errors.no_nulls;
    return SR_OK;
}

/* ------------------------------------------------------------------ */
/* Schema files of the engine                                           */

static int is_file(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

static char *root_if_schemas(const char *dir)
{
    char *probe = sr_asprintf("%s/schemas/manifest.schema.yaml", dir);
    int ok = probe && is_file(probe);
    free(probe);
    if (!ok)
        return NULL;
    char real[PATH_MAX];
    return sr_strdup(realpath(dir, real) ? real : dir);
}

char *sr_find_project_root(const char *rules_dir)
{
    /* the tree the rule set sits in: rules/<name>/<version>/ */
    char *dir = sr_strdup(rules_dir);
    for (int up = 1; dir && up <= 3; up++) {
        char *parent = sr_asprintf("%s/..", dir);
        free(dir);
        dir = parent;
        char *root = dir ? root_if_schemas(dir) : NULL;
        if (root) {
            free(dir);
            return root;
        }
    }
    free(dir);
    /* else the installation the executable belongs to, as the CLI finds
     * rules/: <prefix>/share/spinerules, or the executable's parent folder */
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0)
        return NULL;
    exe[n] = '\0';
    char *slash = strrchr(exe, '/');
    if (!slash)
        return NULL;
    *slash = '\0';
    static const char *const candidates[] = {"%s/../share/spinerules", "%s/..", "%s"};
    for (size_t i = 0; i < sizeof candidates / sizeof candidates[0]; i++) {
        char *cand = sr_asprintf(candidates[i], exe);
        char *root = cand ? root_if_schemas(cand) : NULL;
        free(cand);
        if (root)
            return root;
    }
    return NULL;
}

sr_status_t sr_load_schema_at(sr_schema_t **out, lua_State *L, const char *root, const char *file, sr_diag_t *d)
{
    char *path = strchr(file, '/') ? sr_asprintf("%s/%s", root, file) : sr_asprintf("%s/schemas/%s", root, file);
    if (!path) {
        sr_diag_set(d, SR_ERR_NOMEM, NULL, 0, 0, NULL, "out of memory");
        return SR_ERR_NOMEM;
    }
    sr_status_t st = sr_schema_load(out, L, path, d);
    free(path);
    return st;
}

sr_status_t sr_validate_document(const sr_schema_t *schema, lua_State *L, int idx, const sr_reader_t *rd,
                                 const char *file, sr_diag_t *d)
{
    sr_verrors_t e;
    sr_verrors_init(&e);
    sr_status_t st = sr_schema_validate(schema, L, idx, rd, &e);
    if (st == SR_ERR_SCHEMA)
        sr_verrors_to_diag(&e, file, d);
    else if (st != SR_OK)
        sr_diag_set(d, st, file, 0, 0, NULL, "out of memory while validating");
    sr_verrors_free(&e);
    return st;
}

sr_status_t sr_engine_load_schemas(sr_engine_t *e, int man, const sr_reader_t *rd, const char *mpath,
                                   sr_diag_t *d)
{
    lua_State *L = e->sb.L;
    man = lua_absindex(L, man);
    e->root = sr_find_project_root(e->dir);
    if (!e->root) {
        sr_diag_set(d, SR_ERR_IO, e->dir, 0, 0, NULL,
                    "no schemas folder for this rule set: expected schemas/manifest.schema.yaml in the "
                    "folder that holds rules/ (up to three folders above the rule set), or beside the "
                    "executable's rules/ folder");
        return SR_ERR_IO;
    }
    sr_schema_t *ms = NULL;
    sr_status_t st = sr_load_schema_at(&ms, L, e->root, "manifest.schema.yaml", d);
    if (st != SR_OK)
        return st;
    st = sr_validate_document(ms, L, man, rd, mpath, d);
    sr_schema_free(ms);
    if (st != SR_OK)
        return st;
    if (lua_getfield(L, man, "case_schema") != LUA_TSTRING) { /* the manifest schema requires it */
        lua_pop(L, 1);
        sr_diag_set(d, SR_ERR_SCHEMA, mpath, 1, 1, NULL, "the manifest names no case_schema");
        return SR_ERR_SCHEMA;
    }
    char *file = sr_strdup(lua_tostring(L, -1));
    lua_pop(L, 1);
    if (!file) {
        sr_diag_set(d, SR_ERR_NOMEM, NULL, 0, 0, NULL, "out of memory");
        return SR_ERR_NOMEM;
    }
    st = sr_load_schema_at(&e->case_sch, L, e->root, file, d);
    if (st == SR_ERR_IO && d->file && !d->note)
        d->note = sr_asprintf("the case schema is named by %s (case_schema: %s)", mpath, file);
    free(file);
    return st;
}
