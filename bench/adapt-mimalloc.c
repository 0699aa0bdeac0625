/*
 * adapt-mimalloc.c - mimalloc's first-class heaps: mi_heap_new,
 * mi_heap_zalloc, mi_free, mi_heap_rezalloc, mi_heap_destroy (which frees
 * every block of the heap at once).  mimalloc replaces malloc when it is
 * linked, so it gets a binary of its own.
 */
#include "adapter.h"

#include <mimalloc.h>

static void *h_create(void) { return mi_heap_new(); }
static void h_destroy(void *heap) { mi_heap_destroy(heap); }
static void *h_zalloc(void *heap, size_t n) { return mi_heap_zalloc(heap, n); }
static int h_release(void *heap, void *p, size_t n)
{
    (void)heap;
    (void)n;
    mi_free(p);
    return 0;
}

static void *h_resize(void *heap, void *p, size_t old, size_t n)
{
    (void)old;
    return mi_heap_rezalloc(heap, p, n);
}

const struct adapter bench_mimalloc = {
    .name = "mimalloc-heap",
    .create = h_create,
    .destroy = h_destroy,
    .zalloc = h_zalloc,
    .release = h_release,
    .resize = h_resize,
};
