/*
 * api-alloc.c - cymem_pool_alloc and cymem_pool_alloc_aligned: zero-filled
 * and aligned, fresh and reused; overflow; zero-size blocks; alignments.
 */
#include "api-common.h"

#include <stdalign.h>
#include <stddef.h>

static const size_t sizes[] = { 1, 7, 16, 17, 100, 255, 256, 257, 1000, 4095, 4096,
                                4097, 20000, 100000, 300000 };
#define NSIZES (sizeof sizes / sizeof *sizes)

START_TEST(fresh_blocks_are_zero_and_aligned)
{
    cymem_pool *pool = cymem_pool_new();
    for (int round = 0; round < 50; round++)
        for (size_t i = 0; i < NSIZES; i++) {
            unsigned char *p = cymem_pool_alloc(pool, 1, sizes[i]);
            ck_assert_ptr_nonnull(p);
            ck_assert_uint_eq((uintptr_t)p % alignof(max_align_t), 0);
            ck_assert(all_zero(p, sizes[i]));
            memset(p, 0xA5, sizes[i]);
        }
    cymem_pool_destroy(pool);
}
END_TEST

/* Dirty every block, give it back (free, reset or realloc), then ask for
 * the same sizes many times: every byte must be zero again. */
static void reuse(int how)
{
    cymem_pool *pool = cymem_pool_new();
    void *p[NSIZES * 20];
    for (int round = 0; round < 5; round++) {
        for (size_t i = 0; i < NSIZES * 20; i++) {
            size_t n = sizes[i % NSIZES];
            p[i] = cymem_pool_alloc(pool, 1, n);
            ck_assert_ptr_nonnull(p[i]);
            ck_assert(all_zero(p[i], n));
            memset(p[i], 0x5A, n);
        }
        for (size_t i = 0; i < NSIZES * 20; i++) {
            size_t n = sizes[i % NSIZES];
            if (how == 0) {
                ck_assert_int_eq(cymem_pool_free(pool, p[i]), 0);
            } else if (how == 2) {
                /* Shrink then grow back: the regrown bytes must be zero. */
                unsigned char *q = cymem_pool_realloc(pool, p[i], n / 2);
                ck_assert_ptr_nonnull(q);
                q = cymem_pool_realloc(pool, q, n);
                ck_assert_ptr_nonnull(q);
                ck_assert(all_zero(q + n / 2, n - n / 2));
                ck_assert_int_eq(cymem_pool_free(pool, q), 0);
            }
        }
        if (how == 1)
            cymem_pool_reset(pool);
    }
    cymem_pool_destroy(pool);
}

START_TEST(reused_after_free_is_zero) { reuse(0); }
END_TEST
START_TEST(reused_after_reset_is_zero) { reuse(1); }
END_TEST
START_TEST(reused_after_realloc_is_zero) { reuse(2); }
END_TEST

START_TEST(overflow_is_enomem)
{
    cymem_pool *pool = cymem_pool_new();
    errno = 0;
    ck_assert_ptr_null(cymem_pool_alloc(pool, SIZE_MAX / 2 + 1, 2));
    ck_assert_int_eq(errno, ENOMEM);
    errno = 0;
    ck_assert_ptr_null(cymem_pool_alloc_aligned(pool, SIZE_MAX / 4, 8, 64));
    ck_assert_int_eq(errno, ENOMEM);
    errno = 0;
    ck_assert_ptr_null(cymem_pool_alloc(pool, 1, SIZE_MAX - 8));
    ck_assert_int_eq(errno, ENOMEM);
    cymem_stats st;
    cymem_pool_stats(pool, &st);
    ck_assert_uint_eq(st.live_blocks, 0);
    cymem_pool_destroy(pool);
}
END_TEST

START_TEST(zero_size_blocks_are_unique_and_freeable)
{
    cymem_pool *pool = cymem_pool_new();
    void *p[200];
    for (int i = 0; i < 200; i++) {
        p[i] = cymem_pool_alloc(pool, i % 2, i % 3 == 0 ? 0 : 0);
        ck_assert_ptr_nonnull(p[i]);
        for (int j = 0; j < i; j++)
            ck_assert_ptr_ne(p[i], p[j]);
        ck_assert(cymem_pool_owns(pool, p[i]));
    }
    for (int i = 0; i < 200; i++)
        ck_assert_int_eq(cymem_pool_free(pool, p[i]), 0);
    cymem_stats st;
    cymem_pool_stats(pool, &st);
    ck_assert_uint_eq(st.live_blocks, 0);
    cymem_pool_destroy(pool);
}
END_TEST

START_TEST(every_power_of_two_alignment)
{
    cymem_pool *pool = cymem_pool_new();
    for (size_t a = 1; a <= CYMEM_ALIGNMENT_MAX; a *= 2)
        for (size_t i = 0; i < NSIZES; i += 2) {
            unsigned char *p = cymem_pool_alloc_aligned(pool, 1, sizes[i], a);
            ck_assert_ptr_nonnull(p);
            ck_assert_uint_eq((uintptr_t)p % a, 0);
            ck_assert(all_zero(p, sizes[i]));
            ck_assert_uint_eq(cymem_pool_block_size(pool, p), sizes[i]);
            memset(p, 1, sizes[i]);
        }
    cymem_pool_destroy(pool);
}
END_TEST

START_TEST(bad_alignments_are_einval)
{
    static const size_t bad[] = { 0, 3, 6, 48, 100, 65535, CYMEM_ALIGNMENT_MAX * 2,
                                  SIZE_MAX };
    cymem_pool *pool = cymem_pool_new();
    struct snapshot a, b;
    snapshot(pool, &a);
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        errno = 0;
        ck_assert_ptr_null(cymem_pool_alloc_aligned(pool, 1, 10, bad[i]));
        ck_assert_int_eq(errno, EINVAL);
    }
    snapshot(pool, &b);
    assert_same(&a, &b);
    errno = 0;
    ck_assert_ptr_null(cymem_pool_alloc(NULL, 1, 1));
    ck_assert_int_eq(errno, EINVAL);
    cymem_pool_destroy(pool);
}
END_TEST

START_TEST(blocks_do_not_overlap)
{
    cymem_pool *pool = cymem_pool_new();
    enum { N = 3000 };
    unsigned char *p[N];
    for (int i = 0; i < N; i++) {
        size_t n = sizes[i % NSIZES] % 5000 + 1;
        p[i] = cymem_pool_alloc(pool, 1, n);
        ck_assert_ptr_nonnull(p[i]);
        memset(p[i], (unsigned char)i, n);
    }
    for (int i = 0; i < N; i++) {
        size_t n = sizes[i % NSIZES] % 5000 + 1;
        for (size_t k = 0; k < n; k++)
            ck_assert_uint_eq(p[i][k], (unsigned char)i);
    }
    cymem_pool_destroy(pool);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("alloc");
    TCase *t = tcase_create("alloc");
    tcase_set_timeout(t, 60);
    tcase_add_test(t, fresh_blocks_are_zero_and_aligned);
    tcase_add_test(t, reused_after_free_is_zero);
    tcase_add_test(t, reused_after_reset_is_zero);
    tcase_add_test(t, reused_after_realloc_is_zero);
    tcase_add_test(t, overflow_is_enomem);
    tcase_add_test(t, zero_size_blocks_are_unique_and_freeable);
    tcase_add_test(t, every_power_of_two_alignment);
    tcase_add_test(t, bad_alignments_are_einval);
    tcase_add_test(t, blocks_do_not_overlap);
    suite_add_tcase(s, t);
    return run_suite(s);
}
