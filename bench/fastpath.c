/*
 * fastpath.c - the cymem_pool_alloc and cymem_pool_free calls that
 * callgrind counts.
 *
 *   valgrind --tool=callgrind --toggle-collect=counted_alloc ./fastpath
 *   valgrind --tool=callgrind --toggle-collect=counted_free ./fastpath
 *
 * Phase "bump": N allocations of 64 bytes from slabs with room.  Phase
 * "free list": the same blocks freed, then allocated again from the free
 * lists.  Only calls through the wrapper named are collected: 2 N
 * allocations, N frees; the program prints both numbers, so the count
 * divided by the calls is the cost of one call, slab refills amortized,
 * plus the three or four instructions of the wrapper.
 */
#include <cymem.h>
#include <stdio.h>
#include <stdlib.h>

#define N 100000

__attribute__((noinline)) void *counted_alloc(cymem_pool *pool, size_t n);
__attribute__((noinline)) void *counted_alloc(cymem_pool *pool, size_t n)
{
    return cymem_pool_alloc(pool, 1, n);
}

__attribute__((noinline)) int counted_free(cymem_pool *pool, void *p);
__attribute__((noinline)) int counted_free(cymem_pool *pool, void *p)
{
    return cymem_pool_free(pool, p);
}

int main(void)
{
    static void *p[N];
    cymem_pool *pool = cymem_pool_new();
    if (pool == NULL)
        return 1;
    /* Leave the pool's first-blocks mode before counting. */
    for (int i = 0; i < 64; i++)
        if (cymem_pool_alloc(pool, 1, 32) == NULL)
            return 1;
    for (int i = 0; i < N; i++)
        if ((p[i] = counted_alloc(pool, 64)) == NULL)
            return 1;
    for (int i = 0; i < N; i++)
        if (counted_free(pool, p[i]) != 0)
            return 1;
    for (int i = 0; i < N; i++)
        if ((p[i] = counted_alloc(pool, 64)) == NULL)
            return 1;
    printf("%d %d\n", 2 * N, N);
    cymem_pool_destroy(pool);
    return 0;
}
