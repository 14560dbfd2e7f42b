/* validate.h -- the input checks around the schema validator: a case is
 * checked against the rule set's case schema, then by the checks the schema
 * language cannot express (lesion levels, duplicate ids, a warning when
 * general_condition contradicts karnofsky); a rule set's manifest and golden
 * files against their schemas. Every problem has a path and a line:column.
 *
 * Messages of the engine checks (pinned by tests/data/invalid):
 *   spine.lesions[1].level: expected a level listed in spine.metastatic_levels (T11, T12), found 'L3'
 *   spine.lesions[1].level: expected one lesion per level, found 'T12' again (first at spine.lesions[0])
 *   id: expected a case id unique in this file, found 'P-1' again (first at line 3)
 *   (root): expected a case (a mapping with an 'id'), found null (an empty document)
 *   patient.general_condition (warning): 'good' contradicts karnofsky 30, which the revised
 *     Tokuhashi score (2005) rates poor (10-40); the given general_condition is used */
#ifndef SR_VALIDATE_H
#define SR_VALIDATE_H

#include <lua.h>
#include <stdio.h>

#include "idset.h" /* the ids of a file's cases, for the duplicate-id check */
#include "reader.h"
#include "schema.h"
#include "spinerules.h"

/* What the checks of one case found. */
typedef struct {
    sr_verrors_t errors;
    sr_verrors_t warnings;
    int no_nulls; /* 1 when the case is valid and holds no null anywhere (the
                     schema validation looked at every value): sr_strip_nulls
                     would find nothing to remove */
} sr_case_report_t;

void sr_case_report_init(sr_case_report_t *r);
void sr_case_report_reset(sr_case_report_t *r);
void sr_case_report_free(sr_case_report_t *r);

/* Checks the case at idx, read by rd (positions; may be NULL) at prefix (n
 * segments, up to 8; NULL, 0 when the case is the whole document), against
 * schema and the engine checks; ids may be NULL (no duplicate check). Fills
 * *rep (sorted by position). Returns SR_OK when the case may be evaluated
 * (it may still have warnings), SR_ERR_SCHEMA when it has errors,
 * SR_ERR_NOMEM. [-0, +0] */
sr_status_t sr_case_validate(const sr_schema_t *schema, lua_State *L, int idx, const sr_reader_t *rd,
                             const sr_pathseg_t *prefix, size_t nprefix, sr_idset_t *ids, sr_case_report_t *rep);

/* Prints every error and warning of rep, in position order, one a line:
 * "file:line:col: error: path: message" (as sr_diag_print does) or
 * "file:line:col: warning: path: message"; then, when some errors were not
 * kept, "file:line: note: N more errors not shown". */
void sr_case_report_print(const sr_case_report_t *rep, const char *file, int doc_line, FILE *f);

/* Fills d from the first error of e (file, position, path, message);
 * when there are more, d->note says how many. */
void sr_verrors_to_diag(const sr_verrors_t *e, const char *file, sr_diag_t *d);

/* Sets table[field] (table at index table) to a list of {message, path,
 * line, column} records, one per problem of e (path and position null when
 * unknown). Runs in protected mode: returns SR_OK or SR_ERR_NOMEM. [-0, +0] */
sr_status_t sr_verrors_set_field(lua_State *L, int table, const char *field, const sr_verrors_t *e);

/* The project root of a rule set folder: the nearest of its parent, grand-
 * parent and great-grandparent folders (rules/<name>/<version>/ sits three
 * levels below it) that holds schemas/manifest.schema.yaml; else the data
 * root of the running executable (<prefix>/share/spinerules, or the
 * executable's parent folder, as the CLI finds rules/) when it holds one.
 * Returns a malloc'd path, or NULL when there is none. */
char *sr_find_project_root(const char *rules_dir);

/* Loads <root>/schemas/<file> (or <root>/<file> when file holds a '/'), for
 * the schemas the engine itself needs. Same results as sr_schema_load. */
sr_status_t sr_load_schema_at(sr_schema_t **out, lua_State *L, const char *root, const char *file,
                              sr_diag_t *d);

/* For sr_engine_open: finds e->root from e->dir, validates the manifest at
 * man (read by rd from mpath) against schemas/manifest.schema.yaml, and
 * compiles the case schema it names into e->case_sch. [-0, +0] */
sr_status_t sr_engine_load_schemas(sr_engine_t *e, int man, const sr_reader_t *rd, const char *mpath,
                                   sr_diag_t *d);

/* Validates the document at idx, read by rd from file, against schema; on
 * errors fills *d from the first one (with a note counting the others) and
 * returns SR_ERR_SCHEMA. [-0, +0] */
sr_status_t sr_validate_document(const sr_schema_t *schema, lua_State *L, int idx, const sr_reader_t *rd,
                                 const char *file, sr_diag_t *d);

#endif
