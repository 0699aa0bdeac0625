/*
 * contract-free.c - cymem_pool_free() accepts exactly the live blocks of
 * its pool; every other pointer is refused by free and realloc with EINVAL,
 * is not owned, has no size, and changes nothing (full stats and the set of
 * live blocks compared before and after).  Freed memory is reused.  Every
 * test runs on a plain pool and on a THREADSAFE one (a shared pool, whose
 * frees take fast paths of their own).
 */
#include "harness.h"

static cymem_pool *P;
static unsigned P_flags;     /* the flags of P, and of the other pools made */
static void *live[64];
static size_t live_sz[64];

/* Refuse @ptr; the pool must be exactly as before. */
static void refused(void *ptr, const char *what)
{
    UNCHANGED(P, {
        errno = 0;
        ck_assert_msg(cymem_pool_free(P, ptr) == -1, "free accepted %s", what);
        ck_assert_msg(errno == EINVAL, "free of %s: errno %d", what, errno);
        errno = 0;
        ck_assert_msg(cymem_pool_realloc(P, ptr, 64) == NULL, "realloc accepted %s", what);
        ck_assert_msg(errno == EINVAL, "realloc of %s: errno %d", what, errno);
        ck_assert_int_eq(cymem_pool_owns(P, ptr), 0);
        errno = 0;
        ck_assert_uint_eq(cymem_pool_block_size(P, ptr), 0);
        ck_assert_int_eq(errno, EINVAL);
    });
}

/* A pool of the kind under test, a child of @parent if not NULL. */
static cymem_pool *new_pool(cymem_pool *parent)
{
    cymem_pool_options o;
    memset(&o, 0, sizeof o);
    o.flags = P_flags;
    o.parent = parent;
    return cymem_pool_new_ex(&o);
}

/* Small, large and 4096-aligned blocks, each filled with its index. */
static void setup(void)
{
    P = new_pool(NULL);
    ck_assert_ptr_nonnull(P);
    for (int i = 0; i < 64; i++) {
        live_sz[i] = (i % 4 == 3) ? 200000 + (size_t)i : 8 + (size_t)i * 24;
        live[i] = (i % 8 == 5) ? cymem_pool_alloc_aligned(P, 1, live_sz[i], 4096)
                               : cymem_pool_alloc(P, 1, live_sz[i]);
        ck_assert_ptr_nonnull(live[i]);
        memset(live[i], i, live_sz[i]);
    }
}

static void teardown(void)
{
    /* The live blocks are intact after every refusal. */
    for (int i = 0; i < 64; i++) {
        if (live[i] == NULL)
            continue;
        const unsigned char *c = live[i];
        for (size_t k = 0; k < live_sz[i]; k += 97)
            ck_assert_uint_eq(c[k], (unsigned char)i);
    }
    pool_done(P);
    P = NULL;
}

START_TEST(free_null)
{
    UNCHANGED(P, ck_assert_int_eq(cymem_pool_free(P, NULL), 0));
}
END_TEST

START_TEST(free_other_pool)
{
    cymem_pool *o = new_pool(NULL);
    void *x = cymem_pool_alloc(o, 1, 16);
    void *y = cymem_pool_alloc(o, 1, 300000);
    void *z = cymem_pool_alloc_aligned(o, 1, 32, 4096);
    refused(x, "small block of another pool");
    refused(y, "large block of another pool");
    refused(z, "aligned block of another pool");
    /* and the other pool still has them */
    ck_assert_uint_eq(stats_of(o).live_blocks, 3);
    ck_assert_int_eq(cymem_pool_free(o, x), 0);
    ck_assert_int_eq(cymem_pool_free(o, y), 0);
    ck_assert_int_eq(cymem_pool_free(o, z), 0);
    pool_done(o);
}
END_TEST

START_TEST(free_child_block)
{
    cymem_pool *c = new_pool(P);
    ck_assert_ptr_nonnull(c);
    void *x = cymem_pool_alloc(c, 1, 40);
    ck_assert_ptr_nonnull(x);
    refused(x, "a child's block");
    ck_assert_int_eq(cymem_pool_free(c, x), 0);
}
END_TEST

START_TEST(free_malloc)
{
    void *m1 = malloc(32), *m2 = malloc(500000);
    ck_assert_ptr_nonnull(m1);
    ck_assert_ptr_nonnull(m2);
    refused(m1, "malloc'd small");
    refused(m2, "malloc'd large");
    free(m1);
    free(m2);
}
END_TEST

/* Whether @p starts one of the live blocks: small blocks may be packed
 * back to back, so "16 before" or "one past the end" of one block can be
 * the next one (it is, on i386). */
static int is_live(const void *p)
{
    for (int i = 0; i < 64; i++)
        if (live[i] == p)
            return 1;
    return 0;
}

START_TEST(free_interior)
{
    for (int i = 0; i < 64; i++) {
        unsigned char *q = live[i];
        refused(q + 1, "interior +1");
        refused(q + 8, "interior +8");
        if (live_sz[i] > 16)
            refused(q + 16, "interior +16");
        if (live_sz[i] > 4096)
            refused(q + 4096, "interior, a page in");
        refused(q + live_sz[i] / 2 + 1, "interior middle");
        if (!is_live(q + live_sz[i]))
            refused(q + live_sz[i], "one past the end");
        if (!is_live(q - 16))
            refused(q - 16, "16 before");
        refused(q - 1, "1 before");
    }
}
END_TEST

START_TEST(free_double)
{
    /* Small (0), large (3) and aligned (21) blocks among them. */
    for (int i = 0; i < 64; i += 3) {
        ck_assert_int_eq(cymem_pool_free(P, live[i]), 0);
        void *dead = live[i];
        live[i] = NULL;
        refused(dead, "double free");
    }
    /* Even once the address is handed out again and freed again. */
    void *a = cymem_pool_alloc(P, 1, 24);
    ck_assert_int_eq(cymem_pool_free(P, a), 0);
    refused(a, "double free after reuse");
}
END_TEST

START_TEST(free_after_reset)
{
    void *old[64];
    memcpy(old, live, sizeof old);
    cymem_pool_reset(P);
    memset(live, 0, sizeof live);
    for (int i = 0; i < 64; i++)
        refused(old[i], "freed by a reset");
    /* New blocks, then the old addresses again: only live ones accepted. */
    void *n = cymem_pool_alloc(P, 1, 8);
    for (int i = 0; i < 64; i++)
        if (old[i] != n)
            refused(old[i], "freed by a reset, pool in use");
    ck_assert_int_eq(cymem_pool_free(P, n), 0);
}
END_TEST

START_TEST(free_garbage)
{
    int on_stack[8];
    static char in_data[64];
    refused(on_stack, "stack address");
    refused(in_data + 16, "static data");
    refused((void *)(uintptr_t)16, "small integer");
    refused((void *)(uintptr_t)0x1000, "page 1");
    refused((void *)(uintptr_t)-64, "64 below the top of memory");
    refused((void *)(uintptr_t)(UINTPTR_MAX & ~(uintptr_t)15), "top of memory");
    refused((void *)(uintptr_t)(UINTPTR_MAX / 5 * 3 & ~(uintptr_t)15), "random address");
    refused((void *)&refused, "code address");
    refused(P, "the pool handle");
}
END_TEST

START_TEST(free_ok_each_kind)
{
    cymem_stats s0 = stats_of(P);
    for (int i = 0; i < 64; i++) {
        ck_assert_int_eq(cymem_pool_free(P, live[i]), 0);
        live[i] = NULL;
    }
    cymem_stats s1 = stats_of(P);
    ck_assert_uint_eq(s1.live_blocks, 0);
    ck_assert_uint_eq(s1.live_bytes, 0);
    ck_assert_uint_eq(s1.peak_bytes, s0.peak_bytes);
}
END_TEST

START_TEST(free_gives_memory_back)
{
    /* Freed blocks are reused: the same load again needs no more memory. */
    enum { N = 1000 };
    void *q[N];
    cymem_stats first = { 0 };
    for (int round = 0; round < 20; round++) {
        for (int i = 0; i < N; i++) {
            q[i] = cymem_pool_alloc(P, 1, 200);
            ck_assert_ptr_nonnull(q[i]);
        }
        for (int i = 0; i < N; i++)
            ck_assert_int_eq(cymem_pool_free(P, q[i]), 0);
        if (round == 0)
            first = stats_of(P);
    }
    cymem_stats last = stats_of(P);
    ck_assert_uint_eq(last.live_blocks, 64);
    ck_assert_uint_eq(last.reserved_bytes, first.reserved_bytes);
}
END_TEST

static void setup_plain(void)
{
    P_flags = 0;
    setup();
}

static void setup_threadsafe(void)
{
    P_flags = CYMEM_POOL_THREADSAFE;
    setup();
}

int main(void)
{
    Suite *s = suite_create("free");
    static const char *const names[2] = { "free", "free, threadsafe" };
    for (int k = 0; k < 2; k++) {
        TCase *tc = tcase_timed(names[k], 120);
        tcase_add_checked_fixture(tc, k ? setup_threadsafe : setup_plain, teardown);
        tcase_add_test(tc, free_null);
        tcase_add_test(tc, free_other_pool);
        tcase_add_test(tc, free_child_block);
        tcase_add_test(tc, free_malloc);
        tcase_add_test(tc, free_interior);
        tcase_add_test(tc, free_double);
        tcase_add_test(tc, free_after_reset);
        tcase_add_test(tc, free_garbage);
        tcase_add_test(tc, free_ok_each_kind);
        tcase_add_test(tc, free_gives_memory_back);
        suite_add_tcase(s, tc);
    }
    return run_suite(s);
}
