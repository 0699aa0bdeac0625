/*
 * rel-trim.c - cymem_trim() gives the threads' cached memory back.
 *
 * After a warm-up, a thread makes and destroys pools of every kind the
 * per-thread cache keeps (small pools kept whole, chunks of small blocks,
 * large blocks, a pool large enough to use regions), then calls
 * cymem_trim(): it must report the bytes it gave back, a second call must
 * find nothing, the resident size must be back within 1 MiB of where it
 * was before the pools were made, and pools must work as before.  The
 * same runs on a second thread.  The resident size is read from
 * /proc/self/statm; under
 * valgrind or AddressSanitizer, whose own allocators decide what stays
 * resident, it is reported but not compared.
 *
 * Large blocks that a live pool frees one by one go back to the C library
 * but one per size bucket, where a reset's wait in the cache for the next
 * round: what cymem_trim() reports after each says which.
 *
 * The regions of a destroyed large pool wait in the cache: all of them
 * (up to 64, 256 MiB) for 100 ms, then all but four go back at the
 * thread's next call on the cache (a pool made or destroyed).
 *
 * A trim empties every thread's cache, not only its caller's: a thread
 * that made and destroyed pools and then waits (a worker of a thread
 * pool) keeps nothing resident after another thread's trim, and goes on
 * using pools after it; trims while a thread makes and destroys pools
 * take nothing from under it; and in the child of a fork(), whose other
 * threads are gone, a trim gives their caches back too.
 */
#include <cymem.h>
#include <pthread.h>
#include <sys/wait.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "resident.h"
#include "stage.h"

#define MIB ((size_t)1 << 20)

static int failures;

static void expect(int cond, const char *what)
{
    if (!cond) {
        fprintf(stderr, "rel-trim: %s\n", what);
        failures++;
    }
}

static int fill(cymem_pool *pool, size_t bytes)
{
    for (size_t done = 0, i = 0; done < bytes; i++) {
        size_t n = i % 97 == 0 ? 5000 + (i % 7) * 9000 : 16 + (i * 24) % 2000;
        char *p = cymem_pool_alloc(pool, 1, n);
        if (p == NULL)
            return -1;
        memset(p, 1, n);            /* touch it: it is resident */
        done += n;
    }
    return 0;
}

/* Make and destroy pools of every kind the cache keeps; returns 0. */
static int workload(void)
{
    cymem_pool *pools[40];
    for (int i = 0; i < 40; i++)
        if ((pools[i] = cymem_pool_new()) == NULL || fill(pools[i], 200000) != 0)
            return -1;
    for (int i = 39; i >= 0; i--)
        cymem_pool_destroy(pools[i]);
    cymem_pool *large = cymem_pool_new();
    if (large == NULL || fill(large, 24 * MIB) != 0)
        return -1;
    cymem_pool_destroy(large);
    return 0;
}

static void *run(void *arg)
{
    const char *who = arg;
    /* Warm-up: the thread's cache and the C library's heap exist. */
    cymem_pool *warm = cymem_pool_new();
    if (warm == NULL || fill(warm, 100000) != 0)
        expect(0, "warm-up");
    cymem_pool_destroy(warm);
    cymem_trim();
    size_t before = rss();

    expect(workload() == 0, "workload");
    size_t cached = rss();
    size_t given = cymem_trim();
    size_t after = rss();
    printf("rel-trim: %s: resident %zu KiB, %zu KiB after the pools, "
           "%zu KiB after trimming %zu KiB\n", who, before >> 10, cached >> 10,
           after >> 10, given >> 10);
    expect(given > 4 * MIB, "cymem_trim() gave back little or nothing");
    expect(cymem_trim() == 0, "a second cymem_trim() found more");
    if (before != 0 && !UNDER_SANITIZER && getenv("CYMEM_UNDER_VALGRIND") == NULL)
        expect(after <= before + MIB, "resident size not back within 1 MiB");

    cymem_pool *again = cymem_pool_new();
    expect(again != NULL && fill(again, 300000) == 0, "a pool after trimming");
    cymem_pool_destroy(again);
    return NULL;
}

/* 16 large blocks of one bucket, freed one by one and then by a reset. */
static void large_blocks(void)
{
    enum { N = 16, SIZE = 10000 };
    void *b[N];
    cymem_trim();
    cymem_pool *pool = cymem_pool_new();
    if (pool == NULL) {
        expect(0, "a pool for large blocks");
        return;
    }
    for (int i = 0; i < N; i++)
        expect((b[i] = cymem_pool_alloc(pool, 1, SIZE)) != NULL, "a large block");
    for (int i = 0; i < N; i++)
        expect(cymem_pool_free(pool, b[i]) == 0, "freeing a large block");
    size_t kept = cymem_trim();
    expect(kept >= SIZE && kept < 2 * SIZE,
           "the cache did not keep exactly one of 16 large blocks freed one by one");
    for (int i = 0; i < N; i++)
        expect(cymem_pool_alloc(pool, 1, SIZE) != NULL, "a large block");
    cymem_pool_reset(pool);
    kept = cymem_trim();
    expect(kept >= N * SIZE, "the cache did not keep the large blocks of a reset");
    printf("rel-trim: large blocks: %zu bytes kept after a reset\n", kept);
    /* A large block that realloc left at a size below every bucket a
     * request takes (4097 to 4607 bytes) is not kept. */
    char *odd = cymem_pool_alloc(pool, 1, 9000);
    expect(odd != NULL && (odd = cymem_pool_realloc(pool, odd, 4100)) != NULL,
           "a large block shrunk to 4100 bytes");
    expect(odd != NULL && cymem_pool_block_size(pool, odd) == 4100, "its size");
    expect(cymem_pool_free(pool, odd) == 0, "freeing it");
    expect(cymem_trim() == 0, "the cache kept a block no request can take");
    cymem_pool_destroy(pool);
}

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A pool of about @bytes in blocks of 2000 bytes, left untouched (the
 * pages of its regions are never faulted in), destroyed: how many
 * milliseconds the destroy took, or -1. */
static long large_pool(size_t bytes)
{
    cymem_pool *pool = cymem_pool_new();
    if (pool == NULL)
        return -1;
    for (size_t done = 0; done < bytes; done += 2000)
        if (cymem_pool_alloc(pool, 1, 2000) == NULL) {
            cymem_pool_destroy(pool);
            return -1;
        }
    long t = now_ms();
    cymem_pool_destroy(pool);
    return now_ms() - t;
}

/* Whether all of a destroyed pool's regions can still be waiting: the
 * first ones given back have waited as long as the destroy took, which
 * under valgrind, or on a loaded machine, may be their whole 100 ms. */
static int still_waiting(long ms)
{
    if (ms < 50)
        return 1;
    printf("rel-trim: the destroy took %ld ms: what waits is not checked\n", ms);
    return 0;
}

static void regions_wait(void)
{
    cymem_trim();
    long ms = large_pool(64 * MIB);
    expect(ms >= 0, "a pool of 64 MiB");
    size_t kept = cymem_trim();
    printf("rel-trim: regions: %zu KiB kept after a destroy\n", kept >> 10);
    if (still_waiting(ms))
        expect(kept >= 48 * MIB, "a destroyed pool's regions did not wait in the cache");

    expect(large_pool(64 * MIB) >= 0, "a pool of 64 MiB");
    usleep(300 * 1000);
    /* The next call on the cache: all regions but four go back. */
    cymem_pool *p = cymem_pool_new();
    expect(p != NULL, "a pool");
    cymem_pool_destroy(p);
    kept = cymem_trim();
    printf("rel-trim: regions: %zu KiB kept 300 ms later\n", kept >> 10);
    expect(kept >= 16 * MIB, "fewer than four regions stayed in the cache");
    expect(kept <= 16 * MIB + 8 * MIB, "regions stayed in the cache past their wait");

    /* A large block taken and freed by a live pool is a call on the
     * cache too. */
    cymem_pool *live = cymem_pool_new();
    expect(live != NULL, "a pool");
    expect(large_pool(64 * MIB) >= 0, "a pool of 64 MiB");
    usleep(300 * 1000);
    void *big = live ? cymem_pool_alloc(live, 1, 10000) : NULL;
    expect(big != NULL && cymem_pool_free(live, big) == 0, "a large block");
    kept = cymem_trim();
    printf("rel-trim: regions: %zu KiB kept 300 ms later, after a large block\n", kept >> 10);
    expect(kept <= 16 * MIB + 8 * MIB, "regions stayed in the cache past their wait");
    cymem_pool_destroy(live);

    /* At most 64 regions wait. */
    ms = large_pool(320 * MIB);
    expect(ms >= 0, "a pool of 320 MiB");
    kept = cymem_trim();
    printf("rel-trim: regions: %zu KiB kept after a destroy of 320 MiB\n", kept >> 10);
    if (still_waiting(ms))
        expect(kept >= 240 * MIB, "a destroyed pool's regions did not wait in the cache");
    expect(kept <= 256 * MIB + 8 * MIB, "more than 64 regions waited in the cache");
}

/* ---- other threads' caches --------------------------------------------- */

/* A worker that fills its cache, says so, and waits to be told to go on:
 * a thread of a thread pool, idle between jobs. */
static void *idle_worker(void *arg)
{
    (void)arg;
    expect(workload() == 0, "the worker's pools");
    /* Past their wait, its regions but four stay: for good, since the
     * thread makes no call on its cache until it is told to go on. */
    usleep(150 * 1000);
    cymem_pool *p = cymem_pool_new();
    expect(p != NULL && fill(p, 100000) == 0, "the worker's pool");
    cymem_pool_destroy(p);
    stage_set(1);
    stage_wait(2);
    /* Its cache was emptied under it: it goes on as before. */
    for (int i = 0; i < 3; i++) {
        expect(workload() == 0, "the worker's pools after another thread's trim");
        cymem_pool *q = cymem_pool_new();
        expect(q != NULL && fill(q, 300000) == 0, "the worker's pool after the trim");
        cymem_pool_destroy(q);
    }
    return NULL;
}

/* Start an idle worker in *@t, with every cache empty before it; return
 * once its cache is full and it waits: 0, or -1 if it could not start. */
static int idle_start(pthread_t *t)
{
    cymem_trim();
    stage = 0;
    if (pthread_create(t, NULL, idle_worker, NULL) != 0) {
        expect(0, "pthread_create");
        return -1;
    }
    stage_wait(1);
    return 0;
}

static void idle_thread(void)
{
    cymem_trim();
    size_t before = rss();
    pthread_t t;
    if (idle_start(&t) != 0)
        return;
    size_t cached = rss();
    size_t given = cymem_trim();
    size_t after = rss();
    printf("rel-trim: idle thread: resident %zu KiB, %zu KiB with its pools destroyed, "
           "%zu KiB after the main thread trimmed %zu KiB\n", before >> 10, cached >> 10,
           after >> 10, given >> 10);
    expect(given >= 16 * MIB, "a trim did not empty an idle thread's cache");
    expect(cymem_trim() == 0, "a second cymem_trim() found more");
    /* The thread's stack and its C library arena are resident too. */
    if (before != 0 && !UNDER_SANITIZER && getenv("CYMEM_UNDER_VALGRIND") == NULL)
        expect(after <= before + 2 * MIB, "resident size not back after another thread's trim");
    stage_set(2);
    pthread_join(t, NULL);
    expect(cymem_trim() == 0, "the worker's exit left memory in a cache");
}

/* Trims from one thread while another makes and destroys pools of every
 * kind the cache keeps: what the worker takes from its cache is never
 * given back under it (the checkers and the pools' own checks say so). */
static int busy_stop;

static void *busy_worker(void *arg)
{
    (void)arg;
    while (!__atomic_load_n(&busy_stop, __ATOMIC_RELAXED)) {
        cymem_pool *p = cymem_pool_new();
        if (p == NULL || fill(p, 300000) != 0) {
            expect(0, "a pool while another thread trims");
            break;
        }
        void *big = cymem_pool_alloc(p, 1, 20000);
        expect(big != NULL && cymem_pool_free(p, big) == 0, "a large block while trims run");
        cymem_pool_reset(p);
        expect(fill(p, 200000) == 0, "a pool reset while trims run");
        cymem_pool_destroy(p);
    }
    return NULL;
}

static void busy_thread(void)
{
    pthread_t t;
    busy_stop = 0;
    if (pthread_create(&t, NULL, busy_worker, NULL) != 0) {
        expect(0, "pthread_create");
        return;
    }
    size_t total = 0;
    long end = now_ms() + 300;
    int trims = 0;
    while (now_ms() < end) {
        total += cymem_trim();
        trims++;
    }
    __atomic_store_n(&busy_stop, 1, __ATOMIC_RELAXED);
    pthread_join(t, NULL);
    printf("rel-trim: %d trims gave back %zu KiB while another thread used pools\n", trims,
           total >> 10);
    expect(cymem_trim() == 0, "the busy worker's exit left memory in a cache");
}

/* In a fork's child, the caches of the threads it does not have: a
 * child that trims first gets them back from the trim; one that uses a
 * pool first, at that pool's first call on a cache, before its trim. */
static int child_trims(int pool_first)
{
    size_t r0 = rss();
    int ok = 1;
    if (pool_first) {
        cymem_pool *p = cymem_pool_new();
        ok = p != NULL && fill(p, 300000) == 0;
        cymem_pool_destroy(p);
    }
    size_t r1 = rss();
    size_t given = cymem_trim();
    size_t again = cymem_trim();
    printf("rel-trim: fork: %s: resident %zu KiB, then %zu KiB; trims of %zu KiB, "
           "then %zu KiB\n", pool_first ? "a pool first" : "a trim first", r0 >> 10, r1 >> 10,
           given >> 10, again >> 10);
    if (!pool_first) {
        cymem_pool *p = cymem_pool_new();
        ok = p != NULL && fill(p, 300000) == 0;
        cymem_pool_destroy(p);
        ok = ok && given >= 16 * MIB;
    } else {
        ok = ok && given < 4 * MIB;
        if (r0 != 0 && !UNDER_SANITIZER && getenv("CYMEM_UNDER_VALGRIND") == NULL)
            ok = ok && r1 + 12 * MIB <= r0;
    }
    fflush(stdout);
    return ok && again == 0 ? 0 : 1;
}

static void forked(void)
{
    pthread_t t;
    if (idle_start(&t) != 0)
        return;
    for (int pool_first = 0; pool_first < 2; pool_first++) {
        fflush(stdout);
        pid_t pid = fork();
        if (pid == 0)
            _exit(child_trims(pool_first));
        int status = 0;
        expect(pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
                   WEXITSTATUS(status) == 0,
               pool_first ? "a fork's child kept the caches of the threads it does not have"
                          : "a fork's child did not trim the caches of the threads it does not have");
    }
    stage_set(2);
    pthread_join(t, NULL);
}

int main(void)
{
    run("main thread");
    large_blocks();
    regions_wait();
    idle_thread();
    busy_thread();
    forked();

    pthread_t t;
    if (pthread_create(&t, NULL, run, "second thread") != 0)
        return 99;
    pthread_join(t, NULL);
    if (failures == 0)
        printf("rel-trim: ok\n");
    return failures ? 1 : 0;
}
