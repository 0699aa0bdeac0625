/*
 * registry.c - which adapters a benchmark binary holds.  Built once per
 * binary with different macros: the main binary has every allocator that
 * leaves malloc alone; each malloc replacement has a binary of its own.
 */
#include "config.h"

#include "bench.h"

#include <stddef.h>

extern const struct adapter bench_malloc, bench_cymem, bench_bump, bench_obstack,
    bench_talloc, bench_apr, bench_mimalloc;

const struct adapter *const bench_adapters[] = {
#if defined(BENCH_MIMALLOC)
    &bench_mimalloc,
#elif defined(BENCH_MALLOC_NAME)
    &bench_malloc,
#else
    &bench_malloc,
    &bench_cymem,
    &bench_bump,
#  ifdef HAVE_OBSTACK_H
    &bench_obstack,
#  endif
#  ifdef BENCH_TALLOC
    &bench_talloc,
#  endif
#  ifdef BENCH_APR
    &bench_apr,
#  endif
#endif
    NULL,
};
