/*
 * Typed Level 2 calls: each encodes its request into the client's buffer
 * and decodes the response into the caller's result. The engine in
 * client.c does the I/O, retries and growth; nothing here blocks.
 */
#include <string.h>

#include "netipc/codec.h"
#include "netipc/service.h"
#include "service/service_internal.h"

#include "common/internal.h"

static nipc_error_t decode_increment(void *ctx, const nipc_message_t *msg)
{
    if (msg->header.flags & NIPC_FLAG_BATCH)
        return NIPC_ERR_BAD_RESPONSE;
    return nipc_increment_decode(msg->payload, msg->header.payload_len, ctx);
}

nipc_error_t nipc_client_increment(nipc_client_t *c, uint64_t value, uint64_t *out,
                                   uint32_t timeout_ms)
{
    if (!c || !out)
        return NIPC_ERR_INVALID_ARGUMENT;
    uint8_t *buf = nipc__client_request_buffer(c, NIPC_INCREMENT_SIZE);
    if (!buf)
        return NIPC_ERR_NO_MEMORY;
    size_t len;
    nipc_increment_encode(value, buf, NIPC_INCREMENT_SIZE, &len);
    nipc__call_t call = {
        .method = NIPC_METHOD_INCREMENT,
        .item_count = 1,
        .payload = buf,
        .payload_len = len,
        .decode = decode_increment,
        .decode_ctx = out,
    };
    return nipc__client_call(c, &call, timeout_ms);
}

typedef struct batch_result {
    uint64_t *out;
    uint32_t count;
} batch_result_t;

static nipc_error_t decode_increment_batch(void *ctx, const nipc_message_t *msg)
{
    batch_result_t *r = ctx;
    if (!(msg->header.flags & NIPC_FLAG_BATCH) || msg->header.item_count != r->count)
        return NIPC_ERR_BAD_RESPONSE;
    /* On error out[] is unspecified. */
    return nipc_increment_batch_decode(msg->payload, msg->header.payload_len, r->count, r->out);
}

nipc_error_t nipc_client_increment_batch(nipc_client_t *c, const uint64_t *values, uint32_t count,
                                         uint64_t *out, uint32_t timeout_ms)
{
    if (!c || (count && (!values || !out)))
        return NIPC_ERR_INVALID_ARGUMENT;
    if (count == 0)
        return NIPC_OK;
    if (count == 1)
        return nipc_client_increment(c, values[0], out, timeout_ms);
    if (count > c->cfg.max_request_batch_items)
        return NIPC_ERR_LIMIT_EXCEEDED;

    size_t need = (size_t)count * (NIPC_BATCH_ENTRY_SIZE + NIPC_INCREMENT_SIZE);
    uint8_t *buf = nipc__client_request_buffer(c, need);
    if (!buf)
        return NIPC_ERR_NO_MEMORY;
    size_t len;
    nipc_error_t err = nipc_increment_batch_encode(values, count, buf, need, &len);
    if (err != NIPC_OK)
        return err;
    batch_result_t r = {out, count};
    nipc__call_t call = {
        .method = NIPC_METHOD_INCREMENT,
        .flags = NIPC_FLAG_BATCH,
        .item_count = count,
        .payload = buf,
        .payload_len = len,
        .decode = decode_increment_batch,
        .decode_ctx = &r,
    };
    return nipc__client_call(c, &call, timeout_ms);
}

static nipc_error_t decode_string(void *ctx, const nipc_message_t *msg)
{
    if (msg->header.flags & NIPC_FLAG_BATCH)
        return NIPC_ERR_BAD_RESPONSE;
    return nipc_string_reverse_decode(msg->payload, msg->header.payload_len, ctx);
}

nipc_error_t nipc_client_string_reverse(nipc_client_t *c, const char *str, uint32_t len,
                                        nipc_str_t *out, uint32_t timeout_ms)
{
    if (!c || !out || (len && !str))
        return NIPC_ERR_INVALID_ARGUMENT;
    size_t need = (size_t)NIPC_STRING_REVERSE_FIXED + len + 1u;
    /* Larger than growth can ever allow: fail before allocating for it. */
    if (need > c->cfg.max_payload_ceiling && need > c->req_proposal) {
        c->error_count++; /* a failed call, though no I/O happened */
        return c->last_error = NIPC_ERR_OVERFLOW;
    }
    uint8_t *buf = nipc__client_request_buffer(c, need);
    if (!buf)
        return NIPC_ERR_NO_MEMORY;
    size_t n;
    nipc_error_t err = nipc_string_reverse_encode(str, len, buf, need, &n);
    if (err != NIPC_OK)
        return err;
    nipc_str_t view;
    nipc__call_t call = {
        .method = NIPC_METHOD_STRING_REVERSE,
        .item_count = 1,
        .payload = buf,
        .payload_len = n,
        .decode = decode_string,
        .decode_ctx = &view,
    };
    err = nipc__client_call(c, &call, timeout_ms);
    if (err == NIPC_OK)
        *out = view;
    return err;
}

static nipc_error_t decode_snapshot(void *ctx, const nipc_message_t *msg)
{
    if (msg->header.flags & NIPC_FLAG_BATCH)
        return NIPC_ERR_BAD_RESPONSE;
    return nipc_cgroups_resp_decode(msg->payload, msg->header.payload_len, ctx);
}

nipc_error_t nipc_client_cgroups_snapshot(nipc_client_t *c, nipc_cgroups_view_t *out,
                                          uint32_t timeout_ms)
{
    if (!c || !out)
        return NIPC_ERR_INVALID_ARGUMENT;
    uint8_t *buf = nipc__client_request_buffer(c, NIPC_CGROUPS_REQ_SIZE);
    if (!buf)
        return NIPC_ERR_NO_MEMORY;
    size_t len;
    nipc_cgroups_req_encode(buf, NIPC_CGROUPS_REQ_SIZE, &len);
    nipc_cgroups_view_t view;
    nipc__call_t call = {
        .method = NIPC_METHOD_CGROUPS_SNAPSHOT,
        .item_count = 1,
        .payload = buf,
        .payload_len = len,
        .decode = decode_snapshot,
        .decode_ctx = &view,
    };
    nipc_error_t err = nipc__client_call(c, &call, timeout_ms);
    if (err == NIPC_OK)
        *out = view;
    return err;
}
