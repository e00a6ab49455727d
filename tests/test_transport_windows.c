/*
 * Windows Level 1 transports: Named Pipe (profile 0x01) and Windows SHM
 * (0x02 HYBRID, 0x04 BUSYWAIT), against real peer processes (this program
 * re-executed with "--peer <role> ..."), never mocks.
 *
 * Covers the name derivation vectors of windows.md, the handshake over the
 * pipe (including rejections read late, the [gap] upstream loses), echo
 * round trips across chunk boundaries up to a few MiB, batches,
 * pipelining, the SHM header layout and attach checks, sessions on both SHM
 * profiles, limits, a hostile over-limit client, peer death, timeouts,
 * abort from another thread, listener wake, ADDRESS_IN_USE and handle
 * leaks. Timings are only bounded loosely: wine is slow and jittery.
 */
#include "test.h"

#include <windows.h>

#include "common/internal.h"
#include "netipc/transport.h"
#include "platform/platform.h"
#include "protocol/handshake.h"
#include "support.h"
#include "transport/transport_internal.h"
#include "transport/windows/win_names.h"

#define TOKEN 0x1122334455667788ull
#define MIB (1024u * 1024u)
#define BIG_LIMIT (4u * MIB)
#define CODE_ECHO 1
#define CODE_NO_REPLY 77   /* server reads the request and never answers */
#define CODE_LATE_REPLY 78 /* server answers after 500 ms */
#define CODE_STALL 76      /* server stops reading for good */

static char g_dir[512];
static int g_counter;

static const uint32_t all_profiles[] = {NIPC_PROFILE_BASELINE, NIPC_PROFILE_SHM_HYBRID,
                                        NIPC_PROFILE_SHM_BUSYWAIT};

static int under_wine(void)
{
    HMODULE ntdll = GetModuleHandleA("ntdll.dll");
    return ntdll && GetProcAddress(ntdll, "wine_get_version") != NULL;
}

static void fresh_service(char *out, size_t cap)
{
    snprintf(out, cap, "win-%lu-%d", (unsigned long)GetCurrentProcessId(), ++g_counter);
}

static nipc_transport_config_t make_cfg(uint32_t profiles, uint32_t preferred, uint32_t limit,
                                        uint32_t packet, uint64_t token)
{
    nipc_transport_config_t c;
    memset(&c, 0, sizeof c);
    c.supported_profiles = profiles;
    c.preferred_profiles = preferred;
    c.max_request_payload_bytes = limit;
    c.max_response_payload_bytes = limit;
    c.max_request_batch_items = 64;
    c.max_response_batch_items = 64;
    c.auth_token = token;
    c.packet_size = packet;
    return c;
}

static void fill(uint8_t *p, size_t n, uint32_t seed)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(i * 131u + seed + (i >> 12));
}

/* ---------------------------------------------------------------- peers */

static uint32_t arg_u32(const char *s)
{
    return (uint32_t)strtoul(s, NULL, 0);
}

/* Echo loop of one server session; special codes change the behaviour. */
static void serve_session(nipc_session_t *s)
{
    for (;;) {
        nipc_message_t m;
        nipc_error_t err = nipc_session_receive(s, &m, 0, NULL);
        if (err == NIPC_ERR_LIMIT_EXCEEDED) {
            nipc_header_t h = nipc_header_make(NIPC_KIND_RESPONSE, m.header.code, 0,
                                               NIPC_STATUS_LIMIT_EXCEEDED, 0, 1,
                                               m.header.message_id);
            nipc_session_send(s, &h, NULL, 0, 5000, NULL);
            return;
        }
        if (err != NIPC_OK)
            return;
        if (m.header.code == CODE_NO_REPLY)
            continue;
        if (m.header.code == CODE_STALL)
            Sleep(INFINITE);
        if (m.header.code == CODE_LATE_REPLY)
            Sleep(500);
        nipc_header_t h = m.header;
        h.kind = NIPC_KIND_RESPONSE;
        h.transport_status = NIPC_STATUS_OK;
        if (nipc_session_send(s, &h, m.payload, m.header.payload_len, 10000, NULL) != NIPC_OK)
            return;
    }
}

/*
 * server <dir> <service> <profiles> <limit> <packet> <token>: serial echo
 * server. Its pipe instances keep the automatic 64 KiB buffers whatever the
 * packet size, so big packets are larger than the pipe's buffer.
 */
static int peer_server(char **a)
{
    nipc_transport_config_t cfg = make_cfg(arg_u32(a[2]), 0, arg_u32(a[3]), arg_u32(a[4]),
                                           strtoull(a[5], NULL, 0));
    nipc_transport_config_t listen_cfg = cfg;
    listen_cfg.packet_size = 0;
    nipc_listener_t *l;
    if (nipc_listener_create(a[0], a[1], &listen_cfg, &l) != NIPC_OK)
        return 2;
    for (uint64_t sid = 1;; sid++) {
        nipc_pending_t *p;
        nipc_error_t err = nipc_listener_accept(l, 1000, &p);
        if (err != NIPC_OK) {
            if (err != NIPC_ERR_TIMEOUT)
                Sleep(10);
            continue;
        }
        nipc_session_t *s;
        if (nipc_pending_accept(p, &cfg, sid, &s) != NIPC_OK)
            continue;
        serve_session(s);
        nipc_session_close(s);
    }
}

static nipc_error_t connect_retry(const char *dir, const char *svc,
                                  const nipc_transport_config_t *cfg, nipc_session_t **out)
{
    uint64_t end = nipc__now_ms() + 20000;
    for (;;) {
        nipc_error_t err = nipc_session_connect(dir, svc, cfg, out);
        if (err != NIPC_ERR_NOT_FOUND || nipc__now_ms() > end)
            return err;
        Sleep(5);
    }
}

static nipc_error_t raw_connect(const char *dir, const char *svc, nipc__conn_t **out)
{
    uint64_t end = nipc__now_ms() + 20000;
    for (;;) {
        nipc_error_t err = nipc__conn_connect(dir, svc, out);
        if ((err != NIPC_ERR_NOT_FOUND && err != NIPC_ERR_BUSY) || nipc__now_ms() > end)
            return err;
        Sleep(5);
    }
}

static void raw_hello_packet(uint8_t *buf, uint32_t profiles, uint32_t max_req, uint64_t token,
                             uint32_t packet)
{
    nipc_hello_t h = {
        .layout_version = 1,
        .supported_profiles = profiles,
        .max_request_payload_bytes = max_req,
        .max_request_batch_items = 1,
        .max_response_payload_bytes = 1024,
        .max_response_batch_items = 1,
        .auth_token = token,
        .packet_size = packet,
    };
    nipc__handshake_encode_hello(&h, buf);
}

static void raw_hello(uint8_t *buf, uint32_t profiles, uint32_t max_req, uint64_t token)
{
    raw_hello_packet(buf, profiles, max_req, token, 65536);
}

/*
 * Connects and exchanges a baseline HELLO (request limit max_req, `packet`
 * bytes a packet) for its ACK, read into buf. 0, else 2 (connect) or 3
 * (the exchange): the peers' exit codes for those steps.
 */
static int raw_greet(char **a, uint32_t max_req, uint32_t packet, uint8_t *buf, size_t cap,
                     uint64_t dl, nipc__conn_t **c, size_t *got)
{
    if (raw_connect(a[0], a[1], c) != NIPC_OK)
        return 2;
    raw_hello_packet(buf, NIPC_PROFILE_BASELINE, max_req, TOKEN, packet);
    if (nipc__conn_send(*c, buf, NIPC_HEADER_SIZE + NIPC_HELLO_SIZE, NULL, 0, dl, NULL) !=
            NIPC_OK ||
        nipc__conn_recv(*c, buf, cap, NULL, 0, got, 1, dl, NULL) != NIPC_OK)
        return 3;
    return 0;
}

/*
 * late <dir> <service> <profiles> <max_req> <token> <expected status>:
 * sends a HELLO, starts reading only 300 ms later and exits 0 iff the ACK
 * with the expected status is still there.
 */
static int peer_late(char **a)
{
    nipc__conn_t *c;
    if (raw_connect(a[0], a[1], &c) != NIPC_OK)
        return 2;
    uint8_t buf[NIPC__HANDSHAKE_BUF];
    raw_hello(buf, arg_u32(a[2]), arg_u32(a[3]), strtoull(a[4], NULL, 0));
    if (nipc__conn_send(c, buf, NIPC_HEADER_SIZE + NIPC_HELLO_SIZE, NULL, 0, NIPC__NO_DEADLINE,
                        NULL) != NIPC_OK)
        return 3;
    Sleep(300);
    size_t got = 0;
    nipc_error_t err = nipc__conn_recv(c, buf, sizeof buf, NULL, 0, &got, 1,
                                       nipc__deadline(5000), NULL);
    if (err != NIPC_OK)
        return 20 + (int)err;
    nipc_header_t h;
    if (nipc_header_decode(buf, got, &h) != NIPC_OK || h.code != NIPC_CONTROL_HELLO_ACK)
        return 4;
    if (h.transport_status != arg_u32(a[5]))
        return 10 + h.transport_status;
    /* Then the server's goodbye. */
    err = nipc__conn_recv(c, buf, sizeof buf, NULL, 0, &got, 1, nipc__deadline(5000), NULL);
    nipc__conn_close(c);
    return err == NIPC_ERR_DISCONNECTED ? 0 : 5;
}

/*
 * overlimit <dir> <service>: handshakes (request limit 1024), then sends a
 * request whose header announces 4096 bytes, reads 300 ms later; exits 0
 * iff the server's LIMIT_EXCEEDED answer for that id is there, then the close.
 */
static int peer_overlimit(char **a)
{
    nipc__conn_t *c;
    uint8_t buf[256];
    size_t got = 0;
    uint64_t dl = nipc__deadline(10000);
    int rc = raw_greet(a, 1024, 65536, buf, sizeof buf, dl, &c, &got);
    if (rc)
        return rc;
    nipc_hello_ack_t ack;
    if (nipc__handshake_client_result(buf, got, &ack) != NIPC_OK)
        return 4;
    nipc_header_t h = nipc_header_make(NIPC_KIND_REQUEST, CODE_ECHO, 0, 0, 4096, 1, 4242);
    nipc_header_encode(&h, buf);
    memset(buf + NIPC_HEADER_SIZE, 0xab, 100);
    if (nipc__conn_send(c, buf, NIPC_HEADER_SIZE + 100, NULL, 0, dl, NULL) != NIPC_OK)
        return 5;
    /* The server answers and closes at once; the answer must outlive it. */
    Sleep(300);
    if (nipc__conn_recv(c, buf, sizeof buf, NULL, 0, &got, 1, dl, NULL) != NIPC_OK)
        return 6;
    if (nipc_header_decode(buf, got, &h) != NIPC_OK || h.kind != NIPC_KIND_RESPONSE ||
        h.message_id != 4242 || h.transport_status != NIPC_STATUS_LIMIT_EXCEEDED)
        return 7;
    nipc_error_t err = nipc__conn_recv(c, buf, sizeof buf, NULL, 0, &got, 1, dl, NULL);
    nipc__conn_close(c);
    return err == NIPC_ERR_DISCONNECTED ? 0 : 8;
}

/*
 * bigpacket <dir> <service>: agrees on 4096-byte packets, then sends one
 * 8032-byte packet (a whole 8000-byte message, unchunked); exits 0 when
 * the server closes.
 */
static int peer_bigpacket(char **a)
{
    nipc__conn_t *c;
    static uint8_t buf[8032];
    size_t got = 0;
    uint64_t dl = nipc__deadline(10000);
    int rc = raw_greet(a, 65536, 4096, buf, sizeof buf, dl, &c, &got);
    if (rc)
        return rc;
    nipc_header_t h = nipc_header_make(NIPC_KIND_REQUEST, CODE_ECHO, 0, 0, 8000, 1, 7);
    nipc_header_encode(&h, buf);
    if (nipc__conn_send(c, buf, sizeof buf, NULL, 0, dl, NULL) != NIPC_OK)
        return 4;
    nipc_error_t err = nipc__conn_recv(c, buf, sizeof buf, NULL, 0, &got, 1, dl, NULL);
    nipc__conn_close(c);
    return err == NIPC_ERR_DISCONNECTED ? 0 : 5;
}

/* silent <dir> <service>: connects and never says a word. */
static int peer_silent(char **a)
{
    nipc__conn_t *c;
    if (raw_connect(a[0], a[1], &c) != NIPC_OK)
        return 2;
    Sleep(INFINITE);
    return 0;
}

/* hold <dir> <service> <profiles>: connects (preferring them) and waits to be killed. */
static int peer_hold(char **a)
{
    uint32_t p = arg_u32(a[2]);
    nipc_transport_config_t cfg = make_cfg(p, p, 4096, 0, TOKEN);
    nipc_session_t *s;
    if (connect_retry(a[0], a[1], &cfg, &s) != NIPC_OK)
        return 2;
    Sleep(INFINITE);
    return 0;
}

/*
 * echo <dir> <service> <profiles> <count>: count round trips, exit 0 if all
 * matched. echo-now: the same with one connect attempt (the listener is
 * known to be there).
 */
static int echo_client(char **a, int retry)
{
    uint32_t p = arg_u32(a[2]);
    nipc_transport_config_t cfg = make_cfg(p, p, 65536, 0, TOKEN);
    nipc_session_t *s;
    nipc_error_t err = retry ? connect_retry(a[0], a[1], &cfg, &s)
                             : nipc_session_connect(a[0], a[1], &cfg, &s);
    if (err != NIPC_OK) {
        fprintf(stderr, "  echo peer: connect: %s\n", nipc_error_name(err));
        return 2;
    }
    uint8_t out[3000];
    uint32_t count = arg_u32(a[3]);
    for (uint32_t i = 0; i < count; i++) {
        size_t len = (i * 37u) % sizeof out;
        fill(out, len, i);
        nipc_header_t h = nipc_header_make(NIPC_KIND_REQUEST, CODE_ECHO, 0, 0, 0, 1, i + 1u);
        nipc_message_t m;
        if (nipc_session_send(s, &h, out, len, 10000, NULL) != NIPC_OK ||
            nipc_session_receive(s, &m, 10000, NULL) != NIPC_OK)
            return 3;
        if (m.header.message_id != i + 1u || m.header.payload_len != len ||
            (len && memcmp(m.payload, out, len) != 0))
            return 4;
    }
    nipc_session_close(s);
    return 0;
}

static int peer_echo(char **a)
{
    return echo_client(a, 1);
}

static int peer_echo_now(char **a)
{
    return echo_client(a, 0);
}

/* listen <dir> <service>: exits with the error of a second listener. */
static int peer_listen(char **a)
{
    nipc_listener_t *l;
    nipc_error_t err = nipc_listener_create(a[0], a[1], NULL, &l);
    if (err == NIPC_OK)
        nipc_listener_free(l);
    return (int)err;
}

/*
 * longhello <dir> <service>: a HELLO record 150 bytes longer than a HELLO
 * (upstream accepts it: the first 128 bytes decide), then one 16-byte ECHO
 * request; exits 0 iff its answer comes back, i.e. the rest of the long
 * record never posed as a message.
 */
static int peer_longhello(char **a)
{
    nipc__conn_t *c;
    uint8_t buf[512];
    size_t got = 0, hello_len = NIPC_HEADER_SIZE + NIPC_HELLO_SIZE;
    uint64_t dl = nipc__deadline(10000);
    if (raw_connect(a[0], a[1], &c) != NIPC_OK)
        return 2;
    raw_hello(buf, NIPC_PROFILE_BASELINE, 1024, TOKEN);
    memset(buf + hello_len, 0xee, 150);
    nipc_hello_ack_t ack;
    if (nipc__conn_send(c, buf, hello_len + 150, NULL, 0, dl, NULL) != NIPC_OK ||
        nipc__conn_recv(c, buf, sizeof buf, NULL, 0, &got, 1, dl, NULL) != NIPC_OK ||
        nipc__handshake_client_result(buf, got, &ack) != NIPC_OK)
        return 3;
    nipc_header_t h = nipc_header_make(NIPC_KIND_REQUEST, CODE_ECHO, 0, 0, 16, 1, 9);
    nipc_header_encode(&h, buf);
    memset(buf + NIPC_HEADER_SIZE, 0x5a, 16);
    if (nipc__conn_send(c, buf, NIPC_HEADER_SIZE + 16, NULL, 0, dl, NULL) != NIPC_OK ||
        nipc__conn_recv(c, buf, sizeof buf, NULL, 0, &got, 1, dl, NULL) != NIPC_OK)
        return 4;
    nipc__conn_close(c);
    return nipc_header_decode(buf, got, &h) == NIPC_OK && h.kind == NIPC_KIND_RESPONSE &&
                   h.message_id == 9 && got == NIPC_HEADER_SIZE + 16
               ? 0
               : 5;
}

static int run_peer(int argc, char **argv)
{
    static const struct {
        const char *role;
        int nargs;
        int (*fn)(char **a);
    } roles[] = {
        {"server", 6, peer_server},       {"late", 6, peer_late},
        {"overlimit", 2, peer_overlimit}, {"silent", 2, peer_silent},
        {"hold", 3, peer_hold},           {"echo", 4, peer_echo},
        {"listen", 2, peer_listen},       {"echo-now", 4, peer_echo_now},
        {"bigpacket", 2, peer_bigpacket}, {"longhello", 2, peer_longhello},
    };
    for (size_t i = 0; i < sizeof roles / sizeof roles[0]; i++)
        if (strcmp(argv[2], roles[i].role) == 0)
            return argc - 3 == roles[i].nargs ? roles[i].fn(argv + 3) : 98;
    return 99;
}

/* ---------------------------------------------------------- test helpers */

static t_proc_t *spawn_server(const char *svc, uint32_t profiles, uint32_t limit, uint32_t packet)
{
    char p[16], l[16], k[16], t[32];
    snprintf(p, sizeof p, "%u", (unsigned)profiles);
    snprintf(l, sizeof l, "%u", (unsigned)limit);
    snprintf(k, sizeof k, "%u", (unsigned)packet);
    snprintf(t, sizeof t, "%llu", (unsigned long long)TOKEN);
    const char *args[] = {"--peer", "server", g_dir, svc, p, l, k, t, NULL};
    return t_spawn(args);
}

/* One request/response with a checked echo; returns 1 when it matched. */
static int echo_once(nipc_session_t *s, uint64_t id, const uint8_t *payload, size_t len)
{
    nipc_header_t h = nipc_header_make(NIPC_KIND_REQUEST, CODE_ECHO, 0, 0, 0, 1, id);
    nipc_error_t err = nipc_session_send(s, &h, payload, len, 20000, NULL);
    if (err != NIPC_OK) {
        fprintf(stderr, "  send %zu bytes: %s\n", len, nipc_error_name(err));
        return 0;
    }
    nipc_message_t m;
    err = nipc_session_receive(s, &m, 20000, NULL);
    if (err != NIPC_OK) {
        fprintf(stderr, "  receive %zu bytes: %s\n", len, nipc_error_name(err));
        return 0;
    }
    return m.header.kind == NIPC_KIND_RESPONSE && m.header.message_id == id &&
           m.header.code == CODE_ECHO && m.header.payload_len == len &&
           (len == 0 || memcmp(m.payload, payload, len) == 0);
}

static nipc_error_t send_code(nipc_session_t *s, uint16_t code, uint64_t id)
{
    uint8_t byte = 7;
    nipc_header_t h = nipc_header_make(NIPC_KIND_REQUEST, code, 0, 0, 0, 1, id);
    return nipc_session_send(s, &h, &byte, 1, 5000, NULL);
}

static int wait_exit(t_proc_t *p, int timeout_ms)
{
    int code = -1;
    if (!t_wait(p, timeout_ms, &code)) {
        t_kill(p);
        return -1000;
    }
    return code;
}

/* In-process listener + accept of one client, for server-side tests. */
static nipc_error_t accept_one(nipc_listener_t *l, const nipc_transport_config_t *cfg,
                               uint64_t sid, nipc_session_t **out)
{
    nipc_pending_t *p;
    nipc_error_t err = nipc_listener_accept(l, 20000, &p);
    if (err != NIPC_OK)
        return err;
    return nipc_pending_accept(p, cfg, sid, out);
}

/* A thread that calls a function after a delay. */
struct delayed {
    int delay_ms;
    void (*fn)(void *arg);
    void *arg;
};

static void delayed_main(void *p)
{
    struct delayed *d = p;
    Sleep((DWORD)d->delay_ms);
    d->fn(d->arg);
}

static void kill_proc(void *p)
{
    t_kill(p);
}

static void trigger_abort(void *a)
{
    nipc_abort_trigger(a);
}

static void wake_listener(void *l)
{
    nipc_listener_wake(l);
}

/* ------------------------------------------------------------- the cases */

static void test_names(void)
{
    CHECK_EQ_U64(nipc__fnv1a64("", 0), 0xcbf29ce484222325ull);
    CHECK_EQ_U64(nipc__fnv1a64("/run/netdata", 12), 0xefc07ed598ac339bull);

    char name[600];
    CHECK_OK(nipc__win_pipe_name("/run/netdata", "cgroups-snapshot", name, sizeof name));
    CHECK(strcmp(name, "\\\\.\\pipe\\netipc-efc07ed598ac339b-cgroups-snapshot") == 0);

    CHECK_OK(nipc__win_shm_name("/run/netdata", "cgroups-snapshot", 0xDEADBEEFCAFEBABEull, 2, 1,
                                "mapping", name, sizeof name));
    CHECK(strcmp(name, "Local\\netipc-dc862a8018111f88-cgroups-snapshot-p2-s0000000000000001-"
                       "mapping") == 0);
    const char *input = "/run/netdata\ncgroups-snapshot\n16045690984503098046";
    CHECK_EQ_U64(nipc__fnv1a64(input, strlen(input)), 0xdc862a8018111f88ull);
    CHECK_OK(nipc__win_shm_name("/run/netdata", "cgroups-snapshot", 0xDEADBEEFCAFEBABEull, 4,
                                0xabcdef, "resp_event", name, sizeof name));
    CHECK(strcmp(name, "Local\\netipc-dc862a8018111f88-cgroups-snapshot-p4-s0000000000abcdef-"
                       "resp_event") == 0);
    CHECK_OK(nipc__win_shm_name("/run/netdata", "cgroups-snapshot", 0, 2, 0, "req_event", name,
                                sizeof name));
    input = "/run/netdata\ncgroups-snapshot\n0";
    char want[200];
    snprintf(want, sizeof want, "Local\\netipc-%016llx-cgroups-snapshot-p2-s0000000000000000-"
             "req_event", (unsigned long long)nipc__fnv1a64(input, strlen(input)));
    CHECK(strcmp(name, want) == 0);

    /* Pipe names up to 255 characters: prefix 16 + hash 16 + '-' = 33. */
    char svc[300];
    memset(svc, 'a', sizeof svc);
    svc[255 - 33] = 0;
    CHECK_OK(nipc__win_pipe_name("/r", svc, name, sizeof name));
    CHECK_EQ_U64(strlen(name), 255);
    svc[255 - 33] = 'a';
    svc[256 - 33] = 0;
    CHECK_ERR(nipc__win_pipe_name("/r", svc, name, sizeof name), NIPC_ERR_PATH_TOO_LONG);
    nipc_session_t *s;
    CHECK_ERR(nipc_session_connect(g_dir, svc, NULL, &s), NIPC_ERR_PATH_TOO_LONG);
    nipc_listener_t *l;
    CHECK_ERR(nipc_listener_create(g_dir, svc, NULL, &l), NIPC_ERR_PATH_TOO_LONG);

    /* SHM: names below 256 characters, hash input below 512 bytes. */
    svc[200] = 0;
    CHECK_ERR(nipc__win_shm_name("/r", svc, 1, 2, 1, "resp_event", name, sizeof name),
              NIPC_ERR_PATH_TOO_LONG);
    char dir[600];
    memset(dir, 'd', sizeof dir);
    dir[506] = 0; /* "{dir}\nsvc\n1": 512 bytes */
    CHECK_ERR(nipc__win_shm_name(dir, "svc", 1, 2, 1, "mapping", name, sizeof name),
              NIPC_ERR_PATH_TOO_LONG);
    dir[505] = 0; /* 511 bytes */
    CHECK_OK(nipc__win_shm_name(dir, "svc", 1, 2, 1, "mapping", name, sizeof name));

    /* Service names are validated, never sanitised. */
    CHECK_ERR(nipc__win_pipe_name("/r", "a/b", name, sizeof name), NIPC_ERR_BAD_SERVICE_NAME);
    CHECK_ERR(nipc__win_pipe_name("/r", "..", name, sizeof name), NIPC_ERR_BAD_SERVICE_NAME);
    CHECK_ERR(nipc__win_pipe_name("/r", "a\\b", name, sizeof name), NIPC_ERR_BAD_SERVICE_NAME);
    CHECK_ERR(nipc__win_shm_name("/r", "", 1, 2, 1, "mapping", name, sizeof name),
              NIPC_ERR_BAD_SERVICE_NAME);
    CHECK_ERR(nipc_session_connect(g_dir, "bad name", NULL, &s), NIPC_ERR_BAD_SERVICE_NAME);
    CHECK_ERR(nipc_listener_create(g_dir, "x:y", NULL, &l), NIPC_ERR_BAD_SERVICE_NAME);

    /* Nothing is ever stale on Windows. */
    uint32_t removed = 1;
    CHECK_OK(nipc_shm_cleanup_stale(g_dir, "svc", &removed));
    CHECK_EQ_U64(removed, 0);
    CHECK_ERR(nipc_shm_cleanup_stale(g_dir, "..", NULL), NIPC_ERR_BAD_SERVICE_NAME);
}

static void test_handshake_pipe(void)
{
    char svc[64];
    fresh_service(svc, sizeof svc);
    nipc_session_t *s;
    CHECK_ERR(nipc_session_connect(g_dir, svc, NULL, &s), NIPC_ERR_NOT_FOUND);

    t_proc_t *srv = spawn_server(svc, NIPC_PROFILE_BASELINE, 8192, 0);
    REQUIRE(srv);
    nipc_transport_config_t cfg = make_cfg(0, 0, 2048, 0, TOKEN);
    CHECK_OK(connect_retry(g_dir, svc, &cfg, &s));
    if (s) {
        const nipc_session_info_t *i = nipc_session_info(s);
        CHECK(!i->is_server);
        CHECK_EQ_U64(i->selected_profile, NIPC_PROFILE_BASELINE);
        CHECK_EQ_U64(i->max_request_payload, 2048); /* the client's proposal, echoed */
        CHECK_EQ_U64(i->max_response_payload, 8192); /* the server's value */
        CHECK_EQ_U64(i->max_request_batch, 64);
        CHECK_EQ_U64(i->packet_size, 65536); /* automatic on both sides */
        CHECK_EQ_U64(i->session_id, 1);
        CHECK_EQ_U64(i->shm_request_capacity, 0);
        uint8_t b[100];
        fill(b, sizeof b, 1);
        CHECK(echo_once(s, 1, b, sizeof b));
        nipc_session_close(s);
    }
    /* Sessions are served one after another: ids keep counting. */
    CHECK_OK(connect_retry(g_dir, svc, &cfg, &s));
    if (s) {
        CHECK_EQ_U64(nipc_session_info(s)->session_id, 2);
        nipc_session_close(s);
    }

    /* Rejections arrive with their status, every time. */
    for (int round = 0; round < 3; round++) {
        cfg = make_cfg(0, 0, 2048, 0, TOKEN + 1);
        CHECK_ERR(connect_retry(g_dir, svc, &cfg, &s), NIPC_ERR_AUTH_FAILED);
        cfg = make_cfg(NIPC_PROFILE_SHM_HYBRID, 0, 2048, 0, TOKEN);
        CHECK_ERR(connect_retry(g_dir, svc, &cfg, &s), NIPC_ERR_UNSUPPORTED);
        cfg = make_cfg(0, 0, 8193, 0, TOKEN);
        CHECK_ERR(connect_retry(g_dir, svc, &cfg, &s), NIPC_ERR_LIMIT_EXCEEDED);
    }
    cfg = make_cfg(0, 0, 2048, 32, TOKEN); /* packet size must exceed the header */
    CHECK_ERR(connect_retry(g_dir, svc, &cfg, &s), NIPC_ERR_INCOMPATIBLE);
    t_kill(srv);
}

/*
 * The [gap] of windows.md: upstream disconnects without a flush, so a
 * client that reads its rejection late never sees it. Ours must.
 */
static void test_rejection_read_late(void)
{
    char svc[64];
    fresh_service(svc, sizeof svc);
    nipc_transport_config_t cfg = make_cfg(NIPC_PROFILE_BASELINE, 0, 4096, 0, TOKEN);
    nipc_listener_t *l;
    REQUIRE(nipc_listener_create(g_dir, svc, &cfg, &l) == NIPC_OK);
    char token[32];
    snprintf(token, sizeof token, "%llu", (unsigned long long)TOKEN);
    static const struct {
        const char *profiles, *max_req;
        int right_token, status;
        nipc_error_t err;
    } cases[] = {
        {"1", "1024", 0, NIPC_STATUS_AUTH_FAILED, NIPC_ERR_AUTH_FAILED},
        {"2", "1024", 1, NIPC_STATUS_UNSUPPORTED, NIPC_ERR_UNSUPPORTED},
        {"1", "5000", 1, NIPC_STATUS_LIMIT_EXCEEDED, NIPC_ERR_LIMIT_EXCEEDED},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char st[8];
        snprintf(st, sizeof st, "%d", cases[i].status);
        const char *args[] = {"--peer", "late", g_dir, svc, cases[i].profiles,
                              cases[i].max_req, cases[i].right_token ? token : "1", st, NULL};
        t_proc_t *p = t_spawn(args);
        REQUIRE(p);
        nipc_session_t *s = NULL;
        CHECK_ERR(accept_one(l, &cfg, i + 1, &s), cases[i].err);
        CHECK_EQ_U64(wait_exit(p, 20000), 0);
    }
    /* A session-limit rejection (nipc_pending_reject) is read late too. */
    const char *args[] = {"--peer", "late", g_dir, svc, "1", "1024", token, "6", NULL};
    t_proc_t *p = t_spawn(args);
    REQUIRE(p);
    nipc_pending_t *pend;
    CHECK_OK(nipc_listener_accept(l, 20000, &pend));
    nipc_pending_reject(pend, NIPC_STATUS_INTERNAL_ERROR, 5000);
    CHECK_EQ_U64(wait_exit(p, 20000), 0);
    nipc_listener_free(l);
}

/* Round trips of sizes around the chunk boundaries and up to max_size. */
static void echo_sizes(const char *svc, uint32_t profile, uint32_t packet, size_t max_size)
{
    nipc_transport_config_t cfg = make_cfg(profile | NIPC_PROFILE_BASELINE, profile, BIG_LIMIT,
                                           packet, TOKEN);
    nipc_session_t *s;
    CHECK_OK(connect_retry(g_dir, svc, &cfg, &s));
    if (!s)
        return;
    const nipc_session_info_t *i = nipc_session_info(s);
    CHECK_EQ_U64(i->selected_profile, profile);
    uint32_t pkt = i->packet_size;
    if (profile == NIPC_PROFILE_BASELINE && packet)
        CHECK_EQ_U64(pkt, packet);
    uint32_t b = pkt - NIPC_HEADER_SIZE;
    size_t sizes[] = {0, 1, 7, b - 1, b, b + 1, 2 * (size_t)b, 2 * (size_t)b + 1,
                      3 * (size_t)b - 5, 100000, MIB, 3 * MIB + 17, BIG_LIMIT};
    uint8_t *buf = malloc(BIG_LIMIT);
    REQUIRE(buf);
    uint64_t id = 1;
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        if (sizes[k] > max_size)
            continue;
        fill(buf, sizes[k], (uint32_t)k);
        int ok = echo_once(s, id++, buf, sizes[k]);
        if (!ok)
            fprintf(stderr, "  echo of %zu bytes failed (profile %u, packet %u)\n", sizes[k],
                    (unsigned)profile, (unsigned)pkt);
        CHECK(ok);
    }
    CHECK_EQ_U64(nipc_session_in_flight(s), 0);
    free(buf);
    nipc_session_close(s);
}

static void test_echo_pipe(void)
{
    char svc[64];
    fresh_service(svc, sizeof svc);
    /* The server allows big packets; the client's proposal decides (min). */
    t_proc_t *srv = spawn_server(svc, NIPC_PROFILE_BASELINE, BIG_LIMIT, 2 * MIB);
    REQUIRE(srv);
    /* Every packet is a wineserver round trip under wine: small packets
     * get small messages. */
    echo_sizes(svc, NIPC_PROFILE_BASELINE, 100, 100000); /* 68-byte chunks */
    echo_sizes(svc, NIPC_PROFILE_BASELINE, 4096, MIB);
    echo_sizes(svc, NIPC_PROFILE_BASELINE, 0, BIG_LIMIT);   /* automatic: 65536 */
    echo_sizes(svc, NIPC_PROFILE_BASELINE, MIB, BIG_LIMIT); /* 16 times the pipe buffer */
    t_kill(srv);
}

static void test_batch_and_pipelining(void)
{
    char svc[64];
    fresh_service(svc, sizeof svc);
    t_proc_t *srv = spawn_server(svc, NIPC_PROFILE_BASELINE, 65536, 0);
    REQUIRE(srv);
    nipc_transport_config_t cfg = make_cfg(0, 0, 65536, 512, TOKEN);
    cfg.max_in_flight = 16;
    nipc_session_t *s;
    CHECK_OK(connect_retry(g_dir, svc, &cfg, &s));
    REQUIRE(s);

    /* A batch of 20 items of growing sizes, spread over many packets. */
    uint8_t payload[8192], item[200];
    nipc_batch_builder_t bb;
    nipc_batch_builder_init(&bb, payload, sizeof payload, 20);
    for (uint32_t k = 0; k < 20; k++) {
        fill(item, k * 9u + 1u, k);
        CHECK_OK(nipc_batch_builder_add(&bb, item, k * 9u + 1u));
    }
    size_t plen = 0;
    CHECK_OK(nipc_batch_builder_finish(&bb, &plen));
    nipc_header_t h = nipc_header_make(NIPC_KIND_REQUEST, CODE_ECHO, NIPC_FLAG_BATCH, 0, 0, 20, 9);
    CHECK_OK(nipc_session_send(s, &h, payload, plen, 10000, NULL));
    nipc_message_t m;
    CHECK_OK(nipc_session_receive(s, &m, 10000, NULL));
    CHECK_EQ_U64(m.header.item_count, 20);
    CHECK(m.header.flags & NIPC_FLAG_BATCH);
    CHECK_EQ_U64(m.header.payload_len, plen);
    for (uint32_t k = 0; k < 20; k++) {
        const uint8_t *it = NULL;
        uint32_t len = 0;
        CHECK_OK(nipc_batch_item(m.payload, m.header.payload_len, 20, k, &it, &len));
        fill(item, k * 9u + 1u, k);
        CHECK(len == k * 9u + 1u && it && memcmp(it, item, len) == 0);
    }
    /* More items than agreed: refused locally, nothing sent. */
    h = nipc_header_make(NIPC_KIND_REQUEST, CODE_ECHO, NIPC_FLAG_BATCH, 0, 0, 65, 10);
    CHECK_ERR(nipc_session_send(s, &h, payload, plen, 10000, NULL), NIPC_ERR_LIMIT_EXCEEDED);

    /* Pipelining: 16 requests out before any answer, then 16 answers. */
    uint8_t buf[3000];
    for (uint64_t id = 100; id < 116; id++) {
        fill(buf, (size_t)id * 10u, (uint32_t)id);
        h = nipc_header_make(NIPC_KIND_REQUEST, CODE_ECHO, 0, 0, 0, 1, id);
        CHECK_OK(nipc_session_send(s, &h, buf, (size_t)id * 10u, 10000, NULL));
    }
    CHECK_EQ_U64(nipc_session_in_flight(s), 16);
    h = nipc_header_make(NIPC_KIND_REQUEST, CODE_ECHO, 0, 0, 0, 1, 200);
    CHECK_ERR(nipc_session_send(s, &h, buf, 1, 10000, NULL), NIPC_ERR_LIMIT_EXCEEDED);
    h = nipc_header_make(NIPC_KIND_REQUEST, CODE_ECHO, 0, 0, 0, 1, 105);
    CHECK_ERR(nipc_session_send(s, &h, buf, 1, 10000, NULL), NIPC_ERR_DUPLICATE_ID);
    for (uint64_t id = 100; id < 116; id++) {
        CHECK_OK(nipc_session_receive(s, &m, 10000, NULL));
        fill(buf, (size_t)id * 10u, (uint32_t)id);
        CHECK(m.header.message_id == id && m.header.payload_len == id * 10u &&
              memcmp(m.payload, buf, (size_t)id * 10u) == 0);
    }
    CHECK_EQ_U64(nipc_session_in_flight(s), 0);
    /* Above the agreed request payload: refused locally, the session lives on. */
    static uint8_t big[65537];
    h = nipc_header_make(NIPC_KIND_REQUEST, CODE_ECHO, 0, 0, 0, 1, 300);
    CHECK_ERR(nipc_session_send(s, &h, big, sizeof big, 10000, NULL), NIPC_ERR_LIMIT_EXCEEDED);
    CHECK(echo_once(s, 301, big, 65536));
    nipc_session_close(s);
    t_kill(srv);
}

/* Reads the mapping of a session through its name, as a third party would. */
static uint8_t *map_region(const char *svc, uint32_t profile, uint64_t sid, HANDLE *mapping)
{
    char name[300];
    wchar_t wname[300];
    if (nipc__win_shm_name(g_dir, svc, TOKEN, profile, sid, "mapping", name, sizeof name) !=
        NIPC_OK)
        return NULL;
    nipc__win_widen(name, wname);
    *mapping = OpenFileMappingW(FILE_MAP_ALL_ACCESS, FALSE, wname);
    if (!*mapping)
        return NULL;
    return MapViewOfFile(*mapping, FILE_MAP_ALL_ACCESS, 0, 0, 0);
}

static int event_exists(const char *svc, uint32_t profile, uint64_t sid, const char *object)
{
    char name[300];
    wchar_t wname[300];
    if (nipc__win_shm_name(g_dir, svc, TOKEN, profile, sid, object, name, sizeof name) != NIPC_OK)
        return 0;
    nipc__win_widen(name, wname);
    HANDLE h = OpenEventW(SYNCHRONIZE, FALSE, wname);
    if (h)
        CloseHandle(h);
    return h != NULL;
}

static uint32_t u32_at(const uint8_t *b, size_t off)
{
    uint32_t v;
    memcpy(&v, b + off, sizeof v);
    return v;
}

static uint64_t u64_at(const uint8_t *b, size_t off)
{
    uint64_t v;
    memcpy(&v, b + off, sizeof v);
    return v;
}

/* Header layout, attach checks and the data plane between two handles. */
static void test_shm_region(void)
{
    char svc[64];
    fresh_service(svc, sizeof svc);
    nipc__shm_t *srv = NULL, *cli = NULL, *dup = NULL;
    CHECK_ERR(nipc__shm_create(g_dir, svc, 5, NIPC_PROFILE_SHM_HYBRID, TOKEN, 4100, 65600, &srv),
              NIPC_ERR_INVALID_ARGUMENT); /* not a multiple of 64 */
    CHECK_ERR(nipc__shm_create(g_dir, svc, 5, 0x08, TOKEN, 4160, 65600, &srv),
              NIPC_ERR_INVALID_ARGUMENT);
    REQUIRE(nipc__shm_create(g_dir, svc, 5, NIPC_PROFILE_SHM_HYBRID, TOKEN, 4160, 65600, &srv) ==
            NIPC_OK);
    CHECK_ERR(nipc__shm_create(g_dir, svc, 5, NIPC_PROFILE_SHM_HYBRID, TOKEN, 4160, 65600, &dup),
              NIPC_ERR_ADDRESS_IN_USE);
    CHECK(event_exists(svc, 2, 5, "req_event") && event_exists(svc, 2, 5, "resp_event"));

    HANDLE mh;
    uint8_t *b = map_region(svc, 2, 5, &mh);
    REQUIRE(b);
    CHECK_EQ_U64(u32_at(b, 0), 0x4e535748u);
    CHECK_EQ_U64(u32_at(b, 4), 3);
    CHECK_EQ_U64(u32_at(b, 8), 128);
    CHECK_EQ_U64(u32_at(b, 12), 2);
    CHECK_EQ_U64(u32_at(b, 16), 128);
    CHECK_EQ_U64(u32_at(b, 20), 4160);
    CHECK_EQ_U64(u32_at(b, 24), 128 + 4160); /* already a multiple of 64 */
    CHECK_EQ_U64(u32_at(b, 28), 65600);
    CHECK_EQ_U64(u32_at(b, 32), 1024);
    for (size_t off = 36; off < 128; off += 4)
        CHECK_EQ_U64(u32_at(b, off), 0);

    /* Attach: wrong token, session or profile name other objects. */
    CHECK_ERR(nipc__shm_attach(g_dir, svc, 5, NIPC_PROFILE_SHM_HYBRID, TOKEN + 1, -1, &cli),
              NIPC_ERR_SHM_NOT_READY);
    CHECK_ERR(nipc__shm_attach(g_dir, svc, 6, NIPC_PROFILE_SHM_HYBRID, TOKEN, -1, &cli),
              NIPC_ERR_SHM_NOT_READY);
    CHECK_ERR(nipc__shm_attach(g_dir, svc, 5, NIPC_PROFILE_SHM_BUSYWAIT, TOKEN, -1, &cli),
              NIPC_ERR_SHM_NOT_READY);
    /* Every header check, by corrupting one field at a time. */
    static const struct {
        size_t off;
        uint32_t bad;
        nipc_error_t err;
    } bad[] = {
        {0, 0x4e53484du, NIPC_ERR_BAD_MAGIC},   {4, 2, NIPC_ERR_BAD_VERSION},
        {8, 64, NIPC_ERR_BAD_HEADER_LEN},      {12, 4, NIPC_ERR_SHM_BAD_PROFILE},
        {16, 64, NIPC_ERR_SHM_BAD_SIZE},       {16, 0, NIPC_ERR_SHM_BAD_SIZE},
        {20, 4161, NIPC_ERR_SHM_BAD_SIZE},     {20, 8192, NIPC_ERR_SHM_BAD_SIZE},
        {24, 4224, NIPC_ERR_SHM_BAD_SIZE},     {28, 0, NIPC_ERR_SHM_BAD_SIZE},
        {28, 1u << 30, NIPC_ERR_SHM_BAD_SIZE}, {24, 0xfffff000u, NIPC_ERR_SHM_BAD_SIZE},
    };
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        uint32_t saved = u32_at(b, bad[k].off);
        memcpy(b + bad[k].off, &bad[k].bad, 4);
        nipc_error_t err = nipc__shm_attach(g_dir, svc, 5, NIPC_PROFILE_SHM_HYBRID, TOKEN, -1, &cli);
        if (err != bad[k].err)
            fprintf(stderr, "  field @%zu = %u\n", bad[k].off, (unsigned)bad[k].bad);
        CHECK_ERR(err, bad[k].err);
        memcpy(b + bad[k].off, &saved, 4);
    }
    REQUIRE(nipc__shm_attach(g_dir, svc, 5, NIPC_PROFILE_SHM_HYBRID, TOKEN, -1, &cli) == NIPC_OK);
    CHECK_EQ_U64(nipc__shm_request_capacity(cli), 4160);
    CHECK_EQ_U64(nipc__shm_response_capacity(cli), 65600);

    /* Client -> server. */
    uint8_t hdr[32], payload[4128], got[70000];
    fill(hdr, sizeof hdr, 1);
    fill(payload, sizeof payload, 2);
    uint32_t len = 0;
    CHECK_ERR(nipc__shm_publish(cli, hdr, 0, NULL, 0), NIPC_ERR_INVALID_ARGUMENT);
    CHECK_ERR(nipc__shm_publish(cli, hdr, 32, payload, 4129), NIPC_ERR_TOO_LARGE);
    CHECK_OK(nipc__shm_publish(cli, hdr, 32, payload, 4128)); /* exactly the area */
    CHECK_EQ_U64(u32_at(b, 36), 4160);                         /* req_len */
    CHECK_EQ_U64(u64_at(b, 64), 1);                            /* req_seq */
    CHECK_OK(nipc__shm_consume(srv, got, sizeof got, &len, nipc__deadline(5000), NULL, NULL));
    CHECK(len == 4160 && memcmp(got, hdr, 32) == 0 && memcmp(got + 32, payload, 4128) == 0);
    /* Server -> client; a buffer smaller than the message: consumed, TOO_LARGE. */
    CHECK_OK(nipc__shm_publish(srv, hdr, 32, payload, 100));
    CHECK_EQ_U64(u32_at(b, 40), 132);
    CHECK_EQ_U64(u64_at(b, 72), 1);
    CHECK_ERR(nipc__shm_consume(cli, got, 100, &len, nipc__deadline(5000), NULL, NULL),
              NIPC_ERR_TOO_LARGE);
    CHECK_OK(nipc__shm_publish(srv, hdr, 32, payload, 10));
    CHECK_OK(nipc__shm_consume(cli, got, sizeof got, &len, nipc__deadline(5000), NULL, NULL));
    CHECK(len == 42 && memcmp(got + 32, payload, 10) == 0);

    /* Nothing there: timeout; abort. The waiting flag is down afterwards. */
    uint64_t t0 = nipc__now_ms();
    CHECK_ERR(nipc__shm_consume(srv, got, sizeof got, &len, nipc__deadline(150), NULL, NULL),
              NIPC_ERR_TIMEOUT);
    CHECK(nipc__now_ms() - t0 >= 140);
    CHECK_EQ_U64(u32_at(b, 48), 0); /* req_server_waiting */
    nipc_abort_t *ab;
    REQUIRE(nipc_abort_create(&ab) == NIPC_OK);
    nipc_abort_trigger(ab);
    CHECK_ERR(nipc__shm_consume(srv, got, sizeof got, &len, nipc__deadline(5000), ab, NULL),
              NIPC_ERR_ABORTED);
    nipc_abort_free(ab);

    /* A length of zero is corrupt, and consumed. */
    int32_t zero = 0;
    CHECK_OK(nipc__shm_publish(cli, hdr, 32, payload, 1));
    memcpy(b + 36, &zero, 4);
    CHECK_ERR(nipc__shm_consume(srv, got, sizeof got, &len, nipc__deadline(5000), NULL, NULL),
              NIPC_ERR_CORRUPT);

    /* The client says goodbye: flag set, the waiting server learns at once. */
    nipc__shm_close(cli);
    CHECK_EQ_U64(u32_at(b, 44), 1); /* req_client_closed */
    t0 = nipc__now_ms();
    CHECK_ERR(nipc__shm_consume(srv, got, sizeof got, &len, nipc__deadline(10000), NULL, NULL),
              NIPC_ERR_DISCONNECTED);
    CHECK(nipc__now_ms() - t0 < 5000);
    CHECK_ERR(nipc__shm_publish(srv, hdr, 32, payload, 1), NIPC_ERR_DISCONNECTED);
    nipc__shm_close(srv);
    UnmapViewOfFile(b);
    CloseHandle(mh);
    /* Objects die with their last handle. */
    CHECK(!event_exists(svc, 2, 5, "req_event"));
    CHECK_ERR(nipc__shm_attach(g_dir, svc, 5, NIPC_PROFILE_SHM_HYBRID, TOKEN, -1, &cli),
              NIPC_ERR_SHM_NOT_READY);

    /* BUSYWAIT: no events; the server's goodbye reaches a polling client. */
    REQUIRE(nipc__shm_create(g_dir, svc, 7, NIPC_PROFILE_SHM_BUSYWAIT, TOKEN, 128, 128, &srv) ==
            NIPC_OK);
    CHECK(!event_exists(svc, 4, 7, "req_event") && !event_exists(svc, 4, 7, "resp_event"));
    REQUIRE(nipc__shm_attach(g_dir, svc, 7, NIPC_PROFILE_SHM_BUSYWAIT, TOKEN, -1, &cli) == NIPC_OK);
    CHECK_OK(nipc__shm_publish(cli, hdr, 32, payload, 96));
    CHECK_OK(nipc__shm_consume(srv, got, sizeof got, &len, nipc__deadline(5000), NULL, NULL));
    CHECK_EQ_U64(len, 128);
    CHECK_ERR(nipc__shm_consume(cli, got, sizeof got, &len, nipc__deadline(120), NULL, NULL),
              NIPC_ERR_TIMEOUT);
    nipc__shm_close(srv);
    CHECK_ERR(nipc__shm_consume(cli, got, sizeof got, &len, nipc__deadline(10000), NULL, NULL),
              NIPC_ERR_DISCONNECTED);
    nipc__shm_close(cli);
}

static void test_echo_shm(void)
{
    for (int k = 1; k <= 2; k++) {
        uint32_t profile = all_profiles[k];
        char svc[64];
        fresh_service(svc, sizeof svc);
        t_proc_t *srv = spawn_server(svc, 0x07, BIG_LIMIT, 0);
        REQUIRE(srv);
        echo_sizes(svc, profile, 0, BIG_LIMIT);

        nipc_transport_config_t cfg = make_cfg(0x07, profile, 65536, 0, TOKEN);
        nipc_session_t *s;
        CHECK_OK(connect_retry(g_dir, svc, &cfg, &s));
        if (s) {
            const nipc_session_info_t *i = nipc_session_info(s);
            CHECK_EQ_U64(i->selected_profile, profile);
            /* Capacities come from the server's limits, not the agreed ones. */
            CHECK_EQ_U64(i->shm_request_capacity, nipc__align64(32 + (uint64_t)BIG_LIMIT));
            CHECK_EQ_U64(i->shm_response_capacity, nipc__align64(32 + (uint64_t)BIG_LIMIT));
            CHECK_EQ_U64(i->max_request_payload, 65536);
            uint8_t b[1000];
            for (uint64_t id = 1; id <= 200; id++) {
                fill(b, (size_t)(id * 5), (uint32_t)id);
                if (!echo_once(s, id, b, (size_t)(id * 5))) {
                    CHECK(0);
                    break;
                }
            }
            /* One request at a time over SHM. */
            nipc_header_t h = nipc_header_make(NIPC_KIND_REQUEST, CODE_ECHO, 0, 0, 0, 1, 500);
            CHECK_OK(nipc_session_send(s, &h, b, 8, 5000, NULL));
            h.message_id = 501;
            CHECK_ERR(nipc_session_send(s, &h, b, 8, 5000, NULL), NIPC_ERR_LIMIT_EXCEEDED);
            nipc_message_t m;
            CHECK_OK(nipc_session_receive(s, &m, 5000, NULL));
            CHECK_EQ_U64(m.header.message_id, 500);
            nipc_session_close(s);
        }
        /* Preferences: the client's decide; without any, SHM wins. */
        cfg = make_cfg(0x07, NIPC_PROFILE_BASELINE, 1024, 0, TOKEN);
        CHECK_OK(connect_retry(g_dir, svc, &cfg, &s));
        if (s) {
            CHECK_EQ_U64(nipc_session_info(s)->selected_profile, NIPC_PROFILE_BASELINE);
            nipc_session_close(s);
        }
        cfg = make_cfg(NIPC_PROFILE_BASELINE | profile, 0, 1024, 0, TOKEN);
        CHECK_OK(connect_retry(g_dir, svc, &cfg, &s));
        if (s) {
            CHECK_EQ_U64(nipc_session_info(s)->selected_profile, profile);
            nipc_session_close(s);
        }
        t_kill(srv);
    }
}

/* A client that breaks the request limit gets LIMIT_EXCEEDED, then the
 * door; one that sends an oversized packet gets the door. */
static void test_hostile_overlimit(void)
{
    char svc[64];
    fresh_service(svc, sizeof svc);
    nipc_transport_config_t cfg = make_cfg(NIPC_PROFILE_BASELINE, 0, 4096, 0, TOKEN);
    nipc_listener_t *l;
    REQUIRE(nipc_listener_create(g_dir, svc, &cfg, &l) == NIPC_OK);
    const char *args[] = {"--peer", "overlimit", g_dir, svc, NULL};
    t_proc_t *p = t_spawn(args);
    REQUIRE(p);
    nipc_session_t *s = NULL;
    CHECK_OK(accept_one(l, &cfg, 1, &s));
    if (s) {
        CHECK_EQ_U64(nipc_session_info(s)->max_request_payload, 1024);
        nipc_message_t m;
        CHECK_ERR(nipc_session_receive(s, &m, 10000, NULL), NIPC_ERR_LIMIT_EXCEEDED);
        CHECK_EQ_U64(m.header.payload_len, 4096);
        CHECK_EQ_U64(m.header.message_id, 4242);
        nipc_header_t h = nipc_header_make(NIPC_KIND_RESPONSE, CODE_ECHO, 0,
                                           NIPC_STATUS_LIMIT_EXCEEDED, 0, 1, 4242);
        CHECK_OK(nipc_session_send(s, &h, NULL, 0, 5000, NULL));
        nipc_session_close(s);
    }
    CHECK_EQ_U64(wait_exit(p, 20000), 0);

    /* A packet longer than the agreed packet size (ERROR_MORE_DATA): a
     * protocol violation; the rest of it never poses as a message. */
    cfg = make_cfg(NIPC_PROFILE_BASELINE, 0, 65536, 0, TOKEN);
    const char *args2[] = {"--peer", "bigpacket", g_dir, svc, NULL};
    p = t_spawn(args2);
    REQUIRE(p);
    s = NULL;
    CHECK_OK(accept_one(l, &cfg, 2, &s));
    if (s) {
        CHECK_EQ_U64(nipc_session_info(s)->packet_size, 4096);
        nipc_message_t m;
        CHECK_ERR(nipc_session_receive(s, &m, 10000, NULL), NIPC_ERR_PROTOCOL);
        CHECK_ERR(nipc_session_receive(s, &m, 100, NULL), NIPC_ERR_DISCONNECTED);
        nipc_session_close(s);
    }
    CHECK_EQ_U64(wait_exit(p, 20000), 0);
    nipc_listener_free(l);
}

/* Client of test_long_records: connects, then one ECHO round trip. */
struct long_ack_client {
    const char *svc;
    nipc_error_t connect, call;
    uint64_t reply_id;
};

static void long_ack_client_main(void *arg)
{
    struct long_ack_client *lc = arg;
    nipc_transport_config_t cfg = make_cfg(NIPC_PROFILE_BASELINE, 0, 1024, 0, TOKEN);
    nipc_session_t *s = NULL;
    lc->connect = nipc_session_connect(g_dir, lc->svc, &cfg, &s);
    if (lc->connect != NIPC_OK)
        return;
    uint8_t b[16];
    fill(b, sizeof b, 3);
    nipc_header_t h = nipc_header_make(NIPC_KIND_REQUEST, CODE_ECHO, 0, 0, sizeof b, 1, 11);
    nipc_message_t m;
    lc->call = nipc_session_send(s, &h, b, sizeof b, 10000, NULL);
    if (lc->call == NIPC_OK)
        lc->call = nipc_session_receive(s, &m, 10000, NULL);
    if (lc->call == NIPC_OK)
        lc->reply_id = m.header.message_id;
    nipc_session_close(s);
}

/*
 * Handshake records longer than 128 bytes, which upstream accepts (the
 * first 128 bytes decide): the rest of such a message is dropped on the
 * Named Pipe too, as a SEQPACKET socket drops it, so the session that
 * follows stays in step, on the server side (a long HELLO) and on the
 * client side (a long HELLO_ACK).
 */
static void test_long_records(void)
{
    char svc[64];
    fresh_service(svc, sizeof svc);
    nipc_transport_config_t cfg = make_cfg(NIPC_PROFILE_BASELINE, 0, 4096, 0, TOKEN);
    nipc_listener_t *l;
    REQUIRE(nipc_listener_create(g_dir, svc, &cfg, &l) == NIPC_OK);
    const char *args[] = {"--peer", "longhello", g_dir, svc, NULL};
    t_proc_t *p = t_spawn(args);
    REQUIRE(p);
    nipc_session_t *s = NULL;
    CHECK_OK(accept_one(l, &cfg, 1, &s));
    if (s) {
        serve_session(s); /* answers the ECHO, returns when the peer closes */
        nipc_session_close(s);
    }
    CHECK_EQ_U64(wait_exit(p, 20000), 0);

    /* A raw server answers the client's HELLO with a 230-byte record. */
    struct long_ack_client lc = {svc, NIPC_ERR_IO, NIPC_ERR_IO, 0};
    nipc__thread_t *th;
    REQUIRE(nipc__thread_start(&th, long_ack_client_main, &lc) == NIPC_OK);
    nipc_pending_t *pend = NULL;
    CHECK_OK(nipc_listener_accept(l, 20000, &pend));
    if (pend) {
        nipc__conn_t *c = pend->conn;
        uint8_t buf[512];
        size_t got = 0;
        uint64_t dl = nipc__deadline(10000);
        nipc_hello_t hello;
        CHECK_OK(nipc__conn_recv(c, buf, sizeof buf, NULL, 0, &got, 1, dl, NULL));
        CHECK_OK(nipc_hello_decode(buf + NIPC_HEADER_SIZE, got - NIPC_HEADER_SIZE, &hello));
        nipc_hello_ack_t ack = {
            .layout_version = 1,
            .server_supported_profiles = NIPC_PROFILE_BASELINE,
            .intersection_profiles = NIPC_PROFILE_BASELINE,
            .selected_profile = NIPC_PROFILE_BASELINE,
            .agreed_max_request_payload_bytes = hello.max_request_payload_bytes,
            .agreed_max_request_batch_items = hello.max_request_batch_items,
            .agreed_max_response_payload_bytes = hello.max_response_payload_bytes,
            .agreed_max_response_batch_items = hello.max_response_batch_items,
            .agreed_packet_size = hello.packet_size,
            .session_id = 1,
        };
        nipc__handshake_encode_ack(NIPC_STATUS_OK, &ack, buf);
        memset(buf + NIPC_HEADER_SIZE + 48, 0xee, 150);
        CHECK_OK(nipc__conn_send(c, buf, NIPC_HEADER_SIZE + 48 + 150, NULL, 0, dl, NULL));
        /* The client's request, echoed back raw. */
        CHECK_OK(nipc__conn_recv(c, buf, sizeof buf, NULL, 0, &got, 1, dl, NULL));
        nipc_header_t h;
        CHECK_OK(nipc_header_decode(buf, got, &h));
        CHECK_EQ_U64(h.message_id, 11);
        h.kind = NIPC_KIND_RESPONSE;
        nipc_header_encode(&h, buf);
        CHECK_OK(nipc__conn_send(c, buf, got, NULL, 0, dl, NULL));
    }
    nipc__thread_join(th); /* before the close: the answer must be read first */
    if (pend)
        nipc_pending_free(pend);
    CHECK_OK(lc.connect);
    CHECK_OK(lc.call);
    CHECK_EQ_U64(lc.reply_id, 11);
    nipc_listener_free(l);
}

/* The server process dies while the client waits for an answer. */
static void test_server_death(void)
{
    for (size_t k = 0; k < 3; k++) {
        uint32_t profile = all_profiles[k];
        char svc[64];
        fresh_service(svc, sizeof svc);
        t_proc_t *srv = spawn_server(svc, 0x07, 65536, 0);
        REQUIRE(srv);
        nipc_transport_config_t cfg = make_cfg(0x07, profile, 1024, 0, TOKEN);
        nipc_session_t *s;
        CHECK_OK(connect_retry(g_dir, svc, &cfg, &s));
        if (!s) {
            t_kill(srv);
            continue;
        }
        CHECK_EQ_U64(nipc_session_info(s)->selected_profile, profile);
        CHECK_OK(send_code(s, CODE_NO_REPLY, 1));
        struct delayed d = {300, kill_proc, srv};
        nipc__thread_t *th;
        REQUIRE(nipc__thread_start(&th, delayed_main, &d) == NIPC_OK);
        uint64_t t0 = nipc__now_ms();
        nipc_message_t m;
        CHECK_ERR(nipc_session_receive(s, &m, 30000, NULL), NIPC_ERR_DISCONNECTED);
        uint64_t took = nipc__now_ms() - t0;
        fprintf(stderr, "  profile %u: server killed, client saw it after %llu ms\n",
                (unsigned)profile, (unsigned long long)took);
        CHECK(took < T_MS(10000));
        nipc__thread_join(th);
        CHECK_EQ_U64(nipc_session_in_flight(s), 0);
        CHECK_ERR(nipc_session_receive(s, &m, 100, NULL), NIPC_ERR_DISCONNECTED);
        if (profile == NIPC_PROFILE_BASELINE)
            CHECK_ERR(send_code(s, CODE_ECHO, 2), NIPC_ERR_DISCONNECTED);
        nipc_session_close(s);
    }
}

/* The client process dies while the server waits for a request. */
static void test_client_death(void)
{
    for (size_t k = 0; k < 3; k++) {
        uint32_t profile = all_profiles[k];
        char svc[64], prof[8];
        fresh_service(svc, sizeof svc);
        snprintf(prof, sizeof prof, "%u", (unsigned)profile);
        nipc_transport_config_t cfg = make_cfg(0x07, 0, 4096, 0, TOKEN);
        nipc_listener_t *l;
        REQUIRE(nipc_listener_create(g_dir, svc, &cfg, &l) == NIPC_OK);
        const char *args[] = {"--peer", "hold", g_dir, svc, prof, NULL};
        t_proc_t *p = t_spawn(args);
        REQUIRE(p);
        nipc_session_t *s = NULL;
        CHECK_OK(accept_one(l, &cfg, 1, &s));
        if (s) {
            CHECK_EQ_U64(nipc_session_info(s)->selected_profile, profile);
            struct delayed d = {300, kill_proc, p};
            nipc__thread_t *th;
            REQUIRE(nipc__thread_start(&th, delayed_main, &d) == NIPC_OK);
            uint64_t t0 = nipc__now_ms();
            nipc_message_t m;
            CHECK_ERR(nipc_session_receive(s, &m, 30000, NULL), NIPC_ERR_DISCONNECTED);
            uint64_t took = nipc__now_ms() - t0;
            fprintf(stderr, "  profile %u: client killed, server saw it after %llu ms\n",
                    (unsigned)profile, (unsigned long long)took);
            CHECK(took < T_MS(10000));
            nipc__thread_join(th);
            nipc_session_close(s);
        } else {
            t_kill(p);
        }
        nipc_listener_free(l);
    }
}

static void test_timeouts(void)
{
    char svc[64];
    fresh_service(svc, sizeof svc);
    t_proc_t *srv = spawn_server(svc, 0x07, 4 * MIB, 0);
    REQUIRE(srv);
    for (size_t k = 0; k < 3; k++) {
        uint32_t profile = all_profiles[k];
        nipc_transport_config_t cfg = make_cfg(0x07, profile, 4 * MIB, 0, TOKEN);
        nipc_session_t *s;
        CHECK_OK(connect_retry(g_dir, svc, &cfg, &s));
        if (!s)
            continue;
        /* An answer that comes late: TIMEOUT first, then the answer. */
        CHECK_OK(send_code(s, CODE_LATE_REPLY, 1));
        uint64_t t0 = nipc__now_ms();
        nipc_message_t m;
        CHECK_ERR(nipc_session_receive(s, &m, 150, NULL), NIPC_ERR_TIMEOUT);
        uint64_t took = nipc__now_ms() - t0;
        CHECK(took >= 140 && took < T_MS(5000));
        CHECK_OK(nipc_session_receive(s, &m, 10000, NULL));
        CHECK_EQ_U64(m.header.message_id, 1);
        uint8_t b[64];
        fill(b, sizeof b, 3);
        CHECK(echo_once(s, 2, b, sizeof b));
        nipc_session_close(s);
    }

    /* A server that stops reading cannot hold a sender past its deadline. */
    nipc_transport_config_t cfg = make_cfg(NIPC_PROFILE_BASELINE, 0, 4 * MIB, 0, TOKEN);
    nipc_session_t *s;
    CHECK_OK(connect_retry(g_dir, svc, &cfg, &s));
    if (s) {
        CHECK_OK(send_code(s, CODE_STALL, 1));
        uint8_t *big = calloc(1, 4 * MIB);
        REQUIRE(big);
        nipc_header_t h = nipc_header_make(NIPC_KIND_REQUEST, CODE_ECHO, 0, 0, 0, 1, 2);
        uint64_t t0 = nipc__now_ms();
        CHECK_ERR(nipc_session_send(s, &h, big, 4 * MIB, 300, NULL), NIPC_ERR_TIMEOUT);
        uint64_t took = nipc__now_ms() - t0;
        CHECK(took >= 250 && took < T_MS(5000));
        free(big);
        nipc_session_close(s);
    }
    t_kill(srv);

    /* Accept with nobody there; a silent client cannot stall the handshake. */
    fresh_service(svc, sizeof svc);
    nipc_listener_t *l;
    REQUIRE(nipc_listener_create(g_dir, svc, NULL, &l) == NIPC_OK);
    nipc_pending_t *p;
    uint64_t t0 = nipc__now_ms();
    CHECK_ERR(nipc_listener_accept(l, 0, &p), NIPC_ERR_TIMEOUT);
    CHECK_ERR(nipc_listener_accept(l, 150, &p), NIPC_ERR_TIMEOUT);
    CHECK(nipc__now_ms() - t0 >= 140);
    const char *args[] = {"--peer", "silent", g_dir, svc, NULL};
    t_proc_t *peer = t_spawn(args);
    REQUIRE(peer);
    CHECK_OK(nipc_listener_accept(l, 20000, &p));
    nipc_transport_config_t hs = make_cfg(0, 0, 0, 0, 0);
    hs.handshake_timeout_ms = 200;
    nipc_session_t *ss = NULL;
    t0 = nipc__now_ms();
    CHECK_ERR(nipc_pending_accept(p, &hs, 1, &ss), NIPC_ERR_TIMEOUT);
    CHECK(nipc__now_ms() - t0 >= 190);
    t_kill(peer);
    nipc_listener_free(l);
}

static void test_abort(void)
{
    char svc[64];
    fresh_service(svc, sizeof svc);
    t_proc_t *srv = spawn_server(svc, 0x07, 65536, 0);
    REQUIRE(srv);
    nipc_abort_t *ab;
    REQUIRE(nipc_abort_create(&ab) == NIPC_OK);
    CHECK(!nipc_abort_is_set(ab));
    for (size_t k = 0; k < 3; k++) {
        uint32_t profile = all_profiles[k];
        nipc_transport_config_t cfg = make_cfg(0x07, profile, 65536, 0, TOKEN);
        nipc_session_t *s;
        CHECK_OK(connect_retry(g_dir, svc, &cfg, &s));
        if (!s)
            continue;
        CHECK_OK(send_code(s, CODE_NO_REPLY, 1));
        struct delayed d = {200, trigger_abort, ab};
        nipc__thread_t *th;
        REQUIRE(nipc__thread_start(&th, delayed_main, &d) == NIPC_OK);
        uint64_t t0 = nipc__now_ms();
        nipc_message_t m;
        CHECK_ERR(nipc_session_receive(s, &m, 30000, ab), NIPC_ERR_ABORTED);
        uint64_t took = nipc__now_ms() - t0;
        CHECK(took >= 150 && took < T_MS(10000));
        nipc__thread_join(th);
        CHECK(nipc_abort_is_set(ab));
        /* Sticky until cleared; the session survives an abort before any byte. */
        CHECK_ERR(nipc_session_receive(s, &m, 30000, ab), NIPC_ERR_ABORTED);
        nipc_abort_clear(ab);
        CHECK(!nipc_abort_is_set(ab));
        CHECK_ERR(nipc_session_receive(s, &m, 100, ab), NIPC_ERR_TIMEOUT);
        if (profile == NIPC_PROFILE_BASELINE) {
            /* The no-reply request stays in flight; others still get answers. */
            uint8_t b[16] = {1, 2, 3};
            CHECK(echo_once(s, 2, b, sizeof b));
        }
        nipc_session_close(s);
    }
    nipc_abort_free(ab);
    t_kill(srv);
}

static void accept_thread(void *arg)
{
    void **a = arg;
    nipc_pending_t *p = NULL;
    *(nipc_error_t *)a[1] = nipc_listener_accept(a[0], 60000, &p);
    nipc_pending_free(p);
}

static void test_listener_wake(void)
{
    char svc[64];
    fresh_service(svc, sizeof svc);
    nipc_listener_t *l;
    REQUIRE(nipc_listener_create(g_dir, svc, NULL, &l) == NIPC_OK);
    for (int round = 0; round < 2; round++) {
        nipc_error_t result = NIPC_ERR_IO;
        void *args[2] = {l, &result};
        nipc__thread_t *th;
        REQUIRE(nipc__thread_start(&th, accept_thread, args) == NIPC_OK);
        struct delayed d = {200, wake_listener, l};
        uint64_t t0 = nipc__now_ms();
        delayed_main(&d);
        nipc__thread_join(th);
        CHECK_ERR(result, NIPC_ERR_TIMEOUT);
        CHECK(nipc__now_ms() - t0 < 10000);
    }
    /* The listener still accepts after being woken. */
    const char *args[] = {"--peer", "echo", g_dir, svc, "1", "5", NULL};
    t_proc_t *p = t_spawn(args);
    REQUIRE(p);
    nipc_session_t *s = NULL;
    nipc_transport_config_t cfg = make_cfg(NIPC_PROFILE_BASELINE, 0, 65536, 0, TOKEN);
    CHECK_OK(accept_one(l, &cfg, 1, &s));
    if (s) {
        for (int i = 0; i < 5; i++) {
            nipc_message_t m;
            CHECK_OK(nipc_session_receive(s, &m, 10000, NULL));
            nipc_header_t h = m.header;
            h.kind = NIPC_KIND_RESPONSE;
            CHECK_OK(nipc_session_send(s, &h, m.payload, m.header.payload_len, 10000, NULL));
        }
        CHECK_EQ_U64(wait_exit(p, 20000), 0);
        nipc_session_close(s);
    } else {
        t_kill(p);
    }
    nipc_listener_free(l);
}

static void test_address_in_use(void)
{
    char svc[64];
    fresh_service(svc, sizeof svc);
    nipc_listener_t *l, *l2 = NULL;
    REQUIRE(nipc_listener_create(g_dir, svc, NULL, &l) == NIPC_OK);
    nipc_error_t same = nipc_listener_create(g_dir, svc, NULL, &l2);
    const char *args[] = {"--peer", "listen", g_dir, svc, NULL};
    int other = wait_exit(t_spawn(args), 20000);
    if (under_wine()) {
        /* wine ignores FILE_FLAG_FIRST_PIPE_INSTANCE (docs/windows.md). */
        fprintf(stderr, "  SKIPPED under wine: second listener -> ADDRESS_IN_USE "
                        "(got %s in-process, exit %d cross-process)\n",
                nipc_error_name(same), other);
    } else {
        CHECK_ERR(same, NIPC_ERR_ADDRESS_IN_USE);
        CHECK_EQ_U64(other, NIPC_ERR_ADDRESS_IN_USE);
    }
    if (same == NIPC_OK)
        nipc_listener_free(l2);
    /* Another service is another name; a freed name can be taken again. */
    char other_svc[64];
    fresh_service(other_svc, sizeof other_svc);
    CHECK_OK(nipc_listener_create(g_dir, other_svc, NULL, &l2));
    nipc_listener_free(l2);
    nipc_listener_free(l);
    CHECK_OK(nipc_listener_create(g_dir, svc, NULL, &l));
    nipc_listener_free(l);
}

/* One thread per accepted session. */
static void session_thread(void *s)
{
    serve_session(s);
    nipc_session_close(s);
}

/*
 * Six client processes at once, each session served by its own thread:
 * with the default backlog of listening instances, and with a single
 * instance, where clients meet ERROR_PIPE_BUSY and must wait for one.
 */
static void concurrent_clients(int backlog)
{
    char svc[64];
    fresh_service(svc, sizeof svc);
    nipc_transport_config_t cfg = make_cfg(0x07, 0, 65536, 0, TOKEN);
    cfg.backlog = backlog;
    nipc_listener_t *l;
    REQUIRE(nipc_listener_create(g_dir, svc, &cfg, &l) == NIPC_OK);
    enum { N = 6 };
    t_proc_t *peers[N];
    static const char *const prof[] = {"1", "2", "4"};
    for (int i = 0; i < N; i++) {
        const char *args[] = {"--peer", "echo-now", g_dir, svc, prof[i % 3], "100", NULL};
        peers[i] = t_spawn(args);
        REQUIRE(peers[i]);
    }
    nipc__thread_t *threads[N];
    int started = 0;
    for (int i = 0; i < N; i++) {
        nipc_session_t *s = NULL;
        nipc_error_t err = accept_one(l, &cfg, (uint64_t)i + 1, &s);
        CHECK_OK(err);
        if (err != NIPC_OK)
            break;
        REQUIRE(nipc__thread_start(&threads[started], session_thread, s) == NIPC_OK);
        started++;
    }
    for (int i = 0; i < N; i++)
        CHECK_EQ_U64(wait_exit(peers[i], 60000), 0);
    for (int i = 0; i < started; i++)
        nipc__thread_join(threads[i]);
    nipc_listener_free(l);
}

static void test_concurrent_clients(void)
{
    concurrent_clients(0);
    concurrent_clients(1);
}

struct connect_job {
    const char *svc;
    nipc_transport_config_t cfg;
    nipc_error_t err;
    nipc_session_t *s;
};

static void connect_thread(void *arg)
{
    struct connect_job *j = arg;
    j->err = nipc_session_connect(g_dir, j->svc, &j->cfg, &j->s);
}

/*
 * Every listening instance taken: the client's open fails with
 * ERROR_PIPE_BUSY, which reads as BUSY and is retried by the session layer
 * until an accept frees an instance, or until its handshake deadline.
 */
static void test_pipe_busy(void)
{
    char svc[64];
    fresh_service(svc, sizeof svc);
    nipc_transport_config_t cfg = make_cfg(NIPC_PROFILE_BASELINE, 0, 4096, 0, TOKEN);
    cfg.backlog = 1;
    nipc_listener_t *l;
    REQUIRE(nipc_listener_create(g_dir, svc, &cfg, &l) == NIPC_OK);
    nipc__conn_t *first = NULL, *second = NULL;
    CHECK_OK(nipc__conn_connect(g_dir, svc, &first)); /* takes the only instance */
    CHECK_ERR(nipc__conn_connect(g_dir, svc, &second), NIPC_ERR_BUSY);

    /* Nobody accepts: the handshake deadline ends the wait. */
    nipc_transport_config_t c = cfg;
    c.handshake_timeout_ms = 300;
    nipc_session_t *s = NULL;
    uint64_t t0 = nipc__now_ms();
    CHECK_ERR(nipc_session_connect(g_dir, svc, &c, &s), NIPC_ERR_TIMEOUT);
    CHECK(nipc__now_ms() - t0 >= 290);

    /* An accept frees an instance: a waiting client gets in. */
    struct connect_job job = {svc, cfg, NIPC_ERR__COUNT, NULL};
    job.cfg.handshake_timeout_ms = 20000;
    nipc__thread_t *th;
    REQUIRE(nipc__thread_start(&th, connect_thread, &job) == NIPC_OK);
    Sleep(200); /* let it meet ERROR_PIPE_BUSY a few times */
    nipc_pending_t *p = NULL;
    CHECK_OK(nipc_listener_accept(l, 5000, &p)); /* the raw connection */
    nipc_pending_free(p);
    nipc__conn_close(first);
    nipc_session_t *ss = NULL;
    CHECK_OK(accept_one(l, &cfg, 2, &ss));
    nipc__thread_join(th);
    CHECK_OK(job.err);
    if (job.s && ss) {
        uint8_t b[10] = {1};
        nipc_header_t h = nipc_header_make(NIPC_KIND_REQUEST, CODE_ECHO, 0, 0, 0, 1, 1);
        CHECK_OK(nipc_session_send(job.s, &h, b, sizeof b, 5000, NULL));
        nipc_message_t m;
        CHECK_OK(nipc_session_receive(ss, &m, 5000, NULL));
        CHECK_EQ_U64(m.header.payload_len, sizeof b);
    }
    nipc_session_close(job.s);
    nipc_session_close(ss);
    nipc_listener_free(l);
}

static void test_no_handle_leaks(void)
{
    char svc[64];
    fresh_service(svc, sizeof svc);
    t_proc_t *srv = spawn_server(svc, 0x07, 65536, 0);
    REQUIRE(srv);
    nipc_session_t *s;
    nipc_transport_config_t cfg = make_cfg(0x07, 0, 65536, 0, TOKEN);
    CHECK_OK(connect_retry(g_dir, svc, &cfg, &s)); /* server up, first-use allocations done */
    if (s)
        nipc_session_close(s);
    char probe[64];
    fresh_service(probe, sizeof probe);
    nipc_listener_t *l;
    REQUIRE(nipc_listener_create(g_dir, probe, NULL, &l) == NIPC_OK);
    nipc_listener_free(l);
    int before = t_open_handles();
    CHECK(before > 0);
    for (int round = 0; round < 5; round++) {
        for (size_t k = 0; k < 3; k++) {
            cfg = make_cfg(0x07, all_profiles[k], 65536, 100, TOKEN);
            CHECK_OK(connect_retry(g_dir, svc, &cfg, &s));
            if (!s)
                continue;
            uint8_t b[500];
            fill(b, sizeof b, 9);
            CHECK(echo_once(s, 1, b, sizeof b));
            nipc_session_close(s);
        }
        cfg = make_cfg(0x07, 0, 65536, 0, TOKEN + 1);
        CHECK_ERR(connect_retry(g_dir, svc, &cfg, &s), NIPC_ERR_AUTH_FAILED);
        REQUIRE(nipc_listener_create(g_dir, probe, NULL, &l) == NIPC_OK);
        nipc_pending_t *p;
        CHECK_ERR(nipc_listener_accept(l, 0, &p), NIPC_ERR_TIMEOUT);
        nipc_listener_free(l);
        nipc_abort_t *ab;
        REQUIRE(nipc_abort_create(&ab) == NIPC_OK);
        nipc_abort_free(ab);
    }
    int after = t_open_handles();
    if (after != before)
        fprintf(stderr, "  handles: %d before, %d after\n", before, after);
    CHECK_EQ_U64(after, before);
    t_kill(srv);
}

static const t_case_t cases[] = {
    T_CASE(test_names),
    T_CASE(test_handshake_pipe),
    T_CASE(test_rejection_read_late),
    T_CASE(test_echo_pipe),
    T_CASE(test_batch_and_pipelining),
    T_CASE(test_shm_region),
    T_CASE(test_echo_shm),
    T_CASE(test_hostile_overlimit),
    T_CASE(test_long_records),
    T_CASE(test_server_death),
    T_CASE(test_client_death),
    T_CASE(test_timeouts),
    T_CASE(test_abort),
    T_CASE(test_listener_wake),
    T_CASE(test_address_in_use),
    T_CASE(test_concurrent_clients),
    T_CASE(test_pipe_busy),
    T_CASE(test_no_handle_leaks),
};

int main(int argc, char **argv)
{
    if (argc >= 3 && strcmp(argv[1], "--peer") == 0)
        return run_peer(argc, argv);
    t_init(argc, argv);
    if (!t_mkdtemp(g_dir, sizeof g_dir)) {
        fprintf(stderr, "cannot create a run directory\n");
        return 1;
    }
    int rc = t_run(cases, sizeof cases / sizeof cases[0], argc, argv);
    t_rmtree(g_dir);
    return rc;
}
