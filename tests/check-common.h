/*
 * check-common.h - shared by the check-*.c programs: a counting backing
 * allocator that can be told to fail, a snapshot of a pool (its stats and
 * the sorted set of live blocks) to prove a refused call changed nothing,
 * and small byte helpers.
 */
#ifndef CHECK_COMMON_H
#define CHECK_COMMON_H

#include <check.h>
#include <cymem.h>
#include <errno.h>
#include <stdalign.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define HDR 32  /* room in front of each backing block for its size */

typedef struct tally {
    unsigned long mallocs, frees, failed;
    unsigned long fail_at;      /* fail the n-th malloc call; 0: never */
    int fail_all;               /* fail every call from fail_at on */
    size_t held;                /* bytes handed out, not given back */
    size_t asked, returned;     /* sums of sizes asked and given back */
    int bad_free;               /* free told a size malloc was not asked */
} tally;

static inline void *tally_malloc(size_t size, void *ctx)
{
    tally *t = ctx;
    unsigned long n = t->mallocs + t->failed + 1;
    if (t->fail_at != 0 && (n == t->fail_at || (t->fail_all && n > t->fail_at))) {
        t->failed++;
        return NULL;
    }
    unsigned char *p = malloc(size + HDR);
    if (p == NULL)
        return NULL;
    memcpy(p, &size, sizeof size);
    memset(p + HDR, 0xA5, size);   /* never hand out zeros for free */
    t->mallocs++;
    t->held += size;
    t->asked += size;
    return p + HDR;
}

static inline void tally_free(void *ptr, size_t size, void *ctx)
{
    tally *t = ctx;
    unsigned char *p = (unsigned char *)ptr - HDR;
    size_t was;
    memcpy(&was, p, sizeof was);
    if (was != size)
        t->bad_free = 1;
    t->frees++;
    t->held -= was;
    t->returned += size;
    free(p);
}

static inline cymem_pool *tally_pool(tally *t, cymem_allocator *a, cymem_pool *parent,
                              unsigned flags)
{
    cymem_pool_options o;
    memset(&o, 0, sizeof o);
    a->malloc = tally_malloc;
    a->free = tally_free;
    a->ctx = t;
    o.allocator = a;
    o.parent = parent;
    o.flags = flags;
    return cymem_pool_new_ex(&o);
}

/* Everything given back, sizes as asked. */
static inline void tally_all_back(const tally *t)
{
    ck_assert_uint_eq(t->mallocs, t->frees);
    ck_assert_uint_eq(t->held, 0);
    ck_assert_uint_eq(t->asked, t->returned);
    ck_assert_int_eq(t->bad_free, 0);
}

/* ---- Snapshots: stats plus the sorted (address, size) set -------------- */

typedef struct blkrec { uintptr_t addr; size_t size; } blkrec;

typedef struct snap {
    cymem_stats st;
    blkrec *b;
    size_t n, cap;
} snap;

static inline int snap_visit(void *ptr, size_t size, void *ctx)
{
    snap *s = ctx;
    if (s->n == s->cap) {
        s->cap = s->cap ? 2 * s->cap : 64;
        s->b = realloc(s->b, s->cap * sizeof *s->b);
        ck_assert_ptr_nonnull(s->b);
    }
    s->b[s->n].addr = (uintptr_t)ptr;
    s->b[s->n].size = size;
    s->n++;
    return 0;
}

static inline int blk_cmp(const void *x, const void *y)
{
    const blkrec *a = x, *b = y;
    return a->addr < b->addr ? -1 : a->addr > b->addr;
}

static inline void snap_take(const cymem_pool *p, snap *s)
{
    memset(s, 0, sizeof *s);
    ck_assert_int_eq(cymem_pool_stats(p, &s->st), 0);
    ck_assert_int_eq(cymem_pool_foreach(p, snap_visit, s), 0);
    if (s->n)
        qsort(s->b, s->n, sizeof *s->b, blk_cmp);
}

static inline void snap_same(const snap *a, const snap *b)
{
    ck_assert_uint_eq(a->st.live_bytes, b->st.live_bytes);
    ck_assert_uint_eq(a->st.live_blocks, b->st.live_blocks);
    ck_assert_uint_eq(a->st.peak_bytes, b->st.peak_bytes);
    ck_assert_uint_eq(a->st.reserved_bytes, b->st.reserved_bytes);
    ck_assert_uint_eq(a->st.used_bytes, b->st.used_bytes);
    ck_assert_uint_eq(a->st.chunk_count, b->st.chunk_count);
    ck_assert_uint_eq(a->st.metadata_bytes, b->st.metadata_bytes);
    ck_assert_uint_eq(a->n, b->n);
    for (size_t i = 0; i < a->n; i++) {
        ck_assert_uint_eq(a->b[i].addr, b->b[i].addr);
        ck_assert_uint_eq(a->b[i].size, b->b[i].size);
    }
}

static inline void snap_drop(snap *s)
{
    free(s->b);
    memset(s, 0, sizeof *s);
}

/* ---- Bytes -------------------------------------------------------------- */

static inline int all_zero(const void *p, size_t n)
{
    const unsigned char *c = p;
    for (size_t i = 0; i < n; i++)
        if (c[i] != 0)
            return 0;
    return 1;
}

static inline int aligned_to(const void *p, size_t a)
{
    return ((uintptr_t)p & (a - 1)) == 0;
}

#define MAX_ALIGN alignof(max_align_t)

static inline cymem_stats stats_of(const cymem_pool *p)
{
    cymem_stats s;
    ck_assert_int_eq(cymem_pool_stats(p, &s), 0);
    return s;
}

/* Run a suite; CK_FORK and CK_VERBOSITY from the environment apply. */
static inline int run_suite(Suite *s)
{
    SRunner *r = srunner_create(s);
    srunner_run_all(r, CK_NORMAL);
    int failed = srunner_ntests_failed(r);
    srunner_free(r);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

#endif /* CHECK_COMMON_H */
