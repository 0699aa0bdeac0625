/*
 * plan.c - operation sequences ("plans"), built once and executed the same
 * way on every allocator.
 *
 * A plan is an array of struct op in an anonymous mapping rather than on the
 * heap: the forked run that executes it then starts with an almost empty
 * malloc heap, so what mallinfo2() reports is the workload's doing.  While a
 * plan is built it counts its operations and tracks its live bytes, which
 * gives the operation count and the requested bytes at the snapshot for
 * every allocator without asking any of them.
 */
#include "config.h"

#include "workload.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>

int plan_init(struct plan *p)
{
    memset(p, 0, sizeof *p);
    return 0;
}

void plan_free(struct plan *p)
{
    if (p->ops)
        munmap(p->ops, p->cap * sizeof *p->ops);
    memset(p, 0, sizeof *p);
}

static int plan_grow(struct plan *p)
{
    size_t cap = p->cap ? p->cap * 2 : 4096;
#ifdef HAVE_MREMAP
    if (p->ops) {
        /* Grow in place or move the pages: no copy, no second array. */
        struct op *ops = mremap(p->ops, p->cap * sizeof *ops, cap * sizeof *ops,
                                MREMAP_MAYMOVE);
        if (ops == MAP_FAILED) {
            errno = ENOMEM;
            return -1;
        }
        p->ops = ops;
        p->cap = cap;
        return 0;
    }
#endif
    struct op *ops = mmap(NULL, cap * sizeof *ops, PROT_READ | PROT_WRITE,
                          MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (ops == MAP_FAILED) {
        errno = ENOMEM;
        return -1;
    }
    if (p->ops) {
        memcpy(ops, p->ops, p->nops * sizeof *ops);
        munmap(p->ops, p->cap * sizeof *p->ops);
    }
    p->ops = ops;
    p->cap = cap;
    return 0;
}

int plan_push(struct plan *p, const struct op *op)
{
    if (p->nops == p->cap && plan_grow(p) != 0)
        return -1;
    p->ops[p->nops++] = *op;
    if (op->kind != OP_FREEALL && op->slot >= p->nslots)
        p->nslots = op->slot + 1;
    if (op->kind == OP_FREEALL && op->aux > p->nslots)
        p->nslots = op->aux;
    return 0;
}

/* Remember the point after the last push if the live bytes peak there. */
static void note_peak(struct plan *p)
{
    if (p->live_bytes > p->peak_bytes || p->sample_at == 0) {
        p->peak_bytes = p->live_bytes;
        p->sample_at = p->nops;
        p->sample_bytes = p->live_bytes;
        p->sample_blocks = p->live_blocks;
    }
}

static int push(struct plan *p, enum op_kind kind, unsigned scope, uint32_t slot,
                uint64_t size, uint64_t aux, unsigned align_shift)
{
    struct op op = { (uint8_t)kind, (uint8_t)scope, (uint8_t)align_shift, 0,
                     slot, size, aux };
    return plan_push(p, &op);
}

int plan_aligned(struct plan *p, unsigned scope, uint32_t slot, uint64_t size,
                 unsigned align_shift)
{
    if (push(p, align_shift ? OP_ALIGNED : OP_ALLOC, scope, slot, size, 0,
             align_shift) != 0)
        return -1;
    p->allocs++;
    p->live_blocks++;
    p->live_bytes += size;
    note_peak(p);
    return 0;
}

int plan_alloc(struct plan *p, unsigned scope, uint32_t slot, uint64_t size)
{
    return plan_aligned(p, scope, slot, size, 0);
}

int plan_realloc(struct plan *p, unsigned scope, uint32_t slot,
                 uint64_t old_size, uint64_t size)
{
    if (push(p, OP_REALLOC, scope, slot, size, old_size, 0) != 0)
        return -1;
    p->reallocs++;
    p->live_bytes += size - old_size;
    note_peak(p);
    return 0;
}

int plan_free_block(struct plan *p, unsigned scope, uint32_t slot, uint64_t size)
{
    if (push(p, OP_FREE, scope, slot, size, 0, 0) != 0)
        return -1;
    p->frees++;
    p->live_blocks--;
    p->live_bytes -= size;
    return 0;
}

int plan_handoff(struct plan *p, uint32_t slot, uint64_t size)
{
    if (push(p, OP_HANDOFF, 0, slot, size, 0, 0) != 0)
        return -1;
    p->frees++;
    p->handoffs++;
    p->live_blocks--;
    p->live_bytes -= size;
    return 0;
}

int plan_drain(struct plan *p, int last)
{
    return push(p, OP_DRAIN, 0, 0, 0, last ? 1 : 0, 0);
}

static int free_all(struct plan *p, unsigned scope, uint32_t first, uint32_t end,
                    uint64_t blocks, uint64_t bytes, int drop)
{
    if (push(p, OP_FREEALL, scope, first, drop, end, 0) != 0)
        return -1;
    p->frees += blocks;
    p->live_blocks -= blocks;
    p->live_bytes -= bytes;
    return 0;
}

int plan_free_all(struct plan *p, unsigned scope, uint32_t first, uint32_t end,
                  uint64_t blocks, uint64_t bytes)
{
    return free_all(p, scope, first, end, blocks, bytes, 0);
}

int plan_free_rest(struct plan *p, unsigned scope, uint32_t first, uint32_t end)
{
    return free_all(p, scope, first, end, p->live_blocks, p->live_bytes, 0);
}

int plan_drop_blocks(struct plan *p, unsigned scope, uint32_t first, uint32_t end,
                     uint64_t blocks, uint64_t bytes)
{
    return free_all(p, scope, first, end, blocks, bytes, 1);
}

int plan_drop(struct plan *p, unsigned scope, uint32_t first, uint32_t end)
{
    return free_all(p, scope, first, end, p->live_blocks, p->live_bytes, 1);
}

/* The block is the program's one block, freed once, later: it counts as
 * no allocation.  Its bytes count twice until its scope is freed, since
 * an allocator with arenas holds a copy in scope 0 and the original
 * (whose bytes that free-all then takes away). */
int plan_keep(struct plan *p, uint32_t slot, uint64_t size, uint32_t first_kept)
{
    if (push(p, OP_KEEP, 1, slot, size, first_kept, 0) != 0)
        return -1;
    p->live_bytes += size;
    note_peak(p);
    return 0;
}

void plan_section(struct plan *p)
{
    p->section = p->nops;
    p->sec_allocs = p->allocs;
    p->sec_frees = p->frees;
    p->sec_reallocs = p->reallocs;
    p->sec_other = p->other_ops;
    p->sec_handoffs = p->handoffs;
    p->sec_bytes = p->live_bytes;
    p->sec_blocks = p->live_blocks;
}

int plan_repeat(struct plan *p, uint64_t times)
{
    if (times <= 1)
        return 0;
    uint64_t more = times - 1;
    if (push(p, OP_REPEAT, 0, 0, more, p->section, 0) != 0)
        return -1;
    p->allocs += (p->allocs - p->sec_allocs) * more;
    p->frees += (p->frees - p->sec_frees) * more;
    p->reallocs += (p->reallocs - p->sec_reallocs) * more;
    p->other_ops += (p->other_ops - p->sec_other) * more;
    p->handoffs += (p->handoffs - p->sec_handoffs) * more;
    /* Unsigned arithmetic: a section that frees more than it allocates
     * comes out right too. */
    p->live_bytes += (p->live_bytes - p->sec_bytes) * more;
    p->live_blocks += (p->live_blocks - p->sec_blocks) * more;
    note_peak(p);
    return 0;
}

int plan_clock(struct plan *p)
{
    if (push(p, OP_CLOCK, 0, 0, 0, 0, 0) != 0)
        return -1;
    p->clock_ops = plan_ops(p);
    return 0;
}

int plan_other(struct plan *p, enum op_kind kind, uint32_t slot, uint32_t size,
               uint64_t count)
{
    if (push(p, kind, 0, slot, size, 0, 0) != 0)
        return -1;
    p->other_ops += count;
    return 0;
}

int plan_finish(struct plan *p)
{
    struct op sample = { OP_SAMPLE, 0, 0, 0, 0, 0, 0 };
    size_t at = p->sample_at;
    if (p->nops == p->cap && plan_grow(p) != 0)
        return -1;
    memmove(&p->ops[at + 1], &p->ops[at], (p->nops - at) * sizeof *p->ops);
    p->ops[at] = sample;
    p->nops++;
    /* A section that starts after the snapshot moves with it. */
    for (size_t i = at + 1; i < p->nops; i++)
        if (p->ops[i].kind == OP_REPEAT && p->ops[i].aux > at)
            p->ops[i].aux++;
    return 0;
}

uint64_t plan_ops(const struct plan *p)
{
    return p->allocs + p->frees + p->reallocs + p->other_ops - p->clock_ops;
}
