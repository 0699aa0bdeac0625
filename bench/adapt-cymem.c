/* adapt-cymem.c - libcymem pools. */
#include "bench.h"

#include <cymem.h>

static void *c_create(void) { return cymem_pool_new(); }
static void c_destroy(void *pool) { cymem_pool_destroy(pool); }
static void c_reset(void *pool) { cymem_pool_reset(pool); }
static void *c_zalloc(void *pool, size_t n) { return cymem_pool_alloc(pool, 1, n); }
static void c_release(void *pool, void *p, size_t n) { (void)n; cymem_pool_free(pool, p); }

static void *c_resize(void *pool, void *p, size_t old, size_t n)
{
    (void)old;
    return cymem_pool_realloc(pool, p, n);
}

const struct adapter bench_cymem = {
    "libcymem", c_create, c_destroy, c_reset, c_zalloc, c_release, c_resize, 0,
};
