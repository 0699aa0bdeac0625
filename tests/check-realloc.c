/*
 * check-realloc.c - cymem_pool_realloc(): NULL acts as alloc, contents
 * kept, growth zero-filled across small and large blocks, alignment kept,
 * resize to 0 keeps a live block, foreign pointers and failures change
 * nothing.
 */
#include "check-common.h"

static void pattern(unsigned char *p, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (unsigned char)(seed + i * 31);
}

static int has_pattern(const unsigned char *p, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != (unsigned char)(seed + i * 31))
            return 0;
    return 1;
}

START_TEST(realloc_null_is_alloc)
{
    cymem_pool *p = cymem_pool_new();
    unsigned char *q = cymem_pool_realloc(p, NULL, 100);
    ck_assert_ptr_nonnull(q);
    ck_assert(all_zero(q, 100));
    ck_assert(aligned_to(q, MAX_ALIGN));
    ck_assert_uint_eq(cymem_pool_block_size(p, q), 100);
    ck_assert_uint_eq(stats_of(p).live_bytes, 100);
    void *z = cymem_pool_realloc(p, NULL, 0);
    ck_assert_ptr_nonnull(z);
    ck_assert_int_eq(cymem_pool_owns(p, z), 1);
    ck_assert_uint_eq(stats_of(p).live_blocks, 2);
    cymem_pool_destroy(p);
}
END_TEST

START_TEST(realloc_sizes_walk)
{
    /* Every step from 1 byte to 1 MiB and back, up and down, keeping the
     * common prefix and zeroing growth. */
    static const size_t steps[] = { 1, 2, 7, 16, 17, 100, 512, 513, 2048,
        4000, 8192, 20000, 65536, 65537, 131072, 200000, 500000,
        (size_t)1 << 20, 300000, 70000, 4096, 300, 24, 1, 0, 5, 1 << 20, 3 };
    cymem_pool *p = cymem_pool_new();
    for (unsigned seed = 0; seed < 3; seed++) {
        size_t cur = 0;
        unsigned char *q = cymem_pool_alloc(p, 1, 0);
        for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
            size_t n = steps[i];
            pattern(q, cur, seed + (unsigned)i);
            unsigned char *r = cymem_pool_realloc(p, q, n);
            ck_assert_msg(r != NULL, "realloc %zu -> %zu", cur, n);
            ck_assert(aligned_to(r, MAX_ALIGN));
            size_t keep = cur < n ? cur : n;
            ck_assert_msg(has_pattern(r, keep, seed + (unsigned)i),
                          "contents lost %zu -> %zu", cur, n);
            if (n > cur)
                ck_assert_msg(all_zero(r + cur, n - cur),
                              "growth not zero %zu -> %zu", cur, n);
            ck_assert_int_eq(cymem_pool_owns(p, r), 1);
            ck_assert_uint_eq(cymem_pool_block_size(p, r), n);
            cymem_stats s = stats_of(p);
            ck_assert_uint_eq(s.live_blocks, 1);
            ck_assert_uint_eq(s.live_bytes, n);
            if (r != q && q != NULL) {
                errno = 0;
                ck_assert_int_eq(cymem_pool_free(p, q), -1);
                ck_assert_int_eq(errno, EINVAL);
            }
            q = r;
            cur = n;
        }
        ck_assert_int_eq(cymem_pool_free(p, q), 0);
    }
    ck_assert_uint_eq(stats_of(p).live_blocks, 0);
    cymem_pool_destroy(p);
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
            pattern(q, n, (unsigned)n);
            unsigned char *r = cymem_pool_realloc(p, q, targets[t]);
            ck_assert_ptr_nonnull(r);
            size_t keep = n < targets[t] ? n : targets[t];
            ck_assert(has_pattern(r, keep, (unsigned)n));
            if (targets[t] > n)
                ck_assert(all_zero(r + n, targets[t] - n));
            ck_assert_int_eq(cymem_pool_free(p, r), 0);
        }
    }
    ck_assert_uint_eq(stats_of(p).live_bytes, 0);
    cymem_pool_destroy(p);
}
END_TEST

START_TEST(realloc_keeps_alignment)
{
    cymem_pool *p = cymem_pool_new();
    for (size_t al = 1; al <= 65536; al <<= 1) {
        unsigned char *q = cymem_pool_alloc_aligned(p, 1, 40, al);
        pattern(q, 40, 7);
        static const size_t to[] = { 80, 5000, 300000, 12, 0, 100000, 64 };
        size_t cur = 40;
        for (size_t i = 0; i < sizeof to / sizeof to[0]; i++) {
            unsigned char *r = cymem_pool_realloc(p, q, to[i]);
            ck_assert_ptr_nonnull(r);
            ck_assert_msg(aligned_to(r, al), "alignment %zu lost at %zu", al, to[i]);
            size_t keep = cur < to[i] ? cur : to[i];
            ck_assert(has_pattern(r, keep, 7));
            if (to[i] > cur)
                ck_assert(all_zero(r + cur, to[i] - cur));
            pattern(r, to[i], 7);
            q = r;
            cur = to[i];
        }
        ck_assert_int_eq(cymem_pool_free(p, q), 0);
    }
    cymem_pool_destroy(p);
}
END_TEST

START_TEST(realloc_to_zero)
{
    cymem_pool *p = cymem_pool_new();
    size_t szs[] = { 1, 100, 4096, 300000 };
    for (int i = 0; i < 4; i++) {
        void *q = cymem_pool_alloc(p, 1, szs[i]);
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
        ck_assert_int_eq(cymem_pool_free(p, z), 0);
        ck_assert_uint_eq(stats_of(p).live_blocks, 0);
    }
    cymem_pool_destroy(p);
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
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snap a, b;
        snap_take(p, &a);
        errno = 0;
        ck_assert_ptr_null(cymem_pool_realloc(p, bad[i], 128));
        ck_assert_int_eq(errno, EINVAL);
        errno = 0;
        ck_assert_ptr_null(cymem_pool_realloc(p, bad[i], 0));
        ck_assert_int_eq(errno, EINVAL);
        snap_take(p, &b);
        snap_same(&a, &b);
        snap_drop(&a);
        snap_drop(&b);
    }
    for (int i = 0; i < 64; i++)
        ck_assert_uint_eq(mine[i], 0x42);
    ck_assert_uint_eq(stats_of(o).live_blocks, 1);
    free(m);
    cymem_pool_destroy(o);
    cymem_pool_destroy(p);
}
END_TEST

START_TEST(realloc_failure_keeps_old)
{
    /* The backing allocator refuses everything from now on: a growth that
     * needs new memory fails with ENOMEM and the old block is intact. */
    tally t;
    memset(&t, 0, sizeof t);
    cymem_allocator a;
    cymem_pool *p = tally_pool(&t, &a, NULL, 0);
    ck_assert_ptr_nonnull(p);
    size_t szs[] = { 16, 1000, 100000 };
    unsigned char *q[3];
    for (int i = 0; i < 3; i++) {
        q[i] = cymem_pool_alloc(p, 1, szs[i]);
        ck_assert_ptr_nonnull(q[i]);
        pattern(q[i], szs[i], 9);
    }
    t.fail_at = t.mallocs + t.failed + 1;
    t.fail_all = 1;
    for (int i = 0; i < 3; i++) {
        snap s0, s1;
        snap_take(p, &s0);
        errno = 0;
        void *r = cymem_pool_realloc(p, q[i], (size_t)64 << 20);
        ck_assert_ptr_null(r);
        ck_assert_int_eq(errno, ENOMEM);
        snap_take(p, &s1);
        snap_same(&s0, &s1);
        snap_drop(&s0);
        snap_drop(&s1);
        ck_assert(has_pattern(q[i], szs[i], 9));
        ck_assert_uint_eq(cymem_pool_block_size(p, q[i]), szs[i]);
    }
    volatile size_t huge = SIZE_MAX;
    errno = 0;
    ck_assert_ptr_null(cymem_pool_realloc(p, q[0], huge));
    ck_assert_int_eq(errno, ENOMEM);
    ck_assert(has_pattern(q[0], 16, 9));
    t.fail_at = 0;
    t.fail_all = 0;
    unsigned char *r = cymem_pool_realloc(p, q[2], 200000);
    ck_assert_ptr_nonnull(r);
    ck_assert(has_pattern(r, 100000, 9));
    ck_assert(all_zero(r + 100000, 100000));
    cymem_pool_destroy(p);
    tally_all_back(&t);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("realloc");
    TCase *tc = tcase_create("realloc");
    tcase_set_timeout(tc, 120);
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
