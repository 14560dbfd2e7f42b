/* test_pipeline.c -- what sr_engine_eval_file does when the duplicate-id
 * check cannot check a case (sr_idset_add returns -1: memory short, or a
 * spilled id not read back): every result is still written, as in a run
 * that could check, and the run fails at its end, once, saying from which
 * case on the check is incomplete and why (exit status 2 in the CLI). The
 * failure is forced with idset.h's test hook. The chunking and the workers
 * are tested end to end by tests/e2e/test_workers.c. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine.h"
#include "shipped.h"
#include "idset.h"

static sr_engine_t *engine;
static char dir[64];

static void setup(void)
{
    engine = open_shipped_engine();
    strcpy(dir, "/tmp/sr-pipeline-XXXXXX");
    cr_assert(mkdtemp(dir));
}

static void teardown(void)
{
    sr_idset_test_fail(0);
    sr_engine_close(engine);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    system(cmd);
}

TestSuite(pipeline, .init = setup, .fini = teardown);

/* dir/name holding text; returns its path (static buffer). */
static const char *file(const char *name, const char *text)
{
    static char path[128];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    cr_assert(f);
    fputs(text, f);
    fclose(f);
    return path;
}

typedef struct {
    sr_status_t st;
    char *out, *diag; /* malloc'd */
    sr_diag_t d;
    sr_run_stats_t stats;
} run_t;

static void eval(run_t *r, const char *path, int jobs)
{
    size_t n, m;
    FILE *out = open_memstream(&r->out, &n), *diag = open_memstream(&r->diag, &m);
    sr_diag_init(&r->d);
    memset(&r->stats, 0, sizeof r->stats);
    sr_engine_set_jobs(engine, jobs);
    r->st = sr_engine_eval_file(engine, path, SR_IN_AUTO, SR_OUT_JSONL, out, diag, &r->stats, &r->d);
    fclose(out);
    fclose(diag);
}

static void run_free(run_t *r)
{
    free(r->out);
    free(r->diag);
    sr_diag_free(&r->d);
}

/* Runs path without, then with, the second id's check failing: the same
 * records, no diagnostic on the way, and the run's failure in d. */
static void check_unchecked(const char *path, int line, int col)
{
    for (int jobs = 1; jobs <= 2; jobs++) {
        run_t ok, failed;
        eval(&ok, path, jobs);
        cr_assert_eq(ok.st, SR_OK, "%s", ok.d.message ? ok.d.message : "");
        sr_idset_test_fail(2);
        eval(&failed, path, jobs);
        sr_idset_test_fail(0);
        cr_assert_str_eq(failed.out, ok.out, "every result written, as when the check works");
        cr_assert_eq(failed.stats.cases, 4);
        cr_assert_eq(failed.stats.failed, ok.stats.failed);
        cr_assert_str_eq(failed.diag, ok.diag, "said once, at the end (in d), not on the way");
        cr_assert_eq(failed.st, SR_ERR_NOMEM);
        cr_assert_str_eq(failed.d.file, path);
        cr_assert_eq(failed.d.line, line);
        cr_assert_eq(failed.d.column, col);
        cr_assert_str_eq(failed.d.path, "id");
        cr_assert_str_eq(failed.d.message, "cannot check that case ids are unique from this case on: out of memory");
        cr_assert_str_eq(failed.d.note,
                         "every result was written, but a duplicate id from here on may have gone unreported");
        run_free(&ok);
        run_free(&failed);
    }
}

Test(pipeline, an_id_that_cannot_be_checked_fails_the_run_at_its_end)
{
    /* the third case repeats the first: still found (its id was added) */
    check_unchecked(file("ids.jsonl", "{\"id\":\"A\"}\n{\"id\":\"B\"}\n{\"id\":\"A\"}\n{\"id\":\"C\"}\n"), 2, 7);
    check_unchecked(file("ids.yaml", "---\nid: A\n---\nid: B\n---\nid: A\n---\nid: C\n"), 4, 5);
}

Test(pipeline, a_csv_id_that_cannot_be_checked_fails_the_run_at_its_end)
{
    check_unchecked(file("ids.csv", "id\nA\nB\nA\nC\n"), 3, 0);
}

Test(pipeline, another_failure_comes_first_and_the_check_is_still_reported)
{
    /* the output cannot be written (a full disk): that is the run's
     * failure, in d; the check's goes to the diagnostics, not lost */
    FILE *out = fopen("/dev/full", "w");
    if (!out)
        cr_skip_test("no /dev/full");
    const char *path = file("ids.jsonl", "{\"id\":\"A\"}\n{\"id\":\"B\"}\n");
    char *diag = NULL;
    size_t m;
    FILE *df = open_memstream(&diag, &m);
    sr_diag_t d;
    sr_diag_init(&d);
    sr_run_stats_t stats = {0, 0};
    sr_engine_set_jobs(engine, 1);
    sr_idset_test_fail(2);
    sr_status_t st = sr_engine_eval_file(engine, path, SR_IN_AUTO, SR_OUT_JSONL, out, df, &stats, &d);
    sr_idset_test_fail(0);
    fclose(df);
    fclose(out);
    cr_assert_eq(st, SR_ERR_IO);
    cr_assert(strstr(d.message, "cannot write the results") != NULL, "%s", d.message);
    char want[256];
    snprintf(want, sizeof want,
             "%s:2:7: error: id: cannot check that case ids are unique from this case on: out of memory\n", path);
    cr_assert(strstr(diag, want) != NULL, "the check's failure on diag_out: %s", diag);
    free(diag);
    sr_diag_free(&d);
}
