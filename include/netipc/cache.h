/*
 * netipc Level 3: a local cache of the cgroups snapshot.
 *
 * refresh() fetches a snapshot through a Level 2 client and keeps an owned
 * copy with an O(1) index by (hash, name). A failed refresh keeps the
 * previous snapshot: lookups keep working while the provider restarts or is
 * gone. No I/O happens on lookups.
 *
 * Concurrency contract: refresh() calls are serialised internally (one
 * writer at a time). Lookups may run on any number of other threads at the
 * same time, each inside a read guard: read_lock() ... get()/item() ...
 * read_unlock(). Views returned inside a guard stay valid until that
 * guard's read_unlock(); copy what you keep. A refresh builds its new copy
 * without blocking readers and only waits for open guards to publish it, so
 * keep guards short.
 */
#ifndef NETIPC_CACHE_H
#define NETIPC_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "netipc/codec.h"
#include "netipc/service.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct nipc_cgroups_cache nipc_cgroups_cache_t;

typedef struct nipc_cgroups_cache_status {
    int populated;              /* a snapshot exists (possibly empty) */
    uint32_t item_count;
    uint32_t systemd_enabled;
    uint64_t generation;
    uint64_t refresh_success_count;
    uint64_t refresh_failure_count;
    uint64_t last_refresh_ms;   /* monotonic ms of the last success; 0 = never */
    nipc_error_t last_error;    /* of the last failed refresh */
    nipc_client_state_t client_state;
} nipc_cgroups_cache_status_t;

/* Creates the cache and its client (not connected; nothing is fetched). */
NIPC_API nipc_error_t nipc_cgroups_cache_create(const char *run_dir, const char *service,
                                                const nipc_client_config_t *config,
                                                nipc_cgroups_cache_t **out);

/*
 * Connects if needed and fetches a snapshot. On success the new snapshot
 * replaces the old one and NIPC_OK is returned; on failure the old one is
 * kept and the error is returned: the connect's own error when no provider
 * could be reached (NOT_FOUND, AUTH_FAILED, BUSY, ...; see
 * nipc_client_refresh()), NO_MEMORY, or any error of the snapshot call or
 * of an item's decoding. Safe to call from any thread; calls are serialised.
 */
NIPC_API nipc_error_t nipc_cgroups_cache_refresh(nipc_cgroups_cache_t *c, uint32_t timeout_ms);

/* true when a snapshot exists ("has data", not "connected"). Thread-safe. */
NIPC_API bool nipc_cgroups_cache_ready(const nipc_cgroups_cache_t *c);

/* Read guard around lookups; cheap (an increment of a per-thread counter,
 * no shared lock), may be held by many threads at once. Guards do not nest:
 * a thread takes one at a time, and calls neither refresh() nor status()
 * while it holds one (both wait for every open guard: a deadlock). While a
 * refresh waits to publish, new guards wait for it (it is never starved). */
NIPC_API void nipc_cgroups_cache_read_lock(nipc_cgroups_cache_t *c);
NIPC_API void nipc_cgroups_cache_read_unlock(nipc_cgroups_cache_t *c);

/*
 * Inside a read guard: the item with this hash and byte-equal name, or NULL
 * when absent or when no snapshot exists. The item (and its strings, which
 * are NUL-terminated) belongs to the cache and stays valid until this
 * guard's read_unlock(). No copy is made: a lookup is a probe and a compare.
 */
NIPC_API const nipc_cgroup_item_t *nipc_cgroups_cache_get(const nipc_cgroups_cache_t *c,
                                                          uint32_t hash, const char *name,
                                                          uint32_t name_len);

/* Inside a read guard: number of items, and item i in snapshot order (NULL past the end). */
NIPC_API uint32_t nipc_cgroups_cache_count(const nipc_cgroups_cache_t *c);
NIPC_API const nipc_cgroup_item_t *nipc_cgroups_cache_item(const nipc_cgroups_cache_t *c,
                                                           uint32_t index);

/* Counters and state; thread-safe, but not from inside a read guard (it takes one). */
NIPC_API void nipc_cgroups_cache_status(const nipc_cgroups_cache_t *c,
                                        nipc_cgroups_cache_status_t *out);

/* Closes the client and frees the snapshot. No guard may be held. */
NIPC_API void nipc_cgroups_cache_free(nipc_cgroups_cache_t *c);

#ifdef __cplusplus
}
#endif

#endif
