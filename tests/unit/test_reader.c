/* test_reader.c -- the reader: values, positions, streams, JSON Lines, malformed input. */
#include <criterion/criterion.h>
#include <lauxlib.h>
#include <lualib.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "lvalue.h"
#include "reader.h"

static lua_State *L;
static sr_reader_t *rd;
static sr_diag_t d;

static void setup(void)
{
    L = luaL_newstate();
    sr_lv_init(L);
    sr_diag_init(&d);
    rd = NULL;
}

static void teardown(void)
{
    sr_reader_close(rd);
    sr_diag_free(&d);
    lua_close(L);
}

TestSuite(reader, .init = setup, .fini = teardown);

static void open_text(const char *name, const char *text)
{
    cr_assert_eq(sr_reader_open_mem(&rd, name, text, strlen(text), SR_IN_AUTO, NULL, &d), SR_OK);
}

/* Reads the next document and expects success. */
static void next_ok(void)
{
    sr_status_t st = sr_reader_next(rd, L, &d);
    cr_assert_eq(st, SR_OK, "expected a document, got status %d: %s", st, d.message ? d.message : "");
}

static void next_err(sr_status_t want, int line, int col, const char *path, const char *msg)
{
    int top = lua_gettop(L);
    sr_status_t st = sr_reader_next(rd, L, &d);
    cr_assert_eq(st, want, "status %d, expected %d (%s)", st, want, d.message ? d.message : "");
    cr_assert_eq(lua_gettop(L), top, "nothing is pushed on error");
    cr_assert_eq(d.line, line, "line %d, expected %d", d.line, line);
    cr_assert_eq(d.column, col, "column %d, expected %d", d.column, col);
    cr_assert_str_eq(d.path ? d.path : "", path);
    cr_assert_str_eq(d.message, msg);
}

static const char *field_type(const char *expr)
{
    /* evaluates "return <expr>" with the top value as 'doc' */
    lua_pushvalue(L, -1);
    lua_setglobal(L, "doc");
    char code[256];
    snprintf(code, sizeof code, "return %s", expr);
    cr_assert_eq(luaL_dostring(L, code), LUA_OK, "%s", lua_tostring(L, -1));
    const char *t = sr_lv_typename(L, -1);
    return t;
}

Test(reader, scalars_resolve_with_yaml_1_2_core_rules)
{
    open_text("t.yaml", "a: 10\nb: 010\nc: no\nd: on\ne: true\nf: ~\ng: 2.5\nh: '10'\ni: 0x1F\nj: -3\nk: 1e3\n");
    next_ok();
    cr_assert_str_eq(field_type("doc.a"), "integer");
    cr_assert_eq(lua_tointeger(L, -1), 10);
    lua_pop(L, 1);
    cr_assert_str_eq(field_type("doc.b"), "string");
    cr_assert_str_eq(lua_tostring(L, -1), "010");
    lua_pop(L, 1);
    cr_assert_str_eq(field_type("doc.c"), "string");
    lua_pop(L, 1);
    cr_assert_str_eq(field_type("doc.d"), "string");
    lua_pop(L, 1);
    cr_assert_str_eq(field_type("doc.e"), "boolean");
    lua_pop(L, 1);
    cr_assert_str_eq(field_type("doc.f"), "null");
    lua_pop(L, 1);
    cr_assert_str_eq(field_type("doc.g"), "number");
    cr_assert_float_eq(lua_tonumber(L, -1), 2.5, 1e-12);
    lua_pop(L, 1);
    cr_assert_str_eq(field_type("doc.h"), "string");
    lua_pop(L, 1);
    cr_assert_str_eq(field_type("doc.i"), "integer");
    cr_assert_eq(lua_tointeger(L, -1), 31);
    lua_pop(L, 1);
    cr_assert_str_eq(field_type("doc.j"), "integer");
    cr_assert_eq(lua_tointeger(L, -1), -3);
    lua_pop(L, 1);
    cr_assert_str_eq(field_type("doc.k"), "number");
    cr_assert_float_eq(lua_tonumber(L, -1), 1000.0, 1e-12);
    lua_pop(L, 1);
}

Test(reader, empty_sequence_is_an_array_and_empty_mapping_is_an_object)
{
    open_text("t.yaml", "a: []\nb: {}\nc: [x, y]\n");
    next_ok();
    cr_assert_str_eq(field_type("doc.a"), "array");
    lua_pop(L, 1);
    cr_assert_str_eq(field_type("doc.b"), "object");
    lua_pop(L, 1);
    cr_assert_str_eq(field_type("doc.c[2]"), "string");
    cr_assert_str_eq(lua_tostring(L, -1), "y");
    lua_pop(L, 1);
}

Test(reader, positions_of_nested_nodes_and_keys)
{
    open_text("t.yaml", "id: P-1\nspine:\n  lesions:\n    - level: T12\n      pain: mechanical\n    - level: L1\n      collapse: none\n");
    next_ok();
    sr_pathseg_t path[4] = {{"spine", 5, 0}, {"lesions", 7, 0}, {NULL, 0, 1}, {"collapse", 8, 0}};
    int line, col;
    cr_assert_eq(sr_reader_locate(rd, path, 4, 0, &line, &col), 4);
    cr_assert_eq(line, 7);
    cr_assert_eq(col, 17);
    cr_assert_eq(sr_reader_locate(rd, path, 4, 1, &line, &col), 4);
    cr_assert_eq(line, 7);
    cr_assert_eq(col, 7);
    sr_pathseg_t missing[3] = {{"spine", 5, 0}, {"lesions", 7, 0}, {NULL, 0, 5}};
    cr_assert_eq(sr_reader_locate(rd, missing, 3, 0, &line, &col), 2, "two steps found");
    cr_assert_eq(line, 4, "the deepest node found: the lesions sequence");
    cr_assert_eq(col, 5);
}

Test(reader, a_stream_of_documents_in_order)
{
    open_text("t.yaml", "id: A\n---\nid: B\n---\nid: C\n");
    const char *want[] = {"A", "B", "C"};
    for (int i = 0; i < 3; i++) {
        next_ok();
        lua_getfield(L, -1, "id");
        cr_assert_str_eq(lua_tostring(L, -1), want[i]);
        cr_assert_str_eq(sr_reader_doc_id(rd), want[i]);
        lua_pop(L, 2);
    }
    cr_assert_eq(sr_reader_next(rd, L, &d), SR_DONE);
    cr_assert_eq(sr_reader_next(rd, L, &d), SR_DONE, "SR_DONE stays");
}

Test(reader, document_start_line)
{
    open_text("t.yaml", "# comment\nid: A\n---\nid: B\n");
    next_ok();
    cr_assert_eq(sr_reader_doc_line(rd), 2);
    lua_pop(L, 1);
    next_ok();
    cr_assert_eq(sr_reader_doc_line(rd), 3);
}

Test(reader, syntax_error_names_line_and_column_and_the_stream_goes_on)
{
    open_text("cases.yaml", "id: A\n---\nid: B\nbad: [1, 2\n---\nid: C\n");
    next_ok();
    lua_pop(L, 1);
    next_err(SR_ERR_YAML, 5, 1, "",
             "did not find expected ',' or ']' (while parsing a flow sequence that starts at line 4, column 6)");
    cr_assert_str_eq(d.file, "cases.yaml");
    cr_assert_str_eq(sr_reader_doc_id(rd), "B", "the id read before the error is kept for the error record");
    next_ok();
    lua_getfield(L, -1, "id");
    cr_assert_str_eq(lua_tostring(L, -1), "C");
    lua_pop(L, 2);
    cr_assert_eq(sr_reader_next(rd, L, &d), SR_DONE);
}

Test(reader, anchors_aliases_and_tags_are_refused)
{
    open_text("t.yaml", "id: A\nx: &a 1\n---\nid: B\ny: *a\n---\nid: C\nz: !!str 1\n---\nid: D\n");
    next_err(SR_ERR_YAML, 2, 4, "x", "anchors (&a) are not allowed in a case");
    next_err(SR_ERR_YAML, 5, 4, "y", "aliases (*a) are not allowed in a case");
    next_err(SR_ERR_YAML, 8, 4, "z", "tags (tag:yaml.org,2002:str) are not allowed in a case");
    next_ok();
}

Test(reader, duplicate_keys_are_refused)
{
    open_text("t.yaml", "id: A\npatient:\n  karnofsky: 60\n  karnofsky: 70\n---\nid: B\n");
    next_err(SR_ERR_YAML, 4, 3, "patient.karnofsky", "duplicate key 'karnofsky'");
    next_ok();
}

Test(reader, a_mapping_as_key_is_refused)
{
    open_text("t.yaml", "? {a: 1}\n: 2\n");
    next_err(SR_ERR_YAML, 1, 3, "", "a mapping key must be a string, found a mapping");
}

Test(reader, nesting_limit)
{
    sr_reader_limits_t lim;
    sr_reader_default_limits(&lim);
    lim.max_depth = 3;
    const char *text = "a: {b: {c: {d: 1}}}\n---\nid: ok\n";
    cr_assert_eq(sr_reader_open_mem(&rd, "t.yaml", text, strlen(text), SR_IN_YAML, &lim, &d), SR_OK);
    next_err(SR_ERR_LIMIT, 1, 12, "a.b.c", "nesting deeper than 3 levels");
    next_ok();
}

Test(reader, document_size_limit_then_next_document)
{
    sr_reader_limits_t lim;
    sr_reader_default_limits(&lim);
    lim.max_doc_bytes = 1000;
    static char text[400000];
    strcpy(text, "id: big\nnote: \"");
    size_t n = strlen(text);
    memset(text + n, 'x', 300000);
    strcpy(text + n + 300000, "\"\n---\nid: after\n");
    cr_assert_eq(sr_reader_open_mem(&rd, "t.yaml", text, strlen(text), SR_IN_YAML, &lim, &d), SR_OK);
    sr_status_t st = sr_reader_next(rd, L, &d);
    cr_assert_eq(st, SR_ERR_LIMIT);
    cr_assert_str_eq(d.message, "document exceeds the limit of 1000 bytes");
    next_ok();
    lua_getfield(L, -1, "id");
    cr_assert_str_eq(lua_tostring(L, -1), "after");
}

Test(reader, invalid_utf8_is_refused)
{
    open_text("t.yaml", "id: A\nname: \"caf\xe9\"\n");
    next_err(SR_ERR_YAML, 2, 12, "", "invalid input: invalid trailing UTF-8 octet");
}

Test(reader, utf16_is_refused)
{
    static const char text[] = "\xff\xfei\0d\0:\0 \0A\0\n\0";
    cr_assert_eq(sr_reader_open_mem(&rd, "t.yaml", text, sizeof text - 1, SR_IN_YAML, NULL, &d), SR_OK);
    next_err(SR_ERR_YAML, 1, 1, "", "UTF-16 input is not supported: convert the file to UTF-8");
}

Test(reader, nul_byte_is_refused)
{
    static const char text[] = "id: A\nx: a\0b\n";
    cr_assert_eq(sr_reader_open_mem(&rd, "t.yaml", text, sizeof text - 1, SR_IN_YAML, NULL, &d), SR_OK);
    next_err(SR_ERR_YAML, 2, 5, "", "NUL byte in input (control characters are not allowed)");
}

Test(reader, empty_input_has_no_document)
{
    open_text("t.yaml", "");
    cr_assert_eq(sr_reader_next(rd, L, &d), SR_DONE);
}

Test(reader, json_lines_values_and_positions)
{
    open_text("t.jsonl", "{\"id\": \"A\", \"spine\": {\"lesions\": [{\"level\": \"T4\"}]}}\n\n{\"id\": \"B\", \"x\": null, \"n\": 2.5}\n");
    cr_assert_eq(sr_reader_format(rd), SR_IN_JSONL);
    next_ok();
    sr_pathseg_t path[4] = {{"spine", 5, 0}, {"lesions", 7, 0}, {NULL, 0, 0}, {"level", 5, 0}};
    int line, col;
    cr_assert_eq(sr_reader_locate(rd, path, 4, 0, &line, &col), 4);
    cr_assert_eq(line, 1);
    cr_assert_eq(col, 45, "the value \"T4\" starts at column 45");
    cr_assert_eq(sr_reader_locate(rd, path, 4, 1, &line, &col), 4);
    cr_assert_eq(col, 36, "the key \"level\" starts at column 36");
    lua_pop(L, 1);
    next_ok();
    cr_assert_eq(sr_reader_doc_line(rd), 3, "blank lines are skipped but counted");
    cr_assert_str_eq(field_type("doc.x"), "null");
    lua_pop(L, 1);
    cr_assert_str_eq(field_type("doc.n"), "number");
}

Test(reader, broken_json_line_is_an_error_for_that_line_only)
{
    open_text("t.jsonl", "{\"id\": \"A\"}\n{\"id\": \"B\", oops}\n{\"id\": \"C\"}\n");
    next_ok();
    lua_pop(L, 1);
    next_err(SR_ERR_YAML, 2, 13, "", "invalid JSON: lexical error: invalid char in json text");
    next_ok();
    lua_getfield(L, -1, "id");
    cr_assert_str_eq(lua_tostring(L, -1), "C");
}

Test(reader, truncated_json_line)
{
    open_text("t.jsonl", "{\"id\": \"A\", \"x\": [1, 2\n");
    next_err(SR_ERR_YAML, 1, 23, "", "invalid JSON: parse error: premature EOF");
}

Test(reader, json_duplicate_key)
{
    open_text("t.jsonl", "{\"id\": \"A\", \"id\": \"B\"}\n");
    next_err(SR_ERR_YAML, 1, 13, "id", "duplicate key 'id'");
}

Test(reader, json_detected_from_first_byte)
{
    open_text("cases.txt", "  {\"id\": \"A\"}\n");
    cr_assert_eq(sr_reader_format(rd), SR_IN_JSONL);
}

Test(reader, resolve_plain_table)
{
    sr_scalar_t v;
    sr_resolve_plain("-0", 2, &v);
    cr_assert_eq(v.kind, SR_SCALAR_INT);
    sr_resolve_plain("00", 2, &v);
    cr_assert_eq(v.kind, SR_SCALAR_STR);
    sr_resolve_plain(".inf", 4, &v);
    cr_assert_eq(v.kind, SR_SCALAR_FLOAT);
    sr_resolve_plain("99999999999999999999", 20, &v);
    cr_assert_eq(v.kind, SR_SCALAR_FLOAT, "an integer too large for 64 bits reads as a float");
    sr_resolve_plain("1.", 2, &v);
    cr_assert_eq(v.kind, SR_SCALAR_FLOAT);
    sr_resolve_plain("e3", 2, &v);
    cr_assert_eq(v.kind, SR_SCALAR_STR);
    sr_resolve_plain("yes", 3, &v);
    cr_assert_eq(v.kind, SR_SCALAR_STR);
}

Test(reader, resolve_plain_edges)
{
    sr_scalar_t v;
    sr_resolve_plain("9223372036854775807", 19, &v);
    cr_assert_eq(v.kind, SR_SCALAR_INT);
    cr_assert_eq(v.i, INT64_MAX);
    sr_resolve_plain("-9223372036854775808", 20, &v);
    cr_assert_eq(v.kind, SR_SCALAR_INT);
    cr_assert_eq(v.i, INT64_MIN);
    sr_resolve_plain("9223372036854775808", 19, &v);
    cr_assert_eq(v.kind, SR_SCALAR_FLOAT, "one past the largest integer reads as a float");
    cr_assert_float_eq(v.f, 9223372036854775808.0, 1.0);
    sr_resolve_plain("-9223372036854775809", 20, &v);
    cr_assert_eq(v.kind, SR_SCALAR_FLOAT);
    sr_resolve_plain("+12", 3, &v);
    cr_assert_eq(v.kind, SR_SCALAR_INT);
    cr_assert_eq(v.i, 12);
    sr_resolve_plain("+", 1, &v);
    cr_assert_eq(v.kind, SR_SCALAR_STR);
    sr_resolve_plain("-010", 4, &v);
    cr_assert_eq(v.kind, SR_SCALAR_STR);
    const char *nulls[] = {"~", "null", "Null", "NULL"};
    for (size_t i = 0; i < 4; i++) {
        sr_resolve_plain(nulls[i], strlen(nulls[i]), &v);
        cr_assert_eq(v.kind, SR_SCALAR_NULL, "%s", nulls[i]);
    }
    const char *strings[] = {"~~", "nULL", "NuLL", "tRUE", "FAlse", ".Nan", "+.nan", ".iNF", "0x", "0o8", "0x-1", "1_000"};
    for (size_t i = 0; i < sizeof strings / sizeof *strings; i++) {
        sr_resolve_plain(strings[i], strlen(strings[i]), &v);
        cr_assert_eq(v.kind, SR_SCALAR_STR, "%s", strings[i]);
    }
    sr_resolve_plain("TRUE", 4, &v);
    cr_assert_eq(v.kind, SR_SCALAR_BOOL);
    cr_assert_eq(v.b, 1);
    sr_resolve_plain("False", 5, &v);
    cr_assert_eq(v.kind, SR_SCALAR_BOOL);
    cr_assert_eq(v.b, 0);
    sr_resolve_plain("-.Inf", 5, &v);
    cr_assert_eq(v.kind, SR_SCALAR_FLOAT);
    cr_assert(isinf(v.f) && v.f < 0);
    sr_resolve_plain("+.INF", 5, &v);
    cr_assert(v.kind == SR_SCALAR_FLOAT && isinf(v.f) && v.f > 0);
    sr_resolve_plain(".NaN", 4, &v);
    cr_assert(v.kind == SR_SCALAR_FLOAT && isnan(v.f));
    sr_resolve_plain("0o17", 4, &v);
    cr_assert(v.kind == SR_SCALAR_INT && v.i == 15);
}

/* The reader remembers the keys of the documents before (see "shapes" in
 * reader.c): a document of the same shape reads the same, errors included. */
Test(reader, documents_of_one_shape_read_alike_errors_included)
{
    open_text("t.yaml", "id: A\npatient: {karnofsky: 60, age: 50}\nlist: [1, 2]\n"
                        "---\nid: B\npatient: {karnofsky: 70, age: 51}\nlist: [3]\n"
                        "---\nid: C\npatient: {karnofsky: 70, karnofsky: 80}\n"
                        "---\nid: D\npatient: {age: 52, extra: x, karnofsky: 90}\nlist: {a: 1}\n"
                        "---\nid: E\nid: F\n");
    next_ok();
    lua_pop(L, 1);
    next_ok();
    cr_assert_str_eq(field_type("doc.patient.karnofsky"), "integer");
    cr_assert_eq(lua_tointeger(L, -1), 70);
    lua_pop(L, 1);
    cr_assert_str_eq(field_type("doc.list"), "array");
    lua_pop(L, 1);
    cr_assert_eq(field_type("#doc.list") != NULL, 1);
    cr_assert_eq(lua_tointeger(L, -1), 1);
    lua_pop(L, 2);
    next_err(SR_ERR_YAML, 10, 26, "patient.karnofsky", "duplicate key 'karnofsky'");
    next_ok();
    cr_assert_str_eq(field_type("doc.patient.extra"), "string");
    lua_pop(L, 1);
    cr_assert_str_eq(field_type("doc.patient.karnofsky"), "integer");
    cr_assert_eq(lua_tointeger(L, -1), 90);
    lua_pop(L, 1);
    cr_assert_str_eq(field_type("doc.list"), "object", "a sequence last time, a mapping now");
    lua_pop(L, 2);
    next_err(SR_ERR_YAML, 17, 1, "id", "duplicate key 'id'");
}

/* Past the 64th key of a mapping, and for keys over 64 bytes, duplicates are
 * found another way: the same errors either way. */
Test(reader, duplicate_keys_in_a_large_mapping_and_long_keys)
{
    static char text[8192];
    size_t n = 0;
    for (int doc = 0; doc < 2; doc++) {
        n += (size_t)snprintf(text + n, sizeof text - n, "---\n");
        for (int k = 0; k < 70; k++)
            n += (size_t)snprintf(text + n, sizeof text - n, "k%02d: %d\n", k, k);
        n += (size_t)snprintf(text + n, sizeof text - n, "k66: again\n");
    }
    char longkey[81];
    memset(longkey, 'x', 80);
    longkey[80] = '\0';
    for (int doc = 0; doc < 2; doc++)
        n += (size_t)snprintf(text + n, sizeof text - n, "---\na: 1\n%s: 1\nb: 2\n%s: 2\n", longkey, longkey);
    open_text("t.yaml", text);
    next_err(SR_ERR_YAML, 72, 1, "k66", "duplicate key 'k66'");
    next_err(SR_ERR_YAML, 144, 1, "k66", "duplicate key 'k66'");
    char path[100], msg[120];
    snprintf(path, sizeof path, "%s", longkey);
    snprintf(msg, sizeof msg, "duplicate key '%s'", longkey);
    next_err(SR_ERR_YAML, 149, 1, path, msg);
    next_err(SR_ERR_YAML, 154, 1, path, msg);
}

Test(reader, json_columns_after_escapes_and_non_ascii_text)
{
    open_text("t.jsonl", "{\"id\": \"A\\\"\\\\\", \"n\\u00e9\": \"x\", \"b\": 1}\n"
                         "{\"id\": \"\xc3\xa9t\xc3\xa9\", \"k\": [true, \"\xe6\x97\xa5\", -2.5e3]}\n");
    next_ok();
    int line, col;
    sr_pathseg_t b[1] = {{"b", 1, 0}};
    cr_assert_eq(sr_reader_locate(rd, b, 1, 0, &line, &col), 1);
    cr_assert_eq(col, 38, "column %d", col);
    sr_pathseg_t ne[1] = {{"n\xc3\xa9", 3, 0}};
    cr_assert_eq(sr_reader_locate(rd, ne, 1, 1, &line, &col), 1);
    cr_assert_eq(col, 17, "the key with an escape starts at its quote: column %d", col);
    lua_pop(L, 1);
    next_ok();
    sr_pathseg_t k2[2] = {{"k", 1, 0}, {NULL, 0, 2}};
    cr_assert_eq(sr_reader_locate(rd, k2, 2, 0, &line, &col), 2);
    cr_assert_eq(line, 2);
    cr_assert_eq(col, 32, "columns count characters, not bytes: column %d", col);
    sr_pathseg_t k1[2] = {{"k", 1, 0}, {NULL, 0, 1}};
    cr_assert_eq(sr_reader_locate(rd, k1, 2, 0, &line, &col), 2);
    cr_assert_eq(col, 27, "column %d", col);
}

/* Two readers on one Lua state (as diff reads two result files) share what
 * they remember of shapes: each still reads its own documents. */
Test(reader, two_readers_on_one_lua_state)
{
    const char *ta = "{\"id\": \"A1\", \"x\": {\"p\": 1}}\n{\"id\": \"A2\", \"x\": {\"p\": 2}}\n";
    const char *tb = "{\"id\": \"B1\", \"x\": [1, 2]}\n{\"x\": {\"q\": 3}, \"id\": \"B2\", \"x2\": 0}\n";
    sr_reader_t *rb = NULL;
    open_text("a.jsonl", ta);
    cr_assert_eq(sr_reader_open_mem(&rb, "b.jsonl", tb, strlen(tb), SR_IN_AUTO, NULL, &d), SR_OK);
    for (int i = 0; i < 2; i++) {
        next_ok();
        cr_assert_str_eq(field_type("doc.x"), "object");
        lua_pop(L, 1);
        field_type("doc.x.p");
        cr_assert_eq(lua_tointeger(L, -1), i + 1);
        lua_pop(L, 2);
        cr_assert_eq(sr_reader_next(rb, L, &d), SR_OK);
        cr_assert_str_eq(field_type("doc.x"), i == 0 ? "array" : "object");
        lua_pop(L, 1);
        field_type("doc.id");
        cr_assert_str_eq(lua_tostring(L, -1), i == 0 ? "B1" : "B2");
        lua_pop(L, 2);
    }
    sr_reader_close(rb);
}

/* A line whose value is closed by its last bracket is taken without
 * yajl_complete_parse: what follows a value is still refused. */
Test(reader, json_line_ends)
{
    open_text("t.jsonl", "{\"a\":1} \t\r\n{\"a\":1} 5\n{\"a\":1}}\n[1, [2]]\n{\"a\": [1}\n");
    next_ok();
    lua_pop(L, 1);
    next_err(SR_ERR_YAML, 2, 10, "", "invalid JSON: parse error: trailing garbage");
    next_err(SR_ERR_YAML, 3, 9, "", "invalid JSON: parse error: trailing garbage");
    next_ok();
    cr_assert_str_eq(field_type("doc"), "array");
    lua_pop(L, 2);
    next_err(SR_ERR_YAML, 5, 10, "", "invalid JSON: parse error: after array element, I expect ',' or ']'");
}

/* yajl takes a string left open after a line's value as complete once the
 * value is: the reader refuses it as trailing garbage, at its first byte. */
Test(reader, json_open_string_after_the_value)
{
    open_text("t.jsonl", "{\"id\":\"A\"} \"abc\n{\"é\":1}\t\"\n[1] \"x\\\"\n{\"a\":2}\n");
    next_err(SR_ERR_YAML, 1, 12, "", "invalid JSON: parse error: trailing garbage");
    next_err(SR_ERR_YAML, 2, 9, "", "invalid JSON: parse error: trailing garbage");
    next_err(SR_ERR_YAML, 3, 5, "", "invalid JSON: parse error: trailing garbage");
    next_ok();
    cr_assert_str_eq(field_type("doc.a"), "integer");
    lua_pop(L, 2);
}
