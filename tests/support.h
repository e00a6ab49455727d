/*
 * Test support shared by the transport, service and cache suites: peer
 * processes (the test program re-executes itself with peer arguments, so a
 * peer is a real, separate process on every platform), private run
 * directories, and resource counters for leak checks. One implementation per
 * platform: support_posix.c, support_windows.c.
 */
#ifndef NETIPC_TEST_SUPPORT_H
#define NETIPC_TEST_SUPPORT_H

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "netipc/codec.h"
#include "netipc/service.h"

typedef struct t_proc t_proc_t;

/* Path of the running test executable (argv[0] resolved); set by t_init(). */
void t_init(int argc, char **argv);
const char *t_self(void);

/* Starts `t_self() args...` (NULL-terminated). NULL on failure. */
t_proc_t *t_spawn(const char *const args[]);

/* Waits up to timeout_ms; returns 1 and the exit code (or 128 + signal on
 * POSIX) when it ended, 0 on timeout. Frees the handle when it returns 1. */
int t_wait(t_proc_t *p, int timeout_ms, int *exit_code);

/* Kills immediately (SIGKILL / TerminateProcess), reaps and frees. */
void t_kill(t_proc_t *p);

/* Creates a fresh private directory (0700) and returns its path (static per call slot). */
const char *t_mkdtemp(char *buf, size_t cap);

/* Removes a directory tree created by t_mkdtemp. */
void t_rmtree(const char *path);

/* Number of entries in a directory (files left behind), -1 on error. */
int t_dir_entries(const char *path);

/* Open file descriptors / handles of this process. */
int t_open_handles(void);

/* Memory mappings of this process (Linux: lines of /proc/self/maps;
 * Windows: committed mapped views and private allocations), for leak checks
 * that compare against a baseline. */
int t_map_count(void);

/* Mappings of netipc shared-memory regions (Linux: `.ipcshm` files and
 * sealed `memfd:netipc` regions in /proc/self/maps; Windows: every mapped
 * view, compare with a baseline). */
int t_shm_map_count(void);

/* Resident memory of this process in KiB (Linux VmRSS, Windows working set);
 * -1 when unknown. */
long t_rss_kb(void);

/* Sleeps for ms milliseconds. */
void t_sleep_ms(int ms);

/* Monotonic milliseconds. */
unsigned long long t_now_ms(void);

/* Control files dir/name, how a test and its peers signal each other:
 * exists; replace with `text` so a reader never sees half a file; remove. */
int t_file_exists(const char *dir, const char *name);
void t_file_publish(const char *dir, const char *name, const char *text);
void t_file_remove(const char *dir, const char *name);

/*
 * Records: one line (< 200 bytes) that a peer rewrites often and a test
 * reads often, e.g. counters. Rewritten in place, never replaced, so on
 * Windows a reader holding the file open never blocks the writer (a
 * replace fails then). A write count at both ends of the record lets a
 * reader refuse one it read half-way through a write: t_record_read()
 * returns 1 with the text (NUL-terminated) only for a whole record.
 */
void t_record_write(const char *dir, const char *name, const char *text);
int t_record_read(const char *dir, const char *name, char *text, size_t cap);

/*
 * Slow runs (valgrind, sanitizers on a loaded machine): NETIPC_TEST_SLOW=1
 * scales timing windows by 10, NETIPC_TEST_SLOW=N (N >= 2) by N. Tests wrap
 * the timeouts they configure and the upper bounds they assert in T_MS(),
 * so a slow run widens the windows instead of skipping the test.
 */
static inline unsigned t_slow(void)
{
    const char *v = getenv("NETIPC_TEST_SLOW");
    long n = v ? strtol(v, NULL, 10) : 0;
    if (n <= 0)
        return 1;
    return n == 1 ? 10u : (unsigned)(n > 100 ? 100 : n);
}

#define T_MS(ms) ((ms)*t_slow())

/* Plain handlers for test providers: INCREMENT answers value + 1,
 * STRING_REVERSE the string reversed (BUFFER_TOO_SMALL when it does not fit). */
static inline nipc_error_t t_increment_handler(void *ctx, uint64_t v, uint64_t *out)
{
    (void)ctx;
    *out = v + 1;
    return NIPC_OK;
}

static inline nipc_error_t t_reverse_handler(void *ctx, nipc_str_t in, char *out, uint32_t cap,
                                             uint32_t *out_len)
{
    (void)ctx;
    if (in.len > cap)
        return NIPC_ERR_BUFFER_TOO_SMALL;
    for (uint32_t i = 0; i < in.len; i++)
        out[i] = in.ptr[in.len - 1 - i];
    *out_len = in.len;
    return NIPC_OK;
}

/* Bytes a test owns, e.g. an encoded snapshot for t_snapshot_handler(). */
typedef struct t_bytes {
    uint8_t *ptr;
    size_t len;
} t_bytes_t;

/* CGROUPS_SNAPSHOT handler answering the fixed bytes of ctx (a t_bytes_t). */
static inline nipc_error_t t_snapshot_handler(void *ctx, void *buf, size_t cap, size_t *out_len)
{
    const t_bytes_t *b = ctx;
    if (b->len > cap)
        return NIPC_ERR_BUFFER_TOO_SMALL;
    memcpy(buf, b->ptr, b->len);
    *out_len = b->len;
    return NIPC_OK;
}

/*
 * nipc_client_refresh(), reporting whether the client's state changed: the
 * state-machine checks of the suites are about transitions (refresh itself
 * returns why the client is not READY, checked in test_service).
 */
static inline int t_refresh_changed(nipc_client_t *c)
{
    nipc_client_state_t before = nipc_client_state(c);
    nipc_client_refresh(c);
    return nipc_client_state(c) != before;
}

/* Copies a cache item (a Level 3 lookup result) for checks after the guard; 1 if found. */
static inline int t_item_copy(const nipc_cgroup_item_t *found, nipc_cgroup_item_t *out)
{
    if (found)
        *out = *found;
    return found != NULL;
}

#endif
