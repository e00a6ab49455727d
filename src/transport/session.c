/*
 * Level 1 sessions, platform-neutral: the handshake driven over a baseline
 * connection, SHM region setup and attach, outbound limits, message-id
 * tracking, chunking and reassembly, batch-directory validation, and the
 * routing of each message to SHM or the baseline.
 *
 * It relies on the platform transports for packet and region I/O
 * (transport_internal.h) and never interprets payloads. All buffers are
 * allocated when a session is created; send and receive never allocate.
 */
#include <stdlib.h>
#include <string.h>

#include "common/internal.h"
#include "platform/platform.h"
#include "protocol/handshake.h"
#include "transport/transport_internal.h"

#define SHM_ATTACH_RETRY_MS 5u
#define CONNECT_RETRY_MS 2u

struct nipc_session {
    nipc__conn_t *conn;
    nipc__shm_t *shm; /* NULL when the session runs on the baseline */
    nipc_session_info_t info;
    /* A failed receive leaves the stream unusable for reading, but a server
     * may still answer (LIMIT_EXCEEDED, BAD_ENVELOPE) before closing; a
     * failed send ends both directions. */
    int rx_broken, tx_broken;

    /* Limits of what this side sends and receives. */
    uint32_t tx_max_payload, tx_max_batch;
    uint32_t rx_max_payload, rx_max_batch;

    uint8_t tx_header[NIPC_HEADER_SIZE];
    uint8_t chunk_header[NIPC_CHUNK_HEADER_SIZE];
    uint8_t *rx_buf; /* 32-byte header + largest receivable payload */
    size_t rx_cap;

    uint64_t *in_flight; /* client: ids of unanswered requests */
    uint32_t in_flight_count, in_flight_max;

    /* Server: once a request has begun, its remaining chunks get at least
     * this long, whatever the receive's own (short, polling) timeout. */
    uint32_t rest_ms;
};

bool nipc_service_name_valid(const char *name)
{
    if (!name || !*name || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
        return 0;
    for (const char *p = name; *p; p++) {
        char c = *p;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-'))
            return 0;
    }
    return 1;
}

static uint32_t or_default(uint32_t v, uint32_t def)
{
    return v ? v : def;
}

/* -------------------------------------------------------------- lifecycle */

static void session_free(nipc_session_t *s)
{
    if (!s)
        return;
    nipc__shm_close(s->shm);
    nipc__conn_close(s->conn);
    free(s->rx_buf);
    free(s->in_flight);
    free(s);
}

void nipc_session_close(nipc_session_t *s)
{
    session_free(s);
}

const nipc_session_info_t *nipc_session_info(const nipc_session_t *s)
{
    return &s->info;
}

uint32_t nipc_session_in_flight(const nipc_session_t *s)
{
    return s->in_flight_count;
}

/* Allocates the session's buffers once the limits are agreed. */
static nipc_error_t session_setup(nipc_session_t *s, const nipc_hello_ack_t *ack, int is_server,
                                  uint32_t max_in_flight)
{
    nipc_session_info_t *i = &s->info;
    i->is_server = is_server;
    i->selected_profile = ack->selected_profile;
    i->max_request_payload = ack->agreed_max_request_payload_bytes;
    i->max_request_batch = ack->agreed_max_request_batch_items;
    i->max_response_payload = ack->agreed_max_response_payload_bytes;
    i->max_response_batch = ack->agreed_max_response_batch_items;
    i->packet_size = ack->agreed_packet_size;
    i->session_id = ack->session_id;
    i->server_profiles = ack->server_supported_profiles;
    i->peer_pid = nipc__conn_peer_pid(s->conn);
    if (s->shm) {
        i->shm_request_capacity = nipc__shm_request_capacity(s->shm);
        i->shm_response_capacity = nipc__shm_response_capacity(s->shm);
    }

    s->tx_max_payload = is_server ? i->max_response_payload : i->max_request_payload;
    s->tx_max_batch = is_server ? i->max_response_batch : i->max_request_batch;
    s->rx_max_payload = is_server ? i->max_request_payload : i->max_response_payload;
    s->rx_max_batch = is_server ? i->max_request_batch : i->max_response_batch;

    /* Room for the largest legal message, and over SHM for whatever the
     * peer's area can hold, so an over-limit request can still be read and
     * answered with LIMIT_EXCEEDED. */
    uint64_t cap = (uint64_t)NIPC_HEADER_SIZE + s->rx_max_payload;
    if (s->shm) {
        uint32_t area = is_server ? i->shm_request_capacity : i->shm_response_capacity;
        if (area > cap)
            cap = area;
    }
    if (cap > SIZE_MAX)
        return NIPC_ERR_NO_MEMORY;
    if (!s->shm) {
        /* The largest packet on the baseline: a full packet, or less when
         * no payload in either direction can fill one. */
        uint32_t most = s->tx_max_payload > s->rx_max_payload ? s->tx_max_payload
                                                              : s->rx_max_payload;
        uint64_t packet = (uint64_t)NIPC_HEADER_SIZE + most;
        if (packet > i->packet_size)
            packet = i->packet_size;
        nipc_error_t err = nipc__conn_reserve(s->conn, (size_t)packet);
        if (err != NIPC_OK)
            return err;
    }
    s->rx_cap = (size_t)cap;
    s->rx_buf = malloc(s->rx_cap);
    if (!s->rx_buf)
        return NIPC_ERR_NO_MEMORY;

    if (!is_server) {
        s->in_flight_max = s->shm ? 1u : max_in_flight;
        s->in_flight = malloc(s->in_flight_max * sizeof *s->in_flight);
        if (!s->in_flight)
            return NIPC_ERR_NO_MEMORY;
    }
    return NIPC_OK;
}

/* ---------------------------------------------------------------- server */

/* Reads the HELLO message (never chunked) into buf[NIPC__HANDSHAKE_BUF]. */
static nipc_error_t read_hello(nipc__conn_t *conn, uint8_t *buf, size_t *len, uint64_t deadline)
{
    nipc_error_t err = nipc__conn_recv(conn, buf, NIPC__HANDSHAKE_BUF, NULL, 0, len, 1, deadline,
                                       NULL);
    /* Upstream reads the handshake into 128 bytes and never notices a
     * longer record: the first 128 bytes decide, the rest is dropped. */
    if (err == NIPC_ERR_TOO_LARGE)
        return nipc__conn_skip_rest(conn, deadline);
    return err;
}

static nipc_error_t status_error(int status)
{
    switch (status) {
    case NIPC_STATUS_AUTH_FAILED:
        return NIPC_ERR_AUTH_FAILED;
    case NIPC_STATUS_UNSUPPORTED:
        return NIPC_ERR_UNSUPPORTED;
    case NIPC_STATUS_INCOMPATIBLE:
        return NIPC_ERR_INCOMPATIBLE;
    case NIPC_STATUS_LIMIT_EXCEEDED:
        return NIPC_ERR_LIMIT_EXCEEDED;
    default:
        return NIPC_ERR_HANDSHAKE;
    }
}

/* A configured packet size, clamped to what this side can send; 0 = automatic. */
static uint32_t packet_size_for(const nipc_transport_config_t *cfg, nipc__conn_t *conn)
{
    uint32_t want = cfg ? cfg->packet_size : 0;
    if (!want)
        return nipc__conn_auto_packet_size(conn);
    uint32_t most = nipc__conn_max_packet_size(conn);
    return want < most ? want : most;
}

/*
 * netipc's sealed profile rides along wherever upstream's SHM is asked for
 * (unless exact_profiles): selected with netipc peers, never with upstream
 * ones, which do not list it.
 */
static uint32_t with_sealed(uint32_t mask, const nipc_transport_config_t *cfg)
{
    if ((mask & (NIPC_PROFILE_SHM_HYBRID | NIPC_PROFILE_SHM_FUTEX)) && !(cfg && cfg->exact_profiles))
        mask |= nipc__shm_sealed_profile;
    return mask & (nipc__shm_sealed_profile | ~NIPC_PROFILE_SHM_SEALED);
}

static void make_offer(const nipc_transport_config_t *cfg, nipc__conn_t *conn,
                       nipc__server_offer_t *o)
{
    o->supported_profiles =
        with_sealed(or_default(cfg ? cfg->supported_profiles : 0, NIPC_PROFILE_BASELINE), cfg);
    /* Upstream servers run with preferred = supported; 0 here means that. */
    o->preferred_profiles = cfg && cfg->preferred_profiles
                                ? with_sealed(cfg->preferred_profiles, cfg)
                                : o->supported_profiles;
    o->max_request_payload =
        or_default(cfg ? cfg->max_request_payload_bytes : 0, NIPC_MAX_PAYLOAD_DEFAULT);
    o->max_response_payload =
        or_default(cfg ? cfg->max_response_payload_bytes : 0, NIPC_MAX_PAYLOAD_DEFAULT);
    o->packet_size = packet_size_for(cfg, conn);
    o->auth_token = cfg ? cfg->auth_token : 0;
}

/*
 * Decides the HELLO, then creates the shared memory of the profile it
 * selects: a file region (upstream's profiles) or a sealed memfd, with
 * areas that hold a whole message of the server's limits (posix.md,
 * "Capacity"). Upstream creates its regions before it reads the HELLO;
 * creating them after reading it and before sending the ACK is invisible
 * to peers, which look for them only once they have the ACK, and it leaves
 * no file behind for a session that ends up on the socket, on the sealed
 * profile or nowhere. A profile whose memory cannot be created leaves this
 * accept's offer (on Linux 0x02 and 0x04 together, as upstream) and the
 * HELLO is decided again; *create_err keeps why (SHM_ALLOC and friends).
 */
static int decide_and_create(const uint8_t *msg, size_t len, nipc__server_offer_t *offer,
                             const char *run_dir, const char *service, uint64_t session_id,
                             nipc_hello_t *hello, nipc_hello_ack_t *ack, nipc__shm_t **region,
                             nipc_error_t *create_err)
{
    uint64_t req = nipc__align64((uint64_t)NIPC_HEADER_SIZE + offer->max_request_payload);
    uint64_t resp = nipc__align64((uint64_t)NIPC_HEADER_SIZE + offer->max_response_payload);
    if (req > UINT32_MAX || resp > UINT32_MAX) { /* 32 + limit overflows: no SHM offered */
        offer->supported_profiles &= ~NIPC_PROFILE_SHM_MASK;
        offer->preferred_profiles &= ~NIPC_PROFILE_SHM_MASK;
    }
    for (;;) {
        int status = nipc__handshake_decide(msg, len, offer, session_id, hello, ack);
        uint32_t sel = ack->selected_profile, drop;
        nipc_error_t err;
        if (status != NIPC_STATUS_OK)
            return status;
        if (sel == NIPC_PROFILE_SHM_SEALED) {
            err = nipc__shm_create_sealed((uint32_t)req, (uint32_t)resp, region);
            drop = sel;
        } else if (sel & nipc__shm_profiles) {
            err = nipc__shm_create(run_dir, service, session_id, sel, offer->auth_token,
                                   (uint32_t)req, (uint32_t)resp, region);
            drop = nipc__shm_region_per_profile ? sel : nipc__shm_profiles;
        } else {
            return status;
        }
        if (err == NIPC_OK)
            return status;
        *create_err = err;
        offer->supported_profiles &= ~drop;
        offer->preferred_profiles &= ~drop;
    }
}

static nipc_error_t session_accept(nipc__conn_t *conn, const char *run_dir, const char *service,
                                   const nipc_transport_config_t *cfg, uint64_t session_id,
                                   nipc_session_t **out)
{
    nipc__server_offer_t offer;
    make_offer(cfg, conn, &offer);
    uint32_t hs_timeout =
        or_default(cfg ? cfg->handshake_timeout_ms : 0, NIPC_HANDSHAKE_TIMEOUT_DEFAULT_MS);
    uint64_t deadline = nipc__deadline(hs_timeout);

    nipc__shm_t *region = NULL;
    nipc_session_t *s = NULL;
    uint8_t buf[NIPC__HANDSHAKE_BUF];
    size_t len = 0;
    nipc_error_t err = read_hello(conn, buf, &len, deadline);
    if (err != NIPC_OK)
        goto fail;

    nipc_hello_t hello = {0}; /* not decoded when the HELLO is rejected early */
    nipc_hello_ack_t ack;
    nipc_error_t create_err = NIPC_OK;
    int status = decide_and_create(buf, len, &offer, run_dir, service, session_id, &hello, &ack,
                                   &region, &create_err);
    if (status == NIPC__HS_CLOSE) {
        err = NIPC_ERR_HANDSHAKE;
        goto fail;
    }
    /* netipc's own profile is shown only to a client that lists it: an
     * upstream client reads exactly what an upstream server would send. */
    if (!(hello.supported_profiles & NIPC_PROFILE_SHM_SEALED))
        ack.server_supported_profiles &= ~NIPC_PROFILE_SHM_SEALED;
    nipc__handshake_encode_ack(status, &ack, buf);
    if (region && ack.selected_profile == NIPC_PROFILE_SHM_SEALED) {
        /* The region travels with the ACK; our descriptor is not needed after. */
        err = nipc__conn_send_fd(conn, buf, NIPC_HEADER_SIZE + NIPC_HELLO_ACK_SIZE,
                                 nipc__shm_fd(region), deadline);
        nipc__shm_release_fd(region);
    } else {
        err = nipc__conn_send(conn, buf, NIPC_HEADER_SIZE + NIPC_HELLO_ACK_SIZE, NULL, 0,
                              deadline, NULL);
    }
    if (err == NIPC_OK && status != NIPC_STATUS_OK)
        /* An SHM-only server that could not make its memory told the client
         * UNSUPPORTED; its caller learns why. */
        err = status == NIPC_STATUS_UNSUPPORTED && create_err ? create_err : status_error(status);
    if (err != NIPC_OK)
        goto fail;

    s = calloc(1, sizeof *s);
    if (!s) {
        err = NIPC_ERR_NO_MEMORY;
        goto fail;
    }
    s->shm = region;
    region = NULL;
    s->conn = conn;
    conn = NULL;
    err = session_setup(s, &ack, 1, 0);
    s->rest_ms = hs_timeout;
    if (err != NIPC_OK)
        goto fail;
    *out = s;
    return NIPC_OK;

fail:
    nipc__shm_close(region);
    nipc__conn_close(conn);
    session_free(s);
    return err;
}

static void session_reject(nipc__conn_t *conn, uint16_t status, uint32_t timeout_ms)
{
    uint8_t buf[NIPC__HANDSHAKE_BUF];
    size_t len = 0;
    /* 0 means the default, as everywhere in the configuration: a 1 ms
     * window would close on a client whose HELLO is merely in flight. */
    uint64_t deadline = nipc__deadline(or_default(timeout_ms, NIPC_HANDSHAKE_TIMEOUT_DEFAULT_MS));
    if (read_hello(conn, buf, &len, deadline) == NIPC_OK) {
        nipc_hello_ack_t ack;
        memset(&ack, 0, sizeof ack);
        ack.layout_version = NIPC_LAYOUT_VERSION;
        nipc__handshake_encode_ack(status, &ack, buf);
        nipc__conn_send(conn, buf, NIPC_HEADER_SIZE + NIPC_HELLO_ACK_SIZE, NULL, 0, deadline,
                        NULL);
    }
    nipc__conn_close(conn);
}

/* ------------------------------------------------------------- pending */

static char *dup_string(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}

nipc_error_t nipc__pending_create(nipc__conn_t *conn, const char *run_dir, const char *service,
                                  nipc_pending_t **out)
{
    if (!conn)
        return NIPC_ERR_NO_MEMORY;
    struct nipc_pending *p = calloc(1, sizeof *p);
    if (!p) {
        nipc__conn_close(conn);
        return NIPC_ERR_NO_MEMORY;
    }
    p->conn = conn;
    p->run_dir = dup_string(run_dir);
    p->service = dup_string(service);
    if (!p->run_dir || !p->service) {
        nipc_pending_free(p);
        return NIPC_ERR_NO_MEMORY;
    }
    *out = p;
    return NIPC_OK;
}

nipc_error_t nipc_pending_accept(nipc_pending_t *p, const nipc_transport_config_t *config,
                                 uint64_t session_id, nipc_session_t **out)
{
    nipc_error_t err = session_accept(p->conn, p->run_dir, p->service, config, session_id, out);
    p->conn = NULL; /* consumed either way */
    nipc_pending_free(p);
    return err;
}

void nipc_pending_reject(nipc_pending_t *p, uint16_t status, uint32_t timeout_ms)
{
    session_reject(p->conn, status, timeout_ms);
    p->conn = NULL;
    nipc_pending_free(p);
}

void nipc_pending_free(nipc_pending_t *p)
{
    if (!p)
        return;
    nipc__conn_close(p->conn);
    free(p->run_dir);
    free(p->service);
    free(p);
}

/* ---------------------------------------------------------------- client */

nipc_error_t nipc__check_allow_list(const nipc_transport_config_t *cfg)
{
    if (!cfg || !cfg->allowed_uid_count)
        return NIPC_OK;
    if (!cfg->allowed_uids)
        return NIPC_ERR_INVALID_ARGUMENT; /* never read as "no restriction" */
    return nipc__conn_has_uids ? NIPC_OK : NIPC_ERR_PLATFORM;
}

static nipc_error_t attach_shm(nipc_session_t *s, const char *run_dir, const char *service,
                               const nipc_hello_ack_t *ack, uint64_t token, int64_t owner,
                               uint64_t deadline)
{
    for (;;) {
        nipc_error_t err = nipc__shm_attach(run_dir, service, ack->session_id,
                                            ack->selected_profile, token, owner, &s->shm);
        if (err != NIPC_ERR_SHM_NOT_READY && err != NIPC_ERR_BAD_MAGIC)
            return err;
        uint32_t left = nipc__remaining_ms(deadline, SHM_ATTACH_RETRY_MS);
        if (left == 0)
            return err;
        nipc__sleep_ms(left);
    }
}

static void close_fd(int fd)
{
    if (fd >= 0)
        nipc__close_fd(fd);
}

static uint64_t earlier(uint64_t a, uint64_t b)
{
    return a < b ? a : b;
}

nipc_error_t nipc_session_connect(const char *run_dir, const char *service,
                                  const nipc_transport_config_t *cfg, nipc_session_t **out)
{
    return nipc__session_connect_until(run_dir, service, cfg, NIPC__NO_DEADLINE, out);
}

nipc_error_t nipc__session_connect_until(const char *run_dir, const char *service,
                                         const nipc_transport_config_t *cfg, uint64_t limit,
                                         nipc_session_t **out)
{
    nipc_error_t err = nipc__check_allow_list(cfg);
    if (err != NIPC_OK)
        return err;
    uint64_t deadline = earlier(
        nipc__deadline(
            or_default(cfg ? cfg->handshake_timeout_ms : 0, NIPC_HANDSHAKE_TIMEOUT_DEFAULT_MS)),
        limit);
    nipc__conn_t *conn = NULL;
    /* A busy listener (a burst of clients filled its backlog) makes room as
     * it accepts; wait for that within the handshake deadline, never longer. */
    while ((err = nipc__conn_connect(run_dir, service, &conn)) == NIPC_ERR_BUSY) {
        if (nipc__remaining_ms(deadline, 1) == 0)
            return NIPC_ERR_TIMEOUT;
        nipc__sleep_ms(CONNECT_RETRY_MS);
    }
    if (err != NIPC_OK)
        return err;
    /* Before the HELLO: it carries the token, a secret for impostors. */
    int64_t server_uid = -1;
    err = nipc__conn_verify_server(conn, run_dir, cfg ? cfg->allowed_uids : NULL,
                                   cfg ? cfg->allowed_uid_count : 0, &server_uid);
    if (err != NIPC_OK) {
        nipc__conn_close(conn);
        return err;
    }

    nipc_hello_t hello = {
        .layout_version = NIPC_LAYOUT_VERSION,
        .supported_profiles =
            with_sealed(or_default(cfg ? cfg->supported_profiles : 0, NIPC_PROFILE_BASELINE), cfg),
        .preferred_profiles = with_sealed(cfg ? cfg->preferred_profiles : 0, cfg),
        .max_request_payload_bytes =
            or_default(cfg ? cfg->max_request_payload_bytes : 0, NIPC_MAX_PAYLOAD_DEFAULT),
        .max_request_batch_items = or_default(cfg ? cfg->max_request_batch_items : 0, 1),
        .max_response_payload_bytes =
            or_default(cfg ? cfg->max_response_payload_bytes : 0, NIPC_MAX_PAYLOAD_DEFAULT),
        .max_response_batch_items = or_default(cfg ? cfg->max_response_batch_items : 0, 1),
        .auth_token = cfg ? cfg->auth_token : 0,
        .packet_size = packet_size_for(cfg, conn),
    };

    uint8_t buf[NIPC__HANDSHAKE_BUF];
    nipc__handshake_encode_hello(&hello, buf);
    err = nipc__conn_send(conn, buf, NIPC_HEADER_SIZE + NIPC_HELLO_SIZE, NULL, 0, deadline, NULL);
    size_t len = 0;
    int region_fd = -1; /* a sealed region comes with the ACK */
    if (err == NIPC_OK && (hello.supported_profiles & NIPC_PROFILE_SHM_SEALED))
        err = nipc__conn_recv_fd(conn, buf, sizeof buf, &len, &region_fd, deadline);
    else if (err == NIPC_OK)
        err = nipc__conn_recv(conn, buf, sizeof buf, NULL, 0, &len, 1, deadline, NULL);
    if (err == NIPC_ERR_TOO_LARGE) /* as read_hello(): 128 bytes decide */
        err = nipc__conn_skip_rest(conn, deadline);
    nipc_hello_ack_t ack;
    if (err == NIPC_OK)
        err = nipc__handshake_client_result(buf, len, &ack);
    if (err == NIPC_ERR_HANDSHAKE) {
        /* Our server answers INTERNAL_ERROR when it is at its session limit. */
        nipc_header_t h;
        if (nipc_header_decode(buf, len, &h) == NIPC_OK &&
            h.transport_status == NIPC_STATUS_INTERNAL_ERROR)
            err = NIPC_ERR_BUSY;
    }
    /* The ACK's sizes decide what this side allocates: nothing beyond what
     * it proposed, nothing absurd. */
    if (err == NIPC_OK)
        err = nipc__handshake_check_agreed(&hello, &ack);
    uint32_t sel = err == NIPC_OK ? ack.selected_profile : 0;
    if (region_fd >= 0 && sel != NIPC_PROFILE_SHM_SEALED) {
        close_fd(region_fd); /* sent without being asked for */
        region_fd = -1;
    }
    if (err != NIPC_OK) {
        nipc__conn_close(conn);
        return err;
    }

    nipc_session_t *s = calloc(1, sizeof *s);
    if (!s) {
        close_fd(region_fd);
        nipc__conn_close(conn);
        return NIPC_ERR_NO_MEMORY;
    }
    s->conn = conn;
    if (sel == NIPC_PROFILE_SHM_SEALED && (hello.supported_profiles & sel)) {
        /* Selected without a region: an attach failure (reconnect without SHM). */
        err = region_fd >= 0 ? nipc__shm_attach_fd(region_fd, server_uid, &s->shm)
                             : NIPC_ERR_SHM_NOT_READY;
        if (err != NIPC_OK) {
            session_free(s);
            return err;
        }
    } else if (sel & nipc__shm_profiles & hello.supported_profiles) {
        /* A selected bit that is not one of our SHM profiles (and that we
         * did not offer) runs on the baseline, as upstream C does. */
        uint32_t window =
            or_default(cfg ? cfg->shm_attach_timeout_ms : 0, NIPC_SHM_ATTACH_TIMEOUT_DEFAULT_MS);
        err = attach_shm(s, run_dir, service, &ack, hello.auth_token, server_uid,
                         earlier(nipc__now_ms() + window, limit));
        if (err != NIPC_OK) {
            session_free(s);
            return err;
        }
    } else {
        ack.selected_profile = NIPC_PROFILE_BASELINE;
    }
    err = session_setup(s, &ack, 0,
                        or_default(cfg ? cfg->max_in_flight : 0, NIPC_MAX_IN_FLIGHT_DEFAULT));
    if (err != NIPC_OK) {
        session_free(s);
        return err;
    }
    *out = s;
    return NIPC_OK;
}

/* -------------------------------------------------------------- in flight */

static int in_flight_find(const nipc_session_t *s, uint64_t id)
{
    for (uint32_t i = 0; i < s->in_flight_count; i++)
        if (s->in_flight[i] == id)
            return (int)i;
    return -1;
}

static void in_flight_remove(nipc_session_t *s, uint64_t id)
{
    int i = in_flight_find(s, id);
    if (i >= 0)
        s->in_flight[i] = s->in_flight[--s->in_flight_count];
}

static nipc_error_t fail_receive(nipc_session_t *s, nipc_error_t err)
{
    /* A transport failure answers nothing that was in flight. */
    s->rx_broken = 1;
    s->in_flight_count = 0;
    /* A peer that is gone cannot be answered either. Without this an SHM
     * publish into a dead peer's region would keep "succeeding". */
    if (err == NIPC_ERR_DISCONNECTED)
        s->tx_broken = 1;
    return err;
}

static nipc_error_t fail_send(nipc_session_t *s, nipc_error_t err)
{
    s->tx_broken = 1;
    return fail_receive(s, err);
}

/* ------------------------------------------------------------------- send */

static nipc_error_t send_chunked(nipc_session_t *s, const uint8_t *payload, uint32_t plen,
                                 uint64_t message_id, uint64_t deadline,
                                 const nipc_abort_t *abort)
{
    uint32_t per = s->info.packet_size - NIPC_HEADER_SIZE;
    uint32_t count = nipc_chunk_count(plen, per, s->info.packet_size);
    nipc_error_t err = nipc__conn_send(s->conn, s->tx_header, NIPC_HEADER_SIZE, payload, per,
                                       deadline, abort);
    if (err != NIPC_OK)
        return err;
    nipc_chunk_header_t ch = {
        .magic = NIPC_CHUNK_MAGIC,
        .version = NIPC_PROTOCOL_VERSION,
        .message_id = message_id,
        .total_message_len = NIPC_HEADER_SIZE + plen,
        .chunk_count = count,
    };
    uint32_t off = per;
    for (uint32_t i = 1; i < count; i++) {
        uint32_t n = plen - off < per ? plen - off : per;
        ch.chunk_index = i;
        ch.chunk_payload_len = n;
        nipc_chunk_header_encode(&ch, s->chunk_header);
        err = nipc__conn_send(s->conn, s->chunk_header, NIPC_CHUNK_HEADER_SIZE, payload + off, n,
                              deadline, abort);
        if (err != NIPC_OK)
            return fail_send(s, err); /* part of the message is out */
        off += n;
    }
    return NIPC_OK;
}

nipc_error_t nipc_session_send(nipc_session_t *s, nipc_header_t *h, const void *payload,
                               size_t payload_len, uint32_t timeout_ms, const nipc_abort_t *abort)
{
    if (!s || !h || (payload_len && !payload))
        return NIPC_ERR_INVALID_ARGUMENT;
    if (s->tx_broken)
        return NIPC_ERR_DISCONNECTED;
    if (payload_len > s->tx_max_payload || h->item_count > s->tx_max_batch)
        return NIPC_ERR_LIMIT_EXCEEDED;

    int track = !s->info.is_server && h->kind == NIPC_KIND_REQUEST;
    if (track) {
        if (in_flight_find(s, h->message_id) >= 0)
            return NIPC_ERR_DUPLICATE_ID;
        if (s->in_flight_count >= s->in_flight_max)
            return NIPC_ERR_LIMIT_EXCEEDED;
    }

    h->magic = NIPC_HEADER_MAGIC;
    h->version = NIPC_PROTOCOL_VERSION;
    h->header_len = NIPC_HEADER_SIZE;
    h->payload_len = (uint32_t)payload_len;
    nipc_header_encode(h, s->tx_header);

    nipc_error_t err;
    if (s->shm) {
        err = nipc__shm_publish(s->shm, s->tx_header, NIPC_HEADER_SIZE, payload, payload_len);
    } else if (NIPC_HEADER_SIZE + (uint64_t)payload_len <= s->info.packet_size) {
        err = nipc__conn_send(s->conn, s->tx_header, NIPC_HEADER_SIZE, payload, payload_len,
                              nipc__deadline(timeout_ms), abort);
    } else {
        err = send_chunked(s, payload, (uint32_t)payload_len, h->message_id,
                           nipc__deadline(timeout_ms), abort);
    }
    if (err == NIPC_OK) {
        if (track)
            s->in_flight[s->in_flight_count++] = h->message_id;
        return NIPC_OK;
    }
    /* Nothing left this side: the session is still whole. */
    if (err == NIPC_ERR_TIMEOUT || err == NIPC_ERR_ABORTED || err == NIPC_ERR_TOO_LARGE ||
        err == NIPC_ERR_INVALID_ARGUMENT)
        return err;
    return fail_send(s, err);
}

/* ---------------------------------------------------------------- receive */

/* Reads the continuations of a chunked message straight into rx_buf. */
static nipc_error_t receive_chunks(nipc_session_t *s, const nipc_header_t *h, uint32_t first,
                                   uint64_t deadline, const nipc_abort_t *abort)
{
    uint32_t plen = h->payload_len;
    uint32_t per = s->info.packet_size - NIPC_HEADER_SIZE;
    uint32_t expected = nipc_chunk_count(plen, first, s->info.packet_size);
    uint32_t have = first;
    for (uint32_t index = 1; have < plen; index++) {
        uint32_t room = plen - have < per ? plen - have : per;
        size_t got = 0;
        nipc_error_t err = nipc__conn_recv(s->conn, s->chunk_header, NIPC_CHUNK_HEADER_SIZE,
                                           s->rx_buf + NIPC_HEADER_SIZE + have, room, &got, 0,
                                           deadline, abort);
        if (err == NIPC_ERR_TOO_LARGE)
            return NIPC_ERR_BAD_CHUNK; /* overruns the message or the packet size */
        if (err != NIPC_OK)
            return err;
        nipc_chunk_header_t ch;
        if (nipc_chunk_header_decode(s->chunk_header, got, &ch) != NIPC_OK)
            return NIPC_ERR_BAD_CHUNK;
        uint32_t n = (uint32_t)(got - NIPC_CHUNK_HEADER_SIZE);
        if (ch.chunk_payload_len == 0 || ch.chunk_payload_len != n ||
            ch.message_id != h->message_id || ch.chunk_index != index ||
            ch.chunk_count != expected || ch.total_message_len != NIPC_HEADER_SIZE + plen)
            return NIPC_ERR_BAD_CHUNK;
        have += n;
    }
    return NIPC_OK;
}

/* Checks shared by both transports once the whole message is in rx_buf. */
static nipc_error_t check_message(nipc_session_t *s, nipc_message_t *msg)
{
    const nipc_header_t *h = &msg->header;
    if (h->payload_len > s->rx_max_payload || h->item_count > s->rx_max_batch)
        return NIPC_ERR_LIMIT_EXCEEDED;
    if (!s->info.is_server && h->kind == NIPC_KIND_RESPONSE &&
        in_flight_find(s, h->message_id) < 0)
        return NIPC_ERR_UNKNOWN_ID;
    return NIPC_OK;
}

static nipc_error_t finish_message(nipc_session_t *s, nipc_message_t *msg)
{
    const nipc_header_t *h = &msg->header;
    msg->payload = s->rx_buf + NIPC_HEADER_SIZE;
    if ((h->flags & NIPC_FLAG_BATCH) && h->item_count > 1) {
        nipc_error_t err = nipc_batch_validate(msg->payload, h->payload_len, h->item_count);
        if (err != NIPC_OK)
            return err;
    }
    if (!s->info.is_server && h->kind == NIPC_KIND_RESPONSE)
        in_flight_remove(s, h->message_id);
    return NIPC_OK;
}

/*
 * Decodes the header of a received message. The decoder's precise reasons
 * (TRUNCATED, BAD_MAGIC, ...) are all "the peer broke the envelope" here:
 * PROTOCOL, as nipc_session_receive() documents; TRUNCATED stays reserved
 * for a batch payload shorter than its directory.
 */
static nipc_error_t decode_header(const uint8_t *buf, size_t len, nipc_header_t *h)
{
    return nipc_header_decode(buf, len, h) == NIPC_OK ? NIPC_OK : NIPC_ERR_PROTOCOL;
}

static nipc_error_t receive_shm(nipc_session_t *s, nipc_message_t *msg, uint64_t deadline,
                                const nipc_abort_t *abort)
{
    uint32_t len = 0;
    nipc_error_t err = nipc__shm_consume(s->shm, s->rx_buf, s->rx_cap, &len, deadline, abort,
                                         s->conn);
    if (err != NIPC_OK)
        return err;
    err = decode_header(s->rx_buf, len, &msg->header);
    if (err != NIPC_OK)
        return err;
    /* Over SHM the published length is the truth (upstream does not check
     * the header's payload_len). */
    msg->header.payload_len = len - NIPC_HEADER_SIZE;
    err = check_message(s, msg);
    if (err != NIPC_OK)
        return err;
    return finish_message(s, msg);
}

static nipc_error_t receive_baseline(nipc_session_t *s, nipc_message_t *msg, uint64_t deadline,
                                     const nipc_abort_t *abort, int *started)
{
    size_t got = 0;
    size_t first_cap = s->rx_cap < s->info.packet_size ? s->rx_cap : s->info.packet_size;
    nipc_error_t err =
        nipc__conn_recv(s->conn, s->rx_buf, first_cap, NULL, 0, &got, 1, deadline, abort);
    if (err != NIPC_OK && err != NIPC_ERR_TOO_LARGE)
        return err;
    *started = 1;
    nipc_error_t derr = decode_header(s->rx_buf, got, &msg->header);
    if (derr != NIPC_OK)
        return derr;
    derr = check_message(s, msg);
    if (derr != NIPC_OK)
        return derr;
    const nipc_header_t *h = &msg->header;
    /* Longer than one packet, or longer than the header says: not ours. */
    if (err == NIPC_ERR_TOO_LARGE || got > NIPC_HEADER_SIZE + (uint64_t)h->payload_len)
        return NIPC_ERR_PROTOCOL;
    uint32_t first = (uint32_t)(got - NIPC_HEADER_SIZE);
    if (first < h->payload_len) {
        /* A server polls with short timeouts; an honest client's large
         * request must not be cut by one, while a stalling one is still
         * dropped after rest_ms (0 on the client: its call deadline rules). */
        uint64_t rest = s->rest_ms ? nipc__now_ms() + s->rest_ms : 0;
        err = receive_chunks(s, h, first, rest > deadline ? rest : deadline, abort);
        if (err != NIPC_OK)
            return err;
    }
    return finish_message(s, msg);
}

nipc_error_t nipc_session_receive(nipc_session_t *s, nipc_message_t *msg, uint32_t timeout_ms,
                                  const nipc_abort_t *abort)
{
    if (!s || !msg)
        return NIPC_ERR_INVALID_ARGUMENT;
    if (s->rx_broken)
        return NIPC_ERR_DISCONNECTED;
    int started = 0;
    nipc_error_t err;
    if (s->shm) {
        /* Most SHM messages arrive while consume still spins: try that
         * first without reading the clock (deadline 0: spin only, never
         * sleep), and compute the deadline only to sleep. A clock read is
         * a visible share of an SHM round trip (~30 ns under KVM). */
        err = receive_shm(s, msg, 0, abort);
        if (err == NIPC_ERR_TIMEOUT)
            err = receive_shm(s, msg, nipc__deadline(timeout_ms), abort);
        /* SHM consume copies whole messages: a timeout never splits one. */
        started = err != NIPC_ERR_TIMEOUT && err != NIPC_ERR_ABORTED;
    } else {
        err = receive_baseline(s, msg, nipc__deadline(timeout_ms), abort, &started);
    }
    if (err == NIPC_OK)
        return NIPC_OK;
    if (!started && (err == NIPC_ERR_TIMEOUT || err == NIPC_ERR_ABORTED))
        return err;
    return fail_receive(s, err);
}
