/* golden.h -- runs a rule set's golden cases and reports every field that
 * differs from its expectation. */
#ifndef SR_GOLDEN_H
#define SR_GOLDEN_H

#include <stdio.h>

#include "spinerules.h"

typedef struct {
    size_t passed;
    size_t failed;
} sr_golden_stats_t;

/* Evaluates every document of <rules_dir>/golden/ *.yaml (files in name
 * order), each {name, description, case, expect}, and compares the result
 * with expect: maps compare the keys expect lists; arrays compare element by
 * element, except arrays of maps with an id, matched by id; numbers compare
 * by value. Then evaluates every golden case again in a shuffled order and
 * fails each whose result differs from the first time (rules keep no state
 * between cases). Prints each failure with its differing paths to out and
 * closes with "N passed, M failed". Returns SR_OK when the golden files could be
 * read (check stats->failed), else an error with *d filled. */
sr_status_t sr_golden_verify(sr_engine_t *e, const char *rules_dir, FILE *out, sr_golden_stats_t *stats,
                             sr_diag_t *d);

#endif
