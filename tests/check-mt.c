/*
 * check-mt.c - a CYMEM_POOL_THREADSAFE pool used from four threads at
 * once: alloc, free, realloc and stats, blocks freed by a thread other than
 * the one that allocated them; the final accounting is exact and no block
 * is lost or handed out twice.
 */
#include "check-common.h"
#include <pthread.h>

#define NTHREADS 4
#define SLOTS 256
#define STEPS 20000

static cymem_pool *P;
/* Slots shared by all threads: each holds a block and its size; a slot is
 * claimed with its own mutex, so any thread may free any block. */
static struct { pthread_mutex_t mu; unsigned char *p; size_t n; } slot[SLOTS];
static int bad;

static void *worker(void *arg)
{
    unsigned long x = (unsigned long)(uintptr_t)arg * 7919 + 1;
    for (int i = 0; i < STEPS; i++) {
        x = x * 6364136223846793005ul + 1442695040888963407ul;
        int s = (int)((x >> 33) % SLOTS);
        size_t n = (size_t)((x >> 13) % ((x >> 60) == 0 ? 100000 : 500));
        pthread_mutex_lock(&slot[s].mu);
        if (slot[s].p == NULL) {
            unsigned char *q = cymem_pool_alloc(P, 1, n);
            if (q == NULL || !all_zero(q, n) || !aligned_to(q, MAX_ALIGN))
                bad = 1;
            else {
                memset(q, s, n);
                slot[s].p = q;
                slot[s].n = n;
            }
        } else {
            for (size_t k = 0; k < slot[s].n; k += 61)
                if (slot[s].p[k] != (unsigned char)s)
                    bad = 2;
            if ((x >> 7) & 1) {
                if (cymem_pool_free(P, slot[s].p) != 0)
                    bad = 3;
                slot[s].p = NULL;
            } else {
                unsigned char *r = cymem_pool_realloc(P, slot[s].p, n);
                if (r == NULL)
                    bad = 4;
                else {
                    memset(r, s, n);
                    slot[s].p = r;
                    slot[s].n = n;
                }
            }
        }
        pthread_mutex_unlock(&slot[s].mu);
        if (i % 64 == 0) {
            cymem_stats st;
            if (cymem_pool_stats(P, &st) != 0 || st.used_bytes < st.live_bytes
                || st.peak_bytes < st.live_bytes)
                bad = 5;
        }
    }
    return NULL;
}

START_TEST(four_threads)
{
    cymem_pool_options o;
    memset(&o, 0, sizeof o);
    o.flags = CYMEM_POOL_THREADSAFE;
    P = cymem_pool_new_ex(&o);
    ck_assert_ptr_nonnull(P);
    for (int i = 0; i < SLOTS; i++)
        pthread_mutex_init(&slot[i].mu, NULL);
    pthread_t th[NTHREADS];
    for (int i = 0; i < NTHREADS; i++)
        ck_assert_int_eq(pthread_create(&th[i], NULL, worker, (void *)(uintptr_t)(i + 1)), 0);
    for (int i = 0; i < NTHREADS; i++)
        pthread_join(th[i], NULL);
    ck_assert_int_eq(bad, 0);
    size_t live = 0, blocks = 0;
    for (int i = 0; i < SLOTS; i++)
        if (slot[i].p != NULL) {
            live += slot[i].n;
            blocks++;
            ck_assert_int_eq(cymem_pool_owns(P, slot[i].p), 1);
            ck_assert_uint_eq(cymem_pool_block_size(P, slot[i].p), slot[i].n);
        }
    cymem_stats st = stats_of(P);
    ck_assert_uint_eq(st.live_bytes, live);
    ck_assert_uint_eq(st.live_blocks, blocks);
    snap sn;
    snap_take(P, &sn);
    ck_assert_uint_eq(sn.n, blocks);
    for (size_t i = 1; i < sn.n; i++)
        ck_assert(sn.b[i].addr != sn.b[i - 1].addr);
    snap_drop(&sn);
    for (int i = 0; i < SLOTS; i++)
        if (slot[i].p != NULL)
            ck_assert_int_eq(cymem_pool_free(P, slot[i].p), 0);
    ck_assert_uint_eq(stats_of(P).live_blocks, 0);
    cymem_pool_destroy(P);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("threads");
    TCase *tc = tcase_create("threads");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, four_threads);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
