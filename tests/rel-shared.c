/*
 * rel-shared.c - a shared pool (CYMEM_POOL_THREADSAFE, system memory),
 * whose threads allocate from heaps of their own: blocks cross between
 * threads, two threads race to free one block, threads exit while their
 * blocks live on, the pool is reset while threads use it, and reset and
 * destroyed after they joined; a thread that only frees, looks up and
 * resizes in place gets no heap; a move of another thread's block that a
 * reset overtakes leaves no block behind; the child of a fork() uses the
 * pool that another thread of the parent was using.
 * After each part the engine's invariant checker walks the pool and its
 * heaps, and the page map holds exactly the pool's slots.  CI builds it
 * with -fsanitize=thread too.
 *
 * "rel-shared watch", "rel-shared watch-reset" and "rel-shared
 * watch-child" are the debug mode's part: a destroy while another thread
 * is inside a call on the pool (a walk, a reset, the making of a child)
 * must abort the program; "rel-shared watch-fork" is its
 * converse: the child of a fork() from a cleanup, which finishes the
 * reset the cleanup ran in, may destroy the pool.
 */
#include "internal.h"
#include "invariants.h"
#include "options.h"
#include "pagemap.h"
#include "shared.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define THREADS 4

static int errors;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;

#define EXPECT(cond, ...)                                                    \
    do {                                                                     \
        if (!(cond)) {                                                       \
            pthread_mutex_lock(&mu);                                         \
            if (errors++ < 20) {                                             \
                fprintf(stderr, "rel-shared:%d: ", __LINE__);                \
                fprintf(stderr, __VA_ARGS__);                                \
                fputc('\n', stderr);                                         \
            }                                                                \
            pthread_mutex_unlock(&mu);                                       \
        }                                                                    \
    } while (0)

static cymem_pool *shared_pool(void)
{
    cymem_pool_options o = { NULL, NULL, CYMEM_POOL_THREADSAFE, 0 };
    cymem_pool *p = cymem_pool_new_ex(&o);
    if (p == NULL || !pool_shared(p)) {
        fprintf(stderr, "rel-shared: no shared pool\n");
        exit(1);
    }
    return p;
}

/* The pool and its heaps keep every invariant, and the page map names
 * exactly their chunks (no thread may be in a call on the pool). */
static void check(cymem_pool *p, const char *when)
{
    EXPECT(cymem__pool_check(p) == 0, "%s: the invariant check failed", when);
    EXPECT(cymem__page_census(p, NULL) == cymem__shared_slots(p),
           "%s: the page map holds %zu slots of the pool, its heaps %zu", when,
           cymem__page_census(p, NULL), cymem__shared_slots(p));
}

static void run_threads(unsigned n, void *(*fn)(void *))
{
    pthread_t t[THREADS * 2];
    for (unsigned i = 0; i < n; i++)
        pthread_create(&t[i], NULL, fn, (void *)(uintptr_t)i);
    for (unsigned i = 0; i < n; i++)
        pthread_join(t[i], NULL);
}

static uint64_t next(uint64_t *seed)
{
    *seed = *seed * 6364136223846793005ull + 1442695040888963407ull;
    return *seed >> 33;
}

/* ---- Heaps: each thread its own ------------------------------------------ */

static cymem_pool *pool;
static void *first_block[THREADS];

static void *take_one(void *arg)
{
    unsigned id = (unsigned)(uintptr_t)arg;
    first_block[id] = cymem_pool_alloc(pool, 1, 40);
    EXPECT(first_block[id] != NULL, "thread %u: no block", id);
    return NULL;
}

static void test_heaps(void)
{
    pool = shared_pool();
    cymem_stats st;
    cymem_pool_stats(pool, &st);
    EXPECT(pool->nheaps == 0 && st.live_blocks == 0, "a new pool has heaps or blocks");
    run_threads(THREADS, take_one);
    /* Each thread got a heap of its own: THREADS <= heapcap always. */
    EXPECT(pool->nheaps == THREADS, "%u threads made %u heaps", THREADS, pool->nheaps);
    for (unsigned i = 0; i < THREADS; i++) {
        cymem__slab *s = cymem__page_find_shared(pool, first_block[i]);
        EXPECT(s != NULL && s->home != pool, "thread %u's block is not a heap's", i);
        for (unsigned j = 0; j < i && s != NULL; j++) {
            cymem__slab *o = cymem__page_find_shared(pool, first_block[j]);
            EXPECT(o != NULL && o->home != s->home, "threads %u and %u share a heap", j, i);
        }
        EXPECT(cymem_pool_owns(pool, first_block[i]), "block %u not owned", i);
    }
    cymem_pool_stats(pool, &st);
    EXPECT(st.live_blocks == THREADS && st.live_bytes == THREADS * 40,
           "stats: %zu blocks of %zu bytes", st.live_blocks, st.live_bytes);
    check(pool, "heaps");
    /* A block of another pool, shared or not, is foreign. */
    cymem_pool *other = shared_pool(), *plain = cymem_pool_new();
    void *x = cymem_pool_alloc(other, 1, 40), *y = cymem_pool_alloc(plain, 1, 40);
    errno = 0;
    EXPECT(cymem_pool_free(pool, x) == -1 && errno == EINVAL, "another shared pool's block");
    EXPECT(cymem_pool_free(pool, y) == -1 && errno == EINVAL, "a plain pool's block");
    EXPECT(cymem_pool_free(plain, x) == -1 && errno == EINVAL, "a shared pool's block");
    EXPECT(cymem_pool_free(pool, (char *)first_block[0] + 16) == -1, "an interior pointer");
    EXPECT(!cymem_pool_owns(pool, x) && !cymem_pool_owns(other, first_block[0]),
           "owns() crosses pools");
    cymem_pool_destroy(other);
    cymem_pool_destroy(plain);
    check(pool, "heaps, after the foreign frees");
    cymem_pool_destroy(pool);
    EXPECT(cymem__page_census(pool, NULL) == 0, "the destroyed pool left slots");
}

/* ---- Blocks that cross threads ------------------------------------------- */

#define SLOTS 256
#define ROUNDS 30000

/* Blocks thread t hands to thread t+1, which frees or resizes them. */
static struct mailbox {
    pthread_mutex_t mu;
    unsigned char *p[SLOTS];
    size_t n[SLOTS];
    unsigned count;
} box[THREADS];

static void verify(const unsigned char *p, size_t n, const char *what)
{
    unsigned char c = p[0];
    EXPECT(c != 0, "%s: a block lost its mark", what);
    for (size_t i = 0; i < n; i++)
        if (p[i] != c) {
            EXPECT(0, "%s: byte %zu of %zu overwritten", what, i, n);
            return;
        }
}

static size_t size_of(uint64_t r)
{
    switch (r % 16) {
    case 0:
        return 5000 + r % 70000;          /* direct */
    case 1:
        return 0;
    default:
        return 1 + (r >> 4) % 700;
    }
}

static void *cross(void *arg)
{
    unsigned id = (unsigned)(uintptr_t)arg;
    uint64_t seed = 7 + id;
    unsigned char *mine[SLOTS] = { 0 };
    size_t len[SLOTS] = { 0 };
    for (int r = 0; r < ROUNDS; r++) {
        unsigned k = (unsigned)next(&seed) % SLOTS;
        size_t n = size_of(next(&seed));
        unsigned char mark = (unsigned char)(1 + id + 8 * (r & 15));
        if (mine[k] == NULL) {
            unsigned char *p = r & 8 ? cymem_pool_alloc_aligned(pool, 1, n ? n : 1, 64)
                                     : cymem_pool_alloc(pool, 1, n);
            EXPECT(p != NULL, "alloc of %zu bytes failed", n);
            if (p == NULL)
                continue;
            for (size_t i = 0; i < n; i++)
                if (p[i] != 0) {
                    EXPECT(0, "a block of %zu bytes is not zero-filled at %zu", n, i);
                    break;
                }
            EXPECT(!(r & 8) || ((uintptr_t)p & 63) == 0, "an aligned block is not");
            if (n == 0)
                n = 1, p = cymem_pool_realloc(pool, p, 1);
            memset(p, mark, n);
            mine[k] = p;
            len[k] = n;
            continue;
        }
        verify(mine[k], len[k], "own block");
        struct mailbox *b = &box[(id + 1) % THREADS];
        pthread_mutex_lock(&b->mu);
        if (b->count < SLOTS) {
            b->p[b->count] = mine[k];
            b->n[b->count++] = len[k];
            mine[k] = NULL;
        }
        pthread_mutex_unlock(&b->mu);
        if (mine[k] != NULL) {
            size_t got = 0;
            EXPECT(cymem_pool_free_size(pool, mine[k], &got) == 0 && got == len[k],
                   "free of an own block: %zu bytes, not %zu", got, len[k]);
            mine[k] = NULL;
        }
        /* What the previous thread passed on: half freed here, a quarter
         * resized here and kept, a quarter checked by lookups first. */
        struct mailbox *in = &box[id];
        pthread_mutex_lock(&in->mu);
        while (in->count > 0) {
            unsigned i = --in->count;
            unsigned char *p = in->p[i];
            size_t pn = in->n[i];
            verify(p, pn, "passed block");
            uint64_t how = next(&seed) % 4;
            if (how == 0) {
                unsigned j = (unsigned)next(&seed) % SLOTS;
                if (mine[j] == NULL) {
                    size_t nn = 1 + next(&seed) % 9000;
                    unsigned char *q = cymem_pool_realloc(pool, p, nn);
                    EXPECT(q != NULL, "realloc of a passed block failed");
                    if (q != NULL) {
                        verify(q, pn < nn ? pn : nn, "realloc'd block");
                        for (size_t x = pn; x < nn; x++)
                            if (q[x] != 0) {
                                EXPECT(0, "realloc's new bytes are not zero");
                                break;
                            }
                        memset(q, mark, nn);
                        mine[j] = q;
                        len[j] = nn;
                        continue;
                    }
                }
            } else if (how == 1) {
                void *blk = NULL;
                size_t bn = 0;
                EXPECT(cymem_pool_owns(pool, p) && cymem_pool_block_size(pool, p) == pn,
                       "lookups of a passed block");
                EXPECT(cymem_pool_find(pool, p + pn / 2, &blk, &bn) == 0 && blk == p &&
                       bn == pn, "find() inside a passed block");
            }
            EXPECT(cymem_pool_free(pool, p) == 0, "free of a passed block failed");
        }
        pthread_mutex_unlock(&in->mu);
    }
    for (unsigned k = 0; k < SLOTS; k++)
        if (mine[k] != NULL)
            EXPECT(cymem_pool_free(pool, mine[k]) == 0, "final free failed");
    return NULL;
}

static int count_block(void *ptr, size_t size, void *ctx)
{
    (void)ptr;
    size_t *c = ctx;
    c[0]++;
    c[1] += size;
    return 0;
}

static void test_cross(void)
{
    pool = shared_pool();
    for (unsigned i = 0; i < THREADS; i++)
        pthread_mutex_init(&box[i].mu, NULL);
    run_threads(THREADS, cross);
    /* Blocks left in the mailboxes: counted by stats and foreach alike. */
    size_t blocks = 0, bytes = 0, seen[2] = { 0, 0 };
    for (unsigned i = 0; i < THREADS; i++)
        for (unsigned j = 0; j < box[i].count; j++) {
            blocks++;
            bytes += box[i].n[j];
        }
    cymem_stats st;
    cymem_pool_stats(pool, &st);
    cymem_pool_foreach(pool, count_block, seen);
    EXPECT(st.live_blocks == blocks && st.live_bytes == bytes && seen[0] == blocks &&
           seen[1] == bytes, "left %zu blocks of %zu bytes; stats %zu of %zu, foreach %zu of %zu",
           blocks, bytes, st.live_blocks, st.live_bytes, seen[0], seen[1]);
    check(pool, "cross");
    for (unsigned i = 0; i < THREADS; i++)
        while (box[i].count > 0)
            EXPECT(cymem_pool_free(pool, box[i].p[--box[i].count]) == 0, "leftover free");
    cymem_pool_stats(pool, &st);
    EXPECT(st.live_blocks == 0 && st.live_bytes == 0, "blocks lost or duplicated");
    check(pool, "cross, emptied");
    cymem_pool_destroy(pool);
}

/* ---- Two threads free one block at once ---------------------------------- */

#define RACES 4000

static pthread_barrier_t gate;
static void *target[RACES];
static int won[RACES][2];

static void *racer(void *arg)
{
    unsigned id = (unsigned)(uintptr_t)arg;
    for (int i = 0; i < RACES; i++) {
        /* Thread 0 made the block (its heap, for i even) or thread 1 did
         * (odd): each race has the owner against another thread. */
        if ((unsigned)(i & 1) == id)
            target[i] = cymem_pool_alloc(pool, 1, 8 + (size_t)i % 300);
        pthread_barrier_wait(&gate);
        errno = 0;
        int rc = cymem_pool_free(pool, target[i]);
        won[i][id] = rc == 0 ? 1 : rc == -1 && errno == EINVAL ? 0 : 2;
        pthread_barrier_wait(&gate);
    }
    return NULL;
}

static void test_race(void)
{
    pool = shared_pool();
    pthread_barrier_init(&gate, NULL, 2);
    run_threads(2, racer);
    int bad = 0;
    for (int i = 0; i < RACES; i++)
        bad += won[i][0] + won[i][1] != 1;
    EXPECT(bad == 0, "%d of %d races had no single winner", bad, RACES);
    cymem_stats st;
    cymem_pool_stats(pool, &st);
    EXPECT(st.live_blocks == 0 && st.live_bytes == 0, "races left %zu blocks", st.live_blocks);
    check(pool, "race");
    pthread_barrier_destroy(&gate);
    cymem_pool_destroy(pool);
}

/* ---- Threads that exit; reset and destroy after they joined -------------- */

#define KEPT 500

static unsigned char *kept[THREADS * 2][KEPT];

static void *leave_blocks(void *arg)
{
    unsigned id = (unsigned)(uintptr_t)arg;
    for (unsigned k = 0; k < KEPT; k++) {
        size_t n = 1 + (k * 37 + id) % 2000;
        kept[id][k] = cymem_pool_alloc(pool, 1, n);
        EXPECT(kept[id][k] != NULL, "alloc failed");
        if (kept[id][k])
            memset(kept[id][k], (int)(1 + id), n);
    }
    return NULL;
}

static void *free_others(void *arg)
{
    unsigned id = (unsigned)(uintptr_t)arg;
    /* Thread id frees the blocks of the exited thread id. */
    for (unsigned k = 0; k < KEPT; k++) {
        size_t n = 1 + (k * 37 + id) % 2000;
        verify(kept[id][k], n, "an exited thread's block");
        EXPECT(cymem_pool_free(pool, kept[id][k]) == 0, "free failed");
    }
    return NULL;
}

static void test_exit(void)
{
    pool = shared_pool();
    run_threads(THREADS, leave_blocks);
    cymem_stats st, again;
    cymem_pool_stats(pool, &st);
    EXPECT(st.live_blocks == THREADS * KEPT, "%zu blocks live after the threads exited",
           st.live_blocks);
    check(pool, "exit");
    run_threads(THREADS, free_others);
    cymem_pool_stats(pool, &st);
    EXPECT(st.live_blocks == 0 && st.live_bytes == 0, "not empty after the frees");
    /* New threads, a reset after they joined, the same again: the heaps
     * keep their memory, so the pool holds no more the second time. */
    run_threads(THREADS, leave_blocks);
    cymem_pool_reset(pool);
    cymem_pool_stats(pool, &st);
    EXPECT(st.live_blocks == 0 && st.live_bytes == 0, "a reset left blocks");
    check(pool, "reset");
    run_threads(THREADS, leave_blocks);
    cymem_pool_reset(pool);
    cymem_pool_stats(pool, &again);
    EXPECT(again.reserved_bytes <= st.reserved_bytes,
           "the second round grew the pool: %zu bytes, then %zu", st.reserved_bytes,
           again.reserved_bytes);
    check(pool, "second reset");
    /* Cleanups and children of a shared pool. */
    cymem_pool_options o = { NULL, pool, CYMEM_POOL_THREADSAFE, 0 };
    cymem_pool *child = cymem_pool_new_ex(&o);
    EXPECT(child != NULL && pool_shared(child), "a shared child");
    run_threads(THREADS, leave_blocks);
    cymem_pool_destroy(pool);
    EXPECT(cymem__page_census(pool, NULL) == 0 && cymem__page_census(child, NULL) == 0,
           "destroy left slots in the page map");
}

/* ---- A reset while other threads allocate and free --------------------- */

static volatile int stop;

static void *churn(void *arg)
{
    uint64_t seed = 31 + (uintptr_t)arg;
    unsigned char *mine[64] = { 0 };
    while (!__atomic_load_n(&stop, __ATOMIC_ACQUIRE)) {
        unsigned k = (unsigned)next(&seed) % 64;
        if (mine[k] == NULL) {
            /* Not written: a reset may take it at any moment. */
            mine[k] = cymem_pool_alloc(pool, 1, size_of(next(&seed)));
            EXPECT(mine[k] != NULL, "alloc during resets failed");
        } else if (next(&seed) % 4 == 0) {
            /* The block may have gone with a reset: either answer is
             * right, and neither may crash.  (A block moved is kept: the
             * threads hold 64 blocks each at most between resets.) */
            mine[k] = cymem_pool_realloc(pool, mine[k], size_of(next(&seed)));
        } else {
            (void)cymem_pool_free(pool, mine[k]);
            mine[k] = NULL;
        }
    }
    return NULL;
}

/* Make a shared pool and reset it 40 times, @pause_us apart, while
 * THREADS threads run @fn on it; they stop and are joined after. */
static void resets_under(void *(*fn)(void *), useconds_t pause_us)
{
    pthread_t t[THREADS];
    pool = shared_pool();
    stop = 0;
    for (unsigned i = 0; i < THREADS; i++)
        pthread_create(&t[i], NULL, fn, (void *)(uintptr_t)i);
    /* (Each reset waits for the processor behind the busy threads.) */
    for (int r = 0; r < 40; r++) {
        cymem_pool_reset(pool);
        usleep(pause_us);
    }
    __atomic_store_n(&stop, 1, __ATOMIC_RELEASE);
    for (unsigned i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
}

static void test_reset_live(void)
{
    resets_under(churn, 200);
    check(pool, "resets under way");
    cymem_pool_reset(pool);
    cymem_stats st;
    cymem_pool_stats(pool, &st);
    EXPECT(st.live_blocks == 0 && st.live_bytes == 0, "a last reset left blocks");
    check(pool, "resets, then a last one");
    cymem_pool_destroy(pool);
}

/* ---- Heaps that grow side by side; one thread over many pools --------- */

/* Each thread's heap makes new chunks while the others do, in granules
 * next to each other, and looks its blocks up meanwhile (block_size, and
 * the free of a large block, which a heap looks for under the shared
 * pool's key): ThreadSanitizer checks the page map's ordering here. */
static void *grow(void *arg)
{
    unsigned id = (unsigned)(uintptr_t)arg;
    uint64_t seed = 11 + id;
    size_t total = 0;
    while (total < ((size_t)600 << 10)) {
        size_t n = 2000 + next(&seed) % 2000;
        char *p = cymem_pool_alloc(pool, 1, n);
        EXPECT(p != NULL, "alloc while heaps grow");
        if (p == NULL)
            break;
        total += n;
        EXPECT(cymem_pool_block_size(pool, p) == n, "block_size while heaps grow");
        if (next(&seed) % 8 == 0) {
            void *q = cymem_pool_alloc(pool, 1, 200000);
            EXPECT(q != NULL && cymem_pool_free(pool, q) == 0, "a large block while heaps grow");
        }
    }
    return NULL;
}

static void test_grow(void)
{
    for (int r = 0; r < 5; r++) {
        pool = shared_pool();
        run_threads(THREADS, grow);
        check(pool, "heaps grown side by side");
        cymem_pool_destroy(pool);
    }
}

/* A thread that uses more pools than its cache holds keeps one heap in
 * each: the peak of one thread's use stays exact. */
static void test_many_pools(void)
{
    enum { NP = 7 };
    cymem_pool *p[NP];
    for (int i = 0; i < NP; i++)
        p[i] = shared_pool();
    for (int r = 0; r < 20; r++)
        for (int i = 0; i < NP; i++) {
            void *b = cymem_pool_alloc(p[i], 1, 100000);
            void *c = cymem_pool_alloc(p[i], 1, 100);
            EXPECT(b != NULL && c != NULL && cymem_pool_free(p[i], b) == 0 &&
                   cymem_pool_free(p[i], c) == 0, "alloc and free over many pools");
        }
    for (int i = 0; i < NP; i++) {
        cymem_stats st;
        cymem_pool_stats(p[i], &st);
        EXPECT(p[i]->nheaps == 1 && st.peak_bytes == 100100,
               "one thread over %d pools: %u heaps, peak %zu (not 100100)", NP,
               p[i]->nheaps, st.peak_bytes);
        check(p[i], "many pools");
        cymem_pool_destroy(p[i]);
    }
}

/* ---- A thread that frees, looks up and resizes in place -------------- */

/* Blocks of the main thread's heap, of each engine: an arena block, a
 * slab block (after the heap's first MiB), a direct one. */
#define FILLER 1100
static void *others[3];
static size_t others_size[3] = { 200, 1000, 20000 };

/* Another thread shrinks each block in place (same units, same class,
 * the direct block's backing half used at least), looks them up and
 * frees one: it allocates nothing, and gets no heap. */
static void *resize_in_place(void *arg)
{
    (void)arg;
    cymem_stats st;
    for (int i = 0; i < 3; i++) {
        size_t n = others_size[i] - 4;
        EXPECT(cymem_pool_realloc(pool, others[i], n) == others[i],
               "block %d did not shrink in place", i);
        EXPECT(cymem_pool_owns(pool, others[i]) && cymem_pool_block_size(pool, others[i]) == n &&
               cymem_pool_find(pool, (char *)others[i] + n - 1, NULL, NULL) == 0,
               "block %d: the lookups", i);
    }
    EXPECT(cymem_pool_free(pool, others[1]) == 0, "the free");
    EXPECT(cymem_pool_stats(pool, &st) == 0 && st.live_blocks == FILLER + 2, "stats");
    return NULL;
}

static void test_no_heap_for_resizes(void)
{
    pool = shared_pool();
    /* The arena block, then a MiB of arena, so that the next small
     * block is a slab's. */
    others[0] = cymem_pool_alloc(pool, 1, others_size[0]);
    for (int i = 0; i < FILLER; i++)
        EXPECT(cymem_pool_alloc(pool, 1, 1000) != NULL, "alloc failed");
    for (int i = 1; i < 3; i++)
        others[i] = cymem_pool_alloc(pool, 1, others_size[i]);
    cymem__slab *a = cymem__page_find_shared(pool, others[0]);
    cymem__slab *s = cymem__page_find_shared(pool, others[1]);
    EXPECT(a != NULL && a->cls == CYMEM__ARENA_CLS && s != NULL && s->cls != CYMEM__ARENA_CLS &&
           cymem__page_find_shared(pool, others[2]) == NULL,
           "the blocks are not of the three engines");
    cymem_stats before, after;
    cymem_pool_stats(pool, &before);
    run_threads(1, resize_in_place);
    cymem_pool_stats(pool, &after);
    EXPECT(pool->nheaps == 1 && after.reserved_bytes == before.reserved_bytes &&
           after.chunk_count == before.chunk_count,
           "a thread that allocated nothing got a heap: %u heaps, %zu bytes held, then %zu",
           pool->nheaps, before.reserved_bytes, after.reserved_bytes);
    check(pool, "resizes in place");
    cymem_pool_destroy(pool);
}

/* ---- realloc of other threads' blocks while the pool is reset ----------- */

static unsigned char *volatile handed[THREADS];

/* Hand a block on, take the previous thread's and move it to this
 * thread's heap (large, so that a reset unmaps it).  Either answer is
 * right when a reset may come between; the moved block goes at once, and
 * so does the old one if the move failed (if it is still there). */
static void hand_and_move(unsigned id, uint64_t *seed)
{
    void *mine = cymem_pool_alloc(pool, 1, 1 + next(seed) % 300);
    void *theirs = __atomic_exchange_n(&handed[(id + THREADS - 1) % THREADS], NULL,
                                       __ATOMIC_ACQ_REL);
    void *untaken = __atomic_exchange_n(&handed[id], mine, __ATOMIC_ACQ_REL);
    if (untaken != NULL)
        (void)cymem_pool_free(pool, untaken);
    if (theirs != NULL) {
        void *q = cymem_pool_realloc(pool, theirs, 100000 + next(seed) % 300000);
        (void)cymem_pool_free(pool, q != NULL ? q : theirs);
    }
}

static void *realloc_under_reset(void *arg)
{
    unsigned id = (unsigned)(uintptr_t)arg;
    uint64_t seed = 5 + id;
    while (!__atomic_load_n(&stop, __ATOMIC_ACQUIRE))
        hand_and_move(id, &seed);
    return NULL;
}

static void test_realloc_reset(void)
{
    resets_under(realloc_under_reset, 100);
    check(pool, "realloc under resets");
    cymem_pool_destroy(pool);
}

/* A move that a reset overtakes leaves no block behind: in each round the
 * threads hand blocks on and move them, as above, while one reset comes
 * at a random moment; then, every thread at rest, the blocks they were
 * handed and have not taken are freed (gone with the reset or not), and
 * the pool must have no live block, as no thread holds one. */
#define MOVE_ROUNDS 8000

static pthread_barrier_t rounds_gate;

static void *moves_in_rounds(void *arg)
{
    unsigned id = (unsigned)(uintptr_t)arg;
    uint64_t seed = 11 + id;
    for (int r = 0; r < MOVE_ROUNDS; r++) {
        pthread_barrier_wait(&rounds_gate);
        for (int k = 0; k < 50; k++)
            hand_and_move(id, &seed);
        pthread_barrier_wait(&rounds_gate);
        pthread_barrier_wait(&rounds_gate);
    }
    return NULL;
}

static void test_realloc_reset_rounds(void)
{
    pthread_t t[THREADS];
    uint64_t seed = 3;
    int leaks = 0;
    pool = shared_pool();
    pthread_barrier_init(&rounds_gate, NULL, THREADS + 1);
    for (unsigned i = 0; i < THREADS; i++)
        pthread_create(&t[i], NULL, moves_in_rounds, (void *)(uintptr_t)i);
    for (int r = 0; r < MOVE_ROUNDS; r++) {
        pthread_barrier_wait(&rounds_gate);
        for (volatile unsigned d = (unsigned)(next(&seed) % 20000); d != 0; d--)
            ;
        cymem_pool_reset(pool);
        pthread_barrier_wait(&rounds_gate);
        for (unsigned i = 0; i < THREADS; i++) {
            if (handed[i] != NULL)
                (void)cymem_pool_free(pool, handed[i]);
            handed[i] = NULL;
        }
        cymem_stats st;
        cymem_pool_stats(pool, &st);
        if (st.live_blocks != 0) {
            if (leaks++ == 0)
                EXPECT(0, "round %d: %zu blocks of %zu bytes live, which no thread holds", r,
                       st.live_blocks, st.live_bytes);
            cymem_pool_reset(pool);
        }
        pthread_barrier_wait(&rounds_gate);
    }
    for (unsigned i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    pthread_barrier_destroy(&rounds_gate);
    EXPECT(leaks == 0, "moves overtaken by a reset left blocks in %d rounds of %d", leaks,
           MOVE_ROUNDS);
    check(pool, "moves in rounds of resets");
    cymem_pool_destroy(pool);
}

/* A reset under way frees only what its heaps held when it cleared them:
 * a block made in a heap it has cleared is live, and another thread may
 * resize it, in place or not, while the reset goes on with the next
 * heaps.  Here the reset waits for the second heap's lock, which its
 * cleanup takes (after the invariant check of a library configured
 * with --enable-debug, which takes it too) and this thread lets go of,
 * once it has cleared the first heap, this thread's. */
static void *fresh;

static void hold_second_heap(void *arg)
{
    (void)arg;
    heap_lock(pool->heapv[1]);
}

static void *take_second_heap(void *arg)
{
    (void)arg;
    EXPECT(cymem_pool_alloc(pool, 1, 100) != NULL, "alloc failed");
    return NULL;
}

static void *resize_fresh(void *arg)
{
    (void)arg;
    errno = 0;
    void *q = cymem_pool_realloc(pool, fresh, 90);
    EXPECT(q == fresh, "a block made after its heap's reset did not shrink in place while "
           "the reset went on (errno %d)", errno);
    return NULL;
}

static void *move_fresh(void *arg)
{
    (void)arg;
    errno = 0;
    void *q = cymem_pool_realloc(pool, fresh, 100000);
    EXPECT(q != NULL, "a block made after its heap's reset did not move (errno %d)", errno);
    if (q != NULL)
        fresh = q;
    return NULL;
}

static void *reset_pool(void *arg)
{
    (void)arg;
    cymem_pool_reset(pool);
    return NULL;
}

static void test_realloc_during_reset(void)
{
    pthread_t r, t;
    pool = shared_pool();
    void *old = cymem_pool_alloc(pool, 1, 100);
    run_threads(1, take_second_heap);
    EXPECT(pool->nheaps == 2 && cymem_pool_owns(pool, old) &&
           cymem_pool_on_cleanup(pool, hold_second_heap, NULL) == 0,
           "two heaps, this thread's first");
    pthread_create(&r, NULL, reset_pool, NULL);
    while (cymem_pool_owns(pool, old))
        usleep(100);
    fresh = cymem_pool_alloc(pool, 1, 100);
    EXPECT(fresh != NULL && (__atomic_load_n(&pool->resets, __ATOMIC_ACQUIRE) & 1),
           "the reset is not under way");
    pthread_create(&t, NULL, resize_fresh, NULL);
    pthread_join(t, NULL);
    /* A move makes the thread's heap, which waits for the reset to end. */
    pthread_create(&t, NULL, move_fresh, NULL);
    usleep(10000);
    heap_unlock(pool->heapv[1]);
    pthread_join(r, NULL);
    pthread_join(t, NULL);
    cymem_stats st;
    cymem_pool_stats(pool, &st);
    EXPECT(cymem_pool_owns(pool, fresh) && st.live_blocks == 1,
           "after the reset: the block made during it is %slive, %zu blocks live",
           cymem_pool_owns(pool, fresh) ? "" : "not ", st.live_blocks);
    check(pool, "realloc during a reset");
    cymem_pool_destroy(pool);
}

/* ---- fork() while another thread uses the pool ------------------------- */

/* The child of a fork() finds no lock of the pool held by the thread it
 * does not have (a shared pool's heaps', or a mutex): it frees that thread's blocks (those still live),
 * allocates, and destroys the pool, within two seconds. */
#define FORKS 10

static void *fork_blocks[256];

static void *churn_for_fork(void *arg)
{
    (void)arg;
    while (!__atomic_load_n(&stop, __ATOMIC_ACQUIRE))
        for (int i = 0; i < 256; i++) {
            void *p = __atomic_load_n(&fork_blocks[i], __ATOMIC_RELAXED);
            (void)cymem_pool_free(pool, p);
            __atomic_store_n(&fork_blocks[i], cymem_pool_alloc(pool, 1, 1 + i * 40),
                             __ATOMIC_RELAXED);
        }
    return NULL;
}

static void *locked_malloc(size_t size, void *ctx)
{
    (void)ctx;
    return malloc(size);
}

static void locked_free(void *ptr, size_t size, void *ctx)
{
    (void)size;
    (void)ctx;
    free(ptr);
}

/* @kind 0: a shared pool; 1: a THREADSAFE pool of a custom allocator,
 * which takes its mutex around every call; 2: a child that inherits a
 * custom allocator from a pool that is not THREADSAFE, used by the
 * thread while the forked process uses the parent: the two call the
 * allocator under the mutex they share (the child, whose calls the
 * thread may have left half done, is not used after the fork). */
static void test_fork(int kind)
{
    static const cymem_allocator a = { locked_malloc, locked_free, NULL };
    cymem_pool_options o = { &a, NULL, CYMEM_POOL_THREADSAFE, 0 };
    cymem_pool *root = NULL;
    pthread_t t;
    if (kind == 2) {
        cymem_pool_options ro = { &a, NULL, 0, 0 };
        root = cymem_pool_new_ex(&ro);
        cymem_pool_options co = { NULL, root, 0, 0 };
        pool = root != NULL ? cymem_pool_new_ex(&co) : NULL;
    } else {
        pool = kind ? cymem_pool_new_ex(&o) : shared_pool();
    }
    if (pool == NULL) {
        EXPECT(0, "fork %d: no pool", kind);
        return;
    }
    stop = 0;
    pthread_create(&t, NULL, churn_for_fork, NULL);
    int hung = 0;
    for (int r = 0; r < FORKS && !hung; r++) {
        usleep(1000);
        pid_t pid = fork();
        if (pid == 0 && kind == 2) {
            alarm(2);
            void *p = cymem_pool_alloc(root, 1, 10000);
            _exit(p != NULL && cymem_pool_free(root, p) == 0 ? 0 : 1);
        }
        if (pid == 0) {
            alarm(2);
            for (int i = 0; i < 256; i++)
                (void)cymem_pool_free(pool, __atomic_load_n(&fork_blocks[i], __ATOMIC_RELAXED));
            void *p = cymem_pool_alloc(pool, 1, 100);
            cymem_stats st;
            _exit(p != NULL && cymem_pool_free(pool, p) == 0 && cymem_pool_stats(pool, &st) == 0 &&
                          (cymem_pool_destroy(pool), cymem_trim(), 1)
                      ? 0
                      : 1);
        }
        int status = 0;
        EXPECT(pid > 0 && waitpid(pid, &status, 0) == pid, "fork %d: no child", r);
        if (pid > 0 && !(WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
            EXPECT(0, "fork %d: the child %s %d", r,
                   WIFSIGNALED(status) ? "died of signal" : "exited with",
                   WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
            hung = 1;
        }
    }
    __atomic_store_n(&stop, 1, __ATOMIC_RELEASE);
    pthread_join(t, NULL);
    if (kind == 0)
        check(pool, "forks");
    cymem_pool_destroy(kind == 2 ? root : pool);
}

/* ---- One thread: a shared pool counts as a plain one does ---------------- */

static void test_stats(void)
{
    cymem_pool *a = shared_pool(), *b = cymem_pool_new();
    uint64_t seed = 99;
    void *pa[300] = { 0 }, *pb[300] = { 0 };
    for (int r = 0; r < 20000; r++) {
        unsigned k = (unsigned)next(&seed) % 300;
        size_t n = size_of(next(&seed));
        if (pa[k] == NULL) {
            pa[k] = cymem_pool_alloc(a, 1, n);
            pb[k] = cymem_pool_alloc(b, 1, n);
        } else if (r % 5 == 0) {
            pa[k] = cymem_pool_realloc(a, pa[k], n);
            pb[k] = cymem_pool_realloc(b, pb[k], n);
        } else {
            cymem_pool_free(a, pa[k]);
            cymem_pool_free(b, pb[k]);
            pa[k] = pb[k] = NULL;
        }
    }
    cymem_stats sa, sb;
    cymem_pool_stats(a, &sa);
    cymem_pool_stats(b, &sb);
    EXPECT(sa.live_bytes == sb.live_bytes && sa.live_blocks == sb.live_blocks &&
           sa.peak_bytes == sb.peak_bytes,
           "one thread: shared %zu bytes in %zu blocks, peak %zu; plain %zu, %zu, %zu",
           sa.live_bytes, sa.live_blocks, sa.peak_bytes, sb.live_bytes, sb.live_blocks,
           sb.peak_bytes);
    check(a, "stats");
    cymem_pool_destroy(a);
    cymem_pool_destroy(b);
}

/* ---- The debug mode's watch ---------------------------------------------- */

static volatile int inside;

/* Say so, and wait (at most ~5 s) for the main thread's destroy to abort
 * us all. */
static void hold_on(void)
{
    __atomic_store_n(&inside, 1, __ATOMIC_RELEASE);
    for (int i = 0; i < 500 && __atomic_load_n(&inside, __ATOMIC_ACQUIRE) == 1; i++)
        usleep(10000);
}

static int hold_walk(void *ptr, size_t size, void *ctx)
{
    (void)ptr, (void)size, (void)ctx;
    hold_on();
    return 1;
}

static void *walker(void *arg)
{
    (void)arg;
    cymem_pool_foreach(pool, hold_walk, NULL);
    return NULL;
}

/* A cleanup that holds a reset of the pool under way. */
static void slow_cleanup(void *arg)
{
    (void)arg;
    hold_on();
}

static void *resetter(void *arg)
{
    (void)arg;
    cymem_pool_reset(pool);
    return NULL;
}

/* An allocator that holds the making of a child of the pool under way. */
static void *slow_malloc(size_t size, void *ctx)
{
    hold_on();
    return locked_malloc(size, ctx);
}

static void *child_maker(void *arg)
{
    static const cymem_allocator slow = { slow_malloc, locked_free, NULL };
    cymem_pool_options o = { &slow, pool, 0, 0 };
    (void)arg;
    cymem_pool_destroy(cymem_pool_new_ex(&o));
    return NULL;
}

/* The pool of "rel-shared @what", with a block and @cleanup (if not
 * NULL): 0, 77 if the debug mode is off, 1 on failure. */
static int watched_pool(const char *what, void (*cleanup)(void *))
{
    pool = shared_pool();
    if (!cymem__debug) {
        fprintf(stderr, "rel-shared %s: the debug mode is off in this build\n", what);
        cymem_pool_destroy(pool);
        return 77;
    }
    if (cymem_pool_alloc(pool, 1, 10) == NULL ||
        (cleanup != NULL && cymem_pool_on_cleanup(pool, cleanup, NULL) != 0))
        return 1;
    return 0;
}

/* @what: "watch" (a walk), "watch-reset" or "watch-child" (the making
 * of a child). */
static int watch(const char *what)
{
    int by_reset = strcmp(what, "watch-reset") == 0;
    int rc = watched_pool(what, by_reset ? slow_cleanup : NULL);
    if (rc != 0)
        return rc;
    pthread_t t;
    pthread_create(&t, NULL, by_reset ? resetter : strcmp(what, "watch") == 0 ? walker : child_maker,
                   NULL);
    while (__atomic_load_n(&inside, __ATOMIC_ACQUIRE) == 0)
        usleep(1000);
    cymem_pool_destroy(pool);     /* must abort */
    pthread_join(t, NULL);
    return 0;
}

/* A cleanup that forks: the child goes on with the reset it was in. */
static pid_t cleanup_child = -1;

static void forking_cleanup(void *arg)
{
    (void)arg;
    cleanup_child = fork();
}

/* "rel-shared watch-fork": the child of a fork() from a cleanup finishes
 * the reset, uses the pool and destroys it; the reset, the child's own
 * call, is no other thread's call under way.  Exits with the child's
 * status. */
static int watch_fork(void)
{
    int status, rc = watched_pool("watch-fork", forking_cleanup);
    if (rc != 0)
        return rc;
    cymem_pool_reset(pool);
    if (cleanup_child == 0) {
        void *p = cymem_pool_alloc(pool, 1, 10);
        int ok = p != NULL && cymem_pool_free(pool, p) == 0;
        cymem_pool_destroy(pool);
        _exit(ok ? 0 : 1);
    }
    if (cleanup_child < 0 || waitpid(cleanup_child, &status, 0) != cleanup_child)
        return 1;
    cymem_pool_destroy(pool);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}

/* Run "argv0 @what" with CYMEM_DEBUG=1, its standard error in @buf (of
 * @size bytes): its status, or -1 if it could not be run. */
static int run_debug(const char *argv0, const char *what, char *buf, size_t size)
{
    int fd[2];
    if (pipe(fd) != 0)
        return -1;
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fd[1], 2);
        close(fd[0]);
        setenv("CYMEM_DEBUG", "1", 1);
        execl(argv0, argv0, what, (char *)NULL);
        _exit(127);
    }
    close(fd[1]);
    size_t got = 0;
    ssize_t r;
    while (got < size - 1 && (r = read(fd[0], buf + got, size - 1 - got)) > 0)
        got += (size_t)r;
    buf[got] = 0;
    close(fd[0]);
    int status;
    waitpid(pid, &status, 0);
    return status;
}

/* Run "argv0 @what" in the debug mode: it must die of SIGABRT, saying
 * why.  (Without the debug mode, the same program would wait for the walk
 * or the reset and then destroy the pool under it.) */
static void test_watch(const char *argv0, const char *what)
{
    char buf[4096];
    int status = run_debug(argv0, what, buf, sizeof buf);
    if (status == -1)
        return;
    if (WIFEXITED(status) && WEXITSTATUS(status) == 77) {
        printf("watch: skipped (%s)\n", "no debug mode");
        return;
    }
    EXPECT(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT &&
           strstr(buf, "libcymem: cymem_pool_destroy: another thread is using the pool; "
                       "aborting\n") != NULL,
           "%s: a destroy during another thread's call was not caught (status %#x): %s",
           what, status, buf);
}

/* ... and "argv0 watch-fork" must succeed: its reset is not taken for
 * another thread's call in the child of a fork() from its cleanup. */
static void test_watch_fork(const char *argv0)
{
    char buf[4096];
    int status = run_debug(argv0, "watch-fork", buf, sizeof buf);
    if (status == -1 || (WIFEXITED(status) && WEXITSTATUS(status) == 77))
        return;
    EXPECT(WIFEXITED(status) && WEXITSTATUS(status) == 0,
           "watch-fork: the child of a fork() from a cleanup could not destroy the pool "
           "(status %#x): %s", status, buf);
}

int main(int argc, char **argv)
{
    if (argc > 1 && (strcmp(argv[1], "watch") == 0 || strcmp(argv[1], "watch-reset") == 0 ||
                     strcmp(argv[1], "watch-child") == 0))
        return watch(argv[1]);
    if (argc > 1 && strcmp(argv[1], "watch-fork") == 0)
        return watch_fork();
    test_heaps();
    test_cross();
    test_race();
    test_exit();
    test_reset_live();
    test_grow();
    test_many_pools();
    test_no_heap_for_resizes();
    test_realloc_reset();
    test_realloc_reset_rounds();
    test_realloc_during_reset();
    test_fork(0);
    test_fork(1);
    test_fork(2);
    test_stats();
    test_watch(argv[0], "watch");
    test_watch(argv[0], "watch-reset");
    test_watch(argv[0], "watch-child");
    test_watch_fork(argv[0]);
    printf("rel-shared: %d errors\n", errors);
    return errors != 0;
}
