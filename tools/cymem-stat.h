/*
 * cymem-stat.h - shared declarations of the cymem-stat program.
 *
 * cymem-stat runs allocation workloads against malloc, other allocators
 * (jemalloc, tcmalloc, mimalloc, preloaded) and libcymem pools, and reports
 * time, memory and fragmentation side by side.  The pieces:
 *
 *   main.c       options, sub-commands, the order of runs
 *   run.c        executes a plan on one backend and measures it
 *   runproc.c    gives each run a fresh process image (fork, then exec)
 *   allocators.c the allocators of --allocators, and which malloc a run has
 *   profile.c    where a run's time goes: sampled by kind of operation
 *   output.c     the table, the bar chart, JSON and CSV
 *   replay.c     turns a glibc mtrace log into a plan
 *   sites.c      a replayed log's call sites and sizes
 *   record.c     `cymem-stat record': runs a program under the mtrace tracer
 *   mtrace-start.c  the module record preloads: a log per process
 *   inputs.c     replay's arguments: trace files and recordings
 *
 * Every allocator executes the same plan: the operations are generated
 * once, before any timing, and only then handed to each of them.  The
 * plans, the named workloads, the executor and the adapters of malloc and
 * libcymem are the workloads/ library's, shared with the benchmark.
 */
#ifndef CYMEM_STAT_H
#define CYMEM_STAT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "workload.h"

/* ---- Replayed traces -------------------------------------------------------- */

/* Build a plan from an mtrace log (replay.c); 0, or -1 with a message
 * naming the file and line in err (a malformed trace: bad input), or
 * REPLAY_EMPTY when the log holds no allocation.  The log is read from
 * @copy (from its start) where it is not NULL, else from the file @path;
 * @path names it in messages either way. */
#define REPLAY_EMPTY (-2)
struct trace_profile;
int replay_build(const char *path, FILE *copy, struct plan *plan,
                 struct trace_profile *prof, char *err, size_t errlen);

/* The longest line of a trace, its newline not counted: far more than a
 * tracer writes (an event after its caller, a file name), and the most a
 * line read from a stream may take. */
#define REPLAY_LINE_MAX (1024 * 1024)

/* Read the next line of the trace @path from @f into *@line (a buffer as
 * getline()'s, *@cap bytes) and check it alone, as replay_build() checks
 * it (replay.c); *@lineno counts the lines read.  Its length (with its
 * newline: a last line without one, cut short, is not checked), 0 at the
 * end of the trace, or -1 with the message replay_build() gives for it
 * in err: a read error, a line longer than REPLAY_LINE_MAX, or holding a
 * NUL byte, or no event.  A line longer than that is not read to its end.
 * Whether a line may follow the ones before it (a '>' line after its '<',
 * a realloc onto a live block) is replay_build()'s alone to check. */
ssize_t replay_read_line(FILE *f, const char *path, unsigned long *lineno, char **line,
                         size_t *cap, char *err, size_t errlen);

/* A replayed trace's call sites and sizes (sites.c).  While the trace is
 * read, profile_note() counts each event under its caller (@site, @len
 * bytes, NULL for none) with its requested @bytes, and an allocation in
 * the histogram; profile_finish() keeps the top PROFILE_TOP sites by
 * operations and by bytes. */
#define PROFILE_TOP 10
#define PROFILE_BUCKETS 48   /* sizes up to 2^0, 2^1, ... 2^46, and above */
struct site {
    char *name;
    uint64_t ops, bytes;
};
struct site_map;
struct trace_profile {
    struct site_map *map;    /* while reading */
    struct site top_ops[PROFILE_TOP], top_bytes[PROFILE_TOP];
    size_t ntop, nsites;
    uint64_t size_hist[PROFILE_BUCKETS];   /* allocations of size <= 2^b */
};
struct trace_profile *profile_new(void);
int profile_note(struct trace_profile *p, const char *site, size_t len, int alloc,
                 uint64_t bytes);
int profile_finish(struct trace_profile *p);
void profile_free(struct trace_profile *p);

/* ---- Where the time goes (profile.c) ----------------------------------------- */

/* Categories of operations: alloc (and aligned), realloc, free, free-all,
 * use of the memory. */
#define PROF_KINDS 5
#define PROF_IDLE EXEC_IDLE   /* prof_op outside any operation */
extern const char *const prof_names[PROF_KINDS];
/* The op_kind the calling thread is executing, or PROF_IDLE. */
#define prof_op exec_op
void prof_start(void);
void prof_stop(uint64_t counts[PROF_KINDS]);

struct usage {
    uint64_t minflt, majflt;
    double utime_ns, stime_ns;
};
void usage_now(struct usage *u);

/* ---- Measurement ------------------------------------------------------------ */

/* How a run allocates: malloc and friends (of whatever library provides
 * them in the run's process), or libcymem pools: a plain one per thread,
 * a CYMEM_POOL_THREADSAFE one per thread, or one CYMEM_POOL_THREADSAFE
 * pool that the threads share (in the workloads whose threads may). */
enum backend { BACKEND_MALLOC, BACKEND_POOL, BACKEND_POOL_TS, BACKEND_POOL_SHARED,
               NBACKENDS };
extern const char *const backend_names[NBACKENDS];
/* The adapter of each backend: adapter_malloc, adapter_cymem,
 * adapter_cymem_ts, adapter_cymem_shared. */
extern const struct adapter *const backend_adapters[NBACKENDS];
#define backend_is_pool(b) ((b) != BACKEND_MALLOC)

/* An allocator of --allocators (allocators.c). */
#define MAX_ALLOCATORS 7
struct allocator {
    char name[16];           /* malloc, jemalloc, tcmalloc, mimalloc, pool,
                              * pool-ts, pool-shared */
    enum backend kind;
    char preload[256];       /* the library preloaded into its runs, or "" */
    int available;
    char identity[96];       /* which malloc it was, said by its first run */
};
/* Parse a comma-separated list into @out (at most MAX_ALLOCATORS): 0, or
 * -1 with a message for a bad list.  Missing libraries are marked. */
int allocators_parse(const char *list, struct allocator *out, unsigned *n, char *err,
                     size_t errlen);
/* Whether the dynamic loader can load @name (tried in a child). */
int loadable(const char *name);

/* What one run of one plan set on one backend measured. */
struct sample {
    int ok;
    char error[160];
    double time_ns;          /* wall time of the operations, snapshot excluded */
    uint64_t ops;
    uint64_t peak_rss;       /* VmHWM growth over the run, bytes */
    uint64_t requested;      /* live requested bytes at the snapshot */
    uint64_t used;           /* bytes the live blocks occupy */
    uint64_t reserved;       /* bytes held from the system, at the snapshot */
    uint64_t peak_reserved;  /* the same at its own peak over the run */
    uint64_t metadata;       /* pool bookkeeping (0 for malloc) */
    int have_memory;         /* 0: used bytes unknown (no malloc_usable_size) */
    int have_reserved;       /* 0: reserved unknown (not glibc's heap) */
    /* From /proc/self/smaps, the same for every backend, at the snapshot
     * against just before the run: the growth of the process's writable
     * anonymous mappings, and the part of it never touched (neither
     * resident nor swapped out). */
    uint64_t mapped, untouched;
    int have_mapped;         /* 0: no /proc/self/smaps */
    char identity[96];       /* the malloc adapter's identify() in the run */
    uint64_t prof[PROF_KINDS];   /* SIGPROF samples by kind of operation */
    struct usage usage;      /* page faults, user and system time of the run */
};

/* The bytes malloc keeps in front of each block, for the used bytes. */
void run_set_malloc_header(size_t bytes);
/* Execute @plans on backend @b in this process and measure (run.c);
 * with @trace, write each operation there as it is executed. */
void run_measure(const struct plan *plans, unsigned nplans, enum backend b,
                 FILE *trace, struct sample *out);

/* The plans of one workload, in a file the runs map (runproc.c). */
struct plan_set {
    int fd;
};
int plan_set_export(struct plan_set *ps, const struct plan *plans, unsigned n,
                    char *err, size_t errlen);
void plan_set_close(struct plan_set *ps);
/* One run of @ps on @b in a fresh process image; 0, or -1 with out->error. */
int run_once(const struct plan_set *ps, const struct allocator *a, struct sample *out);
/* main() of that fresh process: cymem-stat --run-one BACKEND PLAN-FD OUT-FD. */
int run_helper_main(int argc, char **argv);

/* ---- Results and output ----------------------------------------------------- */

struct stat3 { double median, min, max; };

struct backend_result {
    const char *na;          /* why the allocator does not run the workload */
    unsigned runs;
    uint64_t ops;
    struct stat3 time_ns;
    double ns_per_op, ops_per_sec;
    uint64_t peak_rss, requested, used, reserved, peak_reserved, metadata;
    uint64_t mapped, untouched;
    double internal_frag, external_frag;
    int have_memory, have_reserved, have_mapped;
    struct stat3 speedup;    /* the first allocator's time / this one's */
    uint64_t prof[PROF_KINDS];   /* summed over the runs */
    struct usage usage;      /* medians over the runs */
};

struct result {
    char name[64];
    const char *source;      /* the trace file for replay, else NULL */
    uint64_t count;
    unsigned threads;
    int failed;
    char error[200];
    struct backend_result be[MAX_ALLOCATORS];   /* one per report allocator */
    unsigned target;         /* the allocator of speedup: the report's, or
                              * where that one does not run the workload,
                              * the next pool (or allocator) that does */
    struct stat3 speedup;    /* the first allocator's time / the target's */
    double speedup_q1, speedup_q3;  /* quartiles of the run pairs' ratios */
    int spread_wide;         /* q3 / q1 above SPREAD_WIDE */
    uint64_t allocs, frees, reallocs;
    uint64_t trace_runs, failed_allocs, cut_lines;  /* replay only */
    unsigned processes;      /* a recording's total: the logs it sums */
    struct trace_profile *profile;   /* replay only; may be NULL */
    int skipped;             /* a recording's log without allocations */
};

/* Without --repeat: DEFAULT_REPEAT pairs of runs, then two more at a time
 * while the middle half of the pairs' speed-ups spans more than a factor
 * SPREAD_WIDE, up to AUTO_REPEAT_MAX pairs or AUTO_REPEAT_SECONDS. */
#define DEFAULT_REPEAT 5
#define AUTO_REPEAT_MAX 15
#define AUTO_REPEAT_SECONDS 1.0
#define SPREAD_WIDE 1.2
#define MAX_REPEAT 1000

struct report {
    struct params params;
    struct allocator alloc[MAX_ALLOCATORS];   /* those that ran */
    unsigned nalloc;
    struct allocator missing[MAX_ALLOCATORS];   /* asked for, not installed */
    unsigned nmissing;
    unsigned target;         /* the allocator result.speedup is of: the
                              * first pool, or the second allocator */
    char **argv;             /* the command line */
    int argc;
    unsigned repeat;         /* 0: automatic */
    struct result *results;
    size_t nresults;
};

enum format { FORMAT_TABLE, FORMAT_JSON, FORMAT_CSV };

/* The JSON's schema_version: raised when a field changes meaning. */
#define JSON_SCHEMA_VERSION 2

void output_report(const struct report *r, enum format f, int quiet);
void stat3_of(const double *v, unsigned n, struct stat3 *out);

/* ---- record ------------------------------------------------------------------ */

int record_main(const char *output, char **argv);

/* The logs BASE.PID of the recording BASE, sorted by PID (record.c): 0,
 * or -1 if the directory cannot be read.  Free with logset_free(). */
int logset_find(const char *base, char ***paths, size_t *n);
void logset_free(char **paths, size_t n);

/* The traces given to replay (inputs.c): a file, or each log of a
 * recording, @set naming the recording and @last marking its last log.
 * A trace that can be read only once (a pipe, /dev/stdin) is read into
 * @copy, an unnamed file, since it is read twice: checked, then run; its
 * lines are checked one by one as they are read (replay_read_line()), so
 * that a stream that is no trace stops at its first bad line. */
struct input {
    char *path;
    const char *set;
    int last;
    FILE *copy;
};
int inputs_expand(char **args, int nargs, struct input **out, size_t *n, char *err,
                  size_t errlen);
void inputs_free(struct input *in, size_t n);

extern const char *progname;
/* The file of --trace (hidden, for the tests), passed to the runs as
 * CYMEM_STAT_RUN_TRACE: not CYMEM_STAT_TRACE, which record sets for the
 * processes it records, cymem-stat among them maybe.  Only --trace sets
 * it. */
#define TRACE_ENV "CYMEM_STAT_RUN_TRACE"

#endif /* CYMEM_STAT_H */
