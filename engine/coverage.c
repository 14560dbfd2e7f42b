/* coverage.c -- `verify --coverage`: which table rows, bands, contraindication
 * branches and decision paths the golden cases reach, and which no case can
 * reach at all (the prelude records and judges; this prints). */
#include "coverage.h"

#include <lauxlib.h>
#include <string.h>

#include "engine.h"

/* Calls P.<fn>() with nres results, under the sandbox's limits. [-0, +nres | +0] */
static sr_status_t call_prelude(sr_engine_t *e, const char *fn, int nres, sr_diag_t *d)
{
    lua_State *L = e->sb.L;
    lua_rawgeti(L, LUA_REGISTRYINDEX, e->prelude_ref);
    lua_getfield(L, -1, fn);
    lua_remove(L, -2); /* P */
    if (!lua_isfunction(L, -1)) {
        lua_pop(L, 1);
        sr_diag_set(d, SR_ERR_RULE, "engine/prelude.lua", 0, 0, NULL, "the prelude has no function '%s'", fn);
        return SR_ERR_RULE;
    }
    return sr_sandbox_run(&e->sb, 0, nres, d);
}

sr_status_t sr_coverage_start(sr_engine_t *e, sr_diag_t *d) { return call_prelude(e, "coverage_start", 0, d); }

static const struct {
    const char *category;
    const char *title;
} categories[] = {
    {"row", "table rows"},
    {"band", "bands"},
    {"contraindication", "contraindication branches"},
    {"decision", "decision paths"},
};
#define NCAT (sizeof categories / sizeof categories[0])

/* Field of the point at idx as a string, or "". [-0, +0] */
static const char *field(lua_State *L, int idx, const char *key)
{
    lua_getfield(L, idx, key);
    const char *s = lua_isstring(L, -1) ? lua_tostring(L, -1) : "";
    lua_pop(L, 1); /* the point keeps the string alive */
    return s;
}

static int flag(lua_State *L, int idx, const char *key)
{
    lua_getfield(L, idx, key);
    int b = lua_toboolean(L, -1);
    lua_pop(L, 1);
    return b;
}

/* Prints the points with reached == want_reached and reachable == want_reachable.
 * Positions are shown as "file.lua:line": rule files sit directly in the rule
 * set's folder (the manifest schema allows no '/' in their names), and Lua
 * shortens long chunk names from the left. */
static size_t print_points(lua_State *L, int points, lua_Integer n, int want_reached, int want_reachable,
                           FILE *out)
{
    size_t count = 0;
    for (lua_Integer i = 1; i <= n; i++) {
        lua_rawgeti(L, points, i);
        int p = lua_gettop(L);
        if (flag(L, p, "reached") == want_reached && flag(L, p, "reachable") == want_reachable) {
            const char *pos = field(L, p, "pos"), *why = field(L, p, "why");
            if (strrchr(pos, '/'))
                pos = strrchr(pos, '/') + 1;
            fprintf(out, "  %s%s%s\n", field(L, p, "id"), *pos ? "  " : "", pos);
            if (*why)
                fprintf(out, "      %s\n", why);
            count++;
        }
        lua_pop(L, 1);
    }
    return count;
}

sr_status_t sr_coverage_report(sr_engine_t *e, FILE *out, sr_coverage_stats_t *stats, sr_diag_t *d)
{
    lua_State *L = e->sb.L;
    memset(stats, 0, sizeof *stats);
    sr_status_t st = call_prelude(e, "coverage_report", 1, d);
    if (st != SR_OK)
        return st;
    int points = lua_gettop(L);
    if (!lua_istable(L, points)) {
        lua_pop(L, 1);
        sr_diag_set(d, SR_ERR_RULE, "engine/prelude.lua", 0, 0, NULL, "coverage_report did not return a list");
        return SR_ERR_RULE;
    }
    lua_Integer n = (lua_Integer)lua_rawlen(L, points);
    size_t reachable[NCAT] = {0}, reached[NCAT] = {0};
    for (lua_Integer i = 1; i <= n; i++) {
        lua_rawgeti(L, points, i);
        int p = lua_gettop(L);
        const char *cat = field(L, p, "category");
        size_t c = 0;
        while (c < NCAT && strcmp(categories[c].category, cat) != 0)
            c++;
        if (flag(L, p, "reachable")) {
            stats->reachable++;
            if (c < NCAT)
                reachable[c]++;
            if (flag(L, p, "reached")) {
                stats->reached++;
                if (c < NCAT)
                    reached[c]++;
            }
        } else {
            stats->unreachable++;
        }
        lua_pop(L, 1);
    }
    /* tenths, rounded down: 100.0 % only when every reachable point is reached */
    size_t tenths = stats->reachable ? stats->reached * 1000 / stats->reachable : 1000;
    fprintf(out, "coverage: %zu of %zu reachable points reached by the golden cases (%zu.%zu %%)\n",
            stats->reached, stats->reachable, tenths / 10, tenths % 10);
    for (size_t c = 0; c < NCAT; c++)
        fprintf(out, "  %-28s %zu of %zu\n", categories[c].title, reached[c], reachable[c]);
    size_t missed = stats->reachable - stats->reached;
    if (missed) {
        fprintf(out, "not reached by any golden case (%zu):\n", missed);
        print_points(L, points, n, 0, 1, out);
    } else {
        fputs("not reached by any golden case: none\n", out);
    }
    if (stats->unreachable) {
        fprintf(out, "reachable by no case at all (%zu):\n", stats->unreachable);
        print_points(L, points, n, 0, 0, out);
        print_points(L, points, n, 1, 0, out); /* cannot happen: the judgement would be wrong */
    } else {
        fputs("reachable by no case at all: none\n", out);
    }
    lua_pop(L, 1); /* the points */
    return SR_OK;
}
