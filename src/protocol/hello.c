/*
 * HELLO (44 bytes) and HELLO_ACK (48 bytes) payloads. The checks are the
 * ones upstream C applies on each side; the server's negotiation rules (and
 * their order) live in handshake.c.
 */
#include "netipc/protocol.h"

#include "common/internal.h"

void nipc_hello_encode(const nipc_hello_t *h, void *out)
{
    uint8_t *p = out;
    nipc__st16(p + 0, h->layout_version);
    nipc__st16(p + 2, h->flags);
    nipc__st32(p + 4, h->supported_profiles);
    nipc__st32(p + 8, h->preferred_profiles);
    nipc__st32(p + 12, h->max_request_payload_bytes);
    nipc__st32(p + 16, h->max_request_batch_items);
    nipc__st32(p + 20, h->max_response_payload_bytes);
    nipc__st32(p + 24, h->max_response_batch_items);
    nipc__st32(p + 28, h->reserved);
    nipc__st64(p + 32, h->auth_token);
    nipc__st32(p + 40, h->packet_size);
}

nipc_error_t nipc_hello_decode(const void *buf, size_t len, nipc_hello_t *out)
{
    const uint8_t *p = buf;
    if (len < NIPC_HELLO_SIZE)
        return NIPC_ERR_TRUNCATED;
    out->layout_version = nipc__ld16(p + 0);
    out->flags = nipc__ld16(p + 2);
    out->supported_profiles = nipc__ld32(p + 4);
    out->preferred_profiles = nipc__ld32(p + 8);
    out->max_request_payload_bytes = nipc__ld32(p + 12);
    out->max_request_batch_items = nipc__ld32(p + 16);
    out->max_response_payload_bytes = nipc__ld32(p + 20);
    out->max_response_batch_items = nipc__ld32(p + 24);
    out->reserved = nipc__ld32(p + 28);
    out->auth_token = nipc__ld64(p + 32);
    out->packet_size = nipc__ld32(p + 40);

    if (out->layout_version != NIPC_LAYOUT_VERSION)
        return NIPC_ERR_BAD_LAYOUT;
    if (out->reserved != 0)
        return NIPC_ERR_BAD_RESERVED;
    return NIPC_OK;
}

void nipc_hello_ack_encode(const nipc_hello_ack_t *a, void *out)
{
    uint8_t *p = out;
    nipc__st16(p + 0, a->layout_version);
    nipc__st16(p + 2, a->flags);
    nipc__st32(p + 4, a->server_supported_profiles);
    nipc__st32(p + 8, a->intersection_profiles);
    nipc__st32(p + 12, a->selected_profile);
    nipc__st32(p + 16, a->agreed_max_request_payload_bytes);
    nipc__st32(p + 20, a->agreed_max_request_batch_items);
    nipc__st32(p + 24, a->agreed_max_response_payload_bytes);
    nipc__st32(p + 28, a->agreed_max_response_batch_items);
    nipc__st32(p + 32, a->agreed_packet_size);
    nipc__st32(p + 36, a->reserved);
    nipc__st64(p + 40, a->session_id);
}

nipc_error_t nipc_hello_ack_decode(const void *buf, size_t len, nipc_hello_ack_t *out)
{
    const uint8_t *p = buf;
    if (len < NIPC_HELLO_ACK_SIZE)
        return NIPC_ERR_TRUNCATED;
    out->layout_version = nipc__ld16(p + 0);
    out->flags = nipc__ld16(p + 2);
    out->server_supported_profiles = nipc__ld32(p + 4);
    out->intersection_profiles = nipc__ld32(p + 8);
    out->selected_profile = nipc__ld32(p + 12);
    out->agreed_max_request_payload_bytes = nipc__ld32(p + 16);
    out->agreed_max_request_batch_items = nipc__ld32(p + 20);
    out->agreed_max_response_payload_bytes = nipc__ld32(p + 24);
    out->agreed_max_response_batch_items = nipc__ld32(p + 28);
    out->agreed_packet_size = nipc__ld32(p + 32);
    out->reserved = nipc__ld32(p + 36);
    out->session_id = nipc__ld64(p + 40);

    /* Client order (upstream C): flags first, then layout; reserved ignored. */
    if (out->flags != 0)
        return NIPC_ERR_BAD_FLAGS;
    if (out->layout_version != NIPC_LAYOUT_VERSION)
        return NIPC_ERR_BAD_LAYOUT;
    return NIPC_OK;
}
