/* text.h -- private: readable results (`eval --format text`): each record as
 * plain UTF-8 text in French or English, rendered by engine/text.lua. */
#ifndef SR_TEXT_H
#define SR_TEXT_H

#include "engine.h"
#include "util.h"

/* Appends the text of the record (a result or an error record) at idx of
 * e's Lua state to out; lang is "fr" or "en". Returns SR_OK, or an error
 * with *d filled (nothing appended). [-0, +0] */
sr_status_t sr_text_record(sr_engine_t *e, sr_buf_t *out, int idx, const char *lang, sr_diag_t *d);

/* The embedded renderer, from engine/text.lua. */
extern const char *const sr_text_lua;
extern const size_t sr_text_lua_len;

#endif
