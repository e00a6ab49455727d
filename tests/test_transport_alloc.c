/*
 * "Send and receive never allocate" (transport.h), measured: this program
 * is linked with -Wl,--wrap=malloc,calloc,realloc,free,strdup, so every
 * call the statically linked library makes goes through the counters
 * below. After both sides of a session are set up, a loop of sends and
 * receives on both sides (the server runs in a thread of this process) --
 * single messages, chunked messages, batches, pipelined requests, receive
 * timeouts, with deadlines and an abort object -- must not allocate or
 * free anything, on the baseline and on SHM.
 */
#include <pthread.h>
#include <stdatomic.h>

#include "alloc_count.h"
#include "netipc/transport.h"
#include "support.h"
#include "test.h"
#include "transport_peer.h"

/* ---------------------------------------------------------------- server */

#define SVC "alloc"
#define LIMIT 65536u
#define ROUNDS 200

typedef struct server {
    nipc_listener_t *l;
    nipc_transport_config_t cfg;
    nipc_session_t *s;
    uint8_t *resp;
    atomic_int ready;
    int failures;
    pthread_t th;
} server_t;

static void *server_main(void *arg)
{
    server_t *sv = arg;
    nipc_pending_t *p = NULL;
    sv->resp = malloc(LIMIT);
    if (nipc_listener_accept(sv->l, 5000, &p) != NIPC_OK ||
        nipc_pending_accept(p, &sv->cfg, 1, &sv->s) != NIPC_OK || !sv->resp) {
        sv->failures++;
        atomic_store(&sv->ready, -1);
        return NULL;
    }
    atomic_store(&sv->ready, 1);
    for (;;) {
        nipc_message_t m;
        nipc_error_t err = nipc_session_receive(sv->s, &m, 5000, NULL);
        if (err == NIPC_ERR_DISCONNECTED)
            break;
        if (err != NIPC_OK) {
            sv->failures++;
            break;
        }
        /* Echo: same code, flags, item count and payload (a batch stays a batch). */
        uint32_t len = m.header.payload_len;
        memcpy(sv->resp, m.payload, len);
        nipc_header_t h = nipc_header_make(NIPC_KIND_RESPONSE, m.header.code, m.header.flags, 0,
                                           0, m.header.item_count, m.header.message_id);
        if (nipc_session_send(sv->s, &h, sv->resp, len, 5000, NULL) != NIPC_OK) {
            sv->failures++;
            break;
        }
    }
    return NULL;
}

/* ---------------------------------------------------------------- client */

static int roundtrip(nipc_session_t *s, uint64_t id, const uint8_t *buf, size_t len,
                     uint16_t flags, uint32_t items, nipc_abort_t *abort)
{
    nipc_header_t h = nipc_header_make(NIPC_KIND_REQUEST, TP_ECHO, flags, 0, 0, items, id);
    nipc_message_t m;
    return nipc_session_send(s, &h, buf, len, 5000, abort) == NIPC_OK &&
           nipc_session_receive(s, &m, 5000, abort) == NIPC_OK && m.header.message_id == id &&
           m.header.payload_len == len && m.header.item_count == items &&
           memcmp(m.payload, buf, len) == 0;
}

static void hot_paths(uint32_t profile)
{
    char run[512];
    REQUIRE(t_mkdtemp(run, sizeof run));
    nipc_transport_config_t cfg = {
        .supported_profiles = profile,
        .max_request_payload_bytes = LIMIT,
        .max_response_payload_bytes = LIMIT,
        .max_request_batch_items = 64,
        .max_response_batch_items = 64,
        .packet_size = 1024, /* baseline: most messages below are chunked */
        .exact_profiles = 1,
    };
    server_t sv;
    memset(&sv, 0, sizeof sv);
    sv.cfg = cfg;
    CHECK_OK(nipc_listener_create(run, SVC, &cfg, &sv.l));
    REQUIRE(sv.l && pthread_create(&sv.th, NULL, server_main, &sv) == 0);
    nipc_session_t *s = NULL;
    CHECK_OK(nipc_session_connect(run, SVC, &cfg, &s));
    nipc_abort_t *abort = NULL;
    CHECK_OK(nipc_abort_create(&abort));
    uint8_t *buf = malloc(LIMIT), *batch = malloc(LIMIT);
    /* The server allocates its session after sending the ACK: wait for it. */
    while (atomic_load(&sv.ready) == 0)
        t_sleep_ms(1);
    REQUIRE(s && abort && buf && batch && atomic_load(&sv.ready) == 1);
    CHECK_EQ_U64(nipc_session_info(s)->selected_profile, profile);
    tp_fill(buf, LIMIT, 42);

    t_alloc_count_start();
    int bad = 0;
    uint64_t id = 1;
    for (int r = 0; r < ROUNDS; r++) {
        size_t len = ((size_t)r * 331u) % 5000u;
        bad += !roundtrip(s, id++, buf, len, 0, 1, NULL);          /* single or chunked */
        bad += !roundtrip(s, id++, buf, LIMIT, 0, 1, abort);       /* the largest, chunked */
        nipc_batch_builder_t b;                                    /* a batch */
        nipc_batch_builder_init(&b, batch, LIMIT, 40);
        for (uint32_t i = 0; i < 40; i++)
            nipc_batch_builder_add(&b, buf + i, i * 13u);
        size_t blen = 0;
        bad += nipc_batch_builder_finish(&b, &blen) != NIPC_OK;
        bad += !roundtrip(s, id++, batch, blen, NIPC_FLAG_BATCH, 40, abort);
        nipc_message_t m;                                          /* a receive timeout */
        if (r % 50 == 0)
            bad += nipc_session_receive(s, &m, 2, abort) != NIPC_ERR_TIMEOUT;
        if (profile == NIPC_PROFILE_BASELINE) {                    /* pipelined */
            for (int k = 0; k < 8; k++) {
                nipc_header_t h = nipc_header_make(NIPC_KIND_REQUEST, TP_ECHO, 0, 0, 0, 1,
                                                   id + (uint64_t)k);
                bad += nipc_session_send(s, &h, buf, 1500, 5000, NULL) != NIPC_OK;
            }
            for (int k = 0; k < 8; k++)
                bad += nipc_session_receive(s, &m, 5000, NULL) != NIPC_OK;
            id += 8;
        }
    }
    t_alloc_count_stop();
    CHECK_EQ_U64(bad, 0);
    long allocs = t_alloc_count_allocs(), frees = t_alloc_count_frees();
    if (allocs || frees)
        fprintf(stderr, "profile %#x: %ld allocations, %ld frees on the hot path\n", profile,
                allocs, frees);
    CHECK_EQ_U64(allocs, 0);
    CHECK_EQ_U64(frees, 0);
    /* The counters do count: setup and teardown allocate. */
    t_alloc_count_start();
    nipc_session_close(s);
    pthread_join(sv.th, NULL);
    nipc_session_close(sv.s);
    t_alloc_count_stop();
    CHECK(t_alloc_count_frees() > 0);
    CHECK_EQ_U64(sv.failures, 0);
    free(sv.resp);
    free(buf);
    free(batch);
    nipc_abort_free(abort);
    nipc_listener_free(sv.l);
    CHECK_EQ_U64(t_dir_entries(run), 0);
    t_rmtree(run);
}

static void baseline_hot_paths(void)
{
    hot_paths(NIPC_PROFILE_BASELINE);
}

static void shm_hot_paths(void)
{
    hot_paths(NIPC_PROFILE_SHM_HYBRID);
}

static void sealed_hot_paths(void)
{
    hot_paths(NIPC_PROFILE_SHM_SEALED);
}

int main(int argc, char **argv)
{
    t_init(argc, argv);
    static const t_case_t cases[] = {T_CASE(baseline_hot_paths), T_CASE(shm_hot_paths),
                                     T_CASE(sealed_hot_paths)};
    return t_run(cases, sizeof cases / sizeof cases[0], argc, argv);
}
