/*
 * INCREMENT (method 1) and STRING_REVERSE (method 3): the two test and
 * benchmark methods. Their only definition upstream is the C codec, which
 * these match byte for byte.
 */
#include "netipc/codec.h"

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
