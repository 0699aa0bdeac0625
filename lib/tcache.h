/*
 * tcache.h - the system allocator's per-thread caches (tcache.c).
 *
 * Only backing.c and region.c's carving call these; pools with a
 * custom allocator never reach them.
 */
#ifndef CYMEM_TCACHE_H
#define CYMEM_TCACHE_H

#include <stddef.h>
#include <cymem.h>

/* Slab memory of @size bytes (a power of two); *dirty gets how many
 * leading bytes may hold old data, the rest is zero. */
void *cymem__sys_slab_alloc(size_t size, size_t *dirty);
void cymem__sys_slab_free(void *p, size_t size, size_t dirty);
/* A direct block of at least @n bytes; *got gets its size, *zeroed
 * whether it is known to be zero. */
void *cymem__sys_big_alloc(size_t n, size_t *got, int *zeroed);
/* Give back a direct block; @bulk when a reset or destroy gives back all
 * of a pool's blocks, 0 when the program freed this one. */
void cymem__sys_big_free(void *p, size_t size, int bulk);

/* A region of CYMEM__REGION bytes, backed by huge pages if @huge, or
 * NULL; *dirty gets how many leading bytes may hold old data. */
void *cymem__sys_region_alloc(size_t *dirty, int huge);
void cymem__sys_region_free(void *p, size_t dirty, int huge);

/* Give every thread's cached memory back to the system, and free the
 * caches a fork's child has no thread for; returns how many bytes
 * (cymem_trim()). */
size_t cymem__sys_trim(void);

/* Before a fork(), once every pool's locks are held (fork.c): hold every
 * cache's.  After it, give them back; in the child (@child), the caches
 * of the threads it does not have become orphans, given back at its
 * first call on a cache or its first trim. */
void cymem__caches_fork_take(void);
void cymem__caches_fork_give(int child);

#endif /* CYMEM_TCACHE_H */
