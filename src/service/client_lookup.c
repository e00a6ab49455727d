/*
 * Level 2 lookup calls, services.md §8: nipc_client_cgroups_lookup() and
 * nipc_client_apps_lookup() turn n ordered keys into one logical call. The
 * keys are split by the agreed request size, each part is one sub-call of
 * the engine in client.c (with its retry rules) under a deadline shared by
 * all of them, a PAYLOAD_EXCEEDED tail is asked for again, and the accepted
 * items are re-encoded, in request order, into one canonical response in a
 * client-owned buffer. When the first sub-call answers every key, its
 * response is copied as it is.
 *
 * A sub-response is trusted only after the checks of §8: one item per key
 * sent, every key echoed, PAYLOAD_EXCEEDED only as a tail and never first,
 * and the same generation as every earlier part (no mixed results). These
 * checks fail the logical call but do not tear the session down: the bytes
 * were well-formed and the stream is in step.
 *
 * The method-specific parts (key sizes, encoding, echo checks, copying)
 * sit behind a small table; the split / retry / stitch loop is shared.
 * Steady-state calls do not allocate: the request buffer and the two result
 * buffers only grow when a call needs more than any before.
 */
#include <stdlib.h>
#include <string.h>

#include "netipc/lookup.h"
#include "netipc/service.h"
#include "common/internal.h"
#include "platform/platform.h"
#include "protocol/lookup_internal.h"
#include "service/service_internal.h"

typedef struct lookup lookup_t;

typedef struct lookup_method {
    uint16_t code;
    /* Every key valid, checked before anything is sent (NULL: always). */
    nipc_error_t (*check_keys)(const lookup_t *l);
    /* Keys from `start` whose request fits `cap` bytes; *size = its length. */
    uint32_t (*fit)(const lookup_t *l, uint32_t start, uint64_t cap, uint64_t *size);
    /* Length of a request for key `i` alone. */
    uint64_t (*one_key)(const lookup_t *l, uint32_t i);
    nipc_error_t (*encode)(const lookup_t *l, uint32_t start, uint32_t k, uint8_t *buf, size_t cap,
                           size_t *len);
    nipc_error_t (*decode)(void *ctx, const nipc_message_t *msg);
    /* Checks the sub-response for keys [start, start + k): *accepted items
     * precede the PAYLOAD_EXCEEDED tail; *bytes bounds their re-encoding. */
    nipc_error_t (*accept)(const lookup_t *l, uint32_t start, uint32_t k, uint32_t *accepted,
                           uint64_t *bytes);
    nipc_error_t (*copy)(lookup_t *l, uint32_t accepted);
    /* Cgroups only: the final OVERSIZED_ITEM for a key too long to send. */
    nipc_error_t (*oversized)(lookup_t *l, uint32_t i);
} lookup_method_t;

struct lookup {
    nipc_client_t *c;
    unsigned buf; /* which of the client's result buffers */
    const nipc_str_t *paths;
    const uint32_t *pids;
    uint32_t n;
    union {
        nipc_cgroups_lookup_view_t cg;
        nipc_apps_lookup_view_t app;
    } sub; /* the current sub-response, in the session's buffer */
    union {
        nipc_cgroups_lookup_builder_t cg;
        nipc_apps_lookup_builder_t app;
    } out; /* the stitched response */
    nipc_lookup_builder_core_t *core;
    size_t len; /* of the result, when run() succeeds */
};

void nipc__client_lookup_release(nipc_client_t *c)
{
    for (int i = 0; i < 2; i++) {
        free(c->lookup_buf[i]);
        c->lookup_buf[i] = NULL;
        c->lookup_cap[i] = 0;
    }
}

/* A failure of the logical call itself (sub-call failures count themselves). */
static nipc_error_t fail(nipc_client_t *c, nipc_error_t err)
{
    c->error_count++;
    return c->last_error = err;
}

/* Bytes of the stitched response so far, and where the next item may end. */
static uint64_t used(const nipc_lookup_builder_core_t *core)
{
    return nipc__lookup_packed_start(core->item_count) +
           (core->added ? nipc__align8(core->packed_len) : 0);
}

/* Room for `need` bytes in the result buffer; the builder follows a move. */
static nipc_error_t ensure(lookup_t *l, uint64_t need)
{
    nipc_client_t *c = l->c;
    if (need <= c->lookup_cap[l->buf])
        return NIPC_OK;
    if (need > SIZE_MAX / 2)
        return NIPC_ERR_NO_MEMORY;
    size_t cap = c->lookup_cap[l->buf] ? c->lookup_cap[l->buf] : 4096;
    while (cap < need)
        cap *= 2;
    /* Only when a result is bigger than any before: not the steady state. */
    uint8_t *p = realloc(c->lookup_buf[l->buf], cap);
    if (!p)
        return NIPC_ERR_NO_MEMORY;
    c->lookup_buf[l->buf] = p;
    c->lookup_cap[l->buf] = cap;
    l->core->buf = p;
    l->core->cap = cap;
    return NIPC_OK;
}

static int over_ceiling(const lookup_t *l)
{
    const nipc_lookup_builder_core_t *core = l->core;
    return nipc__lookup_packed_start(core->item_count) + core->packed_len >
           l->c->cfg.max_logical_lookup_response_bytes;
}

/* Sum of the directory lengths of items [0, k) plus alignment slack: the
 * canonical re-encoding of a valid item is never longer than the item. */
static uint64_t items_bound(const uint8_t *payload, uint32_t k)
{
    uint64_t bytes = 0;
    for (uint32_t i = 0; i < k; i++) {
        uint32_t off, len;
        nipc__lookup_entry(payload, i, &off, &len);
        bytes += (uint64_t)len + 7u;
    }
    return bytes;
}

/* ---------------------------------------------------------------- cgroups */

static nipc_error_t cg_check_keys(const lookup_t *l)
{
    for (uint32_t i = 0; i < l->n; i++) {
        if (l->paths[i].len == 0)
            return NIPC_ERR_BAD_FIELD;
        if (!l->paths[i].ptr)
            return NIPC_ERR_INVALID_ARGUMENT;
        if (nipc__lookup_has_nul(l->paths[i]))
            return NIPC_ERR_EMBEDDED_NUL;
    }
    return NIPC_OK;
}

static uint32_t cg_fit(const lookup_t *l, uint32_t start, uint64_t cap, uint64_t *size)
{
    /* No keys: the paths may be NULL (no pointer arithmetic on it). */
    return nipc__cgroups_lookup_req_prefix(l->n ? l->paths + start : NULL, l->n - start, cap, size);
}

static uint64_t cg_one_key(const lookup_t *l, uint32_t i)
{
    return nipc__lookup_packed_start(1) + (uint64_t)l->paths[i].len + 1u;
}

static nipc_error_t cg_encode(const lookup_t *l, uint32_t start, uint32_t k, uint8_t *buf,
                              size_t cap, size_t *len)
{
    return nipc_cgroups_lookup_req_encode(k ? l->paths + start : NULL, k, buf, cap, len);
}

static nipc_error_t cg_decode(void *ctx, const nipc_message_t *msg)
{
    lookup_t *l = ctx;
    if (msg->header.flags & NIPC_FLAG_BATCH)
        return NIPC_ERR_BAD_RESPONSE;
    return nipc_cgroups_lookup_resp_decode(msg->payload, msg->header.payload_len, &l->sub.cg);
}

static int same_str(nipc_str_t a, nipc_str_t b)
{
    return a.len == b.len && (a.len == 0 || memcmp(a.ptr, b.ptr, a.len) == 0);
}

static nipc_error_t cg_accept(const lookup_t *l, uint32_t start, uint32_t k, uint32_t *accepted,
                              uint64_t *bytes)
{
    const nipc_cgroups_lookup_view_t *v = &l->sub.cg;
    if (v->item_count != k)
        return NIPC_ERR_BAD_RESPONSE;
    uint32_t tail = k; /* index of the first PAYLOAD_EXCEEDED */
    for (uint32_t i = 0; i < k; i++) {
        nipc_cgroups_lookup_item_t it;
        nipc_error_t err = nipc_cgroups_lookup_resp_item(v, i, &it);
        if (err != NIPC_OK)
            return err;
        if (!same_str(it.path, l->paths[start + i]))
            return NIPC_ERR_BAD_RESPONSE; /* not the key we sent */
        if (it.status == NIPC_CGROUP_PAYLOAD_EXCEEDED) {
            if (tail == k)
                tail = i;
        } else if (tail < k) {
            return NIPC_ERR_BAD_RESPONSE; /* an answer after the tail began */
        }
    }
    if (k > 0 && tail == 0)
        return NIPC_ERR_OVERFLOW; /* not one answer fits: no progress possible */
    *accepted = tail;
    *bytes = items_bound(v->payload, tail);
    return NIPC_OK;
}

static nipc_error_t cg_copy(lookup_t *l, uint32_t accepted)
{
    for (uint32_t i = 0; i < accepted; i++) {
        nipc_cgroups_lookup_item_t it;
        nipc_error_t err = nipc_cgroups_lookup_resp_item(&l->sub.cg, i, &it);
        if (err == NIPC_OK)
            err = nipc_cgroups_lookup_builder_add(&l->out.cg, &it, NULL);
        if (err != NIPC_OK)
            return err;
    }
    return NIPC_OK;
}

static nipc_error_t cg_oversized(lookup_t *l, uint32_t i)
{
    nipc_error_t err =
        ensure(l, used(l->core) + NIPC_CGROUPS_LOOKUP_MIN_ITEM((uint64_t)l->paths[i].len));
    if (err != NIPC_OK)
        return err;
    nipc_cgroups_lookup_item_t it = {
        .status = NIPC_CGROUP_OVERSIZED_ITEM,
        .path = l->paths[i],
        .name = {"", 0},
    };
    return nipc_cgroups_lookup_builder_add(&l->out.cg, &it, NULL);
}

static const lookup_method_t cgroups_method = {
    NIPC_METHOD_CGROUPS_LOOKUP,
    cg_check_keys,
    cg_fit,
    cg_one_key,
    cg_encode,
    cg_decode,
    cg_accept,
    cg_copy,
    cg_oversized,
};

/* ------------------------------------------------------------------- apps */

static uint32_t app_fit(const lookup_t *l, uint32_t start, uint64_t cap, uint64_t *size)
{
    const uint64_t per_key = 8u + NIPC_APPS_LOOKUP_KEY_SIZE; /* directory entry + key */
    uint64_t room = cap >= NIPC_LOOKUP_HEADER_SIZE ? (cap - NIPC_LOOKUP_HEADER_SIZE) / per_key : 0;
    uint32_t k = l->n - start;
    if (room < k)
        k = (uint32_t)room;
    *size = NIPC_LOOKUP_HEADER_SIZE + per_key * k;
    return k;
}

static uint64_t app_one_key(const lookup_t *l, uint32_t i)
{
    (void)l;
    (void)i;
    return NIPC_LOOKUP_HEADER_SIZE + 8u + NIPC_APPS_LOOKUP_KEY_SIZE;
}

static nipc_error_t app_encode(const lookup_t *l, uint32_t start, uint32_t k, uint8_t *buf,
                               size_t cap, size_t *len)
{
    return nipc_apps_lookup_req_encode(k ? l->pids + start : NULL, k, buf, cap, len);
}

static nipc_error_t app_decode(void *ctx, const nipc_message_t *msg)
{
    lookup_t *l = ctx;
    if (msg->header.flags & NIPC_FLAG_BATCH)
        return NIPC_ERR_BAD_RESPONSE;
    return nipc_apps_lookup_resp_decode(msg->payload, msg->header.payload_len, &l->sub.app);
}

static nipc_error_t app_accept(const lookup_t *l, uint32_t start, uint32_t k, uint32_t *accepted,
                               uint64_t *bytes)
{
    const nipc_apps_lookup_view_t *v = &l->sub.app;
    if (v->item_count != k)
        return NIPC_ERR_BAD_RESPONSE;
    uint32_t tail = k;
    for (uint32_t i = 0; i < k; i++) {
        nipc_apps_lookup_item_t it;
        nipc_error_t err = nipc_apps_lookup_resp_item(v, i, &it);
        if (err != NIPC_OK)
            return err;
        if (it.pid != l->pids[start + i])
            return NIPC_ERR_BAD_RESPONSE;
        if (it.status == NIPC_APP_PAYLOAD_EXCEEDED) {
            if (tail == k)
                tail = i;
        } else if (tail < k) {
            return NIPC_ERR_BAD_RESPONSE;
        }
    }
    if (k > 0 && tail == 0)
        return NIPC_ERR_OVERFLOW;
    *accepted = tail;
    *bytes = items_bound(v->payload, tail);
    return NIPC_OK;
}

static nipc_error_t app_copy(lookup_t *l, uint32_t accepted)
{
    for (uint32_t i = 0; i < accepted; i++) {
        nipc_apps_lookup_item_t it;
        nipc_error_t err = nipc_apps_lookup_resp_item(&l->sub.app, i, &it);
        if (err == NIPC_OK)
            err = nipc_apps_lookup_builder_add(&l->out.app, &it, NULL);
        if (err != NIPC_OK)
            return err;
    }
    return NIPC_OK;
}

static const lookup_method_t apps_method = {
    NIPC_METHOD_APPS_LOOKUP,
    NULL /* any PID is a key */,
    app_fit,
    app_one_key,
    app_encode,
    app_decode,
    app_accept,
    app_copy,
    NULL, /* a PID key fits any usable request size; otherwise overflow */
};

/* ------------------------------------------------------------ the split loop */

/*
 * Not even the next key alone fits the agreed request size. If this
 * client's proposal would hold it, the server may have agreed to less than
 * it can take now (its limits can change): reconnect once and use the new
 * agreement if it grew enough. Returns OK to go on, or the call's error.
 */
static nipc_error_t renegotiate(lookup_t *l, uint64_t one, uint64_t cap, uint64_t deadline)
{
    nipc_client_t *c = l->c;
    nipc_error_t err = nipc__client_renegotiate(c, deadline);
    if (err == NIPC_ERR_TIMEOUT || err == NIPC_ERR_ABORTED)
        return err;
    if (err != NIPC_OK)
        return NIPC_ERR_OVERFLOW;
    uint64_t now = nipc_session_info(c->session)->max_request_payload;
    return now > cap && one <= now ? NIPC_OK : NIPC_ERR_OVERFLOW;
}

/* One sub-call for keys [start, start + k) whose request is `size` bytes. */
static nipc_error_t subcall(lookup_t *l, const lookup_method_t *m, uint32_t start, uint32_t k,
                            uint64_t size, uint64_t deadline)
{
    nipc_client_t *c = l->c;
    uint8_t *req = nipc__client_request_buffer(c, (size_t)size);
    if (!req)
        return fail(c, NIPC_ERR_NO_MEMORY);
    size_t len = 0;
    nipc_error_t err = m->encode(l, start, k, req, (size_t)size, &len);
    if (err != NIPC_OK)
        return fail(c, err);
    nipc__call_t call = {
        .method = m->code,
        .item_count = 1,
        .payload = req,
        .payload_len = len,
        .decode = m->decode,
        .decode_ctx = l,
    };
    return nipc__client_call_until(c, &call, deadline); /* counts its own failures */
}

/*
 * The common case: the first sub-call answered every key. Its response,
 * already validated and checked, is the result as it is: one copy into the
 * result buffer (the session's buffer is reused by the next call) instead
 * of re-encoding item by item.
 */
static nipc_error_t whole(lookup_t *l)
{
    /* Both views share their members (common initial sequence). */
    const nipc_cgroups_lookup_view_t *v = &l->sub.cg;
    if (v->len > l->c->cfg.max_logical_lookup_response_bytes)
        return fail(l->c, NIPC_ERR_OVERFLOW);
    nipc_error_t err = ensure(l, v->len);
    if (err != NIPC_OK)
        return fail(l->c, err);
    memcpy(l->c->lookup_buf[l->buf], v->payload, v->len);
    l->len = v->len;
    l->c->lookup_turn = l->buf;
    return NIPC_OK;
}

static nipc_error_t run(lookup_t *l, const lookup_method_t *m, uint32_t timeout_ms,
                        uint64_t *generation)
{
    nipc_client_t *c = l->c;
    const nipc_client_config_t *cfg = &c->cfg;
    if (nipc_client_state(c) != NIPC_CLIENT_READY)
        return fail(c, NIPC_ERR_NOT_READY);
    uint64_t header = nipc__lookup_packed_start(l->n);
    if (l->n > cfg->max_logical_lookup_items || header > cfg->max_logical_lookup_response_bytes)
        return fail(c, NIPC_ERR_OVERFLOW);
    /* A logical call covers all of its keys or fails as a whole. */
    nipc_error_t err = m->check_keys ? m->check_keys(l) : NIPC_OK;
    if (err != NIPC_OK)
        return fail(c, err);
    uint64_t deadline = nipc__deadline(timeout_ms ? timeout_ms : cfg->call_timeout_ms);

    err = ensure(l, header);
    if (err != NIPC_OK)
        return fail(c, err);
    nipc_lookup_builder_core_t *core = l->core;
    nipc__lookup_core_init(core, c->lookup_buf[l->buf], c->lookup_cap[l->buf], l->n, 0);

    uint32_t start = 0, subcalls = 0;
    int have_gen = 0, first = 1;
    *generation = 0; /* when no sub-call happens (every key oversized) */
    while (first || start < l->n) {
        first = 0;
        if (nipc_abort_is_set(c->abort))
            return fail(c, NIPC_ERR_ABORTED);
        if (nipc__remaining_ms(deadline, 1) == 0)
            return fail(c, NIPC_ERR_TIMEOUT);
        if (nipc_client_state(c) != NIPC_CLIENT_READY)
            return fail(c, NIPC_ERR_NOT_READY);

        uint64_t cap = nipc_session_info(c->session)->max_request_payload, size = 0;
        uint32_t k = m->fit(l, start, cap, &size);
        if (k == 0 && start < l->n) {
            uint64_t one = m->one_key(l, start);
            if (one <= c->req_proposal) {
                err = renegotiate(l, one, cap, deadline);
                if (err != NIPC_OK)
                    return fail(c, err);
                first = 1; /* try the same keys again under the new limit */
                continue;
            }
            if (!m->oversized)
                return fail(c, NIPC_ERR_OVERFLOW);
            err = m->oversized(l, start++);
            if (err == NIPC_OK && over_ceiling(l))
                err = NIPC_ERR_OVERFLOW;
            if (err != NIPC_OK)
                return fail(c, err);
            continue;
        }
        if (++subcalls > cfg->max_logical_lookup_subcalls)
            return fail(c, NIPC_ERR_OVERFLOW);
        err = subcall(l, m, start, k, size, deadline);
        if (err != NIPC_OK)
            return err;

        /* Both views share their members (a common initial sequence, C11
         * 6.5.2.3), so either union member reads the generation. */
        uint64_t gen = l->sub.cg.generation;
        if (have_gen && gen != *generation)
            return fail(c, NIPC_ERR_GENERATION_CHANGED);
        have_gen = 1;
        *generation = gen;
        uint32_t accepted = 0;
        uint64_t bytes = 0;
        err = m->accept(l, start, k, &accepted, &bytes);
        if (err == NIPC_OK && start == 0 && accepted == l->n)
            return whole(l); /* one sub-call answered every key */
        if (err == NIPC_OK)
            err = ensure(l, used(core) + bytes);
        if (err == NIPC_OK)
            err = m->copy(l, accepted);
        if (err == NIPC_OK && over_ceiling(l))
            err = NIPC_ERR_OVERFLOW;
        if (err != NIPC_OK)
            return fail(c, err);
        start += accepted;
    }
    err = nipc__lookup_core_finish(core, &l->len);
    if (err != NIPC_OK)
        return fail(c, err);
    nipc__lookup_core_set_generation(core, *generation);
    c->lookup_turn = l->buf; /* this buffer now holds the live view */
    return NIPC_OK;
}

/* The result buffer not holding the previous call's view. */
static void lookup_init(lookup_t *l, nipc_client_t *c, uint32_t n)
{
    memset(l, 0, sizeof *l);
    l->c = c;
    l->n = n;
    l->buf = c->lookup_turn ^ 1u;
}

nipc_error_t nipc_client_cgroups_lookup(nipc_client_t *c, const nipc_str_t *paths, uint32_t n,
                                        nipc_cgroups_lookup_view_t *out, uint32_t timeout_ms)
{
    if (!c || !out || (n && !paths))
        return NIPC_ERR_INVALID_ARGUMENT;
    lookup_t l;
    lookup_init(&l, c, n);
    l.paths = paths;
    l.core = &l.out.cg.core;
    l.out.cg.req = NULL;
    uint64_t gen = 0;
    nipc_error_t err = run(&l, &cgroups_method, timeout_ms, &gen);
    if (err != NIPC_OK)
        return nipc__os_settle(err);
    out->payload = c->lookup_buf[l.buf];
    out->len = l.len;
    out->item_count = n;
    out->generation = gen;
    return NIPC_OK;
}

nipc_error_t nipc_client_apps_lookup(nipc_client_t *c, const uint32_t *pids, uint32_t n,
                                     nipc_apps_lookup_view_t *out, uint32_t timeout_ms)
{
    if (!c || !out || (n && !pids))
        return NIPC_ERR_INVALID_ARGUMENT;
    lookup_t l;
    lookup_init(&l, c, n);
    l.pids = pids;
    l.core = &l.out.app.core;
    l.out.app.req = NULL;
    uint64_t gen = 0;
    nipc_error_t err = run(&l, &apps_method, timeout_ms, &gen);
    if (err != NIPC_OK)
        return nipc__os_settle(err);
    out->payload = c->lookup_buf[l.buf];
    out->len = l.len;
    out->item_count = n;
    out->generation = gen;
    return NIPC_OK;
}
