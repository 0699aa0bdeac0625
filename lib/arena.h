/*
 * arena.h - the hot paths of a pool's arena (arena.c has the rest).
 *
 * An arena chunk hands out blocks of mixed sizes, in whole units of
 * CYMEM__UNIT bytes, by bumping its index `next`.  Nothing is written into
 * the blocks: a byte per unit, out of line (`marks`: after the units in
 * the keeper and in chunks made of slabs, `inside`; after the descriptor
 * in any other), says what starts there: 0 nothing, 1 + slack a live block whose requested size is its
 * units times UNIT minus the slack (0..15), ARENA_FREED a freed block.
 *
 * Invariants kept here, checked by invariants.c (group 8 of
 * doc/design.md):
 *  - below `next`, units are covered by consecutive blocks: unit 0 starts
 *    a block, and a block's extent runs to the next non-zero mark, or to
 *    next; every mark at or above `next`, and the 8 bytes of padding after
 *    the last, is 0;
 *  - a live block's requested size is 1 to CYMEM__CLASS_MAX bytes; nfree
 *    counts live blocks, live_units their units;
 *  - units at or above max(next, dirty_end) are zero, and so are the
 *    bytes after marks kept in the chunk's own memory (the keeper's, or
 *    `inside`) up to its end;
 *  - a freed block below next, unless the pool gave up on it, waits in the
 *    hole bin of the largest class it can hold, once.
 */
#ifndef CYMEM_ARENA_H
#define CYMEM_ARENA_H

#include "internal.h"
#include "pagemap.h"
#include "track.h"

/* The slab or arena chunk of @pool whose blocks span @ptr, or NULL: the
 * keeper by its bounds, any other by the page map, under the pool's key
 * (itself, or a heap's shared pool). */
static inline cymem__slab *cymem__chunk_find(const cymem_pool *pool, const void *ptr)
{
    if ((uintptr_t)ptr - (uintptr_t)pool->kbase < pool->kspan)
        return pool_keeper(pool);
    if (pool->key == pool)
        return cymem__page_find(pool, ptr);
    /* A heap: its key is its shared pool's, whose other heaps claim and
     * release slots under it from their threads; their chunks are not
     * this heap's. */
    cymem__slab *s = cymem__page_find_key(pool, ptr);
    return s != NULL && s->home == pool ? s : NULL;
}

/* cymem__chunk_find() for a pool that is its own key: every pool a caller
 * holds (heaps are the library's own). */
static inline cymem__slab *cymem__chunk_find_own(const cymem_pool *pool, const void *ptr)
{
    if ((uintptr_t)ptr - (uintptr_t)pool->kbase < pool->kspan)
        return pool_keeper(pool);
    return cymem__page_find(pool, ptr);
}

/* The units a request of @n bytes (1..CLASS_MAX) takes. */
static inline uint32_t arena_units_for(size_t n)
{
    return (uint32_t)((n + CYMEM__UNIT - 1) >> CYMEM__UNIT_SHIFT);
}

/* The bytes of the marks of a chunk of @units units: a byte per unit, and
 * eight of padding for arena_extent(), in whole words. */
static inline size_t arena_marks_bytes(uint32_t units)
{
    return ((size_t)units + 8 + 7) & ~(size_t)7;
}

/* A chunk that keeps its marks in its own memory, after its units (the
 * keeper, and the chunks a reset makes of slabs), leaves this many bytes
 * between its last unit and its marks: a write a little past the end of
 * its last block lands there, where nothing is read, and not in the marks
 * (rel-overflow.c).  The pad is cleared at every reset and before the
 * chunk's memory is given back. */
#define CYMEM__MARKS_PAD CYMEM__UNIT

/* The bytes such a chunk of @units units keeps after them: pad and marks. */
static inline size_t arena_own_marks_bytes(uint32_t units)
{
    return CYMEM__MARKS_PAD + arena_marks_bytes(units);
}

/* Whether chunk @a keeps its marks in its own memory, after its units. */
static inline int arena_marks_own(const cymem__slab *a)
{
    return a->marks == (uint8_t *)a->base + a->span + CYMEM__MARKS_PAD;
}

#define ARENA_FREED 0x80u

/* Whether mark @m starts a live block. */
static inline int arena_live(uint8_t m)
{
    return (uint8_t)(m - 1) < CYMEM__UNIT;
}

/* The index of the live block of arena chunk @a (which spans @ptr) that
 * starts at @ptr, or NO_BLOCK. */
static inline uint32_t arena_index(const cymem__slab *a, const void *ptr)
{
    size_t off = (size_t)((const char *)ptr - a->base);
    uint32_t idx = (uint32_t)(off >> CYMEM__UNIT_SHIFT);
    if ((off & (CYMEM__UNIT - 1)) != 0 || idx >= a->next || !arena_live(a->marks[idx]))
        return CYMEM__NO_BLOCK;
    return idx;
}

/* The same for a slab or an arena chunk. */
static inline uint32_t chunk_index(const cymem__slab *s, const void *ptr)
{
    return s->cls == CYMEM__ARENA_CLS ? arena_index(s, ptr) : slab_index(s, ptr);
}

/* The units of the block starting at unit @idx (< next): up to the next
 * mark, eight at a time (the marks from next on are 0, padding
 * included). */
static inline uint32_t arena_extent(const cymem__slab *a, uint32_t idx)
{
    uint32_t i = idx + 1;
    for (;;) {
        uint64_t w;
        memcpy(&w, a->marks + i, sizeof w);
        if (w != 0)
            return i + (uint32_t)(__builtin_ctzll(w) >> 3) - idx;
        i += 8;
        if (i >= a->next)
            return a->next - idx;
    }
}

/* The requested size of the live block of @units units at @idx. */
static inline size_t arena_size(const cymem__slab *a, uint32_t idx, uint32_t units)
{
    return ((size_t)units << CYMEM__UNIT_SHIFT) - (size_t)(a->marks[idx] - 1);
}

/* ---- arena.c ---- */
void cymem__arena_set_fast(cymem_pool *pool);
size_t cymem__keeper_init(cymem_pool *pool, size_t size, size_t dirty);
size_t cymem__keeper_dirty(const cymem_pool *pool);
int cymem__arena_next(cymem_pool *pool);
cymem__slab *cymem__arena_last(const cymem_pool *pool);
cymem__slab *cymem__arena_adopt(cymem_pool *pool, cymem__slab *last, char *base,
                                uint32_t units, void *mem, size_t mem_size, int carved,
                                size_t dirty);
void *cymem__arena_reuse(cymem_pool *pool, size_t n);
/* These two return 0, so that a free can end with either as a tail call. */
int cymem__arena_hole(cymem_pool *pool, cymem__slab *a, uint32_t idx, uint32_t units);
int cymem__arena_back(cymem_pool *pool);
void *cymem__arena_resize(cymem_pool *pool, cymem__slab *a, uint32_t idx, size_t old,
                          size_t new_size);
void cymem__arena_reset(cymem_pool *pool);
void cymem__arena_trim(cymem_pool *pool);
void cymem__arena_count(const cymem_pool *pool, size_t *blocks, size_t *bytes);
int cymem__arena_foreach(const cymem_pool *pool,
                         int (*fn)(void *ptr, size_t size, void *ctx), void *ctx);
int cymem__arena_containing(const cymem__slab *a, const void *addr, void **block,
                            size_t *size);

/* The arena's current chunk has no room for @n bytes: go on with the next
 * chunk, or with slabs (blocks.c, which instantiates arena_take() with
 * the hooks; api.c's fast path ends here too). */
void *cymem__alloc_refill(cymem_pool *pool, size_t n);

/*
 * Bump-allocate @n bytes (1..CLASS_MAX) from arena chunk @a; @track is a
 * constant, as for small_take() in slab.h.  When @a is full, what comes
 * next is a tail call.
 */
static inline __attribute__((always_inline))
void *arena_take(cymem_pool *pool, cymem__slab *a, size_t n, const int track)
{
    uint32_t u = arena_units_for(n);
    uint32_t idx = a->next;
    if (unlikely(u > a->nblocks - idx))
        return cymem__alloc_refill(pool, n);
    a->next = idx + u;
    a->marks[idx] = (uint8_t)((u << CYMEM__UNIT_SHIFT) - n + 1);
    a->nfree++;
    a->live_units += u;
    account_alloc(pool, n);
    char *p = a->base + ((size_t)idx << CYMEM__UNIT_SHIFT);
    if (track)
        TRACK_BLOCK_ALLOC(pool, p, n, (size_t)u << CYMEM__UNIT_SHIFT);
    if (idx < a->dirty_end)
        return memset(p, 0, n);
    return p;
}

/* Free the live block at unit @idx of arena chunk @a, its size to *@size
 * (if @size); returns 0, and its calls are tail calls (the fast path of a
 * free ends here).  The block at the top of the chunk that serves goes
 * back to the bump index; any other becomes a hole (an earlier chunk's top
 * would never be bumped again).  @track as for arena_take(), @unlock as
 * for small_free_ex() in slab.h. */
static inline __attribute__((always_inline))
int arena_free_ex(cymem_pool *pool, cymem__slab *a, uint32_t idx, size_t *size, const int track,
                  const int unlock)
{
    uint32_t u = arena_extent(a, idx);
    size_t n = arena_size(a, idx, u);
    account_free(pool, n);
    if (track)
        TRACK_BLOCK_FREE(pool, a->base + ((size_t)idx << CYMEM__UNIT_SHIFT), n,
                         (size_t)u << CYMEM__UNIT_SHIFT);
    a->nfree--;
    a->live_units -= u;
    if (size != NULL)
        *size = n;
    /* (The debug mode makes every freed block a hole, so that a write
     * after free is seen when the block is reused.) */
    if (idx + u == a->next && a == pool->arena && !(track && DEBUG_ON)) {
        /* Written units stay dirty for the next block that takes them. */
        if (a->dirty_end < a->next)
            a->dirty_end = a->next;
        a->marks[idx] = 0;
        a->next = idx;
        if (unlikely(idx == 0) && a != pool_keeper(pool))
            return unlock ? cymem__arena_back_unlock(pool) : cymem__arena_back(pool);
        if (unlock)
            heap_unlock(pool);
        return 0;
    }
    a->marks[idx] = ARENA_FREED;
    return unlock ? cymem__arena_hole_unlock(pool, a, idx, u) : cymem__arena_hole(pool, a, idx, u);
}

static inline __attribute__((always_inline))
int arena_free(cymem_pool *pool, cymem__slab *a, uint32_t idx, size_t *size, const int track)
{
    return arena_free_ex(pool, a, idx, size, track, 0);
}

/* arena_free() that returns the block's size. */
static inline __attribute__((always_inline))
size_t arena_release(cymem_pool *pool, cymem__slab *a, uint32_t idx, const int track)
{
    size_t n;
    (void)arena_free(pool, a, idx, &n, track);
    return n;
}

#endif /* CYMEM_ARENA_H */
