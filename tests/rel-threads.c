/*
 * rel-threads.c - one CYMEM_POOL_THREADSAFE pool, several threads: each
 * allocates, resizes and frees, and hands half of its blocks to the next
 * thread, which frees them.  Every block carries its owner's mark; at the
 * end no block is lost or duplicated and the pool's counts are exact.
 * CI builds it with -fsanitize=thread too.
 */
#include <cymem.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define THREADS 4
#define ROUNDS 20000
#define SLOTS 64

static cymem_pool *pool;
static int errors;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;

/* Blocks passed from thread t to thread t+1. */
static struct mailbox {
    pthread_mutex_t mu;
    void *p[SLOTS];
    size_t n[SLOTS];
    unsigned count;
} box[THREADS];

static void error(const char *what)
{
    pthread_mutex_lock(&mu);
    if (errors++ < 10)
        fprintf(stderr, "rel-threads: %s\n", what);
    pthread_mutex_unlock(&mu);
}

static void *run(void *arg)
{
    unsigned id = (unsigned)(uintptr_t)arg;
    uint64_t seed = 12345 + id;
    void *mine[SLOTS] = { 0 };
    size_t len[SLOTS] = { 0 };
    for (int r = 0; r < ROUNDS; r++) {
        seed = seed * 6364136223846793005ull + 1;
        unsigned k = (unsigned)(seed >> 33) % SLOTS;
        size_t n = 1 + (size_t)(seed >> 40) % 600;
        if (mine[k] == NULL) {
            unsigned char *p = cymem_pool_alloc(pool, 1, n);
            if (p == NULL || p[0] != 0 || p[n - 1] != 0) {
                error("alloc failed or not zero-filled");
                continue;
            }
            memset(p, (int)id + 1, n);
            mine[k] = p;
            len[k] = n;
        } else if (r % 3 == 0) {
            unsigned char *p = cymem_pool_realloc(pool, mine[k], n);
            if (p == NULL || p[0] != id + 1) {
                error("realloc failed or lost contents");
                continue;
            }
            memset(p, (int)id + 1, n);
            mine[k] = p;
            len[k] = n;
        } else {
            /* Pass it to the next thread, or free it here. */
            struct mailbox *b = &box[(id + 1) % THREADS];
            pthread_mutex_lock(&b->mu);
            if (b->count < SLOTS) {
                b->p[b->count] = mine[k];
                b->n[b->count++] = len[k];
                mine[k] = NULL;
            }
            pthread_mutex_unlock(&b->mu);
            if (mine[k] != NULL) {
                if (cymem_pool_free(pool, mine[k]) != 0)
                    error("free of a live block failed");
                mine[k] = NULL;
            }
        }
        /* Free what the previous thread passed on. */
        struct mailbox *in = &box[id];
        pthread_mutex_lock(&in->mu);
        while (in->count > 0) {
            unsigned i = --in->count;
            const unsigned char *p = in->p[i];
            if (p[0] == 0 || p[in->n[i] - 1] != p[0])
                error("a passed block was overwritten");
            if (cymem_pool_free(pool, in->p[i]) != 0)
                error("free of a passed block failed");
        }
        pthread_mutex_unlock(&in->mu);
        if (r % 1000 == 0) {
            cymem_stats st;
            if (cymem_pool_stats(pool, &st) != 0 || st.live_bytes > st.reserved_bytes)
                error("stats inconsistent");
        }
    }
    for (unsigned k = 0; k < SLOTS; k++)
        if (mine[k] != NULL && cymem_pool_free(pool, mine[k]) != 0)
            error("final free failed");
    return NULL;
}

int main(void)
{
    cymem_pool_options o = { NULL, NULL, CYMEM_POOL_THREADSAFE, 0 };
    pthread_t t[THREADS];
    pool = cymem_pool_new_ex(&o);
    if (pool == NULL)
        return 99;
    for (unsigned i = 0; i < THREADS; i++)
        pthread_mutex_init(&box[i].mu, NULL);
    for (unsigned i = 0; i < THREADS; i++)
        pthread_create(&t[i], NULL, run, (void *)(uintptr_t)i);
    for (unsigned i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    for (unsigned i = 0; i < THREADS; i++)
        while (box[i].count > 0)
            if (cymem_pool_free(pool, box[i].p[--box[i].count]) != 0)
                error("leftover free failed");
    cymem_stats st;
    cymem_pool_stats(pool, &st);
    if (st.live_blocks != 0 || st.live_bytes != 0)
        error("blocks lost or duplicated: the pool is not empty");
    cymem_pool_destroy(pool);
    printf("%d threads x %d operations: %d errors\n", THREADS, ROUNDS, errors);
    return errors != 0;
}
