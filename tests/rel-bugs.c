/*
 * rel-bugs.c - a program with the memory bugs that checkers must report
 * inside pools.  rel-valgrind.sh runs it under valgrind, rel-asan.sh in an
 * ASan build and rel-debug.sh in the debug mode, one bug per run:
 *
 *   after-free    read a block after cymem_pool_free()
 *   after-reset   read a block after cymem_pool_reset()
 *   after-free-big, after-reset-big   the same for a large block, which
 *                 waits in the thread's cache for the next one
 *   after-destroy read a block after cymem_pool_destroy(): the pool's
 *                 memory waits in the thread's cache for the next pool
 *   after-destroy-large   the same for a pool of 24 MiB, whose 4 MiB
 *                 regions wait there, the block's among those beyond the
 *                 four the cache keeps for good
 *   past-end      read one byte past a small block's requested end
 *   past-end-big  the same for a large (direct) block
 *   past-end-huge the same for a block the system maps (128 KiB and up),
 *                 whose last page goes on past its end
 *   write-after-free  write into a freed block, then allocate again
 *   overflow-write    write past the end, then free the block
 *   overflow-write-huge   the same for the mapped block
 *   overflow-destroy  write past the end of a small block, then destroy
 *                 the pool without freeing it
 *   overflow-child    the same in a child pool, which its parent's reset
 *                 destroys
 *   leak          exit without destroying the pool
 *   none          no bug: checkers must stay silent
 *
 * Each bad access reads or writes its own offset of its block: the
 * scripts find a report by the line of the access, and two accesses of
 * the same shape (a free, then a read of p[3] and of big[3]) may be
 * compiled into one instruction, whose line is then the other's (the
 * user's CFLAGS, -O2 by default, come after the -O0 asked for here).
 */
#include <cymem.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
int main(int argc, char **argv)
{
    const char *bug = argc > 1 ? argv[1] : "";
    cymem_pool *pool = cymem_pool_new();
    for (int i = 0; i < 64; i++) if (!cymem_pool_alloc(pool, 1, 24)) return 1;
    volatile char *p = cymem_pool_alloc(pool, 1, 40);
    volatile char *big = cymem_pool_alloc(pool, 1, 10000);
    volatile char *huge = cymem_pool_alloc(pool, 1, 200000);
    int sink = 0;
    if (strcmp(bug, "after-free") == 0) {
        cymem_pool_free(pool, (void *)p);
        sink += p[1];                      /* read after free */
    } else if (strcmp(bug, "after-reset") == 0) {
        cymem_pool_reset(pool);
        sink += p[2];                      /* read after reset */
    } else if (strcmp(bug, "after-free-big") == 0) {
        cymem_pool_free(pool, (void *)big);
        sink += big[3];                    /* big block read after free */
    } else if (strcmp(bug, "after-reset-big") == 0) {
        cymem_pool_reset(pool);
        sink += big[5];                    /* big block read after reset */
    } else if (strcmp(bug, "after-destroy") == 0) {
        cymem_pool_destroy(pool);
        sink += p[6];                      /* read after destroy */
        printf("%d\n", sink);
        return 0;
    } else if (strcmp(bug, "after-destroy-large") == 0) {
        /* The last block is in the pool's newest region, which the
         * destroy gives back first: the oldest in the cache. */
        volatile char *last = p;
        for (size_t done = 0; done < ((size_t)24 << 20) && last != NULL; done += 2000)
            last = cymem_pool_alloc(pool, 1, 2000);
        if (last == NULL) return 1;
        cymem_pool_destroy(pool);
        sink += last[7];                   /* large pool read after destroy */
        printf("%d\n", sink);
        return 0;
    } else if (strcmp(bug, "past-end") == 0) {
        sink += p[40];                     /* one byte past the end */
    } else if (strcmp(bug, "past-end-big") == 0) {
        sink += big[10000];
    } else if (strcmp(bug, "past-end-huge") == 0) {
        sink += huge[200000];
    } else if (strcmp(bug, "leak") == 0) {
        return 0;                          /* pool never destroyed */
    } else if (strcmp(bug, "overflow-write") == 0) {
        ((char *)p)[44] = 1;               /* write past the end */
        cymem_pool_free(pool, (void *)p);
    } else if (strcmp(bug, "overflow-write-huge") == 0) {
        ((char *)huge)[200001] = 1;        /* write past the end */
        cymem_pool_free(pool, (void *)huge);
    } else if (strcmp(bug, "overflow-destroy") == 0) {
        p[45] = 1;                         /* write past the end, no free */
    } else if (strcmp(bug, "overflow-child") == 0) {
        cymem_pool_options o = { NULL, pool, 0, 0 };
        cymem_pool *child = cymem_pool_new_ex(&o);
        volatile char *c = child != NULL ? cymem_pool_alloc(child, 1, 24) : NULL;
        if (c == NULL) return 1;
        c[26] = 1;                         /* write past the end, no free */
        cymem_pool_reset(pool);
    } else if (strcmp(bug, "write-after-free") == 0) {
        cymem_pool_free(pool, (void *)p);
        ((char *)p)[20] = 1;               /* write after free */
        for (int i = 0; i < 4; i++)
            if (!cymem_pool_alloc(pool, 1, 40)) return 1;
    }
    cymem_pool_destroy(pool);
    printf("%d\n", sink);
    return 0;
}
