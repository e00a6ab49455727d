/*
 * netipc lookup codecs: CGROUPS_LOOKUP (method 4, service "cgroups-lookup")
 * and APPS_LOOKUP (method 5, service "apps-lookup"), codecs.md sections 4-6.
 *
 * A lookup request carries N ordered keys (cgroup paths, or PIDs); the
 * response carries exactly N items, item i answering key i, plus the
 * provider's data generation. Both directions are single messages with a
 * method-internal directory (never Level 1 batches).
 *
 * Same conventions as codec.h: encoders and builders write into caller
 * buffers and never allocate; on BUFFER_TOO_SMALL they report the bytes
 * needed through the length out-parameter. Decoders validate the whole
 * message (header, directory, every key or item, every label) before they
 * return a view, so the accessors below can only fail on an index; views
 * borrow the payload and live exactly as long as the caller keeps it.
 * All functions are thread-safe on distinct objects.
 *
 * Response builders work in two modes:
 *  - plain (…_builder_init): writes exactly the items it is given, any
 *    status, byte for byte canonical (reference vectors, re-encoding);
 *  - reply (…_builder_init_reply): the server-side policy of codecs.md §4.
 *    It knows the request, keeps room for a PAYLOAD_EXCEEDED tail for every
 *    key not answered yet, and replaces an item that does not fit: the first
 *    by OVERSIZED_ITEM, a later one by PAYLOAD_EXCEEDED, after which every
 *    remaining item is PAYLOAD_EXCEEDED whatever the handler passes.
 *    Replacements echo the request key. Handlers can ignore the return
 *    value of add(); finish() reports the outcome.
 * Argument errors (unknown status, a field the status forbids, a NUL
 * inside a string, an empty label key, a key that is not the request's)
 * are sticky: every later call returns the same error.
 */
#ifndef NETIPC_LOOKUP_H
#define NETIPC_LOOKUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "netipc/codec.h"
#include "netipc/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Fixed sizes (no C struct tail padding on the wire: never use sizeof). */
#define NIPC_LOOKUP_HEADER_SIZE 16u /* request and response header */
/* A label table entry: {key_offset, key_length, value_offset, value_length}. */
#define NIPC_LOOKUP_LABEL_ENTRY_SIZE 16u
#define NIPC_CGROUPS_LOOKUP_ITEM_FIXED 28u
#define NIPC_APPS_LOOKUP_ITEM_FIXED 60u
#define NIPC_APPS_LOOKUP_KEY_SIZE 8u /* {u32 pid, u32 reserved} */
#define NIPC_APPS_COMM_MAX 15u
#define NIPC_UID_UNSET 0xFFFFFFFFu
/* Minimal (replacement) item sizes. */
#define NIPC_CGROUPS_LOOKUP_MIN_ITEM(path_len) (30u + (path_len))
#define NIPC_APPS_LOOKUP_MIN_ITEM 63u

/* Shared orchestrator values; raw u16 on the wire, unknown values are kept. */
enum nipc_orchestrator {
    NIPC_ORCH_UNKNOWN = 0,
    NIPC_ORCH_SYSTEMD = 1,
    NIPC_ORCH_DOCKER = 2,
    NIPC_ORCH_K8S = 3,
    NIPC_ORCH_KVM = 4,
    NIPC_ORCH_LXC = 5,
    NIPC_ORCH_PODMAN = 6,
    NIPC_ORCH_NSPAWN = 7,
};

/* CGROUPS_LOOKUP item status. */
enum nipc_cgroup_lookup_status {
    NIPC_CGROUP_KNOWN = 0,
    NIPC_CGROUP_UNKNOWN_RETRY_LATER = 1,
    NIPC_CGROUP_UNKNOWN_PERMANENT = 2,
    NIPC_CGROUP_PAYLOAD_EXCEEDED = 3, /* never reaches callers of the Level 2 call */
    NIPC_CGROUP_OVERSIZED_ITEM = 4,   /* final: the answer can never fit */
};

/* APPS_LOOKUP pid status. */
enum nipc_app_status {
    NIPC_APP_KNOWN = 0,
    NIPC_APP_UNKNOWN = 1,
    NIPC_APP_PAYLOAD_EXCEEDED = 2, /* never reaches callers of the Level 2 call */
    NIPC_APP_OVERSIZED_ITEM = 3,   /* final: the answer can never fit */
};

/* APPS_LOOKUP cgroup status (meaningful when the pid status is KNOWN). */
enum nipc_app_cgroup_status {
    NIPC_APP_CGROUP_KNOWN = 0,
    NIPC_APP_CGROUP_UNKNOWN_RETRY_LATER = 1,
    NIPC_APP_CGROUP_UNKNOWN_PERMANENT = 2,
    NIPC_APP_CGROUP_HOST_ROOT = 3,
};

/* Name of a status or orchestrator value ("KNOWN", "DOCKER"); static
 * storage; "?" for values outside the enum. */
NIPC_API const char *nipc_cgroup_lookup_status_name(uint16_t status);
NIPC_API const char *nipc_app_status_name(uint16_t status);
NIPC_API const char *nipc_app_cgroup_status_name(uint16_t status);
NIPC_API const char *nipc_orchestrator_name(uint16_t orchestrator);

/* One label: a non-empty key and a (possibly empty) value, NUL-free. */
typedef struct nipc_label {
    nipc_str_t key;
    nipc_str_t value;
} nipc_label_t;

/* Where the labels of a decoded item are; read them with nipc_lookup_label(). */
typedef struct nipc_lookup_labels {
    const uint8_t *item; /* start of the item (label offsets are relative to it) */
    uint32_t table;      /* offset of the label table in the item */
    uint16_t count;
} nipc_lookup_labels_t;

/* Label `index` (0 .. count-1) of a decoded item, in wire order. Strings
 * borrow the payload. Errors: INVALID_ARGUMENT (index). */
NIPC_API nipc_error_t nipc_lookup_label(const nipc_lookup_labels_t *labels, uint32_t index,
                                        nipc_label_t *out);

/* Internal state shared by both builders; treat as opaque. */
typedef struct nipc_lookup_builder_core {
    uint8_t *buf;
    size_t cap;
    uint32_t item_count;
    uint32_t added;
    uint64_t packed_len; /* end of the last item, relative to the packed area */
    uint64_t suffix;     /* reply mode: bytes of minimal items for keys added .. N-1 */
    uint64_t min_total;  /* reply mode: smallest response the policy can produce */
    int reply;           /* reply mode (server policy) */
    int exceeded;        /* reply mode: PAYLOAD_EXCEEDED suffix mode */
    nipc_error_t err;    /* sticky */
} nipc_lookup_builder_core_t;

/* ========================================================= CGROUPS_LOOKUP */

/*
 * Request: each path is one key (path bytes + NUL on the wire, 8-aligned).
 * Paths are opaque keys, never resolved as files. *out_len = encoded size,
 * or the size needed on BUFFER_TOO_SMALL (buf may be NULL with cap 0).
 * Errors: INVALID_ARGUMENT (paths NULL with n > 0), BAD_FIELD (an empty
 * path), EMBEDDED_NUL (a NUL inside a path), SIZE_OVERFLOW (> 4 GiB).
 */
NIPC_API nipc_error_t nipc_cgroups_lookup_req_encode(const nipc_str_t *paths, uint32_t n, void *buf,
                                                     size_t cap, size_t *out_len);

/* A decoded request; keys are read with nipc_cgroups_lookup_req_key(). */
typedef struct nipc_cgroups_lookup_req {
    const uint8_t *payload;
    size_t len;
    uint32_t item_count;
} nipc_cgroups_lookup_req_t;

/*
 * Validates a whole request. Errors: TRUNCATED (< 16 bytes, directory past
 * the payload), BAD_LAYOUT, BAD_FLAGS, BAD_RESERVED, SIZE_OVERFLOW (packed
 * area >= 4 GiB), BAD_ALIGNMENT, BAD_FIELD (entry length < 2),
 * OUT_OF_BOUNDS, OVERLAP (entries out of order or overlapping),
 * MISSING_NUL (last byte of a key), EMBEDDED_NUL. Trailing bytes and the
 * padding between keys are not checked.
 */
NIPC_API nipc_error_t nipc_cgroups_lookup_req_decode(const void *buf, size_t len,
                                                     nipc_cgroups_lookup_req_t *out);

/* Key `index` (the path, without its NUL). Errors: INVALID_ARGUMENT (index). */
NIPC_API nipc_error_t nipc_cgroups_lookup_req_key(const nipc_cgroups_lookup_req_t *req,
                                                  uint32_t index, nipc_str_t *path);

/* One response item. Builders ignore `labels.item` / `labels.table` and read
 * `labels.count` labels from their `labels` argument. */
typedef struct nipc_cgroups_lookup_item {
    uint16_t status;             /* enum nipc_cgroup_lookup_status */
    uint16_t orchestrator;       /* enum nipc_orchestrator (raw); 0 unless KNOWN */
    nipc_str_t path;             /* the key, echoed; never empty */
    nipc_str_t name;             /* empty unless KNOWN */
    nipc_lookup_labels_t labels; /* count 0 unless KNOWN */
} nipc_cgroups_lookup_item_t;

/* A decoded response (also what the Level 2 call returns). */
typedef struct nipc_cgroups_lookup_view {
    const uint8_t *payload;
    size_t len;
    uint32_t item_count;
    uint64_t generation;
} nipc_cgroups_lookup_view_t;

/*
 * Validates a whole response: header, directory (order, no overlap,
 * entries >= 28 bytes) and every item (status, reserved fields, strings,
 * status-dependent fields, label table). Errors: TRUNCATED, BAD_LAYOUT,
 * BAD_FLAGS, SIZE_OVERFLOW, BAD_ALIGNMENT, OUT_OF_BOUNDS, OVERLAP,
 * BAD_FIELD, BAD_STATUS, BAD_RESERVED, MISSING_NUL, EMBEDDED_NUL.
 */
NIPC_API nipc_error_t nipc_cgroups_lookup_resp_decode(const void *buf, size_t len,
                                                      nipc_cgroups_lookup_view_t *out);

/* Item `index` of a decoded response. Errors: INVALID_ARGUMENT (index). */
NIPC_API nipc_error_t nipc_cgroups_lookup_resp_item(const nipc_cgroups_lookup_view_t *view,
                                                    uint32_t index,
                                                    nipc_cgroups_lookup_item_t *out);

typedef struct nipc_cgroups_lookup_builder {
    nipc_lookup_builder_core_t core;
    const nipc_cgroups_lookup_req_t *req; /* reply mode; must outlive the builder */
} nipc_cgroups_lookup_builder_t;

/* Plain builder for exactly `item_count` items; buf may be NULL with cap 0
 * to compute the size. Errors surface in add() and finish(). */
NIPC_API void nipc_cgroups_lookup_builder_init(nipc_cgroups_lookup_builder_t *b, void *buf,
                                               size_t cap, uint32_t item_count,
                                               uint64_t generation);

/* Reply builder for `req` within buf[0..cap) (the server's response budget). */
NIPC_API void nipc_cgroups_lookup_builder_init_reply(nipc_cgroups_lookup_builder_t *b, void *buf,
                                                     size_t cap,
                                                     const nipc_cgroups_lookup_req_t *req,
                                                     uint64_t generation);

/* Sets the response generation (any time before finish). */
NIPC_API void nipc_cgroups_lookup_builder_set_generation(nipc_cgroups_lookup_builder_t *b,
                                                         uint64_t generation);

/*
 * Appends the next item with `item->labels.count` labels from `labels`; with
 * labels NULL they are copied from the decoded item's own label table (to
 * re-encode a decoded item). Rules: status in range (BAD_STATUS); path
 * non-empty (BAD_FIELD); not KNOWN → orchestrator 0, empty name, no labels
 * (BAD_FIELD); label keys non-empty (BAD_FIELD); no NUL inside any string
 * (EMBEDDED_NUL); reply mode: path equal to the request key (BAD_FIELD).
 * Plain mode: BUFFER_TOO_SMALL when it does not fit (sticky, keeps counting
 * so finish() reports the exact size); BAD_ITEM_COUNT past item_count.
 * Reply mode: OK when the item was written or replaced; BUFFER_TOO_SMALL
 * (overflow, sticky) when not even a replacement fits or more than N items
 * are added. SIZE_OVERFLOW beyond 4 GiB.
 */
NIPC_API nipc_error_t nipc_cgroups_lookup_builder_add(nipc_cgroups_lookup_builder_t *b,
                                                      const nipc_cgroups_lookup_item_t *item,
                                                      const nipc_label_t *labels);

/* Reply mode: true once the builder only writes PAYLOAD_EXCEEDED (a handler
 * may skip expensive lookups for the remaining keys). */
NIPC_API bool nipc_cgroups_lookup_builder_exceeded(const nipc_cgroups_lookup_builder_t *b);

/*
 * Completes the response: *out_len = payload size. BAD_ITEM_COUNT if fewer
 * items than announced; the sticky error if any. BUFFER_TOO_SMALL: plain
 * mode reports the exact size needed; reply mode reports the smallest
 * response the policy can produce (header, directory and a minimal item
 * per key).
 */
NIPC_API nipc_error_t nipc_cgroups_lookup_builder_finish(nipc_cgroups_lookup_builder_t *b,
                                                         size_t *out_len);

/* ============================================================ APPS_LOOKUP */

/* Request: key i = {pid, 0} at packed offset 8i; 16 + 16n bytes.
 * Errors: INVALID_ARGUMENT (pids NULL with n > 0), SIZE_OVERFLOW. */
NIPC_API nipc_error_t nipc_apps_lookup_req_encode(const uint32_t *pids, uint32_t n, void *buf,
                                                  size_t cap, size_t *out_len);

typedef struct nipc_apps_lookup_req {
    const uint8_t *payload;
    size_t len;
    uint32_t item_count;
} nipc_apps_lookup_req_t;

/* Validates a whole request. Errors: as for cgroups requests, with
 * BAD_FIELD for an entry length other than 8 and BAD_RESERVED for a key
 * whose reserved word is not 0. */
NIPC_API nipc_error_t nipc_apps_lookup_req_decode(const void *buf, size_t len,
                                                  nipc_apps_lookup_req_t *out);

/* PID of key `index`. Errors: INVALID_ARGUMENT (index). */
NIPC_API nipc_error_t nipc_apps_lookup_req_pid(const nipc_apps_lookup_req_t *req, uint32_t index,
                                               uint32_t *pid);

typedef struct nipc_apps_lookup_item {
    uint16_t status;        /* enum nipc_app_status */
    uint16_t orchestrator;  /* raw enum nipc_orchestrator */
    uint16_t cgroup_status; /* enum nipc_app_cgroup_status */
    uint32_t pid;           /* the key, echoed */
    uint32_t ppid;
    uint32_t uid;       /* NIPC_UID_UNSET unless KNOWN */
    uint64_t starttime; /* Linux: jiffies since boot (/proc/<pid>/stat field 22); 0 elsewhere */
    nipc_str_t comm;    /* <= 15 bytes; non-empty when KNOWN */
    nipc_str_t cgroup_path;
    nipc_str_t cgroup_name;
    nipc_lookup_labels_t labels;
} nipc_apps_lookup_item_t;

typedef struct nipc_apps_lookup_view {
    const uint8_t *payload;
    size_t len;
    uint32_t item_count;
    uint64_t generation;
} nipc_apps_lookup_view_t;

/* Validates a whole response (as for cgroups, entries >= 60 bytes, plus the
 * semantic rules of codecs.md §6). Same errors. */
NIPC_API nipc_error_t nipc_apps_lookup_resp_decode(const void *buf, size_t len,
                                                   nipc_apps_lookup_view_t *out);

NIPC_API nipc_error_t nipc_apps_lookup_resp_item(const nipc_apps_lookup_view_t *view,
                                                 uint32_t index, nipc_apps_lookup_item_t *out);

typedef struct nipc_apps_lookup_builder {
    nipc_lookup_builder_core_t core;
    const nipc_apps_lookup_req_t *req; /* reply mode; must outlive the builder */
} nipc_apps_lookup_builder_t;

NIPC_API void nipc_apps_lookup_builder_init(nipc_apps_lookup_builder_t *b, void *buf, size_t cap,
                                            uint32_t item_count, uint64_t generation);
NIPC_API void nipc_apps_lookup_builder_init_reply(nipc_apps_lookup_builder_t *b, void *buf,
                                                  size_t cap, const nipc_apps_lookup_req_t *req,
                                                  uint64_t generation);
NIPC_API void nipc_apps_lookup_builder_set_generation(nipc_apps_lookup_builder_t *b,
                                                      uint64_t generation);

/*
 * Appends the next item (labels as for cgroups). Rules (codecs.md §6):
 * status and cgroup_status in range (BAD_STATUS); comm <= 15 bytes; not
 * KNOWN → orchestrator, cgroup_status, ppid, starttime 0, uid UNSET, empty
 * strings, no labels; KNOWN → comm non-empty and, by cgroup status, KNOWN:
 * path non-empty; UNKNOWN_RETRY_LATER: orchestrator 0, empty name, no
 * labels; UNKNOWN_PERMANENT: also a non-empty path; HOST_ROOT: orchestrator
 * 0, empty path and name, no labels (all BAD_FIELD); reply mode: pid equal
 * to the request key (BAD_FIELD). Results as for cgroups.
 */
NIPC_API nipc_error_t nipc_apps_lookup_builder_add(nipc_apps_lookup_builder_t *b,
                                                   const nipc_apps_lookup_item_t *item,
                                                   const nipc_label_t *labels);
NIPC_API bool nipc_apps_lookup_builder_exceeded(const nipc_apps_lookup_builder_t *b);
NIPC_API nipc_error_t nipc_apps_lookup_builder_finish(nipc_apps_lookup_builder_t *b,
                                                      size_t *out_len);

#ifdef __cplusplus
}
#endif

#endif
