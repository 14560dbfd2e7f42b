/* test_idset.c -- the duplicate-id set: exact (no false duplicate, none
 * missed, the first occurrence's line) in memory, across spilled runs and
 * merges, with forced hash collisions, with arbitrary and long ids, and when
 * its temporary files cannot be created or written. Small test budgets make
 * it spill after a few ids. */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "idset.h"

/* A private $TMPDIR per test: tests of several builds may run at once. */
static char tmp[64];

static void make_tmp(void)
{
    strcpy(tmp, "/tmp/sr-idset-XXXXXX");
    cr_assert(mkdtemp(tmp), "cannot create a temporary folder");
    setenv("TMPDIR", tmp, 1);
}

static void remove_tmp(void)
{
    /* the set's files are unlinked as soon as they are made */
    cr_expect_eq(rmdir(tmp), 0, "the set left files in %s", tmp);
}

TestSuite(idset, .init = make_tmp, .fini = remove_tmp);

static size_t id_of(char *buf, size_t size, const char *prefix, long i)
{
    return (size_t)snprintf(buf, size, "%s%ld", prefix, i);
}

/* Adds n ids prefix0.. prefix(n-1) at lines 1..n, each new. */
static void add_new(sr_idset_t *s, const char *prefix, long n)
{
    char id[64];
    int first = 0;
    for (long i = 0; i < n; i++) {
        size_t len = id_of(id, sizeof id, prefix, i);
        cr_assert_eq(sr_idset_add(s, id, len, (int)i + 1, &first), 0, "%s is new", id);
    }
}

/* Adds prefix0.. prefix(n-1) again, in another order than add_new's, and
 * expects each to be a duplicate first seen at its line. */
static void add_again(sr_idset_t *s, const char *prefix, long n)
{
    char id[64];
    for (long k = 0; k < n; k++) {
        long i = (k * 7919) % n;
        size_t len = id_of(id, sizeof id, prefix, i);
        int first = -1;
        cr_assert_eq(sr_idset_add(s, id, len, 999999, &first), 1, "%s is a duplicate", id);
        cr_assert_eq(first, (int)i + 1, "%s first at line %ld, got %d", id, i + 1, first);
    }
}

static void add_all_then_again(sr_idset_t *s, const char *prefix, long n)
{
    add_new(s, prefix, n);
    add_again(s, prefix, n);
}

Test(idset, a_small_set_stays_in_memory)
{
    sr_idset_t *s = sr_idset_new();
    add_all_then_again(s, "P-", 3000);
    sr_idset_stats_t st;
    sr_idset_stats(s, &st);
    cr_expect_eq(st.ids, 3000);
    cr_expect_eq(st.in_memory, 3000);
    cr_expect_eq(st.spills, 0);
    cr_expect_eq(st.runs, 0);
    cr_expect_null(sr_idset_problem(s));
    sr_idset_free(s);
}

Test(idset, duplicates_are_found_in_memory_and_in_spilled_runs)
{
    sr_idset_t *s = sr_idset_new();
    sr_idset_set_budget(s, 100, 1 << 20);
    add_all_then_again(s, "S-", 5000);
    sr_idset_stats_t st;
    sr_idset_stats(s, &st);
    cr_expect_eq(st.ids, 5000);
    cr_expect_eq(st.spills, 49, "spills %zu", st.spills);
    cr_expect_eq(st.in_memory, 100);
    cr_expect_gt(st.merges, 0);
    cr_expect_leq(st.runs, 4, "runs %zu", st.runs);
    /* not there: ids near the ones that are */
    int first = 0;
    cr_expect_eq(sr_idset_add(s, "S-5000", 6, 1, &first), 0);
    cr_expect_eq(sr_idset_add(s, "S-", 2, 2, &first), 0);
    cr_expect_eq(sr_idset_add(s, "S-00", 4, 3, &first), 0);
    cr_expect_eq(sr_idset_add(s, "s-1", 3, 4, &first), 0);
    cr_expect_eq(sr_idset_add(s, "S-1 ", 4, 5, &first), 0);
    cr_expect_eq(sr_idset_add(s, "S-00", 4, 6, &first), 1);
    cr_expect_eq(first, 3);
    cr_expect_null(sr_idset_problem(s));
    sr_idset_free(s);
}

Test(idset, many_runs_stay_few_through_merges)
{
    sr_idset_t *s = sr_idset_new();
    sr_idset_set_budget(s, 16, 1 << 20);
    add_all_then_again(s, "M-", 40000);
    sr_idset_stats_t st;
    sr_idset_stats(s, &st);
    cr_expect_eq(st.spills, 2499, "spills %zu", st.spills);
    cr_expect_gt(st.merges, 2000, "merges %zu", st.merges);
    /* each run at least 4 times the next newer one: log4(40000 / 16) + 1 */
    cr_expect_leq(st.runs, 7, "runs %zu", st.runs);
    sr_idset_free(s);
}

/* The filter of spilled ids: a new id reads no block of the runs (one
 * system call and 4 KiB each), a spilled one at least one. With 49,000
 * spilled ids its three bits are all set by chance with probability
 * (1 - e^(-3 * 49000 / 2^23))^3 = 5e-6 a lookup, 0.26 expected false hits
 * over the 50,000 lookups; the hash is fixed, so the count is too. */
Test(idset, new_ids_read_no_block_of_the_runs)
{
    sr_idset_t *s = sr_idset_new();
    sr_idset_set_budget(s, 1000, 1 << 20);
    add_new(s, "F-", 50000);
    sr_idset_stats_t st;
    sr_idset_stats(s, &st);
    cr_expect_eq(st.spills, 49, "spills %zu", st.spills);
    cr_expect_eq(st.run_reads, 0, "blocks read for new ids: %zu", st.run_reads);
    add_again(s, "F-", 49000); /* the spilled ones */
    sr_idset_stats(s, &st);
    cr_expect_geq(st.run_reads, 49000, "blocks read for spilled ids: %zu", st.run_reads);
    sr_idset_free(s);
}

Test(idset, the_byte_budget_spills_too)
{
    sr_idset_t *s = sr_idset_new();
    sr_idset_set_budget(s, 1000000, 8 * 12); /* 8 records of "B-N" (4 bytes) and a few longer */
    add_all_then_again(s, "B-", 2000);
    sr_idset_stats_t st;
    sr_idset_stats(s, &st);
    cr_expect_gt(st.spills, 100, "spills %zu", st.spills);
    sr_idset_free(s);
}

static uint64_t same_hash(const char *id, size_t len)
{
    (void)id;
    (void)len;
    return 0x8000000000000000ULL;
}

/* 61 hashes spread over the range: about one id in 61 shares a hash */
static uint64_t few_hashes(const char *id, size_t len)
{
    uint64_t h = 0;
    for (size_t i = 0; i < len; i++)
        h = h * 31 + (unsigned char)id[i];
    return (h % 61) * (UINT64_MAX / 61);
}

Test(idset, equal_hashes_are_told_apart_by_their_bytes)
{
    /* every id has the same hash: runs are one hash over many blocks */
    sr_idset_t *s = sr_idset_new();
    sr_idset_set_hash(s, same_hash);
    sr_idset_set_budget(s, 50, 1 << 20);
    add_all_then_again(s, "C-", 400);
    sr_idset_stats_t st;
    sr_idset_stats(s, &st);
    cr_expect_gt(st.merges, 0);
    int first = 0;
    cr_expect_eq(sr_idset_add(s, "C-7000", 6, 1, &first), 0);
    cr_expect_eq(sr_idset_add(s, "C-", 2, 2, &first), 0);
    cr_expect_eq(sr_idset_add(s, "", 0, 3, &first), 0);
    cr_expect_eq(sr_idset_add(s, "", 0, 4, &first), 1);
    cr_expect_eq(first, 3);
    sr_idset_free(s);

    /* a few hashes: blocks of one hash next to blocks of others */
    s = sr_idset_new();
    sr_idset_set_hash(s, few_hashes);
    sr_idset_set_budget(s, 37, 1 << 20);
    add_all_then_again(s, "F-", 3000);
    sr_idset_free(s);
}

/* A pseudo-random generator of its own: the same sequence everywhere. */
static uint64_t rnd(uint64_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}

Test(idset, agrees_with_a_plain_list_on_random_ids)
{
    /* 30,000 adds drawn from 6,000 ids (many duplicates), with colliding
     * hashes, against the answer of a plain array */
    enum { KINDS = 6000, ADDS = 30000 };
    static int first_seen[KINDS];
    sr_idset_t *s = sr_idset_new();
    sr_idset_set_hash(s, few_hashes);
    sr_idset_set_budget(s, 29, 600);
    uint64_t x = 88172645463325252ULL;
    int dups = 0;
    for (int line = 1; line <= ADDS; line++) {
        int k = (int)(rnd(&x) % KINDS);
        char id[48];
        size_t len = (size_t)snprintf(id, sizeof id, "%c%d\x7f\xff%d", 'A' + k % 26, k, k * k % 97);
        int first = 0, rc = sr_idset_add(s, id, len, line, &first);
        if (first_seen[k]) {
            cr_assert_eq(rc, 1, "add %d: id %d was seen at line %d", line, k, first_seen[k]);
            cr_assert_eq(first, first_seen[k]);
            dups++;
        } else {
            cr_assert_eq(rc, 0, "add %d: id %d is new, found first at %d", line, k, first);
            first_seen[k] = line;
        }
    }
    cr_expect_gt(dups, ADDS / 2);
    sr_idset_free(s);
}

Test(idset, ids_of_any_bytes_and_any_length)
{
    sr_idset_t *s = sr_idset_new();
    sr_idset_set_budget(s, 8, 4096);
    /* every byte but NUL, and ids longer than the budget and than a read */
    char bytes[255];
    for (int i = 0; i < 255; i++)
        bytes[i] = (char)(i + 1);
    static char big[100000];
    memset(big, 'x', sizeof big);
    int first = 0, line = 1;
    for (size_t n = 1; n <= 255; n++)
        cr_assert_eq(sr_idset_add(s, bytes + 255 - n, n, line++, &first), 0);
    size_t sizes[] = {4095, 4096, 4097, 8192, 10000, 100000};
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
        cr_assert_eq(sr_idset_add(s, big, sizes[i], line++, &first), 0);
        big[sizes[i] - 1] = 'y'; /* the same length, the last byte differs */
        cr_assert_eq(sr_idset_add(s, big, sizes[i], line++, &first), 0);
        big[sizes[i] - 1] = 'x';
    }
    for (int i = 0; i < 40; i++) { /* push them all out to runs */
        char two[] = {(char)('a' + i % 26), (char)('A' + i)};
        cr_assert_eq(sr_idset_add(s, two, 2, line++, &first), 0);
    }
    sr_idset_stats_t st;
    sr_idset_stats(s, &st);
    cr_expect_gt(st.spills, 10);
    for (size_t n = 1; n <= 255; n++) {
        cr_assert_eq(sr_idset_add(s, bytes + 255 - n, n, 0, &first), 1);
        cr_assert_eq(first, (int)n);
    }
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
        cr_assert_eq(sr_idset_add(s, big, sizes[i], 0, &first), 1);
        cr_assert_eq(first, 256 + 2 * (int)i);
        big[sizes[i] - 1] = 'y';
        cr_assert_eq(sr_idset_add(s, big, sizes[i], 0, &first), 1);
        cr_assert_eq(first, 257 + 2 * (int)i);
        big[sizes[i] - 2] = 'y'; /* not there */
        cr_assert_eq(sr_idset_add(s, big, sizes[i], line++, &first), 0);
        big[sizes[i] - 1] = big[sizes[i] - 2] = 'x';
    }
    cr_expect_null(sr_idset_problem(s));
    sr_idset_free(s);
}

/* Reads the warnings written to f. */
static char *warnings(FILE *f)
{
    static char buf[1024];
    rewind(f);
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    return buf;
}

Test(idset, no_writable_tmpdir_keeps_the_ids_in_memory)
{
    char dir[128], expect[512];
    snprintf(dir, sizeof dir, "%s/missing", tmp);
    setenv("TMPDIR", dir, 1);
    FILE *w = tmpfile();
    sr_idset_t *s = sr_idset_new();
    sr_idset_set_warnings(s, w);
    sr_idset_set_budget(s, 10, 1 << 20);
    add_all_then_again(s, "T-", 1000);
    snprintf(expect, sizeof expect, "cannot create a temporary file in %s (No such file or directory)", dir);
    cr_expect_str_eq(sr_idset_problem(s), expect);
    snprintf(expect, sizeof expect,
             "spinerules: warning: cannot create a temporary file in %s (No such file or directory); "
             "the case ids for the duplicate-id check stay in memory\n",
             dir);
    cr_expect_str_eq(warnings(w), expect, "said once");
    sr_idset_stats_t st;
    sr_idset_stats(s, &st);
    cr_expect_eq(st.runs, 0);
    cr_expect_eq(st.in_memory, 1000);
    sr_idset_free(s);
    fclose(w);
}

Test(idset, a_full_disk_keeps_the_ids_in_memory_and_the_runs_it_wrote)
{
    /* files may not grow past 40 KB: the first spills fit, a later one or a
     * merge fails (EFBIG, as ENOSPC would) */
    signal(SIGXFSZ, SIG_IGN);
    struct rlimit rl = {40000, 40000};
    cr_assert_eq(setrlimit(RLIMIT_FSIZE, &rl), 0);
    FILE *w = tmpfile();
    sr_idset_t *s = sr_idset_new();
    sr_idset_set_warnings(s, w);
    sr_idset_set_budget(s, 100, 1 << 20);
    add_all_then_again(s, "D-", 6000);
    sr_idset_stats_t st;
    sr_idset_stats(s, &st);
    cr_expect_gt(st.spills, 0);
    cr_expect_gt(st.runs, 0, "the runs written stay in use");
    cr_expect_gt(st.in_memory, 100);
    char expect[512];
    snprintf(expect, sizeof expect, "cannot write a temporary file in %s (File too large)", tmp);
    cr_expect_str_eq(sr_idset_problem(s), expect);
    cr_expect(strstr(warnings(w), expect) != NULL, "%s", warnings(w));
    sr_idset_free(s);
    fclose(w);
}
