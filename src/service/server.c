/*
 * Level 2 managed server: one endpoint, one service kind, one typed
 * handler. An accept thread takes connections without reading from them;
 * each session runs its handshake and its requests on its own thread, so a
 * silent or slow client never blocks the accept loop or other sessions.
 * Beyond the session limit a client gets a clean rejection (HELLO_ACK with
 * INTERNAL_ERROR) from a short-lived rejecter thread instead of an
 * accepted-then-closed session; when every rejecter is busy too, new clients
 * wait in the listen backlog (within their own deadline) instead.
 *
 * Per session, one request at a time: receive (100 ms slices so a stop is
 * noticed), dispatch to the method's handler, answer; the reaction to every
 * malformed request follows services.md §6. Buffers are allocated once per
 * session; the request loop does not allocate.
 */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "platform/platform.h"
#include "service/service_internal.h"

#define SLICE_MS 100u
#define ACCEPT_BACKOFF_MS 10u
#define DRAIN_POLL_MS 5u
#define MAX_REJECTERS 8u
#define DESTROY_JOIN_MS 5000u

typedef struct worker {
    /* Requests answered by every session this slot ran. Written by its
     * session thread alone, so no shared line bounces between sessions;
     * stats() sums the slots. The padding keeps two slots' counters at
     * least 64 bytes apart, hence never on one cache line. */
    atomic_uint_fast64_t requests;
    nipc_server_t *srv;
    nipc__thread_t *thread;
    nipc_pending_t *pending;
    uint64_t session_id;
    atomic_int done;
    char pad[64];
} worker_t;

struct nipc_server {
    nipc_listener_t *listener;
    nipc_transport_config_t tcfg;
    const nipc__method_t *method;
    nipc__handler_t handler;
    void *ctx;

    atomic_int stopping; /* sticky: set once by stop() */
    atomic_int started; /* start() or run() claimed the server */
    int joined;
    nipc__thread_t *accept_thread;
    nipc_abort_t *force; /* forced stop: wakes every session at once */

    worker_t *sessions; /* max_sessions slots */
    uint32_t max_sessions;
    worker_t rejecters[MAX_REJECTERS];
    uint64_t next_session_id;

    atomic_uint_fast64_t accepted, rejected, handshakes_failed, request_errors;
    atomic_uint active;
};

/* ------------------------------------------------------------ per request */

static int is_codec_error(nipc_error_t err)
{
    return err >= NIPC_ERR_TRUNCATED && err <= NIPC_ERR_SIZE_OVERFLOW;
}

static uint16_t status_for(nipc_error_t err)
{
    if (err == NIPC_ERR_BUFFER_TOO_SMALL)
        return NIPC_STATUS_LIMIT_EXCEEDED;
    if (is_codec_error(err))
        return NIPC_STATUS_BAD_ENVELOPE;
    return NIPC_STATUS_INTERNAL_ERROR;
}

typedef struct session_buffers {
    uint8_t *resp;  /* response payload */
    uint8_t *item;  /* one batch item's answer */
    size_t cap;     /* handler budget: min(agreed response, buffer) */
} session_buffers_t;

/* Runs the handler over a request; fills the response payload. */
static nipc_error_t process(nipc_server_t *srv, const nipc_message_t *msg, session_buffers_t *b,
                            size_t *len)
{
    const nipc_header_t *h = &msg->header;
    int batch = (h->flags & NIPC_FLAG_BATCH) != 0;
    if (!batch)
        return srv->method->dispatch(&srv->handler, srv->ctx, msg->payload, h->payload_len,
                                     b->resp, b->cap, len);
    if (!srv->method->batchable)
        return NIPC_ERR_BAD_FIELD; /* typed endpoints decode one request: BAD_ENVELOPE */
    if (srv->method == &nipc__method_increment)
        return nipc__dispatch_increment_batch(&srv->handler, srv->ctx, msg->payload,
                                              h->payload_len, h->item_count, b->resp, b->cap,
                                              len);

    nipc_batch_builder_t bb;
    nipc_batch_builder_init(&bb, b->resp, b->cap, h->item_count);
    for (uint32_t i = 0; i < h->item_count; i++) {
        const uint8_t *item;
        uint32_t item_len;
        size_t out_len = 0;
        nipc_error_t err = nipc_batch_item(msg->payload, h->payload_len, h->item_count, i, &item,
                                           &item_len);
        if (err == NIPC_OK)
            err = srv->method->dispatch(&srv->handler, srv->ctx, item, item_len, b->item, b->cap,
                                        &out_len);
        if (err == NIPC_OK)
            err = nipc_batch_builder_add(&bb, b->item, (uint32_t)out_len);
        if (err != NIPC_OK)
            return err; /* one failed item fails the whole message */
    }
    return nipc_batch_builder_finish(&bb, len);
}

/* An error response: empty payload, item_count 1, flags 0. */
static nipc_error_t send_status(nipc_server_t *srv, nipc_session_t *s, const nipc_header_t *req,
                                uint16_t status)
{
    atomic_fetch_add(&srv->request_errors, 1);
    nipc_header_t h = nipc_header_make(NIPC_KIND_RESPONSE, req->code, 0, status, 0, 1,
                                       req->message_id);
    return nipc_session_send(s, &h, NULL, 0, SLICE_MS * 10, srv->force);
}

static void serve_session(nipc_server_t *srv, nipc_session_t *s, atomic_uint_fast64_t *requests)
{
    const nipc_session_info_t *info = nipc_session_info(s);
    size_t cap = info->max_response_payload;
    size_t alloc = cap < 1024 ? 1024 : cap;
    session_buffers_t b = {malloc(alloc), srv->method->batchable ? malloc(alloc) : NULL, cap};
    if (!b.resp || (srv->method->batchable && !b.item))
        goto out;

    while (!atomic_load(&srv->stopping)) {
        nipc_message_t msg;
        nipc_error_t err = nipc_session_receive(s, &msg, SLICE_MS, srv->force);
        if (err == NIPC_ERR_TIMEOUT)
            continue;
        if (err == NIPC_ERR_LIMIT_EXCEEDED) {
            send_status(srv, s, &msg.header, NIPC_STATUS_LIMIT_EXCEEDED);
            break;
        }
        if (err != NIPC_OK || msg.header.kind != NIPC_KIND_REQUEST)
            break; /* EOF, broken framing, or not a request: close silently */
        if (msg.header.item_count > srv->tcfg.max_request_batch_items) {
            /* The handshake echoes whatever batch size the client proposed;
             * this server's own cap still bounds the work per request. */
            send_status(srv, s, &msg.header, NIPC_STATUS_LIMIT_EXCEEDED);
            break;
        }
        if (msg.header.code != srv->method->code) {
            if (send_status(srv, s, &msg.header, NIPC_STATUS_UNSUPPORTED) != NIPC_OK)
                break;
            continue; /* the session survives a wrong method */
        }

        size_t len = 0;
        err = process(srv, &msg, &b, &len);
        if (err != NIPC_OK) {
            send_status(srv, s, &msg.header, status_for(err));
            break;
        }
        int batch = (msg.header.flags & NIPC_FLAG_BATCH) && msg.header.item_count >= 1;
        nipc_header_t h = nipc_header_make(NIPC_KIND_RESPONSE, msg.header.code,
                                           batch ? NIPC_FLAG_BATCH : 0, NIPC_STATUS_OK, 0,
                                           batch ? msg.header.item_count : 1,
                                           msg.header.message_id);
        /* A client that stops reading cannot pin this thread forever. */
        if (nipc_session_send(s, &h, b.resp, len, SLICE_MS * 50, srv->force) != NIPC_OK)
            break;
        /* Single writer: a plain increment, published for stats(). */
        atomic_store_explicit(requests, atomic_load_explicit(requests, memory_order_relaxed) + 1,
                              memory_order_relaxed);
    }
out:
    free(b.resp);
    free(b.item);
}

/* --------------------------------------------------------------- threads */

static void session_main(void *arg)
{
    worker_t *w = arg;
    nipc_server_t *srv = w->srv;
    nipc_session_t *s = NULL;
    nipc_error_t err = nipc_pending_accept(w->pending, &srv->tcfg, w->session_id, &s);
    w->pending = NULL;
    if (err == NIPC_OK) {
        atomic_fetch_add(&srv->accepted, 1);
        serve_session(srv, s, &w->requests);
        nipc_session_close(s); /* also removes the session's SHM file */
    } else {
        atomic_fetch_add(&srv->handshakes_failed, 1);
    }
    atomic_fetch_sub(&srv->active, 1);
    atomic_store(&w->done, 1);
}

static void reject_main(void *arg)
{
    worker_t *w = arg;
    nipc_pending_reject(w->pending, NIPC_STATUS_INTERNAL_ERROR, w->srv->tcfg.handshake_timeout_ms);
    w->pending = NULL;
    atomic_store(&w->done, 1);
}

/* Joins finished workers so their slots can be reused. */
static void reap(worker_t *slots, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        if (slots[i].thread && atomic_load(&slots[i].done)) {
            nipc__thread_join(slots[i].thread);
            slots[i].thread = NULL;
        }
    }
}

static worker_t *free_slot(worker_t *slots, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++)
        if (!slots[i].thread)
            return &slots[i];
    return NULL;
}

static int start_worker(worker_t *w, nipc_server_t *srv, nipc_pending_t *p, uint64_t sid,
                        nipc__thread_fn fn)
{
    w->srv = srv;
    w->pending = p;
    w->session_id = sid;
    atomic_store(&w->done, 0);
    return nipc__thread_start(&w->thread, fn, w) == NIPC_OK;
}

static void accept_main(void *arg)
{
    nipc_server_t *srv = arg;
    while (!atomic_load(&srv->stopping)) {
        reap(srv->sessions, srv->max_sessions);
        reap(srv->rejecters, MAX_REJECTERS);
        if (!free_slot(srv->sessions, srv->max_sessions) &&
            !free_slot(srv->rejecters, MAX_REJECTERS)) {
            /* Neither a session nor a rejection can start: leave new
             * clients queued (listen backlog, then their connect retries)
             * until a slot frees or their own deadline passes, rather than
             * accept and close them without a word. */
            nipc__sleep_ms(ACCEPT_BACKOFF_MS);
            continue;
        }
        nipc_pending_t *p = NULL;
        nipc_error_t err = nipc_listener_accept(srv->listener, SLICE_MS, &p);
        if (err == NIPC_ERR_TIMEOUT)
            continue;
        if (err == NIPC_ERR_PEER_REJECTED) {
            atomic_fetch_add(&srv->rejected, 1);
            continue;
        }
        if (err != NIPC_OK) { /* e.g. out of fds: back off instead of spinning */
            nipc__sleep_ms(ACCEPT_BACKOFF_MS);
            continue;
        }
        /* Drawn before the handshake: the id names the session's SHM region. */
        uint64_t sid = srv->next_session_id++;
        worker_t *w = free_slot(srv->sessions, srv->max_sessions);
        if (w) {
            atomic_fetch_add(&srv->active, 1);
            if (start_worker(w, srv, p, sid, session_main))
                continue;
            atomic_fetch_sub(&srv->active, 1);
            w->thread = NULL;
            nipc_pending_free(p);
            nipc__sleep_ms(ACCEPT_BACKOFF_MS);
            continue;
        }
        atomic_fetch_add(&srv->rejected, 1);
        w = free_slot(srv->rejecters, MAX_REJECTERS); /* one is free: checked above */
        if (!w || !start_worker(w, srv, p, sid, reject_main)) {
            if (w)
                w->thread = NULL;
            nipc_pending_free(p); /* no thread for it (out of memory): nothing else to do */
            nipc__sleep_ms(ACCEPT_BACKOFF_MS);
        }
    }
}

/* ------------------------------------------------------------- lifecycle */

nipc_error_t nipc__server_create(const char *run_dir, const char *service,
                                 const nipc_server_config_t *config, const nipc__method_t *method,
                                 nipc__handler_t handler, void *ctx, nipc_server_t **out)
{
    if (!run_dir || !*run_dir || !out)
        return NIPC_ERR_INVALID_ARGUMENT;
    nipc_server_config_t cfg = config ? *config : (nipc_server_config_t){0};
    if (cfg.max_request_payload_bytes > NIPC_PAYLOAD_HARD_LIMIT ||
        cfg.max_response_payload_bytes > NIPC_PAYLOAD_HARD_LIMIT)
        return NIPC_ERR_INVALID_ARGUMENT; /* no client would accept such a session */
    nipc_server_t *srv = calloc(1, sizeof *srv);
    if (!srv)
        return NIPC_ERR_NO_MEMORY;
    srv->method = method;
    srv->handler = handler;
    srv->ctx = ctx;
    srv->next_session_id = 1;
    srv->max_sessions = nipc__or(cfg.max_sessions, NIPC_SERVER_SESSIONS_DEFAULT);
    srv->tcfg = (nipc_transport_config_t){
        .supported_profiles = nipc__or(cfg.supported_profiles, NIPC_PROFILE_BASELINE),
        .preferred_profiles = cfg.preferred_profiles,
        .max_request_payload_bytes =
            nipc__or(cfg.max_request_payload_bytes, NIPC_MAX_PAYLOAD_DEFAULT),
        .max_request_batch_items = nipc__or(cfg.max_request_batch_items, 1),
        .max_response_payload_bytes =
            nipc__or(cfg.max_response_payload_bytes, NIPC_RESPONSE_PAYLOAD_DEFAULT),
        .auth_token = cfg.auth_token,
        .handshake_timeout_ms =
            nipc__or(cfg.handshake_timeout_ms, NIPC_HANDSHAKE_TIMEOUT_DEFAULT_MS),
        .allowed_uids = cfg.allowed_uids,
        .allowed_uid_count = cfg.allowed_uid_count,
        .exact_profiles = cfg.exact_profiles,
    };
    atomic_init(&srv->stopping, 0);
    srv->sessions = calloc(srv->max_sessions, sizeof *srv->sessions);
    nipc_error_t err = srv->sessions ? nipc_abort_create(&srv->force) : NIPC_ERR_NO_MEMORY;
    if (err == NIPC_OK)
        err = nipc_listener_create(run_dir, service, &srv->tcfg, &srv->listener);
    if (err != NIPC_OK) {
        nipc_abort_free(srv->force);
        free(srv->sessions);
        free(srv);
        return err;
    }
    /* The listener copied the allow-list; do not keep the caller's pointer. */
    srv->tcfg.allowed_uids = NULL;
    srv->tcfg.allowed_uid_count = 0;
    *out = srv;
    return NIPC_OK;
}

/* 1 when this caller is the one start() or run() of the server. */
static int claim_start(nipc_server_t *srv)
{
    int no = 0;
    return atomic_compare_exchange_strong(&srv->started, &no, 1);
}

nipc_error_t nipc_server_start(nipc_server_t *srv)
{
    if (!srv || !claim_start(srv))
        return NIPC_ERR_INVALID_ARGUMENT;
    nipc_error_t err = nipc__thread_start(&srv->accept_thread, accept_main, srv);
    if (err != NIPC_OK)
        atomic_store(&srv->started, 0); /* nothing runs: may be started again */
    return err;
}

nipc_error_t nipc_server_run(nipc_server_t *srv)
{
    if (!srv || !claim_start(srv))
        return NIPC_ERR_INVALID_ARGUMENT;
    accept_main(srv); /* returns once stop() was called, even before we got here */
    return NIPC_OK;
}

void nipc_server_stop(nipc_server_t *srv)
{
    atomic_store(&srv->stopping, 1);
    nipc_listener_wake(srv->listener);
}

static int all_done(worker_t *slots, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++)
        if (slots[i].thread && !atomic_load(&slots[i].done))
            return 0;
    return 1;
}

static void join_all(worker_t *slots, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        nipc__thread_join(slots[i].thread);
        slots[i].thread = NULL;
    }
}

nipc_error_t nipc_server_join(nipc_server_t *srv, uint32_t timeout_ms)
{
    nipc_server_stop(srv);
    if (!atomic_load(&srv->started) || srv->joined)
        return NIPC_OK;
    nipc__thread_join(srv->accept_thread);
    srv->accept_thread = NULL;

    uint64_t deadline = nipc__now_ms() + timeout_ms;
    nipc_error_t result = NIPC_OK;
    while (!all_done(srv->sessions, srv->max_sessions) ||
           !all_done(srv->rejecters, MAX_REJECTERS)) {
        if (nipc__now_ms() >= deadline) {
            result = NIPC_ERR_TIMEOUT;
            nipc_abort_trigger(srv->force); /* wake sessions blocked in I/O */
            break;
        }
        nipc__sleep_ms(DRAIN_POLL_MS);
    }
    join_all(srv->sessions, srv->max_sessions);
    join_all(srv->rejecters, MAX_REJECTERS);
    srv->joined = 1;
    return result;
}

void nipc_server_destroy(nipc_server_t *srv)
{
    if (!srv)
        return;
    nipc_server_join(srv, DESTROY_JOIN_MS);
    nipc_listener_free(srv->listener); /* removes the socket */
    nipc_abort_free(srv->force);
    free(srv->sessions);
    free(srv);
}

void nipc_server_stats(const nipc_server_t *srv, nipc_server_stats_t *out)
{
    nipc_server_t *s = (nipc_server_t *)srv;
    out->sessions_accepted = atomic_load(&s->accepted);
    out->sessions_rejected = atomic_load(&s->rejected);
    out->handshakes_failed = atomic_load(&s->handshakes_failed);
    out->requests = 0;
    for (uint32_t i = 0; i < s->max_sessions; i++)
        out->requests += atomic_load_explicit(&s->sessions[i].requests, memory_order_relaxed);
    out->request_errors = atomic_load(&s->request_errors);
    out->sessions_active = atomic_load(&s->active);
}
