/*
 * UDS SEQPACKET baseline transport (POSIX): endpoint path, listen with
 * stale-socket recovery, accept, connect, and packet I/O with deadlines and
 * an abort fd. One SEQPACKET record is one protocol packet.
 *
 * This file moves packets; it does not frame, chunk, handshake or track
 * message ids (transport/session.c does, for every platform).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/internal.h"
#include "platform/abort_internal.h"
#include "platform/platform.h"
#include "transport/transport_internal.h"

/* Default packet size when SO_SNDBUF cannot be read. */
#define UDS_FALLBACK_PACKET 65536u

/*
 * Waiting for the peer costs one system call in the common case: sockets
 * stay blocking with a short kernel timeout (SO_RCVTIMEO / SO_SNDTIMEO), so
 * an answer or room that comes within SHORT_WAIT_MS is taken by the same
 * recvmsg()/sendmsg() that asked for it, as with a plain blocking socket.
 * Only when that short wait expires does poll() watch the socket and the
 * abort fd together for the rest of the deadline. An abort therefore wakes
 * a blocked call within SHORT_WAIT_MS (plus the kernel's timer tick).
 */
#define SHORT_WAIT_MS 2u

struct nipc__conn {
    int fd;
};

struct nipc_listener {
    int fd;
    int wake_rd, wake_wr; /* self-pipe: nipc_listener_wake() */
    char *run_dir;
    char *service;
    char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
    const uint32_t *allowed_uids; /* copied */
    uint32_t allowed_uid_count;
};

/* ------------------------------------------------------------------ paths */

static nipc_error_t socket_path(const char *run_dir, const char *service, struct sockaddr_un *sa,
                                socklen_t *salen)
{
    if (!run_dir || !*run_dir)
        return NIPC_ERR_INVALID_ARGUMENT;
    if (!nipc_service_name_valid(service))
        return NIPC_ERR_BAD_SERVICE_NAME;
    memset(sa, 0, sizeof *sa);
    sa->sun_family = AF_UNIX;
    int n = snprintf(sa->sun_path, sizeof sa->sun_path, "%s/%s.sock", run_dir, service);
    if (n < 0 || (size_t)n >= sizeof sa->sun_path)
        return NIPC_ERR_PATH_TOO_LONG;
    *salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + (size_t)n + 1);
    return NIPC_OK;
}

/* ------------------------------------------------------------ connections */

static nipc__conn_t *conn_wrap(int fd)
{
    nipc__conn_t *c = malloc(sizeof *c);
    if (!c) {
        close(fd);
        return NULL;
    }
    c->fd = fd;
    /* Blocking, with the short kernel timeouts described at the top. */
    int fl = fcntl(fd, F_GETFL);
    if (fl >= 0 && (fl & O_NONBLOCK))
        fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
    struct timeval tv = {.tv_sec = 0, .tv_usec = SHORT_WAIT_MS * 1000};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    return c;
}

nipc_error_t nipc__conn_connect(const char *run_dir, const char *service, nipc__conn_t **out)
{
    struct sockaddr_un sa;
    socklen_t salen;
    nipc_error_t err = socket_path(run_dir, service, &sa, &salen);
    if (err != NIPC_OK)
        return err;
    /* Non-blocking: a blocking connect() to a live listener whose backlog is
     * full sleeps until it accepts, with no deadline (Linux). conn_wrap()
     * then makes the socket blocking with the short kernel timeouts
     * described at the top. */
    int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return nipc__os_fail(NIPC_ERR_IO, errno);
    if (connect(fd, (struct sockaddr *)&sa, salen) != 0) {
        int e = errno;
        close(fd);
        /* Nobody there (or a stale file): "no provider right now". */
        if (e == ENOENT || e == ECONNREFUSED || e == ENOTDIR || e == EACCES)
            return nipc__os_fail(NIPC_ERR_NOT_FOUND, e);
        /* A live listener with a full backlog: the caller waits for room. */
        if (e == EAGAIN)
            return nipc__os_fail(NIPC_ERR_BUSY, e);
        return nipc__os_fail(NIPC_ERR_IO, e);
    }
    *out = conn_wrap(fd);
    return *out ? NIPC_OK : NIPC_ERR_NO_MEMORY;
}

const int nipc__conn_has_uids = 1;

uint32_t nipc__conn_max_packet_size(nipc__conn_t *c)
{
    return nipc__conn_auto_packet_size(c);
}

uint32_t nipc__conn_auto_packet_size(nipc__conn_t *c)
{
    int sndbuf = 0;
    socklen_t len = sizeof sndbuf;
    if (getsockopt(c->fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, &len) != 0 ||
        sndbuf <= (int)NIPC_HEADER_SIZE * 2)
        return UDS_FALLBACK_PACKET;
    /* [gap] Linux refuses SEQPACKET records above SO_SNDBUF - 32 with
     * EMSGSIZE; proposing that value keeps every packet sendable and peers
     * take the minimum, so the wire is unchanged. */
    return (uint32_t)sndbuf - NIPC_HEADER_SIZE;
}

/*
 * Waits for `events` on the socket, the abort fd and (for listeners) a wake
 * fd. Returns OK when the socket is ready, TIMEOUT, ABORTED or IO.
 */
static nipc_error_t wait_fd(int fd, short events, int extra_fd, uint64_t deadline,
                            const nipc_abort_t *abort)
{
    for (;;) {
        if (nipc_abort_is_set(abort))
            return NIPC_ERR_ABORTED;
        struct pollfd p[3];
        nfds_t n = 0;
        p[n++] = (struct pollfd){.fd = fd, .events = events};
        int abort_fd = nipc__abort_fd(abort);
        if (abort_fd >= 0)
            p[n++] = (struct pollfd){.fd = abort_fd, .events = POLLIN};
        if (extra_fd >= 0)
            p[n++] = (struct pollfd){.fd = extra_fd, .events = POLLIN};

        int timeout =
            deadline == NIPC__NO_DEADLINE ? -1 : (int)nipc__remaining_ms(deadline, 1u << 30);
        int rc = poll(p, n, timeout);
        if (rc < 0) {
            if (errno == EINTR)
                continue;
            return nipc__os_fail(NIPC_ERR_IO, errno);
        }
        if (rc == 0) {
            if (nipc__remaining_ms(deadline, 1) == 0)
                return NIPC_ERR_TIMEOUT;
            continue;
        }
        if (p[0].revents)
            return NIPC_OK; /* readiness, HUP or ERR: the I/O call reports which */
        for (nfds_t i = 1; i < n; i++) {
            if (!p[i].revents)
                continue;
            if (p[i].fd == abort_fd) {
                if (nipc_abort_is_set(abort))
                    return NIPC_ERR_ABORTED;
                /* A trigger raced a clear and left a byte behind: drain it. */
                char buf[64];
                while (read(abort_fd, buf, sizeof buf) > 0)
                    ;
            } else {
                return NIPC_ERR_TIMEOUT; /* listener woken */
            }
        }
    }
}

/* Block briefly (0) unless the deadline is nearer than the short wait. */
static int short_wait_flag(uint64_t deadline)
{
    if (deadline == NIPC__NO_DEADLINE)
        return 0;
    return nipc__remaining_ms(deadline, SHORT_WAIT_MS + 1) > SHORT_WAIT_MS ? 0 : MSG_DONTWAIT;
}

/* One sendmsg() of a whole record: the short blocking wait, then poll. */
static nipc_error_t send_record(nipc__conn_t *c, struct msghdr *mh, size_t total,
                                uint64_t deadline, const nipc_abort_t *abort)
{
    if (nipc_abort_is_set(abort))
        return NIPC_ERR_ABORTED;
    int wait = short_wait_flag(deadline);
    for (;;) {
        ssize_t n = sendmsg(c->fd, mh, MSG_NOSIGNAL | wait);
        if (n >= 0) {
            /* SEQPACKET sends whole records or nothing; a short count is a fault. */
            return (size_t)n == total ? NIPC_OK : NIPC_ERR_IO;
        }
        int e = errno;
        if (e == EINTR)
            continue;
        if (e == EAGAIN || e == EWOULDBLOCK) {
            /* The short wait expired: watch the deadline and the abort too. */
            nipc_error_t err = wait_fd(c->fd, POLLOUT, -1, deadline, abort);
            if (err != NIPC_OK)
                return err;
            wait = MSG_DONTWAIT;
            continue;
        }
        if (e == EPIPE || e == ECONNRESET || e == ENOTCONN)
            return nipc__os_fail(NIPC_ERR_DISCONNECTED, e);
        return nipc__os_fail(NIPC_ERR_IO, e);
    }
}

/* One recvmsg() of a whole record; *got is its length (MSG_TRUNC: TOO_LARGE). */
static nipc_error_t recv_record(nipc__conn_t *c, struct msghdr *mh, size_t *got,
                                uint64_t deadline, const nipc_abort_t *abort)
{
    if (nipc_abort_is_set(abort))
        return NIPC_ERR_ABORTED;
    int wait = short_wait_flag(deadline);
    size_t controllen = mh->msg_controllen;
    for (;;) {
        mh->msg_flags = 0;
        mh->msg_controllen = controllen;
        ssize_t n = recvmsg(c->fd, mh, MSG_CMSG_CLOEXEC | wait);
        if (n > 0) {
            *got = (size_t)n;
            return (mh->msg_flags & MSG_TRUNC) ? NIPC_ERR_TOO_LARGE : NIPC_OK;
        }
        if (n == 0) {
            /* SEQPACKET: 0 is EOF (zero-length records are never sent by peers). */
            return NIPC_ERR_DISCONNECTED;
        }
        int e = errno;
        if (e == EINTR)
            continue;
        if (e == EAGAIN || e == EWOULDBLOCK) {
            /* The short wait expired: watch the deadline and the abort too. */
            nipc_error_t err = wait_fd(c->fd, POLLIN, -1, deadline, abort);
            if (err != NIPC_OK)
                return err;
            wait = MSG_DONTWAIT;
            continue;
        }
        if (e == ECONNRESET || e == ENOTCONN || e == EPIPE)
            return nipc__os_fail(NIPC_ERR_DISCONNECTED, e);
        return nipc__os_fail(NIPC_ERR_IO, e);
    }
}

nipc_error_t nipc__conn_send(nipc__conn_t *c, const void *a, size_t alen, const void *b,
                             size_t blen, uint64_t deadline, const nipc_abort_t *abort)
{
    struct iovec iov[2] = {{(void *)a, alen}, {(void *)b, blen}};
    struct msghdr mh = {.msg_iov = iov, .msg_iovlen = blen ? 2 : 1};
    return send_record(c, &mh, alen + blen, deadline, abort);
}

nipc_error_t nipc__conn_recv(nipc__conn_t *c, void *a, size_t alen, void *b, size_t blen,
                             size_t *got, int first, uint64_t deadline, const nipc_abort_t *abort)
{
    (void)first; /* the short blocking wait serves first packets and continuations alike */
    struct iovec iov[2] = {{a, alen}, {b, blen}};
    struct msghdr mh = {.msg_iov = iov, .msg_iovlen = blen ? 2 : 1};
    return recv_record(c, &mh, got, deadline, abort);
}

/* Room for one descriptor's control message, aligned as cmsg requires. */
typedef union fd_control {
    char buf[CMSG_SPACE(sizeof(int))];
    struct cmsghdr align;
} fd_control_t;

nipc_error_t nipc__conn_skip_rest(nipc__conn_t *c, uint64_t deadline)
{
    (void)c;
    (void)deadline;
    return NIPC_OK; /* recvmsg() dropped the rest of a truncated packet */
}

nipc_error_t nipc__conn_send_fd(nipc__conn_t *c, const void *buf, size_t len, int fd,
                                uint64_t deadline)
{
    struct iovec iov = {(void *)buf, len};
    fd_control_t ctl;
    memset(&ctl, 0, sizeof ctl);
    struct msghdr mh = {.msg_iov = &iov,
                        .msg_iovlen = 1,
                        .msg_control = ctl.buf,
                        .msg_controllen = sizeof ctl.buf};
    struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
    cm->cmsg_level = SOL_SOCKET;
    cm->cmsg_type = SCM_RIGHTS;
    cm->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(cm), &fd, sizeof fd);
    return send_record(c, &mh, len, deadline, NULL);
}

void nipc__close_fd(int fd)
{
    close(fd);
}

/* Closes every descriptor a control buffer carries. */
static void close_passed_fds(struct msghdr *mh)
{
    for (struct cmsghdr *cm = CMSG_FIRSTHDR(mh); cm; cm = CMSG_NXTHDR(mh, cm)) {
        if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
            continue;
        size_t n = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (size_t i = 0; i < n; i++) {
            int fd;
            memcpy(&fd, CMSG_DATA(cm) + i * sizeof(int), sizeof fd);
            close(fd);
        }
    }
}

nipc_error_t nipc__conn_recv_fd(nipc__conn_t *c, void *buf, size_t cap, size_t *got, int *fd,
                                uint64_t deadline)
{
    struct iovec iov = {buf, cap};
    fd_control_t ctl;
    struct msghdr mh = {.msg_iov = &iov,
                        .msg_iovlen = 1,
                        .msg_control = ctl.buf,
                        .msg_controllen = sizeof ctl.buf};
    *fd = -1;
    nipc_error_t err = recv_record(c, &mh, got, deadline, NULL);
    if (err != NIPC_OK && err != NIPC_ERR_TOO_LARGE)
        return err;
    struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
    /* Exactly one descriptor, whole; anything else a peer sent is closed
     * (descriptors beyond our buffer were already closed by the kernel). */
    if (cm && !(mh.msg_flags & MSG_CTRUNC) && cm->cmsg_level == SOL_SOCKET &&
        cm->cmsg_type == SCM_RIGHTS && cm->cmsg_len == CMSG_LEN(sizeof(int)) &&
        !CMSG_NXTHDR(&mh, cm))
        memcpy(fd, CMSG_DATA(cm), sizeof *fd);
    else if (cm)
        close_passed_fds(&mh);
    return err;
}

nipc_error_t nipc__conn_reserve(nipc__conn_t *c, size_t max_packet)
{
    /* sendmsg/recvmsg gather and scatter: no buffer needed. */
    (void)c;
    (void)max_packet;
    return NIPC_OK;
}

int nipc__conn_peer_gone(nipc__conn_t *c)
{
    struct pollfd p = {.fd = c->fd, .events = POLLIN | POLLRDHUP};
    if (poll(&p, 1, 0) < 0)
        return 0;
    if (p.revents & (POLLHUP | POLLERR | POLLRDHUP | POLLNVAL))
        return 1;
    if (p.revents & POLLIN) {
        /* Data (a peer breaking the SHM protocol) or EOF: peek to tell. */
        char byte;
        ssize_t n = recv(c->fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
            return 1;
    }
    return 0;
}

uint32_t nipc__conn_peer_pid(nipc__conn_t *c)
{
    struct ucred cred;
    socklen_t len = sizeof cred;
    if (getsockopt(c->fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0 || cred.pid <= 0)
        return 0;
    return (uint32_t)cred.pid;
}

/* Whoever can write into the run dir can put a socket or region of theirs there. */
static int writable_by_others(const struct stat *st)
{
    return (st->st_mode & (S_IWGRP | S_IWOTH)) != 0;
}

static int uid_listed(uint32_t uid, const uint32_t *list, uint32_t count)
{
    for (uint32_t i = 0; i < count; i++)
        if (list[i] == uid)
            return 1;
    return 0;
}

nipc_error_t nipc__conn_verify_server(nipc__conn_t *c, const char *run_dir,
                                      const uint32_t *allowed, uint32_t count,
                                      int64_t *server_uid)
{
    struct stat st;
    if (stat(run_dir, &st) != 0)
        return nipc__os_fail(NIPC_ERR_NOT_FOUND, errno);
    if (writable_by_others(&st))
        return nipc__os_fail(NIPC_ERR_INSECURE_DIR, EPERM);
    struct ucred cred;
    socklen_t len = sizeof cred;
    if (getsockopt(c->fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0)
        return nipc__os_fail(NIPC_ERR_IO, errno);
    uint32_t uid = (uint32_t)cred.uid;
    /* By default: the owner of the run dir (the provider's user), root, or
     * ourselves (a process of our own user could do anything to us anyway). */
    int ok = count ? uid_listed(uid, allowed, count)
                   : uid == (uint32_t)st.st_uid || uid == 0 || uid == (uint32_t)geteuid();
    if (!ok)
        return nipc__os_fail(NIPC_ERR_PEER_REJECTED, EPERM);
    *server_uid = uid;
    return NIPC_OK;
}

void nipc__conn_close(nipc__conn_t *c)
{
    if (!c)
        return;
    close(c->fd);
    free(c);
}

/* --------------------------------------------------------------- listener */

static nipc_error_t check_run_dir(const char *run_dir)
{
    struct stat st;
    if (stat(run_dir, &st) != 0)
        return nipc__os_fail(errno == ENOENT ? NIPC_ERR_NOT_FOUND : NIPC_ERR_IO, errno);
    if (!S_ISDIR(st.st_mode))
        return nipc__os_fail(NIPC_ERR_NOT_FOUND, ENOTDIR);
    /* Anyone who can write the run dir can replace our socket or SHM files. */
    if (st.st_uid != geteuid() || writable_by_others(&st))
        return nipc__os_fail(NIPC_ERR_INSECURE_DIR, EPERM);
    return NIPC_OK;
}

/*
 * Binds the listening socket so its file is 0600, without touching the
 * process umask (another thread of the host may be creating files). Linux
 * creates the file with the socket inode's mode minus the umask, so a
 * fchmod() of the socket before bind() sets it; the umask can then only
 * remove bits, never add any, and a chmod() after bind() restores 0600 if
 * it did (a too strict mode for a moment, never a too open one). Where
 * fchmod() of a socket is refused (not Linux), bind() uses the umask and
 * the chmod() follows at once.
 */
static nipc_error_t bind_private(int fd, const struct sockaddr_un *sa, socklen_t salen)
{
    (void)fchmod(fd, 0600);
    if (bind(fd, (const struct sockaddr *)sa, salen) != 0) {
        /* Another server won the race between our probe and bind. */
        int e = errno;
        return nipc__os_fail(e == EADDRINUSE ? NIPC_ERR_ADDRESS_IN_USE : NIPC_ERR_IO, e);
    }
    struct stat st;
    if (lstat(sa->sun_path, &st) == 0 && (st.st_mode & 07777) == 0600)
        return NIPC_OK;
    if (chmod(sa->sun_path, 0600) == 0)
        return NIPC_OK;
    int e = errno;
    unlink(sa->sun_path);
    return nipc__os_fail(NIPC_ERR_IO, e);
}

/*
 * Stale endpoint recovery, upstream order: a live owner keeps the path
 * (ADDRESS_IN_USE); nothing there is fine; anything else that does not
 * answer (dead socket, regular file, directory) is removed.
 */
static nipc_error_t reclaim_path(const struct sockaddr_un *sa, socklen_t salen)
{
    /* Non-blocking, or a live listener with a full backlog would block this
     * connect() (and so listener creation) until it accepts. */
    int probe = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (probe < 0) /* fd exhaustion: never delete what we could not probe */
        return nipc__os_fail(NIPC_ERR_ADDRESS_IN_USE, errno);
    int rc = connect(probe, (const struct sockaddr *)sa, salen);
    int e = errno;
    close(probe);
    if (rc == 0)
        return NIPC_ERR_ADDRESS_IN_USE;
    if (e == ENOENT)
        return NIPC_OK;
    /* A live listener with a full backlog, or a live socket of another type
     * (some other program's stream socket): someone owns the path. */
    if (e == EAGAIN || e == EPROTOTYPE)
        return nipc__os_fail(NIPC_ERR_ADDRESS_IN_USE, e);
    if (unlink(sa->sun_path) == 0)
        return NIPC_OK;
    if (errno == EISDIR || errno == EPERM) {
        if (rmdir(sa->sun_path) == 0)
            return NIPC_OK;
    }
    if (errno == ENOENT)
        return NIPC_OK;
    return nipc__os_fail(NIPC_ERR_ADDRESS_IN_USE, errno);
}

nipc_error_t nipc_listener_create(const char *run_dir, const char *service,
                                  const nipc_transport_config_t *config, nipc_listener_t **out)
{
    struct sockaddr_un sa;
    socklen_t salen;
    nipc_error_t err = socket_path(run_dir, service, &sa, &salen);
    if (err != NIPC_OK)
        return err;
    err = nipc__check_allow_list(config);
    if (err == NIPC_OK)
        err = check_run_dir(run_dir);
    if (err != NIPC_OK)
        return err;

    struct nipc_listener *l = calloc(1, sizeof *l);
    if (!l)
        return NIPC_ERR_NO_MEMORY;
    l->fd = l->wake_rd = l->wake_wr = -1;
    l->run_dir = strdup(run_dir);
    l->service = strdup(service);
    uint32_t nuid = config ? config->allowed_uid_count : 0;
    if (nuid) {
        uint32_t *uids = malloc(nuid * sizeof *uids);
        if (uids)
            memcpy(uids, config->allowed_uids, nuid * sizeof *uids);
        l->allowed_uids = uids;
        l->allowed_uid_count = nuid;
    }
    int fds[2];
    if (!l->run_dir || !l->service || (nuid && !l->allowed_uids)) {
        err = NIPC_ERR_NO_MEMORY;
        goto fail;
    }
    if (pipe2(fds, O_NONBLOCK | O_CLOEXEC) != 0) {
        err = nipc__os_fail(NIPC_ERR_IO, errno);
        goto fail;
    }
    l->wake_rd = fds[0];
    l->wake_wr = fds[1];

    err = reclaim_path(&sa, salen);
    if (err != NIPC_OK)
        goto fail;

    l->fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (l->fd < 0) {
        err = nipc__os_fail(NIPC_ERR_IO, errno);
        goto fail;
    }
    err = bind_private(l->fd, &sa, salen);
    if (err != NIPC_OK)
        goto fail;
    memcpy(l->path, sa.sun_path, sizeof l->path);
    int backlog = config && config->backlog > 0 ? config->backlog : NIPC_BACKLOG_DEFAULT;
    if (listen(l->fd, backlog) != 0) {
        err = nipc__os_fail(NIPC_ERR_IO, errno);
        unlink(l->path);
        l->path[0] = 0;
        goto fail;
    }
    /* Dead sessions of an earlier server may have left regions behind. */
    nipc_shm_cleanup_stale(run_dir, service, NULL);
    *out = l;
    return NIPC_OK;

fail:
    l->path[0] = 0;
    nipc_listener_free(l);
    return err;
}

static int uid_allowed(const nipc_listener_t *l, int fd)
{
    if (!l->allowed_uid_count)
        return 1;
    struct ucred cred;
    socklen_t len = sizeof cred;
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0)
        return 0;
    return uid_listed((uint32_t)cred.uid, l->allowed_uids, l->allowed_uid_count);
}

nipc_error_t nipc_listener_accept(nipc_listener_t *l, uint32_t timeout_ms, nipc_pending_t **out)
{
    uint64_t deadline = nipc__now_ms() + timeout_ms;
    for (;;) {
        int fd = accept4(l->fd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0) {
            int e = errno;
            if (e == EINTR || e == ECONNABORTED)
                continue;
            if (e != EAGAIN && e != EWOULDBLOCK) /* EMFILE and friends: caller backs off */
                return nipc__os_fail(NIPC_ERR_IO, e);
            if (timeout_ms == 0 || nipc__now_ms() >= deadline)
                return NIPC_ERR_TIMEOUT;
            nipc_error_t err = wait_fd(l->fd, POLLIN, l->wake_rd, deadline, NULL);
            if (err == NIPC_ERR_TIMEOUT) {
                char buf[64];
                while (read(l->wake_rd, buf, sizeof buf) > 0)
                    ;
                return NIPC_ERR_TIMEOUT;
            }
            if (err != NIPC_OK)
                return err;
            continue;
        }
        if (!uid_allowed(l, fd)) {
            close(fd);
            return NIPC_ERR_PEER_REJECTED;
        }
        return nipc__pending_create(conn_wrap(fd), l->run_dir, l->service, out);
    }
}

void nipc_listener_wake(nipc_listener_t *l)
{
    char c = 1;
    ssize_t n = write(l->wake_wr, &c, 1);
    (void)n;
}

void nipc_listener_free(nipc_listener_t *l)
{
    if (!l)
        return;
    if (l->fd >= 0)
        close(l->fd);
    if (l->path[0])
        unlink(l->path);
    if (l->wake_rd >= 0)
        close(l->wake_rd);
    if (l->wake_wr >= 0)
        close(l->wake_wr);
    free(l->run_dir);
    free(l->service);
    free((void *)l->allowed_uids);
    free(l);
}
