/* test_suite.c -- conformance: the official JSON Schema Test Suite (Debian's
 * json-schema-test-suite, draft 7 files, the newest it ships) against the
 * validator of engine/schema.c.
 *
 * Draft 7 files are read as 2020-12 schemas after two mechanical changes:
 * 'definitions' becomes '$defs' and "#/definitions/" references become
 * "#/$defs/" (the same keyword under its 2020-12 name), and a draft-07
 * '$schema' is dropped. Every group of a supported file must load and give
 * the suite's verdict for every test, except the groups listed in `refused`
 * (they use a form the validator does not support, and it must refuse them
 * when loading, never ignore them) and the tests listed in `differ` (where
 * draft 7 and 2020-12, or a documented choice, disagree). The files of
 * keywords the validator does not support are listed in `skipped_files` with
 * the reason; for them, every group that uses the keyword must be refused. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <lauxlib.h>
#include <lualib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lvalue.h"
#include "reader.h"
#include "schema.h"
#include "util.h"

#define SUITE "/usr/share/json-schema-test-suite/tests/draft7"

typedef struct {
    const char *file;
    const char *reason;
} skip_t;

/* Files of keywords the validator does not apply. */
static const skip_t skipped_files[] = {
    {"additionalItems.json", "additionalItems and the tuple form of items are not supported"},
    {"contains.json", "contains is not supported"},
    {"dependencies.json", "dependencies (dependentRequired/dependentSchemas in 2020-12) are not supported"},
    {"if-then-else.json", "if/then/else are not supported"},
    {"maxProperties.json", "maxProperties is not supported"},
    {"minProperties.json", "minProperties is not supported"},
    {"patternProperties.json", "patternProperties is not supported"},
    {"propertyNames.json", "propertyNames is not supported"},
    {"refRemote.json", "references outside the schema file are not supported"},
    {NULL, NULL},
};

typedef struct {
    const char *file;
    const char *group;  /* the group's description */
    const char *reason;
} refused_t;

/* Groups of supported files that use an unsupported form: loading must
 * fail. */
static const refused_t refused[] = {
    {"additionalProperties.json", "additionalProperties being false does not allow other properties",
     "patternProperties is not supported"},
    {"additionalProperties.json", "non-ASCII pattern with additionalProperties", "patternProperties is not supported"},
    {"definitions.json", "valid definition", "a $ref to the draft-07 metaschema leaves the file"},
    {"definitions.json", "invalid definition", "a $ref to the draft-07 metaschema leaves the file"},
    {"items.json", "an array of schemas for items", "the tuple form of items is not supported"},
    {"items.json", "items with boolean schemas", "the tuple form of items is not supported"},
    {"properties.json", "properties, patternProperties, additionalProperties interaction",
     "patternProperties is not supported"},
    {"ref.json", "relative pointer ref to array", "the tuple form of items is not supported"},
    {"ref.json", "escaped pointer ref", "schemas under keys that are not keywords (2020-12 keeps them in $defs)"},
    {"ref.json", "remote ref, containing refs itself", "a $ref to the draft-07 metaschema leaves the file"},
    {"ref.json", "Recursive references between schemas", "$id below the root (base URI changes) is not supported"},
    {NULL, NULL, NULL},
};

/* Tests whose verdict under 2020-12 (or a documented choice) is not draft
 * 7's: skipped, with the reason. */
static const refused_t differ[] = {
    {"ref.json", "ref overrides any sibling keywords", "draft 7 ignores the siblings of $ref; 2020-12 applies them"},
    {NULL, NULL, NULL},
};

static const char *reason_in(const refused_t *list, const char *file, const char *group)
{
    for (size_t i = 0; list[i].file; i++)
        if (strcmp(list[i].file, file) == 0 && strcmp(list[i].group, group) == 0)
            return list[i].reason;
    return NULL;
}

static const char *skip_reason(const char *file)
{
    for (size_t i = 0; skipped_files[i].file; i++)
        if (strcmp(skipped_files[i].file, file) == 0)
            return skipped_files[i].reason;
    return NULL;
}

/* definitions -> $defs, "#/definitions/" -> "#/$defs/", no draft-07 $schema. */
static const char to_2020_12[] =
    "local function walk(t, seen)\n"
    "  if type(t) ~= 'table' or seen[t] then return end\n"
    "  seen[t] = true\n"
    "  local keys = {}\n"
    "  for k in pairs(t) do keys[#keys + 1] = k end\n"
    "  for _, k in ipairs(keys) do\n"
    "    local v = t[k]\n"
    "    if k == 'definitions' then t[k] = nil; t['$defs'] = v end\n"
    "    if k == '$schema' then t[k] = nil end\n"
    "    if k == '$ref' and type(v) == 'string' then\n"
    "      t[k] = v:gsub('^#/definitions/', '#/$defs/')\n"
    "    end\n"
    "    walk(v, seen)\n"
    "  end\n"
    "end\n"
    "return function(t) walk(t, {}) return t end\n";

typedef struct {
    size_t groups, loaded, refused, tests, passed, skipped, listed_seen;
} counts_t;

static int get(lua_State *L, int t, const char *k) { return lua_getfield(L, t, k); }

static void run_file(lua_State *L, int conv, const char *file, counts_t *n)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", SUITE, file);
    /* read as one JSON line (yajl; libyaml refuses the surrogate pairs of
     * some tests): newlines can only be whitespace between JSON tokens */
    size_t len = 0;
    char *text = sr_read_file(path, &len);
    cr_assert(text, "%s: cannot read", path);
    for (size_t i = 0; i < len; i++)
        if (text[i] == '\n' || text[i] == '\r')
            text[i] = ' ';
    sr_reader_t *rd = NULL;
    sr_diag_t d;
    sr_diag_init(&d);
    cr_assert_eq(sr_reader_open_mem(&rd, file, text, len, SR_IN_JSONL, NULL, &d), SR_OK, "%s: %s", path, d.message);
    sr_status_t st = sr_reader_next(rd, L, &d);
    cr_assert_eq(st, SR_OK, "%s: %s:%d:%d: %s", file, d.file, d.line, d.column, d.message);
    int groups = lua_gettop(L);
    const char *skip = skip_reason(file);
    for (lua_Integer g = 1; g <= (lua_Integer)lua_rawlen(L, groups); g++) {
        lua_rawgeti(L, groups, g);
        int grp = lua_gettop(L);
        get(L, grp, "description");
        const char *gdesc = lua_tostring(L, -1);
        lua_pushvalue(L, conv);
        get(L, grp, "schema");
        cr_assert_eq(lua_pcall(L, 1, 1, 0), LUA_OK);
        int schema_idx = lua_gettop(L);
        sr_schema_t *s = NULL;
        sr_diag_t cd;
        sr_diag_init(&cd);
        st = sr_schema_compile(&s, L, schema_idx, file, NULL, &cd);
        n->groups++;
        const char *why = reason_in(refused, file, gdesc);
        if (skip) {
            /* an unsupported keyword's file: its groups must be refused,
             * except those that do not use the keyword at all */
            if (st == SR_OK)
                n->loaded++;
            else
                n->refused++;
        } else if (why) {
            cr_expect_neq(st, SR_OK, "%s / %s is listed as refused (%s) but loads", file, gdesc, why);
            n->refused++;
            n->listed_seen++;
        } else {
            cr_expect_eq(st, SR_OK, "%s / %s: refused: %s: %s", file, gdesc, cd.path ? cd.path : "",
                         cd.message ? cd.message : "");
            if (st == SR_OK)
                n->loaded++;
        }
        if (st == SR_OK && !skip && !why) {
            get(L, grp, "tests");
            int tests = lua_gettop(L);
            for (lua_Integer t = 1; t <= (lua_Integer)lua_rawlen(L, tests); t++) {
                lua_rawgeti(L, tests, t);
                int tc = lua_gettop(L);
                get(L, tc, "description");
                const char *tdesc = lua_tostring(L, -1);
                get(L, tc, "valid");
                int valid = lua_toboolean(L, -1);
                get(L, tc, "data");
                int data = lua_gettop(L);
                n->tests++;
                if (reason_in(differ, file, gdesc)) {
                    n->skipped++;
                } else {
                    int got = sr_schema_check(s, L, data);
                    cr_expect_eq(got, valid, "%s / %s / %s: expected %s", file, gdesc, tdesc,
                                 valid ? "valid" : "invalid");
                    /* the collecting mode agrees, and builds its messages */
                    sr_verrors_t e;
                    sr_verrors_init(&e);
                    sr_status_t vs = sr_schema_validate(s, L, data, NULL, &e);
                    cr_expect_eq(vs == SR_OK, valid, "%s / %s / %s: collecting mode disagrees", file, gdesc,
                                 tdesc);
                    if (vs == SR_ERR_SCHEMA)
                        cr_expect_gt(e.n, 0);
                    for (size_t i = 0; i < e.n; i++)
                        cr_expect(e.v[i].message && e.v[i].message[0]);
                    sr_verrors_free(&e);
                    if (got == valid)
                        n->passed++;
                }
                lua_settop(L, tc - 1);
            }
        }
        sr_schema_free(s);
        sr_diag_free(&cd);
        lua_settop(L, grp - 1);
    }
    if (skip)
        cr_expect_eq(n->loaded, 0, "%s (%s): %zu groups loaded: an unsupported keyword was ignored", file, skip,
                     n->loaded);
    lua_settop(L, groups - 1);
    sr_reader_close(rd);
    sr_diag_free(&d);
    free(text);
}

static int name_cmp(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

Test(suite, draft7_files)
{
    DIR *dp = opendir(SUITE);
    cr_assert(dp, "the JSON Schema Test Suite is not installed at " SUITE
                  " (Debian package json-schema-test-suite)");
    char *names[128];
    size_t nn = 0;
    struct dirent *de;
    while ((de = readdir(dp)) && nn < 128) {
        size_t len = strlen(de->d_name);
        if (len > 5 && strcmp(de->d_name + len - 5, ".json") == 0)
            names[nn++] = strdup(de->d_name);
    }
    closedir(dp);
    qsort(names, nn, sizeof *names, name_cmp);
    cr_assert_geq(nn, 30, "the draft 7 folder holds %zu files", nn);

    lua_State *L = luaL_newstate();
    luaL_openlibs(L);
    sr_lv_init(L);
    cr_assert_eq(luaL_loadstring(L, to_2020_12), LUA_OK);
    cr_assert_eq(lua_pcall(L, 0, 1, 0), LUA_OK);
    int conv = lua_gettop(L);
    counts_t total = {0, 0, 0, 0, 0, 0, 0};
    size_t listed = 0;
    for (size_t i = 0; refused[i].file; i++)
        listed++;
    for (size_t i = 0; i < nn; i++) {
        counts_t n = {0, 0, 0, 0, 0, 0, 0};
        run_file(L, conv, names[i], &n);
        const char *skip = skip_reason(names[i]);
        if (skip)
            printf("%-28s skipped (%s): %zu groups, all refused at load\n", names[i], skip, n.groups);
        else
            printf("%-28s %zu/%zu groups loaded (%zu refused as listed), %zu/%zu tests passed, %zu skipped\n",
                   names[i], n.loaded, n.groups, n.refused, n.passed, n.tests - n.skipped, n.skipped);
        total.groups += n.groups;
        total.loaded += n.loaded;
        total.tests += n.tests;
        total.passed += n.passed;
        total.skipped += n.skipped;
        total.listed_seen += n.listed_seen;
        free(names[i]);
    }
    printf("draft 7: %zu tests passed of %zu run (%zu skipped), %zu groups loaded of %zu\n", total.passed,
           total.tests - total.skipped, total.skipped, total.loaded, total.groups);
    cr_expect_eq(total.listed_seen, listed, "a group listed as refused is not in the suite any more");
    cr_expect_geq(total.passed, 250, "too few tests ran");
    lua_close(L);
}
