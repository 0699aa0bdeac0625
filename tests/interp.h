/*
 * interp.h - read bytes as a sequence of pool operations and check every
 * result against a shadow model.  The fuzz target (tests/fuzz) feeds it
 * fuzzer input; the stress test (rel-stress.c) feeds it seeded random
 * bytes.
 *
 * The model keeps, for a root pool and up to two child pools, every live
 * block with its size and a fill byte.  Each operation is checked:
 * allocations are zero-filled, aligned and distinct; frees of live blocks
 * succeed; frees of foreign, interior, stale or garbage pointers fail with
 * EINVAL and change nothing; realloc keeps contents and zero-fills growth;
 * after every operation the pool's live_bytes and live_blocks equal the
 * model's, and every few operations every live block's contents are
 * verified and foreach is compared with the model.  Every INTERP_CHECK_EVERY
 * operations, and at the end, the engine's own invariant checker
 * (lib/invariants.c) walks the whole tree of pools.
 */
#ifndef INTERP_H
#define INTERP_H

#include <cymem.h>
#include "invariants.h"
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define INTERP_MAX 256               /* live blocks per pool in the model */
#define INTERP_POOLS 3               /* root, two children */
#ifndef INTERP_CHECK_EVERY
#  define INTERP_CHECK_EVERY 64      /* operations between invariant checks */
#endif

struct iblock {
    unsigned char *p;
    size_t n;
    size_t align;
    unsigned char fill;
};

struct ipool {
    cymem_pool *pool;
    struct iblock b[INTERP_MAX];
    size_t count;
    size_t live;
};

struct interp {
    struct ipool pools[INTERP_POOLS];
    void *stale[16];                 /* pointers freed earlier */
    unsigned nstale;
    const uint8_t *in;
    size_t left;
    unsigned long ops;
    int failed;
};

static void interp_fail(struct interp *t, const char *what)
{
    fprintf(stderr, "interp: operation %lu: %s\n", t->ops, what);
    t->failed = 1;
#ifdef INTERP_ABORT
    abort();
#endif
}

static unsigned interp_byte(struct interp *t)
{
    if (t->left == 0)
        return 0;
    t->left--;
    return *t->in++;
}

static size_t interp_size(struct interp *t)
{
    unsigned k = interp_byte(t);
    switch (k >> 6) {
    case 0: return k & 63;                                      /* tiny */
    case 1: return 16 + interp_byte(t) * 2;                     /* small */
    case 2: return 256 + interp_byte(t) * 16 + (k & 15);        /* medium */
    default: return 4096 + interp_byte(t) * 512 + (k & 63);     /* large */
    }
}

static void interp_stale(struct interp *t, void *p)
{
    t->stale[t->nstale++ % 16] = p;
}

static void check_block(struct interp *t, const struct iblock *b)
{
    for (size_t i = 0; i < b->n; i++)
        if (b->p[i] != b->fill) {
            interp_fail(t, "block contents changed");
            return;
        }
}

static void check_stats(struct interp *t, struct ipool *ip)
{
    cymem_stats st;
    if (cymem_pool_stats(ip->pool, &st) != 0) {
        interp_fail(t, "stats failed");
        return;
    }
    if (st.live_bytes != ip->live || st.live_blocks != ip->count)
        interp_fail(t, "stats differ from the model");
    if (st.reserved_bytes < st.live_bytes || st.peak_bytes < st.live_bytes)
        interp_fail(t, "stats inconsistent");
}

struct fe { struct ipool *ip; size_t seen; int bad; };

static int fe_cb(void *p, size_t n, void *ctx)
{
    struct fe *f = ctx;
    size_t i;
    for (i = 0; i < f->ip->count; i++)
        if (f->ip->b[i].p == p)
            break;
    if (i == f->ip->count || f->ip->b[i].n != n) {
        if (i == f->ip->count)
            fprintf(stderr, "foreach: %p (%zu bytes) is no live block of the model\n", p, n);
        else
            fprintf(stderr, "foreach: %p has %zu bytes, the model %zu\n", p, n, f->ip->b[i].n);
        f->bad = 1;
    }
    f->seen++;
    return 0;
}

static void check_all(struct interp *t, struct ipool *ip)
{
    struct fe f = { ip, 0, 0 };
    for (size_t i = 0; i < ip->count; i++)
        check_block(t, &ip->b[i]);
    if (cymem_pool_foreach(ip->pool, fe_cb, &f) != 0 || f.bad || f.seen != ip->count)
        interp_fail(t, "foreach differs from the model");
}

static void model_add(struct interp *t, struct ipool *ip, void *p, size_t n, size_t align)
{
    unsigned char *q = p;
    for (size_t i = 0; i < n; i++)
        if (q[i] != 0) {
            interp_fail(t, "allocation not zero-filled");
            break;
        }
    if (((uintptr_t)p & (align - 1)) != 0)
        interp_fail(t, "allocation misaligned");
    for (size_t i = 0; i < ip->count; i++)
        if (ip->b[i].p == p)
            interp_fail(t, "allocation returned a live block");
    struct iblock *b = &ip->b[ip->count++];
    b->p = p;
    b->n = n;
    b->align = align;
    b->fill = (unsigned char)(t->ops * 37 + 1);
    memset(p, b->fill, n);
    ip->live += n;
}

static void model_remove(struct ipool *ip, size_t i)
{
    ip->live -= ip->b[i].n;
    ip->b[i] = ip->b[--ip->count];
}

/* A free that must fail and change nothing. */
static void bad_free(struct interp *t, struct ipool *ip, void *p)
{
    errno = 0;
    if (cymem_pool_free(ip->pool, p) != -1 || errno != EINVAL)
        interp_fail(t, "a bad free was accepted");
    check_stats(t, ip);
}

static void interp_new_pool(struct interp *t, unsigned k)
{
    cymem_pool_options o = { 0 };
    if (k > 0)
        o.parent = t->pools[0].pool;
    t->pools[k].pool = cymem_pool_new_ex(&o);
    t->pools[k].count = 0;
    t->pools[k].live = 0;
    if (t->pools[k].pool == NULL)
        interp_fail(t, "pool creation failed");
}

static void interp_step(struct interp *t)
{
    unsigned op = interp_byte(t);
    unsigned k = (op >> 5) % INTERP_POOLS;
    struct ipool *ip = &t->pools[k];
    if (ip->pool == NULL) {
        interp_new_pool(t, k);
        return;
    }
    t->ops++;
    switch (op & 15) {
    case 0: case 1: case 2: case 3: {               /* alloc */
        if (ip->count == INTERP_MAX)
            break;
        size_t n = interp_size(t);
        void *p = cymem_pool_alloc(ip->pool, 1, n);
        if (p == NULL)
            interp_fail(t, "alloc failed");
        else
            model_add(t, ip, p, n, 16);
        break;
    }
    case 4: {                                       /* aligned alloc */
        if (ip->count == INTERP_MAX)
            break;
        size_t align = (size_t)1 << (interp_byte(t) % 17);
        size_t n = interp_size(t);
        void *p = cymem_pool_alloc_aligned(ip->pool, 1, n, align);
        if (p == NULL)
            interp_fail(t, "aligned alloc failed");
        else
            model_add(t, ip, p, n, align < 16 ? 16 : align);
        break;
    }
    case 5: case 6: {                               /* free a live block */
        if (ip->count == 0)
            break;
        size_t i = interp_byte(t) % ip->count;
        check_block(t, &ip->b[i]);
        if (cymem_pool_free(ip->pool, ip->b[i].p) != 0)
            interp_fail(t, "free of a live block failed");
        interp_stale(t, ip->b[i].p);
        model_remove(ip, i);
        break;
    }
    case 7: {                                       /* realloc */
        if (ip->count == 0)
            break;
        size_t i = interp_byte(t) % ip->count;
        struct iblock *b = &ip->b[i];
        size_t n = interp_size(t);
        unsigned char *q = cymem_pool_realloc(ip->pool, b->p, n);
        if (q == NULL) {
            interp_fail(t, "realloc failed");
            break;
        }
        for (size_t j = 0; j < n; j++)
            if (q[j] != (j < b->n ? b->fill : 0)) {
                interp_fail(t, "realloc lost contents or did not zero growth");
                break;
            }
        if (((uintptr_t)q & (b->align - 1)) != 0)
            interp_fail(t, "realloc lost the alignment");
        if (q != b->p)
            interp_stale(t, b->p);
        ip->live += n - b->n;
        b->p = q;
        b->n = n;
        memset(q, b->fill, n);
        break;
    }
    case 8: {                                       /* interior pointer */
        if (ip->count == 0)
            break;
        struct iblock *b = &ip->b[interp_byte(t) % ip->count];
        size_t off = 1 + interp_byte(t) % (b->n > 1 ? b->n - 1 : 1);
        bad_free(t, ip, b->p + off);
        break;
    }
    case 9: {                                       /* stale pointer */
        if (t->nstale == 0)
            break;
        void *p = t->stale[interp_byte(t) % (t->nstale < 16 ? t->nstale : 16)];
        for (size_t i = 0; i < ip->count; i++)
            if (ip->b[i].p == p)
                return;                             /* reused since */
        bad_free(t, ip, p);
        break;
    }
    case 10: {                                      /* another pool's block */
        struct ipool *other = &t->pools[(k + 1) % INTERP_POOLS];
        if (other->pool == NULL || other->count == 0)
            break;
        bad_free(t, ip, other->b[interp_byte(t) % other->count].p);
        break;
    }
    case 11: {                                      /* garbage */
        int local;
        bad_free(t, ip, &local);
        bad_free(t, ip, (void *)(uintptr_t)(0x1000 + interp_byte(t) * 16));
        break;
    }
    case 12:                                        /* verify everything */
        check_all(t, ip);
        break;
    case 13:                                        /* reset */
        if ((interp_byte(t) & 7) != 0)
            break;
        for (size_t i = 0; i < ip->count; i++)
            interp_stale(t, ip->b[i].p);
        cymem_pool_reset(ip->pool);
        ip->count = 0;
        ip->live = 0;
        if (k == 0)                                 /* children are gone */
            for (unsigned c = 1; c < INTERP_POOLS; c++)
                t->pools[c].pool = NULL;
        break;
    case 14:                                        /* destroy a child */
        if (k == 0 || (interp_byte(t) & 3) != 0)
            break;
        cymem_pool_destroy(ip->pool);
        ip->pool = NULL;
        break;
    default:                                        /* zero-size block */
        if (ip->count == INTERP_MAX)
            break;
        {
            void *p = cymem_pool_alloc(ip->pool, 0, 0);
            if (p == NULL)
                interp_fail(t, "zero-size alloc failed");
            else
                model_add(t, ip, p, 0, 16);
        }
        break;
    }
    if (ip->pool != NULL)
        check_stats(t, ip);
}

/* Run the operations in @data; 0 when every check held. */
static int interp_run(const uint8_t *data, size_t size)
{
    struct interp *t = calloc(1, sizeof *t);
    if (t == NULL)
        return 1;
    t->in = data;
    t->left = size;
    interp_new_pool(t, 0);
    while (t->left > 0 && !t->failed) {
        interp_step(t);
        if (t->ops % INTERP_CHECK_EVERY == 0 && t->pools[0].pool != NULL &&
            cymem__pool_check(t->pools[0].pool) != 0)
            interp_fail(t, "the pool's invariant check failed");
    }
    for (unsigned k = 0; k < INTERP_POOLS && !t->failed; k++)
        if (t->pools[k].pool != NULL)
            check_all(t, &t->pools[k]);
    if (!t->failed && cymem__pool_check(t->pools[0].pool) != 0)
        interp_fail(t, "the pool's invariant check failed at the end");
    cymem_pool_destroy(t->pools[0].pool);
    int failed = t->failed;
    free(t);
    return failed;
}

#endif /* INTERP_H */
