/*
 * A complete small netipc consumer: keeps a local cache of the cgroups
 * snapshot served by "cgroups-snapshot" in the given run directory, and
 * looks a cgroup up by (hash, name) the way a collector does every cycle.
 *
 *   ./example_consumer /run/user/1000/netipc [cycles]
 *
 * The provider may be missing, start late or restart: refresh() reconnects
 * from this loop and the cache keeps the last good snapshot meanwhile.
 */
#include <netipc/netipc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s <run-dir> [cycles]\n", argv[0]);
        return 2;
    }
    int cycles = argc > 2 ? atoi(argv[2]) : 5;

    nipc_client_config_t cfg = {
        .supported_profiles = NIPC_PROFILE_BASELINE | NIPC_PROFILE_SHM_HYBRID,
        .call_timeout_ms = 2000,
    };
    nipc_cgroups_cache_t *cache;
    nipc_error_t err = nipc_cgroups_cache_create(argv[1], "cgroups-snapshot", &cfg, &cache);
    if (err != NIPC_OK) {
        fprintf(stderr, "consumer: %s\n", nipc_strerror(err));
        return 1;
    }

    const char *wanted = "system.slice/nginx.service";
    uint32_t hash = nipc_djb2(wanted, strlen(wanted));
    int found_any = 0;
    for (int cycle = 0; cycle < cycles; cycle++) {
        err = nipc_cgroups_cache_refresh(cache, 0);
        if (err != NIPC_OK)
            printf("cycle %d: refresh failed (%s); %s\n", cycle, nipc_error_name(err),
                   nipc_cgroups_cache_ready(cache) ? "using the previous snapshot"
                                                   : "no data yet");

        nipc_cgroups_cache_read_lock(cache);
        const nipc_cgroup_item_t *item =
            nipc_cgroups_cache_get(cache, hash, wanted, (uint32_t)strlen(wanted));
        if (item)
            printf("cycle %d: %u cgroups cached; %s -> %.*s (enabled %u)\n", cycle,
                   nipc_cgroups_cache_count(cache), wanted, (int)item->path.len, item->path.ptr,
                   item->enabled);
        found_any |= item != NULL;
        nipc_cgroups_cache_read_unlock(cache); /* item belongs to the cache until here */
        sleep_ms(100);
    }

    nipc_cgroups_cache_status_t st;
    nipc_cgroups_cache_status(cache, &st);
    printf("consumer: %llu refreshes ok, %llu failed, client %s\n",
           (unsigned long long)st.refresh_success_count,
           (unsigned long long)st.refresh_failure_count, nipc_client_state_name(st.client_state));
    nipc_cgroups_cache_free(cache);
    return found_any ? 0 : 1;
}
