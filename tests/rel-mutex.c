/*
 * rel-mutex.c - a CYMEM_POOL_THREADSAFE pool whose mutex cannot be made.
 *
 * This program's pthread_mutex_init() stands in front of the C library's
 * and fails while `refuse' is set, as the real one may (EAGAIN, ENOMEM).
 * cymem_pool_new_ex() must then fail with that errno and give back every
 * byte it took (checked with a counting allocator), for a new pool and
 * for one recycled from the thread's cache of destroyed pools; once the
 * mutex can be made again, pools work as usual.
 */
#define _GNU_SOURCE
#include <cymem.h>
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

static int refuse;
static int (*real_init)(pthread_mutex_t *, const pthread_mutexattr_t *);

int pthread_mutex_init(pthread_mutex_t *m, const pthread_mutexattr_t *a)
{
    if (refuse)
        return refuse;
    return real_init != NULL ? real_init(m, a) : ENOSYS;
}

static long held;

static void *count_malloc(size_t size, void *ctx)
{
    (void)ctx;
    void *p = malloc(size);
    if (p != NULL)
        held += (long)size;
    return p;
}

static void count_free(void *p, size_t size, void *ctx)
{
    (void)ctx;
    held -= (long)size;
    free(p);
}

static int failures;
#define EXPECT(cond) do { if (!(cond)) { \
        fprintf(stderr, "rel-mutex: line %d: %s\n", __LINE__, #cond); failures++; } } while (0)

int main(void)
{
    /* A static program has no library behind it to forward to. */
    *(void **)&real_init = dlsym(RTLD_NEXT, "pthread_mutex_init");
    if (real_init == NULL) {
        printf("SKIP: no pthread_mutex_init() behind this program's (static link?)\n");
        return 77;
    }
    cymem_allocator a = { count_malloc, count_free, NULL };
    cymem_pool_options opts = { 0 };
    opts.flags = CYMEM_POOL_THREADSAFE;

    /* A pool of the system allocator, first from nothing, then recycled:
     * a destroyed small pool waits in the thread's cache. */
    for (int round = 0; round < 2; round++) {
        if (round == 1) {
            cymem_pool *p = cymem_pool_new();
            EXPECT(p != NULL && cymem_pool_alloc(p, 100, 16) != NULL);
            cymem_pool_destroy(p);
        }
        refuse = EAGAIN;
        errno = 0;
        EXPECT(cymem_pool_new_ex(&opts) == NULL);
        EXPECT(errno == EAGAIN);
        refuse = 0;
    }

    /* A pool of a counting allocator gives back every byte. */
    opts.allocator = &a;
    refuse = ENOMEM;
    errno = 0;
    EXPECT(cymem_pool_new_ex(&opts) == NULL);
    EXPECT(errno == ENOMEM);
    EXPECT(held == 0);
    refuse = 0;

    cymem_pool *p = cymem_pool_new_ex(&opts);
    EXPECT(p != NULL);
    if (p != NULL) {
        int *x = cymem_pool_alloc(p, 10, sizeof *x);
        EXPECT(x != NULL && x[9] == 0);
        EXPECT(cymem_pool_free(p, x) == 0);
        cymem_pool_destroy(p);
    }
    EXPECT(held == 0);
    if (failures == 0)
        printf("rel-mutex: a mutex that cannot be made fails the call cleanly: ok\n");
    return failures ? 1 : 0;
}
