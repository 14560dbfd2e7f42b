/* report.c -- CSV rows and HTML cards built from result tables, with the
 * columns and item tables taken from the rule set's own description. */
#include "report.h"

#include <csv.h>
#include <lauxlib.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "lvalue.h"

#define REG_DESCRIBE "sr.report.describe"

sr_status_t sr_report_describe(sr_engine_t *e, sr_diag_t *d)
{
    lua_State *L = e->sb.L;
    if (lua_getfield(L, LUA_REGISTRYINDEX, REG_DESCRIBE) == LUA_TTABLE)
        return SR_OK;
    lua_pop(L, 1);
    if (!lua_checkstack(L, 4)) {
        sr_diag_set(d, SR_ERR_NOMEM, NULL, 0, 0, NULL, "out of memory");
        return SR_ERR_NOMEM;
    }
    lua_rawgeti(L, LUA_REGISTRYINDEX, e->prelude_ref);
    lua_getfield(L, -1, "describe");
    lua_remove(L, -2); /* P */
    if (!lua_isfunction(L, -1)) {
        lua_pop(L, 1);
        sr_diag_set(d, SR_ERR_RULE, "engine/prelude.lua", 0, 0, NULL, "the prelude has no function 'describe'");
        return SR_ERR_RULE;
    }
    sr_status_t st = sr_sandbox_run(&e->sb, 0, 1, d);
    if (st != SR_OK)
        return st;
    if (!lua_istable(L, -1)) {
        lua_pop(L, 1);
        sr_diag_set(d, SR_ERR_RULE, "engine/prelude.lua", 0, 0, NULL, "describe did not return a table");
        return SR_ERR_RULE;
    }
    lua_pushvalue(L, -1);
    lua_setfield(L, LUA_REGISTRYINDEX, REG_DESCRIBE);
    return SR_OK;
}

/* ---- small readers of Lua tables ---- */

/* t[key] as a string, or NULL. The string stays anchored by t. */
static const char *field_str(lua_State *L, int t, const char *key)
{
    const char *s = NULL;
    t = lua_absindex(L, t);
    if (lua_istable(L, t) && lua_getfield(L, t, key) == LUA_TSTRING)
        s = lua_tostring(L, -1);
    if (lua_istable(L, t))
        lua_pop(L, 1);
    return s;
}

/* The label of the table at t in lang (falling back on the other language). */
static const char *label_of(lua_State *L, int t, const char *lang)
{
    const char *s = field_str(L, t, lang);
    if (!s)
        s = field_str(L, t, strcmp(lang, "fr") == 0 ? "en" : "fr");
    return s;
}

/* ---- CSV ---- */

/* Appends one cell: bare when it needs no quotes, else quoted by libcsv. */
static void csv_cell(sr_buf_t *out, const char *s, size_t n, int first)
{
    if (!first)
        sr_buf_append(out, ",", 1);
    int quote = n > 0 && (s[0] == ' ' || s[n - 1] == ' ');
    for (size_t i = 0; i < n && !quote; i++)
        quote = s[i] == ',' || s[i] == '"' || s[i] == '\n' || s[i] == '\r' || s[i] == ';' || s[i] == '\t';
    if (!quote) {
        sr_buf_append(out, s, n);
        return;
    }
    size_t need = csv_write(NULL, 0, s, n);
    if (sr_buf_reserve(out, need + 1) != 0)
        return;
    out->len += csv_write(out->data + out->len, need, s, n);
    out->data[out->len] = '\0';
}

/* Calls fn(ud, header, path) for every column, from the description at the
 * top of the stack. Paths: "a.b" fields, "[i]" elements, "{id}" the element
 * whose id is id. */
typedef void (*column_fn)(void *ud, const char *header, const char *path);

static void each_column(lua_State *L, column_fn fn, void *ud)
{
    int desc = lua_gettop(L);
    char h[256], p[256];
    fn(ud, "id", "id");
    fn(ud, "recommendation", "recommendation");
    lua_getfield(L, desc, "outputs");
    int outs = lua_gettop(L);
    for (lua_Integer i = 1; lua_istable(L, outs) && lua_rawgeti(L, outs, i) == LUA_TTABLE; i++) {
        int o = lua_gettop(L);
        const char *name = field_str(L, o, "name"), *kind = field_str(L, o, "kind");
        if (!name || !kind) {
            lua_pop(L, 1);
            continue;
        }
        if (strcmp(kind, "classification") == 0) {
            const char *vk = field_str(L, o, "value_key"), *gives = field_str(L, o, "gives");
            if (vk) {
                snprintf(h, sizeof h, "%s.%s", name, vk);
                fn(ud, h, h);
            }
            if (gives) {
                snprintf(h, sizeof h, "%s.%s", name, gives);
                fn(ud, h, h);
            }
        } else if (strcmp(kind, "score") == 0) {
            int each = lua_getfield(L, o, "each") != LUA_TNIL;
            lua_pop(L, 1);
            const char *key = field_str(L, o, "key");
            lua_getfield(L, o, "bands");
            int bands = lua_gettop(L);
            int slots = each ? REPORT_SLOTS : 1;
            if (each) {
                snprintf(h, sizeof h, "%s.count", name);
                snprintf(p, sizeof p, "%s#", name);
                fn(ud, h, p);
            }
            for (int k = 0; k < slots; k++) {
                char hp[64], pp[64];
                if (each) {
                    snprintf(hp, sizeof hp, "%s%d", name, k + 1);
                    snprintf(pp, sizeof pp, "%s[%d]", name, k);
                } else {
                    snprintf(hp, sizeof hp, "%s", name);
                    snprintf(pp, sizeof pp, "%s", name);
                }
                const char *fields[] = {key, "total", "min", "max"};
                for (size_t f = 0; f < 4; f++) {
                    if (!fields[f])
                        continue;
                    snprintf(h, sizeof h, "%s.%s", hp, fields[f]);
                    snprintf(p, sizeof p, "%s.%s", pp, fields[f]);
                    fn(ud, h, p);
                }
                for (lua_Integer b = 1; lua_istable(L, bands) && lua_rawgeti(L, bands, b) == LUA_TTABLE; b++) {
                    const char *bn = field_str(L, -1, "name");
                    if (bn) {
                        snprintf(h, sizeof h, "%s.%s", hp, bn);
                        snprintf(p, sizeof p, "%s.%s", pp, bn);
                        fn(ud, h, p);
                    }
                    lua_pop(L, 1);
                }
                lua_settop(L, bands);
            }
        } else if (strcmp(kind, "contraindications") == 0) {
            lua_getfield(L, o, "entries");
            int en = lua_gettop(L);
            for (lua_Integer k = 1; lua_istable(L, en) && lua_rawgeti(L, en, k) == LUA_TTABLE; k++) {
                const char *id = field_str(L, -1, "id");
                if (id) {
                    snprintf(h, sizeof h, "%s.%s", name, id);
                    snprintf(p, sizeof p, "%s{%s}.status", name, id);
                    fn(ud, h, p);
                }
                lua_pop(L, 1);
            }
        }
        lua_settop(L, o - 1);
    }
    lua_settop(L, desc);
    fn(ud, "error", "error.message");
    fn(ud, "error.path", "error.path");
    fn(ud, "error.line", "error.line");
    fn(ud, "ruleset.version", "ruleset.version");
    fn(ud, "ruleset.digest", "ruleset.digest");
}

/* Pushes the value at path below the table at t, or nil ("name#" pushes the
 * length of the list name). [-0, +1] */
static void push_path(lua_State *L, int t, const char *path)
{
    lua_pushvalue(L, t);
    while (*path && !lua_isnil(L, -1)) {
        if (*path == '.') {
            path++;
            continue;
        }
        if (!lua_istable(L, -1)) {
            lua_pop(L, 1);
            lua_pushnil(L);
            return;
        }
        if (*path == '[') {
            long i = strtol(path + 1, (char **)&path, 10);
            path++; /* ] */
            lua_rawgeti(L, -1, (lua_Integer)i + 1);
        } else if (*path == '{') {
            const char *end = strchr(path, '}');
            if (!end)
                break;
            size_t n = (size_t)(end - path - 1);
            int list = lua_gettop(L), found = 0;
            for (lua_Integer i = 1; !found && lua_rawgeti(L, list, i) != LUA_TNIL; i++) {
                size_t m;
                const char *id = lua_getfield(L, -1, "id") == LUA_TSTRING ? lua_tolstring(L, -1, &m) : NULL;
                found = id && m == n && memcmp(id, path + 1, n) == 0;
                lua_pop(L, 1);
                if (!found)
                    lua_pop(L, 1);
            }
            if (!found)
                lua_pushnil(L);
            path = end + 1;
        } else if (*path == '#') {
            lua_pushinteger(L, sr_lv_isarray(L, -1) ? (lua_Integer)lua_rawlen(L, -1) : 0);
            path++;
        } else {
            size_t n = strcspn(path, ".[{#");
            lua_pushlstring(L, path, n);
            lua_rawget(L, -2);
            path += n;
        }
        lua_remove(L, -2);
    }
}

typedef struct {
    lua_State *L;
    sr_buf_t *out;
    int rec;
    int first;
} csvrow_t;

static void header_cell(void *ud, const char *header, const char *path)
{
    csvrow_t *c = ud;
    csv_cell(c->out, header, strlen(header), c->first);
    c->first = 0;
}

static void value_cell(void *ud, const char *header, const char *path)
{
    csvrow_t *c = ud;
    lua_State *L = c->L;
    push_path(L, c->rec, path);
    char num[64];
    const char *s = "";
    size_t n = 0;
    if (lua_type(L, -1) == LUA_TNUMBER) {
        if (lua_isinteger(L, -1))
            n = (size_t)snprintf(num, sizeof num, "%lld", (long long)lua_tointeger(L, -1));
        else
            n = (size_t)snprintf(num, sizeof num, "%.17g", (double)lua_tonumber(L, -1));
        s = num;
    } else if (lua_type(L, -1) == LUA_TSTRING) {
        s = lua_tolstring(L, -1, &n);
    } else if (lua_type(L, -1) == LUA_TBOOLEAN) {
        s = lua_toboolean(L, -1) ? "true" : "false";
        n = strlen(s);
    }
    /* the count of an error record is empty, not 0 */
    if (strchr(path, '#') && field_str(L, c->rec, "recommendation") == NULL)
        n = 0;
    csv_cell(c->out, s, n, c->first);
    c->first = 0;
    lua_pop(L, 1);
}

sr_status_t sr_csvout_header(sr_engine_t *e, sr_buf_t *out, sr_diag_t *d)
{
    lua_State *L = e->sb.L;
    sr_status_t st = sr_report_describe(e, d);
    if (st != SR_OK)
        return st;
    csvrow_t c = {L, out, 0, 1};
    each_column(L, header_cell, &c);
    lua_pop(L, 1);
    sr_buf_append(out, "\r\n", 2);
    return SR_OK;
}

sr_status_t sr_csvout_record(sr_engine_t *e, sr_buf_t *out, int idx, sr_diag_t *d)
{
    lua_State *L = e->sb.L;
    idx = lua_absindex(L, idx);
    sr_status_t st = sr_report_describe(e, d);
    if (st != SR_OK)
        return st;
    csvrow_t c = {L, out, idx, 1};
    each_column(L, value_cell, &c);
    lua_pop(L, 1);
    sr_buf_append(out, "\r\n", 2);
    return SR_OK;
}

/* ---- HTML ---- */

static void esc(sr_buf_t *b, const char *s)
{
    if (!s)
        return;
    for (; *s; s++) {
        switch (*s) {
        case '&': sr_buf_puts(b, "&amp;"); break;
        case '<': sr_buf_puts(b, "&lt;"); break;
        case '>': sr_buf_puts(b, "&gt;"); break;
        case '"': sr_buf_puts(b, "&quot;"); break;
        case '\'': sr_buf_puts(b, "&#39;"); break;
        default: sr_buf_append(b, s, 1);
        }
    }
}

/* Words of the page itself, in both languages. */
typedef struct {
    const char *key, *fr, *en;
} word_t;

static const word_t WORDS[] = {
    {"colon", " : ", ": "},
    {"title", "Chirurgie des métastases rachidiennes : aide à la décision",
     "Surgery for spinal metastases: decision support"},
    {"ruleset", "Jeu de règles", "Rule set"},
    {"engine", "moteur", "engine"},
    {"support", "Aide à la décision : chaque résultat se justifie, et ce qui n'est pas renseigné est signalé, "
                "jamais remplacé par une valeur par défaut. La décision revient à la réunion de concertation "
                "pluridisciplinaire.",
     "Decision support: every result explains itself, and what is not given is reported, never replaced by a "
     "default. The decision belongs to the multidisciplinary meeting."},
    {"case", "Cas", "Case"},
    {"cases", "cas", "cases"},
    {"recommendation", "Recommandation", "Recommendation"},
    {"reason", "Motif", "Reason"},
    {"caveats", "Réserves", "Caveats"},
    {"item", "Item", "Item"},
    {"row", "Valeur", "Value"},
    {"points", "Points", "Points"},
    {"total", "Total", "Total"},
    {"band", "Classe", "Band"},
    {"unknown", "inconnu", "unknown"},
    {"unknowns", "Données non renseignées", "Unknown inputs"},
    {"none_unknown", "aucune", "none"},
    {"range", "de %s à %s points", "%s to %s points"},
    {"contraindications", "Contre-indications", "Contraindications"},
    {"kind", "Type", "Kind"},
    {"status", "Statut", "Status"},
    {"source", "Source", "Source"},
    {"sources", "Sources", "Sources"},
    {"local_indications", "Indications locales", "Local indications"},
    {"complication_risk", "Risque de complications", "Complication risk"},
    {"technique_notes", "Notes techniques", "Technique notes"},
    {"missing_workup", "Bilan manquant", "Missing work-up"},
    {"levels", "niveaux", "levels"},
    {"error", "Erreur", "Error"},
    {"error_at", "à", "at"},
    {"warnings", "Avertissements", "Warnings"},
    {"base_risk", "risque de base", "base risk"},
    {"grade", "Grade", "Grade"},
    {"not_given", "non renseigné", "not given"},
    {"chapter", "Chapitre « Chirurgie des métastases osseuses rachidiennes » (cancer du poumon)",
     "Chapter \"Surgery for spinal bone metastases\" (lung cancer)"},
    /* statuses and kinds */
    {"present", "présente", "present"},
    {"absent", "absente", "absent"},
    {"applies", "s'applique", "applies"},
    {"does_not_apply", "ne s'applique pas", "does not apply"},
    {"missing", "manquant", "missing"},
    {"done", "fait", "done"},
    {"absolute", "absolue", "absolute"},
    {"relative", "relative", "relative"},
    /* recommendations */
    {"rec.contraindicated", "Chirurgie contre-indiquée", "Surgery contraindicated"},
    {"rec.indeterminate", "Indéterminée : données insuffisantes", "Indeterminate: not enough data"},
    {"rec.recommended", "Chirurgie recommandée", "Surgery recommended"},
    {"rec.case_by_case", "À discuter au cas par cas", "To be discussed case by case"},
    {"rec.unlikely_benefit", "Bénéfice d'une chirurgie très peu probable", "Benefit of surgery very unlikely"},
    {NULL, NULL, NULL},
};

static const char *word(const char *key, const char *lang)
{
    for (const word_t *w = WORDS; w->key; w++)
        if (strcmp(w->key, key) == 0)
            return strcmp(lang, "en") == 0 ? w->en : w->fr;
    return key;
}

static const char STYLE[] =
    ":root{--ink:#1b1f24;--muted:#5b6570;--line:#c9d1d9;--hit:#fff2b3;--hitline:#b58900;"
    "--present:#b3261e;--absent:#1f7a3a;--unknown:#8a6d00}\n"
    "*{box-sizing:border-box}\n"
    "body{font-family:'DejaVu Sans',Arial,Helvetica,sans-serif;color:var(--ink);margin:1.5rem auto;"
    "max-width:60rem;padding:0 1rem;font-size:11pt;line-height:1.35}\n"
    "header.page h1{font-size:1.4rem;margin:0 0 .3rem}\n"
    "header.page p{margin:.2rem 0;color:var(--muted)}\n"
    "article.case{border:1px solid var(--line);border-radius:6px;padding:.8rem 1rem;margin:1.2rem 0;"
    "break-inside:avoid-page}\n"
    "article.case h2{font-size:1.2rem;margin:0 0 .5rem;border-bottom:1px solid var(--line);padding-bottom:.3rem}\n"
    "article.case h3{font-size:1rem;margin:1rem 0 .3rem}\n"
    ".recommendation{font-size:1.1rem;padding:.4rem .6rem;border-left:6px solid var(--hitline);"
    "background:#f6f8fa;margin:.4rem 0}\n"
    ".rec-contraindicated{border-left-color:var(--present)}\n"
    ".rec-recommended{border-left-color:var(--absent)}\n"
    ".rec-indeterminate{border-left-color:var(--unknown)}\n"
    "table{border-collapse:collapse;width:100%;margin:.3rem 0;font-size:.95em}\n"
    "th,td{border:1px solid var(--line);padding:.2rem .4rem;text-align:left;vertical-align:top}\n"
    "th{background:#f0f3f6}\n"
    "td.num,th.num{text-align:right;width:4.5rem}\n"
    "tr.match td{background:var(--hit);font-weight:bold}\n"
    "tr.match td:first-child{box-shadow:inset 4px 0 0 var(--hitline)}\n"
    "tr.possible td{background:#f7f3e3;font-style:italic}\n"
    "tr.match td.item,tr.possible td.item{background:#fff;font-weight:normal;font-style:normal;box-shadow:none}\n"
    "tr.total td{font-weight:bold;background:#f0f3f6}\n"
    ".st-present{color:var(--present);font-weight:bold}\n"
    ".st-absent,.st-does_not_apply,.st-done{color:var(--absent)}\n"
    ".st-unknown,.st-missing{color:var(--unknown);font-weight:bold}\n"
    ".st-applies{color:var(--ink);font-weight:bold}\n"
    ".source{color:var(--muted);font-size:.85em}\n"
    ".unknowns{color:var(--unknown)}\n"
    ".error{border-color:var(--present)}\n"
    ".error .message{color:var(--present);font-weight:bold}\n"
    "ul{margin:.2rem 0 .2rem 1.2rem;padding:0}\n"
    "footer.page{color:var(--muted);font-size:.85em;border-top:1px solid var(--line);margin-top:2rem;"
    "padding-top:.5rem}\n"
    "@media print{\n"
    "  body{margin:0;max-width:none;font-size:9.5pt}\n"
    "  article.case{break-inside:auto;page-break-before:always;border:none;padding:0;margin:0}\n"
    "  article.case:first-of-type{page-break-before:auto}\n"
    "  section{break-inside:avoid}\n"
    "  *{-webkit-print-color-adjust:exact;print-color-adjust:exact}\n"
    "  a{color:inherit;text-decoration:none}\n"
    "}\n";

sr_status_t sr_html_begin(sr_engine_t *e, sr_buf_t *out, const char *lang, sr_diag_t *d)
{
    sr_buf_puts(out, "<!DOCTYPE html>\n<html lang=\"");
    esc(out, lang);
    sr_buf_puts(out, "\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" "
                     "content=\"width=device-width, initial-scale=1\">\n<title>");
    esc(out, word("title", lang));
    sr_buf_puts(out, " — ");
    esc(out, sr_engine_ruleset_name(e));
    sr_buf_puts(out, " ");
    esc(out, sr_engine_ruleset_version(e));
    sr_buf_puts(out, "</title>\n<style>\n");
    sr_buf_puts(out, STYLE);
    sr_buf_puts(out, "</style>\n</head>\n<body>\n<header class=\"page\">\n<h1>");
    esc(out, word("title", lang));
    sr_buf_puts(out, "</h1>\n<p class=\"ruleset\">");
    esc(out, word("ruleset", lang));
    sr_buf_puts(out, " <strong>");
    esc(out, sr_engine_ruleset_name(e));
    sr_buf_puts(out, " ");
    esc(out, sr_engine_ruleset_version(e));
    sr_buf_puts(out, "</strong> <code>");
    esc(out, sr_engine_ruleset_digest(e));
    sr_buf_puts(out, "</code> · spinerules " SR_VERSION "</p>\n<p>");
    esc(out, word("support", lang));
    sr_buf_puts(out, "</p>\n</header>\n<main>\n");
    return out->failed ? SR_ERR_NOMEM : SR_OK;
}

sr_status_t sr_html_end(sr_engine_t *e, sr_buf_t *out, const char *lang, sr_diag_t *d)
{
    sr_buf_puts(out, "</main>\n<footer class=\"page\"><p>");
    esc(out, word("sources", lang));
    sr_buf_puts(out, word("colon", lang));
    esc(out, word("chapter", lang));
    sr_buf_puts(out, ". ");
    esc(out, word("ruleset", lang));
    sr_buf_puts(out, " ");
    esc(out, sr_engine_ruleset_name(e));
    sr_buf_puts(out, " ");
    esc(out, sr_engine_ruleset_version(e));
    sr_buf_puts(out, ", ");
    esc(out, sr_engine_ruleset_digest(e));
    sr_buf_puts(out, ".</p></footer>\n</body>\n</html>\n");
    return out->failed ? SR_ERR_NOMEM : SR_OK;
}

static void source_span(sr_buf_t *out, const char *source)
{
    if (!source)
        return;
    sr_buf_puts(out, " <span class=\"source\">(");
    esc(out, source);
    sr_buf_puts(out, ")</span>");
}

static void status_span(sr_buf_t *out, const char *status, const char *lang)
{
    if (!status)
        return;
    sr_buf_puts(out, "<span class=\"st-");
    esc(out, status);
    sr_buf_puts(out, "\">");
    esc(out, word(status, lang));
    sr_buf_puts(out, "</span>");
}

static void int_or_blank(sr_buf_t *out, lua_State *L, int t, const char *key)
{
    if (lua_getfield(L, t, key) == LUA_TNUMBER)
        sr_buf_printf(out, "%lld", (long long)lua_tointeger(L, -1));
    lua_pop(L, 1);
}

/* The labels of the list at `levels` of the table at t, joined. */
static void levels_of(sr_buf_t *out, lua_State *L, int t, const char *lang)
{
    if (lua_getfield(L, t, "levels") == LUA_TTABLE && lua_rawlen(L, -1) > 0) {
        sr_buf_puts(out, " <span class=\"levels\">(");
        esc(out, word("levels", lang));
        for (lua_Integer i = 1; lua_rawgeti(L, -1, i) == LUA_TSTRING; i++) {
            sr_buf_puts(out, i == 1 ? " " : ", ");
            esc(out, lua_tostring(L, -1));
            lua_pop(L, 1);
        }
        lua_pop(L, 1);
        sr_buf_puts(out, ")</span>");
    }
    lua_pop(L, 1);
}

/* One score (the result at r, its description at sd): a table of every row
 * of every item, the matched rows highlighted, the possible rows of an
 * unknown item marked, then the total and the bands. Unknown item labels are
 * appended to unknowns. */
static void html_score(sr_buf_t *out, lua_State *L, int r, int sd, const char *lang, sr_buf_t *unknowns)
{
    int top = lua_gettop(L);
    sr_buf_puts(out, "<section class=\"score\">\n<h3>");
    esc(out, label_of(L, sd, lang));
    const char *key = field_str(L, sd, "key");
    if (key) {
        const char *kv = field_str(L, r, key);
        if (kv) {
            sr_buf_puts(out, " — ");
            esc(out, kv);
        }
    }
    source_span(out, field_str(L, sd, "source"));
    sr_buf_puts(out, "</h3>\n<table>\n<tr><th>");
    esc(out, word("item", lang));
    sr_buf_puts(out, "</th><th>");
    esc(out, word("row", lang));
    sr_buf_puts(out, "</th><th class=\"num\">");
    esc(out, word("points", lang));
    sr_buf_puts(out, "</th></tr>\n");
    lua_getfield(L, sd, "items");
    int items = lua_gettop(L);
    lua_getfield(L, r, "items");
    int ritems = lua_gettop(L);
    for (lua_Integer i = 1; lua_istable(L, items) && lua_rawgeti(L, items, i) == LUA_TTABLE; i++) {
        int it = lua_gettop(L);
        const char *name = field_str(L, it, "name");
        lua_getfield(L, it, "rows");
        int rows = lua_gettop(L);
        if (lua_istable(L, ritems) && name)
            lua_getfield(L, ritems, name);
        else
            lua_pushnil(L);
        int ri = lua_gettop(L);
        int unknown = 0;
        if (lua_istable(L, ri) && lua_getfield(L, ri, "unknown") == LUA_TBOOLEAN)
            unknown = lua_toboolean(L, -1);
        if (lua_istable(L, ri))
            lua_pop(L, 1);
        const char *mfr = NULL, *men = NULL;
        lua_Integer lo = 0, hi = -1;
        if (lua_istable(L, ri)) {
            if (lua_getfield(L, ri, "row") == LUA_TTABLE) {
                mfr = field_str(L, -1, "fr");
                men = field_str(L, -1, "en");
            }
            lua_pop(L, 1);
            if (lua_getfield(L, ri, "range") == LUA_TTABLE) {
                lua_rawgeti(L, -1, 1);
                lua_rawgeti(L, -2, 2);
                lo = lua_tointeger(L, -2);
                hi = lua_tointeger(L, -1);
                lua_pop(L, 2);
            }
            lua_pop(L, 1);
        }
        lua_Integer nrows = lua_istable(L, rows) ? (lua_Integer)lua_rawlen(L, rows) : 0;
        for (lua_Integer k = 1; k <= nrows; k++) {
            lua_rawgeti(L, rows, k);
            int row = lua_gettop(L);
            const char *rfr = field_str(L, row, "fr"), *ren = field_str(L, row, "en");
            int match = !unknown && ((mfr && rfr && strcmp(mfr, rfr) == 0) || (!mfr && men && ren && strcmp(men, ren) == 0));
            lua_getfield(L, row, "points");
            lua_Integer pts = lua_tointeger(L, -1);
            lua_pop(L, 1);
            int possible = unknown && pts >= lo && pts <= hi;
            sr_buf_printf(out, "<tr%s>", match ? " class=\"match\"" : possible ? " class=\"possible\"" : "");
            if (k == 1) {
                sr_buf_printf(out, "<td class=\"item\" rowspan=\"%lld\">", (long long)nrows);
                esc(out, label_of(L, it, lang));
                if (unknown) {
                    sr_buf_puts(out, " <span class=\"unknowns\">(");
                    esc(out, word("unknown", lang));
                    sr_buf_puts(out, ")</span>");
                }
                sr_buf_puts(out, "</td>");
            }
            sr_buf_puts(out, "<td>");
            esc(out, label_of(L, row, lang));
            sr_buf_printf(out, "</td><td class=\"num\">%lld</td></tr>\n", (long long)pts);
            lua_settop(L, row - 1);
        }
        if (unknown) {
            if (unknowns->len)
                sr_buf_puts(unknowns, ", ");
            esc(unknowns, label_of(L, it, lang));
            if (key && field_str(L, r, key)) {
                sr_buf_puts(unknowns, " (");
                esc(unknowns, field_str(L, r, key));
                sr_buf_puts(unknowns, ")");
            }
        }
        lua_settop(L, it - 1);
    }
    lua_settop(L, ritems);
    /* total */
    sr_buf_puts(out, "<tr class=\"total\"><td colspan=\"2\">");
    esc(out, word("total", lang));
    lua_getfield(L, r, "total");
    int has_total = lua_isinteger(L, -1);
    lua_pop(L, 1);
    if (!has_total) {
        char lo_s[24] = "", hi_s[24] = "", msg[120];
        lua_getfield(L, r, "min");
        lua_getfield(L, r, "max");
        snprintf(lo_s, sizeof lo_s, "%lld", (long long)lua_tointeger(L, -2));
        snprintf(hi_s, sizeof hi_s, "%lld", (long long)lua_tointeger(L, -1));
        lua_pop(L, 2);
        snprintf(msg, sizeof msg, word("range", lang), lo_s, hi_s);
        sr_buf_puts(out, " (");
        esc(out, msg);
        sr_buf_puts(out, ")");
    }
    sr_buf_puts(out, "</td><td class=\"num\">");
    if (has_total) {
        int_or_blank(out, L, r, "total");
    } else {
        int_or_blank(out, L, r, "min");
        sr_buf_puts(out, "–");
        int_or_blank(out, L, r, "max");
    }
    sr_buf_puts(out, "</td></tr>\n</table>\n");
    /* bands: each with its limits, the one reached highlighted */
    lua_getfield(L, sd, "bands");
    int bands = lua_gettop(L);
    for (lua_Integer i = 1; lua_istable(L, bands) && lua_rawgeti(L, bands, i) == LUA_TTABLE; i++) {
        int bd = lua_gettop(L);
        const char *bname = field_str(L, bd, "name");
        const char *got = bname ? field_str(L, r, bname) : NULL;
        sr_buf_puts(out, "<table class=\"bands\">\n<tr><th>");
        esc(out, word("band", lang));
        sr_buf_puts(out, " (");
        esc(out, bname);
        sr_buf_puts(out, ")</th><th class=\"num\">");
        esc(out, word("points", lang));
        sr_buf_puts(out, "</th></tr>\n");
        lua_getfield(L, bd, "list");
        int list = lua_gettop(L);
        for (lua_Integer k = 1; lua_istable(L, list) && lua_rawgeti(L, list, k) == LUA_TTABLE; k++) {
            const char *id = field_str(L, -1, "id");
            int match = got && id && strcmp(got, id) == 0;
            sr_buf_printf(out, "<tr%s><td>", match ? " class=\"match\"" : "");
            esc(out, label_of(L, -1, lang));
            sr_buf_puts(out, "</td><td class=\"num\">");
            esc(out, field_str(L, -1, "limits"));
            sr_buf_puts(out, "</td></tr>\n");
            lua_pop(L, 1);
        }
        if (got && strcmp(got, "indeterminate") == 0) {
            sr_buf_puts(out, "<tr class=\"match\"><td>");
            lua_getfield(L, r, "bands");
            if (lua_istable(L, -1) && lua_getfield(L, -1, bname) == LUA_TTABLE)
                esc(out, label_of(L, -1, lang));
            else
                esc(out, got);
            sr_buf_puts(out, "</td><td class=\"num\"></td></tr>\n");
        }
        sr_buf_puts(out, "</table>\n");
        lua_settop(L, bd - 1);
    }
    sr_buf_puts(out, "</section>\n");
    lua_settop(L, top);
}

/* A classification (Frankel): every row, the matched one highlighted. */
static void html_classification(sr_buf_t *out, lua_State *L, int r, int sd, const char *lang)
{
    int top = lua_gettop(L);
    const char *vk = field_str(L, sd, "value_key");
    const char *value = vk ? field_str(L, r, vk) : NULL;
    sr_buf_puts(out, "<section class=\"classification\">\n<h3>");
    esc(out, label_of(L, sd, lang));
    source_span(out, field_str(L, sd, "source"));
    sr_buf_puts(out, "</h3>\n<table>\n");
    const char *rfr = field_str(L, r, "fr"), *ren = field_str(L, r, "en");
    lua_getfield(L, sd, "rows");
    int rows = lua_gettop(L);
    for (lua_Integer k = 1; lua_istable(L, rows) && lua_rawgeti(L, rows, k) == LUA_TTABLE; k++) {
        const char *fr = field_str(L, -1, "fr"), *en = field_str(L, -1, "en");
        int match = value && ((rfr && fr && strcmp(rfr, fr) == 0) || (!rfr && ren && en && strcmp(ren, en) == 0));
        sr_buf_printf(out, "<tr%s><td>", match ? " class=\"match\"" : "");
        esc(out, field_str(L, -1, "when"));
        sr_buf_puts(out, "</td><td>");
        esc(out, label_of(L, -1, lang));
        sr_buf_puts(out, "</td><td>");
        esc(out, field_str(L, -1, "class"));
        sr_buf_puts(out, "</td></tr>\n");
        lua_pop(L, 1);
    }
    if (!value) {
        sr_buf_puts(out, "<tr class=\"possible\"><td colspan=\"3\">");
        esc(out, word("not_given", lang));
        sr_buf_puts(out, "</td></tr>\n");
    }
    sr_buf_puts(out, "</table>\n</section>\n");
    lua_settop(L, top);
}

/* A list of findings ({id, status, fr, en, source, levels}) as a table. */
static void html_findings(sr_buf_t *out, lua_State *L, int list, const char *title, const char *lang, int with_kind)
{
    if (!lua_istable(L, list))
        return;
    sr_buf_puts(out, "<section class=\"findings\">\n<h3>");
    esc(out, title);
    sr_buf_puts(out, "</h3>\n<table>\n");
    for (lua_Integer i = 1; lua_rawgeti(L, list, i) == LUA_TTABLE; i++) {
        int f = lua_gettop(L);
        const char *status = field_str(L, f, "status");
        sr_buf_printf(out, "<tr%s><td>", status && (strcmp(status, "present") == 0 || strcmp(status, "applies") == 0 ||
                                                    strcmp(status, "missing") == 0)
                                             ? " class=\"match\""
                                             : "");
        esc(out, label_of(L, f, lang));
        levels_of(out, L, f, lang);
        source_span(out, field_str(L, f, "source"));
        sr_buf_puts(out, "</td>");
        if (with_kind) {
            sr_buf_puts(out, "<td>");
            const char *kind = field_str(L, f, "kind");
            if (kind)
                esc(out, word(kind, lang));
            sr_buf_puts(out, "</td>");
        }
        sr_buf_puts(out, "<td>");
        status_span(out, status, lang);
        sr_buf_puts(out, "</td></tr>\n");
        lua_settop(L, f - 1);
    }
    lua_pop(L, 1);
    sr_buf_puts(out, "</table>\n</section>\n");
}

static void html_error(sr_buf_t *out, lua_State *L, int rec, const char *lang)
{
    sr_buf_puts(out, "<article class=\"case error\">\n<h2>");
    esc(out, word("case", lang));
    sr_buf_puts(out, " ");
    const char *id = field_str(L, rec, "id");
    esc(out, id ? id : "?");
    sr_buf_puts(out, "</h2>\n<p class=\"message\">");
    esc(out, word("error", lang));
    sr_buf_puts(out, word("colon", lang));
    lua_getfield(L, rec, "error");
    int er = lua_gettop(L);
    const char *path = field_str(L, er, "path");
    if (path) {
        esc(out, path);
        sr_buf_puts(out, word("colon", lang));
    }
    esc(out, field_str(L, er, "message"));
    if (lua_getfield(L, er, "line") == LUA_TNUMBER) {
        sr_buf_printf(out, " (%s %lld", word("error_at", lang), (long long)lua_tointeger(L, -1));
        if (lua_getfield(L, er, "column") == LUA_TNUMBER)
            sr_buf_printf(out, ":%lld", (long long)lua_tointeger(L, -1));
        lua_pop(L, 1);
        sr_buf_puts(out, ")");
    }
    lua_settop(L, er - 1);
    sr_buf_puts(out, "</p>\n</article>\n");
}

sr_status_t sr_html_record(sr_engine_t *e, sr_buf_t *out, int idx, const char *lang, sr_diag_t *d)
{
    lua_State *L = e->sb.L;
    int rec = lua_absindex(L, idx);
    int top = lua_gettop(L);
    if (!lua_checkstack(L, 24)) {
        sr_diag_set(d, SR_ERR_NOMEM, NULL, 0, 0, NULL, "out of memory");
        return SR_ERR_NOMEM;
    }
    if (lua_getfield(L, rec, "error") == LUA_TTABLE) {
        lua_pop(L, 1);
        html_error(out, L, rec, lang);
        return out->failed ? SR_ERR_NOMEM : SR_OK;
    }
    lua_pop(L, 1);
    sr_status_t st = sr_report_describe(e, d);
    if (st != SR_OK)
        return st;
    int desc = lua_gettop(L);
    const char *id = field_str(L, rec, "id");
    sr_buf_puts(out, "<article class=\"case\" id=\"case-");
    esc(out, id);
    sr_buf_puts(out, "\">\n<h2>");
    esc(out, word("case", lang));
    sr_buf_puts(out, " ");
    esc(out, id);
    sr_buf_puts(out, "</h2>\n");
    /* the recommendation first: what the meeting reads */
    const char *rec_code = field_str(L, rec, "recommendation");
    char key[96];
    snprintf(key, sizeof key, "rec.%s", rec_code ? rec_code : "");
    sr_buf_puts(out, "<p class=\"recommendation rec-");
    esc(out, rec_code);
    sr_buf_puts(out, "\"><span class=\"label\">");
    esc(out, word("recommendation", lang));
    sr_buf_puts(out, word("colon", lang));
    sr_buf_puts(out, "</span><strong>");
    esc(out, strcmp(word(key, lang), key) == 0 ? rec_code : word(key, lang));
    sr_buf_puts(out, "</strong>");
    if (lua_getfield(L, rec, "recommendation_reason") == LUA_TTABLE) {
        sr_buf_puts(out, "<br><span class=\"reason\">");
        esc(out, word("reason", lang));
        sr_buf_puts(out, word("colon", lang));
        esc(out, label_of(L, -1, lang));
        sr_buf_puts(out, "</span>");
        source_span(out, field_str(L, -1, "source"));
    }
    lua_pop(L, 1);
    sr_buf_puts(out, "</p>\n");
    if (lua_getfield(L, rec, "recommendation_caveats") == LUA_TTABLE && lua_rawlen(L, -1) > 0) {
        sr_buf_puts(out, "<p class=\"caveats\">");
        esc(out, word("caveats", lang));
        sr_buf_puts(out, strcmp(lang, "en") == 0 ? ":</p>\n<ul>\n" : " :</p>\n<ul>\n");
        for (lua_Integer i = 1; lua_rawgeti(L, -1, i) == LUA_TTABLE; i++) {
            sr_buf_puts(out, "<li>");
            esc(out, label_of(L, -1, lang));
            source_span(out, field_str(L, -1, "source"));
            sr_buf_puts(out, "</li>\n");
            lua_pop(L, 1);
        }
        lua_pop(L, 1);
        sr_buf_puts(out, "</ul>\n");
    }
    lua_pop(L, 1);
    /* every score and classification the rule set defines, in its order */
    sr_buf_t unknowns;
    sr_buf_init(&unknowns);
    lua_getfield(L, desc, "outputs");
    int outs = lua_gettop(L);
    for (lua_Integer i = 1; lua_istable(L, outs) && lua_rawgeti(L, outs, i) == LUA_TTABLE; i++) {
        int o = lua_gettop(L);
        const char *name = field_str(L, o, "name"), *kind = field_str(L, o, "kind");
        if (name && kind) {
            lua_getfield(L, rec, name);
            int r = lua_gettop(L);
            if (strcmp(kind, "score") == 0 && lua_istable(L, r)) {
                if (lua_getfield(L, o, "each") != LUA_TNIL) {
                    for (lua_Integer k = 1; lua_rawgeti(L, r, k) == LUA_TTABLE; k++) {
                        html_score(out, L, lua_gettop(L), o, lang, &unknowns);
                        lua_pop(L, 1);
                    }
                    lua_pop(L, 1);
                } else {
                    html_score(out, L, r, o, lang, &unknowns);
                }
                lua_pop(L, 1);
            } else if (strcmp(kind, "classification") == 0 && lua_istable(L, r)) {
                html_classification(out, L, r, o, lang);
                const char *vk = field_str(L, o, "value_key");
                if (vk && !field_str(L, r, vk)) {
                    if (unknowns.len)
                        sr_buf_puts(&unknowns, ", ");
                    esc(&unknowns, label_of(L, o, lang));
                }
            } else if (strcmp(kind, "contraindications") == 0) {
                html_findings(out, L, r, word("contraindications", lang), lang, 1);
            }
        }
        lua_settop(L, o - 1);
    }
    lua_settop(L, desc);
    sr_buf_puts(out, "<p class=\"unknowns\"><strong>");
    esc(out, word("unknowns", lang));
    sr_buf_puts(out, strcmp(lang, "en") == 0 ? ":</strong> " : " :</strong> ");
    if (unknowns.len)
        sr_buf_append(out, unknowns.data, unknowns.len);
    else
        esc(out, word("none_unknown", lang));
    sr_buf_puts(out, "</p>\n");
    sr_buf_free(&unknowns);
    /* what the meeting needs beside the decision */
    lua_getfield(L, rec, "local_indications");
    html_findings(out, L, lua_gettop(L), word("local_indications", lang), lang, 0);
    lua_settop(L, desc);
    if (lua_getfield(L, rec, "complication_risk") == LUA_TTABLE) {
        int cr = lua_gettop(L);
        sr_buf_puts(out, "<section class=\"risk\">\n<h3>");
        esc(out, word("complication_risk", lang));
        sr_buf_puts(out, word("colon", lang));
        int_or_blank(out, L, cr, "base_percent");
        sr_buf_puts(out, " % (");
        esc(out, word("base_risk", lang));
        sr_buf_puts(out, ")");
        source_span(out, field_str(L, cr, "source"));
        sr_buf_puts(out, "</h3>\n");
        if (lua_getfield(L, cr, "raised_by") == LUA_TTABLE) {
            sr_buf_puts(out, "<p>");
            esc(out, label_of(L, -1, lang));
            sr_buf_puts(out, word("colon", lang));
            status_span(out, field_str(L, -1, "status"), lang);
            sr_buf_puts(out, "</p>\n");
        }
        lua_pop(L, 1);
        lua_getfield(L, cr, "factors");
        html_findings(out, L, lua_gettop(L), label_of(L, cr, lang), lang, 0);
    }
    lua_settop(L, desc);
    lua_getfield(L, rec, "technique_notes");
    html_findings(out, L, lua_gettop(L), word("technique_notes", lang), lang, 0);
    lua_settop(L, desc);
    lua_getfield(L, rec, "missing_workup");
    html_findings(out, L, lua_gettop(L), word("missing_workup", lang), lang, 0);
    lua_settop(L, desc);
    if (lua_getfield(L, rec, "warnings") == LUA_TTABLE && lua_rawlen(L, -1) > 0) {
        sr_buf_puts(out, "<section class=\"warnings\">\n<h3>");
        esc(out, word("warnings", lang));
        sr_buf_puts(out, "</h3>\n<ul>\n");
        for (lua_Integer i = 1; lua_rawgeti(L, -1, i) == LUA_TTABLE; i++) {
            sr_buf_puts(out, "<li>");
            const char *path = field_str(L, -1, "path");
            if (path) {
                esc(out, path);
                sr_buf_puts(out, word("colon", lang));
            }
            esc(out, field_str(L, -1, "message"));
            sr_buf_puts(out, "</li>\n");
            lua_pop(L, 1);
        }
        lua_pop(L, 1);
        sr_buf_puts(out, "</ul>\n</section>\n");
    }
    sr_buf_puts(out, "</article>\n");
    lua_settop(L, top);
    return out->failed ? SR_ERR_NOMEM : SR_OK;
}

/* ---- public: what surrounds the records ---- */

sr_status_t sr_engine_set_lang(sr_engine_t *e, const char *lang)
{
    if (!lang || (strcmp(lang, "fr") != 0 && strcmp(lang, "en") != 0))
        return SR_ERR_USAGE;
    memcpy(e->lang, lang, 3);
    for (int i = 0; i < e->nworkers; i++)
        memcpy(e->workers[i]->lang, lang, 3);
    return SR_OK;
}

static sr_status_t write_around(sr_engine_t *e, sr_output_format_t fmt, FILE *out, int begin, sr_diag_t *d)
{
    const char *lang = e->lang[0] ? e->lang : "fr";
    sr_buf_t b;
    sr_buf_init(&b);
    sr_status_t st = SR_OK;
    if (fmt == SR_OUT_CSV && begin)
        st = sr_csvout_header(e, &b, d);
    else if (fmt == SR_OUT_HTML)
        st = begin ? sr_html_begin(e, &b, lang, d) : sr_html_end(e, &b, lang, d);
    if (st == SR_OK && b.failed) {
        st = SR_ERR_NOMEM;
        sr_diag_set(d, st, NULL, 0, 0, NULL, "out of memory");
    }
    if (st == SR_OK && b.len && fwrite(b.data, 1, b.len, out) != b.len) {
        st = SR_ERR_IO;
        sr_diag_set(d, st, NULL, 0, 0, NULL, "cannot write the results");
    }
    sr_buf_free(&b);
    return st;
}

sr_status_t sr_engine_write_begin(sr_engine_t *e, sr_output_format_t fmt, FILE *out, sr_diag_t *d)
{
    return write_around(e, fmt, out, 1, d);
}

sr_status_t sr_engine_write_end(sr_engine_t *e, sr_output_format_t fmt, FILE *out, sr_diag_t *d)
{
    return write_around(e, fmt, out, 0, d);
}
