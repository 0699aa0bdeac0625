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
 * which turns on the client requests of track.h.
 */
#include "internal.h"
#include "track.h"

#include <stdio.h>
#include <stdlib.h>

#define REDZONE 0xFD
#define FREED   0xDD

int cymem__debug;
int cymem__valgrind;
int cymem__track;
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
#if defined(HAVE_VALGRIND_MEMCHECK_H) && !defined(CYMEM_NO_VALGRIND)
    cymem__valgrind = RUNNING_ON_VALGRIND != 0;
    /* CYMEM_VALGRIND=0: profile under callgrind as the code runs natively. */
    v = getenv("CYMEM_VALGRIND");
    if (v != NULL && strcmp(v, "0") == 0)
        cymem__valgrind = 0;
    if (cymem__valgrind)
        cymem__debug = 0;   /* memcheck guards the redzones the mode would fill */
#endif
    cymem__track = cymem__debug || cymem__valgrind;
}

void cymem__debug_init(void)
{
    pthread_once(&debug_once, debug_read_env);
}

static void report(const cymem_pool *pool, const void *p, size_t n, const char *what,
                   size_t at)
{
    fprintf(stderr, "libcymem: %s at byte %zu of block %p (%zu bytes) in pool %p\n",
            what, at, p, n, (const void *)pool);
    if (debug_abort)
        abort();
}

void cymem__debug_alloc(void *p, size_t n, size_t cap)
{
    if (cap > n)
        memset((char *)p + n, REDZONE, cap - n);
}

void cymem__debug_check(const cymem_pool *pool, const void *p, size_t n, size_t cap)
{
    const unsigned char *b = p;
    for (size_t i = n; i < cap; i++)
        if (b[i] != REDZONE) {
            report(pool, p, n, "write past the end", i);
            return;
        }
}

void cymem__debug_free(const cymem_pool *pool, void *p, size_t n, size_t cap)
{
    cymem__debug_check(pool, p, n, cap);
    memset(p, FREED, cap);
}

void cymem__debug_reuse(const cymem_pool *pool, void *p, size_t cap)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < cap; i++)
        if (b[i] != FREED) {
            report(pool, p, cap, "write after free", i);
            return;
        }
}

static int check_live(void *p, size_t n, void *ctx)
{
    const cymem_pool *pool = ctx;
    cymem__slab *s = cymem__page_find(pool, p);
    cymem__debug_check(pool, p, n, s != NULL ? s->bsize : n);
    return 0;
}

void cymem__debug_reset(const cymem_pool *pool)
{
    cymem__foreach_unlocked(pool, check_live, (void *)pool);
}
