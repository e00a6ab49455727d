/*
 * Level 3 cgroups snapshot cache: an owned copy of the last good snapshot
 * with an open-addressing index by (hash, name), refreshed through a Level 2
 * client. Readers take a read lock; a refresh builds the new copy outside
 * the lock and swaps it in under the write lock, freeing the old copy after
 * unlocking. No I/O and no allocation happen on lookups.
 */
#include "netipc/cache.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "platform/platform.h"

typedef struct entry {
    uint32_t hash, options, enabled;
    uint32_t name_len, path_len;
    const char *name; /* into the snapshot's string arena, NUL-terminated */
    const char *path;
} entry_t;

typedef struct snapshot {
    uint32_t count;
    uint32_t systemd_enabled;
    uint64_t generation;
    entry_t *items;
    char *strings;
    uint32_t *buckets; /* item index + 1, 0 = empty; NULL = linear scan */
    uint32_t mask;     /* bucket count - 1 */
} snapshot_t;

struct nipc_cgroups_cache {
    nipc_client_t *client;
    nipc__rwlock_t *lock;  /* guards `current` against readers */
    nipc__mutex_t *writer; /* serialises refreshes and the client */
    snapshot_t *current;
    atomic_int populated;

    /* Written under `writer`, read by status() */
    atomic_uint_fast64_t successes, failures, last_refresh_ms;
    atomic_int last_error;
};

static void snapshot_free(snapshot_t *s)
{
    if (!s)
        return;
    free(s->items);
    free(s->strings);
    free(s->buckets);
    free(s);
}

static uint32_t bucket_of(uint32_t hash, const char *name, uint32_t len, uint32_t mask)
{
    return (hash ^ nipc_djb2(name, len)) & mask;
}

static void index_build(snapshot_t *s)
{
    uint64_t n = 16;
    while (n < 2ull * s->count)
        n <<= 1;
    if (n > UINT32_MAX)
        return;
    s->buckets = calloc((size_t)n, sizeof *s->buckets);
    if (!s->buckets)
        return; /* lookups fall back to a linear scan */
    s->mask = (uint32_t)n - 1;
    for (uint32_t i = 0; i < s->count; i++) {
        const entry_t *e = &s->items[i];
        uint32_t b = bucket_of(e->hash, e->name, e->name_len, s->mask);
        while (s->buckets[b])
            b = (b + 1) & s->mask;
        s->buckets[b] = i + 1;
    }
}

/* Owned copy of a decoded snapshot; every item is validated here. */
static nipc_error_t snapshot_copy(const nipc_cgroups_view_t *v, snapshot_t **out)
{
    snapshot_t *s = calloc(1, sizeof *s);
    if (!s)
        return NIPC_ERR_NO_MEMORY;
    s->count = v->item_count;
    s->systemd_enabled = v->systemd_enabled;
    s->generation = v->generation;
    /* Strings total less than the payload, which bounds the arena. */
    s->items = calloc(v->item_count ? v->item_count : 1, sizeof *s->items);
    s->strings = malloc(v->len ? v->len : 1);
    if (!s->items || !s->strings) {
        snapshot_free(s);
        return NIPC_ERR_NO_MEMORY;
    }
    size_t used = 0;
    for (uint32_t i = 0; i < v->item_count; i++) {
        nipc_cgroup_item_t it;
        nipc_error_t err = nipc_cgroups_resp_item(v, i, &it);
        if (err != NIPC_OK) {
            snapshot_free(s);
            return err;
        }
        entry_t *e = &s->items[i];
        e->hash = it.hash;
        e->options = it.options;
        e->enabled = it.enabled;
        e->name_len = it.name.len;
        e->path_len = it.path.len;
        /* name + NUL + path + NUL fit inside the item, hence inside v->len. */
        memcpy(s->strings + used, it.name.ptr, (size_t)it.name.len + 1);
        e->name = s->strings + used;
        used += (size_t)it.name.len + 1;
        memcpy(s->strings + used, it.path.ptr, (size_t)it.path.len + 1);
        e->path = s->strings + used;
        used += (size_t)it.path.len + 1;
    }
    index_build(s);
    *out = s;
    return NIPC_OK;
}

nipc_error_t nipc_cgroups_cache_create(const char *run_dir, const char *service,
                                       const nipc_client_config_t *config,
                                       nipc_cgroups_cache_t **out)
{
    nipc_cgroups_cache_t *c = calloc(1, sizeof *c);
    if (!c)
        return NIPC_ERR_NO_MEMORY;
    nipc_error_t err = nipc_client_create(run_dir, service, config, &c->client);
    if (err == NIPC_OK)
        err = nipc__rwlock_create(&c->lock);
    if (err == NIPC_OK)
        err = nipc__mutex_create(&c->writer);
    if (err != NIPC_OK) {
        nipc_cgroups_cache_free(c);
        return err;
    }
    *out = c;
    return NIPC_OK;
}

nipc_error_t nipc_cgroups_cache_refresh(nipc_cgroups_cache_t *c, uint32_t timeout_ms)
{
    nipc__mutex_lock(c->writer);
    nipc_client_refresh(c->client);
    nipc_cgroups_view_t view;
    snapshot_t *fresh = NULL;
    nipc_error_t err = nipc_client_cgroups_snapshot(c->client, &view, timeout_ms);
    if (err == NIPC_OK)
        err = snapshot_copy(&view, &fresh);
    if (err != NIPC_OK) {
        atomic_fetch_add(&c->failures, 1);
        atomic_store(&c->last_error, (int)err);
        nipc__mutex_unlock(c->writer);
        return err;
    }

    nipc__rwlock_wrlock(c->lock);
    snapshot_t *old = c->current;
    c->current = fresh;
    nipc__rwlock_unlock(c->lock);
    snapshot_free(old); /* no reader can see it any more */

    atomic_store(&c->populated, 1);
    atomic_fetch_add(&c->successes, 1);
    atomic_store(&c->last_refresh_ms, nipc__now_ms());
    nipc__mutex_unlock(c->writer);
    return NIPC_OK;
}

int nipc_cgroups_cache_ready(const nipc_cgroups_cache_t *c)
{
    return atomic_load(&((nipc_cgroups_cache_t *)c)->populated);
}

void nipc_cgroups_cache_read_lock(nipc_cgroups_cache_t *c)
{
    nipc__rwlock_rdlock(c->lock);
}

void nipc_cgroups_cache_read_unlock(nipc_cgroups_cache_t *c)
{
    nipc__rwlock_unlock(c->lock);
}

static void to_item(const entry_t *e, nipc_cgroup_item_t *out)
{
    out->hash = e->hash;
    out->options = e->options;
    out->enabled = e->enabled;
    out->name.ptr = e->name;
    out->name.len = e->name_len;
    out->path.ptr = e->path;
    out->path.len = e->path_len;
}

static int matches(const entry_t *e, uint32_t hash, const char *name, uint32_t len)
{
    return e->hash == hash && e->name_len == len && memcmp(e->name, name, len) == 0;
}

int nipc_cgroups_cache_get(const nipc_cgroups_cache_t *c, uint32_t hash, const char *name,
                           uint32_t name_len, nipc_cgroup_item_t *out)
{
    const snapshot_t *s = c->current;
    if (!s || (name_len && !name))
        return 0;
    if (!s->buckets) {
        for (uint32_t i = 0; i < s->count; i++) {
            if (matches(&s->items[i], hash, name, name_len)) {
                to_item(&s->items[i], out);
                return 1;
            }
        }
        return 0;
    }
    /* The table is at most half full, so probing always reaches an empty slot. */
    for (uint32_t b = bucket_of(hash, name, name_len, s->mask);; b = (b + 1) & s->mask) {
        uint32_t slot = s->buckets[b];
        if (!slot)
            return 0;
        const entry_t *e = &s->items[slot - 1];
        if (matches(e, hash, name, name_len)) {
            to_item(e, out);
            return 1;
        }
    }
}

uint32_t nipc_cgroups_cache_count(const nipc_cgroups_cache_t *c)
{
    return c->current ? c->current->count : 0;
}

int nipc_cgroups_cache_item(const nipc_cgroups_cache_t *c, uint32_t index,
                            nipc_cgroup_item_t *out)
{
    if (!c->current || index >= c->current->count)
        return 0;
    to_item(&c->current->items[index], out);
    return 1;
}

void nipc_cgroups_cache_status(const nipc_cgroups_cache_t *cc, nipc_cgroups_cache_status_t *out)
{
    nipc_cgroups_cache_t *c = (nipc_cgroups_cache_t *)cc;
    memset(out, 0, sizeof *out);
    nipc__rwlock_rdlock(c->lock);
    if (c->current) {
        out->populated = 1;
        out->item_count = c->current->count;
        out->systemd_enabled = c->current->systemd_enabled;
        out->generation = c->current->generation;
    }
    nipc__rwlock_unlock(c->lock);
    out->refresh_success_count = atomic_load(&c->successes);
    out->refresh_failure_count = atomic_load(&c->failures);
    out->last_refresh_ms = atomic_load(&c->last_refresh_ms);
    out->last_error = (nipc_error_t)atomic_load(&c->last_error);
    out->client_state = nipc_client_state(c->client);
}

void nipc_cgroups_cache_free(nipc_cgroups_cache_t *c)
{
    if (!c)
        return;
    nipc_client_free(c->client);
    snapshot_free(c->current);
    nipc__rwlock_free(c->lock);
    nipc__mutex_free(c->writer);
    free(c);
}
