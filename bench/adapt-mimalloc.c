/*
 * adapt-mimalloc.c - mimalloc's first-class heaps: mi_heap_new,
 * mi_heap_zalloc, mi_free, mi_heap_rezalloc, mi_heap_destroy (which frees
 * every block of the heap at once).  mimalloc replaces malloc when it is
 * linked, so it gets a binary of its own.
 */
#include "adapter.h"

#include <mimalloc.h>
#include <stdio.h>
#include <stdlib.h>

/* A heap belongs to the thread that made it: only that thread may use or
 * destroy it.  The heaps a thread made, so that a destroy from another
 * thread is reported here instead of crashing inside mimalloc now and
 * then (with PLAN_SCOPES heaps a thread, MINE is plenty). */
#define MINE 8
static __thread void *mine[MINE];

static void *h_create(void)
{
    mi_heap_t *heap = mi_heap_new();
    for (int i = 0; heap != NULL && i < MINE; i++)
        if (mine[i] == NULL) {
            mine[i] = heap;
            break;
        }
    return heap;
}

static void h_destroy(void *heap)
{
    int i = 0;
    while (i < MINE && mine[i] != heap)
        i++;
    if (i == MINE) {
        fprintf(stderr, "bench: a mimalloc heap destroyed by a thread that did not make it\n");
        abort();
    }
    mine[i] = NULL;
    mi_heap_destroy(heap);
}
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
