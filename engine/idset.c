/* idset.c -- the case ids of one file, for the exact duplicate-id check, in
 * bounded memory: an in-memory table spilled to sorted runs in unlinked
 * temporary files (see idset.h). */
#include "idset.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include "util.h"

#define DEFAULT_ENTRIES 16384     /* ids in the in-memory table before it spills */
#define DEFAULT_BYTES (1u << 18)  /* bytes of id records in memory before it spills */
#define BLOCK 256                 /* entries in a block of a run (4 KiB): one pread a lookup */
#define MERGE_RATIO 4             /* each run is at least this many times the next newer one */
#define IO_ENTRIES 4096           /* entries a buffer holds while merging (64 KiB) */
#define REC_HEAD 8                /* an id record: int32 line, uint32 length, then the bytes */
#define FILTER_LOG2 23            /* bits of the filter of spilled ids: 2^23, 1 MiB */

/* An id: its hash and the offset of its record (in the arena while it is in
 * memory, in the ids file once spilled). A run is an array of these sorted
 * by hash. */
typedef struct {
    uint64_t hash, off;
} entry_t;

typedef struct {
    int fd;          /* the run's temporary file */
    size_t n;        /* entries */
    uint64_t *fence; /* the first hash of each block, malloc'd */
} run_t;

struct sr_idset {
    uint64_t (*hash)(const char *id, size_t len);
    size_t max_entries, max_bytes;
    /* the in-memory table */
    entry_t *ent;    /* the entries, in insertion order until a spill sorts them */
    size_t n, cap;
    uint32_t *slot;  /* open addressing: 1 + index into ent, 0 = empty */
    size_t nslot;    /* a power of 2, at least twice cap */
    char *arena;     /* the records of the entries in memory */
    size_t alen, acap;
    /* on disk */
    int ids_fd;      /* the records of every spilled id, appended; -1 until the first spill */
    uint64_t ids_len;
    run_t *runs;     /* oldest (largest) first */
    size_t nruns, caprun;
    /* A Bloom filter of the spilled ids' hashes (3 bits each): an id it
     * does not hold is in no run, and no block is read. Allocated at the
     * first spill; NULL (every run probed) when memory was short. */
    uint8_t *filter;
    /* a temporary file failed: the ids stay in memory from then on */
    int memory_only;
    char problem[320];
    /* why the last add returned -1: an errno value and a sentence */
    int error;
    char error_msg[320];
    FILE *warn;
    size_t count, spills, merges, run_reads;
};

/* FNV-1a, then murmur3's finalizer, so that every byte of the id reaches
 * both the low bits (the table's slot) and the high bits (a run's order). */
static uint64_t id_hash(const char *p, size_t n)
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)p[i]) * 1099511628211ULL;
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;
    return h;
}

sr_idset_t *sr_idset_new(void)
{
    sr_idset_t *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->hash = id_hash;
    s->max_entries = DEFAULT_ENTRIES;
    s->max_bytes = DEFAULT_BYTES;
    s->ids_fd = -1;
    s->warn = stderr;
    return s;
}

void sr_idset_free(sr_idset_t *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->nruns; i++) {
        close(s->runs[i].fd);
        free(s->runs[i].fence);
    }
    if (s->ids_fd >= 0)
        close(s->ids_fd);
    free(s->runs);
    free(s->filter);
    free(s->ent);
    free(s->slot);
    free(s->arena);
    free(s);
}

void sr_idset_set_budget(sr_idset_t *s, size_t entries, size_t bytes)
{
    s->max_entries = entries ? entries : 1;
    s->max_bytes = bytes;
}

void sr_idset_set_hash(sr_idset_t *s, uint64_t (*hash)(const char *id, size_t len)) { s->hash = hash; }

void sr_idset_set_warnings(sr_idset_t *s, FILE *f) { s->warn = f; }

const char *sr_idset_problem(const sr_idset_t *s) { return s->problem[0] ? s->problem : NULL; }

void sr_idset_stats(const sr_idset_t *s, sr_idset_stats_t *st)
{
    st->ids = s->count;
    st->in_memory = s->n;
    st->runs = s->nruns;
    st->spills = s->spills;
    st->merges = s->merges;
    st->run_reads = s->run_reads;
}

/* ------------------------------------------------------------------ */
/* Temporary files                                                      */

static const char *temp_dir(void)
{
    const char *dir = getenv("TMPDIR");
    return dir && *dir ? dir : "/tmp";
}

/* Stops spilling: records why (once) and says so on s->warn. */
static void keep_in_memory(sr_idset_t *s, const char *what, int err)
{
    if (s->memory_only)
        return;
    s->memory_only = 1;
    snprintf(s->problem, sizeof s->problem, "cannot %s a temporary file in %s (%s)", what, temp_dir(),
             strerror(err));
    if (s->warn) {
        fprintf(s->warn, "spinerules: warning: %s; the case ids for the duplicate-id check stay in memory\n",
                s->problem);
        fflush(s->warn);
    }
}

/* A new temporary file, already unlinked (closing it deletes it), or -1
 * (then the set keeps its ids in memory). */
static int temp_file(sr_idset_t *s)
{
    char *path = sr_asprintf("%s/spinerules-ids-XXXXXX", temp_dir());
    if (!path) {
        keep_in_memory(s, "create", ENOMEM);
        return -1;
    }
    int fd = mkstemp(path);
    if (fd < 0) {
        keep_in_memory(s, "create", errno);
    } else {
        unlink(path);
        fcntl(fd, F_SETFD, FD_CLOEXEC);
    }
    free(path);
    return fd;
}

/* Writes n bytes at off; 0, or an errno value. */
static int write_at(int fd, const void *p, size_t n, uint64_t off)
{
    const char *c = p;
    while (n) {
        ssize_t k = pwrite(fd, c, n, (off_t)off);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return k < 0 ? errno : ENOSPC;
        c += k;
        n -= (size_t)k;
        off += (uint64_t)k;
    }
    return 0;
}

/* Reads exactly n bytes at off; 0, or -1 (an error or the end of the file). */
static int read_at(int fd, void *p, size_t n, uint64_t off)
{
    char *c = p;
    while (n) {
        ssize_t k = pread(fd, c, n, (off_t)off);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return -1;
        c += k;
        n -= (size_t)k;
        off += (uint64_t)k;
    }
    return 0;
}

/* A spilled id could not be read back: the answer would not be exact. */
static int read_failed(sr_idset_t *s)
{
    s->error = errno ? errno : EIO;
    snprintf(s->error_msg, sizeof s->error_msg, "cannot read back a temporary file in %s (%s)", temp_dir(),
             strerror(s->error));
    if (!s->problem[0])
        snprintf(s->problem, sizeof s->problem, "%s", s->error_msg);
    return -1;
}

/* ------------------------------------------------------------------ */
/* The in-memory table                                                  */

static void reindex(sr_idset_t *s)
{
    size_t mask = s->nslot - 1;
    memset(s->slot, 0, s->nslot * sizeof *s->slot);
    for (size_t i = 0; i < s->n; i++) {
        size_t j = (size_t)s->ent[i].hash & mask;
        while (s->slot[j])
            j = (j + 1) & mask;
        s->slot[j] = (uint32_t)(i + 1);
    }
}

/* Makes room for more entries: doubles the table, up to the budget unless
 * the ids stay in memory. 0, or -1 when memory is short. */
static int table_grow(sr_idset_t *s)
{
    size_t cap = s->cap ? 2 * s->cap : 512;
    if (!s->memory_only && cap > s->max_entries)
        cap = s->max_entries > s->cap ? s->max_entries : s->cap + 1;
    if (cap >= UINT32_MAX / 2)
        return -1;
    size_t nslot = 1;
    while (nslot < 2 * cap)
        nslot *= 2;
    entry_t *ent = realloc(s->ent, cap * sizeof *ent);
    if (!ent)
        return -1;
    s->ent = ent;
    uint32_t *slot = malloc(nslot * sizeof *slot);
    if (!slot)
        return -1;
    free(s->slot);
    s->slot = slot;
    s->nslot = nslot;
    s->cap = cap;
    reindex(s);
    return 0;
}

/* Room for need bytes of records in the arena, kept within the budget when
 * it can be. 0, or -1 when memory is short. */
static int arena_reserve(sr_idset_t *s, size_t need)
{
    if (need <= s->acap)
        return 0;
    size_t cap = s->acap ? s->acap : 4096;
    while (cap < need && cap < SIZE_MAX / 2)
        cap *= 2;
    if (!s->memory_only && cap > s->max_bytes)
        cap = need > s->max_bytes ? need : s->max_bytes;
    if (cap < need)
        return -1;
    char *a = realloc(s->arena, cap);
    if (!a)
        return -1;
    s->arena = a;
    s->acap = cap;
    return 0;
}

/* Is id in the table? 1 (with its first line), else 0. */
static int table_find(const sr_idset_t *s, uint64_t h, const char *id, size_t len, int *first_line)
{
    if (!s->nslot)
        return 0;
    size_t mask = s->nslot - 1;
    for (size_t j = (size_t)h & mask; s->slot[j]; j = (j + 1) & mask) {
        const entry_t *e = &s->ent[s->slot[j] - 1];
        if (e->hash != h)
            continue;
        const char *r = s->arena + e->off;
        int32_t line;
        uint32_t rlen;
        memcpy(&line, r, sizeof line);
        memcpy(&rlen, r + sizeof line, sizeof rlen);
        if (rlen == len && memcmp(r + REC_HEAD, id, len) == 0) {
            *first_line = line;
            return 1;
        }
    }
    return 0;
}

/* ------------------------------------------------------------------ */
/* Runs                                                                 */

static size_t blocks(size_t n) { return (n + BLOCK - 1) / BLOCK; }

/* The filter's three bits for hash h, from three 23-bit fields of it (the
 * hash's bits are all mixed, see id_hash). */
static void filter_bits(uint64_t h, uint32_t bit[3])
{
    const uint64_t mask = (1u << FILTER_LOG2) - 1;
    bit[0] = (uint32_t)(h & mask);
    bit[1] = (uint32_t)((h >> 21) & mask);
    bit[2] = (uint32_t)((h >> 41) & mask);
}

static void filter_add(uint8_t *f, uint64_t h)
{
    uint32_t bit[3];
    filter_bits(h, bit);
    for (int i = 0; i < 3; i++)
        f[bit[i] >> 3] |= (uint8_t)(1u << (bit[i] & 7));
}

/* 0: no spilled id has hash h; 1: one may have. */
static int filter_may_hold(const uint8_t *f, uint64_t h)
{
    uint32_t bit[3];
    filter_bits(h, bit);
    for (int i = 0; i < 3; i++)
        if (!(f[bit[i] >> 3] & (1u << (bit[i] & 7))))
            return 0;
    return 1;
}

/* Is the id whose record sits at off in the ids file equal to id? 1 (with
 * its line), 0, or -1 when the file cannot be read. */
static int record_matches(sr_idset_t *s, uint64_t off, const char *id, size_t len, int *first_line)
{
    char buf[4096];
    int32_t line;
    uint32_t rlen;
    if (read_at(s->ids_fd, buf, REC_HEAD, off) != 0)
        return read_failed(s);
    memcpy(&line, buf, sizeof line);
    memcpy(&rlen, buf + sizeof line, sizeof rlen);
    if (rlen != len)
        return 0;
    for (size_t done = 0; done < len;) {
        size_t k = len - done < sizeof buf ? len - done : sizeof buf;
        if (read_at(s->ids_fd, buf, k, off + REC_HEAD + done) != 0)
            return read_failed(s);
        if (memcmp(buf, id + done, k) != 0)
            return 0;
        done += k;
    }
    *first_line = line;
    return 1;
}

/* Is id in run r? 1 (with its first line), 0, or -1 when the run cannot be
 * read. Reads the one block where h can start, and the next ones only while
 * they start with h (equal hashes of different ids). */
static int run_find(sr_idset_t *s, const run_t *r, uint64_t h, const char *id, size_t len, int *first_line)
{
    size_t nb = blocks(r->n), lo = 0, hi = nb;
    while (lo < hi) { /* lo: the blocks that start below h */
        size_t mid = lo + (hi - lo) / 2;
        if (r->fence[mid] < h)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == 0 && r->fence[0] > h)
        return 0;
    entry_t blk[BLOCK];
    for (size_t b = lo ? lo - 1 : 0; b < nb; b++) {
        size_t m = r->n - b * BLOCK < BLOCK ? r->n - b * BLOCK : BLOCK;
        if (read_at(r->fd, blk, m * sizeof *blk, (uint64_t)b * BLOCK * sizeof *blk) != 0)
            return read_failed(s);
        s->run_reads++;
        size_t i = 0, j = m;
        while (i < j) { /* i: the first entry not below h */
            size_t mid = i + (j - i) / 2;
            if (blk[mid].hash < h)
                i = mid + 1;
            else
                j = mid;
        }
        for (; i < m && blk[i].hash == h; i++) {
            int rc = record_matches(s, blk[i].off, id, len, first_line);
            if (rc != 0)
                return rc;
        }
        if (i < m || b + 1 >= nb || r->fence[b + 1] != h)
            return 0;
    }
    return 0;
}

/* A reader of a run's entries in order, IO_ENTRIES at a time, for merging. */
typedef struct {
    const run_t *r;
    entry_t *buf;
    size_t next, pos, len; /* entries of the run read; the buffer's read position and fill */
} cursor_t;

/* Refills c's buffer once it is used up; 0, or -1 when the run cannot be read. */
static int cursor_fill(cursor_t *c)
{
    if (c->pos < c->len || c->next == c->r->n)
        return 0;
    size_t k = c->r->n - c->next < IO_ENTRIES ? c->r->n - c->next : IO_ENTRIES;
    if (read_at(c->r->fd, c->buf, k * sizeof *c->buf, (uint64_t)c->next * sizeof *c->buf) != 0)
        return -1;
    c->next += k;
    c->pos = 0;
    c->len = k;
    return 0;
}

/* Starts a run of n entries in *r: its file and fence array. 0, -1 when
 * memory is short, 1 when the file cannot be created. */
static int run_open(sr_idset_t *s, run_t *r, size_t n)
{
    r->n = n;
    r->fence = malloc(blocks(n) * sizeof *r->fence);
    if (!r->fence)
        return -1;
    r->fd = temp_file(s);
    if (r->fd < 0) {
        free(r->fence);
        return 1;
    }
    return 0;
}

static void run_close(run_t *r)
{
    close(r->fd);
    free(r->fence);
}

/* Merges runs a and b (sorted) into a new run *c; 0, -1 when memory is short
 * or a run cannot be read, 1 when a temporary file failed. */
static int merge(sr_idset_t *s, const run_t *a, const run_t *b, run_t *c)
{
    int rc = run_open(s, c, a->n + b->n);
    if (rc != 0)
        return rc;
    entry_t *buf = malloc(3 * IO_ENTRIES * sizeof *buf);
    if (!buf) {
        run_close(c);
        return -1;
    }
    entry_t *out = buf + 2 * IO_ENTRIES;
    cursor_t ca = {a, buf, 0, 0, 0}, cb = {b, buf + IO_ENTRIES, 0, 0, 0};
    size_t o = 0;
    uint64_t written = 0;
    for (size_t k = 0; rc == 0 && k < c->n; k++) {
        if (cursor_fill(&ca) != 0 || cursor_fill(&cb) != 0) {
            rc = read_failed(s);
            break;
        }
        if (ca.pos < ca.len && (cb.pos == cb.len || ca.buf[ca.pos].hash <= cb.buf[cb.pos].hash))
            out[o] = ca.buf[ca.pos++];
        else
            out[o] = cb.buf[cb.pos++];
        if (k % BLOCK == 0)
            c->fence[k / BLOCK] = out[o].hash;
        if (++o == IO_ENTRIES || k + 1 == c->n) {
            int err = write_at(c->fd, out, o * sizeof *out, written);
            if (err) {
                keep_in_memory(s, "write", err);
                rc = 1;
            }
            written += o * sizeof *out;
            o = 0;
        }
    }
    free(buf);
    if (rc != 0)
        run_close(c);
    return rc;
}

/* Merges the newest runs while one is less than MERGE_RATIO times the size
 * of the next newer one: at most log4(ids / table size) + 1 runs. A merge
 * that fails leaves the runs as they were (lookups stay exact). */
static void merge_runs(sr_idset_t *s)
{
    while (s->nruns >= 2 && !s->memory_only) {
        run_t *a = &s->runs[s->nruns - 2], *b = &s->runs[s->nruns - 1], c;
        if (a->n >= MERGE_RATIO * b->n || merge(s, a, b, &c) != 0)
            return;
        run_close(a);
        run_close(b);
        *a = c;
        s->nruns--;
        s->merges++;
    }
}

/* Sorts e[0..n) by hash in place (qsort would take a copy of the table):
 * quicksort with Hoare's partition (equal hashes split evenly), the smaller
 * side first so the stack stays within log2(n) frames. */
static void sort_entries(entry_t *e, size_t n)
{
    while (n > 16) {
        entry_t t, *a = e, *m = e + n / 2, *z = e + n - 1;
        if (m->hash < a->hash)
            t = *m, *m = *a, *a = t;
        if (z->hash < m->hash) {
            t = *z, *z = *m, *m = t;
            if (m->hash < a->hash)
                t = *m, *m = *a, *a = t;
        }
        uint64_t pivot = m->hash;
        size_t i = 0, j = n - 1;
        for (;;) {
            while (e[i].hash < pivot)
                i++;
            while (e[j].hash > pivot)
                j--;
            if (i >= j)
                break;
            t = e[i], e[i] = e[j], e[j] = t;
            i++;
            j--;
        }
        /* e[0..j] <= pivot <= e[j+1..n) */
        size_t left = j + 1;
        if (left < n - left) {
            sort_entries(e, left);
            e += left;
            n -= left;
        } else {
            sort_entries(e + left, n - left);
            n = left;
        }
    }
    for (size_t i = 1; i < n; i++) {
        entry_t t = e[i];
        size_t j = i;
        for (; j > 0 && e[j - 1].hash > t.hash; j--)
            e[j] = e[j - 1];
        e[j] = t;
    }
}

/* Writes the table out: its records appended to the ids file, its entries
 * as a new run; then empties it. 0 (also when a temporary file failed: the
 * set then keeps its ids in memory, the table intact), -1 when memory is
 * short (the table intact). */
static int spill(sr_idset_t *s)
{
    if (s->nruns == s->caprun) {
        size_t cap = s->caprun ? 2 * s->caprun : 8;
        run_t *runs = realloc(s->runs, cap * sizeof *runs);
        if (!runs)
            return -1;
        s->runs = runs;
        s->caprun = cap;
    }
    if (s->ids_fd < 0 && (s->ids_fd = temp_file(s)) < 0)
        return 0;
    run_t r;
    int rc = run_open(s, &r, s->n);
    if (rc != 0)
        return rc < 0 ? -1 : 0;
    int err = write_at(s->ids_fd, s->arena, s->alen, s->ids_len);
    sort_entries(s->ent, s->n);
    entry_t out[BLOCK];
    for (size_t b = 0; !err && b < blocks(s->n); b++) {
        size_t m = s->n - b * BLOCK < BLOCK ? s->n - b * BLOCK : BLOCK;
        for (size_t i = 0; i < m; i++) {
            out[i].hash = s->ent[b * BLOCK + i].hash;
            out[i].off = s->ent[b * BLOCK + i].off + s->ids_len;
        }
        r.fence[b] = out[0].hash;
        err = write_at(r.fd, out, m * sizeof *out, (uint64_t)b * BLOCK * sizeof *out);
    }
    if (err) {
        keep_in_memory(s, "write", err);
        run_close(&r);
        reindex(s); /* the entries moved */
        return 0;
    }
    s->ids_len += s->alen;
    s->runs[s->nruns++] = r;
    if (s->spills == 0) /* NULL when memory is short: every run is then probed */
        s->filter = calloc((size_t)1 << (FILTER_LOG2 - 3), 1);
    if (s->filter)
        for (size_t i = 0; i < s->n; i++)
            filter_add(s->filter, s->ent[i].hash);
    s->n = 0;
    s->alen = 0;
    memset(s->slot, 0, s->nslot * sizeof *s->slot);
    s->spills++;
    merge_runs(s);
    return 0;
}

/* ------------------------------------------------------------------ */

static long fail_countdown; /* sr_idset_test_fail */

void sr_idset_test_fail(long n) { fail_countdown = n; }

int sr_idset_error(const sr_idset_t *s, const char **message)
{
    if (message)
        *message = s->error ? s->error_msg : NULL;
    return s->error;
}

static int add(sr_idset_t *s, const char *id, size_t len, int line, int *first_line);

int sr_idset_add(sr_idset_t *s, const char *id, size_t len, int line, int *first_line)
{
    s->error = 0;
    int rc = fail_countdown > 0 && --fail_countdown == 0 ? -1 : add(s, id, len, line, first_line);
    if (rc < 0 && !s->error) {
        s->error = ENOMEM;
        snprintf(s->error_msg, sizeof s->error_msg, "out of memory");
    }
    return rc;
}

static int add(sr_idset_t *s, const char *id, size_t len, int line, int *first_line)
{
    if (len > UINT32_MAX - REC_HEAD)
        return -1;
    uint64_t h = s->hash(id, len);
    if (table_find(s, h, id, len, first_line))
        return 1;
    size_t probe = s->filter && !filter_may_hold(s->filter, h) ? 0 : s->nruns;
    for (size_t i = probe; i-- > 0;) {
        int rc = run_find(s, &s->runs[i], h, id, len, first_line);
        if (rc != 0)
            return rc;
    }
    size_t rec = REC_HEAD + len;
    if (!s->memory_only && s->n && (s->n >= s->max_entries || s->alen + rec > s->max_bytes) && spill(s) != 0)
        return -1;
    if ((s->n == s->cap && table_grow(s) != 0) || arena_reserve(s, s->alen + rec) != 0)
        return -1;
    int32_t line32 = line;
    uint32_t len32 = (uint32_t)len;
    memcpy(s->arena + s->alen, &line32, sizeof line32);
    memcpy(s->arena + s->alen + sizeof line32, &len32, sizeof len32);
    memcpy(s->arena + s->alen + REC_HEAD, id, len);
    s->ent[s->n].hash = h;
    s->ent[s->n].off = s->alen;
    size_t mask = s->nslot - 1, j = (size_t)h & mask;
    while (s->slot[j])
        j = (j + 1) & mask;
    s->slot[j] = (uint32_t)(s->n + 1);
    s->n++;
    s->alen += rec;
    s->count++;
    return 0;
}
