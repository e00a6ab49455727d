/*
 * Allocation failure, everywhere: every allocation the library makes in a
 * scenario is made to fail in turn (the 1st, then the 2nd, ... until the
 * scenario runs through without meeting one), and after each run nothing
 * may be left behind -- no allocation (counted by the wrapped allocator),
 * no descriptor, no file in the run dir -- and nothing may hang or crash.
 *
 * The program is linked with -Wl,--wrap=malloc,calloc,realloc,free,strdup
 * (as test_transport_alloc), so every call the statically linked library
 * and this program make goes through the counters below; the C library's
 * own internal allocations are not counted and never fail.
 *
 * Scenarios: abort objects; listener create; a Level 1 session (baseline,
 * netipc's sealed SHM and upstream's file SHM) set up and used, with the
 * server side in a thread; managed servers of every kind created and
 * destroyed; a Level 2 client against a running server (every typed call);
 * the Level 3 cache (a failed refresh keeps the previous snapshot; a failed
 * index falls back to a scan); lookup calls; the corpus and the cgroup
 * scanner.
 */
#include <stdatomic.h>
#include <sys/stat.h>
#include <unistd.h>

#include "corpus/corpus.h"
#include "netipc/cache.h"
#include "netipc/service.h"
#include "netipc/transport.h"
#include "platform/platform.h"
#include "support.h"
#include "test.h"

/* ------------------------------------------------------------- allocator */

static atomic_long live;     /* allocations minus frees, always counted */
static atomic_long counter;  /* allocations since arming */
static atomic_long fail_at;  /* the allocation to fail (1-based), 0 = none */
static atomic_long injected; /* failures injected since arming */

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t n);
void __real_free(void *p);
char *__real_strdup(const char *s);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t n);
void __wrap_free(void *p);
char *__wrap_strdup(const char *s);

static int should_fail(void)
{
    long at = atomic_load(&fail_at);
    if (at == 0)
        return 0;
    if (atomic_fetch_add(&counter, 1) + 1 != at)
        return 0;
    atomic_fetch_add(&injected, 1);
    return 1;
}

void *__wrap_malloc(size_t n)
{
    if (should_fail())
        return NULL;
    void *p = __real_malloc(n);
    if (p)
        atomic_fetch_add(&live, 1);
    return p;
}

void *__wrap_calloc(size_t n, size_t size)
{
    if (should_fail())
        return NULL;
    void *p = __real_calloc(n, size);
    if (p)
        atomic_fetch_add(&live, 1);
    return p;
}

void *__wrap_realloc(void *p, size_t n)
{
    if (should_fail())
        return NULL; /* p stays valid, as with a real failure */
    void *q = __real_realloc(p, n);
    if (q && !p)
        atomic_fetch_add(&live, 1);
    return q;
}

void __wrap_free(void *p)
{
    if (p)
        atomic_fetch_sub(&live, 1);
    __real_free(p);
}

char *__wrap_strdup(const char *s)
{
    if (should_fail())
        return NULL;
    char *p = __real_strdup(s);
    if (p)
        atomic_fetch_add(&live, 1);
    return p;
}

static void arm(long n)
{
    atomic_store(&counter, 0);
    atomic_store(&injected, 0);
    atomic_store(&fail_at, n);
}

static void disarm(void)
{
    atomic_store(&fail_at, 0);
}

/* ---------------------------------------------------------------- driver */

#define SVC "oom"
#define MAX_STEPS 400

typedef struct env {
    char run[512];
    nipc_server_t *srv; /* a server some scenarios run against (created unarmed) */
    nipc_cgroups_cache_t *cache;
} env_t;

/* A scenario returns its result; `must` lists the only errors it may
 * return under an injected failure (NULL = any error, e.g. a peer's side
 * failed and this side saw the connection drop). */
typedef nipc_error_t (*scenario_fn)(env_t *e);

/*
 * Runs `fn` with the 1st, 2nd, ... allocation failing until a run meets no
 * injected failure. Each run must end with the allocations, descriptors and
 * run-dir entries it started with, return OK exactly when nothing was
 * injected, and (when `strict`) NO_MEMORY otherwise.
 */
static void exhaust(const char *name, env_t *e, scenario_fn fn, int strict)
{
    long base_live = atomic_load(&live);
    int base_fds = t_open_handles(), base_files = t_dir_entries(e->run);
    int f0 = t_failures;
    long step;
    for (step = 1; step <= MAX_STEPS; step++) {
        arm(step);
        nipc_error_t err = fn(e);
        disarm();
        int hit = atomic_load(&injected) > 0;
        /* Server threads may finish their cleanup a moment after the
         * client side returned, or accept a connection the client already
         * gave up: wait until the counts are back and stay back. */
        unsigned long long end = t_now_ms() + T_MS(3000);
        for (int stable = 0; stable < 2 && t_now_ms() < end;) {
            int back = atomic_load(&live) == base_live && t_open_handles() == base_fds &&
                       t_dir_entries(e->run) == base_files;
            stable = back ? stable + 1 : 0;
            t_sleep_ms(back ? (int)T_MS(20) : 2);
        }
        CHECK_EQ_U64(atomic_load(&live), base_live);
        CHECK_EQ_U64(t_open_handles(), base_fds);
        CHECK_EQ_U64(t_dir_entries(e->run), base_files);
        if (!hit)
            CHECK_OK(err);
        else if (strict)
            CHECK_ERR(err, NIPC_ERR_NO_MEMORY);
        if (t_failures > f0) {
            fprintf(stderr, "%s: allocation %ld failed: %s\n", name, step, nipc_error_name(err));
            return;
        }
        if (!hit)
            break;
    }
    CHECK(step <= MAX_STEPS);
    fprintf(stderr, "  %s: %ld allocations, each failed once\n", name, step - 1);
}

/* ------------------------------------------------------------- scenarios */

static nipc_error_t sc_abort(env_t *e)
{
    (void)e;
    nipc_abort_t *a = NULL;
    nipc_error_t err = nipc_abort_create(&a);
    nipc_abort_free(a);
    return err;
}

static nipc_error_t sc_listener(env_t *e)
{
    uint32_t uids[2] = {0, 1};
    nipc_transport_config_t cfg = {.allowed_uids = uids, .allowed_uid_count = 2};
    nipc_listener_t *l = NULL;
    nipc_error_t err = nipc_listener_create(e->run, SVC, &cfg, &l);
    nipc_listener_free(l);
    return err;
}

typedef struct l1_server {
    nipc_listener_t *l;
    nipc_transport_config_t cfg;
    nipc_error_t err;
} l1_server_t;

static void l1_server_main(void *arg)
{
    l1_server_t *sv = arg;
    nipc_pending_t *p = NULL;
    nipc_session_t *s = NULL;
    sv->err = nipc_listener_accept(sv->l, T_MS(3000), &p);
    if (sv->err == NIPC_OK)
        sv->err = nipc_pending_accept(p, &sv->cfg, 7, &s);
    nipc_message_t m;
    while (sv->err == NIPC_OK &&
           (sv->err = nipc_session_receive(s, &m, T_MS(3000), NULL)) == NIPC_OK) {
        nipc_header_t h =
            nipc_header_make(NIPC_KIND_RESPONSE, m.header.code, 0, 0, 0, 1, m.header.message_id);
        sv->err = nipc_session_send(s, &h, m.payload, m.header.payload_len, T_MS(3000), NULL);
    }
    nipc_session_close(s);
}

/* A Level 1 session: listener, handshake, a chunked round trip, close.
 * exact: offer only `profiles` (without it netipc adds its sealed SHM). */
static nipc_error_t l1_session(env_t *e, uint32_t profiles, int exact)
{
    l1_server_t sv = {.cfg = {.supported_profiles = profiles,
                              .exact_profiles = exact,
                              .max_request_payload_bytes = 8192,
                              .max_response_payload_bytes = 8192,
                              .packet_size = 1024,
                              .handshake_timeout_ms = T_MS(2000)}};
    nipc_error_t err = nipc_listener_create(e->run, SVC, &sv.cfg, &sv.l);
    if (err != NIPC_OK)
        return err;
    nipc__thread_t *th = NULL;
    err = nipc__thread_start(&th, l1_server_main, &sv);
    nipc_session_t *s = NULL;
    if (err == NIPC_OK)
        err = nipc_session_connect(e->run, SVC, &sv.cfg, &s);
    static uint8_t buf[5000], copy[5000];
    for (size_t i = 0; i < sizeof buf; i++)
        buf[i] = (uint8_t)(i * 7);
    nipc_header_t h = nipc_header_make(NIPC_KIND_REQUEST, 1, 0, 0, 0, 1, 1);
    if (err == NIPC_OK)
        err = nipc_session_send(s, &h, buf, sizeof buf, T_MS(3000), NULL);
    nipc_message_t m;
    if (err == NIPC_OK)
        err = nipc_session_receive(s, &m, T_MS(3000), NULL);
    if (err == NIPC_OK) {
        memcpy(copy, m.payload, sizeof copy);
        if (m.header.payload_len != sizeof buf || memcmp(copy, buf, sizeof buf) != 0)
            err = NIPC_ERR_BAD_RESPONSE;
    }
    nipc_session_close(s); /* the server's receive ends with DISCONNECTED */
    if (th) {
        nipc_listener_wake(sv.l); /* an accept still waiting (the connect failed early) */
        nipc__thread_join(th);
    }
    nipc_listener_free(sv.l);
    if (err == NIPC_OK && sv.err != NIPC_ERR_DISCONNECTED)
        err = sv.err;
    return err;
}

static nipc_error_t sc_l1_uds(env_t *e)
{
    return l1_session(e, NIPC_PROFILE_BASELINE, 0);
}

static nipc_error_t sc_l1_shm(env_t *e)
{
    return l1_session(e, NIPC_PROFILE_BASELINE | NIPC_PROFILE_SHM_HYBRID, 0);
}

/* Upstream's file region (the sealed profile not offered). */
static nipc_error_t sc_l1_file_shm(env_t *e)
{
    return l1_session(e, NIPC_PROFILE_BASELINE | NIPC_PROFILE_SHM_HYBRID, 1);
}

static t_bytes_t snap; /* what snapshot providers serve */

static nipc_error_t cgl_handler(void *ctx, const nipc_cgroups_lookup_req_t *req,
                                nipc_cgroups_lookup_builder_t *b)
{
    (void)ctx;
    for (uint32_t i = 0; i < req->item_count; i++) {
        nipc_cgroups_lookup_item_t it = {.status = NIPC_CGROUP_UNKNOWN_PERMANENT};
        nipc_cgroups_lookup_req_key(req, i, &it.path);
        nipc_cgroups_lookup_builder_add(b, &it, NULL);
    }
    return NIPC_OK;
}

static nipc_error_t apl_handler(void *ctx, const nipc_apps_lookup_req_t *req,
                                nipc_apps_lookup_builder_t *b)
{
    (void)ctx;
    for (uint32_t i = 0; i < req->item_count; i++) {
        nipc_apps_lookup_item_t it = {.status = NIPC_APP_UNKNOWN, .uid = NIPC_UID_UNSET};
        nipc_apps_lookup_req_pid(req, i, &it.pid);
        nipc_apps_lookup_builder_add(b, &it, NULL);
    }
    return NIPC_OK;
}

/* Every kind of managed server: create, start, stop, destroy. */
static nipc_error_t sc_servers(env_t *e)
{
    nipc_server_config_t cfg = {.max_sessions = 4};
    nipc_server_t *s = NULL;
    nipc_error_t err = NIPC_OK;
    for (int kind = 0; err == NIPC_OK && kind < 5; kind++) {
        switch (kind) {
        case 0:
            err = nipc_server_create_increment(e->run, SVC, &cfg, t_increment_handler, NULL, &s);
            break;
        case 1:
            err = nipc_server_create_string_reverse(e->run, SVC, &cfg, t_reverse_handler, NULL, &s);
            break;
        case 2:
            err = nipc_server_create_cgroups_snapshot(e->run, SVC, &cfg, t_snapshot_handler, &snap,
                                                      &s);
            break;
        case 3:
            err = nipc_server_create_cgroups_lookup(e->run, SVC, &cfg, cgl_handler, NULL, &s);
            break;
        default:
            err = nipc_server_create_apps_lookup(e->run, SVC, &cfg, apl_handler, NULL, &s);
            break;
        }
        if (err == NIPC_OK)
            err = nipc_server_start(s);
        nipc_server_destroy(s);
        s = NULL;
    }
    return err;
}

/* A client against a running INCREMENT + STRING_REVERSE pair of servers:
 * every typed call once, over `profiles`. */
static nipc_error_t client_calls(env_t *e, const char *svc, uint32_t profiles, int reverse)
{
    nipc_client_config_t cfg = {.supported_profiles = profiles,
                                .max_request_batch_items = 8,
                                .call_timeout_ms = T_MS(3000)};
    nipc_client_t *c = NULL;
    nipc_error_t err = nipc_client_create(e->run, svc, &cfg, &c);
    if (err == NIPC_OK) {
        nipc_client_refresh(c);
        nipc_client_status_t st;
        nipc_client_status(c, &st);
        err = nipc_client_ready(c) ? NIPC_OK : st.last_error;
    }
    if (err == NIPC_OK && reverse) {
        nipc_str_t out;
        err = nipc_client_string_reverse(c, "abc", 3, &out, 0);
        if (err == NIPC_OK && (out.len != 3 || memcmp(out.ptr, "cba", 3) != 0))
            err = NIPC_ERR_BAD_RESPONSE;
    } else if (err == NIPC_OK) {
        uint64_t v = 0, in[3] = {1, 2, 3}, out[3];
        err = nipc_client_increment(c, 41, &v, 0);
        if (err == NIPC_OK && v != 42)
            err = NIPC_ERR_BAD_RESPONSE;
        if (err == NIPC_OK)
            err = nipc_client_increment_batch(c, in, 3, out, 0);
        if (err == NIPC_OK && (out[0] != 2 || out[2] != 4))
            err = NIPC_ERR_BAD_RESPONSE;
    }
    nipc_client_free(c);
    return err;
}

static nipc_error_t sc_client_inc_uds(env_t *e)
{
    return client_calls(e, SVC, NIPC_PROFILE_BASELINE, 0);
}

static nipc_error_t sc_client_inc_shm(env_t *e)
{
    return client_calls(e, SVC, NIPC_PROFILE_BASELINE | NIPC_PROFILE_SHM_HYBRID, 0);
}

static nipc_error_t sc_client_rev(env_t *e)
{
    return client_calls(e, SVC "-rev", NIPC_PROFILE_BASELINE, 1);
}

/* A cache that already holds a snapshot refreshes again: on failure it
 * keeps the old one, whole. */
static nipc_error_t sc_cache_refresh(env_t *e)
{
    nipc_error_t err = nipc_cgroups_cache_refresh(e->cache, T_MS(3000));
    nipc_cgroups_cache_status_t st;
    nipc_cgroups_cache_status(e->cache, &st);
    CHECK(st.populated && st.item_count == 50);
    nipc_corpus_item_t want;
    nipc_corpus_item(3, 49, &want);
    nipc_cgroup_item_t got = {0};
    nipc_cgroups_cache_read_lock(e->cache);
    CHECK(t_item_copy(nipc_cgroups_cache_get(e->cache, want.hash, want.name, want.name_len), &got));
    nipc_cgroups_cache_read_unlock(e->cache);
    /* A failed call may have broken the session, a failed index leaves a
     * snapshot served by a linear scan: refresh again without failures, so
     * descriptors and allocations compare like for like. */
    if (atomic_load(&injected)) {
        disarm();
        CHECK_OK(nipc_cgroups_cache_refresh(e->cache, T_MS(3000)));
    }
    return err;
}

static nipc_error_t sc_cache_new(env_t *e)
{
    nipc_cgroups_cache_t *c = NULL;
    nipc_error_t err = nipc_cgroups_cache_create(e->run, SVC "-snap", NULL, &c);
    if (err == NIPC_OK)
        err = nipc_cgroups_cache_refresh(c, T_MS(3000));
    if (err == NIPC_OK) {
        nipc_corpus_item_t want;
        nipc_corpus_item(3, 7, &want);
        nipc_cgroup_item_t got = {0};
        nipc_cgroups_cache_read_lock(c);
        if (!t_item_copy(nipc_cgroups_cache_get(c, want.hash, want.name, want.name_len), &got))
            err = NIPC_ERR_BAD_RESPONSE;
        nipc_cgroups_cache_read_unlock(c);
    }
    nipc_cgroups_cache_free(c);
    return err;
}

static nipc_error_t sc_lookups(env_t *e)
{
    nipc_client_t *cg = NULL, *ap = NULL;
    nipc_error_t err = nipc_client_create(e->run, SVC "-cgl", NULL, &cg);
    if (err == NIPC_OK)
        err = nipc_client_create(e->run, SVC "-apl", NULL, &ap);
    if (err == NIPC_OK) {
        nipc_client_refresh(cg);
        nipc_client_refresh(ap);
        nipc_client_status_t st;
        nipc_client_status(cg, &st);
        err = nipc_client_ready(cg) ? NIPC_OK : st.last_error;
        nipc_client_status(ap, &st);
        if (err == NIPC_OK)
            err = nipc_client_ready(ap) ? NIPC_OK : st.last_error;
    }
    if (err == NIPC_OK) {
        nipc_str_t paths[3] = {{"/a", 2}, {"/b/c", 4}, {"/d", 2}};
        nipc_cgroups_lookup_view_t v;
        err = nipc_client_cgroups_lookup(cg, paths, 3, &v, 0);
        if (err == NIPC_OK && v.item_count != 3)
            err = NIPC_ERR_BAD_RESPONSE;
    }
    if (err == NIPC_OK) {
        uint32_t pids[4] = {1, 2, 3, 4};
        nipc_apps_lookup_view_t v;
        err = nipc_client_apps_lookup(ap, pids, 4, &v, 0);
        if (err == NIPC_OK && v.item_count != 4)
            err = NIPC_ERR_BAD_RESPONSE;
    }
    nipc_client_free(cg);
    nipc_client_free(ap);
    return err;
}

static nipc_error_t sc_corpus(env_t *e)
{
    (void)e;
    nipc_cgroup_set_t set;
    nipc_error_t err = nipc_cgroup_set_corpus(5, 20, &set);
    if (err == NIPC_OK)
        nipc_cgroup_set_free(&set);
    return err;
}

/* A fake cgroup tree big enough for the scanner to grow its arrays. */
static char tree[512];

static nipc_error_t sc_scan(env_t *e)
{
    (void)e;
    nipc_cgroup_set_t set;
    nipc_error_t err = nipc_cgroup_set_scan(tree, 10000, &set);
    if (err == NIPC_OK) {
        if (set.count != 300)
            err = NIPC_ERR_BAD_RESPONSE;
        nipc_cgroup_set_free(&set);
    }
    return err;
}

/* ----------------------------------------------------------------- cases */

static void env_begin(env_t *e)
{
    memset(e, 0, sizeof *e);
    REQUIRE(t_mkdtemp(e->run, sizeof e->run));
}

static void env_end(env_t *e)
{
    nipc_cgroups_cache_free(e->cache);
    nipc_server_destroy(e->srv);
    t_rmtree(e->run);
}

static void objects_and_endpoints(void)
{
    env_t e;
    env_begin(&e);
    exhaust("abort", &e, sc_abort, 1);
    exhaust("listener", &e, sc_listener, 1);
    exhaust("servers", &e, sc_servers, 1);
    exhaust("corpus", &e, sc_corpus, 1);
    env_end(&e);
}

static void level1_sessions(void)
{
    env_t e;
    env_begin(&e);
    exhaust("level 1 over UDS", &e, sc_l1_uds, 0);
    exhaust("level 1 over SHM", &e, sc_l1_shm, 0);
    exhaust("level 1 over file SHM", &e, sc_l1_file_shm, 0);
    env_end(&e);
}

static void level2_calls(void)
{
    env_t e;
    env_begin(&e);
    nipc_server_config_t cfg = {.supported_profiles =
                                    NIPC_PROFILE_BASELINE | NIPC_PROFILE_SHM_HYBRID,
                                .max_request_batch_items = 8,
                                .handshake_timeout_ms = T_MS(2000)};
    nipc_server_t *rev = NULL;
    REQUIRE(nipc_server_create_increment(e.run, SVC, &cfg, t_increment_handler, NULL, &e.srv) ==
            NIPC_OK);
    REQUIRE(nipc_server_start(e.srv) == NIPC_OK);
    REQUIRE(nipc_server_create_string_reverse(e.run, SVC "-rev", &cfg, t_reverse_handler, NULL,
                                              &rev) == NIPC_OK);
    REQUIRE(nipc_server_start(rev) == NIPC_OK);
    exhaust("level 2 calls over UDS", &e, sc_client_inc_uds, 0);
    exhaust("level 2 calls over SHM", &e, sc_client_inc_shm, 0);
    exhaust("level 2 string reverse", &e, sc_client_rev, 0);
    nipc_server_destroy(rev);
    env_end(&e);
}

static void level3_cache(void)
{
    env_t e;
    env_begin(&e);
    nipc_cgroup_set_t set;
    REQUIRE(nipc_cgroup_set_corpus(3, 50, &set) == NIPC_OK);
    snap.len = nipc_cgroup_set_encoded_size(&set);
    snap.ptr = malloc(snap.len);
    REQUIRE(snap.ptr && nipc_cgroup_set_encode(&set, 1, snap.ptr, snap.len, &snap.len) == NIPC_OK);
    nipc_cgroup_set_free(&set);
    REQUIRE(nipc_server_create_cgroups_snapshot(e.run, SVC "-snap", NULL, t_snapshot_handler, &snap,
                                                &e.srv) == NIPC_OK);
    REQUIRE(nipc_server_start(e.srv) == NIPC_OK);
    exhaust("cache create and refresh", &e, sc_cache_new, 0);
    REQUIRE(nipc_cgroups_cache_create(e.run, SVC "-snap", NULL, &e.cache) == NIPC_OK);
    REQUIRE(nipc_cgroups_cache_refresh(e.cache, T_MS(3000)) == NIPC_OK);
    exhaust("cache refresh keeps old data", &e, sc_cache_refresh, 0);
    env_end(&e);
    free(snap.ptr);
}

static void lookups(void)
{
    env_t e;
    env_begin(&e);
    nipc_server_t *ap = NULL;
    REQUIRE(nipc_server_create_cgroups_lookup(e.run, SVC "-cgl", NULL, cgl_handler, NULL, &e.srv) ==
            NIPC_OK);
    REQUIRE(nipc_server_start(e.srv) == NIPC_OK);
    REQUIRE(nipc_server_create_apps_lookup(e.run, SVC "-apl", NULL, apl_handler, NULL, &ap) ==
            NIPC_OK);
    REQUIRE(nipc_server_start(ap) == NIPC_OK);
    exhaust("lookup calls", &e, sc_lookups, 0);
    nipc_server_destroy(ap);
    env_end(&e);
}

static void cgroup_scanner(void)
{
    env_t e;
    env_begin(&e);
    REQUIRE(t_mkdtemp(tree, sizeof tree));
    /* 300 directories with long names: more than the scanner's first
     * allocation of items (256) and of strings (64 KiB). */
    char p[1024], name[200];
    memset(name, 'n', sizeof name - 1);
    name[sizeof name - 1] = 0;
    for (int i = 0; i < 300; i++) {
        snprintf(p, sizeof p, "%s/%03d-%s", tree, i, name);
        REQUIRE(mkdir(p, 0700) == 0);
    }
    exhaust("cgroup scan", &e, sc_scan, 1);
    t_rmtree(tree);
    env_end(&e);
}

int main(int argc, char **argv)
{
    t_init(argc, argv);
    static const t_case_t cases[] = {
        T_CASE(objects_and_endpoints), T_CASE(level1_sessions), T_CASE(level2_calls),
        T_CASE(level3_cache),          T_CASE(lookups),         T_CASE(cgroup_scanner),
    };
    return t_run(cases, sizeof cases / sizeof cases[0], argc, argv);
}
