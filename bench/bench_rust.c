/*
 * Rust rows: the server and client roles of bench_lib.c's scenarios played
 * by Rust code on the `netipc` crate (rust/bench/lib.rs, a static library
 * built by cargo when NETIPC_BENCH_RUST=ON). This file only hands each
 * role the scenario's budgets and corpus data; the Rust side configures,
 * serves, calls and checks exactly as bench_lib.c does, so a row
 * `rust-client-X` or `rust-server-X` against its C row `X` shows what the
 * binding costs.
 */
#include <stdlib.h>

#include "bench.h"
#include "corpus/corpus.h"
#include "netipc/netipc.h"

#define SNAPSHOT_GENERATION 7u /* as bench_lib.c */
#define LOOKUP_TABLE 1000u
#define LOOKUP_BUDGET (1024u * 1024u)

enum { RUST_INCREMENT = 1, RUST_BATCH, RUST_SNAPSHOT, RUST_CGROUPS_LOOKUP, RUST_APPS_LOOKUP };

/* BenchRustSpec in rust/bench/lib.rs. */
typedef struct rust_spec {
    uint32_t kind, shm, items, param;
    uint32_t request_payload, request_batch, response_payload;
    uint64_t auth_token, generation;
    uint32_t systemd_enabled;
    const nipc_cgroup_entry_t *entries;
    uint32_t entry_count;
    const uint32_t *order;
} rust_spec_t;

int bench_rust_server_start(const rust_spec_t *spec, const char *run_dir, const char *service,
                            void **state);
uint64_t bench_rust_server_requests(void *state);
void bench_rust_server_stop(void *state);
int bench_rust_client_open(const rust_spec_t *spec, const char *run_dir, const char *service,
                           void **state);
int bench_rust_client_call(void *state, uint64_t seq);
void bench_rust_client_close(void *state);

static uint32_t pow2_at_least(uint64_t n, uint32_t floor)
{
    uint64_t p = floor;
    while (p < n)
        p <<= 1;
    return (uint32_t)p;
}

/* The scenario's spec, with bench_lib.c's budgets for that kind. */
static int make_spec(const scenario_t *sc, uint32_t kind, rust_spec_t *spec, nipc_cgroup_set_t *set,
                     uint32_t **order)
{
    *spec = (rust_spec_t){.kind = kind,
                          .shm = sc->shm,
                          .items = sc->items,
                          .param = sc->param,
                          .request_payload = NIPC_MAX_PAYLOAD_DEFAULT,
                          .request_batch = 1,
                          .response_payload = NIPC_RESPONSE_PAYLOAD_DEFAULT,
                          .auth_token = BENCH_AUTH_TOKEN,
                          .generation = SNAPSHOT_GENERATION};
    *order = NULL;
    if (kind == RUST_BATCH) {
        spec->request_batch = sc->items;
        spec->request_payload = pow2_at_least((uint64_t)sc->items * 16u, 1024);
    }
    if (kind == RUST_SNAPSHOT) {
        if (nipc_cgroup_set_corpus(BENCH_CORPUS_SEED, sc->param, set) != NIPC_OK)
            return -1;
        spec->response_payload = pow2_at_least(nipc_cgroup_set_encoded_size(set), 65536);
    }
    if (kind == RUST_CGROUPS_LOOKUP || kind == RUST_APPS_LOOKUP) {
        spec->request_payload = spec->response_payload = LOOKUP_BUDGET;
        if (LOOKUP_TABLE % sc->items != 0 ||
            nipc_cgroup_set_corpus(BENCH_CORPUS_SEED, LOOKUP_TABLE, set) != NIPC_OK)
            return -1;
        /* The same fixed shuffle as bench_lib.c's lookup client. */
        uint32_t *o = malloc(LOOKUP_TABLE * sizeof *o);
        if (!o)
            return -1;
        for (uint32_t i = 0; i < LOOKUP_TABLE; i++)
            o[i] = i;
        uint64_t x = 0x9E3779B97F4A7C15ull;
        for (uint32_t i = LOOKUP_TABLE - 1; i > 0; i--) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            uint32_t j = (uint32_t)(x % (i + 1u)), t = o[i];
            o[i] = o[j];
            o[j] = t;
        }
        *order = o;
    }
    if (kind >= RUST_SNAPSHOT) {
        spec->entries = set->items;
        spec->entry_count = set->count;
        spec->systemd_enabled = set->systemd_enabled;
        spec->order = *order;
    }
    return 0;
}

/* The Rust side copies what it keeps: the corpus is freed right after. */
static int server_start(const scenario_t *sc, const char *run_dir, void **state, uint32_t kind)
{
    rust_spec_t spec;
    nipc_cgroup_set_t set = {0};
    uint32_t *order;
    int rc = make_spec(sc, kind, &spec, &set, &order);
    if (rc == 0)
        rc = bench_rust_server_start(&spec, run_dir, BENCH_SERVICE, state);
    nipc_cgroup_set_free(&set);
    free(order);
    return rc;
}

static int client_open(const scenario_t *sc, const char *run_dir, void **state, uint32_t kind)
{
    rust_spec_t spec;
    nipc_cgroup_set_t set = {0};
    uint32_t *order;
    int rc = make_spec(sc, kind, &spec, &set, &order);
    if (rc == 0)
        rc = bench_rust_client_open(&spec, run_dir, BENCH_SERVICE, state);
    nipc_cgroup_set_free(&set);
    free(order);
    return rc;
}

#define ROLE(name, kind)                                                                           \
    static int name##_server_start(const scenario_t *sc, const char *run_dir, void **state)      \
    {                                                                                              \
        return server_start(sc, run_dir, state, kind);                                             \
    }                                                                                              \
    static int name##_client_open(const scenario_t *sc, const char *run_dir, void **state)       \
    {                                                                                              \
        return client_open(sc, run_dir, state, kind);                                              \
    }                                                                                              \
    const server_ops_t bench_rust_##name##_server = {name##_server_start,                        \
                                                     bench_rust_server_requests,                   \
                                                     bench_rust_server_stop};                      \
    const client_ops_t bench_rust_##name##_client = {name##_client_open, bench_rust_client_call, \
                                                     NULL, NULL, bench_rust_client_close};

ROLE(increment, RUST_INCREMENT)
ROLE(batch, RUST_BATCH)
ROLE(snapshot, RUST_SNAPSHOT)
ROLE(cgroups_lookup, RUST_CGROUPS_LOOKUP)
ROLE(apps_lookup, RUST_APPS_LOOKUP)
