/*
 * The netipc tool, shared between its parts: options, failure reporting,
 * a small JSON writer, the commands (serve.c, call.c, inspect.c) and the
 * platform half (endpoints_posix.c / endpoints_windows.c: the default run
 * directory and what each entry of a run directory is).
 */
#ifndef NETIPC_TOOL_H
#define NETIPC_TOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "netipc/netipc.h"

/* Exit codes (netipc --help, netipc(1)). */
#define EXIT_FAILED 1    /* the operation failed */
#define EXIT_USAGE 2     /* bad command line */
#define EXIT_STALE 3     /* status: stale or foreign entries (cleanup removes the stale ones) */
#define EXIT_NONE_LIVE 4 /* status: no live endpoint (of --service, when given) */

typedef struct options {
    const char *run_dir;
    const char *service; /* endpoint name; defaults to the kind */
    uint32_t profiles;   /* NIPC_PROFILE_* mask; 0 = default */
    uint64_t token;
    uint32_t timeout_ms;
    uint32_t max_sessions;
    uint32_t corpus;   /* serve cgroups-*: serve this many invented cgroups */
    uint32_t count;    /* call: repetitions (timed series when > 1) */
    uint32_t limit;    /* call cgroups-snapshot: items printed */
    uint32_t rescan_ms; /* serve cgroups-*: rescan period */
    uint32_t duration_s; /* serve: stop after this many seconds (0 = on a signal) */
    const char *cgroup_root; /* serve cgroups-*: the tree to serve (default /sys/fs/cgroup) */
    bool json;
    bool help;
} options_t;

/* ------------------------------------------------------------ reporting */

/*
 * Prints the one line of a failure, "netipc: <context>: <message> (<NAME>)",
 * with the operating-system detail when the library has one for it (or as
 * a JSON document on stdout with --json), and returns EXIT_FAILED.
 */
int tool_fail(const options_t *o, const char *context, nipc_error_t err);

/* "netipc: <message>" and the hint "(see 'netipc <cmd> --help')"; EXIT_USAGE. */
int tool_usage(const char *cmd, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* "netipc: <message>"; EXIT_FAILED. */
int tool_error(const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;

/* The run directory must exist and be a directory: 0, or EXIT_FAILED after
 * saying which it is not. */
int tool_check_run_dir(const char *run_dir);

bool tool_parse_u64(const char *s, uint64_t *out);
bool tool_parse_u32(const char *s, uint32_t *out);

/* "uds shm-hybrid shm-sealed ..." for a profile mask. */
const char *tool_profile_names(uint32_t mask, char *buf, size_t cap);

/* ------------------------------------------------------------- commands */

int cmd_serve(int argc, char **argv, options_t *o);
int cmd_call(int argc, char **argv, options_t *o);
int cmd_status(int argc, char **argv, options_t *o);
int cmd_cleanup(int argc, char **argv, options_t *o);

/* ---------------------------------------------------------------- JSON */

/* Writes one JSON value at a time; commas and nesting are tracked. */
typedef struct json {
    FILE *f;
    int depth;            /* 0 = top level */
    bool need_comma[16];  /* per level: a value was written there already */
    char closer[16];      /* per level: '}' or ']' */
} json_t;

void json_begin(json_t *j, FILE *f);
void json_object(json_t *j, const char *key); /* key NULL inside arrays / at the top */
void json_array(json_t *j, const char *key);
void json_end(json_t *j);                      /* closes the innermost object or array */
void json_str(json_t *j, const char *key, const char *s);
void json_strn(json_t *j, const char *key, const char *s, size_t n);
void json_u64(json_t *j, const char *key, uint64_t v);
void json_i64(json_t *j, const char *key, int64_t v);
void json_num(json_t *j, const char *key, double v); /* 6 significant digits */
void json_bool(json_t *j, const char *key, bool v);
void json_finish(json_t *j); /* newline after the top-level value */

/* ----------------------------------------------- platform (endpoints_*.c) */

/* $NETIPC_RUN_DIR, else the platform default (POSIX: $XDG_RUNTIME_DIR/netipc,
 * else /tmp/netipc-<uid>; Windows: %TEMP%\netipc), created 0700 when
 * missing. 0 on success, -1 after printing why. */
int nipc_tool_default_run_dir(char *out, size_t cap);

/* What an entry of a run directory is: status shows it, cleanup removes
 * exactly the stale ones. */
typedef enum tool_kind {
    TOOL_SOCKET, /* an endpoint (POSIX socket file, Windows pipe) */
    TOOL_REGION, /* a session's SHM region file */
    TOOL_INFO,   /* the sidecar `netipc serve` writes: {service}.serve-info */
    TOOL_OTHER,  /* anything else */
} tool_kind_t;

typedef enum tool_state {
    TOOL_LIVE,    /* a provider answers / its owner lives */
    TOOL_STALE,   /* left by a dead netipc process: cleanup removes it */
    TOOL_FOREIGN, /* not made by netipc (or not in a form netipc makes): left alone */
    TOOL_UNKNOWN, /* could not tell (out of descriptors...): treated as live */
} tool_state_t;

typedef struct tool_entry {
    char name[256];    /* file (or pipe) name in the run dir */
    char service[256]; /* the service it belongs to, "" for TOOL_OTHER */
    tool_kind_t kind;
    tool_state_t state;
} tool_entry_t;

/* Calls fn for every entry of run_dir (only those of `service` when not
 * NULL), classified. On Windows the entries are the run dir's pipes, then its
 * files. 0, or -1 after printing why the directory could not be read. A
 * non-zero fn result is kept and returned after the scan. */
int nipc_tool_scan(const char *run_dir, const char *service,
                   int (*fn)(const tool_entry_t *e, void *ctx), void *ctx);

/* Removes a stale entry after checking again that it is stale. 0 removed,
 * 1 no longer stale (kept), -1 after printing why it could not be. */
int nipc_tool_remove_stale(const char *run_dir, const tool_entry_t *e);

/* 1 when a process with this pid exists, 0 when not, -1 unknown. */
int nipc_tool_pid_alive(int64_t pid);

/* This process's id. */
int64_t nipc_tool_pid(void);

/* The text of an OS error as nipc_last_os_error() gives it (errno on
 * POSIX, GetLastError() on Windows), in buf; returns buf. */
const char *nipc_tool_os_error_text(int os, char *buf, size_t cap);

/* Calls fn when the user asks the process to stop: SIGINT or SIGTERM on
 * POSIX (fn runs in the signal handler), Ctrl-C, Ctrl-Break, a closed
 * console, logoff or shutdown on Windows (fn runs on a thread of its own).
 * fn must be async-signal-safe: set a flag. */
void nipc_tool_on_stop(void (*fn)(void));

/* The process has cleaned up after a stop. On Windows a closing console
 * waits for this (at most 4 s) before the process is ended. */
void nipc_tool_stopped(void);

/* The separator of paths in the run directory, for the paths the tool
 * prints. */
#ifdef _WIN32
#define TOOL_PATH_SEP "\\"
#else
#define TOOL_PATH_SEP "/"
#endif

/* ---------------------------------------------- lookup providers (lookup_*.c) */

/* What a cgroup path says about itself (lookup_cgroups.c), for the
 * cgroups-lookup and apps-lookup answers: the orchestrator guessed from the
 * path, its last component as the name, and up to three labels (kind,
 * parent, container_id). Strings borrow the path or static storage. */
typedef struct nipc_tool_cgroup_facts {
    uint16_t orchestrator;
    nipc_str_t name;
    nipc_label_t labels[3];
    uint16_t nlabels;
} nipc_tool_cgroup_facts_t;
void nipc_tool_cgroup_facts(nipc_str_t path, nipc_tool_cgroup_facts_t *out);

/* 1 when the cgroup tree at root is cgroup v1 (no cgroup.controllers). */
int nipc_tool_cgroup_v1(const char *root);

/* cgroups-lookup: this machine's cgroup tree (or `corpus` corpus items when
 * non-zero), indexed; rescan() swaps in a fresh scan and bumps the
 * generation when it changed. The handler's ctx is the database.
 * *count receives the number of cgroups. */
typedef struct nipc_tool_cgroups nipc_tool_cgroups_t;
nipc_error_t nipc_tool_cgroups_open(const char *root, uint32_t corpus, nipc_tool_cgroups_t **out,
                                    uint32_t *count);
void nipc_tool_cgroups_rescan(nipc_tool_cgroups_t *db);
void nipc_tool_cgroups_free(nipc_tool_cgroups_t *db);
nipc_error_t nipc_tool_cgroups_lookup(void *ctx, const nipc_cgroups_lookup_req_t *req,
                                      nipc_cgroups_lookup_builder_t *b);

/* apps-lookup from /proc; ctx points to the generation (a uint64_t), see
 * nipc_tool_apps_generation(). nipc_tool_apps_available() says PLATFORM
 * where there is no /proc (Windows, POSIX systems without procfs). */
nipc_error_t nipc_tool_apps_available(void);
nipc_error_t nipc_tool_apps_lookup(void *ctx, const nipc_apps_lookup_req_t *req,
                                   nipc_apps_lookup_builder_t *b);
uint64_t nipc_tool_apps_generation(void);

#endif
