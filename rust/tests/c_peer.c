/*
 * C peer of the Rust crate's cross-language tests (tests/cross.rs): a C
 * program on the C library's public API, serving or calling one service
 * kind with the deterministic data that tests/common/mod.rs produces and
 * checks on the Rust side. build.rs compiles it (NETIPC_C_PEER).
 *
 *   netipc_c_peer serve KIND RUN_DIR SERVICE [--shm] [--items N]
 *       serves until stdin closes; prints "ready" once listening
 *   netipc_c_peer call KIND RUN_DIR SERVICE [--shm] [--items N] [--restart]
 *       calls, checks every answer, prints "ok KIND PROFILE" and exits 0;
 *       --restart: after a first good round prints "restart" and waits for
 *       a line on stdin (the test restarts the server), then calls again
 *       and requires a reconnect
 *
 * KIND: increment | reverse | snapshot | cgroups-lookup | apps-lookup.
 * Data rules (keep in sync with tests/common/mod.rs):
 *   increment       v -> v + 1; batches of 100
 *   reverse         the bytes reversed
 *   snapshot        N items: name "cg-<i>", path "/sys/fs/cgroup/cg-<i>/" + (i % 97) 'x',
 *                   hash djb2(name), options i, enabled i % 2; systemd 1, generation N
 *   cgroups-lookup  "/known/..." KNOWN, orchestrator len % 8, name = text after the last
 *                   '/', labels kind=test, len=<len>; others UNKNOWN_PERMANENT; generation 7
 *   apps-lookup     even pid KNOWN: ppid pid/2, uid 1000, starttime 10 pid, comm
 *                   "p<pid % 1000>", cgroup KNOWN "/apps/<pid>", name "app<pid>", DOCKER,
 *                   label pid=<pid>; odd pid UNKNOWN; generation 9
 */
#include <netipc/netipc.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FAIL(...)                                                                                  \
    do {                                                                                           \
        fprintf(stderr, "c_peer: " __VA_ARGS__);                                                   \
        fprintf(stderr, "\n");                                                                     \
        exit(1);                                                                                   \
    } while (0)

#define CHECK(cond, ...)                                                                           \
    do {                                                                                           \
        if (!(cond))                                                                               \
            FAIL(__VA_ARGS__);                                                                     \
    } while (0)

static uint32_t g_items = 100;

/* ------------------------------------------------------------------ data */

static void snapshot_item(uint32_t i, char *name, uint32_t *name_len, char *path,
                          uint32_t *path_len)
{
    *name_len = (uint32_t)sprintf(name, "cg-%u", i);
    int n = sprintf(path, "/sys/fs/cgroup/cg-%u/", i);
    memset(path + n, 'x', i % 97);
    *path_len = (uint32_t)n + i % 97;
    path[*path_len] = 0;
}

static int is_known_path(const char *p, uint32_t len)
{
    return len >= 7 && memcmp(p, "/known/", 7) == 0;
}

static const char *last_component(const char *p, uint32_t len, uint32_t *out_len)
{
    uint32_t i = len;
    while (i > 0 && p[i - 1] != '/')
        i--;
    *out_len = len - i;
    return p + i;
}

/* --------------------------------------------------------------- handlers */

static nipc_error_t on_increment(void *ctx, uint64_t v, uint64_t *out)
{
    (void)ctx;
    *out = v + 1;
    return NIPC_OK;
}

static nipc_error_t on_reverse(void *ctx, nipc_str_t in, char *out, uint32_t cap,
                               uint32_t *out_len)
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
    (void)ctx;
    nipc_cgroups_builder_t b;
    nipc_cgroups_builder_init(&b, buf, cap, g_items, 1, g_items);
    char name[32], path[160];
    uint32_t nl, pl;
    for (uint32_t i = 0; i < g_items; i++) {
        snapshot_item(i, name, &nl, path, &pl);
        nipc_cgroups_builder_add(&b, nipc_djb2(name, nl), i, i % 2, name, nl, path, pl);
    }
    return nipc_cgroups_builder_finish(&b, out_len);
}

static nipc_error_t on_cgroups_lookup(void *ctx, const nipc_cgroups_lookup_req_t *req,
                                      nipc_cgroups_lookup_builder_t *b)
{
    (void)ctx;
    nipc_cgroups_lookup_builder_set_generation(b, 7);
    for (uint32_t i = 0; i < req->item_count; i++) {
        nipc_cgroups_lookup_item_t it;
        memset(&it, 0, sizeof it);
        nipc_cgroups_lookup_req_key(req, i, &it.path);
        it.name = (nipc_str_t){"", 0};
        char len_text[16];
        nipc_label_t labels[2] = {{{"kind", 4}, {"test", 4}}, {{"len", 3}, {len_text, 0}}};
        if (is_known_path(it.path.ptr, it.path.len)) {
            it.status = NIPC_CGROUP_KNOWN;
            it.orchestrator = (uint16_t)(it.path.len % 8);
            it.name.ptr = last_component(it.path.ptr, it.path.len, &it.name.len);
            labels[1].value.len = (uint32_t)sprintf(len_text, "%u", it.path.len);
            it.labels.count = 2;
        } else {
            it.status = NIPC_CGROUP_UNKNOWN_PERMANENT;
        }
        nipc_cgroups_lookup_builder_add(b, &it, labels);
    }
    return NIPC_OK;
}

static nipc_error_t on_apps_lookup(void *ctx, const nipc_apps_lookup_req_t *req,
                                   nipc_apps_lookup_builder_t *b)
{
    (void)ctx;
    nipc_apps_lookup_builder_set_generation(b, 9);
    for (uint32_t i = 0; i < req->item_count; i++) {
        nipc_apps_lookup_item_t it;
        memset(&it, 0, sizeof it);
        nipc_apps_lookup_req_pid(req, i, &it.pid);
        char comm[16], cpath[32], cname[32], ptext[16];
        it.comm = it.cgroup_path = it.cgroup_name = (nipc_str_t){"", 0};
        nipc_label_t label = {{"pid", 3}, {ptext, 0}};
        if (it.pid % 2 == 0) {
            it.status = NIPC_APP_KNOWN;
            it.ppid = it.pid / 2;
            it.uid = 1000;
            it.starttime = 10ull * it.pid;
            it.comm = (nipc_str_t){comm, (uint32_t)sprintf(comm, "p%u", it.pid % 1000)};
            it.cgroup_status = NIPC_APP_CGROUP_KNOWN;
            it.orchestrator = NIPC_ORCH_DOCKER;
            it.cgroup_path = (nipc_str_t){cpath, (uint32_t)sprintf(cpath, "/apps/%u", it.pid)};
            it.cgroup_name = (nipc_str_t){cname, (uint32_t)sprintf(cname, "app%u", it.pid)};
            label.value.len = (uint32_t)sprintf(ptext, "%u", it.pid);
            it.labels.count = 1;
        } else {
            it.status = NIPC_APP_UNKNOWN;
            it.uid = NIPC_UID_UNSET;
        }
        nipc_apps_lookup_builder_add(b, &it, &label);
    }
    return NIPC_OK;
}

/* ------------------------------------------------------------------ serve */

static int serve(const char *kind, const char *dir, const char *service, uint32_t profiles)
{
    nipc_server_config_t cfg = {
        .supported_profiles = profiles,
        .max_request_payload_bytes = 1u << 20,
        .max_request_batch_items = 1000,
        .max_response_payload_bytes = 4u << 20,
    };
    nipc_server_t *s = NULL;
    nipc_error_t err;
    if (!strcmp(kind, "increment"))
        err = nipc_server_create_increment(dir, service, &cfg, on_increment, NULL, &s);
    else if (!strcmp(kind, "reverse"))
        err = nipc_server_create_string_reverse(dir, service, &cfg, on_reverse, NULL, &s);
    else if (!strcmp(kind, "snapshot"))
        err = nipc_server_create_cgroups_snapshot(dir, service, &cfg, on_snapshot, NULL, &s);
    else if (!strcmp(kind, "cgroups-lookup"))
        err = nipc_server_create_cgroups_lookup(dir, service, &cfg, on_cgroups_lookup, NULL, &s);
    else if (!strcmp(kind, "apps-lookup"))
        err = nipc_server_create_apps_lookup(dir, service, &cfg, on_apps_lookup, NULL, &s);
    else
        FAIL("unknown kind %s", kind);
    CHECK(err == NIPC_OK, "create %s: %s", kind, nipc_error_name(err));
    err = nipc_server_start(s);
    CHECK(err == NIPC_OK, "start: %s", nipc_error_name(err));
    printf("ready\n");
    fflush(stdout);
    char line[64];
    while (fgets(line, sizeof line, stdin))
        ; /* serve until the test closes our stdin */
    nipc_server_stop(s);
    nipc_server_join(s, 5000);
    nipc_server_destroy(s);
    return 0;
}

/* ------------------------------------------------------------------- call */

static void call_increment(nipc_client_t *c)
{
    for (uint64_t v = 0; v < 50; v++) {
        uint64_t out = 0;
        nipc_error_t err = nipc_client_increment(c, v * 1000003u, &out, 0);
        CHECK(err == NIPC_OK, "increment: %s", nipc_error_name(err));
        CHECK(out == v * 1000003u + 1, "increment %llu -> %llu", (unsigned long long)v,
              (unsigned long long)out);
    }
    uint64_t in[100], out[100];
    for (uint32_t i = 0; i < 100; i++)
        in[i] = (uint64_t)i << 32 | i;
    nipc_error_t err = nipc_client_increment_batch(c, in, 100, out, 0);
    CHECK(err == NIPC_OK, "increment batch: %s", nipc_error_name(err));
    for (uint32_t i = 0; i < 100; i++)
        CHECK(out[i] == in[i] + 1, "batch item %u", i);
}

static void call_reverse(nipc_client_t *c)
{
    static char in[300000], want[300000];
    uint32_t sizes[] = {0, 1, 5, 1000, 300000}; /* the last is chunked on UDS */
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        uint32_t n = sizes[k];
        for (uint32_t i = 0; i < n; i++)
            in[i] = (char)('a' + (i * 7 + k) % 26);
        for (uint32_t i = 0; i < n; i++)
            want[i] = in[n - 1 - i];
        nipc_str_t out;
        nipc_error_t err = nipc_client_string_reverse(c, in, n, &out, 0);
        CHECK(err == NIPC_OK, "reverse %u bytes: %s", n, nipc_error_name(err));
        CHECK(out.len == n && memcmp(out.ptr, want, n) == 0, "reverse %u bytes: wrong answer", n);
    }
}

static void call_snapshot(nipc_client_t *c)
{
    nipc_cgroups_view_t v;
    nipc_error_t err = nipc_client_cgroups_snapshot(c, &v, 0);
    CHECK(err == NIPC_OK, "snapshot: %s", nipc_error_name(err));
    CHECK(v.item_count == g_items && v.systemd_enabled == 1 && v.generation == g_items,
          "snapshot header: %u items, systemd %u, generation %llu", v.item_count,
          v.systemd_enabled, (unsigned long long)v.generation);
    char name[32], path[160];
    uint32_t nl, pl;
    for (uint32_t i = 0; i < v.item_count; i++) {
        nipc_cgroup_item_t it;
        err = nipc_cgroups_resp_item(&v, i, &it);
        CHECK(err == NIPC_OK, "snapshot item %u: %s", i, nipc_error_name(err));
        snapshot_item(i, name, &nl, path, &pl);
        CHECK(it.hash == nipc_djb2(name, nl) && it.options == i && it.enabled == i % 2 &&
                  it.name.len == nl && !memcmp(it.name.ptr, name, nl) && it.path.len == pl &&
                  !memcmp(it.path.ptr, path, pl),
              "snapshot item %u differs", i);
    }
}

static void call_cgroups_lookup(nipc_client_t *c)
{
    uint32_t n = g_items;
    nipc_str_t *keys = calloc(n, sizeof *keys);
    char **store = calloc(n, sizeof *store);
    CHECK(keys && store, "no memory");
    for (uint32_t i = 0; i < n; i++) {
        store[i] = malloc(128);
        CHECK(store[i], "no memory");
        int len = i % 3 ? sprintf(store[i], "/known/slice-%u/unit-%u.scope", i / 7, i)
                        : sprintf(store[i], "/unknown/%u", i);
        keys[i] = (nipc_str_t){store[i], (uint32_t)len};
    }
    nipc_cgroups_lookup_view_t v;
    nipc_error_t err = nipc_client_cgroups_lookup(c, keys, n, &v, 0);
    CHECK(err == NIPC_OK, "cgroups lookup: %s", nipc_error_name(err));
    CHECK(v.item_count == n && v.generation == 7, "cgroups lookup header");
    for (uint32_t i = 0; i < n; i++) {
        nipc_cgroups_lookup_item_t it;
        err = nipc_cgroups_lookup_resp_item(&v, i, &it);
        CHECK(err == NIPC_OK, "cgroups lookup item %u: %s", i, nipc_error_name(err));
        CHECK(it.path.len == keys[i].len && !memcmp(it.path.ptr, keys[i].ptr, keys[i].len),
              "cgroups lookup item %u: key not echoed", i);
        if (i % 3) {
            uint32_t nl;
            const char *name = last_component(keys[i].ptr, keys[i].len, &nl);
            CHECK(it.status == NIPC_CGROUP_KNOWN && it.orchestrator == keys[i].len % 8 &&
                      it.name.len == nl && !memcmp(it.name.ptr, name, nl) &&
                      it.labels.count == 2,
                  "cgroups lookup item %u: wrong known answer", i);
            nipc_label_t l;
            char want[16];
            int wl = sprintf(want, "%u", keys[i].len);
            CHECK(nipc_lookup_label(&it.labels, 0, &l) == NIPC_OK && l.key.len == 4 &&
                      !memcmp(l.key.ptr, "kind", 4) && l.value.len == 4 &&
                      !memcmp(l.value.ptr, "test", 4),
                  "cgroups lookup item %u: label 0", i);
            CHECK(nipc_lookup_label(&it.labels, 1, &l) == NIPC_OK && l.key.len == 3 &&
                      !memcmp(l.key.ptr, "len", 3) && l.value.len == (uint32_t)wl &&
                      !memcmp(l.value.ptr, want, (size_t)wl),
                  "cgroups lookup item %u: label 1", i);
        } else {
            CHECK(it.status == NIPC_CGROUP_UNKNOWN_PERMANENT && it.name.len == 0 &&
                      it.labels.count == 0,
                  "cgroups lookup item %u: wrong unknown answer", i);
        }
    }
    for (uint32_t i = 0; i < n; i++)
        free(store[i]);
    free(store);
    free(keys);
}

static void call_apps_lookup(nipc_client_t *c)
{
    uint32_t n = g_items;
    uint32_t *pids = calloc(n, sizeof *pids);
    CHECK(pids, "no memory");
    for (uint32_t i = 0; i < n; i++)
        pids[i] = 1000 + i * 3;
    nipc_apps_lookup_view_t v;
    nipc_error_t err = nipc_client_apps_lookup(c, pids, n, &v, 0);
    CHECK(err == NIPC_OK, "apps lookup: %s", nipc_error_name(err));
    CHECK(v.item_count == n && v.generation == 9, "apps lookup header");
    for (uint32_t i = 0; i < n; i++) {
        nipc_apps_lookup_item_t it;
        err = nipc_apps_lookup_resp_item(&v, i, &it);
        CHECK(err == NIPC_OK, "apps lookup item %u: %s", i, nipc_error_name(err));
        CHECK(it.pid == pids[i], "apps lookup item %u: pid not echoed", i);
        if (it.pid % 2 == 0) {
            char comm[16], cpath[32], cname[32], ptext[16];
            int cl = sprintf(comm, "p%u", it.pid % 1000), pl = sprintf(cpath, "/apps/%u", it.pid),
                nl = sprintf(cname, "app%u", it.pid), tl = sprintf(ptext, "%u", it.pid);
            nipc_label_t l;
            CHECK(it.status == NIPC_APP_KNOWN && it.ppid == it.pid / 2 && it.uid == 1000 &&
                      it.starttime == 10ull * it.pid && it.comm.len == (uint32_t)cl &&
                      !memcmp(it.comm.ptr, comm, (size_t)cl) &&
                      it.cgroup_status == NIPC_APP_CGROUP_KNOWN &&
                      it.orchestrator == NIPC_ORCH_DOCKER && it.cgroup_path.len == (uint32_t)pl &&
                      !memcmp(it.cgroup_path.ptr, cpath, (size_t)pl) &&
                      it.cgroup_name.len == (uint32_t)nl &&
                      !memcmp(it.cgroup_name.ptr, cname, (size_t)nl) && it.labels.count == 1 &&
                      nipc_lookup_label(&it.labels, 0, &l) == NIPC_OK && l.key.len == 3 &&
                      !memcmp(l.key.ptr, "pid", 3) && l.value.len == (uint32_t)tl &&
                      !memcmp(l.value.ptr, ptext, (size_t)tl),
                  "apps lookup item %u: wrong known answer", i);
        } else {
            CHECK(it.status == NIPC_APP_UNKNOWN && it.uid == NIPC_UID_UNSET && it.comm.len == 0,
                  "apps lookup item %u: wrong unknown answer", i);
        }
    }
    free(pids);
}

static void call_round(const char *kind, nipc_client_t *c)
{
    if (!strcmp(kind, "increment"))
        call_increment(c);
    else if (!strcmp(kind, "reverse"))
        call_reverse(c);
    else if (!strcmp(kind, "snapshot"))
        call_snapshot(c);
    else if (!strcmp(kind, "cgroups-lookup"))
        call_cgroups_lookup(c);
    else if (!strcmp(kind, "apps-lookup"))
        call_apps_lookup(c);
    else
        FAIL("unknown kind %s", kind);
}

static int call(const char *kind, const char *dir, const char *service, uint32_t profiles,
                int restart)
{
    nipc_client_config_t cfg = {
        .supported_profiles = profiles,
        .max_request_batch_items = 1000,
        .max_payload_ceiling = 16u << 20,
        /* A bound for a hang, not a speed expectation: a 3000-key lookup is
         * ~50 sub-calls, and under valgrind on a loaded machine both sides
         * run 20-50 times slower (the Rust side uses the same bound). */
        .call_timeout_ms = 120000,
    };
    nipc_client_t *c;
    nipc_error_t err = nipc_client_create(dir, service, &cfg, &c);
    CHECK(err == NIPC_OK, "client create: %s", nipc_error_name(err));
    err = nipc_client_refresh(c);
    CHECK(err == NIPC_OK, "refresh: %s", nipc_error_name(err));
    call_round(kind, c);
    nipc_client_status_t st;
    nipc_client_status(c, &st);
    if (restart) {
        printf("restart\n");
        fflush(stdout);
        char line[64];
        CHECK(fgets(line, sizeof line, stdin), "no go-ahead after the restart");
        call_round(kind, c); /* the first call reconnects by itself (at-least-once retry) */
        nipc_client_status(c, &st);
        CHECK(st.reconnect_count >= 1, "no reconnect after the server restarted");
    }
    printf("ok %s 0x%x\n", kind, st.selected_profile);
    nipc_client_free(c);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 5)
        FAIL("usage: serve|call KIND RUN_DIR SERVICE [--shm] [--items N] [--restart]");
    uint32_t profiles = NIPC_PROFILE_BASELINE;
    int restart = 0;
    for (int i = 5; i < argc; i++) {
        if (!strcmp(argv[i], "--shm"))
            profiles |= NIPC_PROFILE_SHM_HYBRID;
        else if (!strcmp(argv[i], "--items") && i + 1 < argc)
            g_items = (uint32_t)strtoul(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--restart"))
            restart = 1;
        else
            FAIL("unknown option %s", argv[i]);
    }
    if (!strcmp(argv[1], "serve"))
        return serve(argv[2], argv[3], argv[4], profiles);
    if (!strcmp(argv[1], "call"))
        return call(argv[2], argv[3], argv[4], profiles, restart);
    FAIL("unknown role %s", argv[1]);
}
