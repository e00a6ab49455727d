/*
 * Library rows: servers and clients that use netipc exactly as an
 * application would (public headers only, plus the test corpus for data).
 *
 *  - typed Level 2 calls: INCREMENT, INCREMENT batch, STRING_REVERSE and
 *    CGROUPS_SNAPSHOT, over the baseline (UDS) or SHM;
 *  - the Level 1 session API with 16 requests in flight (pipelining);
 *  - typed CGROUPS_LOOKUP and APPS_LOOKUP calls, 1 or 1,000 keys per call;
 *  - the Level 3 cache, filled once from a real provider, then looked up.
 *
 * Every client checks every answer, so a row cannot be fast by being wrong.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench.h"
#include "corpus/corpus.h"
#include "netipc/cache.h"
#include "netipc/netipc.h"

#define CONNECT_WAIT_MS 5000
#define CALL_TIMEOUT_MS 10000u
#define SNAPSHOT_GENERATION 7u

static uint32_t pow2_at_least(uint64_t n, uint32_t floor)
{
    uint64_t p = floor;
    while (p < n)
        p <<= 1;
    return (uint32_t)p;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static int report(const char *what, nipc_error_t err)
{
    fprintf(stderr, "bench: %s: %s (%s)\n", what, nipc_strerror(err), nipc_error_name(err));
    return -1;
}

/* Request and response budgets of a scenario, shared by both roles. */
typedef struct budget {
    uint32_t request_payload;
    uint32_t request_batch;
    uint32_t response_payload;
} budget_t;

static budget_t budget_for(const scenario_t *sc, size_t snapshot_size)
{
    budget_t b = {NIPC_MAX_PAYLOAD_DEFAULT, 1, NIPC_RESPONSE_PAYLOAD_DEFAULT};
    uint32_t items = sc->items_max > sc->items ? sc->items_max : sc->items;
    if (items > 1) {
        b.request_batch = items;
        b.request_payload = pow2_at_least((uint64_t)items * 16u, 1024);
    }
    if (sc->param && !snapshot_size) { /* STRING_REVERSE: 9 + len each way */
        b.request_payload = pow2_at_least(NIPC_STRING_REVERSE_FIXED + 1u + sc->param, 1024);
        b.response_payload = pow2_at_least(NIPC_STRING_REVERSE_FIXED + 1u + sc->param, 65536);
    }
    if (snapshot_size)
        b.response_payload = pow2_at_least(snapshot_size, 65536);
    return b;
}

/* ================================================================ servers */

typedef struct lib_server {
    nipc_server_t *srv;
    nipc_cgroup_set_t set;
} lib_server_t;

static nipc_error_t on_increment(void *ctx, uint64_t value, uint64_t *out)
{
    (void)ctx;
    *out = value + 1;
    return NIPC_OK;
}

static nipc_error_t on_reverse(void *ctx, nipc_str_t in, char *out, uint32_t cap, uint32_t *out_len)
{
    (void)ctx;
    if (in.len > cap)
        return NIPC_ERR_BUFFER_TOO_SMALL;
    for (uint32_t i = 0; i < in.len; i++)
        out[i] = in.ptr[in.len - 1 - i];
    *out_len = in.len;
    return NIPC_OK;
}

static nipc_error_t on_snapshot(void *ctx, void *buf, size_t cap, size_t *out_len)
{
    lib_server_t *s = ctx;
    return nipc_cgroup_set_encode(&s->set, SNAPSHOT_GENERATION, buf, cap, out_len);
}

/* The profile a row measures: upstream's file-backed SHM HYBRID, netipc's
 * sealed SHM, or the baseline. */
static uint32_t row_profile(const scenario_t *sc)
{
    if (sc->shm == SHM_SEALED)
        return NIPC_PROFILE_SHM_SEALED;
    return sc->shm ? NIPC_PROFILE_SHM_HYBRID : NIPC_PROFILE_BASELINE;
}

static nipc_server_config_t server_config(const scenario_t *sc, budget_t b)
{
    uint32_t profiles = NIPC_PROFILE_BASELINE | row_profile(sc);
    return (nipc_server_config_t){
        .supported_profiles = profiles,
        .preferred_profiles = sc->shm ? row_profile(sc) : 0,
        .max_request_payload_bytes = b.request_payload,
        .max_request_batch_items = b.request_batch,
        .max_response_payload_bytes = b.response_payload,
        .auth_token = BENCH_AUTH_TOKEN,
        .max_sessions = 4,
        .exact_profiles = 1, /* each SHM row measures exactly its profile */
    };
}

static int server_go(lib_server_t *s, nipc_error_t err, void **state)
{
    if (err != NIPC_OK)
        return report("server create", err);
    err = nipc_server_start(s->srv);
    if (err != NIPC_OK)
        return report("server start", err);
    *state = s;
    return 0;
}

static int increment_server_start(const scenario_t *sc, const char *run_dir, void **state)
{
    lib_server_t *s = calloc(1, sizeof *s);
    if (!s)
        return -1;
    nipc_server_config_t cfg = server_config(sc, budget_for(sc, 0));
    return server_go(
        s, nipc_server_create_increment(run_dir, BENCH_SERVICE, &cfg, on_increment, s, &s->srv),
        state);
}

static int reverse_server_start(const scenario_t *sc, const char *run_dir, void **state)
{
    lib_server_t *s = calloc(1, sizeof *s);
    if (!s)
        return -1;
    nipc_server_config_t cfg = server_config(sc, budget_for(sc, 0));
    return server_go(
        s, nipc_server_create_string_reverse(run_dir, BENCH_SERVICE, &cfg, on_reverse, s, &s->srv),
        state);
}

static int snapshot_server_start(const scenario_t *sc, const char *run_dir, void **state)
{
    lib_server_t *s = calloc(1, sizeof *s);
    if (!s)
        return -1;
    nipc_error_t err = nipc_cgroup_set_corpus(BENCH_CORPUS_SEED, sc->param, &s->set);
    if (err != NIPC_OK)
        return report("corpus", err);
    nipc_server_config_t cfg =
        server_config(sc, budget_for(sc, nipc_cgroup_set_encoded_size(&s->set)));
    return server_go(
        s,
        nipc_server_create_cgroups_snapshot(run_dir, BENCH_SERVICE, &cfg, on_snapshot, s, &s->srv),
        state);
}

static uint64_t lib_server_requests(void *state)
{
    lib_server_t *s = state;
    nipc_server_stats_t st;
    nipc_server_stats(s->srv, &st);
    return st.requests;
}

static void lib_server_stop(void *state)
{
    lib_server_t *s = state;
    nipc_server_destroy(s->srv);
    nipc_cgroup_set_free(&s->set);
    free(s);
}

const server_ops_t bench_lib_increment_server = {increment_server_start, lib_server_requests,
                                                 lib_server_stop};
const server_ops_t bench_lib_reverse_server = {reverse_server_start, lib_server_requests,
                                               lib_server_stop};
const server_ops_t bench_lib_snapshot_server = {snapshot_server_start, lib_server_requests,
                                                lib_server_stop};

/* ============================================================ L2 clients */

typedef struct lib_client {
    nipc_client_t *c;
    uint32_t items, param;
    uint64_t *values, *answers; /* batch */
    char *text;                 /* STRING_REVERSE input */
    uint16_t *sizes;            /* random batches: a shuffle of 2..items_max */
    uint32_t nsizes, next_size;
} lib_client_t;

static int client_connect(const scenario_t *sc, const char *run_dir, budget_t b, lib_client_t *lc)
{
    nipc_client_config_t cfg = {
        .supported_profiles = NIPC_PROFILE_BASELINE | row_profile(sc),
        .preferred_profiles = sc->shm ? row_profile(sc) : 0,
        .max_request_payload_bytes = b.request_payload,
        .max_request_batch_items = b.request_batch,
        .max_response_payload_bytes = b.response_payload,
        .max_payload_ceiling =
            b.response_payload > b.request_payload ? b.response_payload : b.request_payload,
        .auth_token = BENCH_AUTH_TOKEN,
        .call_timeout_ms = CALL_TIMEOUT_MS,
        .exact_profiles = 1,
    };
    nipc_error_t err = nipc_client_create(run_dir, BENCH_SERVICE, &cfg, &lc->c);
    if (err != NIPC_OK)
        return report("client create", err);
    for (int waited = 0; !nipc_client_ready(lc->c); waited += 5) {
        nipc_client_refresh(lc->c);
        if (nipc_client_ready(lc->c))
            break;
        if (waited >= CONNECT_WAIT_MS) {
            nipc_client_status_t st;
            nipc_client_status(lc->c, &st);
            return report("connect", st.last_error);
        }
        sleep_ms(5);
    }
    /* A row named SHM must not quietly run on the baseline. */
    nipc_client_status_t st;
    nipc_client_status(lc->c, &st);
    uint32_t want = row_profile(sc);
    if (st.selected_profile != want) {
        fprintf(stderr, "bench: %s: selected profile 0x%x, wanted 0x%x\n", sc->name,
                st.selected_profile, want);
        return -1;
    }
    lc->items = sc->items;
    lc->param = sc->param;
    return 0;
}

static int random_sizes(lib_client_t *lc, uint32_t max);

static int lib_client_open(const scenario_t *sc, const char *run_dir, void **state)
{
    lib_client_t *lc = calloc(1, sizeof *lc);
    if (!lc || client_connect(sc, run_dir, budget_for(sc, 0), lc) != 0)
        return -1;
    uint32_t items = sc->items_max > sc->items ? sc->items_max : sc->items;
    if (items > 1) {
        lc->values = calloc(items, sizeof *lc->values);
        lc->answers = calloc(items, sizeof *lc->answers);
        if (!lc->values || !lc->answers)
            return -1;
    }
    if (sc->items_max > 1 && random_sizes(lc, sc->items_max) != 0)
        return -1;
    if (sc->param) {
        lc->text = malloc(sc->param);
        if (!lc->text)
            return -1;
        for (uint32_t i = 0; i < sc->param; i++)
            lc->text[i] = (char)('a' + i % 26);
    }
    *state = lc;
    return 0;
}

static int increment_call(void *state, uint64_t seq)
{
    lib_client_t *lc = state;
    uint64_t out = 0;
    nipc_error_t err = nipc_client_increment(lc->c, seq, &out, 0);
    if (err != NIPC_OK)
        return report("increment", err);
    return out == seq + 1 ? 0 : report("increment answer", NIPC_ERR_BAD_RESPONSE);
}

static int batch_call(void *state, uint64_t seq)
{
    lib_client_t *lc = state;
    for (uint32_t i = 0; i < lc->items; i++)
        lc->values[i] = seq + i;
    nipc_error_t err = nipc_client_increment_batch(lc->c, lc->values, lc->items, lc->answers, 0);
    if (err != NIPC_OK)
        return report("increment batch", err);
    for (uint32_t i = 0; i < lc->items; i++)
        if (lc->answers[i] != seq + i + 1)
            return report("batch answer", NIPC_ERR_BAD_RESPONSE);
    return 0;
}

/*
 * Batch sizes as upstream's benchmark client draws them, from 2 to `max`,
 * but as a fixed shuffle of every size once: each pass of max - 1 calls
 * averages exactly (max + 2) / 2 items, which is the row's items per call.
 */
static int random_sizes(lib_client_t *lc, uint32_t max)
{
    lc->nsizes = max - 1;
    lc->sizes = malloc(lc->nsizes * sizeof *lc->sizes);
    if (!lc->sizes)
        return -1;
    for (uint32_t i = 0; i < lc->nsizes; i++)
        lc->sizes[i] = (uint16_t)(i + 2);
    uint32_t x = 0x2545f491u; /* xorshift32, fixed seed: every run the same order */
    for (uint32_t i = lc->nsizes - 1; i > 0; i--) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        uint32_t j = x % (i + 1);
        uint16_t t = lc->sizes[i];
        lc->sizes[i] = lc->sizes[j];
        lc->sizes[j] = t;
    }
    return 0;
}

static int batch_random_call(void *state, uint64_t seq)
{
    lib_client_t *lc = state;
    uint32_t n = lc->sizes[lc->next_size];
    if (++lc->next_size == lc->nsizes)
        lc->next_size = 0;
    for (uint32_t i = 0; i < n; i++)
        lc->values[i] = seq + i;
    nipc_error_t err = nipc_client_increment_batch(lc->c, lc->values, n, lc->answers, 0);
    if (err != NIPC_OK)
        return report("increment batch", err);
    for (uint32_t i = 0; i < n; i++)
        if (lc->answers[i] != seq + i + 1)
            return report("batch answer", NIPC_ERR_BAD_RESPONSE);
    return 0;
}

static int reverse_call(void *state, uint64_t seq)
{
    lib_client_t *lc = state;
    (void)seq;
    nipc_str_t out;
    nipc_error_t err = nipc_client_string_reverse(lc->c, lc->text, lc->param, &out, 0);
    if (err != NIPC_OK)
        return report("string reverse", err);
    if (out.len != lc->param || out.ptr[0] != lc->text[lc->param - 1] ||
        out.ptr[lc->param - 1] != lc->text[0])
        return report("reverse answer", NIPC_ERR_BAD_RESPONSE);
    return 0;
}

static void lib_client_close(void *state)
{
    lib_client_t *lc = state;
    nipc_client_free(lc->c);
    free(lc->values);
    free(lc->answers);
    free(lc->text);
    free(lc->sizes);
    free(lc);
}

static int snapshot_client_open(const scenario_t *sc, const char *run_dir, void **state)
{
    lib_client_t *lc = calloc(1, sizeof *lc);
    if (!lc)
        return -1;
    /* The client's budget must match the server's, which depends on the size. */
    nipc_cgroup_set_t set;
    if (nipc_cgroup_set_corpus(BENCH_CORPUS_SEED, sc->param, &set) != NIPC_OK)
        return -1;
    size_t size = nipc_cgroup_set_encoded_size(&set);
    nipc_cgroup_set_free(&set);
    if (client_connect(sc, run_dir, budget_for(sc, size), lc) != 0)
        return -1;
    *state = lc;
    return 0;
}

static int snapshot_call(void *state, uint64_t seq)
{
    lib_client_t *lc = state;
    (void)seq;
    nipc_cgroups_view_t view;
    nipc_error_t err = nipc_client_cgroups_snapshot(lc->c, &view, 0);
    if (err != NIPC_OK)
        return report("snapshot", err);
    if (view.item_count != lc->param || view.generation != SNAPSHOT_GENERATION)
        return report("snapshot answer", NIPC_ERR_BAD_RESPONSE);
    return 0;
}

const client_ops_t bench_lib_increment_client = {lib_client_open, increment_call, NULL, NULL,
                                                 lib_client_close};
const client_ops_t bench_lib_batch_client = {lib_client_open, batch_call, NULL, NULL,
                                             lib_client_close};
const client_ops_t bench_lib_batch_random_client = {lib_client_open, batch_random_call, NULL, NULL,
                                                    lib_client_close};
const client_ops_t bench_lib_reverse_client = {lib_client_open, reverse_call, NULL, NULL,
                                               lib_client_close};
const client_ops_t bench_lib_snapshot_client = {snapshot_client_open, snapshot_call, NULL, NULL,
                                                lib_client_close};

/* ============================================================== lookups */

/*
 * cgroups-lookup and apps-lookup: the provider answers from a table of
 * LOOKUP_TABLE corpus items (seed 1); the client asks for `items` keys per
 * logical call (1, or the whole table), a window that moves through the
 * table in a fixed shuffled order. Every key exists, so every answer is
 * KNOWN and carries strings (and, for cgroups, two labels) of realistic
 * size. Budgets of 1 MiB each way let 1,000 keys go in one sub-call.
 */
#define LOOKUP_TABLE 1000u
#define LOOKUP_SLOTS 4096u /* power of two, >= 4 x LOOKUP_TABLE */
#define LOOKUP_BUDGET (1024u * 1024u)
#define LOOKUP_PID_BASE 1000u
#define LOOKUP_PID_STEP 7u /* PIDs 1000, 1007, ...: sparse, like real ones */

static const budget_t lookup_budget = {LOOKUP_BUDGET, 1, LOOKUP_BUDGET};

static uint32_t lookup_pid(uint32_t index)
{
    return LOOKUP_PID_BASE + index * LOOKUP_PID_STEP;
}

/* Table index of a PID, or LOOKUP_TABLE when it is not one of ours. */
static uint32_t lookup_index_of_pid(uint32_t pid)
{
    if (pid < LOOKUP_PID_BASE || (pid - LOOKUP_PID_BASE) % LOOKUP_PID_STEP)
        return LOOKUP_TABLE;
    uint32_t i = (pid - LOOKUP_PID_BASE) / LOOKUP_PID_STEP;
    return i < LOOKUP_TABLE ? i : LOOKUP_TABLE;
}

typedef struct lookup_server {
    lib_server_t base;            /* first: the lib_server_* functions serve both */
    uint32_t slots[LOOKUP_SLOTS]; /* open addressing on djb2(path): index + 1, 0 = empty */
    char comm[LOOKUP_TABLE][16];
} lookup_server_t;

static const nipc_cgroup_entry_t *find_path(const lookup_server_t *s, nipc_str_t path)
{
    for (uint32_t h = nipc_djb2(path.ptr, path.len);; h++) {
        uint32_t slot = s->slots[h & (LOOKUP_SLOTS - 1u)];
        if (!slot)
            return NULL;
        const nipc_cgroup_entry_t *e = &s->base.set.items[slot - 1];
        if (e->path_len == path.len && memcmp(e->path, path.ptr, path.len) == 0)
            return e;
    }
}

static nipc_error_t on_cgroups_lookup(void *ctx, const nipc_cgroups_lookup_req_t *req,
                                      nipc_cgroups_lookup_builder_t *b)
{
    const lookup_server_t *s = ctx;
    nipc_cgroups_lookup_builder_set_generation(b, SNAPSHOT_GENERATION);
    for (uint32_t i = 0; i < req->item_count; i++) {
        nipc_cgroups_lookup_item_t it = {.status = NIPC_CGROUP_UNKNOWN_PERMANENT};
        nipc_label_t labels[2];
        nipc_cgroups_lookup_req_key(req, i, &it.path);
        const nipc_cgroup_entry_t *e =
            nipc_cgroups_lookup_builder_exceeded(b) ? NULL : find_path(s, it.path);
        if (e) {
            it.status = NIPC_CGROUP_KNOWN;
            it.orchestrator = NIPC_ORCH_DOCKER;
            it.name = (nipc_str_t){e->name, e->name_len};
            labels[0] = (nipc_label_t){{"namespace", 9}, {"default", 7}};
            labels[1] = (nipc_label_t){{"container", 9}, it.name};
            it.labels.count = 2;
        }
        nipc_cgroups_lookup_builder_add(b, &it, labels);
    }
    return NIPC_OK;
}

static nipc_error_t on_apps_lookup(void *ctx, const nipc_apps_lookup_req_t *req,
                                   nipc_apps_lookup_builder_t *b)
{
    const lookup_server_t *s = ctx;
    nipc_apps_lookup_builder_set_generation(b, SNAPSHOT_GENERATION);
    for (uint32_t i = 0; i < req->item_count; i++) {
        nipc_apps_lookup_item_t it = {.status = NIPC_APP_UNKNOWN, .uid = NIPC_UID_UNSET};
        nipc_apps_lookup_req_pid(req, i, &it.pid);
        uint32_t k =
            nipc_apps_lookup_builder_exceeded(b) ? LOOKUP_TABLE : lookup_index_of_pid(it.pid);
        if (k < LOOKUP_TABLE) {
            const nipc_cgroup_entry_t *e = &s->base.set.items[k];
            it.status = NIPC_APP_KNOWN;
            it.orchestrator = NIPC_ORCH_DOCKER;
            it.cgroup_status = NIPC_APP_CGROUP_KNOWN;
            it.ppid = 1;
            it.uid = 1000;
            it.starttime = 100000u + k;
            it.comm = (nipc_str_t){s->comm[k], (uint32_t)strlen(s->comm[k])};
            it.cgroup_path = (nipc_str_t){e->path, e->path_len};
            it.cgroup_name = (nipc_str_t){e->name, e->name_len};
        }
        nipc_apps_lookup_builder_add(b, &it, NULL);
    }
    return NIPC_OK;
}

static lookup_server_t *lookup_server_new(void)
{
    lookup_server_t *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    if (nipc_cgroup_set_corpus(BENCH_CORPUS_SEED, LOOKUP_TABLE, &s->base.set) != NIPC_OK) {
        free(s);
        return NULL;
    }
    for (uint32_t i = 0; i < LOOKUP_TABLE; i++) {
        const nipc_cgroup_entry_t *e = &s->base.set.items[i];
        uint32_t h = nipc_djb2(e->path, e->path_len);
        while (s->slots[h & (LOOKUP_SLOTS - 1u)])
            h++;
        s->slots[h & (LOOKUP_SLOTS - 1u)] = i + 1;
        snprintf(s->comm[i], sizeof s->comm[i], "worker-%u", i);
    }
    return s;
}

static int cgroups_lookup_server_start(const scenario_t *sc, const char *run_dir, void **state)
{
    lookup_server_t *s = lookup_server_new();
    if (!s)
        return -1;
    nipc_server_config_t cfg = server_config(sc, lookup_budget);
    return server_go(&s->base,
                     nipc_server_create_cgroups_lookup(run_dir, BENCH_SERVICE, &cfg,
                                                       on_cgroups_lookup, s, &s->base.srv),
                     state);
}

static int apps_lookup_server_start(const scenario_t *sc, const char *run_dir, void **state)
{
    lookup_server_t *s = lookup_server_new();
    if (!s)
        return -1;
    nipc_server_config_t cfg = server_config(sc, lookup_budget);
    return server_go(&s->base,
                     nipc_server_create_apps_lookup(run_dir, BENCH_SERVICE, &cfg, on_apps_lookup, s,
                                                    &s->base.srv),
                     state);
}

const server_ops_t bench_lib_cgroups_lookup_server = {cgroups_lookup_server_start,
                                                      lib_server_requests, lib_server_stop};
const server_ops_t bench_lib_apps_lookup_server = {apps_lookup_server_start, lib_server_requests,
                                                   lib_server_stop};

typedef struct lookup_client {
    lib_client_t lc;
    nipc_cgroup_set_t set;
    uint32_t order[LOOKUP_TABLE]; /* table index of key slot i */
    nipc_str_t paths[LOOKUP_TABLE];
    uint32_t pids[LOOKUP_TABLE];
} lookup_client_t;

static int lookup_client_open(const scenario_t *sc, const char *run_dir, void **state)
{
    lookup_client_t *c = calloc(1, sizeof *c);
    if (!c || LOOKUP_TABLE % sc->items != 0 ||
        nipc_cgroup_set_corpus(BENCH_CORPUS_SEED, LOOKUP_TABLE, &c->set) != NIPC_OK)
        return -1;
    /* The same fixed shuffle as bench_corpus_keys(). */
    for (uint32_t i = 0; i < LOOKUP_TABLE; i++)
        c->order[i] = i;
    uint64_t x = 0x9E3779B97F4A7C15ull;
    for (uint32_t i = LOOKUP_TABLE - 1; i > 0; i--) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        uint32_t j = (uint32_t)(x % (i + 1u)), t = c->order[i];
        c->order[i] = c->order[j];
        c->order[j] = t;
    }
    for (uint32_t i = 0; i < LOOKUP_TABLE; i++) {
        const nipc_cgroup_entry_t *e = &c->set.items[c->order[i]];
        c->paths[i] = (nipc_str_t){e->path, e->path_len};
        c->pids[i] = lookup_pid(c->order[i]);
    }
    if (client_connect(sc, run_dir, lookup_budget, &c->lc) != 0)
        return -1;
    *state = c;
    return 0;
}

/* First key slot of call `seq`: windows of `items` keys, wrapping. */
static uint32_t lookup_window(const lookup_client_t *c, uint64_t seq)
{
    return (uint32_t)(seq * c->lc.items % LOOKUP_TABLE);
}

static int cgroups_lookup_call(void *state, uint64_t seq)
{
    lookup_client_t *c = state;
    uint32_t first = lookup_window(c, seq), n = c->lc.items;
    nipc_cgroups_lookup_view_t view;
    nipc_error_t err = nipc_client_cgroups_lookup(c->lc.c, &c->paths[first], n, &view, 0);
    if (err != NIPC_OK)
        return report("cgroups lookup", err);
    if (view.item_count != n || view.generation != SNAPSHOT_GENERATION)
        return report("cgroups lookup answer", NIPC_ERR_BAD_RESPONSE);
    for (uint32_t i = 0; i < n; i++) {
        nipc_cgroups_lookup_item_t it;
        const nipc_cgroup_entry_t *e = &c->set.items[c->order[first + i]];
        if (nipc_cgroups_lookup_resp_item(&view, i, &it) != NIPC_OK ||
            it.status != NIPC_CGROUP_KNOWN || it.name.len != e->name_len || it.labels.count != 2)
            return report("cgroups lookup item", NIPC_ERR_BAD_RESPONSE);
    }
    return 0;
}

static int apps_lookup_call(void *state, uint64_t seq)
{
    lookup_client_t *c = state;
    uint32_t first = lookup_window(c, seq), n = c->lc.items;
    nipc_apps_lookup_view_t view;
    nipc_error_t err = nipc_client_apps_lookup(c->lc.c, &c->pids[first], n, &view, 0);
    if (err != NIPC_OK)
        return report("apps lookup", err);
    if (view.item_count != n || view.generation != SNAPSHOT_GENERATION)
        return report("apps lookup answer", NIPC_ERR_BAD_RESPONSE);
    for (uint32_t i = 0; i < n; i++) {
        nipc_apps_lookup_item_t it;
        const nipc_cgroup_entry_t *e = &c->set.items[c->order[first + i]];
        if (nipc_apps_lookup_resp_item(&view, i, &it) != NIPC_OK || it.status != NIPC_APP_KNOWN ||
            it.cgroup_name.len != e->name_len)
            return report("apps lookup item", NIPC_ERR_BAD_RESPONSE);
    }
    return 0;
}

static void lookup_client_close(void *state)
{
    lookup_client_t *c = state;
    nipc_client_free(c->lc.c);
    nipc_cgroup_set_free(&c->set);
    free(c);
}

const client_ops_t bench_lib_cgroups_lookup_client = {lookup_client_open, cgroups_lookup_call, NULL,
                                                      NULL, lookup_client_close};
const client_ops_t bench_lib_apps_lookup_client = {lookup_client_open, apps_lookup_call, NULL, NULL,
                                                   lookup_client_close};

/* ======================================================= L1 pipelining */

typedef struct pipe_client {
    nipc_session_t *s;
    uint32_t items;
    uint8_t *payload;
    size_t payload_cap;
    uint64_t *values; /* batch: the values sent, then the answers */
} pipe_client_t;

static int pipe_open(const scenario_t *sc, const char *run_dir, void **state)
{
    pipe_client_t *pc = calloc(1, sizeof *pc);
    if (!pc)
        return -1;
    budget_t b = budget_for(sc, 0);
    nipc_transport_config_t cfg = {
        .supported_profiles = NIPC_PROFILE_BASELINE,
        .max_request_payload_bytes = b.request_payload,
        .max_request_batch_items = b.request_batch,
        .max_response_payload_bytes = b.response_payload,
        .max_response_batch_items = b.request_batch,
        .auth_token = BENCH_AUTH_TOKEN,
        .max_in_flight = BENCH_PIPELINE_DEPTH,
    };
    nipc_error_t err = NIPC_ERR_NOT_FOUND;
    for (int waited = 0; waited <= CONNECT_WAIT_MS; waited += 5) {
        err = nipc_session_connect(run_dir, BENCH_SERVICE, &cfg, &pc->s);
        if (err != NIPC_ERR_NOT_FOUND)
            break;
        sleep_ms(5);
    }
    if (err != NIPC_OK)
        return report("session connect", err);
    pc->items = sc->items;
    pc->payload_cap = (size_t)sc->items * (NIPC_BATCH_ENTRY_SIZE + NIPC_INCREMENT_SIZE);
    pc->payload = malloc(pc->payload_cap);
    pc->values = calloc(sc->items, sizeof *pc->values);
    if (!pc->payload || !pc->values)
        return -1;
    *state = pc;
    return 0;
}

static int pipe_send(void *state, uint64_t id)
{
    pipe_client_t *pc = state;
    size_t len = 0;
    int batch = pc->items > 1;
    if (batch) {
        /* INCREMENT items have a fixed size: the typed batch encoder writes
         * the whole payload in one pass (what the batch builder would). */
        for (uint32_t i = 0; i < pc->items; i++)
            pc->values[i] = id + i;
        nipc_error_t err =
            nipc_increment_batch_encode(pc->values, pc->items, pc->payload, pc->payload_cap, &len);
        if (err != NIPC_OK)
            return report("batch encode", err);
    } else {
        nipc_increment_encode(id, pc->payload, pc->payload_cap, &len);
    }
    nipc_header_t h =
        nipc_header_make(NIPC_KIND_REQUEST, NIPC_METHOD_INCREMENT, batch ? NIPC_FLAG_BATCH : 0,
                         NIPC_STATUS_OK, 0, pc->items, id);
    nipc_error_t err = nipc_session_send(pc->s, &h, pc->payload, len, CALL_TIMEOUT_MS, NULL);
    return err == NIPC_OK ? 0 : report("session send", err);
}

static int pipe_receive(void *state, uint64_t *id)
{
    pipe_client_t *pc = state;
    nipc_message_t msg;
    nipc_error_t err = nipc_session_receive(pc->s, &msg, CALL_TIMEOUT_MS, NULL);
    if (err != NIPC_OK)
        return report("session receive", err);
    const nipc_header_t *h = &msg.header;
    if (h->kind != NIPC_KIND_RESPONSE || h->transport_status != NIPC_STATUS_OK ||
        h->item_count != pc->items)
        return report("pipelined answer", NIPC_ERR_BAD_RESPONSE);
    *id = h->message_id;
    if (pc->items == 1) {
        uint64_t v = 0;
        err = nipc_increment_decode(msg.payload, h->payload_len, &v);
        if (err != NIPC_OK || v != *id + 1)
            return report("pipelined value", err != NIPC_OK ? err : NIPC_ERR_BAD_RESPONSE);
        return 0;
    }
    err = nipc_increment_batch_decode(msg.payload, h->payload_len, pc->items, pc->values);
    if (err != NIPC_OK)
        return report("batch decode", err);
    for (uint32_t i = 0; i < pc->items; i++)
        if (pc->values[i] != *id + i + 1)
            return report("pipelined value", NIPC_ERR_BAD_RESPONSE);
    return 0;
}

static void pipe_close(void *state)
{
    pipe_client_t *pc = state;
    nipc_session_close(pc->s);
    free(pc->payload);
    free(pc->values);
    free(pc);
}

const client_ops_t bench_lib_pipeline_client = {pipe_open, NULL, pipe_send, pipe_receive,
                                                pipe_close};
const client_ops_t bench_lib_pipeline_batch_client = {pipe_open, NULL, pipe_send, pipe_receive,
                                                      pipe_close};

/* ================================================================= cache */

/*
 * Two shapes. threads == 0: one read guard per block of lookups, as a
 * consumer that looks up a pass of keys. threads >= 1: a guard around every
 * single lookup, on `threads` reader threads at once (this one measures and
 * the others count), optionally with a refresh every refresh_ms: the read
 * guard's cost when many threads look up, as Netdata's do.
 */
#define CACHE_READERS_MAX 8u
#define CACHE_COUNT_EVERY 1024u

typedef struct cache_local {
    nipc_cgroups_cache_t *cache;
    nipc_cgroup_set_t set;
    bench_key_t *keys;
    uint32_t nkeys;
    int per_lookup;
    nipc_server_t *srv; /* kept while a refresher runs */
    uint32_t refresh_ms;
    pthread_t readers[CACHE_READERS_MAX], refresher;
    uint32_t nreaders;
    int refreshing;
    atomic_int stop;
    atomic_uint started;         /* readers started: each begins at its own key */
    atomic_uint_fast64_t others; /* lookups of the other readers, in whole blocks */
    /* The measuring thread's cursor, written every lookup: a line of its own. */
    char gap[64];
    uint32_t next;
    char gap2[64];
} cache_local_t;

static nipc_error_t on_cache_snapshot(void *ctx, void *buf, size_t cap, size_t *out_len)
{
    cache_local_t *cl = ctx;
    return nipc_cgroup_set_encode(&cl->set, SNAPSHOT_GENERATION, buf, cap, out_len);
}

/* `count` lookups of keys[*next...], a guard each; returns how many were
 * found. Arguments, not cache_local_t fields: the measuring thread writes
 * its cursor there, and reader threads must not share that cache line. */
static uint64_t guarded_lookups(nipc_cgroups_cache_t *cache, const bench_key_t *keys,
                                uint32_t nkeys, uint32_t *next, uint32_t count)
{
    uint64_t found = 0;
    for (uint32_t i = 0; i < count; i++) {
        const bench_key_t *k = &keys[*next];
        if (++*next == nkeys)
            *next = 0;
        nipc_cgroups_cache_read_lock(cache);
        const nipc_cgroup_item_t *item = nipc_cgroups_cache_get(cache, k->hash, k->name, k->len);
        found += item && item->path.len;
        nipc_cgroups_cache_read_unlock(cache);
    }
    return found;
}

static void *cache_reader_main(void *arg)
{
    cache_local_t *cl = arg;
    nipc_cgroups_cache_t *cache = cl->cache;
    const bench_key_t *keys = cl->keys;
    uint32_t nkeys = cl->nkeys;
    uint32_t next = (atomic_fetch_add(&cl->started, 1) + 1u) * 997u % nkeys;
    while (!atomic_load_explicit(&cl->stop, memory_order_relaxed)) {
        if (guarded_lookups(cache, keys, nkeys, &next, CACHE_COUNT_EVERY) != CACHE_COUNT_EVERY) {
            fprintf(stderr, "bench: cache reader: a key was not found\n");
            abort();
        }
        atomic_fetch_add_explicit(&cl->others, CACHE_COUNT_EVERY, memory_order_relaxed);
    }
    return NULL;
}

static void *cache_refresher_main(void *arg)
{
    cache_local_t *cl = arg;
    while (!atomic_load(&cl->stop)) {
        nipc_error_t err = nipc_cgroups_cache_refresh(cl->cache, 60000);
        if (err != NIPC_OK) {
            report("cache refresh", err);
            abort();
        }
        sleep_ms(cl->refresh_ms);
    }
    return NULL;
}

static int cache_open(const scenario_t *sc, const char *run_dir, void **state)
{
    cache_local_t *cl = calloc(1, sizeof *cl);
    if (!cl || bench_corpus_keys(sc->param, &cl->set, &cl->keys) != 0)
        return -1;
    cl->nkeys = cl->set.count;
    cl->per_lookup = sc->threads > 0;
    cl->refresh_ms = sc->refresh_ms;

    /* A real provider in this process, to fill the cache (and refresh it). */
    uint32_t size = pow2_at_least(nipc_cgroup_set_encoded_size(&cl->set), 65536);
    nipc_server_config_t scfg = {
        .max_response_payload_bytes = size,
        .auth_token = BENCH_AUTH_TOKEN,
    };
    nipc_error_t err = nipc_server_create_cgroups_snapshot(run_dir, BENCH_SERVICE, &scfg,
                                                           on_cache_snapshot, cl, &cl->srv);
    if (err == NIPC_OK)
        err = nipc_server_start(cl->srv);
    if (err != NIPC_OK)
        return report("cache provider", err);
    nipc_client_config_t ccfg = {
        .max_response_payload_bytes = size,
        .max_payload_ceiling = size,
        .auth_token = BENCH_AUTH_TOKEN,
    };
    err = nipc_cgroups_cache_create(run_dir, BENCH_SERVICE, &ccfg, &cl->cache);
    if (err == NIPC_OK)
        err = nipc_cgroups_cache_refresh(cl->cache, 60000);
    if (err != NIPC_OK)
        return report("cache refresh", err);
    if (!cl->refresh_ms) {
        nipc_server_destroy(cl->srv);
        cl->srv = NULL;
    }
    for (uint32_t i = 1; i < sc->threads && i < CACHE_READERS_MAX; i++) {
        if (pthread_create(&cl->readers[cl->nreaders], NULL, cache_reader_main, cl) != 0)
            return -1;
        cl->nreaders++;
    }
    if (cl->refresh_ms) {
        if (pthread_create(&cl->refresher, NULL, cache_refresher_main, cl) != 0)
            return -1;
        cl->refreshing = 1;
    }
    *state = cl;
    return 0;
}

static uint64_t cache_block(void *state, uint32_t count)
{
    cache_local_t *cl = state;
    if (cl->per_lookup)
        return guarded_lookups(cl->cache, cl->keys, cl->nkeys, &cl->next, count);
    /* One read guard per block: a consumer takes the guard for a pass of
     * lookups, not for each one. */
    uint64_t found = 0;
    nipc_cgroups_cache_read_lock(cl->cache);
    for (uint32_t i = 0; i < count; i++) {
        const bench_key_t *k = &cl->keys[cl->next];
        if (++cl->next == cl->nkeys)
            cl->next = 0;
        const nipc_cgroup_item_t *item =
            nipc_cgroups_cache_get(cl->cache, k->hash, k->name, k->len);
        if (item && item->path.len)
            found++;
    }
    nipc_cgroups_cache_read_unlock(cl->cache);
    return found;
}

static uint64_t cache_others(void *state)
{
    cache_local_t *cl = state;
    return atomic_load_explicit(&cl->others, memory_order_relaxed);
}

static void cache_close(void *state)
{
    cache_local_t *cl = state;
    atomic_store(&cl->stop, 1);
    for (uint32_t i = 0; i < cl->nreaders; i++)
        pthread_join(cl->readers[i], NULL);
    if (cl->refreshing)
        pthread_join(cl->refresher, NULL);
    nipc_cgroups_cache_free(cl->cache);
    nipc_server_destroy(cl->srv);
    nipc_cgroup_set_free(&cl->set);
    free(cl->keys);
    free(cl);
}

const local_ops_t bench_lib_cache_local = {cache_open, cache_block, cache_close, cache_others};
