/* test_ruleset.c -- the canonical JSON the digest covers, the rule files of a
 * folder against a manifest's list, semantic version order, and a digest
 * recomputed by hand from the documented algorithm. */
#include <criterion/criterion.h>
#include <lauxlib.h>
#include <lualib.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lvalue.h"
#include "reader.h"
#include "ruleset.h"
#include "spinerules.h"

static lua_State *L;

static void setup(void)
{
    L = luaL_newstate();
    luaL_openlibs(L);
    sr_lv_init(L);
    sr_lv_push_array_mt(L);
    lua_setglobal(L, "ARRAY");
    sr_lv_push_null(L);
    lua_setglobal(L, "NULL");
}

static void teardown(void) { lua_close(L); }

TestSuite(ruleset, .init = setup, .fini = teardown);

/* The canonical JSON of a Lua expression, or NULL. */
static char *canon(const char *expr)
{
    char code[1024];
    snprintf(code, sizeof code, "return %s", expr);
    cr_assert_eq(luaL_dostring(L, code), LUA_OK, "%s", lua_tostring(L, -1));
    size_t len = 0;
    char *s = sr_canonical_json(L, -1, &len);
    lua_pop(L, 1);
    if (s)
        cr_assert_eq(strlen(s), len);
    return s;
}

static void canon_is(const char *expr, const char *want)
{
    char *s = canon(expr);
    cr_assert(s, "%s has a canonical form", expr);
    cr_assert_str_eq(s, want, "%s", expr);
    free(s);
}

Test(ruleset, canonical_json_sorts_keys_bytewise_at_every_level)
{
    canon_is("{version = '1.0.0', name = 'x', api = 1, Z = true, a = {b = 2, a = 1}}",
             "{\"Z\":true,\"a\":{\"a\":1,\"b\":2},\"api\":1,\"name\":\"x\",\"version\":\"1.0.0\"}");
    canon_is("{ab = 1, a = 2, b = 3, [\"a b\"] = 4}", "{\"a\":2,\"a b\":4,\"ab\":1,\"b\":3}");
}

Test(ruleset, canonical_json_keeps_arrays_in_order_and_tells_them_from_maps)
{
    canon_is("setmetatable({'b.lua', 'a.lua'}, ARRAY)", "[\"b.lua\",\"a.lua\"]");
    canon_is("setmetatable({}, ARRAY)", "[]");
    canon_is("{}", "{}");
    canon_is("{files = setmetatable({'x.lua'}, ARRAY), n = NULL, f = false}",
             "{\"f\":false,\"files\":[\"x.lua\"],\"n\":null}");
}

Test(ruleset, canonical_json_escapes_only_quotes_backslashes_and_controls)
{
    canon_is("'a\"b\\\\c'", "\"a\\\"b\\\\c\"");
    canon_is("'\\b\\f\\n\\r\\t\\1\\31'", "\"\\b\\f\\n\\r\\t\\u0001\\u001f\"");
    canon_is("'épidurite / ≥ 3 \\127'", "\"épidurite / ≥ 3 \x7f\"");
}

Test(ruleset, canonical_json_numbers)
{
    canon_is("{a = 0, b = -7, c = 9007199254740993}", "{\"a\":0,\"b\":-7,\"c\":9007199254740993}");
    canon_is("{a = 0.5, b = 0.1, c = 1e300}", "{\"a\":0.5,\"b\":0.1,\"c\":1e+300}");
}

Test(ruleset, canonical_json_refuses_what_json_cannot_hold)
{
    cr_assert_null(canon("{f = print}"));
    cr_assert_null(canon("{[1.5] = 'x'}"));
    cr_assert_null(canon("{x = math.huge}"));
    cr_assert_null(canon("{x = 0/0}"));
}

Test(ruleset, canonical_json_of_a_manifest_read_from_yaml)
{
    static const char text[] = "# a comment\n"
                               "version: 1.0.0   # trailing\n"
                               "name: \"x\"\n"
                               "date: 2026-11-28\n"
                               "api: 1\n"
                               "files: [b.lua, a.lua]\n"
                               "changelog:\n"
                               "  - date: 2026-11-28\n"
                               "    version: '1.0.0'\n"
                               "    changes: >-\n"
                               "      two\n"
                               "      lines\n";
    sr_reader_t *rd = NULL;
    sr_diag_t d;
    sr_diag_init(&d);
    cr_assert_eq(sr_reader_open_mem(&rd, "manifest.yaml", text, sizeof text - 1, SR_IN_YAML, NULL, &d), SR_OK);
    cr_assert_eq(sr_reader_next(rd, L, &d), SR_OK, "%s", d.message);
    size_t len;
    char *s = sr_canonical_json(L, -1, &len);
    cr_assert_str_eq(s, "{\"api\":1,\"changelog\":[{\"changes\":\"two lines\",\"date\":\"2026-11-28\",\"version\":"
                        "\"1.0.0\"}],\"date\":\"2026-11-28\",\"files\":[\"b.lua\",\"a.lua\"],\"name\":\"x\","
                        "\"version\":\"1.0.0\"}");
    free(s);
    sr_reader_close(rd);
    sr_diag_free(&d);
}

Test(ruleset, semantic_versions_in_order)
{
    cr_assert_lt(sr_semver_cmp("1.0.0", "1.1.0"), 0);
    cr_assert_lt(sr_semver_cmp("1.9.0", "1.10.0"), 0);
    cr_assert_lt(sr_semver_cmp("1.1.0-rc1", "1.1.0"), 0);
    cr_assert_gt(sr_semver_cmp("2.0.0", "1.99.99"), 0);
    cr_assert_eq(sr_semver_cmp("1.2.3", "1.2.3"), 0);
}

/* A folder with the given files (empty). */
static char *folder(const char *const *names)
{
    char *dir = strdup("/tmp/sr-ruleset-XXXXXX");
    cr_assert(mkdtemp(dir));
    for (size_t i = 0; names[i]; i++) {
        char p[512];
        snprintf(p, sizeof p, "%s/%s", dir, names[i]);
        FILE *f = fopen(p, "w");
        cr_assert(f);
        fclose(f);
    }
    return dir;
}

static void drop(char *dir, const char *const *names)
{
    for (size_t i = 0; names[i]; i++) {
        char p[512];
        snprintf(p, sizeof p, "%s/%s", dir, names[i]);
        unlink(p);
    }
    rmdir(dir);
    free(dir);
}

Test(ruleset, listed_and_present_rule_files_are_compared)
{
    static const char *const present[] = {"a.lua", "z.lua", "m.lua", "notes.txt", ".hidden.lua", "manifest.yaml",
                                          NULL};
    char *dir = folder(present);
    const char *listed[] = {"a.lua", "gone.lua", "b.lua"};
    sr_names_t absent, unlisted;
    sr_diag_t d;
    sr_diag_init(&d);
    cr_assert_eq(sr_ruleset_files(dir, listed, 3, &absent, &unlisted, &d), SR_OK);
    cr_assert_eq(absent.n, 2);
    cr_assert_str_eq(absent.v[0], "gone.lua");
    cr_assert_str_eq(absent.v[1], "b.lua");
    cr_assert_eq(unlisted.n, 2, "only .lua files count, hidden ones not");
    cr_assert_str_eq(unlisted.v[0], "m.lua");
    cr_assert_str_eq(unlisted.v[1], "z.lua");
    sr_names_free(&absent);
    sr_names_free(&unlisted);
    const char *all[] = {"z.lua", "m.lua", "a.lua"};
    cr_assert_eq(sr_ruleset_files(dir, all, 3, &absent, NULL, &d), SR_OK);
    cr_assert_eq(absent.n, 0);
    cr_assert_eq(sr_ruleset_files("/nonexistent-folder", all, 3, &absent, &unlisted, &d), SR_ERR_IO);
    cr_assert_eq(absent.n + unlisted.n, 0);
    sr_diag_free(&d);
    drop(dir, present);
}

/* The digest recomputed from the documented layout, over the shipped rule set. */
Test(ruleset, digest_follows_the_documented_layout)
{
    const char *dir = SR_SOURCE_DIR "/rules/spine-metastasis-lung/1.0.0";
    sr_engine_t *e = NULL;
    sr_diag_t d;
    sr_diag_init(&d);
    cr_assert_eq(sr_engine_open(&e, dir, &d), SR_OK, "%s", d.message);

    sr_reader_t *rd = NULL;
    cr_assert_eq(sr_reader_open(&rd, SR_SOURCE_DIR "/rules/spine-metastasis-lung/1.0.0/manifest.yaml", SR_IN_YAML,
                                NULL, &d),
                 SR_OK);
    cr_assert_eq(sr_reader_next(rd, L, &d), SR_OK);
    size_t clen;
    char *c = sr_canonical_json(L, -1, &clen);
    cr_assert(c);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    EVP_DigestInit_ex(md, EVP_sha256(), NULL);
    EVP_DigestUpdate(md, "spinerules-digest-v2", 21); /* with its NUL */
    char head[64];
    int n = snprintf(head, sizeof head, "manifest.json%c%zu%c", 0, clen, 0);
    EVP_DigestUpdate(md, head, (size_t)n);
    EVP_DigestUpdate(md, c, clen);
    lua_getfield(L, -1, "files");
    for (lua_Integer i = 1; i <= (lua_Integer)lua_rawlen(L, -1); i++) {
        lua_rawgeti(L, -1, i);
        const char *name = lua_tostring(L, -1);
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dir, name);
        FILE *f = fopen(path, "rb");
        cr_assert(f);
        static char buf[1 << 20];
        size_t len = fread(buf, 1, sizeof buf, f);
        fclose(f);
        n = snprintf(head, sizeof head, "%s%c%zu%c", name, 0, len, 0);
        EVP_DigestUpdate(md, head, (size_t)n);
        EVP_DigestUpdate(md, buf, len);
        lua_pop(L, 1);
    }
    unsigned char h[EVP_MAX_MD_SIZE];
    unsigned hl = 0;
    EVP_DigestFinal_ex(md, h, &hl);
    char want[80] = "sha256:";
    for (unsigned i = 0; i < hl; i++)
        snprintf(want + 7 + 2 * i, 3, "%02x", h[i]);
    cr_assert_str_eq(sr_engine_ruleset_digest(e), want);
    EVP_MD_CTX_free(md);
    free(c);
    sr_reader_close(rd);
    sr_engine_close(e);
    sr_diag_free(&d);
}
