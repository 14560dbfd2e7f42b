/* engine.h -- private: the engine object shared by ruleset.c (loading) and
 * evaluate.c (per-case evaluation). */
#ifndef SR_ENGINE_H
#define SR_ENGINE_H

#include "sandbox.h"
#include "schema.h"
#include "spinerules.h"

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
};

/* The prelude source, embedded at build time from engine/prelude.lua. */
extern const char *const sr_prelude_lua;
extern const size_t sr_prelude_lua_len;

/* Evaluates the case table at the top of the stack (nulls already removed)
 * and replaces it with the result table. On a rule error, pops the case and
 * fills *d. [-1, +1 | +0] */
sr_status_t sr_engine_eval_top(sr_engine_t *e, sr_diag_t *d);

/* Removes null values from the maps of the table at idx, recursively, so
 * rules see an unknown field as nil. [-0, +0] */
void sr_strip_nulls(lua_State *L, int idx);

#endif
