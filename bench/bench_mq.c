/*
 * Comparison rows: ZeroMQ REQ/REP and nng req/rep over ipc://, each moving
 * the same 40-byte message as the UDS ping-pong (the server adds one to the
 * u64 after the 32-byte header). Built only when the development packages
 * are found (bench/CMakeLists.txt). These libraries allocate per message by
 * design; the allocation column shows it.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"

#define MQ_HEADER 32u

/* Helpers of both rows: compiled only with at least one of them, or
 * -Werror=unused-function stops a build on a machine without either. */
#if defined(NETIPC_BENCH_ZMQ) || defined(NETIPC_BENCH_NNG)
static int endpoint(const char *run_dir, const char *name, char *out, size_t cap)
{
    int n = snprintf(out, cap, "ipc://%s/%s", run_dir, name);
    return n > 0 && (size_t)n < cap ? 0 : -1;
}

static void bump(uint8_t *msg)
{
    uint64_t v;
    memcpy(&v, msg + MQ_HEADER, 8);
    v++;
    memcpy(msg + MQ_HEADER, &v, 8);
}

static int check(const uint8_t *msg, size_t len, uint64_t seq)
{
    uint64_t v;
    memcpy(&v, msg + MQ_HEADER, 8);
    if (len != BENCH_MSG_SIZE || v != seq + 1) {
        fprintf(stderr, "bench: comparison row: wrong answer\n");
        return -1;
    }
    return 0;
}
#endif

/* ================================================================ ZeroMQ */
#ifdef NETIPC_BENCH_ZMQ
#include <zmq.h>

typedef struct zmq_end {
    void *ctx, *sock;
    pthread_t thread;
    atomic_uint_fast64_t requests;
    uint8_t buf[BENCH_MSG_SIZE];
    char path[600];
} zmq_end_t;

static void *zmq_serve(void *arg)
{
    zmq_end_t *z = arg;
    for (;;) {
        int n = zmq_recv(z->sock, z->buf, sizeof z->buf, 0);
        if (n != (int)BENCH_MSG_SIZE)
            return NULL; /* context terminated */
        bump(z->buf);
        if (zmq_send(z->sock, z->buf, (size_t)n, 0) != n)
            return NULL;
        atomic_fetch_add_explicit(&z->requests, 1, memory_order_relaxed);
    }
}

static int zmq_server_start(const scenario_t *sc, const char *run_dir, void **state)
{
    (void)sc;
    char ep[600];
    zmq_end_t *z = calloc(1, sizeof *z);
    if (!z || endpoint(run_dir, "zmq.ipc", ep, sizeof ep) != 0)
        return -1;
    snprintf(z->path, sizeof z->path, "%s", ep + strlen("ipc://"));
    z->ctx = zmq_ctx_new();
    z->sock = z->ctx ? zmq_socket(z->ctx, ZMQ_REP) : NULL;
    if (!z->sock || zmq_bind(z->sock, ep) != 0) {
        fprintf(stderr, "bench: zmq bind: %s\n", zmq_strerror(zmq_errno()));
        return -1;
    }
    if (pthread_create(&z->thread, NULL, zmq_serve, z) != 0)
        return -1;
    *state = z;
    return 0;
}

static uint64_t zmq_server_requests(void *state)
{
    zmq_end_t *z = state;
    return atomic_load(&z->requests);
}

static void zmq_server_stop(void *state)
{
    zmq_end_t *z = state;
    unlink(z->path);
    /* The process exits next; zmq_ctx_term would wait for the thread. */
}

const server_ops_t bench_zmq_server = {zmq_server_start, zmq_server_requests, zmq_server_stop};

static int zmq_client_open(const scenario_t *sc, const char *run_dir, void **state)
{
    (void)sc;
    char ep[600];
    zmq_end_t *z = calloc(1, sizeof *z);
    if (!z || endpoint(run_dir, "zmq.ipc", ep, sizeof ep) != 0)
        return -1;
    z->ctx = zmq_ctx_new();
    z->sock = z->ctx ? zmq_socket(z->ctx, ZMQ_REQ) : NULL;
    if (!z->sock || zmq_connect(z->sock, ep) != 0) {
        fprintf(stderr, "bench: zmq connect: %s\n", zmq_strerror(zmq_errno()));
        return -1;
    }
    *state = z;
    return 0;
}

static int zmq_client_call(void *state, uint64_t seq)
{
    zmq_end_t *z = state;
    memset(z->buf, 0, MQ_HEADER);
    memcpy(z->buf + MQ_HEADER, &seq, 8);
    if (zmq_send(z->sock, z->buf, sizeof z->buf, 0) != (int)sizeof z->buf)
        return -1;
    int n = zmq_recv(z->sock, z->buf, sizeof z->buf, 0);
    return n < 0 ? -1 : check(z->buf, (size_t)n, seq);
}

static void zmq_client_close(void *state)
{
    zmq_end_t *z = state;
    int linger = 0;
    zmq_setsockopt(z->sock, ZMQ_LINGER, &linger, sizeof linger);
    zmq_close(z->sock);
    zmq_ctx_term(z->ctx);
    free(z);
}

const client_ops_t bench_zmq_client = {zmq_client_open, zmq_client_call, NULL, NULL,
                                       zmq_client_close};
#endif

/* =================================================================== nng */
#ifdef NETIPC_BENCH_NNG
#include <nng/nng.h>
#include <nng/protocol/reqrep0/rep.h>
#include <nng/protocol/reqrep0/req.h>

typedef struct nng_end {
    nng_socket sock;
    pthread_t thread;
    atomic_uint_fast64_t requests;
    uint8_t buf[BENCH_MSG_SIZE];
    char path[600];
} nng_end_t;

static void *nng_serve(void *arg)
{
    nng_end_t *e = arg;
    for (;;) {
        size_t n = sizeof e->buf;
        if (nng_recv(e->sock, e->buf, &n, 0) != 0 || n != BENCH_MSG_SIZE)
            return NULL;
        bump(e->buf);
        if (nng_send(e->sock, e->buf, n, 0) != 0)
            return NULL;
        atomic_fetch_add_explicit(&e->requests, 1, memory_order_relaxed);
    }
}

static int nng_server_start(const scenario_t *sc, const char *run_dir, void **state)
{
    (void)sc;
    char ep[600];
    nng_end_t *e = calloc(1, sizeof *e);
    if (!e || endpoint(run_dir, "nng.ipc", ep, sizeof ep) != 0)
        return -1;
    snprintf(e->path, sizeof e->path, "%s", ep + strlen("ipc://"));
    int rv = nng_rep0_open(&e->sock);
    if (rv == 0)
        rv = nng_listen(e->sock, ep, NULL, 0);
    if (rv != 0) {
        fprintf(stderr, "bench: nng listen: %s\n", nng_strerror(rv));
        return -1;
    }
    if (pthread_create(&e->thread, NULL, nng_serve, e) != 0)
        return -1;
    *state = e;
    return 0;
}

static uint64_t nng_server_requests(void *state)
{
    nng_end_t *e = state;
    return atomic_load(&e->requests);
}

static void nng_server_stop(void *state)
{
    nng_end_t *e = state;
    unlink(e->path);
    /* The process exits next. */
}

const server_ops_t bench_nng_server = {nng_server_start, nng_server_requests, nng_server_stop};

static int nng_client_open(const scenario_t *sc, const char *run_dir, void **state)
{
    (void)sc;
    char ep[600];
    nng_end_t *e = calloc(1, sizeof *e);
    if (!e || endpoint(run_dir, "nng.ipc", ep, sizeof ep) != 0)
        return -1;
    int rv = nng_req0_open(&e->sock);
    if (rv == 0)
        rv = nng_dial(e->sock, ep, NULL, 0);
    if (rv != 0) {
        fprintf(stderr, "bench: nng dial: %s\n", nng_strerror(rv));
        return -1;
    }
    *state = e;
    return 0;
}

static int nng_client_call(void *state, uint64_t seq)
{
    nng_end_t *e = state;
    memset(e->buf, 0, MQ_HEADER);
    memcpy(e->buf + MQ_HEADER, &seq, 8);
    if (nng_send(e->sock, e->buf, sizeof e->buf, 0) != 0)
        return -1;
    size_t n = sizeof e->buf;
    if (nng_recv(e->sock, e->buf, &n, 0) != 0)
        return -1;
    return check(e->buf, n, seq);
}

static void nng_client_close(void *state)
{
    nng_end_t *e = state;
    nng_close(e->sock);
    free(e);
}

const client_ops_t bench_nng_client = {nng_client_open, nng_client_call, NULL, NULL,
                                       nng_client_close};
#endif
