/*
 * direct.h - a pool's direct blocks (direct.c): large and over-aligned
 * blocks, one backing allocation each.
 */
#ifndef CYMEM_DIRECT_H
#define CYMEM_DIRECT_H

#include "internal.h"

/* A zero-filled direct block of @n bytes aligned to @align (a power of
 * two, at least MIN_ALIGN); NULL (ENOMEM) with the pool unchanged. */
void *cymem__direct_alloc(cymem_pool *pool, size_t n, size_t align);

/* Free live direct block @d. */
void cymem__direct_free(cymem_pool *pool, cymem__direct *d);

/* Resize live direct block @d to @new_size bytes where it can be done
 * without a new block of the pool: in place, or by the system's realloc
 * or mremap.  Returns 1 when done, with the block (or NULL, ENOMEM, the
 * block unchanged) in *out; 0 when the caller must move the block. */
int cymem__direct_resize(cymem_pool *pool, cymem__direct *d, size_t new_size, void **out);

/* Give back every direct block of @pool and empty its direct map. */
void cymem__direct_release_all(cymem_pool *pool);

/* The live direct block whose bytes hold @addr (its start for a 0-byte
 * block), in *block and *size; 0 if none.  A scan of the map. */
int cymem__direct_containing(const cymem_pool *pool, const void *addr, void **block,
                             size_t *size);

/* Call @fn on every live direct block of @pool until it returns non-zero. */
int cymem__direct_foreach(const cymem_pool *pool,
                          int (*fn)(void *ptr, size_t size, void *ctx), void *ctx);

#endif /* CYMEM_DIRECT_H */
