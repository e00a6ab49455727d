/*
 * "Steady-state lookup calls do not allocate", measured. This program is
 * linked with -Wl,--wrap=malloc,calloc,realloc,free,strdup, so every call
 * the statically linked library makes goes through the counters below.
 * A cgroups-lookup and an apps-lookup server run in this process (their
 * session threads are counted too) with small budgets, so every logical
 * call is split into many sub-calls with PAYLOAD_EXCEEDED tails asked for
 * again. After two warm-up calls per client (the two result buffers and
 * the request buffer reach their size), repeated calls must neither
 * allocate nor free, on the client or in the server.
 *   test_lookup_alloc --profile 1 | 2
 */
#include "alloc_count.h"
#include "lookup_peers.h"
#include "netipc/netipc.h"
#include "support.h"
#include "test.h"

/* ---------------------------------------------------------------- servers */

static nipc_error_t cg_handler(void *ctx, const nipc_cgroups_lookup_req_t *req,
                               nipc_cgroups_lookup_builder_t *b)
{
    (void)ctx;
    nipc_cgroups_lookup_builder_set_generation(b, 5);
    for (uint32_t i = 0; i < req->item_count; i++) {
        nipc_cgroups_lookup_item_t it = {0};
        nipc_cgroups_lookup_req_key(req, i, &it.path);
        lp_cg_answer_t a;
        lp_cg_model(it.path, &a);
        it.status = a.status;
        it.orchestrator = a.orch;
        it.name = a.name;
        it.labels.count = a.nlabels;
        nipc_cgroups_lookup_builder_add(b, &it, a.labels);
    }
    return NIPC_OK;
}

static nipc_error_t app_handler(void *ctx, const nipc_apps_lookup_req_t *req,
                                nipc_apps_lookup_builder_t *b)
{
    (void)ctx;
    nipc_apps_lookup_builder_set_generation(b, 6);
    for (uint32_t i = 0; i < req->item_count; i++) {
        uint32_t pid = 0;
        nipc_apps_lookup_req_pid(req, i, &pid);
        lp_app_answer_t a;
        lp_app_model(pid, &a);
        nipc_apps_lookup_builder_add(b, &a.item, a.labels);
    }
    return NIPC_OK;
}

static uint32_t g_profile = NIPC_PROFILE_BASELINE;

static nipc_client_t *client(const char *run, const char *svc, uint32_t req)
{
    nipc_client_config_t cfg = {
        .supported_profiles = g_profile | NIPC_PROFILE_BASELINE,
        .preferred_profiles = g_profile,
        .exact_profiles = 1,
        .max_request_payload_bytes = req,
    };
    nipc_client_t *c = NULL;
    if (nipc_client_create(run, svc, &cfg, &c) != NIPC_OK)
        return NULL;
    nipc_client_refresh(c);
    return c;
}

static void steady_state_lookups_do_not_allocate(void)
{
    char run[512];
    REQUIRE(t_mkdtemp(run, sizeof run));
    nipc_server_config_t scfg = {
        .supported_profiles = g_profile | NIPC_PROFILE_BASELINE,
        .exact_profiles = 1,
        .max_request_payload_bytes = 512,
        .max_response_payload_bytes = 1400,
    };
    nipc_server_t *cs = NULL, *as = NULL;
    REQUIRE(nipc_server_create_cgroups_lookup(run, "cg", &scfg, cg_handler, NULL, &cs) == NIPC_OK);
    scfg.max_request_payload_bytes = 1024;
    scfg.max_response_payload_bytes = 6144;
    REQUIRE(nipc_server_create_apps_lookup(run, "app", &scfg, app_handler, NULL, &as) == NIPC_OK);
    REQUIRE(nipc_server_start(cs) == NIPC_OK && nipc_server_start(as) == NIPC_OK);
    nipc_client_t *cc = client(run, "cg", 512), *ac = client(run, "app", 1024);
    REQUIRE(cc && ac && nipc_client_ready(cc) && nipc_client_ready(ac));

    static char store[2000][24];
    static nipc_str_t keys[2000];
    static uint32_t pids[3000];
    static const char *const kinds[3] = {"/known/%d", "/retry/%d", "/gone/%d"};
    for (int i = 0; i < 2000; i++) {
        snprintf(store[i], sizeof store[i], kinds[i % 3], i);
        keys[i] = (nipc_str_t){store[i], (uint32_t)strlen(store[i])};
    }
    for (uint32_t i = 0; i < 3000; i++)
        pids[i] = 10 + 3 * i;

    nipc_cgroups_lookup_view_t cv;
    nipc_apps_lookup_view_t av;
    for (int warm = 0; warm < 2; warm++) {
        REQUIRE(nipc_client_cgroups_lookup(cc, keys, 2000, &cv, 0) == NIPC_OK);
        REQUIRE(nipc_client_apps_lookup(ac, pids, 3000, &av, 0) == NIPC_OK);
    }
    nipc_client_status_t before;
    nipc_client_status(cc, &before);

    t_alloc_count_start();
    int failures = 0;
    for (int round = 0; round < 20; round++) {
        failures += nipc_client_cgroups_lookup(cc, keys, 2000, &cv, 0) != NIPC_OK;
        failures += nipc_client_apps_lookup(ac, pids, 3000, &av, 0) != NIPC_OK;
        failures += nipc_client_cgroups_lookup(cc, keys + 100, 1000, &cv, 0) != NIPC_OK;
    }
    t_alloc_count_stop();

    CHECK_EQ_U64(failures, 0);
    CHECK_EQ_U64(t_alloc_count_allocs(), 0);
    CHECK_EQ_U64(t_alloc_count_frees(), 0);
    /* The counters do count: creating and freeing a client allocates and frees. */
    nipc_client_t *probe = NULL;
    t_alloc_count_start();
    CHECK_OK(nipc_client_create(run, "cg", NULL, &probe));
    nipc_client_free(probe);
    t_alloc_count_stop();
    CHECK(t_alloc_count_allocs() > 0);
    CHECK_EQ_U64(t_alloc_count_frees(), t_alloc_count_allocs());
    nipc_client_status_t after;
    nipc_client_status(cc, &after);
    /* Two logical calls a round on this client, each split into dozens of parts. */
    fprintf(stderr, "  %llu sub-calls\n",
            (unsigned long long)(after.call_count - before.call_count));
    CHECK(after.call_count - before.call_count > 20 * 2 * 50);
    CHECK_EQ_U64(cv.item_count, 1000);
    CHECK_EQ_U64(av.item_count, 3000);
    if (g_profile & NIPC_PROFILE_SHM_MASK)
        CHECK_EQ_U64(after.selected_profile, g_profile);

    nipc_client_free(cc);
    nipc_client_free(ac);
    nipc_server_destroy(cs);
    nipc_server_destroy(as);
    t_rmtree(run);
}

int main(int argc, char **argv)
{
    t_init(argc, argv);
    int a = 1;
    if (argc > 2 && strcmp(argv[1], "--profile") == 0) {
        g_profile = (uint32_t)strtoul(argv[2], NULL, 0);
        a = 3;
    }
    static const t_case_t cases[] = {T_CASE(steady_state_lookups_do_not_allocate)};
    argv[a - 1] = argv[0];
    return t_run(cases, 1, argc - a + 1, argv + a - 1);
}
