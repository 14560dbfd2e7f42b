/* report.h -- results for spreadsheets and for people: CSV rows (one per
 * case, under a header row) and HTML cards (one per case, in one
 * self-contained page that prints well). The columns and the item tables come
 * from the rule set itself (P.describe), so a new score, band or
 * contraindication shows without changing this code. */
#ifndef SR_REPORT_H
#define SR_REPORT_H

#include <lua.h>

#include "spinerules.h"
#include "util.h"

/* The SINS (and any score computed per element) of the first REPORT_SLOTS
 * elements get columns of their own; "<score>.count" says how many there are. */
#define REPORT_SLOTS 3

/* Pushes the rule set's description (P.describe(), computed once per engine
 * and kept in the registry). On failure pushes nothing and fills *d.
 * [-0, +1 | +0] */
sr_status_t sr_report_describe(sr_engine_t *e, sr_diag_t *d);

/* CSV: the header row, and one row per record (result or error record at
 * idx of e's Lua state). [-0, +0] */
sr_status_t sr_csvout_header(sr_engine_t *e, sr_buf_t *out, sr_diag_t *d);
sr_status_t sr_csvout_record(sr_engine_t *e, sr_buf_t *out, int idx, sr_diag_t *d);

/* HTML: the page head (title, style, rule set), one card per record, and the
 * page end. lang is "fr" or "en". [-0, +0] */
sr_status_t sr_html_begin(sr_engine_t *e, sr_buf_t *out, const char *lang, sr_diag_t *d);
sr_status_t sr_html_record(sr_engine_t *e, sr_buf_t *out, int idx, const char *lang, sr_diag_t *d);
sr_status_t sr_html_end(sr_engine_t *e, sr_buf_t *out, const char *lang, sr_diag_t *d);

#endif
