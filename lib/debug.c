/*
 * debug.c - the debug mode: redzones and freed-memory patterns.
 *
 * On when the environment has CYMEM_DEBUG=1 (or CYMEM_DEBUG=abort) when
 * the first pool is made, or by default in a library configured with
 * --enable-debug (CYMEM_DEBUG=0 turns it off).  Then:
 *
 *  - the bytes from a block's requested end to the end of its block (its
 *    slack, the redzone) hold REDZONE; they are checked when the block is
 *    freed, resized in place or dropped by a reset or a destroy;
 *  - a freed slab block is filled with FREED, checked when the block is
 *    handed out again: a write after free shows.
 *
 * Damage is reported on stderr with the block's address and size; the
 * program goes on unless CYMEM_DEBUG=abort.  Blocks are still returned
 * zero-filled.  Off, the mode costs one well-predicted branch per hook.
 *
 * options.c reads CYMEM_DEBUG.  Under valgrind each function here first
 * makes the bytes it reads or writes accessible; the hook in track.h that
 * called it hides them again.
 *
 * The hooks of track.h call in from the engine; debug.c calls nothing back
 * (at a reset or a destroy blocks.c walks the live blocks and checks each
 * one here) and
 * below it only reads the settings of options.c.
 *
 * Invariants:
 *  - while the mode is on, a live block's bytes from its requested end to
 *    its block's end hold REDZONE, and a freed slab block holds FREED
 *    until it is handed out again;
 *  - a check only reports: it changes no byte of the block it checks.
 */
#include "internal.h"
#include "track.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REDZONE 0xFD
#define FREED   0xDD

static void report(const cymem_pool *pool, const void *p, size_t n, const char *what,
                   size_t at)
{
    /* A heap's blocks are its shared pool's, the pool the program knows. */
    fprintf(stderr, "libcymem: %s at byte %zu of block %p (%zu bytes) in pool %p\n",
            what, at, p, n, (const void *)pool->key);
    if (cymem__debug_abort)
        abort();
}

void cymem__fatal(const char *what, int err)
{
    if (err != 0)
        fprintf(stderr, "libcymem: %s failed: %s; aborting\n", what, strerror(err));
    else
        fprintf(stderr, "libcymem: %s; aborting\n", what);
    abort();
}

void cymem__debug_alloc(void *p, size_t n, size_t cap)
{
    VG_DEFINED((char *)p + n, cap - n);
    if (cap > n)
        memset((char *)p + n, REDZONE, cap - n);
}

void cymem__debug_check(const cymem_pool *pool, const void *p, size_t n, size_t cap)
{
    const unsigned char *b = p;
    VG_DEFINED(b + n, cap - n);
    for (size_t i = n; i < cap; i++)
        if (b[i] != REDZONE) {
            report(pool, p, n, "write past the end", i);
            return;
        }
}

void cymem__debug_free(const cymem_pool *pool, void *p, size_t n, size_t cap)
{
    cymem__debug_check(pool, p, n, cap);
    VG_DEFINED(p, cap);
    memset(p, FREED, cap);
}

void cymem__debug_reuse(const cymem_pool *pool, void *p, size_t cap)
{
    const unsigned char *b = p;
    VG_DEFINED(b, cap);
    for (size_t i = 0; i < cap; i++)
        if (b[i] != FREED) {
            report(pool, p, cap, "write after free", i);
            return;
        }
}
