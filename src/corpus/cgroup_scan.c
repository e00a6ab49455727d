/*
 * Scanner of this machine's cgroup tree (POSIX). One item per directory
 * below the root, depth first, name = path relative to the root. Symlinks
 * are not followed and the depth is bounded, so a hostile tree cannot make
 * the scan loop.
 */
#include "corpus/corpus.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "netipc/codec.h"

#define SCAN_MAX_DEPTH 32
#define SCAN_PATH_MAX 4096

typedef struct scan {
    nipc_cgroup_entry_t *items;
    uint32_t count, cap;
    uint32_t max_items;
    char *strings;
    size_t used, strings_cap;
    size_t root_len;
    int failed;
} scan_t;

static int push_string(scan_t *s, const char *str, size_t len, size_t *offset)
{
    if (s->used + len + 1 > s->strings_cap) {
        size_t cap = s->strings_cap ? s->strings_cap * 2 : 65536;
        while (cap < s->used + len + 1)
            cap *= 2;
        char *p = realloc(s->strings, cap);
        if (!p)
            return 0;
        s->strings = p;
        s->strings_cap = cap;
    }
    memcpy(s->strings + s->used, str, len);
    s->strings[s->used + len] = 0;
    *offset = s->used;
    s->used += len + 1;
    return 1;
}

static int add_dir(scan_t *s, const char *path, size_t path_len)
{
    if (s->count == s->cap) {
        uint32_t cap = s->cap ? s->cap * 2 : 256;
        nipc_cgroup_entry_t *p = realloc(s->items, cap * sizeof *p);
        if (!p)
            return 0;
        s->items = p;
        s->cap = cap;
    }
    size_t name_off, path_off;
    const char *name = path + s->root_len + 1;
    size_t name_len = path_len - s->root_len - 1;
    if (!push_string(s, name, name_len, &name_off) || !push_string(s, path, path_len, &path_off))
        return 0;
    nipc_cgroup_entry_t *e = &s->items[s->count++];
    /* Offsets for now: the arena may still move. Fixed up at the end. */
    e->name = (const char *)(uintptr_t)name_off;
    e->path = (const char *)(uintptr_t)path_off;
    e->name_len = (uint32_t)name_len;
    e->path_len = (uint32_t)path_len;
    e->hash = nipc_djb2(name, name_len);
    e->options = 0;
    e->enabled = 1;
    return 1;
}

static void walk(scan_t *s, char *path, size_t len, int depth)
{
    DIR *d = opendir(path);
    if (!d)
        return;
    struct dirent *de;
    while (!s->failed && s->count < s->max_items && (de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.' && (!de->d_name[1] || (de->d_name[1] == '.' && !de->d_name[2])))
            continue;
        size_t n = strlen(de->d_name);
        if (len + 1 + n >= SCAN_PATH_MAX)
            continue;
        path[len] = '/';
        memcpy(path + len + 1, de->d_name, n + 1);
        struct stat st;
        if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
            if (!add_dir(s, path, len + 1 + n))
                s->failed = 1;
            else if (depth < SCAN_MAX_DEPTH)
                walk(s, path, len + 1 + n, depth + 1);
        }
        path[len] = 0;
    }
    closedir(d);
}

nipc_error_t nipc_cgroup_set_scan(const char *root, uint32_t max_items, nipc_cgroup_set_t *set)
{
    memset(set, 0, sizeof *set);
    char path[SCAN_PATH_MAX];
    size_t root_len = strlen(root);
    while (root_len > 1 && root[root_len - 1] == '/')
        root_len--;
    if (root_len == 0 || root_len >= SCAN_PATH_MAX)
        return NIPC_ERR_INVALID_ARGUMENT;
    memcpy(path, root, root_len);
    path[root_len] = 0;

    scan_t s = {.max_items = max_items, .root_len = root_len};
    walk(&s, path, root_len, 1);
    if (s.failed) {
        free(s.items);
        free(s.strings);
        return NIPC_ERR_NO_MEMORY;
    }
    if (s.count == 0) {
        free(s.items);
        free(s.strings);
        return NIPC_ERR_NOT_FOUND;
    }
    for (uint32_t i = 0; i < s.count; i++) {
        nipc_cgroup_entry_t *e = &s.items[i];
        e->name = s.strings + (uintptr_t)e->name;
        e->path = s.strings + (uintptr_t)e->path;
        if ((e->name_len == 10 && memcmp(e->name, "init.scope", 10) == 0) ||
            (e->name_len == 12 && memcmp(e->name, "system.slice", 12) == 0))
            set->systemd_enabled = 1;
    }
    set->items = s.items;
    set->count = s.count;
    set->strings = s.strings;
    set->source = "cgroupfs";
    return NIPC_OK;
}
