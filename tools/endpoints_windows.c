/*
 * netipc tool, Windows half: the default run directory, what a run
 * directory holds, stopping on a console event, and OS error texts.
 *
 * On Windows the run directory is only hashed into the pipe names; an
 * endpoint is a named pipe in the kernel namespace,
 * \\.\pipe\netipc-{FNV1a64(run_dir):016x}-{service}, and nothing of it can
 * go stale: a pipe exists while its server holds an instance. So:
 *
 *   \\.\pipe\netipc-{hash}-{service}   endpoint: always live (whoever created
 *                                      it still holds it open)
 *   {service}.serve-info               `netipc serve`'s sidecar, the only file
 *                                      a netipc process leaves in the run dir:
 *                                      live while its pid is, else stale
 *   anything else in the run dir       foreign
 *
 * Finding the pipes: the pipe file system lists its names through
 * FindFirstFileW("\\.\pipe\*") on Windows. wine (checked with 8.0) cannot
 * list it (ERROR_BAD_DEV_TYPE; NtQueryDirectoryFile on the pipe root says
 * STATUS_BAD_DEVICE_TYPE); there the scan probes the names it can guess
 * instead: the services of the run dir's sidecars, the five kind names and
 * the --service of the command. A provider under any other name, started by
 * something other than `netipc serve`, is then not seen. The probe,
 * WaitNamedPipeW with a 1 ms wait, never connects: it does not use up an
 * instance nor show up as a client at the provider.
 */
#include <windows.h>

#include <stdlib.h>
#include <string.h>

#include "tools/tool.h"
#include "transport/windows/win_names.h"

int nipc_tool_default_run_dir(char *out, size_t cap)
{
    const char *env = getenv("NETIPC_RUN_DIR");
    char temp[MAX_PATH + 1];
    int n;
    if (env && *env) {
        n = snprintf(out, cap, "%s", env);
    } else {
        /* %TMP%, else %TEMP%, else the profile or Windows directory; with
         * a trailing backslash. */
        DWORD len = GetTempPathA(sizeof temp, temp);
        if (len == 0 || len >= sizeof temp) {
            tool_error("cannot find the temporary directory (os error %lu)", GetLastError());
            return -1;
        }
        n = snprintf(out, cap, "%snetipc", temp);
    }
    if (n < 0 || (size_t)n >= cap) {
        tool_error("run directory path too long: %s", env ? env : temp);
        return -1;
    }
    /* The new directory inherits the DACL of its parent: the user's temp
     * directory is the user's alone. */
    if (!CreateDirectoryA(out, NULL) && GetLastError() != ERROR_ALREADY_EXISTS) {
        char text[256];
        DWORD e = GetLastError();
        tool_error("cannot create run directory %s: %s", out,
                   nipc_tool_os_error_text((int)e, text, sizeof text));
        return -1;
    }
    return 0;
}

int64_t nipc_tool_pid(void)
{
    return (int64_t)GetCurrentProcessId();
}

int nipc_tool_pid_alive(int64_t pid)
{
    if (pid <= 0 || pid > (int64_t)UINT32_MAX)
        return 0;
    HANDLE h = OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, FALSE, (DWORD)pid);
    if (!h) {
        DWORD e = GetLastError();
        /* No such process; access denied means it exists, as another user's. */
        return e == ERROR_INVALID_PARAMETER ? 0 : e == ERROR_ACCESS_DENIED ? 1 : -1;
    }
    /* A process object outlives its process while handles to it are open:
     * it is alive only while it has no exit code. (A process that exits
     * with STILL_ACTIVE (259) as its code looks alive; netipc never does.) */
    DWORD code = 0;
    int alive = GetExitCodeProcess(h, &code) ? code == STILL_ACTIVE : -1;
    CloseHandle(h);
    return alive;
}

const char *nipc_tool_os_error_text(int os, char *buf, size_t cap)
{
    DWORD n = FormatMessageA(FORMAT_MESSAGE_FROM_SYSTEM | FORMAT_MESSAGE_IGNORE_INSERTS, NULL,
                             (DWORD)os, 0, buf, (DWORD)cap, NULL);
    if (n == 0) {
        snprintf(buf, cap, "Windows error");
        return buf;
    }
    /* One line: the system's text ends with ".\r\n". */
    while (n > 0 && (buf[n - 1] == '\r' || buf[n - 1] == '\n' || buf[n - 1] == '.' ||
                     buf[n - 1] == ' '))
        buf[--n] = 0;
    return buf;
}

/* --------------------------------------------------------------- stopping */

static void (*stop_fn)(void);
static HANDLE stopped_event; /* set by nipc_tool_stopped() */

/* Runs on a thread Windows creates for the event (wine: on SIGINT too). */
static BOOL WINAPI on_console_event(DWORD type)
{
    void (*fn)(void) = stop_fn;
    if (!fn)
        return FALSE;
    fn();
    /* Windows ends the process as soon as this returns for a closed console,
     * a logoff or a shutdown (and after 5 s anyway): give serve the time to
     * stop its server and remove its sidecar first. */
    if (type == CTRL_CLOSE_EVENT || type == CTRL_LOGOFF_EVENT || type == CTRL_SHUTDOWN_EVENT)
        WaitForSingleObject(stopped_event, 4000);
    return TRUE;
}

void nipc_tool_on_stop(void (*fn)(void))
{
    if (!stopped_event)
        stopped_event = CreateEventW(NULL, TRUE, FALSE, NULL);
    stop_fn = fn;
    SetConsoleCtrlHandler(on_console_event, TRUE);
}

void nipc_tool_stopped(void)
{
    if (stopped_event)
        SetEvent(stopped_event);
}

/* ------------------------------------------------------------ classifying */

static bool ends_with(const char *s, const char *suffix, size_t *stem)
{
    size_t n = strlen(s), k = strlen(suffix);
    if (n <= k || strcmp(s + n - k, suffix) != 0)
        return false;
    *stem = n - k;
    return true;
}

/* "pid=N ..." of a serve-info file; -1 when it cannot be read. */
static int64_t info_pid(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    long long pid = -1;
    if (fscanf(f, "pid=%lld", &pid) != 1)
        pid = -1;
    fclose(f);
    return pid;
}

/* Fills e for the file `name` of run_dir. */
static void classify_file(const char *run_dir, const char *name, tool_entry_t *e)
{
    char path[MAX_PATH * 2];
    snprintf(path, sizeof path, "%s\\%s", run_dir, name);
    memset(e, 0, sizeof *e);
    snprintf(e->name, sizeof e->name, "%s", name);
    e->kind = TOOL_OTHER;
    e->state = TOOL_FOREIGN;
    size_t stem;
    if (!ends_with(name, ".serve-info", &stem))
        return;
    snprintf(e->service, sizeof e->service, "%.*s", (int)stem, name);
    e->kind = TOOL_INFO;
    int64_t pid = info_pid(path);
    int alive = pid > 0 ? nipc_tool_pid_alive(pid) : 0;
    e->state = pid <= 0     ? TOOL_FOREIGN
               : alive == 1 ? TOOL_LIVE
               : alive == 0 ? TOOL_STALE
                            : TOOL_UNKNOWN;
}

/* The services found so far, so that each endpoint is reported once. */
typedef struct services {
    char (*names)[256];
    size_t count, cap;
} services_t;

static bool services_has(const services_t *s, const char *name)
{
    for (size_t i = 0; i < s->count; i++)
        if (strcmp(s->names[i], name) == 0)
            return true;
    return false;
}

/* Adds a valid, new service name; false only when out of memory. */
static bool services_add(services_t *s, const char *name)
{
    if (!nipc_service_name_valid(name) || strlen(name) >= sizeof s->names[0] ||
        services_has(s, name))
        return true;
    if (s->count == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 16;
        void *p = realloc(s->names, cap * sizeof s->names[0]);
        if (!p)
            return false;
        s->names = p;
        s->cap = cap;
    }
    snprintf(s->names[s->count++], sizeof s->names[0], "%s", name);
    return true;
}

/*
 * Lists the pipe namespace: the services of the pipes whose names start
 * with `prefix` ("netipc-{hash}-"). false when the namespace cannot be
 * listed (wine). *ok turns false when out of memory.
 */
static bool list_pipes(const char *prefix, services_t *found, bool *ok)
{
    WIN32_FIND_DATAW fd;
    HANDLE h = FindFirstFileW(L"\\\\.\\pipe\\*", &fd);
    if (h == INVALID_HANDLE_VALUE)
        return GetLastError() == ERROR_FILE_NOT_FOUND; /* listed: no pipe at all */
    size_t plen = strlen(prefix);
    do {
        /* Pipe names are ASCII when netipc makes them; others are not ours. */
        char name[256];
        size_t i = 0;
        for (; fd.cFileName[i] && i + 1 < sizeof name; i++) {
            if (fd.cFileName[i] >= 0x80)
                break;
            name[i] = (char)fd.cFileName[i];
        }
        name[i] = 0;
        if (fd.cFileName[i] == 0 && strncmp(name, prefix, plen) == 0)
            *ok &= services_add(found, name + plen);
    } while (FindNextFileW(h, &fd));
    FindClose(h);
    return true;
}

/* 1 when a pipe of this name exists, 0 when not, -1 when it cannot be told
 * (then status treats it as live and its handshake says more). */
static int probe_pipe(const char *run_dir, const char *service)
{
    char name[NIPC__PIPE_NAME_MAX + 1];
    wchar_t wname[NIPC__PIPE_NAME_MAX + 1];
    if (nipc__win_pipe_name(run_dir, service, name, sizeof name) != NIPC_OK)
        return 0;
    nipc__win_widen(name, wname);
    if (WaitNamedPipeW(wname, 1))
        return 1; /* a free instance */
    DWORD e = GetLastError();
    if (e == ERROR_SEM_TIMEOUT)
        return 1; /* every instance taken: it exists */
    return e == ERROR_FILE_NOT_FOUND || e == ERROR_BAD_PATHNAME ? 0 : -1;
}

/* The names a netipc provider most likely has: the five kinds. */
static const char *const kind_names[] = {"cgroups-snapshot", "cgroups-lookup", "apps-lookup",
                                         "increment", "string-reverse"};

/* Where the pipe namespace cannot be listed: probes the kind names,
 * `service` and the services the run dir's sidecars name, and adds those
 * that exist to `found`. false when out of memory. */
static bool probe_guessed(const char *run_dir, const char *service, services_t *found)
{
    services_t guess = {0};
    bool ok = true;
    for (size_t i = 0; i < sizeof kind_names / sizeof kind_names[0]; i++)
        ok &= services_add(&guess, kind_names[i]);
    if (service)
        ok &= services_add(&guess, service);
    char pattern[MAX_PATH * 2];
    snprintf(pattern, sizeof pattern, "%s\\*.serve-info", run_dir);
    WIN32_FIND_DATAA fd;
    HANDLE h = FindFirstFileA(pattern, &fd);
    if (h != INVALID_HANDLE_VALUE) {
        do {
            size_t stem;
            if (ends_with(fd.cFileName, ".serve-info", &stem)) {
                fd.cFileName[stem] = 0;
                ok &= services_add(&guess, fd.cFileName);
            }
        } while (FindNextFileA(h, &fd));
        FindClose(h);
    }
    for (size_t i = 0; i < guess.count; i++)
        if ((!service || strcmp(guess.names[i], service) == 0) &&
            probe_pipe(run_dir, guess.names[i]) != 0)
            ok &= services_add(found, guess.names[i]);
    free(guess.names);
    return ok;
}

/* Calls fn for the run dir's files (only `service`'s, when given). */
static int scan_files(const char *run_dir, const char *service,
                      int (*fn)(const tool_entry_t *e, void *ctx), void *ctx)
{
    char pattern[MAX_PATH * 2];
    snprintf(pattern, sizeof pattern, "%s\\*", run_dir);
    WIN32_FIND_DATAA fd;
    HANDLE h = FindFirstFileA(pattern, &fd);
    if (h == INVALID_HANDLE_VALUE) {
        DWORD e = GetLastError();
        if (e == ERROR_FILE_NOT_FOUND)
            return 0; /* an empty drive root */
        char text[256];
        tool_error("cannot read run directory %s: %s", run_dir,
                   nipc_tool_os_error_text((int)e, text, sizeof text));
        return -1;
    }
    int rc = 0;
    do {
        if (strcmp(fd.cFileName, ".") == 0 || strcmp(fd.cFileName, "..") == 0)
            continue;
        tool_entry_t e;
        classify_file(run_dir, fd.cFileName, &e);
        if (service && strcmp(e.service, service) != 0)
            continue;
        if (fn(&e, ctx) != 0)
            rc = -1;
    } while (FindNextFileA(h, &fd));
    FindClose(h);
    return rc;
}

int nipc_tool_scan(const char *run_dir, const char *service,
                   int (*fn)(const tool_entry_t *e, void *ctx), void *ctx)
{
    /* The pipe name prefix of this run dir, cut from the library's own name
     * for a one-letter service so that the two cannot disagree. */
    char prefix[NIPC__PIPE_NAME_MAX + 1];
    if (nipc__win_pipe_name(run_dir, "x", prefix, sizeof prefix) != NIPC_OK) {
        tool_error("run directory %s is too long for a pipe name", run_dir);
        return -1;
    }
    prefix[strlen(prefix) - 1] = 0;
    services_t pipes = {0};
    bool ok = true;
    if (!list_pipes(prefix + strlen("\\\\.\\pipe\\"), &pipes, &ok))
        ok = probe_guessed(run_dir, service, &pipes);
    int rc = 0;
    if (!ok) {
        tool_error("out of memory while listing the endpoints of %s", run_dir);
        rc = -1;
    }
    for (size_t i = 0; i < pipes.count; i++) {
        if (service && strcmp(pipes.names[i], service) != 0)
            continue;
        tool_entry_t e = {.kind = TOOL_SOCKET, .state = TOOL_LIVE};
        snprintf(e.service, sizeof e.service, "%s", pipes.names[i]);
        snprintf(e.name, sizeof e.name, "%s%s", prefix, pipes.names[i]);
        if (fn(&e, ctx) != 0)
            rc = -1;
    }
    free(pipes.names);
    if (scan_files(run_dir, service, fn, ctx) != 0)
        rc = -1;
    return rc;
}

int nipc_tool_remove_stale(const char *run_dir, const tool_entry_t *e)
{
    if (e->kind != TOOL_INFO)
        return 1; /* nothing else can be stale on Windows */
    tool_entry_t now;
    classify_file(run_dir, e->name, &now);
    if (now.kind != TOOL_INFO || now.state != TOOL_STALE)
        return 1; /* changed meanwhile: no longer ours to remove */
    char path[MAX_PATH * 2];
    snprintf(path, sizeof path, "%s\\%s", run_dir, e->name);
    if (DeleteFileA(path))
        return 0;
    DWORD err = GetLastError();
    if (err == ERROR_FILE_NOT_FOUND)
        return 1; /* gone meanwhile */
    char text[256];
    tool_error("cannot remove %s: %s", path, nipc_tool_os_error_text((int)err, text, sizeof text));
    return -1;
}
