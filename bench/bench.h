/*
 * bench.h - the interface between the benchmark driver and the allocators
 * it compares.
 *
 * Every allocator is wrapped as an arena: something that hands out
 * zero-filled blocks and can give all of them back at once.  Allocators
 * without a notion of arena (malloc and the libraries that replace it)
 * free every block the driver still holds; allocators without an
 * individual free or a realloc leave those operations NULL and the driver
 * reports the workloads that need them as not applicable.
 */
#ifndef BENCH_H
#define BENCH_H

#include <stddef.h>

struct adapter {
    const char *name;
    /* A new arena, or NULL on failure. */
    void *(*create)(void);
    /* Free every block and the arena. */
    void (*destroy)(void *arena);
    /* Free every block, keep the arena; NULL: destroy and create. */
    void (*reset)(void *arena);
    /* @n zero-filled bytes aligned for any type, or NULL. */
    void *(*zalloc)(void *arena, size_t n);
    /* Give one block of @n bytes back; NULL if the allocator cannot. */
    void (*release)(void *arena, void *p, size_t n);
    /* Resize a block from @old to @n bytes, new bytes zero; NULL if the
     * allocator cannot. */
    void *(*resize)(void *arena, void *p, size_t old, size_t n);
    /* destroy/reset only free the arena's bookkeeping: the driver must
     * release every live block first (malloc-style allocators). */
    int blocks_need_release;
};

/* The adapters linked into this binary, NULL-terminated. */
extern const struct adapter *const bench_adapters[];

#endif /* BENCH_H */
