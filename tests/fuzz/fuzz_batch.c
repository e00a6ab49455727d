/*
 * Fuzz target: Level 1 batch directories. Input = u32 item_count (little
 * endian) followed by the batch payload. Checks nipc_batch_validate()
 * against wire.md section 2, that nipc_batch_item() agrees with it entry by
 * entry, that every returned view lies in the packed area (and reads it all),
 * and that rebuilding the items with the builder gives a canonical batch
 * that decodes back to the same items. Also checks that the one-pass
 * INCREMENT batch decoder agrees with nipc_batch_item() and
 * nipc_increment_decode() item by item.
 */
#include "fuzz.h"
#include "netipc/codec.h"
#include "netipc/protocol.h"

/* The receiver rule for entry i, restated from the spec. */
static nipc_error_t expected_entry(const uint8_t *payload, size_t len, uint32_t n, uint32_t i)
{
    uint32_t off = fuzz_ld32(payload + (size_t)i * 8u);
    uint32_t ilen = fuzz_ld32(payload + (size_t)i * 8u + 4u);
    if (off % 8u != 0)
        return NIPC_ERR_BAD_ALIGNMENT;
    if ((uint64_t)off + ilen > (uint64_t)len - (uint64_t)n * 8u)
        return NIPC_ERR_OUT_OF_BOUNDS;
    return NIPC_OK;
}

static void check_rebuild(const uint8_t *payload, size_t len, uint32_t n)
{
    /* Sizing pass: NULL buffer, the builder reports the exact size. */
    nipc_batch_builder_t b;
    size_t need = 0;
    nipc_batch_builder_init(&b, NULL, 0, n);
    for (uint32_t i = 0; i < n; i++) {
        const uint8_t *it;
        uint32_t il;
        FUZZ_CHECK_ERR(nipc_batch_item(payload, len, n, i, &it, &il), NIPC_OK);
        nipc_error_t e = nipc_batch_builder_add(&b, it, il);
        FUZZ_CHECK(e == NIPC_ERR_BUFFER_TOO_SMALL || e == NIPC_ERR_SIZE_OVERFLOW);
        if (e == NIPC_ERR_SIZE_OVERFLOW)
            return;
    }
    nipc_error_t e = nipc_batch_builder_finish(&b, &need);
    if (n == 0) {
        FUZZ_CHECK_ERR(e, NIPC_OK);
        FUZZ_CHECK(need == 0);
        return;
    }
    FUZZ_CHECK_ERR(e, NIPC_ERR_BUFFER_TOO_SMALL);
    FUZZ_CHECK(need % 8u == 0 && need >= (size_t)n * 8u);
    if (need > (64u << 20)) /* overlapping items can multiply the size; keep it bounded */
        return;

    uint8_t *out = malloc(need);
    FUZZ_CHECK(out != NULL);
    size_t got = 0;
    nipc_batch_builder_init(&b, out, need, n);
    for (uint32_t i = 0; i < n; i++) {
        const uint8_t *it;
        uint32_t il;
        FUZZ_CHECK_ERR(nipc_batch_item(payload, len, n, i, &it, &il), NIPC_OK);
        FUZZ_CHECK_ERR(nipc_batch_builder_add(&b, it, il), NIPC_OK);
    }
    FUZZ_CHECK_ERR(nipc_batch_builder_finish(&b, &got), NIPC_OK);
    FUZZ_CHECK(got == need);
    FUZZ_CHECK_ERR(nipc_batch_validate(out, got, n), NIPC_OK);

    uint64_t expect_off = 0;
    for (uint32_t i = 0; i < n; i++) {
        const uint8_t *a, *c;
        uint32_t al, cl;
        FUZZ_CHECK_ERR(nipc_batch_item(payload, len, n, i, &a, &al), NIPC_OK);
        FUZZ_CHECK_ERR(nipc_batch_item(out, got, n, i, &c, &cl), NIPC_OK);
        FUZZ_CHECK(al == cl && memcmp(a, c, al) == 0);
        /* Canonical placement: in order, 8-aligned, zero padding. */
        FUZZ_CHECK(fuzz_ld32(out + (size_t)i * 8u) == expect_off);
        uint64_t end = (expect_off + cl + 7u) & ~(uint64_t)7u;
        for (uint64_t k = expect_off + cl; k < end; k++)
            FUZZ_CHECK(out[(size_t)n * 8u + k] == 0);
        expect_off = end;
    }
    FUZZ_CHECK((size_t)n * 8u + expect_off == got);
    FUZZ_CHECK_ERR(nipc_batch_builder_add(&b, "x", 1), NIPC_ERR_BAD_ITEM_COUNT);
    free(out);
}

/* nipc_increment_batch_decode() against the per-item rule: the first item
 * whose entry is bad or that is shorter than 8 bytes decides. */
static void check_increment_decode(const uint8_t *payload, size_t len, uint32_t n)
{
    uint64_t *got = malloc(((size_t)n + 1) * sizeof *got);
    FUZZ_CHECK(got != NULL);
    nipc_error_t want = NIPC_OK;
    for (uint32_t i = 0; i < n && want == NIPC_OK; i++) {
        want = expected_entry(payload, len, n, i);
        if (want == NIPC_OK && fuzz_ld32(payload + (size_t)i * 8u + 4u) < 8u)
            want = NIPC_ERR_TRUNCATED;
    }
    FUZZ_CHECK_ERR(nipc_increment_batch_decode(payload, len, n, got), want);
    for (uint32_t i = 0; want == NIPC_OK && i < n; i++) {
        uint32_t off = fuzz_ld32(payload + (size_t)i * 8u);
        FUZZ_CHECK(got[i] == fuzz_ld64(payload + (size_t)n * 8u + off));
    }
    free(got);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 4)
        return 0;
    uint32_t n = fuzz_ld32(data);
    const uint8_t *payload = data + 4;
    size_t len = size - 4;

    nipc_error_t err = nipc_batch_validate(payload, len, n);
    if ((uint64_t)n * 8u > len) {
        FUZZ_CHECK_ERR(err, NIPC_ERR_TRUNCATED);
        uint64_t v;
        FUZZ_CHECK_ERR(nipc_increment_batch_decode(payload, len, n, &v), NIPC_ERR_TRUNCATED);
        if (n > 0) {
            const uint8_t *it;
            uint32_t il;
            FUZZ_CHECK_ERR(nipc_batch_item(payload, len, n, 0, &it, &il), NIPC_ERR_TRUNCATED);
        }
        return 0;
    }

    /* validate() reports the first bad entry; item() agrees on each one. */
    nipc_error_t first_bad = NIPC_OK;
    const uint8_t *packed = payload + (size_t)n * 8u;
    size_t packed_len = len - (size_t)n * 8u;
    for (uint32_t i = 0; i < n; i++) {
        nipc_error_t want = expected_entry(payload, len, n, i);
        if (first_bad == NIPC_OK)
            first_bad = want;
        const uint8_t *it = NULL;
        uint32_t il = 0;
        FUZZ_CHECK_ERR(nipc_batch_item(payload, len, n, i, &it, &il), want);
        if (want != NIPC_OK)
            continue;
        FUZZ_CHECK(fuzz_inside(packed, packed_len, it, il));
        FUZZ_CHECK(it == packed + fuzz_ld32(payload + (size_t)i * 8u));
        FUZZ_CHECK(il == fuzz_ld32(payload + (size_t)i * 8u + 4u));
        fuzz_touch(it, il);
    }
    FUZZ_CHECK_ERR(err, first_bad);
    check_increment_decode(payload, len, n);
    const uint8_t *it;
    uint32_t il;
    FUZZ_CHECK_ERR(nipc_batch_item(payload, len, n, n, &it, &il), NIPC_ERR_INVALID_ARGUMENT);

    if (err == NIPC_OK)
        check_rebuild(payload, len, n);
    return 0;
}
