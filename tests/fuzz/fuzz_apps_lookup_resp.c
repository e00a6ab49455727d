/*
 * Fuzz target: APPS_LOOKUP response payloads. Same scheme as the cgroups
 * target: the decode verdict must match the spec's rules (codecs.md §4, §6:
 * header, directory, items with their status-dependent fields and labels);
 * accepted views must stay inside their items and carry the wire values;
 * re-encoding must round-trip and be canonical.
 */
#include "fuzz_lookup.h"

/* codecs.md §6 semantic checks; 1 when they hold. */
static int semantics_ok(const uint8_t *it)
{
    uint16_t status = fuzz_ld16(it + 2), orch = fuzz_ld16(it + 4), cgs = fuzz_ld16(it + 6);
    uint32_t comm = fuzz_ld32(it + 36), path = fuzz_ld32(it + 44), name = fuzz_ld32(it + 52);
    uint16_t labels = fuzz_ld16(it + 56);
    if (comm > 15)
        return 0;
    if (status != 0)
        return !orch && !cgs && !fuzz_ld32(it + 12) && fuzz_ld32(it + 16) == 0xFFFFFFFFu &&
               !fuzz_ld64(it + 24) && !comm && !path && !name && !labels;
    if (comm == 0)
        return 0;
    switch (cgs) {
    case 0:
        return path >= 1;
    case 1:
        return !orch && !name && !labels;
    case 2:
        return path >= 1 && !orch && !name && !labels;
    default:
        return !orch && !path && !name && !labels;
    }
}

static nipc_error_t expected_item(const uint8_t *it, uint32_t ilen)
{
    if (fuzz_ld16(it) != 1)
        return NIPC_ERR_BAD_LAYOUT;
    if (fuzz_ld16(it + 2) > 3 || fuzz_ld16(it + 6) > 3)
        return NIPC_ERR_BAD_STATUS;
    if (fuzz_ld32(it + 20) || fuzz_ld16(it + 58))
        return NIPC_ERR_BAD_RESERVED;
    uint32_t off[3], len[3];
    uint64_t fixed_end = 0;
    for (int i = 0; i < 3; i++) {
        off[i] = fuzz_ld32(it + 32 + 8 * i);
        len[i] = fuzz_ld32(it + 36 + 8 * i);
        nipc_error_t err = fl_string(it, ilen, 60, off[i], len[i]);
        if (err != NIPC_OK)
            return err;
        if ((uint64_t)off[i] + len[i] + 1u > fixed_end)
            fixed_end = (uint64_t)off[i] + len[i] + 1u;
    }
    if (fl_overlap(off[0], len[0], off[1], len[1]) || fl_overlap(off[0], len[0], off[2], len[2]) ||
        fl_overlap(off[1], len[1], off[2], len[2]))
        return NIPC_ERR_OVERLAP;
    if (!semantics_ok(it))
        return NIPC_ERR_BAD_FIELD;
    return fl_labels(it, ilen, fixed_end, fuzz_ld16(it + 56));
}

static nipc_error_t expected(const uint8_t *p, size_t len)
{
    nipc_error_t err = fl_header(p, len);
    if (err != NIPC_OK)
        return err;
    uint32_t n = fuzz_ld32(p + 4);
    err = fl_directory(p, len, n, 60, UINT32_MAX);
    for (uint32_t i = 0; err == NIPC_OK && i < n; i++) {
        uint32_t off = fuzz_ld32(p + 16 + (size_t)i * 8u);
        err = expected_item(p + 16 + (size_t)n * 8u + off, fuzz_ld32(p + 20 + (size_t)i * 8u));
    }
    return err;
}

static int same_item(const nipc_apps_lookup_item_t *a, const nipc_apps_lookup_item_t *b)
{
    return a->status == b->status && a->orchestrator == b->orchestrator &&
           a->cgroup_status == b->cgroup_status && a->pid == b->pid && a->ppid == b->ppid &&
           a->uid == b->uid && a->starttime == b->starttime && fl_same_str(a->comm, b->comm) &&
           fl_same_str(a->cgroup_path, b->cgroup_path) &&
           fl_same_str(a->cgroup_name, b->cgroup_name) && fl_same_labels(&a->labels, &b->labels);
}

static uint8_t *rebuild(const nipc_apps_lookup_view_t *v, size_t *len)
{
    nipc_apps_lookup_builder_t b;
    nipc_apps_lookup_item_t it;
    size_t need = 0;
    nipc_apps_lookup_builder_init(&b, NULL, 0, v->item_count, v->generation);
    for (uint32_t i = 0; i < v->item_count; i++) {
        FUZZ_CHECK_ERR(nipc_apps_lookup_resp_item(v, i, &it), NIPC_OK);
        nipc_apps_lookup_builder_add(&b, &it, NULL);
    }
    FUZZ_CHECK_ERR(nipc_apps_lookup_builder_finish(&b, &need), NIPC_ERR_BUFFER_TOO_SMALL);
    uint8_t *out = malloc(need);
    FUZZ_CHECK(out != NULL);
    nipc_apps_lookup_builder_init(&b, out, need, v->item_count, v->generation);
    for (uint32_t i = 0; i < v->item_count; i++) {
        FUZZ_CHECK_ERR(nipc_apps_lookup_resp_item(v, i, &it), NIPC_OK);
        FUZZ_CHECK_ERR(nipc_apps_lookup_builder_add(&b, &it, NULL), NIPC_OK);
    }
    FUZZ_CHECK_ERR(nipc_apps_lookup_builder_finish(&b, len), NIPC_OK);
    FUZZ_CHECK(*len == need);
    return out;
}

static void check_rebuild(const nipc_apps_lookup_view_t *v)
{
    size_t len = 0, len2 = 0;
    uint8_t *out = rebuild(v, &len);
    nipc_apps_lookup_view_t w;
    FUZZ_CHECK_ERR(nipc_apps_lookup_resp_decode(out, len, &w), NIPC_OK);
    FUZZ_CHECK(w.item_count == v->item_count && w.generation == v->generation);
    for (uint32_t i = 0; i < v->item_count; i++) {
        nipc_apps_lookup_item_t a, b;
        FUZZ_CHECK_ERR(nipc_apps_lookup_resp_item(v, i, &a), NIPC_OK);
        FUZZ_CHECK_ERR(nipc_apps_lookup_resp_item(&w, i, &b), NIPC_OK);
        FUZZ_CHECK(same_item(&a, &b));
    }
    uint8_t *again = rebuild(&w, &len2);
    FUZZ_CHECK(len2 == len && memcmp(again, out, len) == 0);
    free(again);
    free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    nipc_apps_lookup_view_t v;
    nipc_error_t err = nipc_apps_lookup_resp_decode(data, size, &v);
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
        nipc_apps_lookup_item_t item;
        FUZZ_CHECK_ERR(nipc_apps_lookup_resp_item(&v, i, &item), NIPC_OK);
        FUZZ_CHECK(item.status == fuzz_ld16(it + 2) && item.orchestrator == fuzz_ld16(it + 4) &&
                   item.cgroup_status == fuzz_ld16(it + 6));
        FUZZ_CHECK(item.pid == fuzz_ld32(it + 8) && item.ppid == fuzz_ld32(it + 12) &&
                   item.uid == fuzz_ld32(it + 16) && item.starttime == fuzz_ld64(it + 24));
        FUZZ_CHECK(item.comm.ptr == (const char *)it + fuzz_ld32(it + 32));
        FUZZ_CHECK(item.cgroup_path.ptr == (const char *)it + fuzz_ld32(it + 40));
        FUZZ_CHECK(item.cgroup_name.ptr == (const char *)it + fuzz_ld32(it + 48));
        fl_check_str(it, ilen, item.comm);
        fl_check_str(it, ilen, item.cgroup_path);
        fl_check_str(it, ilen, item.cgroup_name);
        FUZZ_CHECK(item.comm.len <= NIPC_APPS_COMM_MAX);
        FUZZ_CHECK(item.labels.count == fuzz_ld16(it + 56));
        fl_check_labels(&item.labels, it, ilen);
    }
    nipc_apps_lookup_item_t none;
    FUZZ_CHECK_ERR(nipc_apps_lookup_resp_item(&v, v.item_count, &none), NIPC_ERR_INVALID_ARGUMENT);
    check_rebuild(&v);
    return 0;
}
