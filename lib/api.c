/*
 * api.c - libcymem's allocation API: cymem_pool_alloc(), _alloc_aligned(),
 * _realloc(), _free(), _free_size(), _owns(), _block_size() and _find():
 * argument and overflow checks, the pool's lock, and the fast paths.
 *
 * The fast paths of alloc and free inline the engines' hot paths
 * (arena_take() and arena_free() of arena.h, small_take() and
 * small_free() of slab.h) for a plain pool (no lock, no checker hooks:
 * pool->arena_fast, pool->fast, pool->plain), reading only the pool's
 * first cache line; free's calls out of its fast path are all tail
 * calls, so that it saves no register.  A shared pool's calls go to
 * shared.c; everything else goes through one out-of-line function per
 * call (alloc_checked, free_checked), which takes the lock if the pool
 * has one and lets blocks.c do the work, checker hooks included.
 *
 * Invariant kept: a call that fails (EINVAL, ENOMEM) leaves the pool as it
 * was (blocks.c keeps the rest: zero fill, realloc's new block before the
 * old one goes).
 *
 * Its layer: on top, with pool.c (neither calls the other), over blocks.c
 * and the engines' inline hot paths; nothing calls it but the library's
 * users.
 */
#include "internal.h"
#include "arena.h"
#include "blocks.h"
#include "shared.h"
#include "slab.h"
#include "stats.h"
#include "track.h"

#include <errno.h>

/* ---- A pool with a lock ------------------------------------------------ */

/* An allocation from a THREADSAFE pool: a shared pool's heaps, or the
 * pool under its mutex. */
static NOINLINE void *locked_alloc(cymem_pool *pool, size_t n, size_t align)
{
    void *p;
    if (pool_shared(pool))
        return cymem__shared_alloc(pool, n, align);
    pool_lock(pool);
    p = cymem__block_alloc_aligned(pool, n, align);
    pool_unlock(pool);
    return p;
}

/* The live block @ptr of @pool, and its size, whatever the pool. */
static int find_block(const cymem_pool *pool, const void *ptr, size_t *size)
{
    int found;
    if (pool_shared(pool))
        return cymem__shared_find(pool, ptr, size);
    pool_lock(pool);
    found = cymem__block_find(pool, ptr, size);
    pool_unlock(pool);
    return found;
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
    if (likely(!(pool->flags & CYMEM_POOL_THREADSAFE)))
        return cymem__block_alloc(pool, n);
    return locked_alloc(pool, n, CYMEM__MIN_ALIGN);
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
        if (pool_shared(pool))
            return cymem__shared_alloc(pool, n, CYMEM__MIN_ALIGN);
    }
    return alloc_checked(pool, number, size);
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
    if (!(pool->flags & CYMEM_POOL_THREADSAFE))
        return cymem__block_alloc_aligned(pool, n, alignment);
    return locked_alloc(pool, n, alignment < CYMEM__MIN_ALIGN ? CYMEM__MIN_ALIGN : alignment);
}

/* cymem_pool_free() and cymem_pool_free_size() for every case but the
 * fast one; *size (if @size) gets the freed block's size, 0 for NULL. */
static NOINLINE int free_checked(cymem_pool *pool, void *ptr, size_t *size)
{
    size_t n = 0;
    int rc = 0;
    if (pool == NULL) {
        errno = EINVAL;
        return -1;
    }
    if (ptr != NULL && pool_shared(pool)) {
        rc = cymem__shared_free(pool, ptr, &n);
    } else if (ptr != NULL) {
        pool_lock(pool);
        rc = cymem__block_free(pool, ptr, &n);
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

/* cymem_pool_free() and cymem_pool_free_size(): for a plain pool, a live
 * slab or arena block is freed here, a shared pool's block in shared.c,
 * every other case in free_checked(), each by a tail call. */
static inline __attribute__((always_inline))
int free_impl(cymem_pool *pool, void *ptr, size_t *size)
{
    if (likely(pool != NULL && pool->plain)) {
        cymem__slab *s = cymem__chunk_find_own(pool, ptr);
        if (likely(s != NULL)) {
            if (s->cls == CYMEM__ARENA_CLS) {
                uint32_t idx = arena_index(s, ptr);
                if (unlikely(idx == CYMEM__NO_BLOCK))
                    return free_checked(pool, ptr, size);
                return arena_free(pool, s, idx, size, 0);
            }
            uint32_t idx = slab_index(s, ptr);
            if (unlikely(idx == CYMEM__NO_BLOCK))
                return free_checked(pool, ptr, size);
            return small_free(pool, s, idx, size, 0);
        }
    } else if (likely(pool != NULL) && pool_shared(pool) && likely(ptr != NULL)) {
        return cymem__shared_free(pool, ptr, size);
    }
    return free_checked(pool, ptr, size);
}

int cymem_pool_free(cymem_pool *pool, void *ptr)
{
    return free_impl(pool, ptr, NULL);
}

/* cymem_pool_free() that also says how many bytes the block held, from
 * the one lookup the free needs (a binding that keeps a byte count would
 * otherwise ask cymem_pool_block_size() first). */
int cymem_pool_free_size(cymem_pool *pool, void *ptr, size_t *size)
{
    return free_impl(pool, ptr, size);
}

void *cymem_pool_realloc(cymem_pool *pool, void *ptr, size_t new_size)
{
    if (pool == NULL) {
        errno = EINVAL;
        return NULL;
    }
    if (ptr == NULL)
        return cymem_pool_alloc(pool, 1, new_size);
    void *q;
    if (pool_shared(pool))
        return cymem__shared_realloc(pool, ptr, new_size);
    pool_lock(pool);
    q = cymem__block_realloc(pool, ptr, new_size);
    pool_unlock(pool);
    return q;
}

/* ---- Lookups ----------------------------------------------------------- */

int cymem_pool_owns(const cymem_pool *pool, const void *ptr)
{
    size_t size;
    if (pool == NULL) {
        errno = EINVAL;
        return 0;
    }
    if (ptr == NULL)
        return 0;
    return find_block(pool, ptr, &size);
}

size_t cymem_pool_block_size(const cymem_pool *pool, const void *ptr)
{
    size_t size = 0;
    if (pool == NULL || ptr == NULL) {
        errno = EINVAL;
        return 0;
    }
    if (!find_block(pool, ptr, &size))
        errno = EINVAL;
    return size;
}

int cymem_pool_find(const cymem_pool *pool, const void *addr, void **block, size_t *size)
{
    void *b = NULL;
    size_t n = 0;
    if (pool == NULL || addr == NULL) {
        errno = EINVAL;
        return -1;
    }
    int found;
    if (pool_shared(pool)) {
        found = cymem__shared_containing(pool, addr, &b, &n);
    } else {
        pool_lock(pool);
        found = cymem__block_containing(pool, addr, &b, &n);
        pool_unlock(pool);
    }
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

/* ---- The whole pool ---------------------------------------------------- */

int cymem_pool_stats(const cymem_pool *pool, cymem_stats *out)
{
    if (pool == NULL || out == NULL) {
        errno = EINVAL;
        return -1;
    }
    if (pool_shared(pool) && DEBUG_ON)
        cymem__shared_watch(pool, 1);
    pool_lock(pool);
    if (pool_shared(pool))
        cymem__shared_stats(pool, out);
    else
        cymem__stats_unlocked(pool, out);
    pool_unlock(pool);
    if (pool_shared(pool) && DEBUG_ON)
        cymem__shared_watch(pool, -1);
    return 0;
}

int cymem_pool_foreach(const cymem_pool *pool,
                       int (*fn)(void *ptr, size_t size, void *ctx), void *ctx)
{
    if (pool == NULL || fn == NULL) {
        errno = EINVAL;
        return -1;
    }
    pool_lock(pool);
    int rc = pool_shared(pool) ? cymem__shared_foreach(pool, fn, ctx)
                               : cymem__foreach_unlocked(pool, fn, ctx);
    pool_unlock(pool);
    return rc;
}
