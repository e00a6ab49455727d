/*
 * Fuzz target: APPS_LOOKUP request payloads. The decode verdict must match
 * the spec's rules (codecs.md §4, §6: header with reserved words, ordered
 * directory of 8-byte entries, key reserved word 0). For an accepted
 * request the PIDs must be the wire values, re-encoding must round-trip,
 * and the server's reply builder, fed answers derived from the input under
 * a budget derived from the input, must produce exactly what an
 * independent simulation of the codecs.md §4 policy predicts.
 */
#include "fuzz_lookup.h"

static nipc_error_t expected(const uint8_t *p, size_t len)
{
    nipc_error_t err = fl_header(p, len);
    if (err != NIPC_OK)
        return err;
    if (fuzz_ld32(p + 8) || fuzz_ld32(p + 12))
        return NIPC_ERR_BAD_RESERVED;
    uint32_t n = fuzz_ld32(p + 4);
    err = fl_directory(p, len, n, 8, 8);
    if (err != NIPC_OK)
        return err;
    const uint8_t *packed = p + 16 + (size_t)n * 8u;
    for (uint32_t i = 0; i < n; i++)
        if (fuzz_ld32(packed + fuzz_ld32(p + 16 + (size_t)i * 8u) + 4))
            return NIPC_ERR_BAD_RESERVED;
    return NIPC_OK;
}

/* -------------------------------------------------- the reply policy check */

static const nipc_label_t labels[2] = {{{"image", 5}, {"nginx", 5}}, {{"x", 1}, {"", 0}}};
static char text[256];

static nipc_apps_lookup_item_t answer(uint32_t pid, uint32_t i, uint32_t seed)
{
    nipc_apps_lookup_item_t it = {.pid = pid,
                                  .uid = NIPC_UID_UNSET,
                                  .comm = {"", 0},
                                  .cgroup_path = {"", 0},
                                  .cgroup_name = {"", 0}};
    switch ((seed >> (i % 29)) % 6) {
    case 0:
        it.status = NIPC_APP_UNKNOWN;
        break;
    case 1:
        it.status = NIPC_APP_PAYLOAD_EXCEEDED; /* a handler may say so itself */
        break;
    case 2:
        it.status = NIPC_APP_OVERSIZED_ITEM;
        break;
    default:
        it.status = NIPC_APP_KNOWN;
        it.cgroup_status = NIPC_APP_CGROUP_KNOWN;
        it.orchestrator = (uint16_t)(i % 9);
        it.ppid = i;
        it.uid = seed;
        it.starttime = (uint64_t)seed * i;
        it.comm = (nipc_str_t){text, 1 + (seed + i) % 15};
        it.cgroup_path = (nipc_str_t){text, 1 + (seed / 3 + i * 17) % 200};
        it.cgroup_name = (nipc_str_t){text, (seed / 5 + i) % 40};
        it.labels.count = (uint16_t)((seed + i) % 3);
        break;
    }
    return it;
}

static uint64_t answer_size(const nipc_apps_lookup_item_t *it)
{
    uint64_t end = 60u + it->comm.len + it->cgroup_path.len + it->cgroup_name.len + 3u;
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

static void check_reply(const nipc_apps_lookup_req_t *req, uint32_t seed)
{
    uint32_t n = req->item_count;
    uint64_t head = 16u + 8u * (uint64_t)n, full = head, pos = 0;
    uint64_t suffix = n ? 64u * (n - 1u) + 63u : 0; /* minimal 63-byte items */
    for (uint32_t i = 0; i < n; i++) {
        uint32_t pid;
        nipc_apps_lookup_req_pid(req, i, &pid);
        nipc_apps_lookup_item_t a = answer(pid, i, seed);
        full = (i ? fl_align8(full) : full) + answer_size(&a);
    }
    if (full > (1u << 20))
        return;
    uint64_t lo = head + suffix > 8 ? head + suffix - 8 : 0;
    uint64_t budget = lo + (full + 16 > lo ? seed % (full + 16 - lo) : 0);
    uint8_t *out = malloc(budget ? budget : 1);
    FUZZ_CHECK(out != NULL);
    nipc_apps_lookup_builder_t b;
    nipc_apps_lookup_builder_init_reply(&b, out, budget, req, seed);

    static uint16_t want[4096];
    int exceeded = 0;
    uint64_t rest = suffix;
    for (uint32_t k = 0; k < n; k++) {
        uint32_t pid;
        nipc_apps_lookup_req_pid(req, k, &pid);
        nipc_apps_lookup_item_t a = answer(pid, k, seed);
        FUZZ_CHECK_ERR(nipc_apps_lookup_builder_add(&b, &a, labels),
                       head + suffix > budget ? NIPC_ERR_BUFFER_TOO_SMALL : NIPC_OK);
        uint64_t slot = k + 1 < n ? 64u : 63u;
        uint64_t start = k ? fl_align8(pos) : 0, len = answer_size(&a);
        rest -= slot;
        if (!exceeded && a.status != NIPC_APP_PAYLOAD_EXCEEDED &&
            fits(head + start + len, k + 1 == n, rest, budget)) {
            if (k < 4096)
                want[k] = a.status;
        } else {
            if (k < 4096)
                want[k] = k ? NIPC_APP_PAYLOAD_EXCEEDED : NIPC_APP_OVERSIZED_ITEM;
            exceeded |= k > 0;
            len = 63u;
        }
        pos = start + len;
    }

    size_t got = 0;
    nipc_error_t err = nipc_apps_lookup_builder_finish(&b, &got);
    if (head + suffix > budget) {
        FUZZ_CHECK_ERR(err, NIPC_ERR_BUFFER_TOO_SMALL);
        FUZZ_CHECK(got == head + suffix);
        free(out);
        return;
    }
    FUZZ_CHECK_ERR(err, NIPC_OK);
    FUZZ_CHECK(nipc_apps_lookup_builder_exceeded(&b) == exceeded);
    FUZZ_CHECK(got == head + pos && got <= budget);
    nipc_apps_lookup_view_t v;
    FUZZ_CHECK_ERR(nipc_apps_lookup_resp_decode(out, got, &v), NIPC_OK);
    FUZZ_CHECK(v.item_count == n && v.generation == seed);
    for (uint32_t k = 0; k < n && k < 4096; k++) {
        nipc_apps_lookup_item_t it;
        uint32_t pid;
        FUZZ_CHECK_ERR(nipc_apps_lookup_resp_item(&v, k, &it), NIPC_OK);
        nipc_apps_lookup_req_pid(req, k, &pid);
        FUZZ_CHECK(it.pid == pid);
        FUZZ_CHECK(it.status == want[k]);
        if (it.status == NIPC_APP_PAYLOAD_EXCEEDED || it.status == NIPC_APP_OVERSIZED_ITEM)
            FUZZ_CHECK(it.uid == NIPC_UID_UNSET && it.comm.len == 0 && it.labels.count == 0);
    }
    free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (text[0] != 't')
        memset(text, 't', sizeof text);
    nipc_apps_lookup_req_t req;
    nipc_error_t err = nipc_apps_lookup_req_decode(data, size, &req);
    FUZZ_CHECK_ERR(err, expected(data, size));
    if (err != NIPC_OK)
        return 0;
    FUZZ_CHECK(req.payload == data && req.len == size && req.item_count == fuzz_ld32(data + 4));
    uint32_t n = req.item_count;
    uint32_t *pids = malloc(((size_t)n + 1) * sizeof *pids);
    FUZZ_CHECK(pids != NULL);
    const uint8_t *packed = data + 16 + (size_t)n * 8u;
    for (uint32_t i = 0; i < n; i++) {
        FUZZ_CHECK_ERR(nipc_apps_lookup_req_pid(&req, i, &pids[i]), NIPC_OK);
        FUZZ_CHECK(pids[i] == fuzz_ld32(packed + fuzz_ld32(data + 16 + (size_t)i * 8u)));
    }
    uint32_t none;
    FUZZ_CHECK_ERR(nipc_apps_lookup_req_pid(&req, n, &none), NIPC_ERR_INVALID_ARGUMENT);

    /* Re-encoding: 16 + 16n bytes, key i at packed offset 8i, same PIDs. */
    size_t need = 0, len = 0;
    FUZZ_CHECK_ERR(nipc_apps_lookup_req_encode(pids, n, NULL, 0, &need), NIPC_ERR_BUFFER_TOO_SMALL);
    FUZZ_CHECK(need == 16u + 16u * (size_t)n);
    uint8_t *out = malloc(need);
    FUZZ_CHECK(out != NULL);
    FUZZ_CHECK_ERR(nipc_apps_lookup_req_encode(pids, n, out, need, &len), NIPC_OK);
    nipc_apps_lookup_req_t back;
    FUZZ_CHECK_ERR(nipc_apps_lookup_req_decode(out, len, &back), NIPC_OK);
    for (uint32_t i = 0; i < n; i++) {
        uint32_t pid = 0;
        FUZZ_CHECK_ERR(nipc_apps_lookup_req_pid(&back, i, &pid), NIPC_OK);
        FUZZ_CHECK(pid == pids[i] && fuzz_ld32(out + 16 + 8u * i) == 8u * i);
    }
    free(out);
    check_reply(&req, fl_mix(data, size));
    free(pids);
    return 0;
}
