/* test_sandbox.c -- the rules' environment: each forbidden global really
 * absent, undefined globals are errors, text only, positioned errors. */
#include <criterion/criterion.h>
#include <lauxlib.h>
#include <string.h>

#include "sandbox.h"

static sr_sandbox_t sb;
static sr_diag_t d;

static void setup(void)
{
    sr_diag_init(&d);
    cr_assert_eq(sr_sandbox_init(&sb, 32u << 20, &d), SR_OK);
}

static void teardown(void)
{
    sr_sandbox_free(&sb);
    sr_diag_free(&d);
}

TestSuite(sandbox, .init = setup, .fini = teardown);

/* Runs code as a rule file named rules/test.lua; returns the status. */
static sr_status_t run(const char *code)
{
    sr_diag_free(&d);
    sr_status_t st = sr_sandbox_load(&sb, code, strlen(code), "@rules/test.lua", 0, &d);
    if (st != SR_OK)
        return st;
    return sr_sandbox_pcall(sb.L, 0, 1, &d);
}

Test(sandbox, forbidden_globals_are_absent)
{
    static const char *const names[] = {"io", "os", "package", "require", "debug", "load", "loadfile",
                                        "dofile", "collectgarbage", "print", "setmetatable",
                                        "getmetatable", "rawset", "rawget", "rawequal", "rawlen",
                                        "coroutine", "xpcall", "_G", NULL};
    for (int i = 0; names[i]; i++) {
        char code[128];
        snprintf(code, sizeof code, "return %s", names[i]);
        cr_assert_eq(run(code), SR_ERR_RULE, "%s must be absent", names[i]);
        char want[96];
        snprintf(want, sizeof want, "undefined global '%s'", names[i]);
        cr_assert_str_eq(d.message, want);
        cr_assert_str_eq(d.file, "rules/test.lua");
        cr_assert_eq(d.line, 1);
    }
}

Test(sandbox, dangerous_library_functions_are_absent)
{
    static const char *const exprs[] = {"string.dump", "math.random", "math.randomseed", "(''):dump", NULL};
    for (int i = 0; exprs[i]; i++) {
        char code[128];
        snprintf(code, sizeof code, "return %s == nil", exprs[i]);
        if (strchr(exprs[i], ':')) /* method lookup through the string metatable */
            snprintf(code, sizeof code, "return ('').dump == nil");
        cr_assert_eq(run(code), SR_OK, "%s: %s", exprs[i], d.message ? d.message : "");
        cr_assert(lua_toboolean(sb.L, -1), "%s must be nil", exprs[i]);
        lua_pop(sb.L, 1);
    }
}

Test(sandbox, allowed_globals_are_present)
{
    cr_assert_eq(run("return type(assert) .. type(error) .. type(ipairs) .. type(next) .. type(pairs) .. "
                     "type(pcall) .. type(select) .. type(tonumber) .. type(tostring) .. type(type) .. "
                     "type(string.format) .. type(table.concat) .. type(math.floor) .. type(utf8.char)"),
                 SR_OK);
    cr_assert_str_eq(lua_tostring(sb.L, -1),
                     "functionfunctionfunctionfunctionfunctionfunctionfunctionfunctionfunctionfunction"
                     "functionfunctionfunctionfunction");
}

Test(sandbox, library_tables_are_copies)
{
    cr_assert_eq(run("string.upper = nil; return ('x'):upper()"), SR_OK,
                 "changing the rules' string table does not change the strings' methods");
    cr_assert_str_eq(lua_tostring(sb.L, -1), "X");
}

Test(sandbox, bytecode_is_refused)
{
    static const char bytecode[] = "\x1bLua\x54\x00";
    sr_status_t st = sr_sandbox_load(&sb, bytecode, sizeof bytecode - 1, "@rules/evil.lua", 0, &d);
    cr_assert_eq(st, SR_ERR_RULE);
    cr_assert_str_eq(d.message, "attempt to load a binary chunk (mode is 't')");
}

Test(sandbox, syntax_error_has_file_and_line)
{
    cr_assert_eq(run("local x = 1\nlocal y = = 2\n"), SR_ERR_RULE);
    cr_assert_str_eq(d.file, "rules/test.lua");
    cr_assert_eq(d.line, 2);
    cr_assert_str_eq(d.message, "unexpected symbol near '='");
}

Test(sandbox, runtime_error_has_file_and_line)
{
    cr_assert_eq(run("local t = {}\n\nreturn t.x.y\n"), SR_ERR_RULE);
    cr_assert_eq(d.line, 3);
    cr_assert_str_eq(d.message, "attempt to index a nil value (field 'x')");
}

Test(sandbox, error_objects_that_are_not_strings)
{
    cr_assert_eq(run("error({})"), SR_ERR_RULE);
    cr_assert_str_eq(d.message, "(error object is a table value)");
}

Test(sandbox, memory_budget)
{
    cr_assert_eq(run("local t = {} for i = 1, 1e9 do t[i] = i end"), SR_ERR_NOMEM);
    cr_assert_str_eq(d.message, "out of memory (the rule set's memory budget is exhausted)");
    cr_assert_eq(run("return 1 + 1"), SR_OK, "the state stays usable after a memory error");
    cr_assert_eq(lua_tointeger(sb.L, -1), 2);
}
