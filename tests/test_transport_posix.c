/*
 * POSIX-only Level 1 behaviour (posix.md): the UDS endpoint (socket file,
 * mode, run-dir checks, name and path rules, stale recovery, packet size
 * versus SO_SNDBUF, fd exhaustion), the Linux SHM region (file name, mode,
 * layout, full filesystem, stale detection and the startup scan, attach
 * retry), and raw hostile peers that complete a valid handshake by hand
 * and then break exactly one rule of wire.md or posix.md each.
 *
 * Every case checks the precise error, that nothing hangs past its
 * deadline, and that no fd or file is left behind. The transport-neutral
 * behaviour is in test_transport.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "netipc/protocol.h"
#include "netipc/transport.h"
#include "platform/platform.h"
#include "support.h"
#include "test.h"
#include "transport/transport_internal.h"
#include "transport_peer.h"

#define SVC "posix"
#define TOKEN 0x0123456789abcdefull

/* ---------------------------------------------------------------- fixture */

typedef struct fixture {
    char run[512];
    char sync[512];
    int handles;
} fixture_t;

static int fx_open(fixture_t *f)
{
    f->handles = t_open_handles();
    return t_mkdtemp(f->run, sizeof f->run) && t_mkdtemp(f->sync, sizeof f->sync);
}

static void fx_close(fixture_t *f)
{
    CHECK_EQ_U64(t_dir_entries(f->run), 0);
    CHECK_EQ_U64(t_open_handles(), f->handles);
    t_rmtree(f->run);
    t_rmtree(f->sync);
}

static void path_of(char *out, size_t cap, const char *dir, const char *name)
{
    snprintf(out, cap, "%s/%s", dir, name);
}

static int sock_path(char *out, size_t cap, const char *run, const char *svc)
{
    int n = snprintf(out, cap, "%s/%s.sock", run, svc);
    return n > 0 && (size_t)n < cap;
}

static void region_path(char *out, size_t cap, const char *run, const char *svc, uint64_t sid)
{
    snprintf(out, cap, "%s/%s-%016llx.ipcshm", run, svc, (unsigned long long)sid);
}

static int exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

static uint32_t align64(uint32_t x)
{
    return (x + 63u) & ~63u;
}

/* ------------------------------------------------------------ raw sockets */

static int raw_connect(const char *run, const char *svc)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    int n = snprintf(sa.sun_path, sizeof sa.sun_path, "%s/%s.sock", run, svc);
    if (n < 0 || (size_t)n >= sizeof sa.sun_path)
        return -1; /* a truncated path would address another socket */
    int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        close(fd);
        fd = -1;
    }
    return fd;
}

static int raw_listen(const char *run, const char *svc)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    int n = snprintf(sa.sun_path, sizeof sa.sun_path, "%s/%s.sock", run, svc);
    if (n < 0 || (size_t)n >= sizeof sa.sun_path)
        return -1; /* a truncated path would address another socket */
    int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    if (fd >= 0 && (bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(fd, 4) != 0)) {
        close(fd);
        fd = -1;
    }
    return fd;
}

static int raw_send(int fd, const void *buf, size_t len)
{
    return send(fd, buf, len, MSG_NOSIGNAL) == (ssize_t)len;
}

/* One packet: its length, 0 on EOF, -1 on error, -2 on timeout. */
static ssize_t raw_recv(int fd, void *buf, size_t cap, int timeout_ms)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    if (poll(&p, 1, timeout_ms) <= 0)
        return -2;
    ssize_t n = recv(fd, buf, cap, 0);
    return n < 0 && errno == ECONNRESET ? 0 : n;
}

static nipc_hello_t hello_default(uint32_t profiles, uint32_t req, uint32_t batch, uint32_t pkt)
{
    nipc_hello_t h = {
        .layout_version = 1,
        .supported_profiles = profiles,
        .max_request_payload_bytes = req,
        .max_request_batch_items = batch,
        .max_response_payload_bytes = req,
        .max_response_batch_items = batch,
        .auth_token = TOKEN,
        .packet_size = pkt,
    };
    return h;
}

/* A complete HELLO message (76 bytes) with the given header and payload. */
static size_t hello_msg(uint8_t *out, const nipc_header_t *h, const nipc_hello_t *hello)
{
    nipc_header_encode(h, out);
    nipc_hello_encode(hello, out + NIPC_HEADER_SIZE);
    return NIPC_HEADER_SIZE + NIPC_HELLO_SIZE;
}

static nipc_header_t hello_header(void)
{
    return nipc_header_make(NIPC_KIND_CONTROL, NIPC_CONTROL_HELLO, 0, 0, NIPC_HELLO_SIZE, 1, 0);
}

static nipc_error_t accept_one(nipc_listener_t *l, const nipc_transport_config_t *cfg,
                               uint64_t sid, nipc_session_t **out)
{
    nipc_pending_t *p = NULL;
    nipc_error_t err = nipc_listener_accept(l, 5000, &p);
    if (err != NIPC_OK)
        return err;
    return nipc_pending_accept(p, cfg, sid, out);
}

/*
 * A raw client that completes a valid handshake by hand against listener
 * `l`; returns its fd and the server session. Everything fits in the socket
 * buffers, so one thread drives both ends in order.
 */
static int raw_session(nipc_listener_t *l, const nipc_transport_config_t *scfg,
                       const nipc_hello_t *hello, const char *run, uint64_t sid,
                       nipc_session_t **s, nipc_hello_ack_t *ack)
{
    *s = NULL;
    int fd = raw_connect(run, SVC);
    if (fd < 0)
        return -1;
    uint8_t buf[256];
    nipc_header_t h = hello_header();
    size_t len = hello_msg(buf, &h, hello);
    nipc_error_t err = raw_send(fd, buf, len) ? accept_one(l, scfg, sid, s) : NIPC_ERR_IO;
    ssize_t n = raw_recv(fd, buf, sizeof buf, 2000);
    nipc_header_t ah;
    if (err != NIPC_OK || n != 80 || nipc_header_decode(buf, 80, &ah) != NIPC_OK ||
        ah.transport_status != 0 || nipc_hello_ack_decode(buf + 32, 48, ack) != NIPC_OK) {
        fprintf(stderr, "raw handshake failed: %s, %zd bytes\n", nipc_error_name(err), n);
        nipc_session_close(*s);
        *s = NULL;
        close(fd);
        return -1;
    }
    return fd;
}

/* ------------------------------------------------------------ echo server */

typedef struct echo_server {
    nipc_listener_t *l;
    nipc_transport_config_t cfg;
    uint64_t sid;
    int sessions;
    nipc_error_t accept_err;
    uint32_t selected;
    int served, failures;
    pthread_t th;
} echo_server_t;

/* Serves `sessions` sessions one after another: pattern echo until EOF. */
static void *echo_server_main(void *arg)
{
    echo_server_t *e = arg;
    for (int k = 0; k < e->sessions; k++) {
        nipc_session_t *s = NULL;
        e->accept_err = accept_one(e->l, &e->cfg, e->sid + (uint64_t)k, &s);
        if (!s)
            continue;
        e->selected = nipc_session_info(s)->selected_profile;
        size_t cap = nipc_session_info(s)->max_response_payload;
        uint8_t *buf = malloc(cap ? cap : 1);
        for (;;) {
            nipc_message_t m;
            nipc_error_t err = nipc_session_receive(s, &m, 10000, NULL);
            if (err != NIPC_OK) {
                e->failures += err != NIPC_ERR_DISCONNECTED;
                break;
            }
            uint32_t len = m.header.payload_len;
            e->failures += !tp_verify(m.payload, len, m.header.message_id);
            tp_fill(buf, len, tp_resp_seed(m.header.message_id));
            nipc_header_t h = nipc_header_make(NIPC_KIND_RESPONSE, m.header.code, 0, 0, 0, 1,
                                               m.header.message_id);
            if (nipc_session_send(s, &h, buf, len, 10000, NULL) != NIPC_OK) {
                e->failures++;
                break;
            }
            e->served++;
        }
        free(buf);
        nipc_session_close(s);
    }
    return NULL;
}

static int echo_start(echo_server_t *e, nipc_listener_t *l, const nipc_transport_config_t *cfg,
                      uint64_t sid, int sessions)
{
    memset(e, 0, sizeof *e);
    e->l = l;
    e->cfg = *cfg;
    e->sid = sid;
    e->sessions = sessions;
    return pthread_create(&e->th, NULL, echo_server_main, e) == 0;
}

static int client_echo(nipc_session_t *s, uint64_t id, uint8_t *buf, size_t len)
{
    tp_fill(buf, len, id);
    nipc_header_t h = nipc_header_make(NIPC_KIND_REQUEST, TP_ECHO, 0, 0, 0, 1, id);
    nipc_message_t m;
    return nipc_session_send(s, &h, buf, len, 5000, NULL) == NIPC_OK &&
           nipc_session_receive(s, &m, 5000, NULL) == NIPC_OK && m.header.message_id == id &&
           m.header.payload_len == len && tp_verify(m.payload, len, tp_resp_seed(id));
}

/* ============================================================ endpoint */

static void uds_endpoint_file(void)
{
    fixture_t f;
    REQUIRE(fx_open(&f));
    /* The mode does not depend on the caller's umask. */
    mode_t old = umask(0);
    nipc_listener_t *l = NULL;
    CHECK_OK(nipc_listener_create(f.run, SVC, NULL, &l));
    umask(old);
    char path[600];
    sock_path(path, sizeof path, f.run, SVC);
    struct stat st;
    CHECK(stat(path, &st) == 0);
    CHECK(S_ISSOCK(st.st_mode));
    CHECK_EQ_U64(st.st_mode & 07777, 0600);
    CHECK_EQ_U64(t_dir_entries(f.run), 1);
    nipc_listener_free(l);
    CHECK(!exists(path)); /* removed on close */
    fx_close(&f);
}

static void uds_run_dir_checks(void)
{
    fixture_t f;
    REQUIRE(fx_open(&f));
    nipc_listener_t *l = NULL;
    char dir[600];
    path_of(dir, sizeof dir, f.sync, "missing");
    CHECK_ERR(nipc_listener_create(dir, SVC, NULL, &l), NIPC_ERR_NOT_FOUND);
    /* A regular file is no directory. */
    path_of(dir, sizeof dir, f.sync, "file");
    tp_touch(dir);
    CHECK_ERR(nipc_listener_create(dir, SVC, NULL, &l), NIPC_ERR_NOT_FOUND);
    /* Writable by others: anyone could replace the socket. */
    path_of(dir, sizeof dir, f.sync, "open");
    CHECK(mkdir(dir, 0700) == 0);
    CHECK(chmod(dir, 0777) == 0);
    CHECK_ERR(nipc_listener_create(dir, SVC, NULL, &l), NIPC_ERR_INSECURE_DIR);
    CHECK(chmod(dir, 0703) == 0);
    CHECK_ERR(nipc_listener_create(dir, SVC, NULL, &l), NIPC_ERR_INSECURE_DIR);
    CHECK_EQ_U64(nipc_last_os_error(), EPERM);
    /* Group-writable: any member could replace the socket too. */
    CHECK(chmod(dir, 0770) == 0);
    CHECK_ERR(nipc_listener_create(dir, SVC, NULL, &l), NIPC_ERR_INSECURE_DIR);
    CHECK(chmod(dir, 0750) == 0);
    CHECK_OK(nipc_listener_create(dir, SVC, NULL, &l));
    nipc_listener_free(l);
    l = NULL;
    /* Owned by someone else. */
    if (geteuid() == 0) {
        CHECK(chmod(dir, 0700) == 0);
        CHECK(chown(dir, 65534, 65534) == 0);
        CHECK_ERR(nipc_listener_create(dir, SVC, NULL, &l), NIPC_ERR_INSECURE_DIR);
    }
    CHECK(l == NULL);
    CHECK_EQ_U64(t_dir_entries(dir), 0);
    fx_close(&f);
}

static void uds_service_names(void)
{
    static const char *const good[] = {"a", "cgroups-snapshot", "A.b_c-9", "...", ".x", "x.."};
    static const char *const bad[] = {"", ".", "..", "a/b", "/a", "a b", "a:b", "a\\b",
                                      "\xc3\xa4", "a\n", "a*"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        CHECK(nipc_service_name_valid(good[i]));
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CHECK(!nipc_service_name_valid(bad[i]));
        nipc_listener_t *l = NULL;
        nipc_session_t *s = NULL;
        CHECK_ERR(nipc_listener_create("/tmp", bad[i], NULL, &l), NIPC_ERR_BAD_SERVICE_NAME);
        CHECK_ERR(nipc_session_connect("/tmp", bad[i], NULL, &s), NIPC_ERR_BAD_SERVICE_NAME);
    }
    CHECK(!nipc_service_name_valid(NULL));

    /* "{run_dir}/{service}.sock" must fit sun_path (107 characters). */
    fixture_t f;
    REQUIRE(fx_open(&f));
    size_t room = sizeof(((struct sockaddr_un *)0)->sun_path) - 1;
    size_t longest = room - strlen(f.run) - 1 - 5;
    char name[200];
    memset(name, 'n', longest + 1);
    name[longest + 1] = 0;
    nipc_listener_t *l = NULL;
    nipc_session_t *s = NULL;
    CHECK_ERR(nipc_listener_create(f.run, name, NULL, &l), NIPC_ERR_PATH_TOO_LONG);
    CHECK_ERR(nipc_session_connect(f.run, name, NULL, &s), NIPC_ERR_PATH_TOO_LONG);
    name[longest] = 0; /* exactly 107 characters: fine, SHM included */
    nipc_transport_config_t cfg = {.supported_profiles = 0x03, .exact_profiles = 1};
    CHECK_OK(nipc_listener_create(f.run, name, &cfg, &l));
    echo_server_t e;
    if (l && echo_start(&e, l, &cfg, 1, 1)) {
        CHECK_OK(nipc_session_connect(f.run, name, &cfg, &s));
        uint8_t buf[64];
        CHECK(s && client_echo(s, 1, buf, sizeof buf));
        CHECK(s && nipc_session_info(s)->selected_profile == NIPC_PROFILE_SHM_HYBRID);
        nipc_session_close(s);
        pthread_join(e.th, NULL);
        CHECK_EQ_U64(e.failures, 0);
    }
    nipc_listener_free(l);
    fx_close(&f);
}

/* ======================================================= stale recovery */

static int dead_socket_file(const char *path)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    int n = snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
    if (n < 0 || (size_t)n >= sizeof sa.sun_path)
        return 0;
    int fd = socket(AF_UNIX, SOCK_SEQPACKET, 0);
    int ok = fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0;
    if (fd >= 0)
        close(fd); /* bound, never listened, closed: the file stays, nobody answers */
    return ok;
}

/* Creates a listener over whatever is at the path and checks it serves. */
static void expect_reclaimed(fixture_t *f, const char *what)
{
    nipc_listener_t *l = NULL;
    nipc_error_t err = nipc_listener_create(f->run, SVC, NULL, &l);
    if (err != NIPC_OK)
        fprintf(stderr, "%s: %s\n", what, nipc_error_name(err));
    CHECK_OK(err);
    if (!l)
        return;
    int fd = raw_connect(f->run, SVC);
    CHECK(fd >= 0);
    nipc_pending_t *p = NULL;
    CHECK_OK(nipc_listener_accept(l, 1000, &p));
    nipc_pending_free(p);
    if (fd >= 0)
        close(fd);
    nipc_listener_free(l);
}

static void uds_stale_recovery(void)
{
    fixture_t f;
    REQUIRE(fx_open(&f));
    char path[600], inner[700];
    sock_path(path, sizeof path, f.run, SVC);

    /* A live owner keeps its endpoint. */
    nipc_listener_t *l = NULL, *l2 = NULL;
    CHECK_OK(nipc_listener_create(f.run, SVC, NULL, &l));
    CHECK_ERR(nipc_listener_create(f.run, SVC, NULL, &l2), NIPC_ERR_ADDRESS_IN_USE);
    CHECK(l2 == NULL && exists(path));
    int fd = raw_connect(f.run, SVC); /* and it still answers */
    CHECK(fd >= 0);
    if (fd >= 0)
        close(fd);
    nipc_listener_free(l);

    /* Dead socket, regular file, empty directory: reclaimed. */
    CHECK(dead_socket_file(path));
    expect_reclaimed(&f, "dead socket");
    tp_touch(path);
    expect_reclaimed(&f, "regular file");
    CHECK(mkdir(path, 0700) == 0);
    expect_reclaimed(&f, "empty directory");
    /* A directory with content cannot be removed: the path is in use. */
    CHECK(mkdir(path, 0700) == 0);
    path_of(inner, sizeof inner, path, "keep");
    tp_touch(inner);
    CHECK_ERR(nipc_listener_create(f.run, SVC, NULL, &l), NIPC_ERR_ADDRESS_IN_USE);
    CHECK(exists(inner));
    unlink(inner);
    rmdir(path);

    /* A killed server leaves its socket and its sessions' regions. The next
     * server reclaims the socket and its startup scan removes the regions. */
    nipc_transport_config_t cfg = {.supported_profiles = 0x02, .exact_profiles = 1};
    t_proc_t *srv = tp_start_server(f.run, SVC, f.sync, 1, "echo", &cfg);
    REQUIRE(srv);
    nipc_session_t *s = NULL;
    CHECK_OK(nipc_session_connect(f.run, SVC, &cfg, &s));
    CHECK_EQ_U64(t_dir_entries(f.run), 2);
    t_kill(srv);
    if (s) {
        nipc_message_t m;
        CHECK_ERR(nipc_session_receive(s, &m, 2000, NULL), NIPC_ERR_DISCONNECTED);
        nipc_session_close(s);
    }
    CHECK_EQ_U64(t_dir_entries(f.run), 2);
    CHECK_OK(nipc_listener_create(f.run, SVC, NULL, &l));
    CHECK_EQ_U64(t_dir_entries(f.run), 1);
    nipc_listener_free(l);
    fx_close(&f);
}

static void on_alarm(int sig)
{
    (void)sig;
    static const char msg[] = "hung: blocking connect to a full backlog\n";
    ssize_t n = write(2, msg, sizeof msg - 1);
    (void)n;
    _exit(99);
}

/* A live server whose backlog is full must not make a new server or a
 * client block in connect(). */
static void uds_full_backlog(void)
{
    fixture_t f;
    REQUIRE(fx_open(&f));
    nipc_transport_config_t cfg = {.backlog = 1};
    nipc_listener_t *l = NULL;
    CHECK_OK(nipc_listener_create(f.run, SVC, &cfg, &l));
    REQUIRE(l);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    REQUIRE(sock_path(sa.sun_path, sizeof sa.sun_path, f.run, SVC));
    int fds[16], n = 0;
    for (; n < 16; n++) {
        fds[n] = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (connect(fds[n], (struct sockaddr *)&sa, sizeof sa) != 0) {
            CHECK_EQ_U64(errno, EAGAIN);
            close(fds[n]);
            break;
        }
    }
    CHECK(n < 16); /* the backlog is full now */

    signal(SIGALRM, on_alarm);
    alarm(10);
    nipc_listener_t *l2 = NULL;
    unsigned long long t0 = t_now_ms();
    CHECK_ERR(nipc_listener_create(f.run, SVC, NULL, &l2), NIPC_ERR_ADDRESS_IN_USE);
    CHECK(t_now_ms() - t0 < 200);
    /* A client waits for room, but only until its handshake deadline. */
    nipc_session_t *s = NULL;
    nipc_transport_config_t c = {.handshake_timeout_ms = 200};
    t0 = t_now_ms();
    CHECK_ERR(nipc_session_connect(f.run, SVC, &c, &s), NIPC_ERR_TIMEOUT);
    unsigned long long took = t_now_ms() - t0;
    CHECK(took >= 195 && took < T_MS(200 + 300));
    alarm(0);
    signal(SIGALRM, SIG_DFL);

    for (int i = 0; i < n; i++)
        close(fds[i]);
    nipc_listener_free(l);
    fx_close(&f);
}

/* Child: a dead socket file, fds exhausted right where the probe socket
 * would be created: ADDRESS_IN_USE, and the file must be kept. */
static int fdlimit_child(const char *run)
{
    char path[600];
    sock_path(path, sizeof path, run, SVC);
    if (!dead_socket_file(path))
        return 2;
    /* Leave exactly two free fds (listener_create's wake pipe) below the
     * limit: the next one, the probe socket, fails with EMFILE. */
    int a = open("/dev/null", O_RDONLY), b = open("/dev/null", O_RDONLY),
        c = open("/dev/null", O_RDONLY);
    close(a);
    close(b);
    close(c);
    /* Only the soft limit: valgrind refuses to change the hard one. */
    struct rlimit rl;
    if (c < 0 || getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return 3;
    rl.rlim_cur = (rlim_t)c;
    if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
        return 3;
    nipc_listener_t *l = NULL;
    CHECK_ERR(nipc_listener_create(run, SVC, NULL, &l), NIPC_ERR_ADDRESS_IN_USE);
    CHECK_EQ_U64(nipc_last_os_error(), EMFILE);
    CHECK(exists(path));
    nipc_listener_free(l);
    return t_failures ? TP_EXIT_FAILED : 0;
}

static void uds_fd_exhaustion(void)
{
    fixture_t f;
    REQUIRE(fx_open(&f));
    const char *args[] = {"--peer", "fdlimit", f.run, NULL};
    CHECK_EQ_U64(tp_finish(t_spawn(args), 10000), 0);
    char path[600];
    sock_path(path, sizeof path, f.run, SVC);
    CHECK(exists(path));
    unlink(path);
    fx_close(&f);
}

/* ========================================================= packet size */

static void uds_packet_size_sndbuf(void)
{
    fixture_t f;
    REQUIRE(fx_open(&f));
    int sp[2];
    REQUIRE(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) == 0);
    int sndbuf = 0;
    socklen_t sl = sizeof sndbuf;
    CHECK(getsockopt(sp[0], SOL_SOCKET, SO_SNDBUF, &sndbuf, &sl) == 0);
    size_t limit = (size_t)sndbuf - 32;
    /* The kernel fact behind the proposal: a record above SO_SNDBUF - 32
     * fails with EMSGSIZE, one at it goes through. */
    uint8_t *big = malloc((size_t)sndbuf + 64);
    REQUIRE(big);
    memset(big, 0x5a, (size_t)sndbuf);
    errno = 0;
    CHECK(send(sp[0], big, limit + 1, MSG_DONTWAIT) < 0 && errno == EMSGSIZE);
    CHECK(send(sp[0], big, limit, MSG_DONTWAIT) == (ssize_t)limit);
    close(sp[0]);
    close(sp[1]);

    nipc_transport_config_t cfg = {.max_request_payload_bytes = 1u << 20,
                                   .max_response_payload_bytes = 1u << 20};
    nipc_listener_t *l = NULL;
    CHECK_OK(nipc_listener_create(f.run, SVC, &cfg, &l));
    echo_server_t e;
    REQUIRE(l && echo_start(&e, l, &cfg, 1, 1));
    nipc_session_t *s = NULL;
    CHECK_OK(nipc_session_connect(f.run, SVC, &cfg, &s));
    if (s) {
        CHECK_EQ_U64(nipc_session_info(s)->packet_size, limit);
        /* Whole messages of total size (SO_SNDBUF - 32, SO_SNDBUF], and the
         * largest single packet, both ways. */
        static const size_t extra[] = {0, 1, 2, 16, 31, 32};
        for (size_t i = 0; i < sizeof extra / sizeof extra[0]; i++) {
            size_t total = limit + extra[i];
            CHECK(client_echo(s, i + 1, big, total - 32));
        }
        nipc_session_close(s);
    }
    pthread_join(e.th, NULL);
    CHECK_EQ_U64(e.failures, 0);
    CHECK_EQ_U64(e.served, 6);
    nipc_listener_free(l);
    free(big);
    fx_close(&f);
}

/* A configured packet size above what the socket can send is clamped to
 * SO_SNDBUF - 32 on both sides: a configuration cannot bring EMSGSIZE back. */
static void uds_packet_size_configured_clamped(void)
{
    fixture_t f;
    REQUIRE(fx_open(&f));
    int sp[2];
    REQUIRE(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) == 0);
    int sndbuf = 0;
    socklen_t sl = sizeof sndbuf;
    CHECK(getsockopt(sp[0], SOL_SOCKET, SO_SNDBUF, &sndbuf, &sl) == 0);
    close(sp[0]);
    close(sp[1]);
    uint32_t limit = (uint32_t)sndbuf - 32;
    static const uint32_t wanted[] = {8u << 20, 0xffffffffu};
    for (size_t w = 0; w < sizeof wanted / sizeof wanted[0]; w++) {
        nipc_transport_config_t cfg = {.max_request_payload_bytes = 1u << 20,
                                       .max_response_payload_bytes = 1u << 20,
                                       .packet_size = wanted[w]};
        nipc_listener_t *l = NULL;
        CHECK_OK(nipc_listener_create(f.run, SVC, &cfg, &l));
        echo_server_t e;
        REQUIRE(l && echo_start(&e, l, &cfg, 1, 1));
        nipc_session_t *s = NULL;
        CHECK_OK(nipc_session_connect(f.run, SVC, &cfg, &s));
        size_t len = 1u << 20; /* one packet if the clamp were missing: EMSGSIZE */
        uint8_t *big = malloc(len);
        REQUIRE(big);
        if (s) {
            CHECK_EQ_U64(nipc_session_info(s)->packet_size, limit);
            CHECK(client_echo(s, 1, big, len));
            nipc_session_close(s);
        }
        pthread_join(e.th, NULL);
        CHECK_EQ_U64(e.failures, 0);
        CHECK_EQ_U64(e.served, 1);
        nipc_listener_free(l);
        free(big);
    }
    fx_close(&f);
}

static void uds_peer_allow_list(void)
{
    fixture_t f;
    REQUIRE(fx_open(&f));
    uint32_t other = 54321, me = (uint32_t)geteuid();
    nipc_transport_config_t cfg = {.allowed_uids = &other, .allowed_uid_count = 1};
    nipc_listener_t *l = NULL;
    CHECK_OK(nipc_listener_create(f.run, SVC, &cfg, &l));
    REQUIRE(l);
    int fd = raw_connect(f.run, SVC);
    nipc_pending_t *p = NULL;
    CHECK_ERR(nipc_listener_accept(l, 2000, &p), NIPC_ERR_PEER_REJECTED);
    uint8_t buf[8];
    CHECK_EQ_U64(raw_recv(fd, buf, sizeof buf, 2000), 0); /* closed at once */
    close(fd);
    nipc_listener_free(l);

    cfg.allowed_uids = &me;
    CHECK_OK(nipc_listener_create(f.run, SVC, &cfg, &l));
    fd = raw_connect(f.run, SVC);
    CHECK_OK(nipc_listener_accept(l, 2000, &p));
    nipc_pending_free(p);
    close(fd);
    nipc_listener_free(l);
    fx_close(&f);
}

/* ================================================ hostile client: HELLO */

typedef struct hello_case {
    const char *what;
    nipc_error_t server; /* nipc_pending_accept result */
    int ack;             /* ACK status, or -1 for "closed without an ACK" */
} hello_case_t;

/* Builds case `i` into buf; returns its length, 0 past the last case. */
static size_t hostile_hello(int i, uint8_t *buf, hello_case_t *c)
{
    nipc_header_t h = hello_header();
    nipc_hello_t hello = hello_default(0x03, 4096, 4, 65536);
    size_t len;
#define CASE(n, text, srv, st)                                                                   \
    case n:                                                                                      \
        *c = (hello_case_t){text, srv, st};
    switch (i) {
        CASE(0, "bad magic", NIPC_ERR_HANDSHAKE, -1) h.magic ^= 1;
        break;
        CASE(1, "version 2 HELLO", NIPC_ERR_INCOMPATIBLE, NIPC_STATUS_INCOMPATIBLE) h.version = 2;
        break;
        CASE(2, "version 2 + header_len 40", NIPC_ERR_HANDSHAKE, -1) h.version = 2;
        h.header_len = 40;
        break;
        CASE(3, "version 2 + kind REQUEST", NIPC_ERR_HANDSHAKE, -1) h.version = 2;
        h.kind = NIPC_KIND_REQUEST;
        break;
        CASE(4, "header_len 31", NIPC_ERR_HANDSHAKE, -1) h.header_len = 31;
        break;
        CASE(5, "kind REQUEST", NIPC_ERR_HANDSHAKE, -1) h.kind = NIPC_KIND_REQUEST;
        break;
        CASE(6, "code HELLO_ACK", NIPC_ERR_HANDSHAKE, -1) h.code = NIPC_CONTROL_HELLO_ACK;
        break;
        CASE(7, "kind 4", NIPC_ERR_HANDSHAKE, -1) h.kind = 4;
        break;
        CASE(8, "layout 2", NIPC_ERR_INCOMPATIBLE, NIPC_STATUS_INCOMPATIBLE)
        hello.layout_version = 2;
        break;
        CASE(9, "layout 2 + reserved", NIPC_ERR_INCOMPATIBLE, NIPC_STATUS_INCOMPATIBLE)
        hello.layout_version = 2;
        hello.reserved = 1;
        break;
        CASE(10, "reserved", NIPC_ERR_HANDSHAKE, -1) hello.reserved = 0x100;
        break;
        CASE(11, "flags (not checked)", NIPC_OK, NIPC_STATUS_OK) hello.flags = 0xffff;
        break;
        CASE(12, "odd header fields (not checked)", NIPC_OK, NIPC_STATUS_OK) h.payload_len = 0;
        h.item_count = 9;
        h.message_id = 77;
        h.flags = 1;
        h.transport_status = 3;
        break;
        CASE(13, "no profiles", NIPC_ERR_UNSUPPORTED, NIPC_STATUS_UNSUPPORTED)
        hello.supported_profiles = 0;
        break;
        CASE(14, "foreign profile + token", NIPC_ERR_UNSUPPORTED, NIPC_STATUS_UNSUPPORTED)
        hello.supported_profiles = 0x08;
        hello.auth_token = 1;
        break;
        CASE(15, "token", NIPC_ERR_AUTH_FAILED, NIPC_STATUS_AUTH_FAILED) hello.auth_token++;
        break;
        CASE(16, "request ceiling", NIPC_ERR_LIMIT_EXCEEDED, NIPC_STATUS_LIMIT_EXCEEDED)
        hello.max_request_payload_bytes = 4097;
        break;
        CASE(17, "packet 32", NIPC_ERR_INCOMPATIBLE, NIPC_STATUS_INCOMPATIBLE)
        hello.packet_size = 32;
        break;
        CASE(18, "packet 0", NIPC_ERR_INCOMPATIBLE, NIPC_STATUS_INCOMPATIBLE)
        hello.packet_size = 0;
        break;
        CASE(19, "valid", NIPC_OK, NIPC_STATUS_OK) break;
        CASE(20, "short packet", NIPC_ERR_HANDSHAKE, -1) break;
        CASE(21, "payload 43 bytes", NIPC_ERR_HANDSHAKE, -1) break;
        CASE(22, "trailing bytes (ignored)", NIPC_OK, NIPC_STATUS_OK) break;
        CASE(23, "EOF before HELLO", NIPC_ERR_DISCONNECTED, -1) break;
        CASE(24, "longer than 128 bytes (truncated, as upstream)", NIPC_OK, NIPC_STATUS_OK)
        break;
    default:
        return 0;
    }
#undef CASE
    len = hello_msg(buf, &h, &hello);
    if (i == 20)
        len = 20;
    if (i == 21)
        len = 75;
    if (i == 22) {
        memset(buf + len, 0xee, 30);
        len += 30;
    }
    if (i == 23)
        len = 1; /* marker: connect, then close without a byte */
    if (i == 24) {
        memset(buf + len, 0xee, 150);
        len += 150;
    }
    return len;
}

typedef struct reject_job {
    nipc_pending_t *p;
    int done;
} reject_job_t;

static void *reject_main(void *arg)
{
    reject_job_t *j = arg;
    nipc_pending_reject(j->p, NIPC_STATUS_INTERNAL_ERROR, 0);
    j->done = 1;
    return NULL;
}

/* wire.md 4.1 step by step, from a raw client's point of view. */
static void hostile_client_handshake(void)
{
    fixture_t f;
    REQUIRE(fx_open(&f));
    nipc_transport_config_t scfg = {.supported_profiles = 0x03, .exact_profiles = 1,
                                    .max_request_payload_bytes = 4096,
                                    .max_response_payload_bytes = 8192,
                                    .auth_token = TOKEN,
                                    .handshake_timeout_ms = 2000};
    nipc_listener_t *l = NULL;
    CHECK_OK(nipc_listener_create(f.run, SVC, &scfg, &l));
    REQUIRE(l);
    uint8_t buf[256];
    hello_case_t c;
    for (int i = 0;; i++) {
        size_t len = hostile_hello(i, buf, &c);
        if (!len)
            break;
        int fd = raw_connect(f.run, SVC);
        REQUIRE(fd >= 0);
        if (i == 23) {
            close(fd);
            fd = -1;
        } else {
            CHECK(raw_send(fd, buf, len));
        }
        nipc_session_t *s = NULL;
        unsigned long long t0 = t_now_ms();
        nipc_error_t err = accept_one(l, &scfg, (uint64_t)i + 1, &s);
        if (err != c.server)
            fprintf(stderr, "HELLO case '%s': server %s\n", c.what, nipc_error_name(err));
        CHECK_ERR(err, c.server);
        CHECK(t_now_ms() - t0 < 1000); /* decided at once, never at the deadline */
        if (fd >= 0) {
            ssize_t n = raw_recv(fd, buf, sizeof buf, 2000);
            if (c.ack < 0) {
                if (n != 0)
                    fprintf(stderr, "HELLO case '%s': got %zd bytes, expected EOF\n", c.what, n);
                CHECK_EQ_U64(n, 0);
            } else {
                nipc_header_t h;
                CHECK_EQ_U64(n, 80);
                CHECK_OK(nipc_header_decode(buf, (size_t)n, &h));
                CHECK_EQ_U64(h.kind, NIPC_KIND_CONTROL);
                CHECK_EQ_U64(h.code, NIPC_CONTROL_HELLO_ACK);
                CHECK_EQ_U64(h.flags, 0);
                CHECK_EQ_U64(h.payload_len, 48);
                CHECK_EQ_U64(h.item_count, 1);
                CHECK_EQ_U64(h.message_id, 0);
                CHECK_EQ_U64(h.transport_status, c.ack);
                nipc_hello_ack_t a;
                CHECK_OK(nipc_hello_ack_decode(buf + 32, 48, &a));
                if (c.ack != NIPC_STATUS_OK) {
                    /* Rejection payload: layout_version 1, all else zero. */
                    static const uint8_t zero[46];
                    CHECK_EQ_U64(a.layout_version, 1);
                    CHECK_MEM(buf + 34, zero, 46);
                    CHECK_EQ_U64(raw_recv(fd, buf, sizeof buf, 2000), 0); /* then closed */
                } else {
                    CHECK_EQ_U64(a.server_supported_profiles, 0x03);
                    CHECK_EQ_U64(a.intersection_profiles, 0x03);
                    CHECK_EQ_U64(a.selected_profile, 0x02);
                    CHECK_EQ_U64(a.agreed_max_request_payload_bytes, 4096);
                    CHECK_EQ_U64(a.agreed_max_request_batch_items, 4);
                    CHECK_EQ_U64(a.agreed_max_response_payload_bytes, 8192);
                    CHECK_EQ_U64(a.agreed_max_response_batch_items, 4);
                    CHECK(a.agreed_packet_size <= 65536 && a.agreed_packet_size > 4096);
                    CHECK_EQ_U64(a.reserved, 0);
                    CHECK_EQ_U64(a.session_id, (uint64_t)i + 1);
                    char rp[700];
                    region_path(rp, sizeof rp, f.run, SVC, a.session_id);
                    CHECK(exists(rp)); /* selected: the region stays */
                }
            }
            close(fd);
        }
        nipc_session_close(s);
        /* Rejected or closed: the pre-created region is gone again. */
        CHECK_EQ_U64(t_dir_entries(f.run), 1);
    }

    /* nipc_pending_reject(timeout 0) waits the default handshake time for a
     * HELLO that is still on its way, then answers it. */
    int fd = raw_connect(f.run, SVC);
    reject_job_t rj = {NULL, 0};
    CHECK_OK(nipc_listener_accept(l, 1000, &rj.p));
    pthread_t th;
    REQUIRE(rj.p && pthread_create(&th, NULL, reject_main, &rj) == 0);
    t_sleep_ms(50); /* the HELLO arrives late on purpose */
    nipc_header_t hh = hello_header();
    nipc_hello_t hello = hello_default(0x01, 1024, 1, 65536);
    size_t len = hello_msg(buf, &hh, &hello);
    CHECK(raw_send(fd, buf, len));
    CHECK_EQ_U64(raw_recv(fd, buf, sizeof buf, 2000), 80);
    nipc_header_t ah;
    CHECK_OK(nipc_header_decode(buf, 80, &ah));
    CHECK_EQ_U64(ah.transport_status, NIPC_STATUS_INTERNAL_ERROR);
    pthread_join(th, NULL);
    close(fd);
    nipc_listener_free(l);
    fx_close(&f);
}

/* ================================================ hostile client: frames */

typedef struct frames {
    uint8_t pkt[4][512];
    size_t len[4];
    int n;
} frames_t;

static void frame_add(frames_t *fr, const nipc_header_t *h, const void *payload, size_t plen)
{
    nipc_header_encode(h, fr->pkt[fr->n]);
    if (plen)
        memcpy(fr->pkt[fr->n] + 32, payload, plen);
    fr->len[fr->n++] = 32 + plen;
}

static void chunk_add(frames_t *fr, const nipc_chunk_header_t *c, const void *payload,
                      size_t plen)
{
    nipc_chunk_header_encode(c, fr->pkt[fr->n]);
    if (plen)
        memcpy(fr->pkt[fr->n] + 32, payload, plen);
    fr->len[fr->n++] = 32 + plen;
}

/* A 200-byte request over 128-byte packets: 96 + 96 + 8, mutated by `m`. */
static void chunked_request(frames_t *fr, int m, uint64_t id)
{
    static uint8_t payload[512];
    tp_fill(payload, sizeof payload, id);
    nipc_header_t h = nipc_header_make(NIPC_KIND_REQUEST, TP_ECHO, 0, 0, 200, 1, id);
    frame_add(fr, &h, payload, 96);
    nipc_chunk_header_t c = {NIPC_CHUNK_MAGIC, 1, 0, id, 232, 1, 3, 96};
    nipc_chunk_header_t c2 = {NIPC_CHUNK_MAGIC, 1, 0, id, 232, 2, 3, 8};
    uint32_t n1 = 96, n2 = 8;
    switch (m) {
    case 1: c.magic = NIPC_HEADER_MAGIC; break;
    case 2: c.version = 2; break;
    case 3: c.flags = 1; break;
    case 4: c.chunk_index = 2; break;
    case 5: c.chunk_count = 4; break;
    case 6: c.total_message_len = 233; break;
    case 7: c.chunk_payload_len = 95; break; /* != packet length - 32 */
    case 8: c.message_id++; break;
    case 9: c2.chunk_payload_len = n2 = 16; break; /* overruns the 200 bytes */
    case 10: c.chunk_payload_len = n1 = 0; break;  /* a bare chunk header */
    case 11: c2.chunk_index = 1; break;
    case 12: c.chunk_payload_len = n1 = 200; break; /* longer than a packet */
    default: break;
    }
    chunk_add(fr, &c, payload + 96, n1);
    if (m == 13) {
        fr->len[fr->n - 1] = 20; /* a continuation shorter than its header */
        return;
    }
    if (n1 == 96)
        chunk_add(fr, &c2, payload + 192, n2);
}

typedef struct frame_case {
    const char *what;
    nipc_error_t expect;
} frame_case_t;

/* Builds hostile request `i` (agreed: request 1000 bytes, 4 items, 128-byte
 * packets). Returns 0 past the last case. */
static int hostile_frames(int i, frames_t *fr, frame_case_t *c)
{
    memset(fr, 0, sizeof *fr);
    uint64_t id = 0x1000 + (uint64_t)i;
    uint8_t p[512];
    tp_fill(p, sizeof p, id);
    nipc_header_t h = nipc_header_make(NIPC_KIND_REQUEST, TP_ECHO, 0, 0, 16, 1, id);
    static const struct {
        const char *what;
        nipc_error_t expect;
    } names[] = {
        {"valid single", NIPC_OK},                      /* 0 */
        {"valid chunked", NIPC_OK},                     /* 1 */
        {"short packet", NIPC_ERR_PROTOCOL},            /* 2 */
        {"bad magic", NIPC_ERR_PROTOCOL},               /* 3 */
        {"version 2", NIPC_ERR_PROTOCOL},               /* 4 */
        {"header_len 64", NIPC_ERR_PROTOCOL},           /* 5 */
        {"kind 0", NIPC_ERR_PROTOCOL},                  /* 6 */
        {"kind 4", NIPC_ERR_PROTOCOL},                  /* 7 */
        {"payload_len over limit", NIPC_ERR_LIMIT_EXCEEDED}, /* 8 */
        {"item_count over limit", NIPC_ERR_LIMIT_EXCEEDED},  /* 9 */
        {"packet longer than 32 + payload_len", NIPC_ERR_PROTOCOL}, /* 10 */
        {"packet longer than agreed packet", NIPC_ERR_PROTOCOL},    /* 11 */
        {"chunk magic", NIPC_ERR_BAD_CHUNK},            /* 12 */
        {"chunk version", NIPC_ERR_BAD_CHUNK},
        {"chunk flags", NIPC_ERR_BAD_CHUNK},
        {"chunk index", NIPC_ERR_BAD_CHUNK},
        {"chunk count", NIPC_ERR_BAD_CHUNK},
        {"chunk total", NIPC_ERR_BAD_CHUNK},
        {"chunk payload_len", NIPC_ERR_BAD_CHUNK},
        {"chunk message_id", NIPC_ERR_BAD_CHUNK},
        {"chunk overrun", NIPC_ERR_BAD_CHUNK},
        {"chunk payload_len 0", NIPC_ERR_BAD_CHUNK},
        {"chunk index repeated", NIPC_ERR_BAD_CHUNK},
        {"chunk longer than packet", NIPC_ERR_BAD_CHUNK},
        {"chunk shorter than its header", NIPC_ERR_BAD_CHUNK}, /* 24 */
        {"batch shorter than directory", NIPC_ERR_TRUNCATED},  /* 25 */
        {"batch offset misaligned", NIPC_ERR_BAD_ALIGNMENT},
        {"batch item out of bounds", NIPC_ERR_OUT_OF_BOUNDS},
        {"batch offset out of bounds", NIPC_ERR_OUT_OF_BOUNDS},
        {"batch of 1: directory not checked", NIPC_OK},
        {"valid batch", NIPC_OK}, /* 30 */
    };
    if (i >= (int)(sizeof names / sizeof names[0]))
        return 0;
    c->what = names[i].what;
    c->expect = names[i].expect;

    uint32_t dir[8] = {0};
    switch (i) {
    case 0: frame_add(fr, &h, p, 16); break;
    case 1: chunked_request(fr, 0, id); break;
    case 2: frame_add(fr, &h, p, 16); fr->len[0] = 20; break;
    case 3: h.magic = 0x4e495044; frame_add(fr, &h, p, 16); break;
    case 4: h.version = 2; frame_add(fr, &h, p, 16); break;
    case 5: h.header_len = 64; frame_add(fr, &h, p, 16); break;
    case 6: h.kind = 0; frame_add(fr, &h, p, 16); break;
    case 7: h.kind = 4; frame_add(fr, &h, p, 16); break;
    case 8: h.payload_len = 1001; frame_add(fr, &h, p, 96); break;
    case 9: h.item_count = 5; frame_add(fr, &h, p, 16); break;
    case 10: h.payload_len = 10; frame_add(fr, &h, p, 20); break;
    case 11: h.payload_len = 500; frame_add(fr, &h, p, 200); break;
    case 12: case 13: case 14: case 15: case 16: case 17: case 18: case 19: case 20:
    case 21: case 22: case 23: case 24:
        chunked_request(fr, i - 11, id);
        break;
    case 25: /* 3 items need 24 bytes of directory */
        h.flags = NIPC_FLAG_BATCH;
        h.item_count = 3;
        frame_add(fr, &h, dir, 16);
        break;
    case 26: case 27: case 28: case 29: case 30:
        /* 3 items, 16 bytes of packed area (payload 40). */
        h.flags = NIPC_FLAG_BATCH;
        h.item_count = i == 29 ? 1 : 3;
        dir[0] = 0, dir[1] = 4, dir[2] = 8, dir[3] = 8, dir[4] = 16, dir[5] = 0;
        if (i == 26)
            dir[2] = 4;
        if (i == 27)
            dir[3] = 9; /* 8 + 9 > 16 */
        if (i == 28)
            dir[4] = 24, dir[5] = 0; /* 24 > 16 even with length 0 */
        if (i == 29)
            dir[0] = 3, dir[1] = 1000;
        memcpy(p, dir, 24);
        h.payload_len = i == 29 ? 16 : 40;
        frame_add(fr, &h, p, h.payload_len);
        break;
    }
    return 1;
}

static void hostile_client_frames(void)
{
    fixture_t f;
    REQUIRE(fx_open(&f));
    nipc_transport_config_t scfg = {.max_request_payload_bytes = 4096,
                                    .max_response_payload_bytes = 4096,
                                    .auth_token = TOKEN};
    nipc_listener_t *l = NULL;
    CHECK_OK(nipc_listener_create(f.run, SVC, &scfg, &l));
    REQUIRE(l);
    nipc_hello_t hello = hello_default(0x01, 1000, 4, 128);
    frames_t fr;
    frame_case_t c;
    for (int i = 0; hostile_frames(i, &fr, &c); i++) {
        nipc_session_t *s = NULL;
        nipc_hello_ack_t ack;
        int fd = raw_session(l, &scfg, &hello, f.run, (uint64_t)i + 1, &s, &ack);
        REQUIRE(fd >= 0);
        CHECK_EQ_U64(ack.agreed_packet_size, 128);
        for (int k = 0; k < fr.n; k++)
            CHECK(raw_send(fd, fr.pkt[k], fr.len[k]));
        nipc_message_t m;
        memset(&m, 0, sizeof m);
        unsigned long long t0 = t_now_ms();
        nipc_error_t err = nipc_session_receive(s, &m, 2000, NULL);
        if (err != c.expect)
            fprintf(stderr, "frame case '%s': %s\n", c.what, nipc_error_name(err));
        CHECK_ERR(err, c.expect);
        CHECK(t_now_ms() - t0 < 1000);
        if (err == NIPC_OK) {
            CHECK_EQ_U64(m.header.message_id, 0x1000 + (uint64_t)i);
            if (!(m.header.flags & NIPC_FLAG_BATCH))
                CHECK(tp_verify(m.payload, m.header.payload_len, m.header.message_id));
        } else if (err == NIPC_ERR_LIMIT_EXCEEDED) {
            /* The header is filled so the server can answer it. */
            CHECK_EQ_U64(m.header.message_id, 0x1000 + (uint64_t)i);
            CHECK_EQ_U64(m.header.code, TP_ECHO);
            CHECK(m.header.payload_len == 1001 || m.header.item_count == 5);
            nipc_header_t h = nipc_header_make(NIPC_KIND_RESPONSE, TP_ECHO, 0,
                                               NIPC_STATUS_LIMIT_EXCEEDED, 0, 1,
                                               m.header.message_id);
            CHECK_OK(nipc_session_send(s, &h, NULL, 0, 1000, NULL));
            uint8_t buf[64];
            nipc_header_t rh;
            CHECK_EQ_U64(raw_recv(fd, buf, sizeof buf, 2000), 32);
            CHECK_OK(nipc_header_decode(buf, 32, &rh));
            CHECK_EQ_U64(rh.transport_status, NIPC_STATUS_LIMIT_EXCEEDED);
            CHECK_EQ_U64(rh.message_id, m.header.message_id);
        }
        if (err != NIPC_OK)
            CHECK_ERR(nipc_session_receive(s, &m, 100, NULL), NIPC_ERR_DISCONNECTED);
        nipc_session_close(s);
        close(fd);
    }
    nipc_listener_free(l);
    fx_close(&f);
}

/* ===================================================== hostile servers */

typedef struct raw_server {
    int lfd;
    uint8_t ack[256];
    size_t ack_len; /* 0: close after the HELLO */
    frames_t fr;    /* answers to the first request; message_id patched in if patch_id */
    int patch_id;
    int close_after_frames; /* die right after the answer frames */
    uint64_t id_delta;
    pthread_t th;
} raw_server_t;

static void *raw_server_main(void *arg)
{
    raw_server_t *r = arg;
    int fd = accept4(r->lfd, NULL, NULL, SOCK_CLOEXEC);
    if (fd < 0)
        return NULL;
    uint8_t buf[1024];
    if (raw_recv(fd, buf, sizeof buf, 5000) > 0 && r->ack_len) {
        raw_send(fd, r->ack, r->ack_len);
        if (r->fr.n && raw_recv(fd, buf, sizeof buf, 5000) >= 32) {
            uint64_t id;
            memcpy(&id, buf + 24, 8);
            id += r->id_delta;
            for (int k = 0; k < r->fr.n; k++) {
                if (r->patch_id)
                    memcpy(r->fr.pkt[k] + (k ? 8 : 24), &id, 8);
                raw_send(fd, r->fr.pkt[k], r->fr.len[k]);
            }
        }
        while (!r->close_after_frames && raw_recv(fd, buf, sizeof buf, 5000) > 0)
            ; /* until the client closes */
    }
    close(fd);
    return NULL;
}

static nipc_hello_ack_t ack_default(void)
{
    nipc_hello_ack_t a = {
        .layout_version = 1,
        .server_supported_profiles = 1,
        .intersection_profiles = 1,
        .selected_profile = 1,
        .agreed_max_request_payload_bytes = 1000,
        .agreed_max_request_batch_items = 1,
        .agreed_max_response_payload_bytes = 1000,
        .agreed_max_response_batch_items = 1,
        .agreed_packet_size = 128,
        .session_id = 1,
    };
    return a;
}

static size_t ack_msg(uint8_t *out, const nipc_header_t *h, const nipc_hello_ack_t *a)
{
    nipc_header_encode(h, out);
    nipc_hello_ack_encode(a, out + 32);
    return 80;
}

/* wire.md 4.2: what a client makes of each kind of HELLO_ACK. */
static void hostile_server_handshake(void)
{
    fixture_t f;
    REQUIRE(fx_open(&f));
    static const struct {
        const char *what;
        nipc_error_t expect;
    } cases[] = {
        {"valid", NIPC_OK},
        {"version 2", NIPC_ERR_INCOMPATIBLE},
        {"bad magic", NIPC_ERR_PROTOCOL},
        {"kind REQUEST", NIPC_ERR_PROTOCOL},
        {"code HELLO", NIPC_ERR_PROTOCOL},
        {"status AUTH_FAILED", NIPC_ERR_AUTH_FAILED},
        {"status UNSUPPORTED", NIPC_ERR_UNSUPPORTED},
        {"status INCOMPATIBLE", NIPC_ERR_INCOMPATIBLE},
        {"status LIMIT_EXCEEDED", NIPC_ERR_LIMIT_EXCEEDED},
        {"status INTERNAL_ERROR", NIPC_ERR_BUSY},
        {"status BAD_ENVELOPE", NIPC_ERR_HANDSHAKE},
        {"status 77", NIPC_ERR_HANDSHAKE},
        {"payload 47 bytes", NIPC_ERR_PROTOCOL},
        {"flags", NIPC_ERR_PROTOCOL},
        {"layout 2", NIPC_ERR_INCOMPATIBLE},
        {"reserved (ignored)", NIPC_OK},
        {"packet 32", NIPC_ERR_PROTOCOL},
        {"closed without ACK", NIPC_ERR_DISCONNECTED},
        {"short packet", NIPC_ERR_PROTOCOL},
        {"ACK longer than 128 bytes (truncated, as upstream)", NIPC_OK},
        /* Sizes a client never proposed, or absurd ones: refused before
         * anything is allocated for them. */
        {"request payload above the proposal", NIPC_ERR_PROTOCOL},
        {"request batch above the proposal", NIPC_ERR_PROTOCOL},
        {"response batch above the proposal", NIPC_ERR_PROTOCOL},
        {"packet above the proposal", NIPC_ERR_PROTOCOL},
        {"response payload above the hard limit", NIPC_ERR_PROTOCOL},
        {"response payload 4 GiB - 1", NIPC_ERR_PROTOCOL},
        {"response payload at the hard limit", NIPC_OK},
    };
    static const uint16_t statuses[] = {NIPC_STATUS_AUTH_FAILED, NIPC_STATUS_UNSUPPORTED,
                                        NIPC_STATUS_INCOMPATIBLE, NIPC_STATUS_LIMIT_EXCEEDED,
                                        NIPC_STATUS_INTERNAL_ERROR, NIPC_STATUS_BAD_ENVELOPE, 77};
    for (int i = 0; i < (int)(sizeof cases / sizeof cases[0]); i++) {
        raw_server_t r;
        memset(&r, 0, sizeof r);
        r.lfd = raw_listen(f.run, SVC);
        REQUIRE(r.lfd >= 0);
        nipc_header_t h =
            nipc_header_make(NIPC_KIND_CONTROL, NIPC_CONTROL_HELLO_ACK, 0, 0, 48, 1, 0);
        nipc_hello_ack_t a = ack_default();
        switch (i) {
        case 1: h.version = 2; break;
        case 2: h.magic = 1; break;
        case 3: h.kind = NIPC_KIND_REQUEST; break;
        case 4: h.code = NIPC_CONTROL_HELLO; break;
        case 5: case 6: case 7: case 8: case 9: case 10: case 11:
            h.transport_status = statuses[i - 5];
            memset(&a, 0, sizeof a);
            a.layout_version = 1;
            break;
        case 14: a.layout_version = 2; break;
        case 13: a.flags = 1; break;
        case 15: a.reserved = 5; break;
        case 16: a.agreed_packet_size = 32; break;
        case 20: a.agreed_max_request_payload_bytes = 1025; break; /* proposed: 1024 */
        case 21: a.agreed_max_request_batch_items = 2; break;     /* proposed: 1 */
        case 22: a.agreed_max_response_batch_items = 2; break;
        case 23: a.agreed_packet_size = 1u << 30; break;
        case 24: a.agreed_max_response_payload_bytes = NIPC_PAYLOAD_HARD_LIMIT + 1; break;
        case 25: a.agreed_max_response_payload_bytes = UINT32_MAX; break;
        case 26: a.agreed_max_response_payload_bytes = NIPC_PAYLOAD_HARD_LIMIT; break;
        default: break;
        }
        r.ack_len = ack_msg(r.ack, &h, &a);
        if (i == 12)
            r.ack_len = 79;
        if (i == 17)
            r.ack_len = 0;
        if (i == 18)
            r.ack_len = 10;
        if (i == 19) {
            memset(r.ack + 80, 0, 120);
            r.ack_len = 200;
        }
        REQUIRE(pthread_create(&r.th, NULL, raw_server_main, &r) == 0);
        nipc_transport_config_t c = {.handshake_timeout_ms = 2000, .packet_size = 4096};
        nipc_session_t *s = NULL;
        unsigned long long t0 = t_now_ms();
        nipc_error_t err = nipc_session_connect(f.run, SVC, &c, &s);
        if (err != cases[i].expect)
            fprintf(stderr, "ACK case '%s': %s\n", cases[i].what, nipc_error_name(err));
        CHECK_ERR(err, cases[i].expect);
        CHECK(t_now_ms() - t0 < 1000);
        if (s) {
            CHECK_EQ_U64(nipc_session_info(s)->packet_size, 128);
            nipc_session_close(s);
        }
        pthread_join(r.th, NULL);
        close(r.lfd);
        char path[600];
        sock_path(path, sizeof path, f.run, SVC);
        unlink(path);
    }
    fx_close(&f);
}

/* A client receiving broken responses: each rule gives its own error. */
static void hostile_server_frames(void)
{
    fixture_t f;
    REQUIRE(fx_open(&f));
    static const struct {
        const char *what;
        nipc_error_t expect;
    } cases[] = {
        {"valid", NIPC_OK},
        {"unknown id", NIPC_ERR_UNKNOWN_ID},
        {"payload over the response limit", NIPC_ERR_LIMIT_EXCEEDED},
        {"item_count over the response batch limit", NIPC_ERR_LIMIT_EXCEEDED},
        {"bad chunk index", NIPC_ERR_BAD_CHUNK},
        {"bad magic", NIPC_ERR_PROTOCOL},
        {"valid chunked", NIPC_OK},
    };
    for (int i = 0; i < (int)(sizeof cases / sizeof cases[0]); i++) {
        raw_server_t r;
        memset(&r, 0, sizeof r);
        r.lfd = raw_listen(f.run, SVC);
        REQUIRE(r.lfd >= 0);
        nipc_header_t h =
            nipc_header_make(NIPC_KIND_CONTROL, NIPC_CONTROL_HELLO_ACK, 0, 0, 48, 1, 0);
        nipc_hello_ack_t a = ack_default();
        r.ack_len = ack_msg(r.ack, &h, &a);
        r.patch_id = 1;
        uint8_t p[256];
        tp_fill(p, sizeof p, 1);
        nipc_header_t rh = nipc_header_make(NIPC_KIND_RESPONSE, TP_ECHO, 0, 0, 16, 1, 0);
        switch (i) {
        case 1: r.id_delta = 100; break;
        case 2: rh.payload_len = 1001; break;
        case 3: rh.item_count = 3; break;
        case 5: rh.magic = 7; break;
        default: break;
        }
        if (i == 4 || i == 6) {
            chunked_request(&r.fr, i == 4 ? 4 : 0, 0);
            nipc_header_t ch = nipc_header_make(NIPC_KIND_RESPONSE, TP_ECHO, 0, 0, 200, 1, 0);
            nipc_header_encode(&ch, r.fr.pkt[0]);
        } else {
            frame_add(&r.fr, &rh, p, i == 2 ? 96 : 16);
        }
        REQUIRE(pthread_create(&r.th, NULL, raw_server_main, &r) == 0);
        nipc_transport_config_t c = {.max_request_payload_bytes = 1000,
                                     .max_request_batch_items = 2};
        nipc_session_t *s = NULL;
        CHECK_OK(nipc_session_connect(f.run, SVC, &c, &s));
        if (s) {
            CHECK_EQ_U64(nipc_session_info(s)->max_response_payload, 1000);
            nipc_header_t q = nipc_header_make(NIPC_KIND_REQUEST, TP_ECHO, 0, 0, 0, 1, 42);
            CHECK_OK(nipc_session_send(s, &q, "hello", 5, 1000, NULL));
            nipc_message_t m;
            nipc_error_t err = nipc_session_receive(s, &m, 2000, NULL);
            if (err != cases[i].expect)
                fprintf(stderr, "response case '%s': %s\n", cases[i].what,
                        nipc_error_name(err));
            CHECK_ERR(err, cases[i].expect);
            if (err == NIPC_OK)
                CHECK_EQ_U64(m.header.message_id, 42);
            CHECK_EQ_U64(nipc_session_in_flight(s), 0);
            nipc_session_close(s);
        }
        pthread_join(r.th, NULL);
        close(r.lfd);
        char path[600];
        sock_path(path, sizeof path, f.run, SVC);
        unlink(path);
    }
    fx_close(&f);
}

/* A raw peer sends the first packet of a chunked message and dies: the
 * receiver gets DISCONNECTED at once, on either side. */
static void hostile_peer_dies_mid_chunk(void)
{
    fixture_t f;
    REQUIRE(fx_open(&f));
    nipc_transport_config_t scfg = {.max_request_payload_bytes = 4096, .auth_token = TOKEN};
    nipc_listener_t *l = NULL;
    CHECK_OK(nipc_listener_create(f.run, SVC, &scfg, &l));
    REQUIRE(l);
    nipc_hello_t hello = hello_default(0x01, 1000, 4, 128);
    nipc_session_t *s = NULL;
    nipc_hello_ack_t ack;
    int fd = raw_session(l, &scfg, &hello, f.run, 1, &s, &ack);
    REQUIRE(fd >= 0);
    frames_t fr;
    memset(&fr, 0, sizeof fr);
    chunked_request(&fr, 0, 5);
    CHECK(raw_send(fd, fr.pkt[0], fr.len[0]));
    close(fd);
    nipc_message_t m;
    unsigned long long t0 = t_now_ms();
    CHECK_ERR(nipc_session_receive(s, &m, 3000, NULL), NIPC_ERR_DISCONNECTED);
    CHECK(t_now_ms() - t0 < 500);
    nipc_session_close(s);
    nipc_listener_free(l);

    raw_server_t r;
    memset(&r, 0, sizeof r);
    r.lfd = raw_listen(f.run, SVC);
    REQUIRE(r.lfd >= 0);
    nipc_header_t h = nipc_header_make(NIPC_KIND_CONTROL, NIPC_CONTROL_HELLO_ACK, 0, 0, 48, 1, 0);
    nipc_hello_ack_t a = ack_default();
    r.ack_len = ack_msg(r.ack, &h, &a);
    r.patch_id = 1;
    r.close_after_frames = 1;
    chunked_request(&r.fr, 0, 0);
    nipc_header_t rh = nipc_header_make(NIPC_KIND_RESPONSE, TP_ECHO, 0, 0, 200, 1, 0);
    nipc_header_encode(&rh, r.fr.pkt[0]);
    r.fr.n = 1; /* the first packet only */
    REQUIRE(pthread_create(&r.th, NULL, raw_server_main, &r) == 0);
    nipc_transport_config_t c = {.max_request_payload_bytes = 1000};
    s = NULL;
    CHECK_OK(nipc_session_connect(f.run, SVC, &c, &s));
    if (s) {
        nipc_header_t q = nipc_header_make(NIPC_KIND_REQUEST, TP_ECHO, 0, 0, 0, 1, 3);
        CHECK_OK(nipc_session_send(s, &q, NULL, 0, 1000, NULL));
        t0 = t_now_ms();
        CHECK_ERR(nipc_session_receive(s, &m, 3000, NULL), NIPC_ERR_DISCONNECTED);
        CHECK(t_now_ms() - t0 < 500);
        CHECK_EQ_U64(nipc_session_in_flight(s), 0);
        nipc_session_close(s);
    }
    pthread_join(r.th, NULL);
    close(r.lfd);
    char path[600];
    sock_path(path, sizeof path, f.run, SVC);
    unlink(path);
    fx_close(&f);
}

/* ================================================================= SHM */

/* SHM header offsets (posix.md). */
enum {
    S_MAGIC = 0, S_VERSION = 4, S_HLEN = 6, S_PID = 8, S_GEN = 12, S_REQ_OFF = 16,
    S_REQ_CAP = 20, S_RESP_OFF = 24, S_RESP_CAP = 28, S_REQ_SEQ = 32, S_RESP_SEQ = 40,
    S_REQ_LEN = 48, S_RESP_LEN = 52, S_REQ_SIG = 56, S_RESP_SIG = 60,
};

static uint32_t get32(const uint8_t *b, size_t off)
{
    uint32_t v;
    memcpy(&v, b + off, 4);
    return v;
}

static void put32(uint8_t *b, size_t off, uint32_t v)
{
    memcpy(b + off, &v, 4);
}

/* Writes a region file with a chosen header; size 0 = header only. */
static int write_region(const char *path, uint32_t magic, uint16_t version, uint16_t hlen,
                        int32_t pid, uint32_t gen, uint32_t req_cap, uint32_t resp_cap,
                        size_t size)
{
    uint8_t h[64] = {0};
    uint32_t resp_off = align64(64 + req_cap);
    put32(h, S_MAGIC, magic);
    memcpy(h + S_VERSION, &version, 2);
    memcpy(h + S_HLEN, &hlen, 2);
    memcpy(h + S_PID, &pid, 4);
    put32(h, S_GEN, gen);
    put32(h, S_REQ_OFF, 64);
    put32(h, S_REQ_CAP, req_cap);
    put32(h, S_RESP_OFF, resp_off);
    put32(h, S_RESP_CAP, resp_cap);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return 0;
    int ok = write(fd, h, size && size < 64 ? size : 64) > 0;
    if (ok && size > 64)
        ok = ftruncate(fd, (off_t)size) == 0;
    close(fd);
    return ok;
}

static pid_t dead_pid(void)
{
    pid_t pid = fork();
    if (pid == 0)
        _exit(0);
    int st;
    waitpid(pid, &st, 0);
    return pid; /* reaped: no such process now */
}

static void shm_region_file(void)
{
    fixture_t f;
    REQUIRE(fx_open(&f));
    const uint64_t sid = 0x00ab00cd00ef0012ull;
    nipc_transport_config_t cfg = {.supported_profiles = 0x02, .exact_profiles = 1,
                                   .max_request_payload_bytes = 1000,
                                   .max_response_payload_bytes = 5000};
    /* The mode does not depend on the umask (0277 would give 0400). */
    mode_t old = umask(0277);
    nipc_listener_t *l = NULL;
    CHECK_OK(nipc_listener_create(f.run, SVC, &cfg, &l));
    echo_server_t e;
    REQUIRE(l && echo_start(&e, l, &cfg, sid, 1));
    nipc_session_t *s = NULL;
    CHECK_OK(nipc_session_connect(f.run, SVC, &cfg, &s));
    umask(old);
    char path[700];
    region_path(path, sizeof path, f.run, SVC, sid);
    CHECK(strstr(path, "posix-00ab00cd00ef0012.ipcshm") != NULL);
    struct stat st;
    CHECK(stat(path, &st) == 0);
    CHECK(S_ISREG(st.st_mode));
    CHECK_EQ_U64(st.st_mode & 07777, 0600);
    uint32_t req_cap = align64(32 + 1000), resp_cap = align64(32 + 5000);
    CHECK_EQ_U64(st.st_size, align64(64 + req_cap) + resp_cap);
    if (s) {
        CHECK_EQ_U64(nipc_session_info(s)->session_id, sid);
        CHECK_EQ_U64(nipc_session_info(s)->shm_request_capacity, req_cap);
        CHECK_EQ_U64(nipc_session_info(s)->shm_response_capacity, resp_cap);
        uint8_t buf[1000];
        CHECK(client_echo(s, 1, buf, 1000));
        CHECK(client_echo(s, 2, buf, 0));
    }
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    uint8_t *b = fd >= 0 ? mmap(NULL, 64, PROT_READ, MAP_SHARED, fd, 0) : MAP_FAILED;
    CHECK(b != MAP_FAILED);
    if (b != MAP_FAILED) {
        uint16_t version, hlen;
        int32_t pid;
        memcpy(&version, b + S_VERSION, 2);
        memcpy(&hlen, b + S_HLEN, 2);
        memcpy(&pid, b + S_PID, 4);
        CHECK_EQ_U64(get32(b, S_MAGIC), 0x4e53484d);
        CHECK_EQ_U64(version, 3);
        CHECK_EQ_U64(hlen, 64);
        CHECK_EQ_U64(pid, getpid());
        CHECK(get32(b, S_GEN) != 0);
        CHECK_EQ_U64(get32(b, S_REQ_OFF), 64);
        CHECK_EQ_U64(get32(b, S_REQ_CAP), req_cap);
        CHECK_EQ_U64(get32(b, S_RESP_OFF), align64(64 + req_cap));
        CHECK_EQ_U64(get32(b, S_RESP_CAP), resp_cap);
        uint64_t rq, rs;
        memcpy(&rq, b + S_REQ_SEQ, 8);
        memcpy(&rs, b + S_RESP_SEQ, 8);
        CHECK_EQ_U64(rq, 2);
        CHECK_EQ_U64(rs, 2);
        CHECK_EQ_U64(get32(b, S_REQ_LEN), 32);  /* the last request: empty payload */
        CHECK_EQ_U64(get32(b, S_RESP_LEN), 32);
        CHECK_EQ_U64(get32(b, S_REQ_SIG), 2);
        CHECK_EQ_U64(get32(b, S_RESP_SIG), 2);
        munmap(b, 64);
    }
    if (fd >= 0)
        close(fd);
    nipc_session_close(s);
    pthread_join(e.th, NULL);
    CHECK_EQ_U64(e.failures, 0);
    CHECK(!exists(path)); /* the server removes it with the session */
    nipc_listener_free(l);
    fx_close(&f);
}

typedef struct connect_job {
    const char *run, *svc;
    nipc_transport_config_t cfg;
    nipc_error_t err;
    uint32_t selected;
    int echo_ok;
    pthread_t th;
} connect_job_t;

static void *connect_main(void *arg)
{
    connect_job_t *j = arg;
    nipc_session_t *s = NULL;
    j->err = nipc_session_connect(j->run, j->svc, &j->cfg, &s);
    if (s) {
        uint8_t buf[512];
        j->selected = nipc_session_info(s)->selected_profile;
        j->echo_ok = client_echo(s, 1, buf, sizeof buf);
        nipc_session_close(s);
    }
    return NULL;
}

/* Runs a client in a thread against `l`, serves it one echo round trip. */
static nipc_error_t serve_threaded_client(const char *run, const char *svc, nipc_listener_t *l,
                                          const nipc_transport_config_t *scfg,
                                          const nipc_transport_config_t *ccfg, uint64_t sid,
                                          connect_job_t *j)
{
    memset(j, 0, sizeof *j);
    j->run = run;
    j->svc = svc;
    j->cfg = *ccfg;
    if (pthread_create(&j->th, NULL, connect_main, j) != 0)
        return NIPC_ERR_IO;
    nipc_session_t *s = NULL;
    nipc_error_t err = accept_one(l, scfg, sid, &s);
    if (s) {
        nipc_message_t m;
        if (nipc_session_receive(s, &m, 5000, NULL) == NIPC_OK) {
            uint8_t buf[512];
            tp_fill(buf, m.header.payload_len, tp_resp_seed(m.header.message_id));
            nipc_header_t h = nipc_header_make(NIPC_KIND_RESPONSE, TP_ECHO, 0, 0, 0, 1,
                                               m.header.message_id);
            nipc_session_send(s, &h, buf, m.header.payload_len, 5000, NULL);
            nipc_session_receive(s, &m, 5000, NULL); /* until the client closes */
        }
        nipc_session_close(s);
    }
    pthread_join(j->th, NULL);
    return err;
}

/* Child: run_dir is full (a tiny tmpfs, or RLIMIT_FSIZE). Creating the
 * region fails with SHM_ALLOC (never SIGBUS), and a server that can still
 * offer the baseline serves the client over UDS. */
static int fullfs_child(const char *run, const char *how)
{
    int expect_errno;
    if (strcmp(how, "tmpfs") == 0) {
        /* Type "none", not NULL: ignored for a propagation change, and
         * valgrind insists on a readable string. */
        if (unshare(CLONE_NEWNS) != 0 ||
            mount("none", "/", "none", MS_REC | MS_PRIVATE, NULL) != 0 ||
            mount("tmpfs", run, "tmpfs", 0, "size=64k,mode=0700") != 0)
            return 77; /* not permitted here */
        expect_errno = ENOSPC;
    } else {
        signal(SIGXFSZ, SIG_IGN);
        struct rlimit rl = {65536, 65536};
        if (setrlimit(RLIMIT_FSIZE, &rl) != 0)
            return 3;
        expect_errno = EFBIG;
    }
    nipc_transport_config_t big = {.supported_profiles = 0x03, .exact_profiles = 1,
                                   .max_request_payload_bytes = 1u << 20,
                                   .max_response_payload_bytes = 1u << 20};
    nipc_transport_config_t small = big;
    small.max_request_payload_bytes = small.max_response_payload_bytes = 1024;

    nipc_listener_t *l = NULL;
    CHECK_OK(nipc_listener_create(run, "full", &big, &l));
    connect_job_t j;
    /* 2 MiB do not fit: the session runs on the baseline. */
    CHECK_OK(serve_threaded_client(run, "full", l, &big, &big, 1, &j));
    CHECK_OK(j.err);
    CHECK_EQ_U64(j.selected, NIPC_PROFILE_BASELINE);
    CHECK(j.echo_ok);
    /* A small region fits: SHM works on this filesystem. */
    CHECK_OK(serve_threaded_client(run, "full", l, &small, &small, 2, &j));
    CHECK_EQ_U64(j.selected, NIPC_PROFILE_SHM_HYBRID);
    CHECK(j.echo_ok);
    nipc_listener_free(l);

    /* SHM only: nothing left to offer. The client is told UNSUPPORTED (a
     * status it can act on), the server's caller why. */
    nipc_transport_config_t shm_only = big;
    shm_only.supported_profiles = NIPC_PROFILE_SHM_HYBRID; /* exact, as copied */
    CHECK_OK(nipc_listener_create(run, "full", &shm_only, &l));
    CHECK_ERR(serve_threaded_client(run, "full", l, &shm_only, &shm_only, 3, &j),
              NIPC_ERR_SHM_ALLOC);
    CHECK_EQ_U64(nipc_last_os_error(), expect_errno);
    CHECK_ERR(j.err, NIPC_ERR_UNSUPPORTED);
    nipc_listener_free(l);
    CHECK_EQ_U64(t_dir_entries(run), 0); /* no half-made region left */
    if (strcmp(how, "tmpfs") == 0)
        umount2(run, MNT_DETACH);
    return t_failures ? TP_EXIT_FAILED : 0;
}

static void shm_full_filesystem(void)
{
    fixture_t f;
    REQUIRE(fx_open(&f));
    const char *tmpfs[] = {"--peer", "fullfs", f.run, "tmpfs", NULL};
    int code = tp_finish(t_spawn(tmpfs), 15000);
    if (code == 77)
        fprintf(stderr, "shm_full_filesystem: tmpfs mount not permitted, RLIMIT_FSIZE only\n");
    else
        CHECK_EQ_U64(code, 0);
    const char *fsize[] = {"--peer", "fullfs", f.run, "fsize", NULL};
    CHECK_EQ_U64(tp_finish(t_spawn(fsize), 15000), 0);
    fx_close(&f);
}

/* posix.md "Stale detection" and the startup scan, with exact names. */
static void shm_stale_scan(void)
{
    fixture_t f;
    REQUIRE(fx_open(&f));
    char p[64][700];
    int n = 0;
    pid_t me = getpid(), dead = dead_pid();
    const uint32_t M = 0x4e53484d;
#define REGION(name) (path_of(p[n], sizeof p[n], f.run, name), p[n++])
    /* Kept. */
    CHECK(write_region(REGION("cgroups-0000000000000001.ipcshm"), M, 3, 64, me, 9, 64, 64, 192));
    CHECK(write_region(REGION("cgroups-lookup-0000000000000001.ipcshm"), M, 3, 64, dead, 9, 64,
                       64, 192)); /* another service: never touched */
    CHECK(write_region(REGION("cgroups-00000000000000zz.ipcshm"), 0, 0, 0, dead, 0, 0, 0, 0));
    CHECK(write_region(REGION("cgroups-1.ipcshm"), 0, 0, 0, dead, 0, 0, 0, 0));
    CHECK(write_region(REGION("cgroups-00000000000000AB.ipcshm"), 0, 0, 0, dead, 0, 0, 0, 0));
    CHECK(write_region(REGION("cgroups.sock-0000000000000001.ipcshm"), 0, 0, 0, 0, 0, 0, 0, 0));
    CHECK(write_region(REGION("cgroup-0000000000000001.ipcshm"), M, 3, 64, dead, 9, 64, 64, 192));
    int kept = n;
    /* Removed. */
    CHECK(write_region(REGION("cgroups-0000000000000002.ipcshm"), M, 3, 64, dead, 9, 64, 64, 192));
    CHECK(write_region(REGION("cgroups-0000000000000003.ipcshm"), 0x12345678, 3, 64, me, 9, 64,
                       64, 192)); /* junk: wrong magic */
    CHECK(write_region(REGION("cgroups-0000000000000004.ipcshm"), M, 3, 64, me, 9, 64, 64, 10));
    CHECK(write_region(REGION("cgroups-0000000000000005.ipcshm"), M, 3, 64, me, 0, 64, 64, 192));
    CHECK(write_region(REGION("cgroups-0000000000000006.ipcshm"), M, 3, 64, -1, 9, 64, 64, 192));
    CHECK(symlink(p[0], REGION("cgroups-0000000000000007.ipcshm")) == 0);
    CHECK(mkdir(REGION("cgroups-0000000000000008.ipcshm"), 0700) == 0);
    path_of(p[n], sizeof p[n], f.run, "cgroups-0000000000000009.ipcshm");
    CHECK(mkfifo(p[n++], 0600) == 0);
#undef REGION
    uint32_t removed = 0;
    CHECK_OK(nipc_shm_cleanup_stale(f.run, "cgroups", &removed));
    CHECK_EQ_U64(removed, n - kept);
    for (int i = 0; i < n; i++) {
        if (exists(p[i]) != (i < kept))
            fprintf(stderr, "stale scan: %s %s\n", p[i], i < kept ? "removed" : "kept");
        CHECK_EQ_U64(exists(p[i]), i < kept);
    }
    CHECK_OK(nipc_shm_cleanup_stale(f.run, "cgroups", &removed));
    CHECK_EQ_U64(removed, 0);
    CHECK_ERR(nipc_shm_cleanup_stale("/nonexistent-netipc", "cgroups", &removed), NIPC_ERR_IO);
    CHECK_ERR(nipc_shm_cleanup_stale(f.run, "a/b", NULL), NIPC_ERR_BAD_SERVICE_NAME);
    CHECK_ERR(nipc_shm_cleanup_stale(NULL, "cgroups", NULL), NIPC_ERR_INVALID_ARGUMENT);

    /* The same scan runs when a listener starts. */
    char q[700];
    path_of(q, sizeof q, f.run, "cgroups-00000000000000ff.ipcshm");
    CHECK(write_region(q, M, 3, 64, dead, 9, 64, 64, 192));
    nipc_listener_t *l = NULL;
    CHECK_OK(nipc_listener_create(f.run, "cgroups", NULL, &l));
    CHECK(!exists(q));
    CHECK(exists(p[0]) && exists(p[1]));
    nipc_listener_free(l);
    for (int i = 0; i < kept; i++)
        unlink(p[i]);
    fx_close(&f);
}

/* Region creation meets an existing file of the same name: a live one
 * keeps it (that session runs on UDS), a dead one is reclaimed. */
static void shm_create_collision(void)
{
    fixture_t f;
    REQUIRE(fx_open(&f));
    nipc_transport_config_t cfg = {.supported_profiles = 0x03, .exact_profiles = 1};
    nipc_listener_t *l = NULL;
    CHECK_OK(nipc_listener_create(f.run, SVC, &cfg, &l));
    REQUIRE(l);
    char live[700], stale[700];
    region_path(live, sizeof live, f.run, SVC, 1);
    region_path(stale, sizeof stale, f.run, SVC, 2);
    CHECK(write_region(live, 0x4e53484d, 3, 64, getpid(), 9, 64, 64, 192));
    CHECK(write_region(stale, 0x4e53484d, 3, 64, dead_pid(), 9, 64, 64, 192));
    connect_job_t j;
    CHECK_OK(serve_threaded_client(f.run, SVC, l, &cfg, &cfg, 1, &j));
    CHECK_EQ_U64(j.selected, NIPC_PROFILE_BASELINE);
    CHECK(j.echo_ok);
    struct stat st;
    CHECK(stat(live, &st) == 0 && st.st_size == 192); /* untouched */
    CHECK_OK(serve_threaded_client(f.run, SVC, l, &cfg, &cfg, 2, &j));
    CHECK_EQ_U64(j.selected, NIPC_PROFILE_SHM_HYBRID);
    CHECK(j.echo_ok);
    CHECK(!exists(stale)); /* reclaimed, used, removed with the session */
    unlink(live);
    nipc_listener_free(l);
    fx_close(&f);
}

/* A raw server whose region appears late, or is broken. */
typedef struct late_server {
    int lfd;
    const char *run;
    int delay_ms;
    int kind; /* 0 late but valid, 1 never, 2 zero header, 3 version, 4 sizes, 5 header_len */
    int echo_ok;
    pthread_t th;
} late_server_t;

static void *late_server_main(void *arg)
{
    late_server_t *ls = arg;
    int fd = accept4(ls->lfd, NULL, NULL, SOCK_CLOEXEC);
    if (fd < 0)
        return NULL;
    uint8_t buf[256];
    char path[700];
    region_path(path, sizeof path, ls->run, SVC, 1);
    nipc__shm_t *shm = NULL;
    if (raw_recv(fd, buf, sizeof buf, 5000) > 0) {
        switch (ls->kind) {
        case 0: close(open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600)); break; /* empty */
        case 2: write_region(path, 0, 0, 0, 0, 0, 64, 64, 192); break;
        case 3: write_region(path, 0x4e53484d, 4, 64, getpid(), 1, 64, 64, 192); break;
        case 4: write_region(path, 0x4e53484d, 3, 64, getpid(), 1, 64, 100, 292); break;
        case 5: write_region(path, 0x4e53484d, 3, 32, getpid(), 1, 64, 64, 192); break;
        default: break;
        }
        nipc_header_t h =
            nipc_header_make(NIPC_KIND_CONTROL, NIPC_CONTROL_HELLO_ACK, 0, 0, 48, 1, 0);
        nipc_hello_ack_t a = ack_default();
        a.server_supported_profiles = a.intersection_profiles = 0x03;
        a.selected_profile = NIPC_PROFILE_SHM_HYBRID;
        size_t len = ack_msg(buf, &h, &a);
        raw_send(fd, buf, len);
        if (ls->kind == 0) {
            /* The region becomes valid late (fault injection, not a sync). */
            t_sleep_ms(ls->delay_ms);
            if (nipc__shm_create(ls->run, SVC, 1, NIPC_PROFILE_SHM_HYBRID, 0, 1088, 1088, &shm) ==
                NIPC_OK) {
                /* Serve one request over the region with the library's data plane. */
                uint32_t got = 0;
                uint8_t msg[1088];
                if (nipc__shm_consume(shm, msg, sizeof msg, &got, nipc__deadline(5000), NULL,
                                      NULL) == NIPC_OK &&
                    got >= 32) {
                    msg[8] = NIPC_KIND_RESPONSE;
                    uint64_t id;
                    memcpy(&id, msg + 24, 8);
                    tp_fill(msg + 32, got - 32, tp_resp_seed(id));
                    ls->echo_ok = nipc__shm_publish(shm, msg, 32, msg + 32, got - 32) == NIPC_OK;
                }
            }
        }
        while (raw_recv(fd, buf, sizeof buf, 5000) > 0)
            ;
    }
    nipc__shm_close(shm);
    unlink(path);
    close(fd);
    return NULL;
}

static void shm_attach_retry(void)
{
    fixture_t f;
    REQUIRE(fx_open(&f));
    static const struct {
        int kind;
        nipc_error_t expect;
        int retried; /* waited the whole attach window */
    } cases[] = {
        {0, NIPC_OK, 0},
        {1, NIPC_ERR_SHM_NOT_READY, 1},
        {2, NIPC_ERR_BAD_MAGIC, 1},
        {3, NIPC_ERR_BAD_VERSION, 0},
        {4, NIPC_ERR_SHM_BAD_SIZE, 0},
        {5, NIPC_ERR_BAD_HEADER_LEN, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        late_server_t ls = {.run = f.run, .delay_ms = 80, .kind = cases[i].kind};
        ls.lfd = raw_listen(f.run, SVC);
        REQUIRE(ls.lfd >= 0 && pthread_create(&ls.th, NULL, late_server_main, &ls) == 0);
        nipc_transport_config_t c = {
            .supported_profiles = 0x03, .exact_profiles = 1, .shm_attach_timeout_ms = 300};
        nipc_session_t *s = NULL;
        unsigned long long t0 = t_now_ms();
        nipc_error_t err = nipc_session_connect(f.run, SVC, &c, &s);
        unsigned long long took = t_now_ms() - t0;
        CHECK_ERR(err, cases[i].expect);
        if (cases[i].kind == 0) {
            CHECK(took >= 75 && took < T_MS(300)); /* waited for the region, then attached */
            uint8_t buf[100];
            CHECK(s && client_echo(s, 5, buf, sizeof buf));
        } else if (cases[i].retried) {
            CHECK(took >= 295 && took < T_MS(300 + 300));
        } else {
            CHECK(took < T_MS(100)); /* a final error: no retry */
        }
        nipc_session_close(s);
        pthread_join(ls.th, NULL);
        if (cases[i].kind == 0)
            CHECK(ls.echo_ok);
        close(ls.lfd);
        char path[600];
        sock_path(path, sizeof path, f.run, SVC);
        unlink(path);
    }
    fx_close(&f);
}

/* ------------------------------------------------ hostile SHM client */

static void raw_publish(uint8_t *base, const void *msg, uint32_t copy, uint32_t len)
{
    if (copy)
        memcpy(base + 64, msg, copy);
    __atomic_store_n((uint32_t *)(void *)(base + S_REQ_LEN), len, __ATOMIC_RELEASE);
    __atomic_add_fetch((uint64_t *)(void *)(base + S_REQ_SEQ), 1, __ATOMIC_RELEASE);
    __atomic_add_fetch((uint32_t *)(void *)(base + S_REQ_SIG), 1, __ATOMIC_RELEASE);
    syscall(SYS_futex, base + S_REQ_SIG, FUTEX_WAKE, 1, NULL, NULL, 0);
}

static void hostile_shm_client(void)
{
    fixture_t f;
    REQUIRE(fx_open(&f));
    nipc_transport_config_t scfg = {.supported_profiles = 0x02, .exact_profiles = 1,
                                    .max_request_payload_bytes = 1000,
                                    .max_response_payload_bytes = 1000,
                                    .auth_token = TOKEN};
    nipc_listener_t *l = NULL;
    CHECK_OK(nipc_listener_create(f.run, SVC, &scfg, &l));
    REQUIRE(l);
    static const struct {
        const char *what;
        nipc_error_t expect;
    } cases[] = {
        {"valid", NIPC_OK},
        {"length 0", NIPC_ERR_CORRUPT},
        {"length above the area", NIPC_ERR_TOO_LARGE},
        {"length below 32", NIPC_ERR_PROTOCOL},
        {"bad magic", NIPC_ERR_PROTOCOL},
        {"kind 9", NIPC_ERR_PROTOCOL},
        {"payload over the limit, inside the area", NIPC_ERR_LIMIT_EXCEEDED},
        {"item_count over the limit", NIPC_ERR_LIMIT_EXCEEDED},
        {"bad batch directory", NIPC_ERR_OUT_OF_BOUNDS},
    };
    nipc_hello_t hello = hello_default(0x02, 1000, 4, 65536);
    for (int i = 0; i < (int)(sizeof cases / sizeof cases[0]); i++) {
        nipc_session_t *s = NULL;
        nipc_hello_ack_t ack;
        int fd = raw_session(l, &scfg, &hello, f.run, (uint64_t)i + 1, &s, &ack);
        REQUIRE(fd >= 0);
        CHECK_EQ_U64(ack.selected_profile, NIPC_PROFILE_SHM_HYBRID);
        char path[700];
        region_path(path, sizeof path, f.run, SVC, ack.session_id);
        int rfd = open(path, O_RDWR | O_CLOEXEC);
        struct stat st;
        uint8_t *base = MAP_FAILED;
        if (rfd >= 0 && fstat(rfd, &st) == 0)
            base = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, rfd, 0);
        REQUIRE(base != MAP_FAILED);
        uint32_t cap = get32(base, S_REQ_CAP);
        CHECK_EQ_U64(cap, 1088);

        uint8_t msg[1100];
        memset(msg, 0, sizeof msg);
        uint64_t id = 0x5500 + (uint64_t)i;
        nipc_header_t h = nipc_header_make(NIPC_KIND_REQUEST, TP_ECHO, 0, 0, 0, 1, id);
        uint32_t len = 32 + 16;
        if (i == 5)
            h.kind = 9;
        if (i == 4)
            h.magic = 0;
        if (i == 6)
            len = 32 + 1010;
        if (i == 7)
            h.item_count = 5;
        if (i == 8) {
            /* Two items, 16 bytes of directory, no packed area, item 0 says 8 bytes. */
            h.flags = NIPC_FLAG_BATCH;
            h.item_count = 2;
            put32(msg, 32 + 4, 8);
        }
        nipc_header_encode(&h, msg);
        if (i == 1)
            len = 0;
        if (i == 2)
            len = cap + 1;
        if (i == 3)
            len = 16;
        raw_publish(base, msg, len <= cap ? len : 0, len);

        nipc_message_t m;
        memset(&m, 0, sizeof m);
        unsigned long long t0 = t_now_ms();
        nipc_error_t err = nipc_session_receive(s, &m, 2000, NULL);
        nipc_error_t expect = cases[i].expect;
        if (err != expect)
            fprintf(stderr, "SHM case '%s': %s\n", cases[i].what, nipc_error_name(err));
        CHECK_ERR(err, expect);
        CHECK(t_now_ms() - t0 < 1000);
        if (err == NIPC_ERR_LIMIT_EXCEEDED) {
            CHECK_EQ_U64(m.header.message_id, id);
            /* The answer still goes out through the response area. */
            nipc_header_t rh = nipc_header_make(NIPC_KIND_RESPONSE, TP_ECHO, 0,
                                                NIPC_STATUS_LIMIT_EXCEEDED, 0, 1, id);
            CHECK_OK(nipc_session_send(s, &rh, NULL, 0, 1000, NULL));
            uint64_t rs;
            memcpy(&rs, base + S_RESP_SEQ, 8);
            CHECK_EQ_U64(rs, 1);
            CHECK_EQ_U64(get32(base, S_RESP_LEN), 32);
            nipc_header_t got;
            CHECK_OK(nipc_header_decode(base + get32(base, S_RESP_OFF), 32, &got));
            CHECK_EQ_U64(got.transport_status, NIPC_STATUS_LIMIT_EXCEEDED);
            CHECK_EQ_U64(got.message_id, id);
        }
        if (err != NIPC_OK)
            CHECK_ERR(nipc_session_receive(s, &m, 100, NULL), NIPC_ERR_DISCONNECTED);
        munmap(base, (size_t)st.st_size);
        close(rfd);
        nipc_session_close(s);
        close(fd);
        CHECK(!exists(path));
    }
    nipc_listener_free(l);
    fx_close(&f);
}

/* ================================================================ main */

int main(int argc, char **argv)
{
    t_init(argc, argv);
    int code;
    if (tp_peer_dispatch(argc, argv, &code))
        return code;
    if (argc >= 4 && strcmp(argv[1], "--peer") == 0 && strcmp(argv[2], "fdlimit") == 0)
        return fdlimit_child(argv[3]);
    if (argc >= 5 && strcmp(argv[1], "--peer") == 0 && strcmp(argv[2], "fullfs") == 0)
        return fullfs_child(argv[3], argv[4]);
    static const t_case_t cases[] = {
        T_CASE(uds_endpoint_file),        T_CASE(uds_run_dir_checks),
        T_CASE(uds_service_names),        T_CASE(uds_stale_recovery),
        T_CASE(uds_full_backlog),         T_CASE(uds_fd_exhaustion),
        T_CASE(uds_packet_size_sndbuf), T_CASE(uds_packet_size_configured_clamped),   T_CASE(uds_peer_allow_list),
        T_CASE(hostile_client_handshake), T_CASE(hostile_client_frames),
        T_CASE(hostile_server_handshake), T_CASE(hostile_server_frames),
        T_CASE(hostile_peer_dies_mid_chunk),
        T_CASE(shm_region_file),          T_CASE(shm_full_filesystem),
        T_CASE(shm_stale_scan),           T_CASE(shm_create_collision),
        T_CASE(shm_attach_retry),         T_CASE(hostile_shm_client),
    };
    return t_run(cases, sizeof cases / sizeof cases[0], argc, argv);
}
