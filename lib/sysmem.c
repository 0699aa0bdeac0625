/*
 * sysmem.c - memory from the system for pools without a custom allocator.
 *
 * Slabs, and anything of CYMEM__MMAP_MIN bytes or more, come from fresh
 * anonymous pages; smaller direct blocks and metadata from calloc, which
 * reuses and coalesces freed memory well.  Both are zero.  Slab memory (a
 * power of two between one granule and CYMEM_CHUNK_SIZE_MAX) goes through
 * a small per-thread
 * cache on its way back to the system, so that a program that makes and
 * destroys a pool per request does not pay an mmap and a munmap for every
 * slab of every request.  A cached slab remembers how many of its leading
 * bytes were ever written, so the next pool still knows the rest is zero.
 *
 * The cache holds at most CACHE_BYTES per thread and is emptied when the
 * thread exits.  It is never shared: a slab freed on one thread is reused
 * by pools of that thread.
 *
 * A pool that has grown large carves its slabs from regions instead
 * (pool.c): CYMEM__REGION bytes aligned to a huge page.  The regions of a
 * very large CYMEM_POOL_HUGE_PAGES pool are advised to use transparent
 * huge pages where the system has them, so that the kernel faults them in
 * and frees them a huge page at a time.  Up to REGION_KEEP regions per
 * thread wait here for the next large pool.
 */
#include "internal.h"

#include <errno.h>
#include <stdlib.h>
#ifdef HAVE_MALLOC_TRIM
#  include <malloc.h>
#endif
#ifdef HAVE_UNISTD_H
#  include <unistd.h>
#endif
#ifdef HAVE_SYS_MMAN_H
#  include <sys/mman.h>
#endif

#define CACHE_BYTES   ((size_t)4 << 20)
#define CACHE_DEPTH   256
#define CACHE_MIN_SHIFT CYMEM__GRANULE_SHIFT
#define CACHE_BUCKETS 11                 /* 16 KiB .. 16 MiB */

typedef struct cached {
    void *mem;
    size_t dirty;                        /* leading bytes ever written */
} cached;

#define KEEP_POOLS    4

/* Regions kept per thread, and the alignment they are mapped at. */
#define REGION_KEEP   4
#define HUGE_PAGE     ((size_t)2 << 20)

/* Direct blocks between CYMEM__CLASS_MAX and CYMEM__MMAP_MIN: BIG_STEPS
 * buckets per doubling; a block is made at its bucket's size so that it
 * fits any later request of that bucket. */
#define BIG_STEPS     8
#define BIG_MIN_SHIFT 12                 /* CYMEM__CLASS_MAX = 4 KiB */
#define BIG_BUCKETS   (5 * BIG_STEPS)    /* up to CYMEM__MMAP_MIN = 128 KiB */
#define BIG_DEPTH     16
#define BIG_BYTES     ((size_t)4 << 20)

typedef struct slab_cache {
    int closing;                         /* the thread is exiting */
    unsigned npools;
    cymem_pool *pools[KEEP_POOLS];       /* destroyed pools kept whole */
    size_t bytes;
    unsigned count[CACHE_BUCKETS];
    cached slot[CACHE_BUCKETS][CACHE_DEPTH];
    size_t big_bytes;
    unsigned big_count[BIG_BUCKETS];
    cached big[BIG_BUCKETS][BIG_DEPTH];  /* .dirty holds the block's size */
    unsigned nregions;
    cached regions[REGION_KEEP];
    unsigned char region_huge[REGION_KEEP];
} slab_cache;

static void *pages_alloc(size_t size)
{
#ifdef HAVE_SYS_MMAN_H
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? NULL : p;
#else
    return calloc(1, size);
#endif
}

size_t cymem__page_size(void)
{
    static size_t page;
    size_t p = __atomic_load_n(&page, __ATOMIC_RELAXED);
    if (p == 0) {
        long v = -1;
#ifdef HAVE_UNISTD_H
        v = sysconf(_SC_PAGESIZE);
#endif
        /* Threads racing here all store the same value. */
        p = v > 0 ? (size_t)v : 4096;
        __atomic_store_n(&page, p, __ATOMIC_RELAXED);
    }
    return p;
}

/* munmap() fails only for a bad range or when splitting a mapping would
 * pass the system's limit on mappings; either way the pages stay mapped
 * (address space lost, nothing corrupted), and there is nothing better
 * to do with them, so the result is not used. */
static void pages_free(void *p, size_t size)
{
#ifdef HAVE_SYS_MMAN_H
    (void)munmap(p, size);
#else
    (void)size;
    free(p);
#endif
}

void *cymem__sys_alloc(size_t size)
{
    void *p = size >= CYMEM__MMAP_MIN ? pages_alloc(size) : calloc(1, size);
    if (p == NULL)
        errno = ENOMEM;
    return p;
}

void cymem__sys_free(void *p, size_t size)
{
    if (size >= CYMEM__MMAP_MIN)
        pages_free(p, size);
    else
        free(p);
}

/* ---- the per-thread slab cache ----------------------------------------- */

#if defined(HAVE_SYS_MMAN_H)
#  define USE_CACHE 1
#else
#  define USE_CACHE 0
#endif

#if USE_CACHE
/*
 * The cache's life on a thread: none yet (tcache NULL, tcache_gone 0), then
 * live (tcache set), then gone for good once the thread's key destructor
 * has run (tcache NULL, tcache_gone 1).  Destructors of other keys may run
 * after ours and still use pools (a pool per thread, destroyed by its
 * key's destructor): from then on this thread's pools use the system
 * directly, and no new cache is made, since nothing would free it.
 */
static __thread slab_cache *tcache;
static __thread int tcache_gone;
static pthread_key_t tcache_key;
static pthread_once_t tcache_once = PTHREAD_ONCE_INIT;
static int tcache_key_ok;

/* Give everything @c holds back to the system; returns how many bytes. */
static size_t cache_empty(slab_cache *c)
{
    size_t bytes = 0;
    /* Freeing a kept pool gives its slabs back through this cache; with
     * closing set they go straight to the system. */
    int closing = c->closing;
    c->closing = 1;
    while (c->npools > 0) {
        cymem_pool *pool = c->pools[--c->npools];
        bytes += pool->reserved_bytes;
        cymem__pool_free(pool);
    }
    for (unsigned b = 0; b < BIG_BUCKETS; b++) {
        for (unsigned i = 0; i < c->big_count[b]; i++)
            free(c->big[b][i].mem);
        c->big_count[b] = 0;
    }
    for (unsigned b = 0; b < CACHE_BUCKETS; b++) {
        for (unsigned i = 0; i < c->count[b]; i++)
            pages_free(c->slot[b][i].mem, (size_t)1 << (b + CACHE_MIN_SHIFT));
        c->count[b] = 0;
    }
    bytes += c->big_bytes + c->bytes + (size_t)c->nregions * CYMEM__REGION;
    c->big_bytes = c->bytes = 0;
    while (c->nregions > 0)
        pages_free(c->regions[--c->nregions].mem, CYMEM__REGION);
    c->closing = closing;
    return bytes;
}

static void tcache_release(void *arg)
{
    slab_cache *c = arg;
    c->closing = 1;
    cache_empty(c);
    /* Forget the cache before freeing it: a later destructor's pool calls
     * must not find it. */
    tcache = NULL;
    tcache_gone = 1;
    free(c);
}

static void tcache_key_init(void)
{
    tcache_key_ok = pthread_key_create(&tcache_key, tcache_release) == 0;
}

/* A library unloaded while threads still run must not leave its
 * destructor behind in the key: those threads' caches are then lost
 * (leaked), which is better than a call into unmapped code. */
#  if defined(__GNUC__)
__attribute__((destructor)) static void tcache_unload(void)
{
    if (tcache_key_ok) {
        tcache_key_ok = 0;
        pthread_key_delete(tcache_key);
    }
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
    slab_cache *c = calloc(1, sizeof *c);
    if (c == NULL)
        return NULL;
    if (pthread_setspecific(tcache_key, c) != 0) {
        free(c);
        return NULL;
    }
    return tcache = c;
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
    slab_cache *c = b >= 0 ? tcache : NULL;
    if (c != NULL && c->count[b] > 0) {
        cached *e = &c->slot[b][--c->count[b]];
        c->bytes -= size;
        *dirty = e->dirty;
        return e->mem;
    }
#endif
    *dirty = 0;
    void *p = pages_alloc(size);
    if (p == NULL)
        errno = ENOMEM;
    return p;
}

void cymem__sys_slab_free(void *mem, size_t size, size_t dirty)
{
#if USE_CACHE
    int b = bucket_of(size);
    slab_cache *c = b >= 0 ? tcache_get() : NULL;
    if (c != NULL && !c->closing && c->count[b] < CACHE_DEPTH && c->bytes + size <= CACHE_BYTES) {
        cached *e = &c->slot[b][c->count[b]++];
        e->mem = mem;
        e->dirty = dirty < size ? dirty : size;
        c->bytes += size;
        return;
    }
#else
    (void)dirty;
#endif
    pages_free(mem, size);
}

/* ---- regions ------------------------------------------------------------ */

#if USE_CACHE
/* Ask for transparent huge pages over a region, or stop asking. */
static void region_advise(void *r, int huge)
{
#  if defined(HAVE_MADVISE) && defined(MADV_HUGEPAGE) && defined(MADV_NOHUGEPAGE)
    /* Advice only: where the kernel refuses it (no transparent huge
     * pages), the region works the same with small pages. */
    (void)madvise(r, CYMEM__REGION, huge ? MADV_HUGEPAGE : MADV_NOHUGEPAGE);
#  else
    (void)r;
    (void)huge;
#  endif
}

/* CYMEM__REGION fresh bytes aligned to HUGE_PAGE: map more and trim. */
static void *region_map(void)
{
    char *m = pages_alloc(CYMEM__REGION + HUGE_PAGE);
    if (m == NULL)
        return NULL;
    char *r = (char *)(((uintptr_t)m + HUGE_PAGE - 1) & ~(uintptr_t)(HUGE_PAGE - 1));
    if (r > m)
        pages_free(m, (size_t)(r - m));
    pages_free(r + CYMEM__REGION, (size_t)(m + HUGE_PAGE - r));
    return r;
}
#endif

void *cymem__sys_region_alloc(size_t *dirty, int huge)
{
#if USE_CACHE
    slab_cache *c = tcache;
    void *r;
    if (c != NULL && c->nregions > 0) {
        unsigned i = --c->nregions;
        r = c->regions[i].mem;
        *dirty = c->regions[i].dirty;
        if (c->region_huge[i] != huge)
            region_advise(r, huge);
        return r;
    }
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
    slab_cache *c = tcache_get();
    if (c != NULL && !c->closing && c->nregions < REGION_KEEP) {
        c->regions[c->nregions].mem = mem;
        c->regions[c->nregions].dirty = dirty;
        c->region_huge[c->nregions] = (unsigned char)huge;
        c->nregions++;
        return;
    }
    pages_free(mem, CYMEM__REGION);
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
    if (tcache != NULL)
        bytes = cache_empty(tcache);
#endif
#ifdef HAVE_MALLOC_TRIM
    /* Descriptors, maps and mid-sized blocks came from malloc: let glibc
     * give back the free pages at the top of its heaps too. */
    malloc_trim(0);
#endif
    return bytes;
}

int cymem__sys_keep_pool(cymem_pool *pool)
{
#if USE_CACHE
    slab_cache *c = tcache_get();
    if (c != NULL && !c->closing && c->npools < KEEP_POOLS) {
        c->pools[c->npools++] = pool;
        return 1;
    }
#else
    (void)pool;
#endif
    return 0;
}

cymem_pool *cymem__sys_reuse_pool(size_t chunk_size)
{
#if USE_CACHE
    slab_cache *c = tcache;
    if (c != NULL && c->npools > 0 && c->pools[c->npools - 1]->chunk_size == chunk_size)
        return c->pools[--c->npools];
#else
    (void)chunk_size;
#endif
    return NULL;
}

/* ---- large direct blocks ------------------------------------------------ */

/*
 * Direct blocks above the largest size class and below CYMEM__MMAP_MIN come
 * from calloc.  Freed, they wait in a per-thread cache for a request of
 * their bucket instead of going straight back to the heap: a pool's large
 * blocks are often the only thing in glibc's heap, and glibc trims the top
 * of a heap and grows it again (with page faults each time) as such blocks
 * come and go.
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
        slab_cache *c = tcache;
        if (b < BIG_BUCKETS && c != NULL && c->big_count[b] > 0) {
            cached *e = &c->big[b][--c->big_count[b]];
            c->big_bytes -= e->dirty;
            *got = e->dirty;
            *zeroed = 0;
            return e->mem;
        }
        if (b < BIG_BUCKETS)
            n = big_size(b);
    }
#endif
    *got = n;
    *zeroed = 1;
    return cymem__sys_alloc(n);
}

void cymem__sys_big_free(void *p, size_t size)
{
#if USE_CACHE
    if (big_range(size)) {
        unsigned b = big_floor(size);
        slab_cache *c = tcache_get();
        if (c != NULL && !c->closing && c->big_count[b] < BIG_DEPTH &&
            c->big_bytes + size <= BIG_BYTES) {
            cached *e = &c->big[b][c->big_count[b]++];
            e->mem = p;
            e->dirty = size;
            c->big_bytes += size;
            return;
        }
    }
#endif
    cymem__sys_free(p, size);
}
