/*
 * contract-threads.c - a CYMEM_POOL_THREADSAFE pool used from four threads
 * at once: alloc, realloc, free and stats concurrently, and blocks freed or
 * resized by a thread other than the one that allocated them.  Afterwards
 * the stats and the set of live blocks match what the threads hold, and
 * every block still carries what its owner wrote (no block handed out
 * twice, none lost).  Also: a THREADSAFE pool on a custom allocator and
 * the children that inherit it, used by different threads, never call the
 * allocator at the same time, and the allocator, within one thread, may
 * use a pool that shares it.  Threads record failures; only the main
 * thread asserts, since Check's assertions are not made for other threads.
 */
#include "harness.h"
#include <pthread.h>

#define NTHREADS 4
#define SLOTS 256

struct slot {
    unsigned char *p;
    size_t size;
    uint64_t tag;               /* in the first bytes; the rest its low byte */
};

static cymem_pool *pool;
static int bad[NTHREADS];       /* the first failure each thread saw */

static cymem_pool *threadsafe_pool(void)
{
    cymem_pool_options o;
    memset(&o, 0, sizeof o);
    o.flags = CYMEM_POOL_THREADSAFE;
    return cymem_pool_new_ex(&o);
}

static void tag_block(struct slot *s, uint64_t tag)
{
    size_t head = s->size < sizeof tag ? s->size : sizeof tag;
    s->tag = tag;
    memcpy(s->p, &tag, head);
    memset(s->p + head, (int)(tag & 0xff), s->size - head);
}

/* The first @n bytes of @s hold its tag. */
static int tag_ok(const struct slot *s, size_t n)
{
    uint64_t t = 0;
    size_t head = n < sizeof t ? n : sizeof t;
    memcpy(&t, s->p, head);
    if (memcmp(&t, &s->tag, head) != 0)
        return 0;
    for (size_t i = head; i < n; i++)
        if (s->p[i] != (unsigned char)(s->tag & 0xff))
            return 0;
    return 1;
}

/* Check the pool's final state against the slots; then free them all. */
static void holdings_match(struct slot *slots, size_t nslots)
{
    size_t live = 0, blocks = 0;
    snap sn;
    snap_take(pool, &sn);
    for (size_t i = 0; i < nslots; i++) {
        struct slot *s = &slots[i];
        if (s->p == NULL)
            continue;
        live += s->size;
        blocks++;
        ck_assert(tag_ok(s, s->size));
        ck_assert_int_eq(cymem_pool_owns(pool, s->p), 1);
        ck_assert_uint_eq(cymem_pool_block_size(pool, s->p), s->size);
        const blkrec *f = snap_find(&sn, s->p);
        ck_assert_ptr_nonnull(f);
        ck_assert_uint_eq(f->size, s->size);
    }
    ck_assert_uint_eq(sn.n, blocks);
    for (size_t i = 1; i < sn.n; i++)
        ck_assert(sn.b[i].addr != sn.b[i - 1].addr);
    ck_assert_uint_eq(sn.st.live_blocks, blocks);
    ck_assert_uint_eq(sn.st.live_bytes, live);
    snap_drop(&sn);
    POOL_CHECK(pool);
    for (size_t i = 0; i < nslots; i++)
        if (slots[i].p != NULL)
            ck_assert_int_eq(cymem_pool_free(pool, slots[i].p), 0);
    cymem_stats st = stats_of(pool);
    ck_assert_uint_eq(st.live_blocks, 0);
    ck_assert_uint_eq(st.live_bytes, 0);
}

/* Run @fn on NTHREADS threads (argument: the thread's number); none may
 * have seen a failure. */
static void run_threads(void *(*fn)(void *))
{
    pthread_t t[NTHREADS];
    memset(bad, 0, sizeof bad);
    for (int i = 0; i < NTHREADS; i++)
        ck_assert_int_eq(pthread_create(&t[i], NULL, fn, (void *)(intptr_t)i), 0);
    for (int i = 0; i < NTHREADS; i++)
        ck_assert_int_eq(pthread_join(t[i], NULL), 0);
    for (int i = 0; i < NTHREADS; i++)
        ck_assert_msg(bad[i] == 0, "thread %d: failure %d", i, bad[i]);
}

/* ---- Each thread its own slots, then its neighbour's ------------------- */

static pthread_barrier_t barrier;
static struct slot own[NTHREADS][SLOTS];

static void *own_then_next(void *arg)
{
    int me = (int)(intptr_t)arg, next = (me + 1) % NTHREADS;
    uint64_t seed = 12345u + (uint64_t)me, serial = 0;
    struct slot *mine = own[me];

    /* Phase 1: each thread works on its own blocks, all at once. */
    for (int i = 0; i < 30000 && !bad[me]; i++) {
        struct slot *s = &mine[rng_below(&seed, SLOTS)];
        size_t n = 16 + rng_below(&seed, i % 7 == 0 ? 40000 : 600);
        if (s->p == NULL) {
            s->p = cymem_pool_alloc(pool, 1, n);
            if (s->p == NULL || !all_zero(s->p, n) || !aligned_to(s->p, MAX_ALIGN))
                bad[me] = 1;
            s->size = n;
        } else if (!tag_ok(s, s->size)) {
            bad[me] = 2;
        } else if (i % 3 == 0) {
            unsigned char *q = cymem_pool_realloc(pool, s->p, n);
            if (q == NULL) {
                bad[me] = 3;
                break;
            }
            s->p = q;
            if (!tag_ok(s, n < s->size ? n : s->size))
                bad[me] = 4;
            s->size = n;
        } else {
            if (cymem_pool_free(pool, s->p) != 0)
                bad[me] = 5;
            s->p = NULL;
            continue;
        }
        if (s->p != NULL)
            tag_block(s, ((uint64_t)me << 56) | ++serial);
        if (i % 512 == 0) {
            cymem_stats st;
            if (cymem_pool_stats(pool, &st) != 0 || st.live_bytes > st.used_bytes
                || st.peak_bytes < st.live_bytes)
                bad[me] = 6;
        }
    }
    pthread_barrier_wait(&barrier);

    /* Phase 2: free or resize the blocks of the next thread. */
    struct slot *theirs = own[next];
    for (int k = 0; k < SLOTS; k++) {
        struct slot *s = &theirs[k];
        if (s->p == NULL)
            continue;
        if (!tag_ok(s, s->size))
            bad[me] = 7;
        if (k % 2 == 0) {
            if (cymem_pool_free(pool, s->p) != 0)
                bad[me] = 8;
            s->p = NULL;
        } else {
            unsigned char *q = cymem_pool_realloc(pool, s->p, s->size + 100);
            if (q == NULL || !all_zero(q + s->size, 100)) {
                bad[me] = 9;
                continue;
            }
            s->p = q;
            s->size += 100;
            tag_block(s, ((uint64_t)me << 56) | ++serial);
        }
    }
    return NULL;
}

START_TEST(own_then_neighbours)
{
    pool = threadsafe_pool();
    ck_assert_ptr_nonnull(pool);
    memset(own, 0, sizeof own);
    ck_assert_int_eq(pthread_barrier_init(&barrier, NULL, NTHREADS), 0);
    run_threads(own_then_next);
    ck_assert_int_eq(pthread_barrier_destroy(&barrier), 0);
    holdings_match(&own[0][0], NTHREADS * SLOTS);
    pool_done(pool);
}
END_TEST

/* ---- All threads on shared slots, each slot behind its own mutex -------- */

static struct slot shared[SLOTS];
static pthread_mutex_t shared_mu[SLOTS];

static void *any_slot(void *arg)
{
    int me = (int)(intptr_t)arg;
    uint64_t x = (uint64_t)(me + 1) * 7919 + 1, serial = 0;
    for (int i = 0; i < 20000 && !bad[me]; i++) {
        int k = (int)rng_below(&x, SLOTS);
        uint64_t r = rng_next(&x);
        size_t n = (size_t)(r % ((r >> 44) == 0 ? 100000 : 500));
        struct slot *s = &shared[k];
        if (pthread_mutex_lock(&shared_mu[k]) != 0) {
            bad[me] = 10;
            break;
        }
        if (s->p == NULL) {
            s->p = cymem_pool_alloc(pool, 1, n);
            if (s->p == NULL || !all_zero(s->p, n) || !aligned_to(s->p, MAX_ALIGN))
                bad[me] = 11;
            s->size = n;
        } else if (!tag_ok(s, s->size)) {
            bad[me] = 12;
        } else if ((r >> 7) & 1) {
            if (cymem_pool_free(pool, s->p) != 0)
                bad[me] = 13;
            s->p = NULL;
        } else {
            unsigned char *q = cymem_pool_realloc(pool, s->p, n);
            if (q == NULL || !tag_ok(&(struct slot){ q, 0, s->tag },
                                     n < s->size ? n : s->size))
                bad[me] = 14;
            if (q != NULL) {
                s->p = q;
                s->size = n;
            }
        }
        if (s->p != NULL)
            tag_block(s, ((uint64_t)me << 56) | ++serial);
        if (pthread_mutex_unlock(&shared_mu[k]) != 0)
            bad[me] = 16;
        if (i % 64 == 0) {
            cymem_stats st;
            if (cymem_pool_stats(pool, &st) != 0 || st.used_bytes < st.live_bytes
                || st.peak_bytes < st.live_bytes)
                bad[me] = 15;
        }
    }
    return NULL;
}

START_TEST(shared_slots)
{
    pool = threadsafe_pool();
    ck_assert_ptr_nonnull(pool);
    memset(shared, 0, sizeof shared);
    for (int i = 0; i < SLOTS; i++)
        ck_assert_int_eq(pthread_mutex_init(&shared_mu[i], NULL), 0);
    run_threads(any_slot);
    for (int i = 0; i < SLOTS; i++)
        ck_assert_int_eq(pthread_mutex_destroy(&shared_mu[i]), 0);
    holdings_match(shared, SLOTS);
    pool_done(pool);
}
END_TEST

/* A custom allocator need not be thread-safe: a THREADSAFE pool's children
 * that use its allocator, each used by a thread of its own, never call it
 * at the same time as the pool or each other.  The allocator counts the
 * calls under way and waits a little inside each, so that an overlap shows. */
static int in_alloc, overlaps;

static void enter_alloc(void)
{
    if (__atomic_add_fetch(&in_alloc, 1, __ATOMIC_ACQ_REL) != 1)
        __atomic_store_n(&overlaps, 1, __ATOMIC_RELAXED);
    for (volatile int i = 0; i < 5000; i++)
        ;
    __atomic_sub_fetch(&in_alloc, 1, __ATOMIC_ACQ_REL);
}

static void *serial_malloc(size_t size, void *ctx)
{
    (void)ctx;
    enter_alloc();
    return malloc(size);
}

static void serial_free(void *ptr, size_t size, void *ctx)
{
    (void)size;
    (void)ctx;
    enter_alloc();
    free(ptr);
}

static void *own_child(void *arg)
{
    int id = (int)(intptr_t)arg;
    /* Thread 0 uses the pool itself, the others a child each, and a
     * grandchild. */
    cymem_pool *c = id == 0 ? pool : child_of(pool);
    cymem_pool *g = c != NULL ? child_of(c) : NULL;
    if (g == NULL) {
        bad[id] = 1;
        return NULL;
    }
    for (int i = 0; i < 2000; i++) {
        void *p = cymem_pool_alloc(i & 1 ? g : c, 1, 8192 + (size_t)i);
        if (p == NULL || cymem_pool_free(i & 1 ? g : c, p) != 0)
            bad[id] = 2;
    }
    if (id != 0)
        cymem_pool_destroy(c);
    else
        cymem_pool_destroy(g);
    return NULL;
}

START_TEST(children_share_the_allocator_lock)
{
    cymem_allocator a = { serial_malloc, serial_free, NULL };
    cymem_pool_options o;
    memset(&o, 0, sizeof o);
    o.flags = CYMEM_POOL_THREADSAFE;
    o.allocator = &a;
    pool = cymem_pool_new_ex(&o);
    ck_assert_ptr_nonnull(pool);
    run_threads(own_child);
    ck_assert_msg(!overlaps, "the allocator was called by two threads at once");
    pool_done(pool);
}
END_TEST

/* An allocator that, once told of a pool, takes a large block of it at
 * each call to its malloc (not for that pool's own calls). */
static cymem_pool *nested;
static int nested_calls, nested_failed;

static void *nesting_malloc(size_t size, void *ctx)
{
    (void)ctx;
    cymem_pool *p = nested;
    if (p != NULL) {
        nested = NULL;
        if (cymem_pool_alloc(p, 1, 100000) == NULL)
            nested_failed = 1;
        nested_calls++;
        nested = p;
    }
    return malloc(size);
}

static void nesting_free(void *ptr, size_t size, void *ctx)
{
    (void)size;
    (void)ctx;
    free(ptr);
}

START_TEST(allocator_may_use_a_pool_that_shares_it)
{
    /* Before its holder could take the mutex the pools share again, the
     * allocator's call into the child waited for it for ever. */
    cymem_allocator a = { nesting_malloc, nesting_free, NULL };
    cymem_pool_options o;
    memset(&o, 0, sizeof o);
    o.allocator = &a;
    cymem_pool *parent = cymem_pool_new_ex(&o);
    ck_assert_ptr_nonnull(parent);
    cymem_pool *child = child_of(parent);
    cymem_pool *grandchild = child_of(child);
    ck_assert_ptr_nonnull(grandchild);
    /* A block of the parent (its memory, and maybe a larger direct map)
     * makes the allocator take a block of the child at each call. */
    nested = child;
    ck_assert_ptr_nonnull(cymem_pool_alloc(parent, 1, 200000));
    int into_child = nested_calls;
    nested = parent;
    ck_assert_ptr_nonnull(cymem_pool_alloc(grandchild, 1, 200000));
    nested = NULL;
    ck_assert_int_ge(into_child, 1);
    ck_assert_int_gt(nested_calls, into_child);
    ck_assert_int_eq(nested_failed, 0);
    ck_assert_uint_eq(stats_of(child).live_blocks, (size_t)into_child);
    ck_assert_uint_eq(stats_of(parent).live_blocks,
                      1 + (size_t)(nested_calls - into_child));
    cymem_pool_destroy(parent);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("threads");
    TCase *tc = tcase_timed("threads", 300);
    tcase_add_test(tc, own_then_neighbours);
    tcase_add_test(tc, shared_slots);
    tcase_add_test(tc, children_share_the_allocator_lock);
    suite_add_tcase(s, tc);
    /* A deadlock fails it in seconds. */
    TCase *nest = tcase_timed("nesting", 20);
    tcase_add_test(nest, allocator_may_use_a_pool_that_shares_it);
    suite_add_tcase(s, nest);
    return run_suite(s);
}
