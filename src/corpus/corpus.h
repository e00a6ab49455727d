/*
 * cgroups snapshot sources for tests, services, the cache, benchmarks and
 * the demo (not part of the installed library):
 *
 *  - a deterministic, production-shaped corpus: systemd services, docker,
 *    podman and kubernetes container scopes, user and machine slices. Item i
 *    of seed s is a pure function of (s, i), so any size from 1 to 100,000
 *    gives the same bytes for the same seed on every run and platform;
 *  - a scanner of this machine's cgroup v2/v1 tree (POSIX only).
 *
 * Both produce a nipc_cgroup_set_t, which can be encoded as a
 * CGROUPS_SNAPSHOT response.
 */
#ifndef NETIPC_CORPUS_H
#define NETIPC_CORPUS_H

#include <stddef.h>
#include <stdint.h>

#include "netipc/error.h"

#define NIPC_CORPUS_MAX_ITEMS 100000u
#define NIPC_CORPUS_NAME_MAX 240u
#define NIPC_CORPUS_PATH_MAX (NIPC_CORPUS_NAME_MAX + 16u)

/* One corpus item, self-contained (fixed buffers, NUL-terminated). */
typedef struct nipc_corpus_item {
    char name[NIPC_CORPUS_NAME_MAX + 1];
    char path[NIPC_CORPUS_PATH_MAX + 1];
    uint32_t name_len;
    uint32_t path_len;
    uint32_t hash; /* djb2(name) */
    uint32_t options;
    uint32_t enabled;
} nipc_corpus_item_t;

/* Item `index` of the corpus for `seed`. Pure; names are unique per seed. */
void nipc_corpus_item(uint64_t seed, uint32_t index, nipc_corpus_item_t *out);

/* A list of cgroups with strings owned by the set. */
typedef struct nipc_cgroup_entry {
    const char *name;
    const char *path;
    uint32_t name_len;
    uint32_t path_len;
    uint32_t hash;
    uint32_t options;
    uint32_t enabled;
} nipc_cgroup_entry_t;

typedef struct nipc_cgroup_set {
    nipc_cgroup_entry_t *items;
    uint32_t count;
    uint32_t systemd_enabled;
    char *strings; /* owns every name and path */
    const char *source; /* "corpus" or the scanned root */
} nipc_cgroup_set_t;

/* Where a Linux machine's cgroup tree is. */
#define NIPC_CGROUP_ROOT "/sys/fs/cgroup"

/* Fills `set` with corpus items 0 .. count-1 of `seed` (count <= 100,000). */
nipc_error_t nipc_cgroup_set_corpus(uint64_t seed, uint32_t count, nipc_cgroup_set_t *set);

/*
 * Scans the cgroup tree under `root` (e.g. "/sys/fs/cgroup"): one item per
 * directory below the root, at most `max_items`, name = path relative to
 * the root. systemd_enabled is set when "init.scope" or "system.slice"
 * exists. Errors: NOT_FOUND (root unreadable or empty), NO_MEMORY,
 * UNSUPPORTED (no cgroups on this platform).
 */
nipc_error_t nipc_cgroup_set_scan(const char *root, uint32_t max_items, nipc_cgroup_set_t *set);

/* This machine's cgroups when readable, else the corpus (`fallback_count` items, seed 1). */
nipc_error_t nipc_cgroup_set_local(uint32_t max_items, uint32_t fallback_count,
                                   nipc_cgroup_set_t *set);

void nipc_cgroup_set_free(nipc_cgroup_set_t *set);

/* Exact CGROUPS_SNAPSHOT payload size for `set`. */
size_t nipc_cgroup_set_encoded_size(const nipc_cgroup_set_t *set);

/* Encodes `set` as a CGROUPS_SNAPSHOT response (see nipc_cgroups_builder_*). */
nipc_error_t nipc_cgroup_set_encode(const nipc_cgroup_set_t *set, uint64_t generation, void *buf,
                                    size_t cap, size_t *out_len);

#endif
