/* check.h -- private: `spinerules check`, the static analysis of a rule set
 * (manifest, rule files, tables, bands, labels, sources, conditions, what
 * the sandbox would refuse), and the part of it every rule set goes through
 * when it is opened.
 *
 * A finding is printed "file:line:col: error: message" (or warning), in the
 * order of the files (manifest first, then the rule files in manifest order)
 * and of their lines. Columns count characters (UTF-8 code points) from 1;
 * line or column 0 means unknown and is left out. */
#ifndef SR_CHECK_H
#define SR_CHECK_H

#include <stdio.h>

#include "engine.h"
#include "spinerules.h"

typedef enum { SR_FINDING_ERROR = 0, SR_FINDING_WARNING } sr_finding_kind_t;

typedef struct {
    sr_finding_kind_t kind;
    char *file;    /* may be NULL */
    int line;
    int column;
    char *message;
    size_t seq;    /* order of discovery, the last sort key */
} sr_finding_t;

typedef struct {
    sr_finding_t *v;
    size_t n, cap;
    size_t errors, warnings;
    char **order;  /* file names in the order they sort (manifest, rule files) */
    size_t norder;
} sr_findings_t;

void sr_findings_init(sr_findings_t *f);
void sr_findings_free(sr_findings_t *f);
/* Adds a finding (file may be NULL). Returns 0, or -1 when memory is short. */
int sr_findings_add(sr_findings_t *f, sr_finding_kind_t kind, const char *file, int line, int column,
                    const char *fmt, ...) __attribute__((format(printf, 6, 7)));
/* Sorts by file (in the order sr_findings_order gave, others by name), line,
 * column, discovery. */
void sr_findings_sort(sr_findings_t *f);
/* Prints every finding, one a line, in the current language; file names
 * under the current directory are shown relative to it. */
void sr_findings_print(const sr_findings_t *f, FILE *out);

/* Runs every check on the rule set folder dir and fills *f (sorted).
 * Returns SR_OK when the analysis could run to its end (the findings say
 * what is wrong), else SR_ERR_NOMEM with *d filled. */
sr_status_t sr_check_ruleset(const char *dir, sr_findings_t *f, sr_diag_t *d);

/* Runs engine/lint.lua on the rule set open in e: the static checks, and the
 * probes when probe is set (check only: they evaluate generated cases).
 * Appends to *f. Returns SR_OK, or an error with *d filled when the checker
 * itself could not run. */
sr_status_t sr_lint_engine(sr_engine_t *e, int probe, sr_findings_t *f, sr_diag_t *d);

/* For sr_engine_open: the static checks; a rule set with errors is refused
 * with SR_ERR_RULE, *d holding the first error (file:line:col) and a note
 * counting the others. Warnings are left to `spinerules check`. With
 * $SPINERULES_CACHE set to a private folder (absolute path), a clean verdict
 * is recorded there and the checks are skipped when this build has already
 * found no error in the same rule set (digest) with the same case schema
 * (check.c, "The verdict cache", says why a forged entry cannot change a
 * result). */
sr_status_t sr_lint_at_open(sr_engine_t *e, sr_diag_t *d);

/* The embedded checker, from engine/lint.lua, and its probes (compiled for
 * `spinerules check` only), from engine/probe.lua. */
extern const char *const sr_lint_lua;
extern const size_t sr_lint_lua_len;
extern const char *const sr_probe_lua;
extern const size_t sr_probe_lua_len;

#endif
