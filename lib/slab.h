/*
 * slab.h - the hot paths of a pool's slabs (slab.c has the rest).
 *
 * A slab is one piece of backing memory cut into equal blocks of one size
 * class.  Nothing is written into its blocks: how many bytes were asked
 * for each live block is its slack entry (block size minus requested), and
 * which blocks were freed is a bitmap of up to CYMEM__FMAP_LEVELS levels,
 * both out of line, after the slab's descriptor.
 *
 * Invariants kept here and in slab.c, checked by invariants.c (groups 1,
 * 2, 3 and 6 of doc/design.md):
 *  - blocks below `next` were handed out since the slab was made or reset;
 *    block i < next is free exactly when its level-0 bit is set, and
 *    nfree counts those; no bit is set at or above next;
 *  - a summary bit is set exactly when the word below it is not empty,
 *    except for the hint word's, which are always set;
 *  - a live block's slack is one a request of its class leaves (or an
 *    in-place realloc left, at least half of the block used);
 *  - blocks at or above max(next, dirty_end) hold only zero bytes;
 *  - a class's current slab is the shared empty sentinel or one of its
 *    slabs, on no list (a slab's `list` says SLAB_CURRENT); any other slab
 *    (never SLAB_CURRENT) is on the avail list exactly when
 *    at least avail_min of its blocks are free, on the fresh list only if
 *    it has untouched blocks, on no list only when it is full;
 *  - every granule a slab spans names it in the page map, with its pool.
 */
#ifndef CYMEM_SLAB_H
#define CYMEM_SLAB_H

#include "internal.h"
#include "track.h"

static inline void slab_set_slack(cymem__slab *s, uint32_t idx, size_t v)
{
    if (s->wide)
        ((uint16_t *)s->slack)[idx] = (uint16_t)v;
    else
        ((uint8_t *)s->slack)[idx] = (uint8_t)v;
}

/* ---- The freed-block bitmap (slab.c explains the hint) ----------------- */

#define FMAP_BIT(i) ((uint64_t)1 << ((i) & 63))

/* Set the summary bits of level-0 word @w, going up while a word was empty. */
static inline void fmap_mark_up(cymem__slab *s, uint32_t w)
{
    for (unsigned l = 1; l < s->levels; l++, w >>= 6) {
        uint64_t *p = s->lv[l] + (w >> 6), old = *p;
        *p = old | FMAP_BIT(w);
        if (old != 0)
            return;
    }
}

/* ---- Class lists ------------------------------------------------------- */

static inline void list_push(cymem__slab **head, cymem__slab *s, int which)
{
    s->list = (uint8_t)which;
    s->lprev = NULL;
    s->lnext = *head;
    if (*head)
        (*head)->lprev = s;
    *head = s;
}

/* Take slab @s off the class list that holds it. */
void cymem__slab_unlist(cymem__class *sc, cymem__slab *s);

/* ---- Taking and giving back blocks ------------------------------------- */

/* small_take() with the checker hooks, for every caller but the fast path;
 * its two tail calls, when the current slab has no freed block in its hint
 * word (rehint) or no block at all (refill). */
void *cymem__small_alloc(cymem_pool *pool, size_t n, unsigned c);
void *cymem__small_rehint(cymem_pool *pool, size_t n, unsigned c);
void *cymem__small_refill(cymem_pool *pool, size_t n, unsigned c);

/*
 * Allocate @n bytes from class @c: the hot path.  @track is a constant:
 * the fast path of cymem_pool_alloc() inlines this with 0, for pools that
 * run no checker hooks (pool->fast); cymem__small_alloc() is the
 * instance with 1.  Every call in it is a tail call, so the fast path saves no registers.
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
            return cymem__small_rehint(pool, n, c);
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
        return cymem__small_refill(pool, n, c);
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

/* What a free of block @idx of slab @s needs beyond the fast path's
 * work, done once its bit is set and nfree counts it: the summary bits
 * when its level-0 word was empty, and the move to the avail list when
 * the slab has enough freed blocks.  Returns 0 (the fast path's tail
 * call). */
int cymem__small_freed(cymem_pool *pool, cymem__slab *s, uint32_t idx);

/* Whether the free of a block whose level-0 word was @old before it, now
 * counted in nfree, needs cymem__small_freed(). */
static inline int small_freed_more(const cymem__slab *s, uint64_t old)
{
    return old == 0 || (s->list < SLAB_ON_AVAIL && s->nfree >= s->avail_min);
}

/* Free the live block @idx of slab @s, its size to *@size (if @size);
 * returns 0, and its one call is a tail call (the fast path of a free ends
 * here).  Only out-of-line memory changes: the block itself is not
 * touched.  @track as for small_take(); @unlock, a constant too: @pool
 * is a shared pool's heap, locked by the caller, and its lock is given
 * back before the return, or by the tail call (the _unlock instance of
 * internal.h) when there is one. */
static inline __attribute__((always_inline))
int small_free_ex(cymem_pool *pool, cymem__slab *s, uint32_t idx, size_t *size, const int track,
                  const int unlock)
{
    uint64_t *w = s->fmap + (idx >> 6), old = *w;
    size_t n = s->bsize - slab_get_slack(s, idx);
    account_free(pool, n);
    if (track)
        TRACK_BLOCK_FREE(pool, s->base + (size_t)idx * s->bsize, n, s->bsize);
    *w = old | FMAP_BIT(idx);
    s->nfree++;
    if (size != NULL)
        *size = n;
    if (unlikely(small_freed_more(s, old)))
        return unlock ? cymem__small_freed_unlock(pool, s, idx) : cymem__small_freed(pool, s, idx);
    if (unlock)
        heap_unlock(pool);
    return 0;
}

static inline __attribute__((always_inline))
int small_free(cymem_pool *pool, cymem__slab *s, uint32_t idx, size_t *size, const int track)
{
    return small_free_ex(pool, s, idx, size, track, 0);
}

/* small_free() that returns the block's size. */
static inline __attribute__((always_inline))
size_t small_release(cymem_pool *pool, cymem__slab *s, uint32_t idx, const int track)
{
    size_t n;
    (void)small_free(pool, s, idx, &n, track);
    return n;
}

/* ---- The rest (slab.c) ------------------------------------------------- */

/* Small blocks come from slabs from now on: make @pool's class table. */
int cymem__slabs_start(cymem_pool *pool);

/* The slab block of @s whose bytes hold @addr (its start for a 0-byte
 * block), in *block and *size; 0 if none. */
int cymem__slab_containing(const cymem__slab *s, const void *addr, void **block,
                           size_t *size);

/* The live slab blocks of @pool and their bytes, added to *blocks and
 * *bytes. */
void cymem__slabs_count(const cymem_pool *pool, size_t *blocks, size_t *bytes);

/* Call @fn on every live slab block of @pool until it returns non-zero. */
int cymem__slabs_foreach(const cymem_pool *pool,
                         int (*fn)(void *ptr, size_t size, void *ctx), void *ctx);

/* Whether any slab of @pool has a freed block. */
int cymem__slabs_freed(const cymem_pool *pool);

/* A reset: make @pool's slabs arena chunks after its last one, and lift
 * its arena budget (when it freed nothing individually). */
void cymem__slabs_to_arena(cymem_pool *pool);

/* A reset: every slab of @pool as new, on its class's fresh list. */
void cymem__slabs_reset(cymem_pool *pool);

/* Give back every slab of @pool and its class table. */
void cymem__slabs_release(cymem_pool *pool);

#endif /* CYMEM_SLAB_H */
