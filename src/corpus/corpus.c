/*
 * Deterministic cgroups corpus and cgroup sets (see corpus.h).
 *
 * Every item is derived from key = mix(seed) + index through splitmix64,
 * whose finaliser is a bijection on 64 bits: the first 16 hex digits of
 * each container id are unique per (seed, index), so names never collide.
 * Only integer arithmetic is used, so the bytes are the same everywhere.
 */
#include "corpus/corpus.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "netipc/codec.h"

static uint64_t mix64(uint64_t z)
{
    z += 0x9e3779b97f4a7c15ull;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static const char *const services[] = {
    "nginx",        "postgresql", "redis-server", "sshd",      "cron",      "rsyslog",
    "containerd",   "docker",     "kubelet",      "netdata",   "chronyd",   "dbus",
    "systemd-journald", "systemd-logind", "mysql", "haproxy", "memcached", "php-fpm",
    "getty",        "openvpn",    "node-exporter", "grafana",  "prometheus", "elasticsearch",
};
static const char *const apps[] = {"firefox", "code", "gnome-terminal", "slack", "chromium",
                                   "thunderbird"};
static const char *const vms[] = {"web01", "db-primary", "build-agent", "win11", "ci-runner"};

#define COUNT_OF(a) (sizeof(a) / sizeof((a)[0]))

/* 64 lowercase hex digits; the first 16 are unique per key. */
static void container_id(uint64_t key, char out[65])
{
    uint64_t v = mix64(key);
    for (int part = 0; part < 4; part++) {
        snprintf(out + part * 16, 17, "%016llx", (unsigned long long)v);
        v = mix64(v);
    }
}

/* 8-4-4-4-12 uuid with '_' separators, as kubelet writes in slice names. */
static void pod_uid(uint64_t key, char out[37])
{
    uint64_t a = mix64(key ^ 0x5bd1e995u), b = mix64(a);
    snprintf(out, 37, "%08llx_%04llx_%04llx_%04llx_%012llx",
             (unsigned long long)(a >> 32), (unsigned long long)((a >> 16) & 0xffff),
             (unsigned long long)(a & 0xffff), (unsigned long long)(b >> 48),
             (unsigned long long)(b & 0xffffffffffffull));
}

void nipc_corpus_item(uint64_t seed, uint32_t index, nipc_corpus_item_t *out)
{
    uint64_t key = mix64(seed) + index;
    uint64_t r = mix64(key ^ 0xc2b2ae3d27d4eb4full);
    uint32_t kind = (uint32_t)(r % 100u);
    uint32_t pick = (uint32_t)((r >> 8) & 0xffffu);
    char id[65], uid[37];
    int n;

    if (kind < 30) {
        const char *svc = services[pick % COUNT_OF(services)];
        n = snprintf(out->name, sizeof out->name, "system.slice/system-%s.slice/%s@%u.service",
                     svc, svc, index);
    } else if (kind < 50) {
        container_id(key, id);
        n = snprintf(out->name, sizeof out->name, "system.slice/docker-%s.scope", id);
    } else if (kind < 55) {
        container_id(key, id);
        n = snprintf(out->name, sizeof out->name, "machine.slice/libpod-%s.scope", id);
    } else if (kind < 80) {
        static const char *const qos[] = {"besteffort", "burstable", ""};
        const char *q = qos[pick % 3u];
        container_id(key, id);
        pod_uid(key, uid);
        if (*q)
            n = snprintf(out->name, sizeof out->name,
                         "kubepods.slice/kubepods-%s.slice/kubepods-%s-pod%s.slice/"
                         "cri-containerd-%s.scope",
                         q, q, uid, id);
        else
            n = snprintf(out->name, sizeof out->name,
                         "kubepods.slice/kubepods-pod%s.slice/cri-containerd-%s.scope", uid, id);
    } else if (kind < 92) {
        unsigned user = 1000u + pick % 50u;
        n = snprintf(out->name, sizeof out->name,
                     "user.slice/user-%u.slice/user@%u.service/app.slice/app-%s-%u.scope", user,
                     user, apps[pick % COUNT_OF(apps)], index);
    } else {
        n = snprintf(out->name, sizeof out->name, "machine.slice/machine-qemu\\x2d%u\\x2d%s.scope",
                     index, vms[pick % COUNT_OF(vms)]);
    }
    out->name_len = (uint32_t)n; /* every template is far below NIPC_CORPUS_NAME_MAX */
    n = snprintf(out->path, sizeof out->path, "/sys/fs/cgroup/%s", out->name);
    out->path_len = (uint32_t)n;
    out->hash = nipc_djb2(out->name, out->name_len);
    out->options = (r >> 40) % 4u == 0 ? 0x02u : 0u;
    out->enabled = (r >> 48) % 10u != 0;
}

nipc_error_t nipc_cgroup_set_corpus(uint64_t seed, uint32_t count, nipc_cgroup_set_t *set)
{
    memset(set, 0, sizeof *set);
    if (count > NIPC_CORPUS_MAX_ITEMS)
        return NIPC_ERR_INVALID_ARGUMENT;
    size_t per_item = NIPC_CORPUS_NAME_MAX + NIPC_CORPUS_PATH_MAX + 2u;
    set->items = calloc(count ? count : 1u, sizeof *set->items);
    set->strings = malloc((count ? count : 1u) * per_item);
    if (!set->items || !set->strings) {
        nipc_cgroup_set_free(set);
        return NIPC_ERR_NO_MEMORY;
    }
    char *s = set->strings;
    for (uint32_t i = 0; i < count; i++) {
        nipc_corpus_item_t it;
        nipc_corpus_item(seed, i, &it);
        nipc_cgroup_entry_t *e = &set->items[i];
        memcpy(s, it.name, it.name_len + 1u);
        e->name = s;
        s += it.name_len + 1u;
        memcpy(s, it.path, it.path_len + 1u);
        e->path = s;
        s += it.path_len + 1u;
        e->name_len = it.name_len;
        e->path_len = it.path_len;
        e->hash = it.hash;
        e->options = it.options;
        e->enabled = it.enabled;
    }
    set->count = count;
    set->systemd_enabled = 1;
    set->source = "corpus";
    return NIPC_OK;
}

nipc_error_t nipc_cgroup_set_local(uint32_t max_items, uint32_t fallback_count,
                                   nipc_cgroup_set_t *set)
{
    nipc_error_t err = nipc_cgroup_set_scan("/sys/fs/cgroup", max_items, set);
    if (err == NIPC_OK)
        return NIPC_OK;
    return nipc_cgroup_set_corpus(1, fallback_count, set);
}

void nipc_cgroup_set_free(nipc_cgroup_set_t *set)
{
    free(set->items);
    free(set->strings);
    memset(set, 0, sizeof *set);
}

size_t nipc_cgroup_set_encoded_size(const nipc_cgroup_set_t *set)
{
    size_t len = 0;
    nipc_cgroups_builder_t b;
    nipc_cgroups_builder_init(&b, NULL, 0, set->count, set->systemd_enabled, 0);
    for (uint32_t i = 0; i < set->count; i++) {
        const nipc_cgroup_entry_t *e = &set->items[i];
        nipc_cgroups_builder_add(&b, e->hash, e->options, e->enabled, e->name, e->name_len,
                                 e->path, e->path_len);
    }
    nipc_cgroups_builder_finish(&b, &len);
    return len;
}

nipc_error_t nipc_cgroup_set_encode(const nipc_cgroup_set_t *set, uint64_t generation, void *buf,
                                    size_t cap, size_t *out_len)
{
    nipc_cgroups_builder_t b;
    nipc_cgroups_builder_init(&b, buf, cap, set->count, set->systemd_enabled, generation);
    for (uint32_t i = 0; i < set->count; i++) {
        const nipc_cgroup_entry_t *e = &set->items[i];
        nipc_cgroups_builder_add(&b, e->hash, e->options, e->enabled, e->name, e->name_len,
                                 e->path, e->path_len);
    }
    return nipc_cgroups_builder_finish(&b, out_len);
}
