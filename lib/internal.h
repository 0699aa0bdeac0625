/*
 * internal.h - libcymem's private structures, shared by the lib sources.
 *
 * doc/design.md describes the engine; in short:
 *
 *  - Small blocks (up to pool->small_max) come from slabs.  A slab is one
 *    piece of memory from the backing allocator, cut into equal blocks of
 *    one size class.  Which blocks are live, and how many bytes were asked
 *    for each, lives in the slab's descriptor and its slack array, out of
 *    line from user memory, and so does the bitmap of its freed blocks:
 *    the engine never writes into a block it does not hand out.
 *  - The page map (addr >> CYMEM__GRANULE_SHIFT -> at most two chunks,
 *    each with its pool), one for the process, finds the slab or arena
 *    chunk of any pointer without touching the pointer's memory, which
 *    makes free() exact for foreign and garbage pointers.
 *  - A new pool serves small blocks from an arena first (arena.c): bump
 *    allocation of mixed sizes from one chunk, the keeper, which also holds
 *    the pool itself, then from further arena chunks, for its first MiB.
 *    A mark byte per 16-byte unit, out of line, says which units start a
 *    block and whether it is live.  Slabs serve the rest, and a pool whose
 *    frees leave too much of its arena unused; a reset after no individual
 *    free makes the slabs arena chunks.
 *  - Large and over-aligned blocks are "direct": one backing allocation
 *    each, found by exact address in the direct map.
 *  - os.c gets memory from the system, tcache.c keeps it per thread for
 *    the next pool (slabs, arena chunks, large blocks, regions, and bare
 *    keepers of destroyed pools), and backing.c is the one interface
 *    between a pool and its memory, system or custom, with the accounting
 *    of it.
 *
 * doc/design.md, "Files and layers", has the order of the files; each
 * declares what it offers in its own header (os.h, tcache.h, backing.h,
 * hashtab.h, pagemap.h, ptrmap.h, region.h, arena.h, slab.h, direct.h,
 * stats.h, blocks.h, shared.h, options.h, track.h, invariants.h), and this
 * one the structures they share, the pool's lock and a heap's.
 */
#ifndef CYMEM_INTERNAL_H
#define CYMEM_INTERNAL_H

#include "config.h"

#include <cymem.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>

#if defined(__GNUC__)
#  define likely(x)   __builtin_expect(!!(x), 1)
#  define unlikely(x) __builtin_expect(!!(x), 0)
#  define NOINLINE    __attribute__((noinline))
#else
#  define likely(x)   (x)
#  define unlikely(x) (x)
#  define NOINLINE
#endif

#define IS_POW2(x) ((x) != 0 && ((x) & ((x) - 1)) == 0)

/* The pool flags cymem_pool_new_ex() accepts. */
#define CYMEM__POOL_FLAGS (CYMEM_POOL_THREADSAFE | CYMEM_POOL_HUGE_PAGES)

/* Every block is aligned to this; at least alignof(max_align_t). */
#define CYMEM__MIN_ALIGN 16
/* Slab bases are aligned to this, so classes that are multiples of it can
 * serve cymem_pool_alloc_aligned() with alignments up to it. */
#define CYMEM__SLAB_ALIGN 64

/* Granule of the page map: every slab spans at least one granule. */
#define CYMEM__GRANULE_SHIFT 14
#define CYMEM__GRANULE ((size_t)1 << CYMEM__GRANULE_SHIFT)

/* Size classes: 16..256 by 16, then 8 classes per doubling up to 4 KiB.
 * Larger blocks are direct: their memory goes back to the backing
 * allocator when they are freed, where it can serve any size. */
#define CYMEM__NCLASSES 48
#define CYMEM__CLASS_MAX ((size_t)4 << 10)
/* The class table holds each class twice: entry c for plain blocks, entry
 * NCLASSES + c for blocks allocated with an alignment above MIN_ALIGN
 * (served SLAB_ALIGN-aligned), so a slab's class says what alignment its
 * blocks must keep when realloc moves them. */
#define CYMEM__NTABLE (2 * CYMEM__NCLASSES)

/* The system allocator maps pages for direct blocks from this size on. */
#define CYMEM__MMAP_MIN ((size_t)128 << 10)

/* The default chunk size: the largest a slab grows to. */
#define CYMEM__CHUNK_DEFAULT ((size_t)1 << 20)

/* A pool that holds REGION_AFTER bytes carves its further slabs from
 * regions of CYMEM__REGION bytes (tcache.c); only the system allocator's
 * pools do, and only slabs of at most half a region.  From HUGE_AFTER
 * bytes on, new regions of a CYMEM_POOL_HUGE_PAGES pool ask for
 * transparent huge pages. */
#define CYMEM__REGION ((size_t)4 << 20)
#define CYMEM__REGION_AFTER ((size_t)1 << 20)
#define CYMEM__HUGE_AFTER ((size_t)8 << 20)

/* Arenas (arena.c).  Blocks are whole units of 1 << UNIT_SHIFT bytes.  A
 * pool's keeper chunk is KEEPER bytes (at most its chunk size) and holds
 * the pool, the keeper's descriptor, its units, then their marks; further
 * arena chunks start at ARENA_MIN bytes and double up to the chunk size.
 * A pool leaves arena mode when its freed, unreused arena bytes exceed
 * ARENA_DEAD_MIN and 1/ARENA_DEAD_DIVISOR of its arena, or when its
 * frees have made ARENA_CHURN holes since its last reset (an arena within
 * its budget only). */
#define CYMEM__UNIT_SHIFT 4
#define CYMEM__UNIT ((size_t)1 << CYMEM__UNIT_SHIFT)
#define CYMEM__KEEPER ((size_t)64 << 10)
#define CYMEM__ARENA_MIN ((size_t)64 << 10)
#define CYMEM__ARENA_DEAD_MIN ((size_t)256 << 10)
/* A pool makes arena chunks for its first ARENA_BUDGET bytes; its further
 * small blocks come from slabs, until a reset finds that the pool freed no
 * block individually: its slabs then become arena chunks, and the arena
 * grows without bound (arena.c). */
#define CYMEM__ARENA_BUDGET ((size_t)1 << 20)
#define CYMEM__ARENA_DEAD_DIVISOR 4
#define CYMEM__ARENA_CHURN ((size_t)1 << 13)
/* The cls of an arena chunk's descriptor. */
#define CYMEM__ARENA_CLS 0xFFu

/*
 * A slab's freed blocks are a bitmap of FMAP_LEVELS levels at most: level
 * 0 has a bit per block, and each level above has a bit per word of the
 * level below, set when that word is not empty (slab.c has the one
 * exception, the hint); the top level is one word.  Finding a freed block
 * then costs a count-trailing-zeros per level whatever the slab's size: a
 * slab of CYMEM_CHUNK_SIZE_MAX bytes of the smallest blocks has 2^20 of
 * them, 2^14 + 2^8 + 2^2 + 1 words in four levels.
 */
#define CYMEM__FMAP_LEVELS 4

/* A slab other than its class's current one joins the class's avail list
 * once 1/AVAIL_DIVISOR of its blocks are free (at least one); slab.c says
 * why. */
#define CYMEM__AVAIL_DIVISOR 64

/* The largest slack a narrow (uint8_t) and a wide (uint16_t) entry hold. */
#define CYMEM__SLACK_MAX8  0xFFu
#define CYMEM__SLACK_MAX16 0xFFFFu
/* No block (slab_index() of a pointer that is not a live block). */
#define CYMEM__NO_BLOCK 0xFFFFFFFFu

/*
 * A slab, or an arena chunk (cls == CYMEM__ARENA_CLS).  An arena chunk
 * uses the fields this way: bsize is CYMEM__UNIT, nblocks its units, next
 * the bump index (units below it are handed out), dirty_end as for slabs in
 * units; marks has a byte per unit (arena.h says what it holds); nfree
 * counts its live blocks and live_units their units.  slack and fmap are
 * not used.
 */
typedef struct cymem__slab {
    char *base;              /* first block; aligned to CYMEM__SLAB_ALIGN */
    size_t span;             /* nblocks * bsize */
    uint64_t recip;          /* ceil(2^40 / bsize): offset -> index */
    uint32_t bsize;          /* block size of the class */
    uint32_t nblocks;
    uint32_t next;           /* blocks >= next are untouched since reset */
    /* Blocks < dirty_end may hold old bytes; blocks >= max(next,
     * dirty_end) are zero (invariant 3 of doc/design.md). */
    uint32_t dirty_end;
    uint32_t nfree;          /* freed blocks below next: bits set in fmap */
    uint32_t hint;           /* level-0 word blocks are taken from first */
    uint32_t avail_min;      /* freed blocks that put it on the avail list */
    uint8_t cls;             /* size class */
    uint8_t wide;            /* slack entries are uint16_t, else uint8_t */
    uint8_t list;            /* SLAB_ON_*: which class list holds it;
                                SLAB_CURRENT: its class's current slab */
    uint8_t carved;          /* its memory is part of a region */
    uint8_t levels;          /* levels of fmap in use, 1..FMAP_LEVELS */
    uint8_t inside;          /* arena chunks but the keeper: marks after
                                the units and a pad, in mem (arena.h) */
    uint32_t live_units;     /* arena chunks: units of their live blocks */
    /* Word offset in fmap of each level; lvl[levels] is fmap's length. */
    uint16_t lvl[CYMEM__FMAP_LEVELS + 1];
    /* fmap + lvl[l], for l < levels: derivable, but with the pointers the
     * summary update that free inlines needs no register saved. */
    uint64_t *lv[CYMEM__FMAP_LEVELS];
    /* Per live block: bsize - requested; the entries of freed blocks are
     * stale, those at or above next not initialised. */
    void *slack;
    uint64_t *fmap;          /* freed blocks below next, level 0 first */
    uint8_t *marks;          /* arena chunks: a byte per unit; NULL for slabs */
    struct cymem__slab *next_in_class;
    struct cymem__slab *lprev, *lnext;  /* links on that list */
    void *mem;               /* the backing allocation of the blocks */
    size_t mem_size;
    size_t meta_size;        /* this descriptor + slack array + fmap */
    /* The pool it belongs to: a shared pool's free finds the heap of a
     * block from its chunk (shared.c). */
    struct cymem_pool *home;
} cymem__slab;

/* A class's slabs other than the current one wait on one of two lists:
 * "avail" holds slabs with freed blocks, which are used before any
 * untouched block so that memory freed is memory reused; "fresh" holds
 * slabs with untouched blocks only (after a reset, or left with room).
 * The current slab is on neither, and says so: a free checks for a slab
 * that may have to join the avail list by one comparison, list <
 * SLAB_ON_AVAIL. */
enum { SLAB_ON_NONE, SLAB_ON_FRESH, SLAB_ON_AVAIL, SLAB_CURRENT };

typedef struct cymem__class {
    cymem__slab *cur;        /* slab that serves allocations */
    cymem__slab *avail;      /* slabs with freed blocks */
    cymem__slab *fresh;      /* slabs with untouched blocks only */
    cymem__slab *all;        /* every slab of the class */
    size_t bytes;            /* block bytes of all its slabs */
} cymem__class;

/* Direct block: its own backing allocation. */
typedef struct cymem__direct {
    uintptr_t key;           /* the user pointer; 0 = empty slot */
    void *orig;              /* what the backing allocator returned */
    size_t asked;            /* what it was asked for */
    size_t size;             /* requested size */
    size_t align;            /* alignment asked for (>= MIN_ALIGN) */
} cymem__direct;

typedef struct cymem__map {
    void *tab;               /* cymem__direct[] */
    size_t mask;             /* capacity - 1, capacity a power of two */
    size_t count;
    unsigned shift;          /* 64 - log2(capacity), for the hash */
} cymem__map;

/* A region: slabs are carved from its start on, in whole granules. */
typedef struct cymem__region {
    char *mem;               /* CYMEM__REGION bytes */
    size_t used;             /* bytes carved so far */
    size_t dirty;            /* leading bytes that may hold old data */
    int huge;                /* advised to use huge pages */
    struct cymem__region *next;
} cymem__region;

typedef struct cymem__cleanup {
    void (*fn)(void *arg);
    void *arg;
    struct cymem__cleanup *next;
} cymem__cleanup;

/* Freed arena blocks of one class wait here to be reused. */
typedef struct cymem__hole {
    cymem__slab *chunk;
    uint32_t idx;            /* first unit */
    uint32_t units;
} cymem__hole;

typedef struct cymem__hbin {
    cymem__hole *v;
    size_t n, cap;
} cymem__hbin;

/* The mutex of pools that share a custom allocator (backing.c): a plain
 * mutex that its holder may take again, as the allocator's functions may
 * use a pool that shares it.  @owner (a token of the holding thread, 0
 * for none) and @depth (the holder's further takes) are written by the
 * holder only; a plain mutex, not a recursive one, so that the child of a
 * fork() may give it back from its one thread (fork.c). */
typedef struct cymem__bk_mutex {
    pthread_mutex_t mu;
    uintptr_t owner;
    unsigned depth;
} cymem__bk_mutex;

struct cymem_pool {
    /* The fields the fast paths read come first, on one cache line. */
    cymem__slab *arena_fast; /* arena, when the fast path may serve */
    cymem__class *fast;      /* classes, when the fast path may serve
                                (a plain pool out of arena mode) */
    char *kbase;             /* the keeper's units, and their bytes */
    uint32_t kspan;
    uint32_t plain;          /* no lock, no checker hooks */
    /* Live slab blocks are counted per slab (next - nfree), and summed by
     * cymem_pool_stats(): the hot paths keep only live and peak bytes. */
    size_t live_bytes, peak_bytes;
    size_t page_slots;       /* its slots in the page map (pagemap.c) */
    /* A shared pool's number, which no other pool has had (shared.c); 0
     * for any other pool.  Here, where the fallback of the fast paths
     * and the threads' caches read it. */
    uint64_t uid;

    cymem__slab *arena;      /* serves bump allocations; NULL out of arena mode */
    cymem__slab *arenas;     /* arena chunks after the keeper, oldest first */
    cymem__hbin *holes;      /* freed arena blocks by class, or NULL */
    size_t nholes;           /* holes waiting in them */
    size_t arena_bytes;      /* span of every arena chunk, keeper included */
    size_t arena_budget;     /* arena_bytes may grow up to this */
    size_t arena_dead;       /* bytes of freed arena blocks not reused */
    size_t arena_churn;      /* holes made in arena mode since the reset */
    cymem__class *classes;   /* NULL until a small block needs a slab */
    size_t small_max;        /* largest size served by slabs */
    unsigned flags;
    int sys;                 /* backing allocator is the system one */
    cymem_allocator bk;      /* backing allocator (when !sys) */
    size_t chunk_size;
    size_t keeper_size;      /* bytes of the pool's own allocation */

    /* accounting */
    size_t direct_blocks, direct_used;  /* live direct blocks, their bytes */
    size_t reserved_bytes, chunk_count, metadata_bytes;

    cymem__map direct;       /* pointer -> direct block */
    cymem__region *regions;  /* newest first: slabs are carved from it */
    cymem__cleanup *cleanups;

    cymem_pool *parent, *first_child, *next_sibling, *prev_sibling;
    pthread_mutex_t lock;    /* initialised only for THREADSAFE pools */

    /* The owner of its chunks in the page map: the pool itself, or, for a
     * heap, the shared pool it serves (shared.c). */
    const cymem_pool *key;
    /* A shared pool (THREADSAFE, system memory): its heaps, heapv[0..
     * nheaps), at most heapcap of them, made as threads first use it.  A
     * heap: its lock (shared.c). */
    cymem_pool **heapv;
    unsigned nheaps, heapcap, nextheap;
    unsigned resets;         /* a shared pool's resets, twice (shared.c) */
    uint64_t thread;         /* a heap: the thread it was made for */
    int hlock;
    /* The debug mode's count of calls under way on a shared pool, which a
     * destroy must find at 0. */
    int busy;
    /* A custom allocator that pools of different threads may call: the
     * mutex every call to it takes, that of the pool it was given to
     * (bk_mutex, made when the pool gets its first child that inherits
     * the allocator), for that pool and every descendant that inherits
     * it; NULL while no other pool uses the allocator (backing.c). */
    cymem__bk_mutex *bk_lock;
    cymem__bk_mutex bk_mutex;
    /* A THREADSAFE pool, or the owner of bk_mutex: its neighbours on the
     * list of the pools whose locks a fork() takes (fork.c). */
    cymem_pool *fork_prev, *fork_next;
};

/* ---- size classes ---- */

static inline unsigned floor_log2(size_t x)
{
#if defined(__GNUC__)
    return 63u - (unsigned)__builtin_clzll((unsigned long long)x);
#else
    unsigned b = 0;
    while (x >>= 1)
        b++;
    return b;
#endif
}

/* The class of a request of @n bytes, n <= CYMEM__CLASS_MAX. */
static inline unsigned size_class(size_t n)
{
    if (n <= 256)
        return n ? (unsigned)((n - 1) >> 4) : 0;
    unsigned b = floor_log2(n - 1);              /* 2^b <= n-1 < 2^(b+1) */
    return 16 + (b - 8) * 8 + (unsigned)((n - 1) >> (b - 3)) - 8;
}

/* The block size of class @c. */
static inline size_t class_size(unsigned c)
{
    if (c < 16)
        return (size_t)(c + 1) << 4;
    size_t base = (size_t)256 << ((c - 16) >> 3);
    return base + (((c - 16) & 7) + 1) * (base >> 3);
}

/* ---- slab blocks (slab.c, invariants.c) ---- */

/* A class's current slab before its first slab exists (slab.c). */
extern cymem__slab cymem__empty_slab;

static inline size_t slab_get_slack(const cymem__slab *s, uint32_t idx)
{
    /* Narrow entries are the common case: blocks up to 2 KiB. */
    return unlikely(s->wide) ? ((const uint16_t *)s->slack)[idx]
                             : ((const uint8_t *)s->slack)[idx];
}

static inline size_t slab_max_slack(const cymem__slab *s)
{
    return s->wide ? CYMEM__SLACK_MAX16 : CYMEM__SLACK_MAX8;
}

/* Whether block @idx (< next) was freed: its bit in level 0 of the bitmap,
 * the one record of it (its slack entry is then stale). */
static inline int slab_is_free(const cymem__slab *s, uint32_t idx)
{
    return (int)((s->fmap[idx >> 6] >> (idx & 63)) & 1);
}

/* The keeper chunk's descriptor: right after the pool in its memory. */
static inline cymem__slab *pool_keeper(const cymem_pool *pool)
{
    return (cymem__slab *)(void *)((char *)(uintptr_t)pool +
                                   ((sizeof(cymem_pool) + 15) & ~(size_t)15));
}

/* The index of the live block of @s that starts at @ptr, or NO_BLOCK. */
static inline uint32_t slab_index(const cymem__slab *s, const void *ptr)
{
    size_t off = (size_t)((const char *)ptr - s->base);
    uint32_t idx = (uint32_t)((off * s->recip) >> 40);
    if ((size_t)idx * s->bsize != off || idx >= s->next || slab_is_free(s, idx))
        return CYMEM__NO_BLOCK;
    return idx;
}

/* ---- accounting of live bytes (arena.h, slab.h, direct.c) ---- */

/* live_bytes is exact at every moment; its largest value so far is
 * max(peak_bytes, live_bytes): live_bytes reaches a new high only by
 * growing, and the high is kept in peak_bytes when it starts to fall, so
 * the allocation fast paths never touch the peak (pool_peak()). */
static inline void account_alloc(cymem_pool *pool, size_t n)
{
    pool->live_bytes += n;
}

static inline void note_peak(cymem_pool *pool)
{
    if (pool->live_bytes > pool->peak_bytes)
        pool->peak_bytes = pool->live_bytes;
}

static inline void account_free(cymem_pool *pool, size_t n)
{
    note_peak(pool);
    pool->live_bytes -= n;
}

static inline void account_resize(cymem_pool *pool, size_t old, size_t n)
{
    if (n < old)
        note_peak(pool);
    pool->live_bytes = pool->live_bytes - old + n;
}

/* The most live bytes @pool has held. */
static inline size_t pool_peak(const cymem_pool *pool)
{
    return pool->live_bytes > pool->peak_bytes ? pool->live_bytes : pool->peak_bytes;
}

/* ---- pool.c ---- */
/* Free a pool for good, with everything it holds. */
void cymem__pool_free(cymem_pool *pool);

/* ---- locking (api.c, pool.c, stats.c) ---- */

/* Report a failure that leaves no safe way on on stderr, and abort
 * (debug.c): "@what failed: <strerror(@err)>" for a call that failed
 * with errno value @err, or @what as it is (a state found) if @err is 0. */
void cymem__fatal(const char *what, int err);

/* The library's mutexes are default ones that it alone locks and
 * unlocks, so these calls cannot fail unless its memory was overwritten:
 * then going on would corrupt more, and cymem__fatal() aborts. */
static inline void mutex_lock(pthread_mutex_t *mu)
{
    int err = pthread_mutex_lock(mu);
    if (unlikely(err != 0))
        cymem__fatal("pthread_mutex_lock", err);
}

static inline void mutex_unlock(pthread_mutex_t *mu)
{
    int err = pthread_mutex_unlock(mu);
    if (unlikely(err != 0))
        cymem__fatal("pthread_mutex_unlock", err);
}

/* A THREADSAFE pool's mutex. */
static inline void pool_lock(const cymem_pool *pool)
{
    if (unlikely(pool->flags & CYMEM_POOL_THREADSAFE))
        mutex_lock(&((cymem_pool *)pool)->lock);
}

static inline void pool_unlock(const cymem_pool *pool)
{
    if (unlikely(pool->flags & CYMEM_POOL_THREADSAFE))
        mutex_unlock(&((cymem_pool *)pool)->lock);
}

/* ---- a heap's spin lock (shared.c, invariants.c) ---- */

/* Wait until *@lock is 0 and take it (os.c: spin, then yield). */
void cymem__spin_wait(int *lock);

/* Take it if no other thread has it: 1, or 0 with nothing done. */
static inline int heap_trylock(const cymem_pool *h)
{
    return __atomic_exchange_n(&((cymem_pool *)h)->hlock, 1, __ATOMIC_ACQUIRE) == 0;
}

static inline void heap_lock(const cymem_pool *h)
{
    if (unlikely(!heap_trylock(h)))
        cymem__spin_wait(&((cymem_pool *)h)->hlock);
}

static inline void heap_unlock(const cymem_pool *h)
{
    __atomic_store_n(&((cymem_pool *)h)->hlock, 0, __ATOMIC_RELEASE);
}

/* The tail calls of the engines' frees (slab.h, arena.h) for a heap's
 * fast path, which holds the heap's lock (@unlock): the same calls, then
 * the lock given back (shared.c). */
int cymem__small_freed_unlock(cymem_pool *heap, cymem__slab *s, uint32_t idx);
int cymem__arena_hole_unlock(cymem_pool *heap, cymem__slab *a, uint32_t idx, uint32_t units);
int cymem__arena_back_unlock(cymem_pool *heap);

#endif /* CYMEM_INTERNAL_H */
