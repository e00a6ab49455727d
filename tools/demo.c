/*
 * make demo: netipc doing its main job on this machine, in two processes.
 *
 * A provider process serves this machine's cgroups snapshot (the corpus
 * when /sys/fs/cgroup is unreadable) and an INCREMENT endpoint, over UDS and
 * SHM, in a fresh private run directory. The consumer (this process) makes
 * typed calls over each transport, keeps a Level 3 cache and looks cgroups
 * up in it, measures round trips, then stops the provider and checks that
 * nothing is left behind. The numbers printed are this run's, on this
 * machine; the benchmark suite (make bench) is where speed is measured
 * properly.
 */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "corpus/corpus.h"
#include "netipc/netipc.h"
#include "platform/platform.h"

#define SNAPSHOT_SERVICE "cgroups-snapshot"
#define INCREMENT_SERVICE "increment"
#define PING_SECONDS_MS 1000u

static int fail(const char *what, nipc_error_t err)
{
    fprintf(stderr, "demo: %s: %s (%s)\n", what, nipc_strerror(err), nipc_error_name(err));
    return 1;
}

/* ------------------------------------------------------------- provider */

static nipc_cgroup_set_t cgroups;

static nipc_error_t handle_snapshot(void *ctx, void *buf, size_t cap, size_t *len)
{
    (void)ctx;
    return nipc_cgroup_set_encode(&cgroups, 1, buf, cap, len);
}

static nipc_error_t handle_increment(void *ctx, uint64_t value, uint64_t *out)
{
    (void)ctx;
    *out = value + 1;
    return NIPC_OK;
}

static volatile sig_atomic_t provider_stop;

static void on_term(int sig)
{
    (void)sig;
    provider_stop = 1;
}

/* Runs in the child: serve until SIGTERM, then stop cleanly. */
static int provider(const char *run_dir, int ready_fd)
{
    signal(SIGTERM, on_term);
    size_t need = nipc_cgroup_set_encoded_size(&cgroups);
    nipc_server_config_t cfg = {
        .supported_profiles = NIPC_PROFILE_BASELINE | NIPC_PROFILE_SHM_HYBRID,
        .max_response_payload_bytes = (uint32_t)(need < 65536 ? 65536 : need),
        .max_request_batch_items = 1000,
        .max_request_payload_bytes = 16384,
    };
    nipc_server_t *snap = NULL, *inc = NULL;
    nipc_error_t err =
        nipc_server_create_cgroups_snapshot(run_dir, SNAPSHOT_SERVICE, &cfg, handle_snapshot,
                                            NULL, &snap);
    if (err == NIPC_OK)
        err = nipc_server_create_increment(run_dir, INCREMENT_SERVICE, &cfg, handle_increment,
                                           NULL, &inc);
    if (err == NIPC_OK)
        err = nipc_server_start(snap);
    if (err == NIPC_OK)
        err = nipc_server_start(inc);
    char status = err == NIPC_OK ? 'R' : 'E';
    if (write(ready_fd, &status, 1) != 1 || err != NIPC_OK)
        return fail("provider", err);
    close(ready_fd);
    while (!provider_stop)
        pause();
    nipc_server_destroy(inc);
    nipc_server_destroy(snap);
    return 0;
}

/* ------------------------------------------------------------- consumer */

static nipc_client_t *connect_client(const char *run_dir, const char *service, uint32_t profile)
{
    nipc_client_config_t cfg = {
        .supported_profiles = NIPC_PROFILE_BASELINE | profile,
        .preferred_profiles = profile,
        .max_request_batch_items = 1000,
        .max_request_payload_bytes = 16384,
    };
    nipc_client_t *c = NULL;
    if (nipc_client_create(run_dir, service, &cfg, &c) != NIPC_OK)
        return NULL;
    nipc_client_refresh(c);
    if (!nipc_client_ready(c)) {
        nipc_client_status_t st;
        nipc_client_status(c, &st);
        fail(service, st.last_error);
        nipc_client_free(c);
        return NULL;
    }
    return c;
}

static int compare_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* INCREMENT ping-pong for about a second: calls/s and latency percentiles. */
static int ping(nipc_client_t *c, const char *label)
{
    enum { MAX_SAMPLES = 4000000 };
    uint64_t *lat = malloc(MAX_SAMPLES * sizeof *lat);
    if (!lat)
        return fail("allocating", NIPC_ERR_NO_MEMORY);
    uint64_t start = nipc__now_ns(), end = start + PING_SECONDS_MS * 1000000ull;
    size_t n = 0;
    uint64_t value = 0;
    while (n < MAX_SAMPLES) {
        uint64_t t0 = nipc__now_ns();
        if (t0 >= end)
            break;
        nipc_error_t err = nipc_client_increment(c, value, &value, 0);
        if (err != NIPC_OK) {
            free(lat);
            return fail(label, err);
        }
        lat[n++] = nipc__now_ns() - t0;
    }
    double secs = (double)(nipc__now_ns() - start) / 1e9;
    if (value != n) {
        fprintf(stderr, "demo: %s: counter %" PRIu64 " after %zu increments\n", label, value, n);
        free(lat);
        return 1;
    }
    qsort(lat, n, sizeof *lat, compare_u64);
    printf("  %-4s %9.0f calls/s   latency p50 %6.1f us  p99 %6.1f us  (%zu calls)\n", label,
           (double)n / secs, (double)lat[n / 2] / 1e3, (double)lat[n * 99 / 100] / 1e3, n);
    free(lat);
    return 0;
}

/* One 1,000-item INCREMENT batch per call, for about a second: items/s. */
static int batch(nipc_client_t *c, const char *label)
{
    static uint64_t in[1000], out[1000];
    for (uint32_t i = 0; i < 1000; i++)
        in[i] = i;
    uint64_t start = nipc__now_ns(), end = start + PING_SECONDS_MS * 1000000ull;
    uint64_t calls = 0;
    while (nipc__now_ns() < end) {
        nipc_error_t err = nipc_client_increment_batch(c, in, 1000, out, 0);
        if (err != NIPC_OK)
            return fail(label, err);
        if (out[0] != 1 || out[999] != 1000)
            return fail(label, NIPC_ERR_BAD_RESPONSE);
        calls++;
    }
    double secs = (double)(nipc__now_ns() - start) / 1e9;
    printf("  %-4s %9.0f items/s   in batches of 1,000 (%" PRIu64 " calls)\n", label,
           (double)calls * 1000 / secs, calls);
    return 0;
}

static int snapshot_summary(nipc_client_t *c, const char *label, uint64_t *payload_bytes)
{
    nipc_cgroups_view_t v;
    nipc_error_t err = nipc_client_cgroups_snapshot(c, &v, 0);
    if (err != NIPC_OK)
        return fail(label, err);
    uint32_t services = 0, containers = 0, slices = 0;
    for (uint32_t i = 0; i < v.item_count; i++) {
        nipc_cgroup_item_t it;
        err = nipc_cgroups_resp_item(&v, i, &it);
        if (err != NIPC_OK)
            return fail("snapshot item", err);
        if (it.name.len > 8 && memcmp(it.name.ptr + it.name.len - 8, ".service", 8) == 0)
            services++;
        else if (it.name.len > 6 && memcmp(it.name.ptr + it.name.len - 6, ".scope", 6) == 0)
            containers++;
        else if (it.name.len > 6 && memcmp(it.name.ptr + it.name.len - 6, ".slice", 6) == 0)
            slices++;
    }
    printf("  over %-4s: %u cgroups (%u services, %u scopes, %u slices), systemd %s, %zu bytes\n",
           label, v.item_count, services, containers, slices,
           v.systemd_enabled ? "enabled" : "not detected", v.len);
    *payload_bytes = v.len;
    return 0;
}

static int cache_demo(const char *run_dir)
{
    nipc_client_config_t cfg = {.supported_profiles = NIPC_PROFILE_BASELINE |
                                                      NIPC_PROFILE_SHM_HYBRID};
    nipc_cgroups_cache_t *cache;
    nipc_error_t err = nipc_cgroups_cache_create(run_dir, SNAPSHOT_SERVICE, &cfg, &cache);
    if (err == NIPC_OK)
        err = nipc_cgroups_cache_refresh(cache, 0);
    if (err != NIPC_OK)
        return fail("cache", err);
    nipc_cgroups_cache_read_lock(cache);
    uint32_t found = 0, n = nipc_cgroups_cache_count(cache);
    for (uint32_t i = 0; i < cgroups.count; i++) {
        const nipc_cgroup_entry_t *e = &cgroups.items[i];
        found += nipc_cgroups_cache_get(cache, e->hash, e->name, e->name_len) != NULL;
    }
    const nipc_cgroup_item_t *last = n ? nipc_cgroups_cache_item(cache, n - 1) : NULL;
    printf("  %u of %u cgroups found by (hash, name) in the local cache\n", found, cgroups.count);
    if (last)
        printf("  e.g. hash %08x -> %.*s\n", last->hash, (int)last->path.len, last->path.ptr);
    nipc_cgroups_cache_read_unlock(cache);
    nipc_cgroups_cache_free(cache);
    return found == cgroups.count ? 0 : 1;
}

static int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL)
        if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
            n++;
    closedir(d);
    return n;
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    char run_dir[] = "/tmp/netipc-demo-XXXXXX";
    if (!mkdtemp(run_dir)) {
        perror("demo: mkdtemp");
        return 1;
    }
    nipc_error_t err = nipc_cgroup_set_local(NIPC_CORPUS_MAX_ITEMS, 200, &cgroups);
    if (err != NIPC_OK)
        return fail("reading cgroups", err);

    int fds[2];
    if (pipe(fds) != 0) {
        perror("demo: pipe");
        return 1;
    }
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0) {
        perror("demo: fork");
        return 1;
    }
    if (pid == 0) {
        close(fds[0]);
        _exit(provider(run_dir, fds[1]));
    }
    close(fds[1]);
    char status = 0;
    if (read(fds[0], &status, 1) != 1 || status != 'R') {
        fprintf(stderr, "demo: the provider did not start\n");
        return 1;
    }
    close(fds[0]);

    printf("netipc demo\n");
    printf("  run dir  : %s (private, 0700)\n", run_dir);
    printf("  provider : pid %d serving '%s' and '%s' over UDS and SHM\n", (int)pid,
           SNAPSHOT_SERVICE, INCREMENT_SERVICE);
    printf("  source   : %s\n\n",
           strcmp(cgroups.source, "corpus") == 0
               ? "deterministic corpus (this machine's /sys/fs/cgroup is not readable)"
               : "this machine's /sys/fs/cgroup");

    int rc = 0;
    nipc_client_t *snap_uds = connect_client(run_dir, SNAPSHOT_SERVICE, 0);
    nipc_client_t *snap_shm = connect_client(run_dir, SNAPSHOT_SERVICE, NIPC_PROFILE_SHM_HYBRID);
    nipc_client_t *inc_uds = connect_client(run_dir, INCREMENT_SERVICE, 0);
    nipc_client_t *inc_shm = connect_client(run_dir, INCREMENT_SERVICE, NIPC_PROFILE_SHM_HYBRID);
    if (!snap_uds || !snap_shm || !inc_uds || !inc_shm) {
        rc = 1;
    } else {
        uint64_t a = 0, b = 0;
        printf("cgroups snapshot (typed call CGROUPS_SNAPSHOT)\n");
        rc |= snapshot_summary(snap_uds, "UDS", &a);
        rc |= snapshot_summary(snap_shm, "SHM", &b);
        if (!rc && a != b)
            rc = fail("snapshots differ between transports", NIPC_ERR_BAD_RESPONSE);
        printf("\nlocal cache (Level 3)\n");
        rc |= cache_demo(run_dir);
        printf("\nround trips (INCREMENT, one call at a time, ~1 s each)\n");
        rc |= ping(inc_uds, "UDS");
        rc |= ping(inc_shm, "SHM");
        printf("\nbatches (INCREMENT, 1,000 items per call, ~1 s each)\n");
        rc |= batch(inc_uds, "UDS");
        rc |= batch(inc_shm, "SHM");
    }
    nipc_client_free(snap_uds);
    nipc_client_free(snap_shm);
    nipc_client_free(inc_uds);
    nipc_client_free(inc_shm);

    kill(pid, SIGTERM);
    int st = 0;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    int left = count_entries(run_dir);
    printf("\nprovider stopped (exit %d); files left in the run dir: %d\n",
           WIFEXITED(st) ? WEXITSTATUS(st) : -1, left);
    if (left != 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
        rc = 1;
    rmdir(run_dir);
    nipc_cgroup_set_free(&cgroups);
    printf(rc ? "demo FAILED\n" : "demo finished\n");
    return rc;
}
