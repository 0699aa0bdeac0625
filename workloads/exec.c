/*
 * exec.c - run a plan on an allocator.
 *
 * The one executor of cymem-stat and the benchmark: every operation of a
 * plan becomes a call of the allocator's adapter, and nothing else
 * happens in between but writing the first and the last byte of each new
 * block, as a program would.  With verify, every block is checked to be
 * zero when handed out (if zero-filled blocks were asked for) and to keep
 * its contents until it is freed; with a trace, every operation is written
 * down as it is executed.  Both are slow and meant for tests.
 *
 * The threads of one run may share an arena and hand blocks to each other
 * to free (struct exec_shared, workload.h); what they share is set up
 * here too, so that both programs share it the same way.
 */
#include "config.h"

#include "workload.h"

#include <inttypes.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

__thread volatile unsigned char exec_op = EXEC_IDLE;

double exec_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

int exec_init(struct exec *x, const struct plan *p)
{
    size_t n = p->nslots ? p->nslots : 1;
    x->slots = calloc(n, sizeof *x->slots);
    x->sizes = calloc(n, sizeof *x->sizes);
    x->kept = 0;
    x->sampled = 0;
    x->clock_ns = 0;
    x->error = NULL;
    if (x->slots == NULL || x->sizes == NULL) {
        x->error = "out of memory for the slots";
        return -1;
    }
    /* Fault the tables in now, so that the run's pages are the allocator's. */
    for (size_t k = 0; k < n; k += 512) {
        ((void *volatile *)x->slots)[k] = NULL;
        ((volatile uint64_t *)x->sizes)[k] = 0;
    }
    for (int k = 0; k < PLAN_SCOPES; k++) {
        x->owned[k] = 0;
        if (k == 0 && x->shared && x->shared->arena)
            x->arena[k] = x->shared->arena;
        else if ((x->arena[k] = x->a->create()) == NULL) {
            x->error = "cannot create an arena";
            return -1;
        } else
            x->owned[k] = 1;
    }
    return 0;
}

void exec_free(struct exec *x)
{
    /* The thread's own arenas (a shared one is exec_shared_free()'s): a
     * checker of leaks then sees none. */
    for (int k = 0; k < PLAN_SCOPES; k++) {
        if (x->owned[k] && x->arena[k] != NULL)
            x->a->destroy(x->arena[k]);
        x->owned[k] = 0;
        x->arena[k] = NULL;
    }
    free(x->slots);
    free(x->sizes);
    x->slots = NULL;
    x->sizes = NULL;
}

static volatile float float_sink;

static void do_floats(float *a, uint32_t n)
{
    float sum = 0;
    for (uint32_t i = 0; i < n; i++)
        a[i] = (float)i * 0.5f;
    for (uint32_t i = 0; i < n; i++)
        sum += a[i] * 1.0001f;
    float_sink = sum;
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

/* ---- verify and trace ------------------------------------------------------- */

static uint8_t pattern(size_t slot) { return (uint8_t)(slot * 131 + 7); }

static int is_filled(const unsigned char *p, uint64_t from, uint64_t to, uint8_t c)
{
    for (uint64_t i = from; i < to; i++)
        if (p[i] != c)
            return 0;
    return 1;
}

/* A block still holds what was written into it. */
static int intact(struct exec *x, uint32_t slot)
{
    if (x->slots[slot] == NULL ||
        is_filled(x->slots[slot], 0, x->sizes[slot], pattern(slot)))
        return 1;
    x->error = "block contents changed";
    return 0;
}

/* A new block (or the new bytes from @from of a resized one) is zero if
 * it has to be, then written with its slot's pattern. */
static int fresh(struct exec *x, uint32_t slot, uint64_t from)
{
    unsigned char *p = x->slots[slot];
    if (x->zero && !is_filled(p, from, x->sizes[slot], 0)) {
        x->error = "block not zero-filled";
        return 0;
    }
    memset(p + from, pattern(slot), x->sizes[slot] - from);
    return 1;
}

static const char *const op_names[OP_KINDS] = {
    [OP_ALLOC] = "alloc", [OP_ALIGNED] = "aligned", [OP_REALLOC] = "realloc",
    [OP_FREE] = "free", [OP_FREEALL] = "freeall", [OP_FILL] = "fill",
    [OP_FLOATS] = "floats", [OP_SAMPLE] = "sample", [OP_KEEP] = "keep",
    [OP_REPEAT] = "repeat", [OP_CLOCK] = "clock", [OP_HANDOFF] = "handoff",
    [OP_DRAIN] = "drain",
};

/* One line an operation: the executor's id (its thread), what the
 * operation is, its scope, slot and sizes. */
static void trace(struct exec *x, const struct op *o)
{
    fprintf(x->trace, "%u %s %u %" PRIu32 " %" PRIu64 " %" PRIu64 " %u\n", x->id,
            op_names[o->kind], o->scope, o->slot, o->size, o->aux, o->align_shift);
}

/* ---- what the threads of a run share ------------------------------------------- */

/* A block on its way to the thread that frees it. */
struct handoff {
    void *block, *arena;
    uint64_t size;
    uint32_t slot;           /* the producer's, whose pattern the block holds */
};

/* Each index on a cache line of its own: the published ones are read by
 * the other side, the private ones only by their owner. */
struct exec_ring {
    size_t head __attribute__((aligned(64)));   /* freed up to, published */
    size_t tail __attribute__((aligned(64)));   /* written up to, published */
    int closed;                                 /* no more entries will come */
    size_t write __attribute__((aligned(64)));  /* the producer's: next entry */
    size_t seen_head;                           /* the producer's: head it saw */
    size_t read __attribute__((aligned(64)));   /* the consumer's: next entry */
    struct handoff items[EXEC_RING_SIZE] __attribute__((aligned(64)));
};

int exec_shared_init(struct exec_shared *sh, const struct adapter *a,
                     const struct plan *plans, unsigned n, const char **error)
{
    int share = a->shared, hands = 0;
    memset(sh, 0, sizeof *sh);
    sh->nthreads = n;
    for (unsigned i = 0; i < n; i++) {
        share &= plans[i].shares_arena;
        hands |= plans[i].handoffs != 0;
    }
    if (hands && (n < 2 || !a->threadsafe)) {
        *error = n < 2 ? "blocks handed to another thread need two threads or more"
                       : "the allocator cannot take a block freed by another thread";
        return -1;
    }
    if (share && (sh->arena = a->create()) == NULL) {
        *error = "cannot create the shared arena";
        return -1;
    }
    if (hands) {
        /* Mapped, not allocated: the rings are not the allocator's. */
        sh->rings_size = n * sizeof *sh->rings;
        void *m = mmap(NULL, sh->rings_size, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (m == MAP_FAILED) {
            *error = "out of memory for the hand-off rings";
            return -1;
        }
        sh->rings = m;
        /* Fault them in now, not during the run. */
        for (size_t k = 0; k < sh->rings_size; k += 4096)
            ((volatile char *)m)[k] = 0;
    }
    return 0;
}

void exec_shared_free(struct exec_shared *sh, const struct adapter *a)
{
    if (sh->arena)
        a->destroy(sh->arena);
    if (sh->rings)
        munmap(sh->rings, sh->rings_size);
    memset(sh, 0, sizeof *sh);
}

static struct exec_ring *ring_out(struct exec *x)
{
    return &x->shared->rings[x->id];
}

static struct exec_ring *ring_in(struct exec *x)
{
    unsigned n = x->shared->nthreads;
    return &x->shared->rings[(x->id + n - 1) % n];
}

static void ring_publish(struct exec_ring *r)
{
    __atomic_store_n(&r->tail, r->write, __ATOMIC_RELEASE);
}

/* Let the other threads run while this one waits for them: -1 when one
 * of them failed, and will not come. */
static int wait_turn(struct exec *x)
{
    if (__atomic_load_n(&x->shared->failed, __ATOMIC_ACQUIRE)) {
        x->error = "another thread of the run failed";
        return -1;
    }
    sched_yield();
    return 0;
}

/* Free every block that has come on @r. */
static int ring_drain(struct exec *x, struct exec_ring *r, int checked)
{
    size_t end = __atomic_load_n(&r->tail, __ATOMIC_ACQUIRE);
    if (end == r->read)
        return 0;
    for (; r->read != end; r->read++) {
        const struct handoff *h = &r->items[r->read & (EXEC_RING_SIZE - 1)];
        if (checked && x->verify && !is_filled(h->block, 0, h->size, pattern(h->slot))) {
            x->error = "block contents changed";
            return -1;
        }
        if (x->a->release(h->arena, h->block, (size_t)h->size) != 0) {
            x->error = "the allocator refused a block another thread handed over";
            return -1;
        }
    }
    __atomic_store_n(&r->head, end, __ATOMIC_RELEASE);
    return 0;
}

static int need_rings(struct exec *x)
{
    if (x->shared && x->shared->rings)
        return 0;
    x->error = "blocks handed to another thread need two threads or more";
    return -1;
}

/* OP_HANDOFF: put the block on the ring to the next thread; while the
 * ring is full, free what came from the previous one and let the others
 * run. */
static int handoff(struct exec *x, void *block, uint64_t size, uint32_t slot, int checked)
{
    if (need_rings(x) != 0)
        return -1;
    struct exec_ring *r = ring_out(x);
    while (r->write - r->seen_head == EXEC_RING_SIZE) {
        r->seen_head = __atomic_load_n(&r->head, __ATOMIC_ACQUIRE);
        if (r->write - r->seen_head < EXEC_RING_SIZE)
            break;
        ring_publish(r);
        if (ring_drain(x, ring_in(x), checked) != 0 || wait_turn(x) != 0)
            return -1;
    }
    struct handoff *h = &r->items[r->write & (EXEC_RING_SIZE - 1)];
    h->block = block;
    h->arena = x->arena[0];
    h->size = size;
    h->slot = slot;
    if ((++r->write & (EXEC_RING_BATCH - 1)) == 0)
        ring_publish(r);
    return 0;
}

/* OP_DRAIN: publish what this thread handed over, free what it was
 * handed.  The last one closes this thread's ring, frees until the
 * previous thread closed its own, then waits until the next thread has
 * freed everything this one handed it: its arena may go after that. */
static int drain(struct exec *x, int last, int checked)
{
    if (need_rings(x) != 0)
        return -1;
    struct exec_ring *out = ring_out(x), *in = ring_in(x);
    ring_publish(out);
    if (!last)
        return ring_drain(x, in, checked);
    __atomic_store_n(&out->closed, 1, __ATOMIC_RELEASE);
    for (;;) {
        int closed = __atomic_load_n(&in->closed, __ATOMIC_ACQUIRE);
        if (ring_drain(x, in, checked) != 0)
            return -1;
        if (closed)
            break;
        if (wait_turn(x) != 0)
            return -1;
    }
    while (__atomic_load_n(&out->head, __ATOMIC_ACQUIRE) != out->write)
        if (wait_turn(x) != 0)
            return -1;
    return 0;
}

/* Before the snapshot of a run whose threads hand blocks over: every
 * thread stops handing over, and frees what it was handed, so that no
 * block is on its way when the snapshot is taken.  Threads that wait
 * keep freeing what comes: a thread still running never waits for them. */
static int quiesce(struct exec *x, int checked)
{
    struct exec_shared *sh = x->shared;
    struct exec_ring *in = ring_in(x);
    ring_publish(ring_out(x));
    __atomic_add_fetch(&sh->arrived, 1, __ATOMIC_ACQ_REL);
    while (__atomic_load_n(&sh->arrived, __ATOMIC_ACQUIRE) < sh->nthreads)
        if (ring_drain(x, in, checked) != 0 || wait_turn(x) != 0)
            return -1;
    if (ring_drain(x, in, checked) != 0)
        return -1;
    __atomic_add_fetch(&sh->drained, 1, __ATOMIC_ACQ_REL);
    while (__atomic_load_n(&sh->drained, __ATOMIC_ACQUIRE) < sh->nthreads)
        if (wait_turn(x) != 0)
            return -1;
    return 0;
}

/* ---- the loop ------------------------------------------------------------------- */

static void *arena_of(struct exec *x, unsigned scope)
{
    if (x->arena[scope] == NULL)
        x->arena[scope] = x->a->create();
    return x->arena[scope];
}

/* An arena that every thread of the run shares is never freed all at
 * once by one of them: its blocks are freed one by one, and the run
 * destroys it at the end. */
static int free_all(struct exec *x, const struct op *o, int checked)
{
    const struct adapter *a = x->a;
    void *arena = x->arena[o->scope];
    int shared = arena != NULL && x->shared && arena == x->shared->arena;
    for (uint64_t s = o->slot; s < o->aux; s++) {
        if (x->slots[s] == NULL)
            continue;
        if (checked && x->verify && !intact(x, (uint32_t)s))
            return -1;
        if (a->blocks_need_release || shared)
            a->release(arena, x->slots[s], (size_t)x->sizes[s]);
        x->slots[s] = NULL;
    }
    if (arena == NULL || shared)
        return 0;
    if (o->size) {
        a->destroy(arena);
        x->arena[o->scope] = NULL;
    } else if (a->reset) {
        a->reset(arena);
    } else {
        a->destroy(arena);
        x->arena[o->scope] = a->create();
    }
    return 0;
}

/* @checked: verify or trace; inlined twice so that the timed runs do not
 * pay for the checks' branches. */
static inline __attribute__((always_inline)) int
exec_ops(struct exec *x, const struct op *ops, size_t n, const int checked)
{
    const struct adapter *a = x->a;
    void **slots = x->slots;
    uint64_t *sizes = x->sizes;
    uint64_t repeat_left = UINT64_MAX;   /* UINT64_MAX: not in a section */
    void *(*alloc)(void *, size_t) = x->zero || !a->alloc ? a->zalloc : a->alloc;
    void *(*resize)(void *, void *, size_t, size_t) =
        x->zero || !a->realloc ? a->resize : a->realloc;
    for (size_t i = 0; i < n; i++) {
        const struct op *o = &ops[i];
        void *p;
        if (x->peek && ((i & (EXEC_PEEK_EVERY - 1)) == 0 || o->kind == OP_FREEALL))
            x->peek(x);
        if (checked && x->trace && o->kind != OP_REPEAT && o->kind != OP_SAMPLE)
            trace(x, o);
        exec_op = o->kind;
        switch (o->kind) {
        case OP_ALLOC:
            p = too_big(o->size) ? NULL : alloc(arena_of(x, o->scope), (size_t)o->size);
            goto placed;
        case OP_ALIGNED:
            p = a->aligned(arena_of(x, o->scope), (size_t)o->size,
                           (size_t)1 << o->align_shift, x->zero);
            if (checked && x->verify && p && ((uintptr_t)p & ((1u << o->align_shift) - 1))) {
                x->error = "block not aligned";
                return -1;
            }
            goto placed;
        case OP_REALLOC:
            if (checked && x->verify && !intact(x, o->slot))
                return -1;
            p = too_big(o->size) ? NULL
                : resize(arena_of(x, o->scope), slots[o->slot], (size_t)o->aux,
                         (size_t)o->size);
        placed:
            if (p == NULL) {
                x->error = o->kind == OP_REALLOC ? "realloc failed" : "allocation failed";
                return -1;
            }
            slots[o->slot] = p;
            sizes[o->slot] = o->size;
            if (checked && x->verify) {
                if (!fresh(x, o->slot, o->kind == OP_REALLOC && o->aux < o->size ? o->aux
                                       : o->kind == OP_REALLOC ? o->size : 0))
                    return -1;
            } else if (o->size) {
                ((volatile char *)p)[0] = 1;
                ((volatile char *)p)[o->size - 1] = 1;
            }
            break;
        case OP_FREE:
            if (checked && x->verify && !intact(x, o->slot))
                return -1;
            if (a->release(x->arena[o->scope], slots[o->slot], (size_t)o->size) != 0) {
                x->error = "the allocator refused to free a live block";
                return -1;
            }
            slots[o->slot] = NULL;
            break;
        case OP_HANDOFF:
            if (checked && x->verify && !intact(x, o->slot))
                return -1;
            if (handoff(x, slots[o->slot], o->size, o->slot, checked) != 0)
                return -1;
            slots[o->slot] = NULL;
            break;
        case OP_DRAIN:
            if (drain(x, o->aux != 0, checked) != 0)
                return -1;
            break;
        case OP_FREEALL:
            if (free_all(x, o, checked) != 0)
                return -1;
            break;
        case OP_KEEP: {
            uint32_t to = (uint32_t)o->aux + x->kept++;
            if (checked && x->verify && !intact(x, o->slot))
                return -1;
            if (a->blocks_need_release) {
                /* No arenas: the block simply stays allocated. */
                slots[to] = slots[o->slot];
                slots[o->slot] = NULL;
            } else {
                if ((slots[to] = alloc(arena_of(x, 0), (size_t)o->size)) == NULL) {
                    x->error = "allocation failed";
                    return -1;
                }
                if (!(checked && x->verify))
                    memcpy(slots[to], slots[o->slot], (size_t)o->size);
            }
            sizes[to] = o->size;
            if (checked && x->verify && !fresh(x, to, a->blocks_need_release ? o->size : 0))
                return -1;
            if (checked && x->verify && a->blocks_need_release)
                memset(slots[to], pattern(to), (size_t)o->size);
            break;
        }
        case OP_FILL:
        case OP_FLOATS:
            if (o->kind == OP_FILL)
                memset(slots[o->slot], 0x5a, (size_t)o->size);
            else
                do_floats(slots[o->slot], (uint32_t)o->size);
            /* The block's use is not a change of its contents. */
            if (checked && x->verify)
                memset(slots[o->slot], pattern(o->slot), (size_t)sizes[o->slot]);
            break;
        case OP_SAMPLE:
            if (!x->sampled && x->sample) {
                if (x->shared && x->shared->rings && quiesce(x, checked) != 0)
                    return -1;
                x->sample(x);
            }
            x->sampled = 1;
            break;
        case OP_REPEAT:
            if (repeat_left == UINT64_MAX)
                repeat_left = o->size;
            if (repeat_left > 0) {
                repeat_left--;
                i = (size_t)o->aux - 1;
            } else {
                repeat_left = UINT64_MAX;
            }
            break;
        case OP_CLOCK:
            x->clock_ns = exec_now_ns();
            break;
        }
    }
    exec_op = EXEC_IDLE;
    if (x->peek)
        x->peek(x);
    return 0;
}

static __attribute__((noinline)) int exec_fast(struct exec *x, const struct plan *p)
{
    return exec_ops(x, p->ops, p->nops, 0);
}

static __attribute__((noinline)) int exec_checked(struct exec *x, const struct plan *p)
{
    return exec_ops(x, p->ops, p->nops, 1);
}

int exec_run(struct exec *x, const struct plan *p)
{
    int rc = x->verify || x->trace ? exec_checked(x, p) : exec_fast(x, p);
    exec_op = EXEC_IDLE;
    if (rc != 0 && x->shared) {
        /* Nobody waits for this thread any more. */
        __atomic_store_n(&x->shared->failed, 1, __ATOMIC_RELEASE);
        if (x->shared->rings) {
            ring_publish(ring_out(x));
            __atomic_store_n(&ring_out(x)->closed, 1, __ATOMIC_RELEASE);
        }
    }
    return rc;
}
