/* test_oom.c -- the out-of-memory sweep, as SQLite and Lua's own tests do
 * it: the sandbox's allocator fails the Nth allocation, for every N over a
 * whole `eval` of a small case file (tests/data/oom.yaml). Run under
 * AddressSanitizer (the Asan build of .ci/run), LeakSanitizer checks that no
 * sweep step leaks.
 *
 * What is covered: every allocation of the Lua state (reading cases into
 * Lua tables, validation, the rules, building results and error records).
 * libyaml, yajl and the writer's buffers allocate with malloc, outside the
 * Lua allocator: not swept here (their failures are checked where they
 * happen, and fuzzing runs them under ASan). */
#include <criterion/criterion.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "shipped.h"

#define CASES SR_SOURCE_DIR "/tests/data/oom.yaml"

static sr_engine_t *engine;

static void setup(void)
{
    engine = open_shipped_engine();
}

static void teardown(void) { sr_engine_close(engine); }

TestSuite(oom, .init = setup, .fini = teardown);

/* One whole eval of the case file; returns the records written (malloc'd). */
static char *eval_all(sr_status_t *st)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    sr_diag_t d;
    sr_diag_init(&d);
    sr_run_stats_t stats = {0, 0};
    *st = sr_engine_eval_file(engine, CASES, SR_IN_AUTO, SR_OUT_JSONL, out, NULL, &stats, &d);
    sr_diag_free(&d);
    fclose(out);
    return buf;
}

static int count_lines(const char *s)
{
    int n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

/* Steps through N in at most about max_steps steps. */
static unsigned long stride_for(unsigned long total, unsigned long max_steps)
{
    return total > max_steps ? total / max_steps : 1;
}

/* A single failed allocation anywhere: Lua collects garbage and tries
 * again, so the output must not change at all. */
Test(oom, one_failed_allocation_anywhere_changes_nothing)
{
    sr_status_t st;
    char *want = eval_all(&st);
    cr_assert_eq(st, SR_OK);
    cr_assert_eq(count_lines(want), 3, "%s", want);
    unsigned long before = engine->sb.allocs;
    free(eval_all(&st));
    unsigned long total = engine->sb.allocs - before;
    cr_assert_gt(total, 100);
    unsigned long step = stride_for(total, 1500);
    cr_log_info("one failure: %lu allocations per eval, every %lu swept", total, step);
    for (unsigned long n = 0; n < total; n += step) {
        engine->sb.fail_after = (long)n;
        engine->sb.fail_in_run = 0;
        char *got = eval_all(&st);
        engine->sb.fail_after = -1;
        cr_assert_eq(st, SR_OK, "N = %lu", n);
        cr_assert_str_eq(got, want, "N = %lu: the output changed", n);
        free(got);
    }
    free(want);
}

/* From the Nth allocation of rule evaluation on, every allocation fails
 * until that case's run ends: that case gets a clean error record, every
 * other case its usual result, nothing is lost, and the engine goes on. */
Test(oom, rules_out_of_memory_fail_that_case_only)
{
    sr_status_t st;
    char *want = eval_all(&st);
    cr_assert_eq(st, SR_OK);
    /* how many allocations happen inside runs: count down without failing */
    engine->sb.fail_in_run = 1;
    engine->sb.fail_after = LONG_MAX;
    free(eval_all(&st));
    unsigned long total = (unsigned long)(LONG_MAX - engine->sb.fail_after);
    engine->sb.fail_after = -1;
    cr_assert_gt(total, 100);
    unsigned long step = stride_for(total, 1500), failures = 0;
    cr_log_info("rules out of memory: %lu allocations in rules per eval, every %lu swept", total, step);
    for (unsigned long n = 0; n < total; n += step) {
        engine->sb.fail_in_run = 1;
        engine->sb.fail_after = (long)n;
        char *got = eval_all(&st);
        engine->sb.fail_after = -1;
        engine->sb.fail_in_run = 0;
        cr_assert_eq(st, SR_OK, "N = %lu", n);
        cr_assert_eq(count_lines(got), 3, "N = %lu: one record per case\n%s", n, got);
        int changed = 0;
        const char *g = got, *w = want;
        for (int i = 0; i < 3; i++) {
            size_t gl = strcspn(g, "\n"), wl = strcspn(w, "\n");
            if (gl != wl || strncmp(g, w, gl) != 0) {
                changed++;
                char head[64];
                snprintf(head, sizeof head, "{\"id\":\"O-%d\",\"error\":{\"message\":\"out of memory\"", i + 1);
                cr_assert(strncmp(g, head, strlen(head)) == 0, "N = %lu: record %d: %.*s", n, i, (int)gl, g);
            }
            g += gl + 1;
            w += wl + 1;
        }
        cr_assert_leq(changed, 1, "N = %lu: only the case that ran out of memory changes\n%s", n, got);
        failures += (unsigned long)changed;
        free(got);
    }
    cr_assert_gt(failures, total / step / 2, "most steps make a case fail (%lu of %lu steps, %lu allocations)",
                 failures, total / step, total);
    char *again = eval_all(&st);
    cr_assert_str_eq(again, want, "the engine is whole after the sweep");
    free(again);
    free(want);
}
