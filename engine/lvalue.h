/* lvalue.h -- how JSON/YAML values live in Lua: arrays carry a shared
 * metatable (so an empty array is told from an empty map) and null is a
 * light userdata sentinel (so a null is told from an absent key). */
#ifndef SR_LVALUE_H
#define SR_LVALUE_H

#include <lua.h>

#define SR_REG_ARRAY_MT "sr.array_mt"

/* Creates the registry entries; call once per lua_State. [-0, +0, m] */
void sr_lv_init(lua_State *L);
void sr_lv_push_null(lua_State *L);              /* [-0, +1] */
int sr_lv_isnull(lua_State *L, int idx);         /* [-0, +0] */
void sr_lv_push_array_mt(lua_State *L);          /* [-0, +1] */
void sr_lv_mark_array(lua_State *L, int idx);    /* [-0, +0] */
/* 1 when the table at idx is an array: marked, or a non-empty sequence. */
int sr_lv_isarray(lua_State *L, int idx);        /* [-0, +0] */
/* Name of the JSON type of the value at idx: null, boolean, integer, number,
 * string, array, object, or the Lua type name for anything else. */
const char *sr_lv_typename(lua_State *L, int idx);

#endif
