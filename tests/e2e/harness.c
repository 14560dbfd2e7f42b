/* harness.c -- see harness.h. */
#include "harness.h"
#include "readfile.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef SR_BINARY
#error "SR_BINARY must name the built executable"
#endif

char *slurp(const char *path)
{
    char *s = read_whole(path, NULL);
    return s ? s : strdup("");
}

run_t run_shell(const char *command)
{
    char out[] = "/tmp/sr-e2e-out-XXXXXX", err[] = "/tmp/sr-e2e-err-XXXXXX";
    close(mkstemp(out));
    close(mkstemp(err));
    size_t n = strlen(SR_SOURCE_DIR) + strlen(command) + 128;
    char *cmd = malloc(n);
    snprintf(cmd, n, "cd '%s' && ( %s ) >'%s' 2>'%s'", SR_SOURCE_DIR, command, out, err);
    int rc = system(cmd);
    free(cmd);
    run_t r = {slurp(out), slurp(err), WIFEXITED(rc) ? WEXITSTATUS(rc) : -1};
    unlink(out);
    unlink(err);
    return r;
}

run_t run(const char *args)
{
    size_t n = strlen(SR_BINARY) + strlen(args) + 8;
    char *cmd = malloc(n);
    snprintf(cmd, n, "'%s' %s", SR_BINARY, args);
    run_t r = run_shell(cmd);
    free(cmd);
    return r;
}

void run_free(run_t *r)
{
    free(r->out);
    free(r->err);
}
