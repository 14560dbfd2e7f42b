/* bytecode.h -- the binary chunks lua_dump writes (Lua 5.4.4's format,
 * lundump.c): dumping a function into a buffer (the sandbox's load checks in
 * sandbox.c, check's scan of the globals a rule file uses in check.c, the
 * workers' shared prelude in ruleset.c) and the primitives that read it.
 * A read past the end sets bad and returns zeros, never reads out of bounds. */
#ifndef SR_BYTECODE_H
#define SR_BYTECODE_H

#include <lua.h>
#include <stddef.h>

#include "util.h"

typedef struct {
    const unsigned char *p, *end;
    int bad;
    size_t int_size, num_size;
    void *user; /* the reader's own state */
} bc_t;

/* A size or count: 7 bits a byte, most significant first, the last byte
 * marked by its high bit. */
static inline size_t bc_size(bc_t *r)
{
    size_t x = 0;
    int b;
    do {
        if (r->p >= r->end) {
            r->bad = 1;
            return 0;
        }
        b = *r->p++;
        x = (x << 7) | (size_t)(b & 0x7f);
    } while (!(b & 0x80));
    return x;
}

static inline int bc_byte(bc_t *r)
{
    if (r->p >= r->end) {
        r->bad = 1;
        return 0;
    }
    return *r->p++;
}

static inline const unsigned char *bc_skip(bc_t *r, size_t n)
{
    const unsigned char *at = r->p;
    if ((size_t)(r->end - r->p) < n) {
        r->bad = 1;
        r->p = r->end;
        return at;
    }
    r->p += n;
    return at;
}

/* A dumped string: its bytes (NULL for "no string"), *len its length. */
static inline const char *bc_string(bc_t *r, size_t *len)
{
    size_t sz = bc_size(r);
    *len = 0;
    if (sz == 0)
        return NULL;
    *len = sz - 1;
    return (const char *)bc_skip(r, sz - 1);
}

/* A function's line information, from the debug section of its dump. */
typedef struct {
    size_t linedefined;
    const unsigned char *lineinfo; /* line deltas, one per instruction */
    size_t nline;
    const unsigned char *abs_at;   /* the absolute line entries (pc, line) */
    size_t nabs;
} bc_lines_t;

/* Reads the line information that starts a function's debug section and
 * skips its local variables; the upvalue names follow. */
static inline void bc_read_lines(bc_t *r, size_t linedefined, bc_lines_t *li)
{
    size_t len;
    li->linedefined = linedefined;
    li->nline = bc_size(r);
    li->lineinfo = bc_skip(r, li->nline);
    li->nabs = bc_size(r);
    li->abs_at = r->p;
    for (size_t i = 0; i < li->nabs && !r->bad; i++) {
        bc_size(r);
        bc_size(r);
    }
    size_t nloc = bc_size(r);
    for (size_t i = 0; i < nloc && !r->bad; i++) {
        bc_string(r, &len);
        bc_size(r);
        bc_size(r);
    }
}

/* The line of instruction pc (as luaG_getfuncline finds it). */
static inline int bc_pc_line(const bc_t *r, const bc_lines_t *li, size_t pc)
{
    long line = (long)li->linedefined;
    long basepc = -1;
    bc_t a = *r;
    a.p = li->abs_at;
    for (size_t i = 0; i < li->nabs && !a.bad; i++) {
        size_t apc = bc_size(&a), aline = bc_size(&a);
        if (apc > pc)
            break;
        basepc = (long)apc;
        line = (long)aline;
    }
    for (size_t i = (size_t)(basepc + 1); i <= pc && i < li->nline; i++)
        line += (signed char)li->lineinfo[i];
    return (int)line;
}

static inline int bc_dump_writer(lua_State *L, const void *p, size_t n, void *ud)
{
    (void)L;
    return sr_buf_append(ud, p, n) != 0;
}

/* Dumps the function at the top of the stack, debug information kept, into
 * out (initialised by the caller); 0, or -1 when memory ran short. [-0, +0] */
static inline int bc_dump(lua_State *L, sr_buf_t *out)
{
    return lua_dump(L, bc_dump_writer, out, 0) != 0 || out->failed ? -1 : 0;
}

/* A reader over the chunk in buf, past its header (signature, version,
 * format, LUAC_DATA, the sizes of instructions, integers and numbers,
 * LUAC_INT, LUAC_NUM) and the main closure's upvalue count: at the main
 * function. */
static inline bc_t bc_open(const sr_buf_t *buf, void *user)
{
    bc_t r = {(const unsigned char *)buf->data, (const unsigned char *)buf->data + buf->len, 0, 8, 8, user};
    bc_skip(&r, 4 + 1 + 1 + 6);
    bc_skip(&r, 1); /* sizeof(Instruction) */
    r.int_size = (size_t)bc_byte(&r);
    r.num_size = (size_t)bc_byte(&r);
    bc_skip(&r, r.int_size + r.num_size);
    bc_byte(&r); /* upvalues of the main closure */
    return r;
}

#endif
