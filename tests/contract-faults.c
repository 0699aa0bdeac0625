/*
 * contract-faults.c - a backing allocator that fails at its k-th request
 * (only that one, or every one from it on), for every k a scenario
 * reaches.  Each call of the API that needs memory (new_ex, alloc,
 * alloc_aligned, realloc up and down, on_cleanup, child pools) either
 * succeeds or fails with ENOMEM and changes no block; reserved_bytes
 * always says exactly what the pools hold; the pool is usable once the
 * allocator recovers; cleanups run once each; destroy gives back every
 * allocation and every byte, each with the size asked.
 */
#include "harness.h"

/* The children a scenario made: their memory comes from the same
 * allocator, but the parent's stats speak only of its own. */
static cymem_pool *kids[8];
static int nkids;
static int registered, cleanups;

static void cleanup(void *arg) { (void)arg; cleanups++; }

static void reserved_is_held(const cymem_pool *p, const backing *t)
{
    size_t r = stats_of(p).reserved_bytes;
    for (int i = 0; i < nkids; i++)
        r += stats_of(kids[i]).reserved_bytes;
    ck_assert_uint_eq(r, t->held);
}

/* One allocation; on failure nothing but the engine's reserve changed. */
static void *try_alloc(cymem_pool *p, size_t n, size_t align, int *failed)
{
    snap a, b;
    snap_take(p, &a);
    errno = 0;
    void *q = align ? cymem_pool_alloc_aligned(p, 1, n, align) : cymem_pool_alloc(p, 1, n);
    if (q == NULL) {
        ck_assert_int_eq(errno, ENOMEM);
        snap_take(p, &b);
        snap_same_blocks(&a, &b);
        snap_drop(&b);
        ++*failed;
    } else {
        ck_assert(aligned_to(q, align ? align : MAX_ALIGN));
        ck_assert(all_zero(q, n));
        memset(q, 0x99, n);
    }
    snap_drop(&a);
    POOL_CHECK(p);
    return q;
}

/* Resize @*q to @to; on failure the block is as it was. */
static void try_realloc(cymem_pool *p, const backing *t, void **q, size_t to,
                        unsigned seed, int *failed)
{
    size_t old = cymem_pool_block_size(p, *q);
    pattern_fill(*q, old, seed);
    errno = 0;
    unsigned char *r = cymem_pool_realloc(p, *q, to);
    if (r == NULL) {
        ck_assert_int_eq(errno, ENOMEM);
        ck_assert_uint_eq(cymem_pool_block_size(p, *q), old);
        ck_assert(pattern_ok(*q, old, seed));
        reserved_is_held(p, t);
        POOL_CHECK(p);
        ++*failed;
        return;
    }
    ck_assert(pattern_ok(r, old < to ? old : to, seed));
    if (to > old)
        ck_assert(all_zero(r + old, to - old));
    *q = r;
    POOL_CHECK(p);
}

/* A scenario touching every kind of request; returns the number of calls
 * that failed. */
static int scenario(cymem_pool *p, const backing *t)
{
    static const size_t sz[] = { 8, 24, 100, 700, 3000, 9000, 70000, 300000 };
    void *keep[32];
    int nkeep = 0, failed = 0;
    nkids = 0;
    registered = cleanups = 0;
    for (int round = 0; round < 3; round++) {
        for (size_t i = 0; i < sizeof sz / sizeof sz[0]; i++)
            for (int k = 0; k < 3; k++) {
                size_t align = k < 2 ? 0 : round == 1 ? 256 : 4096;
                void *q = try_alloc(p, sz[i], align, &failed);
                if (q != NULL && k == 0 && nkeep < 32)
                    keep[nkeep++] = q;
                else if (q != NULL)
                    ck_assert_int_eq(cymem_pool_free(p, q), 0);
            }
        /* Grow each kept block a lot, then shrink it back. */
        for (int i = 0; i < nkeep; i++) {
            size_t old = cymem_pool_block_size(p, keep[i]);
            try_realloc(p, t, &keep[i], old * 3 + 10 + (i % 2 ? 20000 : 0),
                        (unsigned)i, &failed);
            try_realloc(p, t, &keep[i], old < 100 ? old : 100, (unsigned)i + 1, &failed);
        }
        errno = 0;
        if (cymem_pool_on_cleanup(p, cleanup, NULL) == 0) {
            registered++;
        } else {
            ck_assert_int_eq(errno, ENOMEM);
            failed++;
        }
        if (nkids > 0)                      /* a child on its own */
            pool_done(kids[--nkids]);
        errno = 0;
        cymem_pool *c = child_of(p);
        if (c == NULL) {
            ck_assert_int_eq(errno, ENOMEM);
            failed++;
        } else {
            kids[nkids++] = c;
            errno = 0;
            if (cymem_pool_alloc(c, 1, 5000) == NULL) {
                ck_assert_int_eq(errno, ENOMEM);
                failed++;
            }
        }
        reserved_is_held(p, t);
        POOL_CHECK(p);
        if (round == 1) {
            cymem_pool_reset(p);            /* takes the children too */
            POOL_CHECK(p);
            ck_assert_int_eq(cleanups, registered);
            nkeep = 0;
            nkids = 0;
            reserved_is_held(p, t);
        }
    }
    return failed;
}

START_TEST(counting_all_back)
{
    backing t;
    cymem_pool *p = backing_pool(&t, NULL, 0);
    ck_assert_ptr_nonnull(p);
    ck_assert_int_eq(scenario(p, &t), 0);
    reserved_is_held(p, &t);
    pool_done(p);
    ck_assert_int_eq(cleanups, registered);
    backing_all_back(&t);
    ck_assert_uint_gt(t.mallocs, 5);
}
END_TEST

START_TEST(fail_at_every_call)
{
    backing t;
    cymem_pool *p = backing_pool(&t, NULL, 0);
    scenario(p, &t);
    pool_done(p);
    unsigned long total = t.requests;
    for (unsigned long k = 1; k <= total + 1; k++)
        for (int all = 0; all < 2; all++) {
            cymem_pool_options o;
            memset(&o, 0, sizeof o);
            backing_init(&t);
            t.fail_at = k;
            t.fail_all = all;
            o.allocator = &t.alloc;
            errno = 0;
            p = cymem_pool_new_ex(&o);
            if (p == NULL) {
                ck_assert_int_eq(errno, ENOMEM);
                backing_all_back(&t);
                continue;
            }
            int failed = scenario(p, &t);
            if (all && t.requests >= k)
                ck_assert_int_gt(failed, 0);
            /* usable again once the allocator recovers */
            backing_recover(&t);
            void *q = cymem_pool_alloc(p, 1, 100000);
            ck_assert_ptr_nonnull(q);
            ck_assert(all_zero(q, 100000));
            reserved_is_held(p, &t);
            pool_done(p);
            ck_assert_int_eq(cleanups, registered);
            backing_all_back(&t);
        }
}
END_TEST

/* A direct block's memory is had before the direct map grows for it, and
 * given back when the map cannot grow: a failed large request, whichever
 * of its two requests failed, leaves the pool exactly as it was,
 * reserved_bytes and chunk_count included (doc/design.md, "Failure"). */
START_TEST(direct_failure_changes_nothing)
{
    backing t;
    cymem_pool *p = backing_pool(&t, NULL, 0);
    ck_assert_ptr_nonnull(p);
    int failed = 0;
    for (int i = 0; i < 40; i++) {
        for (int all = 0; all < 2; all++) {
            backing_fail_next(&t, all);
            UNCHANGED(p, {
                errno = 0;
                ck_assert_ptr_null(cymem_pool_alloc(p, 1, 5000 + (size_t)i));
                ck_assert_int_eq(errno, ENOMEM);
            });
            backing_recover(&t);
        }
        /* The memory comes, and the map's growth, when one is due,
         * fails. */
        snap a, b;
        snap_take(p, &a);
        t.fail_at = t.requests + 2;
        errno = 0;
        void *q = cymem_pool_alloc(p, 1, 5000 + (size_t)i);
        backing_recover(&t);
        if (q == NULL) {
            ck_assert_int_eq(errno, ENOMEM);
            snap_take(p, &b);
            snap_same(&a, &b);
            snap_drop(&b);
            failed++;
            q = cymem_pool_alloc(p, 1, 5000 + (size_t)i);
        }
        snap_drop(&a);
        ck_assert_ptr_nonnull(q);
        POOL_CHECK(p);
    }
    ck_assert_int_gt(failed, 0);
    reserved_is_held(p, &t);
    pool_done(p);
    backing_all_back(&t);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("faults");
    TCase *tc = tcase_timed("faults", 300);
    tcase_add_test(tc, counting_all_back);
    tcase_add_test(tc, fail_at_every_call);
    tcase_add_test(tc, direct_failure_changes_nothing);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
