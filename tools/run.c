/*
 * run.c - execute a plan on one backend and measure it.
 *
 * Every run happens in a fresh process of its own (runproc.c), so each
 * backend starts from the same fresh heap, the peak RSS of one run cannot
 * hide in the high-water mark of an earlier one, and a crash is reported
 * as a failed workload instead of ending the program.
 *
 * The malloc backend does what a program without pools does for the same
 * operations: malloc, realloc, aligned_alloc, free per block.  It does not
 * zero its blocks: a pool zero-fills by contract and pays for it in its
 * time, and a program replaying its own mallocs would not pay for calloc.
 * A free-all frees every block of its range one by one; the pool backend
 * resets the pool.
 */
#include "config.h"

#include "cymem-stat.h"

#include <cymem.h>

#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

const char *const backend_names[NBACKENDS] = { "malloc", "pool" };

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* ---- /proc/self: resident set ---------------------------------------------- */

/* Reset the high-water mark of the resident set to the current size; it
 * is fine if the kernel does not offer this, the run is a fresh child. */
static void rss_reset_peak(void)
{
    int fd = open("/proc/self/clear_refs", O_WRONLY | O_CLOEXEC);
    if (fd >= 0) {
        if (write(fd, "5", 1) < 0) {
            /* older kernels: the fork already started a new mark */
        }
        close(fd);
    }
}

/* VmRSS or VmHWM from /proc/self/status in bytes, 0 if unknown. */
static uint64_t proc_status_kb(const char *key)
{
    char line[256];
    uint64_t kb = 0;
    size_t klen = strlen(key);
    FILE *f = fopen("/proc/self/status", "re");
    if (f == NULL)
        return 0;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, key, klen) == 0 && line[klen] == ':') {
            kb = strtoull(line + klen + 1, NULL, 10);
            break;
        }
    fclose(f);
    return kb * 1024;
}

/* ---- memory snapshots ---------------------------------------------------------- */

struct heap_info {
    uint64_t used, reserved;
    int ok;
};

static void heap_info(struct heap_info *h)
{
#ifdef HAVE_MALLINFO2
    struct mallinfo2 mi = mallinfo2();
    h->used = mi.uordblks + mi.hblkhd;
    h->reserved = mi.arena + mi.hblkhd;
    h->ok = 1;
#else
    h->used = h->reserved = 0;
    h->ok = 0;
#endif
}

/* What malloc keeps in front of each block: glibc's chunk size word.
 * Another malloc, preloaded, keeps its sizes elsewhere. */
static size_t malloc_header;

void run_set_malloc_header(size_t bytes)
{
    malloc_header = bytes;
}

/* mallinfo2()'s reserved bytes before the run: what the run adds is its. */
static struct heap_info heap0;

/* ---- the executor ------------------------------------------------------------- */

struct exec {
    void **slots;
    cymem_pool *pool[PLAN_SCOPES];
    void (*sample)(struct exec *);  /* at OP_SAMPLE */
    void *ctx;
    const char *error;              /* set when an operation failed */
    int sampled;                    /* OP_SAMPLE was reached */
    int owns_heap;                  /* this thread samples malloc's heap */
    uint64_t peak_reserved;         /* highest reserved bytes seen */
    double peek_ns;                 /* time spent in peek(), not counted */
};

/* Reserved memory has its own peak, which need not be where the live bytes
 * peak (a pool keeps its slabs after frees; malloc trims its heap):
 * every PEEK_EVERY operations, and before every free-all, each run
 * looks at what its backend holds. */
#define PEEK_EVERY 4096
static void peek(struct exec *x, int pool);

static volatile float float_sink;

/* A program uses what it allocates: write the first and the last byte of
 * every new or resized block, so that both backends' pages are touched
 * alike and the resident set shows what the blocks occupy. */
static inline void touch(void *p, uint64_t size)
{
    if (size) {
        ((volatile char *)p)[0] = 1;
        ((volatile char *)p)[size - 1] = 1;
    }
}

/* A traced 64-bit program may ask for more than a 32-bit host can. */
static inline int too_big(uint64_t size)
{
#if SIZE_MAX < UINT64_MAX
    return size > SIZE_MAX;
#else
    (void)size;
    return 0;
#endif
}

static void do_floats(float *a, uint32_t n)
{
    float sum = 0;
    for (uint32_t i = 0; i < n; i++)
        a[i] = (float)i * 0.5f;
    for (uint32_t i = 0; i < n; i++)
        sum += a[i] * 1.0001f;
    float_sink = sum;
}

/* One loop for both backends; inlined twice with a constant @pool so that
 * neither pays for the other's branch. */
static inline __attribute__((always_inline)) int
exec_ops(struct exec *x, const struct op *ops, size_t n, const int pool)
{
    void **slots = x->slots;
    for (size_t i = 0; i < n; i++) {
        const struct op *o = &ops[i];
        void *p;
        if ((i & (PEEK_EVERY - 1)) == 0 || o->kind == OP_FREEALL)
            peek(x, pool);
        prof_op = o->kind;
        switch (o->kind) {
        case OP_ALLOC:
            if (too_big(o->size))
                p = NULL;
            else
                p = pool ? cymem_pool_alloc(x->pool[o->scope], 1, (size_t)o->size)
                         : malloc((size_t)o->size);
            goto placed;
        case OP_ALIGNED: {
            size_t align = (size_t)1 << o->align_shift;
            size_t size = (size_t)o->size;
            p = pool ? cymem_pool_alloc_aligned(x->pool[o->scope], 1, size, align)
                     : aligned_alloc(align, (size + align - 1) & ~(align - 1));
            goto placed;
        }
        case OP_REALLOC:
            if (too_big(o->size))
                p = NULL;
            else if (pool)
                p = cymem_pool_realloc(x->pool[o->scope], slots[o->slot], (size_t)o->size);
            else
                p = realloc(slots[o->slot], o->size ? (size_t)o->size : 1);
        placed:
            if (p == NULL) {
                x->error = o->kind == OP_REALLOC ? "realloc failed" : "allocation failed";
                return -1;
            }
            touch(p, o->size);
            slots[o->slot] = p;
            break;
        case OP_FREE:
            if (pool) {
                if (cymem_pool_free(x->pool[o->scope], slots[o->slot]) != 0) {
                    x->error = "cymem_pool_free refused a live block";
                    return -1;
                }
            } else {
                free(slots[o->slot]);
            }
            slots[o->slot] = NULL;
            break;
        case OP_FREEALL:
            if (pool) {
                cymem_pool_reset(x->pool[o->scope]);
            } else {
                for (uint32_t s = o->slot; s < o->aux; s++) {
                    free(slots[s]);
                    slots[s] = NULL;
                }
            }
            break;
        case OP_FILL:
            memset(slots[o->slot], 0x5a, (size_t)o->size);
            break;
        case OP_FLOATS:
            do_floats(slots[o->slot], (uint32_t)o->size);
            break;
        case OP_SAMPLE:
            x->sample(x);
            break;
        }
    }
    return 0;
}

static __attribute__((noinline)) int exec_malloc(struct exec *x, const struct plan *p)
{
    int rc = exec_ops(x, p->ops, p->nops, 0);
    prof_op = PROF_IDLE;
    peek(x, 0);
    return rc;
}

static __attribute__((noinline)) int exec_pool(struct exec *x, const struct plan *p)
{
    int rc = exec_ops(x, p->ops, p->nops, 1);
    prof_op = PROF_IDLE;
    peek(x, 1);
    return rc;
}

/* ---- one run, in the child ------------------------------------------------------ */

struct child {
    const struct plan *plans;
    unsigned nplans;
    enum backend b;
    struct exec *x;                /* one per plan */
    struct sample *out;
    double excluded_ns;            /* snapshot time, not counted */
    pthread_barrier_t start, mid, resume;
};

/* The bytes malloc's live blocks occupy: each block's usable size, plus
 * the size word glibc keeps in front of every chunk.  Counted from the
 * blocks themselves, not from mallinfo2(), which counts blocks parked in
 * the per-thread caches as used.  0 where malloc_usable_size is missing. */
static uint64_t malloc_live_used(const struct child *c)
{
    uint64_t used = 0;
#if defined(__GLIBC__) || defined(__linux__)
    for (unsigned i = 0; i < c->nplans; i++)
        for (uint32_t k = 0; k < c->plans[i].nslots; k++)
            if (c->x[i].slots[k] != NULL)
                used += malloc_usable_size(c->x[i].slots[k]) + malloc_header;
#else
    (void)c;
#endif
    return used;
}

static void snapshot(struct child *c)
{
    struct sample *s = c->out;
    s->requested = 0;
    for (unsigned i = 0; i < c->nplans; i++)
        s->requested += c->plans[i].sample_bytes;
    if (c->b == BACKEND_POOL) {
        uint64_t live = 0;
        s->used = s->reserved = s->metadata = 0;
        for (unsigned i = 0; i < c->nplans; i++)
            for (int k = 0; k < PLAN_SCOPES; k++) {
                cymem_stats st;
                if (c->x[i].pool[k] == NULL || cymem_pool_stats(c->x[i].pool[k], &st) != 0)
                    continue;
                live += st.live_bytes;
                s->used += st.used_bytes;
                s->reserved += st.reserved_bytes;
                s->metadata += st.metadata_bytes;
            }
        s->have_memory = s->have_reserved = 1;
        if (live != s->requested) {
            snprintf(s->error, sizeof s->error,
                     "pool reports %llu live bytes where %llu were requested",
                     (unsigned long long)live, (unsigned long long)s->requested);
            s->ok = 0;
        }
    } else {
        struct heap_info h;
        heap_info(&h);
        s->metadata = 0;
        s->used = malloc_live_used(c);
        s->have_memory = s->used != 0 || s->requested == 0;
        if (s->used < s->requested)
            s->used = s->requested;
        /* mallinfo2() describes the GNU C library's heap only: when another
         * malloc is preloaded the heap does not grow with the workload, and
         * its figures say nothing about what that malloc holds. */
        s->reserved = h.reserved > heap0.reserved ? h.reserved - heap0.reserved : 0;
        s->have_reserved = h.ok && !(s->requested >= 65536 && s->reserved < s->used / 2);
        /* The heap may have reused space it held before the run. */
        if (s->reserved < s->used)
            s->reserved = s->used;
    }
}

/* The reserved bytes of this run's pools, or of malloc's heap, the
 * highest seen so far.  Each thread looks at its own pools only (a pool
 * is not to be touched by two threads); malloc's heap, shared, is looked
 * at by the first thread alone. */
static __attribute__((noinline)) void peek(struct exec *x, int pool)
{
    double t0 = now_ns();
    uint64_t r = 0;
    prof_op = OP_SAMPLE;   /* not an operation's time */
    if (pool) {
        for (int k = 0; k < PLAN_SCOPES; k++) {
            cymem_stats st;
            if (x->pool[k] != NULL && cymem_pool_stats(x->pool[k], &st) == 0)
                r += st.reserved_bytes;
        }
    } else if (x->owns_heap) {
        struct heap_info h;
        heap_info(&h);
        r = h.reserved > heap0.reserved ? h.reserved - heap0.reserved : 0;
    }
    if (r > x->peak_reserved)
        x->peak_reserved = r;
    x->peek_ns += now_ns() - t0;
}

static void sample_single(struct exec *x)
{
    struct child *c = x->ctx;
    double t0 = now_ns();
    snapshot(c);
    c->excluded_ns += now_ns() - t0;
}

/* Threads meet at the snapshot: the main thread takes it while all of
 * them wait, and the wait is left out of the time. */
static void sample_threaded(struct exec *x)
{
    struct child *c = x->ctx;
    x->sampled = 1;
    pthread_barrier_wait(&c->mid);
    pthread_barrier_wait(&c->resume);
}

struct thread_arg {
    struct child *c;
    unsigned i;
    int rc;
};

static void *thread_main(void *arg)
{
    struct thread_arg *ta = arg;
    struct child *c = ta->c;
    struct exec *x = &c->x[ta->i];
    pthread_barrier_wait(&c->start);
    ta->rc = c->b == BACKEND_POOL ? exec_pool(x, &c->plans[ta->i])
                                  : exec_malloc(x, &c->plans[ta->i]);
    if (ta->rc != 0 && !x->sampled) {
        /* Still meet the others at the snapshot so that nobody hangs. */
        pthread_barrier_wait(&c->mid);
        pthread_barrier_wait(&c->resume);
    }
    return NULL;
}

static int child_run(struct child *c)
{
    struct sample *s = c->out;
    unsigned n = c->nplans;
    struct exec *x = calloc(n, sizeof *x);
    int rc = 0;
    if (x == NULL)
        return -1;
    c->x = x;
    for (unsigned i = 0; i < n; i++) {
        x[i].slots = calloc(c->plans[i].nslots ? c->plans[i].nslots : 1, sizeof(void *));
        if (x[i].slots == NULL)
            return -1;
        /* Fault the slot table in now, so the peak RSS is the backend's. */
        for (size_t k = 0; k < c->plans[i].nslots; k += 512)
            ((void *volatile *)x[i].slots)[k] = NULL;
        x[i].ctx = c;
        x[i].owns_heap = i == 0;
        x[i].sample = n > 1 ? sample_threaded : sample_single;
        if (c->b == BACKEND_POOL)
            for (int k = 0; k < PLAN_SCOPES; k++)
                if ((x[i].pool[k] = cymem_pool_new()) == NULL)
                    return -1;
    }
    s->ok = 1;
    s->ops = 0;
    for (unsigned i = 0; i < n; i++)
        s->ops += plan_ops(&c->plans[i]);
    heap_info(&heap0);
    rss_reset_peak();
    uint64_t rss0 = proc_status_kb("VmRSS");
    struct usage u0, u1;
    usage_now(&u0);
    prof_start();

    if (n == 1) {
        double t0 = now_ns();
        rc = c->b == BACKEND_POOL ? exec_pool(&x[0], &c->plans[0])
                                  : exec_malloc(&x[0], &c->plans[0]);
        s->time_ns = now_ns() - t0 - c->excluded_ns - x[0].peek_ns;
        if (rc != 0)
            snprintf(s->error, sizeof s->error, "%s", x[0].error);
    } else {
        pthread_t *tid = calloc(n, sizeof *tid);
        struct thread_arg *ta = calloc(n, sizeof *ta);
        if (tid == NULL || ta == NULL)
            return -1;
        pthread_barrier_init(&c->start, NULL, n + 1);
        pthread_barrier_init(&c->mid, NULL, n + 1);
        pthread_barrier_init(&c->resume, NULL, n + 1);
        for (unsigned i = 0; i < n; i++) {
            ta[i].c = c;
            ta[i].i = i;
            if (pthread_create(&tid[i], NULL, thread_main, &ta[i]) != 0) {
                snprintf(s->error, sizeof s->error, "cannot start thread %u", i);
                s->ok = 0;
                _exit(3);
            }
        }
        pthread_barrier_wait(&c->start);
        double t0 = now_ns();
        pthread_barrier_wait(&c->mid);
        double t1 = now_ns();
        snapshot(c);
        double t2 = now_ns();
        pthread_barrier_wait(&c->resume);
        for (unsigned i = 0; i < n; i++) {
            pthread_join(tid[i], NULL);
            if (ta[i].rc != 0 && rc == 0) {
                rc = -1;
                snprintf(s->error, sizeof s->error, "thread %u: %s", i, x[i].error);
            }
        }
        /* The threads peek at their pools at the same moments, more or
         * less: the longest of those pauses is left out. */
        double peeks = 0;
        for (unsigned i = 0; i < n; i++)
            if (x[i].peek_ns > peeks)
                peeks = x[i].peek_ns;
        s->time_ns = now_ns() - t0 - (t2 - t1) - peeks;
    }
    prof_stop(s->prof);
    usage_now(&u1);
    s->usage.minflt = u1.minflt - u0.minflt;
    s->usage.majflt = u1.majflt - u0.majflt;
    s->usage.utime_ns = u1.utime_ns - u0.utime_ns;
    s->usage.stime_ns = u1.stime_ns - u0.stime_ns;
    uint64_t hwm = proc_status_kb("VmHWM");
    s->peak_rss = hwm > rss0 ? hwm - rss0 : 0;
    s->peak_reserved = 0;
    for (unsigned i = 0; i < n; i++)
        s->peak_reserved += x[i].peak_reserved;
    if (s->peak_reserved < s->reserved)
        s->peak_reserved = s->reserved;
    if (rc != 0)
        s->ok = 0;
    return 0;
}

/* ---- one run, in the fresh process of runproc.c -------------------------------- */

void run_measure(const struct plan *plans, unsigned nplans, enum backend b,
                 struct sample *out)
{
    struct child c;
    memset(&c, 0, sizeof c);
    memset(out, 0, sizeof *out);
    c.plans = plans;
    c.nplans = nplans;
    c.b = b;
    c.out = out;
    if (child_run(&c) != 0) {
        out->ok = 0;
        snprintf(out->error, sizeof out->error, "out of memory setting up the run");
    }
}
