/*
 * blocks.c - one pool's blocks and memory, without a lock: which engine
 * serves an allocation (the arena, a slab class, a direct block),
 * realloc in place or by a move, the lookups of a block, and a pool's
 * making, clearing and freeing as a piece of memory (no children, no
 * cleanups, no lock: pool.c adds those).
 *
 * Invariants kept: a call that fails leaves the pool as it was (realloc's
 * move allocates the new block before it frees the old one, and the peak
 * is what the caller could see before or after the call); a block is
 * handed out zero-filled.  The engines keep their own invariants.
 *
 * Its layer: above the engines and stats.c (the debug mode walks the live
 * blocks at a reset); called by shared.c (for a heap, under its lock),
 * pool.c and api.c.
 */
#include "blocks.h"
#include "arena.h"
#include "backing.h"
#include "direct.h"
#include "hashtab.h"
#include "pagemap.h"
#include "ptrmap.h"
#include "region.h"
#include "slab.h"
#include "stats.h"
#include "track.h"

#include <errno.h>

/* ---- Choosing an engine ------------------------------------------------ */

static NOINLINE void *alloc_slow(cymem_pool *pool, size_t n)
{
    if (n <= pool->small_max) {
        if (cymem__slabs_start(pool) != 0)
            return NULL;
        return cymem__small_alloc(pool, n, size_class(n));
    }
    return cymem__direct_alloc(pool, n, CYMEM__MIN_ALIGN);
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
        return cymem__small_alloc(pool, n, size_class(n));
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
        (pool->classes != NULL || cymem__slabs_start(pool) == 0)) {
        unsigned c = size_class(n);
        while (class_size(c) & (CYMEM__SLAB_ALIGN - 1))
            c++;
        return cymem__small_alloc(pool, n, CYMEM__NCLASSES + c);
    }
    return cymem__direct_alloc(pool, n, align);
}

void *cymem__block_alloc(cymem_pool *pool, size_t n)
{
    return alloc_impl(pool, n);
}

void *cymem__block_alloc_aligned(cymem_pool *pool, size_t n, size_t align)
{
    return alloc_aligned_impl(pool, n, align);
}

/* ---- Free ------------------------------------------------------------- */

NOINLINE size_t cymem__block_release(cymem_pool *pool, cymem__slab *s, uint32_t idx)
{
    return s->cls == CYMEM__ARENA_CLS ? arena_release(pool, s, idx, 1)
                                      : small_release(pool, s, idx, 1);
}

int cymem__block_free(cymem_pool *pool, void *ptr, size_t *size)
{
    cymem__slab *s = cymem__chunk_find(pool, ptr);
    uint32_t idx;
    cymem__direct *d;
    if (s != NULL && (idx = chunk_index(s, ptr)) != CYMEM__NO_BLOCK) {
        *size = cymem__block_release(pool, s, idx);
        return 0;
    }
    if (s == NULL && (d = cymem__direct_find(pool, ptr)) != NULL) {
        *size = d->size;
        cymem__direct_free(pool, d);
        return 0;
    }
    return -1;
}

/* ---- Realloc ----------------------------------------------------------- */

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

int cymem__block_resize(cymem_pool *pool, void *ptr, size_t new_size, size_t *old,
                        size_t *align, void **out)
{
    cymem__slab *s = cymem__chunk_find(pool, ptr);
    *align = CYMEM__MIN_ALIGN;
    if (s != NULL && s->cls == CYMEM__ARENA_CLS) {
        uint32_t idx = arena_index(s, ptr);
        if (idx == CYMEM__NO_BLOCK)
            return -1;
        *old = arena_size(s, idx, arena_extent(s, idx));
        if (cymem__arena_resize(pool, s, idx, *old, new_size) != NULL) {
            *out = ptr;
            return 1;
        }
    } else if (s != NULL) {
        uint32_t idx = slab_index(s, ptr);
        if (idx == CYMEM__NO_BLOCK)
            return -1;
        size_t b = s->bsize;
        *old = b - slab_get_slack(s, idx);
        /* Stay in place while the size fits the block and at least half
         * of the block is used (or no smaller class exists). */
        if (new_size <= b && (size_class(new_size) == s->cls ||
                              (2 * new_size >= b && b - new_size <= slab_max_slack(s)))) {
            TRACK_BLOCK_RESIZE(pool, ptr, *old, new_size, b);
            if (new_size > *old)
                memset((char *)ptr + *old, 0, new_size - *old);
            slab_set_slack(s, idx, b - new_size);
            account_resize(pool, *old, new_size);
            *out = ptr;
            return 1;
        }
        /* Blocks of an aligned class keep their alignment. */
        if (s->cls >= CYMEM__NCLASSES)
            *align = CYMEM__SLAB_ALIGN;
    } else {
        cymem__direct *d = cymem__direct_find(pool, ptr);
        if (d == NULL)
            return -1;
        *old = d->size;
        *align = d->align;
        if (cymem__direct_resize(pool, d, new_size, out))
            return 1;
    }
    return 0;
}

void *cymem__block_realloc(cymem_pool *pool, void *ptr, size_t new_size)
{
    size_t old, align;
    void *q;
    int r = cymem__block_resize(pool, ptr, new_size, &old, &align, &q);
    if (r != 0) {
        if (r < 0)
            errno = EINVAL;
        return r > 0 ? q : NULL;
    }
    /* Move: new block first, so a failure leaves the old one untouched.
     * For a moment both blocks are live; the peak is what the caller
     * could see, before or after the call. */
    size_t peak = pool_peak(pool);
    q = align <= CYMEM__MIN_ALIGN && new_size - 1 < CYMEM__CLASS_MAX &&
                (pool->arena_fast != NULL || pool->fast != NULL)
            ? alloc_fast(pool, new_size)
            : alloc_aligned_impl(pool, new_size, align);
    if (q == NULL)
        return NULL;
    memcpy(q, ptr, old < new_size ? old : new_size);
    /* The allocation may have moved the direct map's entries: look up
     * again. */
    cymem__slab *s = cymem__chunk_find(pool, ptr);
    if (s != NULL)
        cymem__block_release(pool, s, chunk_index(s, ptr));
    else
        cymem__direct_free(pool, cymem__direct_find(pool, ptr));
    pool->peak_bytes = peak > pool->live_bytes ? peak : pool->live_bytes;
    return q;
}

/* ---- Lookups ----------------------------------------------------------- */

int cymem__block_find(const cymem_pool *pool, const void *ptr, size_t *size)
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

int cymem__block_containing(const cymem_pool *pool, const void *addr, void **block,
                            size_t *size)
{
    const cymem__slab *s = cymem__chunk_find(pool, addr);
    if (s != NULL && s->cls == CYMEM__ARENA_CLS)
        return cymem__arena_containing(s, addr, block, size);
    if (s != NULL)
        return cymem__slab_containing(s, addr, block, size);
    return cymem__direct_containing(pool, addr, block, size);
}

/* ---- A pool as a piece of memory -------------------------------------- */

/* The debug mode at a reset and a destroy (TRACK_POOL_RESET,
 * TRACK_POOL_DROP): every live block's redzone
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
    return pool->nholes == 0 && pool->arena_dead == 0 && !cymem__slabs_freed(pool);
}

/* Make every arena chunk and slab of @pool as after a reset, in
 * O(chunks); a pool that freed nothing individually goes on with an arena
 * only.  A heap of a shared pool keeps its slabs: other threads may be
 * reading their descriptors, which the conversion frees (shared.c). */
static void reset_engines(cymem_pool *pool)
{
    TRACK_POOL_RESET(pool);
    int whole = freed_nothing(pool) && pool->key == pool;
    cymem__arena_reset(pool);
    if (whole && pool->classes != NULL)
        cymem__slabs_to_arena(pool);
    cymem__slabs_reset(pool);
    note_peak(pool);
    pool->live_bytes = 0;
}

/*
 * A destroyed pool gives everything back, its keeper last; the keeper of a
 * pool of the system allocator is slab-sized memory, which waits in the
 * thread's cache (tcache.c) for the next cymem_pool_new(): a program that
 * makes a pool per request then costs no system call per pool, and the
 * next pool, laid out afresh, is a new pool in every statistic.
 */

void cymem__pool_clear(cymem_pool *pool)
{
    cymem__direct_release_all(pool);
    reset_engines(pool);
}

/* Let the fast paths serve @pool when they can: the pool takes no lock and
 * runs no checker hooks (plain); cymem_pool_alloc() then bumps its arena,
 * and takes from its classes once it has them (slab.c).  A THREADSAFE
 * pool's fields are never written after cymem_pool_new_ex(), as other
 * threads read them without the lock: they stay 0. */
static void set_plain(cymem_pool *pool)
{
#ifdef CYMEM_ASAN
    int hooks = 1;
#else
    int hooks = cymem__track;
#endif
    if (pool->flags & CYMEM_POOL_THREADSAFE)
        return;
    pool->plain = !hooks;
    pool->fast = NULL;
    cymem__arena_set_fast(pool);
}

cymem_pool *cymem__pool_make(const cymem_pool *proto)
{
    cymem_pool p = *proto;
    size_t dirty;
    cymem_pool *pool = cymem__slab_mem_alloc(&p, p.keeper_size, &dirty);
    if (pool == NULL)
        return NULL;
    *pool = p;
    TRACK_KEEPER_NEW(pool, p.keeper_size);
    if (pool->key == NULL)
        pool->key = pool;
    pool->metadata_bytes = cymem__keeper_init(pool, pool->keeper_size, dirty);
    set_plain(pool);
    return pool;
}

/* Give back everything @pool holds but its keeper, which is reset. */
static void release_all(cymem_pool *pool)
{
    cymem__slabs_release(pool);
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
    /* Its small blocks go with it: the debug mode checks them (its direct
     * blocks were checked as the destroy gave them back). */
    TRACK_POOL_DROP(pool);
    /* A heap's keeper is in the page map, for its shared pool's lookups. */
    if (pool->key != pool)
        cymem__page_remove(pool, pool_keeper(pool));
    release_all(pool);
    /* The pool's own memory, the keeper, came from its backing allocator
     * too. */
    cymem_pool self = *pool;
    size_t dirty = cymem__keeper_dirty(pool);
    TRACK_KEEPER_DELETE(pool);
    cymem__slab_mem_free(&self, pool, self.keeper_size, dirty);
}
