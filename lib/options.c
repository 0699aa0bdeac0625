/*
 * options.c - the CYMEM_* environment, read once, when the first pool is
 * made (cymem__debug_init(), called by cymem_pool_new_ex() and by the
 * invariant checker):
 *
 *   CYMEM_DEBUG=1 | abort | 0   the debug mode (debug.c), on by default in
 *                               a library configured with --enable-debug;
 *   CYMEM_HUGE_PAGES=1          every pool as if CYMEM_POOL_HUGE_PAGES;
 *   CYMEM_VALGRIND=0            ignore valgrind, so that callgrind profiles
 *                               the code that runs natively.
 *
 * It also finds out whether the program runs under valgrind, which turns
 * on the client requests of track.h.  This is the one file in lib/ that
 * reads the environment; it calls nothing else in lib/.
 *
 * Invariants:
 *  - the settings are written once, under pthread_once(), before any pool
 *    exists, and only read after: no lock on the hot paths;
 *  - cymem__track is set exactly when the debug mode or valgrind is on,
 *    and the debug mode is never on under AddressSanitizer.
 */
#include "internal.h"
#include "options.h"
#include "track.h"

#include <stdlib.h>

int cymem__debug;
int cymem__debug_abort;
int cymem__valgrind;
int cymem__track;
int cymem__huge_pages;
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
        cymem__debug_abort = strcmp(v, "abort") == 0;
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
