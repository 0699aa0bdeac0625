/*
 * map.c - the two hash maps of a pool.
 *
 * Both are open-addressing tables with linear probing, a power-of-two
 * capacity, Fibonacci hashing and a load factor of at most one half.  Their
 * memory comes from the pool's backing allocator and counts as metadata.
 *
 *  - The page map takes a granule number (address >> GRANULE_SHIFT) to the
 *    slabs that overlap that granule.  Slabs are at least one granule long,
 *    so at most two of them meet in any granule: the end of one and the
 *    start of the next.  Entries are only added (slabs live until the pool
 *    is destroyed), so lookups never see a deleted slot.
 *  - The direct map takes the exact user address of a direct block to its
 *    record.  Removal shifts later entries of the probe run back, so there
 *    are no tombstones and lookups stay short under churn.
 */
#include "internal.h"

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
static int map_reserve(cymem_pool *pool, cymem__map *m, size_t extra, size_t esize)
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

/* ---- page map ---------------------------------------------------------- */

/*
 * cymem__page_insert - record slab @s in every granule its blocks overlap.
 *
 * Either every granule is recorded, or (ENOMEM) none is.
 */
int cymem__page_insert(cymem_pool *pool, cymem__slab *s)
{
    cymem__map *m = &pool->pages;
    uintptr_t first = (uintptr_t)s->base >> CYMEM__GRANULE_SHIFT;
    uintptr_t last = ((uintptr_t)s->base + s->span - 1) >> CYMEM__GRANULE_SHIFT;

    if (map_reserve(pool, m, last - first + 1, sizeof(cymem__pentry)) != 0)
        return -1;
    cymem__pentry *tab = m->tab;
    for (uintptr_t key = first; key <= last; key++) {
        size_t i = cymem__hash(key, m->shift);
        while (tab[i].key != 0 && tab[i].key != key)
            i = (i + 1) & m->mask;
        if (tab[i].key == 0) {
            tab[i].key = key;
            m->count++;
        }
        /* Slabs never overlap and each spans a granule or more, so a
         * granule is shared by at most two of them. */
        tab[i].s[tab[i].s[0] != NULL] = s;
    }
    return 0;
}

/* ---- direct map -------------------------------------------------------- */

cymem__direct *cymem__direct_find(const cymem_pool *pool, const void *ptr)
{
    const cymem__map *m = &pool->direct;
    cymem__direct *tab = m->tab;
    uintptr_t key = (uintptr_t)ptr;
    if (tab == NULL || key == 0)
        return NULL;
    for (size_t i = cymem__hash(key, m->shift);; i = (i + 1) & m->mask) {
        if (tab[i].key == key)
            return &tab[i];
        if (tab[i].key == 0)
            return NULL;
    }
}

/* Make sure the next cymem__direct_insert() cannot fail. */
int cymem__direct_reserve(cymem_pool *pool)
{
    return map_reserve(pool, &pool->direct, 1, sizeof(cymem__direct));
}

/* Add @d; cymem__direct_reserve() must have succeeded since the last insert. */
void cymem__direct_insert(cymem_pool *pool, const cymem__direct *d)
{
    cymem__map *m = &pool->direct;
    cymem__direct *tab = m->tab;
    size_t i = cymem__hash(d->key, m->shift);
    while (tab[i].key != 0)
        i = (i + 1) & m->mask;
    tab[i] = *d;
    m->count++;
}

/* Remove the entry @d points at, shifting its probe run back. */
void cymem__direct_remove(cymem_pool *pool, cymem__direct *d)
{
    cymem__map *m = &pool->direct;
    cymem__direct *tab = m->tab;
    size_t hole = (size_t)(d - tab);
    for (size_t i = (hole + 1) & m->mask; tab[i].key != 0; i = (i + 1) & m->mask) {
        size_t home = cymem__hash(tab[i].key, m->shift);
        /* Entry i may fill the hole unless its home lies cyclically in
         * (hole, i]. */
        if (((i - home) & m->mask) >= ((i - hole) & m->mask)) {
            tab[hole] = tab[i];
            hole = i;
        }
    }
    tab[hole].key = 0;
    m->count--;
}
