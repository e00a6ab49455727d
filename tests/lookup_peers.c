/*
 * Lookup providers for the interop suite (see lookup_peers.h): the managed
 * cgroups-lookup and apps-lookup servers with scripted models, a Level 1
 * server that sends malformed lookup responses on purpose, and a hand-
 * written baseline server that agrees to less than the client proposed.
 * Everything here runs in a separate process started by the test.
 */
#include "lookup_peers.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "netipc/service.h"
#include "netipc/transport.h"
#include "platform/platform.h"
#include "transport/transport_internal.h"

/* A provider whose test died must not linger. */
#define PEER_LIFETIME_MS 90000u

/* ------------------------------------------------------------------ models */

static char big[LP_BIG_MAX];

static const char *big_bytes(void)
{
    if (big[0] != 'b') /* first use happens before any thread starts */
        memset(big, 'b', sizeof big);
    return big;
}

static int has_prefix(nipc_str_t s, const char *p)
{
    size_t n = strlen(p);
    return s.len >= n && memcmp(s.ptr, p, n) == 0;
}

/* The number after a prefix; keys on the wire and the test's keys are NUL-terminated. */
static unsigned long number_after(nipc_str_t s, size_t prefix)
{
    return strtoul(s.ptr + prefix, NULL, 10);
}

void lp_cg_model(nipc_str_t key, lp_cg_answer_t *a)
{
    memset(a, 0, sizeof *a);
    a->name.ptr = "";
    if (has_prefix(key, "/known/")) {
        unsigned long n = number_after(key, 7);
        a->status = NIPC_CGROUP_KNOWN;
        a->orch = (uint16_t)(n % 8);
        snprintf(a->buf[0], sizeof a->buf[0], "ct-%lu", n);
        snprintf(a->buf[1], sizeof a->buf[1], "%lu", n);
        a->name.ptr = a->buf[0];
        a->name.len = (uint32_t)strlen(a->buf[0]);
        a->labels[0] = (nipc_label_t){{"idx", 3}, {a->buf[1], (uint32_t)strlen(a->buf[1])}};
        a->labels[1] = (nipc_label_t){{"kind", 4}, {"known", 5}};
        a->nlabels = 2;
    } else if (has_prefix(key, "/retry/")) {
        a->status = NIPC_CGROUP_UNKNOWN_RETRY_LATER;
    } else if (has_prefix(key, "/big/")) {
        unsigned long n = number_after(key, 5);
        a->status = NIPC_CGROUP_KNOWN;
        a->name.ptr = big_bytes();
        a->name.len = (uint32_t)(n < LP_BIG_MAX ? n : LP_BIG_MAX);
    } else {
        a->status = NIPC_CGROUP_UNKNOWN_PERMANENT;
    }
}

static nipc_str_t put_str(char *buf, size_t cap, const char *fmt, uint32_t v)
{
    snprintf(buf, cap, fmt, v);
    nipc_str_t s = {buf, (uint32_t)strlen(buf)};
    return s;
}

void lp_app_model(uint32_t pid, lp_app_answer_t *a)
{
    memset(a, 0, sizeof *a);
    nipc_apps_lookup_item_t *it = &a->item;
    static const nipc_str_t empty = {"", 0};
    it->pid = pid;
    it->uid = NIPC_UID_UNSET;
    it->comm = it->cgroup_path = it->cgroup_name = empty;
    if (pid >= LP_HUGE_PID) {
        uint32_t n = pid - LP_HUGE_PID;
        it->status = NIPC_APP_KNOWN;
        it->cgroup_status = NIPC_APP_CGROUP_KNOWN;
        it->comm = (nipc_str_t){"huge", 4};
        it->cgroup_path = (nipc_str_t){big_bytes(), n < LP_BIG_MAX ? n : LP_BIG_MAX};
        it->uid = 0;
        return;
    }
    if (pid % 7 == 0) {
        it->status = NIPC_APP_UNKNOWN; /* the minimal item */
        return;
    }
    it->status = NIPC_APP_KNOWN;
    it->ppid = pid / 2;
    it->uid = pid % 65536;
    it->starttime = (uint64_t)pid * 1000u;
    it->comm = put_str(a->buf[0], 16, "proc-%u", pid); /* at most 15 bytes */
    switch (pid % 7) {
    case 1:
        it->cgroup_status = NIPC_APP_CGROUP_HOST_ROOT;
        break;
    case 2:
        it->cgroup_status = NIPC_APP_CGROUP_UNKNOWN_RETRY_LATER;
        it->cgroup_path = put_str(a->buf[1], sizeof a->buf[1], "/pending/%u", pid);
        break;
    case 3:
        it->cgroup_status = NIPC_APP_CGROUP_UNKNOWN_PERMANENT;
        it->cgroup_path = put_str(a->buf[1], sizeof a->buf[1], "/gone/%u", pid);
        break;
    default:
        it->cgroup_status = NIPC_APP_CGROUP_KNOWN;
        it->orchestrator = NIPC_ORCH_DOCKER;
        it->cgroup_path = put_str(a->buf[1], sizeof a->buf[1], "/docker/%u", pid);
        it->cgroup_name = put_str(a->buf[2], sizeof a->buf[2], "ct-%u", pid);
        a->labels[0].key = (nipc_str_t){"pid", 3};
        a->labels[0].value = put_str(a->buf[3], sizeof a->buf[3], "%u", pid);
        a->labels[1].key = (nipc_str_t){"image", 5};
        a->labels[1].value = put_str(a->buf[4], sizeof a->buf[4], "img:%u", pid % 100);
        it->labels.count = 2;
        break;
    }
}

/* ------------------------------------------------------------- peer state */

static struct {
    const char *ctl;
    uint64_t born_ms;
    uint64_t gen;
    unsigned flip;
    uint32_t delay_ms;
    atomic_uint calls;
} P;

static int stop_requested(void)
{
    return t_file_exists(P.ctl, "stop") || nipc__now_ms() > P.born_ms + PEER_LIFETIME_MS;
}

static const char *opt(int argc, char **argv, const char *key, const char *def)
{
    size_t k = strlen(key);
    for (int i = 0; i < argc; i++)
        if (strncmp(argv[i], key, k) == 0 && argv[i][k] == '=')
            return argv[i] + k + 1;
    return def;
}

static uint32_t opt_u32(int argc, char **argv, const char *key, uint32_t def)
{
    const char *v = opt(argc, argv, key, NULL);
    return v ? (uint32_t)strtoul(v, NULL, 0) : def;
}

/* ------------------------------------------------------ managed providers */

/* Counts the call and returns the generation it answers with. */
static uint64_t begin_call(void)
{
    unsigned n = atomic_fetch_add(&P.calls, 1) + 1;
    if (P.delay_ms)
        nipc__sleep_ms(P.delay_ms);
    return P.gen + (P.flip && n > P.flip ? 1u : 0u);
}

static nipc_error_t cg_handler(void *ctx, const nipc_cgroups_lookup_req_t *req,
                               nipc_cgroups_lookup_builder_t *b)
{
    (void)ctx;
    nipc_cgroups_lookup_builder_set_generation(b, begin_call());
    uint32_t n = req->item_count;
    nipc_str_t first = {"", 0};
    if (n)
        nipc_cgroups_lookup_req_key(req, 0, &first);
    if (has_prefix(first, "/bug/fail"))
        return NIPC_ERR_HANDLER_FAILED;
    uint32_t adds = n;
    if (has_prefix(first, "/bug/count") && n)
        adds = n - 1;
    if (has_prefix(first, "/bug/extra"))
        adds = n + 1;
    for (uint32_t i = 0; i < adds; i++) {
        nipc_str_t key;
        nipc_cgroups_lookup_req_key(req, i < n ? i : n - 1, &key);
        lp_cg_answer_t a;
        lp_cg_model(key, &a);
        nipc_cgroups_lookup_item_t it = {
            .status = a.status,
            .orchestrator = a.orch,
            .path = key,
            .name = a.name,
            .labels = {.count = a.nlabels},
        };
        if (i == 0 && has_prefix(first, "/bug/nul")) {
            it.status = NIPC_CGROUP_KNOWN;
            it.name = (nipc_str_t){"a\0b", 3};
        }
        nipc_cgroups_lookup_builder_add(b, &it, a.labels); /* the builder keeps the verdict */
    }
    return NIPC_OK;
}

static nipc_error_t app_handler(void *ctx, const nipc_apps_lookup_req_t *req,
                                nipc_apps_lookup_builder_t *b)
{
    (void)ctx;
    nipc_apps_lookup_builder_set_generation(b, begin_call());
    for (uint32_t i = 0; i < req->item_count; i++) {
        uint32_t pid = 0;
        nipc_apps_lookup_req_pid(req, i, &pid);
        lp_app_answer_t a;
        lp_app_model(pid, &a);
        nipc_apps_lookup_builder_add(b, &a.item, a.labels);
    }
    return NIPC_OK;
}

static int managed_peer(const char *kind, const char *run, int argc, char **argv)
{
    nipc_server_config_t cfg = {
        .supported_profiles = opt_u32(argc, argv, "prof", NIPC_PROFILE_BASELINE),
        .max_request_payload_bytes = opt_u32(argc, argv, "req", 0),
        .max_response_payload_bytes = opt_u32(argc, argv, "resp", 0),
        .exact_profiles = 1, /* the suite's profile, as given */
    };
    P.gen = opt_u32(argc, argv, "gen", 1);
    P.flip = opt_u32(argc, argv, "flip", 0);
    P.delay_ms = opt_u32(argc, argv, "delay", 0);
    nipc_server_t *srv = NULL;
    nipc_error_t err =
        strcmp(kind, "cg") == 0
            ? nipc_server_create_cgroups_lookup(run, LP_SERVICE, &cfg, cg_handler, NULL, &srv)
            : nipc_server_create_apps_lookup(run, LP_SERVICE, &cfg, app_handler, NULL, &srv);
    if (err == NIPC_OK)
        err = nipc_server_start(srv);
    if (err != NIPC_OK) {
        fprintf(stderr, "peer %s: %s\n", kind, nipc_error_name(err));
        return 2;
    }
    t_file_publish(P.ctl, "ready", "1\n");
    while (!stop_requested())
        nipc__sleep_ms(20);
    int in_time = nipc_server_join(srv, 3000) == NIPC_OK;
    nipc_server_destroy(srv);
    return in_time ? 0 : 4;
}

/* ------------------------------------------------ malformed responses (L1) */

/* Builds the wrong answer of `mode` for a decoded request into out. */
static nipc_error_t raw_answer(const char *mode, const nipc_message_t *msg, unsigned serial,
                               uint8_t *out, size_t cap, size_t *len)
{
    int count = strcmp(mode, "count") == 0, echo = strcmp(mode, "echo") == 0;
    int after_pe = strcmp(mode, "after_pe") == 0, first_pe = strcmp(mode, "first_pe") == 0;
    uint64_t gen = strcmp(mode, "gen") == 0 ? serial : 7;
    if (msg->header.code == NIPC_METHOD_APPS_LOOKUP) {
        nipc_apps_lookup_req_t req;
        nipc_error_t err = nipc_apps_lookup_req_decode(msg->payload, msg->header.payload_len, &req);
        if (err != NIPC_OK)
            return err;
        uint32_t n = count && req.item_count ? req.item_count - 1 : req.item_count;
        nipc_apps_lookup_builder_t b;
        nipc_apps_lookup_builder_init(&b, out, cap, n, gen);
        for (uint32_t i = 0; i < n; i++) {
            nipc_apps_lookup_item_t it = {.status = NIPC_APP_UNKNOWN,
                                          .uid = NIPC_UID_UNSET,
                                          .comm = {"", 0},
                                          .cgroup_path = {"", 0},
                                          .cgroup_name = {"", 0}};
            nipc_apps_lookup_req_pid(&req, i, &it.pid);
            if (echo && i == n / 2)
                it.pid++;
            if ((after_pe && i == 1) || first_pe)
                it.status = NIPC_APP_PAYLOAD_EXCEEDED;
            nipc_apps_lookup_builder_add(&b, &it, NULL);
        }
        return nipc_apps_lookup_builder_finish(&b, len);
    }
    nipc_cgroups_lookup_req_t req;
    nipc_error_t err = nipc_cgroups_lookup_req_decode(msg->payload, msg->header.payload_len, &req);
    if (err != NIPC_OK)
        return err;
    uint32_t n = count && req.item_count ? req.item_count - 1 : req.item_count;
    nipc_cgroups_lookup_builder_t b;
    nipc_cgroups_lookup_builder_init(&b, out, cap, n, gen);
    for (uint32_t i = 0; i < n; i++) {
        nipc_cgroups_lookup_item_t it = {.status = NIPC_CGROUP_UNKNOWN_PERMANENT, .name = {"", 0}};
        nipc_cgroups_lookup_req_key(&req, i, &it.path);
        if (echo && i == n / 2 && it.path.len > 1)
            it.path.len--; /* a prefix of the key: well-formed, not the key */
        if ((after_pe && i == 1) || first_pe)
            it.status = NIPC_CGROUP_PAYLOAD_EXCEEDED;
        nipc_cgroups_lookup_builder_add(&b, &it, NULL);
    }
    return nipc_cgroups_lookup_builder_finish(&b, len);
}

static int raw_peer(const char *run, int argc, char **argv)
{
    nipc_transport_config_t cfg = {
        .supported_profiles = opt_u32(argc, argv, "prof", NIPC_PROFILE_BASELINE),
        .max_request_payload_bytes = 1u << 20,
        .max_response_payload_bytes = 65536,
        .handshake_timeout_ms = 2000,
        .exact_profiles = 1,
    };
    const char *mode = opt(argc, argv, "mode", "count");
    static uint8_t out[65536];
    nipc_listener_t *l = NULL;
    if (nipc_listener_create(run, LP_SERVICE, &cfg, &l) != NIPC_OK)
        return 2;
    t_file_publish(P.ctl, "ready", "1\n");
    uint64_t sid = 1;
    unsigned serial = 0;
    while (!stop_requested()) {
        nipc_pending_t *p = NULL;
        nipc_session_t *s = NULL;
        if (nipc_listener_accept(l, 100, &p) != NIPC_OK)
            continue;
        if (nipc_pending_accept(p, &cfg, sid++, &s) != NIPC_OK)
            continue;
        for (;;) {
            nipc_message_t msg;
            nipc_error_t err = nipc_session_receive(s, &msg, 100, NULL);
            if (err == NIPC_ERR_TIMEOUT && !stop_requested())
                continue;
            if (err != NIPC_OK || msg.header.kind != NIPC_KIND_REQUEST)
                break;
            size_t len = 0;
            err = raw_answer(mode, &msg, ++serial, out, sizeof out, &len);
            nipc_header_t h =
                nipc_header_make(NIPC_KIND_RESPONSE, msg.header.code, 0,
                                 err == NIPC_OK ? NIPC_STATUS_OK : NIPC_STATUS_BAD_ENVELOPE, 0, 1,
                                 msg.header.message_id);
            if (nipc_session_send(s, &h, out, err == NIPC_OK ? len : 0, 1000, NULL) != NIPC_OK)
                break;
        }
        nipc_session_close(s);
    }
    nipc_listener_free(l);
    return 0;
}

/* ------------------------------------------- a server that agrees to less */

/* HELLO → HELLO_ACK agreeing to `agreed` request bytes (0: the proposal). */
static int nego_handshake(nipc__conn_t *conn, uint32_t agreed, uint64_t sid, uint8_t *buf,
                          size_t cap)
{
    size_t got = 0;
    nipc_header_t h;
    nipc_hello_t hello;
    uint64_t deadline = nipc__now_ms() + 3000;
    if (nipc__conn_recv(conn, buf, cap, NULL, 0, &got, 1, deadline, NULL) != NIPC_OK ||
        nipc_header_decode(buf, got, &h) != NIPC_OK || got < NIPC_HEADER_SIZE ||
        nipc_hello_decode(buf + NIPC_HEADER_SIZE, got - NIPC_HEADER_SIZE, &hello) != NIPC_OK)
        return 0;
    nipc_hello_ack_t ack = {
        .layout_version = NIPC_LAYOUT_VERSION,
        .server_supported_profiles = NIPC_PROFILE_BASELINE,
        .intersection_profiles = NIPC_PROFILE_BASELINE,
        .selected_profile = NIPC_PROFILE_BASELINE,
        .agreed_max_request_payload_bytes = agreed ? agreed : hello.max_request_payload_bytes,
        .agreed_max_request_batch_items = hello.max_request_batch_items,
        .agreed_max_response_payload_bytes = 65536,
        .agreed_max_response_batch_items = hello.max_request_batch_items,
        .agreed_packet_size = hello.packet_size < 65536 ? hello.packet_size : 65536,
        .session_id = sid,
    };
    nipc_header_t ah = nipc_header_make(NIPC_KIND_CONTROL, NIPC_CONTROL_HELLO_ACK, 0,
                                        NIPC_STATUS_OK, NIPC_HELLO_ACK_SIZE, 1, 0);
    nipc_header_encode(&ah, buf);
    nipc_hello_ack_encode(&ack, buf + NIPC_HEADER_SIZE);
    return nipc__conn_send(conn, buf, NIPC_HEADER_SIZE + NIPC_HELLO_ACK_SIZE, NULL, 0, deadline,
                           NULL) == NIPC_OK;
}

/* Answers unchunked lookup requests with "unknown" for every key. */
static void nego_serve(nipc__conn_t *conn, uint8_t *buf, size_t cap, uint8_t *out, size_t out_cap)
{
    while (!stop_requested()) {
        size_t got = 0;
        nipc_error_t err =
            nipc__conn_recv(conn, buf, cap, NULL, 0, &got, 1, nipc__now_ms() + 100, NULL);
        if (err == NIPC_ERR_TIMEOUT)
            continue;
        nipc_header_t h;
        if (err != NIPC_OK || nipc_header_decode(buf, got, &h) != NIPC_OK ||
            h.payload_len != got - NIPC_HEADER_SIZE)
            return;
        nipc_message_t msg = {h, buf + NIPC_HEADER_SIZE};
        size_t len = 0;
        if (raw_answer("none", &msg, 0, out, out_cap, &len) != NIPC_OK)
            return;
        nipc_header_t rh = nipc_header_make(NIPC_KIND_RESPONSE, h.code, 0, NIPC_STATUS_OK,
                                            (uint32_t)len, 1, h.message_id);
        uint8_t hdr[NIPC_HEADER_SIZE];
        nipc_header_encode(&rh, hdr);
        if (nipc__conn_send(conn, hdr, sizeof hdr, out, len, nipc__now_ms() + 1000, NULL) !=
            NIPC_OK)
            return;
    }
}

static int nego_peer(const char *run, int argc, char **argv)
{
    uint32_t first = opt_u32(argc, argv, "first", 64), then = opt_u32(argc, argv, "then", 0);
    nipc_transport_config_t cfg = {.supported_profiles = NIPC_PROFILE_BASELINE};
    static uint8_t buf[NIPC_HEADER_SIZE + 65536], out[65536];
    nipc_listener_t *l = NULL;
    if (nipc_listener_create(run, LP_SERVICE, &cfg, &l) != NIPC_OK)
        return 2;
    t_file_publish(P.ctl, "ready", "1\n");
    uint64_t sid = 1;
    while (!stop_requested()) {
        nipc_pending_t *p = NULL;
        if (nipc_listener_accept(l, 100, &p) != NIPC_OK)
            continue;
        if (nego_handshake(p->conn, sid == 1 ? first : then, sid, buf, sizeof buf))
            nego_serve(p->conn, buf, sizeof buf, out, sizeof out);
        sid++;
        nipc_pending_free(p);
    }
    nipc_listener_free(l);
    return 0;
}

int lp_peer_main(int argc, char **argv)
{
    if (argc < 3)
        return 2;
    P.ctl = argv[2];
    P.born_ms = nipc__now_ms();
    atomic_init(&P.calls, 0);
    big_bytes();
    const char *kind = argv[0], *run = argv[1];
    if (strcmp(kind, "cg") == 0 || strcmp(kind, "app") == 0)
        return managed_peer(kind, run, argc - 3, argv + 3);
    if (strcmp(kind, "raw") == 0)
        return raw_peer(run, argc - 3, argv + 3);
    if (strcmp(kind, "nego") == 0)
        return nego_peer(run, argc - 3, argv + 3);
    return 2;
}

/* -------------------------------------------------------------- test side */

t_proc_t *lp_start(const char *run, const char *ctl, const char *kind, const char *const opts[])
{
    t_file_remove(ctl, "ready");
    t_file_remove(ctl, "stop");
    const char *args[32] = {"peer", kind, run, ctl};
    size_t n = 4;
    for (size_t i = 0; opts && opts[i] && n < 31; i++)
        args[n++] = opts[i];
    args[n] = NULL;
    t_proc_t *p = t_spawn(args);
    if (!p)
        return NULL;
    /* Generous: a provider that cannot start exits, which is noticed at once. */
    unsigned long long end = t_now_ms() + T_MS(20000);
    while (!t_file_exists(ctl, "ready")) {
        int code;
        if (t_wait(p, 0, &code)) {
            fprintf(stderr, "peer %s exited early with %d\n", kind, code);
            return NULL;
        }
        if (t_now_ms() > end) {
            t_kill(p);
            return NULL;
        }
        t_sleep_ms(2);
    }
    return p;
}

int lp_stop(t_proc_t *p, const char *ctl)
{
    if (!p)
        return -1;
    t_file_publish(ctl, "stop", "1\n");
    int code = -1;
    if (!t_wait(p, 10000, &code)) {
        t_kill(p);
        return -1;
    }
    t_file_remove(ctl, "stop");
    return code;
}
