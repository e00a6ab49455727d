/*
 * A cgroups-lookup consumer: asks the "cgroups-lookup" provider in the given
 * run directory about the cgroup paths on the command line, in one call.
 *
 *   ./example_cgroups_lookup /run/user/1000/netipc /system.slice/ssh.service /gone.scope
 *
 * Try it against the tool: netipc serve cgroups-lookup --run-dir DIR
 */
#include <netipc/netipc.h>
#include <stdio.h>
#include <string.h>

#define MAX_PATHS 64

int main(int argc, char **argv)
{
    if (argc < 3 || argc - 2 > MAX_PATHS) {
        fprintf(stderr, "usage: %s <run-dir> <path>... (at most %d)\n", argv[0], MAX_PATHS);
        return 2;
    }
    nipc_str_t paths[MAX_PATHS];
    uint32_t n = (uint32_t)(argc - 2);
    for (uint32_t i = 0; i < n; i++)
        paths[i] = (nipc_str_t){argv[i + 2], (uint32_t)strlen(argv[i + 2])};

    nipc_client_t *c;
    nipc_error_t err = nipc_client_create(argv[1], "cgroups-lookup", NULL, &c);
    if (err == NIPC_OK)
        err = nipc_client_refresh(c);
    nipc_cgroups_lookup_view_t v;
    if (err == NIPC_OK)
        err = nipc_client_cgroups_lookup(c, paths, n, &v, 0);
    if (err != NIPC_OK) {
        fprintf(stderr, "cgroups lookup: %s\n", nipc_strerror(err));
        nipc_client_free(c);
        return 1;
    }
    for (uint32_t i = 0; i < v.item_count; i++) { /* item i answers paths[i] */
        nipc_cgroups_lookup_item_t it;
        nipc_cgroups_lookup_resp_item(&v, i, &it);
        printf("%.*s: %s, %s\n", (int)it.path.len, it.path.ptr,
               nipc_cgroup_lookup_status_name(it.status), nipc_orchestrator_name(it.orchestrator));
    }
    nipc_client_free(c);
    return 0;
}
