/*
 * contract-alloc.c - cymem_pool_alloc() and cymem_pool_alloc_aligned():
 * zero-filled, max_align_t-aligned, distinct memory, fresh and reused
 * (after free, reset and realloc); overflow; zero-byte blocks; every
 * supported alignment and the refused ones.
 */
#include "harness.h"

static const size_t sizes[] = { 1, 7, 8, 15, 16, 17, 24, 33, 64, 100, 255, 256,
    257, 1000, 4095, 4096, 4097, 5000, 16384, 20000, 40000, 65536, 100000,
    300000, (size_t)1 << 20 };
#define NSIZES (sizeof sizes / sizeof sizes[0])
#define ROUNDS 8

/* ROUNDS blocks of every size: aligned, zero; dirtied for the next user. */
static void fill_check(cymem_pool *p, void **bl)
{
    for (size_t i = 0; i < NSIZES; i++)
        for (int r = 0; r < ROUNDS; r++) {
            void *q = cymem_pool_alloc(p, 1, sizes[i]);
            ck_assert_ptr_nonnull(q);
            ck_assert_msg(aligned_to(q, MAX_ALIGN), "size %zu misaligned", sizes[i]);
            ck_assert_msg(all_zero(q, sizes[i]), "size %zu not zeroed", sizes[i]);
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
        fill_check(p, bl);
        for (size_t i = 0; i < NSIZES * ROUNDS; i++)
            ck_assert_int_eq(cymem_pool_free(p, bl[i]), 0);
        POOL_CHECK(p);
    }
    ck_assert_uint_eq(stats_of(p).live_blocks, 0);
    pool_done(p);
}
END_TEST

START_TEST(zero_after_reset)
{
    void *bl[NSIZES * ROUNDS];
    cymem_pool *p = cymem_pool_new();
    for (int pass = 0; pass < 6; pass++) {
        fill_check(p, bl);
        cymem_pool_reset(p);
        POOL_CHECK(p);
        ck_assert_uint_eq(stats_of(p).live_bytes, 0);
    }
    pool_done(p);
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
            ck_assert_ptr_nonnull(q);
            memset(q, 0x5A, sizes[i]);
            q = cymem_pool_realloc(p, q, sizes[i] / 2);
            ck_assert_ptr_nonnull(q);
            q = cymem_pool_realloc(p, q, sizes[i]);
            ck_assert_ptr_nonnull(q);
            ck_assert(aligned_to(q, MAX_ALIGN));
            ck_assert(all_byte(q, sizes[i] / 2, 0x5A));
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
        POOL_CHECK(p);
    }
    pool_done(p);
}
END_TEST

START_TEST(zero_after_realloc_move)
{
    /* Blocks vacated by a realloc that moves are reused zeroed. */
    cymem_pool *p = cymem_pool_new();
    for (int r = 0; r < 200; r++) {
        size_t n = 8 + (size_t)r * 13;
        unsigned char *a = cymem_pool_alloc(p, 1, n);
        ck_assert_ptr_nonnull(a);
        memset(a, 0xC3, n);
        unsigned char *b = cymem_pool_realloc(p, a, n * 40);
        ck_assert_ptr_nonnull(b);
        unsigned char *c = cymem_pool_alloc(p, 1, n);
        ck_assert_ptr_nonnull(c);
        ck_assert(all_zero(c, n));
        ck_assert(all_zero(b + n, n * 39));
        memset(c, 0x11, n);
    }
    pool_done(p);
}
END_TEST

START_TEST(overflow_enomem)
{
    cymem_pool *p = cymem_pool_new();
    ck_assert_ptr_nonnull(cymem_pool_alloc(p, 3, 8));
    volatile size_t big = SIZE_MAX, half = SIZE_MAX / 2 + 1,
                    root = (size_t)1 << (sizeof(size_t) * 4);
    /* Products that overflow, and sizes that leave no room for rounding. */
    const size_t cases[][2] = { { half, 2 }, { half + 1, 2 }, { 2, half },
        { root, root }, { big / 4, 8 }, { big, 16 }, { 1, big }, { 1, big - 8 },
        { 1, big - 4096 } };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t n = cases[i][0], m = cases[i][1];
        UNCHANGED(p, {
            errno = 0;
            ck_assert_msg(cymem_pool_alloc(p, n, m) == NULL, "%zu x %zu accepted", n, m);
            ck_assert_int_eq(errno, ENOMEM);
            errno = 0;
            ck_assert_msg(cymem_pool_alloc_aligned(p, n, m, 64) == NULL,
                          "aligned %zu x %zu accepted", n, m);
            ck_assert_int_eq(errno, ENOMEM);
        });
    }
    pool_done(p);
}
END_TEST

START_TEST(zero_size_unique)
{
    enum { N = 400 };
    void *z[N];
    cymem_pool *p = cymem_pool_new();
    for (int i = 0; i < N; i++) {
        switch (i % 4) {
        case 0: z[i] = cymem_pool_alloc(p, 0, 8); break;
        case 1: z[i] = cymem_pool_alloc(p, 8, 0); break;
        case 2: z[i] = cymem_pool_alloc(p, 1, 0); break;
        default: z[i] = cymem_pool_alloc(p, 0, 0); break;
        }
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
    pool_done(p);
}
END_TEST

START_TEST(aligned_all_powers)
{
    cymem_pool *p = cymem_pool_new();
    static const size_t asz[] = { 0, 1, 7, 24, 100, 257, 4096, 20000, 70000, 300000 };
    for (size_t al = 1; al <= CYMEM_ALIGNMENT_MAX; al <<= 1)
        for (size_t k = 0; k < sizeof asz / sizeof asz[0]; k++) {
            /* Past 64 KiB alignment, one of each size is enough. */
            int rounds = al > 65536 ? 1 : 3;
            for (int r = 0; r < rounds; r++) {
                unsigned char *q = cymem_pool_alloc_aligned(p, 1, asz[k], al);
                ck_assert_msg(q != NULL, "align %zu size %zu", al, asz[k]);
                ck_assert_msg(aligned_to(q, al), "align %zu size %zu: %p", al, asz[k], (void *)q);
                ck_assert(aligned_to(q, MAX_ALIGN));
                ck_assert(all_zero(q, asz[k]));
                ck_assert_int_eq(cymem_pool_owns(p, q), 1);
                ck_assert_uint_eq(cymem_pool_block_size(p, q), asz[k]);
                memset(q, 0xAB, asz[k]);
                if (r == 1 || al > 65536)
                    ck_assert_int_eq(cymem_pool_free(p, q), 0);
            }
        }
    POOL_CHECK(p);
    /* Reuse after a reset: aligned again and zero. */
    cymem_pool_reset(p);
    for (size_t al = 1; al <= 65536; al <<= 1) {
        unsigned char *q = cymem_pool_alloc_aligned(p, 4, 1000, al);
        ck_assert_ptr_nonnull(q);
        ck_assert(aligned_to(q, al));
        ck_assert(all_zero(q, 4000));
    }
    pool_done(p);
}
END_TEST

START_TEST(aligned_bad)
{
    cymem_pool *p = cymem_pool_new();
    ck_assert_ptr_nonnull(cymem_pool_alloc(p, 1, 10));
    const size_t bad[] = { 0, 3, 5, 6, 12, 48, 100, 65535, 65537,
                           CYMEM_ALIGNMENT_MAX * 2, CYMEM_ALIGNMENT_MAX + 1,
                           SIZE_MAX, ((size_t)1 << (sizeof(size_t) * 8 - 1)) };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        UNCHANGED(p, {
            errno = 0;
            ck_assert_ptr_null(cymem_pool_alloc_aligned(p, 1, 16, bad[i]));
            ck_assert_msg(errno == EINVAL, "alignment %zu: errno %d", bad[i], errno);
        });
    pool_done(p);
}
END_TEST

START_TEST(blocks_do_not_overlap)
{
    enum { N = 3000 };
    unsigned char *q[N];
    cymem_pool *p = cymem_pool_new();
    for (int i = 0; i < N; i++) {
        size_t n = sizes[i % NSIZES] % 5000 + 1;
        q[i] = cymem_pool_alloc(p, 1, n);
        ck_assert_ptr_nonnull(q[i]);
        memset(q[i], (unsigned char)i, n);
    }
    for (int i = 0; i < N; i++) {
        size_t n = sizes[i % NSIZES] % 5000 + 1;
        ck_assert_msg(all_byte(q[i], n, (unsigned char)i), "block %d overwritten", i);
    }
    pool_done(p);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("alloc");
    TCase *tc = tcase_timed("alloc", 120);
    tcase_add_test(tc, zero_fresh_and_after_free);
    tcase_add_test(tc, zero_after_reset);
    tcase_add_test(tc, zero_after_realloc_shrink);
    tcase_add_test(tc, zero_after_realloc_move);
    tcase_add_test(tc, overflow_enomem);
    tcase_add_test(tc, zero_size_unique);
    tcase_add_test(tc, aligned_all_powers);
    tcase_add_test(tc, aligned_bad);
    tcase_add_test(tc, blocks_do_not_overlap);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
