/*
 * tcache.c - per-thread caches of system memory: slabs, large direct
 * blocks and regions, for the pools of the system allocator.
 *
 * Slab memory (a power of two between one granule and
 * CYMEM_CHUNK_SIZE_MAX) goes through a small per-thread cache on its way
 * back to the system, so that a program that makes and destroys a pool per
 * request does not pay an mmap and a munmap for every slab of every
 * request.  A cached slab remembers how many of its leading bytes were
 * ever written, so the next pool still knows the rest is zero.  Direct
 * blocks between CYMEM__CLASS_MAX and CYMEM__MMAP_MIN wait in buckets for
 * the next request of their size, and the regions of destroyed pools
 * (CYMEM__REGION bytes aligned to a huge page, from which a large pool
 * carves its slabs) wait for the next large pool: REGION_KEEP of them for
 * as long as the thread lives, up to REGION_MAX until the thread's first
 * call on the cache REGION_WAIT_MS or more after they came.  So the
 * unmapping of a large pool's pages, which costs the kernel about as
 * much as their first faults did, is not paid inside the destroy (nor at
 * all, when the next large pool comes soon), and yet a thread that goes
 * on making pools does not keep the memory for long.  There is no timer:
 * a thread that makes no call on the cache after the destroy (an idle
 * one, or one that only uses the slabs its pools have) keeps it until
 * a trim or its exit.  The regions of a very
 * large CYMEM_POOL_HUGE_PAGES pool are advised to use transparent huge
 * pages where the system has them.
 *
 * cymem_trim() empties every thread's cache, not only its caller's: the
 * caches are on one list (`caches'), and each has a lock.  Its thread
 * takes the lock around each of its calls on the cache, without ever
 * waiting for it: when a trim (or a fork) holds it, the call goes to the
 * system as if there were no cache.  So a thread never waits for a
 * cache's lock while it holds a pool's, and a fork() can take these locks
 * after every pool's (fork.c).  In the child of a fork, the caches of the
 * threads it does not have are orphans: the child's first call on a
 * cache, or its first trim, gives them back and frees them (a child that
 * execs at once never pays for that).
 *
 * Below: os.c, for pages and zeroed memory.  Above: backing.c (and
 * region.c), which does the pool's accounting; this file keeps none of it
 * and knows no pool.  A destroyed pool's keeper is slab-sized memory like
 * any other: it waits here for the next pool of the thread.
 *
 * Invariants:
 *  - a cache is used by its thread only, under its lock, and memory freed
 *    on one thread is reused by pools of that thread only; other threads
 *    take the lock only to empty the cache (cymem_trim(), a fork's
 *    handlers, the library's unloading);
 *  - a live cache is on `caches' from when it is made until its thread
 *    exits (or the thread unloading the library frees it), an orphan
 *    until the child's first call on a cache, a trim or the unloading
 *    frees it (orphans_pending says there is one); the list changes under
 *    caches_lock, and a thread that holds caches_lock waits for caches'
 *    locks, never the reverse;
 *  - it holds at most CACHE_BYTES of slabs, BIG_BYTES of large blocks and
 *    REGION_MAX regions, the oldest first in `regions'; a region beyond
 *    the newest REGION_KEEP is given back by the first call of the thread
 *    on the cache (regions_expire()) REGION_WAIT_MS or more after it came;
 *    cymem_trim() and the thread's exit give all of it back to the
 *    system;
 *  - a cached piece's dirty length covers every byte ever written in it:
 *    the bytes after it are zero;
 *  - cached memory (a slab's, a region's, a large block's) is off limits
 *    to the checkers (track.h) while it waits, and is made accessible
 *    again before it leaves the cache, to a pool or to the system;
 *  - the cache's life on a thread goes none -> live -> gone, never back:
 *    once the thread's key destructor (or the library's, on the thread
 *    that unloads it) has freed it, the thread's pools use the system
 *    directly (see tcache below).
 */
#include "internal.h"
#include "os.h"
#include "tcache.h"
#include "track.h"

#include <errno.h>
#include <stddef.h>
#include <sched.h>
#include <stdlib.h>
#ifdef HAVE_MALLOC_TRIM
#  include <malloc.h>
#endif

#define CACHE_BYTES   ((size_t)4 << 20)
#define CACHE_DEPTH   256
#define CACHE_MIN_SHIFT CYMEM__GRANULE_SHIFT
#define CACHE_BUCKETS 11                 /* 16 KiB .. 16 MiB */

typedef struct cached {
    void *mem;
    size_t dirty;                        /* leading bytes ever written */
} cached;


/* Regions kept per thread for good, at most, and for REGION_WAIT_MS
 * milliseconds; the alignment they are mapped at. */
#define REGION_KEEP   4
#define REGION_MAX    64
#define REGION_WAIT_MS 100
#define HUGE_PAGE     ((size_t)2 << 20)

typedef struct cached_region {
    void *mem;
    size_t dirty;                        /* leading bytes ever written */
    uint64_t since;                      /* when it came (os_now_ms) */
    int huge;                            /* advised to use huge pages */
} cached_region;

/* Direct blocks between CYMEM__CLASS_MAX and CYMEM__MMAP_MIN: BIG_STEPS
 * buckets per doubling; a block is made at its bucket's size so that it
 * fits any later request of that bucket.  A bucket holds up to BIG_DEPTH
 * blocks given back by resets and destroys, but a block the program freed
 * only while its bucket is empty (BIG_DEPTH_FREED). */
#define BIG_STEPS     8
#define BIG_MIN_SHIFT 12                 /* CYMEM__CLASS_MAX = 4 KiB */
#define BIG_BUCKETS   (5 * BIG_STEPS)    /* up to CYMEM__MMAP_MIN = 128 KiB */
#define BIG_DEPTH     16
#define BIG_DEPTH_FREED 1
#define BIG_BYTES     ((size_t)4 << 20)

typedef struct slab_cache {
    int lock;                            /* 1: taken (cache_trylock()) */
    int orphan;                          /* a fork's child has not its thread */
    struct slab_cache *prev, *next;      /* on caches, under caches_lock */
    int closing;                         /* its thread is exiting, or the
                                            library unloading: it takes
                                            nothing more */
    size_t bytes;
    unsigned count[CACHE_BUCKETS];
    cached slot[CACHE_BUCKETS][CACHE_DEPTH];
    size_t big_bytes;
    unsigned big_count[BIG_BUCKETS];
    cached big[BIG_BUCKETS][BIG_DEPTH];  /* .dirty holds the block's size */
    unsigned nregions;
    cached_region regions[REGION_MAX];
} slab_cache;

/* The fields a closed cache's thread reads (its lock, closing) are on its
 * first page, which the unloading keeps (caches_empty()). */
_Static_assert(offsetof(slab_cache, closing) + sizeof(int) <= 4096,
               "a cache's lock and closing are on its first page");

/* ---- the per-thread slab cache ----------------------------------------- */

#define USE_CACHE CYMEM__OS_PAGES

#if USE_CACHE
/*
 * The cache's life on a thread: none yet (tcache NULL, tcache_gone 0), then
 * live (tcache set), then gone for good once the thread's key destructor
 * has run, or the library's on the thread that unloads it or exits the
 * process (tcache NULL, tcache_gone 1).  Destructors of other keys may run
 * after ours and still use pools (a pool per thread, destroyed by its
 * key's destructor): from then on this thread's pools use the system
 * directly, and no new cache is made, since nothing would free it.
 */
static __thread slab_cache *tcache;
static __thread int tcache_gone;
static pthread_key_t tcache_key;
static pthread_once_t tcache_once = PTHREAD_ONCE_INIT;
static int tcache_key_ok;

/* Every live cache (and, in the child of a fork, every orphan). */
static pthread_mutex_t caches_lock = PTHREAD_MUTEX_INITIALIZER;
static slab_cache *caches;
/* Some caches on the list are orphans (written under caches_lock). */
static int orphans_pending;

static inline int cache_trylock(slab_cache *c)
{
    return __atomic_exchange_n(&c->lock, 1, __ATOMIC_ACQUIRE) == 0;
}

static inline void cache_unlock(slab_cache *c)
{
    __atomic_store_n(&c->lock, 0, __ATOMIC_RELEASE);
}

/* For the threads that empty a cache: its thread holds the lock only for
 * the length of one call on it. */
static void cache_lock(slab_cache *c)
{
    while (!cache_trylock(c))
        sched_yield();
}

static void caches_unlink(slab_cache *c)
{
    if (c->prev != NULL)
        c->prev->next = c->next;
    else
        caches = c->next;
    if (c->next != NULL)
        c->next->prev = c->prev;
}

/* A cache's own memory is pages of its own (zero when mapped), not the C
 * library's heap: one that the library's unloading closes but cannot
 * free (below) keeps only its first page, and is not a block of the
 * heap that nothing points to.  The large blocks it keeps are the heap's:
 * the checkers are told where to find the pointers to them. */
static slab_cache *cache_map(void)
{
    slab_cache *c = cymem__os_pages_alloc(sizeof(slab_cache));
    if (c != NULL)
        TRACK_ROOTS(c, sizeof *c);
    return c;
}

static void cache_unmap(slab_cache *c)
{
    TRACK_ROOTS_GONE(c, sizeof *c);
    cymem__os_pages_free(c, sizeof *c);
}

/* Give a cached region back to the system. */
static void region_unmap(void *mem)
{
    TRACK_MEM_RETURN(mem, CYMEM__REGION);
    cymem__os_pages_free(mem, CYMEM__REGION);
}

/* Give everything @c holds back to the system; returns how many bytes. */
static size_t cache_empty(slab_cache *c)
{
    size_t bytes = 0;
    for (unsigned b = 0; b < BIG_BUCKETS; b++) {
        for (unsigned i = 0; i < c->big_count[b]; i++) {
            TRACK_MEM_RETURN(c->big[b][i].mem, c->big[b][i].dirty);
            free(c->big[b][i].mem);
        }
        c->big_count[b] = 0;
    }
    for (unsigned b = 0; b < CACHE_BUCKETS; b++) {
        size_t size = (size_t)1 << (b + CACHE_MIN_SHIFT);
        for (unsigned i = 0; i < c->count[b]; i++) {
            TRACK_MEM_RETURN(c->slot[b][i].mem, size);
            cymem__os_pages_free(c->slot[b][i].mem, size);
        }
        c->count[b] = 0;
    }
    bytes += c->big_bytes + c->bytes + (size_t)c->nregions * CYMEM__REGION;
    c->big_bytes = c->bytes = 0;
    while (c->nregions > 0)
        region_unmap(c->regions[--c->nregions].mem);
    return bytes;
}

static void tcache_release(void *arg)
{
    slab_cache *c = arg;
    /* Off the list, no trim can be at work on it: it is this thread's. */
    mutex_lock(&caches_lock);
    caches_unlink(c);
    mutex_unlock(&caches_lock);
    c->closing = 1;
    cache_empty(c);
    /* Forget the cache before freeing it: a later destructor's pool calls
     * must not find it. */
    tcache = NULL;
    tcache_gone = 1;
    cache_unmap(c);
}

static void tcache_key_init(void)
{
    tcache_key_ok = pthread_key_create(&tcache_key, tcache_release) == 0;
}

/* Take the emptied orphan @c off the list and give its pages back; the
 * caller holds caches_lock. */
static void orphan_free(slab_cache *c)
{
    caches_unlink(c);
    cache_unmap(c);
}

/* Empty every cache (and close it, if @close: it takes nothing more),
 * and free the orphans; returns how many bytes went back. */
static size_t caches_empty(int close)
{
    size_t bytes = 0;
    mutex_lock(&caches_lock);
    for (slab_cache *c = caches, *next; c != NULL; c = next) {
        next = c->next;
        cache_lock(c);
        bytes += cache_empty(c);
        if (close && !c->orphan) {
            /* Its thread reads it as empty and closed from now on (the
             * fields past the first page read as zero). */
            size_t page = cymem__page_size();
            c->closing = 1;
            if (sizeof *c > page)
                (void)cymem__os_pages_discard((char *)c + page, sizeof *c - page);
        }
        cache_unlock(c);
        if (c->orphan)
            orphan_free(c);
    }
    __atomic_store_n(&orphans_pending, 0, __ATOMIC_RELAXED);
    mutex_unlock(&caches_lock);
    return bytes;
}

/* In a fork's child, at its first call on a cache: give back and free
 * the caches of the threads it does not have (they have no thread to
 * hold their locks). */
static NOINLINE void orphans_free(void)
{
    mutex_lock(&caches_lock);
    for (slab_cache *c = caches, *next; c != NULL; c = next) {
        next = c->next;
        if (c->orphan) {
            cache_empty(c);
            orphan_free(c);
        }
    }
    __atomic_store_n(&orphans_pending, 0, __ATOMIC_RELAXED);
    mutex_unlock(&caches_lock);
}

/* A library unloaded while threads still run must not leave its
 * destructor behind in the key, nor their caches' memory mapped and
 * unreachable: the regions of a large pool destroyed just before would
 * stay, up to REGION_MAX of them at every load and unload.  The thread
 * that unloads it (or exits the process) gives its own cache back and
 * frees it; a pool it uses after, in a later destructor, uses the system
 * directly.  Every other thread's cache is emptied and closed, but not
 * freed: at a process's exit its thread may still be running, and its
 * calls on a closed cache go to the system.  Past its first page, which
 * holds its lock and says it is closed, its pages go back.  A fork's
 * orphans are freed. */
#  if defined(__GNUC__)
__attribute__((destructor)) static void tcache_unload(void)
{
    if (tcache_key_ok) {
        tcache_key_ok = 0;
        pthread_key_delete(tcache_key);
    }
    if (tcache != NULL)
        tcache_release(tcache);
    (void)caches_empty(1);
}
#  endif

/* The calling thread's cache, made on first use; NULL if that fails or
 * the thread is exiting and its cache is gone. */
static slab_cache *tcache_get(void)
{
    if (likely(tcache != NULL))
        return tcache;
    if (tcache_gone)
        return NULL;
    /* If pthread_once() itself failed, tcache_key_ok stays 0: no cache. */
    (void)pthread_once(&tcache_once, tcache_key_init);
    if (!tcache_key_ok)
        return NULL;
    slab_cache *c = cache_map();
    if (c == NULL)
        return NULL;
    if (pthread_setspecific(tcache_key, c) != 0) {
        cache_unmap(c);
        return NULL;
    }
    mutex_lock(&caches_lock);
    c->next = caches;
    if (caches != NULL)
        caches->prev = c;
    caches = c;
    mutex_unlock(&caches_lock);
    return tcache = c;
}

/* Give back the regions of @c beyond the newest REGION_KEEP that came
 * REGION_WAIT_MS or more before @now.  A clock that went back (time(),
 * os.c's fallback, when the wall clock is set back; the monotonic clock
 * in a child that fork() put in another time namespace) is behind the
 * regions that came after @now: their wait starts again at @now, which
 * keeps them oldest first, and @now - since does not wrap. */
static NOINLINE void regions_expire(slab_cache *c, uint64_t now)
{
    unsigned n = 0;
    if (DEBUG_ON) {
        /* The invariant the loop below stands on: oldest first. */
        for (unsigned i = 1; i < c->nregions; i++)
            if (c->regions[i].since < c->regions[i - 1].since || c->nregions > REGION_MAX)
                cymem__fatal("the thread's cached regions are out of order", 0);
    }
    for (unsigned i = c->nregions; i > 0 && c->regions[i - 1].since > now; i--)
        c->regions[i - 1].since = now;
    while (c->nregions - n > REGION_KEEP && now - c->regions[n].since >= REGION_WAIT_MS)
        region_unmap(c->regions[n++].mem);
    if (n == 0)
        return;
    c->nregions -= n;
    memmove(c->regions, c->regions + n, c->nregions * sizeof *c->regions);
}

/* What every call on the cache (a slab, a large block or a region taken
 * or given back) does: regions that have waited long enough go back.
 * Only a clock read while more than REGION_KEEP wait. */
static inline void regions_check(slab_cache *c)
{
    if (unlikely(c != NULL && c->nregions > REGION_KEEP))
        regions_expire(c, cymem__os_now_ms());
}

/* The start of every call of this thread on its cache @c (which may be
 * NULL): @c with its lock taken, or NULL when there is none or another
 * thread is emptying it.  cache_leave() ends the call. */
static inline slab_cache *cache_take(slab_cache *c)
{
    if (unlikely(__atomic_load_n(&orphans_pending, __ATOMIC_RELAXED)))
        orphans_free();
    return c != NULL && cache_trylock(c) ? c : NULL;
}

/* cache_take(), and the regions that waited long enough go back. */
static inline slab_cache *cache_enter(slab_cache *c)
{
    c = cache_take(c);
    regions_check(c);
    return c;
}

static inline void cache_leave(slab_cache *c)
{
    if (c != NULL)
        cache_unlock(c);
}

/* The bucket of a slab of @size bytes, or -1 if it is not cacheable. */
static int bucket_of(size_t size)
{
    if ((size & (size - 1)) != 0 || size < ((size_t)1 << CACHE_MIN_SHIFT))
        return -1;
    int b = 0;
    while (((size_t)1 << (b + CACHE_MIN_SHIFT)) < size)
        b++;
    return b < CACHE_BUCKETS ? b : -1;
}
#endif

void *cymem__sys_slab_alloc(size_t size, size_t *dirty)
{
#if USE_CACHE
    int b = bucket_of(size);
    slab_cache *c = cache_enter(tcache);
    if (c != NULL && b >= 0 && c->count[b] > 0) {
        cached *e = &c->slot[b][--c->count[b]];
        c->bytes -= size;
        *dirty = e->dirty;
        TRACK_MEM_RETURN(e->mem, size);
        cache_unlock(c);
        return e->mem;
    }
    cache_leave(c);
#endif
    *dirty = 0;
    void *p = cymem__os_pages_alloc(size);
    if (p == NULL)
        errno = ENOMEM;
    return p;
}

void cymem__sys_slab_free(void *mem, size_t size, size_t dirty)
{
#if USE_CACHE
    int b = bucket_of(size);
    slab_cache *c = cache_enter(b >= 0 ? tcache_get() : tcache);
    if (c != NULL && b >= 0 && !c->closing && c->count[b] < CACHE_DEPTH &&
        c->bytes + size <= CACHE_BYTES) {
        cached *e = &c->slot[b][c->count[b]++];
        e->mem = mem;
        e->dirty = dirty < size ? dirty : size;
        c->bytes += size;
        TRACK_MEM_CACHED(mem, size);
        cache_unlock(c);
        return;
    }
    cache_leave(c);
#else
    (void)dirty;
#endif
    cymem__os_pages_free(mem, size);
}

/* ---- regions ------------------------------------------------------------ */

#if USE_CACHE
/* Ask for transparent huge pages over a region, or stop asking. */
static void region_advise(void *r, int huge)
{
    cymem__os_advise_huge(r, CYMEM__REGION, huge);
}

/* CYMEM__REGION fresh bytes aligned to HUGE_PAGE. */
static void *region_map(void)
{
    return cymem__os_pages_alloc_aligned(CYMEM__REGION, HUGE_PAGE);
}
#endif

void *cymem__sys_region_alloc(size_t *dirty, int huge)
{
#if USE_CACHE
    slab_cache *c = cache_take(tcache);
    void *r;
    if (c != NULL && c->nregions > 0) {
        /* The newest: the oldest may go back at the next check. */
        unsigned i = --c->nregions;
        r = c->regions[i].mem;
        *dirty = c->regions[i].dirty;
        TRACK_MEM_RETURN(r, CYMEM__REGION);
        if (c->regions[i].huge != huge)
            region_advise(r, huge);
        regions_check(c);
        cache_unlock(c);
        return r;
    }
    cache_leave(c);
    *dirty = 0;
    r = region_map();
    if (r != NULL && huge)
        region_advise(r, 1);
    return r;
#else
    (void)dirty;
    (void)huge;
    return NULL;
#endif
}

void cymem__sys_region_free(void *mem, size_t dirty, int huge)
{
#if USE_CACHE
    slab_cache *c = cache_take(tcache_get());
    if (c != NULL && !c->closing) {
        uint64_t now = cymem__os_now_ms();
        regions_expire(c, now);
        if (c->nregions < REGION_MAX) {
            c->regions[c->nregions++] = (cached_region){ mem, dirty, now, huge };
            TRACK_MEM_CACHED(mem, CYMEM__REGION);
            cache_unlock(c);
            return;
        }
    }
    cache_leave(c);
    cymem__os_pages_free(mem, CYMEM__REGION);
#else
    (void)mem;
    (void)dirty;
    (void)huge;
#endif
}

size_t cymem__sys_trim(void)
{
    size_t bytes = 0;
#if USE_CACHE
    bytes = caches_empty(0);
#endif
#ifdef HAVE_MALLOC_TRIM
    /* Descriptors, maps and mid-sized blocks came from malloc: let glibc
     * give back the free pages at the top of its heaps too. */
    malloc_trim(0);
#endif
    return bytes;
}

/* ---- fork() ------------------------------------------------------------- */

void cymem__caches_fork_take(void)
{
#if USE_CACHE
    mutex_lock(&caches_lock);
    for (slab_cache *c = caches; c != NULL; c = c->next)
        cache_lock(c);
#endif
}

void cymem__caches_fork_give(int child)
{
#if USE_CACHE
    for (slab_cache *c = caches; c != NULL; c = c->next) {
        if (child && c != tcache) {
            c->orphan = 1;
            __atomic_store_n(&orphans_pending, 1, __ATOMIC_RELAXED);
        }
        cache_unlock(c);
    }
    mutex_unlock(&caches_lock);
#else
    (void)child;
#endif
}

/* ---- large direct blocks ------------------------------------------------ */

/*
 * Direct blocks above the largest size class and below CYMEM__MMAP_MIN come
 * from calloc.  Freed, they wait in a per-thread cache for a request of
 * their bucket instead of going straight back to the heap: a pool's large
 * blocks are often the only thing in glibc's heap, and glibc trims the top
 * of a heap and grows it again (with page faults each time) as such blocks
 * come and go.  Blocks that a program frees one at a time while it keeps
 * many others live (a steady churn) would fill every bucket with memory
 * that no request may come for: of those, a bucket keeps one, which is
 * enough for a block freed and taken again, or grown by realloc step by
 * step.  A reset or a destroy gives back a pool's worth of blocks that
 * the next round, or the next pool, asks for again: of those, a bucket
 * keeps up to BIG_DEPTH, within BIG_BYTES in all.
 */
#if USE_CACHE
static unsigned big_floor(size_t size)
{
    unsigned b = 0;
    while (((size_t)2 << (b + BIG_MIN_SHIFT)) <= size)
        b++;
    return b * BIG_STEPS + (unsigned)((size >> (b + BIG_MIN_SHIFT - 3)) & (BIG_STEPS - 1));
}

static size_t big_size(unsigned b)
{
    unsigned d = b / BIG_STEPS;
    return (size_t)(BIG_STEPS + b % BIG_STEPS) << (d + BIG_MIN_SHIFT - 3);
}

static int big_range(size_t size)
{
    return size > ((size_t)1 << BIG_MIN_SHIFT) && size < CYMEM__MMAP_MIN;
}
#endif

void *cymem__sys_big_alloc(size_t n, size_t *got, int *zeroed)
{
#if USE_CACHE
    if (big_range(n)) {
        unsigned b = big_floor(n);
        if (big_size(b) < n)
            b++;
        slab_cache *c = cache_enter(tcache);
        if (b < BIG_BUCKETS && c != NULL && c->big_count[b] > 0) {
            cached *e = &c->big[b][--c->big_count[b]];
            c->big_bytes -= e->dirty;
            *got = e->dirty;
            *zeroed = 0;
            TRACK_MEM_RETURN(e->mem, e->dirty);
            cache_unlock(c);
            return e->mem;
        }
        cache_leave(c);
        if (b < BIG_BUCKETS)
            n = big_size(b);
    }
#endif
    *got = n;
    *zeroed = 1;
    return cymem__sys_alloc(n);
}

void cymem__sys_big_free(void *p, size_t size, int bulk)
{
#if USE_CACHE
    if (big_range(size)) {
        /* A block of less than big_size(1) bytes (realloc makes blocks of
         * any size) would wait in bucket 0, which no request takes. */
        unsigned b = big_floor(size);
        slab_cache *c = cache_enter(tcache_get());
        if (b > 0 && c != NULL && !c->closing &&
            c->big_count[b] < (bulk ? BIG_DEPTH : BIG_DEPTH_FREED) &&
            c->big_bytes + size <= BIG_BYTES) {
            cached *e = &c->big[b][c->big_count[b]++];
            e->mem = p;
            e->dirty = size;
            c->big_bytes += size;
            TRACK_MEM_CACHED(p, size);
            cache_unlock(c);
            return;
        }
        cache_leave(c);
    }
#endif
    cymem__sys_free(p, size);
}
