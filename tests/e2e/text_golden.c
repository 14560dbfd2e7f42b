/* text_golden.c -- readable results pinned byte for byte: runs
 *
 *   spinerules eval --format text --lang LANG CASES.yaml
 *
 * and compares its stdout with EXPECTED.txt, where "sha256:{digest}" stands
 * for the rule set's digest (which changes with any edit of a rule file,
 * comments included). Usage: text_golden CASES.yaml LANG EXPECTED.txt */
#define _GNU_SOURCE
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "readfile.h"

#ifndef SR_BINARY
#error "SR_BINARY must name the built executable"
#endif

/* Replaces each "sha256:" followed by 64 hex digits with "sha256:{digest}", in place. */
static void hide_digests(char *s)
{
    char *r = s, *w = s;
    while (*r) {
        if (strncmp(r, "sha256:", 7) == 0) {
            int n = 0;
            while (n < 64 && isxdigit((unsigned char)r[7 + n]))
                n++;
            if (n == 64) {
                memcpy(w, "sha256:{digest}", 15);
                w += 15;
                r += 7 + 64;
                continue;
            }
        }
        *w++ = *r++;
    }
    *w = '\0';
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: text_golden CASES.yaml LANG EXPECTED.txt\n");
        return 2;
    }
    char out[] = "/tmp/sr-text-XXXXXX";
    close(mkstemp(out));
    char *cmd = NULL;
    if (asprintf(&cmd, "cd '%s' && '%s' eval --format text --lang %s '%s' >'%s' 2>/dev/null", SR_SOURCE_DIR,
                 SR_BINARY, argv[2], argv[1], out) < 0)
        return 2;
    int rc = system(cmd);
    free(cmd);
    char *got = read_whole(out, NULL), *want = read_whole(argv[3], NULL);
    unlink(out);
    if (!got || !want) {
        printf("FAIL: cannot read the output or %s\n", argv[3]);
        free(got);
        free(want);
        return 1;
    }
    hide_digests(got);
    if (strcmp(got, want) != 0) {
        printf("FAIL: %s (exit %d)\n--- expected\n%s--- got\n%s", argv[3], WIFEXITED(rc) ? WEXITSTATUS(rc) : -1,
               want, got);
        free(got);
        free(want);
        return 1;
    }
    printf("ok\n");
    free(got);
    free(want);
    return 0;
}
