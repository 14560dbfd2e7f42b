/* writer.c -- JSON (yajl generator) and YAML (libyaml emitter) records with
 * stable key order; a record is built whole before it is kept. */
#include "writer.h"

#include <lauxlib.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_gen.h>
#include <yaml.h>

#include "engine.h"
#include "lvalue.h"
#include "reader.h"
#include "report.h"
#include "text.h"
#include "util.h"

#define MAX_DEPTH 32

struct sr_writer {
    sr_output_format_t fmt;
    sr_engine_t *e; /* CSV and HTML: the engine whose rule set names the columns */
    sr_buf_t out;   /* kept records */
};

int sr_key_cmp(const void *a, const void *b)
{
    const sr_key_t *x = a, *y = b;
    if (x->rank != y->rank)
        return x->rank < y->rank ? -1 : 1;
    size_t n = x->len < y->len ? x->len : y->len;
    int c = memcmp(x->s, y->s, n);
    if (c)
        return c;
    return x->len < y->len ? -1 : x->len > y->len;
}

/* Visitor over a Lua value, shared by the JSON and YAML back ends. */
typedef struct visitor visitor_t;
/* One step of the path to the value being visited; the path is rendered
 * only when an error needs it. */
typedef struct {
    const char *key; /* NULL for an array element */
    size_t len;
    long long index;
} step_t;

struct visitor {
    lua_State *L;
    int rank_idx;        /* absolute index of the rank table, or 0 */
    step_t path[MAX_DEPTH + 1];
    int depth;           /* steps in path */
    sr_diag_t *d;
    int failed;
    int (*scalar_null)(visitor_t *);
    int (*scalar_bool)(visitor_t *, int);
    int (*scalar_int)(visitor_t *, lua_Integer);
    int (*scalar_num)(visitor_t *, const char *, size_t);
    int (*scalar_str)(visitor_t *, const char *, size_t);
    int (*open)(visitor_t *, int is_map);
    int (*close)(visitor_t *, int is_map);
    void *ud;
};

static int vfail(visitor_t *v, const char *msg)
{
    if (!v->failed) {
        v->failed = 1;
        sr_buf_t b;
        sr_buf_init(&b);
        sr_buf_puts(&b, "");
        for (int i = 0; i < v->depth; i++) {
            if (v->path[i].key) {
                if (i)
                    sr_buf_puts(&b, ".");
                sr_buf_append(&b, v->path[i].key, v->path[i].len);
            } else {
                sr_buf_printf(&b, "[%lld]", v->path[i].index);
            }
        }
        sr_diag_set(v->d, SR_ERR_RULE, NULL, 0, 0, b.data ? b.data : "", "%s", msg);
        sr_buf_free(&b);
    }
    return -1;
}

/* Formats a finite double so that it reads back exactly, with a decimal
 * point or exponent so it stays a number with a fraction part. */
static int format_double(double x, char *buf, size_t n)
{
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(buf, n, "%.*g", prec, x);
        if (strtod(buf, NULL) == x)
            break;
    }
    if (!strpbrk(buf, ".eEn"))
        strncat(buf, ".0", n - strlen(buf) - 1);
    return 0;
}

static int visit(visitor_t *v, int idx, int depth);

static int visit_table(visitor_t *v, int idx, int depth)
{
    lua_State *L = v->L;
    if (depth >= MAX_DEPTH)
        return vfail(v, "result nested too deeply (or a table contains itself)");
    if (!lua_checkstack(L, 6))
        return vfail(v, "result nested too deeply for the Lua stack");
    step_t *step = &v->path[depth];
    if (sr_lv_isarray(L, idx)) {
        lua_Integer n = (lua_Integer)lua_rawlen(L, idx);
        if (v->open(v, 0))
            return -1;
        for (lua_Integer i = 1; i <= n; i++) {
            step->key = NULL;
            step->index = (long long)(i - 1);
            v->depth = depth + 1;
            lua_rawgeti(L, idx, i);
            int rc = visit(v, lua_gettop(L), depth + 1);
            lua_pop(L, 1);
            v->depth = depth;
            if (rc)
                return -1;
        }
        return v->close(v, 0);
    }
    /* a map: collect and sort the keys */
    size_t count = 0, cap = 16;
    sr_key_t *keys = malloc(cap * sizeof *keys);
    if (!keys)
        return vfail(v, "out of memory");
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        lua_pop(L, 1);
        if (lua_type(L, -1) != LUA_TSTRING) {
            lua_pop(L, 1);
            free(keys);
            return vfail(v, "result has a non-string key (a table mixing list and map entries?)");
        }
        if (count == cap) {
            cap *= 2;
            sr_key_t *p = realloc(keys, cap * sizeof *p);
            if (!p) {
                lua_pop(L, 1);
                free(keys);
                return vfail(v, "out of memory");
            }
            keys = p;
        }
        keys[count].s = lua_tolstring(L, -1, &keys[count].len); /* anchored by the table */
        keys[count].rank = LUA_MAXINTEGER;
        if (v->rank_idx) {
            lua_pushvalue(L, -1);
            if (lua_rawget(L, v->rank_idx) == LUA_TNUMBER)
                keys[count].rank = lua_tointeger(L, -1);
            lua_pop(L, 1);
        }
        count++;
    }
    qsort(keys, count, sizeof *keys, sr_key_cmp);
    int rc = v->open(v, 1);
    for (size_t i = 0; rc == 0 && i < count; i++) {
        step->key = keys[i].s;
        step->len = keys[i].len;
        v->depth = depth + 1;
        rc = v->scalar_str(v, keys[i].s, keys[i].len);
        if (rc == 0) {
            lua_pushlstring(L, keys[i].s, keys[i].len);
            lua_rawget(L, idx);
            rc = visit(v, lua_gettop(L), depth + 1);
            lua_pop(L, 1);
        }
        v->depth = depth;
    }
    free(keys);
    if (rc)
        return -1;
    return v->close(v, 1);
}

static int visit(visitor_t *v, int idx, int depth)
{
    lua_State *L = v->L;
    switch (lua_type(L, idx)) {
    case LUA_TNIL: return v->scalar_null(v);
    case LUA_TBOOLEAN: return v->scalar_bool(v, lua_toboolean(L, idx));
    case LUA_TNUMBER:
        if (lua_isinteger(L, idx))
            return v->scalar_int(v, lua_tointeger(L, idx));
        else {
            double x = (double)lua_tonumber(L, idx);
            if (!isfinite(x))
                return vfail(v, "result contains a number that is not finite (NaN or infinity)");
            char buf[64];
            format_double(x, buf, sizeof buf);
            return v->scalar_num(v, buf, strlen(buf));
        }
    case LUA_TSTRING: {
        size_t n;
        const char *s = lua_tolstring(L, idx, &n);
        return v->scalar_str(v, s, n);
    }
    case LUA_TTABLE: return visit_table(v, idx, depth);
    case LUA_TLIGHTUSERDATA:
        if (sr_lv_isnull(L, idx))
            return v->scalar_null(v);
        /* fall through */
    default: {
        char msg[96];
        snprintf(msg, sizeof msg, "result contains a %s value, which cannot be written",
                 luaL_typename(L, idx));
        return vfail(v, msg);
    }
    }
}

/* ---- JSON back end ---- */

static int jcheck(visitor_t *v, yajl_gen_status st)
{
    if (st == yajl_gen_status_ok)
        return 0;
    if (st == yajl_gen_invalid_string)
        return vfail(v, "result contains a string that is not valid UTF-8");
    return vfail(v, "cannot generate JSON");
}
static int j_null(visitor_t *v) { return jcheck(v, yajl_gen_null(v->ud)); }
static int j_bool(visitor_t *v, int b) { return jcheck(v, yajl_gen_bool(v->ud, b)); }
static int j_int(visitor_t *v, lua_Integer i) { return jcheck(v, yajl_gen_integer(v->ud, (long long)i)); }
static int j_num(visitor_t *v, const char *s, size_t n) { return jcheck(v, yajl_gen_number(v->ud, s, n)); }
static int j_str(visitor_t *v, const char *s, size_t n)
{
    return jcheck(v, yajl_gen_string(v->ud, (const unsigned char *)s, n));
}
static int j_open(visitor_t *v, int is_map)
{
    return jcheck(v, is_map ? yajl_gen_map_open(v->ud) : yajl_gen_array_open(v->ud));
}
static int j_close(visitor_t *v, int is_map)
{
    return jcheck(v, is_map ? yajl_gen_map_close(v->ud) : yajl_gen_array_close(v->ud));
}

static void visitor_init(visitor_t *v, lua_State *L, sr_diag_t *d)
{
    memset(v, 0, sizeof *v);
    v->L = L;
    v->d = d;
    lua_getfield(L, LUA_REGISTRYINDEX, SR_REG_KEY_RANK);
    if (lua_istable(L, -1))
        v->rank_idx = lua_gettop(L);
    else
        lua_pop(L, 1);
}

static void visitor_done(visitor_t *v)
{
    if (v->rank_idx)
        lua_remove(v->L, v->rank_idx);
}

static void j_print(void *ctx, const char *str, size_t len)
{
    sr_buf_t *b = ctx;
    if (b->len + len < b->cap && !b->failed) { /* yajl prints token by token: the common case */
        memcpy(b->data + b->len, str, len);
        b->len += len;
        b->data[b->len] = '\0';
        return;
    }
    sr_buf_append(b, str, len);
}

/* Appends the JSON of the value at idx to into (yajl prints straight into
 * it); on failure into is left as it was. */
static sr_status_t json_record(sr_buf_t *into, lua_State *L, int idx, sr_diag_t *d)
{
    idx = lua_absindex(L, idx);
    size_t start = into->len;
    yajl_gen g = yajl_gen_alloc(NULL);
    if (!g) {
        sr_diag_set(d, SR_ERR_NOMEM, NULL, 0, 0, NULL, "out of memory");
        return SR_ERR_NOMEM;
    }
    yajl_gen_config(g, yajl_gen_validate_utf8, 1);
    yajl_gen_config(g, yajl_gen_print_callback, j_print, into);
    visitor_t v;
    visitor_init(&v, L, d);
    v.ud = g;
    v.scalar_null = j_null;
    v.scalar_bool = j_bool;
    v.scalar_int = j_int;
    v.scalar_num = j_num;
    v.scalar_str = j_str;
    v.open = j_open;
    v.close = j_close;
    int rc = visit(&v, idx, 0);
    visitor_done(&v);
    yajl_gen_free(g);
    sr_status_t st = SR_OK;
    if (rc != 0) {
        st = d->status;
    } else if (into->failed) {
        sr_diag_set(d, SR_ERR_NOMEM, NULL, 0, 0, NULL, "out of memory");
        st = SR_ERR_NOMEM;
    }
    if (st != SR_OK) {
        into->failed = 0;
        into->len = start;
        if (into->data)
            into->data[start] = '\0';
    }
    return st;
}

/* ---- YAML back end ---- */

typedef struct {
    yaml_emitter_t em;
    sr_buf_t *into;
} yout_t;

static int y_write(void *data, unsigned char *buffer, size_t size)
{
    yout_t *y = data;
    return sr_buf_append(y->into, buffer, size) == 0;
}

static int y_emit(visitor_t *v, yaml_event_t *ev, int ok)
{
    yout_t *y = v->ud;
    if (!ok || !yaml_emitter_emit(&y->em, ev))
        return vfail(v, "cannot generate YAML");
    return 0;
}

static int y_plain(visitor_t *v, const char *s, size_t n)
{
    yaml_event_t ev;
    int ok = yaml_scalar_event_initialize(&ev, NULL, NULL, (yaml_char_t *)s, (int)n, 1, 1,
                                          YAML_PLAIN_SCALAR_STYLE);
    return y_emit(v, &ev, ok);
}
static int y_null(visitor_t *v) { return y_plain(v, "null", 4); }
static int y_bool(visitor_t *v, int b) { return b ? y_plain(v, "true", 4) : y_plain(v, "false", 5); }
static int y_int(visitor_t *v, lua_Integer i)
{
    char buf[32];
    int n = snprintf(buf, sizeof buf, "%lld", (long long)i);
    return y_plain(v, buf, (size_t)n);
}
static int y_str(visitor_t *v, const char *s, size_t n)
{
    /* a string that would read back as null, a boolean or a number is quoted */
    sr_scalar_t r;
    sr_resolve_plain(s, n, &r);
    yaml_event_t ev;
    int ok = yaml_scalar_event_initialize(&ev, NULL, NULL, (yaml_char_t *)s, (int)n,
                                          r.kind == SR_SCALAR_STR, 1,
                                          r.kind == SR_SCALAR_STR ? YAML_ANY_SCALAR_STYLE
                                                                  : YAML_DOUBLE_QUOTED_SCALAR_STYLE);
    return y_emit(v, &ev, ok);
}
static int y_open(visitor_t *v, int is_map)
{
    yaml_event_t ev;
    int ok = is_map ? yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1, YAML_ANY_MAPPING_STYLE)
                    : yaml_sequence_start_event_initialize(&ev, NULL, NULL, 1, YAML_ANY_SEQUENCE_STYLE);
    return y_emit(v, &ev, ok);
}
static int y_close(visitor_t *v, int is_map)
{
    yaml_event_t ev;
    int ok = is_map ? yaml_mapping_end_event_initialize(&ev) : yaml_sequence_end_event_initialize(&ev);
    return y_emit(v, &ev, ok);
}

static sr_status_t yaml_record(sr_buf_t *into, lua_State *L, int idx, sr_diag_t *d)
{
    idx = lua_absindex(L, idx);
    yout_t y;
    y.into = into;
    if (!yaml_emitter_initialize(&y.em)) {
        sr_diag_set(d, SR_ERR_NOMEM, NULL, 0, 0, NULL, "out of memory");
        return SR_ERR_NOMEM;
    }
    yaml_emitter_set_output(&y.em, y_write, &y);
    yaml_emitter_set_unicode(&y.em, 1);
    yaml_emitter_set_width(&y.em, -1);
    visitor_t v;
    visitor_init(&v, L, d);
    v.ud = &y;
    v.scalar_null = y_null;
    v.scalar_bool = y_bool;
    v.scalar_int = y_int;
    v.scalar_num = y_plain;
    v.scalar_str = y_str;
    v.open = y_open;
    v.close = y_close;
    yaml_event_t ev;
    int rc = y_emit(&v, &ev, yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING));
    if (rc == 0)
        rc = y_emit(&v, &ev, yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, 0));
    if (rc == 0)
        rc = visit(&v, idx, 0);
    if (rc == 0)
        rc = y_emit(&v, &ev, yaml_document_end_event_initialize(&ev, 1));
    if (rc == 0)
        rc = y_emit(&v, &ev, yaml_stream_end_event_initialize(&ev));
    visitor_done(&v);
    yaml_emitter_delete(&y.em);
    return rc == 0 ? SR_OK : d->status;
}

/* ---- public ---- */

sr_writer_t *sr_writer_new(sr_output_format_t fmt)
{
    sr_writer_t *w = calloc(1, sizeof *w);
    if (!w)
        return NULL;
    w->fmt = fmt;
    sr_buf_init(&w->out);
    return w;
}

void sr_writer_set_engine(sr_writer_t *w, sr_engine_t *e)
{
    if (w)
        w->e = e;
}

void sr_writer_free(sr_writer_t *w)
{
    if (!w)
        return;
    sr_buf_free(&w->out);
    free(w);
}

sr_status_t sr_writer_record(sr_writer_t *w, lua_State *L, int idx, sr_diag_t *d)
{
    size_t start = w->out.len;
    sr_status_t st;
    if (w->fmt == SR_OUT_CSV || w->fmt == SR_OUT_HTML || w->fmt == SR_OUT_TEXT) {
        if (!w->e || w->e->sb.L != L) {
            sr_diag_set(d, SR_ERR_USAGE, NULL, 0, 0, NULL, "CSV, HTML and text records need the writer's engine");
            return SR_ERR_USAGE;
        }
        const char *lang = w->e->lang[0] ? w->e->lang : "fr";
        st = w->fmt == SR_OUT_CSV    ? sr_csvout_record(w->e, &w->out, idx, d)
             : w->fmt == SR_OUT_HTML ? sr_html_record(w->e, &w->out, idx, lang, d)
                                     : sr_text_record(w->e, &w->out, idx, lang, d);
    } else {
        st = w->fmt == SR_OUT_YAML ? yaml_record(&w->out, L, idx, d) : json_record(&w->out, L, idx, d);
    }
    if (st == SR_OK && w->fmt == SR_OUT_JSONL)
        sr_buf_append(&w->out, "\n", 1);
    if (st == SR_OK && w->out.failed) {
        sr_diag_set(d, SR_ERR_NOMEM, NULL, 0, 0, NULL, "out of memory");
        st = SR_ERR_NOMEM;
    }
    if (st != SR_OK) { /* nothing of a refused record is kept */
        w->out.failed = 0;
        w->out.len = start;
        if (w->out.data)
            w->out.data[start] = '\0';
    }
    return st;
}

const char *sr_writer_data(const sr_writer_t *w, size_t *len)
{
    *len = w->out.len;
    return w->out.data ? w->out.data : "";
}

void sr_writer_clear(sr_writer_t *w) { sr_buf_reset(&w->out); }

void sr_writer_truncate(sr_writer_t *w, size_t len)
{
    if (len < w->out.len) {
        w->out.len = len;
        w->out.data[len] = '\0';
    }
    w->out.failed = 0;
}

char *sr_writer_to_json(lua_State *L, int idx)
{
    sr_buf_t b;
    sr_buf_init(&b);
    sr_diag_t d;
    sr_diag_init(&d);
    sr_status_t st = json_record(&b, L, idx, &d);
    sr_diag_free(&d);
    if (st != SR_OK || b.failed) {
        sr_buf_free(&b);
        return NULL;
    }
    if (!b.data)
        return sr_strdup("");
    return b.data;
}
