/*
 * netipc Level 2: typed clients and managed servers.
 *
 * A client binds to a service kind in a run directory, never to a process.
 * Creating a client does not connect and does not need the provider; the
 * caller drives (re)connection with nipc_client_refresh() from its own loop
 * (no hidden threads or timers) and treats NOT_FOUND as a normal state.
 * Calls are at-least-once: a transport failure reconnects and retries once,
 * so a server may see a request twice. Responses that do not fit grow the
 * negotiated limits by reconnecting (powers of two, bounded).
 *
 * A server serves exactly one service kind with one typed handler, in a
 * thread per session up to a session limit, with library-owned buffers.
 *
 * Callers never pass scratch buffers and never see method codes.
 */
#ifndef NETIPC_SERVICE_H
#define NETIPC_SERVICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "netipc/codec.h"
#include "netipc/error.h"
#include "netipc/lookup.h"
#include "netipc/protocol.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Level 2 defaults (services.md). */
#define NIPC_CALL_TIMEOUT_DEFAULT_MS 30000u
#define NIPC_RESPONSE_PAYLOAD_DEFAULT 65536u
#define NIPC_GROWTH_CEILING_DEFAULT 1048576u
#define NIPC_SERVER_SESSIONS_DEFAULT 64u
/* Ceilings of one logical lookup call (services.md §1, §8). */
#define NIPC_LOOKUP_MAX_ITEMS_DEFAULT 65536u
#define NIPC_LOOKUP_MAX_SUBCALLS_DEFAULT 4096u
#define NIPC_LOOKUP_MAX_RESPONSE_DEFAULT (64u * 1024u * 1024u)

/* ================================================================= client */

typedef enum nipc_client_state {
    NIPC_CLIENT_DISCONNECTED = 0, /* initial; also after close() and most connect failures */
    NIPC_CLIENT_CONNECTING,       /* only observable inside refresh() */
    NIPC_CLIENT_READY,
    NIPC_CLIENT_NOT_FOUND,    /* no provider listening: normal, retry with refresh() */
    NIPC_CLIENT_AUTH_FAILED,  /* sticky until close() */
    NIPC_CLIENT_INCOMPATIBLE, /* sticky until close() */
    NIPC_CLIENT_BROKEN,       /* a call failed; refresh() reconnects */
} nipc_client_state_t;

/* Name of a state ("READY"); static storage. */
NIPC_API const char *nipc_client_state_name(nipc_client_state_t state);

/* Zero means the default for every field. */
typedef struct nipc_client_config {
    uint32_t supported_profiles;         /* 0 = BASELINE; add NIPC_PROFILE_SHM_HYBRID for SHM */
    uint32_t preferred_profiles;         /* 0 = no preference (the server decides) */
    uint32_t max_request_payload_bytes;  /* 0 = 1024; starting proposal, grows on demand */
    uint32_t max_request_batch_items;    /* 0 = 1 */
    uint32_t max_response_payload_bytes; /* 0 = 65536; a hint, the server decides */
    uint32_t max_payload_ceiling;        /* growth bound for both directions; 0 = 1 MiB */
    uint64_t auth_token;
    uint32_t call_timeout_ms; /* default for calls given timeout 0; 0 = 30000 */
    /* How long connect keeps retrying an SHM region that is not ready before
     * it gives up on SHM for good and reconnects over the baseline; 0 = 5000. */
    uint32_t shm_attach_timeout_ms;
    /* Lookup calls: most keys per logical call, most sub-calls it may be
     * split into, largest stitched response; beyond them the call fails
     * with OVERFLOW. 0 = NIPC_LOOKUP_MAX_*_DEFAULT (65536, 4096, 64 MiB). */
    uint32_t max_logical_lookup_items;
    uint32_t max_logical_lookup_subcalls;
    uint32_t max_logical_lookup_response_bytes;
    /* POSIX: servers this client talks to, by uid; none = the run dir's
     * owner, root or this process's user (Windows: a count > 0 is PLATFORM). */
    const uint32_t *allowed_server_uids;
    uint32_t allowed_server_uid_count;
    /* Nonzero: the profiles exactly as given, without netipc's sealed SHM
     * profile added to SHM_HYBRID (nipc_transport_config_t.exact_profiles). */
    int exact_profiles;
    /* How long a connect waits for the server's HELLO_ACK; 0 = 5000. */
    uint32_t handshake_timeout_ms;
} nipc_client_config_t;

typedef struct nipc_client_status {
    nipc_client_state_t state;
    nipc_error_t last_error;         /* of the last failed connect or call */
    nipc_error_t last_connect_error; /* of the last connect attempt (OK once connected) */
    uint64_t connect_count;   /* successful first connections */
    uint64_t reconnect_count; /* successful reconnections */
    uint64_t call_count;      /* successful calls */
    uint64_t error_count;     /* failed calls */
    uint32_t selected_profile; /* of the current session, 0 when none */
    uint32_t max_request_payload;  /* agreed, 0 when none */
    uint32_t max_response_payload; /* agreed, 0 when none */
} nipc_client_status_t;

typedef struct nipc_client nipc_client_t;

/*
 * Creates a client for (run_dir, service). Never connects. Strings are
 * copied. Errors: INVALID_ARGUMENT, BAD_SERVICE_NAME, NO_MEMORY.
 */
NIPC_API nipc_error_t nipc_client_create(const char *run_dir, const char *service,
                                         const nipc_client_config_t *config,
                                         nipc_client_t **out);

/*
 * Drives the connection: DISCONNECTED / NOT_FOUND try to connect, BROKEN
 * reconnects, READY / AUTH_FAILED / INCOMPATIBLE do nothing. Returns OK
 * when the client is READY afterwards, else why it is not: the error of the
 * connect just tried (NOT_FOUND: no provider, a normal state; BUSY,
 * TIMEOUT, INSECURE_DIR, PEER_REJECTED, ...) or of the sticky state
 * (AUTH_FAILED, INCOMPATIBLE until close()). A state change shows in
 * nipc_client_state() and the connect / reconnect counters. Blocks for at
 * most one connect + handshake + SHM attach (the handshake and attach
 * windows, 5 s each by default; a missing provider fails at once). While
 * the abort flag is set it connects nothing and returns ABORTED.
 */
NIPC_API nipc_error_t nipc_client_refresh(nipc_client_t *c);

/* true when READY. Cached: no system call; safe from any thread. */
NIPC_API bool nipc_client_ready(const nipc_client_t *c);

/* Current state. Cached: no system call; safe from any thread. */
NIPC_API nipc_client_state_t nipc_client_state(const nipc_client_t *c);

/* State and counters. Not synchronised with a call running on another thread. */
NIPC_API void nipc_client_status(const nipc_client_t *c, nipc_client_status_t *out);

/*
 * Makes the current and every later call (and refresh) fail with ABORTED,
 * whatever the client's state, waking a blocked call within at most 100 ms
 * (within 2 ms on UDS, at once on named pipes). Thread-safe and
 * async-signal-safe; sticky until nipc_client_clear_abort() or close().
 */
NIPC_API void nipc_client_abort(nipc_client_t *c);
NIPC_API void nipc_client_clear_abort(nipc_client_t *c);

/*
 * Disconnects, drops buffers and views, clears the abort flag and sticky
 * states: the client is DISCONNECTED and can be refreshed again.
 */
NIPC_API void nipc_client_close(nipc_client_t *c);

/* close() and free the client. */
NIPC_API void nipc_client_free(nipc_client_t *c);

/*
 * Typed calls. Not thread-safe: one call at a time per client (use one
 * client per thread). timeout_ms bounds the whole call, retry included
 * (0 = the configured default). Errors, besides those of the transports:
 * NOT_READY (state is not READY: call refresh()), ABORTED, TIMEOUT,
 * OVERFLOW (does not fit even after growth), BAD_RESPONSE (wrong kind, code,
 * id or item count), REMOTE_BAD_ENVELOPE, REMOTE_INTERNAL, UNSUPPORTED (the
 * endpoint serves another method), codec errors of the response.
 */

/* INCREMENT: *out = server's answer for `value` (value + 1 by convention). */
NIPC_API nipc_error_t nipc_client_increment(nipc_client_t *c, uint64_t value, uint64_t *out,
                                            uint32_t timeout_ms);

/*
 * INCREMENT batch: out[i] answers values[i]. count 0 does no I/O; count 1 is
 * a single call; more is one batch message (count must not exceed the
 * configured max_request_batch_items: LIMIT_EXCEEDED).
 */
NIPC_API nipc_error_t nipc_client_increment_batch(nipc_client_t *c, const uint64_t *values,
                                                  uint32_t count, uint64_t *out,
                                                  uint32_t timeout_ms);

/* STRING_REVERSE: *out borrows the client's buffer until its next call. */
NIPC_API nipc_error_t nipc_client_string_reverse(nipc_client_t *c, const char *str, uint32_t len,
                                                 nipc_str_t *out, uint32_t timeout_ms);

/*
 * CGROUPS_SNAPSHOT: *out is a zero-copy view into the client's buffer,
 * valid until the next call, close() or free() on this client. Items are
 * read with nipc_cgroups_resp_item().
 */
NIPC_API nipc_error_t nipc_client_cgroups_snapshot(nipc_client_t *c, nipc_cgroups_view_t *out,
                                                   uint32_t timeout_ms);

/*
 * Lookup calls (services.md §8): one logical call for n ordered keys that
 * returns ONE response in request order, item i answering key i, read with
 * nipc_cgroups_lookup_resp_item() / nipc_apps_lookup_resp_item(). The keys
 * are split into as many sub-calls as the agreed request size needs, under
 * one deadline (timeout_ms, 0 = the configured default) with abort and the
 * deadline checked before each; a PAYLOAD_EXCEEDED tail is asked for again
 * and the answers are stitched; every sub-response must carry the same
 * generation, one item per key and the echoed keys. PAYLOAD_EXCEEDED never
 * reaches the caller; OVERSIZED_ITEM is a final per-item outcome (for
 * cgroups also produced locally for a path too long to send at all). n = 0
 * sends one empty request (a probe that returns the generation).
 *
 * *out views a client-owned buffer, valid until the next call, close() or
 * free() on this client; keys may point into the view of the previous
 * call. Buffers grow only when a call needs more than any before.
 *
 * Errors, besides those of the other calls: INVALID_ARGUMENT (NULL keys),
 * BAD_FIELD / EMBEDDED_NUL (an empty path or a NUL in one: nothing sent),
 * OVERFLOW (more than max_logical_lookup_items keys, more sub-calls than
 * max_logical_lookup_subcalls, a stitched response above
 * max_logical_lookup_response_bytes, a key that cannot be sent even after
 * renegotiating, a sub-response whose first item is PAYLOAD_EXCEEDED),
 * GENERATION_CHANGED (the provider's data changed between sub-calls: no
 * mixed result; call again), BAD_RESPONSE (wrong item count, a key not
 * echoed, an answered item after PAYLOAD_EXCEEDED). These lookup-level
 * failures leave the session connected.
 */
NIPC_API nipc_error_t nipc_client_cgroups_lookup(nipc_client_t *c, const nipc_str_t *paths,
                                                 uint32_t n, nipc_cgroups_lookup_view_t *out,
                                                 uint32_t timeout_ms);
NIPC_API nipc_error_t nipc_client_apps_lookup(nipc_client_t *c, const uint32_t *pids, uint32_t n,
                                              nipc_apps_lookup_view_t *out, uint32_t timeout_ms);

/* ================================================================= server */

typedef struct nipc_server_config {
    uint32_t supported_profiles;         /* 0 = BASELINE */
    uint32_t preferred_profiles;         /* 0 = the supported set (as upstream servers) */
    uint32_t max_request_payload_bytes;  /* 0 = 1024: the largest request a client may propose */
    uint32_t max_request_batch_items;    /* 0 = 1: batch items accepted per request */
    uint32_t max_response_payload_bytes; /* 0 = 65536: what every client gets */
    uint64_t auth_token;
    uint32_t max_sessions;         /* concurrent sessions (one thread each); 0 = 64 */
    uint32_t handshake_timeout_ms; /* silent clients are dropped after this; 0 = 5000 */
    /* POSIX: admit only clients with these uids; count 0 = no check; a count
     * without a list is INVALID_ARGUMENT (Windows: a count > 0 is PLATFORM). */
    const uint32_t *allowed_uids;
    uint32_t allowed_uid_count;
    int exact_profiles; /* as in nipc_client_config_t */
} nipc_server_config_t;

/*
 * Handlers run on session threads, concurrently for different sessions:
 * they must be thread-safe. Return NIPC_OK, NIPC_ERR_BUFFER_TOO_SMALL when
 * the answer does not fit (the client gets LIMIT_EXCEEDED and may grow), or
 * any other code for a failure (the client gets INTERNAL_ERROR).
 */
typedef nipc_error_t (*nipc_increment_handler_fn)(void *ctx, uint64_t value, uint64_t *out);

/* Write the answer for `in` into out[0..cap) and its length into *out_len. */
typedef nipc_error_t (*nipc_string_reverse_handler_fn)(void *ctx, nipc_str_t in, char *out,
                                                       uint32_t cap, uint32_t *out_len);

/* Build the whole response into buf[0..cap) with nipc_cgroups_builder_*. */
typedef nipc_error_t (*nipc_cgroups_snapshot_handler_fn)(void *ctx, void *buf, size_t cap,
                                                         size_t *out_len);

/*
 * Lookup handlers get the decoded request (keys read with
 * nipc_cgroups_lookup_req_key() / nipc_apps_lookup_req_pid()) and a reply
 * builder over the session's response buffer. Add exactly one item per key,
 * in request order, echoing the key; set the generation with
 * nipc_*_lookup_builder_set_generation() (default 0). The builder keeps
 * room for the keys still to come and turns answers that do not fit into
 * OVERSIZED_ITEM / PAYLOAD_EXCEEDED by itself (nipc_*_builder_exceeded()
 * tells when the remaining answers no longer matter). The answer is judged
 * by the builder first: an invalid item (sticky builder error) or a wrong
 * item count is answered BAD_ENVELOPE, not even room for minimal items
 * LIMIT_EXCEEDED; then a non-OK return is INTERNAL_ERROR.
 */
typedef nipc_error_t (*nipc_cgroups_lookup_handler_fn)(void *ctx,
                                                       const nipc_cgroups_lookup_req_t *req,
                                                       nipc_cgroups_lookup_builder_t *b);
typedef nipc_error_t (*nipc_apps_lookup_handler_fn)(void *ctx, const nipc_apps_lookup_req_t *req,
                                                    nipc_apps_lookup_builder_t *b);

typedef struct nipc_server nipc_server_t;

/*
 * Creates a server for one service kind: validates, removes stale SHM files
 * of dead sessions of this exact service, and listens (ADDRESS_IN_USE when a
 * live server owns the endpoint). Does not start serving.
 */
NIPC_API nipc_error_t nipc_server_create_increment(const char *run_dir, const char *service,
                                                   const nipc_server_config_t *config,
                                                   nipc_increment_handler_fn fn, void *ctx,
                                                   nipc_server_t **out);
NIPC_API nipc_error_t nipc_server_create_string_reverse(const char *run_dir, const char *service,
                                                        const nipc_server_config_t *config,
                                                        nipc_string_reverse_handler_fn fn,
                                                        void *ctx, nipc_server_t **out);
NIPC_API nipc_error_t nipc_server_create_cgroups_snapshot(const char *run_dir, const char *service,
                                                          const nipc_server_config_t *config,
                                                          nipc_cgroups_snapshot_handler_fn fn,
                                                          void *ctx, nipc_server_t **out);

/* Lookup servers are not batch-aware: a BATCH request is answered BAD_ENVELOPE. */
NIPC_API nipc_error_t nipc_server_create_cgroups_lookup(const char *run_dir, const char *service,
                                                        const nipc_server_config_t *config,
                                                        nipc_cgroups_lookup_handler_fn fn,
                                                        void *ctx, nipc_server_t **out);
NIPC_API nipc_error_t nipc_server_create_apps_lookup(const char *run_dir, const char *service,
                                                     const nipc_server_config_t *config,
                                                     nipc_apps_lookup_handler_fn fn, void *ctx,
                                                     nipc_server_t **out);

/*
 * Starts the accept thread and returns; sessions get their own threads.
 * start(), run(), join() and destroy() are the owner's: call them from one
 * thread (or serialise them); only stop() and stats() may come from any
 * thread. A second start() or run() returns INVALID_ARGUMENT.
 */
NIPC_API nipc_error_t nipc_server_start(nipc_server_t *s);

/*
 * Runs the accept loop on the calling thread until nipc_server_stop() is
 * called (from a signal handler or another thread); then returns OK. Call
 * nipc_server_join() afterwards to drain the sessions. Use either start()
 * or run(), once.
 */
NIPC_API nipc_error_t nipc_server_run(nipc_server_t *s);

/* Asks the server to stop accepting and to end sessions after their current
 * request. Returns at once. Thread-safe and async-signal-safe. */
NIPC_API void nipc_server_stop(nipc_server_t *s);

/*
 * Stops (if not yet) and waits up to timeout_ms for in-flight requests to
 * finish, then forces the remaining sessions closed and joins every thread.
 * Returns OK when everything finished in time, TIMEOUT when sessions had to
 * be forced (every thread is joined either way). A handler that never
 * returns cannot be interrupted, nor can a handshake in progress (a client
 * that connected but has not sent its HELLO): it ends within
 * handshake_timeout_ms. Idempotent: later calls return OK.
 */
NIPC_API nipc_error_t nipc_server_join(nipc_server_t *s, uint32_t timeout_ms);

/* Joins (5 s) if needed, removes the socket and SHM files, frees. */
NIPC_API void nipc_server_destroy(nipc_server_t *s);

typedef struct nipc_server_stats {
    uint64_t sessions_accepted; /* handshakes completed */
    uint64_t sessions_rejected; /* over the session limit or refused */
    uint64_t handshakes_failed; /* silent, malformed or refused clients */
    uint64_t requests;          /* requests answered OK (counted once the answer is out:
                                   its client may read it a moment before the count moves) */
    uint64_t request_errors;    /* requests answered with an error status */
    uint32_t sessions_active;
} nipc_server_stats_t;

NIPC_API void nipc_server_stats(const nipc_server_t *s, nipc_server_stats_t *out);

#ifdef __cplusplus
}
#endif

#endif
