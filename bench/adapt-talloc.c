/* adapt-talloc.c - Samba's talloc: a context per arena, children freed with it. */
#include "bench.h"

#include <string.h>
#include <talloc.h>

static void *t_create(void) { return talloc_new(NULL); }
static void t_destroy(void *ctx) { talloc_free(ctx); }
static void t_reset(void *ctx) { talloc_free_children(ctx); }
static void *t_zalloc(void *ctx, size_t n) { return talloc_zero_size(ctx, n); }
static void t_release(void *ctx, void *p, size_t n) { (void)ctx; (void)n; talloc_free(p); }

static void *t_resize(void *ctx, void *p, size_t old, size_t n)
{
    char *q = talloc_realloc_size(ctx, p, n ? n : 1);
    if (q != NULL && n > old)
        memset(q + old, 0, n - old);
    return q;
}

const struct adapter bench_talloc = {
    "talloc", t_create, t_destroy, t_reset, t_zalloc, t_release, t_resize, 0,
};
