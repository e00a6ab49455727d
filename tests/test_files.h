/*
 * Test data loading for the lookup suites: reference vectors
 * (tests/data/vectors, .bin files read verbatim) and hand-written golden files
 * (tests/data/golden, .hex files: hex digit pairs, whitespace ignored, '#'
 * comments to the end of the line). Header-only; every function is static.
 */
#ifndef NETIPC_TEST_FILES_H
#define NETIPC_TEST_FILES_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define TF_MAX_FILE 8192

/* Reads a whole file into buf; 0 (with a message) if missing or larger than cap - 1. */
static int tf_read(const char *path, uint8_t *buf, size_t cap, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "cannot open %s\n", path);
        return 0;
    }
    *len = fread(buf, 1, cap, f);
    int ok = !ferror(f) && *len < cap;
    fclose(f);
    if (!ok)
        fprintf(stderr, "cannot read all of %s\n", path);
    return ok;
}

static int tf_nibble(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c |= 0x20; /* lower case */
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Hex text to bytes; 0 on a stray character, an odd digit count or overflow. */
static int tf_unhex(const char *text, size_t n, uint8_t *out, size_t cap, size_t *len)
{
    size_t digits = 0;
    int hi = 0;
    *len = 0;
    for (size_t i = 0; i < n; i++) {
        char c = text[i];
        if (c == '#') {
            while (i < n && text[i] != '\n')
                i++;
        } else if (c != ' ' && c != '\t' && c != '\r' && c != '\n') {
            int v = tf_nibble((unsigned char)c);
            if (v < 0 || *len >= cap)
                return 0;
            if (digits++ % 2 == 0)
                hi = v;
            else
                out[(*len)++] = (uint8_t)(hi << 4 | v);
        }
    }
    return digits % 2 == 0;
}

static int tf_vector(const char *name, uint8_t *buf, size_t *len)
{
    char path[512];
    snprintf(path, sizeof path, "%s/vectors/%s", NETIPC_TEST_DATA, name);
    return tf_read(path, buf, TF_MAX_FILE, len);
}

static int tf_golden(const char *name, uint8_t *buf, size_t *len)
{
    static char text[TF_MAX_FILE * 8];
    char path[512];
    size_t n = 0;
    snprintf(path, sizeof path, "%s/golden/%s", NETIPC_TEST_DATA, name);
    if (!tf_read(path, (uint8_t *)text, sizeof text, &n))
        return 0;
    if (!tf_unhex(text, n, buf, TF_MAX_FILE, len)) {
        fprintf(stderr, "%s: malformed hex\n", name);
        return 0;
    }
    return 1;
}

#endif
