/* test_writer.c -- JSON and YAML records: key order, arrays, null, numbers, refusals. */
#include <criterion/criterion.h>
#include <lauxlib.h>
#include <lualib.h>
#include <string.h>

#include "lvalue.h"
#include "writer.h"

static lua_State *L;
static sr_diag_t d;

static void setup(void)
{
    L = luaL_newstate();
    luaL_openlibs(L);
    sr_lv_init(L);
    sr_diag_init(&d);
    /* ranks as a prelude would give them */
    luaL_dostring(L, "return {id = 1, ruleset = 2, frankel = 3, sins = 4, recommendation = 5}");
    lua_setfield(L, LUA_REGISTRYINDEX, SR_REG_KEY_RANK);
    sr_lv_push_array_mt(L);
    lua_setglobal(L, "ARRAY");
    sr_lv_push_null(L);
    lua_setglobal(L, "NULL");
}

static void teardown(void)
{
    sr_diag_free(&d);
    lua_close(L);
}

TestSuite(writer, .init = setup, .fini = teardown);

/* Serializes the value of a Lua expression; returns the record text. */
static char *write_expr(sr_output_format_t fmt, const char *expr, sr_status_t want)
{
    char code[512];
    snprintf(code, sizeof code, "return %s", expr);
    cr_assert_eq(luaL_dostring(L, code), LUA_OK, "%s", lua_tostring(L, -1));
    sr_writer_t *w = sr_writer_new(fmt);
    sr_status_t st = sr_writer_record(w, L, -1, &d);
    cr_assert_eq(st, want, "status %d (%s)", st, d.message ? d.message : "");
    size_t len;
    const char *data = sr_writer_data(w, &len);
    char *copy = strndup(data, len);
    sr_writer_free(w);
    lua_pop(L, 1);
    return copy;
}

Test(writer, keys_by_rank_then_bytewise)
{
    char *s = write_expr(SR_OUT_JSONL, "{zeta = 1, recommendation = 'x', alpha = 2, id = 'P', sins = {}}", SR_OK);
    cr_assert_str_eq(s, "{\"id\":\"P\",\"sins\":{},\"recommendation\":\"x\",\"alpha\":2,\"zeta\":1}\n");
    free(s);
}

Test(writer, arrays_null_and_numbers)
{
    char *s = write_expr(SR_OUT_JSONL, "{a = setmetatable({}, ARRAY), b = {1, 2, 3}, c = NULL, d = 0.1, e = 20.0, f = 3}",
                         SR_OK);
    cr_assert_str_eq(s, "{\"a\":[],\"b\":[1,2,3],\"c\":null,\"d\":0.1,\"e\":20.0,\"f\":3}\n");
    free(s);
}

Test(writer, strings_are_escaped)
{
    char *s = write_expr(SR_OUT_JSONL, "{a = 'quote \" backslash \\\\ newline \\n épidurite'}", SR_OK);
    cr_assert_str_eq(s, "{\"a\":\"quote \\\" backslash \\\\ newline \\n épidurite\"}\n");
    free(s);
}

Test(writer, refuses_functions_with_their_path)
{
    char *s = write_expr(SR_OUT_JSONL, "{sins = {{level = 'T1', points = {pain = print}}}}", SR_ERR_RULE);
    cr_assert_str_eq(s, "", "nothing is written for a refused record");
    cr_assert_str_eq(d.path, "sins[0].points.pain");
    cr_assert_str_eq(d.message, "result contains a function value, which cannot be written");
    free(s);
}

Test(writer, refuses_nan_and_cycles_and_mixed_tables)
{
    char *s = write_expr(SR_OUT_JSONL, "{x = 0/0}", SR_ERR_RULE);
    cr_assert_str_eq(d.message, "result contains a number that is not finite (NaN or infinity)");
    free(s);
    s = write_expr(SR_OUT_JSONL, "(function() local t = {} t.self = t return t end)()", SR_ERR_RULE);
    cr_assert_str_eq(d.message, "result nested too deeply (or a table contains itself)");
    free(s);
    s = write_expr(SR_OUT_JSONL, "{1, 2, x = 3}", SR_ERR_RULE);
    cr_assert_str_eq(d.message, "result has a non-string key (a table mixing list and map entries?)");
    free(s);
}

Test(writer, refuses_invalid_utf8)
{
    char *s = write_expr(SR_OUT_JSONL, "{x = '\\xff'}", SR_ERR_RULE);
    cr_assert_str_eq(d.message, "result contains a string that is not valid UTF-8");
    free(s);
}

Test(writer, yaml_quotes_strings_that_would_read_back_as_other_types)
{
    char *s = write_expr(SR_OUT_YAML, "{id = 'P-1', a = 'true', b = '10', c = 'null', d = 10, e = setmetatable({}, ARRAY), f = NULL}",
                         SR_OK);
    cr_assert_str_eq(s, "---\nid: P-1\na: \"true\"\nb: \"10\"\nc: \"null\"\nd: 10\ne: []\nf: null\n");
    free(s);
}

Test(writer, records_accumulate_in_order)
{
    sr_writer_t *w = sr_writer_new(SR_OUT_JSONL);
    for (int i = 1; i <= 3; i++) {
        lua_pushinteger(L, i);
        cr_assert_eq(sr_writer_record(w, L, -1, &d), SR_OK);
        lua_pop(L, 1);
    }
    size_t len;
    const char *data = sr_writer_data(w, &len);
    cr_assert_eq(len, 6);
    cr_assert_eq(memcmp(data, "1\n2\n3\n", 6), 0);
    sr_writer_clear(w);
    sr_writer_data(w, &len);
    cr_assert_eq(len, 0);
    sr_writer_free(w);
}
