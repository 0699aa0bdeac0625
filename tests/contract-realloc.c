/*
 * contract-realloc.c - cymem_pool_realloc(): NULL acts as alloc, contents
 * kept, growth zero-filled across small and large blocks, alignment kept,
 * resize to 0 keeps a live block, foreign pointers and failures of the
 * backing allocator change nothing.
 */
#include "harness.h"

START_TEST(realloc_null_is_alloc)
{
    cymem_pool *p = cymem_pool_new();
    unsigned char *q = cymem_pool_realloc(p, NULL, 300);
    ck_assert_ptr_nonnull(q);
    ck_assert(all_zero(q, 300));
    ck_assert(aligned_to(q, MAX_ALIGN));
    ck_assert_int_eq(cymem_pool_owns(p, q), 1);
    ck_assert_uint_eq(cymem_pool_block_size(p, q), 300);
    ck_assert_uint_eq(stats_of(p).live_bytes, 300);
    void *z = cymem_pool_realloc(p, NULL, 0);
    ck_assert_ptr_nonnull(z);
    ck_assert_int_eq(cymem_pool_owns(p, z), 1);
    ck_assert_uint_eq(stats_of(p).live_blocks, 2);
    pool_done(p);
}
END_TEST

/* Every step from 0 bytes to 1 MiB and back, up and down, from every
 * starting point of the list: the common prefix is kept, growth is zero,
 * the size and the accounting follow, the old address is dead. */
START_TEST(realloc_sizes_walk)
{
    static const size_t steps[] = { 1, 2, 7, 16, 17, 40, 100, 256, 512, 513,
        1000, 2048, 3000, 4000, 4096, 4097, 8192, 10000, 20000, 65536, 65537,
        131072, 200000, 500000, (size_t)1 << 20, 300000, 70000, 4096, 300, 24,
        1, 0, 5, (size_t)1 << 20, 3 };
    enum { NSTEPS = sizeof steps / sizeof steps[0] };
    cymem_pool *p = cymem_pool_new();
    for (size_t start = 0; start < NSTEPS; start += 2) {
        size_t cur = steps[start];
        unsigned char *q = cymem_pool_alloc(p, 1, cur);
        ck_assert_ptr_nonnull(q);
        for (size_t k = 1; k <= NSTEPS; k++) {
            size_t n = steps[(start + k) % NSTEPS];
            unsigned seed = (unsigned)(start * 131 + k);
            pattern_fill(q, cur, seed);
            unsigned char *r = cymem_pool_realloc(p, q, n);
            ck_assert_msg(r != NULL, "realloc %zu -> %zu", cur, n);
            ck_assert(aligned_to(r, MAX_ALIGN));
            size_t keep = cur < n ? cur : n;
            ck_assert_msg(pattern_ok(r, keep, seed), "contents lost %zu -> %zu", cur, n);
            if (n > cur)
                ck_assert_msg(all_zero(r + cur, n - cur), "growth not zero %zu -> %zu", cur, n);
            ck_assert_int_eq(cymem_pool_owns(p, r), 1);
            ck_assert_uint_eq(cymem_pool_block_size(p, r), n);
            cymem_stats s = stats_of(p);
            ck_assert_uint_eq(s.live_blocks, 1);
            ck_assert_uint_eq(s.live_bytes, n);
            if (r != q) {
                errno = 0;
                ck_assert_int_eq(cymem_pool_free(p, q), -1);
                ck_assert_int_eq(errno, EINVAL);
            }
            q = r;
            cur = n;
        }
        ck_assert_int_eq(cymem_pool_free(p, q), 0);
        POOL_CHECK(p);
    }
    ck_assert_uint_eq(stats_of(p).live_blocks, 0);
    pool_done(p);
}
END_TEST

START_TEST(realloc_many_sizes)
{
    /* Each size 1..1 MiB (geometric) grown and shrunk by a few ratios. */
    cymem_pool *p = cymem_pool_new();
    for (size_t n = 1; n <= ((size_t)1 << 20); n = n * 3 / 2 + 1) {
        size_t targets[] = { n / 3, n + 1, n * 2, n * 9 };
        for (size_t t = 0; t < 4; t++) {
            unsigned char *q = cymem_pool_alloc(p, 1, n);
            ck_assert_ptr_nonnull(q);
            pattern_fill(q, n, (unsigned)n);
            unsigned char *r = cymem_pool_realloc(p, q, targets[t]);
            ck_assert_ptr_nonnull(r);
            size_t keep = n < targets[t] ? n : targets[t];
            ck_assert(pattern_ok(r, keep, (unsigned)n));
            if (targets[t] > n)
                ck_assert(all_zero(r + n, targets[t] - n));
            ck_assert_int_eq(cymem_pool_free(p, r), 0);
        }
    }
    ck_assert_uint_eq(stats_of(p).live_bytes, 0);
    pool_done(p);
}
END_TEST

START_TEST(realloc_keeps_alignment)
{
    static const size_t to[] = { 80, 5000, 300000, 12, 0, 100000, 64, 17, 4097,
                                 131072, 1 << 20, 3000, 40 };
    cymem_pool *p = cymem_pool_new();
    for (size_t al = 1; al <= 65536; al <<= 1) {
        unsigned char *q = cymem_pool_alloc_aligned(p, 1, 40, al);
        ck_assert_ptr_nonnull(q);
        pattern_fill(q, 40, 7);
        size_t cur = 40;
        for (size_t i = 0; i < sizeof to / sizeof to[0]; i++) {
            unsigned char *r = cymem_pool_realloc(p, q, to[i]);
            ck_assert_ptr_nonnull(r);
            ck_assert_msg(aligned_to(r, al), "alignment %zu lost at %zu", al, to[i]);
            size_t keep = cur < to[i] ? cur : to[i];
            ck_assert(pattern_ok(r, keep, 7));
            if (to[i] > cur)
                ck_assert(all_zero(r + cur, to[i] - cur));
            pattern_fill(r, to[i], 7);
            q = r;
            cur = to[i];
        }
        ck_assert_int_eq(cymem_pool_free(p, q), 0);
    }
    pool_done(p);
}
END_TEST

START_TEST(realloc_to_zero)
{
    cymem_pool *p = cymem_pool_new();
    static const size_t szs[] = { 1, 100, 300, 4096, 300000 };
    for (size_t i = 0; i < sizeof szs / sizeof szs[0]; i++) {
        void *q = cymem_pool_alloc(p, 1, szs[i]);
        ck_assert_ptr_nonnull(q);
        void *z = cymem_pool_realloc(p, q, 0);
        ck_assert_ptr_nonnull(z);
        ck_assert_int_eq(cymem_pool_owns(p, z), 1);
        errno = 0;
        ck_assert_uint_eq(cymem_pool_block_size(p, z), 0);
        ck_assert_int_eq(errno, 0);
        cymem_stats s = stats_of(p);
        ck_assert_uint_eq(s.live_blocks, 1);
        ck_assert_uint_eq(s.live_bytes, 0);
        unsigned char *g = cymem_pool_realloc(p, z, 50);
        ck_assert_ptr_nonnull(g);
        ck_assert(all_zero(g, 50));
        z = cymem_pool_realloc(p, g, 0);
        ck_assert_ptr_nonnull(z);
        ck_assert_int_eq(cymem_pool_free(p, z), 0);
        errno = 0;
        ck_assert_int_eq(cymem_pool_free(p, z), -1);
        ck_assert_int_eq(errno, EINVAL);
        ck_assert_uint_eq(stats_of(p).live_blocks, 0);
    }
    pool_done(p);
}
END_TEST

START_TEST(realloc_foreign)
{
    cymem_pool *p = cymem_pool_new(), *o = cymem_pool_new();
    unsigned char *mine = cymem_pool_alloc(p, 1, 64);
    memset(mine, 0x42, 64);
    void *theirs = cymem_pool_alloc(o, 1, 64);
    void *m = malloc(64);
    void *dead = cymem_pool_alloc(p, 1, 32);
    ck_assert_int_eq(cymem_pool_free(p, dead), 0);
    void *bad[] = { theirs, m, mine + 8, dead, (void *)&p };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        UNCHANGED(p, {
            errno = 0;
            ck_assert_ptr_null(cymem_pool_realloc(p, bad[i], 128));
            ck_assert_int_eq(errno, EINVAL);
            errno = 0;
            ck_assert_ptr_null(cymem_pool_realloc(p, bad[i], 0));
            ck_assert_int_eq(errno, EINVAL);
        });
    ck_assert(all_byte(mine, 64, 0x42));
    ck_assert_uint_eq(stats_of(o).live_blocks, 1);
    free(m);
    pool_done(o);
    pool_done(p);
}
END_TEST

/* The backing allocator refuses the next request (all == 0) or every
 * request from now on (all == 1): a growth that needs new memory fails
 * with ENOMEM, the pool is unchanged and the old block intact. */
static void failure_keeps_old(int all)
{
    backing t;
    cymem_pool *p = backing_pool(&t, NULL, 0);
    ck_assert_ptr_nonnull(p);
    for (int i = 0; i < 64; i++)
        ck_assert_ptr_nonnull(cymem_pool_alloc(p, 1, 24));
    static const size_t szs[] = { 16, 100, 1000, 9000, 100000 };
    enum { N = sizeof szs / sizeof szs[0] };
    unsigned char *q[N];
    for (int i = 0; i < N; i++) {
        q[i] = cymem_pool_alloc(p, 1, szs[i]);
        ck_assert_ptr_nonnull(q[i]);
        pattern_fill(q[i], szs[i], 9);
    }
    for (int i = 0; i < N; i++) {
        size_t to = all ? (size_t)64 << 20 : (size_t)1 << 20;
        backing_fail_next(&t, all);
        UNCHANGED(p, {
            errno = 0;
            ck_assert_ptr_null(cymem_pool_realloc(p, q[i], to));
            ck_assert_int_eq(errno, ENOMEM);
        });
        POOL_CHECK(p);
        ck_assert(pattern_ok(q[i], szs[i], 9));
        ck_assert_uint_eq(cymem_pool_block_size(p, q[i]), szs[i]);
    }
    volatile size_t huge = SIZE_MAX;
    errno = 0;
    ck_assert_ptr_null(cymem_pool_realloc(p, q[0], huge));
    ck_assert_int_eq(errno, ENOMEM);
    ck_assert(pattern_ok(q[0], 16, 9));
    backing_recover(&t);
    unsigned char *r = cymem_pool_realloc(p, q[N - 1], 200000);
    ck_assert_ptr_nonnull(r);
    ck_assert(pattern_ok(r, 100000, 9));
    ck_assert(all_zero(r + 100000, 100000));
    r = cymem_pool_realloc(p, q[3], 1 << 20);
    ck_assert_ptr_nonnull(r);
    ck_assert(pattern_ok(r, 9000, 9));
    pool_done(p);
    backing_all_back(&t);
}

START_TEST(realloc_failure_keeps_old)
{
    failure_keeps_old(0);
    failure_keeps_old(1);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("realloc");
    TCase *tc = tcase_timed("realloc", 120);
    tcase_add_test(tc, realloc_null_is_alloc);
    tcase_add_test(tc, realloc_sizes_walk);
    tcase_add_test(tc, realloc_many_sizes);
    tcase_add_test(tc, realloc_keeps_alignment);
    tcase_add_test(tc, realloc_to_zero);
    tcase_add_test(tc, realloc_foreign);
    tcase_add_test(tc, realloc_failure_keeps_old);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
