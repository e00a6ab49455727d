/*
 * Fuzz target: the 32-byte chunk continuation header decoder. Checks the
 * verdict against wire.md section 3 and that re-encoding is lossless. The
 * decoded integers are also fed to nipc_chunk_count(), whose result is
 * checked against the chunking formula computed in 64 bits.
 */
#include "fuzz.h"
#include "netipc/protocol.h"

static nipc_error_t expected_verdict(const uint8_t *p)
{
    if (fuzz_ld32(p) != NIPC_CHUNK_MAGIC)
        return NIPC_ERR_BAD_MAGIC;
    if (fuzz_ld16(p + 4) != 1)
        return NIPC_ERR_BAD_VERSION;
    if (fuzz_ld16(p + 6) != 0)
        return NIPC_ERR_BAD_FLAGS;
    return NIPC_OK;
}

/* count = 1 + ceil((P - F) / B), B = packet - 32; 0 when invalid or beyond u32. */
static void check_chunk_count(uint32_t payload, uint32_t first, uint32_t packet)
{
    uint32_t got = nipc_chunk_count(payload, first, packet);
    if (packet <= 32 || first > payload) {
        FUZZ_CHECK(got == 0);
        return;
    }
    uint64_t per = (uint64_t)packet - 32u, rest = (uint64_t)payload - first;
    uint64_t want = 1u + rest / per + (rest % per != 0);
    FUZZ_CHECK(got == (want > UINT32_MAX ? 0u : want));
    if (got > 1) {
        /* Every continuation but the last is full; the last is not empty. */
        FUZZ_CHECK((uint64_t)(got - 1u) * per >= rest);
        FUZZ_CHECK((uint64_t)(got - 2u) * per < rest);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    nipc_chunk_header_t c;
    nipc_error_t err = nipc_chunk_header_decode(data, size, &c);
    if (size < NIPC_CHUNK_HEADER_SIZE) {
        FUZZ_CHECK_ERR(err, NIPC_ERR_TRUNCATED);
        return 0;
    }
    FUZZ_CHECK_ERR(err, expected_verdict(data));

    uint8_t out[NIPC_CHUNK_HEADER_SIZE];
    nipc_chunk_header_encode(&c, out);
    FUZZ_CHECK(memcmp(out, data, NIPC_CHUNK_HEADER_SIZE) == 0);
    FUZZ_CHECK(c.message_id == fuzz_ld64(data + 8));
    FUZZ_CHECK(c.total_message_len == fuzz_ld32(data + 16));
    FUZZ_CHECK(c.chunk_payload_len == fuzz_ld32(data + 28));

    check_chunk_count(c.total_message_len, c.chunk_payload_len, c.chunk_count);
    check_chunk_count(c.total_message_len, c.chunk_index, c.chunk_payload_len);
    return 0;
}
