/*
 * api-pool.c - pools as a whole: options, children, cleanups, reset and
 * destroy, statistics and foreach, custom allocators, threads, versions.
 */
#include "api-common.h"

#include <pthread.h>
#include <stdio.h>

START_TEST(bad_options_are_einval)
{
    static const size_t bad_chunks[] = { 1, 4096, CYMEM_CHUNK_SIZE_MIN / 2,
                                         CYMEM_CHUNK_SIZE_MIN + 1, 3 << 16,
                                         CYMEM_CHUNK_SIZE_MAX * 2 };
    cymem_pool_options o = { 0 };
    o.flags = 0x2;
    errno = 0;
    ck_assert_ptr_null(cymem_pool_new_ex(&o));
    ck_assert_int_eq(errno, EINVAL);
    o.flags = CYMEM_POOL_THREADSAFE | 0x80000000u;
    errno = 0;
    ck_assert_ptr_null(cymem_pool_new_ex(&o));
    ck_assert_int_eq(errno, EINVAL);
    o.flags = 0;
    for (size_t i = 0; i < sizeof bad_chunks / sizeof *bad_chunks; i++) {
        o.chunk_size = bad_chunks[i];
        errno = 0;
        ck_assert_ptr_null(cymem_pool_new_ex(&o));
        ck_assert_int_eq(errno, EINVAL);
    }
    cymem_allocator half = { count_malloc, NULL, NULL };
    o.chunk_size = 0;
    o.allocator = &half;
    errno = 0;
    ck_assert_ptr_null(cymem_pool_new_ex(&o));
    ck_assert_int_eq(errno, EINVAL);
    /* The limits themselves are fine, and NULL options are the defaults. */
    o.allocator = NULL;
    for (size_t c = CYMEM_CHUNK_SIZE_MIN; c <= CYMEM_CHUNK_SIZE_MAX; c *= 2) {
        o.chunk_size = c;
        cymem_pool *p = cymem_pool_new_ex(&o);
        ck_assert_ptr_nonnull(p);
        ck_assert_ptr_nonnull(cymem_pool_alloc(p, 1000, 10));
        cymem_pool_destroy(p);
    }
    cymem_pool *p = cymem_pool_new_ex(NULL);
    ck_assert_ptr_nonnull(p);
    cymem_pool_destroy(p);
    cymem_pool_destroy(NULL);
}
END_TEST

static int order[8], norder;
static void note(void *arg) { order[norder++] = (int)(intptr_t)arg; }

static int checked_value;
static void read_pool_memory(void *arg) { checked_value = *(int *)arg; }

START_TEST(cleanups_run_once_lifo_before_release)
{
    cymem_pool *pool = cymem_pool_new();
    int *v = cymem_pool_alloc(pool, 1, sizeof *v);
    *v = 4242;
    norder = 0;
    checked_value = 0;
    ck_assert_int_eq(cymem_pool_on_cleanup(pool, note, (void *)1), 0);
    ck_assert_int_eq(cymem_pool_on_cleanup(pool, read_pool_memory, v), 0);
    ck_assert_int_eq(cymem_pool_on_cleanup(pool, note, (void *)2), 0);
    cymem_pool_reset(pool);
    ck_assert_int_eq(norder, 2);
    ck_assert_int_eq(order[0], 2);
    ck_assert_int_eq(order[1], 1);
    ck_assert_int_eq(checked_value, 4242);
    cymem_pool_reset(pool);                    /* ran once: not again */
    ck_assert_int_eq(norder, 2);
    ck_assert_int_eq(cymem_pool_on_cleanup(pool, note, (void *)3), 0);
    cymem_pool_destroy(pool);
    ck_assert_int_eq(norder, 3);
    ck_assert_int_eq(order[2], 3);
    errno = 0;
    ck_assert_int_eq(cymem_pool_on_cleanup(NULL, note, NULL), -1);
    ck_assert_int_eq(errno, EINVAL);
}
END_TEST

START_TEST(children_go_with_their_parent)
{
    struct counting c;
    cymem_allocator a;
    cymem_pool *parent = counted_pool(&c, &a, NULL);
    cymem_pool_options o = { NULL, parent, 0, 0 };
    cymem_pool *kid1 = cymem_pool_new_ex(&o);
    cymem_pool *kid2 = cymem_pool_new_ex(&o);
    ck_assert_ptr_nonnull(kid1);
    ck_assert_ptr_nonnull(kid2);
    size_t before = c.live;
    for (int i = 0; i < 100; i++)
        ck_assert_ptr_nonnull(cymem_pool_alloc(kid1, 1, 500));
    ck_assert_uint_gt(c.live, before);          /* the parent's allocator */
    norder = 0;
    cymem_pool_on_cleanup(kid1, note, (void *)7);
    cymem_pool_on_cleanup(kid2, note, (void *)8);
    cymem_pool_destroy(kid2);                   /* on its own */
    ck_assert_int_eq(norder, 1);
    cymem_pool_reset(parent);                   /* destroys kid1 */
    ck_assert_int_eq(norder, 2);
    ck_assert_int_eq(order[1], 7);
    /* The parent is still usable, and a new child can be made. */
    ck_assert_ptr_nonnull(cymem_pool_alloc(parent, 1, 10));
    cymem_pool *kid3 = cymem_pool_new_ex(&o);
    ck_assert_ptr_nonnull(cymem_pool_alloc(kid3, 1, 10));
    cymem_pool_destroy(parent);                 /* destroys kid3 */
    ck_assert_uint_eq(c.live, 0);
    ck_assert_int_eq(c.bad_size, 0);
}
END_TEST

static int count_blocks(void *p, size_t size, void *ctx)
{
    (void)p;
    size_t *acc = ctx;
    acc[0]++;
    acc[1] += size;
    return 0;
}

static int stop_at_three(void *p, size_t size, void *ctx)
{
    (void)p;
    (void)size;
    return ++*(int *)ctx == 3 ? 99 : 0;
}

START_TEST(stats_and_foreach_are_exact_and_own)
{
    cymem_pool *pool = cymem_pool_new();
    cymem_pool_options o = { NULL, pool, 0, 0 };
    cymem_pool *child = cymem_pool_new_ex(&o);
    void *cb = cymem_pool_alloc(child, 1, 1000);
    uint64_t seed = 99;
    void *p[2000] = { 0 };
    size_t n[2000] = { 0 }, live = 0, blocks = 0, peak = 0;
    for (int step = 0; step < 20000; step++) {
        seed = seed * 6364136223846793005ull + 1;
        int i = (int)((seed >> 33) % 2000);
        if (p[i] == NULL) {
            n[i] = (size_t)(seed >> 45) % 9000;
            p[i] = cymem_pool_alloc(pool, 1, n[i]);
            live += n[i];
            blocks++;
        } else {
            ck_assert_int_eq(cymem_pool_free(pool, p[i]), 0);
            p[i] = NULL;
            live -= n[i];
            blocks--;
        }
        if (live > peak)
            peak = live;
        if (step % 997 == 0) {
            cymem_stats st;
            size_t acc[2] = { 0, 0 };
            ck_assert_int_eq(cymem_pool_stats(pool, &st), 0);
            ck_assert_uint_eq(st.live_bytes, live);
            ck_assert_uint_eq(st.live_blocks, blocks);
            ck_assert_uint_eq(st.peak_bytes, peak);
            ck_assert_uint_ge(st.used_bytes, st.live_bytes);
            ck_assert_uint_ge(st.reserved_bytes, st.used_bytes + st.metadata_bytes);
            ck_assert_int_eq(cymem_pool_foreach(pool, count_blocks, acc), 0);
            ck_assert_uint_eq(acc[0], blocks);
            ck_assert_uint_eq(acc[1], live);
            ck_assert(!cymem_pool_owns(pool, cb));
        }
    }
    int seen = 0;
    ck_assert_int_eq(cymem_pool_foreach(pool, stop_at_three, &seen), 99);
    ck_assert_int_eq(seen, 3);
    cymem_pool_reset(pool);
    cymem_stats st;
    cymem_pool_stats(pool, &st);
    ck_assert_uint_eq(st.live_bytes, 0);
    ck_assert_uint_eq(st.live_blocks, 0);
    ck_assert_uint_eq(st.peak_bytes, peak);     /* not lowered by reset */
    errno = 0;
    ck_assert_int_eq(cymem_pool_stats(pool, NULL), -1);
    ck_assert_int_eq(errno, EINVAL);
    ck_assert_int_eq(cymem_pool_foreach(pool, NULL, NULL), -1);
    cymem_pool_destroy(pool);
}
END_TEST

START_TEST(reserved_bytes_is_what_the_allocator_holds)
{
    struct counting c;
    cymem_allocator a;
    cymem_pool *pool = counted_pool(&c, &a, NULL);
    cymem_stats st;
    void *p[500];
    cymem_pool_stats(pool, &st);
    ck_assert_uint_eq(st.reserved_bytes, c.live);
    for (int i = 0; i < 500; i++) {
        p[i] = cymem_pool_alloc(pool, 1, (size_t)(i * 37 % 20000));
        if (i % 50 == 0) {
            cymem_pool_stats(pool, &st);
            ck_assert_uint_eq(st.reserved_bytes, c.live);
        }
    }
    for (int i = 0; i < 500; i += 2)
        cymem_pool_free(pool, p[i]);
    cymem_pool_on_cleanup(pool, note, NULL);
    cymem_pool_stats(pool, &st);
    ck_assert_uint_eq(st.reserved_bytes, c.live);
    cymem_pool_reset(pool);
    cymem_pool_stats(pool, &st);
    ck_assert_uint_eq(st.reserved_bytes, c.live);
    cymem_pool_destroy(pool);
    ck_assert_uint_eq(c.live, 0);               /* every byte came back */
    ck_assert_uint_eq(c.calls, c.frees);        /* every allocation too */
    ck_assert_int_eq(c.bad_size, 0);            /* with the size asked */
}
END_TEST

START_TEST(a_failing_allocator_fails_cleanly)
{
    for (unsigned long k = 1; k < 40; k++) {
        struct counting c;
        cymem_allocator a;
        memset(&c, 0, sizeof c);
        c.fail_at = k;
        a.malloc = count_malloc;
        a.free = count_free;
        a.ctx = &c;
        cymem_pool_options o = { &a, NULL, 0, 0 };
        cymem_pool *pool = cymem_pool_new_ex(&o);
        if (pool == NULL) {
            ck_assert_int_eq(errno, ENOMEM);
            ck_assert_uint_eq(c.live, 0);
            continue;
        }
        for (int i = 0; i < 100; i++) {
            errno = 0;
            void *p = cymem_pool_alloc(pool, 1, (size_t)(i % 3 == 0 ? 6000 : 40));
            if (p == NULL)
                ck_assert_int_eq(errno, ENOMEM);
        }
        cymem_pool_destroy(pool);
        ck_assert_uint_eq(c.live, 0);
    }
}
END_TEST

START_TEST(new_pools_start_empty)
{
    /* Destroyed pools of the system allocator are reused per thread. */
    for (int r = 0; r < 50; r++) {
        cymem_pool *pool = cymem_pool_new();
        cymem_stats st;
        cymem_pool_stats(pool, &st);
        ck_assert_uint_eq(st.live_bytes, 0);
        ck_assert_uint_eq(st.live_blocks, 0);
        ck_assert_uint_eq(st.peak_bytes, 0);
        for (int i = 0; i < 300; i++) {
            unsigned char *p = cymem_pool_alloc(pool, 1, (size_t)(16 + i));
            ck_assert(all_zero(p, (size_t)(16 + i)));
            memset(p, 0xEE, (size_t)(16 + i));
        }
        cymem_pool_destroy(pool);
    }
}
END_TEST

/*
 * A pool that grows past a few MiB takes its slabs from large regions,
 * and a thread keeps some regions of destroyed pools for the next one:
 * blocks from them must be as exact, as owned and as zeroed as any.
 */
START_TEST(large_pools_stay_exact_and_zeroed)
{
    enum { N = 100000 };
    static unsigned char *p[N];
    for (int round = 0; round < 3; round++) {
        cymem_pool *pool = cymem_pool_new();
        ck_assert_ptr_nonnull(pool);
        for (int pass = 0; pass < 2; pass++) {
            for (int i = 0; i < N; i++) {
                size_t n = 16 + (size_t)(i * 7 % 241);
                p[i] = cymem_pool_alloc(pool, 1, n);
                ck_assert_ptr_nonnull(p[i]);
                ck_assert(all_zero(p[i], n));
                memset(p[i], 0xA5, n);
            }
            cymem_stats st;
            cymem_pool_stats(pool, &st);
            ck_assert_uint_eq(st.live_blocks, N);
            ck_assert_uint_ge(st.reserved_bytes, st.used_bytes + st.metadata_bytes);
            ck_assert_uint_lt(st.chunk_count, N / 100);
            for (int i = 0; i < N; i += 97) {
                ck_assert(cymem_pool_owns(pool, p[i]));
                ck_assert(!cymem_pool_owns(pool, p[i] + 1));
                ck_assert_uint_eq(cymem_pool_block_size(pool, p[i]), 16 + (size_t)(i * 7 % 241));
            }
            /* Free a third, detect a double free, and reuse the blocks. */
            for (int i = 0; i < N; i += 3)
                ck_assert_int_eq(cymem_pool_free(pool, p[i]), 0);
            errno = 0;
            ck_assert_int_eq(cymem_pool_free(pool, p[0]), -1);
            ck_assert_int_eq(errno, EINVAL);
            for (int i = 0; i < N; i += 3) {
                size_t n = 16 + (size_t)(i * 7 % 241);
                p[i] = cymem_pool_alloc(pool, 1, n);
                ck_assert(all_zero(p[i], n));
                memset(p[i], 0x5A, n);
            }
            cymem_pool_stats(pool, &st);
            ck_assert_uint_eq(st.live_blocks, N);
            for (int i = 1; i < N; i += 101)
                ck_assert_uint_eq(p[i][0], i % 3 ? 0xA5 : 0x5A);
            /* The second pass runs on the slabs the reset keeps. */
            cymem_pool_reset(pool);
            cymem_pool_stats(pool, &st);
            ck_assert_uint_eq(st.live_blocks, 0);
        }
        cymem_pool_destroy(pool);
    }
}
END_TEST

/* A reset pool refills its slabs in the order it first filled them, so
 * that the same requests get the same memory (and touch no new pages). */
START_TEST(reset_replays_the_same_blocks)
{
    enum { N = 6000 };
    static void *first[N];
    cymem_pool *pool = cymem_pool_new();
    /* A new pool's first blocks are direct: get past them with blocks of
     * another size class than the ones under test. */
    for (int i = 0; i < 40; i++)
        ck_assert_ptr_nonnull(cymem_pool_alloc(pool, 1, 16));
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < N; i++) {
            void *p = cymem_pool_alloc(pool, 1, i % 3 ? 64 : 200);
            ck_assert_ptr_nonnull(p);
            if (round == 0)
                first[i] = p;
            else
                ck_assert_ptr_eq(p, first[i]);
        }
        cymem_pool_reset(pool);
    }
    cymem_pool_destroy(pool);
}
END_TEST

static cymem_pool *shared;

static void *hammer(void *arg)
{
    void *mine[64] = { 0 };
    uint64_t seed = (uint64_t)(uintptr_t)arg;
    for (int i = 0; i < 20000; i++) {
        seed = seed * 6364136223846793005ull + 1;
        int k = (int)((seed >> 33) % 64);
        if (mine[k] == NULL) {
            mine[k] = cymem_pool_alloc(shared, 1, (size_t)(seed >> 50) % 700 + 1);
            ck_assert_ptr_nonnull(mine[k]);
        } else if (i % 5 == 0) {
            mine[k] = cymem_pool_realloc(shared, mine[k], (size_t)(seed >> 52) % 3000 + 1);
            ck_assert_ptr_nonnull(mine[k]);
        } else {
            ck_assert_int_eq(cymem_pool_free(shared, mine[k]), 0);
            mine[k] = NULL;
        }
        if (i % 1000 == 0) {
            cymem_stats st;
            ck_assert_int_eq(cymem_pool_stats(shared, &st), 0);
        }
    }
    for (int k = 0; k < 64; k++)
        if (mine[k])
            ck_assert_int_eq(cymem_pool_free(shared, mine[k]), 0);
    return NULL;
}

START_TEST(threadsafe_pools_take_concurrent_calls)
{
    cymem_pool_options o = { NULL, NULL, CYMEM_POOL_THREADSAFE, 0 };
    pthread_t t[4];
    shared = cymem_pool_new_ex(&o);
    ck_assert_ptr_nonnull(shared);
    for (int i = 0; i < 4; i++)
        pthread_create(&t[i], NULL, hammer, (void *)(uintptr_t)(i + 1));
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    cymem_stats st;
    cymem_pool_stats(shared, &st);
    ck_assert_uint_eq(st.live_blocks, 0);
    ck_assert_uint_eq(st.live_bytes, 0);
    cymem_pool_destroy(shared);
}
END_TEST

START_TEST(version_macros_agree)
{
    char v[64];
    snprintf(v, sizeof v, "%d.%d.%d", CYMEM_VERSION_MAJOR, CYMEM_VERSION_MINOR,
             CYMEM_VERSION_PATCH);
    ck_assert_str_eq(v, CYMEM_VERSION_STRING);
    ck_assert_str_eq(cymem_version(), CYMEM_VERSION_STRING);
    ck_assert_int_eq(CYMEM_VERSION_NUMBER,
                     (CYMEM_VERSION_MAJOR << 16) | (CYMEM_VERSION_MINOR << 8) |
                     CYMEM_VERSION_PATCH);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("pool");
    TCase *t = tcase_create("pool");
    tcase_set_timeout(t, 120);
    tcase_add_test(t, bad_options_are_einval);
    tcase_add_test(t, cleanups_run_once_lifo_before_release);
    tcase_add_test(t, children_go_with_their_parent);
    tcase_add_test(t, stats_and_foreach_are_exact_and_own);
    tcase_add_test(t, reserved_bytes_is_what_the_allocator_holds);
    tcase_add_test(t, a_failing_allocator_fails_cleanly);
    tcase_add_test(t, new_pools_start_empty);
    tcase_add_test(t, large_pools_stay_exact_and_zeroed);
    tcase_add_test(t, reset_replays_the_same_blocks);
    tcase_add_test(t, threadsafe_pools_take_concurrent_calls);
    tcase_add_test(t, version_macros_agree);
    suite_add_tcase(s, t);
    return run_suite(s);
}
