/*
 * Provider processes for the Level 2 / Level 3 suites and the helpers that
 * drive them (see service_peers.h for the control-file scheme and the
 * handler script). Only public APIs, tests/support.h and the portable
 * internals (platform.h threads and clocks, transport_internal.h packet I/O
 * for the one hand-written handshake) are used, so this file builds on every
 * platform; the one Linux-only fault (a corrupt SHM region file) is guarded.
 */
#include "service_peers.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef _WIN32
#include <windows.h>
#endif

#include "corpus/corpus.h"
#include "netipc/codec.h"
#include "netipc/service.h"
#include "netipc/transport.h"
#include "platform/platform.h"
#include "transport/transport_internal.h"

/* ------------------------------------------------------------------ files */

static void path_of(char *buf, size_t cap, const char *dir, const char *name)
{
    snprintf(buf, cap, "%s/%s", dir, name);
}

static char *read_file(const char *dir, const char *name)
{
    char p[1024];
    path_of(p, sizeof p, dir, name);
    FILE *f = fopen(p, "rb");
    if (!f)
        return NULL;
    size_t cap = 256, len = 0;
    char *buf = malloc(cap);
    while (buf) {
        size_t n = fread(buf + len, 1, cap - len - 1, f);
        len += n;
        if (n == 0)
            break;
        if (len + 1 == cap) {
            char *nb = realloc(buf, cap * 2);
            if (!nb) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
            cap *= 2;
        }
    }
    fclose(f);
    if (buf)
        buf[len] = 0;
    return buf;
}

/* ---------------------------------------------------------- peer options */

static const char *opt_str(int argc, char **argv, const char *key, const char *def)
{
    size_t k = strlen(key);
    for (int i = 0; i < argc; i++)
        if (strncmp(argv[i], key, k) == 0 && argv[i][k] == '=')
            return argv[i] + k + 1;
    return def;
}

static uint64_t opt_u64(int argc, char **argv, const char *key, uint64_t def)
{
    const char *v = opt_str(argc, argv, key, NULL);
    return v ? strtoull(v, NULL, 0) : def;
}

static uint32_t opt_u32(int argc, char **argv, const char *key, uint32_t def)
{
    return (uint32_t)opt_u64(argc, argv, key, def);
}

/* --------------------------------------------------------- provider state */

static struct {
    const char *ctl;
    nipc__mutex_t *log_lock;
    uint8_t *snap[2];
    size_t snap_len[2];
    int alternate;
    uint32_t same_hash; /* snap: nonzero = every item gets this hash (colliding provider) */
    atomic_uint snap_calls;
    uint64_t born_ms;
} P;

static void log_call(unsigned long long value, unsigned long long id)
{
    char p[1024];
    path_of(p, sizeof p, P.ctl, "calls");
    nipc__mutex_lock(P.log_lock);
    FILE *f = fopen(p, "ab");
    if (f) {
        fprintf(f, "%llu %llu\n", value, id);
        fclose(f);
    }
    nipc__mutex_unlock(P.log_lock);
}

/* A provider whose test died (a failed REQUIRE) must not linger. */
#define PEER_LIFETIME_MS 60000u

static int stop_requested(void)
{
    return t_file_exists(P.ctl, "stop") || nipc__now_ms() > P.born_ms + PEER_LIFETIME_MS;
}

/* The INCREMENT script shared by both provider kinds. */
static nipc_error_t scripted_increment(uint64_t v, uint64_t *out)
{
    if (v == SP_FAIL_VALUE)
        return NIPC_ERR_HANDLER_FAILED;
    if (v == SP_BLOCK_VALUE) {
        for (int i = 0; i < 300; i++) /* the test kills us long before this */
            nipc__sleep_ms(100);
        return NIPC_ERR_HANDLER_FAILED;
    }
    if (v >= SP_SLEEP_BASE && v < 2u * SP_SLEEP_BASE)
        nipc__sleep_ms((uint32_t)(v - SP_SLEEP_BASE));
    *out = v + 1;
    return NIPC_OK;
}

static nipc_error_t inc_handler(void *ctx, uint64_t v, uint64_t *out)
{
    (void)ctx;
    log_call(v, 0);
    return scripted_increment(v, out);
}

static nipc_error_t rev_handler(void *ctx, nipc_str_t in, char *out, uint32_t cap,
                                uint32_t *out_len)
{
    (void)ctx;
    log_call(in.len, 0);
    if (in.len && in.ptr[0] == '!')
        return NIPC_ERR_HANDLER_FAILED;
    if ((in.len && in.ptr[0] == '#') || in.len > cap)
        return NIPC_ERR_BUFFER_TOO_SMALL;
    for (uint32_t i = 0; i < in.len; i++)
        out[i] = in.ptr[in.len - 1 - i];
    *out_len = in.len;
    return NIPC_OK;
}

static nipc_error_t snap_handler(void *ctx, void *buf, size_t cap, size_t *out_len)
{
    (void)ctx;
    unsigned n = atomic_fetch_add(&P.snap_calls, 1);
    int which = P.alternate ? (int)(n % 2) : 0;
    log_call((unsigned long long)which, n);
    if (P.snap_len[which] > cap)
        return NIPC_ERR_BUFFER_TOO_SMALL;
    memcpy(buf, P.snap[which], P.snap_len[which]);
    *out_len = P.snap_len[which];
    return NIPC_OK;
}

/* Pre-encodes corpus `seed` with `count` items as a snapshot response. */
static int prepare_snapshot(int which, uint64_t seed, uint32_t count, uint64_t generation,
                            int corrupt)
{
    nipc_cgroup_set_t set;
    if (nipc_cgroup_set_corpus(seed, count, &set) != NIPC_OK)
        return 0;
    for (uint32_t i = 0; P.same_hash && i < set.count; i++)
        set.items[i].hash = P.same_hash;
    size_t need = nipc_cgroup_set_encoded_size(&set);
    P.snap[which] = malloc(need ? need : 1);
    int ok = P.snap[which] && nipc_cgroup_set_encode(&set, generation, P.snap[which], need,
                                                     &P.snap_len[which]) == NIPC_OK;
    nipc_cgroup_set_free(&set);
    if (ok && corrupt && count > 0) {
        /* Overwrite the NUL after the last item's name: the directory stays
         * valid, so only item decoding (on the client) can notice. */
        nipc_cgroups_view_t v;
        nipc_cgroup_item_t it;
        ok = nipc_cgroups_resp_decode(P.snap[which], P.snap_len[which], &v) == NIPC_OK &&
             nipc_cgroups_resp_item(&v, count - 1, &it) == NIPC_OK;
        if (ok)
            P.snap[which][(size_t)((const uint8_t *)it.name.ptr - P.snap[which]) + it.name.len] =
                'X';
    }
    return ok;
}

/* ---------------------------------------------------- managed server peer */

static void publish_stats(nipc_server_t *srv, unsigned long long seq)
{
    nipc_server_stats_t st;
    nipc_server_stats(srv, &st);
    char text[256];
    snprintf(text, sizeof text, "%llu %llu %llu %llu %llu %llu %llu\n", seq,
             (unsigned long long)st.sessions_accepted, (unsigned long long)st.sessions_rejected,
             (unsigned long long)st.handshakes_failed, (unsigned long long)st.requests,
             (unsigned long long)st.request_errors, (unsigned long long)st.sessions_active);
    t_record_write(P.ctl, "stats", text);
}

static int server_peer(const char *run, int argc, char **argv)
{
    nipc_server_config_t cfg = {
        .supported_profiles = opt_u32(argc, argv, "prof", 0),
        .preferred_profiles = opt_u32(argc, argv, "pref", 0),
        .max_request_payload_bytes = opt_u32(argc, argv, "req", 0),
        .max_request_batch_items = opt_u32(argc, argv, "batch", 0),
        .max_response_payload_bytes = opt_u32(argc, argv, "resp", 0),
        .auth_token = opt_u64(argc, argv, "token", 0),
        .max_sessions = opt_u32(argc, argv, "sessions", 0),
        .handshake_timeout_ms = opt_u32(argc, argv, "hs", 0),
        .exact_profiles = (int)opt_u32(argc, argv, "exact", 0),
    };
    uint32_t uid = opt_u32(argc, argv, "uid", 0);
    if (opt_str(argc, argv, "uid", NULL)) { /* admit only this uid */
        cfg.allowed_uids = &uid;
        cfg.allowed_uid_count = 1;
    }
    const char *method = opt_str(argc, argv, "method", "inc");
    nipc_server_t *srv = NULL;
    nipc_error_t err;
    if (strcmp(method, "inc") == 0) {
        err = nipc_server_create_increment(run, SP_SERVICE, &cfg, inc_handler, NULL, &srv);
    } else if (strcmp(method, "rev") == 0) {
        err = nipc_server_create_string_reverse(run, SP_SERVICE, &cfg, rev_handler, NULL, &srv);
    } else {
        uint64_t gen = opt_u64(argc, argv, "gen", 1);
        int corrupt = opt_u32(argc, argv, "corrupt", 0) != 0;
        P.same_hash = opt_u32(argc, argv, "hash", 0);
        if (!prepare_snapshot(0, opt_u64(argc, argv, "seed", 1), opt_u32(argc, argv, "items", 10),
                              gen, corrupt))
            return 3;
        if (opt_str(argc, argv, "seed2", NULL)) {
            P.alternate = 1;
            if (!prepare_snapshot(1, opt_u64(argc, argv, "seed2", 2),
                                  opt_u32(argc, argv, "items2", 10), gen + 1, 0))
                return 3;
        }
        err = nipc_server_create_cgroups_snapshot(run, SP_SERVICE, &cfg, snap_handler, NULL,
                                                  &srv);
    }
    if (err != NIPC_OK) {
        fprintf(stderr, "peer: server create: %s\n", nipc_error_name(err));
        return 2;
    }
    if (nipc_server_start(srv) != NIPC_OK)
        return 2;
    unsigned long long seq = 0;
    publish_stats(srv, seq++);
    t_file_publish(P.ctl, "ready", "1\n");
    while (!stop_requested()) {
        nipc__sleep_ms(20);
        publish_stats(srv, seq++);
    }
    int in_time = nipc_server_join(srv, 3000) == NIPC_OK;
    nipc_server_destroy(srv);
    free(P.snap[0]);
    free(P.snap[1]);
    return in_time ? 0 : 4;
}

/* -------------------------------------------------------- raw server peer */

#ifdef __linux__
/* A region file with the right magic and a wrong version: attach fails at once. */
static void plant_bad_region(const char *run)
{
    char p[1024];
    snprintf(p, sizeof p, "%s/%s-%016llx.ipcshm", run, SP_SERVICE,
             (unsigned long long)SP_FAKE_SHM_SESSION);
    uint8_t region[4096] = {0};
    uint32_t magic = 0x4e53484du;
    uint16_t version = 99, hlen = 64;
    memcpy(region, &magic, 4);
    memcpy(region + 4, &version, 2);
    memcpy(region + 6, &hlen, 2);
    FILE *f = fopen(p, "wb");
    if (f) {
        fwrite(region, 1, sizeof region, f);
        fclose(f);
    }
}

static void remove_bad_region(const char *run)
{
    char p[1024];
    snprintf(p, sizeof p, "%s/%s-%016llx.ipcshm", run, SP_SERVICE,
             (unsigned long long)SP_FAKE_SHM_SESSION);
    remove(p);
}
#else
static void plant_bad_region(const char *run)
{
    (void)run;
}

static void remove_bad_region(const char *run)
{
    (void)run;
}
#endif

/*
 * A hand-written server handshake that selects SHM_HYBRID without any SHM
 * object behind it (or, with `bad_region`, with a corrupt one), then waits
 * for the client to give up on the connection.
 */
static void fake_shm_handshake(nipc_pending_t *p, const char *run, int bad_region)
{
    uint8_t buf[128];
    size_t len = 0;
    uint64_t deadline = nipc__now_ms() + 3000;
    nipc_header_t h;
    nipc_hello_t hello;
    if (nipc__conn_recv(p->conn, buf, sizeof buf, NULL, 0, &len, 1, deadline, NULL) != NIPC_OK ||
        nipc_header_decode(buf, len, &h) != NIPC_OK || len < NIPC_HEADER_SIZE ||
        nipc_hello_decode(buf + NIPC_HEADER_SIZE, len - NIPC_HEADER_SIZE, &hello) != NIPC_OK) {
        nipc_pending_free(p);
        return;
    }
    if (bad_region)
        plant_bad_region(run);
    nipc_hello_ack_t ack = {
        .layout_version = NIPC_LAYOUT_VERSION,
        .server_supported_profiles = NIPC_PROFILE_BASELINE | NIPC_PROFILE_SHM_HYBRID,
        .intersection_profiles =
            hello.supported_profiles & (NIPC_PROFILE_BASELINE | NIPC_PROFILE_SHM_HYBRID),
        .selected_profile = NIPC_PROFILE_SHM_HYBRID,
        .agreed_max_request_payload_bytes = hello.max_request_payload_bytes,
        .agreed_max_request_batch_items = hello.max_request_batch_items,
        .agreed_max_response_payload_bytes = 65536,
        .agreed_max_response_batch_items = hello.max_request_batch_items,
        .agreed_packet_size = hello.packet_size < 65536 ? hello.packet_size : 65536,
        .session_id = SP_FAKE_SHM_SESSION,
    };
    nipc_header_t ah = nipc_header_make(NIPC_KIND_CONTROL, NIPC_CONTROL_HELLO_ACK, 0,
                                        NIPC_STATUS_OK, NIPC_HELLO_ACK_SIZE, 1, 0);
    nipc_header_encode(&ah, buf);
    nipc_hello_ack_encode(&ack, buf + NIPC_HEADER_SIZE);
    if (nipc__conn_send(p->conn, buf, NIPC_HEADER_SIZE + NIPC_HELLO_ACK_SIZE, NULL, 0, deadline,
                        NULL) == NIPC_OK) {
        log_call(0, SP_FAKE_SHM_SESSION);
        /* The client closes this connection once it gives up on the region. */
        nipc__conn_recv(p->conn, buf, sizeof buf, NULL, 0, &len, 1, nipc__now_ms() + 10000,
                        NULL);
    }
    if (bad_region)
        remove_bad_region(run);
    nipc_pending_free(p);
}

/* Serves INCREMENT on one session until it ends; may drop it on purpose. */
static void raw_serve(nipc_session_t *s, int *dropped_once)
{
    for (;;) {
        nipc_message_t msg;
        nipc_error_t err = nipc_session_receive(s, &msg, 100, NULL);
        if (err == NIPC_ERR_TIMEOUT) {
            if (stop_requested())
                return;
            continue;
        }
        if (err != NIPC_OK || msg.header.kind != NIPC_KIND_REQUEST ||
            msg.header.code != NIPC_METHOD_INCREMENT || (msg.header.flags & NIPC_FLAG_BATCH))
            return;
        uint64_t v = 0, answer = 0;
        if (nipc_increment_decode(msg.payload, msg.header.payload_len, &v) != NIPC_OK)
            return;
        log_call(v, msg.header.message_id);
        if (v == SP_DROP_ALWAYS_VALUE || (v == SP_DROP_ONCE_VALUE && !*dropped_once)) {
            *dropped_once = 1;
            return; /* abrupt close, no answer */
        }
        uint8_t out[NIPC_INCREMENT_SIZE];
        size_t out_len = 0;
        err = scripted_increment(v, &answer);
        if (err == NIPC_OK)
            nipc_increment_encode(answer, out, sizeof out, &out_len);
        nipc_header_t h = nipc_header_make(
            v == SP_WRONG_KIND_VALUE ? NIPC_KIND_REQUEST : NIPC_KIND_RESPONSE,
            v == SP_WRONG_CODE_VALUE ? NIPC_METHOD_STRING_REVERSE : msg.header.code, 0,
            err == NIPC_OK ? NIPC_STATUS_OK : NIPC_STATUS_INTERNAL_ERROR, 0, 1,
            msg.header.message_id);
        if (nipc_session_send(s, &h, out, out_len, 1000, NULL) != NIPC_OK || err != NIPC_OK)
            return;
    }
}

static int raw_peer(const char *run, int argc, char **argv)
{
    nipc_transport_config_t cfg = {
        .supported_profiles = opt_u32(argc, argv, "prof", NIPC_PROFILE_BASELINE),
        .max_request_payload_bytes = 4096,
        .max_response_payload_bytes = 4096,
        .handshake_timeout_ms = 2000,
    };
    /* first=fakeshm|badshm: connection number fake_at (default 0, the first)
     * gets a HELLO_ACK selecting SHM it never created (badshm: a bad region). */
    const char *first = opt_str(argc, argv, "first", "normal");
    int fake_at = (int)opt_u32(argc, argv, "fake_at", 0);
    nipc_listener_t *l = NULL;
    nipc_error_t err = nipc_listener_create(run, SP_SERVICE, &cfg, &l);
    if (err != NIPC_OK) {
        fprintf(stderr, "peer: listener: %s\n", nipc_error_name(err));
        return 2;
    }
    t_file_publish(P.ctl, "ready", "1\n");
    /* hang=1: once a session was dropped, stop accepting (a hung provider
     * whose socket still takes connections). */
    int hang = opt_u32(argc, argv, "hang", 0) != 0;
    uint64_t sid = 1;
    int dropped_once = 0, connections = 0;
    while (!stop_requested()) {
        if (hang && dropped_once) {
            nipc__sleep_ms(20);
            continue;
        }
        nipc_pending_t *p = NULL;
        if (nipc_listener_accept(l, 100, &p) != NIPC_OK)
            continue;
        if (connections++ == fake_at && strcmp(first, "normal") != 0) {
            fake_shm_handshake(p, run, strcmp(first, "badshm") == 0);
            continue;
        }
        nipc_session_t *s = NULL;
        if (nipc_pending_accept(p, &cfg, sid++, &s) != NIPC_OK)
            continue;
        raw_serve(s, &dropped_once);
        nipc_session_close(s);
    }
    nipc_listener_free(l);
    return 0;
}

int sp_peer_main(int argc, char **argv)
{
    if (argc < 3)
        return 2;
    P.ctl = argv[2];
    P.born_ms = nipc__now_ms();
    atomic_init(&P.snap_calls, 0);
    if (nipc__mutex_create(&P.log_lock) != NIPC_OK)
        return 2;
    int rc = 2;
    if (strcmp(argv[0], "server") == 0)
        rc = server_peer(argv[1], argc - 3, argv + 3);
    else if (strcmp(argv[0], "raw") == 0)
        rc = raw_peer(argv[1], argc - 3, argv + 3);
    nipc__mutex_free(P.log_lock);
    return rc;
}

/* -------------------------------------------------------------- test side */

#ifdef _WIN32
int sp_under_wine(void)
{
    HMODULE ntdll = GetModuleHandleA("ntdll.dll");
    return ntdll && GetProcAddress(ntdll, "wine_get_version") != NULL;
}
#else
int sp_under_wine(void)
{
    return 0;
}
#endif

int sp_dirs(char *run, char *ctl, size_t cap)
{
    return t_mkdtemp(run, cap) != NULL && t_mkdtemp(ctl, cap) != NULL;
}

t_proc_t *sp_start(const char *run, const char *ctl, const char *kind, const char *const opts[])
{
    t_file_remove(ctl, "ready");
    t_file_remove(ctl, "stop");
    t_file_remove(ctl, "stats");
    t_file_remove(ctl, "calls");
    const char *args[40] = {"peer", kind, run, ctl};
    size_t n = 4;
    for (size_t i = 0; opts && opts[i] && n < 39; i++)
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

int sp_stop(t_proc_t *p, const char *ctl)
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

static int parse_stats(const char *ctl, unsigned long long *seq, sp_stats_t *out)
{
    char text[256];
    if (!t_record_read(ctl, "stats", text, sizeof text))
        return 0;
    int n = sscanf(text, "%llu %llu %llu %llu %llu %llu %llu", seq, &out->accepted,
                   &out->rejected, &out->hs_failed, &out->requests, &out->errors, &out->active);
    return n == 7;
}

int sp_read_stats(const char *ctl, sp_stats_t *out)
{
    unsigned long long seq;
    for (int i = 0; i < 100; i++) { /* read mid-write (or not written yet): again */
        if (parse_stats(ctl, &seq, out))
            return 1;
        t_sleep_ms(2);
    }
    return 0;
}

int sp_fresh_stats(const char *ctl, sp_stats_t *out)
{
    unsigned long long first = 0, seq = 0;
    unsigned long long end = t_now_ms() + T_MS(5000);
    while (!parse_stats(ctl, &first, out)) {
        if (t_now_ms() > end)
            return 0;
        t_sleep_ms(2);
    }
    /* Two publications later, every counter reflects what happened before this call. */
    while (t_now_ms() <= end) {
        if (parse_stats(ctl, &seq, out) && seq >= first + 2)
            return 1;
        t_sleep_ms(5);
    }
    return 0;
}

int sp_call_log(const char *ctl, unsigned long long (*out)[2], int max)
{
    char *text = read_file(ctl, "calls");
    if (!text)
        return 0;
    int n = 0;
    for (char *line = text; *line;) {
        char *nl = strchr(line, '\n');
        if (!nl)
            break; /* a line being written */
        unsigned long long a = 0, b = 0;
        if (sscanf(line, "%llu %llu", &a, &b) == 2) {
            if (out && n < max) {
                out[n][0] = a;
                out[n][1] = b;
            }
            n++;
        }
        line = nl + 1;
    }
    free(text);
    return n;
}

int sp_calls(const char *ctl)
{
    return sp_call_log(ctl, NULL, 0);
}

int sp_wait_calls(const char *ctl, int n, int timeout_ms)
{
    unsigned long long end = t_now_ms() + (unsigned long long)timeout_ms;
    while (sp_calls(ctl) < n) {
        if (t_now_ms() > end)
            return 0;
        t_sleep_ms(2);
    }
    return 1;
}

/* ------------------------------------------------------------ fixture */

int sp_fx_begin(sp_fx_t *f)
{
    memset(f, 0, sizeof *f);
    f->fds = t_open_handles();
    return sp_dirs(f->run, f->ctl, sizeof f->run);
}

int sp_fx_start(sp_fx_t *f, const char *kind, const char *const opts[])
{
    f->peer = sp_start(f->run, f->ctl, kind, opts);
    return f->peer != NULL;
}

void sp_fx_kill(sp_fx_t *f)
{
    t_kill(f->peer);
    f->peer = NULL;
}

int sp_fx_stop(sp_fx_t *f)
{
    int code = sp_stop(f->peer, f->ctl);
    f->peer = NULL;
    return code;
}

int sp_fx_end(sp_fx_t *f, int *peer_exit, int *run_dir_entries)
{
    *peer_exit = f->peer ? sp_fx_stop(f) : 0;
    *run_dir_entries = t_dir_entries(f->run);
    t_rmtree(f->run);
    t_rmtree(f->ctl);
    return t_open_handles() - f->fds;
}
