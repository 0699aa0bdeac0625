/*
 * driver.c - run one workload against one allocator, once, and print one
 * JSON line with what it cost.
 *
 *   bench [--verify] [--scale S] ALLOCATOR WORKLOAD
 *   bench --list
 *
 * Every run is a fresh process (bench/run-bench starts them, alternating
 * allocators round by round).  Sizes and indices are generated from fixed
 * seeds before the clock starts, so the allocator under test does nothing
 * but allocate.  Every block is written at both ends, as a program would.
 * With --verify, every block is checked to be zero when handed out and to
 * keep its contents until it is freed; nothing is timed.
 */
#include "bench.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

/* ---- deterministic inputs ---------------------------------------------- */

static uint64_t rng_next(uint64_t *s)
{
    uint64_t x = *s += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

static size_t rng_range(uint64_t *s, size_t lo, size_t hi)
{
    return lo + (size_t)(rng_next(s) % (hi - lo + 1));
}

/* 90% 16..256 B, 9% up to 4 KiB, 1% up to 32 KiB. */
static size_t mixed_size(uint64_t *s)
{
    unsigned r = (unsigned)(rng_next(s) % 100);
    if (r < 90)
        return rng_range(s, 16, 256);
    if (r < 99)
        return rng_range(s, 257, 4096);
    return rng_range(s, 4097, 32768);
}

static void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n, size);
    if (p == NULL) {
        fprintf(stderr, "bench: out of memory for the inputs\n");
        exit(2);
    }
    return p;
}

/* ---- the run ----------------------------------------------------------- */

struct run {
    const struct adapter *a;
    int verify;
    double scale;
    unsigned threads;
    /* results */
    uint64_t ops;
    size_t live, peak_live;   /* requested bytes */
    const char *na;           /* why the workload does not apply */
    int failed;
};

static void fail(struct run *r, const char *what)
{
    if (!r->failed)
        fprintf(stderr, "bench: %s: %s\n", r->a->name, what);
    r->failed = 1;
}

static size_t scaled(const struct run *r, size_t n)
{
    size_t v = (size_t)((double)n * r->scale);
    return v ? v : 1;
}

static uint8_t pattern(size_t slot) { return (uint8_t)(slot * 131 + 7); }

/* A new block for @slot: checked zero (verify), written, counted. */
static void *get(struct run *r, void *arena, size_t n, size_t slot)
{
    unsigned char *p = r->a->zalloc(arena, n);
    if (p == NULL) {
        fail(r, "allocation failed");
        return NULL;
    }
    if (r->verify) {
        for (size_t i = 0; i < n; i++)
            if (p[i] != 0) {
                fail(r, "block not zero-filled");
                break;
            }
        memset(p, pattern(slot), n);
    } else if (n) {
        p[0] = 1;
        p[n - 1] = 1;
    }
    r->ops++;
    r->live += n;
    if (r->live > r->peak_live)
        r->peak_live = r->live;
    return p;
}

/* Check a block still holds what get() wrote (verify only). */
static void check(struct run *r, const void *p, size_t n, size_t slot)
{
    const unsigned char *q = p;
    if (!r->verify)
        return;
    for (size_t i = 0; i < n; i++)
        if (q[i] != pattern(slot)) {
            fail(r, "block contents changed");
            return;
        }
}

static void put(struct run *r, void *arena, void *p, size_t n, size_t slot)
{
    check(r, p, n, slot);
    r->a->release(arena, p, n);
    r->ops++;
    r->live -= n;
}

/* Free every block in @ptr[0..count) and keep (reset) or drop the arena. */
static void *free_all(struct run *r, void *arena, void **ptr, const size_t *sz,
                      size_t count, int keep)
{
    if (r->verify)
        for (size_t i = 0; i < count; i++)
            if (ptr[i])
                check(r, ptr[i], sz[i], i);
    if (r->a->blocks_need_release)
        for (size_t i = 0; i < count; i++)
            if (ptr[i])
                r->a->release(arena, ptr[i], sz[i]);
    for (size_t i = 0; i < count; i++)
        if (ptr[i])
            r->live -= sz[i];
    if (!keep) {
        r->a->destroy(arena);
        return NULL;
    }
    if (r->a->reset) {
        r->a->reset(arena);
        return arena;
    }
    r->a->destroy(arena);
    return r->a->create();
}

/* ---- workloads --------------------------------------------------------- */

/* A million zero-filled 16..256 B blocks, then free-all. */
static void w_small(struct run *r)
{
    size_t n = scaled(r, 1000000);
    uint64_t seed = 1;
    size_t *sz = xcalloc(n, sizeof *sz);
    void **ptr = xcalloc(n, sizeof *ptr);
    for (size_t i = 0; i < n; i++)
        sz[i] = rng_range(&seed, 16, 256);
    void *arena = r->a->create();
    for (size_t i = 0; i < n && !r->failed; i++)
        ptr[i] = get(r, arena, sz[i], i);
    free_all(r, arena, ptr, sz, n, 0);
    free(sz);
    free(ptr);
}

/* The same, every block freed individually (in a shuffled order). */
static void w_small_free(struct run *r)
{
    if (!r->a->release) {
        r->na = "no free of one block";
        return;
    }
    size_t n = scaled(r, 1000000);
    uint64_t seed = 2;
    size_t *sz = xcalloc(n, sizeof *sz), *order = xcalloc(n, sizeof *order);
    void **ptr = xcalloc(n, sizeof *ptr);
    for (size_t i = 0; i < n; i++) {
        sz[i] = rng_range(&seed, 16, 256);
        order[i] = i;
    }
    for (size_t i = n - 1; i > 0; i--) {
        size_t j = rng_range(&seed, 0, i), t = order[i];
        order[i] = order[j];
        order[j] = t;
    }
    void *arena = r->a->create();
    for (size_t i = 0; i < n && !r->failed; i++)
        ptr[i] = get(r, arena, sz[i], i);
    for (size_t k = 0; k < n && !r->failed; k++) {
        size_t i = order[k];
        put(r, arena, ptr[i], sz[i], i);
        ptr[i] = NULL;
    }
    r->a->destroy(arena);
    free(sz);
    free(order);
    free(ptr);
}

/* The brief's preallocate-and-reuse: 10,000 mixed blocks, reset, 200 times. */
static void w_prealloc(struct run *r)
{
    size_t n = 10000, rounds = scaled(r, 200);
    uint64_t seed = 3;
    size_t *sz = xcalloc(n, sizeof *sz);
    void **ptr = xcalloc(n, sizeof *ptr);
    for (size_t i = 0; i < n; i++)
        sz[i] = mixed_size(&seed);
    void *arena = r->a->create();
    for (size_t k = 0; k < rounds && !r->failed; k++) {
        for (size_t i = 0; i < n && !r->failed; i++)
            ptr[i] = get(r, arena, sz[i], i);
        arena = free_all(r, arena, ptr, sz, n, 1);
        memset(ptr, 0, n * sizeof *ptr);
    }
    r->a->destroy(arena);
    free(sz);
    free(ptr);
}

/* Churn: 100,000 live mixed blocks, then random frees and allocations. */
static void w_churn(struct run *r)
{
    if (!r->a->release) {
        r->na = "no free of one block";
        return;
    }
    size_t live = 100000, steps = scaled(r, 1000000);
    uint64_t seed = 4;
    size_t *sz = xcalloc(live, sizeof *sz), *nsz = xcalloc(steps, sizeof *nsz);
    size_t *slot = xcalloc(steps, sizeof *slot);
    void **ptr = xcalloc(live, sizeof *ptr);
    for (size_t i = 0; i < live; i++)
        sz[i] = mixed_size(&seed);
    for (size_t k = 0; k < steps; k++) {
        slot[k] = rng_range(&seed, 0, live - 1);
        nsz[k] = mixed_size(&seed);
    }
    void *arena = r->a->create();
    for (size_t i = 0; i < live && !r->failed; i++)
        ptr[i] = get(r, arena, sz[i], i);
    for (size_t k = 0; k < steps && !r->failed; k++) {
        size_t i = slot[k];
        put(r, arena, ptr[i], sz[i], i);
        sz[i] = nsz[k];
        ptr[i] = get(r, arena, sz[i], i);
    }
    free_all(r, arena, ptr, sz, live, 0);
    free(sz);
    free(nsz);
    free(slot);
    free(ptr);
}

/* A server: per request an arena of ~200 blocks of 16..512 B; 1% of the
 * blocks survive the request in a long-lived arena (copied there; with
 * malloc they are simply not freed). */
static void w_server(struct run *r)
{
    enum { PER = 200, KEEP_EVERY = 100 };
    size_t reqs = scaled(r, 100000);
    uint64_t seed = 5;
    size_t *sz = xcalloc((size_t)PER * 64, sizeof *sz);
    for (size_t i = 0; i < (size_t)PER * 64; i++)
        sz[i] = rng_range(&seed, 16, 512);
    size_t nkeep = reqs * PER / KEEP_EVERY + 1, kept = 0;
    void **keep = xcalloc(nkeep, sizeof *keep);
    size_t *keepsz = xcalloc(nkeep, sizeof *keepsz);
    void *ptr[PER];
    size_t psz[PER];
    void *longlived = r->a->create();
    for (size_t q = 0; q < reqs && !r->failed; q++) {
        void *arena = r->a->blocks_need_release ? longlived : r->a->create();
        const size_t *s = &sz[(q % 64) * PER];
        for (size_t i = 0; i < PER && !r->failed; i++) {
            psz[i] = s[i];
            ptr[i] = get(r, arena, s[i], i);
        }
        for (size_t i = 0; i < PER && !r->failed; i += KEEP_EVERY) {
            keepsz[kept] = psz[i];
            if (r->a->blocks_need_release) {
                if (r->verify)
                    memset(ptr[i], pattern(kept), psz[i]);
                keep[kept++] = ptr[i];  /* it simply stays allocated */
                ptr[i] = NULL;
            } else {
                keep[kept] = get(r, longlived, psz[i], kept);
                if (keep[kept] && !r->verify)
                    memcpy(keep[kept], ptr[i], psz[i]);
                kept++;
                r->ops--;               /* the copy is not a request's op */
            }
        }
        if (r->a->blocks_need_release) {
            for (size_t i = 0; i < PER; i++)
                if (ptr[i]) {
                    r->a->release(arena, ptr[i], psz[i]);
                    r->live -= psz[i];
                }
        } else {
            free_all(r, arena, ptr, psz, PER, 0);
        }
    }
    free_all(r, longlived, keep, keepsz, kept, 0);
    free(sz);
    free(keep);
    free(keepsz);
}

/* Realloc growth: 64 buffers doubling from 16 B to 1 MiB, round robin,
 * 8 times over. */
static void w_realloc(struct run *r)
{
    enum { BUFS = 64, STEPS = 16 };
    if (!r->a->resize || !r->a->release) {
        r->na = "no resize of a block";
        return;
    }
    size_t rounds = scaled(r, 8);
    void *arena = r->a->create();
    void *ptr[BUFS];
    size_t sz[BUFS];
    for (size_t k = 0; k < rounds && !r->failed; k++) {
        for (size_t b = 0; b < BUFS; b++) {
            sz[b] = 16;
            ptr[b] = get(r, arena, 16, b);
            r->ops--;
        }
        for (int s = 1; s <= STEPS && !r->failed; s++) {
            for (size_t b = 0; b < BUFS && !r->failed; b++) {
                size_t n = (size_t)16 << s;
                check(r, ptr[b], sz[b], b);
                unsigned char *q = r->a->resize(arena, ptr[b], sz[b], n);
                if (q == NULL) {
                    fail(r, "realloc failed");
                    break;
                }
                if (r->verify) {
                    for (size_t i = sz[b]; i < n; i++)
                        if (q[i] != 0) {
                            fail(r, "realloc growth not zero-filled");
                            break;
                        }
                    memset(q + sz[b], pattern(b), n - sz[b]);
                } else {
                    q[n - 1] = 1;
                }
                r->live += n - sz[b];
                if (r->live > r->peak_live)
                    r->peak_live = r->live;
                ptr[b] = q;
                sz[b] = n;
                r->ops++;
            }
        }
        for (size_t b = 0; b < BUFS && !r->failed; b++) {
            put(r, arena, ptr[b], sz[b], b);
            r->ops--;
        }
    }
    r->a->destroy(arena);
}

/* One arena per thread on every core: small blocks, free-all, 10 rounds. */
struct thr {
    struct run r;
    size_t n;
    size_t *sz;
    void **ptr;
};

static void *thread_main(void *arg)
{
    struct thr *t = arg;
    void *arena = t->r.a->create();
    for (int k = 0; k < 10 && !t->r.failed; k++) {
        for (size_t i = 0; i < t->n && !t->r.failed; i++)
            t->ptr[i] = get(&t->r, arena, t->sz[i], i);
        arena = free_all(&t->r, arena, t->ptr, t->sz, t->n, 1);
    }
    t->r.a->destroy(arena);
    return NULL;
}

static void w_threads(struct run *r)
{
    unsigned nt = r->threads;
    struct thr *t = xcalloc(nt, sizeof *t);
    pthread_t *id = xcalloc(nt, sizeof *id);
    for (unsigned k = 0; k < nt; k++) {
        uint64_t seed = 6 + k;
        t[k].r = *r;
        t[k].n = scaled(r, 100000);
        t[k].sz = xcalloc(t[k].n, sizeof *t[k].sz);
        t[k].ptr = xcalloc(t[k].n, sizeof *t[k].ptr);
        for (size_t i = 0; i < t[k].n; i++)
            t[k].sz[i] = rng_range(&seed, 16, 256);
    }
    for (unsigned k = 0; k < nt; k++)
        if (pthread_create(&id[k], NULL, thread_main, &t[k]) != 0)
            fail(r, "pthread_create failed");
    for (unsigned k = 0; k < nt; k++) {
        pthread_join(id[k], NULL);
        r->ops += t[k].r.ops;
        r->peak_live += t[k].r.peak_live;
        r->failed |= t[k].r.failed;
        free(t[k].sz);
        free(t[k].ptr);
    }
    free(t);
    free(id);
}

/* Destroy cost: allocate N small blocks, time only the free-all. */
static double destroy_ns;
static void w_destroy(struct run *r)
{
    size_t n = scaled(r, 1000000);
    uint64_t seed = 7;
    size_t *sz = xcalloc(n, sizeof *sz);
    void **ptr = xcalloc(n, sizeof *ptr);
    struct timespec a, b;
    for (size_t i = 0; i < n; i++)
        sz[i] = rng_range(&seed, 16, 256);
    void *arena = r->a->create();
    for (size_t i = 0; i < n && !r->failed; i++)
        ptr[i] = get(r, arena, sz[i], i);
    clock_gettime(CLOCK_MONOTONIC, &a);
    free_all(r, arena, ptr, sz, n, 0);
    clock_gettime(CLOCK_MONOTONIC, &b);
    destroy_ns = (double)(b.tv_sec - a.tv_sec) * 1e9 + (double)(b.tv_nsec - a.tv_nsec);
    r->ops = n;
    free(sz);
    free(ptr);
}

static const struct workload {
    const char *name;
    void (*run)(struct run *);
} workloads[] = {
    { "small", w_small },
    { "small-free", w_small_free },
    { "prealloc", w_prealloc },
    { "churn", w_churn },
    { "server", w_server },
    { "realloc", w_realloc },
    { "threads", w_threads },
    { "destroy", w_destroy },
};

/* ---- measurement ------------------------------------------------------- */

/* A field of /proc/self/status in KiB, or 0. */
static long status_kib(const char *field)
{
    char line[256];
    long v = 0;
    size_t len = strlen(field);
    FILE *f = fopen("/proc/self/status", "r");
    if (f == NULL)
        return 0;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, field, len) == 0 && line[len] == ':') {
            v = strtol(line + len + 1, NULL, 10);
            break;
        }
    fclose(f);
    return v;
}

/* Make VmHWM start again from the current RSS. */
static void reset_hwm(void)
{
    FILE *f = fopen("/proc/self/clear_refs", "w");
    if (f != NULL) {
        fputs("5", f);
        fclose(f);
    }
}

static double seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static int usage(void)
{
    fprintf(stderr, "usage: bench [--verify] [--scale S] [--threads N] ALLOCATOR WORKLOAD\n"
                    "       bench --list\n");
    return 2;
}

int main(int argc, char **argv)
{
    struct run r = { .scale = 1.0 };
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    r.threads = cpus > 0 ? (unsigned)cpus : 1;
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        if (strcmp(argv[i], "--list") == 0) {
            for (size_t k = 0; bench_adapters[k]; k++)
                printf("%s%s", k ? " " : "", bench_adapters[k]->name);
            printf("\n");
            for (size_t k = 0; k < sizeof workloads / sizeof *workloads; k++)
                printf("%s%s", k ? " " : "", workloads[k].name);
            printf("\n");
            return 0;
        } else if (strcmp(argv[i], "--verify") == 0) {
            r.verify = 1;
        } else if (strcmp(argv[i], "--scale") == 0 && i + 1 < argc) {
            r.scale = strtod(argv[++i], NULL);
        } else if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc) {
            r.threads = (unsigned)strtoul(argv[++i], NULL, 10);
        } else {
            return usage();
        }
    }
    if (argc - i != 2 || r.scale <= 0 || r.threads == 0)
        return usage();
    for (size_t k = 0; bench_adapters[k]; k++)
        if (strcmp(bench_adapters[k]->name, argv[i]) == 0)
            r.a = bench_adapters[k];
    const struct workload *w = NULL;
    for (size_t k = 0; k < sizeof workloads / sizeof *workloads; k++)
        if (strcmp(workloads[k].name, argv[i + 1]) == 0)
            w = &workloads[k];
    if (r.a == NULL || w == NULL) {
        fprintf(stderr, "bench: unknown allocator or workload (see --list)\n");
        return 2;
    }

    struct rusage u0, u1;
    reset_hwm();
    long rss0 = status_kib("VmRSS");
    getrusage(RUSAGE_SELF, &u0);
    double t0 = seconds();
    w->run(&r);
    double t1 = seconds();
    getrusage(RUSAGE_SELF, &u1);
    long hwm = status_kib("VmHWM");

    printf("{\"allocator\":\"%s\",\"workload\":\"%s\",\"scale\":%g,\"verify\":%s",
           r.a->name, w->name, r.scale, r.verify ? "true" : "false");
    if (r.na != NULL) {
        printf(",\"na\":\"%s\"}\n", r.na);
        return 0;
    }
    double secs = w->run == w_destroy ? destroy_ns * 1e-9 : t1 - t0;
    printf(",\"ok\":%s,\"ops\":%llu,\"seconds\":%.6f,\"ns_per_op\":%.3f"
           ",\"peak_rss_kib\":%ld,\"rss_growth_kib\":%ld,\"requested_peak_kib\":%.1f"
           ",\"minflt\":%ld,\"threads\":%u}\n",
           r.failed ? "false" : "true", (unsigned long long)r.ops, secs,
           r.ops ? secs * 1e9 / (double)r.ops : 0.0, hwm, hwm - rss0,
           (double)r.peak_live / 1024.0, u1.ru_minflt - u0.ru_minflt,
           w->run == w_threads ? r.threads : 1);
    return r.failed ? 1 : 0;
}
