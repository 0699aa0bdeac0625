/*
 * slab.c - a pool's slabs: size classes cut from backing memory or carved
 * from regions, the freed-block bitmap, the class lists, and what a reset
 * and a destroy do to slabs.
 *
 * slab.h states the invariants and has the hot paths (small_take,
 * small_free), which the public API's fast paths (api.c) and the pools'
 * blocks (blocks.c) expand.  A pool
 * serves small blocks from its arena first (arena.c); slabs take over
 * once the arena's budget is spent or the pool's frees leave too much of
 * it unused (cymem__slabs_start()).  At a reset that finds no block freed
 * individually, the slabs become arena chunks (cymem__slabs_to_arena()).
 *
 * Its layer: above arena.c (the conversion adopts slabs as arena chunks)
 * and the maps, regions and backing memory; called by blocks.c, stats.c
 * and api.c.
 */
#include "slab.h"
#include "arena.h"
#include "backing.h"
#include "pagemap.h"
#include "region.h"

#include <stdlib.h>

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
    s->home = pool;
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

/* ---- Taking blocks ----------------------------------------------------- */

NOINLINE void *cymem__small_alloc(cymem_pool *pool, size_t n, unsigned c)
{
    return small_take(pool, n, c, 1);
}

/* The current slab's hint word has no freed block left, but another word
 * has: move the hint, then allocate. */
NOINLINE void *cymem__small_rehint(cymem_pool *pool, size_t n, unsigned c)
{
    fmap_rehint(pool->classes[c].cur);
    return cymem__small_alloc(pool, n, c);
}

void cymem__slab_unlist(cymem__class *sc, cymem__slab *s)
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

NOINLINE int cymem__small_freed(cymem_pool *pool, cymem__slab *s, uint32_t idx)
{
    uint32_t w = idx >> 6;
    /* The word was empty: its summary bits (the hint word's are always
     * set). */
    if (s->fmap[w] == FMAP_BIT(idx) && w != s->hint)
        fmap_mark_up(s, w);
    if (s->list < SLAB_ON_AVAIL && s->nfree >= s->avail_min) {
        cymem__class *sc = &pool->classes[s->cls];
        if (s->list == SLAB_ON_FRESH)
            cymem__slab_unlist(sc, s);
        list_push(&sc->avail, s, SLAB_ON_AVAIL);
    }
    return 0;
}

/* The current slab of class @c has no freed block to give, and either
 * another slab has some or the current one is full: switch slabs, taking
 * freed blocks first, then untouched ones, then a new slab. */
NOINLINE void *cymem__small_refill(cymem_pool *pool, size_t n, unsigned c)
{
    cymem__class *sc = &pool->classes[c];
    cymem__slab *old = sc->cur, *s;
    if ((s = sc->avail) == NULL && (s = sc->fresh) == NULL &&
        (s = slab_new(pool, c)) == NULL)
        return NULL;
    if (s->list != SLAB_ON_NONE)
        cymem__slab_unlist(sc, s);
    /* The old slab has no freed block (nfree is 0 when small_take()
     * comes here): fresh if it has untouched ones, else on no list. */
    if (old != &cymem__empty_slab) {
        if (old->next < old->nblocks)
            list_push(&sc->fresh, old, SLAB_ON_FRESH);
        else
            old->list = SLAB_ON_NONE;
    }
    s->list = SLAB_CURRENT;
    sc->cur = s;
    return cymem__small_alloc(pool, n, c);
}


/* ---- The class table, lookups, counts ---------------------------------- */

int cymem__slabs_start(cymem_pool *pool)
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
    /* The fast path serves the classes once the pool is out of arena
     * mode (invariant 7, arena.c). */
    cymem__arena_set_fast(pool);
    return 0;
}

int cymem__slab_containing(const cymem__slab *s, const void *addr, void **block,
                           size_t *size)
{
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

void cymem__slabs_count(const cymem_pool *pool, size_t *blocks, size_t *bytes)
{
    for (unsigned c = 0; pool->classes && c < CYMEM__NTABLE; c++) {
        for (const cymem__slab *s = pool->classes[c].all; s; s = s->next_in_class) {
            *blocks += s->next - s->nfree;
            *bytes += (size_t)(s->next - s->nfree) * s->bsize;
        }
    }
}

int cymem__slabs_foreach(const cymem_pool *pool,
                         int (*fn)(void *ptr, size_t size, void *ctx), void *ctx)
{
    int rc = 0;
    for (unsigned c = 0; pool->classes && c < CYMEM__NTABLE && rc == 0; c++) {
        for (const cymem__slab *s = pool->classes[c].all; s && rc == 0; s = s->next_in_class) {
            for (uint32_t i = 0; i < s->next && rc == 0; i++) {
                if (!slab_is_free(s, i))
                    rc = fn(s->base + (size_t)i * s->bsize, s->bsize - slab_get_slack(s, i), ctx);
            }
        }
    }
    return rc;
}

int cymem__slabs_freed(const cymem_pool *pool)
{
    for (unsigned c = 0; pool->classes && c < CYMEM__NTABLE; c++)
        for (const cymem__slab *s = pool->classes[c].all; s; s = s->next_in_class)
            if (s->nfree != 0)
                return 1;
    return 0;
}

/* ---- Reset and destroy ------------------------------------------------- */

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
    size_t i, j, split, span;
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
void cymem__slabs_to_arena(cymem_pool *pool)
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
        size_t split = (dirty + CYMEM__GRANULE - 1) & ~(CYMEM__GRANULE - 1);
        if (!v[i]->carved || split >= span)
            split = span;
        cymem__slab *a = cymem__arena_adopt(pool, last, v[i]->base,
                                            (uint32_t)(split >> CYMEM__UNIT_SHIFT), v[i]->mem,
                                            v[i]->carved ? split : v[i]->mem_size,
                                            v[i]->carved, dirty);
        if (a == NULL)
            break;
        runs[nruns++] = (run){ i, j, split, span, a, NULL };
        last = a;
        i = j;
    }
    /* Slabs left for want of memory stay slabs. */
    for (size_t x = i; x < n; x++) {
        cymem__class *sc = &pool->classes[v[x]->cls];
        v[x]->next_in_class = sc->all;
        sc->all = v[x];
    }
    /* The untouched tails, last.  (Without memory for its descriptor, a
     * tail stays unused until the pool is destroyed: its run's chunk
     * already ends at the split, with its marks.) */
    for (size_t r = 0; r < nruns; r++) {
        cymem__slab *a = runs[r].chunk;
        size_t split = runs[r].split, span = runs[r].span;
        if (split == span)
            continue;
        cymem__slab *t = cymem__arena_adopt(pool, last, a->base + split,
                                            (uint32_t)((span - split) >> CYMEM__UNIT_SHIFT),
                                            a->base + split, span - split, 1, 0);
        if (t != NULL)
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
        cymem__arena_set_fast(pool);
    }
    pool->arena_budget = SIZE_MAX;
}

void cymem__slabs_reset(cymem_pool *pool)
{
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
            cymem__slab_unlist(sc, sc->cur);
            sc->cur->list = SLAB_CURRENT;
        }
    }
}

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

void cymem__slabs_release(cymem_pool *pool)
{
    if (pool->classes) {
        release_slabs(pool);
        cymem__meta_free(pool, pool->classes, CYMEM__NTABLE * sizeof *pool->classes);
    }
    pool->classes = NULL;
}
