/*
 * pool.c - libcymem's pools: slabs of size classes, direct blocks, reset,
 * destroy, children, cleanups and accounting.
 *
 * doc/design.md gives the design and its invariants; internal.h the
 * structures.  The hot paths (small_alloc, small_free) touch the pool, the
 * class's current slab and its slack array, and nothing else; everything
 * rarer lives in out-of-line functions.
 *
 * The top layer of lib/ (doc/design.md, "Files and layers"): it calls
 * every layer below (backing.c for memory, pagemap.c and ptrmap.c for the
 * maps, region.c and arena.c, invariants.c, debug.c and options.c), and
 * nothing below calls it: arena.h's inline fast paths, which pool.c alone
 * instantiates, end in cymem__alloc_refill() here.  The invariants it
 * keeps are those of doc/design.md, checked by invariants.c.
 */
#include "internal.h"
#include "arena.h"
#include "track.h"
#include "invariants.h"
#include "backing.h"
#include "os.h"
#include "pagemap.h"
#include "ptrmap.h"
#include "region.h"
#include "tcache.h"

#include <errno.h>
#include <stdlib.h>

#define IS_POW2(x) ((x) != 0 && ((x) & ((x) - 1)) == 0)

/* ---- Slabs ------------------------------------------------------------- */

static inline void slab_set_slack(cymem__slab *s, uint32_t idx, size_t v)
{
    if (s->wide)
        ((uint16_t *)s->slack)[idx] = (uint16_t)v;
    else
        ((uint8_t *)s->slack)[idx] = (uint8_t)v;
}

/* ---- The freed-block bitmap (see CYMEM__FMAP_LEVELS) ------------------- */

/*
 * Level 0 of the bitmap has a bit per block; a bit of level l > 0 stands
 * for a word of level l - 1.  The summary bits are exact, with one
 * exception that keeps the common case to one word: the hint.  The hint is
 * a level-0 word whose bits in the levels above are always set, whether or
 * not it has a freed block; every other word has its bit above set exactly
 * when it is not empty.  Blocks are taken from the hint word while it has
 * any (frees of nearby blocks land there, and cost no summary update);
 * when it runs dry, its summary bits are cleared and the lowest non-empty
 * word, found from the top word down with one count-trailing-zeros per
 * level, becomes the hint.  Every call is O(levels), at most
 * CYMEM__FMAP_LEVELS, whatever the slab's size and wherever its freed
 * blocks are.
 */
#define FMAP_BIT(i) ((uint64_t)1 << ((i) & 63))

/* Set the summary bits of level-0 word @w, going up while a word was empty. */
static void fmap_mark_up(cymem__slab *s, uint32_t w)
{
    for (unsigned l = 1; l < s->levels; l++, w >>= 6) {
        uint64_t *p = s->lv[l] + (w >> 6), old = *p;
        *p = old | FMAP_BIT(w);
        if (old != 0)
            return;
    }
}

/* Clear the summary bits of level-0 word @w, going up while a word
 * becomes empty. */
static void fmap_clear_up(cymem__slab *s, uint32_t w)
{
    for (unsigned l = 1; l < s->levels; l++, w >>= 6) {
        uint64_t *p = s->lv[l] + (w >> 6);
        *p &= ~FMAP_BIT(w);
        if (*p != 0)
            return;
    }
}

/* Record block @idx as freed. */
static inline void fmap_set(cymem__slab *s, uint32_t idx)
{
    uint32_t w = idx >> 6;
    uint64_t *p = s->fmap + w, old = *p;
    *p = old | FMAP_BIT(idx);
    if (unlikely(old == 0) && w != s->hint)
        fmap_mark_up(s, w);
}

/* The hint word is empty and another word is not: drop the hint's summary
 * bits and make the lowest non-empty word the hint. */
static void fmap_rehint(cymem__slab *s)
{
    fmap_clear_up(s, s->hint);
    uint32_t w = 0;
    for (unsigned l = s->levels - 1u; l > 0; l--)
        w = w * 64 + (uint32_t)__builtin_ctzll(s->lv[l][w]);
    s->hint = w;
}

/* An empty bitmap: no freed block, the hint at word 0. */
static void fmap_init(cymem__slab *s, size_t level0_words)
{
    memset(s->fmap, 0, level0_words * sizeof(uint64_t));
    memset(s->fmap + s->lvl[1], 0,
           (size_t)(s->lvl[s->levels] - s->lvl[1]) * sizeof(uint64_t));
    s->hint = 0;
    fmap_mark_up(s, 0);
}

/* Lay out the levels of the bitmap of @nblocks blocks: the word offset of
 * each in lvl[] (lvl[levels] its length), their number in *levels.
 * Returns the words of the whole bitmap. */
static size_t fmap_layout(uint16_t lvl[CYMEM__FMAP_LEVELS + 1], uint8_t *levels,
                          uint32_t nblocks)
{
    size_t words = ((size_t)nblocks + 63) / 64, at = 0;
    unsigned l = 0;
    for (;;) {
        lvl[l++] = (uint16_t)at;
        at += words;
        if (words == 1)
            break;
        words = (words + 63) / 64;
    }
    *levels = (uint8_t)l;
    lvl[l] = (uint16_t)at;
    return at;
}

/* A class's current slab before its first slab exists: never has room, and
 * is never written to. */
cymem__slab cymem__empty_slab;

/*
 * The size of the next slab of class @c: a power of two holding at least
 * SLAB_MIN_BLOCKS blocks and a granule, then growing with the class so
 * that a new slab adds about 1/SLAB_GROWTH of what the class holds.  Slow
 * growth keeps the unused tail of a class's newest slab small compared
 * with what the class uses; slabs are cheap, so their number matters less.
 */
#define SLAB_MIN_BLOCKS 8
#define SLAB_GROWTH 4

/*
 * A slab other than the current one joins its class's avail list once
 * 1/CYMEM__AVAIL_DIVISOR of its blocks are free (at least one).  Switching
 * slabs costs a few cache misses, so a switch should pay for itself with
 * more than a block or two; the blocks a slab holds back meanwhile are at
 * most that fraction of it, and are used as soon as the slab serves again.
 */

/* The smallest slab class @bsize may have: a granule, and room for
 * SLAB_MIN_BLOCKS blocks when the chunk size allows. */
static size_t slab_min_bytes(const cymem_pool *pool, size_t bsize)
{
    size_t bytes = CYMEM__GRANULE;
    while (bytes < SLAB_MIN_BLOCKS * bsize && bytes < pool->chunk_size)
        bytes *= 2;
    return bytes;
}

static size_t slab_bytes(const cymem_pool *pool, const cymem__class *sc, size_t bsize)
{
    size_t bytes = slab_min_bytes(pool, bsize);
    while (bytes < pool->chunk_size && bytes * 2 * SLAB_GROWTH <= sc->bytes)
        bytes *= 2;
    return bytes;
}

#define CARVE_MAX ((size_t)128 << 10)

static cymem__slab *slab_new(cymem_pool *pool, unsigned c)
{
    cymem__class *sc = &pool->classes[c];
    size_t bsize = class_size(c % CYMEM__NCLASSES);
    size_t bytes = slab_bytes(pool, sc, bsize);
    size_t dirty;
    void *mem = NULL;
    size_t mem_size;
    int carved = 0;

    if (pool->sys && bytes <= CYMEM__REGION / 2 &&
        pool->reserved_bytes >= CYMEM__REGION_AFTER) {
        /* Huge pages are faulted in whole, so the untouched tail of each
         * class's newest slab costs memory: keep carved slabs small. */
        size_t min = slab_min_bytes(pool, bsize);
        if (bytes > CARVE_MAX)
            bytes = min > CARVE_MAX ? min : CARVE_MAX;
        mem = cymem__region_carve(pool, &bytes, min, &dirty);
        carved = mem != NULL;
    }
    /* The system allocator hands out whole pages; any other may give just
     * MIN_ALIGN, so ask for enough to align the base. */
    mem_size = bytes + (pool->sys ? 0 : CYMEM__SLAB_ALIGN - CYMEM__MIN_ALIGN);
    uint32_t nblocks = (uint32_t)(bytes / bsize);
    int wide = bsize > 2048;
    uint16_t lvl[CYMEM__FMAP_LEVELS + 1];
    uint8_t levels;
    size_t words = fmap_layout(lvl, &levels, nblocks);
    size_t map_at = (sizeof(cymem__slab) + (size_t)nblocks * (wide ? 2 : 1) + 7) & ~(size_t)7;
    size_t meta = map_at + words * sizeof(uint64_t);
    cymem__slab *s = cymem__meta_alloc(pool, meta);
    if (s == NULL)
        goto fail;
    if (!carved && (mem = cymem__slab_mem_alloc(pool, mem_size, &dirty)) == NULL) {
        cymem__meta_free(pool, s, meta);
        return NULL;
    }
    memset(s, 0, sizeof *s);
    s->mem = mem;
    s->mem_size = mem_size;
    s->meta_size = meta;
    s->carved = (uint8_t)carved;
    s->base = (char *)(((uintptr_t)mem + CYMEM__SLAB_ALIGN - 1) & ~(uintptr_t)(CYMEM__SLAB_ALIGN - 1));
    s->bsize = (uint32_t)bsize;
    s->nblocks = nblocks;
    s->span = (size_t)nblocks * bsize;
    s->recip = (((uint64_t)1 << 40) + bsize - 1) / bsize;
    s->avail_min = nblocks / CYMEM__AVAIL_DIVISOR ? nblocks / CYMEM__AVAIL_DIVISOR : 1;
    /* Blocks that overlap the dirty prefix must be cleared when used. */
    size_t lead = (size_t)(s->base - (char *)mem);
    s->dirty_end = dirty <= lead ? 0
                 : (uint32_t)((dirty - lead + bsize - 1) / bsize < nblocks
                              ? (dirty - lead + bsize - 1) / bsize : nblocks);
    s->cls = (uint8_t)c;
    s->wide = (uint8_t)wide;
    s->slack = s + 1;
    s->fmap = (uint64_t *)((char *)s + map_at);
    s->levels = levels;
    memcpy(s->lvl, lvl, sizeof s->lvl);
    for (unsigned l = 0; l < s->levels; l++)
        s->lv[l] = s->fmap + s->lvl[l];
    fmap_init(s, s->lvl[1]);
    if (cymem__page_insert(pool, s) != 0) {
        if (!carved)
            cymem__slab_mem_free(pool, mem, mem_size, dirty);
        cymem__meta_free(pool, s, meta);
        goto fail;
    }
    TRACK_SLAB_NEW(s->base, s->span);
    s->next_in_class = sc->all;
    sc->all = s;
    sc->bytes += bytes;
    return s;

fail:
    /* A carved slab was the last thing taken from its region. */
    if (carved)
        pool->regions->used -= bytes;
    return NULL;
}

static void *small_refill(cymem_pool *pool, size_t n, unsigned c);
static void *small_rehint(cymem_pool *pool, size_t n, unsigned c);

static void *small_alloc(cymem_pool *pool, size_t n, unsigned c);

/*
 * Allocate @n bytes from class @c: the hot path.  @track is a constant:
 * the fast path of cymem_pool_alloc() inlines this with 0, for pools that
 * run no checker hooks (pool->fast); small_alloc() is the instance with 1.
 * Every call in it is a tail call, so the fast path saves no registers.
 * Freed blocks are used first, lowest first, then untouched ones.
 */
static inline __attribute__((always_inline))
void *small_take(cymem_pool *pool, size_t n, unsigned c, const int track)
{
    /* The fast path's copy of classes, on the pool's first cache line. */
    cymem__class *sc = &(track ? pool->classes : pool->fast)[c];
    cymem__slab *s = sc->cur;
    uint32_t idx;
    char *p;

    if (s->nfree != 0) {
        /* A freed block of the hint word; when the word is empty, finding
         * the next one is a tail call, like every call here. */
        uint32_t w = s->hint;
        uint64_t bits = s->fmap[w];
        if (unlikely(bits == 0))
            return small_rehint(pool, n, c);
        s->fmap[w] = bits & (bits - 1);
        idx = w * 64 + (uint32_t)__builtin_ctzll(bits);
        s->nfree--;
        p = s->base + (size_t)idx * s->bsize;
        slab_set_slack(s, idx, s->bsize - n);
        account_alloc(pool, n);
        if (track) {
            TRACK_BLOCK_REUSE(pool, p, s->bsize);
            TRACK_BLOCK_ALLOC(pool, p, n, s->bsize);
        }
        return memset(p, 0, n);
    }
    if (unlikely(sc->avail != NULL || s->next >= s->nblocks))
        return small_refill(pool, n, c);
    idx = s->next++;
    p = s->base + (size_t)idx * s->bsize;
    slab_set_slack(s, idx, s->bsize - n);
    account_alloc(pool, n);
    if (track)
        TRACK_BLOCK_ALLOC(pool, p, n, s->bsize);
    if (idx < s->dirty_end)
        return memset(p, 0, n);
    return p;
}

static NOINLINE void *small_alloc(cymem_pool *pool, size_t n, unsigned c)
{
    return small_take(pool, n, c, 1);
}

/* The current slab's hint word has no freed block left, but another word
 * has: move the hint, then allocate. */
static NOINLINE void *small_rehint(cymem_pool *pool, size_t n, unsigned c)
{
    fmap_rehint(pool->classes[c].cur);
    return small_alloc(pool, n, c);
}

static void list_push(cymem__slab **head, cymem__slab *s, int which)
{
    s->list = (uint8_t)which;
    s->lprev = NULL;
    s->lnext = *head;
    if (*head)
        (*head)->lprev = s;
    *head = s;
}

static void list_remove(cymem__class *sc, cymem__slab *s)
{
    cymem__slab **head = s->list == SLAB_ON_AVAIL ? &sc->avail : &sc->fresh;
    if (s->lprev)
        s->lprev->lnext = s->lnext;
    else
        *head = s->lnext;
    if (s->lnext)
        s->lnext->lprev = s->lprev;
    s->list = SLAB_ON_NONE;
}

/* The current slab of class @c has no freed block to give, and either
 * another slab has some or the current one is full: switch slabs, taking
 * freed blocks first, then untouched ones, then a new slab. */
static NOINLINE void *small_refill(cymem_pool *pool, size_t n, unsigned c)
{
    cymem__class *sc = &pool->classes[c];
    cymem__slab *old = sc->cur, *s;
    if ((s = sc->avail) == NULL && (s = sc->fresh) == NULL &&
        (s = slab_new(pool, c)) == NULL)
        return NULL;
    if (s->list != SLAB_ON_NONE)
        list_remove(sc, s);
    if (old != &cymem__empty_slab && old->next < old->nblocks)
        list_push(&sc->fresh, old, SLAB_ON_FRESH);
    sc->cur = s;
    return small_alloc(pool, n, c);
}

/* Give back block @idx of slab @s, known to be live; @track as for
 * small_take(). */
static inline __attribute__((always_inline))
size_t small_release(cymem_pool *pool, cymem__slab *s, uint32_t idx, const int track)
{
    size_t n = s->bsize - slab_get_slack(s, idx);
    account_free(pool, n);
    if (track)
        TRACK_BLOCK_FREE(pool, s->base + (size_t)idx * s->bsize, n, s->bsize);
    /* Only out-of-line memory changes: the block itself is not touched. */
    fmap_set(s, idx);
    s->nfree++;
    /* The class (on the pool's second cache line) only when the slab may
     * have to move to the avail list. */
    if (unlikely(s->list != SLAB_ON_AVAIL && s->nfree >= s->avail_min)) {
        cymem__class *sc = &pool->classes[s->cls];
        if (s != sc->cur) {
            if (s->list == SLAB_ON_FRESH)
                list_remove(sc, s);
            list_push(&sc->avail, s, SLAB_ON_AVAIL);
        }
    }
    return n;
}

static void small_free(cymem_pool *pool, cymem__slab *s, uint32_t idx)
{
    small_release(pool, s, idx, 1);
}

/* The leading bytes of slab @s's memory that may have been written: up to
 * its last block used, or, for a slab used to its last block, all of it,
 * since the tail past that block may hold old bytes from an earlier life
 * with another block size.  0 for a slab never used. */
static size_t slab_dirty(const cymem__slab *s)
{
    uint32_t used = s->next > s->dirty_end ? s->next : s->dirty_end;
    if (used == 0)
        return 0;
    return used >= s->nblocks ? s->mem_size
                              : (size_t)(s->base - (char *)s->mem) + (size_t)used * s->bsize;
}

static void slab_delete(cymem_pool *pool, cymem__slab *s)
{
    cymem__page_remove(pool, s);
    if (!s->carved)
        cymem__slab_mem_free(pool, s->mem, s->mem_size, slab_dirty(s));
    cymem__meta_free(pool, s, s->meta_size);
}

/* ---- Direct blocks ----------------------------------------------------- */

static void *direct_alloc(cymem_pool *pool, size_t n, size_t align)
{
    size_t pad = align > CYMEM__MIN_ALIGN ? align - CYMEM__MIN_ALIGN : 0;
    size_t asked = (n ? n : 1) + pad;
    if (unlikely(asked < pad)) {
        errno = ENOMEM;
        return NULL;
    }
    /* The memory first: a request the system refuses leaves the pool as
     * it was, the direct map included. */
    int zeroed;
    char *orig = cymem__direct_mem_alloc(pool, asked, &asked, &zeroed);
    if (orig == NULL)
        return NULL;
    if (cymem__direct_reserve(pool) != 0) {
        cymem__direct_mem_free(pool, orig, asked);
        return NULL;
    }
    char *p = (char *)(((uintptr_t)orig + align - 1) & ~(uintptr_t)(align - 1));
    TRACK_BLOCK_ALLOC(pool, p, n, asked - (size_t)(p - orig));
    if (!zeroed)
        memset(p, 0, n);
    cymem__direct d = { (uintptr_t)p, orig, asked, n, align };
    cymem__direct_insert(pool, &d);
    account_alloc(pool, n);
    pool->direct_blocks++;
    pool->direct_used += asked;
    return p;
}

static void direct_free(cymem_pool *pool, cymem__direct *d)
{
    cymem__direct copy = *d;
    cymem__direct_remove(pool, d);
    account_free(pool, copy.size);
    pool->direct_blocks--;
    pool->direct_used -= copy.asked;
    TRACK_BLOCK_FREE(pool, (void *)copy.key, copy.size,
                     copy.asked - (copy.key - (uintptr_t)copy.orig));
    cymem__direct_mem_free(pool, copy.orig, copy.asked);
}

/* Let the fast paths serve @pool when they can: the pool takes no lock and
 * runs no checker hooks (plain); cymem_pool_alloc() then bumps its arena,
 * or takes from its classes.  A THREADSAFE pool's fields are never written
 * after cymem_pool_new_ex(), as other threads read them without the lock:
 * they stay 0. */
static void pool_set_fast(cymem_pool *pool)
{
#ifdef CYMEM_ASAN
    int hooks = 1;
#else
    int hooks = cymem__track;
#endif
    if (pool->flags & CYMEM_POOL_THREADSAFE)
        return;
    pool->plain = !hooks;
    pool->fast = pool->classes != NULL && pool->plain ? pool->classes : NULL;
    cymem__arena_set_fast(pool);
}

/* Small blocks come from slabs from now on: make the class table. */
static int graduate(cymem_pool *pool)
{
    cymem__class *classes = cymem__meta_alloc(pool, CYMEM__NTABLE * sizeof *classes);
    if (classes == NULL)
        return -1;
    for (unsigned c = 0; c < CYMEM__NTABLE; c++) {
        classes[c].cur = &cymem__empty_slab;
        classes[c].avail = NULL;
        classes[c].fresh = NULL;
        classes[c].all = NULL;
        classes[c].bytes = 0;
    }
    pool->classes = classes;
    pool_set_fast(pool);
    return 0;
}

static NOINLINE void *alloc_slow(cymem_pool *pool, size_t n)
{
    if (n <= pool->small_max) {
        if (graduate(pool) != 0)
            return NULL;
        return small_alloc(pool, n, size_class(n));
    }
    return direct_alloc(pool, n, CYMEM__MIN_ALIGN);
}

/* arena_take() with the checker hooks (the fast path inlines it
 * without). */
static NOINLINE void *arena_alloc(cymem_pool *pool, size_t n)
{
    return arena_take(pool, pool->arena, n, 1);
}

static inline void *alloc_impl(cymem_pool *pool, size_t n);

void *cymem__alloc_refill(cymem_pool *pool, size_t n)
{
    int r = cymem__arena_next(pool);
    if (r < 0)
        return NULL;
    return r == 0 ? arena_alloc(pool, n) : alloc_impl(pool, n);
}

/* Small blocks: a hole of the arena first, then the arena while the pool
 * is in arena mode, then slabs. */
static inline void *alloc_impl(cymem_pool *pool, size_t n)
{
    if (likely(n - 1 < CYMEM__CLASS_MAX)) {
        void *p;
        if (pool->nholes != 0 && (p = cymem__arena_reuse(pool, n)) != NULL)
            return p;
        if (pool->arena != NULL)
            return arena_alloc(pool, n);
    }
    if (likely(n <= pool->small_max && pool->classes != NULL))
        return small_alloc(pool, n, size_class(n));
    return alloc_slow(pool, n);
}

/* Allocate @n bytes aligned to @align.  Up to the slab base alignment, the
 * aligned twin of a class whose block size is a multiple of SLAB_ALIGN
 * serves it: every block of such a class is aligned, with no padding. */
static void *alloc_aligned_impl(cymem_pool *pool, size_t n, size_t align)
{
    if (align <= CYMEM__MIN_ALIGN)
        return alloc_impl(pool, n);
    /* Arena units are only MIN_ALIGN-aligned: such blocks take the
     * aligned twin classes of the slabs, made the first time. */
    if (align <= CYMEM__SLAB_ALIGN && n <= pool->small_max &&
        (pool->classes != NULL || graduate(pool) == 0)) {
        unsigned c = size_class(n);
        while (class_size(c) & (CYMEM__SLAB_ALIGN - 1))
            c++;
        return small_alloc(pool, n, CYMEM__NCLASSES + c);
    }
    return direct_alloc(pool, n, align);
}

/* ---- Locking ----------------------------------------------------------- */

/* A pool's mutex is a default one that the pool alone locks and unlocks,
 * so these calls cannot fail unless the pool's memory was overwritten:
 * then going on would corrupt more, and cymem__fatal() aborts. */
static inline void pool_lock(const cymem_pool *pool)
{
    if (unlikely(pool->flags & CYMEM_POOL_THREADSAFE)) {
        int err = pthread_mutex_lock(&((cymem_pool *)pool)->lock);
        if (unlikely(err != 0))
            cymem__fatal("pthread_mutex_lock", err);
    }
}

static inline void pool_unlock(const cymem_pool *pool)
{
    if (unlikely(pool->flags & CYMEM_POOL_THREADSAFE)) {
        int err = pthread_mutex_unlock(&((cymem_pool *)pool)->lock);
        if (unlikely(err != 0))
            cymem__fatal("pthread_mutex_unlock", err);
    }
}

/* ---- Public allocation API --------------------------------------------- */

/* cymem_pool_alloc() for every case but the fast one. */
static NOINLINE void *alloc_checked(cymem_pool *pool, size_t number, size_t size)
{
    size_t n;
    if (unlikely(pool == NULL)) {
        errno = EINVAL;
        return NULL;
    }
    if (unlikely(__builtin_mul_overflow(number, size, &n))) {
        errno = ENOMEM;
        return NULL;
    }
    pool_lock(pool);
    void *p = alloc_impl(pool, n);
    pool_unlock(pool);
    return p;
}

void *cymem_pool_alloc(cymem_pool *pool, size_t number, size_t size)
{
    size_t n;
    if (likely(pool != NULL) && likely(!__builtin_mul_overflow(number, size, &n))) {
        cymem__slab *a = pool->arena_fast;
        if (likely(a != NULL) && likely(n - 1 < CYMEM__CLASS_MAX))
            return arena_take(pool, a, n, 0);
        if (pool->fast != NULL && n <= CYMEM__CLASS_MAX)
            return small_take(pool, n, size_class(n), 0);
    }
    return alloc_checked(pool, number, size);
}

/* cymem_pool_alloc()'s fast path for @n bytes (1..CLASS_MAX), for a pool
 * it serves (arena_fast or fast set: a plain pool); realloc's moves use
 * it.  Not inlined, so that realloc_impl() stays small. */
static NOINLINE void *alloc_fast(cymem_pool *pool, size_t n)
{
    cymem__slab *a = pool->arena_fast;
    if (a != NULL)
        return arena_take(pool, a, n, 0);
    return small_take(pool, n, size_class(n), 0);
}

void *cymem_pool_alloc_aligned(cymem_pool *pool, size_t number, size_t size,
                               size_t alignment)
{
    size_t n;
    if (pool == NULL || !IS_POW2(alignment) || alignment > CYMEM_ALIGNMENT_MAX) {
        errno = EINVAL;
        return NULL;
    }
    if (__builtin_mul_overflow(number, size, &n)) {
        errno = ENOMEM;
        return NULL;
    }
    pool_lock(pool);
    void *p = alloc_aligned_impl(pool, n, alignment);
    pool_unlock(pool);
    return p;
}

/* cymem_pool_free() and cymem_pool_free_size() for every case but the
 * fast one; *size (if @size) gets the freed block's size, 0 for NULL. */
static NOINLINE int free_checked(cymem_pool *pool, void *ptr, size_t *size)
{
    if (pool == NULL) {
        errno = EINVAL;
        return -1;
    }
    size_t n = 0;
    int rc = 0;
    if (ptr != NULL) {
        pool_lock(pool);
        cymem__slab *s = cymem__chunk_find(pool, ptr);
        uint32_t idx;
        cymem__direct *d;
        if (s != NULL && (idx = chunk_index(s, ptr)) != CYMEM__NO_BLOCK) {
            if (s->cls == CYMEM__ARENA_CLS)
                n = arena_release(pool, s, idx, 1);
            else
                n = small_release(pool, s, idx, 1);
        } else if (s == NULL && (d = cymem__direct_find(pool, ptr)) != NULL) {
            n = d->size;
            direct_free(pool, d);
        } else {
            rc = -1;
        }
        pool_unlock(pool);
    }
    if (rc) {
        errno = EINVAL;
        return -1;
    }
    if (size)
        *size = n;
    return 0;
}

/* The fast path of cymem_pool_free() and cymem_pool_free_size(), for a
 * plain pool: free @ptr if it is a live slab or arena block, with its size
 * in *n, and return 1; else 0, nothing done. */
static inline __attribute__((always_inline))
int free_fast(cymem_pool *pool, void *ptr, size_t *n)
{
    cymem__slab *s = cymem__chunk_find(pool, ptr);
    uint32_t idx;
    if (likely(s != NULL)) {
        if (s->cls == CYMEM__ARENA_CLS) {
            if (likely((idx = arena_index(s, ptr)) != CYMEM__NO_BLOCK)) {
                *n = arena_release(pool, s, idx, 0);
                return 1;
            }
        } else if (likely((idx = slab_index(s, ptr)) != CYMEM__NO_BLOCK)) {
            *n = small_release(pool, s, idx, 0);
            return 1;
        }
    }
    return 0;
}

int cymem_pool_free(cymem_pool *pool, void *ptr)
{
    size_t n;
    if (likely(pool != NULL && pool->plain) && likely(free_fast(pool, ptr, &n)))
        return 0;
    return free_checked(pool, ptr, NULL);
}

/* cymem_pool_free() that also says how many bytes the block held, from
 * the one lookup the free needs (a binding that keeps a byte count would
 * otherwise ask cymem_pool_block_size() first). */
int cymem_pool_free_size(cymem_pool *pool, void *ptr, size_t *size)
{
    size_t n;
    if (likely(pool != NULL && pool->plain) && likely(free_fast(pool, ptr, &n))) {
        if (size)
            *size = n;
        return 0;
    }
    return free_checked(pool, ptr, size);
}

/* Direct block @d now lives at @p, inside @asked bytes at @orig, with
 * @new_size bytes: its record and the pool's counts follow.  The removal
 * leaves room for the insertion. */
static void *direct_moved(cymem_pool *pool, cymem__direct *d, void *orig, void *p,
                          size_t asked, size_t new_size)
{
    cymem__direct nd = { (uintptr_t)p, orig, asked, new_size, d->align };
    pool->reserved_bytes = pool->reserved_bytes - d->asked + asked;
    pool->direct_used = pool->direct_used - d->asked + asked;
    account_resize(pool, d->size, new_size);
    cymem__direct_remove(pool, d);
    cymem__direct_insert(pool, &nd);
    return p;
}

#ifdef HAVE_MREMAP
/* Grow or shrink a direct block of the system allocator by remapping its
 * pages; returns the new block, or NULL (ENOMEM) with nothing changed. */
static void *direct_remap(cymem_pool *pool, cymem__direct *d, size_t new_size)
{
    size_t off = d->key - (uintptr_t)d->orig;
    size_t asked = new_size + off;
    if (asked < off) {
        errno = ENOMEM;
        return NULL;
    }
    TRACK_BLOCK_MOVE(pool, (void *)d->key, d->size, d->asked - off);
    TRACK_MEM_RETURN(d->orig, d->asked);
    void *orig = cymem__os_remap(d->orig, d->asked, asked);
    if (orig == NULL) {
        TRACK_BLOCK_ALLOC(pool, (void *)d->key, d->size, d->asked - off);
        errno = ENOMEM;
        return NULL;
    }
    /* Bytes past the old size up to the old end of its last page may hold
     * old data; pages added by the kernel are zero. */
    size_t page = cymem__page_size();
    size_t old_end = (d->asked + page - 1) / page * page;
    char *p = (char *)orig + off;
    TRACK_BLOCK_ALLOC(pool, p, new_size, asked - off);
    if (new_size > d->size) {
        size_t dirty = old_end - off;
        if (dirty > new_size)
            dirty = new_size;
        if (dirty > d->size)
            memset(p + d->size, 0, dirty - d->size);
    }
    return direct_moved(pool, d, orig, p, asked, new_size);
}
#endif

/* Resize a direct block that the system allocator got from calloc, with
 * realloc, which grows in place when the heap allows; NULL (ENOMEM) with
 * nothing changed on failure. */
static void *direct_realloc_heap(cymem_pool *pool, cymem__direct *d, size_t new_size)
{
    TRACK_BLOCK_MOVE(pool, (void *)d->key, d->size, d->asked);
    TRACK_MEM_RETURN(d->orig, d->asked);
    void *orig = realloc(d->orig, new_size);
    if (orig == NULL) {
        TRACK_BLOCK_ALLOC(pool, (void *)d->key, d->size, d->asked);
        errno = ENOMEM;
        return NULL;
    }
    TRACK_BLOCK_ALLOC(pool, orig, new_size, new_size);
    if (new_size > d->size)
        memset((char *)orig + d->size, 0, new_size - d->size);
    return direct_moved(pool, d, orig, orig, new_size, new_size);
}

static void *realloc_impl(cymem_pool *pool, void *ptr, size_t new_size)
{
    cymem__slab *s = cymem__chunk_find(pool, ptr);
    size_t old, align = CYMEM__MIN_ALIGN;
    if (s != NULL && s->cls == CYMEM__ARENA_CLS) {
        uint32_t idx = arena_index(s, ptr);
        if (idx == CYMEM__NO_BLOCK)
            goto invalid;
        old = arena_size(s, idx, arena_extent(s, idx));
        if (cymem__arena_resize(pool, s, idx, old, new_size) != NULL)
            return ptr;
    } else if (s != NULL) {
        uint32_t idx = slab_index(s, ptr);
        if (idx == CYMEM__NO_BLOCK)
            goto invalid;
        old = s->bsize - slab_get_slack(s, idx);
        size_t b = s->bsize;
        /* Stay in place while the size fits the block and at least half
         * of the block is used (or no smaller class exists). */
        if (new_size <= b && (size_class(new_size) == s->cls ||
                              (2 * new_size >= b && b - new_size <= slab_max_slack(s)))) {
            TRACK_BLOCK_RESIZE(pool, ptr, old, new_size, b);
            if (new_size > old)
                memset((char *)ptr + old, 0, new_size - old);
            slab_set_slack(s, idx, b - new_size);
            account_resize(pool, old, new_size);
            return ptr;
        }
    } else {
        cymem__direct *d = cymem__direct_find(pool, ptr);
        if (d == NULL)
            goto invalid;
        old = d->size;
        align = d->align;
        size_t cap = d->asked - (d->key - (uintptr_t)d->orig);
        if (new_size <= cap && 2 * new_size >= cap) {
            TRACK_BLOCK_RESIZE(pool, ptr, old, new_size, cap);
            if (new_size > old)
                memset((char *)ptr + old, 0, new_size - old);
            d->size = new_size;
            account_resize(pool, old, new_size);
            return ptr;
        }
        if (pool->sys && d->align <= CYMEM__MIN_ALIGN && d->asked < CYMEM__MMAP_MIN &&
            new_size > pool->small_max && new_size < CYMEM__MMAP_MIN)
            return direct_realloc_heap(pool, d, new_size);
#ifdef HAVE_MREMAP
        if (pool->sys && d->asked >= CYMEM__MMAP_MIN && new_size >= CYMEM__MMAP_MIN &&
            d->align <= 4096)
            return direct_remap(pool, d, new_size);
#endif
    }

    /* Move: new block first, so a failure leaves the old one untouched.
     * Blocks of an aligned class keep their alignment. */
    if (s != NULL && s->cls >= CYMEM__NCLASSES && s->cls != CYMEM__ARENA_CLS)
        align = CYMEM__SLAB_ALIGN;
    /* For a moment both blocks are live; the peak is what the caller
     * could see, before or after the call. */
    size_t peak = pool_peak(pool);
    void *q = align <= CYMEM__MIN_ALIGN && new_size - 1 < CYMEM__CLASS_MAX &&
                      (pool->arena_fast != NULL || pool->fast != NULL)
                  ? alloc_fast(pool, new_size)
                  : alloc_aligned_impl(pool, new_size, align);
    if (q == NULL)
        return NULL;
    memcpy(q, ptr, old < new_size ? old : new_size);
    /* The allocation may have moved the direct map's entries: look up
     * again. */
    s = cymem__chunk_find(pool, ptr);
    if (s != NULL && s->cls == CYMEM__ARENA_CLS)
        arena_release(pool, s, arena_index(s, ptr), 1);
    else if (s != NULL)
        small_free(pool, s, slab_index(s, ptr));
    else
        direct_free(pool, cymem__direct_find(pool, ptr));
    pool->peak_bytes = peak > pool->live_bytes ? peak : pool->live_bytes;
    return q;

invalid:
    errno = EINVAL;
    return NULL;
}

void *cymem_pool_realloc(cymem_pool *pool, void *ptr, size_t new_size)
{
    if (pool == NULL) {
        errno = EINVAL;
        return NULL;
    }
    pool_lock(pool);
    void *q = ptr == NULL ? alloc_impl(pool, new_size) : realloc_impl(pool, ptr, new_size);
    pool_unlock(pool);
    return q;
}

/* ---- Lookups ----------------------------------------------------------- */

/* Find the live block @ptr of @pool; its requested size goes to *size. */
static int find_block(const cymem_pool *pool, const void *ptr, size_t *size)
{
    cymem__slab *s = cymem__chunk_find(pool, ptr);
    if (s != NULL) {
        uint32_t idx = chunk_index(s, ptr);
        if (idx == CYMEM__NO_BLOCK)
            return 0;
        *size = s->cls == CYMEM__ARENA_CLS ? arena_size(s, idx, arena_extent(s, idx))
                                           : s->bsize - slab_get_slack(s, idx);
        return 1;
    }
    const cymem__direct *d = cymem__direct_find(pool, ptr);
    if (d == NULL)
        return 0;
    *size = d->size;
    return 1;
}

int cymem_pool_owns(const cymem_pool *pool, const void *ptr)
{
    size_t size;
    if (pool == NULL) {
        errno = EINVAL;
        return 0;
    }
    if (ptr == NULL)
        return 0;
    pool_lock(pool);
    int found = find_block(pool, ptr, &size);
    pool_unlock(pool);
    return found;
}

size_t cymem_pool_block_size(const cymem_pool *pool, const void *ptr)
{
    size_t size = 0;
    if (pool == NULL || ptr == NULL) {
        errno = EINVAL;
        return 0;
    }
    pool_lock(pool);
    int found = find_block(pool, ptr, &size);
    pool_unlock(pool);
    if (!found)
        errno = EINVAL;
    return size;
}

/* The live block of @pool whose bytes hold @addr (its start for a 0-byte
 * block): O(1) for slab blocks, a scan of the direct blocks otherwise. */
static int find_containing(const cymem_pool *pool, const void *addr,
                           void **block, size_t *size)
{
    const cymem__slab *s = cymem__chunk_find(pool, addr);
    if (s != NULL && s->cls == CYMEM__ARENA_CLS)
        return cymem__arena_containing(s, addr, block, size);
    if (s != NULL) {
        size_t off = (size_t)((const char *)addr - s->base);
        /* floor(off / bsize) by the reciprocal, exact in any slab */
        size_t idx = (size_t)((off * s->recip) >> 40);
        if (idx >= s->next || slab_is_free(s, (uint32_t)idx))
            return 0;
        size_t n = s->bsize - slab_get_slack(s, (uint32_t)idx);
        off -= idx * s->bsize;
        if (off != 0 && off >= n)
            return 0;
        *block = s->base + idx * s->bsize;
        *size = n;
        return 1;
    }
    const cymem__direct *tab = pool->direct.tab;
    uintptr_t a = (uintptr_t)addr;
    for (size_t i = 0; tab && i <= pool->direct.mask; i++) {
        if (tab[i].key != 0 && a - tab[i].key < (tab[i].size ? tab[i].size : 1)) {
            *block = (void *)tab[i].key;
            *size = tab[i].size;
            return 1;
        }
    }
    return 0;
}

int cymem_pool_find(const cymem_pool *pool, const void *addr, void **block, size_t *size)
{
    void *b = NULL;
    size_t n = 0;
    if (pool == NULL || addr == NULL) {
        errno = EINVAL;
        return -1;
    }
    pool_lock(pool);
    int found = find_containing(pool, addr, &b, &n);
    pool_unlock(pool);
    if (!found) {
        errno = ENOENT;
        return -1;
    }
    if (block)
        *block = b;
    if (size)
        *size = n;
    return 0;
}

int cymem_pool_stats(const cymem_pool *pool, cymem_stats *out)
{
    if (pool == NULL || out == NULL) {
        errno = EINVAL;
        return -1;
    }
    pool_lock(pool);
    out->live_bytes = pool->live_bytes;
    out->live_blocks = pool->direct_blocks;
    out->used_bytes = pool->direct_used;
    for (unsigned c = 0; pool->classes && c < CYMEM__NTABLE; c++) {
        for (const cymem__slab *s = pool->classes[c].all; s; s = s->next_in_class) {
            out->live_blocks += s->next - s->nfree;
            out->used_bytes += (size_t)(s->next - s->nfree) * s->bsize;
        }
    }
    cymem__arena_count(pool, &out->live_blocks, &out->used_bytes);
    out->peak_bytes = pool_peak(pool);
    out->reserved_bytes = pool->reserved_bytes;
    out->chunk_count = pool->chunk_count;
    out->metadata_bytes = pool->metadata_bytes;
    pool_unlock(pool);
    return 0;
}

/* cymem_pool_foreach() for a caller that holds the pool's lock. */
int cymem__foreach_unlocked(const cymem_pool *pool,
                            int (*fn)(void *ptr, size_t size, void *ctx), void *ctx)
{
    int rc = cymem__arena_foreach(pool, fn, ctx);
    for (unsigned c = 0; pool->classes && c < CYMEM__NTABLE && rc == 0; c++) {
        for (const cymem__slab *s = pool->classes[c].all; s && rc == 0; s = s->next_in_class) {
            for (uint32_t i = 0; i < s->next && rc == 0; i++) {
                if (!slab_is_free(s, i))
                    rc = fn(s->base + (size_t)i * s->bsize, s->bsize - slab_get_slack(s, i), ctx);
            }
        }
    }
    const cymem__direct *tab = pool->direct.tab;
    for (size_t i = 0; tab && i <= pool->direct.mask && rc == 0; i++) {
        if (tab[i].key != 0)
            rc = fn((void *)tab[i].key, tab[i].size, ctx);
    }
    return rc;
}

int cymem_pool_foreach(const cymem_pool *pool,
                       int (*fn)(void *ptr, size_t size, void *ctx), void *ctx)
{
    if (pool == NULL || fn == NULL) {
        errno = EINVAL;
        return -1;
    }
    pool_lock(pool);
    int rc = cymem__foreach_unlocked(pool, fn, ctx);
    pool_unlock(pool);
    return rc;
}

/* ---- Cleanups, reset, destroy ------------------------------------------ */

int cymem_pool_on_cleanup(cymem_pool *pool, void (*fn)(void *arg), void *arg)
{
    if (pool == NULL || fn == NULL) {
        errno = EINVAL;
        return -1;
    }
    pool_lock(pool);
    cymem__cleanup *c = cymem__meta_alloc(pool, sizeof *c);
    if (c != NULL) {
        c->fn = fn;
        c->arg = arg;
        c->next = pool->cleanups;
        pool->cleanups = c;
    }
    pool_unlock(pool);
    return c != NULL ? 0 : -1;
}

static void destroy_tree(cymem_pool *pool);

/* Destroy the children, then run the cleanups, last registered first. */
static void run_teardown(cymem_pool *pool)
{
    cymem_pool *child;
    while ((child = pool->first_child) != NULL) {
        pool->first_child = child->next_sibling;
        if (pool->first_child)
            pool->first_child->prev_sibling = NULL;
        child->parent = NULL;
        destroy_tree(child);
    }
    cymem__cleanup *c;
    while ((c = pool->cleanups) != NULL) {
        void (*fn)(void *) = c->fn;
        void *arg = c->arg;
        pool->cleanups = c->next;
        cymem__meta_free(pool, c, sizeof *c);
        fn(arg);
    }
}

/* Give back every direct block and empty the direct map. */
static void release_direct(cymem_pool *pool)
{
    cymem__direct *tab = pool->direct.tab;
    for (size_t i = 0; tab && i <= pool->direct.mask; i++) {
        if (tab[i].key != 0) {
            TRACK_BLOCK_FREE(pool, (void *)tab[i].key, tab[i].size,
                             tab[i].asked - (tab[i].key - (uintptr_t)tab[i].orig));
            cymem__direct_mem_free(pool, tab[i].orig, tab[i].asked);
            tab[i].key = 0;
        }
    }
    pool->direct.count = 0;
    pool->direct_blocks = pool->direct_used = 0;
}

/* The debug mode at a reset (TRACK_POOL_RESET): every live block's redzone
 * is checked, against its slab block's size, its arena block's units or,
 * direct, its own size. */
static int debug_check_live(void *p, size_t n, void *ctx)
{
    const cymem_pool *pool = ctx;
    cymem__slab *s = cymem__chunk_find(pool, p);
    size_t cap = n;
    if (s != NULL && s->cls == CYMEM__ARENA_CLS)
        cap = (size_t)arena_extent(s, (uint32_t)(((char *)p - s->base) >> CYMEM__UNIT_SHIFT))
              << CYMEM__UNIT_SHIFT;
    else if (s != NULL)
        cap = s->bsize;
    cymem__debug_check(pool, p, n, cap);
    return 0;
}

void cymem__debug_reset(const cymem_pool *pool)
{
    cymem__foreach_unlocked(pool, debug_check_live, (void *)pool);
}

/* Whether @pool freed no block individually since its last reset (or
 * since it was made), as far as what it holds shows: no hole in its arena,
 * no freed block in a slab. */
static int freed_nothing(const cymem_pool *pool)
{
    if (pool->nholes != 0 || pool->arena_dead != 0)
        return 0;
    for (unsigned c = 0; pool->classes && c < CYMEM__NTABLE; c++)
        for (const cymem__slab *s = pool->classes[c].all; s; s = s->next_in_class)
            if (s->nfree != 0)
                return 0;
    return 1;
}

/* How many slabs @pool has, in all its classes. */
static size_t count_slabs(const cymem_pool *pool)
{
    size_t n = 0;
    for (unsigned c = 0; c < CYMEM__NTABLE; c++)
        for (const cymem__slab *s = pool->classes[c].all; s; s = s->next_in_class)
            n++;
    return n;
}

/* Every slab of @pool into @v, which has room for count_slabs(). */
static void list_slabs(const cymem_pool *pool, cymem__slab **v)
{
    for (unsigned c = 0; c < CYMEM__NTABLE; c++)
        for (cymem__slab *s = pool->classes[c].all; s; s = s->next_in_class)
            *v++ = s;
}

static int by_address(const void *x, const void *y)
{
    const cymem__slab *a = *(const cymem__slab *const *)x;
    const cymem__slab *b = *(const cymem__slab *const *)y;
    return (a->base > b->base) - (a->base < b->base);
}

/* One arena chunk made of slabs v[i..j): a slab, or slabs carved end to
 * end from a region, whose untouched tail (from @split on, granules that
 * no block ever used) may be a chunk of its own, @tail. */
typedef struct run {
    size_t i, j, split;
    cymem__slab *chunk, *tail;
} run;

/*
 * Make the slabs of @pool arena chunks after its last one, and lift its
 * budget.  Slabs carved one after the other from a region become one
 * chunk, so that the arena does not leave a tail unused at the end of each;
 * the part of such a chunk that no block ever used goes last, after every
 * other chunk, so that the next rounds touch the pages the last one did
 * before any other.  Nothing changes when there is no memory for the
 * descriptors.
 */
static void slabs_to_arena(cymem_pool *pool)
{
    size_t n = count_slabs(pool), nruns = 0;
    cymem__slab **v = cymem__meta_alloc(pool, n * sizeof *v);
    run *runs = v ? cymem__meta_alloc(pool, n * sizeof *runs) : NULL;
    if (runs == NULL) {
        if (v)
            cymem__meta_free(pool, v, n * sizeof *v);
        return;
    }
    list_slabs(pool, v);
    qsort(v, n, sizeof *v, by_address);
    for (unsigned c = 0; c < CYMEM__NTABLE; c++)
        pool->classes[c].all = NULL;

    /* The runs, each a chunk over all of its memory. */
    cymem__slab *last = cymem__arena_last(pool);
    size_t i = 0;
    while (i < n) {
        size_t j = i + 1;
        char *end = (char *)v[i]->mem + v[i]->mem_size, *limit = end;
        const cymem__region *reg = pool->regions;
        while (v[i]->carved && reg != NULL &&
               !(v[i]->base >= reg->mem && v[i]->base < reg->mem + CYMEM__REGION))
            reg = reg->next;
        if (v[i]->carved && reg != NULL)
            limit = reg->mem + reg->used;
        while (v[i]->carved && j < n && v[j]->carved && (char *)v[j]->mem == end &&
               end + v[j]->mem_size <= limit) {
            end += v[j]->mem_size;
            j++;
        }
        size_t span = v[i]->carved ? (size_t)(end - v[i]->base) : v[i]->span;
        size_t dirty = 0;
        for (size_t x = i; x < j; x++) {
            size_t d = slab_dirty(v[x]);
            if (d != 0 && (size_t)((char *)v[x]->mem - v[i]->base) + d > dirty)
                dirty = (size_t)((char *)v[x]->mem - v[i]->base) + d;
        }
        cymem__slab *a = cymem__arena_adopt(pool, last, v[i]->base,
                                            (uint32_t)(span >> CYMEM__UNIT_SHIFT), v[i]->mem,
                                            v[i]->carved ? span : v[i]->mem_size,
                                            v[i]->carved, dirty);
        if (a == NULL)
            break;
        size_t split = (dirty + CYMEM__GRANULE - 1) & ~(CYMEM__GRANULE - 1);
        runs[nruns++] = (run){ i, j, v[i]->carved && split < span ? split : span, a, NULL };
        last = a;
        i = j;
    }
    /* Slabs left for want of memory stay slabs. */
    for (size_t x = i; x < n; x++) {
        cymem__class *sc = &pool->classes[v[x]->cls];
        v[x]->next_in_class = sc->all;
        sc->all = v[x];
    }
    /* The untouched tails, last. */
    for (size_t r = 0; r < nruns; r++) {
        cymem__slab *a = runs[r].chunk;
        size_t split = runs[r].split;
        if (split == a->span)
            continue;
        cymem__slab *t = cymem__arena_adopt(pool, last, a->base + split,
                                            (uint32_t)((a->span - split) >> CYMEM__UNIT_SHIFT),
                                            a->base + split, a->span - split, 1, 0);
        if (t == NULL)
            continue;
        pool->arena_bytes -= t->span;
        a->nblocks = (uint32_t)(split >> CYMEM__UNIT_SHIFT);
        a->span = a->mem_size = split;
        if (a->dirty_end > a->nblocks)
            a->dirty_end = a->nblocks;
        runs[r].tail = last = t;
    }
    for (size_t r = 0; r < nruns; r++) {
        for (size_t x = runs[r].i; x < runs[r].j; x++) {
            cymem__page_replace(pool, v[x], runs[r].chunk, runs[r].tail);
            cymem__meta_free(pool, v[x], v[x]->meta_size);
        }
    }
    cymem__meta_free(pool, runs, n * sizeof *runs);
    cymem__meta_free(pool, v, n * sizeof *v);

    int all = 1;
    for (unsigned c = 0; c < CYMEM__NTABLE; c++) {
        cymem__class *sc = &pool->classes[c];
        sc->cur = &cymem__empty_slab;
        if (sc->all == NULL)
            sc->bytes = 0;
        else
            all = 0;
    }
    if (all) {
        cymem__meta_free(pool, pool->classes, CYMEM__NTABLE * sizeof *pool->classes);
        pool->classes = NULL;
        pool_set_fast(pool);
    }
    pool->arena_budget = SIZE_MAX;
}

/* Make every slab and arena chunk of @pool as after a reset, in O(chunks);
 * a pool that freed nothing individually goes on with an arena only. */
static void reset_slabs(cymem_pool *pool)
{
    TRACK_POOL_RESET(pool);
    int whole = freed_nothing(pool);
    cymem__arena_reset(pool);
    if (whole && pool->classes != NULL)
        slabs_to_arena(pool);
    for (unsigned c = 0; pool->classes && c < CYMEM__NTABLE; c++) {
        cymem__class *sc = &pool->classes[c];
        sc->avail = sc->fresh = NULL;
        for (cymem__slab *s = sc->all; s; s = s->next_in_class) {
            if (s->next > s->dirty_end)
                s->dirty_end = s->next;
            TRACK_SLAB_RESET(s->base, s->span);
            /* Level 0 has bits only below next; the levels above are a
             * few words. */
            if (s->nfree != 0 || s->hint != 0)
                fmap_init(s, ((size_t)s->next + 63) / 64);
            s->nfree = 0;
            s->next = 0;
            list_push(&sc->fresh, s, SLAB_ON_FRESH);
        }
        /* The list now runs from the oldest slab to the newest, the order
         * they were filled in: the oldest serves and the newest, the only
         * one whose untouched tail may never have been faulted in, comes
         * last, so that refilling the pool touches no new pages. */
        sc->cur = &cymem__empty_slab;
        if (sc->fresh != NULL) {
            sc->cur = sc->fresh;
            list_remove(sc, sc->cur);
        }
    }
    note_peak(pool);
    pool->live_bytes = 0;
}

/* A library configured with --enable-debug checks every invariant of a
 * pool (invariants.c) at each reset and destroy while the debug mode is on. */
static void debug_verify(const cymem_pool *pool)
{
#ifdef CYMEM_DEBUG_DEFAULT
    if (DEBUG_ON && cymem__pool_check(pool) != 0)
        cymem__fatal("the pool's invariant check", 0);
#else
    (void)pool;
#endif
}

void cymem_pool_reset(cymem_pool *pool)
{
    if (pool == NULL)
        return;
    pool_lock(pool);
    debug_verify(pool);
    run_teardown(pool);
    release_direct(pool);
    reset_slabs(pool);
    pool_unlock(pool);
}

/*
 * A destroyed pool gives everything back, its keeper last; the keeper of a
 * pool of the system allocator is slab-sized memory, which waits in the
 * thread's cache (tcache.c) for the next cymem_pool_new(): a program that
 * makes a pool per request then costs no system call per pool, and the
 * next pool, laid out afresh, is a new pool in every statistic.
 */

static int by_descriptor(const void *x, const void *y)
{
    uintptr_t a = (uintptr_t)*(const cymem__slab *const *)x;
    uintptr_t b = (uintptr_t)*(const cymem__slab *const *)y;
    return (a > b) - (a < b);
}

/* Give back every slab of @pool, descriptors in address order.  Those of
 * a pool of the system allocator are on the C heap, the newest highest
 * (a backing allocator's are likely alike): given back newest first, as
 * the class lists hold them, each would free the heap's top, and malloc
 * would shrink the heap a page or two at a time, one system call each,
 * for the next pool to grow it again.  Lowest first, they coalesce and
 * the top goes last, once.  (Without memory for the sort, the lists'
 * order.) */
static void release_slabs(cymem_pool *pool)
{
    size_t n = count_slabs(pool);
    cymem__slab **v = n > 1 ? cymem__meta_alloc(pool, n * sizeof *v) : NULL;
    if (v != NULL) {
        list_slabs(pool, v);
        qsort(v, n, sizeof *v, by_descriptor);
        for (size_t k = 0; k < n; k++)
            slab_delete(pool, v[k]);
        cymem__meta_free(pool, v, n * sizeof *v);
        return;
    }
    for (unsigned c = 0; c < CYMEM__NTABLE; c++) {
        cymem__slab *s = pool->classes[c].all, *next;
        for (; s; s = next) {
            next = s->next_in_class;
            slab_delete(pool, s);
        }
    }
}

/* Give back everything @pool holds but its keeper, which is reset. */
static void release_all(cymem_pool *pool)
{
    if (pool->classes) {
        release_slabs(pool);
        cymem__meta_free(pool, pool->classes, CYMEM__NTABLE * sizeof *pool->classes);
    }
    pool->classes = NULL;
    cymem__arena_trim(pool);
    cymem__region_release_all(pool);
    cymem__map_free(pool, &pool->direct, sizeof(cymem__direct));
    /* A slot left would name a freed descriptor to the next pool made at
     * this address. */
    if (pool->page_slots != 0)
        cymem__fatal("destroy: the page map still names the pool's chunks", 0);
}

/* Free everything @pool holds and @pool itself. */
void cymem__pool_free(cymem_pool *pool)
{
    release_all(pool);
    /* The pool's own memory, the keeper, came from its backing allocator
     * too. */
    cymem_pool self = *pool;
    size_t dirty = cymem__keeper_dirty(pool);
    TRACK_KEEPER_DELETE(pool);
    cymem__slab_mem_free(&self, pool, self.keeper_size, dirty);
}

/* Tear down @pool, already unlinked from its parent, and free it. */
static void destroy_tree(cymem_pool *pool)
{
    run_teardown(pool);
    release_direct(pool);
    TRACK_POOL_DELETE(pool);
    if (pool->flags & CYMEM_POOL_THREADSAFE)
        pthread_mutex_destroy(&pool->lock);
    cymem__pool_free(pool);
}

void cymem_pool_destroy(cymem_pool *pool)
{
    if (pool == NULL)
        return;
    /* No other thread may use a pool being destroyed: no lock needed. */
    debug_verify(pool);
    cymem_pool *parent = pool->parent;
    if (parent != NULL) {
        pool_lock(parent);
        if (pool->prev_sibling)
            pool->prev_sibling->next_sibling = pool->next_sibling;
        else
            parent->first_child = pool->next_sibling;
        if (pool->next_sibling)
            pool->next_sibling->prev_sibling = pool->prev_sibling;
        pool_unlock(parent);
        pool->parent = NULL;
    }
    destroy_tree(pool);
}

cymem_pool *cymem_pool_new_ex(const cymem_pool_options *opts)
{
    static const cymem_pool_options defaults;
    if (opts == NULL)
        opts = &defaults;
    size_t chunk = opts->chunk_size ? opts->chunk_size : CYMEM__CHUNK_DEFAULT;
    if ((opts->flags & ~CYMEM__POOL_FLAGS) != 0 || !IS_POW2(chunk) ||
        chunk < CYMEM_CHUNK_SIZE_MIN || chunk > CYMEM_CHUNK_SIZE_MAX ||
        (opts->allocator && (!opts->allocator->malloc || !opts->allocator->free))) {
        errno = EINVAL;
        return NULL;
    }

    cymem_pool proto;
    memset(&proto, 0, sizeof proto);
    if (opts->allocator) {
        proto.bk = *opts->allocator;
    } else if (opts->parent) {
        proto.sys = opts->parent->sys;
        proto.bk = opts->parent->bk;
    } else {
        proto.sys = 1;
    }
    /* The environment, read once: the checkers (TRACK_POOL_NEW below) and
     * CYMEM_HUGE_PAGES=1, huge pages for every pool. */
    cymem__debug_init();
    proto.flags = opts->flags | (cymem__huge_pages ? CYMEM_POOL_HUGE_PAGES : 0);
    proto.chunk_size = chunk;
    proto.small_max = CYMEM__CLASS_MAX;

    proto.keeper_size = chunk < CYMEM__KEEPER ? chunk : CYMEM__KEEPER;
    size_t dirty;
    cymem_pool *pool = cymem__slab_mem_alloc(&proto, proto.keeper_size, &dirty);
    if (pool == NULL)
        return NULL;
    TRACK_KEEPER_NEW(pool, proto.keeper_size);
    *pool = proto;
    pool->metadata_bytes = cymem__keeper_init(pool, pool->keeper_size, dirty);
    if (pool->flags & CYMEM_POOL_THREADSAFE) {
        int err = pthread_mutex_init(&pool->lock, NULL);
        if (err != 0) {
            /* Nothing refers to the pool yet: give all of it back. */
            cymem__pool_free(pool);
            errno = err;
            return NULL;
        }
    }
    TRACK_POOL_NEW(pool);
    pool->fast = NULL;
    pool_set_fast(pool);

    cymem_pool *parent = opts->parent;
    if (parent != NULL) {
        pool_lock(parent);
        pool->parent = parent;
        pool->next_sibling = parent->first_child;
        if (parent->first_child)
            parent->first_child->prev_sibling = pool;
        parent->first_child = pool;
        pool_unlock(parent);
    }
    return pool;
}

cymem_pool *cymem_pool_new(void)
{
    return cymem_pool_new_ex(NULL);
}

const char *cymem_version(void)
{
    return PACKAGE_VERSION;
}

size_t cymem_trim(void)
{
    return cymem__sys_trim();
}
