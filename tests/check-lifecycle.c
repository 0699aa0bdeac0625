/*
 * check-lifecycle.c - pools: options and their refusal, children, cleanup
 * callbacks, reset and destroy, reserved/peak accounting against a counting
 * allocator, pools made and destroyed repeatedly, the version.
 */
#include "check-common.h"
#include <stdio.h>

START_TEST(bad_options)
{
    cymem_pool_options o;
    const size_t bad_chunks[] = { 1, 3, 4096, CYMEM_CHUNK_SIZE_MIN / 2,
        CYMEM_CHUNK_SIZE_MIN + 1, CYMEM_CHUNK_SIZE_MIN * 3,
        CYMEM_CHUNK_SIZE_MAX * 2, CYMEM_CHUNK_SIZE_MAX - 1, SIZE_MAX };
    for (size_t i = 0; i < sizeof bad_chunks / sizeof bad_chunks[0]; i++) {
        memset(&o, 0, sizeof o);
        o.chunk_size = bad_chunks[i];
        errno = 0;
        ck_assert_msg(cymem_pool_new_ex(&o) == NULL, "chunk %zu accepted", bad_chunks[i]);
        ck_assert_int_eq(errno, EINVAL);
    }
    for (unsigned bit = 1; bit != 0; bit <<= 1) {
        if (bit == CYMEM_POOL_THREADSAFE)
            continue;
        memset(&o, 0, sizeof o);
        o.flags = bit | CYMEM_POOL_THREADSAFE;
        errno = 0;
        ck_assert_msg(cymem_pool_new_ex(&o) == NULL, "flag %#x accepted", bit);
        ck_assert_int_eq(errno, EINVAL);
    }
    cymem_allocator half = { tally_malloc, NULL, NULL };
    memset(&o, 0, sizeof o);
    o.allocator = &half;
    errno = 0;
    ck_assert_ptr_null(cymem_pool_new_ex(&o));
    ck_assert_int_eq(errno, EINVAL);
    /* The good ones. */
    for (size_t c = CYMEM_CHUNK_SIZE_MIN; c <= CYMEM_CHUNK_SIZE_MAX; c <<= 1) {
        memset(&o, 0, sizeof o);
        o.chunk_size = c;
        cymem_pool *p = cymem_pool_new_ex(&o);
        ck_assert_ptr_nonnull(p);
        for (int i = 0; i < 100; i++)
            ck_assert(all_zero(cymem_pool_alloc(p, 1, 100), 100));
        cymem_pool_destroy(p);
    }
    cymem_pool *p = cymem_pool_new_ex(NULL);
    ck_assert_ptr_nonnull(p);
    cymem_pool_destroy(p);
    cymem_pool_destroy(NULL);
}
END_TEST

static int order[16], norder;
static unsigned char *seen_block;
static int block_value_seen;

static void note(void *arg) { order[norder++] = (int)(intptr_t)arg; }
static void read_block(void *arg)
{
    (void)arg;
    block_value_seen = seen_block[0] == 0x3C && seen_block[999] == 0x3C;
    order[norder++] = 100;
}

START_TEST(cleanups_lifo_once)
{
    tally t;
    memset(&t, 0, sizeof t);
    cymem_allocator a;
    cymem_pool *p = tally_pool(&t, &a, NULL, 0);
    for (int round = 0; round < 2; round++) {
        norder = 0;
        block_value_seen = 0;
        seen_block = cymem_pool_alloc(p, 1, 1000);
        memset(seen_block, 0x3C, 1000);
        ck_assert_int_eq(cymem_pool_on_cleanup(p, note, (void *)1), 0);
        ck_assert_int_eq(cymem_pool_on_cleanup(p, read_block, NULL), 0);
        ck_assert_int_eq(cymem_pool_on_cleanup(p, note, (void *)2), 0);
        ck_assert_int_eq(cymem_pool_on_cleanup(p, note, (void *)3), 0);
        ck_assert_int_eq(norder, 0);
        if (round == 0) {
            cymem_pool_reset(p);
            ck_assert_int_eq(norder, 4);
            /* a second reset runs none again */
            cymem_pool_reset(p);
        } else {
            cymem_pool_destroy(p);
        }
        ck_assert_int_eq(norder, 4);
        ck_assert_int_eq(order[0], 3);
        ck_assert_int_eq(order[1], 2);
        ck_assert_int_eq(order[2], 100);
        ck_assert_int_eq(order[3], 1);
        ck_assert_int_eq(block_value_seen, 1);
    }
    tally_all_back(&t);
    errno = 0;
    cymem_pool *q = cymem_pool_new();
    ck_assert_int_eq(cymem_pool_on_cleanup(q, NULL, NULL), -1);
    ck_assert_int_eq(errno, EINVAL);
    cymem_pool_destroy(q);
}
END_TEST

static int child_cleanups;
static void child_gone(void *arg) { (void)arg; child_cleanups++; }

START_TEST(children_reset_destroy)
{
    tally t;
    memset(&t, 0, sizeof t);
    cymem_allocator a;
    cymem_pool *p = tally_pool(&t, &a, NULL, 0);
    cymem_pool_options o;
    for (int round = 0; round < 3; round++) {
        child_cleanups = 0;
        void *mine = cymem_pool_alloc(p, 1, 48);
        cymem_pool *kids[4];
        for (int i = 0; i < 4; i++) {
            memset(&o, 0, sizeof o);
            o.parent = (i == 3) ? kids[0] : p;   /* a grandchild too */
            kids[i] = cymem_pool_new_ex(&o);
            ck_assert_ptr_nonnull(kids[i]);
            ck_assert_int_eq(cymem_pool_on_cleanup(kids[i], child_gone, NULL), 0);
            unsigned long before = t.mallocs;
            void *kb = cymem_pool_alloc(kids[i], 1, 200000);
            ck_assert_ptr_nonnull(kb);
            /* allocator = NULL: the parent's counting allocator is used */
            ck_assert_uint_gt(t.mallocs, before);
            ck_assert_int_eq(cymem_pool_owns(p, kb), 0);
            ck_assert_int_eq(cymem_pool_owns(kids[i], kb), 1);
        }
        /* stats speak of the parent's own blocks only */
        cymem_stats s = stats_of(p);
        ck_assert_uint_eq(s.live_blocks, 1);
        ck_assert_uint_eq(s.live_bytes, 48);
        snap sn;
        snap_take(p, &sn);
        ck_assert_uint_eq(sn.n, 1);
        ck_assert_uint_eq(sn.b[0].addr, (uintptr_t)mine);
        snap_drop(&sn);
        /* one child on its own (its grandchild goes with it) */
        cymem_pool_destroy(kids[0]);
        ck_assert_int_eq(child_cleanups, 2);
        if (round == 2) {
            cymem_pool_destroy(p);
            ck_assert_int_eq(child_cleanups, 4);
            break;
        }
        cymem_pool_reset(p);
        ck_assert_int_eq(child_cleanups, 4);
        ck_assert_uint_eq(stats_of(p).live_blocks, 0);
        void *again = cymem_pool_alloc(p, 1, 10);
        ck_assert_ptr_nonnull(again);
        ck_assert_int_eq(cymem_pool_free(p, again), 0);
    }
    tally_all_back(&t);
}
END_TEST

START_TEST(reserved_exact)
{
    tally t;
    memset(&t, 0, sizeof t);
    cymem_allocator a;
    cymem_pool *p = tally_pool(&t, &a, NULL, 0);
    ck_assert_uint_eq(stats_of(p).reserved_bytes, t.held);
    void *v[500];
    for (int i = 0; i < 500; i++) {
        v[i] = cymem_pool_alloc(p, 1, (i % 50 == 0) ? 150000 : 1 + (size_t)i * 7);
        if (i % 37 == 0)
            ck_assert_uint_eq(stats_of(p).reserved_bytes, t.held);
    }
    ck_assert_uint_eq(stats_of(p).reserved_bytes, t.held);
    for (int i = 0; i < 500; i += 2)
        ck_assert_int_eq(cymem_pool_free(p, v[i]), 0);
    ck_assert_uint_eq(stats_of(p).reserved_bytes, t.held);
    v[1] = cymem_pool_realloc(p, v[1], 400000);
    ck_assert_uint_eq(stats_of(p).reserved_bytes, t.held);
    cymem_stats before = stats_of(p);
    cymem_pool_reset(p);
    cymem_stats after = stats_of(p);
    ck_assert_uint_eq(after.reserved_bytes, t.held);
    ck_assert_uint_eq(after.peak_bytes, before.peak_bytes);
    ck_assert_uint_eq(after.live_bytes, 0);
    ck_assert_uint_gt(after.peak_bytes, 0);
    ck_assert_uint_le(after.metadata_bytes, after.reserved_bytes);
    cymem_pool_destroy(p);
    tally_all_back(&t);
}
END_TEST

START_TEST(fresh_pools_clean)
{
    for (int i = 0; i < 300; i++) {
        cymem_pool *p = (i % 2) ? cymem_pool_new() : cymem_pool_new_ex(NULL);
        ck_assert_ptr_nonnull(p);
        cymem_stats s = stats_of(p);
        ck_assert_uint_eq(s.live_bytes, 0);
        ck_assert_uint_eq(s.live_blocks, 0);
        ck_assert_uint_eq(s.peak_bytes, 0);
        snap sn;
        snap_take(p, &sn);
        ck_assert_uint_eq(sn.n, 0);
        snap_drop(&sn);
        size_t n = 16 + (size_t)(i % 40) * 100;
        for (int k = 0; k < 20; k++) {
            unsigned char *q = cymem_pool_alloc(p, 1, n);
            ck_assert(all_zero(q, n));
            memset(q, 0xFF, n);
        }
        unsigned char *big = cymem_pool_alloc(p, 1, 100000);
        ck_assert(all_zero(big, 100000));
        memset(big, 0xFF, 100000);
        cymem_pool_destroy(p);
    }
}
END_TEST

START_TEST(version)
{
    char buf[64];
    ck_assert_str_eq(cymem_version(), CYMEM_VERSION_STRING);
    snprintf(buf, sizeof buf, "%d.%d.%d", CYMEM_VERSION_MAJOR,
             CYMEM_VERSION_MINOR, CYMEM_VERSION_PATCH);
    ck_assert_str_eq(buf, CYMEM_VERSION_STRING);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("lifecycle");
    TCase *tc = tcase_create("lifecycle");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, bad_options);
    tcase_add_test(tc, cleanups_lifo_once);
    tcase_add_test(tc, children_reset_destroy);
    tcase_add_test(tc, reserved_exact);
    tcase_add_test(tc, fresh_pools_clean);
    tcase_add_test(tc, version);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
