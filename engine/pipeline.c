/* pipeline.c -- the eval pipeline: the input is cut into chunks at document
 * boundaries, chunks are evaluated by N workers (one engine, so one
 * lua_State, each), and records are written in input order, so the output is
 * byte-identical whatever the number of workers. */
#include <errno.h>
#include <lauxlib.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "csvin.h"
#include "engine.h"
#include "lvalue.h"
#include "reader.h"
#include "ruleset.h"
#include "schema.h"
#include "util.h"
#include "validate.h"
#include "writer.h"

/* Bytes of input per chunk. A chunk's records stay buffered until it is
 * written, about 10 KB a realistic case (some 40 cases here): with two
 * workers up to six chunks are in flight, and 64 KiB chunks held about 2.5 MB
 * more at the peak than these (docs/performance.md). Handing a chunk over
 * costs far less than evaluating its cases. */
#define CHUNK_TARGET (32u << 10)
/* Documents per chunk at most: a record's size does not follow its case's
 * (an almost empty case still writes about 9 KB of unknowns), so tiny cases
 * would otherwise hold 32 KiB / 18 bytes of them, some 15 MB, in each chunk.
 * Realistic cases (500 bytes and more) fill CHUNK_TARGET first. */
#define CHUNK_MAX_DOCS 64
/* A written chunk is kept for the next one (its input, record and index
 * buffers reused: no allocation, no fresh page to fault in, the same peak at
 * any case count), unless its records took more than this. */
#define CHUNK_KEEP_BYTES (4u << 20)
#define MAX_WORKERS 64

/* One chunk of input and, once evaluated, its records. */
typedef struct chunk {
    size_t seq;
    char *data;          /* the input bytes (whole documents or lines) */
    size_t len, data_cap;
    long long line_base; /* newlines of the file before the chunk */
    /* results */
    sr_writer_t *w;      /* the records */
    char *diag;          /* the diagnostics (from open_memstream) */
    size_t diag_len;
    sr_rec_meta_t *meta; /* per record: failed, id, and byte lengths */
    size_t *out_len, *diag_lens;
    size_t nrec, cap;
    int done;
    struct chunk *next;  /* the work queue */
    struct chunk *order; /* the chunks not yet written, in input order */
} chunk_t;

/* Shared state of one run. */
typedef struct {
    sr_engine_t **engines;
    int jobs;
    const char *name;        /* input name for messages */
    sr_input_format_t fmt;   /* detected once, for every chunk */
    sr_output_format_t out_fmt;
    pthread_mutex_t mu;
    pthread_cond_t cv_work;  /* a chunk is waiting, or the run is over */
    pthread_cond_t cv_done;  /* a chunk was evaluated */
    chunk_t *queue_head, *queue_tail; /* chunks not yet taken by a worker */
    int closing;
    int failed_alloc;
} run_t;

/* Forgets the chunk's records (their ids and diagnostics); keeps its buffers. */
static void chunk_clear(chunk_t *c)
{
    for (size_t i = 0; i < c->nrec; i++)
        free(c->meta[i].id);
    c->nrec = 0;
    free(c->diag);
    c->diag = NULL;
    c->diag_len = 0;
}

static void chunk_free(chunk_t *c)
{
    if (!c)
        return;
    chunk_clear(c);
    free(c->meta);
    free(c->out_len);
    free(c->diag_lens);
    sr_writer_free(c->w);
    free(c->data);
    free(c);
}

/* Chunks written and kept for reuse (only the main thread takes and returns
 * them), at most `max`. */
typedef struct {
    chunk_t *free;
    size_t n, max;
} chunk_pool_t;

/* Returns a written chunk to the pool, emptied but with its buffers. */
static void chunk_recycle(chunk_pool_t *pool, chunk_t *c)
{
    if (pool->n >= pool->max || (c->w && sr_writer_capacity(c->w) > CHUNK_KEEP_BYTES)) {
        chunk_free(c);
        return;
    }
    chunk_clear(c);
    c->len = 0;
    c->done = 0;
    c->order = NULL;
    c->next = pool->free;
    pool->free = c;
    pool->n++;
}

/* A chunk able to hold len bytes of input: a kept one, or a new one; NULL
 * when memory is short. */
static chunk_t *chunk_take(chunk_pool_t *pool, size_t len)
{
    chunk_t *c = pool->free;
    if (c) {
        pool->free = c->next;
        pool->n--;
        c->next = NULL;
    } else if (!(c = calloc(1, sizeof *c))) {
        return NULL;
    }
    if (c->data_cap < len) {
        char *d = realloc(c->data, len);
        if (!d) {
            chunk_free(c);
            return NULL;
        }
        c->data = d;
        c->data_cap = len;
    }
    return c;
}

static void pool_free(chunk_pool_t *pool)
{
    while (pool->free) {
        chunk_t *c = pool->free;
        pool->free = c->next;
        chunk_free(c);
    }
    pool->n = 0;
}

static int chunk_add(chunk_t *c, const sr_rec_meta_t *m, size_t out_len, size_t diag_len)
{
    if (c->nrec == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 64;
        sr_rec_meta_t *a = realloc(c->meta, cap * sizeof *a);
        if (a)
            c->meta = a;
        size_t *b = realloc(c->out_len, cap * sizeof *b);
        if (b)
            c->out_len = b;
        size_t *g = realloc(c->diag_lens, cap * sizeof *g);
        if (g)
            c->diag_lens = g;
        if (!a || !b || !g)
            return -1;
        c->cap = cap;
    }
    c->meta[c->nrec] = *m;
    c->out_len[c->nrec] = out_len;
    c->diag_lens[c->nrec] = diag_len;
    c->nrec++;
    return 0;
}

/* sr_eval_document in protected mode: the few Lua steps it takes outside
 * the sandbox's own protected calls (adding id and ruleset to a result,
 * building an error record) may then fail for memory without aborting. */
typedef struct {
    sr_engine_t *e;
    sr_reader_t *rd;
    sr_writer_t *w;
    FILE *diag;
    sr_rec_meta_t *meta;
    sr_status_t st;
} doc_call_t;

static int write_error_protected(lua_State *L)
{
    doc_call_t *a = lua_touserdata(L, 1);
    const sr_diag_t *d = lua_touserdata(L, 2);
    sr_push_error_record(L, sr_reader_doc_id(a->rd), d);
    sr_diag_t wd;
    sr_diag_init(&wd);
    sr_status_t st = sr_writer_record(a->w, L, -1, &wd);
    sr_diag_free(&wd);
    if (st != SR_OK)
        return luaL_error(L, "cannot write the error record");
    return 0;
}

static int eval_document_protected(lua_State *L)
{
    doc_call_t *a = lua_touserdata(L, 1);
    a->st = sr_eval_document(a->e, a->rd, a->w, a->diag, a->meta);
    return 0;
}

/* Evaluates the next document; on a memory error outside the rules, writes
 * an error record for it instead (or gives up the chunk when even that
 * fails). Returns SR_OK, SR_DONE or SR_ERR_NOMEM. */
static sr_status_t eval_next(sr_engine_t *e, sr_reader_t *rd, sr_writer_t *w, FILE *diag, sr_rec_meta_t *m)
{
    lua_State *L = e->sb.L;
    int top = lua_gettop(L);
    size_t before;
    sr_writer_data(w, &before);
    doc_call_t a = {e, rd, w, diag, m, SR_OK};
    memset(m, 0, sizeof *m);
    lua_pushcfunction(L, eval_document_protected);
    lua_pushlightuserdata(L, &a);
    if (lua_pcall(L, 1, 0, 0) == LUA_OK)
        return a.st;
    lua_settop(L, top);
    sr_writer_truncate(w, before); /* nothing of a half-written record */
    lua_gc(L, LUA_GCCOLLECT);
    free(m->id);
    memset(m, 0, sizeof *m);
    m->failed = 1;
    sr_diag_t d;
    sr_diag_init(&d);
    sr_diag_set(&d, SR_ERR_NOMEM, sr_reader_name(rd), sr_reader_doc_line(rd), 0, NULL,
                "out of memory while evaluating the case");
    if (diag)
        sr_diag_print(&d, diag);
    a.st = SR_ERR_NOMEM;
    lua_pushcfunction(L, write_error_protected);
    lua_pushlightuserdata(L, &a);
    lua_pushlightuserdata(L, &d);
    int rc = lua_pcall(L, 2, 0, 0);
    lua_settop(L, top);
    sr_diag_free(&d);
    if (rc != LUA_OK) {
        sr_writer_truncate(w, before);
        return SR_ERR_NOMEM;
    }
    return SR_OK;
}

/* Evaluates every document of chunk c with engine e. */
static void chunk_eval(run_t *run, sr_engine_t *e, chunk_t *c)
{
    sr_diag_t d;
    sr_diag_init(&d);
    sr_reader_t *rd = NULL;
    FILE *diag = open_memstream(&c->diag, &c->diag_len);
    if (c->w)
        sr_writer_clear(c->w);
    else
        c->w = sr_writer_new(run->out_fmt);
    sr_writer_set_engine(c->w, e);
    if (!diag || !c->w || sr_reader_open_mem(&rd, run->name, c->data, c->len, run->fmt, NULL, &d) != SR_OK) {
        run->failed_alloc = 1;
        goto done;
    }
    sr_reader_set_line_base(rd, c->line_base);
    e->sb.log_out = diag; /* the rules' log() goes with the diagnostics, in order */
    for (;;) {
        size_t before_out, before_diag;
        sr_writer_data(c->w, &before_out);
        fflush(diag);
        before_diag = c->diag_len;
        sr_rec_meta_t m;
        sr_status_t st = eval_next(e, rd, c->w, diag, &m);
        if (st == SR_ERR_NOMEM)
            run->failed_alloc = 1;
        if (st != SR_OK)
            break;
        size_t after_out;
        sr_writer_data(c->w, &after_out);
        fflush(diag);
        if (chunk_add(c, &m, after_out - before_out, c->diag_len - before_diag) != 0) {
            free(m.id);
            run->failed_alloc = 1;
            break;
        }
    }
    e->sb.log_out = NULL;
done:
    sr_reader_close(rd);
    if (diag)
        fclose(diag);
    sr_diag_free(&d);
}

static void *worker_main(void *arg)
{
    void **args = arg;
    run_t *run = args[0];
    sr_engine_t *e = args[1];
    pthread_mutex_lock(&run->mu);
    for (;;) {
        while (!run->queue_head && !run->closing)
            pthread_cond_wait(&run->cv_work, &run->mu);
        if (!run->queue_head)
            break;
        chunk_t *c = run->queue_head;
        run->queue_head = c->next;
        if (!run->queue_head)
            run->queue_tail = NULL;
        pthread_mutex_unlock(&run->mu);
        chunk_eval(run, e, c);
        pthread_mutex_lock(&run->mu);
        c->done = 1;
        pthread_cond_broadcast(&run->cv_done);
    }
    pthread_mutex_unlock(&run->mu);
    return NULL;
}

/* ---- cutting the input ---- */

typedef struct {
    FILE *f;
    int own;
    sr_buf_t buf;        /* bytes read and not yet handed out */
    int eof;
    long long lines;     /* newlines handed out so far */
    size_t max_doc;      /* the reader's document limit */
    unsigned long long bytes_read;
} cutter_t;

static int is_doc_marker(const char *p, const char *end)
{
    if (end - p < 3 || p[0] != '-' || p[1] != '-' || p[2] != '-')
        return 0;
    return end - p == 3 || p[3] == ' ' || p[3] == '\t' || p[3] == '\r' || p[3] == '\n';
}

/* The start of the lines of directives (%YAML, %TAG) right before offset i
 * of a YAML stream, or i: they belong to the document after them. */
static size_t before_directives(const char *s, size_t i)
{
    while (i > 1) {
        size_t ls = i - 1;
        while (ls > 0 && s[ls - 1] != '\n')
            ls--;
        if (s[ls] != '%')
            break;
        i = ls;
    }
    return i;
}

/* Where a chunk of buf may end: after the last complete line (JSON Lines) or
 * before the last line that starts a document (YAML); 0 when there is none. */
static size_t cut_point(const char *s, size_t n, sr_input_format_t fmt)
{
    if (fmt == SR_IN_JSONL) {
        for (size_t i = n; i > 0; i--)
            if (s[i - 1] == '\n')
                return i;
        return 0;
    }
    for (size_t i = n; i > 0; i--) {
        if (s[i - 1] == '\n' && is_doc_marker(s + i, s + n) && i < n)
            return before_directives(s, i);
    }
    return 0;
}

/* Where a chunk of buf must end to hold at most max documents: after its
 * max-th line (JSON Lines) or before the max-th line that starts a document
 * after the first (YAML), as cut_point decides; 0 when buf holds fewer. */
static size_t cut_after_docs(const char *s, size_t n, sr_input_format_t fmt, size_t max)
{
    size_t found = 0;
    for (const char *p = s; (p = memchr(p, '\n', (size_t)(s + n - p))); p++) {
        size_t i = (size_t)(p - s) + 1;
        if (fmt == SR_IN_JSONL) {
            if (++found == max)
                return i;
        } else if (i < n && is_doc_marker(s + i, s + n) && ++found == max) {
            return before_directives(s, i);
        }
    }
    return 0;
}

static size_t count_lines(const char *s, size_t n)
{
    size_t k = 0;
    for (const char *p = s; (p = memchr(p, '\n', (size_t)(s + n - p))); p++)
        k++;
    return k;
}

/* Reads more input into the cutter's buffer. Returns bytes read, 0 at the
 * end (ct->eof) or on error (*err). */
static size_t cutter_read(cutter_t *ct, int *err)
{
    if (sr_buf_reserve(&ct->buf, CHUNK_TARGET) != 0) {
        *err = ENOMEM;
        return 0;
    }
    size_t got = fread(ct->buf.data + ct->buf.len, 1, CHUNK_TARGET, ct->f);
    ct->bytes_read += got;
    ct->buf.len += got;
    if (got == 0) {
        if (ferror(ct->f))
            *err = errno ? errno : EIO;
        ct->eof = 1;
    }
    return got;
}

/* Drops the first n bytes of the buffer, counting their lines. */
static void cutter_drop(cutter_t *ct, size_t n)
{
    ct->lines += (long long)count_lines(ct->buf.data, n);
    memmove(ct->buf.data, ct->buf.data + n, ct->buf.len - n);
    ct->buf.len -= n;
}

/* After a forced cut inside an oversized document (or line): drops the rest
 * of it, up to the next document (or line), as the reader's own recovery
 * does, so the next chunk starts on a boundary. */
static void cutter_skip(cutter_t *ct, sr_input_format_t fmt, int *err)
{
    for (;;) {
        const char *s = ct->buf.data;
        for (size_t i = 0; i < ct->buf.len; i++) {
            if (fmt == SR_IN_JSONL ? s[i] == '\n'
                                   : (i > 0 && s[i - 1] == '\n' && ct->buf.len - i >= 4 &&
                                      is_doc_marker(s + i, s + ct->buf.len))) {
                cutter_drop(ct, fmt == SR_IN_JSONL ? i + 1 : i);
                return;
            }
        }
        /* keep a few bytes: a marker may straddle two reads */
        size_t keep = ct->buf.len < 4 ? ct->buf.len : 4;
        cutter_drop(ct, ct->buf.len - keep);
        if (cutter_read(ct, err) == 0) {
            cutter_drop(ct, ct->buf.len);
            return;
        }
    }
}

/* Reads until the buffer holds a cut point or the input ends. Returns a new
 * chunk, or NULL at the end of input (or on error: *err). */
static chunk_t *cutter_next(cutter_t *ct, sr_input_format_t fmt, chunk_pool_t *pool, int *err)
{
    *err = 0;
    size_t cut = 0;
    int forced = 0;
    for (;;) {
        if (ct->buf.len >= CHUNK_TARGET || ct->eof) {
            cut = cut_after_docs(ct->buf.data, ct->buf.len, fmt, CHUNK_MAX_DOCS);
            if (!cut)
                cut = ct->eof ? ct->buf.len : cut_point(ct->buf.data, ct->buf.len, fmt);
            if (cut)
                break;
            if (ct->buf.len == 0)
                return NULL;
            /* no boundary yet: a large document. Past twice the document
             * limit the reader refuses it anyway: hand out what we have and
             * drop the rest of it. */
            if (ct->buf.len > 2 * ct->max_doc + CHUNK_TARGET) {
                cut = ct->buf.len;
                forced = 1;
                break;
            }
        }
        if (cutter_read(ct, err) == 0 && *err)
            return NULL;
    }
    chunk_t *c = chunk_take(pool, cut);
    if (!c) {
        *err = ENOMEM;
        return NULL;
    }
    memcpy(c->data, ct->buf.data, cut);
    c->len = cut;
    c->line_base = ct->lines;
    cutter_drop(ct, cut);
    if (forced)
        cutter_skip(ct, fmt, err);
    return c;
}

/* ---- writing in order ---- */

typedef struct {
    FILE *out;
    FILE *diag_out;
    sr_idset_t *ids;
    lua_State *L;            /* for duplicate-id error records */
    sr_writer_t *w;
    const char *name;
    sr_run_stats_t *stats;
    size_t records;
    int io_error;
    sr_diag_t unchecked;     /* the duplicate-id check failed: from where, why */
    /* progress */
    int progress;
    struct timespec start, last;
    unsigned long long total_bytes;
    const unsigned long long *bytes_read;
} sink_t;

static double seconds_since(const struct timespec *t)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - t->tv_sec) + (double)(now.tv_nsec - t->tv_nsec) / 1e9;
}

static void progress_line(sink_t *s, int final)
{
    if (!s->progress)
        return;
    if (!final && seconds_since(&s->last) < 0.25)
        return;
    clock_gettime(CLOCK_MONOTONIC, &s->last);
    double el = seconds_since(&s->start);
    double rate = el > 0 ? (double)s->records / el : 0;
    char left[48] = "";
    if (s->total_bytes && *s->bytes_read && !final) {
        double frac = (double)*s->bytes_read / (double)s->total_bytes;
        if (frac > 0.01 && frac <= 1.0)
            snprintf(left, sizeof left, ", about %.0f s left", el / frac - el);
    }
    fprintf(stderr, "\r%s: %zu cases, %.0f cases/s, %zu errors%s\033[K", s->name, s->records, rate,
            s->stats ? s->stats->failed : 0, left);
    if (final)
        fputc('\n', stderr);
    fflush(stderr);
}

static void sink_write(sink_t *s, const char *p, size_t n)
{
    if (n && fwrite(p, 1, n, s->out) != n && !s->io_error)
        s->io_error = errno ? errno : EIO;
}

/* Records of a chunk that are to be written and not yet written: n bytes
 * from p. Records are about 10 KB, past stdio's buffer, so each fwrite is a
 * system call: the consecutive ones go out in one. */
typedef struct {
    const char *p;
    size_t n;
} span_t;

static void span_flush(sink_t *s, span_t *sp)
{
    sink_write(s, sp->p, sp->n);
    sp->p += sp->n;
    sp->n = 0;
}

/* Writes one record (n bytes at rec, which follows the span), or, for a
 * duplicate id, the error that replaces it; diagnostics come right before
 * their record, as when each record is written at once. */
static void sink_record(sink_t *s, span_t *sp, const char *rec, size_t n, const char *dg, size_t dn,
                        const sr_rec_meta_t *m)
{
    int first_line = 0;
    int dup = m->id ? sr_idset_add(s->ids, m->id, m->id_len, m->id_line, &first_line) : 0;
    if (dup < 0) /* the record is written unchecked; the run fails at its end */
        sr_eval_id_unchecked(&s->unchecked, s->ids, s->name, m->id_line, m->id_col);
    if (dup == 1) {
        span_flush(s, sp);
        sr_buf_t msg;
        sr_buf_init(&msg);
        sr_buf_puts(&msg, "expected a case id unique in this file, found ");
        sr_schema_quote(&msg, m->id, m->id_len);
        sr_buf_printf(&msg, " again (first at line %d)", first_line);
        sr_diag_t d;
        sr_diag_init(&d);
        sr_diag_set(&d, SR_ERR_SCHEMA, s->name, m->id_line, m->id_col, "id", "%s",
                    msg.data ? msg.data : "duplicate id");
        if (s->diag_out)
            sr_diag_print(&d, s->diag_out);
        int top = lua_gettop(s->L);
        sr_push_error_record(s->L, m->id, &d);
        sr_writer_clear(s->w);
        sr_diag_t wd;
        sr_diag_init(&wd);
        sr_writer_record(s->w, s->L, -1, &wd);
        sr_diag_free(&wd);
        lua_settop(s->L, top);
        size_t rn;
        const char *r = sr_writer_data(s->w, &rn);
        sink_write(s, r, rn);
        sp->p = rec + n; /* the evaluated record is dropped */
        sr_diag_free(&d);
        sr_buf_free(&msg);
        if (s->stats)
            s->stats->failed++;
    } else {
        if (s->diag_out && dn) {
            span_flush(s, sp);
            fwrite(dg, 1, dn, s->diag_out);
        }
        sp->n += n;
        if (m->failed && s->stats)
            s->stats->failed++;
    }
    s->records++;
    if (s->stats)
        s->stats->cases++;
    progress_line(s, 0);
}

static void sink_chunk(sink_t *s, chunk_t *c)
{
    size_t len;
    const char *out = c->w ? sr_writer_data(c->w, &len) : "";
    const char *dg = c->diag ? c->diag : "";
    span_t sp = {out, 0};
    size_t off = 0, doff = 0;
    for (size_t i = 0; i < c->nrec; i++) {
        sink_record(s, &sp, out + off, c->out_len[i], dg + doff, c->diag_lens[i], &c->meta[i]);
        off += c->out_len[i];
        doff += c->diag_lens[i];
    }
    span_flush(s, &sp);
}

/* One step towards writing the oldest pending chunk: writes it (and keeps
 * it for reuse) when it is done and returns 1; otherwise evaluates one queued chunk
 * with engine 0, or waits for a worker, and returns 0. One chunk at a time,
 * so that the caller refills the queue in between and no worker starves. */
static int step_oldest(run_t *run, sr_engine_t *e, sink_t *sink, chunk_pool_t *pool, chunk_t **pending_head)
{
    chunk_t *oldest = *pending_head;
    pthread_mutex_lock(&run->mu);
    if (oldest->done) {
        pthread_mutex_unlock(&run->mu);
        *pending_head = oldest->order;
        sink_chunk(sink, oldest);
        chunk_recycle(pool, oldest);
        return 1;
    }
    if (run->queue_head) {
        chunk_t *mine = run->queue_head;
        run->queue_head = mine->next;
        if (!run->queue_head)
            run->queue_tail = NULL;
        pthread_mutex_unlock(&run->mu);
        chunk_eval(run, e, mine);
        pthread_mutex_lock(&run->mu);
        mine->done = 1;
    } else {
        pthread_cond_wait(&run->cv_done, &run->mu);
    }
    pthread_mutex_unlock(&run->mu);
    return 0;
}

/* ---- the run ---- */

/* Opens the extra engines the workers need (engine 0 is e itself). A worker
 * runs what engine 0 was opened to run: when its rule set has the same
 * digest (the same manifest and rule files, read again), engine 0's checks
 * at open stand for it too and are not run again (about a quarter of an
 * open); a rule set changed on disk in between is checked afresh. Their
 * prelude is engine 0's, as bytecode (sr_prelude_share). */
static sr_status_t open_workers(sr_engine_t *e, int jobs, sr_diag_t *d)
{
    if (e->nworkers >= jobs - 1)
        return SR_OK;
    sr_engine_t **w = realloc(e->workers, (size_t)(jobs - 1) * sizeof *w);
    if (!w) {
        sr_diag_set(d, SR_ERR_NOMEM, NULL, 0, 0, NULL, "out of memory");
        return SR_ERR_NOMEM;
    }
    e->workers = w;
    sr_prelude_share(e); /* the workers' engines load engine 0's prelude bytecode */
    while (e->nworkers < jobs - 1) {
        sr_engine_t *w0 = NULL;
        sr_status_t st = sr_engine_open_unlinted(&w0, e->dir, d);
        if (st == SR_OK && strcmp(sr_engine_ruleset_digest(w0), sr_engine_ruleset_digest(e)) != 0)
            st = sr_lint_at_open(w0, d);
        if (st != SR_OK) {
            sr_engine_close(w0);
            return st;
        }
        e->workers[e->nworkers] = w0;
        memcpy(e->workers[e->nworkers]->lang, e->lang, sizeof e->lang);
        e->nworkers++;
    }
    return SR_OK;
}

static int default_jobs(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > MAX_WORKERS ? MAX_WORKERS : (int)n;
}

void sr_engine_set_jobs(sr_engine_t *e, int jobs) { e->jobs = jobs; }
void sr_engine_set_progress(sr_engine_t *e, int on) { e->progress = on; }

sr_status_t sr_engine_eval_file(sr_engine_t *e, const char *path, sr_input_format_t in_fmt,
                                sr_output_format_t out_fmt, FILE *out, FILE *diag_out,
                                sr_run_stats_t *stats, sr_diag_t *d)
{
    if (sr_csvin_wanted(path, in_fmt)) /* rows of a spreadsheet: one worker, in order */
        return sr_eval_csv_file(e, path, NULL, 0, out_fmt, out, diag_out, stats, d);
    int is_stdin = strcmp(path, "-") == 0;
    const char *name = is_stdin ? "<stdin>" : path;
    cutter_t ct;
    memset(&ct, 0, sizeof ct);
    sr_buf_init(&ct.buf);
    ct.f = is_stdin ? stdin : fopen(path, "rb");
    if (!ct.f) {
        sr_diag_set(d, SR_ERR_IO, path, 0, 0, NULL, "cannot open: %s", strerror(errno));
        return SR_ERR_IO;
    }
    ct.own = !is_stdin;
    sr_reader_limits_t lim;
    sr_reader_default_limits(&lim);
    ct.max_doc = lim.max_doc_bytes;

    /* the format is decided once for the whole input, from its first bytes */
    sr_input_format_t fmt = in_fmt;
    if (fmt == SR_IN_AUTO) {
        if (sr_buf_reserve(&ct.buf, CHUNK_TARGET) == 0) {
            size_t got = fread(ct.buf.data, 1, CHUNK_TARGET, ct.f);
            ct.buf.len = got;
            ct.bytes_read = got;
            if (got < CHUNK_TARGET && !ferror(ct.f))
                ct.eof = feof(ct.f);
        }
        sr_reader_t *probe = NULL;
        sr_diag_t pd;
        sr_diag_init(&pd);
        if (sr_reader_open_mem(&probe, name, ct.buf.data ? ct.buf.data : "", ct.buf.len, SR_IN_AUTO, NULL, &pd) == SR_OK)
            fmt = sr_reader_format(probe);
        else
            fmt = SR_IN_YAML;
        sr_reader_close(probe);
        sr_diag_free(&pd);
    }

    run_t run;
    memset(&run, 0, sizeof run);
    run.name = name;
    run.fmt = fmt;
    run.out_fmt = out_fmt;
    pthread_mutex_init(&run.mu, NULL);
    pthread_cond_init(&run.cv_work, NULL);
    pthread_cond_init(&run.cv_done, NULL);

    sink_t sink;
    memset(&sink, 0, sizeof sink);
    sr_diag_init(&sink.unchecked);
    sink.out = out;
    sink.diag_out = diag_out;
    sink.name = name;
    sink.stats = stats;
    sink.ids = sr_idset_new();
    sink.w = sr_writer_new(out_fmt);
    sr_writer_set_engine(sink.w, e);
    sink.L = e->sb.L;
    sink.progress = e->progress;
    sink.bytes_read = &ct.bytes_read;
    clock_gettime(CLOCK_MONOTONIC, &sink.start);
    sink.last = sink.start;
    struct stat sst;
    if (!is_stdin && stat(path, &sst) == 0 && S_ISREG(sst.st_mode))
        sink.total_bytes = (unsigned long long)sst.st_size;

    int jobs = e->jobs > 0 ? e->jobs : default_jobs();
    pthread_t threads[MAX_WORKERS];
    void *targs[MAX_WORKERS][2];
    int nthreads = 0;
    sr_status_t st = SR_OK;
    chunk_t *pending_head = NULL, *pending_tail = NULL; /* in input order, not yet written */
    chunk_pool_t pool = {NULL, 0, 0};
    size_t in_flight = 0, seq = 0;
    int rerr = 0;

    if (!sink.ids || !sink.w) {
        st = SR_ERR_NOMEM;
        sr_diag_set(d, st, NULL, 0, 0, NULL, "out of memory");
        goto cleanup;
    }
    /* chunks in flight (queued, being evaluated, or done and not yet
     * written): enough that a worker always finds one queued while the main
     * thread evaluates or writes, few enough to keep memory flat */
    size_t cap = (size_t)(2 * jobs + 2);
    pool.max = cap;
    int eof = 0;
    for (;;) {
        if (!eof && (in_flight < cap || nthreads == 0)) {
            chunk_t *c = cutter_next(&ct, fmt, &pool, &rerr);
            if (!c) {
                eof = 1;
                continue;
            }
            c->seq = seq++;
            if (jobs <= 1 || (seq == 1 && ct.eof && ct.buf.len == 0)) {
                /* one worker, or an input that fits one chunk: no thread at all */
                chunk_eval(&run, e, c);
                sink_chunk(&sink, c);
                chunk_recycle(&pool, c);
                if (run.failed_alloc)
                    eof = 1;
                continue;
            }
            if (nthreads == 0) {
                /* the second engine is opened only when the input needs it */
                if ((st = open_workers(e, jobs, d)) != SR_OK) {
                    chunk_free(c);
                    goto cleanup;
                }
                /* engines 1..jobs-1 run in threads; engine 0 stays with the
                 * main thread, which cuts, helps evaluate and writes in order */
                for (int i = 0; i < jobs - 1; i++) {
                    targs[i][0] = &run;
                    targs[i][1] = e->workers[i];
                    if (pthread_create(&threads[i], NULL, worker_main, targs[i]) != 0)
                        break;
                    nthreads++;
                }
                if (nthreads == 0) {
                    chunk_free(c);
                    st = SR_ERR_NOMEM;
                    sr_diag_set(d, st, NULL, 0, 0, NULL, "cannot start worker threads");
                    goto cleanup;
                }
            }
            pthread_mutex_lock(&run.mu);
            if (run.queue_tail)
                run.queue_tail->next = c;
            else
                run.queue_head = c;
            run.queue_tail = c;
            pthread_cond_signal(&run.cv_work);
            pthread_mutex_unlock(&run.mu);
            if (pending_tail)
                pending_tail->order = c;
            else
                pending_head = c;
            pending_tail = c;
            in_flight++;
            continue;
        }
        if (!pending_head)
            break;
        if (step_oldest(&run, e, &sink, &pool, &pending_head)) {
            in_flight--;
            if (!pending_head)
                pending_tail = NULL;
        }
    }
    if (rerr) {
        st = SR_ERR_IO;
        sr_diag_set(d, st, path, 0, 0, NULL, "read error: %s", strerror(rerr));
    } else if (run.failed_alloc) {
        st = SR_ERR_NOMEM;
        sr_diag_set(d, st, path, 0, 0, NULL, "out of memory");
    } else if (sink.io_error) {
        st = SR_ERR_IO;
        sr_diag_set(d, st, NULL, 0, 0, NULL, "cannot write the results: %s", strerror(sink.io_error));
    } else if (sink.unchecked.status != SR_OK) {
        st = sink.unchecked.status;
        sr_diag_free(d);
        *d = sink.unchecked;
        sr_diag_init(&sink.unchecked);
    }
    if (sink.unchecked.status != SR_OK && diag_out) /* not the run's failure: say it too */
        sr_diag_print(&sink.unchecked, diag_out);
    if (st == SR_OK && sink.records == 0 && diag_out) /* an empty input is likely a mistake: say so */
        fprintf(diag_out, "%s: warning: no case in this file\n", name);
    progress_line(&sink, 1);

cleanup:
    pthread_mutex_lock(&run.mu);
    run.closing = 1;
    pthread_cond_broadcast(&run.cv_work);
    pthread_mutex_unlock(&run.mu);
    for (int i = 0; i < nthreads; i++)
        pthread_join(threads[i], NULL);
    while (pending_head) {
        chunk_t *c = pending_head;
        pending_head = c->order;
        chunk_free(c);
    }
    pool_free(&pool);
    pthread_mutex_destroy(&run.mu);
    pthread_cond_destroy(&run.cv_work);
    pthread_cond_destroy(&run.cv_done);
    sr_diag_free(&sink.unchecked);
    sr_idset_free(sink.ids);
    sr_writer_free(sink.w);
    sr_buf_free(&ct.buf);
    if (ct.own)
        fclose(ct.f);
    return st;
}
