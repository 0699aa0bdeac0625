/*
 * contract-null.c - a NULL pool, given to every function that takes a
 * pool: nothing happens; a function that returns a status or a pointer
 * fails with errno EINVAL (-1, NULL, or 0 for cymem_pool_owns and
 * cymem_pool_block_size), checked before any other argument; reset and
 * destroy do nothing.  The other pool, whose block is passed along, is
 * unchanged.
 */
#include "harness.h"

static cymem_pool *P;
static void *blk;               /* a live block of P, passed with NULL */
static int calls;

/* volatile: the compiler would warn of a size it can see is too large */
static volatile size_t huge = SIZE_MAX;

static int count_call(void *ptr, size_t size, void *ctx)
{
    (void)ptr;
    (void)size;
    (void)ctx;
    calls++;
    return 0;
}

static void cleanup(void *arg) { (void)arg; calls++; }

static void setup(void)
{
    P = cymem_pool_new();
    ck_assert_ptr_nonnull(P);
    blk = cymem_pool_alloc(P, 1, 48);
    ck_assert_ptr_nonnull(blk);
    calls = 0;
}

static void teardown(void)
{
    ck_assert_int_eq(cymem_pool_owns(P, blk), 1);
    ck_assert_int_eq(calls, 0);
    pool_done(P);
}

START_TEST(null_alloc)
{
    UNCHANGED(P, {
        errno = 0;
        ck_assert_ptr_null(cymem_pool_alloc(NULL, 1, 16));
        ck_assert_int_eq(errno, EINVAL);
        errno = 0;
        ck_assert_ptr_null(cymem_pool_alloc(NULL, 0, 0));
        ck_assert_int_eq(errno, EINVAL);
        errno = 0;
        ck_assert_ptr_null(cymem_pool_alloc(NULL, 1, 100000));
        ck_assert_int_eq(errno, EINVAL);
        /* The pool is checked first: not ENOMEM for an overflow. */
        errno = 0;
        ck_assert_ptr_null(cymem_pool_alloc(NULL, huge, 2));
        ck_assert_int_eq(errno, EINVAL);
    });
}
END_TEST

START_TEST(null_alloc_aligned)
{
    UNCHANGED(P, {
        errno = 0;
        ck_assert_ptr_null(cymem_pool_alloc_aligned(NULL, 1, 16, 64));
        ck_assert_int_eq(errno, EINVAL);
        errno = 0;
        ck_assert_ptr_null(cymem_pool_alloc_aligned(NULL, huge, 2, 64));
        ck_assert_int_eq(errno, EINVAL);
        errno = 0;
        ck_assert_ptr_null(cymem_pool_alloc_aligned(NULL, 1, 16, 3));
        ck_assert_int_eq(errno, EINVAL);
    });
}
END_TEST

START_TEST(null_realloc)
{
    UNCHANGED(P, {
        errno = 0;
        ck_assert_ptr_null(cymem_pool_realloc(NULL, NULL, 16));
        ck_assert_int_eq(errno, EINVAL);
        errno = 0;
        ck_assert_ptr_null(cymem_pool_realloc(NULL, blk, 100));
        ck_assert_int_eq(errno, EINVAL);
        errno = 0;
        ck_assert_ptr_null(cymem_pool_realloc(NULL, blk, 0));
        ck_assert_int_eq(errno, EINVAL);
    });
}
END_TEST

START_TEST(null_free)
{
    UNCHANGED(P, {
        errno = 0;
        ck_assert_int_eq(cymem_pool_free(NULL, blk), -1);
        ck_assert_int_eq(errno, EINVAL);
    });
}
END_TEST

/* The pool is checked before the pointer, so this is an error, unlike
 * cymem_pool_free(pool, NULL). */
START_TEST(null_free_null)
{
    errno = 0;
    ck_assert_int_eq(cymem_pool_free(NULL, NULL), -1);
    ck_assert_int_eq(errno, EINVAL);
}
END_TEST

/* owns reports 0, as for any pointer it does not own, and sets EINVAL. */
START_TEST(null_owns)
{
    errno = 0;
    ck_assert_int_eq(cymem_pool_owns(NULL, blk), 0);
    ck_assert_int_eq(errno, EINVAL);
    errno = 0;
    ck_assert_int_eq(cymem_pool_owns(NULL, NULL), 0);
    ck_assert_int_eq(errno, EINVAL);
}
END_TEST

START_TEST(null_block_size)
{
    errno = 0;
    ck_assert_uint_eq(cymem_pool_block_size(NULL, blk), 0);
    ck_assert_int_eq(errno, EINVAL);
    errno = 0;
    ck_assert_uint_eq(cymem_pool_block_size(NULL, NULL), 0);
    ck_assert_int_eq(errno, EINVAL);
}
END_TEST

START_TEST(null_stats)
{
    cymem_stats st;
    errno = 0;
    ck_assert_int_eq(cymem_pool_stats(NULL, &st), -1);
    ck_assert_int_eq(errno, EINVAL);
    errno = 0;
    ck_assert_int_eq(cymem_pool_stats(NULL, NULL), -1);
    ck_assert_int_eq(errno, EINVAL);
}
END_TEST

START_TEST(null_foreach)
{
    errno = 0;
    ck_assert_int_eq(cymem_pool_foreach(NULL, count_call, NULL), -1);
    ck_assert_int_eq(errno, EINVAL);
    errno = 0;
    ck_assert_int_eq(cymem_pool_foreach(NULL, NULL, NULL), -1);
    ck_assert_int_eq(errno, EINVAL);
}
END_TEST

START_TEST(null_on_cleanup)
{
    errno = 0;
    ck_assert_int_eq(cymem_pool_on_cleanup(NULL, cleanup, NULL), -1);
    ck_assert_int_eq(errno, EINVAL);
    errno = 0;
    ck_assert_int_eq(cymem_pool_on_cleanup(NULL, NULL, NULL), -1);
    ck_assert_int_eq(errno, EINVAL);
}
END_TEST

/* The block P holds, asked of a NULL pool: refused before anything else,
 * and the out-arguments are left alone. */
START_TEST(null_find)
{
    void *block = &calls;
    size_t size = 7;
    UNCHANGED(P, {
        errno = 0;
        ck_assert_int_eq(cymem_pool_find(NULL, blk, &block, &size), -1);
        ck_assert_int_eq(errno, EINVAL);
        errno = 0;
        ck_assert_int_eq(cymem_pool_find(NULL, NULL, NULL, NULL), -1);
        ck_assert_int_eq(errno, EINVAL);
    });
    ck_assert_ptr_eq(block, &calls);
    ck_assert_uint_eq(size, 7);
}
END_TEST

START_TEST(null_free_size)
{
    size_t size = 7;
    UNCHANGED(P, {
        errno = 0;
        ck_assert_int_eq(cymem_pool_free_size(NULL, blk, &size), -1);
        ck_assert_int_eq(errno, EINVAL);
        errno = 0;
        ck_assert_int_eq(cymem_pool_free_size(NULL, NULL, &size), -1);
        ck_assert_int_eq(errno, EINVAL);
    });
    ck_assert_uint_eq(size, 7);
}
END_TEST

/* cymem_trim() takes no pool: it leaves a live pool's blocks alone. */
START_TEST(trim_keeps_live_pools)
{
    UNCHANGED(P, { (void)cymem_trim(); });
}
END_TEST

/* reset and destroy return nothing: they do nothing, errno included. */
START_TEST(null_reset_destroy)
{
    UNCHANGED(P, {
        errno = 0;
        cymem_pool_reset(NULL);
        ck_assert_int_eq(errno, 0);
        cymem_pool_destroy(NULL);
        ck_assert_int_eq(errno, 0);
    });
}
END_TEST

int main(void)
{
    Suite *s = suite_create("null-pool");
    TCase *tc = tcase_timed("null-pool", 30);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, null_alloc);
    tcase_add_test(tc, null_alloc_aligned);
    tcase_add_test(tc, null_realloc);
    tcase_add_test(tc, null_free);
    tcase_add_test(tc, null_free_null);
    tcase_add_test(tc, null_owns);
    tcase_add_test(tc, null_block_size);
    tcase_add_test(tc, null_stats);
    tcase_add_test(tc, null_foreach);
    tcase_add_test(tc, null_on_cleanup);
    tcase_add_test(tc, null_reset_destroy);
    tcase_add_test(tc, null_find);
    tcase_add_test(tc, null_free_size);
    tcase_add_test(tc, trim_keeps_live_pools);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
