/*
 * An apps-lookup consumer: asks the "apps-lookup" provider in the given run
 * directory about three PIDs in one call and prints one line per answer.
 *
 *   ./example_apps_consumer /run/user/1000/netipc
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
    nipc_error_t err = nipc_client_create(argv[1], "apps-lookup", NULL, &c);
    if (err == NIPC_OK)
        err = nipc_client_refresh(c); /* NOT_FOUND: no provider (yet) */

    uint32_t pids[] = {1, 4242, 999999};
    nipc_apps_lookup_view_t v;
    if (err == NIPC_OK)
        err = nipc_client_apps_lookup(c, pids, 3, &v, 0); /* GENERATION_CHANGED: ask again */
    if (err != NIPC_OK) {
        fprintf(stderr, "apps consumer: %s\n", nipc_strerror(err));
        nipc_client_free(c);
        return 1;
    }
    for (uint32_t i = 0; i < v.item_count; i++) { /* item i answers pids[i] */
        nipc_apps_lookup_item_t it;
        nipc_apps_lookup_resp_item(&v, i, &it);
        printf("pid %u: %s", it.pid, nipc_app_status_name(it.status));
        if (it.status == NIPC_APP_KNOWN)
            printf(" comm=%.*s cgroup=%.*s", (int)it.comm.len, it.comm.ptr,
                   (int)it.cgroup_path.len, it.cgroup_path.ptr);
        for (uint32_t j = 0; j < it.labels.count; j++) {
            nipc_label_t l;
            nipc_lookup_label(&it.labels, j, &l);
            printf(" %.*s=%.*s", (int)l.key.len, l.key.ptr, (int)l.value.len, l.value.ptr);
        }
        printf("\n");
    } /* v is valid until the next call on c */
    nipc_client_free(c);
    return 0;
}
