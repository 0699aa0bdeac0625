/*
 * fastpath.c - the calls cymem_pool_alloc() and cymem_pool_free() make on
 * their fast paths, for each engine, to be counted by callgrind:
 *
 *   valgrind --tool=callgrind --toggle-collect=counted_arena_alloc ./fastpath
 *   (and counted_arena_free, counted_slab_alloc, counted_slab_free)
 *
 * Arena: a new pool takes ARENA_N blocks of 64 bytes by bumping, frees them
 * newest first (each goes back to the bump index), takes them again, frees
 * them oldest first (each but the last becomes a hole) and takes them again
 * from the holes.  Slab: a pool past its arena budget takes SLAB_N blocks
 * of 64 bytes from slabs with room, frees them and takes them again from
 * the freed blocks.  The program prints how many calls each counted
 * function got, in that order, so the count per call needs no guessing.
 */
#include <cymem.h>
#include <stdio.h>

#define ARENA_N 8000        /* 512 KB: well inside a pool's arena budget */
#define SLAB_N 100000

#define COUNTED(name, call) \
    __attribute__((noinline)) void *counted_##name##_alloc(cymem_pool *pool, size_t n); \
    __attribute__((noinline)) void *counted_##name##_alloc(cymem_pool *pool, size_t n) \
    { return cymem_pool_alloc(pool, 1, n); } \
    __attribute__((noinline)) int counted_##name##_free(cymem_pool *pool, void *p); \
    __attribute__((noinline)) int counted_##name##_free(cymem_pool *pool, void *p) \
    { return cymem_pool_free(pool, p); }

COUNTED(arena, 0)
COUNTED(slab, 0)

static int arena_phase(void)
{
    static void *p[ARENA_N];
    cymem_pool *pool = cymem_pool_new();
    if (pool == NULL)
        return -1;
    for (int i = 0; i < ARENA_N; i++)
        if ((p[i] = counted_arena_alloc(pool, 64)) == NULL)
            return -1;
    for (int i = ARENA_N - 1; i >= 0; i--)
        if (counted_arena_free(pool, p[i]) != 0)
            return -1;
    for (int i = 0; i < ARENA_N; i++)
        if ((p[i] = counted_arena_alloc(pool, 64)) == NULL)
            return -1;
    for (int i = 0; i < ARENA_N; i++)
        if (counted_arena_free(pool, p[i]) != 0)
            return -1;
    for (int i = 0; i < ARENA_N; i++)
        if ((p[i] = counted_arena_alloc(pool, 64)) == NULL)
            return -1;
    cymem_pool_destroy(pool);
    return 0;
}

static int slab_phase(void)
{
    static void *p[SLAB_N];
    cymem_pool *pool = cymem_pool_new();
    if (pool == NULL)
        return -1;
    /* Past the arena budget (1 MiB): the rest comes from slabs. */
    for (int i = 0; i < 20000; i++)
        if (cymem_pool_alloc(pool, 1, 64) == NULL)
            return -1;
    for (int i = 0; i < SLAB_N; i++)
        if ((p[i] = counted_slab_alloc(pool, 64)) == NULL)
            return -1;
    for (int i = 0; i < SLAB_N; i++)
        if (counted_slab_free(pool, p[i]) != 0)
            return -1;
    for (int i = 0; i < SLAB_N; i++)
        if ((p[i] = counted_slab_alloc(pool, 64)) == NULL)
            return -1;
    cymem_pool_destroy(pool);
    return 0;
}

int main(void)
{
    if (arena_phase() != 0 || slab_phase() != 0)
        return 1;
    printf("%d %d %d %d\n", 3 * ARENA_N, 2 * ARENA_N, 2 * SLAB_N, SLAB_N);
    return 0;
}
