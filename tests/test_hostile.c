/*
 * Hostile input at Level 2 and Level 3 that the per-module suites do not
 * reach (docs/hardening.md lists every class and where it is covered):
 *
 *  - hostile_responses: a provider that completes a valid handshake and
 *    then answers each typed call with one rule broken (a batch flag where
 *    none belongs, the wrong item count, a short batch item, a short or
 *    unterminated payload, a bad layout, every non-OK status). The client
 *    reports the precise error, after its one at-least-once retry, and the
 *    next refresh recovers.
 *  - colliding_snapshot_hashes: a provider whose snapshot gives 30,000
 *    items the same hash. The cache indexes by name instead of probing
 *    quadratically, and every lookup is still exact; two honest names with
 *    the same djb2 hash and length are told apart.
 *  - slow_loris_chunks: a client that sends the first chunks of a request
 *    and stalls is dropped after the server's handshake timeout, while
 *    another client is served; a slow but steady client whose chunks come
 *    further apart than the server's 100 ms receive slices is answered.
 * Providers run in threads of this process; the hostile peers are written
 * against the packet layer (transport_internal.h).
 */
#include "test.h"

#include <stdatomic.h>

#include "corpus/corpus.h"
#include "netipc/cache.h"
#include "netipc/codec.h"
#include "netipc/service.h"
#include "netipc/transport.h"
#include "platform/platform.h"
#include "support.h"
#include "transport/transport_internal.h"

#define SVC "hostile"

static void put32(uint8_t *p, uint32_t v)
{
    memcpy(p, &v, 4);
}

static void put64(uint8_t *p, uint64_t v)
{
    memcpy(p, &v, 8);
}

/* ================================================== hostile responses */

enum {
    R_BATCH_FLAG,  /* a single answer flagged BATCH */
    R_NO_BATCH,    /* a batch answer without the flag */
    R_WRONG_COUNT, /* a batch answer with one item too few */
    R_SHORT_ITEM,  /* a batch answer whose items are 4 bytes */
    R_SHORT,       /* a 4-byte INCREMENT answer */
    R_NO_NUL,      /* STRING_REVERSE without its NUL */
    R_BAD_LAYOUT,  /* a snapshot with layout version 2 */
    R_STATUS,      /* an empty answer with status `status` */
    R_HONEST,      /* the right INCREMENT answer */
};

typedef struct rogue {
    nipc_listener_t *l;
    atomic_int mode, status, stop;
    atomic_int answered;
} rogue_t;

/* Builds the hostile answer to `req` in buf; returns its length. */
static size_t craft(rogue_t *r, const nipc_message_t *req, nipc_header_t *h, uint8_t *buf)
{
    int mode = atomic_load(&r->mode);
    uint32_t n = req->header.item_count;
    *h = nipc_header_make(NIPC_KIND_RESPONSE, req->header.code, 0, NIPC_STATUS_OK, 0, 1,
                          req->header.message_id);
    switch (mode) {
    case R_BATCH_FLAG:
        h->flags = NIPC_FLAG_BATCH;
        if (req->header.code == NIPC_METHOD_STRING_REVERSE) {
            put32(buf, 8);
            put32(buf + 4, 0);
            buf[8] = 0;
            return 9;
        }
        if (req->header.code == NIPC_METHOD_CGROUPS_SNAPSHOT) {
            nipc_cgroups_builder_t b;
            size_t len = 0;
            nipc_cgroups_builder_init(&b, buf, 4096, 0, 0, 1);
            nipc_cgroups_builder_finish(&b, &len);
            return len;
        }
        put64(buf, 1);
        return 8;
    case R_NO_BATCH:
    case R_WRONG_COUNT:
    case R_SHORT_ITEM: {
        uint32_t items = mode == R_WRONG_COUNT ? n - 1 : n;
        uint32_t item_len = mode == R_SHORT_ITEM ? 4 : 8;
        for (uint32_t i = 0; i < items; i++) {
            put32(buf + 8 * i, 8 * i);
            put32(buf + 8 * i + 4, item_len);
            put64(buf + 8 * items + 8 * i, i);
        }
        h->flags = (uint16_t)(mode == R_NO_BATCH ? 0 : NIPC_FLAG_BATCH);
        h->item_count = items;
        return 16u * items;
    }
    case R_SHORT:
        put32(buf, 1);
        return 4;
    case R_NO_NUL:
        put32(buf, 8);
        put32(buf + 4, 3);
        memcpy(buf + 8, "cbaX", 4);
        return 12;
    case R_BAD_LAYOUT: {
        nipc_cgroups_builder_t b;
        size_t len = 0;
        nipc_cgroups_builder_init(&b, buf, 4096, 0, 0, 1);
        nipc_cgroups_builder_finish(&b, &len);
        buf[0] = 2; /* layout_version */
        return len;
    }
    case R_HONEST: {
        uint64_t v = 0;
        nipc_increment_decode(req->payload, req->header.payload_len, &v);
        put64(buf, v + 1);
        return 8;
    }
    default:
        h->transport_status = (uint16_t)atomic_load(&r->status);
        return 0;
    }
}

static void rogue_main(void *arg)
{
    rogue_t *r = arg;
    nipc_transport_config_t cfg = {.max_request_payload_bytes = 4096,
                                   .max_response_payload_bytes = 4096,
                                   .handshake_timeout_ms = T_MS(2000)};
    static uint8_t out[4096];
    while (!atomic_load(&r->stop)) {
        nipc_pending_t *p = NULL;
        nipc_session_t *s = NULL;
        if (nipc_listener_accept(r->l, 50, &p) != NIPC_OK)
            continue;
        if (nipc_pending_accept(p, &cfg, 1, &s) != NIPC_OK)
            continue;
        while (!atomic_load(&r->stop)) {
            nipc_message_t m;
            nipc_error_t err = nipc_session_receive(s, &m, 50, NULL);
            if (err == NIPC_ERR_TIMEOUT)
                continue;
            if (err != NIPC_OK)
                break;
            nipc_header_t h;
            size_t len = craft(r, &m, &h, out);
            atomic_fetch_add(&r->answered, 1);
            if (nipc_session_send(s, &h, out, len, T_MS(2000), NULL) != NIPC_OK)
                break;
        }
        nipc_session_close(s);
    }
}

typedef struct expect {
    int mode;
    uint16_t status;
    int call; /* 0 increment, 1 batch, 2 string reverse, 3 snapshot */
    nipc_error_t want;
} expect_t;

static nipc_error_t call_once(nipc_client_t *c, int call)
{
    uint64_t one = 0, in[3] = {1, 2, 3}, out[3];
    nipc_str_t str;
    nipc_cgroups_view_t v;
    switch (call) {
    case 0:
        return nipc_client_increment(c, 5, &one, 0);
    case 1:
        return nipc_client_increment_batch(c, in, 3, out, 0);
    case 2:
        return nipc_client_string_reverse(c, "abc", 3, &str, 0);
    default:
        return nipc_client_cgroups_snapshot(c, &v, 0);
    }
}

static void hostile_responses(void)
{
    static const expect_t cases[] = {
        {R_BATCH_FLAG, 0, 0, NIPC_ERR_BAD_RESPONSE},
        {R_BATCH_FLAG, 0, 2, NIPC_ERR_BAD_RESPONSE},
        {R_BATCH_FLAG, 0, 3, NIPC_ERR_BAD_RESPONSE},
        {R_NO_BATCH, 0, 1, NIPC_ERR_BAD_RESPONSE},
        {R_WRONG_COUNT, 0, 1, NIPC_ERR_BAD_RESPONSE},
        {R_SHORT_ITEM, 0, 1, NIPC_ERR_TRUNCATED},
        {R_SHORT, 0, 0, NIPC_ERR_TRUNCATED},
        {R_NO_NUL, 0, 2, NIPC_ERR_MISSING_NUL},
        {R_BAD_LAYOUT, 0, 3, NIPC_ERR_BAD_LAYOUT},
        {R_STATUS, NIPC_STATUS_UNSUPPORTED, 0, NIPC_ERR_UNSUPPORTED},
        {R_STATUS, NIPC_STATUS_BAD_ENVELOPE, 0, NIPC_ERR_REMOTE_BAD_ENVELOPE},
        {R_STATUS, NIPC_STATUS_INTERNAL_ERROR, 2, NIPC_ERR_REMOTE_INTERNAL},
        {R_STATUS, 99, 3, NIPC_ERR_BAD_RESPONSE},
        {R_STATUS, NIPC_STATUS_AUTH_FAILED, 1, NIPC_ERR_BAD_RESPONSE},
    };
    char run[512];
    REQUIRE(t_mkdtemp(run, sizeof run));
    int fds = t_open_handles();
    static rogue_t r;
    memset(&r, 0, sizeof r);
    nipc_transport_config_t lc = {0};
    REQUIRE(nipc_listener_create(run, SVC, &lc, &r.l) == NIPC_OK);
    nipc__thread_t *th = NULL;
    REQUIRE(nipc__thread_start(&th, rogue_main, &r) == NIPC_OK);

    nipc_client_config_t cc = {.max_request_batch_items = 4, .call_timeout_ms = T_MS(3000)};
    nipc_client_t *c = NULL;
    REQUIRE(nipc_client_create(run, SVC, &cc, &c) == NIPC_OK);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const expect_t *e = &cases[i];
        atomic_store(&r.mode, e->mode);
        atomic_store(&r.status, e->status);
        int before = atomic_load(&r.answered);
        nipc_client_refresh(c);
        CHECK(nipc_client_ready(c));
        nipc_error_t err = call_once(c, e->call);
        if (err != e->want)
            fprintf(stderr, "case %zu: %s, expected %s\n", i, nipc_error_name(err),
                    nipc_error_name(e->want));
        CHECK_ERR(err, e->want);
        /* Every failed attempt, a remote status included, is tried once
         * more on a new connection (at-least-once), never a third time. */
        CHECK_EQ_U64(atomic_load(&r.answered) - before, 2);
        CHECK_EQ_U64(nipc_client_state(c), NIPC_CLIENT_BROKEN);
        nipc_client_status_t st;
        nipc_client_status(c, &st);
        CHECK_ERR(st.last_error, e->want);
    }
    /* An honest answer is accepted again after all that. */
    atomic_store(&r.mode, R_HONEST);
    nipc_client_refresh(c);
    uint64_t out = 0;
    CHECK_OK(nipc_client_increment(c, 41, &out, 0));
    CHECK_EQ_U64(out, 42);
    nipc_client_free(c);

    atomic_store(&r.stop, 1);
    nipc__thread_join(th);
    nipc_listener_free(r.l);
    CHECK_EQ_U64(t_dir_entries(run), 0);
    CHECK_EQ_U64(t_open_handles(), fds);
    t_rmtree(run);
}

/* ============================================ colliding snapshot hashes */

static t_bytes_t snap; /* what snapshot providers serve */

#define COLLIDING 30000u

static void name_of(uint32_t i, char *buf, size_t cap)
{
    snprintf(buf, cap, "cg-%06u", i);
}

/* Serves `build` as a snapshot and loads it into a cache. */
static nipc_cgroups_cache_t *serve_and_load(const char *run, nipc_server_t **srv,
                                            unsigned long long *load_ms)
{
    nipc_server_config_t cfg = {.max_response_payload_bytes = 4u << 20};
    if (nipc_server_create_cgroups_snapshot(run, SVC, &cfg, t_snapshot_handler, &snap, srv) !=
            NIPC_OK ||
        nipc_server_start(*srv) != NIPC_OK)
        return NULL;
    nipc_client_config_t cc = {.max_payload_ceiling = 4u << 20};
    nipc_cgroups_cache_t *cache = NULL;
    if (nipc_cgroups_cache_create(run, SVC, &cc, &cache) != NIPC_OK)
        return NULL;
    unsigned long long t0 = t_now_ms();
    nipc_error_t err = nipc_cgroups_cache_refresh(cache, T_MS(10000));
    *load_ms = t_now_ms() - t0;
    if (err != NIPC_OK) {
        fprintf(stderr, "refresh: %s\n", nipc_error_name(err));
        nipc_cgroups_cache_free(cache);
        return NULL;
    }
    return cache;
}

static void colliding_snapshot_hashes(void)
{
    char run[512];
    REQUIRE(t_mkdtemp(run, sizeof run));
    /* Every item claims hash 7: a provider trying to make every lookup a
     * scan of the whole table. */
    nipc_cgroups_builder_t b;
    size_t cap = (size_t)COLLIDING * 96u + 64u;
    snap.ptr = malloc(cap);
    REQUIRE(snap.ptr);
    nipc_cgroups_builder_init(&b, snap.ptr, cap, COLLIDING, 1, 9);
    char name[32], path[64];
    for (uint32_t i = 0; i < COLLIDING; i++) {
        name_of(i, name, sizeof name);
        int pl = snprintf(path, sizeof path, "/sys/fs/cgroup/%s", name);
        nipc_cgroups_builder_add(&b, 7, 0, 1, name, (uint32_t)strlen(name), path, (uint32_t)pl);
    }
    REQUIRE(nipc_cgroups_builder_finish(&b, &snap.len) == NIPC_OK);

    nipc_server_t *srv = NULL;
    unsigned long long load_ms = 0;
    nipc_cgroups_cache_t *cache = serve_and_load(run, &srv, &load_ms);
    REQUIRE(cache);
    /* Quadratic probing would take ~450 million probes here. */
    CHECK(load_ms < T_MS(3000));
    unsigned long long t0 = t_now_ms();
    int found = 0, wrong = 0;
    nipc_cgroups_cache_read_lock(cache);
    for (uint32_t i = 0; i < COLLIDING; i++) {
        name_of(i, name, sizeof name);
        nipc_cgroup_item_t it = {0};
        if (t_item_copy(nipc_cgroups_cache_get(cache, 7, name, (uint32_t)strlen(name)), &it)) {
            found++;
            wrong += it.name.len != strlen(name) || memcmp(it.name.ptr, name, it.name.len) != 0;
        }
    }
    /* The right name with another hash is not there. */
    nipc_cgroup_item_t other = {0};
    CHECK(!t_item_copy(nipc_cgroups_cache_get(cache, nipc_djb2("cg-000001", 9), "cg-000001", 9),
                       &other));
    nipc_cgroups_cache_read_unlock(cache);
    unsigned long long lookup_ms = t_now_ms() - t0;
    CHECK_EQ_U64(found, COLLIDING);
    CHECK_EQ_U64(wrong, 0);
    CHECK(lookup_ms < T_MS(3000));
    fprintf(stderr, "  colliding hashes: %u items loaded in %llu ms, all looked up in %llu ms\n",
            COLLIDING, load_ms, lookup_ms);
    nipc_cgroups_cache_free(cache);
    nipc_server_destroy(srv);
    free(snap.ptr);

    /* Honest hashes, two names with equal djb2 and length ("aB", "b!"):
     * the fast path meets the wrong one first and must keep looking. */
    REQUIRE(nipc_djb2("aB", 2) == nipc_djb2("b!", 2));
    cap = 4096;
    snap.ptr = malloc(cap);
    REQUIRE(snap.ptr);
    nipc_cgroups_builder_init(&b, snap.ptr, cap, 3, 0, 1);
    nipc_cgroups_builder_add(&b, nipc_djb2("aB", 2), 0, 1, "aB", 2, "/aB", 3);
    nipc_cgroups_builder_add(&b, nipc_djb2("b!", 2), 0, 1, "b!", 2, "/b!", 3);
    nipc_cgroups_builder_add(&b, nipc_djb2("zz", 2), 0, 1, "zz", 2, "/zz", 3);
    REQUIRE(nipc_cgroups_builder_finish(&b, &snap.len) == NIPC_OK);
    cache = serve_and_load(run, &srv, &load_ms);
    REQUIRE(cache);
    nipc_cgroup_item_t it = {0};
    nipc_cgroups_cache_read_lock(cache);
    CHECK(t_item_copy(nipc_cgroups_cache_get(cache, nipc_djb2("b!", 2), "b!", 2), &it));
    CHECK(it.path.len == 3 && memcmp(it.path.ptr, "/b!", 3) == 0);
    CHECK(t_item_copy(nipc_cgroups_cache_get(cache, nipc_djb2("aB", 2), "aB", 2), &it));
    CHECK(it.path.len == 3 && memcmp(it.path.ptr, "/aB", 3) == 0);
    /* Same hash and length, a name nobody sent. */
    CHECK(!t_item_copy(nipc_cgroups_cache_get(cache, nipc_djb2("aB", 2), "a!", 2), &it));
    nipc_cgroups_cache_read_unlock(cache);
    nipc_cgroups_cache_free(cache);
    nipc_server_destroy(srv);
    free(snap.ptr);
    snap.ptr = NULL;
    t_rmtree(run);
}

/* ================================================== slow-loris chunks */

/* A hand-written handshake proposing `packet` bytes a packet. */
static nipc__conn_t *raw_session(const char *run, uint32_t packet, uint32_t req_limit)
{
    nipc__conn_t *conn = NULL;
    if (nipc__conn_connect(run, SVC, &conn) != NIPC_OK)
        return NULL;
    nipc_hello_t hello = {
        .layout_version = NIPC_LAYOUT_VERSION,
        .supported_profiles = NIPC_PROFILE_BASELINE,
        .max_request_payload_bytes = req_limit,
        .max_request_batch_items = 1,
        .max_response_payload_bytes = 4096,
        .max_response_batch_items = 1,
        .packet_size = packet,
    };
    uint8_t buf[128];
    nipc_header_t h =
        nipc_header_make(NIPC_KIND_CONTROL, NIPC_CONTROL_HELLO, 0, 0, NIPC_HELLO_SIZE, 1, 0);
    nipc_header_encode(&h, buf);
    nipc_hello_encode(&hello, buf + NIPC_HEADER_SIZE);
    uint64_t deadline = nipc__now_ms() + T_MS(3000);
    size_t got = 0;
    nipc_hello_ack_t ack;
    if (nipc__conn_send(conn, buf, NIPC_HEADER_SIZE + NIPC_HELLO_SIZE, NULL, 0, deadline, NULL) !=
            NIPC_OK ||
        nipc__conn_recv(conn, buf, sizeof buf, NULL, 0, &got, 1, deadline, NULL) != NIPC_OK ||
        got < NIPC_HEADER_SIZE + NIPC_HELLO_ACK_SIZE ||
        nipc_hello_ack_decode(buf + NIPC_HEADER_SIZE, got - NIPC_HEADER_SIZE, &ack) != NIPC_OK ||
        ack.agreed_packet_size != packet) {
        nipc__conn_close(conn);
        return NULL;
    }
    return conn;
}

static void slow_loris_chunks(void)
{
    char run[512];
    REQUIRE(t_mkdtemp(run, sizeof run));
    nipc_server_config_t cfg = {.max_request_payload_bytes = 8192,
                                .handshake_timeout_ms = T_MS(600)};
    nipc_server_t *srv = NULL;
    REQUIRE(nipc_server_create_increment(run, SVC, &cfg, t_increment_handler, NULL, &srv) ==
            NIPC_OK);
    REQUIRE(nipc_server_start(srv) == NIPC_OK);

    /* The first two 512-byte packets of an 8000-byte request, then nothing. */
    nipc__conn_t *loris = raw_session(run, 512, 8192);
    REQUIRE(loris);
    static uint8_t payload[8000];
    uint8_t hb[NIPC_HEADER_SIZE], cb[NIPC_CHUNK_HEADER_SIZE];
    nipc_header_t h =
        nipc_header_make(NIPC_KIND_REQUEST, NIPC_METHOD_INCREMENT, 0, 0, sizeof payload, 1, 1);
    nipc_header_encode(&h, hb);
    uint64_t deadline = nipc__now_ms() + T_MS(2000);
    CHECK_OK(nipc__conn_send(loris, hb, sizeof hb, payload, 480, deadline, NULL));
    nipc_chunk_header_t ch = {.magic = NIPC_CHUNK_MAGIC,
                              .version = NIPC_PROTOCOL_VERSION,
                              .message_id = 1,
                              .total_message_len = NIPC_HEADER_SIZE + sizeof payload,
                              .chunk_index = 1,
                              .chunk_count = nipc_chunk_count(sizeof payload, 480, 512),
                              .chunk_payload_len = 480};
    nipc_chunk_header_encode(&ch, cb);
    CHECK_OK(nipc__conn_send(loris, cb, sizeof cb, payload + 480, 480, deadline, NULL));
    unsigned long long t0 = t_now_ms();

    /* Meanwhile an honest client is served. */
    nipc_client_t *c = NULL;
    REQUIRE(nipc_client_create(run, SVC, NULL, &c) == NIPC_OK);
    CHECK_EQ_U64(t_refresh_changed(c), 1);
    uint64_t out = 0;
    CHECK_OK(nipc_client_increment(c, 1, &out, 0));
    CHECK_EQ_U64(out, 2);

    /* The stalled message ends the loris's session without an answer once
     * the server's handshake timeout has passed (600 ms here). */
    uint8_t buf[128];
    size_t got = 0;
    CHECK_ERR(nipc__conn_recv(loris, buf, sizeof buf, NULL, 0, &got, 1, nipc__now_ms() + T_MS(5000),
                              NULL),
              NIPC_ERR_DISCONNECTED);
    unsigned long long took = t_now_ms() - t0;
    CHECK(took >= T_MS(600) - 50 && took < T_MS(600) + T_MS(1000));
    nipc__conn_close(loris);
    fprintf(stderr, "  slow loris dropped after %llu ms\n", took);

    /* A steady but slow client: a 1,000-byte INCREMENT request in three
     * packets 250 ms apart (the server polls in 100 ms slices) is answered. */
    nipc__conn_t *slow = raw_session(run, 512, 8192);
    REQUIRE(slow);
    static uint8_t big[1000];
    h = nipc_header_make(NIPC_KIND_REQUEST, NIPC_METHOD_INCREMENT, 0, 0, sizeof big, 1, 2);
    nipc_header_encode(&h, hb);
    deadline = nipc__now_ms() + T_MS(3000);
    CHECK_OK(nipc__conn_send(slow, hb, sizeof hb, big, 480, deadline, NULL));
    ch.message_id = 2;
    ch.total_message_len = NIPC_HEADER_SIZE + sizeof big;
    ch.chunk_count = nipc_chunk_count(sizeof big, 480, 512);
    for (uint32_t idx = 1, off = 480; off < sizeof big; idx++) {
        uint32_t n = sizeof big - off < 480 ? (uint32_t)(sizeof big - off) : 480;
        t_sleep_ms(250);
        ch.chunk_index = idx;
        ch.chunk_payload_len = n;
        nipc_chunk_header_encode(&ch, cb);
        CHECK_OK(nipc__conn_send(slow, cb, sizeof cb, big + off, n, deadline, NULL));
        off += n;
    }
    got = 0;
    CHECK_OK(nipc__conn_recv(slow, buf, sizeof buf, NULL, 0, &got, 1, deadline, NULL));
    nipc_header_t rh;
    CHECK_OK(nipc_header_decode(buf, got, &rh));
    CHECK_EQ_U64(rh.kind, NIPC_KIND_RESPONSE);
    CHECK_EQ_U64(rh.message_id, 2);
    CHECK_EQ_U64(rh.transport_status, NIPC_STATUS_OK);
    uint64_t answer = 0;
    CHECK_OK(nipc_increment_decode(buf + NIPC_HEADER_SIZE, got - NIPC_HEADER_SIZE, &answer));
    CHECK_EQ_U64(answer, 1); /* the payload starts with a zero u64 */
    nipc__conn_close(slow);

    CHECK_OK(nipc_client_increment(c, 2, &out, 0));
    nipc_client_free(c);
    /* The server counts an answer just after sending it. */
    nipc_server_stats_t st;
    unsigned long long end = t_now_ms() + T_MS(2000);
    do
        nipc_server_stats(srv, &st);
    while (st.requests < 3 && t_now_ms() < end);
    CHECK_EQ_U64(st.sessions_accepted, 3);
    CHECK_EQ_U64(st.requests, 3);
    nipc_server_destroy(srv);
    CHECK_EQ_U64(t_dir_entries(run), 0);
    t_rmtree(run);
}

/* ================================================ lookup server misuse */

/* Adds an item whose path is NULL with a length: an invalid argument. */
static nipc_error_t bad_cgl_handler(void *ctx, const nipc_cgroups_lookup_req_t *req,
                                    nipc_cgroups_lookup_builder_t *b)
{
    (void)ctx;
    (void)req;
    nipc_cgroups_lookup_item_t it = {.status = NIPC_CGROUP_UNKNOWN_PERMANENT, .path = {NULL, 3}};
    return nipc_cgroups_lookup_builder_add(b, &it, NULL);
}

static nipc_error_t apl_handler(void *ctx, const nipc_apps_lookup_req_t *req,
                                nipc_apps_lookup_builder_t *b)
{
    (void)ctx;
    for (uint32_t i = 0; i < req->item_count; i++) {
        nipc_apps_lookup_item_t it = {.status = NIPC_APP_UNKNOWN, .uid = NIPC_UID_UNSET};
        nipc_apps_lookup_req_pid(req, i, &it.pid);
        nipc_apps_lookup_builder_add(b, &it, NULL);
    }
    return NIPC_OK;
}

static void lookup_server_misuse(void)
{
    char run[512];
    REQUIRE(t_mkdtemp(run, sizeof run));
    nipc_server_t *srv = NULL;
    CHECK_ERR(nipc_server_create_cgroups_lookup(run, SVC, NULL, NULL, NULL, &srv),
              NIPC_ERR_INVALID_ARGUMENT);
    CHECK_ERR(nipc_server_create_apps_lookup(run, SVC, NULL, NULL, NULL, &srv),
              NIPC_ERR_INVALID_ARGUMENT);
    CHECK(srv == NULL);

    /* A handler that passes the builder a NULL string: the client is told
     * BAD_ENVELOPE, as for any invalid item. */
    REQUIRE(nipc_server_create_cgroups_lookup(run, SVC, NULL, bad_cgl_handler, NULL, &srv) ==
            NIPC_OK);
    REQUIRE(nipc_server_start(srv) == NIPC_OK);
    nipc_client_t *c = NULL;
    REQUIRE(nipc_client_create(run, SVC, NULL, &c) == NIPC_OK);
    CHECK_EQ_U64(t_refresh_changed(c), 1);
    nipc_str_t key = {"/x", 2};
    nipc_cgroups_lookup_view_t v;
    CHECK_ERR(nipc_client_cgroups_lookup(c, &key, 1, &v, 0), NIPC_ERR_REMOTE_BAD_ENVELOPE);
    nipc_client_free(c);
    nipc_server_destroy(srv);

    /* An APPS_LOOKUP request that does not decode: BAD_ENVELOPE, then the
     * session is closed. */
    REQUIRE(nipc_server_create_apps_lookup(run, SVC, NULL, apl_handler, NULL, &srv) == NIPC_OK);
    REQUIRE(nipc_server_start(srv) == NIPC_OK);
    nipc_session_t *s = NULL;
    REQUIRE(nipc_session_connect(run, SVC, NULL, &s) == NIPC_OK);
    nipc_header_t h = nipc_header_make(NIPC_KIND_REQUEST, NIPC_METHOD_APPS_LOOKUP, 0, 0, 0, 1, 1);
    CHECK_OK(nipc_session_send(s, &h, "abc", 3, T_MS(2000), NULL));
    nipc_message_t m;
    CHECK_OK(nipc_session_receive(s, &m, T_MS(2000), NULL));
    CHECK_EQ_U64(m.header.transport_status, NIPC_STATUS_BAD_ENVELOPE);
    CHECK_EQ_U64(m.header.payload_len, 0);
    CHECK_ERR(nipc_session_receive(s, &m, T_MS(2000), NULL), NIPC_ERR_DISCONNECTED);
    nipc_session_close(s);
    nipc_server_destroy(srv);
    CHECK_EQ_U64(t_dir_entries(run), 0);
    t_rmtree(run);
}

/* ==================================================== lying handlers */

static nipc_error_t long_rev_handler(void *ctx, nipc_str_t in, char *out, uint32_t cap,
                                     uint32_t *out_len)
{
    (void)ctx;
    (void)in;
    (void)out;
    *out_len = cap + 1; /* claims more than it was given */
    return NIPC_OK;
}

static nipc_error_t rev_handler(void *ctx, nipc_str_t in, char *out, uint32_t cap,
                                uint32_t *out_len)
{
    (void)ctx;
    if (in.len > cap)
        return NIPC_ERR_BUFFER_TOO_SMALL;
    memcpy(out, in.ptr, in.len);
    *out_len = in.len;
    return NIPC_OK;
}

static nipc_error_t long_snap_handler(void *ctx, void *buf, size_t cap, size_t *out_len)
{
    (void)ctx;
    (void)buf;
    *out_len = cap + 1;
    return NIPC_OK;
}

/* Runs one call of `kind` against a fresh server; the client's result. */
static nipc_error_t against(const char *run, int kind, const nipc_server_config_t *cfg)
{
    nipc_server_t *srv = NULL;
    nipc_error_t err;
    if (kind == 0)
        err = nipc_server_create_string_reverse(run, SVC, cfg, long_rev_handler, NULL, &srv);
    else if (kind == 1)
        err = nipc_server_create_string_reverse(run, SVC, cfg, rev_handler, NULL, &srv);
    else if (kind == 2)
        err = nipc_server_create_cgroups_snapshot(run, SVC, cfg, long_snap_handler, NULL, &srv);
    else
        err = nipc_server_create_increment(run, SVC, cfg, t_increment_handler, NULL, &srv);
    if (err == NIPC_OK)
        err = nipc_server_start(srv);
    nipc_client_config_t cc = {.max_request_batch_items = 4, .call_timeout_ms = T_MS(5000)};
    nipc_client_t *c = NULL;
    if (err == NIPC_OK)
        err = nipc_client_create(run, SVC, &cc, &c);
    if (err == NIPC_OK) {
        nipc_client_refresh(c);
        nipc_str_t str;
        nipc_cgroups_view_t v;
        uint64_t in[3] = {1, 2, 3}, out[3];
        if (kind <= 1)
            err = nipc_client_string_reverse(c, "abc", 3, &str, 0);
        else if (kind == 2)
            err = nipc_client_cgroups_snapshot(c, &v, 0);
        else
            err = nipc_client_increment_batch(c, in, 3, out, 0);
    }
    nipc_client_free(c);
    nipc_server_destroy(srv);
    return err;
}

/* Handlers that claim more than their buffer, and response limits too
 * small for any answer: LIMIT_EXCEEDED on the wire, OVERFLOW for the
 * client once growing cannot help. Odd single-item batches: BAD_ENVELOPE. */
static void lying_handlers(void)
{
    char run[512];
    REQUIRE(t_mkdtemp(run, sizeof run));
    nipc_server_t *srv = NULL;
    CHECK_ERR(nipc_server_create_increment(run, SVC, NULL, NULL, NULL, &srv),
              NIPC_ERR_INVALID_ARGUMENT);
    CHECK_ERR(nipc_server_create_string_reverse(run, SVC, NULL, NULL, NULL, &srv),
              NIPC_ERR_INVALID_ARGUMENT);
    CHECK_ERR(nipc_server_create_cgroups_snapshot(run, SVC, NULL, NULL, NULL, &srv),
              NIPC_ERR_INVALID_ARGUMENT);
    CHECK(srv == NULL);

    nipc_server_config_t deflt = {.max_request_batch_items = 4};
    nipc_server_config_t tiny = {.max_request_batch_items = 4, .max_response_payload_bytes = 8};
    nipc_server_config_t small = {.max_request_batch_items = 4, .max_response_payload_bytes = 32};
    CHECK_ERR(against(run, 0, &deflt), NIPC_ERR_OVERFLOW); /* string longer than its room */
    CHECK_ERR(against(run, 1, &tiny), NIPC_ERR_OVERFLOW);  /* no room for even "" */
    CHECK_ERR(against(run, 2, &deflt), NIPC_ERR_OVERFLOW); /* snapshot longer than its room */
    CHECK_ERR(against(run, 3, &small), NIPC_ERR_OVERFLOW); /* 3 answers need 48 bytes */

    /* A batch of one is not checked by Level 1: the server checks it. */
    REQUIRE(nipc_server_create_increment(run, SVC, &deflt, t_increment_handler, NULL, &srv) ==
            NIPC_OK);
    REQUIRE(nipc_server_start(srv) == NIPC_OK);
    static const struct {
        uint32_t off, len;
        size_t payload;
    } one[] = {
        {0, 8, 4},  /* payload shorter than the directory: TRUNCATED */
        {4, 8, 24}, /* offset not 8-aligned */
        {8, 8, 16}, /* item past the payload */
        {0, 4, 16}, /* item shorter than 8 bytes */
    };
    for (size_t i = 0; i < sizeof one / sizeof one[0]; i++) {
        nipc_transport_config_t tc = {.max_request_batch_items = 4};
        nipc_session_t *s = NULL;
        REQUIRE(nipc_session_connect(run, SVC, &tc, &s) == NIPC_OK);
        uint8_t p[24] = {0};
        put32(p, one[i].off);
        put32(p + 4, one[i].len);
        nipc_header_t h =
            nipc_header_make(NIPC_KIND_REQUEST, NIPC_METHOD_INCREMENT, NIPC_FLAG_BATCH, 0, 0, 1, 1);
        CHECK_OK(nipc_session_send(s, &h, p, one[i].payload, T_MS(2000), NULL));
        nipc_message_t m;
        CHECK_OK(nipc_session_receive(s, &m, T_MS(2000), NULL));
        CHECK_EQ_U64(m.header.transport_status, NIPC_STATUS_BAD_ENVELOPE);
        CHECK_ERR(nipc_session_receive(s, &m, T_MS(2000), NULL), NIPC_ERR_DISCONNECTED);
        nipc_session_close(s);
    }
    nipc_server_destroy(srv);
    CHECK_EQ_U64(t_dir_entries(run), 0);
    t_rmtree(run);
}

int main(int argc, char **argv)
{
    t_init(argc, argv);
    static const t_case_t cases[] = {
        T_CASE(hostile_responses), T_CASE(colliding_snapshot_hashes),
        T_CASE(slow_loris_chunks), T_CASE(lookup_server_misuse),
        T_CASE(lying_handlers),
    };
    return t_run(cases, sizeof cases / sizeof cases[0], argc, argv);
}
