/*
 * check_allocator.c - a backing allocator that fails at its k-th request,
 * for every k a scenario reaches.  Each call of the whole API (new_ex,
 * alloc, alloc_aligned, realloc, on_cleanup, child pools) must then either
 * succeed or fail with ENOMEM and change nothing, and destroy must give
 * back every byte and every allocation, each with the size it was asked.
 */
#include "api-common.h"

static int cleanups;

static void cleanup(void *arg)
{
    (void)arg;
    cleanups++;
}

/* Run the scenario; return how many allocator requests it made. */
static unsigned long scenario(unsigned long fail_at)
{
    struct counting c;
    cymem_allocator a;
    struct snapshot before, after;
    int registered = 0;
    memset(&c, 0, sizeof c);
    c.fail_at = fail_at;
    a.malloc = count_malloc;
    a.free = count_free;
    a.ctx = &c;
    cymem_pool_options o = { &a, NULL, 0, 0 };
    cleanups = 0;
    errno = 0;
    cymem_pool *pool = cymem_pool_new_ex(&o);
    if (pool == NULL) {
        ck_assert_int_eq(errno, ENOMEM);
        goto out;
    }
    cymem_pool_options co = { NULL, pool, 0, 0 };
    cymem_pool *child = NULL;
    unsigned char *keep = NULL;
    for (int i = 0; i < 60; i++) {
        size_t n = i % 4 == 0 ? 9000 + (size_t)i : 24 + (size_t)i;
        snapshot(pool, &before);
        errno = 0;
        unsigned char *p = i % 5 == 0 ? cymem_pool_alloc_aligned(pool, 1, n, 256)
                                      : cymem_pool_alloc(pool, 1, n);
        if (p == NULL) {
            ck_assert_int_eq(errno, ENOMEM);
            snapshot(pool, &after);
            ck_assert_uint_eq(after.st.live_blocks, before.st.live_blocks);
            ck_assert_uint_eq(after.st.live_bytes, before.st.live_bytes);
            continue;
        }
        ck_assert(all_zero(p, n));
        memset(p, 0x5a, n);
        if (keep == NULL) {
            keep = p;
            continue;
        }
        /* Grow the kept block a lot; a failure leaves it as it was. */
        size_t old = cymem_pool_block_size(pool, keep);
        snapshot(pool, &before);
        errno = 0;
        unsigned char *q = cymem_pool_realloc(pool, keep, old + 20000);
        if (q == NULL) {
            ck_assert_int_eq(errno, ENOMEM);
            /* The blocks and their accounting are as they were; the pool
             * may keep bookkeeping it grew on the way, but reserved_bytes
             * still says exactly what it holds. */
            snapshot(pool, &after);
            after.st.reserved_bytes = before.st.reserved_bytes;
            after.st.metadata_bytes = before.st.metadata_bytes;
            after.st.chunk_count = before.st.chunk_count;
            assert_same(&before, &after);
            cymem_stats st, cst = { 0 };
            cymem_pool_stats(pool, &st);
            if (child != NULL)                  /* it shares the allocator */
                cymem_pool_stats(child, &cst);
            ck_assert_uint_eq(st.reserved_bytes + cst.reserved_bytes, c.live);
            for (size_t j = 0; j < old; j++)
                ck_assert_uint_eq(keep[j], 0x5a);
        } else {
            for (size_t j = 0; j < old; j++)
                ck_assert_uint_eq(q[j], 0x5a);
            ck_assert(all_zero(q + old, 20000));
            errno = 0;
            keep = cymem_pool_realloc(pool, q, 100);    /* shrink back */
            if (keep == NULL) {                         /* a move may fail */
                ck_assert_int_eq(errno, ENOMEM);
                ck_assert_uint_eq(cymem_pool_block_size(pool, q), old + 20000);
                keep = q;
            }
            for (size_t j = 0; j < 100; j++)
                ck_assert_uint_eq(keep[j], j < old ? 0x5a : 0);
            memset(keep, 0x5a, cymem_pool_block_size(pool, keep));
        }
        if (i % 7 == 0) {
            errno = 0;
            if (cymem_pool_on_cleanup(pool, cleanup, NULL) == 0)
                registered++;
            else
                ck_assert_int_eq(errno, ENOMEM);
        }
        if (i % 11 == 0) {
            cymem_pool_destroy(child);              /* a child on its own */
            errno = 0;
            child = cymem_pool_new_ex(&co);
            if (child == NULL)
                ck_assert_int_eq(errno, ENOMEM);
            else if (cymem_pool_alloc(child, 1, 5000) == NULL)
                ck_assert_int_eq(errno, ENOMEM);
        }
        if (i == 30) {
            cymem_pool_reset(pool);                 /* takes the child too */
            child = NULL;
            keep = NULL;
            ck_assert_int_eq(cleanups, registered);
            cymem_stats st, cst = { 0 };
            cymem_pool_stats(pool, &st);
            if (child != NULL)                  /* it shares the allocator */
                cymem_pool_stats(child, &cst);
            ck_assert_uint_eq(st.reserved_bytes + cst.reserved_bytes, c.live);
        }
    }
    cymem_pool_destroy(pool);
    ck_assert_int_eq(cleanups, registered);
out:
    ck_assert_uint_eq(c.live, 0);                   /* every byte came back */
    ck_assert_uint_eq(c.frees + (c.fail_at && c.calls >= c.fail_at), c.calls);
    ck_assert_int_eq(c.bad_size, 0);                /* with the size asked */
    return c.calls;
}

START_TEST(every_request_may_fail)
{
    unsigned long total = scenario(0);
    ck_assert_uint_gt(total, 5);
    for (unsigned long k = 1; k <= total + 1; k++)
        scenario(k);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("allocator");
    TCase *t = tcase_create("failing");
    tcase_set_timeout(t, 120);
    tcase_add_test(t, every_request_may_fail);
    suite_add_tcase(s, t);
    return run_suite(s);
}
