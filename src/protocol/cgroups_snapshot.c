/*
 * CGROUPS_SNAPSHOT (method 2): the 4-byte request, the response builder and
 * the zero-copy response view. Layout: 24-byte header, N directory entries
 * relative to the packed area at 24 + 8N, items of a 32-byte fixed part
 * followed by name + NUL and path + NUL, 8-aligned, no trailing padding.
 */
#include "netipc/codec.h"
#include "netipc/protocol.h"

#include "common/internal.h"

nipc_error_t nipc_cgroups_req_encode(void *buf, size_t cap, size_t *out_len)
{
    *out_len = NIPC_CGROUPS_REQ_SIZE;
    if (!buf || cap < NIPC_CGROUPS_REQ_SIZE)
        return NIPC_ERR_BUFFER_TOO_SMALL;
    nipc__st16(buf, NIPC_LAYOUT_VERSION);
    nipc__st16((uint8_t *)buf + 2, 0);
    return NIPC_OK;
}

nipc_error_t nipc_cgroups_req_decode(const void *buf, size_t len)
{
    const uint8_t *p = buf;
    if (!p || len < NIPC_CGROUPS_REQ_SIZE)
        return NIPC_ERR_TRUNCATED;
    if (nipc__ld16(p) != NIPC_LAYOUT_VERSION)
        return NIPC_ERR_BAD_LAYOUT;
    if (nipc__ld16(p + 2) != 0)
        return NIPC_ERR_BAD_FLAGS;
    return NIPC_OK;
}

static uint64_t packed_start(uint32_t item_count)
{
    return NIPC_CGROUPS_RESP_HEADER + (uint64_t)item_count * 8u;
}

void nipc_cgroups_builder_init(nipc_cgroups_builder_t *b, void *buf, size_t cap,
                               uint32_t item_count, uint32_t systemd_enabled,
                               uint64_t generation)
{
    b->buf = buf;
    b->cap = buf ? cap : 0;
    b->item_count = item_count;
    b->added = 0;
    b->packed_len = 0;
    b->err = NIPC_OK;
    if (packed_start(item_count) > UINT32_MAX) {
        b->err = NIPC_ERR_SIZE_OVERFLOW;
        return;
    }
    if (packed_start(item_count) > b->cap) {
        b->err = NIPC_ERR_BUFFER_TOO_SMALL;
        return;
    }
    uint8_t *p = b->buf;
    nipc__st16(p + 0, NIPC_LAYOUT_VERSION);
    nipc__st16(p + 2, 0);
    nipc__st32(p + 4, item_count);
    nipc__st32(p + 8, systemd_enabled);
    nipc__st32(p + 12, 0);
    nipc__st64(p + 16, generation);
}

nipc_error_t nipc_cgroups_builder_add(nipc_cgroups_builder_t *b, uint32_t hash, uint32_t options,
                                      uint32_t enabled, const char *name, uint32_t name_len,
                                      const char *path, uint32_t path_len)
{
    if (b->err != NIPC_OK && b->err != NIPC_ERR_BUFFER_TOO_SMALL)
        return b->err;
    if (b->added >= b->item_count)
        return b->err = NIPC_ERR_BAD_ITEM_COUNT;
    if ((name_len && !name) || (path_len && !path))
        return b->err = NIPC_ERR_INVALID_ARGUMENT;

    uint64_t item_len = (uint64_t)NIPC_CGROUPS_ITEM_FIXED + name_len + path_len + 2u;
    uint64_t offset = b->added ? nipc__align8(b->packed_len) : 0;
    uint64_t end = offset + item_len;
    uint64_t total = packed_start(b->item_count) + end;
    if (total > UINT32_MAX)
        return b->err = NIPC_ERR_SIZE_OVERFLOW;

    if (b->err == NIPC_OK && total <= b->cap) {
        uint8_t *packed = b->buf + packed_start(b->item_count);
        uint8_t *entry = b->buf + NIPC_CGROUPS_RESP_HEADER + (size_t)b->added * 8u;
        memset(packed + b->packed_len, 0, (size_t)(offset - b->packed_len)); /* gap */
        nipc__st32(entry, (uint32_t)offset);
        nipc__st32(entry + 4, (uint32_t)item_len);

        uint8_t *it = packed + offset;
        uint32_t name_off = NIPC_CGROUPS_ITEM_FIXED;
        uint32_t path_off = name_off + name_len + 1u;
        nipc__st16(it + 0, NIPC_LAYOUT_VERSION);
        nipc__st16(it + 2, 0);
        nipc__st32(it + 4, hash);
        nipc__st32(it + 8, options);
        nipc__st32(it + 12, enabled);
        nipc__st32(it + 16, name_off);
        nipc__st32(it + 20, name_len);
        nipc__st32(it + 24, path_off);
        nipc__st32(it + 28, path_len);
        if (name_len)
            memcpy(it + name_off, name, name_len);
        it[name_off + name_len] = 0;
        if (path_len)
            memcpy(it + path_off, path, path_len);
        it[path_off + path_len] = 0;
    } else {
        b->err = NIPC_ERR_BUFFER_TOO_SMALL;
    }
    b->packed_len = end;
    b->added++;
    return b->err;
}

nipc_error_t nipc_cgroups_builder_finish(nipc_cgroups_builder_t *b, size_t *out_len)
{
    if (b->err != NIPC_OK && b->err != NIPC_ERR_BUFFER_TOO_SMALL)
        return b->err;
    if (b->added != b->item_count)
        return b->err = NIPC_ERR_BAD_ITEM_COUNT;
    uint64_t total = packed_start(b->item_count) + b->packed_len;
    *out_len = (size_t)total;
    if (total > b->cap)
        return b->err = NIPC_ERR_BUFFER_TOO_SMALL;
    return NIPC_OK;
}

nipc_error_t nipc_cgroups_resp_decode(const void *buf, size_t len, nipc_cgroups_view_t *view)
{
    const uint8_t *p = buf;
    if (!p || len < NIPC_CGROUPS_RESP_HEADER)
        return NIPC_ERR_TRUNCATED;
    if (nipc__ld16(p) != NIPC_LAYOUT_VERSION)
        return NIPC_ERR_BAD_LAYOUT;
    if (nipc__ld16(p + 2) != 0)
        return NIPC_ERR_BAD_FLAGS;
    if (nipc__ld32(p + 12) != 0)
        return NIPC_ERR_BAD_RESERVED;

    uint32_t n = nipc__ld32(p + 4);
    if (packed_start(n) > len)
        return NIPC_ERR_TRUNCATED;
    uint64_t packed_len = len - packed_start(n);
    for (uint32_t i = 0; i < n; i++) {
        const uint8_t *e = p + NIPC_CGROUPS_RESP_HEADER + (size_t)i * 8u;
        uint32_t off = nipc__ld32(e), ilen = nipc__ld32(e + 4);
        if (off % 8u != 0)
            return NIPC_ERR_BAD_ALIGNMENT;
        if ((uint64_t)off + ilen > packed_len)
            return NIPC_ERR_OUT_OF_BOUNDS;
        if (ilen < NIPC_CGROUPS_ITEM_FIXED)
            return NIPC_ERR_BAD_FIELD;
    }
    view->payload = p;
    view->len = len;
    view->item_count = n;
    view->systemd_enabled = nipc__ld32(p + 8);
    view->generation = nipc__ld64(p + 16);
    return NIPC_OK;
}

/* A string at [off, off + len) plus its NUL must lie in [32, item_len). */
static nipc_error_t item_string(const uint8_t *it, uint32_t item_len, uint32_t off, uint32_t len,
                                nipc_str_t *out)
{
    if (off < NIPC_CGROUPS_ITEM_FIXED)
        return NIPC_ERR_OUT_OF_BOUNDS;
    if ((uint64_t)off + len + 1u > item_len)
        return NIPC_ERR_OUT_OF_BOUNDS;
    if (it[(size_t)off + len] != 0)
        return NIPC_ERR_MISSING_NUL;
    out->ptr = (const char *)it + off;
    out->len = len;
    return NIPC_OK;
}

nipc_error_t nipc_cgroups_resp_item(const nipc_cgroups_view_t *view, uint32_t index,
                                    nipc_cgroup_item_t *item)
{
    if (index >= view->item_count)
        return NIPC_ERR_INVALID_ARGUMENT;
    const uint8_t *e = view->payload + NIPC_CGROUPS_RESP_HEADER + (size_t)index * 8u;
    uint32_t off = nipc__ld32(e), item_len = nipc__ld32(e + 4);
    /* The view was validated by decode; offsets are trusted from here. */
    const uint8_t *it = view->payload + packed_start(view->item_count) + off;

    if (nipc__ld16(it) != NIPC_LAYOUT_VERSION)
        return NIPC_ERR_BAD_LAYOUT;
    if (nipc__ld16(it + 2) != 0)
        return NIPC_ERR_BAD_FLAGS;
    uint32_t name_off = nipc__ld32(it + 16), name_len = nipc__ld32(it + 20);
    uint32_t path_off = nipc__ld32(it + 24), path_len = nipc__ld32(it + 28);

    nipc_error_t err = item_string(it, item_len, name_off, name_len, &item->name);
    if (err == NIPC_OK)
        err = item_string(it, item_len, path_off, path_len, &item->path);
    if (err != NIPC_OK)
        return err;
    /* Ranges including their NULs: [off, off + len]. */
    uint64_t name_end = (uint64_t)name_off + name_len;
    uint64_t path_end = (uint64_t)path_off + path_len;
    if (name_off <= path_end && path_off <= name_end)
        return NIPC_ERR_OVERLAP;

    item->hash = nipc__ld32(it + 4);
    item->options = nipc__ld32(it + 8);
    item->enabled = nipc__ld32(it + 12);
    return NIPC_OK;
}
