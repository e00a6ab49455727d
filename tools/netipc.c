/*
 * netipc: command-line tool for providers and consumers of netipc services.
 *
 *   netipc serve <kind>      run a provider (cgroups-snapshot, cgroups-lookup, apps-lookup,
 *                            increment, string-reverse)            serve.c
 *   netipc call <kind> ...   make one typed call (or a timed series)  call.c
 *   netipc status            what each entry of a run directory is    inspect.c
 *   netipc cleanup           remove what dead providers left behind   inspect.c
 *
 * This file parses the command line, reports failures (one line naming the
 * cause and the object, then at most a usage hint) and dispatches. The tool
 * is a thin layer over the public API; looking at a run directory is the
 * platform half (endpoints_posix.c, endpoints_windows.c).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tools/tool.h"

#define KINDS "cgroups-snapshot, cgroups-lookup, apps-lookup, increment, string-reverse"

/* ------------------------------------------------------------ reporting */

int tool_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("netipc: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return EXIT_FAILED;
}

int tool_usage(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("netipc: ", stderr);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, " (see 'netipc %s%s--help')\n", cmd ? cmd : "", cmd ? " " : "");
    return EXIT_USAGE;
}

int tool_fail(const options_t *o, const char *context, nipc_error_t err)
{
    int os = nipc_last_os_error();
    fprintf(stderr, "netipc: %s: %s (%s)", context, nipc_strerror(err), nipc_error_name(err));
    char text[256];
    if (os)
        fprintf(stderr, "; %s (os error %d)", nipc_tool_os_error_text(os, text, sizeof text), os);
    fputc('\n', stderr);
    if (o && o->json) {
        json_t j;
        json_begin(&j, stdout);
        json_object(&j, NULL);
        json_object(&j, "error");
        json_str(&j, "name", nipc_error_name(err));
        json_str(&j, "message", nipc_strerror(err));
        json_str(&j, "context", context);
        if (os)
            json_i64(&j, "os_error", os);
        json_finish(&j);
    }
    return EXIT_FAILED;
}

int tool_check_run_dir(const char *run_dir)
{
    struct stat st;
    if (stat(run_dir, &st) != 0)
        return errno == ENOENT ? tool_error("run directory %s does not exist", run_dir)
                               : tool_error("run directory %s: %s", run_dir, strerror(errno));
    if (!S_ISDIR(st.st_mode))
        return tool_error("run directory %s is not a directory", run_dir);
    return 0;
}

/* ---------------------------------------------------------------- parsing */

bool tool_parse_u64(const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    if (!s || !*s || *s == '-' || *s == '+')
        return false;
    unsigned long long v = strtoull(s, &end, 0);
    if (errno || *end)
        return false;
    *out = v;
    return true;
}

bool tool_parse_u32(const char *s, uint32_t *out)
{
    uint64_t v;
    if (!tool_parse_u64(s, &v) || v > UINT32_MAX)
        return false;
    *out = (uint32_t)v;
    return true;
}

const char *tool_profile_names(uint32_t mask, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s%s%s%s", mask & NIPC_PROFILE_BASELINE ? "baseline " : "",
             mask & NIPC_PROFILE_SHM_HYBRID ? "shm-hybrid " : "",
             mask & NIPC_PROFILE_SHM_FUTEX ? "shm-0x04 " : "",
             mask & NIPC_PROFILE_SHM_SEALED ? "shm-sealed " : "");
    size_t n = strlen(buf);
    if (n)
        buf[n - 1] = 0;
    return buf;
}

static bool parse_profile(const char *s, uint32_t *out)
{
    if (strcmp(s, "uds") == 0 || strcmp(s, "baseline") == 0 || strcmp(s, "pipe") == 0)
        *out = NIPC_PROFILE_BASELINE;
    else if (strcmp(s, "shm") == 0)
        *out = NIPC_PROFILE_SHM_HYBRID;
    else if (strcmp(s, "both") == 0 || strcmp(s, "any") == 0)
        *out = NIPC_PROFILE_BASELINE | NIPC_PROFILE_SHM_HYBRID;
    else
        return false;
    return true;
}

typedef enum { OPT_FLAG, OPT_U32, OPT_U64, OPT_STR, OPT_PROFILE } opt_type_t;

typedef struct opt {
    const char *name;
    opt_type_t type;
    size_t offset;   /* into options_t */
    const char *what; /* for messages: what a valid value is */
    uint32_t min;     /* OPT_U32: smallest accepted value */
} opt_t;

#define OFF(field) offsetof(options_t, field)

static const opt_t opts[] = {
    {"--run-dir", OPT_STR, OFF(run_dir), "a directory", 0},
    {"--service", OPT_STR, OFF(service), "an endpoint name", 0},
    {"--profile", OPT_PROFILE, OFF(profiles), "uds, shm or both", 0},
    {"--token", OPT_U64, OFF(token), "an unsigned 64-bit number", 0},
    {"--timeout", OPT_U32, OFF(timeout_ms), "milliseconds", 0},
    {"--max-sessions", OPT_U32, OFF(max_sessions), "a count of at least 1", 1},
    {"--corpus", OPT_U32, OFF(corpus), "a count from 1 to 100000", 1},
    {"--count", OPT_U32, OFF(count), "a count of at least 1", 1},
    {"--limit", OPT_U32, OFF(limit), "a count (0 = all)", 0},
    {"--rescan", OPT_U32, OFF(rescan_ms), "milliseconds (0 = never)", 0},
    {"--duration", OPT_U32, OFF(duration_s), "seconds", 0},
    {"--cgroup-root", OPT_STR, OFF(cgroup_root), "a directory", 0},
    {"--json", OPT_FLAG, OFF(json), NULL, 0},
    {"--help", OPT_FLAG, OFF(help), NULL, 0},
    {"-h", OPT_FLAG, OFF(help), NULL, 0},
};

/*
 * Moves recognised options out of argv (in place), leaving the positional
 * arguments. `cmd` names the command for hints (NULL before it is known).
 * Returns 0, or EXIT_USAGE after saying which option is wrong and why.
 */
static int parse_options(int *argc, char **argv, options_t *o, const char *cmd)
{
    int out = 0;
    for (int i = 0; i < *argc; i++) {
        const char *a = argv[i];
        const opt_t *opt = NULL;
        for (size_t k = 0; k < sizeof opts / sizeof opts[0]; k++)
            if (strcmp(a, opts[k].name) == 0)
                opt = &opts[k];
        if (!opt) {
            if (a[0] == '-' && a[1] == '-' && a[2])
                return tool_usage(cmd, "unknown option %s", a);
            argv[out++] = argv[i];
            continue;
        }
        char *field = (char *)o + opt->offset;
        if (opt->type == OPT_FLAG) {
            *(bool *)field = true;
            continue;
        }
        if (i + 1 >= *argc)
            return tool_usage(cmd, "option %s needs a value (%s)", a, opt->what);
        const char *v = argv[++i];
        bool ok = true;
        switch (opt->type) {
        case OPT_STR:
            ok = *v != 0;
            *(const char **)field = v;
            break;
        case OPT_U64:
            ok = tool_parse_u64(v, (uint64_t *)(void *)field);
            break;
        case OPT_U32:
            ok = tool_parse_u32(v, (uint32_t *)(void *)field) &&
                 *(uint32_t *)(void *)field >= opt->min;
            break;
        case OPT_PROFILE:
            ok = parse_profile(v, (uint32_t *)(void *)field);
            break;
        default:
            break;
        }
        if (ok && opt->offset == OFF(corpus) && o->corpus > 100000)
            ok = false;
        if (!ok)
            return tool_usage(cmd, "bad value for %s: '%s' (expected %s)", a, v, opt->what);
    }
    *argc = out;
    return 0;
}

/* ---------------------------------------------------------------- main */

static const char *main_usage =
    "usage: netipc [options] <command> [args]\n"
    "\n"
    "Commands:\n"
    "  serve <kind>       run a provider (" KINDS ")\n"
    "  call <kind> ...    call a provider and print the answer\n"
    "  status [run-dir]   what each entry of the run directory is: live, stale or foreign\n"
    "  cleanup [run-dir]  remove what dead providers left behind\n"
    "  version            print the tool's and the library's version\n"
    "\n"
    "'netipc <command> --help' explains each command. Common options:\n"
    "  --run-dir DIR      the run directory (see below)\n"
    "  --json             machine-readable output (status, call)\n"
    "  --version          same as the version command\n"
    "\n"
    "The run directory is --run-dir, else $NETIPC_RUN_DIR, else the platform default\n"
    "($XDG_RUNTIME_DIR/netipc, else /tmp/netipc-<uid>; Windows: %TEMP%\\netipc),\n"
    "created 0700 when missing.\n"
    "\n"
    "Exit codes: 0 success; 1 the operation failed; 2 usage error; status only:\n"
    "3 stale or foreign entries found, 4 no live endpoint.\n";

static int print_version(void)
{
    printf("netipc %s (library %s)\n", NIPC_VERSION_STRING, nipc_version());
    return 0;
}

int main(int argc, char **argv)
{
    options_t o = {.count = 1, .limit = 20, .rescan_ms = 1000};
    argc--;
    argv++;
    /* --version anywhere before the command is the version command. */
    for (int i = 0; i < argc && argv[i][0] == '-'; i++)
        if (strcmp(argv[i], "--version") == 0 || strcmp(argv[i], "-V") == 0)
            return print_version();
    const char *cmd = NULL;
    for (int i = 0; i < argc; i++) {
        if (argv[i][0] != '-') {
            cmd = argv[i];
            break;
        }
        /* Skip the value of an option that takes one. */
        for (size_t k = 0; k < sizeof opts / sizeof opts[0]; k++) {
            if (strcmp(argv[i], opts[k].name) == 0) {
                i += opts[k].type != OPT_FLAG;
                break;
            }
        }
    }
    static const char *const commands[] = {"serve", "call", "status", "cleanup", "version",
                                           "help"};
    bool known = false;
    for (size_t k = 0; cmd && k < sizeof commands / sizeof commands[0]; k++)
        known |= strcmp(cmd, commands[k]) == 0;
    int rc = parse_options(&argc, argv, &o, known ? cmd : NULL);
    if (rc != 0)
        return rc;
    if (argc == 0) {
        if (o.help) {
            fputs(main_usage, stdout);
            return 0;
        }
        return tool_usage(NULL, "no command given (serve, call, status, cleanup, version)");
    }
    cmd = argv[0];
    argc--;
    argv++;
    if (strcmp(cmd, "help") == 0) {
        fputs(main_usage, stdout);
        return 0;
    }
    if (strcmp(cmd, "version") == 0)
        return argc ? tool_usage("version", "unexpected argument '%s'", argv[0]) : print_version();
    if (!known)
        return tool_usage(NULL, "unknown command '%s' (serve, call, status, cleanup, version)",
                          cmd);

    char dir[1024];
    if (!o.run_dir && !o.help && strcmp(cmd, "status") != 0 && strcmp(cmd, "cleanup") != 0) {
        if (nipc_tool_default_run_dir(dir, sizeof dir) != 0)
            return EXIT_FAILED;
        o.run_dir = dir;
    }
    if (strcmp(cmd, "serve") == 0)
        return cmd_serve(argc, argv, &o);
    if (strcmp(cmd, "call") == 0)
        return cmd_call(argc, argv, &o);
    /* status and cleanup take the run dir as an argument too, and never
     * create it: an absent one is worth saying. */
    if (!o.run_dir && !o.help && argc == 0) {
        if (nipc_tool_default_run_dir(dir, sizeof dir) != 0)
            return EXIT_FAILED;
        o.run_dir = dir;
    }
    if (strcmp(cmd, "status") == 0)
        return cmd_status(argc, argv, &o);
    return cmd_cleanup(argc, argv, &o);
}
