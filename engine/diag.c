/* diag.c -- the one error type: status, position, path, message; printed one way. */
#include "messages.h"
#include "spinerules.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

void sr_diag_init(sr_diag_t *d) { memset(d, 0, sizeof *d); }

void sr_diag_free(sr_diag_t *d)
{
    if (!d)
        return;
    free(d->file);
    free(d->path);
    free(d->message);
    free(d->note);
    sr_diag_init(d);
}

const char *sr_status_name(sr_status_t s)
{
    switch (s) {
    case SR_OK: return "ok";
    case SR_DONE: return "done";
    case SR_ERR_IO: return "I/O error";
    case SR_ERR_YAML: return "syntax error";
    case SR_ERR_SCHEMA: return "schema error";
    case SR_ERR_RULE: return "rule error";
    case SR_ERR_LIMIT: return "limit exceeded";
    case SR_ERR_NOMEM: return "out of memory";
    case SR_ERR_USAGE: return "usage error";
    }
    return "error";
}

void sr_diag_print(const sr_diag_t *d, FILE *f)
{
    if (d->file) {
        fputs(d->file, f);
        if (d->line > 0) {
            fprintf(f, ":%d", d->line);
            if (d->column > 0)
                fprintf(f, ":%d", d->column);
        }
        fputs(": ", f);
    }
    fprintf(f, "%s: ", sr_msg(SR_MSG_ERROR));
    if (d->path && d->path[0])
        fprintf(f, "%s: ", d->path);
    fputs(d->message ? d->message : sr_status_name(d->status), f);
    fputc('\n', f);
    if (d->note)
        fprintf(f, "  %s: %s\n", sr_msg(SR_MSG_NOTE), d->note);
}

void sr_diag_set(sr_diag_t *d, sr_status_t st, const char *file, int line, int col,
                 const char *path, const char *fmt, ...)
{
    if (!d)
        return;
    sr_diag_free(d);
    d->status = st;
    d->file = sr_strdup(file);
    d->line = line;
    d->column = col;
    d->path = sr_strdup(path);
    va_list ap;
    va_start(ap, fmt);
    d->message = sr_vasprintf(sr_tr(fmt), ap); /* the catalogue's French under --lang fr */
    va_end(ap);
}
