/* test_editor.c -- end-to-end: the clinical editor's tools (issue 8):
 * check's exit statuses and languages, readable results, messages in
 * French. The exact findings are pinned by tests/data/broken-rulesets and
 * the exact texts by tests/data/text. */
#include <criterion/criterion.h>

#include "harness.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef SR_BINARY
#error "SR_BINARY must name the built executable"
#endif


#define SHIPPED "rules/spine-metastasis-lung/1.0.0"

/* The shipped rule set has no error; its two warnings are facts an editor
 * should know: an empty list of involved vertebrae reads as unknown, and
 * with the lung primary at 0 points over_12_months cannot be reached. */
Test(check, the_shipped_rule_set_is_clean_but_for_two_facts)
{
    run_t r = run("check --rules " SHIPPED);
    cr_assert_eq(r.status, 0, "%s%s", r.out, r.err);
    cr_assert_str_eq(r.err, "");
    cr_assert(strstr(r.out, SHIPPED "/tokuhashi.lua:"), "paths are relative to the current folder: %s", r.out);
    cr_assert(strstr(r.out, ": warning: item 'vertebrae' of tokuhashi: the input gives 0 "
                            "({spine.metastatic_levels = []}), which no row holds"), "%s", r.out);
    cr_assert(strstr(r.out, ": warning: band 'over_12_months' of tokuhashi.survival cannot be reached: it starts at "
                            "12, and the highest total the rows give is 10 (general_condition 2 + neuro_deficit 2 + "
                            "primary 0 + vertebrae 2 + extraspinal_bone 2 + visceral 2), out of a declared maximum of "
                            "15; primary gives at most 0 of its 5\n"), "%s", r.out);
    const char *last = strrchr(r.out, '\n');
    cr_assert(last && last > r.out);
    cr_assert(strstr(r.out, "\n0 errors, 2 warnings\n"), "%s", r.out);
    run_free(&r);

    r = run("check --strict --rules " SHIPPED);
    cr_assert_eq(r.status, 1, "--strict fails on warnings");
    run_free(&r);
}

/* Lua shortens chunk names longer than 60 bytes ("...end/of/path"): the
 * findings still name the whole path, with a column. */
Test(check, long_paths_are_named_whole)
{
    run_t r = run("check --rules tests/data/rulesets/spine-metastasis-lung/1.1.0");
    cr_assert_eq(r.status, 0, "%s%s", r.out, r.err);
    const char *at = strstr(r.out, "tests/data/rulesets/spine-metastasis-lung/1.1.0/tokuhashi.lua:");
    cr_assert(at == r.out, "%s", r.out);
    int line = 0, col = 0;
    cr_assert_eq(sscanf(at + strlen("tests/data/rulesets/spine-metastasis-lung/1.1.0/tokuhashi.lua:"), "%d:%d:",
                        &line, &col), 2, "%s", r.out);
    cr_assert(line > 0 && col > 0);
    cr_assert(!strstr(r.out, "..."), "%s", r.out);
    run_free(&r);
}

Test(check, in_french)
{
    run_t r = run("check --lang fr --rules " SHIPPED);
    cr_assert_eq(r.status, 0);
    cr_assert(strstr(r.out, ": avertissement: la bande 'over_12_months' de tokuhashi.survival ne peut pas être "
                            "atteinte : elle commence à 12"), "%s", r.out);
    cr_assert(strstr(r.out, "\n0 erreur, 2 avertissements\n"), "%s", r.out);
    run_free(&r);
}

Test(check, usage)
{
    run_t r = run("check --rules");
    cr_assert_eq(r.status, 2);
    cr_assert_str_eq(r.err, "spinerules: option '--rules' needs a value\ntry 'spinerules --help'\n");
    run_free(&r);
    r = run("check --lang de");
    cr_assert_eq(r.status, 2);
    cr_assert_str_eq(r.err, "spinerules: unknown language 'de' (expected fr or en)\ntry 'spinerules --help'\n");
    run_free(&r);
    r = run("check --rules docs");
    cr_assert_eq(r.status, 2);
    cr_assert_str_eq(r.err, "spinerules: error: docs: not a rule set (no manifest.yaml, and no version folder "
                            "holding one)\n");
    run_free(&r);
}

/* The text of a result: French unless asked otherwise (the rule set's
 * labels are the chapter's French); the same engine in English. */
Test(text, french_by_default_english_on_request)
{
    run_t r = run("eval --format text tests/data/text/full.yaml");
    cr_assert_eq(r.status, 0, "%s", r.err);
    cr_assert(strncmp(r.out, "========================================================================\n"
                             "Cas P-0001 — règles spine-metastasis-lung 1.0.0\n", 124) == 0, "%s", r.out);
    cr_assert(strstr(r.out, "\nRecommandation : bénéfice d'une neurochirurgie très peu probable (unlikely_benefit)\n"));
    run_free(&r);
    r = run("eval --format text --lang en tests/data/text/full.yaml");
    cr_assert_eq(r.status, 0);
    cr_assert(strstr(r.out, "\nRecommendation: benefit of surgery very unlikely (unlikely_benefit)\n"), "%s", r.out);
    run_free(&r);
}

/* Workers write the same text as one engine, in input order. */
Test(text, the_same_with_workers)
{
    run_t one = run("eval --format text --jobs 1 docs/examples/cases.yaml");
    run_t two = run("eval --format text --jobs 2 docs/examples/cases.yaml");
    cr_assert_eq(one.status, 0);
    cr_assert_str_eq(one.out, two.out);
    run_free(&one);
    run_free(&two);
}

/* Messages: English by default (the other tests pin it), French on request;
 * a result keeps the validator's English message (results are data). */
Test(messages, in_french_on_request)
{
    run_t r = run("eval --lang fr --frobnicate x.yaml");
    cr_assert_eq(r.status, 2);
    cr_assert_str_eq(r.err, "spinerules: option inconnue '--frobnicate'\nessayez 'spinerules --help'\n");
    run_free(&r);
    r = run("eval --lang fr tests/data/text/errors.yaml");
    cr_assert_eq(r.status, 1);
    cr_assert_str_eq(r.err,
                     "tests/data/text/errors.yaml:4:11: erreur: patient.karnofksy: champ inconnu 'karnofksy' "
                     "(vouliez-vous dire 'karnofsky' ?)\n"
                     "tests/data/text/errors.yaml:7:45: avertissement: patient.general_condition: 'good' contredit "
                     "l'indice de Karnofsky 30, que le score de Tokuhashi révisé (2005) classe poor (10-40) ; le "
                     "general_condition donné est retenu\n");
    cr_assert(strncmp(r.out, "{\"id\":\"E-1\",\"error\":{\"message\":\"unknown field 'karnofksy' (did you mean "
                             "'karnofsky'?)\"", 82) == 0, "%s", r.out);
    run_free(&r);
    r = run("eval --lang fr no/such/file.yaml");
    cr_assert_eq(r.status, 2);
    cr_assert_str_eq(r.err, "no/such/file.yaml: erreur: ouverture impossible : No such file or directory\n");
    run_free(&r);
}
