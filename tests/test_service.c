/*
 * Level 2 suite: typed clients against real provider processes (the managed
 * server and a hand-driven Level 1 server, tests/service_peers.c), and the
 * managed server against hostile raw clients.
 *
 * Covers the client state machine (services.md §2), NOT_READY without I/O,
 * providers that start late, restart and vanish mid-call, at-least-once
 * retry with the same message id, timeout, abort from another thread,
 * growth and overflow, the SHM attach fallback, the session limit, silent
 * handshakes, the server's reaction to every malformed request (§6), batch
 * calls, graceful stop, and fd / run-dir hygiene after every case.
 *
 * Not covered here: Level 1 framing and transport conformance
 * (test_transport*), codecs (test_codec), the cache (test_cache).
 * Timing assertions are deliberately loose windows, never tight bounds.
 */
#include "test.h"

#include <stdatomic.h>
#ifndef _WIN32
#include <unistd.h>
#endif

#include "corpus/corpus.h"
#include "netipc/codec.h"
#include "netipc/service.h"
#include "netipc/transport.h"
#include "platform/platform.h"
#include "bounds.h"
#include "service_peers.h"
#include "support.h"
#include "transport/transport_internal.h"

#if defined(__linux__) || defined(_WIN32)
#define HAVE_SHM 1
#else
#define HAVE_SHM 0
#endif

#define SHM_BOTH (NIPC_PROFILE_BASELINE | NIPC_PROFILE_SHM_HYBRID)

/* What a netipc client asking for SHM gets from a netipc server: the sealed
 * profile both add on Linux, SHM_HYBRID elsewhere. */
#ifdef __linux__
#define SHM_SELECTED NIPC_PROFILE_SHM_SEALED
#else
#define SHM_SELECTED NIPC_PROFILE_SHM_HYBRID
#endif

/* ---------------------------------------------------------------- fixture */

typedef sp_fx_t fx_t;

#define fx_begin sp_fx_begin
#define fx_start sp_fx_start
#define fx_kill sp_fx_kill
#define fx_stop sp_fx_stop

/* Stops the provider, checks the run dir is empty (when expected) and that
 * no descriptor leaked, and removes the directories. */
static void fx_end(fx_t *f, int expect_empty_run_dir)
{
    int code, left;
    CHECK_EQ_U64(sp_fx_end(f, &code, &left), 0);
    CHECK_EQ_U64(code, 0);
    if (expect_empty_run_dir)
        CHECK_EQ_U64(left, 0);
}

static nipc_client_t *client_new(const fx_t *f, const nipc_client_config_t *cfg)
{
    nipc_client_t *c = NULL;
    if (nipc_client_create(f->run, SP_SERVICE, cfg, &c) != NIPC_OK)
        return NULL;
    return c;
}

static int refresh_until_ready(nipc_client_t *c, int timeout_ms)
{
    unsigned long long end = t_now_ms() + (unsigned long long)timeout_ms;
    for (;;) {
        nipc_client_refresh(c);
        if (nipc_client_ready(c))
            return 1;
        if (t_now_ms() > end)
            return 0;
        t_sleep_ms(10);
    }
}

/* Waits until the provider reports `n` live sessions. */
static int wait_active(const char *ctl, unsigned long long n, int timeout_ms)
{
    unsigned long long end = t_now_ms() + (unsigned long long)timeout_ms;
    sp_stats_t st;
    for (;;) {
        if (sp_read_stats(ctl, &st) && st.active == n)
            return 1;
        if (t_now_ms() > end)
            return 0;
        t_sleep_ms(10);
    }
}

static nipc_client_status_t status_of(const nipc_client_t *c)
{
    nipc_client_status_t st;
    nipc_client_status(c, &st);
    return st;
}

/* A thread running `fn(arg)`, for calls that must be interrupted. */
typedef struct bg {
    nipc__thread_t *thread;
} bg_t;

static int bg_start(bg_t *b, nipc__thread_fn fn, void *arg)
{
    return nipc__thread_start(&b->thread, fn, arg) == NIPC_OK;
}

static void bg_join(bg_t *b)
{
    if (b->thread)
        nipc__thread_join(b->thread);
    b->thread = NULL;
}

/* ------------------------------------------------------ state transitions */

/* DISCONNECTED → NOT_FOUND (no provider) → READY once it appears late. */
static void test_state_late_provider(void)
{
    fx_t f;
    REQUIRE(fx_begin(&f));
    nipc_client_t *c = client_new(&f, NULL);
    REQUIRE(c);
    uint64_t out = 0;

    CHECK_EQ_U64(nipc_client_state(c), NIPC_CLIENT_DISCONNECTED);
    CHECK(!nipc_client_ready(c));
    CHECK_ERR(nipc_client_increment(c, 1, &out, 0), NIPC_ERR_NOT_READY);
    CHECK_EQ_U64(status_of(c).error_count, 1);

    CHECK_EQ_U64(t_refresh_changed(c), 1); /* DISCONNECTED → NOT_FOUND */
    CHECK_EQ_U64(nipc_client_state(c), NIPC_CLIENT_NOT_FOUND);
    CHECK_EQ_U64(status_of(c).last_error, NIPC_ERR_NOT_FOUND);
    CHECK_EQ_U64(t_refresh_changed(c), 0); /* still NOT_FOUND */
    CHECK_EQ_U64(nipc_client_state(c), NIPC_CLIENT_NOT_FOUND);

    REQUIRE(fx_start(&f, "server", NULL));
    /* A provider is there now, but calls never connect by themselves. */
    CHECK_ERR(nipc_client_increment(c, 1, &out, 0), NIPC_ERR_NOT_READY);
    CHECK_EQ_U64(status_of(c).error_count, 2);
    sp_stats_t st;
    CHECK(sp_fresh_stats(f.ctl, &st));
    CHECK_EQ_U64(st.accepted + st.hs_failed + st.requests, 0);

    CHECK_EQ_U64(t_refresh_changed(c), 1); /* NOT_FOUND → READY */
    CHECK_EQ_U64(nipc_client_state(c), NIPC_CLIENT_READY);
    CHECK(nipc_client_ready(c));
    CHECK_EQ_U64(t_refresh_changed(c), 0); /* READY: nothing to do */

    CHECK_OK(nipc_client_increment(c, 41, &out, 0));
    CHECK_EQ_U64(out, 42);
    nipc_client_status_t s = status_of(c);
    CHECK_EQ_U64(s.state, NIPC_CLIENT_READY);
    CHECK_EQ_U64(s.connect_count, 1);
    CHECK_EQ_U64(s.reconnect_count, 0);
    CHECK_EQ_U64(s.call_count, 1);
    CHECK_EQ_U64(s.error_count, 2);
    CHECK_EQ_U64(s.selected_profile, NIPC_PROFILE_BASELINE);
    CHECK_EQ_U64(s.max_request_payload, 1024);
    CHECK_EQ_U64(s.max_response_payload, NIPC_RESPONSE_PAYLOAD_DEFAULT);
    CHECK(sp_fresh_stats(f.ctl, &st));
    CHECK_EQ_U64(st.accepted, 1);
    CHECK_EQ_U64(st.requests, 1);
    CHECK_EQ_U64(st.active, 1);

    /* close(): DISCONNECTED, no session, and usable again. */
    nipc_client_close(c);
    s = status_of(c);
    CHECK_EQ_U64(s.state, NIPC_CLIENT_DISCONNECTED);
    CHECK_EQ_U64(s.selected_profile, 0);
    CHECK_EQ_U64(s.max_request_payload, 0);
    CHECK_EQ_U64(t_refresh_changed(c), 1);
    CHECK_OK(nipc_client_increment(c, 1, &out, 0));
    CHECK_EQ_U64(status_of(c).connect_count, 2);
    nipc_client_free(c);
    fx_end(&f, 1);
}

/* READY → BROKEN after a failed call; BROKEN → NOT_FOUND / READY on refresh. */
static void test_state_broken_and_restart(void)
{
    fx_t f;
    REQUIRE(fx_begin(&f));
    REQUIRE(fx_start(&f, "server", NULL));
    nipc_client_t *c = client_new(&f, NULL);
    REQUIRE(c);
    REQUIRE(refresh_until_ready(c, 2000));
    uint64_t out = 0;
    CHECK_OK(nipc_client_increment(c, 1, &out, 0));

    /* Provider killed between calls: the call fails fast (retry included). */
    fx_kill(&f);
    unsigned long long t0 = t_now_ms();
    nipc_error_t err = nipc_client_increment(c, 2, &out, 5000);
    unsigned long long took = t_now_ms() - t0;
    CHECK(err != NIPC_OK && err != NIPC_ERR_TIMEOUT);
    CHECK(took < t_failed_retry_bound());
    nipc_client_status_t s = status_of(c);
    CHECK_EQ_U64(s.state, NIPC_CLIENT_BROKEN);
    CHECK_EQ_U64(s.last_error, err);
    CHECK_EQ_U64(s.error_count, 1);
    CHECK_EQ_U64(s.call_count, 1);

    /* BROKEN with nobody there → NOT_FOUND (a change). */
    CHECK_EQ_U64(t_refresh_changed(c), 1);
    CHECK_EQ_U64(nipc_client_state(c), NIPC_CLIENT_NOT_FOUND);
    CHECK_ERR(nipc_client_increment(c, 3, &out, 0), NIPC_ERR_NOT_READY);

    /* The provider restarts (stale socket file left by the kill). */
    REQUIRE(fx_start(&f, "server", NULL));
    CHECK_EQ_U64(t_refresh_changed(c), 1); /* NOT_FOUND → READY: a connect */
    s = status_of(c);
    CHECK_EQ_U64(s.state, NIPC_CLIENT_READY);
    CHECK_EQ_U64(s.connect_count, 2);
    CHECK_EQ_U64(s.reconnect_count, 0);
    CHECK_OK(nipc_client_increment(c, 10, &out, 0));
    CHECK_EQ_U64(out, 11);

    /* Killed again; this time the client is still BROKEN when it comes back. */
    fx_kill(&f);
    CHECK(nipc_client_increment(c, 4, &out, 5000) != NIPC_OK);
    CHECK_EQ_U64(nipc_client_state(c), NIPC_CLIENT_BROKEN);
    REQUIRE(fx_start(&f, "server", NULL));
    CHECK_EQ_U64(t_refresh_changed(c), 1); /* BROKEN → READY: a reconnect */
    s = status_of(c);
    CHECK_EQ_U64(s.state, NIPC_CLIENT_READY);
    CHECK_EQ_U64(s.connect_count, 2);
    CHECK_EQ_U64(s.reconnect_count, 1);
    CHECK_OK(nipc_client_increment(c, 20, &out, 0));
    CHECK_EQ_U64(out, 21);
    CHECK_EQ_U64(status_of(c).call_count, 3);
    nipc_client_free(c);
    fx_end(&f, 1); /* the new server removed what the killed ones left */
}

/*
 * What refresh() returns: OK once READY, otherwise the reason of the connect
 * it just tried, or of the sticky state; last_connect_error says the same.
 * A call's NOT_READY never hides it.
 */
static void test_refresh_result(void)
{
    fx_t f;
    REQUIRE(fx_begin(&f));
    nipc_client_config_t bad = {.auth_token = 7};
    nipc_client_t *c = client_new(&f, NULL), *w = client_new(&f, &bad);
    REQUIRE(c && w);
    uint64_t out = 0;
    CHECK_ERR(nipc_client_refresh(c), NIPC_ERR_NOT_FOUND);
    CHECK_ERR(nipc_client_increment(c, 1, &out, 0), NIPC_ERR_NOT_READY);
    CHECK_ERR(status_of(c).last_connect_error, NIPC_ERR_NOT_FOUND); /* not hidden */
    CHECK_ERR(nipc_client_refresh(c), NIPC_ERR_NOT_FOUND);

    REQUIRE(fx_start(&f, "server", (const char *[]){"token=0", NULL}));
    CHECK_OK(nipc_client_refresh(c));
    CHECK_OK(nipc_client_refresh(c)); /* READY: nothing to do, still OK */
    CHECK_ERR(status_of(c).last_connect_error, NIPC_OK);
    CHECK_ERR(nipc_client_refresh(w), NIPC_ERR_AUTH_FAILED);
    CHECK_ERR(nipc_client_refresh(w), NIPC_ERR_AUTH_FAILED); /* sticky, with its reason */
    CHECK_ERR(nipc_client_increment(w, 1, &out, 0), NIPC_ERR_NOT_READY);
    CHECK_ERR(nipc_client_refresh(w), NIPC_ERR_AUTH_FAILED); /* a failed call changes nothing */

    /* BROKEN → the reconnect's reason. */
    fx_kill(&f);
    CHECK(nipc_client_increment(c, 2, &out, 2000) != NIPC_OK);
    CHECK_EQ_U64(nipc_client_state(c), NIPC_CLIENT_BROKEN);
    CHECK_ERR(nipc_client_refresh(c), NIPC_ERR_NOT_FOUND);
    nipc_client_free(c);
    nipc_client_free(w);
    fx_end(&f, 0);
}

/* A server that accepts and never answers: refresh() gives up after the
 * client's own handshake_timeout_ms (and the default otherwise). */
static void test_refresh_handshake_timeout(void)
{
    fx_t f;
    REQUIRE(fx_begin(&f));
    nipc_listener_t *l = NULL;
    REQUIRE(nipc_listener_create(f.run, SP_SERVICE, NULL, &l) == NIPC_OK); /* never accepts */
    nipc_client_config_t cfg = {.handshake_timeout_ms = T_MS(300)};
    nipc_client_t *c = client_new(&f, &cfg);
    REQUIRE(c);
    unsigned long long t0 = t_now_ms();
    CHECK_ERR(nipc_client_refresh(c), NIPC_ERR_TIMEOUT);
    unsigned long long took = t_now_ms() - t0;
    CHECK(took >= 290 && took < t_bound(T_MS(300)));
    CHECK_EQ_U64(nipc_client_state(c), NIPC_CLIENT_DISCONNECTED);
    nipc_client_free(c);
    nipc_listener_free(l);
    fx_end(&f, 0);
}

/* A wrong token: AUTH_FAILED, sticky (no I/O) until close(). */
static void test_state_auth_failed_sticky(void)
{
    fx_t f;
    REQUIRE(fx_begin(&f));
    REQUIRE(fx_start(&f, "server", (const char *[]){"token=42", NULL}));
    nipc_client_config_t cfg = {.auth_token = 7};
    nipc_client_t *c = client_new(&f, &cfg);
    REQUIRE(c);
    uint64_t out;

    CHECK_EQ_U64(t_refresh_changed(c), 1);
    CHECK_EQ_U64(nipc_client_state(c), NIPC_CLIENT_AUTH_FAILED);
    CHECK_EQ_U64(status_of(c).last_error, NIPC_ERR_AUTH_FAILED);
    CHECK(!nipc_client_ready(c));
    CHECK_EQ_U64(t_refresh_changed(c), 0);
    CHECK_ERR(nipc_client_increment(c, 1, &out, 0), NIPC_ERR_NOT_READY);
    sp_stats_t st;
    CHECK(sp_fresh_stats(f.ctl, &st));
    CHECK_EQ_U64(st.accepted, 0);
    CHECK_EQ_U64(st.hs_failed, 1); /* the second refresh did not even connect */

    /* The provider now accepts token 7; the client stays AUTH_FAILED. */
    CHECK_EQ_U64(fx_stop(&f), 0);
    REQUIRE(fx_start(&f, "server", (const char *[]){"token=7", NULL}));
    CHECK_EQ_U64(t_refresh_changed(c), 0);
    CHECK_EQ_U64(nipc_client_state(c), NIPC_CLIENT_AUTH_FAILED);
    CHECK(sp_fresh_stats(f.ctl, &st));
    CHECK_EQ_U64(st.accepted + st.hs_failed, 0);

    nipc_client_close(c);
    CHECK_EQ_U64(nipc_client_state(c), NIPC_CLIENT_DISCONNECTED);
    CHECK_EQ_U64(t_refresh_changed(c), 1);
    CHECK_EQ_U64(nipc_client_state(c), NIPC_CLIENT_READY);
    CHECK_OK(nipc_client_increment(c, 6, &out, 0));
    CHECK_EQ_U64(out, 7);
    nipc_client_free(c);
    fx_end(&f, 1);
}

/* No common profile: INCOMPATIBLE, sticky until close(). */
static void test_state_incompatible_sticky(void)
{
#if HAVE_SHM
    fx_t f;
    REQUIRE(fx_begin(&f));
    REQUIRE(fx_start(&f, "server", (const char *[]){"prof=1", NULL}));
    nipc_client_config_t cfg = {.supported_profiles = NIPC_PROFILE_SHM_HYBRID};
    nipc_client_t *c = client_new(&f, &cfg);
    REQUIRE(c);

    CHECK_EQ_U64(t_refresh_changed(c), 1);
    CHECK_EQ_U64(nipc_client_state(c), NIPC_CLIENT_INCOMPATIBLE);
    CHECK_EQ_U64(status_of(c).last_error, NIPC_ERR_UNSUPPORTED);
    CHECK_EQ_U64(t_refresh_changed(c), 0);
    CHECK_EQ_U64(nipc_client_state(c), NIPC_CLIENT_INCOMPATIBLE);

    /* A provider that speaks SHM: still INCOMPATIBLE until close(). */
    CHECK_EQ_U64(fx_stop(&f), 0);
    REQUIRE(fx_start(&f, "server", (const char *[]){"prof=3", NULL}));
    CHECK_EQ_U64(t_refresh_changed(c), 0);
    CHECK_EQ_U64(nipc_client_state(c), NIPC_CLIENT_INCOMPATIBLE);
    nipc_client_close(c);
    CHECK_EQ_U64(t_refresh_changed(c), 1);
    CHECK_EQ_U64(nipc_client_state(c), NIPC_CLIENT_READY);
    CHECK_EQ_U64(status_of(c).selected_profile, SHM_SELECTED);
    uint64_t out = 0;
    CHECK_OK(nipc_client_increment(c, 99, &out, 0));
    CHECK_EQ_U64(out, 100);
    /* Destroying the server while an SHM client is attached removes its files. */
    CHECK_EQ_U64(fx_stop(&f), 0);
    CHECK_EQ_U64(t_dir_entries(f.run), 0);
    CHECK(nipc_client_increment(c, 1, &out, 2000) != NIPC_OK);
    nipc_client_free(c);
    fx_end(&f, 1);
#endif
}

/* A request ceiling above the server's: LIMIT_EXCEEDED at the handshake
 * leaves the client DISCONNECTED (not sticky: the next refresh retries). */
static void test_state_limit_exceeded_handshake(void)
{
    fx_t f;
    REQUIRE(fx_begin(&f));
    REQUIRE(fx_start(&f, "server", (const char *[]){"req=1024", NULL}));
    nipc_client_config_t cfg = {.max_request_payload_bytes = 4096};
    nipc_client_t *c = client_new(&f, &cfg);
    REQUIRE(c);

    CHECK_EQ_U64(t_refresh_changed(c), 0); /* DISCONNECTED → DISCONNECTED */
    CHECK_EQ_U64(nipc_client_state(c), NIPC_CLIENT_DISCONNECTED);
    CHECK_EQ_U64(status_of(c).last_error, NIPC_ERR_LIMIT_EXCEEDED);
    CHECK_EQ_U64(t_refresh_changed(c), 0);
    CHECK_EQ_U64(nipc_client_state(c), NIPC_CLIENT_DISCONNECTED);
    sp_stats_t st;
    CHECK(sp_fresh_stats(f.ctl, &st));
    CHECK_EQ_U64(st.hs_failed, 2);
    CHECK_EQ_U64(st.accepted, 0);

    CHECK_EQ_U64(fx_stop(&f), 0);
    REQUIRE(fx_start(&f, "server", (const char *[]){"req=8192", NULL}));
    CHECK_EQ_U64(t_refresh_changed(c), 1);
    CHECK_EQ_U64(nipc_client_state(c), NIPC_CLIENT_READY);
    CHECK_EQ_U64(status_of(c).max_request_payload, 4096);
    nipc_client_free(c);
    fx_end(&f, 1);
}

/* max_sessions = 2: a third client gets BUSY (DISCONNECTED) until one leaves. */
static void test_session_limit_busy(void)
{
    fx_t f;
    REQUIRE(fx_begin(&f));
    REQUIRE(fx_start(&f, "server", (const char *[]){"sessions=2", NULL}));
    nipc_client_t *a = client_new(&f, NULL), *b = client_new(&f, NULL), *c = client_new(&f, NULL);
    REQUIRE(a && b && c);
    uint64_t out = 0;
    CHECK_EQ_U64(t_refresh_changed(a), 1);
    CHECK_EQ_U64(t_refresh_changed(b), 1);
    CHECK(nipc_client_ready(a) && nipc_client_ready(b));

    CHECK_EQ_U64(t_refresh_changed(c), 0);
    CHECK_EQ_U64(nipc_client_state(c), NIPC_CLIENT_DISCONNECTED);
    CHECK_EQ_U64(status_of(c).last_error, NIPC_ERR_BUSY);
    CHECK_ERR(nipc_client_increment(c, 1, &out, 0), NIPC_ERR_NOT_READY);
    sp_stats_t st;
    CHECK(sp_fresh_stats(f.ctl, &st));
    CHECK_EQ_U64(st.rejected, 1);
    CHECK_EQ_U64(st.accepted, 2);
    CHECK_EQ_U64(st.active, 2);

    /* The two admitted clients are unaffected. */
    CHECK_OK(nipc_client_increment(a, 1, &out, 0));
    CHECK_EQ_U64(out, 2);
    CHECK_OK(nipc_client_increment(b, 2, &out, 0));
    CHECK_EQ_U64(out, 3);

    /* One leaves: the third gets in. */
    nipc_client_free(a);
    CHECK(refresh_until_ready(c, 3000));
    CHECK_OK(nipc_client_increment(c, 3, &out, 0));
    CHECK_EQ_U64(out, 4);
    CHECK(sp_fresh_stats(f.ctl, &st));
    CHECK_EQ_U64(st.accepted, 3);
    CHECK_EQ_U64(st.active, 2);
    nipc_client_free(b);
    nipc_client_free(c);
    fx_end(&f, 1);
}

/*
 * Beyond the session limit with every rejecter thread busy too (eight
 * silent clients hold them for the server's handshake timeout): a further
 * client is not accepted and closed without a word, it waits in the listen
 * backlog and gets BUSY once a rejecter is free, within its own deadline.
 */
static void test_session_limit_rejecters_busy(void)
{
    fx_t f;
    REQUIRE(fx_begin(&f));
    REQUIRE(fx_start(&f, "server", (const char *[]){"sessions=1", "hs=600", NULL}));
    nipc_client_t *a = client_new(&f, NULL);
    REQUIRE(a && refresh_until_ready(a, 3000));
    enum { SILENT = 8 }; /* the server's rejecter threads (server.c) */
    nipc__conn_t *silent[SILENT] = {0};
    for (int i = 0; i < SILENT; i++)
        CHECK_OK(nipc__conn_connect(f.run, SP_SERVICE, &silent[i]));
    unsigned long long end = t_now_ms() + t_bound(0);
    sp_stats_t st = {0};
    while (sp_read_stats(f.ctl, &st) && st.rejected < SILENT && t_now_ms() < end)
        t_sleep_ms(5);
    CHECK_EQ_U64(st.rejected, SILENT);

    nipc_transport_config_t tc = {.handshake_timeout_ms = 3000};
    nipc_session_t *s = NULL;
    unsigned long long t0 = t_now_ms();
    CHECK_ERR(nipc_session_connect(f.run, SP_SERVICE, &tc, &s), NIPC_ERR_BUSY);
    CHECK(t_now_ms() - t0 < t_bound(600)); /* a rejecter frees at the server's timeout */
    CHECK(s == NULL);
    for (int i = 0; i < SILENT; i++)
        nipc__conn_close(silent[i]);
    uint64_t out = 0;
    CHECK_OK(nipc_client_increment(a, 1, &out, 0)); /* the admitted one never noticed */
    nipc_client_free(a);
    fx_end(&f, 1);
}

/* ------------------------------------------------------ raw client helper */

/* A client written against the packet layer, free to break every rule. */
typedef struct raw {
    nipc__conn_t *conn;
    nipc_hello_ack_t ack;
    uint16_t ack_status;
} raw_t;

static nipc_error_t raw_connect(const fx_t *f, raw_t *r, uint32_t batch, uint32_t req)
{
    memset(r, 0, sizeof *r);
    nipc_error_t err = nipc__conn_connect(f->run, SP_SERVICE, &r->conn);
    if (err != NIPC_OK)
        return err;
    nipc_hello_t hello = {
        .layout_version = NIPC_LAYOUT_VERSION,
        .supported_profiles = NIPC_PROFILE_BASELINE,
        .max_request_payload_bytes = req,
        .max_request_batch_items = batch,
        .max_response_payload_bytes = 65536,
        .max_response_batch_items = batch,
        .packet_size = 65536,
    };
    uint8_t buf[128];
    nipc_header_t h = nipc_header_make(NIPC_KIND_CONTROL, NIPC_CONTROL_HELLO, 0, 0,
                                       NIPC_HELLO_SIZE, 1, 0);
    nipc_header_encode(&h, buf);
    nipc_hello_encode(&hello, buf + NIPC_HEADER_SIZE);
    uint64_t deadline = nipc__now_ms() + 3000;
    err = nipc__conn_send(r->conn, buf, NIPC_HEADER_SIZE + NIPC_HELLO_SIZE, NULL, 0, deadline,
                          NULL);
    size_t len = 0;
    if (err == NIPC_OK)
        err = nipc__conn_recv(r->conn, buf, sizeof buf, NULL, 0, &len, 1, deadline, NULL);
    if (err == NIPC_OK)
        err = nipc_header_decode(buf, len, &h);
    if (err == NIPC_OK && len >= NIPC_HEADER_SIZE + NIPC_HELLO_ACK_SIZE)
        err = nipc_hello_ack_decode(buf + NIPC_HEADER_SIZE, len - NIPC_HEADER_SIZE, &r->ack);
    r->ack_status = h.transport_status;
    if (err == NIPC_OK && h.transport_status != NIPC_STATUS_OK)
        err = NIPC_ERR_HANDSHAKE;
    return err;
}

static void raw_close(raw_t *r)
{
    nipc__conn_close(r->conn);
    r->conn = NULL;
}

/* One packet: the header verbatim (payload_len as given) and `len` bytes. */
static nipc_error_t raw_packet(raw_t *r, const nipc_header_t *h, const void *payload, size_t len)
{
    uint8_t hb[NIPC_HEADER_SIZE];
    nipc_header_encode(h, hb);
    return nipc__conn_send(r->conn, hb, sizeof hb, payload, len, nipc__now_ms() + 2000, NULL);
}

static nipc_error_t raw_request(raw_t *r, uint16_t code, uint16_t flags, uint32_t items,
                                uint64_t id, const void *payload, size_t len)
{
    nipc_header_t h =
        nipc_header_make(NIPC_KIND_REQUEST, code, flags, 0, (uint32_t)len, items, id);
    return raw_packet(r, &h, payload, len);
}

static uint8_t raw_rx[70000];

/* Receives one whole (unchunked) response; the payload lands in raw_rx. */
static nipc_error_t raw_response(raw_t *r, nipc_header_t *h, uint32_t timeout_ms)
{
    size_t len = 0;
    nipc_error_t err = nipc__conn_recv(r->conn, raw_rx, sizeof raw_rx, NULL, 0, &len, 1,
                                       nipc__now_ms() + timeout_ms, NULL);
    if (err != NIPC_OK)
        return err;
    err = nipc_header_decode(raw_rx, len, h);
    if (err == NIPC_OK && len != NIPC_HEADER_SIZE + (size_t)h->payload_len)
        err = NIPC_ERR_PROTOCOL;
    return err;
}

/* Expects an error response (empty, flags 0, item_count 1) for (code, id). */
static void expect_status_at(raw_t *r, uint16_t code, uint64_t id, uint16_t status, int line)
{
    nipc_header_t h;
    nipc_error_t err = raw_response(r, &h, 3000);
    t_checks++;
    if (err != NIPC_OK || h.kind != NIPC_KIND_RESPONSE || h.code != code || h.message_id != id ||
        h.transport_status != status || h.payload_len != 0 || h.flags != 0 ||
        h.item_count != 1) {
        t_failures++;
        fprintf(stderr,
                "%s:%d: expected status %u for code %u id %llu, got %s kind %u code %u id %llu "
                "status %u len %u flags %u items %u\n",
                __FILE__, line, status, code, (unsigned long long)id, nipc_error_name(err),
                h.kind, h.code, (unsigned long long)h.message_id, h.transport_status,
                h.payload_len, h.flags, h.item_count);
    }
}
#define EXPECT_STATUS(r, code, id, status) expect_status_at(r, code, id, status, __LINE__)

/* Expects the server to close the session without another word. */
static void expect_closed_at(raw_t *r, int line)
{
    nipc_header_t h;
    nipc_error_t err = raw_response(r, &h, 3000);
    t_checks++;
    if (err != NIPC_ERR_DISCONNECTED) {
        t_failures++;
        fprintf(stderr, "%s:%d: expected a silent close, got %s (status %u)\n", __FILE__, line,
                nipc_error_name(err), err == NIPC_OK ? h.transport_status : 0);
    }
}
#define EXPECT_CLOSED(r) expect_closed_at(r, __LINE__)

static size_t put_u64(uint8_t *p, uint64_t v)
{
    memcpy(p, &v, 8);
    return 8;
}

static void put_u32(uint8_t *p, uint32_t v)
{
    memcpy(p, &v, 4);
}

/* A silent client (connects, sends nothing) does not block others and is
 * dropped after the handshake timeout. */
static void test_silent_client_handshake(void)
{
    fx_t f;
    REQUIRE(fx_begin(&f));
    REQUIRE(fx_start(&f, "server", (const char *[]){"hs=1000", NULL}));
    nipc__conn_t *silent = NULL;
    REQUIRE(nipc__conn_connect(f.run, SP_SERVICE, &silent) == NIPC_OK);
    unsigned long long t0 = t_now_ms();

    nipc_client_t *c = client_new(&f, NULL);
    REQUIRE(c);
    CHECK_EQ_U64(t_refresh_changed(c), 1);
    uint64_t out = 0;
    CHECK_OK(nipc_client_increment(c, 5, &out, 0));
    CHECK_EQ_U64(out, 6);
    CHECK(t_now_ms() - t0 < 700); /* served while the silent one is pending */

    uint8_t buf[128];
    size_t len = 0;
    CHECK_ERR(nipc__conn_recv(silent, buf, sizeof buf, NULL, 0, &len, 1, t0 + 5000, NULL),
              NIPC_ERR_DISCONNECTED);
    unsigned long long took = t_now_ms() - t0;
    CHECK(took >= 800 && took < t_bound(1000)); /* the server's handshake timeout */
    nipc__conn_close(silent);
    sp_stats_t st;
    CHECK(sp_fresh_stats(f.ctl, &st));
    CHECK_EQ_U64(st.hs_failed, 1);
    CHECK_EQ_U64(st.accepted, 1);
    CHECK_OK(nipc_client_increment(c, 6, &out, 0));
    nipc_client_free(c);
    fx_end(&f, 1);
}

/* -------------------------------------------------- vanish, retry, timeout */

typedef struct killer {
    fx_t *f;
    int calls; /* kill once this many handler invocations are logged */
    int fired;
} killer_t;

static void killer_main(void *arg)
{
    killer_t *k = arg;
    if (sp_wait_calls(k->f->ctl, k->calls, 5000)) {
        t_sleep_ms(50); /* let the handler settle into its block */
        fx_kill(k->f);
        k->fired = 1;
    }
}

/* The provider dies while a handler holds the call: the call fails promptly
 * (not at its timeout) and the client is BROKEN; a restart recovers. */
/* exact: both sides advertise exactly their profiles (SHM: upstream's
 * file region instead of the sealed one). */
static void vanish_mid_call(uint32_t profiles, int exact)
{
    fx_t f;
    REQUIRE(fx_begin(&f));
    const char *opts[] = {"prof=3", exact ? "exact=1" : NULL, NULL};
    REQUIRE(fx_start(&f, "server", opts));
    nipc_client_config_t cfg = {.supported_profiles = profiles, .exact_profiles = exact};
    nipc_client_t *c = client_new(&f, &cfg);
    REQUIRE(c);
    REQUIRE(refresh_until_ready(c, 2000));
    CHECK_EQ_U64(status_of(c).selected_profile,
                 !(profiles & NIPC_PROFILE_SHM_HYBRID) ? NIPC_PROFILE_BASELINE
                 : exact                               ? NIPC_PROFILE_SHM_HYBRID
                                                       : SHM_SELECTED);

    killer_t k = {&f, 1, 0};
    bg_t bg = {0};
    REQUIRE(bg_start(&bg, killer_main, &k));
    uint64_t out = 0;
    unsigned long long t0 = t_now_ms();
    nipc_error_t err = nipc_client_increment(c, SP_BLOCK_VALUE, &out, 10000);
    unsigned long long took = t_now_ms() - t0;
    bg_join(&bg);
    CHECK(k.fired);
    CHECK(err != NIPC_OK && err != NIPC_ERR_TIMEOUT);
    CHECK(took < t_failed_retry_bound());
    CHECK_EQ_U64(nipc_client_state(c), NIPC_CLIENT_BROKEN);

    REQUIRE(fx_start(&f, "server", opts));
    CHECK_EQ_U64(t_refresh_changed(c), 1);
    CHECK_EQ_U64(status_of(c).reconnect_count, 1);
    CHECK_OK(nipc_client_increment(c, 8, &out, 0));
    CHECK_EQ_U64(out, 9);
    nipc_client_free(c);
    fx_end(&f, 1); /* stale SHM of the killed provider reclaimed too */
}

static void test_vanish_mid_call_uds(void)
{
    vanish_mid_call(NIPC_PROFILE_BASELINE, 0);
}

static void test_vanish_mid_call_shm(void)
{
#if HAVE_SHM
    vanish_mid_call(SHM_BOTH, 0);
#else
    T_SKIP("no shared memory transport on this platform");
#endif
}

static void test_vanish_mid_call_shm_file(void)
{
#if HAVE_SHM
    vanish_mid_call(SHM_BOTH, 1);
#else
    T_SKIP("no shared memory transport on this platform");
#endif
}

/* A session dropped after the request was read: the call is retried once on
 * a new session with the same message id and succeeds; a second drop in the
 * retry returns the error. */
static void test_retry_once_same_id(void)
{
    fx_t f;
    REQUIRE(fx_begin(&f));
    REQUIRE(fx_start(&f, "raw", NULL));
    nipc_client_t *c = client_new(&f, NULL);
    REQUIRE(c);
    REQUIRE(refresh_until_ready(c, 2000));
    uint64_t out = 0;
    unsigned long long log[8][2];

    CHECK_OK(nipc_client_increment(c, SP_DROP_ONCE_VALUE, &out, 5000));
    CHECK_EQ_U64(out, SP_DROP_ONCE_VALUE + 1);
    CHECK_EQ_U64(sp_call_log(f.ctl, log, 8), 2);
    CHECK_EQ_U64(log[0][0], SP_DROP_ONCE_VALUE);
    CHECK_EQ_U64(log[1][0], SP_DROP_ONCE_VALUE);
    CHECK_EQ_U64(log[0][1], 1);
    CHECK_EQ_U64(log[1][1], 1); /* same message id on the new session */
    nipc_client_status_t s = status_of(c);
    CHECK_EQ_U64(s.state, NIPC_CLIENT_READY);
    CHECK_EQ_U64(s.connect_count, 1);
    CHECK_EQ_U64(s.reconnect_count, 1);
    CHECK_EQ_U64(s.call_count, 1);
    CHECK_EQ_U64(s.error_count, 0);

    unsigned long long t0 = t_now_ms();
    nipc_error_t err = nipc_client_increment(c, SP_DROP_ALWAYS_VALUE, &out, 5000);
    CHECK(err != NIPC_OK && err != NIPC_ERR_TIMEOUT);
    CHECK(t_now_ms() - t0 < 2000);
    CHECK_EQ_U64(sp_call_log(f.ctl, log, 8), 4); /* tried exactly twice */
    CHECK_EQ_U64(log[2][1], 2);
    CHECK_EQ_U64(log[3][1], 2);
    s = status_of(c);
    CHECK_EQ_U64(s.state, NIPC_CLIENT_BROKEN);
    CHECK_EQ_U64(s.reconnect_count, 2);
    CHECK_EQ_U64(s.error_count, 1);
    CHECK_EQ_U64(s.last_error, err);

    CHECK_EQ_U64(t_refresh_changed(c), 1);
    CHECK_OK(nipc_client_increment(c, 30, &out, 0));
    CHECK_EQ_U64(out, 31);
    CHECK_EQ_U64(sp_call_log(f.ctl, log, 8), 5);
    CHECK_EQ_U64(log[4][1], 2); /* ids follow successful calls */
    CHECK_EQ_U64(status_of(c).reconnect_count, 3);
    nipc_client_free(c);
    fx_end(&f, 1);
}

/* A provider that still takes connections but never answers them: the call
 * deadline bounds the retry's reconnect too. */
static void test_call_deadline_bounds_retry(void)
{
    fx_t f;
    REQUIRE(fx_begin(&f));
    REQUIRE(fx_start(&f, "raw", (const char *[]){"hang=1", NULL}));
    nipc_client_t *c = client_new(&f, NULL);
    REQUIRE(c);
    REQUIRE(refresh_until_ready(c, 2000));
    uint64_t out = 0;
    unsigned long long t0 = t_now_ms();
    nipc_error_t err = nipc_client_increment(c, SP_DROP_ALWAYS_VALUE, &out, 1000);
    unsigned long long took = t_now_ms() - t0;
    /* The reconnect's handshake waits for the hung provider until the call
     * deadline, and not a moment longer. */
    CHECK_ERR(err, NIPC_ERR_TIMEOUT);
    CHECK(took >= 900 && took < t_call_bound(1000));
    CHECK(nipc_client_state(c) != NIPC_CLIENT_READY);
    nipc_client_free(c);
    fx_end(&f, 1);
}

/*
 * A restarted provider is usually up before the client notices: the retry
 * reconnects at once, with no fixed sleep first. A call whose timeout is
 * shorter than upstream's 150 ms back-off still succeeds through its
 * retry. (Tried up to three times: one run may be unlucky on a loaded
 * machine; a fixed sleep would fail every one.)
 */
static void test_retry_reconnects_at_once(void)
{
    fx_t f;
    REQUIRE(fx_begin(&f));
    REQUIRE(fx_start(&f, "server", NULL));
    nipc_client_t *c = client_new(&f, NULL);
    REQUIRE(c && refresh_until_ready(c, 3000));
    uint64_t out = 0;
    nipc_error_t err = NIPC_ERR_TIMEOUT;
    for (int round = 0; round < 3 && err != NIPC_OK; round++) {
        fx_kill(&f);
        REQUIRE(fx_start(&f, "server", NULL)); /* serving before the call starts */
        uint64_t before = status_of(c).reconnect_count;
        err = nipc_client_increment(c, 41, &out, 149);
        if (err == NIPC_OK) {
            CHECK_EQ_U64(out, 42);
            CHECK_EQ_U64(status_of(c).reconnect_count, before + 1); /* through the retry */
        } else {
            fprintf(stderr, "  round %d: %s\n", round, nipc_error_name(err));
            nipc_client_refresh(c);
        }
    }
    CHECK_OK(err);
    nipc_client_free(c);
    fx_end(&f, 1);
}

/*
 * The call deadline bounds a reconnect's SHM attach too: the retry meets a
 * provider that selects SHM and never creates the region; the call ends at
 * its own deadline, not after the 5 s attach window.
 */
static void test_call_deadline_bounds_attach(void)
{
#if HAVE_SHM
    fx_t f;
    REQUIRE(fx_begin(&f));
    /* Connection 0 is served normally (over SHM), connection 1 is the fake. */
    REQUIRE(fx_start(&f, "raw",
                     (const char *[]){"prof=3", "first=fakeshm", "fake_at=1", NULL}));
    nipc_client_config_t cfg = {.supported_profiles = SHM_BOTH,
                                .preferred_profiles = NIPC_PROFILE_SHM_HYBRID};
    nipc_client_t *c = client_new(&f, &cfg);
    REQUIRE(c && refresh_until_ready(c, 3000));
    CHECK_EQ_U64(status_of(c).selected_profile, SHM_SELECTED);
    uint64_t out = 0;
    unsigned long long t0 = t_now_ms();
    /* Dropped without an answer: the retry reconnects into the fake region. */
    nipc_error_t err = nipc_client_increment(c, SP_DROP_ONCE_VALUE, &out, 600);
    unsigned long long took = t_now_ms() - t0;
    CHECK(err != NIPC_OK || out == SP_DROP_ONCE_VALUE + 1);
    CHECK(took < t_call_bound(600));
    CHECK(took < NIPC_SHM_ATTACH_TIMEOUT_DEFAULT_MS);
    nipc_client_free(c);
    fx_end(&f, 0);
#else
    T_SKIP("no shared memory transport on this platform");
#endif
}

/* A handler slower than the call timeout: TIMEOUT near the deadline, BROKEN,
 * no retry. */
static void timeout_no_retry(uint32_t profiles)
{
    fx_t f;
    REQUIRE(fx_begin(&f));
    REQUIRE(fx_start(&f, "server", (const char *[]){"prof=3", NULL}));
    nipc_client_config_t cfg = {.supported_profiles = profiles, .call_timeout_ms = 300};
    nipc_client_t *c = client_new(&f, &cfg);
    REQUIRE(c);
    REQUIRE(refresh_until_ready(c, 2000));
    uint64_t out = 0;

    unsigned long long t0 = t_now_ms();
    CHECK_ERR(nipc_client_increment(c, SP_SLEEP_BASE + 1200, &out, 400), NIPC_ERR_TIMEOUT);
    unsigned long long took = t_now_ms() - t0;
    CHECK(took >= 350 && took < t_call_bound(400));
    nipc_client_status_t s = status_of(c);
    CHECK_EQ_U64(s.state, NIPC_CLIENT_BROKEN);
    CHECK_EQ_U64(s.last_error, NIPC_ERR_TIMEOUT);
    CHECK_EQ_U64(s.reconnect_count, 0);
    t_sleep_ms(300); /* a retry would have reached the handler by now */
    CHECK_EQ_U64(sp_calls(f.ctl), 1);

    /* Timeout 0 takes the configured default (300 ms). */
    CHECK_EQ_U64(t_refresh_changed(c), 1);
    t0 = t_now_ms();
    CHECK_ERR(nipc_client_increment(c, SP_SLEEP_BASE + 1200, &out, 0), NIPC_ERR_TIMEOUT);
    took = t_now_ms() - t0;
    CHECK(took >= 250 && took < t_call_bound(300));
    CHECK_EQ_U64(sp_calls(f.ctl), 2);

    CHECK_EQ_U64(t_refresh_changed(c), 1);
    CHECK_OK(nipc_client_increment(c, SP_SLEEP_BASE + 20, &out, 0));
    CHECK_EQ_U64(out, SP_SLEEP_BASE + 21);
    nipc_client_free(c);
    fx_end(&f, 1);
}

static void test_timeout_no_retry_uds(void)
{
    timeout_no_retry(NIPC_PROFILE_BASELINE);
}

static void test_timeout_no_retry_shm(void)
{
#if HAVE_SHM
    timeout_no_retry(SHM_BOTH);
#endif
}

/* Responses that do not match the request: BAD_RESPONSE (after the one retry). */
static void test_bad_responses(void)
{
    fx_t f;
    REQUIRE(fx_begin(&f));
    REQUIRE(fx_start(&f, "raw", NULL));
    nipc_client_t *c = client_new(&f, NULL);
    REQUIRE(c);
    REQUIRE(refresh_until_ready(c, 2000));
    uint64_t out = 0;
    CHECK_ERR(nipc_client_increment(c, SP_WRONG_CODE_VALUE, &out, 3000), NIPC_ERR_BAD_RESPONSE);
    CHECK_EQ_U64(nipc_client_state(c), NIPC_CLIENT_BROKEN);
    CHECK_EQ_U64(sp_calls(f.ctl), 2);
    CHECK_EQ_U64(t_refresh_changed(c), 1);
    CHECK_ERR(nipc_client_increment(c, SP_WRONG_KIND_VALUE, &out, 3000), NIPC_ERR_BAD_RESPONSE);
    CHECK_EQ_U64(sp_calls(f.ctl), 4);
    CHECK_EQ_U64(t_refresh_changed(c), 1);
    CHECK_OK(nipc_client_increment(c, 1, &out, 3000));
    CHECK_EQ_U64(out, 2);
    nipc_client_status_t st = status_of(c);
    CHECK_EQ_U64(st.call_count, 1);
    CHECK_EQ_U64(st.error_count, 2);
    nipc_client_free(c);
    fx_end(&f, 1);
}

/* A uid allow-list without our uid: the connection is refused and counted. */
static void test_uid_allow_list(void)
{
#ifndef _WIN32
    fx_t f;
    REQUIRE(fx_begin(&f));
    REQUIRE(fx_start(&f, "server", (const char *[]){"uid=4242424", NULL}));
    nipc_client_t *c = client_new(&f, NULL);
    REQUIRE(c);
    CHECK_EQ_U64(t_refresh_changed(c), 0);
    CHECK_EQ_U64(nipc_client_state(c), NIPC_CLIENT_DISCONNECTED);
    sp_stats_t st;
    CHECK(sp_fresh_stats(f.ctl, &st));
    CHECK_EQ_U64(st.rejected, 1);
    CHECK_EQ_U64(st.accepted, 0);
    CHECK_EQ_U64(fx_stop(&f), 0);

    char uid[32];
    snprintf(uid, sizeof uid, "uid=%u", (unsigned)getuid());
    REQUIRE(fx_start(&f, "server", (const char *[]){uid, NULL}));
    CHECK_EQ_U64(t_refresh_changed(c), 1);
    CHECK_EQ_U64(nipc_client_state(c), NIPC_CLIENT_READY);
    nipc_client_free(c);
    fx_end(&f, 1);
#else
    T_SKIP("uids are POSIX; Windows refuses allow-lists (test_security)");
#endif
}

typedef struct aborter {
    nipc_client_t *c;
    unsigned long long at;
} aborter_t;

static void aborter_main(void *arg)
{
    aborter_t *a = arg;
    t_sleep_ms(200);
    a->at = t_now_ms();
    nipc_client_abort(a->c);
}

/* abort() from another thread wakes a blocked call; sticky until cleared. */
static void abort_blocked_call(uint32_t profiles)
{
    fx_t f;
    REQUIRE(fx_begin(&f));
    REQUIRE(fx_start(&f, "server", (const char *[]){"prof=3", NULL}));
    nipc_client_config_t cfg = {.supported_profiles = profiles};
    nipc_client_t *c = client_new(&f, &cfg);
    REQUIRE(c);
    REQUIRE(refresh_until_ready(c, 2000));
    uint64_t out = 0;

    aborter_t a = {c, 0};
    bg_t bg = {0};
    REQUIRE(bg_start(&bg, aborter_main, &a));
    CHECK_ERR(nipc_client_increment(c, SP_SLEEP_BASE + 1500, &out, 10000), NIPC_ERR_ABORTED);
    unsigned long long woke = t_now_ms();
    bg_join(&bg);
    /* Baseline wakes at once, SHM within one 100 ms slice; generous slack. */
    CHECK(woke - a.at < 600);
    CHECK_EQ_U64(nipc_client_state(c), NIPC_CLIENT_BROKEN);

    /* Sticky, whatever the state: refresh connects nothing and calls fail
     * without I/O, all with ABORTED (not NOT_READY). */
    CHECK_ERR(nipc_client_refresh(c), NIPC_ERR_ABORTED);
    CHECK_EQ_U64(nipc_client_state(c), NIPC_CLIENT_BROKEN);
    CHECK_ERR(nipc_client_increment(c, 1, &out, 0), NIPC_ERR_ABORTED);
    CHECK_ERR(nipc_client_increment(c, 1, &out, 0), NIPC_ERR_ABORTED);
    CHECK_EQ_U64(sp_calls(f.ctl), 1);
    CHECK_EQ_U64(status_of(c).error_count, 3);

    nipc_client_clear_abort(c);
    if (!nipc_client_ready(c))
        nipc_client_refresh(c);
    CHECK_OK(nipc_client_increment(c, 1, &out, 0));
    CHECK_EQ_U64(out, 2);

    /* close() clears it too. */
    nipc_client_abort(c);
    CHECK_ERR(nipc_client_increment(c, 1, &out, 0), NIPC_ERR_ABORTED);
    nipc_client_close(c);
    CHECK_EQ_U64(t_refresh_changed(c), 1);
    CHECK_OK(nipc_client_increment(c, 2, &out, 0));
    CHECK_EQ_U64(out, 3);
    nipc_client_free(c);
    fx_end(&f, 1);
}

static void test_abort_uds(void)
{
    abort_blocked_call(NIPC_PROFILE_BASELINE);
}

static void test_abort_shm(void)
{
#if HAVE_SHM
    abort_blocked_call(SHM_BOTH);
#endif
}

/* ----------------------------------------------------------------- growth */

static char *pattern(uint32_t len)
{
    char *s = malloc(len + 1u);
    for (uint32_t i = 0; s && i < len; i++)
        s[i] = (char)('a' + (i * 7u + i / 26u) % 26u);
    if (s)
        s[len] = 0;
    return s;
}

static int is_reverse(nipc_str_t r, const char *s, uint32_t len)
{
    if (r.len != len || r.ptr[len] != 0)
        return 0;
    for (uint32_t i = 0; i < len; i++)
        if (r.ptr[i] != s[len - 1 - i])
            return 0;
    return 1;
}

/* A request bigger than the starting proposal grows it (server allows it). */
static void growth_request(uint32_t profiles, int exact)
{
    fx_t f;
    REQUIRE(fx_begin(&f));
    REQUIRE(fx_start(&f, "server",
                     (const char *[]){"method=rev", "req=65536", "prof=3",
                                      exact ? "exact=1" : NULL, NULL}));
    nipc_client_config_t cfg = {.supported_profiles = profiles, .exact_profiles = exact};
    nipc_client_t *c = client_new(&f, &cfg);
    REQUIRE(c);
    REQUIRE(refresh_until_ready(c, 2000));
    CHECK_EQ_U64(status_of(c).max_request_payload, 1024);
    char *s = pattern(20000);
    REQUIRE(s);
    nipc_str_t r;

    CHECK_OK(nipc_client_string_reverse(c, s, 100, &r, 0));
    CHECK(is_reverse(r, s, 100));
    CHECK_OK(nipc_client_string_reverse(c, s, 5000, &r, 0));
    CHECK(is_reverse(r, s, 5000));
    nipc_client_status_t st = status_of(c);
    CHECK_EQ_U64(st.state, NIPC_CLIENT_READY);
    CHECK_EQ_U64(st.max_request_payload, 8192);
    CHECK_EQ_U64(st.reconnect_count, 1);
    CHECK_EQ_U64(st.call_count, 2);
    CHECK_EQ_U64(st.error_count, 0);
    CHECK_EQ_U64(sp_calls(f.ctl), 2); /* refused locally first: the server saw it once */

    CHECK_OK(nipc_client_string_reverse(c, s, 6000, &r, 0)); /* fits now: no growth */
    CHECK(is_reverse(r, s, 6000));
    CHECK_EQ_U64(status_of(c).reconnect_count, 1);
    CHECK_OK(nipc_client_string_reverse(c, s, 20000, &r, 0));
    CHECK(is_reverse(r, s, 20000));
    st = status_of(c);
    CHECK_EQ_U64(st.max_request_payload, 32768);
    CHECK_EQ_U64(st.reconnect_count, 2);
    CHECK_EQ_U64(st.selected_profile, !(profiles & NIPC_PROFILE_SHM_HYBRID) ? NIPC_PROFILE_BASELINE
                                      : exact ? NIPC_PROFILE_SHM_HYBRID
                                              : SHM_SELECTED);
    free(s);
    CHECK(wait_active(f.ctl, 1, 2000));
    nipc_client_free(c);
    /* The session ends once the client is gone (over SHM: the socket that
     * stays beside the region reports it). */
    CHECK(wait_active(f.ctl, 0, 2000));
    fx_end(&f, 1);
}

static void test_growth_request_uds(void)
{
    growth_request(NIPC_PROFILE_BASELINE, 0);
}

static void test_growth_request_shm(void)
{
#if HAVE_SHM
    growth_request(SHM_BOTH, 0);
#else
    T_SKIP("no shared memory transport on this platform");
#endif
}

static void test_growth_request_shm_file(void)
{
#if HAVE_SHM
    growth_request(SHM_BOTH, 1);
#else
    T_SKIP("no shared memory transport on this platform");
#endif
}

/* Growth stops at the client's ceiling and at the server's limit; either
 * way the call fails with OVERFLOW and the client stays usable. */
static void test_growth_limits(void)
{
    fx_t f;
    REQUIRE(fx_begin(&f));
    REQUIRE(fx_start(&f, "server", (const char *[]){"method=rev", "req=4096", NULL}));
    char *s = pattern(9000);
    REQUIRE(s);
    nipc_str_t r;

    /* Client ceiling 4096: refused before any I/O. */
    nipc_client_config_t cfg = {.max_payload_ceiling = 4096};
    nipc_client_t *c = client_new(&f, &cfg);
    REQUIRE(c);
    REQUIRE(refresh_until_ready(c, 2000));
    CHECK_ERR(nipc_client_string_reverse(c, s, 5000, &r, 0), NIPC_ERR_OVERFLOW);
    CHECK_EQ_U64(sp_calls(f.ctl), 0);
    nipc_client_status_t st = status_of(c);
    CHECK_EQ_U64(st.error_count, 1);
    CHECK_EQ_U64(st.last_error, NIPC_ERR_OVERFLOW);
    CHECK_EQ_U64(st.state, NIPC_CLIENT_READY);
    CHECK_OK(nipc_client_string_reverse(c, s, 3000, &r, 0)); /* 3009 → 4096: allowed */
    CHECK(is_reverse(r, s, 3000));
    CHECK_EQ_U64(status_of(c).max_request_payload, 4096);
    nipc_client_free(c);

    /* Default ceiling, but the server refuses the grown proposal (8192 > 4096). */
    c = client_new(&f, NULL);
    REQUIRE(c);
    REQUIRE(refresh_until_ready(c, 2000));
    unsigned long long t0 = t_now_ms();
    CHECK_ERR(nipc_client_string_reverse(c, s, 5000, &r, 0), NIPC_ERR_OVERFLOW);
    CHECK(t_now_ms() - t0 < 2000);
    CHECK_EQ_U64(sp_calls(f.ctl), 1); /* the 3000-byte call only */
    /* The failed growth does not poison the client: small calls still work. */
    nipc_client_refresh(c);
    CHECK_EQ_U64(nipc_client_state(c), NIPC_CLIENT_READY);
    CHECK_OK(nipc_client_string_reverse(c, s, 500, &r, 0));
    CHECK(is_reverse(r, s, 500));
    CHECK_EQ_U64(status_of(c).max_request_payload, 1024);
    free(s);
    nipc_client_free(c);
    fx_end(&f, 1);
}

/* A snapshot above the client's response hint but within the server's limit. */
static void snapshot_big(uint32_t profiles)
{
    fx_t f;
    REQUIRE(fx_begin(&f));
    REQUIRE(fx_start(&f, "server", (const char *[]){"method=snap", "items=1000", "seed=5", "gen=9",
                                                    "resp=1048576", "prof=3", NULL}));
    nipc_client_config_t cfg = {.supported_profiles = profiles,
                                .max_response_payload_bytes = 1024};
    nipc_client_t *c = client_new(&f, &cfg);
    REQUIRE(c);
    REQUIRE(refresh_until_ready(c, 2000));
    nipc_cgroups_view_t v;
    CHECK_OK(nipc_client_cgroups_snapshot(c, &v, 0));
    CHECK_EQ_U64(v.item_count, 1000);
    CHECK_EQ_U64(v.generation, 9);
    CHECK(v.len > 65536);
    nipc_corpus_item_t want;
    int same = 1;
    for (uint32_t i = 0; i < v.item_count; i += 37) {
        nipc_cgroup_item_t it;
        nipc_corpus_item(5, i, &want);
        same &= nipc_cgroups_resp_item(&v, i, &it) == NIPC_OK && it.hash == want.hash &&
                it.name.len == want.name_len && memcmp(it.name.ptr, want.name, want.name_len) == 0 &&
                it.path.len == want.path_len && memcmp(it.path.ptr, want.path, want.path_len) == 0;
    }
    CHECK(same);
    nipc_client_status_t st = status_of(c);
    CHECK_EQ_U64(st.max_response_payload, 1048576);
    CHECK_EQ_U64(st.reconnect_count, 0);
    CHECK_EQ_U64(st.call_count, 1);
    nipc_client_free(c);
    fx_end(&f, 1);
}

static void test_snapshot_big_uds(void)
{
    snapshot_big(NIPC_PROFILE_BASELINE);
}

static void test_snapshot_big_shm(void)
{
#if HAVE_SHM
    snapshot_big(SHM_BOTH);
#endif
}

/* The server's response limit is too small for the handler: OVERFLOW after
 * a bounded number of growth reconnects, no endless loop. */
static void test_overflow_server_response_too_small(void)
{
    fx_t f;
    REQUIRE(fx_begin(&f));
    REQUIRE(fx_start(&f, "server",
                     (const char *[]){"method=snap", "items=200", "resp=4096", NULL}));
    nipc_client_config_t cfg = {.max_response_payload_bytes = 1024};
    nipc_client_t *c = client_new(&f, &cfg);
    REQUIRE(c);
    REQUIRE(refresh_until_ready(c, 2000));
    nipc_cgroups_view_t v;
    unsigned long long t0 = t_now_ms();
    CHECK_ERR(nipc_client_cgroups_snapshot(c, &v, 0), NIPC_ERR_OVERFLOW);
    CHECK(t_now_ms() - t0 < 3000);
    int calls = sp_calls(f.ctl);
    CHECK(calls >= 1 && calls <= 9);
    nipc_client_status_t st = status_of(c);
    CHECK(st.reconnect_count >= 1 && st.reconnect_count <= 8);
    CHECK_EQ_U64(st.error_count, 1);
    CHECK(st.state != NIPC_CLIENT_READY || st.max_response_payload == 4096);
    sp_stats_t ss;
    CHECK(sp_fresh_stats(f.ctl, &ss));
    CHECK_EQ_U64(ss.errors, (unsigned long long)calls); /* each one LIMIT_EXCEEDED */

    /* Same answer every time; the client recovers with refresh(). */
    nipc_client_refresh(c);
    CHECK(nipc_client_ready(c));
    CHECK_ERR(nipc_client_cgroups_snapshot(c, &v, 0), NIPC_ERR_OVERFLOW);
    nipc_client_free(c);
    fx_end(&f, 1);
}

/* --------------------------------------------------- SHM attach fallback */

/* The server selects SHM but the client cannot attach: SHM is dropped for
 * the client's lifetime (until close()) and the baseline is used. */
static void test_shm_attach_missing_fallback(void)
{
#if HAVE_SHM
    fx_t f;
    REQUIRE(fx_begin(&f));
    REQUIRE(fx_start(&f, "raw", (const char *[]){"first=fakeshm", "prof=3", NULL}));
    nipc_client_config_t cfg = {.supported_profiles = SHM_BOTH, .shm_attach_timeout_ms = 300};
    nipc_client_t *c = client_new(&f, &cfg);
    REQUIRE(c);
    unsigned long long t0 = t_now_ms();
    CHECK_EQ_U64(t_refresh_changed(c), 1);
    unsigned long long took = t_now_ms() - t0;
    CHECK(took >= 250 && took < t_refresh_bound(0, 300)); /* the attach window, then the baseline */
    nipc_client_status_t st = status_of(c);
    CHECK_EQ_U64(st.state, NIPC_CLIENT_READY);
    CHECK_EQ_U64(st.selected_profile, NIPC_PROFILE_BASELINE);
    CHECK_EQ_U64(st.connect_count, 1);
    uint64_t out = 0;
    CHECK_OK(nipc_client_increment(c, 5, &out, 0));
    CHECK_EQ_U64(out, 6);

    /* A reconnect (retry after a dropped session) stays on the baseline,
     * although the server now offers real SHM. */
    CHECK_OK(nipc_client_increment(c, SP_DROP_ONCE_VALUE, &out, 5000));
    st = status_of(c);
    CHECK_EQ_U64(st.reconnect_count, 1);
    CHECK_EQ_U64(st.selected_profile, NIPC_PROFILE_BASELINE);
    unsigned long long log[8][2];
    CHECK_EQ_U64(sp_call_log(f.ctl, log, 8), 4);
    CHECK_EQ_U64(log[0][1], SP_FAKE_SHM_SESSION);

    /* close() restores the configured profiles: SHM again. */
    nipc_client_close(c);
    CHECK_EQ_U64(t_refresh_changed(c), 1);
    CHECK_EQ_U64(status_of(c).selected_profile, SHM_SELECTED);
    CHECK_OK(nipc_client_increment(c, 7, &out, 0));
    CHECK_EQ_U64(out, 8);
    nipc_client_free(c);
    fx_end(&f, 1);
#endif
}

/* An SHM-only client that cannot attach has no profile left: it stays
 * DISCONNECTED (never falls back to a baseline it was not configured for)
 * until close() restores its configuration. */
static void test_shm_only_client_attach_failure(void)
{
#if HAVE_SHM
    fx_t f;
    REQUIRE(fx_begin(&f));
    REQUIRE(fx_start(&f, "raw", (const char *[]){"first=fakeshm", "prof=3", NULL}));
    nipc_client_config_t cfg = {.supported_profiles = NIPC_PROFILE_SHM_HYBRID,
                                .shm_attach_timeout_ms = 200};
    nipc_client_t *c = client_new(&f, &cfg);
    REQUIRE(c);
    CHECK_EQ_U64(t_refresh_changed(c), 0);
    nipc_client_status_t st = status_of(c);
    CHECK_EQ_U64(st.state, NIPC_CLIENT_DISCONNECTED);
    CHECK_EQ_U64(st.last_error, NIPC_ERR_SHM_NOT_READY);
    CHECK_EQ_U64(t_refresh_changed(c), 0);
    st = status_of(c);
    CHECK_EQ_U64(st.state, NIPC_CLIENT_DISCONNECTED);
    CHECK_EQ_U64(st.selected_profile, 0);
    uint64_t out = 0;
    CHECK_ERR(nipc_client_increment(c, 1, &out, 0), NIPC_ERR_NOT_READY);

    nipc_client_close(c);
    CHECK_EQ_U64(t_refresh_changed(c), 1);
    CHECK_EQ_U64(status_of(c).selected_profile, SHM_SELECTED);
    CHECK_OK(nipc_client_increment(c, 1, &out, 0));
    CHECK_EQ_U64(out, 2);
    nipc_client_free(c);
    fx_end(&f, 1);
#endif
}

/* A region that exists but is not usable fails at once (no attach window). */
static void test_shm_attach_bad_region_fallback(void)
{
#ifdef __linux__
    fx_t f;
    REQUIRE(fx_begin(&f));
    REQUIRE(fx_start(&f, "raw", (const char *[]){"first=badshm", NULL}));
    nipc_client_config_t cfg = {.supported_profiles = SHM_BOTH};
    nipc_client_t *c = client_new(&f, &cfg);
    REQUIRE(c);
    unsigned long long t0 = t_now_ms();
    CHECK_EQ_U64(t_refresh_changed(c), 1);
    CHECK(t_now_ms() - t0 < 2000);
    CHECK_EQ_U64(nipc_client_state(c), NIPC_CLIENT_READY);
    CHECK_EQ_U64(status_of(c).selected_profile, NIPC_PROFILE_BASELINE);
    uint64_t out = 0;
    CHECK_OK(nipc_client_increment(c, 11, &out, 0));
    CHECK_EQ_U64(out, 12);
    nipc_client_free(c);
    fx_end(&f, 1);
#else
    T_SKIP("a file region to corrupt exists on Linux only");
#endif
}

/* ---------------------------------------------------- malformed requests */

/* A well-behaved client that must keep being served throughout. */
static void keeper_increment(nipc_client_t *k, uint64_t v)
{
    uint64_t out = 0;
    CHECK_OK(nipc_client_increment(k, v, &out, 2000));
    CHECK_EQ_U64(out, v + 1);
}

static void test_malformed_increment(void)
{
    fx_t f;
    REQUIRE(fx_begin(&f));
    REQUIRE(fx_start(&f, "server", NULL));
    nipc_client_t *k = client_new(&f, NULL);
    REQUIRE(k);
    REQUIRE(refresh_until_ready(k, 2000));
    raw_t r;
    uint8_t p[4096] = {0};
    nipc_header_t h;
    int errors = 0;

    /* Payload above the agreed request limit: LIMIT_EXCEEDED, then close. */
    REQUIRE(raw_connect(&f, &r, 1, 1024) == NIPC_OK);
    CHECK_EQ_U64(r.ack.agreed_max_request_payload_bytes, 1024);
    CHECK_OK(raw_request(&r, NIPC_METHOD_INCREMENT, 0, 1, 1, p, 2000));
    EXPECT_STATUS(&r, NIPC_METHOD_INCREMENT, 1, NIPC_STATUS_LIMIT_EXCEEDED);
    EXPECT_CLOSED(&r);
    raw_close(&r);
    errors++;
    keeper_increment(k, 1);

    /* item_count above the agreed batch limit (1): LIMIT_EXCEEDED, close. */
    REQUIRE(raw_connect(&f, &r, 1, 1024) == NIPC_OK);
    nipc_batch_builder_t bb;
    nipc_batch_builder_init(&bb, p, sizeof p, 3);
    for (int i = 0; i < 3; i++) {
        uint8_t item[8];
        put_u64(item, (uint64_t)i);
        nipc_batch_builder_add(&bb, item, 8);
    }
    size_t blen = 0;
    CHECK_OK(nipc_batch_builder_finish(&bb, &blen));
    CHECK_OK(raw_request(&r, NIPC_METHOD_INCREMENT, NIPC_FLAG_BATCH, 3, 7, p, blen));
    EXPECT_STATUS(&r, NIPC_METHOD_INCREMENT, 7, NIPC_STATUS_LIMIT_EXCEEDED);
    EXPECT_CLOSED(&r);
    raw_close(&r);
    errors++;

    /* Wrong method codes: UNSUPPORTED, and the session goes on. */
    REQUIRE(raw_connect(&f, &r, 1, 1024) == NIPC_OK);
    put_u64(p, 41);
    CHECK_OK(raw_request(&r, NIPC_METHOD_STRING_REVERSE, 0, 1, 1, p, 8));
    EXPECT_STATUS(&r, NIPC_METHOD_STRING_REVERSE, 1, NIPC_STATUS_UNSUPPORTED);
    CHECK_OK(raw_request(&r, 99, 0, 1, 2, p, 8));
    EXPECT_STATUS(&r, 99, 2, NIPC_STATUS_UNSUPPORTED);
    errors += 2;
    CHECK_OK(raw_request(&r, NIPC_METHOD_INCREMENT, 0, 1, 3, p, 8));
    CHECK_OK(raw_response(&r, &h, 3000));
    CHECK_EQ_U64(h.kind, NIPC_KIND_RESPONSE);
    CHECK_EQ_U64(h.transport_status, NIPC_STATUS_OK);
    CHECK_EQ_U64(h.message_id, 3);
    CHECK_EQ_U64(h.flags, 0);
    CHECK_EQ_U64(h.item_count, 1);
    uint64_t v = 0;
    CHECK_OK(nipc_increment_decode(raw_rx + NIPC_HEADER_SIZE, h.payload_len, &v));
    CHECK_EQ_U64(v, 42);

    /* Truncated INCREMENT on the same session: BAD_ENVELOPE, then close. */
    CHECK_OK(raw_request(&r, NIPC_METHOD_INCREMENT, 0, 1, 4, p, 4));
    EXPECT_STATUS(&r, NIPC_METHOD_INCREMENT, 4, NIPC_STATUS_BAD_ENVELOPE);
    EXPECT_CLOSED(&r);
    raw_close(&r);
    errors++;
    keeper_increment(k, 2);

    /* Handler failure: INTERNAL_ERROR, then close. */
    REQUIRE(raw_connect(&f, &r, 1, 1024) == NIPC_OK);
    put_u64(p, SP_FAIL_VALUE);
    CHECK_OK(raw_request(&r, NIPC_METHOD_INCREMENT, 0, 1, 5, p, 8));
    EXPECT_STATUS(&r, NIPC_METHOD_INCREMENT, 5, NIPC_STATUS_INTERNAL_ERROR);
    EXPECT_CLOSED(&r);
    raw_close(&r);
    errors++;

    /* Not a request: silent close. */
    uint16_t kinds[2] = {NIPC_KIND_RESPONSE, NIPC_KIND_CONTROL};
    for (int i = 0; i < 2; i++) {
        REQUIRE(raw_connect(&f, &r, 1, 1024) == NIPC_OK);
        put_u64(p, 1);
        h = nipc_header_make(kinds[i], NIPC_METHOD_INCREMENT, 0, 0, 8, 1, 6);
        CHECK_OK(raw_packet(&r, &h, p, 8));
        EXPECT_CLOSED(&r);
        raw_close(&r);
    }

    /* Framing: bad magic, a header that claims more than the packet carries
     * followed by a bad continuation: silent close. */
    REQUIRE(raw_connect(&f, &r, 1, 1024) == NIPC_OK);
    h = nipc_header_make(NIPC_KIND_REQUEST, NIPC_METHOD_INCREMENT, 0, 0, 8, 1, 8);
    h.magic = 0x12345678;
    CHECK_OK(raw_packet(&r, &h, p, 8));
    EXPECT_CLOSED(&r);
    raw_close(&r);
    REQUIRE(raw_connect(&f, &r, 1, 1024) == NIPC_OK);
    h = nipc_header_make(NIPC_KIND_REQUEST, NIPC_METHOD_INCREMENT, 0, 0, 800, 1, 9);
    CHECK_OK(raw_packet(&r, &h, p, 100));
    memset(p, 0xEE, 64);
    CHECK_OK(nipc__conn_send(r.conn, p, 64, NULL, 0, nipc__now_ms() + 1000, NULL));
    EXPECT_CLOSED(&r);
    raw_close(&r);
    keeper_increment(k, 3);

    sp_stats_t st;
    CHECK(sp_fresh_stats(f.ctl, &st));
    CHECK_EQ_U64(st.errors, (unsigned long long)errors);
    CHECK_EQ_U64(st.requests, 4); /* three keeper calls and one raw */
    nipc_client_free(k);
    fx_end(&f, 1);
}

/* Batches on a batch-capable endpoint: echo rules and all-or-nothing items. */
static void test_malformed_batch(void)
{
    fx_t f;
    REQUIRE(fx_begin(&f));
    REQUIRE(fx_start(&f, "server", (const char *[]){"batch=8", NULL}));
    nipc_client_t *k = client_new(&f, NULL);
    REQUIRE(k);
    REQUIRE(refresh_until_ready(k, 2000));
    raw_t r;
    uint8_t p[1024];
    nipc_header_t h;
    nipc_batch_builder_t bb;
    size_t blen = 0;
    uint64_t in[3] = {10, 20, 30};

    /* A good batch: RESPONSE with BATCH and item_count 3, item i answers i. */
    REQUIRE(raw_connect(&f, &r, 4, 1024) == NIPC_OK);
    nipc_batch_builder_init(&bb, p, sizeof p, 3);
    for (int i = 0; i < 3; i++) {
        uint8_t item[8];
        put_u64(item, in[i]);
        nipc_batch_builder_add(&bb, item, 8);
    }
    CHECK_OK(nipc_batch_builder_finish(&bb, &blen));
    CHECK_OK(raw_request(&r, NIPC_METHOD_INCREMENT, NIPC_FLAG_BATCH, 3, 1, p, blen));
    CHECK_OK(raw_response(&r, &h, 3000));
    CHECK_EQ_U64(h.transport_status, NIPC_STATUS_OK);
    CHECK_EQ_U64(h.flags, NIPC_FLAG_BATCH);
    CHECK_EQ_U64(h.item_count, 3);
    for (uint32_t i = 0; i < 3; i++) {
        const uint8_t *item;
        uint32_t ilen;
        uint64_t v = 0;
        CHECK_OK(nipc_batch_item(raw_rx + NIPC_HEADER_SIZE, h.payload_len, 3, i, &item, &ilen));
        CHECK_OK(nipc_increment_decode(item, ilen, &v));
        CHECK_EQ_U64(v, in[i] + 1);
    }

    /* One failing item fails the whole message: INTERNAL_ERROR, flags 0,
     * item_count 1, then close. */
    nipc_batch_builder_init(&bb, p, sizeof p, 3);
    for (int i = 0; i < 3; i++) {
        uint8_t item[8];
        put_u64(item, i == 1 ? SP_FAIL_VALUE : in[i]);
        nipc_batch_builder_add(&bb, item, 8);
    }
    CHECK_OK(nipc_batch_builder_finish(&bb, &blen));
    CHECK_OK(raw_request(&r, NIPC_METHOD_INCREMENT, NIPC_FLAG_BATCH, 3, 2, p, blen));
    EXPECT_STATUS(&r, NIPC_METHOD_INCREMENT, 2, NIPC_STATUS_INTERNAL_ERROR);
    EXPECT_CLOSED(&r);
    raw_close(&r);

    /* A truncated item (valid directory): BAD_ENVELOPE, close. */
    REQUIRE(raw_connect(&f, &r, 4, 1024) == NIPC_OK);
    nipc_batch_builder_init(&bb, p, sizeof p, 3);
    for (int i = 0; i < 3; i++) {
        uint8_t item[8];
        put_u64(item, in[i]);
        nipc_batch_builder_add(&bb, item, i == 2 ? 4 : 8);
    }
    CHECK_OK(nipc_batch_builder_finish(&bb, &blen));
    CHECK_OK(raw_request(&r, NIPC_METHOD_INCREMENT, NIPC_FLAG_BATCH, 3, 3, p, blen));
    EXPECT_STATUS(&r, NIPC_METHOD_INCREMENT, 3, NIPC_STATUS_BAD_ENVELOPE);
    EXPECT_CLOSED(&r);
    raw_close(&r);

    /* A broken directory (misaligned offset) is a framing error: silent close. */
    REQUIRE(raw_connect(&f, &r, 4, 1024) == NIPC_OK);
    memset(p, 0, 48);
    put_u32(p + 0, 0);
    put_u32(p + 4, 8);
    put_u32(p + 8, 3); /* not a multiple of 8 */
    put_u32(p + 12, 8);
    CHECK_OK(raw_request(&r, NIPC_METHOD_INCREMENT, NIPC_FLAG_BATCH, 2, 4, p, 32));
    EXPECT_CLOSED(&r);
    raw_close(&r);

    /* The server's own batch cap (8) holds even when a client proposes more. */
    REQUIRE(raw_connect(&f, &r, 16, 1024) == NIPC_OK);
    nipc_batch_builder_init(&bb, p, sizeof p, 9);
    for (int i = 0; i < 9; i++) {
        uint8_t item[8];
        put_u64(item, (uint64_t)i);
        nipc_batch_builder_add(&bb, item, 8);
    }
    CHECK_OK(nipc_batch_builder_finish(&bb, &blen));
    CHECK_OK(raw_request(&r, NIPC_METHOD_INCREMENT, NIPC_FLAG_BATCH, 9, 5, p, blen));
    EXPECT_STATUS(&r, NIPC_METHOD_INCREMENT, 5, NIPC_STATUS_LIMIT_EXCEEDED);
    EXPECT_CLOSED(&r);
    raw_close(&r);

    keeper_increment(k, 9);
    nipc_client_free(k);
    fx_end(&f, 1);
}

static void test_malformed_string_reverse(void)
{
    fx_t f;
    REQUIRE(fx_begin(&f));
    REQUIRE(fx_start(&f, "server", (const char *[]){"method=rev", NULL}));
    nipc_client_t *k = client_new(&f, NULL);
    REQUIRE(k);
    REQUIRE(refresh_until_ready(k, 2000));
    raw_t r;
    uint8_t p[64];
    size_t n = 0;
    nipc_str_t out;

    struct {
        const char *what;
        const char *str;
        int mutate; /* 1: offset 12, 2: no NUL, 3: length beyond payload */
        uint16_t status;
    } rows[] = {
        {"bad offset", "abc", 1, NIPC_STATUS_BAD_ENVELOPE},
        {"missing NUL", "abc", 2, NIPC_STATUS_BAD_ENVELOPE},
        {"out of bounds", "abc", 3, NIPC_STATUS_BAD_ENVELOPE},
        {"handler overflow", "#abc", 0, NIPC_STATUS_LIMIT_EXCEEDED},
        {"handler failure", "!abc", 0, NIPC_STATUS_INTERNAL_ERROR},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        REQUIRE(raw_connect(&f, &r, 1, 1024) == NIPC_OK);
        uint32_t len = (uint32_t)strlen(rows[i].str);
        CHECK_OK(nipc_string_reverse_encode(rows[i].str, len, p, sizeof p, &n));
        if (rows[i].mutate == 1)
            put_u32(p, 12);
        if (rows[i].mutate == 2)
            p[8 + len] = 'x';
        if (rows[i].mutate == 3)
            put_u32(p + 4, 100);
        CHECK_OK(raw_request(&r, NIPC_METHOD_STRING_REVERSE, 0, 1, 10 + i, p, n));
        EXPECT_STATUS(&r, NIPC_METHOD_STRING_REVERSE, 10 + i, rows[i].status);
        EXPECT_CLOSED(&r);
        raw_close(&r);
        CHECK_OK(nipc_client_string_reverse(k, "hello", 5, &out, 2000));
        CHECK(out.len == 5 && memcmp(out.ptr, "olleh", 5) == 0);
    }

    /* Through the typed client: the same failures are errors, retried once. */
    CHECK_ERR(nipc_client_string_reverse(k, "!x", 2, &out, 2000), NIPC_ERR_REMOTE_INTERNAL);
    CHECK_EQ_U64(nipc_client_state(k), NIPC_CLIENT_BROKEN);
    nipc_client_refresh(k);
    CHECK_ERR(nipc_client_string_reverse(k, "#x", 2, &out, 2000), NIPC_ERR_OVERFLOW);
    nipc_client_refresh(k);
    /* The wrong method for this endpoint: UNSUPPORTED, the handler never runs. */
    int before = sp_calls(f.ctl);
    nipc_client_t *wrong = client_new(&f, NULL);
    REQUIRE(wrong);
    CHECK_EQ_U64(t_refresh_changed(wrong), 1);
    uint64_t v = 0;
    CHECK_ERR(nipc_client_increment(wrong, 1, &v, 2000), NIPC_ERR_UNSUPPORTED);
    CHECK_EQ_U64(sp_calls(f.ctl), before);
    nipc_client_free(wrong);
    CHECK_OK(nipc_client_string_reverse(k, "", 0, &out, 2000));
    CHECK(out.len == 0 && out.ptr[0] == 0);
    nipc_client_free(k);
    fx_end(&f, 1);
}

static void test_malformed_snapshot(void)
{
    fx_t f;
    REQUIRE(fx_begin(&f));
    REQUIRE(fx_start(&f, "server", (const char *[]){"method=snap", "items=3", NULL}));
    nipc_client_t *k = client_new(&f, NULL);
    REQUIRE(k);
    REQUIRE(refresh_until_ready(k, 2000));
    raw_t r;
    uint8_t p[64] = {0};
    size_t n = 0;
    nipc_header_t h;
    nipc_cgroups_view_t v;

    /* Bad layout version: BAD_ENVELOPE, close. */
    REQUIRE(raw_connect(&f, &r, 1, 1024) == NIPC_OK);
    CHECK_OK(nipc_cgroups_req_encode(p, sizeof p, &n));
    p[0] = 2;
    CHECK_OK(raw_request(&r, NIPC_METHOD_CGROUPS_SNAPSHOT, 0, 1, 1, p, n));
    EXPECT_STATUS(&r, NIPC_METHOD_CGROUPS_SNAPSHOT, 1, NIPC_STATUS_BAD_ENVELOPE);
    EXPECT_CLOSED(&r);
    raw_close(&r);

    /* Truncated request (2 bytes): BAD_ENVELOPE, close. */
    REQUIRE(raw_connect(&f, &r, 1, 1024) == NIPC_OK);
    CHECK_OK(nipc_cgroups_req_encode(p, sizeof p, &n));
    CHECK_OK(raw_request(&r, NIPC_METHOD_CGROUPS_SNAPSHOT, 0, 1, 2, p, 2));
    EXPECT_STATUS(&r, NIPC_METHOD_CGROUPS_SNAPSHOT, 2, NIPC_STATUS_BAD_ENVELOPE);
    EXPECT_CLOSED(&r);
    raw_close(&r);

    /* BATCH on a snapshot endpoint (not batch-aware): BAD_ENVELOPE, close. */
    REQUIRE(raw_connect(&f, &r, 1, 1024) == NIPC_OK);
    CHECK_OK(nipc_cgroups_req_encode(p, sizeof p, &n));
    CHECK_OK(raw_request(&r, NIPC_METHOD_CGROUPS_SNAPSHOT, NIPC_FLAG_BATCH, 1, 3, p, n));
    EXPECT_STATUS(&r, NIPC_METHOD_CGROUPS_SNAPSHOT, 3, NIPC_STATUS_BAD_ENVELOPE);
    EXPECT_CLOSED(&r);
    raw_close(&r);

    /* A good one on a raw session: OK, flags 0, item_count 1. */
    REQUIRE(raw_connect(&f, &r, 1, 1024) == NIPC_OK);
    CHECK_OK(nipc_cgroups_req_encode(p, sizeof p, &n));
    CHECK_OK(raw_request(&r, NIPC_METHOD_CGROUPS_SNAPSHOT, 0, 1, 4, p, n));
    CHECK_OK(raw_response(&r, &h, 3000));
    CHECK_EQ_U64(h.transport_status, NIPC_STATUS_OK);
    CHECK_EQ_U64(h.flags, 0);
    CHECK_EQ_U64(h.item_count, 1);
    CHECK_OK(nipc_cgroups_resp_decode(raw_rx + NIPC_HEADER_SIZE, h.payload_len, &v));
    CHECK_EQ_U64(v.item_count, 3);
    raw_close(&r);

    CHECK_OK(nipc_client_cgroups_snapshot(k, &v, 2000));
    CHECK_EQ_U64(v.item_count, 3);
    sp_stats_t st;
    CHECK(sp_fresh_stats(f.ctl, &st));
    CHECK_EQ_U64(st.errors, 3);
    CHECK_EQ_U64(st.requests, 2);
    nipc_client_free(k);
    fx_end(&f, 1);
}

/* ------------------------------------------------------------ batch calls */

static void test_increment_batch_calls(void)
{
    fx_t f;
    REQUIRE(fx_begin(&f));
    REQUIRE(fx_start(&f, "server", (const char *[]){"batch=8", NULL}));
    nipc_client_config_t cfg = {.max_request_batch_items = 8};
    nipc_client_t *c = client_new(&f, &cfg);
    REQUIRE(c);
    REQUIRE(refresh_until_ready(c, 2000));
    uint64_t in[9] = {10, 20, 30, 40, 50, 60, 70, 80, 90}, out[9] = {0};

    CHECK_OK(nipc_client_increment_batch(c, in, 0, out, 0)); /* no I/O */
    CHECK_EQ_U64(sp_calls(f.ctl), 0);
    CHECK_OK(nipc_client_increment_batch(c, in, 1, out, 0));
    CHECK_EQ_U64(out[0], 11);
    CHECK_OK(nipc_client_increment_batch(c, in, 8, out, 0));
    int all = 1;
    for (int i = 0; i < 8; i++)
        all &= out[i] == in[i] + 1;
    CHECK(all);
    CHECK_EQ_U64(sp_calls(f.ctl), 9);
    CHECK_ERR(nipc_client_increment_batch(c, in, 9, out, 0), NIPC_ERR_LIMIT_EXCEEDED);
    CHECK_EQ_U64(sp_calls(f.ctl), 9);

    in[2] = SP_FAIL_VALUE;
    CHECK_ERR(nipc_client_increment_batch(c, in, 4, out, 0), NIPC_ERR_REMOTE_INTERNAL);
    CHECK_EQ_U64(nipc_client_state(c), NIPC_CLIENT_BROKEN);
    nipc_client_refresh(c);
    in[2] = 30;
    CHECK_OK(nipc_client_increment_batch(c, in, 4, out, 0));
    CHECK_EQ_U64(out[3], 41);
    CHECK_EQ_U64(status_of(c).call_count, 3);
    nipc_client_free(c);
    fx_end(&f, 1);
}

/* --------------------------------------------------------- graceful stop */

static atomic_int gs_entered;

static nipc_error_t gs_handler(void *ctx, uint64_t v, uint64_t *out)
{
    (void)ctx;
    atomic_fetch_add(&gs_entered, 1);
    if (v >= SP_SLEEP_BASE)
        nipc__sleep_ms((uint32_t)(v - SP_SLEEP_BASE));
    *out = v + 1;
    return NIPC_OK;
}

typedef struct gs_call {
    const char *run;
    uint32_t profiles;
    uint64_t value;
    uint32_t timeout_ms;
    nipc_error_t err;
    uint64_t out;
} gs_call_t;

static void gs_call_main(void *arg)
{
    gs_call_t *g = arg;
    nipc_client_config_t cfg = {.supported_profiles = g->profiles};
    nipc_client_t *c = NULL;
    g->err = nipc_client_create(g->run, SP_SERVICE, &cfg, &c);
    if (g->err != NIPC_OK)
        return;
    nipc_client_refresh(c);
    g->err = nipc_client_increment(c, g->value, &g->out, g->timeout_ms);
    nipc_client_free(c);
}

static int wait_entered(int n, int timeout_ms)
{
    unsigned long long end = t_now_ms() + (unsigned long long)timeout_ms;
    while (atomic_load(&gs_entered) < n) {
        if (t_now_ms() > end)
            return 0;
        t_sleep_ms(2);
    }
    return 1;
}

/* join() lets an in-flight request finish within the bound and returns 1;
 * destroy() leaves the run dir empty. */
static void graceful_join_in_flight(uint32_t profiles)
{
    fx_t f;
    REQUIRE(fx_begin(&f));
    nipc_server_config_t scfg = {.supported_profiles = SHM_BOTH & (HAVE_SHM ? 3u : 1u)};
    nipc_server_t *s = NULL;
    REQUIRE(nipc_server_create_increment(f.run, SP_SERVICE, &scfg, gs_handler, NULL, &s) ==
            NIPC_OK);
    CHECK_ERR(nipc_server_start(s), NIPC_OK);
    CHECK_ERR(nipc_server_start(s), NIPC_ERR_INVALID_ARGUMENT);
    atomic_store(&gs_entered, 0);
    gs_call_t g = {f.run, profiles, SP_SLEEP_BASE + 400, 5000, NIPC_ERR_IO, 0};
    bg_t bg = {0};
    REQUIRE(bg_start(&bg, gs_call_main, &g));
    CHECK(wait_entered(1, 3000));
#ifndef _WIN32
    CHECK(t_dir_entries(f.run) >= 1); /* the socket (and the SHM region) */
#endif

    unsigned long long t0 = t_now_ms();
    CHECK_OK(nipc_server_join(s, 3000));
    unsigned long long took = t_now_ms() - t0;
    CHECK(took >= 200 && took < t_bound(400)); /* the handler's 400 ms */
    bg_join(&bg);
    CHECK_ERR(g.err, NIPC_OK);
    CHECK_EQ_U64(g.out, SP_SLEEP_BASE + 401);
    CHECK_OK(nipc_server_join(s, 100)); /* idempotent */
    nipc_server_stats_t st;
    nipc_server_stats(s, &st);
    CHECK_EQ_U64(st.requests, 1);
    CHECK_EQ_U64(st.sessions_active, 0);
    nipc_server_destroy(s);
    fx_end(&f, 1);
}

static void test_graceful_join_in_flight_uds(void)
{
    graceful_join_in_flight(NIPC_PROFILE_BASELINE);
}

static void test_graceful_join_in_flight_shm(void)
{
#if HAVE_SHM
    graceful_join_in_flight(SHM_BOTH);
#endif
}

/* A handler stuck past the bound: join() forces the sessions and returns 0
 * (once the handler itself returns: it cannot be interrupted). */
static void test_graceful_join_stuck(void)
{
    fx_t f;
    REQUIRE(fx_begin(&f));
    nipc_server_t *s = NULL;
    REQUIRE(nipc_server_create_increment(f.run, SP_SERVICE, NULL, gs_handler, NULL, &s) ==
            NIPC_OK);
    REQUIRE(nipc_server_start(s) == NIPC_OK);
    atomic_store(&gs_entered, 0);
    gs_call_t g = {f.run, NIPC_PROFILE_BASELINE, SP_SLEEP_BASE + 1200, 3000, NIPC_OK, 0};
    bg_t bg = {0};
    REQUIRE(bg_start(&bg, gs_call_main, &g));
    CHECK(wait_entered(1, 3000));

    unsigned long long t0 = t_now_ms();
    CHECK_ERR(nipc_server_join(s, 200), NIPC_ERR_TIMEOUT);
    unsigned long long took = t_now_ms() - t0;
    CHECK(took >= 900 && took < t_bound(1200)); /* waited for the handler to return */
    nipc_server_destroy(s);
    bg_join(&bg); /* the call's outcome is unspecified; it must just end */
    fx_end(&f, 1);
}

static uint8_t *big_snapshot;
static size_t big_snapshot_len;

static nipc_error_t big_snapshot_handler(void *ctx, void *buf, size_t cap, size_t *out_len)
{
    (void)ctx;
    if (big_snapshot_len > cap)
        return NIPC_ERR_BUFFER_TOO_SMALL;
    memcpy(buf, big_snapshot, big_snapshot_len);
    *out_len = big_snapshot_len;
    return NIPC_OK;
}

/* A session blocked sending to a client that stopped reading is forced
 * closed by join() at its bound, instead of holding it for the send timeout. */
static void test_graceful_join_forces_blocked_send(void)
{
    fx_t f;
    REQUIRE(fx_begin(&f));
    nipc_cgroup_set_t set;
    REQUIRE(nipc_cgroup_set_corpus(7, 8000, &set) == NIPC_OK);
    big_snapshot_len = nipc_cgroup_set_encoded_size(&set);
    big_snapshot = malloc(big_snapshot_len);
    REQUIRE(big_snapshot);
    CHECK_OK(nipc_cgroup_set_encode(&set, 1, big_snapshot, big_snapshot_len, &big_snapshot_len));
    nipc_cgroup_set_free(&set);
    CHECK(big_snapshot_len > 512 * 1024);

    nipc_server_config_t scfg = {.max_response_payload_bytes = 4u << 20};
    nipc_server_t *s = NULL;
    REQUIRE(nipc_server_create_cgroups_snapshot(f.run, SP_SERVICE, &scfg, big_snapshot_handler,
                                                NULL, &s) == NIPC_OK);
    REQUIRE(nipc_server_start(s) == NIPC_OK);
    raw_t r;
    REQUIRE(raw_connect(&f, &r, 1, 1024) == NIPC_OK);
    uint8_t p[8];
    size_t n = 0;
    CHECK_OK(nipc_cgroups_req_encode(p, sizeof p, &n));
    CHECK_OK(raw_request(&r, NIPC_METHOD_CGROUPS_SNAPSHOT, 0, 1, 1, p, n));
    t_sleep_ms(300); /* the server fills the socket and blocks */

    unsigned long long t0 = t_now_ms();
    CHECK_ERR(nipc_server_join(s, 200), NIPC_ERR_TIMEOUT);
    unsigned long long took = t_now_ms() - t0;
    CHECK(took >= 150 && took < t_bound(200)); /* join's own timeout, then forced */
    nipc_server_destroy(s);
    raw_close(&r);
    free(big_snapshot);
    big_snapshot = NULL;
    fx_end(&f, 1);
}

/* A client that connected but never sent its HELLO: a handshake cannot be
 * forced (Level 1 takes no abort object there), so join() is bounded by the
 * handshake timeout rather than by its own timeout. This pins that bound. */
static void test_graceful_join_silent_handshake(void)
{
    fx_t f;
    REQUIRE(fx_begin(&f));
    nipc_server_t *s = NULL;
    nipc_server_config_t scfg = {.handshake_timeout_ms = 1000};
    REQUIRE(nipc_server_create_increment(f.run, SP_SERVICE, &scfg, gs_handler, NULL, &s) ==
            NIPC_OK);
    REQUIRE(nipc_server_start(s) == NIPC_OK);
    nipc__conn_t *silent = NULL;
    REQUIRE(nipc__conn_connect(f.run, SP_SERVICE, &silent) == NIPC_OK);
    nipc_server_stats_t st;
    unsigned long long end = t_now_ms() + 2000;
    do {
        t_sleep_ms(5);
        nipc_server_stats(s, &st);
    } while (st.sessions_active == 0 && t_now_ms() < end);
    CHECK_EQ_U64(st.sessions_active, 1);

    unsigned long long t0 = t_now_ms();
    CHECK_ERR(nipc_server_join(s, 200), NIPC_ERR_TIMEOUT);
    unsigned long long took = t_now_ms() - t0;
    CHECK(took < t_bound(1000)); /* the handshake timeout */
    nipc_server_stats(s, &st);
    CHECK_EQ_U64(st.handshakes_failed, 1);
    CHECK_EQ_U64(st.sessions_active, 0);
    nipc_server_destroy(s);
    nipc__conn_close(silent);
    fx_end(&f, 1);
}

/* An idle server: stop() then join() returns 1 at once; destroy() without
 * start() works too. */
static void test_graceful_idle(void)
{
    fx_t f;
    REQUIRE(fx_begin(&f));
    nipc_server_t *s = NULL;
    REQUIRE(nipc_server_create_increment(f.run, SP_SERVICE, NULL, gs_handler, NULL, &s) ==
            NIPC_OK);
    nipc_server_t *dup = NULL;
    nipc_error_t err = nipc_server_create_increment(f.run, SP_SERVICE, NULL, gs_handler, NULL,
                                                    &dup);
    if (!sp_under_wine())
        CHECK_ERR(err, NIPC_ERR_ADDRESS_IN_USE);
    if (err == NIPC_OK)
        nipc_server_destroy(dup);
    REQUIRE(nipc_server_start(s) == NIPC_OK);
    nipc_server_stop(s);
    unsigned long long t0 = t_now_ms();
    CHECK_OK(nipc_server_join(s, 2000));
    CHECK(t_now_ms() - t0 < 1000);
    nipc_server_destroy(s);
    CHECK_EQ_U64(t_dir_entries(f.run), 0);

    REQUIRE(nipc_server_create_increment(f.run, SP_SERVICE, NULL, gs_handler, NULL, &s) ==
            NIPC_OK);
    nipc_server_destroy(s);
    fx_end(&f, 1);
}

/* Argument validation of the public entry points. */
static void test_arguments(void)
{
    nipc_client_t *c = NULL;
    nipc_server_t *s = NULL;
    CHECK_ERR(nipc_client_create(NULL, SP_SERVICE, NULL, &c), NIPC_ERR_INVALID_ARGUMENT);
    CHECK_ERR(nipc_client_create("", SP_SERVICE, NULL, &c), NIPC_ERR_INVALID_ARGUMENT);
    CHECK_ERR(nipc_client_create("/tmp", "..", NULL, &c), NIPC_ERR_BAD_SERVICE_NAME);
    CHECK_ERR(nipc_client_create("/tmp", "a/b", NULL, &c), NIPC_ERR_BAD_SERVICE_NAME);
    CHECK_ERR(nipc_server_create_increment("/tmp", "ok", NULL, NULL, NULL, &s),
              NIPC_ERR_INVALID_ARGUMENT);
    CHECK_ERR(nipc_server_create_increment("/tmp", "a b", NULL, gs_handler, NULL, &s),
              NIPC_ERR_BAD_SERVICE_NAME);
    CHECK(strcmp(nipc_client_state_name(NIPC_CLIENT_BROKEN), "BROKEN") == 0);
    CHECK(strcmp(nipc_client_state_name((nipc_client_state_t)99), "UNKNOWN") == 0);
    REQUIRE(nipc_client_create("/tmp", "ok", NULL, &c) == NIPC_OK);
    uint64_t out;
    nipc_str_t str;
    nipc_cgroups_view_t v;
    CHECK_ERR(nipc_client_increment(c, 1, NULL, 0), NIPC_ERR_INVALID_ARGUMENT);
    CHECK_ERR(nipc_client_string_reverse(c, NULL, 3, &str, 0), NIPC_ERR_INVALID_ARGUMENT);
    CHECK_ERR(nipc_client_cgroups_snapshot(c, NULL, 0), NIPC_ERR_INVALID_ARGUMENT);
    CHECK_ERR(nipc_client_increment_batch(c, NULL, 2, &out, 0), NIPC_ERR_INVALID_ARGUMENT);
    CHECK_ERR(nipc_client_cgroups_snapshot(c, &v, 0), NIPC_ERR_NOT_READY);
    nipc_client_free(c);
    nipc_client_free(NULL);
    nipc_client_close(NULL);
    nipc_server_destroy(NULL);
}

int main(int argc, char **argv)
{
    t_init(argc, argv);
    if (argc > 1 && strcmp(argv[1], "peer") == 0)
        return sp_peer_main(argc - 2, argv + 2);
    static const t_case_t cases[] = {
        T_CASE(test_arguments),
        T_CASE(test_state_late_provider),
        T_CASE(test_state_broken_and_restart),
        T_CASE(test_refresh_result),
        T_CASE(test_refresh_handshake_timeout),
        T_CASE(test_state_auth_failed_sticky),
        T_CASE(test_state_incompatible_sticky),
        T_CASE(test_state_limit_exceeded_handshake),
        T_CASE(test_session_limit_busy),
        T_CASE(test_session_limit_rejecters_busy),
        T_CASE(test_retry_reconnects_at_once),
        T_CASE(test_call_deadline_bounds_attach),
        T_CASE(test_silent_client_handshake),
        T_CASE(test_vanish_mid_call_uds),
        T_CASE(test_vanish_mid_call_shm),
        T_CASE(test_vanish_mid_call_shm_file),
        T_CASE(test_retry_once_same_id),
        T_CASE(test_call_deadline_bounds_retry),
        T_CASE(test_timeout_no_retry_uds),
        T_CASE(test_timeout_no_retry_shm),
        T_CASE(test_bad_responses),
        T_CASE(test_uid_allow_list),
        T_CASE(test_abort_uds),
        T_CASE(test_abort_shm),
        T_CASE(test_growth_request_uds),
        T_CASE(test_growth_request_shm),
        T_CASE(test_growth_request_shm_file),
        T_CASE(test_growth_limits),
        T_CASE(test_snapshot_big_uds),
        T_CASE(test_snapshot_big_shm),
        T_CASE(test_overflow_server_response_too_small),
        T_CASE(test_shm_attach_missing_fallback),
        T_CASE(test_shm_attach_bad_region_fallback),
        T_CASE(test_shm_only_client_attach_failure),
        T_CASE(test_malformed_increment),
        T_CASE(test_malformed_batch),
        T_CASE(test_malformed_string_reverse),
        T_CASE(test_malformed_snapshot),
        T_CASE(test_increment_batch_calls),
        T_CASE(test_graceful_join_in_flight_uds),
        T_CASE(test_graceful_join_in_flight_shm),
        T_CASE(test_graceful_join_stuck),
        T_CASE(test_graceful_join_forces_blocked_send),
        T_CASE(test_graceful_join_silent_handshake),
        T_CASE(test_graceful_idle),
    };
    return t_run(cases, sizeof cases / sizeof cases[0], argc, argv);
}
