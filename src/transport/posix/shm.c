/*
 * Linux SHM data plane: one file-backed region per session in run_dir,
 * `{service}-{session_id:016x}.ipcshm`, with a 64-byte header, a request
 * area and a response area, each holding one whole message. Publication is
 * a release store of the length and a release increment of the sequence
 * number, then an increment of a futex word and a shared FUTEX_WAKE; the
 * consumer spins briefly, then sleeps on the futex in slices of at most
 * 100 ms so it can notice an abort or a dead peer.
 *
 * The region is allocated with fallocate(), never ftruncate(): on a full
 * tmpfs a sparse file would turn into SIGBUS on first touch; fallocate turns
 * it into an ordinary SHM_ALLOC error. This file does not frame, validate
 * messages or decide profiles (transport/session.c does).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "common/internal.h"
#include "platform/platform.h"
#include "transport/transport_internal.h"

#define SHM_MAGIC 0x4e53484du /* "NSHM" */
#define SHM_VERSION 3u
#define SHM_HEADER_LEN 64u
#define SHM_SPIN_TRIES 128
#define SHM_WAIT_SLICE_MS 100u
#define SHM_PATH_MAX 255

/* Header field offsets (posix.md, "Layout"). */
enum {
    OFF_MAGIC = 0,
    OFF_VERSION = 4,
    OFF_HEADER_LEN = 6,
    OFF_OWNER_PID = 8,
    OFF_OWNER_GEN = 12,
    OFF_REQ_OFFSET = 16,
    OFF_REQ_CAP = 20,
    OFF_RESP_OFFSET = 24,
    OFF_RESP_CAP = 28,
    OFF_REQ_SEQ = 32,
    OFF_RESP_SEQ = 40,
    OFF_REQ_LEN = 48,
    OFF_RESP_LEN = 52,
    OFF_REQ_SIGNAL = 56,
    OFF_RESP_SIGNAL = 60,
};

const int nipc__shm_region_per_profile = 0;
const uint32_t nipc__shm_profiles = NIPC_PROFILE_SHM_HYBRID | NIPC_PROFILE_SHM_FUTEX;

struct nipc__shm {
    uint8_t *base;
    size_t size;
    int fd;
    int is_server;
    char *path; /* server: removed on close */
    uint32_t req_cap, resp_cap;
    uint8_t *req_area, *resp_area;
    uint64_t local_req_seq, local_resp_seq;
    int spun; /* the last consume was a spin-only try that found nothing */
};

static inline uint64_t *u64_at(uint8_t *base, size_t off)
{
    return (uint64_t *)(void *)(base + off);
}
static inline uint32_t *u32_at(uint8_t *base, size_t off)
{
    return (uint32_t *)(void *)(base + off);
}

static inline void cpu_pause(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

static long futex(uint32_t *word, int op, uint32_t val, const struct timespec *ts)
{
    /* Shared (not FUTEX_PRIVATE_FLAG) operations: the word is in a mapping
     * that two processes share. */
    return syscall(SYS_futex, word, op, val, ts, NULL, 0);
}

static nipc_error_t region_name(const char *service, uint64_t session_id, char *out, size_t cap)
{
    if (!nipc_service_name_valid(service))
        return NIPC_ERR_BAD_SERVICE_NAME;
    int n = snprintf(out, cap, "%s-%016llx.ipcshm", service, (unsigned long long)session_id);
    return n > 0 && (size_t)n < cap ? NIPC_OK : NIPC_ERR_PATH_TOO_LONG;
}

static nipc_error_t region_path(const char *run_dir, const char *service, uint64_t session_id,
                                char *out, size_t cap)
{
    char name[SHM_PATH_MAX + 1];
    nipc_error_t err = region_name(service, session_id, name, sizeof name);
    if (err != NIPC_OK)
        return err;
    int n = snprintf(out, cap, "%s/%s", run_dir, name);
    return n > 0 && (size_t)n < cap && n <= SHM_PATH_MAX ? NIPC_OK : NIPC_ERR_PATH_TOO_LONG;
}

/* --------------------------------------------------------- stale regions */

static int remove_if_same(int dirfd, const char *name, const struct stat *seen)
{
    struct stat now;
    if (fstatat(dirfd, name, &now, AT_SYMLINK_NOFOLLOW) != 0)
        return errno == ENOENT;
    if (now.st_dev != seen->st_dev || now.st_ino != seen->st_ino)
        return 0; /* replaced meanwhile: someone else's now */
    return unlinkat(dirfd, name, S_ISDIR(now.st_mode) ? AT_REMOVEDIR : 0) == 0;
}

/*
 * Upstream C stale detection, without side effects: what the entry `name`
 * of dirfd is. *st receives the entry's identity when it exists.
 */
static nipc__region_state_t classify(int dirfd, const char *name, struct stat *st)
{
    int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
        int e = errno;
        if (e == ENOENT)
            return NIPC__REGION_ABSENT;
        if (e == EMFILE || e == ENFILE)
            return NIPC__REGION_UNKNOWN;
        /* A symlink, a directory we cannot open, an unreadable file: junk. */
        if (fstatat(dirfd, name, st, AT_SYMLINK_NOFOLLOW) != 0)
            return errno == ENOENT ? NIPC__REGION_ABSENT : NIPC__REGION_UNKNOWN;
        return NIPC__REGION_JUNK;
    }

    nipc__region_state_t state = NIPC__REGION_JUNK;
    if (fstat(fd, st) != 0) {
        close(fd);
        return NIPC__REGION_UNKNOWN;
    }
    if (S_ISREG(st->st_mode) && st->st_size >= (off_t)SHM_HEADER_LEN) {
        void *m = mmap(NULL, SHM_HEADER_LEN, PROT_READ, MAP_SHARED, fd, 0);
        if (m != MAP_FAILED) {
            uint8_t *h = m;
            int32_t pid;
            memcpy(&pid, h + OFF_OWNER_PID, sizeof pid);
            uint32_t gen = nipc__ld32(h + OFF_OWNER_GEN);
            if (nipc__ld32(h + OFF_MAGIC) != SHM_MAGIC)
                state = NIPC__REGION_JUNK;
            /* pid <= 0 would make kill() address a process group. The
             * generation is only tested for 0, as upstream does. */
            else if (pid > 0 && (kill(pid, 0) == 0 || errno == EPERM) && gen != 0)
                state = NIPC__REGION_LIVE;
            else
                state = NIPC__REGION_STALE;
            munmap(m, SHM_HEADER_LEN);
        }
    }
    close(fd);
    return state;
}

nipc__region_state_t nipc__shm_region_state(const char *run_dir, const char *name)
{
    int dirfd = open(run_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dirfd < 0)
        return NIPC__REGION_UNKNOWN;
    struct stat st;
    nipc__region_state_t state = classify(dirfd, name, &st);
    close(dirfd);
    return state;
}

/* Returns 1 when the name is free (absent or removed), 0 when kept. */
static int reclaim_if_stale(int dirfd, const char *name)
{
    struct stat st;
    switch (classify(dirfd, name, &st)) {
    case NIPC__REGION_ABSENT:
        return 1;
    case NIPC__REGION_STALE:
    case NIPC__REGION_JUNK:
        return remove_if_same(dirfd, name, &st);
    default: /* live, or we could not tell: never delete */
        return 0;
    }
}

/* "{service}-" + 16 lowercase hex + ".ipcshm", nothing more or less. */
static int is_region_of(const char *name, const char *service)
{
    size_t sl = strlen(service), nl = strlen(name);
    if (nl != sl + 1 + 16 + 7 || strncmp(name, service, sl) != 0 || name[sl] != '-')
        return 0;
    for (size_t i = sl + 1; i < sl + 17; i++)
        if (!((name[i] >= '0' && name[i] <= '9') || (name[i] >= 'a' && name[i] <= 'f')))
            return 0;
    return strcmp(name + sl + 17, ".ipcshm") == 0;
}

int nipc_shm_cleanup_stale(const char *run_dir, const char *service)
{
    if (!run_dir || !nipc_service_name_valid(service))
        return -1;
    int dirfd = open(run_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dirfd < 0) {
        nipc__os_fail(NIPC_ERR_IO, errno);
        return -1;
    }
    DIR *d = fdopendir(dup(dirfd));
    if (!d) {
        nipc__os_fail(NIPC_ERR_IO, errno);
        close(dirfd);
        return -1;
    }
    int removed = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (!is_region_of(de->d_name, service))
            continue;
        struct stat st;
        int existed = fstatat(dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0;
        if (reclaim_if_stale(dirfd, de->d_name) && existed)
            removed++;
    }
    closedir(d);
    close(dirfd);
    return removed;
}

/* ---------------------------------------------------------------- create */

static void map_areas(nipc__shm_t *s)
{
    uint8_t *b = s->base;
    s->req_cap = nipc__ld32(b + OFF_REQ_CAP);
    s->resp_cap = nipc__ld32(b + OFF_RESP_CAP);
    s->req_area = b + nipc__ld32(b + OFF_REQ_OFFSET);
    s->resp_area = b + nipc__ld32(b + OFF_RESP_OFFSET);
    s->local_req_seq = __atomic_load_n(u64_at(b, OFF_REQ_SEQ), __ATOMIC_ACQUIRE);
    s->local_resp_seq = __atomic_load_n(u64_at(b, OFF_RESP_SEQ), __ATOMIC_ACQUIRE);
}

static int open_excl(int dirfd, const char *name)
{
    int fd = openat(dirfd, name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    /* 0600 whatever the process umask: a umask such as 0277 would leave a
     * read-only region that no (non-root) client could attach. */
    if (fd >= 0 && fchmod(fd, 0600) != 0) {
        int e = errno;
        close(fd);
        unlinkat(dirfd, name, 0);
        errno = e;
        return -1;
    }
    return fd;
}

nipc_error_t nipc__shm_create(const char *run_dir, const char *service, uint64_t session_id,
                              uint32_t profile, uint64_t auth_token, uint32_t request_capacity,
                              uint32_t response_capacity, nipc__shm_t **out)
{
    (void)profile;    /* one Linux region serves HYBRID and FUTEX alike */
    (void)auth_token; /* file names do not carry the token on POSIX */
    char name[SHM_PATH_MAX + 1], path[SHM_PATH_MAX + 1];
    nipc_error_t err = region_name(service, session_id, name, sizeof name);
    if (err == NIPC_OK)
        err = region_path(run_dir, service, session_id, path, sizeof path);
    if (err != NIPC_OK)
        return err;
    if (request_capacity == 0 || response_capacity == 0 || request_capacity % 64 ||
        response_capacity % 64)
        return NIPC_ERR_INVALID_ARGUMENT;
    uint64_t resp_off = nipc__align64(SHM_HEADER_LEN + (uint64_t)request_capacity);
    uint64_t size = resp_off + response_capacity;
    if (size > UINT32_MAX)
        return NIPC_ERR_SIZE_OVERFLOW;

    int dirfd = open(run_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dirfd < 0)
        return nipc__os_fail(NIPC_ERR_IO, errno);
    int fd = open_excl(dirfd, name);
    if (fd < 0 && errno == EEXIST) {
        if (!reclaim_if_stale(dirfd, name)) {
            close(dirfd);
            return nipc__os_fail(NIPC_ERR_ADDRESS_IN_USE, EEXIST);
        }
        fd = open_excl(dirfd, name);
    }
    if (fd < 0) {
        int e = errno;
        close(dirfd);
        return nipc__os_fail(e == EEXIST ? NIPC_ERR_ADDRESS_IN_USE : NIPC_ERR_IO, e);
    }

    int rc;
    do
        rc = fallocate(fd, 0, 0, (off_t)size);
    while (rc != 0 && errno == EINTR);
    void *base = MAP_FAILED;
    int e = rc != 0 ? errno : 0;
    if (rc == 0) {
        base = mmap(NULL, (size_t)size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        if (base == MAP_FAILED)
            e = errno;
    }
    nipc__shm_t *s = base != MAP_FAILED ? calloc(1, sizeof *s) : NULL;
    char *path_copy = s ? strdup(path) : NULL;
    if (!s || !path_copy) {
        if (base != MAP_FAILED)
            munmap(base, (size_t)size);
        close(fd);
        unlinkat(dirfd, name, 0);
        close(dirfd);
        free(s);
        if (e == 0)
            return NIPC_ERR_NO_MEMORY;
        /* Never ftruncate as a fallback (SIGBUS on a full tmpfs, see top). */
        return nipc__os_fail(NIPC_ERR_SHM_ALLOC, e);
    }
    close(dirfd);

    uint8_t *b = base;
    /* The file is fresh from O_EXCL + fallocate, hence zero; the header is
     * written explicitly anyway. */
    memset(b, 0, SHM_HEADER_LEN);
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    uint32_t gen = (uint32_t)((uint64_t)ts.tv_sec ^ ((uint64_t)ts.tv_nsec >> 10));
    int32_t pid = (int32_t)getpid();
    nipc__st32(b + OFF_MAGIC, SHM_MAGIC);
    nipc__st16(b + OFF_VERSION, SHM_VERSION);
    nipc__st16(b + OFF_HEADER_LEN, SHM_HEADER_LEN);
    memcpy(b + OFF_OWNER_PID, &pid, sizeof pid);
    nipc__st32(b + OFF_OWNER_GEN, gen ? gen : 1u); /* 0 would read as "dead" */
    nipc__st32(b + OFF_REQ_OFFSET, SHM_HEADER_LEN);
    nipc__st32(b + OFF_REQ_CAP, request_capacity);
    nipc__st32(b + OFF_RESP_OFFSET, (uint32_t)resp_off);
    nipc__st32(b + OFF_RESP_CAP, response_capacity);
    __atomic_thread_fence(__ATOMIC_RELEASE);

    s->base = b;
    s->size = (size_t)size;
    s->fd = fd;
    s->is_server = 1;
    s->path = path_copy;
    map_areas(s);
    *out = s;
    return NIPC_OK;
}

/* ---------------------------------------------------------------- attach */

static nipc_error_t check_header(const uint8_t *b, size_t size)
{
    if (nipc__ld32(b + OFF_MAGIC) != SHM_MAGIC)
        return NIPC_ERR_BAD_MAGIC;
    if (nipc__ld16(b + OFF_VERSION) != SHM_VERSION)
        return NIPC_ERR_BAD_VERSION;
    if (nipc__ld16(b + OFF_HEADER_LEN) != SHM_HEADER_LEN)
        return NIPC_ERR_BAD_HEADER_LEN;
    uint64_t req_off = nipc__ld32(b + OFF_REQ_OFFSET), req_cap = nipc__ld32(b + OFF_REQ_CAP);
    uint64_t resp_off = nipc__ld32(b + OFF_RESP_OFFSET), resp_cap = nipc__ld32(b + OFF_RESP_CAP);
    if (req_off < SHM_HEADER_LEN || resp_off < SHM_HEADER_LEN || req_cap == 0 || resp_cap == 0)
        return NIPC_ERR_SHM_NOT_READY;
    if (req_off % 64 || req_cap % 64 || resp_off % 64 || resp_cap % 64)
        return NIPC_ERR_SHM_BAD_SIZE;
    if (resp_off < nipc__align64(req_off + req_cap))
        return NIPC_ERR_SHM_BAD_SIZE;
    /* 64-bit sums of u32 values cannot wrap. */
    if (req_off + req_cap > size || resp_off + resp_cap > size || resp_off + resp_cap > UINT32_MAX)
        return NIPC_ERR_SHM_BAD_SIZE;
    /* Receive buffers are sized from the areas: nothing absurd. */
    if (req_cap > NIPC__SHM_AREA_MAX || resp_cap > NIPC__SHM_AREA_MAX)
        return NIPC_ERR_SHM_BAD_SIZE;
    return NIPC_OK;
}

nipc_error_t nipc__shm_attach(const char *run_dir, const char *service, uint64_t session_id,
                              uint32_t profile, uint64_t auth_token, int64_t owner_uid,
                              nipc__shm_t **out)
{
    (void)profile;
    (void)auth_token;
    char path[SHM_PATH_MAX + 1];
    nipc_error_t err = region_path(run_dir, service, session_id, path, sizeof path);
    if (err != NIPC_OK)
        return err;
    int fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return nipc__os_fail(NIPC_ERR_SHM_NOT_READY, errno);
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return nipc__os_fail(NIPC_ERR_SHM_NOT_READY, e);
    }
    /* The region must be the verified server's, not one planted beside it. */
    if (owner_uid >= 0 && (int64_t)st.st_uid != owner_uid) {
        close(fd);
        return nipc__os_fail(NIPC_ERR_PEER_REJECTED, EPERM);
    }
    if (!S_ISREG(st.st_mode) || st.st_size < (off_t)SHM_HEADER_LEN || st.st_size > UINT32_MAX) {
        close(fd);
        return S_ISREG(st.st_mode) && st.st_size < (off_t)SHM_HEADER_LEN ? NIPC_ERR_SHM_NOT_READY
                                                                        : NIPC_ERR_SHM_BAD_SIZE;
    }
    size_t size = (size_t)st.st_size;
    void *base = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (base == MAP_FAILED) {
        int e = errno;
        close(fd);
        return nipc__os_fail(NIPC_ERR_SHM_ALLOC, e);
    }
    __atomic_thread_fence(__ATOMIC_ACQUIRE);
    err = check_header(base, size);
    nipc__shm_t *s = err == NIPC_OK ? calloc(1, sizeof *s) : NULL;
    if (!s) {
        munmap(base, size);
        close(fd);
        return err != NIPC_OK ? err : NIPC_ERR_NO_MEMORY;
    }
    s->base = base;
    s->size = size;
    s->fd = fd;
    s->is_server = 0;
    map_areas(s);
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

/* ------------------------------------------------------- publish/consume */

nipc_error_t nipc__shm_publish(nipc__shm_t *s, const void *hdr, size_t hlen, const void *payload,
                               size_t plen)
{
    uint8_t *area = s->is_server ? s->resp_area : s->req_area;
    uint32_t cap = s->is_server ? s->resp_cap : s->req_cap;
    size_t off_len = s->is_server ? OFF_RESP_LEN : OFF_REQ_LEN;
    size_t off_seq = s->is_server ? OFF_RESP_SEQ : OFF_REQ_SEQ;
    size_t off_sig = s->is_server ? OFF_RESP_SIGNAL : OFF_REQ_SIGNAL;

    size_t len = hlen + plen;
    if (len == 0)
        return NIPC_ERR_INVALID_ARGUMENT;
    if (len > cap)
        return NIPC_ERR_TOO_LARGE;
    memcpy(area, hdr, hlen);
    if (plen)
        memcpy(area + hlen, payload, plen);

    /* Payload before length, length before sequence: a reader that
     * acquires seq and then len sees the whole message. */
    __atomic_store_n(u32_at(s->base, off_len), (uint32_t)len, __ATOMIC_RELEASE);
    __atomic_add_fetch(u64_at(s->base, off_seq), 1, __ATOMIC_RELEASE);
    __atomic_add_fetch(u32_at(s->base, off_sig), 1, __ATOMIC_RELEASE);
    /* Wake on every publish: POSIX peers advertise no waiting flag. */
    futex(u32_at(s->base, off_sig), FUTEX_WAKE, 1, NULL);
    if (s->is_server)
        s->local_resp_seq++;
    else
        s->local_req_seq++;
    return NIPC_OK;
}

nipc_error_t nipc__shm_consume(nipc__shm_t *s, void *buf, size_t cap, uint32_t *len,
                               uint64_t deadline, const nipc_abort_t *abort,
                               nipc__conn_t *liveness)
{
    /* The server consumes requests, the client responses. */
    uint8_t *area = s->is_server ? s->req_area : s->resp_area;
    uint32_t area_cap = s->is_server ? s->req_cap : s->resp_cap;
    uint64_t *seq = u64_at(s->base, s->is_server ? OFF_REQ_SEQ : OFF_RESP_SEQ);
    uint32_t *lenp = u32_at(s->base, s->is_server ? OFF_REQ_LEN : OFF_RESP_LEN);
    uint32_t *sig = u32_at(s->base, s->is_server ? OFF_REQ_SIGNAL : OFF_RESP_SIGNAL);
    uint64_t *local = s->is_server ? &s->local_req_seq : &s->local_resp_seq;
    uint64_t expected = *local + 1;
    size_t max_copy = cap < area_cap ? cap : area_cap;

    int seen = 0;
    /* Right after a spin-only try that found nothing, go straight to sleep. */
    int tries = s->spun ? 0 : SHM_SPIN_TRIES;
    s->spun = 0;
    for (int i = 0; i < tries; i++) {
        if (__atomic_load_n(seq, __ATOMIC_ACQUIRE) >= expected) {
            seen = 1;
            break;
        }
        cpu_pause();
    }
    while (!seen) {
        uint32_t v = __atomic_load_n(sig, __ATOMIC_ACQUIRE);
        if (__atomic_load_n(seq, __ATOMIC_ACQUIRE) >= expected)
            break;
        /* Nothing wakes the futex on abort: check before every sleep so a
         * set abort returns at once and a later one within one slice. */
        if (nipc_abort_is_set(abort))
            return NIPC_ERR_ABORTED;
        if (deadline == 0) { /* spin only: the caller retries with a deadline */
            s->spun = 1;
            return NIPC_ERR_TIMEOUT;
        }
        uint32_t slice = nipc__remaining_ms(deadline, SHM_WAIT_SLICE_MS);
        if (slice == 0)
            return NIPC_ERR_TIMEOUT;
        struct timespec ts = {.tv_sec = slice / 1000u, .tv_nsec = (long)(slice % 1000u) * 1000000L};
        long rc = futex(sig, FUTEX_WAIT, v, &ts);
        /* An empty slice: the peer may be gone. */
        if (rc != 0 && errno == ETIMEDOUT && liveness && nipc__conn_peer_gone(liveness))
            return NIPC_ERR_DISCONNECTED;
        /* EAGAIN (word changed), EINTR, wake-up, timeout: re-check the
         * sequence (a message wins over an abort), then the abort. */
    }

    uint32_t n = __atomic_load_n(lenp, __ATOMIC_ACQUIRE);
    *local = expected;
    if (n == 0)
        return NIPC_ERR_CORRUPT;
    if (n > max_copy)
        return NIPC_ERR_TOO_LARGE;
    memcpy(buf, area, n);
    *len = n;
    return NIPC_OK;
}

void nipc__shm_close(nipc__shm_t *s)
{
    if (!s)
        return;
    munmap(s->base, s->size);
    close(s->fd);
    if (s->is_server && s->path)
        unlink(s->path);
    free(s->path);
    free(s);
}
