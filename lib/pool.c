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
 * the cleanup list ends; a destroyed pool owns no slot of the page map.
 *
 * Its layer: above the engines and stats.c (the debug mode walks the live
 * blocks at a reset), and invariants.c (checked at each reset and destroy
 * of a library configured with --enable-debug); only api.c is above it,
 * and calls nothing of it.
 */
#include "internal.h"
#include "arena.h"
#include "backing.h"
#include "direct.h"
#include "hashtab.h"
#include "invariants.h"
#include "region.h"
#include "slab.h"
#include "stats.h"
#include "tcache.h"
#include "track.h"

#include <errno.h>

/* ---- Cleanups, reset, destroy ------------------------------------------ */

int cymem_pool_on_cleanup(cymem_pool *pool, void (*fn)(void *arg), void *arg)
{
    if (pool == NULL || fn == NULL) {
        errno = EINVAL;
        return -1;
    }
    pool_lock(pool);
    cymem__cleanup *c = cymem__meta_alloc(pool, sizeof *c);
    if (c != NULL) {
        c->fn = fn;
        c->arg = arg;
        c->next = pool->cleanups;
        pool->cleanups = c;
    }
    pool_unlock(pool);
    return c != NULL ? 0 : -1;
}

static void destroy_tree(cymem_pool *pool);

/* Destroy the children, then run the cleanups, last registered first. */
static void run_teardown(cymem_pool *pool)
{
    cymem_pool *child;
    while ((child = pool->first_child) != NULL) {
        pool->first_child = child->next_sibling;
        if (pool->first_child)
            pool->first_child->prev_sibling = NULL;
        child->parent = NULL;
        destroy_tree(child);
    }
    cymem__cleanup *c;
    while ((c = pool->cleanups) != NULL) {
        void (*fn)(void *) = c->fn;
        void *arg = c->arg;
        pool->cleanups = c->next;
        cymem__meta_free(pool, c, sizeof *c);
        fn(arg);
    }
}

/* The debug mode at a reset (TRACK_POOL_RESET): every live block's redzone
 * is checked, against its slab block's size, its arena block's units or,
 * direct, its own size. */
static int debug_check_live(void *p, size_t n, void *ctx)
{
    const cymem_pool *pool = ctx;
    cymem__slab *s = cymem__chunk_find(pool, p);
    size_t cap = n;
    if (s != NULL && s->cls == CYMEM__ARENA_CLS)
        cap = (size_t)arena_extent(s, (uint32_t)(((char *)p - s->base) >> CYMEM__UNIT_SHIFT))
              << CYMEM__UNIT_SHIFT;
    else if (s != NULL)
        cap = s->bsize;
    cymem__debug_check(pool, p, n, cap);
    return 0;
}

void cymem__debug_reset(const cymem_pool *pool)
{
    cymem__foreach_unlocked(pool, debug_check_live, (void *)pool);
}

/* Whether @pool freed no block individually since its last reset (or
 * since it was made), as far as what it holds shows: no hole in its arena,
 * no freed block in a slab. */
static int freed_nothing(const cymem_pool *pool)
{
    return pool->nholes == 0 && pool->arena_dead == 0 && !cymem__slabs_freed(pool);
}

/* Make every arena chunk and slab of @pool as after a reset, in
 * O(chunks); a pool that freed nothing individually goes on with an arena
 * only. */
static void reset_engines(cymem_pool *pool)
{
    TRACK_POOL_RESET(pool);
    int whole = freed_nothing(pool);
    cymem__arena_reset(pool);
    if (whole && pool->classes != NULL)
        cymem__slabs_to_arena(pool);
    cymem__slabs_reset(pool);
    note_peak(pool);
    pool->live_bytes = 0;
}

/* A library configured with --enable-debug checks every invariant of a
 * pool (invariants.c) at each reset and destroy while the debug mode is on. */
static void debug_verify(const cymem_pool *pool)
{
#ifdef CYMEM_DEBUG_DEFAULT
    if (DEBUG_ON && cymem__pool_check(pool) != 0)
        cymem__fatal("the pool's invariant check", 0);
#else
    (void)pool;
#endif
}

void cymem_pool_reset(cymem_pool *pool)
{
    if (pool == NULL)
        return;
    pool_lock(pool);
    debug_verify(pool);
    run_teardown(pool);
    cymem__direct_release_all(pool);
    reset_engines(pool);
    pool_unlock(pool);
}

/*
 * A destroyed pool gives everything back, its keeper last; the keeper of a
 * pool of the system allocator is slab-sized memory, which waits in the
 * thread's cache (tcache.c) for the next cymem_pool_new(): a program that
 * makes a pool per request then costs no system call per pool, and the
 * next pool, laid out afresh, is a new pool in every statistic.
 */

/* Give back everything @pool holds but its keeper, which is reset. */
static void release_all(cymem_pool *pool)
{
    cymem__slabs_release(pool);
    cymem__arena_trim(pool);
    cymem__region_release_all(pool);
    cymem__map_free(pool, &pool->direct, sizeof(cymem__direct));
    /* A slot left would name a freed descriptor to the next pool made at
     * this address. */
    if (pool->page_slots != 0)
        cymem__fatal("destroy: the page map still names the pool's chunks", 0);
}

/* Free everything @pool holds and @pool itself. */
void cymem__pool_free(cymem_pool *pool)
{
    release_all(pool);
    /* The pool's own memory, the keeper, came from its backing allocator
     * too. */
    cymem_pool self = *pool;
    size_t dirty = cymem__keeper_dirty(pool);
    TRACK_KEEPER_DELETE(pool);
    cymem__slab_mem_free(&self, pool, self.keeper_size, dirty);
}

/* Tear down @pool, already unlinked from its parent, and free it. */
static void destroy_tree(cymem_pool *pool)
{
    run_teardown(pool);
    cymem__direct_release_all(pool);
    TRACK_POOL_DELETE(pool);
    if (pool->flags & CYMEM_POOL_THREADSAFE)
        pthread_mutex_destroy(&pool->lock);
    cymem__pool_free(pool);
}

void cymem_pool_destroy(cymem_pool *pool)
{
    if (pool == NULL)
        return;
    /* No other thread may use a pool being destroyed: no lock needed. */
    debug_verify(pool);
    cymem_pool *parent = pool->parent;
    if (parent != NULL) {
        pool_lock(parent);
        if (pool->prev_sibling)
            pool->prev_sibling->next_sibling = pool->next_sibling;
        else
            parent->first_child = pool->next_sibling;
        if (pool->next_sibling)
            pool->next_sibling->prev_sibling = pool->prev_sibling;
        pool_unlock(parent);
        pool->parent = NULL;
    }
    destroy_tree(pool);
}

/* Let the fast paths serve @pool when they can: the pool takes no lock and
 * runs no checker hooks (plain); cymem_pool_alloc() then bumps its arena,
 * and takes from its classes once it has them (slab.c).  A THREADSAFE
 * pool's fields are never written after cymem_pool_new_ex(), as other
 * threads read them without the lock: they stay 0. */
static void set_plain(cymem_pool *pool)
{
#ifdef CYMEM_ASAN
    int hooks = 1;
#else
    int hooks = cymem__track;
#endif
    if (pool->flags & CYMEM_POOL_THREADSAFE)
        return;
    pool->plain = !hooks;
    pool->fast = NULL;
    cymem__arena_set_fast(pool);
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

    cymem_pool proto;
    memset(&proto, 0, sizeof proto);
    if (opts->allocator) {
        proto.bk = *opts->allocator;
    } else if (opts->parent) {
        proto.sys = opts->parent->sys;
        proto.bk = opts->parent->bk;
    } else {
        proto.sys = 1;
    }
    /* The environment, read once: the checkers (TRACK_POOL_NEW below) and
     * CYMEM_HUGE_PAGES=1, huge pages for every pool. */
    cymem__debug_init();
    proto.flags = opts->flags | (cymem__huge_pages ? CYMEM_POOL_HUGE_PAGES : 0);
    proto.chunk_size = chunk;
    proto.small_max = CYMEM__CLASS_MAX;

    proto.keeper_size = chunk < CYMEM__KEEPER ? chunk : CYMEM__KEEPER;
    size_t dirty;
    cymem_pool *pool = cymem__slab_mem_alloc(&proto, proto.keeper_size, &dirty);
    if (pool == NULL)
        return NULL;
    TRACK_KEEPER_NEW(pool, proto.keeper_size);
    *pool = proto;
    pool->metadata_bytes = cymem__keeper_init(pool, pool->keeper_size, dirty);
    if (pool->flags & CYMEM_POOL_THREADSAFE) {
        int err = pthread_mutex_init(&pool->lock, NULL);
        if (err != 0) {
            /* Nothing refers to the pool yet: give all of it back. */
            cymem__pool_free(pool);
            errno = err;
            return NULL;
        }
    }
    TRACK_POOL_NEW(pool);
    set_plain(pool);

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
    return cymem__sys_trim();
}
