/*
 * shared.c - shared pools: a CYMEM_POOL_THREADSAFE pool of the system
 * allocator whose threads do not take turns on one lock.
 *
 * Such a pool (P) holds no block itself: each thread allocates from a
 * heap, a pool of P's own (plain, with its keeper, arena, slabs and
 * direct blocks), made when the thread first allocates.  A thread keeps
 * to its heap, found through a small cache in thread-local storage, or
 * when the cache has lost it, by the thread's number, which the heap made
 * for it records; a thread new to P gets a new heap until P has heapcap
 * of them (four per processor, at most CYMEM__HEAPS_MAX), then shares
 * them in turn.
 * Every call on a heap takes the heap's spin lock: its own thread's,
 * without contention but for frees of its blocks from other threads.
 * An allocation from the heap the thread's cache names first, and a free
 * of a live block of a chunk, of a heap without checker hooks whose lock
 * is free, run a plain pool's inline paths under that lock (the fast
 * paths at the end of this file), which give the lock back themselves;
 * every other call takes the general functions.
 * P's mutex guards the table of heaps while a heap is added, and P's
 * children and cleanups, as for any THREADSAFE pool.
 *
 * A free (or realloc, or lookup) from any thread finds the block's chunk
 * in the page map under P's key, with which every heap records its chunks
 * and its keeper; the chunk names its heap (home), whose lock it then
 * takes.  A large block, in no chunk, is looked up in each heap's direct
 * map in turn.  So a free is exact across threads: two threads that free
 * one block take turns on its heap, and the second finds it freed.  A
 * heap's chunks live until P is destroyed (at a reset a heap keeps its
 * slabs as slabs, where a pool of its own would make them arena chunks
 * and free their descriptors), so a chunk's descriptor may be read for
 * its base, span and heap, which never change, before the heap's lock is
 * taken.
 *
 * Invariants (checked by invariants.c with each heap):
 *  - heapv[0..nheaps) are P's heaps, nheaps <= heapcap, each published
 *    before nheaps counts it; each heap is a plain pool (no THREADSAFE
 *    flag) of the system allocator with P's chunk size and huge-page
 *    flag, key P, its keeper recorded in the page map, no child and no
 *    cleanup; P itself holds no block;
 *  - a thread's cache names a heap of P only next to P's uid, which no
 *    other pool has had, so an entry of a destroyed pool is never used;
 *  - P's statistics are the sums of its heaps' and its own; the peak is
 *    the sum of the heaps' peaks: the true peak while only one thread has
 *    used the pool, at least the true peak otherwise;
 *  - a reset of P clears each heap under the heap's lock, so it may run
 *    while other threads use P; a destroy runs while no other call on P
 *    is under way: the debug mode counts calls (busy) and aborts if one
 *    is (fork.c takes P's mutex and its heaps' locks around a fork()).
 *
 * Its layer: above blocks.c (each heap's work, under the heap's lock), the
 * engines' hot paths (inline), the page map and the direct map; called
 * by api.c and pool.c.
 */
#include "shared.h"
#include "arena.h"
#include "backing.h"
#include "blocks.h"
#include "direct.h"
#include "os.h"
#include "pagemap.h"
#include "ptrmap.h"
#include "slab.h"
#include "stats.h"
#include "track.h"

#include <errno.h>

/* The most heaps a shared pool has, whatever the processors. */
#define CYMEM__HEAPS_MAX 64
#define HEAPS_PER_CPU 4

/* ---- Heaps -------------------------------------------------------------- */

static uint64_t uid_last;

int cymem__shared_init(cymem_pool *pool)
{
    unsigned cap = cymem__os_cpus() * HEAPS_PER_CPU;
    if (cap > CYMEM__HEAPS_MAX)
        cap = CYMEM__HEAPS_MAX;
    pool->heapv = cymem__meta_alloc(pool, cap * sizeof *pool->heapv);
    if (pool->heapv == NULL)
        return -1;
    memset(pool->heapv, 0, cap * sizeof *pool->heapv);
    pool->heapcap = cap;
    pool->nheaps = 0;
    pool->uid = __atomic_add_fetch(&uid_last, 1, __ATOMIC_RELAXED);
    return 0;
}

/* A new heap for @pool (P locked), or NULL (ENOMEM). */
static cymem_pool *heap_new(cymem_pool *pool)
{
    cymem_pool proto;
    memset(&proto, 0, sizeof proto);
    proto.sys = 1;
    proto.flags = pool->flags & ~CYMEM_POOL_THREADSAFE;
    proto.chunk_size = pool->chunk_size;
    proto.small_max = pool->small_max;
    proto.keeper_size = pool->keeper_size;
    proto.key = pool;
    cymem_pool *h = cymem__pool_make(&proto);
    if (h == NULL)
        return NULL;
    TRACK_POOL_NEW(h);
    /* Its keeper too, so that P's lookups find its blocks. */
    if (cymem__page_insert(h, pool_keeper(h)) != 0) {
        h->key = h;
        TRACK_POOL_DELETE(h);
        cymem__pool_free(h);
        return NULL;
    }
    return h;
}

/* The calling thread's number, which no other thread of the process has
 * had: the heaps made for it say so, for when its cache no longer names
 * them. */
static __thread uint64_t thread_no __attribute__((tls_model("initial-exec")));
static uint64_t thread_last;

static uint64_t this_thread(void)
{
    if (thread_no == 0)
        thread_no = __atomic_add_fetch(&thread_last, 1, __ATOMIC_RELAXED);
    return thread_no;
}

/* A heap for the calling thread, whose cache names none of @pool's: the
 * one made for it earlier, else a new one, else (all made, or no memory)
 * the next in turn. */
static cymem_pool *heap_pick(cymem_pool *pool)
{
    uint64_t me = this_thread();
    cymem_pool *h = NULL;
    pool_lock(pool);
    for (unsigned i = 0; i < pool->nheaps && h == NULL; i++)
        if (pool->heapv[i]->thread == me)
            h = pool->heapv[i];
    if (h == NULL && pool->nheaps < pool->heapcap) {
        h = heap_new(pool);
        if (h != NULL) {
            h->thread = me;
            /* Published whole: threads read the table without P's lock. */
            pool->heapv[pool->nheaps] = h;
            __atomic_store_n(&pool->nheaps, pool->nheaps + 1, __ATOMIC_RELEASE);
        }
    }
    if (h == NULL && pool->nheaps > 0)
        h = pool->heapv[pool->nextheap++ % pool->nheaps];
    pool_unlock(pool);
    return h;
}

/* The thread's cache: the heaps it was given, newest use first. */
#define REFS 4
typedef struct heap_ref {
    const cymem_pool *pool;
    uint64_t uid;
    cymem_pool *heap;
} heap_ref;

static __thread heap_ref refs[REFS] __attribute__((tls_model("initial-exec")));

/* Whether entry @r of the thread's cache names a heap of @pool. */
static inline int ref_names(const heap_ref *r, const cymem_pool *pool)
{
    return r->pool == pool && r->uid == pool->uid;
}

/* The entry of the thread's cache that names @pool, or REFS. */
static int ref_of(const cymem_pool *pool)
{
    int i = 0;
    while (i < REFS && !ref_names(&refs[i], pool))
        i++;
    return i;
}

/* The heap of @pool the thread's cache names, or NULL: nothing made. */
static cymem_pool *heap_peek(const cymem_pool *pool)
{
    int i = ref_of(pool);
    return i < REFS ? refs[i].heap : NULL;
}

static NOINLINE cymem_pool *heap_find(cymem_pool *pool)
{
    heap_ref r = { pool, pool->uid, NULL };
    int i = ref_of(pool);
    if (i < REFS) {
        r.heap = refs[i].heap;
    } else {
        if ((r.heap = heap_pick(pool)) == NULL) {
            errno = ENOMEM;
            return NULL;
        }
        i = REFS - 1;
    }
    for (; i > 0; i--)
        refs[i] = refs[i - 1];
    refs[0] = r;
    return r.heap;
}

/* The calling thread's heap of @pool, made if need be; NULL (ENOMEM). */
static inline cymem_pool *heap_of(cymem_pool *pool)
{
    if (likely(ref_names(&refs[0], pool)))
        return refs[0].heap;
    return heap_find(pool);
}

/* ---- Blocks ------------------------------------------------------------- */

/* A zero-filled block of @n bytes from heap @h, whose lock the caller
 * holds: a plain pool's fast paths when they serve, else blocks.c. */
static inline __attribute__((always_inline))
void *heap_take(cymem_pool *h, size_t n)
{
    cymem__slab *a = h->arena_fast;
    if (likely(a != NULL) && likely(n - 1 < CYMEM__CLASS_MAX))
        return arena_take(h, a, n, 0);
    if (h->fast != NULL && n <= CYMEM__CLASS_MAX)
        return small_take(h, n, size_class(n), 0);
    return cymem__block_alloc(h, n);
}

static inline void *shared_alloc(cymem_pool *pool, size_t n, size_t align)
{
    cymem_pool *h = heap_of(pool);
    void *p;
    if (unlikely(h == NULL))
        return NULL;
    heap_lock(h);
    if (align > CYMEM__MIN_ALIGN)
        p = cymem__block_alloc_aligned(h, n, align);
    else
        p = heap_take(h, n);
    heap_unlock(h);
    return p;
}

/* The heap whose direct blocks include @ptr (a pointer no chunk spans),
 * or NULL: a search of each heap's direct map, under its lock, the
 * calling thread's first (its own large blocks are the likely ones). */
static NOINLINE cymem_pool *direct_owner(const cymem_pool *pool, const void *ptr)
{
    cymem_pool *mine = heap_peek(pool);
    unsigned n = __atomic_load_n(&pool->nheaps, __ATOMIC_ACQUIRE);
    for (unsigned i = 0; i <= n; i++) {
        cymem_pool *h = i == 0 ? mine : pool->heapv[i - 1];
        if (h == NULL || (i > 0 && h == mine))
            continue;
        heap_lock(h);
        int found = cymem__direct_find(h, ptr) != NULL;
        heap_unlock(h);
        if (found)
            return h;
    }
    return NULL;
}

/* The heap that holds @ptr, if any. */
static inline cymem_pool *owner_of(const cymem_pool *pool, const void *ptr, cymem__slab **chunk)
{
    cymem__slab *s = cymem__page_find_shared(pool, ptr);
    *chunk = s;
    return s != NULL ? s->home : direct_owner(pool, ptr);
}

static inline int shared_free(cymem_pool *pool, void *ptr, size_t *size)
{
    cymem__slab *s;
    cymem_pool *h = owner_of(pool, ptr, &s);
    uint32_t idx;
    size_t n = 0;
    int rc = -1;
    if (likely(h != NULL)) {
        heap_lock(h);
        if (s == NULL) {
            rc = cymem__block_free(h, ptr, &n);
        } else if ((idx = chunk_index(s, ptr)) != CYMEM__NO_BLOCK) {
            n = cymem__block_release(h, s, idx);
            rc = 0;
        }
        heap_unlock(h);
    }
    if (unlikely(rc != 0))
        errno = EINVAL;
    else if (size != NULL)
        *size = n;
    return rc;
}

/* cymem_pool_realloc() of @ptr, a block of heap @h, that the calling
 * thread allocates from: as in a pool of its own, under the heap's lock. */
static void *own_realloc(cymem_pool *h, void *ptr, size_t new_size)
{
    heap_lock(h);
    void *q = cymem__block_realloc(h, ptr, new_size);
    heap_unlock(h);
    return q;
}

static inline void *shared_realloc(cymem_pool *pool, void *ptr, size_t new_size)
{
    cymem__slab *s;
    cymem_pool *h = owner_of(pool, ptr, &s);
    size_t old, align, n;
    void *q;
    if (h == NULL) {
        errno = EINVAL;
        return NULL;
    }
    /* The calling thread's own block, as its cache says: as in a pool of
     * its own. */
    if (h == heap_peek(pool))
        return own_realloc(h, ptr, new_size);
    /* A reset under way (odd count) or begun from here on clears the heaps
     * one at a time: it may clear the two heaps of a move at different
     * moments (below).  A resize in place, under the block's heap's lock,
     * is before or after that heap's clearing, as any other call. */
    unsigned resets = __atomic_load_n(&pool->resets, __ATOMIC_ACQUIRE);
    heap_lock(h);
    int r = cymem__block_resize(h, ptr, new_size, &old, &align, &q);
    heap_unlock(h);
    if (r != 0) {
        if (r < 0)
            errno = EINVAL;
        return r > 0 ? q : NULL;
    }
    /* A move: the calling thread's heap, made only now, so that a thread
     * that resizes other threads' blocks in place allocates nothing.  It
     * may be the block's own heap after all: the cache no longer named it
     * (a thread of more shared pools than the cache holds), or the thread
     * shares it. */
    cymem_pool *mine = heap_of(pool);
    if (mine == NULL)
        return NULL;
    if (h == mine || (resets & 1))
        return own_realloc(h, ptr, new_size);
    /* Another thread's block moves to this thread's heap, with both heaps
     * locked (in address order: no other call holds two), after checking
     * that no reset began meanwhile (a reset increments `resets' before it
     * clears any heap and after the last, and cannot clear these two while
     * they are locked) and that no other thread freed the old block: the
     * new block is made there, so that it cannot outlive a failure, and
     * first, so that a failure leaves the old one.  Under a reset, the
     * new block would be cleared or kept with the other heap, not with
     * the old block's: it is made in the old block's heap instead, which
     * the reset clears with the old block or not at all. */
    cymem_pool *first = (uintptr_t)mine < (uintptr_t)h ? mine : h;
    cymem_pool *second = first == h ? mine : h;
    heap_lock(first);
    heap_lock(second);
    q = NULL;
    int no_reset = __atomic_load_n(&pool->resets, __ATOMIC_RELAXED) == resets;
    if (!no_reset) {
        /* A reset began: in the block's own heap, below. */
    } else if (!cymem__block_find(h, ptr, &old)) {
        /* As if this call came after the other free. */
        errno = EINVAL;
    } else if ((q = cymem__block_alloc_aligned(mine, new_size, align)) != NULL) {
        memcpy(q, ptr, old < new_size ? old : new_size);
        cymem__block_free(h, ptr, &n);
    }
    heap_unlock(second);
    heap_unlock(first);
    return no_reset ? q : own_realloc(h, ptr, new_size);
}

static inline int shared_find(const cymem_pool *pool, const void *ptr, size_t *size)
{
    cymem__slab *s;
    cymem_pool *h = owner_of(pool, ptr, &s);
    int found = 0;
    if (h != NULL) {
        heap_lock(h);
        found = cymem__block_find(h, ptr, size);
        heap_unlock(h);
    }
    return found;
}

static inline int shared_containing(const cymem_pool *pool, const void *addr,
                                     void **block, size_t *size)
{
    cymem__slab *s = cymem__page_find_shared(pool, addr);
    unsigned n = __atomic_load_n(&pool->nheaps, __ATOMIC_ACQUIRE);
    int found = 0;
    for (unsigned i = 0; i < n && !found; i++) {
        /* A chunk's heap, or (inside a direct block) each heap's scan. */
        cymem_pool *h = s != NULL ? s->home : pool->heapv[i];
        heap_lock(h);
        found = cymem__block_containing(h, addr, block, size);
        heap_unlock(h);
        if (s != NULL)
            break;
    }
    return found;
}

/* ---- The whole pool ----------------------------------------------------- */

void cymem__shared_stats(const cymem_pool *pool, cymem_stats *out)
{
    cymem__stats_unlocked(pool, out);
    for (unsigned i = 0; i < pool->nheaps; i++) {
        cymem_pool *h = pool->heapv[i];
        cymem_stats s;
        heap_lock(h);
        cymem__stats_unlocked(h, &s);
        heap_unlock(h);
        out->live_bytes += s.live_bytes;
        out->live_blocks += s.live_blocks;
        out->used_bytes += s.used_bytes;
        out->peak_bytes += s.peak_bytes;
        out->reserved_bytes += s.reserved_bytes;
        out->chunk_count += s.chunk_count;
        out->metadata_bytes += s.metadata_bytes;
    }
}

static int shared_foreach(const cymem_pool *pool,
                          int (*fn)(void *ptr, size_t size, void *ctx), void *ctx)
{
    int rc = cymem__foreach_unlocked(pool, fn, ctx);
    for (unsigned i = 0; i < pool->nheaps && rc == 0; i++) {
        cymem_pool *h = pool->heapv[i];
        heap_lock(h);
        rc = cymem__foreach_unlocked(h, fn, ctx);
        heap_unlock(h);
    }
    return rc;
}

void cymem__shared_clear(cymem_pool *pool)
{
    /* Odd while the heaps are cleared (shared_realloc()). */
    __atomic_add_fetch(&pool->resets, 1, __ATOMIC_ACQ_REL);
    for (unsigned i = 0; i < pool->nheaps; i++) {
        heap_lock(pool->heapv[i]);
        cymem__pool_clear(pool->heapv[i]);
        heap_unlock(pool->heapv[i]);
    }
    __atomic_add_fetch(&pool->resets, 1, __ATOMIC_ACQ_REL);
}

void cymem__shared_release(cymem_pool *pool)
{
    for (unsigned i = 0; i < pool->nheaps; i++) {
        cymem__direct_release_all(pool->heapv[i]);
        TRACK_POOL_DELETE(pool->heapv[i]);
        cymem__pool_free(pool->heapv[i]);
    }
    cymem__meta_free(pool, pool->heapv, pool->heapcap * sizeof *pool->heapv);
    pool->heapv = NULL;
    pool->nheaps = pool->heapcap = 0;
    pool->uid = 0;
}

size_t cymem__shared_slots(const cymem_pool *pool)
{
    size_t n = pool->page_slots;
    for (unsigned i = 0; pool->heapv != NULL && i < pool->nheaps; i++)
        n += pool->heapv[i]->page_slots;
    return n;
}

/* ---- The calls, watched by the debug mode ------------------------------- */

/* A destroy of a shared pool must not overlap another call on it: the
 * debug mode counts the calls under way (cymem__shared_alone()). */
void cymem__shared_watch(const cymem_pool *pool, int calls)
{
    __atomic_add_fetch(&((cymem_pool *)pool)->busy, calls, __ATOMIC_ACQ_REL);
}

static void enter(const cymem_pool *pool)
{
    cymem__shared_watch(pool, 1);
}

static void leave(const cymem_pool *pool)
{
    cymem__shared_watch(pool, -1);
}

#define WATCHED(type, call)                                                  \
    do {                                                                     \
        if (likely(!DEBUG_ON))                                               \
            return call;                                                     \
        enter(pool);                                                         \
        type r_ = call;                                                      \
        leave(pool);                                                         \
        return r_;                                                           \
    } while (0)

static NOINLINE void *alloc_watched(cymem_pool *pool, size_t n, size_t align)
{
    WATCHED(void *, shared_alloc(pool, n, align));
}

static NOINLINE int free_watched(cymem_pool *pool, void *ptr, size_t *size)
{
    WATCHED(int, shared_free(pool, ptr, size));
}

/* The engines' tail calls for the free's fast path below, which holds
 * the heap's lock: each gives it back when done (internal.h). */
int cymem__small_freed_unlock(cymem_pool *heap, cymem__slab *s, uint32_t idx)
{
    int r = cymem__small_freed(heap, s, idx);
    heap_unlock(heap);
    return r;
}

int cymem__arena_hole_unlock(cymem_pool *heap, cymem__slab *a, uint32_t idx, uint32_t units)
{
    int r = cymem__arena_hole(heap, a, idx, units);
    heap_unlock(heap);
    return r;
}

int cymem__arena_back_unlock(cymem_pool *heap)
{
    int r = cymem__arena_back(heap);
    heap_unlock(heap);
    return r;
}

/* The fast paths: the calling thread's heap when its cache names it
 * first, and (for a free) a block of a chunk whose heap's lock no other
 * thread holds, each of a plain heap (no checker hooks, so no debug mode
 * to count the call), served as a plain pool's blocks under the heap's
 * lock; everything else goes to the watched calls above.  The free's
 * engines give the lock back themselves (their @unlock instances), so
 * that every call out of it is a tail call, as in a plain pool's fast
 * path (api.c).  An allocation zeroes its block under the lock: a thread
 * that still holds a pointer from before a reset, to a block this one
 * takes again, must not read it while it is being zeroed. */
void *cymem__shared_alloc(cymem_pool *pool, size_t n, size_t align)
{
    cymem_pool *h = refs[0].heap;
    void *p;
    if (likely(ref_names(&refs[0], pool)) && likely(h->plain) &&
        likely(align == CYMEM__MIN_ALIGN)) {
        heap_lock(h);
        p = heap_take(h, n);
        heap_unlock(h);
        return p;
    }
    return alloc_watched(pool, n, align);
}

int cymem__shared_free(cymem_pool *pool, void *ptr, size_t *size)
{
    /* A chunk's base, span and heap never change while @pool lives: they
     * are read before the heap's lock is taken. */
    cymem__slab *s = cymem__page_find_shared(pool, ptr);
    cymem_pool *h;
    uint32_t idx;
    if (likely(s != NULL) && likely((h = s->home)->plain) && likely(heap_trylock(h))) {
        if (s->cls == CYMEM__ARENA_CLS) {
            if (likely((idx = arena_index(s, ptr)) != CYMEM__NO_BLOCK))
                return arena_free_ex(h, s, idx, size, 0, 1);
        } else if (likely((idx = slab_index(s, ptr)) != CYMEM__NO_BLOCK)) {
            return small_free_ex(h, s, idx, size, 0, 1);
        }
        heap_unlock(h);
    }
    return free_watched(pool, ptr, size);
}

void *cymem__shared_realloc(cymem_pool *pool, void *ptr, size_t new_size)
{
    WATCHED(void *, shared_realloc(pool, ptr, new_size));
}

int cymem__shared_find(const cymem_pool *pool, const void *ptr, size_t *size)
{
    WATCHED(int, shared_find(pool, ptr, size));
}

int cymem__shared_containing(const cymem_pool *pool, const void *addr, void **block,
                             size_t *size)
{
    WATCHED(int, shared_containing(pool, addr, block, size));
}

int cymem__shared_foreach(const cymem_pool *pool,
                          int (*fn)(void *ptr, size_t size, void *ctx), void *ctx)
{
    WATCHED(int, shared_foreach(pool, fn, ctx));
}

void cymem__shared_alone(const cymem_pool *pool, const char *what)
{
    if (__atomic_load_n(&pool->busy, __ATOMIC_ACQUIRE) != 0)
        cymem__fatal(what, 0);
}
