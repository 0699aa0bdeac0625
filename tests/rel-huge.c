/*
 * rel-huge.c - transparent huge pages only for the pools that ask.
 *
 * A pool of the system allocator that grows past 8 MiB carves its slabs
 * from regions; the kernel is asked for huge pages under them
 * (MADV_HUGEPAGE, the "hg" VmFlag of /proc/self/smaps) only when the pool
 * was made with CYMEM_POOL_HUGE_PAGES, or when CYMEM_HUGE_PAGES=1 (this
 * program runs itself again with it set).  A region a huge-page pool gave
 * back and a plain pool reuses loses the advice ("nh").
 *
 *   rel-huge            the checks
 *   rel-huge --env      the pool without the flag must get huge pages
 */
#include <cymem.h>
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
    /* The huge pool's regions wait in the thread's cache: a plain pool
     * that takes one must not inherit the advice. */
    cymem_pool_destroy(h);
    cymem_pool_destroy(plain);
    plain = cymem_pool_new();
    p = plain ? grow(plain, 12) : NULL;
    expect(p != NULL && advice(p) != 'h', "a plain pool reused a region with the advice");
    cymem_pool_destroy(plain);

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
