/*
 * Typed calls without the cache: asks the "cgroups-snapshot" provider in the
 * given run directory for one snapshot and prints the cgroup paths.
 *
 *   ./example_client /run/user/1000/netipc
 *
 * A collector keeps the client for its whole life and calls refresh() from
 * its own loop; this program makes one call and exits.
 */
#include <netipc/netipc.h>
#include <stdio.h>

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s <run-dir>\n", argv[0]);
        return 2;
    }
    nipc_client_t *c;
    nipc_error_t err = nipc_client_create(argv[1], "cgroups-snapshot", NULL, &c);
    if (err != NIPC_OK) {
        fprintf(stderr, "client: %s\n", nipc_strerror(err));
        return 1;
    }
    /* Connects; NOT_FOUND (no provider yet) is normal and is simply tried
     * again on the next cycle of a real collector. */
    err = nipc_client_refresh(c);
    if (err == NIPC_OK) {
        nipc_cgroups_view_t v;
        err = nipc_client_cgroups_snapshot(c, &v, 0);
        if (err == NIPC_OK) {
            for (uint32_t i = 0; i < v.item_count; i++) {
                nipc_cgroup_item_t it;
                if (nipc_cgroups_resp_item(&v, i, &it) == NIPC_OK)
                    printf("%.*s\n", (int)it.path.len, it.path.ptr);
            }
        } /* v points into the client's buffer: valid until the next call on c */
    }
    if (err != NIPC_OK)
        fprintf(stderr, "client: %s\n", nipc_strerror(err));
    nipc_client_free(c);
    return err == NIPC_OK ? 0 : 1;
}
