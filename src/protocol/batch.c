/*
 * Level 1 batch payloads: a directory of N {u32 offset, u32 length} entries
 * followed by the packed area, items at 8-aligned offsets, zero padding,
 * final padding included in the payload length.
 */
#include "netipc/protocol.h"

#include "common/internal.h"

void nipc_batch_builder_init(nipc_batch_builder_t *b, void *buf, size_t cap,
                             uint32_t item_count)
{
    b->buf = buf;
    b->cap = buf ? cap : 0;
    b->item_count = item_count;
    b->added = 0;
    b->packed_len = 0;
    b->err = NIPC_OK;
}

static uint64_t dir_size(uint32_t item_count)
{
    return (uint64_t)item_count * NIPC_BATCH_ENTRY_SIZE;
}

nipc_error_t nipc_batch_builder_add(nipc_batch_builder_t *b, const void *item, uint32_t len)
{
    if (b->err != NIPC_OK && b->err != NIPC_ERR_BUFFER_TOO_SMALL)
        return b->err;
    if (b->added >= b->item_count)
        return b->err = NIPC_ERR_BAD_ITEM_COUNT;
    if (len && !item)
        return b->err = NIPC_ERR_INVALID_ARGUMENT;

    uint64_t dir = dir_size(b->item_count);
    uint64_t offset = b->packed_len;
    uint64_t end = nipc__align8(offset + len);
    if (dir + end > UINT32_MAX)
        return b->err = NIPC_ERR_SIZE_OVERFLOW;
    uint32_t index = b->added++;
    b->packed_len = end;
    /* The size needed only grows, so an item that fits means every earlier
     * one fitted too: no BUFFER_TOO_SMALL is pending past this check. */
    if (dir + end > b->cap)
        return b->err = NIPC_ERR_BUFFER_TOO_SMALL;

    uint8_t *entry = b->buf + dir_size(index);
    uint8_t *slot = b->buf + dir + offset;
    nipc__st32(entry, (uint32_t)offset);
    nipc__st32(entry + 4, len);
    /* The padding (1 to 7 bytes) lies in the item's last 8-byte word: zero
     * that word, then copy the item over it. Cheaper per item than a
     * memset() call, and the bytes written are the same. */
    if (len % 8u)
        nipc__st64(b->buf + dir + end - 8u, 0);
    if (len)
        memcpy(slot, item, len);
    return NIPC_OK;
}

nipc_error_t nipc_batch_builder_finish(nipc_batch_builder_t *b, size_t *payload_len)
{
    if (b->err != NIPC_OK && b->err != NIPC_ERR_BUFFER_TOO_SMALL)
        return b->err;
    /* The needed size is only exact once every announced item was seen. */
    if (b->added != b->item_count)
        return b->err = NIPC_ERR_BAD_ITEM_COUNT;
    uint64_t total = dir_size(b->item_count) + b->packed_len;
    *payload_len = (size_t)total;
    if (total > b->cap)
        return b->err = NIPC_ERR_BUFFER_TOO_SMALL;
    return NIPC_OK;
}

static nipc_error_t check_entry(const uint8_t *p, uint64_t packed_len, uint32_t index,
                                uint32_t *offset, uint32_t *length)
{
    *offset = nipc__ld32(p + (size_t)index * NIPC_BATCH_ENTRY_SIZE);
    *length = nipc__ld32(p + (size_t)index * NIPC_BATCH_ENTRY_SIZE + 4);
    if (*offset % 8u != 0)
        return NIPC_ERR_BAD_ALIGNMENT;
    if ((uint64_t)*offset + *length > packed_len)
        return NIPC_ERR_OUT_OF_BOUNDS;
    return NIPC_OK;
}

/* The error of the first bad entry of a directory, walked entry by entry. */
static nipc_error_t first_bad_entry(const uint8_t *p, uint64_t packed_len, uint32_t item_count)
{
    for (uint32_t i = 0; i < item_count; i++) {
        uint32_t off, length;
        nipc_error_t err = check_entry(p, packed_len, i, &off, &length);
        if (err != NIPC_OK)
            return err;
    }
    return NIPC_OK;
}

nipc_error_t nipc_batch_validate(const void *payload, size_t len, uint32_t item_count)
{
    if (!payload && len)
        return NIPC_ERR_INVALID_ARGUMENT;
    if (dir_size(item_count) > len)
        return NIPC_ERR_TRUNCATED;
    uint64_t packed_len = len - dir_size(item_count);
    /* Every receiver runs this on every batch, and directories are almost
     * always good: one pass with no exit, the OR of the offsets for the
     * alignment and the largest end for the bounds, then one test. Only a
     * bad directory is walked again, to report its first bad entry's error
     * exactly as before. */
    const uint8_t *p = payload;
    uint32_t offsets = 0;
    uint64_t last_end = 0;
    for (uint32_t i = 0; i < item_count; i++) {
        uint32_t off = nipc__ld32(p + (size_t)i * NIPC_BATCH_ENTRY_SIZE);
        uint64_t end = (uint64_t)off + nipc__ld32(p + (size_t)i * NIPC_BATCH_ENTRY_SIZE + 4);
        offsets |= off;
        last_end = end > last_end ? end : last_end;
    }
    if (offsets % 8u == 0 && last_end <= packed_len)
        return NIPC_OK;
    return first_bad_entry(payload, packed_len, item_count);
}

nipc_error_t nipc_batch_item(const void *payload, size_t len, uint32_t item_count,
                             uint32_t index, const uint8_t **item, uint32_t *item_len)
{
    if (index >= item_count || (!payload && len))
        return NIPC_ERR_INVALID_ARGUMENT;
    if (dir_size(item_count) > len)
        return NIPC_ERR_TRUNCATED;
    uint64_t packed_len = len - dir_size(item_count);
    uint32_t off, length;
    nipc_error_t err = check_entry(payload, packed_len, index, &off, &length);
    if (err != NIPC_OK)
        return err;
    *item = (const uint8_t *)payload + dir_size(item_count) + off;
    *item_len = length;
    return NIPC_OK;
}
