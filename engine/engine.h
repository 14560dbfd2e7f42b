/* engine.h -- private: the engine object shared by ruleset.c (loading) and
 * evaluate.c (per-case evaluation). */
#ifndef SR_ENGINE_H
#define SR_ENGINE_H

#include "reader.h"
#include "sandbox.h"
#include "schema.h"
#include "spinerules.h"
#include "validate.h"
#include "writer.h"

struct sr_engine {
    sr_sandbox_t sb;
    char *dir;          /* the rule set folder, as given */
    char *name;
    char *version;
    char *digest;       /* "sha256:<hex>" */
    char *case_schema;  /* as named by the manifest, or NULL */
    char *status;       /* draft | approved | retired */
    int prelude_ref;    /* the prelude's table P */
    int evaluate_ref;   /* P.evaluate */
    int ruleset_ref;    /* {name, version, digest} copied into every result */
    char *root;         /* the project root: the folder holding rules/ and schemas/ */
    sr_schema_t *case_sch; /* the case schema the manifest names, compiled */
    int jobs;           /* workers for eval_file; 0 = the number of cores */
    int progress;       /* show progress on stderr */
    sr_engine_t **workers; /* the extra engines of the workers, opened on demand */
    int nworkers;
    char lang[3];       /* language of readable outputs: "fr", "en" ("" = fr) */
};

/* The prelude source, embedded at build time from engine/prelude.lua. */
extern const char *const sr_prelude_lua;
extern const size_t sr_prelude_lua_len;

/* Evaluates the case table at the top of the stack (nulls already removed)
 * and replaces it with the result table. On a rule error, pops the case and
 * fills *d. [-1, +1 | +0] */
sr_status_t sr_engine_eval_top(sr_engine_t *e, sr_diag_t *d);

/* Pushes an error record {id, error = {message, path, line, column}} built
 * from d (id NULL writes null). [-0, +1, m] */
void sr_push_error_record(lua_State *L, const char *id, const sr_diag_t *d);

/* What the pipeline needs to know of one record, besides its bytes. */
typedef struct {
    int failed;          /* the record is an error record */
    char *id;            /* the case's id when it was read as a string (malloc'd), else NULL */
    size_t id_len;
    int id_line, id_col; /* where the id is */
} sr_rec_meta_t;

/* Reads the next document of rd, validates it, evaluates it and appends
 * its record (result or error record) to w; its diagnostics go to
 * diag_out (may be NULL). The file-wide duplicate-id check is left to the
 * caller, in input order (meta->id). Returns SR_OK (one record written,
 * meta filled; free meta->id), or SR_DONE at the end of input. */
sr_status_t sr_eval_document(sr_engine_t *e, sr_reader_t *rd, sr_writer_t *w, FILE *diag_out,
                             sr_rec_meta_t *meta);

/* The two halves of evaluating one case, for every way cases are read (the
 * reader, CSV rows, the library's single case). sr_eval_validate checks the
 * case at the top of the stack, read by rd (for positions; NULL when it was
 * not read by a reader), against the case schema and the engine checks
 * (ids: the duplicate check, may be NULL); relocate, when not NULL, rewrites
 * the positions of the problems before they are used (ud is its argument).
 * Fills *rep. SR_OK leaves the case [-0, +0]; otherwise pops it [-1, +0] and
 * fills *d from the first problem. sr_eval_validated then evaluates the
 * case, replacing it by its result with the warnings of rep added [-1, +1];
 * on a rule error pops it [-1, +0] and fills *d, pointed at file:doc_line
 * (the rule's position kept in the message). */
sr_status_t sr_eval_validate(sr_engine_t *e, const sr_reader_t *rd, const char *file, int doc_line,
                             sr_idset_t *ids, sr_case_report_t *rep,
                             void (*relocate)(sr_case_report_t *, void *), void *ud, sr_diag_t *d);
sr_status_t sr_eval_validated(sr_engine_t *e, const char *file, int doc_line, const sr_case_report_t *rep,
                              sr_diag_t *d);

/* sr_engine_eval_file for a CSV input (csvin.h): path, or len bytes at data
 * when data is not NULL (path then names it). One row, one case, one
 * record; evaluated in this engine, in order. */
sr_status_t sr_eval_csv_file(sr_engine_t *e, const char *path, const char *data, size_t len,
                             sr_output_format_t out_fmt, FILE *out, FILE *diag_out, sr_run_stats_t *stats,
                             sr_diag_t *d);

/* The duplicate-id check of an input could not check the case whose id is
 * at file:line:col (sr_idset_add returned -1 for ids): fills *d, when it
 * holds no problem yet, with what failed and from which case on the check
 * is incomplete. The run writes every result and, at its end, fails with
 * *d (exit status 2): a duplicate id from that case on may be unreported. */
void sr_eval_id_unchecked(sr_diag_t *d, const sr_idset_t *ids, const char *file, int line, int col);

/* Removes null values from the maps of the table at idx, recursively, so
 * rules see an unknown field as nil. [-0, +0] */
void sr_strip_nulls(lua_State *L, int idx);

#endif
