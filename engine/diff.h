/* diff.h -- `spinerules diff`: the same cases under two rule sets, and what
 * changes, in the rules' structure and in each case's clinical fields. */
#ifndef SR_DIFF_H
#define SR_DIFF_H

#include <stdio.h>

#include "spinerules.h"

typedef enum { SR_DIFF_TEXT = 0, SR_DIFF_MARKDOWN, SR_DIFF_JSON } sr_diff_format_t;

typedef struct {
    const char *from;          /* the two rule set version folders */
    const char *to;
    const char *const *files;  /* the case files (each is read three times: not "-") */
    int nfiles;
    sr_input_format_t input_format;
    sr_diff_format_t format;
    FILE *out;                 /* the report */
    FILE *diag_out;            /* diagnostics of invalid cases (under `from`); may be NULL */
} sr_diff_opts_t;

/* Opens both rule sets (two engines, two Lua states), compares their
 * structures (P.describe), evaluates every case of every file under both,
 * and writes the report to o->out: the rule changes (rows added or removed,
 * points, band limits, labels, contraindication kinds and conditions,
 * decision steps), the cases whose clinical fields changed grouped by
 * transition of each field ("tokuhashi.surgery: case_by_case -> recommended
 * 2 cases") with the cases listed, each such case with its field changes,
 * and, for the cases whose clinical fields did not change, the other paths
 * of their results that differ (labels, sources, explanations). The logic
 * and the text and Markdown layouts are in engine/diff.lua.
 * Returns SR_OK with *changed = the number of cases whose clinical fields
 * changed, or an error with *d filled (a rule set or a case file that cannot
 * be opened, out of memory). */
sr_status_t sr_diff_run(const sr_diff_opts_t *o, size_t *changed, sr_diag_t *d);

#endif
