/*
 * The lookup providers of `netipc serve` (POSIX):
 *
 *  - cgroups-lookup answers from this machine's cgroup tree (the scanner in
 *    src/corpus; invented cgroups only with --corpus N): a known path,
 *    given in full (/sys/fs/cgroup/...) or relative to the root as in
 *    /proc/<pid>/cgroup (/system.slice/...), is KNOWN with an orchestrator
 *    guessed from the path, the last path component as its name and a few
 *    derived labels; anything else is UNKNOWN_PERMANENT. The tree is
 *    rescanned on demand; a changed tree bumps the generation.
 *  - apps-lookup answers from /proc: comm, ppid and starttime (field 22)
 *    from /proc/<pid>/stat, the real uid from /proc/<pid>/status, the
 *    cgroup from /proc/<pid>/cgroup (the root is HOST_ROOT). A pid without
 *    /proc entry is UNKNOWN. Generation = the provider's start time, so it
 *    changes whenever the provider restarts.
 *
 * Paths are opaque keys: nothing here resolves a lookup key as a file
 * except the apps provider's check that a process's own cgroup exists.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "corpus/corpus.h"
#include "netipc/netipc.h"
#include "platform/platform.h"
#include "tools/tool.h"

#define CGROUP_ROOT NIPC_CGROUP_ROOT /* what /proc/<pid>/cgroup paths are relative to */

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

/* Name, labels and orchestrator of a cgroup path; strings borrow `path` or
 * static storage. */
typedef struct derived {
    uint16_t orchestrator;
    nipc_str_t name;
    nipc_label_t labels[3];
    uint16_t nlabels;
} derived_t;

static nipc_str_t component_before(nipc_str_t path, uint32_t end)
{
    uint32_t start = end;
    while (start > 0 && path.ptr[start - 1] != '/')
        start--;
    nipc_str_t s = {path.ptr + start, end - start};
    return s;
}

static void derive(nipc_str_t path, derived_t *d)
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

/* cgroup v1 keeps one tree per controller (memory/..., cpu,cpuacct/...),
 * while /proc/<pid>/cgroup names paths inside a controller: index those
 * paths without the controller directory too. */
static int is_v1(const char *root)
{
    char path[1100];
    struct stat st;
    snprintf(path, sizeof path, "%s/cgroup.controllers", root);
    return stat(path, &st) != 0;
}

static nipc_error_t build_index(const char *root, const nipc_cgroup_set_t *set,
                                index_entry_t **out, uint32_t *count)
{
    int v1 = is_v1(root);
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
    err = build_index(db->root, set, idx, count);
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
        derived_t d = {0};
        if (!nipc_cgroups_lookup_builder_exceeded(b) && known(db, it.path)) {
            derive(it.path, &d);
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

/* ----------------------------------------------------------- apps-lookup */

/* Reads a small /proc file into buf (NUL-terminated); -1 with errno on failure. */
static ssize_t read_small(const char *path, char *buf, size_t cap)
{
    FILE *f = fopen(path, "re");
    if (!f)
        return -1;
    size_t n = fread(buf, 1, cap - 1, f);
    int failed = ferror(f);
    fclose(f);
    if (failed)
        return -1;
    buf[n] = 0;
    return (ssize_t)n;
}

typedef struct proc_info {
    char comm[16];
    uint32_t ppid, uid;
    uint64_t starttime;
    char cgroup[1024];
    int cgroup_read;  /* /proc/<pid>/cgroup could be read */
    int cgroup_found; /* that cgroup's directory exists */
} proc_info_t;

/* /proc/<pid>/stat: comm in parentheses (may hold spaces and ')'), then
 * fields 3.. separated by spaces; ppid is field 4, starttime field 22. */
static int read_stat(uint32_t pid, proc_info_t *p)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%u/stat", pid);
    if (read_small(path, buf, sizeof buf) < 0)
        return 0;
    char *open = strchr(buf, '('), *close = strrchr(buf, ')');
    if (!open || !close || close < open)
        return 0;
    size_t n = (size_t)(close - open - 1);
    if (n > NIPC_APPS_COMM_MAX)
        n = NIPC_APPS_COMM_MAX;
    memcpy(p->comm, open + 1, n);
    p->comm[n] = 0;
    for (size_t i = 0; i < n; i++)
        if (!p->comm[i]) /* cannot happen in a kernel comm; keep the wire rule anyway */
            p->comm[i] = '?';
    char *field = close + 2; /* field 3 */
    for (int f = 3; f <= 22 && field && *field; f++) {
        if (f == 4)
            p->ppid = (uint32_t)strtoul(field, NULL, 10);
        if (f == 22)
            p->starttime = strtoull(field, NULL, 10);
        field = strchr(field, ' ');
        if (field)
            field++;
    }
    return 1;
}

static void read_uid(uint32_t pid, proc_info_t *p)
{
    char path[64], buf[4096];
    snprintf(path, sizeof path, "/proc/%u/status", pid);
    p->uid = NIPC_UID_UNSET;
    if (read_small(path, buf, sizeof buf) < 0)
        return;
    char *line = strstr(buf, "\nUid:");
    if (line)
        p->uid = (uint32_t)strtoul(line + 5, NULL, 10); /* the real uid comes first */
}

/* One line of /proc/<pid>/cgroup: "id:controllers:path". */
typedef struct cg_line {
    const char *ctl, *path;
    size_t ctl_len, path_len;
} cg_line_t;

static int parse_line(char *line, size_t len, cg_line_t *out)
{
    char *c1 = memchr(line, ':', len);
    char *c2 = c1 ? memchr(c1 + 1, ':', len - (size_t)(c1 + 1 - line)) : NULL;
    if (!c2)
        return 0;
    out->ctl = c1 + 1;
    out->ctl_len = (size_t)(c2 - out->ctl);
    out->path = c2 + 1;
    out->path_len = len - (size_t)(out->path - line);
    return 1;
}

static int at_root(const cg_line_t *l)
{
    return l->path_len == 1 && l->path[0] == '/';
}

/* Picks the process's cgroup: the unified (v2) line on a v2 host, else the
 * name=systemd hierarchy, else the first controller not at its root, else
 * the root itself. Then checks that its directory exists. */
static void read_cgroup(uint32_t pid, proc_info_t *p)
{
    char path[64], buf[8192], dir[sizeof p->cgroup + 64];
    snprintf(path, sizeof path, "/proc/%u/cgroup", pid);
    p->cgroup_read = read_small(path, buf, sizeof buf) >= 0;
    if (!p->cgroup_read)
        return;
    int v2 = !is_v1(CGROUP_ROOT);
    cg_line_t best = {"", "/", 0, 1}, fallback = {NULL, NULL, 0, 0};
    int have_best = 0;
    for (char *line = buf; *line;) {
        char *next = strchr(line, '\n');
        size_t len = next ? (size_t)(next - line) : strlen(line);
        cg_line_t l;
        if (parse_line(line, len, &l)) {
            int unified = l.ctl_len == 0;
            int systemd = l.ctl_len == 12 && memcmp(l.ctl, "name=systemd", 12) == 0;
            if (!have_best && ((v2 && unified) || (!v2 && systemd && !at_root(&l)))) {
                best = l;
                have_best = 1;
            } else if (!v2 && !unified && !fallback.path && !at_root(&l)) {
                fallback = l;
            }
        }
        if (!next)
            break;
        line = next + 1;
    }
    if (!have_best && fallback.path)
        best = fallback;
    size_t n = best.path_len < sizeof p->cgroup ? best.path_len : sizeof p->cgroup - 1;
    memcpy(p->cgroup, best.path, n);
    p->cgroup[n] = 0;
    /* v1 trees live under the controller's directory ("name=systemd" in "systemd"). */
    const char *ctl = best.ctl;
    size_t ctl_len = best.ctl_len;
    if (ctl_len > 5 && memcmp(ctl, "name=", 5) == 0) {
        ctl += 5;
        ctl_len -= 5;
    }
    snprintf(dir, sizeof dir, CGROUP_ROOT "%s%.*s%s", ctl_len ? "/" : "", (int)ctl_len, ctl,
             p->cgroup);
    struct stat st;
    p->cgroup_found = stat(dir, &st) == 0;
}

nipc_error_t nipc_tool_apps_lookup(void *ctx, const nipc_apps_lookup_req_t *req,
                                   nipc_apps_lookup_builder_t *b)
{
    const uint64_t *generation = ctx;
    nipc_apps_lookup_builder_set_generation(b, *generation);
    for (uint32_t i = 0; i < req->item_count; i++) {
        nipc_apps_lookup_item_t it = {.status = NIPC_APP_UNKNOWN,
                                      .uid = NIPC_UID_UNSET,
                                      .comm = {"", 0},
                                      .cgroup_path = {"", 0},
                                      .cgroup_name = {"", 0}};
        nipc_apps_lookup_req_pid(req, i, &it.pid);
        proc_info_t p;
        derived_t d = {0};
        memset(&p, 0, sizeof p);
        /* Past the budget every answer becomes PAYLOAD_EXCEEDED: skip /proc. */
        if (nipc_apps_lookup_builder_exceeded(b) || it.pid == 0 || !read_stat(it.pid, &p) ||
            !p.comm[0]) {
            nipc_apps_lookup_builder_add(b, &it, NULL);
            continue;
        }
        read_uid(it.pid, &p);
        read_cgroup(it.pid, &p);
        it.status = NIPC_APP_KNOWN;
        it.comm = (nipc_str_t){p.comm, (uint32_t)strlen(p.comm)};
        it.ppid = p.ppid;
        it.uid = p.uid;
        it.starttime = p.starttime;
        nipc_str_t cg = {p.cgroup, (uint32_t)strlen(p.cgroup)};
        if (!p.cgroup_read) {
            it.cgroup_status = NIPC_APP_CGROUP_UNKNOWN_RETRY_LATER; /* e.g. a race with exit */
        } else if (cg.len == 1 && cg.ptr[0] == '/') {
            it.cgroup_status = NIPC_APP_CGROUP_HOST_ROOT;
        } else if (!p.cgroup_found) {
            it.cgroup_status = NIPC_APP_CGROUP_UNKNOWN_PERMANENT;
            it.cgroup_path = cg;
        } else {
            derive(cg, &d);
            it.cgroup_status = NIPC_APP_CGROUP_KNOWN;
            it.cgroup_path = cg;
            it.cgroup_name = d.name;
            it.orchestrator = d.orchestrator;
            it.labels.count = d.nlabels;
        }
        nipc_apps_lookup_builder_add(b, &it, d.labels);
    }
    return NIPC_OK;
}

nipc_error_t nipc_tool_apps_available(void)
{
    return access("/proc/self/stat", R_OK) == 0 ? NIPC_OK : NIPC_ERR_PLATFORM;
}

uint64_t nipc_tool_apps_generation(void)
{
    return (uint64_t)time(NULL);
}
