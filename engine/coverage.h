/* coverage.h -- `spinerules verify --coverage`: what the golden cases reach
 * of a rule set, and what no case can reach. */
#ifndef SR_COVERAGE_H
#define SR_COVERAGE_H

#include <stdio.h>

#include "spinerules.h"

typedef struct {
    size_t reachable;   /* points some case can reach */
    size_t reached;     /* of which the evaluations since sr_coverage_start reached */
    size_t unreachable; /* points no case can reach (shown, not counted as missed) */
} sr_coverage_stats_t;

/* Starts recording, in e's prelude, every table row, band, contraindication
 * status and kind, and decision step outcome that each evaluation reaches.
 * Off until called; costs nothing when off. Returns SR_OK, or an error with
 * *d filled. */
sr_status_t sr_coverage_start(sr_engine_t *e, sr_diag_t *d);

/* Prints the coverage of the evaluations since sr_coverage_start:
 *   coverage: R of N reachable points reached by the golden cases (P %)
 *   then a line per category (table rows, bands, contraindication branches,
 *   decision paths), the points not reached ("not reached by any golden
 *   case"), and the points no case can reach, each with its position and
 *   why ("reachable by no case at all").
 * Fills *stats. Returns SR_OK, or an error with *d filled. */
sr_status_t sr_coverage_report(sr_engine_t *e, FILE *out, sr_coverage_stats_t *stats, sr_diag_t *d);

#endif
