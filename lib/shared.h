/*
 * shared.h - shared pools (shared.c): a THREADSAFE pool of the system
 * allocator serves each thread's small blocks from a heap of its own.
 *
 * The caller has checked the arguments.  Functions marked "P locked" run
 * with the shared pool's mutex held; the others take what they need.
 */
#ifndef CYMEM_SHARED_H
#define CYMEM_SHARED_H

#include "internal.h"

/* Whether @pool is a shared pool (its calls come here). */
static inline int pool_shared(const cymem_pool *pool)
{
    return pool->uid != 0;
}

/* Make @pool, a new THREADSAFE pool of the system allocator, a shared
 * pool (no heap yet); -1 (ENOMEM) if its table of heaps cannot be had. */
int cymem__shared_init(cymem_pool *pool);

/* A zero-filled block of @n bytes aligned to @align (at least
 * CYMEM__MIN_ALIGN), from the calling thread's heap; NULL (ENOMEM). */
void *cymem__shared_alloc(cymem_pool *pool, size_t n, size_t align);

/* Free @ptr (not NULL) if it is a live block of @pool, whichever
 * thread's heap it came from (its size to *@size, if @size); 0, or -1
 * with errno EINVAL and nothing changed. */
int cymem__shared_free(cymem_pool *pool, void *ptr, size_t *size);

/* cymem_pool_realloc() of a live @ptr: as in a pool of its own if it is
 * the calling thread's heap's; else in place in its heap if it can be,
 * or moved to the calling thread's heap. */
void *cymem__shared_realloc(cymem_pool *pool, void *ptr, size_t new_size);

/* cymem__block_find() and cymem__block_containing() across the heaps. */
int cymem__shared_find(const cymem_pool *pool, const void *ptr, size_t *size);
int cymem__shared_containing(const cymem_pool *pool, const void *addr, void **block,
                             size_t *size);

/* The statistics of @pool and all its heaps (P locked). */
void cymem__shared_stats(const cymem_pool *pool, cymem_stats *out);

/* cymem_pool_foreach() over all of @pool's heaps (P locked). */
int cymem__shared_foreach(const cymem_pool *pool,
                          int (*fn)(void *ptr, size_t size, void *ctx), void *ctx);

/* A reset of every heap of @pool, each under its lock; they keep their
 * memory (P locked). */
void cymem__shared_clear(cymem_pool *pool);

/* Free every heap of @pool and its table (destroy: no other thread in a
 * call on the pool). */
void cymem__shared_release(cymem_pool *pool);

/* The slots of the page map that @pool and its heaps hold (pool->
 * page_slots of each): cymem__page_census(@pool) finds as many. */
size_t cymem__shared_slots(const cymem_pool *pool);

/* The debug mode: a destroy, which no other call on the pool may overlap,
 * aborts, saying @what, if one is under way.  Each call above counts
 * itself in pool->busy while the debug mode is on, and so do the others
 * (reset, stats, cleanups, a child's making) through
 * cymem__shared_watch(@pool, +1 then -1). */
void cymem__shared_alone(const cymem_pool *pool, const char *what);
void cymem__shared_watch(const cymem_pool *pool, int calls);

#endif /* CYMEM_SHARED_H */
