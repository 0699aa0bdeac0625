/*
 * adapt-apr.c - Apache Portable Runtime pools: apr_pcalloc, apr_pool_clear,
 * apr_pool_destroy.  APR has no free of one block and no resize.
 */
#include "bench.h"

#include <apr_pools.h>
#include <stdlib.h>

static void *a_create(void)
{
    static int ready;
    apr_pool_t *p;
    if (!ready) {
        if (apr_initialize() != APR_SUCCESS)
            return NULL;
        ready = 1;
    }
    return apr_pool_create(&p, NULL) == APR_SUCCESS ? p : NULL;
}

static void a_destroy(void *pool) { apr_pool_destroy(pool); }
static void a_reset(void *pool) { apr_pool_clear(pool); }
static void *a_zalloc(void *pool, size_t n) { return apr_pcalloc(pool, n ? n : 1); }

const struct adapter bench_apr = {
    "apr", a_create, a_destroy, a_reset, a_zalloc, NULL, NULL, 0,
};
