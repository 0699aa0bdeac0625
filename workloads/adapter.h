/*
 * adapter.h - the interface between the workload executor and the
 * allocators it drives; cymem-stat and the peer benchmark use the same
 * adapters.
 *
 * Every allocator is wrapped as an arena: something that hands out blocks
 * and can give all of them back at once.  Allocators without a notion of
 * arena (malloc and the libraries that replace it) free every block the
 * executor still holds; allocators without an individual free, a resize
 * or an aligned allocation leave those operations NULL and the workloads
 * that need them do not apply.
 */
#ifndef WORKLOADS_ADAPTER_H
#define WORKLOADS_ADAPTER_H

#include <stddef.h>
#include <stdint.h>

/* What an allocator holds, as it says itself (adapter.memory). */
struct adapter_memory {
    uint64_t live;       /* requested bytes of the live blocks, 0 if unknown */
    uint64_t used;       /* bytes the live blocks occupy */
    uint64_t reserved;   /* bytes held from the system */
    uint64_t metadata;   /* bookkeeping */
};

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
    /* Give one block of @n bytes back: 0, or -1 if the allocator refused
     * it; NULL if the allocator cannot. */
    int (*release)(void *arena, void *p, size_t n);
    /* Resize a block from @old to @n bytes, new bytes zero; NULL if the
     * allocator cannot. */
    void *(*resize)(void *arena, void *p, size_t old, size_t n);
    /* destroy/reset only free the arena's bookkeeping: the executor must
     * release every live block first (malloc-style allocators). */
    int blocks_need_release;
    /* Several threads may use one arena at once, and a block may be freed
     * by another thread than the one using its arena. */
    int threadsafe;
    /* The threads of a run share one arena, which the run makes (in the
     * workloads whose threads may share one; see workload.h). */
    int shared;

    /* The rest may be NULL. */
    /* @n bytes whose contents are undefined; NULL: zalloc. */
    void *(*alloc)(void *arena, size_t n);
    /* resize without zeroing the new bytes; NULL: resize. */
    void *(*realloc)(void *arena, void *p, size_t old, size_t n);
    /* @n bytes aligned to @align (a power of two), zero-filled when @zero. */
    void *(*aligned)(void *arena, size_t n, size_t align, int zero);
    /* The figures of one arena; with memory_is_global, of the process
     * (@arena is ignored).  0, or -1 when they are not known. */
    int (*memory)(void *arena, struct adapter_memory *m);
    int memory_is_global;
    /* The bytes a live block occupies, for the used bytes of allocators
     * whose memory() cannot count them. */
    size_t (*usable)(void *arena, void *p);
    /* Which library this is, and its version. */
    void (*identify)(char *buf, size_t len);
};

/* The adapters of every program: malloc (whatever library provides it in
 * the process) and libcymem pools: plain ones, CYMEM_POOL_THREADSAFE ones
 * (one per thread, like the plain ones), and one CYMEM_POOL_THREADSAFE
 * pool that the threads of a run share. */
extern const struct adapter adapter_malloc, adapter_cymem, adapter_cymem_ts,
    adapter_cymem_shared;

/* "glibc 2.36", or what is known of another C library. */
const char *libc_version(void);
/* Whether the malloc of this process is the GNU C library's. */
int malloc_is_glibc(void);

#endif /* WORKLOADS_ADAPTER_H */
