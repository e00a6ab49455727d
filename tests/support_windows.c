/*
 * Windows side of tests/support.h: CreateProcess / WaitForSingleObject /
 * TerminateProcess for peers, GetTempPath + CreateDirectory for private
 * directories, GetProcessHandleCount for leak checks.
 */
#include "support.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>
#include <windows.h>
#include <psapi.h>

#include "netipc/error.h"

struct t_proc {
    HANDLE process;
};

static char self_path[MAX_PATH * 2];

/*
 * Handles a process keeps for good once it first needs them, so that leak
 * checks (t_open_handles before/after) compare like for like: the cached
 * BaseNamedObjects directory (first named kernel object) and the lock of
 * the C runtime's emulated thread-local storage (a semaphore, first access
 * of a _Thread_local such as the library's OS-error detail).
 */
static void warm_up_process_caches(void)
{
    wchar_t name[64];
    swprintf(name, sizeof name / sizeof name[0], L"Local\\nipc-test-warmup-%lu",
             (unsigned long)GetCurrentProcessId());
    HANDLE ev = CreateEventW(NULL, FALSE, FALSE, name);
    if (ev)
        CloseHandle(ev);
    (void)nipc_last_os_error();
}

void t_init(int argc, char **argv)
{
    (void)argc;
    warm_up_process_caches();
    DWORD n = GetModuleFileNameA(NULL, self_path, (DWORD)sizeof self_path);
    if (n == 0 || n >= sizeof self_path)
        snprintf(self_path, sizeof self_path, "%s", argv[0]);
    /* No "program has stopped working" dialogs for a crashing peer. */
    SetErrorMode(SEM_FAILCRITICALERRORS | SEM_NOGPFAULTERRORBOX);
}

const char *t_self(void)
{
    return self_path;
}

/* Appends one argument with the quoting CommandLineToArgvW / the CRT undo. */
static int append_arg(char *cmd, size_t cap, size_t *len, const char *arg)
{
    size_t n = *len;
#define PUT(c)                                                                                   \
    do {                                                                                         \
        if (n + 1 >= cap)                                                                        \
            return 0;                                                                            \
        cmd[n++] = (c);                                                                          \
    } while (0)
    if (n)
        PUT(' ');
    PUT('"');
    for (const char *p = arg;; p++) {
        size_t slashes = 0;
        while (*p == '\\') {
            slashes++;
            p++;
        }
        if (*p == 0) {
            /* Backslashes before the closing quote are doubled. */
            for (size_t i = 0; i < slashes * 2; i++)
                PUT('\\');
            break;
        }
        if (*p == '"') {
            for (size_t i = 0; i < slashes * 2 + 1; i++)
                PUT('\\');
        } else {
            for (size_t i = 0; i < slashes; i++)
                PUT('\\');
        }
        PUT(*p);
    }
    PUT('"');
#undef PUT
    cmd[n] = 0;
    *len = n;
    return 1;
}

t_proc_t *t_spawn(const char *const args[])
{
    char cmd[8192];
    size_t len = 0;
    cmd[0] = 0;
    if (!append_arg(cmd, sizeof cmd, &len, self_path))
        return NULL;
    for (size_t i = 0; args[i]; i++)
        if (!append_arg(cmd, sizeof cmd, &len, args[i]))
            return NULL;
    t_proc_t *p = malloc(sizeof *p);
    if (!p)
        return NULL;
    STARTUPINFOA si;
    PROCESS_INFORMATION pi;
    memset(&si, 0, sizeof si);
    si.cb = sizeof si;
    /* Inherit stdio (bInheritHandles) so peer diagnostics reach the log.
     * wine's CreateProcess rarely fails with ERROR_INTERNAL_ERROR for a
     * spawn that works when made again (docs/windows.md): that error alone
     * is retried, at most three times; every failure is printed. */
    for (int attempt = 1;; attempt++) {
        if (CreateProcessA(self_path, cmd, NULL, NULL, TRUE, 0, NULL, NULL, &si, &pi))
            break;
        DWORD e = GetLastError();
        fprintf(stderr, "t_spawn: CreateProcess failed with error %lu (attempt %d)\n",
                (unsigned long)e, attempt);
        if (e != ERROR_INTERNAL_ERROR || attempt == 3) {
            free(p);
            return NULL;
        }
        Sleep(100);
    }
    CloseHandle(pi.hThread);
    p->process = pi.hProcess;
    return p;
}

int t_wait(t_proc_t *p, int timeout_ms, int *exit_code)
{
    DWORD r = WaitForSingleObject(p->process, timeout_ms < 0 ? INFINITE : (DWORD)timeout_ms);
    if (r == WAIT_TIMEOUT)
        return 0;
    DWORD code = (DWORD)-1;
    if (r != WAIT_OBJECT_0 || !GetExitCodeProcess(p->process, &code))
        code = (DWORD)-1;
    if (exit_code)
        *exit_code = (int)code;
    CloseHandle(p->process);
    free(p);
    return 1;
}

void t_kill(t_proc_t *p)
{
    if (!p)
        return;
    TerminateProcess(p->process, 137);
    WaitForSingleObject(p->process, INFINITE);
    CloseHandle(p->process);
    free(p);
}

const char *t_mkdtemp(char *buf, size_t cap)
{
    static LONG counter;
    char base[MAX_PATH + 1];
    DWORD n = GetTempPathA((DWORD)sizeof base, base);
    if (n == 0 || n > sizeof base)
        return NULL;
    for (int attempt = 0; attempt < 100; attempt++) {
        int w = snprintf(buf, cap, "%snipc-test-%lu-%ld-%llu", base,
                         (unsigned long)GetCurrentProcessId(), (long)InterlockedIncrement(&counter),
                         t_now_ms());
        if (w < 0 || (size_t)w >= cap)
            return NULL;
        if (CreateDirectoryA(buf, NULL))
            return buf;
        if (GetLastError() != ERROR_ALREADY_EXISTS)
            return NULL;
    }
    return NULL;
}

void t_rmtree(const char *path)
{
    char pattern[MAX_PATH * 2];
    snprintf(pattern, sizeof pattern, "%s\\*", path);
    WIN32_FIND_DATAA fd;
    HANDLE h = FindFirstFileA(pattern, &fd);
    if (h != INVALID_HANDLE_VALUE) {
        do {
            if (strcmp(fd.cFileName, ".") == 0 || strcmp(fd.cFileName, "..") == 0)
                continue;
            char child[MAX_PATH * 2];
            snprintf(child, sizeof child, "%s\\%s", path, fd.cFileName);
            if ((fd.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY) &&
                !(fd.dwFileAttributes & FILE_ATTRIBUTE_REPARSE_POINT))
                t_rmtree(child);
            else
                DeleteFileA(child);
        } while (FindNextFileA(h, &fd));
        FindClose(h);
    }
    RemoveDirectoryA(path);
}

int t_dir_entries(const char *path)
{
    char pattern[MAX_PATH * 2];
    snprintf(pattern, sizeof pattern, "%s\\*", path);
    WIN32_FIND_DATAA fd;
    HANDLE h = FindFirstFileA(pattern, &fd);
    if (h == INVALID_HANDLE_VALUE)
        return GetLastError() == ERROR_FILE_NOT_FOUND ? 0 : -1;
    int n = 0;
    do {
        if (strcmp(fd.cFileName, ".") != 0 && strcmp(fd.cFileName, "..") != 0)
            n++;
    } while (FindNextFileA(h, &fd));
    FindClose(h);
    return n;
}

int t_open_handles(void)
{
    DWORD n = 0;
    if (GetProcessHandleCount(GetCurrentProcess(), &n) && n > 0)
        return (int)n;
    /* wine answers 0 here: count the handle values (multiples of 4, handed
     * out lowest first) that still resolve. */
    int count = 0;
    for (ULONG_PTR h = 4; h < 0x10000; h += 4) {
        DWORD flags;
        if (GetHandleInformation((HANDLE)h, &flags))
            count++;
    }
    return count;
}

/* Walks the address space: regions of the given type (0 = every committed one). */
static int count_regions(DWORD type)
{
    int n = 0;
    MEMORY_BASIC_INFORMATION mbi;
    for (const char *p = NULL; VirtualQuery(p, &mbi, sizeof mbi) == sizeof mbi;
         p = (const char *)mbi.BaseAddress + mbi.RegionSize) {
        /* One count per allocation (its first region), like a maps line. */
        if (mbi.State == MEM_COMMIT && mbi.BaseAddress == mbi.AllocationBase &&
            (type == 0 || mbi.Type == type))
            n++;
        if ((const char *)mbi.BaseAddress + mbi.RegionSize < (const char *)mbi.BaseAddress)
            break;
    }
    return n;
}

int t_map_count(void)
{
    return count_regions(0);
}

int t_shm_map_count(void)
{
    return count_regions(MEM_MAPPED);
}

long t_rss_kb(void)
{
    PROCESS_MEMORY_COUNTERS pmc;
    if (!K32GetProcessMemoryInfo(GetCurrentProcess(), &pmc, sizeof pmc))
        return -1;
    return (long)(pmc.WorkingSetSize / 1024);
}

void t_sleep_ms(int ms)
{
    Sleep(ms < 0 ? 0 : (DWORD)ms);
}

unsigned long long t_now_ms(void)
{
    /* QueryPerformanceCounter, as the library's clock: under wine
     * GetTickCount64 advances in coarse steps (observed 142-160 for 150 ms). */
    LARGE_INTEGER c, f;
    QueryPerformanceCounter(&c);
    QueryPerformanceFrequency(&f);
    unsigned long long t = (unsigned long long)c.QuadPart, hz = (unsigned long long)f.QuadPart;
    return t / hz * 1000ull + t % hz * 1000ull / hz;
}
