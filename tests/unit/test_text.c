/* test_text.c -- the text renderer (engine/text.lua) prints every value
 * readably and the same in every run: a table where the shipped rule set
 * puts a string or a number (another rule set may) shows its items or its
 * label, never its address ("table: 0x..."), and null shows as "?". The
 * shipped rule set's own texts are pinned byte for byte by the text goldens
 * (tests/data/text). */
#include <criterion/criterion.h>
#include <lauxlib.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "shipped.h"
#include "lvalue.h"
#include "text.h"

static sr_engine_t *engine;

static void setup(void)
{
    engine = open_shipped_engine();
}

static void teardown(void) { sr_engine_close(engine); }

TestSuite(text, .init = setup, .fini = teardown);

/* The result of the case {id = "T-1"} (every score unknown), changed by the
 * Lua chunk edit (called with the result and null), rendered in lang. The
 * text is malloc'd. */
static char *render(const char *edit, const char *lang)
{
    lua_State *L = engine->sb.L;
    int top = lua_gettop(L);
    sr_diag_t d;
    sr_diag_init(&d);
    sr_case_report_t rep;
    sr_case_report_init(&rep);
    lua_newtable(L);
    lua_pushstring(L, "T-1");
    lua_setfield(L, -2, "id");
    cr_assert_eq(sr_eval_validate(engine, NULL, "t.yaml", 1, NULL, &rep, NULL, NULL, &d), SR_OK);
    cr_assert_eq(sr_eval_validated(engine, "t.yaml", 1, &rep, &d), SR_OK, "%s", d.message ? d.message : "");
    cr_assert_eq(luaL_loadstring(L, edit), LUA_OK, "%s", lua_tostring(L, -1));
    lua_pushvalue(L, -2); /* the result */
    sr_lv_push_null(L);
    cr_assert_eq(lua_pcall(L, 2, 0, 0), LUA_OK, "%s", lua_tostring(L, -1));
    sr_buf_t out;
    sr_buf_init(&out);
    cr_assert_eq(sr_text_record(engine, &out, -1, lang, &d), SR_OK, "%s", d.message ? d.message : "");
    lua_settop(L, top);
    sr_case_report_free(&rep);
    sr_diag_free(&d);
    char *s = strndup(out.data, out.len);
    sr_buf_free(&out);
    return s;
}

static void assert_has(const char *text, const char *line)
{
    cr_assert(strstr(text, line) != NULL, "expected\n%s\nin\n%s", line, text);
}

Test(text, tables_and_nulls_read_as_values_not_addresses)
{
    const char *edit = "local r, null = ...\n"
                       "r.frankel.grade = {'C', 'D'}\n"
                       "local v = r.tokuhashi.items.vertebrae\n"
                       "v.value, v.unmatched = {2, {3, 4}}, true\n"
                       "r.tokuhashi.min = null\n"
                       "r.tokuhashi.max = {lo = 9, hi = 12}\n"
                       "r.local_indications[1].levels = {'T4', {'T5', 'T6'}}\n"
                       "r.contraindications[1].status = {'a', {en = 'labelled', fr = 'étiqueté'}}\n"
                       "r.complication_risk.base_percent = {{{{1}}}}\n"
                       "r.missing_workup[1].status = null\n";
    for (int k = 0; k < 2; k++) {
        char *text = render(edit, k ? "fr" : "en");
        cr_assert(strstr(text, "table: 0x") == NULL && strstr(text, "userdata: 0x") == NULL, "%s", text);
        if (k == 0) {
            assert_has(text, "  Grade C, D: ");
            assert_has(text, "value outside the table (2, (3, 4))");
            assert_has(text, "  ? to hi: 12, lo: 9 (incomplete) out of 15\n");
            assert_has(text, "  - Pain assessment (type, radiation, intensity, location): ?\n");
            assert_has(text, " (at T4, (T5, T6))");
            assert_has(text, ": a, labelled, absolute [section 5]");
            assert_has(text, ": (((…))) %");
        } else {
            assert_has(text, ": a, étiqueté, absolue [section 5]");
        }
        free(text);
    }
}

Test(text, the_same_result_reads_the_same_in_every_run)
{
    /* a map's keys in order, whatever the order the table holds them in */
    char *a = render("local r = ...; r.frankel.grade = {b = 2, a = 1, [3] = 'c', [1] = 'x'}", "en");
    char *b = render("local r = ...; r.frankel.grade = {[1] = 'x', [3] = 'c', a = 1, b = 2}", "en");
    cr_assert_str_eq(a, b);
    assert_has(a, "  Grade x, 3: c, a: 1, b: 2: ");
    free(a);
    free(b);
}
