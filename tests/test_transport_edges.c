/*
 * Level 1 edges on Linux that need the internal interface
 * (transport_internal.h) or an exhausted resource to reach: SHM region
 * creation arguments, every rule of the attach-time header check, publish
 * and consume bounds (empty, too large, a zero or oversized length written
 * by a hostile peer), the region liveness classification, stray bytes on
 * the socket of an SHM session, the wrong socket type at an endpoint, and
 * descriptor exhaustion at each step of listener creation, connect, abort
 * objects and the stale-region scan (in child processes whose RLIMIT_NOFILE leaves exactly
 * the descriptors a step needs, minus one).
 *
 * test_transport_posix.c covers the ordinary POSIX behaviour; this file
 * only the paths it cannot reach.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "netipc/protocol.h"
#include "netipc/transport.h"
#include "platform/platform.h"
#include "support.h"
#include "test.h"
#include "transport/posix/shm_guard.h"
#include "transport/posix/shm_internal.h"
#include "transport/transport_internal.h"

#define SVC "edges"

static void region_file(char *out, size_t cap, const char *run, uint64_t sid)
{
    snprintf(out, cap, "%s/%s-%016llx.ipcshm", run, SVC, (unsigned long long)sid);
}

static int exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

/* ====================================================== region creation */

static void shm_create_arguments(void)
{
    char run[512];
    REQUIRE(t_mkdtemp(run, sizeof run));
    int fds = t_open_handles();
    nipc__shm_t *s = NULL;
    CHECK_ERR(nipc__shm_create(run, "a/b", 1, NIPC_PROFILE_SHM_HYBRID, 0, 64, 64, &s),
              NIPC_ERR_BAD_SERVICE_NAME);
    CHECK_ERR(nipc__shm_attach(run, "a/b", 1, NIPC_PROFILE_SHM_HYBRID, 0, -1, &s),
              NIPC_ERR_BAD_SERVICE_NAME);
    /* A region path above 255 bytes. */
    char longsvc[240];
    memset(longsvc, 'x', sizeof longsvc - 1);
    longsvc[sizeof longsvc - 1] = 0;
    CHECK_ERR(nipc__shm_create(run, longsvc, 1, NIPC_PROFILE_SHM_HYBRID, 0, 64, 64, &s),
              NIPC_ERR_PATH_TOO_LONG);
    CHECK_ERR(nipc__shm_attach(run, longsvc, 1, NIPC_PROFILE_SHM_HYBRID, 0, -1, &s),
              NIPC_ERR_PATH_TOO_LONG);
    /* Capacities: non-zero multiples of 64 whose region fits 4 GiB. */
    CHECK_ERR(nipc__shm_create(run, SVC, 1, NIPC_PROFILE_SHM_HYBRID, 0, 0, 64, &s),
              NIPC_ERR_INVALID_ARGUMENT);
    CHECK_ERR(nipc__shm_create(run, SVC, 1, NIPC_PROFILE_SHM_HYBRID, 0, 64, 100, &s),
              NIPC_ERR_INVALID_ARGUMENT);
    CHECK_ERR(
        nipc__shm_create(run, SVC, 1, NIPC_PROFILE_SHM_HYBRID, 0, 0xffffffc0u, 0xffffffc0u, &s),
        NIPC_ERR_SIZE_OVERFLOW);
    /* A run dir that is not there. */
    char missing[600];
    snprintf(missing, sizeof missing, "%s/none", run);
    CHECK_ERR(nipc__shm_create(missing, SVC, 1, NIPC_PROFILE_SHM_HYBRID, 0, 64, 64, &s),
              NIPC_ERR_IO);
    CHECK_EQ_U64(nipc_last_os_error(), ENOENT);
    CHECK(s == NULL);
    CHECK_EQ_U64(t_dir_entries(run), 0);
    CHECK_EQ_U64(t_open_handles(), fds);
    t_rmtree(run);
}

/* ================================================== attach header rules */

/* Writes a 4096-byte region file with the given header fields. */
static void write_region(const char *path, uint32_t magic, uint16_t version, uint16_t hlen,
                         uint32_t req_off, uint32_t req_cap, uint32_t resp_off, uint32_t resp_cap)
{
    uint8_t b[4096] = {0};
    memcpy(b, &magic, 4);
    memcpy(b + 4, &version, 2);
    memcpy(b + 6, &hlen, 2);
    int32_t pid = (int32_t)getpid();
    uint32_t gen = 1;
    memcpy(b + 8, &pid, 4);
    memcpy(b + 12, &gen, 4);
    memcpy(b + 16, &req_off, 4);
    memcpy(b + 20, &req_cap, 4);
    memcpy(b + 24, &resp_off, 4);
    memcpy(b + 28, &resp_cap, 4);
    FILE *f = fopen(path, "wb");
    if (f) {
        fwrite(b, 1, sizeof b, f);
        fclose(f);
    }
}

#define MAGIC 0x4e53484du

static void shm_attach_header_rules(void)
{
    char run[512], path[700];
    REQUIRE(t_mkdtemp(run, sizeof run));
    region_file(path, sizeof path, run, 5);
    int fds = t_open_handles();
    static const struct {
        uint32_t magic;
        uint16_t version, hlen;
        uint32_t req_off, req_cap, resp_off, resp_cap;
        nipc_error_t want;
    } rules[] = {
        {MAGIC, 3, 64, 64, 1024, 1088, 1024, NIPC_OK},
        {0x12345678u, 3, 64, 64, 1024, 1088, 1024, NIPC_ERR_BAD_MAGIC},
        {MAGIC, 2, 64, 64, 1024, 1088, 1024, NIPC_ERR_BAD_VERSION},
        {MAGIC, 3, 32, 64, 1024, 1088, 1024, NIPC_ERR_BAD_HEADER_LEN},
        {MAGIC, 3, 64, 0, 0, 0, 0, NIPC_ERR_SHM_NOT_READY},           /* not initialised yet */
        {MAGIC, 3, 64, 32, 1024, 1088, 1024, NIPC_ERR_SHM_NOT_READY}, /* inside the header */
        {MAGIC, 3, 64, 64, 1000, 1088, 1024, NIPC_ERR_SHM_BAD_SIZE},  /* not 64-aligned */
        {MAGIC, 3, 64, 64, 1024, 1024, 1024, NIPC_ERR_SHM_BAD_SIZE},  /* areas overlap */
        {MAGIC, 3, 64, 64, 1024, 1088, 4096, NIPC_ERR_SHM_BAD_SIZE},  /* past the file */
        {MAGIC, 3, 64, 64, 8192, 8256, 64, NIPC_ERR_SHM_BAD_SIZE},    /* request past the file */
    };
    for (size_t i = 0; i < sizeof rules / sizeof rules[0]; i++) {
        write_region(path, rules[i].magic, rules[i].version, rules[i].hlen, rules[i].req_off,
                     rules[i].req_cap, rules[i].resp_off, rules[i].resp_cap);
        nipc__shm_t *s = NULL;
        nipc_error_t err = nipc__shm_attach(run, SVC, 5, NIPC_PROFILE_SHM_HYBRID, 0, -1, &s);
        if (err != rules[i].want)
            fprintf(stderr, "rule %zu: %s\n", i, nipc_error_name(err));
        CHECK_ERR(err, rules[i].want);
        CHECK((s != NULL) == (rules[i].want == NIPC_OK));
        nipc__shm_close(s); /* an attached region is the client's: the file stays */
        CHECK(exists(path));
        unlink(path);
    }
    /* Not a regular file, too short, a symlink, beyond 4 GiB. */
    nipc__shm_t *s = NULL;
    CHECK(mkdir(path, 0700) == 0);
    CHECK_ERR(nipc__shm_attach(run, SVC, 5, NIPC_PROFILE_SHM_HYBRID, 0, -1, &s),
              NIPC_ERR_SHM_NOT_READY);
    CHECK_EQ_U64(nipc_last_os_error(), EISDIR);
    rmdir(path);
    CHECK(mkfifo(path, 0600) == 0);                         /* opened, but not a regular file */
    int rd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC); /* so the O_RDWR open does not block */
    CHECK_ERR(nipc__shm_attach(run, SVC, 5, NIPC_PROFILE_SHM_HYBRID, 0, -1, &s), NIPC_ERR_SHM_BAD_SIZE);
    close(rd);
    unlink(path);
    FILE *f = fopen(path, "wb");
    REQUIRE(f);
    fputs("short", f);
    fclose(f);
    CHECK_ERR(nipc__shm_attach(run, SVC, 5, NIPC_PROFILE_SHM_HYBRID, 0, -1, &s),
              NIPC_ERR_SHM_NOT_READY);
    CHECK(truncate(path, 5ll << 30) == 0); /* sparse: no space used */
    CHECK_ERR(nipc__shm_attach(run, SVC, 5, NIPC_PROFILE_SHM_HYBRID, 0, -1, &s), NIPC_ERR_SHM_BAD_SIZE);
    unlink(path);
    CHECK(symlink("/dev/zero", path) == 0);
    CHECK_ERR(nipc__shm_attach(run, SVC, 5, NIPC_PROFILE_SHM_HYBRID, 0, -1, &s),
              NIPC_ERR_SHM_NOT_READY);
    CHECK_EQ_U64(nipc_last_os_error(), ELOOP); /* O_NOFOLLOW */
    unlink(path);
    CHECK(s == NULL);
    CHECK_EQ_U64(t_open_handles(), fds);
    t_rmtree(run);
}

/* ============================================= publish / consume bounds */

static void shm_publish_consume_bounds(void)
{
    char run[512], path[700];
    REQUIRE(t_mkdtemp(run, sizeof run));
    region_file(path, sizeof path, run, 9);
    nipc__shm_t *srv = NULL, *cli = NULL;
    REQUIRE(nipc__shm_create(run, SVC, 9, NIPC_PROFILE_SHM_HYBRID, 0, 128, 256, &srv) == NIPC_OK);
    REQUIRE(nipc__shm_attach(run, SVC, 9, NIPC_PROFILE_SHM_HYBRID, 0, -1, &cli) == NIPC_OK);
    CHECK_EQ_U64(nipc__shm_request_capacity(cli), 128);
    CHECK_EQ_U64(nipc__shm_response_capacity(cli), 256);
    uint8_t msg[300] = {1, 2, 3}, buf[300];
    uint32_t len = 0;
    /* Outbound: nothing to publish, or more than the area holds. */
    CHECK_ERR(nipc__shm_publish(cli, msg, 0, NULL, 0), NIPC_ERR_INVALID_ARGUMENT);
    CHECK_ERR(nipc__shm_publish(cli, msg, 32, msg, 97), NIPC_ERR_TOO_LARGE);
    CHECK_ERR(nipc__shm_publish(srv, msg, 32, msg, 225), NIPC_ERR_TOO_LARGE);
    CHECK_OK(nipc__shm_publish(cli, msg, 32, msg, 96));
    CHECK_OK(nipc__shm_consume(srv, buf, sizeof buf, &len, nipc__deadline(1000), NULL, NULL));
    CHECK_EQ_U64(len, 128);

    /* A hostile peer publishes a zero length, then one beyond the area:
     * the reader's copy is bounded by what it can hold either way. */
    int fd = open(path, O_RDWR | O_CLOEXEC);
    REQUIRE(fd >= 0);
    uint8_t *h = mmap(NULL, 64, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    REQUIRE(h != MAP_FAILED);
    uint32_t bad_len[2] = {0, 100000};
    nipc_error_t want[2] = {NIPC_ERR_CORRUPT, NIPC_ERR_TOO_LARGE};
    for (int i = 0; i < 2; i++) {
        uint64_t seq;
        __atomic_store_n((uint32_t *)(void *)(h + 48), bad_len[i], __ATOMIC_RELEASE);
        memcpy(&seq, h + 32, 8);
        __atomic_store_n((uint64_t *)(void *)(h + 32), seq + 1, __ATOMIC_RELEASE);
        CHECK_ERR(nipc__shm_consume(srv, buf, sizeof buf, &len, nipc__deadline(1000), NULL, NULL),
                  want[i]);
    }
    munmap(h, 64);
    close(fd);
    nipc__shm_close(cli);
    CHECK(exists(path)); /* the client never removes the server's file */
    nipc__shm_close(srv);
    CHECK(!exists(path));
    t_rmtree(run);
}

/* ============================================================ spin or not */

/*
 * The consumer spins only for a peer on another CPU: in the sealed layout
 * each publish stores its CPU + 1 beside the sequence, and a consumer whose
 * peer published from its own CPU sleeps at once. Upstream's file layout
 * has no such word: its consumers always spin.
 */
static void shm_spin_by_cpu(void)
{
    /* One CPU for this thread, so "this CPU" stays what it was. */
    int cpu = sched_getcpu();
    REQUIRE(cpu >= 0);
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET((size_t)cpu, &one);
    cpu_set_t saved;
    REQUIRE(sched_getaffinity(0, sizeof saved, &saved) == 0);
    REQUIRE(sched_setaffinity(0, sizeof one, &one) == 0);

    nipc__shm_t *srv = NULL, *cli = NULL;
    REQUIRE(nipc__shm_create_sealed(128, 128, &srv) == NIPC_OK);
    REQUIRE(nipc__shm_attach_fd(dup(nipc__shm_fd(srv)), -1, &cli) == NIPC_OK);
    uint8_t msg[64] = {7}, buf[128];
    uint32_t len = 0, published = 0;
    CHECK_OK(nipc__shm_publish(cli, msg, sizeof msg, NULL, 0));
    memcpy(&published, srv->base + 84, 4); /* the request direction's CPU word */
    CHECK_EQ_U64(published, (uint32_t)cpu + 1u);
    CHECK_OK(nipc__shm_consume(srv, buf, sizeof buf, &len, nipc__deadline(1000), NULL, NULL));
    CHECK_EQ_U64(srv->spins_skipped, 1); /* same CPU: straight to the futex */
    /* A peer on another CPU (or one that never said): the consumer spins. */
    uint32_t other[2] = {(uint32_t)cpu + 2u, 0};
    for (int i = 0; i < 2; i++) {
        CHECK_OK(nipc__shm_publish(cli, msg, sizeof msg, NULL, 0));
        memcpy(srv->base + 84, &other[i], 4);
        CHECK_OK(nipc__shm_consume(srv, buf, sizeof buf, &len, nipc__deadline(1000), NULL, NULL));
        CHECK_EQ_U64(srv->spins_skipped, 1);
    }
    nipc__shm_close(cli);
    nipc__shm_close(srv);

    /* Upstream's layout: no CPU word, always a spin. */
    char run[512];
    REQUIRE(t_mkdtemp(run, sizeof run));
    REQUIRE(nipc__shm_create(run, SVC, 4, NIPC_PROFILE_SHM_HYBRID, 0, 128, 128, &srv) == NIPC_OK);
    REQUIRE(nipc__shm_attach(run, SVC, 4, NIPC_PROFILE_SHM_HYBRID, 0, -1, &cli) == NIPC_OK);
    CHECK(srv->rx.cpu == NULL && cli->tx.cpu == NULL);
    CHECK_OK(nipc__shm_publish(cli, msg, sizeof msg, NULL, 0));
    CHECK_OK(nipc__shm_consume(srv, buf, sizeof buf, &len, nipc__deadline(1000), NULL, NULL));
    CHECK_EQ_U64(srv->spins_skipped, 0);
    nipc__shm_close(cli);
    nipc__shm_close(srv);
    t_rmtree(run);
    sched_setaffinity(0, sizeof saved, &saved);
}

/* ============================================================= liveness */

static void shm_region_states(void)
{
    char run[512], path[700], name[128];
    REQUIRE(t_mkdtemp(run, sizeof run));
    snprintf(name, sizeof name, "%s-%016llx.ipcshm", SVC, 3ull);
    region_file(path, sizeof path, run, 3);
    CHECK_EQ_U64(nipc__shm_region_state(run, name), NIPC__REGION_ABSENT);
    nipc__shm_t *s = NULL;
    REQUIRE(nipc__shm_create(run, SVC, 3, NIPC_PROFILE_SHM_HYBRID, 0, 64, 64, &s) == NIPC_OK);
    CHECK_EQ_U64(nipc__shm_region_state(run, name), NIPC__REGION_LIVE);
    CHECK_EQ_U64(nipc__shm_remove_stale(run, name), 0); /* live: kept */
    CHECK(exists(path));
    /* The owner field rewritten to a pid that cannot exist: stale. */
    int fd = open(path, O_RDWR | O_CLOEXEC);
    REQUIRE(fd >= 0);
    int32_t dead = 0x7ffffff0;
    CHECK(pwrite(fd, &dead, 4, 8) == 4);
    CHECK_EQ_U64(nipc__shm_region_state(run, name), NIPC__REGION_STALE);
    uint32_t bad = 0;
    CHECK(pwrite(fd, &bad, 4, 0) == 4);
    CHECK_EQ_U64(nipc__shm_region_state(run, name), NIPC__REGION_JUNK);
    CHECK_EQ_U64(nipc__shm_remove_stale(run, name), 0); /* junk: not ours to judge */
    CHECK(exists(path));
    uint32_t magic = 0x4e53484d; /* "NSHM" again: stale, and removed */
    CHECK(pwrite(fd, &magic, 4, 0) == 4);
    CHECK_EQ_U64(nipc__shm_remove_stale(run, name), 1);
    CHECK(!exists(path));
    CHECK_EQ_U64(nipc__shm_remove_stale(run, name), 0); /* absent */
    close(fd);
    nipc__shm_close(s);
    char missing[600];
    snprintf(missing, sizeof missing, "%s/none", run);
    CHECK_EQ_U64(nipc__shm_region_state(missing, name), NIPC__REGION_UNKNOWN);
    CHECK_EQ_U64(nipc__shm_remove_stale(missing, name), (uint64_t)-1);
    CHECK_ERR(nipc_shm_cleanup_stale(missing, SVC, NULL), NIPC_ERR_IO);
    CHECK_EQ_U64(nipc_last_os_error(), ENOENT);
    t_rmtree(run);
}

/* ============================================ SIGBUS guard table full */

/*
 * Every slot of the SIGBUS guard taken (4096 regions mapped at once): a
 * file region can be neither created nor attached without its guard, so
 * both fail with SHM_ALLOC (Level 2 then goes on without SHM) and leave no
 * file; once slots free up, both work again.
 */
static void shm_guard_table_full(void)
{
    char run[512], path[700];
    REQUIRE(t_mkdtemp(run, sizeof run));
    nipc__shm_t *srv = NULL, *cli = NULL;
    REQUIRE(nipc__shm_create(run, SVC, 1, NIPC_PROFILE_SHM_HYBRID, 0, 64, 64, &srv) == NIPC_OK);
    void *dummy = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    REQUIRE(dummy != MAP_FAILED);
    static int taken[4096];
    int n = 0;
    while (n < 4096 && (taken[n] = nipc__shm_guard_add(dummy, 4096)) >= 0)
        n++;
    CHECK(n > 0 && n < 4096); /* full, the server's region holding one slot */
    CHECK_ERR(nipc__shm_create(run, SVC, 2, NIPC_PROFILE_SHM_HYBRID, 0, 64, 64, &cli),
              NIPC_ERR_SHM_ALLOC);
    region_file(path, sizeof path, run, 2);
    CHECK(!exists(path));
    CHECK_ERR(nipc__shm_attach(run, SVC, 1, NIPC_PROFILE_SHM_HYBRID, 0, -1, &cli),
              NIPC_ERR_SHM_ALLOC);
    for (int i = 0; i < n; i++)
        nipc__shm_guard_remove(taken[i]);
    CHECK_OK(nipc__shm_attach(run, SVC, 1, NIPC_PROFILE_SHM_HYBRID, 0, -1, &cli));
    nipc__shm_close(cli);
    nipc__shm_close(srv);
    munmap(dummy, 4096);
    CHECK_EQ_U64(t_dir_entries(run), 0);
    t_rmtree(run);
}

/* ======================================================= sealed regions */

/* A memfd of `size` bytes with a sealed-region header, sealed with `seals`. */
static int sealed_fd(uint32_t size, uint32_t magic, uint16_t version, uint16_t header_len,
                     int seals)
{
    int fd = memfd_create("netipc-test", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (fd < 0 || ftruncate(fd, size) != 0)
        return -1;
    uint8_t h[24] = {0};
    memcpy(h, &magic, 4);
    memcpy(h + 4, &version, 2);
    memcpy(h + 6, &header_len, 2);
    uint32_t areas[4] = {192, 64, 256, 64}; /* request at 192, response at 256 */
    memcpy(h + 8, areas, sizeof areas);
    if (size >= sizeof h && pwrite(fd, h, sizeof h, 0) != (ssize_t)sizeof h)
        return -1;
    if (seals && fcntl(fd, F_ADD_SEALS, seals) != 0)
        return -1;
    return fd;
}

/* Attaching a sealed region from a descriptor: every rule on its own. */
static void shm_sealed_edges(void)
{
    nipc__shm_t *s = NULL;
    CHECK_ERR(nipc__shm_create_sealed(0, 64, &s), NIPC_ERR_INVALID_ARGUMENT);
    CHECK_ERR(nipc__shm_create_sealed(64, 65, &s), NIPC_ERR_INVALID_ARGUMENT);
    CHECK_ERR(nipc__shm_create_sealed(0xffffffc0u, 0xffffffc0u, &s), NIPC_ERR_SIZE_OVERFLOW);

    const int needed = F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL;
    const uint32_t magic = 0x4e53454cu;
    int fds = t_open_handles();
    CHECK_ERR(nipc__shm_attach_fd(-1, -1, &s), NIPC_ERR_SHM_BAD_SIZE); /* fstat fails */
    CHECK_OK(nipc__shm_attach_fd(sealed_fd(320, magic, 1, 192, needed), -1, &s));
    nipc__shm_close(s);
    CHECK_ERR(nipc__shm_attach_fd(sealed_fd(320, magic, 1, 192, needed), (int64_t)getuid() + 1, &s),
              NIPC_ERR_PEER_REJECTED);
    CHECK_ERR(nipc__shm_attach_fd(sealed_fd(100, magic, 1, 192, needed), -1, &s),
              NIPC_ERR_SHM_BAD_SIZE); /* shorter than its header */
    CHECK_ERR(nipc__shm_attach_fd(sealed_fd(320, magic ^ 1, 1, 192, needed), -1, &s),
              NIPC_ERR_BAD_MAGIC);
    CHECK_ERR(nipc__shm_attach_fd(sealed_fd(320, magic, 2, 192, needed), -1, &s),
              NIPC_ERR_BAD_VERSION);
    CHECK_ERR(nipc__shm_attach_fd(sealed_fd(320, magic, 1, 128, needed), -1, &s),
              NIPC_ERR_BAD_HEADER_LEN);
    /* Sealed against writes too: it cannot be mapped for writing. */
    CHECK_ERR(nipc__shm_attach_fd(sealed_fd(320, magic, 1, 192, needed | F_SEAL_WRITE), -1, &s),
              NIPC_ERR_SHM_ALLOC);
    CHECK_EQ_U64(t_open_handles(), fds); /* every descriptor given is closed */

    /* Regions that cannot get their memory (a file size limit here): both
     * kinds fail with SHM_ALLOC and leave nothing. */
    const char *args[] = {"--peer", "fsize", NULL};
    t_proc_t *p = t_spawn(args);
    int code = -1;
    CHECK(p != NULL);
    if (p && !t_wait(p, 10000, &code)) {
        t_kill(p);
        CHECK(0);
    }
    CHECK_EQ_U64(code, 0);
}

/* Peer of shm_sealed_edges: under RLIMIT_FSIZE 4 KiB, regions of 64 KiB. */
static int fsize_child(void)
{
    char run[512];
    if (!t_mkdtemp(run, sizeof run))
        return 2;
    signal(SIGXFSZ, SIG_IGN); /* EFBIG instead of the signal */
    struct rlimit rl = {4096, 4096};
    if (setrlimit(RLIMIT_FSIZE, &rl) != 0)
        return 3;
    nipc__shm_t *s = NULL;
    if (nipc__shm_create_sealed(32768, 32768, &s) != NIPC_ERR_SHM_ALLOC)
        return 4;
    if (nipc__shm_create(run, SVC, 1, NIPC_PROFILE_SHM_HYBRID, 0, 32768, 32768, &s) !=
        NIPC_ERR_SHM_ALLOC)
        return 5;
    if (t_dir_entries(run) != 0)
        return 6;
    t_rmtree(run);
    return 0;
}

/* ======================================== stray bytes on an SHM session */

typedef struct accept_job {
    nipc_listener_t *l;
    nipc_transport_config_t cfg;
    nipc_session_t *s;
    nipc_error_t err;
} accept_job_t;

static void accept_main(void *arg)
{
    accept_job_t *j = arg;
    nipc_pending_t *p = NULL;
    j->err = nipc_listener_accept(j->l, 3000, &p);
    if (j->err == NIPC_OK)
        j->err = nipc_pending_accept(p, &j->cfg, 4, &j->s);
}

static void shm_stray_socket_bytes(void)
{
    char run[512];
    REQUIRE(t_mkdtemp(run, sizeof run));
    accept_job_t j = {.cfg = {.supported_profiles = NIPC_PROFILE_SHM_HYBRID, .exact_profiles = 1}};
    REQUIRE(nipc_listener_create(run, SVC, &j.cfg, &j.l) == NIPC_OK);
    nipc__thread_t *th = NULL;
    REQUIRE(nipc__thread_start(&th, accept_main, &j) == NIPC_OK);

    /* A hand-written client: HELLO for SHM, attach, then misuse the socket. */
    nipc__conn_t *conn = NULL;
    REQUIRE(nipc__conn_connect(run, SVC, &conn) == NIPC_OK);
    nipc_hello_t hello = {.layout_version = NIPC_LAYOUT_VERSION,
                          .supported_profiles = NIPC_PROFILE_SHM_HYBRID,
                          .max_request_payload_bytes = 1024,
                          .max_request_batch_items = 1,
                          .max_response_payload_bytes = 1024,
                          .max_response_batch_items = 1,
                          .packet_size = 4096};
    uint8_t buf[128];
    nipc_header_t h =
        nipc_header_make(NIPC_KIND_CONTROL, NIPC_CONTROL_HELLO, 0, 0, NIPC_HELLO_SIZE, 1, 0);
    nipc_header_encode(&h, buf);
    nipc_hello_encode(&hello, buf + NIPC_HEADER_SIZE);
    uint64_t deadline = nipc__now_ms() + 3000;
    size_t got = 0;
    CHECK_OK(
        nipc__conn_send(conn, buf, NIPC_HEADER_SIZE + NIPC_HELLO_SIZE, NULL, 0, deadline, NULL));
    CHECK_OK(nipc__conn_recv(conn, buf, sizeof buf, NULL, 0, &got, 1, deadline, NULL));
    nipc__thread_join(th);
    REQUIRE(j.err == NIPC_OK && j.s);
    nipc__shm_t *region = NULL;
    CHECK_OK(nipc__shm_attach(run, SVC, 4, NIPC_PROFILE_SHM_HYBRID, 0, -1, &region));

    /* Bytes on the socket are not a message over SHM, and not a death:
     * the server's wait just times out. */
    CHECK_OK(nipc__conn_send(conn, "x", 1, NULL, 0, deadline, NULL));
    nipc_message_t m;
    unsigned long long t0 = t_now_ms();
    CHECK_ERR(nipc_session_receive(j.s, &m, 300, NULL), NIPC_ERR_TIMEOUT);
    CHECK(t_now_ms() - t0 >= 290);
    /* Closing the socket is a death, noticed within a wait slice. */
    nipc__conn_close(conn);
    t0 = t_now_ms();
    CHECK_ERR(nipc_session_receive(j.s, &m, 5000, NULL), NIPC_ERR_DISCONNECTED);
    CHECK(t_now_ms() - t0 < T_MS(1000));
    nipc__shm_close(region);
    nipc_session_close(j.s);
    nipc_listener_free(j.l);
    CHECK_EQ_U64(t_dir_entries(run), 0);
    t_rmtree(run);
}

/* ============================================= the wrong endpoint type */

static void uds_endpoint_misuse(void)
{
    char run[512], path[700];
    REQUIRE(t_mkdtemp(run, sizeof run));
    nipc_listener_t *l = NULL;
    nipc_session_t *s = NULL;
    nipc__conn_t *c = NULL;
    CHECK_ERR(nipc_listener_create("", SVC, NULL, &l), NIPC_ERR_INVALID_ARGUMENT);
    CHECK_ERR(nipc_session_connect(NULL, SVC, NULL, &s), NIPC_ERR_INVALID_ARGUMENT);
    /* A stream socket listening at the endpoint: not a netipc server. */
    snprintf(path, sizeof path, "%s/%s.sock", run, SVC);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    REQUIRE(strlen(path) < sizeof sa.sun_path);
    memcpy(sa.sun_path, path, strlen(path) + 1);
    REQUIRE(fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0 && listen(fd, 4) == 0);
    CHECK_ERR(nipc__conn_connect(run, SVC, &c), NIPC_ERR_IO);
    CHECK_EQ_U64(nipc_last_os_error(), EPROTOTYPE);
    CHECK(c == NULL);
    /* A server never deletes a live socket it does not understand. */
    CHECK_ERR(nipc_listener_create(run, SVC, NULL, &l), NIPC_ERR_ADDRESS_IN_USE);
    CHECK_EQ_U64(nipc_last_os_error(), EPROTOTYPE);
    CHECK(l == NULL);
    struct stat st;
    CHECK(lstat(path, &st) == 0 && S_ISSOCK(st.st_mode));
    close(fd);
    /* Once its owner is gone it is stale like any other. */
    CHECK_OK(nipc_listener_create(run, SVC, NULL, &l));
    nipc_listener_free(l);
    unlink(path);
    t_rmtree(run);
}

/* =================================================== fd exhaustion */

/* One step, run with the descriptors it needs minus one; 0 when it
 * reacted as it must. */
static int fd_step(const char *what, const char *run)
{
    if (strcmp(what, "listener") == 0) { /* the wake pipe cannot be made */
        nipc_listener_t *l = NULL;
        nipc_error_t err = nipc_listener_create(run, SVC, NULL, &l);
        return err == NIPC_ERR_IO && nipc_last_os_error() == EMFILE && !l ? 0 : 10 + (int)err;
    }
    if (strcmp(what, "connect") == 0) { /* no socket */
        nipc__conn_t *c = NULL;
        nipc_error_t err = nipc__conn_connect(run, SVC, &c);
        return err == NIPC_ERR_IO && nipc_last_os_error() == EMFILE && !c ? 0 : 10 + (int)err;
    }
    if (strcmp(what, "abort") == 0) { /* no pipe for the abort object */
        nipc_abort_t *a = NULL;
        nipc_error_t err = nipc_abort_create(&a);
        return err == NIPC_ERR_IO && nipc_last_os_error() == EMFILE && !a ? 0 : 10 + (int)err;
    }
    if (strcmp(what, "scan-dir") == 0) /* the directory cannot be listed */
        return nipc_shm_cleanup_stale(run, SVC, NULL) == NIPC_ERR_IO ? 0 : 3;
    if (strcmp(what, "scan-file") == 0) { /* a region cannot be checked: kept */
        uint32_t n = 1;
        return nipc_shm_cleanup_stale(run, SVC, &n) == NIPC_OK && n == 0 ? 0 : 4;
    }
    return 2;
}

/* Child: closes every inherited descriptor above stderr, allows exactly
 * `free_fds` more for the step, then restores the limit, so that exit-time
 * work (a sanitizer's leak scan, gcov's data files) has descriptors again. */
static int fd_child(const char *what, const char *run, int free_fds)
{
    DIR *d = opendir("/proc/self/fd");
    if (!d)
        return 2;
    int self = dirfd(d), high[256], n = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL && n < 256) {
        int fd = atoi(de->d_name);
        if (de->d_name[0] != '.' && fd > 2 && fd != self)
            high[n++] = fd;
    }
    closedir(d);
    for (int i = 0; i < n; i++)
        close(high[i]);
    struct rlimit saved, rl;
    if (getrlimit(RLIMIT_NOFILE, &saved) != 0)
        return 2;
    rl = saved;
    rl.rlim_cur = (rlim_t)(3 + free_fds);
    if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
        return 2;
    int rc = fd_step(what, run);
    return setrlimit(RLIMIT_NOFILE, &saved) == 0 ? rc : 2;
}

static void fd_exhaustion_steps(void)
{
    char run[512], path[700];
    REQUIRE(t_mkdtemp(run, sizeof run));
    /* A stale region (its owner pid cannot exist) for the scans to meet. */
    region_file(path, sizeof path, run, 0x77);
    write_region(path, MAGIC, 3, 64, 64, 1024, 1088, 1024);
    int fd = open(path, O_RDWR | O_CLOEXEC);
    int32_t dead = 0x7ffffff0;
    CHECK(fd >= 0 && pwrite(fd, &dead, 4, 8) == 4);
    close(fd);
    static const struct {
        const char *what;
        const char *free_fds;
    } steps[] = {
        {"listener", "1"}, {"connect", "0"}, {"abort", "1"}, {"scan-dir", "1"}, {"scan-file", "2"}};
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        const char *args[] = {"--peer", "fd", steps[i].what, run, steps[i].free_fds, NULL};
        t_proc_t *p = t_spawn(args);
        int code = -1;
        CHECK(p != NULL);
        if (p && !t_wait(p, 10000, &code)) {
            t_kill(p);
            CHECK(0); /* the step hung */
        }
        if (code != 0)
            fprintf(stderr, "fd step %s: exit %d\n", steps[i].what, code);
        CHECK_EQ_U64(code, 0);
    }
    CHECK(exists(path));                               /* never deleted unchecked */
    uint32_t removed = 0;
    CHECK_OK(nipc_shm_cleanup_stale(run, SVC, &removed));
    CHECK_EQ_U64(removed, 1); /* with descriptors: removed */
    CHECK(!exists(path));
    t_rmtree(run);
}

/* ================================================= read-only run dir */

/* Child: the run dir becomes a read-only tmpfs in a private mount
 * namespace. 77 when this environment does not permit that. */
static int rofs_child(const char *run)
{
    if (unshare(CLONE_NEWNS) != 0 || mount("none", "/", "none", MS_REC | MS_PRIVATE, NULL) != 0 ||
        mount("tmpfs", run, "tmpfs", MS_RDONLY, "mode=0700") != 0)
        return 77;
    int bad = 0;
    /* The socket cannot be bound: IO (EROFS), nothing left behind. */
    nipc_listener_t *l = NULL;
    bad |= nipc_listener_create(run, SVC, NULL, &l) != NIPC_ERR_IO || l != NULL;
    bad |= nipc_last_os_error() != EROFS;
    /* Nor can a region be created. */
    nipc__shm_t *s = NULL;
    bad |= nipc__shm_create(run, SVC, 1, NIPC_PROFILE_SHM_HYBRID, 0, 64, 64, &s) != NIPC_ERR_IO;
    bad |= nipc_last_os_error() != EROFS || s != NULL;
    return bad ? 1 : 0;
}

static void read_only_run_dir(void)
{
    char run[512];
    REQUIRE(t_mkdtemp(run, sizeof run));
    const char *args[] = {"--peer", "rofs", run, NULL};
    t_proc_t *p = t_spawn(args);
    int code = -1;
    REQUIRE(p);
    if (!t_wait(p, 10000, &code))
        t_kill(p);
    if (code == 77)
        fprintf(stderr, "  read_only_run_dir: mounts not permitted here, not run\n");
    else
        CHECK_EQ_U64(code, 0);
    CHECK_EQ_U64(t_dir_entries(run), 0);
    t_rmtree(run);
}

int main(int argc, char **argv)
{
    t_init(argc, argv);
    if (argc >= 6 && strcmp(argv[1], "--peer") == 0 && strcmp(argv[2], "fd") == 0)
        return fd_child(argv[3], argv[4], atoi(argv[5]));
    if (argc >= 4 && strcmp(argv[1], "--peer") == 0 && strcmp(argv[2], "rofs") == 0)
        return rofs_child(argv[3]);
    if (argc >= 3 && strcmp(argv[1], "--peer") == 0 && strcmp(argv[2], "fsize") == 0)
        return fsize_child();
    static const t_case_t cases[] = {
        T_CASE(shm_create_arguments),       T_CASE(shm_attach_header_rules),
        T_CASE(shm_publish_consume_bounds), T_CASE(shm_region_states),
        T_CASE(shm_stray_socket_bytes),     T_CASE(uds_endpoint_misuse),
        T_CASE(fd_exhaustion_steps),        T_CASE(read_only_run_dir),
        T_CASE(shm_guard_table_full),       T_CASE(shm_sealed_edges),
        T_CASE(shm_spin_by_cpu),
    };
    return t_run(cases, sizeof cases / sizeof cases[0], argc, argv);
}
