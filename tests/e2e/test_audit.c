/* test_audit.c -- end-to-end: versioning and audit (issue 6). The manifest
 * lists exactly the rule files of its folder; the digest follows the
 * documented algorithm (tools/ruleset_digest.py recomputes it without the
 * engine) over a canonical manifest; a result is reproduced byte for byte
 * from its digest; verify --coverage; diff between 1.0.0 and the test fixture
 * 1.1.0 (tests/data/rulesets), whose changes were worked out by hand:
 *
 *   Tokuhashi surgery band "recommended" from 9 (was > 9). Examples with a
 *   Tokuhashi total of exactly 9 and no absolute contraindication:
 *     P-0004: Karnofsky 80 -> good 2, D1 incomplete 1, lung 0, 1 level 2,
 *             0 extraspinal 2, visceral none 2 = 9; brain metastases with a
 *             targeted therapy: disseminated_disease present, relative ->
 *             band case_by_case -> recommended, but step 3 keeps the
 *             recommendation case_by_case (its reason changes).
 *     P-0009: good 2, D3 1, 0, T3 alone 2, 0 extraspinal 2, none 2 = 9, no
 *             contraindication -> recommendation case_by_case -> recommended.
 *   P-0002 (10) stays recommended; P-0005 (8) and P-0010 (7..8) stay
 *   case_by_case; P-0007 (0..8) stays indeterminate; the others are < 6.
 *
 * If rules/spine-metastasis-lung/1.0.0 changes, the fixture must follow (it
 * is "1.0.0 plus the two edits"): the exact rule changes asserted here say so. */
#include <criterion/criterion.h>

#include "harness.h"
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <yajl/yajl_tree.h>

#ifndef SR_BINARY
#error "SR_BINARY must name the built executable"
#endif

#define FIXTURE "tests/data/rulesets/spine-metastasis-lung/1.1.0"
#define SHIPPED "rules/spine-metastasis-lung/1.0.0"

/* Runs a shell command from the source folder ("%B" in fmt is not special:
 * use SR_BINARY), capturing both streams. */
static run_t sh(const char *fmt, ...)
{
    char body[8192];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(body, sizeof body, fmt, ap);
    va_end(ap);
    return run_shell(body);
}

#define SR "'" SR_BINARY "'"

/* The digest of a rule set folder as tools/ruleset_digest.py computes it. */
static char *python_digest(const char *dir)
{
    run_t r = sh("/usr/bin/python3 tools/ruleset_digest.py '%s'", dir);
    cr_assert_eq(r.status, 0, "ruleset_digest.py: %s", r.err);
    r.out[strcspn(r.out, "\n")] = '\0';
    free(r.err);
    return r.out;
}

/* Replaces every occurrence of from by to in s (malloc'd result; s freed). */
static char *replace(char *s, const char *from, const char *to)
{
    size_t fl = strlen(from), tl = strlen(to), n = 0;
    for (const char *p = s; (p = strstr(p, from)); p += fl)
        n++;
    char *out = malloc(strlen(s) + n * (tl > fl ? tl - fl : 0) + 1), *o = out;
    const char *p = s, *q;
    while ((q = strstr(p, from))) {
        memcpy(o, p, (size_t)(q - p));
        o += q - p;
        memcpy(o, to, tl);
        o += tl;
        p = q + fl;
    }
    strcpy(o, p);
    free(s);
    return out;
}

/* A fresh copy of the shipped rule set at <tmp>/x/<version>; returns tmp. */
static char *copy_shipped(const char *version)
{
    char *tmp = strdup("/tmp/sr-audit-XXXXXX");
    cr_assert(mkdtemp(tmp));
    run_t r = sh("mkdir -p '%s/x' && cp -r " SHIPPED " '%s/x/%s'", tmp, tmp, version);
    cr_assert_eq(r.status, 0, "%s", r.err);
    run_free(&r);
    return tmp;
}

static void remove_tree(char *tmp)
{
    run_t r = sh("rm -rf '%s'", tmp);
    run_free(&r);
    free(tmp);
}

/* The digest field of the single line `spinerules rules DIR` prints. */
static char *listed_digest(const char *rules)
{
    run_t r = sh(SR " rules '%s'", rules);
    cr_assert_eq(r.status, 0, "%s", r.err);
    char *d = strstr(r.out, "sha256:");
    cr_assert(d, "%s", r.out);
    char *digest = strndup(d, 71);
    run_free(&r);
    return digest;
}

/* ---- manifest and digest ---- */

Test(audit, rules_lists_installed_rule_sets_with_status_digest_and_folder)
{
    char *digest = python_digest(SHIPPED);
    char real[4096];
    cr_assert(realpath(SR_SOURCE_DIR "/" SHIPPED, real));
    char want[8192];
    snprintf(want, sizeof want, "spine-metastasis-lung 1.0.0 approved %s %s\n", digest, real);
    run_t r = sh(SR " rules");
    cr_assert_eq(r.status, 0, "%s", r.err);
    cr_assert_str_eq(r.out, want, "the digest is the one tools/ruleset_digest.py computes");
    run_free(&r);
    free(digest);
}

Test(audit, rules_lists_the_rule_sets_under_a_folder_given)
{
    char *digest = python_digest(FIXTURE);
    char real[4096];
    cr_assert(realpath(SR_SOURCE_DIR "/" FIXTURE, real));
    char want[8192];
    snprintf(want, sizeof want, "spine-metastasis-lung 1.1.0 draft %s %s\n", digest, real);
    run_t r = sh(SR " rules tests/data/rulesets");
    cr_assert_eq(r.status, 0, "%s", r.err);
    cr_assert_str_eq(r.out, want);
    run_free(&r);
    free(digest);
}

Test(audit, results_carry_the_digest_of_their_rule_set)
{
    char *digest = python_digest(FIXTURE);
    run_t r = sh(SR " eval --rules " FIXTURE " docs/examples/cases.yaml");
    cr_assert_eq(r.status, 0, "%s", r.err);
    char want[200];
    snprintf(want, sizeof want, "\"ruleset\":{\"name\":\"spine-metastasis-lung\",\"version\":\"1.1.0\",\"digest\":\"%s\"}",
             digest);
    int lines = 0;
    for (char *l = r.out; *l; l = strchr(l, '\n') + 1) {
        char *end = strchr(l, '\n');
        *end = '\0';
        cr_assert(strstr(l, want), "record %d: %s", lines, l);
        *end = '\n';
        lines++;
    }
    cr_assert_eq(lines, 12);
    run_free(&r);
    free(digest);
}

Test(audit, digest_ignores_manifest_comments_layout_and_key_order)
{
    char *tmp = copy_shipped("1.0.0");
    char dir[512];
    snprintf(dir, sizeof dir, "%s/x/1.0.0", tmp);
    char *before = listed_digest(tmp);
    /* the same manifest rewritten: no comments, keys reversed, flow style */
    run_t r = sh("/usr/bin/python3 -B -c \"import sys, yaml; sys.path.insert(0, 'tools'); import ruleset_digest as rd; "
                 "m = yaml.load(open('%s/manifest.yaml'), Loader=rd.CoreLoader); "
                 "open('%s/manifest.yaml', 'w').write(yaml.safe_dump(dict(reversed(list(m.items()))), "
                 "default_flow_style=True, sort_keys=False, allow_unicode=True))\"",
                 dir, dir);
    cr_assert_eq(r.status, 0, "%s", r.err);
    run_free(&r);
    char mpath[600];
    snprintf(mpath, sizeof mpath, "%s/manifest.yaml", dir);
    char *text = slurp(mpath);
    cr_assert(strncmp(text, "{files: [", 9) == 0 && !strchr(text, '#'), "rewritten: %s", text);
    free(text);
    char *after = listed_digest(tmp);
    cr_assert_str_eq(after, before);
    free(after);
    free(before);
    remove_tree(tmp);
}

Test(audit, digest_changes_with_any_value_of_the_manifest_or_byte_of_a_rule_file)
{
    char *tmp = copy_shipped("1.0.0");
    char *d0 = listed_digest(tmp);
    run_t r = sh("sed -i 's/^  - spinerules clinical review$/  - spinerules clinical review board/' "
                 "'%s/x/1.0.0/manifest.yaml'",
                 tmp);
    run_free(&r);
    char *d1 = listed_digest(tmp);
    cr_assert_str_neq(d1, d0, "an approver renamed");
    r = sh("printf -- '-- a comment\\n' >> '%s/x/1.0.0/workup.lua'", tmp);
    run_free(&r);
    char *d2 = listed_digest(tmp);
    cr_assert_str_neq(d2, d1, "a comment added to a rule file");
    free(d0);
    free(d1);
    free(d2);
    remove_tree(tmp);
}

Test(audit, a_rule_file_in_the_folder_but_not_listed_is_an_error)
{
    char *tmp = copy_shipped("1.0.0");
    run_t r = sh("touch '%s/x/1.0.0/extra.lua' && " SR " verify --rules '%s/x/1.0.0'", tmp, tmp);
    cr_assert_eq(r.status, 2);
    char want[1024];
    snprintf(want, sizeof want,
             "%s/x/1.0.0/manifest.yaml:24:3: error: rule file 'extra.lua' is in the rule set's folder but not listed "
             "in files (list it, or move it out of the folder)\n",
             tmp);
    cr_assert_str_eq(r.err, want);
    cr_assert_str_eq(r.out, "");
    run_free(&r);
    r = sh("touch '%s/x/1.0.0/another.lua' && " SR " eval --rules '%s/x/1.0.0' docs/examples/cases.yaml", tmp, tmp);
    cr_assert_eq(r.status, 2);
    snprintf(want, sizeof want,
             "%s/x/1.0.0/manifest.yaml:24:3: error: rule files 'another.lua', 'extra.lua' are in the rule set's "
             "folder but not listed in files (list them, or move them out of the folder)\n",
             tmp);
    cr_assert_str_eq(r.err, want);
    run_free(&r);
    remove_tree(tmp);
}

Test(audit, a_rule_file_listed_but_absent_is_an_error)
{
    char *tmp = copy_shipped("1.0.0");
    run_t r = sh("rm '%s/x/1.0.0/workup.lua' && " SR " verify --rules '%s/x/1.0.0'", tmp, tmp);
    cr_assert_eq(r.status, 2);
    char want[1024];
    snprintf(want, sizeof want,
             "%s/x/1.0.0/manifest.yaml:32:5: error: rule file 'workup.lua' is listed in files but is not in the "
             "rule set's folder\n",
             tmp);
    cr_assert_str_eq(r.err, want);
    run_free(&r);
    remove_tree(tmp);
}

Test(audit, an_approved_rule_set_names_its_approvers)
{
    char *tmp = copy_shipped("1.0.0");
    run_t r = sh("sed -i '/^approvers:/,/^changelog:/{/^  - /d}' '%s/x/1.0.0/manifest.yaml' && "
                 "sed -i 's/^approvers:$/approvers: []/' '%s/x/1.0.0/manifest.yaml' && " SR " verify --rules '%s/x/1.0.0'",
                 tmp, tmp, tmp);
    cr_assert_eq(r.status, 2, "%s", r.out);
    char want[1024];
    snprintf(want, sizeof want,
             "%s/x/1.0.0/manifest.yaml:4:1: error: expected a value matching at least one of 2 alternatives, found a "
             "mapping: (1) status: expected 'draft', found string 'approved'; (2) approvers: expected at least 1 item, "
             "found 0\n",
             tmp);
    cr_assert_str_eq(r.err, want);
    run_free(&r);
    /* a draft may have none yet */
    r = sh("sed -i 's/^status: approved/status: draft/' '%s/x/1.0.0/manifest.yaml' && " SR " verify --rules '%s/x/1.0.0'",
           tmp, tmp);
    cr_assert_eq(r.status, 0, "%s", r.err);
    run_free(&r);
    remove_tree(tmp);
}

/* ---- reproducing a result from its digest ---- */

Test(audit, a_result_is_reproduced_byte_for_byte_from_its_digest)
{
    run_t first = sh(SR " eval docs/examples/cases.yaml");
    cr_assert_eq(first.status, 0, "%s", first.err);
    char *d = strstr(first.out, "\"digest\":\"sha256:");
    cr_assert(d);
    char *digest = strndup(d + 10, 71);
    run_t again = sh(SR " eval --rules %s docs/examples/cases.yaml", digest);
    cr_assert_eq(again.status, 0, "%s", again.err);
    cr_assert_str_eq(again.out, first.out, "the same bytes");
    /* a unique prefix of 8 hex digits will do; so will one worker */
    char prefix[16];
    snprintf(prefix, sizeof prefix, "%.15s", digest);
    run_t short_one = sh(SR " eval --jobs 1 --rules %s docs/examples/cases.yaml", prefix);
    cr_assert_eq(short_one.status, 0, "%s", short_one.err);
    cr_assert_str_eq(short_one.out, first.out);
    /* one case re-checked alone gives its own line again */
    run_t one = sh("sed -n '1,/^---$/p' docs/examples/cases.yaml | sed '$d' > /tmp/sr-audit-one.yaml && " SR
                   " eval --rules %s /tmp/sr-audit-one.yaml; rm -f /tmp/sr-audit-one.yaml",
                   digest);
    cr_assert_eq(one.status, 0, "%s", one.err);
    cr_assert(strncmp(one.out, first.out, strlen(one.out)) == 0 && one.out[strlen(one.out) - 1] == '\n',
              "P-0001 again: %s", one.out);
    run_free(&first);
    run_free(&again);
    run_free(&short_one);
    run_free(&one);
    free(digest);
}

Test(audit, a_digest_no_installed_rule_set_has_is_an_error)
{
    run_t r = sh(SR " eval --rules sha256:00000000deadbeef docs/examples/cases.yaml");
    cr_assert_eq(r.status, 2);
    char real[4096];
    cr_assert(realpath(SR_SOURCE_DIR "/rules", real));
    char want[8192];
    snprintf(want, sizeof want,
             "spinerules: error: sha256:00000000deadbeef: no rule set installed in %s has this digest "
             "('spinerules rules' lists them)\n",
             real);
    cr_assert_str_eq(r.err, want);
    cr_assert_str_eq(r.out, "");
    run_free(&r);
    r = sh(SR " verify --rules sha256:12");
    cr_assert_eq(r.status, 2);
    cr_assert_str_eq(r.err, "spinerules: error: sha256:12: give at least 8 hexadecimal digits of the digest\n");
    run_free(&r);
}

/* ---- verify --coverage ---- */

static void check_coverage(const char *rules, const char *expected_file)
{
    run_t r = sh(SR " verify --coverage --rules %s", rules);
    cr_assert_eq(r.status, 0, "%s%s", r.out, r.err);
    char *block = strstr(r.out, "coverage: ");
    cr_assert(block, "%s", r.out);
    char *want = slurp(expected_file);
    cr_assert_str_eq(block, want);
    free(want);
    run_free(&r);
}

Test(audit, shipped_golden_cases_reach_everything_reachable)
{
    check_coverage(SHIPPED, SR_SOURCE_DIR "/tests/data/audit/coverage-1.0.0.txt");
}

Test(audit, fixture_golden_cases_reach_everything_reachable)
{
    check_coverage(FIXTURE, SR_SOURCE_DIR "/tests/data/audit/coverage-1.1.0.txt");
}

Test(audit, coverage_lists_what_fewer_golden_cases_miss)
{
    char *tmp = copy_shipped("1.0.0");
    /* only the Tokuhashi golden cases: no lesion, so no SINS; every case gives metastatic_levels */
    run_t r = sh("cd '%s/x/1.0.0/golden' && ls | grep -v '^tokuhashi.yaml$' | xargs rm && cd '%s' && " SR
                 " verify --coverage --rules '%s/x/1.0.0'",
                 tmp, SR_SOURCE_DIR, tmp);
    cr_assert_eq(r.status, 1, "a reachable point missed fails verify --coverage: %s", r.err);
    cr_assert(strstr(r.out, "coverage: 40 of 79 reachable points reached by the golden cases (50.6 %)\n"
                            "  table rows                   22 of 45\n"
                            "  bands                        5 of 11\n"
                            "  contraindication branches    9 of 17\n"
                            "  decision paths               4 of 6\n"
                            "not reached by any golden case (39):\n"
                            "  frankel row D2  frankel.lua:34\n"),
              "%s", r.out);
    cr_assert(strstr(r.out, "  sins.category unstable (>= 13)  sins.lua:101\n"), "%s", r.out);
    cr_assert(strstr(r.out, "  contraindication three_segment_spinal_disease unknown  contraindications.lua:52\n"),
              "%s", r.out);
    cr_assert(strstr(r.out, "  recommendation step 3 recommended_with_relative_contraindication -> case_by_case"
                            "  recommendation.lua:25\n"
                            "reachable by no case at all (1):\n"
                            "  tokuhashi.survival over_12_months (>= 12)  tokuhashi.lua:136\n"
                            "      no total reaches it: the rows of tokuhashi add up to totals from 0 to 10\n"),
              "%s", r.out);
    run_free(&r);
    remove_tree(tmp);
}

Test(audit, verify_without_coverage_prints_no_coverage)
{
    run_t r = sh(SR " verify --rules " SHIPPED);
    cr_assert_eq(r.status, 0);
    cr_assert(strstr(r.out, "coverage") == NULL);
    run_free(&r);
}

/* ---- diff ---- */

static char *expected_diff(const char *file)
{
    char *from = python_digest(SHIPPED), *to = python_digest(FIXTURE);
    char *want = replace(replace(slurp(file), "@FROM_DIGEST@", from), "@TO_DIGEST@", to);
    free(from);
    free(to);
    return want;
}

Test(audit, diff_text_from_1_0_0_to_the_fixture)
{
    run_t r = sh(SR " diff --from " SHIPPED " --to " FIXTURE " docs/examples/cases.yaml");
    cr_assert_eq(r.status, 1, "outcomes changed: exit 1 (%s)", r.err);
    char *want = expected_diff(SR_SOURCE_DIR "/tests/data/audit/diff-1.0.0-1.1.0.txt");
    cr_assert_str_eq(r.out, want);
    cr_assert_str_eq(r.err, "");
    free(want);
    run_free(&r);
}

Test(audit, diff_markdown_from_1_0_0_to_the_fixture)
{
    run_t r = sh(SR " diff --from " SHIPPED " --to " FIXTURE " --format markdown docs/examples/cases.yaml");
    cr_assert_eq(r.status, 1, "%s", r.err);
    char *want = expected_diff(SR_SOURCE_DIR "/tests/data/audit/diff-1.0.0-1.1.0.md");
    cr_assert_str_eq(r.out, want);
    free(want);
    run_free(&r);
}

static const char *jstr(yajl_val v, const char *const *path)
{
    yajl_val s = yajl_tree_get(v, (const char **)path, yajl_t_string);
    return s ? s->u.string : "(missing)";
}

Test(audit, diff_json_exact_rule_changes_and_changed_cases)
{
    run_t r = sh(SR " diff --from " SHIPPED " --to " FIXTURE " --format json docs/examples/cases.yaml");
    cr_assert_eq(r.status, 1, "%s", r.err);
    char ebuf[256];
    yajl_val doc = yajl_tree_parse(r.out, ebuf, sizeof ebuf);
    cr_assert(doc, "%s", ebuf);
    const char *rc_path[] = {"rule_changes", NULL};
    yajl_val rc = yajl_tree_get(doc, rc_path, yajl_t_array);
    cr_assert(rc && rc->u.array.len == 3, "exactly three rule changes");
    static const char *const want_rc[3][4] = {
        {"sins.category band potentially_unstable", "en", "potentially unstable",
         "potentially unstable (surgical opinion advised)"},
        {"tokuhashi.surgery band case_by_case", "limits", "6-9", "6-8"},
        {"tokuhashi.surgery band recommended", "limits", ">= 10", ">= 9"},
    };
    for (size_t i = 0; i < 3; i++) {
        const char *keys[] = {"where", "what", "from", "to"};
        for (int k = 0; k < 4; k++) {
            const char *p[] = {keys[k], NULL};
            cr_assert_str_eq(jstr(rc->u.array.values[i], p), want_rc[i][k], "rule change %zu %s", i, keys[k]);
        }
    }
    const char *bc_path[] = {"by_case", NULL};
    yajl_val bc = yajl_tree_get(doc, bc_path, yajl_t_array);
    cr_assert(bc && bc->u.array.len == 2, "exactly two cases change");
    static const char *const want_cases[2][2][3] = {
        {{"tokuhashi.surgery", "case_by_case", "recommended"},
         {"recommendation_reason", "tokuhashi_surgery", "recommended_with_relative_contraindication"}},
        {{"tokuhashi.surgery", "case_by_case", "recommended"},
         {"recommendation", "case_by_case", "recommended"}},
    };
    static const char *const want_ids[2] = {"P-0004", "P-0009"};
    static const long long want_lines[2] = {86, 178};
    for (size_t i = 0; i < 2; i++) {
        yajl_val c = bc->u.array.values[i];
        const char *id[] = {"id", NULL}, *line[] = {"line", NULL}, *changes[] = {"changes", NULL};
        cr_assert_str_eq(jstr(c, id), want_ids[i]);
        cr_assert_eq(YAJL_GET_INTEGER(yajl_tree_get(c, line, yajl_t_number)), want_lines[i]);
        yajl_val ch = yajl_tree_get(c, changes, yajl_t_array);
        cr_assert(ch && ch->u.array.len == 2, "%s: two field changes", want_ids[i]);
        for (size_t k = 0; k < 2; k++) {
            const char *f[] = {"field", NULL}, *fr[] = {"from", NULL}, *to[] = {"to", NULL};
            cr_assert_str_eq(jstr(ch->u.array.values[k], f), want_cases[i][k][0]);
            cr_assert_str_eq(jstr(ch->u.array.values[k], fr), want_cases[i][k][1]);
            cr_assert_str_eq(jstr(ch->u.array.values[k], to), want_cases[i][k][2]);
        }
    }
    const char *ev[] = {"cases", "evaluated", NULL}, *chg[] = {"cases", "changed", NULL};
    cr_assert_eq(YAJL_GET_INTEGER(yajl_tree_get(doc, ev, yajl_t_number)), 12);
    cr_assert_eq(YAJL_GET_INTEGER(yajl_tree_get(doc, chg, yajl_t_number)), 2);
    const char *bf_path[] = {"by_field", NULL};
    yajl_val bf = yajl_tree_get(doc, bf_path, yajl_t_array);
    cr_assert(bf && bf->u.array.len == 3);
    const char *f0[] = {"field", NULL};
    cr_assert_str_eq(jstr(bf->u.array.values[0], f0), "tokuhashi.surgery");
    const char *cases[] = {"cases", NULL};
    yajl_val list = yajl_tree_get(bf->u.array.values[0], cases, yajl_t_array);
    cr_assert(list && list->u.array.len == 2);
    cr_assert(YAJL_IS_STRING(list->u.array.values[0]) && YAJL_IS_STRING(list->u.array.values[1]));
    cr_assert_str_eq(list->u.array.values[0]->u.string, "P-0004");
    cr_assert_str_eq(list->u.array.values[1]->u.string, "P-0009");
    yajl_tree_free(doc);
    run_free(&r);
}

Test(audit, diff_of_a_rule_set_with_itself_changes_nothing)
{
    run_t r = sh(SR " diff --from " SHIPPED " --to " SHIPPED " docs/examples/cases.yaml");
    cr_assert_eq(r.status, 0, "%s", r.err);
    cr_assert(strstr(r.out, "\nRule changes: none\n\nCases: 12 evaluated (docs/examples/cases.yaml), 0 with a changed "
                            "outcome, 12 unchanged\n"),
              "%s", r.out);
    cr_assert(strstr(r.out, "Changes by") == NULL && strstr(r.out, "Other differences") == NULL);
    run_free(&r);
}

Test(audit, diff_reports_points_conditions_kinds_labels_and_removed_checks)
{
    char *tmp = copy_shipped("2.0.0");
    /* five edits an editor could make */
    run_t r = sh("cd '%s/x/2.0.0' && "
                 "sed -i 's/^local SHORT_SURVIVAL_MONTHS   = 3 /local SHORT_SURVIVAL_MONTHS   = 2 /' contraindications.lua && "
                 "sed -i '/contraindication \"severe_immunodepression\"/,/^}/s/kind = \"absolute\"/kind = \"relative\"/' "
                 "contraindications.lua && "
                 "sed -i 's/row { \"non_mechanical\", points = 1,/row { \"non_mechanical\", points = 2,/' sins.lua && "
                 "sed -i 's/fr = \"Déambulation mais avec des signes neurologiques : avec déambulateur\"/"
                 "fr = \"Déambulation avec signes neurologiques : avec déambulateur\"/' frankel.lua && "
                 "sed -i '/check \"posterolateral_approach_t3_t4\" {/,/^  },/d' technique.lua && cd '%s' && " SR
                 " diff --from " SHIPPED " --to '%s/x/2.0.0' docs/examples/cases.yaml",
                 tmp, SR_SOURCE_DIR, tmp);
    cr_assert_eq(r.status, 1, "%s", r.err);
    cr_assert(strstr(r.out,
                     "\nRule changes (5):\n"
                     "  frankel row D1: fr: \"Déambulation mais avec des signes neurologiques : avec déambulateur\" -> "
                     "\"Déambulation avec signes neurologiques : avec déambulateur\"\n"
                     "  sins.pain row non_mechanical: points: 1 -> 2\n"
                     "  contraindication short_survival: when: \"patient.estimated_survival_months < 3\" -> "
                     "\"patient.estimated_survival_months < 2\"\n"
                     "  contraindication severe_immunodepression: kind: absolute -> relative\n"
                     "  technique_notes check posterolateral_approach_t3_t4: removed (level in T3-T4)\n\n"
                     "Cases: 12 evaluated (docs/examples/cases.yaml), 12 with a changed outcome, 0 unchanged\n"),
              "%s", r.out);
    /* P-0003: survival 2 months is no longer < 2; P-0011: severe immunodepression, now relative, no longer
     * contraindicates (Tokuhashi 1+1+0+1+0+2 = 5 -> unlikely_benefit); SINS of the non-mechanical lesions:
     * P-0005 S2 0+1+2+0+0+1 = 4 -> 5, P-0006 T6 1+1+0+0+0+0 = 2 -> 3, P-0009 T3 1+1+2+0+0+3 = 7 -> 8 */
    cr_assert(strstr(r.out, "  sins.total: 2 -> 3  1 case\n    P-0006\n"
                            "  sins.total: 4 -> 5  1 case\n    P-0005\n"
                            "  sins.total: 7 -> 8  1 case\n    P-0009\n"
                            "  contraindications.short_survival.status: present -> absent  1 case\n    P-0003\n"
                            "  contraindications.severe_immunodepression.kind: absolute -> relative  12 cases\n"
                            "    P-0001, P-0002, P-0003, P-0004, P-0005, P-0006, P-0007, P-0008, P-0009, P-0010, "
                            "P-0011, P-0012\n"
                            "  recommendation: contraindicated -> unlikely_benefit  1 case\n    P-0011\n"),
              "%s", r.out);
    run_free(&r);
    remove_tree(tmp);
}

/* A file of several 64 KiB chunks: the pipeline opens worker engines for
 * both versions in turn (the second pipeline of a diff once aborted, popping
 * a prelude it had not pushed). */
Test(audit, diff_over_a_file_of_several_chunks)
{
    run_t r = sh(SR " diff --from " SHIPPED " --to " SHIPPED " tests/data/workers.yaml");
    cr_assert_eq(r.status, 0, "%s", r.err);
    cr_assert(strstr(r.out, "\nCases: 304 evaluated (tests/data/workers.yaml), 0 with a changed outcome, 304 "
                            "unchanged (4 of them invalid under both versions)\n"),
              "%s", r.out);
    run_free(&r);
}

Test(audit, diff_usage_errors)
{
    run_t r = sh(SR " diff --from " SHIPPED " docs/examples/cases.yaml");
    cr_assert_eq(r.status, 2);
    cr_assert_str_eq(r.err, "spinerules: diff needs --from DIR and --to DIR\ntry 'spinerules --help'\n");
    run_free(&r);
    r = sh(SR " diff --from " SHIPPED " --to " FIXTURE);
    cr_assert_eq(r.status, 2);
    cr_assert_str_eq(r.err, "spinerules: diff needs at least one case file\ntry 'spinerules --help'\n");
    run_free(&r);
    r = sh(SR " diff --from " SHIPPED " --to " FIXTURE " - < docs/examples/cases.yaml");
    cr_assert_eq(r.status, 2);
    cr_assert_str_eq(r.err, "spinerules: diff reads each case file more than once: give files, not '-'\n"
                            "try 'spinerules --help'\n");
    run_free(&r);
    r = sh(SR " diff --from " SHIPPED " --to " FIXTURE " --format html docs/examples/cases.yaml");
    cr_assert_eq(r.status, 2);
    cr_assert_str_eq(r.err, "spinerules: unknown diff format 'html' (expected text, markdown or json)\n"
                            "try 'spinerules --help'\n");
    run_free(&r);
    r = sh(SR " diff --from " SHIPPED " --to /nonexistent docs/examples/cases.yaml");
    cr_assert_eq(r.status, 2);
    cr_assert_str_eq(r.err, "spinerules: error: /nonexistent: not a rule set (no manifest.yaml, and no version "
                            "folder holding one)\n");
    run_free(&r);
}

Test(audit, diff_writes_its_report_to_a_file)
{
    run_t r = sh(SR " diff --from " SHIPPED " --to " FIXTURE " --format markdown -o /tmp/sr-audit-report.md "
                    "docs/examples/cases.yaml");
    cr_assert_eq(r.status, 1, "%s", r.err);
    cr_assert_str_eq(r.out, "");
    char *got = slurp("/tmp/sr-audit-report.md");
    char *want = expected_diff(SR_SOURCE_DIR "/tests/data/audit/diff-1.0.0-1.1.0.md");
    cr_assert_str_eq(got, want);
    unlink("/tmp/sr-audit-report.md");
    free(got);
    free(want);
    run_free(&r);
}

Test(audit, diff_counts_the_cases_both_versions_refuse)
{
    run_t r = sh(SR " diff --from " SHIPPED " --to " FIXTURE " tests/data/mixed.yaml");
    cr_assert_eq(r.status, 0, "no valid case of mixed.yaml changes (%s)", r.err);
    cr_assert(strstr(r.out, "\nCases: 7 evaluated (tests/data/mixed.yaml), 0 with a changed outcome, 7 unchanged "
                            "(4 of them invalid under both versions)\n"),
              "%s", r.out);
    cr_assert(strstr(r.err, "tests/data/mixed.yaml:5:1: error: expected a case (a mapping with an 'id'), found a "
                            "list of 2 items\n"),
              "the problems of the cases are reported once: %s", r.err);
    run_free(&r);
}
