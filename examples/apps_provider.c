/*
 * An apps-lookup provider: answers "what is this PID?" for the keys a client
 * sends, under the service name "apps-lookup" in the given run directory,
 * until SIGINT or SIGTERM. It knows one process, PID 4242; a real provider
 * would read /proc or its own process table.
 *
 *   ./example_apps_provider /run/user/1000/netipc
 */
#include <netipc/netipc.h>
#include <signal.h>
#include <stdio.h>

static nipc_server_t *server;

static void on_signal(int sig)
{
    (void)sig;
    nipc_server_stop(server); /* async-signal-safe */
}

/* One answer per key, in order. When the response fills up, the builder
 * turns the remaining answers into PAYLOAD_EXCEEDED (the client asks for
 * those keys again) and an answer that could never fit into OVERSIZED_ITEM. */
static nipc_error_t lookup(void *ctx, const nipc_apps_lookup_req_t *req,
                           nipc_apps_lookup_builder_t *b)
{
    (void)ctx;
    nipc_apps_lookup_builder_set_generation(b, 1);
    for (uint32_t i = 0; i < req->item_count; i++) {
        nipc_apps_lookup_item_t it = {.status = NIPC_APP_UNKNOWN, .uid = NIPC_UID_UNSET,
                                      .comm = {"", 0}, .cgroup_path = {"", 0},
                                      .cgroup_name = {"", 0}};
        nipc_apps_lookup_req_pid(req, i, &it.pid); /* every answer echoes its key */
        nipc_label_t labels[1] = {{{"image", 5}, {"nginx:1.27", 10}}};
        if (it.pid == 4242) {
            it.status = NIPC_APP_KNOWN;
            it.comm = (nipc_str_t){"nginx", 5};
            it.ppid = 1;
            it.uid = 33;
            it.cgroup_status = NIPC_APP_CGROUP_KNOWN;
            it.orchestrator = NIPC_ORCH_DOCKER;
            it.cgroup_path = (nipc_str_t){"/system.slice/docker-abc.scope", 30};
            it.cgroup_name = (nipc_str_t){"web", 3};
            it.labels.count = 1;
        }
        /* An invalid item (a field its status forbids, a NUL in a string)
         * makes the whole answer BAD_ENVELOPE: the server checks it. */
        nipc_apps_lookup_builder_add(b, &it, labels);
    }
    return NIPC_OK;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s <run-dir>\n", argv[0]);
        return 2;
    }
    nipc_server_config_t cfg = {
        .supported_profiles = NIPC_PROFILE_BASELINE | NIPC_PROFILE_SHM_HYBRID,
    };
    nipc_error_t err =
        nipc_server_create_apps_lookup(argv[1], "apps-lookup", &cfg, lookup, NULL, &server);
    if (err != NIPC_OK) {
        fprintf(stderr, "apps provider: %s\n", nipc_strerror(err));
        return 1;
    }
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    printf("apps provider: serving apps-lookup in %s\n", argv[1]);
    fflush(stdout);
    nipc_server_run(server);
    nipc_server_join(server, 2000);
    nipc_server_destroy(server);
    printf("apps provider: stopped\n");
    return 0;
}
