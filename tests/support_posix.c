/* POSIX side of tests/support.h: posix_spawn, waitpid, /proc/self/fd. */
#include "support.h"

#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

struct t_proc {
    pid_t pid;
};

static char self_path[4096];

void t_init(int argc, char **argv)
{
    (void)argc;
    if (!realpath(argv[0], self_path))
        snprintf(self_path, sizeof self_path, "%s", argv[0]);
    /* A peer that dies mid-write must not kill the test with SIGPIPE. */
    signal(SIGPIPE, SIG_IGN);
}

const char *t_self(void)
{
    return self_path;
}

t_proc_t *t_spawn(const char *const args[])
{
    const char *argv[64];
    size_t n = 0;
    argv[n++] = self_path;
    for (size_t i = 0; args[i] && n < 63; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    t_proc_t *p = malloc(sizeof *p);
    if (!p)
        return NULL;
    if (posix_spawn(&p->pid, self_path, NULL, NULL, (char *const *)argv, environ) != 0) {
        free(p);
        return NULL;
    }
    return p;
}

int t_wait(t_proc_t *p, int timeout_ms, int *exit_code)
{
    unsigned long long end = t_now_ms() + (unsigned long long)timeout_ms;
    for (;;) {
        int st;
        pid_t r = waitpid(p->pid, &st, WNOHANG);
        if (r == p->pid) {
            if (exit_code)
                *exit_code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
            free(p);
            return 1;
        }
        if (r < 0 && errno != EINTR) {
            if (exit_code)
                *exit_code = -1;
            free(p);
            return 1;
        }
        if (t_now_ms() >= end)
            return 0;
        t_sleep_ms(2);
    }
}

void t_kill(t_proc_t *p)
{
    if (!p)
        return;
    kill(p->pid, SIGKILL);
    int st;
    while (waitpid(p->pid, &st, 0) < 0 && errno == EINTR)
        ;
    free(p);
}

const char *t_mkdtemp(char *buf, size_t cap)
{
    const char *base = getenv("TMPDIR");
    snprintf(buf, cap, "%s/nipc-test-XXXXXX", base && *base ? base : "/tmp");
    return mkdtemp(buf);
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

void t_rmtree(const char *path)
{
    nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

int t_dir_entries(const char *path)
{
    DIR *d = opendir(path);
    if (!d)
        return -1;
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL)
        if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
            n++;
    closedir(d);
    return n;
}

int t_open_handles(void)
{
    return t_dir_entries("/proc/self/fd") - 1; /* minus the DIR's own fd */
}

/* Counts the lines of /proc/self/maps, all of them or those naming `needle`. */
static int maps_lines(const char *needle)
{
    FILE *f = fopen("/proc/self/maps", "re");
    if (!f)
        return -1;
    char line[4096];
    int n = 0;
    while (fgets(line, sizeof line, f))
        if (!needle || strstr(line, needle))
            n++;
    fclose(f);
    return n;
}

int t_map_count(void)
{
    return maps_lines(NULL);
}

int t_shm_map_count(void)
{
    /* File regions, and sealed regions (memfd "netipc", shown deleted). */
    return maps_lines(".ipcshm") + maps_lines("/memfd:netipc");
}

long t_rss_kb(void)
{
    FILE *f = fopen("/proc/self/status", "re");
    if (!f)
        return -1;
    char line[256];
    long kb = -1;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "VmRSS:", 6) == 0)
            kb = strtol(line + 6, NULL, 10);
    fclose(f);
    return kb;
}

void t_sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

unsigned long long t_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (unsigned long long)ts.tv_sec * 1000ull + (unsigned long long)ts.tv_nsec / 1000000ull;
}
