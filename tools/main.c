/*
 * main.c - cymem-stat: options, sub-commands and the order of the runs.
 *
 *   cymem-stat [OPTION]...                   the default set of workloads
 *   cymem-stat [OPTION]... replay FILE...    replay mtrace logs or recordings
 *   cymem-stat record [-o FILE] -- PROG [ARG]...
 *
 * Exit status: 0 success, 1 a workload (or the recorded program) failed,
 * 2 bad usage or unreadable input.
 */
#include "config.h"

#include "cymem-stat.h"

#include <cymem.h>

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

const char *progname = "cymem-stat";

enum { EXIT_WORKLOAD = 1, EXIT_USAGE = 2 };

static void usage_error(const char *fmt, ...)
    __attribute__((noreturn, format(printf, 1, 2)));

static void usage_error(const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "%s: ", progname);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nTry '%s --help' for more information.\n", progname);
    exit(EXIT_USAGE);
}

static void print_help(void)
{
    printf("Usage: %s [OPTION]...\n"
           "  or:  %s [OPTION]... replay FILE...\n"
           "  or:  %s record [-o FILE] -- PROGRAM [ARGUMENT]...\n"
           "Run allocation workloads against malloc, other allocators and libcymem\n"
           "pools, and compare time, memory and fragmentation.\n"
           "\n"
           "  -w, --workload=NAME[,NAME]  run these workloads (see --list)\n"
           "  -a, --allocators=NAME[,NAME]  compare these: malloc, jemalloc, tcmalloc,\n"
           "                              mimalloc, pool, pool-ts, pool-shared\n"
           "                              (default malloc,pool)\n"
           "  -l, --list                  list the workloads and exit\n"
           "  -s, --scale=FACTOR          multiply every workload's size (default 1)\n"
           "  -n, --iterations=N          set every workload's count to N\n"
           "  -t, --threads=N             threads of 'threads', 'shared' and\n"
           "                              'shared-xfree' (default: CPUs)\n"
           "  -r, --repeat=N              runs per workload and backend (default: 5, up\n"
           "                              to 15 while the speed-up varies widely)\n"
           "  -S, --seed=N                seed of the operation sequences (default 1)\n"
           "  -j, --json                  print one JSON object\n"
           "  -c, --csv                   print CSV with a header row\n"
           "  -q, --quiet                 print only the results: no progress, no chart\n"
           "  -o, --output=FILE           write the report (or the trace) to FILE\n"
           "  -h, --help                  display this help and exit\n"
           "  -V, --version               output version information and exit\n"
           "\n"
           "'replay FILE' replays a glibc mtrace log, or every FILE.PID log of a\n"
           "recording, through each allocator; 'record' runs PROGRAM with the glibc\n"
           "tracer and writes a log FILE.PID for each of its processes.\n"
           "\n"
           "Exit status: 0 success, 1 a workload failed, 2 bad usage or input.\n"
           "See cymem-stat(1) for the workloads and the meaning of every figure.\n"
           "Report bugs to: %s\n",
           progname, progname, progname, PACKAGE_BUGREPORT);
}

static void print_version(void)
{
    printf("cymem-stat (%s) %s\n", PACKAGE_NAME, PACKAGE_VERSION);
    printf("library: libcymem %s (headers %s)\n", cymem_version(), CYMEM_VERSION_STRING);
    printf("C library: %s\n", libc_version());
}

static void print_list(const struct params *pr)
{
    for (size_t i = 0; i < nworkloads; i++) {
        const struct workload *w = &workloads[i];
        printf("%-12s %s\n", w->name, w->summary);
        if (w->build)
            printf("%-12s count %llu %s%s\n", "",
                   (unsigned long long)workload_count(w, pr), w->count_means,
                   w->in_default_set ? "" : " (not in the default set)");
    }
}

static unsigned long long parse_count(const char *opt, const char *arg,
                                      unsigned long long min, unsigned long long max)
{
    char *end;
    errno = 0;
    /* Decimal, always: "010" is ten and "09" is nine, as people mean them. */
    unsigned long long v = strtoull(arg, &end, 10);
    if (errno || end == arg || *end || !(arg[0] >= '0' && arg[0] <= '9') || v < min ||
        v > max)
        usage_error("invalid %s '%s' (a whole number from %llu to %llu)",
                    opt, arg, min, max);
    return v;
}

/* The long option @arg ("--name" or "--name=value") names exactly, or
 * abbreviates; *@matches counts those it may be (1 for an exact name). */
static const struct option *long_option(const char *arg, const struct option *longopts,
                                        int *matches)
{
    size_t n = strcspn(arg + 2, "=");
    const struct option *found = NULL;
    *matches = 0;
    for (const struct option *l = longopts; l->name; l++) {
        if (strncmp(l->name, arg + 2, n) != 0)
            continue;
        if (l->name[n] == '\0') {
            *matches = 1;
            return l;
        }
        found = l;
        ++*matches;
    }
    return found;
}

/* Say what is wrong with the option getopt_long() stopped at, @c being
 * what it returned (':' or '?'), @arg the argument it was last in: the
 * option for a long one, which getopt_long() has stepped past.  With
 * opterr 0 it says nothing itself, and its optopt is the short option in
 * the way, or a long option's value (0 for one it does not know). */
static void bad_option(int c, const char *arg, const struct option *longopts)
{
    int matches = 0, n = (int)strcspn(arg, "=");
    const struct option *o = strncmp(arg, "--", 2) == 0 ? long_option(arg, longopts, &matches)
                                                        : NULL;
    if (c == ':' && o)
        usage_error("option '--%s' requires an argument", o->name);
    if (c == ':')
        usage_error("option requires an argument -- '%c'", optopt);
    if (optopt == 0)
        usage_error(matches > 1 ? "option '%.*s' is ambiguous" : "unrecognized option '%.*s'",
                    n, arg);
    if (o && o->val == optopt && arg[n] == '=')
        usage_error("option '--%s' doesn't allow an argument", o->name);
    usage_error("invalid option -- '%c'", optopt);
}

/* The factor of --scale: a decimal number, digits with a fraction and an
 * exponent or not, and nothing else (strtod() would take a blank, a
 * sign, hexadecimal, "inf" and "nan" too). */
static double parse_scale(const char *arg)
{
    char *end;
    errno = 0;
    double v = strtod(arg, &end);
    int decimal = (isdigit((unsigned char)arg[0]) ||
                   (arg[0] == '.' && isdigit((unsigned char)arg[1]))) &&
                  strspn(arg, "0123456789.eE+-") == strlen(arg);
    if (!decimal || errno || *end || !(v > 0) || !isfinite(v) || v > 1e6)
        usage_error("invalid scale '%s' (a decimal number above 0, at most 1e6)", arg);
    return v;
}

/* Flush standard output: 0, or 1 with a message when it could not be
 * written (a full disk, a closed pipe); a lost --help is a failure too. */
static int finish_stdout(void)
{
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "%s: write error: %s\n", progname, strerror(errno));
        return EXIT_WORKLOAD;
    }
    return 0;
}

/* Whether workload @w hands blocks to another thread (its frees need a
 * thread-safe allocator) but @pr runs one thread. */
static int needs_two_threads(const struct workload *w, const struct params *pr)
{
    return (w->needs & NEEDS_THREADSAFE) && pr->threads < 2;
}

/* Whether @output names the same file as one of the traces (both exist),
 * or, not existing, the name of a recording replayed: the report would
 * then hide the recording's logs from the next replay of that name. */
static const char *output_is_input(const char *output, const struct input *in, size_t n)
{
    struct stat o, st;
    if (stat(output, &o) != 0) {
        char **logs;
        size_t nlogs;
        const char *hit = NULL;
        if (logset_find(output, &logs, &nlogs) != 0)
            return NULL;
        for (size_t k = 0; k < nlogs && hit == NULL && stat(logs[k], &o) == 0; k++)
            for (size_t i = 0; i < n && hit == NULL; i++)
                if (in[i].set && stat(in[i].path, &st) == 0 && st.st_dev == o.st_dev &&
                    st.st_ino == o.st_ino)
                    hit = in[i].set;
        logset_free(logs, nlogs);
        return hit;
    }
    for (size_t i = 0; i < n; i++)
        if (stat(in[i].path, &st) == 0 && st.st_dev == o.st_dev && st.st_ino == o.st_ino)
            return in[i].path;
    return NULL;
}

/* ---- running ------------------------------------------------------------------ */

struct progress {
    int enabled;
    double start;
    int shown;
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void progress_show(struct progress *pg, const char *name, unsigned run,
                          unsigned runs)
{
    if (!pg->enabled || now_s() - pg->start < 1.0)
        return;
    fprintf(stderr, "\r%s: %-24.24s run %u/%u   ", progname, name, run, runs);
    fflush(stderr);
    pg->shown = 1;
}

static void progress_clear(struct progress *pg)
{
    if (pg->shown)
        fprintf(stderr, "\r%*s\r", 60, "");
    pg->shown = 0;
}

/* The median of one uint64_t field over @n samples. */
static uint64_t median_field(const struct sample *s, unsigned n, size_t offset)
{
    double d[n];
    struct stat3 st;
    for (unsigned i = 0; i < n; i++)
        d[i] = (double)*(const uint64_t *)((const char *)&s[i] + offset);
    stat3_of(d, n, &st);
    return (uint64_t)st.median;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The fragmentation figures of @br from its byte counts. */
static void derive_fragmentation(struct backend_result *br)
{
    br->internal_frag = br->used ? (double)(br->used - br->requested) / (double)br->used : 0;
    br->external_frag = br->reserved ? (double)(br->reserved - br->used) / (double)br->reserved : 0;
}

/* Summarise the runs of one backend. */
static void summarise(struct backend_result *br, const struct sample *s, unsigned n)
{
    double t[n];
    br->runs = n;
    br->ops = s[0].ops;
    for (unsigned i = 0; i < n; i++)
        t[i] = s[i].time_ns;
    stat3_of(t, n, &br->time_ns);
    br->ns_per_op = br->ops ? br->time_ns.median / (double)br->ops : 0;
    br->ops_per_sec = br->time_ns.median > 0 ? (double)br->ops * 1e9 / br->time_ns.median : 0;
    br->peak_rss = median_field(s, n, offsetof(struct sample, peak_rss));
    br->requested = median_field(s, n, offsetof(struct sample, requested));
    br->used = median_field(s, n, offsetof(struct sample, used));
    br->reserved = median_field(s, n, offsetof(struct sample, reserved));
    br->metadata = median_field(s, n, offsetof(struct sample, metadata));
    br->peak_reserved = median_field(s, n, offsetof(struct sample, peak_reserved));
    br->mapped = median_field(s, n, offsetof(struct sample, mapped));
    br->untouched = median_field(s, n, offsetof(struct sample, untouched));
    double f[n], u[n], sy[n], mj[n];
    struct stat3 st;
    memset(br->prof, 0, sizeof br->prof);
    for (unsigned i = 0; i < n; i++) {
        for (int k = 0; k < PROF_KINDS; k++)
            br->prof[k] += s[i].prof[k];
        f[i] = (double)s[i].usage.minflt;
        mj[i] = (double)s[i].usage.majflt;
        u[i] = s[i].usage.utime_ns;
        sy[i] = s[i].usage.stime_ns;
    }
    stat3_of(f, n, &st);
    br->usage.minflt = (uint64_t)st.median;
    stat3_of(mj, n, &st);
    br->usage.majflt = (uint64_t)st.median;
    stat3_of(u, n, &st);
    br->usage.utime_ns = st.median;
    stat3_of(sy, n, &st);
    br->usage.stime_ns = st.median;
    br->have_memory = s[0].have_memory;
    br->have_reserved = s[0].have_memory && s[0].have_reserved;
    br->have_mapped = s[0].have_mapped;
    derive_fragmentation(br);
}

/* @num's time over @den's: the medians' ratio, and the ratios of the
 * extremes. */
static void ratio_of(struct stat3 *out, const struct stat3 *num, const struct stat3 *den)
{
    out->median = den->median > 0 ? num->median / den->median : 0;
    out->min = den->max > 0 ? num->min / den->max : 0;
    out->max = den->min > 0 ? num->max / den->min : 0;
}

/* Each allocator's speed-up over the first (none where either does not
 * run the workload), and the result's speed-up. */
static void speedup_of(struct result *res, const struct report *rep)
{
    for (unsigned k = 0; k < rep->nalloc; k++) {
        struct stat3 *sp = &res->be[k].speedup;
        if (res->be[0].na || res->be[k].na)
            sp->median = sp->min = sp->max = NAN;
        else if (k == 0)
            sp->median = sp->min = sp->max = 1;   /* not its fastest over its slowest */
        else
            ratio_of(sp, &res->be[0].time_ns, &res->be[k].time_ns);
    }
    res->speedup = res->be[res->target].speedup;
}

/* The allocator of @res's speed-up: the report's, or where that one does
 * not run the workload, the first pool (or else allocator) that does. */
static unsigned result_target(const struct result *res, const struct report *rep)
{
    if (!res->be[rep->target].na)
        return rep->target;
    for (int pass = 0; pass < 2; pass++)
        for (unsigned k = 1; k < rep->nalloc; k++)
            if (!res->be[k].na && (pass || backend_is_pool(rep->alloc[k].kind)))
                return k;
    return 0;
}

/* The speed-up of each pair of runs, and the quartiles of those. */
static void pair_spread(struct result *res, struct sample s[][MAX_REPEAT], unsigned n,
                        unsigned target)
{
    /* Runs of the allocators alternate, so run r of each saw about the
     * same machine: the ratio of a pair is one estimate of the speed-up,
     * and the middle half of those estimates says how firm it is. */
    double pair[MAX_REPEAT];
    for (unsigned r = 0; r < n; r++)
        pair[r] = s[target][r].time_ns > 0 ? s[0][r].time_ns / s[target][r].time_ns : 0;
    qsort(pair, n, sizeof *pair, cmp_double);
    res->speedup_q1 = pair[(n - 1) / 4];
    res->speedup_q3 = pair[n - 1 - (n - 1) / 4];
    res->spread_wide = res->speedup_q1 > 0 && res->speedup_q3 / res->speedup_q1 > SPREAD_WIDE;
}

/* Run one workload's plans on every allocator it applies to (w), alternating:
 * @repeat times, or with @repeat 0 from DEFAULT_REPEAT times on, two more
 * rounds at a time while the speed-up's spread is wide, up to
 * AUTO_REPEAT_MAX rounds and AUTO_REPEAT_SECONDS. */
static void run_workload(struct result *res, const struct workload *w,
                         const struct plan *plans, unsigned nplans, struct report *rep,
                         struct progress *pg)
{
    static struct sample s[MAX_ALLOCATORS][MAX_REPEAT];
    unsigned repeat = rep->repeat, want = repeat ? repeat : DEFAULT_REPEAT, done = 0;
    double t0 = now_s();
    res->allocs = res->frees = res->reallocs = 0;
    for (unsigned i = 0; i < nplans; i++) {
        res->allocs += plans[i].allocs;
        res->frees += plans[i].frees;
        res->reallocs += plans[i].reallocs;
    }
    for (unsigned b = 0; b < rep->nalloc; b++)
        res->be[b].na = workload_not_applicable(w, backend_adapters[rep->alloc[b].kind]);
    res->target = result_target(res, rep);
    struct plan_set ps;
    if (plan_set_export(&ps, plans, nplans, res->error, sizeof res->error) != 0) {
        res->failed = 1;
        return;
    }
    for (;;) {
        for (; done < want; done++)
            for (unsigned b = 0; b < rep->nalloc; b++) {
                if (res->be[b].na)
                    continue;
                progress_show(pg, res->name, done + 1, want);
                if (run_once(&ps, &rep->alloc[b], &s[b][done]) != 0) {
                    res->failed = 1;
                    snprintf(res->error, sizeof res->error, "%s", s[b][done].error);
                    plan_set_close(&ps);
                    return;
                }
            }
        if (res->target == 0 || res->be[0].na) {
            /* One allocator, or none to compare with. */
            res->speedup_q1 = res->speedup_q3 = NAN;
            break;
        }
        pair_spread(res, s, done, res->target);
        if (repeat || !res->spread_wide || done + 2 > AUTO_REPEAT_MAX ||
            now_s() - t0 > AUTO_REPEAT_SECONDS)
            break;
        want = done + 2;
    }
    plan_set_close(&ps);
    for (unsigned b = 0; b < rep->nalloc; b++) {
        if (res->be[b].na)
            continue;
        summarise(&res->be[b], s[b], done);
        if (rep->alloc[b].identity[0] == '\0')
            memcpy(rep->alloc[b].identity, s[b][0].identity, sizeof rep->alloc[b].identity);
    }
    speedup_of(res, rep);
}

/* Say on standard error what went wrong with @res, or is doubtful about
 * it; -1 if it failed. */
static int tell(const struct result *res, struct progress *pg)
{
    const char *what = res->source ? res->source : res->name;
    if (res->failed) {
        progress_clear(pg);
        fprintf(stderr, "%s: workload %s failed: %s\n", progname, res->name, res->error);
        return -1;
    }
    if (res->cut_lines && strcmp(res->name, "replay") == 0) {
        progress_clear(pg);
        fprintf(stderr, "%s: note: %s is incomplete: %llu line%s cut short where the "
                "process died, not replayed\n", progname, what,
                (unsigned long long)res->cut_lines, res->cut_lines == 1 ? "" : "s");
    }
    if (res->skipped) {
        progress_clear(pg);
        fprintf(stderr, "%s: note: %s: no allocation, not replayed\n", progname, what);
    } else if (res->spread_wide) {
        progress_clear(pg);
        fprintf(stderr, "%s: warning: %s: the speed-up varies widely between runs "
                "(%.2fx to %.2fx over the middle half); use a larger --repeat on an "
                "idle machine\n", progname, what, res->speedup_q1, res->speedup_q3);
    }
    return 0;
}

/* The workloads named in @wlist (a comma-separated list), or the default
 * set when there is no list and no trace to replay. */
static size_t choose_workloads(const char *wlist, int nfiles, const struct workload **chosen,
                               size_t max)
{
    size_t n = 0;
    if (wlist == NULL) {
        for (size_t i = 0; i < nworkloads && nfiles == 0; i++)
            if (workloads[i].in_default_set)
                chosen[n++] = &workloads[i];
        return n;
    }
    char buf[512];
    if (strlen(wlist) >= sizeof buf)
        usage_error("workload list too long");
    if (*wlist && (wlist[0] == ',' || wlist[strlen(wlist) - 1] == ',' || strstr(wlist, ",,")))
        usage_error("empty name in the workload list '%s'", wlist);
    strcpy(buf, wlist);
    for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok;
         tok = strtok_r(NULL, ",", &save)) {
        const struct workload *w = workload_find(tok);
        if (w == NULL)
            usage_error("unknown workload '%s' (see --list)", tok);
        if (w->build == NULL)
            usage_error("workload 'replay' needs a file: %s replay FILE", progname);
        if (n == max)
            usage_error("too many workloads");
        chosen[n++] = w;
    }
    if (n == 0)
        usage_error("empty workload list");
    return n;
}

static void free_plans(struct plan *plans)
{
    for (unsigned k = 0; k < MAX_THREADS; k++)
        plan_free(&plans[k]);
}

/* Build and run the named workload @w into @res. */
static void run_named(struct result *res, const struct workload *w, const struct params *pr,
                      struct report *rep, struct plan *plans, struct progress *pg)
{
    unsigned nplans = 1;
    char err[300] = "";
    snprintf(res->name, sizeof res->name, "%s", w->name);
    res->count = workload_count(w, pr);
    int rc = w->build(w, pr, plans, &nplans, err, sizeof err);
    res->threads = nplans;
    if (rc != 0) {
        res->failed = 1;
        snprintf(res->error, sizeof res->error, "%.190s", err);
    } else {
        run_workload(res, w, plans, nplans, rep, pg);
    }
    free_plans(plans);
}

/* The row "total" of a recording: the sums of its processes' rows
 * @first .. @end (skipped and failed ones left out).  Times add up as if
 * the processes ran one after another; memory adds up as if they all
 * held their peaks at once: an upper bound. */
static void total_of(struct result *t, const struct result *first, const struct result *end,
                     const char *set, const struct report *rep)
{
    snprintf(t->name, sizeof t->name, "total");
    t->source = set;
    t->threads = 1;
    for (unsigned b = 0; b < rep->nalloc; b++) {
        t->be[b].have_memory = t->be[b].have_reserved = t->be[b].have_mapped = 1;
        t->be[b].runs = UINT_MAX;
    }
    for (const struct result *r = first; r < end; r++) {
        if (r->failed || r->skipped)
            continue;
        t->processes++;
        t->count += r->count;
        t->allocs += r->allocs;
        t->frees += r->frees;
        t->reallocs += r->reallocs;
        t->trace_runs += r->trace_runs;
        t->failed_allocs += r->failed_allocs;
        t->cut_lines += r->cut_lines;
        for (unsigned b = 0; b < rep->nalloc; b++) {
            struct backend_result *tb = &t->be[b];
            const struct backend_result *rb = &r->be[b];
            if (rb->na)
                tb->na = rb->na;
            if (rb->runs < tb->runs)
                tb->runs = rb->runs;
            tb->ops += rb->ops;
            tb->time_ns.median += rb->time_ns.median;
            tb->time_ns.min += rb->time_ns.min;
            tb->time_ns.max += rb->time_ns.max;
            tb->peak_rss += rb->peak_rss;
            tb->requested += rb->requested;
            tb->used += rb->used;
            tb->reserved += rb->reserved;
            tb->peak_reserved += rb->peak_reserved;
            tb->mapped += rb->mapped;
            tb->untouched += rb->untouched;
            tb->metadata += rb->metadata;
            for (int k = 0; k < PROF_KINDS; k++)
                tb->prof[k] += rb->prof[k];
            tb->usage.minflt += rb->usage.minflt;
            tb->usage.majflt += rb->usage.majflt;
            tb->usage.utime_ns += rb->usage.utime_ns;
            tb->usage.stime_ns += rb->usage.stime_ns;
            tb->have_memory &= rb->have_memory;
            tb->have_reserved &= rb->have_reserved;
            tb->have_mapped &= rb->have_mapped;
        }
    }
    if (t->processes == 0) {
        t->failed = 1;
        snprintf(t->error, sizeof t->error, "no process of %s could be replayed", set);
        return;
    }
    for (unsigned b = 0; b < rep->nalloc; b++) {
        struct backend_result *tb = &t->be[b];
        tb->ns_per_op = tb->ops ? tb->time_ns.median / (double)tb->ops : 0;
        tb->ops_per_sec = tb->time_ns.median > 0 ? (double)tb->ops * 1e9 / tb->time_ns.median : 0;
        derive_fragmentation(tb);
    }
    t->target = result_target(t, rep);
    speedup_of(t, rep);
    t->speedup_q1 = t->speedup_q3 = NAN;   /* no pairs of runs of its own */
}

/* Replay the trace @in into @res; the trace was checked before. */
static void run_trace(struct result *res, const struct input *in, struct report *rep,
                      struct plan *plans, struct progress *pg)
{
    char err[300] = "";
    const char *path = in->path;
    snprintf(res->name, sizeof res->name, "replay");
    res->source = path;
    res->threads = 1;
    res->profile = profile_new();
    int rc = replay_build(path, in->copy, &plans[0], res->profile, err, sizeof err);
    if (rc == REPLAY_EMPTY && in->set) {
        res->skipped = 1;   /* a process that allocated nothing */
    } else if (rc != 0) {
        res->failed = 1;
        snprintf(res->error, sizeof res->error, "%.190s", err);
    } else {
        res->count = plan_ops(&plans[0]);
        res->trace_runs = plans[0].trace_runs;
        res->failed_allocs = plans[0].failed_allocs;
        res->cut_lines = plans[0].cut_lines;
        run_workload(res, workload_find("replay"), plans, 1, rep, pg);
    }
    free_plans(plans);
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "workload", required_argument, NULL, 'w' },
        { "allocators", required_argument, NULL, 'a' },
        { "list", no_argument, NULL, 'l' },
        { "scale", required_argument, NULL, 's' },
        { "iterations", required_argument, NULL, 'n' },
        { "threads", required_argument, NULL, 't' },
        { "repeat", required_argument, NULL, 'r' },
        { "seed", required_argument, NULL, 'S' },
        { "json", no_argument, NULL, 'j' },
        { "csv", no_argument, NULL, 'c' },
        { "quiet", no_argument, NULL, 'q' },
        { "output", required_argument, NULL, 'o' },
        { "help", no_argument, NULL, 'h' },
        { "version", no_argument, NULL, 'V' },
        /* Not in --help: every run writes the operations it executes to
         * FILE, one a line, as the benchmark's --trace does (the tests
         * compare the two). */
        { "trace", required_argument, NULL, 'T' + 256 },
        { NULL, 0, NULL, 0 }
    };
    struct params pr = { 1.0, 0, 0, 1 };
    struct report rep;
    enum format fmt = FORMAT_TABLE;
    const char *wlist = NULL, *output = NULL, *alist = "malloc,pool";
    int list = 0, quiet = 0, c, status = 0, threads_given = 0;
    const char *shaping = NULL;  /* an option that shapes workloads only */
    int not_record = 0;          /* an option of running or reporting, not of record */
    unsigned repeat = 0;   /* automatic */
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);

    if (argc > 1 && strcmp(argv[1], "--run-one") == 0)
        return run_helper_main(argc, argv);
    unsetenv(TRACE_ENV);   /* the runs write their operations with --trace only */
    pr.threads = ncpu > 0 ? (unsigned)(ncpu < MAX_THREADS ? ncpu : MAX_THREADS) : 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":w:a:ls:n:t:r:S:jcqo:hV", longopts, NULL)) != -1) {
        switch (c) {
        case 'w': wlist = optarg; break;
        case 'a': alist = optarg; break;
        case 'l': list = 1; break;
        case 's':
            pr.scale = parse_scale(optarg);
            shaping = "--scale";
            break;
        case 'n':
            pr.iterations = parse_count("iteration count", optarg, 1, 1000000000);
            shaping = "--iterations";
            break;
        case 't':
            pr.threads = (unsigned)parse_count("thread count", optarg, 1, MAX_THREADS);
            threads_given = 1;
            shaping = "--threads";
            break;
        case 'r': repeat = (unsigned)parse_count("repeat count", optarg, 1, MAX_REPEAT); break;
        case 'S':
            pr.seed = parse_count("seed", optarg, 0, ULLONG_MAX);
            shaping = "--seed";
            break;
        case 'j': fmt = FORMAT_JSON; break;
        case 'c': fmt = FORMAT_CSV; break;
        case 'q': quiet = 1; break;
        case 'o': output = optarg; break;
        case 'h': print_help(); return finish_stdout();
        case 'V': print_version(); return finish_stdout();
        case 'T' + 256: setenv(TRACE_ENV, optarg, 1); break;
        default:
            /* musl steps optind past argc for a missing last argument. */
            bad_option(c, argv[(optind <= argc ? optind : argc) - 1], longopts);
        }
        if (c != 'o' && c != 'T' + 256)
            not_record = c;
    }

    /* Sub-commands. */
    char **files = NULL;
    int nfiles = 0;
    struct input *inputs = NULL;
    size_t ninputs = 0;
    if (optind < argc) {
        if (strcmp(argv[optind], "record") == 0) {
            if (optind + 1 >= argc)
                usage_error("record: no program given (record [-o FILE] -- PROGRAM [ARG]...)");
            for (const struct option *o = longopts; not_record && o->name; o++)
                if (o->val == not_record)
                    usage_error("record: option '--%s' would be ignored: record takes -o "
                                "alone (record [-o FILE] -- PROGRAM [ARG]...)", o->name);
            return record_main(output ? output : "cymem-trace.log", &argv[optind + 1]);
        }
        if (strcmp(argv[optind], "replay") != 0)
            usage_error("unknown command '%s' (expected 'replay' or 'record')", argv[optind]);
        files = &argv[optind + 1];
        nfiles = argc - optind - 1;
        if (nfiles == 0)
            usage_error("replay: no trace file given");
    }
    if (list) {
        print_list(&pr);
        return finish_stdout();
    }

    /* Bad allocator names are bad usage, found before anything runs. */
    struct allocator wanted[MAX_ALLOCATORS];
    unsigned nwanted;
    char aerr[200];
    if (allocators_parse(alist, wanted, &nwanted, aerr, sizeof aerr) != 0)
        usage_error("%s", aerr);

    const struct workload *chosen[64];
    size_t nchosen = choose_workloads(wlist, nfiles, chosen, sizeof chosen / sizeof chosen[0]);
    /* A replay runs each trace as recorded: an option that only shapes
     * workloads, given with traces alone, would be ignored. */
    if (nchosen == 0 && shaping != NULL)
        usage_error("%s shapes workloads, and 'replay' runs each trace as recorded "
                    "(add --workload to run workloads too)", shaping);
    /* A workload that hands blocks to another thread, asked to run with
     * one, is bad usage; on one processor, it runs with two. */
    for (size_t i = 0; i < nchosen && threads_given; i++)
        if (needs_two_threads(chosen[i], &pr))
            usage_error("%s needs two threads or more (--threads)", chosen[i]->name);

    /* A bad trace is bad input: say so before anything runs.  A process
     * of a recording may have allocated nothing; a trace given alone must
     * have allocated something. */
    char err[300];
    if (inputs_expand(files, nfiles, &inputs, &ninputs, err, sizeof err) != 0) {
        fprintf(stderr, "%s: %s\n", progname, err);
        return EXIT_USAGE;
    }
    size_t nsets = 0, set_logs = 0, set_empty = 0;
    for (size_t i = 0; i < ninputs; i++) {
        struct plan check;
        plan_init(&check);
        int rc = replay_build(inputs[i].path, inputs[i].copy, &check, NULL, err, sizeof err);
        plan_free(&check);
        if (rc != 0 && !(rc == REPLAY_EMPTY && inputs[i].set)) {
            fprintf(stderr, "%s: %s\n", progname, err);
            inputs_free(inputs, ninputs);
            return EXIT_USAGE;
        }
        set_logs++;
        set_empty += rc == REPLAY_EMPTY;
        if (inputs[i].set && inputs[i].last && set_empty == set_logs) {
            /* A recording must have allocated something, as a trace. */
            fprintf(stderr, "%s: %s: no allocation to replay (%zu log%s, none with a "
                    "successful '+' or '>' event)\n", progname, inputs[i].set, set_logs,
                    set_logs == 1 ? "" : "s");
            inputs_free(inputs, ninputs);
            return EXIT_USAGE;
        }
        if (!inputs[i].set || inputs[i].last)
            set_logs = set_empty = 0;
        nsets += inputs[i].last;
    }
    const char *clash = output ? output_is_input(output, inputs, ninputs) : NULL;
    if (clash)
        usage_error("the output '%s' is the trace '%s': it would be %s", output, clash,
                    access(output, F_OK) == 0 ? "overwritten" : "hidden by the report");
    if (output && freopen(output, "w", stdout) == NULL) {
        fprintf(stderr, "%s: cannot write '%s': %s\n", progname, output, strerror(errno));
        inputs_free(inputs, ninputs);
        return EXIT_WORKLOAD;   /* output that cannot be written, as for a full disk */
    }

    memset(&rep, 0, sizeof rep);
    rep.params = pr;
    rep.repeat = repeat;
    rep.argc = argc;
    rep.argv = argv;
    /* Allocators that are not installed are left out, with a note. */
    for (unsigned i = 0; i < nwanted; i++) {
        if (wanted[i].available) {
            rep.alloc[rep.nalloc++] = wanted[i];
            continue;
        }
        rep.missing[rep.nmissing++] = wanted[i];
        fprintf(stderr, "%s: note: %s is %s: left out\n", progname, wanted[i].name,
                wanted[i].identity);
    }
    if (rep.nalloc == 0) {
        fprintf(stderr, "%s: none of the allocators '%s' is installed\n", progname, alist);
        inputs_free(inputs, ninputs);
        return EXIT_WORKLOAD;
    }
    /* The speed-up of the report: the first pool's over the first
     * allocator, or the second allocator's without a pool. */
    rep.target = rep.nalloc > 1 ? 1 : 0;
    for (unsigned k = rep.nalloc; k-- > 1;)
        if (backend_is_pool(rep.alloc[k].kind))
            rep.target = k;
    rep.results = calloc(nchosen + ninputs + nsets, sizeof *rep.results);
    struct plan *plans = calloc(MAX_THREADS, sizeof *plans);
    if (rep.results == NULL || plans == NULL) {
        fprintf(stderr, "%s: out of memory\n", progname);
        return EXIT_WORKLOAD;
    }
    struct progress pg = { !quiet && isatty(STDERR_FILENO), now_s(), 0 };
    struct result *set_first = NULL;
    for (size_t i = 0; i < nchosen + ninputs; i++) {
        struct result *res = &rep.results[rep.nresults++];
        const struct input *in = i < nchosen ? NULL : &inputs[i - nchosen];
        struct params wp = pr;
        if (in == NULL && needs_two_threads(chosen[i], &pr))
            wp.threads = 2;
        if (in == NULL)
            run_named(res, chosen[i], &wp, &rep, plans, &pg);
        else
            run_trace(res, in, &rep, plans, &pg);
        if (in && in->set && set_first == NULL)
            set_first = res;
        if (tell(res, &pg) != 0)
            status = EXIT_WORKLOAD;
        if (in && in->last) {
            /* The recording's last process: its total follows. */
            struct result *t = &rep.results[rep.nresults++];
            total_of(t, set_first, t, in->set, &rep);
            set_first = NULL;
            if (tell(t, &pg) != 0)
                status = EXIT_WORKLOAD;
        }
    }
    progress_clear(&pg);
    output_report(&rep, fmt, quiet);
    if (finish_stdout() != 0)
        status = EXIT_WORKLOAD;
    free(plans);
    for (size_t i = 0; i < rep.nresults; i++)
        profile_free(rep.results[i].profile);
    free(rep.results);
    inputs_free(inputs, ninputs);
    return status;
}
