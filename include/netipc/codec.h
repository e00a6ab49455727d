/*
 * netipc method payload codecs: INCREMENT (1), CGROUPS_SNAPSHOT (2) and
 * STRING_REVERSE (3). A payload is the bytes after the 32-byte outer header
 * (or one Level 1 batch item); codecs never see the header.
 *
 * Encoders and builders write into caller buffers and never allocate. When
 * a buffer is too small they return NIPC_ERR_BUFFER_TOO_SMALL and report the
 * exact number of bytes needed through the same out-parameter that receives
 * the encoded length on success. Decoders are zero-copy: views point into
 * the payload and live exactly as long as the caller keeps it unchanged.
 * All functions are thread-safe on distinct objects.
 */
#ifndef NETIPC_CODEC_H
#define NETIPC_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include "netipc/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A borrowed string: `len` bytes at `ptr`, followed by a NUL at ptr[len]. */
typedef struct nipc_str {
    const char *ptr;
    uint32_t len;
} nipc_str_t;

/* -------------------------------------------------------------- INCREMENT */

#define NIPC_INCREMENT_SIZE 8u

/* Request and response are one u64. *out_len = 8 (or needed). */
NIPC_API nipc_error_t nipc_increment_encode(uint64_t value, void *buf, size_t cap,
                                            size_t *out_len);

/* Needs >= 8 bytes (TRUNCATED otherwise); extra bytes are ignored. */
NIPC_API nipc_error_t nipc_increment_decode(const void *buf, size_t len, uint64_t *value);

/*
 * A whole Level 1 batch payload of `count` INCREMENT values (request or
 * response), in one pass: byte for byte what nipc_batch_builder_add() of
 * each nipc_increment_encode() gives (entry i = {8 i, 8}, value i at 8 i of
 * the packed area), without two calls and a copy per item. *out_len =
 * 16 * count, or the size needed. Errors: INVALID_ARGUMENT (values NULL
 * with count > 0), SIZE_OVERFLOW (beyond 4 GiB), BUFFER_TOO_SMALL.
 */
NIPC_API nipc_error_t nipc_increment_batch_encode(const uint64_t *values, uint32_t count,
                                                  void *buf, size_t cap, size_t *out_len);

/*
 * Decodes a Level 1 batch payload of `count` INCREMENT items into
 * values[0..count), in one pass. Every entry is checked, whether or not the
 * directory was validated before: the error is the one that
 * nipc_batch_item() and then nipc_increment_decode() give for the first
 * bad item (TRUNCATED: payload shorter than the directory or an item
 * shorter than 8 bytes; BAD_ALIGNMENT; OUT_OF_BOUNDS); INVALID_ARGUMENT
 * (payload NULL with len > 0, values NULL with count > 0). On error
 * values[] is unspecified.
 */
NIPC_API nipc_error_t nipc_increment_batch_decode(const void *payload, size_t len, uint32_t count,
                                                  uint64_t *values);

/* --------------------------------------------------------- STRING_REVERSE */

#define NIPC_STRING_REVERSE_FIXED 8u /* u32 offset (= 8) + u32 length */

/*
 * Encodes `len` bytes of `str` (interior NULs allowed) as
 * {offset 8, length, bytes, NUL}: 9 + len bytes. SIZE_OVERFLOW when that
 * exceeds UINT32_MAX.
 */
NIPC_API nipc_error_t nipc_string_reverse_encode(const char *str, uint32_t len, void *buf,
                                                 size_t cap, size_t *out_len);

/*
 * Errors: TRUNCATED (< 8 bytes), BAD_FIELD (offset != 8), OUT_OF_BOUNDS
 * (9 + length > len), MISSING_NUL. Trailing bytes are ignored.
 */
NIPC_API nipc_error_t nipc_string_reverse_decode(const void *buf, size_t len, nipc_str_t *out);

/* ------------------------------------------------------- CGROUPS_SNAPSHOT */

#define NIPC_CGROUPS_REQ_SIZE 4u
#define NIPC_CGROUPS_RESP_HEADER 24u
#define NIPC_CGROUPS_ITEM_FIXED 32u

/* The 4-byte request {layout_version 1, flags 0}. */
NIPC_API nipc_error_t nipc_cgroups_req_encode(void *buf, size_t cap, size_t *out_len);

/* Errors: TRUNCATED (< 4), BAD_LAYOUT, BAD_FLAGS. Extra bytes are ignored. */
NIPC_API nipc_error_t nipc_cgroups_req_decode(const void *buf, size_t len);

/*
 * Snapshot response builder. The caller announces the exact item count;
 * the directory is written in place, items are appended at 8-aligned packed
 * offsets with zero padding and no trailing padding.
 */
typedef struct nipc_cgroups_builder {
    uint8_t *buf;
    size_t cap;
    uint32_t item_count;
    uint32_t added;
    uint64_t packed_len; /* end of the last item, relative to the packed area */
    nipc_error_t err;    /* sticky */
} nipc_cgroups_builder_t;

/* Starts a response; buf may be NULL with cap 0 to only compute the size. */
NIPC_API void nipc_cgroups_builder_init(nipc_cgroups_builder_t *b, void *buf, size_t cap,
                                        uint32_t item_count, uint32_t systemd_enabled,
                                        uint64_t generation);

/*
 * Appends one item (name and path may contain any bytes except that each is
 * followed by its own NUL on the wire). Errors, sticky: BAD_ITEM_COUNT (too
 * many items), BUFFER_TOO_SMALL (keeps counting), SIZE_OVERFLOW.
 */
NIPC_API nipc_error_t nipc_cgroups_builder_add(nipc_cgroups_builder_t *b, uint32_t hash,
                                               uint32_t options, uint32_t enabled,
                                               const char *name, uint32_t name_len,
                                               const char *path, uint32_t path_len);

/*
 * Completes the response: *out_len = payload size, or the exact size needed
 * on BUFFER_TOO_SMALL. BAD_ITEM_COUNT if fewer items than announced.
 */
NIPC_API nipc_error_t nipc_cgroups_builder_finish(nipc_cgroups_builder_t *b, size_t *out_len);

/* Zero-copy view of a snapshot response. */
typedef struct nipc_cgroups_view {
    const uint8_t *payload;
    size_t len;
    uint32_t item_count;
    uint32_t systemd_enabled;
    uint64_t generation;
} nipc_cgroups_view_t;

typedef struct nipc_cgroup_item {
    uint32_t hash;
    uint32_t options;
    uint32_t enabled;
    nipc_str_t name;
    nipc_str_t path;
} nipc_cgroup_item_t;

/*
 * Validates the response header and directory. Errors: TRUNCATED (< 24 or
 * directory beyond the payload), BAD_LAYOUT, BAD_FLAGS, BAD_RESERVED,
 * BAD_ALIGNMENT, OUT_OF_BOUNDS, BAD_FIELD (an entry shorter than 32 bytes).
 */
NIPC_API nipc_error_t nipc_cgroups_resp_decode(const void *buf, size_t len,
                                               nipc_cgroups_view_t *view);

/*
 * Item `index` of a decoded view; strings borrow from the payload.
 * Errors: INVALID_ARGUMENT (index), BAD_LAYOUT, BAD_FLAGS, OUT_OF_BOUNDS
 * (string offset < 32 or past the item), MISSING_NUL, OVERLAP (name and
 * path ranges, NULs included, overlap).
 */
NIPC_API nipc_error_t nipc_cgroups_resp_item(const nipc_cgroups_view_t *view, uint32_t index,
                                             nipc_cgroup_item_t *item);

/* djb2 over `len` bytes (h = h * 33 + c from 5381, u32 wrap): the hash upstream tests use. */
NIPC_API uint32_t nipc_djb2(const char *s, size_t len);

#ifdef __cplusplus
}
#endif

#endif
