/*
 * run.c - execute a plan on one backend and measure it.
 *
 * Every run happens in a fresh process of its own (runproc.c), so each
 * backend starts from the same fresh heap, the peak RSS of one run cannot
 * hide in the high-water mark of an earlier one, and a crash is reported
 * as a failed workload instead of ending the program.
 *
 * The operations are those of the executor the benchmark uses too
 * (workloads/exec.c), through the adapters of malloc and libcymem.  The
 * malloc backend does what a program without pools does for the same
 * operations: malloc, realloc, aligned_alloc, free per block.  It does not
 * zero its blocks: a pool zero-fills by contract and pays for it in its
 * time, and a program replaying its own mallocs would not pay for calloc.
 * A free-all frees every block of its range one by one; the pool backend
 * resets the pool (or destroys it, where the workload drops its arena).
 */
#include "config.h"

#include "cymem-stat.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

const char *const backend_names[NBACKENDS] = { "malloc", "pool", "pool-ts", "pool-shared" };
const struct adapter *const backend_adapters[NBACKENDS] = {
    &adapter_malloc, &adapter_cymem, &adapter_cymem_ts, &adapter_cymem_shared,
};

#define now_ns exec_now_ns

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

/* The writable anonymous mappings of this process: their size and what of
 * them is resident or swapped out (touched), in bytes; -1 without
 * /proc/self/smaps.  The heap counts; the main stack, the plans (a mapped
 * file) and reservations without access (glibc's arenas beyond their
 * top) do not. */
static int anon_mappings(uint64_t *size, uint64_t *touched)
{
    char line[512];
    int counted = 0;
    FILE *f = fopen("/proc/self/smaps", "re");
    if (f == NULL)
        return -1;
    *size = *touched = 0;
    while (fgets(line, sizeof line, f)) {
        unsigned long long kb;
        char perms[8], path[256] = "";
        unsigned long inode;
        if (line[0] >= 'A' && line[0] <= 'Z') {
            if (!counted)
                continue;
            if (sscanf(line, "Size: %llu kB", &kb) == 1)
                *size += kb * 1024;
            else if (sscanf(line, "Rss: %llu kB", &kb) == 1 ||
                     sscanf(line, "Swap: %llu kB", &kb) == 1)
                *touched += kb * 1024;
            continue;
        }
        /* A mapping's first line: range perms offset dev inode [path]. */
        if (sscanf(line, "%*x-%*x %7s %*x %*s %lu %255s", perms, &inode, path) < 2) {
            counted = 0;
            continue;
        }
        counted = perms[0] == 'r' && perms[1] == 'w' && perms[3] == 'p' && inode == 0 &&
                  (path[0] == '\0' || strcmp(path, "[heap]") == 0);
    }
    fclose(f);
    return 0;
}

/* The mappings just before the run. */
static uint64_t mapped0, touched0;
static int have_mapped0;

static void mapped_baseline(void)
{
    have_mapped0 = anon_mappings(&mapped0, &touched0) == 0;
}

static void mapped_snapshot(struct sample *s)
{
    uint64_t size, touched;
    s->have_mapped = have_mapped0 && anon_mappings(&size, &touched) == 0;
    if (!s->have_mapped)
        return;
    s->mapped = size > mapped0 ? size - mapped0 : 0;
    uint64_t grown = touched > touched0 ? touched - touched0 : 0;
    s->untouched = s->mapped > grown ? s->mapped - grown : 0;
}

/* ---- memory snapshots ---------------------------------------------------------- */

/* What mallinfo2() says of the GNU C library's heap (the malloc adapter's
 * figures), ok 0 where it is unknown. */
struct heap_info {
    uint64_t used, reserved;
    int ok;
};

static void heap_info(struct heap_info *h)
{
    struct adapter_memory m;
    h->ok = adapter_malloc.memory(NULL, &m) == 0;
    h->used = m.used;
    h->reserved = m.reserved;
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

/* ---- the executor's hooks ------------------------------------------------------- */

/* The shared executor (workloads/exec.c) and what a measured run adds. */
struct run_exec {
    struct exec x;                  /* first: the hooks get &x */
    int owns_heap;                  /* this thread samples malloc's heap */
    uint64_t peak_reserved;         /* highest reserved bytes seen */
    double peek_ns;                 /* time spent in peek(), not counted */
    double peek_clocked_ns;         /* the part of it after the OP_CLOCK */
    double start_ns;                /* when the run started */
};

/* Reserved memory has its own peak, which need not be where the live bytes
 * peak (a pool keeps its slabs after frees; malloc trims its heap):
 * every EXEC_PEEK_EVERY operations, before every free-all and at the end,
 * each run looks at what its backend holds.  mallinfo2() walks every free
 * chunk of the heap, which can take milliseconds: the looks are skipped
 * while they have taken more than PEEK_SHARE of the run's time so far
 * (the last one never is). */
#define PEEK_SHARE (1.0 / 16)
static void peek(struct exec *x);

/* ---- one run, in the child ------------------------------------------------------ */

struct child {
    const struct plan *plans;
    unsigned nplans;
    enum backend b;
    FILE *trace;
    struct run_exec *x;            /* one per plan */
    struct exec_shared shared;     /* what the threads share */
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
    for (unsigned i = 0; i < c->nplans; i++)
        for (uint32_t k = 0; k < c->plans[i].nslots; k++)
            if (c->x[i].x.slots[k] != NULL) {
                size_t u = adapter_malloc.usable(NULL, c->x[i].x.slots[k]);
                if (u == 0)
                    return 0;
                used += u + malloc_header;
            }
    return used;
}

/* Whether thread @i is to count its arena @arena: the one arena the
 * threads share is the first thread's to count. */
static int counts_arena(const struct exec *x, unsigned i, const void *arena)
{
    return arena != NULL && !(i > 0 && x->shared && arena == x->shared->arena);
}

static void snapshot(struct child *c)
{
    struct sample *s = c->out;
    mapped_snapshot(s);
    s->requested = 0;
    for (unsigned i = 0; i < c->nplans; i++)
        s->requested += c->plans[i].sample_bytes;
    if (backend_adapters[c->b]->memory_is_global == 0) {
        uint64_t live = 0;
        s->used = s->reserved = s->metadata = 0;
        for (unsigned i = 0; i < c->nplans; i++)
            for (int k = 0; k < PLAN_SCOPES; k++) {
                struct adapter_memory m;
                void *arena = c->x[i].x.arena[k];
                if (!counts_arena(&c->x[i].x, i, arena) ||
                    backend_adapters[c->b]->memory(arena, &m) != 0)
                    continue;
                live += m.live;
                s->used += m.used;
                s->reserved += m.reserved;
                s->metadata += m.metadata;
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
         * malloc is preloaded, its figures say nothing about what that
         * malloc holds.  (How much the heap grew says nothing either: the
         * run's first blocks come from the free part of the heap the
         * process started with.) */
        s->reserved = h.reserved > heap0.reserved ? h.reserved - heap0.reserved : 0;
        s->have_reserved = h.ok && malloc_is_glibc();
        /* The heap may have reused space it held before the run. */
        if (s->reserved < s->used)
            s->reserved = s->used;
    }
}

/* The reserved bytes of this run's pools, or of malloc's heap, the
 * highest seen so far.  Each thread looks at its own pools only (a pool
 * is not to be touched by two threads); malloc's heap, shared, is looked
 * at by the first thread alone. */
static __attribute__((noinline)) void peek(struct exec *ex)
{
    struct run_exec *x = (struct run_exec *)ex;
    double t0 = now_ns();
    uint64_t r = 0;
    unsigned char was = prof_op;
    if (was != PROF_IDLE && x->peek_ns > (t0 - x->start_ns) * PEEK_SHARE)
        return;
    prof_op = OP_SAMPLE;   /* not an operation's time */
    if (!ex->a->memory_is_global) {
        for (int k = 0; k < PLAN_SCOPES; k++) {
            struct adapter_memory m;
            if (counts_arena(ex, ex->id, ex->arena[k]) &&
                ex->a->memory(ex->arena[k], &m) == 0)
                r += m.reserved;
        }
    } else if (x->owns_heap) {
        struct heap_info h;
        heap_info(&h);
        r = h.reserved > heap0.reserved ? h.reserved - heap0.reserved : 0;
    }
    if (r > x->peak_reserved)
        x->peak_reserved = r;
    double t = now_ns() - t0;
    x->peek_ns += t;
    if (ex->clock_ns != 0)
        x->peek_clocked_ns += t;
    prof_op = was;
}

static void sample_single(struct exec *x)
{
    struct child *c = x->ctx;
    x->sampled = 1;
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
    double t0;               /* when it started */
};

static void *thread_main(void *arg)
{
    struct thread_arg *ta = arg;
    struct child *c = ta->c;
    struct exec *x = &c->x[ta->i].x;
    pthread_barrier_wait(&c->start);
    /* Its own time: the main thread may not get a processor back at
     * once when the threads fill them all. */
    ta->t0 = now_ns();
    ta->rc = exec_run(x, &c->plans[ta->i]);
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
    struct run_exec *x = calloc(n, sizeof *x);
    int rc = 0;
    const char *why = NULL;
    if (x == NULL)
        return -1;
    c->x = x;
    if (exec_shared_init(&c->shared, backend_adapters[c->b], c->plans, n, &why) != 0) {
        snprintf(s->error, sizeof s->error, "%s", why);
        s->ok = 0;
        return 0;
    }
    for (unsigned i = 0; i < n; i++) {
        x[i].x.a = backend_adapters[c->b];
        x[i].x.shared = &c->shared;
        /* A pool zero-fills by contract and pays for it in its time; a
         * program without pools would not pay for calloc. */
        x[i].x.zero = 0;
        x[i].x.trace = c->trace;
        x[i].x.id = i;
        x[i].x.ctx = c;
        x[i].x.sample = n > 1 ? sample_threaded : sample_single;
        x[i].x.peek = peek;
        x[i].owns_heap = i == 0;
        if (exec_init(&x[i].x, &c->plans[i]) != 0)
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

    for (unsigned i = 0; i < n; i++)
        x[i].start_ns = now_ns();
    if (n == 1) {
        mapped_baseline();
        double t0 = now_ns();
        rc = exec_run(&x[0].x, &c->plans[0]);
        double t1 = now_ns();
        if (x[0].x.clock_ns != 0)   /* only what follows the OP_CLOCK */
            s->time_ns = t1 - x[0].x.clock_ns - x[0].peek_clocked_ns;
        else
            s->time_ns = t1 - t0 - c->excluded_ns - x[0].peek_ns;
        if (rc != 0)
            snprintf(s->error, sizeof s->error, "%s", x[0].x.error);
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
        /* The threads' stacks are there now: not the run's memory. */
        mapped_baseline();
        pthread_barrier_wait(&c->start);
        pthread_barrier_wait(&c->mid);
        double t1 = now_ns();
        snapshot(c);
        double t2 = now_ns();
        pthread_barrier_wait(&c->resume);
        for (unsigned i = 0; i < n; i++) {
            pthread_join(tid[i], NULL);
            if (ta[i].rc != 0 && rc == 0) {
                rc = -1;
                snprintf(s->error, sizeof s->error, "thread %u: %s", i, x[i].x.error);
            }
        }
        /* The threads peek at their pools at the same moments, more or
         * less: the longest of those pauses is left out.  The time starts
         * when the first thread does. */
        double peeks = 0, t0 = ta[0].t0;
        for (unsigned i = 0; i < n; i++) {
            if (x[i].peek_ns > peeks)
                peeks = x[i].peek_ns;
            if (ta[i].t0 < t0)
                t0 = ta[i].t0;
        }
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
    else
        exec_shared_free(&c->shared, backend_adapters[c->b]);
    return 0;
}

/* ---- one run, in the fresh process of runproc.c -------------------------------- */

void run_measure(const struct plan *plans, unsigned nplans, enum backend b,
                 FILE *trace, struct sample *out)
{
    struct child c;
    memset(&c, 0, sizeof c);
    memset(out, 0, sizeof *out);
    c.plans = plans;
    c.nplans = nplans;
    c.b = b;
    c.trace = trace;
    c.out = out;
    if (child_run(&c) != 0) {
        out->ok = 0;
        snprintf(out->error, sizeof out->error, "out of memory setting up the run");
    }
}
