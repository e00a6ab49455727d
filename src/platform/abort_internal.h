/* Native wait object behind an nipc_abort_t (POSIX: readable fd; Windows: event HANDLE). */
#ifndef NETIPC_PLATFORM_ABORT_INTERNAL_H
#define NETIPC_PLATFORM_ABORT_INTERNAL_H

#include "netipc/transport.h"

#ifdef _WIN32
void *nipc__abort_handle(const nipc_abort_t *a); /* NULL when a is NULL */
#else
int nipc__abort_fd(const nipc_abort_t *a); /* -1 when a is NULL */
#endif

#endif
