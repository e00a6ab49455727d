/*
 * Provider processes for the Level 2 / Level 3 suites (test_service.c,
 * test_cache.c), and the test-side helpers that drive them.
 *
 * A test starts a provider with sp_start(): the test program re-executes
 * itself (tests/support.h) as "peer <kind> <run_dir> <ctl_dir> key=value...".
 * The provider and the test talk only through small files in a private
 * control directory, so the same scheme works on every platform:
 *
 *   ready   written once the provider serves
 *   stats   the managed server's counters, rewritten every ~20 ms
 *   calls   one line per handler invocation: "<value> <message_id>"
 *   stop    written by the test: the provider shuts down gracefully
 *
 * Kinds:
 *   server  a managed Level 2 server (method=inc|rev|snap) with scripted
 *           handler behaviour chosen by the request value (see below);
 *   raw     a single-threaded Level 1 server written with transport.h that
 *           misbehaves on purpose (drops sessions, advertises SHM it never
 *           created).
 *
 * INCREMENT handler script (managed and raw servers):
 *   666              handler failure (INTERNAL_ERROR)
 *   777              block until killed (at most 30 s)
 *   1000000 + ms     sleep `ms` milliseconds, then answer
 *   otherwise        value + 1
 * raw server only:
 *   555              close the session without answering, the first time only
 *   556              close the session without answering, every time
 *   557              answer with the wrong method code
 *   558              answer with kind REQUEST instead of RESPONSE
 * STRING_REVERSE: a string starting with '!' fails, with '#' reports
 *   BUFFER_TOO_SMALL, otherwise it is reversed.
 */
#ifndef NETIPC_TEST_SERVICE_PEERS_H
#define NETIPC_TEST_SERVICE_PEERS_H

#include <stddef.h>
#include <stdint.h>

#include "support.h"

#define SP_SERVICE "svc"
#define SP_FAIL_VALUE 666u
#define SP_BLOCK_VALUE 777u
#define SP_SLEEP_BASE 1000000u
#define SP_DROP_ONCE_VALUE 555u
#define SP_DROP_ALWAYS_VALUE 556u
#define SP_WRONG_CODE_VALUE 557u
#define SP_WRONG_KIND_VALUE 558u
/* Session id the raw server puts in its fake SHM HELLO_ACK. */
#define SP_FAKE_SHM_SESSION 0x99u

/* Entry point of a provider process: argv[0] is the kind. */
int sp_peer_main(int argc, char **argv);

/* ------------------------------------------------------------ test side */

/* Starts a provider and waits (5 s) until it serves; NULL on failure.
 * `opts` is a NULL-terminated list of key=value strings (may be NULL). */
t_proc_t *sp_start(const char *run_dir, const char *ctl_dir, const char *kind,
                   const char *const opts[]);

/* Asks a provider to stop, waits for it (10 s) and returns its exit code
 * (-1 if it had to be killed). */
int sp_stop(t_proc_t *p, const char *ctl_dir);

typedef struct sp_stats {
    unsigned long long accepted, rejected, hs_failed, requests, errors, active;
} sp_stats_t;

/* Reads the provider's last published counters; 0 when not available. */
int sp_read_stats(const char *ctl_dir, sp_stats_t *out);

/* Fresher counters: waits for the next publication (up to 1 s). */
int sp_fresh_stats(const char *ctl_dir, sp_stats_t *out);

/* Handler invocations logged so far, and their (value, id) pairs. */
int sp_calls(const char *ctl_dir);
int sp_call_log(const char *ctl_dir, unsigned long long (*out)[2], int max);

/* Waits until at least n invocations are logged; 1 on success. */
int sp_wait_calls(const char *ctl_dir, int n, int timeout_ms);

/* 1 when running under wine, whose named pipes ignore
 * FILE_FLAG_FIRST_PIPE_INSTANCE (a second server can claim a live name). */
int sp_under_wine(void);

/* Creates the two private directories of a test (run, ctl). */
int sp_dirs(char *run, char *ctl, size_t cap);

/* One test's provider, directories and descriptor baseline. */
typedef struct sp_fx {
    char run[512];
    char ctl[512];
    t_proc_t *peer;
    int fds; /* open handles when the test began */
} sp_fx_t;

/* Records the open handles and creates the directories; 1 on success. */
int sp_fx_begin(sp_fx_t *f);

/* Starts the provider (sp_start); 1 on success. */
int sp_fx_start(sp_fx_t *f, const char *kind, const char *const opts[]);

/* SIGKILL / TerminateProcess: leaves stale endpoint files behind. */
void sp_fx_kill(sp_fx_t *f);

/* Graceful stop; the provider's exit code (0 = clean). */
int sp_fx_stop(sp_fx_t *f);

/* Stops a provider still running (exit code in *peer_exit, 0 if none),
 * counts what is left in the run dir, removes both directories and
 * returns the change in open handles since sp_fx_begin(). */
int sp_fx_end(sp_fx_t *f, int *peer_exit, int *run_dir_entries);

#endif
