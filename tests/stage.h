/*
 * stage.h - for the tests whose threads wait for each other in steps
 * (rel-trim, rel-unload): one counter, set and waited for under a mutex.
 */
#ifndef CYMEM_TESTS_STAGE_H
#define CYMEM_TESTS_STAGE_H

#include <pthread.h>

static pthread_mutex_t stage_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t stage_cv = PTHREAD_COND_INITIALIZER;
static int stage;

/* Say that step @v is reached. */
static inline void stage_set(int v)
{
    pthread_mutex_lock(&stage_mu);
    stage = v;
    pthread_cond_broadcast(&stage_cv);
    pthread_mutex_unlock(&stage_mu);
}

/* Wait until step @v is reached. */
static inline void stage_wait(int v)
{
    pthread_mutex_lock(&stage_mu);
    while (stage < v)
        pthread_cond_wait(&stage_cv, &stage_mu);
    pthread_mutex_unlock(&stage_mu);
}

#endif /* CYMEM_TESTS_STAGE_H */
