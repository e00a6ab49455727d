/*
 * Fuzz target: CGROUPS_SNAPSHOT response payloads. Checks the decode
 * verdict against codecs.md, then fetches every item and checks its verdict
 * too. For every accepted item the name and path views must lie inside
 * that item (so inside the input), be NUL-terminated and not overlap; every
 * byte of both is read so AddressSanitizer sees any view past the input.
 * When every item is valid, the snapshot is rebuilt with the builder and
 * must decode back to the same values.
 */
#include "fuzz.h"
#include "netipc/codec.h"

static nipc_error_t expected_decode(const uint8_t *p, size_t len)
{
    if (len < 24)
        return NIPC_ERR_TRUNCATED;
    if (fuzz_ld16(p) != 1)
        return NIPC_ERR_BAD_LAYOUT;
    if (fuzz_ld16(p + 2) != 0)
        return NIPC_ERR_BAD_FLAGS;
    if (fuzz_ld32(p + 12) != 0)
        return NIPC_ERR_BAD_RESERVED;
    uint32_t n = fuzz_ld32(p + 4);
    if (24u + (uint64_t)n * 8u > len)
        return NIPC_ERR_TRUNCATED;
    uint64_t packed_len = len - 24u - (uint64_t)n * 8u;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t off = fuzz_ld32(p + 24 + (size_t)i * 8u);
        uint32_t ilen = fuzz_ld32(p + 28 + (size_t)i * 8u);
        if (off % 8u != 0)
            return NIPC_ERR_BAD_ALIGNMENT;
        if ((uint64_t)off + ilen > packed_len)
            return NIPC_ERR_OUT_OF_BOUNDS;
        if (ilen < 32)
            return NIPC_ERR_BAD_FIELD;
    }
    return NIPC_OK;
}

static nipc_error_t expected_string(const uint8_t *it, uint32_t ilen, uint32_t off, uint32_t n)
{
    if (off < 32 || (uint64_t)off + n + 1u > ilen)
        return NIPC_ERR_OUT_OF_BOUNDS;
    if (it[(size_t)off + n] != 0)
        return NIPC_ERR_MISSING_NUL;
    return NIPC_OK;
}

static nipc_error_t expected_item(const uint8_t *it, uint32_t ilen)
{
    if (fuzz_ld16(it) != 1)
        return NIPC_ERR_BAD_LAYOUT;
    if (fuzz_ld16(it + 2) != 0)
        return NIPC_ERR_BAD_FLAGS;
    uint32_t no = fuzz_ld32(it + 16), nl = fuzz_ld32(it + 20);
    uint32_t po = fuzz_ld32(it + 24), pl = fuzz_ld32(it + 28);
    nipc_error_t e = expected_string(it, ilen, no, nl);
    if (e == NIPC_OK)
        e = expected_string(it, ilen, po, pl);
    if (e != NIPC_OK)
        return e;
    /* [no, no + nl] and [po, po + pl] (NULs included) must be disjoint. */
    if ((uint64_t)no + nl >= po && (uint64_t)po + pl >= no)
        return NIPC_ERR_OVERLAP;
    return NIPC_OK;
}

static void check_string(const uint8_t *it, uint32_t ilen, nipc_str_t s, uint32_t off)
{
    FUZZ_CHECK(s.ptr == (const char *)it + off);
    FUZZ_CHECK(fuzz_inside(it, ilen, s.ptr, (size_t)s.len + 1u));
    fuzz_touch(s.ptr, (size_t)s.len + 1u);
    FUZZ_CHECK(s.ptr[s.len] == 0);
}

static int same_item(const nipc_cgroup_item_t *a, const nipc_cgroup_item_t *b)
{
    return a->hash == b->hash && a->options == b->options && a->enabled == b->enabled &&
           a->name.len == b->name.len && a->path.len == b->path.len &&
           memcmp(a->name.ptr, b->name.ptr, a->name.len) == 0 &&
           memcmp(a->path.ptr, b->path.ptr, a->path.len) == 0;
}

static void check_rebuild(const nipc_cgroups_view_t *v)
{
    nipc_cgroups_builder_t b;
    nipc_cgroup_item_t it, back;
    size_t need = 0, got = 0;
    nipc_cgroups_builder_init(&b, NULL, 0, v->item_count, v->systemd_enabled, v->generation);
    for (uint32_t i = 0; i < v->item_count; i++) {
        FUZZ_CHECK_ERR(nipc_cgroups_resp_item(v, i, &it), NIPC_OK);
        nipc_cgroups_builder_add(&b, it.hash, it.options, it.enabled, it.name.ptr, it.name.len,
                                 it.path.ptr, it.path.len);
    }
    nipc_error_t e = nipc_cgroups_builder_finish(&b, &need);
    if (e == NIPC_ERR_SIZE_OVERFLOW)
        return;
    FUZZ_CHECK_ERR(e, NIPC_ERR_BUFFER_TOO_SMALL);
    if (need > (64u << 20)) /* items may share bytes in the input; keep the copy bounded */
        return;

    uint8_t *out = malloc(need);
    FUZZ_CHECK(out != NULL);
    nipc_cgroups_builder_init(&b, out, need, v->item_count, v->systemd_enabled, v->generation);
    for (uint32_t i = 0; i < v->item_count; i++) {
        FUZZ_CHECK_ERR(nipc_cgroups_resp_item(v, i, &it), NIPC_OK);
        FUZZ_CHECK_ERR(nipc_cgroups_builder_add(&b, it.hash, it.options, it.enabled, it.name.ptr,
                                                it.name.len, it.path.ptr, it.path.len),
                       NIPC_OK);
    }
    FUZZ_CHECK_ERR(nipc_cgroups_builder_finish(&b, &got), NIPC_OK);
    FUZZ_CHECK(got == need);

    nipc_cgroups_view_t w;
    FUZZ_CHECK_ERR(nipc_cgroups_resp_decode(out, got, &w), NIPC_OK);
    FUZZ_CHECK(w.item_count == v->item_count && w.systemd_enabled == v->systemd_enabled &&
               w.generation == v->generation);
    for (uint32_t i = 0; i < v->item_count; i++) {
        FUZZ_CHECK_ERR(nipc_cgroups_resp_item(v, i, &it), NIPC_OK);
        FUZZ_CHECK_ERR(nipc_cgroups_resp_item(&w, i, &back), NIPC_OK);
        FUZZ_CHECK(same_item(&it, &back));
    }
    free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    nipc_cgroups_view_t v;
    nipc_error_t err = nipc_cgroups_resp_decode(data, size, &v);
    FUZZ_CHECK_ERR(err, expected_decode(data, size));
    if (err != NIPC_OK)
        return 0;
    FUZZ_CHECK(v.payload == data && v.len == size);
    FUZZ_CHECK(v.item_count == fuzz_ld32(data + 4));
    FUZZ_CHECK(v.systemd_enabled == fuzz_ld32(data + 8));
    FUZZ_CHECK(v.generation == fuzz_ld64(data + 16));

    const uint8_t *packed = data + 24 + (size_t)v.item_count * 8u;
    int all_ok = 1;
    for (uint32_t i = 0; i < v.item_count; i++) {
        uint32_t off = fuzz_ld32(data + 24 + (size_t)i * 8u);
        uint32_t ilen = fuzz_ld32(data + 28 + (size_t)i * 8u);
        const uint8_t *base = packed + off;
        FUZZ_CHECK(fuzz_inside(data, size, base, ilen));
        nipc_cgroup_item_t it;
        nipc_error_t e = nipc_cgroups_resp_item(&v, i, &it);
        FUZZ_CHECK_ERR(e, expected_item(base, ilen));
        if (e != NIPC_OK) {
            all_ok = 0;
            continue;
        }
        check_string(base, ilen, it.name, fuzz_ld32(base + 16));
        check_string(base, ilen, it.path, fuzz_ld32(base + 24));
        FUZZ_CHECK(it.hash == fuzz_ld32(base + 4));
        FUZZ_CHECK(it.options == fuzz_ld32(base + 8));
        FUZZ_CHECK(it.enabled == fuzz_ld32(base + 12));
    }
    nipc_cgroup_item_t it;
    FUZZ_CHECK_ERR(nipc_cgroups_resp_item(&v, v.item_count, &it), NIPC_ERR_INVALID_ARGUMENT);

    if (all_ok)
        check_rebuild(&v);
    return 0;
}
