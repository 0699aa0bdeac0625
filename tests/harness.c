/*
 * harness.c - the code behind harness.h, linked into every program of the
 * contract suite.
 */
#include "harness.h"

/* The engine's invariant checker, lib/invariants.h: not part of the
 * public API, reachable because the suite links the library's convenience
 * copy. */
#include "invariants.h"
#include "pagemap.h"

/* ---- The backing allocator ---------------------------------------------- */

/* Room in front of each block for its size; a multiple of any alignment
 * malloc gives, so the block keeps it. */
#define HDR 32

static void *backing_malloc(size_t size, void *ctx)
{
    backing *b = ctx;
    b->requests++;
    if (b->fail_at != 0 && (b->requests == b->fail_at ||
                            (b->fail_all && b->requests > b->fail_at)))
        return NULL;
    if (size > SIZE_MAX - HDR)
        return NULL;
    unsigned char *p = malloc(size + HDR);
    if (p == NULL)
        return NULL;
    memcpy(p, &size, sizeof size);
    memset(p + HDR, 0xA5, size);        /* never hand out zeros for free */
    b->mallocs++;
    b->held += size;
    b->asked += size;
    return p + HDR;
}

static void backing_free(void *ptr, size_t size, void *ctx)
{
    backing *b = ctx;
    unsigned char *p = (unsigned char *)ptr - HDR;
    size_t was;
    memcpy(&was, p, sizeof was);
    if (was != size)
        b->bad_free = 1;
    b->frees++;
    b->held -= was;
    b->returned += size;
    free(p);
}

void backing_init(backing *b)
{
    memset(b, 0, sizeof *b);
    b->alloc.malloc = backing_malloc;
    b->alloc.free = backing_free;
    b->alloc.ctx = b;
}

cymem_pool *backing_pool(backing *b, cymem_pool *parent, unsigned flags)
{
    cymem_pool_options o;
    backing_init(b);
    memset(&o, 0, sizeof o);
    o.allocator = &b->alloc;
    o.parent = parent;
    o.flags = flags;
    return cymem_pool_new_ex(&o);
}

void backing_fail_next(backing *b, int all)
{
    b->fail_at = b->requests + 1;
    b->fail_all = all;
}

void backing_recover(backing *b)
{
    b->fail_at = 0;
    b->fail_all = 0;
}

void backing_all_back(const backing *b)
{
    ck_assert_uint_eq(b->mallocs, b->frees);
    ck_assert_uint_eq(b->held, 0);
    ck_assert_uint_eq(b->asked, b->returned);
    ck_assert_int_eq(b->bad_free, 0);
}

/* ---- Teardown and invariants --------------------------------------------- */

void pool_check(const cymem_pool *pool)
{
    ck_assert_msg(cymem__pool_check(pool) == 0,
                  "pool %p breaks an engine invariant (stderr says which)",
                  (const void *)pool);
}

void pool_done(cymem_pool *pool)
{
    if (pool != NULL)
        pool_check(pool);
    cymem_pool_destroy(pool);
    /* A walk of the whole page map: nothing the pool owned is left. */
    ck_assert_msg(pool == NULL || cymem__page_census(pool, NULL) == 0,
                  "pool %p left slots in the page map", (const void *)pool);
}

cymem_pool *child_of(cymem_pool *parent)
{
    cymem_pool_options o;
    memset(&o, 0, sizeof o);
    o.parent = parent;
    return cymem_pool_new_ex(&o);
}

/* ---- Snapshots ----------------------------------------------------------- */

static int snap_visit(void *ptr, size_t size, void *ctx)
{
    snap *s = ctx;
    if (s->n == s->cap) {
        s->cap = s->cap ? 2 * s->cap : 64;
        s->b = realloc(s->b, s->cap * sizeof *s->b);
        ck_assert_ptr_nonnull(s->b);
    }
    s->b[s->n].addr = (uintptr_t)ptr;
    s->b[s->n].size = size;
    s->n++;
    return 0;
}

static int blk_cmp(const void *x, const void *y)
{
    const blkrec *a = x, *b = y;
    return a->addr < b->addr ? -1 : a->addr > b->addr;
}

void snap_take(const cymem_pool *pool, snap *s)
{
    memset(s, 0, sizeof *s);
    ck_assert_int_eq(cymem_pool_stats(pool, &s->st), 0);
    ck_assert_int_eq(cymem_pool_foreach(pool, snap_visit, s), 0);
    if (s->n)
        qsort(s->b, s->n, sizeof *s->b, blk_cmp);
}

void snap_same_blocks(const snap *a, const snap *b)
{
    ck_assert_uint_eq(a->st.live_bytes, b->st.live_bytes);
    ck_assert_uint_eq(a->st.live_blocks, b->st.live_blocks);
    ck_assert_uint_eq(a->st.peak_bytes, b->st.peak_bytes);
    ck_assert_uint_eq(a->st.used_bytes, b->st.used_bytes);
    ck_assert_uint_eq(a->n, b->n);
    for (size_t i = 0; i < a->n; i++) {
        ck_assert_uint_eq(a->b[i].addr, b->b[i].addr);
        ck_assert_uint_eq(a->b[i].size, b->b[i].size);
    }
}

void snap_same(const snap *a, const snap *b)
{
    snap_same_blocks(a, b);
    ck_assert_uint_eq(a->st.reserved_bytes, b->st.reserved_bytes);
    ck_assert_uint_eq(a->st.chunk_count, b->st.chunk_count);
    ck_assert_uint_eq(a->st.metadata_bytes, b->st.metadata_bytes);
}

const blkrec *snap_find(const snap *s, const void *p)
{
    blkrec key = { (uintptr_t)p, 0 };
    return s->n ? bsearch(&key, s->b, s->n, sizeof *s->b, blk_cmp) : NULL;
}

void snap_drop(snap *s)
{
    free(s->b);
    memset(s, 0, sizeof *s);
}

/* ---- Bytes, numbers, running ---------------------------------------------- */

int all_byte(const void *p, size_t n, unsigned char c)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        if (b[i] != c)
            return 0;
    return 1;
}

int all_zero(const void *p, size_t n)
{
    return all_byte(p, n, 0);
}

int aligned_to(const void *p, size_t alignment)
{
    return ((uintptr_t)p & (alignment - 1)) == 0;
}

void pattern_fill(void *p, size_t n, unsigned seed)
{
    unsigned char *c = p;
    for (size_t i = 0; i < n; i++)
        c[i] = (unsigned char)(seed + i * 31);
}

int pattern_ok(const void *p, size_t n, unsigned seed)
{
    const unsigned char *c = p;
    for (size_t i = 0; i < n; i++)
        if (c[i] != (unsigned char)(seed + i * 31))
            return 0;
    return 1;
}

cymem_stats stats_of(const cymem_pool *pool)
{
    cymem_stats s;
    ck_assert_int_eq(cymem_pool_stats(pool, &s), 0);
    return s;
}

uint64_t rng_next(uint64_t *x)
{
    *x = *x * UINT64_C(6364136223846793005) + UINT64_C(1442695040888963407);
    return *x >> 16;            /* the low bits of an LCG are weak */
}

size_t rng_below(uint64_t *x, size_t n)
{
    return (size_t)(rng_next(x) % n);
}

TCase *tcase_timed(const char *name, double seconds)
{
    TCase *t = tcase_create(name);
    tcase_set_timeout(t, seconds);
    return t;
}

int run_suite(Suite *s)
{
    SRunner *r = srunner_create(s);
    srunner_run_all(r, CK_NORMAL);
    int failed = srunner_ntests_failed(r);
    srunner_free(r);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
