/*
 * arena.c - a pool's arena: bump allocation of mixed sizes, the keeper
 * chunk, holes, reset.
 *
 * A new pool is one piece of backing memory, the keeper: the pool itself,
 * the keeper's descriptor and marks, then its units.  Small blocks are
 * bump allocations from the keeper, then from further arena chunks, each
 * the size of the arena so far up to the pool's chunk size, for the first
 * CYMEM__ARENA_BUDGET bytes; slabs (slab.c) serve the rest.  So a pool
 * that takes a few hundred blocks and is destroyed or reset costs one
 * backing request, and a reset keeps every chunk for the next round.  A
 * reset that finds no block freed individually since the last one has
 * seen a pool that is only ever emptied whole: slab.c then makes its slabs
 * arena chunks (cymem__arena_adopt()) and lifts the budget.
 *
 * A freed block at the top of its chunk goes back to the bump index; any
 * other is a hole, kept (out of line) in the bin of the largest size class
 * it can hold, and a later request of that class takes it, split if the
 * rest is a unit or more.  When the bytes of holes not reused pass
 * CYMEM__ARENA_DEAD_MIN and 1/CYMEM__ARENA_DEAD_DIVISOR of the arena, the
 * pool's pattern is not one an arena serves well: it leaves arena mode,
 * and its later small blocks come from slabs (slab.c) until a reset.  So
 * it does once its frees have made CYMEM__ARENA_CHURN holes since the last
 * reset, if its arena is within its budget: a pool that frees and
 * allocates one block at a time, over and over, is served better by
 * slabs, whose reuse of a freed block is on the fast path, than by holes,
 * which every allocation looks for off it.  Out of arena mode, holes serve
 * the general path only (a request before the pool has slabs, or one the
 * fast path cannot serve), so most of them wait for the reset: at most
 * the arena, within its budget for a pool that left by churn.
 *
 * arena.h states the invariants of a chunk; those of the pool's arena:
 *  - the chunks are the keeper, then pool->arenas in the order they were
 *    made; pool->arena, when not NULL, is one of them, and every chunk
 *    after it is empty;
 *  - arena_bytes is the sum of their spans, at most arena_budget unless
 *    the budget was lifted; arena_dead is at least the
 *    bytes of the binned holes, and nholes their count;
 *  - arena_fast is pool->arena exactly when the pool is plain (no lock, no
 *    checker hooks) and has no hole waiting; fast is the class table
 *    exactly when the pool is plain and out of arena mode, so that a pool
 *    in arena mode never has its small blocks served by slabs on the fast
 *    path (its holes, then its arena, serve them first).
 */
#include "arena.h"
#include "backing.h"
#include "region.h"

#include <errno.h>

/* Recompute the fast path's fields, arena_fast and fast: see the
 * invariants above.  A pool that is not plain never has them set, and
 * never writes them: other threads read a THREADSAFE pool's fields
 * without its lock. */
void cymem__arena_set_fast(cymem_pool *pool)
{
    if (pool->plain) {
        pool->arena_fast = pool->nholes == 0 ? pool->arena : NULL;
        pool->fast = pool->arena == NULL ? pool->classes : NULL;
    }
}

/* The units of a chunk of @bytes bytes that holds its own marks after
 * them, past the pad (0 if none fit). */
static uint32_t units_with_marks(size_t bytes)
{
    if (bytes < arena_own_marks_bytes(0) + CYMEM__UNIT)
        return 0;
    uint32_t units = (uint32_t)(bytes / (CYMEM__UNIT + 1));
    while (units > 0 &&
           ((size_t)units << CYMEM__UNIT_SHIFT) + arena_own_marks_bytes(units) > bytes)
        units--;
    return units;
}

/* Clear the pad before chunk @a's own marks (what an overflow of its last
 * block may have written there). */
static void clear_pad(cymem__slab *a)
{
    memset(a->marks - CYMEM__MARKS_PAD, 0, CYMEM__MARKS_PAD);
}

/* Set up descriptor @a for @units units at @base, with its marks at @meta
 * (arena_marks_bytes(units) bytes, of which the first @marks_dirty may be
 * non-zero); @dirty leading bytes of the units may hold old data. */
static void chunk_init(cymem__slab *a, char *base, uint32_t units, void *meta,
                       size_t dirty, size_t marks_dirty)
{
    memset(a, 0, sizeof *a);
    a->base = base;
    a->span = (size_t)units << CYMEM__UNIT_SHIFT;
    a->recip = ((uint64_t)1 << 40) >> CYMEM__UNIT_SHIFT;
    a->bsize = (uint32_t)CYMEM__UNIT;
    a->nblocks = units;
    a->cls = (uint8_t)CYMEM__ARENA_CLS;
    a->marks = meta;
    memset(a->marks, 0, marks_dirty < arena_marks_bytes(units) ? marks_dirty : arena_marks_bytes(units));
    dirty = (dirty + CYMEM__UNIT - 1) >> CYMEM__UNIT_SHIFT;
    a->dirty_end = (uint32_t)(dirty < units ? dirty : units);
    TRACK_SLAB_NEW(a->base, a->span);
}

/* Clear what the first @dirty bytes from @start may hold of the bytes
 * @from to @end after them: the memory after a chunk's marks, which no
 * dirty figure it gives back covers (cymem__keeper_dirty(), chunk_delete():
 * up to its units, or its marks), so that old bytes an earlier owner left
 * there cannot outlive this owner unaccounted for. */
static void clear_past_marks(char *start, size_t dirty, size_t from, size_t end)
{
    if (dirty > end)
        dirty = end;
    if (dirty > from) {
        /* The chunk's own bookkeeping memory, like its marks: the
         * checkers may have had it as part of an earlier slab's blocks. */
        TRACK_SLAB_META(start + from, dirty - from);
        memset(start + from, 0, dirty - from);
    }
}

/*
 * Lay out the keeper in the @size bytes at @pool, whose first @dirty bytes
 * may hold old data: the pool (already written), the descriptor, as many
 * units as fit, aligned to CYMEM__SLAB_ALIGN, then the pad and their marks.  The marks
 * come last so that a keeper given back with its marks cleared (pool.c)
 * and its units dirty is known to have clear marks when it comes back.
 * Returns the bytes that are not units (metadata).
 */
size_t cymem__keeper_init(cymem_pool *pool, size_t size, size_t dirty)
{
    cymem__slab *k = pool_keeper(pool);
    char *mem = (char *)pool;
    uintptr_t b = (uintptr_t)(k + 1);
    char *base = (char *)((b + CYMEM__SLAB_ALIGN - 1) & ~(uintptr_t)(CYMEM__SLAB_ALIGN - 1));
    size_t lead = (size_t)(base - mem);
    uint32_t units = units_with_marks(size - lead);
    size_t marks_at = lead + ((size_t)units << CYMEM__UNIT_SHIFT) + CYMEM__MARKS_PAD;
    chunk_init(k, base, units, mem + marks_at, dirty > lead ? dirty - lead : 0,
               dirty > marks_at ? dirty - marks_at : 0);
    clear_pad(k);
    clear_past_marks(mem, dirty, marks_at + arena_marks_bytes(units), size);
    k->mem = pool;
    k->mem_size = size;
    k->home = pool;
    pool->kbase = base;
    pool->kspan = (uint32_t)k->span;
    pool->arena = k;
    pool->arenas = NULL;
    pool->holes = NULL;
    pool->nholes = 0;
    pool->arena_bytes = k->span;
    pool->arena_budget = CYMEM__ARENA_BUDGET;
    pool->arena_dead = 0;
    pool->arena_churn = 0;
    cymem__arena_set_fast(pool);
    return size - k->span;
}

/* A descriptor, with its marks, for the @units units at @base of memory
 * the pool holds (@mem_size bytes at @mem, @carved from a region), whose
 * first @dirty bytes from @base may hold old data; NULL (ENOMEM).  With
 * @inside, the marks take the end of those units, as the keeper's do
 * (fewer units, no new memory); else they follow the descriptor. */
static cymem__slab *chunk_describe(cymem_pool *pool, char *base, uint32_t units, void *mem,
                                   size_t mem_size, int carved, size_t dirty, int inside)
{
    size_t head = (sizeof(cymem__slab) + 7) & ~(size_t)7;
    uint32_t own = inside ? units_with_marks((size_t)units << CYMEM__UNIT_SHIFT) : 0;
    inside = own > 0;
    size_t meta = inside ? head : head + arena_marks_bytes(units);
    cymem__slab *a = cymem__meta_alloc(pool, meta);
    if (a == NULL)
        return NULL;
    if (inside) {
        size_t pad = (size_t)own << CYMEM__UNIT_SHIFT, at = pad + CYMEM__MARKS_PAD;
        TRACK_SLAB_META(base + pad, arena_own_marks_bytes(own));
        chunk_init(a, base, own, base + at, dirty, dirty > at ? dirty - at : 0);
        clear_pad(a);
        clear_past_marks(base, dirty, at + arena_marks_bytes(own),
                         (size_t)((char *)mem + mem_size - base));
        pool->metadata_bytes += arena_own_marks_bytes(own);
    } else {
        chunk_init(a, base, units, (char *)a + head, dirty, SIZE_MAX);
    }
    a->inside = (uint8_t)inside;
    a->mem = mem;
    a->mem_size = mem_size;
    a->meta_size = meta;
    a->carved = (uint8_t)carved;
    a->home = pool;
    return a;
}

/* Put chunk @a after @last, the pool's last chunk. */
static void chunk_append(cymem_pool *pool, cymem__slab *last, cymem__slab *a)
{
    if (last == pool_keeper(pool))
        pool->arenas = a;
    else
        last->next_in_class = a;
    pool->arena_bytes += a->span;
}

/* A new arena chunk after @last, the newest, or NULL (ENOMEM).  A large
 * pool of the system allocator carves its chunks from regions, as it does
 * its slabs (slab.c). */
static cymem__slab *chunk_new(cymem_pool *pool, cymem__slab *last)
{
    size_t bytes = CYMEM__ARENA_MIN;
    while (bytes < pool->arena_bytes && bytes < pool->chunk_size)
        bytes *= 2;
    if (bytes > pool->chunk_size)
        bytes = pool->chunk_size;
    /* Within the budget: chunks carved from a region may have come out
     * smaller than the doubling asked, and the next one must not make up
     * for them past it (cymem__arena_next() saw room for the smallest). */
    while (bytes > CYMEM__ARENA_MIN && pool->arena_bytes + bytes > pool->arena_budget)
        bytes /= 2;
    size_t dirty = 0, mem_size = 0;
    char *mem = NULL;
    int carved = 0;
    if (pool->sys && bytes <= CYMEM__REGION / 2 &&
        pool->reserved_bytes >= CYMEM__REGION_AFTER) {
        mem = cymem__region_carve(pool, &bytes, CYMEM__ARENA_MIN, &dirty);
        carved = mem != NULL;
        mem_size = bytes;
    }
    if (!carved) {
        /* The system allocator hands out whole pages; any other may give
         * just MIN_ALIGN, so ask for enough to align the base. */
        mem_size = bytes + (pool->sys ? 0 : CYMEM__SLAB_ALIGN - CYMEM__MIN_ALIGN);
        if ((mem = cymem__slab_mem_alloc(pool, mem_size, &dirty)) == NULL)
            return NULL;
    }
    char *base = (char *)(((uintptr_t)mem + CYMEM__SLAB_ALIGN - 1) &
                          ~(uintptr_t)(CYMEM__SLAB_ALIGN - 1));
    size_t lead = (size_t)(base - mem);
    cymem__slab *a = chunk_describe(pool, base, (uint32_t)(bytes >> CYMEM__UNIT_SHIFT), mem,
                                    mem_size, carved, dirty > lead ? dirty - lead : 0, 0);
    if (a == NULL || cymem__page_insert(pool, a) != 0) {
        /* A carved chunk was the last thing taken from its region. */
        if (carved)
            pool->regions->used -= bytes;
        else
            cymem__slab_mem_free(pool, mem, mem_size, dirty);
        if (a != NULL)
            cymem__meta_free(pool, a, a->meta_size);
        return NULL;
    }
    chunk_append(pool, last, a);
    return a;
}

/* Give chunk @a back (not the keeper); it is already out of the lists. */
static void chunk_delete(cymem_pool *pool, cymem__slab *a)
{
    cymem__page_remove(pool, a);
    if (a->inside) {
        pool->metadata_bytes -= arena_own_marks_bytes(a->nblocks);
        clear_pad(a);
    }
    if (a->carved) {
        /* Its region goes back whole. */
        cymem__meta_free(pool, a, a->meta_size);
        return;
    }
    uint32_t used = a->next > a->dirty_end ? a->next : a->dirty_end;
    size_t dirty = (size_t)(a->base - (char *)a->mem) + ((size_t)used << CYMEM__UNIT_SHIFT);
    /* Marks in the chunk's memory, after its units, are not zero while
     * blocks are live (a destroy deletes the chunks before any reset). */
    if (a->inside && a->next != 0)
        dirty = (size_t)((char *)a->marks - (char *)a->mem) + arena_marks_bytes(a->nblocks);
    cymem__slab_mem_free(pool, a->mem, a->mem_size, dirty);
    cymem__meta_free(pool, a, a->meta_size);
}

/* The chunk after @a, or NULL. */
static cymem__slab *chunk_after(const cymem_pool *pool, const cymem__slab *a)
{
    return a == pool_keeper(pool) ? pool->arenas : a->next_in_class;
}

/* The current chunk is full: make the next chunk the current one, made if
 * need be.  Returns 0, or 1 when the pool's budget allows no new chunk
 * (the pool leaves arena mode), or -1 (ENOMEM). */
int cymem__arena_next(cymem_pool *pool)
{
    cymem__slab *a = pool->arena, *next = chunk_after(pool, a);
    if (next == NULL) {
        if (pool->arena_bytes + CYMEM__ARENA_MIN > pool->arena_budget) {
            pool->arena = NULL;
            cymem__arena_set_fast(pool);
            return 1;
        }
        if ((next = chunk_new(pool, a)) == NULL)
            return -1;
    }
    pool->arena = next;
    cymem__arena_set_fast(pool);
    return 0;
}

/* The current chunk became empty by giving back its last blocks: the
 * chunk before it serves again, so that blocks freed newest first keep
 * going back to the bump index rather than becoming holes.  Not called
 * for the keeper, which has no chunk before it.  Returns 0. */
int cymem__arena_back(cymem_pool *pool)
{
    cymem__slab *a = pool_keeper(pool), *next;
    if (pool->arena == a)
        return 0;
    while ((next = chunk_after(pool, a)) != pool->arena)
        a = next;
    pool->arena = a;
    cymem__arena_set_fast(pool);
    return 0;
}

/* The pool's last arena chunk. */
cymem__slab *cymem__arena_last(const cymem_pool *pool)
{
    cymem__slab *a = pool_keeper(pool), *next;
    while ((next = chunk_after(pool, a)) != NULL)
        a = next;
    return a;
}

/*
 * Make @units units at @base, memory the pool already holds (a slab's,
 * @mem_size bytes at @mem, @carved from a region), an empty arena chunk
 * after @last; its first @dirty bytes may hold old data.  The caller
 * points the page map at it.  Returns it, or NULL (ENOMEM).
 */
cymem__slab *cymem__arena_adopt(cymem_pool *pool, cymem__slab *last, char *base,
                                uint32_t units, void *mem, size_t mem_size, int carved,
                                size_t dirty)
{
    cymem__slab *a = chunk_describe(pool, base, units, mem, mem_size, carved, dirty, 1);
    if (a != NULL)
        chunk_append(pool, last, a);
    return a;
}

/* The largest class whose blocks a hole of @units units can hold. */
static unsigned hole_class(uint32_t units)
{
    size_t bytes = (size_t)units << CYMEM__UNIT_SHIFT;
    unsigned c = size_class(bytes);
    return class_size(c) > bytes ? c - 1 : c;
}

/* Put a hole in its bin; when there is no memory for that, it stays
 * unused until a reset (it was counted dead already). */
static void hole_push(cymem_pool *pool, cymem__slab *a, uint32_t idx, uint32_t units)
{
    if (pool->holes == NULL) {
        size_t bytes = CYMEM__NCLASSES * sizeof *pool->holes;
        pool->holes = cymem__meta_alloc(pool, bytes);
        if (pool->holes == NULL)
            return;
        memset(pool->holes, 0, bytes);
    }
    cymem__hbin *bin = &pool->holes[hole_class(units)];
    if (bin->n == bin->cap) {
        size_t cap = bin->cap ? bin->cap * 2 : 16;
        cymem__hole *v = cymem__meta_alloc(pool, cap * sizeof *v);
        if (v == NULL)
            return;
        if (bin->n)
            memcpy(v, bin->v, bin->n * sizeof *v);
        if (bin->v)
            cymem__meta_free(pool, bin->v, bin->cap * sizeof *v);
        bin->v = v;
        bin->cap = cap;
    }
    bin->v[bin->n++] = (cymem__hole){ a, idx, units };
    if (pool->nholes++ == 0)
        cymem__arena_set_fast(pool);
}

/* Block @idx of @units units in chunk @a was freed and is not at the top.
 * Returns 0. */
int cymem__arena_hole(cymem_pool *pool, cymem__slab *a, uint32_t idx, uint32_t units)
{
    pool->arena_dead += (size_t)units << CYMEM__UNIT_SHIFT;
    hole_push(pool, a, idx, units);
    if (pool->arena != NULL &&
        ((++pool->arena_churn >= CYMEM__ARENA_CHURN &&
          pool->arena_budget <= CYMEM__ARENA_BUDGET) ||
         (pool->arena_dead > CYMEM__ARENA_DEAD_MIN &&
          pool->arena_dead > pool->arena_bytes / CYMEM__ARENA_DEAD_DIVISOR))) {
        pool->arena = NULL;
        cymem__arena_set_fast(pool);
    }
    return 0;
}

/* @n bytes (1..CLASS_MAX) from a hole, or NULL (errno untouched) when no
 * hole of their class or the next waits. */
void *cymem__arena_reuse(cymem_pool *pool, size_t n)
{
    unsigned c = size_class(n);
    cymem__hbin *bin = &pool->holes[c];
    if (bin->n == 0 && (c + 1 == CYMEM__NCLASSES || (bin = &pool->holes[c + 1])->n == 0))
        return NULL;
    cymem__hole h = bin->v[--bin->n];
    if (--pool->nholes == 0)
        cymem__arena_set_fast(pool);
    cymem__slab *a = h.chunk;
    uint32_t u = arena_units_for(n);
    char *p = a->base + ((size_t)h.idx << CYMEM__UNIT_SHIFT);
    TRACK_BLOCK_REUSE(pool, p, (size_t)h.units << CYMEM__UNIT_SHIFT);
    if (h.units > u) {
        a->marks[h.idx + u] = ARENA_FREED;
        hole_push(pool, a, h.idx + u, h.units - u);
    }
    pool->arena_dead -= (size_t)u << CYMEM__UNIT_SHIFT;
    a->marks[h.idx] = (uint8_t)((u << CYMEM__UNIT_SHIFT) - n + 1);
    a->nfree++;
    a->live_units += u;
    account_alloc(pool, n);
    TRACK_BLOCK_ALLOC(pool, p, n, (size_t)u << CYMEM__UNIT_SHIFT);
    return memset(p, 0, n);
}

/*
 * Resize the live block at @idx of chunk @a, whose requested size is @old,
 * to @new_size bytes in place if it can: when its units stay the same, or
 * when it is the chunk's top block and the chunk has room.  Returns the
 * block, or NULL with nothing changed.
 */
void *cymem__arena_resize(cymem_pool *pool, cymem__slab *a, uint32_t idx, size_t old,
                          size_t new_size)
{
    if (new_size == 0 || new_size > CYMEM__CLASS_MAX)
        return NULL;
    uint32_t u = arena_extent(a, idx), nu = arena_units_for(new_size);
    int top = idx + u == a->next;
    if (nu != u && !(top && nu <= a->nblocks - idx))
        return NULL;
    char *p = a->base + ((size_t)idx << CYMEM__UNIT_SHIFT);
    if (nu > u)
        TRACK_BLOCK_GROW(pool, p, old, (size_t)u << CYMEM__UNIT_SHIFT, new_size,
                         (size_t)nu << CYMEM__UNIT_SHIFT);
    else
        TRACK_BLOCK_RESIZE(pool, p, old, new_size, (size_t)u << CYMEM__UNIT_SHIFT);
    if (top) {
        if (nu < u && a->dirty_end < a->next)
            a->dirty_end = a->next;
        a->next = idx + nu;
    }
    a->live_units = a->live_units - u + nu;
    if (new_size > old)
        memset(p + old, 0, new_size - old);
    a->marks[idx] = (uint8_t)((nu << CYMEM__UNIT_SHIFT) - new_size + 1);
    account_resize(pool, old, new_size);
    return p;
}

/* Empty chunk @a: every unit below next becomes dirty and unused. */
static void chunk_reset(cymem__slab *a)
{
    if (a->next > a->dirty_end)
        a->dirty_end = a->next;
    memset(a->marks, 0, a->next);
    if (arena_marks_own(a))
        clear_pad(a);
    a->next = 0;
    a->nfree = 0;
    a->live_units = 0;
    TRACK_SLAB_RESET(a->base, a->span);
}

/* Every arena block of @pool is freed, the chunks kept: the keeper serves
 * again, then the others in their order. */
void cymem__arena_reset(cymem_pool *pool)
{
    for (cymem__slab *a = pool_keeper(pool); a != NULL; a = chunk_after(pool, a))
        chunk_reset(a);
    for (unsigned c = 0; pool->holes != NULL && c < CYMEM__NCLASSES; c++)
        pool->holes[c].n = 0;
    pool->nholes = 0;
    pool->arena_dead = 0;
    pool->arena_churn = 0;
    pool->arena = pool_keeper(pool);
    cymem__arena_set_fast(pool);
}

/* Give back every chunk but the keeper, and the hole bins; the keeper is
 * reset. */
void cymem__arena_trim(cymem_pool *pool)
{
    cymem__slab *a = pool->arenas, *next;
    for (; a != NULL; a = next) {
        next = a->next_in_class;
        pool->arena_bytes -= a->span;
        chunk_delete(pool, a);
    }
    pool->arenas = NULL;
    for (unsigned c = 0; pool->holes != NULL && c < CYMEM__NCLASSES; c++) {
        if (pool->holes[c].v)
            cymem__meta_free(pool, pool->holes[c].v,
                             pool->holes[c].cap * sizeof(cymem__hole));
    }
    if (pool->holes)
        cymem__meta_free(pool, pool->holes, CYMEM__NCLASSES * sizeof *pool->holes);
    pool->holes = NULL;
    cymem__arena_reset(pool);
}

/* The leading bytes of the keeper's memory that may have been written,
 * its marks being clear (pool.c clears them before it gives the keeper
 * back). */
size_t cymem__keeper_dirty(const cymem_pool *pool)
{
    const cymem__slab *k = pool_keeper(pool);
    uint32_t used = k->next > k->dirty_end ? k->next : k->dirty_end;
    return (size_t)(k->base - (const char *)pool) + ((size_t)used << CYMEM__UNIT_SHIFT);
}

/* Add the live blocks of the arena and the units they use to *blocks and
 * *bytes. */
void cymem__arena_count(const cymem_pool *pool, size_t *blocks, size_t *bytes)
{
    for (const cymem__slab *a = pool_keeper(pool); a != NULL; a = chunk_after(pool, a)) {
        *blocks += a->nfree;
        *bytes += (size_t)a->live_units << CYMEM__UNIT_SHIFT;
    }
}

/* Call @fn on every live arena block until it returns non-zero. */
int cymem__arena_foreach(const cymem_pool *pool,
                         int (*fn)(void *ptr, size_t size, void *ctx), void *ctx)
{
    int rc = 0;
    for (const cymem__slab *a = pool_keeper(pool); a && rc == 0; a = chunk_after(pool, a)) {
        for (uint32_t idx = 0; idx < a->next && rc == 0;) {
            uint32_t u = arena_extent(a, idx);
            if (arena_live(a->marks[idx]))
                rc = fn(a->base + ((size_t)idx << CYMEM__UNIT_SHIFT), arena_size(a, idx, u),
                        ctx);
            idx += u;
        }
    }
    return rc;
}

/* The live block of arena chunk @a whose bytes hold @addr: 1 and its start
 * and size, or 0. */
int cymem__arena_containing(const cymem__slab *a, const void *addr, void **block,
                            size_t *size)
{
    size_t off = (size_t)((const char *)addr - a->base);
    uint32_t idx = (uint32_t)(off >> CYMEM__UNIT_SHIFT);
    if (idx >= a->next)
        return 0;
    while (a->marks[idx] == 0)          /* unit 0 always starts a block */
        idx--;
    if (!arena_live(a->marks[idx]))
        return 0;
    size_t n = arena_size(a, idx, arena_extent(a, idx));
    if (off - ((size_t)idx << CYMEM__UNIT_SHIFT) >= n)
        return 0;
    *block = a->base + ((size_t)idx << CYMEM__UNIT_SHIFT);
    *size = n;
    return 1;
}
