/*
 * adapt-apr.c - Apache Portable Runtime pools: apr_pcalloc, apr_pool_clear,
 * apr_pool_destroy.  APR has no free of one block and no resize.
 */
#include "adapter.h"

#include <apr_pools.h>
#include <pthread.h>
#include <stdlib.h>

static pthread_once_t apr_once = PTHREAD_ONCE_INIT;
static int apr_ok;

static void apr_start(void)
{
    apr_ok = apr_initialize() == APR_SUCCESS;
}

/* Arenas are subpools of a per-thread root pool with its own allocator,
 * the way a threaded APR program keeps its pools apart and recycles the
 * memory of destroyed pools.  The root goes with the thread's last arena
 * (each thread destroys its own): a leak checker then finds none. */
static __thread apr_pool_t *root;
static __thread unsigned arenas;

static void *a_create(void)
{
    apr_pool_t *p;
    pthread_once(&apr_once, apr_start);
    if (!apr_ok)
        return NULL;
    if (root == NULL && apr_pool_create_unmanaged_ex(&root, NULL, NULL) != APR_SUCCESS)
        return NULL;
    if (apr_pool_create(&p, root) != APR_SUCCESS)
        return NULL;
    arenas++;
    return p;
}

static void a_destroy(void *pool)
{
    apr_pool_destroy(pool);
    if (--arenas == 0) {
        apr_pool_destroy(root);
        root = NULL;
    }
}
static void a_reset(void *pool) { apr_pool_clear(pool); }
static void *a_zalloc(void *pool, size_t n) { return apr_pcalloc(pool, n ? n : 1); }

const struct adapter bench_apr = {
    .name = "apr",
    .create = a_create,
    .destroy = a_destroy,
    .reset = a_reset,
    .zalloc = a_zalloc,
};
