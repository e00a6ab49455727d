/*
 * Kernel object names of the Windows transports (windows.md): the FNV-1a 64
 * hash that stands in for run_dir, the Named Pipe name and the SHM object
 * names. Names are built in ASCII (service names are [A-Za-z0-9._-]) and
 * widened byte by byte for the W APIs. Internal; the tests check the
 * vectors through these functions.
 */
#ifndef NETIPC_TRANSPORT_WIN_NAMES_H
#define NETIPC_TRANSPORT_WIN_NAMES_H

#include <stddef.h>
#include <stdint.h>
#include <wchar.h>

#include "netipc/error.h"

/* Longest pipe name (characters, without NUL). */
#define NIPC__PIPE_NAME_MAX 255u
/* SHM names must stay below 256 characters, the hash input below 512 bytes. */
#define NIPC__SHM_NAME_MAX 255u
#define NIPC__SHM_HASH_INPUT_MAX 511u

/* FNV-1a 64 over `len` bytes. */
uint64_t nipc__fnv1a64(const void *data, size_t len);

/*
 * "\\.\pipe\netipc-{FNV1a64(run_dir):016x}-{service}" into out[cap].
 * Errors: INVALID_ARGUMENT (no run_dir), BAD_SERVICE_NAME, PATH_TOO_LONG.
 */
nipc_error_t nipc__win_pipe_name(const char *run_dir, const char *service, char *out, size_t cap);

/*
 * "Local\netipc-{H:016x}-{service}-p{profile}-s{session_id:016x}-{object}",
 * H = FNV1a64(run_dir "\n" service "\n" decimal(auth_token)), object one of
 * "mapping", "req_event", "resp_event". Errors: INVALID_ARGUMENT,
 * BAD_SERVICE_NAME, PATH_TOO_LONG (hash input or name too long).
 */
nipc_error_t nipc__win_shm_name(const char *run_dir, const char *service, uint64_t auth_token,
                                uint32_t profile, uint64_t session_id, const char *object,
                                char *out, size_t cap);

/* Widens an ASCII name; out must hold strlen(in) + 1 wide characters. */
void nipc__win_widen(const char *in, wchar_t *out);

#endif
