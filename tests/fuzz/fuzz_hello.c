/*
 * Fuzz target: the 44-byte HELLO payload decoder (server side). Checks the
 * verdict against wire.md 4.1 steps 4-6 (layout, then reserved; flags are
 * not checked) and that re-encoding the decoded fields is lossless.
 */
#include "fuzz.h"
#include "netipc/protocol.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    nipc_hello_t h;
    nipc_error_t err = nipc_hello_decode(data, size, &h);
    if (size < NIPC_HELLO_SIZE) {
        FUZZ_CHECK_ERR(err, NIPC_ERR_TRUNCATED);
        return 0;
    }
    nipc_error_t want = NIPC_OK;
    if (fuzz_ld16(data) != 1)
        want = NIPC_ERR_BAD_LAYOUT;
    else if (fuzz_ld32(data + 28) != 0)
        want = NIPC_ERR_BAD_RESERVED;
    FUZZ_CHECK_ERR(err, want);

    uint8_t out[NIPC_HELLO_SIZE];
    nipc_hello_encode(&h, out);
    FUZZ_CHECK(memcmp(out, data, NIPC_HELLO_SIZE) == 0);
    FUZZ_CHECK(h.auth_token == fuzz_ld64(data + 32));
    FUZZ_CHECK(h.packet_size == fuzz_ld32(data + 40));
    return 0;
}
