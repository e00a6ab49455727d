/*
 * netipc tool, POSIX: default run directory, endpoint status and cleanup.
 * A socket is live when a connect succeeds (its profiles come from a real
 * handshake), stale when nobody answers, junk when it is not a socket. SHM
 * files are judged by the library's stale detection.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "netipc/transport.h"
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
        fprintf(stderr, "netipc: run directory path too long\n");
        return -1;
    }
    if (mkdir(out, 0700) != 0 && errno != EEXIST) {
        fprintf(stderr, "netipc: cannot create run directory %s: %s\n", out, strerror(errno));
        return -1;
    }
    return 0;
}

typedef enum { SOCK_LIVE, SOCK_STALE, SOCK_JUNK } sock_state_t;

static sock_state_t probe_socket(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0 || !S_ISSOCK(st.st_mode))
        return SOCK_JUNK;
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof sa.sun_path)
        return SOCK_JUNK;
    strcpy(sa.sun_path, path);
    int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return SOCK_LIVE; /* cannot probe: never call it stale */
    int rc = connect(fd, (struct sockaddr *)&sa, sizeof sa);
    int e = errno;
    close(fd);
    if (rc == 0 || e == EAGAIN)
        return SOCK_LIVE;
    return SOCK_STALE;
}

static const char *profile_names(uint32_t mask, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s%s%s", mask & NIPC_PROFILE_BASELINE ? "uds " : "",
             mask & NIPC_PROFILE_SHM_HYBRID ? "shm-hybrid " : "",
             mask & NIPC_PROFILE_SHM_FUTEX ? "shm-futex " : "");
    size_t n = strlen(buf);
    if (n)
        buf[n - 1] = 0;
    return buf;
}

static void print_live(const char *run_dir, const char *service, uint64_t token)
{
    nipc_transport_config_t cfg = {.supported_profiles = NIPC_PROFILE_BASELINE,
                                   .auth_token = token,
                                   .handshake_timeout_ms = 2000};
    nipc_session_t *s;
    nipc_error_t err = nipc_session_connect(run_dir, service, &cfg, &s);
    if (err != NIPC_OK) {
        printf("  %-32s live    (handshake: %s)\n", service, nipc_error_name(err));
        return;
    }
    const nipc_session_info_t *i = nipc_session_info(s);
    char names[64];
    printf("  %-32s live    profiles %s; request <= %u B, response <= %u B\n", service,
           profile_names(i->server_profiles, names, sizeof names), i->max_request_payload,
           i->max_response_payload);
    nipc_session_close(s);
}

/* SHM file name -> service name (the part before "-<16 hex>.ipcshm"). */
static int region_service(const char *name, char *service, size_t cap)
{
    size_t n = strlen(name);
    if (n <= 24 || strcmp(name + n - 7, ".ipcshm") != 0 || name[n - 24] != '-')
        return 0;
    if (n - 24 >= cap)
        return 0;
    memcpy(service, name, n - 24);
    service[n - 24] = 0;
    return nipc_service_name_valid(service);
}

static int for_each_entry(const char *run_dir, int (*fn)(const char *run_dir, const char *name,
                                                         void *ctx),
                          void *ctx)
{
    DIR *d = opendir(run_dir);
    if (!d) {
        fprintf(stderr, "netipc: cannot read %s: %s\n", run_dir, strerror(errno));
        return -1;
    }
    struct dirent *de;
    int rc = 0;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        if (fn(run_dir, de->d_name, ctx) != 0)
            rc = -1;
    }
    closedir(d);
    return rc;
}

static int status_entry(const char *run_dir, const char *name, void *ctx)
{
    uint64_t token = *(const uint64_t *)ctx;
    char path[4096], service[256];
    size_t n = strlen(name);
    snprintf(path, sizeof path, "%s/%s", run_dir, name);
    if (n > 5 && strcmp(name + n - 5, ".sock") == 0) {
        snprintf(service, sizeof service, "%.*s", (int)(n - 5), name);
        switch (probe_socket(path)) {
        case SOCK_LIVE:
            print_live(run_dir, service, token);
            break;
        case SOCK_STALE:
            printf("  %-32s stale   (no provider; 'netipc cleanup' removes it)\n", service);
            break;
        case SOCK_JUNK:
            printf("  %-32s junk    (%s is not a socket)\n", service, name);
            break;
        }
    } else if (region_service(name, service, sizeof service)) {
        static const char *const states[] = {"absent", "live", "stale", "junk", "unknown"};
        printf("  %-32s shm     %s: %s\n", service, name,
               states[nipc__shm_region_state(run_dir, name)]);
    }
    return 0;
}

int nipc_tool_status(const char *run_dir, uint64_t token)
{
    printf("%s\n", run_dir);
    return for_each_entry(run_dir, status_entry, &token);
}

static int cleanup_entry(const char *run_dir, const char *name, void *ctx)
{
    int *removed = ctx;
    char path[4096], service[256];
    size_t n = strlen(name);
    snprintf(path, sizeof path, "%s/%s", run_dir, name);
    if (n > 5 && strcmp(name + n - 5, ".sock") == 0 && probe_socket(path) == SOCK_STALE) {
        if (unlink(path) == 0) {
            printf("removed stale socket %s\n", name);
            (*removed)++;
        } else {
            fprintf(stderr, "netipc: cannot remove %s: %s\n", path, strerror(errno));
            return -1;
        }
    } else if (region_service(name, service, sizeof service)) {
        nipc__region_state_t st = nipc__shm_region_state(run_dir, name);
        if (st == NIPC__REGION_STALE || st == NIPC__REGION_JUNK) {
            /* The library's own check, which re-verifies before unlinking. */
            uint32_t r = 0;
            if (nipc_shm_cleanup_stale(run_dir, service, &r) == NIPC_OK && r > 0) {
                printf("removed %u stale shared-memory file(s) of %s\n", r, service);
                *removed += (int)r;
            }
        }
    }
    return 0;
}

int nipc_tool_cleanup(const char *run_dir)
{
    int removed = 0;
    int rc = for_each_entry(run_dir, cleanup_entry, &removed);
    printf("%d file(s) removed from %s\n", removed, run_dir);
    return rc;
}
