/*
 * adapt-malloc.c - the C library's malloc, or whatever replaces it in this
 * binary (jemalloc, tcmalloc): calloc, free, realloc.  There is no arena:
 * "free everything" is a free() of every block the driver holds.
 */
#include "bench.h"

#include <stdlib.h>
#include <string.h>

#ifndef BENCH_MALLOC_NAME
#  define BENCH_MALLOC_NAME "glibc"
#endif

static int token;

static void *m_create(void) { return &token; }
static void m_destroy(void *arena) { (void)arena; }
static void *m_zalloc(void *arena, size_t n) { (void)arena; return calloc(1, n ? n : 1); }
static void m_release(void *arena, void *p, size_t n) { (void)arena; (void)n; free(p); }

static void *m_resize(void *arena, void *p, size_t old, size_t n)
{
    (void)arena;
    char *q = realloc(p, n ? n : 1);
    if (q != NULL && n > old)
        memset(q + old, 0, n - old);
    return q;
}

const struct adapter bench_malloc = {
    BENCH_MALLOC_NAME, m_create, m_destroy, m_destroy, m_zalloc, m_release, m_resize, 1,
};
