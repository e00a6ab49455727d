/*
 * Level 3 cgroups snapshot cache: an owned copy of the last good snapshot
 * with an open-addressing index by (hash, name), refreshed through a Level 2
 * client. A refresh builds the new copy without blocking anyone, then
 * publishes it; no I/O and no allocation happen on lookups.
 *
 * Read guards, for many reader threads: each thread counts its guards in
 * its own stripe (a cache line of its own, given out round robin), so
 * readers on different threads never write the same line. To publish, a
 * refresh raises `publishing`, waits until every stripe is zero, swaps the
 * snapshot and lowers the flag. A reader increments its stripe, then looks
 * at the flag; the refresh raises the flag, then reads the stripes; both
 * with sequentially consistent operations (the Dekker pattern), so either
 * the refresh waits for the reader or the reader sees the flag and steps
 * back: it then queues on the `gate` mutex the refresh holds while
 * publishing. A refresh is never starved: once the flag is up no new guard
 * starts, and the open ones drain.
 */
#include "netipc/cache.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "common/internal.h"
#include "platform/platform.h"

typedef struct snapshot {
    uint32_t count;
    uint32_t systemd_enabled;
    uint64_t generation;
    nipc_cgroup_item_t *items; /* what lookups return; strings point into `strings` */
    char *strings;
    /* (item hash << 32) | (item index + 1), 0 = empty; NULL = linear scan.
     * The hash beside the index lets a probe skip items without touching them. */
    uint64_t *buckets;
    uint32_t mask; /* bucket count - 1 */
    int by_name;   /* buckets also hash the name (colliding hashes) */
} snapshot_t;

/* Stripes of reader counts; threads beyond this many share stripes. */
#define READER_STRIPES 64u

typedef struct stripe {
    atomic_uint readers;
    char pad[64 - sizeof(atomic_uint)]; /* one cache line each */
} stripe_t;

struct nipc_cgroups_cache {
    stripe_t *stripes; /* READER_STRIPES, 64-byte aligned inside stripe_mem */
    void *stripe_mem;
    atomic_int publishing; /* a refresh is swapping `current` */
    snapshot_t *_Atomic current;
    nipc_client_t *client;
    nipc__mutex_t *gate;   /* held by a refresh while it publishes */
    nipc__mutex_t *writer; /* serialises refreshes and the client */
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

/* murmur3's 32-bit finaliser: spreads the item's hash over the table. */
static inline uint32_t mix32(uint32_t h)
{
    h ^= h >> 16;
    h *= 0x85ebca6bu;
    h ^= h >> 13;
    h *= 0xc2b2ae35u;
    h ^= h >> 16;
    return h;
}

/* FNV-1a of the name, used only for snapshots whose hashes collide (see below). */
static uint32_t name_hash(const char *name, uint32_t len)
{
    uint32_t h = 2166136261u;
    for (uint32_t i = 0; i < len; i++)
        h = (h ^ (uint8_t)name[i]) * 16777619u;
    return h;
}

/*
 * Buckets come from the item's hash alone, which providers fill with
 * djb2(name): lookups never rehash the name. (Mixing djb2(name) back in,
 * as this did before, cancelled to 0 for every honest item and put the
 * whole table in one probe chain.) Only a snapshot whose hashes collide too
 * much is indexed by name as well (`by_name`).
 */
static inline uint32_t bucket_of(const snapshot_t *s, uint32_t hash, const char *name, uint32_t len)
{
    if (s->by_name)
        hash ^= name_hash(name, len);
    return mix32(hash) & s->mask;
}

/* Fills the table; gives up (0) past `budget` probes, 0 = no limit. */
static int index_fill(snapshot_t *s, uint64_t budget)
{
    uint64_t probes = 0;
    memset(s->buckets, 0, ((size_t)s->mask + 1) * sizeof *s->buckets);
    for (uint32_t i = 0; i < s->count; i++) {
        const nipc_cgroup_item_t *e = &s->items[i];
        uint32_t b = bucket_of(s, e->hash, e->name.ptr, e->name.len);
        while (s->buckets[b]) {
            if (budget && ++probes > budget)
                return 0;
            b = (b + 1) & s->mask;
        }
        s->buckets[b] = (uint64_t)e->hash << 32 | (i + 1u);
    }
    return 1;
}

static void index_build(snapshot_t *s)
{
    uint64_t n = 16;
    while (n < 2ull * s->count)
        n <<= 1;
    if (n > UINT32_MAX)
        return;
    s->buckets = malloc((size_t)n * sizeof *s->buckets);
    if (!s->buckets)
        return; /* lookups fall back to a linear scan */
    s->mask = (uint32_t)n - 1;
    /* A half-full table of well-spread hashes averages under one probe per
     * item; far more means the provider sent colliding hashes (a broken or
     * hostile one): index by name too rather than build in quadratic time. */
    if (!index_fill(s, 8ull * s->count + 64)) {
        s->by_name = 1;
        index_fill(s, 0);
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
        nipc_cgroup_item_t *e = &s->items[i];
        *e = it;
        /* name + NUL + path + NUL fit inside the item, hence inside v->len. */
        memcpy(s->strings + used, it.name.ptr, (size_t)it.name.len + 1);
        e->name.ptr = s->strings + used;
        used += (size_t)it.name.len + 1;
        memcpy(s->strings + used, it.path.ptr, (size_t)it.path.len + 1);
        e->path.ptr = s->strings + used;
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
    if (!out)
        return NIPC_ERR_INVALID_ARGUMENT;
    nipc_cgroups_cache_t *c = calloc(1, sizeof *c);
    if (!c)
        return NIPC_ERR_NO_MEMORY;
    /* Each stripe must own its cache line: align the array by hand. */
    c->stripe_mem = calloc(1, READER_STRIPES * sizeof(stripe_t) + 63u);
    if (!c->stripe_mem) {
        free(c);
        return NIPC_ERR_NO_MEMORY;
    }
    c->stripes = (stripe_t *)(((uintptr_t)c->stripe_mem + 63u) & ~(uintptr_t)63u);
    nipc_error_t err = nipc_client_create(run_dir, service, config, &c->client);
    if (err == NIPC_OK)
        err = nipc__mutex_create(&c->gate);
    if (err == NIPC_OK)
        err = nipc__mutex_create(&c->writer);
    if (err != NIPC_OK) {
        nipc_cgroups_cache_free(c);
        return err;
    }
    *out = c;
    return NIPC_OK;
}

static snapshot_t *publish(nipc_cgroups_cache_t *c, snapshot_t *fresh);

nipc_error_t nipc_cgroups_cache_refresh(nipc_cgroups_cache_t *c, uint32_t timeout_ms)
{
    nipc__mutex_lock(c->writer);
    nipc_cgroups_view_t view;
    snapshot_t *fresh = NULL;
    /* Not connected: the connect's own reason (NOT_FOUND, ...), not the
     * snapshot call's NOT_READY. */
    nipc_error_t err = nipc_client_refresh(c->client);
    if (err == NIPC_OK)
        err = nipc_client_cgroups_snapshot(c->client, &view, timeout_ms);
    if (err == NIPC_OK)
        err = snapshot_copy(&view, &fresh);
    if (err != NIPC_OK) {
        atomic_fetch_add(&c->failures, 1);
        atomic_store(&c->last_error, (int)nipc__os_settle(err));
        nipc__mutex_unlock(c->writer);
        return err;
    }

    snapshot_t *old = publish(c, fresh);
    snapshot_free(old); /* no reader can see it any more */

    atomic_store(&c->populated, 1);
    atomic_fetch_add(&c->successes, 1);
    atomic_store(&c->last_refresh_ms, nipc__now_ms());
    nipc__mutex_unlock(c->writer);
    return NIPC_OK;
}

bool nipc_cgroups_cache_ready(const nipc_cgroups_cache_t *c)
{
    return atomic_load(&((nipc_cgroups_cache_t *)c)->populated);
}

/* This thread's stripe, given out round robin on its first guard. */
static unsigned my_stripe(void)
{
    static atomic_uint next;
    static _Thread_local unsigned mine = READER_STRIPES;
    if (mine == READER_STRIPES)
        mine = atomic_fetch_add_explicit(&next, 1, memory_order_relaxed) % READER_STRIPES;
    return mine;
}

void nipc_cgroups_cache_read_lock(nipc_cgroups_cache_t *c)
{
    atomic_uint *mine = &c->stripes[my_stripe()].readers;
    for (;;) {
        atomic_fetch_add(mine, 1); /* seq_cst: paired with publish() */
        if (!atomic_load(&c->publishing))
            return;
        /* A refresh is publishing: step back so it can finish, and wait
         * for it on the gate it holds meanwhile. */
        atomic_fetch_sub_explicit(mine, 1, memory_order_release);
        nipc__mutex_lock(c->gate);
        nipc__mutex_unlock(c->gate);
    }
}

void nipc_cgroups_cache_read_unlock(nipc_cgroups_cache_t *c)
{
    /* Release: this guard's reads of the snapshot happen before a refresh
     * that sees the stripe drop frees it. */
    atomic_fetch_sub_explicit(&c->stripes[my_stripe()].readers, 1, memory_order_release);
}

/* Swaps in `fresh` once no guard is open; returns the snapshot it replaced. */
static snapshot_t *publish(nipc_cgroups_cache_t *c, snapshot_t *fresh)
{
    nipc__mutex_lock(c->gate);
    atomic_store(&c->publishing, 1); /* seq_cst: paired with read_lock() */
    for (unsigned i = 0; i < READER_STRIPES; i++)
        while (atomic_load_explicit(&c->stripes[i].readers, memory_order_acquire))
            nipc__sleep_ms(0); /* guards are short: let their owners run */
    snapshot_t *old = atomic_load_explicit(&c->current, memory_order_relaxed);
    atomic_store_explicit(&c->current, fresh, memory_order_relaxed);
    atomic_store_explicit(&c->publishing, 0, memory_order_release);
    nipc__mutex_unlock(c->gate);
    return old;
}

/* Inside a guard the snapshot cannot change: publish() waits for guards. */
static inline const snapshot_t *current_of(const nipc_cgroups_cache_t *c)
{
    return atomic_load_explicit(&((nipc_cgroups_cache_t *)c)->current, memory_order_relaxed);
}

static int matches(const nipc_cgroup_item_t *e, uint32_t hash, const char *name, uint32_t len)
{
    return e->hash == hash && e->name.len == len && memcmp(e->name.ptr, name, len) == 0;
}

const nipc_cgroup_item_t *nipc_cgroups_cache_get(const nipc_cgroups_cache_t *c, uint32_t hash,
                                                 const char *name, uint32_t name_len)
{
    const snapshot_t *s = current_of(c);
    if (!s || (name_len && !name))
        return NULL;
    if (!s->buckets) {
        for (uint32_t i = 0; i < s->count; i++)
            if (matches(&s->items[i], hash, name, name_len))
                return &s->items[i];
        return NULL;
    }
    /* The table is at most half full, so probing always reaches an empty slot. */
    for (uint32_t b = bucket_of(s, hash, name, name_len);; b = (b + 1) & s->mask) {
        uint64_t slot = s->buckets[b];
        if (!slot)
            return NULL;
        if ((uint32_t)(slot >> 32) != hash)
            continue;
        const nipc_cgroup_item_t *e = &s->items[(uint32_t)slot - 1u];
        if (e->name.len == name_len && memcmp(e->name.ptr, name, name_len) == 0)
            return e;
    }
}

uint32_t nipc_cgroups_cache_count(const nipc_cgroups_cache_t *c)
{
    const snapshot_t *s = current_of(c);
    return s ? s->count : 0;
}

const nipc_cgroup_item_t *nipc_cgroups_cache_item(const nipc_cgroups_cache_t *c, uint32_t index)
{
    const snapshot_t *s = current_of(c);
    if (!s || index >= s->count)
        return NULL;
    return &s->items[index];
}

void nipc_cgroups_cache_status(const nipc_cgroups_cache_t *cc, nipc_cgroups_cache_status_t *out)
{
    nipc_cgroups_cache_t *c = (nipc_cgroups_cache_t *)cc;
    memset(out, 0, sizeof *out);
    nipc_cgroups_cache_read_lock(c);
    const snapshot_t *s = current_of(c);
    if (s) {
        out->populated = 1;
        out->item_count = s->count;
        out->systemd_enabled = s->systemd_enabled;
        out->generation = s->generation;
    }
    nipc_cgroups_cache_read_unlock(c);
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
    snapshot_free(atomic_load(&c->current));
    nipc__mutex_free(c->gate);
    nipc__mutex_free(c->writer);
    free(c->stripe_mem);
    free(c);
}
