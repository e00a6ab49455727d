/*
 * Handshake decisions shared by every baseline transport (UDS, Named Pipe):
 * the server's HELLO decision procedure, in upstream C order, and the
 * client's interpretation of a HELLO_ACK. Pure functions; the transports do
 * the I/O. Internal to the library.
 */
#ifndef NETIPC_PROTOCOL_HANDSHAKE_H
#define NETIPC_PROTOCOL_HANDSHAKE_H

#include <stddef.h>
#include <stdint.h>

#include "netipc/protocol.h"

/* Both sides read the handshake into a buffer of this size. */
#define NIPC__HANDSHAKE_BUF 128u

/* What a server offers to one accepted connection (values already defaulted). */
typedef struct nipc__server_offer {
    uint32_t supported_profiles;
    uint32_t preferred_profiles;
    uint32_t max_request_payload;
    uint32_t max_response_payload;
    uint32_t packet_size;
    uint64_t auth_token;
} nipc__server_offer_t;

/* Decision result: close without answering. */
#define NIPC__HS_CLOSE (-1)

/*
 * Applies the server decision procedure to a received HELLO message
 * (header + payload, `len` bytes). Returns NIPC__HS_CLOSE, or the
 * transport status to send in the HELLO_ACK with *ack filled (all zero but
 * layout_version on rejections). *hello receives the decoded HELLO when it
 * could be parsed.
 */
int nipc__handshake_decide(const uint8_t *msg, size_t len, const nipc__server_offer_t *offer,
                           uint64_t session_id, nipc_hello_t *hello, nipc_hello_ack_t *ack);

/* Encodes a complete HELLO_ACK message (80 bytes) into `out`. */
void nipc__handshake_encode_ack(int status, const nipc_hello_ack_t *ack, uint8_t *out);

/* Encodes a complete HELLO message (76 bytes) into `out`. */
void nipc__handshake_encode_hello(const nipc_hello_t *hello, uint8_t *out);

/*
 * Interprets a received HELLO_ACK message as a client. Errors:
 * INCOMPATIBLE (wrong protocol/layout version, ACK INCOMPATIBLE),
 * AUTH_FAILED, UNSUPPORTED, LIMIT_EXCEEDED, HANDSHAKE (other non-OK status),
 * PROTOCOL (anything malformed, agreed packet size <= 32).
 */
nipc_error_t nipc__handshake_client_result(const uint8_t *msg, size_t len, nipc_hello_ack_t *ack);

/*
 * Client, after an OK HELLO_ACK and before allocating for it: PROTOCOL when
 * the server agreed to more than `hello` proposed (request payload, request
 * batch, response batch beyond the larger proposed batch, packet size) or
 * to a response payload above NIPC_PAYLOAD_HARD_LIMIT.
 */
nipc_error_t nipc__handshake_check_agreed(const nipc_hello_t *hello, const nipc_hello_ack_t *ack);

/* Constant-time equality of two tokens. */
int nipc__token_equal(uint64_t a, uint64_t b);

#endif
