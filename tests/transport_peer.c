/*
 * Peer processes of the Level 1 transport suites: an echo server that
 * handles each session in its own thread (the way a real provider does) and
 * a family of clients, some well behaved, some that die at a chosen point.
 * See transport_peer.h for the commands; results travel as exit codes.
 */
#include "transport_peer.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "netipc/protocol.h"
#include "platform/platform.h"
#include "protocol/handshake.h"
#include "transport/transport_internal.h"

/* --------------------------------------------------------------- failures */

static atomic_int peer_failures;

#define PFAIL(...)                                                                               \
    do {                                                                                         \
        atomic_fetch_add(&peer_failures, 1);                                                     \
        fprintf(stderr, "peer %s:%d: ", __FILE__, __LINE__);                                     \
        fprintf(stderr, __VA_ARGS__);                                                            \
        fputc('\n', stderr);                                                                     \
    } while (0)

/* --------------------------------------------------------------- patterns */

static uint64_t mix(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ull;
    x ^= x >> 33;
    return x;
}

/* One xorshift step per 8 bytes: cheap enough for 16 MiB payloads. */
#define PATTERN_LOOP(BODY)                                                                       \
    uint64_t st = mix(seed) | 1u;                                                                \
    size_t i = 0;                                                                                \
    for (; i < len; i += 8) {                                                                    \
        st ^= st << 13;                                                                          \
        st ^= st >> 7;                                                                           \
        st ^= st << 17;                                                                          \
        size_t n = len - i < 8 ? len - i : 8;                                                    \
        BODY                                                                                     \
    }

void tp_fill(uint8_t *buf, size_t len, uint64_t seed)
{
    PATTERN_LOOP(memcpy(buf + i, &st, n);)
}

int tp_verify(const uint8_t *buf, size_t len, uint64_t seed)
{
    if (len && !buf)
        return 0;
    PATTERN_LOOP(if (memcmp(buf + i, &st, n) != 0) return 0;)
    return 1;
}

uint64_t tp_resp_seed(uint64_t seed)
{
    return ~seed ^ 0x5a5a5a5a5a5a5a5aull;
}

uint64_t tp_item_seed(uint64_t id, uint32_t index)
{
    return id * 1000003ull + index;
}

uint32_t tp_item_len(uint64_t id, uint32_t index)
{
    uint32_t r = (uint32_t)(mix(tp_item_seed(id, index)) % 301u);
    return index % 7u == 3u ? 0u : r; /* empty items too */
}

/* ---------------------------------------------------------- configuration */

void tp_cfg_format(const nipc_transport_config_t *c, char *out, size_t cap)
{
    snprintf(out, cap,
             "sp=%u,pp=%u,req=%u,rb=%u,resp=%u,respb=%u,tok=%llu,pkt=%u,hs=%u,att=%u,mif=%u,ex=%d",
             c->supported_profiles, c->preferred_profiles, c->max_request_payload_bytes,
             c->max_request_batch_items, c->max_response_payload_bytes,
             c->max_response_batch_items, (unsigned long long)c->auth_token, c->packet_size,
             c->handshake_timeout_ms, c->shm_attach_timeout_ms, c->max_in_flight,
             c->exact_profiles);
}

void tp_cfg_parse(const char *s, nipc_transport_config_t *c)
{
    memset(c, 0, sizeof *c);
    while (s && *s) {
        const char *eq = strchr(s, '=');
        if (!eq)
            break;
        size_t klen = (size_t)(eq - s);
        char *end;
        unsigned long long v = strtoull(eq + 1, &end, 10);
#define FIELD(key, dst)                                                                          \
    if (klen == strlen(key) && strncmp(s, key, klen) == 0)                                       \
        dst = (uint32_t)v;
        FIELD("sp", c->supported_profiles)
        FIELD("pp", c->preferred_profiles)
        FIELD("req", c->max_request_payload_bytes)
        FIELD("rb", c->max_request_batch_items)
        FIELD("resp", c->max_response_payload_bytes)
        FIELD("respb", c->max_response_batch_items)
        FIELD("pkt", c->packet_size)
        FIELD("hs", c->handshake_timeout_ms)
        FIELD("att", c->shm_attach_timeout_ms)
        FIELD("mif", c->max_in_flight)
#undef FIELD
        if (klen == 2 && strncmp(s, "ex", 2) == 0)
            c->exact_profiles = v != 0;
        if (klen == 3 && strncmp(s, "tok", 3) == 0)
            c->auth_token = v;
        s = *end == ',' ? end + 1 : end;
    }
}

/* ----------------------------------------------------------------- files */

void tp_touch(const char *path)
{
    FILE *f = fopen(path, "w");
    if (f)
        fclose(f);
}

static int file_exists(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    fclose(f);
    return 1;
}

int tp_wait_file(const char *path, int timeout_ms)
{
    unsigned long long end = t_now_ms() + (unsigned long long)timeout_ms;
    while (!file_exists(path)) {
        if (t_now_ms() >= end)
            return 0;
        t_sleep_ms(1);
    }
    return 1;
}

/* ---------------------------------------------------------- echo server */

#define MAX_DEFERRED 128
#define MAX_SESSIONS 64

static uint32_t ld32(const uint8_t *p, size_t len)
{
    uint32_t v = 0;
    if (len >= 4)
        memcpy(&v, p, 4);
    return v;
}

static nipc_error_t respond(nipc_session_t *s, const nipc_header_t *req, uint64_t id,
                            const void *payload, size_t len, uint16_t flags, uint32_t items)
{
    nipc_header_t h = nipc_header_make(NIPC_KIND_RESPONSE, req->code, flags, NIPC_STATUS_OK, 0,
                                       items, id);
    return nipc_session_send(s, &h, payload, len, 10000, NULL);
}

static nipc_error_t answer_batch(nipc_session_t *s, const nipc_message_t *m, uint8_t *resp,
                                 size_t cap)
{
    const nipc_header_t *h = &m->header;
    uint8_t item_buf[512];
    nipc_batch_builder_t b;
    nipc_batch_builder_init(&b, resp, cap, h->item_count);
    for (uint32_t i = 0; i < h->item_count; i++) {
        const uint8_t *item;
        uint32_t len;
        nipc_error_t err =
            nipc_batch_item(m->payload, h->payload_len, h->item_count, i, &item, &len);
        if (err != NIPC_OK || len != tp_item_len(h->message_id, i) ||
            !tp_verify(item, len, tp_item_seed(h->message_id, i)))
            PFAIL("batch %llu item %u corrupt (%s)", (unsigned long long)h->message_id, i,
                  nipc_error_name(err));
        uint32_t rlen = tp_item_len(h->message_id, i);
        tp_fill(item_buf, rlen, tp_resp_seed(tp_item_seed(h->message_id, i)));
        nipc_batch_builder_add(&b, item_buf, rlen);
    }
    size_t len = 0;
    nipc_error_t err = nipc_batch_builder_finish(&b, &len);
    if (err != NIPC_OK) {
        PFAIL("batch response build: %s", nipc_error_name(err));
        return err;
    }
    return respond(s, h, h->message_id, resp, len, NIPC_FLAG_BATCH, h->item_count);
}

static void serve(nipc_session_t *s)
{
    const nipc_session_info_t *info = nipc_session_info(s);
    size_t cap = info->max_response_payload ? info->max_response_payload : 1;
    uint8_t *resp = malloc(cap);
    struct {
        uint64_t id;
        uint32_t len;
    } deferred[MAX_DEFERRED];
    uint32_t ndeferred = 0;
    nipc_header_t flush_hdr = {0};

    while (resp) {
        nipc_message_t m;
        nipc_error_t err = nipc_session_receive(s, &m, 0, NULL);
        if (err == NIPC_ERR_DISCONNECTED)
            break;
        if (err != NIPC_OK) {
            PFAIL("server receive: %s", nipc_error_name(err));
            break;
        }
        const nipc_header_t *h = &m.header;
        uint32_t plen = h->payload_len;
        uint64_t id = h->message_id;
        if (h->code == TP_ECHO && (h->flags & NIPC_FLAG_BATCH)) {
            err = answer_batch(s, &m, resp, cap);
            if (err != NIPC_OK) {
                PFAIL("server batch send: %s", nipc_error_name(err));
                break;
            }
            continue;
        }
        switch (h->code) {
        case TP_ECHO:
        case TP_DEFER:
        case TP_FLUSH:
            if (!tp_verify(m.payload, plen, id))
                PFAIL("request %llu (%u bytes) corrupt", (unsigned long long)id, plen);
            if (h->code == TP_DEFER) {
                if (ndeferred < MAX_DEFERRED) {
                    deferred[ndeferred].id = id;
                    deferred[ndeferred++].len = plen;
                }
                break;
            }
            tp_fill(resp, plen, tp_resp_seed(id));
            err = respond(s, h, id, resp, plen, 0, 1);
            /* Deferred answers, newest first: the reverse of the send order. */
            flush_hdr = *h;
            while (err == NIPC_OK && h->code == TP_FLUSH && ndeferred) {
                ndeferred--;
                tp_fill(resp, deferred[ndeferred].len, tp_resp_seed(deferred[ndeferred].id));
                flush_hdr.code = TP_DEFER;
                err = respond(s, &flush_hdr, deferred[ndeferred].id, resp,
                              deferred[ndeferred].len, 0, 1);
            }
            break;
        case TP_DELAY:
            t_sleep_ms((int)ld32(m.payload, plen));
            err = respond(s, h, id, NULL, 0, 0, 1);
            break;
        case TP_EXIT:
            t_sleep_ms((int)ld32(m.payload, plen));
            _Exit(0);
        case TP_BAD_ID:
            err = respond(s, h, id + 1, NULL, 0, 0, 1);
            break;
        case TP_PARTIAL: {
            uint32_t n = ld32(m.payload, plen);
            uint8_t *big = malloc(n ? n : 1);
            if (big)
                tp_fill(big, n, 1);
            nipc_header_t rh =
                nipc_header_make(NIPC_KIND_RESPONSE, h->code, 0, 0, 0, 1, h->message_id);
            err = big ? nipc_session_send(s, &rh, big, n, 300, NULL) : NIPC_ERR_NO_MEMORY;
            _Exit(err == NIPC_ERR_TIMEOUT ? 0 : 3);
        }
        case TP_INFO: {
            tp_info_t ti = {
                .is_server = (uint32_t)info->is_server,
                .selected_profile = info->selected_profile,
                .max_request_payload = info->max_request_payload,
                .max_request_batch = info->max_request_batch,
                .max_response_payload = info->max_response_payload,
                .max_response_batch = info->max_response_batch,
                .packet_size = info->packet_size,
                .shm_request_capacity = info->shm_request_capacity,
                .shm_response_capacity = info->shm_response_capacity,
                .session_id_lo = (uint32_t)info->session_id,
                .session_id_hi = (uint32_t)(info->session_id >> 32),
            };
            err = respond(s, h, id, &ti, sizeof ti, 0, 1);
            break;
        }
        default:
            PFAIL("unknown code %u", h->code);
            err = NIPC_ERR_PROTOCOL;
        }
        if (err == NIPC_ERR_DISCONNECTED)
            break; /* the client went away first: its business */
        if (err != NIPC_OK) {
            PFAIL("server send: %s", nipc_error_name(err));
            break;
        }
    }
    free(resp);
    nipc_session_close(s);
}

typedef struct session_job {
    nipc_pending_t *pending;
    nipc_transport_config_t cfg;
    uint64_t session_id;
} session_job_t;

static void session_thread(void *arg)
{
    session_job_t *job = arg;
    nipc_session_t *s = NULL;
    /* Handshake failures are what some tests ask for; the test process
     * checks them from the client side, so they are not failures here. */
    if (nipc_pending_accept(job->pending, &job->cfg, job->session_id, &s) == NIPC_OK)
        serve(s);
}

/* argv: run_dir service ready sessions mode cfg */
static int server_main(int argc, char **argv)
{
    if (argc < 6)
        return 2;
    const char *run_dir = argv[0], *service = argv[1], *ready = argv[2], *mode = argv[4];
    int sessions = atoi(argv[3]);
    if (sessions > MAX_SESSIONS)
        sessions = MAX_SESSIONS;
    nipc_transport_config_t cfg;
    tp_cfg_parse(argv[5], &cfg);

    nipc_listener_t *l = NULL;
    nipc_error_t err = nipc_listener_create(run_dir, service, &cfg, &l);
    if (err != NIPC_OK) {
        fprintf(stderr, "peer server: listener_create: %s\n", nipc_error_name(err));
        return 2;
    }
    tp_touch(ready);

    static session_job_t jobs[MAX_SESSIONS];
    nipc__thread_t *threads[MAX_SESSIONS] = {0};
    int started = 0;
    for (int i = 0; i < sessions; i++) {
        nipc_pending_t *p = NULL;
        err = nipc_listener_accept(l, 20000, &p);
        if (err != NIPC_OK) {
            PFAIL("accept: %s", nipc_error_name(err));
            break;
        }
        if (strcmp(mode, "accept_die") == 0)
            _Exit(0);
        if (strcmp(mode, "hello_die") == 0 || strcmp(mode, "silent") == 0) {
            uint8_t buf[NIPC__HANDSHAKE_BUF];
            size_t got = 0;
            int die = mode[0] == 'h';
            do
                err = nipc__conn_recv(p->conn, buf, sizeof buf, NULL, 0, &got, 1,
                                      nipc__deadline(die ? 5000 : 0), NULL);
            while (!die && err == NIPC_OK);
            if (die)
                _Exit(err == NIPC_OK ? 0 : 3);
            nipc_pending_free(p);
            continue;
        }
        if (strncmp(mode, "reject:", 7) == 0) {
            nipc_pending_reject(p, (uint16_t)atoi(mode + 7), 5000);
            continue;
        }
        jobs[i].pending = p;
        jobs[i].cfg = cfg;
        jobs[i].session_id = (uint64_t)i + 1;
        if (nipc__thread_start(&threads[i], session_thread, &jobs[i]) != NIPC_OK) {
            PFAIL("thread start");
            nipc_pending_free(p);
            break;
        }
        started++;
    }
    for (int i = 0; i < sessions; i++)
        nipc__thread_join(threads[i]);
    (void)started;
    nipc_listener_free(l);
    return atomic_load(&peer_failures) ? TP_EXIT_FAILED : 0;
}

/* ------------------------------------------------------------- clients */

static nipc_error_t echo_once(nipc_session_t *s, uint64_t id, uint8_t *buf, size_t len)
{
    tp_fill(buf, len, id);
    nipc_header_t h = nipc_header_make(NIPC_KIND_REQUEST, TP_ECHO, 0, 0, 0, 1, id);
    nipc_error_t err = nipc_session_send(s, &h, buf, len, 10000, NULL);
    nipc_message_t m;
    if (err == NIPC_OK)
        err = nipc_session_receive(s, &m, 10000, NULL);
    if (err == NIPC_OK && (m.header.message_id != id || m.header.payload_len != len ||
                           !tp_verify(m.payload, len, tp_resp_seed(id))))
        err = NIPC_ERR_BAD_RESPONSE;
    return err;
}

static nipc_error_t raw_hello(nipc__conn_t *conn, const nipc_transport_config_t *cfg)
{
    nipc_hello_t hello = {
        .layout_version = NIPC_LAYOUT_VERSION,
        .supported_profiles = cfg->supported_profiles ? cfg->supported_profiles : 1u,
        .max_request_payload_bytes = 1024,
        .max_request_batch_items = 1,
        .max_response_payload_bytes = 1024,
        .max_response_batch_items = 1,
        .auth_token = cfg->auth_token,
        .packet_size = 65536,
    };
    uint8_t buf[NIPC__HANDSHAKE_BUF];
    nipc__handshake_encode_hello(&hello, buf);
    return nipc__conn_send(conn, buf, NIPC_HEADER_SIZE + NIPC_HELLO_SIZE, NULL, 0,
                           nipc__deadline(5000), NULL);
}

/* argv: run_dir service cfg action */
static int client_main(int argc, char **argv)
{
    if (argc < 4)
        return 2;
    const char *run_dir = argv[0], *service = argv[1], *action = argv[3];
    nipc_transport_config_t cfg;
    tp_cfg_parse(argv[2], &cfg);

    if (strcmp(action, "conn_die") == 0 || strcmp(action, "hello_die") == 0 ||
        strcmp(action, "silent") == 0) {
        nipc__conn_t *conn = NULL;
        nipc_error_t err = nipc__conn_connect(run_dir, service, &conn);
        if (err != NIPC_OK)
            return (int)err;
        if (action[0] == 'c')
            _Exit(0);
        if (action[0] == 'h')
            _Exit(raw_hello(conn, &cfg) == NIPC_OK ? 0 : 3);
        uint8_t buf[NIPC__HANDSHAKE_BUF];
        size_t got;
        do
            err = nipc__conn_recv(conn, buf, sizeof buf, NULL, 0, &got, 1, NIPC__NO_DEADLINE,
                                  NULL);
        while (err == NIPC_OK);
        nipc__conn_close(conn);
        return err == NIPC_ERR_DISCONNECTED ? 0 : TP_EXIT_FAILED;
    }

    nipc_session_t *s = NULL;
    nipc_error_t err = nipc_session_connect(run_dir, service, &cfg, &s);
    if (err != NIPC_OK)
        return (int)err;
    int rc = 0;
    if (strcmp(action, "connect") == 0) {
        rc = 0;
    } else if (strncmp(action, "echo:", 5) == 0) {
        int n = atoi(action + 5);
        const char *c = strchr(action + 5, ':');
        size_t len = c ? (size_t)strtoul(c + 1, NULL, 10) : 0;
        uint8_t *buf = malloc(len ? len : 1);
        for (int i = 0; buf && i < n && rc == 0; i++) {
            err = echo_once(s, (uint64_t)i + 1, buf, len);
            if (err != NIPC_OK) {
                fprintf(stderr, "peer client echo %d: %s\n", i, nipc_error_name(err));
                rc = TP_EXIT_FAILED;
            }
        }
        free(buf);
    } else if (strcmp(action, "idle") == 0) {
        nipc_message_t m;
        err = nipc_session_receive(s, &m, 0, NULL);
        rc = err == NIPC_ERR_DISCONNECTED ? 0 : TP_EXIT_FAILED;
    } else if (strncmp(action, "die_after:", 10) == 0) {
        uint8_t buf[64];
        err = echo_once(s, 1, buf, sizeof buf);
        t_sleep_ms(atoi(action + 10));
        _Exit(err == NIPC_OK ? 0 : TP_EXIT_FAILED);
    } else if (strcmp(action, "send_die") == 0) {
        uint8_t buf[100];
        tp_fill(buf, sizeof buf, 11);
        nipc_header_t h = nipc_header_make(NIPC_KIND_REQUEST, TP_ECHO, 0, 0, 0, 1, 11);
        _Exit(nipc_session_send(s, &h, buf, sizeof buf, 1000, NULL) == NIPC_OK ? 0
                                                                             : TP_EXIT_FAILED);
    } else if (strncmp(action, "partial:", 8) == 0) {
        size_t len = (size_t)strtoul(action + 8, NULL, 10);
        uint8_t *buf = malloc(len ? len : 1);
        if (buf)
            tp_fill(buf, len, 7);
        nipc_header_t h = nipc_header_make(NIPC_KIND_REQUEST, TP_ECHO, 0, 0, 0, 1, 7);
        err = buf ? nipc_session_send(s, &h, buf, len, 300, NULL) : NIPC_ERR_NO_MEMORY;
        free(buf); /* the exit is abrupt, not leaky (valgrind checks peers too) */
        _Exit(err == NIPC_ERR_TIMEOUT ? 0 : TP_EXIT_FAILED);
    } else {
        rc = 2;
    }
    nipc_session_close(s);
    return rc;
}

int tp_peer_dispatch(int argc, char **argv, int *exit_code)
{
    if (argc < 3 || strcmp(argv[1], "--peer") != 0)
        return 0;
    if (strcmp(argv[2], "server") == 0)
        *exit_code = server_main(argc - 3, argv + 3);
    else if (strcmp(argv[2], "client") == 0)
        *exit_code = client_main(argc - 3, argv + 3);
    else
        return 0;
    return 1;
}

/* --------------------------------------------------------------- starters */

t_proc_t *tp_start_server(const char *run_dir, const char *service, const char *sync_dir,
                          int sessions, const char *mode, const nipc_transport_config_t *cfg)
{
    static int counter;
    char ready[1024], nsess[16], cfgs[512];
    snprintf(ready, sizeof ready, "%s/ready-%d", sync_dir, ++counter);
    snprintf(nsess, sizeof nsess, "%d", sessions);
    nipc_transport_config_t zero = {0};
    tp_cfg_format(cfg ? cfg : &zero, cfgs, sizeof cfgs);
    const char *args[] = {"--peer", "server", run_dir, service, ready, nsess, mode, cfgs, NULL};
    t_proc_t *p = t_spawn(args);
    if (!p)
        return NULL;
    /* The ready file is written once the listener accepts connections. */
    unsigned long long end = t_now_ms() + 10000;
    while (!file_exists(ready)) {
        int code;
        if (t_wait(p, 0, &code)) {
            fprintf(stderr, "server peer exited early with %d\n", code);
            return NULL;
        }
        if (t_now_ms() >= end) {
            t_kill(p);
            return NULL;
        }
        t_sleep_ms(1);
    }
    return p;
}

t_proc_t *tp_start_client(const char *run_dir, const char *service,
                          const nipc_transport_config_t *cfg, const char *action)
{
    char cfgs[512];
    nipc_transport_config_t zero = {0};
    tp_cfg_format(cfg ? cfg : &zero, cfgs, sizeof cfgs);
    const char *args[] = {"--peer", "client", run_dir, service, cfgs, action, NULL};
    return t_spawn(args);
}

int tp_finish(t_proc_t *p, int timeout_ms)
{
    int code = -1;
    if (!p)
        return -1001;
    if (t_wait(p, timeout_ms, &code))
        return code;
    t_kill(p);
    return -1000;
}
