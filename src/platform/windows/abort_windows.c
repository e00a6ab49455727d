/*
 * Abort object on Windows: an atomic flag for cheap checks plus an unnamed
 * manual-reset event that is signalled while the flag is set, so a
 * WaitForMultipleObjects() on pipe I/O or an SHM event wakes at once.
 *
 * Trigger and clear update flag and event together under a small lock:
 * otherwise a clear racing a trigger could leave the event signalled with
 * the flag clear (waiters would spin) or the reverse (waiters would sleep
 * through an abort).
 */
#include "netipc/transport.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <windows.h>

#include "common/internal.h"
#include "platform/abort_internal.h"

struct nipc_abort {
    atomic_int set;
    SRWLOCK lock; /* orders flag + event updates; never held while waiting */
    HANDLE event; /* manual reset, signalled iff set */
};

nipc_error_t nipc_abort_create(nipc_abort_t **out)
{
    struct nipc_abort *a = malloc(sizeof *a);
    if (!a)
        return NIPC_ERR_NO_MEMORY;
    a->event = CreateEventW(NULL, TRUE, FALSE, NULL);
    if (!a->event) {
        int e = (int)GetLastError();
        free(a);
        return nipc__os_fail(NIPC_ERR_IO, e);
    }
    atomic_init(&a->set, 0);
    InitializeSRWLock(&a->lock);
    *out = a;
    return NIPC_OK;
}

void nipc_abort_trigger(nipc_abort_t *a)
{
    AcquireSRWLockExclusive(&a->lock);
    /* Flag first: a waiter woken by the event must find it set. */
    atomic_store(&a->set, 1);
    SetEvent(a->event);
    ReleaseSRWLockExclusive(&a->lock);
}

void nipc_abort_clear(nipc_abort_t *a)
{
    AcquireSRWLockExclusive(&a->lock);
    atomic_store(&a->set, 0);
    ResetEvent(a->event);
    ReleaseSRWLockExclusive(&a->lock);
}

bool nipc_abort_is_set(const nipc_abort_t *a)
{
    return a && atomic_load(&((struct nipc_abort *)a)->set) != 0;
}

void nipc_abort_free(nipc_abort_t *a)
{
    if (!a)
        return;
    CloseHandle(a->event);
    free(a);
}

void *nipc__abort_handle(const nipc_abort_t *a)
{
    return a ? a->event : NULL;
}
