/*
 * contract-accounting.c - cymem_pool_stats() and cymem_pool_foreach():
 * exact against a shadow model of the live blocks (the pool's own, not its
 * children's), peak kept by a reset, reserved_bytes equal to what the
 * backing allocator holds at every point, a new pool's figures, and
 * foreach's early stop and refusals.
 */
#include "harness.h"

static void no_op(void *arg) { (void)arg; }

START_TEST(reserved_exact)
{
    backing t;
    cymem_pool *p = backing_pool(&t, NULL, 0);
    ck_assert_ptr_nonnull(p);
    ck_assert_uint_eq(stats_of(p).reserved_bytes, t.held);
    void *v[500];
    for (int i = 0; i < 500; i++) {
        size_t n = (i % 50 == 0) ? 150000 : (i % 3) ? 1 + (size_t)i * 7 : (size_t)(i * 37 % 20000);
        v[i] = cymem_pool_alloc(p, 1, n);
        ck_assert_ptr_nonnull(v[i]);
        if (i % 37 == 0)
            ck_assert_uint_eq(stats_of(p).reserved_bytes, t.held);
    }
    ck_assert_uint_eq(stats_of(p).reserved_bytes, t.held);
    for (int i = 0; i < 500; i += 2)
        ck_assert_int_eq(cymem_pool_free(p, v[i]), 0);
    ck_assert_uint_eq(stats_of(p).reserved_bytes, t.held);
    v[1] = cymem_pool_realloc(p, v[1], 400000);
    ck_assert_ptr_nonnull(v[1]);
    ck_assert_uint_eq(stats_of(p).reserved_bytes, t.held);
    ck_assert_int_eq(cymem_pool_on_cleanup(p, no_op, NULL), 0);
    ck_assert_uint_eq(stats_of(p).reserved_bytes, t.held);
    cymem_stats before = stats_of(p);
    cymem_pool_reset(p);
    POOL_CHECK(p);
    cymem_stats after = stats_of(p);
    ck_assert_uint_eq(after.reserved_bytes, t.held);
    ck_assert_uint_eq(after.peak_bytes, before.peak_bytes);   /* kept */
    ck_assert_uint_eq(after.live_bytes, 0);
    ck_assert_uint_eq(after.live_blocks, 0);
    ck_assert_uint_gt(after.peak_bytes, 0);
    ck_assert_uint_le(after.metadata_bytes, after.reserved_bytes);
    pool_done(p);
    backing_all_back(&t);
}
END_TEST

/* Random alloc, aligned alloc, free and realloc on a pool with a child;
 * every so often the stats and foreach must say exactly what the shadow
 * model holds. */
START_TEST(stats_shadow)
{
    enum { SLOTS = 400, STEPS = 30000 };
    struct { void *p; size_t n; } sh[SLOTS];
    memset(sh, 0, sizeof sh);
    cymem_pool *p = cymem_pool_new();
    cymem_pool *kid = child_of(p);
    ck_assert_ptr_nonnull(kid);
    void *kid_block = cymem_pool_alloc(kid, 1, 1000);
    ck_assert_ptr_nonnull(kid_block);
    size_t live = 0, blocks = 0, peak = 0;
    uint64_t x = 12345;
    for (int step = 0; step < STEPS; step++) {
        int s = (int)rng_below(&x, SLOTS);
        uint64_t r = rng_next(&x);
        size_t n = (size_t)(r % ((r >> 44) < 2 ? 200000 : 600));
        if (sh[s].p == NULL) {
            sh[s].p = ((r >> 20) & 7) == 0 ? cymem_pool_alloc_aligned(p, 1, n, 256)
                                           : cymem_pool_alloc(p, 1, n);
            ck_assert_ptr_nonnull(sh[s].p);
            sh[s].n = n;
            live += n;
            blocks++;
        } else if ((r >> 23) & 1) {
            ck_assert_int_eq(cymem_pool_free(p, sh[s].p), 0);
            live -= sh[s].n;
            blocks--;
            sh[s].p = NULL;
        } else {
            void *q = cymem_pool_realloc(p, sh[s].p, n);
            ck_assert_ptr_nonnull(q);
            live = live - sh[s].n + n;
            sh[s].p = q;
            sh[s].n = n;
        }
        if (live > peak)
            peak = live;
        if (step % 500 == 0 || step > STEPS - 10) {
            cymem_stats st = stats_of(p);
            ck_assert_uint_eq(st.live_bytes, live);
            ck_assert_uint_eq(st.live_blocks, blocks);
            ck_assert_uint_eq(st.peak_bytes, peak);
            ck_assert_uint_ge(st.used_bytes, st.live_bytes);
            ck_assert_uint_ge(st.reserved_bytes, st.used_bytes + st.metadata_bytes);
            snap sn;
            snap_take(p, &sn);
            ck_assert_uint_eq(sn.n, blocks);
            for (int i = 0; i < SLOTS; i++) {
                if (sh[i].p == NULL)
                    continue;
                ck_assert_int_eq(cymem_pool_owns(p, sh[i].p), 1);
                ck_assert_uint_eq(cymem_pool_block_size(p, sh[i].p), sh[i].n);
                const blkrec *f = snap_find(&sn, sh[i].p);
                ck_assert_ptr_nonnull(f);
                ck_assert_uint_eq(f->size, sh[i].n);
            }
            ck_assert_ptr_null(snap_find(&sn, kid_block));
            ck_assert_int_eq(cymem_pool_owns(p, kid_block), 0);
            snap_drop(&sn);
            POOL_CHECK(p);
        }
    }
    cymem_pool_reset(p);
    cymem_stats st = stats_of(p);
    ck_assert_uint_eq(st.live_bytes, 0);
    ck_assert_uint_eq(st.live_blocks, 0);
    ck_assert_uint_eq(st.peak_bytes, peak);     /* not lowered by reset */
    pool_done(p);
}
END_TEST

static int count(void *ptr, size_t size, void *ctx)
{
    size_t *n = ctx;
    (void)ptr;
    (void)size;
    ++*n;
    return 0;
}

static int stop_at(void *ptr, size_t size, void *ctx)
{
    int *left = ctx;
    (void)ptr;
    (void)size;
    return --*left == 0 ? 42 : 0;
}

START_TEST(foreach_contract)
{
    cymem_pool *p = cymem_pool_new();
    size_t n = 0;
    ck_assert_int_eq(cymem_pool_foreach(p, count, &n), 0);
    ck_assert_uint_eq(n, 0);
    for (int i = 0; i < 10; i++)
        ck_assert_ptr_nonnull(cymem_pool_alloc(p, 1, (size_t)i * 1000));
    ck_assert_int_eq(cymem_pool_foreach(p, count, &n), 0);
    ck_assert_uint_eq(n, 10);
    /* A non-zero return stops the walk and is returned. */
    int left = 4;
    ck_assert_int_eq(cymem_pool_foreach(p, stop_at, &left), 42);
    ck_assert_int_eq(left, 0);
    UNCHANGED(p, {
        errno = 0;
        ck_assert_int_eq(cymem_pool_foreach(p, NULL, NULL), -1);
        ck_assert_int_eq(errno, EINVAL);
        errno = 0;
        ck_assert_int_eq(cymem_pool_stats(p, NULL), -1);
        ck_assert_int_eq(errno, EINVAL);
    });
    pool_done(p);
}
END_TEST

/* A thread's own block of a shared pool that moves on realloc: the peak
 * is the true one however many shared pools the thread uses (more than
 * its cache of them names at once, here). */
START_TEST(shared_realloc_peak)
{
    cymem_pool_options o = { NULL, NULL, CYMEM_POOL_THREADSAFE, 0 };
    for (int npools = 1; npools <= 8; npools++) {
        cymem_pool *p[8];
        for (int i = 0; i < npools; i++) {
            p[i] = cymem_pool_new_ex(&o);
            ck_assert_ptr_nonnull(p[i]);
        }
        void *a = cymem_pool_alloc(p[0], 1, 1000);
        ck_assert_ptr_nonnull(a);
        ck_assert_ptr_nonnull(cymem_pool_alloc(p[0], 1, 16));  /* a is not on top */
        for (int i = 1; i < npools; i++)
            ck_assert_ptr_nonnull(cymem_pool_alloc(p[i], 1, 16));
        a = cymem_pool_realloc(p[0], a, 2000);
        ck_assert_ptr_nonnull(a);
        cymem_stats st = stats_of(p[0]);
        ck_assert_uint_eq(st.live_bytes, 2016);
        ck_assert_msg(st.peak_bytes == 2016, "%d shared pools: peak %zu, not 2016", npools,
                      st.peak_bytes);
        POOL_CHECK(p[0]);
        for (int i = 0; i < npools; i++)
            pool_done(p[i]);
    }
}
END_TEST

/* A new pool's figures, as cymem_pool_new(3) gives them: one piece of
 * 64 KiB (the chunk size, if smaller), a shared pool's table of heaps as a
 * second. */
START_TEST(new_pool_figures)
{
    for (int k = 0; k < 4; k++) {
        cymem_pool_options o;
        memset(&o, 0, sizeof o);
        o.chunk_size = (k & 1) ? CYMEM_CHUNK_SIZE_MIN : 0;
        o.flags = (k & 2) ? CYMEM_POOL_THREADSAFE : 0;
        cymem_pool *p = cymem_pool_new_ex(&o);
        ck_assert_ptr_nonnull(p);
        cymem_stats st = stats_of(p);
        size_t keeper = (k & 1) ? CYMEM_CHUNK_SIZE_MIN : (size_t)64 << 10;
        ck_assert_uint_eq(st.live_bytes + st.live_blocks + st.peak_bytes + st.used_bytes, 0);
        ck_assert_uint_eq(st.chunk_count, (k & 2) ? 2 : 1);
        if (k & 2)
            ck_assert_uint_gt(st.reserved_bytes, keeper);
        else
            ck_assert_uint_eq(st.reserved_bytes, keeper);
        pool_done(p);
    }
    backing t;
    cymem_pool *p = backing_pool(&t, NULL, CYMEM_POOL_THREADSAFE);
    ck_assert_ptr_nonnull(p);
    ck_assert_uint_eq(stats_of(p).chunk_count, 1);
    ck_assert_uint_eq(stats_of(p).reserved_bytes, t.held);
    pool_done(p);
    backing_all_back(&t);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("accounting");
    TCase *tc = tcase_timed("accounting", 120);
    tcase_add_test(tc, reserved_exact);
    tcase_add_test(tc, stats_shadow);
    tcase_add_test(tc, foreach_contract);
    tcase_add_test(tc, shared_realloc_peak);
    tcase_add_test(tc, new_pool_figures);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
