/* test_api.c -- the one-case library API: a valid case, an invalid one,
 * broken YAML, JSON text (one line or several), a failing rule, the path
 * getters on every JSON type, bad paths, and two engines evaluating in two
 * threads at once. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine.h" /* the engine's memory budget, for the out-of-memory test */
#include "spinerules.h"

#define RULES SR_SOURCE_DIR "/rules/spine-metastasis-lung/1.0.0"
#define EXAMPLES SR_SOURCE_DIR "/docs/examples/cases.yaml"

static sr_engine_t *e;
static sr_diag_t d;
static sr_result_t *r;

static void setup(void)
{
    sr_diag_init(&d);
    r = NULL;
    cr_assert_eq(sr_engine_open(&e, RULES, &d), SR_OK, "%s", d.message ? d.message : "");
}

static void teardown(void)
{
    sr_result_free(r);
    sr_engine_close(e);
    sr_diag_free(&d);
}

TestSuite(api, .init = setup, .fini = teardown);

static sr_status_t eval(const char *text, sr_input_format_t fmt)
{
    sr_result_free(r);
    r = NULL;
    sr_diag_free(&d);
    return sr_engine_eval_case(e, text, strlen(text), fmt, &r, &d);
}

/* The result's JSON text (asserted non-NULL); free it. */
static char *json_of(const sr_result_t *res)
{
    char *s = sr_result_json(res);
    cr_assert_not_null(s);
    return s;
}

static void assert_json(const char *want)
{
    char *s = json_of(r);
    cr_assert_str_eq(s, want);
    free(s);
}

static char *read_all(const char *path)
{
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "%s", path);
    char *buf = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        fwrite(chunk, 1, n, m);
    fclose(f);
    fclose(m);
    return buf;
}

/* The first case of docs/examples/cases.yaml (the example of SPEC section 3). */
static char *first_example(void)
{
    char *all = read_all(EXAMPLES);
    char *end = strstr(all, "\n---\n");
    cr_assert_not_null(end);
    end[1] = '\0';
    return all;
}

/* The first line `spinerules eval` writes for docs/examples/cases.yaml. */
static char *first_eval_line(sr_engine_t *eng)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);
    sr_run_stats_t stats = {0, 0};
    sr_diag_t fd;
    sr_diag_init(&fd);
    sr_engine_set_jobs(eng, 1);
    cr_assert_eq(sr_engine_eval_file(eng, EXAMPLES, SR_IN_AUTO, SR_OUT_JSONL, m, NULL, &stats, &fd), SR_OK);
    fclose(m);
    sr_diag_free(&fd);
    char *nl = strchr(buf, '\n');
    cr_assert_not_null(nl);
    *nl = '\0';
    return buf;
}

Test(api, valid_case_gives_the_result_eval_writes)
{
    char *text = first_example();
    cr_assert_eq(eval(text, SR_IN_YAML), SR_OK, "%s", d.message ? d.message : "");
    cr_assert_null(d.message);
    cr_assert_str_eq(sr_result_string(r, "id"), "P-0001");
    cr_assert_str_eq(sr_result_string(r, "ruleset.name"), "spine-metastasis-lung");
    cr_assert_str_eq(sr_result_string(r, "ruleset.version"), "1.0.0");
    cr_assert_str_eq(sr_result_string(r, "ruleset.digest"), sr_engine_ruleset_digest(e));
    cr_assert_str_eq(sr_result_string(r, "frankel.grade"), "D2");
    cr_assert_str_eq(sr_result_string(r, "frankel.deficit"), "incomplete");
    cr_assert_eq(sr_result_length(r, "sins"), 1);
    cr_assert_str_eq(sr_result_string(r, "sins[0].level"), "T12");
    cr_assert_eq(sr_result_integer(r, "sins[0].total", NULL), 11);
    cr_assert_str_eq(sr_result_string(r, "sins[0].category"), "potentially_unstable");
    cr_assert_eq(sr_result_integer(r, "sins[0].points.posterolateral", NULL), 1);
    cr_assert_eq(sr_result_integer(r, "tokuhashi.total", NULL), 4);
    cr_assert_str_eq(sr_result_string(r, "tokuhashi.surgery"), "unlikely_benefit");
    cr_assert_eq(sr_result_length(r, "contraindications"), 5);
    cr_assert_str_eq(sr_result_string(r, "contraindications[4].id"), "disseminated_disease");
    cr_assert_str_eq(sr_result_string(r, "contraindications[4].status"), "present");
    cr_assert_str_eq(sr_result_string(r, "contraindications[4].kind"), "relative");
    cr_assert_str_eq(sr_result_string(r, "recommendation"), "unlikely_benefit");
    cr_assert_eq(sr_result_type(r, "error"), SR_TYPE_NONE);
    cr_assert_eq(sr_result_type(r, "warnings"), SR_TYPE_NONE);
    /* byte for byte the line of eval, twice (the JSON text is a copy) */
    char *line = first_eval_line(e);
    char *a = json_of(r), *b = json_of(r);
    cr_assert_str_eq(a, line);
    cr_assert_str_eq(b, line);
    cr_assert_neq(a, b);
    free(a);
    free(b);
    free(line);
    free(text);
}

Test(api, invalid_case_gives_a_schema_error_and_its_error_record)
{
    cr_assert_eq(eval("id: A\npatient: {karnofsky: 65, x: 1}\n", SR_IN_YAML), SR_ERR_SCHEMA);
    cr_assert_eq(d.status, SR_ERR_SCHEMA);
    cr_assert_str_eq(d.file, "<case>");
    cr_assert_eq(d.line, 2);
    cr_assert_eq(d.column, 22);
    cr_assert_str_eq(d.path, "patient.karnofsky");
    cr_assert_str_eq(d.message, "expected a multiple of 10, found 65");
    cr_assert_str_eq(d.note, "1 more error, the next at <case>:2:26: patient.x: unknown field 'x'; allowed fields: "
                             "karnofsky, general_condition, estimated_survival_months, severe_immunodepression, "
                             "comorbidities");
    cr_assert_not_null(r);
    cr_assert_eq(sr_result_type(r, "error"), SR_TYPE_OBJECT);
    cr_assert_str_eq(sr_result_string(r, "error.path"), "patient.karnofsky");
    cr_assert_eq(sr_result_length(r, "errors"), 2);
    cr_assert_str_eq(sr_result_string(r, "errors[1].path"), "patient.x");
    assert_json("{\"id\":\"A\",\"error\":{\"message\":\"expected a multiple of 10, found 65\",\"path\":"
                "\"patient.karnofsky\",\"line\":2,\"column\":22},\"errors\":[{\"message\":\"expected a multiple of "
                "10, found 65\",\"path\":\"patient.karnofsky\",\"line\":2,\"column\":22},{\"message\":\"unknown "
                "field 'x'; allowed fields: karnofsky, general_condition, estimated_survival_months, "
                "severe_immunodepression, comorbidities\",\"path\":\"patient.x\",\"line\":2,\"column\":26}]}");
}

Test(api, one_problem_gives_no_errors_list)
{
    cr_assert_eq(eval("id: B\nneurology: {frankel: F}\n", SR_IN_AUTO), SR_ERR_SCHEMA);
    assert_json("{\"id\":\"B\",\"error\":{\"message\":\"expected one of A, B, C, D, D1, D2, D3, E or null, found "
                "string 'F'\",\"path\":\"neurology.frankel\",\"line\":2,\"column\":22}}");
    cr_assert_null(d.note);
}

Test(api, broken_yaml_gives_a_syntax_error_with_its_position)
{
    cr_assert_eq(eval("id: A\npatient: [\n", SR_IN_YAML), SR_ERR_YAML);
    cr_assert_str_eq(d.file, "<case>");
    cr_assert_eq(d.line, 3);
    cr_assert_eq(d.column, 1);
    cr_assert_str_eq(d.message,
                     "did not find expected node content (while parsing a flow node that starts at line 3, column 1)");
    assert_json("{\"id\":\"A\",\"error\":{\"message\":\"did not find expected node content (while parsing a flow "
                "node that starts at line 3, column 1)\",\"path\":null,\"line\":3,\"column\":1}}");
}

Test(api, no_case_and_two_cases_are_refused)
{
    cr_assert_eq(eval("", SR_IN_AUTO), SR_ERR_YAML);
    cr_assert_str_eq(d.message, "expected one case, found no document in the text");
    assert_json("{\"id\":null,\"error\":{\"message\":\"expected one case, found no document in the text\","
                "\"path\":null,\"line\":null,\"column\":null}}");
    sr_result_free(r);
    cr_assert_eq(sr_engine_eval_case(e, NULL, 0, SR_IN_YAML, &r, &d), SR_ERR_YAML);
    cr_assert_eq(eval("id: A\n---\nid: B\n", SR_IN_YAML), SR_ERR_YAML);
    cr_assert_eq(d.line, 2);
    cr_assert_str_eq(d.message, "expected one case, found a second document (each case goes to its own call)");
    cr_assert_str_eq(sr_result_string(r, "id"), "A");
    cr_assert_eq(eval("{\"id\": \"A\"}\n{\"id\": \"B\"}\n", SR_IN_JSONL), SR_ERR_YAML);
    cr_assert_eq(d.line, 2);
    cr_assert_str_eq(d.message, "invalid JSON: parse error: trailing garbage");
}

Test(api, misuse_is_a_usage_error_without_a_result)
{
    sr_result_t *out = (sr_result_t *)&d; /* set to NULL by the call */
    cr_assert_eq(sr_engine_eval_case(e, "id: A\n", 6, SR_IN_CSV, &out, &d), SR_ERR_USAGE);
    cr_assert_null(out);
    cr_assert_str_eq(d.message, "sr_engine_eval_case reads YAML or JSON text; CSV files go through sr_engine_eval_file");
    cr_assert_eq(sr_engine_eval_case(NULL, "id: A\n", 6, SR_IN_YAML, &out, &d), SR_ERR_USAGE);
    cr_assert_eq(sr_engine_eval_case(e, NULL, 3, SR_IN_YAML, &out, &d), SR_ERR_USAGE);
    cr_assert_eq(sr_engine_eval_case(e, "id: A\n", 6, SR_IN_YAML, NULL, &d), SR_ERR_USAGE);
    cr_assert_null(out);
    /* a NULL diag is allowed */
    cr_assert_eq(sr_engine_eval_case(e, "id: A\n", 6, SR_IN_CSV, &out, NULL), SR_ERR_USAGE);
    cr_assert_eq(sr_engine_eval_case(e, "id: [\n", 6, SR_IN_YAML, &out, NULL), SR_ERR_YAML);
    cr_assert_not_null(out);
    sr_result_free(out);
    sr_result_free(NULL);
    cr_assert_null(sr_result_json(NULL));
    cr_assert_eq(sr_result_type(NULL, "id"), SR_TYPE_NONE);
}

Test(api, json_text_on_one_line_or_several)
{
    const char *yaml = "id: J\npatient: {karnofsky: 70}\nneurology: {frankel: E}\n";
    cr_assert_eq(eval(yaml, SR_IN_YAML), SR_OK);
    char *want = json_of(r);
    const char *one = "{\"id\": \"J\", \"patient\": {\"karnofsky\": 70}, \"neurology\": {\"frankel\": \"E\"}}";
    cr_assert_eq(eval(one, SR_IN_JSONL), SR_OK);
    assert_json(want);
    cr_assert_eq(eval(one, SR_IN_AUTO), SR_OK);
    assert_json(want);
    const char *pretty = "{\r\n  \"id\": \"J\",\r\n  \"patient\": {\"karnofsky\": 70},\r\n"
                         "  \"neurology\": {\"frankel\": \"E\"}\r\n}\r\n";
    cr_assert_eq(eval(pretty, SR_IN_AUTO), SR_OK, "%s", d.message ? d.message : "");
    assert_json(want);
    free(want);
    /* positions are lines and columns of the text as given */
    cr_assert_eq(eval("{\n  \"id\": \"J\",\n  \"patient\": {\"karnofsky\": 65}\n}\n", SR_IN_JSONL), SR_ERR_SCHEMA);
    cr_assert_eq(d.line, 3);
    cr_assert_eq(d.column, 28);
    cr_assert_str_eq(d.path, "patient.karnofsky");
    cr_assert_eq(sr_result_integer(r, "error.line", NULL), 3);
    cr_assert_eq(sr_result_integer(r, "error.column", NULL), 28);
    cr_assert_eq(eval("{\n  \"id\": \"J\",\n  \"patient\": {\"karnofsky\": @}\n}\n", SR_IN_AUTO), SR_ERR_YAML);
    cr_assert_eq(d.line, 3);
    cr_assert_eq(d.column, 28);
    cr_assert_str_eq(d.message, "invalid JSON: lexical error: invalid char in json text");
    /* columns count characters, not bytes */
    cr_assert_eq(eval("{\"id\": \"é\",\n \"patient\": {\"karnofsky\": 65}}", SR_IN_JSONL), SR_ERR_SCHEMA);
    cr_assert_eq(d.line, 2);
    cr_assert_eq(d.column, 27);
    cr_assert_str_eq(sr_result_string(r, "id"), "é");
}

Test(api, warnings_are_in_the_result)
{
    cr_assert_eq(eval("id: W\npatient: {karnofsky: 30, general_condition: good}\n", SR_IN_YAML), SR_OK);
    cr_assert_null(d.message);
    cr_assert_eq(sr_result_length(r, "warnings"), 1);
    cr_assert_str_eq(sr_result_string(r, "warnings[0].path"), "patient.general_condition");
    cr_assert_eq(sr_result_integer(r, "warnings[0].line", NULL), 2);
    cr_assert_str_eq(sr_result_string(r, "warnings[0].message"),
                     "'good' contradicts karnofsky 30, which the revised Tokuhashi score (2005) rates poor (10-40); "
                     "the given general_condition is used");
}

Test(api, keys_in_the_order_of_the_json_text)
{
    char *text = first_example();
    cr_assert_eq(eval(text, SR_IN_YAML), SR_OK);
    size_t n = sr_result_length(r, "");
    cr_assert_gt(n, 5);
    /* rebuild the top-level key list from the JSON text: same order */
    char *json = json_of(r);
    const char *p = json;
    for (size_t i = 0; i < n; i++) {
        const char *k = sr_result_key(r, NULL, i);
        cr_assert_not_null(k);
        char needle[128];
        snprintf(needle, sizeof needle, "\"%s\":", k);
        const char *at = strstr(p, needle);
        cr_assert_not_null(at, "key %s after %zu bytes", k, (size_t)(p - json));
        p = at + strlen(needle);
    }
    cr_assert_null(sr_result_key(r, "", n));
    cr_assert_str_eq(sr_result_key(r, "", 0), "id");
    cr_assert_str_eq(sr_result_key(r, "ruleset", 2), "digest");
    cr_assert_str_eq(sr_result_key(r, "sins[0].points", 5), "posterolateral");
    cr_assert_null(sr_result_key(r, "sins", 0), "an array has no keys");
    cr_assert_null(sr_result_key(r, "id", 0));
    free(json);
    free(text);
}

Test(api, bad_paths_name_nothing)
{
    char *text = first_example();
    cr_assert_eq(eval(text, SR_IN_YAML), SR_OK);
    free(text);
    const char *bad[] = {"nosuch", "id.x", "id[0]", ".id", "id.", "ruleset..name", "ruleset.", "sins[", "sins[]",
                         "sins[x]", "sins[0", "sins[-1]", "sins[1]", "sins[99999999999999999999]", "sins.0",
                         "sins[0]level", "sins[0].", "ruleset[0]", "[0]", "sins]", "sins[0]]", "contraindications[5].id",
                         "recommendation.x"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cr_assert_eq(sr_result_type(r, bad[i]), SR_TYPE_NONE, "%s", bad[i]);
        cr_assert_null(sr_result_string(r, bad[i]), "%s", bad[i]);
        int ok = 1;
        cr_assert_eq(sr_result_integer(r, bad[i], &ok), 0);
        cr_assert_eq(ok, 0, "%s", bad[i]);
        ok = 1;
        cr_assert_eq(sr_result_number(r, bad[i], &ok), 0.0);
        cr_assert_eq(ok, 0);
        ok = 1;
        cr_assert_eq(sr_result_boolean(r, bad[i], &ok), 0);
        cr_assert_eq(ok, 0);
        cr_assert_eq(sr_result_length(r, bad[i]), 0);
        cr_assert_null(sr_result_key(r, bad[i], 0));
    }
    /* the whole result */
    cr_assert_eq(sr_result_type(r, ""), SR_TYPE_OBJECT);
    cr_assert_eq(sr_result_type(r, NULL), SR_TYPE_OBJECT);
    cr_assert_eq(sr_result_type(r, "sins[0]"), SR_TYPE_OBJECT);
    cr_assert_eq(sr_result_type(r, "sins[0].bands.category.range[1]"), SR_TYPE_INTEGER);
}

Test(api, many_results_live_at_once)
{
    sr_result_t *rs[50];
    for (int i = 0; i < 50; i++) {
        char text[64];
        snprintf(text, sizeof text, "id: C-%d\npatient: {karnofsky: %d}\n", i, 10 * (1 + i % 10));
        cr_assert_eq(sr_engine_eval_case(e, text, strlen(text), SR_IN_YAML, &rs[i], &d), SR_OK);
    }
    for (int i = 0; i < 50; i += 2)
        sr_result_free(rs[i]);
    for (int i = 1; i < 50; i += 2) {
        char id[16];
        snprintf(id, sizeof id, "C-%d", i);
        cr_assert_str_eq(sr_result_string(rs[i], "id"), id);
        cr_assert_str_eq(sr_result_string(rs[i], "contraindications[1].status"), 10 * (1 + i % 10) <= 40 ? "present" : "absent");
        sr_result_free(rs[i]);
    }
}

/* ---- a rule set whose results hold every JSON type, and a rule that fails ---- */

static char fixture[64];

/* Copies the shipped rule set into a temporary rules/ folder (beside a link
 * to the schemas) with one more rule file; returns its version folder. */
static const char *make_fixture(void)
{
    strcpy(fixture, "/tmp/sr-api-XXXXXX");
    cr_assert_not_null(mkdtemp(fixture));
    char cmd[512];
    snprintf(cmd, sizeof cmd, "mkdir -p %s/rules/x && cp -r %s %s/rules/x/ && ln -s %s/schemas %s/schemas", fixture,
             RULES, fixture, SR_SOURCE_DIR, fixture);
    cr_assert_eq(system(cmd), 0);
    static char dir[128];
    snprintf(dir, sizeof dir, "%s/rules/x/1.0.0", fixture);
    char path[160];
    snprintf(path, sizeof path, "%s/manifest.yaml", dir);
    FILE *f = fopen(path, "a");
    cr_assert_not_null(f);
    fputs("  - types.lua\n", f); /* files: is the manifest's last entry */
    fclose(f);
    snprintf(path, sizeof path, "%s/types.lua", dir);
    f = fopen(path, "w");
    cr_assert_not_null(f);
    fputs("-- test_api: a boolean and a number that is not an integer in the result,\n"
          "-- and a rule that fails for the case with id BOOM.\n"
          "classification \"immunodepression\" {\n"
          "  fr = \"Immunodépression\", en = \"Immunodepression\", source = \"test\",\n"
          "  input = \"patient.severe_immunodepression\", value_key = \"value\", gives = \"class\",\n"
          "  unknown = \"unknown\",\n"
          "  row { true, class = \"severe\", fr = \"sévère\", en = \"severe\" },\n"
          "  row { false, class = \"none\", fr = \"aucune\", en = \"none\" },\n"
          "}\n"
          "classification \"survival\" {\n"
          "  fr = \"Survie\", en = \"Survival\", source = \"test\",\n"
          "  input = \"patient.estimated_survival_months\", value_key = \"months\", gives = \"class\",\n"
          "  unknown = \"unknown\",\n"
          "  row { at_least(0), class = \"given\", fr = \"donnée\", en = \"given\" },\n"
          "}\n"
          "local function boom(case)\n"
          "  if case.id == \"BOOM\" then error(\"the test rule fails for BOOM\") end\n"
          "  return false\n"
          "end\n"
          "findings \"explosions\" {\n"
          "  source = \"test\",\n"
          "  check \"boom\" { fr = \"boum\", en = \"boom\", when = boom },\n"
          "}\n",
          f);
    fclose(f);
    return dir;
}

static void remove_fixture(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", fixture);
    cr_assert_eq(system(cmd), 0);
}

Test(api, getters_on_every_type)
{
    const char *dir = make_fixture();
    sr_engine_t *x = NULL;
    cr_assert_eq(sr_engine_open(&x, dir, &d), SR_OK, "%s", d.message ? d.message : "");
    const char *text = "id: T\npatient: {severe_immunodepression: true, estimated_survival_months: 2.5}\n";
    sr_result_t *t = NULL;
    cr_assert_eq(sr_engine_eval_case(x, text, strlen(text), SR_IN_YAML, &t, &d), SR_OK, "%s",
                 d.message ? d.message : "");
    int ok;
    /* null */
    cr_assert_eq(sr_result_type(t, "frankel.grade"), SR_TYPE_NULL);
    cr_assert_eq(sr_result_type(t, "complication_risk.base_percent"), SR_TYPE_NULL);
    cr_assert_null(sr_result_string(t, "frankel.grade"));
    cr_assert_eq(sr_result_integer(t, "sins", &ok), 0);
    cr_assert_eq(ok, 0);
    /* boolean */
    cr_assert_eq(sr_result_type(t, "immunodepression.value"), SR_TYPE_BOOLEAN);
    cr_assert_eq(sr_result_boolean(t, "immunodepression.value", &ok), 1);
    cr_assert_eq(ok, 1);
    cr_assert_eq(sr_result_integer(t, "immunodepression.value", &ok), 0);
    cr_assert_eq(ok, 0);
    /* number */
    cr_assert_eq(sr_result_type(t, "survival.months"), SR_TYPE_NUMBER);
    cr_assert_eq(sr_result_number(t, "survival.months", &ok), 2.5);
    cr_assert_eq(ok, 1);
    cr_assert_eq(sr_result_integer(t, "survival.months", &ok), 0);
    cr_assert_eq(ok, 0, "a number that is not an integer is no integer");
    cr_assert_null(sr_result_string(t, "survival.months"));
    /* integer: also a number */
    cr_assert_eq(sr_result_type(t, "complication_risk.range[1]"), SR_TYPE_INTEGER);
    cr_assert_eq(sr_result_integer(t, "complication_risk.range[1]", &ok), 40);
    cr_assert_eq(ok, 1);
    cr_assert_eq(sr_result_number(t, "complication_risk.range[1]", &ok), 40.0);
    cr_assert_eq(ok, 1);
    cr_assert_eq(sr_result_boolean(t, "complication_risk.range[1]", &ok), 0);
    cr_assert_eq(ok, 0);
    /* string */
    cr_assert_eq(sr_result_type(t, "survival.class"), SR_TYPE_STRING);
    cr_assert_str_eq(sr_result_string(t, "survival.class"), "given");
    cr_assert_str_eq(sr_result_string(t, "immunodepression.fr"), "sévère");
    cr_assert_eq(sr_result_length(t, "survival.class"), 0, "a string has no length here");
    cr_assert_eq(sr_result_number(t, "survival.class", &ok), 0.0);
    cr_assert_eq(ok, 0);
    /* array, empty or not */
    cr_assert_eq(sr_result_type(t, "sins"), SR_TYPE_ARRAY);
    cr_assert_eq(sr_result_length(t, "sins"), 0);
    cr_assert_eq(sr_result_type(t, "contraindications"), SR_TYPE_ARRAY);
    cr_assert_eq(sr_result_length(t, "contraindications"), 5);
    /* object */
    cr_assert_eq(sr_result_type(t, "survival"), SR_TYPE_OBJECT);
    cr_assert_eq(sr_result_length(t, "survival"), 5);
    const char *keys[5];
    for (size_t i = 0; i < 5; i++)
        keys[i] = sr_result_key(t, "survival", i);
    char *json = json_of(t);
    cr_assert_not_null(strstr(json, "\"immunodepression\":{\"value\":true,"));
    cr_assert_not_null(strstr(json, "\"months\":2.5"));
    char want[256];
    snprintf(want, sizeof want, "\"survival\":{\"%s\":\"%s\",\"%s\":\"%s\",\"%s\":\"%s\",\"%s\":\"%s\",\"%s\":2.5}",
             keys[0], sr_result_string(t, "survival.fr"), keys[1], sr_result_string(t, "survival.en"), keys[2],
             sr_result_string(t, "survival.source"), keys[3], sr_result_string(t, "survival.class"), keys[4]);
    cr_assert_not_null(strstr(json, want), "%s in %s", want, json);
    free(json);
    sr_result_free(t);
    sr_engine_close(x);
    remove_fixture();
}

Test(api, a_failing_rule_gives_a_rule_error_and_its_error_record)
{
    const char *dir = make_fixture();
    sr_engine_t *x = NULL;
    cr_assert_eq(sr_engine_open(&x, dir, &d), SR_OK, "%s", d.message ? d.message : "");
    sr_result_t *t = NULL;
    cr_assert_eq(sr_engine_eval_case(x, "id: BOOM\n", 9, SR_IN_YAML, &t, &d), SR_ERR_RULE);
    char msg[256];
    snprintf(msg, sizeof msg, "rule error: %s/types.lua:17: the test rule fails for BOOM", dir);
    cr_assert_str_eq(d.message, msg);
    cr_assert_str_eq(d.file, "<case>");
    cr_assert_eq(d.line, 1);
    cr_assert_str_eq(sr_result_string(t, "error.message"), msg);
    cr_assert_str_eq(sr_result_string(t, "id"), "BOOM");
    cr_assert_eq(sr_result_type(t, "error.path"), SR_TYPE_NULL);
    cr_assert_eq(sr_result_integer(t, "error.line", NULL), 1);
    sr_result_free(t);
    /* the engine goes on */
    cr_assert_eq(sr_engine_eval_case(x, "id: FINE\n", 9, SR_IN_YAML, &t, &d), SR_OK);
    cr_assert_str_eq(sr_result_string(t, "explosions[0].id"), "boom");
    sr_result_free(t);
    sr_engine_close(x);
    remove_fixture();
}

/* ---- two engines, two threads ---- */

#define THREAD_CASES 200

typedef struct {
    sr_engine_t *e;
    pthread_barrier_t *start;
    char *want[4]; /* the JSON text of each kind of case */
    int mismatches;
} worker_t;

static const char *thread_case(int i, char *buf, size_t cap)
{
    switch (i % 4) {
    case 0: snprintf(buf, cap, "id: K\npatient: {karnofsky: 40}\nneurology: {frankel: C}\n"); break;
    case 1: snprintf(buf, cap, "{\"id\": \"K\", \"spine\": {\"metastatic_levels\": [\"C2\", \"T4\", \"L1\"]}}"); break;
    case 2: snprintf(buf, cap, "id: K\npatient: {karnofsky: 45}\n"); break; /* invalid */
    default: snprintf(buf, cap, "id: K\nspine: {lesions: [{level: T12, pain: mechanical}]}\n"); break;
    }
    return buf;
}

static void *thread_main(void *arg)
{
    worker_t *w = arg;
    pthread_barrier_wait(w->start);
    for (int i = 0; i < THREAD_CASES; i++) {
        char text[256];
        thread_case(i, text, sizeof text);
        sr_result_t *res = NULL;
        sr_diag_t td;
        sr_diag_init(&td);
        sr_engine_eval_case(w->e, text, strlen(text), SR_IN_AUTO, &res, &td);
        char *json = sr_result_json(res);
        if (!json || strcmp(json, w->want[i % 4]) != 0 || strcmp(sr_result_string(res, "id"), "K") != 0)
            w->mismatches++;
        free(json);
        sr_result_free(res);
        sr_diag_free(&td);
    }
    return NULL;
}

Test(api, two_engines_in_two_threads)
{
    pthread_barrier_t start;
    pthread_barrier_init(&start, NULL, 2);
    char *want[4]; /* worked out beforehand, by the suite's engine */
    for (int i = 0; i < 4; i++) {
        char text[256];
        thread_case(i, text, sizeof text);
        sr_status_t st = i == 2 ? SR_ERR_SCHEMA : SR_OK;
        cr_assert_eq(eval(text, SR_IN_AUTO), st, "case %d: %s", i, d.message ? d.message : "");
        want[i] = json_of(r);
    }
    worker_t w[2];
    memset(w, 0, sizeof w);
    for (int k = 0; k < 2; k++) {
        cr_assert_eq(sr_engine_open(&w[k].e, RULES, &d), SR_OK);
        w[k].start = &start;
        memcpy(w[k].want, want, sizeof want);
    }
    pthread_t th[2];
    for (int k = 0; k < 2; k++)
        cr_assert_eq(pthread_create(&th[k], NULL, thread_main, &w[k]), 0);
    for (int k = 0; k < 2; k++) {
        pthread_join(th[k], NULL);
        cr_assert_eq(w[k].mismatches, 0, "engine %d: %d results differ", k, w[k].mismatches);
        sr_engine_close(w[k].e);
    }
    for (int i = 0; i < 4; i++)
        free(want[i]);
    pthread_barrier_destroy(&start);
}

/* ---- out of memory ---- */

/* The engine's memory budget set just above what it holds, then raised step
 * by step: every allocation of sr_engine_eval_case and of the getters fails
 * from some point on, outside rule runs too. Each call answers (a result, an
 * error record or SR_ERR_NOMEM), never aborts, never leaks (the Asan build),
 * and the engine is whole afterwards. */
Test(api, out_of_memory_anywhere_gives_an_answer)
{
    const char *text = "id: M\npatient: {karnofsky: 60}\nspine: {lesions: [{level: T12, pain: mechanical}]}\n";
    cr_assert_eq(eval(text, SR_IN_YAML), SR_OK);
    char *want = json_of(r);
    sr_result_free(r);
    r = NULL;
    size_t limit = e->sb.mem_limit, base = e->sb.mem_used;
    size_t ok = 0, nomem = 0, records = 0;
    for (size_t extra = 0; extra < (1u << 20); extra += 16) {
        lua_gc(e->sb.L, LUA_GCCOLLECT);
        e->sb.mem_limit = e->sb.mem_used + extra;
        sr_status_t st = eval(text, SR_IN_YAML);
        if (r) {
            /* the getters under the same budget */
            sr_result_type(r, "sins[0].category");
            sr_result_key(r, "tokuhashi.points", 3);
            sr_result_string(r, "id");
        }
        e->sb.mem_limit = limit;
        if (st == SR_OK) {
            char *got = json_of(r);
            cr_assert_str_eq(got, want, "extra %zu", extra);
            free(got);
            cr_assert_str_eq(sr_result_string(r, "sins[0].category"), "indeterminate");
            ok++;
        } else if (st == SR_ERR_NOMEM) {
            cr_assert_null(r, "extra %zu", extra);
            cr_assert_not_null(d.message);
            nomem++;
        } else {
            cr_assert_eq(st, SR_ERR_LIMIT, "extra %zu: %s: %s", extra, sr_status_name(st), d.message);
            cr_assert_not_null(r);
            cr_assert_eq(sr_result_type(r, "error.message"), SR_TYPE_STRING);
            records++;
        }
        if (ok > 8)
            break;
    }
    cr_log_info("out of memory: %zu bytes held at the start; %zu results, %zu error records, %zu out of memory",
                base, ok, records, nomem);
    cr_assert_gt(nomem + records, 10);
    cr_assert_gt(ok, 0);
    cr_assert_eq(eval(text, SR_IN_YAML), SR_OK);
    assert_json(want);
    free(want);
}
