/*
 * adapt-obstack.c - glibc's obstack.  Everything is freed by freeing back
 * to a marker object made first; there is no free of one block (obstack
 * frees everything above a block) and no resize of an old block.
 */
#include "config.h"

#include "adapter.h"

#ifdef HAVE_OBSTACK_H
#include <obstack.h>
#include <stdlib.h>
#include <string.h>

#define obstack_chunk_alloc malloc
#define obstack_chunk_free free

struct ob {
    struct obstack ob;
    void *mark;
};

static void *o_create(void)
{
    struct ob *o = malloc(sizeof *o);
    if (o == NULL)
        return NULL;
    obstack_init(&o->ob);
    o->mark = obstack_alloc(&o->ob, 1);
    return o;
}

static void o_reset(void *arena)
{
    struct ob *o = arena;
    obstack_free(&o->ob, o->mark);
    o->mark = obstack_alloc(&o->ob, 1);
}

static void o_destroy(void *arena)
{
    struct ob *o = arena;
    obstack_free(&o->ob, NULL);
    free(o);
}

static void *o_zalloc(void *arena, size_t n)
{
    struct ob *o = arena;
    void *p = obstack_alloc(&o->ob, n ? n : 1);
    return memset(p, 0, n);
}

const struct adapter bench_obstack = {
    .name = "obstack",
    .create = o_create,
    .destroy = o_destroy,
    .reset = o_reset,
    .zalloc = o_zalloc,
};
#endif /* HAVE_OBSTACK_H */
