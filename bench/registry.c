/*
 * registry.c - which adapters a benchmark binary holds.  Built once per
 * binary with different macros: the main binary has every allocator that
 * leaves malloc alone; each malloc replacement has a binary of its own,
 * with its malloc (mimalloc's with its heaps too).  libcymem comes three
 * ways: a plain pool per thread, a CYMEM_POOL_THREADSAFE pool per thread,
 * and one CYMEM_POOL_THREADSAFE pool that the threads of a run share.
 */
#include "config.h"

#include "bench.h"

#include <stddef.h>

#ifndef BENCH_MALLOC_NAME
#  define BENCH_MALLOC_NAME "glibc"
#endif

extern const struct adapter bench_bump, bench_obstack, bench_talloc, bench_apr,
    bench_mimalloc;

const struct bench_entry bench_adapters[] = {
#if defined(BENCH_MIMALLOC)
    { "mimalloc", &adapter_malloc },
    { "mimalloc-heap", &bench_mimalloc },
#else
    { BENCH_MALLOC_NAME, &adapter_malloc },
#  if !defined(BENCH_MALLOC_ONLY)
    { "libcymem", &adapter_cymem },
    { "libcymem-ts", &adapter_cymem_ts },
    { "libcymem-shared", &adapter_cymem_shared },
    { "bump", &bench_bump },
#    ifdef HAVE_OBSTACK_H
    { "obstack", &bench_obstack },
#    endif
#    ifdef BENCH_TALLOC
    { "talloc", &bench_talloc },
#    endif
#    ifdef BENCH_APR
    { "apr", &bench_apr },
#    endif
#  endif
#endif
    { NULL, NULL },
};
