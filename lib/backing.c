/*
 * backing.c - the one interface between a pool and where its memory comes
 * from: the system (os.c, through the per-thread caches of tcache.c) or
 * the caller's cymem_allocator.
 *
 * Every piece of memory a pool holds (the pool itself, its class table,
 * direct map, slab descriptors and memory, regions, cleanup records,
 * direct blocks) comes through here or through held(), and goes back
 * through here or released() (backing.h).  Above: hashtab.c and the
 * engine.  Below: tcache.c and os.c.  The page map's leaves are the
 * process's, not a pool's: they come from os.c directly.  Nothing here
 * knows slabs or blocks: only sizes.
 *
 * Invariants:
 *  - reserved_bytes and chunk_count are the sums over the pieces the pool
 *    holds, metadata_bytes over its bookkeeping pieces (invariant 5 of
 *    doc/design.md): held() counts a piece when it arrives, released()
 *    before it leaves, and nothing else changes them but direct_moved()
 *    in direct.c, for a block that realloc or mremap moved;
 *  - memory goes back only after TRACK_MEM_RETURN has made all of it
 *    accessible to its next owner again;
 *  - a piece goes back the way it came, with the size it was asked for:
 *    raw_alloc()/raw_free() are the one place that chooses between the
 *    system and the caller's allocator for plain pieces;
 *  - memory said to be zero (*zeroed, or past *dirty) is zero;
 *  - the caller's allocator is called only through bk_malloc() and
 *    bk_free(), under the mutex (bk_lock) of the pools that share it.
 */
#include "internal.h"
#include "backing.h"
#include "os.h"
#include "tcache.h"

#include <stdlib.h>

/* A token of the calling thread: the address of its own byte. */
static __thread char bk_self;

/* The caller's allocator, which need not be thread-safe, under the mutex
 * of the pools that share it, if they are more than one; its holder may
 * take it again (the allocator using a pool that shares it).  Only the
 * holder writes owner, so a thread reads its own token there exactly
 * while it holds the mutex. */
static void bk_lock(const cymem_pool *pool, int lock)
{
    cymem__bk_mutex *m = pool->bk_lock;
    uintptr_t me = (uintptr_t)&bk_self;
    if (m == NULL)
        return;
    if (lock && __atomic_load_n(&m->owner, __ATOMIC_RELAXED) == me) {
        m->depth++;
    } else if (lock) {
        mutex_lock(&m->mu);
        __atomic_store_n(&m->owner, me, __ATOMIC_RELAXED);
    } else if (m->depth > 0) {
        m->depth--;
    } else {
        __atomic_store_n(&m->owner, 0, __ATOMIC_RELAXED);
        mutex_unlock(&m->mu);
    }
}

static void *bk_malloc(const cymem_pool *pool, size_t size)
{
    bk_lock(pool, 1);
    void *p = pool->bk.malloc(size, pool->bk.ctx);
    bk_lock(pool, 0);
    return p;
}

static void bk_free(const cymem_pool *pool, void *p, size_t size)
{
    bk_lock(pool, 1);
    pool->bk.free(p, size, pool->bk.ctx);
    bk_lock(pool, 0);
}

/* @size bytes of the pool's backing allocator; @zero: the system's must be
 * zero (calloc), else plain malloc will do. */
static void *raw_alloc(const cymem_pool *pool, size_t size, int zero)
{
    if (!pool->sys)
        return bk_malloc(pool, size);
    return zero ? cymem__sys_alloc(size) : malloc(size);
}

static void raw_free(const cymem_pool *pool, void *p, size_t size, int zero)
{
    if (!pool->sys)
        bk_free(pool, p, size);
    else if (zero)
        cymem__sys_free(p, size);
    else
        free(p);
}

/* Get @size bytes from the pool's backing allocator; *zeroed tells whether
 * they are known to be zero. */
void *cymem__bk_alloc(cymem_pool *pool, size_t size, int *zeroed)
{
    *zeroed = pool->sys;
    return held(pool, raw_alloc(pool, size, 1), size);
}

void cymem__bk_free(cymem_pool *pool, void *p, size_t size)
{
    released(pool, p, size);
    raw_free(pool, p, size, 1);
}

/* Bookkeeping memory: not zeroed, every user initialises what it reads. */
void *cymem__meta_alloc(cymem_pool *pool, size_t size)
{
    void *p = held(pool, raw_alloc(pool, size, 0), size);
    if (p != NULL)
        pool->metadata_bytes += size;
    return p;
}

void cymem__meta_free(cymem_pool *pool, void *p, size_t size)
{
    pool->metadata_bytes -= size;
    released(pool, p, size);
    raw_free(pool, p, size, 0);
}

/* Memory for a slab: @size bytes, a power of two.  *dirty gets how many
 * leading bytes may be non-zero; the rest is known to be zero. */
void *cymem__slab_mem_alloc(cymem_pool *pool, size_t size, size_t *dirty)
{
    *dirty = size;
    return held(pool, pool->sys ? cymem__sys_slab_alloc(size, dirty)
                                : bk_malloc(pool, size), size);
}

/* Give back a slab's memory; its first @dirty bytes may have been written. */
void cymem__slab_mem_free(cymem_pool *pool, void *p, size_t size, size_t dirty)
{
    released(pool, p, size);
    if (pool->sys)
        cymem__sys_slab_free(p, size, dirty);
    else
        bk_free(pool, p, size);
}

/* Memory for a direct block of at least @size bytes; *got gets how much. */
void *cymem__direct_mem_alloc(cymem_pool *pool, size_t size, size_t *got, int *zeroed)
{
    if (!pool->sys) {
        *got = size;
        return cymem__bk_alloc(pool, size, zeroed);
    }
    void *p = cymem__sys_big_alloc(size, got, zeroed);
    return held(pool, p, p ? *got : 0);
}

void cymem__direct_mem_free(cymem_pool *pool, void *p, size_t size, int bulk)
{
    if (!pool->sys) {
        cymem__bk_free(pool, p, size);
        return;
    }
    released(pool, p, size);
    /* The rest of a mapping's last page, which the checkers watched too. */
    TRACK_MEM_RETURN((char *)p + size, cymem__sys_usable(size) - size);
    cymem__sys_big_free(p, size, bulk);
}
