/*
 * api.c - libcymem's allocation API: cymem_pool_alloc(), _alloc_aligned(),
 * _realloc(), _free(), _free_size(), _owns(), _block_size() and _find():
 * argument and overflow checks, the pool's lock, and the fast paths.
 *
 * The fast paths of alloc and free inline the engines' hot paths
 * (arena_take() and arena_release() of arena.h, small_take() and
 * small_release() of slab.h), which this file alone expands, for a plain
 * pool (no lock, no checker hooks: pool->arena_fast, pool->fast,
 * pool->plain), reading only the pool's first cache line.  Everything
 * else goes through one out-of-line function per call (alloc_checked,
 * free_checked), which takes the lock and runs the checker hooks.
 *
 * Invariant kept: a call that fails (EINVAL, ENOMEM) leaves the pool as it
 * was; a block is handed out zero-filled, and realloc's move allocates the
 * new block before it frees the old one.
 *
 * Its layer: the top of lib/, over the engines (arena.c, slab.c, direct.c)
 * and the maps; nothing calls it but the library's users.
 */
#include "internal.h"
#include "arena.h"
#include "direct.h"
#include "ptrmap.h"
#include "slab.h"
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
            cymem__direct_free(pool, d);
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

/* small_release() with the checker hooks, for realloc's moves. */
static void small_free(cymem_pool *pool, cymem__slab *s, uint32_t idx)
{
    small_release(pool, s, idx, 1);
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
        void *q;
        if (d == NULL)
            goto invalid;
        old = d->size;
        align = d->align;
        if (cymem__direct_resize(pool, d, new_size, &q))
            return q;
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
        cymem__direct_free(pool, cymem__direct_find(pool, ptr));
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
    if (s != NULL)
        return cymem__slab_containing(s, addr, block, size);
    return cymem__direct_containing(pool, addr, block, size);
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
