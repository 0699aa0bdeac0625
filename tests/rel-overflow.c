/*
 * rel-overflow.c - a block overflows into the next block, a freed one.
 * The engine keeps all its bookkeeping out of line, so later valid calls
 * must neither crash, nor hand out a block twice, nor lose the freed
 * blocks: each of them is handed out again.
 */
#include <cymem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
    printf("%d errors after the overflow\n", errors);
    return errors != 0;
}
