/* lvalue.c -- the array marker and the null sentinel shared by reader, rules and writer. */
#include "lvalue.h"

static const char null_tag = 0; /* its address is the null sentinel */
/* Its address keys the array metatable in the registry too: a light
 * userdata key is found without making the string SR_REG_ARRAY_MT, and
 * sr_lv_isarray runs for every table the writer and the validator meet. */
static const char array_mt_key = 0;

void sr_lv_init(lua_State *L)
{
    lua_newtable(L);                                   /* the array metatable */
    lua_pushliteral(L, "array");
    lua_setfield(L, -2, "__name");
    lua_pushvalue(L, -1);
    lua_rawsetp(L, LUA_REGISTRYINDEX, &array_mt_key);  /* pops the copy */
    lua_setfield(L, LUA_REGISTRYINDEX, SR_REG_ARRAY_MT); /* pops it */
}

void sr_lv_push_null(lua_State *L) { lua_pushlightuserdata(L, (void *)&null_tag); }

int sr_lv_isnull(lua_State *L, int idx)
{
    return lua_islightuserdata(L, idx) && lua_touserdata(L, idx) == (void *)&null_tag;
}

void sr_lv_push_array_mt(lua_State *L) { lua_rawgetp(L, LUA_REGISTRYINDEX, &array_mt_key); }

void sr_lv_mark_array(lua_State *L, int idx)
{
    idx = lua_absindex(L, idx);
    sr_lv_push_array_mt(L);
    lua_setmetatable(L, idx); /* pops the metatable */
}

int sr_lv_isarray(lua_State *L, int idx)
{
    if (lua_type(L, idx) != LUA_TTABLE)
        return 0;
    if (lua_getmetatable(L, idx)) {                    /* +1 */
        sr_lv_push_array_mt(L);                        /* +1 */
        int same = lua_rawequal(L, -1, -2);
        lua_pop(L, 2);
        if (same)
            return 1;
    }
    /* An unmarked table is an array when it is a non-empty sequence 1..n
     * and has no other key. */
    lua_Integer n = (lua_Integer)lua_rawlen(L, idx);
    if (n == 0)
        return 0;
    idx = lua_absindex(L, idx);
    lua_Integer count = 0;
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        lua_pop(L, 1); /* drop value, keep key */
        if (!lua_isinteger(L, -1)) {
            lua_pop(L, 1);
            return 0;
        }
        count++;
    }
    return count == n;
}

const char *sr_lv_typename(lua_State *L, int idx)
{
    switch (lua_type(L, idx)) {
    case LUA_TNIL: return "null";
    case LUA_TBOOLEAN: return "boolean";
    case LUA_TNUMBER: return lua_isinteger(L, idx) ? "integer" : "number";
    case LUA_TSTRING: return "string";
    case LUA_TTABLE: return sr_lv_isarray(L, idx) ? "array" : "object";
    case LUA_TLIGHTUSERDATA:
        if (sr_lv_isnull(L, idx))
            return "null";
        return "userdata";
    default: return lua_typename(L, lua_type(L, idx));
    }
}
