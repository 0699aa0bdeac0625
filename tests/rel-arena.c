/*
 * rel-arena.c - the arena engine does what doc/design.md says it does.
 *
 * Each case looks inside the pool (through the convenience library) for
 * what the public API cannot show: which engine served a block, when a
 * pool leaves arena mode and when its slabs become arena chunks, and that
 * freed arena memory is used again.  Every case ends with the invariant
 * checker.
 */
#include "internal.h"
#include "arena.h"
#include "invariants.h"
#include "slab.h"
#include "track.h"

#include <stdio.h>
#include <stdlib.h>

static int failures;

#define EXPECT(cond, what) do {                                  \
        if (!(cond)) {                                           \
            fprintf(stderr, "rel-arena: %s (line %d)\n", (what), __LINE__); \
            failures++;                                          \
        }                                                        \
    } while (0)

static int in_keeper(const cymem_pool *pool, const void *p)
{
    return (uintptr_t)p - (uintptr_t)pool->kbase < pool->kspan;
}

static int in_arena(const cymem_pool *pool, const void *p)
{
    const cymem__slab *s = cymem__chunk_find(pool, p);
    return s != NULL && s->cls == CYMEM__ARENA_CLS;
}

static void checked(cymem_pool *pool, const char *when)
{
    if (cymem__pool_check(pool) != 0) {
        fprintf(stderr, "rel-arena: the invariant check fails %s\n", when);
        failures++;
    }
}

/* A new pool is its keeper: its first blocks come from there, and a pool
 * made after another one was destroyed reports the same statistics. */
static void keeper_first(void)
{
    cymem_pool *pool = cymem_pool_new();
    cymem_stats fresh, again;
    EXPECT(cymem_pool_stats(pool, &fresh) == 0, "stats");
    EXPECT(fresh.chunk_count == 1 && fresh.reserved_bytes == pool->keeper_size,
           "a new pool holds more than its keeper");
    void *p = cymem_pool_alloc(pool, 1, 100);
    void *q = cymem_pool_alloc(pool, 1, 3000);
    EXPECT(in_keeper(pool, p) && in_keeper(pool, q), "a new pool's blocks are not in its keeper");
    EXPECT(cymem_pool_stats(pool, &again) == 0 && again.chunk_count == 1,
           "two small blocks cost a backing request");
    for (int i = 0; i < 20000; i++)
        if (cymem_pool_alloc(pool, 1, 64 + (size_t)i % 900) == NULL)
            failures++;
    checked(pool, "after 20,000 blocks");
    cymem_pool_destroy(pool);
    pool = cymem_pool_new();
    EXPECT(cymem_pool_stats(pool, &again) == 0, "stats");
    EXPECT(again.reserved_bytes == fresh.reserved_bytes &&
           again.chunk_count == fresh.chunk_count &&
           again.metadata_bytes == fresh.metadata_bytes && again.peak_bytes == 0,
           "a pool made after a destroyed one reports other statistics");
    checked(pool, "made after a destroy");
    cymem_pool_destroy(pool);
}

/* The last block goes back to the bump index, any other is a hole that a
 * request of its class takes again. */
static void reuse(void)
{
    cymem_pool *pool = cymem_pool_new();
    void *a = cymem_pool_alloc(pool, 1, 200);
    void *b = cymem_pool_alloc(pool, 1, 200);
    void *c = cymem_pool_alloc(pool, 1, 48);
    EXPECT(cymem_pool_free(pool, c) == 0, "free the top block");
    /* (The debug mode makes every freed block a hole, to see writes after
     * free when it is reused.) */
    EXPECT(pool->nholes == (cymem__debug ? 1u : 0u), "the top block became a hole");
    EXPECT(cymem_pool_alloc(pool, 1, 40) == c, "the top block is not used again");
    EXPECT(cymem_pool_free(pool, a) == 0 && pool->nholes == 1, "a freed block is no hole");
    EXPECT(cymem_pool_free(pool, a) != 0, "a double free of an arena block passes");
    EXPECT(cymem_pool_alloc(pool, 1, 193) == a && pool->nholes == 0,
           "a hole is not taken by its class");
    /* A hole of the next class serves too, split: the rest waits. */
    EXPECT(cymem_pool_free(pool, b) == 0, "free");
    void *e = cymem_pool_alloc(pool, 1, 180);
    EXPECT(e == b && pool->nholes == 1, "a larger hole is not split");
    EXPECT(cymem_pool_block_size(pool, e) == 180, "a block from a hole has the wrong size");
    unsigned char *f = cymem_pool_alloc(pool, 1, 10);
    EXPECT(f == (unsigned char *)b + 192 && pool->nholes == 0,
           "the rest of a split hole is not used");
    for (int i = 0; f != NULL && i < 10; i++)
        if (f[i] != 0) {
            EXPECT(0, "a block from a hole is not zero");
            break;
        }
    checked(pool, "after reuse");
    cymem_pool_destroy(pool);
}

/* Blocks freed newest first go back to the bump index, across chunks: the
 * chunk before an emptied one serves again, and no hole is made. */
static void lifo_across_chunks(void)
{
    cymem_pool *pool = cymem_pool_new();
    enum { N = 8000 };
    static void *blk[N];
    for (int i = 0; i < N; i++)
        blk[i] = cymem_pool_alloc(pool, 1, 64);
    EXPECT(pool->arenas != NULL, "8,000 blocks of 64 bytes fit the keeper");
    for (int i = N - 1; i >= 0; i--)
        cymem_pool_free(pool, blk[i]);
    EXPECT(cymem__debug || (pool->nholes == 0 && pool->arena == pool_keeper(pool) &&
                            pool_keeper(pool)->next == 0),
           "blocks freed newest first left holes or a chunk in use");
    EXPECT(cymem_pool_alloc(pool, 1, 64) == blk[0], "the first block is not bumped again");
    checked(pool, "after freeing newest first");
    cymem_pool_destroy(pool);
}

/* A pool makes arena chunks for its first CYMEM__ARENA_BUDGET bytes, then
 * uses slabs; a reset after no individual free makes the slabs arena
 * chunks; a reset after individual frees does not. */
static void budget_and_conversion(void)
{
    cymem_pool *pool = cymem_pool_new();
    enum { N = 30000 };
    static void *blk[N];
    for (int i = 0; i < N; i++)
        blk[i] = cymem_pool_alloc(pool, 1, 16 + (size_t)(i * 7919) % 400);
    EXPECT(pool->arena_bytes <= CYMEM__ARENA_BUDGET, "the arena outgrew its budget");
    EXPECT(pool->classes != NULL && !in_arena(pool, blk[N - 1]),
           "a pool past its budget does not use slabs");
    cymem_stats before, after;
    cymem_pool_stats(pool, &before);
    checked(pool, "past the budget");
    cymem_pool_reset(pool);
    EXPECT(pool->classes == NULL && pool->arena_budget == SIZE_MAX,
           "a reset after no free keeps slabs");
    checked(pool, "after the slabs became arena chunks");
    /* The chunks keep their marks in the slabs' own memory: the
     * conversion holds no new memory but a descriptor per chunk. */
    cymem_stats converted;
    cymem_pool_stats(pool, &converted);
    EXPECT(converted.reserved_bytes <= before.reserved_bytes + before.reserved_bytes / 128,
           "the conversion holds new memory for the arena's marks");
    EXPECT(converted.metadata_bytes >= pool->arena_bytes / CYMEM__UNIT,
           "the arena's marks are not counted as metadata");
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < N; i++) {
            unsigned char *p = cymem_pool_alloc(pool, 1, 16 + (size_t)(i * 7919) % 400);
            if (p == NULL || !in_arena(pool, p) || p[0] != 0) {
                EXPECT(0, "a block after the conversion is not a zeroed arena block");
                break;
            }
            p[0] = 0xAB;
        }
        cymem_pool_stats(pool, &after);
        EXPECT(after.reserved_bytes <= before.reserved_bytes + before.reserved_bytes / 16,
               "the arena needs more memory than the slabs had");
        checked(pool, "a round after the conversion");
        cymem_pool_reset(pool);
    }
    cymem_pool_destroy(pool);

    /* The same with individual frees: the slabs stay. */
    pool = cymem_pool_new();
    for (int i = 0; i < N; i++)
        blk[i] = cymem_pool_alloc(pool, 1, 16 + (size_t)(i * 7919) % 400);
    for (int i = N / 2; i < N; i += 3)
        cymem_pool_free(pool, blk[i]);
    cymem_pool_reset(pool);
    EXPECT(pool->classes != NULL && pool->arena_budget == CYMEM__ARENA_BUDGET,
           "a reset after frees gives up slabs");
    checked(pool, "a reset after frees");
    cymem_pool_destroy(pool);
}

/* A pool whose slabs were not carved from a region (it left arena mode
 * early, by its frees) has them made arena chunks at a reset, then is
 * destroyed with blocks live: the chunks' memory goes to the thread's
 * cache with their marks, which must be known as written.  The pools made
 * next take that memory and must still hand out zeroed blocks and pass
 * the checker. */
static void destroyed_marks(void)
{
    enum { N = 17000 };
    static void *v[N];
    cymem_pool *pool = cymem_pool_new();
    for (int i = 0; i < N; i++)
        v[i] = cymem_pool_alloc(pool, 1, 16);
    for (int i = 0; i < N; i += 2)
        cymem_pool_free(pool, v[i]);
    int got = 1;
    for (int i = 0; i < 2000; i++)
        got &= cymem_pool_alloc(pool, 1, 100 + (size_t)(i % 37) * 8) != NULL;
    cymem_pool_reset(pool);
    for (int i = 0; i < N; i++)
        got &= cymem_pool_alloc(pool, 1, 16 + (size_t)(i % 50) * 16) != NULL;
    cymem_pool_reset(pool);
    EXPECT(got, "an allocation failed");
    int inside = 0;
    for (cymem__slab *a = pool->arenas; a != NULL; a = a->next_in_class)
        inside += a->inside && !a->carved;
    EXPECT(inside > 0, "no chunk of former slabs of their own memory to test");
    for (int i = 0; i < 8000; i++) {
        unsigned char *p = cymem_pool_alloc(pool, 1, 1000);
        if (p != NULL)
            memset(p, 0xEE, 1000);
    }
    cymem_pool_destroy(pool);
    int bad = 0;
    for (int r = 0; r < 20 && !bad; r++) {
        cymem_pool *q = cymem_pool_new();
        for (int i = 0; i < N; i++)
            v[i] = cymem_pool_alloc(q, 1, 16);
        for (int i = 0; i < N; i += 2)
            cymem_pool_free(q, v[i]);
        for (int i = 0; i < 6000 && !bad; i++) {
            size_t size = 16 + (size_t)(i % 64) * 16;
            unsigned char *p = cymem_pool_alloc(q, 1, size);
            for (size_t k = 0; p != NULL && k < size && !bad; k++)
                bad = p[k] != 0;
            if (p == NULL || cymem_pool_block_size(q, p) != size)
                bad = 1;
        }
        if (cymem__pool_check(q) != 0)
            bad = 1;
        cymem_pool_destroy(q);
    }
    EXPECT(!bad, "a pool made after one destroyed with converted chunks gets old marks");
}

/* Freed arena blocks that no request takes make the pool leave arena mode
 * for the rest of the round; a reset brings it back. */
static void leave_arena_mode(void)
{
    cymem_pool *pool = cymem_pool_new();
    enum { N = 6000 };
    static void *blk[N];
    for (int i = 0; i < N; i++)
        blk[i] = cymem_pool_alloc(pool, 1, 160);
    EXPECT(pool->arena != NULL, "a pool within its budget left arena mode");
    for (int i = 0; i < N - 1; i++)
        cymem_pool_free(pool, blk[i]);
    EXPECT(pool->arena == NULL && pool->arena_fast == NULL,
           "a pool whose arena is mostly holes stays in arena mode");
    /* Holes are still used first. */
    void *p = cymem_pool_alloc(pool, 1, 150);
    EXPECT(in_arena(pool, p), "a hole is not used after arena mode");
    checked(pool, "out of arena mode");
    cymem_pool_reset(pool);
    EXPECT(pool->arena == pool_keeper(pool), "a reset does not restore arena mode");
    checked(pool, "reset out of arena mode");
    cymem_pool_destroy(pool);
}

/* A pool that frees and allocates one block at a time, over and over,
 * leaves arena mode after CYMEM__ARENA_CHURN holes: its allocations go to
 * slabs, on the fast path; once its slabs are made the same load needs no
 * more memory; and a reset brings the arena back. */
static void churn_leaves_arena(void)
{
    cymem_pool *pool = cymem_pool_new();
    enum { LIVE = 500 };
    static unsigned char *blk[LIVE];
    uint64_t seed = 3;
    for (int i = 0; i < LIVE; i++)
        blk[i] = cymem_pool_alloc(pool, 1, 16 + (size_t)i % 200);
    size_t steps = 0, fast = 0;
    cymem_stats before, after;
    for (int phase = 0; phase < 3; phase++) {
        if (phase == 1) {
            EXPECT(pool->arena == NULL, "churn did not end arena mode");
            EXPECT(steps > CYMEM__ARENA_CHURN / 2, "arena mode ended too soon");
            checked(pool, "out of arena mode by churn");
        }
        if (phase == 2)
            cymem_pool_stats(pool, &before);
        for (size_t i = 0; i < (phase == 0 ? 4 * CYMEM__ARENA_CHURN : 20000); i++) {
            if (phase == 0 && pool->arena == NULL)
                break;
            seed = seed * 6364136223846793005ull + 1;
            unsigned k = (unsigned)(seed >> 33) % LIVE;
            size_t n = 16 + (size_t)(seed >> 50) % 240;
            EXPECT(cymem_pool_free(pool, blk[k]) == 0, "free during churn");
            blk[k] = cymem_pool_alloc(pool, 1, n);
            EXPECT(blk[k] != NULL && blk[k][0] == 0 && blk[k][n - 1] == 0, "churn alloc");
            memset(blk[k], 1, n);
            fast += phase > 0 && !in_arena(pool, blk[k]);
            steps++;
        }
    }
    cymem_pool_stats(pool, &after);
    /* With checker hooks (valgrind, ASan) there is no fast path: the
     * general path takes holes first, as before. */
    if (pool->plain) {
        EXPECT(fast > 20000, "out of arena mode, slabs serve few blocks");
        /* The load did not change: neither may the memory, much. */
        EXPECT(after.reserved_bytes <= before.reserved_bytes + before.reserved_bytes / 8,
               "churn out of arena mode keeps growing the pool");
    }
    EXPECT(after.live_blocks == LIVE, "stats miscount after churn");
    checked(pool, "churn on slabs");
    cymem_pool_reset(pool);
    EXPECT(pool->arena == pool_keeper(pool), "a reset does not bring arena mode back");
    void *q = cymem_pool_alloc(pool, 1, 100);
    EXPECT(in_arena(pool, q), "after a reset, blocks do not come from the arena");
    checked(pool, "after churn and a reset");
    cymem_pool_destroy(pool);
}

/* realloc keeps an arena block in place when its units stay, and grows
 * the top block in place. */
static void realloc_in_place(void)
{
    cymem_pool *pool = cymem_pool_new();
    void *a = cymem_pool_alloc(pool, 1, 100);
    unsigned char *b = cymem_pool_alloc(pool, 1, 100);
    b[99] = 7;
    EXPECT(cymem_pool_realloc(pool, a, 110) == a, "realloc within a block's units moved it");
    unsigned char *g = cymem_pool_realloc(pool, b, 2000);
    EXPECT(g == b, "the top block did not grow in place");
    EXPECT(g != NULL && g[99] == 7 && g[100] == 0 && g[1999] == 0,
           "growth lost data or is not zero");
    EXPECT(cymem_pool_realloc(pool, g, 40) == b, "the top block did not shrink in place");
    void *c = cymem_pool_alloc(pool, 1, 64);
    EXPECT(c == b + 48, "a shrunk top block keeps its old units");
    void *moved = cymem_pool_realloc(pool, a, 1000);
    EXPECT(moved != NULL && moved != a, "a block in the middle grew in place");
    checked(pool, "after realloc");
    cymem_pool_destroy(pool);
}

/* Blocks aligned past MIN_ALIGN come from the aligned slab classes, not
 * one allocation each, in a pool that has no slab yet. */
static void aligned_blocks(void)
{
    cymem_pool *pool = cymem_pool_new();
    for (size_t align = 32; align <= 64; align *= 2) {
        void *p = cymem_pool_alloc_aligned(pool, 1, 100, align);
        const cymem__slab *s = p ? cymem__chunk_find(pool, p) : NULL;
        EXPECT(p != NULL && ((uintptr_t)p & (align - 1)) == 0, "misaligned");
        EXPECT(s != NULL && s->cls != CYMEM__ARENA_CLS && s->cls >= CYMEM__NCLASSES,
               "an aligned block is not from an aligned slab class");
    }
    EXPECT(pool->direct_blocks == 0, "an aligned small block is direct");
    checked(pool, "after aligned blocks");
    cymem_pool_destroy(pool);
}

/* A pool in arena mode whose first aligned block made its class table
 * still takes its small blocks from its holes and its arena: the fast
 * paths of alloc and realloc serve slabs only out of arena mode. */
static void aligned_then_arena(void)
{
    cymem_pool *pool = cymem_pool_new();
    EXPECT(cymem_pool_alloc_aligned(pool, 1, 100, 64) != NULL, "aligned block");
    char *a = cymem_pool_alloc(pool, 1, 100), *b = cymem_pool_alloc(pool, 1, 100);
    char *c = cymem_pool_alloc(pool, 1, 32), *d = cymem_pool_alloc(pool, 1, 32);
    EXPECT(a && b && c && d && in_keeper(pool, a) && in_keeper(pool, d),
           "the first small blocks are not the keeper's");
    EXPECT(cymem_pool_free(pool, a) == 0, "free");
    EXPECT(pool->arena != NULL, "one hole left arena mode");
    EXPECT(cymem_pool_alloc(pool, 1, 100) == a, "the hole was not used again");
    /* A hole waits (no request of its class comes) while the arena
     * serves the rest. */
    EXPECT(cymem_pool_free(pool, c) == 0 && pool->nholes == 1, "a hole waits");
    for (int i = 0; i < 50; i++) {
        void *p = cymem_pool_alloc(pool, 1, 200);
        EXPECT(p != NULL && in_keeper(pool, p), "a small block in arena mode is a slab's");
    }
    char *r = cymem_pool_realloc(pool, b, 1000);
    EXPECT(r != NULL && in_keeper(pool, r), "realloc in arena mode moved to a slab");
    size_t slab_blocks = 0, bytes = 0;
    cymem__slabs_count(pool, &slab_blocks, &bytes);
    EXPECT(slab_blocks == 1, "slabs serve more than the aligned block");
    checked(pool, "after aligned block, holes and arena blocks");
    cymem_pool_destroy(pool);
}

/* A destroyed pool gives its slab descriptors back lowest address first
 * (pool.c, release_slabs()): a heap allocator then coalesces them and
 * shrinks its top once, not once per descriptor. */
#define FREES_MAX 4096
static uintptr_t freed[FREES_MAX];
static size_t nfreed;

static void *rec_malloc(size_t size, void *ctx)
{
    (void)ctx;
    return malloc(size);
}

static void rec_free(void *ptr, size_t size, void *ctx)
{
    (void)size, (void)ctx;
    if (nfreed < FREES_MAX)
        freed[nfreed++] = (uintptr_t)ptr;
    free(ptr);
}

static void destroy_order(void)
{
    cymem_allocator a = { rec_malloc, rec_free, NULL };
    cymem_pool_options o;
    memset(&o, 0, sizeof o);
    o.allocator = &a;
    cymem_pool *pool = cymem_pool_new_ex(&o);
    EXPECT(pool != NULL, "a pool on a recording allocator");
    if (pool == NULL)
        return;
    /* Past the arena budget, blocks of several classes: many slabs. */
    for (int i = 0; i < 60000; i++)
        EXPECT(cymem_pool_alloc(pool, 1, 16 + (size_t)(i % 7) * 48) != NULL, "alloc");
    checked(pool, "before the destroy");
    uintptr_t *desc = malloc(4096 * sizeof *desc);
    size_t n = 0;
    for (unsigned c = 0; pool->classes != NULL && c < CYMEM__NTABLE; c++)
        for (cymem__slab *s = pool->classes[c].all; s != NULL && n < 4096; s = s->next_in_class)
            desc[n++] = (uintptr_t)s;
    EXPECT(n > 8, "too few slabs to see an order");
    nfreed = 0;
    cymem_pool_destroy(pool);
    uintptr_t last = 0;
    size_t seen = 0;
    for (size_t i = 0; i < nfreed; i++) {
        size_t j = 0;
        while (j < n && desc[j] != freed[i])
            j++;
        if (j == n)
            continue;
        EXPECT(freed[i] > last, "slab descriptors given back out of address order");
        last = freed[i];
        seen++;
    }
    EXPECT(seen == n, "not every slab descriptor was given back");
    free(desc);
}

int main(void)
{
    destroy_order();
    aligned_blocks();
    aligned_then_arena();
    keeper_first();
    reuse();
    lifo_across_chunks();
    budget_and_conversion();
    destroyed_marks();
    leave_arena_mode();
    churn_leaves_arena();
    realloc_in_place();
    if (failures == 0)
        printf("rel-arena: keeper, holes, budget, conversion, marks at destroy, arena mode,"
               " churn, realloc, aligned, aligned then arena, destroy order: ok\n");
    return failures ? 1 : 0;
}
