/* test_schema.c -- engine/schema.c and engine/validate.c: loading (and
 * refusing) schemas, each keyword's verdict and exact message, positions,
 * suggestions, the engine's case checks, and memory failures. */
#include <criterion/criterion.h>
#include <lauxlib.h>
#include <stdlib.h>
#include <string.h>

#include "lvalue.h"
#include "reader.h"
#include "schema.h"
#include "util.h"
#include "validate.h"

/* ---- a Lua state whose allocator can be made to fail ---- */

static long fail_after = -1; /* fail the Nth allocation from now; -1 = never */

static void *test_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
    (void)ud;
    (void)osize;
    if (nsize == 0) {
        free(ptr);
        return NULL;
    }
    if (fail_after >= 0 && fail_after-- == 0)
        return NULL;
    return realloc(ptr, nsize);
}

static lua_State *L;

static void setup(void)
{
    fail_after = -1;
    L = lua_newstate(test_alloc, NULL);
    sr_lv_init(L);
}

static void teardown(void) { lua_close(L); }

TestSuite(schema, .init = setup, .fini = teardown);

/* Compiles the schema text; NULL with *d filled on failure. */
static sr_schema_t *compile(const char *text, sr_diag_t *d)
{
    sr_reader_t *rd = NULL;
    sr_schema_t *s = NULL;
    cr_assert_eq(sr_reader_open_mem(&rd, "s.yaml", text, strlen(text), SR_IN_YAML, NULL, d), SR_OK);
    cr_assert_eq(sr_reader_next(rd, L, d), SR_OK, "schema text: %s", d->message);
    sr_schema_compile(&s, L, -1, "s.yaml", rd, d);
    lua_pop(L, 1);
    sr_reader_close(rd);
    return s;
}

static sr_schema_t *must_compile(const char *text)
{
    sr_diag_t d;
    sr_diag_init(&d);
    sr_schema_t *s = compile(text, &d);
    cr_assert(s, "refused: %s:%d:%d: %s: %s", d.file, d.line, d.column, d.path ? d.path : "", d.message);
    sr_diag_free(&d);
    return s;
}

/* The refusal of a schema as "line:col: path: message". */
static char *refusal(const char *text)
{
    sr_diag_t d;
    sr_diag_init(&d);
    sr_schema_t *s = compile(text, &d);
    cr_assert_null(s, "the schema loaded");
    char *r = sr_asprintf("%d:%d: %s: %s", d.line, d.column, d.path ? d.path : "", d.message);
    sr_diag_free(&d);
    return r;
}

/* Validates the YAML document text; returns its errors, one per line, as
 * "line:col: path: message" ("" when valid). */
static char *errors_of(const sr_schema_t *s, const char *doc)
{
    sr_reader_t *rd = NULL;
    sr_diag_t d;
    sr_diag_init(&d);
    cr_assert_eq(sr_reader_open_mem(&rd, "c.yaml", doc, strlen(doc), SR_IN_YAML, NULL, &d), SR_OK);
    cr_assert_eq(sr_reader_next(rd, L, &d), SR_OK, "document: %s", d.message);
    sr_verrors_t e;
    sr_verrors_init(&e);
    sr_status_t st = sr_schema_validate(s, L, -1, rd, &e);
    int quick = sr_schema_check(s, L, -1);
    cr_expect_eq(quick, st == SR_OK, "the fast check disagrees for %s", doc);
    sr_buf_t b;
    sr_buf_init(&b);
    sr_buf_puts(&b, "");
    for (size_t i = 0; i < e.n; i++)
        sr_buf_printf(&b, "%d:%d: %s: %s\n", e.v[i].line, e.v[i].column, e.v[i].path, e.v[i].message);
    if (e.dropped)
        sr_buf_printf(&b, "(%zu more)\n", e.dropped);
    sr_verrors_free(&e);
    lua_pop(L, 1);
    sr_reader_close(rd);
    sr_diag_free(&d);
    return b.data;
}

#define EXPECT_ERRORS(s, doc, want)                                                                            \
    do {                                                                                                       \
        char *got_ = errors_of(s, doc);                                                                        \
        cr_expect(strcmp(got_, want) == 0, "for %s\ngot:\n%s\nwant:\n%s", doc, got_, want);                    \
        free(got_);                                                                                            \
    } while (0)

#define EXPECT_REFUSAL(text, want)                                                                             \
    do {                                                                                                       \
        char *got_ = refusal(text);                                                                            \
        cr_expect_str_eq(got_, want);                                                                          \
        free(got_);                                                                                            \
    } while (0)

/* ---- types ---- */

Test(schema, type_names_what_was_expected_and_found)
{
    sr_schema_t *s = must_compile("type: object\n"
                                  "properties:\n"
                                  "  i: {type: integer}\n"
                                  "  n: {type: [number, 'null']}\n"
                                  "  s: {type: string}\n"
                                  "  b: {type: boolean}\n"
                                  "  l: {type: array}\n"
                                  "  m: {type: object}\n");
    EXPECT_ERRORS(s, "i: 1\nn: 2.5\ns: x\nb: true\nl: []\nm: {}\n", "");
    EXPECT_ERRORS(s, "i: 1.0\nn: null\n", ""); /* 1.0 is an integer */
    EXPECT_ERRORS(s, "i: 1.5\n", "1:4: i: expected integer, found number 1.5\n");
    EXPECT_ERRORS(s, "i: '1'\n", "1:4: i: expected integer, found string '1'\n");
    EXPECT_ERRORS(s, "n: .inf\n", "1:4: n: expected number or null, found number .inf (not a finite number)\n");
    EXPECT_ERRORS(s, "n: .nan\n", "1:4: n: expected number or null, found number .nan (not a finite number)\n");
    EXPECT_ERRORS(s, "s: 10\n", "1:4: s: expected string, found integer 10\n");
    EXPECT_ERRORS(s, "b: yes\n", "1:4: b: expected boolean, found string 'yes'\n");
    EXPECT_ERRORS(s, "l: {a: 1}\n", "1:4: l: expected list, found a mapping\n");
    EXPECT_ERRORS(s, "m: [1, 2]\n", "1:4: m: expected mapping, found a list of 2 items\n");
    EXPECT_ERRORS(s, "b: ~\n", "1:4: b: expected boolean, found null\n");
    EXPECT_ERRORS(s, "b: false\ni: true\n", "2:4: i: expected integer, found boolean true\n");
    sr_schema_free(s);
}

Test(schema, found_strings_are_escaped_and_cut)
{
    sr_schema_t *s = must_compile("type: integer\n");
    EXPECT_ERRORS(s, "\"a'b\\n\\tc\\\\\"\n", "1:1: : expected integer, found string 'a\\'b\\n\\tc\\\\'\n");
    EXPECT_ERRORS(s, "'0123456789012345678901234567890123456789012345678901234567890123456789'\n",
                  "1:1: : expected integer, found string "
                  "'012345678901234567890123456789012345678901234567890123456789...'\n");
    sr_schema_free(s);
}

/* ---- enum, const ---- */

Test(schema, enum_lists_values_and_suggests_the_closest)
{
    sr_schema_t *s = must_compile("properties:\n"
                                  "  g: {enum: [poor, moderate, good, null]}\n"
                                  "  f: {enum: [A, B, C, D, D1, D2, D3, E]}\n"
                                  "  p: {enum: [lung, null]}\n"
                                  "  k: {const: lung}\n"
                                  "  o: {enum: [1, 2.5, true, 'null', 'a b']}\n");
    EXPECT_ERRORS(s, "g: good\nf: D2\np: ~\nk: lung\no: 2.5\n", "");
    EXPECT_ERRORS(s, "o: 1.0\n", "");
    EXPECT_ERRORS(s, "g: god\n",
                  "1:4: g: expected one of poor, moderate, good or null, found string 'god' (did you mean 'good'?)\n");
    EXPECT_ERRORS(s, "g: GOOD\n",
                  "1:4: g: expected one of poor, moderate, good or null, found string 'GOOD' (did you mean 'good'?)\n");
    EXPECT_ERRORS(s, "g: average\n", "1:4: g: expected one of poor, moderate, good or null, found string 'average'\n");
    EXPECT_ERRORS(s, "f: D4\n",
                  "1:4: f: expected one of A, B, C, D, D1, D2, D3 or E, found string 'D4' (did you mean one of "
                  "'D1', 'D2', 'D3'?)\n");
    EXPECT_ERRORS(s, "f: F\n", "1:4: f: expected one of A, B, C, D, D1, D2, D3 or E, found string 'F'\n");
    EXPECT_ERRORS(s, "f: 4\n", "1:4: f: expected one of A, B, C, D, D1, D2, D3 or E, found integer 4\n");
    EXPECT_ERRORS(s, "p: breast\n", "1:4: p: expected 'lung' or null, found string 'breast'\n");
    EXPECT_ERRORS(s, "k: null\n", "1:4: k: expected 'lung', found null\n");
    EXPECT_ERRORS(s, "o: x\n", "1:4: o: expected one of 1, 2.5, true, 'null' or 'a b', found string 'x'\n");
    sr_schema_free(s);
}

Test(schema, enum_and_const_compare_json_values)
{
    sr_schema_t *s = must_compile("properties:\n"
                                  "  l: {const: [1, {a: null}]}\n"
                                  "  m: {enum: [{a: 1, b: [x]}]}\n");
    EXPECT_ERRORS(s, "l: [1.0, {a: ~}]\nm: {b: [x], a: 1}\n", "");
    EXPECT_ERRORS(s, "l: [1, {a: 0}]\n", "1:4: l: expected a list, found a list of 2 items\n");
    EXPECT_ERRORS(s, "m: {a: 1}\n", "1:4: m: expected a mapping, found a mapping\n");
    sr_schema_free(s);
}

/* ---- objects ---- */

Test(schema, unknown_fields_point_at_the_key_and_suggest)
{
    sr_schema_t *s = must_compile("type: object\n"
                                  "additionalProperties: false\n"
                                  "required: [id]\n"
                                  "properties:\n"
                                  "  id: {type: string}\n"
                                  "  patient:\n"
                                  "    type: object\n"
                                  "    additionalProperties: false\n"
                                  "    properties:\n"
                                  "      karnofsky: {type: integer}\n"
                                  "      general_condition: {type: string}\n"
                                  "  closed: {type: object, additionalProperties: false}\n"
                                  "  open: {type: object, additionalProperties: {type: integer}}\n");
    EXPECT_ERRORS(s, "id: x\npatient:\n  karnofksy: 30\n",
                  "3:3: patient.karnofksy: unknown field 'karnofksy' (did you mean 'karnofsky'?)\n");
    EXPECT_ERRORS(s, "id: x\npatient: {karnofksy: null}\n",
                  "2:11: patient.karnofksy: unknown field 'karnofksy' (did you mean 'karnofsky'?)\n");
    EXPECT_ERRORS(s, "id: x\npatient:\n  weight: 60\n",
                  "3:3: patient.weight: unknown field 'weight'; allowed fields: karnofsky, general_condition\n");
    EXPECT_ERRORS(s, "id: x\nkarnofsky: 30\n",
                  "2:1: karnofsky: unknown field 'karnofsky' (did you mean 'patient.karnofsky'?)\n");
    EXPECT_ERRORS(s, "id: x\nclosed: {a: 1}\n", "2:10: closed.a: unknown field 'a' (no fields are allowed here)\n");
    EXPECT_ERRORS(s, "id: x\nopen: {a: 1, b: x}\n", "2:17: open.b: expected integer, found string 'x'\n");
    EXPECT_ERRORS(s, "patient: {}\n", "1:1: id: missing required field 'id'\n");
    EXPECT_ERRORS(s, "{}\n", "1:1: id: missing required field 'id'\n");
    sr_schema_free(s);
}

Test(schema, required_without_properties)
{
    sr_schema_t *s = must_compile("required: [b, a]\n");
    EXPECT_ERRORS(s, "a: 1\nb: 2\n", "");
    EXPECT_ERRORS(s, "c: 1\n", "1:1: b: missing required field 'b'\n1:1: a: missing required field 'a'\n");
    EXPECT_ERRORS(s, "[1]\n", ""); /* required applies to mappings only */
    sr_schema_free(s);
}

Test(schema, every_error_is_reported_in_document_order)
{
    sr_schema_t *s = must_compile("type: object\n"
                                  "additionalProperties: false\n"
                                  "properties:\n"
                                  "  a: {type: integer, minimum: 10, multipleOf: 10}\n"
                                  "  b: {type: array, items: {enum: [x, y]}}\n"
                                  "  c: {type: object, properties: {d: {type: boolean}}}\n");
    EXPECT_ERRORS(s,
                  "c: {d: 1}\n"
                  "zz: 1\n"
                  "b: [x, z, y, w]\n"
                  "a: 5\n",
                  "1:8: c.d: expected boolean, found integer 1\n"
                  "2:1: zz: unknown field 'zz'; allowed fields: a, b, c\n"
                  "3:8: b[1]: expected one of x or y, found string 'z'\n"
                  "3:14: b[3]: expected one of x or y, found string 'w'\n"
                  "4:4: a: expected at least 10, found 5\n"
                  "4:4: a: expected a multiple of 10, found 5\n");
    sr_schema_free(s);
}

Test(schema, errors_beyond_the_cap_are_counted)
{
    sr_schema_t *s = must_compile("items: {type: integer}\n");
    sr_reader_t *rd = NULL;
    sr_diag_t d;
    sr_diag_init(&d);
    const char *doc = "[a, b, c, d, e]\n";
    cr_assert_eq(sr_reader_open_mem(&rd, "c.yaml", doc, strlen(doc), SR_IN_YAML, NULL, &d), SR_OK);
    cr_assert_eq(sr_reader_next(rd, L, &d), SR_OK);
    sr_verrors_t e;
    sr_verrors_init(&e);
    e.max = 2;
    cr_expect_eq(sr_schema_validate(s, L, -1, rd, &e), SR_ERR_SCHEMA);
    cr_expect_eq(e.n, 2);
    cr_expect_eq(e.dropped, 3);
    cr_expect_eq(sr_verrors_count(&e), 5);
    sr_verrors_free(&e);
    lua_pop(L, 1);
    sr_reader_close(rd);
    sr_schema_free(s);
}

/* ---- numbers, strings, lists ---- */

Test(schema, numeric_bounds)
{
    sr_schema_t *s = must_compile("properties:\n"
                                  "  a: {minimum: 10, maximum: 100}\n"
                                  "  b: {exclusiveMinimum: 0, exclusiveMaximum: 1.5}\n"
                                  "  c: {multipleOf: 0.1}\n"
                                  "  d: {multipleOf: 10}\n");
    EXPECT_ERRORS(s, "a: 10\nb: 1.4999\nc: 0.3\nd: -20\n", "");
    EXPECT_ERRORS(s, "a: 100.0\nd: 30.0\n", "");
    EXPECT_ERRORS(s, "a: 9.99\n", "1:4: a: expected at least 10, found 9.99\n");
    EXPECT_ERRORS(s, "a: 101\n", "1:4: a: expected at most 100, found 101\n");
    EXPECT_ERRORS(s, "b: 0\n", "1:4: b: expected more than 0, found 0\n");
    EXPECT_ERRORS(s, "b: 1.5\n", "1:4: b: expected less than 1.5, found 1.5\n");
    EXPECT_ERRORS(s, "c: 0.35\n", "1:4: c: expected a multiple of 0.1, found 0.35\n");
    EXPECT_ERRORS(s, "d: 65\n", "1:4: d: expected a multiple of 10, found 65\n");
    EXPECT_ERRORS(s, "a: .nan\n", "1:4: a: expected at least 10, found .nan\n1:4: a: expected at most 100, found .nan\n");
    EXPECT_ERRORS(s, "a: x\n", ""); /* bounds apply to numbers only */
    EXPECT_ERRORS(s, "a: 9223372036854775807\n", "1:4: a: expected at most 100, found 9223372036854775807\n");
    sr_schema_free(s);
}

Test(schema, integers_and_floats_compare_exactly)
{
    sr_schema_t *s = must_compile("maximum: 9007199254740992\n");
    EXPECT_ERRORS(s, "9007199254740992\n", "");
    EXPECT_ERRORS(s, "9007199254740993\n", "1:1: : expected at most 9007199254740992, found 9007199254740993\n");
    sr_schema_free(s);
}

Test(schema, string_lengths_count_characters)
{
    sr_schema_t *s = must_compile("properties:\n"
                                  "  a: {minLength: 1, maxLength: 3}\n"
                                  "  b: {maxLength: 1}\n");
    EXPECT_ERRORS(s, "a: été\nb: é\n", "");
    EXPECT_ERRORS(s, "a: ''\n", "1:4: a: expected at least 1 character, found 0\n");
    EXPECT_ERRORS(s, "a: abcd\n", "1:4: a: expected at most 3 characters, found 4\n");
    EXPECT_ERRORS(s, "b: ab\n", "1:4: b: expected at most 1 character, found 2\n");
    sr_schema_free(s);
}

Test(schema, patterns_are_extended_regular_expressions)
{
    sr_schema_t *s = must_compile("properties:\n"
                                  "  v: {pattern: '^[0-9]+\\.[0-9]+\\.[0-9]+$'}\n"
                                  "  d: {pattern: '^\\d{4}-\\d\\d$'}\n"
                                  "  w: {pattern: '\\w+@\\w+'}\n"
                                  "  n: {pattern: '^a.c$'}\n"
                                  "  g: {pattern: '^(?:ab)+?$'}\n");
    EXPECT_ERRORS(s, "v: 1.10.0\nd: 2026-11\nw: ' x@y '\nn: abc\ng: abab\n", "");
    EXPECT_ERRORS(s, "v: '1.1'\n", "1:4: v: expected a string matching the pattern '^[0-9]+\\\\.[0-9]+\\\\.[0-9]+$', "
                                 "found '1.1'\n");
    EXPECT_ERRORS(s, "d: 2026-1\n", "1:4: d: expected a string matching the pattern '^\\\\d{4}-\\\\d\\\\d$', found "
                                    "'2026-1'\n");
    EXPECT_ERRORS(s, "n: \"a\\nc\"\n", "1:4: n: expected a string matching the pattern '^a.c$', found 'a\\nc'\n");
    EXPECT_ERRORS(s, "v: 1\n", ""); /* patterns apply to strings only */
    sr_schema_free(s);
}

Test(schema, lists)
{
    sr_schema_t *s = must_compile("properties:\n"
                                  "  a: {minItems: 1, maxItems: 2}\n"
                                  "  u: {uniqueItems: true}\n"
                                  "  i: {items: {type: string}}\n");
    EXPECT_ERRORS(s, "a: [1]\nu: [1, '1', [1], {a: 1}, {a: 2}]\ni: [x, y]\n", "");
    EXPECT_ERRORS(s, "a: []\n", "1:4: a: expected at least 1 item, found 0\n");
    EXPECT_ERRORS(s, "a: [1, 2, 3]\n", "1:4: a: expected at most 2 items, found 3\n");
    EXPECT_ERRORS(s, "u: [1, 2, 1.0]\n", "1:11: u[2]: expected unique items, found number 1.0 again (first at index 0)\n");
    EXPECT_ERRORS(s, "u: [{a: [1]}, {a: [1.0]}]\n",
                  "1:15: u[1]: expected unique items, found a mapping again (first at index 0)\n");
    EXPECT_ERRORS(s, "i: [x, 2]\n", "1:8: i[1]: expected string, found integer 2\n");
    sr_schema_free(s);
}

Test(schema, unique_items_in_a_long_list)
{
    sr_schema_t *s = must_compile("uniqueItems: true\n");
    sr_buf_t b;
    sr_buf_init(&b);
    sr_buf_puts(&b, "[");
    for (int i = 0; i < 500; i++)
        sr_buf_printf(&b, "%s%d", i ? ", " : "", i);
    sr_buf_puts(&b, "]\n");
    EXPECT_ERRORS(s, b.data, "");
    sr_buf_reset(&b);
    sr_buf_puts(&b, "[");
    for (int i = 0; i < 500; i++)
        sr_buf_printf(&b, "%d, ", i);
    sr_buf_puts(&b, "{a: [x]}, 250.0, {a: [x]}]\n");
    char *got = errors_of(s, b.data);
    cr_expect(strstr(got, "[501]: expected unique items, found number 250.0 again (first at index 250)\n") != NULL,
              "%s", got);
    cr_expect(strstr(got, "[502]: expected unique items, found a mapping again (first at index 500)\n") != NULL, "%s",
              got);
    free(got);
    sr_buf_free(&b);
    sr_schema_free(s);
}

/* ---- combinators, references, booleans ---- */

Test(schema, any_of_one_of_not)
{
    sr_schema_t *s = must_compile("properties:\n"
                                  "  a: {anyOf: [{type: integer}, {type: string, minLength: 2}]}\n"
                                  "  o: {oneOf: [{minimum: 5}, {multipleOf: 2}]}\n"
                                  "  n: {not: {type: string}}\n"
                                  "  all: {allOf: [{minimum: 1}, {maximum: 3}]}\n");
    EXPECT_ERRORS(s, "a: 1\no: 5\nn: 1\nall: 2\n", "");
    EXPECT_ERRORS(s, "a: x\n", "1:4: a: expected a value matching at least one of 2 alternatives, found string 'x': "
                               "(1) expected integer, found string 'x'; (2) expected at least 2 characters, found 1\n");
    EXPECT_ERRORS(s, "o: 6\n", "1:4: o: expected a value matching exactly one of 2 alternatives, found integer 6 "
                               "matching 1 and 2\n");
    EXPECT_ERRORS(s, "o: 1\n", "1:4: o: expected a value matching exactly one of 2 alternatives, found integer 1: "
                               "(1) expected at least 5, found 1; (2) expected a multiple of 2, found 1\n");
    EXPECT_ERRORS(s, "n: x\n",
                  "1:4: n: expected a value not matching the schema at '#/properties/n/not', found string 'x'\n");
    EXPECT_ERRORS(s, "all: 4\n", "1:6: all: expected at most 3, found 4\n");
    sr_schema_free(s);
}

Test(schema, any_of_reports_nested_paths)
{
    sr_schema_t *s = must_compile("anyOf:\n"
                                  "  - {type: object, properties: {a: {type: integer}}}\n"
                                  "  - {type: 'null'}\n");
    EXPECT_ERRORS(s, "a: x\n", "1:1: : expected a value matching at least one of 2 alternatives, found a mapping: "
                               "(1) a: expected integer, found string 'x'; (2) expected null, found a mapping\n");
    sr_schema_free(s);
}

Test(schema, references_and_booleans)
{
    sr_schema_t *s = must_compile("$defs:\n"
                                  "  level: {enum: [T1, T2]}\n"
                                  "  node: {type: object, properties: {next: {$ref: '#/$defs/node'}, v: {$ref: "
                                  "'#/$defs/level'}}}\n"
                                  "properties:\n"
                                  "  tree: {$ref: '#/$defs/node'}\n"
                                  "  any: true\n"
                                  "  none: false\n"
                                  "  self: {$ref: '#'}\n");
    EXPECT_ERRORS(s, "tree: {v: T1, next: {v: T2, next: {}}}\nany: [1, {a: 2}]\n", "");
    EXPECT_ERRORS(s, "tree: {next: {next: {v: T3}}}\n",
                  "1:25: tree.next.next.v: expected one of T1 or T2, found string 'T3' (did you mean one of 'T1', "
                  "'T2'?)\n");
    EXPECT_ERRORS(s, "none: 1\n", "1:7: none: no value is allowed here, found integer 1\n");
    EXPECT_ERRORS(s, "self: {none: x}\n", "1:14: self.none: no value is allowed here, found string 'x'\n");
    sr_schema_free(s);
}

/* ---- refusing schemas ---- */

Test(schema, unknown_and_unsupported_keywords_are_refused_with_their_position)
{
    EXPECT_REFUSAL("type: object\nproperties:\n  a:\n    type: integer\n    minimun: 1\n",
                   "5:5: properties.a.minimun: unknown keyword 'minimun' (did you mean 'minimum'?); supported: $comment, "
                   "$defs, $id, $ref, $schema, additionalProperties, allOf, anyOf, const, default, description, enum, "
                   "examples, exclusiveMaximum, exclusiveMinimum, items, maxItems, maxLength, maximum, minItems, "
                   "minLength, minimum, multipleOf, not, oneOf, pattern, properties, required, title, type, uniqueItems");
    char *r = refusal("format: date\n");
    cr_expect(strncmp(r, "1:1: format: keyword 'format' is not supported by this validator; supported: $comment,", 85) ==
                  0,
              "%s", r);
    free(r);
    r = refusal("definitions: {a: true}\n");
    cr_expect(strstr(r, "keyword 'definitions' is not supported by this validator (use '$defs', the 2020-12 name)"),
              "%s", r);
    free(r);
    r = refusal("patternProperties: {'^a': true}\n");
    cr_expect(strstr(r, "1:1: patternProperties: keyword 'patternProperties' is not supported"), "%s", r);
    free(r);
}

Test(schema, bad_keyword_values_are_refused)
{
    EXPECT_REFUSAL("type: integr\n", "1:7: type: expected a type name (null, boolean, integer, number, string, array, "
                                     "object) or a list of them, found string 'integr'");
    EXPECT_REFUSAL("type: [string, string]\n", "1:16: type[1]: type 'string' is listed twice");
    EXPECT_REFUSAL("minimum: ten\n", "1:10: minimum: expected a number, found string 'ten'");
    EXPECT_REFUSAL("exclusiveMinimum: true\n", "1:19: exclusiveMinimum: expected a number (the 2020-12 form; the "
                                               "boolean form is draft 4), found boolean true");
    EXPECT_REFUSAL("minLength: -1\n", "1:12: minLength: expected a non-negative integer, found integer -1");
    EXPECT_REFUSAL("multipleOf: 0\n", "1:13: multipleOf: expected a number greater than 0, found integer 0");
    EXPECT_REFUSAL("enum: [a, b, a]\n", "1:14: enum[2]: this value is already listed at index 0");
    EXPECT_REFUSAL("required: [a, a]\n", "1:15: required[1]: field 'a' is already required at index 0");
    EXPECT_REFUSAL("items: [{type: string}]\n", "1:8: items: 'items' as a list (the tuple form of draft 7, "
                                                "'prefixItems' in 2020-12) is not supported: give one schema for "
                                                "every item");
    EXPECT_REFUSAL("properties: {a: 5}\n", "1:17: properties.a: expected a schema (a mapping, true or false), found "
                                           "integer 5");
    EXPECT_REFUSAL("description: 5\n", "1:14: description: expected a string, found integer 5");
    EXPECT_REFUSAL("anyOf: []\n", "1:8: anyOf: expected a non-empty list of schemas, found a list of 0 items");
}

Test(schema, references_are_checked_when_loading)
{
    EXPECT_REFUSAL("$ref: '#/$defs/missing'\n", "1:7: $ref: reference '#/$defs/missing' does not point at a schema in "
                                                "this file");
    EXPECT_REFUSAL("$ref: 'other.yaml#/x'\n", "1:7: $ref: reference 'other.yaml#/x' leaves this file: only references "
                                              "inside the file ('#', '#/$defs/name') are supported");
    EXPECT_REFUSAL("$ref: '#anchor'\n", "1:7: $ref: reference '#anchor' names an anchor: only JSON pointers "
                                        "('#/$defs/name') are supported");
    EXPECT_REFUSAL("$defs:\n  a: {$ref: '#/$defs/b'}\n  b: {anyOf: [{$ref: '#/$defs/a'}]}\n$ref: '#/$defs/a'\n",
                   "3:22: $defs.b.anyOf[0].$ref: reference '#/$defs/a' makes the schema apply itself to the same "
                   "value without end");
    EXPECT_REFUSAL("properties:\n  a:\n    $id: x\n", "3:5: properties.a.$id: '$id' is only allowed at the root of a "
                                                       "schema file");
    EXPECT_REFUSAL("$schema: http://json-schema.org/draft-07/schema#\n",
                   "1:10: $schema: this validator reads JSON Schema 2020-12 "
                   "('https://json-schema.org/draft/2020-12/schema'), not 'http://json-schema.org/draft-07/schema#'");
    sr_schema_t *s = must_compile("$schema: https://json-schema.org/draft/2020-12/schema\n"
                                  "$defs: {'a/b': {type: integer}, 'c~d': {type: string}}\n"
                                  "properties: {x: {$ref: '#/$defs/a~1b'}, y: {$ref: '#/$defs/c~0d'}, z: {$ref: "
                                  "'#/$defs/a%7E1b'}}\n");
    EXPECT_ERRORS(s, "x: 1\ny: s\nz: 2\n", "");
    EXPECT_ERRORS(s, "z: s\n", "1:4: z: expected integer, found string 's'\n");
    sr_schema_free(s);
}

Test(schema, unsupported_patterns_are_refused)
{
    char *r = refusal("pattern: '(?=a)b'\n");
    cr_expect(strstr(r, "1:10: pattern: pattern '(?=a)b' uses lookaround or a named group '(?', which this "
                        "validator does not support"),
              "%s", r);
    free(r);
    r = refusal("pattern: '(a)\\1'\n");
    cr_expect(strstr(r, "uses an escape other than"), "%s", r);
    free(r);
    r = refusal("pattern: 'a{2,1}'\n");
    cr_expect(strstr(r, "1:10: pattern: invalid pattern 'a{2,1}': "), "%s", r);
    free(r);
}

Test(schema, schema_files)
{
    sr_schema_t *s = NULL;
    sr_diag_t d;
    sr_diag_init(&d);
    cr_expect_eq(sr_schema_load(&s, L, SR_SOURCE_DIR "/schemas/case.schema.yaml", &d), SR_OK, "%s", d.message);
    cr_expect_str_eq(sr_schema_name(s), SR_SOURCE_DIR "/schemas/case.schema.yaml");
    sr_schema_free(s);
    s = NULL;
    cr_expect_eq(sr_schema_load(&s, L, SR_SOURCE_DIR "/nonexistent.yaml", &d), SR_ERR_IO);
    cr_expect_null(s);
    char path[] = "/tmp/sr-schema-XXXXXX";
    int fd = mkstemp(path);
    cr_assert(fd >= 0);
    FILE *f = fdopen(fd, "w");
    fputs("type: string\n---\ntype: integer\n", f);
    fclose(f);
    cr_expect_eq(sr_schema_load(&s, L, path, &d), SR_ERR_SCHEMA);
    cr_expect_str_eq(d.message, "a schema file holds one document; this is a second one");
    f = fopen(path, "w");
    fclose(f);
    cr_expect_eq(sr_schema_load(&s, L, path, &d), SR_ERR_SCHEMA);
    cr_expect_str_eq(d.message, "the schema file is empty");
    f = fopen(path, "w");
    fputs("type: &t string\n", f);
    fclose(f);
    cr_expect_eq(sr_schema_load(&s, L, path, &d), SR_ERR_YAML);
    remove(path);
    sr_diag_free(&d);
}

/* ---- memory ---- */

Test(schema, memory_failures_never_crash_or_leak)
{
    const char *schema_text = "type: object\n"
                              "required: [id]\n"
                              "additionalProperties: false\n"
                              "properties:\n"
                              "  id: {type: string}\n"
                              "  l: {type: array, uniqueItems: true, items: {enum: [a, b, c]}}\n"
                              "  m: {anyOf: [{type: integer}, {type: string, pattern: '^x'}]}\n";
    const char *doc = "l: [a, d, a]\nm: y\nzz: 1\n";
    int outcomes[3] = {0, 0, 0};
    for (long n = 0; n < 400; n++) {
        sr_reader_t *rd = NULL;
        sr_diag_t d;
        sr_diag_init(&d);
        cr_assert_eq(sr_reader_open_mem(&rd, "s.yaml", schema_text, strlen(schema_text), SR_IN_YAML, NULL, &d),
                     SR_OK);
        sr_schema_t *s = NULL;
        fail_after = n;
        sr_status_t st = sr_reader_next(rd, L, &d);
        if (st == SR_OK) {
            st = sr_schema_compile(&s, L, -1, "s.yaml", rd, &d);
            lua_pop(L, 1);
        }
        fail_after = -1;
        sr_reader_close(rd);
        if (st != SR_OK) {
            cr_expect(st == SR_ERR_NOMEM || st == SR_ERR_SCHEMA, "status %d", st);
            outcomes[0]++;
            sr_diag_free(&d);
            continue;
        }
        rd = NULL;
        cr_assert_eq(sr_reader_open_mem(&rd, "c.yaml", doc, strlen(doc), SR_IN_YAML, NULL, &d), SR_OK);
        cr_assert_eq(sr_reader_next(rd, L, &d), SR_OK);
        sr_verrors_t e;
        sr_verrors_init(&e);
        fail_after = n;
        st = sr_schema_validate(s, L, -1, rd, &e);
        fail_after = -1;
        cr_expect(st == SR_ERR_SCHEMA || st == SR_ERR_NOMEM);
        outcomes[st == SR_ERR_SCHEMA ? 2 : 1]++;
        sr_verrors_free(&e);
        lua_pop(L, 1);
        sr_reader_close(rd);
        sr_schema_free(s);
        sr_diag_free(&d);
    }
    cr_expect_gt(outcomes[2], 0, "the validation never completed");
}

/* ---- the engine's case checks (validate.c) ---- */

static sr_schema_t *case_schema(void)
{
    sr_schema_t *s = NULL;
    sr_diag_t d;
    sr_diag_init(&d);
    cr_assert_eq(sr_schema_load(&s, L, SR_SOURCE_DIR "/schemas/case.schema.yaml", &d), SR_OK, "%s", d.message);
    sr_diag_free(&d);
    return s;
}

/* Checks every case of the YAML stream; returns the problems, one a line. */
static char *check_cases(const sr_schema_t *s, const char *text)
{
    sr_reader_t *rd = NULL;
    sr_diag_t d;
    sr_diag_init(&d);
    cr_assert_eq(sr_reader_open_mem(&rd, "c.yaml", text, strlen(text), SR_IN_YAML, NULL, &d), SR_OK);
    sr_idset_t *ids = sr_idset_new();
    sr_case_report_t rep;
    sr_case_report_init(&rep);
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);
    while (sr_reader_next(rd, L, &d) == SR_OK) {
        sr_case_report_reset(&rep);
        sr_status_t st = sr_case_validate(s, L, -1, rd, NULL, 0, ids, &rep);
        cr_expect_eq(st == SR_OK, rep.errors.n == 0);
        sr_case_report_print(&rep, "c.yaml", sr_reader_doc_line(rd), f);
        lua_pop(L, 1);
    }
    fclose(f);
    sr_case_report_free(&rep);
    sr_idset_free(ids);
    sr_reader_close(rd);
    sr_diag_free(&d);
    return out;
}

Test(schema, case_checks_beyond_the_schema)
{
    sr_schema_t *s = case_schema();
    char *got = check_cases(s, "id: a\n"
                               "spine:\n"
                               "  metastatic_levels: [T11, T12]\n"
                               "  lesions:\n"
                               "    - level: T12\n"
                               "    - level: L3\n"
                               "    - level: T12\n"
                               "---\n"
                               "id: b\n"
                               "spine: {lesions: [{level: L1}, {level: L1}]}\n"
                               "---\n"
                               "id: a\n"
                               "patient: {karnofsky: 40, general_condition: moderate}\n"
                               "---\n"
                               "id: c\n"
                               "patient: {karnofsky: 70, general_condition: moderate}\n"
                               "spine: {metastatic_levels: [], lesions: [{level: C2}]}\n");
    cr_expect_str_eq(got, "c.yaml:6:14: error: spine.lesions[1].level: expected a level listed in "
                          "spine.metastatic_levels (T11, T12), found 'L3'\n"
                          "c.yaml:7:14: error: spine.lesions[2].level: expected one lesion per level, found 'T12' "
                          "again (first at spine.lesions[0])\n"
                          "c.yaml:10:40: error: spine.lesions[1].level: expected one lesion per level, found 'L1' "
                          "again (first at spine.lesions[0])\n"
                          "c.yaml:12:5: error: id: expected a case id unique in this file, found 'a' again (first at "
                          "line 1)\n"
                          "c.yaml:13:45: warning: patient.general_condition: 'moderate' contradicts karnofsky 40, which "
                          "the revised Tokuhashi score (2005) rates poor (10-40); the given general_condition is used\n"
                          "c.yaml:17:50: error: spine.lesions[0].level: expected a level listed in "
                          "spine.metastatic_levels (it is empty), found 'C2'\n");
    free(got);
    /* a level the schema refuses is not checked again */
    got = check_cases(s, "id: d\nspine: {metastatic_levels: [T1], lesions: [{level: T13}]}\n");
    cr_expect(strstr(got, "spine.lesions[0].level: expected one of C1") && !strstr(got, "listed in"), "%s", got);
    free(got);
    /* without an id set, no duplicate check, and the other checks still run */
    sr_reader_t *rd = NULL;
    sr_diag_t d;
    sr_diag_init(&d);
    const char *two = "id: e\nspine: {metastatic_levels: [T1], lesions: [{level: T2}]}\n";
    cr_assert_eq(sr_reader_open_mem(&rd, "c.yaml", two, strlen(two), SR_IN_YAML, NULL, &d), SR_OK);
    cr_assert_eq(sr_reader_next(rd, L, &d), SR_OK);
    sr_case_report_t rep;
    sr_case_report_init(&rep);
    cr_expect_eq(sr_case_validate(s, L, -1, rd, NULL, 0, NULL, &rep), SR_ERR_SCHEMA);
    cr_expect_eq(rep.errors.n, 1);
    cr_expect_eq(lua_gettop(L), 1, "the stack is as it was");
    sr_case_report_free(&rep);
    lua_pop(L, 1);
    sr_reader_close(rd);
    sr_diag_free(&d);
    got = check_cases(s, "42\n");
    cr_expect_str_eq(got, "c.yaml:1:1: error: expected a case (a mapping with an 'id'), found integer 42\n");
    free(got);
    sr_schema_free(s);
}

/* no_nulls of a valid or invalid document: 1, 0. */
static int no_nulls_of(const sr_schema_t *s, const char *doc)
{
    sr_reader_t *rd = NULL;
    sr_diag_t d;
    sr_diag_init(&d);
    cr_assert_eq(sr_reader_open_mem(&rd, "c.yaml", doc, strlen(doc), SR_IN_YAML, NULL, &d), SR_OK);
    cr_assert_eq(sr_reader_next(rd, L, &d), SR_OK, "document: %s", d.message);
    sr_verrors_t e;
    sr_verrors_init(&e);
    sr_schema_validate(s, L, -1, rd, &e);
    int r = e.no_nulls;
    sr_verrors_free(&e);
    lua_pop(L, 1);
    sr_reader_close(rd);
    sr_diag_free(&d);
    return r;
}

Test(schema, no_nulls_only_when_every_value_was_seen)
{
    sr_schema_t *s = must_compile("type: object\n"
                                  "additionalProperties: false\n"
                                  "properties:\n"
                                  "  a: {type: [integer, 'null']}\n"
                                  "  b: {items: {type: [object, 'null'], additionalProperties: false}}\n"
                                  "  c: {}\n"
                                  "  d: {properties: {e: {}}}\n");
    cr_expect_eq(no_nulls_of(s, "a: 1\nb: [{}]\nd: {e: 1, f: x}\n"), 1);
    cr_expect_eq(no_nulls_of(s, "a: null\n"), 0);
    cr_expect_eq(no_nulls_of(s, "b: [{}, null]\n"), 0);
    cr_expect_eq(no_nulls_of(s, "c: {x: 1}\n"), 0, "a mapping the schema does not look into");
    cr_expect_eq(no_nulls_of(s, "c: [1]\n"), 0, "a list no schema looks into");
    cr_expect_eq(no_nulls_of(s, "d: {f: {g: 1}}\n"), 0, "an unchecked field holding a mapping");
    cr_expect_eq(no_nulls_of(s, "d: {f: null}\n"), 0, "an unchecked null");
    cr_expect_eq(no_nulls_of(s, "a: x\nb: [{}]\n"), 1, "invalid, yet every value was seen");
    cr_expect_eq(no_nulls_of(s, "a: {x: 1}\n"), 0, "a mapping of the wrong type is not looked into");
    sr_schema_free(s);
    s = case_schema();
    const char *docs[] = {"id: a\npatient: {karnofsky: 50}\n", "id: b\npatient: {karnofsky: null}\n",
                          "id: c\npatient: {karnofsky: 55}\n"};
    for (int i = 0; i < 3; i++) {
        sr_reader_t *rd = NULL;
        sr_diag_t d;
        sr_diag_init(&d);
        cr_assert_eq(sr_reader_open_mem(&rd, "c.yaml", docs[i], strlen(docs[i]), SR_IN_YAML, NULL, &d), SR_OK);
        cr_assert_eq(sr_reader_next(rd, L, &d), SR_OK);
        sr_case_report_t rep;
        sr_case_report_init(&rep);
        sr_case_validate(s, L, -1, rd, NULL, 0, NULL, &rep);
        cr_expect_eq(rep.no_nulls, i == 0, "%s", docs[i]);
        sr_case_report_free(&rep);
        lua_pop(L, 1);
        sr_reader_close(rd);
        sr_diag_free(&d);
    }
    sr_schema_free(s);
}

Test(schema, id_set_is_exact)
{
    sr_idset_t *ids = sr_idset_new();
    char id[32];
    int first = 0;
    for (int i = 0; i < 20000; i++) {
        snprintf(id, sizeof id, "P-%05d", i);
        cr_assert_eq(sr_idset_add(ids, id, strlen(id), i + 1, &first), 0);
    }
    cr_expect_eq(sr_idset_add(ids, "P-12345", 7, 99999, &first), 1);
    cr_expect_eq(first, 12346);
    cr_expect_eq(sr_idset_add(ids, "P-1234", 6, 1, &first), 0);
    cr_expect_eq(sr_idset_add(ids, "", 0, 5, &first), 0);
    cr_expect_eq(sr_idset_add(ids, "", 0, 6, &first), 1);
    cr_expect_eq(first, 5);
    sr_idset_free(ids);
}
