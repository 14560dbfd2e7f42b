/* writer.c -- JSON (yajl's bytes, written straight into the buffer) and YAML
 * (libyaml emitter) records with stable key order; a record is built whole
 * before it is kept. */
#include "writer.h"

#include <lauxlib.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "engine.h"
#include "lvalue.h"
#include "reader.h"
#include "report.h"
#include "sandbox.h"
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

/* Visitor over a Lua value: the path, the keys and their ranks serve both
 * back ends; the callbacks are the YAML back end's (JSON writes directly). */
typedef struct visitor visitor_t;
/* One step of the path to the value being visited; the path is rendered
 * only when an error needs it. */
typedef struct {
    const char *key; /* NULL for an array element */
    size_t len;
    long long index;
} step_t;

/* A map key being written, its value left on the Lua stack at slot. */
typedef struct {
    const char *s;
    size_t len;
    lua_Integer rank;
    int slot;
    int plain; /* written in JSON as it is, between quotes */
} mkey_t;

/* Keys of the maps on the current path, innermost last: each map takes a
 * segment and gives it back when written, so one array serves a record. */
typedef struct {
    mkey_t *k;
    size_t n, cap;
    mkey_t local[64];
} kstack_t;

/* Ranks of the key strings met in this record, by address: a key is the
 * same interned string in every table of the record, and every string met
 * stays alive (the record holds it) while the record is written. */
#define RANK_SLOTS 128
typedef struct {
    const char *s;
    lua_Integer rank;
    int plain;
} rank_slot_t;

struct visitor {
    lua_State *L;
    int rank_idx;        /* absolute index of the rank table, or 0 */
    kstack_t ks;
    rank_slot_t ranks[RANK_SLOTS];
    sr_shared_map_t *shared; /* JSON: the tables results share, or NULL */
    const void *rank_ptr;    /* JSON: the rank table's address, or NULL */
    const void *array_mt;    /* the arrays' metatable's address, or NULL */
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

/* The Lua stack could not grow, or a key buffer could not: out of memory.
 * (Never the stack's own maximum of a million slots: a result holds at most
 * 100,000 values, the result check says so before any writer runs, and the
 * writer keeps at most two slots a key and six a level, 32 levels deep.) */
static int vfail_nomem(visitor_t *v)
{
    if (!v->failed) {
        v->failed = 1;
        sr_diag_set(v->d, SR_ERR_NOMEM, NULL, 0, 0, NULL, "out of memory while writing the result");
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

/* sr_lv_isarray, with the arrays' metatable looked up once per record. */
static int is_array(visitor_t *v, int idx)
{
    lua_State *L = v->L;
    if (lua_getmetatable(L, idx)) {
        int marked = lua_topointer(L, -1) == v->array_mt;
        lua_pop(L, 1);
        if (marked)
            return 1;
    }
    return sr_lv_isarray(L, idx);
}

static int mkey_before(const mkey_t *x, const mkey_t *y)
{
    if (x->rank != y->rank)
        return x->rank < y->rank;
    size_t n = x->len < y->len ? x->len : y->len;
    int c = memcmp(x->s, y->s, n);
    return c ? c < 0 : x->len < y->len;
}

static int mkey_cmp(const void *a, const void *b) { return mkey_before(b, a) - mkey_before(a, b); }

static int json_plain(const unsigned char *s, size_t n);

/* Fills in the rank of the key k (the string below the top of the stack)
 * and whether JSON writes it as it is: from the record's cache, else looked
 * up (then cached). [-0, +0] */
static void key_info(visitor_t *v, mkey_t *k)
{
    size_t h = ((uintptr_t)k->s >> 4) % RANK_SLOTS;
    for (int probe = 0; probe < 4; probe++, h = (h + 1) % RANK_SLOTS) {
        if (v->ranks[h].s == k->s) {
            k->rank = v->ranks[h].rank;
            k->plain = v->ranks[h].plain;
            return;
        }
        if (!v->ranks[h].s)
            break;
    }
    lua_State *L = v->L;
    k->rank = LUA_MAXINTEGER;
    if (v->rank_idx) {
        lua_pushvalue(L, -2);
        if (lua_rawget(L, v->rank_idx) == LUA_TNUMBER)
            k->rank = lua_tointeger(L, -1);
        lua_pop(L, 1);
    }
    k->plain = json_plain((const unsigned char *)k->s, k->len);
    if (!v->ranks[h].s) {
        v->ranks[h].s = k->s;
        v->ranks[h].rank = k->rank;
        v->ranks[h].plain = k->plain;
    }
}

/* Collects the keys of the map at idx in the order sr_key_cmp gives, into
 * v->ks from *base on (count in *count); pushes each key and its value, so
 * that neither has to be looked up again. On failure (a key that is not a
 * string, no memory) pushes nothing and fails v. [-0, +2 * count] */
static int collect_keys(visitor_t *v, int idx, size_t *base, size_t *count)
{
    lua_State *L = v->L;
    kstack_t *ks = &v->ks;
    int top = lua_gettop(L);
    size_t b = ks->n, n = 0;
    const char *err = NULL;
    int nomem = 0;
    lua_pushnil(L);
    while (lua_next(L, idx)) { /* ... key value */
        if (lua_type(L, -2) != LUA_TSTRING) {
            err = "result has a non-string key (a table mixing list and map entries?)";
            break;
        }
        if (n % 16 == 0 && !lua_checkstack(L, 40)) {
            nomem = 1;
            break;
        }
        if (b + n == ks->cap) {
            size_t cap = ks->cap * 2;
            mkey_t *p = ks->k == ks->local ? malloc(cap * sizeof *p) : realloc(ks->k, cap * sizeof *p);
            if (!p) {
                nomem = 1;
                break;
            }
            if (ks->k == ks->local)
                memcpy(p, ks->local, sizeof ks->local);
            ks->k = p;
            ks->cap = cap;
        }
        mkey_t *k = &ks->k[b + n];
        k->s = lua_tolstring(L, -2, &k->len);
        k->slot = top + 2 + 2 * (int)n; /* pairs pile up from top + 1 */
        key_info(v, k);
        n++;
        lua_pushvalue(L, -2); /* the key again, for lua_next */
    }
    if (err || nomem) {
        lua_settop(L, top);
        return nomem ? vfail_nomem(v) : vfail(v, err);
    }
    mkey_t *k = ks->k + b;
    if (n > 32) {
        qsort(k, n, sizeof *k, mkey_cmp);
    } else {
        for (size_t i = 1; i < n; i++) { /* insertion sort: maps are small */
            mkey_t t = k[i];
            size_t j = i;
            for (; j > 0 && mkey_before(&t, &k[j - 1]); j--)
                k[j] = k[j - 1];
            k[j] = t;
        }
    }
    ks->n = b + n;
    *base = b;
    *count = n;
    return 0;
}

static int visit_table(visitor_t *v, int idx, int depth)
{
    lua_State *L = v->L;
    if (depth >= MAX_DEPTH)
        return vfail(v, "result nested too deeply (or a table contains itself)");
    if (!lua_checkstack(L, 6))
        return vfail_nomem(v);
    step_t *step = &v->path[depth];
    if (is_array(v, idx)) {
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
    int top = lua_gettop(L);
    size_t base, count;
    if (collect_keys(v, idx, &base, &count))
        return -1;
    int rc = v->open(v, 1);
    for (size_t i = 0; rc == 0 && i < count; i++) {
        const mkey_t *k = &v->ks.k[base + i];
        step->key = k->s;
        step->len = k->len;
        v->depth = depth + 1;
        rc = v->scalar_str(v, k->s, k->len);
        if (rc == 0)
            rc = visit(v, k->slot, depth + 1);
        v->depth = depth;
    }
    v->ks.n = base;
    lua_settop(L, top);
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

static void visitor_init(visitor_t *v, lua_State *L, sr_diag_t *d)
{
    v->L = L;
    v->rank_idx = 0;
    v->ks.k = v->ks.local;
    v->ks.n = 0;
    v->ks.cap = sizeof v->ks.local / sizeof v->ks.local[0];
    v->depth = 0;
    v->d = d;
    v->failed = 0;
    v->ud = NULL;
    memset(v->ranks, 0, sizeof v->ranks);
    sr_lv_push_array_mt(L);
    v->array_mt = lua_istable(L, -1) ? lua_topointer(L, -1) : NULL;
    lua_pop(L, 1);
    lua_getfield(L, LUA_REGISTRYINDEX, SR_REG_KEY_RANK);
    if (lua_istable(L, -1))
        v->rank_idx = lua_gettop(L);
    else
        lua_pop(L, 1);
}

static void visitor_done(visitor_t *v)
{
    if (v->ks.k != v->ks.local)
        free(v->ks.k);
    if (v->rank_idx)
        lua_remove(v->L, v->rank_idx);
}

/* ---- JSON back end: written straight into the record's buffer, byte for
 * byte what yajl's generator (compact, validating UTF-8) used to write ---- */

/* Room for n more bytes at the end of the record's buffer, or NULL once an
 * allocation failed (the buffer remembers; the record is then refused as
 * out of memory after the walk, whose own errors come first). */
static char *jroom(visitor_t *v, size_t n)
{
    sr_buf_t *b = v->ud;
    if (b->len + n < b->cap && !b->failed)
        return b->data + b->len;
    if (sr_buf_reserve(b, n) != 0)
        return NULL;
    return b->data + b->len;
}

static void jput(visitor_t *v, const char *s, size_t n)
{
    char *p = jroom(v, n);
    if (p) {
        memcpy(p, s, n);
        ((sr_buf_t *)v->ud)->len += n;
    }
}

static inline void jputc(visitor_t *v, char c)
{
    sr_buf_t *b = v->ud;
    if (b->len + 1 < b->cap && !b->failed) {
        b->data[b->len++] = c;
        return;
    }
    char *p = jroom(v, 1);
    if (p) {
        *p = c;
        b->len++;
    }
}

/* yajl_string_validate_utf8's rule: a lead byte by its high bits, then that
 * many bytes 10xxxxxx (overlong forms and surrogates pass, as they did). */
#define ONES 0x0101010101010101ULL
#define HIGHS 0x8080808080808080ULL

static int utf8_valid(const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        if (n - i >= 8) { /* 8 ASCII bytes at once */
            uint64_t x;
            memcpy(&x, s + i, 8);
            if (!(x & HIGHS)) {
                i += 8;
                continue;
            }
        }
        unsigned char c = s[i];
        size_t more;
        if (c <= 0x7f) {
            i++;
            continue;
        } else if ((c >> 5) == 0x6) {
            more = 1;
        } else if ((c >> 4) == 0xe) {
            more = 2;
        } else if ((c >> 3) == 0x1e) {
            more = 3;
        } else {
            return 0;
        }
        if (n - i - 1 < more)
            return 0;
        for (size_t k = 1; k <= more; k++)
            if ((s[i + k] >> 6) != 0x2)
                return 0;
        i += more + 1;
    }
    return 1;
}

/* Nonzero when one of the 8 bytes of x is escaped in JSON (yajl's list:
 * below 0x20, '"', '\\'); the classic "has a byte less than" and "has a
 * zero byte" tests, exact as to whether there is one. */
static uint64_t escaped8(uint64_t x)
{
    uint64_t q = x ^ (ONES * '"'), b = x ^ (ONES * '\\');
    return (((x - ONES * 0x20) & ~x) | ((q - ONES) & ~q) | ((b - ONES) & ~b)) & HIGHS;
}

/* Per byte: 1 escaped in JSON (yajl's list: controls, '"', '\\'), 2 not
 * ASCII (the string needs the UTF-8 check). */
static const unsigned char jclass[256] = {
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
};

/* 1 when JSON writes s as it is, between quotes: nothing to escape, and
 * valid UTF-8. */
static int json_plain(const unsigned char *s, size_t n)
{
    uint64_t high = 0;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t x;
        memcpy(&x, s + i, 8);
        if (escaped8(x))
            return 0;
        high |= x;
    }
    unsigned seen = 0;
    for (; i < n; i++)
        seen |= jclass[s[i]];
    if (seen & 1)
        return 0;
    return (!seen && !(high & HIGHS)) || utf8_valid(s, n);
}

/* Writes the string s that json_plain accepted. */
static void j_plain(visitor_t *v, const char *s, size_t n)
{
    char *p = jroom(v, n + 2);
    if (p) {
        p[0] = '"';
        memcpy(p + 1, s, n);
        p[n + 1] = '"';
        ((sr_buf_t *)v->ud)->len += n + 2;
    }
}

static int j_str(visitor_t *v, const char *str, size_t n)
{
    const unsigned char *s = (const unsigned char *)str;
    uint64_t high = 0;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t x;
        memcpy(&x, s + i, 8);
        if (escaped8(x))
            break;
        high |= x;
    }
    unsigned seen = 0;
    while (i < n && !(jclass[s[i]] & 1))
        seen |= jclass[s[i++]];
    if ((i < n || seen || (high & HIGHS)) && !utf8_valid(s, n))
        return vfail(v, "result contains a string that is not valid UTF-8");
    char *p = jroom(v, n + 2);
    if (!p)
        return 0;
    sr_buf_t *b = v->ud;
    *p++ = '"';
    memcpy(p, s, i);
    if (i == n) { /* nothing to escape: the common case */
        p[i] = '"';
        b->len += n + 2;
        return 0;
    }
    b->len += i + 1;
    while (i < n) { /* yajl_string_encode's escapes */
        size_t run = i;
        while (i < n && !(jclass[s[i]] & 1))
            i++;
        jput(v, str + run, i - run);
        if (i == n)
            break;
        char esc[7] = "\\u00";
        unsigned char c = s[i++];
        switch (c) {
        case '\r': jput(v, "\\r", 2); break;
        case '\n': jput(v, "\\n", 2); break;
        case '\\': jput(v, "\\\\", 2); break;
        case '"': jput(v, "\\\"", 2); break;
        case '\f': jput(v, "\\f", 2); break;
        case '\b': jput(v, "\\b", 2); break;
        case '\t': jput(v, "\\t", 2); break;
        default:
            esc[4] = "0123456789ABCDEF"[c >> 4];
            esc[5] = "0123456789ABCDEF"[c & 0x0F];
            jput(v, esc, 6);
        }
    }
    jputc(v, '"');
    return 0;
}

static void j_int(visitor_t *v, lua_Integer x)
{
    char buf[24], *end = buf + sizeof buf, *p = end;
    unsigned long long u = x < 0 ? 0ULL - (unsigned long long)x : (unsigned long long)x;
    do
        *--p = (char)('0' + u % 10);
    while (u /= 10);
    if (x < 0)
        *--p = '-';
    jput(v, p, (size_t)(end - p));
}

static int jvisit(visitor_t *v, int idx, int depth);

static int jwrite_table(visitor_t *v, int idx, int depth)
{
    lua_State *L = v->L;
    step_t *step = &v->path[depth];
    if (is_array(v, idx)) {
        lua_Integer n = (lua_Integer)lua_rawlen(L, idx);
        jputc(v, '[');
        for (lua_Integer i = 1; i <= n; i++) {
            if (i > 1)
                jputc(v, ',');
            step->key = NULL;
            step->index = (long long)(i - 1);
            v->depth = depth + 1;
            lua_rawgeti(L, idx, i);
            int rc = jvisit(v, lua_gettop(L), depth + 1);
            lua_pop(L, 1);
            v->depth = depth;
            if (rc)
                return -1;
        }
        jputc(v, ']');
        return 0;
    }
    int top = lua_gettop(L);
    size_t base, count;
    if (collect_keys(v, idx, &base, &count))
        return -1;
    jputc(v, '{');
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < count; i++) {
        const mkey_t *k = &v->ks.k[base + i];
        if (i)
            jputc(v, ',');
        step->key = k->s;
        step->len = k->len;
        v->depth = depth + 1;
        if (k->plain)
            j_plain(v, k->s, k->len);
        else
            rc = j_str(v, k->s, k->len);
        if (rc == 0) {
            jputc(v, ':');
            rc = jvisit(v, k->slot, depth + 1);
        }
        v->depth = depth;
    }
    v->ks.n = base;
    lua_settop(L, top);
    if (rc)
        return -1;
    jputc(v, '}');
    return 0;
}

/* Bytes of JSON kept for the tables results share, in all (a bound: a
 * table whose bytes do not fit is written afresh each time). */
#define SHARED_MAX_JSON (1u << 20)

static int jvisit_table(visitor_t *v, int idx, int depth)
{
    lua_State *L = v->L;
    if (depth >= MAX_DEPTH)
        return vfail(v, "result nested too deeply (or a table contains itself)");
    if (!lua_checkstack(L, 6))
        return vfail_nomem(v);
    sr_shared_t *sh = v->shared ? sr_shared_find(v->shared, lua_topointer(L, idx)) : NULL;
    if (!sh)
        return jwrite_table(v, idx, depth);
    /* a table results share never changes: its JSON is written once; the
     * height check keeps "nested too deeply" where it was */
    if (sh->json && sh->json_rank == v->rank_ptr && depth + sh->height <= MAX_DEPTH) {
        jput(v, sh->json, sh->json_len);
        return 0;
    }
    sr_buf_t *b = v->ud;
    size_t start = b->len;
    int rc = jwrite_table(v, idx, depth);
    size_t n = b->len - start;
    if (rc == 0 && !b->failed && !sh->json && v->shared->json_bytes + n <= SHARED_MAX_JSON &&
        depth + sh->height <= MAX_DEPTH) {
        sh->json = malloc(n ? n : 1);
        if (sh->json) {
            memcpy(sh->json, b->data + start, n);
            sh->json_len = n;
            sh->json_rank = v->rank_ptr;
            v->shared->json_bytes += n;
        }
    }
    return rc;
}

static int jvisit(visitor_t *v, int idx, int depth)
{
    lua_State *L = v->L;
    switch (lua_type(L, idx)) {
    case LUA_TNIL: jput(v, "null", 4); return 0;
    case LUA_TBOOLEAN:
        if (lua_toboolean(L, idx))
            jput(v, "true", 4);
        else
            jput(v, "false", 5);
        return 0;
    case LUA_TNUMBER:
        if (lua_isinteger(L, idx)) {
            j_int(v, lua_tointeger(L, idx));
        } else {
            double x = (double)lua_tonumber(L, idx);
            if (!isfinite(x))
                return vfail(v, "result contains a number that is not finite (NaN or infinity)");
            char buf[64];
            format_double(x, buf, sizeof buf);
            jput(v, buf, strlen(buf));
        }
        return 0;
    case LUA_TSTRING: {
        size_t n;
        const char *s = lua_tolstring(L, idx, &n);
        return j_str(v, s, n);
    }
    case LUA_TTABLE: return jvisit_table(v, idx, depth);
    case LUA_TLIGHTUSERDATA:
        if (sr_lv_isnull(L, idx)) {
            jput(v, "null", 4);
            return 0;
        }
        /* fall through */
    default: {
        char msg[96];
        snprintf(msg, sizeof msg, "result contains a %s value, which cannot be written",
                 luaL_typename(L, idx));
        return vfail(v, msg);
    }
    }
}

/* Appends the JSON of the value at idx to into; on failure into is left as
 * it was. */
static sr_status_t json_record(sr_buf_t *into, lua_State *L, int idx, sr_diag_t *d)
{
    idx = lua_absindex(L, idx);
    size_t start = into->len;
    visitor_t v;
    visitor_init(&v, L, d);
    v.ud = into;
    sr_sandbox_t *sb = sr_sandbox_of(L);
    v.shared = sb && sb->shared.n ? &sb->shared : NULL;
    v.rank_ptr = v.rank_idx ? lua_topointer(L, v.rank_idx) : NULL;
    int rc = jvisit(&v, idx, 0);
    visitor_done(&v);
    if (into->data && !into->failed)
        into->data[into->len] = '\0';
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

size_t sr_writer_capacity(const sr_writer_t *w) { return w->out.cap; }

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
