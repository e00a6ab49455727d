/*
 * INCREMENT (method 1) and STRING_REVERSE (method 3): the two test and
 * benchmark methods. Their only definition upstream is the C codec, which
 * these match byte for byte.
 */
#include "netipc/codec.h"
#include "netipc/protocol.h"

#include "common/internal.h"

nipc_error_t nipc_increment_encode(uint64_t value, void *buf, size_t cap, size_t *out_len)
{
    *out_len = NIPC_INCREMENT_SIZE;
    if (!buf || cap < NIPC_INCREMENT_SIZE)
        return NIPC_ERR_BUFFER_TOO_SMALL;
    nipc__st64(buf, value);
    return NIPC_OK;
}

nipc_error_t nipc_increment_decode(const void *buf, size_t len, uint64_t *value)
{
    if (!buf || len < NIPC_INCREMENT_SIZE)
        return NIPC_ERR_TRUNCATED;
    *value = nipc__ld64(buf);
    return NIPC_OK;
}

/*
 * INCREMENT batches: every item is 8 bytes, so item i sits at 8 i of the
 * packed area and needs no padding, and a whole batch is written or read in
 * one loop. Profiling showed the per-item builder and accessor calls
 * costing several times the transport on 1,000-item batches.
 */
nipc_error_t nipc_increment_batch_encode(const uint64_t *values, uint32_t count, void *buf,
                                         size_t cap, size_t *out_len)
{
    if (count && !values)
        return NIPC_ERR_INVALID_ARGUMENT;
    uint64_t dir = (uint64_t)count * NIPC_BATCH_ENTRY_SIZE;
    uint64_t total = dir + (uint64_t)count * NIPC_INCREMENT_SIZE;
    if (total > UINT32_MAX)
        return NIPC_ERR_SIZE_OVERFLOW;
    *out_len = (size_t)total;
    if (total > cap || (total && !buf))
        return NIPC_ERR_BUFFER_TOO_SMALL;
    if (count == 0) /* buf may be NULL: no pointer arithmetic on it */
        return NIPC_OK;
    uint8_t *entry = buf, *packed = (uint8_t *)buf + dir;
    for (uint32_t i = 0; i < count; i++) {
        nipc__st32(entry + (size_t)i * NIPC_BATCH_ENTRY_SIZE, i * NIPC_INCREMENT_SIZE);
        nipc__st32(entry + (size_t)i * NIPC_BATCH_ENTRY_SIZE + 4, NIPC_INCREMENT_SIZE);
        nipc__st64(packed + (size_t)i * NIPC_INCREMENT_SIZE, values[i]);
    }
    return NIPC_OK;
}

/* Why item {off, n} of a packed area was refused, in the order of
 * nipc_batch_item() then nipc_increment_decode(). */
static nipc_error_t increment_item_error(uint32_t off, uint32_t n, uint64_t packed_len)
{
    if (off % 8u != 0)
        return NIPC_ERR_BAD_ALIGNMENT;
    if ((uint64_t)off + n > packed_len)
        return NIPC_ERR_OUT_OF_BOUNDS;
    return NIPC_ERR_TRUNCATED;
}

nipc_error_t nipc_increment_batch_decode(const void *payload, size_t len, uint32_t count,
                                         uint64_t *values)
{
    if ((!payload && len) || (count && !values))
        return NIPC_ERR_INVALID_ARGUMENT;
    uint64_t dir = (uint64_t)count * NIPC_BATCH_ENTRY_SIZE;
    if (dir > len)
        return NIPC_ERR_TRUNCATED;
    if (count == 0) /* payload may be NULL: no pointer arithmetic on it */
        return NIPC_OK;
    const uint8_t *entry = payload, *packed = (const uint8_t *)payload + dir;
    uint64_t packed_len = len - dir;
    uint32_t i = 0;
    /* 8-byte items leave an encoder no choice: item i at 8 i, 8 bytes long
     * (this library's encoders, upstream's). Once the packed area holds
     * 8 count bytes such an entry is valid, so it is checked by one compare
     * with that layout: `want` is entry {8 i, 8} read as one little-endian
     * u64 (offset low, length high). An entry that differs, and every one
     * after it, takes the full checks below. */
    if (packed_len >= (uint64_t)count * NIPC_INCREMENT_SIZE) {
        uint64_t want = (uint64_t)NIPC_INCREMENT_SIZE << 32;
        for (; i < count; i++, want += NIPC_INCREMENT_SIZE) {
            if (nipc__ld64(entry + (size_t)i * NIPC_BATCH_ENTRY_SIZE) != want)
                break;
            values[i] = nipc__ld64(packed + (size_t)i * NIPC_INCREMENT_SIZE);
        }
    }
    for (; i < count; i++) {
        uint32_t off = nipc__ld32(entry + (size_t)i * NIPC_BATCH_ENTRY_SIZE);
        uint32_t n = nipc__ld32(entry + (size_t)i * NIPC_BATCH_ENTRY_SIZE + 4);
        /* A good item passes one test; 8 bytes at off are then inside. */
        if (off % 8u != 0 || n < NIPC_INCREMENT_SIZE || (uint64_t)off + n > packed_len)
            return increment_item_error(off, n, packed_len);
        values[i] = nipc__ld64(packed + off);
    }
    return NIPC_OK;
}

nipc_error_t nipc_string_reverse_encode(const char *str, uint32_t len, void *buf, size_t cap,
                                        size_t *out_len)
{
    if (len && !str)
        return NIPC_ERR_INVALID_ARGUMENT;
    uint64_t total = (uint64_t)NIPC_STRING_REVERSE_FIXED + len + 1u;
    if (total > UINT32_MAX)
        return NIPC_ERR_SIZE_OVERFLOW;
    *out_len = (size_t)total;
    if (!buf || cap < total)
        return NIPC_ERR_BUFFER_TOO_SMALL;
    uint8_t *p = buf;
    nipc__st32(p, NIPC_STRING_REVERSE_FIXED);
    nipc__st32(p + 4, len);
    if (len)
        memcpy(p + 8, str, len);
    p[8 + (size_t)len] = 0;
    return NIPC_OK;
}

nipc_error_t nipc_string_reverse_decode(const void *buf, size_t len, nipc_str_t *out)
{
    const uint8_t *p = buf;
    if (!p || len < NIPC_STRING_REVERSE_FIXED)
        return NIPC_ERR_TRUNCATED;
    uint32_t offset = nipc__ld32(p);
    uint32_t n = nipc__ld32(p + 4);
    if (offset != NIPC_STRING_REVERSE_FIXED)
        return NIPC_ERR_BAD_FIELD;
    /* 64-bit sum: n near UINT32_MAX must not wrap past len. */
    if ((uint64_t)NIPC_STRING_REVERSE_FIXED + n + 1u > len)
        return NIPC_ERR_OUT_OF_BOUNDS;
    if (p[NIPC_STRING_REVERSE_FIXED + (size_t)n] != 0)
        return NIPC_ERR_MISSING_NUL;
    out->ptr = (const char *)p + NIPC_STRING_REVERSE_FIXED;
    out->len = n;
    return NIPC_OK;
}

uint32_t nipc_djb2(const char *s, size_t len)
{
    uint32_t h = 5381u;
    for (size_t i = 0; i < len; i++)
        h = h * 33u + (uint8_t)s[i];
    return h;
}
