/*
 * The HELLO / HELLO_ACK decisions. The server order is upstream C's, which
 * peers can observe (e.g. a wrong token with no common profile gets
 * UNSUPPORTED, not AUTH_FAILED), so it is kept exactly; see wire.md 4.1.
 */
#include "protocol/handshake.h"

#include "common/internal.h"

int nipc__token_equal(uint64_t a, uint64_t b)
{
    /* No early exit: the time taken does not depend on where they differ. */
    volatile uint64_t diff = a ^ b;
    return diff == 0;
}

int nipc__handshake_decide(const uint8_t *msg, size_t len, const nipc__server_offer_t *offer,
                           uint64_t session_id, nipc_hello_t *hello, nipc_hello_ack_t *ack)
{
    nipc_header_t h;
    memset(ack, 0, sizeof *ack);
    ack->layout_version = NIPC_LAYOUT_VERSION;

    nipc_error_t err = nipc_header_decode(msg, len, &h);
    if (err == NIPC_ERR_BAD_VERSION && h.header_len == NIPC_HEADER_SIZE &&
        h.kind == NIPC_KIND_CONTROL && h.code == NIPC_CONTROL_HELLO)
        return NIPC_STATUS_INCOMPATIBLE; /* a HELLO from another protocol version */
    if (err != NIPC_OK)
        return NIPC__HS_CLOSE;
    if (h.kind != NIPC_KIND_CONTROL || h.code != NIPC_CONTROL_HELLO)
        return NIPC__HS_CLOSE;

    err = nipc_hello_decode(msg + NIPC_HEADER_SIZE, len - NIPC_HEADER_SIZE, hello);
    if (err == NIPC_ERR_TRUNCATED || err == NIPC_ERR_BAD_RESERVED)
        return NIPC__HS_CLOSE;
    if (err == NIPC_ERR_BAD_LAYOUT)
        return NIPC_STATUS_INCOMPATIBLE;

    uint32_t intersection = hello->supported_profiles & offer->supported_profiles;
    if (intersection == 0)
        return NIPC_STATUS_UNSUPPORTED;
    if (!nipc__token_equal(hello->auth_token, offer->auth_token))
        return NIPC_STATUS_AUTH_FAILED;
    if (hello->max_request_payload_bytes > offer->max_request_payload)
        return NIPC_STATUS_LIMIT_EXCEEDED;
    uint32_t packet = hello->packet_size < offer->packet_size ? hello->packet_size
                                                              : offer->packet_size;
    if (packet <= NIPC_HEADER_SIZE)
        return NIPC_STATUS_INCOMPATIBLE;

    uint32_t preferred = intersection & hello->preferred_profiles & offer->preferred_profiles;
    ack->server_supported_profiles = offer->supported_profiles;
    ack->intersection_profiles = intersection;
    ack->selected_profile = nipc_profile_highest(preferred ? preferred : intersection);
    ack->agreed_max_request_payload_bytes = hello->max_request_payload_bytes;
    ack->agreed_max_request_batch_items = hello->max_request_batch_items;
    ack->agreed_max_response_payload_bytes = offer->max_response_payload;
    ack->agreed_max_response_batch_items = hello->max_request_batch_items;
    ack->agreed_packet_size = packet;
    ack->session_id = session_id;
    return NIPC_STATUS_OK;
}

void nipc__handshake_encode_ack(int status, const nipc_hello_ack_t *ack, uint8_t *out)
{
    nipc_header_t h = nipc_header_make(NIPC_KIND_CONTROL, NIPC_CONTROL_HELLO_ACK, 0,
                                       (uint16_t)status, NIPC_HELLO_ACK_SIZE, 1, 0);
    nipc_header_encode(&h, out);
    nipc_hello_ack_encode(ack, out + NIPC_HEADER_SIZE);
}

void nipc__handshake_encode_hello(const nipc_hello_t *hello, uint8_t *out)
{
    nipc_header_t h =
        nipc_header_make(NIPC_KIND_CONTROL, NIPC_CONTROL_HELLO, 0, 0, NIPC_HELLO_SIZE, 1, 0);
    nipc_header_encode(&h, out);
    nipc_hello_encode(hello, out + NIPC_HEADER_SIZE);
}

nipc_error_t nipc__handshake_client_result(const uint8_t *msg, size_t len, nipc_hello_ack_t *ack)
{
    nipc_header_t h;
    nipc_error_t err = nipc_header_decode(msg, len, &h);
    if (err == NIPC_ERR_BAD_VERSION)
        return NIPC_ERR_INCOMPATIBLE;
    if (err != NIPC_OK || h.kind != NIPC_KIND_CONTROL || h.code != NIPC_CONTROL_HELLO_ACK)
        return NIPC_ERR_PROTOCOL;

    switch (h.transport_status) {
    case NIPC_STATUS_OK:
        break;
    case NIPC_STATUS_AUTH_FAILED:
        return NIPC_ERR_AUTH_FAILED;
    case NIPC_STATUS_UNSUPPORTED:
        return NIPC_ERR_UNSUPPORTED;
    case NIPC_STATUS_INCOMPATIBLE:
        return NIPC_ERR_INCOMPATIBLE;
    case NIPC_STATUS_LIMIT_EXCEEDED:
        return NIPC_ERR_LIMIT_EXCEEDED;
    default:
        return NIPC_ERR_HANDSHAKE;
    }

    err = nipc_hello_ack_decode(msg + NIPC_HEADER_SIZE, len - NIPC_HEADER_SIZE, ack);
    if (err == NIPC_ERR_BAD_LAYOUT)
        return NIPC_ERR_INCOMPATIBLE;
    if (err != NIPC_OK)
        return NIPC_ERR_PROTOCOL;
    if (ack->agreed_packet_size <= NIPC_HEADER_SIZE)
        return NIPC_ERR_PROTOCOL;
    return NIPC_OK;
}

nipc_error_t nipc__handshake_check_agreed(const nipc_hello_t *hello, const nipc_hello_ack_t *ack)
{
    uint32_t most_batch = hello->max_request_batch_items > hello->max_response_batch_items
                              ? hello->max_request_batch_items
                              : hello->max_response_batch_items;
    /* A server may agree to less than proposed, never to more. */
    if (ack->agreed_max_request_payload_bytes > hello->max_request_payload_bytes ||
        ack->agreed_max_request_batch_items > hello->max_request_batch_items ||
        ack->agreed_max_response_batch_items > most_batch ||
        ack->agreed_packet_size > hello->packet_size)
        return NIPC_ERR_PROTOCOL;
    /* The response limit is the server's to choose (the proposal is a
     * hint), within reason. */
    if (ack->agreed_max_response_payload_bytes > NIPC_PAYLOAD_HARD_LIMIT)
        return NIPC_ERR_PROTOCOL;
    return NIPC_OK;
}
