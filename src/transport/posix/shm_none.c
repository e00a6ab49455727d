/* POSIX systems other than Linux: no SHM profiles; sessions use UDS only. */
#include <unistd.h>

#include "transport/transport_internal.h"

const int nipc__shm_region_per_profile = 0;
const uint32_t nipc__shm_profiles = 0;

nipc_error_t nipc__shm_create(const char *run_dir, const char *service, uint64_t session_id,
                              uint32_t profile, uint64_t auth_token, uint32_t request_capacity,
                              uint32_t response_capacity, nipc__shm_t **out)
{
    (void)run_dir, (void)service, (void)session_id, (void)profile, (void)auth_token;
    (void)request_capacity, (void)response_capacity, (void)out;
    return NIPC_ERR_UNSUPPORTED;
}

nipc_error_t nipc__shm_attach(const char *run_dir, const char *service, uint64_t session_id,
                              uint32_t profile, uint64_t auth_token, int64_t owner_uid,
                              nipc__shm_t **out)
{
    (void)run_dir, (void)service, (void)session_id, (void)profile, (void)auth_token;
    (void)owner_uid, (void)out;
    return NIPC_ERR_UNSUPPORTED;
}

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
    (void)owner_uid, (void)out;
    close(fd);
    return NIPC_ERR_PLATFORM;
}

bool nipc_shm_fault_recover(void *addr)
{
    (void)addr;
    return false;
}

uint32_t nipc__shm_request_capacity(const nipc__shm_t *s)
{
    (void)s;
    return 0;
}

uint32_t nipc__shm_response_capacity(const nipc__shm_t *s)
{
    (void)s;
    return 0;
}

nipc_error_t nipc__shm_publish(nipc__shm_t *s, const void *hdr, size_t hlen, const void *payload,
                               size_t plen)
{
    (void)s, (void)hdr, (void)hlen, (void)payload, (void)plen;
    return NIPC_ERR_UNSUPPORTED;
}

nipc_error_t nipc__shm_consume(nipc__shm_t *s, void *buf, size_t cap, uint32_t *len,
                               uint64_t deadline, const nipc_abort_t *abort,
                               nipc__conn_t *liveness)
{
    (void)s, (void)buf, (void)cap, (void)len, (void)deadline, (void)abort, (void)liveness;
    return NIPC_ERR_UNSUPPORTED;
}

void nipc__shm_close(nipc__shm_t *s)
{
    (void)s;
}

nipc_error_t nipc_shm_cleanup_stale(const char *run_dir, const char *service, uint32_t *removed)
{
    if (removed)
        *removed = 0;
    if (!run_dir)
        return NIPC_ERR_INVALID_ARGUMENT;
    return nipc_service_name_valid(service) ? NIPC_OK : NIPC_ERR_BAD_SERVICE_NAME;
}

int nipc__shm_remove_stale(const char *run_dir, const char *name)
{
    (void)run_dir, (void)name;
    return 0;
}

nipc__region_state_t nipc__shm_region_state(const char *run_dir, const char *name)
{
    (void)run_dir, (void)name;
    return NIPC__REGION_UNKNOWN;
}
