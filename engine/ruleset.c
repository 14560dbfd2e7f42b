/* ruleset.c -- opens a rule set: reads its manifest, computes its digest,
 * loads the prelude and every rule file once into the sandbox. */
#include <errno.h>
#include <lauxlib.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "lvalue.h"
#include "reader.h"
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

static int digest_part(EVP_MD_CTX *md, const char *name, const char *data, size_t len)
{
    char head[64];
    int n = snprintf(head, sizeof head, "%zu", len);
    return EVP_DigestUpdate(md, name, strlen(name) + 1) && EVP_DigestUpdate(md, head, (size_t)n + 1) &&
           EVP_DigestUpdate(md, data, len);
}

/* Loads and calls the prelude: P = prelude(host). Leaves P on the stack. */
static sr_status_t load_prelude(sr_engine_t *e, sr_diag_t *d)
{
    lua_State *L = e->sb.L;
    if (luaL_loadbufferx(L, sr_prelude_lua, sr_prelude_lua_len, "@engine/prelude.lua", "t") != LUA_OK) {
        sr_diag_set(d, SR_ERR_RULE, NULL, 0, 0, NULL, "%s", lua_tostring(L, -1));
        sr_diag_split_lua(d);
        lua_pop(L, 1);
        return SR_ERR_RULE;
    }
    lua_createtable(L, 0, 3); /* host */
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

static sr_status_t open_ruleset(sr_engine_t *e, const char *dir, sr_diag_t *d)
{
    lua_State *L = e->sb.L;
    sr_status_t st;
    char *mpath = sr_asprintf("%s/manifest.yaml", dir);
    char *mtext = NULL, *text = NULL, *chunk = NULL;
    size_t mlen = 0;
    sr_reader_t *rd = NULL;
    EVP_MD_CTX *md = NULL;
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

    md = EVP_MD_CTX_new();
    if (!md || !EVP_DigestInit_ex(md, EVP_sha256(), NULL) ||
        !EVP_DigestUpdate(md, "spinerules-digest-v1", 21) ||
        !digest_part(md, "manifest.yaml", mtext, mlen)) {
        st = SR_ERR_NOMEM;
        sr_diag_set(d, st, NULL, 0, 0, NULL, "cannot compute the rule set digest");
        goto cleanup;
    }

    if ((st = load_prelude(e, d)) != SR_OK)
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

    unsigned char hash[EVP_MAX_MD_SIZE];
    unsigned int hlen = 0;
    if (!EVP_DigestFinal_ex(md, hash, &hlen)) {
        st = SR_ERR_NOMEM;
        sr_diag_set(d, st, NULL, 0, 0, NULL, "cannot compute the rule set digest");
        goto cleanup;
    }
    char hex[2 * EVP_MAX_MD_SIZE + 1];
    for (unsigned int i = 0; i < hlen; i++)
        snprintf(hex + 2 * i, 3, "%02x", hash[i]);
    e->digest = sr_asprintf("sha256:%s", hex);

    lua_createtable(L, 0, 3);
    lua_pushstring(L, e->name);
    lua_setfield(L, -2, "name");
    lua_pushstring(L, e->version);
    lua_setfield(L, -2, "version");
    lua_pushstring(L, e->digest);
    lua_setfield(L, -2, "digest");
    e->ruleset_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    st = e->digest ? SR_OK : SR_ERR_NOMEM;

cleanup:
    lua_settop(L, top);
    EVP_MD_CTX_free(md);
    sr_reader_close(rd);
    free(text);
    free(chunk);
    free(mtext);
    free(mpath);
    return st;
}

sr_status_t sr_engine_open(sr_engine_t **out, const char *rules_dir, sr_diag_t *d)
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
        st = open_ruleset(e, rules_dir, d);
    if (st != SR_OK) {
        sr_engine_close(e);
        return st;
    }
    *out = e;
    return SR_OK;
}

void sr_engine_close(sr_engine_t *e)
{
    if (!e)
        return;
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
