/*
 * rel-unload.c - a program that loads the shared library with dlopen(),
 * fills a 64 MiB pool, destroys it and unloads the library, three
 * times: the memory the destroyed pool left in the thread's cache (its
 * regions wait there) must go back with the library, not stay mapped
 * and resident, unreachable, at every load.  The resident size after
 * the three rounds is compared with the one before the first, outside
 * valgrind and AddressSanitizer, whose allocators decide what stays
 * resident (there the rounds run and are reported).
 *
 * The library is $top_builddir/lib/.libs/libcymem.so: the program is
 * not linked with it, so that dlclose() unloads it.
 */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "resident.h"

#define MIB ((size_t)1 << 20)

/* Load the library, fill and destroy a pool, unload it: 0, or -1. */
static int round_trip(const char *lib)
{
    void *h = dlopen(lib, RTLD_NOW | RTLD_LOCAL);
    if (h == NULL) {
        fprintf(stderr, "rel-unload: %s\n", dlerror());
        return -1;
    }
    void *(*pool_new)(void);
    void *(*pool_alloc)(void *, size_t, size_t);
    void (*pool_destroy)(void *);
    *(void **)&pool_new = dlsym(h, "cymem_pool_new");
    *(void **)&pool_alloc = dlsym(h, "cymem_pool_alloc");
    *(void **)&pool_destroy = dlsym(h, "cymem_pool_destroy");
    void *pool = pool_new && pool_alloc && pool_destroy ? pool_new() : NULL;
    int rc = pool != NULL ? 0 : -1;
    for (size_t done = 0; rc == 0 && done < 64 * MIB; done += 2000) {
        char *p = pool_alloc(pool, 1, 2000);
        if (p == NULL)
            rc = -1;
        else
            memset(p, 1, 2000);     /* touch it: it is resident */
    }
    if (pool != NULL)
        pool_destroy(pool);
    dlclose(h);
    return rc;
}

int main(void)
{
    const char *top = getenv("top_builddir");
    char lib[4096];
    if (top == NULL || snprintf(lib, sizeof lib, "%s/lib/.libs/libcymem.so", top) >=
                           (int)sizeof lib || access(lib, R_OK) != 0) {
        printf("SKIP: no shared library in $top_builddir/lib/.libs\n");
        return 77;
    }
    size_t before = rss();
    for (int i = 0; i < 3; i++)
        if (round_trip(lib) != 0) {
            fprintf(stderr, "rel-unload: round %d failed\n", i + 1);
            return 1;
        }
    size_t after = rss();
    printf("rel-unload: resident %zu KiB before, %zu KiB after three rounds\n",
           before >> 10, after >> 10);
    if (before != 0 && !UNDER_SANITIZER && getenv("CYMEM_UNDER_VALGRIND") == NULL &&
        after > before + 4 * MIB) {
        fprintf(stderr, "rel-unload: the destroyed pools' memory stayed after the unloads\n");
        return 1;
    }
    printf("rel-unload: the thread's cache goes with the library: ok\n");
    return 0;
}
