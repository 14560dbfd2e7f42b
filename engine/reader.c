/* reader.c -- YAML streams (libyaml events) and JSON Lines (yajl callbacks)
 * into Lua values, one document at a time, with positions and limits. */
#include "reader.h"

#include <errno.h>
#include <limits.h>
#include <lauxlib.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_parse.h>
#include <yaml.h>

#include "lvalue.h"
#include "util.h"

#define NO_KEY ((size_t)-1)
#define CHUNK 65536

/* One node of the current document, for positions only. */
typedef struct {
    int parent;              /* node index of the container, -1 for the root */
    int line, col;           /* where the value starts, 1-based */
    int kline, kcol;         /* where its key starts (mapping entries) */
    size_t key_off, key_len; /* key text in r->keys, or NO_KEY for sequence items */
    long long index;         /* 0-based index for sequence items */
} node_t;

/* One open mapping or sequence. */
typedef struct {
    int is_map;
    int node;
    long long count;         /* entries so far */
    int have_key;            /* mapping: a key is on the Lua stack */
    int kline, kcol;
    size_t key_off, key_len;
    int shape;               /* its shape (see below), or -1 */
    int kidx;                /* mapping: the pending key's index in the shape, or -1 */
    int cursor;              /* mapping: index in the shape of the key expected next */
    uint64_t seen;           /* mapping: bit k set when key k of the shape is present */
} frame_t;

/* Shapes: what the documents read before on the same Lua state looked like.
 * Documents tend to look alike (every case has the same keys in the same
 * order), so per place in a document -- a shape: the root, the value under
 * one key of a shape, the items of a sequence of a shape -- the reader
 * remembers the keys seen there, in the order last seen, each with its Lua
 * string kept in a table, and how many entries the mapping or sequence had.
 * A key that matches one remembered is pushed from that table instead of
 * being hashed and interned again, a duplicate key is told by a bit of the
 * frame instead of a table look-up, and a table is created with room for
 * the most entries read there lately. What is remembered only changes how
 * fast a document is read, never what it reads as. It grows to fixed
 * bounds (then keys are read as before) and lives as long as the Lua state,
 * shared by every reader on it: a userdata in the registry. */
#define SHAPES_MAX 512           /* shapes per Lua state */
#define SHAPE_MAX_KEYS 64        /* keys per shape: one bit each in frame_t.seen */
#define SHAPE_MAX_KEY_LEN 64     /* longer keys are not remembered */
#define SHAPES_MAX_STRINGS 4096  /* key strings kept per Lua state */
#define SHAPE_MAX_HINT 256       /* a table is never created with room for more */

typedef struct {
    char *text;              /* malloc'd */
    size_t len;
    int slot;                /* index of its Lua string in the strings table */
    int child;               /* shape of the value under this key, or -1 */
} shape_key_t;

typedef struct {
    shape_key_t *keys;       /* mapping keys, malloc'd */
    int nkeys, keys_cap;
    int item;                /* shape of the items of a sequence, or -1 */
    int hint;                /* most entries the tables read here lately had */
} shape_t;

typedef struct {
    shape_t *shapes;         /* malloc'd */
    int nshapes, cap;
    int nstrings;            /* key strings in the strings table (1..n) */
} shapes_t;

/* While a document is built (inside next_protected), the strings table and
 * the array metatable sit at the bottom of the Lua stack. */
#define KEYS_IDX 1
#define ARRAY_MT_IDX 2

struct sr_reader {
    char *name;
    sr_input_format_t fmt;
    sr_reader_limits_t lim;

    /* input window: bytes [buf_start, buf_start + buf_len) of the stream */
    FILE *f;
    int own_f;
    const char *mem;
    size_t mem_len, mem_pos;
    char *buf;
    size_t buf_cap, buf_len, buf_start;
    long long lines_before_buf; /* newlines before buf_start */
    int eof, io_error;

    /* YAML */
    yaml_parser_t parser;
    int parser_live;
    yaml_event_t event;
    int event_live;
    size_t parser_base;          /* stream offset where the parser started */
    long long parser_line_base;  /* newlines before parser_base */
    size_t feed;                 /* stream offset of the next byte for libyaml */
    size_t doc_start;            /* stream offset of the current document */
    int over_size;
    int stream_done;

    /* JSON Lines */
    yajl_handle yh;
    const char *jline;           /* the line being parsed */
    size_t jline_len;
    int jline_ascii;             /* no byte of the line is over 0x7F */
    size_t jcol_off;             /* a byte offset in jline whose column is known: */
    int jcol_at;                 /* columns are counted on from the last token's */
    long long lineno;
    int json_values;             /* complete top-level values in the line */
    size_t json_end;             /* the byte offset in jline just past its first value */

    /* value building */
    lua_State *L;
    shapes_t *shapes;            /* L's shapes, during sr_reader_next */
    frame_t *frames;
    size_t nframes, frames_cap;
    node_t *nodes;
    size_t nnodes, nodes_cap;
    sr_buf_t keys;
    sr_diag_t *d;
    int failed;                  /* the current document has an error */
    char *doc_id;
    int doc_line;
};

/* ------------------------------------------------------------------ */
/* Scalar resolution                                                    */

static int is_float_text(const char *s, size_t n)
{
    /* [-+]? ( \. [0-9]+ | [0-9]+ ( \. [0-9]* )? ) ( [eE] [-+]? [0-9]+ )? */
    size_t i = 0, digits = 0;
    if (i < n && (s[i] == '-' || s[i] == '+'))
        i++;
    while (i < n && s[i] >= '0' && s[i] <= '9')
        i++, digits++;
    if (i < n && s[i] == '.') {
        i++;
        while (i < n && s[i] >= '0' && s[i] <= '9')
            i++, digits++;
    }
    if (digits == 0)
        return 0;
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < n && (s[i] == '-' || s[i] == '+'))
            i++;
        size_t e = i;
        while (i < n && s[i] >= '0' && s[i] <= '9')
            i++;
        if (i == e)
            return 0;
    }
    return i == n;
}

/* Is s (n bytes) one of the three spellings of a word: all lower case,
 * capitalised, all upper case? lower is the word in lower case. */
static int is_word3(const char *s, size_t n, const char *lower, size_t wn)
{
    if (n != wn)
        return 0;
    if (memcmp(s, lower, n) == 0)
        return 1;
    /* "True": upper first letter, the rest lower */
    size_t skip = lower[0] == '.' ? 1 : 0; /* ".Inf": the letter after the dot */
    if (s[skip] != lower[skip] - 'a' + 'A')
        return 0;
    if (memcmp(s + skip + 1, lower + skip + 1, n - skip - 1) == 0)
        return 1;
    for (size_t i = skip + 1; i < n; i++)
        if (s[i] != lower[i] - 'a' + 'A')
            return 0;
    return 1;
}

/* ".nan": ".nan", ".NaN" or ".NAN" (not ".Nan"). */
static int is_nan_text(const char *s, size_t n)
{
    return n == 4 && (memcmp(s, ".nan", 4) == 0 || memcmp(s, ".NaN", 4) == 0 || memcmp(s, ".NAN", 4) == 0);
}

void sr_resolve_plain(const char *s, size_t n, sr_scalar_t *out)
{
    memset(out, 0, sizeof *out);
    out->kind = SR_SCALAR_STR;
    if (n == 0) {
        out->kind = SR_SCALAR_NULL;
        return;
    }
    /* Words first: only these first letters can start one, and no number
     * starts with a letter. */
    switch (s[0]) {
    case '~':
        if (n == 1)
            out->kind = SR_SCALAR_NULL;
        return;
    case 'n': case 'N':
        if (is_word3(s, n, "null", 4))
            out->kind = SR_SCALAR_NULL;
        return;
    case 't': case 'T':
        if (is_word3(s, n, "true", 4)) {
            out->kind = SR_SCALAR_BOOL;
            out->b = 1;
        }
        return;
    case 'f': case 'F':
        if (is_word3(s, n, "false", 5))
            out->kind = SR_SCALAR_BOOL;
        return;
    case '+': case '-': case '.':
    case '0': case '1': case '2': case '3': case '4':
    case '5': case '6': case '7': case '8': case '9':
        break;
    default:
        return; /* a string */
    }
    if (n > 64)
        return; /* no number is that long: keep the text */
    size_t sign = (s[0] == '-' || s[0] == '+') ? 1 : 0;
    size_t i = sign;
    while (i < n && s[i] >= '0' && s[i] <= '9')
        i++;
    if (i == n && n > sign) { /* [-+]?[0-9]+ */
        if (n - sign > 1 && s[sign] == '0')
            return; /* 010: a string, so that no one reads it as octal or ten */
        /* as strtoll, without a copy: beyond the range of a 64-bit integer
         * it is a float */
        unsigned long long limit = s[0] == '-' ? (unsigned long long)LLONG_MAX + 1 : (unsigned long long)LLONG_MAX;
        unsigned long long v = 0;
        int over = 0;
        for (i = sign; i < n; i++) {
            unsigned d = (unsigned)(s[i] - '0');
            if (v > (limit - d) / 10) {
                over = 1;
                break;
            }
            v = v * 10 + d;
        }
        if (over) {
            char tmp[72];
            memcpy(tmp, s, n);
            tmp[n] = '\0';
            out->kind = SR_SCALAR_FLOAT;
            out->f = strtod(tmp, NULL);
        } else {
            out->kind = SR_SCALAR_INT;
            if (s[0] != '-')
                out->i = (long long)v;
            else if (v == (unsigned long long)LLONG_MAX + 1)
                out->i = LLONG_MIN;
            else
                out->i = -(long long)v;
        }
        return;
    }
    char tmp[72];
    memcpy(tmp, s, n);
    tmp[n] = '\0';
    if (n > 2 && s[0] == '0' && (s[1] == 'o' || s[1] == 'x')) {
        int base = s[1] == 'o' ? 8 : 16;
        char *end;
        errno = 0;
        unsigned long long v = strtoull(tmp + 2, &end, base);
        if (*end == '\0' && errno == 0 && v <= (unsigned long long)INT64_MAX &&
            tmp[2] != '-' && tmp[2] != '+' && tmp[2] != ' ') {
            out->kind = SR_SCALAR_INT;
            out->i = (long long)v;
        }
        return;
    }
    const char *t = s + sign;
    size_t tn = n - sign;
    if (t[0] == '.' && (is_word3(t, tn, ".inf", 4))) {
        out->kind = SR_SCALAR_FLOAT;
        out->f = s[0] == '-' ? -HUGE_VAL : HUGE_VAL;
        return;
    }
    if (is_nan_text(s, n)) {
        out->kind = SR_SCALAR_FLOAT;
        out->f = NAN;
        return;
    }
    if (is_float_text(s, n)) {
        out->kind = SR_SCALAR_FLOAT;
        out->f = strtod(tmp, NULL);
    }
}

/* ------------------------------------------------------------------ */
/* Input window                                                         */

/* Reads more bytes at the end of the window. Returns bytes added, 0 at EOF. */
static size_t input_fill(sr_reader_t *r)
{
    if (r->eof)
        return 0;
    if (r->buf_cap - r->buf_len < CHUNK) {
        size_t cap = r->buf_cap ? r->buf_cap * 2 : 4 * CHUNK;
        char *p = realloc(r->buf, cap);
        if (!p) {
            r->io_error = ENOMEM;
            r->eof = 1;
            return 0;
        }
        r->buf = p;
        r->buf_cap = cap;
    }
    size_t n;
    if (r->f) {
        n = fread(r->buf + r->buf_len, 1, r->buf_cap - r->buf_len, r->f);
        if (n == 0) {
            if (ferror(r->f))
                r->io_error = errno ? errno : EIO;
            r->eof = 1;
        }
    } else {
        n = r->mem_len - r->mem_pos;
        if (n > r->buf_cap - r->buf_len)
            n = r->buf_cap - r->buf_len;
        memcpy(r->buf + r->buf_len, r->mem + r->mem_pos, n);
        r->mem_pos += n;
        if (n == 0)
            r->eof = 1;
    }
    r->buf_len += n;
    return n;
}

/* Byte at stream offset off, or -1 past the end. off >= buf_start. */
static int input_at(sr_reader_t *r, size_t off)
{
    while (off >= r->buf_start + r->buf_len)
        if (input_fill(r) == 0)
            return -1;
    return (unsigned char)r->buf[off - r->buf_start];
}

/* Forgets the bytes before stream offset off, counting their newlines. */
static void input_drop(sr_reader_t *r, size_t off)
{
    if (off <= r->buf_start)
        return;
    size_t n = off - r->buf_start;
    if (n > r->buf_len)
        n = r->buf_len;
    if (n < CHUNK && 2 * n < r->buf_len)
        return; /* a small prefix: dropped later with the next ones, not memmoved per document */
    for (const char *p = r->buf, *end = r->buf + n; (p = memchr(p, '\n', (size_t)(end - p))); p++)
        r->lines_before_buf++;
    memmove(r->buf, r->buf + n, r->buf_len - n);
    r->buf_len -= n;
    r->buf_start += n;
}

/* Newlines before stream offset off (off inside the window). */
static long long input_lines_before(sr_reader_t *r, size_t off)
{
    long long lines = r->lines_before_buf;
    for (size_t i = r->buf_start; i < off && i < r->buf_start + r->buf_len; i++)
        if (r->buf[i - r->buf_start] == '\n')
            lines++;
    return lines;
}

/* 1-based line and column of stream offset off (columns count characters). */
static void input_linecol(sr_reader_t *r, size_t off, int *line, int *col)
{
    if (off < r->buf_start) {
        *line = 0;
        *col = 0;
        return;
    }
    *line = (int)(input_lines_before(r, off) + 1);
    size_t ls = off;
    while (ls > r->buf_start && r->buf[ls - 1 - r->buf_start] != '\n')
        ls--;
    int c = 1;
    for (size_t i = ls; i < off && i < r->buf_start + r->buf_len; i++)
        if ((r->buf[i - r->buf_start] & 0xC0) != 0x80)
            c++;
    *col = c;
}

/* ------------------------------------------------------------------ */
/* Errors and paths                                                     */

static void append_seg(sr_buf_t *b, const node_t *n, const char *keys)
{
    if (n->key_off != NO_KEY) {
        if (b->len)
            sr_buf_puts(b, ".");
        sr_buf_append(b, keys + n->key_off, n->key_len);
    } else {
        sr_buf_printf(b, "[%lld]", n->index);
    }
}

/* Path of node idx, as "spine.lesions[1].pain"; malloc'd. */
static char *node_path(const sr_reader_t *r, int idx)
{
    int chain[256];
    int depth = 0;
    for (int i = idx; i > 0 && depth < 256; i = r->nodes[i].parent)
        chain[depth++] = i;
    sr_buf_t b;
    sr_buf_init(&b);
    sr_buf_puts(&b, "");
    for (int k = depth - 1; k >= 0; k--)
        append_seg(&b, &r->nodes[chain[k]], r->keys.data);
    return b.data;
}

/* Path of the value being built: the innermost frame plus its pending key
 * or next index. */
static char *current_path(const sr_reader_t *r)
{
    if (r->nframes == 0)
        return sr_strdup("");
    const frame_t *fr = &r->frames[r->nframes - 1];
    char *base = node_path(r, fr->node);
    sr_buf_t b;
    sr_buf_init(&b);
    sr_buf_puts(&b, base ? base : "");
    free(base);
    node_t tmp = {0};
    if (fr->is_map && fr->have_key) {
        tmp.key_off = fr->key_off;
        tmp.key_len = fr->key_len;
        append_seg(&b, &tmp, r->keys.data);
    } else if (!fr->is_map) {
        tmp.key_off = NO_KEY;
        tmp.index = fr->count;
        append_seg(&b, &tmp, r->keys.data);
    }
    return b.data;
}

static void fail(sr_reader_t *r, sr_status_t st, int line, int col, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* Records the first error of the current document. */
static void fail(sr_reader_t *r, sr_status_t st, int line, int col, const char *fmt, ...)
{
    if (r->failed)
        return;
    r->failed = 1;
    char *path = current_path(r);
    va_list ap;
    va_start(ap, fmt);
    char *msg = sr_vasprintf(fmt, ap);
    va_end(ap);
    sr_diag_set(r->d, st, r->name, line, col, path, "%s", msg ? msg : "error");
    free(msg);
    free(path);
}

/* ------------------------------------------------------------------ */
/* Shapes                                                               */

static char shapes_regkey; /* its address keys the shapes in the registry */

static int shapes_gc(lua_State *L)
{
    shapes_t *sh = lua_touserdata(L, 1);
    for (int i = 0; i < sh->nshapes; i++) {
        for (int k = 0; k < sh->shapes[i].nkeys; k++)
            free(sh->shapes[i].keys[k].text);
        free(sh->shapes[i].keys);
    }
    free(sh->shapes);
    memset(sh, 0, sizeof *sh);
    return 0;
}

/* Pushes the strings table of L's shapes, creating them on first use, and
 * returns the shapes. [-0, +1, m] */
static shapes_t *shapes_push(lua_State *L)
{
    if (lua_rawgetp(L, LUA_REGISTRYINDEX, &shapes_regkey) != LUA_TUSERDATA) {
        lua_pop(L, 1);
        shapes_t *sh = lua_newuserdatauv(L, sizeof *sh, 1);
        memset(sh, 0, sizeof *sh);
        lua_newtable(L);
        lua_setiuservalue(L, -2, 1);       /* pops the strings table */
        lua_createtable(L, 0, 1);          /* metatable: frees the C side */
        lua_pushcfunction(L, shapes_gc);
        lua_setfield(L, -2, "__gc");
        lua_setmetatable(L, -2);           /* pops the metatable */
        lua_pushvalue(L, -1);
        lua_rawsetp(L, LUA_REGISTRYINDEX, &shapes_regkey); /* pops the copy */
    }
    shapes_t *sh = lua_touserdata(L, -1);
    lua_getiuservalue(L, -1, 1);
    lua_remove(L, -2);                     /* the userdata */
    return sh;
}

/* A new empty shape; its index or -1 when there are too many. */
static int shape_new(shapes_t *sh)
{
    if (sh->nshapes >= SHAPES_MAX)
        return -1;
    if (sh->nshapes == sh->cap) {
        int cap = sh->cap ? sh->cap * 2 : 32;
        shape_t *p = realloc(sh->shapes, (size_t)cap * sizeof *p);
        if (!p)
            return -1;
        sh->shapes = p;
        sh->cap = cap;
    }
    shape_t *sp = &sh->shapes[sh->nshapes];
    memset(sp, 0, sizeof *sp);
    sp->item = -1;
    return sh->nshapes++;
}

/* Shape of a container about to be opened in the innermost frame (or at the
 * root), created when first met; -1 when there is none. */
static int shape_of_child(sr_reader_t *r)
{
    shapes_t *sh = r->shapes;
    if (r->nframes == 0)
        return sh->nshapes ? 0 : shape_new(sh);
    const frame_t *fr = &r->frames[r->nframes - 1];
    if (fr->shape < 0 || (fr->is_map && fr->kidx < 0))
        return -1;
    shape_t *sp = &sh->shapes[fr->shape];
    int id = fr->is_map ? sp->keys[fr->kidx].child : sp->item;
    if (id >= 0)
        return id;
    if ((id = shape_new(sh)) < 0)
        return -1;
    sp = &sh->shapes[fr->shape]; /* shape_new may have moved the shapes */
    if (fr->is_map)
        sp->keys[fr->kidx].child = id;
    else
        sp->item = id;
    return id;
}

/* Index in the innermost frame's shape of key s (n bytes), learnt when new;
 * -1 when it is not and cannot be remembered. Expects the key the shape
 * says comes next, else searches. [-0, +0, m] */
static int shape_key(sr_reader_t *r, frame_t *fr, const char *s, size_t n)
{
    shapes_t *sh = r->shapes;
    shape_t *sp = &sh->shapes[fr->shape];
    int c = fr->cursor;
    if (c < sp->nkeys && sp->keys[c].len == n && memcmp(sp->keys[c].text, s, n) == 0) {
        fr->cursor = c + 1;
        return c;
    }
    for (int k = 0; k < sp->nkeys; k++) {
        if (sp->keys[k].len == n && memcmp(sp->keys[k].text, s, n) == 0) {
            fr->cursor = k + 1;
            return k;
        }
    }
    if (sp->nkeys >= SHAPE_MAX_KEYS || n > SHAPE_MAX_KEY_LEN || sh->nstrings >= SHAPES_MAX_STRINGS)
        return -1;
    if (sp->nkeys == sp->keys_cap) {
        int cap = sp->keys_cap ? sp->keys_cap * 2 : 8;
        shape_key_t *p = realloc(sp->keys, (size_t)cap * sizeof *p);
        if (!p)
            return -1;
        sp->keys = p;
        sp->keys_cap = cap;
    }
    lua_pushlstring(r->L, s, n);
    lua_rawseti(r->L, KEYS_IDX, sh->nstrings + 1); /* pops the string */
    /* no Lua error past this point (so nothing malloc'd above can leak) */
    char *text = malloc(n + 1);
    if (!text)
        return -1;
    memcpy(text, s, n);
    text[n] = '\0';
    shape_key_t *k = &sp->keys[sp->nkeys];
    k->text = text;
    k->len = n;
    k->slot = ++sh->nstrings;
    k->child = -1;
    fr->cursor = sp->nkeys + 1;
    return sp->nkeys++;
}

/* ------------------------------------------------------------------ */
/* Building Lua values                                                  */

static void build_reset(sr_reader_t *r)
{
    r->nframes = 0;
    r->nnodes = 0;
    sr_buf_reset(&r->keys);
    r->failed = 0;
    free(r->doc_id);
    r->doc_id = NULL;
}

/* Adds a node for the value about to be pushed; returns its index or -1. */
static int add_node(sr_reader_t *r, int line, int col)
{
    if (r->nnodes >= r->lim.max_nodes) {
        fail(r, SR_ERR_LIMIT, line, col, "document has more than %zu nodes", r->lim.max_nodes);
        return -1;
    }
    if (r->nnodes == r->nodes_cap) {
        size_t cap = r->nodes_cap ? r->nodes_cap * 2 : 256;
        node_t *p = realloc(r->nodes, cap * sizeof *p);
        if (!p) {
            fail(r, SR_ERR_NOMEM, line, col, "out of memory");
            return -1;
        }
        r->nodes = p;
        r->nodes_cap = cap;
    }
    node_t *n = &r->nodes[r->nnodes];
    memset(n, 0, sizeof *n);
    n->parent = -1;
    n->key_off = NO_KEY;
    n->line = line;
    n->col = col;
    if (r->nframes) {
        frame_t *fr = &r->frames[r->nframes - 1];
        n->parent = fr->node;
        if (fr->is_map) {
            n->key_off = fr->key_off;
            n->key_len = fr->key_len;
            n->kline = fr->kline;
            n->kcol = fr->kcol;
        } else {
            n->index = fr->count;
            n->kline = line;
            n->kcol = col;
        }
    }
    return (int)r->nnodes++;
}

/* Stores the value on top of the Lua stack into the enclosing container. */
static void attach(sr_reader_t *r)
{
    lua_State *L = r->L;
    if (r->nframes == 0)
        return; /* the root value stays on the stack */
    frame_t *fr = &r->frames[r->nframes - 1];
    if (fr->is_map) {
        lua_rawset(L, -3); /* map[key] = value; pops key and value */
        fr->have_key = 0;
        fr->count++;
    } else {
        lua_rawseti(L, -2, ++fr->count); /* pops value */
    }
}

/* Is the next value a mapping key? */
static int want_key(const sr_reader_t *r)
{
    return r->nframes && r->frames[r->nframes - 1].is_map && !r->frames[r->nframes - 1].have_key;
}

static void on_key(sr_reader_t *r, const char *s, size_t n, int line, int col)
{
    lua_State *L = r->L;
    frame_t *fr = &r->frames[r->nframes - 1];
    sr_buf_t *kb = &r->keys;
    size_t off = kb->len;
    if (!kb->failed && kb->cap - kb->len > n + 1) { /* room for the key, its NUL and the buffer's */
        memcpy(kb->data + kb->len, s, n);
        kb->data[kb->len + n] = '\0';
        kb->len += n + 1;
        kb->data[kb->len] = '\0';
    } else if (sr_buf_append(kb, s, n) != 0 || sr_buf_append(kb, "", 1) != 0) {
        fail(r, SR_ERR_NOMEM, line, col, "out of memory");
        return;
    }
    fr->key_off = off;
    fr->key_len = n;
    fr->kline = line;
    fr->kcol = col;
    fr->have_key = 1;
    fr->kidx = fr->shape >= 0 ? shape_key(r, fr, s, n) : -1;
    if (fr->kidx >= 0) {
        uint64_t bit = (uint64_t)1 << fr->kidx;
        lua_rawgeti(L, KEYS_IDX, r->shapes->shapes[fr->shape].keys[fr->kidx].slot); /* key */
        if (fr->seen & bit) {
            fail(r, SR_ERR_YAML, line, col, "duplicate key '%.*s'", (int)(n > 200 ? 200 : n), s);
            return;
        }
        fr->seen |= bit;
        return;
    }
    lua_pushlstring(L, s, n);            /* key */
    lua_pushvalue(L, -1);
    if (lua_rawget(L, -3) != LUA_TNIL) { /* already present */
        lua_pop(L, 1);
        fail(r, SR_ERR_YAML, line, col, "duplicate key '%.*s'", (int)(n > 200 ? 200 : n), s);
        return;
    }
    lua_pop(L, 1);
}

/* Pushes a resolved scalar and attaches it. */
static void on_scalar(sr_reader_t *r, const char *s, size_t n, int plain, int line, int col)
{
    lua_State *L = r->L;
    if (n > r->lim.max_scalar_bytes) {
        fail(r, SR_ERR_LIMIT, line, col, "scalar of %zu bytes exceeds the limit of %zu bytes", n,
             r->lim.max_scalar_bytes);
        return;
    }
    if (want_key(r)) {
        on_key(r, s, n, line, col);
        return;
    }
    if (add_node(r, line, col) < 0)
        return;
    if (r->nframes == 1 && r->frames[0].is_map && r->frames[0].key_len == 2 &&
        memcmp(r->keys.data + r->frames[0].key_off, "id", 2) == 0) {
        free(r->doc_id);
        r->doc_id = sr_strndup(s, n);
    }
    sr_scalar_t v;
    if (plain)
        sr_resolve_plain(s, n, &v);
    else
        v.kind = SR_SCALAR_STR;
    switch (v.kind) {
    case SR_SCALAR_NULL: sr_lv_push_null(L); break;
    case SR_SCALAR_BOOL: lua_pushboolean(L, v.b); break;
    case SR_SCALAR_INT: lua_pushinteger(L, (lua_Integer)v.i); break;
    case SR_SCALAR_FLOAT: lua_pushnumber(L, (lua_Number)v.f); break;
    case SR_SCALAR_STR: lua_pushlstring(L, s, n); break;
    }
    attach(r);
}

/* Opens a mapping or sequence. */
static void on_open(sr_reader_t *r, int is_map, int line, int col)
{
    lua_State *L = r->L;
    if (want_key(r)) {
        fail(r, SR_ERR_YAML, line, col, "a mapping key must be a string, found a %s",
             is_map ? "mapping" : "sequence");
        return;
    }
    if (r->nframes >= r->lim.max_depth) {
        fail(r, SR_ERR_LIMIT, line, col, "nesting deeper than %zu levels", r->lim.max_depth);
        return;
    }
    int node = add_node(r, line, col);
    if (node < 0)
        return;
    if (!lua_checkstack(L, 4)) {
        fail(r, SR_ERR_LIMIT, line, col, "nesting too deep for the Lua stack");
        return;
    }
    if (r->nframes == r->frames_cap) {
        size_t cap = r->frames_cap ? r->frames_cap * 2 : 16;
        frame_t *p = realloc(r->frames, cap * sizeof *p);
        if (!p) {
            fail(r, SR_ERR_NOMEM, line, col, "out of memory");
            return;
        }
        r->frames = p;
        r->frames_cap = cap;
    }
    int shape = shape_of_child(r);
    int hint = shape >= 0 ? r->shapes->shapes[shape].hint : 0;
    frame_t *fr = &r->frames[r->nframes++];
    memset(fr, 0, sizeof *fr);
    fr->is_map = is_map;
    fr->node = node;
    fr->shape = shape;
    fr->kidx = -1;
    if (is_map) {
        lua_createtable(L, 0, hint);
    } else {
        lua_createtable(L, hint, 0);
        lua_pushvalue(L, ARRAY_MT_IDX);
        lua_setmetatable(L, -2); /* pops the metatable */
    }
}

static void on_close(sr_reader_t *r)
{
    frame_t *fr = &r->frames[r->nframes - 1];
    if (fr->shape >= 0) {
        /* the most entries seen here lately: a table that outgrows its
         * hint is rehashed, one that had a spike forgets it slowly */
        int *hint = &r->shapes->shapes[fr->shape].hint;
        int count = fr->count < SHAPE_MAX_HINT ? (int)fr->count : SHAPE_MAX_HINT;
        int decayed = *hint - (*hint >> 3);
        *hint = count > decayed ? count : decayed;
    }
    r->nframes--;
    attach(r);
}

/* ------------------------------------------------------------------ */
/* YAML                                                                 */

static int yaml_read(void *data, unsigned char *buffer, size_t size, size_t *size_read)
{
    sr_reader_t *r = data;
    if (r->feed > r->doc_start && r->feed - r->doc_start > r->lim.max_doc_bytes) {
        r->over_size = 1;
        return 0;
    }
    if (input_at(r, r->feed) < 0) {
        *size_read = 0;
        return r->io_error ? 0 : 1;
    }
    size_t avail = r->buf_start + r->buf_len - r->feed;
    size_t n = avail < size ? avail : size;
    memcpy(buffer, r->buf + (r->feed - r->buf_start), n);
    r->feed += n;
    *size_read = n;
    return 1;
}

static void parser_start(sr_reader_t *r, size_t at)
{
    /* A UTF-8 byte order mark: with the encoding set, libyaml would count it
     * as a column, so that "id: x" on the first line and "x: 1" on the next
     * are no longer in the same mapping. */
    if (at == 0 && input_at(r, 0) == 0xEF && input_at(r, 1) == 0xBB && input_at(r, 2) == 0xBF)
        at = 3;
    if (r->parser_live)
        yaml_parser_delete(&r->parser);
    yaml_parser_initialize(&r->parser);
    yaml_parser_set_input(&r->parser, yaml_read, r);
    /* UTF-8 only: a UTF-16 file is refused rather than silently converted. */
    yaml_parser_set_encoding(&r->parser, YAML_UTF8_ENCODING);
    r->parser_live = 1;
    r->parser_base = at;
    r->feed = at;
    r->doc_start = at;
    r->over_size = 0;
    r->parser_line_base = input_lines_before(r, at);
}

static int mark_line(const sr_reader_t *r, yaml_mark_t m) { return (int)(r->parser_line_base + (long long)m.line + 1); }
static int mark_col(yaml_mark_t m) { return (int)m.column + 1; }

/* After a syntax error at stream offset err: restarts the parser at the next
 * line starting with "---" that lies after the failed document's start, so
 * the following documents are still read. */
static void yaml_recover(sr_reader_t *r, size_t err)
{
    size_t pos = err;
    if (pos < r->buf_start)
        pos = r->buf_start;
    while (pos > r->buf_start && r->buf[pos - 1 - r->buf_start] != '\n')
        pos--; /* start of the error's line */
    for (;;) {
        if (pos > r->doc_start && input_at(r, pos) == '-' && input_at(r, pos + 1) == '-' &&
            input_at(r, pos + 2) == '-') {
            int c = input_at(r, pos + 3);
            if (c == -1 || c == ' ' || c == '\t' || c == '\r' || c == '\n') {
                parser_start(r, pos);
                return;
            }
        }
        int c;
        while ((c = input_at(r, pos)) != -1 && c != '\n')
            pos++;
        if (c == -1) {
            r->stream_done = 1;
            return;
        }
        pos++;
        if (pos - r->buf_start > 4 * CHUNK)
            input_drop(r, pos); /* scanning a huge region: keep memory flat */
    }
}

static void yaml_syntax_error(sr_reader_t *r)
{
    yaml_parser_t *p = &r->parser;
    int line = 0, col = 0;
    size_t err_off;
    r->nframes = 0; /* a syntax error is about the text, not a path in the case */
    if (p->error == YAML_READER_ERROR) {
        err_off = r->parser_base + p->problem_offset;
        input_linecol(r, err_off, &line, &col);
    } else {
        err_off = r->parser_base + p->problem_mark.index;
        line = mark_line(r, p->problem_mark);
        col = mark_col(p->problem_mark);
    }
    if (r->over_size) {
        /* point at the first byte past the limit, not at libyaml's read-ahead,
         * so the position does not depend on buffering (a chunked run and a
         * streamed run say the same); recovery starts there too */
        err_off = r->doc_start + r->lim.max_doc_bytes;
        input_linecol(r, err_off, &line, &col);
        fail(r, SR_ERR_LIMIT, line, col, "document exceeds the limit of %zu bytes", r->lim.max_doc_bytes);
    } else if (r->io_error) {
        fail(r, SR_ERR_IO, 0, 0, "read error: %s", strerror(r->io_error));
    } else if (p->error == YAML_READER_ERROR && err_off == 0 && input_at(r, 0) >= 0xFE &&
               input_at(r, 1) >= 0xFE) {
        fail(r, SR_ERR_YAML, 1, 1, "UTF-16 input is not supported: convert the file to UTF-8");
    } else if (p->error == YAML_READER_ERROR) {
        if (p->problem_value == 0 && strstr(p->problem, "control"))
            fail(r, SR_ERR_YAML, line, col, "NUL byte in input (control characters are not allowed)");
        else
            fail(r, SR_ERR_YAML, line, col, "invalid input: %s", p->problem);
    } else if (p->context) {
        fail(r, SR_ERR_YAML, line, col, "%s (%s that starts at line %d, column %d)", p->problem,
             p->context, mark_line(r, p->context_mark), mark_col(p->context_mark));
    } else {
        fail(r, SR_ERR_YAML, line, col, "%s", p->problem ? p->problem : "syntax error");
    }
    if (r->io_error)
        r->stream_done = 1;
    else
        yaml_recover(r, err_off);
}

/* Handles one event inside a document. Returns 1 at the document's end. */
static int yaml_event(sr_reader_t *r, yaml_event_t *ev)
{
    int line = mark_line(r, ev->start_mark), col = mark_col(ev->start_mark);
    if (ev->type == YAML_DOCUMENT_END_EVENT)
        return 1;
    if (r->failed)
        return 0; /* skipping the rest of a refused document */
    const yaml_char_t *anchor = NULL, *tag = NULL;
    int implicit = 1;
    switch (ev->type) {
    case YAML_ALIAS_EVENT:
        fail(r, SR_ERR_YAML, line, col, "aliases (*%s) are not allowed in a case",
             (const char *)ev->data.alias.anchor);
        return 0;
    case YAML_SCALAR_EVENT:
        anchor = ev->data.scalar.anchor;
        tag = ev->data.scalar.tag;
        implicit = ev->data.scalar.plain_implicit || ev->data.scalar.quoted_implicit;
        break;
    case YAML_SEQUENCE_START_EVENT:
        anchor = ev->data.sequence_start.anchor;
        tag = ev->data.sequence_start.tag;
        implicit = ev->data.sequence_start.implicit;
        break;
    case YAML_MAPPING_START_EVENT:
        anchor = ev->data.mapping_start.anchor;
        tag = ev->data.mapping_start.tag;
        implicit = ev->data.mapping_start.implicit;
        break;
    default: break;
    }
    if (anchor) {
        fail(r, SR_ERR_YAML, line, col, "anchors (&%s) are not allowed in a case", (const char *)anchor);
        return 0;
    }
    if (tag && !implicit) {
        fail(r, SR_ERR_YAML, line, col, "tags (%s) are not allowed in a case", (const char *)tag);
        return 0;
    }
    switch (ev->type) {
    case YAML_SCALAR_EVENT:
        on_scalar(r, (const char *)ev->data.scalar.value, ev->data.scalar.length,
                  ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE, line, col);
        break;
    case YAML_SEQUENCE_START_EVENT: on_open(r, 0, line, col); break;
    case YAML_MAPPING_START_EVENT: on_open(r, 1, line, col); break;
    case YAML_SEQUENCE_END_EVENT:
    case YAML_MAPPING_END_EVENT: on_close(r); break;
    default: break;
    }
    return 0;
}

static void event_drop(sr_reader_t *r)
{
    if (r->event_live) {
        yaml_event_delete(&r->event);
        r->event_live = 0;
    }
}

/* Reads one YAML document. Runs inside a protected call. */
static sr_status_t yaml_next(sr_reader_t *r)
{
    lua_State *L = r->L;
    int top = lua_gettop(L);
    for (;;) {
        if (r->stream_done)
            return SR_DONE;
        if (!r->parser_live)
            parser_start(r, 0);
        build_reset(r);
        if (!yaml_parser_parse(&r->parser, &r->event)) {
            yaml_syntax_error(r);
            return r->d->status;
        }
        r->event_live = 1;
        yaml_event_type_t type = r->event.type;
        if (type == YAML_STREAM_END_EVENT) {
            event_drop(r);
            r->stream_done = 1;
            return SR_DONE;
        }
        if (type != YAML_DOCUMENT_START_EVENT) {
            event_drop(r);
            continue;
        }
        r->doc_start = r->parser_base + r->event.start_mark.index;
        r->doc_line = mark_line(r, r->event.start_mark);
        int implicit_start = r->event.data.document_start.implicit;
        input_drop(r, r->doc_start);
        event_drop(r);
        for (;;) {
            if (!yaml_parser_parse(&r->parser, &r->event)) {
                int had = r->failed;
                sr_diag_t keep;
                if (had) { /* report the document's first error, then recover */
                    keep = *r->d;
                    sr_diag_init(r->d);
                }
                r->failed = 0;
                yaml_syntax_error(r);
                if (had) {
                    sr_diag_free(r->d);
                    *r->d = keep;
                }
                lua_settop(L, top);
                return r->d->status;
            }
            r->event_live = 1;
            if (implicit_start && r->nnodes == 0 && r->nframes == 0)
                r->doc_line = mark_line(r, r->event.start_mark); /* no "---": the first node */
            int end = yaml_event(r, &r->event);
            size_t ev_end = r->parser_base + r->event.end_mark.index;
            event_drop(r);
            if (end)
                break;
            if (r->failed && r->d->status == SR_ERR_LIMIT) {
                /* Stop reading a document built to exhaust the parser
                 * (libyaml takes quadratic time over deep nesting): go on
                 * at the next "---" line. */
                yaml_recover(r, ev_end);
                lua_settop(L, top);
                return r->d->status;
            }
        }
        if (r->failed) {
            lua_settop(L, top);
            return r->d->status;
        }
        return SR_OK;
    }
}

/* ------------------------------------------------------------------ */
/* JSON Lines                                                           */

/* Bytes that can end a number or true/false/null, as the scan back to the
 * token's start accepts them: "0123456789+-.eEtruefalsn". */
static const unsigned char json_word_byte[256] = {
    ['0'] = 1, ['1'] = 1, ['2'] = 1, ['3'] = 1, ['4'] = 1, ['5'] = 1, ['6'] = 1, ['7'] = 1,
    ['8'] = 1, ['9'] = 1, ['+'] = 1, ['-'] = 1, ['.'] = 1, ['e'] = 1, ['E'] = 1, ['t'] = 1,
    ['r'] = 1, ['u'] = 1, ['f'] = 1, ['a'] = 1, ['l'] = 1, ['s'] = 1, ['n'] = 1,
};

/* Column (1-based, in characters) of the token that ends at byte end of the
 * current line. For a string, text is what yajl handed over: when it points
 * into the line (no escapes to decode), the opening quote is just before it. */
static int json_token_col(sr_reader_t *r, size_t end, char kind, const unsigned char *text)
{
    const char *s = r->jline;
    size_t start = end;
    if (kind == '"') {
        uintptr_t t = (uintptr_t)text, l = (uintptr_t)s;
        if (text && t > l && t <= l + r->jline_len && s[t - l - 1] == '"') {
            start = t - l - 1;
        } else {
            /* end is just past the closing quote: find the opening one */
            size_t q = end >= 2 ? end - 2 : 0;
            for (;;) {
                if (s[q] == '"') {
                    size_t bs = 0;
                    while (q > bs && s[q - 1 - bs] == '\\')
                        bs++;
                    if (bs % 2 == 0)
                        break;
                }
                if (q == 0)
                    break;
                q--;
            }
            start = q;
        }
    } else if (kind == '{' || kind == '[') {
        start = end ? end - 1 : 0;
    } else {
        while (start > 0 && json_word_byte[(unsigned char)s[start - 1]])
            start--;
    }
    if (r->jline_ascii) /* one byte, one column */
        return (int)(start < r->jline_len ? start : r->jline_len) + 1;
    /* count on from the previous token (tokens come left to right): counting
     * from the start of the line each time is quadratic in long lines */
    size_t i = 0;
    int col = 1;
    if (start >= r->jcol_off) {
        i = r->jcol_off;
        col = r->jcol_at;
    }
    size_t stop = start < r->jline_len ? start : r->jline_len;
    if (stop > i) {
        /* every byte but a UTF-8 continuation byte (10xxxxxx) is a column;
         * eight at a time: bit 7 of a byte set and bit 6 clear */
        size_t cont = 0;
        col += (int)(stop - i);
        for (; i + 8 <= stop; i += 8) {
            uint64_t w;
            memcpy(&w, s + i, 8);
            uint64_t m = w & ~(w << 1) & 0x8080808080808080ull;
            if (m) /* rare: most text is ASCII */
                cont += (size_t)__builtin_popcountll(m);
        }
        for (; i < stop; i++)
            cont += (s[i] & 0xC0) == 0x80;
        col -= (int)cont;
    }
    r->jcol_off = i;
    r->jcol_at = col;
    return col;
}

static int jline(sr_reader_t *r) { return (int)r->lineno; }
static int jcol(sr_reader_t *r, char kind) { return json_token_col(r, yajl_get_bytes_consumed(r->yh), kind, NULL); }
static int jcol_str(sr_reader_t *r, const unsigned char *s) { return json_token_col(r, yajl_get_bytes_consumed(r->yh), '"', s); }

static void json_value_done(sr_reader_t *r)
{
    if (r->nframes == 0 && r->json_values++ == 0)
        r->json_end = yajl_get_bytes_consumed(r->yh); /* just past the value's last token */
}

static int j_null(void *ctx)
{
    sr_reader_t *r = ctx;
    int col = jcol(r, 'n');
    if (add_node(r, jline(r), col) < 0)
        return 0;
    sr_lv_push_null(r->L);
    attach(r);
    json_value_done(r);
    return !r->failed;
}

static int j_bool(void *ctx, int b)
{
    sr_reader_t *r = ctx;
    if (add_node(r, jline(r), jcol(r, 't')) < 0)
        return 0;
    lua_pushboolean(r->L, b);
    attach(r);
    json_value_done(r);
    return !r->failed;
}

static int j_integer(void *ctx, long long v)
{
    sr_reader_t *r = ctx;
    if (add_node(r, jline(r), jcol(r, '0')) < 0)
        return 0;
    lua_pushinteger(r->L, (lua_Integer)v);
    attach(r);
    json_value_done(r);
    return !r->failed;
}

static int j_double(void *ctx, double v)
{
    sr_reader_t *r = ctx;
    if (add_node(r, jline(r), jcol(r, '0')) < 0)
        return 0;
    lua_pushnumber(r->L, (lua_Number)v);
    attach(r);
    json_value_done(r);
    return !r->failed;
}

static int j_string(void *ctx, const unsigned char *s, size_t n)
{
    sr_reader_t *r = ctx;
    on_scalar(r, (const char *)s, n, 0, jline(r), jcol_str(r, s));
    json_value_done(r);
    return !r->failed;
}

static int j_key(void *ctx, const unsigned char *s, size_t n)
{
    sr_reader_t *r = ctx;
    on_key(r, (const char *)s, n, jline(r), jcol_str(r, s));
    return !r->failed;
}

static int j_start_map(void *ctx)
{
    sr_reader_t *r = ctx;
    on_open(r, 1, jline(r), jcol(r, '{'));
    return !r->failed;
}

static int j_start_array(void *ctx)
{
    sr_reader_t *r = ctx;
    on_open(r, 0, jline(r), jcol(r, '['));
    return !r->failed;
}

static int j_end(void *ctx)
{
    sr_reader_t *r = ctx;
    on_close(r);
    json_value_done(r);
    return !r->failed;
}

static const yajl_callbacks json_callbacks = {
    j_null, j_bool, j_integer, j_double, NULL, j_string,
    j_start_map, j_key, j_end, j_start_array, j_end,
};

/* Is every byte of s (n bytes) ASCII? */
static int is_ascii(const char *s, size_t n)
{
    uint64_t acc = 0;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, s + i, 8);
        acc |= w;
    }
    for (; i < n; i++)
        acc |= (unsigned char)s[i];
    return (acc & 0x8080808080808080ull) == 0;
}

/* Reads the next non-blank line into [*line, *len). Returns 0 at EOF. */
static int json_read_line(sr_reader_t *r, const char **line, size_t *len)
{
    for (;;) {
        input_drop(r, r->feed);
        size_t end = r->feed; /* no newline in [feed, end) */
        int c = -1;
        for (;;) {
            /* look for the newline in the window, but no further than one
             * byte past the limit */
            size_t stop = r->buf_start + r->buf_len;
            if (stop - r->feed > r->lim.max_doc_bytes + 1)
                stop = r->feed + r->lim.max_doc_bytes + 1;
            if (end < stop) {
                const char *nl = memchr(r->buf + (end - r->buf_start), '\n', stop - end);
                if (nl) {
                    end = (size_t)(nl - r->buf) + r->buf_start;
                    c = '\n';
                    break;
                }
                end = stop;
            }
            if (end - r->feed > r->lim.max_doc_bytes || input_fill(r) == 0)
                break;
        }
        if (c == -1 && end - r->feed > r->lim.max_doc_bytes) {
            /* overlong line: skip it whole, report it */
            while ((c = input_at(r, end)) != -1 && c != '\n') {
                end++;
                if (end - r->buf_start > 4 * CHUNK) {
                    r->feed = end;
                    input_drop(r, end);
                }
            }
            r->lineno++;
            r->feed = c == -1 ? end : end + 1;
            *line = NULL;
            *len = 0;
            return 2;
        }
        if (c == -1 && end == r->feed)
            return 0;
        r->lineno++;
        *line = r->buf + (r->feed - r->buf_start);
        *len = end - r->feed;
        r->feed = c == -1 ? end : end + 1;
        size_t i = 0;
        while (i < *len && ((*line)[i] == ' ' || (*line)[i] == '\t' || (*line)[i] == '\r'))
            i++;
        if (i < *len)
            return 1;
    }
}

/* After yajl_parse took the whole line without error: is the line's one
 * value complete, so that yajl_complete_parse (which lexes a space to flush
 * a pending token, and costs as much as a dozen values) can only say yes?
 * It is when the value was a mapping or sequence closed by the last byte of
 * the line before blanks: a closing bracket leaves the lexer no pending
 * token, and anything after the value would have been refused already. */
static int json_line_done(const sr_reader_t *r, const char *line, size_t len)
{
    if (r->json_values != 1 || r->nframes != 0 || r->failed)
        return 0;
    while (len > 0 && (line[len - 1] == ' ' || line[len - 1] == '\t' || line[len - 1] == '\r'))
        len--;
    return len > 0 && (line[len - 1] == '}' || line[len - 1] == ']');
}

/* The column of byte offset at in a line of len bytes (an error's: errors
 * are rare, so no cache, unlike json_token_col). */
static int line_col(const char *line, size_t len, size_t at)
{
    int col = 1;
    for (size_t i = 0; i < at && i < len; i++)
        if ((line[i] & 0xC0) != 0x80)
            col++;
    return col;
}

/* Reads one JSON line. Runs inside a protected call. */
static sr_status_t json_next(sr_reader_t *r)
{
    lua_State *L = r->L;
    int top = lua_gettop(L);
    const char *line;
    size_t len;
    build_reset(r);
    int got = json_read_line(r, &line, &len);
    if (got == 0) {
        if (r->io_error) {
            fail(r, SR_ERR_IO, 0, 0, "read error: %s", strerror(r->io_error));
            r->stream_done = 1;
            return SR_ERR_IO;
        }
        return SR_DONE;
    }
    r->doc_line = (int)r->lineno;
    if (got == 2) {
        fail(r, SR_ERR_LIMIT, jline(r), 1, "line exceeds the limit of %zu bytes", r->lim.max_doc_bytes);
        return SR_ERR_LIMIT;
    }
    r->jline = line;
    r->jline_len = len;
    r->jline_ascii = is_ascii(line, len);
    r->jcol_off = 0;
    r->jcol_at = 1;
    r->json_values = 0;
    r->json_end = 0;
    if (r->yh)
        yajl_free(r->yh);
    r->yh = yajl_alloc(&json_callbacks, NULL, r);
    if (!r->yh) {
        fail(r, SR_ERR_NOMEM, jline(r), 1, "out of memory");
        return SR_ERR_NOMEM;
    }
    yajl_status st = yajl_parse(r->yh, (const unsigned char *)line, len);
    size_t at = yajl_get_bytes_consumed(r->yh);
    if (st == yajl_status_ok && !json_line_done(r, line, len)) {
        st = yajl_complete_parse(r->yh);
        at = len; /* the value ended early: the error is at the end of the line */
    }
    if (st == yajl_status_ok && !r->failed && r->json_values == 1) {
        /* yajl takes a string left open after the value (`{...} "abc`) as
         * complete once the value is: anything but blanks after the value
         * is trailing garbage, as yajl says of a closed token there */
        size_t i = r->json_end;
        while (i < len && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r'))
            i++;
        if (i < len) {
            r->nframes = 0;
            fail(r, SR_ERR_YAML, jline(r), line_col(line, len, i), "invalid JSON: parse error: trailing garbage");
        }
    }
    if (st != yajl_status_ok && !r->failed) {
        unsigned char *msg = yajl_get_error(r->yh, 0, (const unsigned char *)line, len);
        char *m = sr_strdup(msg ? (const char *)msg : "invalid JSON");
        if (msg)
            yajl_free_error(r->yh, msg);
        size_t ml = m ? strlen(m) : 0;
        while (ml && (m[ml - 1] == '\n' || m[ml - 1] == ' ' || m[ml - 1] == '.'))
            m[--ml] = '\0';
        if (at > 0 && m && strncmp(m, "lexical error", 13) == 0)
            at--; /* the lexer has consumed the offending byte: point at it */
        r->nframes = 0; /* the error is about the line, not a path */
        fail(r, SR_ERR_YAML, jline(r), line_col(line, len, at), "invalid JSON: %s", m ? m : "syntax error");
        free(m);
    }
    if (r->failed) {
        lua_settop(L, top);
        return r->d->status;
    }
    return SR_OK;
}

/* ------------------------------------------------------------------ */
/* Public                                                               */

void sr_reader_default_limits(sr_reader_limits_t *lim)
{
    lim->max_depth = 64;
    lim->max_doc_bytes = 1u << 20;
    lim->max_scalar_bytes = 64u << 10;
    lim->max_nodes = 100000;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* Picks the input format: an explicit one, else by file extension, else
 * JSON Lines when the first non-blank byte is '{'. */
static void detect_format(sr_reader_t *r, sr_input_format_t fmt)
{
    r->fmt = fmt;
    if (fmt != SR_IN_AUTO)
        return;
    r->fmt = SR_IN_YAML;
    if (ends_with(r->name, ".jsonl") || ends_with(r->name, ".ndjson")) {
        r->fmt = SR_IN_JSONL;
        return;
    }
    if (ends_with(r->name, ".yaml") || ends_with(r->name, ".yml"))
        return;
    int c;
    for (size_t i = 0; (c = input_at(r, i)) != -1; i++) {
        if (c == ' ' || c == '\t' || c == '\r' || c == '\n')
            continue;
        if (c == '{')
            r->fmt = SR_IN_JSONL;
        break;
    }
}

static sr_reader_t *reader_new(const char *name, const sr_reader_limits_t *lim)
{
    sr_reader_t *r = calloc(1, sizeof *r);
    if (!r || !(r->name = sr_strdup(name))) {
        free(r);
        return NULL;
    }
    if (lim)
        r->lim = *lim;
    else
        sr_reader_default_limits(&r->lim);
    sr_buf_init(&r->keys);
    return r;
}

sr_status_t sr_reader_open(sr_reader_t **out, const char *path, sr_input_format_t fmt,
                           const sr_reader_limits_t *lim, sr_diag_t *d)
{
    *out = NULL;
    int is_stdin = strcmp(path, "-") == 0;
    FILE *f = is_stdin ? stdin : fopen(path, "rb");
    if (!f) {
        sr_diag_set(d, SR_ERR_IO, path, 0, 0, NULL, "cannot open: %s", strerror(errno));
        return SR_ERR_IO;
    }
    sr_reader_t *r = reader_new(is_stdin ? "<stdin>" : path, lim);
    if (!r) {
        if (!is_stdin)
            fclose(f);
        sr_diag_set(d, SR_ERR_NOMEM, path, 0, 0, NULL, "out of memory");
        return SR_ERR_NOMEM;
    }
    r->f = f;
    r->own_f = !is_stdin;
    detect_format(r, fmt);
    *out = r;
    return SR_OK;
}

sr_status_t sr_reader_open_mem(sr_reader_t **out, const char *name, const char *data,
                               size_t len, sr_input_format_t fmt,
                               const sr_reader_limits_t *lim, sr_diag_t *d)
{
    *out = NULL;
    sr_reader_t *r = reader_new(name, lim);
    if (!r) {
        sr_diag_set(d, SR_ERR_NOMEM, name, 0, 0, NULL, "out of memory");
        return SR_ERR_NOMEM;
    }
    r->mem = data;
    r->mem_len = len;
    detect_format(r, fmt);
    *out = r;
    return SR_OK;
}

void sr_reader_set_line_base(sr_reader_t *r, long long lines)
{
    r->lines_before_buf = lines;
    r->lineno = lines;
}

void sr_reader_close(sr_reader_t *r)
{
    if (!r)
        return;
    event_drop(r);
    if (r->parser_live)
        yaml_parser_delete(&r->parser);
    if (r->yh)
        yajl_free(r->yh);
    if (r->own_f)
        fclose(r->f);
    free(r->buf);
    free(r->frames);
    free(r->nodes);
    sr_buf_free(&r->keys);
    free(r->doc_id);
    free(r->name);
    free(r);
}

static int next_protected(lua_State *L)
{
    sr_reader_t *r = lua_touserdata(L, 1);
    lua_settop(L, 0);
    r->shapes = shapes_push(L); /* KEYS_IDX */
    sr_lv_push_array_mt(L);     /* ARRAY_MT_IDX */
    sr_status_t st = r->fmt == SR_IN_JSONL ? json_next(r) : yaml_next(r);
    lua_pushinteger(L, st);
    return lua_gettop(L) - ARRAY_MT_IDX; /* the value (if any) and the status */
}

sr_status_t sr_reader_next(sr_reader_t *r, lua_State *L, sr_diag_t *d)
{
    if (r->stream_done)
        return SR_DONE;
    if (!lua_checkstack(L, 8)) {
        sr_diag_set(d, SR_ERR_NOMEM, r->name, 0, 0, NULL, "out of memory (Lua stack)");
        return SR_ERR_NOMEM;
    }
    r->L = L;
    r->d = d;
    int top = lua_gettop(L);
    lua_pushcfunction(L, next_protected);
    lua_pushlightuserdata(L, r);
    if (lua_pcall(L, 1, LUA_MULTRET, 0) != LUA_OK) {
        /* only a memory error can get here: the stream cannot be trusted */
        const char *msg = lua_tostring(L, -1);
        sr_diag_set(d, SR_ERR_NOMEM, r->name, r->doc_line, 0, NULL, "%s",
                    msg ? msg : "out of memory");
        lua_settop(L, top);
        event_drop(r);
        r->stream_done = 1;
        return SR_ERR_NOMEM;
    }
    sr_status_t st = (sr_status_t)lua_tointeger(L, -1);
    lua_pop(L, 1); /* the status */
    if (st != SR_OK)
        lua_settop(L, top);
    return st;
}

const char *sr_reader_doc_id(const sr_reader_t *r) { return r->doc_id; }
int sr_reader_doc_line(const sr_reader_t *r) { return r->doc_line; }
const char *sr_reader_name(const sr_reader_t *r) { return r->name; }
sr_input_format_t sr_reader_format(const sr_reader_t *r) { return r->fmt; }

int sr_reader_locate(const sr_reader_t *r, const sr_pathseg_t *path, size_t n, int want_key,
                     int *line, int *column)
{
    if (r->nnodes == 0)
        return -1;
    int cur = 0;
    size_t matched = 0;
    int use_key = 0;
    for (; matched < n; matched++) {
        const sr_pathseg_t *seg = &path[matched];
        int found = -1;
        for (size_t i = (size_t)cur + 1; i < r->nnodes; i++) {
            const node_t *nd = &r->nodes[i];
            if (nd->parent != cur)
                continue;
            if (seg->key ? (nd->key_off != NO_KEY && nd->key_len == seg->key_len &&
                            memcmp(r->keys.data + nd->key_off, seg->key, seg->key_len) == 0)
                         : (nd->key_off == NO_KEY && nd->index == seg->index)) {
                found = (int)i;
                break;
            }
        }
        if (found < 0)
            break;
        cur = found;
        use_key = want_key && matched + 1 == n && seg->key;
    }
    const node_t *nd = &r->nodes[cur];
    *line = use_key ? nd->kline : nd->line;
    *column = use_key ? nd->kcol : nd->col;
    return (int)matched;
}
