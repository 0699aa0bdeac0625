/*
 * direct.c - a pool's direct blocks: blocks above CYMEM__CLASS_MAX, and
 * those aligned beyond what a slab class gives, each its own backing
 * allocation, found by its exact address in the pool's direct map
 * (ptrmap.c).  Their memory goes back to the backing allocator when they
 * are freed, where it can serve any size.
 *
 * Invariants (group 4 of doc/design.md, checked by invariants.c):
 *  - a direct map key is the user pointer of exactly one live direct
 *    block, aligned as it was asked, inside its backing allocation
 *    (orig, asked), and in no slab or arena chunk;
 *  - direct_blocks and direct_used count the live direct blocks and their
 *    backing bytes; the block's requested bytes are in live_bytes;
 *  - a block is zero-filled when handed out, and a resize clears the
 *    bytes it adds (those past the old size that may hold old data).
 *
 * Its layer: above the direct map and backing.c (and os.c, whose mremap
 * resizes large blocks of the system allocator); called by blocks.c,
 * stats.c and pool.c.
 */
#include "direct.h"
#include "backing.h"
#include "os.h"
#include "ptrmap.h"
#include "track.h"

#include <errno.h>
#include <stdlib.h>

/* The bytes from the start of direct block @d to the end of the memory
 * it lies in, as the program can reach them: the pages of a block the
 * system mapped run on past its end to the end of the last one.  The
 * checkers and the debug mode watch all of them (a block's redzone). */
static size_t direct_reach(const cymem_pool *pool, const cymem__direct *d)
{
    size_t got = pool->sys ? cymem__sys_usable(d->asked) : d->asked;
    return got - (d->key - (uintptr_t)d->orig);
}

void *cymem__direct_alloc(cymem_pool *pool, size_t n, size_t align)
{
    size_t pad = align > CYMEM__MIN_ALIGN ? align - CYMEM__MIN_ALIGN : 0;
    size_t asked = (n ? n : 1) + pad;
    if (unlikely(asked < pad)) {
        errno = ENOMEM;
        return NULL;
    }
    /* The memory first: a request the system refuses leaves the pool as
     * it was, the direct map included. */
    int zeroed;
    char *orig = cymem__direct_mem_alloc(pool, asked, &asked, &zeroed);
    if (orig == NULL)
        return NULL;
    if (cymem__direct_reserve(pool) != 0) {
        cymem__direct_mem_free(pool, orig, asked, 0);
        return NULL;
    }
    char *p = (char *)(((uintptr_t)orig + align - 1) & ~(uintptr_t)(align - 1));
    cymem__direct d = { (uintptr_t)p, orig, asked, n, align };
    TRACK_BLOCK_ALLOC(pool, p, n, direct_reach(pool, &d));
    if (!zeroed)
        memset(p, 0, n);
    cymem__direct_insert(pool, &d);
    account_alloc(pool, n);
    pool->direct_blocks++;
    pool->direct_used += asked;
    return p;
}

void cymem__direct_free(cymem_pool *pool, cymem__direct *d)
{
    cymem__direct copy = *d;
    cymem__direct_remove(pool, d);
    account_free(pool, copy.size);
    pool->direct_blocks--;
    pool->direct_used -= copy.asked;
    TRACK_BLOCK_FREE(pool, (void *)copy.key, copy.size, direct_reach(pool, &copy));
    cymem__direct_mem_free(pool, copy.orig, copy.asked, 0);
}

/* Direct block @d now lives at @p, inside @asked bytes at @orig, with
 * @new_size bytes: its record and the pool's counts follow.  The removal
 * leaves room for the insertion. */
static void *direct_moved(cymem_pool *pool, cymem__direct *d, void *orig, void *p,
                          size_t asked, size_t new_size)
{
    cymem__direct nd = { (uintptr_t)p, orig, asked, new_size, d->align };
    pool->reserved_bytes = pool->reserved_bytes - d->asked + asked;
    pool->direct_used = pool->direct_used - d->asked + asked;
    account_resize(pool, d->size, new_size);
    cymem__direct_remove(pool, d);
    cymem__direct_insert(pool, &nd);
    return p;
}

#ifdef HAVE_MREMAP
/* Grow or shrink a direct block of the system allocator by remapping its
 * pages; returns the new block, or NULL (ENOMEM) with nothing changed. */
static void *direct_remap(cymem_pool *pool, cymem__direct *d, size_t new_size)
{
    size_t off = d->key - (uintptr_t)d->orig;
    size_t asked = new_size + off;
    if (asked < off) {
        errno = ENOMEM;
        return NULL;
    }
    size_t reach = direct_reach(pool, d);
    TRACK_BLOCK_MOVE(pool, (void *)d->key, d->size, reach);
    TRACK_MEM_RETURN(d->orig, reach + off);
    void *orig = cymem__os_remap(d->orig, d->asked, asked);
    if (orig == NULL) {
        TRACK_BLOCK_ALLOC(pool, (void *)d->key, d->size, reach);
        errno = ENOMEM;
        return NULL;
    }
    /* Bytes past the old size up to the old end of its last page may hold
     * old data; pages added by the kernel are zero. */
    char *p = (char *)orig + off;
    TRACK_BLOCK_ALLOC(pool, p, new_size, cymem__sys_usable(asked) - off);
    if (new_size > d->size) {
        size_t dirty = reach;
        if (dirty > new_size)
            dirty = new_size;
        if (dirty > d->size)
            memset(p + d->size, 0, dirty - d->size);
    }
    return direct_moved(pool, d, orig, p, asked, new_size);
}
#endif

/* Resize a direct block that the system allocator got from calloc, with
 * realloc, which grows in place when the heap allows; NULL (ENOMEM) with
 * nothing changed on failure. */
static void *direct_realloc_heap(cymem_pool *pool, cymem__direct *d, size_t new_size)
{
    TRACK_BLOCK_MOVE(pool, (void *)d->key, d->size, d->asked);
    TRACK_MEM_RETURN(d->orig, d->asked);
    void *orig = realloc(d->orig, new_size);
    if (orig == NULL) {
        TRACK_BLOCK_ALLOC(pool, (void *)d->key, d->size, d->asked);
        errno = ENOMEM;
        return NULL;
    }
    TRACK_BLOCK_ALLOC(pool, orig, new_size, new_size);
    if (new_size > d->size)
        memset((char *)orig + d->size, 0, new_size - d->size);
    return direct_moved(pool, d, orig, orig, new_size, new_size);
}

int cymem__direct_resize(cymem_pool *pool, cymem__direct *d, size_t new_size, void **out)
{
    void *ptr = (void *)d->key;
    size_t old = d->size;
    size_t cap = d->asked - (d->key - (uintptr_t)d->orig);
    /* In place while the size fits and at least half of the block is
     * used. */
    if (new_size <= cap && 2 * new_size >= cap) {
        TRACK_BLOCK_RESIZE(pool, ptr, old, new_size, direct_reach(pool, d));
        if (new_size > old)
            memset((char *)ptr + old, 0, new_size - old);
        d->size = new_size;
        account_resize(pool, old, new_size);
        *out = ptr;
        return 1;
    }
    if (pool->sys && d->align <= CYMEM__MIN_ALIGN && d->asked < CYMEM__MMAP_MIN &&
        new_size > pool->small_max && new_size < CYMEM__MMAP_MIN) {
        *out = direct_realloc_heap(pool, d, new_size);
        return 1;
    }
#ifdef HAVE_MREMAP
    if (pool->sys && d->asked >= CYMEM__MMAP_MIN && new_size >= CYMEM__MMAP_MIN &&
        d->align <= 4096) {
        *out = direct_remap(pool, d, new_size);
        return 1;
    }
#endif
    return 0;
}

/* Give back every direct block and empty the direct map. */
void cymem__direct_release_all(cymem_pool *pool)
{
    cymem__direct *tab = pool->direct.tab;
    for (size_t i = 0; tab && i <= pool->direct.mask; i++) {
        if (tab[i].key != 0) {
            TRACK_BLOCK_FREE(pool, (void *)tab[i].key, tab[i].size,
                             direct_reach(pool, &tab[i]));
            cymem__direct_mem_free(pool, tab[i].orig, tab[i].asked, 1);
            tab[i].key = 0;
        }
    }
    pool->direct.count = 0;
    pool->direct_blocks = pool->direct_used = 0;
}

int cymem__direct_containing(const cymem_pool *pool, const void *addr, void **block,
                             size_t *size)
{
    const cymem__direct *tab = pool->direct.tab;
    uintptr_t a = (uintptr_t)addr;
    for (size_t i = 0; tab && i <= pool->direct.mask; i++) {
        if (tab[i].key != 0 && a - tab[i].key < (tab[i].size ? tab[i].size : 1)) {
            *block = (void *)tab[i].key;
            *size = tab[i].size;
            return 1;
        }
    }
    return 0;
}

int cymem__direct_foreach(const cymem_pool *pool,
                          int (*fn)(void *ptr, size_t size, void *ctx), void *ctx)
{
    const cymem__direct *tab = pool->direct.tab;
    int rc = 0;
    for (size_t i = 0; tab && i <= pool->direct.mask && rc == 0; i++) {
        if (tab[i].key != 0)
            rc = fn((void *)tab[i].key, tab[i].size, ctx);
    }
    return rc;
}
