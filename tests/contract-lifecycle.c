/*
 * contract-lifecycle.c - pools as a whole: options and their refusal,
 * children, cleanup callbacks, reset and destroy, pools made and destroyed
 * repeatedly (recycled by the per-thread cache) and memory they leave
 * for the next pool, large pools on regions, reset replaying the same
 * blocks, callbacks that use the pool or make children while it is torn
 * down, the version.
 */
#include "harness.h"
#include <stdio.h>

START_TEST(bad_options)
{
    cymem_pool_options o;
    const size_t bad_chunks[] = { 1, 3, 4096, CYMEM_CHUNK_SIZE_MIN / 2,
        CYMEM_CHUNK_SIZE_MIN + 1, CYMEM_CHUNK_SIZE_MIN * 3, (size_t)3 << 16,
        CYMEM_CHUNK_SIZE_MAX * 2, CYMEM_CHUNK_SIZE_MAX - 1, SIZE_MAX };
    for (size_t i = 0; i < sizeof bad_chunks / sizeof bad_chunks[0]; i++) {
        memset(&o, 0, sizeof o);
        o.chunk_size = bad_chunks[i];
        errno = 0;
        ck_assert_msg(cymem_pool_new_ex(&o) == NULL, "chunk %zu accepted", bad_chunks[i]);
        ck_assert_int_eq(errno, EINVAL);
    }
    /* Every unknown flag bit, alone and with the known ones. */
    const unsigned known = CYMEM_POOL_THREADSAFE | CYMEM_POOL_HUGE_PAGES;
    for (unsigned bit = 1; bit != 0; bit <<= 1) {
        if (bit & known)
            continue;
        for (int with = 0; with < 2; with++) {
            memset(&o, 0, sizeof o);
            o.flags = bit | (with ? known : 0);
            errno = 0;
            ck_assert_msg(cymem_pool_new_ex(&o) == NULL, "flags %#x accepted", o.flags);
            ck_assert_int_eq(errno, EINVAL);
        }
    }
    /* An allocator without both functions. */
    backing t;
    backing_init(&t);
    cymem_allocator half[2] = { t.alloc, t.alloc };
    half[0].free = NULL;
    half[1].malloc = NULL;
    for (int i = 0; i < 2; i++) {
        memset(&o, 0, sizeof o);
        o.allocator = &half[i];
        errno = 0;
        ck_assert_ptr_null(cymem_pool_new_ex(&o));
        ck_assert_int_eq(errno, EINVAL);
    }
    ck_assert_uint_eq(t.requests, 0);
    /* The good ones. */
    for (size_t c = CYMEM_CHUNK_SIZE_MIN; c <= CYMEM_CHUNK_SIZE_MAX; c <<= 1) {
        memset(&o, 0, sizeof o);
        o.chunk_size = c;
        cymem_pool *p = cymem_pool_new_ex(&o);
        ck_assert_ptr_nonnull(p);
        for (int i = 0; i < 100; i++) {
            void *q = cymem_pool_alloc(p, 1, 100);
            ck_assert_ptr_nonnull(q);
            ck_assert(all_zero(q, 100));
        }
        ck_assert_ptr_nonnull(cymem_pool_alloc(p, 1000, 10));
        pool_done(p);
    }
    cymem_pool *p = cymem_pool_new_ex(NULL);
    ck_assert_ptr_nonnull(p);
    pool_done(p);
}
END_TEST

/* Each known flag, alone and together, on the system allocator and on a
 * custom one: the pool works and stays exact past the size at which
 * CYMEM_POOL_HUGE_PAGES changes anything (8 MiB). */
START_TEST(known_flags)
{
    const unsigned flags[] = { CYMEM_POOL_THREADSAFE, CYMEM_POOL_HUGE_PAGES,
                               CYMEM_POOL_THREADSAFE | CYMEM_POOL_HUGE_PAGES };
    for (size_t i = 0; i < sizeof flags / sizeof flags[0]; i++) {
        cymem_pool_options o;
        memset(&o, 0, sizeof o);
        o.flags = flags[i];
        cymem_pool *p = cymem_pool_new_ex(&o);
        ck_assert_ptr_nonnull(p);
        size_t live = 0;
        for (int k = 0; k < 1200; k++) {
            unsigned char *b = cymem_pool_alloc(p, 1, 8000 + (size_t)k);
            ck_assert_ptr_nonnull(b);
            ck_assert(all_zero(b, 8000 + (size_t)k));
            live += 8000 + (size_t)k;
        }
        for (int k = 0; k < 20000; k++)
            ck_assert_ptr_nonnull(cymem_pool_alloc(p, 1, 400));
        live += 20000 * 400;
        ck_assert_uint_eq(stats_of(p).live_bytes, live);
        pool_done(p);

        backing t;
        backing_init(&t);
        p = backing_pool(&t, NULL, flags[i]);
        ck_assert_ptr_nonnull(p);
        ck_assert_ptr_nonnull(cymem_pool_alloc(p, 100, 100));
        pool_done(p);
        backing_all_back(&t);
    }
}
END_TEST

static int order[16], norder;
static unsigned char *seen_block;
static int block_value_seen;

static void note(void *arg) { order[norder++] = (int)(intptr_t)arg; }

/* Cleanups run before the blocks are released: pool memory is readable. */
static void read_block(void *arg)
{
    (void)arg;
    block_value_seen = seen_block[0] == 0x3C && seen_block[999] == 0x3C;
    order[norder++] = 100;
}

START_TEST(cleanups_lifo_once)
{
    backing t;
    cymem_pool *p = backing_pool(&t, NULL, 0);
    ck_assert_ptr_nonnull(p);
    for (int round = 0; round < 2; round++) {
        norder = 0;
        block_value_seen = 0;
        seen_block = cymem_pool_alloc(p, 1, 1000);
        ck_assert_ptr_nonnull(seen_block);
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
            POOL_CHECK(p);
        } else {
            pool_done(p);
        }
        ck_assert_int_eq(norder, 4);
        ck_assert_int_eq(order[0], 3);
        ck_assert_int_eq(order[1], 2);
        ck_assert_int_eq(order[2], 100);
        ck_assert_int_eq(order[3], 1);
        ck_assert_int_eq(block_value_seen, 1);
    }
    backing_all_back(&t);
    cymem_pool *q = cymem_pool_new();
    errno = 0;
    ck_assert_int_eq(cymem_pool_on_cleanup(q, NULL, NULL), -1);
    ck_assert_int_eq(errno, EINVAL);
    pool_done(q);
}
END_TEST

static int child_cleanups;
static void child_gone(void *arg) { (void)arg; child_cleanups++; }

START_TEST(children_reset_destroy)
{
    backing t;
    cymem_pool *p = backing_pool(&t, NULL, 0);
    ck_assert_ptr_nonnull(p);
    for (int round = 0; round < 3; round++) {
        child_cleanups = 0;
        void *mine = cymem_pool_alloc(p, 1, 48);
        ck_assert_ptr_nonnull(mine);
        cymem_pool *kids[4];
        for (int i = 0; i < 4; i++) {
            kids[i] = child_of(i == 3 ? kids[0] : p);   /* a grandchild too */
            ck_assert_ptr_nonnull(kids[i]);
            ck_assert_int_eq(cymem_pool_on_cleanup(kids[i], child_gone, NULL), 0);
            unsigned long before = t.mallocs;
            void *kb = cymem_pool_alloc(kids[i], 1, 200000);
            ck_assert_ptr_nonnull(kb);
            /* allocator = NULL: the parent's counting allocator is used */
            ck_assert_uint_gt(t.mallocs, before);
            ck_assert_int_eq(cymem_pool_owns(p, kb), 0);
            ck_assert_int_eq(cymem_pool_owns(kids[i], kb), 1);
            POOL_CHECK(kids[i]);
        }
        /* stats and foreach speak of the parent's own blocks only */
        cymem_stats s = stats_of(p);
        ck_assert_uint_eq(s.live_blocks, 1);
        ck_assert_uint_eq(s.live_bytes, 48);
        snap sn;
        snap_take(p, &sn);
        ck_assert_uint_eq(sn.n, 1);
        ck_assert_uint_eq(sn.b[0].addr, (uintptr_t)mine);
        snap_drop(&sn);
        /* one child on its own (its grandchild goes with it) */
        pool_done(kids[0]);
        ck_assert_int_eq(child_cleanups, 2);
        POOL_CHECK(p);
        if (round == 2) {
            pool_done(p);
            ck_assert_int_eq(child_cleanups, 4);
            break;
        }
        cymem_pool_reset(p);
        POOL_CHECK(p);
        ck_assert_int_eq(child_cleanups, 4);
        ck_assert_uint_eq(stats_of(p).live_blocks, 0);
        /* the parent is usable after the reset (and takes new children
         * in the next round) */
        void *again = cymem_pool_alloc(p, 1, 10);
        ck_assert_ptr_nonnull(again);
        ck_assert_int_eq(cymem_pool_free(p, again), 0);
    }
    backing_all_back(&t);
}
END_TEST

START_TEST(fresh_pools_clean)
{
    /* Destroyed pools of the system allocator are recycled per thread:
     * each new one must start empty, with zeroed memory. */
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
            ck_assert_ptr_nonnull(q);
            ck_assert(all_zero(q, n));
            memset(q, 0xFF, n);
        }
        for (int k = 0; k < 300; k += 7) {
            unsigned char *q = cymem_pool_alloc(p, 1, (size_t)(16 + k));
            ck_assert_ptr_nonnull(q);
            ck_assert(all_zero(q, (size_t)(16 + k)));
            memset(q, 0xEE, (size_t)(16 + k));
        }
        unsigned char *big = cymem_pool_alloc(p, 1, 100000);
        ck_assert_ptr_nonnull(big);
        ck_assert(all_zero(big, 100000));
        memset(big, 0xFF, 100000);
        pool_done(p);
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
    static unsigned char *q[N];
    for (int round = 0; round < 3; round++) {
        cymem_pool *p = cymem_pool_new();
        ck_assert_ptr_nonnull(p);
        for (int pass = 0; pass < 2; pass++) {
            for (int i = 0; i < N; i++) {
                size_t n = 16 + (size_t)(i * 7 % 241);
                q[i] = cymem_pool_alloc(p, 1, n);
                ck_assert_ptr_nonnull(q[i]);
                ck_assert(all_zero(q[i], n));
                memset(q[i], 0xA5, n);
            }
            cymem_stats st = stats_of(p);
            ck_assert_uint_eq(st.live_blocks, N);
            ck_assert_uint_ge(st.reserved_bytes, st.used_bytes + st.metadata_bytes);
            ck_assert_uint_lt(st.chunk_count, N / 100);
            for (int i = 0; i < N; i += 97) {
                ck_assert(cymem_pool_owns(p, q[i]));
                ck_assert(!cymem_pool_owns(p, q[i] + 1));
                ck_assert_uint_eq(cymem_pool_block_size(p, q[i]), 16 + (size_t)(i * 7 % 241));
            }
            /* Free a third, detect a double free, and reuse the blocks. */
            for (int i = 0; i < N; i += 3)
                ck_assert_int_eq(cymem_pool_free(p, q[i]), 0);
            errno = 0;
            ck_assert_int_eq(cymem_pool_free(p, q[0]), -1);
            ck_assert_int_eq(errno, EINVAL);
            for (int i = 0; i < N; i += 3) {
                size_t n = 16 + (size_t)(i * 7 % 241);
                q[i] = cymem_pool_alloc(p, 1, n);
                ck_assert_ptr_nonnull(q[i]);
                ck_assert(all_zero(q[i], n));
                memset(q[i], 0x5A, n);
            }
            ck_assert_uint_eq(stats_of(p).live_blocks, N);
            for (int i = 1; i < N; i += 101)
                ck_assert_uint_eq(q[i][0], i % 3 ? 0xA5 : 0x5A);
            POOL_CHECK(p);
            /* The second pass runs on the slabs the reset keeps. */
            cymem_pool_reset(p);
            ck_assert_uint_eq(stats_of(p).live_blocks, 0);
        }
        pool_done(p);
    }
}
END_TEST

/* A reset pool refills its arena chunks and slabs in the order it first
 * filled them, so that the same requests get the same memory (and touch no
 * new pages). */
START_TEST(reset_replays_the_same_blocks)
{
    enum { N = 6000 };
    static void *first[N];
    cymem_pool *p = cymem_pool_new();
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < N; i++) {
            void *q = cymem_pool_alloc(p, 1, i % 3 ? 64 : 200);
            ck_assert_ptr_nonnull(q);
            if (round == 0)
                first[i] = q;
            else
                ck_assert_ptr_eq(q, first[i]);
        }
        cymem_pool_reset(p);
    }
    pool_done(p);
}
END_TEST

/* Every block of @p from @n allocations of @size bytes (@align: 0, or
 * aligned) is zero, and is then written whole. */
static void take_zeroed(cymem_pool *p, int n, size_t size, size_t align)
{
    for (int i = 0; i < n; i++) {
        unsigned char *q = align ? cymem_pool_alloc_aligned(p, 1, size, align)
                                 : cymem_pool_alloc(p, 1, size);
        ck_assert_ptr_nonnull(q);
        ck_assert_msg(all_zero(q, size), "block %d of %zu bytes is not zero", i, size);
        memset(q, 0xA5, size);
    }
}

static size_t nvisited;
static int count_block(void *ptr, size_t size, void *ctx)
{
    (void)ptr, (void)size, (void)ctx;
    nvisited++;
    return 0;
}

/* foreach visits exactly the pool's live blocks. */
static void visits_live(const cymem_pool *p)
{
    nvisited = 0;
    ck_assert_int_eq(cymem_pool_foreach((cymem_pool *)p, count_block, NULL), 0);
    ck_assert_uint_eq(nvisited, stats_of(p).live_blocks);
}

/*
 * Memory a destroyed pool leaves in the thread's cache goes to the next
 * pools laid out another way (a keeper's memory as an arena chunk, a
 * slab's as an arena chunk or a keeper, ...): whatever an earlier owner
 * wrote, past the blocks, marks or units a later one used, must not come
 * back as the content of a block or as marks of blocks never made.
 */
START_TEST(recycled_memory_is_zero)
{
    /* A keeper's memory, then an arena chunk written to its end, come
     * back as a keeper and as an arena chunk of other pools. */
    cymem_pool *a = cymem_pool_new(), *c;
    ck_assert_ptr_nonnull(a);
    take_zeroed(a, 30, 4096, 0);
    c = cymem_pool_new();
    pool_done(a);
    cymem_pool *x = cymem_pool_new(), *b = cymem_pool_new();
    ck_assert_ptr_nonnull(x);
    ck_assert_ptr_nonnull(b);
    pool_done(b);
    take_zeroed(c, 29, 4096, 0);
    take_zeroed(c, 256, 16, 0);
    visits_live(c);
    POOL_CHECK(c);
    pool_done(c);
    pool_done(x);

    /* A slab written whole becomes another class's slab, then an arena
     * chunk at a reset, then a slab or a keeper again. */
    for (int keeper = 0; keeper < 2; keeper++) {
        a = cymem_pool_new();
        take_zeroed(a, 8, 4096, 64);
        pool_done(a);
        b = cymem_pool_new();
        take_zeroed(b, 1, keeper ? 2055 : 3800, keeper ? 32 : 64);
        cymem_pool_reset(b);
        POOL_CHECK(b);
        pool_done(b);
        cymem_pool_options o = { NULL, NULL, 0, keeper ? (size_t)32 << 10 : 0 };
        c = cymem_pool_new_ex(&o);
        ck_assert_ptr_nonnull(c);
        if (keeper)
            take_zeroed(c, 260, 100, 0);
        else
            take_zeroed(c, 14, 2300, 32);
        visits_live(c);
        POOL_CHECK(c);
        pool_done(c);
    }

    /* The same at random: pools of every chunk size, plain and aligned
     * blocks of every size up to past the classes, resets; every block
     * written whole before its pool goes. */
    unsigned seed = 7;
    for (int round = 0; round < 300; round++) {
        seed = seed * 1103515245u + 12345u;
        cymem_pool_options o = { NULL, NULL, 0, (size_t)16 << (10 + (seed >> 8) % 7) };
        cymem_pool *p = cymem_pool_new_ex(&o);
        ck_assert_ptr_nonnull(p);
        int ops = 1 + (int)((seed >> 12) % 400);
        for (int i = 0; i < ops; i++) {
            seed = seed * 1103515245u + 12345u;
            unsigned r = seed >> 8;
            if (r % 97 == 0) {
                cymem_pool_reset(p);
                continue;
            }
            size_t size = r % 5 == 0 ? 1 + (r >> 3) % 6000 : 1 + (r >> 3) % 300;
            take_zeroed(p, 1, size, r % 3 == 0 ? (size_t)16 << (r >> 5) % 3 : 0);
        }
        visits_live(p);
        POOL_CHECK(p);
        pool_done(p);
    }
}
END_TEST

/* Callbacks run while a pool is reset read it, and free a block of its
 * parent, even when the pools are THREADSAFE (the lock is not held). */
static cymem_pool *torn;
static void *torn_block;
static size_t torn_live;
static void read_torn(void *arg)
{
    (void)arg;
    torn_live = stats_of(torn).live_blocks;
    ck_assert_int_eq(cymem_pool_owns(torn, torn_block), 1);
}
static void free_in_parent(void *arg)
{
    (void)arg;
    ck_assert_int_eq(cymem_pool_free(torn, torn_block), 0);
}

START_TEST(callbacks_use_the_pool_torn_down)
{
    backing t;
    for (int custom = 0; custom < 2; custom++) {
        cymem_pool_options o = { NULL, NULL, CYMEM_POOL_THREADSAFE, 0 };
        torn = custom ? backing_pool(&t, NULL, CYMEM_POOL_THREADSAFE) : cymem_pool_new_ex(&o);
        ck_assert_ptr_nonnull(torn);
        torn_block = cymem_pool_alloc(torn, 1, 64);
        ck_assert_ptr_nonnull(torn_block);
        ck_assert_int_eq(cymem_pool_on_cleanup(torn, read_torn, NULL), 0);
        cymem_pool_reset(torn);
        ck_assert_uint_eq(torn_live, 1);

        torn_block = cymem_pool_alloc(torn, 1, 64);
        cymem_pool *kid = child_of(torn);
        ck_assert_ptr_nonnull(kid);
        ck_assert_int_eq(cymem_pool_on_cleanup(kid, free_in_parent, NULL), 0);
        cymem_pool_reset(torn);
        ck_assert_uint_eq(stats_of(torn).live_blocks, 0);
        POOL_CHECK(torn);
        pool_done(torn);
        if (custom)
            backing_all_back(&t);
    }
}
END_TEST

/* A child that a cleanup makes goes with the pool, at a reset and at a
 * destroy: it runs its own cleanup, and nothing of it outlives its parent. */
static int late_cleanups;
static void late_gone(void *arg) { (void)arg; late_cleanups++; }
static void make_late_child(void *arg)
{
    cymem_pool *kid = child_of(arg);
    ck_assert_ptr_nonnull(kid);
    ck_assert_ptr_nonnull(cymem_pool_alloc(kid, 1, 100));
    ck_assert_int_eq(cymem_pool_on_cleanup(kid, late_gone, NULL), 0);
}

START_TEST(children_made_by_cleanups_go)
{
    backing t;
    cymem_pool *p = backing_pool(&t, NULL, 0);
    ck_assert_ptr_nonnull(p);
    late_cleanups = 0;
    ck_assert_int_eq(cymem_pool_on_cleanup(p, make_late_child, p), 0);
    cymem_pool_reset(p);
    ck_assert_int_eq(late_cleanups, 1);
    POOL_CHECK(p);
    ck_assert_int_eq(cymem_pool_on_cleanup(p, make_late_child, p), 0);
    pool_done(p);
    ck_assert_int_eq(late_cleanups, 2);
    /* Every byte the children took from the parent's allocator is back. */
    backing_all_back(&t);
}
END_TEST

START_TEST(version)
{
    char buf[64];
    ck_assert_str_eq(cymem_version(), CYMEM_VERSION_STRING);
    snprintf(buf, sizeof buf, "%d.%d.%d", CYMEM_VERSION_MAJOR,
             CYMEM_VERSION_MINOR, CYMEM_VERSION_PATCH);
    ck_assert_str_eq(buf, CYMEM_VERSION_STRING);
    ck_assert_int_eq(CYMEM_VERSION_NUMBER,
                     (CYMEM_VERSION_MAJOR << 16) | (CYMEM_VERSION_MINOR << 8) |
                     CYMEM_VERSION_PATCH);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("lifecycle");
    TCase *tc = tcase_timed("lifecycle", 120);
    tcase_add_test(tc, bad_options);
    tcase_add_test(tc, known_flags);
    tcase_add_test(tc, cleanups_lifo_once);
    tcase_add_test(tc, children_reset_destroy);
    tcase_add_test(tc, fresh_pools_clean);
    tcase_add_test(tc, large_pools_stay_exact_and_zeroed);
    tcase_add_test(tc, reset_replays_the_same_blocks);
    tcase_add_test(tc, recycled_memory_is_zero);
    tcase_add_test(tc, callbacks_use_the_pool_torn_down);
    tcase_add_test(tc, children_made_by_cleanups_go);
    tcase_add_test(tc, version);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
