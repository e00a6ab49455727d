/*
 * Shared declarations of the benchmark driver (bench/netipc_bench.c).
 *
 * One binary plays every role: the runner, which starts a server process
 * and a client process per sample, pins them, and aggregates their reports
 * into one CSV; the server and client roles of every scenario; and the
 * in-process rows. Scenario implementations live in three files that never
 * share code with each other: bench_lib.c (the netipc library),
 * bench_raw.c (plain system calls, no library code: the reference rows) and
 * bench_mq.c (ZeroMQ and nng, when installed).
 *
 * Not part of the library; nothing here is installed.
 */
#ifndef NETIPC_BENCH_H
#define NETIPC_BENCH_H

#include <stddef.h>
#include <stdint.h>

/* ------------------------------------------------------------ constants */

#define BENCH_AUTH_TOKEN 0xBE4C400000C0FFEEull
#define BENCH_BATCH_ITEMS 1000u
#define BENCH_PIPELINE_DEPTH 16u
#define BENCH_SERVICE "bench"
#define BENCH_MSG_SIZE 40u /* 32-byte header + one u64: the size of an INCREMENT call */

/* ------------------------------------------------------------ time */

uint64_t bench_now_ns(void);

/* ------------------------------------------------------------ histogram */

/*
 * Log-linear latency histogram: exact below 64 ns, then 64 sub-buckets per
 * power of two (relative error < 1.6 %). Fixed size, so recording never
 * allocates.
 */
#define HIST_SUB_BITS 6
#define HIST_SUB (1u << HIST_SUB_BITS)
#define HIST_BUCKETS (HIST_SUB + (64 - HIST_SUB_BITS) * HIST_SUB)

typedef struct bench_hist {
    uint64_t count;
    uint64_t max;
    uint64_t buckets[HIST_BUCKETS];
} bench_hist_t;

void hist_reset(bench_hist_t *h);
void hist_add(bench_hist_t *h, uint64_t ns);
uint64_t hist_percentile(const bench_hist_t *h, double p);

/* ------------------------------------------------------------ allocations */

/* malloc/calloc/realloc/memalign calls made by this process so far (every
 * library linked in, the C library's own calls included). 0 forever when
 * counting is compiled out (sanitizer builds); see bench_alloc_counting(). */
uint64_t bench_alloc_count(void);
int bench_alloc_counting(void);

/* ------------------------------------------------------------ scenarios */

typedef enum scenario_kind {
    KIND_REQRESP,  /* one request, one response, one at a time */
    KIND_PIPELINE, /* BENCH_PIPELINE_DEPTH requests in flight */
    KIND_BURST,    /* BENCH_PIPELINE_DEPTH sends, then as many receives (upstream's shape) */
    KIND_LOCAL,    /* in-process, no server */
} scenario_kind_t;

typedef struct scenario scenario_t;

/* Server role: serve from background threads until stop(). */
typedef struct server_ops {
    int (*start)(const scenario_t *sc, const char *run_dir, void **state);
    uint64_t (*requests)(void *state); /* requests answered so far */
    void (*stop)(void *state);
} server_ops_t;

/*
 * Client role. Request/response scenarios implement call(); pipelined ones
 * send() and receive() (receive returns the id it got). Every function
 * returns 0 on success, -1 after printing why.
 */
typedef struct client_ops {
    int (*open)(const scenario_t *sc, const char *run_dir, void **state);
    int (*call)(void *state, uint64_t seq);
    int (*send)(void *state, uint64_t id);
    int (*receive)(void *state, uint64_t *id);
    void (*close)(void *state);
} client_ops_t;

/* In-process role: `block` lookups per call, returns how many were found.
 * others(), when set, is the number of lookups made so far by the role's
 * other reader threads (rows with threads > 1), all of them found. */
typedef struct local_ops {
    int (*open)(const scenario_t *sc, const char *run_dir, void **state);
    uint64_t (*block)(void *state, uint32_t count);
    void (*close)(void *state);
    uint64_t (*others)(void *state);
} local_ops_t;

struct scenario {
    const char *name;
    const char *family;    /* library | reference | comparison */
    const char *transport; /* uds | shm | seqpacket | raw-shm | zmq | nng | in-process */
    const char *what;      /* one line for the report */
    const char *reference; /* the row this one is compared with, or NULL */
    double target;         /* required ratio to the reference, 0 = none */
    scenario_kind_t kind;
    uint32_t items;  /* items per request: throughput unit */
    uint32_t param;  /* corpus items, string length, message size ... */
    uint32_t shm;    /* SHM_FILE (upstream's profile), SHM_SEALED (netipc's), 0 = none */
    int fixed_tiers; /* also measured at 1k / 10k / 100k req/s */
    int quick;       /* part of the quick suite */
    const server_ops_t *server;
    const client_ops_t *client;
    const local_ops_t *local;
    uint32_t items_max;  /* calls of varying size: the largest (budgets); 0 = items */
    uint32_t threads;    /* in-process rows: reader threads (0 = 1) */
    uint32_t refresh_ms; /* in-process cache rows: a refresh every this often, 0 = none */
};

/* Values of scenario_t.shm. Library rows: the SHM profile the row selects.
 * The raw SHM reference: SHM_SEALED = wake only a declared waiter. */
#define SHM_FILE 1u
#define SHM_SEALED 2u

extern const server_ops_t bench_lib_increment_server, bench_lib_reverse_server,
    bench_lib_snapshot_server, bench_lib_cgroups_lookup_server, bench_lib_apps_lookup_server;
extern const client_ops_t bench_lib_increment_client, bench_lib_batch_client,
    bench_lib_batch_random_client,
    bench_lib_reverse_client, bench_lib_snapshot_client, bench_lib_pipeline_client,
    bench_lib_pipeline_batch_client, bench_lib_cgroups_lookup_client, bench_lib_apps_lookup_client;
extern const local_ops_t bench_lib_cache_local;

extern const server_ops_t bench_raw_seqpacket_server, bench_raw_shm_server;
extern const client_ops_t bench_raw_seqpacket_client, bench_raw_seqpacket_batch_client,
    bench_raw_seqpacket_pipeline_client, bench_raw_shm_client;
extern const local_ops_t bench_raw_hash_local;

#ifdef NETIPC_BENCH_RUST
/* Rust rows (bench_rust.c, rust/bench/lib.rs): the same roles on the crate.
 * bench_rust_batch_server serves like bench_rust_increment_server. */
extern const server_ops_t bench_rust_increment_server, bench_rust_batch_server,
    bench_rust_snapshot_server, bench_rust_cgroups_lookup_server, bench_rust_apps_lookup_server;
extern const client_ops_t bench_rust_increment_client, bench_rust_batch_client,
    bench_rust_snapshot_client, bench_rust_cgroups_lookup_client, bench_rust_apps_lookup_client;
#endif

#ifdef NETIPC_BENCH_ZMQ
extern const server_ops_t bench_zmq_server;
extern const client_ops_t bench_zmq_client;
#endif
#ifdef NETIPC_BENCH_NNG
extern const server_ops_t bench_nng_server;
extern const client_ops_t bench_nng_client;
#endif

/* Lookup keys shared by the cache and raw hash rows: the corpus (seed 1)
 * items in a fixed pseudo-random order, so both rows look up the same keys
 * in the same order. */
typedef struct bench_key {
    uint32_t hash;
    uint32_t len;
    const char *name;
} bench_key_t;

#define BENCH_CORPUS_SEED 1u

struct nipc_cgroup_set;

/* Fills `set` with `count` corpus items and *keys with the lookup order
 * (count keys, malloc'ed). 0 or -1. */
int bench_corpus_keys(uint32_t count, struct nipc_cgroup_set *set, bench_key_t **keys);

/* ------------------------------------------------------------ Go rows */

/* Appends the Go rows (Go<->Go, Go client<->C server, C client<->Go server)
 * to rows[0..cap) when the Go benchmark binary is there; returns how many. */
size_t bench_go_rows(scenario_t *rows, size_t cap);
/* Path of the Go benchmark binary: $NETIPC_BENCH_GO, else netipc-bench-go
 * beside this executable. */
const char *bench_go_exe(void);
/* 1 when the server (server = 1) or client role of `sc` runs in the Go
 * binary: a Go row whose role has no C implementation here. */
int bench_go_role(const scenario_t *sc, int server);

/* ------------------------------------------------------------ roles, runner */

const scenario_t *bench_scenarios(size_t *count);
const scenario_t *bench_find(const char *name);
int bench_runner_main(int argc, char **argv);

#endif
