/*
 * Windows SHM data plane (profiles 0x02 HYBRID and 0x04 BUSYWAIT): per
 * session and profile, a page-file backed named file mapping with a
 * 128-byte header, a request area and a response area, each holding one
 * whole message; HYBRID adds two named auto-reset events. Object names
 * carry a hash of (run_dir, service, token), so only token holders can
 * derive them (win_names.h).
 *
 * Publication stores the length and increments the sequence number with
 * sequentially consistent atomics (upstream: Interlocked*, full barriers),
 * then signals the peer's event if its waiting flag is set. The consumer
 * spins `spin_tries` observations, then (HYBRID) raises its waiting flag
 * and sleeps on its event together with the abort event, in slices of at
 * most 100 ms, or (BUSYWAIT) keeps polling with yields. Every load of the
 * shared header is an atomic acquire or seq_cst load (windows.md [gap]:
 * upstream reads with plain volatile loads, which is only correct on x86).
 *
 * Kernel objects die with their last handle, so nothing is ever stale and
 * there is no cleanup scan. This file does not frame, validate messages or
 * choose profiles (transport/session.c does).
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

#define SHM_MAGIC 0x4e535748u /* "NSWH" */
#define SHM_VERSION 3u
#define SHM_HEADER_LEN 128u
#define SHM_SPIN_TRIES 1024u
/* A hostile region must not make us spin for minutes. */
#define SHM_SPIN_TRIES_MAX 65536u
#define SHM_WAIT_SLICE_MS 100u
#define SHM_MSG_MAX 0x7fffffffu

/* Header field offsets (windows.md, "Layout"). */
enum {
    OFF_MAGIC = 0,
    OFF_VERSION = 4,
    OFF_HEADER_LEN = 8,
    OFF_PROFILE = 12,
    OFF_REQ_OFFSET = 16,
    OFF_REQ_CAP = 20,
    OFF_RESP_OFFSET = 24,
    OFF_RESP_CAP = 28,
    OFF_SPIN_TRIES = 32,
    OFF_REQ_LEN = 36,
    OFF_RESP_LEN = 40,
    OFF_REQ_CLIENT_CLOSED = 44,
    OFF_REQ_SERVER_WAITING = 48,
    OFF_RESP_SERVER_CLOSED = 52,
    OFF_RESP_CLIENT_WAITING = 56,
    OFF_REQ_SEQ = 64,
    OFF_RESP_SEQ = 72,
};

const int nipc__shm_region_per_profile = 1;
const uint32_t nipc__shm_profiles = NIPC_PROFILE_SHM_HYBRID | NIPC_PROFILE_SHM_BUSYWAIT;

/* One direction of the session as seen by this side. */
struct shm_dir {
    uint8_t *area;
    uint32_t cap;
    int32_t *len;
    int64_t *seq;
};

struct nipc__shm {
    HANDLE mapping;
    uint8_t *base;
    size_t size;
    int is_server;
    uint32_t profile;
    uint32_t spin_tries;
    HANDLE req_event, resp_event; /* HYBRID only */
    uint32_t req_cap, resp_cap;

    /* Roles, so publish/consume read the same for both sides. */
    struct shm_dir out, in;
    int32_t *own_waiting;  /* raised while we sleep on own_event */
    int32_t *peer_waiting; /* the peer sleeps on peer_event */
    int32_t *own_closed, *peer_closed;
    HANDLE own_event, peer_event;
    int64_t out_local, in_local; /* messages published / consumed */
};

static inline int32_t *i32_at(uint8_t *base, size_t off)
{
    return (int32_t *)(void *)(base + off);
}
static inline int64_t *i64_at(uint8_t *base, size_t off)
{
    return (int64_t *)(void *)(base + off);
}

/* ------------------------------------------------------------------ names */

nipc_error_t nipc__win_shm_name(const char *run_dir, const char *service, uint64_t auth_token,
                                uint32_t profile, uint64_t session_id, const char *object,
                                char *out, size_t cap)
{
    if (!run_dir || !*run_dir || !object)
        return NIPC_ERR_INVALID_ARGUMENT;
    if (!nipc_service_name_valid(service))
        return NIPC_ERR_BAD_SERVICE_NAME;
    char input[NIPC__SHM_HASH_INPUT_MAX + 1];
    int n = snprintf(input, sizeof input, "%s\n%s\n%llu", run_dir, service,
                     (unsigned long long)auth_token);
    if (n < 0 || (size_t)n >= sizeof input)
        return NIPC_ERR_PATH_TOO_LONG;
    uint64_t h = nipc__fnv1a64(input, (size_t)n);
    if (h == 0)
        return NIPC_ERR_INVALID_ARGUMENT; /* upstream refuses it; never seen */
    n = snprintf(out, cap, "Local\\netipc-%016llx-%s-p%u-s%016llx-%s", (unsigned long long)h,
                 service, (unsigned)profile, (unsigned long long)session_id, object);
    if (n < 0 || (size_t)n >= cap || (size_t)n > NIPC__SHM_NAME_MAX)
        return NIPC_ERR_PATH_TOO_LONG;
    return NIPC_OK;
}

static nipc_error_t object_name(const char *run_dir, const char *service, uint64_t token,
                                uint32_t profile, uint64_t sid, const char *object, wchar_t *out)
{
    char name[NIPC__SHM_NAME_MAX + 1];
    nipc_error_t err =
        nipc__win_shm_name(run_dir, service, token, profile, sid, object, name, sizeof name);
    if (err == NIPC_OK)
        nipc__win_widen(name, out);
    return err;
}

/* --------------------------------------------------------------- objects */

static void shm_free(nipc__shm_t *s)
{
    if (s->base)
        UnmapViewOfFile(s->base);
    if (s->mapping)
        CloseHandle(s->mapping);
    if (s->req_event)
        CloseHandle(s->req_event);
    if (s->resp_event)
        CloseHandle(s->resp_event);
    free(s);
}

/* Reads the static header into the handle and assigns the two roles. */
static void bind_roles(nipc__shm_t *s)
{
    uint8_t *b = s->base;
    s->req_cap = nipc__ld32(b + OFF_REQ_CAP);
    s->resp_cap = nipc__ld32(b + OFF_RESP_CAP);
    struct shm_dir req = {b + nipc__ld32(b + OFF_REQ_OFFSET), s->req_cap, i32_at(b, OFF_REQ_LEN),
                          i64_at(b, OFF_REQ_SEQ)};
    struct shm_dir resp = {b + nipc__ld32(b + OFF_RESP_OFFSET), s->resp_cap,
                           i32_at(b, OFF_RESP_LEN), i64_at(b, OFF_RESP_SEQ)};
    int32_t *req_waiting = i32_at(b, OFF_REQ_SERVER_WAITING);
    int32_t *resp_waiting = i32_at(b, OFF_RESP_CLIENT_WAITING);
    int32_t *client_closed = i32_at(b, OFF_REQ_CLIENT_CLOSED);
    int32_t *server_closed = i32_at(b, OFF_RESP_SERVER_CLOSED);
    if (s->is_server) {
        s->out = resp;
        s->in = req;
        s->own_waiting = req_waiting;
        s->peer_waiting = resp_waiting;
        s->own_closed = server_closed;
        s->peer_closed = client_closed;
        s->own_event = s->req_event;
        s->peer_event = s->resp_event;
    } else {
        s->out = req;
        s->in = resp;
        s->own_waiting = resp_waiting;
        s->peer_waiting = req_waiting;
        s->own_closed = client_closed;
        s->peer_closed = server_closed;
        s->own_event = s->resp_event;
        s->peer_event = s->req_event;
    }
    /* Sequence counters start at the header values. */
    s->out_local = __atomic_load_n(s->out.seq, __ATOMIC_ACQUIRE);
    s->in_local = __atomic_load_n(s->in.seq, __ATOMIC_ACQUIRE);
}

/* Creates one named auto-reset event; ADDRESS_IN_USE if it exists. */
static nipc_error_t create_event(const char *run_dir, const char *service, uint64_t token,
                                 uint32_t profile, uint64_t sid, const char *object, HANDLE *out)
{
    wchar_t name[NIPC__SHM_NAME_MAX + 1];
    nipc_error_t err = object_name(run_dir, service, token, profile, sid, object, name);
    if (err != NIPC_OK)
        return err;
    HANDLE h = CreateEventW(NULL, FALSE, FALSE, name);
    if (!h)
        return nipc__os_fail(NIPC_ERR_IO, (int)GetLastError());
    if (GetLastError() == ERROR_ALREADY_EXISTS) {
        CloseHandle(h);
        return nipc__os_fail(NIPC_ERR_ADDRESS_IN_USE, ERROR_ALREADY_EXISTS);
    }
    *out = h;
    return NIPC_OK;
}

nipc_error_t nipc__shm_create(const char *run_dir, const char *service, uint64_t session_id,
                              uint32_t profile, uint64_t auth_token, uint32_t request_capacity,
                              uint32_t response_capacity, nipc__shm_t **out)
{
    if (profile != NIPC_PROFILE_SHM_HYBRID && profile != NIPC_PROFILE_SHM_BUSYWAIT)
        return NIPC_ERR_INVALID_ARGUMENT;
    if (request_capacity == 0 || response_capacity == 0 || request_capacity % 64 ||
        response_capacity % 64)
        return NIPC_ERR_INVALID_ARGUMENT;
    uint64_t req_off = nipc__align64(SHM_HEADER_LEN);
    uint64_t resp_off = nipc__align64(req_off + request_capacity);
    uint64_t size = resp_off + response_capacity;
    if (size > UINT32_MAX)
        return NIPC_ERR_SIZE_OVERFLOW;

    wchar_t name[NIPC__SHM_NAME_MAX + 1];
    nipc_error_t err =
        object_name(run_dir, service, auth_token, profile, session_id, "mapping", name);
    if (err != NIPC_OK)
        return err;
    nipc__shm_t *s = calloc(1, sizeof *s);
    if (!s)
        return NIPC_ERR_NO_MEMORY;
    s->is_server = 1;
    s->profile = profile;

    /* Page-file backed with implicit SEC_COMMIT: a commit shortage fails
     * here, never as an access fault later. */
    s->mapping = CreateFileMappingW(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, (DWORD)size,
                                    name);
    if (!s->mapping) {
        DWORD e = GetLastError();
        shm_free(s);
        return nipc__os_fail(e == ERROR_COMMITMENT_LIMIT || e == ERROR_NOT_ENOUGH_MEMORY ||
                                     e == ERROR_DISK_FULL
                                 ? NIPC_ERR_SHM_ALLOC
                                 : NIPC_ERR_IO,
                             (int)e);
    }
    if (GetLastError() == ERROR_ALREADY_EXISTS) {
        /* Someone holds this session's name: never share it. */
        shm_free(s);
        return nipc__os_fail(NIPC_ERR_ADDRESS_IN_USE, ERROR_ALREADY_EXISTS);
    }
    s->base = MapViewOfFile(s->mapping, FILE_MAP_ALL_ACCESS, 0, 0, (SIZE_T)size);
    if (!s->base) {
        DWORD e = GetLastError();
        shm_free(s);
        return nipc__os_fail(NIPC_ERR_SHM_ALLOC, (int)e);
    }
    s->size = (size_t)size;

    uint8_t *b = s->base;
    memset(b, 0, SHM_HEADER_LEN); /* fresh page-file sections are zero anyway */
    nipc__st32(b + OFF_MAGIC, SHM_MAGIC);
    nipc__st32(b + OFF_VERSION, SHM_VERSION);
    nipc__st32(b + OFF_HEADER_LEN, SHM_HEADER_LEN);
    nipc__st32(b + OFF_PROFILE, profile);
    nipc__st32(b + OFF_REQ_OFFSET, (uint32_t)req_off);
    nipc__st32(b + OFF_REQ_CAP, request_capacity);
    nipc__st32(b + OFF_RESP_OFFSET, (uint32_t)resp_off);
    nipc__st32(b + OFF_RESP_CAP, response_capacity);
    nipc__st32(b + OFF_SPIN_TRIES, SHM_SPIN_TRIES);
    __atomic_thread_fence(__ATOMIC_SEQ_CST); /* upstream: MemoryBarrier() */
    s->spin_tries = SHM_SPIN_TRIES;

    if (profile == NIPC_PROFILE_SHM_HYBRID) {
        err = create_event(run_dir, service, auth_token, profile, session_id, "req_event",
                           &s->req_event);
        if (err == NIPC_OK)
            err = create_event(run_dir, service, auth_token, profile, session_id, "resp_event",
                               &s->resp_event);
        if (err != NIPC_OK) {
            shm_free(s);
            return err;
        }
    }
    bind_roles(s);
    *out = s;
    return NIPC_OK;
}

/* ---------------------------------------------------------------- attach */

static nipc_error_t check_header(const uint8_t *b, size_t mapped, uint32_t profile)
{
    if (nipc__ld32(b + OFF_MAGIC) != SHM_MAGIC)
        return NIPC_ERR_BAD_MAGIC;
    if (nipc__ld32(b + OFF_VERSION) != SHM_VERSION)
        return NIPC_ERR_BAD_VERSION;
    if (nipc__ld32(b + OFF_HEADER_LEN) != SHM_HEADER_LEN)
        return NIPC_ERR_BAD_HEADER_LEN;
    if (nipc__ld32(b + OFF_PROFILE) != profile)
        return NIPC_ERR_SHM_BAD_PROFILE;
    uint64_t req_off = nipc__ld32(b + OFF_REQ_OFFSET), req_cap = nipc__ld32(b + OFF_REQ_CAP);
    uint64_t resp_off = nipc__ld32(b + OFF_RESP_OFFSET), resp_cap = nipc__ld32(b + OFF_RESP_CAP);
    if (req_off == 0 || req_cap == 0 || resp_off == 0 || resp_cap == 0)
        return NIPC_ERR_SHM_BAD_SIZE;
    if (req_off < SHM_HEADER_LEN || resp_off < SHM_HEADER_LEN)
        return NIPC_ERR_SHM_BAD_SIZE;
    if (req_off % 64 || req_cap % 64 || resp_off % 64 || resp_cap % 64)
        return NIPC_ERR_SHM_BAD_SIZE;
    /* 64-bit sums of u32 values cannot wrap. */
    if (resp_off < req_off + req_cap || resp_off + resp_cap > UINT32_MAX)
        return NIPC_ERR_SHM_BAD_SIZE;
    /* Beyond upstream: the areas must lie inside what we mapped. */
    if (req_off + req_cap > mapped || resp_off + resp_cap > mapped)
        return NIPC_ERR_SHM_BAD_SIZE;
    /* Receive buffers are sized from the areas: nothing absurd. */
    if (req_cap > NIPC__SHM_AREA_MAX || resp_cap > NIPC__SHM_AREA_MAX)
        return NIPC_ERR_SHM_BAD_SIZE;
    return NIPC_OK;
}

static nipc_error_t open_event(const char *run_dir, const char *service, uint64_t token,
                               uint32_t profile, uint64_t sid, const char *object, HANDLE *out)
{
    wchar_t name[NIPC__SHM_NAME_MAX + 1];
    nipc_error_t err = object_name(run_dir, service, token, profile, sid, object, name);
    if (err != NIPC_OK)
        return NIPC_ERR_SHM_BAD_SIZE;
    *out = OpenEventW(EVENT_MODIFY_STATE | SYNCHRONIZE, FALSE, name);
    return *out ? NIPC_OK : nipc__os_fail(NIPC_ERR_SHM_NOT_READY, (int)GetLastError());
}

nipc_error_t nipc__shm_attach(const char *run_dir, const char *service, uint64_t session_id,
                              uint32_t profile, uint64_t auth_token, int64_t owner_uid,
                              nipc__shm_t **out)
{
    (void)owner_uid; /* kernel objects named by the token: no owner to compare */
    if (profile != NIPC_PROFILE_SHM_HYBRID && profile != NIPC_PROFILE_SHM_BUSYWAIT)
        return NIPC_ERR_SHM_BAD_PROFILE;
    wchar_t name[NIPC__SHM_NAME_MAX + 1];
    nipc_error_t err =
        object_name(run_dir, service, auth_token, profile, session_id, "mapping", name);
    if (err != NIPC_OK)
        /* Names we cannot derive were never created (the server uses the
         * same rules): final, not worth the retry window. */
        return NIPC_ERR_SHM_BAD_SIZE;
    nipc__shm_t *s = calloc(1, sizeof *s);
    if (!s)
        return NIPC_ERR_NO_MEMORY;
    s->is_server = 0;
    s->profile = profile;
    s->mapping = OpenFileMappingW(FILE_MAP_ALL_ACCESS, FALSE, name);
    if (!s->mapping) {
        DWORD e = GetLastError();
        shm_free(s);
        return nipc__os_fail(NIPC_ERR_SHM_NOT_READY, (int)e);
    }
    s->base = MapViewOfFile(s->mapping, FILE_MAP_ALL_ACCESS, 0, 0, 0);
    if (!s->base) {
        DWORD e = GetLastError();
        shm_free(s);
        return nipc__os_fail(NIPC_ERR_SHM_ALLOC, (int)e);
    }
    /* The view covers the whole section, rounded up to pages. */
    MEMORY_BASIC_INFORMATION mbi;
    if (VirtualQuery(s->base, &mbi, sizeof mbi) == 0 || mbi.RegionSize < SHM_HEADER_LEN) {
        shm_free(s);
        return NIPC_ERR_SHM_BAD_SIZE;
    }
    s->size = mbi.RegionSize;
    __atomic_thread_fence(__ATOMIC_SEQ_CST); /* upstream: MemoryBarrier() */
    err = check_header(s->base, s->size, profile);
    if (err != NIPC_OK) {
        shm_free(s);
        return err;
    }
    uint32_t spin = nipc__ld32(s->base + OFF_SPIN_TRIES);
    s->spin_tries = spin < SHM_SPIN_TRIES_MAX ? spin : SHM_SPIN_TRIES_MAX;

    if (profile == NIPC_PROFILE_SHM_HYBRID) {
        err = open_event(run_dir, service, auth_token, profile, session_id, "req_event",
                         &s->req_event);
        if (err == NIPC_OK)
            err = open_event(run_dir, service, auth_token, profile, session_id, "resp_event",
                             &s->resp_event);
        if (err != NIPC_OK) {
            shm_free(s);
            return err;
        }
    }
    bind_roles(s);
    *out = s;
    return NIPC_OK;
}

uint32_t nipc__shm_request_capacity(const nipc__shm_t *s)
{
    return s->req_cap;
}

uint32_t nipc__shm_response_capacity(const nipc__shm_t *s)
{
    return s->resp_cap;
}

/* ---------------------------------------------------------------- publish */

nipc_error_t nipc__shm_publish(nipc__shm_t *s, const void *hdr, size_t hlen, const void *payload,
                               size_t plen)
{
    size_t len = hlen + plen;
    if (len == 0)
        return NIPC_ERR_INVALID_ARGUMENT;
    if (len > s->out.cap || len > SHM_MSG_MAX)
        return NIPC_ERR_TOO_LARGE;
    /* Beyond upstream: publishing to a peer that said goodbye fails now
     * instead of at the next receive. */
    if (__atomic_load_n(s->peer_closed, __ATOMIC_ACQUIRE))
        return NIPC_ERR_DISCONNECTED;
    memcpy(s->out.area, hdr, hlen);
    if (plen)
        memcpy(s->out.area + hlen, payload, plen);

    /* Payload before length, length before sequence (seq_cst RMWs, as the
     * upstream Interlocked calls): a reader that sees the new sequence sees
     * the length and the bytes. */
    __atomic_exchange_n(s->out.len, (int32_t)len, __ATOMIC_SEQ_CST);
    __atomic_add_fetch(s->out.seq, 1, __ATOMIC_SEQ_CST);
    s->out_local++;
    /* The seq_cst increment above and the seq_cst flag store + seq re-check
     * in the consumer form a Dekker pair: either we see its flag, or it
     * sees our sequence before sleeping. */
    if (s->peer_event && __atomic_load_n(s->peer_waiting, __ATOMIC_SEQ_CST) != 0)
        SetEvent(s->peer_event);
    return NIPC_OK;
}

/* ---------------------------------------------------------------- consume */

enum observe_result { OBS_NOTHING, OBS_GOT, OBS_CORRUPT, OBS_TOO_LARGE };

/*
 * Looks for message `expected` and copies it. The length and the sequence
 * are re-read after the copy: a change means the peer overwrote the area
 * while we copied (it must wait for our answer), which is corruption.
 */
static enum observe_result observe(nipc__shm_t *s, int64_t expected, uint8_t *buf,
                                   size_t max_copy, uint32_t *out_len)
{
    int64_t seq = __atomic_load_n(s->in.seq, __ATOMIC_SEQ_CST);
    if (seq < expected)
        return OBS_NOTHING;
    int32_t len = __atomic_load_n(s->in.len, __ATOMIC_ACQUIRE);
    if (len <= 0)
        return OBS_CORRUPT;
    if ((uint32_t)len > max_copy)
        return OBS_TOO_LARGE;
    memcpy(buf, s->in.area, (size_t)len);
    /* Order the copy before the re-reads. */
    __atomic_thread_fence(__ATOMIC_ACQUIRE);
    if (__atomic_load_n(s->in.len, __ATOMIC_ACQUIRE) != len ||
        __atomic_load_n(s->in.seq, __ATOMIC_ACQUIRE) != seq)
        return OBS_CORRUPT;
    *out_len = (uint32_t)len;
    return OBS_GOT;
}

static inline void cpu_relax(void)
{
    YieldProcessor();
}

/* Final step of every wait: consume the message (also when it is bad). */
static nipc_error_t finish(nipc__shm_t *s, int64_t expected, enum observe_result r)
{
    s->in_local = expected;
    if (r == OBS_TOO_LARGE)
        return NIPC_ERR_TOO_LARGE;
    if (r == OBS_CORRUPT)
        return NIPC_ERR_CORRUPT;
    return NIPC_OK;
}

/* After an empty wait: the peer's goodbye, the caller's abort, a dead peer. */
static nipc_error_t check_idle(nipc__shm_t *s, const nipc_abort_t *abort, nipc__conn_t *liveness,
                               int probe)
{
    if (__atomic_load_n(s->peer_closed, __ATOMIC_ACQUIRE))
        return NIPC_ERR_DISCONNECTED;
    if (nipc_abort_is_set(abort))
        return NIPC_ERR_ABORTED;
    /* A peer killed before it could set its closed flag: its pipe end is
     * gone. */
    if (probe && liveness && nipc__conn_peer_gone(liveness))
        return NIPC_ERR_DISCONNECTED;
    return NIPC_OK;
}

static nipc_error_t wait_hybrid(nipc__shm_t *s, int64_t expected, uint8_t *buf, size_t max_copy,
                                uint32_t *len, uint64_t deadline, const nipc_abort_t *abort,
                                nipc__conn_t *liveness)
{
    HANDLE hs[2] = {s->own_event, (HANDLE)nipc__abort_handle(abort)};
    DWORD nh = hs[1] ? 2 : 1;
    for (;;) {
        __atomic_store_n(s->own_waiting, 1, __ATOMIC_SEQ_CST);
        enum observe_result r = observe(s, expected, buf, max_copy, len);
        if (r != OBS_NOTHING) {
            __atomic_store_n(s->own_waiting, 0, __ATOMIC_SEQ_CST);
            return finish(s, expected, r);
        }
        uint32_t slice = nipc__remaining_ms(deadline, SHM_WAIT_SLICE_MS);
        if (slice == 0) {
            __atomic_store_n(s->own_waiting, 0, __ATOMIC_SEQ_CST);
            return NIPC_ERR_TIMEOUT;
        }
        DWORD w = WaitForMultipleObjects(nh, hs, FALSE, slice);
        __atomic_store_n(s->own_waiting, 0, __ATOMIC_SEQ_CST);
        r = observe(s, expected, buf, max_copy, len);
        if (r != OBS_NOTHING)
            return finish(s, expected, r);
        if (w == WAIT_FAILED)
            return nipc__os_fail(NIPC_ERR_IO, (int)GetLastError());
        nipc_error_t err = check_idle(s, abort, liveness, w == WAIT_TIMEOUT);
        if (err != NIPC_OK) {
            /* The peer's last message may have landed with its goodbye. */
            r = observe(s, expected, buf, max_copy, len);
            return r != OBS_NOTHING ? finish(s, expected, r) : err;
        }
    }
}

static nipc_error_t wait_busy(nipc__shm_t *s, int64_t expected, uint8_t *buf, size_t max_copy,
                              uint32_t *len, uint64_t deadline, const nipc_abort_t *abort,
                              nipc__conn_t *liveness)
{
    uint64_t next_probe = nipc__now_ms() + SHM_WAIT_SLICE_MS;
    for (uint32_t polls = 1;; polls++) {
        enum observe_result r = observe(s, expected, buf, max_copy, len);
        if (r != OBS_NOTHING)
            return finish(s, expected, r);
        if (nipc_abort_is_set(abort))
            return NIPC_ERR_ABORTED;
        if ((polls & 1023u) == 0) {
            SwitchToThread();
            /* Clock reads and the pipe probe are costly: every 1024 polls. */
            uint64_t now = nipc__now_ms();
            if (deadline != NIPC__NO_DEADLINE && now >= deadline)
                return NIPC_ERR_TIMEOUT;
            int probe = now >= next_probe;
            if (probe)
                next_probe = now + SHM_WAIT_SLICE_MS;
            nipc_error_t err = check_idle(s, abort, liveness, probe);
            if (err != NIPC_OK) {
                r = observe(s, expected, buf, max_copy, len);
                return r != OBS_NOTHING ? finish(s, expected, r) : err;
            }
        } else {
            cpu_relax();
        }
    }
}

nipc_error_t nipc__shm_consume(nipc__shm_t *s, void *buf, size_t cap, uint32_t *len,
                               uint64_t deadline, const nipc_abort_t *abort,
                               nipc__conn_t *liveness)
{
    int64_t expected = s->in_local + 1;
    size_t max_copy = cap < s->in.cap ? cap : s->in.cap;
    for (uint32_t i = 0; i < s->spin_tries; i++) {
        enum observe_result r = observe(s, expected, buf, max_copy, len);
        if (r != OBS_NOTHING)
            return finish(s, expected, r);
        cpu_relax();
    }
    if (s->profile == NIPC_PROFILE_SHM_HYBRID)
        return wait_hybrid(s, expected, buf, max_copy, len, deadline, abort, liveness);
    return wait_busy(s, expected, buf, max_copy, len, deadline, abort, liveness);
}

/* ------------------------------------------------------------------ close */

void nipc__shm_close(nipc__shm_t *s)
{
    if (!s)
        return;
    if (s->own_closed) {
        /* Say goodbye and wake a peer sleeping on its event. */
        __atomic_store_n(s->own_closed, 1, __ATOMIC_SEQ_CST);
        if (s->peer_event)
            SetEvent(s->peer_event);
    }
    shm_free(s);
}

/* ----------------------------------------------------- not on Windows */

/* netipc's sealed profile is Linux-only: never offered, never selected. */
const uint32_t nipc__shm_sealed_profile = 0;

nipc_error_t nipc__shm_create_sealed(uint32_t request_capacity, uint32_t response_capacity,
                                     nipc__shm_t **out)
{
    (void)request_capacity, (void)response_capacity, (void)out;
    return NIPC_ERR_PLATFORM;
}

int nipc__shm_fd(const nipc__shm_t *s)
{
    (void)s;
    return -1;
}

void nipc__shm_release_fd(nipc__shm_t *s)
{
    (void)s;
}

nipc_error_t nipc__shm_attach_fd(int fd, int64_t owner_uid, nipc__shm_t **out)
{
    (void)fd, (void)owner_uid, (void)out;
    return NIPC_ERR_PLATFORM;
}

/* Sections cannot shrink under a view: there is no SIGBUS to recover from. */
bool nipc_shm_fault_recover(void *addr)
{
    (void)addr;
    return false;
}
