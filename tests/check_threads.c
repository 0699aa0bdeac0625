/*
 * check_threads.c - a CYMEM_POOL_THREADSAFE pool shared by four threads:
 * concurrent alloc, realloc, free and stats, then each thread frees and
 * resizes blocks another thread allocated.  Afterwards the stats and the
 * set of live blocks must match what the threads say they hold, and every
 * block must still carry the tag its owner wrote (no block handed out
 * twice, none lost).
 */
#include <pthread.h>
#include "api-common.h"

#define NTHREADS 4
#define SLOTS 256

struct slot {
    unsigned char *p;
    size_t size;
    uint64_t tag;
};

static cymem_pool *pool;
static pthread_barrier_t barrier;
static struct slot slots[NTHREADS][SLOTS];
static int bad_tag[NTHREADS];

static void tag_block(struct slot *s, uint64_t tag)
{
    s->tag = tag;
    memcpy(s->p, &tag, sizeof tag);
    memset(s->p + sizeof tag, (int)(tag & 0xff), s->size - sizeof tag);
}

static int tag_ok(const struct slot *s)
{
    uint64_t t;
    memcpy(&t, s->p, sizeof t);
    if (t != s->tag)
        return 0;
    for (size_t i = sizeof t; i < s->size; i++)
        if (s->p[i] != (unsigned char)(s->tag & 0xff))
            return 0;
    return 1;
}

static void *worker(void *arg)
{
    int me = (int)(intptr_t)arg, next = (me + 1) % NTHREADS;
    uint64_t seed = 12345u + (uint64_t)me, serial = 0;
    struct slot *mine = slots[me];

    /* Phase 1: each thread works on its own blocks, all at once. */
    for (int i = 0; i < 30000; i++) {
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        struct slot *s = &mine[(seed >> 33) % SLOTS];
        size_t n = 16 + (size_t)(seed >> 40) % (i % 7 == 0 ? 40000 : 600);
        if (s->p == NULL) {
            s->p = cymem_pool_alloc(pool, 1, n);
            if (s->p == NULL || !all_zero(s->p, n))
                bad_tag[me] = 1;
            s->size = n;
        } else if (!tag_ok(s)) {
            bad_tag[me] = 1;
        } else if (i % 3 == 0) {
            unsigned char *q = cymem_pool_realloc(pool, s->p, n);
            if (q == NULL)
                bad_tag[me] = 1;
            s->p = q;
            s->size = n < s->size ? n : s->size;  /* what is still tagged */
            if (q != NULL && !tag_ok(s))
                bad_tag[me] = 1;
            s->size = n;
        } else {
            if (cymem_pool_free(pool, s->p) != 0)
                bad_tag[me] = 1;
            s->p = NULL;
            continue;
        }
        if (s->p != NULL)
            tag_block(s, ((uint64_t)me << 56) | ++serial);
        if (i % 512 == 0) {
            cymem_stats st;
            if (cymem_pool_stats(pool, &st) != 0 || st.live_bytes > st.used_bytes)
                bad_tag[me] = 1;
        }
    }
    pthread_barrier_wait(&barrier);

    /* Phase 2: free or resize the blocks of the next thread. */
    struct slot *theirs = slots[next];
    for (int k = 0; k < SLOTS; k++) {
        struct slot *s = &theirs[k];
        if (s->p == NULL)
            continue;
        if (!tag_ok(s))
            bad_tag[me] = 1;
        if (k % 2 == 0) {
            if (cymem_pool_free(pool, s->p) != 0)
                bad_tag[me] = 1;
            s->p = NULL;
        } else {
            unsigned char *q = cymem_pool_realloc(pool, s->p, s->size + 100);
            if (q == NULL || !all_zero(q + s->size, 100))
                bad_tag[me] = 1;
            s->p = q;
            s->size += 100;
            if (q != NULL)
                tag_block(s, ((uint64_t)me << 56) | ++serial);
        }
    }
    return NULL;
}

struct seen {
    size_t n;
    void *p[NTHREADS * SLOTS];
    size_t size[NTHREADS * SLOTS];
};

static int collect(void *p, size_t size, void *ctx)
{
    struct seen *s = ctx;
    if (s->n < NTHREADS * SLOTS) {
        s->p[s->n] = p;
        s->size[s->n] = size;
    }
    s->n++;
    return 0;
}

START_TEST(four_threads_share_a_pool)
{
    cymem_pool_options o = { NULL, NULL, CYMEM_POOL_THREADSAFE, 0 };
    pthread_t t[NTHREADS];
    pool = cymem_pool_new_ex(&o);
    ck_assert_ptr_nonnull(pool);
    memset(slots, 0, sizeof slots);
    pthread_barrier_init(&barrier, NULL, NTHREADS);
    for (int i = 0; i < NTHREADS; i++)
        ck_assert_int_eq(pthread_create(&t[i], NULL, worker, (void *)(intptr_t)i), 0);
    for (int i = 0; i < NTHREADS; i++)
        pthread_join(t[i], NULL);
    pthread_barrier_destroy(&barrier);
    for (int i = 0; i < NTHREADS; i++)
        ck_assert_msg(bad_tag[i] == 0, "thread %d saw a failed call or a clobbered block", i);

    /* What the threads hold is exactly what the pool says is live. */
    size_t live = 0, blocks = 0;
    static struct seen seen;
    memset(&seen, 0, sizeof seen);
    ck_assert_int_eq(cymem_pool_foreach(pool, collect, &seen), 0);
    for (int i = 0; i < NTHREADS; i++)
        for (int k = 0; k < SLOTS; k++) {
            struct slot *s = &slots[i][k];
            if (s->p == NULL)
                continue;
            live += s->size;
            blocks++;
            ck_assert(tag_ok(s));
            ck_assert_int_eq(cymem_pool_owns(pool, s->p), 1);
            ck_assert_uint_eq(cymem_pool_block_size(pool, s->p), s->size);
            size_t hits = 0;
            for (size_t j = 0; j < seen.n; j++)
                if (seen.p[j] == s->p) {
                    hits++;
                    ck_assert_uint_eq(seen.size[j], s->size);
                }
            ck_assert_uint_eq(hits, 1);
        }
    ck_assert_uint_eq(seen.n, blocks);
    cymem_stats st;
    ck_assert_int_eq(cymem_pool_stats(pool, &st), 0);
    ck_assert_uint_eq(st.live_blocks, blocks);
    ck_assert_uint_eq(st.live_bytes, live);
    cymem_pool_destroy(pool);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("threads");
    TCase *t = tcase_create("threadsafe");
    tcase_set_timeout(t, 120);
    tcase_add_test(t, four_threads_share_a_pool);
    suite_add_tcase(s, t);
    return run_suite(s);
}
