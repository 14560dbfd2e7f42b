/* util.c -- growable buffers and checked string helpers. */
#include "util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void sr_buf_init(sr_buf_t *b) { memset(b, 0, sizeof *b); }

void sr_buf_free(sr_buf_t *b)
{
    free(b->data);
    sr_buf_init(b);
}

void sr_buf_reset(sr_buf_t *b)
{
    b->len = 0;
    b->failed = 0;
    if (b->data)
        b->data[0] = '\0';
}

int sr_buf_reserve(sr_buf_t *b, size_t extra)
{
    if (b->failed)
        return -1;
    if (extra > ((size_t)-1) / 2 - b->len) {
        b->failed = 1;
        return -1;
    }
    size_t need = b->len + extra + 1;
    if (need <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < need)
        cap *= 2;
    char *p = realloc(b->data, cap);
    if (!p) {
        b->failed = 1;
        return -1;
    }
    b->data = p;
    b->cap = cap;
    return 0;
}

int sr_buf_append(sr_buf_t *b, const void *p, size_t n)
{
    if (sr_buf_reserve(b, n) != 0)
        return -1;
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}

int sr_buf_puts(sr_buf_t *b, const char *s) { return sr_buf_append(b, s, strlen(s)); }

int sr_buf_printf(sr_buf_t *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = sr_vasprintf(fmt, ap);
    va_end(ap);
    if (!s) {
        b->failed = 1;
        return -1;
    }
    int rc = sr_buf_puts(b, s);
    free(s);
    return rc;
}

char *sr_strdup(const char *s) { return s ? sr_strndup(s, strlen(s)) : NULL; }

char *sr_strndup(const char *s, size_t n)
{
    char *p = malloc(n + 1);
    if (!p)
        return NULL;
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

char *sr_vasprintf(const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0)
        return NULL;
    char *p = malloc((size_t)n + 1);
    if (!p)
        return NULL;
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    return p;
}

char *sr_asprintf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *p = sr_vasprintf(fmt, ap);
    va_end(ap);
    return p;
}

char *sr_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    sr_buf_t b;
    sr_buf_init(&b);
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
        if (sr_buf_append(&b, chunk, n) != 0) {
            fclose(f);
            sr_buf_free(&b);
            errno = ENOMEM;
            return NULL;
        }
    }
    int err = ferror(f);
    fclose(f);
    if (err) {
        sr_buf_free(&b);
        errno = EIO;
        return NULL;
    }
    if (sr_buf_reserve(&b, 0) != 0) {
        errno = ENOMEM;
        return NULL;
    }
    b.data[b.len] = '\0';
    *len = b.len;
    return b.data;
}

static int ascii_lower(int c) { return c >= 'A' && c <= 'Z' ? c + 32 : c; }

size_t sr_edit_distance(const char *a, size_t na, const char *b, size_t nb)
{
    if (na > 64 || nb > 64)
        return (size_t)-1;
    size_t d[65][65];
    for (size_t i = 0; i <= na; i++)
        d[i][0] = i;
    for (size_t j = 0; j <= nb; j++)
        d[0][j] = j;
    for (size_t i = 1; i <= na; i++) {
        for (size_t j = 1; j <= nb; j++) {
            size_t cost = ascii_lower((unsigned char)a[i - 1]) == ascii_lower((unsigned char)b[j - 1]) ? 0 : 1;
            size_t v = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < v)
                v = d[i][j - 1] + 1;
            if (d[i - 1][j - 1] + cost < v)
                v = d[i - 1][j - 1] + cost;
            if (i > 1 && j > 1 && ascii_lower((unsigned char)a[i - 1]) == ascii_lower((unsigned char)b[j - 2]) &&
                ascii_lower((unsigned char)a[i - 2]) == ascii_lower((unsigned char)b[j - 1]) &&
                d[i - 2][j - 2] + 1 < v)
                v = d[i - 2][j - 2] + 1;
            d[i][j] = v;
        }
    }
    return d[na][nb];
}
