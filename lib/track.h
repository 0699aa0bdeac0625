/*
 * track.h - tell memory checkers what the pool does with its memory.
 *
 * The engine calls these hooks at every change of a block's state; each
 * expands to nothing unless a checker is compiled in.  Keeping them in one
 * place means the same call sites serve every checker.
 *
 *   TRACK_POOL_NEW(pool)            a pool was made
 *   TRACK_POOL_DELETE(pool)         a pool is gone with all its blocks
 *   TRACK_SLAB_NEW(p, size)         fresh slab memory nobody may touch yet
 *   TRACK_BLOCK_ALLOC(pool, p, n, cap)  block [p, p+n) handed out, cap bytes
 *   TRACK_BLOCK_FREE(pool, p, cap)  block given back
 *   TRACK_BLOCK_RESIZE(pool, p, old, new, cap)  block resized in place
 *   TRACK_LINK_OPEN(p) / TRACK_LINK_CLOSE(p)  the engine reads or writes
 *                                   the free-list link inside a free block
 *   TRACK_SLAB_RESET(p, size)       every block of a slab freed by a reset
 */
#ifndef CYMEM_TRACK_H
#define CYMEM_TRACK_H

#define TRACK_POOL_NEW(pool)                      ((void)0)
#define TRACK_POOL_DELETE(pool)                   ((void)0)
#define TRACK_SLAB_NEW(p, size)                   ((void)0)
#define TRACK_BLOCK_ALLOC(pool, p, n, cap)        ((void)0)
#define TRACK_BLOCK_FREE(pool, p, cap)            ((void)0)
#define TRACK_BLOCK_RESIZE(pool, p, old, new, cap) ((void)0)
#define TRACK_LINK_OPEN(p)                        ((void)0)
#define TRACK_LINK_CLOSE(p)                       ((void)0)
#define TRACK_SLAB_RESET(p, size)                 ((void)0)

#endif /* CYMEM_TRACK_H */
