/*
 * pool.c - a pool's life: cymem_pool_new(), _new_ex(), _reset(),
 * _destroy(), children, cleanups; cymem_version() and cymem_trim().
 *
 * A pool starts as one piece of backing memory, the keeper (arena.c),
 * which holds the pool itself; its engines (arena.c, slab.c, direct.c)
 * add the rest as it is used.  A reset and a destroy first destroy the
 * children and run the cleanups, last registered first; a reset then
 * gives back the direct blocks and makes every arena chunk and slab as
 * new, keeping them, in O(chunks); a destroy gives everything back, the
 * keeper last.
 *
 * Invariants kept (group 7 of doc/design.md): a pool's options are valid
 * and never change; `plain` is set once, at creation, for a pool that is
 * not THREADSAFE and runs no checker hooks; a child is on its parent's
 * list of children exactly while both live, and the list is well linked;
 * the cleanup list ends; a destroyed pool owns no slot of the page map; a
 * child that inherits a custom allocator shares the mutex (bk_lock) of
 * the pool it was given to, made for the first such child, and destroyed
 * with that pool after its last child.
 *
 * Its layer: on top, with api.c (neither calls the other): it calls
 * blocks.c (making, clearing and freeing a pool's memory), direct.c,
 * invariants.c (checked at each reset and destroy of a library configured
 * with --enable-debug), tcache.c, pagemap.c (cymem_trim()) and fork.c
 * (a THREADSAFE pool, and the owner of an allocator's mutex, are on the
 * list of pools whose locks a fork() takes).
 */
#include "internal.h"
#include "backing.h"
#include "blocks.h"
#include "direct.h"
#include "fork.h"
#include "invariants.h"
#include "pagemap.h"
#include "shared.h"
#include "tcache.h"
#include "track.h"

#include <errno.h>

/* ---- Cleanups, reset, destroy ------------------------------------------ */

/* The debug mode: a shared pool is destroyed while no other call on it is
 * under way (cymem(3), "Threads"). */
static void debug_alone(const cymem_pool *pool, const char *what)
{
    if (DEBUG_ON && pool_shared(pool))
        cymem__shared_alone(pool, what);
}

/* ... and the calls that may overlap each other count themselves. */
static void debug_watch(const cymem_pool *pool, int calls)
{
    if (DEBUG_ON && pool_shared(pool))
        cymem__shared_watch(pool, calls);
}

int cymem_pool_on_cleanup(cymem_pool *pool, void (*fn)(void *arg), void *arg)
{
    if (pool == NULL || fn == NULL) {
        errno = EINVAL;
        return -1;
    }
    debug_watch(pool, 1);
    pool_lock(pool);
    cymem__cleanup *c = cymem__meta_alloc(pool, sizeof *c);
    if (c != NULL) {
        c->fn = fn;
        c->arg = arg;
        c->next = pool->cleanups;
        pool->cleanups = c;
    }
    pool_unlock(pool);
    debug_watch(pool, -1);
    return c != NULL ? 0 : -1;
}

static void destroy_tree(cymem_pool *pool);

/* Take @child off @parent's list of children; the caller holds the
 * parent's lock. */
static void unlink_child(cymem_pool *parent, cymem_pool *child)
{
    if (child->prev_sibling)
        child->prev_sibling->next_sibling = child->next_sibling;
    else
        parent->first_child = child->next_sibling;
    if (child->next_sibling)
        child->next_sibling->prev_sibling = child->prev_sibling;
    child->parent = NULL;
}

/* Destroy the children, then run the cleanups, last registered first; a
 * child that a cleanup makes goes right after that cleanup.  Each is
 * taken off its list under the pool's lock and run without it: a cleanup
 * may read the pool (its statistics, say) and a child's may free a block
 * of the pool, as they could outside a reset. */
static void run_teardown(cymem_pool *pool)
{
    for (;;) {
        void (*fn)(void *) = NULL;
        void *arg = NULL;
        pool_lock(pool);
        cymem_pool *child = pool->first_child;
        cymem__cleanup *c = pool->cleanups;
        if (child != NULL) {
            unlink_child(pool, child);
        } else if (c != NULL) {
            fn = c->fn;
            arg = c->arg;
            pool->cleanups = c->next;
            cymem__meta_free(pool, c, sizeof *c);
        }
        pool_unlock(pool);
        if (child != NULL)
            destroy_tree(child);
        else if (fn != NULL)
            fn(arg);
        else
            return;
    }
}

/* A library configured with --enable-debug checks every invariant of a
 * pool (invariants.c) at each reset and destroy while the debug mode is on. */
static void debug_verify(const cymem_pool *pool)
{
#ifdef CYMEM_DEBUG_DEFAULT
    if (DEBUG_ON && cymem__pool_check(pool) != 0)
        cymem__fatal("the pool's invariant check failed", 0);
#else
    (void)pool;
#endif
}

void cymem_pool_reset(cymem_pool *pool)
{
    if (pool == NULL)
        return;
    unsigned forks = cymem__fork_children();
    debug_watch(pool, 1);
    pool_lock(pool);
    debug_verify(pool);
    pool_unlock(pool);
    run_teardown(pool);
    pool_lock(pool);
    cymem__pool_clear(pool);
    if (pool_shared(pool))
        cymem__shared_clear(pool);
    pool_unlock(pool);
    /* Not in the child of a fork() from a cleanup: the count began
     * again there, without this call. */
    if (cymem__fork_children() == forks)
        debug_watch(pool, -1);
}

/* Tear down @pool, already unlinked from its parent, and free it. */
static void destroy_tree(cymem_pool *pool)
{
    /* A child destroyed with its parent, too. */
    debug_alone(pool, "cymem_pool_destroy: another thread is using the pool");
    run_teardown(pool);
    /* Off the fork()'s list before its locks go. */
    if (fork_watched(pool))
        cymem__fork_unwatch(pool);
    /* No child is left to share its allocator: its own last calls, the
     * one that frees the mutex's memory among them, need no mutex. */
    if (pool->bk_lock == &pool->bk_mutex) {
        pool->bk_lock = NULL;
        pthread_mutex_destroy(&pool->bk_mutex.mu);
    }
    cymem__direct_release_all(pool);
    TRACK_POOL_DELETE(pool);
    if (pool_shared(pool))
        cymem__shared_release(pool);
    if (pool->flags & CYMEM_POOL_THREADSAFE)
        pthread_mutex_destroy(&pool->lock);
    cymem__pool_free(pool);
}

void cymem_pool_destroy(cymem_pool *pool)
{
    if (pool == NULL)
        return;
    /* No other thread may use a pool being destroyed: no lock needed. */
    debug_alone(pool, "cymem_pool_destroy: another thread is using the pool");
    debug_verify(pool);
    cymem_pool *parent = pool->parent;
    if (parent != NULL) {
        debug_watch(parent, 1);
        pool_lock(parent);
        unlink_child(parent, pool);
        pool_unlock(parent);
        debug_watch(parent, -1);
    }
    destroy_tree(pool);
}

/* The mutex of @parent's custom allocator, for a child that inherits it,
 * made the first time; NULL with errno set if it cannot be.  Its holder
 * may take it again (backing.c): the allocator may use a pool that shares
 * it, as it could before the first child came (cymem_allocator(3)). */
static cymem__bk_mutex *allocator_lock(cymem_pool *parent)
{
    cymem__bk_mutex *mu;
    pool_lock(parent);
    if (parent->bk_lock == NULL) {
        parent->bk_mutex.owner = 0;
        parent->bk_mutex.depth = 0;
        int err = pthread_mutex_init(&parent->bk_mutex.mu, NULL);
        if (err == 0) {
            parent->bk_lock = &parent->bk_mutex;
            /* A fork() takes it too (a THREADSAFE pool is on the list
             * already). */
            if (!(parent->flags & CYMEM_POOL_THREADSAFE))
                cymem__fork_watch(parent);
        } else {
            errno = err;
        }
    }
    mu = parent->bk_lock;
    pool_unlock(parent);
    return mu;
}

/* cymem_pool_new_ex() of valid @opts, with chunks of @chunk bytes. */
static cymem_pool *pool_new(const cymem_pool_options *opts, size_t chunk)
{
    cymem_pool proto;
    memset(&proto, 0, sizeof proto);
    if (opts->allocator) {
        proto.bk = *opts->allocator;
    } else if (opts->parent) {
        proto.sys = opts->parent->sys;
        proto.bk = opts->parent->bk;
        /* Parent and child may be used by different threads at once: a
         * custom allocator, which need not be thread-safe, is called
         * under a mutex they share. */
        if (!proto.sys && (proto.bk_lock = allocator_lock(opts->parent)) == NULL)
            return NULL;
    } else {
        proto.sys = 1;
    }
    if (proto.sys)
        cymem__fork_ready();
    /* The environment, read once: the checkers (TRACK_POOL_NEW below) and
     * CYMEM_HUGE_PAGES=1, huge pages for every pool. */
    cymem__debug_init();
    proto.flags = opts->flags | (cymem__huge_pages ? CYMEM_POOL_HUGE_PAGES : 0);
    proto.chunk_size = chunk;
    proto.small_max = CYMEM__CLASS_MAX;

    proto.keeper_size = chunk < CYMEM__KEEPER ? chunk : CYMEM__KEEPER;
    cymem_pool *pool = cymem__pool_make(&proto);
    if (pool == NULL)
        return NULL;
    if (pool->flags & CYMEM_POOL_THREADSAFE) {
        int err = pthread_mutex_init(&pool->lock, NULL);
        if (err != 0) {
            /* Nothing refers to the pool yet: give all of it back. */
            cymem__pool_free(pool);
            errno = err;
            return NULL;
        }
        /* Its threads get heaps of their own (shared.c); a custom
         * allocator, which need not be thread-safe, is called under the
         * mutex only. */
        if (pool->sys && cymem__shared_init(pool) != 0) {
            pthread_mutex_destroy(&pool->lock);
            cymem__pool_free(pool);
            errno = ENOMEM;
            return NULL;
        }
        cymem__fork_watch(pool);
    }
    TRACK_POOL_NEW(pool);

    cymem_pool *parent = opts->parent;
    if (parent != NULL) {
        pool_lock(parent);
        pool->parent = parent;
        pool->next_sibling = parent->first_child;
        if (parent->first_child)
            parent->first_child->prev_sibling = pool;
        parent->first_child = pool;
        pool_unlock(parent);
    }
    return pool;
}

cymem_pool *cymem_pool_new_ex(const cymem_pool_options *opts)
{
    static const cymem_pool_options defaults;
    if (opts == NULL)
        opts = &defaults;
    size_t chunk = opts->chunk_size ? opts->chunk_size : CYMEM__CHUNK_DEFAULT;
    if ((opts->flags & ~CYMEM__POOL_FLAGS) != 0 || !IS_POW2(chunk) ||
        chunk < CYMEM_CHUNK_SIZE_MIN || chunk > CYMEM_CHUNK_SIZE_MAX ||
        (opts->allocator && (!opts->allocator->malloc || !opts->allocator->free))) {
        errno = EINVAL;
        return NULL;
    }
    /* Making a child is a call on its parent from its first look at the
     * parent to its linking, which a destroy of the parent must not
     * overlap (the debug mode counts it). */
    if (opts->parent != NULL)
        debug_watch(opts->parent, 1);
    cymem_pool *pool = pool_new(opts, chunk);
    if (opts->parent != NULL)
        debug_watch(opts->parent, -1);
    return pool;
}

cymem_pool *cymem_pool_new(void)
{
    return cymem_pool_new_ex(NULL);
}

const char *cymem_version(void)
{
    return PACKAGE_VERSION;
}

size_t cymem_trim(void)
{
    size_t given = cymem__sys_trim();
    /* The page map's pages that name no chunk any more: the map is the
     * library's, not a cache of the thread's, and is not counted. */
    (void)cymem__page_trim();
    return given;
}
