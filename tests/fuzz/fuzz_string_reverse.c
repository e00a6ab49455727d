/*
 * Fuzz target: STRING_REVERSE payloads. Checks the verdict against
 * codecs.md (offset 8, 9 + n <= len, NUL at 8 + n), that the view points
 * into the input and is NUL-terminated (every byte is read), and that
 * re-encoding the view reproduces the first 9 + n input bytes.
 */
#include "fuzz.h"
#include "netipc/codec.h"

static nipc_error_t expected_verdict(const uint8_t *p, size_t len)
{
    if (len < 8)
        return NIPC_ERR_TRUNCATED;
    uint32_t n = fuzz_ld32(p + 4);
    if (fuzz_ld32(p) != 8)
        return NIPC_ERR_BAD_FIELD;
    if (9u + (uint64_t)n > len)
        return NIPC_ERR_OUT_OF_BOUNDS;
    if (p[8 + (size_t)n] != 0)
        return NIPC_ERR_MISSING_NUL;
    return NIPC_OK;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    nipc_str_t s = {NULL, 0};
    nipc_error_t err = nipc_string_reverse_decode(data, size, &s);
    FUZZ_CHECK_ERR(err, expected_verdict(data, size));
    if (err != NIPC_OK)
        return 0;

    FUZZ_CHECK(s.ptr == (const char *)data + 8);
    FUZZ_CHECK(s.len == fuzz_ld32(data + 4));
    FUZZ_CHECK(fuzz_inside(data, size, s.ptr, (size_t)s.len + 1u));
    fuzz_touch(s.ptr, (size_t)s.len + 1u);
    FUZZ_CHECK(s.ptr[s.len] == 0);

    size_t need = 0;
    FUZZ_CHECK_ERR(nipc_string_reverse_encode(s.ptr, s.len, NULL, 0, &need),
                   NIPC_ERR_BUFFER_TOO_SMALL);
    FUZZ_CHECK(need == 9u + (size_t)s.len);
    uint8_t *out = malloc(need);
    FUZZ_CHECK(out != NULL);
    size_t got = 0;
    FUZZ_CHECK_ERR(nipc_string_reverse_encode(s.ptr, s.len, out, need, &got), NIPC_OK);
    FUZZ_CHECK(got == need && memcmp(out, data, need) == 0);
    free(out);
    return 0;
}
