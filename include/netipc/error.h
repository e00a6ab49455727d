/*
 * netipc error model.
 *
 * One rule for every public function: a function that can fail returns
 * nipc_error_t (0 = NIPC_OK) and hands its results back through pointers.
 * A function that cannot fail returns its result as what it is:
 *
 *   void        lifecycle (free, close, destroy, stop, trigger, clear, wake),
 *               builder setup, encoders of fixed-size structures, status
 *               snapshots (nipc_client_status() ...);
 *   bool        predicates: nipc_client_ready(), nipc_cgroups_cache_ready(),
 *               nipc_abort_is_set(), nipc_service_name_valid(),
 *               nipc_*_lookup_builder_exceeded(), nipc_shm_fault_recover();
 *   pointers    names and messages (static storage, never NULL) and views
 *               (NULL = absent);
 *   own types   nipc_client_state_t nipc_client_state(), nipc_header_t
 *               nipc_header_make();
 *   numbers     uint32_t counts and hashes (nipc_cgroups_cache_count(),
 *               nipc_session_in_flight(), nipc_chunk_count(), nipc_djb2(),
 *               nipc_profile_highest()) and int nipc_last_os_error() (an
 *               errno / GetLastError() value).
 *
 * Passing one of these where an error code is expected does not compile
 * silently: void, structs and pointers are errors or warnings of every
 * compiler, enums of another type draw -Wenum-conversion (-Wextra), and in C
 * nipc_strerror() / nipc_error_name() refuse a bool argument outright (the
 * macros below). The uint32_t numbers are the one exception C cannot tell
 * from an error code; they are named above.
 *
 * The list below is the single source of the enum, of nipc_strerror() and
 * of nipc_error_name(). Operating-system errors are never returned raw: the
 * failing call stores errno (or GetLastError() on Windows) as detail,
 * readable with nipc_last_os_error() on the same thread.
 */
#ifndef NETIPC_ERROR_H
#define NETIPC_ERROR_H

#include "netipc/export.h"

#ifdef __cplusplus
extern "C" {
#endif

/* X(name, message) */
#define NIPC_ERROR_LIST(X)                                                                       \
    X(OK, "success")                                                                             \
    /* caller mistakes and resources */                                                          \
    X(INVALID_ARGUMENT, "invalid argument")                                                      \
    X(BUFFER_TOO_SMALL, "output buffer too small; the needed size was reported")                 \
    X(NO_MEMORY, "out of memory")                                                                \
    X(BAD_SERVICE_NAME, "service name must match [A-Za-z0-9._-]+ and not be '.' or '..'")       \
    X(PATH_TOO_LONG, "endpoint path too long for the platform")                                  \
    X(PLATFORM, "not available on this platform")                                                \
    /* structural validation of received bytes */                                                \
    X(TRUNCATED, "input shorter than the structure it must contain")                             \
    X(BAD_MAGIC, "wrong magic number")                                                           \
    X(BAD_VERSION, "unsupported protocol version")                                               \
    X(BAD_HEADER_LEN, "wrong header length")                                                     \
    X(BAD_KIND, "unknown message kind")                                                          \
    X(BAD_LAYOUT, "unsupported payload layout version")                                          \
    X(BAD_FLAGS, "flags field must be zero")                                                     \
    X(BAD_RESERVED, "reserved field must be zero")                                               \
    X(BAD_ALIGNMENT, "offset not 8-byte aligned")                                                \
    X(OUT_OF_BOUNDS, "offset or length outside the payload")                                     \
    X(MISSING_NUL, "string is not NUL-terminated")                                               \
    X(EMBEDDED_NUL, "string contains a NUL byte")                                                \
    X(OVERLAP, "ranges overlap or are out of order")                                             \
    X(BAD_ITEM_COUNT, "item count does not match")                                               \
    X(BAD_STATUS, "unknown status value")                                                        \
    X(BAD_FIELD, "field value not allowed in this combination")                                  \
    X(SIZE_OVERFLOW, "size arithmetic overflows")                                                \
    /* sessions and transports */                                                                \
    X(NOT_FOUND, "no provider at this endpoint (no socket there, or nobody answers)")          \
    X(ADDRESS_IN_USE, "endpoint is owned by a live server")                                      \
    X(AUTH_FAILED, "authentication token rejected")                                              \
    X(UNSUPPORTED, "no common transport profile, or method not served here")                     \
    X(INCOMPATIBLE, "peer speaks an incompatible protocol or layout")                            \
    X(LIMIT_EXCEEDED, "message exceeds the negotiated limits")                                   \
    X(HANDSHAKE, "handshake failed")                                                             \
    X(PROTOCOL, "peer violated the protocol")                                                    \
    X(BAD_CHUNK, "invalid chunk continuation")                                                   \
    X(DUPLICATE_ID, "message id already in flight")                                              \
    X(UNKNOWN_ID, "response for a message id that is not in flight")                             \
    X(TIMEOUT, "operation timed out")                                                            \
    X(ABORTED, "operation aborted")                                                              \
    X(DISCONNECTED, "peer closed the session")                                                   \
    X(IO, "operating system I/O error")                                                          \
    X(SHM_ALLOC, "shared memory region could not be allocated")                                  \
    X(SHM_NOT_READY, "shared memory region not initialised yet")                                 \
    X(SHM_BAD_SIZE, "shared memory region has inconsistent sizes")                               \
    X(SHM_BAD_PROFILE, "shared memory region was created for another profile")                   \
    X(TOO_LARGE, "message larger than the receive buffer or shared memory area")                 \
    X(CORRUPT, "shared memory area holds a corrupt length")                                      \
    X(SHM_LOST, "shared memory region was truncated or replaced by the peer; session closed")   \
    X(INSECURE_DIR, "run directory is not owned by this user or is writable by others")         \
    X(PEER_REJECTED, "peer credentials are not in the allow-list")                               \
    X(BUSY, "server session limit reached")                                                      \
    /* Level 2 and Level 3 */                                                                    \
    X(NOT_READY, "client is not connected (refresh() connects it, or returns why it cannot)")  \
    X(OVERFLOW, "response or request does not fit even after growing the limits")               \
    X(BAD_RESPONSE, "response does not match the request")                                       \
    X(REMOTE_BAD_ENVELOPE, "server could not decode the request")                                \
    X(REMOTE_INTERNAL, "server handler failed")                                                  \
    X(HANDLER_FAILED, "request handler reported failure")                                       \
    X(GENERATION_CHANGED, "provider data changed between the parts of a lookup; call again")

typedef enum nipc_error {
#define NIPC__ERROR_ENUM(name, msg) NIPC_ERR_##name,
    NIPC_ERROR_LIST(NIPC__ERROR_ENUM)
#undef NIPC__ERROR_ENUM
        NIPC_ERR__COUNT
} nipc_error_t;

#define NIPC_OK NIPC_ERR_OK

/* Human-readable message for `err`; never NULL, static storage. */
NIPC_API const char *nipc_strerror(nipc_error_t err);

/* Enum name without prefix ("TIMEOUT"); never NULL, static storage. */
NIPC_API const char *nipc_error_name(nipc_error_t err);

/*
 * errno (POSIX) or GetLastError() (Windows) behind the last error a netipc
 * call on this thread returned because of the operating system, else 0. A
 * Level 2 / Level 3 call that ends with an error the OS did not cause
 * clears it, so it never describes an earlier step.
 */
NIPC_API int nipc_last_os_error(void);

/*
 * In C, a bool where an error code is expected is refused at compile time:
 * `nipc_error_name(nipc_client_ready(c))` does not compile. (C++ refuses
 * any implicit conversion to an enum by itself.)
 */
#if !defined(__cplusplus) && defined(__STDC_VERSION__) && __STDC_VERSION__ >= 201112L &&        \
    !defined(NIPC_BUILDING)
typedef struct nipc__not_an_error_code {
    int bool_passed_where_an_error_code_belongs;
} nipc__not_an_error_code_t;
#define NIPC__ERROR_ARG(e) _Generic((e), _Bool: (nipc__not_an_error_code_t){0}, default: (e))
#define nipc_strerror(e) nipc_strerror(NIPC__ERROR_ARG(e))
#define nipc_error_name(e) nipc_error_name(NIPC__ERROR_ARG(e))
#endif

#ifdef __cplusplus
}
#endif

#endif
