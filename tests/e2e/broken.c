/* broken.c -- one broken copy of the shipped rule set through `spinerules
 * check`: the exact findings it prints (tests/data/broken-rulesets/).
 *
 *   broken FILE.defect
 *
 * copies rules/spine-metastasis-lung/1.0.0 to a temporary <tmp>/1.0.0/,
 * breaks it as FILE.defect says, runs check on it and compares what it
 * prints, byte for byte, and its exit status. A .defect file holds, after
 * comment lines starting with '#', sections:
 *
 *   @@ edit FILE            in FILE of the copy, replace each block of whole
 *   - old line              lines starting "- " (found exactly once) by the
 *   + new line              block of lines starting "+ " that follows it
 *   @@ add FILE             create FILE from the "+ " lines that follow
 *   @@ remove FILE          delete FILE
 *   @@ check EXIT [ARGS]    run "check --rules {dir} ARGS": the lines that
 *   expected output         follow are its exact stdout; EXIT its status
 *   @@ refused              the rule set is refused when opened: verify
 *   first stderr line       exits 2 and prints this line first
 *
 * {dir} stands for the copy's folder. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "readfile.h"

#ifndef SR_BINARY
#error "SR_BINARY must name the built executable"
#endif

static int spit(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    fputs(text, f);
    return fclose(f);
}

static int failures;

static void fail(const char *fmt, const char *a, const char *b)
{
    printf("FAIL: ");
    printf(fmt, a, b);
    printf("\n");
    failures++;
}

/* s with every {dir} replaced by dir; malloc'd. */
static char *subst(const char *s, const char *dir)
{
    size_t n = 0, cap = strlen(s) + 1;
    for (const char *p = s; (p = strstr(p, "{dir}")); p += 5)
        cap += strlen(dir);
    char *out = malloc(cap);
    while (*s) {
        if (strncmp(s, "{dir}", 5) == 0) {
            strcpy(out + n, dir);
            n += strlen(dir);
            s += 5;
        } else {
            out[n++] = *s++;
        }
    }
    out[n] = '\0';
    return out;
}

/* Replaces the one occurrence of old in the file at path by new. */
static void replace_in(const char *path, const char *old, const char *new)
{
    char *text = read_whole(path, NULL);
    if (!text) {
        fail("%s: cannot read%s", path, "");
        return;
    }
    /* whole lines: a match starts at the start of a line (old ends with one) */
    char *at = NULL;
    int count = 0;
    for (char *p = text; (p = strstr(p, old)); p++)
        if (p == text || p[-1] == '\n') {
            at = at ? at : p;
            count++;
        }
    if (count != 1) {
        fail("%s: the text to replace is not there exactly once:\n%s", path, old);
        free(text);
        return;
    }
    size_t before = (size_t)(at - text), ol = strlen(old), nl = strlen(new);
    char *out = malloc(strlen(text) - ol + nl + 1);
    memcpy(out, text, before);
    memcpy(out + before, new, nl);
    strcpy(out + before + nl, at + ol);
    spit(path, out);
    free(out);
    free(text);
}

/* Runs cmd, capturing stdout and stderr; returns the exit status. */
static int run(const char *cmd, char **out, char **err)
{
    char o[] = "/tmp/sr-broken-out-XXXXXX", e[] = "/tmp/sr-broken-err-XXXXXX";
    close(mkstemp(o));
    close(mkstemp(e));
    char *full = NULL;
    if (asprintf(&full, "cd '%s' && %s >'%s' 2>'%s'", SR_SOURCE_DIR, cmd, o, e) < 0)
        return -1;
    int rc = system(full);
    free(full);
    *out = read_whole(o, NULL);
    *err = read_whole(e, NULL);
    unlink(o);
    unlink(e);
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

typedef struct {
    char *buf;
    size_t len, cap;
} text_t;

static void text_add(text_t *t, const char *s, size_t n)
{
    if (t->len + n + 2 > t->cap) {
        t->cap = (t->len + n + 2) * 2;
        t->buf = realloc(t->buf, t->cap);
    }
    memcpy(t->buf + t->len, s, n);
    t->len += n;
    t->buf[t->len++] = '\n';
    t->buf[t->len] = '\0';
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: broken FILE.defect\n");
        return 2;
    }
    char *spec = read_whole(argv[1], NULL);
    if (!spec) {
        fprintf(stderr, "broken: cannot read %s\n", argv[1]);
        return 2;
    }
    char parent[] = "/tmp/sr-broken-XXXXXX";
    if (!mkdtemp(parent))
        return 2;
    char dir[256], cmd[1024];
    snprintf(dir, sizeof dir, "%s/1.0.0", parent);
    snprintf(cmd, sizeof cmd, "mkdir '%s' && cp -r '%s/rules/spine-metastasis-lung/1.0.0/.' '%s/'", dir,
             SR_SOURCE_DIR, dir);
    if (system(cmd) != 0)
        return 2;

    enum { NONE, EDIT, ADD, CHECK, REFUSED } mode = NONE;
    char file[512] = "", check_args[256] = "";
    int check_exit = -1, have_check = 0, have_refused = 0;
    text_t old = {0}, new = {0}, expect = {0}, refused = {0};

    /* the pending replacement of an edit section */
    #define FLUSH()                                                                                    \
        do {                                                                                           \
            if (mode == EDIT && old.len) {                                                             \
                replace_in(file, old.buf, new.len ? new.buf : "");                                     \
            } else if (mode == ADD) {                                                                  \
                spit(file, new.len ? new.buf : "");                                                    \
            }                                                                                          \
            old.len = new.len = 0;                                                                     \
            if (old.buf) old.buf[0] = '\0';                                                            \
            if (new.buf) new.buf[0] = '\0';                                                            \
        } while (0)

    char *save = NULL;
    for (char *line = strtok_r(spec, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        /* strtok_r skips empty lines: expected outputs have none, and an
         * empty line of a block is written "-" or "+" alone */
        if (strncmp(line, "@@ ", 3) == 0) {
            FLUSH();
            const char *arg = line + 3;
            if (strncmp(arg, "edit ", 5) == 0 || strncmp(arg, "add ", 4) == 0) {
                mode = arg[0] == 'e' ? EDIT : ADD;
                snprintf(file, sizeof file, "%s/%s", dir, strchr(arg, ' ') + 1);
            } else if (strncmp(arg, "remove ", 7) == 0) {
                char path[600];
                snprintf(path, sizeof path, "%s/%s", dir, arg + 7);
                if (unlink(path) != 0)
                    fail("cannot remove %s%s", path, "");
                mode = NONE;
            } else if (strncmp(arg, "check ", 6) == 0) {
                mode = CHECK;
                have_check = 1;
                char *end;
                check_exit = (int)strtol(arg + 6, &end, 10);
                snprintf(check_args, sizeof check_args, "%s", end);
            } else if (strcmp(arg, "refused") == 0) {
                mode = REFUSED;
                have_refused = 1;
            } else {
                fail("unknown section '%s'%s", line, "");
            }
            continue;
        }
        if (mode == NONE && line[0] == '#')
            continue;
        if (mode == EDIT || mode == ADD) {
            int minus = line[0] == '-' && (line[1] == ' ' || line[1] == '\0');
            int plus = line[0] == '+' && (line[1] == ' ' || line[1] == '\0');
            const char *body = line[1] ? line + 2 : "";
            if (minus && new.len) /* a new replacement starts */
                FLUSH();
            if (minus && mode == EDIT)
                text_add(&old, body, strlen(body));
            else if (plus)
                text_add(&new, body, strlen(body));
            else if (line[0] != '#')
                fail("a line of an edit must start with '- ' or '+ ': %s%s", line, "");
        } else if (mode == CHECK) {
            text_add(&expect, line, strlen(line));
        } else if (mode == REFUSED) {
            text_add(&refused, line, strlen(line));
        }
    }
    FLUSH();

    if (!have_check)
        fail("%s: no '@@ check' section%s", argv[1], "");
    char *out = NULL, *err = NULL;
    snprintf(cmd, sizeof cmd, "'%s' check --rules '%s'%s", SR_BINARY, dir, check_args);
    int rc = run(cmd, &out, &err);
    char *want = subst(expect.buf ? expect.buf : "", dir);
    if (!out || strcmp(out, want) != 0) {
        printf("--- expected (stdout of check)\n%s--- got\n%s--- stderr\n%s", want, out ? out : "", err ? err : "");
        failures++;
    }
    if (rc != check_exit) {
        char a[16], b[16];
        snprintf(a, sizeof a, "%d", check_exit);
        snprintf(b, sizeof b, "%d", rc);
        fail("check exited %s, expected %s", b, a);
    }
    free(want);
    free(out);
    free(err);

    if (have_refused) {
        snprintf(cmd, sizeof cmd, "'%s' verify --rules '%s'", SR_BINARY, dir);
        rc = run(cmd, &out, &err);
        want = subst(refused.buf ? refused.buf : "", dir);
        size_t first = strcspn(err ? err : "", "\n");
        if (rc != 2 || !err || strlen(want) != first + 1 || strncmp(err, want, first) != 0) {
            printf("--- expected verify to be refused (exit 2) with\n%s--- got exit %d, stderr\n%s", want, rc,
                   err ? err : "");
            failures++;
        }
        free(want);
        free(out);
        free(err);
    }

    snprintf(cmd, sizeof cmd, "rm -rf '%s'", parent);
    if (system(cmd) != 0)
        failures++;
    free(old.buf);
    free(new.buf);
    free(expect.buf);
    free(refused.buf);
    free(spec);
    printf("%s\n", failures ? "FAILED" : "ok");
    return failures ? 1 : 0;
}
