/*
 * blocks.h - one pool's blocks and memory, without a lock (blocks.c).
 *
 * Each function works on one pool, whose lock (if any) the caller holds
 * (api.c, pool.c; shared.c for a heap).  Blocks of a size no class serves
 * are the pool's direct blocks.
 */
#ifndef CYMEM_BLOCKS_H
#define CYMEM_BLOCKS_H

#include "internal.h"
#include "arena.h"
#include "slab.h"

/* A zero-filled block of @n bytes (0 allowed), or NULL (ENOMEM). */
void *cymem__block_alloc(cymem_pool *pool, size_t n);

/* The same, aligned to @align (a power of two up to
 * CYMEM_ALIGNMENT_MAX). */
void *cymem__block_alloc_aligned(cymem_pool *pool, size_t n, size_t align);

/* Free the live block @idx of @pool's slab or arena chunk @s, with the
 * checker hooks; returns its size.  Out of line: the callers' frames stay
 * small (realloc's move, a heap's free in shared.c). */
size_t cymem__block_release(cymem_pool *pool, cymem__slab *s, uint32_t idx);

/* Free @ptr if it is a live block of @pool (its size to *size); 0, or -1
 * with nothing changed. */
int cymem__block_free(cymem_pool *pool, void *ptr, size_t *size);

/* cymem_pool_realloc() of a live @ptr. */
void *cymem__block_realloc(cymem_pool *pool, void *ptr, size_t new_size);

/* Resize @ptr without moving it, if it can be: 1 done (*out the block,
 * or NULL with errno ENOMEM and the block as it was); 0 it must move
 * (*old its size, *align the alignment its new block must keep); -1 @ptr
 * is not a live block of @pool. */
int cymem__block_resize(cymem_pool *pool, void *ptr, size_t new_size, size_t *old,
                        size_t *align, void **out);

/* The live block @ptr of @pool: 1 with its size in *size, else 0. */
int cymem__block_find(const cymem_pool *pool, const void *ptr, size_t *size);

/* The live block of @pool whose bytes hold @addr (its start for a 0-byte
 * block): 1 with it in *block and *size, else 0. */
int cymem__block_containing(const cymem_pool *pool, const void *addr, void **block,
                            size_t *size);

/* A pool laid out afresh in a keeper of @proto->keeper_size bytes of
 * @proto's backing memory: a copy of @proto, its own key; NULL (ENOMEM). */
cymem_pool *cymem__pool_make(const cymem_pool *proto);

/* Give back @pool's direct blocks and make its arena chunks and slabs as
 * new, keeping them (a reset, without children or cleanups). */
void cymem__pool_clear(cymem_pool *pool);

/* Free @pool for good, with everything it holds. */
void cymem__pool_free(cymem_pool *pool);

#endif /* CYMEM_BLOCKS_H */
