/*
 * The apps-lookup provider of `netipc serve` (POSIX half; the Windows half,
 * lookup_windows.c, refuses it): it answers from /proc (Linux): comm, ppid
 * and starttime (field 22) from /proc/<pid>/stat, the real uid from
 * /proc/<pid>/status, the cgroup from /proc/<pid>/cgroup (the root is
 * HOST_ROOT), named and labelled like cgroups-lookup does
 * (lookup_cgroups.c). A pid without /proc entry is UNKNOWN. Generation =
 * the provider's start time, so it changes whenever the provider restarts.
 * Where there is no /proc, nipc_tool_apps_available() says PLATFORM.
 *
 * Nothing here resolves a lookup key as a file except the check that a
 * process's own cgroup exists.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "corpus/corpus.h"
#include "netipc/netipc.h"
#include "tools/tool.h"

#define CGROUP_ROOT NIPC_CGROUP_ROOT /* what /proc/<pid>/cgroup paths are relative to */

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
    int v2 = !nipc_tool_cgroup_v1(CGROUP_ROOT);
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
        nipc_tool_cgroup_facts_t d = {0};
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
            nipc_tool_cgroup_facts(cg, &d);
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
