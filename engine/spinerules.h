/* spinerules.h -- the public API of the spinerules engine (the only public header).
 *
 * A rule set (a folder of Lua rule files plus manifest.yaml) is opened into an
 * engine; cases (YAML documents or JSON Lines) are read, evaluated in a
 * sandboxed Lua state, and written as results (JSON Lines or YAML); or a
 * program hands over one case as text and walks its result
 * (sr_engine_eval_case, docs/api.md).
 *
 * Ownership: every sr_x_open/sr_x_init has its sr_x_close/sr_x_free; strings
 * returned inside an sr_diag_t are owned by the diag and freed by
 * sr_diag_free. An engine is not thread-safe: use one engine per thread. */
#ifndef SPINERULES_H
#define SPINERULES_H

#include <stddef.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SR_VERSION "0.1.0"
#define SR_API_LEVEL 1

/* Result codes, shared by every module. */
typedef enum {
    SR_OK = 0,
    SR_DONE,        /* end of input: no more documents */
    SR_ERR_IO,      /* a file could not be read or written */
    SR_ERR_YAML,    /* malformed YAML or JSON, or a YAML feature refused */
    SR_ERR_SCHEMA,  /* a value does not match its schema */
    SR_ERR_RULE,    /* a rule file failed to load or to run */
    SR_ERR_LIMIT,   /* a size, depth, memory or time limit was hit */
    SR_ERR_NOMEM,   /* out of memory */
    SR_ERR_USAGE    /* bad arguments */
} sr_status_t;

/* One diagnostic: where (file, 1-based line and column, path inside the
 * document), what (message) and an optional note. line/column are 0 when
 * unknown; path is NULL when the error is not inside a document. */
typedef struct {
    sr_status_t status;
    char *file;
    int line;
    int column;
    char *path;
    char *message;
    char *note;
} sr_diag_t;

void sr_diag_init(sr_diag_t *d);
void sr_diag_free(sr_diag_t *d);
/* Prints "file:line:col: error: message" (and the note) to f. */
void sr_diag_print(const sr_diag_t *d, FILE *f);
const char *sr_status_name(sr_status_t s);

/* Input and output formats. CSV input is one case per row (docs/csv.md);
 * CSV output one row per case, HTML output one card per case of a page. */
typedef enum { SR_IN_AUTO = 0, SR_IN_YAML, SR_IN_JSONL, SR_IN_CSV } sr_input_format_t;
typedef enum { SR_OUT_JSONL = 0, SR_OUT_YAML, SR_OUT_CSV, SR_OUT_HTML, SR_OUT_TEXT } sr_output_format_t;

typedef struct sr_engine sr_engine_t;

/* Opens the rule set in rules_dir (a folder holding manifest.yaml): creates
 * the sandboxed Lua state, loads the prelude and every rule file once.
 * On failure returns an error code, fills *d, and *out is NULL. */
sr_status_t sr_engine_open(sr_engine_t **out, const char *rules_dir, sr_diag_t *d);
void sr_engine_close(sr_engine_t *e);

/* Rule set identity; strings owned by the engine. */
const char *sr_engine_ruleset_name(const sr_engine_t *e);
const char *sr_engine_ruleset_version(const sr_engine_t *e);
const char *sr_engine_ruleset_digest(const sr_engine_t *e); /* "sha256:<hex>" */
const char *sr_engine_ruleset_status(const sr_engine_t *e); /* draft | approved | retired */

/* Counters of one run. */
typedef struct {
    size_t cases;   /* records written */
    size_t failed;  /* of which error records */
} sr_run_stats_t;

/* Evaluates every case of one input (path, or "-" for stdin) and writes one
 * record per case, in input order, to out. Case errors become error records
 * (and a diagnostic on diag_out when not NULL); the run goes on. Returns
 * SR_OK when the input could be read to its end (check stats->failed for case
 * errors), else SR_ERR_IO or SR_ERR_NOMEM with *d filled -- also when every
 * record was written but the duplicate-id check could not check them all
 * (*d: from which case on, and why). */
sr_status_t sr_engine_eval_file(sr_engine_t *e, const char *path, sr_input_format_t in_fmt,
                                sr_output_format_t out_fmt, FILE *out, FILE *diag_out,
                                sr_run_stats_t *stats, sr_diag_t *d);

/* Workers used by sr_engine_eval_file: the input is cut into chunks at
 * document boundaries and evaluated by jobs engines in parallel (the extra
 * engines are opened from the same rule set when an input needs them);
 * records are still written in input order, byte for byte as with one
 * worker. 0 (the default) means one per core. */
void sr_engine_set_jobs(sr_engine_t *e, int jobs);
/* Shows a progress line on stderr during sr_engine_eval_file (cases done,
 * cases per second, errors, time left). Off by default. */
void sr_engine_set_progress(sr_engine_t *e, int on);

/* Language of the readable outputs (the HTML report): "fr" (the default)
 * or "en"; SR_ERR_USAGE for anything else. */
sr_status_t sr_engine_set_lang(sr_engine_t *e, const char *lang);

/* What a run in fmt writes before its first record and after its last one
 * (around every sr_engine_eval_file of the run): the header row of
 * SR_OUT_CSV, the head and the end of the SR_OUT_HTML page; nothing for
 * JSON Lines and YAML. SR_OK, or an error with *d filled. */
sr_status_t sr_engine_write_begin(sr_engine_t *e, sr_output_format_t fmt, FILE *out, sr_diag_t *d);
sr_status_t sr_engine_write_end(sr_engine_t *e, sr_output_format_t fmt, FILE *out, sr_diag_t *d);

/* Finds the default rule set: the newest version under
 * <root>/rules/spine-metastasis-lung/ where root is found from the executable
 * (its folder's parent, or <prefix>/share/spinerules). Returns a malloc'd path
 * the caller frees, or NULL. */
char *sr_default_rules_dir(const char *argv0);

/* ---- One case at a time (docs/api.md) ----
 *
 * A program that embeds the engine hands it one case as YAML or JSON text
 * and gets back a result: the record `spinerules eval` would write for the
 * case (result format v1, docs/case-format.md), walked with the path getters
 * below or taken whole as JSON text.
 *
 * Threads: an engine and the results it made are used by one thread at a
 * time; engines are independent of each other, so N threads evaluate
 * concurrently with one engine each (sr_engine_open in each thread, or
 * opened beforehand and handed over). A result lives in its engine (a Lua
 * table in the engine's state, counted in the engine's memory limit) until
 * sr_result_free, which must come before sr_engine_close. */
typedef struct sr_result sr_result_t;

/* Evaluates the one case in text (len bytes; need not end with a NUL).
 * fmt: SR_IN_YAML (one YAML document), SR_IN_JSONL (one JSON object, on
 * one line or several) or SR_IN_AUTO (JSON when the first non-blank byte
 * is '{', else YAML). Positions in diagnostics are lines and columns of
 * text; their file name is "<case>".
 *
 * Whatever the status, *out is NULL or a result the caller frees with
 * sr_result_free, and *d (when the status is not SR_OK) says what went
 * wrong; free it with sr_diag_free.
 *   SR_OK          the case was evaluated: *out is its result;
 *   SR_ERR_YAML    text is not YAML or JSON, or holds no case or more than
 *                  one (each case of a stream goes to its own call);
 *   SR_ERR_SCHEMA  the case is not valid (*d has the first problem, its
 *                  note counts the others);
 *   SR_ERR_RULE    a rule failed on the case (its file:line in the message);
 *   SR_ERR_LIMIT   the text or the evaluation went over a limit.
 *                  For these four, *out is the error record eval writes in
 *                  the case's place: {"id", "error": {"message", "path",
 *                  "line", "column"}}, with "errors" listing every problem
 *                  of a case that has several; sr_result_type(r, "error")
 *                  is then SR_TYPE_OBJECT.
 *   SR_ERR_USAGE   e or out is NULL, text is NULL with len > 0, or fmt is
 *                  SR_IN_CSV (CSV files go through sr_engine_eval_file):
 *                  *out is NULL;
 *   SR_ERR_NOMEM   out of memory: *out is NULL.
 * A valid case with warnings (general_condition contradicting karnofsky)
 * is SR_OK; its result lists them under "warnings". */
sr_status_t sr_engine_eval_case(sr_engine_t *e, const char *text, size_t len, sr_input_format_t fmt,
                                sr_result_t **out, sr_diag_t *d);

/* Frees r (NULL is allowed). Before its engine is closed. */
void sr_result_free(sr_result_t *r);

/* The result as JSON text: one line, no newline at the end, the same bytes
 * as its line of `spinerules eval --format jsonl` (keys in the same order).
 * Returns a malloc'd string the caller frees with free(), or NULL when
 * memory is short. Needs no Lua: the text was made by sr_engine_eval_case. */
char *sr_result_json(const sr_result_t *r);

/* JSON types of the values of a result. */
typedef enum {
    SR_TYPE_NONE = 0, /* no value at that path (absent key, index out of range, malformed path) */
    SR_TYPE_NULL,     /* null: an unknown value */
    SR_TYPE_BOOLEAN,
    SR_TYPE_INTEGER,
    SR_TYPE_NUMBER,   /* a number that is not an integer */
    SR_TYPE_STRING,
    SR_TYPE_ARRAY,
    SR_TYPE_OBJECT
} sr_type_t;

/* Path getters. A path names a value inside the result as the error paths
 * of the engine do: keys separated by '.', 0-based array indexes in
 * brackets -- "recommendation", "sins[0].category",
 * "contraindications[4].status", "tokuhashi.points.vertebrae"; "" or NULL
 * names the whole result. A path that names nothing (absent key, index out
 * of range, a key of an array, an index of an object, malformed) gives
 * SR_TYPE_NONE, and the getters below their "not found" answer. Getters
 * never fail otherwise: on a memory error they answer "not found" too.
 *
 * sr_result_type: the type of the value at path.
 * sr_result_string: the string at path, NUL-terminated (a string holding a
 *   NUL byte is cut there: sr_result_json has it whole), owned by r and
 *   valid until sr_result_free; NULL when the value is not a string.
 * sr_result_integer, sr_result_number, sr_result_boolean: the value at
 *   path; *ok (when not NULL) is 1 when it has that type, else 0 and the
 *   answer 0. sr_result_number also takes an integer (as a double).
 * sr_result_length: the elements of the array or the keys of the object at
 *   path; 0 for anything else.
 * sr_result_key: the i-th key (0-based) of the object at path, in the order
 *   of the JSON text; owned by r, valid until sr_result_free; NULL when the
 *   value is not an object or i >= its length. */
sr_type_t sr_result_type(const sr_result_t *r, const char *path);
const char *sr_result_string(const sr_result_t *r, const char *path);
long long sr_result_integer(const sr_result_t *r, const char *path, int *ok);
double sr_result_number(const sr_result_t *r, const char *path, int *ok);
int sr_result_boolean(const sr_result_t *r, const char *path, int *ok);
size_t sr_result_length(const sr_result_t *r, const char *path);
const char *sr_result_key(const sr_result_t *r, const char *path, size_t i);

#ifdef __cplusplus
}
#endif
#endif
