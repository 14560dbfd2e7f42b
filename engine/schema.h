/* schema.h -- JSON Schema (a 2020-12 subset), read at run time from a YAML or
 * JSON file, compiled once into C structures, then used to validate Lua
 * values (cases, manifests, golden files, results) quickly and completely.
 *
 * Keywords supported (anything else is refused when the schema is loaded,
 * with its file:line:column, never ignored):
 *   assertions   type, enum, const, required, properties, additionalProperties,
 *                items (one schema, the 2020-12 form), minItems, maxItems,
 *                uniqueItems, minimum, maximum, exclusiveMinimum,
 *                exclusiveMaximum (numbers, the 2020-12 form), multipleOf,
 *                minLength, maxLength, pattern, $ref (to a JSON pointer inside
 *                the same file: "#", "#/$defs/name", ...), $defs, allOf,
 *                anyOf, oneOf, not; and the boolean schemas true and false
 *   annotations  description, title, $comment, examples, default (never
 *                applied: a missing input is never filled in), $schema (root
 *                only, must name 2020-12), $id (root only)
 *
 * Semantics follow JSON Schema: 1.0 is an integer; numbers compare by value;
 * lengths count Unicode code points. Differences, on purpose:
 *   - non-finite numbers (.inf, .nan, which JSON cannot hold) match neither
 *     "number" nor "integer", and fail every numeric bound;
 *   - pattern is a POSIX extended regular expression (regcomp REG_EXTENDED,
 *     unanchored search as in ECMA-262), after a translation of the common
 *     ECMA-262 escapes: \d \D \w \W \s \S (outside brackets; \d \w \s inside),
 *     \. \\ \/ and the other escaped metacharacters, \n \r \t, (?:...) as a
 *     group, lazy quantifiers as greedy ones (same yes/no answer), and '.' as
 *     "any byte but \n or \r". Refused at load: lookaround, backreferences,
 *     \b \B \p \u \x \c, named groups, \] \- \^ and \D \W \S inside brackets.
 *     '.' and brackets match bytes, not characters: keep patterns to ASCII;
 *   - multipleOf on integers is exact; on other numbers a quotient within
 *     1e-9 (relative) of an integer counts as a multiple;
 *   - $id is refused below the root (no base-URI changes), and $ref must be
 *     a fragment of the same file (no remote or anchor references).
 *
 * Error messages (the validator's wording, pinned by tests):
 *   expected integer or null, found string 'sixty'
 *   expected one of poor, moderate, good or null, found string 'god' (did you mean 'good'?)
 *   expected 'lung', found string 'breast'                       (const, or a one-value enum)
 *   unknown field 'karnofksy' (did you mean 'karnofsky'?)
 *   unknown field 'x'; allowed fields: a, b, c
 *   missing required field 'id'
 *   expected at least 10, found 5           at most / more than / less than
 *   expected a multiple of 10, found 65
 *   expected at least 1 character, found 0  at most N characters
 *   expected a string matching the pattern '^[0-9]+$', found 'x1'
 *   expected at least 1 item, found 0       at most N items
 *   expected unique items, found string 'T12' again (first at index 0)
 *   expected a value matching at least one of 2 alternatives, found ...: (1) ...; (2) ...
 *   expected a value matching exactly one of 2 alternatives, found ... matching 1 and 2
 *   expected a value not matching the schema at '#/not', found ...
 *   no value is allowed here, found ...
 * A found value is written "string 'x'", "integer 5", "number 5.5",
 * "boolean true", "null", "a list of 3 items" or "a mapping"; strings are
 * cut at 60 bytes and control characters escaped. A suggestion is offered
 * when a valid name or value is within a small edit distance (optimal
 * string alignment, ignoring ASCII case): up to 5 equally close ones. */
#ifndef SR_SCHEMA_H
#define SR_SCHEMA_H

#include <lua.h>
#include <stddef.h>

#include "reader.h"
#include "spinerules.h"
#include "util.h"

typedef struct sr_schema sr_schema_t;

/* One validation problem. path is "spine.lesions[1].collapse" ("" for the
 * whole document); line and column are 1-based, 0 when unknown. */
typedef struct {
    char *path;
    char *message;
    int line;
    int column;
    size_t seq; /* order of discovery, the tie-breaker when sorting */
} sr_verror_t;

/* Errors of one validation, plus scratch space reused from one validation to
 * the next (so a run of a million cases allocates only for the errors). */
typedef struct {
    sr_verror_t *v;
    size_t n, cap;
    size_t max;       /* errors kept; further ones are only counted (default 100) */
    size_t dropped;   /* errors counted but not kept */
    size_t seq;
    int no_nulls;     /* set by each validation: 1 when it looked at every value
                         (every field of every mapping, every item of every list)
                         and met no null */
    /* scratch */
    sr_pathseg_t *segs;
    size_t nsegs, segs_cap;
    unsigned char *seen;
    size_t seen_len, seen_cap;
    sr_buf_t msg, first;
} sr_verrors_t;

void sr_verrors_init(sr_verrors_t *e);
void sr_verrors_free(sr_verrors_t *e);
/* Forgets the errors, keeps the allocations. */
void sr_verrors_reset(sr_verrors_t *e);
/* Total errors found (kept + dropped). */
size_t sr_verrors_count(const sr_verrors_t *e);
/* Adds an error at the node named by the n segments of path, positioned with
 * rd (the reader that read the value; may be NULL); want_key points a mapping
 * entry's error at its key. Returns 0, or -1 when memory is short. */
int sr_verrors_add(sr_verrors_t *e, const sr_reader_t *rd, const sr_pathseg_t *path, size_t n,
                   int want_key, const char *fmt, ...) __attribute__((format(printf, 6, 7)));
/* Sorts the errors by line, column, then discovery order. */
void sr_verrors_sort(sr_verrors_t *e);
/* Returns "spine.lesions[1].collapse" for the n segments; malloc'd, or NULL. */
char *sr_path_string(const sr_pathseg_t *path, size_t n);

/* Reads the schema file at path (YAML or JSON, one document) and compiles
 * it. L is used for the temporary Lua values only (the compiled schema does
 * not refer to L and may validate values of any state). On failure returns
 * SR_ERR_IO, SR_ERR_YAML, SR_ERR_SCHEMA (with the schema file's line:column
 * and the path of the offending keyword) or SR_ERR_NOMEM, fills *d, and
 * *out is NULL. The caller frees *out with sr_schema_free. */
sr_status_t sr_schema_load(sr_schema_t **out, lua_State *L, const char *path, sr_diag_t *d);

/* While on (per state), sr_schema_load keeps the document it read from each
 * path (the Lua table, before compiling) so that a later reader of the same
 * file in the same state gets it from sr_schema_kept_doc instead of parsing
 * the file again: sr_engine_open's checker reads the case schema the engine
 * has just compiled. Turning it off drops every document kept. */
void sr_schema_keep_docs(lua_State *L, int on);
/* Pushes the document sr_schema_load kept for path and returns 1, or pushes
 * nothing and returns 0 when none is kept. [-0, +(0|1)] */
int sr_schema_kept_doc(lua_State *L, const char *path);

/* Compiles the schema value at idx (a table or a boolean), as read by rd
 * (for positions in messages; may be NULL). name is the file name used in
 * messages. Same results as sr_schema_load. [-0, +0] */
sr_status_t sr_schema_compile(sr_schema_t **out, lua_State *L, int idx, const char *name,
                              const sr_reader_t *rd, sr_diag_t *d);

void sr_schema_free(sr_schema_t *s);

/* The file name the schema was loaded from. */
const char *sr_schema_name(const sr_schema_t *s);

/* Validates the value at idx (JSON values as lvalue.h represents them; Lua
 * nil counts as null) and appends every error to errs, positioned with rd
 * when not NULL, then sorts them. Returns SR_OK when the value is valid,
 * SR_ERR_SCHEMA when errors were added, SR_ERR_NOMEM when memory ran short
 * (an error saying so is added when possible). Runs in protected mode, so it
 * never raises. [-0, +0] */
sr_status_t sr_schema_validate(const sr_schema_t *s, lua_State *L, int idx, const sr_reader_t *rd,
                               sr_verrors_t *errs);

/* The same for a value found at prefix (n segments) inside the document rd
 * read: paths and positions include the prefix. [-0, +0] */
sr_status_t sr_schema_validate_at(const sr_schema_t *s, lua_State *L, int idx, const sr_reader_t *rd,
                                  const sr_pathseg_t *prefix, size_t nprefix, sr_verrors_t *errs);

/* 1 when the value at idx is valid, 0 when not, -1 on a memory error. Stops at
 * the first error and builds no message: the fast yes/no answer. [-0, +0] */
int sr_schema_check(const sr_schema_t *s, lua_State *L, int idx);

/* Appends how a message shows the value at idx ("string 'x'", "integer 5",
 * "a mapping", ...) to b. [-0, +0] */
void sr_schema_describe(sr_buf_t *b, lua_State *L, int idx);
/* Appends s quoted as messages quote it: 'text', escaped and cut. */
void sr_schema_quote(sr_buf_t *b, const char *s, size_t n);

#endif
