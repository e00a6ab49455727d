/*
 * netipc status and netipc cleanup: one classification of a run directory
 * (the platform half, endpoints_*.c, says what each entry is), two uses.
 * status shows it, as text or JSON, and asks every live endpoint what it
 * offers and who serves it; cleanup removes exactly what status calls
 * stale, checking each entry again right before it goes. Foreign entries
 * (anything netipc does not make, or makes differently) are left alone by
 * both.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "tools/tool.h"

static const char *status_usage =
    "usage: netipc status [run-dir] [--service NAME] [--token N] [--json]\n"
    "\n"
    "Says what each entry of the run directory is: a live endpoint (a provider\n"
    "answers: its pid, profiles, limits and data source are shown), stale (left by a\n"
    "dead provider: 'netipc cleanup' removes it) or foreign (not made by netipc: left\n"
    "alone). --service NAME looks at that service only.\n"
    "\n"
    "Exit codes: 0 live endpoints and nothing stale; 1 the run directory cannot be\n"
    "read; 3 stale entries found; 4 no live endpoint (of NAME).\n";

static const char *cleanup_usage =
    "usage: netipc cleanup [run-dir] [--service NAME]\n"
    "\n"
    "Removes what 'netipc status' calls stale: sockets nobody answers, shared-memory\n"
    "files and serve-info files of dead processes (on Windows only serve-info files:\n"
    "pipes and shared memory die with their process). Live endpoints and foreign\n"
    "entries are left alone. Exit codes: 0 done (also when nothing was stale); 1 the\n"
    "run directory cannot be read or an entry cannot be removed.\n";

static const char *const kind_names[] = {"endpoint", "region", "serve-info", "other"};
static const char *const state_names[] = {"live", "stale", "foreign", "unknown"};

/* ---------------------------------------------------------------- status */

typedef struct status_ctx {
    const options_t *o;
    json_t j;
    unsigned live_endpoints, stale;
} status_ctx_t;

/* The sidecar of `netipc serve` for a service: "pid=N kind=K source=TEXT". */
static bool read_info(const char *run_dir, const char *service, char *kind, size_t kcap,
                      char *source, size_t scap)
{
    char path[1100], line[512];
    snprintf(path, sizeof path, "%s" TOOL_PATH_SEP "%s.serve-info", run_dir, service);
    FILE *f = fopen(path, "r");
    if (!f)
        return false;
    bool ok = fgets(line, sizeof line, f) != NULL;
    fclose(f);
    const char *k = ok ? strstr(line, " kind=") : NULL, *s = ok ? strstr(line, " source=") : NULL;
    if (!k || !s || s < k)
        return false;
    snprintf(kind, kcap, "%.*s", (int)(s - k - 6), k + 6);
    snprintf(source, scap, "%s", s + 8);
    source[strcspn(source, "\r\n")] = 0;
    return true;
}

/* A live endpoint: a handshake tells its pid, profiles and limits. */
static void show_live(status_ctx_t *c, const tool_entry_t *e)
{
    const options_t *o = c->o;
    /* Listing netipc's sealed profile (but preferring the socket) makes a
     * netipc server show it among its profiles. */
    nipc_transport_config_t cfg = {
        .supported_profiles = NIPC_PROFILE_BASELINE | NIPC_PROFILE_SHM_SEALED,
        .preferred_profiles = NIPC_PROFILE_BASELINE,
        .exact_profiles = 1,
        .auth_token = o->token,
        .handshake_timeout_ms = o->timeout_ms ? o->timeout_ms : 2000,
    };
    nipc_session_t *s = NULL;
    nipc_error_t err = nipc_session_connect(o->run_dir, e->service, &cfg, &s);
    char kind[64] = "", source[256] = "";
    bool info = read_info(o->run_dir, e->service, kind, sizeof kind, source, sizeof source);
    const nipc_session_info_t *i = s ? nipc_session_info(s) : NULL;
    char names[96];
    if (o->json) {
        if (i) {
            json_u64(&c->j, "pid", i->peer_pid);
            json_array(&c->j, "profiles");
            tool_profile_names(i->server_profiles, names, sizeof names);
            for (char *p = strtok(names, " "); p; p = strtok(NULL, " "))
                json_str(&c->j, NULL, p);
            json_end(&c->j);
            json_u64(&c->j, "max_request_payload", i->max_request_payload);
            json_u64(&c->j, "max_response_payload", i->max_response_payload);
        } else {
            json_str(&c->j, "handshake_error", nipc_error_name(err));
        }
        if (info) {
            json_str(&c->j, "serves", kind);
            json_str(&c->j, "source", source);
        }
    } else {
        printf("  %-28s live     ", e->service);
        if (i)
            printf("pid %u; profiles %s; request <= %u B, response <= %u B", i->peer_pid,
                   tool_profile_names(i->server_profiles, names, sizeof names),
                   i->max_request_payload, i->max_response_payload);
        else
            printf("a provider answers but its handshake failed: %s (%s)", nipc_strerror(err),
                   nipc_error_name(err));
        if (info)
            printf("; serves %s from %s", kind, source);
        putchar('\n');
    }
    nipc_session_close(s);
}

static const char *advice(const tool_entry_t *e)
{
    if (e->state == TOOL_STALE)
        return e->kind == TOOL_SOCKET ? "no provider answers; 'netipc cleanup' removes it"
                                      : "its process is gone; 'netipc cleanup' removes it";
    if (e->state == TOOL_FOREIGN)
        return "not made by netipc; left alone";
    return "could not tell; treated as live";
}

static int status_entry(const tool_entry_t *e, void *arg)
{
    status_ctx_t *c = arg;
    const options_t *o = c->o;
    bool live_endpoint = e->kind == TOOL_SOCKET && e->state == TOOL_LIVE;
    c->live_endpoints += live_endpoint;
    c->stale += e->state == TOOL_STALE;
    if (o->json) {
        json_object(&c->j, NULL);
        json_str(&c->j, "name", e->name);
        if (e->service[0])
            json_str(&c->j, "service", e->service);
        json_str(&c->j, "kind", kind_names[e->kind]);
        json_str(&c->j, "state", state_names[e->state]);
    }
    if (live_endpoint) {
        show_live(c, e);
    } else if (e->kind == TOOL_INFO && e->state == TOOL_LIVE) {
        /* Shown with its endpoint. */
    } else if (e->kind == TOOL_REGION && e->state == TOOL_LIVE) {
        if (!o->json)
            printf("  %-28s live     shared memory of a session (%s)\n", e->service, e->name);
    } else if (!o->json) {
        printf("  %-28s %-8s %s (%s)\n", e->service[0] ? e->service : e->name,
               state_names[e->state], advice(e), e->name);
    }
    if (o->json)
        json_end(&c->j);
    return 0;
}

int cmd_status(int argc, char **argv, options_t *o)
{
    if (o->help) {
        fputs(status_usage, stdout);
        return 0;
    }
    if (argc > 1)
        return tool_usage("status", "status takes one run directory, got %d arguments", argc);
    if (argc == 1)
        o->run_dir = argv[0];
    int rc = tool_check_run_dir(o->run_dir);
    if (rc)
        return rc;
    status_ctx_t c = {.o = o};
    if (o->json) {
        json_begin(&c.j, stdout);
        json_object(&c.j, NULL);
        json_str(&c.j, "run_dir", o->run_dir);
        json_array(&c.j, "entries");
    } else {
        printf("%s\n", o->run_dir);
    }
    if (nipc_tool_scan(o->run_dir, o->service, status_entry, &c) != 0)
        return EXIT_FAILED;
    rc = c.stale ? EXIT_STALE : c.live_endpoints ? 0 : EXIT_NONE_LIVE;
    if (o->json) {
        json_end(&c.j);
        json_u64(&c.j, "live_endpoints", c.live_endpoints);
        json_u64(&c.j, "stale", c.stale);
        json_u64(&c.j, "exit", (uint64_t)rc);
        json_finish(&c.j);
    } else if (!c.live_endpoints && !c.stale) {
        printf("  no %s%s%sendpoint here\n", o->service ? "'" : "", o->service ? o->service : "",
               o->service ? "' " : "");
    }
    return rc;
}

/* --------------------------------------------------------------- cleanup */

typedef struct cleanup_ctx {
    const options_t *o;
    unsigned removed, failed;
} cleanup_ctx_t;

static int cleanup_entry(const tool_entry_t *e, void *arg)
{
    cleanup_ctx_t *c = arg;
    if (e->state != TOOL_STALE)
        return 0;
    int r = nipc_tool_remove_stale(c->o->run_dir, e);
    if (r == 0) {
        printf("removed %s (stale %s of '%s')\n", e->name, kind_names[e->kind], e->service);
        c->removed++;
    } else if (r < 0) {
        c->failed++;
    }
    return 0;
}

int cmd_cleanup(int argc, char **argv, options_t *o)
{
    if (o->help) {
        fputs(cleanup_usage, stdout);
        return 0;
    }
    if (argc > 1)
        return tool_usage("cleanup", "cleanup takes one run directory, got %d arguments", argc);
    if (argc == 1)
        o->run_dir = argv[0];
    int rc = tool_check_run_dir(o->run_dir);
    if (rc)
        return rc;
    cleanup_ctx_t c = {.o = o};
    if (nipc_tool_scan(o->run_dir, o->service, cleanup_entry, &c) != 0)
        return EXIT_FAILED;
    printf("%u stale entr%s removed from %s\n", c.removed, c.removed == 1 ? "y" : "ies",
           o->run_dir);
    return c.failed ? EXIT_FAILED : 0;
}
