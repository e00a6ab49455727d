/*
 * netipc serve: run a provider of one service kind until SIGINT / SIGTERM
 * (Windows: Ctrl-C, Ctrl-Break or the console closing) or --duration
 * seconds. Where the data comes from is never hidden: the READY line says
 * it, and so does a sidecar file, {service}.serve-info in the run
 * directory, that `netipc status` reads. The cgroups kinds serve
 * this machine's /sys/fs/cgroup; invented cgroups (the deterministic
 * corpus) only when asked with --corpus N.
 */
#include <inttypes.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "corpus/corpus.h"
#include "platform/platform.h"
#include "tools/tool.h"

static const char *serve_usage =
    "usage: netipc serve <kind> [options]\n"
    "\n"
    "Runs a provider until SIGINT or SIGTERM (Windows: Ctrl-C or Ctrl-Break), or\n"
    "--duration. Kinds:\n"
    "  cgroups-snapshot   this machine's cgroup tree (" NIPC_CGROUP_ROOT ")\n"
    "  cgroups-lookup     answers cgroup paths from the same tree (full or relative\n"
    "                     to the root): KNOWN with orchestrator, name and labels, or\n"
    "                     UNKNOWN_PERMANENT\n"
    "  apps-lookup        answers PIDs from /proc: comm, ppid, uid, starttime, cgroup\n"
    "  increment          answers value + 1 (test and benchmark method)\n"
    "  string-reverse     answers the reversed string (test method)\n"
    "\n"
    "Options:\n"
    "  --run-dir DIR      endpoint directory (see 'netipc --help')\n"
    "  --service NAME     endpoint name (default: the kind)\n"
    "  --profile P        uds | shm | both (default both; uds is always offered)\n"
    "  --token N          authentication token (default 0)\n"
    "  --max-sessions N   concurrent clients (default 64)\n"
    "  --cgroup-root DIR  cgroups-*: the cgroup tree to serve (default " NIPC_CGROUP_ROOT ";\n"
    "                     in a container, e.g. the host's tree mounted elsewhere)\n"
    "  --corpus N         cgroups-*: serve N invented cgroups instead of this machine's\n"
    "  --rescan MS        cgroups-*: rescan period in ms (default 1000, 0 = never); a\n"
    "                     changed tree bumps the generation\n"
    "  --duration S       stop by itself after S seconds\n"
    "\n"
    "Prints 'READY <run-dir> <service> source=<where the data comes from>' on stdout\n"
    "once it accepts clients.\n";

/* Set by a signal handler (POSIX) or a console-event thread (Windows); the
 * serve loop sees it within one 50 ms tick and stops the server itself, so
 * the handler never touches a server that may be being destroyed. */
static atomic_int stop_requested;

static void on_stop(void)
{
    atomic_store(&stop_requested, 1);
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

/* ------------------------------------------------------- cgroups snapshot */

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

static const char *cgroup_root(const options_t *o)
{
    return o->cgroup_root ? o->cgroup_root : NIPC_CGROUP_ROOT;
}

static nipc_error_t load_cgroups(const options_t *o, nipc_cgroup_set_t *set)
{
    if (o->corpus)
        return nipc_cgroup_set_corpus(1, o->corpus, set);
    return nipc_cgroup_set_scan(cgroup_root(o), NIPC_CORPUS_MAX_ITEMS, set);
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
        return; /* keep serving the last good tree */
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

/* Why this machine's cgroups cannot be served, and what to do instead. */
static int no_cgroups(const options_t *o, const char *kind, nipc_error_t err)
{
    if (err == NIPC_ERR_UNSUPPORTED)
        return tool_error("serve %s: this platform has no cgroups; --corpus N serves N "
                          "invented ones",
                          kind);
    return tool_error("serve %s: %s has no readable cgroups (%s); --corpus N serves N "
                      "invented ones",
                      kind, cgroup_root(o), nipc_error_name(err));
}

/* ------------------------------------------------------------ sidecar file */

static void info_path(const options_t *o, const char *service, char *out, size_t cap)
{
    snprintf(out, cap, "%s" TOOL_PATH_SEP "%s.serve-info", o->run_dir, service);
}

/* "pid=<pid> kind=<kind> source=<text>": read by `netipc status`. */
static void write_info(const char *path, const char *kind, const char *source)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return; /* status then shows no source: not a reason to stop serving */
    fprintf(f, "pid=%" PRId64 " kind=%s source=%s\n", nipc_tool_pid(), kind, source);
    fclose(f);
}

/* ------------------------------------------------------------------ serve */

int cmd_serve(int argc, char **argv, options_t *o)
{
    if (o->help) {
        fputs(serve_usage, stdout);
        return 0;
    }
    if (argc < 1)
        return tool_usage("serve", "serve needs a kind (%s)",
                          "cgroups-snapshot, cgroups-lookup, apps-lookup, increment, "
                          "string-reverse");
    const char *kind = argv[0];
    if (argc > 1)
        return tool_usage("serve", "serve %s: unexpected argument '%s'", kind, argv[1]);
    const char *service = o->service ? o->service : kind;
    if (!nipc_service_name_valid(service))
        return tool_usage("serve", "bad service name '%s' ([A-Za-z0-9._-]+)", service);
    int rc = tool_check_run_dir(o->run_dir);
    if (rc)
        return rc;
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
    char source[160] = "built in";
    bool cgroups_kind = false;
    if (strcmp(kind, "increment") == 0) {
        snprintf(source, sizeof source, "built in (value + 1)");
        err = nipc_server_create_increment(o->run_dir, service, &cfg, handle_increment, NULL,
                                           &srv);
    } else if (strcmp(kind, "string-reverse") == 0) {
        snprintf(source, sizeof source, "built in (the string reversed)");
        err = nipc_server_create_string_reverse(o->run_dir, service, &cfg, handle_reverse, NULL,
                                                &srv);
    } else if (strcmp(kind, "cgroups-snapshot") == 0) {
        cgroups_kind = true;
        err = nipc__mutex_create(&src.lock);
        if (err != NIPC_OK)
            return tool_fail(o, "serve cgroups-snapshot", err);
        err = load_cgroups(o, &src.set);
        if (err != NIPC_OK) {
            nipc__mutex_free(src.lock);
            return o->corpus ? tool_fail(o, "serve cgroups-snapshot: the corpus", err)
                             : no_cgroups(o, kind, err);
        }
        src.generation = 1;
        size_t need = nipc_cgroup_set_encoded_size(&src.set);
        if (need > cfg.max_response_payload_bytes)
            cfg.max_response_payload_bytes = (uint32_t)need * 2;
        snprintf(source, sizeof source, "%s (%u cgroups)",
                 o->corpus ? "corpus: invented cgroups" : cgroup_root(o), src.set.count);
        err = nipc_server_create_cgroups_snapshot(o->run_dir, service, &cfg, handle_snapshot,
                                                  &src, &srv);
    } else if (strcmp(kind, "cgroups-lookup") == 0) {
        cgroups_kind = true;
        uint32_t count = 0;
        err = nipc_tool_cgroups_open(cgroup_root(o), o->corpus, &lookup_db, &count);
        if (err != NIPC_OK)
            return o->corpus ? tool_fail(o, "serve cgroups-lookup: the corpus", err)
                             : no_cgroups(o, kind, err);
        snprintf(source, sizeof source, "%s (%u cgroups)",
                 o->corpus ? "corpus: invented cgroups" : cgroup_root(o), count);
        err = nipc_server_create_cgroups_lookup(o->run_dir, service, &cfg,
                                                nipc_tool_cgroups_lookup, lookup_db, &srv);
    } else if (strcmp(kind, "apps-lookup") == 0) {
        err = nipc_tool_apps_available();
        if (err != NIPC_OK)
            return tool_error("serve apps-lookup: this platform has no /proc to answer from");
        snprintf(source, sizeof source, "/proc");
        apps_generation = nipc_tool_apps_generation();
        err = nipc_server_create_apps_lookup(o->run_dir, service, &cfg, nipc_tool_apps_lookup,
                                             &apps_generation, &srv);
    } else {
        return tool_usage("serve", "unknown kind '%s' (%s)", kind,
                          "cgroups-snapshot, cgroups-lookup, apps-lookup, increment, "
                          "string-reverse");
    }
    if (o->corpus && !cgroups_kind)
        fprintf(stderr, "netipc: --corpus applies to the cgroups kinds only; ignored\n");
    char context[600];
    snprintf(context, sizeof context, "serve %s as '%s' in %s", kind, service, o->run_dir);
    if (err != NIPC_OK) {
        rc = tool_fail(o, context, err);
        goto out;
    }

    nipc_tool_on_stop(on_stop);
    err = nipc_server_start(srv);
    if (err != NIPC_OK) {
        rc = tool_fail(o, context, err);
        goto out;
    }
    char info[1100];
    info_path(o, service, info, sizeof info);
    write_info(info, kind, source);
    printf("READY %s %s source=%s\n", o->run_dir, service, source);
    fflush(stdout);

    uint32_t period = o->rescan_ms;
    uint64_t next = nipc__now_ms() + period;
    uint64_t until = o->duration_s ? nipc__now_ms() + (uint64_t)o->duration_s * 1000u : 0;
    while (!atomic_load(&stop_requested) && (!until || nipc__now_ms() < until)) {
        nipc__sleep_ms(50);
        if ((src.lock || lookup_db) && period && nipc__now_ms() >= next) {
            if (src.lock)
                rescan(o, &src);
            else
                nipc_tool_cgroups_rescan(lookup_db);
            next = nipc__now_ms() + period;
        }
    }
    bool clean = nipc_server_join(srv, 2000) == NIPC_OK;
    nipc_server_stats_t st;
    nipc_server_stats(srv, &st);
    remove(info);
    fprintf(stderr,
            "netipc: stopped %s; sessions %" PRIu64 ", requests %" PRIu64 " (%" PRIu64
            " errors)%s\n",
            service, st.sessions_accepted, st.requests, st.request_errors,
            clean ? "" : "; some sessions were forced closed");
out:
    nipc_server_destroy(srv);
    if (src.lock) {
        nipc_cgroup_set_free(&src.set);
        nipc__mutex_free(src.lock);
    }
    nipc_tool_cgroups_free(lookup_db);
    nipc_tool_stopped();
    return rc;
}
