/* idset.h -- the set of the case ids of one file, to find a duplicate id
 * exactly (no false duplicate, none missed) in memory that does not grow
 * with the number of ids.
 *
 * Up to a budget (16,384 ids or 256 KiB of id records, 640 KiB in all) the
 * ids sit in an in-memory hash table. Past it, the table is spilled to
 * unlinked temporary files in $TMPDIR (else /tmp): the ids' text is appended
 * to one file, and their 64-bit hashes, sorted, form a run, a file of 4 KiB
 * blocks of which memory keeps only each block's first hash (8 bytes per 256
 * ids: 312 KiB at 10 million ids). Runs are merged so that each is at least
 * four times the size of the next newer one (at most 3 runs at a million
 * ids, 5 at 10 million). A lookup probes the table, then a Bloom filter of
 * the spilled ids' hashes (1 MiB whatever their number, 3 bits an id, made at
 * the first spill): an id it does not hold is in no run, and that is the
 * answer for nearly every new id (all but 0.03 % at 200,000 spilled ids, 2.7 %
 * at a million; it fills up towards 10 million, where 92 % go on). Otherwise
 * the lookup reads one block of each run (pread: the page cache is not the
 * process's memory); an equal hash reads the stored id back and compares its
 * bytes.
 *
 * When a temporary file cannot be created or written (no writable $TMPDIR, a
 * full disk), the set says so once on stderr (a warning naming the folder
 * and the system's reason) and keeps the ids from then on in memory, as it
 * did before it could spill: the check stays exact and the run goes on;
 * only its memory grows again. */
#ifndef SR_IDSET_H
#define SR_IDSET_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef struct sr_idset sr_idset_t;

/* A new, empty set (free with sr_idset_free), or NULL when memory is short.
 * It creates no file until it spills. */
sr_idset_t *sr_idset_new(void);
/* Frees s and closes (so deletes) its temporary files; s may be NULL. */
void sr_idset_free(sr_idset_t *s);
/* Adds id (len bytes, seen at line). Returns 0 when it is new, 1 when it was
 * already there (*first_line gets the line it was first seen at), -1 when
 * memory is short or a temporary file cannot be read back. */
int sr_idset_add(sr_idset_t *s, const char *id, size_t len, int line, int *first_line);
/* Why the last sr_idset_add returned -1, or 0 when it did not: ENOMEM when
 * memory was short, else the errno of a temporary file that could not be
 * read back. *message (when not NULL) gets a sentence saying so (owned by
 * s, valid until the next add), or NULL. */
int sr_idset_error(const sr_idset_t *s, const char **message);

/* ---- for tests ---- */

/* Spill past `entries` ids or `bytes` bytes of id records (8 bytes plus the
 * id each) in memory instead of the defaults; call before the first add. */
void sr_idset_set_budget(sr_idset_t *s, size_t entries, size_t bytes);
/* Hash ids with hash instead of the built-in hash (to force collisions). */
void sr_idset_set_hash(sr_idset_t *s, uint64_t (*hash)(const char *id, size_t len));
/* Where the warning about temporary files goes (stderr by default; NULL:
 * nowhere). The message stays readable with sr_idset_problem. */
void sr_idset_set_warnings(sr_idset_t *s, FILE *f);
/* The problem that made the set keep its ids in memory, or NULL. */
const char *sr_idset_problem(const sr_idset_t *s);

typedef struct {
    size_t ids;       /* ids in the set */
    size_t in_memory; /* of which in the in-memory table */
    size_t runs;      /* sorted runs on disk now */
    size_t spills;    /* times the table was written out */
    size_t merges;    /* times two runs were merged */
    size_t run_reads; /* blocks of runs read to look ids up */
} sr_idset_stats_t;

void sr_idset_stats(const sr_idset_t *s, sr_idset_stats_t *st);

/* Makes the n-th sr_idset_add from now, of any set, fail as when memory is
 * short (n = 1: the next one); 0 turns it off. Process-wide, so that a test
 * reaches the set a whole run makes for itself; not thread-safe (the sets
 * of a run are used from one thread). */
void sr_idset_test_fail(long n);

#endif
