/*
 * The Go rows of the benchmark suite: the pure-Go implementation (go/) on
 * its own (go-*), as a client of the C library (go2c-*: Go client, C
 * server) and as a server for it (c2go-*: C client, Go server), for the
 * ping-pong, batch, pipeline, snapshot and lookup scenarios, each compared
 * with the C library row of the same name. The Go roles run in
 * go/cmd/netipc-bench-go, which speaks the runner's role protocol and
 * serves and asks for the same data (the same corpus, limits and checks).
 *
 * The rows exist only when that binary is there (built by CMake when a Go
 * toolchain is found), so a machine without Go runs the C rows as before.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"

typedef struct go_base {
    const char *row; /* the C library row it is compared with */
    const char *transport, *what;
    scenario_kind_t kind;
    uint32_t items, param, shm;
    const server_ops_t *server;
    const client_ops_t *client;
} go_base_t;

static const go_base_t bases[] = {
    {"uds-ping-pong", "uds", "INCREMENT call", KIND_REQRESP, 1, 0, 0, &bench_lib_increment_server,
     &bench_lib_increment_client},
    {"shm-ping-pong", "shm", "INCREMENT call", KIND_REQRESP, 1, 0, 1, &bench_lib_increment_server,
     &bench_lib_increment_client},
    {"uds-batch", "uds", "INCREMENT batch, 1,000 items", KIND_REQRESP, BENCH_BATCH_ITEMS, 0, 0,
     &bench_lib_increment_server, &bench_lib_batch_client},
    {"shm-batch", "shm", "INCREMENT batch, 1,000 items", KIND_REQRESP, BENCH_BATCH_ITEMS, 0, 1,
     &bench_lib_increment_server, &bench_lib_batch_client},
    {"uds-pipeline-d16", "uds", "L1 INCREMENT, 16 in flight", KIND_PIPELINE, 1, 0, 0,
     &bench_lib_increment_server, &bench_lib_pipeline_client},
    {"uds-snapshot-1000", "uds", "CGROUPS_SNAPSHOT, 1,000 items", KIND_REQRESP, 1, 1000, 0,
     &bench_lib_snapshot_server, &bench_lib_snapshot_client},
    {"shm-snapshot-1000", "shm", "CGROUPS_SNAPSHOT, 1,000 items", KIND_REQRESP, 1, 1000, 1,
     &bench_lib_snapshot_server, &bench_lib_snapshot_client},
    {"uds-cgroups-lookup-1000", "uds", "CGROUPS_LOOKUP, 1,000 keys per call", KIND_REQRESP, 1000,
     0, 0, &bench_lib_cgroups_lookup_server, &bench_lib_cgroups_lookup_client},
    {"shm-cgroups-lookup-1000", "shm", "CGROUPS_LOOKUP, 1,000 keys per call", KIND_REQRESP, 1000,
     0, 1, &bench_lib_cgroups_lookup_server, &bench_lib_cgroups_lookup_client},
    {"uds-apps-lookup-1000", "uds", "APPS_LOOKUP, 1,000 PIDs per call", KIND_REQRESP, 1000, 0, 0,
     &bench_lib_apps_lookup_server, &bench_lib_apps_lookup_client},
    {"shm-apps-lookup-1000", "shm", "APPS_LOOKUP, 1,000 PIDs per call", KIND_REQRESP, 1000, 0, 1,
     &bench_lib_apps_lookup_server, &bench_lib_apps_lookup_client},
};

/* Who plays which role: Go<->Go, Go client + C server, C client + Go server. */
static const struct pairing {
    const char *prefix, *who;
    int go_server, go_client;
} pairings[] = {
    {"go-", "Go client, Go server", 1, 1},
    {"go2c-", "Go client, C server", 0, 1},
    {"c2go-", "C client, Go server", 1, 0},
};

const char *bench_go_exe(void)
{
    static char path[PATH_MAX];
    const char *env = getenv("NETIPC_BENCH_GO");
    if (env && *env)
        return env;
    if (!path[0]) {
        ssize_t n = readlink("/proc/self/exe", path, sizeof path - 32);
        if (n <= 0)
            return "netipc-bench-go";
        path[n] = 0;
        char *slash = strrchr(path, '/');
        strcpy(slash ? slash + 1 : path, "netipc-bench-go");
    }
    return path;
}

size_t bench_go_rows(scenario_t *rows, size_t cap)
{
    if (access(bench_go_exe(), X_OK) != 0)
        return 0;
    /* Names and descriptions live as long as the process. */
    static char names[sizeof pairings / sizeof pairings[0]][sizeof bases / sizeof bases[0]][48];
    static char whats[sizeof pairings / sizeof pairings[0]][sizeof bases / sizeof bases[0]][96];
    size_t n = 0;
    for (size_t p = 0; p < sizeof pairings / sizeof pairings[0]; p++) {
        for (size_t b = 0; b < sizeof bases / sizeof bases[0] && n < cap; b++) {
            const go_base_t *g = &bases[b];
            const struct pairing *pr = &pairings[p];
            snprintf(names[p][b], sizeof names[p][b], "%s%s", pr->prefix, g->row);
            snprintf(whats[p][b], sizeof whats[p][b], "%s (%s)", g->what, pr->who);
            int is_go_go = p == 0;
            int ping = g->kind == KIND_REQRESP && g->items == 1 && g->param == 0;
            rows[n++] = (scenario_t){
                .name = names[p][b],
                .family = "go",
                .transport = g->transport,
                .what = whats[p][b],
                .reference = g->row,
                .target = 0,
                .kind = g->kind,
                .items = g->items,
                .param = g->param,
                .shm = g->shm,
                /* Paced tiers and the quick suite: Go<->Go ping-pong only. */
                .fixed_tiers = is_go_go && ping,
                .quick = is_go_go && ping,
                /* A role without C ops here runs in the Go binary. */
                .server = pr->go_server ? NULL : g->server,
                .client = pr->go_client ? NULL : g->client,
                .local = NULL,
            };
        }
    }
    return n;
}

int bench_go_role(const scenario_t *sc, int server)
{
    return strcmp(sc->family, "go") == 0 && (server ? !sc->server : !sc->client);
}
