/*
 * rel-check.c - the invariant checker catches what it is there to catch.
 *
 * A pool is brought into a rich state (slabs of several classes with
 * freed blocks near and far, a slab with summary levels, direct and
 * aligned blocks, a child pool, a cleanup), and so is a second one in
 * arena mode (several chunks, holes, a block at the top), and
 * cymem__pool_check() must
 * pass.  Then, one at a time, each kind of damage the checker promises to
 * find is done to the pool's bookkeeping: the check must fail, and pass
 * again once the damage is undone.  Run natively, under memcheck and with
 * ASan like every test; the one damage to user memory (a byte written
 * where nothing was ever written) is made only outside valgrind.
 */
#include "internal.h"
#include "arena.h"
#include "track.h"
#include "invariants.h"
#include "pagemap.h"
#include "ptrmap.h"

#include <stdio.h>
#include <stdlib.h>

static int failures;

static void expect(int cond, const char *what)
{
    if (!cond) {
        fprintf(stderr, "rel-check: %s\n", what);
        failures++;
    }
}

static void cleanup(void *arg)
{
    (void)arg;
}

/* Damage @what, check, undo, check. */
#define DAMAGE(what, doit, undo) do {                                      \
        doit;                                                              \
        expect(cymem__pool_check(pool) != 0, "not caught: " what);         \
        undo;                                                              \
        expect(cymem__pool_check(pool) == 0, "undoing did not help: " what); \
    } while (0)

/* The slab of @pool that holds @p. */
static cymem__slab *slab_of(cymem_pool *pool, void *p)
{
    return cymem__page_find(pool, p);
}

#if defined(__GNUC__)
__attribute__((no_sanitize_address))
#endif
static void poke(unsigned char *p, unsigned char v)
{
    *(volatile unsigned char *)p = v;
}

/* 8. Damage to an arena. */
static void arena_damage(void)
{
    cymem_pool *pool = cymem_pool_new();
    if (pool == NULL) {
        failures++;
        return;
    }
    enum { N = 2000 };
    static void *q[N];
    for (int i = 0; i < N; i++)
        if ((q[i] = cymem_pool_alloc(pool, 1, 1 + (size_t)(i * 37) % 300)) == NULL) {
            failures++;
            return;
        }
    for (int i = 0; i < N; i += 7)
        expect(cymem_pool_free(pool, q[i]) == 0, "free in the arena");
    expect(pool->nholes > 0 && pool->arenas != NULL && pool->arena != NULL,
           "the arena has no holes or one chunk");
    expect(cymem__pool_check(pool) == 0, "a busy arena fails the check");
    if (pool->nholes == 0 || pool->arenas == NULL || pool->arena == NULL) {
        cymem_pool_destroy(pool);
        return;
    }
    cymem__slab *k = pool_keeper(pool), *a = pool->arenas;
    uint32_t live = (uint32_t)(((char *)q[1] - k->base) >> CYMEM__UNIT_SHIFT);
    uint8_t m = k->marks[live];
    DAMAGE("live block marked freed", k->marks[live] = ARENA_FREED, k->marks[live] = m);
    DAMAGE("block start lost", k->marks[live] = 0, k->marks[live] = m);
    DAMAGE("interior unit marked", k->marks[live + 1] = 1, k->marks[live + 1] = 0);
    DAMAGE("mark out of range", k->marks[live] = 0x40, k->marks[live] = m);
    DAMAGE("live count", k->nfree++, k->nfree--);
    DAMAGE("live units", a->live_units++, a->live_units--);
    DAMAGE("slack", k->marks[live] = (uint8_t)(m == 1 ? 2 : m - 1), k->marks[live] = m);
    uint32_t past = k->next;
    DAMAGE("mark past next", k->marks[past] = 1, k->marks[past] = 0);
    DAMAGE("keeper span", pool->kspan -= 64, pool->kspan += 64);
    DAMAGE("arena bytes", pool->arena_bytes += 16, pool->arena_bytes -= 16);
    DAMAGE("hole count", pool->nholes++, pool->nholes--);
    cymem__hbin *bin = NULL;
    for (unsigned c = 0; c < CYMEM__NCLASSES && bin == NULL; c++)
        if (pool->holes[c].n > 1)
            bin = &pool->holes[c];
    expect(bin != NULL, "no bin with two holes");
    if (bin != NULL) {
        cymem__hole h = bin->v[0];
        DAMAGE("hole twice", bin->v[0] = bin->v[1], bin->v[0] = h);
        DAMAGE("hole's units", bin->v[0].units++, bin->v[0].units--);
    }
    cymem__slab *cur = pool->arena;
    DAMAGE("fast arena field", pool->arena_fast = cur, pool->arena_fast = NULL);
    if (!cymem__valgrind && cur->next < cur->nblocks && cur->dirty_end < cur->nblocks) {
        unsigned char *untouched = (unsigned char *)cur->base + cur->span - 1;
        DAMAGE("never-written arena memory", poke(untouched, 1), poke(untouched, 0));
    }
    cymem_pool_reset(pool);
    expect(cymem__pool_check(pool) == 0, "a reset arena fails the check");
    cymem_pool_destroy(pool);
}

/* 7, 1. Damage to a shared pool's heaps. */
static void shared_damage(void)
{
    cymem_pool_options o = { NULL, NULL, CYMEM_POOL_THREADSAFE, 0 };
    cymem_pool *pool = cymem_pool_new_ex(&o);
    void *p = pool ? cymem_pool_alloc(pool, 1, 100) : NULL;
    void *big = pool ? cymem_pool_alloc(pool, 1, 70000) : NULL;
    if (p == NULL || big == NULL || pool->heapv == NULL || pool->nheaps != 1) {
        failures++;
        return;
    }
    expect(cymem__pool_check(pool) == 0, "a shared pool fails the check");
    cymem_pool *h = pool->heapv[0];
    cymem__slab *k = pool_keeper(h);
    cymem__pentry *e = cymem__page_entry(k->base);
    int j = e != NULL && e->chunk[0] == k ? 0 : 1;
    DAMAGE("heap's key", h->key = h, h->key = pool);
    DAMAGE("heap flagged THREADSAFE", h->flags |= CYMEM_POOL_THREADSAFE,
           h->flags &= ~CYMEM_POOL_THREADSAFE);
    DAMAGE("heap count", pool->nheaps = pool->heapcap + 1, pool->nheaps = 1);
    DAMAGE("a heap listed twice", (pool->heapv[1] = h, pool->nheaps = 2),
           (pool->heapv[1] = NULL, pool->nheaps = 1));
    DAMAGE("heap's live bytes", h->live_bytes++, h->live_bytes--);
    DAMAGE("shared pool's own live bytes", pool->live_bytes++, pool->live_bytes--);
    if (e != NULL && e->chunk[j] == k) {
        DAMAGE("heap's keeper out of the page map", e->owner[j] = NULL, e->owner[j] = pool);
        DAMAGE("heap's page slots", h->page_slots++, h->page_slots--);
    } else {
        expect(0, "a heap's keeper is not in the page map");
    }
    cymem_pool_destroy(pool);
}

int main(void)
{
    cymem_pool *pool = cymem_pool_new();
    if (pool == NULL)
        return 99;
    expect(cymem__pool_check(pool) == 0, "a new pool fails the check");
    arena_damage();
    shared_damage();
    /* The rest is about slabs: take the pool out of arena mode, as enough
     * freed arena memory would. */
    pool->arena = NULL;
    cymem__arena_set_fast(pool);

    /* Many 16-byte blocks: a slab large enough for two bitmap levels. */
    enum { N = 3000 };
    void **small = malloc(N * sizeof *small);
    if (small == NULL)
        return 99;
    for (int i = 0; i < N; i++)
        if ((small[i] = cymem_pool_alloc(pool, 1, 16)) == NULL)
            return 99;
    for (int i = 0; i < 200; i++)
        if (cymem_pool_alloc(pool, 1, 24 + (size_t)i * 8) == NULL)
            return 99;
    void *big = cymem_pool_alloc(pool, 1, 50000);
    void *aligned = cymem_pool_alloc_aligned(pool, 1, 100, 4096);
    cymem_pool_options o = { 0 };
    o.parent = pool;
    cymem_pool *child = cymem_pool_new_ex(&o);
    if (big == NULL || aligned == NULL || child == NULL ||
        cymem_pool_alloc(child, 1, 40) == NULL ||
        cymem_pool_on_cleanup(pool, cleanup, NULL) != 0)
        return 99;
    /* Freed blocks near each other and far apart. */
    cymem__slab *s = slab_of(pool, small[N - 1]);
    expect(s != NULL && s->levels >= 2, "no slab with summary levels");
    if (s == NULL || s->levels < 2)
        return 1;
    uint32_t first = (uint32_t)(((char *)small[N - 1] - s->base) / s->bsize);
    for (int i = 0; i < 3; i++)
        expect(cymem_pool_free(pool, small[N - 1 - i]) == 0, "free");
    expect(cymem_pool_free(pool, small[N - 1 - 700]) == 0, "free far");
    expect(cymem__pool_check(pool) == 0, "a busy pool fails the check");

    /* 5. Accounting. */
    DAMAGE("live_bytes", pool->live_bytes++, pool->live_bytes--);
    DAMAGE("reserved_bytes", pool->reserved_bytes--, pool->reserved_bytes++);
    DAMAGE("chunk_count", pool->chunk_count++, pool->chunk_count--);
    DAMAGE("metadata_bytes", pool->metadata_bytes += 8, pool->metadata_bytes -= 8);
    DAMAGE("direct_blocks", pool->direct_blocks++, pool->direct_blocks--);

    /* 2. A live block marked freed, a freed block not marked, nfree. */
    uint32_t live = first - 10;
    DAMAGE("live block's bit", s->fmap[live / 64] ^= (uint64_t)1 << (live % 64),
           s->fmap[live / 64] ^= (uint64_t)1 << (live % 64));
    DAMAGE("freed block's bit", s->fmap[first / 64] ^= (uint64_t)1 << (first % 64),
           s->fmap[first / 64] ^= (uint64_t)1 << (first % 64));
    DAMAGE("nfree", s->nfree++, s->nfree--);
    /* 2. A summary bit: of a word that is not the hint. */
    uint32_t far = first - 700, w = far / 64 == s->hint ? first / 64 : far / 64;
    DAMAGE("summary bit", s->lv[1][w / 64] ^= (uint64_t)1 << (w % 64),
           s->lv[1][w / 64] ^= (uint64_t)1 << (w % 64));
    /* 2. A block's slack beyond what any request leaves. */
    if (!s->wide) {
        uint8_t *slack = s->slack;
        uint8_t keep = slack[live];
        DAMAGE("slack", slack[live] = 0xF0, slack[live] = keep);
    }

    /* 3. A byte written where nothing ever was. */
    if (!cymem__valgrind && s->next < s->nblocks) {
        unsigned char *untouched = (unsigned char *)s->base + (size_t)s->nblocks * s->bsize - 1;
        if (s->dirty_end < s->nblocks)
            DAMAGE("never-written memory", poke(untouched, 1), poke(untouched, 0));
    }

    /* 6. Lists. */
    cymem__class *sc = &pool->classes[s->cls];
    if (sc->cur == s)
        DAMAGE("current slab on a list", s->list = SLAB_ON_AVAIL, s->list = SLAB_CURRENT);
    DAMAGE("current slab", sc->cur = NULL, sc->cur = s);
    sc->cur = s;

    /* 1. The page map names a slab that is not the pool's, or names the
     * slab as another pool's. */
    cymem__pentry *e = cymem__page_entry(s->base);
    expect(e != NULL, "the slab's granule has no page map entry");
    int j = e->chunk[0] != s;
    cymem__slab fake = *s;
    DAMAGE("page map entry", e->chunk[j] = &fake, e->chunk[j] = s);
    const cymem_pool *owner = e->owner[j];
    DAMAGE("page map owner", e->owner[j] = (cymem_pool *)&fake, e->owner[j] = owner);

    /* 4. A direct block's record. */
    cymem__direct *d = cymem__direct_find(pool, big);
    expect(d != NULL, "the large block is not direct");
    if (d != NULL) {
        DAMAGE("direct block size", d->size += 64, d->size -= 64);
        DAMAGE("direct block alignment", d->align = 48, d->align = CYMEM__MIN_ALIGN);
    }

    /* 7. Children and the fast path. */
    DAMAGE("child's parent", child->parent = NULL, child->parent = pool);
    DAMAGE("child's own accounting", child->live_bytes += 3, child->live_bytes -= 3);
    void *fast = pool->fast;
    DAMAGE("fast-path field", pool->fast = fast ? NULL : pool->classes, pool->fast = fast);

    cymem_pool_reset(pool);
    expect(cymem__pool_check(pool) == 0, "a reset pool fails the check");
    cymem_pool_destroy(pool);
    free(small);
    if (failures == 0)
        printf("rel-check: every kind of damage caught, and none without it\n");
    return failures ? 1 : 0;
}
