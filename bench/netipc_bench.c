/*
 * netipc benchmark driver: one binary, four subcommands.
 *
 *   netipc_bench list                         scenario table
 *   netipc_bench run [options]                the runner (bench_runner.c)
 *   netipc_bench server SCENARIO RUN_DIR      server role (started by the runner)
 *   netipc_bench client SCENARIO RUN_DIR SECONDS RATE WARM_SECONDS
 *   netipc_bench local SCENARIO RUN_DIR SECONDS WARM_SECONDS
 *
 * Role protocol (lines on stdin/stdout, so the runner can hold both roles
 * at the start line and measure only the timed window):
 *   server: prints "ready"; on "mark" snapshots its CPU time, allocation
 *           count and requests and prints "marked"; on "stop" prints
 *           "result key=value ..." for the window since "mark" and exits.
 *   client: connects, warms up, prints "warm", waits for "go", runs the
 *           timed loop, prints "result key=value ..." and exits.
 *   local:  like client, without a server and without the go handshake.
 *
 * This file also holds the latency histogram and the scenario table.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "corpus/corpus.h"

#define LOCAL_BLOCK 1024u

/* ================================================================= time */

uint64_t bench_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void sleep_until(uint64_t t_ns)
{
    struct timespec ts = {(time_t)(t_ns / 1000000000ull), (long)(t_ns % 1000000000ull)};
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
        ;
}

/* ============================================================ histogram */

void hist_reset(bench_hist_t *h)
{
    memset(h, 0, sizeof *h);
}

static uint32_t hist_index(uint64_t v)
{
    if (v < HIST_SUB)
        return (uint32_t)v;
    uint32_t e = 63u - (uint32_t)__builtin_clzll(v); /* >= HIST_SUB_BITS */
    uint32_t sub = (uint32_t)(v >> (e - HIST_SUB_BITS)) & (HIST_SUB - 1u);
    return HIST_SUB + (e - HIST_SUB_BITS) * HIST_SUB + sub;
}

/* Middle of bucket i. */
static uint64_t hist_value(uint32_t i)
{
    if (i < HIST_SUB)
        return i;
    uint32_t e = (i - HIST_SUB) / HIST_SUB + HIST_SUB_BITS;
    uint64_t sub = (i - HIST_SUB) % HIST_SUB;
    uint64_t width = 1ull << (e - HIST_SUB_BITS);
    return (1ull << e) + sub * width + width / 2;
}

void hist_add(bench_hist_t *h, uint64_t ns)
{
    h->buckets[hist_index(ns)]++;
    h->count++;
    if (ns > h->max)
        h->max = ns;
}

uint64_t hist_percentile(const bench_hist_t *h, double p)
{
    if (!h->count)
        return 0;
    uint64_t rank = (uint64_t)(p / 100.0 * (double)h->count + 0.5);
    if (rank < 1)
        rank = 1;
    uint64_t seen = 0;
    for (uint32_t i = 0; i < HIST_BUCKETS; i++) {
        seen += h->buckets[i];
        if (seen >= rank) {
            uint64_t v = hist_value(i);
            return v > h->max ? h->max : v;
        }
    }
    return h->max;
}

/* ============================================================ corpus keys */

int bench_corpus_keys(uint32_t count, struct nipc_cgroup_set *set, bench_key_t **keys)
{
    if (nipc_cgroup_set_corpus(BENCH_CORPUS_SEED, count, set) != NIPC_OK || !count)
        return -1;
    bench_key_t *k = malloc((size_t)count * sizeof *k);
    if (!k)
        return -1;
    for (uint32_t i = 0; i < count; i++)
        k[i] = (bench_key_t){set->items[i].hash, set->items[i].name_len, set->items[i].name};
    /* Fisher-Yates with a fixed xorshift: the same order on every run. */
    uint64_t x = 0x9E3779B97F4A7C15ull;
    for (uint32_t i = count - 1; i > 0; i--) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        uint32_t j = (uint32_t)(x % (i + 1u));
        bench_key_t t = k[i];
        k[i] = k[j];
        k[j] = t;
    }
    *keys = k;
    return 0;
}

/* ============================================================ scenarios */

#define LIB "library"
#define REF "reference"
#define CMP "comparison"

static const scenario_t scenarios[] = {
    /* name, family, transport, what, reference, target, kind, items, param, shm,
     * fixed_tiers, quick, server, client, local */
    {"uds-ping-pong", LIB, "uds", "L2 INCREMENT call", "raw-seqpacket-ping-pong", 0.90,
     KIND_REQRESP, 1, 0, 0, 1, 1, &bench_lib_increment_server, &bench_lib_increment_client, NULL, 0,
     0, 0},
    {"shm-ping-pong", LIB, "shm", "L2 INCREMENT call", "raw-shm-ping-pong", 0.95, KIND_REQRESP, 1,
     0, 1, 1, 1, &bench_lib_increment_server, &bench_lib_increment_client, NULL, 0, 0, 0},
    {"uds-batch", LIB, "uds", "L2 INCREMENT batch, 1,000 items", "raw-seqpacket-batch", 0.80,
     KIND_REQRESP, BENCH_BATCH_ITEMS, 0, 0, 1, 1, &bench_lib_increment_server,
     &bench_lib_batch_client, NULL, 0, 0, 0},
    {"shm-batch", LIB, "shm", "L2 INCREMENT batch, 1,000 items", NULL, 0, KIND_REQRESP,
     BENCH_BATCH_ITEMS, 0, 1, 1, 0, &bench_lib_increment_server, &bench_lib_batch_client, NULL, 0,
     0, 0},
    {"uds-pipeline-d16", LIB, "uds", "L1 INCREMENT, 16 in flight", "raw-seqpacket-pipeline-d16",
     0.85, KIND_PIPELINE, 1, 0, 0, 0, 1, &bench_lib_increment_server, &bench_lib_pipeline_client,
     NULL, 0, 0, 0},
    {"uds-pipeline-batch-d16", LIB, "uds", "L1 INCREMENT batch of 1,000, 16 in flight", NULL, 0,
     KIND_PIPELINE, BENCH_BATCH_ITEMS, 0, 0, 0, 0, &bench_lib_increment_server,
     &bench_lib_pipeline_batch_client, NULL, 0, 0, 0},
    {"uds-snapshot-16", LIB, "uds", "L2 CGROUPS_SNAPSHOT, 16 items", NULL, 0, KIND_REQRESP, 1, 16,
     0, 1, 0, &bench_lib_snapshot_server, &bench_lib_snapshot_client, NULL, 0, 0, 0},
    {"uds-snapshot-1000", LIB, "uds", "L2 CGROUPS_SNAPSHOT, 1,000 items", NULL, 0, KIND_REQRESP, 1,
     1000, 0, 1, 0, &bench_lib_snapshot_server, &bench_lib_snapshot_client, NULL, 0, 0, 0},
    {"shm-snapshot-16", LIB, "shm", "L2 CGROUPS_SNAPSHOT, 16 items", NULL, 0, KIND_REQRESP, 1, 16,
     1, 1, 1, &bench_lib_snapshot_server, &bench_lib_snapshot_client, NULL, 0, 0, 0},
    {"shm-snapshot-1000", LIB, "shm", "L2 CGROUPS_SNAPSHOT, 1,000 items", NULL, 0, KIND_REQRESP, 1,
     1000, 1, 1, 0, &bench_lib_snapshot_server, &bench_lib_snapshot_client, NULL, 0, 0, 0},
    {"uds-string-reverse-64", LIB, "uds", "L2 STRING_REVERSE, 64 B", NULL, 0, KIND_REQRESP, 1, 64,
     0, 1, 0, &bench_lib_reverse_server, &bench_lib_reverse_client, NULL, 0, 0, 0},
    {"uds-string-reverse-16k", LIB, "uds", "L2 STRING_REVERSE, 16 KiB", NULL, 0, KIND_REQRESP, 1,
     16384, 0, 1, 0, &bench_lib_reverse_server, &bench_lib_reverse_client, NULL, 0, 0, 0},
    {"uds-cgroups-lookup-1", LIB, "uds", "L2 CGROUPS_LOOKUP, 1 key per call", NULL, 0, KIND_REQRESP,
     1, 0, 0, 0, 0, &bench_lib_cgroups_lookup_server, &bench_lib_cgroups_lookup_client, NULL, 0, 0,
     0},
    {"uds-cgroups-lookup-1000", LIB, "uds", "L2 CGROUPS_LOOKUP, 1,000 keys per call", NULL, 0,
     KIND_REQRESP, 1000, 0, 0, 0, 0, &bench_lib_cgroups_lookup_server,
     &bench_lib_cgroups_lookup_client, NULL, 0, 0, 0},
    {"shm-cgroups-lookup-1", LIB, "shm", "L2 CGROUPS_LOOKUP, 1 key per call", NULL, 0, KIND_REQRESP,
     1, 0, 1, 0, 0, &bench_lib_cgroups_lookup_server, &bench_lib_cgroups_lookup_client, NULL, 0, 0,
     0},
    {"shm-cgroups-lookup-1000", LIB, "shm", "L2 CGROUPS_LOOKUP, 1,000 keys per call", NULL, 0,
     KIND_REQRESP, 1000, 0, 1, 0, 0, &bench_lib_cgroups_lookup_server,
     &bench_lib_cgroups_lookup_client, NULL, 0, 0, 0},
    {"uds-apps-lookup-1", LIB, "uds", "L2 APPS_LOOKUP, 1 PID per call", NULL, 0, KIND_REQRESP, 1, 0,
     0, 0, 0, &bench_lib_apps_lookup_server, &bench_lib_apps_lookup_client, NULL, 0, 0, 0},
    {"uds-apps-lookup-1000", LIB, "uds", "L2 APPS_LOOKUP, 1,000 PIDs per call", NULL, 0,
     KIND_REQRESP, 1000, 0, 0, 0, 0, &bench_lib_apps_lookup_server, &bench_lib_apps_lookup_client,
     NULL, 0, 0, 0},
    {"shm-apps-lookup-1", LIB, "shm", "L2 APPS_LOOKUP, 1 PID per call", NULL, 0, KIND_REQRESP, 1, 0,
     1, 0, 0, &bench_lib_apps_lookup_server, &bench_lib_apps_lookup_client, NULL, 0, 0, 0},
    {"shm-apps-lookup-1000", LIB, "shm", "L2 APPS_LOOKUP, 1,000 PIDs per call", NULL, 0,
     KIND_REQRESP, 1000, 0, 1, 0, 0, &bench_lib_apps_lookup_server, &bench_lib_apps_lookup_client,
     NULL, 0, 0, 0},
    /* netipc's sealed SHM profile (conditional wake), beside the rows above. */
    {"sealed-ping-pong", LIB, "shm-sealed", "L2 INCREMENT call", "raw-shm-cond-ping-pong", 0.85,
     KIND_REQRESP, 1, 0, SHM_SEALED, 1, 1, &bench_lib_increment_server, &bench_lib_increment_client,
     NULL, 0, 0, 0},
    {"sealed-batch", LIB, "shm-sealed", "L2 INCREMENT batch, 1,000 items", NULL, 0, KIND_REQRESP,
     BENCH_BATCH_ITEMS, 0, SHM_SEALED, 1, 0, &bench_lib_increment_server, &bench_lib_batch_client,
     NULL, 0, 0, 0},
    {"sealed-snapshot-16", LIB, "shm-sealed", "L2 CGROUPS_SNAPSHOT, 16 items", NULL, 0,
     KIND_REQRESP, 1, 16, SHM_SEALED, 0, 0, &bench_lib_snapshot_server, &bench_lib_snapshot_client,
     NULL, 0, 0, 0},
    {"sealed-snapshot-1000", LIB, "shm-sealed", "L2 CGROUPS_SNAPSHOT, 1,000 items", NULL, 0,
     KIND_REQRESP, 1, 1000, SHM_SEALED, 0, 0, &bench_lib_snapshot_server,
     &bench_lib_snapshot_client, NULL, 0, 0, 0},
    {"sealed-cgroups-lookup-1", LIB, "shm-sealed", "L2 CGROUPS_LOOKUP, 1 key per call", NULL, 0,
     KIND_REQRESP, 1, 0, SHM_SEALED, 0, 0, &bench_lib_cgroups_lookup_server,
     &bench_lib_cgroups_lookup_client, NULL, 0, 0, 0},
    /* Upstream's benchmark shapes: batch sizes drawn from 2 to 1,000, and
     * pipelining as bursts of 16 sends then 16 receives. */
    {"uds-batch-random", LIB, "uds", "L2 INCREMENT batch of 2 to 1,000 items (mean 501)", NULL, 0,
     KIND_REQRESP, 501, 0, 0, 0, 0, &bench_lib_increment_server, &bench_lib_batch_random_client,
     NULL, BENCH_BATCH_ITEMS, 0, 0},
    {"shm-batch-random", LIB, "shm", "L2 INCREMENT batch of 2 to 1,000 items (mean 501)", NULL, 0,
     KIND_REQRESP, 501, 0, SHM_FILE, 0, 0, &bench_lib_increment_server,
     &bench_lib_batch_random_client, NULL, BENCH_BATCH_ITEMS, 0, 0},
    {"sealed-batch-random", LIB, "shm-sealed", "L2 INCREMENT batch of 2 to 1,000 items (mean 501)",
     NULL, 0, KIND_REQRESP, 501, 0, SHM_SEALED, 0, 0, &bench_lib_increment_server,
     &bench_lib_batch_random_client, NULL, BENCH_BATCH_ITEMS, 0, 0},
    {"uds-burst-d16", LIB, "uds", "L1 INCREMENT, bursts of 16 sends then 16 receives", NULL, 0,
     KIND_BURST, 1, 0, 0, 0, 0, &bench_lib_increment_server, &bench_lib_pipeline_client, NULL, 0, 0,
     0},
    {"uds-burst-batch-d16", LIB, "uds", "L1 INCREMENT batch of 1,000, bursts of 16", NULL, 0,
     KIND_BURST, BENCH_BATCH_ITEMS, 0, 0, 0, 0, &bench_lib_increment_server,
     &bench_lib_pipeline_batch_client, NULL, 0, 0, 0},
    {"cache-lookup-1000", LIB, "in-process", "L3 cache get(hash, name), 1,000 items",
     "raw-hash-lookup-1000", 0.90, KIND_LOCAL, 1, 1000, 0, 0, 1, NULL, NULL, &bench_lib_cache_local,
     0, 0, 0},
    {"cache-lookup-100000", LIB, "in-process", "L3 cache get(hash, name), 100,000 items",
     "raw-hash-lookup-100000", 0.90, KIND_LOCAL, 1, 100000, 0, 0, 0, NULL, NULL,
     &bench_lib_cache_local, 0, 0, 0},
    /* A read guard around every lookup, on several threads at once. */
    {"cache-guarded-r1", LIB, "in-process", "L3 guard + get per lookup, 1 thread, 1,000 items",
     NULL, 0, KIND_LOCAL, 1, 1000, 0, 0, 1, NULL, NULL, &bench_lib_cache_local, 0, 1, 0},
    {"cache-guarded-r2", LIB, "in-process", "L3 guard + get per lookup, 2 threads, 1,000 items",
     NULL, 0, KIND_LOCAL, 1, 1000, 0, 0, 1, NULL, NULL, &bench_lib_cache_local, 0, 2, 0},
    {"cache-guarded-r4", LIB, "in-process", "L3 guard + get per lookup, 4 threads, 1,000 items",
     NULL, 0, KIND_LOCAL, 1, 1000, 0, 0, 0, NULL, NULL, &bench_lib_cache_local, 0, 4, 0},
    {"cache-guarded-r8", LIB, "in-process", "L3 guard + get per lookup, 8 threads, 1,000 items",
     NULL, 0, KIND_LOCAL, 1, 1000, 0, 0, 0, NULL, NULL, &bench_lib_cache_local, 0, 8, 0},
    {"cache-guarded-r4-refresh", LIB, "in-process",
     "L3 guard + get per lookup, 4 threads, a refresh every 10 ms", NULL, 0, KIND_LOCAL, 1, 1000, 0,
     0, 0, NULL, NULL, &bench_lib_cache_local, 0, 4, 10},

#ifdef NETIPC_BENCH_RUST
    /* The binding's cost: each Rust row against the C row it plays, target
     * within 5 %. rust-client-*: the crate's client, the C library's server;
     * rust-server-*: the C library's client, the crate's server. */
    {"rust-client-uds-ping-pong", LIB, "uds", "Rust client, C server: INCREMENT", "uds-ping-pong",
     0.95, KIND_REQRESP, 1, 0, 0, 0, 0, &bench_lib_increment_server, &bench_rust_increment_client,
     NULL, 0, 0, 0},
    {"rust-client-shm-ping-pong", LIB, "shm", "Rust client, C server: INCREMENT", "shm-ping-pong",
     0.95, KIND_REQRESP, 1, 0, 1, 0, 1, &bench_lib_increment_server, &bench_rust_increment_client,
     NULL, 0, 0, 0},
    {"rust-client-uds-batch", LIB, "uds", "Rust client, C server: INCREMENT batch, 1,000 items",
     "uds-batch", 0.95, KIND_REQRESP, BENCH_BATCH_ITEMS, 0, 0, 0, 0, &bench_lib_increment_server,
     &bench_rust_batch_client, NULL, 0, 0, 0},
    {"rust-client-shm-snapshot-1000", LIB, "shm", "Rust client, C server: CGROUPS_SNAPSHOT, 1,000",
     "shm-snapshot-1000", 0.95, KIND_REQRESP, 1, 1000, 1, 0, 0, &bench_lib_snapshot_server,
     &bench_rust_snapshot_client, NULL, 0, 0, 0},
    {"rust-client-uds-cgroups-lookup-1000", LIB, "uds",
     "Rust client, C server: CGROUPS_LOOKUP, 1,000 keys", "uds-cgroups-lookup-1000", 0.95,
     KIND_REQRESP, 1000, 0, 0, 0, 0, &bench_lib_cgroups_lookup_server,
     &bench_rust_cgroups_lookup_client, NULL, 0, 0, 0},
    {"rust-client-shm-apps-lookup-1", LIB, "shm", "Rust client, C server: APPS_LOOKUP, 1 PID",
     "shm-apps-lookup-1", 0.95, KIND_REQRESP, 1, 0, 1, 0, 0, &bench_lib_apps_lookup_server,
     &bench_rust_apps_lookup_client, NULL, 0, 0, 0},
    {"rust-server-shm-ping-pong", LIB, "shm", "C client, Rust server: INCREMENT", "shm-ping-pong",
     0.95, KIND_REQRESP, 1, 0, 1, 0, 1, &bench_rust_increment_server, &bench_lib_increment_client,
     NULL, 0, 0, 0},
    {"rust-server-uds-batch", LIB, "uds", "C client, Rust server: INCREMENT batch, 1,000 items",
     "uds-batch", 0.95, KIND_REQRESP, BENCH_BATCH_ITEMS, 0, 0, 0, 0, &bench_rust_batch_server,
     &bench_lib_batch_client, NULL, 0, 0, 0},
    {"rust-server-shm-snapshot-1000", LIB, "shm", "C client, Rust server: CGROUPS_SNAPSHOT, 1,000",
     "shm-snapshot-1000", 0.95, KIND_REQRESP, 1, 1000, 1, 0, 0, &bench_rust_snapshot_server,
     &bench_lib_snapshot_client, NULL, 0, 0, 0},
    {"rust-server-uds-cgroups-lookup-1000", LIB, "uds",
     "C client, Rust server: CGROUPS_LOOKUP, 1,000 keys", "uds-cgroups-lookup-1000", 0.95,
     KIND_REQRESP, 1000, 0, 0, 0, 0, &bench_rust_cgroups_lookup_server,
     &bench_lib_cgroups_lookup_client, NULL, 0, 0, 0},
    {"rust-server-shm-apps-lookup-1", LIB, "shm", "C client, Rust server: APPS_LOOKUP, 1 PID",
     "shm-apps-lookup-1", 0.95, KIND_REQRESP, 1, 0, 1, 0, 0, &bench_rust_apps_lookup_server,
     &bench_lib_apps_lookup_client, NULL, 0, 0, 0},
#endif

    {"raw-seqpacket-ping-pong", REF, "seqpacket", "40 B send/recv each way, blocking", NULL, 0,
     KIND_REQRESP, 1, 0, 0, 1, 1, &bench_raw_seqpacket_server, &bench_raw_seqpacket_client, NULL, 0,
     0, 0},
    {"raw-seqpacket-batch", REF, "seqpacket", "one 8 KB message each way, 1,000 u64", NULL, 0,
     KIND_REQRESP, BENCH_BATCH_ITEMS, 0, 0, 0, 1, &bench_raw_seqpacket_server,
     &bench_raw_seqpacket_batch_client, NULL, 0, 0, 0},
    {"raw-seqpacket-pipeline-d16", REF, "seqpacket", "40 B messages, 16 in flight", NULL, 0,
     KIND_PIPELINE, 1, 0, 0, 0, 1, &bench_raw_seqpacket_server,
     &bench_raw_seqpacket_pipeline_client, NULL, 0, 0, 0},
    {"raw-shm-ping-pong", REF, "raw-shm", "40 B, spin 128 then futex, wake every publish", NULL, 0,
     KIND_REQRESP, 1, 0, 0, 1, 1, &bench_raw_shm_server, &bench_raw_shm_client, NULL, 0, 0, 0},
    {"raw-shm-cond-ping-pong", REF, "raw-shm", "40 B, spin 128 then futex, wake a declared waiter",
     NULL, 0, KIND_REQRESP, 1, 0, SHM_SEALED, 1, 1, &bench_raw_shm_server, &bench_raw_shm_client,
     NULL, 0, 0, 0},
    {"raw-hash-lookup-1000", REF, "in-process", "open addressing, same keys, 1,000 items", NULL, 0,
     KIND_LOCAL, 1, 1000, 0, 0, 1, NULL, NULL, &bench_raw_hash_local, 0, 0, 0},
    {"raw-hash-lookup-100000", REF, "in-process", "open addressing, same keys, 100,000 items", NULL,
     0, KIND_LOCAL, 1, 100000, 0, 0, 0, NULL, NULL, &bench_raw_hash_local, 0, 0, 0},
#ifdef NETIPC_BENCH_ZMQ
    {"zmq-req-rep", CMP, "zmq", "ZeroMQ REQ/REP over ipc://, 40 B", NULL, 0, KIND_REQRESP, 1, 0, 0,
     0, 0, &bench_zmq_server, &bench_zmq_client, NULL, 0, 0, 0},
#endif
#ifdef NETIPC_BENCH_NNG
    {"nng-req-rep", CMP, "nng", "nng req/rep over ipc://, 40 B", NULL, 0, KIND_REQRESP, 1, 0, 0, 0,
     0, &bench_nng_server, &bench_nng_client, NULL, 0, 0, 0},
#endif
};

#define GO_ROWS_MAX 64

/* The table above, then the Go rows when the Go binary is built (bench_go.c). */
const scenario_t *bench_scenarios(size_t *count)
{
    static scenario_t all[sizeof scenarios / sizeof scenarios[0] + GO_ROWS_MAX];
    static size_t n;
    if (!n) {
        n = sizeof scenarios / sizeof scenarios[0];
        memcpy(all, scenarios, sizeof scenarios);
        n += bench_go_rows(all + n, GO_ROWS_MAX);
    }
    *count = n;
    return all;
}

const scenario_t *bench_find(const char *name)
{
    size_t n;
    const scenario_t *all = bench_scenarios(&n);
    for (size_t i = 0; i < n; i++)
        if (strcmp(all[i].name, name) == 0)
            return &all[i];
    return NULL;
}

/* ================================================================ roles */

static uint64_t cpu_ns(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ((uint64_t)ru.ru_utime.tv_sec + (uint64_t)ru.ru_stime.tv_sec) * 1000000000ull +
           ((uint64_t)ru.ru_utime.tv_usec + (uint64_t)ru.ru_stime.tv_usec) * 1000ull;
}

/* Voluntary context switches so far: how often this process went to sleep. */
static uint64_t sleeps(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (uint64_t)ru.ru_nvcsw;
}

static long peak_rss_kb(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

/* Reads one command line from stdin with read(2): no stdio buffer, so
 * nothing is allocated inside a measured window. 0, or -1 on EOF. */
static int read_command(char *buf, size_t cap)
{
    size_t n = 0;
    while (n + 1 < cap) {
        ssize_t r = read(0, buf + n, 1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        if (buf[n] == '\n')
            break;
        n++;
    }
    buf[n] = 0;
    return 0;
}

static void say(const char *line)
{
    fputs(line, stdout);
    fputc('\n', stdout);
    fflush(stdout);
}

static int server_role(const scenario_t *sc, const char *run_dir)
{
    void *st = NULL;
    if (sc->server->start(sc, run_dir, &st) != 0)
        return 1;
    say("ready");
    uint64_t cpu0 = 0, alloc0 = 0, req0 = 0, sleep0 = 0;
    char cmd[64];
    while (read_command(cmd, sizeof cmd) == 0) {
        if (strcmp(cmd, "mark") == 0) {
            cpu0 = cpu_ns();
            sleep0 = sleeps();
            alloc0 = bench_alloc_count();
            req0 = sc->server->requests(st);
            say("marked");
        } else if (strcmp(cmd, "stop") == 0) {
            uint64_t cpu = cpu_ns() - cpu0, allocs = bench_alloc_count() - alloc0;
            uint64_t reqs = sc->server->requests(st) - req0, slept = sleeps() - sleep0;
            long rss = peak_rss_kb();
            sc->server->stop(st);
            printf("result server_cpu_ns=%" PRIu64 " server_allocs=%" PRId64
                   " server_requests=%" PRIu64 " server_rss_kb=%ld server_sleeps=%" PRIu64 "\n",
                   cpu, bench_alloc_counting() ? (int64_t)allocs : -1, reqs, rss, slept);
            fflush(stdout);
            return 0;
        }
    }
    return 1; /* the runner went away */
}

typedef struct loop_result {
    uint64_t ops, elapsed_ns;
    bench_hist_t hist;
} loop_result_t;

/* One request at a time, at max rate (rate 0) or paced at `rate` per second. */
static int loop_reqresp(const scenario_t *sc, void *st, uint64_t *seq, double seconds,
                        uint64_t rate, loop_result_t *r)
{
    uint64_t dur = (uint64_t)(seconds * 1e9), interval = rate ? 1000000000ull / rate : 0;
    uint64_t start = bench_now_ns(), next = start, t1 = start;
    r->ops = 0;
    do {
        if (interval) {
            if (bench_now_ns() < next)
                sleep_until(next);
            next += interval;
        }
        uint64_t t0 = bench_now_ns();
        if (sc->client->call(st, (*seq)++) != 0)
            return -1;
        t1 = bench_now_ns();
        hist_add(&r->hist, t1 - t0);
        r->ops++;
    } while (t1 - start < dur);
    r->elapsed_ns = t1 - start;
    return 0;
}

/* A sliding window of BENCH_PIPELINE_DEPTH requests; the window is drained
 * (not counted) at the end so the connection closes cleanly. */
static int loop_pipeline(const scenario_t *sc, void *st, uint64_t *seq, double seconds,
                         loop_result_t *r)
{
    uint64_t sent_at[BENCH_PIPELINE_DEPTH];
    uint64_t dur = (uint64_t)(seconds * 1e9), start = bench_now_ns(), t = start;
    uint32_t in_flight = 0;
    r->ops = 0;
    /* Ids step by the batch size so every item value is distinct. */
    uint64_t step = sc->items;
    for (; in_flight < BENCH_PIPELINE_DEPTH; in_flight++) {
        uint64_t id = (*seq += step);
        sent_at[id / step % BENCH_PIPELINE_DEPTH] = bench_now_ns();
        if (sc->client->send(st, id) != 0)
            return -1;
    }
    int sending = 1;
    while (in_flight) {
        uint64_t id;
        if (sc->client->receive(st, &id) != 0)
            return -1;
        in_flight--;
        if (!sending)
            continue;
        t = bench_now_ns();
        hist_add(&r->hist, t - sent_at[id / step % BENCH_PIPELINE_DEPTH]);
        r->ops++;
        if (t - start >= dur) {
            sending = 0;
            r->elapsed_ns = t - start;
            continue;
        }
        uint64_t next = (*seq += step);
        sent_at[next / step % BENCH_PIPELINE_DEPTH] = bench_now_ns();
        if (sc->client->send(st, next) != 0)
            return -1;
        in_flight++;
    }
    return 0;
}

/* In-process: latency is the mean of each block of LOCAL_BLOCK lookups
 * (timing a single ~20 ns lookup would measure the clock instead). */
static int loop_local(const scenario_t *sc, void *st, double seconds, loop_result_t *r)
{
    uint64_t dur = (uint64_t)(seconds * 1e9), start = bench_now_ns(), t1 = start, found = 0;
    uint64_t others0 = sc->local->others ? sc->local->others(st) : 0;
    r->ops = 0;
    do {
        uint64_t t0 = bench_now_ns();
        found += sc->local->block(st, LOCAL_BLOCK);
        t1 = bench_now_ns();
        hist_add(&r->hist, (t1 - t0 + LOCAL_BLOCK / 2) / LOCAL_BLOCK);
        r->ops += LOCAL_BLOCK;
    } while (t1 - start < dur);
    r->elapsed_ns = t1 - start;
    if (found != r->ops) {
        fprintf(stderr, "bench: %s: %" PRIu64 " of %" PRIu64 " keys found\n", sc->name, found,
                r->ops);
        return -1;
    }
    /* Other reader threads: their lookups in the same window count too
     * (they check their own keys); the latency is this thread's. */
    if (sc->local->others)
        r->ops += sc->local->others(st) - others0;
    return 0;
}

/* Upstream's pipelining shape: BENCH_PIPELINE_DEPTH sends, then as many
 * receives, repeated; latency from each send to its answer. */
static int loop_burst(const scenario_t *sc, void *st, uint64_t *seq, double seconds,
                      loop_result_t *r)
{
    uint64_t sent_at[BENCH_PIPELINE_DEPTH];
    uint64_t dur = (uint64_t)(seconds * 1e9), start = bench_now_ns(), t = start;
    uint64_t step = sc->items, first = 0;
    r->ops = 0;
    do {
        for (uint32_t i = 0; i < BENCH_PIPELINE_DEPTH; i++) {
            uint64_t id = (*seq += step);
            if (i == 0)
                first = id;
            sent_at[i] = bench_now_ns();
            if (sc->client->send(st, id) != 0)
                return -1;
        }
        for (uint32_t i = 0; i < BENCH_PIPELINE_DEPTH; i++) {
            uint64_t id;
            if (sc->client->receive(st, &id) != 0)
                return -1;
            t = bench_now_ns();
            uint64_t k = (id - first) / step;
            if (id < first || k >= BENCH_PIPELINE_DEPTH) {
                fprintf(stderr, "bench: %s: answer for id %" PRIu64 " outside the burst\n",
                        sc->name, id);
                return -1;
            }
            hist_add(&r->hist, t - sent_at[k]);
        }
        r->ops += BENCH_PIPELINE_DEPTH;
    } while (t - start < dur);
    r->elapsed_ns = t - start;
    return 0;
}

static int run_loop(const scenario_t *sc, void *st, uint64_t *seq, double seconds, uint64_t rate,
                    loop_result_t *r)
{
    hist_reset(&r->hist);
    switch (sc->kind) {
    case KIND_REQRESP:
        return loop_reqresp(sc, st, seq, seconds, rate, r);
    case KIND_PIPELINE:
        return loop_pipeline(sc, st, seq, seconds, r);
    case KIND_BURST:
        return loop_burst(sc, st, seq, seconds, r);
    default:
        return loop_local(sc, st, seconds, r);
    }
}

static loop_result_t loop_buf; /* static: 30 KB of histogram */

static int client_role(const scenario_t *sc, const char *run_dir, double seconds, uint64_t rate,
                       double warm, int wait_go)
{
    /* Wake exactly when a paced request is due, not up to 50 us later. */
    prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
    void *st = NULL;
    int rc = sc->kind == KIND_LOCAL ? sc->local->open(sc, run_dir, &st)
                                    : sc->client->open(sc, run_dir, &st);
    if (rc != 0)
        return 1;
    uint64_t seq = 1;
    if (warm > 0 && run_loop(sc, st, &seq, warm, rate, &loop_buf) != 0)
        return 1;
    if (wait_go) {
        say("warm");
        char cmd[64];
        if (read_command(cmd, sizeof cmd) != 0 || strcmp(cmd, "go") != 0)
            return 1;
    }
    uint64_t cpu0 = cpu_ns(), sleep0 = sleeps(), alloc0 = bench_alloc_count();
    if (run_loop(sc, st, &seq, seconds, rate, &loop_buf) != 0)
        return 1;
    uint64_t cpu = cpu_ns() - cpu0, allocs = bench_alloc_count() - alloc0;
    uint64_t slept = sleeps() - sleep0;
    const bench_hist_t *h = &loop_buf.hist;
    printf("result ops=%" PRIu64 " elapsed_ns=%" PRIu64 " p50_ns=%" PRIu64 " p95_ns=%" PRIu64
           " p99_ns=%" PRIu64 " max_ns=%" PRIu64 " client_cpu_ns=%" PRIu64 " client_allocs=%" PRId64
           " client_rss_kb=%ld client_sleeps=%" PRIu64 "\n",
           loop_buf.ops, loop_buf.elapsed_ns, hist_percentile(h, 50), hist_percentile(h, 95),
           hist_percentile(h, 99), h->max, cpu, bench_alloc_counting() ? (int64_t)allocs : -1,
           peak_rss_kb(), slept);
    fflush(stdout);
    if (sc->kind == KIND_LOCAL)
        sc->local->close(st);
    else
        sc->client->close(st);
    return 0;
}

/* ================================================================= main */

static int usage(void)
{
    fprintf(
        stderr,
        "usage: netipc_bench list\n"
        "       netipc_bench run [--suite full|quick|smoke] [--placement same|split|none|both]\n"
        "                        [--samples N] [--seconds S] [--fixed-seconds S] [--warm S]\n"
        "                        [--only a,b,...] [--max-only] --work DIR --out DIR\n"
        "       netipc_bench server SCENARIO RUN_DIR\n"
        "       netipc_bench client SCENARIO RUN_DIR SECONDS RATE WARM_SECONDS\n"
        "       netipc_bench local SCENARIO RUN_DIR SECONDS WARM_SECONDS\n");
    return 2;
}

static const scenario_t *find_or_complain(const char *name)
{
    const scenario_t *sc = bench_find(name);
    if (!sc)
        fprintf(stderr, "netipc_bench: unknown scenario '%s'\n", name);
    return sc;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return usage();
    const char *cmd = argv[1];
    if (strcmp(cmd, "list") == 0) {
        size_t n;
        const scenario_t *s = bench_scenarios(&n);
        for (size_t i = 0; i < n; i++)
            printf("%-26s %-10s %-10s %s\n", s[i].name, s[i].family, s[i].transport, s[i].what);
        return 0;
    }
    if (strcmp(cmd, "run") == 0)
        return bench_runner_main(argc - 1, argv + 1);
    if (strcmp(cmd, "server") == 0 && argc == 4) {
        const scenario_t *sc = find_or_complain(argv[2]);
        if (!sc || !sc->server)
            return 2;
        return server_role(sc, argv[3]);
    }
    if (strcmp(cmd, "client") == 0 && argc == 7) {
        const scenario_t *sc = find_or_complain(argv[2]);
        if (!sc || !sc->client)
            return 2;
        return client_role(sc, argv[3], atof(argv[4]), strtoull(argv[5], NULL, 10), atof(argv[6]),
                           1);
    }
    if (strcmp(cmd, "local") == 0 && argc == 6) {
        const scenario_t *sc = find_or_complain(argv[2]);
        if (!sc || !sc->local)
            return 2;
        return client_role(sc, argv[3], atof(argv[4]), 0, atof(argv[5]), 0);
    }
    return usage();
}
