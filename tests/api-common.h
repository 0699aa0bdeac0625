/*
 * api-common.h - helpers shared by the Check programs of the API contract:
 * a counting (and optionally failing) backing allocator, and a snapshot
 * of a pool (stats and the set of live blocks) to show that a refused call
 * changed nothing.
 */
#ifndef API_COMMON_H
#define API_COMMON_H

#include <check.h>
#include <cymem.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct counting {
    unsigned long calls, frees;
    unsigned long fail_at;      /* fail the n-th request; 0: never */
    size_t live;                /* bytes handed out and not given back */
    int bad_size;               /* a free did not get the size asked */
};

/* Each allocation is preceded by its size, to check what free is told. */
static void *count_malloc(size_t size, void *ctx)
{
    struct counting *c = ctx;
    if (++c->calls == c->fail_at)
        return NULL;
    size_t *p = malloc(size + 16);
    if (p == NULL)
        return NULL;
    p[0] = size;
    c->live += size;
    return (char *)p + 16;
}

static void count_free(void *ptr, size_t size, void *ctx)
{
    struct counting *c = ctx;
    size_t *p = (size_t *)((char *)ptr - 16);
    if (p[0] != size)
        c->bad_size = 1;
    c->frees++;
    c->live -= size;
    free(p);
}

static cymem_pool *counted_pool(struct counting *c, cymem_allocator *a, cymem_pool *parent)
{
    cymem_pool_options o = { a, parent, 0, 0 };
    memset(c, 0, sizeof *c);
    a->malloc = count_malloc;
    a->free = count_free;
    a->ctx = c;
    return cymem_pool_new_ex(&o);
}

/* What a pool looks like from outside: its stats and its live blocks. */
#define SNAP_MAX 4096
struct snapshot {
    cymem_stats st;
    size_t n;
    void *p[SNAP_MAX];
    size_t size[SNAP_MAX];
};

static int snap_cb(void *p, size_t size, void *ctx)
{
    struct snapshot *s = ctx;
    if (s->n < SNAP_MAX) {
        s->p[s->n] = p;
        s->size[s->n] = size;
    }
    s->n++;
    return 0;
}

static void snapshot(const cymem_pool *pool, struct snapshot *s)
{
    memset(s, 0, sizeof *s);
    ck_assert_int_eq(cymem_pool_stats(pool, &s->st), 0);
    ck_assert_int_eq(cymem_pool_foreach(pool, snap_cb, s), 0);
}

/* foreach visits blocks in no particular order: compare sorted lists. */
static void snap_sort(struct snapshot *s)
{
    size_t n = s->n < SNAP_MAX ? s->n : SNAP_MAX;
    for (size_t i = 1; i < n; i++)
        for (size_t j = i; j > 0 && (uintptr_t)s->p[j - 1] > (uintptr_t)s->p[j]; j--) {
            void *tp = s->p[j];
            size_t ts = s->size[j];
            s->p[j] = s->p[j - 1];
            s->size[j] = s->size[j - 1];
            s->p[j - 1] = tp;
            s->size[j - 1] = ts;
        }
}

static void assert_same(struct snapshot *a, struct snapshot *b)
{
    ck_assert(memcmp(&a->st, &b->st, sizeof a->st) == 0);
    ck_assert_uint_eq(a->n, b->n);
    snap_sort(a);
    snap_sort(b);
    for (size_t i = 0; i < a->n && i < SNAP_MAX; i++) {
        ck_assert_ptr_eq(a->p[i], b->p[i]);
        ck_assert_uint_eq(a->size[i], b->size[i]);
    }
}

static int all_zero(const void *p, size_t n)
{
    const unsigned char *q = p;
    for (size_t i = 0; i < n; i++)
        if (q[i] != 0)
            return 0;
    return 1;
}

/* Run a suite; the exit status says whether every test passed. */
static int run_suite(Suite *s)
{
    SRunner *r = srunner_create(s);
    srunner_run_all(r, CK_NORMAL);
    int failed = srunner_ntests_failed(r);
    srunner_free(r);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

#endif /* API_COMMON_H */
