/* test_results.c -- the output contract: every result the shipped rule set
 * gives for its golden cases, the example cases of docs/examples and the
 * valid cases of tests/data/valid, and every error record it writes for
 * tests/data/invalid, is valid against schemas/result.schema.yaml. Records
 * are read back from the JSON Lines the engine writes, so what is checked
 * is what a user gets. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <lauxlib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "lvalue.h"
#include "reader.h"
#include "schema.h"
#include "util.h"
#include "writer.h"

#define RULES SR_SOURCE_DIR "/rules/spine-metastasis-lung/1.0.0"

static sr_engine_t *engine;
static sr_schema_t *result_schema;
static lua_State *L; /* for reading records back */
static size_t checked, results, errors;

static void setup(void)
{
    sr_diag_t d;
    sr_diag_init(&d);
    cr_assert_eq(sr_engine_open(&engine, RULES, &d), SR_OK, "%s", d.message);
    L = luaL_newstate();
    sr_lv_init(L);
    cr_assert_eq(sr_schema_load(&result_schema, L, SR_SOURCE_DIR "/schemas/result.schema.yaml", &d), SR_OK,
                 "%s:%d:%d: %s", d.file, d.line, d.column, d.message);
    sr_diag_free(&d);
}

static void teardown(void)
{
    sr_schema_free(result_schema);
    sr_engine_close(engine);
    lua_close(L);
}

/* Validates every record of the JSON Lines in text. */
static void check_records(const char *what, const char *text, size_t len)
{
    sr_reader_t *rd = NULL;
    sr_diag_t d;
    sr_diag_init(&d);
    cr_assert_eq(sr_reader_open_mem(&rd, what, text, len, SR_IN_JSONL, NULL, &d), SR_OK);
    sr_verrors_t e;
    sr_verrors_init(&e);
    for (;;) {
        sr_status_t st = sr_reader_next(rd, L, &d);
        if (st == SR_DONE)
            break;
        cr_assert_eq(st, SR_OK, "%s: record unreadable: %s", what, d.message);
        lua_getfield(L, -1, "error");
        if (lua_isnil(L, -1))
            results++;
        else
            errors++;
        lua_pop(L, 1);
        sr_verrors_reset(&e);
        st = sr_schema_validate(result_schema, L, -1, rd, &e);
        checked++;
        if (st != SR_OK) {
            sr_buf_t b;
            sr_buf_init(&b);
            for (size_t i = 0; i < e.n; i++)
                sr_buf_printf(&b, "  %s: %s\n", e.v[i].path, e.v[i].message);
            cr_expect_fail("%s, record at line %d (%s) breaks the result schema:\n%s", what,
                           sr_reader_doc_line(rd), sr_reader_doc_id(rd) ? sr_reader_doc_id(rd) : "?",
                           b.data ? b.data : "");
            sr_buf_free(&b);
        }
        lua_pop(L, 1);
    }
    sr_verrors_free(&e);
    sr_reader_close(rd);
    sr_diag_free(&d);
}

static void check_file(const char *path)
{
    char *out = NULL, *err = NULL;
    size_t out_len = 0, err_len = 0;
    FILE *fo = open_memstream(&out, &out_len), *fe = open_memstream(&err, &err_len);
    sr_run_stats_t stats = {0, 0};
    sr_diag_t d;
    sr_diag_init(&d);
    cr_assert_eq(sr_engine_eval_file(engine, path, SR_IN_AUTO, SR_OUT_JSONL, fo, fe, &stats, &d), SR_OK, "%s: %s",
                 path, d.message);
    fclose(fo);
    fclose(fe);
    check_records(path, out, out_len);
    free(out);
    free(err);
    sr_diag_free(&d);
}

static void check_dir(const char *dir, const char *suffix1, const char *suffix2)
{
    DIR *dp = opendir(dir);
    cr_assert(dp, "%s", dir);
    struct dirent *de;
    while ((de = readdir(dp))) {
        size_t n = strlen(de->d_name);
        size_t a = strlen(suffix1), b = suffix2 ? strlen(suffix2) : 0;
        if ((n > a && strcmp(de->d_name + n - a, suffix1) == 0) ||
            (suffix2 && n > b && strcmp(de->d_name + n - b, suffix2) == 0)) {
            char *p = sr_asprintf("%s/%s", dir, de->d_name);
            check_file(p);
            free(p);
        }
    }
    closedir(dp);
}

TestSuite(results, .init = setup, .fini = teardown);

Test(results, examples_valid_cases_and_error_records)
{
    check_file(SR_SOURCE_DIR "/docs/examples/cases.yaml");
    check_dir(SR_SOURCE_DIR "/tests/data/valid", ".yaml", ".jsonl");
    check_dir(SR_SOURCE_DIR "/tests/data/invalid", ".yaml", ".jsonl");
    cr_expect_gt(results, 12);
    cr_expect_gt(errors, 40);
}

/* Evaluates the cases of one golden file, as eval would, from a JSON Lines
 * copy; returns how many there were. */
static size_t check_golden_file(const char *p)
{
    lua_State *E = engine->sb.L;
    char *tmp = NULL;
    size_t tmp_len = 0, n = 0;
    FILE *cases = open_memstream(&tmp, &tmp_len);
    sr_reader_t *rd = NULL;
    sr_diag_t d;
    sr_diag_init(&d);
    cr_assert_eq(sr_reader_open(&rd, p, SR_IN_YAML, NULL, &d), SR_OK);
    while (sr_reader_next(rd, E, &d) == SR_OK) {
        lua_getfield(E, -1, "case");
        char *json = sr_writer_to_json(E, -1);
        cr_assert(json, "%s: a golden case cannot be written as JSON", p);
        fprintf(cases, "%s\n", json);
        free(json);
        lua_pop(E, 2);
        n++;
    }
    sr_reader_close(rd);
    sr_diag_free(&d);
    fclose(cases);
    char path[] = "/tmp/sr-golden-cases-XXXXXX";
    int fd = mkstemp(path);
    cr_assert(fd >= 0);
    FILE *f = fdopen(fd, "w");
    fwrite(tmp, 1, tmp_len, f);
    fclose(f);
    free(tmp);
    size_t before = results;
    check_file(path);
    remove(path);
    cr_expect_eq(results - before, n, "%s: every golden case gives a result", p);
    return n;
}

Test(results, golden_cases)
{
    const char *gdir = SR_SOURCE_DIR "/rules/spine-metastasis-lung/1.0.0/golden";
    DIR *dp = opendir(gdir);
    cr_assert(dp);
    struct dirent *de;
    size_t n = 0;
    while ((de = readdir(dp))) {
        size_t len = strlen(de->d_name);
        if (len < 6 || strcmp(de->d_name + len - 5, ".yaml") != 0)
            continue;
        char *p = sr_asprintf("%s/%s", gdir, de->d_name);
        n += check_golden_file(p);
        free(p);
    }
    closedir(dp);
    cr_assert_gt(n, 50, "only %zu golden cases", n);
    printf("%zu records checked against the result schema (%zu results, %zu error records)\n", checked, results,
           errors);
}
