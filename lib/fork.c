/*
 * fork.c - fork() while other threads use pools: the handlers that
 * pthread_atfork() runs take every lock of the library that another
 * thread may hold, so that the child finds none held by a thread it does
 * not have and can go on using those pools, free the blocks of threads
 * it does not have, and destroy them.
 *
 * The locks: the mutex of each THREADSAFE pool and the spin lock of each
 * of a shared pool's heaps (shared.c), the mutex that a pool and the
 * children that inherit its custom allocator share (bk_mutex, pool.c and
 * backing.c), the page map's trims (pagemap.c), and, after all of those,
 * the list of the threads' caches and each cache's lock (tcache.c): a
 * thread may wait for a cache's list while it holds a pool's lock, never
 * for a pool's lock while it holds the list.  The handlers are registered
 * at the first pool of the system allocator, before any cache exists.
 *
 * Invariants:
 *  - a pool is on the list (fork_prev, fork_next) exactly while it has
 *    such a lock (fork_watched()): from when the lock is made until
 *    before it goes;
 *  - before a fork the forking thread holds the list's lock, every lock
 *    of every pool on it and the page map's trims, all of them or none:
 *    a thread may hold one pool's lock while it waits for another's (a
 *    walk's callback that uses another pool, a pool's calls to its
 *    allocator), so none is waited for; the thread gives back what it
 *    took and tries again until it has all.  A walk's callback and a
 *    custom allocator's function must therefore not fork (cymem(3));
 *  - the debug mode's count of calls under way (busy) starts at 0 in the
 *    child, and children counts the forks this process came from: a
 *    reset whose cleanup forked finds it changed and leaves the count
 *    alone.
 *
 * Its layer: over the page map; called by pool.c.
 */
#include "fork.h"
#include "pagemap.h"
#include "tcache.h"

#include <sched.h>

static pthread_mutex_t all_lock = PTHREAD_MUTEX_INITIALIZER;
static cymem_pool *all_first;
static pthread_once_t fork_once = PTHREAD_ONCE_INIT;
static unsigned children;

/* Give back the locks of @pool that pool_take() took: its allocator's
 * mutex if @bk, its heaps' below @nheld, its own mutex if it is
 * THREADSAFE. */
static void pool_give(cymem_pool *pool, int bk, unsigned nheld)
{
    if (bk)
        mutex_unlock(&pool->bk_mutex.mu);
    while (nheld-- > 0)
        heap_unlock(pool->heapv[nheld]);
    if (pool->flags & CYMEM_POOL_THREADSAFE)
        mutex_unlock(&pool->lock);
}

/* Take every lock of @pool without waiting, its mutex first, as its calls
 * do: 1, or 0 with none taken. */
static int pool_take(cymem_pool *pool)
{
    if ((pool->flags & CYMEM_POOL_THREADSAFE) && pthread_mutex_trylock(&pool->lock) != 0)
        return 0;
    for (unsigned i = 0; i < pool->nheaps; i++)
        if (!heap_trylock(pool->heapv[i])) {
            pool_give(pool, 0, i);
            return 0;
        }
    if (pool->bk_lock == &pool->bk_mutex && pthread_mutex_trylock(&pool->bk_mutex.mu) != 0) {
        pool_give(pool, 0, pool->nheaps);
        return 0;
    }
    return 1;
}

static void give_all(const cymem_pool *upto)
{
    for (cymem_pool *p = all_first; p != upto; p = p->fork_next)
        pool_give(p, p->bk_lock == &p->bk_mutex, p->nheaps);
    cymem__page_trims_allow();
    mutex_unlock(&all_lock);
}

static void fork_give(void)
{
    cymem__caches_fork_give(0);
    give_all(NULL);
}

static void fork_take(void)
{
    for (;;) {
        mutex_lock(&all_lock);
        cymem__page_trims_stop();
        cymem_pool *p = all_first;
        while (p != NULL && pool_take(p))
            p = p->fork_next;
        if (p == NULL) {
            cymem__caches_fork_take();
            return;
        }
        give_all(p);
        sched_yield();
    }
}

/* In the child, the calls that other threads had under way will never
 * end: the debug mode no longer counts them, nor the forking thread's own
 * (a reset whose cleanup forked), which cymem__fork_children() tells. */
static void fork_child(void)
{
    for (cymem_pool *p = all_first; p != NULL; p = p->fork_next)
        __atomic_store_n(&p->busy, 0, __ATOMIC_RELAXED);
    __atomic_add_fetch(&children, 1, __ATOMIC_RELAXED);
    cymem__caches_fork_give(1);
    give_all(NULL);
}

unsigned cymem__fork_children(void)
{
    return __atomic_load_n(&children, __ATOMIC_RELAXED);
}

static void fork_init(void)
{
    /* Without memory for the handlers, a fork() is as it was before
     * them: the child may find locks held (ENOMEM is its only error). */
    (void)pthread_atfork(fork_take, fork_give, fork_child);
}

void cymem__fork_ready(void)
{
    /* If pthread_once() itself failed, no handler is registered. */
    (void)pthread_once(&fork_once, fork_init);
}

void cymem__fork_watch(cymem_pool *pool)
{
    cymem__fork_ready();
    mutex_lock(&all_lock);
    pool->fork_prev = NULL;
    pool->fork_next = all_first;
    if (all_first != NULL)
        all_first->fork_prev = pool;
    all_first = pool;
    mutex_unlock(&all_lock);
}

void cymem__fork_unwatch(cymem_pool *pool)
{
    mutex_lock(&all_lock);
    if (pool->fork_prev != NULL)
        pool->fork_prev->fork_next = pool->fork_next;
    else
        all_first = pool->fork_next;
    if (pool->fork_next != NULL)
        pool->fork_next->fork_prev = pool->fork_prev;
    mutex_unlock(&all_lock);
}
