/*
 * Fuzz target: the 48-byte HELLO_ACK payload decoder (client side). Checks
 * the verdict against wire.md 4.2 (flags first, then layout; reserved is
 * ignored) and that re-encoding the decoded fields is lossless.
 */
#include "fuzz.h"
#include "netipc/protocol.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    nipc_hello_ack_t a;
    nipc_error_t err = nipc_hello_ack_decode(data, size, &a);
    if (size < NIPC_HELLO_ACK_SIZE) {
        FUZZ_CHECK_ERR(err, NIPC_ERR_TRUNCATED);
        return 0;
    }
    nipc_error_t want = NIPC_OK;
    if (fuzz_ld16(data + 2) != 0)
        want = NIPC_ERR_BAD_FLAGS;
    else if (fuzz_ld16(data) != 1)
        want = NIPC_ERR_BAD_LAYOUT;
    FUZZ_CHECK_ERR(err, want);

    uint8_t out[NIPC_HELLO_ACK_SIZE];
    nipc_hello_ack_encode(&a, out);
    FUZZ_CHECK(memcmp(out, data, NIPC_HELLO_ACK_SIZE) == 0);
    FUZZ_CHECK(a.agreed_packet_size == fuzz_ld32(data + 32));
    FUZZ_CHECK(a.session_id == fuzz_ld64(data + 40));
    return 0;
}
