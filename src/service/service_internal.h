/*
 * Level 2 internals shared by the client engine (client.c), the typed calls
 * (client_calls.c) and the server (server.c, server_dispatch.c).
 */
#ifndef NETIPC_SERVICE_INTERNAL_H
#define NETIPC_SERVICE_INTERNAL_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "netipc/service.h"
#include "netipc/transport.h"

static inline uint32_t nipc__or(uint32_t v, uint32_t def)
{
    return v ? v : def;
}

/* ------------------------------------------------------------------ client */

/*
 * Reconnect schedule of a failed call (services.md §4, deliberately
 * faster: docs/decisions.md). The first reconnect is immediate; each later
 * attempt waits twice as long as the one before, from 5 ms up to 40 ms, for
 * at most 8 attempts (195 ms of waiting in all), never past the call's
 * deadline. Tests derive their recovery bounds from these values.
 */
#define NIPC__RECONNECT_ATTEMPTS 8
#define NIPC__RECONNECT_FIRST_DELAY_MS 5u
#define NIPC__RECONNECT_MAX_DELAY_MS 40u

/* Wait before reconnect attempt `i` (0-based; attempt 0 does not wait). */
static inline uint32_t nipc__reconnect_delay_ms(int i)
{
    uint32_t d = 0;
    for (int k = 1; k <= i; k++)
        d = d ? (d * 2 > NIPC__RECONNECT_MAX_DELAY_MS ? NIPC__RECONNECT_MAX_DELAY_MS : d * 2)
              : NIPC__RECONNECT_FIRST_DELAY_MS;
    return d;
}

/* Waiting time of a whole reconnect-for-call (its attempts come on top). */
static inline uint32_t nipc__reconnect_window_ms(void)
{
    uint32_t sum = 0;
    for (int i = 0; i < NIPC__RECONNECT_ATTEMPTS; i++)
        sum += nipc__reconnect_delay_ms(i);
    return sum;
}

struct nipc_client {
    char *run_dir;
    char *service;
    nipc_client_config_t cfg; /* defaults filled in */

    /* Per-connection proposals: SHM bits are dropped for good after an
     * attach failure; payload proposals only grow (reset by close()). */
    uint32_t supported, preferred;
    uint32_t req_proposal, resp_proposal;

    nipc_session_t *session;
    atomic_int state; /* nipc_client_state_t */
    nipc_abort_t *abort;

    uint8_t *req_buf; /* encoded request, reused across calls */
    size_t req_cap;

    uint64_t connect_count, reconnect_count, call_count, error_count;
    nipc_error_t last_error;    /* of the last failed connect or call */
    nipc_error_t connect_error; /* of the last connect: OK, or why it failed */

    /* Stitched lookup results (client_lookup.c): two buffers used in turn,
     * so the keys of a call may point into the previous call's view. */
    uint8_t *lookup_buf[2];
    size_t lookup_cap[2];
    unsigned lookup_turn;
};

/* One typed call: the encoded request and how to decode its response. */
typedef struct nipc__call {
    uint16_t method;
    uint16_t flags;
    uint32_t item_count;
    const uint8_t *payload;
    size_t payload_len;
    nipc_error_t (*decode)(void *ctx, const nipc_message_t *msg);
    void *decode_ctx;
} nipc__call_t;

/* Runs a call with the retry and growth rules of services.md §3–§5. */
nipc_error_t nipc__client_call(nipc_client_t *c, const nipc__call_t *call, uint32_t timeout_ms);

/* The same under an absolute deadline (nipc__deadline()), shared by the
 * sub-calls of one lookup. */
nipc_error_t nipc__client_call_until(nipc_client_t *c, const nipc__call_t *call,
                                     uint64_t deadline);

/*
 * Lookup splitting (services.md §8): a key does not fit the agreed request
 * but does fit this client's proposal, so disconnect and reconnect (the
 * schedule above, under `deadline`) to let the server agree to more. OK
 * when READY again (the caller compares the new limits); otherwise the
 * state is BROKEN (or sticky) and the connect error, TIMEOUT or ABORTED is
 * returned.
 */
nipc_error_t nipc__client_renegotiate(nipc_client_t *c, uint64_t deadline);

/* Frees the lookup result buffers (close()). */
void nipc__client_lookup_release(nipc_client_t *c);

/* The client's request buffer with room for `len` bytes (NULL: no memory). */
uint8_t *nipc__client_request_buffer(nipc_client_t *c, size_t len);

void nipc__client_reset_limits(nipc_client_t *c);

/* ------------------------------------------------------------------ server */

/* The one typed handler of a server. */
typedef union nipc__handler {
    nipc_increment_handler_fn increment;
    nipc_string_reverse_handler_fn string_reverse;
    nipc_cgroups_snapshot_handler_fn cgroups_snapshot;
    nipc_cgroups_lookup_handler_fn cgroups_lookup;
    nipc_apps_lookup_handler_fn apps_lookup;
} nipc__handler_t;

/*
 * Per-method request processing. `req` is the request payload (one item of
 * a batch, or the whole payload); the answer goes to out[0..cap).
 * Returns OK, a codec error (→ BAD_ENVELOPE), BUFFER_TOO_SMALL (→
 * LIMIT_EXCEEDED) or HANDLER_FAILED (→ INTERNAL_ERROR).
 */
typedef nipc_error_t (*nipc__dispatch_fn)(const nipc__handler_t *handler, void *ctx,
                                          const uint8_t *req, size_t req_len, uint8_t *out,
                                          size_t cap, size_t *out_len);

typedef struct nipc__method {
    uint16_t code;
    int batchable; /* INCREMENT and STRING_REVERSE; snapshots and lookups are not */
    nipc__dispatch_fn dispatch;
} nipc__method_t;

extern const nipc__method_t nipc__method_increment;

/*
 * A whole INCREMENT batch request at once (its answers have a fixed size).
 * Writes the same bytes and fails with the same errors, item by item, as
 * the generic per-item path in server.c; it only saves the calls per item.
 */
nipc_error_t nipc__dispatch_increment_batch(const nipc__handler_t *handler, void *ctx,
                                            const uint8_t *req, size_t req_len,
                                            uint32_t item_count, uint8_t *out, size_t cap,
                                            size_t *out_len);
extern const nipc__method_t nipc__method_string_reverse;
extern const nipc__method_t nipc__method_cgroups_snapshot;
extern const nipc__method_t nipc__method_cgroups_lookup; /* server_lookup.c */
extern const nipc__method_t nipc__method_apps_lookup;

/* Creates a server for `method` with its typed handler. */
nipc_error_t nipc__server_create(const char *run_dir, const char *service,
                                 const nipc_server_config_t *config, const nipc__method_t *method,
                                 nipc__handler_t handler, void *ctx, nipc_server_t **out);

#endif
