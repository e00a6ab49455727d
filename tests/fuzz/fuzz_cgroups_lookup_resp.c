/*
 * Fuzz target: CGROUPS_LOOKUP response payloads. The decode verdict must be
 * exactly the one the spec's rules give (codecs.md §4-5, checked here in the
 * documented order: header, directory, then every item). For an accepted
 * response every item and label view must lie inside its item and be
 * NUL-terminated (all bytes read, for AddressSanitizer), the fields must be
 * the wire values, and re-encoding the items with the plain builder must
 * decode to the same values and be a fixed point of decode + re-encode.
 */
#include "fuzz_lookup.h"

static nipc_error_t expected_item(const uint8_t *it, uint32_t ilen)
{
    if (fuzz_ld16(it) != 1)
        return NIPC_ERR_BAD_LAYOUT;
    uint16_t status = fuzz_ld16(it + 2);
    if (status > 4)
        return NIPC_ERR_BAD_STATUS;
    if (fuzz_ld16(it + 6) || fuzz_ld16(it + 26))
        return NIPC_ERR_BAD_RESERVED;
    uint32_t po = fuzz_ld32(it + 8), pl = fuzz_ld32(it + 12);
    uint32_t no = fuzz_ld32(it + 16), nl = fuzz_ld32(it + 20);
    nipc_error_t err = fl_string(it, ilen, 28, po, pl);
    if (err == NIPC_OK)
        err = fl_string(it, ilen, 28, no, nl);
    if (err != NIPC_OK)
        return err;
    if (fl_overlap(po, pl, no, nl))
        return NIPC_ERR_OVERLAP;
    uint16_t labels = fuzz_ld16(it + 24);
    if (pl == 0 || (status != 0 && (fuzz_ld16(it + 4) || nl || labels)))
        return NIPC_ERR_BAD_FIELD;
    uint64_t pe = (uint64_t)po + pl + 1u, ne = (uint64_t)no + nl + 1u;
    return fl_labels(it, ilen, pe > ne ? pe : ne, labels);
}

static nipc_error_t expected(const uint8_t *p, size_t len)
{
    nipc_error_t err = fl_header(p, len);
    if (err != NIPC_OK)
        return err;
    uint32_t n = fuzz_ld32(p + 4);
    err = fl_directory(p, len, n, 28, UINT32_MAX);
    for (uint32_t i = 0; err == NIPC_OK && i < n; i++) {
        uint32_t off = fuzz_ld32(p + 16 + (size_t)i * 8u);
        err = expected_item(p + 16 + (size_t)n * 8u + off, fuzz_ld32(p + 20 + (size_t)i * 8u));
    }
    return err;
}

static int same_item(const nipc_cgroups_lookup_item_t *a, const nipc_cgroups_lookup_item_t *b)
{
    return a->status == b->status && a->orchestrator == b->orchestrator &&
           fl_same_str(a->path, b->path) && fl_same_str(a->name, b->name) &&
           fl_same_labels(&a->labels, &b->labels);
}

/* Plain re-encoding of every item of v into a new buffer (caller frees). */
static uint8_t *rebuild(const nipc_cgroups_lookup_view_t *v, size_t *len)
{
    nipc_cgroups_lookup_builder_t b;
    nipc_cgroups_lookup_item_t it;
    size_t need = 0;
    nipc_cgroups_lookup_builder_init(&b, NULL, 0, v->item_count, v->generation);
    for (uint32_t i = 0; i < v->item_count; i++) {
        FUZZ_CHECK_ERR(nipc_cgroups_lookup_resp_item(v, i, &it), NIPC_OK);
        nipc_cgroups_lookup_builder_add(&b, &it, NULL);
    }
    FUZZ_CHECK_ERR(nipc_cgroups_lookup_builder_finish(&b, &need), NIPC_ERR_BUFFER_TOO_SMALL);
    uint8_t *out = malloc(need);
    FUZZ_CHECK(out != NULL);
    nipc_cgroups_lookup_builder_init(&b, out, need, v->item_count, v->generation);
    for (uint32_t i = 0; i < v->item_count; i++) {
        FUZZ_CHECK_ERR(nipc_cgroups_lookup_resp_item(v, i, &it), NIPC_OK);
        FUZZ_CHECK_ERR(nipc_cgroups_lookup_builder_add(&b, &it, NULL), NIPC_OK);
    }
    FUZZ_CHECK_ERR(nipc_cgroups_lookup_builder_finish(&b, len), NIPC_OK);
    FUZZ_CHECK(*len == need);
    return out;
}

static void check_rebuild(const nipc_cgroups_lookup_view_t *v)
{
    size_t len = 0, len2 = 0;
    uint8_t *out = rebuild(v, &len);
    nipc_cgroups_lookup_view_t w, w2;
    FUZZ_CHECK_ERR(nipc_cgroups_lookup_resp_decode(out, len, &w), NIPC_OK);
    FUZZ_CHECK(w.item_count == v->item_count && w.generation == v->generation);
    for (uint32_t i = 0; i < v->item_count; i++) {
        nipc_cgroups_lookup_item_t a, b;
        FUZZ_CHECK_ERR(nipc_cgroups_lookup_resp_item(v, i, &a), NIPC_OK);
        FUZZ_CHECK_ERR(nipc_cgroups_lookup_resp_item(&w, i, &b), NIPC_OK);
        FUZZ_CHECK(same_item(&a, &b));
    }
    /* Canonical bytes: re-encoding the re-encoded response changes nothing. */
    uint8_t *again = rebuild(&w, &len2);
    FUZZ_CHECK(len2 == len && memcmp(again, out, len) == 0);
    FUZZ_CHECK_ERR(nipc_cgroups_lookup_resp_decode(again, len2, &w2), NIPC_OK);
    free(again);
    free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    nipc_cgroups_lookup_view_t v;
    nipc_error_t err = nipc_cgroups_lookup_resp_decode(data, size, &v);
    FUZZ_CHECK_ERR(err, expected(data, size));
    if (err != NIPC_OK)
        return 0;
    FUZZ_CHECK(v.payload == data && v.len == size);
    FUZZ_CHECK(v.item_count == fuzz_ld32(data + 4) && v.generation == fuzz_ld64(data + 8));
    const uint8_t *packed = data + 16 + (size_t)v.item_count * 8u;
    for (uint32_t i = 0; i < v.item_count; i++) {
        const uint8_t *it = packed + fuzz_ld32(data + 16 + (size_t)i * 8u);
        uint32_t ilen = fuzz_ld32(data + 20 + (size_t)i * 8u);
        FUZZ_CHECK(fuzz_inside(data, size, it, ilen));
        nipc_cgroups_lookup_item_t item;
        FUZZ_CHECK_ERR(nipc_cgroups_lookup_resp_item(&v, i, &item), NIPC_OK);
        FUZZ_CHECK(item.status == fuzz_ld16(it + 2) && item.orchestrator == fuzz_ld16(it + 4));
        FUZZ_CHECK(item.path.ptr == (const char *)it + fuzz_ld32(it + 8));
        FUZZ_CHECK(item.name.ptr == (const char *)it + fuzz_ld32(it + 16));
        FUZZ_CHECK(item.labels.count == fuzz_ld16(it + 24));
        fl_check_str(it, ilen, item.path);
        fl_check_str(it, ilen, item.name);
        FUZZ_CHECK(item.path.len > 0);
        fl_check_labels(&item.labels, it, ilen);
    }
    nipc_cgroups_lookup_item_t none;
    FUZZ_CHECK_ERR(nipc_cgroups_lookup_resp_item(&v, v.item_count, &none),
                   NIPC_ERR_INVALID_ARGUMENT);
    check_rebuild(&v);
    return 0;
}
