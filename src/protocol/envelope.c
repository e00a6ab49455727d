/*
 * Outer header and chunk continuation header: encode verbatim, decode with
 * the structural checks every receiver applies. Session-level rules
 * (directional limits, in-flight ids, chunk sequencing) live in Level 1.
 */
#include "netipc/protocol.h"

#include "common/internal.h"

nipc_header_t nipc_header_make(uint16_t kind, uint16_t code, uint16_t flags,
                               uint16_t transport_status, uint32_t payload_len,
                               uint32_t item_count, uint64_t message_id)
{
    nipc_header_t h;
    h.magic = NIPC_HEADER_MAGIC;
    h.version = NIPC_PROTOCOL_VERSION;
    h.header_len = NIPC_HEADER_SIZE;
    h.kind = kind;
    h.flags = flags;
    h.code = code;
    h.transport_status = transport_status;
    h.payload_len = payload_len;
    h.item_count = item_count;
    h.message_id = message_id;
    return h;
}

void nipc_header_encode(const nipc_header_t *h, void *out)
{
    uint8_t *p = out;
    nipc__st32(p + 0, h->magic);
    nipc__st16(p + 4, h->version);
    nipc__st16(p + 6, h->header_len);
    nipc__st16(p + 8, h->kind);
    nipc__st16(p + 10, h->flags);
    nipc__st16(p + 12, h->code);
    nipc__st16(p + 14, h->transport_status);
    nipc__st32(p + 16, h->payload_len);
    nipc__st32(p + 20, h->item_count);
    nipc__st64(p + 24, h->message_id);
}

nipc_error_t nipc_header_decode(const void *buf, size_t len, nipc_header_t *out)
{
    const uint8_t *p = buf;
    if (len < NIPC_HEADER_SIZE)
        return NIPC_ERR_TRUNCATED;
    out->magic = nipc__ld32(p + 0);
    out->version = nipc__ld16(p + 4);
    out->header_len = nipc__ld16(p + 6);
    out->kind = nipc__ld16(p + 8);
    out->flags = nipc__ld16(p + 10);
    out->code = nipc__ld16(p + 12);
    out->transport_status = nipc__ld16(p + 14);
    out->payload_len = nipc__ld32(p + 16);
    out->item_count = nipc__ld32(p + 20);
    out->message_id = nipc__ld64(p + 24);

    if (out->magic != NIPC_HEADER_MAGIC)
        return NIPC_ERR_BAD_MAGIC;
    if (out->version != NIPC_PROTOCOL_VERSION)
        return NIPC_ERR_BAD_VERSION;
    if (out->header_len != NIPC_HEADER_SIZE)
        return NIPC_ERR_BAD_HEADER_LEN;
    if (out->kind < NIPC_KIND_REQUEST || out->kind > NIPC_KIND_CONTROL)
        return NIPC_ERR_BAD_KIND;
    return NIPC_OK;
}

void nipc_chunk_header_encode(const nipc_chunk_header_t *h, void *out)
{
    uint8_t *p = out;
    nipc__st32(p + 0, h->magic);
    nipc__st16(p + 4, h->version);
    nipc__st16(p + 6, h->flags);
    nipc__st64(p + 8, h->message_id);
    nipc__st32(p + 16, h->total_message_len);
    nipc__st32(p + 20, h->chunk_index);
    nipc__st32(p + 24, h->chunk_count);
    nipc__st32(p + 28, h->chunk_payload_len);
}

nipc_error_t nipc_chunk_header_decode(const void *buf, size_t len, nipc_chunk_header_t *out)
{
    const uint8_t *p = buf;
    if (len < NIPC_CHUNK_HEADER_SIZE)
        return NIPC_ERR_TRUNCATED;
    out->magic = nipc__ld32(p + 0);
    out->version = nipc__ld16(p + 4);
    out->flags = nipc__ld16(p + 6);
    out->message_id = nipc__ld64(p + 8);
    out->total_message_len = nipc__ld32(p + 16);
    out->chunk_index = nipc__ld32(p + 20);
    out->chunk_count = nipc__ld32(p + 24);
    out->chunk_payload_len = nipc__ld32(p + 28);

    if (out->magic != NIPC_CHUNK_MAGIC)
        return NIPC_ERR_BAD_MAGIC;
    if (out->version != NIPC_PROTOCOL_VERSION)
        return NIPC_ERR_BAD_VERSION;
    if (out->flags != 0)
        return NIPC_ERR_BAD_FLAGS;
    return NIPC_OK;
}

uint32_t nipc_chunk_count(uint32_t payload_len, uint32_t first_bytes, uint32_t packet_size)
{
    if (packet_size <= NIPC_HEADER_SIZE || first_bytes > payload_len)
        return 0;
    uint64_t per = packet_size - NIPC_HEADER_SIZE;
    uint64_t rest = (uint64_t)payload_len - first_bytes;
    /* 64-bit arithmetic: rest + per - 1 cannot wrap. */
    uint64_t count = 1u + (rest + per - 1u) / per;
    return count > UINT32_MAX ? 0 : (uint32_t)count; /* not representable: invalid */
}

uint32_t nipc_profile_highest(uint32_t mask)
{
    if (mask == 0)
        return 0;
    uint32_t bit = 1u;
    while (mask >>= 1)
        bit <<= 1;
    return bit;
}
