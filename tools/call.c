/*
 * netipc call: one typed call of a service kind (or a timed series of them
 * with --count) and its answer, as text or, with --json, as one JSON
 * document per line. Keys are checked before anything is sent, so a bad
 * one is named by its position and value.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "platform/platform.h"
#include "tools/tool.h"

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
    "  --run-dir DIR   endpoint directory (see 'netipc --help')\n"
    "  --service NAME  endpoint name (default: the kind)\n"
    "  --profile P     uds | shm | both (default both: SHM when the provider offers it)\n"
    "  --token N       authentication token (default 0)\n"
    "  --timeout MS    per-call timeout (default 30000)\n"
    "  --count N       repeat the call N times and print throughput and latency\n"
    "  --limit N       cgroups-snapshot: items to print (default 20, 0 = all)\n"
    "  --json          one JSON document per line (with --count: one per call, then a\n"
    "                  summary)\n";

typedef enum { K_INCREMENT, K_REVERSE, K_SNAPSHOT, K_CGROUPS_LOOKUP, K_APPS_LOOKUP } kind_t;

static const char *const kind_names[] = {"increment", "string-reverse", "cgroups-snapshot",
                                         "cgroups-lookup", "apps-lookup"};

/* The call's arguments, checked and parsed once (also for a series). */
typedef struct call_args {
    kind_t kind;
    const char *kind_name;
    uint64_t value;        /* increment */
    const char *text;      /* string-reverse */
    uint32_t nkeys;        /* lookups */
    nipc_str_t *paths;
    uint32_t *pids;
} call_args_t;

static int compare_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* -------------------------------------------------------------- printing */

static void print_labels(json_t *j, const nipc_lookup_labels_t *labels)
{
    if (j)
        json_object(j, "labels");
    for (uint32_t k = 0; k < labels->count; k++) {
        nipc_label_t l;
        if (nipc_lookup_label(labels, k, &l) != NIPC_OK)
            continue;
        if (j) {
            char key[256];
            snprintf(key, sizeof key, "%.*s", (int)l.key.len, l.key.ptr);
            json_strn(j, key, l.value.ptr, l.value.len);
        } else {
            printf(" %.*s=%.*s", (int)l.key.len, l.key.ptr, (int)l.value.len, l.value.ptr);
        }
    }
    if (j)
        json_end(j);
}

static nipc_error_t show_cgroups_lookup(const nipc_cgroups_lookup_view_t *v, json_t *j)
{
    if (j) {
        json_u64(j, "generation", v->generation);
        json_array(j, "items");
    } else {
        printf("generation %" PRIu64 ", %u items\n", v->generation, v->item_count);
    }
    for (uint32_t i = 0; i < v->item_count; i++) {
        nipc_cgroups_lookup_item_t it;
        nipc_error_t err = nipc_cgroups_lookup_resp_item(v, i, &it);
        if (err != NIPC_OK)
            return err;
        const char *status = nipc_cgroup_lookup_status_name(it.status);
        if (j) {
            json_object(j, NULL);
            json_strn(j, "path", it.path.ptr, it.path.len);
            json_str(j, "status", status);
            if (it.status == NIPC_CGROUP_KNOWN) {
                json_str(j, "orchestrator", nipc_orchestrator_name(it.orchestrator));
                json_strn(j, "name", it.name.ptr, it.name.len);
                print_labels(j, &it.labels);
            }
            json_end(j);
            continue;
        }
        printf("  %.*s: %s", (int)it.path.len, it.path.ptr, status);
        if (it.status == NIPC_CGROUP_KNOWN) {
            printf(" orchestrator=%s name=%.*s", nipc_orchestrator_name(it.orchestrator),
                   (int)it.name.len, it.name.ptr);
            print_labels(NULL, &it.labels);
        }
        putchar('\n');
    }
    if (j)
        json_end(j);
    return NIPC_OK;
}

static nipc_error_t show_apps_lookup(const nipc_apps_lookup_view_t *v, json_t *j)
{
    if (j) {
        json_u64(j, "generation", v->generation);
        json_array(j, "items");
    } else {
        printf("generation %" PRIu64 ", %u items\n", v->generation, v->item_count);
    }
    for (uint32_t i = 0; i < v->item_count; i++) {
        nipc_apps_lookup_item_t it;
        nipc_error_t err = nipc_apps_lookup_resp_item(v, i, &it);
        if (err != NIPC_OK)
            return err;
        const char *status = nipc_app_status_name(it.status);
        int known = it.status == NIPC_APP_KNOWN;
        int cg_known = known && it.cgroup_status == NIPC_APP_CGROUP_KNOWN;
        if (j) {
            json_object(j, NULL);
            json_u64(j, "pid", it.pid);
            json_str(j, "status", status);
            if (known) {
                json_strn(j, "comm", it.comm.ptr, it.comm.len);
                json_u64(j, "ppid", it.ppid);
                if (it.uid != NIPC_UID_UNSET)
                    json_u64(j, "uid", it.uid);
                json_u64(j, "starttime", it.starttime);
                json_str(j, "cgroup", nipc_app_cgroup_status_name(it.cgroup_status));
                if (it.cgroup_path.len)
                    json_strn(j, "cgroup_path", it.cgroup_path.ptr, it.cgroup_path.len);
            }
            if (cg_known) {
                json_str(j, "orchestrator", nipc_orchestrator_name(it.orchestrator));
                json_strn(j, "name", it.cgroup_name.ptr, it.cgroup_name.len);
                print_labels(j, &it.labels);
            }
            json_end(j);
            continue;
        }
        printf("  pid %u: %s", it.pid, status);
        if (known) {
            printf(" comm=%.*s ppid=%u uid=", (int)it.comm.len, it.comm.ptr, it.ppid);
            if (it.uid == NIPC_UID_UNSET)
                printf("unset");
            else
                printf("%u", it.uid);
            printf(" starttime=%" PRIu64 " cgroup=%s", it.starttime,
                   nipc_app_cgroup_status_name(it.cgroup_status));
            if (it.cgroup_path.len)
                printf(" path=%.*s", (int)it.cgroup_path.len, it.cgroup_path.ptr);
        }
        if (cg_known) {
            printf(" orchestrator=%s name=%.*s", nipc_orchestrator_name(it.orchestrator),
                   (int)it.cgroup_name.len, it.cgroup_name.ptr);
            print_labels(NULL, &it.labels);
        }
        putchar('\n');
    }
    if (j)
        json_end(j);
    return NIPC_OK;
}

static nipc_error_t show_snapshot(const nipc_cgroups_view_t *v, const options_t *o, json_t *j)
{
    uint32_t limit = o->limit ? o->limit : v->item_count;
    if (j) {
        json_u64(j, "generation", v->generation);
        json_bool(j, "systemd_enabled", v->systemd_enabled != 0);
        json_u64(j, "count", v->item_count);
        json_array(j, "items");
    } else {
        printf("generation %" PRIu64 ", %u cgroups, systemd %s\n", v->generation, v->item_count,
               v->systemd_enabled ? "enabled" : "not detected");
    }
    for (uint32_t i = 0; i < v->item_count && i < limit; i++) {
        nipc_cgroup_item_t it;
        nipc_error_t err = nipc_cgroups_resp_item(v, i, &it);
        if (err != NIPC_OK)
            return err;
        if (j) {
            json_object(j, NULL);
            json_u64(j, "hash", it.hash);
            json_bool(j, "enabled", it.enabled != 0);
            json_u64(j, "options", it.options);
            json_strn(j, "name", it.name.ptr, it.name.len);
            json_strn(j, "path", it.path.ptr, it.path.len);
            json_end(j);
        } else {
            printf("  %08x %s %.*s\n", it.hash, it.enabled ? "on " : "off", (int)it.path.len,
                   it.path.ptr);
        }
    }
    if (j)
        json_end(j);
    else if (limit < v->item_count)
        printf("  ... %u more (--limit 0 prints all)\n", v->item_count - limit);
    return NIPC_OK;
}

/* Starts the JSON document of an answer. */
static void begin_answer(json_t *j, const call_args_t *a)
{
    json_object(j, NULL);
    json_str(j, "kind", a->kind_name);
}

/* One call; prints its answer when `show` (as one JSON document when j is
 * set), after the call succeeded: a failure prints no half document. */
static nipc_error_t call_once(nipc_client_t *c, const call_args_t *a, const options_t *o,
                              bool show, json_t *j)
{
    nipc_error_t err;
    switch (a->kind) {
    case K_INCREMENT: {
        uint64_t out = 0;
        err = nipc_client_increment(c, a->value, &out, o->timeout_ms);
        if (err != NIPC_OK || !show)
            return err;
        if (!j) {
            printf("%" PRIu64 "\n", out);
            return NIPC_OK;
        }
        begin_answer(j, a);
        json_u64(j, "value", out);
        break;
    }
    case K_REVERSE: {
        nipc_str_t out;
        err = nipc_client_string_reverse(c, a->text, (uint32_t)strlen(a->text), &out,
                                         o->timeout_ms);
        if (err != NIPC_OK || !show)
            return err;
        if (!j) {
            printf("%.*s\n", (int)out.len, out.ptr);
            return NIPC_OK;
        }
        begin_answer(j, a);
        json_strn(j, "text", out.ptr, out.len);
        break;
    }
    case K_SNAPSHOT: {
        nipc_cgroups_view_t v;
        err = nipc_client_cgroups_snapshot(c, &v, o->timeout_ms);
        if (err != NIPC_OK || !show)
            return err;
        if (j)
            begin_answer(j, a);
        err = show_snapshot(&v, o, j);
        break;
    }
    case K_CGROUPS_LOOKUP: {
        nipc_cgroups_lookup_view_t v;
        err = nipc_client_cgroups_lookup(c, a->paths, a->nkeys, &v, o->timeout_ms);
        if (err != NIPC_OK || !show)
            return err;
        if (j)
            begin_answer(j, a);
        err = show_cgroups_lookup(&v, j);
        break;
    }
    default: {
        nipc_apps_lookup_view_t v;
        err = nipc_client_apps_lookup(c, a->pids, a->nkeys, &v, o->timeout_ms);
        if (err != NIPC_OK || !show)
            return err;
        if (j)
            begin_answer(j, a);
        err = show_apps_lookup(&v, j);
        break;
    }
    }
    if (j)
        json_finish(j);
    return err;
}

/* ------------------------------------------------------------ the series */

typedef struct series {
    uint64_t *lat;
    uint32_t done;
} series_t;

static void print_summary(const series_t *s, const char *profile, double secs, const options_t *o,
                          nipc_error_t failure)
{
    uint64_t *lat = s->lat;
    uint32_t n = s->done;
    qsort(lat, n, sizeof *lat, compare_u64);
    double p50 = n ? (double)lat[n / 2] / 1e3 : 0, p99 = n ? (double)lat[(size_t)n * 99 / 100] / 1e3 : 0;
    double max = n ? (double)lat[n - 1] / 1e3 : 0, rate = secs > 0 ? n / secs : 0;
    if (o->json) {
        json_t j;
        json_begin(&j, stdout);
        json_object(&j, NULL);
        json_object(&j, "summary");
        json_u64(&j, "calls", o->count);
        json_u64(&j, "done", n);
        if (failure != NIPC_OK)
            json_str(&j, "failed_with", nipc_error_name(failure));
        json_str(&j, "profile", profile);
        json_num(&j, "seconds", secs);
        json_num(&j, "calls_per_s", rate);
        json_num(&j, "p50_us", p50);
        json_num(&j, "p99_us", p99);
        json_num(&j, "max_us", max);
        json_finish(&j);
        return;
    }
    if (failure != NIPC_OK)
        printf("%u of %u calls done before the failure", n, o->count);
    else
        printf("%u calls", n);
    printf(" over %s in %.3f s: %.0f calls/s, latency p50 %.1f us, p99 %.1f us, max %.1f us\n",
           profile, secs, rate, p50, p99, max);
}

static const char *profile_label(nipc_client_t *c)
{
    nipc_client_status_t st;
    nipc_client_status(c, &st);
    if (st.selected_profile == NIPC_PROFILE_SHM_SEALED)
        return "SHM (sealed)";
    return st.selected_profile & NIPC_PROFILE_SHM_MASK ? "SHM" : "baseline";
}

static int timed_series(nipc_client_t *c, const call_args_t *a, const options_t *o,
                        const char *context)
{
    series_t s = {malloc(o->count * sizeof *s.lat), 0};
    if (!s.lat)
        return tool_fail(o, "call: room for the latencies", NIPC_ERR_NO_MEMORY);
    const char *profile = profile_label(c); /* before a failure closes the session */
    uint64_t start = nipc__now_ns();
    nipc_error_t err = NIPC_OK;
    json_t j;
    json_begin(&j, stdout);
    for (uint32_t i = 0; i < o->count; i++) {
        uint64_t t0 = nipc__now_ns();
        err = call_once(c, a, o, false, NULL);
        uint64_t took = nipc__now_ns() - t0;
        if (o->json) {
            json_object(&j, NULL);
            json_u64(&j, "call", (uint64_t)i + 1);
            json_bool(&j, "ok", err == NIPC_OK);
            if (err != NIPC_OK)
                json_str(&j, "error", nipc_error_name(err));
            json_num(&j, "latency_us", (double)took / 1e3);
            json_finish(&j);
        }
        if (err != NIPC_OK)
            break;
        s.lat[s.done++] = took;
    }
    double secs = (double)(nipc__now_ns() - start) / 1e9;
    /* What was measured before a failure is still worth printing. */
    print_summary(&s, profile, secs, o, err);
    free(s.lat);
    if (err != NIPC_OK) {
        options_t quiet = *o;
        quiet.json = false; /* the summary line already carries it */
        return tool_fail(&quiet, context, err);
    }
    return 0;
}

/* --------------------------------------------------------------- command */

/* Parses and checks the positional arguments of `kind`; EXIT_USAGE names
 * the bad one. */
static int parse_args(int argc, char **argv, call_args_t *a)
{
    int k = 0, nk = (int)(sizeof kind_names / sizeof kind_names[0]);
    while (k < nk && strcmp(argv[0], kind_names[k]) != 0)
        k++;
    if (k == nk)
        return tool_usage("call", "unknown kind '%s' (%s)", argv[0],
                          "cgroups-snapshot, cgroups-lookup, apps-lookup, increment, "
                          "string-reverse");
    a->kind = (kind_t)k;
    a->kind_name = kind_names[k];
    int nargs = argc - 1;
    char **args = argv + 1;
    switch (a->kind) {
    case K_INCREMENT:
        if (nargs != 1)
            return tool_usage("call", "call increment takes one value, got %d arguments",
                              nargs);
        if (!tool_parse_u64(args[0], &a->value))
            return tool_usage("call", "call increment: '%s' is not an unsigned integer",
                              args[0]);
        return 0;
    case K_REVERSE:
        if (nargs != 1)
            return tool_usage("call", "call string-reverse takes one text, got %d arguments",
                              nargs);
        a->text = args[0];
        return 0;
    case K_SNAPSHOT:
        if (nargs != 0)
            return tool_usage("call", "call cgroups-snapshot: unexpected argument '%s'",
                              args[0]);
        return 0;
    default:
        break;
    }
    a->nkeys = (uint32_t)nargs;
    a->paths = calloc((size_t)nargs + 1, sizeof *a->paths);
    a->pids = calloc((size_t)nargs + 1, sizeof *a->pids);
    if (!a->paths || !a->pids)
        return tool_error("call: out of memory for %d keys", nargs);
    for (int i = 0; i < nargs; i++) {
        if (a->kind == K_APPS_LOOKUP) {
            if (!tool_parse_u32(args[i], &a->pids[i]))
                return tool_usage("call", "call apps-lookup: key %d '%s' is not a PID", i + 1,
                                  args[i]);
            continue;
        }
        size_t len = strlen(args[i]);
        if (len == 0)
            return tool_usage("call", "call cgroups-lookup: key %d is empty (a cgroup path is "
                                      "needed)",
                              i + 1);
        a->paths[i] = (nipc_str_t){args[i], (uint32_t)len};
    }
    return 0;
}

int cmd_call(int argc, char **argv, options_t *o)
{
    if (o->help) {
        fputs(call_usage, stdout);
        return 0;
    }
    if (argc < 1)
        return tool_usage("call", "call needs a kind (%s)",
                          "cgroups-snapshot, cgroups-lookup, apps-lookup, increment, "
                          "string-reverse");
    call_args_t args = {0};
    int rc = parse_args(argc, argv, &args);
    const char *service = o->service ? o->service : args.kind_name;
    if (rc == 0 && !nipc_service_name_valid(service))
        rc = tool_usage("call", "bad service name '%s' ([A-Za-z0-9._-]+)", service);
    if (rc == 0)
        rc = tool_check_run_dir(o->run_dir);
    if (rc != 0) {
        free(args.paths);
        free(args.pids);
        return rc;
    }
    char context[600];
    snprintf(context, sizeof context, "call %s at '%s' in %s", args.kind_name, service,
             o->run_dir);
    nipc_client_config_t cfg = {
        .supported_profiles = o->profiles ? o->profiles
                                          : NIPC_PROFILE_BASELINE | NIPC_PROFILE_SHM_HYBRID,
        .preferred_profiles = o->profiles,
        .auth_token = o->token,
        .max_response_payload_bytes = NIPC_MAX_PAYLOAD_CAP,
        .max_payload_ceiling = 64u << 20,
    };
    nipc_client_t *c = NULL;
    nipc_error_t err = nipc_client_create(o->run_dir, service, &cfg, &c);
    if (err == NIPC_OK)
        err = nipc_client_refresh(c);
    if (err != NIPC_OK) {
        rc = tool_fail(o, context, err);
    } else if (o->count > 1) {
        rc = timed_series(c, &args, o, context);
    } else {
        json_t j;
        json_begin(&j, stdout);
        err = call_once(c, &args, o, true, o->json ? &j : NULL);
        rc = err == NIPC_OK ? 0 : tool_fail(o, context, err);
    }
    nipc_client_free(c);
    free(args.paths);
    free(args.pids);
    return rc;
}
