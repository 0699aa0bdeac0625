/*
 * hashtab.c - the open-addressing table under a pool's direct map
 * (ptrmap.c): growth and freeing, for entries of any size whose first
 * word is a non-zero key.
 *
 * Linear probing, a power-of-two capacity, Fibonacci hashing
 * (cymem__hash(), hashtab.h).  The table's memory comes from the pool's
 * backing allocator (backing.c, a call down) and counts as metadata.
 *
 * Invariants:
 *  - capacity is a power of two, mask = capacity - 1 and shift =
 *    64 - log2(capacity); a key of 0 marks an empty slot;
 *  - the load factor is at most one half after cymem__map_reserve(), so
 *    every probe run ends at an empty slot;
 *  - a failed resize (ENOMEM) leaves the table as it was.
 */
#include "internal.h"
#include "backing.h"
#include "hashtab.h"

#include <errno.h>

#define MAP_MIN_CAPACITY 16

/* Move every entry of @m into a new table of @cap slots. */
static int map_resize(cymem_pool *pool, cymem__map *m, size_t cap, size_t esize)
{
    unsigned bits = 0;
    while (((size_t)1 << bits) < cap)
        bits++;
    char *tab = cymem__meta_alloc(pool, cap * esize);
    if (tab == NULL)
        return -1;
    memset(tab, 0, cap * esize);
    cymem__map n = { tab, cap - 1, m->count, 64 - bits };
    char *old = m->tab;
    for (size_t i = 0; old && i <= m->mask; i++) {
        const uintptr_t *e = (const uintptr_t *)(old + i * esize);
        if (*e == 0)
            continue;
        size_t j = cymem__hash(*e, n.shift);
        while (*(uintptr_t *)(tab + j * esize) != 0)
            j = (j + 1) & n.mask;
        memcpy(tab + j * esize, e, esize);
    }
    if (old)
        cymem__meta_free(pool, old, (m->mask + 1) * esize);
    *m = n;
    return 0;
}

/* Make room for @extra more entries. */
int cymem__map_reserve(cymem_pool *pool, cymem__map *m, size_t extra, size_t esize)
{
    size_t cap = m->tab ? m->mask + 1 : 0;
    size_t want = m->count + extra;
    if (want * 2 <= cap)
        return 0;
    size_t ncap = cap ? cap : MAP_MIN_CAPACITY;
    while (want * 2 > ncap) {
        if (ncap > SIZE_MAX / 2 / esize) {
            errno = ENOMEM;
            return -1;
        }
        ncap *= 2;
    }
    return map_resize(pool, m, ncap, esize);
}

void cymem__map_free(cymem_pool *pool, cymem__map *m, size_t esize)
{
    if (m->tab)
        cymem__meta_free(pool, m->tab, (m->mask + 1) * esize);
    memset(m, 0, sizeof *m);
}
