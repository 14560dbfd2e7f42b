/* schema.c -- JSON Schema (2020-12 subset) compiled once, then validating Lua
 * values with every error positioned; see schema.h for the keywords and the
 * exact message wording. */
#include "schema.h"

#include <lauxlib.h>
#include <math.h>
#include <regex.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lvalue.h"

#define DRAFT_2020_12 "https://json-schema.org/draft/2020-12/schema"
#define MAX_SCHEMA_DEPTH 256   /* segments of a keyword's path in a schema file */
#define MAX_VALIDATE_DEPTH 512 /* nested schema applications on one value */
#define MAX_KEYWORDS 64        /* keywords in one schema object */
#define SHOW_STRING 60         /* bytes of a string shown in a message */
#define PAIRWISE_UNIQUE 64     /* arrays up to this size compare items pairwise */

/* ------------------------------------------------------------------ */
/* Value kinds                                                          */

enum {
    K_NULL = 1,
    K_BOOL = 2,
    K_INT = 4,   /* a finite number with no fractional part (1 and 1.0) */
    K_NUM = 8,   /* any other finite number */
    K_STR = 16,
    K_ARR = 32,
    K_OBJ = 64,
    K_NONFINITE = 128,
    K_OTHER = 256 /* a Lua value JSON cannot hold (function, userdata) */
};

static unsigned value_kind(lua_State *L, int idx)
{
    switch (lua_type(L, idx)) {
    case LUA_TNIL: return K_NULL;
    case LUA_TLIGHTUSERDATA: return sr_lv_isnull(L, idx) ? K_NULL : K_OTHER;
    case LUA_TBOOLEAN: return K_BOOL;
    case LUA_TNUMBER: {
        if (lua_isinteger(L, idx))
            return K_INT;
        double f = lua_tonumber(L, idx);
        if (!isfinite(f))
            return K_NONFINITE;
        return floor(f) == f ? K_INT : K_NUM;
    }
    case LUA_TSTRING: return K_STR;
    case LUA_TTABLE: return sr_lv_isarray(L, idx) ? K_ARR : K_OBJ;
    default: return K_OTHER;
    }
}

/* ------------------------------------------------------------------ */
/* Numbers: exact comparisons between integers and floats               */

typedef struct {
    int is_int;
    lua_Integer i;
    double f;
} num_t;

static num_t num_from(lua_State *L, int idx)
{
    num_t n = {0, 0, 0};
    if (lua_isinteger(L, idx)) {
        n.is_int = 1;
        n.i = lua_tointeger(L, idx);
        n.f = (double)n.i;
    } else {
        n.f = lua_tonumber(L, idx);
    }
    return n;
}

/* -1, 0, 1, or 2 when unordered (NaN). */
static int cmp_int_flt(lua_Integer i, double f)
{
    if (isnan(f))
        return 2;
    if (f >= 9223372036854775808.0)
        return -1;
    if (f < -9223372036854775808.0)
        return 1;
    double fl = floor(f);
    lua_Integer fi = (lua_Integer)fl;
    if (i < fi)
        return -1;
    if (i > fi)
        return 1;
    return fl == f ? 0 : -1;
}

static int num_cmp(const num_t *a, const num_t *b)
{
    if (a->is_int && b->is_int)
        return a->i < b->i ? -1 : a->i > b->i;
    if (a->is_int)
        return cmp_int_flt(a->i, b->f);
    if (b->is_int) {
        int c = cmp_int_flt(b->i, a->f);
        return c == 2 ? 2 : -c;
    }
    if (isnan(a->f) || isnan(b->f))
        return 2;
    return a->f < b->f ? -1 : a->f > b->f;
}

static int is_multiple(const num_t *v, const num_t *m)
{
    if (v->is_int && m->is_int)
        return v->i % m->i == 0; /* m > 0: checked at load */
    double q = v->f / m->f;
    if (!isfinite(q))
        return 0;
    return fabs(q - nearbyint(q)) <= 1e-9 * fmax(1.0, fabs(q));
}

static void put_num(sr_buf_t *b, const num_t *n)
{
    if (n->is_int) {
        sr_buf_printf(b, "%lld", (long long)n->i);
        return;
    }
    if (isnan(n->f)) {
        sr_buf_puts(b, ".nan");
        return;
    }
    if (isinf(n->f)) {
        sr_buf_puts(b, n->f > 0 ? ".inf" : "-.inf");
        return;
    }
    char tmp[40];
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(tmp, sizeof tmp, "%.*g", prec, n->f);
        if (strtod(tmp, NULL) == n->f)
            break;
    }
    sr_buf_puts(b, tmp);
    if (!strpbrk(tmp, ".eEn"))
        sr_buf_puts(b, ".0"); /* 60.0 is shown as a number, not as 60 */
}

/* ------------------------------------------------------------------ */
/* Showing values in messages                                           */

/* Appends s with control characters, quotes and backslashes escaped, cut
 * at max bytes (on a character boundary) with "..." after. */
static int plain_byte(unsigned char c) { return c >= 0x20 && c != 0x7F && c != '\'' && c != '\\'; }

static void put_escaped(sr_buf_t *b, const char *s, size_t n, size_t max)
{
    size_t cut = n;
    if (n > max) {
        cut = max;
        while (cut > 0 && ((unsigned char)s[cut] & 0xC0) == 0x80)
            cut--;
    }
    for (size_t i = 0; i < cut;) {
        size_t run = 0; /* bytes shown as they are, appended at once */
        while (i + run < cut && plain_byte((unsigned char)s[i + run]))
            run++;
        if (run) {
            sr_buf_append(b, s + i, run);
            i += run;
            continue;
        }
        unsigned char c = (unsigned char)s[i++];
        if (c == '\n')
            sr_buf_puts(b, "\\n");
        else if (c == '\t')
            sr_buf_puts(b, "\\t");
        else if (c == '\r')
            sr_buf_puts(b, "\\r");
        else if (c == '\'' || c == '\\')
            sr_buf_printf(b, "\\%c", c);
        else
            sr_buf_printf(b, "\\x%02X", c);
    }
    if (cut < n)
        sr_buf_puts(b, "...");
}

static void put_quoted(sr_buf_t *b, const char *s, size_t n)
{
    sr_buf_puts(b, "'");
    put_escaped(b, s, n, SHOW_STRING);
    sr_buf_puts(b, "'");
}

/* "string 'x'", "integer 5", "number 5.5", "boolean true", "null",
 * "a list of 3 items", "a mapping". */
static void put_found(sr_buf_t *b, lua_State *L, int idx)
{
    unsigned k = value_kind(L, idx);
    switch (k) {
    case K_NULL: sr_buf_puts(b, "null"); break;
    case K_BOOL: sr_buf_puts(b, lua_toboolean(L, idx) ? "boolean true" : "boolean false"); break;
    case K_INT:
    case K_NUM:
    case K_NONFINITE: {
        num_t n = num_from(L, idx);
        sr_buf_puts(b, lua_isinteger(L, idx) ? "integer " : "number ");
        put_num(b, &n);
        if (k == K_NONFINITE)
            sr_buf_puts(b, " (not a finite number)");
        break;
    }
    case K_STR: {
        size_t n;
        const char *s = lua_tolstring(L, idx, &n);
        sr_buf_puts(b, "string ");
        put_quoted(b, s, n);
        break;
    }
    case K_ARR: {
        size_t n = (size_t)lua_rawlen(L, idx);
        sr_buf_printf(b, "a list of %zu item%s", n, n == 1 ? "" : "s");
        break;
    }
    case K_OBJ: sr_buf_puts(b, "a mapping"); break;
    default: sr_buf_printf(b, "a Lua %s", luaL_typename(L, idx)); break;
    }
}

void sr_schema_describe(sr_buf_t *b, lua_State *L, int idx) { put_found(b, L, idx); }
void sr_schema_quote(sr_buf_t *b, const char *s, size_t n) { put_quoted(b, s, n); }

/* ------------------------------------------------------------------ */
/* Constant values (enum, const)                                        */

enum { JV_NULL, JV_BOOL, JV_INT, JV_FLT, JV_STR, JV_ARR, JV_OBJ };

typedef struct jv jv_t;
struct jv {
    int type;
    int b;
    num_t num;
    char *s;        /* JV_STR: the text; */
    size_t len;     /* its length; JV_ARR/JV_OBJ: item count */
    jv_t *items;    /* JV_ARR: items; JV_OBJ: values, in key order */
    char **keys;    /* JV_OBJ: keys, sorted bytewise */
    size_t *klens;
};

static void jv_clear(jv_t *v)
{
    if (v->type == JV_ARR || v->type == JV_OBJ) {
        for (size_t i = 0; i < v->len; i++) {
            jv_clear(&v->items[i]);
            if (v->keys)
                free(v->keys[i]);
        }
        free(v->items);
        free(v->keys);
        free(v->klens);
    }
    free(v->s);
    memset(v, 0, sizeof *v);
}

static int bytes_cmp(const char *a, size_t na, const char *b, size_t nb)
{
    int c = memcmp(a, b, na < nb ? na : nb);
    if (c)
        return c;
    return na < nb ? -1 : na > nb;
}

/* Index of key in the sorted keys, or -1. */
static long find_key(char *const *keys, const size_t *klens, size_t n, const char *k, size_t kn)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = bytes_cmp(keys[mid], klens[mid], k, kn);
        if (c == 0)
            return (long)mid;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

static int lua_equal(lua_State *L, int a, int b, int depth);
static int jv_equal(const jv_t *v, lua_State *L, int idx, int depth);

/* Is the Lua value at idx, of kind k (value_kind), equal to v (JSON
 * equality: numbers by value)? */
static int jv_equal_kind(const jv_t *v, lua_State *L, int idx, unsigned k, int depth)
{
    switch (v->type) {
    case JV_NULL: return k == K_NULL;
    case JV_BOOL: return k == K_BOOL && lua_toboolean(L, idx) == v->b;
    case JV_INT:
    case JV_FLT: {
        if (!(k & (K_INT | K_NUM | K_NONFINITE)))
            return 0;
        num_t n = num_from(L, idx);
        return num_cmp(&n, &v->num) == 0;
    }
    case JV_STR: {
        if (k != K_STR)
            return 0;
        size_t n;
        const char *s = lua_tolstring(L, idx, &n);
        return n == v->len && memcmp(s, v->s, n) == 0;
    }
    case JV_ARR: {
        if (k != K_ARR || (size_t)lua_rawlen(L, idx) != v->len || depth > 64 || !lua_checkstack(L, 2))
            return 0;
        for (size_t i = 0; i < v->len; i++) {
            lua_rawgeti(L, idx, (lua_Integer)i + 1);
            int eq = jv_equal(&v->items[i], L, lua_gettop(L), depth + 1);
            lua_pop(L, 1);
            if (!eq)
                return 0;
        }
        return 1;
    }
    case JV_OBJ: {
        if (k != K_OBJ || depth > 64 || !lua_checkstack(L, 3))
            return 0;
        size_t count = 0;
        int eq = 1;
        lua_pushnil(L);
        while (lua_next(L, idx)) {
            count++;
            long at = -1;
            if (lua_type(L, -2) == LUA_TSTRING) {
                size_t kn;
                const char *key = lua_tolstring(L, -2, &kn);
                at = find_key(v->keys, v->klens, v->len, key, kn);
            }
            eq = at >= 0 && jv_equal(&v->items[at], L, lua_gettop(L), depth + 1);
            lua_pop(L, 1);
            if (!eq) {
                lua_pop(L, 1); /* the key */
                break;
            }
        }
        return eq && count == v->len;
    }
    }
    return 0;
}

static int jv_equal(const jv_t *v, lua_State *L, int idx, int depth)
{
    return jv_equal_kind(v, L, idx, value_kind(L, idx), depth);
}

/* JSON equality of two Lua values. */
static int lua_equal(lua_State *L, int a, int b, int depth)
{
    unsigned ka = value_kind(L, a), kb = value_kind(L, b);
    if ((ka & (K_INT | K_NUM | K_NONFINITE)) && (kb & (K_INT | K_NUM | K_NONFINITE))) {
        num_t x = num_from(L, a), y = num_from(L, b);
        return num_cmp(&x, &y) == 0;
    }
    if (ka != kb)
        return 0;
    if (ka == K_NULL)
        return 1;
    if (ka == K_ARR) {
        size_t n = (size_t)lua_rawlen(L, a);
        if (n != (size_t)lua_rawlen(L, b) || depth > 64 || !lua_checkstack(L, 3))
            return 0;
        for (size_t i = 1; i <= n; i++) {
            lua_rawgeti(L, a, (lua_Integer)i);
            lua_rawgeti(L, b, (lua_Integer)i);
            int eq = lua_equal(L, lua_gettop(L) - 1, lua_gettop(L), depth + 1);
            lua_pop(L, 2);
            if (!eq)
                return 0;
        }
        return 1;
    }
    if (ka == K_OBJ) {
        if (depth > 64 || !lua_checkstack(L, 4))
            return 0;
        size_t na = 0, nb = 0;
        int eq = 1;
        lua_pushnil(L);
        while (lua_next(L, a)) {
            na++;
            lua_pushvalue(L, -2);
            lua_rawget(L, b);
            eq = !lua_isnil(L, -1) && lua_equal(L, lua_gettop(L) - 1, lua_gettop(L), depth + 1);
            lua_pop(L, 2);
            if (!eq) {
                lua_pop(L, 1); /* the key */
                return 0;
            }
        }
        lua_pushnil(L);
        while (lua_next(L, b)) {
            nb++;
            lua_pop(L, 1);
        }
        return na == nb;
    }
    return lua_rawequal(L, a, b);
}

/* A hash consistent with lua_equal (1 and 1.0 hash alike; key order does
 * not matter), for finding duplicates in long arrays. */
static uint64_t mix(uint64_t h)
{
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    return h;
}

static uint64_t lua_hash(lua_State *L, int idx, int depth)
{
    unsigned k = value_kind(L, idx);
    switch (k) {
    case K_NULL: return 0x6e756c6cULL;
    case K_BOOL: return lua_toboolean(L, idx) ? 0x74727565ULL : 0x66616c73ULL;
    case K_INT:
        if (!lua_isinteger(L, idx)) {
            double f = lua_tonumber(L, idx);
            if (f >= -9223372036854775808.0 && f < 9223372036854775808.0)
                return mix((uint64_t)(lua_Integer)f);
            return mix((uint64_t)f);
        }
        return mix((uint64_t)lua_tointeger(L, idx));
    case K_NUM:
    case K_NONFINITE: {
        double f = lua_tonumber(L, idx);
        uint64_t u;
        memcpy(&u, &f, sizeof u);
        return mix(u);
    }
    case K_STR: {
        size_t n;
        const unsigned char *s = (const unsigned char *)lua_tolstring(L, idx, &n);
        uint64_t h = 1469598103934665603ULL;
        for (size_t i = 0; i < n; i++)
            h = (h ^ s[i]) * 1099511628211ULL;
        return mix(h);
    }
    case K_ARR: {
        uint64_t h = 0x6172726179ULL;
        size_t n = (size_t)lua_rawlen(L, idx);
        if (depth > 64 || !lua_checkstack(L, 2))
            return h;
        for (size_t i = 1; i <= n; i++) {
            lua_rawgeti(L, idx, (lua_Integer)i);
            h = mix(h * 31 + lua_hash(L, lua_gettop(L), depth + 1));
            lua_pop(L, 1);
        }
        return h;
    }
    case K_OBJ: {
        uint64_t h = 0x6f626a656374ULL;
        if (depth > 64 || !lua_checkstack(L, 3))
            return h;
        lua_pushnil(L);
        while (lua_next(L, idx)) {
            h += mix(lua_hash(L, lua_gettop(L) - 1, depth + 1) * 0x9e3779b97f4a7c15ULL +
                     lua_hash(L, lua_gettop(L), depth + 1));
            lua_pop(L, 1);
        }
        return h;
    }
    default: return 0;
    }
}

/* ------------------------------------------------------------------ */
/* Name indexes: a node's property names and string enum values, hashed
 * once at compile time so that validating a key or a string value costs
 * one hash of its bytes and, usually, one comparison.                   */

typedef struct {
    uint32_t hash;
    uint32_t at; /* entry index + 1; 0: an empty slot */
} slot_t;

typedef struct {
    slot_t *slots; /* NULL when the index is empty */
    uint32_t mask; /* slot count - 1 (a power of two, at least twice the entries) */
} nameidx_t;

/* The length and at most the first and the last 8 bytes (4 for shorter
 * names): constant time,
 * and names of one schema seldom share all three. */
static inline uint32_t name_hash(const char *s, size_t n)
{
    uint64_t h = (uint64_t)n * 0x9e3779b97f4a7c15ULL;
    if (n >= 8) {
        uint64_t a, b;
        memcpy(&a, s, 8);
        memcpy(&b, s + n - 8, 8);
        h ^= a * 0xff51afd7ed558ccdULL;
        h ^= (b ^ (b >> 29)) * 0xc4ceb9fe1a85ec53ULL;
    } else if (n >= 4) {
        uint32_t a, b;
        memcpy(&a, s, 4);
        memcpy(&b, s + n - 4, 4);
        h ^= (((uint64_t)a << 32) | b) * 0xff51afd7ed558ccdULL;
    } else {
        for (size_t i = 0; i < n; i++)
            h = (h ^ (unsigned char)s[i]) * 0x100000001b3ULL;
    }
    h ^= h >> 32;
    return (uint32_t)h;
}

/* memcmp(a, b, n) == 0 for the short names of a schema, without a call. */
static inline int same_bytes(const char *a, const char *b, size_t n)
{
    if (n >= 8) {
        uint64_t x, y;
        for (size_t i = 0; i + 8 < n; i += 8) {
            memcpy(&x, a + i, 8);
            memcpy(&y, b + i, 8);
            if (x != y)
                return 0;
        }
        memcpy(&x, a + n - 8, 8); /* the last 8, overlapping */
        memcpy(&y, b + n - 8, 8);
        return x == y;
    }
    if (n >= 4) {
        uint32_t x, y, u, v;
        memcpy(&x, a, 4);
        memcpy(&y, b, 4);
        memcpy(&u, a + n - 4, 4);
        memcpy(&v, b + n - 4, 4);
        return x == y && u == v;
    }
    for (; n; a++, b++, n--)
        if (*a != *b)
            return 0;
    return 1;
}

/* Room for count entries; returns 0, or -1 when memory is short. */
static int nameidx_init(nameidx_t *x, size_t count)
{
    size_t cap = 4;
    while (cap < 2 * count)
        cap *= 2;
    x->slots = calloc(cap, sizeof *x->slots);
    x->mask = (uint32_t)(cap - 1);
    return x->slots ? 0 : -1;
}

static void nameidx_add(nameidx_t *x, const char *s, size_t n, size_t at)
{
    uint32_t h = name_hash(s, n), i = h & x->mask;
    while (x->slots[i].at)
        i = (i + 1) & x->mask;
    x->slots[i].hash = h;
    x->slots[i].at = (uint32_t)at + 1;
}

/* ------------------------------------------------------------------ */
/* Compiled schema                                                      */

typedef struct node node_t;

typedef struct {
    char *name;
    size_t len;
    node_t *schema; /* NULL when the name is only required */
    int required;
    int order;      /* position in the file (properties, then required) */
} prop_t;

enum {
    HAS_MIN = 1,
    HAS_MAX = 2,
    HAS_XMIN = 4,
    HAS_XMAX = 8,
    HAS_MULT = 16
};

struct node {
    int id;
    int boolean;          /* -1: a schema object; 0: false; 1: true */
    char *pointer;        /* "#/properties/spine" */
    unsigned types;       /* K_* bits; 0 when no type keyword */
    int has_enum, has_const;
    jv_t *enums;
    size_t n_enum;
    nameidx_t enum_idx;   /* the string values of enums */
    jv_t cnst;
    int nflags;
    num_t min, max, xmin, xmax, mult;
    long long min_len, max_len; /* -1 when absent */
    char *pattern;
    regex_t re;
    int has_re;
    node_t *items;
    long long min_items, max_items;
    int unique;
    int is_object;        /* has properties, required or additionalProperties */
    prop_t *props;        /* sorted by name */
    size_t n_props;
    prop_t **by_order;    /* the same, in file order */
    prop_t **required;    /* the required ones, in file order */
    size_t n_required;
    nameidx_t prop_idx;   /* props by name */
    node_t *additional;   /* NULL: any additional field is allowed */
    node_t **all_of, **any_of, **one_of;
    size_t n_all, n_any, n_one;
    node_t *not_;
    int applies_more;     /* allOf, anyOf, oneOf, not or $ref */
    char *ref;            /* as written */
    node_t *ref_to;
    int ref_line, ref_col;
    char *ref_path;
    int mark;             /* cycle check */
};

struct sr_schema {
    char *name;
    node_t *root;
    node_t **nodes;
    size_t n_nodes, cap;
};

static void node_free(node_t *n)
{
    if (!n)
        return;
    free(n->pointer);
    for (size_t i = 0; i < n->n_enum; i++)
        jv_clear(&n->enums[i]);
    free(n->enums);
    free(n->enum_idx.slots);
    free(n->prop_idx.slots);
    jv_clear(&n->cnst);
    free(n->pattern);
    if (n->has_re)
        regfree(&n->re);
    for (size_t i = 0; i < n->n_props; i++)
        free(n->props[i].name);
    free(n->props);
    free(n->by_order);
    free(n->required);
    free(n->all_of);
    free(n->any_of);
    free(n->one_of);
    free(n->ref);
    free(n->ref_path);
    free(n);
}

void sr_schema_free(sr_schema_t *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n_nodes; i++)
        node_free(s->nodes[i]);
    free(s->nodes);
    free(s->name);
    free(s);
}

const char *sr_schema_name(const sr_schema_t *s) { return s->name; }

/* ------------------------------------------------------------------ */
/* Edit distance, for "did you mean"                                    */

static int lower(int c) { return c >= 'A' && c <= 'Z' ? c + 32 : c; }

/* Close enough to suggest: a small distance relative to the shorter word,
 * and not a complete replacement. */
static int close_enough(size_t dist, size_t na, size_t nb)
{
    size_t m = na < nb ? na : nb;
    size_t limit = m <= 4 ? 1 : m <= 8 ? 2 : 3;
    return dist <= limit && (dist < m || dist == 0);
}

typedef struct {
    const char *s;
    size_t n;
} word_t;

/* Appends " (did you mean 'x'?)" or " (did you mean one of 'x', 'y'?)"
 * for the closest candidates; returns 1 when something was suggested. */
#define MAX_CANDIDATES 128

static int put_suggestion(sr_buf_t *b, const char *s, size_t n, const word_t *cand, size_t ncand)
{
    /* each candidate's distance, computed once; (size_t)-1 when not close
     * enough: a distance is at least the difference of the lengths, so a
     * candidate much longer or shorter needs no computing */
    size_t dist[MAX_CANDIDATES];
    size_t best = (size_t)-1;
    if (ncand > MAX_CANDIDATES)
        ncand = MAX_CANDIDATES;
    for (size_t i = 0; i < ncand; i++) {
        size_t diff = n > cand[i].n ? n - cand[i].n : cand[i].n - n;
        size_t dd = close_enough(diff, n, cand[i].n) ? sr_edit_distance(s, n, cand[i].s, cand[i].n) : (size_t)-1;
        dist[i] = close_enough(dd, n, cand[i].n) ? dd : (size_t)-1;
        if (dist[i] < best)
            best = dist[i];
    }
    if (best == (size_t)-1)
        return 0;
    size_t shown = 0, total = 0;
    for (size_t i = 0; i < ncand; i++)
        if (dist[i] == best)
            total++;
    sr_buf_puts(b, total == 1 ? " (did you mean " : " (did you mean one of ");
    for (size_t i = 0; i < ncand && shown < 5; i++) {
        if (dist[i] != best)
            continue;
        if (shown)
            sr_buf_puts(b, ", ");
        put_quoted(b, cand[i].s, cand[i].n);
        shown++;
    }
    sr_buf_puts(b, total > shown ? ", ...?)" : "?)");
    return 1;
}

/* ------------------------------------------------------------------ */
/* Paths and errors                                                     */

static void put_path(sr_buf_t *b, const sr_pathseg_t *path, size_t n)
{
    sr_buf_puts(b, "");
    for (size_t i = 0; i < n; i++) {
        if (path[i].key) {
            if (b->len)
                sr_buf_puts(b, ".");
            put_escaped(b, path[i].key, path[i].key_len, 200);
        } else if (path[i].index >= 0) {
            char digits[24], *d = digits + sizeof digits; /* "[%lld]" without printf */
            long long v = path[i].index;
            *--d = ']';
            do
                *--d = (char)('0' + v % 10);
            while ((v /= 10) > 0);
            *--d = '[';
            sr_buf_append(b, d, (size_t)(digits + sizeof digits - d));
        } else {
            sr_buf_printf(b, "[%lld]", path[i].index);
        }
    }
}

char *sr_path_string(const sr_pathseg_t *path, size_t n)
{
    sr_buf_t b;
    sr_buf_init(&b);
    put_path(&b, path, n);
    if (b.failed) {
        sr_buf_free(&b);
        return NULL;
    }
    return b.data;
}

void sr_verrors_init(sr_verrors_t *e)
{
    memset(e, 0, sizeof *e);
    e->max = 100;
    sr_buf_init(&e->msg);
    sr_buf_init(&e->first);
}

void sr_verrors_reset(sr_verrors_t *e)
{
    for (size_t i = 0; i < e->n; i++) {
        free(e->v[i].path);
        free(e->v[i].message);
    }
    e->n = 0;
    e->dropped = 0;
    e->seq = 0;
    e->nsegs = 0;
    e->seen_len = 0;
}

void sr_verrors_free(sr_verrors_t *e)
{
    sr_verrors_reset(e);
    free(e->v);
    free(e->segs);
    free(e->seen);
    sr_buf_free(&e->msg);
    sr_buf_free(&e->first);
    size_t max = e->max;
    memset(e, 0, sizeof *e);
    e->max = max;
}

size_t sr_verrors_count(const sr_verrors_t *e) { return e->n + e->dropped; }

/* Takes ownership of message. */
static int add_error(sr_verrors_t *e, const sr_reader_t *rd, const sr_pathseg_t *path, size_t n, int want_key,
                     char *message)
{
    e->seq++;
    if (e->n >= e->max) {
        e->dropped++;
        free(message);
        return 0;
    }
    if (e->n == e->cap) {
        size_t cap = e->cap ? 2 * e->cap : 8;
        sr_verror_t *p = realloc(e->v, cap * sizeof *p);
        if (!p) {
            free(message);
            return -1;
        }
        e->v = p;
        e->cap = cap;
    }
    char *ps = sr_path_string(path, n);
    if (!ps || !message) {
        free(ps);
        free(message);
        return -1;
    }
    sr_verror_t *er = &e->v[e->n++];
    er->path = ps;
    er->message = message;
    er->line = er->column = 0;
    er->seq = e->seq;
    if (rd && sr_reader_locate(rd, path, n, want_key, &er->line, &er->column) < 0)
        er->line = er->column = 0;
    return 0;
}

int sr_verrors_add(sr_verrors_t *e, const sr_reader_t *rd, const sr_pathseg_t *path, size_t n, int want_key,
                   const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *m = sr_vasprintf(fmt, ap);
    va_end(ap);
    return add_error(e, rd, path, n, want_key, m);
}

static int verror_cmp(const void *pa, const void *pb)
{
    const sr_verror_t *a = pa, *b = pb;
    if (a->line != b->line)
        return a->line < b->line ? -1 : 1;
    if (a->column != b->column)
        return a->column < b->column ? -1 : 1;
    if (a->line == 0) { /* no positions: keep a stable, readable order */
        int c = strcmp(a->path, b->path);
        if (c)
            return c;
    }
    return a->seq < b->seq ? -1 : a->seq > b->seq;
}

void sr_verrors_sort(sr_verrors_t *e)
{
    if (e->n > 1)
        qsort(e->v, e->n, sizeof *e->v, verror_cmp);
}

/* ------------------------------------------------------------------ */
/* Compiling                                                            */

typedef struct {
    sr_schema_t *s;
    lua_State *L;
    const sr_reader_t *rd;
    const char *name;
    sr_diag_t *d;
    sr_pathseg_t segs[MAX_SCHEMA_DEPTH];
    size_t nsegs;
    int failed;
} comp_t;

static void comp_fail(comp_t *c, int want_key, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Records the (first) compile error at the current path. */
static void comp_fail(comp_t *c, int want_key, const char *fmt, ...)
{
    if (c->failed)
        return;
    c->failed = 1;
    int line = 0, col = 0;
    if (c->rd && sr_reader_locate(c->rd, c->segs, c->nsegs, want_key, &line, &col) < 0)
        line = col = 0;
    va_list ap;
    va_start(ap, fmt);
    char *m = sr_vasprintf(fmt, ap);
    va_end(ap);
    char *path = sr_path_string(c->segs, c->nsegs);
    sr_diag_set(c->d, SR_ERR_SCHEMA, c->name, line, col, path, "%s", m ? m : "out of memory");
    free(path);
    free(m);
}

static int push_key(comp_t *c, const char *k, size_t n)
{
    if (c->nsegs >= MAX_SCHEMA_DEPTH) {
        comp_fail(c, 0, "the schema is nested too deeply");
        return -1;
    }
    c->segs[c->nsegs].key = k;
    c->segs[c->nsegs].key_len = n;
    c->segs[c->nsegs].index = 0;
    c->nsegs++;
    return 0;
}

static int push_index(comp_t *c, long long i)
{
    if (c->nsegs >= MAX_SCHEMA_DEPTH) {
        comp_fail(c, 0, "the schema is nested too deeply");
        return -1;
    }
    c->segs[c->nsegs].key = NULL;
    c->segs[c->nsegs].key_len = 0;
    c->segs[c->nsegs].index = i;
    c->nsegs++;
    return 0;
}

static void put_kind_name(sr_buf_t *b, lua_State *L, int idx)
{
    sr_buf_t t;
    sr_buf_init(&t);
    put_found(&t, L, idx);
    sr_buf_puts(b, t.data ? t.data : "?");
    sr_buf_free(&t);
}

/* "expected X, found <value>" for a keyword's value. */
static void comp_expected(comp_t *c, int idx, const char *what)
{
    sr_buf_t b;
    sr_buf_init(&b);
    put_kind_name(&b, c->L, idx);
    comp_fail(c, 0, "expected %s, found %s", what, b.data ? b.data : "?");
    sr_buf_free(&b);
}

static int jv_from_lua(comp_t *c, jv_t *v, int idx, int depth)
{
    lua_State *L = c->L;
    memset(v, 0, sizeof *v);
    unsigned k = value_kind(L, idx);
    if (depth > 64 || !lua_checkstack(L, 3)) {
        comp_fail(c, 0, "value nested too deeply");
        return -1;
    }
    switch (k) {
    case K_NULL: v->type = JV_NULL; return 0;
    case K_BOOL: v->type = JV_BOOL; v->b = lua_toboolean(L, idx); return 0;
    case K_INT:
    case K_NUM:
    case K_NONFINITE:
        v->num = num_from(L, idx);
        v->type = v->num.is_int ? JV_INT : JV_FLT;
        return 0;
    case K_STR: {
        size_t n;
        const char *s = lua_tolstring(L, idx, &n);
        v->type = JV_STR;
        v->s = sr_strndup(s, n);
        v->len = n;
        if (!v->s) {
            comp_fail(c, 0, "out of memory");
            return -1;
        }
        return 0;
    }
    case K_ARR: {
        size_t n = (size_t)lua_rawlen(L, idx);
        v->type = JV_ARR;
        v->items = calloc(n ? n : 1, sizeof *v->items);
        if (!v->items) {
            comp_fail(c, 0, "out of memory");
            return -1;
        }
        for (size_t i = 0; i < n; i++) {
            lua_rawgeti(L, idx, (lua_Integer)i + 1);
            int rc = jv_from_lua(c, &v->items[i], lua_gettop(L), depth + 1);
            lua_pop(L, 1);
            v->len = i + 1;
            if (rc)
                return -1;
        }
        return 0;
    }
    case K_OBJ: {
        size_t n = 0;
        lua_pushnil(L);
        while (lua_next(L, idx)) {
            n++;
            lua_pop(L, 1);
        }
        v->type = JV_OBJ;
        v->items = calloc(n ? n : 1, sizeof *v->items);
        v->keys = calloc(n ? n : 1, sizeof *v->keys);
        v->klens = calloc(n ? n : 1, sizeof *v->klens);
        if (!v->items || !v->keys || !v->klens) {
            comp_fail(c, 0, "out of memory");
            return -1;
        }
        /* insertion sort by key: constants are small */
        lua_pushnil(L);
        while (lua_next(L, idx)) {
            if (lua_type(L, -2) != LUA_TSTRING) {
                lua_pop(L, 2);
                comp_fail(c, 0, "a mapping key must be a string");
                return -1;
            }
            size_t kn;
            const char *key = lua_tolstring(L, -2, &kn);
            size_t at = v->len;
            while (at > 0 && bytes_cmp(v->keys[at - 1], v->klens[at - 1], key, kn) > 0) {
                v->keys[at] = v->keys[at - 1];
                v->klens[at] = v->klens[at - 1];
                v->items[at] = v->items[at - 1];
                at--;
            }
            memset(&v->items[at], 0, sizeof v->items[at]);
            v->keys[at] = sr_strndup(key, kn);
            v->klens[at] = kn;
            v->len++;
            int rc = v->keys[at] ? jv_from_lua(c, &v->items[at], lua_gettop(L), depth + 1) : -1;
            lua_pop(L, 1);
            if (rc) {
                lua_pop(L, 1);
                if (!c->failed)
                    comp_fail(c, 0, "out of memory");
                return -1;
            }
        }
        return 0;
    }
    default: comp_fail(c, 0, "a Lua %s cannot be a JSON value", luaL_typename(L, idx)); return -1;
    }
}

static void put_jv(sr_buf_t *b, const jv_t *v, int bare)
{
    switch (v->type) {
    case JV_NULL: sr_buf_puts(b, "null"); break;
    case JV_BOOL: sr_buf_puts(b, v->b ? "true" : "false"); break;
    case JV_INT:
    case JV_FLT: put_num(b, &v->num); break;
    case JV_STR: {
        int plain = bare && v->len > 0;
        for (size_t i = 0; plain && i < v->len; i++) {
            char ch = v->s[i];
            plain = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
                    ch == '_' || ch == '-' || ch == '.' || ch == '+';
        }
        if (plain && !(v->len == 4 && memcmp(v->s, "null", 4) == 0) &&
            !(v->len == 4 && memcmp(v->s, "true", 4) == 0) && !(v->len == 5 && memcmp(v->s, "false", 5) == 0))
            sr_buf_append(b, v->s, v->len);
        else
            put_quoted(b, v->s, v->len);
        break;
    }
    case JV_ARR: sr_buf_puts(b, "a list"); break;
    case JV_OBJ: sr_buf_puts(b, "a mapping"); break;
    }
}

static node_t *new_node(comp_t *c)
{
    sr_schema_t *s = c->s;
    if (s->n_nodes == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 32;
        node_t **p = realloc(s->nodes, cap * sizeof *p);
        if (!p)
            return NULL;
        s->nodes = p;
        s->cap = cap;
    }
    node_t *n = calloc(1, sizeof *n);
    if (!n)
        return NULL;
    n->id = (int)s->n_nodes;
    n->boolean = -1;
    n->min_len = n->max_len = n->min_items = n->max_items = -1;
    s->nodes[s->n_nodes++] = n;
    /* its JSON pointer, "#/properties/a~1b" */
    sr_buf_t b;
    sr_buf_init(&b);
    sr_buf_puts(&b, "#");
    for (size_t i = 0; i < c->nsegs; i++) {
        sr_buf_puts(&b, "/");
        if (c->segs[i].key) {
            for (size_t k = 0; k < c->segs[i].key_len; k++) {
                char ch = c->segs[i].key[k];
                if (ch == '~')
                    sr_buf_puts(&b, "~0");
                else if (ch == '/')
                    sr_buf_puts(&b, "~1");
                else
                    sr_buf_append(&b, &ch, 1);
            }
        } else {
            sr_buf_printf(&b, "%lld", c->segs[i].index);
        }
    }
    if (b.failed) {
        sr_buf_free(&b);
        return NULL;
    }
    n->pointer = b.data;
    return n;
}

static node_t *compile_node(comp_t *c, int idx);

/* Compiles the value at idx as a subschema under the key already pushed. */
static node_t *compile_sub(comp_t *c, int idx)
{
    return compile_node(c, idx);
}

/* A non-negative integer keyword value. */
static int get_count(comp_t *c, int idx, long long *out)
{
    unsigned k = value_kind(c->L, idx);
    if (k != K_INT) {
        comp_expected(c, idx, "a non-negative integer");
        return -1;
    }
    num_t n = num_from(c->L, idx);
    long long v = n.is_int ? (long long)n.i : n.f < 0 ? -1 : n.f > 9e18 ? (long long)9e18 : (long long)n.f;
    if (v < 0) {
        comp_expected(c, idx, "a non-negative integer");
        return -1;
    }
    *out = v;
    return 0;
}

static int get_number(comp_t *c, int idx, num_t *out)
{
    unsigned k = value_kind(c->L, idx);
    if (!(k & (K_INT | K_NUM))) {
        comp_expected(c, idx, k == K_BOOL ? "a number (the 2020-12 form; the boolean form is draft 4)" : "a number");
        return -1;
    }
    *out = num_from(c->L, idx);
    return 0;
}

/* Compiles an array of subschemas (allOf, anyOf, oneOf). */
static int compile_list(comp_t *c, int idx, node_t ***out, size_t *n)
{
    lua_State *L = c->L;
    if (value_kind(L, idx) != K_ARR) {
        comp_expected(c, idx, "a non-empty list of schemas");
        return -1;
    }
    size_t len = (size_t)lua_rawlen(L, idx);
    if (len == 0) {
        comp_expected(c, idx, "a non-empty list of schemas");
        return -1;
    }
    *out = calloc(len, sizeof **out);
    if (!*out) {
        comp_fail(c, 0, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < len; i++) {
        lua_rawgeti(L, idx, (lua_Integer)i + 1);
        if (push_index(c, (long long)i) != 0) {
            lua_pop(L, 1);
            return -1;
        }
        (*out)[i] = compile_sub(c, lua_gettop(L));
        c->nsegs--;
        lua_pop(L, 1);
        if (!(*out)[i])
            return -1;
        *n = i + 1;
    }
    return 0;
}

static const struct {
    const char *name;
    unsigned bits;
} type_names[] = {
    {"null", K_NULL}, {"boolean", K_BOOL}, {"integer", K_INT}, {"number", K_INT | K_NUM},
    {"string", K_STR}, {"array", K_ARR},  {"object", K_OBJ},
};

/* Index of a type name in type_names, or -1. */
static int type_index(lua_State *L, int idx)
{
    if (lua_type(L, idx) != LUA_TSTRING)
        return -1;
    const char *s = lua_tostring(L, idx);
    for (size_t i = 0; i < sizeof type_names / sizeof type_names[0]; i++)
        if (strcmp(s, type_names[i].name) == 0)
            return (int)i;
    return -1;
}

static int compile_type(comp_t *c, node_t *n, int idx)
{
    lua_State *L = c->L;
    static const char what[] =
        "a type name (null, boolean, integer, number, string, array, object) or a list of them";
    unsigned k = value_kind(L, idx);
    if (k == K_STR) {
        int t = type_index(L, idx);
        if (t < 0) {
            comp_expected(c, idx, what);
            return -1;
        }
        n->types = type_names[t].bits;
        return 0;
    }
    if (k != K_ARR || lua_rawlen(L, idx) == 0) {
        comp_expected(c, idx, what);
        return -1;
    }
    size_t len = (size_t)lua_rawlen(L, idx);
    unsigned listed = 0;
    for (size_t i = 0; i < len; i++) {
        lua_rawgeti(L, idx, (lua_Integer)i + 1);
        if (push_index(c, (long long)i) != 0) {
            lua_pop(L, 1);
            return -1;
        }
        int t = type_index(L, lua_gettop(L));
        if (t < 0)
            comp_expected(c, lua_gettop(L), what);
        else if (listed & (1u << t))
            comp_fail(c, 0, "type '%s' is listed twice", type_names[t].name);
        c->nsegs--;
        lua_pop(L, 1);
        if (c->failed)
            return -1;
        listed |= 1u << t;
        n->types |= type_names[t].bits;
    }
    return 0;
}

static int compile_enum(comp_t *c, node_t *n, int idx)
{
    lua_State *L = c->L;
    if (value_kind(L, idx) != K_ARR) {
        comp_expected(c, idx, "a list of values");
        return -1;
    }
    size_t len = (size_t)lua_rawlen(L, idx);
    n->enums = calloc(len ? len : 1, sizeof *n->enums);
    if (!n->enums) {
        comp_fail(c, 0, "out of memory");
        return -1;
    }
    n->has_enum = 1;
    for (size_t i = 0; i < len; i++) {
        lua_rawgeti(L, idx, (lua_Integer)i + 1);
        push_index(c, (long long)i);
        int rc = jv_from_lua(c, &n->enums[i], lua_gettop(L), 0);
        n->n_enum = i + 1;
        if (rc == 0) {
            for (size_t j = 0; j < i; j++) {
                if (jv_equal(&n->enums[j], L, lua_gettop(L), 0)) {
                    comp_fail(c, 0, "this value is already listed at index %zu", j);
                    rc = -1;
                    break;
                }
            }
        }
        c->nsegs--;
        lua_pop(L, 1);
        if (rc)
            return -1;
    }
    return 0;
}

static int prop_cmp(const void *a, const void *b)
{
    const prop_t *x = a, *y = b;
    return bytes_cmp(x->name, x->len, y->name, y->len);
}

/* Adds a name to the node's property table (unsorted while compiling). */
static prop_t *add_prop(comp_t *c, node_t *n, const char *name, size_t len, size_t *cap)
{
    for (size_t i = 0; i < n->n_props; i++)
        if (bytes_cmp(n->props[i].name, n->props[i].len, name, len) == 0)
            return &n->props[i];
    if (n->n_props == *cap) {
        size_t nc = *cap ? 2 * *cap : 8;
        prop_t *p = realloc(n->props, nc * sizeof *p);
        if (!p) {
            comp_fail(c, 0, "out of memory");
            return NULL;
        }
        n->props = p;
        *cap = nc;
    }
    prop_t *p = &n->props[n->n_props];
    memset(p, 0, sizeof *p);
    p->name = sr_strndup(name, len);
    p->len = len;
    p->order = (int)n->n_props;
    if (!p->name) {
        comp_fail(c, 0, "out of memory");
        return NULL;
    }
    n->n_props++;
    return p;
}

typedef struct {
    const char *name;
    size_t len;
    int line, col;
} keyref_t;

static int keyref_cmp(const void *a, const void *b)
{
    const keyref_t *x = a, *y = b;
    if (x->line != y->line)
        return x->line < y->line ? -1 : 1;
    if (x->col != y->col)
        return x->col < y->col ? -1 : 1;
    return bytes_cmp(x->name, x->len, y->name, y->len);
}

/* The string keys of the mapping at idx, in file order (by name when there
 * are no positions). Returns a malloc'd array (the names point into Lua
 * strings held by the table), or NULL with an error recorded. */
static keyref_t *keys_in_order(comp_t *c, int idx, size_t *n)
{
    lua_State *L = c->L;
    size_t count = 0;
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        count++;
        lua_pop(L, 1);
    }
    keyref_t *keys = calloc(count ? count : 1, sizeof *keys);
    if (!keys) {
        comp_fail(c, 0, "out of memory");
        return NULL;
    }
    size_t i = 0;
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        lua_pop(L, 1);
        if (lua_type(L, -1) != LUA_TSTRING) {
            lua_pop(L, 1);
            free(keys);
            comp_fail(c, 0, "a mapping key must be a string");
            return NULL;
        }
        keys[i].name = lua_tolstring(L, -1, &keys[i].len);
        if (c->rd && c->nsegs < MAX_SCHEMA_DEPTH) {
            c->segs[c->nsegs].key = keys[i].name;
            c->segs[c->nsegs].key_len = keys[i].len;
            if (sr_reader_locate(c->rd, c->segs, c->nsegs + 1, 1, &keys[i].line, &keys[i].col) < 0)
                keys[i].line = keys[i].col = 0;
        }
        i++;
    }
    *n = count;
    qsort(keys, count, sizeof *keys, keyref_cmp);
    return keys;
}

static int compile_properties(comp_t *c, node_t *n, int idx, size_t *cap)
{
    lua_State *L = c->L;
    if (value_kind(L, idx) != K_OBJ) {
        comp_expected(c, idx, "a mapping of field names to schemas");
        return -1;
    }
    size_t nk = 0;
    keyref_t *keys = keys_in_order(c, idx, &nk);
    if (!keys)
        return -1;
    int rc = 0;
    for (size_t i = 0; i < nk && rc == 0; i++) {
        prop_t *p = add_prop(c, n, keys[i].name, keys[i].len, cap);
        if (!p) {
            rc = -1;
            break;
        }
        lua_pushlstring(L, keys[i].name, keys[i].len);
        lua_rawget(L, idx);
        if (push_key(c, keys[i].name, keys[i].len) != 0) {
            lua_pop(L, 1);
            rc = -1;
            break;
        }
        node_t *sub = compile_sub(c, lua_gettop(L));
        c->nsegs--;
        lua_pop(L, 1);
        /* add_prop may have moved the array: find the entry again */
        p = add_prop(c, n, keys[i].name, keys[i].len, cap);
        if (!sub || !p)
            rc = -1;
        else
            p->schema = sub;
    }
    free(keys);
    return rc;
}

static int compile_required(comp_t *c, node_t *n, int idx, size_t *cap)
{
    lua_State *L = c->L;
    if (value_kind(L, idx) != K_ARR) {
        comp_expected(c, idx, "a list of field names");
        return -1;
    }
    size_t len = (size_t)lua_rawlen(L, idx);
    for (size_t i = 0; i < len; i++) {
        lua_rawgeti(L, idx, (lua_Integer)i + 1);
        push_index(c, (long long)i);
        if (lua_type(L, -1) != LUA_TSTRING) {
            comp_expected(c, lua_gettop(L), "a field name (a string)");
            lua_pop(L, 1);
            return -1;
        }
        size_t kn;
        const char *k = lua_tolstring(L, -1, &kn);
        for (size_t j = 0; j < i; j++) {
            lua_rawgeti(L, idx, (lua_Integer)j + 1);
            int same = lua_rawequal(L, -1, -2);
            lua_pop(L, 1);
            if (same) {
                comp_fail(c, 0, "field '%s' is already required at index %zu", k, j);
                lua_pop(L, 1);
                return -1;
            }
        }
        prop_t *p = add_prop(c, n, k, kn, cap);
        c->nsegs--;
        lua_pop(L, 1);
        if (!p)
            return -1;
        p->required = 1;
    }
    return 0;
}

/* Translates an ECMA-262 pattern to a POSIX ERE (see schema.h). Returns a
 * malloc'd string, or NULL with *why set. */
static char *ecma_to_ere(const char *p, size_t n, const char **why)
{
    sr_buf_t b;
    sr_buf_init(&b);
    int in_bracket = 0;
    *why = NULL;
    for (size_t i = 0; i < n && !*why; i++) {
        char ch = p[i];
        if (ch == '\0') {
            *why = "a NUL character";
            break;
        }
        if (in_bracket) {
            if (ch == '\\' && i + 1 < n) {
                char e = p[++i];
                switch (e) {
                case 'd': sr_buf_puts(&b, "0-9"); break;
                case 'w': sr_buf_puts(&b, "A-Za-z0-9_"); break;
                case 's': sr_buf_puts(&b, "[:space:]"); break;
                case 'n': sr_buf_puts(&b, "\n"); break;
                case 't': sr_buf_puts(&b, "\t"); break;
                case 'r': sr_buf_puts(&b, "\r"); break;
                case '\\': sr_buf_puts(&b, "\\"); break;
                case '.': case '/': case '*': case '+': case '?': case '(': case ')': case '{': case '}':
                case '|': case '$': case '[':
                    sr_buf_append(&b, &e, 1);
                    break;
                default: *why = "an escape inside brackets other than \\d \\w \\s \\n \\t \\r \\\\ or an escaped punctuation character"; break;
                }
            } else if (ch == '[' && i + 1 < n && p[i + 1] == ':') {
                *why = "a POSIX class '[:' inside brackets";
            } else {
                if (ch == ']')
                    in_bracket = 0;
                sr_buf_append(&b, &ch, 1);
            }
            continue;
        }
        switch (ch) {
        case '\\': {
            if (i + 1 >= n) {
                *why = "a trailing backslash";
                break;
            }
            char e = p[++i];
            switch (e) {
            case 'd': sr_buf_puts(&b, "[0-9]"); break;
            case 'D': sr_buf_puts(&b, "[^0-9]"); break;
            case 'w': sr_buf_puts(&b, "[A-Za-z0-9_]"); break;
            case 'W': sr_buf_puts(&b, "[^A-Za-z0-9_]"); break;
            case 's': sr_buf_puts(&b, "[[:space:]]"); break;
            case 'S': sr_buf_puts(&b, "[^[:space:]]"); break;
            case 'n': sr_buf_puts(&b, "\n"); break;
            case 't': sr_buf_puts(&b, "\t"); break;
            case 'r': sr_buf_puts(&b, "\r"); break;
            case '/': case '-': sr_buf_append(&b, &e, 1); break;
            case '.': case '\\': case '*': case '+': case '?': case '(': case ')': case '[': case ']':
            case '{': case '}': case '|': case '^': case '$':
                sr_buf_printf(&b, "\\%c", e);
                break;
            default: *why = "an escape other than \\d \\D \\w \\W \\s \\S \\n \\t \\r or an escaped punctuation character"; break;
            }
            break;
        }
        case '[':
            in_bracket = 1;
            sr_buf_append(&b, &ch, 1);
            if (i + 1 < n && p[i + 1] == '^') {
                sr_buf_puts(&b, "^");
                i++;
            }
            if (i + 1 < n && p[i + 1] == ']') {
                *why = "an empty bracket expression";
            }
            break;
        case '(':
            if (i + 1 < n && p[i + 1] == '?') {
                if (i + 2 < n && p[i + 2] == ':') {
                    sr_buf_puts(&b, "(");
                    i += 2;
                } else {
                    *why = "lookaround or a named group '(?'";
                }
            } else {
                sr_buf_puts(&b, "(");
            }
            break;
        case '.': sr_buf_puts(&b, "[^\n\r]"); break;
        case '*': case '+': case '?': case '}':
            sr_buf_append(&b, &ch, 1);
            if (i + 1 < n && p[i + 1] == '?')
                i++; /* lazy: same yes/no answer as greedy */
            break;
        default: sr_buf_append(&b, &ch, 1); break;
        }
    }
    if (!*why && in_bracket)
        *why = "an unclosed bracket expression";
    if (*why || b.failed) {
        if (!*why)
            *why = "out of memory";
        sr_buf_free(&b);
        return NULL;
    }
    if (!b.data)
        return sr_strdup("");
    return b.data;
}

static int compile_pattern(comp_t *c, node_t *n, int idx)
{
    lua_State *L = c->L;
    if (lua_type(L, idx) != LUA_TSTRING) {
        comp_expected(c, idx, "a regular expression (a string)");
        return -1;
    }
    size_t len;
    const char *p = lua_tolstring(L, idx, &len);
    const char *why;
    char *ere = ecma_to_ere(p, len, &why);
    if (!ere) {
        comp_fail(c, 0, "pattern '%s' uses %s, which this validator does not support (patterns are POSIX "
                        "extended regular expressions with a few ECMA-262 escapes)", p, why);
        return -1;
    }
    int rc = regcomp(&n->re, ere, REG_EXTENDED | REG_NOSUB);
    free(ere);
    if (rc != 0) {
        char err[128];
        regerror(rc, &n->re, err, sizeof err);
        comp_fail(c, 0, "invalid pattern '%s': %s", p, err);
        return -1;
    }
    n->has_re = 1;
    n->pattern = sr_strndup(p, len);
    if (!n->pattern) {
        comp_fail(c, 0, "out of memory");
        return -1;
    }
    return 0;
}

static const char *const supported_keywords[] = {
    "$comment", "$defs", "$id", "$ref", "$schema", "additionalProperties", "allOf", "anyOf", "const",
    "default", "description", "enum", "examples", "exclusiveMaximum", "exclusiveMinimum", "items",
    "maxItems", "maxLength", "maximum", "minItems", "minLength", "minimum", "multipleOf", "not", "oneOf",
    "pattern", "properties", "required", "title", "type", "uniqueItems", NULL,
};

/* Keywords of JSON Schema (any draft) that this validator does not apply. */
static const char *const unsupported_keywords[] = {
    "$anchor", "$dynamicAnchor", "$dynamicRef", "$recursiveAnchor", "$recursiveRef", "$vocabulary",
    "additionalItems", "contains", "contentEncoding", "contentMediaType", "contentSchema", "definitions",
    "dependencies", "dependentRequired", "dependentSchemas", "deprecated", "else", "format", "if",
    "maxContains", "maxProperties", "minContains", "minProperties", "patternProperties", "prefixItems",
    "propertyNames", "readOnly", "then", "unevaluatedItems", "unevaluatedProperties", "writeOnly", NULL,
};

static int in_list(const char *const *list, const char *s)
{
    for (size_t i = 0; list[i]; i++)
        if (strcmp(list[i], s) == 0)
            return 1;
    return 0;
}

static void refuse_keyword(comp_t *c, const char *k, size_t kn)
{
    sr_buf_t b;
    sr_buf_init(&b);
    word_t cand[64] = {{NULL, 0}};
    size_t nc = 0;
    for (size_t i = 0; supported_keywords[i] && nc < 64; i++) {
        cand[nc].s = supported_keywords[i];
        cand[nc].n = strlen(supported_keywords[i]);
        nc++;
    }
    if (strlen(k) == kn && in_list(unsupported_keywords, k)) {
        sr_buf_puts(&b, "keyword ");
        put_quoted(&b, k, kn);
        sr_buf_puts(&b, " is not supported by this validator");
        if (strcmp(k, "definitions") == 0)
            sr_buf_puts(&b, " (use '$defs', the 2020-12 name)");
        else if (strcmp(k, "prefixItems") == 0 || strcmp(k, "additionalItems") == 0)
            sr_buf_puts(&b, " (only 'items' with one schema is)");
    } else {
        sr_buf_puts(&b, "unknown keyword ");
        put_quoted(&b, k, kn);
        put_suggestion(&b, k, kn, cand, nc);
    }
    sr_buf_puts(&b, "; supported: ");
    for (size_t i = 0; supported_keywords[i]; i++)
        sr_buf_printf(&b, "%s%s", i ? ", " : "", supported_keywords[i]);
    comp_fail(c, 1, "%s", b.data ? b.data : "unknown keyword");
    sr_buf_free(&b);
}

/* Compiles one keyword of the schema object at idx into n. */
static int compile_keyword(comp_t *c, node_t *n, int idx, const char *k, size_t kn, size_t *cap)
{
    lua_State *L = c->L;
    int rc = 0;
    if (strlen(k) != kn || !in_list(supported_keywords, k)) {
        if (push_key(c, k, kn) == 0) {
            refuse_keyword(c, k, kn);
            c->nsegs--;
        }
        return -1;
    }
    lua_pushlstring(L, k, kn);
    lua_rawget(L, idx);
    int v = lua_gettop(L);
    if (push_key(c, k, kn) != 0) {
        lua_pop(L, 1);
        return -1;
    }
    unsigned vk = value_kind(L, v);
    if (strcmp(k, "type") == 0) {
        rc = compile_type(c, n, v);
    } else if (strcmp(k, "enum") == 0) {
        rc = compile_enum(c, n, v);
    } else if (strcmp(k, "const") == 0) {
        n->has_const = 1;
        rc = jv_from_lua(c, &n->cnst, v, 0);
    } else if (strcmp(k, "required") == 0) {
        n->is_object = 1;
        rc = compile_required(c, n, v, cap);
    } else if (strcmp(k, "properties") == 0) {
        n->is_object = 1;
        rc = compile_properties(c, n, v, cap);
    } else if (strcmp(k, "additionalProperties") == 0) {
        n->is_object = 1;
        n->additional = compile_sub(c, v);
        rc = n->additional ? 0 : -1;
    } else if (strcmp(k, "items") == 0) {
        if (vk == K_ARR) {
            comp_fail(c, 0, "'items' as a list (the tuple form of draft 7, 'prefixItems' in 2020-12) is "
                            "not supported: give one schema for every item");
            rc = -1;
        } else {
            n->items = compile_sub(c, v);
            rc = n->items ? 0 : -1;
        }
    } else if (strcmp(k, "minItems") == 0) {
        rc = get_count(c, v, &n->min_items);
    } else if (strcmp(k, "maxItems") == 0) {
        rc = get_count(c, v, &n->max_items);
    } else if (strcmp(k, "minLength") == 0) {
        rc = get_count(c, v, &n->min_len);
    } else if (strcmp(k, "maxLength") == 0) {
        rc = get_count(c, v, &n->max_len);
    } else if (strcmp(k, "uniqueItems") == 0) {
        if (vk != K_BOOL) {
            comp_expected(c, v, "true or false");
            rc = -1;
        } else {
            n->unique = lua_toboolean(L, v);
        }
    } else if (strcmp(k, "minimum") == 0) {
        rc = get_number(c, v, &n->min);
        n->nflags |= HAS_MIN;
    } else if (strcmp(k, "maximum") == 0) {
        rc = get_number(c, v, &n->max);
        n->nflags |= HAS_MAX;
    } else if (strcmp(k, "exclusiveMinimum") == 0) {
        rc = get_number(c, v, &n->xmin);
        n->nflags |= HAS_XMIN;
    } else if (strcmp(k, "exclusiveMaximum") == 0) {
        rc = get_number(c, v, &n->xmax);
        n->nflags |= HAS_XMAX;
    } else if (strcmp(k, "multipleOf") == 0) {
        rc = get_number(c, v, &n->mult);
        n->nflags |= HAS_MULT;
        if (rc == 0 && !(n->mult.is_int ? n->mult.i > 0 : n->mult.f > 0)) {
            comp_expected(c, v, "a number greater than 0");
            rc = -1;
        }
    } else if (strcmp(k, "pattern") == 0) {
        rc = compile_pattern(c, n, v);
    } else if (strcmp(k, "$ref") == 0) {
        if (vk != K_STR) {
            comp_expected(c, v, "a reference (a string such as '#/$defs/name')");
            rc = -1;
        } else if (lua_tostring(L, v)[0] != '#') {
            comp_fail(c, 0, "reference '%s' leaves this file: only references inside the file ('#', "
                            "'#/$defs/name') are supported", lua_tostring(L, v));
            rc = -1;
        } else if (lua_tostring(L, v)[1] != '\0' && lua_tostring(L, v)[1] != '/') {
            comp_fail(c, 0, "reference '%s' names an anchor: only JSON pointers ('#/$defs/name') "
                            "are supported", lua_tostring(L, v));
            rc = -1;
        } else {
            n->ref = sr_strdup(lua_tostring(L, v));
            n->ref_path = sr_path_string(c->segs, c->nsegs);
            if (c->rd && sr_reader_locate(c->rd, c->segs, c->nsegs, 0, &n->ref_line, &n->ref_col) < 0)
                n->ref_line = n->ref_col = 0;
            if (!n->ref || !n->ref_path) {
                comp_fail(c, 0, "out of memory");
                rc = -1;
            }
        }
    } else if (strcmp(k, "$defs") == 0) {
        if (vk != K_OBJ) {
            comp_expected(c, v, "a mapping of names to schemas");
            rc = -1;
        } else {
            size_t nd = 0;
            keyref_t *defs = keys_in_order(c, v, &nd);
            rc = defs ? 0 : -1;
            for (size_t j = 0; j < nd && rc == 0; j++) {
                lua_pushlstring(L, defs[j].name, defs[j].len);
                lua_rawget(L, v);
                if (push_key(c, defs[j].name, defs[j].len) != 0) {
                    rc = -1;
                } else {
                    rc = compile_sub(c, lua_gettop(L)) ? 0 : -1;
                    c->nsegs--;
                }
                lua_pop(L, 1);
            }
            free(defs);
        }
    } else if (strcmp(k, "allOf") == 0) {
        rc = compile_list(c, v, &n->all_of, &n->n_all);
    } else if (strcmp(k, "anyOf") == 0) {
        rc = compile_list(c, v, &n->any_of, &n->n_any);
    } else if (strcmp(k, "oneOf") == 0) {
        rc = compile_list(c, v, &n->one_of, &n->n_one);
    } else if (strcmp(k, "not") == 0) {
        n->not_ = compile_sub(c, v);
        rc = n->not_ ? 0 : -1;
    } else if (strcmp(k, "description") == 0 || strcmp(k, "title") == 0 || strcmp(k, "$comment") == 0) {
        if (vk != K_STR) {
            comp_expected(c, v, "a string");
            rc = -1;
        }
    } else if (strcmp(k, "examples") == 0) {
        if (vk != K_ARR) {
            comp_expected(c, v, "a list of examples");
            rc = -1;
        }
    } else if (strcmp(k, "default") == 0) {
        /* an annotation only: a missing input is never filled in */
    } else if (strcmp(k, "$schema") == 0 || strcmp(k, "$id") == 0) {
        if (c->nsegs != 1) {
            comp_fail(c, 1, "'%s' is only allowed at the root of a schema file", k);
            rc = -1;
        } else if (vk != K_STR) {
            comp_expected(c, v, "a URI (a string)");
            rc = -1;
        } else if (strcmp(k, "$schema") == 0 && strcmp(lua_tostring(L, v), DRAFT_2020_12) != 0 &&
                   strcmp(lua_tostring(L, v), DRAFT_2020_12 "#") != 0) {
            comp_fail(c, 0, "this validator reads JSON Schema 2020-12 ('%s'), not '%s'", DRAFT_2020_12,
                      lua_tostring(L, v));
            rc = -1;
        }
    }
    c->nsegs--;
    lua_pop(L, 1);
    return rc;
}

static node_t *compile_node(comp_t *c, int idx)
{
    lua_State *L = c->L;
    if (c->failed)
        return NULL;
    if (!lua_checkstack(L, 8)) {
        comp_fail(c, 0, "the schema is nested too deeply");
        return NULL;
    }
    idx = lua_absindex(L, idx);
    unsigned kind = value_kind(L, idx);
    node_t *n = NULL;
    if (kind == K_BOOL) {
        n = new_node(c);
        if (!n) {
            comp_fail(c, 0, "out of memory");
            return NULL;
        }
        n->boolean = lua_toboolean(L, idx);
        return n;
    }
    if (kind != K_OBJ) {
        comp_expected(c, idx, "a schema (a mapping, true or false)");
        return NULL;
    }
    n = new_node(c);
    if (!n) {
        comp_fail(c, 0, "out of memory");
        return NULL;
    }
    size_t nk = 0;
    keyref_t *keys = keys_in_order(c, idx, &nk);
    if (!keys)
        return NULL;
    if (nk > MAX_KEYWORDS) {
        free(keys);
        comp_fail(c, 0, "a schema with more than %d keywords", MAX_KEYWORDS);
        return NULL;
    }
    size_t prop_cap = 0;
    int rc = 0;
    /* 'required' last, so that the fields of 'properties' come first in
     * file order and the names only 'required' lists come after them */
    for (size_t i = 0; i < nk && rc == 0 && !c->failed; i++)
        if (strcmp(keys[i].name, "required") != 0)
            rc = compile_keyword(c, n, idx, keys[i].name, keys[i].len, &prop_cap);
    for (size_t i = 0; i < nk && rc == 0 && !c->failed; i++)
        if (strcmp(keys[i].name, "required") == 0)
            rc = compile_keyword(c, n, idx, keys[i].name, keys[i].len, &prop_cap);
    free(keys);
    if (rc != 0 || c->failed) {
        if (!c->failed)
            comp_fail(c, 0, "invalid schema");
        return NULL;
    }
    if (n->n_props) {
        qsort(n->props, n->n_props, sizeof *n->props, prop_cmp);
        n->by_order = malloc(n->n_props * sizeof *n->by_order);
        if (!n->by_order) {
            comp_fail(c, 0, "out of memory");
            return NULL;
        }
        for (size_t i = 0; i < n->n_props; i++)
            n->by_order[n->props[i].order] = &n->props[i];
        if (nameidx_init(&n->prop_idx, n->n_props) != 0) {
            comp_fail(c, 0, "out of memory");
            return NULL;
        }
        for (size_t i = 0; i < n->n_props; i++)
            nameidx_add(&n->prop_idx, n->props[i].name, n->props[i].len, i);
        n->required = malloc(n->n_props * sizeof *n->required);
        if (!n->required) {
            comp_fail(c, 0, "out of memory");
            return NULL;
        }
        for (size_t i = 0; i < n->n_props; i++)
            if (n->by_order[i]->required)
                n->required[n->n_required++] = n->by_order[i];
    }
    n->applies_more = n->n_all || n->n_any || n->n_one || n->not_ || n->ref;
    if (n->n_enum) {
        if (nameidx_init(&n->enum_idx, n->n_enum) != 0) {
            comp_fail(c, 0, "out of memory");
            return NULL;
        }
        for (size_t i = 0; i < n->n_enum; i++)
            if (n->enums[i].type == JV_STR)
                nameidx_add(&n->enum_idx, n->enums[i].s, n->enums[i].len, i);
    }
    return n;
}

static int hexval(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (lower((unsigned char)ch) >= 'a' && lower((unsigned char)ch) <= 'f')
        return lower((unsigned char)ch) - 'a' + 10;
    return -1;
}

/* Decodes the %XX escapes of a URI fragment; malloc'd. */
static char *percent_decode(const char *s)
{
    size_t n = strlen(s);
    char *out = malloc(n + 1);
    if (!out)
        return NULL;
    size_t j = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '%' && i + 2 < n + 1 && hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0) {
            out[j++] = (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
            i += 2;
        } else {
            out[j++] = s[i];
        }
    }
    out[j] = '\0';
    return out;
}

static void comp_fail_at_ref(comp_t *c, const node_t *n, const char *fmt, const char *arg)
{
    if (c->failed)
        return;
    c->failed = 1;
    sr_diag_set(c->d, SR_ERR_SCHEMA, c->name, n->ref_line, n->ref_col, n->ref_path, fmt, arg);
}

/* Edges that apply another schema to the same value. */
static int find_cycle(comp_t *c, node_t *n)
{
    if (n->mark == 1)
        return 1;
    if (n->mark == 2)
        return 0;
    n->mark = 1;
    node_t *next[1];
    if (n->ref_to) {
        next[0] = n->ref_to;
        if (find_cycle(c, next[0])) {
            comp_fail_at_ref(c, n, "reference '%s' makes the schema apply itself to the same value without end", n->ref);
            return 1;
        }
    }
    node_t **lists[3] = {n->all_of, n->any_of, n->one_of};
    size_t counts[3] = {n->n_all, n->n_any, n->n_one};
    for (int l = 0; l < 3; l++)
        for (size_t i = 0; i < counts[l]; i++)
            if (find_cycle(c, lists[l][i]))
                return 1;
    if (n->not_ && find_cycle(c, n->not_))
        return 1;
    n->mark = 2;
    return 0;
}

static int resolve_refs(comp_t *c)
{
    sr_schema_t *s = c->s;
    for (size_t i = 0; i < s->n_nodes; i++) {
        node_t *n = s->nodes[i];
        if (!n->ref)
            continue;
        char *want = percent_decode(n->ref);
        if (!want) {
            comp_fail(c, 0, "out of memory");
            return -1;
        }
        for (size_t j = 0; j < s->n_nodes; j++) {
            if (strcmp(s->nodes[j]->pointer, want) == 0) {
                n->ref_to = s->nodes[j];
                break;
            }
        }
        free(want);
        if (!n->ref_to) {
            comp_fail_at_ref(c, n, "reference '%s' does not point at a schema in this file", n->ref);
            return -1;
        }
    }
    for (size_t i = 0; i < s->n_nodes; i++)
        if (find_cycle(c, s->nodes[i]))
            return -1;
    return 0;
}

static int compile_protected(lua_State *L)
{
    comp_t *c = lua_touserdata(L, 1);
    c->s->root = compile_node(c, 2); /* the schema value, passed as the argument */
    if (c->s->root && !c->failed)
        resolve_refs(c);
    return 0;
}

sr_status_t sr_schema_compile(sr_schema_t **out, lua_State *L, int idx, const char *name,
                              const sr_reader_t *rd, sr_diag_t *d)
{
    *out = NULL;
    idx = lua_absindex(L, idx);
    sr_schema_t *s = calloc(1, sizeof *s);
    comp_t *c = calloc(1, sizeof *c);
    if (!s || !c || !(s->name = sr_strdup(name ? name : "<schema>"))) {
        free(c);
        sr_schema_free(s);
        sr_diag_set(d, SR_ERR_NOMEM, name, 0, 0, NULL, "out of memory");
        return SR_ERR_NOMEM;
    }
    c->s = s;
    c->L = L;
    c->rd = rd;
    c->name = s->name;
    c->d = d;
    int top = lua_gettop(L);
    if (!lua_checkstack(L, 4)) {
        free(c);
        sr_schema_free(s);
        sr_diag_set(d, SR_ERR_NOMEM, name, 0, 0, NULL, "out of memory (Lua stack)");
        return SR_ERR_NOMEM;
    }
    lua_pushcfunction(L, compile_protected);
    lua_pushlightuserdata(L, c);
    lua_pushvalue(L, idx);
    int rc = lua_pcall(L, 2, 0, 0);
    sr_status_t st = SR_OK;
    if (rc != LUA_OK) {
        const char *m = lua_tostring(L, -1);
        sr_diag_set(d, SR_ERR_NOMEM, s->name, 0, 0, NULL, "%s", m ? m : "out of memory");
        st = SR_ERR_NOMEM;
    } else if (c->failed || !s->root) {
        st = d ? d->status : SR_ERR_SCHEMA;
        if (st == SR_OK)
            st = SR_ERR_SCHEMA;
    }
    lua_settop(L, top);
    free(c);
    if (st != SR_OK) {
        sr_schema_free(s);
        return st;
    }
    *out = s;
    return SR_OK;
}

/* Registry field: path -> document read by sr_schema_load, while kept. */
#define REG_KEPT_DOCS "sr.schema.kept_docs"

void sr_schema_keep_docs(lua_State *L, int on)
{
    if (on)
        lua_newtable(L);
    else
        lua_pushnil(L);
    lua_setfield(L, LUA_REGISTRYINDEX, REG_KEPT_DOCS);
}

int sr_schema_kept_doc(lua_State *L, const char *path)
{
    if (lua_getfield(L, LUA_REGISTRYINDEX, REG_KEPT_DOCS) != LUA_TTABLE) {
        lua_pop(L, 1);
        return 0;
    }
    if (lua_getfield(L, -1, path) != LUA_TTABLE) {
        lua_pop(L, 2);
        return 0;
    }
    lua_remove(L, -2); /* the kept documents */
    return 1;
}

sr_status_t sr_schema_load(sr_schema_t **out, lua_State *L, const char *path, sr_diag_t *d)
{
    *out = NULL;
    sr_reader_t *rd = NULL;
    sr_status_t st = sr_reader_open(&rd, path, SR_IN_YAML, NULL, d);
    if (st != SR_OK)
        return st;
    int top = lua_gettop(L);
    st = sr_reader_next(rd, L, d);
    if (st == SR_DONE) {
        st = SR_ERR_SCHEMA;
        sr_diag_set(d, st, path, 1, 1, NULL, "the schema file is empty");
    }
    if (st == SR_OK) {
        st = sr_schema_compile(out, L, -1, path, rd, d);
        if (st == SR_OK && lua_getfield(L, LUA_REGISTRYINDEX, REG_KEPT_DOCS) == LUA_TTABLE) {
            lua_pushvalue(L, top + 1); /* the document */
            lua_setfield(L, -2, path);
        }
        lua_settop(L, top);
    }
    if (st == SR_OK) {
        sr_diag_t extra;
        sr_diag_init(&extra);
        sr_status_t more = sr_reader_next(rd, L, &extra);
        if (more != SR_DONE) {
            st = SR_ERR_SCHEMA;
            sr_diag_set(d, st, path, sr_reader_doc_line(rd), 1, NULL,
                        "a schema file holds one document; this is a second one");
            sr_schema_free(*out);
            *out = NULL;
        }
        sr_diag_free(&extra);
        lua_settop(L, top);
    }
    sr_reader_close(rd);
    return st;
}

/* ------------------------------------------------------------------ */
/* Validating                                                           */

enum { M_COLLECT, M_COUNT, M_FIRST };

typedef struct {
    lua_State *L;
    const sr_reader_t *rd;
    sr_verrors_t *e;
    int mode;
    int stop;      /* COUNT/FIRST: an error was found, unwind */
    size_t count;  /* errors found */
    size_t base;   /* FIRST: segments above the alternative being tried */
    int depth;
    int oom;
    int array_mt;  /* stack index of the array metatable (lvalue.h) */
    int partial;   /* a table or a null was left unvisited (no_nulls) */
    int nulls;     /* a null was met */
} vctx_t;

static void validate(vctx_t *c, const node_t *n, int idx);

/* The value at idx is not looked into: if it may hold or be a null, the
 * validation can no longer say there is none. */
static void unvisited(vctx_t *c, int idx)
{
    int t = lua_type(c->L, idx);
    if (t == LUA_TTABLE || t == LUA_TLIGHTUSERDATA || t == LUA_TNIL)
        c->partial = 1;
}

/* value_kind, telling a marked array from a mapping with the array
 * metatable held on the stack rather than fetched for every table. Needs
 * one free stack slot. */
static unsigned kind_of(const vctx_t *c, int idx)
{
    lua_State *L = c->L;
    switch (lua_type(L, idx)) {
    case LUA_TTABLE: break;
    case LUA_TSTRING: return K_STR;
    case LUA_TBOOLEAN: return K_BOOL;
    default: return value_kind(L, idx);
    }
    if (lua_getmetatable(L, idx)) {
        int same = lua_rawequal(L, -1, c->array_mt);
        lua_pop(L, 1); /* the metatable */
        if (same)
            return K_ARR;
    } else if (lua_rawlen(L, idx) == 0) {
        return K_OBJ; /* neither marked nor a non-empty sequence */
    }
    return sr_lv_isarray(L, idx) ? K_ARR : K_OBJ;
}

static int grow_segs(vctx_t *c);

static inline int push_seg(vctx_t *c, const char *key, size_t len, long long index)
{
    sr_verrors_t *e = c->e;
    if (e->nsegs == e->segs_cap && grow_segs(c) != 0)
        return -1;
    e->segs[e->nsegs].key = key;
    e->segs[e->nsegs].key_len = len;
    e->segs[e->nsegs].index = index;
    e->nsegs++;
    return 0;
}

static int grow_segs(vctx_t *c)
{
    sr_verrors_t *e = c->e;
    size_t cap = e->segs_cap ? 2 * e->segs_cap : 32;
    sr_pathseg_t *p = realloc(e->segs, cap * sizeof *p);
    if (!p) {
        c->oom = 1;
        c->stop = 1;
        return -1;
    }
    e->segs = p;
    e->segs_cap = cap;
    return 0;
}

/* Counts an error; returns 1 when no message is wanted (COUNT mode).
 * Otherwise the caller builds the message in c->e->msg and calls emit(). */
static int quiet(vctx_t *c)
{
    c->count++;
    if (c->mode == M_COUNT) {
        c->stop = 1;
        return 1;
    }
    sr_buf_reset(&c->e->msg);
    return 0;
}

static void emit(vctx_t *c, int want_key)
{
    sr_verrors_t *e = c->e;
    if (e->msg.failed) {
        c->oom = 1;
        c->stop = 1;
        return;
    }
    const char *m = e->msg.data ? e->msg.data : "";
    if (c->mode == M_FIRST) {
        sr_buf_reset(&e->first);
        if (e->nsegs > c->base) {
            put_path(&e->first, e->segs + c->base, e->nsegs - c->base);
            sr_buf_puts(&e->first, ": ");
        }
        sr_buf_puts(&e->first, m);
        c->stop = 1;
        return;
    }
    char *copy = sr_strdup(m);
    if (add_error(e, c->rd, e->segs, e->nsegs, want_key, copy) != 0) {
        c->oom = 1;
        c->stop = 1;
    }
}

static void put_types(sr_buf_t *b, unsigned types)
{
    static const struct {
        unsigned bits;
        const char *name;
    } names[] = {
        {K_INT | K_NUM, "number"}, {K_INT, "integer"}, {K_STR, "string"}, {K_BOOL, "boolean"},
        {K_ARR, "list"},          {K_OBJ, "mapping"},  {K_NULL, "null"},
    };
    const char *parts[8];
    size_t np = 0;
    unsigned left = types;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if ((left & names[i].bits) == names[i].bits) {
            parts[np++] = names[i].name;
            left &= ~names[i].bits;
        }
    }
    for (size_t i = 0; i < np; i++) {
        sr_buf_puts(b, i == 0 ? "" : i + 1 == np ? " or " : ", ");
        sr_buf_puts(b, parts[i]);
    }
}

/* "one of a, b, c or null" / "'lung' or null" / "'lung'" */
static void put_enum(sr_buf_t *b, const node_t *n)
{
    size_t nonnull = 0, has_null = 0;
    for (size_t i = 0; i < n->n_enum; i++) {
        if (n->enums[i].type == JV_NULL)
            has_null = 1;
        else
            nonnull++;
    }
    if (nonnull == 0) {
        sr_buf_puts(b, n->n_enum ? "null" : "nothing (the list of values is empty)");
        return;
    }
    if (nonnull == 1) {
        for (size_t i = 0; i < n->n_enum; i++)
            if (n->enums[i].type != JV_NULL)
                put_jv(b, &n->enums[i], 0);
        if (has_null)
            sr_buf_puts(b, " or null");
        return;
    }
    sr_buf_puts(b, "one of ");
    size_t shown = 0;
    for (size_t i = 0; i < n->n_enum; i++) {
        if (n->enums[i].type == JV_NULL)
            continue;
        if (shown)
            sr_buf_puts(b, shown + 1 == nonnull && !has_null ? " or " : ", ");
        if (shown == 40 && nonnull > 41) {
            sr_buf_printf(b, "... (%zu values)", nonnull);
            break;
        }
        put_jv(b, &n->enums[i], 1);
        shown++;
    }
    if (has_null)
        sr_buf_puts(b, " or null");
}

/* Is the string s one of the enum's string values? */
static int in_enum(const node_t *n, const char *s, size_t len)
{
    const nameidx_t *x = &n->enum_idx;
    if (!x->slots)
        return 0;
    uint32_t h = name_hash(s, len);
    for (uint32_t i = h & x->mask; x->slots[i].at; i = (i + 1) & x->mask) {
        const jv_t *v = &n->enums[x->slots[i].at - 1];
        if (x->slots[i].hash == h && v->len == len && same_bytes(v->s, s, len))
            return 1;
    }
    return 0;
}

/* enum on the value at idx, of kind k. */
static void check_enum(vctx_t *c, const node_t *n, int idx, unsigned k)
{
    lua_State *L = c->L;
    if (k == K_STR) {
        size_t len;
        const char *s = lua_tolstring(L, idx, &len);
        if (in_enum(n, s, len))
            return;
    } else {
        for (size_t i = 0; i < n->n_enum; i++)
            if (jv_equal_kind(&n->enums[i], L, idx, k, 0))
                return;
    }
    if (quiet(c))
        return;
    sr_buf_t *b = &c->e->msg;
    sr_buf_puts(b, "expected ");
    put_enum(b, n);
    sr_buf_puts(b, ", found ");
    put_found(b, L, idx);
    if (lua_type(L, idx) == LUA_TSTRING) {
        word_t cand[64] = {{NULL, 0}};
        size_t nc = 0;
        for (size_t i = 0; i < n->n_enum && nc < 64; i++) {
            if (n->enums[i].type == JV_STR) {
                cand[nc].s = n->enums[i].s;
                cand[nc].n = n->enums[i].len;
                nc++;
            }
        }
        size_t len;
        const char *s = lua_tolstring(L, idx, &len);
        put_suggestion(b, s, len, cand, nc);
    }
    emit(c, 0);
}

static void fail_bound(vctx_t *c, int idx, const char *what, const num_t *limit)
{
    if (quiet(c))
        return;
    sr_buf_t *b = &c->e->msg;
    sr_buf_printf(b, "expected %s ", what);
    put_num(b, limit);
    num_t v = num_from(c->L, idx);
    sr_buf_puts(b, ", found ");
    put_num(b, &v);
    emit(c, 0);
}

static void check_number(vctx_t *c, const node_t *n, int idx)
{
    num_t v = num_from(c->L, idx);
    int r;
    if ((n->nflags & HAS_MIN) && ((r = num_cmp(&v, &n->min)) < 0 || r == 2))
        fail_bound(c, idx, "at least", &n->min);
    if (c->stop)
        return;
    if ((n->nflags & HAS_MAX) && ((r = num_cmp(&v, &n->max)) > 0))
        fail_bound(c, idx, "at most", &n->max);
    if (c->stop)
        return;
    if ((n->nflags & HAS_XMIN) && ((r = num_cmp(&v, &n->xmin)) <= 0 || r == 2))
        fail_bound(c, idx, "more than", &n->xmin);
    if (c->stop)
        return;
    if ((n->nflags & HAS_XMAX) && ((r = num_cmp(&v, &n->xmax)) >= 0))
        fail_bound(c, idx, "less than", &n->xmax);
    if (c->stop)
        return;
    if ((n->nflags & HAS_MULT) && !is_multiple(&v, &n->mult))
        fail_bound(c, idx, "a multiple of", &n->mult);
}

static size_t utf8_length(const char *s, size_t n)
{
    size_t count = 0;
    for (size_t i = 0; i < n; i++)
        if (((unsigned char)s[i] & 0xC0) != 0x80)
            count++;
    return count;
}

static void check_string(vctx_t *c, const node_t *n, int idx)
{
    size_t len;
    const char *s = lua_tolstring(c->L, idx, &len);
    if (n->min_len >= 0 || n->max_len >= 0) {
        size_t chars = utf8_length(s, len);
        if (n->min_len >= 0 && chars < (size_t)n->min_len && !quiet(c)) {
            sr_buf_printf(&c->e->msg, "expected at least %lld character%s, found %zu", n->min_len,
                          n->min_len == 1 ? "" : "s", chars);
            emit(c, 0);
        }
        if (c->stop)
            return;
        if (n->max_len >= 0 && chars > (size_t)n->max_len && !quiet(c)) {
            sr_buf_printf(&c->e->msg, "expected at most %lld character%s, found %zu", n->max_len,
                          n->max_len == 1 ? "" : "s", chars);
            emit(c, 0);
        }
        if (c->stop)
            return;
    }
    if (n->has_re && regexec(&n->re, s, 0, NULL, 0) != 0 && !quiet(c)) {
        sr_buf_puts(&c->e->msg, "expected a string matching the pattern ");
        put_quoted(&c->e->msg, n->pattern, strlen(n->pattern));
        sr_buf_puts(&c->e->msg, ", found ");
        put_quoted(&c->e->msg, s, len);
        emit(c, 0);
    }
}

static void fail_duplicate(vctx_t *c, int item, size_t i, size_t first)
{
    if (push_seg(c, NULL, 0, (long long)i) != 0)
        return;
    if (!quiet(c)) {
        sr_buf_puts(&c->e->msg, "expected unique items, found ");
        put_found(&c->e->msg, c->L, item);
        sr_buf_printf(&c->e->msg, " again (first at index %zu)", first);
        emit(c, 0);
    }
    c->e->nsegs--;
}

/* uniqueItems: pairwise for short arrays, by hash for long ones. */
static void check_unique(vctx_t *c, int idx, size_t n)
{
    lua_State *L = c->L;
    if (n < 2 || !lua_checkstack(L, 4))
        return;
    if (n <= PAIRWISE_UNIQUE) {
        for (size_t i = 1; i < n && !c->stop; i++) {
            lua_rawgeti(L, idx, (lua_Integer)i + 1);
            for (size_t j = 0; j < i; j++) {
                lua_rawgeti(L, idx, (lua_Integer)j + 1);
                int eq = lua_equal(L, lua_gettop(L) - 1, lua_gettop(L), 0);
                lua_pop(L, 1);
                if (eq) {
                    fail_duplicate(c, lua_gettop(L), i, j);
                    break;
                }
            }
            lua_pop(L, 1);
        }
        return;
    }
    size_t cap = 1;
    while (cap < 2 * n)
        cap *= 2;
    size_t *slots = malloc(cap * sizeof *slots); /* 1-based item numbers; 0 = empty */
    if (!slots) {
        c->oom = 1;
        c->stop = 1;
        return;
    }
    memset(slots, 0, cap * sizeof *slots);
    for (size_t i = 1; i <= n && !c->stop; i++) {
        lua_rawgeti(L, idx, (lua_Integer)i);
        int item = lua_gettop(L);
        size_t h = (size_t)lua_hash(L, item, 0) & (cap - 1);
        for (;;) {
            if (slots[h] == 0) {
                slots[h] = i;
                break;
            }
            lua_rawgeti(L, idx, (lua_Integer)slots[h]);
            int eq = lua_equal(L, item, lua_gettop(L), 0);
            lua_pop(L, 1);
            if (eq) {
                fail_duplicate(c, item, i - 1, slots[h] - 1);
                break;
            }
            h = (h + 1) & (cap - 1);
        }
        lua_pop(L, 1);
    }
    free(slots);
}

static void check_array(vctx_t *c, const node_t *n, int idx)
{
    lua_State *L = c->L;
    size_t len = (size_t)lua_rawlen(L, idx);
    if (n->min_items >= 0 && len < (size_t)n->min_items && !quiet(c)) {
        sr_buf_printf(&c->e->msg, "expected at least %lld item%s, found %zu", n->min_items,
                      n->min_items == 1 ? "" : "s", len);
        emit(c, 0);
    }
    if (c->stop)
        return;
    if (n->max_items >= 0 && len > (size_t)n->max_items && !quiet(c)) {
        sr_buf_printf(&c->e->msg, "expected at most %lld item%s, found %zu", n->max_items,
                      n->max_items == 1 ? "" : "s", len);
        emit(c, 0);
    }
    if (c->stop)
        return;
    if (n->items) {
        for (size_t i = 0; i < len && !c->stop; i++) {
            lua_rawgeti(L, idx, (lua_Integer)i + 1);
            if (push_seg(c, NULL, 0, (long long)i) == 0) {
                validate(c, n->items, lua_gettop(L));
                c->e->nsegs--;
            }
            lua_pop(L, 1);
        }
    } else if (len) {
        c->partial = 1;
    }
    if (c->stop)
        return;
    if (n->unique)
        check_unique(c, idx, len);
}

static inline const prop_t *find_prop(const node_t *n, const char *k, size_t kn)
{
    const nameidx_t *x = &n->prop_idx;
    if (!x->slots)
        return NULL;
    uint32_t h = name_hash(k, kn);
    for (uint32_t i = h & x->mask; x->slots[i].at; i = (i + 1) & x->mask) {
        const prop_t *p = &n->props[x->slots[i].at - 1];
        if (x->slots[i].hash == h && p->len == kn && same_bytes(p->name, k, kn))
            return p;
    }
    return NULL;
}

/* The schema a property applies, following a bare $ref. */
static const node_t *resolved(const node_t *n)
{
    for (int i = 0; n && n->ref_to && i < 8; i++)
        n = n->ref_to;
    return n;
}

/* A field put one level too high ("karnofsky" at the top of a case):
 * suggests "patient.karnofsky" when a mapping below holds that name. */
static int suggest_deeper(sr_buf_t *b, const node_t *n, const char *k, size_t kn)
{
    for (size_t i = 0; i < n->n_props; i++) {
        const prop_t *p = n->by_order[i];
        const node_t *sub = resolved(p->schema);
        if (!sub || !sub->n_props)
            continue;
        const prop_t *q = find_prop(sub, k, kn);
        if (q && q->schema) {
            sr_buf_puts(b, " (did you mean ");
            sr_buf_puts(b, "'");
            put_escaped(b, p->name, p->len, SHOW_STRING);
            sr_buf_puts(b, ".");
            put_escaped(b, q->name, q->len, SHOW_STRING);
            sr_buf_puts(b, "'?)");
            return 1;
        }
    }
    return 0;
}

static void fail_unknown(vctx_t *c, const node_t *n, const char *k, size_t kn)
{
    if (quiet(c))
        return;
    sr_buf_t *b = &c->e->msg;
    sr_buf_puts(b, "unknown field ");
    put_quoted(b, k, kn);
    word_t cand[MAX_CANDIDATES] = {{NULL, 0}};
    size_t nc = 0;
    for (size_t i = 0; i < n->n_props && nc < MAX_CANDIDATES; i++) {
        const prop_t *p = n->by_order[i];
        if (p->schema) {
            cand[nc].s = p->name;
            cand[nc].n = p->len;
            nc++;
        }
    }
    if (!put_suggestion(b, k, kn, cand, nc) && !suggest_deeper(b, n, k, kn)) {
        if (nc == 0) {
            sr_buf_puts(b, " (no fields are allowed here)");
        } else {
            sr_buf_puts(b, "; allowed fields: ");
            for (size_t i = 0; i < nc; i++) {
                if (i)
                    sr_buf_puts(b, ", ");
                put_escaped(b, cand[i].s, cand[i].n, SHOW_STRING);
            }
        }
    }
    emit(c, 1);
}

static void check_object(vctx_t *c, const node_t *n, int idx)
{
    lua_State *L = c->L;
    sr_verrors_t *e = c->e;
    size_t base = e->seen_len;
    size_t nseen = n->n_required ? n->n_props : 0; /* which fields are present, for required */
    if (nseen) {
        if (e->seen_len + nseen > e->seen_cap) {
            size_t cap = e->seen_cap ? e->seen_cap : 64;
            while (cap < e->seen_len + nseen)
                cap *= 2;
            unsigned char *p = realloc(e->seen, cap);
            if (!p) {
                c->oom = 1;
                c->stop = 1;
                return;
            }
            e->seen = p;
            e->seen_cap = cap;
        }
        memset(e->seen + base, 0, nseen);
        e->seen_len += nseen;
    }
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        int v = lua_gettop(L);
        if (lua_type(L, v - 1) != LUA_TSTRING) {
            /* only a table built by Lua code can have one */
            c->partial = 1;
            if (push_seg(c, "?", 1, 0) == 0) {
                if (!quiet(c)) {
                    sr_buf_printf(&e->msg, "a mapping key must be a string, found a %s",
                                  luaL_typename(L, v - 1));
                    emit(c, 1);
                }
                e->nsegs--;
            }
        } else {
            size_t kn;
            const char *k = lua_tolstring(L, v - 1, &kn);
            const prop_t *p = n->n_props ? find_prop(n, k, kn) : NULL;
            if (push_seg(c, k, kn, 0) == 0) {
                if (p && nseen)
                    e->seen[base + (size_t)(p - n->props)] = 1;
                if (p && p->schema)
                    validate(c, p->schema, v);
                else if (n->additional && n->additional->boolean == 0)
                    fail_unknown(c, n, k, kn), unvisited(c, v);
                else if (n->additional)
                    validate(c, n->additional, v);
                else
                    unvisited(c, v);
                e->nsegs--;
            }
        }
        lua_pop(L, 1);
        if (c->stop) {
            lua_pop(L, 1); /* the key */
            break;
        }
    }
    for (size_t i = 0; i < n->n_required && !c->stop; i++) {
        const prop_t *p = n->required[i];
        if (e->seen[base + (size_t)(p - n->props)])
            continue;
        if (push_seg(c, p->name, p->len, 0) != 0)
            break;
        if (!quiet(c)) {
            sr_buf_puts(&e->msg, "missing required field ");
            put_quoted(&e->msg, p->name, p->len);
            emit(c, 0);
        }
        e->nsegs--;
    }
    e->seen_len = base;
}

/* Tries n on the value without reporting: 1 when it matches. */
static int probe(vctx_t *c, const node_t *n, int idx)
{
    int mode = c->mode, stop = c->stop;
    size_t count = c->count, nsegs = c->e->nsegs;
    c->mode = M_COUNT;
    c->stop = 0;
    validate(c, n, idx);
    int ok = c->count == count && !c->oom;
    c->mode = mode;
    c->stop = stop || c->oom;
    c->count = count;
    c->e->nsegs = nsegs;
    return ok;
}

/* The first error of n on the value, appended to b as "(k) message". */
static void first_error(vctx_t *c, const node_t *n, int idx, sr_buf_t *b, size_t k)
{
    int mode = c->mode, stop = c->stop;
    size_t count = c->count, nsegs = c->e->nsegs, base = c->base;
    c->mode = M_FIRST;
    c->stop = 0;
    c->base = nsegs;
    sr_buf_reset(&c->e->first);
    validate(c, n, idx);
    sr_buf_printf(b, "%s(%zu) %s", k > 1 ? "; " : "", k, c->e->first.data ? c->e->first.data : "");
    c->mode = mode;
    c->stop = stop || c->oom;
    c->count = count;
    c->base = base;
    c->e->nsegs = nsegs;
}

static void check_alternatives(vctx_t *c, node_t *const *alts, size_t n, int idx, int exactly_one)
{
    size_t matched = 0;
    size_t which[2] = {0, 0};
    for (size_t i = 0; i < n; i++) {
        if (probe(c, alts[i], idx)) {
            if (matched < 2)
                which[matched] = i + 1;
            matched++;
            if (!exactly_one || matched > 1)
                break;
        }
    }
    if (c->stop)
        return;
    if (matched == 1 || (matched > 1 && !exactly_one))
        return;
    if (quiet(c))
        return;
    sr_buf_t comp;
    sr_buf_init(&comp);
    sr_buf_printf(&comp, "expected a value matching %s of %zu alternatives, found ",
                  exactly_one ? "exactly one" : "at least one", n);
    put_found(&comp, c->L, idx);
    if (matched > 1) {
        sr_buf_printf(&comp, " matching %zu and %zu", which[0], which[1]);
    } else {
        sr_buf_puts(&comp, ": ");
        for (size_t i = 0; i < n && !c->oom; i++)
            first_error(c, alts[i], idx, &comp, i + 1);
    }
    sr_buf_reset(&c->e->msg);
    sr_buf_puts(&c->e->msg, comp.data ? comp.data : "");
    if (comp.failed)
        c->e->msg.failed = 1;
    sr_buf_free(&comp);
    emit(c, 0);
}

static void validate(vctx_t *c, const node_t *n, int idx)
{
    lua_State *L = c->L;
    if (c->stop)
        return;
    if (n->boolean >= 0)
        unvisited(c, idx);
    if (n->boolean == 1)
        return;
    if (n->boolean == 0) {
        if (!quiet(c)) {
            sr_buf_puts(&c->e->msg, "no value is allowed here, found ");
            put_found(&c->e->msg, L, idx);
            emit(c, 0);
        }
        return;
    }
    if (++c->depth > MAX_VALIDATE_DEPTH || !lua_checkstack(L, 8)) {
        unvisited(c, idx);
        if (!quiet(c)) {
            sr_buf_puts(&c->e->msg, "value nested too deeply to validate");
            emit(c, 0);
        }
        c->depth--;
        return;
    }
    unsigned k = kind_of(c, idx);
    size_t before = c->count;
    if (k == K_NULL)
        c->nulls = 1;
    /* A failed enum or const says everything about the value: report it
     * alone rather than also its type. */
    if (n->has_enum)
        check_enum(c, n, idx, k);
    if (n->has_const && !c->stop && !jv_equal_kind(&n->cnst, L, idx, k, 0) && !quiet(c)) {
        sr_buf_puts(&c->e->msg, "expected ");
        put_jv(&c->e->msg, &n->cnst, 0);
        sr_buf_puts(&c->e->msg, ", found ");
        put_found(&c->e->msg, L, idx);
        emit(c, 0);
    }
    if (c->count == before && n->types && !(k & n->types)) {
        if (!quiet(c)) {
            sr_buf_puts(&c->e->msg, "expected ");
            put_types(&c->e->msg, n->types);
            sr_buf_puts(&c->e->msg, ", found ");
            put_found(&c->e->msg, L, idx);
            emit(c, 0);
        }
        unvisited(c, idx);
        c->depth--;
        return; /* the keywords below are about the expected type */
    }
    if (c->count != before) {
        unvisited(c, idx);
        c->depth--;
        return;
    }
    if ((k & (K_INT | K_NUM | K_NONFINITE)) && n->nflags)
        check_number(c, n, idx);
    else if (k == K_STR && (n->min_len >= 0 || n->max_len >= 0 || n->has_re))
        check_string(c, n, idx);
    else if (k == K_ARR)
        check_array(c, n, idx);
    else if (k == K_OBJ && n->is_object)
        check_object(c, n, idx);
    else if (k == K_OBJ)
        c->partial = 1;
    if (!n->applies_more) {
        c->depth--;
        return;
    }
    for (size_t i = 0; i < n->n_all && !c->stop; i++)
        validate(c, n->all_of[i], idx);
    if (n->n_any && !c->stop)
        check_alternatives(c, n->any_of, n->n_any, idx, 0);
    if (n->n_one && !c->stop)
        check_alternatives(c, n->one_of, n->n_one, idx, 1);
    if (n->not_ && !c->stop && probe(c, n->not_, idx) && !c->stop && !quiet(c)) {
        sr_buf_printf(&c->e->msg, "expected a value not matching the schema at '%s', found ", n->not_->pointer);
        put_found(&c->e->msg, L, idx);
        emit(c, 0);
    }
    if (n->ref_to && !c->stop)
        validate(c, n->ref_to, idx);
    c->depth--;
}

typedef struct {
    vctx_t *c;
    const node_t *root;
} vcall_t;

static int validate_protected(lua_State *L)
{
    vcall_t *v = lua_touserdata(L, 1);
    sr_lv_push_array_mt(L);
    v->c->array_mt = lua_gettop(L);
    validate(v->c, v->root, 2); /* the value, passed as the argument */
    return 0;
}

/* Runs the validation in protected mode; returns 0, or -1 on a Lua error. */
static int run(vctx_t *c, const sr_schema_t *s, int idx)
{
    lua_State *L = c->L;
    int top = lua_gettop(L);
    if (!lua_checkstack(L, 8))
        return -1;
    vcall_t v = {c, s->root};
    idx = lua_absindex(L, idx);
    lua_pushcfunction(L, validate_protected);
    lua_pushlightuserdata(L, &v);
    lua_pushvalue(L, idx);
    int rc = lua_pcall(L, 2, 0, 0);
    lua_settop(L, top);
    return rc == LUA_OK ? 0 : -1;
}

sr_status_t sr_schema_validate_at(const sr_schema_t *s, lua_State *L, int idx, const sr_reader_t *rd,
                                  const sr_pathseg_t *prefix, size_t nprefix, sr_verrors_t *errs)
{
    vctx_t c;
    memset(&c, 0, sizeof c);
    c.L = L;
    c.rd = rd;
    c.e = errs;
    c.mode = M_COLLECT;
    size_t before = sr_verrors_count(errs);
    errs->nsegs = 0;
    errs->seen_len = 0;
    int rc = 0;
    for (size_t i = 0; i < nprefix && rc == 0; i++)
        rc = push_seg(&c, prefix[i].key, prefix[i].key_len, prefix[i].index);
    if (rc == 0)
        rc = run(&c, s, idx);
    errs->nsegs = 0;
    errs->no_nulls = rc == 0 && !c.oom && !c.stop && !c.partial && !c.nulls;
    if (rc != 0 || c.oom) {
        add_error(errs, NULL, NULL, 0, 0, sr_strdup("out of memory while validating"));
        sr_verrors_sort(errs);
        return SR_ERR_NOMEM;
    }
    sr_verrors_sort(errs);
    return sr_verrors_count(errs) == before ? SR_OK : SR_ERR_SCHEMA;
}

sr_status_t sr_schema_validate(const sr_schema_t *s, lua_State *L, int idx, const sr_reader_t *rd,
                               sr_verrors_t *errs)
{
    return sr_schema_validate_at(s, L, idx, rd, NULL, 0, errs);
}

int sr_schema_check(const sr_schema_t *s, lua_State *L, int idx)
{
    sr_verrors_t e;
    sr_verrors_init(&e);
    vctx_t c;
    memset(&c, 0, sizeof c);
    c.L = L;
    c.e = &e;
    c.mode = M_COUNT;
    int rc = run(&c, s, idx);
    int result = (rc != 0 || c.oom) ? -1 : c.count == 0;
    sr_verrors_free(&e);
    return result;
}
