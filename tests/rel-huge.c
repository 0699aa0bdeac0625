/*
 * rel-huge.c - transparent huge pages only for the pools that ask.
 *
 * A pool of the system allocator that grows past 8 MiB carves its slabs
 * from regions; the kernel is asked for huge pages under them
 * (MADV_HUGEPAGE, the "hg" VmFlag of /proc/self/smaps) only when the pool
 * was made with CYMEM_POOL_HUGE_PAGES, or when CYMEM_HUGE_PAGES=1 (this
 * program runs itself again with it set).  A region a huge-page pool gave
 * back and a plain pool reuses loses the advice ("nh").  A shared pool
 * (CYMEM_POOL_THREADSAFE) counts per heap: four threads that each grow
 * their heap to 3 MiB get no huge pages, a heap grown past 8 MiB does.
 *
 *   rel-huge            the checks
 *   rel-huge --env      the pool without the flag must get huge pages
 */
#include <cymem.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* The VmFlags of the mapping that holds @p: 'h' for MADV_HUGEPAGE, 'n'
 * for MADV_NOHUGEPAGE, '-' for neither, 0 if smaps says nothing. */
static char advice(const void *p)
{
    FILE *f = fopen("/proc/self/smaps", "r");
    char line[512];
    int inside = 0;
    char what = 0;
    if (f == NULL)
        return 0;
    while (fgets(line, sizeof line, f)) {
        unsigned long lo, hi;
        if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2 && strchr(line, '-') < strchr(line, ' ')) {
            inside = (unsigned long)p >= lo && (unsigned long)p < hi;
            continue;
        }
        if (inside && strncmp(line, "VmFlags:", 8) == 0) {
            what = strstr(line, " hg") ? 'h' : strstr(line, " nh") ? 'n' : '-';
            break;
        }
    }
    fclose(f);
    return what;
}

/* A pool grown to @mib MiB of 64-byte blocks; the last block. */
static void *grow(cymem_pool *pool, size_t mib)
{
    void *last = NULL;
    for (size_t i = 0; i < (mib << 20) / 64; i++)
        if ((last = cymem_pool_alloc(pool, 1, 64)) == NULL)
            return NULL;
    return last;
}

static int failures;

/* A shared pool that threads grow, each its own heap, and the last block
 * each one got. */
static cymem_pool *shared;
static size_t shared_mib;
static void *shared_last[4];

static void *grow_heap(void *arg)
{
    shared_last[(size_t)arg] = grow(shared, shared_mib);
    return NULL;
}

/* Whether the heaps of @threads threads, each grown to @mib MiB of a
 * shared CYMEM_POOL_HUGE_PAGES pool, got huge pages: 1 all, 0 none, -1
 * some, or an error. */
static int shared_huge(unsigned threads, size_t mib)
{
    cymem_pool_options o = { 0 };
    pthread_t t[4];
    int huge = 0, small = 0;
    o.flags = CYMEM_POOL_THREADSAFE | CYMEM_POOL_HUGE_PAGES;
    if ((shared = cymem_pool_new_ex(&o)) == NULL)
        return -1;
    shared_mib = mib;
    for (size_t i = 0; i < threads; i++)
        if (pthread_create(&t[i], NULL, grow_heap, (void *)i) != 0)
            return -1;
    for (size_t i = 0; i < threads; i++) {
        pthread_join(t[i], NULL);
        char a = shared_last[i] != NULL ? advice(shared_last[i]) : 0;
        huge += a == 'h';
        small += a == '-';
    }
    cymem_pool_destroy(shared);
    return huge == (int)threads ? 1 : small == (int)threads ? 0 : -1;
}

static void expect(int cond, const char *what)
{
    if (!cond) {
        fprintf(stderr, "rel-huge: %s\n", what);
        failures++;
    }
}

int main(int argc, char **argv)
{
    cymem_pool_options huge = { 0 };
    huge.flags = CYMEM_POOL_HUGE_PAGES;
    if (getenv("CYMEM_UNDER_VALGRIND") != NULL) {
        printf("SKIP: under valgrind, smaps describes valgrind's mappings\n");
        return 77;
    }

    cymem_pool *plain = cymem_pool_new();
    void *p = plain ? grow(plain, 12) : NULL;
    if (p == NULL)
        return 99;
    char a = advice(p);
    if (a == 0) {
        printf("SKIP: /proc/self/smaps has no VmFlags\n");
        return 77;
    }
    if (argc > 1 && strcmp(argv[1], "--env") == 0) {
        expect(a == 'h', "CYMEM_HUGE_PAGES=1: a plain pool got no huge pages");
        cymem_pool_destroy(plain);
        return failures ? 1 : 0;
    }
    expect(a == '-', "a pool without the flag asked for huge pages");

    cymem_pool *h = cymem_pool_new_ex(&huge);
    void *q = h ? grow(h, 12) : NULL;
    expect(q != NULL && advice(q) == 'h', "a CYMEM_POOL_HUGE_PAGES pool got no huge pages");
    /* The huge pool's regions wait in the thread's cache, the newest
     * there (it is destroyed last), so that the next pool takes them
     * first: a plain pool that takes one must not inherit the advice. */
    cymem_pool_destroy(plain);
    cymem_pool_destroy(h);
    plain = cymem_pool_new();
    p = plain ? grow(plain, 12) : NULL;
    expect(p != NULL && advice(p) != 'h', "a plain pool reused a region with the advice");
    cymem_pool_destroy(plain);
    (void)cymem_trim();

    /* A shared pool: 12 MiB over four heaps of 3 MiB, none past 8 MiB,
     * get no huge pages; one heap of 12 MiB does. */
    expect(shared_huge(4, 3) == 0, "a shared pool's heaps of 3 MiB got huge pages");
    (void)cymem_trim();
    expect(shared_huge(1, 12) == 1, "a shared pool's heap of 12 MiB got no huge pages");

    /* The same program with CYMEM_HUGE_PAGES=1. */
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        setenv("CYMEM_HUGE_PAGES", "1", 1);
        execl("/proc/self/exe", argv[0], "--env", (char *)NULL);
        _exit(99);
    }
    int status;
    expect(pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
           WEXITSTATUS(status) == 0, "with CYMEM_HUGE_PAGES=1");
    if (failures == 0)
        printf("rel-huge: huge pages only where asked: ok\n");
    return failures ? 1 : 0;
}
