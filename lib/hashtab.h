/*
 * hashtab.h - the open-addressing table of the direct map (hashtab.c): entries
 * of any size whose first word is the key, 0 for an empty slot.
 */
#ifndef CYMEM_HASHTAB_H
#define CYMEM_HASHTAB_H

#include "internal.h"

static inline size_t cymem__hash(uintptr_t key, unsigned shift)
{
    return (size_t)(((uint64_t)key * 0x9E3779B97F4A7C15ull) >> shift);
}

/* Make room in @m for @extra more entries of @esize bytes; -1 (ENOMEM,
 * @m unchanged) if the table cannot grow. */
int cymem__map_reserve(cymem_pool *pool, cymem__map *m, size_t extra, size_t esize);
/* Give @m's table back and leave @m empty. */
void cymem__map_free(cymem_pool *pool, cymem__map *m, size_t esize);

#endif /* CYMEM_HASHTAB_H */
