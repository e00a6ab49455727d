/*
 * Named Pipe baseline transport (Windows): pipe naming, listener instances,
 * accept, connect, and packet I/O with deadlines and an abort event. One
 * pipe message is one protocol packet: one WriteFile sends it, one ReadFile
 * receives it.
 *
 * Waiting. Upstream opens its pipes for synchronous I/O and polls
 * PeekNamedPipe for readability; a synchronous WriteFile to a peer that
 * stops reading then blocks without bound, and a poll loop adds latency.
 * This file opens every pipe handle with FILE_FLAG_OVERLAPPED instead and
 * waits with WaitForMultipleObjects on the I/O event and the abort event,
 * bounded by the deadline; on timeout or abort the operation is cancelled
 * (CancelIoEx) and its completion collected, so a packet that arrived in
 * that instant is still returned. Overlapped-ness is a property of our
 * handle only: the bytes on the pipe are the same, so peers see no
 * difference.
 *
 * Listening. The listener keeps `backlog` instances (default 16) each with
 * an overlapped ConnectNamedPipe, and waits on their events plus a wake
 * event: the Windows form of a listen backlog, and a wake-up that replaces
 * upstream's loopback connect. Upstream keeps one listening instance and
 * its clients give up at once on ERROR_PIPE_BUSY; ours report BUSY, which
 * the session layer retries within the handshake deadline, as for a full
 * UDS backlog. Instance flags are upstream's, plus
 * PIPE_REJECT_REMOTE_CLIENTS; clients open with SECURITY_IDENTIFICATION so
 * the server cannot impersonate them.
 *
 * Closing. A server session is closed with CloseHandle alone. Data the
 * server wrote stays readable by the client after the server's handle is
 * gone (the client then reads ERROR_BROKEN_PIPE), which is what upstream
 * gets from FlushFileBuffers + DisconnectNamedPipe, without the flush that
 * blocks forever on a client that stops reading and without the disconnect
 * that discards unread data (windows.md [gap]: rejection ACKs were lost).
 *
 * This file moves packets; framing, chunking, the handshake and message-id
 * tracking live in transport/session.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <windows.h>

#include "common/internal.h"
#include "platform/abort_internal.h"
#include "platform/platform.h"
#include "transport/transport_internal.h"
#include "transport/windows/win_names.h"

/* Packet size proposed when the configuration says "automatic". */
#define PIPE_AUTO_PACKET 65536u
/* Pipe buffers are never smaller than this (upstream: max(packet, 65536)). */
#define PIPE_MIN_BUFFER 65536u
/* Listening instances at most: WaitForMultipleObjects takes 64 handles,
 * one of them the wake event. */
#define PIPE_BACKLOG_MAX 63

struct nipc__conn {
    HANDLE pipe;
    HANDLE io_event; /* manual reset; one operation at a time per connection */
    /* Gather/scatter buffer for packets sent or received in two parts,
     * sized once by nipc__conn_reserve(). */
    uint8_t *buf;
    size_t buf_cap;
    /* A packet was left half-read (TOO_LARGE): message boundaries are lost. */
    int desync;
};

/* One listening instance with its pending ConnectNamedPipe. */
struct pipe_slot {
    HANDLE instance; /* NULL when it must be created again */
    HANDLE event;    /* manual reset: completion of ConnectNamedPipe */
    OVERLAPPED ov;
    int pending;
};

/*
 * The listener keeps `backlog` instances listening, the Windows form of a
 * listen backlog: a burst of clients finds free instances instead of
 * ERROR_PIPE_BUSY. Upstream keeps one.
 */
struct nipc_listener {
    wchar_t name[NIPC__PIPE_NAME_MAX + 1];
    HANDLE wake_event; /* auto reset: nipc_listener_wake() */
    DWORD buffer_size;
    uint32_t nslots, next;
    struct pipe_slot slots[PIPE_BACKLOG_MAX];
    char *run_dir;
    char *service;
};

/* ------------------------------------------------------------------ names */

uint64_t nipc__fnv1a64(const void *data, size_t len)
{
    const uint8_t *p = data;
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= 0x00000100000001b3ull;
    }
    return h;
}

void nipc__win_widen(const char *in, wchar_t *out)
{
    while ((*out++ = (wchar_t)(unsigned char)*in++) != 0)
        ;
}

nipc_error_t nipc__win_pipe_name(const char *run_dir, const char *service, char *out, size_t cap)
{
    if (!run_dir || !*run_dir)
        return NIPC_ERR_INVALID_ARGUMENT;
    if (!nipc_service_name_valid(service))
        return NIPC_ERR_BAD_SERVICE_NAME;
    uint64_t h = nipc__fnv1a64(run_dir, strlen(run_dir));
    int n = snprintf(out, cap, "\\\\.\\pipe\\netipc-%016llx-%s", (unsigned long long)h, service);
    if (n < 0 || (size_t)n >= cap || (size_t)n > NIPC__PIPE_NAME_MAX)
        return NIPC_ERR_PATH_TOO_LONG;
    return NIPC_OK;
}

static nipc_error_t pipe_name_w(const char *run_dir, const char *service, wchar_t *out)
{
    char name[NIPC__PIPE_NAME_MAX + 1];
    nipc_error_t err = nipc__win_pipe_name(run_dir, service, name, sizeof name);
    if (err == NIPC_OK)
        nipc__win_widen(name, out);
    return err;
}

/* ------------------------------------------------------------ connections */

/* Broken pipe, no data (closing), not connected: the peer is gone. */
static int is_disconnect(DWORD e)
{
    return e == ERROR_BROKEN_PIPE || e == ERROR_NO_DATA || e == ERROR_PIPE_NOT_CONNECTED;
}

static nipc_error_t pipe_fail(DWORD e)
{
    return nipc__os_fail(is_disconnect(e) ? NIPC_ERR_DISCONNECTED : NIPC_ERR_IO, (int)e);
}

static nipc__conn_t *conn_wrap(HANDLE pipe)
{
    nipc__conn_t *c = calloc(1, sizeof *c);
    HANDLE ev = c ? CreateEventW(NULL, TRUE, FALSE, NULL) : NULL;
    if (!ev) {
        free(c);
        CloseHandle(pipe);
        return NULL;
    }
    c->pipe = pipe;
    c->io_event = ev;
    return c;
}

nipc_error_t nipc__conn_connect(const char *run_dir, const char *service, nipc__conn_t **out)
{
    wchar_t name[NIPC__PIPE_NAME_MAX + 1];
    nipc_error_t err = pipe_name_w(run_dir, service, name);
    if (err != NIPC_OK)
        return err;
    /* SECURITY_IDENTIFICATION: the server may learn who we are but never
     * act as us (the default level would allow impersonation). */
    HANDLE h = CreateFileW(name, GENERIC_READ | GENERIC_WRITE, 0, NULL, OPEN_EXISTING,
                           FILE_FLAG_OVERLAPPED | SECURITY_SQOS_PRESENT | SECURITY_IDENTIFICATION,
                           NULL);
    if (h == INVALID_HANDLE_VALUE) {
        DWORD e = GetLastError();
        /* Every instance of a live server is taken: like a full listen
         * backlog, the session layer retries within its handshake deadline
         * (upstream gives up at once). */
        if (e == ERROR_PIPE_BUSY)
            return nipc__os_fail(NIPC_ERR_BUSY, (int)e);
        /* Absent or not ours to open: "no provider right now". */
        return nipc__os_fail(NIPC_ERR_NOT_FOUND, (int)e);
    }
    DWORD mode = PIPE_READMODE_MESSAGE;
    if (!SetNamedPipeHandleState(h, &mode, NULL, NULL)) {
        DWORD e = GetLastError();
        CloseHandle(h);
        return nipc__os_fail(NIPC_ERR_NOT_FOUND, (int)e);
    }
    *out = conn_wrap(h);
    return *out ? NIPC_OK : NIPC_ERR_NO_MEMORY;
}

uint32_t nipc__conn_auto_packet_size(nipc__conn_t *c)
{
    (void)c;
    return PIPE_AUTO_PACKET;
}

const int nipc__conn_has_uids = 0;

/* Descriptor passing serves only the sealed Linux profile, never offered here. */
nipc_error_t nipc__conn_send_fd(nipc__conn_t *c, const void *buf, size_t len, int fd,
                                uint64_t deadline)
{
    (void)c, (void)buf, (void)len, (void)fd, (void)deadline;
    return NIPC_ERR_PLATFORM;
}

void nipc__close_fd(int fd)
{
    (void)fd; /* never received here */
}

nipc_error_t nipc__conn_recv_fd(nipc__conn_t *c, void *buf, size_t cap, size_t *got, int *fd,
                                uint64_t deadline)
{
    (void)c, (void)buf, (void)cap, (void)got, (void)deadline;
    *fd = -1;
    return NIPC_ERR_PLATFORM;
}

uint32_t nipc__conn_max_packet_size(nipc__conn_t *c)
{
    (void)c;
    return UINT32_MAX; /* message-mode pipes take messages beyond their buffer */
}

nipc_error_t nipc__conn_verify_server(nipc__conn_t *c, const char *run_dir,
                                      const uint32_t *allowed, uint32_t count,
                                      int64_t *server_uid)
{
    /* Pipe names carry no directory, and an allow-list was refused when
     * the configuration was checked (nipc__check_allow_list()). */
    (void)c;
    (void)run_dir;
    (void)allowed;
    (void)count;
    *server_uid = -1;
    return NIPC_OK;
}

nipc_error_t nipc__conn_reserve(nipc__conn_t *c, size_t max_packet)
{
    if (max_packet <= c->buf_cap)
        return NIPC_OK;
    uint8_t *b = realloc(c->buf, max_packet);
    if (!b)
        return NIPC_ERR_NO_MEMORY;
    c->buf = b;
    c->buf_cap = max_packet;
    return NIPC_OK;
}

/* Result of a completed overlapped operation; ERROR_MORE_DATA = TOO_LARGE. */
static nipc_error_t io_result(nipc__conn_t *c, OVERLAPPED *ov, DWORD *n)
{
    if (GetOverlappedResult(c->pipe, ov, n, FALSE))
        return NIPC_OK;
    DWORD e = GetLastError();
    if (e == ERROR_MORE_DATA)
        return NIPC_ERR_TOO_LARGE;
    return pipe_fail(e);
}

/*
 * Cancels a pending operation and collects it: the OVERLAPPED and the
 * buffer must not be released while the kernel may still write them. An
 * operation that completed before the cancel landed is reported as such.
 */
static nipc_error_t io_cancel(nipc__conn_t *c, OVERLAPPED *ov, DWORD *n, nipc_error_t why)
{
    CancelIoEx(c->pipe, ov);
    *n = 0;
    if (GetOverlappedResult(c->pipe, ov, n, TRUE))
        return NIPC_OK;
    DWORD e = GetLastError();
    if (e == ERROR_MORE_DATA)
        return NIPC_ERR_TOO_LARGE;
    if (e == ERROR_OPERATION_ABORTED)
        /* A write the reader had started consuming cannot be taken back. */
        return *n == 0 ? why : nipc__os_fail(NIPC_ERR_IO, (int)e);
    return pipe_fail(e);
}

/* Waits for a pending operation until it completes, the deadline passes or
 * the abort object is triggered. */
static nipc_error_t io_wait(nipc__conn_t *c, OVERLAPPED *ov, DWORD *n, uint64_t deadline,
                            const nipc_abort_t *abort)
{
    HANDLE hs[2] = {c->io_event, (HANDLE)nipc__abort_handle(abort)};
    DWORD nh = hs[1] ? 2 : 1;
    for (;;) {
        DWORD ms = deadline == NIPC__NO_DEADLINE ? INFINITE
                                                 : nipc__remaining_ms(deadline, 0x7fffffffu);
        DWORD r = WaitForMultipleObjects(nh, hs, FALSE, ms);
        if (r == WAIT_OBJECT_0)
            return io_result(c, ov, n);
        if (r == WAIT_OBJECT_0 + 1) {
            /* The event is signalled only while the flag is set (see
             * abort_windows.c); a clear that raced us also reset it. */
            if (nipc_abort_is_set(abort))
                return io_cancel(c, ov, n, NIPC_ERR_ABORTED);
            continue;
        }
        if (r == WAIT_TIMEOUT) {
            if (nipc__remaining_ms(deadline, 1) == 0)
                return io_cancel(c, ov, n, NIPC_ERR_TIMEOUT);
            continue;
        }
        DWORD e = GetLastError();
        io_cancel(c, ov, n, NIPC_ERR_IO);
        return nipc__os_fail(NIPC_ERR_IO, (int)e);
    }
}

/* Starts ReadFile/WriteFile (already issued: `ok`) and waits for it. */
static nipc_error_t io_finish(nipc__conn_t *c, BOOL ok, OVERLAPPED *ov, DWORD *n,
                              uint64_t deadline, const nipc_abort_t *abort)
{
    if (ok)
        return io_result(c, ov, n);
    DWORD e = GetLastError();
    if (e == ERROR_IO_PENDING)
        return io_wait(c, ov, n, deadline, abort);
    if (e == ERROR_MORE_DATA)
        return io_result(c, ov, n); /* completed at once, message longer than the buffer */
    return pipe_fail(e);
}

nipc_error_t nipc__conn_send(nipc__conn_t *c, const void *a, size_t alen, const void *b,
                             size_t blen, uint64_t deadline, const nipc_abort_t *abort)
{
    const void *pkt = a;
    size_t len = alen + blen;
    if (len == 0 || len > 0x7fffffffu || len < alen)
        return NIPC_ERR_INVALID_ARGUMENT;
    if (blen) {
        /* One message = one WriteFile: gather the parts. Sessions reserved
         * the buffer up front; other callers grow it once here. */
        if (len > c->buf_cap && nipc__conn_reserve(c, len) != NIPC_OK)
            return NIPC_ERR_NO_MEMORY;
        memcpy(c->buf, a, alen);
        memcpy(c->buf + alen, b, blen);
        pkt = c->buf;
    }
    OVERLAPPED ov;
    memset(&ov, 0, sizeof ov);
    ov.hEvent = c->io_event;
    DWORD n = 0;
    BOOL ok = WriteFile(c->pipe, pkt, (DWORD)len, NULL, &ov);
    nipc_error_t err = io_finish(c, ok, &ov, &n, deadline, abort);
    if (err == NIPC_OK && n != len)
        return NIPC_ERR_IO; /* message pipes write whole messages; a short one is a fault */
    return err;
}

nipc_error_t nipc__conn_skip_rest(nipc__conn_t *c, uint64_t deadline)
{
    uint8_t scratch[512];
    while (c->desync) {
        OVERLAPPED ov;
        memset(&ov, 0, sizeof ov);
        ov.hEvent = c->io_event;
        DWORD n = 0;
        BOOL ok = ReadFile(c->pipe, scratch, (DWORD)sizeof scratch, NULL, &ov);
        nipc_error_t err = io_finish(c, ok, &ov, &n, deadline, NULL);
        if (err == NIPC_OK)
            c->desync = 0; /* that was the message's last piece */
        else if (err != NIPC_ERR_TOO_LARGE)
            return err;
    }
    return NIPC_OK;
}

nipc_error_t nipc__conn_recv(nipc__conn_t *c, void *a, size_t alen, void *b, size_t blen,
                             size_t *got, int first, uint64_t deadline, const nipc_abort_t *abort)
{
    if (c->desync)
        return NIPC_ERR_IO;
    uint8_t *dst = a;
    size_t cap = alen;
    if (blen) {
        /* One message = one ReadFile: read whole, then scatter. */
        if (alen + blen > c->buf_cap && nipc__conn_reserve(c, alen + blen) != NIPC_OK)
            return NIPC_ERR_NO_MEMORY;
        dst = c->buf;
        cap = alen + blen;
    }
    if (cap > 0x7fffffffu)
        cap = 0x7fffffffu;
    /* As on POSIX, a caller about to wait sees a triggered abort first. */
    if (first && nipc_abort_is_set(abort))
        return NIPC_ERR_ABORTED;

    OVERLAPPED ov;
    memset(&ov, 0, sizeof ov);
    ov.hEvent = c->io_event;
    DWORD n = 0;
    BOOL ok = ReadFile(c->pipe, dst, (DWORD)cap, NULL, &ov);
    nipc_error_t err = io_finish(c, ok, &ov, &n, deadline, abort);
    if (err != NIPC_OK && err != NIPC_ERR_TOO_LARGE)
        return err;
    if (err == NIPC_OK && n == 0)
        return NIPC_ERR_DISCONNECTED; /* peers never send empty messages */
    if (err == NIPC_ERR_TOO_LARGE)
        c->desync = 1; /* the rest of that message is still queued */
    if (blen) {
        size_t in_a = n < alen ? n : alen;
        memcpy(a, dst, in_a);
        if (n > alen)
            memcpy(b, dst + alen, n - alen);
    }
    *got = n;
    return err;
}

uint32_t nipc__conn_peer_pid(nipc__conn_t *c)
{
    /* On a client's handle the server's id is the peer; on a server's
     * handle the server's id is our own, and the client is the peer. */
    ULONG pid = 0;
    if (GetNamedPipeServerProcessId(c->pipe, &pid) && pid != GetCurrentProcessId())
        return (uint32_t)pid;
    if (GetNamedPipeClientProcessId(c->pipe, &pid))
        return (uint32_t)pid;
    return 0;
}

int nipc__conn_peer_gone(nipc__conn_t *c)
{
    DWORD avail = 0;
    if (PeekNamedPipe(c->pipe, NULL, 0, NULL, &avail, NULL))
        return 0;
    return 1; /* broken, closing, disconnected, or the handle failed */
}

void nipc__conn_close(nipc__conn_t *c)
{
    if (!c)
        return;
    /* Client or server: CloseHandle alone (see the top of this file). */
    CloseHandle(c->pipe);
    CloseHandle(c->io_event);
    free(c->buf);
    free(c);
}

nipc_error_t nipc_shm_cleanup_stale(const char *run_dir, const char *service, uint32_t *removed)
{
    /* Kernel objects die with their last handle: nothing is ever stale. */
    if (removed)
        *removed = 0;
    if (!run_dir)
        return NIPC_ERR_INVALID_ARGUMENT;
    return nipc_service_name_valid(service) ? NIPC_OK : NIPC_ERR_BAD_SERVICE_NAME;
}

/* --------------------------------------------------------------- listener */

static HANDLE create_instance(const wchar_t *name, DWORD buffer_size, int first)
{
    DWORD open_mode = PIPE_ACCESS_DUPLEX | FILE_FLAG_OVERLAPPED;
    if (first)
        open_mode |= FILE_FLAG_FIRST_PIPE_INSTANCE; /* a live server keeps its name */
    /* PIPE_REJECT_REMOTE_CLIENTS: peers share one host; SMB clients never
     * reach us. */
    DWORD pipe_mode =
        PIPE_TYPE_MESSAGE | PIPE_READMODE_MESSAGE | PIPE_WAIT | PIPE_REJECT_REMOTE_CLIENTS;
    HANDLE h = CreateNamedPipeW(name, open_mode, pipe_mode, PIPE_UNLIMITED_INSTANCES, buffer_size,
                                buffer_size, 0, NULL);
    return h == INVALID_HANDLE_VALUE ? NULL : h;
}

static void slot_close(struct pipe_slot *slot)
{
    if (slot->instance) {
        if (slot->pending) {
            /* The kernel owns slot->ov until the operation is collected. */
            DWORD n;
            CancelIoEx(slot->instance, &slot->ov);
            GetOverlappedResult(slot->instance, &slot->ov, &n, TRUE);
        }
        CloseHandle(slot->instance);
    }
    if (slot->event)
        CloseHandle(slot->event);
    slot->instance = slot->event = NULL;
    slot->pending = 0;
}

nipc_error_t nipc_listener_create(const char *run_dir, const char *service,
                                  const nipc_transport_config_t *config, nipc_listener_t **out)
{
    nipc_error_t err = nipc__check_allow_list(config);
    if (err != NIPC_OK)
        return err;
    struct nipc_listener *l = calloc(1, sizeof *l);
    if (!l)
        return NIPC_ERR_NO_MEMORY;
    err = pipe_name_w(run_dir, service, l->name);
    if (err != NIPC_OK) {
        free(l);
        return err;
    }
    uint32_t packet = config && config->packet_size ? config->packet_size : PIPE_AUTO_PACKET;
    l->buffer_size = packet > PIPE_MIN_BUFFER ? packet : PIPE_MIN_BUFFER;
    int backlog = config && config->backlog > 0 ? config->backlog : NIPC_BACKLOG_DEFAULT;
    l->nslots = backlog < PIPE_BACKLOG_MAX ? (uint32_t)backlog : PIPE_BACKLOG_MAX;
    l->run_dir = _strdup(run_dir);
    l->service = _strdup(service);
    if (!l->run_dir || !l->service) {
        nipc_listener_free(l);
        return NIPC_ERR_NO_MEMORY;
    }
    l->wake_event = CreateEventW(NULL, FALSE, FALSE, NULL);
    for (uint32_t i = 0; i < l->nslots && l->wake_event; i++) {
        l->slots[i].event = CreateEventW(NULL, TRUE, FALSE, NULL);
        if (!l->slots[i].event)
            break;
    }
    if (!l->wake_event || !l->slots[l->nslots - 1].event) {
        err = nipc__os_fail(NIPC_ERR_IO, (int)GetLastError());
        nipc_listener_free(l);
        return err;
    }
    for (uint32_t i = 0; i < l->nslots; i++) {
        /* Only the first instance claims the name. */
        l->slots[i].instance = create_instance(l->name, l->buffer_size, i == 0);
        if (l->slots[i].instance)
            continue;
        DWORD e = GetLastError();
        /* Another server holds the name (FILE_FLAG_FIRST_PIPE_INSTANCE). */
        int in_use = i == 0 && (e == ERROR_ACCESS_DENIED || e == ERROR_PIPE_BUSY);
        nipc_listener_free(l);
        return nipc__os_fail(in_use ? NIPC_ERR_ADDRESS_IN_USE : NIPC_ERR_IO, (int)e);
    }
    *out = l;
    return NIPC_OK;
}

/*
 * Makes a slot listen: re-creates its instance if needed and starts
 * ConnectNamedPipe unless one is pending. *connected = 1 when a client is
 * already there.
 */
static nipc_error_t slot_arm(nipc_listener_t *l, struct pipe_slot *slot, int *connected)
{
    *connected = 0;
    if (!slot->instance) {
        slot->instance = create_instance(l->name, l->buffer_size, 0);
        if (!slot->instance)
            return nipc__os_fail(NIPC_ERR_IO, (int)GetLastError());
    }
    while (!slot->pending) {
        memset(&slot->ov, 0, sizeof slot->ov);
        slot->ov.hEvent = slot->event;
        ResetEvent(slot->event);
        if (ConnectNamedPipe(slot->instance, &slot->ov)) {
            *connected = 1;
            return NIPC_OK;
        }
        DWORD e = GetLastError();
        if (e == ERROR_IO_PENDING) {
            slot->pending = 1;
        } else if (e == ERROR_PIPE_CONNECTED) {
            *connected = 1;
            return NIPC_OK;
        } else if (e == ERROR_NO_DATA) {
            DisconnectNamedPipe(slot->instance); /* a client came and went: recycle */
        } else {
            /* An instance in a state we do not know: replace it next time. */
            CloseHandle(slot->instance);
            slot->instance = NULL;
            return nipc__os_fail(NIPC_ERR_IO, (int)e);
        }
    }
    return NIPC_OK;
}

/*
 * Collects a completed ConnectNamedPipe. Returns 1 when a client is
 * connected, 0 when the slot must simply be armed again, -1 on error.
 */
static int slot_collect(struct pipe_slot *slot)
{
    DWORD n = 0;
    slot->pending = 0;
    if (GetOverlappedResult(slot->instance, &slot->ov, &n, FALSE))
        return 1;
    DWORD e = GetLastError();
    if (e == ERROR_PIPE_CONNECTED)
        return 1;
    /* The thread that started it exited (Windows cancels a thread's I/O
     * when it ends): start again. */
    if (e == ERROR_OPERATION_ABORTED)
        return 0;
    if (e == ERROR_NO_DATA || e == ERROR_BROKEN_PIPE) {
        DisconnectNamedPipe(slot->instance);
        return 0;
    }
    CloseHandle(slot->instance); /* replaced at the next accept */
    slot->instance = NULL;
    nipc__os_fail(NIPC_ERR_IO, (int)e);
    return -1;
}

/* Turns a connected instance into a pending connection; a fresh listening
 * instance takes its place at once (or at the next accept if that fails,
 * while the other slots keep listening). */
static nipc_error_t slot_take(nipc_listener_t *l, struct pipe_slot *slot, nipc_pending_t **out)
{
    HANDLE session = slot->instance;
    slot->instance = create_instance(l->name, l->buffer_size, 0);
    return nipc__pending_create(conn_wrap(session), l->run_dir, l->service, out);
}

nipc_error_t nipc_listener_accept(nipc_listener_t *l, uint32_t timeout_ms, nipc_pending_t **out)
{
    uint64_t deadline = nipc__now_ms() + timeout_ms;
    for (;;) {
        /* Arm every slot, starting after the one served last so that no
         * slot's client waits behind busier ones. */
        HANDLE hs[PIPE_BACKLOG_MAX + 1];
        struct pipe_slot *armed[PIPE_BACKLOG_MAX];
        DWORD n = 0;
        nipc_error_t first_err = NIPC_OK;
        for (uint32_t k = 0; k < l->nslots; k++) {
            uint32_t i = (l->next + k) % l->nslots;
            int connected = 0;
            nipc_error_t err = slot_arm(l, &l->slots[i], &connected);
            if (connected) {
                l->next = (i + 1) % l->nslots;
                return slot_take(l, &l->slots[i], out);
            }
            if (err != NIPC_OK) {
                if (first_err == NIPC_OK)
                    first_err = err; /* e.g. out of instances: the others still listen */
                continue;
            }
            armed[n] = &l->slots[i];
            hs[n++] = l->slots[i].event;
        }
        if (n == 0)
            return first_err;
        /* Connections first: a wake never hides a client that is already there. */
        hs[n] = l->wake_event;
        DWORD r = WaitForMultipleObjects(n + 1, hs, FALSE,
                                         nipc__remaining_ms(deadline, 0x7fffffffu));
        if (r < WAIT_OBJECT_0 + n) {
            struct pipe_slot *slot = armed[r - WAIT_OBJECT_0];
            int got = slot_collect(slot);
            if (got < 0)
                return NIPC_ERR_IO;
            if (got > 0) {
                l->next = (uint32_t)(slot - l->slots + 1) % l->nslots;
                return slot_take(l, slot, out);
            }
            continue;
        }
        if (r == WAIT_OBJECT_0 + n)
            /* Woken. The pending ConnectNamedPipe calls stay for the next call. */
            return NIPC_ERR_TIMEOUT;
        if (r == WAIT_TIMEOUT) {
            if (nipc__remaining_ms(deadline, 1) == 0)
                return NIPC_ERR_TIMEOUT;
            continue;
        }
        return nipc__os_fail(NIPC_ERR_IO, (int)GetLastError());
    }
}

void nipc_listener_wake(nipc_listener_t *l)
{
    SetEvent(l->wake_event);
}

void nipc_listener_free(nipc_listener_t *l)
{
    if (!l)
        return;
    for (uint32_t i = 0; i < l->nslots; i++)
        slot_close(&l->slots[i]);
    if (l->wake_event)
        CloseHandle(l->wake_event);
    free(l->run_dir);
    free(l->service);
    free(l);
}

