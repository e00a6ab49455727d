/*
 * Control files of tests/support.h: how a test and its peer processes
 * signal each other ("ready", "stop", statistics) through a directory.
 * Plain C stdio, the same on every platform.
 */
#include <stdio.h>

#include "support.h"

static void path_of(char *buf, size_t cap, const char *dir, const char *name)
{
    snprintf(buf, cap, "%s/%s", dir, name);
}

int t_file_exists(const char *dir, const char *name)
{
    char p[1024];
    path_of(p, sizeof p, dir, name);
    FILE *f = fopen(p, "rb");
    if (f)
        fclose(f);
    return f != NULL;
}

void t_file_publish(const char *dir, const char *name, const char *text)
{
    char tmp[1024], dst[1024];
    snprintf(tmp, sizeof tmp, "%s/%s.tmp", dir, name);
    path_of(dst, sizeof dst, dir, name);
    FILE *f = fopen(tmp, "wb");
    if (!f)
        return;
    fputs(text, f);
    fclose(f);
    /* Windows' rename() does not replace, and neither succeeds while a
     * reader has the file open: try again shortly. */
    for (int i = 0; i < 20; i++) {
        remove(dst);
        if (rename(tmp, dst) == 0)
            return;
        t_sleep_ms(1);
    }
    remove(tmp);
}

void t_file_remove(const char *dir, const char *name)
{
    char p[1024];
    path_of(p, sizeof p, dir, name);
    remove(p);
}
