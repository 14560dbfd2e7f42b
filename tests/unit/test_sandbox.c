/* test_sandbox.c -- the rules' environment: exactly the allow-list (walked),
 * undefined globals are errors, text only, positioned errors, the limits and
 * that no pcall swallows them, the capped library functions (patterns agree
 * with the standard library), freezing, the bytecode checks and the Lua 5.4.4
 * regressions. */
#include <criterion/criterion.h>
#include <lauxlib.h>
#include <lualib.h>
#include <stdlib.h>
#include <string.h>

#include "sandbox.h"
#include "writer.h"

static sr_sandbox_t sb;
static sr_diag_t d;

static void setup(void)
{
    sr_diag_init(&d);
    cr_assert_eq(sr_sandbox_init(&sb, 32u << 20, &d), SR_OK);
    sb.limits.time_limit_ms = 200;
    sb.log_out = NULL;
}

static void teardown(void)
{
    sr_sandbox_free(&sb);
    sr_diag_free(&d);
}

TestSuite(sandbox, .init = setup, .fini = teardown);

/* Runs code as a rule file named rules/test.lua under the limits; returns
 * the status and leaves one result on success. */
static sr_status_t run(const char *code)
{
    sr_diag_free(&d);
    sr_status_t st = sr_sandbox_load(&sb, code, strlen(code), "@rules/test.lua", 0, &d);
    if (st != SR_OK)
        return st;
    return sr_sandbox_run(&sb, 0, 1, &d);
}

/* Runs code that must succeed and returns its result as a string (owned by
 * the state, valid until the next run). */
static const char *eval_str(const char *code)
{
    sr_status_t st = run(code);
    cr_assert_eq(st, SR_OK, "%s\n-> %s:%d: %s", code, d.file ? d.file : "", d.line, d.message ? d.message : "");
    const char *s = lua_tostring(sb.L, -1);
    lua_pop(sb.L, 1);
    return s ? s : "(not a string)";
}

static void expect_error(const char *code, sr_status_t st, int line, const char *message)
{
    cr_assert_eq(run(code), st, "%s\n-> %d %s", code, d.status, d.message ? d.message : "");
    cr_assert_str_eq(d.message, message, "%s", code);
    if (line) {
        cr_assert_str_eq(d.file, "rules/test.lua", "%s", code);
        cr_assert_eq(d.line, line, "%s", code);
    }
}

/* ---- the allow-list ---- */

Test(sandbox, forbidden_globals_are_absent)
{
    static const char *const names[] = {"io", "os", "package", "require", "debug", "load", "loadfile",
                                        "dofile", "collectgarbage", "print", "setmetatable",
                                        "getmetatable", "rawset", "rawget", "rawequal", "rawlen",
                                        "coroutine", "xpcall", "_G", "loadstring", "module", NULL};
    for (int i = 0; names[i]; i++) {
        char code[128], want[96];
        snprintf(code, sizeof code, "return %s", names[i]);
        snprintf(want, sizeof want, "undefined global '%s'", names[i]);
        expect_error(code, SR_ERR_RULE, 1, want);
    }
}

/* Collects the sorted keys of the table at the top into one string. */
static char *keys_of_top(lua_State *L)
{
    lua_getglobal(L, "table"); /* the real library, in the real globals */
    lua_getfield(L, -1, "sort");
    lua_getfield(L, -2, "concat");
    lua_remove(L, -3);
    lua_newtable(L); /* sort concat keys */
    lua_pushnil(L);
    while (lua_next(L, -5)) {
        lua_pop(L, 1);
        lua_pushvalue(L, -1);
        lua_rawseti(L, -3, (lua_Integer)lua_rawlen(L, -3) + 1);
    }
    lua_pushvalue(L, -3);
    lua_pushvalue(L, -2);
    lua_call(L, 1, 0); /* sort(keys) */
    lua_pushvalue(L, -2);
    lua_pushvalue(L, -2);
    lua_pushliteral(L, " ");
    lua_call(L, 2, 1); /* concat(keys, " ") */
    char *s = strdup(lua_tostring(L, -1));
    lua_pop(L, 4);
    return s;
}

/* The whole environment, walked: every global and every field of every
 * library table reachable from it (and from the strings' metatable), against
 * the allow-list in docs/security.md. */
Test(sandbox, the_environment_is_exactly_the_allow_list)
{
    lua_State *L = sb.L;
    sr_sandbox_push_env(&sb);
    lua_newtable(L); /* the env's raw contents */
    lua_pushnil(L);
    while (lua_next(L, -3)) {
        lua_pushvalue(L, -2);
        lua_insert(L, -2);
        lua_rawset(L, -4);
    }
    char *globals = keys_of_top(L);
    cr_assert_str_eq(globals, "assert error ipairs log math next pairs pcall select string table tonumber "
                              "tostring type utf8");
    free(globals);
    lua_pop(L, 1);
    static const struct {
        const char *lib;
        const char *keys;
    } libs[] = {
        {"string", "byte char find format gmatch gsub len lower match rep reverse sub upper"},
        {"table", "concat insert move pack remove sort unpack"},
        /* Debian builds Lua with LUA_COMPAT_MATHLIB: cosh, frexp, ldexp, log10, pow, ... */
        {"math", "abs acos asin atan atan2 ceil cos cosh deg exp floor fmod frexp huge ldexp log log10 max "
                 "maxinteger min mininteger modf pi pow rad sin sinh sqrt tan tanh tointeger type ult"},
        {"utf8", "char charpattern codepoint codes len offset"},
    };
    for (size_t i = 0; i < sizeof libs / sizeof libs[0]; i++) {
        cr_assert_eq(lua_getfield(L, -1, libs[i].lib), LUA_TTABLE);
        char *keys = keys_of_top(L);
        cr_assert_str_eq(keys, libs[i].keys, "%s", libs[i].lib);
        free(keys);
        /* every value is a function or a constant: no table leads further */
        lua_pushnil(L);
        while (lua_next(L, -2)) {
            int t = lua_type(L, -1);
            cr_assert(t == LUA_TFUNCTION || t == LUA_TNUMBER || t == LUA_TSTRING, "%s.%s is a %s", libs[i].lib,
                      lua_tostring(L, -2), luaL_typename(L, -1));
            lua_pop(L, 1);
        }
        lua_pop(L, 1);
    }
    /* the strings' metatable leads to the real string table: same names */
    lua_pushliteral(L, "");
    cr_assert(lua_getmetatable(L, -1));
    char *mt = keys_of_top(L);
    cr_assert_str_eq(mt, "__add __div __idiv __index __mod __mul __pow __sub __unm", "no __concat");
    free(mt);
    lua_getfield(L, -1, "__index");
    char *real = keys_of_top(L);
    cr_assert_str_eq(real, libs[0].keys, "what ('x'):method() reaches");
    free(real);
    lua_settop(L, 0);
    /* and the values rules see are the capped ones */
    cr_assert_str_eq(eval_str("return tostring(string.rep == ('').rep and string.find == ('').find)"), "true");
    cr_assert_str_eq(eval_str("return tostring(pcall == (function() return pcall end)())"), "true");
}

Test(sandbox, dangerous_library_functions_are_absent)
{
    static const char *const exprs[] = {"string.dump", "math.random", "math.randomseed", "('').dump",
                                        "string.pack", "string.unpack", "('').pack", NULL};
    for (int i = 0; exprs[i]; i++) {
        char code[128];
        snprintf(code, sizeof code, "return tostring(%s == nil)", exprs[i]);
        cr_assert_str_eq(eval_str(code), "true", "%s must be nil", exprs[i]);
    }
}

Test(sandbox, library_tables_are_copies)
{
    cr_assert_str_eq(eval_str("string.upper = nil; return ('x'):upper()"), "X",
                     "changing the rules' string table does not change the strings' methods");
}

Test(sandbox, bytecode_is_refused)
{
    static const char bytecode[] = "\x1bLua\x54\x00";
    sr_status_t st = sr_sandbox_load(&sb, bytecode, sizeof bytecode - 1, "@rules/evil.lua", 0, &d);
    cr_assert_eq(st, SR_ERR_RULE);
    cr_assert_str_eq(d.message, "attempt to load a binary chunk (mode is 't')");
}

Test(sandbox, syntax_and_runtime_errors_have_file_and_line)
{
    expect_error("local x = 1\nlocal y = = 2\n", SR_ERR_RULE, 2, "unexpected symbol near '='");
    expect_error("local t = {}\n\nreturn t.x.y\n", SR_ERR_RULE, 3, "attempt to index a nil value (field 'x')");
}

Test(sandbox, error_objects_that_are_not_strings)
{
    expect_error("\nerror({})", SR_ERR_RULE, 2, "(error object is a table value)");
    expect_error("error(nil)", SR_ERR_RULE, 1, "(error object is a nil value)");
}

Test(sandbox, long_and_invalid_messages_are_tidied)
{
    char want[1200];
    memset(want, 'x', 1000);
    strcpy(want + 1000, "... (message cut at 1000 of 5000 bytes)");
    expect_error("error(('x'):rep(5000))", SR_ERR_RULE, 1, want);
    expect_error("error('a\\255b\\0c\\nd')", SR_ERR_RULE, 1, "a?b");
    expect_error("error('caf\\195\\169 \\237\\160\\128')", SR_ERR_RULE, 1, "caf\u00e9 ???");
}

/* ---- limits ---- */

Test(sandbox, memory_budget)
{
    expect_error("local t = {}\nfor i = 1, 1e9 do t[i] = i end", SR_ERR_LIMIT, 2, "memory limit of 32 MiB exceeded");
    cr_assert_str_eq(eval_str("return tostring(1 + 1)"), "2", "the state stays usable after a memory error");
}

Test(sandbox, time_limit)
{
    expect_error("local n = 0\nwhile true do n = n + 1 end", SR_ERR_LIMIT, 2, "time limit of 200 ms exceeded");
    cr_assert_str_eq(eval_str("return tostring(1 + 1)"), "2", "the hook is gone after the run");
}

Test(sandbox, no_pcall_swallows_a_limit)
{
    expect_error("local ok = pcall(function() while true do end end)\nreturn 'escaped'", SR_ERR_LIMIT, 1,
                 "time limit of 200 ms exceeded");
    expect_error("for i = 1, 10 do pcall(function() local t = {} for i = 1, 1e9 do t[i] = i end end) end\n"
                 "return 'escaped'",
                 SR_ERR_LIMIT, 1, "memory limit of 32 MiB exceeded");
    expect_error("local ok, e = pcall(string.rep, 'x', 1e9)\nreturn 'escaped'", SR_ERR_LIMIT, 1,
                 "string.rep: the result would exceed the limit of 1048576 bytes");
    expect_error("local ok = pcall(pcall, pcall, string.find, ('a'):rep(50000), '.-.-.-b')\nreturn 'escaped'",
                 SR_ERR_LIMIT, 1, "string.find: pattern too complex (more than 10000000 matching steps)");
    cr_assert_str_eq(eval_str("local ok, e = pcall(error, 'plain') return tostring(ok) .. ' ' .. e"), "false plain",
                     "ordinary errors are still caught");
}

Test(sandbox, string_and_table_caps)
{
    expect_error("\nreturn ('ab'):rep(600000)", SR_ERR_LIMIT, 2,
                 "string.rep: the result would exceed the limit of 1048576 bytes");
    expect_error("return ('ab'):rep(2, ('x'):rep(1048576))", SR_ERR_LIMIT, 1,
                 "string.rep: the result would exceed the limit of 1048576 bytes");
    expect_error("return string.rep('x', math.maxinteger)", SR_ERR_LIMIT, 1,
                 "string.rep: the result would exceed the limit of 1048576 bytes");
    cr_assert_str_eq(eval_str("return ('ab'):rep(3, ',')"), "ab,ab,ab");
    cr_assert_str_eq(eval_str("return tostring(#('x'):rep(1048576))"), "1048576", "exactly the limit is fine");
    expect_error("local t = {} for i = 1, 3000 do t[i] = ('x'):rep(1000) end return table.concat(t)", SR_ERR_LIMIT,
                 1, "table.concat: the result would exceed the limit of 1048576 bytes");
    cr_assert_str_eq(eval_str("return table.concat({1, 'a', 2.5}, '-')"), "1-a-2.5");
    expect_error("local a = {} for i = 1, 20000 do a[i] = 1 end\n"
                 "return string.format(('%99d'):rep(20000), table.unpack(a))",
                 SR_ERR_LIMIT, 2, "string.format: the result exceeds the limit of 1048576 bytes");
    expect_error("local s = ('%s'):rep(3) return string.format(s, ('x'):rep(1e6), ('x'):rep(1e6), 'x')",
                 SR_ERR_LIMIT, 1, "string.format: the result exceeds the limit of 1048576 bytes");
    expect_error("return table.move({}, 1, math.maxinteger, 2)", SR_ERR_LIMIT, 1,
                 "table.move: more than 1000000 elements in one call");
    cr_assert_str_eq(eval_str("return table.concat(table.move({1, 2, 3}, 1, 3, 2), ',')"), "1,1,2,3");
    expect_error("local s = ('x'):rep(1000000) return s:gsub('x', 'yy')", SR_ERR_LIMIT, 1,
                 "string.gsub: the result exceeds the limit of 1048576 bytes");
}

/* The step-bounded matcher gives what the standard library gives. */
Test(sandbox, patterns_agree_with_the_standard_library)
{
    static const char *const calls[] = {
        "('hello world'):find('o w')", "('hello world'):find('o', 6)", "('hello'):find('l+')",
        "('hello'):find('')", "('hello'):find('', 10)", "('hello'):find('xyz', 1, true)",
        "('a.b'):find('.', 1, true)", "('hello'):match('(h)(e)')", "('hello'):match('()ll()')",
        "('  trim  '):match('^%s*(.-)%s*$')", "('key = value'):match('^(%w+)%s*=%s*(%w+)$')",
        "('T12'):match('^([CTLS])(%d+)$')", "('x'):match('^(.-):%d+: $')", "('f.lua:12: '):match('^(.-):%d+: $')",
        "('THE (quick) fox'):find('%((%a+)%)')", "('[[x]]'):match('%b[]')", "('THE (quick) fox'):gsub('%f[%a]%a+', 'W')",
        "('abc'):gsub('', '-')", "('abc'):gsub('%w', '%0%0')", "('hello world'):gsub('o', {o = '0'})",
        "('hello world'):gsub('%w+', function(w) return w:upper() end)", "('abc'):gsub('b', false and 1 or '%%')",
        "('a,b,,c'):gsub(',', ';', 2)", "('x = 1, y = 2'):gsub('(%w+) = (%w+)', '%2 = %1')",
        "('aaa'):gsub('a*', '-')", "('abc'):gsub('.', {a = 1, b = true and 'B'})", "('abc'):match('.-b')",
        "('aXb'):match('%u')", "('a1 b2'):gsub('%a(%d)', '<%1>')", "('  x'):find('^%s*')",
        "('[a-z]'):find('[%]]')", "('a]b'):find('[]]')", "('a-b'):find('[a%-]+')", "('x^y'):find('[%^]')",
        "('abc'):find('[^a]')", "('abc'):find('b', -1)", "('abc'):find('b', -2)", "('abc'):match('c$')",
        "('a$c'):match('a$c')", "('hello'):match('.-(l+)(.*)')", "('one two'):gsub('(%w+)', '%1%1', 1)",
        "('abc'):match('((a)(b))')", "('\\0a\\0'):find('%z')", "('date 2024-01-05'):match('(%d+)-(%d+)-(%d+)')",
        NULL};
    lua_State *ref = luaL_newstate(); /* the standard library, for reference */
    luaL_openlibs(ref);
    for (int i = 0; calls[i]; i++) {
        char code[512];
        snprintf(code, sizeof code,
                 "local r = table.pack(%s) local out = {} for i = 1, r.n do out[i] = math.type(r[i]) and "
                 "math.type(r[i]) .. ':' .. tostring(r[i]) or type(r[i]) .. ':' .. tostring(r[i]) end "
                 "return table.concat(out, '|')",
                 calls[i]);
        cr_assert_eq(luaL_dostring(ref, code), LUA_OK, "%s: %s", calls[i], lua_tostring(ref, -1));
        const char *want = lua_tostring(ref, -1);
        cr_assert_str_eq(eval_str(code), want, "%s", calls[i]);
        lua_pop(ref, 1);
    }
    static const char *const gm[] = {"'one two  three', '%a+'", "'k=v, a=b', '(%w+)=(%w+)'", "'abc', ''",
                                     "'abc', '.-'", "'x1y22z333', '%d+'", NULL};
    for (int i = 0; gm[i]; i++) {
        char code[512];
        snprintf(code, sizeof code,
                 "local out = {} for a, b in string.gmatch(%s) do out[#out + 1] = tostring(a) .. '/' .. "
                 "tostring(b) end return table.concat(out, '|')",
                 gm[i]);
        cr_assert_eq(luaL_dostring(ref, code), LUA_OK, "%s: %s", gm[i], lua_tostring(ref, -1));
        cr_assert_str_eq(eval_str(code), lua_tostring(ref, -1), "gmatch(%s)", gm[i]);
        lua_pop(ref, 1);
    }
    static const char *const bad[] = {"('x'):find('%')", "('x'):find('[a')", "('x'):find('(')", "('x'):match(')')",
                                      "('x'):find('%1')", "('x'):gsub('x', '%2')", "('x'):gsub('x', '%y')",
                                      "('x'):find('%f')", "('x'):find('%b')", "('x'):gsub('x', {x = {}})",
                                      "('x'):gsub('x', true)", NULL};
    for (int i = 0; bad[i]; i++) {
        char code[256];
        snprintf(code, sizeof code, "return %s", bad[i]);
        cr_assert_neq(luaL_dostring(ref, code), LUA_OK, "%s", bad[i]);
        const char *want = strstr(lua_tostring(ref, -1), ": ") + 2; /* without the chunk's position */
        cr_assert_neq(run(code), SR_OK, "%s", bad[i]);
        cr_assert_str_eq(d.message, want, "%s", bad[i]);
        lua_pop(ref, 1);
    }
    lua_close(ref);
}

Test(sandbox, catastrophic_patterns_stop)
{
    expect_error("local s = ('a'):rep(30000)\nreturn s:match('(.-)(.-)(.-)(.-)b')", SR_ERR_LIMIT, 2,
                 "string.match: pattern too complex (more than 10000000 matching steps)");
    expect_error("return (('a'):rep(5000) .. 'x'):gsub('a*a*a*a*b', '')", SR_ERR_LIMIT, 1,
                 "string.gsub: pattern too complex (more than 10000000 matching steps)");
    expect_error("for w in (('a'):rep(5000)):gmatch('a-a-a-b') do end", SR_ERR_LIMIT, 1,
                 "string.gmatch: pattern too complex (more than 10000000 matching steps)");
    cr_assert_str_eq(eval_str("return tostring(#(('ab'):rep(200000):gsub('b', '')))"), "200000",
                     "a linear pattern over a long subject is fine");
}

Test(sandbox, log_is_capped)
{
    char *buf = NULL;
    size_t len = 0;
    sb.log_out = open_memstream(&buf, &len);
    eval_str("for i = 1, 25 do log('n', i, nil, true) end\nlog(('é'):rep(400))\nreturn ''");
    fclose(sb.log_out);
    sb.log_out = NULL;
    cr_assert(strncmp(buf, "rules/test.lua:1: log: n\t1\tnil\ttrue\n", 36) == 0, "%s", buf);
    cr_assert(strstr(buf, "rules/test.lua:1: log: n\t20\tnil\ttrue\n"));
    cr_assert(!strstr(buf, "\t21\t"));
    cr_assert(strstr(buf, "rules/test.lua:1: log: more than 20 messages; the rest are dropped\n"));
    cr_assert(!strstr(buf, "rules/test.lua:2:"), "the 22nd message of the run is dropped too");
    free(buf);
    buf = NULL;
    sb.log_out = open_memstream(&buf, &len);
    eval_str("log(('é'):rep(400), '\\255\\n') return ''");
    fclose(sb.log_out);
    sb.log_out = NULL;
    /* 500 bytes of 2-byte characters, never half of one, and the mark */
    cr_assert_eq(strlen(buf), strlen("rules/test.lua:1: log: ") + 500 + strlen(" [cut]\n"), "%s", buf);
    free(buf);
    buf = NULL;
    sb.log_out = open_memstream(&buf, &len);
    eval_str("log('a\\255b\\nc') return ''");
    fclose(sb.log_out);
    sb.log_out = NULL;
    cr_assert_str_eq(buf, "rules/test.lua:1: log: a?b c\n");
    free(buf);
}

/* ---- freezing ---- */

Test(sandbox, everything_rules_define_is_frozen)
{
    cr_assert_eq(run("T = {1, 2, n = {3}}\nlocal up = {x = 1}\nF = function() return up.x end\nreturn 0"), SR_OK);
    lua_pop(sb.L, 1);
    cr_assert_eq(sr_sandbox_freeze(&sb, &d), SR_OK);
    expect_error("T[1] = 5", SR_ERR_RULE, 1,
                 "tables of the rule set are read-only once it is loaded (tried to set [1])");
    expect_error("T.n[1] = 5", SR_ERR_RULE, 1,
                 "tables of the rule set are read-only once it is loaded (tried to set [1])");
    expect_error("T.new = 5", SR_ERR_RULE, 1,
                 "tables of the rule set are read-only once it is loaded (tried to set 'new')");
    expect_error("math.floor = nil", SR_ERR_RULE, 1,
                 "tables of the rule set are read-only once it is loaded (tried to set 'floor')");
    expect_error("table.insert(T, 3)", SR_ERR_RULE, 0,
                 "tables of the rule set are read-only once it is loaded (tried to set [3])");
    expect_error("table.sort(T, function(a, b) return a > b end)", SR_ERR_RULE, 0,
                 "tables of the rule set are read-only once it is loaded (tried to set [1])");
    expect_error("G = 1", SR_ERR_RULE, 1, "rule files cannot set globals once the rule set is loaded (tried 'G')");
    expect_error("return nothing_here", SR_ERR_RULE, 1, "undefined global 'nothing_here'");
    /* reading is unchanged */
    cr_assert_str_eq(eval_str("local n = 0 for k, v in pairs(T) do n = n + 1 end\n"
                              "local s = '' for i, v in ipairs(T) do s = s .. v end\n"
                              "return n .. ' ' .. #T .. ' ' .. s .. ' ' .. T.n[1] .. ' ' .. tostring(next(T) ~= nil)"
                              " .. ' ' .. table.concat(T, ',') .. ' ' .. F()"),
                     "3 2 12 3 true 1,2 1");
    /* a function's upvalue table is frozen too */
    expect_error("local f = F\nreturn (function() T.n.x = 1 end)()", SR_ERR_RULE, 2,
                 "tables of the rule set are read-only once it is loaded (tried to set 'x')");
}

/* Frozen tables a result holds are replaced by raw copies, made once and
 * shared by every later result; their size still counts, every time. */
Test(sandbox, results_share_one_copy_of_each_frozen_table)
{
    cr_assert_eq(run("K = {fr = 'x', en = 'y', n = {1, 2, {z = true}}}\nreturn 0"), SR_OK);
    lua_pop(sb.L, 1);
    cr_assert_eq(sr_sandbox_freeze(&sb, &d), SR_OK);
    const char *want = "{\"a\":{\"en\":\"y\",\"fr\":\"x\",\"n\":[1,2,{\"z\":true}]},"
                       "\"b\":[{\"en\":\"y\",\"fr\":\"x\",\"n\":[1,2,{\"z\":true}]},[1,2,{\"z\":true}]],\"c\":1}";
    const void *first_a = NULL, *first_n = NULL;
    for (int i = 0; i < 3; i++) {
        cr_assert_eq(run("return {a = K, b = {K, K.n}, c = 1}"), SR_OK);
        cr_assert_eq(sr_sandbox_check_result(&sb, -1, &d), SR_OK);
        char *json = sr_writer_to_json(sb.L, -1);
        cr_assert_str_eq(json, want, "run %d", i);
        free(json);
        lua_getfield(sb.L, -1, "a");
        cr_assert_eq(lua_getmetatable(sb.L, -1), 0, "a raw copy");
        lua_getfield(sb.L, -1, "n");
        lua_getfield(sb.L, -3, "b");
        lua_rawgeti(sb.L, -1, 2);
        cr_assert_eq(lua_topointer(sb.L, -1), lua_topointer(sb.L, -3), "K.n's one copy");
        if (i == 0) {
            first_a = lua_topointer(sb.L, -4);
            first_n = lua_topointer(sb.L, -1);
        } else {
            cr_assert_eq(lua_topointer(sb.L, -4), first_a);
            cr_assert_eq(lua_topointer(sb.L, -1), first_n);
        }
        lua_pop(sb.L, 5);
    }
    sb.limits.result_values = 12;
    cr_assert_eq(run("return {a = K, b = {K, K.n}, c = 1}"), SR_OK);
    cr_assert_eq(sr_sandbox_check_result(&sb, -1, &d), SR_ERR_LIMIT);
    cr_assert_str_eq(d.message, "the result holds more than 12 values");
    sb.limits.result_values = 100;
    sb.limits.result_bytes = 4;
    cr_assert_eq(run("return {a = K, c = 1}"), SR_OK);
    cr_assert_eq(sr_sandbox_check_result(&sb, -1, &d), SR_ERR_LIMIT);
    cr_assert_str_eq(d.message, "the result holds more than 4 bytes of text");
}

/* A frozen table holding a table that is not frozen (freezing is deep, so
 * only C code can build one) is copied for every result, never shared. */
Test(sandbox, a_frozen_table_holding_a_mutable_one_is_not_shared)
{
    lua_State *L = sb.L;
    lua_newtable(L); /* the mutable table */
    int inner = lua_gettop(L);
    lua_newtable(L); /* the proxy */
    int proxy = lua_gettop(L);
    lua_newtable(L); /* its metatable */
    lua_pushliteral(L, "frozen");
    lua_setfield(L, -2, "__metatable");
    lua_newtable(L); /* the contents */
    lua_pushvalue(L, inner);
    lua_setfield(L, -2, "m");
    lua_setfield(L, -2, "__index");
    lua_setmetatable(L, proxy);
    for (int i = 0; i < 2; i++) {
        lua_pushinteger(L, i);
        lua_setfield(L, inner, "n");
        lua_newtable(L);
        lua_pushvalue(L, proxy);
        lua_setfield(L, -2, "k");
        cr_assert_eq(sr_sandbox_check_result(&sb, -1, &d), SR_OK);
        char *json = sr_writer_to_json(L, -1);
        cr_assert_str_eq(json, i ? "{\"k\":{\"m\":{\"n\":1}}}" : "{\"k\":{\"m\":{\"n\":0}}}");
        free(json);
        lua_pop(L, 1);
    }
    cr_assert_eq(sb.shared.n, 0);
    lua_pop(L, 2);
}

/* ---- bytecode checks ---- */

Test(sandbox, functions_cannot_keep_state_in_file_variables)
{
    expect_error("local count = 0\nlocal function f()\n  count = count + 1\nend\nreturn 1", SR_ERR_RULE, 3,
                 "a function cannot assign 'count', a variable of the file: rules keep no state between cases");
    expect_error("local a = {}\nlocal function f()\n  return function() a = nil end\nend", SR_ERR_RULE, 3,
                 "a function cannot assign 'a', a variable of the file: rules keep no state between cases");
    expect_error("\n_ENV = {}", SR_ERR_RULE, 2, "a rule file cannot assign _ENV");
    cr_assert_str_eq(eval_str("local x = 1\nx = x + 1\nlocal function f() local y = 1 local function g() y = y + 1 "
                              "return y end return g() end\nreturn tostring(f() + x)"),
                     "4", "the main chunk's own locals, and a function's locals in its inner functions, are fine");
}

/* ---- Lua 5.4.4 bugs, unreachable ---- */

/* Bitwise operators in functions with more than 256 constants are
 * miscompiled by Lua 5.4.4 (fixed in 5.4.5): refused at load. */
Test(sandbox, lua544_bitwise_with_many_constants_is_refused)
{
    char code[8192] = "local t = {";
    for (int i = 0; i < 300; i++)
        snprintf(code + strlen(code), sizeof code - strlen(code), "'k%d',", i);
    strcat(code, "}\nlocal x = 3\nreturn 1000 & x");
    expect_error(code, SR_ERR_RULE, 3,
                 "bitwise operator in a function with more than 256 constants (Lua 5.4.4 can compile it wrongly): "
                 "split the function");
    cr_assert_str_eq(eval_str("local x = 3 return tostring(1000 & x | 1)"), "1", "few constants: fine");
}

/* luaV_concat of 5.4.4 can use freed memory when a __concat metamethod
 * runs: no value rules can reach has one, and rules cannot set one. */
Test(sandbox, lua544_concat_metamethods_are_unreachable)
{
    expect_error("return {} .. 'x'", SR_ERR_RULE, 1, "attempt to concatenate a table value");
    expect_error("return setmetatable({}, {__concat = print})", SR_ERR_RULE, 1, "undefined global 'setmetatable'");
    expect_error("return ('').x .. 'y'", SR_ERR_RULE, 1, "attempt to concatenate a nil value (field 'x')");
}

/* 5.4.4 crashes on long chains of coroutine.close: no coroutines. */
Test(sandbox, lua544_coroutines_are_unreachable)
{
    expect_error("local co = coroutine.create(print)", SR_ERR_RULE, 1, "undefined global 'coroutine'");
    cr_assert_str_eq(eval_str("return tostring(('').wrap == nil and ('').create == nil)"), "true");
}

/* ---- the environment of the shipped rule set ---- */

#include "engine.h"
#include "shipped.h"

/* After loading the shipped rule set, the globals rule files see are the
 * allow-list above, log, and the prelude's vocabulary (docs/security.md):
 * a word added to the prelude is added here on purpose. */
Test(engine_env, globals_of_the_loaded_rule_set)
{
    sr_engine_t *e = open_shipped_engine();
    lua_State *L = e->sb.L;
    sr_sandbox_push_env(&e->sb);
    cr_assert(lua_getmetatable(L, -1), "the environment is locked");
    cr_assert_eq(lua_getfield(L, -1, "__index"), LUA_TTABLE, "its values live behind __index");
    char *globals = keys_of_top(L);
    cr_assert_str_eq(globals,
                     "above all_of any_contraindication any_of assert at_least at_most band band_is band_of "
                     "band_start bands below between check classification contraindication decision error "
                     "factor findings for_any in_levels includes_any ipairs is is_at_least is_at_most is_below "
                     "is_one_of is_true item levels log math negate next one_of pairs pcall result risk row score "
                     "score_at_least segment_of select status_of step string table tonumber tostring type unknown "
                     "utf8 value_at_least value_between value_of",
                     "got: %s", globals);
    free(globals);
    lua_settop(L, 0);
    sr_engine_close(e);
}
