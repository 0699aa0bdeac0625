/*
 * ptrmap.h - the direct map (ptrmap.c): user pointer -> direct block.
 */
#ifndef CYMEM_PTRMAP_H
#define CYMEM_PTRMAP_H

#include "internal.h"
#include "hashtab.h"

cymem__direct *cymem__direct_find(const cymem_pool *pool, const void *ptr);
/* Make sure the next cymem__direct_insert() cannot fail. */
int cymem__direct_reserve(cymem_pool *pool);
void cymem__direct_insert(cymem_pool *pool, const cymem__direct *d);
void cymem__direct_remove(cymem_pool *pool, cymem__direct *d);

#endif /* CYMEM_PTRMAP_H */
