/*
 * The small porting layer: monotonic clock, sleeping, deadlines, threads,
 * mutexes and read-write locks. One implementation per platform
 * (platform/posix, platform/windows), chosen by CMake. Internal.
 */
#ifndef NETIPC_PLATFORM_H
#define NETIPC_PLATFORM_H

#include <stdint.h>

#include "netipc/error.h"

/* Monotonic clock. */
uint64_t nipc__now_ns(void);
uint64_t nipc__now_ms(void);
void nipc__sleep_ms(uint32_t ms);

#define NIPC__NO_DEADLINE UINT64_MAX

/* Absolute deadline in monotonic ms for a relative timeout; 0 = none. */
static inline uint64_t nipc__deadline(uint32_t timeout_ms)
{
    return timeout_ms ? nipc__now_ms() + timeout_ms : NIPC__NO_DEADLINE;
}

/* Milliseconds left before `deadline`, capped at `cap`; 0 when passed. */
static inline uint32_t nipc__remaining_ms(uint64_t deadline, uint32_t cap)
{
    if (deadline == NIPC__NO_DEADLINE)
        return cap;
    uint64_t now = nipc__now_ms();
    if (now >= deadline)
        return 0;
    uint64_t left = deadline - now;
    return left < cap ? (uint32_t)left : cap;
}

/* Threads. */
typedef struct nipc__thread nipc__thread_t;
typedef void (*nipc__thread_fn)(void *arg);
nipc_error_t nipc__thread_start(nipc__thread_t **out, nipc__thread_fn fn, void *arg);
void nipc__thread_join(nipc__thread_t *t); /* also frees it */

/* Mutexes (heap objects so headers stay portable). */
typedef struct nipc__mutex nipc__mutex_t;
nipc_error_t nipc__mutex_create(nipc__mutex_t **out);
void nipc__mutex_lock(nipc__mutex_t *m);
void nipc__mutex_unlock(nipc__mutex_t *m);
void nipc__mutex_free(nipc__mutex_t *m);

#endif
