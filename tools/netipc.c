/*
 * netipc: command-line tool for providers and consumers of netipc services.
 *
 *   netipc serve <kind>      run a provider (cgroups-snapshot, cgroups-lookup, apps-lookup,
 *                            increment, string-reverse)
 *   netipc call <kind> ...   make one typed call (or a timed series) and print the answer
 *   netipc status            list the endpoints of a run directory: live, stale or junk
 *   netipc cleanup           remove stale endpoint files
 *
 * The tool is a thin layer over the public API; endpoint inspection that
 * needs the file system lives in endpoints_posix.c / endpoints_windows.c.
 * Exit codes: 0 success, 1 the operation failed, 2 usage error.
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "corpus/corpus.h"
#include "netipc/netipc.h"
#include "platform/platform.h"
#include "tools/tool.h"

#define EXIT_FAILED 1
#define EXIT_USAGE 2

/* ------------------------------------------------------------- options */

typedef struct options {
    const char *run_dir;
    const char *service; /* endpoint name; defaults to the kind */
    uint32_t profiles;   /* NIPC_PROFILE_* mask */
    uint64_t token;
    uint32_t timeout_ms;
    uint32_t max_sessions;
    uint32_t corpus;     /* serve cgroups-snapshot/-lookup: corpus items instead of this machine */
    uint32_t count;      /* call: repetitions (timed series when > 1) */
    uint32_t limit;      /* call cgroups-snapshot: items printed */
    uint32_t rescan_ms;  /* serve cgroups-snapshot: rescan period */
    int help;
} options_t;

static int parse_u64(const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 0);
    if (errno || !*s || *end || *s == '-')
        return 0;
    *out = v;
    return 1;
}

static int parse_u32(const char *s, uint32_t *out)
{
    uint64_t v;
    if (!parse_u64(s, &v) || v > UINT32_MAX)
        return 0;
    *out = (uint32_t)v;
    return 1;
}

static int parse_profile(const char *s, uint32_t *out)
{
    if (strcmp(s, "uds") == 0 || strcmp(s, "baseline") == 0 || strcmp(s, "pipe") == 0)
        *out = NIPC_PROFILE_BASELINE;
    else if (strcmp(s, "shm") == 0)
        *out = NIPC_PROFILE_SHM_HYBRID;
    else if (strcmp(s, "both") == 0 || strcmp(s, "any") == 0)
        *out = NIPC_PROFILE_BASELINE | NIPC_PROFILE_SHM_HYBRID;
    else
        return 0;
    return 1;
}

/*
 * Moves recognised options out of argv (in place) and leaves the positional
 * arguments. Returns -1 after printing a usage error.
 */
static int parse_options(int *argc, char **argv, options_t *o)
{
    int out = 0;
    for (int i = 0; i < *argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < *argc ? argv[i + 1] : NULL;
        int ok = 1, takes = 1;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            o->help = 1;
            takes = 0;
        } else if (strcmp(a, "--run-dir") == 0 && v) {
            o->run_dir = v;
        } else if (strcmp(a, "--service") == 0 && v) {
            o->service = v;
        } else if (strcmp(a, "--profile") == 0 && v) {
            ok = parse_profile(v, &o->profiles);
        } else if (strcmp(a, "--token") == 0 && v) {
            ok = parse_u64(v, &o->token);
        } else if (strcmp(a, "--timeout") == 0 && v) {
            ok = parse_u32(v, &o->timeout_ms);
        } else if (strcmp(a, "--max-sessions") == 0 && v) {
            ok = parse_u32(v, &o->max_sessions) && o->max_sessions > 0;
        } else if (strcmp(a, "--corpus") == 0 && v) {
            ok = parse_u32(v, &o->corpus) && o->corpus > 0 && o->corpus <= NIPC_CORPUS_MAX_ITEMS;
        } else if (strcmp(a, "--count") == 0 && v) {
            ok = parse_u32(v, &o->count) && o->count > 0;
        } else if (strcmp(a, "--limit") == 0 && v) {
            ok = parse_u32(v, &o->limit);
        } else if (strcmp(a, "--rescan") == 0 && v) {
            ok = parse_u32(v, &o->rescan_ms);
        } else if (strncmp(a, "--", 2) == 0 && strlen(a) > 2) {
            fprintf(stderr, "netipc: unknown option %s (or it needs a value)\n", a);
            return -1;
        } else {
            argv[out++] = argv[i];
            takes = 0;
        }
        if (!ok) {
            fprintf(stderr, "netipc: bad value for %s: %s\n", a, v);
            return -1;
        }
        i += takes;
    }
    *argc = out;
    return 0;
}

static int fail(const char *what, nipc_error_t err)
{
    fprintf(stderr, "netipc: %s: %s (%s)", what, nipc_strerror(err), nipc_error_name(err));
    if (nipc_last_os_error())
        fprintf(stderr, " [os error %d: %s]", nipc_last_os_error(), strerror(nipc_last_os_error()));
    fputc('\n', stderr);
    return EXIT_FAILED;
}

/* --------------------------------------------------------------- serve */

static volatile sig_atomic_t stop_requested;
static nipc_server_t *running_server;

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
    if (running_server)
        nipc_server_stop(running_server); /* async-signal-safe */
}

static nipc_error_t handle_increment(void *ctx, uint64_t value, uint64_t *out)
{
    (void)ctx;
    *out = value + 1;
    return NIPC_OK;
}

static nipc_error_t handle_reverse(void *ctx, nipc_str_t in, char *out, uint32_t cap,
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

/* The snapshot a cgroups provider serves; swapped by the rescan loop. */
typedef struct snapshot_source {
    nipc__mutex_t *lock;
    nipc_cgroup_set_t set;
    uint64_t generation;
} snapshot_source_t;

static nipc_error_t handle_snapshot(void *ctx, void *buf, size_t cap, size_t *out_len)
{
    snapshot_source_t *src = ctx;
    nipc__mutex_lock(src->lock);
    nipc_error_t err = nipc_cgroup_set_encode(&src->set, src->generation, buf, cap, out_len);
    nipc__mutex_unlock(src->lock);
    return err;
}

static nipc_error_t load_cgroups(const options_t *o, nipc_cgroup_set_t *set)
{
    if (o->corpus)
        return nipc_cgroup_set_corpus(1, o->corpus, set);
    return nipc_cgroup_set_local(NIPC_CORPUS_MAX_ITEMS, 200, set);
}

static int same_set(const nipc_cgroup_set_t *a, const nipc_cgroup_set_t *b)
{
    if (a->count != b->count || a->systemd_enabled != b->systemd_enabled)
        return 0;
    for (uint32_t i = 0; i < a->count; i++)
        if (a->items[i].hash != b->items[i].hash || a->items[i].path_len != b->items[i].path_len ||
            memcmp(a->items[i].path, b->items[i].path, a->items[i].path_len) != 0)
            return 0;
    return 1;
}

static void rescan(const options_t *o, snapshot_source_t *src)
{
    nipc_cgroup_set_t fresh;
    if (load_cgroups(o, &fresh) != NIPC_OK)
        return;
    nipc__mutex_lock(src->lock);
    if (same_set(&fresh, &src->set)) {
        nipc__mutex_unlock(src->lock);
        nipc_cgroup_set_free(&fresh);
        return;
    }
    nipc_cgroup_set_t old = src->set;
    src->set = fresh;
    src->generation++;
    nipc__mutex_unlock(src->lock);
    nipc_cgroup_set_free(&old);
}

static const char *serve_usage =
    "usage: netipc serve <kind> [options]\n"
    "\n"
    "Runs a provider until SIGINT or SIGTERM. Kinds:\n"
    "  cgroups-snapshot   this machine's /sys/fs/cgroup (the corpus when unreadable)\n"
    "  cgroups-lookup     answers cgroup paths from the same tree (full or relative\n"
    "                     to the root): KNOWN with orchestrator, name and labels, or\n"
    "                     UNKNOWN_PERMANENT\n"
    "  apps-lookup        answers PIDs from /proc: comm, ppid, uid, starttime, cgroup\n"
    "  increment          answers value + 1 (test and benchmark method)\n"
    "  string-reverse     answers the reversed string (test method)\n"
    "\n"
    "Options:\n"
    "  --run-dir DIR      endpoint directory (default: see 'netipc --help')\n"
    "  --service NAME     endpoint name (default: the kind)\n"
    "  --profile P        uds | shm | both (default both; uds is always offered)\n"
    "  --token N          authentication token (default 0)\n"
    "  --max-sessions N   concurrent clients (default 64)\n"
    "  --corpus N         cgroups-snapshot/-lookup: N corpus items instead of this machine\n"
    "  --rescan MS        cgroups-snapshot/-lookup: rescan period in ms (default 1000, 0 =\n"
    "                     never); a changed tree bumps the generation\n"
    "\n"
    "Prints 'READY <run-dir> <service>' on stdout once it accepts clients.\n";

static int cmd_serve(int argc, char **argv, options_t *o)
{
    if (o->help) {
        fputs(serve_usage, stdout);
        return 0;
    }
    if (argc != 1) {
        fputs(serve_usage, stderr);
        return EXIT_USAGE;
    }
    const char *kind = argv[0];
    const char *service = o->service ? o->service : kind;
    nipc_server_config_t cfg = {
        .supported_profiles = NIPC_PROFILE_BASELINE |
                              (o->profiles ? o->profiles : NIPC_PROFILE_SHM_HYBRID),
        .auth_token = o->token,
        .max_sessions = o->max_sessions,
        .max_request_batch_items = 1000,
        .max_request_payload_bytes = NIPC_MAX_PAYLOAD_CAP,
        .max_response_payload_bytes = NIPC_MAX_PAYLOAD_CAP,
    };
    snapshot_source_t src = {0};
    nipc_tool_cgroups_t *lookup_db = NULL;
    uint64_t apps_generation = 0;
    nipc_server_t *srv = NULL;
    nipc_error_t err;
    if (strcmp(kind, "increment") == 0) {
        err = nipc_server_create_increment(o->run_dir, service, &cfg, handle_increment, NULL,
                                           &srv);
    } else if (strcmp(kind, "string-reverse") == 0) {
        err = nipc_server_create_string_reverse(o->run_dir, service, &cfg, handle_reverse, NULL,
                                                &srv);
    } else if (strcmp(kind, "cgroups-snapshot") == 0) {
        err = nipc__mutex_create(&src.lock);
        if (err == NIPC_OK)
            err = load_cgroups(o, &src.set);
        if (err != NIPC_OK)
            return fail("reading cgroups", err);
        src.generation = 1;
        size_t need = nipc_cgroup_set_encoded_size(&src.set);
        if (need > cfg.max_response_payload_bytes)
            cfg.max_response_payload_bytes = (uint32_t)need * 2;
        err = nipc_server_create_cgroups_snapshot(o->run_dir, service, &cfg, handle_snapshot,
                                                  &src, &srv);
    } else if (strcmp(kind, "cgroups-lookup") == 0) {
        err = nipc_tool_cgroups_open(o->corpus, &lookup_db);
        if (err != NIPC_OK)
            return fail("reading cgroups", err);
        err = nipc_server_create_cgroups_lookup(o->run_dir, service, &cfg,
                                                nipc_tool_cgroups_lookup, lookup_db, &srv);
    } else if (strcmp(kind, "apps-lookup") == 0) {
        apps_generation = nipc_tool_apps_generation();
        err = nipc_server_create_apps_lookup(o->run_dir, service, &cfg, nipc_tool_apps_lookup,
                                             &apps_generation, &srv);
    } else {
        fprintf(stderr, "netipc: unknown kind '%s'\n\n%s", kind, serve_usage);
        return EXIT_USAGE;
    }
    if (err != NIPC_OK)
        return fail("starting the provider", err);

    running_server = srv;
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    err = nipc_server_start(srv);
    if (err != NIPC_OK)
        return fail("starting the provider", err);
    printf("READY %s %s\n", o->run_dir, service);
    fflush(stdout);

    uint32_t period = o->rescan_ms;
    uint64_t next = nipc__now_ms() + period;
    while (!stop_requested) {
        nipc__sleep_ms(50);
        if ((src.lock || lookup_db) && period && nipc__now_ms() >= next) {
            if (src.lock)
                rescan(o, &src);
            else
                nipc_tool_cgroups_rescan(lookup_db);
            next = nipc__now_ms() + period;
        }
    }
    int clean = nipc_server_join(srv, 2000) == NIPC_OK;
    nipc_server_stats_t st;
    nipc_server_stats(srv, &st);
    nipc_server_destroy(srv);
    running_server = NULL;
    fprintf(stderr,
            "netipc: stopped %s; sessions %" PRIu64 ", requests %" PRIu64 " (%" PRIu64
            " errors)%s\n",
            service, st.sessions_accepted, st.requests, st.request_errors,
            clean ? "" : "; some sessions were forced closed");
    if (src.lock) {
        nipc_cgroup_set_free(&src.set);
        nipc__mutex_free(src.lock);
    }
    nipc_tool_cgroups_free(lookup_db);
    return 0;
}

/* ---------------------------------------------------------------- call */

static const char *call_usage =
    "usage: netipc call <kind> [args] [options]\n"
    "\n"
    "  netipc call increment <value>\n"
    "  netipc call string-reverse <text>\n"
    "  netipc call cgroups-snapshot [--limit N]\n"
    "  netipc call cgroups-lookup <path>...   (no path: a probe for the generation)\n"
    "  netipc call apps-lookup <pid>...\n"
    "\n"
    "Options:\n"
    "  --run-dir DIR   endpoint directory\n"
    "  --service NAME  endpoint name (default: the kind)\n"
    "  --profile P     uds | shm | both (default both: SHM when the provider offers it)\n"
    "  --token N       authentication token (default 0)\n"
    "  --timeout MS    per-call timeout (default 30000)\n"
    "  --count N       repeat the call N times and print throughput and latency\n"
    "  --limit N       cgroups-snapshot: items to print (default 20, 0 = all)\n";

static int compare_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Positional arguments of a call, with the lookup keys parsed once. */
typedef struct call_args {
    int argc;
    char **argv;
    nipc_str_t *paths;
    uint32_t *pids;
} call_args_t;

static void print_labels(const nipc_lookup_labels_t *labels)
{
    for (uint32_t j = 0; j < labels->count; j++) {
        nipc_label_t l;
        if (nipc_lookup_label(labels, j, &l) == NIPC_OK)
            printf(" %.*s=%.*s", (int)l.key.len, l.key.ptr, (int)l.value.len, l.value.ptr);
    }
}

static nipc_error_t call_cgroups_lookup(nipc_client_t *c, const call_args_t *a,
                                        const options_t *o, int print)
{
    nipc_cgroups_lookup_view_t v;
    nipc_error_t err = nipc_client_cgroups_lookup(c, a->paths, (uint32_t)a->argc, &v,
                                                  o->timeout_ms);
    if (err != NIPC_OK || !print)
        return err;
    printf("generation %" PRIu64 ", %u items\n", v.generation, v.item_count);
    for (uint32_t i = 0; i < v.item_count; i++) {
        nipc_cgroups_lookup_item_t it;
        err = nipc_cgroups_lookup_resp_item(&v, i, &it);
        if (err != NIPC_OK)
            return err;
        printf("  %.*s: %s", (int)it.path.len, it.path.ptr,
               nipc_cgroup_lookup_status_name(it.status));
        if (it.status == NIPC_CGROUP_KNOWN) {
            printf(" orchestrator=%s name=%.*s", nipc_orchestrator_name(it.orchestrator),
                   (int)it.name.len, it.name.ptr);
            print_labels(&it.labels);
        }
        putchar('\n');
    }
    return NIPC_OK;
}

static nipc_error_t call_apps_lookup(nipc_client_t *c, const call_args_t *a, const options_t *o,
                                     int print)
{
    nipc_apps_lookup_view_t v;
    nipc_error_t err = nipc_client_apps_lookup(c, a->pids, (uint32_t)a->argc, &v, o->timeout_ms);
    if (err != NIPC_OK || !print)
        return err;
    printf("generation %" PRIu64 ", %u items\n", v.generation, v.item_count);
    for (uint32_t i = 0; i < v.item_count; i++) {
        nipc_apps_lookup_item_t it;
        err = nipc_apps_lookup_resp_item(&v, i, &it);
        if (err != NIPC_OK)
            return err;
        printf("  pid %u: %s", it.pid, nipc_app_status_name(it.status));
        if (it.status == NIPC_APP_KNOWN) {
            printf(" comm=%.*s ppid=%u uid=", (int)it.comm.len, it.comm.ptr, it.ppid);
            if (it.uid == NIPC_UID_UNSET)
                printf("unset");
            else
                printf("%u", it.uid);
            printf(" starttime=%" PRIu64 " cgroup=%s", it.starttime,
                   nipc_app_cgroup_status_name(it.cgroup_status));
            if (it.cgroup_path.len)
                printf(" path=%.*s", (int)it.cgroup_path.len, it.cgroup_path.ptr);
            if (it.cgroup_status == NIPC_APP_CGROUP_KNOWN) {
                printf(" orchestrator=%s name=%.*s", nipc_orchestrator_name(it.orchestrator),
                       (int)it.cgroup_name.len, it.cgroup_name.ptr);
                print_labels(&it.labels);
            }
        }
        putchar('\n');
    }
    return NIPC_OK;
}

/* One call of the chosen kind; prints the answer when `print` is set. */
static nipc_error_t call_once(nipc_client_t *c, const char *kind, const call_args_t *a,
                              const options_t *o, int print)
{
    nipc_error_t err;
    const char *arg = a->argc > 0 ? a->argv[0] : NULL;
    if (strcmp(kind, "cgroups-lookup") == 0)
        return call_cgroups_lookup(c, a, o, print);
    if (strcmp(kind, "apps-lookup") == 0)
        return call_apps_lookup(c, a, o, print);
    if (strcmp(kind, "increment") == 0) {
        uint64_t v, out = 0;
        if (!parse_u64(arg, &v))
            return NIPC_ERR_INVALID_ARGUMENT;
        err = nipc_client_increment(c, v, &out, o->timeout_ms);
        if (err == NIPC_OK && print)
            printf("%" PRIu64 "\n", out);
        return err;
    }
    if (strcmp(kind, "string-reverse") == 0) {
        nipc_str_t out;
        err = nipc_client_string_reverse(c, arg, (uint32_t)strlen(arg), &out, o->timeout_ms);
        if (err == NIPC_OK && print)
            printf("%.*s\n", (int)out.len, out.ptr);
        return err;
    }
    nipc_cgroups_view_t v;
    err = nipc_client_cgroups_snapshot(c, &v, o->timeout_ms);
    if (err != NIPC_OK || !print)
        return err;
    printf("generation %" PRIu64 ", %u cgroups, systemd %s\n", v.generation, v.item_count,
           v.systemd_enabled ? "enabled" : "not detected");
    uint32_t limit = o->limit ? o->limit : v.item_count;
    for (uint32_t i = 0; i < v.item_count && i < limit; i++) {
        nipc_cgroup_item_t it;
        err = nipc_cgroups_resp_item(&v, i, &it);
        if (err != NIPC_OK)
            return err;
        printf("  %08x %s %.*s\n", it.hash, it.enabled ? "on " : "off", (int)it.path.len,
               it.path.ptr);
    }
    if (limit < v.item_count)
        printf("  ... %u more (--limit 0 prints all)\n", v.item_count - limit);
    return NIPC_OK;
}

static int timed_series(nipc_client_t *c, const char *kind, const call_args_t *a,
                        const options_t *o)
{
    uint64_t *lat = malloc(o->count * sizeof *lat);
    if (!lat)
        return fail("allocating", NIPC_ERR_NO_MEMORY);
    uint64_t start = nipc__now_ns();
    for (uint32_t i = 0; i < o->count; i++) {
        uint64_t t0 = nipc__now_ns();
        nipc_error_t err = call_once(c, kind, a, o, 0);
        if (err != NIPC_OK) {
            free(lat);
            return fail("call", err);
        }
        lat[i] = nipc__now_ns() - t0;
    }
    double secs = (double)(nipc__now_ns() - start) / 1e9;
    qsort(lat, o->count, sizeof *lat, compare_u64);
    nipc_client_status_t st;
    nipc_client_status(c, &st);
    printf("%u calls over %s in %.3f s: %.0f calls/s, latency p50 %.1f us, p99 %.1f us, "
           "max %.1f us\n",
           o->count, st.selected_profile == NIPC_PROFILE_BASELINE ? "baseline" : "SHM", secs,
           o->count / secs, (double)lat[o->count / 2] / 1e3,
           (double)lat[(size_t)o->count * 99 / 100] / 1e3, (double)lat[o->count - 1] / 1e3);
    free(lat);
    return 0;
}

static int cmd_call(int argc, char **argv, options_t *o)
{
    if (o->help) {
        fputs(call_usage, stdout);
        return 0;
    }
    if (argc < 1) {
        fputs(call_usage, stderr);
        return EXIT_USAGE;
    }
    const char *kind = argv[0];
    int needs_arg = strcmp(kind, "increment") == 0 || strcmp(kind, "string-reverse") == 0;
    int lookup = strcmp(kind, "cgroups-lookup") == 0 || strcmp(kind, "apps-lookup") == 0;
    if ((!needs_arg && !lookup && strcmp(kind, "cgroups-snapshot") != 0) ||
        (!lookup && argc != 1 + needs_arg)) {
        fputs(call_usage, stderr);
        return EXIT_USAGE;
    }
    uint64_t dummy;
    if (strcmp(kind, "increment") == 0 && !parse_u64(argv[1], &dummy)) {
        fprintf(stderr, "netipc: increment needs an unsigned integer, got '%s'\n", argv[1]);
        return EXIT_USAGE;
    }
    call_args_t args = {argc - 1, argv + 1, NULL, NULL};
    if (lookup) { /* keys parsed once, also for a timed series */
        args.paths = calloc((size_t)argc, sizeof *args.paths);
        args.pids = calloc((size_t)argc, sizeof *args.pids);
        if (!args.paths || !args.pids) {
            free(args.paths);
            free(args.pids);
            return fail("allocating", NIPC_ERR_NO_MEMORY);
        }
        for (int i = 0; i < args.argc; i++) {
            args.paths[i] = (nipc_str_t){args.argv[i], (uint32_t)strlen(args.argv[i])};
            if (strcmp(kind, "apps-lookup") != 0)
                continue;
            if (!parse_u64(args.argv[i], &dummy) || dummy > UINT32_MAX) {
                fprintf(stderr, "netipc: apps-lookup needs PIDs, got '%s'\n", args.argv[i]);
                free(args.paths);
                free(args.pids);
                return EXIT_USAGE;
            }
            args.pids[i] = (uint32_t)dummy;
        }
    }
    nipc_client_config_t cfg = {
        .supported_profiles = o->profiles ? o->profiles
                                          : NIPC_PROFILE_BASELINE | NIPC_PROFILE_SHM_HYBRID,
        .preferred_profiles = o->profiles,
        .auth_token = o->token,
        .max_response_payload_bytes = NIPC_MAX_PAYLOAD_CAP,
        .max_payload_ceiling = 64u << 20,
    };
    nipc_client_t *c;
    nipc_error_t err = nipc_client_create(o->run_dir, o->service ? o->service : kind, &cfg, &c);
    if (err != NIPC_OK)
        return fail("creating the client", err);
    nipc_client_refresh(c);
    nipc_client_status_t st;
    nipc_client_status(c, &st);
    int rc;
    if (st.state != NIPC_CLIENT_READY) {
        fprintf(stderr, "netipc: %s is %s in %s\n", o->service ? o->service : kind,
                nipc_client_state_name(st.state), o->run_dir);
        rc = fail("connecting", st.last_error);
    } else if (o->count > 1) {
        rc = timed_series(c, kind, &args, o);
    } else {
        err = call_once(c, kind, &args, o, 1);
        rc = err == NIPC_OK ? 0 : fail("call", err);
    }
    nipc_client_free(c);
    free(args.paths);
    free(args.pids);
    return rc;
}

/* ------------------------------------------------------ status, cleanup */

static const char *status_usage =
    "usage: netipc status [run-dir] [--token N]\n"
    "\n"
    "Lists every endpoint of the run directory: live (a provider answers; its\n"
    "negotiated profile is shown), stale (left by a dead provider) or junk (not\n"
    "an endpoint), and the shared-memory files of sessions.\n";

static const char *cleanup_usage =
    "usage: netipc cleanup [run-dir]\n"
    "\n"
    "Removes stale sockets and the shared-memory files of dead sessions. Live\n"
    "endpoints and anything not made by netipc are left alone.\n";

static int cmd_status(int argc, char **argv, options_t *o)
{
    if (o->help) {
        fputs(status_usage, stdout);
        return 0;
    }
    if (argc > 1) {
        fputs(status_usage, stderr);
        return EXIT_USAGE;
    }
    if (argc == 1)
        o->run_dir = argv[0];
    return nipc_tool_status(o->run_dir, o->token) == 0 ? 0 : EXIT_FAILED;
}

static int cmd_cleanup(int argc, char **argv, options_t *o)
{
    if (o->help) {
        fputs(cleanup_usage, stdout);
        return 0;
    }
    if (argc > 1) {
        fputs(cleanup_usage, stderr);
        return EXIT_USAGE;
    }
    if (argc == 1)
        o->run_dir = argv[0];
    return nipc_tool_cleanup(o->run_dir) == 0 ? 0 : EXIT_FAILED;
}

/* ---------------------------------------------------------------- main */

static const char *main_usage =
    "usage: netipc [--run-dir DIR] <command> [args]\n"
    "\n"
    "Commands:\n"
    "  serve <kind>       run a provider (cgroups-snapshot, cgroups-lookup, apps-lookup,\n"
    "                     increment, string-reverse)\n"
    "  call <kind> ...    call a provider and print the answer\n"
    "  status [run-dir]   list endpoints: live, stale or junk\n"
    "  cleanup [run-dir]  remove stale endpoint files\n"
    "\n"
    "'netipc <command> --help' explains each command.\n"
    "\n"
    "The run directory is --run-dir, else $NETIPC_RUN_DIR, else\n"
    "$XDG_RUNTIME_DIR/netipc, else /tmp/netipc-<uid> (created 0700 when missing).\n"
    "Exit codes: 0 success, 1 failure, 2 usage error.\n";

int main(int argc, char **argv)
{
    options_t o = {.timeout_ms = 0, .count = 1, .limit = 20, .rescan_ms = 1000};
    argc--;
    argv++;
    if (parse_options(&argc, argv, &o) != 0)
        return EXIT_USAGE;
    if (argc == 0) {
        fputs(main_usage, o.help ? stdout : stderr);
        return o.help ? 0 : EXIT_USAGE;
    }
    const char *cmd = argv[0];
    argc--;
    argv++;

    char dir[1024];
    if (!o.run_dir) {
        if (nipc_tool_default_run_dir(dir, sizeof dir) != 0)
            return EXIT_FAILED;
        o.run_dir = dir;
    }

    if (strcmp(cmd, "serve") == 0)
        return cmd_serve(argc, argv, &o);
    if (strcmp(cmd, "call") == 0)
        return cmd_call(argc, argv, &o);
    if (strcmp(cmd, "status") == 0)
        return cmd_status(argc, argv, &o);
    if (strcmp(cmd, "cleanup") == 0)
        return cmd_cleanup(argc, argv, &o);
    if (strcmp(cmd, "help") == 0) {
        fputs(main_usage, stdout);
        return 0;
    }
    fprintf(stderr, "netipc: unknown command '%s'\n\n%s", cmd, main_usage);
    return EXIT_USAGE;
}
