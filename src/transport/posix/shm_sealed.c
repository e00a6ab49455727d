/*
 * Linux SHM regions of netipc's own profile, NIPC_PROFILE_SHM_SEALED: an
 * anonymous memfd, sized with fallocate() and sealed against shrinking
 * and growing (F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL), that the server
 * passes to the client with SCM_RIGHTS beside its HELLO_ACK. Nothing is
 * created in the run dir, nothing can go stale, and no one, the server
 * included, can truncate the region under a mapping: the SIGBUS a file
 * region can suffer does not exist here.
 *
 * Layout (netipc's own; both sides are netipc when this profile is
 * selected):
 *
 *   0  u32 magic "NSEL"     4 u16 version 1      6 u16 header_len 192
 *   8  u32 request_offset   12 u32 request_capacity
 *   16 u32 response_offset  20 u32 response_capacity
 *   64  request direction:  u64 seq, u32 len, u32 signal (futex), u32 waiting
 *   128 response direction: u64 seq, u32 len, u32 signal (futex), u32 waiting
 *   192 request area, then the response area (64-aligned)
 *
 * Each direction has its own cache line. `waiting` is raised by the
 * direction's consumer before it sleeps; a publisher wakes only then
 * (shm.c explains the ordering). Publish and consume are in shm.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/internal.h"
#include "transport/posix/shm_internal.h"

#define SEALED_MAGIC 0x4e53454cu /* "NSEL" */
#define SEALED_VERSION 1u
#define SEALED_HEADER_LEN 192u
#define SEALS_NEEDED (F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL)

enum {
    OFF_MAGIC = 0,
    OFF_VERSION = 4,
    OFF_HEADER_LEN = 6,
    OFF_REQ_OFFSET = 8,
    OFF_REQ_CAP = 12,
    OFF_RESP_OFFSET = 16,
    OFF_RESP_CAP = 20,
    OFF_REQ_SEQ = 64,
    OFF_REQ_LEN = 72,
    OFF_REQ_SIGNAL = 76,
    OFF_REQ_WAITING = 80,
    OFF_REQ_CPU = 84,
    OFF_RESP_SEQ = 128,
    OFF_RESP_LEN = 136,
    OFF_RESP_SIGNAL = 140,
    OFF_RESP_WAITING = 144,
    OFF_RESP_CPU = 148,
};

const nipc__shm_layout_t nipc__shm_sealed_layout = {
    .req_offset = OFF_REQ_OFFSET,
    .req_cap = OFF_REQ_CAP,
    .resp_offset = OFF_RESP_OFFSET,
    .resp_cap = OFF_RESP_CAP,
    .req_seq = OFF_REQ_SEQ,
    .req_len = OFF_REQ_LEN,
    .req_signal = OFF_REQ_SIGNAL,
    .req_waiting = OFF_REQ_WAITING,
    .req_cpu = OFF_REQ_CPU,
    .resp_seq = OFF_RESP_SEQ,
    .resp_len = OFF_RESP_LEN,
    .resp_signal = OFF_RESP_SIGNAL,
    .resp_waiting = OFF_RESP_WAITING,
    .resp_cpu = OFF_RESP_CPU,
};

const uint32_t nipc__shm_sealed_profile = NIPC_PROFILE_SHM_SEALED;

nipc_error_t nipc__shm_create_sealed(uint32_t request_capacity, uint32_t response_capacity,
                                     nipc__shm_t **out)
{
    if (request_capacity == 0 || response_capacity == 0 || request_capacity % 64 ||
        response_capacity % 64)
        return NIPC_ERR_INVALID_ARGUMENT;
    uint64_t resp_off = nipc__align64(SEALED_HEADER_LEN + (uint64_t)request_capacity);
    uint64_t size = resp_off + response_capacity;
    if (size > UINT32_MAX)
        return NIPC_ERR_SIZE_OVERFLOW;

    int fd = memfd_create("netipc", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (fd < 0)
        return nipc__os_fail(NIPC_ERR_SHM_ALLOC, errno);
    /* Pages reserved now: a memory limit fails here, not at first touch. */
    int rc;
    do
        rc = fallocate(fd, 0, 0, (off_t)size);
    while (rc != 0 && errno == EINTR);
    if (rc == 0)
        rc = fcntl(fd, F_ADD_SEALS, SEALS_NEEDED);
    void *base = MAP_FAILED;
    if (rc == 0)
        base = mmap(NULL, (size_t)size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (base == MAP_FAILED) {
        int e = errno;
        close(fd);
        return nipc__os_fail(NIPC_ERR_SHM_ALLOC, e);
    }

    uint8_t *b = base; /* zero from fallocate */
    nipc__st32(b + OFF_MAGIC, SEALED_MAGIC);
    nipc__st16(b + OFF_VERSION, SEALED_VERSION);
    nipc__st16(b + OFF_HEADER_LEN, SEALED_HEADER_LEN);
    nipc__st32(b + OFF_REQ_OFFSET, SEALED_HEADER_LEN);
    nipc__st32(b + OFF_REQ_CAP, request_capacity);
    nipc__st32(b + OFF_RESP_OFFSET, (uint32_t)resp_off);
    nipc__st32(b + OFF_RESP_CAP, response_capacity);
    __atomic_thread_fence(__ATOMIC_RELEASE);

    nipc__shm_t *s = nipc__shm_wrap(b, (size_t)size, fd, 1, &nipc__shm_sealed_layout);
    if (!s) {
        munmap(base, (size_t)size);
        close(fd);
        return NIPC_ERR_NO_MEMORY;
    }
    *out = s;
    return NIPC_OK;
}

int nipc__shm_fd(const nipc__shm_t *s)
{
    return s->fd;
}

void nipc__shm_release_fd(nipc__shm_t *s)
{
    if (s->fd >= 0)
        close(s->fd);
    s->fd = -1;
}

static nipc_error_t check_header(const uint8_t *b, size_t size)
{
    if (nipc__ld32(b + OFF_MAGIC) != SEALED_MAGIC)
        return NIPC_ERR_BAD_MAGIC;
    if (nipc__ld16(b + OFF_VERSION) != SEALED_VERSION)
        return NIPC_ERR_BAD_VERSION;
    if (nipc__ld16(b + OFF_HEADER_LEN) != SEALED_HEADER_LEN)
        return NIPC_ERR_BAD_HEADER_LEN;
    return nipc__shm_check_areas(b, size, SEALED_HEADER_LEN, &nipc__shm_sealed_layout);
}

nipc_error_t nipc__shm_attach_fd(int fd, int64_t owner_uid, nipc__shm_t **out)
{
    struct stat st;
    nipc_error_t err = NIPC_OK;
    if (fstat(fd, &st) != 0)
        err = nipc__os_fail(NIPC_ERR_SHM_BAD_SIZE, errno);
    else if (owner_uid >= 0 && (int64_t)st.st_uid != owner_uid)
        err = nipc__os_fail(NIPC_ERR_PEER_REJECTED, EPERM);
    else if (!S_ISREG(st.st_mode) || st.st_size < (off_t)SEALED_HEADER_LEN ||
             st.st_size > UINT32_MAX)
        err = NIPC_ERR_SHM_BAD_SIZE;
    /* Only a region that cannot shrink is safe to map without the SIGBUS
     * guard: anything else (a plain file, an unsealed memfd) is refused. */
    else {
        int seals = fcntl(fd, F_GET_SEALS); /* -1 (EINVAL) for anything but shmem */
        if (seals < 0 || (seals & SEALS_NEEDED) != SEALS_NEEDED)
            err = NIPC_ERR_SHM_BAD_SIZE;
    }
    if (err != NIPC_OK) {
        close(fd);
        return err;
    }
    size_t size = (size_t)st.st_size;
    void *base = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    int e = base == MAP_FAILED ? errno : 0;
    close(fd); /* the mapping keeps the memory */
    if (base == MAP_FAILED)
        return nipc__os_fail(NIPC_ERR_SHM_ALLOC, e);
    __atomic_thread_fence(__ATOMIC_ACQUIRE);
    err = check_header(base, size);
    nipc__shm_t *s = err == NIPC_OK ? nipc__shm_wrap(base, size, -1, 0, &nipc__shm_sealed_layout)
                                    : NULL;
    if (!s) {
        munmap(base, size);
        return err != NIPC_OK ? err : NIPC_ERR_NO_MEMORY;
    }
    *out = s;
    return NIPC_OK;
}
