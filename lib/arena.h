/*
 * arena.h - the hot paths of a pool's arena (arena.c has the rest).
 *
 * An arena chunk hands out blocks of mixed sizes, in whole units of
 * CYMEM__UNIT bytes, by bumping its index `next`.  Nothing is written into
 * the blocks: which units start a block (`starts`), which of those blocks
 * are live (a clear bit in `fmap`) and each block's slack (4 bits per
 * unit) live out of line, in the chunk's descriptor (internal.h).
 *
 * Invariants kept here, checked by invariants.c (group 8 of
 * doc/design.md):
 *  - below `next`, units are covered by consecutive blocks: unit 0 starts
 *    a block, and a block's extent runs to the next start bit, or to next;
 *    no start bit is set at or above `next`, and every fmap bit there is set;
 *  - a live block's requested size is extent * UNIT - slack, 1 to
 *    CYMEM__CLASS_MAX bytes; nfree counts live blocks, live_units their units;
 *  - units at or above max(next, dirty_end) are zero;
 *  - a freed block below next, unless the pool gave up on it, waits in the
 *    hole bin of the largest class it can hold, once.
 */
#ifndef CYMEM_ARENA_H
#define CYMEM_ARENA_H

#include "internal.h"
#include "pagemap.h"
#include "track.h"

/* The slab or arena chunk of @pool whose blocks span @ptr, or NULL: the
 * keeper by its bounds, any other by the page map. */
static inline cymem__slab *cymem__chunk_find(const cymem_pool *pool, const void *ptr)
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

static inline unsigned arena_get_slack(const cymem__slab *a, uint32_t idx)
{
    return (((const uint8_t *)a->slack)[idx >> 1] >> ((idx & 1) * 4)) & 0xFu;
}

static inline void arena_set_slack(cymem__slab *a, uint32_t idx, unsigned v)
{
    uint8_t *b = (uint8_t *)a->slack + (idx >> 1);
    unsigned sh = (idx & 1) * 4;
    *b = (uint8_t)((*b & ~(0xFu << sh)) | (v << sh));
}

/* The units of the block starting at unit @idx (< next). */
static inline uint32_t arena_extent(const cymem__slab *a, uint32_t idx)
{
    uint32_t w = idx >> 6;
    uint64_t bits = a->starts[w] & ((~(uint64_t)0 << (idx & 63)) << 1);
    uint32_t end = (a->next + 63) >> 6;
    while (bits == 0) {
        if (++w >= end)
            return a->next - idx;
        bits = a->starts[w];
    }
    return w * 64 + (uint32_t)__builtin_ctzll(bits) - idx;
}

/* The requested size of the block of @units units at @idx. */
static inline size_t arena_size(const cymem__slab *a, uint32_t idx, uint32_t units)
{
    return ((size_t)units << CYMEM__UNIT_SHIFT) - arena_get_slack(a, idx);
}

/* ---- arena.c ---- */
void cymem__arena_set_fast(cymem_pool *pool);
size_t cymem__keeper_init(cymem_pool *pool, size_t size, size_t dirty);
size_t cymem__keeper_dirty(const cymem_pool *pool);
void *cymem__arena_alloc(cymem_pool *pool, size_t n);
void *cymem__arena_refill(cymem_pool *pool, size_t n);
void *cymem__arena_reuse(cymem_pool *pool, size_t n);
void cymem__arena_hole(cymem_pool *pool, cymem__slab *a, uint32_t idx, uint32_t units);
void *cymem__arena_resize(cymem_pool *pool, cymem__slab *a, uint32_t idx, size_t old,
                          size_t new_size);
void cymem__arena_reset(cymem_pool *pool);
void cymem__arena_trim(cymem_pool *pool);
void cymem__arena_count(const cymem_pool *pool, size_t *blocks, size_t *bytes);
int cymem__arena_foreach(const cymem_pool *pool,
                         int (*fn)(void *ptr, size_t size, void *ctx), void *ctx);
int cymem__arena_containing(const cymem__slab *a, const void *addr, void **block,
                            size_t *size);

/*
 * Bump-allocate @n bytes (1..CLASS_MAX) from arena chunk @a; @track is a
 * constant, as for small_take() in pool.c.  When @a is full, finding the
 * next chunk is a tail call.
 */
static inline __attribute__((always_inline))
void *arena_take(cymem_pool *pool, cymem__slab *a, size_t n, const int track)
{
    uint32_t u = arena_units_for(n);
    uint32_t idx = a->next;
    if (unlikely(u > a->nblocks - idx))
        return cymem__arena_refill(pool, n);
    a->next = idx + u;
    uint64_t bit = (uint64_t)1 << (idx & 63);
    a->starts[idx >> 6] |= bit;
    a->fmap[idx >> 6] &= ~bit;
    arena_set_slack(a, idx, (u << CYMEM__UNIT_SHIFT) - (unsigned)n);
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

/* Free the live block at unit @idx of arena chunk @a.  The block at the
 * top of the chunk that serves goes back to the bump index; any other
 * becomes a hole (an earlier chunk's top would never be bumped again). */
static inline __attribute__((always_inline))
void arena_release(cymem_pool *pool, cymem__slab *a, uint32_t idx, const int track)
{
    uint32_t u = arena_extent(a, idx);
    size_t n = arena_size(a, idx, u);
    account_free(pool, n);
    if (track)
        TRACK_BLOCK_FREE(pool, a->base + ((size_t)idx << CYMEM__UNIT_SHIFT), n,
                         (size_t)u << CYMEM__UNIT_SHIFT);
    uint64_t bit = (uint64_t)1 << (idx & 63);
    a->fmap[idx >> 6] |= bit;
    a->nfree--;
    a->live_units -= u;
    /* (The debug mode makes every freed block a hole, so that a write
     * after free is seen when the block is reused.) */
    if (idx + u == a->next && a == pool->arena && !(track && DEBUG_ON)) {
        /* Written units stay dirty for the next block that takes them. */
        if (a->dirty_end < a->next)
            a->dirty_end = a->next;
        a->starts[idx >> 6] &= ~bit;
        a->next = idx;
        return;
    }
    cymem__arena_hole(pool, a, idx, u);
}

#endif /* CYMEM_ARENA_H */
