/*
 * rel-fault.c - fault injection: a backing allocator that fails at its
 * k-th request, for every k a scenario makes.  Every call must report its
 * error (NULL + ENOMEM, or -1), the pool must stay usable and consistent,
 * and at destroy every byte the allocator handed out must have come back.
 */
#include <cymem.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct counting {
    unsigned long calls, fail_at;
    long live_calls;
    long long live_bytes;
};

static void *c_malloc(size_t size, void *ctx)
{
    struct counting *c = ctx;
    if (++c->calls == c->fail_at)
        return NULL;
    c->live_calls++;
    c->live_bytes += (long long)size;
    return malloc(size);
}

static void c_free(void *p, size_t size, void *ctx)
{
    struct counting *c = ctx;
    c->live_calls--;
    c->live_bytes -= (long long)size;
    free(p);
}

static int failures;
#define CHECK(cond, k, what) do { \
        if (!(cond)) { \
            if (failures++ < 20) \
                fprintf(stderr, "fail_at=%lu: %s\n", (k), (what)); \
        } \
    } while (0)

/* The scenario: every kind of call that can need memory.  Returns the
 * number of backing requests it made. */
static unsigned long scenario(unsigned long fail_at)
{
    struct counting c = { 0, fail_at, 0, 0 };
    cymem_allocator a = { c_malloc, c_free, &c };
    cymem_pool_options o = { &a, NULL, 0, 0 };
    cymem_pool *pool = cymem_pool_new_ex(&o);
    if (pool == NULL) {
        CHECK(errno == ENOMEM, fail_at, "pool_new failed without ENOMEM");
        CHECK(c.live_calls == 0 && c.live_bytes == 0, fail_at, "failed pool_new leaked");
        return c.calls;
    }
    void *keep[300];
    size_t nkeep = 0;
    for (int i = 0; i < 300; i++) {
        size_t n = (size_t)(i % 7 == 0 ? 5000 + i * 13 : 8 + i * 3);
        errno = 0;
        void *p = i % 11 == 0 ? cymem_pool_alloc_aligned(pool, 1, n, 256)
                              : cymem_pool_alloc(pool, 1, n);
        if (p == NULL) {
            CHECK(errno == ENOMEM, fail_at, "alloc failed without ENOMEM");
            continue;
        }
        memset(p, 0x5a, n);
        keep[nkeep++] = p;
    }
    cymem_stats before, after;
    cymem_pool_stats(pool, &before);
    for (size_t i = 0; i < nkeep; i += 3) {
        errno = 0;
        void *q = cymem_pool_realloc(pool, keep[i], 70000);
        if (q == NULL) {
            CHECK(errno == ENOMEM, fail_at, "realloc failed without ENOMEM");
            CHECK(((unsigned char *)keep[i])[0] == 0x5a, fail_at, "failed realloc damaged the block");
        } else {
            keep[i] = q;
        }
    }
    cymem_pool_options co = { NULL, pool, 0, 0 };
    cymem_pool *child = cymem_pool_new_ex(&co);
    if (child != NULL && cymem_pool_alloc(child, 10, 10) == NULL)
        CHECK(errno == ENOMEM, fail_at, "child alloc failed without ENOMEM");
    if (cymem_pool_on_cleanup(pool, free, NULL) != 0)
        CHECK(errno == ENOMEM, fail_at, "on_cleanup failed without ENOMEM");
    for (size_t i = 1; i < nkeep; i += 2)
        CHECK(cymem_pool_free(pool, keep[i]) == 0, fail_at, "free of a live block failed");
    cymem_pool_stats(pool, &after);
    size_t held = after.reserved_bytes;
    if (child != NULL) {
        cymem_stats cs;
        cymem_pool_stats(child, &cs);
        held += cs.reserved_bytes;      /* the child uses the same allocator */
    }
    CHECK(held == (size_t)c.live_bytes, fail_at, "reserved_bytes is not what the allocator holds");
    cymem_pool_reset(pool);
    /* Still usable after the failures. */
    c.fail_at = 0;
    CHECK(cymem_pool_alloc(pool, 1, 100) != NULL, fail_at, "pool unusable after a failure");
    cymem_pool_destroy(pool);
    CHECK(c.live_calls == 0, fail_at, "backing allocations not returned at destroy");
    CHECK(c.live_bytes == 0, fail_at, "backing bytes not returned at destroy");
    return c.calls;
}

int main(void)
{
    unsigned long total = scenario(0);
    for (unsigned long k = 1; k <= total; k++)
        scenario(k);
    printf("%lu backing requests, each failed once: %d failures\n", total, failures);
    return failures != 0;
}
