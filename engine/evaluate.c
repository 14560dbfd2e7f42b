/* evaluate.c -- runs the rule set over cases: one case in, one record out,
 * in input order; case errors become error records and the run goes on. */
#include <errno.h>
#include <lauxlib.h>
#include <stdlib.h>
#include <string.h>

#include "csvin.h"
#include "engine.h"
#include "lvalue.h"
#include "reader.h"
#include "util.h"
#include "validate.h"
#include "writer.h"

void sr_strip_nulls(lua_State *L, int idx)
{
    idx = lua_absindex(L, idx);
    if (!lua_checkstack(L, 6))
        return;
    int is_array = -1; /* asked at the first null: most tables hold none */
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        int t = lua_type(L, -1);
        if (t == LUA_TLIGHTUSERDATA && sr_lv_isnull(L, -1)) {
            if (is_array < 0)
                is_array = sr_lv_isarray(L, idx);
            if (!is_array) {
                lua_pushvalue(L, -2);
                lua_pushnil(L);
                lua_rawset(L, idx); /* clearing a present field is allowed during lua_next */
            }
        } else if (t == LUA_TTABLE) {
            sr_strip_nulls(L, -1);
        }
        lua_pop(L, 1);
    }
}

sr_status_t sr_engine_eval_top(sr_engine_t *e, sr_diag_t *d)
{
    lua_State *L = e->sb.L;
    int c = lua_gettop(L);
    lua_rawgeti(L, LUA_REGISTRYINDEX, e->evaluate_ref);
    lua_pushvalue(L, c);
    sr_status_t st = sr_sandbox_run(&e->sb, 1, 1, d);
    if (st != SR_OK) {
        lua_pop(L, 1); /* the case */
        return st;
    }
    if (!lua_istable(L, -1) || sr_lv_isarray(L, -1)) {
        sr_diag_set(d, SR_ERR_RULE, "engine/prelude.lua", 0, 0, NULL,
                    "evaluate returned a %s, not a result table", sr_lv_typename(L, -1));
        lua_pop(L, 2);
        return SR_ERR_RULE;
    }
    if ((st = sr_sandbox_check_result(&e->sb, -1, d)) != SR_OK) {
        lua_pop(L, 2);
        return st;
    }
    lua_getfield(L, c, "id");
    lua_setfield(L, -2, "id");
    lua_rawgeti(L, LUA_REGISTRYINDEX, e->ruleset_ref);
    lua_setfield(L, -2, "ruleset");
    lua_remove(L, c); /* the case */
    return SR_OK;
}

void sr_push_error_record(lua_State *L, const char *id, const sr_diag_t *d)
{
    lua_createtable(L, 0, 2);
    if (id)
        lua_pushstring(L, id);
    else
        sr_lv_push_null(L);
    lua_setfield(L, -2, "id");
    lua_createtable(L, 0, 5);
    lua_pushstring(L, d->message ? d->message : sr_status_name(d->status));
    lua_setfield(L, -2, "message");
    if (d->path && d->path[0])
        lua_pushstring(L, d->path);
    else
        sr_lv_push_null(L);
    lua_setfield(L, -2, "path");
    if (d->line > 0)
        lua_pushinteger(L, d->line);
    else
        sr_lv_push_null(L);
    lua_setfield(L, -2, "line");
    if (d->column > 0)
        lua_pushinteger(L, d->column);
    else
        sr_lv_push_null(L);
    lua_setfield(L, -2, "column");
    lua_setfield(L, -2, "error");
}

/* Writes the error record of cd (and, for an invalid case, all its errors)
 * into w. [-0, +0] */
static void write_error_record(lua_State *L, sr_writer_t *w, const char *id, const sr_diag_t *cd,
                               const sr_case_report_t *rep, int invalid)
{
    int top = lua_gettop(L);
    sr_push_error_record(L, id, cd);
    if (invalid && sr_verrors_count(&rep->errors) > 1)
        sr_verrors_set_field(L, -1, "errors", &rep->errors); /* on failure, the record keeps its first error */
    sr_diag_t wd;
    sr_diag_init(&wd);
    if (sr_writer_record(w, L, -1, &wd) != SR_OK) {
        lua_settop(L, top);
        lua_createtable(L, 0, 2);
        lua_pushstring(L, "invalid error record (the case id is not valid UTF-8)");
        lua_setfield(L, -2, "message");
        sr_writer_record(w, L, -1, &wd);
    }
    sr_diag_free(&wd);
    lua_settop(L, top);
}

sr_status_t sr_eval_validate(sr_engine_t *e, const sr_reader_t *rd, const char *file, int doc_line,
                             sr_idset_t *ids, sr_case_report_t *rep,
                             void (*relocate)(sr_case_report_t *, void *), void *ud, sr_diag_t *d)
{
    lua_State *L = e->sb.L;
    /* every case is validated before any rule sees it */
    sr_case_report_reset(rep);
    sr_status_t rs = sr_case_validate(e->case_sch, L, -1, rd, NULL, 0, ids, rep);
    if (relocate)
        relocate(rep, ud);
    if (rs == SR_ERR_SCHEMA)
        sr_verrors_to_diag(&rep->errors, file, d);
    else if (rs != SR_OK)
        sr_diag_set(d, rs, file, doc_line, 0, NULL, "out of memory while validating the case");
    if (rs != SR_OK)
        lua_pop(L, 1); /* the case */
    return rs;
}

sr_status_t sr_eval_validated(sr_engine_t *e, const char *file, int doc_line, const sr_case_report_t *rep,
                              sr_diag_t *d)
{
    lua_State *L = e->sb.L;
    if (!rep->no_nulls)
        sr_strip_nulls(L, -1);
    sr_status_t rs = sr_engine_eval_top(e, d);
    if (rs != SR_OK && !d->file) {
        free(d->file);
        d->file = sr_strdup(file);
        d->line = doc_line;
    }
    if (rs == SR_OK && rep->warnings.n && sr_verrors_set_field(L, -1, "warnings", &rep->warnings) != SR_OK) {
        lua_pop(L, 1); /* the result */
        rs = SR_ERR_NOMEM;
        sr_diag_set(d, rs, file, doc_line, 0, NULL, "out of memory adding the warnings to the result");
    }
    if ((rs == SR_ERR_RULE || rs == SR_ERR_LIMIT) && d->file && d->line > 0 && strcmp(d->file, file) != 0) {
        /* a rule failed: keep the rule's position in the message, and point
         * the record at the case */
        char *msg = sr_asprintf("rule error: %s:%d: %s", d->file, d->line, d->message ? d->message : "");
        free(d->message);
        d->message = msg;
        free(d->file);
        d->file = sr_strdup(file);
        d->line = doc_line;
        d->column = 0;
    }
    return rs;
}

sr_status_t sr_eval_document(sr_engine_t *e, sr_reader_t *rd, sr_writer_t *w, FILE *diag_out,
                             sr_rec_meta_t *meta)
{
    lua_State *L = e->sb.L;
    sr_diag_t cd;
    sr_diag_init(&cd);
    sr_case_report_t rep;
    sr_case_report_init(&rep);
    memset(meta, 0, sizeof *meta);
    int top = lua_gettop(L);
    sr_status_t rs = sr_reader_next(rd, L, &cd);
    if (rs == SR_DONE)
        goto done;
    int invalid = 0; /* the case failed validation: its problems are in rep */
    if (rs == SR_OK) {
        /* the id, for the file-wide duplicate check done in input order */
        if (lua_istable(L, -1) && !sr_lv_isarray(L, -1)) {
            if (lua_getfield(L, -1, "id") == LUA_TSTRING) {
                size_t n;
                const char *id = lua_tolstring(L, -1, &n);
                meta->id = sr_strndup(id, n);
                meta->id_len = n;
                sr_pathseg_t seg = {"id", 2, 0};
                if (sr_reader_locate(rd, &seg, 1, 0, &meta->id_line, &meta->id_col) < 1)
                    meta->id_line = meta->id_col = 0;
            }
            lua_pop(L, 1); /* the id */
        }
        rs = sr_eval_validate(e, rd, sr_reader_name(rd), sr_reader_doc_line(rd), NULL, &rep, NULL, NULL, &cd);
        if (diag_out)
            sr_case_report_print(&rep, sr_reader_name(rd), sr_reader_doc_line(rd), diag_out);
        invalid = rs == SR_ERR_SCHEMA;
        if (rs == SR_OK)
            rs = sr_eval_validated(e, sr_reader_name(rd), sr_reader_doc_line(rd), &rep, &cd);
        if (rs == SR_OK) {
            rs = sr_writer_record(w, L, -1, &cd);
            if (rs != SR_OK) {
                /* the result cannot be written: say where in the result */
                char *msg = sr_asprintf("invalid result at '%s': %s", cd.path ? cd.path : "",
                                        cd.message ? cd.message : "");
                free(cd.message);
                cd.message = msg;
                free(cd.path);
                cd.path = NULL;
                free(cd.file);
                cd.file = sr_strdup(sr_reader_name(rd));
                cd.line = sr_reader_doc_line(rd);
            }
        }
        lua_settop(L, top);
    }
    if (rs != SR_OK) {
        if (diag_out && !invalid) /* a case's problems were printed above */
            sr_diag_print(&cd, diag_out);
        write_error_record(L, w, sr_reader_doc_id(rd), &cd, &rep, invalid);
        meta->failed = 1;
        rs = SR_OK;
    }
done:
    lua_settop(L, top);
    sr_diag_free(&cd);
    sr_case_report_free(&rep);
    return rs;
}

void sr_eval_id_unchecked(sr_diag_t *d, const sr_idset_t *ids, const char *file, int line, int col)
{
    if (d->status != SR_OK)
        return;
    const char *why = NULL;
    int err = sr_idset_error(ids, &why);
    sr_diag_set(d, err == ENOMEM ? SR_ERR_NOMEM : SR_ERR_IO, file, line, col, "id",
                "cannot check that case ids are unique from this case on: %s", why ? why : "out of memory");
    free(d->note);
    d->note = sr_strdup("every result was written, but a duplicate id from here on may have gone unreported");
}

sr_status_t sr_eval_csv_file(sr_engine_t *e, const char *path, const char *data, size_t len,
                             sr_output_format_t out_fmt, FILE *out, FILE *diag_out, sr_run_stats_t *stats,
                             sr_diag_t *d)
{
    lua_State *L = e->sb.L;
    sr_csvin_t *c = NULL;
    sr_writer_t *w = sr_writer_new(out_fmt);
    sr_idset_t *ids = sr_idset_new(); /* case ids are unique within one file */
    sr_case_report_t rep;
    sr_case_report_init(&rep);
    sr_diag_t cd, unchecked; /* unchecked: the duplicate-id check failed */
    sr_diag_init(&cd);
    sr_diag_init(&unchecked);
    sr_status_t st;
    int top = lua_gettop(L);
    if (!w || !ids) {
        st = SR_ERR_NOMEM;
        sr_diag_set(d, st, NULL, 0, 0, NULL, "out of memory");
        goto done;
    }
    sr_writer_set_engine(w, e);
    if ((st = sr_csvin_open(&c, L, path, data, len, sr_schema_name(e->case_sch), d)) != SR_OK)
        goto done;
    e->sb.log_out = diag_out; /* the rules' log() goes with the diagnostics */
    const char *name = sr_csvin_name(c);
    for (;;) {
        sr_status_t rs = sr_csvin_next(c, L, &cd);
        if (rs == SR_DONE)
            break;
        if (rs != SR_OK && sr_csvin_fatal(c)) {
            /* the rest of the file cannot be read: a file error */
            sr_diag_free(d);
            *d = cd;
            sr_diag_init(&cd);
            st = rs;
            goto done;
        }
        int row = sr_csvin_doc_line(c), invalid = 0;
        sr_case_report_reset(&rep);
        const char *id = sr_csvin_doc_id(c);
        int first = 0, dup = rs == SR_OK && id ? sr_idset_add(ids, id, strlen(id), row, &first) : 0;
        if (dup < 0)
            sr_eval_id_unchecked(&unchecked, ids, name, row, 0);
        if (dup == 1) {
            lua_settop(L, top); /* the case */
            rs = SR_ERR_SCHEMA;
            sr_diag_set(&cd, rs, name, row, 0, "id",
                        "expected a case id unique in this file, found '%s' again (first at row %d)", id, first);
        }
        if (rs == SR_OK) {
            rs = sr_eval_validate(e, NULL, name, row, NULL, &rep, sr_csvin_relocate, c, &cd);
            invalid = rs == SR_ERR_SCHEMA;
            if (diag_out)
                sr_csvin_report_print(&rep, name, row, diag_out);
            if (rs == SR_OK)
                rs = sr_eval_validated(e, name, row, &rep, &cd);
            if (rs == SR_OK) {
                rs = sr_writer_record(w, L, -1, &cd);
                if (rs != SR_OK) {
                    char *msg = sr_asprintf("invalid result at '%s': %s", cd.path ? cd.path : "",
                                            cd.message ? cd.message : "");
                    sr_diag_set(&cd, rs, name, row, 0, NULL, "%s", msg ? msg : "invalid result");
                    free(msg);
                }
            }
            lua_settop(L, top);
        }
        if (rs != SR_OK) {
            if (diag_out && !invalid)
                sr_csvin_diag_print(&cd, diag_out);
            sr_push_error_record(L, sr_csvin_doc_id(c), &cd);
            if (invalid && sr_verrors_count(&rep.errors) > 1)
                sr_verrors_set_field(L, -1, "errors", &rep.errors);
            sr_diag_t wd;
            sr_diag_init(&wd);
            sr_writer_record(w, L, -1, &wd);
            sr_diag_free(&wd);
            lua_settop(L, top);
            if (stats)
                stats->failed++;
        }
        sr_diag_free(&cd);
        if (stats)
            stats->cases++;
        size_t n;
        const char *bytes = sr_writer_data(w, &n);
        if (n >= (1u << 16)) {
            if (fwrite(bytes, 1, n, out) != n) {
                st = SR_ERR_IO;
                sr_diag_set(d, st, NULL, 0, 0, NULL, "cannot write the results");
                goto done;
            }
            sr_writer_clear(w);
        }
    }
    st = SR_OK;
done:
    if (w) {
        size_t n;
        const char *bytes = sr_writer_data(w, &n);
        if (n && fwrite(bytes, 1, n, out) != n && st == SR_OK) {
            st = SR_ERR_IO;
            sr_diag_set(d, st, NULL, 0, 0, NULL, "cannot write the results");
        }
    }
    e->sb.log_out = NULL;
    lua_settop(L, top);
    if (unchecked.status != SR_OK && st == SR_OK) { /* the run's failure */
        st = unchecked.status;
        sr_diag_free(d);
        *d = unchecked;
        sr_diag_init(&unchecked);
    } else if (unchecked.status != SR_OK && diag_out) { /* *d tells another one */
        sr_diag_print(&unchecked, diag_out);
    }
    sr_diag_free(&unchecked);
    sr_diag_free(&cd);
    sr_case_report_free(&rep);
    sr_idset_free(ids);
    sr_csvin_close(c);
    sr_writer_free(w);
    return st;
}
