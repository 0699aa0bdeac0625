/*
 * stats.h - what stats.c offers the files above it.
 */
#ifndef CYMEM_STATS_H
#define CYMEM_STATS_H

#include "internal.h"

/* cymem_pool_stats() of @pool alone, for a caller that holds its lock. */
void cymem__stats_unlocked(const cymem_pool *pool, cymem_stats *out);

/* cymem_pool_foreach() for a caller that holds the pool's lock (or owns
 * the pool alone): arena blocks, then slab blocks, then direct blocks. */
int cymem__foreach_unlocked(const cymem_pool *pool,
                            int (*fn)(void *ptr, size_t size, void *ctx), void *ctx);

#endif /* CYMEM_STATS_H */
