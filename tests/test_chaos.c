/*
 * Chaos: providers and consumers killed (SIGKILL / TerminateProcess) at
 * random points of their lives, over and over, within a time budget.
 *
 * provider_kill_uds, provider_kill_shm: this process is the consumer -- a
 *   Level 3 cache (Level 2 client underneath) and a Level 1 session with
 *   512-byte packets, so every snapshot travels in hundreds of chunks. The
 *   provider (a managed snapshot server, tests/service_peers.c, 1500-2500
 *   items) is killed while the consumer connects, while a snapshot is in
 *   flight (mid-chunk, mid-SHM-publish), at a random moment, or while it
 *   stops gracefully; then it is restarted with new data. Over SHM half the
 *   lanes use upstream's file region, half netipc's sealed memfd region
 *   (Linux), so a provider also dies while its consumer is declared asleep
 *   on a waiting flag. Checked every
 *   iteration: no consumer call outlives its bound, nothing fails while the
 *   provider is up, the cache keeps its data while the provider is gone and
 *   shows the new provider's data once it is back, no descriptor or mapping
 *   of this process leaks, and no file of the dead provider survives the
 *   next provider's start.
 * consumer_kill: this process is the provider (a managed snapshot server);
 *   consumer processes (Level 2 clients over UDS and SHM, Level 1 clients
 *   with 512-byte packets) are killed at random moments, four alive at a
 *   time. Live consumers must never see an error. At checkpoints the server
 *   must return to no sessions, its baseline descriptors and mappings and
 *   only its socket in the run dir, and still serve. Finally the server is
 *   stopped gracefully while consumers are killed around it.
 *
 * Replay: NETIPC_CHAOS_SEED=<n> fixes every random choice (the seed is
 * printed); the interleaving with the OS still varies. Budget:
 * NETIPC_CHAOS_SECONDS (default 40) split over the three cases; each prints
 * its iteration count.
 */
#include "test.h"

#include <stdatomic.h>
#include <time.h>

#include "corpus/corpus.h"
#include "netipc/cache.h"
#include "netipc/codec.h"
#include "netipc/service.h"
#include "netipc/transport.h"
#include "bounds.h"
#include "platform/platform.h"
#include "service_peers.h"
#include "support.h"

#ifdef _WIN32
#define ENDPOINT_FILES 0 /* pipes and SHM objects are kernel names, not files */
#else
#define ENDPOINT_FILES 1 /* the socket */
#endif

#define SHM_BOTH (NIPC_PROFILE_BASELINE | NIPC_PROFILE_SHM_HYBRID)
#define SMALL_PACKET 512u
#define RESP_LIMIT (1024u * 1024u)
#define CALL_MS 3000u
#define HS_MS 2000u
/* Thread stacks and malloc arenas are cached by the C library: a bounded
 * number of mappings may stay after threads end. A leak grows per iteration.
 * The sanitizers' allocators and thread state map memory of their own:
 * the total is not counted there (netipc's own SHM mappings always are). */
#define MAPS_SLACK 48
#define MAPS_OK(maps, base) (T_ASAN || T_TSAN || (maps) <= (base) + MAPS_SLACK)

static uint64_t g_seed;
static unsigned g_budget_ms;

/* ------------------------------------------------------------------ random */

typedef struct rng {
    uint64_t s;
} rng_t;

static uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static uint32_t rng_below(rng_t *r, uint32_t n)
{
    r->s += 0x9e3779b97f4a7c15ull;
    return n ? (uint32_t)(mix64(r->s) % n) : 0;
}

static rng_t rng_for(const char *scenario)
{
    uint64_t h = g_seed;
    for (const char *p = scenario; *p; p++)
        h = mix64(h ^ (uint8_t)*p);
    return (rng_t){h};
}

/* Waits `us` microseconds: sleeps the whole milliseconds, spins the rest. */
static void wait_us(uint32_t us)
{
    if (us >= 1000)
        t_sleep_ms((int)(us / 1000));
    uint64_t end = nipc__now_ns() + (uint64_t)(us % 1000) * 1000u;
    while (nipc__now_ns() < end)
        ;
}

/* The provider of generation g serves this many items (so any snapshot
 * can be checked against the generation it carries). */
static uint32_t items_for(uint64_t gen)
{
    return 1500u + (uint32_t)(mix64(g_seed ^ gen) % 1000u);
}

/* ------------------------------------------------------------ small files */

/* Appends one line to dir/errors: how consumer processes report. */
static void report(const char *dir, const char *what, nipc_error_t err)
{
    char p[1024];
    snprintf(p, sizeof p, "%s/errors", dir);
    FILE *f = fopen(p, "ab");
    if (f) {
        fprintf(f, "%s: %s\n", what, nipc_error_name(err));
        fclose(f);
    }
}

static void print_errors(const char *dir)
{
    char p[1024], line[256];
    snprintf(p, sizeof p, "%s/errors", dir);
    FILE *f = fopen(p, "rb");
    if (!f)
        return;
    for (int i = 0; i < 20 && fgets(line, sizeof line, f); i++)
        fprintf(stderr, "  consumer: %s", line);
    fclose(f);
}

/* ------------------------------------------------ Level 1, small packets */

static nipc_error_t l1_connect(const char *run, nipc_session_t **s)
{
    nipc_transport_config_t c = {
        .supported_profiles = NIPC_PROFILE_BASELINE,
        .max_request_payload_bytes = 1024,
        .max_response_payload_bytes = RESP_LIMIT,
        .packet_size = SMALL_PACKET,
        .handshake_timeout_ms = T_MS(HS_MS),
        .max_in_flight = 1,
    };
    return nipc_session_connect(run, SP_SERVICE, &c, s);
}

/* One CGROUPS_SNAPSHOT round trip; the answer must hold the items its
 * generation says. Send and receive are bounded by timeout_ms each. */
static nipc_error_t l1_snapshot(nipc_session_t *s, uint64_t id, uint32_t timeout_ms)
{
    uint8_t req[NIPC_CGROUPS_REQ_SIZE];
    size_t len = 0;
    nipc_cgroups_req_encode(req, sizeof req, &len);
    nipc_header_t h =
        nipc_header_make(NIPC_KIND_REQUEST, NIPC_METHOD_CGROUPS_SNAPSHOT, 0, 0, 0, 1, id);
    nipc_error_t err = nipc_session_send(s, &h, req, len, timeout_ms, NULL);
    nipc_message_t m;
    if (err == NIPC_OK)
        err = nipc_session_receive(s, &m, timeout_ms, NULL);
    if (err != NIPC_OK)
        return err;
    if (m.header.kind != NIPC_KIND_RESPONSE || m.header.message_id != id ||
        m.header.transport_status != NIPC_STATUS_OK)
        return NIPC_ERR_BAD_RESPONSE;
    /* Over the baseline this message came in ~payload/480 chunks. */
    nipc_cgroups_view_t v;
    err = nipc_cgroups_resp_decode(m.payload, m.header.payload_len, &v);
    if (err == NIPC_OK && v.item_count != items_for(v.generation))
        err = NIPC_ERR_BAD_RESPONSE;
    return err;
}

/* ================================================ consumer process (peer) */

/*
 * peer consumer <run> <ctl> <mode> <seed>: a consumer that runs until it is
 * killed (at most 60 s). Modes: l2-uds, l2-shm (Level 2 client, snapshot
 * calls), l1-small (Level 1, 512-byte packets). Every error is reported to
 * ctl/errors unless the test announced a stop (ctl/stopping).
 */
static int consumer_peer(int argc, char **argv)
{
    if (argc < 4)
        return 2;
    const char *run = argv[0], *ctl = argv[1], *mode = argv[2];
    g_seed = strtoull(argv[3], NULL, 0); /* items_for() must agree with the test */
    uint64_t end = nipc__now_ms() + 60000;
    if (strcmp(mode, "l1-small") == 0) {
        nipc_session_t *s = NULL;
        for (uint64_t id = 1; nipc__now_ms() < end; id++) {
            nipc_error_t err = s ? NIPC_OK : l1_connect(run, &s);
            if (err == NIPC_OK)
                err = l1_snapshot(s, id, T_MS(CALL_MS));
            if (err != NIPC_OK) {
                if (!t_file_exists(ctl, "stopping"))
                    report(ctl, "l1-small", err);
                nipc_session_close(s);
                s = NULL;
                t_sleep_ms(5);
            }
        }
        nipc_session_close(s);
        return 0;
    }
    nipc_client_config_t cfg = {
        .supported_profiles = strcmp(mode, "l2-shm") == 0 ? SHM_BOTH : NIPC_PROFILE_BASELINE,
        .max_payload_ceiling = RESP_LIMIT,
        .call_timeout_ms = T_MS(CALL_MS),
    };
    nipc_client_t *c = NULL;
    if (nipc_client_create(run, SP_SERVICE, &cfg, &c) != NIPC_OK)
        return 2;
    while (nipc__now_ms() < end) {
        nipc_client_refresh(c);
        nipc_cgroups_view_t v;
        nipc_error_t err = nipc_client_cgroups_snapshot(c, &v, 0);
        if (err == NIPC_OK && v.item_count != items_for(v.generation))
            err = NIPC_ERR_BAD_RESPONSE;
        if (err != NIPC_OK) {
            if (!t_file_exists(ctl, "stopping"))
                report(ctl, mode, err);
            t_sleep_ms(5);
        }
    }
    nipc_client_free(c);
    return 0;
}

/* ============================================ provider killed: consumer */

/*
 * What each consumer operation may take, from the waits the library
 * documents (tests/bounds.h adds the slack for a busy machine):
 *  - a cache refresh: connect (handshake timeout, then the SHM attach
 *    window, both defaults) and the snapshot call (its timeout);
 *  - a Level 1 connect: its handshake timeout (baseline only);
 *  - a Level 1 snapshot: a send and a receive, each with the call timeout.
 * One consumer iteration is all three; recovering after a restart takes at
 * most the iteration in progress when the provider came back, plus one
 * refresh that reaches the new provider.
 */
static unsigned refresh_ms(void)
{
    return NIPC_HANDSHAKE_TIMEOUT_DEFAULT_MS + NIPC_SHM_ATTACH_TIMEOUT_DEFAULT_MS + T_MS(CALL_MS);
}

static unsigned l1_connect_ms(void)
{
    return T_MS(HS_MS);
}

static unsigned l1_snapshot_ms(void)
{
    return 2 * T_MS(CALL_MS);
}

static unsigned iteration_ms(void)
{
    return refresh_ms() + l1_connect_ms() + l1_snapshot_ms();
}

static unsigned recovery_ms(void)
{
    return iteration_ms() + refresh_ms();
}

enum { PH_IDLE, PH_REFRESH, PH_CONNECT, PH_TRANSFER };

typedef struct consumer {
    const char *run;
    nipc_cgroups_cache_t *cache;
    nipc_session_t *l1;
    uint64_t l1_id;
    atomic_int phase;
    atomic_int pause, paused, quit;
    /* Odd while the provider is up and serving, even while it is killed or
     * stopping (set by the main thread). */
    atomic_uint up;
    /* Results; read by the main thread while the consumer is paused. */
    unsigned long long ops, unexpected, overruns;
    /* Written once by the consumer thread, then published: a lane thread
     * may read it while the consumer still runs (lane_fail()). */
    char first_problem[200];
    atomic_int problem_published;
} consumer_t;

static void problem(consumer_t *c, const char *what, nipc_error_t err, unsigned long long ms)
{
    if (atomic_load_explicit(&c->problem_published, memory_order_relaxed))
        return;
    snprintf(c->first_problem, sizeof c->first_problem, "%s: %s after %llu ms", what,
             nipc_error_name(err), ms);
    atomic_store_explicit(&c->problem_published, 1, memory_order_release);
}

/* The consumer's first problem, or "none" before one was published. */
static const char *first_problem(consumer_t *c)
{
    if (!atomic_load_explicit(&c->problem_published, memory_order_acquire))
        return "none";
    return c->first_problem;
}

/* Bookkeeping of one operation: its duration against its bound, and a
 * failure while the provider was up the whole time. */
static void account(consumer_t *c, const char *what, unsigned up_before, unsigned long long t0,
                    unsigned bound_ms, nipc_error_t err)
{
    unsigned long long took = t_now_ms() - t0;
    c->ops++;
    if (took > t_bound(bound_ms)) {
        c->overruns++;
        problem(c, what, err, took);
    }
    if (err != NIPC_OK && (up_before & 1u) && atomic_load(&c->up) == up_before) {
        c->unexpected++;
        problem(c, what, err, took);
    }
}

static void consumer_main(void *arg)
{
    consumer_t *c = arg;
    while (!atomic_load(&c->quit)) {
        if (atomic_load(&c->pause)) {
            atomic_store(&c->phase, PH_IDLE);
            atomic_store(&c->paused, 1);
            while (atomic_load(&c->pause) && !atomic_load(&c->quit))
                t_sleep_ms(1);
            atomic_store(&c->paused, 0);
            continue;
        }
        /* Level 3: connect if needed (5 s handshake default) + snapshot call. */
        unsigned up = atomic_load(&c->up);
        atomic_store(&c->phase, PH_REFRESH);
        unsigned long long t0 = t_now_ms();
        nipc_error_t e1 = nipc_cgroups_cache_refresh(c->cache, T_MS(CALL_MS));
        account(c, "cache refresh", up, t0, refresh_ms(), e1);

        /* Level 1, 512-byte packets. */
        nipc_error_t e2 = NIPC_OK;
        up = atomic_load(&c->up);
        if (!c->l1) {
            atomic_store(&c->phase, PH_CONNECT);
            t0 = t_now_ms();
            e2 = l1_connect(c->run, &c->l1);
            account(c, "L1 connect", up, t0, l1_connect_ms(), e2);
            if (e2 != NIPC_OK)
                c->l1 = NULL;
        }
        if (c->l1) {
            atomic_store(&c->phase, PH_TRANSFER);
            t0 = t_now_ms();
            e2 = l1_snapshot(c->l1, ++c->l1_id, T_MS(CALL_MS));
            account(c, "L1 snapshot", up, t0, l1_snapshot_ms(), e2);
            if (e2 != NIPC_OK) {
                nipc_session_close(c->l1);
                c->l1 = NULL;
            }
        }
        atomic_store(&c->phase, PH_IDLE);
        if (e1 != NIPC_OK && e2 != NIPC_OK)
            t_sleep_ms(1); /* nobody there: do not spin on refused connects */
    }
    atomic_store(&c->paused, 1);
}

static int pause_consumer(consumer_t *c)
{
    atomic_store(&c->pause, 1);
    /* The iteration in progress ends within its own bound. */
    unsigned long long end = t_now_ms() + t_bound(iteration_ms());
    while (!atomic_load(&c->paused)) {
        if (t_now_ms() > end)
            return 0;
        t_sleep_ms(1);
    }
    return 1;
}

static void resume_consumer(consumer_t *c)
{
    atomic_store(&c->pause, 0);
    while (atomic_load(&c->paused))
        t_sleep_ms(0);
}

/* Waits until the consumer is in `phase` (or 2 s passed: kill anyway). */
static int wait_phase(consumer_t *c, int phase)
{
    unsigned long long end = t_now_ms() + 2000;
    while (atomic_load(&c->phase) != phase)
        if (t_now_ms() > end)
            return 0;
    return 1;
}

static nipc_cgroups_cache_status_t cache_status(const nipc_cgroups_cache_t *c)
{
    nipc_cgroups_cache_status_t st;
    nipc_cgroups_cache_status(c, &st);
    return st;
}

/* Waits until the cache holds generation `gen`. */
static int wait_generation(const nipc_cgroups_cache_t *c, uint64_t gen, unsigned timeout_ms)
{
    unsigned long long end = t_now_ms() + timeout_ms;
    while (cache_status(c).generation != gen) {
        if (t_now_ms() > end)
            return 0;
        t_sleep_ms(1);
    }
    return 1;
}

enum { K_HANDSHAKE, K_TRANSFER, K_RANDOM, K_GRACEFUL, K_COUNT };
static const char *const kill_names[K_COUNT] = {"handshake", "transfer", "random", "graceful"};

/*
 * One provider and its consumer. Lanes run side by side, one round at a
 * time: a kill costs a Level 2 consumer its retry back-off (~250 ms), so
 * parallel lanes are what makes thousands of kills fit the budget. Lane
 * threads never use CHECK (the harness counters are not thread-safe): they
 * record the first failure, and the main thread checks it after the round.
 */
#define LANES 8

typedef struct lane {
    char run[512], ctl[512];
    rng_t r;
    consumer_t c;
    nipc__thread_t *consumer_thread;
    uint64_t gen;
    unsigned kills, by_phase[K_COUNT], stale_before_start, recoveries;
    char failed[300]; /* first failure, empty while all is well */
    int exact; /* both sides advertise exactly SHM_HYBRID: upstream's file region */
} lane_t;

static void lane_fail(lane_t *l, int k, uint32_t delay_us, const char *what)
{
    if (!l->failed[0])
        snprintf(l->failed, sizeof l->failed,
                 "%s: generation %llu, kill %s after %u us (consumer: %s)", what,
                 (unsigned long long)l->gen, kill_names[k], delay_us, first_problem(&l->c));
}

static t_proc_t *start_provider(const char *run, const char *ctl, uint64_t gen, int exact)
{
    char items[32], seed[32], g[32], resp[32];
    snprintf(items, sizeof items, "items=%u", items_for(gen));
    snprintf(seed, sizeof seed, "seed=%llu", (unsigned long long)gen);
    snprintf(g, sizeof g, "gen=%llu", (unsigned long long)gen);
    snprintf(resp, sizeof resp, "resp=%u", RESP_LIMIT);
    const char *opts[] = {"method=snap", "prof=3", items, seed, g, resp,
                          exact ? "exact=1" : NULL, NULL};
    return sp_start(run, ctl, "server", opts);
}

/* One iteration of one lane: start a provider, kill it, inspect the consumer. */
static void lane_round(void *arg)
{
    lane_t *l = arg;
    consumer_t *c = &l->c;
    uint64_t gen = ++l->gen;
    int k = gen == 1 ? K_RANDOM : (int)rng_below(&l->r, K_COUNT);
    uint32_t delay_us = 0;

    /* A new provider: nothing of the dead one (its socket, the regions of
     * its sessions) may survive its start. */
    if (t_dir_entries(l->run) > 0)
        l->stale_before_start++;
    t_proc_t *p = start_provider(l->run, l->ctl, gen, l->exact);
    if (!p) {
        lane_fail(l, k, 0, "provider did not start");
        return;
    }
    if (t_dir_entries(l->run) != ENDPOINT_FILES)
        lane_fail(l, k, 0, "a file of the dead provider survived the restart");
    atomic_store(&c->up, (unsigned)(2 * gen - 1));
    resume_consumer(c);

    if (k == K_HANDSHAKE) {
        /* The consumer's first steps after a restart are its connects. */
        delay_us = rng_below(&l->r, 3000);
        wait_us(delay_us);
    } else {
        /* Recovery: the cache shows this provider's data. */
        if (!wait_generation(c->cache, gen, t_bound(recovery_ms())))
            lane_fail(l, k, 0, "the consumer did not recover");
        else
            l->recoveries++;
        if (k == K_TRANSFER) {
            wait_phase(c, rng_below(&l->r, 2) ? PH_TRANSFER : PH_REFRESH);
            delay_us = rng_below(&l->r, 2000);
        } else if (k == K_RANDOM) {
            delay_us = rng_below(&l->r, 15000);
        } else {
            atomic_store(&c->up, (unsigned)(2 * gen));
            t_file_publish(l->ctl, "stop", "");
            delay_us = rng_below(&l->r, 60000);
        }
        wait_us(delay_us);
    }
    atomic_store(&c->up, (unsigned)(2 * gen));
    t_kill(p);
    l->kills++;
    l->by_phase[k]++;
    wait_us(rng_below(&l->r, 5000)); /* the consumer meets the dead provider */

    if (!pause_consumer(c)) {
        lane_fail(l, k, delay_us, "the consumer's call outlived its bound");
        return;
    }
    /* The cache keeps the last data it had, consistent with its generation. */
    nipc_cgroups_cache_status_t cs = cache_status(c->cache);
    if (l->recoveries && (!cs.populated || cs.item_count != items_for(cs.generation)))
        lane_fail(l, k, delay_us, "the cache lost or mixed its data");
    /* A client that has not noticed yet fails now, within its bound, and
     * drops its session. */
    if (cs.client_state == NIPC_CLIENT_READY) {
        unsigned long long t0 = t_now_ms();
        if (nipc_cgroups_cache_refresh(c->cache, T_MS(CALL_MS)) == NIPC_OK)
            lane_fail(l, k, delay_us, "a refresh succeeded with the provider dead");
        if (t_now_ms() - t0 > t_bound(refresh_ms()))
            lane_fail(l, k, delay_us, "a refresh outlived its bound");
    }
    if (nipc_cgroups_cache_ready(c->cache) != (l->recoveries > 0))
        lane_fail(l, k, delay_us, "cache readiness wrong");
    nipc_session_close(c->l1);
    c->l1 = NULL;
    if (c->unexpected || c->overruns)
        lane_fail(l, k, delay_us,
                  c->unexpected ? "a call failed with the provider up"
                                : "a call outlived its bound");
}

static void provider_kill(const char *name, uint32_t profiles, unsigned budget_ms)
{
    static lane_t lanes[LANES]; /* big; shared with lane and consumer threads */
    memset(lanes, 0, sizeof lanes);
    int fds0 = t_open_handles(), shm0 = t_shm_map_count();
    nipc_client_config_t cfg = {
        .supported_profiles = profiles,
        .preferred_profiles = profiles & NIPC_PROFILE_SHM_HYBRID,
        .max_payload_ceiling = RESP_LIMIT,
        .call_timeout_ms = T_MS(CALL_MS),
    };
    for (int i = 0; i < LANES; i++) {
        lane_t *l = &lanes[i];
        char lane_name[64];
        snprintf(lane_name, sizeof lane_name, "%s/%d", name, i);
        l->r = rng_for(lane_name);
        REQUIRE(sp_dirs(l->run, l->ctl, sizeof l->run));
        l->c.run = l->run;
        atomic_init(&l->c.pause, 1);
        /* Over SHM, odd lanes use upstream's file region, even ones (on
         * Linux) netipc's sealed region. */
        l->exact = (profiles & NIPC_PROFILE_SHM_HYBRID) && (i & 1);
        cfg.exact_profiles = l->exact;
        REQUIRE(nipc_cgroups_cache_create(l->run, SP_SERVICE, &cfg, &l->c.cache) == NIPC_OK);
        REQUIRE(nipc__thread_start(&l->consumer_thread, consumer_main, &l->c) == NIPC_OK);
        REQUIRE(pause_consumer(&l->c));
    }
    int fds_base = t_open_handles(), maps_base = -1;

    unsigned long long start = t_now_ms(), end = start + budget_ms;
    unsigned rounds = 0;
    int f0 = t_failures;
    while (t_failures == f0 && (rounds == 0 || t_now_ms() < end)) {
        nipc__thread_t *th[LANES];
        for (int i = 0; i < LANES; i++)
            CHECK(nipc__thread_start(&th[i], lane_round, &lanes[i]) == NIPC_OK);
        for (int i = 0; i < LANES; i++)
            nipc__thread_join(th[i]);
        rounds++;
        for (int i = 0; i < LANES; i++) {
            CHECK(lanes[i].failed[0] == 0);
            if (lanes[i].failed[0])
                fprintf(stderr, "%s lane %d: %s\n", name, i, lanes[i].failed);
        }
        /* Every provider dead, every consumer paused without a session:
         * nothing of those sessions is left in this process. */
        int fds = t_open_handles(), shm = t_shm_map_count(), maps = t_map_count();
        if (maps_base < 0)
            maps_base = maps; /* after one round: thread stacks and arenas exist */
        CHECK_EQ_U64(fds, fds_base);
        CHECK_EQ_U64(shm, shm0);
        CHECK(MAPS_OK(maps, maps_base));
        if (t_failures > f0)
            fprintf(stderr, "%s: round %u: fds %d/%d shm %d/%d maps %d/%d\n", name, rounds, fds,
                    fds_base, shm, shm0, maps, maps_base);
    }

    unsigned kills = 0, by_phase[K_COUNT] = {0}, stale = 0;
    unsigned long long ops = 0;
    for (int i = 0; i < LANES; i++) {
        lane_t *l = &lanes[i];
        atomic_store(&l->c.quit, 1);
        atomic_store(&l->c.pause, 0);
        nipc__thread_join(l->consumer_thread);
        nipc_session_close(l->c.l1);
        nipc_cgroups_cache_free(l->c.cache);
        kills += l->kills;
        stale += l->stale_before_start;
        ops += l->c.ops;
        for (int k = 0; k < K_COUNT; k++)
            by_phase[k] += l->by_phase[k];
        t_rmtree(l->run);
        t_rmtree(l->ctl);
    }
    fprintf(stderr,
            "  %s: %u kills (%u lanes) in %.1f s: handshake %u, transfer %u, random %u, "
            "graceful %u; %u restarts over stale files; %llu consumer operations\n",
            name, kills, LANES, (double)(t_now_ms() - start) / 1000.0, by_phase[K_HANDSHAKE],
            by_phase[K_TRANSFER], by_phase[K_RANDOM], by_phase[K_GRACEFUL], stale, ops);
    CHECK(kills >= 2u * LANES);
    CHECK(stale > 0 || ENDPOINT_FILES == 0); /* the restart check had work to do */
    CHECK_EQ_U64(t_open_handles(), fds0);
}

static void provider_kill_uds(void)
{
    provider_kill("provider_kill_uds", NIPC_PROFILE_BASELINE, g_budget_ms * 3 / 10);
}

static void provider_kill_shm(void)
{
#if defined(__linux__) || defined(_WIN32)
    provider_kill("provider_kill_shm", SHM_BOTH, g_budget_ms * 3 / 10);
#endif
}

/* ============================================ consumer killed: provider */

static struct {
    uint8_t *snap;
    size_t len;
} P;

static nipc_error_t snap_handler(void *ctx, void *buf, size_t cap, size_t *out_len)
{
    (void)ctx;
    if (P.len > cap)
        return NIPC_ERR_BUFFER_TOO_SMALL;
    memcpy(buf, P.snap, P.len);
    *out_len = P.len;
    return NIPC_OK;
}

static int encode_snapshot(uint64_t gen)
{
    nipc_cgroup_set_t set;
    if (nipc_cgroup_set_corpus(gen, items_for(gen), &set) != NIPC_OK)
        return 0;
    size_t need = nipc_cgroup_set_encoded_size(&set);
    P.snap = malloc(need);
    int ok = P.snap && nipc_cgroup_set_encode(&set, gen, P.snap, need, &P.len) == NIPC_OK;
    nipc_cgroup_set_free(&set);
    return ok;
}

#define SLOTS 4
static const char *const modes[] = {"l2-uds", "l2-shm", "l1-small"};

typedef struct slot {
    t_proc_t *p;
    unsigned long long kill_at;
} slot_t;

static void spawn_consumer(slot_t *s, const char *run, const char *ctl, rng_t *r)
{
#if defined(__linux__) || defined(_WIN32)
    const char *mode = modes[rng_below(r, 3)];
#else
    const char *mode = rng_below(r, 2) ? "l2-uds" : "l1-small";
#endif
    char seed[32];
    snprintf(seed, sizeof seed, "0x%016llx", (unsigned long long)g_seed);
    const char *args[] = {"peer", "consumer", run, ctl, mode, seed, NULL};
    s->p = t_spawn(args);
    /* A third die around their start and handshake, a third mid-call, a
     * third after several calls. */
    uint32_t band = rng_below(r, 3);
    uint32_t ms = band == 0   ? rng_below(r, 4)
                  : band == 1 ? 4 + rng_below(r, 12)
                              : 16 + rng_below(r, 50);
    s->kill_at = t_now_ms() + ms;
}

static int server_active(const nipc_server_t *srv)
{
    nipc_server_stats_t st;
    nipc_server_stats(srv, &st);
    return (int)st.sessions_active;
}

typedef struct baseline {
    int fds, shm, maps;
} baseline_t;

/* Every consumer dead: the server returns to its baseline and still serves. */
static int checkpoint(nipc_server_t *srv, slot_t *slots, const char *run, const baseline_t *b,
                      uint32_t profiles)
{
    int f0 = t_failures;
    for (int i = 0; i < SLOTS; i++) {
        t_kill(slots[i].p);
        slots[i].p = NULL;
    }
    /* Connections killed before they were accepted are accepted and
     * dropped a little later: a session notices a dead peer within one
     * 100 ms wait slice, a handshake that never got its HELLO at the
     * server's handshake timeout. */
    unsigned long long end = t_now_ms() + t_bound(T_MS(HS_MS) + 100u);
    int active, fds, shm, maps, files;
    for (;;) {
        active = server_active(srv);
        fds = t_open_handles();
        shm = t_shm_map_count();
        maps = t_map_count();
        files = t_dir_entries(run);
        if ((active == 0 && fds == b->fds && shm == b->shm && files == ENDPOINT_FILES &&
             MAPS_OK(maps, b->maps)) ||
            t_now_ms() > end)
            break;
        t_sleep_ms(5);
    }
    CHECK_EQ_U64(active, 0);
    CHECK_EQ_U64(fds, b->fds);
    CHECK_EQ_U64(shm, b->shm);
    CHECK_EQ_U64(files, ENDPOINT_FILES);
    CHECK(MAPS_OK(maps, b->maps));

    /* Still serving, over both transports. */
    nipc_client_config_t cfg = {.supported_profiles = profiles, .max_payload_ceiling = RESP_LIMIT};
    nipc_client_t *c = NULL;
    int ok = nipc_client_create(run, SP_SERVICE, &cfg, &c) == NIPC_OK;
    nipc_cgroups_view_t v;
    if (ok) {
        nipc_client_refresh(c);
        CHECK_OK(nipc_client_cgroups_snapshot(c, &v, T_MS(CALL_MS)));
        nipc_client_free(c);
    }
    CHECK(ok);
    if (t_failures > f0)
        fprintf(stderr, "checkpoint: active %d fds %d/%d shm %d/%d maps %d/%d files %d\n", active,
                fds, b->fds, shm, b->shm, maps, b->maps, files);
    return t_failures == f0;
}

typedef struct stop_killer {
    slot_t *slots;
    rng_t *r;
} stop_killer_t;

static void stop_killer_main(void *arg)
{
    stop_killer_t *k = arg;
    for (int i = 0; i < SLOTS; i++) {
        t_sleep_ms((int)rng_below(k->r, 30));
        t_kill(k->slots[i].p);
        k->slots[i].p = NULL;
    }
}

static void consumer_kill(void)
{
    unsigned budget_ms = g_budget_ms * 4 / 10;
    char run[512], ctl[512];
    REQUIRE(sp_dirs(run, ctl, sizeof run));
    rng_t r = rng_for("consumer_kill");
    baseline_t outer = {t_open_handles(), t_shm_map_count(), t_map_count()};
    REQUIRE(encode_snapshot(7));

#if defined(__linux__) || defined(_WIN32)
    uint32_t profiles = SHM_BOTH;
#else
    uint32_t profiles = NIPC_PROFILE_BASELINE;
#endif
    nipc_server_config_t scfg = {
        .supported_profiles = profiles,
        .max_response_payload_bytes = RESP_LIMIT,
        /* Killed SHM consumers are noticed within a 100 ms slice: room
         * for those not yet noticed at ~150 kills a second. */
        .max_sessions = 128,
        .handshake_timeout_ms = T_MS(HS_MS),
    };
    nipc_server_t *srv = NULL;
    REQUIRE(nipc_server_create_cgroups_snapshot(run, SP_SERVICE, &scfg, snap_handler, NULL, &srv) ==
            NIPC_OK);
    REQUIRE(nipc_server_start(srv) == NIPC_OK);

    slot_t slots[SLOTS] = {{0}};
    unsigned long long start = t_now_ms(), end = start + budget_ms;
    unsigned kills = 0, checkpoints = 0;
    baseline_t b = {t_open_handles(), t_shm_map_count(), t_map_count()};
    int ok = checkpoint(srv, slots, run, &b, profiles); /* warm-up: caches of threads and malloc */
    b.maps = t_map_count();
    while (ok && t_now_ms() < end) {
        unsigned long long next = end;
        for (int i = 0; i < SLOTS; i++) {
            if (!slots[i].p)
                spawn_consumer(&slots[i], run, ctl, &r);
            CHECK(slots[i].p != NULL);
            if (!slots[i].p) {
                ok = 0;
                break;
            }
            if (t_now_ms() >= slots[i].kill_at) {
                t_kill(slots[i].p);
                slots[i].p = NULL;
                next = 0; /* respawn at once */
                if (++kills % 256 == 0) {
                    ok = checkpoint(srv, slots, run, &b, profiles);
                    checkpoints++;
                }
            } else if (slots[i].kill_at < next) {
                next = slots[i].kill_at;
            }
        }
        unsigned long long now = t_now_ms();
        if (ok && next > now)
            t_sleep_ms((int)(next - now));
    }
    if (ok) {
        ok = checkpoint(srv, slots, run, &b, profiles);
        checkpoints++;
    }

    /* Graceful stop while consumers are busy, with kills around it. */
    for (int i = 0; ok && i < SLOTS; i++) {
        spawn_consumer(&slots[i], run, ctl, &r);
        CHECK(slots[i].p != NULL);
    }
    t_sleep_ms(40);
    t_file_publish(ctl, "stopping", "");
    stop_killer_t sk = {slots, &r};
    nipc__thread_t *killer = NULL;
    CHECK(nipc__thread_start(&killer, stop_killer_main, &sk) == NIPC_OK);
    unsigned long long t0 = t_now_ms();
    CHECK_OK(nipc_server_join(srv, T_MS(3000)));
    CHECK(t_now_ms() - t0 < t_bound(T_MS(3000)));
    nipc__thread_join(killer);
    nipc_server_destroy(srv);
    CHECK_EQ_U64(t_dir_entries(run), 0);

    CHECK(!t_file_exists(ctl, "errors"));
    print_errors(ctl);
    free(P.snap);
    P.snap = NULL;
    fprintf(stderr, "  consumer_kill: %u kills in %.1f s, %u checkpoints\n", kills,
            (double)(t_now_ms() - start) / 1000.0, checkpoints);
    CHECK(kills >= 50);
    t_rmtree(run);
    t_rmtree(ctl);
    CHECK_EQ_U64(t_open_handles(), outer.fds);
    CHECK_EQ_U64(t_shm_map_count(), outer.shm);
}

/* ------------------------------------------------------------------- main */

int main(int argc, char **argv)
{
    t_init(argc, argv);
    if (argc > 2 && strcmp(argv[1], "peer") == 0) {
        if (strcmp(argv[2], "consumer") == 0)
            return consumer_peer(argc - 3, argv + 3);
        return sp_peer_main(argc - 2, argv + 2);
    }
    const char *seed = getenv("NETIPC_CHAOS_SEED");
    const char *secs = getenv("NETIPC_CHAOS_SECONDS");
    g_seed = seed && *seed ? strtoull(seed, NULL, 0)
                           : mix64((uint64_t)time(NULL) ^ ((uint64_t)t_now_ms() << 20));
    double s = secs && *secs ? strtod(secs, NULL) : 40.0;
    g_budget_ms = (unsigned)(s > 0 ? s * 1000.0 : 40000.0);
    fprintf(stderr, "chaos: seed 0x%016llx (replay: NETIPC_CHAOS_SEED=0x%016llx), budget %.0f s\n",
            (unsigned long long)g_seed, (unsigned long long)g_seed, (double)g_budget_ms / 1000.0);
    static const t_case_t cases[] = {
        T_CASE(provider_kill_uds),
        T_CASE(provider_kill_shm),
        T_CASE(consumer_kill),
    };
    return t_run(cases, sizeof cases / sizeof cases[0], argc, argv);
}
