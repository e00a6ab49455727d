/*
 * Peers for the Level 1 transport suites (test_transport, test_transport_posix,
 * test_transport_alloc): a real server or client process started by
 * re-executing the test program with `--peer ...` arguments, plus the small
 * helpers both sides need (deterministic payload patterns, a configuration
 * that travels on the command line, ready files).
 *
 * Only the public API, tests/support.h and the platform-neutral internal
 * packet interface (transport_internal.h, implemented by every baseline
 * transport) are used, so the peers run unchanged on Windows. The peer code
 * never uses test.h's CHECK: its failures become its exit code.
 */
#ifndef NETIPC_TESTS_TRANSPORT_PEER_H
#define NETIPC_TESTS_TRANSPORT_PEER_H

#include <stddef.h>
#include <stdint.h>

#include "netipc/transport.h"
#include "support.h"

/*
 * Request codes understood by the echo server peer. Level 1 never looks at
 * `code`; the peer uses it as its command.
 */
enum tp_code {
    TP_ECHO = 1,    /* verify pattern(id), answer pattern(resp(id)); batches item by item */
    TP_DEFER = 2,   /* verify, keep unanswered */
    TP_FLUSH = 3,   /* answer this one, then every deferred one, newest first */
    TP_DELAY = 4,   /* payload u32 ms: sleep, then answer with an empty payload */
    TP_EXIT = 5,    /* payload u32 ms: sleep, then _exit() without any cleanup */
    TP_BAD_ID = 6,  /* answer with message_id + 1 (not in flight at the client) */
    TP_PARTIAL = 7, /* payload u32 n: send an n-byte response with a 300 ms deadline
                       to a client that does not read, then _exit() */
    TP_INFO = 8,    /* answer with the server's nipc_session_info as tp_info_t */
};

/* The server's view of a session, as answered to TP_INFO. */
typedef struct tp_info {
    uint32_t is_server, selected_profile;
    uint32_t max_request_payload, max_request_batch;
    uint32_t max_response_payload, max_response_batch;
    uint32_t packet_size, shm_request_capacity, shm_response_capacity;
    uint32_t session_id_lo, session_id_hi;
} tp_info_t;

/* Exit codes of client peers other than a plain nipc_error_t. */
#define TP_EXIT_FAILED 100 /* a check inside the peer failed */

/* ------------------------------------------------------------ patterns */

/* Deterministic bytes derived from `seed` (fast, position dependent). */
void tp_fill(uint8_t *buf, size_t len, uint64_t seed);

/* 1 when buf holds exactly tp_fill(seed) for len bytes. */
int tp_verify(const uint8_t *buf, size_t len, uint64_t seed);

/* Seed of the answer to a request seeded `seed`. */
uint64_t tp_resp_seed(uint64_t seed);

/* Seed of batch item `index` of message `id`. */
uint64_t tp_item_seed(uint64_t id, uint32_t index);

/* Length of batch item `index` of a test batch (0 .. 300 bytes, some empty). */
uint32_t tp_item_len(uint64_t id, uint32_t index);

/* ------------------------------------------------------ configuration */

/* "sp=..,pp=..,req=..": every field of the config that a test sets. */
void tp_cfg_format(const nipc_transport_config_t *c, char *out, size_t cap);
void tp_cfg_parse(const char *s, nipc_transport_config_t *c);

/* ------------------------------------------------------------- helpers */

void tp_touch(const char *path);

/* Waits until `path` exists; 1 when it does, 0 after timeout_ms. */
int tp_wait_file(const char *path, int timeout_ms);

/* The peer dispatch: returns 1 and sets *exit_code if argv is a peer call. */
int tp_peer_dispatch(int argc, char **argv, int *exit_code);

/*
 * Starts an echo server peer for (run_dir, service) serving `sessions`
 * sessions with `cfg`, and waits until it listens (its ready file appears
 * in sync_dir). `mode`: "echo", "accept_die", "hello_die", "silent".
 * NULL if it could not start.
 */
t_proc_t *tp_start_server(const char *run_dir, const char *service, const char *sync_dir,
                          int sessions, const char *mode, const nipc_transport_config_t *cfg);

/*
 * Starts a client peer. Actions:
 *  "connect"        connect, close, exit with the connect error
 *  "echo:N:LEN"     connect, N echo round trips of LEN bytes, exit 0 or 100
 *  "idle"           connect, receive until the server closes, exit 0 on DISCONNECTED
 *  "conn_die"       raw baseline connect, _exit(0) without a byte
 *  "hello_die"      raw baseline connect, send a valid HELLO, _exit(0)
 *  "silent"         raw baseline connect, wait for the server to close, exit 0
 *  "die_after:MS"   connect, one echo round trip, sleep MS, _exit(0)
 *  "send_die"       connect, send one 100-byte request (id 11), _exit(0) at once
 *  "partial:LEN"    connect, send a LEN-byte request with a 300 ms deadline to a
 *                   server that does not read (TIMEOUT expected), _exit(0)
 */
t_proc_t *tp_start_client(const char *run_dir, const char *service,
                          const nipc_transport_config_t *cfg, const char *action);

/* Waits for a peer; returns its exit code, or -1000 if it had to be killed. */
int tp_finish(t_proc_t *p, int timeout_ms);

#endif
