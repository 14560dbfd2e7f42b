/* text.c -- readable results: each record through engine/text.lua, a
 * trusted renderer loaded once per engine (see text.h).
 *
 * Why Lua: the record is a Lua table already, with its labels in both
 * languages; the renderer reads it and the rule set's description where they
 * are, with no conversion, and a clinical editor can read how a line is
 * built. It is host code, never given to rule files, and runs protected. */
#include "text.h"

#include <lauxlib.h>
#include <stdlib.h>
#include <string.h>

#include "lvalue.h"
#include "messages.h"
#include "report.h"
#include "util.h"

#define REG_TEXT "sr.text_render"

/* Pushes the renderer, loading it the first time. [-0, +1 | +0] */
static sr_status_t push_renderer(lua_State *L, sr_diag_t *d)
{
    if (lua_getfield(L, LUA_REGISTRYINDEX, REG_TEXT) == LUA_TFUNCTION)
        return SR_OK;
    lua_pop(L, 1);
    if (luaL_loadbufferx(L, sr_text_lua, sr_text_lua_len, "@engine/text.lua", "t") != LUA_OK) {
        sr_diag_set(d, SR_ERR_RULE, NULL, 0, 0, NULL, "%s", lua_tostring(L, -1));
        sr_diag_split_lua(d);
        lua_pop(L, 1); /* the message */
        return SR_ERR_RULE;
    }
    sr_status_t st = sr_sandbox_pcall(L, 0, 1, d); /* the chunk returns render */
    if (st != SR_OK)
        return st;
    if (!lua_isfunction(L, -1)) {
        lua_pop(L, 1);
        sr_diag_set(d, SR_ERR_RULE, "engine/text.lua", 0, 0, NULL, "the renderer did not return a function");
        return SR_ERR_RULE;
    }
    lua_pushvalue(L, -1);
    lua_setfield(L, LUA_REGISTRYINDEX, REG_TEXT);
    return SR_OK;
}

/* translate(message): a validator's English message in the report's
 * language (upvalue 1: 1 for French). [-1, +1, m] */
static int translate(lua_State *L)
{
    const char *en = luaL_checkstring(L, 1);
    sr_lang_t lang = lua_toboolean(L, lua_upvalueindex(1)) ? SR_LANG_FR : SR_LANG_EN;
    char *s = sr_tr_message_in(lang, sr_strdup(en));
    if (!s)
        return luaL_error(L, "out of memory");
    lua_pushstring(L, s);
    free(s);
    return 1;
}

sr_status_t sr_text_record(sr_engine_t *e, sr_buf_t *out, int idx, const char *lang, sr_diag_t *d)
{
    lua_State *L = e->sb.L;
    idx = lua_absindex(L, idx);
    int top = lua_gettop(L);
    sr_status_t st = push_renderer(L, d);
    if (st != SR_OK)
        return st;
    lua_pushvalue(L, idx);
    if ((st = sr_report_describe(e, d)) != SR_OK) {
        lua_settop(L, top);
        return st;
    }
    int french = !(lang && strcmp(lang, "en") == 0);
    lua_pushstring(L, french ? "fr" : "en");
    sr_lv_push_null(L);
    lua_pushboolean(L, french);
    lua_pushcclosure(L, translate, 1);
    if ((st = sr_sandbox_pcall(L, 5, 1, d)) != SR_OK) {
        lua_settop(L, top);
        return st;
    }
    size_t len;
    const char *s = lua_tolstring(L, -1, &len);
    if (!s) {
        lua_settop(L, top);
        sr_diag_set(d, SR_ERR_RULE, "engine/text.lua", 0, 0, NULL, "the renderer did not return text");
        return SR_ERR_RULE;
    }
    sr_buf_append(out, s, len);
    lua_settop(L, top);
    return SR_OK;
}
