/*
 * mtrace-start.c - cymem-mtrace.so, preloaded by `cymem-stat record'.
 *
 * glibc's tracer (libc_malloc_debug.so.0, preloaded beside this module)
 * only writes the log named by MALLOC_TRACE once the program calls
 * mtrace().  This module calls it before main() runs, then removes
 * MALLOC_TRACE from the environment so that programs started by the
 * traced one do not truncate the log, and closes the log at exit.
 */
#include "config.h"

#include <mcheck.h>
#include <stdlib.h>

void cymem_stat_mtrace_start(void) __attribute__((constructor));
void cymem_stat_mtrace_stop(void) __attribute__((destructor));

void cymem_stat_mtrace_start(void)
{
    mtrace();
    unsetenv("MALLOC_TRACE");
}

void cymem_stat_mtrace_stop(void)
{
    muntrace();
}
