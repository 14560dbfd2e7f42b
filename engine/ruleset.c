/* ruleset.c -- opens a rule set: reads its manifest, checks that it lists
 * exactly the rule files of its folder, computes its digest, loads the
 * prelude and every rule file once into the sandbox; finds the rule sets
 * installed under a rules/ folder.
 *
 * The digest (written into every result as ruleset.digest) is SHA-256 over
 *   "spinerules-digest-v2" NUL
 *   then, for the manifest and for each listed file in the manifest's order,
 *   <name> NUL <decimal byte count> NUL <bytes>
 * where the manifest's part is named "manifest.json" and its bytes are the
 * canonical JSON of the parsed manifest (sr_canonical_json): comments, blank
 * lines, quoting styles and key order in manifest.yaml do not change the
 * digest, while any change of a value does. Rule files are hashed byte for
 * byte (a comment moved in a rule file moves the lines that messages point
 * at). docs/auditing.md shows how to recompute it independently. */
#include <dirent.h>
#include <errno.h>
#include <lauxlib.h>
#include <math.h>
/* SHA256_Init and friends are deprecated since OpenSSL 3.0 in favour of EVP,
 * but EVP's first digest loads the providers (and the configuration file):
 * about 5 million instructions, the better part of a millisecond, in every
 * process that opens a rule set; the low-level functions compute the same
 * SHA-256 with no set-up. */
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/sha.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "bytecode.h"
#include "check.h"
#include "engine.h"
#include "lvalue.h"
#include "reader.h"
#include "ruleset.h"
#include "util.h"
#include "validate.h"
#include "writer.h"

/* Position of a manifest field, for messages. */
static void manifest_pos(sr_reader_t *rd, const char *key, int *line, int *col)
{
    sr_pathseg_t seg = {key, strlen(key), 0};
    if (sr_reader_locate(rd, &seg, 1, 0, line, col) < 0)
        *line = *col = 0;
}

/* Reads a string field of the manifest table at the top of the stack. */
static sr_status_t manifest_string(sr_reader_t *rd, lua_State *L, const char *file, const char *key,
                                   int required, char **out, sr_diag_t *d)
{
    int line, col;
    int t = lua_getfield(L, -1, key);
    if (t == LUA_TSTRING) {
        *out = sr_strdup(lua_tostring(L, -1));
        lua_pop(L, 1);
        return SR_OK;
    }
    lua_pop(L, 1);
    if (!required && (t == LUA_TNIL))
        return SR_OK;
    manifest_pos(rd, key, &line, &col);
    if (t == LUA_TNIL)
        sr_diag_set(d, SR_ERR_SCHEMA, file, 1, 1, NULL, "manifest has no '%s' (expected a string)", key);
    else
        sr_diag_set(d, SR_ERR_SCHEMA, file, line, col, key, "expected a string");
    return SR_ERR_SCHEMA;
}

static int digest_part(SHA256_CTX *md, const char *name, const char *data, size_t len)
{
    char head[64];
    int n = snprintf(head, sizeof head, "%zu", len);
    return SHA256_Update(md, name, strlen(name) + 1) && SHA256_Update(md, head, (size_t)n + 1) &&
           SHA256_Update(md, data, len);
}

/* ---- canonical JSON: the manifest's part of the digest ---- */

typedef struct {
    const char *s;
    size_t len;
} mkey_t;

static int mkey_cmp(const void *a, const void *b)
{
    const mkey_t *x = a, *y = b;
    int c = memcmp(x->s, y->s, x->len < y->len ? x->len : y->len);
    return c ? c : (x->len > y->len) - (x->len < y->len);
}

static void canon_string(sr_buf_t *b, const char *s, size_t n)
{
    sr_buf_append(b, "\"", 1);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        const char *esc = c == '"' ? "\\\"" : c == '\\' ? "\\\\" : c == '\b' ? "\\b" : c == '\f' ? "\\f"
                        : c == '\n' ? "\\n" : c == '\r' ? "\\r" : c == '\t' ? "\\t" : NULL;
        if (esc)
            sr_buf_puts(b, esc);
        else if (c < 0x20)
            sr_buf_printf(b, "\\u%04x", c);
        else
            sr_buf_append(b, s + i, 1);
    }
    sr_buf_append(b, "\"", 1);
}

/* Appends the canonical JSON of the value at idx; 0 on success, -1 when it
 * has no JSON form. [-0, +0] */
static int canon_value(lua_State *L, int idx, sr_buf_t *b, int depth)
{
    idx = lua_absindex(L, idx);
    switch (lua_type(L, idx)) {
    case LUA_TBOOLEAN:
        sr_buf_puts(b, lua_toboolean(L, idx) ? "true" : "false");
        return 0;
    case LUA_TSTRING: {
        size_t n;
        const char *s = lua_tolstring(L, idx, &n);
        canon_string(b, s, n);
        return 0;
    }
    case LUA_TNUMBER:
        if (lua_isinteger(L, idx)) {
            sr_buf_printf(b, "%lld", (long long)lua_tointeger(L, idx));
        } else {
            double x = lua_tonumber(L, idx);
            if (!isfinite(x))
                return -1;
            char tmp[40];
            for (int prec = 1; prec <= 17; prec++) { /* the shortest form that reads back */
                snprintf(tmp, sizeof tmp, "%.*g", prec, x);
                if (strtod(tmp, NULL) == x)
                    break;
            }
            sr_buf_puts(b, tmp);
        }
        return 0;
    case LUA_TLIGHTUSERDATA:
        if (!sr_lv_isnull(L, idx))
            return -1;
        sr_buf_puts(b, "null");
        return 0;
    case LUA_TTABLE:
        break;
    default:
        return -1;
    }
    if (depth >= 64 || !lua_checkstack(L, 4))
        return -1;
    if (sr_lv_isarray(L, idx)) {
        lua_Integer n = (lua_Integer)lua_rawlen(L, idx);
        sr_buf_append(b, "[", 1);
        for (lua_Integer i = 1; i <= n; i++) {
            if (i > 1)
                sr_buf_append(b, ",", 1);
            lua_rawgeti(L, idx, i);
            int rc = canon_value(L, -1, b, depth + 1);
            lua_pop(L, 1);
            if (rc)
                return -1;
        }
        sr_buf_append(b, "]", 1);
        return 0;
    }
    size_t nkeys = 0, cap = 0;
    mkey_t *keys = NULL;
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        lua_pop(L, 1); /* the value */
        if (lua_type(L, -1) != LUA_TSTRING) {
            lua_pop(L, 1);
            free(keys);
            return -1;
        }
        if (nkeys == cap) {
            mkey_t *k = realloc(keys, (cap = cap ? 2 * cap : 8) * sizeof *keys);
            if (!k) {
                lua_pop(L, 1);
                free(keys);
                return -1;
            }
            keys = k;
        }
        /* the string stays alive: the table holds it */
        keys[nkeys].s = lua_tolstring(L, -1, &keys[nkeys].len);
        nkeys++;
    }
    if (nkeys)
        qsort(keys, nkeys, sizeof *keys, mkey_cmp);
    sr_buf_append(b, "{", 1);
    int rc = 0;
    for (size_t i = 0; i < nkeys && rc == 0; i++) {
        if (i)
            sr_buf_append(b, ",", 1);
        canon_string(b, keys[i].s, keys[i].len);
        sr_buf_append(b, ":", 1);
        lua_pushlstring(L, keys[i].s, keys[i].len);
        lua_rawget(L, idx);
        rc = canon_value(L, -1, b, depth + 1);
        lua_pop(L, 1);
    }
    sr_buf_append(b, "}", 1);
    free(keys);
    return rc;
}

char *sr_canonical_json(lua_State *L, int idx, size_t *len)
{
    sr_buf_t b;
    sr_buf_init(&b);
    if (canon_value(L, idx, &b, 0) != 0 || sr_buf_reserve(&b, 0) != 0) {
        sr_buf_free(&b);
        return NULL;
    }
    *len = b.len;
    return b.data;
}

/* ---- the rule files of a folder ---- */

void sr_names_free(sr_names_t *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

static int names_add(sr_names_t *l, const char *s)
{
    char **v = realloc(l->v, (l->n + 1) * sizeof *v);
    if (!v)
        return -1;
    l->v = v;
    if (!(v[l->n] = sr_strdup(s)))
        return -1;
    l->n++;
    return 0;
}

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int is_regular(const char *dir, const char *name)
{
    char *p = sr_asprintf("%s/%s", dir, name);
    struct stat st;
    int ok = p && stat(p, &st) == 0 && S_ISREG(st.st_mode);
    free(p);
    return ok;
}

sr_status_t sr_ruleset_files(const char *dir, const char *const *listed, size_t n, sr_names_t *absent,
                             sr_names_t *unlisted, sr_diag_t *d)
{
    sr_names_t dummy_a = {NULL, 0}, dummy_u = {NULL, 0};
    if (!absent)
        absent = &dummy_a;
    if (!unlisted)
        unlisted = &dummy_u;
    absent->v = unlisted->v = NULL;
    absent->n = unlisted->n = 0;
    DIR *dp = opendir(dir);
    if (!dp) {
        sr_diag_set(d, SR_ERR_IO, dir, 0, 0, NULL, "cannot read the rule set's folder: %s", strerror(errno));
        return SR_ERR_IO;
    }
    int oom = 0;
    struct dirent *de;
    while (!oom && (de = readdir(dp))) {
        size_t len = strlen(de->d_name);
        if (de->d_name[0] == '.' || len <= 4 || strcmp(de->d_name + len - 4, ".lua") != 0 ||
            !is_regular(dir, de->d_name))
            continue;
        size_t i = 0;
        while (i < n && strcmp(listed[i], de->d_name) != 0)
            i++;
        if (i == n)
            oom = names_add(unlisted, de->d_name) != 0;
    }
    closedir(dp);
    for (size_t i = 0; !oom && i < n; i++)
        if (!is_regular(dir, listed[i]))
            oom = names_add(absent, listed[i]) != 0;
    if (oom) {
        sr_names_free(absent);
        sr_names_free(unlisted);
        sr_diag_set(d, SR_ERR_NOMEM, NULL, 0, 0, NULL, "out of memory");
        return SR_ERR_NOMEM;
    }
    if (unlisted->n > 1)
        qsort(unlisted->v, unlisted->n, sizeof *unlisted->v, name_cmp);
    sr_names_free(&dummy_a);
    sr_names_free(&dummy_u);
    return SR_OK;
}

/* Checks that the manifest's files (the array at files, n entries) are
 * exactly the .lua files of dir; the error points at the manifest. */
static sr_status_t check_listed_files(const char *dir, lua_State *L, int files, lua_Integer n, sr_reader_t *rd,
                                      const char *mpath, sr_diag_t *d)
{
    const char **listed = calloc((size_t)n + 1, sizeof *listed);
    if (!listed) {
        sr_diag_set(d, SR_ERR_NOMEM, NULL, 0, 0, NULL, "out of memory");
        return SR_ERR_NOMEM;
    }
    for (lua_Integer i = 1; i <= n; i++) {
        lua_rawgeti(L, files, i);
        listed[i - 1] = lua_tostring(L, -1); /* kept alive by the manifest table */
        lua_pop(L, 1);
        if (!listed[i - 1]) {
            free(listed);
            sr_diag_set(d, SR_ERR_SCHEMA, mpath, 0, 0, "files", "files[%lld]: expected a file name",
                        (long long)(i - 1));
            return SR_ERR_SCHEMA;
        }
    }
    sr_names_t absent, unlisted;
    sr_status_t st = sr_ruleset_files(dir, listed, (size_t)n, &absent, &unlisted, d);
    int line = 0, col = 0;
    if (st == SR_OK && absent.n) {
        lua_Integer i = 0;
        while (i < n && strcmp(listed[i], absent.v[0]) != 0)
            i++;
        sr_pathseg_t path[2] = {{"files", 5, 0}, {NULL, 0, i}};
        sr_reader_locate(rd, path, 2, 0, &line, &col);
        st = SR_ERR_SCHEMA;
        sr_diag_set(d, st, mpath, line, col, NULL,
                    "rule file '%s' is listed in files but is not in the rule set's folder", absent.v[0]);
    } else if (st == SR_OK && unlisted.n) {
        sr_buf_t b;
        sr_buf_init(&b);
        for (size_t i = 0; i < unlisted.n; i++)
            sr_buf_printf(&b, "%s'%s'", i ? ", " : "", unlisted.v[i]);
        manifest_pos(rd, "files", &line, &col);
        st = SR_ERR_SCHEMA;
        sr_diag_set(d, st, mpath, line, col, NULL, "rule file%s %s %s in the rule set's folder but not listed in files"
                    " (list %s, or move %s out of the folder)", unlisted.n > 1 ? "s" : "", b.data ? b.data : "",
                    unlisted.n > 1 ? "are" : "is", unlisted.n > 1 ? "them" : "it", unlisted.n > 1 ? "them" : "it");
        sr_buf_free(&b);
    }
    sr_names_free(&absent);
    sr_names_free(&unlisted);
    free(listed);
    return st;
}

/* The prelude's main function as lua_dump wrote it (debug information
 * kept: positions in messages are the same), once an engine of the process
 * has shared it (sr_prelude_share: the pipeline does before it opens its
 * workers' engines); later engines load it instead of compiling the embedded
 * source again, about 10 M instructions each. Bytecode this process produced
 * itself from the engine's own source, never read from outside. Written
 * once, kept until exit. */
static pthread_mutex_t prelude_mu = PTHREAD_MUTEX_INITIALIZER;
static sr_buf_t prelude_bc; /* empty until shared */

/* Registry field: the prelude's main function, kept by open_ruleset for sr_prelude_share. */
#define REG_PRELUDE_CHUNK "sr.prelude_chunk"

/* Pushes the prelude's main function: loaded from prelude_bc when an engine
 * shared it, else compiled from the embedded source. [-0, +1] */
static int load_prelude_chunk(lua_State *L)
{
    pthread_mutex_lock(&prelude_mu);
    int rc = prelude_bc.len ? luaL_loadbufferx(L, prelude_bc.data, prelude_bc.len, SR_PRELUDE_SOURCE, "b")
                            : luaL_loadbufferx(L, sr_prelude_lua, sr_prelude_lua_len, SR_PRELUDE_SOURCE, "t");
    pthread_mutex_unlock(&prelude_mu);
    return rc;
}

void sr_prelude_share(sr_engine_t *e)
{
    lua_State *L = e->sb.L;
    pthread_mutex_lock(&prelude_mu);
    if (!prelude_bc.len) { /* a second pipeline (diff runs two) finds it shared already */
        if (lua_getfield(L, LUA_REGISTRYINDEX, REG_PRELUDE_CHUNK) == LUA_TFUNCTION) {
            sr_buf_t b;
            sr_buf_init(&b);
            if (bc_dump(L, &b) == 0 && b.len)
                prelude_bc = b;
            else
                sr_buf_free(&b); /* out of memory: the next engines compile */
        }
        lua_pop(L, 1); /* the function, or what stands in its place */
    }
    pthread_mutex_unlock(&prelude_mu);
}

/* host.caller_position(), the prelude's where() (P.where for the checker's
 * probes): "<source>:<line>:" of the nearest function on the stack, from the
 * one that calls it up, that runs a line of a rule file rather than of the
 * engine's own Lua (prelude, checker, probes), as error() would put before
 * a message raised there; "?:" when there is none within 24 levels. */
static int host_caller_position(lua_State *L)
{
    lua_Debug ar;
    if (sr_sandbox_find_frame(L, 1, 25, SR_ENGINE_SOURCES, &ar))
        lua_pushfstring(L, "%s:%d:", ar.short_src, ar.currentline);
    else
        lua_pushliteral(L, "?:");
    return 1;
}

/* Loads and calls the prelude: P = prelude(host). Leaves P on the stack. */
sr_status_t sr_prelude_load(lua_State *L, sr_diag_t *d)
{
    if (load_prelude_chunk(L) != LUA_OK) {
        sr_diag_set(d, SR_ERR_RULE, NULL, 0, 0, NULL, "%s", lua_tostring(L, -1));
        sr_diag_split_lua(d);
        lua_pop(L, 1);
        return SR_ERR_RULE;
    }
    lua_pushvalue(L, -1);
    lua_setfield(L, LUA_REGISTRYINDEX, REG_PRELUDE_CHUNK); /* for sr_prelude_share */
    lua_createtable(L, 0, 4); /* host */
    lua_pushcfunction(L, host_caller_position);
    lua_setfield(L, -2, "caller_position");
    sr_lv_push_array_mt(L);
    lua_setfield(L, -2, "array_mt");
    sr_lv_push_null(L);
    lua_setfield(L, -2, "null");
    lua_pushinteger(L, SR_API_LEVEL);
    lua_setfield(L, -2, "api_level");
    sr_status_t st = sr_sandbox_pcall(L, 1, 1, d);
    if (st != SR_OK)
        return st;
    if (!lua_istable(L, -1)) {
        lua_pop(L, 1);
        sr_diag_set(d, SR_ERR_RULE, "engine/prelude.lua", 0, 0, NULL, "the prelude did not return a table");
        return SR_ERR_RULE;
    }
    return SR_OK;
}

/* Calls P.<fn>(args...) with the given number of arguments already pushed
 * above P's copy, under the sandbox's limits. */
static sr_status_t call_p(sr_sandbox_t *sb, int p_idx, const char *fn, int nargs, int nres, sr_diag_t *d)
{
    lua_State *L = sb->L;
    lua_getfield(L, p_idx, fn);
    if (!lua_isfunction(L, -1)) {
        lua_pop(L, 1 + nargs);
        sr_diag_set(d, SR_ERR_RULE, "engine/prelude.lua", 0, 0, NULL, "the prelude has no function '%s'", fn);
        return SR_ERR_RULE;
    }
    lua_insert(L, -1 - nargs);
    return sr_sandbox_run(sb, nargs, nres, d);
}

static sr_status_t open_ruleset(sr_engine_t *e, const char *dir, int lint, sr_diag_t *d)
{
    lua_State *L = e->sb.L;
    sr_status_t st;
    char *mpath = sr_asprintf("%s/manifest.yaml", dir);
    char *mtext = NULL, *text = NULL, *chunk = NULL, *canon = NULL;
    size_t mlen = 0;
    sr_reader_t *rd = NULL;
    SHA256_CTX md_ctx, *md = &md_ctx;
    int top = lua_gettop(L);
    if (!mpath) {
        st = SR_ERR_NOMEM;
        sr_diag_set(d, st, NULL, 0, 0, NULL, "out of memory");
        goto cleanup;
    }
    mtext = sr_read_file(mpath, &mlen);
    if (!mtext) {
        st = SR_ERR_IO;
        sr_diag_set(d, st, mpath, 0, 0, NULL, "cannot read the rule set's manifest: %s", strerror(errno));
        goto cleanup;
    }
    if ((st = sr_reader_open_mem(&rd, mpath, mtext, mlen, SR_IN_YAML, NULL, d)) != SR_OK)
        goto cleanup;
    st = sr_reader_next(rd, L, d);
    if (st == SR_DONE) {
        st = SR_ERR_SCHEMA;
        sr_diag_set(d, st, mpath, 1, 1, NULL, "the manifest is empty");
    }
    if (st != SR_OK)
        goto cleanup;
    int man = lua_gettop(L);
    if (!lua_istable(L, man) || sr_lv_isarray(L, man)) {
        st = SR_ERR_SCHEMA;
        sr_diag_set(d, st, mpath, 1, 1, NULL, "the manifest must be a mapping");
        goto cleanup;
    }
    if (lint)
        sr_schema_keep_docs(L, 1); /* the checker reads the case schema again */
    if ((st = sr_engine_load_schemas(e, man, rd, mpath, d)) != SR_OK)
        goto cleanup;
    if ((st = manifest_string(rd, L, mpath, "name", 1, &e->name, d)) != SR_OK ||
        (st = manifest_string(rd, L, mpath, "version", 1, &e->version, d)) != SR_OK ||
        (st = manifest_string(rd, L, mpath, "status", 0, &e->status, d)) != SR_OK ||
        (st = manifest_string(rd, L, mpath, "case_schema", 0, &e->case_schema, d)) != SR_OK)
        goto cleanup;
    int line, col;
    lua_getfield(L, man, "api");
    if (!lua_isinteger(L, -1) || lua_tointeger(L, -1) != SR_API_LEVEL) {
        manifest_pos(rd, "api", &line, &col);
        st = SR_ERR_SCHEMA;
        sr_diag_set(d, st, mpath, line, col, "api", "this engine provides prelude API level %d; the manifest asks for %s",
                    SR_API_LEVEL, lua_isnil(L, -1) ? "none (add 'api: 1')" : luaL_tolstring(L, -1, NULL));
        goto cleanup;
    }
    lua_pop(L, 1);
    if (lua_getfield(L, man, "files") != LUA_TTABLE || !sr_lv_isarray(L, -1)) {
        manifest_pos(rd, "files", &line, &col);
        st = SR_ERR_SCHEMA;
        sr_diag_set(d, st, mpath, line, col, "files", "expected the list of rule files");
        goto cleanup;
    }
    int files = lua_gettop(L);
    lua_Integer nfiles = (lua_Integer)lua_rawlen(L, files);
    if ((st = check_listed_files(dir, L, files, nfiles, rd, mpath, d)) != SR_OK)
        goto cleanup;

    size_t clen = 0;
    canon = sr_canonical_json(L, man, &clen);
    if (!canon || !SHA256_Init(md) || !SHA256_Update(md, "spinerules-digest-v2", 21) ||
        !digest_part(md, "manifest.json", canon, clen)) {
        st = SR_ERR_NOMEM;
        sr_diag_set(d, st, NULL, 0, 0, NULL, "cannot compute the rule set digest");
        goto cleanup;
    }

    if ((st = sr_prelude_load(L, d)) != SR_OK)
        goto cleanup;
    int p = lua_gettop(L);
    lua_pushvalue(L, p);
    e->prelude_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    sr_sandbox_push_env(&e->sb);
    if ((st = call_p(&e->sb, p, "install", 1, 0, d)) != SR_OK)
        goto cleanup;

    for (lua_Integer i = 1; i <= nfiles; i++) {
        if (lua_rawgeti(L, files, i) != LUA_TSTRING) {
            sr_pathseg_t path[2] = {{"files", 5, 0}, {NULL, 0, i - 1}};
            sr_reader_locate(rd, path, 2, 0, &line, &col);
            st = SR_ERR_SCHEMA;
            sr_diag_set(d, st, mpath, line, col, NULL, "files[%lld]: expected a file name", (long long)(i - 1));
            goto cleanup;
        }
        const char *fname = lua_tostring(L, -1);
        free(text);
        free(chunk);
        chunk = NULL;
        char *fpath = sr_asprintf("%s/%s", dir, fname);
        size_t tlen = 0;
        text = fpath ? sr_read_file(fpath, &tlen) : NULL;
        if (!text) {
            sr_pathseg_t path[2] = {{"files", 5, 0}, {NULL, 0, i - 1}};
            sr_reader_locate(rd, path, 2, 0, &line, &col);
            st = SR_ERR_IO;
            sr_diag_set(d, st, mpath, line, col, NULL, "rule file '%s' is listed but cannot be read: %s",
                        fname, strerror(errno));
            free(fpath);
            goto cleanup;
        }
        chunk = sr_asprintf("@%s", fpath);
        free(fpath);
        if (!digest_part(md, fname, text, tlen)) {
            st = SR_ERR_NOMEM;
            sr_diag_set(d, st, NULL, 0, 0, NULL, "cannot compute the rule set digest");
            goto cleanup;
        }
        lua_pop(L, 1); /* the file name */
        if ((st = sr_sandbox_load(&e->sb, text, tlen, chunk, 0, d)) != SR_OK)
            goto cleanup;
        if ((st = sr_sandbox_run(&e->sb, 0, 0, d)) != SR_OK)
            goto cleanup;
    }
    if ((st = call_p(&e->sb, p, "finish", 0, 0, d)) != SR_OK)
        goto cleanup;
    if ((st = sr_sandbox_freeze(&e->sb, d)) != SR_OK) /* rules are pure: nothing they defined can change */
        goto cleanup;
    unsigned char hash[SHA256_DIGEST_LENGTH];
    unsigned int hlen = SHA256_DIGEST_LENGTH;
    if (!SHA256_Final(hash, md)) {
        st = SR_ERR_NOMEM;
        sr_diag_set(d, st, NULL, 0, 0, NULL, "cannot compute the rule set digest");
        goto cleanup;
    }
    char hex[2 * SHA256_DIGEST_LENGTH + 1];
    for (unsigned int i = 0; i < hlen; i++)
        snprintf(hex + 2 * i, 3, "%02x", hash[i]);
    if (!(e->digest = sr_asprintf("sha256:%s", hex))) {
        st = SR_ERR_NOMEM;
        sr_diag_set(d, st, NULL, 0, 0, NULL, "out of memory");
        goto cleanup;
    }

    if (lint && (st = sr_lint_at_open(e, d)) != SR_OK) /* a rule set with errors is refused */
        goto cleanup;

    lua_getfield(L, p, "evaluate");
    if (!lua_isfunction(L, -1)) {
        st = SR_ERR_RULE;
        sr_diag_set(d, st, "engine/prelude.lua", 0, 0, NULL, "the prelude has no function 'evaluate'");
        goto cleanup;
    }
    e->evaluate_ref = luaL_ref(L, LUA_REGISTRYINDEX);

    /* key ranks for the writer */
    lua_newtable(L);
    if (lua_getfield(L, p, "key_order") == LUA_TTABLE) {
        lua_Integer n = (lua_Integer)lua_rawlen(L, -1);
        for (lua_Integer i = 1; i <= n; i++) {
            lua_rawgeti(L, -1, i);
            lua_pushinteger(L, i);
            lua_rawset(L, -4);
        }
    }
    lua_pop(L, 1);
    lua_setfield(L, LUA_REGISTRYINDEX, SR_REG_KEY_RANK);

    lua_createtable(L, 0, 3);
    lua_pushstring(L, e->name);
    lua_setfield(L, -2, "name");
    lua_pushstring(L, e->version);
    lua_setfield(L, -2, "version");
    lua_pushstring(L, e->digest);
    lua_setfield(L, -2, "digest");
    e->ruleset_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    st = SR_OK;

cleanup:
    lua_settop(L, top);
    if (lint)
        sr_schema_keep_docs(L, 0);
    sr_reader_close(rd);
    free(text);
    free(chunk);
    free(canon);
    free(mtext);
    free(mpath);
    return st;
}

static sr_status_t engine_open(sr_engine_t **out, const char *rules_dir, int lint, sr_diag_t *d)
{
    *out = NULL;
    sr_engine_t *e = calloc(1, sizeof *e);
    if (!e || !(e->dir = sr_strdup(rules_dir))) {
        free(e);
        sr_diag_set(d, SR_ERR_NOMEM, NULL, 0, 0, NULL, "out of memory");
        return SR_ERR_NOMEM;
    }
    e->prelude_ref = e->evaluate_ref = e->ruleset_ref = LUA_NOREF;
    sr_status_t st = sr_sandbox_init(&e->sb, 0, d);
    if (st == SR_OK)
        st = open_ruleset(e, rules_dir, lint, d);
    if (st != SR_OK) {
        sr_engine_close(e);
        return st;
    }
    *out = e;
    return SR_OK;
}

sr_status_t sr_engine_open(sr_engine_t **out, const char *rules_dir, sr_diag_t *d)
{
    return engine_open(out, rules_dir, 1, d);
}

sr_status_t sr_engine_open_unlinted(sr_engine_t **out, const char *rules_dir, sr_diag_t *d)
{
    return engine_open(out, rules_dir, 0, d);
}

void sr_engine_close(sr_engine_t *e)
{
    if (!e)
        return;
    for (int i = 0; i < e->nworkers; i++)
        sr_engine_close(e->workers[i]);
    free(e->workers);
    sr_sandbox_free(&e->sb);
    free(e->dir);
    free(e->name);
    free(e->version);
    free(e->digest);
    free(e->case_schema);
    free(e->status);
    free(e->root);
    sr_schema_free(e->case_sch);
    free(e);
}

const char *sr_engine_ruleset_name(const sr_engine_t *e) { return e->name; }
const char *sr_engine_ruleset_version(const sr_engine_t *e) { return e->version; }
const char *sr_engine_ruleset_digest(const sr_engine_t *e) { return e->digest; }
const char *sr_engine_ruleset_status(const sr_engine_t *e) { return e->status; }

/* ---- installed rule sets ---- */

int sr_semver_cmp(const char *a, const char *b)
{
    for (int i = 0; i < 3; i++) {
        char *ea, *eb;
        long x = strtol(a, &ea, 10), y = strtol(b, &eb, 10);
        a = ea;
        b = eb;
        if (x != y)
            return x < y ? -1 : 1;
        if (*a == '.')
            a++;
        if (*b == '.')
            b++;
    }
    /* a pre-release (1.0.0-rc1) sorts before its release */
    if (*a == '-' && *b != '-')
        return -1;
    if (*b == '-' && *a != '-')
        return 1;
    return strcmp(a, b);
}

typedef struct {
    char *set;     /* folder names, for sorting */
    char *version;
    char *dir;
} found_t;

static int found_cmp(const void *a, const void *b)
{
    const found_t *x = a, *y = b;
    int c = strcmp(x->set, y->set);
    return c ? c : sr_semver_cmp(x->version, y->version);
}

void sr_rulesets_free(sr_ruleset_info_t *list, size_t n)
{
    for (size_t i = 0; list && i < n; i++) {
        free(list[i].dir);
        free(list[i].name);
        free(list[i].version);
        free(list[i].status);
        free(list[i].digest);
        sr_diag_free(&list[i].diag);
    }
    free(list);
}

sr_status_t sr_rulesets_scan(const char *rules, sr_ruleset_info_t **out, size_t *n, sr_diag_t *d)
{
    *out = NULL;
    *n = 0;
    DIR *dp = opendir(rules);
    if (!dp) {
        sr_diag_set(d, SR_ERR_IO, rules, 0, 0, NULL, "cannot read the rule sets folder: %s", strerror(errno));
        return SR_ERR_IO;
    }
    found_t *found = NULL;
    size_t nfound = 0;
    int oom = 0;
    struct dirent *de;
    while (!oom && (de = readdir(dp))) {
        if (de->d_name[0] == '.')
            continue;
        char *set = sr_asprintf("%s/%s", rules, de->d_name);
        DIR *vp = set ? opendir(set) : NULL;
        struct dirent *ve;
        while (!oom && vp && (ve = readdir(vp))) {
            if (ve->d_name[0] == '.')
                continue;
            char *vdir = sr_asprintf("%s/%s", set, ve->d_name);
            if (vdir && is_regular(vdir, "manifest.yaml")) {
                found_t *f = realloc(found, (nfound + 1) * sizeof *found);
                if (f) {
                    found = f;
                    found[nfound].set = sr_strdup(de->d_name);
                    found[nfound].version = sr_strdup(ve->d_name);
                    found[nfound].dir = vdir;
                    vdir = NULL;
                    oom = !found[nfound].set || !found[nfound].version;
                    nfound++;
                } else {
                    oom = 1;
                }
            }
            free(vdir);
        }
        if (vp)
            closedir(vp);
        free(set);
    }
    closedir(dp);
    sr_ruleset_info_t *list = oom ? NULL : calloc(nfound ? nfound : 1, sizeof *list);
    if (list) {
        qsort(found, nfound, sizeof *found, found_cmp);
        for (size_t i = 0; i < nfound; i++) {
            sr_ruleset_info_t *r = &list[i];
            sr_diag_init(&r->diag);
            r->dir = found[i].dir;
            found[i].dir = NULL;
            sr_engine_t *e = NULL;
            if (sr_engine_open(&e, r->dir, &r->diag) == SR_OK) {
                r->name = sr_strdup(e->name);
                r->version = sr_strdup(e->version);
                r->status = sr_strdup(e->status);
                r->digest = sr_strdup(e->digest);
                sr_engine_close(e);
            }
        }
    }
    for (size_t i = 0; i < nfound; i++) {
        free(found[i].set);
        free(found[i].version);
        free(found[i].dir);
    }
    free(found);
    if (!list) {
        sr_diag_set(d, SR_ERR_NOMEM, NULL, 0, 0, NULL, "out of memory");
        return SR_ERR_NOMEM;
    }
    *out = list;
    *n = nfound;
    return SR_OK;
}
