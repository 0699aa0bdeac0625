/*
 * check-alloc.c - cymem_pool_alloc() and cymem_pool_alloc_aligned():
 * zero-filled, max_align_t-aligned memory, fresh and reused; overflow;
 * zero-byte blocks; every supported alignment and the refused ones.
 */
#include "check-common.h"

static const size_t sizes[] = { 1, 7, 8, 15, 16, 24, 33, 64, 100, 255, 256,
    1000, 4096, 5000, 16384, 40000, 65536, 100000, 300000, (size_t)1 << 20 };
#define NSIZES (sizeof sizes / sizeof sizes[0])
#define ROUNDS 8

static void fill_check(cymem_pool *p, void **bl, int dirty)
{
    for (size_t i = 0; i < NSIZES; i++)
        for (int r = 0; r < ROUNDS; r++) {
            void *q = cymem_pool_alloc(p, 1, sizes[i]);
            ck_assert_ptr_nonnull(q);
            ck_assert_msg(aligned_to(q, MAX_ALIGN), "size %zu misaligned", sizes[i]);
            ck_assert_msg(all_zero(q, sizes[i]), "size %zu not zeroed", sizes[i]);
            if (dirty)
                memset(q, 0xEE, sizes[i]);
            bl[i * ROUNDS + r] = q;
        }
}

START_TEST(zero_fresh_and_after_free)
{
    void *bl[NSIZES * ROUNDS];
    cymem_pool *p = cymem_pool_new();
    ck_assert_ptr_nonnull(p);
    for (int pass = 0; pass < 6; pass++) {
        fill_check(p, bl, 1);
        for (size_t i = 0; i < NSIZES * ROUNDS; i++)
            ck_assert_int_eq(cymem_pool_free(p, bl[i]), 0);
    }
    ck_assert_uint_eq(stats_of(p).live_blocks, 0);
    cymem_pool_destroy(p);
}
END_TEST

START_TEST(zero_after_reset)
{
    void *bl[NSIZES * ROUNDS];
    cymem_pool *p = cymem_pool_new();
    for (int pass = 0; pass < 6; pass++) {
        fill_check(p, bl, 1);
        cymem_pool_reset(p);
        ck_assert_uint_eq(stats_of(p).live_bytes, 0);
    }
    cymem_pool_destroy(p);
}
END_TEST

START_TEST(zero_after_realloc_shrink)
{
    /* Dirty blocks, shrink them (the tail is dropped), grow them back:
     * the regrown tail must read as zero; then free and reallocate. */
    cymem_pool *p = cymem_pool_new();
    for (int pass = 0; pass < 4; pass++) {
        void *bl[NSIZES];
        for (size_t i = 0; i < NSIZES; i++) {
            unsigned char *q = cymem_pool_alloc(p, 1, sizes[i]);
            memset(q, 0x5A, sizes[i]);
            q = cymem_pool_realloc(p, q, sizes[i] / 2);
            ck_assert_ptr_nonnull(q);
            q = cymem_pool_realloc(p, q, sizes[i]);
            ck_assert_ptr_nonnull(q);
            ck_assert(aligned_to(q, MAX_ALIGN));
            for (size_t k = 0; k < sizes[i] / 2; k++)
                ck_assert_uint_eq(q[k], 0x5A);
            ck_assert_msg(all_zero(q + sizes[i] / 2, sizes[i] - sizes[i] / 2),
                          "regrown tail of %zu not zero", sizes[i]);
            memset(q, 0x77, sizes[i]);
            bl[i] = q;
        }
        for (size_t i = 0; i < NSIZES; i++)
            ck_assert_int_eq(cymem_pool_free(p, bl[i]), 0);
        for (size_t i = 0; i < NSIZES; i++) {
            void *q = cymem_pool_alloc(p, 1, sizes[i]);
            ck_assert(all_zero(q, sizes[i]));
            ck_assert_int_eq(cymem_pool_free(p, q), 0);
        }
    }
    cymem_pool_destroy(p);
}
END_TEST

START_TEST(zero_after_realloc_move)
{
    /* Blocks vacated by a realloc that moves are reused zeroed. */
    cymem_pool *p = cymem_pool_new();
    for (int r = 0; r < 200; r++) {
        size_t n = 8 + (size_t)r * 13;
        unsigned char *a = cymem_pool_alloc(p, 1, n);
        memset(a, 0xC3, n);
        unsigned char *b = cymem_pool_realloc(p, a, n * 40);
        ck_assert_ptr_nonnull(b);
        unsigned char *c = cymem_pool_alloc(p, 1, n);
        ck_assert(all_zero(c, n));
        ck_assert(all_zero(b + n, n * 39));
        memset(c, 0x11, n);
    }
    cymem_pool_destroy(p);
}
END_TEST

START_TEST(overflow_enomem)
{
    cymem_pool *p = cymem_pool_new();
    ck_assert_ptr_nonnull(cymem_pool_alloc(p, 3, 8));
    volatile size_t big = SIZE_MAX, half = SIZE_MAX / 2 + 2,
                    root = (size_t)1 << (sizeof(size_t) * 4);
    snap a, b;
    snap_take(p, &a);
    errno = 0;
    ck_assert_ptr_null(cymem_pool_alloc(p, half, 2));
    ck_assert_int_eq(errno, ENOMEM);
    errno = 0;
    ck_assert_ptr_null(cymem_pool_alloc(p, root, root));
    ck_assert_int_eq(errno, ENOMEM);
    errno = 0;
    ck_assert_ptr_null(cymem_pool_alloc_aligned(p, big, 16, 64));
    ck_assert_int_eq(errno, ENOMEM);
    errno = 0;
    ck_assert_ptr_null(cymem_pool_alloc(p, 1, big));
    ck_assert_int_eq(errno, ENOMEM);
    errno = 0;
    ck_assert_ptr_null(cymem_pool_alloc(p, 1, big - 4096));
    ck_assert_int_eq(errno, ENOMEM);
    snap_take(p, &b);
    snap_same(&a, &b);
    snap_drop(&a);
    snap_drop(&b);
    cymem_pool_destroy(p);
}
END_TEST

START_TEST(zero_size_unique)
{
    enum { N = 300 };
    void *z[N];
    cymem_pool *p = cymem_pool_new();
    for (int i = 0; i < N; i++) {
        z[i] = (i % 3 == 0) ? cymem_pool_alloc(p, 0, 8)
             : (i % 3 == 1) ? cymem_pool_alloc(p, 8, 0)
                            : cymem_pool_alloc(p, 0, 0);
        ck_assert_ptr_nonnull(z[i]);
        ck_assert(aligned_to(z[i], MAX_ALIGN));
        ck_assert_int_eq(cymem_pool_owns(p, z[i]), 1);
        errno = 0;
        ck_assert_uint_eq(cymem_pool_block_size(p, z[i]), 0);
        ck_assert_int_eq(errno, 0);
    }
    snap s;
    snap_take(p, &s);
    ck_assert_uint_eq(s.n, N);
    for (size_t i = 1; i < s.n; i++)
        ck_assert_msg(s.b[i].addr != s.b[i - 1].addr, "duplicate 0-byte block");
    ck_assert_uint_eq(s.st.live_blocks, N);
    ck_assert_uint_eq(s.st.live_bytes, 0);
    snap_drop(&s);
    for (int i = 0; i < N; i++)
        ck_assert_int_eq(cymem_pool_free(p, z[i]), 0);
    for (int i = 0; i < N; i++) {
        errno = 0;
        ck_assert_int_eq(cymem_pool_free(p, z[i]), -1);
        ck_assert_int_eq(errno, EINVAL);
    }
    ck_assert_uint_eq(stats_of(p).live_blocks, 0);
    cymem_pool_destroy(p);
}
END_TEST

START_TEST(aligned_all_powers)
{
    cymem_pool *p = cymem_pool_new();
    static const size_t asz[] = { 0, 1, 24, 100, 4096, 70000 };
    for (size_t al = 1; al <= CYMEM_ALIGNMENT_MAX; al <<= 1)
        for (size_t k = 0; k < sizeof asz / sizeof asz[0]; k++) {
            if (al > 65536 && asz[k] > 100)
                continue;
            for (int r = 0; r < 3; r++) {
                unsigned char *q = cymem_pool_alloc_aligned(p, 1, asz[k], al);
                ck_assert_msg(q != NULL, "align %zu size %zu", al, asz[k]);
                ck_assert_msg(aligned_to(q, al), "align %zu size %zu: %p", al, asz[k], (void *)q);
                ck_assert(aligned_to(q, MAX_ALIGN));
                ck_assert(all_zero(q, asz[k]));
                ck_assert_int_eq(cymem_pool_owns(p, q), 1);
                ck_assert_uint_eq(cymem_pool_block_size(p, q), asz[k]);
                memset(q, 0xAB, asz[k]);
                if (r == 1)
                    ck_assert_int_eq(cymem_pool_free(p, q), 0);
            }
        }
    /* Reuse after a reset: aligned again and zero. */
    cymem_pool_reset(p);
    for (size_t al = 1; al <= 65536; al <<= 1) {
        unsigned char *q = cymem_pool_alloc_aligned(p, 4, 1000, al);
        ck_assert(aligned_to(q, al));
        ck_assert(all_zero(q, 4000));
    }
    cymem_pool_destroy(p);
}
END_TEST

START_TEST(aligned_bad)
{
    cymem_pool *p = cymem_pool_new();
    ck_assert_ptr_nonnull(cymem_pool_alloc(p, 1, 10));
    snap a, b;
    snap_take(p, &a);
    const size_t bad[] = { 0, 3, 5, 6, 12, 48, 100, 65535, 65537,
                           CYMEM_ALIGNMENT_MAX * 2, CYMEM_ALIGNMENT_MAX + 1,
                           SIZE_MAX, ((size_t)1 << (sizeof(size_t) * 8 - 1)) };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        errno = 0;
        ck_assert_ptr_null(cymem_pool_alloc_aligned(p, 1, 16, bad[i]));
        ck_assert_msg(errno == EINVAL, "alignment %zu: errno %d", bad[i], errno);
    }
    snap_take(p, &b);
    snap_same(&a, &b);
    snap_drop(&a);
    snap_drop(&b);
    cymem_pool_destroy(p);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("alloc");
    TCase *tc = tcase_create("alloc");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, zero_fresh_and_after_free);
    tcase_add_test(tc, zero_after_reset);
    tcase_add_test(tc, zero_after_realloc_shrink);
    tcase_add_test(tc, zero_after_realloc_move);
    tcase_add_test(tc, overflow_enomem);
    tcase_add_test(tc, zero_size_unique);
    tcase_add_test(tc, aligned_all_powers);
    tcase_add_test(tc, aligned_bad);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
