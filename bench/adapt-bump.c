/*
 * adapt-bump.c - the physical-limit reference: a bump pointer over 1 MiB
 * chunks of fresh pages.  It keeps every chunk across a reset and, like a
 * careful pool, clears only memory that was written before.  Destroyed
 * arenas leave their standard chunks to a per-thread spare list that new
 * arenas take first, as APR's allocator does.  It cannot free or resize
 * single blocks.
 */
#include "adapter.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define CHUNK ((size_t)1 << 20)

struct chunk {
    struct chunk *next;
    size_t size;
    char *written;           /* bytes below this were handed out before */
};

struct bump {
    struct chunk *first, *cur;
    char *ptr, *end;
};

static __thread struct chunk *spare;

static struct chunk *chunk_new(size_t need)
{
    if (need + 64 <= CHUNK && spare != NULL) {
        struct chunk *c = spare;
        spare = c->next;
        c->next = NULL;
        return c;
    }
    size_t size = need + 64 > CHUNK ? (need + 64 + 4095) & ~(size_t)4095 : CHUNK;
    void *m = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED)
        return NULL;
    struct chunk *c = m;
    c->next = NULL;
    c->size = size;
    c->written = (char *)m + 64;
    return c;
}

static void enter(struct bump *b, struct chunk *c)
{
    b->cur = c;
    b->ptr = (char *)c + 64;
    b->end = (char *)c + c->size;
}

static void *b_create(void)
{
    struct bump *b = calloc(1, sizeof *b);
    struct chunk *c = b ? chunk_new(0) : NULL;
    if (c == NULL) {
        free(b);
        return NULL;
    }
    b->first = c;
    enter(b, c);
    return b;
}

static void b_destroy(void *arena)
{
    struct bump *b = arena;
    for (struct chunk *c = b->first, *n; c; c = n) {
        n = c->next;
        if (c->size == CHUNK) {
            c->next = spare;
            spare = c;
        } else {
            munmap(c, c->size);
        }
    }
    free(b);
}

static void b_reset(void *arena)
{
    struct bump *b = arena;
    enter(b, b->first);
}

static void *b_zalloc(void *arena, size_t n)
{
    struct bump *b = arena;
    size_t sz = (n + 15) & ~(size_t)15;
    if (sz == 0)
        sz = 16;
    if ((size_t)(b->end - b->ptr) < sz) {
        struct chunk *c = b->cur->next;
        while (c != NULL && c->size - 64 < sz)
            c = c->next;
        if (c == NULL) {
            if ((c = chunk_new(sz)) == NULL)
                return NULL;
            c->next = b->cur->next;
            b->cur->next = c;
        }
        enter(b, c);
    }
    char *p = b->ptr;
    b->ptr += sz;
    if (p < b->cur->written) {
        size_t dirty = (size_t)(b->cur->written - p);
        memset(p, 0, dirty < n ? dirty : n);
    }
    if (b->ptr > b->cur->written)
        b->cur->written = b->ptr;
    return p;
}

const struct adapter bench_bump = {
    .name = "bump",
    .create = b_create,
    .destroy = b_destroy,
    .reset = b_reset,
    .zalloc = b_zalloc,
};
