/*
 * SIGBUS guard for file-backed SHM regions (shm_guard.c). Internal.
 */
#ifndef NETIPC_SHM_GUARD_H
#define NETIPC_SHM_GUARD_H

#include <stddef.h>

#include "netipc/transport.h"

/*
 * Registers the mapping [base, base + size) and installs the process's
 * SIGBUS handler on first use. Returns the slot, or -1 when no slot is
 * free or the handler could not be installed (the caller must then not use
 * the region).
 */
int nipc__shm_guard_add(void *base, size_t size);

/* Forgets a slot (before the region is unmapped); -1 is ignored. */
void nipc__shm_guard_remove(int slot);

/* 1 once a fault in the slot's region was repaired with zero pages. */
int nipc__shm_guard_tripped(int slot);

#endif
