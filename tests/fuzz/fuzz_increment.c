/*
 * Fuzz target: INCREMENT payloads (request and response share the codec).
 * Checks the length rule, the decoded value and the encode round trip.
 */
#include "fuzz.h"
#include "netipc/codec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint64_t v = 0;
    nipc_error_t err = nipc_increment_decode(data, size, &v);
    if (size < NIPC_INCREMENT_SIZE) {
        FUZZ_CHECK_ERR(err, NIPC_ERR_TRUNCATED);
        return 0;
    }
    FUZZ_CHECK_ERR(err, NIPC_OK);
    FUZZ_CHECK(v == fuzz_ld64(data));

    uint8_t out[NIPC_INCREMENT_SIZE];
    size_t n = 0;
    FUZZ_CHECK_ERR(nipc_increment_encode(v, out, sizeof out - 1, &n), NIPC_ERR_BUFFER_TOO_SMALL);
    FUZZ_CHECK(n == NIPC_INCREMENT_SIZE);
    FUZZ_CHECK_ERR(nipc_increment_encode(v, out, sizeof out, &n), NIPC_OK);
    FUZZ_CHECK(n == NIPC_INCREMENT_SIZE && memcmp(out, data, n) == 0);
    return 0;
}
