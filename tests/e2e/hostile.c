/* hostile.c -- runs one hostile input through the built executable and
 * checks that it changes nothing but the error: one ctest per file, each
 * with a TIMEOUT (tests/CMakeLists.txt), so "rejected quickly" is checked
 * without a timing assertion.
 *
 *   hostile rules FILE.lua   appends FILE.lua to a copy of the shipped rule
 *                            set and evaluates two cases. Its "-- expect:"
 *                            line (or FILE.lua.expect) says what must happen:
 *                              load <stderr line>   the rule set is refused:
 *                                                   exit 2, nothing written
 *                              eval <message>       each case gets an error
 *                                                   record with this message:
 *                                                   exit 1
 *                            {dir} stands for the copy's folder.
 *   hostile case FILE        evaluates FILE (a name starting with "gen-" is
 *                            generated first: inputs too big to commit) and
 *                            compares stdout with FILE.expected, whose first
 *                            line is "exit N"; each further line is one
 *                            record, exact, or a prefix when it ends in "...".
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <yajl/yajl_tree.h>

#include "readfile.h"

#ifndef SR_BINARY
#error "SR_BINARY must name the built executable"
#endif

static int fail(const char *fmt, const char *a, const char *b)
{
    printf("FAIL: ");
    printf(fmt, a, b);
    printf("\n0 passed, 1 failed\n");
    return 1;
}

/* Replaces every {dir} in s by dir, and every {c*N} by N times the
 * character c; malloc'd. */
static char *subst(const char *s, const char *dir)
{
    size_t cap = strlen(s) + 1, n = 0;
    for (const char *p = s; (p = strchr(p, '{')); p++)
        cap += strlen(dir) + (p[2] == '*' ? strtoul(p + 3, NULL, 10) : 0);
    char *out = malloc(cap);
    while (*s) {
        char *end;
        unsigned long times;
        if (strncmp(s, "{dir}", 5) == 0) {
            strcpy(out + n, dir);
            n += strlen(dir);
            s += 5;
        } else if (s[0] == '{' && s[1] && s[2] == '*' && (times = strtoul(s + 3, &end, 10)) > 0 && *end == '}') {
            memset(out + n, s[1], times);
            n += times;
            s = end + 1;
        } else {
            out[n++] = *s++;
        }
    }
    out[n] = '\0';
    return out;
}

typedef struct {
    char *out, *err;
    int status;
} run_t;

static run_t run(const char *cmd_fmt, const char *a, const char *b)
{
    char out[] = "/tmp/sr-hostile-out-XXXXXX", err[] = "/tmp/sr-hostile-err-XXXXXX";
    close(mkstemp(out));
    close(mkstemp(err));
    char *cmd = NULL, *full = NULL;
    if (asprintf(&cmd, cmd_fmt, a, b) < 0 || asprintf(&full, "%s >'%s' 2>'%s'", cmd, out, err) < 0)
        exit(2);
    int rc = system(full);
    run_t r = {read_whole(out, NULL), read_whole(err, NULL), WIFEXITED(rc) ? WEXITSTATUS(rc) : -1};
    unlink(out);
    unlink(err);
    free(cmd);
    free(full);
    return r;
}

/* The "error.message" of the JSON record on the first line of text,
 * malloc'd, or NULL. */
static char *record_message(const char *text)
{
    char ebuf[128];
    char *line = strndup(text, strcspn(text, "\n"));
    yajl_val v = yajl_tree_parse(line, ebuf, sizeof ebuf);
    free(line);
    const char *path[] = {"error", "message", NULL};
    yajl_val m = v ? yajl_tree_get(v, path, yajl_t_string) : NULL;
    char *s = m ? strdup(m->u.string) : NULL;
    yajl_tree_free(v);
    return s;
}

static int hostile_rules(const char *file)
{
    char *text = read_whole(file, NULL);
    if (!text)
        return fail("cannot read %s%s", file, "");
    char *expect = NULL;
    char *at = strstr(text, "\n-- expect: ");
    if (at) {
        at += strlen("\n-- expect: ");
        expect = strndup(at, strcspn(at, "\n"));
    } else {
        char *side = NULL;
        if (asprintf(&side, "%s.expect", file) < 0)
            return 2;
        char *e = read_whole(side, NULL);
        free(side);
        if (!e)
            return fail("%s has no '-- expect:' line and no .expect file%s", file, "");
        expect = strndup(e, strcspn(e, "\n"));
        free(e);
    }
    free(text);
    char dir[] = "/tmp/sr-hostile-XXXXXX";
    if (!mkdtemp(dir))
        return fail("mkdtemp%s%s", "", "");
    char *cmd = NULL;
    if (asprintf(&cmd,
                 "cp -r '%s/rules/spine-metastasis-lung/1.0.0/.' '%s/' && cp '%s' '%s/hostile.lua' && "
                 "printf '  - hostile.lua\\n' >> '%s/manifest.yaml' && "
                 "printf 'id: H-1\\n---\\nid: H-2\\n' > '%s/cases.yaml'",
                 SR_SOURCE_DIR, dir, file, dir, dir, dir) < 0 || system(cmd) != 0)
        return fail("cannot prepare %s%s", dir, "");
    free(cmd);
    run_t r = run("'" SR_BINARY "' eval --rules '%s' '%s/cases.yaml'", dir, dir);
    int bad = 0;
    if (strncmp(expect, "load ", 5) == 0) {
        char *want = subst(expect + 5, dir);
        size_t n = strlen(want);
        if (r.status != 2 || r.out[0] || strncmp(r.err, want, n) != 0 || r.err[n] != '\n' || r.err[n + 1]) {
            printf("FAIL %s: the rule set must be refused\n  want: exit 2, stderr %s\n  got:  exit %d, stderr %s"
                   "  stdout: %.300s\n",
                   file, want, r.status, r.err, r.out);
            bad = 1;
        }
        free(want);
    } else if (strncmp(expect, "eval ", 5) == 0) {
        char *want = subst(expect + 5, dir);
        char *second = strchr(r.out, '\n');
        char *m1 = record_message(r.out);
        char *m2 = second ? record_message(second + 1) : NULL;
        int lines = 0;
        for (const char *p = r.out; *p; p++)
            lines += *p == '\n';
        if (r.status != 1 || lines != 2 || !m1 || !m2 || strcmp(m1, want) != 0 || strcmp(m2, want) != 0) {
            printf("FAIL %s: each case must get this error\n  want: exit 1, 2 records, message %s\n"
                   "  got:  exit %d, %d records, messages\n    %s\n    %s\n  stderr: %.400s\n",
                   file, want, r.status, lines, m1 ? m1 : "(none)", m2 ? m2 : "(none)", r.err);
            bad = 1;
        }
        free(m1);
        free(m2);
        free(want);
    } else {
        printf("FAIL %s: unknown expectation '%s'\n", file, expect);
        bad = 1;
    }
    if (!bad) {
        char *rm = NULL;
        if (asprintf(&rm, "rm -rf '%s'", dir) > 0 && system(rm) != 0)
            bad = 1;
        free(rm);
    }
    printf("%d passed, %d failed\n", !bad, bad);
    free(r.out);
    free(r.err);
    free(expect);
    return bad;
}

/* Inputs too big to commit, made at test time. Returns 0 on success. */
static int generate(const char *name, const char *path)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return 1;
    if (strcmp(name, "gen-deep-100000.yaml") == 0) {
        fputs("id: H-deep\nx: ", f);
        for (int i = 0; i < 100000; i++)
            fputc('[', f);
        for (int i = 0; i < 100000; i++)
            fputc(']', f);
        fputs("\n---\nid: H-after\n", f);
    } else if (strcmp(name, "gen-deep-100000.jsonl") == 0) {
        fputs("{\"id\": \"H-deep\", \"x\": ", f);
        for (int i = 0; i < 100000; i++)
            fputc('[', f);
        for (int i = 0; i < 100000; i++)
            fputc(']', f);
        fputs("}\n{\"id\": \"H-after\"}\n", f);
    } else if (strcmp(name, "gen-anchors-40000.yaml") == 0) {
        fputs("id: H-anchors\nx:\n", f);
        for (int i = 0; i < 40000; i++)
            fprintf(f, "  - &a%d %d\n", i, i);
        fputs("---\nid: H-after\n", f);
    } else if (strcmp(name, "gen-scalar-50mb.yaml") == 0 || strcmp(name, "gen-plain-50mb.yaml") == 0) {
        int quoted = name[4] == 's';
        fputs(quoted ? "id: H-scalar\nnote: \"" : "id: H-scalar\nnote: ", f);
        for (int i = 0; i < 50 * 1024; i++)
            fprintf(f, "%01024d", 0);
        fputs(quoted ? "\"\n---\nid: H-after\n" : "\n---\nid: H-after\n", f);
    } else if (strcmp(name, "gen-scalar-50mb.jsonl") == 0) {
        fputs("{\"id\": \"H-scalar\", \"note\": \"", f);
        for (int i = 0; i < 50 * 1024; i++)
            fprintf(f, "%01024d", 0);
        fputs("\"}\n{\"id\": \"H-after\"}\n", f);
    } else if (strcmp(name, "gen-scalar-70kb.yaml") == 0) {
        fputs("id: H-scalar\nnote: ", f);
        for (int i = 0; i < 70; i++)
            fprintf(f, "%01024d", 0);
        fputs("\n---\nid: H-after\n", f);
    } else if (strcmp(name, "gen-string-70kb.jsonl") == 0) {
        fputs("{\"id\": \"H-scalar\", \"note\": \"", f);
        for (int i = 0; i < 70; i++)
            fprintf(f, "%01024d", 0);
        fputs("\"}\n{\"id\": \"H-after\"}\n", f);
    } else if (strcmp(name, "gen-nodes-150000.yaml") == 0) {
        fputs("id: H-nodes\nx: [1", f);
        for (int i = 1; i < 150000; i++)
            fputs(",1", f);
        fputs("]\n---\nid: H-after\n", f);
    } else {
        fclose(f);
        return 1;
    }
    return fclose(f) != 0;
}

static int hostile_case(const char *file)
{
    const char *base = strrchr(file, '/');
    base = base ? base + 1 : file;
    char *expected_path = NULL, *input = NULL;
    if (asprintf(&expected_path, "%s.expected", file) < 0)
        return 2;
    char *expected = read_whole(expected_path, NULL);
    if (!expected)
        return fail("cannot read %s%s", expected_path, "");
    char tmp[] = "/tmp/sr-hostile-case-XXXXXX";
    int generated = strncmp(base, "gen-", 4) == 0;
    if (generated) {
        if (!mkdtemp(tmp) || asprintf(&input, "%s/%s", tmp, base) < 0 || generate(base, input) != 0)
            return fail("cannot generate %s%s", base, "");
    } else {
        input = strdup(file);
    }
    run_t r = run("'" SR_BINARY "' eval '%s'%s", input, "");
    int bad = 0, want_exit = -1;
    if (sscanf(expected, "exit %d", &want_exit) != 1)
        return fail("%s: the first line must be 'exit N'%s", expected_path, "");
    if (r.status != want_exit) {
        printf("FAIL %s: exit %d, expected %d\n  stderr: %.400s\n", base, r.status, want_exit, r.err);
        bad = 1;
    }
    char *e = strchr(expected, '\n');
    char *o = r.out;
    int n = 0;
    while (e && e[1]) {
        e++;
        size_t el = strcspn(e, "\n");
        size_t ol = o ? strcspn(o, "\n") : 0;
        int prefix = el >= 3 && strncmp(e + el - 3, "...", 3) == 0;
        size_t cmp = prefix ? el - 3 : el;
        if (!o || !*o || (prefix ? ol < cmp : ol != el) || strncmp(e, o, cmp) != 0) {
            printf("FAIL %s: record %d\n  want: %.*s\n  got:  %.*s\n", base, n, (int)el, e,
                   o && *o ? (int)(ol > 400 ? 400 : ol) : 6, o && *o ? o : "(none)");
            bad = 1;
            break;
        }
        n++;
        e += el;
        o += ol;
        if (*o == '\n')
            o++;
    }
    if (!bad && o && *o) {
        printf("FAIL %s: more records than expected: %.300s\n", base, o);
        bad = 1;
    }
    if (generated) {
        unlink(input);
        rmdir(tmp);
    }
    printf("%d passed, %d failed\n", !bad, bad);
    free(r.out);
    free(r.err);
    free(expected);
    free(expected_path);
    free(input);
    return bad;
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "rules") == 0)
        return hostile_rules(argv[2]);
    if (argc == 3 && strcmp(argv[1], "case") == 0)
        return hostile_case(argv[2]);
    fprintf(stderr, "usage: hostile rules FILE.lua | hostile case FILE\n");
    return 2;
}
