/*
 * check-backing.c - a custom backing allocator: every byte comes back at
 * destroy, and an allocator that fails at its k-th call, for every k a
 * scenario reaches, makes calls fail cleanly with ENOMEM, leaves the pool
 * usable and leaks nothing.
 */
#include "check-common.h"

/* The children a scenario made: their memory comes from the same
 * allocator, but the parent's stats speak only of its own. */
static cymem_pool *kids[8];
static int nkids;

static size_t reserved_total(const cymem_pool *p)
{
    size_t r = stats_of(p).reserved_bytes;
    for (int i = 0; i < nkids; i++)
        r += stats_of(kids[i]).reserved_bytes;
    return r;
}

static void no_op(void *arg) { (void)arg; }

/* A scenario touching every kind of request; returns the number of calls
 * that failed.  Each failed call must have set ENOMEM and changed nothing. */
static int scenario(cymem_pool *p)
{
    static const size_t sz[] = { 8, 24, 100, 700, 3000, 9000, 70000, 300000 };
    void *keep[64];
    int nkeep = 0, failed = 0;
    nkids = 0;
    for (int round = 0; round < 3; round++) {
        for (size_t i = 0; i < sizeof sz / sizeof sz[0]; i++) {
            for (int k = 0; k < 3; k++) {
                snap a, b;
                snap_take(p, &a);
                errno = 0;
                void *q = (k == 2) ? cymem_pool_alloc_aligned(p, 1, sz[i], 4096)
                                   : cymem_pool_alloc(p, 1, sz[i]);
                if (q == NULL) {
                    ck_assert_int_eq(errno, ENOMEM);
                    snap_take(p, &b);
                    /* Memory the engine got before the failing request
                     * may stay reserved; the blocks and their accounting
                     * may not change. */
                    b.st.reserved_bytes = a.st.reserved_bytes;
                    b.st.chunk_count = a.st.chunk_count;
                    b.st.metadata_bytes = a.st.metadata_bytes;
                    snap_same(&a, &b);
                    snap_drop(&b);
                    failed++;
                } else {
                    ck_assert(all_zero(q, sz[i]));
                    memset(q, 0x99, sz[i]);
                    if (nkeep < 64 && k == 0)
                        keep[nkeep++] = q;
                    else
                        ck_assert_int_eq(cymem_pool_free(p, q), 0);
                }
                snap_drop(&a);
            }
        }
        for (int i = 0; i < nkeep; i++) {
            size_t old = cymem_pool_block_size(p, keep[i]);
            errno = 0;
            void *r = cymem_pool_realloc(p, keep[i], old * 3 + 10);
            if (r == NULL) {
                ck_assert_int_eq(errno, ENOMEM);
                ck_assert_uint_eq(cymem_pool_block_size(p, keep[i]), old);
                failed++;
            } else {
                keep[i] = r;
            }
        }
        errno = 0;
        if (cymem_pool_on_cleanup(p, no_op, NULL) != 0) {
            ck_assert_int_eq(errno, ENOMEM);
            failed++;
        }
        cymem_pool_options o;
        memset(&o, 0, sizeof o);
        o.parent = p;
        errno = 0;
        cymem_pool *c = cymem_pool_new_ex(&o);
        if (c == NULL) {
            ck_assert_int_eq(errno, ENOMEM);
            failed++;
        } else {
            kids[nkids++] = c;
            if (cymem_pool_alloc(c, 1, 5000) == NULL)
                failed++;
        }
        if (round == 1) {
            cymem_pool_reset(p);
            nkeep = 0;
            nkids = 0;
        }
    }
    return failed;
}

START_TEST(counting_all_back)
{
    tally t;
    memset(&t, 0, sizeof t);
    cymem_allocator a;
    cymem_pool *p = tally_pool(&t, &a, NULL, 0);
    ck_assert_ptr_nonnull(p);
    ck_assert_int_eq(scenario(p), 0);
    ck_assert_uint_eq(reserved_total(p), t.held);
    cymem_pool_destroy(p);
    tally_all_back(&t);
    ck_assert_uint_gt(t.mallocs, 3);
}
END_TEST

START_TEST(fail_at_every_call)
{
    tally t;
    memset(&t, 0, sizeof t);
    cymem_allocator a;
    cymem_pool *p = tally_pool(&t, &a, NULL, 0);
    scenario(p);
    cymem_pool_destroy(p);
    unsigned long total = t.mallocs;
    for (unsigned long k = 1; k <= total + 1; k++) {
        for (int all = 0; all < 2; all++) {
            memset(&t, 0, sizeof t);
            t.fail_at = k;
            t.fail_all = all;
            errno = 0;
            p = tally_pool(&t, &a, NULL, 0);
            if (p == NULL) {
                ck_assert_int_eq(errno, ENOMEM);
                tally_all_back(&t);
                continue;
            }
            int failed = scenario(p);
            if (t.failed > 0 && all)
                ck_assert_int_gt(failed, 0);
            /* usable again once the allocator recovers */
            t.fail_at = 0;
            void *q = cymem_pool_alloc(p, 1, 100000);
            ck_assert_ptr_nonnull(q);
            ck_assert(all_zero(q, 100000));
            ck_assert_uint_eq(reserved_total(p), t.held);
            cymem_pool_destroy(p);
            tally_all_back(&t);
        }
    }
}
END_TEST

/* ---- stats against a shadow model; foreach ------------------------------ */

struct shadow { void *p; size_t n; };

static int find_in(void *ptr, size_t size, void *ctx)
{
    snap *s = ctx;
    (void)size;
    (void)ptr;
    s->n++;
    return 0;
}

START_TEST(stats_shadow)
{
    enum { SLOTS = 400 };
    struct shadow sh[SLOTS];
    memset(sh, 0, sizeof sh);
    cymem_pool *p = cymem_pool_new();
    size_t live = 0, blocks = 0, peak = 0;
    unsigned long x = 12345;
    for (int step = 0; step < 30000; step++) {
        x = x * 6364136223846793005ul + 1442695040888963407ul;
        int s = (int)((x >> 33) % SLOTS);
        size_t n = (size_t)((x >> 17) % ((x >> 60) < 2 ? 200000 : 600));
        if (sh[s].p == NULL) {
            sh[s].p = ((x >> 5) & 7) == 0 ? cymem_pool_alloc_aligned(p, 1, n, 256)
                                          : cymem_pool_alloc(p, 1, n);
            ck_assert_ptr_nonnull(sh[s].p);
            sh[s].n = n;
            live += n;
            blocks++;
        } else if ((x >> 8) & 1) {
            ck_assert_int_eq(cymem_pool_free(p, sh[s].p), 0);
            live -= sh[s].n;
            blocks--;
            sh[s].p = NULL;
        } else {
            void *r = cymem_pool_realloc(p, sh[s].p, n);
            ck_assert_ptr_nonnull(r);
            live = live - sh[s].n + n;
            sh[s].p = r;
            sh[s].n = n;
        }
        if (live > peak)
            peak = live;
        if (step % 500 == 0 || step > 29990) {
            cymem_stats st = stats_of(p);
            ck_assert_uint_eq(st.live_bytes, live);
            ck_assert_uint_eq(st.live_blocks, blocks);
            ck_assert_uint_eq(st.peak_bytes, peak);
            ck_assert_uint_ge(st.used_bytes, st.live_bytes);
            snap sn;
            snap_take(p, &sn);
            ck_assert_uint_eq(sn.n, blocks);
            for (int i = 0; i < SLOTS; i++) {
                if (sh[i].p == NULL)
                    continue;
                ck_assert_int_eq(cymem_pool_owns(p, sh[i].p), 1);
                ck_assert_uint_eq(cymem_pool_block_size(p, sh[i].p), sh[i].n);
                blkrec key = { (uintptr_t)sh[i].p, 0 };
                blkrec *f = bsearch(&key, sn.b, sn.n, sizeof *sn.b, blk_cmp);
                ck_assert_ptr_nonnull(f);
                ck_assert_uint_eq(f->size, sh[i].n);
            }
            snap_drop(&sn);
        }
    }
    cymem_pool_destroy(p);
}
END_TEST

static int stop_at(void *ptr, size_t size, void *ctx)
{
    int *left = ctx;
    (void)ptr;
    (void)size;
    return --*left == 0 ? 42 : 0;
}

START_TEST(foreach_contract)
{
    cymem_pool *p = cymem_pool_new();
    snap sn;
    memset(&sn, 0, sizeof sn);
    ck_assert_int_eq(cymem_pool_foreach(p, find_in, &sn), 0);
    ck_assert_uint_eq(sn.n, 0);
    for (int i = 0; i < 10; i++)
        ck_assert_ptr_nonnull(cymem_pool_alloc(p, 1, (size_t)i * 1000));
    int left = 4;
    ck_assert_int_eq(cymem_pool_foreach(p, stop_at, &left), 42);
    ck_assert_int_eq(left, 0);
    errno = 0;
    ck_assert_int_eq(cymem_pool_foreach(p, NULL, NULL), -1);
    ck_assert_int_eq(errno, EINVAL);
    errno = 0;
    ck_assert_int_eq(cymem_pool_foreach(NULL, stop_at, &left), -1);
    ck_assert_int_eq(errno, EINVAL);
    errno = 0;
    ck_assert_int_eq(cymem_pool_stats(p, NULL), -1);
    ck_assert_int_eq(errno, EINVAL);
    cymem_pool_destroy(p);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("allocator");
    TCase *tc = tcase_create("allocator");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, counting_all_back);
    tcase_add_test(tc, fail_at_every_call);
    tcase_add_test(tc, stats_shadow);
    tcase_add_test(tc, foreach_contract);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
