/*
 * stats.c - a pool's figures and its live blocks, for cymem_pool_stats()
 * and cymem_pool_foreach(), gathered from each engine (arena.c, slab.c,
 * direct.c).  The caller holds the pool's lock, if it has one.
 *
 * Invariant kept (group 5 of doc/design.md): the statistics are those of
 * the pool alone, exact at the moment of the call; live blocks are counted
 * where they live (per arena chunk, per slab, in the direct map), so the
 * hot paths keep only live bytes.  The peak reported is max(peak_bytes,
 * live_bytes) (internal.h, pool_peak()).
 *
 * Its layer: above the engines, below blocks.c (whose debug mode walks the
 * live blocks at a reset), shared.c and api.c.
 */
#include "stats.h"
#include "arena.h"
#include "direct.h"
#include "slab.h"

void cymem__stats_unlocked(const cymem_pool *pool, cymem_stats *out)
{
    out->live_bytes = pool->live_bytes;
    out->live_blocks = pool->direct_blocks;
    out->used_bytes = pool->direct_used;
    cymem__slabs_count(pool, &out->live_blocks, &out->used_bytes);
    cymem__arena_count(pool, &out->live_blocks, &out->used_bytes);
    out->peak_bytes = pool_peak(pool);
    out->reserved_bytes = pool->reserved_bytes;
    out->chunk_count = pool->chunk_count;
    out->metadata_bytes = pool->metadata_bytes;
}

int cymem__foreach_unlocked(const cymem_pool *pool,
                            int (*fn)(void *ptr, size_t size, void *ctx), void *ctx)
{
    int rc = cymem__arena_foreach(pool, fn, ctx);
    if (rc == 0)
        rc = cymem__slabs_foreach(pool, fn, ctx);
    if (rc == 0)
        rc = cymem__direct_foreach(pool, fn, ctx);
    return rc;
}
