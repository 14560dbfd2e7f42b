/* bytecode.h -- reading the binary chunks lua_dump writes (Lua 5.4.4's
 * format, lundump.c): the primitives shared by the sandbox's load checks
 * (sandbox.c) and check's scan of the globals a rule file uses (check.c).
 * A read past the end sets bad and returns zeros, never reads out of bounds. */
#ifndef SR_BYTECODE_H
#define SR_BYTECODE_H

#include <stddef.h>

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

#endif
