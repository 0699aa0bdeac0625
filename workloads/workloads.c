/*
 * workloads.c - the named workloads; each builds its plans from the seed.
 *
 * Sizes and patterns are chosen to reproduce a situation, never to favour
 * an allocator: every allocator executes exactly the plans built here, in
 * cymem-stat and in the benchmark alike.  The man page cymem-stat(1)
 * (WORKLOADS) and doc/performance.md describe each one; keep them in step.
 */
#include "config.h"

#include "workload.h"

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

/* The seed of @w's sizes: its own, moved by --seed. */
static uint64_t seed_of(const struct workload *w, const struct params *pr)
{
    return w->seed + pr->seed - 1;
}

/* 90% 16..256 B, 9% up to 4 KiB, 1% up to 32 KiB. */
static uint32_t mixed_size(uint64_t *rng)
{
    unsigned r = (unsigned)(rng_next(rng) % 100);
    if (r < 90)
        return rng_range(rng, 16, 256);
    if (r < 99)
        return rng_range(rng, 257, 4096);
    return rng_range(rng, 4097, 32768);
}

static int too_many(const char *name, uint64_t n, char *err, size_t errlen)
{
    if (n <= UINT32_MAX / 2)
        return 0;
    snprintf(err, errlen, "%s: too many blocks", name);
    return 1;
}

/* @n blocks of 16..256 B in slots [0, n) of scope 0. */
static int alloc_small(struct plan *p, uint64_t *rng, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++)
        if (plan_alloc(p, 0, i, rng_range(rng, 16, 256)) != 0)
            return -1;
    return 0;
}

/* ---- small, small-free, destroy -------------------------------------------- */

/* @count small blocks, then the arena is destroyed; with @clocked only
 * the destruction is timed. */
static int small_then_drop(const struct workload *w, const struct params *pr,
                           struct plan *plans, unsigned *nplans, char *err, size_t errlen,
                           int clocked)
{
    uint64_t rng = seed_of(w, pr), n = workload_count(w, pr);
    struct plan *p = &plans[0];
    *nplans = 1;
    if (too_many(w->name, n, err, errlen))
        return -1;
    if (alloc_small(p, &rng, (uint32_t)n) != 0 || (clocked && plan_clock(p) != 0) ||
        plan_drop(p, 0, 0, (uint32_t)n) != 0 || plan_finish(p) != 0)
        return FAIL_NOMEM(err, errlen);
    return 0;
}

static int build_small(const struct workload *w, const struct params *pr,
                       struct plan *plans, unsigned *nplans, char *err, size_t errlen)
{
    return small_then_drop(w, pr, plans, nplans, err, errlen, 0);
}

/* The same blocks freed one by one, in a shuffled order. */
static int build_small_free(const struct workload *w, const struct params *pr,
                            struct plan *plans, unsigned *nplans, char *err, size_t errlen)
{
    uint64_t rng = seed_of(w, pr), n = workload_count(w, pr);
    struct plan *p = &plans[0];
    *nplans = 1;
    if (too_many(w->name, n, err, errlen))
        return -1;
    uint32_t *sz = calloc(n, sizeof *sz), *order = calloc(n, sizeof *order);
    int rc = sz == NULL || order == NULL;
    for (uint32_t i = 0; i < n && !rc; i++) {
        sz[i] = rng_range(&rng, 16, 256);
        order[i] = i;
    }
    for (uint32_t i = (uint32_t)n - 1; i > 0 && !rc; i--) {
        uint32_t j = rng_range(&rng, 0, i), t = order[i];
        order[i] = order[j];
        order[j] = t;
    }
    for (uint32_t i = 0; i < n && !rc; i++)
        rc = plan_alloc(p, 0, i, sz[i]);
    for (uint32_t k = 0; k < n && !rc; k++)
        rc = plan_free_block(p, 0, order[k], sz[order[k]]);
    if (!rc)
        rc = plan_drop(p, 0, 0, 0) != 0 || plan_finish(p) != 0;
    free(sz);
    free(order);
    return rc ? FAIL_NOMEM(err, errlen) : 0;
}

/* What a free-all costs: only the destruction of an arena of small
 * blocks is timed. */
static int build_destroy(const struct workload *w, const struct params *pr,
                         struct plan *plans, unsigned *nplans, char *err, size_t errlen)
{
    return small_then_drop(w, pr, plans, nplans, err, errlen, 1);
}

/* ---- prealloc (brief 4.1) ------------------------------------------------ */

/* The brief's preallocate-and-reuse: 10,000 mixed blocks, then free-all
 * keeping the arena, @count times over with the same sizes. */
static int build_prealloc(const struct workload *w, const struct params *pr,
                          struct plan *plans, unsigned *nplans, char *err, size_t errlen)
{
    enum { N = 10000 };
    uint64_t rng = seed_of(w, pr), rounds = workload_count(w, pr);
    struct plan *p = &plans[0];
    *nplans = 1;
    plan_section(p);
    for (uint32_t i = 0; i < N; i++)
        if (plan_alloc(p, 0, i, mixed_size(&rng)) != 0)
            return FAIL_NOMEM(err, errlen);
    if (plan_free_rest(p, 0, 0, N) != 0 || plan_repeat(p, rounds) != 0 ||
        plan_drop(p, 0, 0, 0) != 0 || plan_finish(p) != 0)
        return FAIL_NOMEM(err, errlen);
    return 0;
}

/* ---- churn ----------------------------------------------------------------- */

/* 100,000 live mixed blocks; each step frees a random one and allocates a
 * new one of a new size in its place. */
static int build_churn(const struct workload *w, const struct params *pr,
                       struct plan *plans, unsigned *nplans, char *err, size_t errlen)
{
    enum { LIVE = 100000 };
    uint64_t rng = seed_of(w, pr), steps = workload_count(w, pr);
    struct plan *p = &plans[0];
    struct sizes sz;
    *nplans = 1;
    if (sizes_init(&sz, LIVE) != 0)
        return FAIL_NOMEM(err, errlen);
    int rc = 0;
    for (uint32_t i = 0; i < LIVE && !rc; i++)
        rc = plan_alloc(p, 0, i, sz.v[i] = mixed_size(&rng));
    for (uint64_t k = 0; k < steps && !rc; k++) {
        uint32_t i = rng_range(&rng, 0, LIVE - 1);
        rc = plan_free_block(p, 0, i, sz.v[i]) != 0 ||
             plan_alloc(p, 0, i, sz.v[i] = mixed_size(&rng)) != 0;
    }
    if (!rc)
        rc = plan_drop(p, 0, 0, LIVE) != 0 || plan_finish(p) != 0;
    sizes_free(&sz);
    return rc ? FAIL_NOMEM(err, errlen) : 0;
}

/* ---- server (brief 1.2) ------------------------------------------------------ */

/* Per request an arena of 200 blocks of 16..512 B, destroyed at the end
 * of the request; one block in 100 outlives it in the long-lived arena
 * (copied there; malloc simply does not free it).  The requests cycle
 * through 64 patterns of sizes, so the plan holds 64 requests, repeated. */
enum { SRV_PER = 200, SRV_KEEP_EVERY = 100, SRV_PATTERNS = 64 };

static int server_requests(struct plan *p, const uint32_t *sz, uint64_t n)
{
    for (uint64_t q = 0; q < n; q++) {
        const uint32_t *s = &sz[q % SRV_PATTERNS * SRV_PER];
        uint64_t bytes = 0;
        for (uint32_t i = 0; i < SRV_PER; i++) {
            if (plan_alloc(p, 1, i, s[i]) != 0)
                return -1;
            bytes += s[i];
        }
        for (uint32_t i = 0; i < SRV_PER; i += SRV_KEEP_EVERY)
            if (plan_keep(p, i, s[i], SRV_PER) != 0)
                return -1;
        if (plan_drop_blocks(p, 1, 0, SRV_PER, SRV_PER - SRV_PER / SRV_KEEP_EVERY,
                             bytes) != 0)
            return -1;
    }
    return 0;
}

static int build_server(const struct workload *w, const struct params *pr,
                        struct plan *plans, unsigned *nplans, char *err, size_t errlen)
{
    uint64_t rng = seed_of(w, pr), reqs = workload_count(w, pr);
    uint64_t kept = reqs * (SRV_PER / SRV_KEEP_EVERY);
    struct plan *p = &plans[0];
    uint32_t sz[SRV_PER * SRV_PATTERNS];
    *nplans = 1;
    if (too_many(w->name, kept, err, errlen))
        return -1;
    for (size_t i = 0; i < SRV_PER * SRV_PATTERNS; i++)
        sz[i] = rng_range(&rng, 16, 512);
    plan_section(p);
    if ((reqs >= SRV_PATTERNS && (server_requests(p, sz, SRV_PATTERNS) != 0 ||
                                  plan_repeat(p, reqs / SRV_PATTERNS) != 0)) ||
        server_requests(p, sz, reqs % SRV_PATTERNS) != 0 ||
        plan_drop(p, 0, SRV_PER, SRV_PER + (uint32_t)kept) != 0 || plan_finish(p) != 0)
        return FAIL_NOMEM(err, errlen);
    return 0;
}

/* ---- realloc --------------------------------------------------------------- */

/* 64 buffers doubling from 16 B to 1 MiB, round robin, @count times. */
static int build_realloc(const struct workload *w, const struct params *pr,
                         struct plan *plans, unsigned *nplans, char *err, size_t errlen)
{
    enum { BUFS = 64, STEPS = 16 };
    uint64_t rounds = workload_count(w, pr);
    struct plan *p = &plans[0];
    int rc = 0;
    *nplans = 1;
    plan_section(p);
    for (uint32_t b = 0; b < BUFS && !rc; b++)
        rc = plan_alloc(p, 0, b, 16);
    for (unsigned s = 1; s <= STEPS; s++)
        for (uint32_t b = 0; b < BUFS && !rc; b++)
            rc = plan_realloc(p, 0, b, (uint64_t)16 << (s - 1), (uint64_t)16 << s);
    for (uint32_t b = 0; b < BUFS && !rc; b++)
        rc = plan_free_block(p, 0, b, (uint64_t)16 << STEPS);
    if (rc || plan_repeat(p, rounds) != 0 || plan_drop(p, 0, 0, 0) != 0 ||
        plan_finish(p) != 0)
        return FAIL_NOMEM(err, errlen);
    return 0;
}

/* ---- threads (brief 4.2) ------------------------------------------------- */

/* One arena per thread: @count small blocks, free-all, 10 rounds. */
static int build_threads(const struct workload *w, const struct params *pr,
                         struct plan *plans, unsigned *nplans, char *err, size_t errlen)
{
    uint64_t n = workload_count(w, pr);
    *nplans = pr->threads;
    if (too_many(w->name, n, err, errlen))
        return -1;
    for (unsigned t = 0; t < pr->threads; t++) {
        uint64_t rng = seed_of(w, pr) + t;
        struct plan *p = &plans[t];
        plan_section(p);
        if (alloc_small(p, &rng, (uint32_t)n) != 0 || plan_free_rest(p, 0, 0, (uint32_t)n) != 0 ||
            plan_repeat(p, 10) != 0 || plan_drop(p, 0, 0, 0) != 0 || plan_finish(p) != 0)
            return FAIL_NOMEM(err, errlen);
    }
    return 0;
}

/* ---- shared, shared-xfree (shared pools) ------------------------------------ */

/*
 * Every thread keeps SH_LIVE live blocks of 16..256 B in scope 0, which
 * the threads may share: round after round it frees each of them, in an
 * order shuffled anew every round, and allocates one of a new size in its
 * place at once; @count steps (a free and an allocation) per thread, in
 * whole rounds, then the last blocks are freed and the arena dropped
 * (empty).  The plan holds SH_PATTERNS rounds, repeated.  With @xfree,
 * every other free hands the block to the next thread instead, which
 * frees it at its next drain (every SH_DRAIN_EVERY steps): half of the
 * frees come from another thread.
 */
enum { SH_LIVE = 1000, SH_PATTERNS = 16, SH_DRAIN_EVERY = 32 };

struct sh_round {
    uint32_t size[SH_LIVE];   /* of the block each slot gets */
    uint32_t order[SH_LIVE];  /* the order of the slots */
};

/* Free slot @s (of @size bytes), the @k-th free of the plan. */
static int sh_free(struct plan *p, int xfree, uint64_t k, uint32_t s, uint32_t size)
{
    return xfree && k % 2 ? plan_handoff(p, s, size) : plan_free_block(p, 0, s, size);
}

/* Round @r of @rounds: every slot freed and allocated again; the slots
 * held the sizes of round @prev. */
static int sh_round(struct plan *p, int xfree, const struct sh_round *rounds, unsigned r,
                    unsigned prev)
{
    for (uint32_t k = 0; k < SH_LIVE; k++) {
        uint32_t s = rounds[r].order[k];
        if (sh_free(p, xfree, k, s, rounds[prev].size[s]) != 0 ||
            plan_alloc(p, 0, s, rounds[r].size[s]) != 0 ||
            (xfree && (k + 1) % SH_DRAIN_EVERY == 0 && plan_drain(p, 0) != 0))
            return -1;
    }
    return 0;
}

static int shared_plan(struct plan *p, uint64_t *rng, uint64_t rounds, int xfree)
{
    unsigned np = rounds < SH_PATTERNS ? (unsigned)rounds : SH_PATTERNS;
    unsigned rest = (unsigned)(rounds % np), last = rest ? rest - 1 : np - 1;
    struct sh_round *pat = calloc(np, sizeof *pat);
    int rc = pat == NULL;
    for (unsigned r = 0; r < np && !rc; r++) {
        for (uint32_t i = 0; i < SH_LIVE; i++) {
            pat[r].size[i] = rng_range(rng, 16, 256);
            pat[r].order[i] = i;
        }
        for (uint32_t i = SH_LIVE - 1; i > 0; i--) {
            uint32_t j = rng_range(rng, 0, i), t = pat[r].order[i];
            pat[r].order[i] = pat[r].order[j];
            pat[r].order[j] = t;
        }
    }
    p->shares_arena = 1;
    /* The slots start with the sizes of the pattern's last round, which
     * the first round frees, in every repetition. */
    for (uint32_t i = 0; i < SH_LIVE && !rc; i++)
        rc = plan_alloc(p, 0, i, pat[np - 1].size[i]);
    if (!rc)
        plan_section(p);
    for (unsigned r = 0; r < np && !rc; r++)
        rc = sh_round(p, xfree, pat, r, r ? r - 1 : np - 1);
    if (!rc)
        rc = plan_repeat(p, rounds / np);
    for (unsigned r = 0; r < rest && !rc; r++)
        rc = sh_round(p, xfree, pat, r, r ? r - 1 : np - 1);
    for (uint32_t i = 0; i < SH_LIVE && !rc; i++)
        rc = sh_free(p, xfree, i, i, pat[last].size[i]);
    if (!rc && xfree)
        rc = plan_drain(p, 1);
    if (!rc)
        rc = plan_drop(p, 0, 0, 0) != 0 || plan_finish(p) != 0;
    free(pat);
    return rc;
}

static int shared_plans(const struct workload *w, const struct params *pr,
                        struct plan *plans, unsigned *nplans, char *err, size_t errlen,
                        int xfree)
{
    uint64_t steps = workload_count(w, pr);
    uint64_t rounds = steps / SH_LIVE + (steps % SH_LIVE != 0);
    *nplans = pr->threads;
    if (xfree && pr->threads < 2) {
        snprintf(err, errlen, "%s: needs two threads or more (--threads)", w->name);
        return -1;
    }
    for (unsigned t = 0; t < pr->threads; t++) {
        uint64_t rng = seed_of(w, pr) + t;
        if (shared_plan(&plans[t], &rng, rounds, xfree) != 0)
            return FAIL_NOMEM(err, errlen);
    }
    return 0;
}

static int build_shared(const struct workload *w, const struct params *pr,
                        struct plan *plans, unsigned *nplans, char *err, size_t errlen)
{
    return shared_plans(w, pr, plans, nplans, err, errlen, 0);
}

static int build_shared_xfree(const struct workload *w, const struct params *pr,
                              struct plan *plans, unsigned *nplans, char *err, size_t errlen)
{
    return shared_plans(w, pr, plans, nplans, err, errlen, 1);
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
    /* The array goes with the arena (freed on its own where there is no
     * arena): an allocator without a free of one block runs it too. */
    if (plan_alloc(p, 0, 0, (uint32_t)(n * sizeof(float))) != 0 ||
        plan_other(p, OP_FLOATS, 0, (uint32_t)n, 2 * n) != 0 ||
        plan_drop(p, 0, 0, 1) != 0 || plan_finish(p) != 0)
        return FAIL_NOMEM(err, errlen);
    return 0;
}

/* ---- aligned (brief 6.1) --------------------------------------------------- */

static int build_aligned(const struct workload *w, const struct params *pr,
                         struct plan *plans, unsigned *nplans, char *err, size_t errlen)
{
    uint64_t rng = seed_of(w, pr), count = workload_count(w, pr);
    struct plan *p = &plans[0];
    *nplans = 1;
    if (build_window(p, &rng, count, 1000, 64, 1024, 8192, 6, 1) != 0 ||
        plan_drop(p, 0, 0, 0) != 0 || plan_finish(p) != 0)
        return FAIL_NOMEM(err, errlen);
    return 0;
}

/* ---- the table ------------------------------------------------------------- */

const struct workload workloads[] = {
    { "small", "a million small zero-filled blocks, then free-all",
      1000000, "blocks", 1, 0, 1, build_small, 0 },
    { "small-free", "the same blocks, each freed on its own in a shuffled order",
      1000000, "blocks", 1, NEEDS_RELEASE, 2, build_small_free, 0 },
    { "prealloc", "10,000 mixed blocks, then free-all keeping the arena",
      200, "rounds", 1, 0, 3, build_prealloc, 0 },
    { "churn", "random free and alloc around a steady live set of 100,000",
      1000000, "free+alloc steps", 1, NEEDS_RELEASE, 4, build_churn, 0 },
    { "server", "an arena per request, 1% of its blocks kept",
      100000, "requests", 1, 0, 5, build_server, 0 },
    { "realloc", "64 buffers doubling from 16 B to 1 MiB, round robin",
      8, "rounds", 1, NEEDS_RELEASE | NEEDS_RESIZE, 6, build_realloc, 0 },
    { "threads", "an arena per thread, small blocks, 10 rounds",
      100000, "blocks per thread and round", 1, 0, 6, build_threads, 0 },
    { "destroy", "a million small blocks; only the free-all is timed",
      1000000, "blocks", 0, 0, 7, build_destroy, 0 },
    { "floats", "a million float operations in one allocated array",
      1000000, "floats in the array", 1, 0, 8, build_floats, 0 },
    { "aligned", "64-byte aligned blocks of 64 B to 8 KiB",
      200000, "allocations", 1, NEEDS_ALIGNED, 9, build_aligned, 0 },
    { "shared", "threads on one arena: 1,000 live small blocks each, own frees",
      1000000, "free+alloc steps per thread", 0, NEEDS_RELEASE, 10, build_shared, 1 },
    { "shared-xfree", "the same, half of the frees by the next thread",
      1000000, "free+alloc steps per thread", 0, NEEDS_RELEASE | NEEDS_THREADSAFE, 11,
      build_shared_xfree, 1 },
    { "replay", "a recorded mtrace log: cymem-stat replay FILE",
      0, "the trace's operations", 0, 0, 0, NULL, 0 },
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

const char *workload_not_applicable(const struct workload *w, const struct adapter *a)
{
    if ((w->needs & NEEDS_RESIZE) && a->resize == NULL)
        return "no resize of a block";
    if ((w->needs & NEEDS_RELEASE) && a->release == NULL)
        return "no free of one block";
    if ((w->needs & NEEDS_ALIGNED) && a->aligned == NULL)
        return "no aligned allocation";
    if ((w->needs & NEEDS_THREADSAFE) && !a->threadsafe)
        return "no free of a block by another thread than its arena's";
    if (a->shared && !w->shares_arena)
        return "one arena for all threads: the shared workloads only";
    return NULL;
}
