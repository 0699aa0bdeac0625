/*
 * ptrmap.c - the direct map of a pool: the exact user address of a direct
 * block -> its record (cymem__direct).
 *
 * Invariants:
 *  - each live direct block is in the map once, under its user pointer
 *    (invariant 4 of doc/design.md); a key of 0 is an empty slot;
 *  - removal shifts later entries of the probe run back, so there are no
 *    tombstones and lookups stay short under churn;
 *  - after cymem__direct_reserve() has succeeded, the next insertion
 *    cannot fail.
 *
 * Its table is a hashtab.c table, allocated through backing.c.
 */
#include "internal.h"
#include "hashtab.h"
#include "ptrmap.h"

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
    return cymem__map_reserve(pool, &pool->direct, 1, sizeof(cymem__direct));
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
