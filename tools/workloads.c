/*
 * workloads.c - the named workloads; each builds its plan from the seed.
 *
 * Sizes and patterns are chosen to reproduce a situation, never to favour
 * a backend: both backends execute exactly the plan built here.  The man
 * page's WORKLOADS section describes each one; keep the two in step.
 */
#include "config.h"

#include "cymem-stat.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FAIL_NOMEM(err, errlen) \
    (snprintf((err), (errlen), "out of memory while building the plan"), -1)

/* Sizes of the blocks each slot holds, while a plan is being built. */
struct sizes {
    uint32_t *v;
    size_t n;
};

static int sizes_init(struct sizes *s, size_t n)
{
    s->v = calloc(n ? n : 1, sizeof *s->v);
    s->n = n;
    return s->v ? 0 : -1;
}

static void sizes_free(struct sizes *s)
{
    free(s->v);
    s->v = NULL;
}

/* A size with many small requests and a tail of larger ones. */
static uint32_t size_skewed(uint64_t *rng, uint32_t lo, uint32_t mid, uint32_t hi)
{
    return rng_next(rng) % 4 ? rng_range(rng, lo, mid) : rng_range(rng, mid, hi);
}

/* Fill slots [0, n) of scope 0 with blocks of size_skewed(lo, mid, hi). */
static int live_set_fill(struct plan *p, uint64_t *rng, struct sizes *sz, uint32_t n,
                         uint32_t lo, uint32_t mid, uint32_t hi)
{
    for (uint32_t i = 0; i < n; i++) {
        sz->v[i] = size_skewed(rng, lo, mid, hi);
        if (plan_alloc(p, 0, i, sz->v[i]) != 0)
            return -1;
    }
    return 0;
}

/* @steps times, free a random block of slots [0, n) and allocate a new one
 * in its place. */
static int live_set_replace(struct plan *p, uint64_t *rng, struct sizes *sz, uint32_t n,
                            uint64_t steps, uint32_t lo, uint32_t mid, uint32_t hi)
{
    for (uint64_t s = 0; s < steps; s++) {
        uint32_t slot = rng_range(rng, 0, n - 1);
        if (plan_free_block(p, 0, slot, sz->v[slot]) != 0)
            return -1;
        sz->v[slot] = size_skewed(rng, lo, mid, hi);
        if (plan_alloc(p, 0, slot, sz->v[slot]) != 0)
            return -1;
    }
    return 0;
}

/*
 * Allocate @count blocks through a window of @window live blocks: block i
 * goes to slot i % window after the block there is freed.  Then free what
 * is left, one by one or with one free-all (@free_all).
 */
static int build_window(struct plan *p, uint64_t *rng, uint64_t count,
                        uint32_t window, uint32_t lo, uint32_t mid, uint32_t hi,
                        unsigned align_shift, int free_all)
{
    struct sizes sz;
    if (window > count)
        window = (uint32_t)(count ? count : 1);
    if (sizes_init(&sz, window) != 0)
        return -1;
    for (uint64_t i = 0; i < count; i++) {
        uint32_t slot = (uint32_t)(i % window);
        uint32_t size = size_skewed(rng, lo, mid, hi);
        if (align_shift)
            size = (size + (1u << align_shift) - 1) & ~((1u << align_shift) - 1);
        if (i >= window) {
            if (plan_free_block(p, 0, slot, sz.v[slot]) != 0)
                goto nomem;
        }
        int rc = align_shift ? plan_aligned(p, 0, slot, size, align_shift)
                             : plan_alloc(p, 0, slot, size);
        if (rc != 0)
            goto nomem;
        sz.v[slot] = size;
    }
    if (free_all) {
        if (plan_free_rest(p, 0, 0, window) != 0)
            goto nomem;
    } else {
        for (uint32_t s = 0; s < window && s < count; s++)
            if (plan_free_block(p, 0, s, sz.v[s]) != 0)
                goto nomem;
    }
    sizes_free(&sz);
    return 0;
nomem:
    sizes_free(&sz);
    return -1;
}

/* ---- prealloc (brief 4.1) ------------------------------------------------ */

static int build_prealloc(const struct workload *w, const struct params *pr,
                          struct plan *plans, unsigned *nplans, char *err, size_t errlen)
{
    uint64_t rng = pr->seed, count = workload_count(w, pr);
    struct plan *p = &plans[0];
    enum { PRE = 64, RING = 4, LO = 256, HI = 16384 };
    *nplans = 1;
    /* Reserve: allocate buffers of every size the loop will use, free them. */
    for (uint32_t i = 0; i < PRE; i++)
        if (plan_alloc(p, 0, i, LO + (HI - LO) / (PRE - 1) * i) != 0)
            return FAIL_NOMEM(err, errlen);
    for (uint32_t i = 0; i < PRE; i++)
        if (plan_free_block(p, 0, i, LO + (HI - LO) / (PRE - 1) * i) != 0)
            return FAIL_NOMEM(err, errlen);
    /* Reuse: one buffer per chunk, at most RING in flight. */
    if (build_window(p, &rng, count, RING, LO, HI / 4, HI, 0, 0) != 0)
        return FAIL_NOMEM(err, errlen);
    return plan_finish(p) ? FAIL_NOMEM(err, errlen) : 0;
}

/* ---- floats (brief 5.2) -------------------------------------------------- */

static int build_floats(const struct workload *w, const struct params *pr,
                        struct plan *plans, unsigned *nplans, char *err, size_t errlen)
{
    uint64_t n = workload_count(w, pr);
    struct plan *p = &plans[0];
    *nplans = 1;
    if (n > UINT32_MAX / sizeof(float)) {
        snprintf(err, errlen, "floats: at most %zu floats", UINT32_MAX / sizeof(float));
        return -1;
    }
    if (plan_alloc(p, 0, 0, (uint32_t)(n * sizeof(float))) != 0 ||
        plan_other(p, OP_FLOATS, 0, (uint32_t)n, 2 * n) != 0 ||
        plan_free_block(p, 0, 0, (uint32_t)(n * sizeof(float))) != 0 ||
        plan_finish(p) != 0)
        return FAIL_NOMEM(err, errlen);
    return 0;
}

/* ---- threads (brief 4.2) ------------------------------------------------- */

static int build_threads(const struct workload *w, const struct params *pr,
                         struct plan *plans, unsigned *nplans, char *err, size_t errlen)
{
    uint64_t count = workload_count(w, pr);
    *nplans = pr->threads;
    for (unsigned t = 0; t < pr->threads; t++) {
        uint64_t rng = pr->seed ^ (0x5851F42D4C957F2Dull * (t + 1));
        if (build_window(&plans[t], &rng, count, 1000, 16, 128, 1024, 0, 1) != 0 ||
            plan_finish(&plans[t]) != 0)
            return FAIL_NOMEM(err, errlen);
    }
    return 0;
}

/* ---- server (brief 1.2, long-running services) --------------------------- */

static int build_server(const struct workload *w, const struct params *pr,
                        struct plan *plans, unsigned *nplans, char *err, size_t errlen)
{
    enum { LONG = 20000, MAXREQ = 400, TURNOVER = 20 };
    uint64_t rng = pr->seed, requests = workload_count(w, pr);
    struct plan *p = &plans[0];
    struct sizes sz;
    *nplans = 1;
    if (sizes_init(&sz, LONG + MAXREQ) != 0)
        return FAIL_NOMEM(err, errlen);
    /* The long-lived objects: caches, sessions, configuration. */
    if (live_set_fill(p, &rng, &sz, LONG, 32, 256, 1024) != 0)
        goto nomem;
    for (uint64_t r = 0; r < requests; r++) {
        uint32_t k = rng_range(&rng, 50, MAXREQ);
        uint64_t blocks = 0, bytes = 0;
        for (uint32_t j = 0; j < k; j++) {
            uint32_t slot = LONG + j;
            uint32_t roll = (uint32_t)(rng_next(&rng) % 100);
            sz.v[slot] = roll < 70 ? rng_range(&rng, 16, 256)
                       : roll < 95 ? rng_range(&rng, 257, 2048)
                                   : rng_range(&rng, 2049, 16384);
            if (plan_alloc(p, 1, slot, sz.v[slot]) != 0)
                goto nomem;
            blocks++;
            bytes += sz.v[slot];
            /* Now and then a request drops a temporary before it ends. */
            if (j > 0 && rng_next(&rng) % 5 == 0) {
                uint32_t victim = LONG + rng_range(&rng, 0, j - 1);
                if (sz.v[victim] != UINT32_MAX) {
                    if (plan_free_block(p, 1, victim, sz.v[victim]) != 0)
                        goto nomem;
                    blocks--;
                    bytes -= sz.v[victim];
                    sz.v[victim] = UINT32_MAX;
                }
            }
        }
        /* The request ends: everything it allocated goes at once. */
        if (plan_free_all(p, 1, LONG, LONG + k, blocks, bytes) != 0)
            goto nomem;
        /* Between requests some long-lived objects are replaced. */
        if (live_set_replace(p, &rng, &sz, LONG, TURNOVER, 32, 256, 1024) != 0)
            goto nomem;
    }
    if (plan_free_rest(p, 0, 0, LONG) != 0)
        goto nomem;
    sizes_free(&sz);
    return plan_finish(p) ? FAIL_NOMEM(err, errlen) : 0;
nomem:
    sizes_free(&sz);
    return FAIL_NOMEM(err, errlen);
}

/* ---- small ----------------------------------------------------------------- */

static int build_small(const struct workload *w, const struct params *pr,
                       struct plan *plans, unsigned *nplans, char *err, size_t errlen)
{
    uint64_t rng = pr->seed, count = workload_count(w, pr);
    struct plan *p = &plans[0];
    *nplans = 1;
    if (count > UINT32_MAX - 1) {
        snprintf(err, errlen, "small: too many allocations");
        return -1;
    }
    for (uint32_t i = 0; i < count; i++)
        if (plan_alloc(p, 0, i, rng_range(&rng, 8, 128)) != 0)
            return FAIL_NOMEM(err, errlen);
    if (plan_free_rest(p, 0, 0, (uint32_t)count) != 0 ||
        plan_finish(p) != 0)
        return FAIL_NOMEM(err, errlen);
    return 0;
}

/* ---- churn ----------------------------------------------------------------- */

static int build_churn(const struct workload *w, const struct params *pr,
                       struct plan *plans, unsigned *nplans, char *err, size_t errlen)
{
    enum { LIVE = 10000 };
    uint64_t rng = pr->seed, steps = workload_count(w, pr);
    struct plan *p = &plans[0];
    struct sizes sz;
    *nplans = 1;
    if (sizes_init(&sz, LIVE) != 0)
        return FAIL_NOMEM(err, errlen);
    /* Each step frees a random live block and allocates a new one. */
    int rc = live_set_fill(p, &rng, &sz, LIVE, 16, 128, 1024) != 0 ||
             live_set_replace(p, &rng, &sz, LIVE, steps, 16, 128, 1024) != 0 ||
             plan_free_rest(p, 0, 0, LIVE) != 0 || plan_finish(p) != 0;
    sizes_free(&sz);
    return rc ? FAIL_NOMEM(err, errlen) : 0;
}

/* ---- realloc --------------------------------------------------------------- */

static int build_realloc(const struct workload *w, const struct params *pr,
                         struct plan *plans, unsigned *nplans, char *err, size_t errlen)
{
    enum { BUFFERS = 64, CAP = 128 << 10 };
    uint64_t rng = pr->seed, count = workload_count(w, pr);
    struct plan *p = &plans[0];
    uint32_t sz[BUFFERS];
    *nplans = 1;
    for (uint32_t b = 0; b < BUFFERS; b++) {
        sz[b] = rng_range(&rng, 16, 64);
        if (plan_alloc(p, 0, b, sz[b]) != 0)
            return FAIL_NOMEM(err, errlen);
    }
    /* A buffer grows by about half each time; at the cap it is dropped and
     * a new small one takes its place. */
    for (uint64_t i = 0; i < count; i++) {
        uint32_t b = rng_range(&rng, 0, BUFFERS - 1);
        uint32_t grown = sz[b] + sz[b] / 2 + rng_range(&rng, 0, 15);
        if (grown > CAP) {
            if (plan_free_block(p, 0, b, sz[b]) != 0)
                return FAIL_NOMEM(err, errlen);
            sz[b] = rng_range(&rng, 16, 64);
            if (plan_alloc(p, 0, b, sz[b]) != 0)
                return FAIL_NOMEM(err, errlen);
            continue;
        }
        if (plan_realloc(p, 0, b, sz[b], grown) != 0)
            return FAIL_NOMEM(err, errlen);
        sz[b] = grown;
    }
    if (plan_free_rest(p, 0, 0, BUFFERS) != 0 || plan_finish(p) != 0)
        return FAIL_NOMEM(err, errlen);
    return 0;
}

/* ---- aligned (brief 6.1) --------------------------------------------------- */

static int build_aligned(const struct workload *w, const struct params *pr,
                         struct plan *plans, unsigned *nplans, char *err, size_t errlen)
{
    uint64_t rng = pr->seed, count = workload_count(w, pr);
    struct plan *p = &plans[0];
    *nplans = 1;
    if (build_window(p, &rng, count, 1000, 64, 1024, 8192, 6, 1) != 0 ||
        plan_finish(p) != 0)
        return FAIL_NOMEM(err, errlen);
    return 0;
}

/* ---- the table ------------------------------------------------------------- */

const struct workload workloads[] = {
    { "prealloc", "preallocate buffers, then reuse them chunk after chunk (brief 4.1)",
      10000, "allocations after the preallocation", 1, build_prealloc },
    { "floats", "a million float operations in one allocated array (brief 5.2)",
      1000000, "floats in the array", 1, build_floats },
    { "threads", "one pool per thread, every thread allocating (brief 4.2)",
      200000, "allocations per thread", 1, build_threads },
    { "server", "per-request pools among long-lived objects (brief 1.2)",
      2000, "requests", 1, build_server },
    { "small", "a million small zero-filled allocations, then free-all",
      1000000, "allocations", 1, build_small },
    { "churn", "random free and alloc around a steady live set of 10,000",
      1000000, "free+alloc steps", 1, build_churn },
    { "realloc", "64 buffers growing by half until 128 KiB, then replaced",
      50000, "resizes", 1, build_realloc },
    { "aligned", "64-byte aligned blocks of 64 B to 8 KiB (brief 6.1)",
      200000, "allocations", 1, build_aligned },
    { "replay", "a recorded mtrace log: cymem-stat replay FILE",
      0, "the trace's operations", 0, NULL },
};
const size_t nworkloads = sizeof workloads / sizeof workloads[0];

const struct workload *workload_find(const char *name)
{
    for (size_t i = 0; i < nworkloads; i++)
        if (strcmp(workloads[i].name, name) == 0)
            return &workloads[i];
    return NULL;
}

uint64_t workload_count(const struct workload *w, const struct params *pr)
{
    if (pr->iterations)
        return pr->iterations;
    double c = floor((double)w->default_count * pr->scale + 0.5);
    return c < 1 ? 1 : (uint64_t)c;
}
