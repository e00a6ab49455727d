/*
 * A complete small netipc provider: serves a cgroups snapshot under the
 * service name "cgroups-snapshot" in the run directory given on the command
 * line, until SIGINT or SIGTERM.
 *
 *   ./example_provider /run/user/1000/netipc
 *
 * The handler builds the answer with the snapshot builder straight into the
 * library's response buffer; a real provider would walk its own table.
 */
#include <netipc/netipc.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

static nipc_server_t *server;

static void on_signal(int sig)
{
    (void)sig;
    nipc_server_stop(server); /* async-signal-safe */
}

struct cgroup {
    const char *name;
    int enabled;
};

static const struct cgroup table[] = {
    {"init.scope", 1},
    {"system.slice/nginx.service", 1},
    {"system.slice/docker-4f2a9c01.scope", 1},
    {"user.slice/user-1000.slice", 0},
};

/* Called on a session thread for every request; must be thread-safe. */
static nipc_error_t build_snapshot(void *ctx, void *buf, size_t cap, size_t *out_len)
{
    (void)ctx;
    uint32_t n = (uint32_t)(sizeof table / sizeof table[0]);
    nipc_cgroups_builder_t b;
    nipc_cgroups_builder_init(&b, buf, cap, n, /*systemd_enabled=*/1, /*generation=*/1);
    for (uint32_t i = 0; i < n; i++) {
        char path[256];
        int len = snprintf(path, sizeof path, "/sys/fs/cgroup/%s", table[i].name);
        uint32_t name_len = (uint32_t)strlen(table[i].name);
        nipc_cgroups_builder_add(&b, nipc_djb2(table[i].name, name_len), 0,
                                 (uint32_t)table[i].enabled, table[i].name, name_len, path,
                                 (uint32_t)len);
    }
    /* BUFFER_TOO_SMALL here tells the client to grow its limits. */
    return nipc_cgroups_builder_finish(&b, out_len);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s <run-dir>\n", argv[0]);
        return 2;
    }
    nipc_server_config_t cfg = {
        .supported_profiles = NIPC_PROFILE_BASELINE | NIPC_PROFILE_SHM_HYBRID,
        .max_sessions = 16,
    };
    nipc_error_t err = nipc_server_create_cgroups_snapshot(argv[1], "cgroups-snapshot", &cfg,
                                                           build_snapshot, NULL, &server);
    if (err != NIPC_OK) {
        fprintf(stderr, "provider: %s\n", nipc_strerror(err));
        return 1;
    }
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    printf("provider: serving cgroups-snapshot in %s\n", argv[1]);
    fflush(stdout);

    /* Accepts clients on this thread (sessions get their own) until
     * on_signal() asks the server to stop. */
    err = nipc_server_run(server);
    if (err != NIPC_OK)
        fprintf(stderr, "provider: %s\n", nipc_strerror(err));
    /* Let sessions finish their current request; force them after 2 s. */
    nipc_server_join(server, 2000);
    nipc_server_destroy(server); /* removes the socket and SHM files */
    printf("provider: stopped\n");
    return 0;
}
