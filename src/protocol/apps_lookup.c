/*
 * APPS_LOOKUP (method 5), codecs.md §4 and §6: the request encoder and
 * decoder (keys = {u32 pid, u32 reserved}), the response decoder and item
 * view, and the response builder in plain and reply mode. The common
 * header, directory, label and policy machinery is in lookup_common.c;
 * this file only knows the 60-byte item and its status rules.
 */
#include "protocol/lookup_internal.h"

#include "netipc/protocol.h"

/* Item fixed part (codecs.md §6); 60 bytes, a C struct would pad to 64. */
enum {
    IT_LAYOUT = 0,
    IT_STATUS = 2,
    IT_ORCH = 4,
    IT_CGROUP_STATUS = 6,
    IT_PID = 8,
    IT_PPID = 12,
    IT_UID = 16,
    IT_RESERVED0 = 20,
    IT_STARTTIME = 24,
    IT_COMM = 32, /* offset, length */
    IT_CGROUP_PATH = 40,
    IT_CGROUP_NAME = 48,
    IT_LABELS = 56,
    IT_RESERVED1 = 58,
};

#define APP_STATUS_MAX NIPC_APP_OVERSIZED_ITEM
#define APP_CGROUP_STATUS_MAX NIPC_APP_CGROUP_HOST_ROOT

/* ---------------------------------------------------------------- request */

nipc_error_t nipc_apps_lookup_req_encode(const uint32_t *pids, uint32_t n, void *buf, size_t cap,
                                         size_t *out_len)
{
    if ((n && !pids) || !out_len)
        return NIPC_ERR_INVALID_ARGUMENT;
    uint64_t start = nipc__lookup_packed_start(n);
    uint64_t total = start + (uint64_t)n * NIPC_APPS_LOOKUP_KEY_SIZE;
    if (total > UINT32_MAX)
        return NIPC_ERR_SIZE_OVERFLOW;
    *out_len = (size_t)total;
    if (!buf || total > cap)
        return NIPC_ERR_BUFFER_TOO_SMALL;

    uint8_t *p = buf;
    nipc__st16(p, NIPC_LAYOUT_VERSION);
    nipc__st16(p + 2, 0);
    nipc__st32(p + 4, n);
    nipc__st32(p + 8, 0);
    nipc__st32(p + 12, 0);
    for (uint32_t i = 0; i < n; i++) {
        uint32_t off = i * NIPC_APPS_LOOKUP_KEY_SIZE;
        nipc__st32(p + NIPC_LOOKUP_HEADER_SIZE + (size_t)i * 8u, off);
        nipc__st32(p + NIPC_LOOKUP_HEADER_SIZE + (size_t)i * 8u + 4, NIPC_APPS_LOOKUP_KEY_SIZE);
        nipc__st32(p + start + off, pids[i]);
        nipc__st32(p + start + off + 4, 0);
    }
    return NIPC_OK;
}

nipc_error_t nipc_apps_lookup_req_decode(const void *buf, size_t len, nipc_apps_lookup_req_t *out)
{
    const uint8_t *p = buf;
    uint32_t n = 0;
    nipc_error_t err = nipc__lookup_check_request_header(p, len, &n);
    if (err == NIPC_OK)
        err = nipc__lookup_check_directory(p, len, n, NIPC_APPS_LOOKUP_KEY_SIZE,
                                           NIPC_APPS_LOOKUP_KEY_SIZE);
    if (err != NIPC_OK)
        return err;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t off, klen;
        nipc__lookup_entry(p, i, &off, &klen);
        if (nipc__ld32(nipc__lookup_at(p, n, off) + 4) != 0)
            return NIPC_ERR_BAD_RESERVED;
    }
    out->payload = p;
    out->len = len;
    out->item_count = n;
    return NIPC_OK;
}

nipc_error_t nipc_apps_lookup_req_pid(const nipc_apps_lookup_req_t *req, uint32_t index,
                                      uint32_t *pid)
{
    if (!req || !pid || index >= req->item_count)
        return NIPC_ERR_INVALID_ARGUMENT;
    uint32_t off, klen;
    nipc__lookup_entry(req->payload, index, &off, &klen);
    *pid = nipc__ld32(nipc__lookup_at(req->payload, req->item_count, off));
    return NIPC_OK;
}

/* --------------------------------------------------------------- response */

/* The semantic rules of codecs.md §6, shared by the decoder and the builder. */
static nipc_error_t check_semantics(const nipc_apps_lookup_item_t *it)
{
    if (it->status > APP_STATUS_MAX || it->cgroup_status > APP_CGROUP_STATUS_MAX)
        return NIPC_ERR_BAD_STATUS;
    if (it->comm.len > NIPC_APPS_COMM_MAX)
        return NIPC_ERR_BAD_FIELD;
    uint32_t path = it->cgroup_path.len, name = it->cgroup_name.len;
    uint16_t labels = it->labels.count;
    if (it->status != NIPC_APP_KNOWN) {
        if (it->orchestrator || it->cgroup_status || it->ppid || it->uid != NIPC_UID_UNSET ||
            it->starttime || it->comm.len || path || name || labels)
            return NIPC_ERR_BAD_FIELD;
        return NIPC_OK;
    }
    if (it->comm.len == 0)
        return NIPC_ERR_BAD_FIELD;
    int ok = 1;
    switch (it->cgroup_status) {
    case NIPC_APP_CGROUP_KNOWN:
        ok = path >= 1;
        break;
    case NIPC_APP_CGROUP_UNKNOWN_RETRY_LATER: /* the path may be empty */
        ok = !it->orchestrator && !name && !labels;
        break;
    case NIPC_APP_CGROUP_UNKNOWN_PERMANENT:
        ok = path >= 1 && !it->orchestrator && !name && !labels;
        break;
    default: /* HOST_ROOT */
        ok = !it->orchestrator && !path && !name && !labels;
        break;
    }
    return ok ? NIPC_OK : NIPC_ERR_BAD_FIELD;
}

static nipc_error_t item_string(const uint8_t *it, uint32_t item_len, uint32_t at, nipc_str_t *out)
{
    return nipc__lookup_check_string(it, item_len, NIPC_APPS_LOOKUP_ITEM_FIXED, nipc__ld32(it + at),
                                     nipc__ld32(it + at + 4), out);
}

static nipc_error_t check_item(const uint8_t *it, uint32_t item_len, nipc_apps_lookup_item_t *out)
{
    if (nipc__ld16(it + IT_LAYOUT) != NIPC_LAYOUT_VERSION)
        return NIPC_ERR_BAD_LAYOUT;
    out->status = nipc__ld16(it + IT_STATUS);
    out->cgroup_status = nipc__ld16(it + IT_CGROUP_STATUS);
    if (out->status > APP_STATUS_MAX || out->cgroup_status > APP_CGROUP_STATUS_MAX)
        return NIPC_ERR_BAD_STATUS;
    if (nipc__ld32(it + IT_RESERVED0) != 0 || nipc__ld16(it + IT_RESERVED1) != 0)
        return NIPC_ERR_BAD_RESERVED;

    static const uint32_t at[3] = {IT_COMM, IT_CGROUP_PATH, IT_CGROUP_NAME};
    nipc_str_t *strs[3] = {&out->comm, &out->cgroup_path, &out->cgroup_name};
    uint64_t fixed_end = 0;
    for (int i = 0; i < 3; i++) {
        nipc_error_t err = item_string(it, item_len, at[i], strs[i]);
        if (err != NIPC_OK)
            return err;
        uint64_t end = (uint64_t)nipc__ld32(it + at[i]) + strs[i]->len + 1u;
        fixed_end = end > fixed_end ? end : fixed_end;
    }
    for (int i = 0; i < 3; i++)
        for (int j = i + 1; j < 3; j++)
            if (nipc__lookup_overlap(nipc__ld32(it + at[i]), strs[i]->len, nipc__ld32(it + at[j]),
                                     strs[j]->len))
                return NIPC_ERR_OVERLAP;

    out->orchestrator = nipc__ld16(it + IT_ORCH);
    out->pid = nipc__ld32(it + IT_PID);
    out->ppid = nipc__ld32(it + IT_PPID);
    out->uid = nipc__ld32(it + IT_UID);
    out->starttime = nipc__ld64(it + IT_STARTTIME);
    out->labels.count = nipc__ld16(it + IT_LABELS);
    nipc_error_t err = check_semantics(out);
    if (err != NIPC_OK)
        return err;
    return nipc__lookup_check_labels(it, item_len, fixed_end, out->labels.count, &out->labels);
}

nipc_error_t nipc_apps_lookup_resp_decode(const void *buf, size_t len, nipc_apps_lookup_view_t *out)
{
    const uint8_t *p = buf;
    uint32_t n = 0;
    uint64_t generation = 0;
    nipc_error_t err = nipc__lookup_check_response_header(p, len, &n, &generation);
    if (err == NIPC_OK)
        err = nipc__lookup_check_directory(p, len, n, NIPC_APPS_LOOKUP_ITEM_FIXED, UINT32_MAX);
    for (uint32_t i = 0; err == NIPC_OK && i < n; i++) {
        uint32_t off, ilen;
        nipc_apps_lookup_item_t item;
        nipc__lookup_entry(p, i, &off, &ilen);
        err = check_item(nipc__lookup_at(p, n, off), ilen, &item);
    }
    if (err != NIPC_OK)
        return err;
    out->payload = p;
    out->len = len;
    out->item_count = n;
    out->generation = generation;
    return NIPC_OK;
}

nipc_error_t nipc_apps_lookup_resp_item(const nipc_apps_lookup_view_t *view, uint32_t index,
                                        nipc_apps_lookup_item_t *out)
{
    if (!view || !out || index >= view->item_count)
        return NIPC_ERR_INVALID_ARGUMENT;
    uint32_t off, ilen;
    nipc__lookup_entry(view->payload, index, &off, &ilen);
    /* The decoder validated every item; this cannot fail for its views. */
    return check_item(nipc__lookup_at(view->payload, view->item_count, off), ilen, out);
}

/* ---------------------------------------------------------------- builder */

static void make_spec(nipc__lookup_item_spec_t *s, const nipc_apps_lookup_item_t *it,
                      const nipc_label_t *labels)
{
    uint8_t *f = s->fixed;
    memset(f, 0, NIPC_APPS_LOOKUP_ITEM_FIXED);
    nipc__st16(f + IT_LAYOUT, NIPC_LAYOUT_VERSION);
    nipc__st16(f + IT_STATUS, it->status);
    nipc__st16(f + IT_ORCH, it->orchestrator);
    nipc__st16(f + IT_CGROUP_STATUS, it->cgroup_status);
    nipc__st32(f + IT_PID, it->pid);
    nipc__st32(f + IT_PPID, it->ppid);
    nipc__st32(f + IT_UID, it->uid);
    nipc__st64(f + IT_STARTTIME, it->starttime);
    s->fixed_len = NIPC_APPS_LOOKUP_ITEM_FIXED;
    s->nstrings = 3; /* canonical order: comm at 60, cgroup path, cgroup name */
    s->strings[0] = it->comm;
    s->pair_at[0] = IT_COMM;
    s->strings[1] = it->cgroup_path;
    s->pair_at[1] = IT_CGROUP_PATH;
    s->strings[2] = it->cgroup_name;
    s->pair_at[2] = IT_CGROUP_NAME;
    s->label_count_at = IT_LABELS;
    s->label_count = it->labels.count;
    s->labels = labels;
    s->decoded = &it->labels;
}

void nipc_apps_lookup_builder_init(nipc_apps_lookup_builder_t *b, void *buf, size_t cap,
                                   uint32_t item_count, uint64_t generation)
{
    nipc__lookup_core_init(&b->core, buf, cap, item_count, generation);
    b->req = NULL;
}

void nipc_apps_lookup_builder_init_reply(nipc_apps_lookup_builder_t *b, void *buf, size_t cap,
                                         const nipc_apps_lookup_req_t *req, uint64_t generation)
{
    /* suffix[0]: N minimal 63-byte items, each but the last rounded up to 64. */
    uint64_t n = req->item_count;
    uint64_t suffix0 =
        n ? (n - 1u) * nipc__align8(NIPC_APPS_LOOKUP_MIN_ITEM) + NIPC_APPS_LOOKUP_MIN_ITEM : 0;
    nipc__lookup_core_init_reply(&b->core, buf, cap, req->item_count, generation, suffix0);
    b->req = req;
}

void nipc_apps_lookup_builder_set_generation(nipc_apps_lookup_builder_t *b, uint64_t generation)
{
    nipc__lookup_core_set_generation(&b->core, generation);
}

bool nipc_apps_lookup_builder_exceeded(const nipc_apps_lookup_builder_t *b)
{
    return b->core.exceeded;
}

nipc_error_t nipc_apps_lookup_builder_add(nipc_apps_lookup_builder_t *b,
                                          const nipc_apps_lookup_item_t *item,
                                          const nipc_label_t *labels)
{
    nipc_lookup_builder_core_t *c = &b->core;
    nipc_error_t err = nipc__lookup_core_can_add(c);
    if (err != NIPC_OK)
        return err;
    if (!item)
        return nipc__lookup_core_fail(c, NIPC_ERR_INVALID_ARGUMENT);
    err = check_semantics(item);
    if (err != NIPC_OK)
        return nipc__lookup_core_fail(c, err);
    if (c->reply) {
        uint32_t pid = 0;
        nipc_apps_lookup_req_pid(b->req, c->added, &pid);
        if (pid != item->pid)
            return nipc__lookup_core_fail(c, NIPC_ERR_BAD_FIELD); /* not the request's key */
    }
    nipc__lookup_item_spec_t spec;
    make_spec(&spec, item, labels);
    uint64_t len = 0;
    err = nipc__lookup_item_size(&spec, &len);
    if (err != NIPC_OK)
        return nipc__lookup_core_fail(c, err);
    if (!c->reply)
        return nipc__lookup_core_append(c, &spec, len, 0);

    uint64_t min = NIPC_APPS_LOOKUP_MIN_ITEM;
    if (!c->exceeded && item->status != NIPC_APP_PAYLOAD_EXCEEDED &&
        nipc__lookup_core_fits(c, len, min))
        return nipc__lookup_core_append(c, &spec, len, min);

    /* Replacement (see the cgroups builder): the pid echoed, uid UNSET,
     * everything else zero, three empty strings. */
    nipc_apps_lookup_item_t r = {
        .status = c->added ? NIPC_APP_PAYLOAD_EXCEEDED : NIPC_APP_OVERSIZED_ITEM,
        .pid = item->pid,
        .uid = NIPC_UID_UNSET,
        .comm = {"", 0},
        .cgroup_path = {"", 0},
        .cgroup_name = {"", 0},
    };
    if (c->added)
        c->exceeded = 1;
    make_spec(&spec, &r, NULL);
    if (!nipc__lookup_core_fits(c, min, min))
        return nipc__lookup_core_fail(c, NIPC_ERR_BUFFER_TOO_SMALL);
    return nipc__lookup_core_append(c, &spec, min, min);
}

nipc_error_t nipc_apps_lookup_builder_finish(nipc_apps_lookup_builder_t *b, size_t *out_len)
{
    return nipc__lookup_core_finish(&b->core, out_len);
}
