/*
 * POSIX porting layer: CLOCK_MONOTONIC, nanosleep, pthreads.
 */
#include "platform/platform.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "common/internal.h"

uint64_t nipc__now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t nipc__now_ms(void)
{
    return nipc__now_ns() / 1000000u;
}

void nipc__sleep_ms(uint32_t ms)
{
    struct timespec ts = {.tv_sec = ms / 1000u, .tv_nsec = (long)(ms % 1000u) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

struct nipc__thread {
    pthread_t tid;
    nipc__thread_fn fn;
    void *arg;
};

static void *thread_main(void *p)
{
    struct nipc__thread *t = p;
    t->fn(t->arg);
    return NULL;
}

nipc_error_t nipc__thread_start(nipc__thread_t **out, nipc__thread_fn fn, void *arg)
{
    struct nipc__thread *t = malloc(sizeof *t);
    if (!t)
        return NIPC_ERR_NO_MEMORY;
    t->fn = fn;
    t->arg = arg;
    int rc = pthread_create(&t->tid, NULL, thread_main, t);
    if (rc != 0) {
        free(t);
        return nipc__os_fail(NIPC_ERR_NO_MEMORY, rc);
    }
    *out = t;
    return NIPC_OK;
}

void nipc__thread_join(nipc__thread_t *t)
{
    if (!t)
        return;
    pthread_join(t->tid, NULL);
    free(t);
}

struct nipc__mutex {
    pthread_mutex_t m;
};

nipc_error_t nipc__mutex_create(nipc__mutex_t **out)
{
    struct nipc__mutex *m = malloc(sizeof *m);
    if (!m)
        return NIPC_ERR_NO_MEMORY;
    pthread_mutex_init(&m->m, NULL);
    *out = m;
    return NIPC_OK;
}

void nipc__mutex_lock(nipc__mutex_t *m)
{
    pthread_mutex_lock(&m->m);
}

void nipc__mutex_unlock(nipc__mutex_t *m)
{
    pthread_mutex_unlock(&m->m);
}

void nipc__mutex_free(nipc__mutex_t *m)
{
    if (!m)
        return;
    pthread_mutex_destroy(&m->m);
    free(m);
}
