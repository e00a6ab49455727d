/*
 * Level 2 client context: the state machine driven by refresh(), the call
 * engine (one attempt, at-least-once retry, overflow-driven growth), abort
 * and status. Typed calls (client_calls.c) encode a request into the
 * client's buffer and hand this engine a decoder for the response.
 *
 * The client owns one Level 1 session at a time and never runs a thread of
 * its own. Buffers are allocated when a session is set up or when a request
 * bigger than any before needs room; steady-state calls do not allocate.
 */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "netipc/service.h"
#include "netipc/transport.h"
#include "common/internal.h"
#include "platform/platform.h"
#include "service/service_internal.h"
#include "transport/transport_internal.h"

#define GROWTH_RECONNECTS 8

static const char *const state_names[] = {
    "DISCONNECTED", "CONNECTING", "READY", "NOT_FOUND", "AUTH_FAILED", "INCOMPATIBLE", "BROKEN",
};

const char *nipc_client_state_name(nipc_client_state_t state)
{
    if ((unsigned)state >= sizeof state_names / sizeof state_names[0])
        return "UNKNOWN";
    return state_names[state];
}

static void set_state(nipc_client_t *c, nipc_client_state_t st)
{
    atomic_store_explicit(&c->state, (int)st, memory_order_release);
}

static nipc_client_state_t get_state(const nipc_client_t *c)
{
    return (nipc_client_state_t)atomic_load_explicit(&((nipc_client_t *)c)->state,
                                                     memory_order_acquire);
}

nipc_error_t nipc_client_create(const char *run_dir, const char *service,
                                const nipc_client_config_t *config, nipc_client_t **out)
{
    if (!run_dir || !*run_dir || !out)
        return NIPC_ERR_INVALID_ARGUMENT;
    if (!nipc_service_name_valid(service))
        return NIPC_ERR_BAD_SERVICE_NAME;
    nipc_client_config_t cfg = config ? *config : (nipc_client_config_t){0};
    nipc_transport_config_t allow = {.allowed_uids = cfg.allowed_server_uids,
                                     .allowed_uid_count = cfg.allowed_server_uid_count};
    nipc_error_t err = nipc__check_allow_list(&allow);
    if (err != NIPC_OK)
        return err;
    nipc_client_t *c = calloc(1, sizeof *c);
    if (!c)
        return NIPC_ERR_NO_MEMORY;
    cfg.supported_profiles = nipc__or(cfg.supported_profiles, NIPC_PROFILE_BASELINE);
    cfg.max_request_payload_bytes = nipc__or(cfg.max_request_payload_bytes,
                                             NIPC_MAX_PAYLOAD_DEFAULT);
    cfg.max_request_batch_items = nipc__or(cfg.max_request_batch_items, 1);
    cfg.max_response_payload_bytes =
        nipc__or(cfg.max_response_payload_bytes, NIPC_RESPONSE_PAYLOAD_DEFAULT);
    cfg.max_payload_ceiling = nipc__or(cfg.max_payload_ceiling, NIPC_GROWTH_CEILING_DEFAULT);
    cfg.call_timeout_ms = nipc__or(cfg.call_timeout_ms, NIPC_CALL_TIMEOUT_DEFAULT_MS);
    cfg.max_logical_lookup_items =
        nipc__or(cfg.max_logical_lookup_items, NIPC_LOOKUP_MAX_ITEMS_DEFAULT);
    cfg.max_logical_lookup_subcalls =
        nipc__or(cfg.max_logical_lookup_subcalls, NIPC_LOOKUP_MAX_SUBCALLS_DEFAULT);
    cfg.max_logical_lookup_response_bytes =
        nipc__or(cfg.max_logical_lookup_response_bytes, NIPC_LOOKUP_MAX_RESPONSE_DEFAULT);
    c->cfg = cfg;
    c->run_dir = strdup(run_dir);
    c->service = strdup(service);
    /* The allow-list is copied: the caller's array need not outlive us. */
    uint32_t *uids = NULL;
    if (cfg.allowed_server_uid_count) {
        uids = malloc(cfg.allowed_server_uid_count * sizeof *uids);
        if (uids)
            memcpy(uids, cfg.allowed_server_uids, cfg.allowed_server_uid_count * sizeof *uids);
    }
    c->cfg.allowed_server_uids = uids;
    atomic_init(&c->state, NIPC_CLIENT_DISCONNECTED);
    if (!c->run_dir || !c->service || (cfg.allowed_server_uid_count && !uids) ||
        nipc_abort_create(&c->abort) != NIPC_OK) {
        nipc_client_free(c);
        return NIPC_ERR_NO_MEMORY;
    }
    nipc__client_reset_limits(c);
    *out = c;
    return NIPC_OK;
}

void nipc__client_reset_limits(nipc_client_t *c)
{
    c->supported = c->cfg.supported_profiles;
    c->preferred = c->cfg.preferred_profiles;
    c->req_proposal = c->cfg.max_request_payload_bytes;
    c->resp_proposal = c->cfg.max_response_payload_bytes;
}

/* ------------------------------------------------------------- connecting */

static void disconnect(nipc_client_t *c)
{
    nipc_session_close(c->session);
    c->session = NULL;
}

/* Attach failures come back from connect with exactly these codes. */
static int is_attach_failure(nipc_error_t err)
{
    return err == NIPC_ERR_SHM_NOT_READY || err == NIPC_ERR_SHM_BAD_SIZE ||
           err == NIPC_ERR_SHM_BAD_PROFILE || err == NIPC_ERR_SHM_ALLOC ||
           err == NIPC_ERR_BAD_MAGIC || err == NIPC_ERR_BAD_VERSION ||
           err == NIPC_ERR_BAD_HEADER_LEN;
}

/*
 * Connects once. `deadline` (monotonic ms) bounds the whole connect, SHM
 * attach included, when a call is waiting for it; NIPC__NO_DEADLINE (from
 * refresh()) leaves the Level 1 windows as configured.
 */
static nipc_error_t try_connect(nipc_client_t *c, uint64_t deadline)
{
    set_state(c, NIPC_CLIENT_CONNECTING);
    for (;;) {
        if (!c->supported) {
            /* Only SHM was configured and it cannot be attached. Level 1
             * reads 0 as "baseline", which this client never allowed: stay
             * disconnected until close() restores the configuration. */
            set_state(c, NIPC_CLIENT_DISCONNECTED);
            return c->last_error != NIPC_OK ? c->last_error : NIPC_ERR_UNSUPPORTED;
        }
        nipc_transport_config_t tc = {
            .supported_profiles = c->supported,
            .preferred_profiles = c->preferred,
            .max_request_payload_bytes = c->req_proposal,
            .max_request_batch_items = c->cfg.max_request_batch_items,
            .max_response_payload_bytes = c->resp_proposal,
            .max_response_batch_items = c->cfg.max_request_batch_items,
            .auth_token = c->cfg.auth_token,
            .shm_attach_timeout_ms = c->cfg.shm_attach_timeout_ms, /* 0: Level 1 default */
            .handshake_timeout_ms = c->cfg.handshake_timeout_ms,   /* 0: Level 1 default */
            .max_in_flight = 1, /* one call at a time */
            .allowed_uids = c->cfg.allowed_server_uids,
            .allowed_uid_count = c->cfg.allowed_server_uid_count,
            .exact_profiles = c->cfg.exact_profiles,
        };
        nipc_error_t err =
            nipc__session_connect_until(c->run_dir, c->service, &tc, deadline, &c->session);
        c->connect_error = err;
        if (err == NIPC_OK) {
            set_state(c, NIPC_CLIENT_READY);
            return NIPC_OK;
        }
        c->session = NULL;
        c->last_error = err;
        if (is_attach_failure(err) && (c->supported & NIPC_PROFILE_SHM_MASK)) {
            /* The server offered SHM we cannot use: baseline for good. */
            c->supported &= ~NIPC_PROFILE_SHM_MASK;
            c->preferred &= ~NIPC_PROFILE_SHM_MASK;
            if (c->supported)
                continue;
        }
        switch (err) {
        case NIPC_ERR_NOT_FOUND:
            set_state(c, NIPC_CLIENT_NOT_FOUND);
            break;
        case NIPC_ERR_AUTH_FAILED:
            set_state(c, NIPC_CLIENT_AUTH_FAILED);
            break;
        case NIPC_ERR_UNSUPPORTED:
        case NIPC_ERR_INCOMPATIBLE:
            set_state(c, NIPC_CLIENT_INCOMPATIBLE);
            break;
        default: /* limits, busy, protocol or I/O trouble: try again later */
            set_state(c, NIPC_CLIENT_DISCONNECTED);
            break;
        }
        return err;
    }
}

nipc_error_t nipc_client_refresh(nipc_client_t *c)
{
    if (nipc_abort_is_set(c->abort))
        return NIPC_ERR_ABORTED; /* shutting down: connect nothing */
    switch (get_state(c)) {
    case NIPC_CLIENT_DISCONNECTED:
    case NIPC_CLIENT_NOT_FOUND:
        if (try_connect(c, NIPC__NO_DEADLINE) != NIPC_OK)
            return nipc__os_settle(c->connect_error);
        c->connect_count++;
        return NIPC_OK;
    case NIPC_CLIENT_BROKEN:
        disconnect(c);
        if (try_connect(c, NIPC__NO_DEADLINE) != NIPC_OK)
            return nipc__os_settle(c->connect_error);
        c->reconnect_count++;
        return NIPC_OK;
    case NIPC_CLIENT_READY:
        return NIPC_OK;
    default: /* AUTH_FAILED and INCOMPATIBLE: sticky until close(), with their reason */
        return c->connect_error;
    }
}

nipc_client_state_t nipc_client_state(const nipc_client_t *c)
{
    return get_state(c);
}

bool nipc_client_ready(const nipc_client_t *c)
{
    return c && get_state(c) == NIPC_CLIENT_READY;
}

void nipc_client_status(const nipc_client_t *c, nipc_client_status_t *out)
{
    memset(out, 0, sizeof *out);
    out->state = get_state(c);
    out->last_error = c->last_error;
    out->last_connect_error = c->connect_error;
    out->connect_count = c->connect_count;
    out->reconnect_count = c->reconnect_count;
    out->call_count = c->call_count;
    out->error_count = c->error_count;
    if (c->session) {
        const nipc_session_info_t *i = nipc_session_info(c->session);
        out->selected_profile = i->selected_profile;
        out->max_request_payload = i->max_request_payload;
        out->max_response_payload = i->max_response_payload;
    }
}

void nipc_client_abort(nipc_client_t *c)
{
    nipc_abort_trigger(c->abort);
}

void nipc_client_clear_abort(nipc_client_t *c)
{
    nipc_abort_clear(c->abort);
}

void nipc_client_close(nipc_client_t *c)
{
    if (!c)
        return;
    disconnect(c);
    free(c->req_buf);
    c->req_buf = NULL;
    c->req_cap = 0;
    nipc__client_lookup_release(c);
    if (c->abort)
        nipc_abort_clear(c->abort);
    nipc__client_reset_limits(c);
    set_state(c, NIPC_CLIENT_DISCONNECTED);
}

void nipc_client_free(nipc_client_t *c)
{
    if (!c)
        return;
    nipc_client_close(c);
    nipc_abort_free(c->abort);
    free((void *)c->cfg.allowed_server_uids);
    free(c->run_dir);
    free(c->service);
    free(c);
}

/* ---------------------------------------------------------------- buffers */

uint8_t *nipc__client_request_buffer(nipc_client_t *c, size_t len)
{
    if (len > c->req_cap) {
        /* Only when a request is bigger than any before: not the steady state. */
        uint8_t *p = realloc(c->req_buf, len);
        if (!p)
            return NULL;
        c->req_buf = p;
        c->req_cap = len;
    }
    return c->req_buf;
}

/* ------------------------------------------------------------------ calls */

/* Overflow kinds reported by one attempt. */
enum { NO_OVERFLOW, REQUEST_OVERFLOW, RESPONSE_OVERFLOW };

static nipc_error_t status_to_error(uint16_t status)
{
    switch (status) {
    case NIPC_STATUS_UNSUPPORTED:
        return NIPC_ERR_UNSUPPORTED;
    case NIPC_STATUS_BAD_ENVELOPE:
        return NIPC_ERR_REMOTE_BAD_ENVELOPE;
    case NIPC_STATUS_INTERNAL_ERROR:
        return NIPC_ERR_REMOTE_INTERNAL;
    default:
        return NIPC_ERR_BAD_RESPONSE;
    }
}

/* `left`: the time left to `deadline` when the caller just computed it
 * (saves a clock read), else 0. */
static nipc_error_t attempt(nipc_client_t *c, const nipc__call_t *call, uint64_t deadline,
                            uint32_t left, int *overflow)
{
    *overflow = NO_OVERFLOW;
    if (!left)
        left = nipc__remaining_ms(deadline, UINT32_MAX);
    if (left == 0)
        return NIPC_ERR_TIMEOUT;
    uint64_t id = c->call_count + 1;
    nipc_header_t h = nipc_header_make(NIPC_KIND_REQUEST, call->method, call->flags, 0, 0,
                                       call->item_count, id);
    nipc_error_t err =
        nipc_session_send(c->session, &h, call->payload, call->payload_len, left, c->abort);
    if (err == NIPC_ERR_LIMIT_EXCEEDED || err == NIPC_ERR_TOO_LARGE) {
        *overflow = REQUEST_OVERFLOW;
        return NIPC_ERR_OVERFLOW;
    }
    if (err != NIPC_OK)
        return err;

    /* An SHM send never blocks (it copies into the area and returns), so the
     * time left is the same to the millisecond: save the clock read, a
     * visible share of an SHM round trip. A baseline send may have waited. */
    if (!nipc_session_info(c->session)->shm_request_capacity) {
        left = nipc__remaining_ms(deadline, UINT32_MAX);
        if (left == 0)
            return NIPC_ERR_TIMEOUT;
    }
    nipc_message_t msg;
    err = nipc_session_receive(c->session, &msg, left, c->abort);
    if (err != NIPC_OK)
        return err;
    if (msg.header.kind != NIPC_KIND_RESPONSE || msg.header.code != call->method ||
        msg.header.message_id != id)
        return NIPC_ERR_BAD_RESPONSE;
    if (msg.header.transport_status == NIPC_STATUS_LIMIT_EXCEEDED) {
        *overflow = RESPONSE_OVERFLOW;
        return NIPC_ERR_OVERFLOW;
    }
    if (msg.header.transport_status != NIPC_STATUS_OK)
        return status_to_error(msg.header.transport_status);
    return call->decode(call->decode_ctx, &msg);
}

/*
 * Reconnects on the schedule of service_internal.h: at once, then with
 * doubling waits; stops at sticky failures, an abort and the deadline.
 */
static nipc_error_t reconnect_for_call(nipc_client_t *c, uint64_t deadline)
{
    nipc_error_t err = NIPC_ERR_NOT_READY;
    for (int i = 0; i < NIPC__RECONNECT_ATTEMPTS; i++) {
        uint32_t wait = nipc__reconnect_delay_ms(i);
        if (wait) {
            /* No time for another attempt: report the last real failure. */
            if (nipc__remaining_ms(deadline, wait) < wait)
                return err;
            nipc__sleep_ms(wait);
        }
        if (nipc_abort_is_set(c->abort))
            return NIPC_ERR_ABORTED;
        if (nipc__remaining_ms(deadline, 1) == 0)
            return NIPC_ERR_TIMEOUT;
        /* A provider that accepts but never answers, or offers a region that
         * never becomes ready, must not hold the call past its deadline. */
        err = try_connect(c, deadline);
        if (err == NIPC_OK) {
            c->reconnect_count++;
            return NIPC_OK;
        }
        nipc_client_state_t st = get_state(c);
        if (st == NIPC_CLIENT_AUTH_FAILED || st == NIPC_CLIENT_INCOMPATIBLE)
            return err;
    }
    return err;
}

static void break_session(nipc_client_t *c)
{
    disconnect(c);
    set_state(c, NIPC_CLIENT_BROKEN);
}

static uint32_t next_pow2(uint64_t n)
{
    if (n < 16)
        return 16;
    uint64_t p = 16;
    while (p < n)
        p <<= 1;
    return p > UINT32_MAX ? UINT32_MAX : (uint32_t)p;
}

static uint32_t grow(uint32_t current, uint64_t wanted, uint32_t ceiling)
{
    uint32_t g = next_pow2(wanted);
    if (g > ceiling)
        g = ceiling;
    return g > current ? g : current;
}

/*
 * Grows the proposals after an overflow and reconnects. Returns OK when a
 * re-attempt makes sense, OVERFLOW when nothing grew or growth is spent.
 */
static nipc_error_t grow_and_reconnect(nipc_client_t *c, const nipc__call_t *call, int kind,
                                       int *growths, uint64_t deadline)
{
    const nipc_session_info_t *i = nipc_session_info(c->session);
    uint32_t agreed_req = i->max_request_payload, agreed_resp = i->max_response_payload;
    uint32_t old_req = c->req_proposal, old_resp = c->resp_proposal;
    if (kind == REQUEST_OVERFLOW)
        c->req_proposal = grow(c->req_proposal, call->payload_len, c->cfg.max_payload_ceiling);
    else
        c->resp_proposal =
            grow(c->resp_proposal, 2ull * agreed_resp, c->cfg.max_payload_ceiling);

    break_session(c);
    if (reconnect_for_call(c, deadline) != NIPC_OK) {
        /* The grown proposal was refused (e.g. above the server's ceiling)
         * or nobody answered: forget it, or every later connect would
         * propose it again and fail the same way. refresh() reconnects. */
        c->req_proposal = old_req;
        c->resp_proposal = old_resp;
        if (get_state(c) != NIPC_CLIENT_AUTH_FAILED && get_state(c) != NIPC_CLIENT_INCOMPATIBLE)
            set_state(c, NIPC_CLIENT_BROKEN);
        return NIPC_ERR_OVERFLOW;
    }
    i = nipc_session_info(c->session);
    int grew = i->max_request_payload > agreed_req || i->max_response_payload > agreed_resp ||
               c->req_proposal != old_req || c->resp_proposal != old_resp;
    if (!grew || ++*growths >= GROWTH_RECONNECTS) {
        break_session(c);
        return NIPC_ERR_OVERFLOW;
    }
    return NIPC_OK;
}

nipc_error_t nipc__client_renegotiate(nipc_client_t *c, uint64_t deadline)
{
    break_session(c);
    nipc_error_t err = reconnect_for_call(c, deadline);
    if (err != NIPC_OK && get_state(c) != NIPC_CLIENT_AUTH_FAILED &&
        get_state(c) != NIPC_CLIENT_INCOMPATIBLE)
        set_state(c, NIPC_CLIENT_BROKEN);
    return err;
}

static nipc_error_t call_loop(nipc_client_t *c, const nipc__call_t *call, uint64_t deadline,
                              uint32_t left);

nipc_error_t nipc__client_call(nipc_client_t *c, const nipc__call_t *call, uint32_t timeout_ms)
{
    uint32_t t = timeout_ms ? timeout_ms : c->cfg.call_timeout_ms;
    return call_loop(c, call, nipc__deadline(t), t);
}

nipc_error_t nipc__client_call_until(nipc_client_t *c, const nipc__call_t *call,
                                     uint64_t deadline)
{
    return call_loop(c, call, deadline, 0);
}

/* `left`: as attempt()'s, for the first attempt only. */
static nipc_error_t call_loop(nipc_client_t *c, const nipc__call_t *call, uint64_t deadline,
                              uint32_t left)
{
    /* The abort first: it is sticky whatever the state (an aborted call
     * broke the session, and the next call must still say ABORTED). */
    if (nipc_abort_is_set(c->abort)) {
        c->error_count++;
        return c->last_error = NIPC_ERR_ABORTED;
    }
    if (get_state(c) != NIPC_CLIENT_READY) {
        c->error_count++;
        return c->last_error = NIPC_ERR_NOT_READY;
    }
    int retried = 0, growths = 0;
    nipc_error_t err;
    for (;;) {
        int overflow;
        err = attempt(c, call, deadline, left, &overflow);
        left = 0; /* later attempts: what is left of the deadline */
        if (err == NIPC_OK) {
            c->call_count++;
            return NIPC_OK;
        }
        if (overflow != NO_OVERFLOW) {
            err = grow_and_reconnect(c, call, overflow, &growths, deadline);
            if (err == NIPC_OK)
                continue;
            break;
        }
        if (err == NIPC_ERR_TIMEOUT || err == NIPC_ERR_ABORTED || retried) {
            break_session(c);
            break;
        }
        /* At-least-once: reconnect (at once: a restarted provider is
         * usually up already) and send the same request (same id) once more. */
        retried = 1;
        break_session(c);
        nipc_error_t rerr = reconnect_for_call(c, deadline);
        if (rerr != NIPC_OK) {
            /* The retry could not happen: why (NOT_FOUND: the provider is
             * gone; TIMEOUT, ABORTED) says more than the first failure. */
            err = rerr;
            if (get_state(c) != NIPC_CLIENT_AUTH_FAILED &&
                get_state(c) != NIPC_CLIENT_INCOMPATIBLE)
                set_state(c, NIPC_CLIENT_BROKEN);
            break;
        }
    }
    c->error_count++;
    return c->last_error = nipc__os_settle(err);
}
