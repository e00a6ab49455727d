/*
 * netipc tool, POSIX half: the default run directory, what each entry of a
 * run directory is, stopping on SIGINT / SIGTERM, and OS error texts.
 *
 *   {service}.sock              endpoint: live when a connect succeeds (or the
 *                               backlog is full), stale when nobody answers,
 *                               foreign when it is not a socket
 *   {service}-{16 hex}.ipcshm   a session's region, judged by the library's
 *                               stale detection (live owner / dead owner);
 *                               foreign when it is not a netipc region
 *   {service}.serve-info        `netipc serve`'s sidecar: live while its pid is
 *   anything else               foreign
 *
 * Removal re-checks an entry right before it goes; regions through the
 * library, which also checks that the name still points at the file it
 * judged.
 */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "tools/tool.h"
#include "transport/transport_internal.h"

int nipc_tool_default_run_dir(char *out, size_t cap)
{
    const char *env = getenv("NETIPC_RUN_DIR");
    const char *xdg = getenv("XDG_RUNTIME_DIR");
    int n;
    if (env && *env)
        n = snprintf(out, cap, "%s", env);
    else if (xdg && *xdg)
        n = snprintf(out, cap, "%s/netipc", xdg);
    else
        n = snprintf(out, cap, "/tmp/netipc-%u", (unsigned)geteuid());
    if (n < 0 || (size_t)n >= cap) {
        tool_error("run directory path too long: %s", env ? env : xdg);
        return -1;
    }
    if (mkdir(out, 0700) != 0 && errno != EEXIST) {
        tool_error("cannot create run directory %s: %s", out, strerror(errno));
        return -1;
    }
    return 0;
}

int64_t nipc_tool_pid(void)
{
    return (int64_t)getpid();
}

int nipc_tool_pid_alive(int64_t pid)
{
    if (pid <= 0 || pid > INT32_MAX)
        return 0;
    if (kill((pid_t)pid, 0) == 0 || errno == EPERM)
        return 1;
    return errno == ESRCH ? 0 : -1;
}

const char *nipc_tool_os_error_text(int os, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s", strerror(os));
    return buf;
}

/* --------------------------------------------------------------- stopping */

static void (*stop_fn)(void);

static void on_signal(int sig)
{
    (void)sig;
    if (stop_fn)
        stop_fn();
}

void nipc_tool_on_stop(void (*fn)(void))
{
    stop_fn = fn;
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
}

void nipc_tool_stopped(void)
{
    /* Nothing waits for it here: a signal does not end the process. */
}

/* ------------------------------------------------------------ classifying */

static bool ends_with(const char *s, const char *suffix, size_t *stem)
{
    size_t n = strlen(s), k = strlen(suffix);
    if (n <= k || strcmp(s + n - k, suffix) != 0)
        return false;
    *stem = n - k;
    return true;
}

static tool_state_t socket_state(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return TOOL_UNKNOWN;
    if (!S_ISSOCK(st.st_mode))
        return TOOL_FOREIGN;
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof sa.sun_path)
        return TOOL_FOREIGN; /* no netipc endpoint has such a path */
    memcpy(sa.sun_path, path, strlen(path) + 1);
    int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return TOOL_UNKNOWN; /* cannot probe: never call it stale */
    int rc = connect(fd, (struct sockaddr *)&sa, sizeof sa);
    int e = errno;
    close(fd);
    if (rc == 0 || e == EAGAIN)
        return TOOL_LIVE;
    if (e == EPROTOTYPE)
        return TOOL_FOREIGN; /* a live socket of another type */
    return e == ECONNREFUSED || e == ENOENT ? TOOL_STALE : TOOL_UNKNOWN;
}

/* "pid=N ..." of a serve-info file; -1 when it cannot be read. */
static int64_t info_pid(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    long long pid = -1;
    if (fscanf(f, "pid=%lld", &pid) != 1)
        pid = -1;
    fclose(f);
    return pid;
}

/* Fills e for the entry `name` of run_dir; false for entries to skip. */
static bool classify(const char *run_dir, const char *name, tool_entry_t *e)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", run_dir, name);
    memset(e, 0, sizeof *e);
    snprintf(e->name, sizeof e->name, "%s", name);
    e->kind = TOOL_OTHER;
    e->state = TOOL_FOREIGN;
    size_t stem;
    if (ends_with(name, ".sock", &stem)) {
        snprintf(e->service, sizeof e->service, "%.*s", (int)stem, name);
        e->kind = TOOL_SOCKET;
        e->state = nipc_service_name_valid(e->service) ? socket_state(path) : TOOL_FOREIGN;
    } else if (ends_with(name, ".serve-info", &stem)) {
        snprintf(e->service, sizeof e->service, "%.*s", (int)stem, name);
        e->kind = TOOL_INFO;
        int64_t pid = info_pid(path);
        int alive = pid > 0 ? nipc_tool_pid_alive(pid) : 0;
        e->state = pid <= 0 ? TOOL_FOREIGN : alive == 1 ? TOOL_LIVE : alive == 0 ? TOOL_STALE
                                                                               : TOOL_UNKNOWN;
    } else if (ends_with(name, ".ipcshm", &stem) && stem > 17 && name[stem - 17] == '-') {
        /* {service}-{16 hex}.ipcshm, exactly as the library names them. */
        snprintf(e->service, sizeof e->service, "%.*s", (int)(stem - 17), name);
        bool hex = true;
        for (size_t i = stem - 16; i < stem; i++)
            hex &= (name[i] >= '0' && name[i] <= '9') || (name[i] >= 'a' && name[i] <= 'f');
        e->kind = TOOL_REGION;
        if (!hex || !nipc_service_name_valid(e->service))
            return e->state = TOOL_FOREIGN, true;
        switch (nipc__shm_region_state(run_dir, name)) {
        case NIPC__REGION_ABSENT:
            return false; /* gone meanwhile */
        case NIPC__REGION_LIVE:
            e->state = TOOL_LIVE;
            break;
        case NIPC__REGION_STALE:
            e->state = TOOL_STALE;
            break;
        case NIPC__REGION_JUNK:
            e->state = TOOL_FOREIGN; /* named like a region, not one of ours */
            break;
        default:
            e->state = TOOL_UNKNOWN;
            break;
        }
    }
    return true;
}

/* Could `name` belong to `service`? A cheap test before classify() probes
 * anything: {service}.sock, {service}.serve-info, {service}-{hex}.ipcshm. */
static bool may_belong(const char *name, const char *service)
{
    size_t n = strlen(service);
    return strncmp(name, service, n) == 0 && (name[n] == '.' || name[n] == '-');
}

int nipc_tool_scan(const char *run_dir, const char *service,
                   int (*fn)(const tool_entry_t *e, void *ctx), void *ctx)
{
    DIR *d = opendir(run_dir);
    if (!d) {
        tool_error("cannot read run directory %s: %s", run_dir, strerror(errno));
        return -1;
    }
    struct dirent *de;
    int rc = 0;
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        if (service && !may_belong(de->d_name, service))
            continue;
        tool_entry_t e;
        if (!classify(run_dir, de->d_name, &e) || (service && strcmp(e.service, service) != 0))
            continue;
        if (fn(&e, ctx) != 0)
            rc = -1;
    }
    closedir(d);
    return rc;
}

int nipc_tool_remove_stale(const char *run_dir, const tool_entry_t *e)
{
    tool_entry_t now;
    if (!classify(run_dir, e->name, &now) || now.state != TOOL_STALE)
        return 1; /* changed meanwhile: no longer ours to remove */
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", run_dir, e->name);
    int rc;
    if (e->kind == TOOL_REGION)
        rc = nipc__shm_remove_stale(run_dir, e->name) == 1 ? 0 : -1;
    else
        rc = unlink(path) == 0 ? 0 : -1;
    if (rc != 0)
        tool_error("cannot remove %s: %s", path, strerror(errno));
    return rc;
}
