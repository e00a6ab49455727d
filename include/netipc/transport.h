/*
 * netipc Level 1: sessions between one client and one server over the
 * platform's baseline transport (UDS SEQPACKET on POSIX, Named Pipe on
 * Windows) with an optional shared-memory data plane (Linux SHM, Windows
 * SHM). The same API on every platform; the service layer never needs to
 * know which transport carries a session.
 *
 * Level 1 owns endpoints, listen/accept/connect, the HELLO handshake,
 * framing, chunking, batch-directory checks, message-id tracking and the SHM
 * data plane. It never interprets payloads, never retries and never
 * reconnects (Levels 2/3 do). Sessions are not thread-safe: one thread uses
 * a session at a time; distinct sessions are independent. Every blocking
 * call takes a timeout and, where it can wait for a peer, an abort object.
 */
#ifndef NETIPC_TRANSPORT_H
#define NETIPC_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "netipc/error.h"
#include "netipc/protocol.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------ abort */

/*
 * A sticky, thread-safe abort signal that wakes blocked receives: a
 * non-blocking pipe polled with the socket on POSIX (after a first blocking
 * attempt of at most 2 ms, see docs/transport-posix.md), a manual-reset
 * event on Windows. Trigger from any thread; stays set until cleared.
 */
typedef struct nipc_abort nipc_abort_t;

NIPC_API nipc_error_t nipc_abort_create(nipc_abort_t **out);
NIPC_API void nipc_abort_trigger(nipc_abort_t *a);
NIPC_API void nipc_abort_clear(nipc_abort_t *a);
NIPC_API bool nipc_abort_is_set(const nipc_abort_t *a);
NIPC_API void nipc_abort_free(nipc_abort_t *a);

/* ------------------------------------------------------------ configuration */

#define NIPC_HANDSHAKE_TIMEOUT_DEFAULT_MS 5000u

#define NIPC_SHM_ATTACH_TIMEOUT_DEFAULT_MS 5000u
#define NIPC_MAX_IN_FLIGHT_DEFAULT 128u
#define NIPC_BACKLOG_DEFAULT 16

/*
 * Session parameters for either side. Zero means "default" everywhere:
 * profiles BASELINE, payload limits 1024 bytes, batch limits 1 item, packet
 * size automatic (UDS: SO_SNDBUF - 32; Named Pipe: 65536).
 *
 * Client: the values are the HELLO proposal. Server: supported/preferred
 * profiles (preferred 0 = the supported set, as upstream servers run),
 * max_request_payload_bytes is the ceiling a client may propose,
 * max_response_payload_bytes is what every client gets; batch fields are
 * not used (the server echoes the client's).
 */
typedef struct nipc_transport_config {
    uint32_t supported_profiles;
    uint32_t preferred_profiles;
    uint32_t max_request_payload_bytes;
    uint32_t max_request_batch_items;
    uint32_t max_response_payload_bytes;
    uint32_t max_response_batch_items;
    uint64_t auth_token;
    uint32_t packet_size;          /* 0 = automatic; larger than the socket can send: clamped */
    uint32_t handshake_timeout_ms; /* 0 = 5000; bounds a silent peer */
    uint32_t shm_attach_timeout_ms; /* client: retry window for a not-ready region; 0 = 5000 */
    uint32_t max_in_flight;        /* client: pipelined requests tracked; 0 = 128 */
    /*
     * POSIX peers allowed by uid (Windows: a count > 0 is PLATFORM; a count
     * without a list is INVALID_ARGUMENT). Server: admit only clients whose
     * uid is listed; none = anyone who can open the socket (the run dir and
     * socket mode protect it). Client: talk only to a server whose uid is
     * listed; none = the run dir's owner, root, or this process's user.
     */
    const uint32_t *allowed_uids;
    uint32_t allowed_uid_count;
    int backlog; /* server only: listen backlog, 0 = 16 */
    /*
     * Nonzero: advertise supported/preferred_profiles exactly as given.
     * Zero (the default): where SHM_HYBRID or SHM_FUTEX is listed, netipc's
     * own NIPC_PROFILE_SHM_SEALED is added (Linux), so two netipc peers use
     * it and upstream peers, which do not list it, keep their profile.
     */
    int exact_profiles;
} nipc_transport_config_t;

/* What a session agreed on. */
typedef struct nipc_session_info {
    int is_server;
    uint32_t selected_profile; /* NIPC_PROFILE_* bit actually in use */
    uint32_t max_request_payload;
    uint32_t max_request_batch;
    uint32_t max_response_payload;
    uint32_t max_response_batch;
    uint32_t packet_size;
    uint64_t session_id;
    uint32_t shm_request_capacity; /* 0 when the session runs on the baseline */
    uint32_t shm_response_capacity;
    uint32_t server_profiles; /* every profile the server supports (from its HELLO_ACK) */
    uint32_t peer_pid;        /* the other side's process id; 0 when the OS cannot tell */
} nipc_session_info_t;

/* A received message; `payload` is borrowed until the next receive or close. */
typedef struct nipc_message {
    nipc_header_t header;
    const uint8_t *payload; /* header.payload_len bytes */
} nipc_message_t;

/* ---------------------------------------------------------------- server */

typedef struct nipc_listener nipc_listener_t;
typedef struct nipc_pending nipc_pending_t;
typedef struct nipc_session nipc_session_t;

/*
 * Creates the endpoint for (run_dir, service): validates the service name,
 * recovers a stale endpoint left by a dead server, refuses a live one
 * (ADDRESS_IN_USE). POSIX: run_dir must exist, be owned by this user and not
 * be writable by others (INSECURE_DIR); the socket is created 0600 and
 * leftover SHM files of dead sessions of this exact service are removed.
 * Errors: BAD_SERVICE_NAME, PATH_TOO_LONG, ADDRESS_IN_USE, INSECURE_DIR,
 * NOT_FOUND (run_dir missing), IO, NO_MEMORY.
 */
NIPC_API nipc_error_t nipc_listener_create(const char *run_dir, const char *service,
                                           const nipc_transport_config_t *config,
                                           nipc_listener_t **out);

/*
 * Waits up to timeout_ms (0 = return at once) for a connection and returns it
 * without reading anything from it, so a silent client never blocks the
 * accept loop. TIMEOUT when none arrived; PEER_REJECTED for a peer outside
 * the uid allow-list (already closed). Thread-safe against
 * nipc_listener_wake().
 */
NIPC_API nipc_error_t nipc_listener_accept(nipc_listener_t *l, uint32_t timeout_ms,
                                           nipc_pending_t **out);

/* Makes a blocked nipc_listener_accept() return TIMEOUT now (any thread). */
NIPC_API void nipc_listener_wake(nipc_listener_t *l);

/* Closes the listener and removes its endpoint (socket file). */
NIPC_API void nipc_listener_free(nipc_listener_t *l);

/*
 * Runs the server handshake on a pending connection and consumes it. When
 * the configuration offers SHM, the region for `session_id` is created
 * before the HELLO is read (as peers expect) and kept only if selected.
 * The handshake is bounded by handshake_timeout_ms. On success *out is a
 * READY session. Errors: TIMEOUT (silent client), DISCONNECTED, HANDSHAKE
 * (malformed HELLO, closed without answer), AUTH_FAILED / UNSUPPORTED /
 * INCOMPATIBLE / LIMIT_EXCEEDED (rejected with that ACK), NO_MEMORY, IO.
 */
NIPC_API nipc_error_t nipc_pending_accept(nipc_pending_t *p, const nipc_transport_config_t *config,
                                          uint64_t session_id, nipc_session_t **out);

/*
 * Answers the client's HELLO (read within timeout_ms; 0 = the default
 * handshake timeout) with a rejection ACK carrying `status` (an
 * NIPC_STATUS_* other than OK), then closes and consumes the connection.
 * Used for a session limit.
 */
NIPC_API void nipc_pending_reject(nipc_pending_t *p, uint16_t status, uint32_t timeout_ms);

/* Closes a pending connection without a word. */
NIPC_API void nipc_pending_free(nipc_pending_t *p);

/* ---------------------------------------------------------------- client */

/*
 * Connects to (run_dir, service) and runs the client handshake; when an SHM
 * profile is selected, attaches the region (retrying a not-ready region for
 * shm_attach_timeout_ms). handshake_timeout_ms bounds everything up to the
 * ACK, including waiting for room in a busy listener's backlog. Errors:
 * BAD_SERVICE_NAME, PATH_TOO_LONG, NOT_FOUND (nobody listening),
 * AUTH_FAILED, UNSUPPORTED, INCOMPATIBLE, LIMIT_EXCEEDED, BUSY (server at
 * its session limit), HANDSHAKE, PROTOCOL, TIMEOUT, DISCONNECTED, SHM_* /
 * BAD_MAGIC / BAD_VERSION / BAD_HEADER_LEN
 * (attach failed: reconnect without SHM), NO_MEMORY, IO.
 */
NIPC_API nipc_error_t nipc_session_connect(const char *run_dir, const char *service,
                                           const nipc_transport_config_t *config,
                                           nipc_session_t **out);

/* ---------------------------------------------------------------- session */

/*
 * Sends one message. The caller sets kind, code, flags, item_count,
 * message_id and transport_status in *header; magic, version, header_len and
 * payload_len are filled in here. Outbound limits are checked first
 * (LIMIT_EXCEEDED, nothing sent): a client's REQUEST against the agreed
 * request payload/batch, a server's RESPONSE against the agreed response
 * payload/batch. A client REQUEST id enters the in-flight set (DUPLICATE_ID
 * if present; LIMIT_EXCEEDED if max_in_flight are pending). Over SHM only
 * one request may be outstanding and the message must fit the area
 * (TOO_LARGE). Large payloads are chunked on the baseline. A peer that stops
 * reading cannot block the sender past timeout_ms (0 = no deadline); `abort`
 * (may be NULL) wakes a blocked send. TIMEOUT / ABORTED before the first
 * packet left keep the session usable; any error after part of a message
 * went out leaves it broken. Errors: LIMIT_EXCEEDED, DUPLICATE_ID,
 * TOO_LARGE, TIMEOUT, ABORTED, DISCONNECTED, IO. Never allocates.
 */
NIPC_API nipc_error_t nipc_session_send(nipc_session_t *s, nipc_header_t *header,
                                        const void *payload, size_t payload_len,
                                        uint32_t timeout_ms, const nipc_abort_t *abort);

/*
 * Receives one whole message (chunks reassembled, batch directory
 * validated) into the session's buffer; msg->payload is valid until the
 * next receive or close. Waits at most timeout_ms (0 = no deadline) for the
 * whole message; `abort` (may be NULL) wakes it with ABORTED. A dead peer is
 * detected within ~100 ms on every transport (DISCONNECTED), also over SHM.
 * TIMEOUT or ABORTED before any byte of a message arrived leaves the session
 * usable; after that the session is broken. On a server session a message
 * that has begun gets at least handshake_timeout_ms (default 5 s) to arrive
 * whole, however short timeout_ms is: a server polling in short slices does
 * not cut an honest client's large request, and still drops a stalling one. Errors: TIMEOUT, ABORTED,
 * DISCONNECTED, PROTOCOL (bad header, kind), LIMIT_EXCEEDED (payload or
 * item_count above the agreed limit: msg->header is filled so a server can
 * answer), UNKNOWN_ID (client: response not in flight), BAD_CHUNK,
 * TRUNCATED / BAD_ALIGNMENT / OUT_OF_BOUNDS (batch directory), TOO_LARGE,
 * CORRUPT (SHM), IO. Never allocates.
 */
NIPC_API nipc_error_t nipc_session_receive(nipc_session_t *s, nipc_message_t *msg,
                                           uint32_t timeout_ms, const nipc_abort_t *abort);

/* Agreed parameters of the session. */
NIPC_API const nipc_session_info_t *nipc_session_info(const nipc_session_t *s);

/* Number of client requests awaiting a response. */
NIPC_API uint32_t nipc_session_in_flight(const nipc_session_t *s);

/* Closes the session (server: also removes its SHM region) and frees it. */
NIPC_API void nipc_session_close(nipc_session_t *s);

/* ---------------------------------------------------------------- helpers */

/* true if `name` is a valid service name: [A-Za-z0-9._-]+, not "." or "..". */
NIPC_API bool nipc_service_name_valid(const char *name);

/*
 * SIGBUS from a shared-memory region (Linux). A region of profile 0x02 /
 * 0x04 is a file in the run dir that the peer can open too; if it
 * truncates the file, the next access to the lost pages raises SIGBUS,
 * which kills a process by default. netipc therefore installs a SIGBUS
 * handler the first time it maps such a region: a fault inside a netipc
 * region is repaired with zero pages (the access completes, the session
 * fails with SHM_LOST at its next wait and is closed), any other SIGBUS is
 * passed to the handler installed before, or gets the default action.
 * Regions of NIPC_PROFILE_SHM_SEALED cannot shrink and need none of this.
 *
 * A host that installs its own SIGBUS handler after netipc mapped a region
 * replaces netipc's; it must then start its handler with
 *
 *     if (info->si_code > 0 && nipc_shm_fault_recover(info->si_addr))
 *         return;
 *
 * Returns true when `addr` lies in a netipc region, now backed by zero
 * pages (return from the handler), else false. Async-signal-safe. Always
 * false where no file-backed region exists (Windows, POSIX without Linux
 * SHM).
 */
NIPC_API bool nipc_shm_fault_recover(void *addr);

/*
 * Removes SHM files of dead sessions of exactly `service` in run_dir (never
 * those of another service whose name starts the same way); *removed (may
 * be NULL) counts them. Errors: BAD_SERVICE_NAME, INVALID_ARGUMENT (NULL
 * run_dir), IO (run_dir unreadable; nipc_last_os_error() says why).
 * Nothing to do (OK, 0) where SHM needs no cleanup (Windows).
 */
NIPC_API nipc_error_t nipc_shm_cleanup_stale(const char *run_dir, const char *service,
                                             uint32_t *removed);

#ifdef __cplusplus
}
#endif

#endif
