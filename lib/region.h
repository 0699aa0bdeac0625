/*
 * region.h - carving slabs and arena chunks from regions (region.c).
 */
#ifndef CYMEM_REGION_H
#define CYMEM_REGION_H

#include "internal.h"

/* Carve *bytes (a power of two of at least a granule; shrunk to what the
 * newest region has left, but not below @min) from @pool's newest region,
 * starting a new one if need be; *dirty gets how many leading bytes may
 * hold old data.  NULL, with nothing changed, when no region can be had. */
char *cymem__region_carve(cymem_pool *pool, size_t *bytes, size_t min, size_t *dirty);

/* Give back every region of @pool. */
void cymem__region_release_all(cymem_pool *pool);

#endif /* CYMEM_REGION_H */
