/* readfile.h -- the one file reader of the end-to-end tests. */
#ifndef SR_TEST_READFILE_H
#define SR_TEST_READFILE_H

#include <stddef.h>

/* The whole file at path, NUL-terminated (it may hold NUL bytes of its own:
 * *len, when len is not NULL, gets its length), malloc'd; NULL when it
 * cannot be opened or memory is short. */
char *read_whole(const char *path, size_t *len);

#endif
