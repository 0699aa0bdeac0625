/*
 * cymem.h - libcymem: memory pools that own every block they hand out.
 *
 * A pool hands out zero-filled blocks and owns them: one call, reset or
 * destroy, gives every block back at once.  Blocks may also be freed one by
 * one, and the pool knows exactly which pointers it handed out, so a foreign,
 * interior or already freed pointer is refused instead of corrupting memory.
 *
 * The contract, in brief (cymem(3) has it in full):
 *
 *  - Thread safety: a pool is used by one thread at a time unless it was
 *    created with CYMEM_POOL_THREADSAFE.  Different pools are independent:
 *    one pool per thread needs no flag and takes no lock.  On a
 *    THREADSAFE pool every call but cymem_pool_destroy() may run in any
 *    number of threads at once; a destroy must not overlap any other call
 *    on the pool (the debug mode, CYMEM_DEBUG=1, aborts if one does, on
 *    a pool of the system allocator).
 *  - Every block is zero-filled and aligned for any C type (max_align_t).
 *  - A request for zero bytes returns a unique pointer that can be freed.
 *  - Functions that return a pointer return NULL and set errno on failure;
 *    functions that return int return 0 on success and -1 with errno set on
 *    failure.  A failed call changes no block and no live count; memory
 *    the pool obtained before the failure (its bookkeeping, a region)
 *    may stay, counted in reserved_bytes, until the pool is destroyed.
 *  - A NULL pool is a bad argument, treated alike by every function: it
 *    does nothing, and a function that returns a status or a pointer fails
 *    with EINVAL (-1, NULL, or 0 for cymem_pool_owns() and
 *    cymem_pool_block_size()); cymem_pool_reset() and cymem_pool_destroy()
 *    return nothing and do nothing.
 *  - cymem_pool_free(pool, NULL) does nothing and returns 0.
 *  - cymem_pool_reset() frees every block and destroys every child pool, but
 *    keeps the pool (and the memory it holds) for reuse;
 *    cymem_pool_destroy() frees everything and the pool itself.
 */
#ifndef CYMEM_H
#define CYMEM_H

#include <stddef.h>
#include <cymem-version.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Portability macros ------------------------------------------------ */

#if defined(_WIN32) && defined(CYMEM_BUILDING_DLL)
#  define CYMEM_API __declspec(dllexport)
#elif defined(__GNUC__) && __GNUC__ >= 4
#  define CYMEM_API __attribute__((visibility("default")))
#else
#  define CYMEM_API
#endif

#if defined(__GNUC__)
#  define CYMEM_NODISCARD        __attribute__((warn_unused_result))
#  define CYMEM_MALLOC_LIKE      __attribute__((malloc))
#  define CYMEM_ALLOC_SIZE(n)    __attribute__((alloc_size(n)))
#  define CYMEM_ALLOC_SIZE2(n,m) __attribute__((alloc_size(n, m)))
#else
#  define CYMEM_NODISCARD
#  define CYMEM_MALLOC_LIKE
#  define CYMEM_ALLOC_SIZE(n)
#  define CYMEM_ALLOC_SIZE2(n, m)
#endif

/* ---- Types ------------------------------------------------------------- */

/** An opaque memory pool. */
typedef struct cymem_pool cymem_pool;

/**
 * Where a pool gets its memory from (upstream cymem's WrapMalloc/WrapFree).
 *
 * @malloc: return @size bytes aligned for any C type and to at least 16
 *          bytes, or NULL on failure.
 *          The memory need not be zeroed.
 * @free:   give back @ptr; @size is exactly what @malloc was asked for.
 * @ctx:    passed unchanged to both.
 *
 * The pool asks for large pieces (chunks) and carves blocks out of them; a
 * pool's first few small blocks, and blocks too large for a chunk, are asked
 * for one by one.  Everything obtained is given back at reset (except chunks
 * kept for reuse) or destroy.
 */
typedef struct cymem_allocator {
    void *(*malloc)(size_t size, void *ctx);
    void  (*free)(void *ptr, size_t size, void *ctx);
    void  *ctx;
} cymem_allocator;

/**
 * Pool flag: the pool may be used from several threads at once.  With the
 * system allocator, each thread allocates from a part of the pool of its
 * own (a heap), and any thread may free, resize or look up any block; with
 * a custom allocator, which need not be thread-safe, every call takes the
 * pool's one lock.  A destroy must not overlap other calls.
 */
#define CYMEM_POOL_THREADSAFE 0x1u

/**
 * Pool flag: once the pool holds 8 MiB, ask the kernel to back its further
 * 4 MiB regions with transparent huge pages (madvise MADV_HUGEPAGE): the
 * regions its slabs and arena chunks of up to 2 MiB are carved from
 * (cymem(3)).  Larger slabs (a chunk_size above 2 MiB) and blocks above
 * 4 KiB, each a piece of memory of its own, are not advised.  Touching and
 * releasing memory then costs less in a very large pool, but where
 * physical memory is fragmented the kernel may stall to compact it, and
 * the resident size grows in 2 MiB steps.  Off by default (the
 * environment variable CYMEM_HUGE_PAGES=1 turns it on for every pool);
 * only pools of the system allocator use it.  A THREADSAFE pool of the
 * system allocator counts per heap: the memory of the heap that holds
 * 8 MiB, not of the pool as a whole, gets huge pages (cymem(3),
 * "Threads").
 */
#define CYMEM_POOL_HUGE_PAGES 0x2u

/**
 * Options for cymem_pool_new_ex().  Zero-initialise the structure, then set
 * what you need: all-zero options give the same pool as cymem_pool_new().
 */
typedef struct cymem_pool_options {
    /** NULL: the system allocator (or the parent's allocator for a child). */
    const cymem_allocator *allocator;
    /** NULL: a root pool; otherwise the pool is reset/destroyed with it. */
    cymem_pool *parent;
    /** CYMEM_POOL_* flags; unknown bits are an error (EINVAL). */
    unsigned flags;
    /** Size of the chunks small blocks are carved from: 0 for the default,
     *  else a power of two from CYMEM_CHUNK_SIZE_MIN to CYMEM_CHUNK_SIZE_MAX. */
    size_t chunk_size;
} cymem_pool_options;

/* A size_t constant, with no cast that C++'s -Wold-style-cast reports. */
#ifdef __cplusplus
#  define CYMEM_SIZE_C_(n) (static_cast<size_t>(n))
#else
#  define CYMEM_SIZE_C_(n) ((size_t)(n))
#endif

/** The smallest and largest chunk_size a pool accepts. */
#define CYMEM_CHUNK_SIZE_MIN (CYMEM_SIZE_C_(16) << 10)
#define CYMEM_CHUNK_SIZE_MAX (CYMEM_SIZE_C_(16) << 20)

/** The largest alignment cymem_pool_alloc_aligned() accepts. */
#define CYMEM_ALIGNMENT_MAX (CYMEM_SIZE_C_(1) << 20)

/**
 * A snapshot of a pool's accounting, from cymem_pool_stats().  It speaks of
 * the pool's own blocks, not of its children's.
 */
typedef struct cymem_stats {
    size_t live_bytes;     /**< sum of the requested sizes of live blocks */
    size_t live_blocks;    /**< number of live blocks */
    size_t peak_bytes;     /**< highest live_bytes since the pool was made
                                (a shared pool: the sum of its heaps'
                                peaks, cymem(3) "Threads") */
    size_t reserved_bytes; /**< bytes held from the backing allocator now,
                                the pool's own bookkeeping included */
    size_t used_bytes;     /**< bytes the live blocks occupy, size-class
                                rounding included (>= live_bytes) */
    size_t chunk_count;    /**< pieces of memory held from the allocator */
    size_t metadata_bytes; /**< part of reserved_bytes used for bookkeeping */
} cymem_stats;

/* ---- Pools ------------------------------------------------------------- */

/**
 * cymem_pool_new - create a root pool on the system allocator.
 *
 * Return: the pool, or NULL with errno ENOMEM.
 */
CYMEM_API CYMEM_NODISCARD cymem_pool *cymem_pool_new(void);

/**
 * cymem_pool_new_ex - create a pool with options.
 * @opts: the options, or NULL for the defaults.
 *
 * A child pool (@opts->parent set) is destroyed when its parent is reset or
 * destroyed, and may be destroyed on its own before.  With no allocator of
 * its own it uses its parent's; a custom allocator is then called under a
 * mutex that the pool it was given to and all that inherit it share, so
 * that it need not be thread-safe when they are used by different threads.
 * Its holder may take it again: the allocator may use those pools, not the
 * one whose call it serves, nor a THREADSAFE one that other threads use
 * (cymem_allocator(3)).
 *
 * Return: the pool, or NULL with errno EINVAL (unknown flag bits, a
 * chunk_size out of range or not a power of two, an allocator without both
 * functions) or ENOMEM; for a CYMEM_POOL_THREADSAFE pool, or the first
 * child that inherits a custom allocator, also the error of
 * pthread_mutex_init() (EAGAIN, ...) when a mutex cannot be made.
 */
CYMEM_API CYMEM_NODISCARD cymem_pool *cymem_pool_new_ex(const cymem_pool_options *opts);

/**
 * cymem_pool_destroy - free every block, destroy the children, free the pool.
 * @pool: the pool, or NULL (nothing happens).
 *
 * Child pools are destroyed first, then the pool's cleanup callbacks run
 * (last registered first), then all memory goes back to the allocator.
 */
CYMEM_API void cymem_pool_destroy(cymem_pool *pool);

/**
 * cymem_pool_reset - free every block and destroy the children; keep the pool.
 * @pool: the pool, or NULL (nothing happens).
 *
 * Runs in the same order as cymem_pool_destroy().  The pool keeps chunks of
 * memory for reuse; peak_bytes is not lowered.
 */
CYMEM_API void cymem_pool_reset(cymem_pool *pool);

/* ---- Blocks ------------------------------------------------------------ */

/**
 * cymem_pool_alloc - allocate a zero-filled array of @number items of @size.
 *
 * The block is aligned for any C type.  A request of zero bytes returns a
 * unique pointer that can be freed.
 *
 * Return: the block, or NULL with errno ENOMEM (@number * @size overflows,
 * or memory is exhausted).
 */
CYMEM_API CYMEM_NODISCARD CYMEM_MALLOC_LIKE CYMEM_ALLOC_SIZE2(2, 3)
void *cymem_pool_alloc(cymem_pool *pool, size_t number, size_t size);

/**
 * cymem_pool_alloc_aligned - cymem_pool_alloc() with a chosen alignment.
 * @alignment: a power of two, at most CYMEM_ALIGNMENT_MAX.
 *
 * Return: the block, or NULL with errno EINVAL (bad alignment) or ENOMEM.
 */
CYMEM_API CYMEM_NODISCARD CYMEM_MALLOC_LIKE CYMEM_ALLOC_SIZE2(2, 3)
void *cymem_pool_alloc_aligned(cymem_pool *pool, size_t number, size_t size,
                               size_t alignment);

/**
 * cymem_pool_realloc - resize a block of the pool.
 * @ptr:      a live block of @pool, or NULL (then it is cymem_pool_alloc(1, n)).
 * @new_size: the new size in bytes; 0 keeps a live, freeable 0-byte block.
 *
 * The contents are kept up to the smaller of the two sizes; bytes past the
 * old size are zero.  The block may move; an aligned block keeps its
 * alignment.
 *
 * Return: the block, or NULL with errno ENOMEM (the old block is untouched)
 * or EINVAL (@ptr is not a live block of @pool; nothing changes).
 */
CYMEM_API CYMEM_NODISCARD CYMEM_ALLOC_SIZE(3)
void *cymem_pool_realloc(cymem_pool *pool, void *ptr, size_t new_size);

/**
 * cymem_pool_free - give one block back to the pool.
 * @ptr: a live block of @pool, or NULL (nothing happens).
 *
 * Return: 0, or -1 with errno EINVAL when @pool is NULL or @ptr is not a
 * live block of this pool (from another pool or malloc, interior, already
 * freed, freed by a reset, or garbage); the pool is then unchanged.  The
 * check is exact.  A NULL @pool fails even with a NULL @ptr.
 */
CYMEM_API int cymem_pool_free(cymem_pool *pool, void *ptr);

/**
 * cymem_pool_owns - tell whether @ptr is a live block of @pool.
 *
 * Return: 1 if @ptr is the start of a live block of @pool (not of a child),
 * else 0; a NULL @pool also sets errno to EINVAL.
 */
CYMEM_API int cymem_pool_owns(const cymem_pool *pool, const void *ptr);

/**
 * cymem_pool_block_size - the requested size of a live block.
 *
 * Return: the size the block was last allocated or resized to, or 0 with
 * errno EINVAL when @ptr is not a live block of @pool (a 0-byte block also
 * returns 0; errno then is left alone: set errno = 0 first to tell them
 * apart, or use cymem_pool_owns()).
 */
CYMEM_API size_t cymem_pool_block_size(const cymem_pool *pool, const void *ptr);

/**
 * cymem_pool_find - the live block of @pool that holds @addr.
 * @addr: any address: the start of a block or a byte inside one.
 * @block: where the block's start goes (may be NULL).
 * @size: where its requested size goes (may be NULL).
 *
 * A block holds the bytes of its requested size; a 0-byte block holds only
 * its start.  O(1) for blocks up to the largest size class; larger blocks
 * are scanned.  Nothing is read from @addr.
 *
 * Return: 0, or -1 with errno ENOENT (no live block of @pool holds @addr)
 * or EINVAL (@pool or @addr is NULL); *@block and *@size are then left
 * alone.
 */
CYMEM_API int cymem_pool_find(const cymem_pool *pool, const void *addr,
                              void **block, size_t *size);

/**
 * cymem_pool_free_size - cymem_pool_free() that reports the freed size.
 * @size: where the block's requested size goes (may be NULL); 0 for NULL
 *        @ptr.
 *
 * One lookup does both, for callers that keep a byte count.
 *
 * Return: as cymem_pool_free(); *@size is left alone on failure.
 */
CYMEM_API int cymem_pool_free_size(cymem_pool *pool, void *ptr, size_t *size);

/* ---- Introspection ----------------------------------------------------- */

/**
 * cymem_pool_stats - fill @out with the pool's accounting.
 *
 * Return: 0, or -1 with errno EINVAL if @pool or @out is NULL.
 */
CYMEM_API int cymem_pool_stats(const cymem_pool *pool, cymem_stats *out);

/**
 * cymem_pool_foreach - call @fn for every live block of the pool.
 * @fn:  called with the block, its requested size and @ctx; a non-zero
 *       return stops the walk.  It must not allocate or free in @pool,
 *       nor call into a CYMEM_POOL_THREADSAFE @pool at all, nor wait for
 *       a thread that does (so not call into a THREADSAFE pool that
 *       another thread walks with a callback that calls into @pool): the
 *       walk holds its lock.
 *
 * Blocks are visited in no particular order; child pools are not visited.
 *
 * Return: 0 after a full walk, the first non-zero value @fn returned, or -1
 * with errno EINVAL if @pool or @fn is NULL.
 */
CYMEM_API int cymem_pool_foreach(const cymem_pool *pool,
                                 int (*fn)(void *ptr, size_t size, void *ctx),
                                 void *ctx);

/**
 * cymem_pool_on_cleanup - run @fn(@arg) when the pool is next reset or
 * destroyed.
 *
 * Callbacks run exactly once, last registered first, after the pool's
 * children are destroyed and before its blocks are released, so they may
 * still read pool memory.  They must not register callbacks on, allocate
 * from, free in or reset the same pool; they may read it and use other
 * pools, its parent included.
 *
 * Return: 0, or -1 with errno EINVAL (@pool or @fn NULL) or ENOMEM.
 */
CYMEM_API int cymem_pool_on_cleanup(cymem_pool *pool, void (*fn)(void *arg), void *arg);

/**
 * cymem_trim - give the threads' cached memory back to the system.
 *
 * Pools of the system allocator keep, per thread, a bounded cache of the
 * memory of destroyed pools for the next pool to reuse (cymem(3) gives the
 * bounds); it is freed when the thread exits, or by this call, which
 * empties every thread's cache (in the child of a fork(), those of the
 * threads it does not have too), from any thread.  Pools that are alive
 * keep their memory.  Where the C library can, its own free memory is
 * trimmed too.
 *
 * Return: the bytes of cached memory given back (0 if there was none).
 */
CYMEM_API size_t cymem_trim(void);

/**
 * cymem_version - the version of the library in use, "MAJOR.MINOR.PATCH".
 *
 * Compare with CYMEM_VERSION_STRING, the version of the headers.
 */
CYMEM_API const char *cymem_version(void);

#ifdef __cplusplus
}
#endif

#endif /* CYMEM_H */
