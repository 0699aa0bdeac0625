/*
 * api-free.c - cymem_pool_free and the exact detection of pointers that
 * are not live blocks: each refused call returns -1 (realloc: NULL) with
 * EINVAL and leaves stats and the set of live blocks exactly as they were.
 */
#include "api-common.h"

/* A pool with small, large and aligned blocks, some freed. */
struct fixture {
    cymem_pool *pool, *other;
    unsigned char *small, *large, *aligned, *freed, *other_block;
};

static void setup(struct fixture *f)
{
    f->pool = cymem_pool_new();
    f->other = cymem_pool_new();
    for (int i = 0; i < 100; i++)
        ck_assert_ptr_nonnull(cymem_pool_alloc(f->pool, 1, (size_t)(8 + i * 5)));
    f->small = cymem_pool_alloc(f->pool, 1, 48);
    f->large = cymem_pool_alloc(f->pool, 1, 50000);
    f->aligned = cymem_pool_alloc_aligned(f->pool, 1, 300, 4096);
    f->freed = cymem_pool_alloc(f->pool, 1, 48);
    f->other_block = cymem_pool_alloc(f->other, 1, 48);
    ck_assert_int_eq(cymem_pool_free(f->pool, f->freed), 0);
}

static void teardown(struct fixture *f)
{
    cymem_pool_destroy(f->pool);
    cymem_pool_destroy(f->other);
}

/* @p must be refused by free and realloc, with nothing changed. */
static void refused(cymem_pool *pool, void *p)
{
    struct snapshot a, b;
    snapshot(pool, &a);
    errno = 0;
    ck_assert_int_eq(cymem_pool_free(pool, p), -1);
    ck_assert_int_eq(errno, EINVAL);
    errno = 0;
    ck_assert_ptr_null(cymem_pool_realloc(pool, p, 100));
    ck_assert_int_eq(errno, EINVAL);
    ck_assert_int_eq(cymem_pool_owns(pool, p), 0);
    errno = 0;
    ck_assert_uint_eq(cymem_pool_block_size(pool, p), 0);
    ck_assert_int_eq(errno, EINVAL);
    snapshot(pool, &b);
    assert_same(&a, &b);
}

START_TEST(free_null_is_a_no_op)
{
    struct fixture f;
    struct snapshot a, b;
    setup(&f);
    snapshot(f.pool, &a);
    ck_assert_int_eq(cymem_pool_free(f.pool, NULL), 0);
    snapshot(f.pool, &b);
    assert_same(&a, &b);
    teardown(&f);
}
END_TEST

START_TEST(foreign_pointers_are_refused)
{
    struct fixture f;
    setup(&f);
    void *m = malloc(48);
    int local = 0;
    refused(f.pool, f.other_block);             /* another pool's block */
    refused(f.pool, m);                          /* malloc */
    refused(f.pool, &local);                     /* the stack */
    refused(f.pool, (void *)(uintptr_t)0x1000);  /* garbage */
    refused(f.pool, (void *)(uintptr_t)-64);
    free(m);
    teardown(&f);
}
END_TEST

START_TEST(interior_pointers_are_refused)
{
    struct fixture f;
    setup(&f);
    refused(f.pool, f.small + 1);
    refused(f.pool, f.small + 16);
    refused(f.pool, f.large + 1);
    refused(f.pool, f.large + 4096);
    refused(f.pool, f.aligned + 8);
    refused(f.pool, f.aligned - 16);
    teardown(&f);
}
END_TEST

START_TEST(double_free_is_refused)
{
    struct fixture f;
    setup(&f);
    refused(f.pool, f.freed);
    ck_assert_int_eq(cymem_pool_free(f.pool, f.large), 0);
    refused(f.pool, f.large);
    ck_assert_int_eq(cymem_pool_free(f.pool, f.aligned), 0);
    refused(f.pool, f.aligned);
    teardown(&f);
}
END_TEST

START_TEST(blocks_freed_by_reset_are_refused)
{
    struct fixture f;
    setup(&f);
    cymem_pool_reset(f.pool);
    refused(f.pool, f.small);
    refused(f.pool, f.large);
    refused(f.pool, f.aligned);
    teardown(&f);
}
END_TEST

START_TEST(child_blocks_are_not_the_parents)
{
    cymem_pool *parent = cymem_pool_new();
    cymem_pool_options o = { NULL, parent, 0, 0 };
    cymem_pool *child = cymem_pool_new_ex(&o);
    void *c = cymem_pool_alloc(child, 1, 64);
    ck_assert_ptr_nonnull(cymem_pool_alloc(parent, 1, 64));
    refused(parent, c);
    ck_assert_int_eq(cymem_pool_free(child, c), 0);
    cymem_pool_destroy(parent);
}
END_TEST

START_TEST(free_gives_memory_back_for_reuse)
{
    cymem_pool *pool = cymem_pool_new();
    void *p[1000];
    cymem_stats a, b;
    for (int round = 0; round < 20; round++) {
        for (int i = 0; i < 1000; i++)
            p[i] = cymem_pool_alloc(pool, 1, 200);
        for (int i = 0; i < 1000; i++)
            ck_assert_int_eq(cymem_pool_free(pool, p[i]), 0);
        if (round == 0)
            cymem_pool_stats(pool, &a);
    }
    cymem_pool_stats(pool, &b);
    ck_assert_uint_eq(b.live_blocks, 0);
    ck_assert_uint_eq(b.live_bytes, 0);
    ck_assert_uint_eq(a.reserved_bytes, b.reserved_bytes);   /* no growth */
    cymem_pool_destroy(pool);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("free");
    TCase *t = tcase_create("free");
    tcase_add_test(t, free_null_is_a_no_op);
    tcase_add_test(t, foreign_pointers_are_refused);
    tcase_add_test(t, interior_pointers_are_refused);
    tcase_add_test(t, double_free_is_refused);
    tcase_add_test(t, blocks_freed_by_reset_are_refused);
    tcase_add_test(t, child_blocks_are_not_the_parents);
    tcase_add_test(t, free_gives_memory_back_for_reuse);
    suite_add_tcase(s, t);
    return run_suite(s);
}
