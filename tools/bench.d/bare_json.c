/* bare_json.c -- the parser limit for JSON Lines: yajl over each line with
 * empty callbacks. tools/bench compares eval against it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_parse.h>

static unsigned long values;
static int count(void *ctx) { (void)ctx; values++; return 1; }
static int count_b(void *ctx, int b) { (void)b; return count(ctx); }
static int count_n(void *ctx, const char *s, size_t n) { (void)s; (void)n; return count(ctx); }
static int count_s(void *ctx, const unsigned char *s, size_t n) { (void)s; (void)n; return count(ctx); }

static const yajl_callbacks cb = {count, count_b, NULL, NULL, count_n, count_s,
                                  count, count_s, count, count, count};

int main(int argc, char **argv)
{
    FILE *f = argc > 1 ? fopen(argv[1], "rb") : stdin;
    if (!f)
        return 2;
    yajl_handle h = yajl_alloc(&cb, NULL, NULL);
    yajl_config(h, yajl_allow_multiple_values, 1);
    static unsigned char buf[1 << 16];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0) {
        if (yajl_parse(h, buf, n) != yajl_status_ok) {
            fprintf(stderr, "json error\n");
            return 1;
        }
    }
    if (yajl_complete_parse(h) != yajl_status_ok)
        return 1;
    yajl_free(h);
    printf("%lu values\n", values);
    return 0;
}
