/*
 * rel-overflow.c - a block overflows into the next block, a freed one.
 * The engine keeps all its bookkeeping out of line, so later valid calls
 * must neither crash, nor hand out a block twice, nor lose the freed
 * blocks: each of them is handed out again.  And the last block of the
 * pool's first chunk, whose marks follow its units, overflows by 16 bytes:
 * every block keeps its size and is freed.
 */
#include <cymem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The blocks of 16 bytes a new pool hands out one after the other from
 * its first chunk, overflow the last of them by 16 bytes, and check that
 * each block still has its size and is freed; returns the errors. */
static int overflow_last_unit(void)
{
    enum { MAX = 100000 };
    static unsigned char *b[MAX];
    cymem_pool *pool = cymem_pool_new();
    int n = 0, errors = 0;
    if (pool == NULL)
        return 1;
    /* The first chunk ends where a block no longer follows the last. */
    while (n < MAX && (b[n] = cymem_pool_alloc(pool, 1, 16)) != NULL &&
           (n == 0 || b[n] == b[n - 1] + 16))
        n++;
    if (n == MAX || n < 2) {
        fprintf(stderr, "no end of the first chunk found\n");
        return 1;
    }
    memset(b[n - 1], 0xA5, 32);
    for (int i = 0; i < n; i++) {
        if (cymem_pool_block_size(pool, b[i]) != 16)
            errors++;
        if (cymem_pool_free(pool, b[i]) != 0)
            errors++;
    }
    if (errors)
        fprintf(stderr, "%d errors after the first chunk's last block overflowed\n", errors);
    cymem_pool_destroy(pool);
    return errors;
}

int main(void)
{
    int errors = 0;
    /* The overflow is the point; under a memory checker it is an error. */
#if defined(__SANITIZE_ADDRESS__)
    if (1) {
#else
    if (getenv("CYMEM_UNDER_VALGRIND") != NULL) {
#endif
        printf("SKIP: deliberate overflow\n");
        return 77;
    }
    cymem_pool *pool = cymem_pool_new();
    unsigned char *b[200];
    for (int i = 0; i < 200; i++)
        b[i] = cymem_pool_alloc(pool, 1, 48);
    /* Free every other block, then overflow each live one by 16 bytes into
     * the freed block after it (blocks of 48 bytes are 48 apart). */
    for (int i = 1; i < 200; i += 2)
        cymem_pool_free(pool, b[i]);
    for (int i = 0; i < 198; i += 2)
        if (b[i + 1] == b[i] + 48)
            memset(b[i], 0xA5, 64);
    /* Valid calls go on: allocate, check distinct and zeroed, free. */
    unsigned char *n[300];
    for (int i = 0; i < 300; i++) {
        n[i] = cymem_pool_alloc(pool, 1, 48);
        if (n[i] == NULL) {
            fprintf(stderr, "allocation failed\n");
            return 1;
        }
        for (int j = 0; j < 48; j++)
            if (n[i][j] != 0)
                errors++;
        for (int k = 0; k < i; k++)
            if (n[k] == n[i])
                errors++;
        memset(n[i], 1, 48);
    }
    /* Nothing lost: every freed slab block (a block 48 bytes past its
     * neighbour) came back among the new ones. */
    int lost = 0;
    for (int i = 1; i < 199; i += 2) {
        if (b[i] != b[i - 1] + 48)
            continue;
        int found = 0;
        for (int k = 0; k < 300 && !found; k++)
            found = n[k] == b[i];
        lost += !found;
    }
    if (lost)
        fprintf(stderr, "%d freed blocks were not handed out again\n", lost);
    errors += lost;
    for (int i = 0; i < 300; i++)
        if (cymem_pool_free(pool, n[i]) != 0)
            errors++;
    cymem_stats st;
    cymem_pool_stats(pool, &st);
    if (st.live_blocks != 100)
        errors++;
    cymem_pool_reset(pool);
    cymem_pool_destroy(pool);
    errors += overflow_last_unit();
    printf("%d errors after the overflow\n", errors);
    return errors != 0;
}
