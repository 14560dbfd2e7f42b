/* test_cache.c -- end-to-end: the verdict cache of the checks at open
 * (SPINERULES_CACHE, engine/check.c). A clean rule set leaves one entry and
 * gives the same results with and without it; a rule set with an error is
 * refused every time and leaves no entry; a folder others can write to, or a
 * relative path, is not used; without the variable nothing is written. */
#include <criterion/criterion.h>

#include "harness.h"
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#ifndef SR_BINARY
#error "SR_BINARY must name the built executable"
#endif

#define SR "'" SR_BINARY "'"
#define SHIPPED "rules/spine-metastasis-lung/1.0.0"

static char tmp[64];

static void make_tmp(void)
{
    strcpy(tmp, "/tmp/sr-cache-XXXXXX");
    cr_assert(mkdtemp(tmp), "cannot create a temporary folder");
}

static void remove_tmp(void)
{
    char cmd[256];
    snprintf(cmd, sizeof cmd, "chmod -R u+w '%s'; rm -rf '%s'", tmp, tmp);
    run_t q = run_shell(cmd);
    run_free(&q);
}

TestSuite(cache, .init = make_tmp, .fini = remove_tmp);

static run_t shf(const char *fmt, const char *a, const char *b)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd, fmt, a, b);
    return run_shell(cmd);
}

/* The names in dir that start with "lint-", counted; the first one copied to
 * first (when given). */
static int entries(const char *dir, char *first, size_t size)
{
    DIR *d = opendir(dir);
    cr_assert(d, "cannot open %s", dir);
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (strncmp(de->d_name, "lint-", 5) != 0)
            continue;
        if (n++ == 0 && first)
            snprintf(first, size, "%s", de->d_name);
    }
    closedir(d);
    return n;
}

Test(cache, a_clean_rule_set_leaves_one_entry_and_the_same_results)
{
    char dir[128];
    snprintf(dir, sizeof dir, "%s/c", tmp);
    cr_assert_eq(mkdir(dir, 0700), 0);
    run_t plain = run("eval docs/examples/cases.yaml");
    cr_assert_eq(plain.status, 0, "%s", plain.err);
    run_t first = shf("SPINERULES_CACHE='%s' " SR " eval docs/examples/cases.yaml%s", dir, "");
    cr_assert_eq(first.status, 0, "%s", first.err);
    char name[256] = "";
    cr_assert_eq(entries(dir, name, sizeof name), 1, "one entry after the first run");
    /* "lint-" and the SHA-256 of the key in hex */
    cr_assert_eq(strlen(name), 5 + 64, "%s", name);
    cr_assert_eq(strspn(name + 5, "0123456789abcdef"), 64, "%s", name);
    run_t second = shf("SPINERULES_CACHE='%s' " SR " eval docs/examples/cases.yaml%s", dir, "");
    cr_assert_eq(second.status, 0, "%s", second.err);
    cr_assert_eq(entries(dir, NULL, 0), 1, "still one entry after a run that used it");
    cr_assert_str_eq(first.out, plain.out);
    cr_assert_str_eq(second.out, plain.out);
    cr_assert_str_eq(second.err, "");
    run_free(&plain);
    run_free(&first);
    run_free(&second);
}

Test(cache, a_rule_set_with_an_error_is_refused_every_time_and_never_cached)
{
    char dir[128], rules[128];
    snprintf(dir, sizeof dir, "%s/c", tmp);
    snprintf(rules, sizeof rules, "%s/1.0.0", tmp);
    cr_assert_eq(mkdir(dir, 0700), 0);
    /* tests/data/broken-rulesets/band-overlap.defect: "case by case" runs
     * into "recommended" */
    run_t cp = shf("cp -r " SHIPPED " '%s' && sed -i 's/to = SURGERY_RECOMMENDED_ABOVE,/"
                   "to = SURGERY_RECOMMENDED_ABOVE + 1,/' '%s/tokuhashi.lua'",
                   rules, rules);
    cr_assert_eq(cp.status, 0, "%s", cp.err);
    run_free(&cp);
    char want[512];
    snprintf(want, sizeof want,
             "%s/tokuhashi.lua:147:5: error: band 'recommended': the total 10 is also in band 'case_by_case' "
             "(line 145)\n",
             rules);
    for (int i = 0; i < 2; i++) {
        char cmd[1024];
        snprintf(cmd, sizeof cmd, "SPINERULES_CACHE='%s' " SR " eval --rules '%s' docs/examples/cases.yaml", dir,
                 rules);
        run_t r = run_shell(cmd);
        cr_assert_eq(r.status, 2, "run %d: refused (%s)", i + 1, r.err);
        cr_assert_str_eq(r.out, "");
        cr_assert_eq(strncmp(r.err, want, strlen(want)), 0, "run %d: %s", i + 1, r.err);
        run_free(&r);
        cr_assert_eq(entries(dir, NULL, 0), 0, "run %d: no entry for a refused rule set", i + 1);
    }
}

Test(cache, a_folder_others_can_write_to_or_a_relative_path_is_not_used)
{
    char dir[128];
    snprintf(dir, sizeof dir, "%s/open", tmp);
    cr_assert_eq(mkdir(dir, 0700), 0);
    cr_assert_eq(chmod(dir, 0777), 0);
    run_t r = shf("SPINERULES_CACHE='%s' " SR " eval docs/examples/cases.yaml >/dev/null%s", dir, "");
    cr_assert_eq(r.status, 0, "%s", r.err);
    run_free(&r);
    cr_assert_eq(entries(dir, NULL, 0), 0, "a folder writable by others gets no entry");

    /* a relative path: nothing written in the working folder */
    r = shf("cd '%s' && mkdir rel && chmod 700 rel && SPINERULES_CACHE=rel '" SR_BINARY
            "' eval '" SR_SOURCE_DIR "/docs/examples/cases.yaml' >/dev/null%s",
            tmp, "");
    cr_assert_eq(r.status, 0, "%s", r.err);
    run_free(&r);
    char rel[160];
    snprintf(rel, sizeof rel, "%s/rel", tmp);
    cr_assert_eq(entries(rel, NULL, 0), 0, "a relative SPINERULES_CACHE is ignored");
}
