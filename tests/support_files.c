/*
 * Control files of tests/support.h: how a test and its peer processes
 * signal each other ("ready", "stop", statistics) through a directory.
 * Plain C stdio, the same on every platform.
 */
#include <stdio.h>
#include <string.h>

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

/* "<count> <text padded> <count>\n": 20 digits, the text in 214 bytes. */
#define RECORD_TEXT 214
#define RECORD_SIZE (20 + 1 + RECORD_TEXT + 1 + 20 + 1)

void t_record_write(const char *dir, const char *name, const char *text)
{
    static unsigned long long writes; /* one writer per record */
    char p[1024], rec[RECORD_SIZE + 1];
    path_of(p, sizeof p, dir, name);
    writes++;
    snprintf(rec, sizeof rec, "%020llu %-*.*s %020llu\n", writes, RECORD_TEXT, RECORD_TEXT,
             text, writes);
    FILE *f = fopen(p, "r+b");
    if (!f)
        f = fopen(p, "wb");
    if (!f)
        return;
    fwrite(rec, 1, RECORD_SIZE, f);
    fclose(f);
}

int t_record_read(const char *dir, const char *name, char *text, size_t cap)
{
    char p[1024], rec[RECORD_SIZE + 1];
    path_of(p, sizeof p, dir, name);
    FILE *f = fopen(p, "rb");
    if (!f)
        return 0;
    size_t n = fread(rec, 1, RECORD_SIZE, f);
    fclose(f);
    if (n != RECORD_SIZE || cap == 0)
        return 0;
    rec[RECORD_SIZE] = 0;
    if (memcmp(rec, rec + RECORD_SIZE - 21, 20) != 0 || rec[20] != ' ')
        return 0; /* read while it was being rewritten */
    size_t len = RECORD_TEXT < cap - 1 ? RECORD_TEXT : cap - 1;
    memcpy(text, rec + 21, len);
    text[len] = 0;
    return 1;
}
