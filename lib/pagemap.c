/*
 * pagemap.c - the page map: granule (address >> GRANULE_SHIFT) -> the
 * slabs and arena chunks that overlap it, for every pool of the process.
 * The lookup, cymem__page_find(), is inline in pagemap.h for the free
 * path; here are the changes.
 *
 * Invariants:
 *  - a chunk's blocks [base, base + span) lie in its memory, and the
 *    memory from base on is at least a granule long (a system piece of 16
 *    KiB or more, a custom allocator's piece padded to align base, or
 *    whole granules carved from a region; a heap's keeper, whose memory
 *    starts with the heap itself, has a granule in all); memories of live
 *    chunks never overlap, whichever pools own them.  So no chunk can lie
 *    between two others that meet the same granule (it would fit inside
 *    the granule): at most two chunks meet in any granule.  A chunk is recorded after its memory is had and forgotten
 *    before its memory goes, so this holds at every moment, whatever the
 *    threads do, and a granule's two slots suffice (a span may be shorter
 *    than a granule: 12 blocks of 1280 bytes in 16 KiB);
 *  - a pool's slots are exactly the granules its slabs and arena chunks
 *    (the keeper excepted, unless the pool is a heap) span, with the
 *    pool's key as their owner: the pool itself, or the shared pool a
 *    heap serves (shared.c); pool->page_slots counts them;
 *  - only a pool's own operations (one thread at a time: the pool is
 *    plain, or they hold its lock) change its slots, so a lookup by the
 *    pool sees its own slots as its last change left them.  The heaps of
 *    a shared pool share its key: each changes its own slots, and a
 *    lookup by the shared pool (cymem__page_find_shared()) may see
 *    another heap's slot being claimed or released;
 *  - leaves are never unmapped, so a lookup never reads freed memory;
 *    cymem__page_trim() gives back the pages of a leaf whose entries are
 *    all empty, which then read as zero again;
 *  - a slot's chunk is TRIMMING, with no owner, only while
 *    cymem__page_trim() holds every slot of its page to give the page
 *    back; a claim that meets it waits.  Trims run one at a time, under
 *    a lock that a fork() takes too (fork.c), so that no child finds a
 *    slot held.
 *
 * Leaves come from os.c, zeroed; nothing here is the pools' memory, and
 * the map is not counted in any pool's statistics.
 */
#include "internal.h"
#include "os.h"
#include "pagemap.h"

#include <errno.h>
#include <sched.h>

cymem__pentry *cymem__pm_root[CYMEM__PM_ROOT];

#define TRIMMING CYMEM__PM_TRIMMING

/* The leaf of @key's granule, made if @make; NULL if there is none (or it
 * cannot be made). */
static cymem__pentry *leaf_of(uintptr_t key, int make)
{
    cymem__pentry **slot = &cymem__pm_root[(key >> CYMEM__PM_LEAF_BITS) & (CYMEM__PM_ROOT - 1)];
    cymem__pentry *leaf = __atomic_load_n(slot, __ATOMIC_ACQUIRE);
    if (leaf != NULL || !make)
        return leaf;
    size_t bytes = CYMEM__PM_LEAF * sizeof(cymem__pentry);
    cymem__pentry *fresh = cymem__os_pages_alloc(bytes);
    if (fresh == NULL)
        return NULL;
    /* Entries are touched sparsely: a huge page would make 2 MiB of the
     * map resident for one granule's entry. */
    cymem__os_advise_huge(fresh, bytes, 0);
    if (__atomic_compare_exchange_n(slot, &leaf, fresh, 0, __ATOMIC_ACQ_REL,
                                    __ATOMIC_ACQUIRE))
        return fresh;
    cymem__os_pages_free(fresh, bytes);         /* another thread made it */
    return leaf;
}

/* The entry of @key's granule, its leaf made if @make; NULL if the leaf
 * does not exist (or cannot be made). */
static cymem__pentry *entry_of(uintptr_t key, int make)
{
    cymem__pentry *leaf = leaf_of(key, make);
    return leaf ? &leaf[key & (CYMEM__PM_LEAF - 1)] : NULL;
}

/* Which of @e's slots holds @pool's chunk @s; aborts, saying @what, if
 * neither does (the map and the pool disagree).  A slot's owner is the
 * pool's key: the pool, or the shared pool a heap serves. */
static int slot_of(const cymem__pentry *e, const cymem_pool *pool, const cymem__slab *s,
                   const char *what)
{
    for (int j = 0; j < 2; j++)
        if (__atomic_load_n(&e->owner[j], __ATOMIC_RELAXED) == pool->key &&
            __atomic_load_n(&e->chunk[j], __ATOMIC_RELAXED) == s)
            return j;
    cymem__fatal(what, 0);
    return -1;
}

/* The granules [*first, *last] that chunk @s spans; 0 if they are above
 * the map's address bits. */
static int granules(const cymem__slab *s, uintptr_t *first, uintptr_t *last)
{
    *first = (uintptr_t)s->base >> CYMEM__GRANULE_SHIFT;
    *last = ((uintptr_t)s->base + s->span - 1) >> CYMEM__GRANULE_SHIFT;
#if CYMEM__PM_ADDR_BITS < 64 && UINTPTR_MAX > 0xffffffffu
    if (*last >> (CYMEM__PM_ADDR_BITS - CYMEM__GRANULE_SHIFT) != 0)
        return 0;
#endif
    return 1;
}

/* Release the slot of @pool's chunk @s in @key's granule. */
static void slot_release(const cymem_pool *pool, const cymem__slab *s, uintptr_t key)
{
    cymem__pentry *e = entry_of(key, 0);
    int j = slot_of(e, pool, s, "page map: forgetting a chunk it does not hold");
    __atomic_store_n(&e->owner[j], NULL, __ATOMIC_RELEASE);
    __atomic_store_n(&e->chunk[j], NULL, __ATOMIC_RELEASE);
}

int cymem__page_insert(cymem_pool *pool, cymem__slab *s)
{
    uintptr_t first, last, key;
    if (!granules(s, &first, &last)) {
        errno = ENOMEM;
        return -1;
    }
    for (key = first; key <= last; key++) {
        cymem__pentry *e = entry_of(key, 1);
        if (e == NULL)
            goto undo;
        int j;
        cymem__slab *seen[2];
        for (;;) {
            for (j = 0; j < 2; j++) {
                seen[j] = NULL;
                if (__atomic_compare_exchange_n(&e->chunk[j], &seen[j], s, 0, __ATOMIC_ACQ_REL,
                                                __ATOMIC_ACQUIRE)) {
                    __atomic_store_n(&e->owner[j], pool->key, __ATOMIC_RELEASE);
                    break;
                }
            }
            if (j < 2)
                break;
            if (seen[0] == TRIMMING || seen[1] == TRIMMING) {
                /* A trim holds the page for a moment, and gives it back
                 * empty. */
                sched_yield();
                continue;
            }
            /* Two chunks, as the compare-and-swaps saw the slots: unless
             * they changed since (a trim let go of them, another pool
             * claimed one), two live chunks already: the backing
             * allocator handed out memory that overlaps memory still in
             * use. */
            if (__atomic_load_n(&e->chunk[0], __ATOMIC_ACQUIRE) == seen[0] &&
                __atomic_load_n(&e->chunk[1], __ATOMIC_ACQUIRE) == seen[1])
                cymem__fatal("page map: recording a third chunk in one granule", 0);
        }
    }
    pool->page_slots += last - first + 1;
    return 0;

undo:
    while (key-- > first)
        slot_release(pool, s, key);
    errno = ENOMEM;
    return -1;
}

void cymem__page_remove(cymem_pool *pool, const cymem__slab *s)
{
    uintptr_t first, last;
    granules(s, &first, &last);
    for (uintptr_t key = first; key <= last; key++)
        slot_release(pool, s, key);
    pool->page_slots -= last - first + 1;
}

void cymem__page_replace(cymem_pool *pool, const cymem__slab *from, cymem__slab *to,
                         cymem__slab *to2)
{
    uintptr_t first, last, to_first, to_last, to2_first = UINTPTR_MAX, to2_last = 0;
    granules(from, &first, &last);
    granules(to, &to_first, &to_last);
    if (to2 != NULL)
        granules(to2, &to2_first, &to2_last);
    for (uintptr_t key = first; key <= last; key++) {
        cymem__slab *by = key >= to2_first ? (key <= to2_last ? to2 : NULL)
                        : key <= to_last ? to : NULL;
        if (by == NULL) {
            /* Past the blocks of @to or @to2: their marks, say. */
            slot_release(pool, from, key);
            pool->page_slots--;
            continue;
        }
        cymem__pentry *e = entry_of(key, 0);
        int j = slot_of(e, pool, from, "page map: replacing a chunk it does not hold");
        __atomic_store_n(&e->chunk[j], by, __ATOMIC_RELEASE);
    }
}

/* Whether the @n entries at @e are all empty (relaxed: a guess, which
 * page_hold() makes sure of). */
static int page_empty(const cymem__pentry *e, size_t n)
{
    for (size_t i = 0; i < n; i++)
        for (int j = 0; j < 2; j++)
            if (__atomic_load_n(&e[i].chunk[j], __ATOMIC_RELAXED) != NULL ||
                __atomic_load_n(&e[i].owner[j], __ATOMIC_RELAXED) != NULL)
                return 0;
    return 1;
}

/* Empty the first @k slots of the entries at @e, which page_hold() had. */
static void page_let_go(cymem__pentry *e, size_t k)
{
    while (k-- > 0)
        __atomic_store_n(&e[k / 2].chunk[k % 2], NULL, __ATOMIC_RELEASE);
}

/* Put TRIMMING in every slot of the @n entries at @e, each from NULL: 1
 * done, or 0 (a claim came first) with the slots as they were.  A slot
 * whose chunk is NULL has no owner (a claim sets the chunk first, a
 * release clears the owner first), and while TRIMMING is there no claim
 * can take it: nothing writes to the entries until they are given back. */
static int page_hold(cymem__pentry *e, size_t n)
{
    for (size_t k = 0; k < 2 * n; k++) {
        cymem__slab *none = NULL;
        if (!__atomic_compare_exchange_n(&e[k / 2].chunk[k % 2], &none, TRIMMING, 0,
                                         __ATOMIC_ACQ_REL, __ATOMIC_RELAXED)) {
            page_let_go(e, k);
            return 0;
        }
    }
    return 1;
}

/* Held by a trim, and by a fork() (fork.c): a child must not find
 * slots held by a trim of a thread it does not have. */
static pthread_mutex_t trim_lock = PTHREAD_MUTEX_INITIALIZER;

void cymem__page_trims_stop(void)
{
    mutex_lock(&trim_lock);
}

void cymem__page_trims_allow(void)
{
    mutex_unlock(&trim_lock);
}

static size_t page_trim(void);

size_t cymem__page_trim(void)
{
    cymem__page_trims_stop();
    size_t given = page_trim();
    cymem__page_trims_allow();
    return given;
}

static size_t page_trim(void)
{
    const size_t bytes = CYMEM__PM_LEAF * sizeof(cymem__pentry);
    const size_t page = cymem__page_size();
    unsigned char resident[CYMEM__PM_LEAF * sizeof(cymem__pentry) / 4096];
    size_t pages = bytes / page, per = page / sizeof(cymem__pentry), given = 0;
    if (page < 4096 || bytes % page != 0 || page % sizeof(cymem__pentry) != 0)
        return 0;
    for (size_t r = 0; r < CYMEM__PM_ROOT; r++) {
        cymem__pentry *leaf = __atomic_load_n(&cymem__pm_root[r], __ATOMIC_ACQUIRE);
        if (leaf == NULL)
            continue;
        /* Only resident pages: reading the others would map them. */
        cymem__os_pages_resident(leaf, bytes, resident);
        for (size_t i = 0; i < pages; i++) {
            cymem__pentry *e = leaf + i * per;
            if (!(resident[i] & 1) || !page_empty(e, per) || !page_hold(e, per))
                continue;
            if (cymem__os_pages_discard(e, page) == 0)
                given += page;          /* its slots read NULL again */
            else
                page_let_go(e, 2 * per);
        }
    }
    return given;
}

cymem__pentry *cymem__page_entry(const void *ptr)
{
    return entry_of((uintptr_t)ptr >> CYMEM__GRANULE_SHIFT, 0);
}

size_t cymem__page_census(const cymem_pool *pool, size_t *orphans)
{
    size_t mine = 0, lost = 0;
    for (size_t r = 0; r < CYMEM__PM_ROOT; r++) {
        const cymem__pentry *leaf = __atomic_load_n(&cymem__pm_root[r], __ATOMIC_ACQUIRE);
        for (size_t i = 0; leaf != NULL && i < CYMEM__PM_LEAF; i++) {
            for (int j = 0; j < 2; j++) {
                const cymem_pool *o = __atomic_load_n(&leaf[i].owner[j], __ATOMIC_RELAXED);
                const cymem__slab *c = __atomic_load_n(&leaf[i].chunk[j], __ATOMIC_RELAXED);
                mine += o != NULL && o == pool;
                lost += (o == NULL) != (c == NULL);
            }
        }
    }
    if (orphans)
        *orphans = lost;
    return mine;
}
