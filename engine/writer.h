/* writer.h -- serializes result values (Lua tables) as JSON Lines or YAML
 * documents, with a stable key order, one record at a time. */
#ifndef SR_WRITER_H
#define SR_WRITER_H

#include <lua.h>

#include "spinerules.h"

typedef struct sr_writer sr_writer_t;

/* Registry key of the key-rank table (key name -> integer): map keys are
 * written by rank, then bytewise; keys without a rank come last. */
#define SR_REG_KEY_RANK "sr.key_rank"

/* A map key with its rank; sr_key_cmp orders keys as the writer writes
 * them: by rank, then bytewise (for qsort). */
typedef struct {
    const char *s;
    size_t len;
    lua_Integer rank;
} sr_key_t;
int sr_key_cmp(const void *a, const void *b);

sr_writer_t *sr_writer_new(sr_output_format_t fmt);
/* CSV and HTML records are built with the rule set's description and
 * language: set the engine whose Lua state will hold the records. */
void sr_writer_set_engine(sr_writer_t *w, sr_engine_t *e);
void sr_writer_free(sr_writer_t *w);

/* Serializes the value at idx as one record into the writer's buffer. On
 * failure (a value JSON cannot hold: function, NaN, non-string key, too
 * deep, invalid UTF-8) nothing is added and *d names the path.
 * [-0, +0] */
sr_status_t sr_writer_record(sr_writer_t *w, lua_State *L, int idx, sr_diag_t *d);

/* The bytes of the records serialized since the last clear. */
const char *sr_writer_data(const sr_writer_t *w, size_t *len);
void sr_writer_clear(sr_writer_t *w);
/* The bytes w's buffer holds allocated (what a cleared writer keeps for reuse). */
size_t sr_writer_capacity(const sr_writer_t *w);
/* Forgets the bytes after the first len (a record cut short). */
void sr_writer_truncate(sr_writer_t *w, size_t len);

/* Renders the value at idx as compact one-line JSON into a malloc'd string
 * (for messages); NULL on failure. [-0, +0] */
char *sr_writer_to_json(lua_State *L, int idx);

#endif
