/*
 * workload.h - the named workloads, the operation sequences ("plans")
 * they build and the executor that runs a plan on an allocator.
 *
 * cymem-stat (tools/) and the peer benchmark (bench/) both take their
 * workloads from here, so that a workload's name means one sequence of
 * operations in both.  A workload builds its plans from a seed before any
 * clock starts; the executor then does nothing but the operations, the
 * same way for every allocator (adapter.h).
 */
#ifndef WORKLOADS_WORKLOAD_H
#define WORKLOADS_WORKLOAD_H

#include "adapter.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* ---- Plans ---------------------------------------------------------------- */

enum op_kind {
    OP_ALLOC,    /* slots[slot] = block of size bytes */
    OP_ALIGNED,  /* the same, aligned to 1 << align_shift */
    OP_REALLOC,  /* resize slots[slot] from aux to size bytes */
    OP_FREE,     /* free slots[slot], of size bytes */
    OP_FREEALL,  /* free every live block of slots [slot, aux) of the scope;
                  * size 1: and drop the arena (a new one on next use) */
    OP_FILL,     /* write size bytes into slots[slot] (the workload's use) */
    OP_FLOATS,   /* size float operations over the float array slots[slot] */
    OP_SAMPLE,   /* take the memory snapshot here (not timed), once */
    OP_KEEP,     /* slots[slot] (size bytes) outlives its scope: it moves to
                  * the next slot from aux on in scope 0 (a copy there, for
                  * an allocator with arenas) */
    OP_REPEAT,   /* run ops [aux, here) size more times (no nesting) */
    OP_CLOCK,    /* the time that counts starts here */
    OP_HANDOFF,  /* free slots[slot], of size bytes, by another thread: the
                  * block goes to the next thread of the run, which frees it
                  * at one of its OP_DRAINs */
    OP_DRAIN     /* free the blocks handed to this thread so far; aux 1:
                  * the last, which waits until no more can come */
};
#define OP_KINDS (OP_DRAIN + 1)

/* One operation; 24 bytes, so a million of them take 24 MiB.  Sizes are
 * 64 bits wide: a traced program may ask for more than 4 GiB. */
struct op {
    uint8_t kind;
    uint8_t scope;       /* 0: the main arena; 1: the per-request arena */
    uint8_t align_shift;
    uint8_t pad;
    uint32_t slot;
    uint64_t size;
    uint64_t aux;
};

#define PLAN_SCOPES 2

struct plan {
    struct op *ops;      /* anonymous mapping, not malloc: keeps the heap clean */
    size_t nops, cap;
    uint32_t nslots;

    /* What the plan does, counted while it is built (repeats included);
     * frees count the blocks handed to another thread to free. */
    uint64_t allocs, frees, reallocs, other_ops;
    uint64_t handoffs;                    /* of those frees */
    /* Its scope 0 may be one arena that every thread of the run shares:
     * it never frees all of it, and drops it only when it is empty. */
    int shares_arena;
    uint64_t live_bytes, live_blocks;     /* running, while building */
    uint64_t sample_bytes, sample_blocks; /* live at the OP_SAMPLE */
    uint64_t peak_bytes;
    size_t sample_at;                     /* op index of the peak */
    uint64_t clock_ops;                   /* operations before the OP_CLOCK */

    /* Of a replayed trace: its runs ("= Start" ... "= End" with events in
     * between), the allocations that failed in the traced program, and
     * the lines cut short where a process died (not replayed). */
    uint64_t trace_runs, failed_allocs, cut_lines;

    /* While building: where the section plan_repeat() repeats starts, and
     * the counts there. */
    size_t section;
    uint64_t sec_allocs, sec_frees, sec_reallocs, sec_other, sec_handoffs;
    uint64_t sec_bytes, sec_blocks;
};

int plan_init(struct plan *p);
void plan_free(struct plan *p);
int plan_push(struct plan *p, const struct op *op);
int plan_alloc(struct plan *p, unsigned scope, uint32_t slot, uint64_t size);
int plan_aligned(struct plan *p, unsigned scope, uint32_t slot, uint64_t size,
                 unsigned align_shift);
int plan_realloc(struct plan *p, unsigned scope, uint32_t slot,
                 uint64_t old_size, uint64_t size);
int plan_free_block(struct plan *p, unsigned scope, uint32_t slot, uint64_t size);
int plan_free_all(struct plan *p, unsigned scope, uint32_t first, uint32_t end,
                  uint64_t blocks, uint64_t bytes);
/* plan_free_all() of every block still live in the plan. */
int plan_free_rest(struct plan *p, unsigned scope, uint32_t first, uint32_t end);
/* The arena of @scope is destroyed (its blocks are freed before). */
int plan_drop(struct plan *p, unsigned scope, uint32_t first, uint32_t end);
/* plan_free_all() that destroys the arena of @scope. */
int plan_drop_blocks(struct plan *p, unsigned scope, uint32_t first, uint32_t end,
                     uint64_t blocks, uint64_t bytes);
int plan_keep(struct plan *p, uint32_t slot, uint64_t size, uint32_t first_kept);
int plan_other(struct plan *p, enum op_kind kind, uint32_t slot, uint32_t size,
               uint64_t count);
/* Hand slots[slot] to the next thread, which frees it (a free). */
int plan_handoff(struct plan *p, uint32_t slot, uint64_t size);
/* Free what other threads handed over; @last: all of it, to the end. */
int plan_drain(struct plan *p, int last);
/* A repeated section: plan_section() marks its start, plan_repeat() its
 * end, to be run @times in all. */
void plan_section(struct plan *p);
int plan_repeat(struct plan *p, uint64_t times);
/* Only what follows is timed (and counted). */
int plan_clock(struct plan *p);
/* Insert the OP_SAMPLE at the point where the live bytes peaked. */
int plan_finish(struct plan *p);
/* Operations: allocations, resizes and frees (a free-all counts a free
 * per block), and the float operations; after the OP_CLOCK only. */
uint64_t plan_ops(const struct plan *p);

/* ---- Random numbers --------------------------------------------------------- */

/* splitmix64: small, fast, and the same sequence on every platform. */
static inline uint64_t rng_next(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* Uniform in [lo, hi]. */
static inline uint32_t rng_range(uint64_t *state, uint32_t lo, uint32_t hi)
{
    return lo + (uint32_t)(rng_next(state) % ((uint64_t)hi - lo + 1));
}

/* ---- Workloads -------------------------------------------------------------- */

struct params {
    double scale;        /* multiplies each workload's count */
    uint64_t iterations; /* when not 0: the count itself */
    unsigned threads;    /* of the workloads with a plan per thread */
    uint64_t seed;       /* 1 unless asked otherwise */
};

/* What an allocator must offer for a workload to apply to it. */
#define NEEDS_RELEASE 1
#define NEEDS_RESIZE 2
#define NEEDS_ALIGNED 4
/* Blocks are freed by another thread than the arena's own. */
#define NEEDS_THREADSAFE 8

struct workload {
    const char *name;
    const char *summary;
    uint64_t default_count;
    const char *count_means;  /* what the count counts, for --list */
    int in_default_set;       /* of cymem-stat */
    unsigned needs;           /* NEEDS_* */
    uint64_t seed;            /* added to params.seed - 1 */
    /* Fill plans[0..*nplans) (one per thread); return 0 or -1 with a
     * message in err. */
    int (*build)(const struct workload *w, const struct params *pr,
                 struct plan *plans, unsigned *nplans, char *err, size_t errlen);
    /* Its threads may share one arena (plan.shares_arena): an allocator
     * whose threads share one (adapter.shared) runs only these. */
    int shares_arena;
};

#define MAX_THREADS 256

extern const struct workload workloads[];
extern const size_t nworkloads;
const struct workload *workload_find(const char *name);
uint64_t workload_count(const struct workload *w, const struct params *pr);
/* Why @w does not apply to @a, or NULL. */
const char *workload_not_applicable(const struct workload *w, const struct adapter *a);

/* ---- The executor ------------------------------------------------------------ */

/* What the threads of one run share (exec.c): the one arena of an adapter
 * whose threads share one, and the rings that carry the blocks each thread
 * hands to the next (OP_HANDOFF) until that one frees them (OP_DRAIN).  A
 * ring is single-producer, single-consumer and lock-free: a hand-off
 * writes one entry and publishes the ring's end every EXEC_RING_BATCH
 * entries and at each drain; a drain reads the end once and frees what
 * has come.  It costs every allocator the same, and its time is in the
 * run's, as a program's own hand-off would be. */
struct exec_ring;
struct exec_shared {
    unsigned nthreads;
    void *arena;                 /* every thread's scope 0, or NULL */
    struct exec_ring *rings;     /* rings[t]: thread t to thread t + 1 */
    size_t rings_size;
    int failed;                  /* a thread failed: nobody waits for it */
    unsigned arrived, drained;   /* the quiet point before the snapshot */
};

#define EXEC_RING_SIZE 1024      /* entries: as many blocks as a thread keeps
                                  * live; a full ring makes its producer wait */
#define EXEC_RING_BATCH 32

/* Set up what the threads running @plans[0..n) on @a share: 0, or -1 with
 * a message in *error. */
int exec_shared_init(struct exec_shared *sh, const struct adapter *a,
                     const struct plan *plans, unsigned n, const char **error);
/* After every thread ended: destroy the shared arena, unmap the rings. */
void exec_shared_free(struct exec_shared *sh, const struct adapter *a);

struct exec {
    const struct adapter *a;
    struct exec_shared *shared;  /* of the run, or NULL; id is the thread */
    int zero;            /* zero-filled blocks (zalloc, resize) */
    int verify;          /* check every block's contents (slow) */
    FILE *trace;         /* each operation, as it is executed (slow) */
    unsigned id;         /* the first field of each line of the trace */
    void **slots;
    uint64_t *sizes;     /* of each slot's block */
    void *arena[PLAN_SCOPES];
    unsigned char owned[PLAN_SCOPES]; /* arena[k] is this thread's own */
    uint32_t kept;       /* OP_KEEPs so far */
    /* Called at OP_SAMPLE; and every EXEC_PEEK_EVERY operations and
     * before each free-all, with the arenas as they are. */
    void (*sample)(struct exec *);
    void (*peek)(struct exec *);
    void *ctx;
    const char *error;   /* set when an operation failed */
    int sampled;         /* OP_SAMPLE was reached */
    double clock_ns;     /* CLOCK_MONOTONIC at the OP_CLOCK, or 0 */
};

#define EXEC_PEEK_EVERY 4096

/* The op_kind the calling thread is executing, or EXEC_IDLE. */
#define EXEC_IDLE 255
extern __thread volatile unsigned char exec_op;

/* Allocate the slots of @p and the arenas: 0, or -1 with x->error.  Set
 * a, zero, verify, trace, the hooks and (for several threads) shared and
 * id first. */
int exec_init(struct exec *x, const struct plan *p);
/* Run @p: 0, or -1 with x->error. */
int exec_run(struct exec *x, const struct plan *p);
/* Free the slots, not the blocks or the arenas. */
void exec_free(struct exec *x);
double exec_now_ns(void);

#endif /* WORKLOADS_WORKLOAD_H */
