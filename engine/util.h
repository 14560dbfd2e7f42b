/* util.h -- small private helpers shared by the engine modules: a growable
 * byte buffer and allocation-checked string functions. */
#ifndef SR_UTIL_H
#define SR_UTIL_H

#include <stdarg.h>
#include <stddef.h>

/* A growable byte buffer; data is always NUL-terminated when len > 0. */
typedef struct {
    char *data;
    size_t len;
    size_t cap;
    int failed; /* set once an allocation failed; later appends are no-ops */
} sr_buf_t;

void sr_buf_init(sr_buf_t *b);
void sr_buf_free(sr_buf_t *b);
void sr_buf_reset(sr_buf_t *b);
int sr_buf_reserve(sr_buf_t *b, size_t extra);
int sr_buf_append(sr_buf_t *b, const void *p, size_t n);
int sr_buf_puts(sr_buf_t *b, const char *s);
int sr_buf_printf(sr_buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Returns a malloc'd copy of s (NULL if s is NULL or memory is short). */
char *sr_strdup(const char *s);
char *sr_strndup(const char *s, size_t n);
/* Returns a malloc'd formatted string, or NULL. */
char *sr_asprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char *sr_vasprintf(const char *fmt, va_list ap);

/* Optimal string alignment distance (insertions, deletions, substitutions
 * and adjacent transpositions), ASCII case ignored, for "did you mean"
 * suggestions; (size_t)-1 when a string is over 64 bytes. */
size_t sr_edit_distance(const char *a, size_t na, const char *b, size_t nb);

/* Reads a whole file into a malloc'd NUL-terminated buffer; *len gets its
 * size. Returns NULL with errno set on failure. */
char *sr_read_file(const char *path, size_t *len);

#endif

#include "spinerules.h"
/* Replaces the content of d; file and path may be NULL. */
void sr_diag_set(sr_diag_t *d, sr_status_t st, const char *file, int line, int col,
                 const char *path, const char *fmt, ...) __attribute__((format(printf, 7, 8)));
