/*
 * profile.c - where a run's time goes.
 *
 * Timing every operation would cost more than many operations do, so a
 * run is sampled instead: the executor notes the kind of the operation it
 * is in (one store a operation, to a thread-local variable), and a
 * timer, every PROF_INTERVAL_US of wall time (the time the report
 * measures; CPU-time timers only tick with the scheduler, every few
 * milliseconds), sends SIGPROF, whose handler counts the kind the
 * interrupted thread was in.  About 4,000 signals a second cost each
 * allocator the same one per cent or so.  The counts give the split of
 * the CPU time between allocation, resizing, freeing, freeing everything
 * and using the memory; their number says how much to trust it.
 *
 * getrusage() gives the page faults and the user and system time.
 */
#include "config.h"

#include "cymem-stat.h"

#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#define PROF_INTERVAL_US 250

const char *const prof_names[PROF_KINDS] = { "alloc", "realloc", "free", "free_all", "use" };

static uint64_t counts[PROF_KINDS];
static timer_t timer;
static int timer_live;

/* The category of each op_kind; PROF_KINDS for none. */
static const unsigned char category[] = {
    [OP_ALLOC] = 0, [OP_ALIGNED] = 0, [OP_REALLOC] = 1, [OP_FREE] = 2,
    [OP_FREEALL] = 3, [OP_FILL] = 4, [OP_FLOATS] = 4, [OP_SAMPLE] = PROF_KINDS,
    [OP_KEEP] = 0, [OP_REPEAT] = PROF_KINDS, [OP_CLOCK] = PROF_KINDS,
    [OP_HANDOFF] = 2, [OP_DRAIN] = 2,
};

static void on_sigprof(int sig)
{
    (void)sig;
    unsigned op = prof_op;
    if (op < sizeof category && category[op] < PROF_KINDS)
        __atomic_fetch_add(&counts[category[op]], 1, __ATOMIC_RELAXED);
}

void prof_start(void)
{
    struct sigaction sa;
    struct sigevent sev;
    struct itimerspec it = { { 0, PROF_INTERVAL_US * 1000 }, { 0, PROF_INTERVAL_US * 1000 } };
    memset(counts, 0, sizeof counts);
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigprof;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    memset(&sev, 0, sizeof sev);
    sev.sigev_notify = SIGEV_SIGNAL;
    sev.sigev_signo = SIGPROF;
    if (sigaction(SIGPROF, &sa, NULL) == 0 && timer_create(CLOCK_MONOTONIC, &sev, &timer) == 0) {
        timer_live = 1;
        timer_settime(timer, 0, &it, NULL);
    }
}

void prof_stop(uint64_t out[PROF_KINDS])
{
    if (timer_live) {
        timer_delete(timer);
        timer_live = 0;
    }
    for (int k = 0; k < PROF_KINDS; k++)
        out[k] = __atomic_load_n(&counts[k], __ATOMIC_RELAXED);
}

void usage_now(struct usage *u)
{
    struct rusage ru;
    memset(u, 0, sizeof *u);
    if (getrusage(RUSAGE_SELF, &ru) != 0)
        return;
    u->minflt = (uint64_t)ru.ru_minflt;
    u->majflt = (uint64_t)ru.ru_majflt;
    u->utime_ns = (double)ru.ru_utime.tv_sec * 1e9 + (double)ru.ru_utime.tv_usec * 1e3;
    u->stime_ns = (double)ru.ru_stime.tv_sec * 1e9 + (double)ru.ru_stime.tv_usec * 1e3;
}
