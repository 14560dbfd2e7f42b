/* api.c -- the library's one-case API: a case given as YAML or JSON text is
 * read, validated and evaluated by the per-case halves of evaluate.c; its
 * result (or error record) stays a Lua table in the engine's registry until
 * sr_result_free, walked by path, and its JSON text is made once. */
#include <lauxlib.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "lvalue.h"
#include "reader.h"
#include "util.h"
#include "validate.h"
#include "writer.h"

/* The file name of the text in diagnostics. */
#define CASE_NAME "<case>"

struct sr_result {
    sr_engine_t *e;
    int ref;    /* the record, in the registry of e's Lua state */
    char *json; /* its JSON text (one line, no newline) */
};

/* ---- JSON text over several lines ----
 *
 * The JSON reader reads JSON Lines: one value per line. A JSON text over
 * several lines is read from a copy with its line breaks made spaces (a
 * JSON string holds no raw line break, so the value is the same, byte for
 * byte in place), and positions on that one line are turned back into lines
 * and columns of the text. */
typedef struct {
    const char *text; /* the text as given */
    const char *flat; /* the one-line copy */
    size_t len;
} flat_t;

/* Moves (1, col) on the one line to (line, col) in the text; columns count
 * characters (UTF-8 lead bytes), as the reader does. */
static void unflatten(const flat_t *f, int *line, int *col)
{
    if (*line != 1 || *col < 1)
        return;
    /* the reader's column is 1 + the lead bytes before the character */
    size_t off = 0;
    for (int c = 1; off < f->len && c < *col; off++)
        c += (f->flat[off] & 0xC0) != 0x80;
    while (off < f->len && (f->flat[off] & 0xC0) == 0x80)
        off++; /* the rest of the character before */
    int l = 1, k = 1;
    for (size_t i = 0; i < off; i++) {
        if (f->text[i] == '\n') {
            l++;
            k = 1;
        } else if ((f->text[i] & 0xC0) != 0x80) {
            k++;
        }
    }
    *line = l;
    *col = k;
}

static void unflatten_list(const flat_t *f, sr_verrors_t *v)
{
    for (size_t i = 0; i < v->n; i++)
        unflatten(f, &v->v[i].line, &v->v[i].column);
}

/* sr_eval_validate's relocate hook. */
static void unflatten_report(sr_case_report_t *rep, void *ud)
{
    unflatten_list(ud, &rep->errors);
    unflatten_list(ud, &rep->warnings);
}

/* SR_IN_AUTO: JSON when the first non-blank byte is '{', as the reader
 * decides for a nameless input. */
static sr_input_format_t detect(const char *text, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        char c = text[i];
        if (c == ' ' || c == '\t' || c == '\r' || c == '\n')
            continue;
        return c == '{' ? SR_IN_JSONL : SR_IN_YAML;
    }
    return SR_IN_YAML;
}

/* ---- keeping the record ---- */

typedef struct {
    sr_status_t rs;             /* the case's status; becomes SR_ERR_RULE when its result cannot be written */
    const char *id;             /* the case id for an error record, or NULL */
    sr_diag_t *cd;              /* the case's diagnostic */
    const sr_case_report_t *rep;
    int invalid;                /* rep->errors are the case's problems */
    int line;                   /* where the case starts in the text */
    sr_writer_t *w;             /* JSON Lines: the record's text */
    int ref;
} keep_t;

/* Runs in a protected call: lightuserdata keep_t, then the result table (or
 * nil when the case failed). Serializes the result (a result the writer
 * refuses becomes an error, as in eval), or builds and serializes the error
 * record, and keeps the record in the registry. Only a memory error can
 * interrupt it; every C allocation made here is owned by *k. */
static int keep_protected(lua_State *L)
{
    keep_t *k = lua_touserdata(L, 1);
    if (k->rs == SR_OK) {
        sr_diag_t wd;
        sr_diag_init(&wd);
        sr_status_t ws = sr_writer_record(k->w, L, 2, &wd);
        if (ws != SR_OK) {
            /* the result cannot be written: say where in the result */
            k->rs = ws == SR_ERR_NOMEM ? SR_ERR_NOMEM : SR_ERR_RULE;
            sr_diag_set(k->cd, k->rs, CASE_NAME, k->line, 0, NULL, "invalid result at '%s': %s", wd.path ? wd.path : "",
                        wd.message ? wd.message : "");
        }
        sr_diag_free(&wd);
        if (k->rs == SR_ERR_NOMEM)
            return 0;
    }
    if (k->rs != SR_OK) {
        lua_settop(L, 1);
        sr_push_error_record(L, k->id, k->cd);
        if (k->invalid && sr_verrors_count(&k->rep->errors) > 1)
            sr_verrors_set_field(L, -1, "errors", &k->rep->errors); /* on failure, the record keeps its first error */
        sr_diag_t wd;
        sr_diag_init(&wd);
        if (sr_writer_record(k->w, L, -1, &wd) != SR_OK) {
            lua_pop(L, 1); /* the record: its id is not valid UTF-8 */
            sr_push_error_record(L, NULL, k->cd);
            sr_writer_record(k->w, L, -1, &wd);
        }
        sr_diag_free(&wd);
    }
    k->ref = luaL_ref(L, LUA_REGISTRYINDEX); /* pops the record */
    return 0;
}

/* Keeps the record of the case (its result at the top of the stack when
 * k->rs is SR_OK, else nothing) in a new result. [-(0|1), +0] */
static sr_status_t keep_record(sr_engine_t *e, keep_t *k, sr_result_t **out, sr_diag_t *d)
{
    lua_State *L = e->sb.L;
    int has_result = k->rs == SR_OK;
    sr_result_t *r = calloc(1, sizeof *r);
    k->w = sr_writer_new(SR_OUT_JSONL);
    k->ref = LUA_NOREF;
    if (!r || !k->w) {
        if (has_result)
            lua_pop(L, 1); /* the result */
        goto nomem;
    }
    if (!has_result)
        lua_pushnil(L);
    lua_pushcfunction(L, keep_protected);
    lua_insert(L, -2);
    lua_pushlightuserdata(L, k);
    lua_insert(L, -2); /* keep_protected, k, the result */
    if (lua_pcall(L, 2, 0, 0) != LUA_OK) {
        lua_pop(L, 1); /* the message: only a memory error can get here */
        goto nomem;
    }
    if (k->rs == SR_ERR_NOMEM)
        goto nomem;
    size_t n;
    const char *bytes = sr_writer_data(k->w, &n);
    if (n && bytes[n - 1] == '\n')
        n--;
    if (!(r->json = sr_strndup(bytes, n)))
        goto nomem;
    r->e = e;
    r->ref = k->ref;
    sr_writer_free(k->w);
    *out = r;
    /* the case's own diagnostic (a result that cannot be written is one) */
    if (k->rs != SR_OK) {
        sr_diag_free(d);
        *d = *k->cd;
        sr_diag_init(k->cd);
    }
    return k->rs;
nomem:
    luaL_unref(L, LUA_REGISTRYINDEX, k->ref);
    sr_writer_free(k->w);
    free(r);
    sr_diag_set(d, SR_ERR_NOMEM, CASE_NAME, 0, 0, NULL, "out of memory");
    return SR_ERR_NOMEM;
}

/* ---- evaluating one case ---- */

sr_status_t sr_engine_eval_case(sr_engine_t *e, const char *text, size_t len, sr_input_format_t fmt,
                                sr_result_t **out, sr_diag_t *d)
{
    if (out)
        *out = NULL;
    if (!e || !out || (!text && len)) {
        sr_diag_set(d, SR_ERR_USAGE, NULL, 0, 0, NULL, "sr_engine_eval_case needs an engine, a text and out");
        return SR_ERR_USAGE;
    }
    if (fmt == SR_IN_CSV) {
        sr_diag_set(d, SR_ERR_USAGE, NULL, 0, 0, NULL,
                    "sr_engine_eval_case reads YAML or JSON text; CSV files go through sr_engine_eval_file");
        return SR_ERR_USAGE;
    }
    if (fmt != SR_IN_YAML && fmt != SR_IN_JSONL && fmt != SR_IN_AUTO) {
        sr_diag_set(d, SR_ERR_USAGE, NULL, 0, 0, NULL, "sr_engine_eval_case: unknown input format %d", (int)fmt);
        return SR_ERR_USAGE;
    }
    if (!text)
        text = "";
    sr_diag_t own; /* stands for d when the caller passes NULL */
    sr_diag_init(&own);
    if (!d)
        d = &own;
    lua_State *L = e->sb.L;
    int top = lua_gettop(L);
    sr_status_t st;
    sr_reader_t *rd = NULL;
    char *id = NULL;
    char *flat = NULL;
    sr_case_report_t rep;
    sr_case_report_init(&rep);
    sr_diag_t cd; /* what is wrong with the case */
    sr_diag_init(&cd);
    keep_t k = {SR_OK, NULL, &cd, &rep, 0, 0, NULL, LUA_NOREF};
    if (fmt == SR_IN_AUTO)
        fmt = detect(text, len);
    flat_t ff = {text, text, len};
    if (fmt == SR_IN_JSONL && (memchr(text, '\n', len) || memchr(text, '\r', len))) {
        if (!(flat = malloc(len ? len : 1))) {
            st = SR_ERR_NOMEM;
            sr_diag_set(d, st, CASE_NAME, 0, 0, NULL, "out of memory");
            goto done;
        }
        for (size_t i = 0; i < len; i++)
            flat[i] = text[i] == '\n' || text[i] == '\r' ? ' ' : text[i];
        ff.flat = flat;
    }
    if (!lua_checkstack(L, 8)) {
        st = SR_ERR_NOMEM;
        sr_diag_set(d, st, CASE_NAME, 0, 0, NULL, "out of memory (Lua stack)");
        goto done;
    }
    if ((st = sr_reader_open_mem(&rd, CASE_NAME, ff.flat, len, fmt, NULL, d)) != SR_OK)
        goto done;
    sr_status_t rs = sr_reader_next(rd, L, &cd);
    if (sr_reader_doc_id(rd) && !(id = sr_strdup(sr_reader_doc_id(rd))))
        rs = SR_ERR_NOMEM;
    if (rs == SR_DONE) {
        rs = SR_ERR_YAML;
        sr_diag_set(&cd, rs, CASE_NAME, 0, 0, NULL, "expected one case, found no document in the text");
    } else if (rs == SR_OK) {
        int line = k.line = sr_reader_doc_line(rd);
        rs = sr_eval_validate(e, rd, CASE_NAME, line, NULL, &rep, flat ? unflatten_report : NULL, &ff, &cd);
        k.invalid = rs == SR_ERR_SCHEMA;
        if (rs == SR_OK)
            rs = sr_eval_validated(e, CASE_NAME, line, &rep, &cd);
        if (rs == SR_OK) {
            /* one case per call: a second document is an error, not ignored */
            sr_diag_t nd;
            sr_diag_init(&nd);
            sr_status_t ns = sr_reader_next(rd, L, &nd);
            if (ns != SR_DONE) {
                lua_settop(L, top); /* the result, and the second document when it could be read */
                rs = ns == SR_ERR_NOMEM ? ns : SR_ERR_YAML;
                if (rs == SR_ERR_NOMEM)
                    sr_diag_set(&cd, rs, CASE_NAME, 0, 0, NULL, "out of memory");
                else
                    sr_diag_set(&cd, rs, CASE_NAME, sr_reader_doc_line(rd), 0, NULL,
                                "expected one case, found a second document (each case goes to its own call)");
            }
            sr_diag_free(&nd);
        }
    } else if (flat) {
        unflatten(&ff, &cd.line, &cd.column);
    }
    if (rs == SR_ERR_NOMEM) {
        lua_settop(L, top);
        st = rs;
        sr_diag_free(d);
        *d = cd;
        sr_diag_init(&cd);
        goto done;
    }
    k.rs = rs;
    k.id = id;
    st = keep_record(e, &k, out, d);
done:
    lua_settop(L, top);
    sr_reader_close(rd);
    sr_case_report_free(&rep);
    sr_diag_free(&cd);
    free(id);
    free(flat);
    sr_diag_free(&own);
    return st;
}

void sr_result_free(sr_result_t *r)
{
    if (!r)
        return;
    luaL_unref(r->e->sb.L, LUA_REGISTRYINDEX, r->ref); /* reuses the slot: allocates nothing */
    free(r->json);
    free(r);
}

char *sr_result_json(const sr_result_t *r) { return r ? sr_strdup(r->json) : NULL; }

/* ---- walking a result ---- */

/* What one walk found at a path. */
typedef struct {
    int ref;
    const char *path;
    size_t key_index; /* the key wanted by sr_result_key */
    int want_key;
    sr_type_t type;
    const char *s;    /* the string, or the key wanted */
    long long i;
    double n;
    int b;
    size_t length;
} probe_t;

/* Replaces the table at the top of the stack by the value at path in it, or
 * by nil when path names nothing. [-1, +1, m] */
static void push_path(lua_State *L, const char *path)
{
    const char *p = path ? path : "";
    for (int first = 1; *p; first = 0) {
        if (!lua_istable(L, -1))
            goto none;
        if (*p == '[') {
            p++;
            if (*p < '0' || *p > '9')
                goto none;
            lua_Integer ix = 0;
            for (; *p >= '0' && *p <= '9'; p++) {
                if (ix > (LUA_MAXINTEGER - 9) / 10)
                    goto none;
                ix = ix * 10 + (*p - '0');
            }
            if (*p++ != ']' || !sr_lv_isarray(L, -1) || ix >= (lua_Integer)lua_rawlen(L, -1))
                goto none;
            lua_rawgeti(L, -1, ix + 1);
        } else {
            if (!first && *p++ != '.')
                goto none;
            const char *key = p;
            while (*p && *p != '.' && *p != '[' && *p != ']')
                p++;
            if (p == key || sr_lv_isarray(L, -1))
                goto none;
            lua_pushlstring(L, key, (size_t)(p - key));
            lua_rawget(L, -2);
        }
        lua_remove(L, -2); /* the container */
        if (lua_isnil(L, -1))
            return;
    }
    return;
none:
    lua_pop(L, 1);
    lua_pushnil(L);
}

static sr_type_t type_at(lua_State *L, int idx)
{
    switch (lua_type(L, idx)) {
    case LUA_TBOOLEAN: return SR_TYPE_BOOLEAN;
    case LUA_TNUMBER: return lua_isinteger(L, idx) ? SR_TYPE_INTEGER : SR_TYPE_NUMBER;
    case LUA_TSTRING: return SR_TYPE_STRING;
    case LUA_TTABLE: return sr_lv_isarray(L, idx) ? SR_TYPE_ARRAY : SR_TYPE_OBJECT;
    case LUA_TLIGHTUSERDATA: return sr_lv_isnull(L, idx) ? SR_TYPE_NULL : SR_TYPE_NONE;
    default: return SR_TYPE_NONE;
    }
}


/* The key_index-th key of the object at the top, in the writer's order, or
 * NULL. [-0, +0, m] */
static const char *key_at(lua_State *L, size_t count, size_t key_index)
{
    if (key_index >= count)
        return NULL;
    int obj = lua_gettop(L);
    sr_key_t *keys = lua_newuserdatauv(L, count * sizeof *keys, 0); /* collected with the walk */
    lua_getfield(L, LUA_REGISTRYINDEX, SR_REG_KEY_RANK);
    int rank = lua_istable(L, -1) ? lua_gettop(L) : 0;
    size_t n = 0;
    lua_pushnil(L);
    while (lua_next(L, obj)) {
        lua_pop(L, 1); /* the value */
        if (lua_type(L, -1) != LUA_TSTRING || n == count)
            continue;
        keys[n].s = lua_tolstring(L, -1, &keys[n].len); /* anchored by the object */
        keys[n].rank = LUA_MAXINTEGER;
        if (rank) {
            lua_pushvalue(L, -1);
            if (lua_rawget(L, rank) == LUA_TNUMBER)
                keys[n].rank = lua_tointeger(L, -1);
            lua_pop(L, 1); /* the rank */
        }
        n++;
    }
    qsort(keys, n, sizeof *keys, sr_key_cmp) /* the writer's order */;
    const char *s = key_index < n ? keys[key_index].s : NULL;
    lua_settop(L, obj);
    return s;
}

/* Runs in a protected call (lightuserdata probe_t): walks to the path and
 * fills the probe. */
static int probe_protected(lua_State *L)
{
    probe_t *p = lua_touserdata(L, 1);
    lua_rawgeti(L, LUA_REGISTRYINDEX, p->ref);
    push_path(L, p->path);
    p->type = type_at(L, -1);
    switch (p->type) {
    case SR_TYPE_BOOLEAN: p->b = lua_toboolean(L, -1); break;
    case SR_TYPE_INTEGER:
        p->i = (long long)lua_tointeger(L, -1);
        p->n = (double)p->i;
        break;
    case SR_TYPE_NUMBER: p->n = (double)lua_tonumber(L, -1); break;
    case SR_TYPE_STRING: p->s = lua_tostring(L, -1); break; /* anchored by the result */
    case SR_TYPE_ARRAY: p->length = (size_t)lua_rawlen(L, -1); break;
    case SR_TYPE_OBJECT:
        lua_pushnil(L);
        while (lua_next(L, -2)) {
            lua_pop(L, 1); /* the value */
            p->length += lua_type(L, -1) == LUA_TSTRING;
        }
        if (p->want_key)
            p->s = key_at(L, p->length, p->key_index);
        break;
    default: break;
    }
    return 0;
}

/* Walks r to path; on a memory error the probe says SR_TYPE_NONE. */
static void probe(const sr_result_t *r, const char *path, int want_key, size_t key_index, probe_t *p)
{
    memset(p, 0, sizeof *p);
    if (!r)
        return;
    lua_State *L = r->e->sb.L;
    p->ref = r->ref;
    p->path = path;
    p->want_key = want_key;
    p->key_index = key_index;
    if (!lua_checkstack(L, 4))
        return;
    int top = lua_gettop(L);
    lua_pushcfunction(L, probe_protected);
    lua_pushlightuserdata(L, p);
    if (lua_pcall(L, 1, 0, 0) != LUA_OK)
        memset(p, 0, sizeof *p); /* only a memory error can get here */
    lua_settop(L, top);
}

sr_type_t sr_result_type(const sr_result_t *r, const char *path)
{
    probe_t p;
    probe(r, path, 0, 0, &p);
    return p.type;
}

const char *sr_result_string(const sr_result_t *r, const char *path)
{
    probe_t p;
    probe(r, path, 0, 0, &p);
    return p.type == SR_TYPE_STRING ? p.s : NULL;
}

long long sr_result_integer(const sr_result_t *r, const char *path, int *ok)
{
    probe_t p;
    probe(r, path, 0, 0, &p);
    if (ok)
        *ok = p.type == SR_TYPE_INTEGER;
    return p.type == SR_TYPE_INTEGER ? p.i : 0;
}

double sr_result_number(const sr_result_t *r, const char *path, int *ok)
{
    probe_t p;
    probe(r, path, 0, 0, &p);
    int is = p.type == SR_TYPE_INTEGER || p.type == SR_TYPE_NUMBER;
    if (ok)
        *ok = is;
    return is ? p.n : 0.0;
}

int sr_result_boolean(const sr_result_t *r, const char *path, int *ok)
{
    probe_t p;
    probe(r, path, 0, 0, &p);
    if (ok)
        *ok = p.type == SR_TYPE_BOOLEAN;
    return p.type == SR_TYPE_BOOLEAN ? p.b : 0;
}

size_t sr_result_length(const sr_result_t *r, const char *path)
{
    probe_t p;
    probe(r, path, 0, 0, &p);
    return p.length;
}

const char *sr_result_key(const sr_result_t *r, const char *path, size_t i)
{
    probe_t p;
    probe(r, path, 1, i, &p);
    return p.type == SR_TYPE_OBJECT ? p.s : NULL;
}
