/* test_invalid.c -- tests/data/invalid: every bad input, one defect per file,
 * evaluated with the shipped rule set; the diagnostics must equal the
 * sibling <file>.expected byte for byte, so a reworded or lost message fails.
 *
 * Besides the exact text: an invalid file yields at least one error record,
 * and the first one's error (message, path, line, column) is the first error
 * line printed; a file named warn-* holds valid cases with a warning: they
 * are evaluated (no error record) and carry the warning in their result (or
 * it is an empty file, which draws a warning and gives no record). */
#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <yajl/yajl_tree.h>

#include "spinerules.h"
#include "util.h"

#define INVALID_DIR SR_SOURCE_DIR "/tests/data/invalid"
#define RULES SR_SOURCE_DIR "/rules/spine-metastasis-lung/1.0.0"

static int name_cmp(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* The record's error rendered as the diagnostic line it stands for. */
static char *record_as_line(const char *file, const char *json)
{
    char err[256];
    yajl_val v = yajl_tree_parse(json, err, sizeof err);
    if (!v)
        return sr_asprintf("(unparsable record: %s)", err);
    const char *pm[] = {"error", "message", NULL}, *pp[] = {"error", "path", NULL};
    const char *pl[] = {"error", "line", NULL}, *pc[] = {"error", "column", NULL};
    yajl_val m = yajl_tree_get(v, pm, yajl_t_string), p = yajl_tree_get(v, pp, yajl_t_any);
    yajl_val l = yajl_tree_get(v, pl, yajl_t_any), c = yajl_tree_get(v, pc, yajl_t_any);
    char *out;
    if (!m) {
        out = sr_strdup("(no error in the record)");
    } else {
        sr_buf_t b;
        sr_buf_init(&b);
        sr_buf_puts(&b, file);
        if (l && YAJL_IS_INTEGER(l)) {
            sr_buf_printf(&b, ":%lld", YAJL_GET_INTEGER(l));
            if (c && YAJL_IS_INTEGER(c))
                sr_buf_printf(&b, ":%lld", YAJL_GET_INTEGER(c));
        }
        sr_buf_puts(&b, ": error: ");
        if (p && YAJL_IS_STRING(p))
            sr_buf_printf(&b, "%s: ", YAJL_GET_STRING(p));
        sr_buf_puts(&b, YAJL_GET_STRING(m));
        out = b.data;
    }
    yajl_tree_free(v);
    return out;
}

Test(invalid, every_bad_input_has_its_exact_diagnostics)
{
    cr_assert_eq(chdir(INVALID_DIR), 0, "cannot enter %s", INVALID_DIR);
    sr_engine_t *e = NULL;
    sr_diag_t d;
    sr_diag_init(&d);
    cr_assert_eq(sr_engine_open(&e, RULES, &d), SR_OK, "%s", d.message);

    DIR *dp = opendir(".");
    cr_assert(dp);
    char *names[256];
    size_t n = 0;
    struct dirent *de;
    while ((de = readdir(dp)) && n < 256)
        if (de->d_name[0] != '.' && !ends_with(de->d_name, ".expected"))
            names[n++] = strdup(de->d_name);
    closedir(dp);
    qsort(names, n, sizeof *names, name_cmp);
    cr_assert_geq(n, 40, "tests/data/invalid holds %zu inputs; at least 40 are wanted", n);

    size_t bad = 0;
    for (size_t i = 0; i < n; i++) {
        const char *name = names[i];
        char *exp_path = sr_asprintf("%s.expected", name);
        size_t exp_len = 0;
        char *expected = sr_read_file(exp_path, &exp_len);
        cr_expect(expected != NULL, "%s: no %s", name, exp_path);

        char *out = NULL, *err = NULL;
        size_t out_len = 0, err_len = 0;
        FILE *fo = open_memstream(&out, &out_len), *fe = open_memstream(&err, &err_len);
        sr_run_stats_t stats = {0, 0};
        sr_status_t st = sr_engine_eval_file(e, name, SR_IN_AUTO, SR_OUT_JSONL, fo, fe, &stats, &d);
        fclose(fo);
        fclose(fe);
        cr_expect_eq(st, SR_OK, "%s: the input could not be read to its end: %s", name, d.message);

        int ok = expected && strcmp(err, expected) == 0;
        cr_expect(ok, "%s: diagnostics differ\n--- expected\n%s--- got\n%s", name, expected ? expected : "",
                  err);
        if (strncmp(name, "warn-", 5) == 0) {
            cr_expect_eq(stats.failed, 0, "%s: a warning must not stop the case", name);
            cr_expect(stats.cases == 0 || strstr(out, "\"warnings\":[{\"message\":") != NULL,
                      "%s: no warnings in the result: %s", name, out);
        } else {
            cr_expect(stats.failed >= 1, "%s: no case failed", name);
            /* the first error record's error is the first error line printed */
            char *rec = strstr(out, "\"error\":{");
            while (rec && rec > out && rec[-1] != '\n')
                rec--;
            char *nl = rec ? strchr(rec, '\n') : NULL;
            if (nl)
                *nl = '\0';
            char *line = record_as_line(name, rec ? rec : "");
            char *first = strstr(err, ": error: ") ? err : NULL;
            if (first) {
                char *end = strchr(first, '\n');
                if (end)
                    *end = '\0';
            }
            ok = ok && first && strcmp(line, first) == 0;
            cr_expect(first && strcmp(line, first) == 0, "%s: the record says\n  %s\nthe first diagnostic\n  %s",
                      name, line, first ? first : "(none)");
            free(line);
        }
        if (!ok)
            bad++;
        free(out);
        free(err);
        free(expected);
        free(exp_path);
        free(names[i]);
    }
    printf("%zu bad inputs checked, %zu passed, %zu failed\n", n, n - bad, bad);
    sr_diag_free(&d);
    sr_engine_close(e);
}

Test(invalid, every_expected_file_has_its_input)
{
    DIR *dp = opendir(INVALID_DIR);
    cr_assert(dp);
    struct dirent *de;
    while ((de = readdir(dp))) {
        if (!ends_with(de->d_name, ".expected"))
            continue;
        char *input = sr_asprintf("%s/%.*s", INVALID_DIR, (int)(strlen(de->d_name) - 9), de->d_name);
        cr_expect(access(input, R_OK) == 0, "%s has no input file", de->d_name);
        free(input);
    }
    closedir(dp);
}
