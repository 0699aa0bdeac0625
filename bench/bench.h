/*
 * bench.h - which allocators a benchmark binary compares.
 *
 * The allocators are wrapped by the adapters of workloads/adapter.h, the
 * same ones cymem-stat uses; malloc is listed under the name of the
 * library that provides it in this binary (glibc, jemalloc, tcmalloc).
 */
#ifndef BENCH_H
#define BENCH_H

#include "adapter.h"

struct bench_entry {
    const char *name;
    const struct adapter *a;
};

/* The allocators linked into this binary, ended by { NULL, NULL }. */
extern const struct bench_entry bench_adapters[];

#endif /* BENCH_H */
