/*
 * rel-unload.c - a program that loads the shared library with dlopen(),
 * fills a 64 MiB pool, destroys it and unloads the library, three
 * times: the memory the destroyed pool left in the thread's cache (its
 * regions wait there) must go back with the library, not stay mapped
 * and resident, unreachable, at every load.  In the last round, another
 * thread does the same first and waits, alive, while the main thread
 * unloads the library: its cache must go back too.  The resident size
 * after the three rounds is compared with the one before the first,
 * outside valgrind and the sanitizers, whose allocators decide what
 * stays resident (there the rounds run and are reported).
 *
 * The library is $top_builddir/lib/.libs/libcymem.so: the program is
 * not linked with it, so that dlclose() unloads it.
 */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "resident.h"
#include "stage.h"

#define MIB ((size_t)1 << 20)

/* Fill and destroy a 64 MiB pool of the library loaded as @h: 0, or -1. */
static int fill_destroy(void *h)
{
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
    return rc;
}

/* A thread that fills its cache through the library and stays alive,
 * calling nothing of it, until told to end. */
static int idle_rc;

static void *idle(void *h)
{
    idle_rc = fill_destroy(h);
    stage_set(1);
    stage_wait(2);
    return NULL;
}

/* Load the library, fill and destroy a pool (and, if @with_idle, let an
 * idle thread do the same first), unload it: 0, or -1. */
static int round_trip(const char *lib, int with_idle)
{
    void *h = dlopen(lib, RTLD_NOW | RTLD_LOCAL);
    if (h == NULL) {
        fprintf(stderr, "rel-unload: %s\n", dlerror());
        return -1;
    }
    pthread_t t;
    int rc = 0;
    stage = 0;
    if (with_idle) {
        if (pthread_create(&t, NULL, idle, h) != 0)
            return -1;
        stage_wait(1);
        rc = idle_rc;
    }
    if (fill_destroy(h) != 0)
        rc = -1;
    dlclose(h);
    if (with_idle) {
        stage_set(2);
        pthread_join(t, NULL);
    }
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
        if (round_trip(lib, i == 2) != 0) {
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
    printf("rel-unload: the threads' caches go with the library: ok\n");
    return 0;
}
