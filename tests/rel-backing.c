/*
 * rel-backing.c - a backing allocator that uses the memory it gets back,
 * as real allocators do, under the memory checkers.
 *
 * Its free() poisons every byte of what it is given and threads the piece
 * onto a free list through its first word; its malloc() reuses such pieces
 * (checking the poison is intact: nobody wrote into freed memory) before
 * asking the system.  Whatever a pool marked no-access for memcheck, or
 * poisoned for AddressSanitizer, must be accessible again by the time the
 * memory reaches this free(): after a block or slab is freed, at reset, at
 * destroy, after a call that failed half-way, and for memory a realloc gave
 * back.  Then a pool on malloc() itself, which memcheck tracks piece by
 * piece.  Run natively, under valgrind (rel-regress.sh, where any error
 * fails) and with ASan (CI), with and without CYMEM_DEBUG.
 */
#include <cymem.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define POISON 0xEE

typedef struct piece {
    struct piece *next;
    size_t size;
} piece;

typedef struct backing {
    piece *free_list;
    long fail_at;        /* fail the request with this number; -1 never */
    long requests;
    size_t held;         /* bytes handed out and not given back */
    int errors;
} backing;

static void *bk_malloc(size_t size, void *ctx)
{
    backing *b = ctx;
    if (b->requests++ == b->fail_at)
        return NULL;
    if (size < sizeof(piece))
        size = sizeof(piece);
    for (piece **pp = &b->free_list; *pp; pp = &(*pp)->next) {
        piece *p = *pp;
        if (p->size != size)
            continue;
        *pp = p->next;
        const unsigned char *c = (const unsigned char *)p;
        for (size_t i = sizeof *p; i < size; i++)
            if (c[i] != POISON) {
                fprintf(stderr, "rel-backing: freed memory changed at byte %zu\n", i);
                b->errors++;
                break;
            }
        b->held += size;
        return p;
    }
    void *m = malloc(size);
    if (m != NULL)
        b->held += size;
    return m;
}

static void bk_free(void *ptr, size_t size, void *ctx)
{
    backing *b = ctx;
    if (size < sizeof(piece))
        size = sizeof(piece);
    /* The writes a real allocator makes: poison, then a list link. */
    memset(ptr, POISON, size);
    piece *p = ptr;
    p->size = size;
    p->next = b->free_list;
    b->free_list = p;
    b->held -= size;
}

static void drain(backing *b)
{
    while (b->free_list) {
        piece *p = b->free_list;
        b->free_list = p->next;
        free(p);
    }
}

/* Every kind of block, every way it can go back. */
static int workload(cymem_pool *pool)
{
    void *keep[300];
    int n = 0;
    for (int i = 0; i < 300; i++) {
        size_t size = i % 50 == 0 ? 5000 + (size_t)i * 100   /* direct */
                    : 1 + (size_t)(i * 37) % 1500;              /* slabs */
        unsigned char *p = i % 7 == 0
            ? cymem_pool_alloc_aligned(pool, 1, size, i % 14 == 0 ? 64 : 4096)
            : cymem_pool_alloc(pool, 1, size);
        if (p == NULL)
            return -1;
        memset(p, 0x5A, size);
        keep[n++] = p;
    }
    /* Frees of slab and direct blocks, then resizes of every kind: in
     * place, moving between classes, slab to direct and back. */
    for (int i = 0; i < n; i += 3) {
        if (cymem_pool_free(pool, keep[i]) != 0)
            return -1;
        keep[i] = NULL;
    }
    for (int i = 1; i < n; i += 3) {
        size_t to = i % 2 ? 9000 + (size_t)i : (size_t)i % 200;
        void *q = cymem_pool_realloc(pool, keep[i], to);
        if (q == NULL)
            return -1;
        keep[i] = q;
    }
    cymem_pool_options child_opts = { 0 };
    child_opts.parent = pool;
    cymem_pool *child = cymem_pool_new_ex(&child_opts);
    if (child == NULL)
        return -1;
    for (int i = 0; i < 100; i++)
        if (cymem_pool_alloc(child, 1, 16 + (size_t)i * 8) == NULL)
            return -1;
    return 0;
}

static int run(int fail_at, int *failed)
{
    backing b = { NULL, fail_at, 0, 0, 0 };
    cymem_allocator a = { bk_malloc, bk_free, &b };
    cymem_pool_options opts = { 0 };
    opts.allocator = &a;
    cymem_pool *pool = cymem_pool_new_ex(&opts);
    *failed = 0;
    if (pool == NULL) {
        *failed = 1;
    } else {
        for (int round = 0; round < 2; round++) {
            if (workload(pool) != 0) {
                if (errno != ENOMEM) {
                    fprintf(stderr, "rel-backing: failure without ENOMEM\n");
                    b.errors++;
                }
                *failed = 1;
            }
            cymem_pool_reset(pool);
        }
        cymem_pool_destroy(pool);
    }
    if (b.held != 0) {
        fprintf(stderr, "rel-backing: %zu bytes not given back (fail_at %d)\n",
                b.held, fail_at);
        b.errors++;
    }
    drain(&b);
    return b.errors;
}

static void *plain_malloc(size_t size, void *ctx)
{
    (void)ctx;
    return malloc(size);
}

static void plain_free(void *ptr, size_t size, void *ctx)
{
    (void)size;
    (void)ctx;
    free(ptr);
}

/* A backing allocator that is malloc() itself: memcheck knows each piece
 * as a heap block of its own, the pool's keeper included.  Enough blocks
 * that a reset turns the slabs into arena chunks, which makes many pieces
 * come and go before the pool is destroyed. */
static int plain_run(void)
{
    cymem_allocator a = { plain_malloc, plain_free, NULL };
    cymem_pool_options opts = { 0 };
    opts.allocator = &a;
    cymem_pool *pool = cymem_pool_new_ex(&opts);
    if (pool == NULL)
        return 1;
    for (int round = 0; round < 2; round++) {
        for (int i = 0; i < 40000; i++) {
            unsigned char *p = cymem_pool_alloc(pool, 1, 1 + (size_t)(i * 7919) % 700);
            if (p == NULL || p[0] != 0) {
                fprintf(stderr, "rel-backing: a malloc-backed pool failed a block\n");
                cymem_pool_destroy(pool);
                return 1;
            }
            p[0] = 1;
        }
        cymem_pool_reset(pool);
    }
    cymem_pool_destroy(pool);
    return 0;
}

int main(void)
{
    int errors = plain_run(), failed, k;
    errors += run(-1, &failed);
    if (failed) {
        fprintf(stderr, "rel-backing: the workload failed with no fault\n");
        return 1;
    }
    /* A failure at each request in turn, until the workload gets through. */
    for (k = 0; k < 100000; k++) {
        errors += run(k, &failed);
        if (!failed || errors)
            break;
    }
    if (errors == 0)
        printf("rel-backing: clean run and %d failing runs: ok\n", k);
    return errors ? 1 : 0;
}
