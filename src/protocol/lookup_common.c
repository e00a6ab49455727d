/*
 * Lookup codec core shared by CGROUPS_LOOKUP and APPS_LOOKUP (codecs.md §4):
 * the 16-byte headers, the ordered directory check, response string and
 * label-table rules, canonical item writing (fixed part, strings with their
 * NULs, zero padding, label table, label strings) and the response builder
 * with the server-side reply policy (suffix reservation and replacement
 * items). It knows nothing about either method's fixed fields or statuses.
 */
#include "protocol/lookup_internal.h"

#include "netipc/protocol.h"

/* ----------------------------------------------------------------- names */

static const char *name_of(const char *const *names, size_t n, uint16_t v)
{
    return v < n ? names[v] : "?";
}

#define NAMES(a) (a), sizeof(a) / sizeof((a)[0])

const char *nipc_cgroup_lookup_status_name(uint16_t status)
{
    static const char *const names[] = {"KNOWN", "UNKNOWN_RETRY_LATER", "UNKNOWN_PERMANENT",
                                        "PAYLOAD_EXCEEDED", "OVERSIZED_ITEM"};
    return name_of(NAMES(names), status);
}

const char *nipc_app_status_name(uint16_t status)
{
    static const char *const names[] = {"KNOWN", "UNKNOWN", "PAYLOAD_EXCEEDED", "OVERSIZED_ITEM"};
    return name_of(NAMES(names), status);
}

const char *nipc_app_cgroup_status_name(uint16_t status)
{
    static const char *const names[] = {"KNOWN", "UNKNOWN_RETRY_LATER", "UNKNOWN_PERMANENT",
                                        "HOST_ROOT"};
    return name_of(NAMES(names), status);
}

const char *nipc_orchestrator_name(uint16_t orchestrator)
{
    static const char *const names[] = {"UNKNOWN", "SYSTEMD", "DOCKER", "K8S",
                                        "KVM",     "LXC",     "PODMAN", "NSPAWN"};
    return name_of(NAMES(names), orchestrator);
}

/* --------------------------------------------------------------- decoding */

static nipc_error_t check_header_start(const uint8_t *p, size_t len)
{
    if (!p || len < NIPC_LOOKUP_HEADER_SIZE)
        return NIPC_ERR_TRUNCATED;
    if (nipc__ld16(p) != NIPC_LAYOUT_VERSION)
        return NIPC_ERR_BAD_LAYOUT;
    if (nipc__ld16(p + 2) != 0)
        return NIPC_ERR_BAD_FLAGS;
    return NIPC_OK;
}

nipc_error_t nipc__lookup_check_request_header(const uint8_t *p, size_t len, uint32_t *n)
{
    nipc_error_t err = check_header_start(p, len);
    if (err != NIPC_OK)
        return err;
    if (nipc__ld32(p + 8) != 0 || nipc__ld32(p + 12) != 0)
        return NIPC_ERR_BAD_RESERVED;
    *n = nipc__ld32(p + 4);
    return NIPC_OK;
}

nipc_error_t nipc__lookup_check_response_header(const uint8_t *p, size_t len, uint32_t *n,
                                                uint64_t *generation)
{
    nipc_error_t err = check_header_start(p, len);
    if (err != NIPC_OK)
        return err;
    *n = nipc__ld32(p + 4);
    *generation = nipc__ld64(p + 8); /* any value, 0 included */
    return NIPC_OK;
}

nipc_error_t nipc__lookup_check_directory(const uint8_t *p, size_t len, uint32_t n,
                                          uint32_t min_len, uint32_t max_len)
{
    uint64_t start = nipc__lookup_packed_start(n);
    if (start > len)
        return NIPC_ERR_TRUNCATED;
    uint64_t packed_len = len - start;
    if (packed_len > UINT32_MAX)
        return NIPC_ERR_SIZE_OVERFLOW;
    uint64_t prev_end = 0;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t off, elen;
        nipc__lookup_entry(p, i, &off, &elen);
        if (off % 8u != 0)
            return NIPC_ERR_BAD_ALIGNMENT;
        if (elen < min_len || elen > max_len)
            return NIPC_ERR_BAD_FIELD;
        if ((uint64_t)off + elen > packed_len)
            return NIPC_ERR_OUT_OF_BOUNDS;
        if (i > 0 && off < prev_end)
            return NIPC_ERR_OVERLAP;
        prev_end = (uint64_t)off + elen;
    }
    return NIPC_OK;
}

int nipc__lookup_has_nul(nipc_str_t s)
{
    return s.len && memchr(s.ptr, 0, s.len) != NULL;
}

nipc_error_t nipc__lookup_check_string(const uint8_t *it, uint32_t item_len, uint32_t fixed,
                                       uint32_t off, uint32_t len, nipc_str_t *out)
{
    if (off < fixed || (uint64_t)off + len + 1u > item_len)
        return NIPC_ERR_OUT_OF_BOUNDS;
    if (it[(size_t)off + len] != 0)
        return NIPC_ERR_MISSING_NUL;
    nipc_str_t s = {(const char *)it + off, len};
    if (nipc__lookup_has_nul(s))
        return NIPC_ERR_EMBEDDED_NUL;
    *out = s;
    return NIPC_OK;
}

/* A label string must start exactly at *pos; *pos moves past its NUL. */
static nipc_error_t label_string(const uint8_t *it, uint32_t item_len, uint64_t *pos, uint32_t off,
                                 uint32_t len)
{
    if (off != *pos)
        return NIPC_ERR_BAD_FIELD;
    nipc_str_t s;
    nipc_error_t err = nipc__lookup_check_string(it, item_len, 0, off, len, &s);
    if (err == NIPC_OK)
        *pos = (uint64_t)off + len + 1u;
    return err;
}

nipc_error_t nipc__lookup_check_labels(const uint8_t *it, uint32_t item_len, uint64_t fixed_end,
                                       uint16_t count, nipc_lookup_labels_t *out)
{
    out->item = it;
    out->count = count;
    out->table = 0;
    if (count == 0)
        return fixed_end == item_len ? NIPC_OK : NIPC_ERR_BAD_FIELD;

    uint64_t table = nipc__align8(fixed_end);
    uint64_t pos = table + (uint64_t)count * NIPC_LOOKUP_LABEL_ENTRY_SIZE;
    if (pos > item_len)
        return NIPC_ERR_OUT_OF_BOUNDS;
    for (uint64_t i = fixed_end; i < table; i++)
        if (it[i] != 0)
            return NIPC_ERR_BAD_RESERVED;
    for (uint16_t j = 0; j < count; j++) {
        const uint8_t *e = it + table + (size_t)j * NIPC_LOOKUP_LABEL_ENTRY_SIZE;
        if (nipc__ld32(e + 4) == 0)
            return NIPC_ERR_BAD_FIELD; /* empty key */
        nipc_error_t err = label_string(it, item_len, &pos, nipc__ld32(e), nipc__ld32(e + 4));
        if (err == NIPC_OK)
            err = label_string(it, item_len, &pos, nipc__ld32(e + 8), nipc__ld32(e + 12));
        if (err != NIPC_OK)
            return err;
    }
    if (pos != item_len)
        return NIPC_ERR_BAD_FIELD; /* bytes after the last value */
    out->table = (uint32_t)table;
    return NIPC_OK;
}

nipc_error_t nipc_lookup_label(const nipc_lookup_labels_t *labels, uint32_t index,
                               nipc_label_t *out)
{
    if (!labels || !out || index >= labels->count || !labels->item)
        return NIPC_ERR_INVALID_ARGUMENT;
    /* Validated by the decoder: offsets are trusted from here. */
    const uint8_t *e = labels->item + labels->table + (size_t)index * NIPC_LOOKUP_LABEL_ENTRY_SIZE;
    out->key.ptr = (const char *)labels->item + nipc__ld32(e);
    out->key.len = nipc__ld32(e + 4);
    out->value.ptr = (const char *)labels->item + nipc__ld32(e + 8);
    out->value.len = nipc__ld32(e + 12);
    return NIPC_OK;
}

/* ---------------------------------------------------------- item writing */

static nipc_error_t spec_label(const nipc__lookup_item_spec_t *spec, uint16_t j, nipc_label_t *l)
{
    if (spec->labels) {
        *l = spec->labels[j];
        return NIPC_OK;
    }
    return nipc_lookup_label(spec->decoded, j, l);
}

static int str_ok(nipc_str_t s)
{
    return s.len == 0 || s.ptr != NULL;
}

/* Canonical end of the fixed strings (NULs included). */
static uint64_t fixed_end(const nipc__lookup_item_spec_t *spec)
{
    uint64_t end = spec->fixed_len;
    for (uint32_t i = 0; i < spec->nstrings; i++)
        end += (uint64_t)spec->strings[i].len + 1u;
    return end;
}

nipc_error_t nipc__lookup_item_size(const nipc__lookup_item_spec_t *spec, uint64_t *len)
{
    for (uint32_t i = 0; i < spec->nstrings; i++) {
        if (!str_ok(spec->strings[i]))
            return NIPC_ERR_INVALID_ARGUMENT;
        if (nipc__lookup_has_nul(spec->strings[i]))
            return NIPC_ERR_EMBEDDED_NUL;
    }
    uint64_t end = fixed_end(spec);
    if (spec->label_count) {
        if (!spec->labels && (!spec->decoded || spec->decoded->count < spec->label_count))
            return NIPC_ERR_INVALID_ARGUMENT;
        end = nipc__align8(end) + (uint64_t)spec->label_count * NIPC_LOOKUP_LABEL_ENTRY_SIZE;
        for (uint16_t j = 0; j < spec->label_count; j++) {
            nipc_label_t l;
            nipc_error_t err = spec_label(spec, j, &l);
            if (err != NIPC_OK)
                return err;
            if (!str_ok(l.key) || !str_ok(l.value))
                return NIPC_ERR_INVALID_ARGUMENT;
            if (l.key.len == 0)
                return NIPC_ERR_BAD_FIELD;
            if (nipc__lookup_has_nul(l.key) || nipc__lookup_has_nul(l.value))
                return NIPC_ERR_EMBEDDED_NUL;
            end += (uint64_t)l.key.len + l.value.len + 2u; /* < 2^34 per label */
        }
    }
    if (end > UINT32_MAX)
        return NIPC_ERR_SIZE_OVERFLOW;
    *len = end;
    return NIPC_OK;
}

/* Writes a string and its NUL at it + pos; returns the position after the NUL. */
static uint32_t put_string(uint8_t *it, uint32_t pos, nipc_str_t s)
{
    if (s.len)
        memcpy(it + pos, s.ptr, s.len);
    it[pos + s.len] = 0;
    return pos + s.len + 1u;
}

/* Writes the whole canonical item (validated and sized by nipc__lookup_item_size). */
static void write_item(uint8_t *it, const nipc__lookup_item_spec_t *spec)
{
    memcpy(it, spec->fixed, spec->fixed_len);
    uint32_t pos = spec->fixed_len;
    for (uint32_t i = 0; i < spec->nstrings; i++) {
        nipc__st32(it + spec->pair_at[i], pos);
        nipc__st32(it + spec->pair_at[i] + 4, spec->strings[i].len);
        pos = put_string(it, pos, spec->strings[i]);
    }
    nipc__st16(it + spec->label_count_at, spec->label_count);
    if (!spec->label_count)
        return;
    uint32_t table = (uint32_t)nipc__align8(pos);
    memset(it + pos, 0, table - pos);
    pos = table + (uint32_t)spec->label_count * NIPC_LOOKUP_LABEL_ENTRY_SIZE;
    for (uint16_t j = 0; j < spec->label_count; j++) {
        uint8_t *e = it + table + (size_t)j * NIPC_LOOKUP_LABEL_ENTRY_SIZE;
        nipc_label_t l;
        spec_label(spec, j, &l); /* cannot fail: checked when sized */
        nipc__st32(e, pos);
        nipc__st32(e + 4, l.key.len);
        pos = put_string(it, pos, l.key);
        nipc__st32(e + 8, pos);
        nipc__st32(e + 12, l.value.len);
        pos = put_string(it, pos, l.value);
    }
}

/* --------------------------------------------------------- builder core */

static void write_header(nipc_lookup_builder_core_t *c, uint64_t generation)
{
    uint8_t *p = c->buf;
    nipc__st16(p, NIPC_LAYOUT_VERSION);
    nipc__st16(p + 2, 0);
    nipc__st32(p + 4, c->item_count);
    nipc__st64(p + 8, generation);
}

void nipc__lookup_core_init(nipc_lookup_builder_core_t *c, void *buf, size_t cap, uint32_t n,
                            uint64_t generation)
{
    memset(c, 0, sizeof *c);
    c->buf = buf;
    c->cap = buf ? cap : 0;
    c->item_count = n;
    uint64_t start = nipc__lookup_packed_start(n);
    if (start > UINT32_MAX)
        c->err = NIPC_ERR_SIZE_OVERFLOW;
    else if (start > c->cap)
        c->err = NIPC_ERR_BUFFER_TOO_SMALL;
    else
        write_header(c, generation);
}

void nipc__lookup_core_init_reply(nipc_lookup_builder_core_t *c, void *buf, size_t cap, uint32_t n,
                                  uint64_t generation, uint64_t suffix0)
{
    nipc__lookup_core_init(c, buf, cap, n, generation);
    c->reply = 1;
    c->suffix = suffix0;
    c->min_total = nipc__lookup_packed_start(n) + suffix0;
    /* Not even every key as a minimal item fits: nothing this builder can
     * produce would, so it is an overflow from the start. */
    if (c->err == NIPC_OK && c->min_total > c->cap)
        c->err = NIPC_ERR_BUFFER_TOO_SMALL;
}

void nipc__lookup_core_set_generation(nipc_lookup_builder_core_t *c, uint64_t generation)
{
    if (c->buf && nipc__lookup_packed_start(c->item_count) <= c->cap)
        nipc__st64(c->buf + 8, generation);
}

nipc_error_t nipc__lookup_core_fail(nipc_lookup_builder_core_t *c, nipc_error_t err)
{
    return c->err = err;
}

nipc_error_t nipc__lookup_core_can_add(nipc_lookup_builder_core_t *c)
{
    /* Plain mode keeps counting after BUFFER_TOO_SMALL; in reply mode it is
     * an overflow and ends the build. */
    if (c->err != NIPC_OK && (c->reply || c->err != NIPC_ERR_BUFFER_TOO_SMALL))
        return c->err;
    if (c->added >= c->item_count)
        return c->err = c->reply ? NIPC_ERR_BUFFER_TOO_SMALL : NIPC_ERR_BAD_ITEM_COUNT;
    return NIPC_OK;
}

static uint64_t next_offset(const nipc_lookup_builder_core_t *c)
{
    return c->added ? nipc__align8(c->packed_len) : 0;
}

/* Bytes a minimal item for the current key takes in the suffix: rounded up
 * to 8 unless it is the last item (no trailing padding). */
static uint64_t suffix_slot(const nipc_lookup_builder_core_t *c, uint64_t key_min)
{
    return c->added + 1u < c->item_count ? nipc__align8(key_min) : key_min;
}

int nipc__lookup_core_fits(const nipc_lookup_builder_core_t *c, uint64_t len, uint64_t key_min)
{
    uint64_t end = nipc__lookup_packed_start(c->item_count) + next_offset(c) + len;
    if (end > c->cap)
        return 0;
    if (c->added + 1u == c->item_count)
        return 1; /* the last item: no tail to keep room for, no padding after it */
    uint64_t rest = c->suffix - suffix_slot(c, key_min); /* suffix[k + 1] */
    return nipc__align8(end) + rest <= c->cap;
}

nipc_error_t nipc__lookup_core_append(nipc_lookup_builder_core_t *c,
                                      const nipc__lookup_item_spec_t *spec, uint64_t len,
                                      uint64_t key_min)
{
    uint64_t start = nipc__lookup_packed_start(c->item_count);
    uint64_t off = next_offset(c);
    uint64_t end = off + len;
    if (start + end > UINT32_MAX)
        return c->err = NIPC_ERR_SIZE_OVERFLOW;
    if (c->err == NIPC_OK && start + end <= c->cap) {
        uint8_t *packed = c->buf + start;
        uint8_t *entry = c->buf + NIPC_LOOKUP_HEADER_SIZE + (size_t)c->added * 8u;
        memset(packed + c->packed_len, 0, (size_t)(off - c->packed_len)); /* gap */
        nipc__st32(entry, (uint32_t)off);
        nipc__st32(entry + 4, (uint32_t)len);
        write_item(packed + off, spec);
    } else {
        c->err = NIPC_ERR_BUFFER_TOO_SMALL;
    }
    if (c->reply)
        c->suffix -= suffix_slot(c, key_min);
    c->packed_len = end;
    c->added++;
    return c->err;
}

nipc_error_t nipc__lookup_core_finish(nipc_lookup_builder_core_t *c, size_t *out_len)
{
    if (c->reply && c->err == NIPC_ERR_BUFFER_TOO_SMALL) {
        *out_len = (size_t)c->min_total;
        return c->err;
    }
    if (c->err != NIPC_OK && c->err != NIPC_ERR_BUFFER_TOO_SMALL)
        return c->err;
    if (c->added != c->item_count)
        return c->err = NIPC_ERR_BAD_ITEM_COUNT;
    uint64_t total = nipc__lookup_packed_start(c->item_count) + c->packed_len;
    *out_len = (size_t)total;
    if (total > c->cap)
        return c->err = NIPC_ERR_BUFFER_TOO_SMALL;
    return NIPC_OK;
}
