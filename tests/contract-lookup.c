/*
 * contract-lookup.c - cymem_pool_find() and cymem_pool_free_size(): the
 * block holding an address (start, interior, past the end, freed, other
 * pool, small and large blocks, 0-byte blocks, aligned blocks), and a free
 * that reports the freed size and refuses what cymem_pool_free() refuses.
 */
#include "harness.h"

static cymem_pool *pools[2];

/* Each test runs on a plain pool (loop index 0) and a THREADSAFE one (1). */
static void open_pools(int threadsafe)
{
    cymem_pool_options o = { 0 };
    o.flags = threadsafe ? CYMEM_POOL_THREADSAFE : 0;
    pools[0] = cymem_pool_new_ex(&o);
    pools[1] = cymem_pool_new();
    ck_assert_ptr_nonnull(pools[0]);
    ck_assert_ptr_nonnull(pools[1]);
}

static void teardown(void)
{
    /* (pools the test did not open are NULL: pool_done ignores them) */
    pool_done(pools[0]);
    pool_done(pools[1]);
    pools[0] = pools[1] = NULL;
}

/* Sizes from the smallest class to direct blocks of several pages. */
static const size_t sizes[] = { 1, 8, 24, 100, 1000, 4096, 5000, 100000, 3 << 20 };
#define NSIZES (sizeof sizes / sizeof sizes[0])

START_TEST(find_start_interior_and_end)
{
    open_pools(_i);
    cymem_pool *pool = pools[0];
    char *p[NSIZES];
    for (size_t i = 0; i < NSIZES; i++)
        ck_assert_ptr_nonnull(p[i] = cymem_pool_alloc(pool, 1, sizes[i]));
    for (size_t i = 0; i < NSIZES; i++) {
        size_t n = sizes[i];
        size_t offs[] = { 0, n / 2, n - 1 };
        for (int k = 0; k < 3; k++) {
            void *b = NULL;
            size_t sz = 0;
            ck_assert_int_eq(cymem_pool_find(pool, p[i] + offs[k], &b, &sz), 0);
            ck_assert_ptr_eq(b, p[i]);
            ck_assert_uint_eq(sz, n);
        }
        /* The byte past the requested size is not the block's, even when
         * the slot behind it is larger. */
        void *b = (void *)1;
        size_t sz = 7;
        errno = 0;
        int rc = cymem_pool_find(pool, p[i] + n, &b, &sz);
        if (rc == 0)        /* only if another block starts right there */
            ck_assert_ptr_ne(b, p[i]);
        else {
            ck_assert_int_eq(errno, ENOENT);
            ck_assert_ptr_eq(b, (void *)1);
            ck_assert_uint_eq(sz, 7);
        }
    }
}
END_TEST

START_TEST(find_follows_free_realloc_and_reset)
{
    open_pools(_i);
    cymem_pool *pool = pools[0];
    char *a = cymem_pool_alloc(pool, 1, 64);
    char *z = cymem_pool_alloc(pool, 0, 8);
    ck_assert_ptr_nonnull(a);
    ck_assert_ptr_nonnull(z);
    void *b;
    size_t sz;
    ck_assert_int_eq(cymem_pool_find(pool, z, &b, &sz), 0);
    ck_assert_ptr_eq(b, z);
    ck_assert_uint_eq(sz, 0);
    errno = 0;
    ck_assert_int_eq(cymem_pool_find(pool, z + 1, NULL, NULL), -1);
    ck_assert_int_eq(errno, ENOENT);
    char *r = cymem_pool_realloc(pool, a, 32);
    ck_assert_ptr_nonnull(r);
    ck_assert_int_eq(cymem_pool_find(pool, r + 31, &b, &sz), 0);
    ck_assert_uint_eq(sz, 32);
    ck_assert_int_eq(cymem_pool_find(pool, r + 32, NULL, NULL), -1);
    ck_assert_int_eq(cymem_pool_free(pool, r), 0);
    ck_assert_int_eq(cymem_pool_find(pool, r, NULL, NULL), -1);
    ck_assert_int_eq(errno, ENOENT);
    char *big = cymem_pool_alloc_aligned(pool, 1, 200000, 4096);
    ck_assert_ptr_nonnull(big);
    ck_assert_int_eq(cymem_pool_find(pool, big + 199999, &b, NULL), 0);
    ck_assert_ptr_eq(b, big);
    cymem_pool_reset(pool);
    ck_assert_int_eq(cymem_pool_find(pool, big, NULL, NULL), -1);
    ck_assert_int_eq(cymem_pool_find(pool, z, NULL, NULL), -1);
}
END_TEST

START_TEST(find_refuses_other_pools_and_null)
{
    open_pools(_i);
    char *a = cymem_pool_alloc(pools[0], 1, 48);
    char *c = cymem_pool_alloc(pools[1], 1, 48);
    int on_stack;
    ck_assert_ptr_nonnull(a);
    ck_assert_ptr_nonnull(c);
    ck_assert_int_eq(cymem_pool_find(pools[0], c + 4, NULL, NULL), -1);
    ck_assert_int_eq(errno, ENOENT);
    ck_assert_int_eq(cymem_pool_find(pools[0], &on_stack, NULL, NULL), -1);
    ck_assert_int_eq(errno, ENOENT);
    errno = 0;
    ck_assert_int_eq(cymem_pool_find(NULL, a, NULL, NULL), -1);
    ck_assert_int_eq(errno, EINVAL);
    errno = 0;
    ck_assert_int_eq(cymem_pool_find(pools[0], NULL, NULL, NULL), -1);
    ck_assert_int_eq(errno, EINVAL);
}
END_TEST

START_TEST(free_size_reports_and_frees)
{
    open_pools(_i);
    cymem_pool *pool = pools[0];
    for (size_t i = 0; i < NSIZES; i++) {
        char *p = cymem_pool_alloc(pool, 1, sizes[i]);
        ck_assert_ptr_nonnull(p);
        size_t n = 0;
        ck_assert_int_eq(cymem_pool_free_size(pool, p, &n), 0);
        ck_assert_uint_eq(n, sizes[i]);
        ck_assert_int_eq(cymem_pool_owns(pool, p), 0);
        n = 99;
        errno = 0;
        ck_assert_int_eq(cymem_pool_free_size(pool, p, &n), -1);    /* twice */
        ck_assert_int_eq(errno, EINVAL);
        ck_assert_uint_eq(n, 99);
    }
    cymem_stats st;
    ck_assert_int_eq(cymem_pool_stats(pool, &st), 0);
    ck_assert_uint_eq(st.live_bytes, 0);
    ck_assert_uint_eq(st.live_blocks, 0);
}
END_TEST

START_TEST(free_size_refuses_what_free_refuses)
{
    open_pools(_i);
    cymem_pool *pool = pools[0];
    char *a = cymem_pool_alloc(pool, 2, 50);
    char *c = cymem_pool_alloc(pools[1], 1, 100);
    size_t n = 5;
    ck_assert_ptr_nonnull(a);
    ck_assert_ptr_nonnull(c);
    ck_assert_int_eq(cymem_pool_free_size(pool, a + 1, &n), -1);
    ck_assert_int_eq(errno, EINVAL);
    ck_assert_int_eq(cymem_pool_free_size(pool, c, &n), -1);
    ck_assert_int_eq(errno, EINVAL);
    ck_assert_uint_eq(n, 5);
    ck_assert_int_eq(cymem_pool_free_size(pool, NULL, &n), 0);
    ck_assert_uint_eq(n, 0);
    errno = 0;
    ck_assert_int_eq(cymem_pool_free_size(NULL, a, &n), -1);
    ck_assert_int_eq(errno, EINVAL);
    ck_assert_int_eq(cymem_pool_free_size(NULL, NULL, NULL), -1);
    ck_assert_uint_eq(cymem_pool_block_size(pool, a), 100);
    ck_assert_int_eq(cymem_pool_free_size(pool, a, NULL), 0);
    ck_assert_int_eq(cymem_pool_owns(pools[1], c), 1);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("lookup");
    TCase *tc = tcase_create("lookup");
    tcase_add_checked_fixture(tc, NULL, teardown);
    tcase_add_loop_test(tc, find_start_interior_and_end, 0, 2);
    tcase_add_loop_test(tc, find_follows_free_realloc_and_reset, 0, 2);
    tcase_add_loop_test(tc, find_refuses_other_pools_and_null, 0, 2);
    tcase_add_loop_test(tc, free_size_reports_and_frees, 0, 2);
    tcase_add_loop_test(tc, free_size_refuses_what_free_refuses, 0, 2);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
