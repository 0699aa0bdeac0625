/*
 * fork.h - the locks a fork() takes (fork.c), so that the child finds
 * none of the library's held by a thread it does not have.
 */
#ifndef CYMEM_FORK_H
#define CYMEM_FORK_H

#include "internal.h"

/* Register the handlers a fork() runs, once: before the first pool of
 * the system allocator is made (and with it the threads' caches). */
void cymem__fork_ready(void);

/* Put @pool on the list of pools whose locks a fork() takes: a
 * THREADSAFE pool once its mutex (and its heaps' table, if shared) is
 * made, or a pool once the mutex of its custom allocator (bk_mutex) is;
 * once only, and taken off (cymem__fork_unwatch()) before those go. */
void cymem__fork_watch(cymem_pool *pool);
void cymem__fork_unwatch(cymem_pool *pool);

/* How many forks made this process, as a child: a call that runs the
 * program's code (a reset's cleanups) and finds it changed is in the
 * child of a fork() made from there, where the debug mode's counts of
 * calls under way began again at 0. */
unsigned cymem__fork_children(void);

/* Whether @pool has a lock a fork() must take. */
static inline int fork_watched(const cymem_pool *pool)
{
    return (pool->flags & CYMEM_POOL_THREADSAFE) || pool->bk_lock == &pool->bk_mutex;
}

#endif /* CYMEM_FORK_H */
