/*
 * The C side of the cross-language matrix (go/interop): a small program
 * that serves or calls one service kind through the public C API only
 * (include/netipc/), so the Go implementation is tested against exactly
 * what a C provider or consumer would do.
 *
 *   netipc_c_peer serve DIR SERVICE KIND [options]
 *       prints READY, serves until its standard input reaches EOF, then
 *       stops, joins and exits 0.
 *   netipc_c_peer call DIR SERVICE KIND [options]
 *       runs the scenario and its checks, prints PASS/FAIL lines, exits 0
 *       only if every check passed.
 *
 * KIND: increment, string-reverse, cgroups-snapshot, cgroups-lookup,
 * apps-lookup. Options: --profiles N, --token N, --req N, --resp N,
 * --batch N, --items N, --sessions N, --scenario basic|pipeline|chunked|auth|restart.
 *
 * The data is deterministic and the Go side computes the same (go/interop
 * /data.go): a snapshot item i is cg-<i>; a lookup path answers KNOWN with
 * its last component as name and one label k=<path> (UNKNOWN_PERMANENT for
 * paths under /gone); a pid answers p<pid> (UNKNOWN when pid % 7 == 0).
 * It deliberately avoids POSIX and Win32 calls so it builds on both.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "netipc/netipc.h"

typedef struct opts {
    uint32_t profiles, token_set, req, resp, batch, items, sessions;
    uint64_t token;
    const char *scenario;
} opts_t;

static opts_t o = {.profiles = 1, .items = 100, .scenario = "basic"};
static int failures;

static void check(int ok, const char *what, nipc_error_t err)
{
    if (ok) {
        printf("PASS %s\n", what);
    } else {
        printf("FAIL %s: %s\n", what, nipc_error_name(err));
        failures++;
    }
    fflush(stdout);
}

/* ---------------------------------------------------------------- data */


static nipc_error_t on_increment(void *ctx, uint64_t v, uint64_t *out)
{
    (void)ctx;
    *out = v + 1;
    return NIPC_OK;
}

static nipc_error_t on_reverse(void *ctx, nipc_str_t in, char *out, uint32_t cap, uint32_t *len)
{
    (void)ctx;
    if (in.len > cap)
        return NIPC_ERR_BUFFER_TOO_SMALL;
    for (uint32_t i = 0; i < in.len; i++)
        out[in.len - 1 - i] = in.ptr[i];
    *len = in.len;
    return NIPC_OK;
}

static nipc_error_t on_snapshot(void *ctx, void *buf, size_t cap, size_t *len)
{
    (void)ctx;
    nipc_cgroups_builder_t b;
    nipc_cgroups_builder_init(&b, buf, cap, o.items, 1, 77);
    char name[32], path[64];
    for (uint32_t i = 0; i < o.items; i++) {
        int n = snprintf(name, sizeof name, "cg-%u", i);
        int p = snprintf(path, sizeof path, "/sys/fs/cgroup/cg-%u", i);
        nipc_cgroups_builder_add(&b, nipc_djb2(name, (size_t)n), i, i % 2, name, (uint32_t)n, path,
                                 (uint32_t)p);
    }
    return nipc_cgroups_builder_finish(&b, len);
}

static nipc_str_t last_component(nipc_str_t p)
{
    uint32_t i = p.len;
    while (i > 0 && p.ptr[i - 1] != '/')
        i--;
    nipc_str_t s = {p.ptr + i, p.len - i};
    return s;
}

static int is_gone(nipc_str_t p)
{
    return p.len >= 5 && memcmp(p.ptr, "/gone", 5) == 0;
}

static nipc_error_t on_cgroups_lookup(void *ctx, const nipc_cgroups_lookup_req_t *req,
                                      nipc_cgroups_lookup_builder_t *b)
{
    (void)ctx;
    nipc_cgroups_lookup_builder_set_generation(b, 5);
    for (uint32_t i = 0; i < req->item_count; i++) {
        nipc_str_t key;
        nipc_cgroups_lookup_req_key(req, i, &key);
        nipc_cgroups_lookup_item_t it;
        memset(&it, 0, sizeof it);
        it.path = key;
        it.name.ptr = "";
        nipc_label_t label = {{"k", 1}, key};
        if (is_gone(key)) {
            it.status = NIPC_CGROUP_UNKNOWN_PERMANENT;
        } else {
            it.status = NIPC_CGROUP_KNOWN;
            it.orchestrator = NIPC_ORCH_DOCKER;
            it.name = last_component(key);
            it.labels.count = 1;
        }
        nipc_cgroups_lookup_builder_add(b, &it, &label);
    }
    return NIPC_OK;
}

static nipc_error_t on_apps_lookup(void *ctx, const nipc_apps_lookup_req_t *req,
                                   nipc_apps_lookup_builder_t *b)
{
    (void)ctx;
    nipc_apps_lookup_builder_set_generation(b, 6);
    for (uint32_t i = 0; i < req->item_count; i++) {
        uint32_t pid;
        nipc_apps_lookup_req_pid(req, i, &pid);
        char comm[16];
        int n = snprintf(comm, sizeof comm, "p%u", pid);
        nipc_apps_lookup_item_t it;
        memset(&it, 0, sizeof it);
        it.pid = pid;
        it.comm.ptr = it.cgroup_path.ptr = it.cgroup_name.ptr = "";
        if (pid % 7 == 0) {
            it.status = NIPC_APP_UNKNOWN;
            it.uid = NIPC_UID_UNSET;
        } else {
            it.status = NIPC_APP_KNOWN;
            it.ppid = 1;
            it.uid = 1000;
            it.starttime = (uint64_t)pid * 10u;
            it.comm.ptr = comm;
            it.comm.len = (uint32_t)n;
            it.cgroup_path.ptr = "/a/b";
            it.cgroup_path.len = 4;
            it.cgroup_name.ptr = "b";
            it.cgroup_name.len = 1;
        }
        nipc_apps_lookup_builder_add(b, &it, NULL);
    }
    return NIPC_OK;
}

/* --------------------------------------------------------------- serve */

static int serve(const char *dir, const char *service, const char *kind)
{
    nipc_server_config_t cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.supported_profiles = o.profiles;
    cfg.max_request_payload_bytes = o.req;
    cfg.max_request_batch_items = o.batch;
    cfg.max_response_payload_bytes = o.resp;
    cfg.auth_token = o.token;
    cfg.max_sessions = o.sessions;
    nipc_server_t *s = NULL;
    nipc_error_t err;
    if (strcmp(kind, "increment") == 0)
        err = nipc_server_create_increment(dir, service, &cfg, on_increment, NULL, &s);
    else if (strcmp(kind, "string-reverse") == 0)
        err = nipc_server_create_string_reverse(dir, service, &cfg, on_reverse, NULL, &s);
    else if (strcmp(kind, "cgroups-snapshot") == 0)
        err = nipc_server_create_cgroups_snapshot(dir, service, &cfg, on_snapshot, NULL, &s);
    else if (strcmp(kind, "cgroups-lookup") == 0)
        err = nipc_server_create_cgroups_lookup(dir, service, &cfg, on_cgroups_lookup, NULL, &s);
    else if (strcmp(kind, "apps-lookup") == 0)
        err = nipc_server_create_apps_lookup(dir, service, &cfg, on_apps_lookup, NULL, &s);
    else
        err = NIPC_ERR_INVALID_ARGUMENT;
    if (err == NIPC_OK)
        err = nipc_server_start(s);
    if (err != NIPC_OK) {
        printf("ERROR %s\n", nipc_error_name(err));
        return 1;
    }
    printf("READY\n");
    fflush(stdout);
    while (getchar() != EOF)
        ;
    nipc_server_stop(s);
    (void)nipc_server_join(s, 5000); /* TIMEOUT: sessions still running; the exit ends them */
    nipc_server_destroy(s);
    return 0;
}

/* ---------------------------------------------------------------- call */

static nipc_client_t *client_for(const char *dir, const char *service)
{
    nipc_client_config_t cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.supported_profiles = o.profiles;
    cfg.max_request_payload_bytes = o.req;
    cfg.max_request_batch_items = o.batch;
    cfg.max_response_payload_bytes = o.resp;
    cfg.auth_token = o.token;
    cfg.call_timeout_ms = 20000;
    nipc_client_t *c = NULL;
    if (nipc_client_create(dir, service, &cfg, &c) != NIPC_OK)
        return NULL;
    /* A failed connect surfaces as the first call's NOT_READY, which the
     * matrix reads; the call names the error either way. */
    (void)nipc_client_refresh(c);
    return c;
}

static void call_increment(nipc_client_t *c)
{
    nipc_error_t err = NIPC_OK;
    int ok = 1;
    for (uint64_t i = 0; i < 100 && ok; i++) {
        uint64_t v = 0;
        err = nipc_client_increment(c, i * 1000, &v, 0);
        ok = err == NIPC_OK && v == i * 1000 + 1;
    }
    check(ok, "increment x100", err);
    if (o.batch > 1) {
        uint64_t *in = calloc(o.batch, 8), *out = calloc(o.batch, 8);
        for (uint32_t i = 0; i < o.batch; i++)
            in[i] = (uint64_t)i * 3u;
        err = nipc_client_increment_batch(c, in, o.batch, out, 0);
        ok = err == NIPC_OK;
        for (uint32_t i = 0; ok && i < o.batch; i++)
            ok = out[i] == in[i] + 1;
        check(ok, "increment batch", err);
        free(in);
        free(out);
    }
}

static void call_reverse(nipc_client_t *c)
{
    static const uint32_t sizes[] = {0, 1, 5000, 300000};
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        uint32_t n = sizes[k];
        char *in = malloc(n + 1);
        for (uint32_t i = 0; i < n; i++)
            in[i] = (char)('a' + i % 26);
        nipc_str_t out;
        nipc_error_t err = nipc_client_string_reverse(c, in, n, &out, 0);
        int ok = err == NIPC_OK && out.len == n;
        for (uint32_t i = 0; ok && i < n; i++)
            ok = out.ptr[n - 1 - i] == in[i];
        char what[64];
        snprintf(what, sizeof what, "string-reverse %u bytes", n);
        check(ok, what, err);
        free(in);
    }
}

static void call_snapshot(nipc_client_t *c)
{
    nipc_cgroups_view_t v;
    nipc_error_t err = nipc_client_cgroups_snapshot(c, &v, 0);
    int ok = err == NIPC_OK && v.item_count == o.items && v.generation == 77 && v.systemd_enabled == 1;
    for (uint32_t i = 0; ok && i < v.item_count; i++) {
        nipc_cgroup_item_t it;
        char name[32], path[64];
        int n = snprintf(name, sizeof name, "cg-%u", i);
        int p = snprintf(path, sizeof path, "/sys/fs/cgroup/cg-%u", i);
        ok = nipc_cgroups_resp_item(&v, i, &it) == NIPC_OK && it.name.len == (uint32_t)n &&
             memcmp(it.name.ptr, name, (size_t)n) == 0 && it.path.len == (uint32_t)p &&
             memcmp(it.path.ptr, path, (size_t)p) == 0 && it.hash == nipc_djb2(name, (size_t)n) &&
             it.options == i && it.enabled == i % 2;
    }
    check(ok, "cgroups-snapshot items", err);
}

static void call_cgroups_lookup(nipc_client_t *c)
{
    uint32_t n = o.items;
    nipc_str_t *paths = calloc(n, sizeof *paths);
    char **bufs = calloc(n, sizeof *bufs);
    for (uint32_t i = 0; i < n; i++) {
        bufs[i] = malloc(64);
        int len = snprintf(bufs[i], 64, i % 10 == 3 ? "/gone/unit-%u" : "/system.slice/unit-%u.service", i);
        paths[i].ptr = bufs[i];
        paths[i].len = (uint32_t)len;
    }
    nipc_cgroups_lookup_view_t v;
    nipc_error_t err = nipc_client_cgroups_lookup(c, paths, n, &v, 0);
    int ok = err == NIPC_OK && v.item_count == n && v.generation == 5;
    for (uint32_t i = 0; ok && i < n; i++) {
        nipc_cgroups_lookup_item_t it;
        ok = nipc_cgroups_lookup_resp_item(&v, i, &it) == NIPC_OK && it.path.len == paths[i].len &&
             memcmp(it.path.ptr, paths[i].ptr, it.path.len) == 0;
        if (!ok)
            break;
        if (is_gone(paths[i])) {
            ok = it.status == NIPC_CGROUP_UNKNOWN_PERMANENT;
        } else {
            nipc_str_t name = last_component(paths[i]);
            nipc_label_t l;
            ok = it.status == NIPC_CGROUP_KNOWN && it.orchestrator == NIPC_ORCH_DOCKER &&
                 it.name.len == name.len && memcmp(it.name.ptr, name.ptr, name.len) == 0 &&
                 it.labels.count == 1 && nipc_lookup_label(&it.labels, 0, &l) == NIPC_OK &&
                 l.value.len == paths[i].len;
        }
    }
    check(ok, "cgroups-lookup items", err);
    for (uint32_t i = 0; i < n; i++)
        free(bufs[i]);
    free(bufs);
    free(paths);
}

static void call_apps_lookup(nipc_client_t *c)
{
    uint32_t n = o.items;
    uint32_t *pids = calloc(n, sizeof *pids);
    for (uint32_t i = 0; i < n; i++)
        pids[i] = 1000 + i;
    nipc_apps_lookup_view_t v;
    nipc_error_t err = nipc_client_apps_lookup(c, pids, n, &v, 0);
    int ok = err == NIPC_OK && v.item_count == n && v.generation == 6;
    for (uint32_t i = 0; ok && i < n; i++) {
        nipc_apps_lookup_item_t it;
        ok = nipc_apps_lookup_resp_item(&v, i, &it) == NIPC_OK && it.pid == pids[i];
        if (!ok)
            break;
        if (pids[i] % 7 == 0) {
            ok = it.status == NIPC_APP_UNKNOWN;
        } else {
            char comm[16];
            int len = snprintf(comm, sizeof comm, "p%u", pids[i]);
            ok = it.status == NIPC_APP_KNOWN && it.comm.len == (uint32_t)len &&
                 memcmp(it.comm.ptr, comm, (size_t)len) == 0 && it.starttime == pids[i] * 10ull &&
                 it.uid == 1000 && it.cgroup_path.len == 4;
        }
    }
    check(ok, "apps-lookup items", err);
    free(pids);
}

/* Level 1 pipelining: 16 INCREMENT requests outstanding at once. */
static void call_pipeline(const char *dir, const char *service)
{
    nipc_transport_config_t cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.supported_profiles = NIPC_PROFILE_BASELINE;
    cfg.auth_token = o.token;
    cfg.max_request_payload_bytes = 1024;
    cfg.max_response_payload_bytes = 1024;
    nipc_session_t *s = NULL;
    nipc_error_t err = nipc_session_connect(dir, service, &cfg, &s);
    int ok = err == NIPC_OK;
    for (uint64_t id = 1; ok && id <= 16; id++) {
        uint8_t p[8];
        for (int b = 0; b < 8; b++)
            p[b] = (uint8_t)((id * 100) >> (8 * b));
        nipc_header_t h = nipc_header_make(NIPC_KIND_REQUEST, NIPC_METHOD_INCREMENT, 0, 0, 0, 1, id);
        err = nipc_session_send(s, &h, p, 8, 5000, NULL);
        ok = err == NIPC_OK;
    }
    uint32_t seen = 0;
    for (int i = 0; ok && i < 16; i++) {
        nipc_message_t m;
        err = nipc_session_receive(s, &m, 5000, NULL);
        uint64_t v = 0;
        ok = err == NIPC_OK && m.header.transport_status == 0 && m.header.payload_len >= 8;
        for (int b = 0; ok && b < 8; b++)
            v |= (uint64_t)m.payload[b] << (8 * b);
        ok = ok && m.header.message_id >= 1 && m.header.message_id <= 16 &&
             v == m.header.message_id * 100 + 1 && !(seen & (1u << m.header.message_id));
        if (ok)
            seen |= 1u << m.header.message_id;
    }
    check(ok, "pipeline 16 requests", err);
    nipc_session_close(s);
}

/* Level 1 with a 4 KiB packet: a 100,000-byte STRING_REVERSE goes out in
 * 25 chunks and its answer comes back in as many. */
static void call_chunked(const char *dir, const char *service)
{
    nipc_transport_config_t cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.supported_profiles = NIPC_PROFILE_BASELINE;
    cfg.auth_token = o.token;
    cfg.max_request_payload_bytes = 1u << 20;
    cfg.max_response_payload_bytes = 1u << 20;
    cfg.packet_size = 4096;
    nipc_session_t *s = NULL;
    nipc_error_t err = nipc_session_connect(dir, service, &cfg, &s);
    int ok = err == NIPC_OK && nipc_session_info(s)->packet_size == 4096;
    enum { N = 100000 };
    static char text[N];
    static uint8_t req[N + 9];
    for (uint32_t i = 0; i < N; i++)
        text[i] = (char)('a' + i % 26);
    size_t len = 0;
    if (ok)
        err = nipc_string_reverse_encode(text, N, req, sizeof req, &len);
    if (ok && err == NIPC_OK) {
        nipc_header_t h =
            nipc_header_make(NIPC_KIND_REQUEST, NIPC_METHOD_STRING_REVERSE, 0, 0, 0, 1, 1);
        err = nipc_session_send(s, &h, req, len, 10000, NULL);
    }
    nipc_message_t m;
    if (ok && err == NIPC_OK)
        err = nipc_session_receive(s, &m, 10000, NULL);
    nipc_str_t out;
    ok = ok && err == NIPC_OK && m.header.transport_status == 0 &&
         nipc_string_reverse_decode(m.payload, m.header.payload_len, &out) == NIPC_OK && out.len == N;
    for (uint32_t i = 0; ok && i < N; i++)
        ok = out.ptr[N - 1 - i] == text[i];
    check(ok, "chunked 100000 bytes each way at packet 4096", err);
    nipc_session_close(s);
}

static int call(const char *dir, const char *service, const char *kind)
{
    if (strcmp(o.scenario, "pipeline") == 0) {
        call_pipeline(dir, service);
        return failures != 0;
    }
    if (strcmp(o.scenario, "chunked") == 0) {
        call_chunked(dir, service);
        return failures != 0;
    }
    nipc_client_t *c = client_for(dir, service);
    if (!c) {
        check(0, "client create", NIPC_ERR_NO_MEMORY);
        return 1;
    }
    nipc_client_status_t st;
    nipc_client_status(c, &st);
    if (strcmp(o.scenario, "auth") == 0) {
        check(st.state == NIPC_CLIENT_AUTH_FAILED, "auth mismatch is AUTH_FAILED", st.last_error);
        nipc_client_free(c);
        return failures != 0;
    }
    check(st.state == NIPC_CLIENT_READY, "connect", st.last_error);
    if (st.state == NIPC_CLIENT_READY) {
        printf("PROFILE %u\n", st.selected_profile);
        if (strcmp(o.scenario, "restart") == 0) {
            uint64_t v = 0;
            nipc_error_t err = nipc_client_increment(c, 1, &v, 0);
            check(err == NIPC_OK && v == 2, "call before the restart", err);
            printf("STEP1\n");
            fflush(stdout);
            int ch;
            while ((ch = getchar()) != EOF && ch != '\n')
                ;
            err = nipc_client_increment(c, 2, &v, 0);
            nipc_client_status(c, &st);
            check(err == NIPC_OK && v == 3 && st.reconnect_count >= 1, "call after the restart", err);
        } else if (strcmp(kind, "increment") == 0) {
            call_increment(c);
        } else if (strcmp(kind, "string-reverse") == 0) {
            call_reverse(c);
        } else if (strcmp(kind, "cgroups-snapshot") == 0) {
            call_snapshot(c);
        } else if (strcmp(kind, "cgroups-lookup") == 0) {
            call_cgroups_lookup(c);
        } else if (strcmp(kind, "apps-lookup") == 0) {
            call_apps_lookup(c);
        } else {
            check(0, "kind", NIPC_ERR_INVALID_ARGUMENT);
        }
    }
    nipc_client_free(c);
    return failures != 0;
}

int main(int argc, char **argv)
{
    if (argc < 5) {
        fprintf(stderr, "usage: %s serve|call DIR SERVICE KIND [options]\n", argv[0]);
        return 2;
    }
    for (int i = 5; i + 1 < argc; i += 2) {
        const char *k = argv[i], *v = argv[i + 1];
        uint64_t n = strtoull(v, NULL, 0);
        if (strcmp(k, "--profiles") == 0)
            o.profiles = (uint32_t)n;
        else if (strcmp(k, "--token") == 0)
            o.token = n;
        else if (strcmp(k, "--req") == 0)
            o.req = (uint32_t)n;
        else if (strcmp(k, "--resp") == 0)
            o.resp = (uint32_t)n;
        else if (strcmp(k, "--batch") == 0)
            o.batch = (uint32_t)n;
        else if (strcmp(k, "--items") == 0)
            o.items = (uint32_t)n;
        else if (strcmp(k, "--sessions") == 0)
            o.sessions = (uint32_t)n;
        else if (strcmp(k, "--scenario") == 0)
            o.scenario = v;
        else {
            fprintf(stderr, "unknown option %s\n", k);
            return 2;
        }
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (strcmp(argv[1], "serve") == 0)
        return serve(argv[2], argv[3], argv[4]);
    if (strcmp(argv[1], "call") == 0)
        return call(argv[2], argv[3], argv[4]);
    fprintf(stderr, "unknown command %s\n", argv[1]);
    return 2;
}
