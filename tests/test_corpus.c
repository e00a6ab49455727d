/*
 * Tests of the cgroups corpus and scanner (src/corpus): determinism, prefix
 * stability, uniqueness and shape of the generated corpus, its snapshot
 * encoding through the real codec, and the scanner on a fake cgroup tree
 * built in a temporary directory.
 */
#include "test.h"

#include <errno.h>
#ifndef _WIN32
#include <sys/stat.h>
#include <unistd.h>
#endif

#include "corpus/corpus.h"
#include "netipc/codec.h"

#define BIG NIPC_CORPUS_MAX_ITEMS

/* djb2 restated here so the test does not trust the library's copy. */
static uint32_t djb2(const char *s, size_t n)
{
    uint32_t h = 5381u;
    for (size_t i = 0; i < n; i++)
        h = (h << 5) + h + (unsigned char)s[i];
    return h;
}

static int same_entry(const nipc_cgroup_entry_t *a, const nipc_cgroup_entry_t *b)
{
    return a->name_len == b->name_len && a->path_len == b->path_len && a->hash == b->hash &&
           a->options == b->options && a->enabled == b->enabled &&
           memcmp(a->name, b->name, a->name_len) == 0 && memcmp(a->path, b->path, a->path_len) == 0;
}

/* Encodes `set` into a fresh buffer; NULL on failure. */
static uint8_t *encode(const nipc_cgroup_set_t *set, uint64_t generation, size_t *len)
{
    size_t need = nipc_cgroup_set_encoded_size(set);
    uint8_t *buf = malloc(need ? need : 1);
    if (!buf)
        return NULL;
    if (nipc_cgroup_set_encode(set, generation, buf, need, len) != NIPC_OK || *len != need) {
        free(buf);
        return NULL;
    }
    return buf;
}

static void test_same_seed_same_bytes(void)
{
    nipc_cgroup_set_t a, b;
    size_t la = 0, lb = 0;
    CHECK_OK(nipc_cgroup_set_corpus(42, 1000, &a));
    CHECK_OK(nipc_cgroup_set_corpus(42, 1000, &b));
    uint8_t *ea = encode(&a, 9, &la), *eb = encode(&b, 9, &lb);
    REQUIRE(ea && eb);
    CHECK_EQ_U64(la, lb);
    CHECK(la == lb && memcmp(ea, eb, la) == 0);
    free(ea);
    free(eb);
    nipc_cgroup_set_free(&a);
    nipc_cgroup_set_free(&b);
}

static void test_different_seeds_differ(void)
{
    nipc_cgroup_set_t a, b;
    size_t la = 0, lb = 0;
    CHECK_OK(nipc_cgroup_set_corpus(1, 1000, &a));
    CHECK_OK(nipc_cgroup_set_corpus(2, 1000, &b));
    uint8_t *ea = encode(&a, 9, &la), *eb = encode(&b, 9, &lb);
    REQUIRE(ea && eb);
    CHECK(la != lb || memcmp(ea, eb, la) != 0);
    /* Not just a shifted copy: most items differ position by position. */
    uint32_t same = 0;
    for (uint32_t i = 0; i < 1000; i++)
        same += (uint32_t)same_entry(&a.items[i], &b.items[i]);
    CHECK(same < 100);
    free(ea);
    free(eb);
    nipc_cgroup_set_free(&a);
    nipc_cgroup_set_free(&b);
}

static void test_prefix_stability(void)
{
    nipc_cgroup_set_t small, big;
    CHECK_OK(nipc_cgroup_set_corpus(5, 10, &small));
    CHECK_OK(nipc_cgroup_set_corpus(5, BIG, &big));
    REQUIRE(small.count == 10 && big.count == BIG);
    for (uint32_t i = 0; i < 10; i++)
        CHECK(same_entry(&small.items[i], &big.items[i]));

    /* The set is exactly nipc_corpus_item(seed, i), anywhere in the range. */
    static const uint32_t probes[] = {0, 9, 10, 4321, 77777, BIG - 1};
    for (size_t k = 0; k < sizeof probes / sizeof probes[0]; k++) {
        nipc_corpus_item_t it;
        const nipc_cgroup_entry_t *e = &big.items[probes[k]];
        nipc_corpus_item(5, probes[k], &it);
        CHECK(it.name_len == e->name_len && memcmp(it.name, e->name, it.name_len) == 0);
        CHECK(it.path_len == e->path_len && memcmp(it.path, e->path, it.path_len) == 0);
        CHECK(it.hash == e->hash && it.options == e->options && it.enabled == e->enabled);
    }
    nipc_cgroup_set_free(&small);
    nipc_cgroup_set_free(&big);
}

static int cmp_entry_name(const void *pa, const void *pb)
{
    const nipc_cgroup_entry_t *a = *(const nipc_cgroup_entry_t *const *)pa;
    const nipc_cgroup_entry_t *b = *(const nipc_cgroup_entry_t *const *)pb;
    uint32_t n = a->name_len < b->name_len ? a->name_len : b->name_len;
    int c = memcmp(a->name, b->name, n);
    if (c != 0)
        return c;
    return (a->name_len > b->name_len) - (a->name_len < b->name_len);
}

static void test_names_unique(void)
{
    nipc_cgroup_set_t set;
    CHECK_OK(nipc_cgroup_set_corpus(11, BIG, &set));
    REQUIRE(set.count == BIG);
    const nipc_cgroup_entry_t **v = malloc(BIG * sizeof *v);
    REQUIRE(v != NULL);
    for (uint32_t i = 0; i < BIG; i++)
        v[i] = &set.items[i];
    qsort(v, BIG, sizeof *v, cmp_entry_name);
    uint32_t dups = 0;
    for (uint32_t i = 1; i < BIG; i++)
        dups += (uint32_t)(cmp_entry_name(&v[i - 1], &v[i]) == 0);
    CHECK_EQ_U64(dups, 0);
    free(v);
    nipc_cgroup_set_free(&set);
}

static int ends_with(const char *s, uint32_t len, const char *suffix)
{
    size_t n = strlen(suffix);
    return len >= n && memcmp(s + len - n, suffix, n) == 0;
}

static void test_categories_and_shape(void)
{
    nipc_cgroup_set_t set;
    CHECK_OK(nipc_cgroup_set_corpus(3, 1000, &set));
    REQUIRE(set.count == 1000);
    CHECK_EQ_U64(set.systemd_enabled, 1);
    uint32_t service = 0, docker = 0, podman = 0, k8s = 0, user = 0, machine = 0, other = 0;
    uint32_t bad_hash = 0, bad_path = 0, bad_len = 0, opts = 0, disabled = 0;
    for (uint32_t i = 0; i < set.count; i++) {
        const nipc_cgroup_entry_t *e = &set.items[i];
        const char *n = e->name;
        if (strncmp(n, "system.slice/system-", 20) == 0 && ends_with(n, e->name_len, ".service"))
            service++;
        else if (strncmp(n, "system.slice/docker-", 20) == 0)
            docker++;
        else if (strstr(n, "/libpod-") != NULL)
            podman++;
        else if (strncmp(n, "kubepods", 8) == 0)
            k8s++;
        else if (strncmp(n, "user.slice/", 11) == 0)
            user++;
        else if (strstr(n, "machine-qemu") != NULL)
            machine++;
        else
            other++;

        bad_len += e->name_len != strlen(n) || e->path_len != strlen(e->path) || e->name_len == 0 ||
                   e->name_len > NIPC_CORPUS_NAME_MAX;
        bad_hash += e->hash != djb2(n, e->name_len) || e->hash != nipc_djb2(n, e->name_len);
        bad_path += e->path_len != 15u + e->name_len ||
                    strncmp(e->path, "/sys/fs/cgroup/", 15) != 0 ||
                    memcmp(e->path + 15, n, e->name_len + 1u) != 0;
        opts += e->options != 0;
        disabled += e->enabled == 0;
        CHECK(e->options == 0 || e->options == 0x02u);
        CHECK(e->enabled <= 1);
    }
    fprintf(stderr, "  1000 items: service %u docker %u podman %u k8s %u user %u machine %u\n",
            service, docker, podman, k8s, user, machine);
    CHECK(service > 0 && docker > 0 && podman > 0 && k8s > 0 && user > 0 && machine > 0);
    CHECK_EQ_U64(other, 0);
    CHECK_EQ_U64(bad_len, 0);
    CHECK_EQ_U64(bad_hash, 0);
    CHECK_EQ_U64(bad_path, 0);
    /* Both option and enabled values occur. */
    CHECK(opts > 0 && opts < 1000 && disabled > 0 && disabled < 1000);
    nipc_cgroup_set_free(&set);
}

static void check_roundtrip(uint32_t count)
{
    nipc_cgroup_set_t set;
    CHECK_OK(nipc_cgroup_set_corpus(21, count, &set));
    REQUIRE(set.count == count);
    size_t need = nipc_cgroup_set_encoded_size(&set);

    /* One byte short: refused, and the exact size is reported. */
    size_t len = 0;
    uint8_t *buf = malloc(need);
    REQUIRE(buf != NULL);
    CHECK_ERR(nipc_cgroup_set_encode(&set, 1234, buf, need - 1, &len), NIPC_ERR_BUFFER_TOO_SMALL);
    CHECK_EQ_U64(len, need);
    len = 0;
    CHECK_OK(nipc_cgroup_set_encode(&set, 1234, buf, need, &len));
    CHECK_EQ_U64(len, need);

    /* The encoded size follows the layout rules of codecs.md. */
    uint64_t packed = 0;
    for (uint32_t i = 0; i < count; i++) {
        packed = (packed + 7u) & ~(uint64_t)7u;
        packed += 34u + set.items[i].name_len + set.items[i].path_len;
    }
    CHECK_EQ_U64(need, 24u + 8u * (uint64_t)count + packed);

    nipc_cgroups_view_t v;
    CHECK_OK(nipc_cgroups_resp_decode(buf, len, &v));
    CHECK_EQ_U64(v.item_count, count);
    CHECK_EQ_U64(v.systemd_enabled, set.systemd_enabled);
    CHECK_EQ_U64(v.generation, 1234);
    uint32_t mismatches = 0;
    for (uint32_t i = 0; i < v.item_count; i++) {
        nipc_cgroup_item_t it;
        const nipc_cgroup_entry_t *e = &set.items[i];
        if (nipc_cgroups_resp_item(&v, i, &it) != NIPC_OK) {
            mismatches++;
            continue;
        }
        mismatches += it.hash != e->hash || it.options != e->options || it.enabled != e->enabled ||
                      it.name.len != e->name_len || it.path.len != e->path_len ||
                      memcmp(it.name.ptr, e->name, e->name_len + 1u) != 0 ||
                      memcmp(it.path.ptr, e->path, e->path_len + 1u) != 0;
    }
    CHECK_EQ_U64(mismatches, 0);
    free(buf);
    nipc_cgroup_set_free(&set);
}

static void test_roundtrip_1(void)
{
    check_roundtrip(1);
}

static void test_roundtrip_100000(void)
{
    check_roundtrip(BIG);
}

static void test_count_limit(void)
{
    nipc_cgroup_set_t set;
    CHECK_ERR(nipc_cgroup_set_corpus(1, BIG + 1, &set), NIPC_ERR_INVALID_ARGUMENT);
    CHECK(set.items == NULL && set.strings == NULL && set.count == 0);
    CHECK_ERR(nipc_cgroup_set_corpus(1, UINT32_MAX, &set), NIPC_ERR_INVALID_ARGUMENT);
    CHECK(set.items == NULL && set.count == 0);
    nipc_cgroup_set_free(&set); /* harmless on a rejected set */
}

/* ---------------------------------------------------------------- scanner */

#ifdef _WIN32
/* No cgroups on Windows: the scanner says so (cgroup_scan_none.c). */
static void test_scan_fake_tree(void)
{
    nipc_cgroup_set_t set;
    CHECK_ERR(nipc_cgroup_set_scan("C:\\", 1000, &set), NIPC_ERR_UNSUPPORTED);
    CHECK(set.items == NULL && set.count == 0);
}

static void test_scan_missing_root(void)
{
    nipc_cgroup_set_t set;
    CHECK_ERR(nipc_cgroup_set_scan("C:\\nonexistent", 1000, &set), NIPC_ERR_UNSUPPORTED);
    CHECK(set.items == NULL && set.count == 0);
}
#else
static char scan_root[256];

static const char *const tree_dirs[] = {
    "init.scope",
    "system.slice",
    "system.slice/x.service",
    "system.slice/x.service/inner",
    "user.slice",
    "user.slice/user-1000.slice",
};
#define TREE_DIRS (sizeof tree_dirs / sizeof tree_dirs[0])

static const char *const tree_files[] = {"cgroup.procs", "system.slice/x.service/memory.max"};
#define TREE_FILES (sizeof tree_files / sizeof tree_files[0])

/* Links to directories, which a scan must neither list nor enter. */
static const char *const tree_links[][2] = {
    {"link-to-slice", "system.slice"},
    {"user.slice/loop", ".."},
};
#define TREE_LINKS (sizeof tree_links / sizeof tree_links[0])

static void tree_path(char *out, size_t cap, const char *rel)
{
    snprintf(out, cap, "%s/%s", scan_root, rel);
}

static int build_tree(void)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(scan_root, sizeof scan_root, "%s/netipc-scan-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(scan_root))
        return 0;
    char p[512];
    for (size_t i = 0; i < TREE_DIRS; i++) {
        tree_path(p, sizeof p, tree_dirs[i]);
        if (mkdir(p, 0755) != 0)
            return 0;
    }
    for (size_t i = 0; i < TREE_FILES; i++) {
        tree_path(p, sizeof p, tree_files[i]);
        FILE *f = fopen(p, "w");
        if (!f)
            return 0;
        fputs("0\n", f);
        fclose(f);
    }
    for (size_t i = 0; i < TREE_LINKS; i++) {
        tree_path(p, sizeof p, tree_links[i][0]);
        if (symlink(tree_links[i][1], p) != 0)
            return 0;
    }
    return 1;
}

static void remove_tree(void)
{
    char p[512];
    for (size_t i = 0; i < TREE_LINKS; i++) {
        tree_path(p, sizeof p, tree_links[i][0]);
        unlink(p);
    }
    for (size_t i = 0; i < TREE_FILES; i++) {
        tree_path(p, sizeof p, tree_files[i]);
        unlink(p);
    }
    for (size_t i = TREE_DIRS; i-- > 0;) {
        tree_path(p, sizeof p, tree_dirs[i]);
        rmdir(p);
    }
    rmdir(scan_root);
}

/* Index of `name` in tree_dirs, or -1. */
static int tree_index(const char *name, uint32_t len)
{
    for (size_t i = 0; i < TREE_DIRS; i++)
        if (strlen(tree_dirs[i]) == len && memcmp(tree_dirs[i], name, len) == 0)
            return (int)i;
    return -1;
}

/* Every item is a distinct tree directory with a consistent entry. */
static void check_scanned(const nipc_cgroup_set_t *set, const char *root)
{
    int seen[TREE_DIRS] = {0};
    size_t rl = strlen(root);
    for (uint32_t i = 0; i < set->count; i++) {
        const nipc_cgroup_entry_t *e = &set->items[i];
        int k = tree_index(e->name, e->name_len);
        CHECK(k >= 0);
        if (k < 0) {
            fprintf(stderr, "  unexpected item '%.*s'\n", (int)e->name_len, e->name);
            continue;
        }
        CHECK(!seen[k]);
        seen[k] = 1;
        CHECK(e->name[e->name_len] == 0 && e->path[e->path_len] == 0);
        CHECK(e->path_len == rl + 1u + e->name_len);
        CHECK(memcmp(e->path, root, rl) == 0 && e->path[rl] == '/' &&
              memcmp(e->path + rl + 1, e->name, e->name_len) == 0);
        CHECK(e->hash == djb2(e->name, e->name_len));
    }
}

static void test_scan_fake_tree(void)
{
    int built = build_tree();
    if (!built)
        fprintf(stderr, "  cannot build tree under %s: %s\n", scan_root, strerror(errno));
    CHECK(built);
    if (built) {
        nipc_cgroup_set_t set;
        CHECK_OK(nipc_cgroup_set_scan(scan_root, 1000, &set));
        CHECK_EQ_U64(set.count, TREE_DIRS);
        CHECK_EQ_U64(set.systemd_enabled, 1);
        check_scanned(&set, scan_root);
        nipc_cgroup_set_free(&set);

        /* Trailing slashes do not change the names. */
        char slashed[300];
        snprintf(slashed, sizeof slashed, "%s//", scan_root);
        CHECK_OK(nipc_cgroup_set_scan(slashed, 1000, &set));
        CHECK_EQ_U64(set.count, TREE_DIRS);
        check_scanned(&set, scan_root);
        nipc_cgroup_set_free(&set);

        /* max_items stops the walk exactly there. */
        for (uint32_t max = 1; max <= TREE_DIRS; max++) {
            CHECK_OK(nipc_cgroup_set_scan(scan_root, max, &set));
            CHECK_EQ_U64(set.count, max);
            check_scanned(&set, scan_root);
            nipc_cgroup_set_free(&set);
        }
        CHECK_ERR(nipc_cgroup_set_scan(scan_root, 0, &set), NIPC_ERR_NOT_FOUND);

        /* A subtree without init.scope / system.slice is not systemd's. */
        char sub[300];
        snprintf(sub, sizeof sub, "%s/user.slice", scan_root);
        CHECK_OK(nipc_cgroup_set_scan(sub, 1000, &set));
        CHECK_EQ_U64(set.count, 1);
        CHECK_EQ_U64(set.systemd_enabled, 0);
        if (set.count == 1)
            CHECK(set.items[0].name_len == 15 &&
                  memcmp(set.items[0].name, "user-1000.slice", 15) == 0);
        nipc_cgroup_set_free(&set);

        /* A directory with no subdirectory, and a regular file, have no cgroups. */
        snprintf(sub, sizeof sub, "%s/init.scope", scan_root);
        CHECK_ERR(nipc_cgroup_set_scan(sub, 1000, &set), NIPC_ERR_NOT_FOUND);
        snprintf(sub, sizeof sub, "%s/cgroup.procs", scan_root);
        CHECK_ERR(nipc_cgroup_set_scan(sub, 1000, &set), NIPC_ERR_NOT_FOUND);
    }
    remove_tree();
}

static void test_scan_missing_root(void)
{
    nipc_cgroup_set_t set;
    CHECK_ERR(nipc_cgroup_set_scan("/nonexistent/netipc/cgroup/root", 1000, &set),
              NIPC_ERR_NOT_FOUND);
    CHECK(set.items == NULL && set.count == 0);
}
#endif

T_MAIN(T_CASE(test_same_seed_same_bytes), T_CASE(test_different_seeds_differ),
       T_CASE(test_prefix_stability), T_CASE(test_names_unique), T_CASE(test_categories_and_shape),
       T_CASE(test_roundtrip_1), T_CASE(test_roundtrip_100000), T_CASE(test_count_limit),
       T_CASE(test_scan_fake_tree), T_CASE(test_scan_missing_root))
