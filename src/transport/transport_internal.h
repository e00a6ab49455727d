/*
 * The interface each platform's transports implement for the generic
 * session code (transport/session.c):
 *
 *  - a baseline connection that moves whole packets (UDS SEQPACKET record,
 *    Named Pipe message) with deadlines and abort, scatter/gather of two
 *    parts so framing needs no copies where the OS allows it;
 *  - the SHM data plane: per-session region create/attach, publish and
 *    consume of whole messages.
 *
 * Internal to the library.
 */
#ifndef NETIPC_TRANSPORT_INTERNAL_H
#define NETIPC_TRANSPORT_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "netipc/transport.h"

/* ------------------------------------------------------ baseline connection */

typedef struct nipc__conn nipc__conn_t;

/*
 * Connects to the endpoint without waiting; NOT_FOUND when nobody listens,
 * BUSY when a live listener cannot take a connection right now (UDS: full
 * backlog), which the caller retries until its handshake deadline.
 */
nipc_error_t nipc__conn_connect(const char *run_dir, const char *service, nipc__conn_t **out);

/* Packet size this side proposes when the configuration says "automatic". */
uint32_t nipc__conn_auto_packet_size(nipc__conn_t *c);

/*
 * Largest packet this side can send: a configured packet size is clamped
 * to it (UDS: SO_SNDBUF - 32, above which Linux refuses a record with
 * EMSGSIZE; Named Pipe: no limit).
 */
uint32_t nipc__conn_max_packet_size(nipc__conn_t *c);

/* 1 where peers have uids (POSIX), 0 where an allow-list cannot apply (Windows). */
extern const int nipc__conn_has_uids;

/*
 * Client, before the HELLO (which carries the auth token) is sent: refuses
 * a run dir writable by group or others (INSECURE_DIR) and a server whose
 * peer uid is not allowed (PEER_REJECTED): one of `allowed[0..count)` when
 * given, else the run dir's owner, root or this process's own user.
 * *server_uid receives the server's uid, which the SHM region's owner must
 * match; -1 where the platform has no uids (Windows: nothing is checked).
 */
nipc_error_t nipc__conn_verify_server(nipc__conn_t *c, const char *run_dir,
                                      const uint32_t *allowed, uint32_t count,
                                      int64_t *server_uid);

/*
 * Sends one packet made of a[0..alen) then b[0..blen). Waits for room until
 * `deadline` (monotonic ms, NIPC__NO_DEADLINE = none) or abort.
 * Errors: TIMEOUT, ABORTED, DISCONNECTED, IO.
 */
nipc_error_t nipc__conn_send(nipc__conn_t *c, const void *a, size_t alen, const void *b,
                             size_t blen, uint64_t deadline, const nipc_abort_t *abort);

/*
 * Receives one packet, scattering its first alen bytes into a and the rest
 * into b. *got = packet length (capped at alen + blen). A packet longer
 * than alen + blen returns TOO_LARGE with the parts filled. `first` hints
 * that the caller expects to wait (poll before reading); continuations
 * usually have data queued. Errors: TIMEOUT, ABORTED, DISCONNECTED (EOF,
 * reset), TOO_LARGE, IO.
 */
nipc_error_t nipc__conn_recv(nipc__conn_t *c, void *a, size_t alen, void *b, size_t blen,
                             size_t *got, int first, uint64_t deadline,
                             const nipc_abort_t *abort);

/*
 * After a TOO_LARGE receive: drops what is left of that packet, so the
 * next receive starts at the next packet. A SEQPACKET socket has already
 * dropped it (nothing to do); a message-mode pipe still holds it (read and
 * thrown away, in bounded pieces, until the deadline). The handshake uses
 * this where a longer record is accepted (its first 128 bytes decide).
 * Errors: as nipc__conn_recv() but TOO_LARGE.
 */
nipc_error_t nipc__conn_skip_rest(nipc__conn_t *c, uint64_t deadline);

/*
 * Called once the session's limits are agreed, with the largest packet the
 * connection will send or receive in two parts. Transports that must copy
 * such packets into one buffer (Windows: one WriteFile per message) allocate
 * it here, so send and receive never allocate; others do nothing. (A
 * two-part packet above the reserved size makes such a transport grow the
 * buffer then, or fail with NO_MEMORY.) Errors: NO_MEMORY.
 */
nipc_error_t nipc__conn_reserve(nipc__conn_t *c, size_t max_packet);

/*
 * The handshake's file descriptor passing (POSIX; Windows never offers the
 * profile that needs it and returns PLATFORM). send_fd sends one packet
 * with `fd` attached (SCM_RIGHTS). recv_fd receives one packet as
 * nipc__conn_recv() does; *fd is the one descriptor that came with it, or
 * -1 (any other descriptors are closed at once).
 */
nipc_error_t nipc__conn_send_fd(nipc__conn_t *c, const void *buf, size_t len, int fd,
                                uint64_t deadline);
nipc_error_t nipc__conn_recv_fd(nipc__conn_t *c, void *buf, size_t cap, size_t *got, int *fd,
                                uint64_t deadline);

/* Closes a descriptor received with nipc__conn_recv_fd(). */
void nipc__close_fd(int fd);

/* The peer's process id (SO_PEERCRED; GetNamedPipe*ProcessId), 0 when unknown. */
uint32_t nipc__conn_peer_pid(nipc__conn_t *c);

/* Zero-wait liveness probe: 1 if the peer has closed or the connection failed. */
int nipc__conn_peer_gone(nipc__conn_t *c);

void nipc__conn_close(nipc__conn_t *c);

/* A pending (accepted, not yet handshaken) connection, from the listener. */
struct nipc_pending {
    nipc__conn_t *conn;
    char *run_dir;
    char *service;
};

/* ------------------------------------------------------------------- SHM */

typedef struct nipc__shm nipc__shm_t;

/*
 * 1 when each SHM profile gets its own objects (Windows: names carry the
 * profile), 0 when one region serves every SHM profile (Linux).
 */
extern const int nipc__shm_region_per_profile;

/* Largest SHM area a client accepts: a whole message of the hard limit. */
#define NIPC__SHM_AREA_MAX (((uint64_t)NIPC_HEADER_SIZE + NIPC_PAYLOAD_HARD_LIMIT + 63u) & ~(uint64_t)63u)

/* SHM profile bits this platform implements. */
extern const uint32_t nipc__shm_profiles;

/*
 * netipc's sealed profile (NIPC_PROFILE_SHM_SEALED on Linux, 0 where it is
 * not available): the server creates an anonymous sealed region once the
 * profile is selected (create_sealed), passes nipc__shm_fd() with its
 * HELLO_ACK and then drops its descriptor (release_fd); the client maps
 * the descriptor it received (attach_fd, which consumes it), refusing one
 * not owned by `owner_uid` (PEER_REJECTED) or not sealed against shrinking
 * and growing (SHM_BAD_SIZE).
 */
extern const uint32_t nipc__shm_sealed_profile;
nipc_error_t nipc__shm_create_sealed(uint32_t request_capacity, uint32_t response_capacity,
                                     nipc__shm_t **out);
int nipc__shm_fd(const nipc__shm_t *s);
void nipc__shm_release_fd(nipc__shm_t *s);
nipc_error_t nipc__shm_attach_fd(int fd, int64_t owner_uid, nipc__shm_t **out);

/*
 * Server: creates the region for `session_id` before the HELLO is read.
 * Capacities are the area sizes in bytes (multiples of 64, each holding a
 * whole message including its 32-byte header). Errors: ADDRESS_IN_USE (a
 * live region of that name), SHM_ALLOC (no room: ENOSPC and friends), IO.
 */
nipc_error_t nipc__shm_create(const char *run_dir, const char *service, uint64_t session_id,
                              uint32_t profile, uint64_t auth_token, uint32_t request_capacity,
                              uint32_t response_capacity, nipc__shm_t **out);

/*
 * Client: attaches the region named by the HELLO_ACK. A region file not
 * owned by `owner_uid` (the verified server's uid; -1: no check) is
 * PEER_REJECTED: someone else planted it. Errors, retryable: SHM_NOT_READY,
 * BAD_MAGIC; final: BAD_VERSION, BAD_HEADER_LEN, SHM_BAD_SIZE (also an area
 * above NIPC_PAYLOAD_HARD_LIMIT), SHM_BAD_PROFILE, SHM_ALLOC (cannot map),
 * NO_MEMORY. The session layer returns these from connect unchanged, and
 * Level 2 reads exactly this set as "attach failed: reconnect without SHM".
 */
nipc_error_t nipc__shm_attach(const char *run_dir, const char *service, uint64_t session_id,
                              uint32_t profile, uint64_t auth_token, int64_t owner_uid,
                              nipc__shm_t **out);

uint32_t nipc__shm_request_capacity(const nipc__shm_t *s);
uint32_t nipc__shm_response_capacity(const nipc__shm_t *s);

/*
 * Publishes one message (hdr then payload) into this side's area.
 * Errors: INVALID_ARGUMENT (empty), TOO_LARGE (beyond the area).
 */
nipc_error_t nipc__shm_publish(nipc__shm_t *s, const void *hdr, size_t hlen, const void *payload,
                               size_t plen);

/*
 * Waits for the peer's next message and copies it into buf. Spins briefly,
 * then sleeps on the platform wait object in slices of at most 100 ms
 * (deadline 0: spin only, then TIMEOUT without reading the clock);
 * after each empty slice it checks `abort` and whether `liveness` (the
 * session's baseline connection) reports the peer gone. Errors: TIMEOUT,
 * ABORTED, DISCONNECTED, TOO_LARGE (consumed), CORRUPT (consumed).
 */
nipc_error_t nipc__shm_consume(nipc__shm_t *s, void *buf, size_t cap, uint32_t *len,
                               uint64_t deadline, const nipc_abort_t *abort,
                               nipc__conn_t *liveness);

/* Server: unmaps and removes the region; client: unmaps. */
void nipc__shm_close(nipc__shm_t *s);

/* What a region file in run_dir is (POSIX; used by `netipc status`). */
typedef enum nipc__region_state {
    NIPC__REGION_ABSENT,
    NIPC__REGION_LIVE,    /* its owner process is alive */
    NIPC__REGION_STALE,   /* left by a dead owner */
    NIPC__REGION_JUNK,    /* not a region (wrong magic, too short, not a file) */
    NIPC__REGION_UNKNOWN, /* could not tell (e.g. out of fds): treated as live */
} nipc__region_state_t;

nipc__region_state_t nipc__shm_region_state(const char *run_dir, const char *name);

/*
 * Removes the region file `name` of run_dir only if it is STALE (a netipc
 * region whose owner died), checked again and unlinked only while the entry
 * is still the file checked. 1 removed, 0 kept, -1 error (errno kept).
 */
int nipc__shm_remove_stale(const char *run_dir, const char *name);

/* ------------------------------------------------------------- session glue */

/*
 * nipc_session_connect() with an absolute deadline (monotonic ms,
 * NIPC__NO_DEADLINE = none) that also bounds the SHM attach retries, for
 * Level 2 calls whose timeout covers their reconnects. The configured
 * handshake and attach windows still apply within it.
 */
nipc_error_t nipc__session_connect_until(const char *run_dir, const char *service,
                                         const nipc_transport_config_t *config, uint64_t deadline,
                                         nipc_session_t **out);

/* A uid allow-list of a configuration: INVALID_ARGUMENT for a count without
 * a list; PLATFORM where uids do not exist (Windows). */
nipc_error_t nipc__check_allow_list(const nipc_transport_config_t *config);

/*
 * Wraps an accepted connection as a pending one (the listener's names are
 * copied). Consumes conn, also on failure; a NULL conn (a failed wrap) is
 * NO_MEMORY.
 */
nipc_error_t nipc__pending_create(nipc__conn_t *conn, const char *run_dir, const char *service,
                                  nipc_pending_t **out);

#endif
