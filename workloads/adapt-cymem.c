/*
 * adapt-cymem.c - libcymem pools: plain ones, and CYMEM_POOL_THREADSAFE
 * ones, which several threads may use at once (one per thread, or one
 * that every thread of a run shares).
 */
#include "config.h"

#include "adapter.h"

#include <cymem.h>

#include <stdio.h>
#include <string.h>

static void *c_create(void) { return cymem_pool_new(); }

static void *c_create_ts(void)
{
    cymem_pool_options o;
    memset(&o, 0, sizeof o);
    o.flags = CYMEM_POOL_THREADSAFE;
    return cymem_pool_new_ex(&o);
}
static void c_destroy(void *pool) { cymem_pool_destroy(pool); }
static void c_reset(void *pool) { cymem_pool_reset(pool); }
static void *c_zalloc(void *pool, size_t n) { return cymem_pool_alloc(pool, 1, n); }
static int c_release(void *pool, void *p, size_t n) { (void)n; return cymem_pool_free(pool, p); }

static void *c_resize(void *pool, void *p, size_t old, size_t n)
{
    (void)old;
    return cymem_pool_realloc(pool, p, n);
}

/* A pool's blocks are always zero-filled. */
static void *c_aligned(void *pool, size_t n, size_t align, int zero)
{
    (void)zero;
    return cymem_pool_alloc_aligned(pool, 1, n, align);
}

static int c_memory(void *pool, struct adapter_memory *m)
{
    cymem_stats st;
    memset(m, 0, sizeof *m);
    if (cymem_pool_stats(pool, &st) != 0)
        return -1;
    m->live = st.live_bytes;
    m->used = st.used_bytes;
    m->reserved = st.reserved_bytes;
    m->metadata = st.metadata_bytes;
    return 0;
}

static void c_identify(char *buf, size_t len)
{
    snprintf(buf, len, "libcymem %s", cymem_version());
}

/* What the three adapters have in common. */
#define CYMEM_CALLS \
    .destroy = c_destroy, \
    .reset = c_reset, \
    .zalloc = c_zalloc, \
    .release = c_release, \
    .resize = c_resize, \
    .aligned = c_aligned, \
    .memory = c_memory, \
    .identify = c_identify

const struct adapter adapter_cymem = {
    .name = "libcymem",
    .create = c_create,
    CYMEM_CALLS,
};

const struct adapter adapter_cymem_ts = {
    .name = "libcymem-ts",
    .create = c_create_ts,
    .threadsafe = 1,
    CYMEM_CALLS,
};

const struct adapter adapter_cymem_shared = {
    .name = "libcymem-shared",
    .create = c_create_ts,
    .threadsafe = 1,
    .shared = 1,
    CYMEM_CALLS,
};
