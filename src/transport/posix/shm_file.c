/*
 * Linux SHM regions backed by a file in the run dir, upstream's way
 * (profiles 0x02 SHM_HYBRID and 0x04 SHM_FUTEX, posix.md):
 * `{run_dir}/{service}-{session_id:016x}.ipcshm`, a 64-byte header, a
 * request area and a response area. The server creates the file before it
 * reads the HELLO; the client opens it by name after the HELLO_ACK.
 *
 * The file is allocated with fallocate(), never ftruncate(): on a full
 * tmpfs a sparse file would turn into SIGBUS on first touch; fallocate
 * turns it into an ordinary SHM_ALLOC error. The peer can still truncate
 * the file: every mapping is registered with the SIGBUS guard
 * (shm_guard.c) before its first access. Also here: the stale-region scan
 * and `netipc status`'s classification. Publish and consume are in shm.c.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/internal.h"
#include "transport/posix/shm_guard.h"
#include "transport/posix/shm_internal.h"

#define SHM_MAGIC 0x4e53484du /* "NSHM" */
#define SHM_VERSION 3u
#define SHM_HEADER_LEN 64u
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

const nipc__shm_layout_t nipc__shm_file_layout = {
    .req_offset = OFF_REQ_OFFSET,
    .req_cap = OFF_REQ_CAP,
    .resp_offset = OFF_RESP_OFFSET,
    .resp_cap = OFF_RESP_CAP,
    .req_seq = OFF_REQ_SEQ,
    .req_len = OFF_REQ_LEN,
    .req_signal = OFF_REQ_SIGNAL,
    .resp_seq = OFF_RESP_SEQ,
    .resp_len = OFF_RESP_LEN,
    .resp_signal = OFF_RESP_SIGNAL,
    /* no waiting flags: every publish wakes */
};

const int nipc__shm_region_per_profile = 0;
const uint32_t nipc__shm_profiles = NIPC_PROFILE_SHM_HYBRID | NIPC_PROFILE_SHM_FUTEX;

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
    /* Read, never mapped: whoever owns the file may truncate it meanwhile,
     * and a read then comes back short instead of raising SIGBUS. */
    uint8_t h[SHM_HEADER_LEN];
    if (S_ISREG(st->st_mode) && pread(fd, h, sizeof h, 0) == (ssize_t)sizeof h) {
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

int nipc__shm_remove_stale(const char *run_dir, const char *name)
{
    int dirfd = open(run_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dirfd < 0)
        return -1;
    struct stat st;
    int rc = 0;
    if (classify(dirfd, name, &st) == NIPC__REGION_STALE)
        rc = remove_if_same(dirfd, name, &st) ? 1 : -1;
    close(dirfd);
    return rc;
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

nipc_error_t nipc_shm_cleanup_stale(const char *run_dir, const char *service, uint32_t *count)
{
    if (count)
        *count = 0;
    if (!run_dir)
        return NIPC_ERR_INVALID_ARGUMENT;
    if (!nipc_service_name_valid(service))
        return NIPC_ERR_BAD_SERVICE_NAME;
    int dirfd = open(run_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dirfd < 0)
        return nipc__os_fail(NIPC_ERR_IO, errno);
    DIR *d = fdopendir(dup(dirfd));
    if (!d) {
        nipc_error_t err = nipc__os_fail(NIPC_ERR_IO, errno);
        close(dirfd);
        return err;
    }
    uint32_t removed = 0;
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
    if (count)
        *count = removed;
    return NIPC_OK;
}

/* ---------------------------------------------------------------- create */

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
    close(fd); /* the mapping keeps the file; the path names it */
    /* Guarded before the first access: the client may open and truncate
     * the file as soon as it exists. */
    int guard = base != MAP_FAILED ? nipc__shm_guard_add(base, (size_t)size) : -1;
    if (base == MAP_FAILED || guard < 0) {
        if (base != MAP_FAILED)
            munmap(base, (size_t)size);
        unlinkat(dirfd, name, 0);
        close(dirfd);
        /* Never ftruncate as a fallback (SIGBUS on a full tmpfs, see top). */
        return e ? nipc__os_fail(NIPC_ERR_SHM_ALLOC, e) : NIPC_ERR_SHM_ALLOC;
    }

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

    nipc__shm_t *r = nipc__shm_wrap(b, (size_t)size, -1, 1, &nipc__shm_file_layout);
    char *path_copy = r ? strdup(path) : NULL;
    if (!path_copy) {
        free(r);
        nipc__shm_guard_remove(guard);
        munmap(base, (size_t)size);
        unlinkat(dirfd, name, 0);
        close(dirfd);
        return NIPC_ERR_NO_MEMORY;
    }
    close(dirfd);
    r->guard = guard;
    r->path = path_copy;
    *out = r;
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
    return nipc__shm_check_areas(b, size, SHM_HEADER_LEN, &nipc__shm_file_layout);
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
    int e = base == MAP_FAILED ? errno : 0;
    close(fd);
    if (base == MAP_FAILED)
        return nipc__os_fail(NIPC_ERR_SHM_ALLOC, e);
    /* The server may truncate the file from here on, even while we check
     * its header: guarded before the first access. */
    int guard = nipc__shm_guard_add(base, size);
    if (guard < 0) {
        munmap(base, size);
        return NIPC_ERR_SHM_ALLOC;
    }
    __atomic_thread_fence(__ATOMIC_ACQUIRE);
    err = check_header(base, size);
    if (err == NIPC_OK && nipc__shm_guard_tripped(guard))
        err = NIPC_ERR_SHM_BAD_SIZE; /* shrunk under our check */
    nipc__shm_t *r = err == NIPC_OK ? nipc__shm_wrap(base, size, -1, 0, &nipc__shm_file_layout)
                                    : NULL;
    if (!r) {
        nipc__shm_guard_remove(guard);
        munmap(base, size);
        return err != NIPC_OK ? err : NIPC_ERR_NO_MEMORY;
    }
    r->guard = guard;
    *out = r;
    return NIPC_OK;
}
