/*
 * debug.c - the debug mode: redzones and freed-memory patterns.
 *
 * On when the environment has CYMEM_DEBUG=1 (or CYMEM_DEBUG=abort) when
 * the first pool is made, or by default in a library configured with
 * --enable-debug (CYMEM_DEBUG=0 turns it off).  Then:
 *
 *  - the bytes from a block's requested end to the end of its block (its
 *    slack, the redzone) hold REDZONE; they are checked when the block is
 *    freed, resized in place or dropped by a reset;
 *  - a freed slab block is filled with FREED, checked when the block is
 *    handed out again: a write after free shows.
 *
 * Damage is reported on stderr with the block's address and size; the
 * program goes on unless CYMEM_DEBUG=abort.  Blocks are still returned
 * zero-filled.  Off, the mode costs one well-predicted branch per hook.
 *
 * The same first call finds out whether the program runs under valgrind,
 * which turns on the client requests of track.h, and reads
 * CYMEM_HUGE_PAGES (cymem(3)).  Under valgrind each
 * function here first makes the bytes it reads or writes accessible; the
 * hook in track.h that called it hides them again.
 */
#include "internal.h"
#include "arena.h"
#include "track.h"

#include <stdio.h>
#include <stdlib.h>

#define REDZONE 0xFD
#define FREED   0xDD

int cymem__debug;
int cymem__valgrind;
int cymem__track;
int cymem__huge_pages;
static int debug_abort;
static pthread_once_t debug_once = PTHREAD_ONCE_INIT;

static void debug_read_env(void)
{
    const char *v = getenv("CYMEM_DEBUG");
#ifdef CYMEM_DEBUG_DEFAULT
    int on = 1;
#else
    int on = 0;
#endif
    if (v != NULL && *v != '\0') {
        on = strcmp(v, "0") != 0;
        debug_abort = strcmp(v, "abort") == 0;
    }
#ifdef CYMEM_ASAN
    on = 0;     /* AddressSanitizer poisons the redzones the mode would fill */
#endif
    cymem__debug = on;
    v = getenv("CYMEM_HUGE_PAGES");
    cymem__huge_pages = v != NULL && strcmp(v, "1") == 0;
#if defined(HAVE_VALGRIND_MEMCHECK_H) && !defined(CYMEM_NO_VALGRIND)
    cymem__valgrind = RUNNING_ON_VALGRIND != 0;
    /* CYMEM_VALGRIND=0: profile under callgrind as the code runs natively. */
    v = getenv("CYMEM_VALGRIND");
    if (v != NULL && strcmp(v, "0") == 0)
        cymem__valgrind = 0;
#endif
    cymem__track = cymem__debug || cymem__valgrind;
}

void cymem__debug_init(void)
{
    /* If pthread_once() itself failed, every checker stays off. */
    (void)pthread_once(&debug_once, debug_read_env);
}

static void report(const cymem_pool *pool, const void *p, size_t n, const char *what,
                   size_t at)
{
    fprintf(stderr, "libcymem: %s at byte %zu of block %p (%zu bytes) in pool %p\n",
            what, at, p, n, (const void *)pool);
    if (debug_abort)
        abort();
}

void cymem__fatal(const char *what, int err)
{
    if (err != 0)
        fprintf(stderr, "libcymem: %s failed: %s; aborting\n", what, strerror(err));
    else
        fprintf(stderr, "libcymem: %s failed; aborting\n", what);
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

static int check_live(void *p, size_t n, void *ctx)
{
    const cymem_pool *pool = ctx;
    cymem__slab *s = cymem__chunk_find(pool, p);
    size_t cap = s == NULL ? n
               : s->cls == CYMEM__ARENA_CLS
                 ? (size_t)arena_extent(s, (uint32_t)(((char *)p - s->base) >> CYMEM__UNIT_SHIFT))
                       << CYMEM__UNIT_SHIFT
                 : s->bsize;
    cymem__debug_check(pool, p, n, cap);
    return 0;
}

void cymem__debug_reset(const cymem_pool *pool)
{
    cymem__foreach_unlocked(pool, check_live, (void *)pool);
}
