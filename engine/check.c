/* check.c -- `spinerules check`: every finding about a rule set, from its
 * manifest and the text of its rule files (syntax, what the sandbox would
 * refuse) to its tables and conditions (engine/lint.lua), with positions. */
#define _GNU_SOURCE /* dladdr, dl_iterate_phdr: the engine's build id, for the verdict cache */
#include "check.h"

#include <ctype.h>
#include <dlfcn.h>
#include <elf.h>
#include <fcntl.h>
#include <link.h>
#include <dirent.h>
#include <errno.h>
#include <lauxlib.h>
#include <limits.h>
#define OPENSSL_SUPPRESS_DEPRECATED /* SHA256_*: see ruleset.c */
#include <openssl/sha.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

#include "bytecode.h"
#include "lvalue.h"
#include "messages.h"
#include "reader.h"
#include "ruleset.h"
#include "sandbox.h"
#include "schema.h"
#include "util.h"
#include "validate.h"

/* ------------------------------------------------------------------ */
/* Findings                                                             */

void sr_findings_init(sr_findings_t *f) { memset(f, 0, sizeof *f); }

void sr_findings_free(sr_findings_t *f)
{
    if (!f)
        return;
    for (size_t i = 0; i < f->n; i++) {
        free(f->v[i].file);
        free(f->v[i].message);
    }
    for (size_t i = 0; i < f->norder; i++)
        free(f->order[i]);
    free(f->order);
    free(f->v);
    sr_findings_init(f);
}

static int vadd(sr_findings_t *f, sr_finding_kind_t kind, const char *file, int line, int column,
                const char *fmt, va_list ap)
{
    if (f->n == f->cap) {
        size_t cap = f->cap ? 2 * f->cap : 16;
        sr_finding_t *v = realloc(f->v, cap * sizeof *v);
        if (!v)
            return -1;
        f->v = v;
        f->cap = cap;
    }
    sr_finding_t *x = &f->v[f->n];
    memset(x, 0, sizeof *x);
    x->kind = kind;
    x->file = file ? sr_strdup(file) : NULL;
    x->line = line > 0 ? line : 0;
    x->column = line > 0 && column > 0 ? column : 0;
    x->message = sr_vasprintf(fmt, ap);
    x->seq = f->n;
    if (!x->message || (file && !x->file)) {
        free(x->file);
        free(x->message);
        return -1;
    }
    f->n++;
    if (kind == SR_FINDING_ERROR)
        f->errors++;
    else
        f->warnings++;
    return 0;
}

int sr_findings_add(sr_findings_t *f, sr_finding_kind_t kind, const char *file, int line, int column,
                    const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = vadd(f, kind, file, line, column, fmt, ap);
    va_end(ap);
    return rc;
}

/* Files sort in the order given here (the manifest, then the rule files in
 * manifest order), then any other by name. */
static int order_add(sr_findings_t *f, const char *file)
{
    char **o = realloc(f->order, (f->norder + 1) * sizeof *o);
    if (!o)
        return -1;
    f->order = o;
    if (!(o[f->norder] = sr_strdup(file)))
        return -1;
    f->norder++;
    return 0;
}

static const sr_findings_t *sorting; /* sr_findings_sort's list (qsort has no context) */

static size_t file_rank(const char *file)
{
    if (!file)
        return 0;
    for (size_t i = 0; i < sorting->norder; i++)
        if (strcmp(sorting->order[i], file) == 0)
            return i + 1;
    return sorting->norder + 1;
}

static int finding_cmp(const void *a, const void *b)
{
    const sr_finding_t *x = a, *y = b;
    size_t rx = file_rank(x->file), ry = file_rank(y->file);
    if (rx != ry)
        return rx < ry ? -1 : 1;
    if (rx == sorting->norder + 1 && x->file && y->file) {
        int c = strcmp(x->file, y->file);
        if (c)
            return c;
    }
    if (x->line != y->line)
        return x->line < y->line ? -1 : 1;
    if (x->column != y->column)
        return x->column < y->column ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

void sr_findings_sort(sr_findings_t *f)
{
    sorting = f;
    if (f->n > 1)
        qsort(f->v, f->n, sizeof *f->v, finding_cmp);
    sorting = NULL;
}

void sr_findings_print(const sr_findings_t *f, FILE *out)
{
    char cwd[PATH_MAX];
    size_t cwdlen = getcwd(cwd, sizeof cwd) ? strlen(cwd) : 0;
    for (size_t i = 0; i < f->n; i++) {
        const sr_finding_t *x = &f->v[i];
        if (x->file) {
            const char *name = x->file;
            if (cwdlen > 1 && strncmp(name, cwd, cwdlen) == 0 && name[cwdlen] == '/')
                name += cwdlen + 1;
            fputs(name, out);
            if (x->line > 0) {
                fprintf(out, ":%d", x->line);
                if (x->column > 0)
                    fprintf(out, ":%d", x->column);
            }
            fputs(": ", out);
        }
        fprintf(out, "%s: %s\n", sr_msg(x->kind == SR_FINDING_ERROR ? SR_MSG_ERROR : SR_MSG_WARNING), x->message);
    }
}

/* ------------------------------------------------------------------ */
/* Columns: where on its line a finding points                          */

/* The text of line `line` (1-based) of text, *len bytes; NULL past the end. */
static const char *nth_line(const char *text, int line, size_t *len)
{
    const char *s = text;
    for (int i = 1; i < line; i++) {
        s = strchr(s, '\n');
        if (!s)
            return NULL;
        s++;
    }
    if (!*s && line > 1)
        return NULL;
    const char *e = strchr(s, '\n');
    *len = e ? (size_t)(e - s) : strlen(s);
    return s;
}

/* Bytes of the line before a "--" comment that is outside a string. */
static size_t code_len(const char *s, size_t n)
{
    char q = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (q) {
            if (c == '\\')
                i++;
            else if (c == q)
                q = 0;
        } else if (c == '"' || c == '\'') {
            q = c;
        } else if (c == '-' && i + 1 < n && s[i + 1] == '-') {
            return i;
        }
    }
    return n;
}

static int is_word(int c) { return isalnum(c) || c == '_'; }

/* Byte offset of hint in the code of s[0..n) (as a whole word when hint is
 * an identifier), or -1. */
static long find_hint(const char *s, size_t n, const char *hint)
{
    size_t hl = strlen(hint);
    int word = hl > 0 && is_word((unsigned char)hint[0]) && is_word((unsigned char)hint[hl - 1]);
    size_t code = hint[0] == '"' ? n : code_len(s, n); /* a quoted hint is a string: comments do not hide it */
    for (size_t i = 0; hl && i + hl <= code; i++) {
        if (memcmp(s + i, hint, hl) != 0)
            continue;
        if (word && ((i > 0 && (is_word((unsigned char)s[i - 1]) || s[i - 1] == '.' || s[i - 1] == ':')) ||
                     (i + hl < n && is_word((unsigned char)s[i + hl]))))
            continue;
        return (long)i;
    }
    return -1;
}

/* The 1-based character column of byte offset off of s. */
static int char_column(const char *s, size_t off)
{
    int col = 1;
    for (size_t i = 0; i < off; i++)
        if (((unsigned char)s[i] & 0xC0) != 0x80)
            col++;
    return col;
}

static int first_nonblank(const char *s, size_t n)
{
    size_t i = 0;
    while (i < n && (s[i] == ' ' || s[i] == '\t'))
        i++;
    return i < n ? char_column(s, i) : 1;
}

/* A file read once for the columns of several findings. */
typedef struct {
    char *path;
    char *text;
} source_t;

static const char *source_text(source_t *c, const char *path)
{
    if (!path)
        return NULL;
    if (c->path && strcmp(c->path, path) == 0)
        return c->text;
    free(c->path);
    free(c->text);
    size_t len;
    c->text = sr_read_file(path, &len);
    c->path = c->text ? sr_strdup(path) : NULL;
    return c->text;
}

static void source_free(source_t *c)
{
    free(c->path);
    free(c->text);
}

/* The column of hint on *line of file (the first character of the line's
 * code when hint is NULL or not there). With forward, hint is looked for on
 * the next lines too, then in the whole file, and *line moves to it. */
static int locate(source_t *c, const char *file, int *line, const char *hint, int forward)
{
    const char *text = source_text(c, file);
    if (!text || *line <= 0)
        return 0;
    size_t len;
    const char *s = nth_line(text, *line, &len);
    if (!s)
        return 0;
    if (hint && hint[0]) {
        long off = find_hint(s, len, hint);
        if (off >= 0)
            return char_column(s, (size_t)off);
        if (forward) {
            for (int pass = 0; pass < 2; pass++) {
                int from = pass == 0 ? *line + 1 : 1, to = pass == 0 ? *line + 40 : INT_MAX;
                for (int l = from; l <= to; l++) {
                    size_t n;
                    const char *t = nth_line(text, l, &n);
                    if (!t)
                        break;
                    long o = find_hint(t, n, hint);
                    if (o >= 0) {
                        *line = l;
                        return char_column(t, (size_t)o);
                    }
                }
            }
        }
    }
    return first_nonblank(s, len);
}

/* add_diag with the file given. */
static int add_diag_at(sr_findings_t *f, source_t *c, sr_finding_kind_t kind, const sr_diag_t *d, const char *file)
{
    int line = d->line, col = d->column;
    const char *msg = d->message ? d->message : sr_status_name(d->status);
    if (file && line > 0 && col == 0) {
        const char *near = strstr(msg, " near '");
        char tok[64] = "";
        if (near) {
            near += 7;
            const char *q = strchr(near, '\'');
            size_t n = q ? (size_t)(q - near) : 0;
            if (n > 0 && n < sizeof tok) {
                memcpy(tok, near, n);
                tok[n] = '\0';
            }
        }
        if (strstr(msg, "near <eof>")) {
            const char *text = source_text(c, file);
            size_t len;
            const char *s = text ? nth_line(text, line, &len) : NULL;
            col = s ? char_column(s, len) + (len > 0) : 0;
        } else {
            col = locate(c, file, &line, tok[0] ? tok : NULL, 0);
        }
    }
    if (d->path && d->path[0])
        return sr_findings_add(f, kind, file, line, col, "%s: %s", d->path, msg);
    return sr_findings_add(f, kind, file, line, col, "%s", msg);
}

/* Lua shortens a long chunk name to "..." and its last 56 bytes (LUA_IDSIZE),
 * and positions carry that name: a rule file's full path is rebuilt from the
 * rule set's folder (rule files sit directly in it). Returns a malloc'd path. */
static char *full_path(const char *dir, const char *file)
{
    if (!dir || !file || strncmp(file, "...", 3) != 0)
        return sr_strdup(file);
    const char *base = strrchr(file, '/');
    char *full = sr_asprintf("%s/%s", dir, base ? base + 1 : file + 3);
    size_t fl = full ? strlen(full) : 0, tl = strlen(file + 3);
    if (full && fl >= tl && strcmp(full + fl - tl, file + 3) == 0)
        return full;
    free(full);
    return sr_strdup(file);
}

/* A diagnostic from loading or running rules as a finding: the column of the
 * token a Lua syntax error names ("near 'x'"), else of the line's code. */
static int add_diag(sr_findings_t *f, source_t *c, sr_finding_kind_t kind, const sr_diag_t *d, const char *dir)
{
    char *file = full_path(dir, d->file);
    int rc = add_diag_at(f, c, kind, d, file);
    free(file);
    return rc;
}

/* ------------------------------------------------------------------ */
/* Global names a rule file reads or sets: from its bytecode            */

/* Lua 5.4 opcodes (lopcodes.h). */
enum { OPC_GETTABUP = 11, OPC_GETFIELD = 14, OPC_SETTABUP = 15 };


typedef struct {
    int write;       /* sets the global (else reads it) */
    int in_function; /* inside a function (else in the file's main chunk) */
    char *name;
    char *field;     /* name.field read right after name, or NULL */
    int line;
} gref_t;

typedef struct {
    gref_t *v;
    size_t n, cap;
    int oom;
} grefs_t;

static void grefs_free(grefs_t *g)
{
    for (size_t i = 0; i < g->n; i++) {
        free(g->v[i].name);
        free(g->v[i].field);
    }
    free(g->v);
    memset(g, 0, sizeof *g);
}

static void gref_add(grefs_t *g, int write, int in_function, const char *name, size_t nlen, const char *field,
                     size_t flen, int line)
{
    if (g->n == g->cap) {
        size_t cap = g->cap ? 2 * g->cap : 32;
        gref_t *v = realloc(g->v, cap * sizeof *v);
        if (!v) {
            g->oom = 1;
            return;
        }
        g->v = v;
        g->cap = cap;
    }
    gref_t *r = &g->v[g->n];
    r->write = write;
    r->in_function = in_function;
    r->name = sr_strndup(name, nlen);
    r->field = field ? sr_strndup(field, flen) : NULL;
    r->line = line;
    if (!r->name || (field && !r->field)) {
        free(r->name);
        free(r->field);
        g->oom = 1;
        return;
    }
    g->n++;
}


typedef struct {
    const char *s; /* NULL when the constant is not a string */
    size_t len;
} kstr_t;

/* Walks one dumped function. env[i] of the parent says whether its upvalue i
 * is the rules' environment (_ENV of the file). */
static void bc_function(bc_t *r, const unsigned char *parent_env, size_t nparent, int depth, grefs_t *out)
{
    size_t len;
    if (depth > 200) {
        r->bad = 1;
        return;
    }
    bc_string(r, &len); /* source */
    size_t linedefined = bc_size(r);
    bc_size(r);    /* lastlinedefined */
    bc_skip(r, 3); /* numparams, is_vararg, maxstacksize */
    size_t ncode = bc_size(r);
    if (r->bad || ncode > (size_t)(r->end - r->p) / 4) {
        r->bad = 1;
        return;
    }
    const unsigned char *code = bc_skip(r, ncode * 4);
    size_t nk = bc_size(r);
    if (r->bad || nk > (size_t)(r->end - r->p)) {
        r->bad = 1;
        return;
    }
    kstr_t *k = calloc(nk ? nk : 1, sizeof *k);
    if (!k) {
        out->oom = r->bad = 1;
        return;
    }
    for (size_t i = 0; i < nk && !r->bad; i++) {
        switch (bc_byte(r)) {
        case 0: case 1: case 17: break;                         /* nil, false, true */
        case 3: bc_skip(r, r->int_size); break;                 /* integer */
        case 19: bc_skip(r, r->num_size); break;                /* float */
        case 4: case 20: k[i].s = bc_string(r, &k[i].len); break; /* strings */
        default: r->bad = 1;
        }
    }
    size_t nup = bc_size(r);
    if (r->bad || nup > 255 || nup > (size_t)(r->end - r->p) / 3) {
        r->bad = 1;
        free(k);
        return;
    }
    unsigned char env[256];
    for (size_t i = 0; i < nup; i++) {
        int instack = r->p[3 * i], idx = r->p[3 * i + 1];
        if (depth == 0)
            env[i] = i == 0; /* the main chunk's one upvalue is _ENV */
        else
            env[i] = instack ? 0 : ((size_t)idx < nparent ? parent_env[idx] : 0);
    }
    bc_skip(r, nup * 3);
    size_t nprotos = bc_size(r);
    for (size_t i = 0; i < nprotos && !r->bad; i++)
        bc_function(r, env, nup, depth + 1, out);
    bc_lines_t li;
    bc_read_lines(r, linedefined, &li);
    size_t nupnames = bc_size(r);
    for (size_t i = 0; i < nupnames && !r->bad; i++)
        bc_string(r, &len);
    for (size_t pc = 0; pc < ncode && !r->bad; pc++) {
        unsigned long ins = (unsigned long)code[4 * pc] | ((unsigned long)code[4 * pc + 1] << 8) |
                            ((unsigned long)code[4 * pc + 2] << 16) | ((unsigned long)code[4 * pc + 3] << 24);
        int op = (int)(ins & 0x7f);
        size_t a = (ins >> 7) & 0xff, b = (ins >> 16) & 0xff, c = (ins >> 24) & 0xff;
        if (op == OPC_GETTABUP && b < nup && env[b] && c < nk && k[c].s) {
            const char *field = NULL;
            size_t flen = 0;
            if (pc + 1 < ncode) { /* name.field: GETFIELD reading the register just loaded */
                const unsigned char *n = code + 4 * (pc + 1);
                unsigned long ni = (unsigned long)n[0] | ((unsigned long)n[1] << 8) | ((unsigned long)n[2] << 16) |
                                   ((unsigned long)n[3] << 24);
                size_t nb = (ni >> 16) & 0xff, nc = (ni >> 24) & 0xff;
                if ((int)(ni & 0x7f) == OPC_GETFIELD && nb == a && nc < nk && k[nc].s) {
                    field = k[nc].s;
                    flen = k[nc].len;
                }
            }
            gref_add(out, 0, depth > 0, k[c].s, k[c].len, field, flen,
                     bc_pc_line(r, &li, pc));
        } else if (op == OPC_SETTABUP && a < nup && env[a] && b < nk && k[b].s) {
            gref_add(out, 1, depth > 0, k[b].s, k[b].len, NULL, 0,
                     bc_pc_line(r, &li, pc));
        }
    }
    free(k);
}

/* The global names the function at the top of the stack reads and sets.
 * Returns 0, or -1 when it could not be read (memory). [-0, +0] */
static int scan_globals(lua_State *L, grefs_t *out)
{
    sr_buf_t buf;
    sr_buf_init(&buf);
    if (bc_dump(L, &buf) != 0) {
        sr_buf_free(&buf);
        return -1;
    }
    bc_t r = bc_open(&buf, NULL);
    bc_function(&r, NULL, 0, 0, out);
    sr_buf_free(&buf);
    return out->oom || r.bad ? -1 : 0;
}

/* ---- names the rules may read ---- */

typedef struct {
    char **v;
    size_t n;
} names_t;

static void names_free(names_t *n)
{
    for (size_t i = 0; i < n->n; i++)
        free(n->v[i]);
    free(n->v);
    n->v = NULL;
    n->n = 0;
}

static int names_has(const names_t *n, const char *s)
{
    for (size_t i = 0; i < n->n; i++)
        if (strcmp(n->v[i], s) == 0)
            return 1;
    return 0;
}

static int names_push(names_t *n, const char *s)
{
    char **v = realloc(n->v, (n->n + 1) * sizeof *v);
    if (!v)
        return -1;
    n->v = v;
    if (!(v[n->n] = sr_strdup(s)))
        return -1;
    n->n++;
    return 0;
}


/* The closest name within a small distance, or NULL. */
static const char *closest(const names_t *n, const char *word)
{
    size_t limit = strlen(word) / 3;
    if (limit < 1)
        limit = 1;
    if (limit > 3)
        limit = 3;
    const char *best = NULL;
    size_t best_d = limit + 1;
    for (size_t i = 0; i < n->n; i++) {
        size_t dd = sr_edit_distance(word, strlen(word), n->v[i], strlen(n->v[i]));
        if (dd < best_d) {
            best = n->v[i];
            best_d = dd;
        }
    }
    return best;
}

/* Globals of standard Lua the sandbox leaves out on purpose. */
static const char *const refused_globals[] = {
    "os", "io", "debug", "package", "require", "load", "loadfile", "dofile", "loadstring", "collectgarbage",
    "print", "rawget", "rawset", "rawequal", "rawlen", "xpcall", "_G", "_VERSION", "module", "unpack",
    "getmetatable", "setmetatable", "coroutine", NULL,
};

static int is_refused(const char *name)
{
    for (int i = 0; refused_globals[i]; i++)
        if (strcmp(refused_globals[i], name) == 0)
            return 1;
    return 0;
}

/* ------------------------------------------------------------------ */
/* The manifest                                                         */

/* MAJOR.MINOR.PATCH, with an optional -pre-release of [0-9A-Za-z.-]. */
static int is_semver(const char *s)
{
    for (int part = 0; part < 3; part++) {
        if (!isdigit((unsigned char)*s))
            return 0;
        while (isdigit((unsigned char)*s))
            s++;
        if (part < 2 && *s++ != '.')
            return 0;
    }
    if (*s == '\0')
        return 1;
    if (*s++ != '-' || !*s)
        return 0;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '.' && *s != '-')
            return 0;
    return 1;
}

static void pos_of(const sr_reader_t *rd, const sr_pathseg_t *path, size_t n, int want_key, int *line, int *col)
{
    if (sr_reader_locate(rd, path, n, want_key, line, col) < 0)
        *line = *col = 0;
}

/* Checks the manifest table at the top of the stack; fills *listed with the
 * rule files it lists. Sets *fatal when the rule set cannot be opened. */
static int check_manifest(lua_State *L, const sr_reader_t *rd, const char *dir, const char *mpath,
                          sr_findings_t *f, names_t *listed, int *fatal)
{
    int man = lua_gettop(L);
    int line, col;
    char *root = sr_find_project_root(dir);
    int version_bad = 0;

    lua_getfield(L, man, "version");
    if (lua_type(L, -1) == LUA_TSTRING) {
        const char *v = lua_tostring(L, -1);
        sr_pathseg_t seg = {"version", 7, 0};
        pos_of(rd, &seg, 1, 0, &line, &col);
        if (!is_semver(v)) {
            version_bad = 1;
            *fatal = 1;
            sr_findings_add(f, SR_FINDING_ERROR, mpath, line, col, sr_msg(SR_MSG_CHK_NOT_SEMVER), v);
        } else {
            const char *base = strrchr(dir, '/');
            base = base ? base + 1 : dir;
            if (is_semver(base) && strcmp(base, v) != 0)
                sr_findings_add(f, SR_FINDING_ERROR, mpath, line, col, sr_msg(SR_MSG_CHK_VERSION_FOLDER), v, base);
            /* the changelog has an entry for this version */
            int found = 0, has_changelog = 0;
            if (lua_getfield(L, man, "changelog") == LUA_TTABLE) {
                has_changelog = 1;
                lua_Integer n = (lua_Integer)lua_rawlen(L, -1);
                for (lua_Integer i = 1; i <= n && !found; i++) {
                    if (lua_rawgeti(L, -1, i) == LUA_TTABLE) {
                        lua_getfield(L, -1, "version");
                        found = lua_type(L, -1) == LUA_TSTRING && strcmp(lua_tostring(L, -1), v) == 0;
                        lua_pop(L, 1);
                    }
                    lua_pop(L, 1);
                }
            }
            lua_pop(L, 1);
            if (has_changelog && !found) {
                sr_pathseg_t cseg = {"changelog", 9, 0};
                pos_of(rd, &cseg, 1, 1, &line, &col);
                sr_findings_add(f, SR_FINDING_WARNING, mpath, line, col, sr_msg(SR_MSG_CHK_NO_CHANGELOG), v);
            }
        }
    }
    lua_pop(L, 1);

    /* the manifest schema: every field, with its position */
    if (root) {
        sr_schema_t *sch = NULL;
        sr_diag_t sd;
        sr_diag_init(&sd);
        if (sr_load_schema_at(&sch, L, root, "manifest.schema.yaml", &sd) == SR_OK) {
            sr_verrors_t errs;
            sr_verrors_init(&errs);
            if (sr_schema_validate(sch, L, man, rd, &errs) != SR_OK) {
                for (size_t i = 0; i < errs.n; i++) {
                    const sr_verror_t *x = &errs.v[i];
                    if (version_bad && strcmp(x->path, "version") == 0)
                        continue; /* said above, in the editor's words */
                    *fatal = 1;
                    char *msg = sr_tr_message(sr_strdup(x->message)); /* the validator's words, in --lang */
                    if (x->path[0])
                        sr_findings_add(f, SR_FINDING_ERROR, mpath, x->line, x->column, "%s: %s", x->path,
                                        msg ? msg : "");
                    else
                        sr_findings_add(f, SR_FINDING_ERROR, mpath, x->line, x->column, "%s", msg ? msg : "");
                    free(msg);
                }
            }
            sr_verrors_free(&errs);
            sr_schema_free(sch);
        } else {
            *fatal = 1;
            add_diag(f, &(source_t){0}, SR_FINDING_ERROR, &sd, dir);
        }
        sr_diag_free(&sd);
    }

    /* the API level */
    lua_getfield(L, man, "api");
    if (lua_isinteger(L, -1) && lua_tointeger(L, -1) != SR_API_LEVEL) {
        sr_pathseg_t seg = {"api", 3, 0};
        pos_of(rd, &seg, 1, 0, &line, &col);
        *fatal = 1;
        sr_findings_add(f, SR_FINDING_ERROR, mpath, line, col, sr_msg(SR_MSG_CHK_API_UNKNOWN),
                        lua_tostring(L, -1), SR_API_LEVEL);
    }
    lua_pop(L, 1);

    /* the case schema it names */
    lua_getfield(L, man, "case_schema");
    if (lua_type(L, -1) == LUA_TSTRING && root) {
        char *p = sr_asprintf("%s/%s", root, lua_tostring(L, -1));
        struct stat stt;
        if (p && stat(p, &stt) != 0) {
            sr_pathseg_t seg = {"case_schema", 11, 0};
            pos_of(rd, &seg, 1, 0, &line, &col);
            *fatal = 1;
            sr_findings_add(f, SR_FINDING_ERROR, mpath, line, col, sr_msg(SR_MSG_CHK_CASE_SCHEMA_MISSING),
                            lua_tostring(L, -1));
        }
        free(p);
    }
    lua_pop(L, 1);

    /* the rule files: listed and present, present and listed */
    if (lua_getfield(L, man, "files") == LUA_TTABLE) {
        lua_Integer n = (lua_Integer)lua_rawlen(L, -1);
        const char **names = calloc((size_t)n + 1, sizeof *names);
        size_t nn = 0;
        for (lua_Integer i = 1; names && i <= n; i++) {
            if (lua_rawgeti(L, -1, i) == LUA_TSTRING && !strchr(lua_tostring(L, -1), '/')) {
                names[nn++] = lua_tostring(L, -1); /* kept alive by the files table */
                names_push(listed, lua_tostring(L, -1));
            }
            lua_pop(L, 1);
        }
        sr_names_t absent = {0}, unlisted = {0};
        sr_diag_t fd;
        sr_diag_init(&fd);
        if (names && sr_ruleset_files(dir, names, nn, &absent, &unlisted, &fd) == SR_OK) {
            for (size_t i = 0; i < absent.n; i++) {
                for (lua_Integer j = 1; j <= n; j++) {
                    int is = lua_rawgeti(L, -1, j) == LUA_TSTRING && strcmp(lua_tostring(L, -1), absent.v[i]) == 0;
                    lua_pop(L, 1);
                    if (is) {
                        sr_pathseg_t path[2] = {{"files", 5, 0}, {NULL, 0, j - 1}};
                        pos_of(rd, path, 2, 0, &line, &col);
                        break;
                    }
                }
                *fatal = 1;
                sr_findings_add(f, SR_FINDING_ERROR, mpath, line, col, sr_msg(SR_MSG_CHK_FILE_MISSING), absent.v[i]);
            }
            sr_pathseg_t seg = {"files", 5, 0};
            pos_of(rd, &seg, 1, 0, &line, &col);
            for (size_t i = 0; i < unlisted.n; i++) {
                *fatal = 1;
                sr_findings_add(f, SR_FINDING_ERROR, mpath, line, col, sr_msg(SR_MSG_CHK_FILE_UNLISTED), unlisted.v[i]);
            }
        } else if (names) {
            add_diag(f, &(source_t){0}, SR_FINDING_ERROR, &fd, dir);
            *fatal = 1;
        }
        sr_diag_free(&fd);
        sr_names_free(&absent);
        sr_names_free(&unlisted);
        free(names);
    }
    lua_pop(L, 1);
    free(root);
    return 0;
}

/* ------------------------------------------------------------------ */
/* The rule files: syntax, bytecode checks, globals                     */

/* Builds a sandbox with the prelude's vocabulary installed in the rules'
 * environment, and collects the names that environment holds. */
static sr_status_t vocabulary(sr_sandbox_t *sb, int *ready, names_t *allowed, sr_diag_t *d)
{
    sr_status_t st = sr_sandbox_init(sb, 0, d);
    if (st != SR_OK)
        return st;
    *ready = 1; /* the caller frees sb */
    lua_State *L = sb->L;
    if ((st = sr_prelude_load(L, d)) != SR_OK)
        return st;
    lua_getfield(L, -1, "install");
    sr_sandbox_push_env(sb);
    if ((st = sr_sandbox_pcall(L, 1, 0, d)) != SR_OK)
        return st;
    lua_pop(L, 1); /* P */
    sr_sandbox_push_env(sb);
    lua_pushnil(L);
    while (lua_next(L, -2)) {
        lua_pop(L, 1);
        if (lua_type(L, -1) == LUA_TSTRING && names_push(allowed, lua_tostring(L, -1)) != 0) {
            lua_settop(L, 0);
            sr_diag_set(d, SR_ERR_NOMEM, NULL, 0, 0, NULL, "out of memory");
            return SR_ERR_NOMEM;
        }
    }
    lua_pop(L, 1);
    return SR_OK;
}

/* Is lib.field in the rules' environment? */
static int env_has_field(sr_sandbox_t *sb, const char *lib, const char *field)
{
    lua_State *L = sb->L;
    sr_sandbox_push_env(sb);
    int has = 1;
    if (lua_getfield(L, -1, lib) == LUA_TTABLE) { /* a raw table: the environment is not frozen yet */
        lua_pushstring(L, field);
        has = lua_rawget(L, -2) != LUA_TNIL;
        lua_pop(L, 1);
    }
    lua_pop(L, 2);
    return has;
}

typedef struct {
    char *path;  /* as in positions: <dir>/<file> */
    grefs_t refs;
} scanned_t;

static void check_globals(sr_sandbox_t *sb, scanned_t *files, size_t n, const names_t *allowed,
                          source_t *src, sr_findings_t *f)
{
    names_t defined = {0};
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < files[i].refs.n; j++) {
            const gref_t *r = &files[i].refs.v[j];
            if (r->write && !r->in_function && !names_has(&defined, r->name))
                names_push(&defined, r->name);
        }
    for (size_t i = 0; i < n; i++) {
        names_t said = {0}; /* one finding per name and line */
        for (size_t j = 0; j < files[i].refs.n; j++) {
            const gref_t *r = &files[i].refs.v[j];
            /* one finding per name and line; a library's field, per field */
            int allowed_lib = !r->write && (names_has(allowed, r->name) || names_has(&defined, r->name));
            char key[300];
            snprintf(key, sizeof key, "%d:%d:%s.%s", r->line, r->write, r->name,
                     allowed_lib && r->field ? r->field : "");
            if (names_has(&said, key))
                continue;
            int line = r->line;
            if (r->write) {
                if (r->in_function) {
                    names_push(&said, key);
                    int col = locate(src, files[i].path, &line, r->name, 0);
                    sr_findings_add(f, SR_FINDING_ERROR, files[i].path, line, col,
                                    sr_msg(SR_MSG_CHK_GLOBAL_SET_IN_FUNCTION), r->name);
                }
                continue;
            }
            if (names_has(allowed, r->name) || names_has(&defined, r->name)) {
                if (r->field && names_has(allowed, r->name) && !env_has_field(sb, r->name, r->field)) {
                    names_push(&said, key);
                    int col = locate(src, files[i].path, &line, r->name, 0);
                    sr_findings_add(f, SR_FINDING_ERROR, files[i].path, line, col, sr_msg(SR_MSG_CHK_FORBIDDEN_FIELD),
                                    r->name, r->field);
                }
                continue;
            }
            names_push(&said, key);
            int col = locate(src, files[i].path, &line, r->name, 0);
            if (strcmp(r->name, "setmetatable") == 0 || strcmp(r->name, "getmetatable") == 0) {
                sr_findings_add(f, SR_FINDING_ERROR, files[i].path, line, col, sr_msg(SR_MSG_CHK_FORBIDDEN_METATABLE),
                                r->name);
            } else if (strcmp(r->name, "coroutine") == 0) {
                sr_findings_add(f, SR_FINDING_ERROR, files[i].path, line, col, sr_msg(SR_MSG_CHK_FORBIDDEN_COROUTINE),
                                r->name);
            } else if (is_refused(r->name)) {
                sr_findings_add(f, SR_FINDING_ERROR, files[i].path, line, col, sr_msg(SR_MSG_CHK_FORBIDDEN_GLOBAL),
                                r->name);
            } else {
                const char *near = closest(allowed, r->name);
                char *hint = near ? sr_asprintf(sr_msg(SR_MSG_CHK_DID_YOU_MEAN), near) : NULL;
                sr_findings_add(f, SR_FINDING_ERROR, files[i].path, line, col, sr_msg(SR_MSG_CHK_UNDEFINED_GLOBAL),
                                r->name, hint ? hint : "");
                free(hint);
            }
        }
        names_free(&said);
    }
    names_free(&defined);
}

/* ------------------------------------------------------------------ */
/* The checker of tables and conditions (engine/lint.lua)               */

/* Pushes the case schema the rule set names, as a Lua table (an empty table
 * when there is none). [-0, +1] */
static void push_case_schema(sr_engine_t *e, const char *text, size_t len)
{
    lua_State *L = e->sb.L;
    char *path = e->root && e->case_schema ? sr_asprintf("%s/%s", e->root, e->case_schema) : NULL;
    sr_reader_t *rd = NULL;
    sr_diag_t d;
    sr_diag_init(&d);
    int top = lua_gettop(L);
    if (!text && path && sr_schema_kept_doc(L, path)) { /* read by sr_engine_load_schemas a moment ago */
        free(path);
        return;
    }
    sr_status_t st = !path ? SR_ERR_NOMEM
                     : text ? sr_reader_open_mem(&rd, path, text, len, SR_IN_YAML, NULL, &d)
                            : sr_reader_open(&rd, path, SR_IN_YAML, NULL, &d);
    if (st != SR_OK || sr_reader_next(rd, L, &d) != SR_OK || !lua_istable(L, -1)) {
        /* the engine validated its cases against this schema when it opened: only memory can fail here */
        lua_settop(L, top);
        lua_newtable(L);
    }
    sr_reader_close(rd);
    sr_diag_free(&d);
    free(path);
}

/* sr_lint_engine, with the case schema read from schema (len bytes) when
 * not NULL; errors_only: warnings may be left out (the checks at open). */
static sr_status_t lint_engine(sr_engine_t *e, int probe, int errors_only, const char *schema, size_t len,
                               sr_findings_t *f, sr_diag_t *d)
{
    lua_State *L = e->sb.L;
    int top = lua_gettop(L);
    if (luaL_loadbufferx(L, sr_lint_lua, sr_lint_lua_len, "@engine/lint.lua", "t") != LUA_OK) {
        sr_diag_set(d, SR_ERR_RULE, NULL, 0, 0, NULL, "%s", lua_tostring(L, -1));
        sr_diag_split_lua(d);
        lua_settop(L, top);
        return SR_ERR_RULE;
    }
    sr_status_t st = sr_sandbox_pcall(L, 0, 1, d); /* the chunk returns the checker */
    if (st != SR_OK) {
        lua_settop(L, top);
        return st;
    }
    lua_rawgeti(L, LUA_REGISTRYINDEX, e->prelude_ref);
    push_case_schema(e, schema, len);
    lua_createtable(L, 0, 5);
    lua_pushboolean(L, probe);
    lua_setfield(L, -2, "probe");
    lua_pushboolean(L, errors_only);
    lua_setfield(L, -2, "errors_only");
    if (probe) { /* opts.probes: the function engine/probe.lua returns */
        if (luaL_loadbufferx(L, sr_probe_lua, sr_probe_lua_len, "@engine/probe.lua", "t") != LUA_OK) {
            sr_diag_set(d, SR_ERR_RULE, NULL, 0, 0, NULL, "%s", lua_tostring(L, -1));
            sr_diag_split_lua(d);
            lua_settop(L, top);
            return SR_ERR_RULE;
        }
        if ((st = sr_sandbox_pcall(L, 0, 1, d)) != SR_OK) {
            lua_settop(L, top);
            return st;
        }
        lua_setfield(L, -2, "probes");
    }
    lua_pushstring(L, sr_lang_code(sr_get_lang()));
    lua_setfield(L, -2, "lang");
    unsigned saved = e->sb.limits.time_limit_ms;
    if (probe && saved) /* the probes evaluate a few hundred cases in one run */
        e->sb.limits.time_limit_ms = saved * 5;
    st = sr_sandbox_run(&e->sb, 3, 1, d);
    e->sb.limits.time_limit_ms = saved;
    if (st != SR_OK) {
        lua_settop(L, top);
        return st;
    }
    source_t src = {0};
    int list = lua_gettop(L);
    lua_Integer n = lua_istable(L, list) ? (lua_Integer)lua_rawlen(L, list) : 0;
    for (lua_Integer i = 1; i <= n; i++) {
        if (lua_rawgeti(L, list, i) != LUA_TTABLE) {
            lua_pop(L, 1);
            continue;
        }
        lua_getfield(L, -1, "severity");
        sr_finding_kind_t kind = lua_type(L, -1) == LUA_TSTRING && strcmp(lua_tostring(L, -1), "warning") == 0
                                     ? SR_FINDING_WARNING
                                     : SR_FINDING_ERROR;
        lua_getfield(L, -2, "pos");
        lua_getfield(L, -3, "hint");
        lua_getfield(L, -4, "forward");
        lua_getfield(L, -5, "message");
        const char *pos = lua_tostring(L, -4), *hint = lua_tostring(L, -3), *msg = lua_tostring(L, -1);
        int forward = lua_toboolean(L, -2);
        char *file = NULL;
        int line = 0, col = 0;
        if (pos) {
            /* "file:line:" */
            const char *end = pos + strlen(pos);
            if (end > pos && end[-1] == ':')
                end--;
            const char *colon = end;
            while (colon > pos && colon[-1] != ':')
                colon--;
            char *named = colon > pos && colon < end ? sr_strndup(pos, (size_t)(colon - 1 - pos))
                                                     : sr_strndup(pos, (size_t)(end - pos));
            if (colon > pos && colon < end)
                line = atoi(colon);
            file = full_path(e->dir, named);
            free(named);
            if (file && line > 0)
                col = locate(&src, file, &line, hint, forward);
        }
        if (sr_findings_add(f, kind, file, line, col, "%s", msg ? msg : "?") != 0) {
            free(file);
            source_free(&src);
            lua_settop(L, top);
            sr_diag_set(d, SR_ERR_NOMEM, NULL, 0, 0, NULL, "out of memory");
            return SR_ERR_NOMEM;
        }
        free(file);
        lua_pop(L, 6);
    }
    source_free(&src);
    lua_settop(L, top);
    return SR_OK;
}

sr_status_t sr_lint_engine(sr_engine_t *e, int probe, sr_findings_t *f, sr_diag_t *d)
{
    return lint_engine(e, probe, 0, NULL, 0, f, d);
}

/* ------------------------------------------------------------------ */
/* The verdict cache: "this engine found no error in this rule set"      */

/* The checks at open cost about a quarter of a one-case eval; their verdict
 * depends only on the engine (its code, the prelude and the checker, all in
 * the build), the rule set (its digest) and the case schema's file. A clean
 * verdict is remembered across processes as a one-line file named by the
 * SHA-256 of those, in a folder of the user's own. A forged or stale entry
 * can only skip the checks (eval then runs the rule set as an unchecked
 * engine would; `check` always runs them), never change a result: results
 * come from the files, read and digested at every open. Only "no error" is
 * stored, so a refusal is always the checker's own, with its message. */

/* The build id (the linker's hash of the object) of the executable or shared
 * library holding this code. */
typedef struct {
    const void *base;
    unsigned char id[64];
    size_t len;
} build_id_t;

static int find_build_id(struct dl_phdr_info *info, size_t size, void *data)
{
    (void)size;
    build_id_t *b = data;
    if ((const void *)info->dlpi_addr != b->base)
        return 0;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_NOTE)
            continue;
        const unsigned char *p = (const unsigned char *)(info->dlpi_addr + ph->p_vaddr);
        const unsigned char *end = p + ph->p_memsz;
        while (p + sizeof(ElfW(Nhdr)) <= end) {
            const ElfW(Nhdr) *nh = (const ElfW(Nhdr) *)p;
            const unsigned char *name = p + sizeof *nh;
            const unsigned char *desc = name + ((nh->n_namesz + 3) & ~3u);
            if (desc + nh->n_descsz > end)
                break;
            if (nh->n_type == NT_GNU_BUILD_ID && nh->n_namesz == 4 && memcmp(name, "GNU", 4) == 0 &&
                nh->n_descsz > 0 && nh->n_descsz <= sizeof b->id) {
                memcpy(b->id, desc, nh->n_descsz);
                b->len = nh->n_descsz;
                return 1;
            }
            p = desc + ((nh->n_descsz + 3) & ~3u);
        }
    }
    return 1; /* our object, with no build id */
}

/* The cache folder, malloc'd, or NULL when there is none: $SPINERULES_CACHE
 * when set to an absolute path. There is no default folder: the cache is
 * used only where it was asked for, so that a run (a test suite, a CI job)
 * leaves nothing behind unless told to. */
static char *verdict_dir(void)
{
    const char *env = getenv("SPINERULES_CACHE");
    return env && env[0] == '/' ? sr_strdup(env) : NULL;
}

/* Fills path with the entry for e's rule set and schema with the bytes of
 * the case schema's file it hashed (*len of them; the checker reads these,
 * not the file again); both malloc'd. Returns 0, or -1 when there is no
 * cache (no folder, no build id, the case schema unreadable). */
static int verdict_path(const sr_engine_t *e, char **path, char **schema_out, size_t *len)
{
    *path = *schema_out = NULL;
    *len = 0;
    Dl_info info;
    build_id_t b = {NULL, {0}, 0};
    static const char here = 0; /* an address inside this object */
    char *dir = e->digest ? verdict_dir() : NULL;
    if (!dir)
        return -1;
    if (dladdr(&here, &info) && info.dli_fbase) {
        b.base = info.dli_fbase;
        /* dlpi_addr is the load bias, dli_fbase the load address: equal for
         * PIE executables and shared libraries; any other build has no cache */
        dl_iterate_phdr(find_build_id, &b);
    }
    char *schema_path = b.len && e->root && e->case_schema ? sr_asprintf("%s/%s", e->root, e->case_schema) : NULL;
    size_t slen = 0;
    char *schema = schema_path ? sr_read_file(schema_path, &slen) : NULL;
    free(schema_path);
    if (!schema) {
        free(dir);
        return -1;
    }
    SHA256_CTX md;
    unsigned char hash[SHA256_DIGEST_LENGTH];
    char head[32];
    int n = snprintf(head, sizeof head, "%zu", slen);
    SHA256_Init(&md);
    SHA256_Update(&md, "spinerules-lint-verdict-v1", 27);
    SHA256_Update(&md, b.id, b.len);
    SHA256_Update(&md, SR_VERSION, sizeof SR_VERSION);
    const char *yaml = yaml_get_version_string(); /* how the schema's YAML reads */
    SHA256_Update(&md, yaml, strlen(yaml) + 1);
    SHA256_Update(&md, e->digest, strlen(e->digest) + 1);
    SHA256_Update(&md, head, (size_t)n + 1);
    SHA256_Update(&md, schema, slen);
    SHA256_Final(hash, &md);
    char hex[2 * SHA256_DIGEST_LENGTH + 1];
    for (int i = 0; i < SHA256_DIGEST_LENGTH; i++)
        snprintf(hex + 2 * i, 3, "%02x", hash[i]);
    *path = sr_asprintf("%s/lint-%s", dir, hex);
    free(dir);
    if (!*path) {
        free(schema);
        return -1;
    }
    *schema_out = schema;
    *len = slen;
    return 0;
}

/* Is the folder of path ours alone (owned by us, writable by no one else)? */
static int dir_is_private(const char *path)
{
    const char *slash = strrchr(path, '/');
    char *dir = slash ? sr_strndup(path, (size_t)(slash - path)) : NULL;
    struct stat st;
    int ok = dir && lstat(dir, &st) == 0 && S_ISDIR(st.st_mode) && st.st_uid == geteuid() &&
             (st.st_mode & (S_IWGRP | S_IWOTH)) == 0;
    free(dir);
    return ok;
}

static int verdict_cached(const char *path)
{
    struct stat st;
    return dir_is_private(path) && lstat(path, &st) == 0 && S_ISREG(st.st_mode) && st.st_uid == geteuid();
}

/* Records a clean verdict; any failure (a read-only or foreign folder, a
 * full disk) leaves the cache as it was. */
static void verdict_store(const char *path)
{
    const char *slash = strrchr(path, '/');
    char *dir = slash ? sr_strndup(path, (size_t)(slash - path)) : NULL;
    if (dir)
        mkdir(dir, 0700); /* its parent must exist */
    free(dir);
    if (!dir_is_private(path))
        return;
    char *tmp = sr_asprintf("%s.%ld.tmp", path, (long)getpid());
    int fd = tmp ? open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0600) : -1;
    if (fd >= 0) {
        static const char line[] = "spinerules: the checks at open found no error\n";
        int ok = write(fd, line, sizeof line - 1) == (ssize_t)(sizeof line - 1);
        ok = close(fd) == 0 && ok;
        if (!ok || rename(tmp, path) != 0) /* rename: readers see the whole entry or none */
            unlink(tmp);
    }
    free(tmp);
}

sr_status_t sr_lint_at_open(sr_engine_t *e, sr_diag_t *d)
{
    char *cache = NULL, *schema = NULL;
    size_t slen = 0;
    if (verdict_path(e, &cache, &schema, &slen) == 0 && verdict_cached(cache)) {
        free(cache);
        free(schema);
        sr_schema_keep_docs(e->sb.L, 0);
        return SR_OK;
    }
    sr_findings_t f;
    sr_findings_init(&f);
    /* with a cache, the checker reads the very bytes the entry's name covers */
    sr_status_t st = lint_engine(e, 0, 1, schema, slen, &f, d);
    if (st == SR_OK && !f.errors && cache)
        verdict_store(cache);
    free(cache);
    free(schema);
    if (st == SR_OK && f.errors) {
        sr_findings_sort(&f);
        for (size_t i = 0; i < f.n; i++) {
            const sr_finding_t *x = &f.v[i];
            if (x->kind != SR_FINDING_ERROR)
                continue;
            sr_diag_set(d, SR_ERR_RULE, x->file, x->line, x->column, NULL, "%s", x->message);
            if (f.errors > 1)
                d->note = sr_asprintf(sr_msg(SR_MSG_EVAL_REFUSED), f.errors, e->dir);
            break;
        }
        st = SR_ERR_RULE;
    }
    sr_findings_free(&f);
    sr_schema_keep_docs(e->sb.L, 0); /* the case schema's document, kept for the checker by open_ruleset */
    lua_gc(e->sb.L, LUA_GCCOLLECT); /* the checker's tables: every worker's engine stays small */
    return st;
}

/* ------------------------------------------------------------------ */
/* The whole check                                                      */

sr_status_t sr_check_ruleset(const char *dir_in, sr_findings_t *f, sr_diag_t *d)
{
    char dirbuf[PATH_MAX];
    const char *dir = realpath(dir_in, dirbuf) ? dirbuf : dir_in;
    char *mpath = sr_asprintf("%s/manifest.yaml", dir);
    char *mtext = NULL;
    size_t mlen = 0;
    sr_reader_t *rd = NULL;
    lua_State *L = luaL_newstate();
    names_t listed = {0}, allowed = {0};
    scanned_t *scanned = NULL;
    size_t nscanned = 0;
    sr_sandbox_t sb;
    int sb_ready = 0, fatal = 0;
    source_t src = {0};
    sr_diag_t ld;
    sr_diag_init(&ld);
    sr_status_t st = SR_OK;
    if (!mpath || !L || order_add(f, mpath) != 0) {
        st = SR_ERR_NOMEM;
        sr_diag_set(d, st, NULL, 0, 0, NULL, "out of memory");
        goto done;
    }
    sr_lv_init(L);

    /* the manifest */
    mtext = sr_read_file(mpath, &mlen);
    if (!mtext) {
        sr_findings_add(f, SR_FINDING_ERROR, mpath, 0, 0, sr_msg(SR_MSG_CHK_CANNOT_READ), strerror(errno));
        goto sorted;
    }
    if (sr_reader_open_mem(&rd, mpath, mtext, mlen, SR_IN_YAML, NULL, &ld) != SR_OK ||
        sr_reader_next(rd, L, &ld) != SR_OK) {
        if (!ld.message)
            sr_diag_set(&ld, SR_ERR_SCHEMA, mpath, 1, 1, NULL, "the manifest is empty");
        add_diag(f, &src, SR_FINDING_ERROR, &ld, dir);
        goto sorted;
    }
    if (!lua_istable(L, -1) || sr_lv_isarray(L, -1)) {
        sr_findings_add(f, SR_FINDING_ERROR, mpath, 1, 1, "%s", sr_msg(SR_MSG_CHK_MANIFEST_NOT_MAPPING));
        goto sorted;
    }
    check_manifest(L, rd, dir, mpath, f, &listed, &fatal);

    /* every listed rule file: its syntax, what the sandbox refuses, its globals */
    for (size_t i = 0; i < listed.n; i++) {
        char *p = sr_asprintf("%s/%s", dir, listed.v[i]);
        if (!p || order_add(f, p) != 0) {
            free(p);
            st = SR_ERR_NOMEM;
            goto sorted;
        }
        free(p);
    }
    if ((st = vocabulary(&sb, &sb_ready, &allowed, d)) != SR_OK)
        goto sorted;
    scanned = calloc(listed.n ? listed.n : 1, sizeof *scanned);
    if (!scanned) {
        st = SR_ERR_NOMEM;
        sr_diag_set(d, st, NULL, 0, 0, NULL, "out of memory");
        goto sorted;
    }
    for (size_t i = 0; i < listed.n; i++) {
        char *path = sr_asprintf("%s/%s", dir, listed.v[i]);
        size_t tlen = 0;
        char *text = path ? sr_read_file(path, &tlen) : NULL;
        if (!text) { /* reported with the manifest */
            free(path);
            continue;
        }
        char *chunk = sr_asprintf("@%s", path);
        sr_diag_free(&ld);
        if (chunk && sr_sandbox_load(&sb, text, tlen, chunk, 0, &ld) == SR_OK) {
            scanned[nscanned].path = path;
            path = NULL;
            if (scan_globals(sb.L, &scanned[nscanned].refs) != 0) {
                st = SR_ERR_NOMEM;
                sr_diag_set(d, st, NULL, 0, 0, NULL, "out of memory reading a compiled rule file");
            }
            nscanned++;
            lua_pop(sb.L, 1);
        } else {
            if (!ld.file)
                ld.file = sr_strdup(path);
            add_diag(f, &src, SR_FINDING_ERROR, &ld, dir);
            fatal = 1;
        }
        free(chunk);
        free(path);
        free(text);
        if (st != SR_OK)
            goto sorted;
    }
    {
        size_t before = f->errors;
        check_globals(&sb, scanned, nscanned, &allowed, &src, f);
        if (f->errors != before)
            fatal = 1;
    }

    /* the rules run: tables, bands, conditions, probes */
    if (!fatal) {
        sr_engine_t *e = NULL;
        sr_diag_free(&ld);
        if (sr_engine_open_unlinted(&e, dir, &ld) != SR_OK) {
            add_diag(f, &src, SR_FINDING_ERROR, &ld, dir);
        } else {
            st = sr_lint_engine(e, 1, f, d);
            if (st == SR_ERR_LIMIT || st == SR_ERR_RULE) {
                /* the checker stopped (a limit in a probe): say so, keep what it found */
                char *msg = sr_asprintf(sr_msg(SR_MSG_CHK_PROBES_STOPPED), d->message ? d->message : "");
                free(d->message);
                d->message = msg;
                add_diag(f, &src, SR_FINDING_ERROR, d, dir);
                sr_diag_free(d);
                st = SR_OK;
            }
            sr_engine_close(e);
        }
    }

sorted:
    sr_findings_sort(f);
done:
    source_free(&src);
    for (size_t i = 0; i < nscanned; i++) {
        free(scanned[i].path);
        grefs_free(&scanned[i].refs);
    }
    free(scanned);
    if (sb_ready)
        sr_sandbox_free(&sb);
    names_free(&listed);
    names_free(&allowed);
    sr_diag_free(&ld);
    sr_reader_close(rd);
    if (L)
        lua_close(L);
    free(mtext);
    free(mpath);
    return st;
}
