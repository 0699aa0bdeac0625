/*
 * api-realloc.c - cymem_pool_realloc: contents kept, growth zero-filled,
 * NULL and 0, alignment kept, failure leaves the old block intact.
 */
#include "api-common.h"

static const size_t steps[] = { 1, 16, 17, 100, 256, 1000, 4096, 4097, 10000,
                                131072, 200000, 1 << 20, 3000, 40, 0, 5 };
#define NSTEPS (sizeof steps / sizeof *steps)

static void fill(unsigned char *p, size_t n, unsigned char seed)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (unsigned char)(seed + i * 7);
}

static int kept(const unsigned char *p, size_t n, unsigned char seed)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != (unsigned char)(seed + i * 7))
            return 0;
    return 1;
}

START_TEST(contents_kept_and_growth_zero)
{
    cymem_pool *pool = cymem_pool_new();
    for (size_t start = 0; start < NSTEPS; start++) {
        size_t n = steps[start];
        unsigned char *p = cymem_pool_alloc(pool, 1, n);
        fill(p, n, (unsigned char)start);
        for (size_t k = 0; k < NSTEPS; k++) {
            size_t m = steps[(start + k) % NSTEPS];
            unsigned char *q = cymem_pool_realloc(pool, p, m);
            ck_assert_ptr_nonnull(q);
            ck_assert(kept(q, n < m ? n : m, (unsigned char)start));
            if (m > n)
                ck_assert(all_zero(q + n, m - n));
            ck_assert_uint_eq(cymem_pool_block_size(pool, q), m);
            fill(q, m, (unsigned char)start);
            p = q;
            n = m;
        }
        ck_assert_int_eq(cymem_pool_free(pool, p), 0);
    }
    cymem_stats st;
    cymem_pool_stats(pool, &st);
    ck_assert_uint_eq(st.live_blocks, 0);
    ck_assert_uint_eq(st.live_bytes, 0);
    cymem_pool_destroy(pool);
}
END_TEST

START_TEST(null_allocates_and_zero_keeps_a_block)
{
    cymem_pool *pool = cymem_pool_new();
    unsigned char *p = cymem_pool_realloc(pool, NULL, 300);
    ck_assert_ptr_nonnull(p);
    ck_assert(all_zero(p, 300));
    ck_assert(cymem_pool_owns(pool, p));
    void *z = cymem_pool_realloc(pool, p, 0);
    ck_assert_ptr_nonnull(z);
    ck_assert(cymem_pool_owns(pool, z));
    errno = 0;
    ck_assert_uint_eq(cymem_pool_block_size(pool, z), 0);
    ck_assert_int_eq(errno, 0);
    cymem_stats st;
    cymem_pool_stats(pool, &st);
    ck_assert_uint_eq(st.live_blocks, 1);
    ck_assert_uint_eq(st.live_bytes, 0);
    ck_assert_int_eq(cymem_pool_free(pool, z), 0);
    ck_assert_int_eq(cymem_pool_free(pool, z), -1);
    cymem_pool_destroy(pool);
}
END_TEST

START_TEST(alignment_is_kept)
{
    cymem_pool *pool = cymem_pool_new();
    for (size_t a = 32; a <= 65536; a *= 2) {
        unsigned char *p = cymem_pool_alloc_aligned(pool, 1, 24, a);
        fill(p, 24, 3);
        for (size_t k = 0; k < NSTEPS; k++) {
            unsigned char *q = cymem_pool_realloc(pool, p, steps[k] + 24);
            ck_assert_ptr_nonnull(q);
            ck_assert_uint_eq((uintptr_t)q % a, 0);
            ck_assert(kept(q, 24, 3));
            p = q;
        }
    }
    cymem_pool_destroy(pool);
}
END_TEST

START_TEST(failure_leaves_the_block_intact)
{
    struct counting c;
    cymem_allocator a;
    cymem_pool *pool = counted_pool(&c, &a, NULL);
    for (int i = 0; i < 64; i++)
        ck_assert_ptr_nonnull(cymem_pool_alloc(pool, 1, 24));
    unsigned char *small = cymem_pool_alloc(pool, 1, 100);
    unsigned char *large = cymem_pool_alloc(pool, 1, 9000);
    fill(small, 100, 1);
    fill(large, 9000, 2);
    struct snapshot before, after;
    snapshot(pool, &before);
    c.fail_at = c.calls + 1;                    /* the next request fails */
    errno = 0;
    ck_assert_ptr_null(cymem_pool_realloc(pool, small, 1 << 20));
    ck_assert_int_eq(errno, ENOMEM);
    c.fail_at = c.calls + 1;
    errno = 0;
    ck_assert_ptr_null(cymem_pool_realloc(pool, large, 1 << 20));
    ck_assert_int_eq(errno, ENOMEM);
    snapshot(pool, &after);
    assert_same(&before, &after);
    ck_assert(kept(small, 100, 1));
    ck_assert(kept(large, 9000, 2));
    c.fail_at = 0;
    ck_assert_ptr_nonnull(cymem_pool_realloc(pool, large, 1 << 20));
    cymem_pool_destroy(pool);
    ck_assert_uint_eq(c.live, 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("realloc");
    TCase *t = tcase_create("realloc");
    tcase_set_timeout(t, 60);
    tcase_add_test(t, contents_kept_and_growth_zero);
    tcase_add_test(t, null_allocates_and_zero_keeps_a_block);
    tcase_add_test(t, alignment_is_kept);
    tcase_add_test(t, failure_leaves_the_block_intact);
    suite_add_tcase(s, t);
    return run_suite(s);
}
