/*
 * Fuzz target: the handshake decisions. The input is a whole received
 * message (header + payload) and goes to both sides:
 *
 *  - nipc__handshake_decide() for two server offers, checked step by step
 *    against the decision table of wire.md 4.1 (restated below from the
 *    spec, not from the library), including every success value and the
 *    all-zero rejection ACK; the ACK the server would send is then encoded
 *    and given to the client, which must map its status as wire.md 4.2 says
 *    and, on success, decode exactly the values the server chose;
 *  - nipc__handshake_client_result() on the raw input, checked against 4.2.
 */
#include "fuzz.h"
#include "netipc/protocol.h"
#include "protocol/handshake.h"

#define SESSION_ID 0x1122334455667788ull

static const nipc__server_offer_t offers[] = {
    /* Matches the reference hello.bin token, so seeds reach the success path. */
    {0x07u, 0x06u, 4096u, 1048576u, 65536u, 0xAABBCCDDEEFF0011ull},
    {0x01u, 0x01u, 1024u, 1024u, 33u, 0u},
};

static uint32_t highest_bit(uint32_t m)
{
    uint32_t b = 0;
    for (uint32_t i = 0; i < 32; i++)
        if (m & (1u << i))
            b = 1u << i;
    return b;
}

/* The server's answer per wire.md 4.1: NIPC__HS_CLOSE or the ACK status. */
static int expected_status(const uint8_t *m, size_t len, const nipc__server_offer_t *o)
{
    if (len < 32 || fuzz_ld32(m) != NIPC_HEADER_MAGIC)
        return NIPC__HS_CLOSE;
    uint16_t version = fuzz_ld16(m + 4), hlen = fuzz_ld16(m + 6), kind = fuzz_ld16(m + 8);
    uint16_t code = fuzz_ld16(m + 12);
    if (version != 1)
        return (hlen == 32 && kind == 3 && code == 1) ? NIPC_STATUS_INCOMPATIBLE : NIPC__HS_CLOSE;
    if (hlen != 32 || kind < 1 || kind > 3)
        return NIPC__HS_CLOSE;
    if (kind != 3 || code != 1)
        return NIPC__HS_CLOSE;
    if (len - 32 < 44)
        return NIPC__HS_CLOSE;
    const uint8_t *p = m + 32;
    if (fuzz_ld16(p) != 1)
        return NIPC_STATUS_INCOMPATIBLE;
    if (fuzz_ld32(p + 28) != 0)
        return NIPC__HS_CLOSE;
    if ((fuzz_ld32(p + 4) & o->supported_profiles) == 0)
        return NIPC_STATUS_UNSUPPORTED;
    if (fuzz_ld64(p + 32) != o->auth_token)
        return NIPC_STATUS_AUTH_FAILED;
    if (fuzz_ld32(p + 12) > o->max_request_payload)
        return NIPC_STATUS_LIMIT_EXCEEDED;
    uint32_t pkt = fuzz_ld32(p + 40);
    if ((pkt < o->packet_size ? pkt : o->packet_size) <= 32)
        return NIPC_STATUS_INCOMPATIBLE;
    return NIPC_STATUS_OK;
}

static void check_success_ack(const uint8_t *p, const nipc__server_offer_t *o,
                              const nipc_hello_ack_t *a)
{
    uint32_t sup = fuzz_ld32(p + 4), pref = fuzz_ld32(p + 8), pkt = fuzz_ld32(p + 40);
    uint32_t inter = sup & o->supported_profiles;
    uint32_t best = inter & pref & o->preferred_profiles;
    FUZZ_CHECK(a->layout_version == 1 && a->flags == 0 && a->reserved == 0);
    FUZZ_CHECK(a->server_supported_profiles == o->supported_profiles);
    FUZZ_CHECK(a->intersection_profiles == inter);
    FUZZ_CHECK(a->selected_profile == highest_bit(best ? best : inter));
    FUZZ_CHECK(a->selected_profile != 0 && (a->selected_profile & inter) == a->selected_profile);
    FUZZ_CHECK(a->agreed_max_request_payload_bytes == fuzz_ld32(p + 12));
    FUZZ_CHECK(a->agreed_max_request_batch_items == fuzz_ld32(p + 16));
    FUZZ_CHECK(a->agreed_max_response_payload_bytes == o->max_response_payload);
    FUZZ_CHECK(a->agreed_max_response_batch_items == a->agreed_max_request_batch_items);
    FUZZ_CHECK(a->agreed_packet_size == (pkt < o->packet_size ? pkt : o->packet_size));
    FUZZ_CHECK(a->agreed_packet_size > 32);
    FUZZ_CHECK(a->session_id == SESSION_ID);
}

static nipc_error_t client_error_for(int status)
{
    switch (status) {
    case NIPC_STATUS_OK:
        return NIPC_OK;
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
}

static void check_server(const uint8_t *data, size_t size, const nipc__server_offer_t *o)
{
    nipc_hello_t hello;
    nipc_hello_ack_t ack;
    memset(&hello, 0, sizeof hello);
    int st = nipc__handshake_decide(data, size, o, SESSION_ID, &hello, &ack);
    if (st != expected_status(data, size, o)) {
        fprintf(stderr, "decide returned %d, expected %d\n", st, expected_status(data, size, o));
        abort();
    }
    if (st == NIPC__HS_CLOSE)
        return;

    if (st == NIPC_STATUS_OK) {
        check_success_ack(data + 32, o, &ack);
    } else {
        /* Rejection ACK: layout_version 1, every other byte 0. */
        uint8_t raw[NIPC_HELLO_ACK_SIZE], zero[NIPC_HELLO_ACK_SIZE] = {1};
        nipc_hello_ack_encode(&ack, raw);
        FUZZ_CHECK(memcmp(raw, zero, sizeof raw) == 0);
    }

    /* The client must read this very ACK back as the server meant it. */
    uint8_t msg[NIPC_HEADER_SIZE + NIPC_HELLO_ACK_SIZE];
    nipc__handshake_encode_ack(st, &ack, msg);
    nipc_header_t h;
    FUZZ_CHECK_ERR(nipc_header_decode(msg, sizeof msg, &h), NIPC_OK);
    FUZZ_CHECK(h.kind == NIPC_KIND_CONTROL && h.code == NIPC_CONTROL_HELLO_ACK);
    FUZZ_CHECK(h.transport_status == st && h.payload_len == NIPC_HELLO_ACK_SIZE);
    nipc_hello_ack_t back;
    FUZZ_CHECK_ERR(nipc__handshake_client_result(msg, sizeof msg, &back), client_error_for(st));
    if (st == NIPC_STATUS_OK) {
        uint8_t again[NIPC_HELLO_ACK_SIZE];
        nipc_hello_ack_encode(&back, again);
        FUZZ_CHECK(memcmp(again, msg + 32, sizeof again) == 0);
    }

    /* And the decoded HELLO re-encodes into the received message. */
    uint8_t hmsg[NIPC_HEADER_SIZE + NIPC_HELLO_SIZE];
    if (st != NIPC_STATUS_INCOMPATIBLE || fuzz_ld16(data + 4) == 1) {
        nipc__handshake_encode_hello(&hello, hmsg);
        FUZZ_CHECK(memcmp(hmsg + 32, data + 32, NIPC_HELLO_SIZE) == 0);
    }
}

/* The client's verdict per wire.md 4.2 (POSIX: agreed packet size must exceed 32). */
static nipc_error_t expected_client(const uint8_t *m, size_t len)
{
    if (len < 32 || fuzz_ld32(m) != NIPC_HEADER_MAGIC)
        return NIPC_ERR_PROTOCOL;
    if (fuzz_ld16(m + 4) != 1)
        return NIPC_ERR_INCOMPATIBLE;
    uint16_t kind = fuzz_ld16(m + 8);
    if (fuzz_ld16(m + 6) != 32 || kind != 3 || fuzz_ld16(m + 12) != 2)
        return NIPC_ERR_PROTOCOL;
    uint16_t status = fuzz_ld16(m + 14);
    if (status != NIPC_STATUS_OK)
        return client_error_for(status);
    if (len - 32 < 48 || fuzz_ld16(m + 34) != 0)
        return NIPC_ERR_PROTOCOL;
    if (fuzz_ld16(m + 32) != 1)
        return NIPC_ERR_INCOMPATIBLE;
    if (fuzz_ld32(m + 32 + 32) <= 32)
        return NIPC_ERR_PROTOCOL;
    return NIPC_OK;
}

static void check_client(const uint8_t *data, size_t size)
{
    nipc_hello_ack_t a;
    nipc_error_t err = nipc__handshake_client_result(data, size, &a);
    FUZZ_CHECK_ERR(err, expected_client(data, size));
    if (err != NIPC_OK)
        return;
    uint8_t out[NIPC_HELLO_ACK_SIZE];
    nipc_hello_ack_encode(&a, out);
    FUZZ_CHECK(memcmp(out, data + 32, sizeof out) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    for (size_t i = 0; i < sizeof offers / sizeof offers[0]; i++)
        check_server(data, size, &offers[i]);
    check_client(data, size);
    return 0;
}
