/*
 * Provider processes for the lookup interop suite (test_lookup_service.c)
 * and the deterministic answers they serve.
 *
 * The test program re-executes itself as
 *   "peer <kind> <run_dir> <ctl_dir> key=value..."
 * and talks to the provider through files in the control directory:
 *   ready   written once the provider serves
 *   stop    written by the test: the provider shuts down
 *
 * Kinds:
 *   cg, app  managed Level 2 servers (nipc_server_create_cgroups_lookup /
 *            _apps_lookup) answering from the models below. Options: prof,
 *            req, resp (server limits), gen (generation), flip=N (the
 *            generation becomes gen + 1 after N handler calls), delay=ms
 *            (per handler call).
 *   raw      a Level 1 server (transport.h) that answers both lookup
 *            methods with well-formed but wrong responses: mode=count
 *            (one item short), echo (a key not echoed), after_pe (an answer
 *            after PAYLOAD_EXCEEDED), first_pe (every item exceeded), gen
 *            (a new generation in every response).
 *   nego     a hand-written baseline server that agrees to first=N request
 *            bytes on the first connection and then=N (0 = what the client
 *            proposed) on later ones, and answers every key "unknown".
 *
 * Models (the test checks every item against the same functions):
 *   cgroups  "/known/<n>" KNOWN, orchestrator n % 8, name "ct-<n>", labels
 *            idx=<n>, kind=known; "/retry/..." UNKNOWN_RETRY_LATER;
 *            "/big/<n>" KNOWN with a name of n 'b' bytes; anything else
 *            UNKNOWN_PERMANENT. Handler faults on the first key:
 *            "/bug/count" (an item short), "/bug/extra" (one too many),
 *            "/bug/nul" (a NUL in a name), "/bug/fail" (handler failure).
 *   apps     pid % 7: 0 UNKNOWN, 1 HOST_ROOT, 2 cgroup RETRY, 3 cgroup
 *            PERMANENT, else KNOWN with labels; pids >= LP_HUGE_PID carry a
 *            cgroup path of (pid - LP_HUGE_PID) bytes.
 */
#ifndef NETIPC_TEST_LOOKUP_PEERS_H
#define NETIPC_TEST_LOOKUP_PEERS_H

#include <stddef.h>
#include <stdint.h>

#include "netipc/lookup.h"
#include "support.h"

#define LP_SERVICE "lookup"
#define LP_HUGE_PID 0xF0000000u
#define LP_BIG_MAX 65536u

typedef struct lp_cg_answer {
    uint16_t status, orch;
    nipc_str_t name;
    uint16_t nlabels;
    nipc_label_t labels[2];
    char buf[3][32];
} lp_cg_answer_t;

typedef struct lp_app_answer {
    nipc_apps_lookup_item_t item;
    nipc_label_t labels[2];
    char buf[6][32];
} lp_app_answer_t;

/* The answers for a key (strings point into *a or into static storage). */
void lp_cg_model(nipc_str_t key, lp_cg_answer_t *a);
void lp_app_model(uint32_t pid, lp_app_answer_t *a);

/* Entry point of a provider process: argv[0] is the kind. */
int lp_peer_main(int argc, char **argv);

/* Starts a provider and waits (5 s) until it serves; NULL on failure.
 * `opts` is a NULL-terminated list of key=value strings (may be NULL). */
t_proc_t *lp_start(const char *run_dir, const char *ctl_dir, const char *kind,
                   const char *const opts[]);

/* Asks a provider to stop and waits (10 s); its exit code, -1 if killed. */
int lp_stop(t_proc_t *p, const char *ctl_dir);

#endif
