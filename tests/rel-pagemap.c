/*
 * rel-pagemap.c - the process's page map keeps pools apart.
 *
 * Two pools take their memory from one strip, piece after piece, so their
 * slabs and arena chunks meet inside granules: each granule's two slots
 * then belong to different pools.  Each pool must find every block of its
 * own and none of the other's, free only its own, pass the invariant
 * checker, own exactly the slots it counts (a walk of the whole map),
 * keep them right through a reset that makes its slabs arena chunks, and
 * leave none behind when destroyed.  Then threads do the same at once,
 * each with its own pools (plain, then THREADSAFE) on the shared strip,
 * whose freed pieces other pools reuse, so that slots of one granule are
 * claimed and released concurrently, while one more thread gives the
 * map's empty pages back again and again (the ThreadSanitizer run of CI
 * checks the page map's atomics on this).  Alone, a trim must give back
 * every page of the map the destroyed pools used, find nothing the second
 * time, and leave a map that works as before.  Last, a thread records
 * and forgets chunks in a few granules while another holds and lets go
 * of their slots as a trim does: a claim that meets the hold must wait
 * for it, however the slots change under it, and never take it for a
 * third chunk.
 */
#include "internal.h"
#include "invariants.h"
#include "pagemap.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

static int failures;
static pthread_mutex_t report = PTHREAD_MUTEX_INITIALIZER;

#define EXPECT(cond, what) do {                                  \
        if (!(cond)) {                                           \
            pthread_mutex_lock(&report);                         \
            fprintf(stderr, "rel-pagemap: %s (line %d)\n", (what), __LINE__); \
            failures++;                                          \
            pthread_mutex_unlock(&report);                       \
        }                                                        \
    } while (0)

static int nfailures(void)
{
    pthread_mutex_lock(&report);
    int n = failures;
    pthread_mutex_unlock(&report);
    return n;
}

/* The owner of slot @j of @e: other threads may be changing it. */
static const cymem_pool *owner(const cymem__pentry *e, int j)
{
    return __atomic_load_n(&e->owner[j], __ATOMIC_RELAXED);
}

/* A strip: pieces cut one after the other, 16-byte aligned, so that
 * consecutive requests of different pools are neighbours in memory.  A
 * piece given back is reused by the next request of its size, whichever
 * pool makes it: a granule's slot released by one pool is then claimed
 * by another while the other slot stays in use. */
typedef struct piece {
    struct piece *next;
    size_t size;
} piece;

typedef struct strip {
    pthread_mutex_t lock;
    char *mem;
    size_t size, used;
    piece *free_list;
} strip;

static void *strip_malloc(size_t size, void *ctx)
{
    strip *s = ctx;
    void *p = NULL;
    pthread_mutex_lock(&s->lock);
    size = (size + 15) & ~(size_t)15;
    for (piece **pp = &s->free_list; *pp != NULL; pp = &(*pp)->next)
        if ((*pp)->size == size) {
            p = *pp;
            *pp = (*pp)->next;
            break;
        }
    if (p == NULL && size <= s->size - s->used) {
        p = s->mem + s->used;
        s->used += size;
    }
    pthread_mutex_unlock(&s->lock);
    return p;
}

static void strip_free(void *ptr, size_t size, void *ctx)
{
    strip *s = ctx;
    piece *p = ptr;
    pthread_mutex_lock(&s->lock);
    p->size = (size + 15) & ~(size_t)15;
    p->next = s->free_list;
    s->free_list = p;
    pthread_mutex_unlock(&s->lock);
}

static cymem_pool *strip_pool(strip *s, unsigned flags)
{
    cymem_allocator a = { strip_malloc, strip_free, s };
    cymem_pool_options opts;
    memset(&opts, 0, sizeof opts);
    opts.allocator = &a;
    opts.flags = flags;
    return cymem_pool_new_ex(&opts);
}

/* @pool's slots, counted by a walk of the whole map, are what it counts,
 * and no slot is half claimed (alone, when no other thread runs). */
static void census(const cymem_pool *pool, int alone)
{
    size_t orphans;
    EXPECT(cymem__page_census(pool, &orphans) == pool->page_slots,
           "the page map holds other slots of the pool than it counts");
    if (alone)
        EXPECT(orphans == 0, "a slot of the page map has a chunk and no owner, or the reverse");
}

#define N 3000

/* Pools @a and @b take turns allocating blocks of 1 to 3 KiB: more than
 * the arena budget each, so both have arena chunks and slabs, cut
 * alternately from @s. */
static int neighbours(strip *s, unsigned seed, unsigned flags, int alone)
{
    int before = nfailures();
    cymem_pool *a = strip_pool(s, flags), *b = strip_pool(s, flags);
    EXPECT(a != NULL && b != NULL, "a pool on the strip");
    if (a == NULL || b == NULL)
        return -1;
    void **pa = calloc(N, sizeof *pa), **pb = calloc(N, sizeof *pb);
    EXPECT(pa != NULL && pb != NULL, "memory for the test");
    if (pa == NULL || pb == NULL)
        return -1;
    for (int i = 0; i < N; i++) {
        seed = seed * 1103515245u + 12345u;
        size_t n = 1024 + (seed >> 8) % 2048;
        pa[i] = cymem_pool_alloc(a, 1, n);
        pb[i] = cymem_pool_alloc(b, 1, n);
        EXPECT(pa[i] != NULL && pb[i] != NULL, "alloc on the strip");
        if (pa[i] == NULL || pb[i] == NULL)
            return -1;
    }
    /* Granules shared by the two pools: the case the test is for. */
    size_t shared = 0;
    for (int i = 0; i < N; i++) {
        const cymem__pentry *e = cymem__page_entry(pa[i]);
        if (e != NULL && ((owner(e, 0) == a && owner(e, 1) == b) ||
                          (owner(e, 0) == b && owner(e, 1) == a)))
            shared++;
    }
    /* Alone, on a fresh strip, the two pools' pieces alternate; with
     * other threads cutting pieces in between, they may not meet. */
    if (alone)
        EXPECT(shared > 0, "no granule holds chunks of both pools");
    for (int i = 0; i < N; i++) {
        EXPECT(cymem_pool_owns(a, pa[i]) && !cymem_pool_owns(a, pb[i]), "a owns its own only");
        EXPECT(cymem_pool_owns(b, pb[i]) && !cymem_pool_owns(b, pa[i]), "b owns its own only");
        errno = 0;
        EXPECT(cymem_pool_free(a, pb[i]) == -1 && errno == EINVAL, "a frees a block of b");
    }
    EXPECT(cymem__pool_check(a) == 0 && cymem__pool_check(b) == 0, "invariant check");
    census(a, alone);
    census(b, alone);
    /* A reset with nothing freed makes a's slabs arena chunks: their slots
     * are rewritten, b's left alone; then a fills up again. */
    cymem_pool_reset(a);
    EXPECT(a->classes == NULL, "the reset did not make a's slabs arena chunks");
    EXPECT(cymem__pool_check(a) == 0 && cymem__pool_check(b) == 0, "invariant check");
    census(a, alone);
    for (int i = 0; i < N; i++) {
        seed = seed * 1103515245u + 12345u;
        pa[i] = cymem_pool_alloc(a, 1, 1024 + (seed >> 8) % 2048);
        EXPECT(pa[i] != NULL, "alloc after the reset");
        if (pa[i] == NULL)
            return -1;
        EXPECT(!cymem_pool_owns(b, pa[i]), "b owns a block of a");
    }
    EXPECT(cymem__pool_check(a) == 0, "invariant check");
    census(a, alone);
    for (int i = 0; i < N; i += 2) {
        EXPECT(cymem_pool_free(a, pa[i]) == 0, "free of a's own block");
        EXPECT(cymem_pool_free(b, pb[i]) == 0, "free of b's own block");
    }
    EXPECT(cymem__pool_check(a) == 0 && cymem__pool_check(b) == 0, "invariant check");
    /* Destroying a leaves b whole, and no slot of a's (when no other
     * thread runs: another may make a pool where a was, on the strip). */
    cymem_pool_destroy(a);
    if (alone)
        EXPECT(cymem__page_census(a, NULL) == 0,
               "a destroyed pool's slots are left in the page map");
    for (int i = 1; i < N; i += 2)
        EXPECT(cymem_pool_owns(b, pb[i]) && cymem_pool_free(b, pb[i]) == 0,
               "b's blocks after a is destroyed");
    EXPECT(cymem__pool_check(b) == 0, "invariant check");
    census(b, alone);
    cymem_pool_destroy(b);
    if (alone)
        EXPECT(cymem__page_census(b, NULL) == 0,
               "a destroyed pool's slots are left in the page map");
    free(pa);
    free(pb);
    return nfailures() == before ? 0 : -1;
}

/* Threads, each with its own pools on the shared strip: plain pools, then
 * THREADSAFE ones. */
static void *thread_main(void *arg)
{
    strip *s = arg;
    for (unsigned r = 0; r < 4 && nfailures() == 0; r++)
        neighbours(s, (unsigned)(uintptr_t)pthread_self() + r,
                   r & 1 ? CYMEM_POOL_THREADSAFE : 0, 0);
    return NULL;
}

/* How many pages of the map that hold the entries of [mem, mem+size) are
 * resident (mincore(): 0 where the system will not say). */
static size_t map_resident(const char *mem, size_t size)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE), n = 0;
    uintptr_t last = 0;
    for (uintptr_t g = (uintptr_t)mem >> CYMEM__GRANULE_SHIFT;
         g <= ((uintptr_t)mem + size - 1) >> CYMEM__GRANULE_SHIFT; g++) {
        cymem__pentry *e = cymem__page_entry((void *)(g << CYMEM__GRANULE_SHIFT));
        uintptr_t p = (uintptr_t)e & ~(uintptr_t)(page - 1);
        unsigned char in = 0;
        if (e == NULL || p == last)
            continue;
        last = p;
        if (mincore((void *)p, page, (void *)&in) == 0 && (in & 1))
            n++;
    }
    return n;
}

/* Alone: after the pools on @s are gone, a trim gives back the pages of
 * the map that named their chunks, and the map works after it. */
static void trim_alone(strip *s)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t before = map_resident(s->mem, s->used);
    EXPECT(before > 0, "the map holds no resident page for the strip");
    size_t given = cymem__page_trim();
    EXPECT(given >= before * page, "a trim gave back less than the strip's pages of the map");
    EXPECT(map_resident(s->mem, s->used) == 0,
           "pages of the map naming no chunk are resident after a trim");
    EXPECT(cymem__page_trim() == 0, "a second trim found pages to give back");
    printf("rel-pagemap: a trim gave back %zu KiB of the map (%zu pages for the strip)\n",
           given >> 10, before);
    /* The pools' granules again, on pages read as zero. */
    s->used = 0;
    s->free_list = NULL;
    neighbours(s, 3, 0, 1);
    EXPECT(map_resident(s->mem, s->used) > 0, "the map did not take its pages again");
}

/* Gives the map's empty pages back until the workers are done. */
static int workers_done;

static void *trimmer(void *arg)
{
    size_t *given = arg;
    while (!__atomic_load_n(&workers_done, __ATOMIC_ACQUIRE)) {
        *given += cymem__page_trim();
        sched_yield();
    }
    return NULL;
}

/* A claim that meets a trim's hold: one thread makes and destroys pools
 * on a strip of its own, whose pieces come back at the same addresses,
 * while this one holds the slots of their granules and lets go of them,
 * as cymem__page_trim() does with a page that a claim reaches first.
 * Meanwhile sched_yield() returns at once, so that a waiting claim looks
 * at the slots again and again, and a let-go comes between its looks. */
static strip held = { PTHREAD_MUTEX_INITIALIZER, NULL, 0, 0, NULL };
static int claims_done, no_yield;

int sched_yield(void)
{
    if (__atomic_load_n(&no_yield, __ATOMIC_RELAXED))
        return 0;
    return (int)syscall(SYS_sched_yield);
}

static void *claimer(void *arg)
{
    (void)arg;
    for (int i = 0; i < 30000 && nfailures() == 0; i++) {
        cymem_pool *p = strip_pool(&held, 0);
        EXPECT(p != NULL, "a pool on the strip");
        for (int k = 0; p != NULL && k < 40; k++)
            EXPECT(cymem_pool_alloc(p, 1, 2000) != NULL, "alloc on the strip");
        cymem_pool_destroy(p);
    }
    __atomic_store_n(&claims_done, 1, __ATOMIC_RELEASE);
    return NULL;
}

static void holds_and_claims(void)
{
    held.size = (size_t)1 << 20;
    held.mem = malloc(held.size);
    EXPECT(held.mem != NULL, "memory for the strip");
    if (held.mem == NULL)
        return;
    /* One pool first: the granules the claimer's pools use, and their
     * leaves made. */
    cymem_pool *p = strip_pool(&held, 0);
    for (int k = 0; p != NULL && k < 40; k++)
        EXPECT(cymem_pool_alloc(p, 1, 2000) != NULL, "alloc on the strip");
    cymem_pool_destroy(p);
    size_t used = held.used;
    __atomic_store_n(&no_yield, 1, __ATOMIC_RELAXED);
    pthread_t t;
    if (pthread_create(&t, NULL, claimer, NULL) != 0) {
        EXPECT(0, "pthread_create");
        return;
    }
    while (!__atomic_load_n(&claims_done, __ATOMIC_ACQUIRE)) {
        for (size_t off = 0; off < used; off += CYMEM__GRANULE) {
            cymem__pentry *e = cymem__page_entry(held.mem + off);
            int k = 0;
            for (; k < 2; k++) {
                cymem__slab *none = NULL;
                if (!__atomic_compare_exchange_n(&e->chunk[k], &none, CYMEM__PM_TRIMMING, 0,
                                                 __ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
                    break;
            }
            for (volatile int d = 0; d < 100; d++)
                ;
            while (k-- > 0)
                __atomic_store_n(&e->chunk[k], NULL, __ATOMIC_RELEASE);
        }
    }
    pthread_join(t, NULL);
    __atomic_store_n(&no_yield, 0, __ATOMIC_RELAXED);
    free(held.mem);
}

int main(void)
{
    static strip s = { PTHREAD_MUTEX_INITIALIZER, NULL, 0, 0, NULL };
    s.size = (size_t)512 << 20;
    s.mem = malloc(s.size);
    if (s.mem == NULL) {
        fprintf(stderr, "rel-pagemap: no memory for the strip\n");
        return 99;
    }
    neighbours(&s, 1, 0, 1);
    /* Every piece is back: start the strip afresh. */
    s.used = 0;
    s.free_list = NULL;
    neighbours(&s, 2, CYMEM_POOL_THREADSAFE, 1);
    trim_alone(&s);
    s.used = 0;
    s.free_list = NULL;

    pthread_t t[4], tt;
    size_t trimmed = 0;
    if (pthread_create(&tt, NULL, trimmer, &trimmed) != 0) {
        fprintf(stderr, "rel-pagemap: pthread_create failed\n");
        return 99;
    }
    for (int i = 0; i < 4; i++)
        if (pthread_create(&t[i], NULL, thread_main, &s) != 0) {
            fprintf(stderr, "rel-pagemap: pthread_create failed\n");
            return 99;
        }
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    __atomic_store_n(&workers_done, 1, __ATOMIC_RELEASE);
    pthread_join(tt, NULL);
    printf("rel-pagemap: %zu KiB of the map given back while threads made pools\n",
           trimmed >> 10);
    size_t orphans;
    cymem__page_census(NULL, &orphans);
    EXPECT(orphans == 0, "a slot of the page map has a chunk and no owner, or the reverse");
    free(s.mem);
    holds_and_claims();
    cymem__page_census(NULL, &orphans);
    EXPECT(orphans == 0, "a slot of the page map has a chunk and no owner, or the reverse");
    if (failures)
        fprintf(stderr, "rel-pagemap: %d failures\n", failures);
    else
        printf("rel-pagemap: pools kept apart in shared granules\n");
    return failures ? 1 : 0;
}
