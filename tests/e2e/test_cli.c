/* test_cli.c -- end-to-end: the built executable on real files. */
#include <criterion/criterion.h>

#include "harness.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <yajl/yajl_tree.h>

#ifndef SR_BINARY
#error "SR_BINARY must name the built executable"
#endif


static int count_lines(const char *s)
{
    int n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

/* Line i (0-based) of s, malloc'd. */
static char *line_at(const char *s, int i)
{
    while (i-- > 0 && (s = strchr(s, '\n')))
        s++;
    if (!s)
        return strdup("");
    const char *e = strchr(s, '\n');
    return strndup(s, e ? (size_t)(e - s) : strlen(s));
}

/* Every key of expected is in actual with the same value; arrays have the
 * same length, compared element by element. */
static int subset(yajl_val exp, yajl_val act, char *path, size_t cap)
{
    if (!act)
        return 0;
    if (YAJL_IS_OBJECT(exp)) {
        if (!YAJL_IS_OBJECT(act))
            return 0;
        for (size_t i = 0; i < exp->u.object.len; i++) {
            const char *k = exp->u.object.keys[i];
            const char *keys[] = {k, NULL};
            size_t n = strlen(path);
            snprintf(path + n, cap - n, ".%s", k);
            if (!subset(exp->u.object.values[i], yajl_tree_get(act, keys, yajl_t_any), path, cap))
                return 0;
            path[n] = '\0';
        }
        return 1;
    }
    if (YAJL_IS_ARRAY(exp)) {
        if (!YAJL_IS_ARRAY(act) || act->u.array.len != exp->u.array.len)
            return 0;
        for (size_t i = 0; i < exp->u.array.len; i++) {
            size_t n = strlen(path);
            snprintf(path + n, cap - n, "[%zu]", i);
            if (!subset(exp->u.array.values[i], act->u.array.values[i], path, cap))
                return 0;
            path[n] = '\0';
        }
        return 1;
    }
    if (YAJL_IS_STRING(exp))
        return YAJL_IS_STRING(act) && strcmp(exp->u.string, act->u.string) == 0;
    if (YAJL_IS_INTEGER(exp))
        return YAJL_IS_INTEGER(act) && exp->u.number.i == act->u.number.i;
    if (YAJL_IS_NULL(exp))
        return YAJL_IS_NULL(act);
    return exp->type == act->type;
}

Test(cli, spec_example_gives_the_spec_result)
{
    run_t r = run("eval docs/examples/cases.yaml");
    cr_assert_eq(r.status, 0, "stderr: %s", r.err);
    char *first = line_at(r.out, 0);
    char *expected = slurp(SR_SOURCE_DIR "/tests/e2e/spec-example.expected.json");
    char ebuf[256];
    yajl_val exp = yajl_tree_parse(expected, ebuf, sizeof ebuf);
    yajl_val act = yajl_tree_parse(first, ebuf, sizeof ebuf);
    cr_assert(exp && act, "both parse: %s", ebuf);
    char path[512] = "";
    cr_assert(subset(exp, act, path, sizeof path), "result differs from SPEC section 5 at %s\n%s", path, first);
    const char *dkeys[] = {"ruleset", "digest", NULL};
    yajl_val dig = yajl_tree_get(act, dkeys, yajl_t_string);
    cr_assert(dig && strncmp(dig->u.string, "sha256:", 7) == 0 && strlen(dig->u.string) == 71);
    yajl_tree_free(exp);
    yajl_tree_free(act);
    free(expected);
    free(first);
    run_free(&r);
}

Test(cli, examples_one_record_per_case_and_byte_identical_runs)
{
    run_t a = run("eval docs/examples/cases.yaml");
    run_t b = run("eval docs/examples/cases.yaml");
    cr_assert_eq(a.status, 0);
    cr_assert_geq(count_lines(a.out), 10, "at least ten example cases");
    cr_assert_str_eq(a.out, b.out, "two runs give byte-identical output");
    cr_assert_str_eq(a.err, "");
    run_free(&a);
    run_free(&b);
}

static const char *const mixed_records[] = {
    "{\"id\":\"M-1\",\"ruleset\":",
    "{\"id\":null,\"error\":{\"message\":\"expected a case (a mapping with an 'id'), found a list of 2 items\",\"path\":null,\"line\":5,\"column\":1}}",
    "{\"id\":\"M-3\",\"error\":{\"message\":\"duplicate key 'karnofsky'\",\"path\":\"patient.karnofsky\",\"line\":11,\"column\":3}}",
    "{\"id\":\"M-4\",\"error\":{\"message\":\"did not find expected ',' or ']' (while parsing a flow sequence that starts at line 14, column 28)\",\"path\":null,\"line\":15,\"column\":1}}",
    "{\"id\":\"M-5\",\"ruleset\":",
    "{\"id\":null,\"error\":{\"message\":\"missing required field 'id'\",\"path\":\"id\",\"line\":19,\"column\":1}}",
    "{\"id\":\"M-7\",\"ruleset\":",
};

Test(cli, mixed_valid_and_broken_cases_one_record_each_in_order)
{
    run_t r = run("eval tests/data/mixed.yaml");
    cr_assert_eq(r.status, 1, "some cases failed: exit 1");
    cr_assert_eq(count_lines(r.out), 7, "%s", r.out);
    for (int i = 0; i < 7; i++) {
        char *l = line_at(r.out, i);
        cr_assert(strncmp(l, mixed_records[i], strlen(mixed_records[i])) == 0, "record %d: %s\nexpected: %s", i, l,
                  mixed_records[i]);
        free(l);
    }
    cr_assert_str_eq(r.err,
                     "tests/data/mixed.yaml:5:1: error: expected a case (a mapping with an 'id'), found a list of 2 items\n"
                     "tests/data/mixed.yaml:11:3: error: patient.karnofsky: duplicate key 'karnofsky'\n"
                     "tests/data/mixed.yaml:15:1: error: did not find expected ',' or ']' (while parsing a flow "
                     "sequence that starts at line 14, column 28)\n"
                     "tests/data/mixed.yaml:19:1: error: id: missing required field 'id'\n");
    run_free(&r);
}

Test(cli, json_lines_and_yaml_give_the_same_results_for_the_same_cases)
{
    run_t y = run("eval tests/data/mixed.yaml");
    run_t j = run("eval tests/data/mixed.jsonl");
    cr_assert_eq(j.status, 1);
    cr_assert_eq(count_lines(j.out), 7, "%s", j.out);
    int same[] = {0, 4, 6}; /* the valid cases: identical records */
    for (int k = 0; k < 3; k++) {
        char *a = line_at(y.out, same[k]), *b = line_at(j.out, same[k]);
        cr_assert_str_eq(a, b);
        free(a);
        free(b);
    }
    char *l = line_at(j.out, 3);
    cr_assert_str_eq(l, "{\"id\":\"M-4\",\"error\":{\"message\":\"invalid JSON: parse error: premature EOF\","
                        "\"path\":null,\"line\":4,\"column\":57}}");
    free(l);
    run_free(&y);
    run_free(&j);
}

Test(cli, yaml_output_is_a_yaml_stream)
{
    run_t r = run("eval --format yaml tests/data/mixed.yaml");
    cr_assert_eq(r.status, 1);
    cr_assert(strncmp(r.out, "---\nid: M-1\nruleset:\n  name: spine-metastasis-lung\n", 50) == 0, "%.200s", r.out);
    int docs = 0;
    for (const char *p = r.out; (p = strstr(p, "---\n")); p += 4)
        docs++;
    cr_assert_eq(docs, 7);
    run_free(&r);
}

/* The file at path holds what `eval docs/examples/cases.yaml` writes on
 * standard output. */
static void expect_example_results(const char *path)
{
    run_t s = run("eval docs/examples/cases.yaml");
    char *file = slurp(path);
    cr_assert_str_eq(file, s.out, "%s holds eval's output", path);
    free(file);
    run_free(&s);
}

/* Removes the files a and b (b may be NULL) of dir, then dir itself, which
 * must then be empty: no temporary file was left beside them. */
static void remove_emptied_dir(const char *dir, const char *a, const char *b)
{
    unlink(a);
    if (b)
        unlink(b);
    cr_assert_eq(rmdir(dir), 0, "no temporary file is left in %s", dir);
}

Test(cli, output_file_is_replaced_only_when_complete)
{
    char dir[] = "/tmp/sr-e2e-o-XXXXXX", target[64], args[128];
    cr_assert(mkdtemp(dir));
    snprintf(target, sizeof target, "%s/results.jsonl", dir);
    snprintf(args, sizeof args, "eval -o %s docs/examples/cases.yaml", target);
    run_t r = run(args);
    cr_assert_eq(r.status, 0, "%s", r.err);
    cr_assert_str_eq(r.out, "");
    expect_example_results(target);
    remove_emptied_dir(dir, target, NULL);
    run_free(&r);
}

/* -o names something that is not a regular file (here a named pipe, as
 * /dev/null or a terminal would be): it is written in place, not replaced
 * by a renamed regular file. */
Test(cli, output_to_a_pipe_is_written_in_place)
{
    char dir[] = "/tmp/sr-e2e-o-XXXXXX", fifo[64], copy[64], cmd[512];
    cr_assert(mkdtemp(dir));
    snprintf(fifo, sizeof fifo, "%s/pipe", dir);
    snprintf(copy, sizeof copy, "%s/copy", dir);
    cr_assert_eq(mkfifo(fifo, 0600), 0);
    snprintf(cmd, sizeof cmd, "timeout 20 cat '%s' > '%s' & '%s' eval -o '%s' docs/examples/cases.yaml; s=$?; wait; exit $s",
             fifo, copy, SR_BINARY, fifo);
    run_t r = run_shell(cmd);
    cr_assert_eq(r.status, 0, "%s", r.err);
    struct stat st;
    cr_assert_eq(lstat(fifo, &st), 0);
    cr_assert(S_ISFIFO(st.st_mode), "the pipe is still a pipe");
    expect_example_results(copy);
    remove_emptied_dir(dir, fifo, copy);
    run_free(&r);
}

/* -o names a symbolic link to a file: the file it points to is replaced when
 * the run completes, and the link stays a link. */
Test(cli, output_through_a_link_replaces_its_target)
{
    char dir[] = "/tmp/sr-e2e-o-XXXXXX", link[64], target[64], args[128];
    cr_assert(mkdtemp(dir));
    snprintf(link, sizeof link, "%s/latest.jsonl", dir);
    snprintf(target, sizeof target, "%s/results.jsonl", dir);
    FILE *f = fopen(target, "w");
    cr_assert(f);
    fputs("old results\n", f);
    fclose(f);
    cr_assert_eq(symlink("results.jsonl", link), 0);
    snprintf(args, sizeof args, "eval -o %s docs/examples/cases.yaml", link);
    run_t r = run(args);
    cr_assert_eq(r.status, 0, "%s", r.err);
    struct stat st;
    cr_assert_eq(lstat(link, &st), 0);
    cr_assert(S_ISLNK(st.st_mode), "the link is still a link");
    expect_example_results(target);
    remove_emptied_dir(dir, link, target);
    run_free(&r);
}

Test(cli, usage_errors)
{
    run_t r = run("eval --frobnicate x.yaml");
    cr_assert_eq(r.status, 2);
    cr_assert_str_eq(r.err, "spinerules: unknown option '--frobnicate'\ntry 'spinerules --help'\n");
    run_free(&r);
    r = run("");
    cr_assert_eq(r.status, 2);
    cr_assert_str_eq(r.err, "spinerules: missing command\ntry 'spinerules --help'\n");
    run_free(&r);
    r = run("--help");
    cr_assert_eq(r.status, 0);
    cr_assert(strncmp(r.out, "usage: spinerules <command>", 27) == 0);
    run_free(&r);
}

Test(cli, missing_input_file_is_an_io_error)
{
    run_t r = run("eval no/such/file.yaml");
    cr_assert_eq(r.status, 2);
    cr_assert_str_eq(r.err, "no/such/file.yaml: error: cannot open: No such file or directory\n");
    run_free(&r);
}

Test(cli, broken_rule_set_is_refused_with_its_position)
{
    char dir[] = "/tmp/sr-e2e-rules-XXXXXX";
    cr_assert(mkdtemp(dir));
    char cmd[512];
    snprintf(cmd, sizeof cmd,
             "cp -r '%s/rules/spine-metastasis-lung/1.0.0/.' '%s/' && "
             "printf 'local x = = 1\\n' >> '%s/sins.lua'", SR_SOURCE_DIR, dir, dir);
    cr_assert_eq(system(cmd), 0);
    char args[256];
    snprintf(args, sizeof args, "eval --rules '%s' docs/examples/cases.yaml", dir);
    run_t r = run(args);
    cr_assert_eq(r.status, 2);
    char *want_prefix = NULL;
    cr_assert(asprintf(&want_prefix, "%s/sins.lua:", dir) > 0);
    cr_assert(strncmp(r.err, want_prefix, strlen(want_prefix)) == 0, "%s", r.err);
    cr_assert(strstr(r.err, ": error: unexpected symbol near '='\n"), "%s", r.err);
    cr_assert_str_eq(r.out, "", "no result is written with a broken rule set");
    free(want_prefix);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    system(cmd);
    run_free(&r);
}

/* ---- issue 5: hostile content changes nothing but the error ---- */

/* Builds a copy of the shipped rule set in dir with extra.lua appended to
 * its files (extra may be NULL), and golden/ replaced by golden (or kept
 * when NULL). */
static void make_ruleset(const char *dir, const char *extra, const char *golden)
{
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "cp -r '%s/rules/spine-metastasis-lung/1.0.0/.' '%s/'", SR_SOURCE_DIR, dir);
    cr_assert_eq(system(cmd), 0);
    char path[512];
    if (extra) {
        snprintf(path, sizeof path, "%s/extra.lua", dir);
        FILE *f = fopen(path, "w");
        fputs(extra, f);
        fclose(f);
        snprintf(path, sizeof path, "%s/manifest.yaml", dir);
        f = fopen(path, "a");
        fputs("  - extra.lua\n", f);
        fclose(f);
    }
    if (golden) {
        snprintf(cmd, sizeof cmd, "rm -f '%s'/golden/*.yaml", dir);
        cr_assert_eq(system(cmd), 0);
        snprintf(path, sizeof path, "%s/golden/cases.yaml", dir);
        FILE *f = fopen(path, "w");
        fputs(golden, f);
        fclose(f);
    }
}

static void remove_dir(const char *dir)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    cr_assert_eq(system(cmd), 0);
}

/* A result that depends on more than its case (here: a table's address)
 * passes its expectation once, and is caught by the second, shuffled pass. */
Test(cli, verify_runs_the_golden_cases_again_in_another_order)
{
    char dir[] = "/tmp/sr-e2e-order-XXXXXX";
    cr_assert(mkdtemp(dir));
    make_ruleset(dir,
                 "classification \"nondeterministic\" {\n"
                 "  fr = \"x\", en = \"x\", source = \"test\", gives = \"class\",\n"
                 "  input = function(case) return tostring({}) end,\n"
                 "  row { function(v) return true end, class = \"any\", fr = \"x\", en = \"x\" },\n"
                 "}\n",
                 "name: first\ndescription: one\ncase: {id: G-1}\nexpect: {nondeterministic: {class: any}}\n"
                 "---\n"
                 "name: second\ndescription: two\ncase: {id: G-2}\nexpect: {nondeterministic: {class: any}}\n");
    char args[256];
    snprintf(args, sizeof args, "verify --rules '%s'", dir);
    run_t r = run(args);
    cr_assert_eq(r.status, 1, "%s%s", r.out, r.err);
    char *want = NULL;
    cr_assert(asprintf(&want,
                       "FAIL %s/golden/cases.yaml:1: first\n    the result differs when the golden cases run in "
                       "another order (rules must keep no state from one case to the next)\n"
                       "FAIL %s/golden/cases.yaml:5: second\n    the result differs when the golden cases run in "
                       "another order (rules must keep no state from one case to the next)\n"
                       "0 passed, 2 failed\n",
                       dir, dir) > 0);
    cr_assert_str_eq(r.out, want);
    free(want);
    run_free(&r);
    remove_dir(dir);
}

/* Valid, invalid and hostile cases mixed, and a rule that fails on some of
 * them: exactly one record per input case, in order; exit 1. */
Test(cli, mixed_hostile_file_one_record_per_case_in_order)
{
    char dir[] = "/tmp/sr-e2e-mixed-XXXXXX";
    cr_assert(mkdtemp(dir));
    make_ruleset(dir,
                 "findings \"trap\" {\n"
                 "  source = \"test\",\n"
                 "  check \"x\" { fr = \"x\", en = \"x\", when = function(case)\n"
                 "    if case.id == \"X-loop\" then while true do end end\n"
                 "    if case.id == \"X-mem\" then local s = 'x' while true do s = s .. s end end\n"
                 "    if case.id == \"X-pcall\" then pcall(function() while true do end end) end\n"
                 "    return false\n"
                 "  end },\n"
                 "}\n",
                 NULL);
    char path[512];
    snprintf(path, sizeof path, "%s/cases.yaml", dir);
    FILE *f = fopen(path, "w");
    fputs("id: X-ok-1\n"
          "---\n"
          "id: X-loop\n"
          "---\n"
          "id: X-laughs\n"
          "a: &a [lol, lol]\n"
          "b: [*a, *a]\n"
          "---\n"
          "id: X-mem\n"
          "---\n"
          "id: X-deep\n"
          "spine: [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]"
          "]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]\n"
          "---\n"
          "id: X-pcall\n"
          "---\n"
          "id: X-nul\n"
          "note: \"a\\0b\"\n"
          "---\n"
          "id: X-ok-2\n"
          "patient: {karnofsky: 90}\n"
          "---\n"
          "id: X-bad\n"
          "patient: {karnofsky: [}\n"
          "---\n"
          "id: X-ok-3\n",
          f);
    fclose(f);
    char args[1200];
    snprintf(args, sizeof args, "eval --rules '%s' '%s'", dir, path);
    run_t r = run(args);
    cr_assert_eq(r.status, 1, "%s", r.err);
    static const char *const ids[] = {"X-ok-1", "X-loop", "X-laughs", "X-mem", "X-deep", "X-pcall",
                                      "X-nul", "X-ok-2", "X-bad", "X-ok-3"};
    static const int ok[] = {1, 0, 0, 0, 0, 0, 0, 1, 0, 1};
    cr_assert_eq(count_lines(r.out), 10, "%s", r.out);
    for (int i = 0; i < 10; i++) {
        char *l = line_at(r.out, i);
        char want[128];
        snprintf(want, sizeof want, "{\"id\":\"%s\",\"%s\":", ids[i], ok[i] ? "ruleset" : "error");
        cr_assert(strncmp(l, want, strlen(want)) == 0, "record %d: %.300s\nexpected: %s", i, l, want);
        free(l);
    }
    char *l = line_at(r.out, 1);
    cr_assert(strstr(l, ": time limit of 1000 ms exceeded\""), "%s", l);
    free(l);
    l = line_at(r.out, 3);
    cr_assert(strstr(l, ": memory limit of 64 MiB exceeded\""), "%s", l);
    free(l);
    l = line_at(r.out, 5);
    cr_assert(strstr(l, ": time limit of 1000 ms exceeded\""), "%s", l);
    free(l);
    run_free(&r);
    remove_dir(dir);
}

/* ---- --version and the help of each command (issue 9) ---- */

Test(cli, version_names_the_engine_and_the_rule_set)
{
    char real[4096], want[8192];
    cr_assert_not_null(realpath(SR_SOURCE_DIR "/rules/spine-metastasis-lung/1.0.0", real));
    run_t r = run("--version --rules rules/spine-metastasis-lung/1.0.0");
    cr_assert_eq(r.status, 0, "%s", r.err);
    snprintf(want, sizeof want,
             "spinerules 0.1.0 (rule API level 1)\n"
             "rule set: spine-metastasis-lung 1.0.0 (approved)\n"
             "digest:   sha256:246784fca098352ab20b079682da47248f7780ba943e7ece60726d9acde7aaab\n"
             "folder:   %s\n",
             real);
    cr_assert_str_eq(r.out, want);
    cr_assert_str_eq(r.err, "");
    run_free(&r);
    /* without --rules: the default rule set, the one eval uses */
    r = run("--version");
    cr_assert_eq(r.status, 0, "%s", r.err);
    cr_assert(strncmp(r.out, "spinerules 0.1.0 (rule API level 1)\nrule set: spine-metastasis-lung ", 67) == 0, "%s",
              r.out);
    run_free(&r);
    cr_assert_not_null(realpath(SR_SOURCE_DIR "/tests/data/rulesets/spine-metastasis-lung/1.1.0", real));
    r = run("--version --rules tests/data/rulesets/spine-metastasis-lung");
    cr_assert_eq(r.status, 0, "%s", r.err);
    char *line = line_at(r.out, 1);
    cr_assert_str_eq(line, "rule set: spine-metastasis-lung 1.1.0 (draft)");
    free(line);
    line = line_at(r.out, 3);
    snprintf(want, sizeof want, "folder:   %s", real);
    cr_assert_str_eq(line, want);
    free(line);
    run_free(&r);
}

Test(cli, version_with_a_bad_rule_set_or_argument)
{
    run_t r = run("--version --rules no/such/dir");
    cr_assert_eq(r.status, 2);
    cr_assert_str_eq(r.out, "spinerules 0.1.0 (rule API level 1)\n");
    cr_assert_str_eq(r.err, "spinerules: error: no/such/dir: not a rule set (no manifest.yaml, and no version folder "
                            "holding one)\n");
    run_free(&r);
    r = run("--version --strict");
    cr_assert_eq(r.status, 2);
    cr_assert_str_eq(r.out, "");
    cr_assert_str_eq(r.err, "spinerules: unknown option '--strict'\ntry 'spinerules --help'\n");
    run_free(&r);
    r = run("--version --rules");
    cr_assert_eq(r.status, 2);
    cr_assert_str_eq(r.err, "spinerules: option '--rules' needs a value\ntry 'spinerules --help'\n");
    run_free(&r);
}

/* A command refuses the options of the others, by name (their help lists
 * what each takes). */
Test(cli, a_command_refuses_the_options_of_another)
{
    static const struct {
        const char *args, *option;
    } want[] = {
        {"rules --jobs 2", "--jobs"},
        {"rules --rules rules", "--rules"},
        {"verify --format yaml", "--format"},
        {"verify --no-progress", "--no-progress"},
        {"verify -o /dev/null", "-o"},
        {"eval --coverage docs/examples/cases.yaml", "--coverage"},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        run_t r = run(want[i].args);
        char err[256];
        snprintf(err, sizeof err,
                 "spinerules: option '%s' does not apply to this command (see its --help)\n"
                 "try 'spinerules --help'\n",
                 want[i].option);
        cr_assert_eq(r.status, 2, "%s", want[i].args);
        cr_assert_str_eq(r.out, "", "%s", want[i].args);
        cr_assert_str_eq(r.err, err, "%s", want[i].args);
        run_free(&r);
    }
    run_t r = run("verify --lang fr --jobs 2");
    cr_assert_eq(r.status, 2);
    cr_assert_str_eq(r.err, "spinerules: l'option '--lang' ne s'applique pas à cette commande (voir son --help)\n"
                            "essayez 'spinerules --help'\n");
    run_free(&r);
}

Test(cli, each_command_has_its_own_help)
{
    static const struct {
        const char *cmd, *usage, *has, *has_not;
    } want[] = {
        {"eval", "usage: spinerules eval [options] [FILE...|-]\n", "  -j, --jobs N ", "--coverage"},
        {"verify", "usage: spinerules verify [--rules DIR] [--coverage]\n", "  --coverage ", "--jobs"},
        {"check", "usage: spinerules check [--rules DIR] [--strict] [--lang fr|en]\n", "  --strict ", "--format"},
        {"rules", "usage: spinerules rules [DIR...]\n", "  -h, --help ", "--rules"},
        {"diff", "usage: spinerules diff --from DIR --to DIR [options] FILE...\n", "  --from DIR ", "--jobs"},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        char args[64];
        snprintf(args, sizeof args, "%s --help", want[i].cmd);
        run_t r = run(args);
        cr_assert_eq(r.status, 0, "%s", args);
        cr_assert_str_eq(r.err, "");
        cr_assert(strncmp(r.out, want[i].usage, strlen(want[i].usage)) == 0, "%s:\n%s", args, r.out);
        cr_assert_not_null(strstr(r.out, want[i].has), "%s", args);
        cr_assert_null(strstr(r.out, want[i].has_not), "%s names %s", args, want[i].has_not);
        snprintf(args, sizeof args, "help %s", want[i].cmd);
        run_t h = run(args);
        cr_assert_eq(h.status, 0);
        cr_assert_str_eq(h.out, r.out, "%s", args);
        run_free(&h);
        run_free(&r);
    }
    run_t r = run("help frobnicate");
    cr_assert_eq(r.status, 2);
    cr_assert_str_eq(r.err, "spinerules: unknown command 'frobnicate'\ntry 'spinerules --help'\n");
    run_free(&r);
}
