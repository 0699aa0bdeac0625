/*
 * region.c - regions: CYMEM__REGION bytes of the system at a time, from
 * which a large pool of the system allocator carves its slabs and arena
 * chunks.
 *
 * A pool that holds CYMEM__REGION_AFTER bytes stops asking for each slab or
 * arena chunk on its own: pieces are carved from the start of its newest
 * region on, in whole granules, and the regions go back whole when the
 * pool is destroyed (tcache.c keeps a few per thread).  The regions of a
 * CYMEM_POOL_HUGE_PAGES pool that holds CYMEM__HUGE_AFTER bytes are advised
 * to use transparent huge pages.
 *
 * Invariants: a region's `used` bytes are whole granules, each carved
 * piece lies inside [mem, mem + used) of one region of the pool, and the
 * bytes of a region past max(used, dirty) are zero.
 */
#include "internal.h"
#include "backing.h"
#include "region.h"
#include "tcache.h"

/*
 * Slab memory carved from the pool's newest region: *bytes wanted, at
 * least @min, both powers of two of at least a granule.  When the region
 * has less than *bytes left, the slab shrinks to what is left (a smaller
 * slab only means the class grows less at a time); when it has less than
 * @min, a new region starts and the old one's tail stays unused.  Returns
 * NULL, with nothing changed, when no region can be had.
 */
char *cymem__region_carve(cymem_pool *pool, size_t *bytes, size_t min, size_t *dirty)
{
    cymem__region *r = pool->regions;
    if (r == NULL || CYMEM__REGION - r->used < min) {
        r = cymem__meta_alloc(pool, sizeof *r);
        if (r == NULL)
            return NULL;
        size_t old;
        int huge = (pool->flags & CYMEM_POOL_HUGE_PAGES) &&
                   pool->reserved_bytes >= CYMEM__HUGE_AFTER;
        void *mem = held(pool, cymem__sys_region_alloc(&old, huge), CYMEM__REGION);
        if (mem == NULL) {
            cymem__meta_free(pool, r, sizeof *r);
            return NULL;
        }
        r->mem = mem;
        r->used = 0;
        r->dirty = old;
        r->huge = huge;
        r->next = pool->regions;
        pool->regions = r;
    }
    while (*bytes > CYMEM__REGION - r->used)
        *bytes /= 2;
    char *p = r->mem + r->used;
    *dirty = r->dirty <= r->used ? 0
           : r->dirty - r->used < *bytes ? r->dirty - r->used : *bytes;
    r->used += *bytes;
    return p;
}

/* Give every region back, with how much of it may have been written. */
void cymem__region_release_all(cymem_pool *pool)
{
    cymem__region *r;
    while ((r = pool->regions) != NULL) {
        pool->regions = r->next;
        released(pool, r->mem, CYMEM__REGION);
        cymem__sys_region_free(r->mem, r->used > r->dirty ? r->used : r->dirty, r->huge);
        cymem__meta_free(pool, r, sizeof *r);
    }
}

