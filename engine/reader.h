/* reader.h -- turns a YAML stream or a JSON Lines file into Lua values, one
 * document at a time, straight from parser events (no intermediate tree),
 * keeping the line:column of every node so later errors can point at it. */
#ifndef SR_READER_H
#define SR_READER_H

#include <lua.h>
#include <stddef.h>

#include "spinerules.h"

typedef struct sr_reader sr_reader_t;

/* Per-document limits; a document that exceeds one is refused with
 * SR_ERR_LIMIT and the reader goes on with the next document. */
typedef struct {
    size_t max_depth;        /* nesting of mappings and sequences */
    size_t max_doc_bytes;    /* bytes in one document */
    size_t max_scalar_bytes; /* bytes in one scalar */
    size_t max_nodes;        /* nodes (scalars, mappings, sequences) in one document */
} sr_reader_limits_t;

/* The defaults: depth 64, 1 MiB per document, 64 KiB per scalar, 100,000 nodes. */
void sr_reader_default_limits(sr_reader_limits_t *lim);

/* One step of a path inside a document: a mapping key (key != NULL) or a
 * 0-based sequence index. */
typedef struct {
    const char *key;
    size_t key_len;
    long long index;
} sr_pathseg_t;

/* Opens path ("-" for standard input) or an in-memory buffer (not copied: it
 * must outlive the reader). fmt SR_IN_AUTO picks JSON Lines for .jsonl and
 * .ndjson files and for input whose first non-blank byte is '{', else YAML.
 * name is the file name used in diagnostics. lim may be NULL (defaults).
 * Returns SR_OK, or SR_ERR_IO/SR_ERR_NOMEM with *d filled. */
sr_status_t sr_reader_open(sr_reader_t **out, const char *path, sr_input_format_t fmt,
                           const sr_reader_limits_t *lim, sr_diag_t *d);
sr_status_t sr_reader_open_mem(sr_reader_t **out, const char *name, const char *data,
                               size_t len, sr_input_format_t fmt,
                               const sr_reader_limits_t *lim, sr_diag_t *d);
void sr_reader_close(sr_reader_t *r);

/* For input cut into chunks: the chunk starts after `lines` newlines of the
 * file, so positions are reported as in the whole file. Call before the
 * first sr_reader_next. */
void sr_reader_set_line_base(sr_reader_t *r, long long lines);

/* Reads the next document and pushes it onto L as a Lua value: mappings are
 * tables, sequences tables marked as arrays, null the null sentinel (see
 * lvalue.h); plain scalars resolve with the YAML 1.2 core schema (except that
 * integers with leading zeros stay strings). L must have had sr_lv_init.
 * Returns SR_OK [-0, +1]; SR_DONE at the end of input [-0, +0]; or an error
 * for this document [-0, +0] with *d filled (file, line, column, path), after
 * which the reader has moved on and the next call reads the next document.
 * Refused: anchors, aliases, tags, duplicate keys, non-string keys, invalid
 * UTF-8 and UTF-16 input, and documents over the limits.
 * Documents read on L tend to look alike: the first call makes a registry
 * entry on L (a userdata, freed with L) where every reader on L remembers
 * the keys met at each place in a document and the entry counts of its
 * tables, to within fixed bounds, so later documents are built faster. It
 * never changes what a document reads as. */
sr_status_t sr_reader_next(sr_reader_t *r, lua_State *L, sr_diag_t *d);

/* The text of the top-level "id" of the document last read (also after an
 * error, when the id was read before it), or NULL. Owned by the reader. */
const char *sr_reader_doc_id(const sr_reader_t *r);
/* 1-based line where the document last read starts. */
int sr_reader_doc_line(const sr_reader_t *r);
/* Name of the input used in diagnostics. */
const char *sr_reader_name(const sr_reader_t *r);
/* Input format actually used (after SR_IN_AUTO detection). */
sr_input_format_t sr_reader_format(const sr_reader_t *r);

/* Finds the node at path in the document last read and returns its 1-based
 * line and column; for a mapping entry, want_key selects the key's position
 * instead of the value's. When a step is missing, the position of the
 * deepest node found is returned and the result is the number of steps
 * matched; returns n when the whole path was found, -1 if there is no
 * document. */
int sr_reader_locate(const sr_reader_t *r, const sr_pathseg_t *path, size_t n, int want_key,
                     int *line, int *column);


/* Plain scalar resolution (YAML 1.2 core schema; leading-zero integers stay
 * strings). Shared with the YAML writer, which quotes any string that would
 * read back as something else. */
typedef enum { SR_SCALAR_STR, SR_SCALAR_NULL, SR_SCALAR_BOOL, SR_SCALAR_INT, SR_SCALAR_FLOAT } sr_scalar_kind_t;
typedef struct {
    sr_scalar_kind_t kind;
    int b;
    long long i;
    double f;
} sr_scalar_t;
void sr_resolve_plain(const char *s, size_t n, sr_scalar_t *out);

#endif
