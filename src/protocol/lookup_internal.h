/*
 * Pieces shared by the CGROUPS_LOOKUP and APPS_LOOKUP codecs
 * (lookup_common.c): the common header and directory check, the string and
 * label-table rules of decoders, canonical item writing and the response
 * builder core with the server-side reply policy of codecs.md §4. The
 * method files only know their own fixed fields and status rules.
 */
#ifndef NETIPC_PROTOCOL_LOOKUP_INTERNAL_H
#define NETIPC_PROTOCOL_LOOKUP_INTERNAL_H

#include "netipc/lookup.h"

#include "common/internal.h"

/* Packed area offset of a lookup message with n directory entries. */
static inline uint64_t nipc__lookup_packed_start(uint32_t n)
{
    return NIPC_LOOKUP_HEADER_SIZE + (uint64_t)n * 8u;
}

/* Directory entry i of a validated message. */
static inline void nipc__lookup_entry(const uint8_t *payload, uint32_t i, uint32_t *off,
                                      uint32_t *len)
{
    const uint8_t *e = payload + NIPC_LOOKUP_HEADER_SIZE + (size_t)i * 8u;
    *off = nipc__ld32(e);
    *len = nipc__ld32(e + 4);
}

/* Start of entry i's bytes in a validated message. */
static inline const uint8_t *nipc__lookup_at(const uint8_t *payload, uint32_t n, uint32_t off)
{
    return payload + nipc__lookup_packed_start(n) + off;
}

/*
 * Header of a request (reserved words checked) or a response (generation
 * returned): TRUNCATED, BAD_LAYOUT, BAD_FLAGS, BAD_RESERVED. Then the
 * directory: TRUNCATED, SIZE_OVERFLOW, and per entry in order
 * BAD_ALIGNMENT, BAD_FIELD (length outside [min_len, max_len]),
 * OUT_OF_BOUNDS, OVERLAP.
 */
nipc_error_t nipc__lookup_check_request_header(const uint8_t *p, size_t len, uint32_t *n);
nipc_error_t nipc__lookup_check_response_header(const uint8_t *p, size_t len, uint32_t *n,
                                                uint64_t *generation);
nipc_error_t nipc__lookup_check_directory(const uint8_t *p, size_t len, uint32_t n,
                                          uint32_t min_len, uint32_t max_len);

/*
 * A response string at it[off .. off + len] (NUL included) inside an item
 * of item_len bytes whose fixed part is `fixed` bytes: OUT_OF_BOUNDS,
 * MISSING_NUL, EMBEDDED_NUL.
 */
nipc_error_t nipc__lookup_check_string(const uint8_t *it, uint32_t item_len, uint32_t fixed,
                                       uint32_t off, uint32_t len, nipc_str_t *out);

/* 1 when [a_off, a_off + a_len] and [b_off, b_off + b_len] share a byte. */
static inline int nipc__lookup_overlap(uint32_t a_off, uint32_t a_len, uint32_t b_off,
                                       uint32_t b_len)
{
    return (uint64_t)a_off <= (uint64_t)b_off + b_len && (uint64_t)b_off <= (uint64_t)a_off + a_len;
}

/*
 * The label table after the fixed strings, which end at `fixed_end` (NUL
 * included): with no labels the item must end there (BAD_FIELD); else zero
 * padding (BAD_RESERVED) up to the table at align8(fixed_end), the table
 * inside the item (OUT_OF_BOUNDS), keys non-empty (BAD_FIELD), each string
 * exactly where the previous one's NUL ends (BAD_FIELD), string rules, and
 * the item ending right after the last value's NUL (BAD_FIELD).
 */
nipc_error_t nipc__lookup_check_labels(const uint8_t *it, uint32_t item_len, uint64_t fixed_end,
                                       uint16_t count, nipc_lookup_labels_t *out);

/* ----------------------------------------------------------------- builders */

/*
 * What a method hands the common writer for one item: its fixed part with
 * every numeric field set, the fixed strings in canonical order with the
 * positions of their (offset, length) pairs in the fixed part, and the
 * labels (an array, or a decoded item's table when `labels` is NULL).
 */
typedef struct nipc__lookup_item_spec {
    uint8_t fixed[NIPC_APPS_LOOKUP_ITEM_FIXED];
    uint32_t fixed_len;
    uint32_t nstrings;
    nipc_str_t strings[3];
    uint32_t pair_at[3];
    uint32_t label_count_at; /* position of the u16 label_count */
    uint16_t label_count;
    const nipc_label_t *labels;
    const nipc_lookup_labels_t *decoded;
} nipc__lookup_item_spec_t;

/* Validates the spec's strings and labels (EMBEDDED_NUL, BAD_FIELD for an
 * empty label key, INVALID_ARGUMENT for NULL data) and returns the
 * canonical item length (SIZE_OVERFLOW beyond 4 GiB). */
nipc_error_t nipc__lookup_item_size(const nipc__lookup_item_spec_t *spec, uint64_t *len);

/* 1 when `s` contains a NUL byte. */
int nipc__lookup_has_nul(nipc_str_t s);

void nipc__lookup_core_init(nipc_lookup_builder_core_t *c, void *buf, size_t cap, uint32_t n,
                            uint64_t generation);

/* Reply mode: `suffix0` = bytes of minimal items for every key, each but the
 * last rounded up to 8 (codecs.md §4 suffix[0]). */
void nipc__lookup_core_init_reply(nipc_lookup_builder_core_t *c, void *buf, size_t cap, uint32_t n,
                                  uint64_t generation, uint64_t suffix0);

void nipc__lookup_core_set_generation(nipc_lookup_builder_core_t *c, uint64_t generation);

/* Whether another item may be added: the sticky error, BAD_ITEM_COUNT
 * (plain) or overflow (reply) past N items. */
nipc_error_t nipc__lookup_core_can_add(nipc_lookup_builder_core_t *c);

/* Records a sticky error and returns it. */
nipc_error_t nipc__lookup_core_fail(nipc_lookup_builder_core_t *c, nipc_error_t err);

/*
 * Reply mode: 1 when an item of `len` bytes fits as the next item while
 * keeping room for minimal items for the keys after it; `key_min` is the
 * minimal item size of the current key.
 */
int nipc__lookup_core_fits(const nipc_lookup_builder_core_t *c, uint64_t len, uint64_t key_min);

/*
 * Appends the item described by `spec` (`len` from nipc__lookup_item_size).
 * Plain mode: BUFFER_TOO_SMALL keeps counting. Reply mode: only called
 * when it fits; `key_min` advances the reservation.
 */
nipc_error_t nipc__lookup_core_append(nipc_lookup_builder_core_t *c,
                                      const nipc__lookup_item_spec_t *spec, uint64_t len,
                                      uint64_t key_min);

nipc_error_t nipc__lookup_core_finish(nipc_lookup_builder_core_t *c, size_t *out_len);

/* ------------------------------------------------------- for Level 2 */

/* Largest k <= n such that the request for paths[0..k) encodes in <= cap
 * bytes (the paths must be valid keys); *size = that request's length. */
uint32_t nipc__cgroups_lookup_req_prefix(const nipc_str_t *paths, uint32_t n, uint64_t cap,
                                         uint64_t *size);

#endif
