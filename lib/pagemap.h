/*
 * pagemap.h - the page map (pagemap.c): granule -> the slabs over it.
 */
#ifndef CYMEM_PAGEMAP_H
#define CYMEM_PAGEMAP_H

#include "internal.h"
#include "hashtab.h"

/* The slab of @pool whose blocks span @ptr, or NULL. */
static inline cymem__slab *cymem__page_find(const cymem_pool *pool, const void *ptr)
{
    const cymem__map *m = &pool->pages;
    uintptr_t key = (uintptr_t)ptr >> CYMEM__GRANULE_SHIFT;
    const cymem__pentry *tab = (const cymem__pentry *)m->tab;
    if (unlikely(tab == NULL))
        return NULL;
    for (size_t i = cymem__hash(key, m->shift);; i = (i + 1) & m->mask) {
        const cymem__pentry *e = &tab[i];
        if (e->key == key) {
            for (int j = 0; j < 2; j++) {
                cymem__slab *s = e->s[j];
                if (s && (uintptr_t)ptr - (uintptr_t)s->base < s->span)
                    return s;
            }
            return NULL;
        }
        if (e->key == 0)
            return NULL;
    }
}

int cymem__page_insert(cymem_pool *pool, cymem__slab *s);
/* Let the page map name @to, or from @to2->base on @to2 (if not NULL),
 * wherever it names @from, whose granules @to and @to2 span (a slab
 * become part of an arena chunk).  Cannot fail. */
void cymem__page_replace(cymem_pool *pool, const cymem__slab *from, cymem__slab *to,
                         cymem__slab *to2);

#endif /* CYMEM_PAGEMAP_H */
