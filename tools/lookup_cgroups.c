/*
 * The cgroups-lookup provider of `netipc serve`, on every platform: it
 * answers from a cgroup tree (the scanner in src/corpus: this machine's
 * tree where there is one, invented cgroups with --corpus N). A known path,
 * given in full (/sys/fs/cgroup/...) or relative to the root as in
 * /proc/<pid>/cgroup (/system.slice/...), is KNOWN with an orchestrator
 * guessed from the path, the last path component as its name and a few
 * derived labels; anything else is UNKNOWN_PERMANENT. The tree is rescanned
 * on demand; a changed tree bumps the generation.
 *
 * Paths are opaque keys: nothing here resolves a lookup key as a file.
 * The facts derived from a path are shared with the apps-lookup provider
 * (lookup_posix.c). Where the platform has no cgroups the scanner says
 * UNSUPPORTED and only the corpus can be served.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "corpus/corpus.h"
#include "netipc/netipc.h"
#include "platform/platform.h"
#include "tools/tool.h"

/* ---------------------------------------------------- derived cgroup facts */

static int contains(nipc_str_t s, const char *needle)
{
    size_t n = strlen(needle);
    for (size_t i = 0; n <= s.len && i + n <= s.len; i++)
        if (memcmp(s.ptr + i, needle, n) == 0)
            return 1;
    return 0;
}

static int ends_with(nipc_str_t s, const char *suffix)
{
    size_t n = strlen(suffix);
    return s.len >= n && memcmp(s.ptr + s.len - n, suffix, n) == 0;
}

/* The orchestrator a path most likely belongs to. */
static uint16_t guess_orchestrator(nipc_str_t path)
{
    if (contains(path, "kubepods"))
        return NIPC_ORCH_K8S;
    if (contains(path, "libpod") || contains(path, "podman"))
        return NIPC_ORCH_PODMAN;
    if (contains(path, "docker"))
        return NIPC_ORCH_DOCKER;
    if (contains(path, "machine-qemu") || contains(path, "qemu"))
        return NIPC_ORCH_KVM;
    if (contains(path, "lxc"))
        return NIPC_ORCH_LXC;
    if (contains(path, "nspawn"))
        return NIPC_ORCH_NSPAWN;
    if (ends_with(path, ".service") || ends_with(path, ".scope") || ends_with(path, ".slice"))
        return NIPC_ORCH_SYSTEMD;
    return NIPC_ORCH_UNKNOWN;
}

static nipc_str_t component_before(nipc_str_t path, uint32_t end)
{
    uint32_t start = end;
    while (start > 0 && path.ptr[start - 1] != '/')
        start--;
    nipc_str_t s = {path.ptr + start, end - start};
    return s;
}

void nipc_tool_cgroup_facts(nipc_str_t path, nipc_tool_cgroup_facts_t *d)
{
    while (path.len > 1 && path.ptr[path.len - 1] == '/')
        path.len--;
    d->orchestrator = guess_orchestrator(path);
    d->name = component_before(path, path.len);
    d->nlabels = 0;

    static const struct {
        const char *suffix, *kind;
    } kinds[] = {{".service", "service"}, {".scope", "scope"}, {".slice", "slice"}};
    const char *kind = "cgroup";
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
        if (ends_with(d->name, kinds[i].suffix))
            kind = kinds[i].kind;
    d->labels[d->nlabels++] = (nipc_label_t){{"kind", 4}, {kind, (uint32_t)strlen(kind)}};

    uint32_t parent_end = (uint32_t)(d->name.ptr - path.ptr);
    if (parent_end > 1) {
        d->labels[d->nlabels++] =
            (nipc_label_t){{"parent", 6}, component_before(path, parent_end - 1)};
    }
    /* A container id: the first run of at least 12 hex digits in the name. */
    uint32_t run = 0;
    for (uint32_t i = 0; i <= d->name.len; i++) {
        char c = i < d->name.len ? d->name.ptr[i] : 0;
        int hex = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
        if (hex) {
            run++;
            continue;
        }
        if (run >= 12) {
            nipc_str_t id = {d->name.ptr + i - run, 12};
            d->labels[d->nlabels++] = (nipc_label_t){{"container_id", 12}, id};
            break;
        }
        run = 0;
    }
}

/* -------------------------------------------------------- cgroups-lookup */

typedef struct index_entry {
    const char *key; /* path relative to the root, without a leading slash */
    uint32_t len;
} index_entry_t;

struct nipc_tool_cgroups {
    nipc__mutex_t *lock;
    char root[1024]; /* the tree scanned (the corpus's paths are under the default one) */
    uint32_t corpus;
    nipc_cgroup_set_t set;
    index_entry_t *index;
    uint32_t count;
    uint64_t generation;
};

static int compare_entries(const void *a, const void *b)
{
    const index_entry_t *x = a, *y = b;
    uint32_t n = x->len < y->len ? x->len : y->len;
    int c = memcmp(x->key, y->key, n);
    return c ? c : (x->len > y->len) - (x->len < y->len);
}

int nipc_tool_cgroup_v1(const char *root)
{
    char path[1100];
    struct stat st;
    snprintf(path, sizeof path, "%s/cgroup.controllers", root);
    return stat(path, &st) != 0;
}

/* cgroup v1 keeps one tree per controller (memory/..., cpu,cpuacct/...),
 * while /proc/<pid>/cgroup names paths inside a controller: a v1 tree's
 * paths are indexed without the controller directory too. The corpus is
 * shaped like a v2 tree wherever it is served, so it never is. */
static nipc_error_t build_index(bool v1, const nipc_cgroup_set_t *set, index_entry_t **out,
                                uint32_t *count)
{
    index_entry_t *idx = malloc(((size_t)set->count * 2 + 1) * sizeof *idx);
    if (!idx)
        return NIPC_ERR_NO_MEMORY;
    uint32_t n = 0;
    for (uint32_t i = 0; i < set->count; i++) {
        const nipc_cgroup_entry_t *e = &set->items[i];
        idx[n++] = (index_entry_t){e->name, e->name_len};
        const char *slash = v1 ? memchr(e->name, '/', e->name_len) : NULL;
        if (slash)
            idx[n++] = (index_entry_t){slash + 1, (uint32_t)(e->name + e->name_len - slash - 1)};
    }
    qsort(idx, n, sizeof *idx, compare_entries);
    *out = idx;
    *count = n;
    return NIPC_OK;
}

static nipc_error_t load(const nipc_tool_cgroups_t *db, nipc_cgroup_set_t *set,
                         index_entry_t **idx, uint32_t *count)
{
    nipc_error_t err = db->corpus
                           ? nipc_cgroup_set_corpus(1, db->corpus, set)
                           : nipc_cgroup_set_scan(db->root, NIPC_CORPUS_MAX_ITEMS, set);
    if (err != NIPC_OK)
        return err;
    err = build_index(!db->corpus && nipc_tool_cgroup_v1(db->root), set, idx, count);
    if (err != NIPC_OK)
        nipc_cgroup_set_free(set);
    return err;
}

nipc_error_t nipc_tool_cgroups_open(const char *root, uint32_t corpus, nipc_tool_cgroups_t **out,
                                    uint32_t *count)
{
    nipc_tool_cgroups_t *db = calloc(1, sizeof *db);
    if (!db)
        return NIPC_ERR_NO_MEMORY;
    snprintf(db->root, sizeof db->root, "%s", corpus ? NIPC_CGROUP_ROOT : root);
    db->corpus = corpus;
    db->generation = 1;
    nipc_error_t err = nipc__mutex_create(&db->lock);
    if (err == NIPC_OK)
        err = load(db, &db->set, &db->index, &db->count);
    if (err != NIPC_OK) {
        if (db->lock)
            nipc__mutex_free(db->lock);
        free(db);
        return err;
    }
    *out = db;
    *count = db->set.count;
    return NIPC_OK;
}

static int same_index(const index_entry_t *a, uint32_t na, const index_entry_t *b, uint32_t nb)
{
    if (na != nb)
        return 0;
    for (uint32_t i = 0; i < na; i++)
        if (compare_entries(&a[i], &b[i]) != 0)
            return 0;
    return 1;
}

void nipc_tool_cgroups_rescan(nipc_tool_cgroups_t *db)
{
    nipc_cgroup_set_t set;
    index_entry_t *idx;
    uint32_t count;
    if (load(db, &set, &idx, &count) != NIPC_OK)
        return;
    nipc__mutex_lock(db->lock);
    if (same_index(idx, count, db->index, db->count)) {
        nipc__mutex_unlock(db->lock);
        free(idx);
        nipc_cgroup_set_free(&set);
        return;
    }
    nipc_cgroup_set_t old = db->set;
    index_entry_t *old_idx = db->index;
    db->set = set;
    db->index = idx;
    db->count = count;
    db->generation++;
    nipc__mutex_unlock(db->lock);
    free(old_idx);
    nipc_cgroup_set_free(&old);
}

void nipc_tool_cgroups_free(nipc_tool_cgroups_t *db)
{
    if (!db)
        return;
    free(db->index);
    nipc_cgroup_set_free(&db->set);
    nipc__mutex_free(db->lock);
    free(db);
}

/* A key given in full (under the scanned root) or relative with a leading slash. */
static int known(const nipc_tool_cgroups_t *db, nipc_str_t key)
{
    size_t rl = strlen(db->root);
    index_entry_t probe = {key.ptr, key.len};
    if (key.len > rl + 1 && memcmp(key.ptr, db->root, rl) == 0 && key.ptr[rl] == '/') {
        probe.key += rl + 1;
        probe.len -= (uint32_t)(rl + 1);
    } else if (key.len > 1 && key.ptr[0] == '/') {
        probe.key++;
        probe.len--;
    } else {
        return 0;
    }
    return bsearch(&probe, db->index, db->count, sizeof *db->index, compare_entries) != NULL;
}

nipc_error_t nipc_tool_cgroups_lookup(void *ctx, const nipc_cgroups_lookup_req_t *req,
                                      nipc_cgroups_lookup_builder_t *b)
{
    nipc_tool_cgroups_t *db = ctx;
    nipc__mutex_lock(db->lock);
    nipc_cgroups_lookup_builder_set_generation(b, db->generation);
    for (uint32_t i = 0; i < req->item_count; i++) {
        nipc_cgroups_lookup_item_t it = {.status = NIPC_CGROUP_UNKNOWN_PERMANENT, .name = {"", 0}};
        nipc_cgroups_lookup_req_key(req, i, &it.path);
        nipc_tool_cgroup_facts_t d = {0};
        if (!nipc_cgroups_lookup_builder_exceeded(b) && known(db, it.path)) {
            nipc_tool_cgroup_facts(it.path, &d);
            it.status = NIPC_CGROUP_KNOWN;
            it.orchestrator = d.orchestrator;
            it.name = d.name;
            it.labels.count = d.nlabels;
        }
        nipc_cgroups_lookup_builder_add(b, &it, d.labels);
    }
    nipc__mutex_unlock(db->lock);
    return NIPC_OK;
}
