/*
 * Fuzz target: CGROUPS_LOOKUP request payloads. The decode verdict must
 * match the spec's rules (codecs.md §4-5: header with reserved words,
 * ordered directory of entries >= 2 bytes, each key NUL-terminated and
 * NUL-free). For an accepted request the key views must lie inside the
 * input; re-encoding the keys must round-trip and be canonical; the Level 2
 * splitter's prefix rule must agree with the exact encoded size; and the
 * server's reply builder, fed answers derived from the input under a budget
 * derived from the input, must produce exactly what an independent
 * simulation of the codecs.md §4 policy predicts (which items are answered,
 * which become OVERSIZED_ITEM or PAYLOAD_EXCEEDED, the total size, or the
 * overflow and the smallest size it reports).
 */
#include "fuzz_lookup.h"
#include "protocol/lookup_internal.h"

static nipc_error_t expected(const uint8_t *p, size_t len)
{
    nipc_error_t err = fl_header(p, len);
    if (err != NIPC_OK)
        return err;
    if (fuzz_ld32(p + 8) || fuzz_ld32(p + 12))
        return NIPC_ERR_BAD_RESERVED;
    uint32_t n = fuzz_ld32(p + 4);
    err = fl_directory(p, len, n, 2, UINT32_MAX);
    if (err != NIPC_OK)
        return err;
    const uint8_t *packed = p + 16 + (size_t)n * 8u;
    for (uint32_t i = 0; i < n; i++) {
        const uint8_t *key = packed + fuzz_ld32(p + 16 + (size_t)i * 8u);
        uint32_t klen = fuzz_ld32(p + 20 + (size_t)i * 8u);
        if (key[klen - 1] != 0)
            return NIPC_ERR_MISSING_NUL;
        for (uint32_t j = 0; j + 1 < klen; j++)
            if (key[j] == 0)
                return NIPC_ERR_EMBEDDED_NUL;
    }
    return NIPC_OK;
}

/* -------------------------------------------------- the reply policy check */

static const nipc_label_t labels[2] = {{{"a", 1}, {"xyz", 3}}, {{"bb", 2}, {"", 0}}};
static char name_bytes[256];

/* The handler's answer for key i, chosen by the seed. */
static nipc_cgroups_lookup_item_t answer(nipc_str_t key, uint32_t i, uint32_t seed)
{
    nipc_cgroups_lookup_item_t it = {.path = key, .name = {"", 0}};
    switch ((seed >> (i % 29)) % 7) {
    case 0:
        it.status = NIPC_CGROUP_UNKNOWN_RETRY_LATER;
        break;
    case 1:
        it.status = NIPC_CGROUP_UNKNOWN_PERMANENT;
        break;
    case 2:
        it.status = NIPC_CGROUP_PAYLOAD_EXCEEDED; /* a handler may say so itself */
        break;
    case 3:
        it.status = NIPC_CGROUP_OVERSIZED_ITEM;
        break;
    default:
        it.status = NIPC_CGROUP_KNOWN;
        it.orchestrator = (uint16_t)(i % 9);
        it.name = (nipc_str_t){name_bytes, (seed / 7 + i * 13) % 200};
        it.labels.count = (uint16_t)((seed + i) % 3);
        break;
    }
    return it;
}

/* Canonical item size, computed from the spec (not by the library). */
static uint64_t answer_size(const nipc_cgroups_lookup_item_t *it)
{
    uint64_t end = 28u + it->path.len + 1u + it->name.len + 1u;
    if (!it->labels.count)
        return end;
    end = fl_align8(end) + 16u * it->labels.count;
    for (uint16_t j = 0; j < it->labels.count; j++)
        end += labels[j].key.len + labels[j].value.len + 2u;
    return end;
}

/* codecs.md §4: an item ending at `end` fits when it is inside the budget
 * and, unless it is the last, leaves room for minimal items for the rest. */
static int fits(uint64_t end, int last, uint64_t rest, uint64_t budget)
{
    return end <= budget && (last || fl_align8(end) + rest <= budget);
}

static void check_reply(const nipc_cgroups_lookup_req_t *req, uint32_t seed)
{
    uint32_t n = req->item_count;
    uint64_t head = 16u + 8u * (uint64_t)n, suffix = 0, full = head, pos = 0;
    for (uint32_t i = 0; i < n; i++) {
        nipc_str_t key;
        nipc_cgroups_lookup_req_key(req, i, &key);
        uint64_t min = 30u + key.len;
        suffix += i + 1 < n ? fl_align8(min) : min;
        nipc_cgroups_lookup_item_t a = answer(key, i, seed);
        full = (i ? fl_align8(full) : full) + answer_size(&a);
    }
    if (full > (1u << 20))
        return;
    /* A budget around the interesting range: from below the minimum to the full answer. */
    uint64_t lo = head + suffix > 8 ? head + suffix - 8 : 0;
    uint64_t budget = lo + (full + 16 > lo ? seed % (full + 16 - lo) : 0);
    uint8_t *out = malloc(budget ? budget : 1);
    FUZZ_CHECK(out != NULL);
    nipc_cgroups_lookup_builder_t b;
    nipc_cgroups_lookup_builder_init_reply(&b, out, budget, req, seed);

    /* The policy of codecs.md §4, simulated alongside. */
    uint16_t want[4096];
    int exceeded = 0;
    uint64_t rest = suffix;
    for (uint32_t k = 0; k < n; k++) {
        nipc_str_t key;
        nipc_cgroups_lookup_req_key(req, k, &key);
        nipc_cgroups_lookup_item_t a = answer(key, k, seed);
        FUZZ_CHECK_ERR(nipc_cgroups_lookup_builder_add(&b, &a, labels),
                       head + suffix > budget ? NIPC_ERR_BUFFER_TOO_SMALL : NIPC_OK);
        uint64_t min = 30u + key.len, slot = k + 1 < n ? fl_align8(min) : min;
        uint64_t start = k ? fl_align8(pos) : 0, len = answer_size(&a);
        rest -= slot;
        if (!exceeded && a.status != NIPC_CGROUP_PAYLOAD_EXCEEDED &&
            fits(head + start + len, k + 1 == n, rest, budget)) {
            if (k < 4096)
                want[k] = a.status;
        } else {
            if (k < 4096)
                want[k] = k ? NIPC_CGROUP_PAYLOAD_EXCEEDED : NIPC_CGROUP_OVERSIZED_ITEM;
            exceeded |= k > 0;
            len = min;
        }
        pos = start + len;
    }
    FUZZ_CHECK(nipc_cgroups_lookup_builder_exceeded(&b) == exceeded || head + suffix > budget);

    size_t got = 0;
    nipc_error_t err = nipc_cgroups_lookup_builder_finish(&b, &got);
    if (head + suffix > budget) {
        FUZZ_CHECK_ERR(err, NIPC_ERR_BUFFER_TOO_SMALL);
        FUZZ_CHECK(got == head + suffix);
        free(out);
        return;
    }
    FUZZ_CHECK_ERR(err, NIPC_OK);
    FUZZ_CHECK(got == head + pos && got <= budget);
    nipc_cgroups_lookup_view_t v;
    FUZZ_CHECK_ERR(nipc_cgroups_lookup_resp_decode(out, got, &v), NIPC_OK);
    FUZZ_CHECK(v.item_count == n && v.generation == seed);
    for (uint32_t k = 0; k < n && k < 4096; k++) {
        nipc_cgroups_lookup_item_t it;
        nipc_str_t key;
        FUZZ_CHECK_ERR(nipc_cgroups_lookup_resp_item(&v, k, &it), NIPC_OK);
        nipc_cgroups_lookup_req_key(req, k, &key);
        FUZZ_CHECK(fl_same_str(it.path, key)); /* every item echoes its key */
        FUZZ_CHECK(it.status == want[k]);
        FUZZ_CHECK(k > 0 || it.status != NIPC_CGROUP_PAYLOAD_EXCEEDED);
    }
    free(out);
}

/* ----------------------------------------------------------------- target */

static void check_reencode(const nipc_cgroups_lookup_req_t *req, const nipc_str_t *keys)
{
    size_t need = 0, len = 0;
    uint32_t n = req->item_count;
    FUZZ_CHECK_ERR(nipc_cgroups_lookup_req_encode(keys, n, NULL, 0, &need),
                   NIPC_ERR_BUFFER_TOO_SMALL);
    uint8_t *out = malloc(need);
    FUZZ_CHECK(out != NULL);
    FUZZ_CHECK_ERR(nipc_cgroups_lookup_req_encode(keys, n, out, need, &len), NIPC_OK);
    FUZZ_CHECK(len == need);
    nipc_cgroups_lookup_req_t back;
    FUZZ_CHECK_ERR(nipc_cgroups_lookup_req_decode(out, len, &back), NIPC_OK);
    FUZZ_CHECK(back.item_count == n);
    for (uint32_t i = 0; i < n; i++) {
        nipc_str_t k;
        FUZZ_CHECK_ERR(nipc_cgroups_lookup_req_key(&back, i, &k), NIPC_OK);
        FUZZ_CHECK(fl_same_str(k, keys[i]));
    }
    /* The splitter's prefix for any budget is the largest that encodes within it. */
    uint64_t cap = 16u + fl_mix(out, len) % (len + 8u), size = 0;
    uint32_t fit = nipc__cgroups_lookup_req_prefix(keys, n, cap, &size);
    size_t exact = 0;
    nipc_cgroups_lookup_req_encode(keys, fit, NULL, 0, &exact);
    FUZZ_CHECK(size == exact && size <= cap);
    if (fit < n) {
        nipc_cgroups_lookup_req_encode(keys, fit + 1, NULL, 0, &exact);
        FUZZ_CHECK(exact > cap);
    }
    free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (name_bytes[0] != 'n')
        memset(name_bytes, 'n', sizeof name_bytes);
    nipc_cgroups_lookup_req_t req;
    nipc_error_t err = nipc_cgroups_lookup_req_decode(data, size, &req);
    FUZZ_CHECK_ERR(err, expected(data, size));
    if (err != NIPC_OK)
        return 0;
    FUZZ_CHECK(req.payload == data && req.len == size && req.item_count == fuzz_ld32(data + 4));
    nipc_str_t *keys = malloc(((size_t)req.item_count + 1) * sizeof *keys);
    FUZZ_CHECK(keys != NULL);
    for (uint32_t i = 0; i < req.item_count; i++) {
        FUZZ_CHECK_ERR(nipc_cgroups_lookup_req_key(&req, i, &keys[i]), NIPC_OK);
        FUZZ_CHECK(fuzz_inside(data, size, keys[i].ptr, (size_t)keys[i].len + 1u));
        fuzz_touch(keys[i].ptr, (size_t)keys[i].len + 1u);
        FUZZ_CHECK(keys[i].len + 1u == fuzz_ld32(data + 20 + (size_t)i * 8u));
        FUZZ_CHECK(keys[i].len > 0 && keys[i].ptr[keys[i].len] == 0);
    }
    nipc_str_t none;
    FUZZ_CHECK_ERR(nipc_cgroups_lookup_req_key(&req, req.item_count, &none),
                   NIPC_ERR_INVALID_ARGUMENT);
    check_reencode(&req, keys);
    check_reply(&req, fl_mix(data, size));
    free(keys);
    return 0;
}
