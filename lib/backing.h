/*
 * backing.h - where a pool's memory comes from (backing.c): the system,
 * through the per-thread caches, or the caller's cymem_allocator.
 *
 * Every byte a pool holds is counted by held() when it arrives and by
 * released() when it leaves; the two are inline because region.c's
 * carving counts regions with them too.
 */
#ifndef CYMEM_BACKING_H
#define CYMEM_BACKING_H

#include "internal.h"
#include "track.h"

#include <errno.h>

/* Count @size bytes the pool got from its backing memory as one more
 * chunk; @p NULL means the request failed (ENOMEM), and is passed back. */
static inline void *held(cymem_pool *pool, void *p, size_t size)
{
    if (unlikely(p == NULL)) {
        errno = ENOMEM;
        return NULL;
    }
    pool->reserved_bytes += size;
    pool->chunk_count++;
    return p;
}

/* The reverse of held(), before the memory goes back. */
static inline void released(cymem_pool *pool, void *p, size_t size)
{
    TRACK_MEM_RETURN(p, size);
    pool->reserved_bytes -= size;
    pool->chunk_count--;
}

/* Get @size bytes from the pool's backing allocator; *zeroed tells whether
 * they are known to be zero. */
void *cymem__bk_alloc(cymem_pool *pool, size_t size, int *zeroed);
void cymem__bk_free(cymem_pool *pool, void *p, size_t size);

/* Bookkeeping memory: not zeroed, every user initialises what it reads;
 * counted in metadata_bytes as well. */
void *cymem__meta_alloc(cymem_pool *pool, size_t size);
void cymem__meta_free(cymem_pool *pool, void *ptr, size_t size);

/* Memory for a slab: @size bytes, a power of two.  *dirty gets how many
 * leading bytes may be non-zero; the rest is known to be zero. */
void *cymem__slab_mem_alloc(cymem_pool *pool, size_t size, size_t *dirty);
/* Give back a slab's memory; its first @dirty bytes may have been written. */
void cymem__slab_mem_free(cymem_pool *pool, void *p, size_t size, size_t dirty);

/* Memory for a direct block of at least @size bytes; *got gets how much. */
void *cymem__direct_mem_alloc(cymem_pool *pool, size_t size, size_t *got, int *zeroed);
/* Give back a direct block's memory; @bulk as for cymem__sys_big_free(). */
void cymem__direct_mem_free(cymem_pool *pool, void *p, size_t size, int bulk);

#endif /* CYMEM_BACKING_H */
