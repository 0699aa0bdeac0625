/*
 * harness.h - what every program of the contract suite (contract-*.c)
 * shares:
 *
 *  - one backing allocator that counts every request and every byte, can
 *    fail at its k-th request (or from it on), and checks that each free
 *    is told the size that was asked and that everything comes back;
 *  - one teardown for every test pool, pool_done(), which first verifies
 *    the engine's invariants (when the library is built with its checker),
 *    and POOL_CHECK() to verify them in the middle of a test;
 *  - one snapshot of a pool (its stats and the sorted set of live blocks)
 *    to prove that a refused or failed call changed nothing;
 *  - byte patterns, a 64-bit generator that does not depend on the width
 *    of long, and the runner.
 */
#ifndef HARNESS_H
#define HARNESS_H

#include <check.h>
#include <cymem.h>
#include <errno.h>
#include <stdalign.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ---- The backing allocator ---------------------------------------------- */

typedef struct backing {
    cymem_allocator alloc;      /* give &b->alloc to a pool; ctx is b */
    unsigned long requests;     /* malloc calls, the failed ones included */
    unsigned long mallocs;      /* requests that succeeded */
    unsigned long frees;
    unsigned long fail_at;      /* fail the fail_at-th request; 0: never */
    int fail_all;               /* ... and every request after it */
    size_t held;                /* bytes handed out and not given back */
    size_t asked, returned;     /* sums of the sizes asked and given back */
    int bad_free;               /* a free was told a size not asked */
} backing;

/* Zero @b and make b->alloc count into it. */
void backing_init(backing *b);
/* backing_init(@b), then a pool on it (NULL and errno if that fails). */
cymem_pool *backing_pool(backing *b, cymem_pool *parent, unsigned flags);
/* The next request fails (and, with @all, every one after it). */
void backing_fail_next(backing *b, int all);
/* Requests succeed again. */
void backing_recover(backing *b);
/* Every allocation and every byte came back, each with its size. */
void backing_all_back(const backing *b);

/* ---- Teardown and invariants --------------------------------------------- */

/* Assert that every engine invariant of @pool holds (a no-op unless the
 * library's checker is linked in). */
void pool_check(const cymem_pool *pool);
#define POOL_CHECK(pool) pool_check(pool)
/* The end of a test pool: check it, then destroy it. */
void pool_done(cymem_pool *pool);

/* A child pool of @parent with default options. */
cymem_pool *child_of(cymem_pool *parent);

/* ---- Snapshots ----------------------------------------------------------- */

typedef struct blkrec { uintptr_t addr; size_t size; } blkrec;

typedef struct snap {
    cymem_stats st;
    blkrec *b;                  /* sorted by address */
    size_t n, cap;
} snap;

void snap_take(const cymem_pool *pool, snap *s);
/* The same stats and the same blocks. */
void snap_same(const snap *a, const snap *b);
/* The same blocks and accounting of blocks; memory the engine reserved on
 * the way (reserved_bytes, chunk_count, metadata_bytes) may differ. */
void snap_same_blocks(const snap *a, const snap *b);
/* The record of the block at @p, or NULL. */
const blkrec *snap_find(const snap *s, const void *p);
void snap_drop(snap *s);

/* Take a snapshot, run the code that follows @pool (a refused call and
 * the checks of its result), check that @pool is exactly as before. */
#define UNCHANGED(pool, ...) do {                                           \
        snap uc_a_, uc_b_;                                                   \
        snap_take((pool), &uc_a_);                                           \
        __VA_ARGS__;                                                         \
        snap_take((pool), &uc_b_);                                           \
        snap_same(&uc_a_, &uc_b_);                                           \
        snap_drop(&uc_a_);                                                   \
        snap_drop(&uc_b_);                                                   \
    } while (0)

/* ---- Bytes, numbers, running ---------------------------------------------- */

#define MAX_ALIGN alignof(max_align_t)

/* Every one of the @n bytes at @p is @c (all_zero: is 0).  One assertion
 * on the result, not one per byte: Check records every assertion passed. */
int all_byte(const void *p, size_t n, unsigned char c);
int all_zero(const void *p, size_t n);
int aligned_to(const void *p, size_t alignment);
/* A byte pattern that depends on the position and @seed. */
void pattern_fill(void *p, size_t n, unsigned seed);
int pattern_ok(const void *p, size_t n, unsigned seed);

cymem_stats stats_of(const cymem_pool *pool);

/* A 64-bit LCG step (the same on every data model); rng_below() < @n. */
uint64_t rng_next(uint64_t *x);
size_t rng_below(uint64_t *x, size_t n);

/* A test case with a timeout in seconds (CK_TIMEOUT_MULTIPLIER applies). */
TCase *tcase_timed(const char *name, double seconds);
/* Run @s; CK_FORK and CK_VERBOSITY from the environment apply. */
int run_suite(Suite *s);

#endif /* HARNESS_H */
