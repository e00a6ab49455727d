/*
 * Fuzz target: CGROUPS_SNAPSHOT request payloads. Checks the verdict
 * against codecs.md (>= 4 bytes, layout 1, flags 0, extra bytes ignored)
 * and that an accepted request starts with the canonical encoding.
 */
#include "fuzz.h"
#include "netipc/codec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    nipc_error_t err = nipc_cgroups_req_decode(data, size);
    nipc_error_t want = NIPC_OK;
    if (size < 4)
        want = NIPC_ERR_TRUNCATED;
    else if (fuzz_ld16(data) != 1)
        want = NIPC_ERR_BAD_LAYOUT;
    else if (fuzz_ld16(data + 2) != 0)
        want = NIPC_ERR_BAD_FLAGS;
    FUZZ_CHECK_ERR(err, want);
    if (err != NIPC_OK)
        return 0;

    uint8_t out[NIPC_CGROUPS_REQ_SIZE];
    size_t n = 0;
    FUZZ_CHECK_ERR(nipc_cgroups_req_encode(out, sizeof out, &n), NIPC_OK);
    FUZZ_CHECK(n == NIPC_CGROUPS_REQ_SIZE && memcmp(out, data, n) == 0);
    FUZZ_CHECK_ERR(nipc_cgroups_req_decode(out, n), NIPC_OK);
    return 0;
}
