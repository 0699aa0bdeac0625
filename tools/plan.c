/*
 * plan.c - operation sequences ("plans"), built once and executed by both
 * backends.
 *
 * A plan is an array of struct op in an anonymous mapping rather than on the
 * heap: the forked run that executes it then starts with an almost empty
 * malloc heap, so what mallinfo2() reports is the workload's doing.  While a
 * plan is built it counts its operations and tracks its live bytes, which
 * gives the operation count and the requested bytes at the snapshot for
 * both backends without asking either of them.
 */
#include "config.h"

#include "cymem-stat.h"

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
    if (push(p, OP_FREE, scope, slot, 0, 0, 0) != 0)
        return -1;
    p->frees++;
    p->live_blocks--;
    p->live_bytes -= size;
    return 0;
}

int plan_free_all(struct plan *p, unsigned scope, uint32_t first, uint32_t end,
                  uint64_t blocks, uint64_t bytes)
{
    if (push(p, OP_FREEALL, scope, first, 0, end, 0) != 0)
        return -1;
    p->frees += blocks;
    p->live_blocks -= blocks;
    p->live_bytes -= bytes;
    return 0;
}

int plan_free_rest(struct plan *p, unsigned scope, uint32_t first, uint32_t end)
{
    return plan_free_all(p, scope, first, end, p->live_blocks, p->live_bytes);
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
    return 0;
}

uint64_t plan_ops(const struct plan *p)
{
    return p->allocs + p->frees + p->reallocs + p->other_ops;
}
