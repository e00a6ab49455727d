/*
 * netipc wire envelope (plugin-ipc protocol v1): the 32-byte outer header,
 * the 32-byte chunk continuation header, Level 1 batch directories and the
 * HELLO / HELLO_ACK handshake payloads.
 *
 * Everything here is pure: no I/O, no allocation, no global state. Encoders
 * write into caller buffers; decoders validate and fill caller structs.
 * Integers are in host byte order, which is little-endian on every supported
 * target. Method payloads (INCREMENT, snapshots, ...) are in codec.h.
 */
#ifndef NETIPC_PROTOCOL_H
#define NETIPC_PROTOCOL_H

#include <stddef.h>
#include <stdint.h>

#include "netipc/error.h"

#ifdef __cplusplus
extern "C" {
#endif

#define NIPC_HEADER_MAGIC 0x4e495043u /* "NIPC" */
#define NIPC_CHUNK_MAGIC 0x4e43484bu  /* "NCHK" */
#define NIPC_PROTOCOL_VERSION 1u
#define NIPC_LAYOUT_VERSION 1u
#define NIPC_HEADER_SIZE 32u
#define NIPC_CHUNK_HEADER_SIZE 32u
#define NIPC_HELLO_SIZE 44u
#define NIPC_HELLO_ACK_SIZE 48u
#define NIPC_BATCH_ENTRY_SIZE 8u

/* Level 1 defaults (not protocol limits). */
#define NIPC_MAX_PAYLOAD_DEFAULT 1024u
#define NIPC_MAX_PAYLOAD_CAP 1048576u
/*
 * netipc's own bound (not the spec's): no session agrees to a payload limit
 * above this in either direction, and a client refuses a HELLO_ACK or an
 * SHM region that asks for more, so a hostile peer cannot make it allocate
 * gigabytes. Servers configured above it fail to start (INVALID_ARGUMENT).
 */
#define NIPC_PAYLOAD_HARD_LIMIT (64u * 1024u * 1024u)

enum nipc_kind {
    NIPC_KIND_REQUEST = 1,
    NIPC_KIND_RESPONSE = 2,
    NIPC_KIND_CONTROL = 3,
};

#define NIPC_FLAG_BATCH 0x0001u

/* Envelope status carried in transport_status; never a business outcome. */
enum nipc_transport_status {
    NIPC_STATUS_OK = 0,
    NIPC_STATUS_BAD_ENVELOPE = 1,
    NIPC_STATUS_AUTH_FAILED = 2,
    NIPC_STATUS_INCOMPATIBLE = 3,
    NIPC_STATUS_UNSUPPORTED = 4,
    NIPC_STATUS_LIMIT_EXCEEDED = 5,
    NIPC_STATUS_INTERNAL_ERROR = 6,
};

enum nipc_control_code {
    NIPC_CONTROL_HELLO = 1,
    NIPC_CONTROL_HELLO_ACK = 2,
};

enum nipc_method {
    NIPC_METHOD_INCREMENT = 1,
    NIPC_METHOD_CGROUPS_SNAPSHOT = 2,
    NIPC_METHOD_STRING_REVERSE = 3,
    NIPC_METHOD_CGROUPS_LOOKUP = 4,
    NIPC_METHOD_APPS_LOOKUP = 5,
};

/* Transport profile bits (HELLO supported/preferred, HELLO_ACK selected). */
#define NIPC_PROFILE_BASELINE 0x01u      /* UDS SEQPACKET / Named Pipe */
#define NIPC_PROFILE_SHM_HYBRID 0x02u    /* spin then futex / event */
#define NIPC_PROFILE_SHM_FUTEX 0x04u     /* POSIX: run exactly like HYBRID */
#define NIPC_PROFILE_SHM_BUSYWAIT 0x04u  /* Windows: spin and yield only */
#define NIPC_PROFILE_SHM_WAITADDR 0x08u  /* reserved: never advertise */
/*
 * netipc's own profile (Linux), not in the specification: a sealed memfd
 * region passed over the socket with the HELLO_ACK, woken only when the
 * peer sleeps (docs/transport-posix.md). Bit 24, far from the spec's bits
 * so a future upstream bit cannot collide; upstream peers never list it,
 * so it is never selected with them. netipc adds it by itself wherever
 * SHM_HYBRID or SHM_FUTEX is configured (see `exact_profiles`).
 */
#define NIPC_PROFILE_SHM_SEALED 0x01000000u
#define NIPC_PROFILE_SHM_MASK (0x06u | NIPC_PROFILE_SHM_SEALED)

/* ---------------------------------------------------------------- header */

typedef struct nipc_header {
    uint32_t magic;
    uint16_t version;
    uint16_t header_len;
    uint16_t kind;
    uint16_t flags;
    uint16_t code;
    uint16_t transport_status;
    uint32_t payload_len;
    uint32_t item_count;
    uint64_t message_id;
} nipc_header_t;

/* A header with magic, version and header_len filled in. */
NIPC_API nipc_header_t nipc_header_make(uint16_t kind, uint16_t code, uint16_t flags,
                                        uint16_t transport_status, uint32_t payload_len,
                                        uint32_t item_count, uint64_t message_id);

/* Writes every field of `h` verbatim into `out` (NIPC_HEADER_SIZE bytes). */
NIPC_API void nipc_header_encode(const nipc_header_t *h, void *out);

/*
 * Decodes and validates a received header. When len >= 32 all fields are
 * stored in *out even if validation then fails, so a caller can inspect a
 * rejected header. Errors: TRUNCATED (< 32 bytes), BAD_MAGIC, BAD_VERSION,
 * BAD_HEADER_LEN, BAD_KIND. flags, code, transport_status and message_id
 * are not checked here (the receiver's job).
 */
NIPC_API nipc_error_t nipc_header_decode(const void *buf, size_t len, nipc_header_t *out);

/* ----------------------------------------------------------- chunk header */

typedef struct nipc_chunk_header {
    uint32_t magic;
    uint16_t version;
    uint16_t flags;
    uint64_t message_id;
    uint32_t total_message_len; /* 32 + payload_len */
    uint32_t chunk_index;       /* 1 .. chunk_count - 1 */
    uint32_t chunk_count;
    uint32_t chunk_payload_len; /* bytes after this header */
} nipc_chunk_header_t;

/* Writes every field of `h` verbatim into `out` (NIPC_CHUNK_HEADER_SIZE bytes). */
NIPC_API void nipc_chunk_header_encode(const nipc_chunk_header_t *h, void *out);

/*
 * Decodes a chunk header; fields are stored when len >= 32. Errors:
 * TRUNCATED, BAD_MAGIC, BAD_VERSION, BAD_FLAGS. Sequence rules (index,
 * count, lengths) belong to the receiver: see nipc_chunk_count().
 */
NIPC_API nipc_error_t nipc_chunk_header_decode(const void *buf, size_t len,
                                               nipc_chunk_header_t *out);

/*
 * Number of packets (first packet included) that carry a payload of
 * `payload_len` bytes when the first packet holds `first_bytes` of it and
 * every continuation holds up to `packet_size - 32`. Returns 0 for invalid
 * input (packet_size <= 32, first_bytes > payload_len).
 */
NIPC_API uint32_t nipc_chunk_count(uint32_t payload_len, uint32_t first_bytes,
                                   uint32_t packet_size);

/* ----------------------------------------------------------------- batch */

/*
 * Builds an Level 1 batch payload of exactly `item_count` items into a
 * caller buffer: directory of item_count {offset, length} entries, then the
 * items at 8-aligned offsets of the packed area, zero padded, including the
 * final padding. The builder never allocates; once the buffer is too small
 * it keeps counting so finish() reports the exact size needed.
 */
typedef struct nipc_batch_builder {
    uint8_t *buf;
    size_t cap;
    uint32_t item_count;
    uint32_t added;
    uint64_t packed_len; /* aligned end of the last item, relative to the packed area */
    nipc_error_t err;    /* sticky */
} nipc_batch_builder_t;

/* Starts a batch; `buf` may be NULL with cap 0 to only compute the size. */
NIPC_API void nipc_batch_builder_init(nipc_batch_builder_t *b, void *buf, size_t cap,
                                      uint32_t item_count);

/*
 * Appends one item. Errors: BAD_ITEM_COUNT (more than item_count items),
 * BUFFER_TOO_SMALL (keeps counting), SIZE_OVERFLOW (payload beyond 4 GiB).
 * Errors are sticky and reported again by finish().
 */
NIPC_API nipc_error_t nipc_batch_builder_add(nipc_batch_builder_t *b, const void *item,
                                             uint32_t len);

/*
 * Completes the batch. On success *payload_len is the payload size; on
 * BUFFER_TOO_SMALL it is the exact size the buffer must have. Other errors:
 * BAD_ITEM_COUNT (fewer items than announced), SIZE_OVERFLOW.
 */
NIPC_API nipc_error_t nipc_batch_builder_finish(nipc_batch_builder_t *b, size_t *payload_len);

/*
 * Validates a batch directory (receivers do this only for BATCH messages
 * with item_count > 1, after reassembly). Errors: TRUNCATED (payload shorter
 * than the directory), BAD_ALIGNMENT, OUT_OF_BOUNDS. Order and overlap of
 * items are not checked, as in the protocol.
 */
NIPC_API nipc_error_t nipc_batch_validate(const void *payload, size_t len, uint32_t item_count);

/*
 * Borrowed view of item `index`; re-checks that entry. The view lives as
 * long as `payload`. Errors: INVALID_ARGUMENT (index out of range), plus the
 * errors of nipc_batch_validate() for that entry.
 */
NIPC_API nipc_error_t nipc_batch_item(const void *payload, size_t len, uint32_t item_count,
                                      uint32_t index, const uint8_t **item, uint32_t *item_len);

/* ------------------------------------------------------------- handshake */

typedef struct nipc_hello {
    uint16_t layout_version;
    uint16_t flags;
    uint32_t supported_profiles;
    uint32_t preferred_profiles;
    uint32_t max_request_payload_bytes;
    uint32_t max_request_batch_items;
    uint32_t max_response_payload_bytes;
    uint32_t max_response_batch_items;
    uint32_t reserved;
    uint64_t auth_token;
    uint32_t packet_size;
} nipc_hello_t;

typedef struct nipc_hello_ack {
    uint16_t layout_version;
    uint16_t flags;
    uint32_t server_supported_profiles;
    uint32_t intersection_profiles;
    uint32_t selected_profile;
    uint32_t agreed_max_request_payload_bytes;
    uint32_t agreed_max_request_batch_items;
    uint32_t agreed_max_response_payload_bytes;
    uint32_t agreed_max_response_batch_items;
    uint32_t agreed_packet_size;
    uint32_t reserved;
    uint64_t session_id;
} nipc_hello_ack_t;

/* Writes the 44-byte HELLO payload (fields verbatim). */
NIPC_API void nipc_hello_encode(const nipc_hello_t *h, void *out);

/*
 * Decodes a HELLO payload as a server does. Fields are stored when
 * len >= 44. Errors: TRUNCATED, BAD_LAYOUT (layout_version != 1),
 * BAD_RESERVED (reserved != 0). flags are not checked (upstream C).
 */
NIPC_API nipc_error_t nipc_hello_decode(const void *buf, size_t len, nipc_hello_t *out);

/* Writes the 48-byte HELLO_ACK payload (fields verbatim). */
NIPC_API void nipc_hello_ack_encode(const nipc_hello_ack_t *a, void *out);

/*
 * Decodes a HELLO_ACK payload as a client does. Fields are stored when
 * len >= 48. Errors: TRUNCATED, BAD_FLAGS, BAD_LAYOUT. reserved is ignored.
 */
NIPC_API nipc_error_t nipc_hello_ack_decode(const void *buf, size_t len, nipc_hello_ack_t *out);

/* Highest set bit of `mask` (0 for 0). */
NIPC_API uint32_t nipc_profile_highest(uint32_t mask);

#ifdef __cplusplus
}
#endif

#endif
