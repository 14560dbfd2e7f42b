/* csvin.c -- CSV input: libcsv splits the rows, the case schema names and
 * types the columns, and each row becomes the Lua case the YAML reader would
 * have built from the same values (see csvin.h for the column names). */
#include "csvin.h"

#include <csv.h>
#include <ctype.h>
#include <errno.h>
#include <lauxlib.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lvalue.h"
#include "reader.h"
#include "util.h"

#define MAX_ROW_BYTES (1u << 20)    /* one row, all cells: as the YAML reader's document limit */
#define MAX_CELL_BYTES (1u << 16)   /* one cell: as the YAML reader's scalar limit */
#define MAX_COLUMNS 4096
#define MAX_ELEMENTS 1000           /* lesion1 .. lesion1000 */

/* What a field accepts, from its schema's type (or enum). */
enum { K_STR = 1, K_INT = 2, K_NUM = 4, K_BOOL = 8, K_NULL = 16, K_ANY = 31 };

/* A field of the case schema that a column may fill. */
typedef struct {
    char *group;       /* "patient", "spine.lesions" (the list, for an element field) or "" (top level) */
    char *field;       /* "karnofsky" */
    char *name;        /* "patient.karnofsky", or "level" for an element field */
    unsigned accepts;
    int is_list;       /* a list of scalars, written as items separated by spaces or commas */
    unsigned item_accepts;
    int element;       /* a field of the elements of a list of mappings */
} field_t;

/* A column of the header. */
typedef struct {
    char *name;
    const field_t *f;
    int element;       /* N of lesionN, 0 for other columns */
} column_t;

/* A row read by libcsv: its cells, one after the other in buf. */
typedef struct {
    sr_buf_t buf;
    size_t *off, *len;
    size_t n, cap;
    int line;
} row_t;

struct sr_csvin {
    char *name;
    FILE *f;
    int own_f;
    char *data;            /* the in-memory input, when opened on one */
    struct csv_parser p;
    int p_ready;
    int delim;
    long long line;        /* lines fed so far */
    int pending;           /* a row has begun (some non-blank byte since the last row end) */
    int pending_line;
    size_t pending_bytes;
    row_t cur;             /* the row libcsv is filling */
    row_t *done;           /* rows completed and not yet taken */
    size_t ndone, capdone, takedone;
    int at_eof;
    int fatal;
    sr_diag_t fatal_diag;  /* why the input cannot be read further */
    int cell_too_long;     /* a cell of the current row passed the limit */
    /* the schema's fields and the header's columns */
    field_t *fields;
    size_t nfields;
    char *list_group;      /* "spine.lesions": the list of mappings, or NULL */
    char *element_prefix;  /* "lesion" */
    column_t *cols;
    size_t ncols;
    /* the row last taken */
    int row_line;
    char *row_id;
    int elements[MAX_ELEMENTS + 1]; /* the element numbers present, in list order */
    size_t nelements;
    int id_col;            /* 1-based column of "id" */
};

/* ---- rows from libcsv ---- */

static void row_free(row_t *r)
{
    sr_buf_free(&r->buf);
    free(r->off);
    free(r->len);
    memset(r, 0, sizeof *r);
}

static void on_cell(void *s, size_t n, void *ud)
{
    sr_csvin_t *c = ud;
    row_t *r = &c->cur;
    if (r->n == r->cap) {
        size_t cap = r->cap ? 2 * r->cap : 32;
        size_t *o = realloc(r->off, cap * sizeof *o);
        if (o)
            r->off = o;
        size_t *l = o ? realloc(r->len, cap * sizeof *l) : NULL;
        if (!o || !l) {
            r->buf.failed = 1;
            return;
        }
        r->len = l;
        r->cap = cap;
    }
    if (n > MAX_CELL_BYTES) {
        if (!c->cell_too_long)
            c->cell_too_long = (int)r->n + 1;
        n = 0;
    }
    r->off[r->n] = r->buf.len;
    r->len[r->n] = n;
    r->n++;
    sr_buf_append(&r->buf, n ? s : "", n);
    sr_buf_append(&r->buf, "", 1); /* every cell NUL-terminated */
}

static void on_row(int ch, void *ud)
{
    sr_csvin_t *c = ud;
    (void)ch;
    if (c->ndone == c->capdone) {
        size_t cap = c->capdone ? 2 * c->capdone : 4;
        row_t *p = realloc(c->done, cap * sizeof *p);
        if (!p) {
            c->cur.buf.failed = 1;
            return;
        }
        c->done = p;
        c->capdone = cap;
    }
    c->cur.line = c->pending ? c->pending_line : (int)c->line;
    c->done[c->ndone++] = c->cur;
    memset(&c->cur, 0, sizeof c->cur);
    sr_buf_init(&c->cur.buf);
    c->pending = 0;
    c->pending_bytes = 0;
}

static void set_fatal(sr_csvin_t *c, sr_status_t st, int line, const char *fmt, const char *arg)
{
    c->fatal = 1;
    sr_diag_set(&c->fatal_diag, st, c->name, line, 0, NULL, fmt, arg);
}

/* Feeds lines to libcsv until a row is complete or the input ends. */
static void fill(sr_csvin_t *c)
{
    char *line = NULL;
    size_t cap = 0;
    while (c->ndone == c->takedone && !c->at_eof && !c->fatal) {
        ssize_t n = getline(&line, &cap, c->f);
        if (n < 0) {
            if (ferror(c->f)) {
                set_fatal(c, SR_ERR_IO, 0, "cannot read the input: %s", strerror(errno));
                break;
            }
            c->at_eof = 1;
            if (csv_fini(&c->p, on_cell, on_row, c) != 0)
                set_fatal(c, SR_ERR_YAML, c->pending ? c->pending_line : (int)c->line,
                          "%s", "malformed CSV: a quoted cell is not closed before the end of the file");
            break;
        }
        c->line++;
        const char *s = line;
        if (c->line == 1 && n >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0) {
            s += 3; /* the byte order mark a spreadsheet writes in front of UTF-8 */
            n -= 3;
        }
        if (!c->pending) {
            for (ssize_t i = 0; i < n; i++) {
                if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n') {
                    c->pending = 1;
                    c->pending_line = (int)c->line;
                    break;
                }
            }
        }
        c->pending_bytes += (size_t)n;
        if (c->pending_bytes > MAX_ROW_BYTES) {
            set_fatal(c, SR_ERR_LIMIT, c->pending_line, "%s",
                      "row longer than 1 MiB (a quote left open?); nothing after it was read");
            break;
        }
        if (csv_parse(&c->p, s, (size_t)n, on_cell, on_row, c) != (size_t)n) {
            if (csv_error(&c->p) == CSV_ENOMEM)
                set_fatal(c, SR_ERR_NOMEM, (int)c->line, "%s", "out of memory");
            else
                set_fatal(c, SR_ERR_YAML, (int)c->line, "%s",
                          "malformed CSV: a quote inside a cell that does not start with one, or text "
                          "after a closing quote (a quote inside a quoted cell is written twice: \"\"); "
                          "nothing after this line was read");
            break;
        }
        if (c->cur.buf.failed) {
            set_fatal(c, SR_ERR_NOMEM, (int)c->line, "%s", "out of memory");
            break;
        }
    }
    free(line);
}

/* The next complete row, or NULL at the end (or after a fatal problem). The
 * row stays owned by c until the next call. */
static row_t *take_row(sr_csvin_t *c)
{
    if (c->takedone > 0) {
        row_free(&c->done[c->takedone - 1]);
        if (c->takedone == c->ndone)
            c->takedone = c->ndone = 0;
    }
    fill(c);
    if (c->takedone == c->ndone)
        return NULL;
    return &c->done[c->takedone++];
}

/* ---- the fields, from the case schema ---- */

static unsigned kinds_of_type(lua_State *L, int idx)
{
    unsigned k = 0;
    const char *names[] = {"string", "integer", "number", "boolean", "null"};
    const unsigned bits[] = {K_STR, K_INT, K_NUM | K_INT, K_BOOL, K_NULL};
    if (lua_type(L, idx) == LUA_TSTRING) {
        for (size_t i = 0; i < 5; i++)
            if (strcmp(lua_tostring(L, idx), names[i]) == 0)
                k |= bits[i];
    } else if (lua_istable(L, idx)) {
        for (lua_Integer i = 1; lua_rawgeti(L, idx, i) != LUA_TNIL; i++) {
            k |= kinds_of_type(L, -1);
            lua_pop(L, 1);
        }
        lua_pop(L, 1);
    }
    return k;
}

/* What the schema at idx accepts as a scalar: its type, else the types of
 * its enum's values, else anything. */
static unsigned accepts_of(lua_State *L, int idx)
{
    unsigned k = 0;
    if (lua_getfield(L, idx, "type") != LUA_TNIL)
        k = kinds_of_type(L, -1);
    lua_pop(L, 1);
    if (k)
        return k;
    if (lua_getfield(L, idx, "enum") == LUA_TTABLE) {
        for (lua_Integer i = 1; lua_rawgeti(L, -1, i) != LUA_TNIL; i++) {
            if (sr_lv_isnull(L, -1))
                k |= K_NULL;
            else if (lua_type(L, -1) == LUA_TBOOLEAN)
                k |= K_BOOL;
            else if (lua_isinteger(L, -1))
                k |= K_INT;
            else if (lua_type(L, -1) == LUA_TNUMBER)
                k |= K_NUM;
            else
                k |= K_STR;
            lua_pop(L, 1);
        }
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
    return k ? k : K_ANY;
}

/* 1 when the schema at idx may be a value of json type t ("object", "array"). */
static int may_be(lua_State *L, int idx, const char *t)
{
    int yes = 0;
    if (lua_getfield(L, idx, "type") == LUA_TSTRING) {
        yes = strcmp(lua_tostring(L, -1), t) == 0;
    } else if (lua_istable(L, -1)) {
        for (lua_Integer i = 1; lua_rawgeti(L, -1, i) != LUA_TNIL; i++) {
            yes |= lua_type(L, -1) == LUA_TSTRING && strcmp(lua_tostring(L, -1), t) == 0;
            lua_pop(L, 1);
        }
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
    if (!yes && strcmp(t, "object") == 0) { /* properties without a type */
        yes = lua_getfield(L, idx, "properties") == LUA_TTABLE;
        lua_pop(L, 1);
    }
    return yes;
}

static int add_field(sr_csvin_t *c, const char *group, const char *field, unsigned accepts, int is_list,
                     unsigned item_accepts, int element)
{
    field_t *p = realloc(c->fields, (c->nfields + 1) * sizeof *p);
    if (!p)
        return -1;
    c->fields = p;
    field_t *f = &c->fields[c->nfields];
    memset(f, 0, sizeof *f);
    f->group = sr_strdup(group);
    f->field = sr_strdup(field);
    f->name = element || !group[0] ? sr_strdup(field) : sr_asprintf("%s.%s", group, field);
    f->accepts = accepts;
    f->is_list = is_list;
    f->item_accepts = item_accepts;
    f->element = element;
    if (!f->group || !f->field || !f->name) {
        free(f->group);
        free(f->field);
        free(f->name);
        return -1;
    }
    c->nfields++;
    return 0;
}

/* Sorted property names of the "properties" table of the schema at idx,
 * pushed as a Lua array [-0, +1]. */
static void push_sorted_properties(lua_State *L, int idx)
{
    lua_newtable(L);
    int out = lua_gettop(L);
    if (lua_getfield(L, idx, "properties") != LUA_TTABLE) {
        lua_pop(L, 1);
        return;
    }
    /* schema order is lost in a Lua table: the schema file order is
     * recovered by the column order of the header anyway; sort for a stable
     * listing */
    lua_Integer n = 0;
    lua_pushnil(L);
    while (lua_next(L, -2)) {
        lua_pop(L, 1);
        if (lua_type(L, -1) == LUA_TSTRING) {
            lua_pushvalue(L, -1);
            lua_rawseti(L, out, ++n);
        }
    }
    lua_pop(L, 1);
    for (lua_Integer i = 2; i <= n; i++) { /* insertion sort: a few dozen names */
        for (lua_Integer j = i; j > 1; j--) {
            lua_rawgeti(L, out, j - 1);
            lua_rawgeti(L, out, j);
            int less = strcmp(lua_tostring(L, -1), lua_tostring(L, -2)) < 0;
            if (less) {
                lua_rawseti(L, out, j - 1);
                lua_rawseti(L, out, j);
            } else {
                lua_pop(L, 2);
                break;
            }
        }
    }
}

/* Walks the object schema at idx whose fields live at group ("" for the
 * root): scalars and lists of scalars become fields, mappings are walked,
 * one list of mappings becomes the numbered elements. */
static int walk(sr_csvin_t *c, lua_State *L, int idx, const char *group, int element)
{
    if (!lua_checkstack(L, 8))
        return -1;
    push_sorted_properties(L, idx);
    int names = lua_gettop(L);
    lua_getfield(L, idx, "properties");
    int props = lua_gettop(L);
    int rc = 0;
    for (lua_Integer i = 1; rc == 0 && lua_rawgeti(L, names, i) == LUA_TSTRING; i++) {
        const char *key = lua_tostring(L, -1);
        lua_getfield(L, props, key);
        int s = lua_gettop(L);
        char *path = group[0] ? sr_asprintf("%s.%s", group, key) : sr_strdup(key);
        if (!path) {
            rc = -1;
        } else if (lua_istable(L, s) && !element && may_be(L, s, "object")) {
            rc = walk(c, L, s, path, 0);
        } else if (lua_istable(L, s) && may_be(L, s, "array")) {
            lua_getfield(L, s, "items");
            int items = lua_gettop(L);
            if (lua_istable(L, items) && may_be(L, items, "object")) {
                if (!element && !c->list_group) {
                    size_t n = strlen(key);
                    c->list_group = sr_strdup(path);
                    c->element_prefix = sr_strndup(key, n > 1 && key[n - 1] == 's' ? n - 1 : n);
                    rc = c->list_group && c->element_prefix ? walk(c, L, items, path, 1) : -1;
                }
            } else {
                unsigned ia = lua_istable(L, items) ? accepts_of(L, items) : K_ANY;
                rc = add_field(c, group, key, accepts_of(L, s), 1, ia, element);
            }
            lua_pop(L, 1);
        } else if (lua_istable(L, s) || lua_type(L, s) == LUA_TBOOLEAN) {
            rc = add_field(c, group, key, lua_istable(L, s) ? accepts_of(L, s) : K_ANY, 0, 0, element);
        }
        free(path);
        lua_settop(L, props);
    }
    lua_settop(L, names - 1);
    return rc;
}

static sr_status_t load_fields(sr_csvin_t *c, lua_State *L, const char *schema_path, sr_diag_t *d)
{
    sr_reader_t *rd = NULL;
    int top = lua_gettop(L);
    sr_status_t st = sr_reader_open(&rd, schema_path, SR_IN_YAML, NULL, d);
    if (st != SR_OK)
        return st;
    st = sr_reader_next(rd, L, d);
    if (st == SR_DONE) {
        st = SR_ERR_SCHEMA;
        sr_diag_set(d, st, schema_path, 0, 0, NULL, "the case schema is empty");
    } else if (st == SR_OK) {
        if (!lua_istable(L, -1) || walk(c, L, lua_gettop(L), "", 0) != 0 || c->nfields == 0) {
            st = SR_ERR_SCHEMA;
            sr_diag_set(d, st, schema_path, 0, 0, NULL, "the case schema names no fields a CSV column can fill");
        }
    }
    lua_settop(L, top);
    sr_reader_close(rd);
    return st;
}

sr_status_t sr_csvin_columns(lua_State *L, const char *schema_path, FILE *out, sr_diag_t *d)
{
    sr_csvin_t c;
    memset(&c, 0, sizeof c);
    sr_status_t st = load_fields(&c, L, schema_path, d);
    for (size_t i = 0; st == SR_OK && i < c.nfields; i++) {
        if (c.fields[i].element)
            fprintf(out, "%sN.%s\n", c.element_prefix, c.fields[i].name);
        else
            fprintf(out, "%s\n", c.fields[i].name);
    }
    for (size_t i = 0; i < c.nfields; i++) {
        free(c.fields[i].group);
        free(c.fields[i].field);
        free(c.fields[i].name);
    }
    free(c.fields);
    free(c.list_group);
    free(c.element_prefix);
    return st;
}

/* ---- the header ---- */


/* Finds the field a header cell names; *element gets N of lesionN. */
static const field_t *find_field(const sr_csvin_t *c, const char *name, int *element)
{
    *element = 0;
    size_t pl = c->element_prefix ? strlen(c->element_prefix) : 0;
    if (pl && strncmp(name, c->element_prefix, pl) == 0 && name[pl] >= '1' && name[pl] <= '9') {
        char *end;
        long n = strtol(name + pl, &end, 10);
        if (*end != '.' || n > MAX_ELEMENTS)
            return NULL;
        for (size_t i = 0; i < c->nfields; i++) {
            if (c->fields[i].element && strcmp(c->fields[i].name, end + 1) == 0) {
                *element = (int)n;
                return &c->fields[i];
            }
        }
        return NULL;
    }
    for (size_t i = 0; i < c->nfields; i++)
        if (!c->fields[i].element && strcmp(c->fields[i].name, name) == 0)
            return &c->fields[i];
    return NULL;
}

/* The delimiter of the header line: the most frequent of , ; and tab outside quotes. */
static int guess_delimiter(const char *s, size_t n)
{
    size_t comma = 0, semi = 0, tab = 0;
    int quoted = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '"')
            quoted = !quoted;
        else if (!quoted && s[i] == ',')
            comma++;
        else if (!quoted && s[i] == ';')
            semi++;
        else if (!quoted && s[i] == '\t')
            tab++;
    }
    if (semi > comma && semi >= tab)
        return ';';
    if (tab > comma && tab > semi)
        return '\t';
    return ',';
}

static int is_utf8(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s, *e = p + n;
    while (p < e) {
        unsigned c = *p++;
        int more;
        unsigned min;
        if (c < 0x80)
            continue;
        else if ((c & 0xE0) == 0xC0)
            more = 1, min = 0x80, c &= 0x1F;
        else if ((c & 0xF0) == 0xE0)
            more = 2, min = 0x800, c &= 0x0F;
        else if ((c & 0xF8) == 0xF0)
            more = 3, min = 0x10000, c &= 0x07;
        else
            return 0;
        if (e - p < more)
            return 0;
        for (int i = 0; i < more; i++) {
            if ((p[i] & 0xC0) != 0x80)
                return 0;
            c = (c << 6) | (p[i] & 0x3F);
        }
        p += more;
        if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
            return 0;
    }
    return 1;
}

static sr_status_t header_error(sr_csvin_t *c, sr_diag_t *d, int line, size_t col, const char *name, const char *fmt,
                                const char *a, const char *b)
{
    sr_diag_set(d, SR_ERR_SCHEMA, c->name, line, (int)col, name, fmt, a, b);
    return SR_ERR_SCHEMA;
}

static sr_status_t read_header(sr_csvin_t *c, sr_diag_t *d)
{
    /* the delimiter is read from the first line before libcsv sees it */
    int ch;
    sr_buf_t first;
    sr_buf_init(&first);
    while ((ch = getc(c->f)) != EOF && ch != '\n' && first.len < MAX_ROW_BYTES)
        sr_buf_append(&first, &(char){(char)ch}, 1);
    c->delim = guess_delimiter(first.data ? first.data : "", first.len);
    if (ch == '\n')
        sr_buf_append(&first, "\n", 1);
    /* feed that line, then go on from the file */
    c->line = 0;
    if (first.len) {
        c->line = 1;
        const char *s = first.data;
        size_t n = first.len;
        if (n >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0)
            s += 3, n -= 3;
        for (size_t i = 0; i < n && !c->pending; i++)
            if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n')
                c->pending = 1, c->pending_line = 1;
        csv_set_delim(&c->p, (unsigned char)c->delim);
        if (csv_parse(&c->p, s, n, on_cell, on_row, c) != n)
            set_fatal(c, SR_ERR_YAML, 1, "%s", "malformed CSV in the header row");
    } else {
        csv_set_delim(&c->p, (unsigned char)c->delim);
    }
    sr_buf_free(&first);
    row_t *h = c->fatal ? NULL : take_row(c);
    if (c->fatal) {
        sr_diag_set(d, c->fatal_diag.status, c->name, c->fatal_diag.line, 0, NULL, "%s", c->fatal_diag.message);
        return c->fatal_diag.status;
    }
    if (!h)
        return header_error(c, d, 1, 0, NULL, "%s%s",
                            "expected a header row naming the columns (id, patient.karnofsky, ...), found an empty file", "");
    if (h->n > MAX_COLUMNS)
        return header_error(c, d, h->line, 0, NULL, "%s%s", "more than 4096 columns", "");
    c->cols = calloc(h->n, sizeof *c->cols);
    if (!c->cols) {
        sr_diag_set(d, SR_ERR_NOMEM, c->name, 0, 0, NULL, "out of memory");
        return SR_ERR_NOMEM;
    }
    c->ncols = h->n;
    for (size_t i = 0; i < h->n; i++) {
        const char *name = h->buf.data + h->off[i];
        char num[24];
        snprintf(num, sizeof num, "%zu", i + 1);
        if (!is_utf8(name, h->len[i]))
            return header_error(c, d, h->line, i + 1, NULL, "column %s: the name is not valid UTF-8%s", num, "");
        if (h->len[i] == 0)
            return header_error(c, d, h->line, i + 1, NULL, "column %s has no name%s", num, "");
        c->cols[i].name = sr_strndup(name, h->len[i]);
        if (!c->cols[i].name) {
            sr_diag_set(d, SR_ERR_NOMEM, c->name, 0, 0, NULL, "out of memory");
            return SR_ERR_NOMEM;
        }
        c->cols[i].f = find_field(c, c->cols[i].name, &c->cols[i].element);
        if (!c->cols[i].f) {
            /* did you mean ... */
            const char *best = NULL;
            size_t bd = 4;
            char cand[160], hint[160];
            for (size_t k = 0; k < c->nfields; k++) {
                if (c->fields[k].element)
                    snprintf(cand, sizeof cand, "%s1.%s", c->element_prefix, c->fields[k].name);
                else
                    snprintf(cand, sizeof cand, "%s", c->fields[k].name);
                size_t dk = sr_edit_distance(c->cols[i].name, strlen(c->cols[i].name), cand, strlen(cand));
                if (dk < bd) {
                    bd = dk;
                    snprintf(hint, sizeof hint, "%s", cand);
                    best = hint;
                }
            }
            if (best) {
                char *msg = sr_asprintf("unknown column (did you mean '%s'?)", best);
                sr_status_t st = header_error(c, d, h->line, i + 1, c->cols[i].name, "%s%s", msg ? msg : "unknown column", "");
                free(msg);
                return st;
            }
            return header_error(c, d, h->line, i + 1, c->cols[i].name, "%s%s",
                                "unknown column: the columns are named after the case's fields "
                                "(docs/csv.md lists them)", "");
        }
        for (size_t k = 0; k < i; k++) {
            if (strcmp(c->cols[k].name, c->cols[i].name) == 0) {
                char first_num[24];
                snprintf(first_num, sizeof first_num, "%zu", k + 1);
                return header_error(c, d, h->line, i + 1, c->cols[i].name,
                                    "the column appears twice (first as column %s)%s", first_num, "");
            }
        }
        if (strcmp(c->cols[i].name, "id") == 0)
            c->id_col = (int)i + 1;
    }
    if (!c->id_col)
        return header_error(c, d, h->line, 0, NULL, "%s%s", "the header has no 'id' column (every case needs an id)", "");
    return SR_OK;
}

/* ---- open, close ---- */

int sr_csvin_wanted(const char *path, sr_input_format_t fmt)
{
    if (fmt == SR_IN_CSV)
        return 1;
    if (fmt != SR_IN_AUTO || !path)
        return 0;
    size_t n = strlen(path);
    return n > 4 && strcasecmp(path + n - 4, ".csv") == 0;
}

sr_status_t sr_csvin_open(sr_csvin_t **out, lua_State *L, const char *path, const char *data, size_t len,
                          const char *schema_path, sr_diag_t *d)
{
    *out = NULL;
    sr_csvin_t *c = calloc(1, sizeof *c);
    if (!c) {
        sr_diag_set(d, SR_ERR_NOMEM, NULL, 0, 0, NULL, "out of memory");
        return SR_ERR_NOMEM;
    }
    sr_diag_init(&c->fatal_diag);
    sr_buf_init(&c->cur.buf);
    sr_status_t st;
    c->name = sr_strdup(strcmp(path, "-") == 0 ? "<stdin>" : path);
    if (!c->name || csv_init(&c->p, CSV_STRICT | CSV_STRICT_FINI) != 0) {
        st = SR_ERR_NOMEM;
        sr_diag_set(d, st, NULL, 0, 0, NULL, "out of memory");
        goto fail;
    }
    c->p_ready = 1;
    if ((st = load_fields(c, L, schema_path, d)) != SR_OK)
        goto fail;
    if (data) {
        c->data = malloc(len ? len : 1);
        if (c->data)
            memcpy(c->data, data, len);
        c->f = c->data ? fmemopen(c->data, len ? len : 1, "r") : NULL;
        if (c->f && !len)
            fgetc(c->f); /* an empty buffer: fmemopen needs one byte, skip it */
        c->own_f = 1;
    } else if (strcmp(path, "-") == 0) {
        c->f = stdin;
    } else {
        c->f = fopen(path, "rb");
        c->own_f = 1;
        if (!c->f) {
            st = SR_ERR_IO;
            sr_diag_set(d, st, path, 0, 0, NULL, "cannot open: %s", strerror(errno));
            goto fail;
        }
    }
    if (!c->f) {
        st = SR_ERR_NOMEM;
        sr_diag_set(d, st, NULL, 0, 0, NULL, "out of memory");
        goto fail;
    }
    if ((st = read_header(c, d)) != SR_OK)
        goto fail;
    *out = c;
    return SR_OK;
fail:
    sr_csvin_close(c);
    return st;
}

void sr_csvin_close(sr_csvin_t *c)
{
    if (!c)
        return;
    if (c->f && c->own_f)
        fclose(c->f);
    free(c->data);
    if (c->p_ready)
        csv_free(&c->p);
    row_free(&c->cur);
    for (size_t i = c->takedone ? c->takedone - 1 : 0; i < c->ndone; i++)
        row_free(&c->done[i]);
    free(c->done);
    for (size_t i = 0; i < c->nfields; i++) {
        free(c->fields[i].group);
        free(c->fields[i].field);
        free(c->fields[i].name);
    }
    free(c->fields);
    for (size_t i = 0; i < c->ncols; i++)
        free(c->cols[i].name);
    free(c->cols);
    free(c->list_group);
    free(c->element_prefix);
    free(c->row_id);
    free(c->name);
    sr_diag_free(&c->fatal_diag);
    free(c);
}

int sr_csvin_fatal(const sr_csvin_t *c) { return c->fatal; }
const char *sr_csvin_name(const sr_csvin_t *c) { return c->name; }
int sr_csvin_doc_line(const sr_csvin_t *c) { return c->row_line; }
const char *sr_csvin_doc_id(const sr_csvin_t *c) { return c->row_id; }
int sr_csvin_delimiter(const sr_csvin_t *c) { return c->delim; }

/* ---- a row into a case ---- */

/* Pushes the value of one scalar cell typed by what the field accepts:
 * the text resolves as the YAML reader would resolve it, and is kept only
 * when the field accepts that kind; otherwise the text stays a string (and
 * the validator says what was expected). [-0, +1, m] */
static void push_scalar(lua_State *L, const char *s, size_t n, unsigned accepts, int decimal_comma)
{
    sr_scalar_t v;
    sr_resolve_plain(s, n, &v);
    if (v.kind == SR_SCALAR_STR && decimal_comma && (accepts & K_NUM) && n < 64) {
        /* 9,5 in a spreadsheet that writes decimal commas (and ';' between cells) */
        const char *comma = memchr(s, ',', n);
        if (comma && !memchr(comma + 1, ',', n - (size_t)(comma - s) - 1)) {
            char tmp[64];
            memcpy(tmp, s, n);
            tmp[comma - s] = '.';
            sr_resolve_plain(tmp, n, &v);
            if (v.kind != SR_SCALAR_FLOAT)
                v.kind = SR_SCALAR_STR;
        }
    }
    switch (v.kind) {
    case SR_SCALAR_NULL:
        if (accepts & K_NULL) {
            sr_lv_push_null(L);
            return;
        }
        break;
    case SR_SCALAR_BOOL:
        if (accepts & K_BOOL) {
            lua_pushboolean(L, v.b);
            return;
        }
        break;
    case SR_SCALAR_INT:
        if (accepts & (K_INT | K_NUM)) {
            lua_pushinteger(L, (lua_Integer)v.i);
            return;
        }
        break;
    case SR_SCALAR_FLOAT:
        if (accepts & (K_INT | K_NUM)) {
            lua_pushnumber(L, (lua_Number)v.f);
            return;
        }
        break;
    case SR_SCALAR_STR:
        break;
    }
    lua_pushlstring(L, s, n);
}

/* Pushes a list cell: items separated by spaces or commas, "[]" empty. */
static void push_list(lua_State *L, const char *s, size_t n, unsigned item_accepts)
{
    lua_newtable(L);
    sr_lv_mark_array(L, -1);
    size_t i = 0;
    lua_Integer k = 0;
    if (n == 2 && s[0] == '[' && s[1] == ']')
        return;
    while (i < n) {
        while (i < n && (isspace((unsigned char)s[i]) || s[i] == ','))
            i++;
        size_t j = i;
        while (j < n && !isspace((unsigned char)s[j]) && s[j] != ',')
            j++;
        if (j > i) {
            push_scalar(L, s + i, j - i, item_accepts, 0);
            lua_rawseti(L, -2, ++k);
        }
        i = j;
    }
}

/* Gets (creating it) the table at the dotted path below the table at t.
 * [-0, +1, m] */
static void push_group(lua_State *L, int t, const char *path)
{
    lua_pushvalue(L, t);
    while (*path) {
        const char *dot = strchr(path, '.');
        size_t n = dot ? (size_t)(dot - path) : strlen(path);
        lua_pushlstring(L, path, n);
        if (lua_rawget(L, -2) != LUA_TTABLE) {
            lua_pop(L, 1);
            lua_newtable(L);
            lua_pushlstring(L, path, n);
            lua_pushvalue(L, -2);
            lua_rawset(L, -4);
        }
        lua_remove(L, -2);
        path += n + (dot ? 1 : 0);
    }
}

typedef struct {
    sr_csvin_t *c;
    row_t *r;
} build_t;

static int cmp_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

/* The case of one row, built in protected mode. [-0, +1] */
static int build_case(lua_State *L)
{
    build_t *b = lua_touserdata(L, 1);
    sr_csvin_t *c = b->c;
    row_t *r = b->r;
    lua_newtable(L);
    int t = lua_gettop(L);
    int decimal_comma = c->delim == ';';
    /* the elements of the list of mappings that have a cell, in order */
    c->nelements = 0;
    for (size_t i = 0; i < r->n && i < c->ncols; i++) {
        int el = c->cols[i].element;
        if (!el || r->len[i] == 0)
            continue;
        size_t k = 0;
        while (k < c->nelements && c->elements[k] != el)
            k++;
        if (k == c->nelements)
            c->elements[c->nelements++] = el;
    }
    qsort(c->elements, c->nelements, sizeof c->elements[0], cmp_int);
    if (c->nelements) {
        push_group(L, t, c->list_group);  /* [list] */
        sr_lv_mark_array(L, -1);
        for (size_t k = 0; k < c->nelements; k++) {
            lua_newtable(L);
            lua_rawseti(L, -2, (lua_Integer)k + 1);
        }
        lua_pop(L, 1);
    }
    for (size_t i = 0; i < r->n && i < c->ncols; i++) {
        if (r->len[i] == 0)
            continue; /* empty: unknown */
        const column_t *col = &c->cols[i];
        const field_t *f = col->f;
        const char *s = r->buf.data + r->off[i];
        if (col->element) {
            size_t k = 0;
            while (c->elements[k] != col->element)
                k++;
            push_group(L, t, c->list_group);
            lua_rawgeti(L, -1, (lua_Integer)k + 1);
            lua_remove(L, -2);
        } else {
            push_group(L, t, f->group);
        }
        if (f->is_list)
            push_list(L, s, r->len[i], f->item_accepts);
        else
            push_scalar(L, s, r->len[i], f->accepts, decimal_comma);
        lua_setfield(L, -2, f->field);
        lua_pop(L, 1);
    }
    return 1;
}

sr_status_t sr_csvin_next(sr_csvin_t *c, lua_State *L, sr_diag_t *d)
{
    free(c->row_id);
    c->row_id = NULL;
    c->nelements = 0;
    c->cell_too_long = 0;
    row_t *r = take_row(c);
    if (!r) {
        if (c->fatal) {
            sr_diag_set(d, c->fatal_diag.status, c->name, c->fatal_diag.line, 0, NULL, "%s",
                        c->fatal_diag.message ? c->fatal_diag.message : "cannot read the input");
            c->row_line = c->fatal_diag.line;
            return c->fatal_diag.status;
        }
        return SR_DONE;
    }
    c->row_line = r->line;
    if (c->id_col && (size_t)c->id_col <= r->n) {
        const char *id = r->buf.data + r->off[c->id_col - 1];
        size_t n = r->len[c->id_col - 1];
        if (n && is_utf8(id, n))
            c->row_id = sr_strndup(id, n);
    }
    if (r->n > c->ncols) {
        sr_diag_set(d, SR_ERR_SCHEMA, c->name, r->line, 0, NULL,
                    "the row has %zu cells, the header names %zu columns (a cell holding the "
                    "delimiter '%c' must be quoted)", r->n, c->ncols, c->delim == '\t' ? ' ' : c->delim);
        return SR_ERR_SCHEMA;
    }
    if (c->cell_too_long) {
        int k = c->cell_too_long;
        sr_diag_set(d, SR_ERR_LIMIT, c->name, r->line, k, (size_t)k <= c->ncols ? c->cols[k - 1].name : NULL,
                    "the cell is longer than 65536 bytes");
        return SR_ERR_LIMIT;
    }
    for (size_t i = 0; i < r->n; i++) {
        if (!is_utf8(r->buf.data + r->off[i], r->len[i])) {
            sr_diag_set(d, SR_ERR_YAML, c->name, r->line, (int)i + 1, c->cols[i].name,
                        "the cell is not valid UTF-8 text (save the spreadsheet as \"CSV UTF-8\")");
            return SR_ERR_YAML;
        }
    }
    if (!lua_checkstack(L, 4)) {
        sr_diag_set(d, SR_ERR_NOMEM, c->name, r->line, 0, NULL, "out of memory");
        return SR_ERR_NOMEM;
    }
    build_t b = {c, r};
    lua_pushcfunction(L, build_case);
    lua_pushlightuserdata(L, &b);
    if (lua_pcall(L, 1, 1, 0) != LUA_OK) {
        lua_pop(L, 1); /* the error */
        sr_diag_set(d, SR_ERR_NOMEM, c->name, r->line, 0, NULL, "out of memory building the case");
        return SR_ERR_NOMEM;
    }
    return SR_OK;
}

/* ---- positions ---- */

/* The column of a case path: "patient.karnofsky" -> its column,
 * "spine.lesions[1].pain" -> lesionN.pain where N is the number of the
 * second element, "spine.metastatic_levels[2]" -> the list's column, anything
 * else (the whole case) -> "id". Returns the 0-based column index, or -1
 * with *name set when no column of the header holds it. */
static long column_of(const sr_csvin_t *c, const char *path, char *name, size_t cap)
{
    size_t gl = c->list_group ? strlen(c->list_group) : 0;
    name[0] = '\0';
    if (gl && strncmp(path, c->list_group, gl) == 0 && path[gl] == '[') {
        char *end;
        long k = strtol(path + gl + 1, &end, 10);
        if (*end == ']' && k >= 0 && (size_t)k < c->nelements) {
            int el = c->elements[k];
            if (end[1] == '.') {
                const char *field = end + 2;
                size_t fl = strcspn(field, ".[");
                snprintf(name, cap, "%s%d.%.*s", c->element_prefix, el, (int)fl, field);
            } else {
                snprintf(name, cap, "%s%d", c->element_prefix, el);
            }
        }
    } else {
        size_t n = strcspn(path, "[");
        snprintf(name, cap, "%.*s", (int)n, path);
    }
    if (!name[0])
        snprintf(name, cap, "id"); /* a problem of the whole case */
    for (size_t i = 0; i < c->ncols; i++)
        if (strcmp(c->cols[i].name, name) == 0)
            return (long)i;
    return -1;
}

static void relocate_list(sr_csvin_t *c, sr_verrors_t *e)
{
    char name[200];
    for (size_t i = 0; i < e->n; i++) {
        sr_verror_t *v = &e->v[i];
        long col = column_of(c, v->path ? v->path : "", name, sizeof name);
        char *p = sr_strdup(name);
        if (p) {
            free(v->path);
            v->path = p;
        }
        v->line = c->row_line;
        v->column = col >= 0 ? (int)col + 1 : 0;
    }
    sr_verrors_sort(e);
}

void sr_csvin_relocate(sr_case_report_t *rep, void *ud)
{
    sr_csvin_t *c = ud;
    relocate_list(c, &rep->errors);
    relocate_list(c, &rep->warnings);
}

static void print_one(FILE *f, const char *file, int row, const char *path, const char *what, const char *msg)
{
    if (file) {
        fputs(file, f);
        if (row > 0)
            fprintf(f, ":%d", row);
        if (path && path[0])
            fprintf(f, ":%s", path);
        fputs(": ", f);
    }
    fprintf(f, "%s: %s\n", what, msg ? msg : "");
}

void sr_csvin_diag_print(const sr_diag_t *d, FILE *f)
{
    print_one(f, d->file, d->line, d->path, "error", d->message ? d->message : sr_status_name(d->status));
    if (d->note)
        fprintf(f, "  note: %s\n", d->note);
}

void sr_csvin_report_print(const sr_case_report_t *rep, const char *file, int row, FILE *f)
{
    for (size_t i = 0; i < rep->errors.n; i++)
        print_one(f, file, rep->errors.v[i].line ? rep->errors.v[i].line : row, rep->errors.v[i].path, "error",
                  rep->errors.v[i].message);
    for (size_t i = 0; i < rep->warnings.n; i++)
        print_one(f, file, rep->warnings.v[i].line ? rep->warnings.v[i].line : row, rep->warnings.v[i].path,
                  "warning", rep->warnings.v[i].message);
    if (rep->errors.dropped)
        fprintf(f, "%s:%d: note: %zu more error%s in this case not shown\n", file, row, rep->errors.dropped,
                rep->errors.dropped == 1 ? "" : "s");
}
