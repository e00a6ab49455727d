/*
 * A minimal JSON writer for the tool's --json output: one value at a time,
 * commas and nesting tracked, strings escaped (quotes, backslashes and
 * control characters; other bytes pass through, so UTF-8 stays UTF-8).
 */
#include <inttypes.h>
#include <string.h>

#include "tools/tool.h"

#define MAX_DEPTH ((int)(sizeof ((json_t *)0)->need_comma / sizeof(bool)) - 1)

void json_begin(json_t *j, FILE *f)
{
    memset(j, 0, sizeof *j);
    j->f = f;
}

static void write_string(FILE *f, const char *s, size_t n)
{
    fputc('"', f);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c == '\n')
            fputs("\\n", f);
        else if (c == '\t')
            fputs("\\t", f);
        else if (c < 0x20)
            fprintf(f, "\\u%04x", c);
        else
            fputc(c, f);
    }
    fputc('"', f);
}

/* The comma before a value, and its key inside an object. */
static void member(json_t *j, const char *key)
{
    if (j->need_comma[j->depth])
        fputc(',', j->f);
    j->need_comma[j->depth] = true;
    if (key) {
        write_string(j->f, key, strlen(key));
        fputc(':', j->f);
    }
}

static void open_scope(json_t *j, const char *key, char open, char close)
{
    member(j, key);
    fputc(open, j->f);
    if (j->depth < MAX_DEPTH)
        j->depth++;
    j->need_comma[j->depth] = false;
    j->closer[j->depth] = close;
}

void json_object(json_t *j, const char *key)
{
    open_scope(j, key, '{', '}');
}

void json_array(json_t *j, const char *key)
{
    open_scope(j, key, '[', ']');
}

void json_end(json_t *j)
{
    if (j->depth == 0)
        return;
    fputc(j->closer[j->depth], j->f);
    j->depth--;
}

void json_str(json_t *j, const char *key, const char *s)
{
    json_strn(j, key, s ? s : "", s ? strlen(s) : 0);
}

void json_strn(json_t *j, const char *key, const char *s, size_t n)
{
    member(j, key);
    write_string(j->f, s, n);
}

void json_u64(json_t *j, const char *key, uint64_t v)
{
    member(j, key);
    fprintf(j->f, "%" PRIu64, v);
}

void json_i64(json_t *j, const char *key, int64_t v)
{
    member(j, key);
    fprintf(j->f, "%" PRId64, v);
}

void json_num(json_t *j, const char *key, double v)
{
    member(j, key);
    fprintf(j->f, "%.6g", v);
}

void json_bool(json_t *j, const char *key, bool v)
{
    member(j, key);
    fputs(v ? "true" : "false", j->f);
}

void json_finish(json_t *j)
{
    while (j->depth > 0)
        json_end(j);
    fputc('\n', j->f);
    fflush(j->f);
    j->need_comma[0] = false;
}
