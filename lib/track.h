/*
 * track.h - tell memory checkers what the pool does with its memory.
 *
 * The engine calls these hooks at every change of a block's state; this
 * file turns each into what the checkers compiled in need:
 *
 *  - Valgrind memcheck (when configure finds valgrind/memcheck.h): every
 *    pool is a mempool, every block a chunk of exactly its requested size,
 *    free blocks and unused slab memory no-access.  A read after free or
 *    after reset, or past the requested end into the block's slack, is
 *    reported at the user's line; a pool never destroyed shows its
 *    blocks as leaks.
 *  - AddressSanitizer (built with -fsanitize=address): the same regions
 *    are poisoned, to ASan's 8-byte granularity (a block's end is exact,
 *    because blocks start 16-aligned and ASan encodes partial granules).
 *  - The debug mode (debug.c; CYMEM_DEBUG=1, or configure --enable-debug,
 *    read by options.c):
 *    the bytes between a block's requested end and its block end are a
 *    redzone checked when the block is freed or its pool reset, and freed
 *    blocks are filled with a pattern checked when they are handed out
 *    again.  Damage is reported on stderr (CYMEM_DEBUG=abort aborts).
 *
 *   TRACK_POOL_NEW(pool) / TRACK_POOL_DELETE(pool)
 *   TRACK_POOL_RESET(pool)           every block of the pool is being freed
 *   TRACK_POOL_DROP(pool)            the same, by a destroy: the debug
 *                                    mode's checks only
 *   TRACK_SLAB_NEW(p, size)          slab memory nobody may touch yet
 *   TRACK_SLAB_RESET(p, size)        every block of a slab freed by a reset
 *   TRACK_BLOCK_ALLOC(pool, p, n, cap)   block [p, p+n) handed out, cap
 *                                    bytes behind it; called before the
 *                                    engine clears [p, p+n)
 *   TRACK_BLOCK_REUSE(pool, p, cap)  a freed block is about to be reused
 *   TRACK_BLOCK_FREE(pool, p, n, cap)    block of n bytes given back
 *   TRACK_BLOCK_MOVE(pool, p, n, cap)    block about to be moved by realloc
 *                                    or mremap (its memory then is gone)
 *   TRACK_BLOCK_RESIZE(pool, p, old, new, cap)  resized in place; called
 *                                    before the engine clears new bytes
 *   TRACK_MEM_RETURN(p, size)        memory leaves the pool: every byte of
 *                                    it accessible again
 *   TRACK_MEM_CACHED(p, size)        memory waits in the thread's cache
 *                                    (tcache.c): no-access until the cache
 *                                    hands it on
 *   TRACK_SLAB_META(p, size)         slab memory becomes the pool's own
 *                                    bookkeeping (an arena chunk's marks):
 *                                    accessible to the pool
 *
 * The debug mode reads and writes memory that memcheck is told nobody may
 * touch (redzones, freed blocks): each debug.c function first makes the
 * bytes it touches accessible, and the hook that called it hides them
 * again afterwards, so the two checkers can run together.
 *
 * The rule the hooks keep: memory the pool hid or poisoned is restored
 * before it leaves the pool, on every path (free of a direct block or a
 * slab, reset, destroy, a call that failed half-way, realloc and mremap),
 * so no checker reports the next owner's use of it.  The per-thread
 * cache, which keeps freed large blocks and a destroyed pool's memory for
 * the next pools, hides it again while it waits, and restores it before
 * it hands it on.
 */
#ifndef CYMEM_TRACK_H
#define CYMEM_TRACK_H

#include <stddef.h>

#include "options.h"

/* ---- the debug mode (debug.c) ---- */
void cymem__debug_alloc(void *p, size_t n, size_t cap);
void cymem__debug_reuse(const cymem_pool *pool, void *p, size_t cap);
void cymem__debug_check(const cymem_pool *pool, const void *p, size_t n, size_t cap);
void cymem__debug_free(const cymem_pool *pool, void *p, size_t n, size_t cap);
/* Check every live block of a pool about to be reset or freed: blocks.c
 * walks the blocks and calls cymem__debug_check() on each, so that
 * debug.c need not call back into the engine. */
void cymem__debug_reset(const cymem_pool *pool);

#define DEBUG_ON (cymem__debug)
#define TRACKING unlikely(cymem__track)

/* ---- valgrind ---- */
/* Each client request costs a dozen instructions even outside valgrind, so
 * they run only when cymem__valgrind (options.h) says the program runs
 * under it. */
#if defined(HAVE_VALGRIND_MEMCHECK_H) && !defined(CYMEM_NO_VALGRIND)
#  include <valgrind/memcheck.h>
#  define VG_IF(stmt) do { if (cymem__valgrind) { stmt; } } while (0)
#  define VG_POOL_NEW(pool) \
     VG_IF(VALGRIND_CREATE_MEMPOOL_EXT((pool), 0, 0, VALGRIND_MEMPOOL_METAPOOL))
#  define VG_POOL_DELETE(pool)          VG_IF(VALGRIND_DESTROY_MEMPOOL(pool))
#  define VG_NOACCESS(p, n)             VG_IF(VALGRIND_MAKE_MEM_NOACCESS((p), (n)))
#  define VG_DEFINED(p, n)              VG_IF(VALGRIND_MAKE_MEM_DEFINED((p), (n)))
#  define VG_ALLOC(pool, p, n)          VG_IF(VALGRIND_MEMPOOL_ALLOC((pool), (p), (n)))
#  define VG_FREE(pool, p)              VG_IF(VALGRIND_MEMPOOL_FREE((pool), (p)))
#  define VG_CHANGE(pool, p, n)         VG_IF(VALGRIND_MEMPOOL_CHANGE((pool), (p), (p), (n)))
#  define VG_MALLOCLIKE(p, n)           VG_IF(VALGRIND_MALLOCLIKE_BLOCK((p), (n), 0, 1))
#  define VG_FREELIKE(p)                VG_IF(VALGRIND_FREELIKE_BLOCK((p), 0))
#else
#  define VG_POOL_NEW(pool)             ((void)(pool))
#  define VG_POOL_DELETE(pool)          ((void)(pool))
#  define VG_NOACCESS(p, n)             ((void)0)
#  define VG_DEFINED(p, n)              ((void)0)
#  define VG_ALLOC(pool, p, n)          ((void)0)
#  define VG_FREE(pool, p)              ((void)0)
#  define VG_CHANGE(pool, p, n)         ((void)0)
#  define VG_MALLOCLIKE(p, n)           ((void)0)
#  define VG_FREELIKE(p)                ((void)0)
#endif

/* ---- AddressSanitizer ---- */
#if defined(__SANITIZE_ADDRESS__)
#  define CYMEM_ASAN 1
#elif defined(__has_feature)
#  if __has_feature(address_sanitizer)
#    define CYMEM_ASAN 1
#  endif
#endif
#ifdef CYMEM_ASAN
#  include <sanitizer/asan_interface.h>
#  include <sanitizer/lsan_interface.h>
#  define AS_POISON(p, n)   __asan_poison_memory_region((p), (n))
#  define AS_UNPOISON(p, n) __asan_unpoison_memory_region((p), (n))
#else
#  define AS_POISON(p, n)   ((void)0)
#  define AS_UNPOISON(p, n) ((void)0)
#endif

/* Pages of the library's own (not a heap block) that hold pointers to
 * heap blocks it keeps, a thread's cache of large blocks: LeakSanitizer
 * looks for pointers in the heap, the stacks and the data only, so they
 * are named to it while they are mapped.  memcheck reads every mapping. */
#ifdef CYMEM_ASAN
#  define TRACK_ROOTS(p, n)      __lsan_register_root_region((p), (n))
#  define TRACK_ROOTS_GONE(p, n) __lsan_unregister_root_region((p), (n))
#else
#  define TRACK_ROOTS(p, n)      ((void)0)
#  define TRACK_ROOTS_GONE(p, n) ((void)0)
#endif

/* A pool's own memory, its keeper, is a heap block to memcheck (its blocks
 * are the chunks of a mempool inside it): a pool never destroyed shows as
 * a leak.  Only the system allocator's keeper (pages): a custom
 * allocator's piece may be a heap block memcheck already knows, malloc()'s
 * say, and memcheck cannot hold two blocks that start at one address (it
 * may later take the one for the other, and report the pool's destroy and
 * the allocator's free() as mismatched); such a keeper leaks as the
 * allocator's own block. */
#define TRACK_KEEPER_NEW(pool, n) do {                                  \
        if (TRACKING && (pool)->sys)                                    \
            VG_MALLOCLIKE((pool), (n));                                 \
    } while (0)
#define TRACK_KEEPER_DELETE(pool) do {                                  \
        if (TRACKING && (pool)->sys)                                    \
            VG_FREELIKE(pool);                                          \
    } while (0)

/* The caller has run cymem__debug_init(): TRACKING is known. */
#define TRACK_POOL_NEW(pool) do {                                       \
        if (TRACKING)                                                   \
            VG_POOL_NEW(pool);                                          \
    } while (0)
#define TRACK_POOL_DELETE(pool) do { if (TRACKING) VG_POOL_DELETE(pool); } while (0)
#define TRACK_POOL_RESET(pool) do {                                     \
        if (TRACKING) {                                                 \
            if (DEBUG_ON)                                               \
                cymem__debug_reset(pool);                               \
            VG_POOL_DELETE(pool);                                       \
            VG_POOL_NEW(pool);                                          \
        }                                                               \
    } while (0)
/* A destroy drops the blocks too: the debug mode checks them as a reset
 * does (the checkers learn of it from TRACK_POOL_DELETE and the memory's
 * return). */
#define TRACK_POOL_DROP(pool) do {                                      \
        if (TRACKING && DEBUG_ON)                                       \
            cymem__debug_reset(pool);                                   \
    } while (0)
#define TRACK__HIDE(p, n) do {                                          \
        AS_POISON((p), (n));                                            \
        if (TRACKING)                                                   \
            VG_NOACCESS((p), (n));                                      \
    } while (0)
#define TRACK__SHOW(p, n, cap) do {                                     \
        AS_POISON((p), (cap));                                          \
        AS_UNPOISON((p), (n));                                          \
        if (TRACKING) {                                                 \
            VG_NOACCESS((char *)(p) + (n), (cap) - (n));                \
            VG_DEFINED((p), (n));                                       \
        }                                                               \
    } while (0)
/* Memory about to leave the pool (to the backing allocator, to the system
 * or its per-thread cache, or to realloc/mremap): whatever the pool hid
 * from the checkers becomes ordinary memory again, so that its next owner
 * (a custom allocator's free list, say) may read and write all of it. */
#define TRACK_MEM_RETURN(p, size) do {                                  \
        AS_UNPOISON((p), (size));                                       \
        if (TRACKING)                                                   \
            VG_DEFINED((p), (size));                                    \
    } while (0)
/* Memory the per-thread cache keeps for the next pool (tcache.c): off
 * limits until it is handed out again, so that a block read after its
 * free, its pool's reset or destroy is reported while its memory waits
 * there. */
#define TRACK_MEM_CACHED(p, size) TRACK__HIDE((p), (size))
#define TRACK_SLAB_META(p, size)  TRACK_MEM_RETURN((p), (size))
#define TRACK_SLAB_NEW(p, size)   TRACK__HIDE((p), (size))
#define TRACK_SLAB_RESET(p, size) TRACK__HIDE((p), (size))

#define TRACK_BLOCK_ALLOC(pool, p, n, cap) do {                         \
        AS_POISON((p), (cap));                                          \
        AS_UNPOISON((p), (n));                                          \
        if (TRACKING) {                                                 \
            if (DEBUG_ON)                                               \
                cymem__debug_alloc((p), (n), (cap));                    \
            VG_ALLOC((pool), (p), (n));                                 \
            VG_NOACCESS((char *)(p) + (n), (cap) - (n));                \
            VG_DEFINED((p), (n));                                       \
        }                                                               \
    } while (0)
#define TRACK_BLOCK_REUSE(pool, p, cap) do {                            \
        if (TRACKING && DEBUG_ON)                                       \
            cymem__debug_reuse((pool), (p), (cap));                     \
    } while (0)
#define TRACK_BLOCK_FREE(pool, p, n, cap) do {                          \
        if (TRACKING) {                                                 \
            if (DEBUG_ON)                                               \
                cymem__debug_free((pool), (p), (n), (cap));             \
            VG_FREE((pool), (p));                                       \
            VG_NOACCESS((p), (cap));                                    \
        }                                                               \
        AS_POISON((p), (cap));                                          \
    } while (0)
#define TRACK_BLOCK_MOVE(pool, p, n, cap) do {                          \
        if (TRACKING) {                                                 \
            if (DEBUG_ON)                                               \
                cymem__debug_check((pool), (p), (n), (cap));            \
            VG_FREE((pool), (p));                                       \
        }                                                               \
    } while (0)
/* A block grows in place past the bytes it had (@oldcap) to @newcap. */
#define TRACK_BLOCK_GROW(pool, p, old, oldcap, new, newcap) do {        \
        if (TRACKING && DEBUG_ON) {                                     \
            cymem__debug_check((pool), (p), (old), (oldcap));           \
            cymem__debug_alloc((p), (new), (newcap));                   \
        }                                                               \
        if (TRACKING)                                                   \
            VG_CHANGE((pool), (p), (new));                              \
        TRACK__SHOW((p), (new), (newcap));                              \
    } while (0)
#define TRACK_BLOCK_RESIZE(pool, p, old, new, cap) do {                 \
        if (TRACKING && DEBUG_ON) {                                     \
            cymem__debug_check((pool), (p), (old), (cap));              \
            cymem__debug_alloc((p), (new), (cap));                      \
        }                                                               \
        if (TRACKING)                                                   \
            VG_CHANGE((pool), (p), (new));                              \
        TRACK__SHOW((p), (new), (cap));                                 \
    } while (0)

#endif /* CYMEM_TRACK_H */
