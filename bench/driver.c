/*
 * driver.c - run one workload against one allocator, once, and print one
 * JSON line with what it cost.
 *
 *   bench [--verify] [--scale S] [--threads N] [--trace FILE] ALLOCATOR WORKLOAD
 *   bench --list
 *
 * Every run is a fresh process (bench/run-bench starts them, alternating
 * allocators round by round).  The workloads are cymem-stat's
 * (workloads/workloads.c): their operations are generated from fixed seeds
 * before the clock starts and run by the same executor, so the allocator
 * under test does nothing but allocate, and a workload's name means the
 * same operations in both programs.  Every block is zero-filled and
 * written at both ends, as a program would.  With --verify, every block is
 * checked to be zero when handed out and to keep its contents until it is
 * freed; with --trace, every operation is written to FILE as it is run.
 * Neither is for timing.
 */
#include "config.h"

#include "bench.h"
#include "workload.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

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
    fprintf(stderr, "usage: bench [--verify] [--scale S] [--threads N] [--trace FILE] "
                    "ALLOCATOR WORKLOAD\n"
                    "       bench --list\n");
    return 2;
}

/* One executor a plan; a thread each when there are several, which
 * creates its arenas itself (some allocators keep per-thread state). */
struct thr {
    struct exec x;
    const struct plan *plan;
    pthread_barrier_t *start;
    int rc;
    double t0, t1;           /* when it started and ended */
};

/* Each thread takes its own times: the main thread may not get a
 * processor back at once when the threads fill them all. */
static void *thread_main(void *arg)
{
    struct thr *t = arg;
    t->rc = exec_init(&t->x, t->plan);
    pthread_barrier_wait(t->start);
    t->t0 = seconds();
    if (t->rc == 0)
        t->rc = exec_run(&t->x, t->plan);
    t->t1 = seconds();
    /* The thread's own arenas go with it, untimed: some allocators' arenas
     * may be destroyed only by the thread that made them (mimalloc's
     * heaps: another thread's destroy, after this one has exited, crashes
     * now and then). */
    exec_free(&t->x);
    return NULL;
}

int main(int argc, char **argv)
{
    struct params pr = { 1.0, 0, 1, 1 };
    int verify = 0;
    const char *trace_path = NULL;
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    pr.threads = cpus > 0 ? (unsigned)(cpus < MAX_THREADS ? cpus : MAX_THREADS) : 1;
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        if (strcmp(argv[i], "--list") == 0) {
            for (size_t k = 0; bench_adapters[k].name; k++)
                printf("%s%s", k ? " " : "", bench_adapters[k].name);
            printf("\n");
            for (size_t k = 0, n = 0; k < nworkloads; k++)
                if (workloads[k].build)
                    printf("%s%s", n++ ? " " : "", workloads[k].name);
            printf("\n");
            return 0;
        } else if (strcmp(argv[i], "--verify") == 0) {
            verify = 1;
        } else if (strcmp(argv[i], "--scale") == 0 && i + 1 < argc) {
            pr.scale = strtod(argv[++i], NULL);
        } else if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc) {
            pr.threads = (unsigned)strtoul(argv[++i], NULL, 10);
        } else if (strcmp(argv[i], "--trace") == 0 && i + 1 < argc) {
            trace_path = argv[++i];
        } else {
            return usage();
        }
    }
    if (argc - i != 2 || !(pr.scale > 0) || pr.threads == 0 || pr.threads > MAX_THREADS)
        return usage();
    const struct bench_entry *e = NULL;
    for (size_t k = 0; bench_adapters[k].name; k++)
        if (strcmp(bench_adapters[k].name, argv[i]) == 0)
            e = &bench_adapters[k];
    const struct workload *w = workload_find(argv[i + 1]);
    if (e == NULL || w == NULL || w->build == NULL) {
        fprintf(stderr, "bench: unknown allocator or workload (see --list)\n");
        return 2;
    }

    printf("{\"allocator\":\"%s\",\"workload\":\"%s\",\"scale\":%g,\"verify\":%s",
           e->name, w->name, pr.scale, verify ? "true" : "false");
    const char *na = workload_not_applicable(w, e->a);
    if (na != NULL) {
        printf(",\"na\":\"%s\"}\n", na);
        return 0;
    }

    /* The operations, before the clock.  Static: a run that stops early
     * exits at once, and a leak checker then finds them reachable. */
    static struct plan *plans;
    static struct thr *t;
    static pthread_t *tid;
    plans = calloc(MAX_THREADS, sizeof *plans);
    t = calloc(MAX_THREADS, sizeof *t);
    tid = calloc(MAX_THREADS, sizeof *tid);
    unsigned nplans = 1;
    char err[200] = "";
    FILE *trace = NULL;
    if (plans == NULL || t == NULL || tid == NULL) {
        fprintf(stderr, "bench: out of memory for the inputs\n");
        return 2;
    }
    for (unsigned k = 0; k < MAX_THREADS; k++)
        plan_init(&plans[k]);
    if (w->build(w, &pr, plans, &nplans, err, sizeof err) != 0) {
        fprintf(stderr, "\nbench: %s\n", err);
        return 2;
    }
    if (trace_path != NULL && (trace = fopen(trace_path, "w")) == NULL) {
        fprintf(stderr, "\nbench: %s: %s\n", trace_path, strerror(errno));
        return 2;
    }
    /* The arena the threads share, if they share one, and the rings of
     * the blocks they hand to each other. */
    struct exec_shared shared;
    const char *why = NULL;
    if (exec_shared_init(&shared, e->a, plans, nplans, &why) != 0) {
        fprintf(stderr, "\nbench: %s: %s\n", e->name, why);
        return 1;
    }
    uint64_t ops = 0, peak = 0;
    for (unsigned k = 0; k < nplans; k++) {
        t[k].x.a = e->a;
        t[k].x.shared = &shared;
        t[k].x.zero = 1;
        t[k].x.verify = verify;
        t[k].x.trace = trace;
        t[k].x.id = k;
        t[k].plan = &plans[k];
        ops += plan_ops(&plans[k]);
        peak += plans[k].peak_bytes;
    }
    if (nplans == 1 && exec_init(&t[0].x, &plans[0]) != 0) {
        fprintf(stderr, "\nbench: %s: %s\n", e->name, t[0].x.error);
        return 1;
    }

    struct rusage u0, u1;
    pthread_barrier_t start;
    int failed = 0;
    reset_hwm();
    long rss0 = status_kib("VmRSS");
    if (nplans > 1) {
        pthread_barrier_init(&start, NULL, nplans + 1);
        for (unsigned k = 0; k < nplans; k++) {
            t[k].start = &start;
            if (pthread_create(&tid[k], NULL, thread_main, &t[k]) != 0) {
                fprintf(stderr, "\nbench: pthread_create failed\n");
                return 2;
            }
        }
        pthread_barrier_wait(&start);
    }
    getrusage(RUSAGE_SELF, &u0);
    double t0 = seconds();
    if (nplans == 1)
        t[0].rc = exec_run(&t[0].x, &plans[0]);
    for (unsigned k = 0; k < nplans && nplans > 1; k++)
        pthread_join(tid[k], NULL);
    double t1 = seconds();
    if (nplans > 1) {
        /* From the first thread's start to the last one's end. */
        t0 = t[0].t0;
        t1 = t[0].t1;
        for (unsigned k = 1; k < nplans; k++) {
            t0 = t[k].t0 < t0 ? t[k].t0 : t0;
            t1 = t[k].t1 > t1 ? t[k].t1 : t1;
        }
    }
    getrusage(RUSAGE_SELF, &u1);
    long hwm = status_kib("VmHWM");
    exec_shared_free(&shared, e->a);
    for (unsigned k = 0; k < nplans; k++)
        if (t[k].rc != 0) {
            if (!failed)
                fprintf(stderr, "\nbench: %s: %s\n", e->name, t[k].x.error);
            failed = 1;
        }
    if (trace != NULL && fclose(trace) != 0) {
        fprintf(stderr, "\nbench: %s: %s\n", trace_path, strerror(errno));
        failed = 1;
    }

    /* Only what follows a workload's clock mark counts (destroy). */
    double secs = t[0].x.clock_ns != 0 ? t1 - t[0].x.clock_ns * 1e-9 : t1 - t0;
    printf(",\"ok\":%s,\"ops\":%llu,\"seconds\":%.6f,\"ns_per_op\":%.3f"
           ",\"peak_rss_kib\":%ld,\"rss_growth_kib\":%ld,\"requested_peak_kib\":%.1f"
           ",\"minflt\":%ld,\"threads\":%u}\n",
           failed ? "false" : "true", (unsigned long long)ops, secs,
           ops ? secs * 1e9 / (double)ops : 0.0, hwm, hwm - rss0,
           (double)peak / 1024.0, u1.ru_minflt - u0.ru_minflt, nplans);
    for (unsigned k = 0; k < MAX_THREADS; k++) {
        exec_free(&t[k].x);
        plan_free(&plans[k]);
    }
    free(plans);
    free(t);
    free(tid);
    return failed ? 1 : 0;
}
