/*
 * Security properties, through the public Level 2 / Level 3 API (the Level 1
 * checks behind them are in test_transport_posix.c):
 *
 *  - a managed server of every kind refuses a run dir that is writable by
 *    group or others or owned by another user (INSECURE_DIR);
 *  - the socket and the SHM region files a server creates are 0600 under
 *    any umask;
 *  - service names are validated by every entry point that takes one;
 *  - the auth token: equal tokens are admitted, a token differing in any
 *    single byte is refused (AUTH_FAILED, sticky);
 *  - the uid allow-list: a list holding our uid among others admits us, a
 *    list without it refuses us before any byte is read; a count without a
 *    list is INVALID_ARGUMENT, and any list on Windows is PLATFORM;
 *  - the library never changes the process umask (counted through a
 *    wrapped umask()), whatever the umask the socket is 0600;
 *  - a client refuses a run dir writable by group or others, a server whose
 *    uid is not allowed (by default: the run dir's owner, root, itself) and
 *    an SHM region owned by anyone but the server it talks to;
 *  - paths too long for the platform are refused (PATH_TOO_LONG).
 * Servers run in this process: the properties are about the endpoint, not
 * about a peer.
 */
#include "test.h"

#ifndef _WIN32
#include <fcntl.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#endif

#include "netipc/cache.h"
#include "netipc/service.h"
#include "netipc/transport.h"
#include "support.h"
#include "transport/transport_internal.h"

#define SVC "sec"
#define SHM_BOTH (NIPC_PROFILE_BASELINE | NIPC_PROFILE_SHM_HYBRID)

static nipc_error_t rev_handler(void *ctx, nipc_str_t in, char *out, uint32_t cap,
                                uint32_t *out_len)
{
    (void)ctx;
    (void)in;
    (void)out;
    (void)cap;
    *out_len = 0;
    return NIPC_OK;
}

static nipc_error_t snap_handler(void *ctx, void *buf, size_t cap, size_t *out_len)
{
    (void)ctx;
    nipc_cgroups_builder_t b;
    nipc_cgroups_builder_init(&b, buf, cap, 0, 0, 1);
    return nipc_cgroups_builder_finish(&b, out_len);
}

static nipc_error_t cgl_handler(void *ctx, const nipc_cgroups_lookup_req_t *req,
                                nipc_cgroups_lookup_builder_t *b)
{
    (void)ctx;
    (void)req;
    (void)b;
    return NIPC_OK;
}

static nipc_error_t apl_handler(void *ctx, const nipc_apps_lookup_req_t *req,
                                nipc_apps_lookup_builder_t *b)
{
    (void)ctx;
    (void)req;
    (void)b;
    return NIPC_OK;
}

/* Creates a managed server of kind 0..4 (increment, string reverse,
 * snapshot, cgroups lookup, apps lookup). */
static nipc_error_t create_kind(int kind, const char *run, const char *svc,
                                const nipc_server_config_t *cfg, nipc_server_t **out)
{
    switch (kind) {
    case 0:
        return nipc_server_create_increment(run, svc, cfg, t_increment_handler, NULL, out);
    case 1:
        return nipc_server_create_string_reverse(run, svc, cfg, rev_handler, NULL, out);
    case 2:
        return nipc_server_create_cgroups_snapshot(run, svc, cfg, snap_handler, NULL, out);
    case 3:
        return nipc_server_create_cgroups_lookup(run, svc, cfg, cgl_handler, NULL, out);
    default:
        return nipc_server_create_apps_lookup(run, svc, cfg, apl_handler, NULL, out);
    }
}

#define KINDS 5

/* ------------------------------------------------------------ run dir */

static void level2_run_dir_checks(void)
{
#ifndef _WIN32
    char base[512], dir[600];
    REQUIRE(t_mkdtemp(base, sizeof base));
    snprintf(dir, sizeof dir, "%s/run", base);
    REQUIRE(mkdir(dir, 0700) == 0);
    int fds = t_open_handles();
    static const struct {
        mode_t mode;
        nipc_error_t want;
    } modes[] = {
        {0777, NIPC_ERR_INSECURE_DIR},  /* anyone may replace the socket */
        {01777, NIPC_ERR_INSECURE_DIR}, /* sticky like /tmp: still not ours alone */
        {0703, NIPC_ERR_INSECURE_DIR},  /* others may write, even without read */
        {0770, NIPC_ERR_INSECURE_DIR},  /* any group member may replace it */
        {0720, NIPC_ERR_INSECURE_DIR},
        {0750, NIPC_OK},                /* the group may read, not write */
        {0700, NIPC_OK},
    };
    for (size_t m = 0; m < sizeof modes / sizeof modes[0]; m++) {
        CHECK(chmod(dir, modes[m].mode) == 0);
        for (int kind = 0; kind < KINDS; kind++) {
            nipc_server_t *s = NULL;
            CHECK_ERR(create_kind(kind, dir, SVC, NULL, &s), modes[m].want);
            CHECK((s != NULL) == (modes[m].want == NIPC_OK));
            nipc_server_destroy(s);
            CHECK_EQ_U64(t_dir_entries(dir), 0); /* refused before creating anything */
        }
    }
    /* Owned by someone else (needs root to arrange). */
    if (geteuid() == 0) {
        CHECK(chmod(dir, 0700) == 0);
        CHECK(chown(dir, 65534, 65534) == 0);
        for (int kind = 0; kind < KINDS; kind++) {
            nipc_server_t *s = NULL;
            CHECK_ERR(create_kind(kind, dir, SVC, NULL, &s), NIPC_ERR_INSECURE_DIR);
            CHECK(s == NULL);
        }
        CHECK(chown(dir, 0, 0) == 0);
    }
    /* Missing, or not a directory. */
    nipc_server_t *s = NULL;
    char missing[700];
    snprintf(missing, sizeof missing, "%s/none", dir);
    CHECK_ERR(create_kind(0, missing, SVC, NULL, &s), NIPC_ERR_NOT_FOUND);
    CHECK_EQ_U64(t_open_handles(), fds);
    t_rmtree(base);
#else
    T_SKIP("run dir checks are POSIX; Windows only hashes the run dir");
#endif
}

/* ------------------------------------------------------------ file modes */

static void level2_file_modes(void)
{
#ifndef _WIN32
    char run[512];
    REQUIRE(t_mkdtemp(run, sizeof run));
    mode_t old = umask(0); /* the most permissive umask a process can have */
    /* Upstream's file region (exact profiles: not netipc's sealed memfd). */
    nipc_server_config_t cfg = {.supported_profiles = SHM_BOTH, .exact_profiles = 1};
    nipc_server_t *srv = NULL;
    CHECK_OK(nipc_server_create_increment(run, SVC, &cfg, t_increment_handler, NULL, &srv));
    REQUIRE(srv);
    CHECK_OK(nipc_server_start(srv));
    nipc_client_config_t cc = {.supported_profiles = SHM_BOTH,
                               .preferred_profiles = NIPC_PROFILE_SHM_HYBRID,
                               .exact_profiles = 1};
    nipc_client_t *c = NULL;
    CHECK_OK(nipc_client_create(run, SVC, &cc, &c));
    REQUIRE(c);
    CHECK_EQ_U64(t_refresh_changed(c), 1);
    uint64_t out = 0;
    CHECK_OK(nipc_client_increment(c, 1, &out, 0));
    nipc_client_status_t st;
    nipc_client_status(c, &st);
    CHECK_EQ_U64(st.selected_profile, NIPC_PROFILE_SHM_HYBRID);
    umask(old);

    /* The socket and the session's region: exactly 0600, ours. */
    char p[700];
    struct stat sb;
    snprintf(p, sizeof p, "%s/%s.sock", run, SVC);
    CHECK(stat(p, &sb) == 0 && S_ISSOCK(sb.st_mode));
    CHECK_EQ_U64(sb.st_mode & 07777, 0600);
    CHECK_EQ_U64(sb.st_uid, geteuid());
    snprintf(p, sizeof p, "%s/%s-%016llx.ipcshm", run, SVC, 1ull);
    CHECK(stat(p, &sb) == 0 && S_ISREG(sb.st_mode));
    CHECK_EQ_U64(sb.st_mode & 07777, 0600);
    CHECK_EQ_U64(sb.st_uid, geteuid());
    CHECK_EQ_U64(t_dir_entries(run), 2);

    nipc_client_free(c);
    nipc_server_destroy(srv);
    CHECK_EQ_U64(t_dir_entries(run), 0);
    t_rmtree(run);
#else
    T_SKIP("file modes are POSIX; Windows creates no file in the run dir");
#endif
}

/* ----------------------------------------------------------- names */

static void service_names_everywhere(void)
{
    static const char *const bad[] = {NULL,   "",    ".",        "..",  "a/b", "../x", "a b",
                                      "a\\b", "a:b", "\xc3\xa4", "a\n", "a*",  "-/"};
    char run[512];
    REQUIRE(t_mkdtemp(run, sizeof run));
    int fds = t_open_handles();
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *name = bad[i];
        CHECK(!nipc_service_name_valid(name));
        nipc_client_t *c = NULL;
        CHECK_ERR(nipc_client_create(run, name, NULL, &c), NIPC_ERR_BAD_SERVICE_NAME);
        nipc_cgroups_cache_t *cache = NULL;
        CHECK_ERR(nipc_cgroups_cache_create(run, name, NULL, &cache), NIPC_ERR_BAD_SERVICE_NAME);
        for (int kind = 0; kind < KINDS; kind++) {
            nipc_server_t *s = NULL;
            CHECK_ERR(create_kind(kind, run, name, NULL, &s), NIPC_ERR_BAD_SERVICE_NAME);
        }
        nipc_listener_t *l = NULL;
        CHECK_ERR(nipc_listener_create(run, name, NULL, &l), NIPC_ERR_BAD_SERVICE_NAME);
        nipc_session_t *s = NULL;
        CHECK_ERR(nipc_session_connect(run, name, NULL, &s), NIPC_ERR_BAD_SERVICE_NAME);
        CHECK_ERR(nipc_shm_cleanup_stale(run, name, NULL), NIPC_ERR_BAD_SERVICE_NAME);
        CHECK(c == NULL && cache == NULL && l == NULL && s == NULL);
    }
    CHECK_EQ_U64(t_dir_entries(run), 0);
    CHECK_EQ_U64(t_open_handles(), fds);
    /* Unusual but valid names work end to end. */
    static const char *const good[] = {"...", ".x", "x..", "A.b_c-9"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        nipc_server_t *srv = NULL;
        CHECK_OK(nipc_server_create_increment(run, good[i], NULL, t_increment_handler, NULL, &srv));
        CHECK_OK(nipc_server_start(srv));
        nipc_client_t *c = NULL;
        CHECK_OK(nipc_client_create(run, good[i], NULL, &c));
        CHECK_EQ_U64(t_refresh_changed(c), 1);
        uint64_t out = 0;
        CHECK_OK(nipc_client_increment(c, 2, &out, 0));
        CHECK_EQ_U64(out, 3);
        nipc_client_free(c);
        nipc_server_destroy(srv);
    }
    CHECK_EQ_U64(t_dir_entries(run), 0);
    t_rmtree(run);
}

static void path_too_long(void)
{
#ifndef _WIN32
    /* sun_path holds 108 bytes: a run dir of 120 characters cannot work. */
    char base[512], run[700];
    REQUIRE(t_mkdtemp(base, sizeof base));
    int n = snprintf(run, sizeof run, "%s/", base);
    while (n < 120)
        run[n++] = 'd';
    run[n] = 0;
    REQUIRE(mkdir(run, 0700) == 0);
    nipc_server_t *s = NULL;
    CHECK_ERR(nipc_server_create_increment(run, SVC, NULL, t_increment_handler, NULL, &s),
              NIPC_ERR_PATH_TOO_LONG);
    nipc_client_t *c = NULL;
    CHECK_OK(nipc_client_create(run, SVC, NULL, &c));
    CHECK_EQ_U64(t_refresh_changed(c), 0); /* DISCONNECTED before and after */
    nipc_client_status_t st;
    nipc_client_status(c, &st);
    CHECK_ERR(st.last_error, NIPC_ERR_PATH_TOO_LONG);
    nipc_client_free(c);
    t_rmtree(base);
#else
    T_SKIP("the sun_path limit is POSIX; pipe name limits: test_transport_windows");
#endif
}

/* ----------------------------------------------------------- auth token */

static void auth_token(void)
{
    const uint64_t token = 0x8a3f01c2d4e5b697ull;
    char run[512];
    REQUIRE(t_mkdtemp(run, sizeof run));
    nipc_server_config_t cfg = {.supported_profiles = SHM_BOTH, .auth_token = token};
    nipc_server_t *srv = NULL;
    CHECK_OK(nipc_server_create_increment(run, SVC, &cfg, t_increment_handler, NULL, &srv));
    REQUIRE(srv);
    CHECK_OK(nipc_server_start(srv));
    /* The right token, over both transports. */
    for (int shm = 0; shm < 2; shm++) {
        nipc_client_config_t cc = {.supported_profiles = shm ? SHM_BOTH : NIPC_PROFILE_BASELINE,
                                   .auth_token = token};
        nipc_client_t *c = NULL;
        CHECK_OK(nipc_client_create(run, SVC, &cc, &c));
        CHECK_EQ_U64(t_refresh_changed(c), 1);
        CHECK_EQ_U64(nipc_client_state(c), NIPC_CLIENT_READY);
        nipc_client_free(c);
    }
    /* Wrong in exactly one byte (each position), in every bit, or absent:
     * refused, and the client stays refused until close(). */
    uint64_t wrong[11];
    for (int i = 0; i < 8; i++)
        wrong[i] = token ^ (0x01ull << (8 * i));
    wrong[8] = ~token;
    wrong[9] = 0;
    wrong[10] = token + 1;
    for (size_t i = 0; i < sizeof wrong / sizeof wrong[0]; i++) {
        nipc_client_config_t cc = {.auth_token = wrong[i]};
        nipc_client_t *c = NULL;
        CHECK_OK(nipc_client_create(run, SVC, &cc, &c));
        CHECK_EQ_U64(t_refresh_changed(c), 1);
        CHECK_EQ_U64(nipc_client_state(c), NIPC_CLIENT_AUTH_FAILED);
        CHECK_EQ_U64(t_refresh_changed(c), 0); /* sticky: no new attempt */
        uint64_t out;
        CHECK_ERR(nipc_client_increment(c, 1, &out, 0), NIPC_ERR_NOT_READY);
        nipc_client_free(c);
    }
    /* Counted by the session threads, just after their handshakes. */
    nipc_server_stats_t st;
    unsigned long long end = t_now_ms() + T_MS(2000);
    do
        nipc_server_stats(srv, &st);
    while (st.sessions_accepted + st.handshakes_failed < 13 && t_now_ms() < end);
    CHECK_EQ_U64(st.sessions_accepted, 2);
    CHECK_EQ_U64(st.handshakes_failed, 11);
    nipc_server_destroy(srv);
    t_rmtree(run);
}

/* ----------------------------------------------------------- allow-list */

static void uid_allow_list(void)
{
#ifndef _WIN32
    char run[512];
    REQUIRE(t_mkdtemp(run, sizeof run));
    uint32_t me = (uint32_t)geteuid();
    /* Never our uid, whoever runs this (root included). */
    uint32_t others[3] = {me + 4242u, me + 1u, me ^ 0x40000000u};
    uint32_t with_me[4] = {others[0], others[1], me, others[2]};
    for (int admit = 0; admit < 2; admit++) {
        nipc_server_config_t cfg = {
            .supported_profiles = SHM_BOTH,
            .allowed_uids = admit ? with_me : others,
            .allowed_uid_count = admit ? 4 : 3,
        };
        nipc_server_t *srv = NULL;
        CHECK_OK(nipc_server_create_increment(run, SVC, &cfg, t_increment_handler, NULL, &srv));
        REQUIRE(srv);
        /* The server copied the list: ours may change now. */
        others[0] = with_me[0] = me;
        CHECK_OK(nipc_server_start(srv));
        for (int shm = 0; shm < 2; shm++) {
            nipc_client_config_t cc = {.supported_profiles =
                                           shm ? SHM_BOTH : NIPC_PROFILE_BASELINE};
            nipc_client_t *c = NULL;
            CHECK_OK(nipc_client_create(run, SVC, &cc, &c));
            nipc_client_refresh(c);
            CHECK_EQ_U64(nipc_client_ready(c), admit);
            if (admit) {
                uint64_t out = 0;
                CHECK_OK(nipc_client_increment(c, 5, &out, 0));
                CHECK_EQ_U64(out, 6);
            }
            nipc_client_free(c);
        }
        /* The counters move just after the peer sees the outcome, and the
         * sessions' threads close their regions once the clients are gone. */
        nipc_server_stats_t st;
        unsigned long long end = t_now_ms() + T_MS(3000);
        for (;;) {
            nipc_server_stats(srv, &st);
            if ((st.sessions_active == 0 && st.sessions_accepted + st.sessions_rejected == 2) ||
                t_now_ms() > end)
                break;
            t_sleep_ms(2);
        }
        CHECK_EQ_U64(st.sessions_active, 0);
        CHECK_EQ_U64(st.sessions_accepted, admit ? 2 : 0);
        CHECK_EQ_U64(st.sessions_rejected, admit ? 0 : 2);
        /* Only the socket: a refused peer never got a region. */
        CHECK_EQ_U64(t_dir_entries(run), 1);
        nipc_server_destroy(srv);
        others[0] = with_me[0] = me + 4242u;
    }
    t_rmtree(run);
#else
    T_SKIP("uids are POSIX; Windows refuses allow-lists (allow_list_rules)");
#endif
}

/* ----------------------------------------------------------- umask */

#ifndef _WIN32
/* Linked with --wrap=umask (tests/CMakeLists.txt): every umask() call of the
 * library lands here; the test sets its own through __real_umask(). */
mode_t __real_umask(mode_t mask);
mode_t __wrap_umask(mode_t mask);
static atomic_int umask_calls;
mode_t __wrap_umask(mode_t mask)
{
    atomic_fetch_add(&umask_calls, 1);
    return __real_umask(mask);
}
#endif

/* A host's other threads create files while a server starts: the library
 * must never change the process-wide umask under them, and its socket is
 * 0600 whatever the umask is. */
static void socket_mode_without_umask(void)
{
#ifndef _WIN32
    char run[512];
    REQUIRE(t_mkdtemp(run, sizeof run));
    static const mode_t masks[] = {0, 022, 077, 0277, 0177};
    mode_t old = __real_umask(022);
    atomic_store(&umask_calls, 0);
    for (size_t i = 0; i < sizeof masks / sizeof masks[0]; i++) {
        __real_umask(masks[i]);
        for (int kind = 0; kind < KINDS; kind++) {
            nipc_server_t *s = NULL;
            CHECK_OK(create_kind(kind, run, SVC, NULL, &s));
            char p[700];
            struct stat sb;
            snprintf(p, sizeof p, "%s/%s.sock", run, SVC);
            CHECK(stat(p, &sb) == 0 && S_ISSOCK(sb.st_mode));
            CHECK_EQ_U64(sb.st_mode & 07777, 0600);
            nipc_server_destroy(s);
        }
    }
    CHECK_EQ_U64(atomic_load(&umask_calls), 0);
    __real_umask(old);
    t_rmtree(run);
#else
    T_SKIP("no umask on Windows");
#endif
}

/* ------------------------------------------------------- client checks */

#ifndef _WIN32
static nipc_client_t *refreshed_client(const char *run, const nipc_client_config_t *cfg)
{
    nipc_client_t *c = NULL;
    if (nipc_client_create(run, SVC, cfg, &c) != NIPC_OK)
        return NULL;
    nipc_client_refresh(c);
    return c;
}

static nipc_error_t last_error_of(const nipc_client_t *c)
{
    nipc_client_status_t st;
    nipc_client_status(c, &st);
    return st.last_error;
}

/*
 * A listening socket whose credentials are another user's: bound by this
 * (root) process, then listen() from a child that dropped to uid 65534
 * (SO_PEERCRED reports the listener's credentials at listen() time). The
 * child accepts and keeps connections until killed.
 */
static pid_t foreign_listener(const char *run)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    int n = snprintf(sa.sun_path, sizeof sa.sun_path, "%s/%s.sock", run, SVC);
    if (n < 0 || (size_t)n >= sizeof sa.sun_path)
        return -1;
    int fd = socket(AF_UNIX, SOCK_SEQPACKET, 0);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        close(fd);
        return -1;
    }
    int ready[2];
    if (pipe(ready) != 0) {
        close(fd);
        return -1;
    }
    pid_t pid = fork();
    if (pid == 0) {
        close(ready[0]);
        if (setgid(65534) != 0 || setuid(65534) != 0 || listen(fd, 4) != 0)
            _exit(3);
        if (write(ready[1], "L", 1) != 1) /* listening: the parent may connect */
            _exit(3);
        for (;;) {
            int c = accept(fd, NULL, NULL);
            (void)c; /* kept open: the client decides before it sends anything */
        }
    }
    close(ready[1]);
    char byte;
    ssize_t got = pid > 0 ? read(ready[0], &byte, 1) : 0;
    close(ready[0]);
    close(fd);
    if (pid > 0 && got != 1) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        return -1;
    }
    return pid;
}
#endif

static void client_checks_run_dir_and_server(void)
{
#ifndef _WIN32
    char base[512], run[600];
    REQUIRE(t_mkdtemp(base, sizeof base));
    snprintf(run, sizeof run, "%s/run", base);
    REQUIRE(mkdir(run, 0700) == 0);
    nipc_server_config_t scfg = {.supported_profiles = SHM_BOTH};
    nipc_server_t *srv = NULL;
    REQUIRE(nipc_server_create_increment(run, SVC, &scfg, t_increment_handler, NULL, &srv) ==
            NIPC_OK);
    REQUIRE(nipc_server_start(srv) == NIPC_OK);

    /* The run dir became writable by others after the server started. */
    static const mode_t open_modes[] = {0770, 0730, 0707, 01777};
    for (size_t i = 0; i < sizeof open_modes / sizeof open_modes[0]; i++) {
        CHECK(chmod(run, open_modes[i]) == 0);
        nipc_client_t *c = refreshed_client(run, NULL);
        CHECK(c && !nipc_client_ready(c));
        CHECK_ERR(last_error_of(c), NIPC_ERR_INSECURE_DIR);
        nipc_client_free(c);
    }
    CHECK(chmod(run, 0750) == 0);

    /* Who the server may be: by default its uid is the run dir's owner
     * (and ours), so it is admitted; a list without it refuses it. */
    uint32_t me = (uint32_t)geteuid();
    uint32_t others[2] = {me + 4242u, me ^ 0x40000000u};
    uint32_t with_me[3] = {others[0], me, others[1]};
    for (int shm = 0; shm < 2; shm++) {
        nipc_client_config_t cc = {.supported_profiles = shm ? SHM_BOTH : NIPC_PROFILE_BASELINE};
        nipc_client_t *c = refreshed_client(run, &cc);
        CHECK(c && nipc_client_ready(c));
        nipc_client_free(c);
        cc.allowed_server_uids = others;
        cc.allowed_server_uid_count = 2;
        c = refreshed_client(run, &cc);
        CHECK(c && !nipc_client_ready(c));
        CHECK_ERR(last_error_of(c), NIPC_ERR_PEER_REJECTED);
        nipc_client_free(c);
        cc.allowed_server_uids = with_me;
        cc.allowed_server_uid_count = 3;
        c = refreshed_client(run, &cc);
        CHECK(c && nipc_client_ready(c));
        nipc_client_free(c);
    }
    nipc_server_destroy(srv);

    /* A server running as another user (root can arrange one): refused by
     * default before the HELLO (and its token) is sent. */
    if (geteuid() == 0) {
        pid_t pid = foreign_listener(run);
        CHECK(pid > 0);
        if (pid > 0) {
            nipc_client_t *c = refreshed_client(run, NULL);
            CHECK(c && !nipc_client_ready(c));
            CHECK_ERR(last_error_of(c), NIPC_ERR_PEER_REJECTED);
            nipc_client_free(c);
            uint32_t nobody = 65534;
            nipc_transport_config_t tc = {.allowed_uids = &nobody,
                                          .allowed_uid_count = 1,
                                          .handshake_timeout_ms = 300};
            nipc_session_t *s = NULL;
            /* Listed: admitted, and then the silent fake times out. */
            CHECK_ERR(nipc_session_connect(run, SVC, &tc, &s), NIPC_ERR_TIMEOUT);
            kill(pid, SIGKILL);
            waitpid(pid, NULL, 0);
        }
        char p[700];
        snprintf(p, sizeof p, "%s/%s.sock", run, SVC);
        unlink(p);
    }
    CHECK_EQ_U64(t_dir_entries(run), 0);
    t_rmtree(base);
#else
    T_SKIP("run dirs and uids are POSIX");
#endif
}

/* A region planted by another user where the server's should be: refused
 * (PEER_REJECTED), not attached. Needs root to own a file as someone else. */
static void client_refuses_foreign_region(void)
{
#ifndef _WIN32
    if (geteuid() != 0)
        T_SKIP("needs root to create a file owned by another user");
    char run[512];
    REQUIRE(t_mkdtemp(run, sizeof run));
    /* A real region for session 7, owned by nobody. */
    char p[700];
    snprintf(p, sizeof p, "%s/%s-%016llx.ipcshm", run, SVC, 7ull);
    nipc__shm_t *region = NULL;
    REQUIRE(nipc__shm_create(run, SVC, 7, NIPC_PROFILE_SHM_HYBRID, 0, 1088, 1088, &region) ==
            NIPC_OK);
    CHECK(chown(p, 65534, 65534) == 0);
    nipc__shm_t *got = NULL;
    CHECK_ERR(nipc__shm_attach(run, SVC, 7, NIPC_PROFILE_SHM_HYBRID, 0, (int64_t)geteuid(), &got),
              NIPC_ERR_PEER_REJECTED);
    CHECK(got == NULL);
    CHECK_OK(nipc__shm_attach(run, SVC, 7, NIPC_PROFILE_SHM_HYBRID, 0, 65534, &got));
    nipc__shm_close(got);
    nipc__shm_close(region);
    CHECK_EQ_U64(t_dir_entries(run), 0);
    t_rmtree(run);
#else
    T_SKIP("region files are POSIX");
#endif
}

/* An allow-list is a restriction: never silently dropped. */
static void allow_list_rules(void)
{
    char run[512];
    REQUIRE(t_mkdtemp(run, sizeof run));
    nipc_server_config_t scfg = {.allowed_uid_count = 2}; /* a count, no list */
    nipc_server_t *srv = NULL;
    for (int kind = 0; kind < KINDS; kind++)
        CHECK_ERR(create_kind(kind, run, SVC, &scfg, &srv), NIPC_ERR_INVALID_ARGUMENT);
    nipc_client_config_t ccfg = {.allowed_server_uid_count = 1};
    nipc_client_t *c = NULL;
    CHECK_ERR(nipc_client_create(run, SVC, &ccfg, &c), NIPC_ERR_INVALID_ARGUMENT);
    nipc_cgroups_cache_t *cache = NULL;
    CHECK_ERR(nipc_cgroups_cache_create(run, SVC, &ccfg, &cache), NIPC_ERR_INVALID_ARGUMENT);
    nipc_transport_config_t tc = {.allowed_uid_count = 1};
    nipc_listener_t *l = NULL;
    CHECK_ERR(nipc_listener_create(run, SVC, &tc, &l), NIPC_ERR_INVALID_ARGUMENT);
    nipc_session_t *s = NULL;
    CHECK_ERR(nipc_session_connect(run, SVC, &tc, &s), NIPC_ERR_INVALID_ARGUMENT);

    uint32_t uid = 1000;
    scfg.allowed_uids = &uid;
    ccfg.allowed_server_uids = &uid;
    tc.allowed_uids = &uid;
#ifdef _WIN32
    /* No uids on Windows: refused with a reason, never ignored. */
    for (int kind = 0; kind < KINDS; kind++)
        CHECK_ERR(create_kind(kind, run, SVC, &scfg, &srv), NIPC_ERR_PLATFORM);
    CHECK_ERR(nipc_client_create(run, SVC, &ccfg, &c), NIPC_ERR_PLATFORM);
    CHECK_ERR(nipc_listener_create(run, SVC, &tc, &l), NIPC_ERR_PLATFORM);
    CHECK_ERR(nipc_session_connect(run, SVC, &tc, &s), NIPC_ERR_PLATFORM);
#else
    scfg.allowed_uid_count = 1;
    CHECK_OK(create_kind(0, run, SVC, &scfg, &srv));
    nipc_server_destroy(srv);
    CHECK_OK(nipc_client_create(run, SVC, &ccfg, &c));
    nipc_client_free(c);
#endif
    CHECK_EQ_U64(t_dir_entries(run), 0);
    t_rmtree(run);
}

int main(int argc, char **argv)
{
    t_init(argc, argv);
    static const t_case_t cases[] = {
        T_CASE(level2_run_dir_checks), T_CASE(level2_file_modes), T_CASE(service_names_everywhere),
        T_CASE(path_too_long),         T_CASE(auth_token),        T_CASE(uid_allow_list),
        T_CASE(socket_mode_without_umask), T_CASE(client_checks_run_dir_and_server),
        T_CASE(client_refuses_foreign_region), T_CASE(allow_list_rules),
    };
    return t_run(cases, sizeof cases / sizeof cases[0], argc, argv);
}
