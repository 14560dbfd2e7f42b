/* readfile.c -- see readfile.h. */
#include "readfile.h"

#include <stdio.h>
#include <stdlib.h>

char *read_whole(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc((size_t)(n < 0 ? 0 : n) + 1);
    size_t got = s && n > 0 ? fread(s, 1, (size_t)n, f) : 0;
    fclose(f);
    if (!s)
        return NULL;
    s[got] = '\0';
    if (len)
        *len = got;
    return s;
}
