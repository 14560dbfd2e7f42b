/* ruleset.h -- private: what ruleset.c offers besides opening an engine:
 * the rule files of a folder against its manifest's list, the canonical form
 * the digest covers, semantic version order, and the rule sets installed
 * under a rules/ folder (to list them, or to find one by its digest). */
#ifndef SR_RULESET_H
#define SR_RULESET_H

#include <lua.h>
#include <stddef.h>

#include "spinerules.h"

/* Loads the embedded prelude in L and calls it: pushes its table P. Returns
 * SR_OK [-0, +1], or an error with *d filled [-0, +0]. */
sr_status_t sr_prelude_load(lua_State *L, sr_diag_t *d);

/* Lets the engines this process opens after now load the prelude as the
 * bytecode of e's (lua_dump of the function e compiled from the embedded
 * source) instead of compiling it again. For e's own thread only, e idle;
 * a no-op after the first call. */
void sr_prelude_share(sr_engine_t *e);

/* sr_engine_open without the static checks of engine/lint.lua: for
 * `spinerules check`, which runs them all itself and reports every finding. */
sr_status_t sr_engine_open_unlinted(sr_engine_t **out, const char *rules_dir, sr_diag_t *d);

/* A list of malloc'd strings; free with sr_names_free. */
typedef struct {
    char **v;
    size_t n;
} sr_names_t;

void sr_names_free(sr_names_t *l);

/* Compares the rule files a manifest lists (listed[0..n-1]) with the .lua
 * files of dir (regular files directly in dir, hidden ones excluded). Fills
 * *absent with the listed names that are no regular file of dir (in listed
 * order) and *unlisted with the .lua files of dir that are not listed
 * (sorted bytewise); either may be NULL when not wanted. Both are
 * errors when a rule set is opened; `spinerules check` reports them too.
 * Returns SR_OK, or SR_ERR_IO (dir unreadable) / SR_ERR_NOMEM with *d filled
 * (the lists are then empty). */
sr_status_t sr_ruleset_files(const char *dir, const char *const *listed, size_t n, sr_names_t *absent,
                             sr_names_t *unlisted, sr_diag_t *d);

/* The canonical JSON of the value at idx (a manifest as the reader builds
 * it): no whitespace, object keys sorted bytewise (UTF-8), strings with only
 * '"', '\\' and the control characters escaped (\b \f \n \r \t, others as
 * \u00xx in lower case), integers in decimal, other numbers as "%.17g",
 * true, false, null. The same bytes as Python's json.dumps(value,
 * sort_keys=True, separators=(",", ":"), ensure_ascii=False) for such
 * values. Returns a malloc'd string (*len bytes, NUL-terminated), or NULL
 * when a value has no JSON form (a function, a non-string key, infinity,
 * nesting deeper than 64) or memory is short. [-0, +0] */
char *sr_canonical_json(lua_State *L, int idx, size_t *len);

/* Orders two semantic versions ("1.2.3", "1.2.3-rc1"): numeric parts as
 * numbers, a pre-release before its release. Returns <0, 0 or >0. */
int sr_semver_cmp(const char *a, const char *b);

/* One rule set version found under a rules/ folder. */
typedef struct {
    char *dir;     /* <rules>/<name>/<version> */
    char *name;    /* from the manifest; NULL when the rule set could not be opened */
    char *version;
    char *status;
    char *digest;  /* "sha256:<hex>" */
    sr_diag_t diag; /* why it could not be opened (diag.message NULL when it could) */
} sr_ruleset_info_t;

/* Opens every version folder <rules>/<name>/<version>/ holding a
 * manifest.yaml and records its identity (or the error that prevented
 * opening it). The list is sorted by folder name, then by version (semantic
 * order). Returns SR_OK with *out (free with sr_rulesets_free) and *n, or
 * SR_ERR_IO when rules cannot be read, with *d filled. */
sr_status_t sr_rulesets_scan(const char *rules, sr_ruleset_info_t **out, size_t *n, sr_diag_t *d);
void sr_rulesets_free(sr_ruleset_info_t *list, size_t n);

#endif
