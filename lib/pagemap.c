/*
 * pagemap.c - the page map of a pool: granule (address >> GRANULE_SHIFT)
 * -> the slabs that overlap it.  The lookup, cymem__page_find(), is inline
 * in pagemap.h for the free path; here is the insertion.
 *
 * Invariants:
 *  - slabs are at least one granule long and never overlap, so at most two
 *    of them meet in any granule: the end of one and the start of the next;
 *  - the map holds exactly the granules the pool's slabs span (invariant 1
 *    of doc/design.md): entries are only added, since slabs live until the
 *    pool is destroyed, so lookups never see a deleted slot.
 *
 * Its table is a hashtab.c table, allocated through backing.c.
 */
#include "internal.h"
#include "hashtab.h"
#include "pagemap.h"

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

    if (cymem__map_reserve(pool, m, last - first + 1, sizeof(cymem__pentry)) != 0)
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

void cymem__page_replace(cymem_pool *pool, const cymem__slab *from, cymem__slab *to,
                         cymem__slab *to2)
{
    cymem__map *m = &pool->pages;
    uintptr_t first = (uintptr_t)from->base >> CYMEM__GRANULE_SHIFT;
    uintptr_t last = ((uintptr_t)from->base + from->span - 1) >> CYMEM__GRANULE_SHIFT;
    cymem__pentry *tab = m->tab;
    for (uintptr_t key = first; key <= last; key++) {
        size_t i = cymem__hash(key, m->shift);
        while (tab[i].key != key)
            i = (i + 1) & m->mask;
        int later = to2 != NULL && key >= (uintptr_t)to2->base >> CYMEM__GRANULE_SHIFT;
        tab[i].s[tab[i].s[0] != from] = later ? to2 : to;
    }
}
