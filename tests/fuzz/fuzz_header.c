/*
 * Fuzz target: the 32-byte outer message header decoder. Checks the
 * decoder's verdict against the rules of wire.md section 1 (in their order)
 * and that re-encoding the decoded fields gives back the input bytes.
 */
#include "fuzz.h"
#include "netipc/protocol.h"

static nipc_error_t expected_verdict(const uint8_t *p)
{
    uint16_t kind = fuzz_ld16(p + 8);
    if (fuzz_ld32(p) != NIPC_HEADER_MAGIC)
        return NIPC_ERR_BAD_MAGIC;
    if (fuzz_ld16(p + 4) != 1)
        return NIPC_ERR_BAD_VERSION;
    if (fuzz_ld16(p + 6) != 32)
        return NIPC_ERR_BAD_HEADER_LEN;
    if (kind < 1 || kind > 3)
        return NIPC_ERR_BAD_KIND;
    return NIPC_OK;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    nipc_header_t h;
    nipc_error_t err = nipc_header_decode(data, size, &h);
    if (size < NIPC_HEADER_SIZE) {
        FUZZ_CHECK_ERR(err, NIPC_ERR_TRUNCATED);
        return 0;
    }
    FUZZ_CHECK_ERR(err, expected_verdict(data));

    /* Fields are stored even for a rejected header: re-encoding is lossless. */
    uint8_t out[NIPC_HEADER_SIZE];
    nipc_header_encode(&h, out);
    FUZZ_CHECK(memcmp(out, data, NIPC_HEADER_SIZE) == 0);
    FUZZ_CHECK(h.payload_len == fuzz_ld32(data + 16));
    FUZZ_CHECK(h.item_count == fuzz_ld32(data + 20));
    FUZZ_CHECK(h.message_id == fuzz_ld64(data + 24));

    if (err == NIPC_OK) {
        /* An accepted header is exactly what nipc_header_make() builds. */
        nipc_header_t m = nipc_header_make(h.kind, h.code, h.flags, h.transport_status,
                                           h.payload_len, h.item_count, h.message_id);
        nipc_header_encode(&m, out);
        FUZZ_CHECK(memcmp(out, data, NIPC_HEADER_SIZE) == 0);
    }
    return 0;
}
