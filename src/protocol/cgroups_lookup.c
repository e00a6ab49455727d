/*
 * CGROUPS_LOOKUP (method 4), codecs.md §4-5: the request encoder and
 * decoder (keys = cgroup paths + NUL, 8-aligned), the response decoder and
 * item view, and the response builder in plain and reply mode. The common
 * header, directory, label and policy machinery is in lookup_common.c;
 * this file only knows the 28-byte item and its status rules.
 */
#include "protocol/lookup_internal.h"

#include "netipc/protocol.h"

/* Item fixed part (codecs.md §5). */
enum {
    IT_LAYOUT = 0,
    IT_STATUS = 2,
    IT_ORCH = 4,
    IT_RESERVED0 = 6,
    IT_PATH = 8, /* offset, length */
    IT_NAME = 16,
    IT_LABELS = 24,
    IT_RESERVED1 = 26,
};

#define CG_STATUS_MAX NIPC_CGROUP_OVERSIZED_ITEM

/* ---------------------------------------------------------------- request */

/* The key of path `p`: non-empty, no NUL. */
static nipc_error_t check_path(nipc_str_t p)
{
    if (p.len == 0)
        return NIPC_ERR_BAD_FIELD;
    if (!p.ptr)
        return NIPC_ERR_INVALID_ARGUMENT;
    if (nipc__lookup_has_nul(p))
        return NIPC_ERR_EMBEDDED_NUL;
    return NIPC_OK;
}

nipc_error_t nipc_cgroups_lookup_req_encode(const nipc_str_t *paths, uint32_t n, void *buf,
                                            size_t cap, size_t *out_len)
{
    if ((n && !paths) || !out_len)
        return NIPC_ERR_INVALID_ARGUMENT;
    uint64_t start = nipc__lookup_packed_start(n), end = 0;
    for (uint32_t i = 0; i < n; i++) {
        nipc_error_t err = check_path(paths[i]);
        if (err != NIPC_OK)
            return err;
        end = (i ? nipc__align8(end) : 0) + paths[i].len + 1u;
        if (start + end > UINT32_MAX)
            return NIPC_ERR_SIZE_OVERFLOW;
    }
    *out_len = (size_t)(start + end);
    if (!buf || start + end > cap)
        return NIPC_ERR_BUFFER_TOO_SMALL;

    uint8_t *p = buf;
    nipc__st16(p, NIPC_LAYOUT_VERSION);
    nipc__st16(p + 2, 0);
    nipc__st32(p + 4, n);
    nipc__st32(p + 8, 0);
    nipc__st32(p + 12, 0);
    uint8_t *packed = p + start;
    uint64_t pos = 0;
    for (uint32_t i = 0; i < n; i++) {
        uint64_t off = i ? nipc__align8(pos) : 0;
        memset(packed + pos, 0, (size_t)(off - pos)); /* zero padding between keys */
        nipc__st32(p + NIPC_LOOKUP_HEADER_SIZE + (size_t)i * 8u, (uint32_t)off);
        nipc__st32(p + NIPC_LOOKUP_HEADER_SIZE + (size_t)i * 8u + 4, paths[i].len + 1u);
        memcpy(packed + off, paths[i].ptr, paths[i].len);
        packed[off + paths[i].len] = 0;
        pos = off + paths[i].len + 1u;
    }
    return NIPC_OK;
}

uint32_t nipc__cgroups_lookup_req_prefix(const nipc_str_t *paths, uint32_t n, uint64_t cap,
                                         uint64_t *size)
{
    /* The encoded size grows strictly with every key, so accumulating until
     * the first key that does not fit finds the same largest prefix as a
     * binary search on the exact size, in time proportional to the keys
     * sent. */
    uint64_t end = 0;
    uint32_t k = 0;
    for (; k < n; k++) {
        uint64_t next = (k ? nipc__align8(end) : 0) + paths[k].len + 1u;
        if (nipc__lookup_packed_start(k + 1) + next > cap)
            break;
        end = next;
    }
    *size = nipc__lookup_packed_start(k) + end;
    return k;
}

nipc_error_t nipc_cgroups_lookup_req_decode(const void *buf, size_t len,
                                            nipc_cgroups_lookup_req_t *out)
{
    const uint8_t *p = buf;
    uint32_t n = 0;
    nipc_error_t err = nipc__lookup_check_request_header(p, len, &n);
    if (err == NIPC_OK)
        err = nipc__lookup_check_directory(p, len, n, 2, UINT32_MAX);
    if (err != NIPC_OK)
        return err;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t off, klen;
        nipc__lookup_entry(p, i, &off, &klen);
        const uint8_t *key = nipc__lookup_at(p, n, off);
        if (key[klen - 1] != 0)
            return NIPC_ERR_MISSING_NUL;
        if (memchr(key, 0, klen - 1u) != NULL)
            return NIPC_ERR_EMBEDDED_NUL;
    }
    out->payload = p;
    out->len = len;
    out->item_count = n;
    return NIPC_OK;
}

nipc_error_t nipc_cgroups_lookup_req_key(const nipc_cgroups_lookup_req_t *req, uint32_t index,
                                         nipc_str_t *path)
{
    if (!req || !path || index >= req->item_count)
        return NIPC_ERR_INVALID_ARGUMENT;
    uint32_t off, klen;
    nipc__lookup_entry(req->payload, index, &off, &klen);
    path->ptr = (const char *)nipc__lookup_at(req->payload, req->item_count, off);
    path->len = klen - 1u;
    return NIPC_OK;
}

/* --------------------------------------------------------------- response */

/* Status-dependent fields (decoder and builder share them). */
static nipc_error_t check_semantics(uint16_t status, uint16_t orchestrator, uint32_t path_len,
                                    uint32_t name_len, uint16_t label_count)
{
    if (status > CG_STATUS_MAX)
        return NIPC_ERR_BAD_STATUS;
    if (path_len == 0)
        return NIPC_ERR_BAD_FIELD;
    if (status != NIPC_CGROUP_KNOWN && (orchestrator || name_len || label_count))
        return NIPC_ERR_BAD_FIELD;
    return NIPC_OK;
}

static nipc_error_t check_item(const uint8_t *it, uint32_t item_len,
                               nipc_cgroups_lookup_item_t *out)
{
    if (nipc__ld16(it + IT_LAYOUT) != NIPC_LAYOUT_VERSION)
        return NIPC_ERR_BAD_LAYOUT;
    uint16_t status = nipc__ld16(it + IT_STATUS);
    if (status > CG_STATUS_MAX)
        return NIPC_ERR_BAD_STATUS;
    if (nipc__ld16(it + IT_RESERVED0) != 0 || nipc__ld16(it + IT_RESERVED1) != 0)
        return NIPC_ERR_BAD_RESERVED;

    uint32_t path_off = nipc__ld32(it + IT_PATH), path_len = nipc__ld32(it + IT_PATH + 4);
    uint32_t name_off = nipc__ld32(it + IT_NAME), name_len = nipc__ld32(it + IT_NAME + 4);
    nipc_error_t err = nipc__lookup_check_string(it, item_len, NIPC_CGROUPS_LOOKUP_ITEM_FIXED,
                                                 path_off, path_len, &out->path);
    if (err == NIPC_OK)
        err = nipc__lookup_check_string(it, item_len, NIPC_CGROUPS_LOOKUP_ITEM_FIXED, name_off,
                                        name_len, &out->name);
    if (err != NIPC_OK)
        return err;
    if (nipc__lookup_overlap(path_off, path_len, name_off, name_len))
        return NIPC_ERR_OVERLAP;

    uint16_t orch = nipc__ld16(it + IT_ORCH), label_count = nipc__ld16(it + IT_LABELS);
    err = check_semantics(status, orch, path_len, name_len, label_count);
    if (err != NIPC_OK)
        return err;
    uint64_t path_end = (uint64_t)path_off + path_len + 1u;
    uint64_t name_end = (uint64_t)name_off + name_len + 1u;
    err = nipc__lookup_check_labels(it, item_len, path_end > name_end ? path_end : name_end,
                                    label_count, &out->labels);
    if (err != NIPC_OK)
        return err;
    out->status = status;
    out->orchestrator = orch;
    return NIPC_OK;
}

nipc_error_t nipc_cgroups_lookup_resp_decode(const void *buf, size_t len,
                                             nipc_cgroups_lookup_view_t *out)
{
    const uint8_t *p = buf;
    uint32_t n = 0;
    uint64_t generation = 0;
    nipc_error_t err = nipc__lookup_check_response_header(p, len, &n, &generation);
    if (err == NIPC_OK)
        err = nipc__lookup_check_directory(p, len, n, NIPC_CGROUPS_LOOKUP_ITEM_FIXED, UINT32_MAX);
    for (uint32_t i = 0; err == NIPC_OK && i < n; i++) {
        uint32_t off, ilen;
        nipc_cgroups_lookup_item_t item;
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

nipc_error_t nipc_cgroups_lookup_resp_item(const nipc_cgroups_lookup_view_t *view, uint32_t index,
                                           nipc_cgroups_lookup_item_t *out)
{
    if (!view || !out || index >= view->item_count)
        return NIPC_ERR_INVALID_ARGUMENT;
    uint32_t off, ilen;
    nipc__lookup_entry(view->payload, index, &off, &ilen);
    /* The decoder validated every item; this cannot fail for its views. */
    return check_item(nipc__lookup_at(view->payload, view->item_count, off), ilen, out);
}

/* ---------------------------------------------------------------- builder */

static void make_spec(nipc__lookup_item_spec_t *s, uint16_t status, uint16_t orchestrator,
                      nipc_str_t path, nipc_str_t name, uint16_t label_count,
                      const nipc_label_t *labels, const nipc_lookup_labels_t *decoded)
{
    memset(s->fixed, 0, NIPC_CGROUPS_LOOKUP_ITEM_FIXED);
    nipc__st16(s->fixed + IT_LAYOUT, NIPC_LAYOUT_VERSION);
    nipc__st16(s->fixed + IT_STATUS, status);
    nipc__st16(s->fixed + IT_ORCH, orchestrator);
    s->fixed_len = NIPC_CGROUPS_LOOKUP_ITEM_FIXED;
    s->nstrings = 2;
    s->strings[0] = path; /* canonical order: path at 28, then name */
    s->pair_at[0] = IT_PATH;
    s->strings[1] = name;
    s->pair_at[1] = IT_NAME;
    s->label_count_at = IT_LABELS;
    s->label_count = label_count;
    s->labels = labels;
    s->decoded = decoded;
}

static uint64_t key_min(uint32_t path_len)
{
    return NIPC_CGROUPS_LOOKUP_MIN_ITEM((uint64_t)path_len);
}

void nipc_cgroups_lookup_builder_init(nipc_cgroups_lookup_builder_t *b, void *buf, size_t cap,
                                      uint32_t item_count, uint64_t generation)
{
    nipc__lookup_core_init(&b->core, buf, cap, item_count, generation);
    b->req = NULL;
}

void nipc_cgroups_lookup_builder_init_reply(nipc_cgroups_lookup_builder_t *b, void *buf, size_t cap,
                                            const nipc_cgroups_lookup_req_t *req,
                                            uint64_t generation)
{
    /* suffix[0]: every key as a minimal item, each but the last rounded up. */
    uint64_t suffix0 = 0;
    for (uint32_t i = 0; i < req->item_count; i++) {
        nipc_str_t key;
        nipc_cgroups_lookup_req_key(req, i, &key);
        suffix0 += i + 1u < req->item_count ? nipc__align8(key_min(key.len)) : key_min(key.len);
    }
    nipc__lookup_core_init_reply(&b->core, buf, cap, req->item_count, generation, suffix0);
    b->req = req;
}

void nipc_cgroups_lookup_builder_set_generation(nipc_cgroups_lookup_builder_t *b,
                                                uint64_t generation)
{
    nipc__lookup_core_set_generation(&b->core, generation);
}

bool nipc_cgroups_lookup_builder_exceeded(const nipc_cgroups_lookup_builder_t *b)
{
    return b->core.exceeded;
}

nipc_error_t nipc_cgroups_lookup_builder_add(nipc_cgroups_lookup_builder_t *b,
                                             const nipc_cgroups_lookup_item_t *item,
                                             const nipc_label_t *labels)
{
    nipc_lookup_builder_core_t *c = &b->core;
    nipc_error_t err = nipc__lookup_core_can_add(c);
    if (err != NIPC_OK)
        return err;
    if (!item)
        return nipc__lookup_core_fail(c, NIPC_ERR_INVALID_ARGUMENT);
    err = check_semantics(item->status, item->orchestrator, item->path.len, item->name.len,
                          item->labels.count);
    if (err != NIPC_OK)
        return nipc__lookup_core_fail(c, err);

    nipc_str_t key = item->path;
    if (c->reply) {
        nipc_cgroups_lookup_req_key(b->req, c->added, &key);
        if (key.len != item->path.len ||
            (key.len && (!item->path.ptr || memcmp(key.ptr, item->path.ptr, key.len))))
            return nipc__lookup_core_fail(c, NIPC_ERR_BAD_FIELD); /* not the request's key */
    }
    nipc__lookup_item_spec_t spec;
    make_spec(&spec, item->status, item->orchestrator, item->path, item->name, item->labels.count,
              labels, &item->labels);
    uint64_t len = 0;
    err = nipc__lookup_item_size(&spec, &len);
    if (err != NIPC_OK)
        return nipc__lookup_core_fail(c, err);
    if (!c->reply)
        return nipc__lookup_core_append(c, &spec, len, 0);

    uint64_t min = key_min(key.len);
    if (!c->exceeded && item->status != NIPC_CGROUP_PAYLOAD_EXCEEDED &&
        nipc__lookup_core_fits(c, len, min))
        return nipc__lookup_core_append(c, &spec, len, min);

    /* Replacement: the key echoed, nothing else. The first item can never
     * fit (OVERSIZED_ITEM, final); a later one ends this response's share
     * of the keys (PAYLOAD_EXCEEDED, the client asks again for the rest). */
    uint16_t status = NIPC_CGROUP_OVERSIZED_ITEM;
    if (c->added > 0) {
        status = NIPC_CGROUP_PAYLOAD_EXCEEDED;
        c->exceeded = 1;
    }
    static const nipc_str_t empty = {"", 0};
    make_spec(&spec, status, 0, key, empty, 0, NULL, NULL);
    if (!nipc__lookup_core_fits(c, min, min))
        return nipc__lookup_core_fail(c, NIPC_ERR_BUFFER_TOO_SMALL);
    return nipc__lookup_core_append(c, &spec, min, min);
}

nipc_error_t nipc_cgroups_lookup_builder_finish(nipc_cgroups_lookup_builder_t *b, size_t *out_len)
{
    return nipc__lookup_core_finish(&b->core, out_len);
}
