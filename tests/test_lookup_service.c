/*
 * Lookup services end to end (services.md §8, codecs.md §4): the typed
 * Level 2 calls nipc_client_cgroups_lookup() / nipc_client_apps_lookup()
 * against real provider processes (tests/lookup_peers.c), registered once
 * per transport profile: `--profile 1` (UDS SEQPACKET / Named Pipe) and
 * `--profile 2` (shared memory).
 *
 * Providers get small request/response limits so that thousands of keys
 * cross many payload budgets; every stitched item is checked against the
 * provider's model. Also: generation changes between sub-calls, local and
 * server-side OVERSIZED_ITEM, renegotiation, malformed responses from a
 * raw Level 1 peer, the logical-call ceilings, deadline and abort, the
 * server's reactions to bad requests and bad handlers.
 */
#include "test.h"

#include "lookup_peers.h"
#include "netipc/netipc.h"
#include "support.h"

static uint32_t g_profile = NIPC_PROFILE_BASELINE;
static char g_prof_opt[32];

static int use_shm(void)
{
    return (g_profile & NIPC_PROFILE_SHM_MASK) != 0;
}

/* ---------------------------------------------------------------- fixture */

typedef struct fixture {
    char run[512], ctl[512];
    t_proc_t *peer;
    nipc_client_t *c;
} fixture_t;

/* Starts a provider of `kind` with `opts` (plus the profile) and a client
 * configured by `cfg` (profiles filled in), connected. */
static int fx_start(fixture_t *f, const char *kind, const char *const *opts,
                    nipc_client_config_t cfg)
{
    memset(f, 0, sizeof *f);
    if (!t_mkdtemp(f->run, sizeof f->run) || !t_mkdtemp(f->ctl, sizeof f->ctl))
        return 0;
    const char *all[16];
    size_t n = 0;
    for (; opts && opts[n] && n < 14; n++)
        all[n] = opts[n];
    all[n++] = g_prof_opt;
    all[n] = NULL;
    f->peer = lp_start(f->run, f->ctl, kind, all);
    if (!f->peer)
        return 0;
    cfg.supported_profiles = g_profile | NIPC_PROFILE_BASELINE;
    cfg.preferred_profiles = g_profile;
    cfg.exact_profiles = 1;
    if (nipc_client_create(f->run, LP_SERVICE, &cfg, &f->c) != NIPC_OK)
        return 0;
    nipc_client_refresh(f->c);
    return nipc_client_ready(f->c);
}

static void fx_stop(fixture_t *f)
{
    nipc_client_free(f->c);
    int code = lp_stop(f->peer, f->ctl);
    CHECK_EQ_U64(code, 0);
    CHECK_EQ_U64(t_dir_entries(f->run), 0); /* the provider cleaned up */
    t_rmtree(f->run);
    t_rmtree(f->ctl);
}

static nipc_client_status_t status_of(nipc_client_t *c)
{
    nipc_client_status_t st;
    nipc_client_status(c, &st);
    return st;
}

/* ------------------------------------------------------------ expectations */

static int str_eq(nipc_str_t a, nipc_str_t b)
{
    return a.len == b.len && (a.len == 0 || memcmp(a.ptr, b.ptr, a.len) == 0);
}

static nipc_str_t S(const char *s)
{
    nipc_str_t r = {s, (uint32_t)strlen(s)};
    return r;
}

static int labels_eq(const nipc_lookup_labels_t *got, uint16_t n, const nipc_label_t *want)
{
    if (got->count != n)
        return 0;
    for (uint16_t j = 0; j < n; j++) {
        nipc_label_t l;
        if (nipc_lookup_label(got, j, &l) != NIPC_OK || !str_eq(l.key, want[j].key) ||
            !str_eq(l.value, want[j].value))
            return 0;
    }
    return 1;
}

/* Item i of a stitched cgroups result is the model's answer for key i (or
 * OVERSIZED_ITEM when `oversized` says so); counts mismatches. */
static int cg_mismatches(const nipc_cgroups_lookup_view_t *v, const nipc_str_t *keys, uint32_t n,
                         int (*oversized)(nipc_str_t key))
{
    int bad = 0;
    if (v->item_count != n)
        return -1;
    for (uint32_t i = 0; i < n; i++) {
        nipc_cgroups_lookup_item_t it;
        if (nipc_cgroups_lookup_resp_item(v, i, &it) != NIPC_OK || !str_eq(it.path, keys[i])) {
            bad++;
            continue;
        }
        if (oversized && oversized(keys[i])) {
            bad += it.status != NIPC_CGROUP_OVERSIZED_ITEM || it.name.len || it.labels.count;
            continue;
        }
        lp_cg_answer_t a;
        lp_cg_model(keys[i], &a);
        int ok = it.status == a.status && it.orchestrator == a.orch && str_eq(it.name, a.name) &&
                 labels_eq(&it.labels, a.nlabels, a.labels);
        if (!ok && bad < 3)
            fprintf(stderr, "item %u (%.*s): status %u\n", i, (int)keys[i].len, keys[i].ptr,
                    it.status);
        bad += !ok;
    }
    return bad;
}

static int app_mismatches(const nipc_apps_lookup_view_t *v, const uint32_t *pids, uint32_t n,
                          int (*oversized)(uint32_t pid))
{
    int bad = 0;
    if (v->item_count != n)
        return -1;
    for (uint32_t i = 0; i < n; i++) {
        nipc_apps_lookup_item_t it;
        if (nipc_apps_lookup_resp_item(v, i, &it) != NIPC_OK || it.pid != pids[i]) {
            bad++;
            continue;
        }
        if (oversized && oversized(pids[i])) {
            bad += it.status != NIPC_APP_OVERSIZED_ITEM || it.uid != NIPC_UID_UNSET;
            continue;
        }
        lp_app_answer_t a;
        lp_app_model(pids[i], &a);
        const nipc_apps_lookup_item_t *w = &a.item;
        int ok = it.status == w->status && it.cgroup_status == w->cgroup_status &&
                 it.orchestrator == w->orchestrator && it.ppid == w->ppid && it.uid == w->uid &&
                 it.starttime == w->starttime && str_eq(it.comm, w->comm) &&
                 str_eq(it.cgroup_path, w->cgroup_path) && str_eq(it.cgroup_name, w->cgroup_name) &&
                 labels_eq(&it.labels, w->labels.count, a.labels);
        if (!ok && bad < 3)
            fprintf(stderr, "item %u (pid %u): status %u\n", i, pids[i], it.status);
        bad += !ok;
    }
    return bad;
}

/* Keys "/known/i", "/retry/i" and "/gone/i" in turn. */
static nipc_str_t *mixed_keys(uint32_t n, char (**store)[32])
{
    *store = malloc((size_t)n * sizeof **store);
    nipc_str_t *keys = malloc((size_t)n * sizeof *keys);
    static const char *const kinds[3] = {"/known/%u", "/retry/%u", "/gone/%u"};
    for (uint32_t i = 0; i < n && *store && keys; i++) {
        snprintf((*store)[i], sizeof(*store)[i], kinds[i % 3], i);
        keys[i] = S((*store)[i]);
    }
    return keys;
}

/* ------------------------------------------------------------------ scale */

static void cgroups_scale_mixed(void)
{
    fixture_t f;
    const char *opts[] = {"req=512", "resp=1400", "gen=41", NULL};
    nipc_client_config_t cfg = {.max_request_payload_bytes = 512};
    REQUIRE(fx_start(&f, "cg", opts, cfg));
    if (use_shm())
        CHECK_EQ_U64(status_of(f.c).selected_profile, g_profile);

    const uint32_t n = 5000;
    char(*store)[32];
    nipc_str_t *keys = mixed_keys(n, &store);
    REQUIRE(keys && store);
    uint64_t calls = status_of(f.c).call_count;
    nipc_cgroups_lookup_view_t v;
    CHECK_OK(nipc_client_cgroups_lookup(f.c, keys, n, &v, 0));
    CHECK_EQ_U64(v.generation, 41);
    CHECK_EQ_U64(cg_mismatches(&v, keys, n, NULL), 0);
    /* 512-byte requests hold 20 of these keys (24 bytes each), and the
     * 1400-byte replies often fewer answers than that: PAYLOAD_EXCEEDED
     * tails are asked for again. */
    uint64_t sub = status_of(f.c).call_count - calls;
    CHECK(sub > n / 20 + 20);
    fprintf(stderr, "  %u keys in %llu sub-calls\n", n, (unsigned long long)sub);

    /* The same call again gives the same bytes (a fresh buffer, no mixing). */
    nipc_cgroups_lookup_view_t w;
    CHECK_OK(nipc_client_cgroups_lookup(f.c, keys, n, &w, 0));
    CHECK(w.len == v.len);
    CHECK(w.payload != v.payload);
    CHECK_MEM(w.payload, v.payload, v.len);
    free(keys);
    free(store);
    fx_stop(&f);
}

static void apps_scale_mixed(void)
{
    fixture_t f;
    const char *opts[] = {"req=1024", "resp=6144", "gen=7", NULL};
    nipc_client_config_t cfg = {.max_request_payload_bytes = 1024};
    REQUIRE(fx_start(&f, "app", opts, cfg));
    const uint32_t n = 10000;
    uint32_t *pids = malloc(n * sizeof *pids);
    REQUIRE(pids);
    for (uint32_t i = 0; i < n; i++)
        pids[i] = 100 + i * 3;
    uint64_t calls = status_of(f.c).call_count;
    nipc_apps_lookup_view_t v;
    CHECK_OK(nipc_client_apps_lookup(f.c, pids, n, &v, 0));
    CHECK_EQ_U64(v.generation, 7);
    CHECK_EQ_U64(app_mismatches(&v, pids, n, NULL), 0);
    uint64_t sub = status_of(f.c).call_count - calls;
    /* (1024 - 16) / 16 = 63 keys per request, about 7500 bytes of answers
     * for 6144-byte replies: PAYLOAD_EXCEEDED tails in most parts. */
    CHECK(sub > n / 63 + 20);
    fprintf(stderr, "  %u pids in %llu sub-calls\n", n, (unsigned long long)sub);
    free(pids);
    fx_stop(&f);
}

/* No keys: one empty request, which still reports the generation. */
static void empty_probe(void)
{
    fixture_t f;
    const char *opts[] = {"gen=99", NULL};
    REQUIRE(fx_start(&f, "app", opts, (nipc_client_config_t){0}));
    uint64_t calls = status_of(f.c).call_count;
    nipc_apps_lookup_view_t v;
    CHECK_OK(nipc_client_apps_lookup(f.c, NULL, 0, &v, 0));
    CHECK_EQ_U64(v.item_count, 0);
    CHECK_EQ_U64(v.generation, 99);
    CHECK_EQ_U64(v.len, 16);
    CHECK_EQ_U64(status_of(f.c).call_count - calls, 1);
    fx_stop(&f);
}

/* ------------------------------------------------------------- generation */

/* The provider's generation moves after 3 handler calls: the logical call
 * that spans the change fails (no mixed result), the next one succeeds
 * with the new generation, and the session stays up. */
static void generation_change_between_subcalls(void)
{
    fixture_t f;
    const char *opts[] = {"req=256", "resp=4096", "gen=10", "flip=3", NULL};
    REQUIRE(fx_start(&f, "app", opts, (nipc_client_config_t){.max_request_payload_bytes = 256}));
    uint32_t pids[150];
    for (uint32_t i = 0; i < 150; i++)
        pids[i] = 5000 + i; /* 15 keys per request: 10 sub-calls */
    nipc_apps_lookup_view_t v = {0};
    uint64_t calls = status_of(f.c).call_count;
    CHECK_ERR(nipc_client_apps_lookup(f.c, pids, 150, &v, 0), NIPC_ERR_GENERATION_CHANGED);
    CHECK_EQ_U64(status_of(f.c).call_count - calls, 4); /* failed on the 4th part */
    CHECK(nipc_client_ready(f.c));
    CHECK_EQ_U64(status_of(f.c).last_error, NIPC_ERR_GENERATION_CHANGED);
    CHECK_OK(nipc_client_apps_lookup(f.c, pids, 150, &v, 0));
    CHECK_EQ_U64(v.generation, 11);
    CHECK_EQ_U64(app_mismatches(&v, pids, 150, NULL), 0);
    fx_stop(&f);
}

/* -------------------------------------------------------------- oversized */

static int longer_than_proposal(nipc_str_t key)
{
    return key.len > 400;
}

/* A path whose one-key request exceeds the client's proposal is answered
 * locally with OVERSIZED_ITEM; the others are asked for as usual. */
static void oversized_local(void)
{
    fixture_t f;
    const char *opts[] = {"req=512", "gen=3", NULL};
    REQUIRE(fx_start(&f, "cg", opts, (nipc_client_config_t){.max_request_payload_bytes = 512}));
    static char longkey[600];
    memset(longkey, 'x', sizeof longkey - 1);
    longkey[0] = '/';
    nipc_str_t keys[5] = {S("/known/1"), S(longkey), S("/retry/2"), S(longkey), S("/gone/3")};
    nipc_cgroups_lookup_view_t v;
    CHECK_OK(nipc_client_cgroups_lookup(f.c, keys, 5, &v, 0));
    CHECK_EQ_U64(v.generation, 3);
    CHECK_EQ_U64(cg_mismatches(&v, keys, 5, longer_than_proposal), 0);

    /* Only oversized keys: no sub-call at all, generation 0. */
    uint64_t calls = status_of(f.c).call_count;
    CHECK_OK(nipc_client_cgroups_lookup(f.c, keys + 1, 1, &v, 0));
    CHECK_EQ_U64(status_of(f.c).call_count, calls);
    CHECK_EQ_U64(v.generation, 0);
    CHECK_EQ_U64(cg_mismatches(&v, keys + 1, 1, longer_than_proposal), 0);
    fx_stop(&f);
}

static int is_big(nipc_str_t key)
{
    return key.len >= 5 && memcmp(key.ptr, "/big/", 5) == 0 &&
           strtoul(key.ptr + 5, NULL, 10) > 3000;
}

static int is_huge(uint32_t pid)
{
    return pid >= LP_HUGE_PID + 9000;
}

/* An answer larger than the response budget: the server sends
 * PAYLOAD_EXCEEDED while it is not first, then OVERSIZED_ITEM when the
 * client asks again starting with it; the final result keeps it. */
static void oversized_server(void)
{
    fixture_t f;
    const char *opts[] = {"req=1024", "resp=4096", "gen=5", NULL};
    REQUIRE(fx_start(&f, "cg", opts, (nipc_client_config_t){.max_request_payload_bytes = 1024}));
    uint32_t n = 300;
    char(*store)[32];
    nipc_str_t *keys = mixed_keys(n, &store);
    REQUIRE(keys && store);
    static char bigkeys[3][32];
    snprintf(bigkeys[0], sizeof bigkeys[0], "/big/5000");
    snprintf(bigkeys[1], sizeof bigkeys[1], "/big/200"); /* fits: answered */
    snprintf(bigkeys[2], sizeof bigkeys[2], "/big/9000");
    keys[0] = S(bigkeys[0]);
    keys[17] = S(bigkeys[1]);
    keys[150] = S(bigkeys[2]);
    keys[151] = S(bigkeys[2]); /* back to back */
    nipc_cgroups_lookup_view_t v;
    CHECK_OK(nipc_client_cgroups_lookup(f.c, keys, n, &v, 0));
    CHECK_EQ_U64(cg_mismatches(&v, keys, n, is_big), 0);
    nipc_cgroups_lookup_item_t it;
    REQUIRE(nipc_cgroups_lookup_resp_item(&v, 17, &it) == NIPC_OK);
    CHECK_EQ_U64(it.status, NIPC_CGROUP_KNOWN);
    CHECK_EQ_U64(it.name.len, 200);
    free(keys);
    free(store);
    fx_stop(&f);

    /* 63 keys a request need 72 x 63 + 15 bytes even as minimal items. */
    const char *aopts[] = {"req=1024", "resp=6144", NULL};
    REQUIRE(fx_start(&f, "app", aopts, (nipc_client_config_t){.max_request_payload_bytes = 1024}));
    uint32_t pids[200];
    for (uint32_t i = 0; i < 200; i++)
        pids[i] = 700 + i;
    pids[0] = LP_HUGE_PID + 9000;
    pids[60] = LP_HUGE_PID + 9500;
    pids[59] = LP_HUGE_PID + 9001;
    pids[61] = LP_HUGE_PID + 100; /* fits */
    nipc_apps_lookup_view_t av;
    CHECK_OK(nipc_client_apps_lookup(f.c, pids, 200, &av, 0));
    CHECK_EQ_U64(app_mismatches(&av, pids, 200, is_huge), 0);
    fx_stop(&f);
}

/* -------------------------------------------------------------- renegotiate */

/* The first session agrees to 64 request bytes, later ones to what the
 * client proposes (1024): a key that fits the proposal makes the client
 * reconnect once and go on. */
static void renegotiate_then_fits(void)
{
    fixture_t f;
    const char *opts[] = {"first=64", "then=0", NULL};
    REQUIRE(fx_start(&f, "nego", opts, (nipc_client_config_t){0}));
    CHECK_EQ_U64(status_of(f.c).max_request_payload, 64);
    static char key[101];
    memset(key, 'k', 100);
    key[0] = '/';
    nipc_str_t keys[3] = {S("/a"), S(key), S("/b")};
    uint64_t reconnects = status_of(f.c).reconnect_count;
    nipc_cgroups_lookup_view_t v;
    CHECK_OK(nipc_client_cgroups_lookup(f.c, keys, 3, &v, 0));
    CHECK_EQ_U64(status_of(f.c).reconnect_count - reconnects, 1);
    CHECK_EQ_U64(status_of(f.c).max_request_payload, 1024);
    CHECK_EQ_U64(v.item_count, 3);
    for (uint32_t i = 0; i < 3; i++) {
        nipc_cgroups_lookup_item_t it;
        REQUIRE(nipc_cgroups_lookup_resp_item(&v, i, &it) == NIPC_OK);
        CHECK(str_eq(it.path, keys[i]));
        CHECK_EQ_U64(it.status, NIPC_CGROUP_UNKNOWN_PERMANENT);
    }
    fx_stop(&f);
}

/* The server keeps agreeing to too little: OVERFLOW, for cgroups and apps
 * (a 32-byte one-PID request does not fit 24 bytes). */
static void renegotiate_no_growth(void)
{
    fixture_t f;
    const char *opts[] = {"first=24", "then=24", NULL};
    REQUIRE(fx_start(&f, "nego", opts, (nipc_client_config_t){0}));
    uint32_t pid = 1;
    nipc_apps_lookup_view_t av;
    CHECK_ERR(nipc_client_apps_lookup(f.c, &pid, 1, &av, 0), NIPC_ERR_OVERFLOW);
    nipc_client_refresh(f.c);
    REQUIRE(nipc_client_ready(f.c));
    nipc_str_t key = S("/abc");
    nipc_cgroups_lookup_view_t cv;
    CHECK_ERR(nipc_client_cgroups_lookup(f.c, &key, 1, &cv, 0), NIPC_ERR_OVERFLOW);
    fx_stop(&f);
}

/* ---------------------------------------------------------- malformed peer */

static void malformed_responses(void)
{
    static const struct {
        const char *mode;
        nipc_error_t expect;
    } cases[] = {
        {"mode=count", NIPC_ERR_BAD_RESPONSE},
        {"mode=echo", NIPC_ERR_BAD_RESPONSE},
        {"mode=after_pe", NIPC_ERR_BAD_RESPONSE},
        {"mode=first_pe", NIPC_ERR_OVERFLOW},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        fixture_t f;
        const char *opts[] = {cases[i].mode, NULL};
        REQUIRE(fx_start(&f, "raw", opts, (nipc_client_config_t){0}));
        uint32_t pids[5] = {1, 2, 3, 4, 5};
        nipc_str_t keys[5] = {S("/a/1"), S("/a/2"), S("/a/3"), S("/a/4"), S("/a/5")};
        nipc_apps_lookup_view_t av;
        nipc_cgroups_lookup_view_t cv;
        nipc_error_t got = nipc_client_apps_lookup(f.c, pids, 5, &av, 0);
        if (got != cases[i].expect)
            fprintf(stderr, "%s (apps): %s\n", cases[i].mode, nipc_error_name(got));
        CHECK_ERR(got, cases[i].expect);
        CHECK(nipc_client_ready(f.c)); /* well-formed bytes: the session stays */
        got = nipc_client_cgroups_lookup(f.c, keys, 5, &cv, 0);
        if (got != cases[i].expect)
            fprintf(stderr, "%s (cgroups): %s\n", cases[i].mode, nipc_error_name(got));
        CHECK_ERR(got, cases[i].expect);
        fx_stop(&f);
    }

    /* A new generation in every response: fine for one part, refused across parts. */
    fixture_t f;
    const char *opts[] = {"mode=gen", NULL};
    REQUIRE(fx_start(&f, "raw", opts, (nipc_client_config_t){.max_request_payload_bytes = 64}));
    uint32_t pids[6] = {1, 2, 3, 4, 5, 6}; /* 3 per 64-byte request */
    nipc_apps_lookup_view_t av;
    CHECK_OK(nipc_client_apps_lookup(f.c, pids, 3, &av, 0));
    CHECK_ERR(nipc_client_apps_lookup(f.c, pids, 6, &av, 0), NIPC_ERR_GENERATION_CHANGED);
    fx_stop(&f);
}

/* --------------------------------------------------------------- ceilings */

/* A second client of the fixture's provider with its own configuration. */
static nipc_client_t *fx_client(const fixture_t *f, nipc_client_config_t cfg)
{
    nipc_client_t *c = NULL;
    cfg.supported_profiles = g_profile | NIPC_PROFILE_BASELINE;
    cfg.preferred_profiles = g_profile;
    cfg.exact_profiles = 1;
    if (nipc_client_create(f->run, LP_SERVICE, &cfg, &c) != NIPC_OK)
        return NULL;
    nipc_client_refresh(c);
    return c;
}

static void ceilings(void)
{
    fixture_t f;
    const char *opts[] = {"req=1024", "resp=65536", NULL};
    nipc_client_config_t cfg = {
        .max_request_payload_bytes = 1024,
        .max_logical_lookup_items = 300,
        .max_logical_lookup_subcalls = 3,
    };
    REQUIRE(fx_start(&f, "app", opts, cfg));
    static uint32_t pids[3001];
    for (uint32_t i = 0; i < 3001; i++)
        pids[i] = 7 * i + 4; /* KNOWN with labels: about 150 bytes each */
    nipc_apps_lookup_view_t v;
    uint64_t calls = status_of(f.c).call_count;

    /* Items: one over the ceiling fails before any I/O. */
    CHECK_ERR(nipc_client_apps_lookup(f.c, pids, 301, &v, 0), NIPC_ERR_OVERFLOW);
    CHECK_EQ_U64(status_of(f.c).call_count, calls);
    /* Sub-calls: 63 keys per request and 3 sub-calls: 189 keys fit, 190 do not. */
    CHECK_OK(nipc_client_apps_lookup(f.c, pids, 189, &v, 0));
    CHECK_EQ_U64(status_of(f.c).call_count - calls, 3);
    calls = status_of(f.c).call_count;
    CHECK_ERR(nipc_client_apps_lookup(f.c, pids, 190, &v, 0), NIPC_ERR_OVERFLOW);
    CHECK_EQ_U64(status_of(f.c).call_count - calls, 3); /* made three, refused the fourth */
    CHECK(nipc_client_ready(f.c));

    /* Response bytes: 180 answers stitch to more than 20000 bytes, 100 do
     * not; 3000 keys do not even leave room for the directory. */
    nipc_client_t *small = fx_client(&f, (nipc_client_config_t){
                                             .max_request_payload_bytes = 1024,
                                             .max_logical_lookup_response_bytes = 20000,
                                         });
    REQUIRE(small && nipc_client_ready(small));
    CHECK_ERR(nipc_client_apps_lookup(small, pids, 180, &v, 0), NIPC_ERR_OVERFLOW);
    CHECK(nipc_client_ready(small));
    CHECK_OK(nipc_client_apps_lookup(small, pids, 100, &v, 0));
    CHECK(v.len <= 20000 && v.len > 10000);
    calls = status_of(small).call_count;
    CHECK_ERR(nipc_client_apps_lookup(small, pids, 3000, &v, 0), NIPC_ERR_OVERFLOW);
    CHECK_EQ_U64(status_of(small).call_count, calls);
    nipc_client_free(small);
    fx_stop(&f);
}

/* The default ceilings are the spec's: 65536 keys in one logical call, not
 * one more (8192-byte requests of 511 keys: about 130 sub-calls, ~9 MB). */
static void ceilings_defaults(void)
{
    fixture_t f;
    const char *opts[] = {"req=8192", NULL};
    REQUIRE(fx_start(&f, "app", opts, (nipc_client_config_t){.max_request_payload_bytes = 8192}));
    static uint32_t many[65537];
    for (uint32_t i = 0; i < 65537; i++)
        many[i] = i + 1;
    nipc_apps_lookup_view_t v;
    uint64_t calls = status_of(f.c).call_count;
    CHECK_ERR(nipc_client_apps_lookup(f.c, many, 65537, &v, 0), NIPC_ERR_OVERFLOW);
    CHECK_EQ_U64(status_of(f.c).call_count, calls);
    CHECK_OK(nipc_client_apps_lookup(f.c, many, 65536, &v, 0));
    CHECK_EQ_U64(app_mismatches(&v, many, 65536, NULL), 0);
    fx_stop(&f);
}

/* ------------------------------------------------------- deadline, abort */

static void deadline_and_abort(void)
{
    fixture_t f;
    const char *opts[] = {"req=256", "delay=150", NULL};
    REQUIRE(fx_start(&f, "app", opts, (nipc_client_config_t){.max_request_payload_bytes = 256}));
    uint32_t pids[150];
    for (uint32_t i = 0; i < 150; i++)
        pids[i] = 1000 + i; /* 10 sub-calls of 150 ms */
    nipc_apps_lookup_view_t v;
    unsigned long long t0 = t_now_ms();
    CHECK_ERR(nipc_client_apps_lookup(f.c, pids, 150, &v, 500), NIPC_ERR_TIMEOUT);
    unsigned long long took = t_now_ms() - t0;
    CHECK(took >= 450 && took < T_MS(1200)); /* one deadline for all the parts */
    nipc_client_refresh(f.c);
    REQUIRE(nipc_client_ready(f.c));

    nipc_client_abort(f.c);
    uint64_t calls = status_of(f.c).call_count;
    CHECK_ERR(nipc_client_apps_lookup(f.c, pids, 150, &v, 0), NIPC_ERR_ABORTED);
    CHECK_EQ_U64(status_of(f.c).call_count, calls);
    nipc_client_clear_abort(f.c);
    CHECK_OK(nipc_client_apps_lookup(f.c, pids, 20, &v, 0));
    CHECK_EQ_U64(app_mismatches(&v, pids, 20, NULL), 0);
    fx_stop(&f);
}

/* ----------------------------------------------------------- views, keys */

/* Keys taken from the previous call's view stay valid during the next
 * call; repeated calls reuse the two result buffers. */
static void keys_from_previous_view(void)
{
    fixture_t f;
    const char *opts[] = {"req=512", NULL};
    REQUIRE(fx_start(&f, "cg", opts, (nipc_client_config_t){.max_request_payload_bytes = 512}));
    uint32_t n = 90;
    char(*store)[32];
    nipc_str_t *keys = mixed_keys(n, &store);
    REQUIRE(keys && store);
    nipc_cgroups_lookup_view_t v1, v2;
    REQUIRE(nipc_client_cgroups_lookup(f.c, keys, n, &v1, 0) == NIPC_OK);
    nipc_str_t again[90];
    for (uint32_t i = 0; i < n; i++) {
        nipc_cgroups_lookup_item_t it;
        REQUIRE(nipc_cgroups_lookup_resp_item(&v1, i, &it) == NIPC_OK);
        again[i] = it.path; /* points into v1 */
    }
    CHECK_OK(nipc_client_cgroups_lookup(f.c, again, n, &v2, 0));
    CHECK_EQ_U64(cg_mismatches(&v2, keys, n, NULL), 0);
    const uint8_t *a = v1.payload, *b = v2.payload;
    CHECK(a != b);
    for (int i = 0; i < 4; i++) {
        nipc_cgroups_lookup_view_t w;
        REQUIRE(nipc_client_cgroups_lookup(f.c, keys, n, &w, 0) == NIPC_OK);
        CHECK(w.payload == (i % 2 ? b : a));
    }
    free(keys);
    free(store);
    fx_stop(&f);
}

static void bad_keys_send_nothing(void)
{
    fixture_t f;
    REQUIRE(fx_start(&f, "cg", NULL, (nipc_client_config_t){0}));
    nipc_str_t keys[3] = {S("/a"), S(""), S("/c")};
    nipc_cgroups_lookup_view_t v;
    uint64_t calls = status_of(f.c).call_count;
    CHECK_ERR(nipc_client_cgroups_lookup(f.c, keys, 3, &v, 0), NIPC_ERR_BAD_FIELD);
    keys[1] = (nipc_str_t){"x\0y", 3};
    CHECK_ERR(nipc_client_cgroups_lookup(f.c, keys, 3, &v, 0), NIPC_ERR_EMBEDDED_NUL);
    CHECK_ERR(nipc_client_cgroups_lookup(f.c, NULL, 3, &v, 0), NIPC_ERR_INVALID_ARGUMENT);
    CHECK_EQ_U64(status_of(f.c).call_count, calls);
    CHECK(nipc_client_ready(f.c));
    fx_stop(&f);
}

/* ------------------------------------------------------ server reactions */

/* Handler faults: an item short or an invalid item is BAD_ENVELOPE, one
 * item too many or no room at all LIMIT_EXCEEDED (the client cannot grow:
 * OVERFLOW), a failing handler INTERNAL_ERROR. */
static void server_handler_faults(void)
{
    fixture_t f;
    const char *opts[] = {"resp=1024", NULL};
    REQUIRE(fx_start(&f, "cg", opts, (nipc_client_config_t){0}));
    static const struct {
        const char *key;
        nipc_error_t expect;
    } cases[] = {
        {"/bug/count", NIPC_ERR_REMOTE_BAD_ENVELOPE},
        {"/bug/nul", NIPC_ERR_REMOTE_BAD_ENVELOPE},
        {"/bug/fail", NIPC_ERR_REMOTE_INTERNAL},
        {"/bug/extra", NIPC_ERR_OVERFLOW},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        nipc_str_t keys[2] = {S(cases[i].key), S("/known/1")};
        nipc_cgroups_lookup_view_t v;
        CHECK_ERR(nipc_client_cgroups_lookup(f.c, keys, 2, &v, 0), cases[i].expect);
        nipc_client_refresh(f.c);
        REQUIRE(nipc_client_ready(f.c));
    }
    /* 40 keys need 16 + 320 + 39 x 48 + 41 = 2249 bytes of minimal items. */
    static char store[40][16];
    nipc_str_t keys[40];
    for (int i = 0; i < 40; i++) {
        snprintf(store[i], sizeof store[i], "/gone/%05d", i);
        keys[i] = S(store[i]);
    }
    nipc_cgroups_lookup_view_t v;
    CHECK_ERR(nipc_client_cgroups_lookup(f.c, keys, 40, &v, 0), NIPC_ERR_OVERFLOW);
    nipc_client_refresh(f.c);
    CHECK_OK(nipc_client_cgroups_lookup(f.c, keys, 10, &v, 0));
    fx_stop(&f);
}

/* Sends one request over a fresh Level 1 session and returns the response's
 * transport status (0xFFFF when there was none); checks the empty payload
 * of error responses. */
static uint16_t raw_status(const char *run, uint16_t code, uint16_t flags, const void *payload,
                           size_t len)
{
    nipc_transport_config_t tc = {
        .supported_profiles = g_profile | NIPC_PROFILE_BASELINE,
        .preferred_profiles = g_profile,
        .exact_profiles = 1,
        .max_request_batch_items = 4,
        .max_response_batch_items = 4,
    };
    nipc_session_t *s = NULL;
    if (nipc_session_connect(run, LP_SERVICE, &tc, &s) != NIPC_OK)
        return 0xFFFF;
    nipc_header_t h = nipc_header_make(NIPC_KIND_REQUEST, code, flags, 0, 0, 1, 1);
    nipc_message_t msg;
    uint16_t status = 0xFFFF;
    if (nipc_session_send(s, &h, payload, len, 2000, NULL) == NIPC_OK &&
        nipc_session_receive(s, &msg, 2000, NULL) == NIPC_OK) {
        status = msg.header.transport_status;
        if (status != NIPC_STATUS_OK)
            CHECK_EQ_U64(msg.header.payload_len, 0);
    }
    nipc_session_close(s);
    return status;
}

/* What a typed client never sends, from a raw Level 1 client, and the
 * exact wire status of each handler fault. */
static void server_rejects_bad_requests(void)
{
    fixture_t f;
    REQUIRE(fx_start(&f, "app", NULL, (nipc_client_config_t){0}));
    uint8_t req[64];
    size_t len = 0;
    uint32_t pids[2] = {1, 2};
    REQUIRE(nipc_apps_lookup_req_encode(pids, 2, req, sizeof req, &len) == NIPC_OK);
    CHECK_EQ_U64(raw_status(f.run, NIPC_METHOD_APPS_LOOKUP, 0, req, len), NIPC_STATUS_OK);
    CHECK_EQ_U64(raw_status(f.run, NIPC_METHOD_APPS_LOOKUP, NIPC_FLAG_BATCH, req, len),
                 NIPC_STATUS_BAD_ENVELOPE);
    CHECK_EQ_U64(raw_status(f.run, NIPC_METHOD_APPS_LOOKUP, 0, req, len - 8),
                 NIPC_STATUS_BAD_ENVELOPE); /* truncated */
    CHECK_EQ_U64(raw_status(f.run, NIPC_METHOD_CGROUPS_LOOKUP, 0, req, len),
                 NIPC_STATUS_UNSUPPORTED);
    fx_stop(&f);

    const char *opts[] = {"resp=1024", NULL};
    REQUIRE(fx_start(&f, "cg", opts, (nipc_client_config_t){0}));
    static const struct {
        const char *key;
        uint16_t status;
    } cases[] = {
        {"/known/1", NIPC_STATUS_OK},
        {"/bug/count", NIPC_STATUS_BAD_ENVELOPE},
        {"/bug/nul", NIPC_STATUS_BAD_ENVELOPE},
        {"/bug/fail", NIPC_STATUS_INTERNAL_ERROR},
        {"/bug/extra", NIPC_STATUS_LIMIT_EXCEEDED},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        nipc_str_t keys[2] = {S(cases[i].key), S("/known/2")};
        REQUIRE(nipc_cgroups_lookup_req_encode(keys, 2, req, sizeof req, &len) == NIPC_OK);
        uint16_t got = raw_status(f.run, NIPC_METHOD_CGROUPS_LOOKUP, 0, req, len);
        if (got != cases[i].status)
            fprintf(stderr, "%s: status %u\n", cases[i].key, got);
        CHECK_EQ_U64(got, cases[i].status);
    }
    /* Not even minimal items fit the 1024-byte response: LIMIT_EXCEEDED. */
    static char store[40][16];
    nipc_str_t keys[40];
    for (int i = 0; i < 40; i++) {
        snprintf(store[i], sizeof store[i], "/gone/%05d", i);
        keys[i] = S(store[i]);
    }
    static uint8_t big[1024];
    REQUIRE(nipc_cgroups_lookup_req_encode(keys, 40, big, sizeof big, &len) == NIPC_OK);
    CHECK_EQ_U64(raw_status(f.run, NIPC_METHOD_CGROUPS_LOOKUP, 0, big, len),
                 NIPC_STATUS_LIMIT_EXCEEDED);
    REQUIRE(nipc_cgroups_lookup_req_encode(keys, 10, big, sizeof big, &len) == NIPC_OK);
    CHECK_EQ_U64(raw_status(f.run, NIPC_METHOD_CGROUPS_LOOKUP, 0, big, len), NIPC_STATUS_OK);
    fx_stop(&f);
}

int main(int argc, char **argv)
{
    t_init(argc, argv);
    if (argc > 1 && strcmp(argv[1], "peer") == 0)
        return lp_peer_main(argc - 2, argv + 2);
    int a = 1;
    if (argc > 2 && strcmp(argv[1], "--profile") == 0) {
        g_profile = (uint32_t)strtoul(argv[2], NULL, 0);
        a = 3;
    }
    snprintf(g_prof_opt, sizeof g_prof_opt, "prof=%u", g_profile | NIPC_PROFILE_BASELINE);
    static const t_case_t cases[] = {
        T_CASE(cgroups_scale_mixed),
        T_CASE(apps_scale_mixed),
        T_CASE(empty_probe),
        T_CASE(generation_change_between_subcalls),
        T_CASE(oversized_local),
        T_CASE(oversized_server),
        T_CASE(renegotiate_then_fits),
        T_CASE(renegotiate_no_growth),
        T_CASE(malformed_responses),
        T_CASE(ceilings),
        T_CASE(ceilings_defaults),
        T_CASE(deadline_and_abort),
        T_CASE(keys_from_previous_view),
        T_CASE(bad_keys_send_nothing),
        T_CASE(server_handler_faults),
        T_CASE(server_rejects_bad_requests),
    };
    argv[a - 1] = argv[0];
    return t_run(cases, sizeof cases / sizeof cases[0], argc - a + 1, argv + a - 1);
}
