/* pattern.c -- Lua 5.4 pattern matching (string.find, match, gmatch, gsub)
 * with a step budget, for the sandbox.
 *
 * The standard library matches by backtracking in C, where neither the count
 * hook nor the watchdog can stop it: ("a"):rep(60000):find(".-.-.-b") runs
 * for hours. These replacements follow the semantics of the reference manual
 * (section 6.4.1) and count their steps; a call that exceeds the budget
 * raises a limit error that the rules' pcall cannot swallow. Plain searches
 * use memmem, which is linear. */
#define _GNU_SOURCE /* memmem */
#include <ctype.h>
#include <lauxlib.h>
#include <string.h>

#include "sandbox.h"

#define CAP_UNFINISHED (-1)
#define CAP_POSITION (-2)
#define MAX_DEPTH 200 /* recursion of match(), as in the reference implementation */
#define MAX_CAPTURES 32 /* LUA_MAXCAPTURES of the reference implementation */
#define ESC '%'
#define SPECIALS "^$*+?.([%-"

typedef struct {
    lua_State *L;
    sr_sandbox_t *sb;
    const char *fname;     /* "find", "match", "gmatch", "gsub": for messages */
    const char *src_init;  /* the subject */
    const char *src_end;
    const char *p_end;     /* end of the pattern */
    unsigned long steps;
    unsigned long max_steps;
    int depth;             /* recursion left */
    int level;             /* captures, finished or not */
    struct {
        const char *init;
        ptrdiff_t len;
    } capture[MAX_CAPTURES];
} ms_t;

static int too_complex(ms_t *ms)
{
    return sr_sandbox_limit_error(ms->L, ms->sb, SR_LIMIT_SIZE,
                                  "string.%s: pattern too complex (more than %I matching steps)", ms->fname,
                                  (lua_Integer)ms->max_steps);
}

static inline void step(ms_t *ms, unsigned long n)
{
    ms->steps += n;
    if (ms->steps > ms->max_steps)
        too_complex(ms);
}

static const char *do_match(ms_t *ms, const char *s, const char *p);

/* End of the single-character class starting at p. */
static const char *class_end(ms_t *ms, const char *p)
{
    char c = *p++;
    if (c == ESC) {
        if (p >= ms->p_end)
            luaL_error(ms->L, "malformed pattern (ends with '%%')");
        return p + 1;
    }
    if (c == '[') {
        if (p < ms->p_end && *p == '^')
            p++;
        do { /* up to the closing ']'; the first one may be literal */
            if (p >= ms->p_end)
                luaL_error(ms->L, "malformed pattern (missing ']')");
            c = *p++;
            if (c == ESC && p < ms->p_end)
                p++;
        } while (p >= ms->p_end || *p != ']');
        return p + 1;
    }
    return p;
}

static int class_matches(int c, int cl)
{
    int res;
    switch (tolower(cl)) {
    case 'a': res = isalpha(c); break;
    case 'c': res = iscntrl(c); break;
    case 'd': res = isdigit(c); break;
    case 'g': res = isgraph(c); break;
    case 'l': res = islower(c); break;
    case 'p': res = ispunct(c); break;
    case 's': res = isspace(c); break;
    case 'u': res = isupper(c); break;
    case 'w': res = isalnum(c); break;
    case 'x': res = isxdigit(c); break;
    case 'z': res = c == 0; break; /* deprecated, still accepted */
    default: return cl == c;
    }
    return islower(cl) ? res != 0 : res == 0;
}

/* p points at '[', ec at the closing ']'. */
static int set_matches(int c, const char *p, const char *ec)
{
    int yes = 1;
    if (p[1] == '^') {
        yes = 0;
        p++;
    }
    while (++p < ec) {
        if (*p == ESC) {
            p++;
            if (class_matches(c, (unsigned char)*p))
                return yes;
        } else if (p[1] == '-' && p + 2 < ec) {
            if ((unsigned char)p[0] <= c && c <= (unsigned char)p[2])
                return yes;
            p += 2;
        } else if ((unsigned char)*p == c) {
            return yes;
        }
    }
    return !yes;
}

static int single_match(ms_t *ms, const char *s, const char *p, const char *ep)
{
    if (s >= ms->src_end)
        return 0;
    int c = (unsigned char)*s;
    switch (*p) {
    case '.': return 1;
    case ESC: return class_matches(c, (unsigned char)p[1]);
    case '[': return set_matches(c, p, ep - 1);
    default: return (unsigned char)*p == c;
    }
}

static const char *match_balance(ms_t *ms, const char *s, const char *p)
{
    if (p + 1 >= ms->p_end)
        luaL_error(ms->L, "malformed pattern (missing arguments to '%%b')");
    if (s >= ms->src_end || *s != *p)
        return NULL;
    char open = p[0], close = p[1];
    int depth = 1;
    while (++s < ms->src_end) {
        step(ms, 1);
        if (*s == close) {
            if (--depth == 0)
                return s + 1;
        } else if (*s == open) {
            depth++;
        }
    }
    return NULL;
}

static const char *max_expand(ms_t *ms, const char *s, const char *p, const char *ep)
{
    ptrdiff_t i = 0;
    while (single_match(ms, s + i, p, ep)) {
        step(ms, 1);
        i++;
    }
    for (; i >= 0; i--) { /* the longest repetition that lets the rest match */
        const char *res = do_match(ms, s + i, ep + 1);
        if (res)
            return res;
    }
    return NULL;
}

static const char *min_expand(ms_t *ms, const char *s, const char *p, const char *ep)
{
    for (;;) {
        const char *res = do_match(ms, s, ep + 1);
        if (res)
            return res;
        if (!single_match(ms, s, p, ep))
            return NULL;
        s++;
    }
}

static int capture_to_close(ms_t *ms)
{
    for (int l = ms->level - 1; l >= 0; l--)
        if (ms->capture[l].len == CAP_UNFINISHED)
            return l;
    return luaL_error(ms->L, "invalid pattern capture");
}

static const char *start_capture(ms_t *ms, const char *s, const char *p, ptrdiff_t what)
{
    if (ms->level >= MAX_CAPTURES)
        luaL_error(ms->L, "too many captures");
    ms->capture[ms->level].init = s;
    ms->capture[ms->level].len = what;
    ms->level++;
    const char *res = do_match(ms, s, p);
    if (!res)
        ms->level--;
    return res;
}

static const char *end_capture(ms_t *ms, const char *s, const char *p)
{
    int l = capture_to_close(ms);
    ms->capture[l].len = s - ms->capture[l].init;
    const char *res = do_match(ms, s, p);
    if (!res)
        ms->capture[l].len = CAP_UNFINISHED;
    return res;
}

static int check_capture(ms_t *ms, int l)
{
    l -= '1';
    if (l < 0 || l >= ms->level || ms->capture[l].len == CAP_UNFINISHED)
        return luaL_error(ms->L, "invalid capture index %%%d", l + 1);
    return l;
}

static const char *match_capture(ms_t *ms, const char *s, int l)
{
    l = check_capture(ms, l);
    size_t len = (size_t)ms->capture[l].len;
    step(ms, len / 32 + 1);
    if ((size_t)(ms->src_end - s) >= len && memcmp(ms->capture[l].init, s, len) == 0)
        return s + len;
    return NULL;
}

static const char *do_match(ms_t *ms, const char *s, const char *p)
{
    if (ms->depth-- == 0)
        luaL_error(ms->L, "pattern too complex");
next:
    step(ms, 1);
    if (p == ms->p_end)
        goto done;
    switch (*p) {
    case '(':
        if (p + 1 < ms->p_end && p[1] == ')')
            s = start_capture(ms, s, p + 2, CAP_POSITION);
        else
            s = start_capture(ms, s, p + 1, CAP_UNFINISHED);
        goto done;
    case ')':
        s = end_capture(ms, s, p + 1);
        goto done;
    case '$':
        if (p + 1 == ms->p_end) {
            if (s != ms->src_end)
                s = NULL;
            goto done;
        }
        break; /* a '$' elsewhere is a literal */
    case ESC:
        if (p + 1 >= ms->p_end)
            break; /* class_end reports the malformed pattern */
        switch (p[1]) {
        case 'b':
            s = match_balance(ms, s, p + 2);
            if (s) {
                p += 4;
                goto next;
            }
            goto done;
        case 'f': {
            p += 2;
            if (p >= ms->p_end || *p != '[')
                luaL_error(ms->L, "missing '[' after '%%f' in pattern");
            const char *ep = class_end(ms, p);
            int prev = (s == ms->src_init) ? 0 : (unsigned char)s[-1];
            int cur = (s < ms->src_end) ? (unsigned char)*s : 0;
            if (!set_matches(prev, p, ep - 1) && set_matches(cur, p, ep - 1)) {
                p = ep;
                goto next;
            }
            s = NULL;
            goto done;
        }
        case '0': case '1': case '2': case '3': case '4':
        case '5': case '6': case '7': case '8': case '9':
            s = match_capture(ms, s, (unsigned char)p[1]);
            if (s) {
                p += 2;
                goto next;
            }
            goto done;
        default:
            break;
        }
        break;
    default:
        break;
    }
    /* a single-character class, maybe followed by a repetition */
    {
        const char *ep = class_end(ms, p);
        char suffix = ep < ms->p_end ? *ep : '\0';
        if (!single_match(ms, s, p, ep)) {
            if (suffix == '*' || suffix == '?' || suffix == '-') {
                p = ep + 1;
                goto next;
            }
            s = NULL;
            goto done;
        }
        switch (suffix) {
        case '?': {
            const char *res = do_match(ms, s + 1, ep + 1);
            if (res) {
                s = res;
                goto done;
            }
            p = ep + 1;
            goto next;
        }
        case '+':
            s = max_expand(ms, s + 1, p, ep);
            goto done;
        case '*':
            s = max_expand(ms, s, p, ep);
            goto done;
        case '-':
            s = min_expand(ms, s, p, ep);
            goto done;
        default:
            s++;
            p = ep;
            goto next;
        }
    }
done:
    ms->depth++;
    return s;
}

static void ms_init(ms_t *ms, lua_State *L, const char *fname, const char *s, size_t ls, const char *p,
                    size_t lp)
{
    ms->L = L;
    ms->sb = lua_touserdata(L, lua_upvalueindex(1));
    ms->fname = fname;
    ms->src_init = s;
    ms->src_end = s + ls;
    ms->p_end = p + lp;
    ms->steps = 0;
    ms->max_steps = ms->sb->limits.pattern_steps;
    ms->depth = MAX_DEPTH;
    ms->level = 0;
}

/* Pushes capture i (or the whole match s..e when there are no captures). */
static void push_capture(ms_t *ms, int i, const char *s, const char *e)
{
    if (i >= ms->level) {
        if (i != 0)
            luaL_error(ms->L, "invalid capture index %%%d", i + 1);
        lua_pushlstring(ms->L, s, (size_t)(e - s));
        return;
    }
    ptrdiff_t len = ms->capture[i].len;
    if (len == CAP_UNFINISHED)
        luaL_error(ms->L, "unfinished capture");
    if (len == CAP_POSITION)
        lua_pushinteger(ms->L, (ms->capture[i].init - ms->src_init) + 1);
    else
        lua_pushlstring(ms->L, ms->capture[i].init, (size_t)len);
}

static int push_captures(ms_t *ms, const char *s, const char *e)
{
    int n = (ms->level == 0 && s) ? 1 : ms->level;
    luaL_checkstack(ms->L, n, "too many captures");
    for (int i = 0; i < n; i++)
        push_capture(ms, i, s, e);
    return n;
}

/* The 1-based start position argument, as the standard library reads it. */
static size_t start_index(lua_State *L, int arg, size_t len)
{
    lua_Integer pos = luaL_optinteger(L, arg, 1);
    if (pos > 0)
        return (size_t)pos - 1;
    if (pos == 0 || pos < -(lua_Integer)len)
        return 0;
    return len + (size_t)pos;
}

static int has_specials(const char *p, size_t lp)
{
    for (size_t i = 0; i < lp; i++)
        if (p[i] && strchr(SPECIALS, p[i]))
            return 1;
    return 0;
}

static int find_aux(lua_State *L, int find)
{
    size_t ls, lp;
    const char *s = luaL_checklstring(L, 1, &ls);
    const char *p = luaL_checklstring(L, 2, &lp);
    size_t init = start_index(L, 3, ls);
    if (init > ls) {
        luaL_pushfail(L);
        return 1;
    }
    if (find && (lua_toboolean(L, 4) || !has_specials(p, lp))) {
        const char *hit = lp == 0 ? s + init : memmem(s + init, ls - init, p, lp);
        if (hit) {
            lua_pushinteger(L, (hit - s) + 1);
            lua_pushinteger(L, (lua_Integer)((size_t)(hit - s) + lp));
            return 2;
        }
        luaL_pushfail(L);
        return 1;
    }
    ms_t ms;
    const char *s1 = s + init;
    int anchor = lp > 0 && *p == '^';
    if (anchor) {
        p++;
        lp--;
    }
    ms_init(&ms, L, find ? "find" : "match", s, ls, p, lp);
    do {
        ms.level = 0;
        const char *e = do_match(&ms, s1, p);
        if (e) {
            if (find) {
                lua_pushinteger(L, (s1 - s) + 1);
                lua_pushinteger(L, e - s);
                return push_captures(&ms, NULL, NULL) + 2;
            }
            return push_captures(&ms, s1, e);
        }
    } while (s1++ < ms.src_end && !anchor);
    luaL_pushfail(L);
    return 1;
}

static int p_find(lua_State *L) { return find_aux(L, 1); }
static int p_match(lua_State *L) { return find_aux(L, 0); }

typedef struct {
    const char *src;       /* where the next search starts */
    const char *p;
    size_t lp;
    const char *lastmatch; /* end of the last match: no empty match there again */
    size_t ls;
    const char *s;
} gm_t;

static int gmatch_next(lua_State *L)
{
    gm_t *gm = lua_touserdata(L, lua_upvalueindex(4));
    ms_t ms;
    ms_init(&ms, L, "gmatch", gm->s, gm->ls, gm->p, gm->lp);
    for (const char *src = gm->src; src <= ms.src_end; src++) {
        ms.level = 0;
        const char *e = do_match(&ms, src, gm->p);
        if (e && e != gm->lastmatch) {
            gm->src = gm->lastmatch = e;
            return push_captures(&ms, src, e);
        }
    }
    gm->src = ms.src_end + 1; /* exhausted */
    return 0;
}

static int p_gmatch(lua_State *L)
{
    size_t ls, lp;
    const char *s = luaL_checklstring(L, 1, &ls);
    const char *p = luaL_checklstring(L, 2, &lp);
    size_t init = start_index(L, 3, ls);
    if (init > ls)
        init = ls + 1;
    lua_settop(L, 2);
    lua_pushvalue(L, lua_upvalueindex(1)); /* the sandbox, for the iterator */
    lua_insert(L, 1);                      /* sb s p */
    gm_t *gm = lua_newuserdatauv(L, sizeof *gm, 0);
    gm->s = s;
    gm->ls = ls;
    gm->src = s + init;
    gm->p = p;
    gm->lp = lp;
    gm->lastmatch = NULL;
    lua_pushcclosure(L, gmatch_next, 4); /* keeps s and p alive */
    return 1;
}

static void add_string_repl(ms_t *ms, luaL_Buffer *b, const char *s, const char *e)
{
    lua_State *L = ms->L;
    size_t l;
    const char *r = lua_tolstring(L, 3, &l);
    const char *pct;
    while ((pct = memchr(r, ESC, l)) != NULL) {
        luaL_addlstring(b, r, (size_t)(pct - r));
        pct++;
        if (*pct == ESC) {
            luaL_addchar(b, ESC);
        } else if (*pct == '0') {
            luaL_addlstring(b, s, (size_t)(e - s));
        } else if (isdigit((unsigned char)*pct)) {
            push_capture(ms, *pct - '1', s, e);
            luaL_addvalue(b); /* a position capture is added as its digits */
        } else {
            luaL_error(L, "invalid use of '%c' in replacement string", ESC);
        }
        l -= (size_t)(pct + 1 - r);
        r = pct + 1;
    }
    luaL_addlstring(b, r, l);
}

/* Adds the replacement of the match s..e; returns 1 when it changed the text. */
static int add_replacement(ms_t *ms, luaL_Buffer *b, const char *s, const char *e, int tr)
{
    lua_State *L = ms->L;
    if (tr == LUA_TFUNCTION) {
        lua_pushvalue(L, 3);
        int n = push_captures(ms, s, e);
        lua_call(L, n, 1);
    } else if (tr == LUA_TTABLE) {
        push_capture(ms, 0, s, e);
        lua_gettable(L, 3);
    } else {
        add_string_repl(ms, b, s, e);
        return 1;
    }
    if (!lua_toboolean(L, -1)) { /* nil or false: keep the original text */
        lua_pop(L, 1);
        luaL_addlstring(b, s, (size_t)(e - s));
        return 0;
    }
    if (!lua_isstring(L, -1))
        return luaL_error(L, "invalid replacement value (a %s)", luaL_typename(L, -1));
    luaL_addvalue(b);
    return 1;
}

static int p_gsub(lua_State *L)
{
    size_t ls, lp;
    const char *src = luaL_checklstring(L, 1, &ls);
    const char *p = luaL_checklstring(L, 2, &lp);
    const char *lastmatch = NULL;
    int tr = lua_type(L, 3);
    lua_Integer max_n = luaL_optinteger(L, 4, (lua_Integer)ls + 1);
    int anchor = lp > 0 && *p == '^';
    lua_Integer n = 0;
    int changed = 0;
    luaL_argexpected(L, tr == LUA_TNUMBER || tr == LUA_TSTRING || tr == LUA_TFUNCTION || tr == LUA_TTABLE, 3,
                     "string/function/table");
    if (anchor) {
        p++;
        lp--;
    }
    sr_sandbox_t *sb = lua_touserdata(L, lua_upvalueindex(1));
    size_t cap = sb->limits.max_string;
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    ms_t ms;
    ms_init(&ms, L, "gsub", src, ls, p, lp);
    while (n < max_n) {
        ms.level = 0;
        const char *e = do_match(&ms, src, p);
        if (e && e != lastmatch) {
            n++;
            changed |= add_replacement(&ms, &b, src, e, tr);
            src = lastmatch = e;
        } else if (src < ms.src_end) {
            luaL_addchar(&b, *src++);
        } else {
            break;
        }
        if (luaL_bufflen(&b) > cap)
            sr_sandbox_limit_error(L, sb, SR_LIMIT_SIZE, "string.gsub: the result exceeds the limit of %I bytes",
                                   (lua_Integer)cap);
        if (anchor)
            break;
    }
    if (!changed) {
        lua_pushvalue(L, 1); /* nothing replaced: the subject itself */
    } else {
        luaL_addlstring(&b, src, (size_t)(ms.src_end - src));
        if (luaL_bufflen(&b) > cap)
            sr_sandbox_limit_error(L, sb, SR_LIMIT_SIZE, "string.gsub: the result exceeds the limit of %I bytes",
                                   (lua_Integer)cap);
        luaL_pushresult(&b);
    }
    lua_pushinteger(L, n);
    return 2;
}

void sr_pattern_install(lua_State *L, sr_sandbox_t *sb, int lib)
{
    static const luaL_Reg fns[] = {
        {"find", p_find}, {"match", p_match}, {"gmatch", p_gmatch}, {"gsub", p_gsub}, {NULL, NULL},
    };
    lib = lua_absindex(L, lib);
    for (int i = 0; fns[i].name; i++) {
        lua_pushlightuserdata(L, sb);
        lua_pushcclosure(L, fns[i].func, 1);
        lua_setfield(L, lib, fns[i].name);
    }
}
