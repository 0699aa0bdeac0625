/*
 * pagemap.h - the page map (pagemap.c): granule -> the chunks over it,
 * one map for the process, each chunk tagged with its pool.
 */
#ifndef CYMEM_PAGEMAP_H
#define CYMEM_PAGEMAP_H

#include "internal.h"

/* The map is a radix tree of two levels over the granule number: a root of
 * CYMEM__PM_ROOT leaf pointers, in the library's data, and leaves of
 * CYMEM__PM_LEAF entries, mapped when first needed and kept for the life
 * of the process.  48 address bits on a 64-bit system, 32 on a 32-bit one;
 * a chunk above them cannot be recorded (its allocation fails), and a
 * pointer above them is looked up in the leaf its low bits select, where
 * the range check refuses it. */
#if UINTPTR_MAX > 0xffffffffu
#  define CYMEM__PM_LEAF_BITS 18
#  define CYMEM__PM_ADDR_BITS 48
#else
#  define CYMEM__PM_LEAF_BITS 12
#  define CYMEM__PM_ADDR_BITS 32
#endif
#define CYMEM__PM_ROOT_BITS (CYMEM__PM_ADDR_BITS - CYMEM__GRANULE_SHIFT - CYMEM__PM_LEAF_BITS)
#define CYMEM__PM_LEAF ((size_t)1 << CYMEM__PM_LEAF_BITS)
#define CYMEM__PM_ROOT ((size_t)1 << CYMEM__PM_ROOT_BITS)

/* A granule's entry: the (at most two) chunks that overlap it, each with
 * the pool that owns it.  A slot is claimed by a compare-and-swap of its
 * chunk from NULL and then given its owner; it is released owner first.
 * A lookup reads a chunk only after finding its own pool as the owner, so
 * it never reads the descriptor of another pool's chunk, which that pool's
 * thread may be freeing. */
typedef struct cymem__pentry {
    const cymem_pool *owner[2];
    cymem__slab *chunk[2];
} cymem__pentry;

extern cymem__pentry *cymem__pm_root[CYMEM__PM_ROOT];

/* What cymem__page_trim() puts in the slots of a page it gives back: no
 * chunk is ever there, and no lookup reads a chunk without its owner. */
#define CYMEM__PM_TRIMMING ((cymem__slab *)(uintptr_t)1)

/* The slab or arena chunk of @pool whose blocks span @ptr, or NULL. */
static inline cymem__slab *cymem__page_find(const cymem_pool *pool, const void *ptr)
{
    uintptr_t key = (uintptr_t)ptr >> CYMEM__GRANULE_SHIFT;
    cymem__pentry *leaf = __atomic_load_n(
        &cymem__pm_root[(key >> CYMEM__PM_LEAF_BITS) & (CYMEM__PM_ROOT - 1)], __ATOMIC_ACQUIRE);
    if (unlikely(leaf == NULL))
        return NULL;
    cymem__pentry *e = &leaf[key & (CYMEM__PM_LEAF - 1)];
    /* Relaxed: a slot whose owner is @pool was last written by @pool's own
     * calls, which do not run concurrently with this one.  Not so for the
     * key of a shared pool, which its heaps share: that is
     * cymem__page_find_shared()'s. */
    for (int j = 0; j < 2; j++) {
        if (__atomic_load_n(&e->owner[j], __ATOMIC_RELAXED) == pool) {
            cymem__slab *s = __atomic_load_n(&e->chunk[j], __ATOMIC_RELAXED);
            if ((uintptr_t)ptr - (uintptr_t)s->base < s->span)
                return s;
        }
    }
    return NULL;
}

/* cymem__page_find() for the key of a shared pool, whose heaps' threads
 * may claim or release slots with that owner while the lookup runs: the
 * owner is read with acquire, so that a chunk found is seen as its heap
 * made it, and a slot released under the lookup is skipped. */
static inline cymem__slab *cymem__page_find_shared(const cymem_pool *pool, const void *ptr)
{
    uintptr_t key = (uintptr_t)ptr >> CYMEM__GRANULE_SHIFT;
    cymem__pentry *leaf = __atomic_load_n(
        &cymem__pm_root[(key >> CYMEM__PM_LEAF_BITS) & (CYMEM__PM_ROOT - 1)], __ATOMIC_ACQUIRE);
    if (leaf == NULL)
        return NULL;
    cymem__pentry *e = &leaf[key & (CYMEM__PM_LEAF - 1)];
    for (int j = 0; j < 2; j++) {
        if (__atomic_load_n(&e->owner[j], __ATOMIC_ACQUIRE) == pool) {
            cymem__slab *s = __atomic_load_n(&e->chunk[j], __ATOMIC_ACQUIRE);
            if (s != NULL && (uintptr_t)ptr - (uintptr_t)s->base < s->span)
                return s;
        }
    }
    return NULL;
}

/* The chunk of any pool's key whose blocks span @ptr: the pool's own
 * slots, or its shared pool's (for a heap). */
static inline cymem__slab *cymem__page_find_key(const cymem_pool *pool, const void *ptr)
{
    return pool->key == pool ? cymem__page_find(pool, ptr)
                             : cymem__page_find_shared(pool->key, ptr);
}

/* Record chunk @s of @pool in every granule its blocks overlap: either
 * every granule is recorded, or (ENOMEM) none is. */
int cymem__page_insert(cymem_pool *pool, cymem__slab *s);
/* Forget chunk @s of @pool, before its memory or descriptor goes. */
void cymem__page_remove(cymem_pool *pool, const cymem__slab *s);
/* Let the page map name @to, or from @to2->base on @to2 (if not NULL),
 * wherever it names @from (a slab become part of an arena chunk), and
 * forget @from in the granules neither spans.  Cannot fail. */
void cymem__page_replace(cymem_pool *pool, const cymem__slab *from, cymem__slab *to,
                         cymem__slab *to2);
/* Give back the pages of the map whose entries are all empty (a thread
 * recording a chunk in one of them meanwhile waits for it); returns their
 * bytes.  Any thread, at any time. */
size_t cymem__page_trim(void);
/* Keep trims from running, and let them again (a fork(), fork.c). */
void cymem__page_trims_stop(void);
void cymem__page_trims_allow(void);
/* The entry of @ptr's granule, or NULL if its leaf was never made (for
 * the invariant checker and its tests). */
cymem__pentry *cymem__page_entry(const void *ptr);
/* Every slot of the map owned by @pool (as a key), counted by a walk of every leaf
 * (tests: a pool destroyed owns none); *@orphans (if not NULL) gets the
 * slots that have a chunk and no owner or the reverse, which only a claim
 * or release under way in another thread may leave for a moment. */
size_t cymem__page_census(const cymem_pool *pool, size_t *orphans);

#endif /* CYMEM_PAGEMAP_H */
