/*
 * Stress: many concurrent sessions over UDS and SHM for a bounded time,
 * and the server's limits under pressure.
 *
 * mixed_load: 64 client threads (every other one over SHM), each with a
 *   Level 2 client per service -- INCREMENT, STRING_REVERSE,
 *   CGROUPS_SNAPSHOT, CGROUPS_LOOKUP, APPS_LOOKUP -- and a Level 3 cache,
 *   384 sessions at once against one provider process, run every typed call
 *   (increment, increment batch, string reverse, snapshot, both lookups,
 *   cache refresh) in random order for NETIPC_STRESS_SECONDS (default 20).
 *   Every answer is checked; zero errors allowed. Descriptors of both
 *   processes are equal at the start and the end of the run and their
 *   resident memory does not grow beyond 10 % + 8 MiB (reported only in
 *   sanitizer builds, whose runtimes keep memory of their own).
 * session_limit_{uds,shm}: a server with max_sessions 8, all 8 busy: the
 *   9th client gets BUSY (DISCONNECTED) every time, and is served once one
 *   of the 8 leaves.
 * connection_flood: hundreds of connections that never speak, against a
 *   server that is serving 4 busy clients: those see no error, the silent
 *   ones are dropped after the handshake deadline, the server returns to
 *   its descriptors and sessions, and a new client is served.
 * fd_exhaustion (POSIX): a provider limited to 48 descriptors is filled
 *   with sessions until connects fail; it keeps serving the admitted ones,
 *   and returns to its baseline and serves once they leave.
 *
 * The provider is this program re-executed ("peer stress-server"); it
 * publishes its counters and resources to a control file every 25 ms.
 */
#include "test.h"

#include <stdatomic.h>

#ifndef _WIN32
#include <sys/resource.h>
#endif

#include "corpus/corpus.h"
#include "netipc/cache.h"
#include "netipc/lookup.h"
#include "netipc/service.h"
#include "netipc/transport.h"
#include "platform/platform.h"
#include "support.h"
#include "transport/transport_internal.h"

#if defined(__linux__) || defined(_WIN32)
#define HAVE_SHM 1
#else
#define HAVE_SHM 0
#endif

#define SHM_BOTH (NIPC_PROFILE_BASELINE | NIPC_PROFILE_SHM_HYBRID)
#define SNAP_ITEMS 300u
#define SNAP_RESP_LIMIT (256u * 1024u) /* 300 corpus items: ~70 KiB */
#define SNAP_GEN 1u
#define LOOKUP_GEN 42u
#define BATCH_MAX 32u
#define CALL_MS 10000u

enum { SVC_INC, SVC_REV, SVC_SNAP, SVC_CGL, SVC_APL, SVC_COUNT };
static const char *const svc_names[SVC_COUNT] = {"inc", "rev", "snap", "cgl", "apl"};

/* ========================================================= provider peer */

static struct {
    t_bytes_t snap;
} P;

/* Every path is KNOWN; its name is the part after the last '/'. */
static nipc_error_t cgl_handler(void *ctx, const nipc_cgroups_lookup_req_t *req,
                                nipc_cgroups_lookup_builder_t *b)
{
    (void)ctx;
    nipc_cgroups_lookup_builder_set_generation(b, LOOKUP_GEN);
    static const nipc_label_t label = {{"tier", 4}, {"stress", 6}};
    for (uint32_t i = 0; i < req->item_count; i++) {
        nipc_str_t key;
        nipc_cgroups_lookup_req_key(req, i, &key);
        uint32_t cut = key.len;
        while (cut > 0 && key.ptr[cut - 1] != '/')
            cut--;
        nipc_cgroups_lookup_item_t it = {
            .status = NIPC_CGROUP_KNOWN,
            .orchestrator = NIPC_ORCH_SYSTEMD,
            .path = key,
            .name = {key.ptr + cut, key.len - cut},
            .labels = {.count = 1},
        };
        nipc_cgroups_lookup_builder_add(b, &it, &label);
    }
    return NIPC_OK;
}

/* Every pid is KNOWN with fields derived from it. */
static nipc_error_t apl_handler(void *ctx, const nipc_apps_lookup_req_t *req,
                                nipc_apps_lookup_builder_t *b)
{
    (void)ctx;
    nipc_apps_lookup_builder_set_generation(b, LOOKUP_GEN);
    for (uint32_t i = 0; i < req->item_count; i++) {
        uint32_t pid = 0;
        nipc_apps_lookup_req_pid(req, i, &pid);
        char comm[16], path[32];
        int cl = snprintf(comm, sizeof comm, "p%u", pid % 100000u);
        int pl = snprintf(path, sizeof path, "/apps/%u", pid);
        nipc_apps_lookup_item_t it = {
            .status = NIPC_APP_KNOWN,
            .orchestrator = NIPC_ORCH_DOCKER,
            .cgroup_status = NIPC_APP_CGROUP_KNOWN,
            .pid = pid,
            .ppid = pid / 2,
            .uid = 1000,
            .starttime = (uint64_t)pid * 10u,
            .comm = {comm, (uint32_t)cl},
            .cgroup_path = {path, (uint32_t)pl},
            .cgroup_name = {path + 6, (uint32_t)pl - 6},
        };
        nipc_apps_lookup_builder_add(b, &it, NULL);
    }
    return NIPC_OK;
}

static uint32_t opt_u32(int argc, char **argv, const char *key, uint32_t def)
{
    size_t k = strlen(key);
    for (int i = 0; i < argc; i++)
        if (strncmp(argv[i], key, k) == 0 && argv[i][k] == '=')
            return (uint32_t)strtoul(argv[i] + k + 1, NULL, 0);
    return def;
}

static void publish(nipc_server_t *const srv[SVC_COUNT], const char *ctl, unsigned long long seq)
{
    unsigned long long active = 0, requests = 0, errors = 0, rejected = 0, failed = 0, accepted = 0;
    for (int i = 0; i < SVC_COUNT; i++) {
        if (!srv[i])
            continue;
        nipc_server_stats_t st;
        nipc_server_stats(srv[i], &st);
        active += st.sessions_active;
        requests += st.requests;
        errors += st.request_errors;
        rejected += st.sessions_rejected;
        failed += st.handshakes_failed;
        accepted += st.sessions_accepted;
    }
    char text[256];
    snprintf(text, sizeof text, "%llu %ld %d %llu %llu %llu %llu %llu %llu\n", seq, t_rss_kb(),
             t_open_handles(), active, requests, errors, rejected, failed, accepted);
    t_record_write(ctl, "res", text);
}

/* peer stress-server <run> <ctl> [services=all|inc] [sessions=N] [hs=MS] [nofile=N] */
static int stress_server(int argc, char **argv)
{
    if (argc < 2)
        return 2;
    const char *run = argv[0], *ctl = argv[1];
    argc -= 2;
    argv += 2;
    int all = opt_u32(argc, argv, "inc_only", 0) == 0;
    nipc_server_config_t cfg = {
        .supported_profiles = HAVE_SHM ? SHM_BOTH : NIPC_PROFILE_BASELINE,
        .max_request_batch_items = BATCH_MAX,
        .max_request_payload_bytes = 4096,
        .max_sessions = opt_u32(argc, argv, "sessions", 0),
        .handshake_timeout_ms = opt_u32(argc, argv, "hs", 0),
    };
#ifndef _WIN32
    uint32_t nofile = opt_u32(argc, argv, "nofile", 0);
    if (nofile) {
        struct rlimit rl;
        if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
            return 3;
        rl.rlim_cur = nofile;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
            return 3;
    }
#endif
    nipc_cgroup_set_t set;
    if (nipc_cgroup_set_corpus(SNAP_GEN, SNAP_ITEMS, &set) != NIPC_OK)
        return 3;
    size_t need = nipc_cgroup_set_encoded_size(&set);
    P.snap.ptr = malloc(need);
    if (!P.snap.ptr ||
        nipc_cgroup_set_encode(&set, SNAP_GEN, P.snap.ptr, need, &P.snap.len) != NIPC_OK)
        return 3;
    nipc_cgroup_set_free(&set);

    nipc_server_t *srv[SVC_COUNT] = {0};
    nipc_error_t err = nipc_server_create_increment(run, svc_names[SVC_INC], &cfg,
                                                    t_increment_handler, NULL, &srv[SVC_INC]);
    if (all && err == NIPC_OK)
        err = nipc_server_create_string_reverse(run, svc_names[SVC_REV], &cfg, t_reverse_handler,
                                                NULL, &srv[SVC_REV]);
    nipc_server_config_t snap_cfg = cfg;
    snap_cfg.max_response_payload_bytes = SNAP_RESP_LIMIT;
    if (all && err == NIPC_OK)
        err = nipc_server_create_cgroups_snapshot(run, svc_names[SVC_SNAP], &snap_cfg,
                                                  t_snapshot_handler, &P.snap, &srv[SVC_SNAP]);
    if (all && err == NIPC_OK)
        err = nipc_server_create_cgroups_lookup(run, svc_names[SVC_CGL], &cfg, cgl_handler, NULL,
                                                &srv[SVC_CGL]);
    if (all && err == NIPC_OK)
        err = nipc_server_create_apps_lookup(run, svc_names[SVC_APL], &cfg, apl_handler, NULL,
                                             &srv[SVC_APL]);
    for (int i = 0; err == NIPC_OK && i < SVC_COUNT; i++)
        if (srv[i])
            err = nipc_server_start(srv[i]);
    if (err != NIPC_OK) {
        fprintf(stderr, "stress-server: %s\n", nipc_error_name(err));
        return 2;
    }
    unsigned long long seq = 0, born = t_now_ms();
    publish(srv, ctl, seq++);
    t_file_publish(ctl, "ready", "1\n");
    /* A provider whose test died must not linger. */
    while (!t_file_exists(ctl, "stop") && t_now_ms() < born + 180000) {
        t_sleep_ms(25);
        publish(srv, ctl, seq++);
    }
    int in_time = 1;
    for (int i = 0; i < SVC_COUNT; i++)
        if (srv[i])
            in_time &= nipc_server_join(srv[i], 5000) == NIPC_OK;
    for (int i = 0; i < SVC_COUNT; i++)
        nipc_server_destroy(srv[i]);
    free(P.snap.ptr);
    return in_time ? 0 : 4;
}

/* ============================================================ test side */

typedef struct res {
    unsigned long long seq;
    long rss_kb;
    int fds;
    unsigned long long active, requests, errors, rejected, hs_failed, accepted;
} res_t;

static int read_res(const char *ctl, res_t *r)
{
    char text[256];
    if (!t_record_read(ctl, "res", text, sizeof text))
        return 0;
    int n = sscanf(text, "%llu %ld %d %llu %llu %llu %llu %llu %llu", &r->seq, &r->rss_kb, &r->fds,
                   &r->active, &r->requests, &r->errors, &r->rejected, &r->hs_failed, &r->accepted);
    return n == 9;
}

/* A publication made after this call (two sequence numbers later). */
static int fresh_res(const char *ctl, res_t *r)
{
    unsigned long long end = t_now_ms() + T_MS(3000);
    res_t first;
    /* Not too often: on Windows the provider cannot replace a file that a
     * reader holds open. */
    while (!read_res(ctl, &first)) {
        if (t_now_ms() > end)
            return 0;
        t_sleep_ms(10);
    }
    for (;;) {
        t_sleep_ms(10);
        if (read_res(ctl, r) && r->seq >= first.seq + 2)
            return 1;
        if (t_now_ms() > end)
            return 0;
    }
}

/* Waits until the provider's counters satisfy `ok` (fresh each time). */
static int wait_res(const char *ctl, res_t *r, int (*ok)(const res_t *, const void *),
                    const void *arg, unsigned timeout_ms)
{
    unsigned long long end = t_now_ms() + timeout_ms;
    for (;;) {
        if (fresh_res(ctl, r) && ok(r, arg))
            return 1;
        if (t_now_ms() > end)
            return 0;
    }
}

typedef struct fixture {
    char run[512], ctl[512];
    t_proc_t *server;
} fixture_t;

static int fx_begin(fixture_t *f, const char *const opts[])
{
    memset(f, 0, sizeof *f);
    if (!t_mkdtemp(f->run, sizeof f->run) || !t_mkdtemp(f->ctl, sizeof f->ctl))
        return 0;
    const char *args[16] = {"peer", "stress-server", f->run, f->ctl};
    size_t n = 4;
    for (size_t i = 0; opts && opts[i] && n < 15; i++)
        args[n++] = opts[i];
    args[n] = NULL;
    f->server = t_spawn(args);
    if (!f->server)
        return 0;
    unsigned long long end = t_now_ms() + T_MS(10000);
    while (!t_file_exists(f->ctl, "ready")) {
        int code;
        if (t_wait(f->server, 0, &code)) {
            fprintf(stderr, "stress-server exited early with %d\n", code);
            f->server = NULL;
            return 0;
        }
        if (t_now_ms() > end)
            return 0;
        t_sleep_ms(2);
    }
    return 1;
}

/* Stops the provider gracefully; its exit code. */
static int fx_end(fixture_t *f)
{
    int code = -1;
    if (f->server) {
        t_file_publish(f->ctl, "stop", "1\n");
        if (!t_wait(f->server, (int)T_MS(15000), &code)) {
            t_kill(f->server);
            code = -1;
        }
    }
    t_rmtree(f->run);
    t_rmtree(f->ctl);
    return code;
}

static int refresh_until_ready(nipc_client_t *c, unsigned timeout_ms)
{
    unsigned long long end = t_now_ms() + timeout_ms;
    for (;;) {
        nipc_client_refresh(c);
        if (nipc_client_ready(c))
            return 1;
        if (t_now_ms() > end)
            return 0;
        t_sleep_ms(5);
    }
}

static nipc_client_t *client_for(const char *run, int svc, uint32_t profiles)
{
    nipc_client_config_t cfg = {
        .supported_profiles = profiles,
        .preferred_profiles = profiles & NIPC_PROFILE_SHM_HYBRID,
        .max_request_batch_items = BATCH_MAX,
        .call_timeout_ms = T_MS(CALL_MS),
    };
    nipc_client_t *c = NULL;
    return nipc_client_create(run, svc_names[svc], &cfg, &c) == NIPC_OK ? c : NULL;
}

/* ============================================================ mixed load */

enum { OP_INC, OP_BATCH, OP_REV, OP_SNAP, OP_CACHE, OP_CGL, OP_APL, OP_COUNT };
static const char *const op_names[OP_COUNT] = {"increment",  "increment_batch", "string_reverse",
                                               "snapshot",   "cache_refresh",   "cgroups_lookup",
                                               "apps_lookup"};

typedef struct control {
    atomic_int warm, go, stop, done, release, errors;
    atomic_ullong ops[OP_COUNT];
    nipc__mutex_t *lock;
    char first_error[200];
} control_t;

typedef struct worker {
    int id;
    const char *run;
    uint32_t profiles;
    uint64_t rng;
    control_t *ctl;
    nipc_client_t *c[SVC_COUNT];
    nipc_cgroups_cache_t *cache;
} worker_t;

static uint32_t next_rand(worker_t *w, uint32_t n)
{
    w->rng ^= w->rng << 13;
    w->rng ^= w->rng >> 7;
    w->rng ^= w->rng << 17;
    return (uint32_t)(w->rng % n);
}

static void worker_error(worker_t *w, int op, nipc_error_t err, const char *what)
{
    if (atomic_fetch_add(&w->ctl->errors, 1) == 0) {
        nipc__mutex_lock(w->ctl->lock);
        snprintf(w->ctl->first_error, sizeof w->ctl->first_error, "worker %d (%s) %s: %s (%s)",
                 w->id, w->profiles & NIPC_PROFILE_SHM_HYBRID ? "shm" : "uds", op_names[op],
                 nipc_error_name(err), what);
        nipc__mutex_unlock(w->ctl->lock);
    }
}

/* One typed call with its answer checked; 1 when right. */
static int do_op(worker_t *w, int op)
{
    nipc_error_t err = NIPC_OK;
    const char *what = "call failed";
    uint32_t k = 0;
    switch (op) {
    case OP_INC: {
        uint64_t v = ((uint64_t)w->id << 32) | next_rand(w, 1u << 30), out = 0;
        err = nipc_client_increment(w->c[SVC_INC], v, &out, 0);
        if (err == NIPC_OK && out != v + 1)
            what = "wrong answer", err = NIPC_ERR_BAD_RESPONSE;
        break;
    }
    case OP_BATCH: {
        uint64_t in[BATCH_MAX], out[BATCH_MAX];
        k = 1 + next_rand(w, BATCH_MAX);
        for (uint32_t i = 0; i < k; i++)
            in[i] = (uint64_t)w->id * 1000000u + next_rand(w, 1000000u);
        err = nipc_client_increment_batch(w->c[SVC_INC], in, k, out, 0);
        for (uint32_t i = 0; err == NIPC_OK && i < k; i++)
            if (out[i] != in[i] + 1)
                what = "wrong answer", err = NIPC_ERR_BAD_RESPONSE;
        break;
    }
    case OP_REV: {
        char s[256];
        k = next_rand(w, sizeof s);
        for (uint32_t i = 0; i < k; i++)
            s[i] = (char)('a' + next_rand(w, 26));
        nipc_str_t out;
        err = nipc_client_string_reverse(w->c[SVC_REV], s, k, &out, 0);
        if (err == NIPC_OK && out.len != k)
            what = "wrong length", err = NIPC_ERR_BAD_RESPONSE;
        for (uint32_t i = 0; err == NIPC_OK && i < k; i++)
            if (out.ptr[i] != s[k - 1 - i])
                what = "wrong answer", err = NIPC_ERR_BAD_RESPONSE;
        break;
    }
    case OP_SNAP: {
        nipc_cgroups_view_t v;
        err = nipc_client_cgroups_snapshot(w->c[SVC_SNAP], &v, 0);
        if (err == NIPC_OK && (v.item_count != SNAP_ITEMS || v.generation != SNAP_GEN))
            what = "wrong snapshot", err = NIPC_ERR_BAD_RESPONSE;
        break;
    }
    case OP_CACHE: {
        err = nipc_cgroups_cache_refresh(w->cache, 0);
        if (err == NIPC_OK) {
            nipc_corpus_item_t want;
            nipc_corpus_item(SNAP_GEN, next_rand(w, SNAP_ITEMS), &want);
            nipc_cgroup_item_t got = {0};
            nipc_cgroups_cache_read_lock(w->cache);
            int found =
                nipc_cgroups_cache_count(w->cache) == SNAP_ITEMS &&
                t_item_copy(nipc_cgroups_cache_get(w->cache, want.hash, want.name, want.name_len),
                            &got) &&
                got.path.len == want.path_len &&
                memcmp(got.path.ptr, want.path, want.path_len) == 0;
            nipc_cgroups_cache_read_unlock(w->cache);
            if (!found)
                what = "cache lookup", err = NIPC_ERR_BAD_RESPONSE;
        }
        break;
    }
    case OP_CGL: {
        char buf[16][48];
        nipc_str_t paths[16];
        k = 1 + next_rand(w, 16);
        for (uint32_t i = 0; i < k; i++) {
            int n = snprintf(buf[i], sizeof buf[i], "/stress.slice/w%d/c%u", w->id,
                             next_rand(w, 100000));
            paths[i] = (nipc_str_t){buf[i], (uint32_t)n};
        }
        nipc_cgroups_lookup_view_t v;
        err = nipc_client_cgroups_lookup(w->c[SVC_CGL], paths, k, &v, 0);
        if (err == NIPC_OK && (v.item_count != k || v.generation != LOOKUP_GEN))
            what = "wrong count", err = NIPC_ERR_BAD_RESPONSE;
        for (uint32_t i = 0; err == NIPC_OK && i < k; i++) {
            nipc_cgroups_lookup_item_t it;
            nipc_label_t l;
            err = nipc_cgroups_lookup_resp_item(&v, i, &it);
            if (err == NIPC_OK &&
                (it.status != NIPC_CGROUP_KNOWN || it.path.len != paths[i].len ||
                 memcmp(it.path.ptr, paths[i].ptr, it.path.len) != 0 || it.labels.count != 1 ||
                 nipc_lookup_label(&it.labels, 0, &l) != NIPC_OK || l.value.len != 6))
                what = "wrong item", err = NIPC_ERR_BAD_RESPONSE;
        }
        break;
    }
    case OP_APL: {
        uint32_t pids[32];
        k = 1 + next_rand(w, 32);
        for (uint32_t i = 0; i < k; i++)
            pids[i] = 1 + next_rand(w, 4000000);
        nipc_apps_lookup_view_t v;
        err = nipc_client_apps_lookup(w->c[SVC_APL], pids, k, &v, 0);
        if (err == NIPC_OK && (v.item_count != k || v.generation != LOOKUP_GEN))
            what = "wrong count", err = NIPC_ERR_BAD_RESPONSE;
        for (uint32_t i = 0; err == NIPC_OK && i < k; i++) {
            nipc_apps_lookup_item_t it;
            err = nipc_apps_lookup_resp_item(&v, i, &it);
            if (err == NIPC_OK &&
                (it.status != NIPC_APP_KNOWN || it.pid != pids[i] || it.ppid != pids[i] / 2 ||
                 it.starttime != (uint64_t)pids[i] * 10u))
                what = "wrong item", err = NIPC_ERR_BAD_RESPONSE;
        }
        break;
    }
    }
    if (err != NIPC_OK) {
        worker_error(w, op, err, what);
        return 0;
    }
    atomic_fetch_add(&w->ctl->ops[op], 1);
    return 1;
}

static void wait_flag(atomic_int *flag)
{
    while (!atomic_load(flag))
        t_sleep_ms(1);
}

static void worker_main(void *arg)
{
    worker_t *w = arg;
    int ready = 1;
    for (int s = 0; s < SVC_COUNT; s++) {
        w->c[s] = client_for(w->run, s, w->profiles);
        ready &= w->c[s] && refresh_until_ready(w->c[s], T_MS(10000));
    }
    nipc_client_config_t cc = {.supported_profiles = w->profiles,
                               .preferred_profiles = w->profiles & NIPC_PROFILE_SHM_HYBRID};
    ready &= nipc_cgroups_cache_create(w->run, svc_names[SVC_SNAP], &cc, &w->cache) == NIPC_OK;
    if (!ready)
        worker_error(w, OP_INC, NIPC_ERR_NOT_READY, "could not connect");
    /* Warm-up: every call once, so buffers and sessions exist before the
     * resources are sampled. */
    for (int op = 0; ready && op < OP_COUNT; op++)
        do_op(w, op);
    atomic_fetch_add(&w->ctl->warm, 1);
    wait_flag(&w->ctl->go);
    while (ready && !atomic_load(&w->ctl->stop))
        do_op(w, (int)next_rand(w, OP_COUNT));
    atomic_fetch_add(&w->ctl->done, 1);
    wait_flag(&w->ctl->release);
    for (int s = 0; s < SVC_COUNT; s++)
        nipc_client_free(w->c[s]);
    nipc_cgroups_cache_free(w->cache);
}

static int all_arrived(atomic_int *counter, int n, unsigned timeout_ms)
{
    unsigned long long end = t_now_ms() + timeout_ms;
    while (atomic_load(counter) < n) {
        if (t_now_ms() > end)
            return 0;
        t_sleep_ms(5);
    }
    return 1;
}

static unsigned stress_workers(void)
{
    const char *v = getenv("NETIPC_STRESS_WORKERS");
    long n = v && *v ? strtol(v, NULL, 10) : 0;
#ifdef _WIN32
    return n > 0 ? (unsigned)n : 16; /* every pipe call is a wineserver round trip */
#else
    return n > 0 ? (unsigned)n : 64;
#endif
}

static unsigned stress_seconds(void)
{
    const char *v = getenv("NETIPC_STRESS_SECONDS");
    double s = v && *v ? strtod(v, NULL) : 20.0;
    return (unsigned)((s > 0 ? s : 20.0) * 1000.0);
}

/*
 * A provider's descriptor count is back at its baseline. On POSIX exactly
 * (fewer would mean something closed what it did not own). On Windows
 * (wine included) the process keeps transient handles of its own (a pipe
 * instance being replaced, thread-pool handles), so a baseline can be taken
 * a few handles high: there a leak is growth, and fewer is fine.
 */
static int fds_back(int now, int base)
{
#ifdef _WIN32
    return now <= base;
#else
    return now == base;
#endif
}

static int same_sessions_and_fds(const res_t *r, const void *base)
{
    const res_t *b = base;
    return r->active == b->active && fds_back(r->fds, b->fds);
}

/* Resident memory "stable": at most 10 % + 8 MiB more at the end. */
static int rss_stable(long start_kb, long end_kb)
{
    return start_kb > 0 && end_kb > 0 && end_kb <= start_kb + start_kb / 10 + 8192;
}

static void mixed_load(void)
{
    unsigned nw = stress_workers(), ms = stress_seconds();
    char sessions[32];
    snprintf(sessions, sizeof sessions, "sessions=%u", 2 * nw + 16);
    int fds_before = t_open_handles();
    fixture_t f;
    REQUIRE(fx_begin(&f, (const char *[]){sessions, NULL}));

    static control_t ctl; /* shared with the workers */
    memset(&ctl, 0, sizeof ctl);
    REQUIRE(nipc__mutex_create(&ctl.lock) == NIPC_OK);
    worker_t *w = calloc(nw, sizeof *w);
    nipc__thread_t **th = calloc(nw, sizeof *th);
    REQUIRE(w && th);
    for (unsigned i = 0; i < nw; i++) {
        w[i] = (worker_t){.id = (int)i,
                          .run = f.run,
                          .profiles = HAVE_SHM && (i % 2) ? SHM_BOTH : NIPC_PROFILE_BASELINE,
                          .rng = 0x9e3779b97f4a7c15ull * (i + 1),
                          .ctl = &ctl};
        CHECK(nipc__thread_start(&th[i], worker_main, &w[i]) == NIPC_OK);
    }
    CHECK(all_arrived(&ctl.warm, (int)nw, T_MS(60000)));

    /* Start of the run: every session is up and has served once. */
    res_t s0, s1;
    CHECK(fresh_res(f.ctl, &s0));
    int fds0 = t_open_handles();
    long rss0 = t_rss_kb();
    unsigned long long t0 = t_now_ms();
    atomic_store(&ctl.go, 1);
    while (t_now_ms() - t0 < ms && atomic_load(&ctl.errors) == 0)
        t_sleep_ms(100); /* the run's duration, not a synchronisation */
    atomic_store(&ctl.stop, 1);
    CHECK(all_arrived(&ctl.done, (int)nw, T_MS(CALL_MS * 2)));
    double secs = (double)(t_now_ms() - t0) / 1000.0;

    /* End of the run, every session still up. */
    /* A provider's handle count moves briefly while its listener replaces
     * a pipe instance (Windows): let it settle (a leak would not). */
    CHECK(wait_res(f.ctl, &s1, same_sessions_and_fds, &s0, T_MS(3000)) || fresh_res(f.ctl, &s1));
    int fds1 = t_open_handles();
    long rss1 = t_rss_kb();
    atomic_store(&ctl.release, 1);
    for (unsigned i = 0; i < nw; i++)
        nipc__thread_join(th[i]);

    unsigned long long total = 0;
    fprintf(stderr, "  mixed_load: %u workers, %llu sessions, %.1f s:", nw,
            (unsigned long long)s0.active, secs);
    for (int op = 0; op < OP_COUNT; op++) {
        unsigned long long n = atomic_load(&ctl.ops[op]);
        total += n;
        fprintf(stderr, " %s %llu", op_names[op], n);
        CHECK(n > 0);
    }
    fprintf(stderr,
            "\n  mixed_load: %llu calls (%.0f/s); client fds %d->%d rss %ld->%ld KiB; server "
            "fds %d->%d rss %ld->%ld KiB\n",
            total, (double)total / secs, fds0, fds1, rss0, rss1, s0.fds, s1.fds, s0.rss_kb,
            s1.rss_kb);
    CHECK_EQ_U64(atomic_load(&ctl.errors), 0);
    if (ctl.first_error[0])
        fprintf(stderr, "  first error: %s\n", ctl.first_error);
    CHECK(s0.active >= 64); /* "at least 64 concurrent sessions" */
    CHECK_EQ_U64(s0.active, (unsigned long long)nw * 6u);
    CHECK_EQ_U64(s1.active, s0.active);
    CHECK_EQ_U64(s1.errors, 0);
    CHECK_EQ_U64(fds1, fds0);
    if (!fds_back(s1.fds, s0.fds))
        CHECK_EQ_U64(s1.fds, s0.fds); /* fails, printing both counts */
    if (!T_ASAN && !T_TSAN) {
        CHECK(rss_stable(rss0, rss1));
        CHECK(rss_stable(s0.rss_kb, s1.rss_kb));
    }
    CHECK_EQ_U64(fx_end(&f), 0);
    CHECK_EQ_U64(t_open_handles(), fds_before);
    free(w);
    free(th);
    nipc__mutex_free(ctl.lock);
}

/* ========================================================= session limit */

typedef struct holder {
    nipc_client_t *c;
    atomic_int stop;
    unsigned long long calls, errors;
} holder_t;

/* A client that keeps its session busy, a call every millisecond or so
 * (paced: under wine every call is a wineserver round trip, and flat-out
 * callers would starve the provider's other threads). */
static void holder_main(void *arg)
{
    holder_t *h = arg;
    for (uint64_t v = 1; !atomic_load(&h->stop); v++) {
        uint64_t out = 0;
        if (nipc_client_increment(h->c, v, &out, 0) == NIPC_OK && out == v + 1)
            h->calls++;
        else
            h->errors++;
        t_sleep_ms(1);
    }
}

static int active_is(const res_t *r, const void *n)
{
    return r->active == *(const unsigned long long *)n;
}

#define LIMIT 8

static void session_limit(uint32_t newcomer_profiles)
{
    fixture_t f;
    char hs[32];
    snprintf(hs, sizeof hs, "hs=%u", T_MS(2000));
    REQUIRE(fx_begin(&f, (const char *[]){"inc_only=1", "sessions=8", hs, NULL}));
    holder_t h[LIMIT];
    nipc__thread_t *th[LIMIT];
    for (int i = 0; i < LIMIT; i++) {
        memset(&h[i], 0, sizeof h[i]);
        h[i].c = client_for(f.run, SVC_INC, HAVE_SHM && (i % 2) ? SHM_BOTH : NIPC_PROFILE_BASELINE);
        REQUIRE(h[i].c && refresh_until_ready(h[i].c, T_MS(5000)));
        CHECK(nipc__thread_start(&th[i], holder_main, &h[i]) == NIPC_OK);
    }
    res_t r;
    unsigned long long want = LIMIT;
    CHECK(wait_res(f.ctl, &r, active_is, &want, T_MS(3000)));

    /* All 8 busy: the 9th is refused, cleanly and quickly, every time. */
    nipc_client_t *c = client_for(f.run, SVC_INC, newcomer_profiles);
    REQUIRE(c);
    for (int i = 0; i < 5; i++) {
        unsigned long long t0 = t_now_ms();
        CHECK_EQ_U64(t_refresh_changed(c), 0); /* DISCONNECTED before and after */
        CHECK_EQ_U64(nipc_client_state(c), NIPC_CLIENT_DISCONNECTED);
        nipc_client_status_t st;
        nipc_client_status(c, &st);
        CHECK_ERR(st.last_error, NIPC_ERR_BUSY);
        CHECK(t_now_ms() - t0 < T_MS(2000));
    }
    CHECK(fresh_res(f.ctl, &r));
    CHECK_EQ_U64(r.rejected, 5);
    CHECK_EQ_U64(r.active, LIMIT);

    /* One leaves: the 9th gets in and is served; the others never noticed. */
    atomic_store(&h[0].stop, 1);
    nipc__thread_join(th[0]);
    nipc_client_free(h[0].c);
    CHECK(refresh_until_ready(c, T_MS(3000)));
    uint64_t out = 0;
    CHECK_OK(nipc_client_increment(c, 41, &out, 0));
    CHECK_EQ_U64(out, 42);
    CHECK(fresh_res(f.ctl, &r));
    CHECK_EQ_U64(r.active, LIMIT);
    CHECK_EQ_U64(r.accepted, LIMIT + 1);
    nipc_client_free(c);
    for (int i = 1; i < LIMIT; i++) {
        atomic_store(&h[i].stop, 1);
        nipc__thread_join(th[i]);
        CHECK(h[i].calls > 0);
        CHECK_EQ_U64(h[i].errors, 0);
        nipc_client_free(h[i].c);
    }
    CHECK_EQ_U64(h[0].errors, 0);
    CHECK_EQ_U64(fx_end(&f), 0);
}

static void session_limit_uds(void)
{
    session_limit(NIPC_PROFILE_BASELINE);
}

static void session_limit_shm(void)
{
#if HAVE_SHM
    session_limit(SHM_BOTH);
#endif
}

/* ====================================================== connection flood */

#define FLOOD 400
#define REAL 4

static void connection_flood(void)
{
    fixture_t f;
    char hs[32];
    unsigned hs_ms = T_MS(1000);
    snprintf(hs, sizeof hs, "hs=%u", hs_ms);
    REQUIRE(fx_begin(&f, (const char *[]){"inc_only=1", "sessions=64", hs, NULL}));

    holder_t h[REAL];
    nipc__thread_t *th[REAL];
    for (int i = 0; i < REAL; i++) {
        memset(&h[i], 0, sizeof h[i]);
        h[i].c = client_for(f.run, SVC_INC, HAVE_SHM && (i % 2) ? SHM_BOTH : NIPC_PROFILE_BASELINE);
        REQUIRE(h[i].c && refresh_until_ready(h[i].c, T_MS(5000)));
        CHECK(nipc__thread_start(&th[i], holder_main, &h[i]) == NIPC_OK);
    }
    res_t base;
    unsigned long long want = REAL;
    CHECK(wait_res(f.ctl, &base, active_is, &want, T_MS(3000)));
    int files = t_dir_entries(f.run);
    unsigned long long calls_before = 0;
    for (int i = 0; i < REAL; i++)
        calls_before += h[i].calls;

    /* The flood: connections that never send a byte. A full backlog makes
     * connect fail at once (BUSY): that is the kernel pushing back. */
    static nipc__conn_t *conns[FLOOD];
    int opened = 0, refused = 0;
    unsigned long long t0 = t_now_ms();
    while (opened < FLOOD && t_now_ms() - t0 < T_MS(2000)) {
        nipc_error_t err = nipc__conn_connect(f.run, svc_names[SVC_INC], &conns[opened]);
        if (err == NIPC_OK) {
            opened++;
        } else {
            refused++;
            t_sleep_ms(1); /* the backlog is full: let the server take some */
        }
    }
    /* A newcomer during the flood is answered (served, refused or timed
     * out), never left hanging. */
    nipc_client_t *late = client_for(f.run, SVC_INC, NIPC_PROFILE_BASELINE);
    REQUIRE(late);
    unsigned long long t1 = t_now_ms();
    nipc_client_refresh(late);
    CHECK(t_now_ms() - t1 < NIPC_HANDSHAKE_TIMEOUT_DEFAULT_MS + T_MS(1000));
    nipc_client_close(late); /* it may have got in: the count below is of the four */

    /* The server drops every silent connection after the handshake
     * deadline, in waves: sessions and rejecters take what they can, the
     * rest waits in the backlog for the next free slot. */
    int dropped = 0;
    for (int i = 0; i < opened; i++) {
        uint8_t buf[128];
        size_t got = 0;
        nipc_error_t err = nipc__conn_recv(conns[i], buf, sizeof buf, NULL, 0, &got, 1,
                                           t0 + hs_ms * 4 + T_MS(5000), NULL);
        dropped += err == NIPC_ERR_DISCONNECTED || err == NIPC_ERR_HANDSHAKE;
        nipc__conn_close(conns[i]);
    }
    unsigned long long flood_ms = t_now_ms() - t0;
    CHECK_EQ_U64(dropped, opened);

    /* Back to the four sessions, their descriptors and files; a new client
     * is served. */
    res_t after;
    CHECK(wait_res(f.ctl, &after, same_sessions_and_fds, &base, T_MS(5000)));
    CHECK_EQ_U64(after.active, REAL);
    if (!fds_back(after.fds, base.fds))
        CHECK_EQ_U64(after.fds, base.fds); /* fails, printing both counts */
    CHECK_EQ_U64(t_dir_entries(f.run), files);
    CHECK(refresh_until_ready(late, T_MS(5000)));
    uint64_t out = 0;
    CHECK_OK(nipc_client_increment(late, 1, &out, 0));
    CHECK_EQ_U64(out, 2);
    nipc_client_free(late);

    unsigned long long calls_after = 0, errors = 0;
    for (int i = 0; i < REAL; i++) {
        atomic_store(&h[i].stop, 1);
        nipc__thread_join(th[i]);
        calls_after += h[i].calls;
        errors += h[i].errors;
        nipc_client_free(h[i].c);
    }
    fprintf(
        stderr,
        "  connection_flood: %d silent connections (%d more refused: backlog full), all "
        "dropped in %llu ms; %llu handshakes failed; %llu calls of the busy clients meanwhile\n",
        opened, refused, flood_ms, after.hs_failed, calls_after - calls_before);
    CHECK_EQ_U64(errors, 0);
    CHECK(calls_after > calls_before);
    CHECK(opened >= 64 + 8); /* the flood filled the session slots and the rejecters */
    CHECK_EQ_U64(fx_end(&f), 0);
}

/* ========================================================= fd exhaustion */

#ifndef _WIN32 /* RLIMIT_NOFILE; Windows has no per-process handle limit to lower */
static nipc_error_t l1_increment(nipc_session_t *s, uint64_t id, uint64_t v, uint64_t *out)
{
    uint8_t buf[NIPC_INCREMENT_SIZE];
    size_t len = 0;
    nipc_increment_encode(v, buf, sizeof buf, &len);
    nipc_header_t h = nipc_header_make(NIPC_KIND_REQUEST, NIPC_METHOD_INCREMENT, 0, 0, 0, 1, id);
    nipc_error_t err = nipc_session_send(s, &h, buf, len, T_MS(3000), NULL);
    nipc_message_t m;
    if (err == NIPC_OK)
        err = nipc_session_receive(s, &m, T_MS(3000), NULL);
    if (err == NIPC_OK && m.header.transport_status != NIPC_STATUS_OK)
        err = NIPC_ERR_BAD_RESPONSE;
    if (err == NIPC_OK)
        err = nipc_increment_decode(m.payload, m.header.payload_len, out);
    return err;
}

static int fds_are(const res_t *r, const void *fds)
{
    return r->active == 0 && r->fds == *(const int *)fds;
}

static void fd_exhaustion(void)
{
    fixture_t f;
    REQUIRE(fx_begin(&f, (const char *[]){"inc_only=1", "sessions=200", "nofile=48", NULL}));
    res_t base;
    CHECK(fresh_res(f.ctl, &base));

    /* Sessions until the provider cannot take more: its accept fails with
     * EMFILE, so a connect waits in the backlog and times out. */
    nipc_transport_config_t cfg = {
        .supported_profiles = SHM_BOTH,
        .max_request_payload_bytes = 64,
        .handshake_timeout_ms = 300,
        .shm_attach_timeout_ms = 300,
    };
    nipc_session_t *s[100];
    int n = 0, fails = 0, consecutive = 0;
    while (n < 100 && consecutive < 3) {
        nipc_error_t err = nipc_session_connect(f.run, svc_names[SVC_INC], &cfg, &s[n]);
        if (err == NIPC_OK) {
            n++;
            consecutive = 0;
        } else {
            fails++;
            consecutive++;
        }
    }
    CHECK(n > 4 && n < 100); /* the limit was reached */
    CHECK(fails >= 3);
    /* Every admitted session is still served. */
    int served = 0;
    for (int i = 0; i < n; i++) {
        uint64_t out = 0;
        served += l1_increment(s[i], 1, (uint64_t)i, &out) == NIPC_OK && out == (uint64_t)i + 1;
    }
    CHECK_EQ_U64(served, n);
    for (int i = 0; i < n; i++)
        nipc_session_close(s[i]);

    /* They left: the provider is back at its baseline and serves again. */
    res_t after;
    CHECK(wait_res(f.ctl, &after, fds_are, &base.fds, T_MS(5000)));
    nipc_client_t *c = client_for(f.run, SVC_INC, SHM_BOTH);
    REQUIRE(c);
    CHECK(refresh_until_ready(c, T_MS(3000)));
    uint64_t out = 0;
    CHECK_OK(nipc_client_increment(c, 9, &out, 0));
    CHECK_EQ_U64(out, 10);
    nipc_client_free(c);
    fprintf(stderr, "  fd_exhaustion: 48 descriptors: %d sessions admitted, %d refused\n", n,
            fails);
    CHECK_EQ_U64(fx_end(&f), 0);
}
#else
static void fd_exhaustion(void)
{
    T_SKIP("POSIX only (no per-process handle limit to lower)");
}
#endif

/* ------------------------------------------------------------------- main */

int main(int argc, char **argv)
{
    t_init(argc, argv);
    if (argc > 2 && strcmp(argv[1], "peer") == 0 && strcmp(argv[2], "stress-server") == 0)
        return stress_server(argc - 3, argv + 3);
    static const t_case_t cases[] = {
        T_CASE(session_limit_uds), T_CASE(session_limit_shm), T_CASE(connection_flood),
        T_CASE(fd_exhaustion),     T_CASE(mixed_load),
    };
    return t_run(cases, sizeof cases / sizeof cases[0], argc, argv);
}
