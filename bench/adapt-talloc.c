/* adapt-talloc.c - Samba's talloc: a context per arena, children freed with it. */
#include "adapter.h"

#include <string.h>
#include <talloc.h>

static void *t_create(void) { return talloc_new(NULL); }
static void t_destroy(void *ctx) { talloc_free(ctx); }
static void t_reset(void *ctx) { talloc_free_children(ctx); }
static void *t_zalloc(void *ctx, size_t n) { return talloc_zero_size(ctx, n); }
static int t_release(void *ctx, void *p, size_t n) { (void)ctx; (void)n; return talloc_free(p); }

static void *t_resize(void *ctx, void *p, size_t old, size_t n)
{
    char *q = talloc_realloc_size(ctx, p, n ? n : 1);
    if (q != NULL && n > old)
        memset(q + old, 0, n - old);
    return q;
}

const struct adapter bench_talloc = {
    .name = "talloc",
    .create = t_create,
    .destroy = t_destroy,
    .reset = t_reset,
    .zalloc = t_zalloc,
    .release = t_release,
    .resize = t_resize,
};
