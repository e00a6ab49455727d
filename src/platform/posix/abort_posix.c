/*
 * Abort object on POSIX: an atomic flag for cheap checks plus a
 * non-blocking pipe whose read end becomes readable while the flag is set,
 * so poll() on a socket and the pipe wakes up at once.
 */
#include "netipc/transport.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

#include "common/internal.h"
#include "platform/abort_internal.h"

struct nipc_abort {
    atomic_int set;
    int rfd, wfd;
};

nipc_error_t nipc_abort_create(nipc_abort_t **out)
{
    struct nipc_abort *a = malloc(sizeof *a);
    if (!a)
        return NIPC_ERR_NO_MEMORY;
    int fds[2];
    if (pipe2(fds, O_NONBLOCK | O_CLOEXEC) != 0) {
        int e = errno;
        free(a);
        return nipc__os_fail(NIPC_ERR_IO, e);
    }
    atomic_init(&a->set, 0);
    a->rfd = fds[0];
    a->wfd = fds[1];
    *out = a;
    return NIPC_OK;
}

void nipc_abort_trigger(nipc_abort_t *a)
{
    if (atomic_exchange(&a->set, 1) == 0) {
        char c = 1;
        /* Non-blocking; a full pipe is already readable, which is all we need. */
        ssize_t n = write(a->wfd, &c, 1);
        (void)n;
    }
}

void nipc_abort_clear(nipc_abort_t *a)
{
    if (atomic_exchange(&a->set, 0) == 1) {
        char buf[64];
        while (read(a->rfd, buf, sizeof buf) > 0)
            ;
    }
}

bool nipc_abort_is_set(const nipc_abort_t *a)
{
    return a && atomic_load(&((struct nipc_abort *)a)->set) != 0;
}

void nipc_abort_free(nipc_abort_t *a)
{
    if (!a)
        return;
    close(a->rfd);
    close(a->wfd);
    free(a);
}

int nipc__abort_fd(const nipc_abort_t *a)
{
    return a ? a->rfd : -1;
}
