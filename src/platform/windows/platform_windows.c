/*
 * Windows porting layer: QueryPerformanceCounter clock, Sleep, CRT-aware
 * threads (_beginthreadex), SRW locks for mutexes and read-write locks.
 *
 * Nothing here raises the system timer resolution (timeBeginPeriod is a
 * process-wide setting that belongs to the application): Sleep(1) may last
 * a scheduler tick (~15.6 ms) on Windows, ~1 ms under wine.
 */
#include "platform/platform.h"

#include <process.h>
#include <stdlib.h>
#include <windows.h>

#include "common/internal.h"

static uint64_t qpc_frequency(void)
{
    /* Fixed at boot and documented never to fail on XP and later; cached
     * with a relaxed atomic (every thread computes the same value). */
    static uint64_t freq;
    uint64_t f = __atomic_load_n(&freq, __ATOMIC_RELAXED);
    if (f == 0) {
        LARGE_INTEGER li;
        QueryPerformanceFrequency(&li);
        f = li.QuadPart > 0 ? (uint64_t)li.QuadPart : 1u;
        __atomic_store_n(&freq, f, __ATOMIC_RELAXED);
    }
    return f;
}

uint64_t nipc__now_ns(void)
{
    LARGE_INTEGER c;
    QueryPerformanceCounter(&c);
    uint64_t f = qpc_frequency();
    uint64_t t = (uint64_t)c.QuadPart;
    /* Split so that t * 1e9 cannot overflow for any realistic uptime. */
    return (t / f) * 1000000000u + (t % f) * 1000000000u / f;
}

uint64_t nipc__now_ms(void)
{
    return nipc__now_ns() / 1000000u;
}

void nipc__sleep_ms(uint32_t ms)
{
    Sleep(ms);
}

/* ---------------------------------------------------------------- threads */

struct nipc__thread {
    HANDLE handle;
    nipc__thread_fn fn;
    void *arg;
};

static unsigned __stdcall thread_main(void *p)
{
    struct nipc__thread *t = p;
    t->fn(t->arg);
    return 0;
}

nipc_error_t nipc__thread_start(nipc__thread_t **out, nipc__thread_fn fn, void *arg)
{
    struct nipc__thread *t = malloc(sizeof *t);
    if (!t)
        return NIPC_ERR_NO_MEMORY;
    t->fn = fn;
    t->arg = arg;
    /* _beginthreadex, not CreateThread: the thread uses the C runtime. */
    uintptr_t h = _beginthreadex(NULL, 0, thread_main, t, 0, NULL);
    if (h == 0) {
        int e = (int)GetLastError();
        free(t);
        return nipc__os_fail(NIPC_ERR_NO_MEMORY, e);
    }
    t->handle = (HANDLE)h;
    *out = t;
    return NIPC_OK;
}

void nipc__thread_join(nipc__thread_t *t)
{
    if (!t)
        return;
    WaitForSingleObject(t->handle, INFINITE);
    CloseHandle(t->handle);
    free(t);
}

/* ---------------------------------------------------------------- mutexes */

struct nipc__mutex {
    SRWLOCK lock;
};

nipc_error_t nipc__mutex_create(nipc__mutex_t **out)
{
    struct nipc__mutex *m = malloc(sizeof *m);
    if (!m)
        return NIPC_ERR_NO_MEMORY;
    InitializeSRWLock(&m->lock);
    *out = m;
    return NIPC_OK;
}

void nipc__mutex_lock(nipc__mutex_t *m)
{
    AcquireSRWLockExclusive(&m->lock);
}

void nipc__mutex_unlock(nipc__mutex_t *m)
{
    ReleaseSRWLockExclusive(&m->lock);
}

void nipc__mutex_free(nipc__mutex_t *m)
{
    free(m); /* SRW locks need no destruction */
}
