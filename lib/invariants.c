/*
 * invariants.c - cymem__pool_check(): walk a pool and verify every invariant
 * the engine keeps.
 *
 * doc/design.md lists the invariants under the same numbers as the
 * sections below:
 *
 *   1. slabs and the page map: every slab of a class is on the class's
 *      `all` list and has exactly its shape (block size, count, span,
 *      reciprocal, bitmap levels); slabs never overlap; in the page map,
 *      every granule a slab or arena chunk spans names it once as the
 *      pool's, the pool has no other slot (page_slots counts them), and a
 *      lookup of any block finds its slab;
 *   2. blocks and the bitmap: below `next` a block is free exactly when
 *      its level-0 bit is set, and `nfree` counts them; a live block's
 *      slack is one that some request of the slab's class can leave; no
 *      bit is set at or above `next`; each summary bit is set exactly when
 *      its word is not empty, except that the hint word's bits are always
 *      set; the ownership lookup finds every live block, and no free,
 *      interior or never used one;
 *   3. memory never written since the slab was obtained or reset (blocks
 *      at or above max(next, dirty_end)) is zero;
 *   4. the direct map holds each live direct block once, under its user
 *      pointer, inside its backing allocation, aligned as asked, outside
 *      every slab;
 *   5. accounting: live_bytes is the sum of the live blocks' requested
 *      sizes; reserved_bytes, metadata_bytes and chunk_count are the sums
 *      over every piece the pool holds (the pool itself, class table,
 *      direct map, slab descriptors and memory, regions, cleanup records,
 *      direct blocks);
 *   6. lists: a class's current slab is the empty sentinel or one of its
 *      slabs, on no list and marked current; every other slab is on the
 *      avail list exactly when a 1/AVAIL_DIVISOR of it is free, on the
 *      fresh list only with untouched blocks, and on no list only when
 *      full; the lists are well linked;
 *   7. the pool: its fast-path fields agree with its flags and checkers,
 *      its children link back to it and to each other, its cleanup list
 *      ends;
 *   8. the arena: each chunk's marks describe
 *      consecutive blocks (arena.h), the ownership lookup finds every live
 *      arena block and no freed or interior one, never-written units are
 *      zero, and so is the memory after marks kept in a chunk's own
 *      memory, each hole waits once in the bin of its class, and the
 *      keeper lies in the pool's own allocation, outside the page map (a heap's:
 *      in it, under its shared pool's key).
 *
 * The check reads every block header-free: it never trusts a pointer it
 * has not first found in the pool's own lists.  It takes no lock but each
 * heap's, while it checks that heap: the caller makes sure no other
 * thread uses the pool meanwhile, or holds the pool's lock (a reset of a
 * shared pool, whose heaps other threads may use).  Memory that
 * memcheck was told is off limits is not read under valgrind (invariant 3
 * is skipped there), and the zero scan is not instrumented by ASan.
 *
 * Built into every library and not exported: the test suite, the stress
 * test and the fuzz target reach it through the convenience library.  In a
 * library configured with --enable-debug, every reset and destroy runs it
 * while the debug mode is on, and aborts if it fails (debug.c).
 *
 * Its layer: called only by pool.c (and the tests); it calls the maps and
 * options.c below it, and reads the engines' structures, never their
 * functions.
 */
#include "internal.h"
#include "arena.h"
#include "track.h"
#include "invariants.h"
#include "pagemap.h"
#include "ptrmap.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

/* ---- Constants that depend on each other -------------------------------- */

/* A slab's class, aligned twins included, fits its uint8_t field. */
_Static_assert(CYMEM__NTABLE <= 256, "cymem__slab.cls is a uint8_t");
/* offset * recip >> 40 is the exact block index for every offset in a slab
 * while the largest slab span times the largest block size stays below
 * 2^40 (the rounding error of the reciprocal never reaches a block). */
_Static_assert((unsigned long long)CYMEM_CHUNK_SIZE_MAX * CYMEM__CLASS_MAX <
               (1ull << 40), "the slab reciprocal is exact");
_Static_assert(CYMEM__REGION / 2 <= CYMEM_CHUNK_SIZE_MAX,
               "carved slabs are no larger than the largest chunk");
/* The bitmap's levels cover the most blocks a slab can have, and the
 * word offsets of its levels fit their uint16_t fields. */
_Static_assert(CYMEM_CHUNK_SIZE_MAX / CYMEM__MIN_ALIGN <=
               (1ull << (6 * CYMEM__FMAP_LEVELS)), "four bitmap levels suffice");
_Static_assert(CYMEM_CHUNK_SIZE_MAX / CYMEM__MIN_ALIGN / 64 +
               CYMEM_CHUNK_SIZE_MAX / CYMEM__MIN_ALIGN / 4096 + 64 < 65536,
               "bitmap level offsets fit a uint16_t");
/* Slack entries: a narrow (uint8_t) slab's blocks are at most 2048 bytes,
 * whose classes are at most 128 bytes apart, and an aligned twin adds less
 * than SLAB_ALIGN; the largest block's slack fits a uint16_t. */
_Static_assert(128 + CYMEM__SLAB_ALIGN <= CYMEM__SLACK_MAX8, "narrow slack fits");
_Static_assert(CYMEM__CLASS_MAX <= CYMEM__SLACK_MAX16, "wide slack fits");
/* An arena block's slack fits its 4-bit entry, its units a uint32_t
 * index, and the keeper has room for units after the pool and its own
 * metadata. */
_Static_assert(CYMEM__UNIT == 16 && CYMEM__UNIT < ARENA_FREED,
               "arena marks hold 1 + slack, or ARENA_FREED");
_Static_assert(CYMEM__CLASS_MAX <= CYMEM__ARENA_MIN / 2, "an arena chunk holds any small block");
_Static_assert(CYMEM_CHUNK_SIZE_MAX / CYMEM__UNIT < (1ull << 32), "unit indices fit");
_Static_assert(CYMEM__KEEPER <= CYMEM_CHUNK_SIZE_MAX &&
               CYMEM_CHUNK_SIZE_MIN >= 4 * CYMEM__CLASS_MAX,
               "a keeper holds the pool and a few of the largest small blocks");

/* ---- Reporting ----------------------------------------------------------- */

typedef struct checker {
    const cymem_pool *pool;
    int failed;
} checker;

#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static int bad(checker *ck, int inv, const char *fmt, ...)
{
    va_list ap;
    if (ck->failed++ < 10) {
        fprintf(stderr, "libcymem: pool %p breaks invariant %d: ",
                (const void *)ck->pool, inv);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputc('\n', stderr);
    }
    return -1;
}

#define EXPECT(ck, inv, cond, ...) \
    do { if (!(cond)) bad((ck), (inv), __VA_ARGS__); } while (0)

/* ---- Sums over the pool -------------------------------------------------- */

typedef struct sums {
    size_t live_bytes, slab_blocks;
    size_t reserved, metadata, chunks;
    size_t nslabs;
} sums;

static void hold(sums *t, size_t bytes, int meta)
{
    t->reserved += bytes;
    t->chunks++;
    if (meta)
        t->metadata += bytes;
}

/* ---- 2, 3: one slab's blocks --------------------------------------------- */

/* The words of each level of a slab of @nblocks, computed afresh. */
static unsigned expected_levels(uint32_t nblocks, size_t words[CYMEM__FMAP_LEVELS])
{
    size_t w = ((size_t)nblocks + 63) / 64;
    unsigned l = 0;
    for (;;) {
        words[l++] = w;
        if (w == 1 || l == CYMEM__FMAP_LEVELS)
            return l;
        w = (w + 63) / 64;
    }
}

static int bit(const uint64_t *words, size_t i)
{
    return (int)((words[i / 64] >> (i % 64)) & 1);
}

/* Whether a live block of @s can have @slack: its size is a request that
 * the slab's class serves (an aligned twin serves the requests whose own
 * class rounds up to it), or one that realloc kept in place because it
 * uses at least half of the block. */
static int slack_possible(const cymem__slab *s, size_t slack)
{
    if (slack > slab_max_slack(s) || slack > s->bsize)
        return 0;
    size_t n = s->bsize - slack;
    if (2 * n >= s->bsize)
        return 1;
    unsigned c = size_class(n);
    if (s->cls >= CYMEM__NCLASSES)
        while (class_size(c) & (CYMEM__SLAB_ALIGN - 1))
            c++;
    return c == s->cls % CYMEM__NCLASSES;
}

#if defined(__GNUC__)
__attribute__((no_sanitize_address))
#endif
static size_t first_nonzero(const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != 0)
            return i;
    return n;
}

static void check_slab_blocks(checker *ck, const cymem_pool *pool, const cymem__slab *s,
                              sums *t)
{
    size_t words[CYMEM__FMAP_LEVELS];
    unsigned levels = expected_levels(s->nblocks, words);
    EXPECT(ck, 1, s->levels == levels, "slab %p has %u bitmap levels, not %u",
           (void *)s, s->levels, levels);
    if (s->levels != levels)
        return;
    for (unsigned l = 0, at = 0; l < levels; at += (unsigned)words[l], l++) {
        EXPECT(ck, 1, s->lvl[l] == at && s->lv[l] == s->fmap + at,
               "slab %p: bitmap level %u misplaced", (void *)s, l);
    }
    const uint64_t *lv0 = s->fmap;

    /* 2. Level 0, the slack entries of live blocks, the ownership lookup. */
    uint32_t nfree = 0;
    for (uint32_t i = 0; i < s->nblocks; i++) {
        char *p = s->base + (size_t)i * s->bsize;
        if (i >= s->next) {
            EXPECT(ck, 2, !bit(lv0, i), "slab %p: untouched block %u marked freed",
                   (void *)s, i);
            EXPECT(ck, 2, slab_index(s, p) == CYMEM__NO_BLOCK,
                   "slab %p: untouched block %u found live", (void *)s, i);
            continue;
        }
        int is_free = bit(lv0, i);
        EXPECT(ck, 1, cymem__page_find_key(pool, p) == s,
               "slab %p: the page map does not lead to block %u", (void *)s, i);
        if (is_free) {
            nfree++;
            EXPECT(ck, 2, slab_index(s, p) == CYMEM__NO_BLOCK,
                   "slab %p: freed block %u found live", (void *)s, i);
            continue;
        }
        size_t slack = slab_get_slack(s, i);
        EXPECT(ck, 2, slack_possible(s, slack),
               "slab %p: block %u has slack %zu", (void *)s, i, slack);
        EXPECT(ck, 2, slab_index(s, p) == i, "slab %p: live block %u not found",
               (void *)s, i);
        if (s->bsize > 1)
            EXPECT(ck, 2, slab_index(s, p + 1) == CYMEM__NO_BLOCK,
                   "slab %p: interior pointer of block %u found", (void *)s, i);
        t->live_bytes += s->bsize - slack;
        t->slab_blocks++;
    }
    EXPECT(ck, 2, nfree == s->nfree, "slab %p: nfree %u, counted %u",
           (void *)s, s->nfree, nfree);
    /* Bits past the last block are never set. */
    for (size_t i = s->nblocks; i < words[0] * 64; i++)
        EXPECT(ck, 2, !bit(lv0, i), "slab %p: bit %zu past the end", (void *)s, i);

    /* 2. The summary levels. */
    EXPECT(ck, 2, s->hint < words[0], "slab %p: hint %u out of range", (void *)s, s->hint);
    for (unsigned l = 1; l < levels; l++) {
        const uint64_t *below = s->lv[l - 1], *here = s->lv[l];
        for (size_t w = 0; w < words[l] * 64; w++) {
            int want = w < words[l - 1] &&
                       (below[w] != 0 || (l == 1 && w == s->hint));
            EXPECT(ck, 2, bit(here, w) == want,
                   "slab %p: summary bit %zu of level %u is %d, not %d",
                   (void *)s, w, l, bit(here, w), want);
        }
    }

    /* 3. Never-written memory is zero.  memcheck has been told that most of
     * it may not be read, so under valgrind it is not. */
    if (!cymem__valgrind) {
        uint32_t zero_from = s->next > s->dirty_end ? s->next : s->dirty_end;
        if (zero_from < s->nblocks) {
            const unsigned char *z = (const unsigned char *)s->base + (size_t)zero_from * s->bsize;
            size_t n = (size_t)(s->nblocks - zero_from) * s->bsize;
            size_t at = first_nonzero(z, n);
            EXPECT(ck, 3, at == n, "slab %p: block %zu, never written, is not zero",
                   (void *)s, zero_from + at / s->bsize);
        }
    }
}

/* ---- 1, 6: a class's slabs and lists ------------------------------------- */

/* Whether @s is on the avail or fresh list that starts at @head. */
static int on_list(const cymem__slab *head, const cymem__slab *s, size_t bound)
{
    for (size_t n = 0; head != NULL && n <= bound; head = head->lnext, n++)
        if (head == s)
            return 1;
    return 0;
}

/* Whether @s is one of the slabs of the class whose `all` list is @head. */
static int in_class(const cymem__slab *head, const cymem__slab *s, size_t bound)
{
    for (size_t n = 0; head != NULL && n <= bound; head = head->next_in_class, n++)
        if (head == s)
            return 1;
    return 0;
}

static void check_list(checker *ck, const cymem__class *sc, const cymem__slab *head,
                       int which, size_t bound)
{
    const cymem__slab *prev = NULL;
    size_t n = 0;
    for (const cymem__slab *s = head; s != NULL; prev = s, s = s->lnext) {
        if (++n > bound) {
            bad(ck, 6, "a slab list of class %td does not end", sc - ck->pool->classes);
            return;
        }
        EXPECT(ck, 6, s->list == which, "slab %p on list %d says %d",
               (void *)s, which, s->list);
        EXPECT(ck, 6, s->lprev == prev, "slab %p: list back link broken", (void *)s);
        EXPECT(ck, 6, s != sc->cur, "the current slab %p is on a list", (void *)s);
        EXPECT(ck, 6, in_class(sc->all, s, bound),
               "slab %p on a list is not one of its class's", (void *)s);
    }
}

static void check_class(checker *ck, const cymem_pool *pool, unsigned c,
                        const cymem__slab **slabs, size_t room, sums *t)
{
    const cymem__class *sc = &pool->classes[c];
    size_t bsize = class_size(c % CYMEM__NCLASSES);
    /* A bound on any walk: a pool holds fewer slabs than chunks. */
    size_t bound = pool->chunk_count + 1;
    size_t n = 0;
    for (const cymem__slab *s = sc->all; s != NULL; s = s->next_in_class) {
        if (++n > bound) {
            bad(ck, 1, "the slab list of class %u does not end", c);
            return;
        }
        EXPECT(ck, 1, s->cls == c && s->bsize == bsize,
               "slab %p of class %u has class %u, block size %u", (void *)s, c, s->cls,
               s->bsize);
        EXPECT(ck, 1, s->nblocks > 0 && s->span == (size_t)s->nblocks * s->bsize &&
               s->recip == (((uint64_t)1 << 40) + s->bsize - 1) / s->bsize &&
               s->wide == (s->bsize > 2048) &&
               s->avail_min == (s->nblocks / CYMEM__AVAIL_DIVISOR ? s->nblocks / CYMEM__AVAIL_DIVISOR : 1),
               "slab %p: inconsistent shape", (void *)s);
        EXPECT(ck, 1, ((uintptr_t)s->base & (CYMEM__SLAB_ALIGN - 1)) == 0,
               "slab %p: base %p misaligned", (void *)s, (void *)s->base);
        EXPECT(ck, 1, s->next <= s->nblocks && s->dirty_end <= s->nblocks &&
               s->nfree <= s->next, "slab %p: next %u, dirty_end %u, nfree %u of %u",
               (void *)s, s->next, s->dirty_end, s->nfree, s->nblocks);
        if (!s->carved)
            EXPECT(ck, 1, s->base >= (char *)s->mem &&
                   s->base + s->span <= (char *)s->mem + s->mem_size,
                   "slab %p: blocks outside its memory", (void *)s);
        EXPECT(ck, 1, s->slack == (const void *)(s + 1) &&
               (char *)s->fmap > (char *)s->slack && s->levels >= 1 &&
               s->levels <= CYMEM__FMAP_LEVELS &&
               (char *)(s->fmap + s->lvl[s->levels]) <= (char *)s + s->meta_size,
               "slab %p: metadata outside its descriptor", (void *)s);

        /* 6. Which list it is on. */
        if (s == sc->cur) {
            EXPECT(ck, 6, s->list == SLAB_CURRENT, "the current slab %p says %d, not current",
                   (void *)s, s->list);
        } else if (s->list == SLAB_ON_AVAIL) {
            EXPECT(ck, 6, s->nfree >= s->avail_min && on_list(sc->avail, s, bound),
                   "slab %p: on the avail list with %u free", (void *)s, s->nfree);
        } else {
            EXPECT(ck, 6, s->nfree < s->avail_min,
                   "slab %p: %u free blocks but not on the avail list", (void *)s, s->nfree);
            if (s->list == SLAB_ON_FRESH)
                EXPECT(ck, 6, s->next < s->nblocks && on_list(sc->fresh, s, bound),
                       "slab %p: on the fresh list, full or not found", (void *)s);
            else
                EXPECT(ck, 6, s->list == SLAB_ON_NONE && s->next == s->nblocks,
                       "slab %p: on no list with untouched blocks", (void *)s);
        }

        check_slab_blocks(ck, pool, s, t);
        hold(t, s->meta_size, 1);
        if (!s->carved)
            hold(t, s->mem_size, 0);
        if (t->nslabs < room)
            slabs[t->nslabs] = s;
        t->nslabs++;
    }
    EXPECT(ck, 6, sc->cur == &cymem__empty_slab ||
           (sc->cur != NULL && in_class(sc->all, sc->cur, bound)),
           "class %u: the current slab is not one of its slabs", c);
    check_list(ck, sc, sc->avail, SLAB_ON_AVAIL, bound);
    check_list(ck, sc, sc->fresh, SLAB_ON_FRESH, bound);
}

/* ---- 1: the page map ----------------------------------------------------- */

static int by_base(const void *a, const void *b)
{
    const cymem__slab *x = *(const cymem__slab *const *)a;
    const cymem__slab *y = *(const cymem__slab *const *)b;
    return (x->base > y->base) - (x->base < y->base);
}

static void check_pages(checker *ck, const cymem_pool *pool, const cymem__slab **slabs,
                        size_t n, const cymem__region *regions)
{
    qsort(slabs, n, sizeof *slabs, by_base);
    size_t slots = 0;
    for (size_t i = 0; i < n; i++) {
        const cymem__slab *s = slabs[i];
        uintptr_t g0 = (uintptr_t)s->base >> CYMEM__GRANULE_SHIFT;
        uintptr_t g1 = ((uintptr_t)s->base + s->span - 1) >> CYMEM__GRANULE_SHIFT;
        if (i > 0)
            EXPECT(ck, 1, slabs[i - 1]->base + slabs[i - 1]->span <= s->base,
                   "slabs %p and %p overlap", (void *)slabs[i - 1], (void *)s);
        /* Each granule it spans names it, once, as the pool's. */
        for (uintptr_t g = g0; g <= g1; g++) {
            const cymem__pentry *e = cymem__page_entry((void *)(g << CYMEM__GRANULE_SHIFT));
            int named = 0;
            for (int j = 0; e != NULL && j < 2; j++)
                named += __atomic_load_n(&e->owner[j], __ATOMIC_ACQUIRE) == pool->key &&
                         __atomic_load_n(&e->chunk[j], __ATOMIC_RELAXED) == s;
            EXPECT(ck, 1, named == 1, "page map: granule %#zx names slab %p %d times",
                   (size_t)g, (void *)s, named);
        }
        /* At most two chunks per granule rests on this (pagemap.c); a
         * heap's keeper, all of whose memory counts, has a granule. */
        EXPECT(ck, 1, s->span == 0 ||
               (char *)s->mem + s->mem_size - s->base >= (ptrdiff_t)CYMEM__GRANULE ||
               (s == pool_keeper(pool) && s->mem_size >= CYMEM__GRANULE),
               "slab %p: less than a granule of memory from its base", (void *)s);
        slots += g1 - g0 + 1;
        if (s->carved) {
            const cymem__region *r = regions;
            while (r && !(s->base >= r->mem && s->base + s->span <= r->mem + r->used))
                r = r->next;
            EXPECT(ck, 1, r != NULL, "carved slab %p in none of the pool's regions",
                   (void *)s);
        }
    }
    /* ... and the pool has no other slot. */
    EXPECT(ck, 1, pool->page_slots == slots,
           "page map: the pool has %zu slots, its slabs and chunks span %zu granules",
           pool->page_slots, slots);
}

/* ---- 4: direct blocks ---------------------------------------------------- */

static void check_direct(checker *ck, const cymem_pool *pool, sums *t, size_t *nblocks,
                         size_t *used)
{
    const cymem__map *m = &pool->direct;
    const cymem__direct *tab = m->tab;
    size_t count = 0;
    *nblocks = *used = 0;
    for (size_t i = 0; tab != NULL && i <= m->mask; i++) {
        const cymem__direct *d = &tab[i];
        if (d->key == 0)
            continue;
        count++;
        char *p = (char *)d->key, *orig = d->orig;
        EXPECT(ck, 4, d->align >= CYMEM__MIN_ALIGN && (d->align & (d->align - 1)) == 0 &&
               (d->key & (d->align - 1)) == 0, "direct block %p: alignment %zu",
               (void *)p, d->align);
        EXPECT(ck, 4, p >= orig && d->size <= d->asked &&
               (size_t)(p - orig) <= d->asked - d->size,
               "direct block %p (%zu bytes) outside its allocation of %zu", (void *)p,
               d->size, d->asked);
        EXPECT(ck, 4, cymem__direct_find(pool, p) == d,
               "direct block %p not found by its own map", (void *)p);
        EXPECT(ck, 4, cymem__page_find_key(pool, p) == NULL,
               "direct block %p inside a slab", (void *)p);
        t->live_bytes += d->size;
        hold(t, d->asked, 0);
        (*nblocks)++;
        *used += d->asked;
    }
    EXPECT(ck, 4, count == m->count, "direct map: %zu entries, count %zu", count,
           m->count);
}

/* ---- 8: the arena -------------------------------------------------------- */

static void check_chunk(checker *ck, const cymem_pool *pool, const cymem__slab *a, sums *t)
{
    EXPECT(ck, 8, a->cls == CYMEM__ARENA_CLS && a->bsize == CYMEM__UNIT &&
           a->span == (size_t)a->nblocks << CYMEM__UNIT_SHIFT && a->next <= a->nblocks &&
           a->marks != NULL && ((uintptr_t)a->base & (CYMEM__SLAB_ALIGN - 1)) == 0,
           "arena chunk %p: bad shape", (void *)a);
    if (a->next > a->nblocks || a->marks == NULL)
        return;
    uint32_t live = 0, units = 0;
    EXPECT(ck, 8, a->next == 0 || a->marks[0] != 0,
           "arena chunk %p: unit 0 starts no block", (void *)a);
    for (uint32_t i = a->next; i < a->nblocks + 8; i++)
        EXPECT(ck, 8, a->marks[i] == 0, "arena chunk %p: unit %u past next is marked",
               (void *)a, i);
    for (uint32_t i = 0; i < a->next; i++) {
        uint8_t m = a->marks[i];
        char *p = a->base + ((size_t)i << CYMEM__UNIT_SHIFT);
        EXPECT(ck, 8, m == 0 || m == ARENA_FREED || arena_live(m),
               "arena chunk %p: unit %u has mark %#x", (void *)a, i, m);
        EXPECT(ck, 8, arena_index(a, p) == (arena_live(m) ? i : CYMEM__NO_BLOCK) &&
               arena_index(a, p + 1) == CYMEM__NO_BLOCK,
               "arena chunk %p: the lookup of unit %u is wrong", (void *)a, i);
        if (m == 0)
            continue;
        EXPECT(ck, 1, cymem__chunk_find(pool, p) == a,
               "arena chunk %p: the lookup does not lead to unit %u", (void *)a, i);
        if (!arena_live(m))
            continue;
        uint32_t u = arena_extent(a, i);
        size_t n = arena_size(a, i, u);
        EXPECT(ck, 8, n >= 1 && n <= CYMEM__CLASS_MAX,
               "arena chunk %p: block at unit %u has %zu bytes in %u units", (void *)a,
               i, n, u);
        live++;
        units += u;
        t->live_bytes += n;
    }
    EXPECT(ck, 8, live == a->nfree && units == a->live_units,
           "arena chunk %p: %u live blocks of %u units, counted %u of %u", (void *)a,
           a->nfree, a->live_units, live, units);
    /* 3. Never-written units are zero (not read under valgrind). */
    if (!cymem__valgrind) {
        uint32_t from = a->next > a->dirty_end ? a->next : a->dirty_end;
        if (from < a->nblocks) {
            const unsigned char *z = (const unsigned char *)a->base +
                                     ((size_t)from << CYMEM__UNIT_SHIFT);
            size_t n = (size_t)(a->nblocks - from) << CYMEM__UNIT_SHIFT;
            size_t at = first_nonzero(z, n);
            EXPECT(ck, 3, at == n, "arena chunk %p: unit %zu, never written, is not zero",
                   (void *)a, from + (at >> CYMEM__UNIT_SHIFT));
        }
        /* The memory after marks in the chunk's own (the keeper's, or
         * inside), which no dirty figure it gives back covers, is zero. */
        const unsigned char *end = (const unsigned char *)a->mem + a->mem_size;
        const unsigned char *tail = a->marks + arena_marks_bytes(a->nblocks);
        if ((a == pool_keeper(pool) || a->inside) && tail < end) {
            size_t at = first_nonzero(tail, (size_t)(end - tail));
            EXPECT(ck, 3, at == (size_t)(end - tail),
                   "arena chunk %p: byte %zu after its marks is not zero", (void *)a, at);
        }
    }
}

static int by_hole(const void *x, const void *y)
{
    const cymem__hole *a = x, *b = y;
    if (a->chunk != b->chunk)
        return (uintptr_t)a->chunk < (uintptr_t)b->chunk ? -1 : 1;
    return (a->idx > b->idx) - (a->idx < b->idx);
}

/* The arena's chunks (the non-keeper ones also go to @slabs, for the page
 * map check), its holes, and its fields. */
static void check_arena(checker *ck, const cymem_pool *pool, const cymem__slab **slabs,
                        size_t max_slabs, sums *t)
{
    const cymem__slab *k = pool_keeper(pool);
    EXPECT(ck, 8, k->base == pool->kbase && k->span == pool->kspan &&
           k->mem == (const void *)pool && k->mem_size == pool->keeper_size &&
           arena_marks_own(k) &&
           (const char *)k->marks + ((size_t)k->nblocks + 8) <=
               (const char *)pool + pool->keeper_size &&
           (const char *)k->base >= (const char *)(k + 1) && k->meta_size == 0,
           "the keeper does not lie in the pool's allocation");
    hold(t, pool->keeper_size, 0);
    t->metadata += pool->keeper_size - pool->kspan;
    size_t bytes = 0, n = 0;
    int seen_arena = pool->arena == NULL, after = 0;
    for (const cymem__slab *a = k; a != NULL;
         a = a == k ? pool->arenas : a->next_in_class) {
        if (n++ > max_slabs) {
            bad(ck, 8, "the arena chunk list does not end");
            return;
        }
        check_chunk(ck, pool, a, t);
        bytes += a->span;
        if (after)
            EXPECT(ck, 8, a->next == 0, "arena chunk %p, after the current one, is used",
                   (void *)a);
        if (a == pool->arena)
            seen_arena = after = 1;
        if (a != k) {
            hold(t, a->meta_size, 1);
            if (!a->carved)
                hold(t, a->mem_size, 0);
            /* Marks inside the chunk's memory are bookkeeping it holds. */
            size_t own = a->inside ? arena_own_marks_bytes(a->nblocks) : 0;
            t->metadata += own;
            slabs[t->nslabs++] = a;
            EXPECT(ck, 8, a->mem != NULL && a->base >= (char *)a->mem &&
                   a->base + a->span + own <= (char *)a->mem + a->mem_size &&
                   a->inside == arena_marks_own(a),
                   "arena chunk %p outside its memory", (void *)a);
        }
    }
    EXPECT(ck, 8, seen_arena, "the current arena chunk is not one of the pool's");
    EXPECT(ck, 8, bytes == pool->arena_bytes && bytes <= pool->arena_budget,
           "arena_bytes %zu, chunks span %zu, budget %zu", pool->arena_bytes, bytes,
           pool->arena_budget);
    /* A heap's keeper is in the page map, for its shared pool's lookups
     * (shared.c); any other keeper is found by its bounds. */
    if (pool->key != pool && n <= max_slabs)
        slabs[t->nslabs++] = k;
    EXPECT(ck, 8, cymem__page_find_key(pool, k->base) == (pool->key != pool ? k : NULL),
           pool->key != pool ? "a heap's keeper is not in the page map"
                             : "the keeper is in the page map");

    /* Holes. */
    size_t nholes = 0, hole_bytes = 0;
    cymem__hole *all = NULL;
    if (pool->holes != NULL) {
        hold(t, CYMEM__NCLASSES * sizeof *pool->holes, 1);
        for (unsigned c = 0; c < CYMEM__NCLASSES; c++)
            nholes += pool->holes[c].n;
        all = malloc((nholes + 1) * sizeof *all);
        if (all == NULL) {
            bad(ck, 0, "no memory to check the pool");
            return;
        }
        nholes = 0;
        for (unsigned c = 0; c < CYMEM__NCLASSES; c++) {
            const cymem__hbin *b = &pool->holes[c];
            EXPECT(ck, 8, b->n <= b->cap && (b->cap == 0) == (b->v == NULL),
                   "hole bin %u: %zu of %zu", c, b->n, b->cap);
            if (b->v != NULL)
                hold(t, b->cap * sizeof *b->v, 1);
            for (size_t i = 0; i < b->n; i++) {
                const cymem__hole *h = &b->v[i];
                const cymem__slab *a = h->chunk;
                int known = a == k;
                for (size_t j = 0; !known && j < t->nslabs; j++)
                    known = slabs[j] == a;
                EXPECT(ck, 8, known, "hole in %p, not an arena chunk of the pool",
                       (void *)a);
                if (!known)
                    continue;
                EXPECT(ck, 8, h->idx < a->next && a->marks[h->idx] == ARENA_FREED &&
                       arena_extent(a, h->idx) == h->units &&
                       class_size(c) <= (size_t)h->units << CYMEM__UNIT_SHIFT &&
                       (c + 1 == CYMEM__NCLASSES ||
                        class_size(c + 1) > (size_t)h->units << CYMEM__UNIT_SHIFT),
                       "hole at unit %u of %p (%u units) in bin %u", h->idx, (void *)a,
                       h->units, c);
                hole_bytes += (size_t)h->units << CYMEM__UNIT_SHIFT;
                all[nholes++] = *h;
            }
        }
        qsort(all, nholes, sizeof *all, by_hole);
        for (size_t i = 1; i < nholes; i++)
            EXPECT(ck, 8, by_hole(&all[i - 1], &all[i]) != 0,
                   "hole at unit %u of %p waits twice", all[i].idx, (void *)all[i].chunk);
        free(all);
    }
    EXPECT(ck, 8, nholes == pool->nholes && hole_bytes <= pool->arena_dead,
           "%zu holes of %zu bytes; nholes %zu, arena_dead %zu", nholes, hole_bytes,
           pool->nholes, pool->arena_dead);
}

/* ---- 5, 7: one pool ------------------------------------------------------ */

static void check_one(checker *ck, const cymem_pool *pool)
{
    sums t = { 0 };
    ck->pool = pool;

    /* 7. Options and the fast path. */
    EXPECT(ck, 7, (pool->flags & ~CYMEM__POOL_FLAGS) == 0 &&
           pool->chunk_size >= CYMEM_CHUNK_SIZE_MIN &&
           pool->chunk_size <= CYMEM_CHUNK_SIZE_MAX &&
           (pool->chunk_size & (pool->chunk_size - 1)) == 0 &&
           pool->small_max == CYMEM__CLASS_MAX, "bad options");
#ifdef CYMEM_ASAN
    int hooks = 1;
#else
    int hooks = cymem__track;
#endif
    int plain = !(pool->flags & CYMEM_POOL_THREADSAFE) && !hooks;
    const void *fast = plain && pool->arena == NULL ? pool->classes : NULL;
    const void *arena_fast = plain && pool->nholes == 0 ? pool->arena : NULL;
    EXPECT(ck, 7, pool->fast == fast && (int)pool->plain == plain &&
           pool->arena_fast == arena_fast,
           "the fast-path fields are %p, %u, %p, not %p, %d, %p", (void *)pool->fast,
           pool->plain, (void *)pool->arena_fast, fast, plain, arena_fast);

    /* 1, 2, 3, 6, 8. Slabs, by class, and arena chunks. */
    size_t max_slabs = pool->chunk_count;
    const cymem__slab **slabs = malloc((max_slabs + 1) * sizeof *slabs);
    if (slabs == NULL) {
        bad(ck, 0, "no memory to check the pool");
        return;
    }
    if (pool->classes != NULL) {
        hold(&t, CYMEM__NTABLE * sizeof *pool->classes, 1);
        for (unsigned c = 0; c < CYMEM__NTABLE && t.nslabs <= max_slabs; c++)
            check_class(ck, pool, c, slabs, max_slabs, &t);
    }
    if (t.nslabs <= max_slabs)
        check_arena(ck, pool, slabs, max_slabs - t.nslabs, &t);

    /* Regions: each a descriptor and CYMEM__REGION bytes. */
    size_t nregions = 0;
    for (const cymem__region *r = pool->regions; r != NULL; r = r->next) {
        if (++nregions > max_slabs + 1) {
            bad(ck, 5, "the region list does not end");
            break;
        }
        EXPECT(ck, 1, pool->sys && r->used <= CYMEM__REGION &&
               (!r->huge || (pool->flags & CYMEM_POOL_HUGE_PAGES)) &&
               r->used % CYMEM__GRANULE == 0, "region %p: %zu bytes carved",
               (void *)r->mem, r->used);
        hold(&t, sizeof *r, 1);
        hold(&t, CYMEM__REGION, 0);
    }
    if (t.nslabs <= max_slabs)
        check_pages(ck, pool, slabs, t.nslabs, pool->regions);
    free(slabs);

    /* 4. Direct blocks. */
    size_t direct_blocks, direct_used;
    check_direct(ck, pool, &t, &direct_blocks, &direct_used);
    if (pool->direct.tab != NULL)
        hold(&t, (pool->direct.mask + 1) * sizeof(cymem__direct), 1);
    EXPECT(ck, 5, direct_blocks == pool->direct_blocks && direct_used == pool->direct_used,
           "direct blocks: %zu of %zu bytes, counted %zu of %zu", pool->direct_blocks,
           pool->direct_used, direct_blocks, direct_used);

    /* A shared pool's table of heaps (its heaps are checked apart). */
    if (pool->heapv != NULL) {
        hold(&t, pool->heapcap * sizeof *pool->heapv, 1);
        EXPECT(ck, 7, (pool->flags & CYMEM_POOL_THREADSAFE) && pool->sys &&
               pool->nheaps <= pool->heapcap, "shared pool: %u heaps of %u",
               pool->nheaps, pool->heapcap);
        EXPECT(ck, 7, pool->live_bytes == 0 && pool->direct.count == 0 &&
               pool->classes == NULL, "a shared pool holds blocks of its own");
    }
    EXPECT(ck, 7, pool->key == pool || (pool->heapv == NULL && pool->first_child == NULL &&
                                        pool->cleanups == NULL),
           "a heap has a table of heaps, children or cleanups");

    /* 7. Cleanups, each a metadata record. */
    size_t ncleanups = 0;
    for (const cymem__cleanup *c = pool->cleanups; c != NULL; c = c->next) {
        if (++ncleanups > pool->chunk_count) {
            bad(ck, 7, "the cleanup list does not end");
            break;
        }
        hold(&t, sizeof *c, 1);
    }

    /* 5. Accounting. */
    EXPECT(ck, 5, t.live_bytes == pool->live_bytes, "live_bytes %zu, blocks hold %zu",
           pool->live_bytes, t.live_bytes);

    EXPECT(ck, 5, t.reserved == pool->reserved_bytes && t.metadata == pool->metadata_bytes &&
           t.chunks == pool->chunk_count,
           "held %zu bytes (%zu metadata) in %zu chunks; counted %zu (%zu) in %zu",
           pool->reserved_bytes, pool->metadata_bytes, pool->chunk_count, t.reserved,
           t.metadata, t.chunks);
}

/* ---- 7: the tree of pools ------------------------------------------------ */

int cymem__pool_check(const cymem_pool *root)
{
    checker ck = { root, 0 };
    if (root == NULL)
        return 0;
    cymem__debug_init();
    /* Depth first without a stack: children, then siblings, then back up
     * through parent links, each checked before it is followed. */
    const cymem_pool *p = root;
    size_t visited = 0;
    for (;;) {
        if (++visited > ((size_t)1 << 24)) {
            bad(&ck, 7, "the tree of child pools does not end");
            break;
        }
        check_one(&ck, p);
        for (unsigned i = 0; p->heapv != NULL && i < p->nheaps && i < p->heapcap; i++) {
            const cymem_pool *h = p->heapv[i];
            ck.pool = p;
            int twice = 0;
            for (unsigned j = 0; j < i; j++)
                twice |= p->heapv[j] == h;
            EXPECT(&ck, 7, h != NULL && h->key == p && h->sys && !twice &&
                   h->flags == (p->flags & ~CYMEM_POOL_THREADSAFE) &&
                   h->chunk_size == p->chunk_size && h->parent == NULL,
                   "heap %u (%p) is not one of the pool's, or is there twice", i,
                   (const void *)h);
            if (h != NULL && h->key == p) {
                /* Other threads may use the heap (a reset runs the check
                 * while they may). */
                heap_lock(h);
                check_one(&ck, h);
                heap_unlock(h);
            }
        }
        const cymem_pool *child = p->first_child;
        if (child != NULL) {
            ck.pool = p;
            EXPECT(&ck, 7, child->parent == p && child->prev_sibling == NULL,
                   "first child %p does not link back", (const void *)child);
            if (child->parent != p)
                break;
            p = child;
            continue;
        }
        while (p != root && p->next_sibling == NULL)
            p = p->parent;
        if (p == root)
            break;
        const cymem_pool *next = p->next_sibling;
        ck.pool = p->parent;
        EXPECT(&ck, 7, next->parent == p->parent && next->prev_sibling == p,
               "child %p does not link back to its parent and sibling", (const void *)next);
        if (next->parent != p->parent)
            break;
        p = next;
    }
    return ck.failed ? -1 : 0;
}
