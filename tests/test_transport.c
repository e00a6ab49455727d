/*
 * Level 1 conformance suite, written once and run against every transport:
 * `test_transport --profile 1` (UDS SEQPACKET / Named Pipe) and
 * `test_transport --profile 2` (Linux SHM / Windows SHM). Peers are real
 * processes: this program re-executes itself with `--peer ...`
 * (transport_peer.c). Only the public API, tests/support.h and the
 * platform-neutral internals every transport implements (threads, the
 * baseline packet interface for peers that misbehave on purpose) are used,
 * so the same cases run on Windows. POSIX-only behaviour (socket files,
 * stale recovery, file modes, fd exhaustion, hostile raw peers) lives in
 * test_transport_posix.c.
 */
#include <stdatomic.h>

#include "netipc/transport.h"
#include "platform/platform.h"
#include "support.h"
#include "test.h"
#include "transport_peer.h"

#define SVC "conformance"
#define MIB (1024u * 1024u)
#define BIG_LIMIT (16u * MIB)

/* Files a live listener keeps in run_dir: the socket on POSIX, none on
 * Windows (pipes and SHM objects are kernel names, not files). */
#ifdef _WIN32
#define ENDPOINT_FILES 0
#else
#define ENDPOINT_FILES 1
#endif

static uint32_t g_profile = NIPC_PROFILE_BASELINE;
static uint8_t *g_buf; /* BIG_LIMIT bytes of scratch */

static int is_shm(void)
{
    return (g_profile & NIPC_PROFILE_SHM_MASK) != 0;
}

/* ---------------------------------------------------------------- fixture */

typedef struct fixture {
    char run[512];
    char sync[512];
    int handles;
} fixture_t;

static int fx_open(fixture_t *f)
{
    f->handles = t_open_handles();
    if (!t_mkdtemp(f->run, sizeof f->run) || !t_mkdtemp(f->sync, sizeof f->sync))
        return 0;
    return 1;
}

/* Everything the test created is gone: no file in run_dir, no handle. */
static void fx_close(fixture_t *f)
{
    CHECK_EQ_U64(t_dir_entries(f->run), 0);
    CHECK_EQ_U64(t_open_handles(), f->handles);
    t_rmtree(f->run);
    t_rmtree(f->sync);
}

static nipc_transport_config_t cfg_for(uint32_t limit, uint32_t batch)
{
    nipc_transport_config_t c = {0};
    c.supported_profiles = g_profile;
    c.exact_profiles = 1; /* this run's profile, not netipc's sealed one added to it */
    c.max_request_payload_bytes = limit;
    c.max_response_payload_bytes = limit;
    c.max_request_batch_items = batch;
    c.max_response_batch_items = batch;
    return c;
}

static unsigned long long elapsed_since(unsigned long long t0)
{
    return t_now_ms() - t0;
}

/* ------------------------------------------------------- client helpers */

static nipc_error_t send_req(nipc_session_t *s, uint16_t code, uint64_t id, const void *payload,
                             size_t len)
{
    nipc_header_t h = nipc_header_make(NIPC_KIND_REQUEST, code, 0, 0, 0, 1, id);
    return nipc_session_send(s, &h, payload, len, 10000, NULL);
}

static nipc_error_t send_u32(nipc_session_t *s, uint16_t code, uint64_t id, uint32_t v)
{
    return send_req(s, code, id, &v, sizeof v);
}

/* One verified echo of `len` bytes; returns 1 on success. */
static int echo(nipc_session_t *s, uint64_t id, size_t len)
{
    tp_fill(g_buf, len, id);
    nipc_error_t err = send_req(s, TP_ECHO, id, g_buf, len);
    CHECK_OK(err);
    if (err != NIPC_OK)
        return 0;
    nipc_message_t m;
    err = nipc_session_receive(s, &m, 10000, NULL);
    CHECK_OK(err);
    if (err != NIPC_OK)
        return 0;
    int ok = m.header.kind == NIPC_KIND_RESPONSE && m.header.code == TP_ECHO &&
             m.header.message_id == id && m.header.payload_len == len &&
             m.header.transport_status == NIPC_STATUS_OK &&
             tp_verify(m.payload, len, tp_resp_seed(id));
    if (!ok)
        fprintf(stderr, "echo of %zu bytes (id %llu) came back wrong\n", len,
                (unsigned long long)id);
    CHECK(ok);
    return ok;
}

/* The server's nipc_session_info, fetched with TP_INFO. */
static int server_info(nipc_session_t *s, uint64_t id, tp_info_t *out)
{
    nipc_message_t m;
    if (send_req(s, TP_INFO, id, NULL, 0) != NIPC_OK ||
        nipc_session_receive(s, &m, 10000, NULL) != NIPC_OK || m.header.payload_len != sizeof *out)
        return 0;
    memcpy(out, m.payload, sizeof *out);
    return 1;
}

static nipc_session_t *connect_ok(const fixture_t *f, const nipc_transport_config_t *cfg)
{
    nipc_session_t *s = NULL;
    nipc_error_t err = nipc_session_connect(f->run, SVC, cfg, &s);
    CHECK_OK(err);
    return err == NIPC_OK ? s : NULL;
}

/* ------------------------------------------------------- server helpers */

/* Accepts one connection and runs the handshake; returns the result. */
static nipc_error_t accept_one(nipc_listener_t *l, const nipc_transport_config_t *cfg,
                               uint64_t sid, nipc_session_t **out)
{
    nipc_pending_t *p = NULL;
    nipc_error_t err = nipc_listener_accept(l, 10000, &p);
    if (err != NIPC_OK)
        return err;
    return nipc_pending_accept(p, cfg, sid, out);
}

/* Serves one TP_ECHO request as the echo peer would. */
static int serve_one_echo(nipc_session_t *s)
{
    nipc_message_t m;
    nipc_error_t err = nipc_session_receive(s, &m, 10000, NULL);
    CHECK_OK(err);
    if (err != NIPC_OK)
        return 0;
    uint32_t len = m.header.payload_len;
    uint64_t id = m.header.message_id;
    CHECK(m.header.kind == NIPC_KIND_REQUEST && m.header.code == TP_ECHO);
    CHECK(tp_verify(m.payload, len, id));
    tp_fill(g_buf, len, tp_resp_seed(id));
    nipc_header_t h = nipc_header_make(NIPC_KIND_RESPONSE, TP_ECHO, 0, 0, 0, 1, id);
    err = nipc_session_send(s, &h, g_buf, len, 10000, NULL);
    CHECK_OK(err);
    return err == NIPC_OK;
}

/* ============================================================ payloads */

/* Every chunk boundary of packet size `pkt` up to `max`, plus 0 and 1. */
static size_t boundary_sizes(uint32_t pkt, size_t max, size_t *out, size_t cap)
{
    size_t n = 0, b = pkt - 32u;
    static const size_t ks[] = {1, 2, 3, 4, 5, 7, 16, 100, 1000, 10000, 100000};
    out[n++] = 0;
    out[n++] = 1;
    for (size_t i = 0; i < sizeof ks / sizeof ks[0] && n + 3 <= cap; i++) {
        size_t k = ks[i];
        if (k * b + 1 > max)
            break;
        out[n++] = k * b - 1;
        out[n++] = k * b;
        out[n++] = k * b + 1;
    }
    return n;
}

static void run_sizes(nipc_session_t *s, uint32_t pkt, size_t max, int with_big)
{
    size_t sizes[64];
    size_t n = boundary_sizes(pkt, max, sizes, 60);
    if (with_big) {
        sizes[n++] = BIG_LIMIT - 1;
        sizes[n++] = BIG_LIMIT; /* exactly the agreed limit */
    }
    static uint64_t id = 1000;
    for (size_t i = 0; i < n; i++)
        if (!echo(s, ++id, sizes[i]))
            break;
    CHECK_EQ_U64(nipc_session_in_flight(s), 0);
}

/* Sizes 0 .. 16 MiB across every chunk boundary of the automatic packet
 * size and of small configured ones (many chunks per message). */
static void payload_sizes(void)
{
    fixture_t f;
    REQUIRE(fx_open(&f));
    nipc_transport_config_t scfg = cfg_for(BIG_LIMIT, 1);
    static const uint32_t packets[] = {0, 64, 100, 4096};
    const int npk = (int)(sizeof packets / sizeof packets[0]);
    t_proc_t *srv = tp_start_server(f.run, SVC, f.sync, npk, "echo", &scfg);
    REQUIRE(srv);

    for (int i = 0; i < npk; i++) {
        nipc_transport_config_t c = cfg_for(BIG_LIMIT, 1);
        c.packet_size = packets[i];
        nipc_session_t *s = connect_ok(&f, &c);
        if (!s)
            break;
        const nipc_session_info_t *info = nipc_session_info(s);
        CHECK_EQ_U64(info->selected_profile, g_profile);
        CHECK(!info->is_server);
        if (packets[i])
            CHECK_EQ_U64(info->packet_size, packets[i]);
        else
            CHECK(info->packet_size > 4096); /* automatic: the OS buffer, never tiny */
        if (is_shm()) {
            /* Areas hold a whole message of the largest legal payload. */
            CHECK(info->shm_request_capacity >= 32 + BIG_LIMIT);
            CHECK(info->shm_response_capacity >= 32 + BIG_LIMIT);
        } else {
            CHECK_EQ_U64(info->shm_request_capacity, 0);
        }
        /* Tiny packets: every boundary up to 1 MiB (32768 chunks at 64 bytes);
         * larger ones up to the 16 MiB limit itself. */
        int tiny = packets[i] && packets[i] < 4096;
        run_sizes(s, info->packet_size, tiny ? MIB : BIG_LIMIT, !tiny);
        nipc_session_close(s);
    }
    CHECK_EQ_U64(tp_finish(srv, 20000), 0);
    fx_close(&f);
}

/* Outbound limits are checked locally; nothing is sent and the session
 * goes on. The agreed values follow wire.md 4.1 on both sides. */
static void limits_and_agreement(void)
{
    fixture_t f;
    REQUIRE(fx_open(&f));
    nipc_transport_config_t scfg = cfg_for(MIB, 1);
    scfg.max_response_payload_bytes = 70000;
    t_proc_t *srv = tp_start_server(f.run, SVC, f.sync, 1, "echo", &scfg);
    REQUIRE(srv);

    nipc_transport_config_t c = cfg_for(5000, 7);
    c.max_response_payload_bytes = 999; /* a hint the server ignores */
    c.max_response_batch_items = 3;     /* ignored too: the server echoes the request's */
    c.packet_size = 4000;
    nipc_session_t *s = connect_ok(&f, &c);
    if (s) {
        const nipc_session_info_t *ci = nipc_session_info(s);
        CHECK_EQ_U64(ci->max_request_payload, 5000); /* echoed, below the server's 1 MiB */
        CHECK_EQ_U64(ci->max_request_batch, 7);
        CHECK_EQ_U64(ci->max_response_payload, 70000); /* the server's value */
        CHECK_EQ_U64(ci->max_response_batch, 7);
        CHECK_EQ_U64(ci->packet_size, 4000);
        tp_info_t si;
        CHECK(server_info(s, 1, &si));
        CHECK_EQ_U64(si.is_server, 1);
        CHECK_EQ_U64(si.selected_profile, ci->selected_profile);
        CHECK_EQ_U64(si.max_request_payload, 5000);
        CHECK_EQ_U64(si.max_request_batch, 7);
        CHECK_EQ_U64(si.max_response_payload, 70000);
        CHECK_EQ_U64(si.max_response_batch, 7);
        CHECK_EQ_U64(si.packet_size, 4000);
        CHECK_EQ_U64(si.session_id_lo | ((uint64_t)si.session_id_hi << 32), ci->session_id);
        CHECK_EQ_U64(si.shm_request_capacity, ci->shm_request_capacity);
        CHECK_EQ_U64(si.shm_response_capacity, ci->shm_response_capacity);
        if (is_shm()) {
            /* Pre-created from the server's limits: align64(32 + limit). */
            CHECK_EQ_U64(ci->shm_request_capacity, (32u + MIB + 63u) & ~63u);
            CHECK_EQ_U64(ci->shm_response_capacity, (32u + 70000u + 63u) & ~63u);
        }

        /* Payload one byte over the agreed request limit. */
        tp_fill(g_buf, 5001, 2);
        CHECK_ERR(send_req(s, TP_ECHO, 2, g_buf, 5001), NIPC_ERR_LIMIT_EXCEEDED);
        CHECK_EQ_U64(nipc_session_in_flight(s), 0);
        /* item_count over the agreed batch limit, single messages included. */
        nipc_header_t h = nipc_header_make(NIPC_KIND_REQUEST, TP_ECHO, NIPC_FLAG_BATCH, 0, 0, 8, 3);
        CHECK_ERR(nipc_session_send(s, &h, g_buf, 64, 1000, NULL), NIPC_ERR_LIMIT_EXCEEDED);
        h = nipc_header_make(NIPC_KIND_REQUEST, TP_ECHO, 0, 0, 0, 8, 3);
        CHECK_ERR(nipc_session_send(s, &h, g_buf, 8, 1000, NULL), NIPC_ERR_LIMIT_EXCEEDED);
        CHECK_EQ_U64(nipc_session_in_flight(s), 0);
        /* Exactly at the limit still goes; the session is intact. */
        echo(s, 4, 5000);
        echo(s, 5, 0);
        nipc_session_close(s);
    }
    CHECK_EQ_U64(tp_finish(srv, 10000), 0);
    fx_close(&f);
}

/* ============================================================= batches */

static int batch_roundtrip(nipc_session_t *s, uint64_t id, uint32_t n)
{
    nipc_batch_builder_t b;
    uint8_t item[512];
    nipc_batch_builder_init(&b, g_buf, BIG_LIMIT, n);
    for (uint32_t i = 0; i < n; i++) {
        uint32_t len = tp_item_len(id, i);
        tp_fill(item, len, tp_item_seed(id, i));
        CHECK_OK(nipc_batch_builder_add(&b, item, len));
    }
    size_t len = 0;
    CHECK_OK(nipc_batch_builder_finish(&b, &len));
    nipc_header_t h = nipc_header_make(NIPC_KIND_REQUEST, TP_ECHO, NIPC_FLAG_BATCH, 0, 0, n, id);
    nipc_error_t err = nipc_session_send(s, &h, g_buf, len, 10000, NULL);
    CHECK_OK(err);
    nipc_message_t m;
    if (err == NIPC_OK)
        err = nipc_session_receive(s, &m, 10000, NULL);
    CHECK_OK(err);
    if (err != NIPC_OK)
        return 0;
    CHECK_EQ_U64(m.header.message_id, id);
    CHECK_EQ_U64(m.header.item_count, n);
    CHECK(m.header.flags & NIPC_FLAG_BATCH);
    int bad = 0;
    for (uint32_t i = 0; i < n; i++) {
        const uint8_t *it;
        uint32_t il;
        if (nipc_batch_item(m.payload, m.header.payload_len, n, i, &it, &il) != NIPC_OK ||
            il != tp_item_len(id, i) || !tp_verify(it, il, tp_resp_seed(tp_item_seed(id, i))))
            bad++;
    }
    CHECK_EQ_U64(bad, 0);
    return bad == 0;
}

/* Batches of 1 .. 1000 items, whole and chunked; one over the limit is
 * refused locally. */
static void batches(void)
{
    fixture_t f;
    REQUIRE(fx_open(&f));
    nipc_transport_config_t scfg = cfg_for(MIB, 1);
    t_proc_t *srv = tp_start_server(f.run, SVC, f.sync, 2, "echo", &scfg);
    REQUIRE(srv);
    static const uint32_t counts[] = {1, 2, 3, 7, 8, 64, 255, 500, 999, 1000};
    static const uint32_t packets[] = {0, 100};
    uint64_t id = 1;
    for (int p = 0; p < 2; p++) {
        nipc_transport_config_t c = cfg_for(MIB, 1000);
        c.packet_size = packets[p];
        nipc_session_t *s = connect_ok(&f, &c);
        if (!s)
            break;
        for (size_t i = 0; i < sizeof counts / sizeof counts[0]; i++)
            if (!batch_roundtrip(s, id++, counts[i]))
                break;
        /* 1001 items: above the agreed 1000, refused before anything is sent. */
        nipc_header_t h =
            nipc_header_make(NIPC_KIND_REQUEST, TP_ECHO, NIPC_FLAG_BATCH, 0, 0, 1001, id);
        CHECK_ERR(nipc_session_send(s, &h, g_buf, 1001 * 8, 1000, NULL),
                  NIPC_ERR_LIMIT_EXCEEDED);
        CHECK_EQ_U64(nipc_session_in_flight(s), 0);
        batch_roundtrip(s, id++, 5);
        nipc_session_close(s);
    }
    CHECK_EQ_U64(tp_finish(srv, 10000), 0);
    fx_close(&f);
}

/* ========================================================== pipelining */

/* Sends depth-1 deferred requests and a flush; the server answers in the
 * reverse order and the client correlates by id. */
static void pipeline_depth(nipc_session_t *s, uint64_t base, uint32_t depth)
{
    for (uint32_t j = 0; j < depth; j++) {
        uint64_t id = base + j;
        size_t len = (j * 37u) % 500u;
        tp_fill(g_buf, len, id);
        CHECK_OK(send_req(s, j + 1 == depth ? TP_FLUSH : TP_DEFER, id, g_buf, len));
    }
    CHECK_EQ_U64(nipc_session_in_flight(s), depth);
    uint8_t seen[64] = {0};
    for (uint32_t k = 0; k < depth; k++) {
        nipc_message_t m;
        nipc_error_t err = nipc_session_receive(s, &m, 10000, NULL);
        CHECK_OK(err);
        if (err != NIPC_OK)
            return;
        uint64_t j = m.header.message_id - base;
        REQUIRE(j < depth && !seen[j]);
        seen[j] = 1;
        /* Newest first: response k answers request depth-1-k. */
        CHECK_EQ_U64(j, depth - 1 - k);
        CHECK_EQ_U64(m.header.payload_len, (j * 37u) % 500u);
        CHECK(tp_verify(m.payload, m.header.payload_len, tp_resp_seed(m.header.message_id)));
        CHECK_EQ_U64(nipc_session_in_flight(s), depth - 1 - k);
    }
}

static void pipelining(void)
{
    fixture_t f;
    REQUIRE(fx_open(&f));
    nipc_transport_config_t scfg = cfg_for(4096, 1);
    t_proc_t *srv = tp_start_server(f.run, SVC, f.sync, 3, "echo", &scfg);
    REQUIRE(srv);
    nipc_transport_config_t c = cfg_for(4096, 1);
    c.packet_size = 128; /* most requests are chunked: chunks never interleave */
    nipc_session_t *s = connect_ok(&f, &c);
    if (s && !is_shm()) {
        static const uint32_t depths[] = {1, 2, 3, 8, 17, 64};
        for (size_t i = 0; i < sizeof depths / sizeof depths[0]; i++)
            pipeline_depth(s, 1000 * (i + 1), depths[i]);
        /* A duplicate of an id in flight is refused locally. */
        CHECK_OK(send_req(s, TP_DEFER, 77, NULL, 0));
        CHECK_ERR(send_req(s, TP_DEFER, 77, NULL, 0), NIPC_ERR_DUPLICATE_ID);
        CHECK_EQ_U64(nipc_session_in_flight(s), 1);
        CHECK_OK(send_req(s, TP_FLUSH, 78, NULL, 0));
        nipc_message_t m;
        CHECK_OK(nipc_session_receive(s, &m, 5000, NULL));
        CHECK_EQ_U64(m.header.message_id, 78);
        CHECK_OK(nipc_session_receive(s, &m, 5000, NULL));
        CHECK_EQ_U64(m.header.message_id, 77);
        /* The id is free again once answered. */
        echo(s, 77, 10);
    } else if (s) {
        /* SHM: one request outstanding at a time. */
        CHECK_OK(send_req(s, TP_ECHO, 1, NULL, 0));
        CHECK_ERR(send_req(s, TP_ECHO, 2, NULL, 0), NIPC_ERR_LIMIT_EXCEEDED);
        CHECK_ERR(send_req(s, TP_ECHO, 1, NULL, 0), NIPC_ERR_DUPLICATE_ID);
        CHECK_EQ_U64(nipc_session_in_flight(s), 1);
        nipc_message_t m;
        CHECK_OK(nipc_session_receive(s, &m, 5000, NULL));
        CHECK_EQ_U64(m.header.message_id, 1);
        CHECK_EQ_U64(nipc_session_in_flight(s), 0);
        echo(s, 2, 100);
    }
    if (s) {
        /* A response whose id is not in flight breaks the session. */
        CHECK_OK(send_req(s, TP_BAD_ID, 90, NULL, 0));
        nipc_message_t m;
        CHECK_ERR(nipc_session_receive(s, &m, 5000, NULL), NIPC_ERR_UNKNOWN_ID);
        CHECK_EQ_U64(nipc_session_in_flight(s), 0);
        CHECK_ERR(nipc_session_receive(s, &m, 100, NULL), NIPC_ERR_DISCONNECTED);
        nipc_session_close(s);
    }

    /* max_in_flight bounds the pipeline. */
    c.max_in_flight = 4;
    s = connect_ok(&f, &c);
    if (s && !is_shm()) {
        for (uint64_t id = 1; id <= 3; id++)
            CHECK_OK(send_req(s, TP_DEFER, id, NULL, 0));
        CHECK_OK(send_req(s, TP_FLUSH, 4, NULL, 0));
        CHECK_ERR(send_req(s, TP_ECHO, 5, NULL, 0), NIPC_ERR_LIMIT_EXCEEDED);
        CHECK_EQ_U64(nipc_session_in_flight(s), 4);
        nipc_message_t m;
        for (int k = 0; k < 4; k++)
            CHECK_OK(nipc_session_receive(s, &m, 5000, NULL));
        echo(s, 5, 3);
    } else if (s) {
        echo(s, 5, 3);
    }
    nipc_session_close(s);

    /* An unused third session: connect and close at once. */
    s = connect_ok(&f, &c);
    nipc_session_close(s);
    CHECK_EQ_U64(tp_finish(srv, 10000), 0);
    fx_close(&f);
}

/* ============================================== many concurrent sessions */

#define N_CONCURRENT 32

typedef struct client_job {
    const fixture_t *f;
    int index;
    int failures;
} client_job_t;

static void concurrent_client(void *arg)
{
    client_job_t *job = arg;
    nipc_transport_config_t c = cfg_for(65536, 1);
    c.packet_size = job->index % 2 ? 512 : 0; /* half of them chunk */
    nipc_session_t *s = NULL;
    if (nipc_session_connect(job->f->run, SVC, &c, &s) != NIPC_OK) {
        job->failures++;
        return;
    }
    uint8_t *buf = malloc(65536);
    for (int i = 0; buf && i < 20; i++) {
        uint64_t id = (uint64_t)job->index * 1000 + (uint64_t)i;
        size_t len = ((size_t)i * 7919u + (size_t)job->index * 131u) % 65536u;
        tp_fill(buf, len, id);
        nipc_message_t m;
        if (send_req(s, TP_ECHO, id, buf, len) != NIPC_OK ||
            nipc_session_receive(s, &m, 10000, NULL) != NIPC_OK || m.header.message_id != id ||
            m.header.payload_len != len || !tp_verify(m.payload, len, tp_resp_seed(id)))
            job->failures++;
    }
    free(buf);
    nipc_session_close(s);
}

/* 32 clients at once against one server process that serves each session
 * in its own thread. */
static void concurrent_sessions(void)
{
    fixture_t f;
    REQUIRE(fx_open(&f));
    nipc_transport_config_t scfg = cfg_for(65536, 1);
    t_proc_t *srv = tp_start_server(f.run, SVC, f.sync, N_CONCURRENT, "echo", &scfg);
    REQUIRE(srv);
    client_job_t jobs[N_CONCURRENT];
    nipc__thread_t *th[N_CONCURRENT] = {0};
    for (int i = 0; i < N_CONCURRENT; i++) {
        jobs[i] = (client_job_t){&f, i, 0};
        CHECK_OK(nipc__thread_start(&th[i], concurrent_client, &jobs[i]));
    }
    int failures = 0;
    for (int i = 0; i < N_CONCURRENT; i++) {
        nipc__thread_join(th[i]);
        failures += jobs[i].failures;
    }
    CHECK_EQ_U64(failures, 0);
    CHECK_EQ_U64(tp_finish(srv, 20000), 0);
    fx_close(&f);
}

/* ============================================================ handshake */

typedef struct profile_row {
    uint32_t client_sup, client_pref, expected;
} profile_row_t;

/* exact: 1 both sides advertise exactly their masks (upstream's rules),
 * 0 both add netipc's sealed profile to SHM, 2 only the client is exact,
 * 3 only the server. */
static void profile_rows(const fixture_t *f, uint32_t srv_sup, uint32_t srv_pref, int exact,
                         const profile_row_t *rows, int n)
{
    nipc_transport_config_t scfg = {0};
    scfg.supported_profiles = srv_sup;
    scfg.preferred_profiles = srv_pref;
    scfg.exact_profiles = exact == 1 || exact == 3;
    t_proc_t *srv = tp_start_server(f->run, SVC, f->sync, n, "echo", &scfg);
    REQUIRE(srv);
    for (int i = 0; i < n; i++) {
        nipc_transport_config_t c = {0};
        c.supported_profiles = rows[i].client_sup;
        c.preferred_profiles = rows[i].client_pref;
        c.exact_profiles = exact == 1 || exact == 2;
        nipc_session_t *s = connect_ok(f, &c);
        if (!s)
            continue;
        const nipc_session_info_t *ci = nipc_session_info(s);
        if (ci->selected_profile != rows[i].expected)
            fprintf(stderr, "server %#x/%#x client %#x/%#x: selected %#x, expected %#x\n",
                    srv_sup, srv_pref, rows[i].client_sup, rows[i].client_pref,
                    ci->selected_profile, rows[i].expected);
        CHECK_EQ_U64(ci->selected_profile, rows[i].expected);
        CHECK_EQ_U64(ci->shm_request_capacity != 0, (rows[i].expected & NIPC_PROFILE_SHM_MASK) != 0);
        tp_info_t si;
        CHECK(server_info(s, 1, &si));
        CHECK_EQ_U64(si.selected_profile, rows[i].expected);
        echo(s, 2, 300);
        nipc_session_close(s);
    }
    CHECK_EQ_U64(tp_finish(srv, 10000), 0);
}

/* Profile selection: highest bit of I & client_pref & server_pref, else of
 * I; with no preferences SHM wins; server_pref defaults to its set. */
static void handshake_profiles(void)
{
    fixture_t f;
    REQUIRE(fx_open(&f));
    static const profile_row_t all[] = {
        {0x03, 0x00, 0x02}, {0x03, 0x01, 0x01}, {0x07, 0x00, 0x04}, {0x07, 0x02, 0x02},
        {0x01, 0x00, 0x01}, {0x06, 0x01, 0x04}, {0x05, 0x04, 0x04}, {0x02, 0x00, 0x02},
    };
    profile_rows(&f, 0x07, 0, 1, all, (int)(sizeof all / sizeof all[0]));
    /* A server preferring the baseline: the client's preference still has
     * to intersect both, else the highest common bit wins. */
    static const profile_row_t base_pref[] = {
        {0x03, 0x02, 0x02}, {0x03, 0x01, 0x01}, {0x03, 0x00, 0x02}, {0x03, 0x03, 0x01},
    };
    profile_rows(&f, 0x03, 0x01, 1, base_pref, (int)(sizeof base_pref / sizeof base_pref[0]));
    fx_close(&f);
}

/*
 * netipc's sealed profile (Linux): added by both netipc sides wherever SHM
 * is configured, so two netipc peers select it; a side that advertises
 * exactly its mask, as every upstream peer does, never gets it and keeps
 * the spec's selection. Elsewhere the bit is never advertised.
 */
static void handshake_sealed_profile(void)
{
#ifdef __linux__
    fixture_t f;
    REQUIRE(fx_open(&f));
    const uint32_t S = NIPC_PROFILE_SHM_SEALED;
    static const profile_row_t both_netipc[] = {
        {0x03, 0x00, NIPC_PROFILE_SHM_SEALED}, /* SHM asked for: the sealed region */
        {0x03, 0x02, NIPC_PROFILE_SHM_SEALED}, /* preferring SHM prefers the best one */
        {0x03, 0x01, 0x01},                    /* preferring the socket still works */
        {0x01, 0x00, 0x01},                    /* no SHM asked for: none added */
        {NIPC_PROFILE_SHM_SEALED | 0x01, 0x00, NIPC_PROFILE_SHM_SEALED},
    };
    profile_rows(&f, 0x03, 0, 0, both_netipc, (int)(sizeof both_netipc / sizeof both_netipc[0]));
    /* An exact client (like an upstream one): the spec's profile. */
    static const profile_row_t exact_client[] = {{0x03, 0x00, 0x02}, {0x07, 0x00, 0x04}};
    profile_rows(&f, 0x07, 0, 2, exact_client, 2);
    /* An exact server: the same, whatever the client adds. */
    static const profile_row_t exact_server[] = {{0x03, 0x00, 0x02}, {0x03, 0x02, 0x02}};
    profile_rows(&f, 0x03, 0, 3, exact_server, 2);
    /* A sealed-only pair (exact): no file in the run dir during the session. */
    static const profile_row_t sealed_only[] = {{NIPC_PROFILE_SHM_SEALED, 0, NIPC_PROFILE_SHM_SEALED}};
    profile_rows(&f, S, 0, 1, sealed_only, 1);
    fx_close(&f);
#else
    T_SKIP("the sealed profile is Linux-only");
#endif
}

typedef struct hs_case {
    const char *what;
    nipc_transport_config_t client;
    nipc_error_t server_expect, client_expect;
} hs_case_t;

/* Every rejection of wire.md 4.1 through the real API, seen from both
 * sides; the server is this process, the clients are peers. */
static void handshake_rejections(void)
{
    fixture_t f;
    REQUIRE(fx_open(&f));
    nipc_transport_config_t scfg = cfg_for(2048, 1);
    scfg.auth_token = 0x1122334455667788ull;
    nipc_listener_t *l = NULL;
    CHECK_OK(nipc_listener_create(f.run, SVC, &scfg, &l));
    REQUIRE(l);

    nipc_transport_config_t ok = cfg_for(2048, 1);
    ok.auth_token = scfg.auth_token;
    hs_case_t cases[12];
    int n = 0;
    cases[n] = (hs_case_t){"token", ok, NIPC_ERR_AUTH_FAILED, NIPC_ERR_AUTH_FAILED};
    cases[n++].client.auth_token = 1;
    uint32_t other = is_shm() ? NIPC_PROFILE_BASELINE : NIPC_PROFILE_SHM_HYBRID;
    cases[n] = (hs_case_t){"profiles", ok, NIPC_ERR_UNSUPPORTED, NIPC_ERR_UNSUPPORTED};
    cases[n++].client.supported_profiles = other;
    /* Upstream order: the profile check comes before the token check. */
    cases[n] = (hs_case_t){"profiles+token", ok, NIPC_ERR_UNSUPPORTED, NIPC_ERR_UNSUPPORTED};
    cases[n].client.supported_profiles = other;
    cases[n++].client.auth_token = 99;
    cases[n] = (hs_case_t){"request ceiling", ok, NIPC_ERR_LIMIT_EXCEEDED,
                           NIPC_ERR_LIMIT_EXCEEDED};
    cases[n++].client.max_request_payload_bytes = 2049;
    cases[n] = (hs_case_t){"request ceiling+token", ok, NIPC_ERR_AUTH_FAILED,
                           NIPC_ERR_AUTH_FAILED};
    cases[n].client.max_request_payload_bytes = 2049;
    cases[n++].client.auth_token = 5;
    cases[n] = (hs_case_t){"packet 32", ok, NIPC_ERR_INCOMPATIBLE, NIPC_ERR_INCOMPATIBLE};
    cases[n++].client.packet_size = 32;
    cases[n] = (hs_case_t){"packet 32+ceiling", ok, NIPC_ERR_LIMIT_EXCEEDED,
                           NIPC_ERR_LIMIT_EXCEEDED};
    cases[n].client.packet_size = 32;
    cases[n++].client.max_request_payload_bytes = 4096;
    cases[n] = (hs_case_t){"packet 33", ok, NIPC_OK, NIPC_OK};
    cases[n++].client.packet_size = 33;
    cases[n] = (hs_case_t){"all fine", ok, NIPC_OK, NIPC_OK};
    n++;

    for (int i = 0; i < n; i++) {
        t_proc_t *cl = tp_start_client(f.run, SVC, &cases[i].client, "connect");
        nipc_session_t *s = NULL;
        nipc_error_t err = accept_one(l, &scfg, (uint64_t)i + 1, &s);
        if (err != cases[i].server_expect)
            fprintf(stderr, "case '%s': server got %s\n", cases[i].what, nipc_error_name(err));
        CHECK_ERR(err, cases[i].server_expect);
        int code = tp_finish(cl, 10000);
        if (code != (int)cases[i].client_expect)
            fprintf(stderr, "case '%s': client got %d\n", cases[i].what, code);
        CHECK_EQ_U64(code, cases[i].client_expect);
        if (s) {
            if (!strcmp(cases[i].what, "packet 33"))
                CHECK_EQ_U64(nipc_session_info(s)->packet_size, 33);
            nipc_message_t m;
            CHECK_ERR(nipc_session_receive(s, &m, 5000, NULL), NIPC_ERR_DISCONNECTED);
            nipc_session_close(s);
        }
        /* A rejected session leaves no SHM region behind: only the socket. */
        CHECK(t_dir_entries(f.run) <= ENDPOINT_FILES);
    }

    /* nipc_pending_reject: the status travels in the ACK; INTERNAL_ERROR
     * (our session limit) reads as BUSY. */
    static const struct {
        uint16_t status;
        nipc_error_t client;
    } rejects[] = {
        {NIPC_STATUS_INTERNAL_ERROR, NIPC_ERR_BUSY},
        {NIPC_STATUS_AUTH_FAILED, NIPC_ERR_AUTH_FAILED},
        {NIPC_STATUS_UNSUPPORTED, NIPC_ERR_UNSUPPORTED},
        {NIPC_STATUS_INCOMPATIBLE, NIPC_ERR_INCOMPATIBLE},
        {NIPC_STATUS_LIMIT_EXCEEDED, NIPC_ERR_LIMIT_EXCEEDED},
        {NIPC_STATUS_BAD_ENVELOPE, NIPC_ERR_HANDSHAKE},
    };
    for (size_t i = 0; i < sizeof rejects / sizeof rejects[0]; i++) {
        t_proc_t *cl = tp_start_client(f.run, SVC, &ok, "connect");
        nipc_pending_t *p = NULL;
        CHECK_OK(nipc_listener_accept(l, 10000, &p));
        if (p)
            nipc_pending_reject(p, rejects[i].status, 5000);
        CHECK_EQ_U64(tp_finish(cl, 10000), rejects[i].client);
    }
    /* A pending connection closed without a word: the client sees the end. */
    t_proc_t *cl = tp_start_client(f.run, SVC, &ok, "connect");
    nipc_pending_t *p = NULL;
    CHECK_OK(nipc_listener_accept(l, 10000, &p));
    nipc_pending_free(p);
    CHECK_EQ_U64(tp_finish(cl, 10000), NIPC_ERR_DISCONNECTED);

    nipc_listener_free(l);
    fx_close(&f);
}

typedef struct pending_job {
    nipc_pending_t *p;
    nipc_transport_config_t cfg;
    nipc_error_t err;
    unsigned long long started, ended;
} pending_job_t;

static void pending_thread(void *arg)
{
    pending_job_t *job = arg;
    nipc_session_t *s = NULL;
    job->started = t_now_ms();
    job->err = nipc_pending_accept(job->p, &job->cfg, 1, &s);
    job->ended = t_now_ms();
    nipc_session_close(s);
}

/* A client that never sends its HELLO: the handshake ends with TIMEOUT
 * after handshake_timeout_ms, and the listener serves others meanwhile. */
static void handshake_silent_client(void)
{
    fixture_t f;
    REQUIRE(fx_open(&f));
    nipc_transport_config_t scfg = cfg_for(4096, 1);
    scfg.handshake_timeout_ms = T_MS(600); /* room to serve another client meanwhile */
    nipc_listener_t *l = NULL;
    CHECK_OK(nipc_listener_create(f.run, SVC, &scfg, &l));
    REQUIRE(l);

    nipc_transport_config_t c = cfg_for(4096, 1);
    t_proc_t *silent = tp_start_client(f.run, SVC, &c, "silent");
    pending_job_t job = {.cfg = scfg, .err = NIPC_ERR__COUNT};
    CHECK_OK(nipc_listener_accept(l, 10000, &job.p));
    nipc__thread_t *th = NULL;
    if (job.p)
        CHECK_OK(nipc__thread_start(&th, pending_thread, &job));

    /* Meanwhile a normal client is accepted and served to the end. */
    t_proc_t *normal = tp_start_client(f.run, SVC, &c, "echo:3:1000");
    nipc_session_t *s = NULL;
    CHECK_OK(accept_one(l, &scfg, 2, &s));
    for (int i = 0; s && i < 3; i++)
        serve_one_echo(s);
    nipc_session_close(s);
    CHECK_EQ_U64(tp_finish(normal, 10000), 0);
    unsigned long long served = t_now_ms();

    nipc__thread_join(th);
    CHECK_ERR(job.err, NIPC_ERR_TIMEOUT);
    unsigned long long took = job.ended - job.started;
    CHECK(took >= T_MS(600) - 10 && took < T_MS(600) + 400);
    CHECK(served < job.ended); /* the other client did not wait for it */
    CHECK_EQ_U64(tp_finish(silent, 10000), 0); /* it saw the server close */
    CHECK_EQ_U64(t_dir_entries(f.run), ENDPOINT_FILES); /* the silent one's region is gone */
    nipc_listener_free(l);
    fx_close(&f);
}

/* A server that accepts and never answers: the client's handshake ends
 * with TIMEOUT after its handshake_timeout_ms. */
static void handshake_silent_server(void)
{
    fixture_t f;
    REQUIRE(fx_open(&f));
    t_proc_t *srv = tp_start_server(f.run, SVC, f.sync, 1, "silent", NULL);
    REQUIRE(srv);
    nipc_transport_config_t c = cfg_for(4096, 1);
    c.handshake_timeout_ms = 300;
    nipc_session_t *s = NULL;
    unsigned long long t0 = t_now_ms();
    CHECK_ERR(nipc_session_connect(f.run, SVC, &c, &s), NIPC_ERR_TIMEOUT);
    unsigned long long took = elapsed_since(t0);
    CHECK(took >= 290 && took < T_MS(300 + 400));
    CHECK(s == NULL);
    CHECK_EQ_U64(tp_finish(srv, 10000), 0);
    fx_close(&f);
}

/* ========================================================== peer death */

/* Deaths during the handshake, seen by the server (this process) and by
 * the client (this process): precise errors, long before any timeout. */
static void death_during_handshake(void)
{
    fixture_t f;
    REQUIRE(fx_open(&f));
    nipc_transport_config_t scfg = cfg_for(4096, 1);
    nipc_listener_t *l = NULL;
    CHECK_OK(nipc_listener_create(f.run, SVC, &scfg, &l));
    REQUIRE(l);
    static const char *const actions[] = {"conn_die", "hello_die"};
    for (int i = 0; i < 2; i++) {
        t_proc_t *cl = tp_start_client(f.run, SVC, &scfg, actions[i]);
        nipc_pending_t *p = NULL;
        CHECK_OK(nipc_listener_accept(l, 10000, &p));
        CHECK_EQ_U64(tp_finish(cl, 10000), 0); /* dead before we read */
        nipc_session_t *s = NULL;
        unsigned long long t0 = t_now_ms();
        /* Before HELLO: EOF. After HELLO: the ACK cannot be delivered. */
        CHECK_ERR(p ? nipc_pending_accept(p, &scfg, 1, &s) : NIPC_ERR__COUNT,
                  NIPC_ERR_DISCONNECTED);
        CHECK(elapsed_since(t0) < 1000);
        CHECK(s == NULL);
        CHECK_EQ_U64(t_dir_entries(f.run), ENDPOINT_FILES); /* the pre-created region is gone */
    }
    nipc_listener_free(l);

    /* The server dies after accepting (before reading the HELLO), or after
     * reading the HELLO (before the ACK). */
    static const char *const modes[] = {"accept_die", "hello_die"};
    for (int i = 0; i < 2; i++) {
        t_proc_t *srv = tp_start_server(f.run, SVC, f.sync, 1, modes[i], &scfg);
        REQUIRE(srv);
        nipc_session_t *s = NULL;
        unsigned long long t0 = t_now_ms();
        CHECK_ERR(nipc_session_connect(f.run, SVC, &scfg, &s), NIPC_ERR_DISCONNECTED);
        CHECK(elapsed_since(t0) < 2000);
        tp_finish(srv, 10000);
        /* Nobody listens on the stale endpoint now. */
        CHECK_ERR(nipc_session_connect(f.run, SVC, &scfg, &s), NIPC_ERR_NOT_FOUND);
        /* A new server reclaims it (and any region the dead one left). */
        nipc_shm_cleanup_stale(f.run, SVC, NULL);
        CHECK_OK(nipc_listener_create(f.run, SVC, &scfg, &l));
        nipc_listener_free(l);
        CHECK_EQ_U64(t_dir_entries(f.run), 0);
    }
    fx_close(&f);
}

/* A client publishes a request and dies at once: the request is still
 * delivered whole, then the end of the session. */
static void death_after_send(const fixture_t *f, nipc_listener_t *l,
                             const nipc_transport_config_t *scfg)
{
    t_proc_t *cl = tp_start_client(f->run, SVC, scfg, "send_die");
    nipc_session_t *s = NULL;
    CHECK_OK(accept_one(l, scfg, 7, &s));
    CHECK_EQ_U64(tp_finish(cl, 10000), 0);
    if (!s)
        return;
    nipc_message_t m;
    CHECK_OK(nipc_session_receive(s, &m, 5000, NULL));
    CHECK_EQ_U64(m.header.message_id, 11);
    CHECK(m.header.payload_len == 100 && tp_verify(m.payload, 100, 11));
    unsigned long long t0 = t_now_ms();
    CHECK_ERR(nipc_session_receive(s, &m, 5000, NULL), NIPC_ERR_DISCONNECTED);
    CHECK(elapsed_since(t0) < 400);
    nipc_session_close(s);
}

/* A peer dies in the middle of a message: over the baseline after the
 * first packets of a chunked one (SHM never chunks; there a message is
 * published whole or not at all). The receiver gets DISCONNECTED, not a
 * hang or a half message. */
static void death_mid_message(void)
{
    fixture_t f;
    REQUIRE(fx_open(&f));
    const uint32_t big = 4 * MIB;
    nipc_transport_config_t scfg = cfg_for(8 * MIB, 1);
    nipc_listener_t *l = NULL;
    CHECK_OK(nipc_listener_create(f.run, SVC, &scfg, &l));
    REQUIRE(l);
    death_after_send(&f, l, &scfg);
    if (is_shm()) {
        nipc_listener_free(l);
        fx_close(&f);
        return;
    }
    char action[64];
    snprintf(action, sizeof action, "partial:%u", big);
    t_proc_t *cl = tp_start_client(f.run, SVC, &scfg, action);
    nipc_session_t *s = NULL;
    CHECK_OK(accept_one(l, &scfg, 1, &s));
    /* The client filled the socket, timed out mid-message and exited. */
    CHECK_EQ_U64(tp_finish(cl, 10000), 0);
    if (s) {
        nipc_message_t m;
        unsigned long long t0 = t_now_ms();
        CHECK_ERR(nipc_session_receive(s, &m, 5000, NULL), NIPC_ERR_DISCONNECTED);
        CHECK(elapsed_since(t0) < 1000);
        CHECK_ERR(nipc_session_receive(s, &m, 5000, NULL), NIPC_ERR_DISCONNECTED);
        nipc_session_close(s);
    }
    nipc_listener_free(l);

    /* The server dies while sending a chunked response. */
    t_proc_t *srv = tp_start_server(f.run, SVC, f.sync, 1, "echo", &scfg);
    REQUIRE(srv);
    s = connect_ok(&f, &scfg);
    if (s) {
        CHECK_OK(send_u32(s, TP_PARTIAL, 9, big));
        CHECK_EQ_U64(tp_finish(srv, 10000), 0); /* it timed out mid-message and died */
        nipc_message_t m;
        unsigned long long t0 = t_now_ms();
        CHECK_ERR(nipc_session_receive(s, &m, 5000, NULL), NIPC_ERR_DISCONNECTED);
        CHECK(elapsed_since(t0) < 1000);
        CHECK_EQ_U64(nipc_session_in_flight(s), 0);
        nipc_session_close(s);
    } else {
        tp_finish(srv, 1000);
    }
    nipc_shm_cleanup_stale(f.run, SVC, NULL);
    CHECK_OK(nipc_listener_create(f.run, SVC, &scfg, &l));
    nipc_listener_free(l);
    fx_close(&f);
}

/* A peer dies while the other side waits for its next message: detected
 * within a few 100 ms slices on every transport (SHM included), not at the
 * receive deadline. */
static void death_while_waiting(void)
{
    fixture_t f;
    REQUIRE(fx_open(&f));
    nipc_transport_config_t scfg = cfg_for(4096, 1);
    nipc_listener_t *l = NULL;
    CHECK_OK(nipc_listener_create(f.run, SVC, &scfg, &l));
    REQUIRE(l);

    /* Server waits, client dies 150 ms after its first answer. */
    t_proc_t *cl = tp_start_client(f.run, SVC, &scfg, "die_after:150");
    nipc_session_t *s = NULL;
    CHECK_OK(accept_one(l, &scfg, 1, &s));
    if (s && serve_one_echo(s)) {
        nipc_message_t m;
        unsigned long long t0 = t_now_ms();
        CHECK_ERR(nipc_session_receive(s, &m, 5000, NULL), NIPC_ERR_DISCONNECTED);
        unsigned long long took = elapsed_since(t0);
        if (took >= 150 + 350)
            fprintf(stderr, "server noticed the dead client after %llu ms\n", took);
        CHECK(took >= 100 && took < T_MS(150 + 350));
    }
    nipc_session_close(s);
    CHECK_EQ_U64(tp_finish(cl, 10000), 0);
    nipc_listener_free(l);
    CHECK_EQ_U64(t_dir_entries(f.run), 0);

    /* Client waits, server dies 150 ms after the request. */
    t_proc_t *srv = tp_start_server(f.run, SVC, f.sync, 1, "echo", &scfg);
    REQUIRE(srv);
    s = connect_ok(&f, &scfg);
    if (s) {
        echo(s, 1, 100);
        CHECK_OK(send_u32(s, TP_EXIT, 2, 150));
        nipc_message_t m;
        unsigned long long t0 = t_now_ms();
        CHECK_ERR(nipc_session_receive(s, &m, 5000, NULL), NIPC_ERR_DISCONNECTED);
        unsigned long long took = elapsed_since(t0);
        if (took >= 150 + 350)
            fprintf(stderr, "client noticed the dead server after %llu ms\n", took);
        CHECK(took >= 100 && took < T_MS(150 + 350));
        CHECK_EQ_U64(nipc_session_in_flight(s), 0);
        CHECK_ERR(send_req(s, TP_ECHO, 3, NULL, 0), NIPC_ERR_DISCONNECTED);
        nipc_session_close(s);
    }
    CHECK_EQ_U64(tp_finish(srv, 10000), 0);
    /* The dead server left its endpoint (and region) behind: cleaned up by
     * the next server. */
    CHECK_OK(nipc_shm_cleanup_stale(f.run, SVC, NULL));
    CHECK_OK(nipc_listener_create(f.run, SVC, &scfg, &l));
    nipc_listener_free(l);
    fx_close(&f);
}

/* ================================================== timeouts and abort */

static void receive_timeout(void)
{
    fixture_t f;
    REQUIRE(fx_open(&f));
    nipc_transport_config_t scfg = cfg_for(4096, 1);
    t_proc_t *srv = tp_start_server(f.run, SVC, f.sync, 1, "echo", &scfg);
    REQUIRE(srv);
    nipc_session_t *s = connect_ok(&f, &scfg);
    if (s) {
        nipc_message_t m;
        /* Nothing outstanding at all. */
        unsigned long long t0 = t_now_ms();
        CHECK_ERR(nipc_session_receive(s, &m, 150, NULL), NIPC_ERR_TIMEOUT);
        unsigned long long took = elapsed_since(t0);
        CHECK(took >= 145 && took < 150 + T_MS(1000));
        /* The answer comes after 400 ms: a 150 ms receive times out, the
         * session stays usable and a later receive gets the answer. */
        CHECK_OK(send_u32(s, TP_DELAY, 1, 400));
        t0 = t_now_ms();
        CHECK_ERR(nipc_session_receive(s, &m, 150, NULL), NIPC_ERR_TIMEOUT);
        took = elapsed_since(t0);
        CHECK(took >= 145 && took < 150 + T_MS(1000));
        CHECK_EQ_U64(nipc_session_in_flight(s), 1);
        CHECK_OK(nipc_session_receive(s, &m, 3000, NULL));
        CHECK_EQ_U64(m.header.message_id, 1);
        CHECK(elapsed_since(t0) >= 390);
        echo(s, 2, 3000);
        nipc_session_close(s);
    }
    CHECK_EQ_U64(tp_finish(srv, 10000), 0);

    /* Server side: a receive with nothing coming times out and the session
     * stays open; the client sees the close only when we close. */
    nipc_listener_t *l = NULL;
    CHECK_OK(nipc_listener_create(f.run, SVC, &scfg, &l));
    REQUIRE(l);
    t_proc_t *cl = tp_start_client(f.run, SVC, &scfg, "idle");
    s = NULL;
    CHECK_OK(accept_one(l, &scfg, 1, &s));
    if (s) {
        nipc_message_t m;
        for (int i = 0; i < 2; i++) {
            unsigned long long t0 = t_now_ms();
            CHECK_ERR(nipc_session_receive(s, &m, 200, NULL), NIPC_ERR_TIMEOUT);
            unsigned long long took = elapsed_since(t0);
            CHECK(took >= 195 && took < 200 + T_MS(1000));
        }
        nipc_session_close(s);
    }
    CHECK_EQ_U64(tp_finish(cl, 10000), 0);
    nipc_listener_free(l);
    fx_close(&f);
}

typedef struct abort_job {
    nipc_abort_t *abort;
    int delay_ms;
    unsigned long long fired;
} abort_job_t;

static void abort_later(void *arg)
{
    abort_job_t *job = arg;
    t_sleep_ms(job->delay_ms);
    job->fired = t_now_ms();
    nipc_abort_trigger(job->abort);
}

/* Triggers `a` from another thread while this one is blocked in receive. */
static void expect_abort(nipc_session_t *s, nipc_abort_t *a)
{
    abort_job_t job = {a, 100, 0};
    nipc__thread_t *th = NULL;
    CHECK_OK(nipc__thread_start(&th, abort_later, &job));
    nipc_message_t m;
    CHECK_ERR(nipc_session_receive(s, &m, 5000, a), NIPC_ERR_ABORTED);
    unsigned long long now = t_now_ms();
    nipc__thread_join(th);
    /* Within one wait slice of the trigger (SHM waits in 100 ms slices). */
    CHECK(job.fired && now >= job.fired && now - job.fired < 250);
}

static void abort_receive(void)
{
    fixture_t f;
    REQUIRE(fx_open(&f));
    nipc_abort_t *a = NULL;
    CHECK_OK(nipc_abort_create(&a));
    REQUIRE(a);
    nipc_transport_config_t scfg = cfg_for(4096, 1);
    t_proc_t *srv = tp_start_server(f.run, SVC, f.sync, 1, "echo", &scfg);
    REQUIRE(srv);
    nipc_session_t *s = connect_ok(&f, &scfg);
    if (s) {
        CHECK_OK(send_u32(s, TP_DELAY, 1, 500));
        expect_abort(s, a);
        CHECK(nipc_abort_is_set(a));
        nipc_abort_clear(a);
        CHECK(!nipc_abort_is_set(a));
        /* Nothing had arrived: the session is whole and the answer comes. */
        nipc_message_t m;
        CHECK_OK(nipc_session_receive(s, &m, 3000, a));
        CHECK_EQ_U64(m.header.message_id, 1);
        /* An abort that is already set returns at once. */
        nipc_abort_trigger(a);
        unsigned long long t0 = t_now_ms();
        CHECK_ERR(nipc_session_receive(s, &m, 3000, a), NIPC_ERR_ABORTED);
        CHECK(elapsed_since(t0) < 50);
        nipc_abort_clear(a);
        echo(s, 2, 100);
        nipc_session_close(s);
    }
    CHECK_EQ_U64(tp_finish(srv, 10000), 0);

    /* Server side. */
    nipc_listener_t *l = NULL;
    CHECK_OK(nipc_listener_create(f.run, SVC, &scfg, &l));
    REQUIRE(l);
    t_proc_t *cl = tp_start_client(f.run, SVC, &scfg, "idle");
    s = NULL;
    CHECK_OK(accept_one(l, &scfg, 1, &s));
    if (s) {
        expect_abort(s, a);
        nipc_session_close(s);
    }
    CHECK_EQ_U64(tp_finish(cl, 10000), 0);
    nipc_listener_free(l);
    nipc_abort_free(a);
    fx_close(&f);
}

/* SHM: a publish never waits. With the server busy on a request, a second
 * one is refused locally at once; the session goes on. */
static void send_never_waits_shm(nipc_session_t *s)
{
    CHECK_OK(send_u32(s, TP_DELAY, 1, 300));
    tp_fill(g_buf, 8 * MIB, 2);
    nipc_header_t h = nipc_header_make(NIPC_KIND_REQUEST, TP_ECHO, 0, 0, 0, 1, 2);
    unsigned long long t0 = t_now_ms();
    CHECK_ERR(nipc_session_send(s, &h, g_buf, 8 * MIB, 1, NULL), NIPC_ERR_LIMIT_EXCEEDED);
    CHECK(elapsed_since(t0) < 50);
    nipc_message_t m;
    CHECK_OK(nipc_session_receive(s, &m, 5000, NULL));
    CHECK_EQ_U64(m.header.message_id, 1);
    t0 = t_now_ms();
    CHECK_OK(nipc_session_send(s, &h, g_buf, 8 * MIB, 1, NULL));
    CHECK(elapsed_since(t0) < 200);
    CHECK_OK(nipc_session_receive(s, &m, 5000, NULL));
    CHECK(m.header.payload_len == 8 * MIB && tp_verify(m.payload, 8 * MIB, tp_resp_seed(2)));
}

/* A peer that stops reading cannot hold a sender past its deadline; a
 * message cut after its first packet breaks the session. */
static void send_timeout(void)
{
    fixture_t f;
    REQUIRE(fx_open(&f));
    nipc_transport_config_t scfg = cfg_for(8 * MIB, 1);
    t_proc_t *srv = tp_start_server(f.run, SVC, f.sync, 1, "echo", &scfg);
    REQUIRE(srv);
    nipc_session_t *s = connect_ok(&f, &scfg);
    if (s && is_shm()) {
        send_never_waits_shm(s);
        nipc_session_close(s);
        s = NULL;
    }
    if (s) {
        CHECK_OK(send_u32(s, TP_DELAY, 1, 600)); /* the server sleeps, not reading */
        /* Single-packet messages until the socket is full: the one that
         * cannot leave times out and the session stays whole. (Named Pipe
         * packets are 64 KiB, UDS ones about 200 KiB.) */
        const uint32_t per_packet = nipc_session_info(s)->packet_size - 32u;
        const size_t one = per_packet < 100000u ? per_packet : 100000u;
        uint64_t id = 100;
        nipc_error_t err = NIPC_OK;
        unsigned long long t0 = 0;
        for (; id < 200; id++) {
            tp_fill(g_buf, one, id);
            nipc_header_t h1 = nipc_header_make(NIPC_KIND_REQUEST, TP_ECHO, 0, 0, 0, 1, id);
            t0 = t_now_ms();
            err = nipc_session_send(s, &h1, g_buf, one, 100, NULL);
            if (err != NIPC_OK)
                break;
        }
        CHECK_ERR(err, NIPC_ERR_TIMEOUT);
        CHECK(elapsed_since(t0) >= 95);
        uint64_t queued = id - 100; /* echoes that went out before the timeout */
        CHECK(queued > 0 && id < 200);
        CHECK_EQ_U64(nipc_session_in_flight(s), 1 + queued);
        /* The server wakes up and answers the delay and every queued echo. */
        int answered = 0;
        for (uint64_t k = 0; k < 1 + queued; k++) {
            nipc_message_t m;
            if (nipc_session_receive(s, &m, 5000, NULL) == NIPC_OK &&
                (m.header.message_id == 1 ||
                 (m.header.payload_len == one &&
                  tp_verify(m.payload, one, tp_resp_seed(m.header.message_id)))))
                answered++;
        }
        CHECK_EQ_U64(answered, 1 + queued);
        CHECK_EQ_U64(nipc_session_in_flight(s), 0);

        /* A message cut after its first packets breaks the session. */
        CHECK_OK(send_u32(s, TP_DELAY, 1, 600));
        tp_fill(g_buf, 8 * MIB, 2);
        nipc_header_t h = nipc_header_make(NIPC_KIND_REQUEST, TP_ECHO, 0, 0, 0, 1, 2);
        t0 = t_now_ms();
        CHECK_ERR(nipc_session_send(s, &h, g_buf, 8 * MIB, 200, NULL), NIPC_ERR_TIMEOUT);
        unsigned long long took = elapsed_since(t0);
        CHECK(took >= 195 && took < T_MS(200 + 300));
        CHECK_ERR(send_req(s, TP_ECHO, 3, NULL, 0), NIPC_ERR_DISCONNECTED);
        CHECK_EQ_U64(nipc_session_in_flight(s), 0);
        nipc_session_close(s);
    }
    /* It answers the delay into a closed session, then reads half a message
     * and the close: both end the session normally. */
    CHECK_EQ_U64(tp_finish(srv, 10000), 0);
    fx_close(&f);
}

/* ============================================================ listener */

typedef struct accept_job {
    nipc_listener_t *l;
    nipc_error_t err;
    unsigned long long ended;
} accept_job_t;

static void accept_thread(void *arg)
{
    accept_job_t *job = arg;
    nipc_pending_t *p = NULL;
    job->err = nipc_listener_accept(job->l, 10000, &p);
    job->ended = t_now_ms();
    nipc_pending_free(p);
}

static void listener_accept_wake(void)
{
    fixture_t f;
    REQUIRE(fx_open(&f));
    nipc_listener_t *l = NULL;
    CHECK_OK(nipc_listener_create(f.run, SVC, NULL, &l));
    REQUIRE(l);
    nipc_pending_t *p = NULL;
    unsigned long long t0 = t_now_ms();
    CHECK_ERR(nipc_listener_accept(l, 0, &p), NIPC_ERR_TIMEOUT);
    CHECK(elapsed_since(t0) < 50);
    t0 = t_now_ms();
    CHECK_ERR(nipc_listener_accept(l, 150, &p), NIPC_ERR_TIMEOUT);
    unsigned long long took = elapsed_since(t0);
    CHECK(took >= 145 && took < T_MS(150 + 250));

    /* A wake from another thread ends a blocked accept at once. */
    accept_job_t job = {l, NIPC_ERR__COUNT, 0};
    nipc__thread_t *th = NULL;
    CHECK_OK(nipc__thread_start(&th, accept_thread, &job));
    t_sleep_ms(100); /* let it block; the wake is sticky anyway */
    unsigned long long woke = t_now_ms();
    nipc_listener_wake(l);
    nipc__thread_join(th);
    CHECK_ERR(job.err, NIPC_ERR_TIMEOUT);
    CHECK(job.ended - woke < 200);

    /* Connecting to an endpoint nobody serves. */
    nipc_listener_free(l);
    nipc_session_t *s = NULL;
    CHECK_ERR(nipc_session_connect(f.run, SVC, NULL, &s), NIPC_ERR_NOT_FOUND);
    CHECK_ERR(nipc_session_connect(f.run, "a/b", NULL, &s), NIPC_ERR_BAD_SERVICE_NAME);
    CHECK_ERR(nipc_listener_create(f.run, "..", NULL, &l), NIPC_ERR_BAD_SERVICE_NAME);
    fx_close(&f);
}

/* ================================================================ main */

int main(int argc, char **argv)
{
    t_init(argc, argv);
    int code;
    if (tp_peer_dispatch(argc, argv, &code))
        return code;

    /* --profile N selects the transport; other arguments name cases. */
    char *args[64];
    int n = 0;
    for (int i = 0; i < argc && n < 63; i++) {
        if (strcmp(argv[i], "--profile") == 0 && i + 1 < argc) {
            g_profile = (uint32_t)strtoul(argv[++i], NULL, 0);
            continue;
        }
        args[n++] = argv[i];
    }
    args[n] = NULL;
    fprintf(stderr, "transport profile %#x\n", g_profile);
    g_buf = malloc(BIG_LIMIT);
    if (!g_buf)
        return 1;

    static const t_case_t cases[] = {
        T_CASE(payload_sizes),          T_CASE(limits_and_agreement),
        T_CASE(batches),                T_CASE(pipelining),
        T_CASE(concurrent_sessions),    T_CASE(handshake_profiles), T_CASE(handshake_sealed_profile),
        T_CASE(handshake_rejections),   T_CASE(handshake_silent_client),
        T_CASE(handshake_silent_server), T_CASE(death_during_handshake),
        T_CASE(death_mid_message),        T_CASE(death_while_waiting),
        T_CASE(receive_timeout),        T_CASE(abort_receive),
        T_CASE(send_timeout),           T_CASE(listener_accept_wake),
    };
    int rc = t_run(cases, sizeof cases / sizeof cases[0], n, args);
    free(g_buf);
    return rc;
}
