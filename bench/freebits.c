/*
 * freebits.c - the cost of finding a freed block in a large slab.
 *
 *   ./freebits [ROUNDS]
 *
 * A pool with 1 MiB chunks holds 65,536 blocks of 16 bytes, enough for
 * its 16-byte class to fill a 1 MiB slab.  Two loops of alloc+free pairs
 * then run on the blocks of that slab:
 *
 *   near  free a block and allocate again: the freed block is the only
 *         one, and the search finds it at once;
 *   far   free a block at the start of the slab and allocate it again,
 *         then do the same with a block at its end: the search for the
 *         second must not depend on how far it is from the first (with a
 *         plain scan over the bitmap from a low-water mark it crossed
 *         about 1,000 empty words).
 *
 * Each round times 2,000,000 pairs of each and prints ns per pair; the
 * last lines are the medians with the spread (min-max) over the rounds.
 */
#include <cymem.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define BLOCKS 65536
#define PAIRS 2000000
#define MAX_ROUNDS 99

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void **blocks;

/* One loop of pairs; returns ns per pair, or -1 if the pool misbehaved. */
static double run(cymem_pool *pool, int far)
{
    void *lo = blocks[64], *hi = blocks[BLOCKS - 64];
    double t0 = now();
    for (int i = 0; i < PAIRS / 2; i++) {
        if (cymem_pool_free(pool, lo) != 0 || cymem_pool_alloc(pool, 1, 16) != lo)
            return -1;
        void *p = far ? hi : lo;
        if (cymem_pool_free(pool, p) != 0 || cymem_pool_alloc(pool, 1, 16) != p)
            return -1;
    }
    return (now() - t0) / PAIRS;
}

static void *sys_malloc(size_t size, void *ctx)
{
    (void)ctx;
    return malloc(size);
}

static void sys_free(void *p, size_t size, void *ctx)
{
    (void)ctx;
    (void)size;
    free(p);
}

int main(int argc, char **argv)
{
    int rounds = argc > 1 ? atoi(argv[1]) : 7;
    if (rounds < 1 || rounds > MAX_ROUNDS)
        rounds = 7;
    /* A pool of a plain allocator: its slabs grow to the chunk size (a
     * pool of the system allocator carves smaller ones from regions). */
    cymem_allocator a = { sys_malloc, sys_free, NULL };
    cymem_pool_options opts = { 0 };
    opts.allocator = &a;
    opts.chunk_size = (size_t)1 << 20;
    cymem_pool *pool = cymem_pool_new_ex(&opts);
    blocks = malloc(BLOCKS * sizeof *blocks);
    if (pool == NULL || blocks == NULL)
        return 1;
    /* Allocate until BLOCKS consecutive blocks: a full 1 MiB slab. */
    char *start = NULL, *prev = NULL;
    size_t run_len = 0;
    for (long i = 0; i < 8L << 20 && run_len < BLOCKS; i++) {
        char *q = cymem_pool_alloc(pool, 1, 16);
        if (q == NULL)
            return 1;
        if (prev != NULL && q == prev + 16) {
            run_len++;
        } else {
            start = q;
            run_len = 1;
        }
        prev = q;
    }
    if (run_len < BLOCKS) {
        fprintf(stderr, "freebits: no 1 MiB slab of 16-byte blocks\n");
        return 1;
    }
    for (size_t i = 0; i < BLOCKS; i++)
        blocks[i] = start + 16 * i;
    double near[MAX_ROUNDS], far[MAX_ROUNDS];
    printf("%-6s %10s %10s\n", "round", "near", "far");
    for (int r = 0; r < rounds; r++) {
        near[r] = run(pool, 0);
        far[r] = run(pool, 1);
        if (near[r] < 0 || far[r] < 0) {
            fprintf(stderr, "freebits: a block came back at another address\n");
            return 1;
        }
        printf("%-6d %10.1f %10.1f\n", r + 1, near[r], far[r]);
    }
    qsort(near, (size_t)rounds, sizeof *near, cmp);
    qsort(far, (size_t)rounds, sizeof *far, cmp);
    printf("ns per alloc+free pair, median (min-max) of %d rounds:\n", rounds);
    printf("  near %.1f (%.1f-%.1f)\n", near[rounds / 2], near[0], near[rounds - 1]);
    printf("  far  %.1f (%.1f-%.1f)\n", far[rounds / 2], far[0], far[rounds - 1]);
    cymem_pool_destroy(pool);
    free(blocks);
    return 0;
}
