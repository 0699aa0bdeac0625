/*
 * rel-exit.c - pools used while a thread exits, in every order that the
 * thread's cleanup can take relative to libcymem's own per-thread cache.
 *
 * The seed's "one pool per thread" pattern keeps the thread's pool in a
 * pthread key and destroys it in the key's destructor.  On glibc, key
 * destructors run in the order the keys were made, so a key made after
 * libcymem's own runs after the library has dropped the thread's cache;
 * a key made before it runs while the cache is still there.  Each thread
 * here, in its late destructor, destroys its pool, then makes, uses and
 * destroys fresh pools: every call must work, and nothing of the cache
 * may outlive the thread.  Run natively, under valgrind (rel-regress.sh)
 * and with AddressSanitizer (CI); a use of the dropped cache, or a cache
 * left behind, is an error in each.
 *
 * The same checks run in a child made by fork() while another thread
 * holds pools: the child's thread exits cleanly too.
 */
#include <cymem.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define THREADS 4

static pthread_key_t early_key, late_key;
static int failures;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;

static void fail(const char *what)
{
    pthread_mutex_lock(&mu);
    failures++;
    fprintf(stderr, "rel-exit: %s\n", what);
    pthread_mutex_unlock(&mu);
}

/* Fill @pool with enough small blocks to leave tiny mode and use slabs of
 * several classes, plus a large block; check that they read back zero. */
static int fill(cymem_pool *pool)
{
    for (int i = 0; i < 200; i++) {
        size_t n = 8 + (size_t)(i % 40) * 24;
        unsigned char *p = cymem_pool_alloc(pool, 1, n);
        if (p == NULL)
            return -1;
        for (size_t j = 0; j < n; j++)
            if (p[j] != 0)
                return -1;
        memset(p, 0xA5, n);
        if (i % 3 == 0 && cymem_pool_free(pool, p) != 0)
            return -1;
    }
    return cymem_pool_alloc(pool, 1, 20000) != NULL ? 0 : -1;
}

/* Make, use and destroy pools the way a cleanup routine might. */
static void use_pools(const char *when)
{
    for (int round = 0; round < 3; round++) {
        cymem_pool *p = cymem_pool_new();
        if (p == NULL || fill(p) != 0) {
            fprintf(stderr, "rel-exit: %s, round %d:\n", when, round);
            fail("a pool made during thread exit does not work");
        }
        cymem_pool_destroy(p);
    }
}

static void destroy_early(void *arg)
{
    cymem_pool_destroy(arg);
    use_pools("early destructor");
}

static void destroy_late(void *arg)
{
    cymem_pool_destroy(arg);
    use_pools("late destructor");
}

static void *thread_main(void *arg)
{
    (void)arg;
    /* A pool destroyed before exit fills the thread's cache: the whole
     * pool, its slabs and its large block are kept for reuse. */
    cymem_pool *warm = cymem_pool_new();
    if (warm == NULL || fill(warm) != 0)
        fail("warm-up pool");
    cymem_pool_destroy(warm);

    cymem_pool *a = cymem_pool_new(), *b = cymem_pool_new();
    if (a == NULL || b == NULL || fill(a) != 0 || fill(b) != 0)
        fail("thread pools");
    pthread_setspecific(early_key, a);
    pthread_setspecific(late_key, b);
    return NULL;
}

static int run_threads(void)
{
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++)
        if (pthread_create(&t[i], NULL, thread_main, NULL) != 0) {
            fail("pthread_create");
            return -1;
        }
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    return 0;
}

int main(void)
{
    /* The key made before any pool is used precedes libcymem's key; the
     * one made after a pool has gone through the cache follows it. */
    if (pthread_key_create(&early_key, destroy_early) != 0)
        return 99;
    cymem_pool *first = cymem_pool_new();
    if (first == NULL || fill(first) != 0)
        return 99;
    cymem_pool_destroy(first);
    if (pthread_key_create(&late_key, destroy_late) != 0)
        return 99;

    run_threads();

    /* fork() with pools live on this thread: the child exits its threads
     * and its own pools as cleanly as the parent. */
    cymem_pool *held = cymem_pool_new();
    if (held == NULL || fill(held) != 0)
        return 99;
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        cymem_pool_destroy(held);
        run_threads();
        use_pools("forked child");
        _exit(failures ? 1 : 0);
    }
    int status;
    if (pid < 0 || waitpid(pid, &status, 0) != pid ||
        !WIFEXITED(status) || WEXITSTATUS(status) != 0)
        fail("the forked child failed");
    cymem_pool_destroy(held);

    if (failures == 0)
        printf("rel-exit: %d threads, cleanup before and after the cache: ok\n", THREADS);
    return failures ? 1 : 0;
}
