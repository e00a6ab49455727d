/*
 * Hostile peers against shared memory (Linux), both ways:
 *
 *  - client_manipulates_region: a client completes a HELLO with profiles
 *    0x03 (upstream's file region) and then truncates its session's region
 *    file (to 0, to one page), grows it, unlinks and replaces it, or
 *    removes every permission. The managed server survives every one,
 *    ends the truncated sessions (SHM_LOST, SIGBUS repaired with zero
 *    pages), keeps the others, serves two honest clients throughout, and
 *    leaves nothing behind.
 *  - provider_truncates_region: a provider that truncates its own region
 *    under a connected client. The client's call survives (the retry
 *    reconnects), a cache keeps its data, nothing leaks.
 *  - sealed_region_cannot_change: with netipc's sealed profile the client
 *    holds the memfd itself and cannot shrink, grow or unseal it.
 *  - hostile_server_fds: a server that selects the sealed profile and sends
 *    no descriptor, an unsealed memfd, a plain file, a region owned by
 *    nobody else, or two descriptors: refused (or closed), never mapped,
 *    no descriptor leaked.
 *  - sigbus_chaining: SIGBUS outside netipc's regions reaches the handler
 *    installed before netipc's; a handler installed after it recovers
 *    netipc's regions through nipc_shm_fault_recover().
 *
 * Victims and hostile peers run in this process: a SIGBUS that is not
 * recovered kills the whole program, which is the failure this suite
 * exists to catch.
 */
#include "test.h"

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdatomic.h>
#include <linux/futex.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "netipc/cache.h"
#include "netipc/service.h"
#include "netipc/transport.h"
#include "platform/platform.h"
#include "support.h"
#include "transport/posix/shm_guard.h"
#include "transport/transport_internal.h"

#define SVC "shmhostile"
#define FILE_SHM (NIPC_PROFILE_BASELINE | NIPC_PROFILE_SHM_HYBRID)

static void region_path(char *out, size_t cap, const char *run, uint64_t sid)
{
    snprintf(out, cap, "%s/%s-%016llx.ipcshm", run, SVC, (unsigned long long)sid);
}

static nipc_error_t call(nipc_client_t *c, uint64_t v)
{
    uint64_t out = 0;
    nipc_error_t err = nipc_client_increment(c, v, &out, T_MS(3000));
    return err == NIPC_OK && out != v + 1 ? NIPC_ERR_BAD_RESPONSE : err;
}

/* Requests this large reach past the first page of a region's areas. */
#define BIG_REQUEST 6000u

/* One Level 1 INCREMENT round trip on a raw session; `len` bytes of
 * request (an INCREMENT ignores the bytes after its first 8). */
static nipc_error_t l1_call_len(nipc_session_t *s, uint64_t id, size_t len)
{
    static uint8_t p[BIG_REQUEST];
    size_t n = 0;
    nipc_increment_encode(id, p, sizeof p, &n);
    nipc_header_t h = nipc_header_make(NIPC_KIND_REQUEST, NIPC_METHOD_INCREMENT, 0, 0, 0, 1, id);
    nipc_error_t err = nipc_session_send(s, &h, p, len > n ? len : n, T_MS(2000), NULL);
    nipc_message_t m;
    if (err == NIPC_OK)
        err = nipc_session_receive(s, &m, T_MS(2000), NULL);
    return err;
}

static nipc_error_t l1_call(nipc_session_t *s, uint64_t id)
{
    return l1_call_len(s, id, 8);
}

static int active_sessions(nipc_server_t *srv)
{
    nipc_server_stats_t st;
    nipc_server_stats(srv, &st);
    return (int)st.sessions_active;
}

static int wait_active(nipc_server_t *srv, int n)
{
    unsigned long long end = t_now_ms() + T_MS(3000);
    while (active_sessions(srv) != n && t_now_ms() < end)
        t_sleep_ms(5);
    return active_sessions(srv) == n;
}

/* ================================================ a client against a server */

enum { M_TRUNCATE_0, M_TRUNCATE_PAGE, M_GROW, M_REPLACE, M_CHMOD, M_COUNT };
static const char *const manip_names[M_COUNT] = {"truncate to 0", "truncate to one page",
                                                 "grow", "unlink and replace", "chmod 0"};

/*
 * The hostile client's own view of its region (upstream's file layout,
 * posix.md): it writes a request of `len` bytes into the request area
 * beyond the first page, cuts the file to one page, and only then
 * publishes, so the server's copy of the request runs into the lost page.
 */
static int forge_after_truncation(const char *path, uint32_t len)
{
    int fd = open(path, O_RDWR | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0)
        return 0;
    uint8_t *b = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    if (b == MAP_FAILED)
        return 0;
    uint8_t *area = b + 64;
    uint64_t seq;
    memcpy(&seq, b + 32, 8);
    nipc_header_t h = nipc_header_make(NIPC_KIND_REQUEST, NIPC_METHOD_INCREMENT, 0, 0,
                                       len - 32, 1, seq + 1);
    nipc_header_encode(&h, area);
    memset(area + 32, 0x5a, len - 32);
    int ok = truncate(path, 4096) == 0;
    /* Page 0 (the header) is still shared: publish there. */
    __atomic_store_n((uint32_t *)(void *)(b + 48), len, __ATOMIC_RELEASE);
    __atomic_add_fetch((uint64_t *)(void *)(b + 32), 1, __ATOMIC_RELEASE);
    __atomic_add_fetch((uint32_t *)(void *)(b + 56), 1, __ATOMIC_RELEASE);
    syscall(SYS_futex, b + 56, FUTEX_WAKE, 1, NULL, NULL, 0);
    munmap(b, (size_t)st.st_size);
    return ok;
}

/* Does to the region file what a hostile client can do; 1 when the region
 * is lost for the server (its mapping shrank under an access). */
static int manipulate(const char *path, int m)
{
    switch (m) {
    case M_TRUNCATE_0:
        return truncate(path, 0) == 0;
    case M_TRUNCATE_PAGE:
        return forge_after_truncation(path, 32 + BIG_REQUEST);
    case M_GROW: {
        struct stat st;
        if (stat(path, &st) == 0)
            CHECK(truncate(path, st.st_size * 4) == 0);
        return 0;
    }
    case M_REPLACE: {
        char other[720];
        snprintf(other, sizeof other, "%s.new", path);
        int fd = open(other, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
        CHECK(fd >= 0 && write(fd, "junk", 4) == 4);
        if (fd >= 0)
            close(fd);
        CHECK(unlink(path) == 0 && rename(other, path) == 0);
        return 0;
    }
    default:
        CHECK(chmod(path, 0) == 0);
        return 0;
    }
}

static void client_manipulates_region(void)
{
    char run[512];
    REQUIRE(t_mkdtemp(run, sizeof run));
    int fds = t_open_handles();
    nipc_server_config_t scfg = {.supported_profiles = FILE_SHM,
                                 .exact_profiles = 1,
                                 .max_request_payload_bytes = 8192};
    nipc_server_t *srv = NULL;
    REQUIRE(nipc_server_create_increment(run, SVC, &scfg, t_increment_handler, NULL, &srv) ==
            NIPC_OK);
    REQUIRE(nipc_server_start(srv) == NIPC_OK);

    /* Two honest clients, one over SHM, one over the socket. */
    nipc_client_config_t shm_cfg = {.supported_profiles = FILE_SHM,
                                    .preferred_profiles = NIPC_PROFILE_SHM_HYBRID,
                                    .exact_profiles = 1};
    nipc_client_t *honest[2] = {NULL, NULL};
    CHECK_OK(nipc_client_create(run, SVC, &shm_cfg, &honest[0]));
    CHECK_OK(nipc_client_create(run, SVC, NULL, &honest[1]));
    REQUIRE(honest[0] && honest[1]);
    for (int i = 0; i < 2; i++) {
        nipc_client_refresh(honest[i]);
        CHECK_OK(call(honest[i], 1));
    }
    REQUIRE(wait_active(srv, 2));

    uint64_t v = 10;
    for (int m = 0; m < M_COUNT; m++) {
        /* The hostile client: HELLO with 0x03, then at its region file. */
        nipc_transport_config_t hc = {.supported_profiles = FILE_SHM,
                                      .preferred_profiles = NIPC_PROFILE_SHM_HYBRID,
                                      .exact_profiles = 1,
                                      .max_request_payload_bytes = 8192};
        nipc_session_t *s = NULL;
        CHECK_OK(nipc_session_connect(run, SVC, &hc, &s));
        REQUIRE(s && nipc_session_info(s)->selected_profile == NIPC_PROFILE_SHM_HYBRID);
        CHECK_OK(l1_call(s, 1));
        char path[700];
        region_path(path, sizeof path, run, nipc_session_info(s)->session_id);
        int lost = manipulate(path, m);
        /* The server's session touches its mapping within one 100 ms wait
         * slice; meanwhile, and after, the honest clients are served. */
        for (int k = 0; k < 5; k++) {
            t_sleep_ms(60);
            for (int i = 0; i < 2; i++)
                CHECK_OK(call(honest[i], v++));
        }
        if (lost) {
            /* The server ended that session (SHM_LOST) and removed its file. */
            CHECK(wait_active(srv, 2));
            CHECK(access(path, F_OK) != 0);
            /* The hostile side's own mapping shrank too: its call fails
             * cleanly (its SIGBUS repaired the same way), no crash. */
            CHECK(l1_call(s, 2) != NIPC_OK);
        } else {
            /* Growing, replacing or chmod cannot take a mapping away: the
             * session goes on. */
            CHECK_OK(l1_call(s, 2));
            CHECK_EQ_U64(active_sessions(srv), 3);
        }
        if (t_failures)
            fprintf(stderr, "  after '%s'\n", manip_names[m]);
        nipc_session_close(s);
        CHECK(wait_active(srv, 2));
        CHECK(access(path, F_OK) != 0); /* nothing left behind, a replacement neither */
    }
    for (int i = 0; i < 2; i++) {
        CHECK_OK(call(honest[i], v++));
        nipc_client_free(honest[i]);
    }
    nipc_server_destroy(srv);
    CHECK_EQ_U64(t_dir_entries(run), 0);
    CHECK_EQ_U64(t_open_handles(), fds);
    t_rmtree(run);
}

/* ============================================== a provider against a client */

typedef struct rogue {
    char run[512];
    nipc_listener_t *l;
    int hostile_sessions; /* how many sessions (from the first) truncate their region */
    atomic_int stop, sessions;
    atomic_int failed; /* threads never use CHECK: the main thread checks this */
    nipc__thread_t *thread;
} rogue_t;

/* Serves INCREMENT over the file region; a hostile session truncates its
 * region right after the handshake, then keeps serving as if nothing
 * happened (its own writes land on the repaired zero pages). */
static void rogue_main(void *arg)
{
    rogue_t *r = arg;
    nipc_transport_config_t cfg = {.supported_profiles = FILE_SHM, .exact_profiles = 1};
    uint64_t sid = 1;
    while (!atomic_load(&r->stop)) {
        nipc_pending_t *p = NULL;
        if (nipc_listener_accept(r->l, 50, &p) != NIPC_OK)
            continue;
        nipc_session_t *s = NULL;
        uint64_t this_sid = sid++;
        if (nipc_pending_accept(p, &cfg, this_sid, &s) != NIPC_OK)
            continue;
        int n = atomic_fetch_add(&r->sessions, 1);
        int hostile = n < r->hostile_sessions && nipc_session_info(s)->shm_request_capacity;
        while (!atomic_load(&r->stop)) {
            nipc_message_t m;
            nipc_error_t err = nipc_session_receive(s, &m, 50, NULL);
            if (err == NIPC_ERR_TIMEOUT)
                continue;
            if (err != NIPC_OK)
                break;
            if (hostile) {
                /* The request is read; now the region goes, under the
                 * client waiting for its answer. */
                char path[700];
                region_path(path, sizeof path, r->run, this_sid);
                if (truncate(path, 0) != 0)
                    atomic_store(&r->failed, 1);
                hostile = 0;
            }
            uint64_t v = 0;
            uint8_t out[8];
            size_t len = 0;
            nipc_increment_decode(m.payload, m.header.payload_len, &v);
            nipc_increment_encode(v + 1, out, sizeof out, &len);
            nipc_header_t h = nipc_header_make(NIPC_KIND_RESPONSE, m.header.code, 0, 0, 0, 1,
                                               m.header.message_id);
            if (nipc_session_send(s, &h, out, len, 1000, NULL) != NIPC_OK)
                break;
        }
        nipc_session_close(s);
    }
}

static int rogue_start(rogue_t *r, int hostile_sessions)
{
    memset(r, 0, sizeof *r);
    if (!t_mkdtemp(r->run, sizeof r->run))
        return 0;
    r->hostile_sessions = hostile_sessions;
    nipc_transport_config_t cfg = {.supported_profiles = FILE_SHM, .exact_profiles = 1};
    return nipc_listener_create(r->run, SVC, &cfg, &r->l) == NIPC_OK &&
           nipc__thread_start(&r->thread, rogue_main, r) == NIPC_OK;
}

static void rogue_stop(rogue_t *r)
{
    atomic_store(&r->stop, 1);
    if (r->thread)
        nipc__thread_join(r->thread);
    CHECK_EQ_U64(atomic_load(&r->failed), 0);
    nipc_listener_free(r->l);
    CHECK_EQ_U64(t_dir_entries(r->run), 0);
    t_rmtree(r->run);
}

static void provider_truncates_region(void)
{
    int fds = t_open_handles();
    /* The first session is hostile: the call's retry reaches an honest one. */
    rogue_t r;
    REQUIRE(rogue_start(&r, 1));
    nipc_client_config_t cfg = {.supported_profiles = FILE_SHM,
                                .preferred_profiles = NIPC_PROFILE_SHM_HYBRID,
                                .exact_profiles = 1};
    nipc_client_t *c = NULL;
    REQUIRE(nipc_client_create(r.run, SVC, &cfg, &c) == NIPC_OK);
    nipc_client_refresh(c);
    CHECK(nipc_client_ready(c));
    CHECK_OK(call(c, 41));
    nipc_client_status_t st;
    nipc_client_status(c, &st);
    CHECK_EQ_U64(st.reconnect_count, 1); /* through the retry */
    nipc_client_free(c);
    rogue_stop(&r);
    CHECK_EQ_U64(t_open_handles(), fds);
}

/* A cache whose provider turns hostile keeps the data it had. */
static void cache_survives_hostile_provider(void)
{
    int fds = t_open_handles();
    char run[512];
    REQUIRE(t_mkdtemp(run, sizeof run));
    /* An honest snapshot provider first. */
    t_bytes_t snap = {0};
    uint8_t buf[256];
    nipc_cgroups_builder_t b;
    nipc_cgroups_builder_init(&b, buf, sizeof buf, 1, 0, 1);
    nipc_cgroups_builder_add(&b, 42, 0, 1, "one", 3, "/one", 4);
    size_t len = 0;
    REQUIRE(nipc_cgroups_builder_finish(&b, &len) == NIPC_OK);
    snap.ptr = buf;
    snap.len = len;
    nipc_server_config_t scfg = {.supported_profiles = FILE_SHM, .exact_profiles = 1};
    nipc_server_t *srv = NULL;
    REQUIRE(nipc_server_create_cgroups_snapshot(run, SVC, &scfg, t_snapshot_handler, &snap,
                                                &srv) == NIPC_OK);
    REQUIRE(nipc_server_start(srv) == NIPC_OK);
    nipc_client_config_t cfg = {.supported_profiles = FILE_SHM,
                                .preferred_profiles = NIPC_PROFILE_SHM_HYBRID,
                                .exact_profiles = 1};
    nipc_cgroups_cache_t *cache = NULL;
    REQUIRE(nipc_cgroups_cache_create(run, SVC, &cfg, &cache) == NIPC_OK);
    CHECK_OK(nipc_cgroups_cache_refresh(cache, T_MS(3000)));
    nipc_server_destroy(srv);

    /* Then one that truncates every region it hands out. */
    rogue_t r;
    memset(&r, 0, sizeof r);
    snprintf(r.run, sizeof r.run, "%s", run);
    r.hostile_sessions = 1000;
    nipc_transport_config_t lc = {.supported_profiles = FILE_SHM, .exact_profiles = 1};
    REQUIRE(nipc_listener_create(run, SVC, &lc, &r.l) == NIPC_OK);
    REQUIRE(nipc__thread_start(&r.thread, rogue_main, &r) == NIPC_OK);
    /* Each refresh's call (and its retry) meets a truncated region. */
    for (int i = 0; i < 3; i++)
        CHECK(nipc_cgroups_cache_refresh(cache, T_MS(1000)) != NIPC_OK);
    nipc_cgroups_cache_read_lock(cache);
    const nipc_cgroup_item_t *it = nipc_cgroups_cache_get(cache, 42, "one", 3);
    CHECK(it && it->path.len == 4 && memcmp(it->path.ptr, "/one", 4) == 0);
    nipc_cgroups_cache_read_unlock(cache);
    nipc_cgroups_cache_free(cache);
    atomic_store(&r.stop, 1);
    nipc__thread_join(r.thread);
    CHECK_EQ_U64(atomic_load(&r.failed), 0);
    nipc_listener_free(r.l);
    CHECK_EQ_U64(t_dir_entries(run), 0);
    t_rmtree(run);
    CHECK_EQ_U64(t_open_handles(), fds);
}

/* ============================================================ sealed regions */

/* A raw HELLO with the sealed profile; the memfd that comes with the ACK. */
static int raw_sealed_client(const char *run, nipc__conn_t **conn, nipc_hello_ack_t *ack)
{
    if (nipc__conn_connect(run, SVC, conn) != NIPC_OK)
        return -1;
    nipc_hello_t hello = {
        .layout_version = 1,
        .supported_profiles = NIPC_PROFILE_BASELINE | NIPC_PROFILE_SHM_SEALED,
        .preferred_profiles = NIPC_PROFILE_SHM_SEALED,
        .max_request_payload_bytes = 1024,
        .max_request_batch_items = 1,
        .max_response_payload_bytes = 1024,
        .max_response_batch_items = 1,
        .packet_size = 65536,
    };
    uint8_t buf[128];
    nipc_header_t h = nipc_header_make(NIPC_KIND_CONTROL, NIPC_CONTROL_HELLO, 0, 0, 44, 1, 0);
    nipc_header_encode(&h, buf);
    nipc_hello_encode(&hello, buf + 32);
    int fd = -1;
    size_t got = 0;
    if (nipc__conn_send(*conn, buf, 76, NULL, 0, nipc__deadline(2000), NULL) != NIPC_OK ||
        nipc__conn_recv_fd(*conn, buf, sizeof buf, &got, &fd, nipc__deadline(2000)) != NIPC_OK ||
        got < 80 || nipc_hello_ack_decode(buf + 32, 48, ack) != NIPC_OK)
        return -1;
    return fd;
}

static void sealed_region_cannot_change(void)
{
    char run[512];
    REQUIRE(t_mkdtemp(run, sizeof run));
    int fds = t_open_handles();
    nipc_server_config_t scfg = {.supported_profiles = FILE_SHM}; /* sealed added */
    nipc_server_t *srv = NULL;
    REQUIRE(nipc_server_create_increment(run, SVC, &scfg, t_increment_handler, NULL, &srv) ==
            NIPC_OK);
    REQUIRE(nipc_server_start(srv) == NIPC_OK);
    nipc__conn_t *conn = NULL;
    nipc_hello_ack_t ack;
    int fd = raw_sealed_client(run, &conn, &ack);
    REQUIRE(fd >= 0);
    CHECK_EQ_U64(ack.selected_profile, NIPC_PROFILE_SHM_SEALED);
    struct stat st;
    CHECK(fstat(fd, &st) == 0 && st.st_size > 0);
    /* Whatever the holder of the descriptor tries, the size stays. */
    errno = 0;
    CHECK(ftruncate(fd, 0) != 0 && errno == EPERM);
    CHECK(ftruncate(fd, st.st_size * 2) != 0 && errno == EPERM);
    CHECK(fallocate(fd, 0, 0, st.st_size * 2) != 0);
    CHECK(fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE) != 0); /* sealed against more seals */
    int seals = fcntl(fd, F_GET_SEALS);
    CHECK((seals & (F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL)) ==
          (F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL));
    /* Reopened through /proc, it is the same sealed memory. */
    char proc[64];
    snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
    int again = open(proc, O_RDWR | O_CLOEXEC);
    CHECK(again >= 0 && ftruncate(again, 0) != 0 && errno == EPERM);
    if (again >= 0)
        close(again);
    CHECK_EQ_U64(t_dir_entries(run), 1); /* only the socket: no region file */
    close(fd);
    nipc__conn_close(conn);

    /* The server is unharmed: a netipc client gets the sealed profile. */
    nipc_client_config_t cc = {.supported_profiles = FILE_SHM};
    nipc_client_t *c = NULL;
    CHECK_OK(nipc_client_create(run, SVC, &cc, &c));
    nipc_client_refresh(c);
    nipc_client_status_t cs;
    nipc_client_status(c, &cs);
    CHECK_EQ_U64(cs.selected_profile, NIPC_PROFILE_SHM_SEALED);
    CHECK_OK(call(c, 5));
    CHECK_EQ_U64(t_dir_entries(run), 1);
    nipc_client_free(c);
    nipc_server_destroy(srv);
    CHECK_EQ_U64(t_dir_entries(run), 0);
    CHECK_EQ_U64(t_open_handles(), fds);
    t_rmtree(run);
}

/* ------------------------------------------- a server passing bad descriptors */

enum { F_NONE, F_UNSEALED, F_FILE, F_TWO, F_WITH_BASELINE, F_COUNT };
static const char *const fd_names[F_COUNT] = {"no descriptor", "an unsealed memfd",
                                              "a plain file", "two descriptors",
                                              "a descriptor with the baseline selected"};

typedef struct fake_server {
    const char *run;
    int l; /* listening socket */
    int kind;
    int failed; /* read by the main thread after the join */
} fake_server_t;

#include <sys/socket.h>
#include <sys/un.h>

/* Answers one HELLO with an OK ACK selecting the sealed profile (or the
 * baseline), passing the descriptors of `kind`, then waits for the close. */
static void fake_server_main(void *arg)
{
    fake_server_t *f = arg;
    int c = accept(f->l, NULL, NULL);
    if (c < 0)
        return;
    uint8_t buf[128];
    if (recv(c, buf, sizeof buf, 0) < 76) {
        close(c);
        return;
    }
    nipc_hello_t hello;
    nipc_hello_decode(buf + 32, 44, &hello);
    nipc_hello_ack_t ack = {
        .layout_version = 1,
        .server_supported_profiles = hello.supported_profiles,
        .intersection_profiles = hello.supported_profiles,
        .selected_profile =
            f->kind == F_WITH_BASELINE ? NIPC_PROFILE_BASELINE : NIPC_PROFILE_SHM_SEALED,
        .agreed_max_request_payload_bytes = hello.max_request_payload_bytes,
        .agreed_max_request_batch_items = hello.max_request_batch_items,
        .agreed_max_response_payload_bytes = 1024,
        .agreed_max_response_batch_items = hello.max_request_batch_items,
        .agreed_packet_size = 4096,
        .session_id = 1,
    };
    nipc_header_t h = nipc_header_make(NIPC_KIND_CONTROL, NIPC_CONTROL_HELLO_ACK, 0, 0, 48, 1, 0);
    nipc_header_encode(&h, buf);
    nipc_hello_ack_encode(&ack, buf + 32);
    int pass[2] = {-1, -1}, npass = 0;
    if (f->kind == F_UNSEALED || f->kind == F_TWO || f->kind == F_WITH_BASELINE) {
        pass[0] = memfd_create("fake", MFD_CLOEXEC);
        f->failed |= pass[0] < 0 || ftruncate(pass[0], 65536) != 0;
        npass = 1;
    }
    if (f->kind == F_FILE) {
        char p[700];
        snprintf(p, sizeof p, "%s/plain", f->run);
        pass[0] = open(p, O_CREAT | O_RDWR | O_CLOEXEC, 0600);
        f->failed |= pass[0] < 0 || ftruncate(pass[0], 65536) != 0;
        unlink(p);
        npass = 1;
    }
    if (f->kind == F_TWO) {
        pass[1] = dup(pass[0]);
        npass = 2;
    }
    union {
        char b[CMSG_SPACE(2 * sizeof(int))];
        struct cmsghdr align;
    } ctl;
    memset(&ctl, 0, sizeof ctl);
    struct iovec iov = {buf, 80};
    struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
    if (npass) {
        mh.msg_control = ctl.b;
        mh.msg_controllen = CMSG_SPACE((size_t)npass * sizeof(int));
        struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
        cm->cmsg_level = SOL_SOCKET;
        cm->cmsg_type = SCM_RIGHTS;
        cm->cmsg_len = CMSG_LEN((size_t)npass * sizeof(int));
        memcpy(CMSG_DATA(cm), pass, (size_t)npass * sizeof(int));
    }
    f->failed |= sendmsg(c, &mh, MSG_NOSIGNAL) != 80;
    for (int i = 0; i < npass; i++)
        close(pass[i]);
    while (recv(c, buf, sizeof buf, 0) > 0) /* until the client closes */
        ;
    close(c);
}

static void hostile_server_fds(void)
{
    char run[512];
    REQUIRE(t_mkdtemp(run, sizeof run));
    int fds = t_open_handles();
    for (int k = 0; k < F_COUNT; k++) {
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        int n = snprintf(sa.sun_path, sizeof sa.sun_path, "%s/%s.sock", run, SVC);
        REQUIRE(n > 0 && (size_t)n < sizeof sa.sun_path);
        fake_server_t f = {run, socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0), k, 0};
        REQUIRE(f.l >= 0 && bind(f.l, (struct sockaddr *)&sa, sizeof sa) == 0 &&
                listen(f.l, 4) == 0);
        nipc__thread_t *th = NULL;
        REQUIRE(nipc__thread_start(&th, fake_server_main, &f) == NIPC_OK);
        nipc_transport_config_t tc = {.supported_profiles = FILE_SHM,
                                      .handshake_timeout_ms = T_MS(2000),
                                      .shm_attach_timeout_ms = 100};
        nipc_session_t *s = NULL;
        nipc_error_t err = nipc_session_connect(run, SVC, &tc, &s);
        if (k == F_WITH_BASELINE) {
            CHECK_OK(err); /* the stray descriptor is closed, the baseline used */
            CHECK(s && nipc_session_info(s)->selected_profile == NIPC_PROFILE_BASELINE);
        } else {
            /* Attach failures: Level 2 reconnects without SHM. */
            CHECK(err == NIPC_ERR_SHM_BAD_SIZE || err == NIPC_ERR_SHM_NOT_READY);
            CHECK(s == NULL);
        }
        if (t_failures)
            fprintf(stderr, "  server passing %s: %s\n", fd_names[k], nipc_error_name(err));
        nipc_session_close(s);
        nipc__thread_join(th);
        CHECK_EQ_U64(f.failed, 0);
        close(f.l);
        unlink(sa.sun_path);
        CHECK_EQ_U64(t_open_handles(), fds); /* nothing received is kept */
    }
    t_rmtree(run);
}

/* ========================================================== signal chaining */

static sigjmp_buf host_jump;
static atomic_int host_calls;

static void host_handler(int sig, siginfo_t *info, void *uctx)
{
    (void)sig, (void)uctx;
    atomic_fetch_add(&host_calls, 1);
    if (info->si_code > 0)
        siglongjmp(host_jump, 1); /* a real fault: the host recovers its own way */
}

/* A host handler installed after netipc's, recovering netipc's regions first. */
static void late_handler(int sig, siginfo_t *info, void *uctx)
{
    (void)sig, (void)uctx;
    if (info->si_code > 0 && nipc_shm_fault_recover(info->si_addr))
        return;
    atomic_fetch_add(&host_calls, 1);
    siglongjmp(host_jump, 1);
}

/* A file mapping of ours, outside netipc, whose file we then truncate. */
static volatile uint8_t *doomed_mapping(const char *run, int *fd)
{
    char p[700];
    snprintf(p, sizeof p, "%s/doomed", run);
    *fd = open(p, O_CREAT | O_RDWR | O_CLOEXEC, 0600);
    unlink(p);
    if (*fd < 0 || ftruncate(*fd, 8192) != 0)
        return NULL;
    void *m = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, *fd, 0);
    if (m == MAP_FAILED || ftruncate(*fd, 0) != 0)
        return NULL;
    return m;
}

/* 1 when SIGBUS still has its default action: netipc's handler is not in
 * place yet, so this process can install a host handler below it. */
static int sigbus_untouched(void)
{
    struct sigaction cur;
    return sigaction(SIGBUS, NULL, &cur) == 0 && !(cur.sa_flags & SA_SIGINFO) &&
           cur.sa_handler == SIG_DFL;
}

static void sigbus_chaining(void)
{
    /* netipc installs its handler once per process: with the other cases
     * run first, it is already there. sigbus_in_fresh_processes runs this
     * case alone. */
    if (!sigbus_untouched())
        T_SKIP("netipc's handler already installed here; run alone by sigbus_in_fresh_processes");
    char run[512];
    REQUIRE(t_mkdtemp(run, sizeof run));
    /* The host's handler first, netipc's installed on top of it when the
     * first region is mapped. */
    struct sigaction host = {.sa_sigaction = host_handler, .sa_flags = SA_SIGINFO};
    sigemptyset(&host.sa_mask);
    struct sigaction saved;
    REQUIRE(sigaction(SIGBUS, &host, &saved) == 0);
    nipc_server_config_t scfg = {.supported_profiles = FILE_SHM, .exact_profiles = 1};
    nipc_server_t *srv = NULL;
    REQUIRE(nipc_server_create_increment(run, SVC, &scfg, t_increment_handler, NULL, &srv) ==
            NIPC_OK);
    REQUIRE(nipc_server_start(srv) == NIPC_OK);
    nipc_client_config_t cfg = {.supported_profiles = FILE_SHM,
                                .preferred_profiles = NIPC_PROFILE_SHM_HYBRID,
                                .exact_profiles = 1};
    nipc_client_t *c = NULL;
    REQUIRE(nipc_client_create(run, SVC, &cfg, &c) == NIPC_OK);
    nipc_client_refresh(c);
    CHECK_OK(call(c, 1)); /* regions mapped: netipc's handler is in place */

    /* A SIGBUS raised by hand and a real fault outside netipc's regions
     * both reach the host's handler. */
    atomic_store(&host_calls, 0);
    raise(SIGBUS);
    CHECK_EQ_U64(atomic_load(&host_calls), 1);
    int fd = -1;
    volatile uint8_t *m = doomed_mapping(run, &fd);
    REQUIRE(m);
    if (sigsetjmp(host_jump, 1) == 0)
        m[100] = 1; /* faults: the file has no page there any more */
    CHECK_EQ_U64(atomic_load(&host_calls), 2);
    munmap((void *)m, 8192);
    close(fd);

    /* A handler installed after netipc's, calling nipc_shm_fault_recover(). */
    struct sigaction late = {.sa_sigaction = late_handler, .sa_flags = SA_SIGINFO};
    sigemptyset(&late.sa_mask);
    struct sigaction netipcs;
    REQUIRE(sigaction(SIGBUS, &late, &netipcs) == 0);
    nipc_session_t *s = NULL;
    nipc_transport_config_t hc = {.supported_profiles = FILE_SHM,
                                  .preferred_profiles = NIPC_PROFILE_SHM_HYBRID,
                                  .exact_profiles = 1};
    CHECK_OK(nipc_session_connect(run, SVC, &hc, &s));
    REQUIRE(s);
    char path[700];
    region_path(path, sizeof path, run, nipc_session_info(s)->session_id);
    CHECK(truncate(path, 0) == 0);
    if (sigsetjmp(host_jump, 1) == 0)
        CHECK(l1_call(s, 1) != NIPC_OK); /* recovered inside netipc, not by the host */
    CHECK_EQ_U64(atomic_load(&host_calls), 2);
    nipc_session_close(s);
    CHECK_OK(call(c, 2)); /* the server is fine */
    CHECK_EQ_U64(nipc_shm_fault_recover((void *)&host_calls), 0); /* not a region */
    nipc_client_free(c);
    nipc_server_destroy(srv);
    sigaction(SIGBUS, &netipcs, NULL);
    (void)saved;
    CHECK_EQ_U64(t_dir_entries(run), 0);
    t_rmtree(run);
}

/*
 * `--chain MODE`, in a fresh process: the host's SIGBUS disposition first
 * (plain handler, ignored, default), then netipc's guard on top of it, then
 * a SIGBUS outside netipc's regions, raised by hand or a real fault. The
 * exit code (or the signal that ended the process) says what happened.
 */
static atomic_int plain_calls;
static volatile sig_atomic_t plain_jump;

static void plain_handler(int sig)
{
    (void)sig;
    atomic_fetch_add(&plain_calls, 1);
    if (plain_jump)
        siglongjmp(host_jump, 1);
}

static int chain_child(const char *mode)
{
    struct rlimit none = {0, 0};
    setrlimit(RLIMIT_CORE, &none); /* the deaths below are expected */
    struct sigaction host = {.sa_handler = SIG_DFL};
    sigemptyset(&host.sa_mask);
    if (strncmp(mode, "plain", 5) == 0)
        host.sa_handler = plain_handler;
    else if (strncmp(mode, "ignored", 7) == 0)
        host.sa_handler = SIG_IGN;
    if (sigaction(SIGBUS, &host, NULL) != 0)
        return 2;
    static uint8_t page[4096];
    int guard = nipc__shm_guard_add(page, sizeof page); /* installs netipc's handler */
    if (guard < 0)
        return 3;
    char run[512];
    int fd = -1;
    if (!t_mkdtemp(run, sizeof run))
        return 4;
    volatile uint8_t *m = doomed_mapping(run, &fd);
    t_rmtree(run);
    if (!m)
        return 5;
    if (strcmp(mode, "plain") == 0) {
        raise(SIGBUS);
        plain_jump = 1;
        if (sigsetjmp(host_jump, 1) == 0)
            m[100] = 1;
        return atomic_load(&plain_calls) == 2 ? 0 : 6;
    }
    if (strstr(mode, "raise")) {
        raise(SIGBUS); /* ignored: returns; default: the process ends */
        return 0;
    }
    m[100] = 1; /* a real fault: the process ends, whatever was set before */
    return 7;
}

/* The chaining rules, each in a process of its own. */
static void sigbus_in_fresh_processes(void)
{
    static const struct {
        const char *mode;
        int code; /* exit code, or 128 + signal */
    } runs[] = {
        {"plain", 0},               /* a plain host handler gets both */
        {"ignored-raise", 0},       /* ignored stays ignored for a sent signal */
        {"ignored-fault", 128 + SIGBUS}, /* but a real fault cannot be ignored */
        {"default-raise", 128 + SIGBUS},
        {"default-fault", 128 + SIGBUS},
    };
    for (size_t i = 0; i < sizeof runs / sizeof runs[0]; i++) {
        const char *args[] = {"--chain", runs[i].mode, NULL};
        t_proc_t *p = t_spawn(args);
        int code = -1;
        REQUIRE(p);
        if (!t_wait(p, 10000, &code)) {
            t_kill(p);
            code = -2;
        }
        if (code != runs[i].code)
            fprintf(stderr, "chain %s: exit %d, expected %d\n", runs[i].mode, code, runs[i].code);
        CHECK_EQ_U64(code, runs[i].code);
    }
    /* The host handler with SA_SIGINFO, and a handler installed after
     * netipc's: the whole sigbus_chaining case, alone. */
    const char *args[] = {"sigbus_chaining", NULL};
    t_proc_t *p = t_spawn(args);
    int code = -1;
    REQUIRE(p);
    if (!t_wait(p, 30000, &code)) {
        t_kill(p);
        code = -2;
    }
    CHECK_EQ_U64(code, 0);
}

int main(int argc, char **argv)
{
    t_init(argc, argv);
    if (argc == 3 && strcmp(argv[1], "--chain") == 0)
        return chain_child(argv[2]);
    static const t_case_t cases[] = {
        T_CASE(client_manipulates_region), T_CASE(provider_truncates_region),
        T_CASE(cache_survives_hostile_provider), T_CASE(sealed_region_cannot_change),
        T_CASE(hostile_server_fds), T_CASE(sigbus_chaining), T_CASE(sigbus_in_fresh_processes),
    };
    return t_run(cases, sizeof cases / sizeof cases[0], argc, argv);
}
