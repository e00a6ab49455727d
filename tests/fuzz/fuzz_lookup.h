/*
 * Oracles shared by the four lookup fuzz targets: the rules of codecs.md
 * §4 restated from the spec (directory, response strings, label table) in
 * the order the library documents, so a target can predict the exact
 * verdict of a decoder; plus checks that every view a decoder returns lies
 * inside the input, is NUL-terminated, and is read byte by byte (so
 * AddressSanitizer sees any view that reaches outside). Nothing here calls
 * the library's own validation.
 */
#ifndef NETIPC_FUZZ_LOOKUP_H
#define NETIPC_FUZZ_LOOKUP_H

#include "fuzz.h"
#include "netipc/lookup.h"

static inline uint64_t fl_align8(uint64_t x)
{
    return (x + 7u) & ~(uint64_t)7u;
}

/* Header start shared by requests and responses. */
static inline nipc_error_t fl_header(const uint8_t *p, size_t len)
{
    if (len < 16)
        return NIPC_ERR_TRUNCATED;
    if (fuzz_ld16(p) != 1)
        return NIPC_ERR_BAD_LAYOUT;
    if (fuzz_ld16(p + 2) != 0)
        return NIPC_ERR_BAD_FLAGS;
    return NIPC_OK;
}

/* Directory: in order, aligned, length in [min, max], inside, no overlap. */
static inline nipc_error_t fl_directory(const uint8_t *p, size_t len, uint32_t n, uint32_t min,
                                        uint32_t max)
{
    uint64_t start = 16u + (uint64_t)n * 8u;
    if (start > len)
        return NIPC_ERR_TRUNCATED;
    uint64_t packed = len - start, prev_end = 0;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t off = fuzz_ld32(p + 16 + (size_t)i * 8u);
        uint32_t l = fuzz_ld32(p + 20 + (size_t)i * 8u);
        if (off % 8u)
            return NIPC_ERR_BAD_ALIGNMENT;
        if (l < min || l > max)
            return NIPC_ERR_BAD_FIELD;
        if ((uint64_t)off + l > packed)
            return NIPC_ERR_OUT_OF_BOUNDS;
        if (i && off < prev_end)
            return NIPC_ERR_OVERLAP;
        prev_end = (uint64_t)off + l;
    }
    return NIPC_OK;
}

/* A response string [off, off + len] with its NUL, at or after `fixed`. */
static inline nipc_error_t fl_string(const uint8_t *it, uint32_t ilen, uint32_t fixed, uint32_t off,
                                     uint32_t len)
{
    if (off < fixed || (uint64_t)off + len + 1u > ilen)
        return NIPC_ERR_OUT_OF_BOUNDS;
    if (it[(size_t)off + len] != 0)
        return NIPC_ERR_MISSING_NUL;
    for (uint32_t i = 0; i < len; i++)
        if (it[(size_t)off + i] == 0)
            return NIPC_ERR_EMBEDDED_NUL;
    return NIPC_OK;
}

static inline int fl_overlap(uint32_t ao, uint32_t al, uint32_t bo, uint32_t bl)
{
    return (uint64_t)ao <= (uint64_t)bo + bl && (uint64_t)bo <= (uint64_t)ao + al;
}

/* Label table rules (codecs.md §4). */
static inline nipc_error_t fl_labels(const uint8_t *it, uint32_t ilen, uint64_t fixed_end,
                                     uint16_t count)
{
    if (count == 0)
        return fixed_end == ilen ? NIPC_OK : NIPC_ERR_BAD_FIELD;
    uint64_t table = fl_align8(fixed_end), pos = table + 16u * (uint64_t)count;
    if (pos > ilen)
        return NIPC_ERR_OUT_OF_BOUNDS;
    for (uint64_t i = fixed_end; i < table; i++)
        if (it[i])
            return NIPC_ERR_BAD_RESERVED;
    for (uint16_t j = 0; j < count; j++) {
        const uint8_t *e = it + table + 16u * j;
        if (fuzz_ld32(e + 4) == 0)
            return NIPC_ERR_BAD_FIELD;
        for (int s = 0; s < 2; s++) {
            uint32_t off = fuzz_ld32(e + 8 * s), len = fuzz_ld32(e + 8 * s + 4);
            if (off != pos)
                return NIPC_ERR_BAD_FIELD;
            nipc_error_t err = fl_string(it, ilen, 0, off, len);
            if (err != NIPC_OK)
                return err;
            pos = (uint64_t)off + len + 1u;
        }
    }
    return pos == ilen ? NIPC_OK : NIPC_ERR_BAD_FIELD;
}

/* A view string: inside the item, NUL-terminated, NUL-free, read. */
static inline void fl_check_str(const uint8_t *it, uint32_t ilen, nipc_str_t s)
{
    FUZZ_CHECK(fuzz_inside(it, ilen, s.ptr, (size_t)s.len + 1u));
    fuzz_touch(s.ptr, (size_t)s.len + 1u);
    FUZZ_CHECK(s.ptr[s.len] == 0);
    FUZZ_CHECK(s.len == 0 || memchr(s.ptr, 0, s.len) == NULL);
}

/* Every label of a decoded item, and the accessor's range check. */
static inline void fl_check_labels(const nipc_lookup_labels_t *l, const uint8_t *it, uint32_t ilen)
{
    FUZZ_CHECK(l->item == it);
    for (uint32_t j = 0; j < l->count; j++) {
        nipc_label_t lab;
        FUZZ_CHECK_ERR(nipc_lookup_label(l, j, &lab), NIPC_OK);
        fl_check_str(it, ilen, lab.key);
        fl_check_str(it, ilen, lab.value);
        FUZZ_CHECK(lab.key.len > 0);
    }
    nipc_label_t none;
    FUZZ_CHECK_ERR(nipc_lookup_label(l, l->count, &none), NIPC_ERR_INVALID_ARGUMENT);
}

static inline int fl_same_str(nipc_str_t a, nipc_str_t b)
{
    return a.len == b.len && (a.len == 0 || memcmp(a.ptr, b.ptr, a.len) == 0);
}

static inline int fl_same_labels(const nipc_lookup_labels_t *a, const nipc_lookup_labels_t *b)
{
    if (a->count != b->count)
        return 0;
    for (uint32_t j = 0; j < a->count; j++) {
        nipc_label_t x, y;
        if (nipc_lookup_label(a, j, &x) != NIPC_OK || nipc_lookup_label(b, j, &y) != NIPC_OK ||
            !fl_same_str(x.key, y.key) || !fl_same_str(x.value, y.value))
            return 0;
    }
    return 1;
}

/* A small deterministic mixer for deriving handler answers from input bytes. */
static inline uint32_t fl_mix(const uint8_t *data, size_t size)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < size; i++)
        h = (h ^ data[i]) * 16777619u;
    return h;
}

#endif
