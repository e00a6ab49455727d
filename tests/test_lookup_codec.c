/*
 * Lookup codec tests (codecs.md §4-6): CGROUPS_LOOKUP and APPS_LOOKUP
 * requests, responses, labels and the reply-mode builder policy.
 *
 *  - every lookup reference vector both ways (vectors/README.md): decoded
 *    field by field (labels in order, string offsets included) and encoded
 *    again from the listed logical values to identical bytes;
 *  - hand-written golden messages (tests/data/golden/, the lookup .hex files), written
 *    from the spec, checked both ways;
 *  - a test-side encoder written independently from the library, used to
 *    cross-check canonical bytes and to build items that break exactly one
 *    semantic rule;
 *  - one case per rejection rule (directory, strings, labels, statuses),
 *    builder argument rules, the reply policy (suffix reservation,
 *    OVERSIZED_ITEM / PAYLOAD_EXCEEDED replacement, overflow) and
 *    boundaries (no keys, comm 15/16, the most items a budget holds).
 */
#include "test.h"
#include "test_files.h"

#include "netipc/lookup.h"
#include "netipc/protocol.h"
#include "protocol/lookup_internal.h"

/* ------------------------------------------------------------ byte helpers */

static void put16(uint8_t *p, uint64_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void put64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void put(uint8_t *p, int width, uint64_t v)
{
    if (width == 2)
        put16(p, v);
    else if (width == 4)
        put32(p, v);
    else if (width == 8)
        put64(p, v);
    else
        p[0] = (uint8_t)v;
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static nipc_str_t S(const char *s)
{
    nipc_str_t r = {s, (uint32_t)strlen(s)};
    return r;
}

static int str_is(nipc_str_t s, const char *want)
{
    size_t n = strlen(want);
    return s.ptr && s.len == n && memcmp(s.ptr, want, n) == 0 && s.ptr[n] == 0;
}

/* Offset of a view string from the start of its item. */
static uint64_t off_in(nipc_str_t s, const uint8_t *item)
{
    return (uint64_t)((const uint8_t *)s.ptr - item);
}

/* ---------------------------------------------- test-side reference encoder */

/*
 * Written from codecs.md, independently of the library: canonical items
 * (strings right after the fixed part, each with its NUL; labels after zero
 * padding to 8) without any semantic check, so a test can build items that
 * break exactly one rule.
 */
typedef struct raw_label {
    const char *k, *v;
} raw_label_t;

typedef struct raw_cg {
    uint16_t status, orch;
    const char *path, *name;
    uint16_t nlabels;
    raw_label_t labels[3];
} raw_cg_t;

typedef struct raw_app {
    uint16_t status, orch, cgs;
    uint32_t pid, ppid, uid;
    uint64_t start;
    const char *comm, *path, *name;
    uint16_t nlabels;
    raw_label_t labels[3];
} raw_app_t;

static size_t raw_string(uint8_t *it, size_t pos, uint8_t *pair, const char *s)
{
    size_t n = strlen(s);
    put32(pair, pos);
    put32(pair + 4, n);
    memcpy(it + pos, s, n + 1);
    return pos + n + 1;
}

static size_t raw_labels(uint8_t *it, size_t pos, uint16_t n, const raw_label_t *l)
{
    if (!n)
        return pos;
    size_t table = (pos + 7) & ~(size_t)7;
    memset(it + pos, 0, table - pos);
    pos = table + 16u * n;
    for (uint16_t j = 0; j < n; j++) {
        pos = raw_string(it, pos, it + table + 16u * j, l[j].k);
        pos = raw_string(it, pos, it + table + 16u * j + 8, l[j].v);
    }
    return pos;
}

static size_t raw_cg_item(uint8_t *it, const raw_cg_t *r)
{
    memset(it, 0, 28);
    put16(it, 1);
    put16(it + 2, r->status);
    put16(it + 4, r->orch);
    size_t pos = raw_string(it, 28, it + 8, r->path);
    pos = raw_string(it, pos, it + 16, r->name);
    put16(it + 24, r->nlabels);
    return raw_labels(it, pos, r->nlabels, r->labels);
}

static size_t raw_app_item(uint8_t *it, const raw_app_t *r)
{
    memset(it, 0, 60);
    put16(it, 1);
    put16(it + 2, r->status);
    put16(it + 4, r->orch);
    put16(it + 6, r->cgs);
    put32(it + 8, r->pid);
    put32(it + 12, r->ppid);
    put32(it + 16, r->uid);
    put64(it + 24, r->start);
    size_t pos = raw_string(it, 60, it + 32, r->comm);
    pos = raw_string(it, pos, it + 40, r->path);
    pos = raw_string(it, pos, it + 48, r->name);
    put16(it + 56, r->nlabels);
    return raw_labels(it, pos, r->nlabels, r->labels);
}

/* A whole response; items are given as raw_cg_t or raw_app_t arrays. */
static size_t raw_resp(uint8_t *out, uint64_t gen, uint32_t n, const raw_cg_t *cg,
                       const raw_app_t *app)
{
    put16(out, 1);
    put16(out + 2, 0);
    put32(out + 4, n);
    put64(out + 8, gen);
    uint8_t *packed = out + 16 + 8u * n;
    size_t end = 0;
    for (uint32_t i = 0; i < n; i++) {
        size_t off = i ? (end + 7) & ~(size_t)7 : 0;
        memset(packed + end, 0, off - end);
        size_t len = cg ? raw_cg_item(packed + off, &cg[i]) : raw_app_item(packed + off, &app[i]);
        put32(out + 16 + 8u * i, off);
        put32(out + 20 + 8u * i, len);
        end = off + len;
    }
    return 16 + 8u * n + end;
}

/* ------------------------------------------------- library builder helpers */

static nipc_label_t lib_labels[3];

static const nipc_label_t *to_labels(uint16_t n, const raw_label_t *l)
{
    for (uint16_t j = 0; j < n && j < 3; j++) {
        lib_labels[j].key = S(l[j].k);
        lib_labels[j].value = S(l[j].v);
    }
    return lib_labels;
}

static nipc_error_t cg_add(nipc_cgroups_lookup_builder_t *b, const raw_cg_t *r)
{
    nipc_cgroups_lookup_item_t it = {
        .status = r->status,
        .orchestrator = r->orch,
        .path = S(r->path),
        .name = S(r->name),
        .labels = {.count = r->nlabels},
    };
    return nipc_cgroups_lookup_builder_add(b, &it, to_labels(r->nlabels, r->labels));
}

static nipc_apps_lookup_item_t app_item(const raw_app_t *r)
{
    nipc_apps_lookup_item_t it = {
        .status = r->status,
        .orchestrator = r->orch,
        .cgroup_status = r->cgs,
        .pid = r->pid,
        .ppid = r->ppid,
        .uid = r->uid,
        .starttime = r->start,
        .comm = S(r->comm),
        .cgroup_path = S(r->path),
        .cgroup_name = S(r->name),
        .labels = {.count = r->nlabels},
    };
    return it;
}

static nipc_error_t app_add(nipc_apps_lookup_builder_t *b, const raw_app_t *r)
{
    nipc_apps_lookup_item_t it = app_item(r);
    return nipc_apps_lookup_builder_add(b, &it, to_labels(r->nlabels, r->labels));
}

static nipc_error_t cg_build(uint8_t *out, size_t cap, uint64_t gen, const raw_cg_t *items,
                             uint32_t n, size_t *len)
{
    nipc_cgroups_lookup_builder_t b;
    nipc_cgroups_lookup_builder_init(&b, out, cap, n, gen);
    for (uint32_t i = 0; i < n; i++)
        cg_add(&b, &items[i]);
    return nipc_cgroups_lookup_builder_finish(&b, len);
}

static nipc_error_t app_build(uint8_t *out, size_t cap, uint64_t gen, const raw_app_t *items,
                              uint32_t n, size_t *len)
{
    nipc_apps_lookup_builder_t b;
    nipc_apps_lookup_builder_init(&b, out, cap, n, gen);
    for (uint32_t i = 0; i < n; i++)
        app_add(&b, &items[i]);
    return nipc_apps_lookup_builder_finish(&b, len);
}

/* --------------------------------------------------------- item checking */

static void check_labels(const nipc_lookup_labels_t *l, const uint8_t *item, uint16_t n,
                         const raw_label_t *want, const uint32_t (*offs)[2])
{
    CHECK_EQ_U64(l->count, n);
    for (uint16_t j = 0; j < n; j++) {
        nipc_label_t got;
        REQUIRE(nipc_lookup_label(l, j, &got) == NIPC_OK);
        CHECK(str_is(got.key, want[j].k));
        CHECK(str_is(got.value, want[j].v));
        if (offs) {
            CHECK_EQ_U64(off_in(got.key, item), offs[j][0]);
            CHECK_EQ_U64(off_in(got.value, item), offs[j][1]);
        }
    }
    nipc_label_t none;
    CHECK_ERR(nipc_lookup_label(l, n, &none), NIPC_ERR_INVALID_ARGUMENT);
}

static void check_cg(const nipc_cgroups_lookup_view_t *v, uint32_t i, const raw_cg_t *want)
{
    nipc_cgroups_lookup_item_t it;
    REQUIRE(nipc_cgroups_lookup_resp_item(v, i, &it) == NIPC_OK);
    CHECK_EQ_U64(it.status, want->status);
    CHECK_EQ_U64(it.orchestrator, want->orch);
    CHECK(str_is(it.path, want->path));
    CHECK(str_is(it.name, want->name));
    check_labels(&it.labels, it.labels.item, want->nlabels, want->labels, NULL);
}

static void check_app(const nipc_apps_lookup_view_t *v, uint32_t i, const raw_app_t *want)
{
    nipc_apps_lookup_item_t it;
    REQUIRE(nipc_apps_lookup_resp_item(v, i, &it) == NIPC_OK);
    CHECK_EQ_U64(it.status, want->status);
    CHECK_EQ_U64(it.orchestrator, want->orch);
    CHECK_EQ_U64(it.cgroup_status, want->cgs);
    CHECK_EQ_U64(it.pid, want->pid);
    CHECK_EQ_U64(it.ppid, want->ppid);
    CHECK_EQ_U64(it.uid, want->uid);
    CHECK_EQ_U64(it.starttime, want->start);
    CHECK(str_is(it.comm, want->comm));
    CHECK(str_is(it.cgroup_path, want->path));
    CHECK(str_is(it.cgroup_name, want->name));
    check_labels(&it.labels, it.labels.item, want->nlabels, want->labels, NULL);
}

/* ------------------------------------------------------ reference vectors */

static void vector_cgroups_request(void)
{
    uint8_t v[TF_MAX_FILE], out[256];
    size_t len = 0, olen = 0;
    REQUIRE(tf_vector("cgroups_lookup_req.bin", v, &len));
    REQUIRE(len == 87);
    nipc_cgroups_lookup_req_t req;
    REQUIRE(nipc_cgroups_lookup_req_decode(v, len, &req) == NIPC_OK);
    CHECK_EQ_U64(req.item_count, 2);
    nipc_str_t k0, k1;
    REQUIRE(nipc_cgroups_lookup_req_key(&req, 0, &k0) == NIPC_OK);
    REQUIRE(nipc_cgroups_lookup_req_key(&req, 1, &k1) == NIPC_OK);
    CHECK(str_is(k0, "/sys/fs/cgroup/a"));
    CHECK(str_is(k1, "/system.slice/docker-abc.scope"));
    CHECK_EQ_U64((const uint8_t *)k0.ptr - v, 32);      /* packed offset 0 */
    CHECK_EQ_U64((const uint8_t *)k1.ptr - v, 32 + 24); /* packed offset 24 */
    CHECK_EQ_U64(get32(v + 20), 17);                    /* directory lengths include the NUL */
    CHECK_EQ_U64(get32(v + 28), 31);
    CHECK_ERR(nipc_cgroups_lookup_req_key(&req, 2, &k0), NIPC_ERR_INVALID_ARGUMENT);

    nipc_str_t keys[2] = {S("/sys/fs/cgroup/a"), S("/system.slice/docker-abc.scope")};
    CHECK_OK(nipc_cgroups_lookup_req_encode(keys, 2, out, sizeof out, &olen));
    CHECK_EQ_U64(olen, len);
    CHECK_MEM(out, v, len);
}

static void vector_requests_empty(void)
{
    uint8_t cg[TF_MAX_FILE], app[TF_MAX_FILE], out[32];
    size_t cl = 0, al = 0, olen = 0;
    REQUIRE(tf_vector("cgroups_lookup_req_empty.bin", cg, &cl));
    REQUIRE(tf_vector("apps_lookup_req_empty.bin", app, &al));
    REQUIRE(cl == 16 && al == 16);
    CHECK_MEM(cg, app, 16); /* the README: identical bytes */

    nipc_cgroups_lookup_req_t cr;
    nipc_apps_lookup_req_t ar;
    CHECK_OK(nipc_cgroups_lookup_req_decode(cg, cl, &cr));
    CHECK_EQ_U64(cr.item_count, 0);
    CHECK_OK(nipc_apps_lookup_req_decode(app, al, &ar));
    CHECK_EQ_U64(ar.item_count, 0);

    CHECK_OK(nipc_cgroups_lookup_req_encode(NULL, 0, out, sizeof out, &olen));
    CHECK_EQ_U64(olen, 16);
    CHECK_MEM(out, cg, 16);
    CHECK_OK(nipc_apps_lookup_req_encode(NULL, 0, out, sizeof out, &olen));
    CHECK_EQ_U64(olen, 16);
    CHECK_MEM(out, app, 16);
}

static void vector_apps_request(void)
{
    uint8_t v[TF_MAX_FILE], out[128];
    size_t len = 0, olen = 0;
    REQUIRE(tf_vector("apps_lookup_req.bin", v, &len));
    REQUIRE(len == 64);
    nipc_apps_lookup_req_t req;
    REQUIRE(nipc_apps_lookup_req_decode(v, len, &req) == NIPC_OK);
    CHECK_EQ_U64(req.item_count, 3);
    static const uint32_t pids[3] = {0, 1234, 4321};
    for (uint32_t i = 0; i < 3; i++) {
        uint32_t pid = 99;
        CHECK_OK(nipc_apps_lookup_req_pid(&req, i, &pid));
        CHECK_EQ_U64(pid, pids[i]);
        CHECK_EQ_U64(get32(v + 16 + 8 * i), 8 * i); /* key i at packed offset 8i */
        CHECK_EQ_U64(get32(v + 20 + 8 * i), 8);
    }
    uint32_t pid;
    CHECK_ERR(nipc_apps_lookup_req_pid(&req, 3, &pid), NIPC_ERR_INVALID_ARGUMENT);
    CHECK_OK(nipc_apps_lookup_req_encode(pids, 3, out, sizeof out, &olen));
    CHECK_EQ_U64(olen, len);
    CHECK_MEM(out, v, len);
}

/* vectors/README.md §4 response table. */
/* clang-format off */
static const struct cg_vec {
    const char *file;
    size_t size;
    uint64_t gen;
    uint32_t item_len;
    raw_cg_t item;
    uint32_t path_off, name_off;
    uint32_t label_offs[2][2];
} cg_vecs[] = {
    {"cgroups_lookup_resp_known_with_labels.bin", 138, 100, 114,
     {NIPC_CGROUP_KNOWN, NIPC_ORCH_K8S, "/kubepods.slice/pod-a", "pod-a", 2,
      {{"namespace", "default"}, {"pod", "web"}}},
     28, 50, {{88, 98}, {106, 110}}},
    {"cgroups_lookup_resp_known_no_labels.bin", 65, 101, 41,
     {NIPC_CGROUP_KNOWN, NIPC_ORCH_DOCKER, "/docker/abc", "", 0, {{0}}}, 28, 40, {{0}}},
    {"cgroups_lookup_resp_unknown_retry.bin", 68, 102, 44,
     {NIPC_CGROUP_UNKNOWN_RETRY_LATER, 0, "/missing/retry", "", 0, {{0}}}, 28, 43, {{0}}},
    {"cgroups_lookup_resp_unknown_permanent.bin", 59, 103, 35,
     {NIPC_CGROUP_UNKNOWN_PERMANENT, 0, "/gone", "", 0, {{0}}}, 28, 34, {{0}}},
    {"cgroups_lookup_resp_payload_exceeded.bin", 71, 104, 47,
     {NIPC_CGROUP_PAYLOAD_EXCEEDED, 0, "/payload-exceeded", "", 0, {{0}}}, 28, 46, {{0}}},
    {"cgroups_lookup_resp_oversized_item.bin", 64, 105, 40,
     {NIPC_CGROUP_OVERSIZED_ITEM, 0, "/oversized", "", 0, {{0}}}, 28, 39, {{0}}},
};
/* clang-format on */

static void vector_cgroups_responses(void)
{
    for (size_t f = 0; f < sizeof cg_vecs / sizeof cg_vecs[0]; f++) {
        const struct cg_vec *w = &cg_vecs[f];
        uint8_t v[TF_MAX_FILE], out[512], raw[512];
        size_t len = 0, olen = 0;
        REQUIRE(tf_vector(w->file, v, &len));
        CHECK_EQ_U64(len, w->size);

        nipc_cgroups_lookup_view_t view;
        REQUIRE(nipc_cgroups_lookup_resp_decode(v, len, &view) == NIPC_OK);
        CHECK_EQ_U64(view.item_count, 1);
        CHECK_EQ_U64(view.generation, w->gen);
        CHECK_EQ_U64(get32(v + 16), 0); /* directory {0, item length} */
        CHECK_EQ_U64(get32(v + 20), w->item_len);
        check_cg(&view, 0, &w->item);
        nipc_cgroups_lookup_item_t it;
        REQUIRE(nipc_cgroups_lookup_resp_item(&view, 0, &it) == NIPC_OK);
        CHECK(it.labels.item == v + 24);
        CHECK_EQ_U64(off_in(it.path, v + 24), w->path_off);
        CHECK_EQ_U64(off_in(it.name, v + 24), w->name_off);
        check_labels(&it.labels, v + 24, w->item.nlabels, w->item.labels, w->label_offs);
        CHECK_ERR(nipc_cgroups_lookup_resp_item(&view, 1, &it), NIPC_ERR_INVALID_ARGUMENT);

        /* Encode: the listed values give the same bytes ... */
        CHECK_OK(cg_build(out, sizeof out, w->gen, &w->item, 1, &olen));
        CHECK_EQ_U64(olen, len);
        CHECK_MEM(out, v, len);
        /* ... as does the test's own encoder, and re-encoding the decoded item. */
        CHECK_EQ_U64(raw_resp(raw, w->gen, 1, &w->item, NULL), len);
        CHECK_MEM(raw, v, len);
        nipc_cgroups_lookup_builder_t b;
        nipc_cgroups_lookup_builder_init(&b, out, sizeof out, 1, view.generation);
        REQUIRE(nipc_cgroups_lookup_resp_item(&view, 0, &it) == NIPC_OK);
        CHECK_OK(nipc_cgroups_lookup_builder_add(&b, &it, NULL));
        CHECK_OK(nipc_cgroups_lookup_builder_finish(&b, &olen));
        CHECK_EQ_U64(olen, len);
        CHECK_MEM(out, v, len);
    }
}

static void vector_empty_responses(void)
{
    uint8_t v[TF_MAX_FILE], out[32];
    size_t len = 0, olen = 0;
    REQUIRE(tf_vector("cgroups_lookup_resp_empty.bin", v, &len));
    REQUIRE(len == 16);
    nipc_cgroups_lookup_view_t cv;
    CHECK_OK(nipc_cgroups_lookup_resp_decode(v, len, &cv));
    CHECK_EQ_U64(cv.item_count, 0);
    CHECK_EQ_U64(cv.generation, 106);
    CHECK_OK(cg_build(out, sizeof out, 106, NULL, 0, &olen));
    CHECK_EQ_U64(olen, 16);
    CHECK_MEM(out, v, 16);

    REQUIRE(tf_vector("apps_lookup_resp_empty.bin", v, &len));
    REQUIRE(len == 16);
    nipc_apps_lookup_view_t av;
    CHECK_OK(nipc_apps_lookup_resp_decode(v, len, &av));
    CHECK_EQ_U64(av.item_count, 0);
    CHECK_EQ_U64(av.generation, 207);
    CHECK_OK(app_build(out, sizeof out, 207, NULL, 0, &olen));
    CHECK_EQ_U64(olen, 16);
    CHECK_MEM(out, v, 16);
}

/* vectors/README.md §5 response table. */
/* clang-format off */
static const struct app_vec {
    const char *file;
    size_t size;
    uint64_t gen;
    uint32_t item_len;
    raw_app_t item;
    uint32_t offs[3];
    uint32_t label_offs[2][2];
} app_vecs[] = {
    {"apps_lookup_resp_known_full.bin", 191, 200, 167,
     {NIPC_APP_KNOWN, NIPC_ORCH_DOCKER, NIPC_APP_CGROUP_KNOWN, 1234, 1, 1000, 123456,
      "123456789012345", "/docker/abc", "container-a", 2,
      {{"image", "nginx:latest"}, {"service", "web"}}},
     {60, 76, 88}, {{136, 142}, {155, 163}}},
    {"apps_lookup_resp_known_retry.bin", 98, 201, 74,
     {NIPC_APP_KNOWN, 0, NIPC_APP_CGROUP_UNKNOWN_RETRY_LATER, 1235, 1, 1000, 123457, "app",
      "/pending", "", 0, {{0}}},
     {60, 64, 73}, {{0}}},
    {"apps_lookup_resp_known_permanent.bin", 101, 202, 77,
     {NIPC_APP_KNOWN, 0, NIPC_APP_CGROUP_UNKNOWN_PERMANENT, 1236, 1, 1000, 123458, "app2",
      "/permanent", "", 0, {{0}}},
     {60, 65, 76}, {{0}}},
    {"apps_lookup_resp_known_host_root.bin", 91, 203, 67,
     {NIPC_APP_KNOWN, 0, NIPC_APP_CGROUP_HOST_ROOT, 1237, 1, 0, 123459, "sshd", "", "", 0,
      {{0}}},
     {60, 65, 66}, {{0}}},
    {"apps_lookup_resp_unknown_pid.bin", 87, 204, 63,
     {NIPC_APP_UNKNOWN, 0, 0, 0, 0, NIPC_UID_UNSET, 0, "", "", "", 0, {{0}}}, {60, 61, 62},
     {{0}}},
    {"apps_lookup_resp_payload_exceeded.bin", 87, 205, 63,
     {NIPC_APP_PAYLOAD_EXCEEDED, 0, 0, 1238, 0, NIPC_UID_UNSET, 0, "", "", "", 0, {{0}}},
     {60, 61, 62}, {{0}}},
    {"apps_lookup_resp_oversized_item.bin", 87, 206, 63,
     {NIPC_APP_OVERSIZED_ITEM, 0, 0, 1239, 0, NIPC_UID_UNSET, 0, "", "", "", 0, {{0}}},
     {60, 61, 62}, {{0}}},
};
/* clang-format on */

static void vector_apps_responses(void)
{
    for (size_t f = 0; f < sizeof app_vecs / sizeof app_vecs[0]; f++) {
        const struct app_vec *w = &app_vecs[f];
        uint8_t v[TF_MAX_FILE], out[512], raw[512];
        size_t len = 0, olen = 0;
        REQUIRE(tf_vector(w->file, v, &len));
        CHECK_EQ_U64(len, w->size);

        nipc_apps_lookup_view_t view;
        REQUIRE(nipc_apps_lookup_resp_decode(v, len, &view) == NIPC_OK);
        CHECK_EQ_U64(view.item_count, 1);
        CHECK_EQ_U64(view.generation, w->gen);
        CHECK_EQ_U64(get32(v + 16), 0);
        CHECK_EQ_U64(get32(v + 20), w->item_len);
        check_app(&view, 0, &w->item);
        nipc_apps_lookup_item_t it;
        REQUIRE(nipc_apps_lookup_resp_item(&view, 0, &it) == NIPC_OK);
        CHECK_EQ_U64(off_in(it.comm, v + 24), w->offs[0]);
        CHECK_EQ_U64(off_in(it.cgroup_path, v + 24), w->offs[1]);
        CHECK_EQ_U64(off_in(it.cgroup_name, v + 24), w->offs[2]);
        check_labels(&it.labels, v + 24, w->item.nlabels, w->item.labels, w->label_offs);

        CHECK_OK(app_build(out, sizeof out, w->gen, &w->item, 1, &olen));
        CHECK_EQ_U64(olen, len);
        CHECK_MEM(out, v, len);
        CHECK_EQ_U64(raw_resp(raw, w->gen, 1, NULL, &w->item), len);
        CHECK_MEM(raw, v, len);
        nipc_apps_lookup_builder_t b;
        nipc_apps_lookup_builder_init(&b, out, sizeof out, 1, view.generation);
        CHECK_OK(nipc_apps_lookup_builder_add(&b, &it, NULL));
        CHECK_OK(nipc_apps_lookup_builder_finish(&b, &olen));
        CHECK_EQ_U64(olen, len);
        CHECK_MEM(out, v, len);
    }
}

/* Every strict prefix of a message with keys or items must be rejected. */
static void vector_prefixes_rejected(void)
{
    static const char *const files[] = {
        "cgroups_lookup_req.bin",
        "apps_lookup_req.bin",
        "cgroups_lookup_resp_known_with_labels.bin",
        "cgroups_lookup_resp_oversized_item.bin",
        "apps_lookup_resp_known_full.bin",
        "apps_lookup_resp_unknown_pid.bin",
    };
    for (size_t f = 0; f < sizeof files / sizeof files[0]; f++) {
        uint8_t v[TF_MAX_FILE];
        size_t len = 0;
        REQUIRE(tf_vector(files[f], v, &len));
        int accepted = 0;
        for (size_t n = 0; n < len; n++) {
            nipc_cgroups_lookup_req_t cq;
            nipc_apps_lookup_req_t aq;
            nipc_cgroups_lookup_view_t cv;
            nipc_apps_lookup_view_t av;
            nipc_error_t e;
            if (f == 0)
                e = nipc_cgroups_lookup_req_decode(v, n, &cq);
            else if (f == 1)
                e = nipc_apps_lookup_req_decode(v, n, &aq);
            else if (f < 4)
                e = nipc_cgroups_lookup_resp_decode(v, n, &cv);
            else
                e = nipc_apps_lookup_resp_decode(v, n, &av);
            if (e == NIPC_OK) {
                accepted++;
                fprintf(stderr, "%s: prefix of %zu bytes accepted\n", files[f], n);
            }
            CHECK(e == (n < 16 ? NIPC_ERR_TRUNCATED : e)); /* short: TRUNCATED */
        }
        CHECK_EQ_U64(accepted, 0);
    }
}

/* The reply builder reproduces the OVERSIZED_ITEM vectors from a KNOWN answer
 * that does not fit the budget (the vector's own size). */
static void vector_oversized_by_policy(void)
{
    uint8_t v[TF_MAX_FILE], req[64], out[128];
    size_t len = 0, rlen = 0, olen = 0;

    REQUIRE(tf_vector("cgroups_lookup_resp_oversized_item.bin", v, &len));
    nipc_str_t key = S("/oversized");
    REQUIRE(nipc_cgroups_lookup_req_encode(&key, 1, req, sizeof req, &rlen) == NIPC_OK);
    nipc_cgroups_lookup_req_t cr;
    REQUIRE(nipc_cgroups_lookup_req_decode(req, rlen, &cr) == NIPC_OK);
    nipc_cgroups_lookup_builder_t cb;
    nipc_cgroups_lookup_builder_init_reply(&cb, out, len, &cr, 0);
    nipc_cgroups_lookup_builder_set_generation(&cb, 105);
    raw_cg_t big = {NIPC_CGROUP_KNOWN, NIPC_ORCH_DOCKER, "/oversized", "a-long-name", 0, {{0}}};
    CHECK_OK(cg_add(&cb, &big));
    CHECK_OK(nipc_cgroups_lookup_builder_finish(&cb, &olen));
    CHECK_EQ_U64(olen, len);
    CHECK_MEM(out, v, len);

    REQUIRE(tf_vector("apps_lookup_resp_oversized_item.bin", v, &len));
    uint32_t pid = 1239;
    REQUIRE(nipc_apps_lookup_req_encode(&pid, 1, req, sizeof req, &rlen) == NIPC_OK);
    nipc_apps_lookup_req_t ar;
    REQUIRE(nipc_apps_lookup_req_decode(req, rlen, &ar) == NIPC_OK);
    nipc_apps_lookup_builder_t ab;
    nipc_apps_lookup_builder_init_reply(&ab, out, len, &ar, 206);
    raw_app_t known = {NIPC_APP_KNOWN, 0, NIPC_APP_CGROUP_KNOWN, 1239, 1, 0, 5, "x", "/a", "a", 0,
                       {{0}}};
    CHECK_OK(app_add(&ab, &known));
    CHECK_OK(nipc_apps_lookup_builder_finish(&ab, &olen));
    CHECK_EQ_U64(olen, len);
    CHECK_MEM(out, v, len);
}

/* ------------------------------------------------------- golden messages */

static void golden_cgroups_request(void)
{
    uint8_t g[TF_MAX_FILE], out[128];
    size_t glen = 0, olen = 0;
    REQUIRE(tf_golden("cgroups_lookup_req_3keys.hex", g, &glen));
    REQUIRE(glen == 72);
    static const char *const keys[3] = {"/a", "/system.slice", "/x/y/z1"};
    nipc_cgroups_lookup_req_t req;
    REQUIRE(nipc_cgroups_lookup_req_decode(g, glen, &req) == NIPC_OK);
    CHECK_EQ_U64(req.item_count, 3);
    nipc_str_t in[3];
    for (uint32_t i = 0; i < 3; i++) {
        nipc_str_t k;
        REQUIRE(nipc_cgroups_lookup_req_key(&req, i, &k) == NIPC_OK);
        CHECK(str_is(k, keys[i]));
        in[i] = S(keys[i]);
    }
    CHECK_OK(nipc_cgroups_lookup_req_encode(in, 3, out, sizeof out, &olen));
    CHECK_EQ_U64(olen, glen);
    CHECK_MEM(out, g, glen);
    /* One byte short of the exact size: BUFFER_TOO_SMALL and the size. */
    CHECK_ERR(nipc_cgroups_lookup_req_encode(in, 3, out, glen - 1, &olen),
              NIPC_ERR_BUFFER_TOO_SMALL);
    CHECK_EQ_U64(olen, glen);
}

static const raw_cg_t golden_mixed[3] = {
    {NIPC_CGROUP_KNOWN, NIPC_ORCH_PODMAN, "/p/c1", "c1", 1, {{"img", ""}}},
    {NIPC_CGROUP_UNKNOWN_RETRY_LATER, 0, "/q", "", 0, {{0}}},
    {NIPC_CGROUP_PAYLOAD_EXCEEDED, 0, "/r/s", "", 0, {{0}}},
};

static void golden_cgroups_response(void)
{
    uint8_t g[TF_MAX_FILE], out[256];
    size_t glen = 0, olen = 0;
    REQUIRE(tf_golden("cgroups_lookup_resp_mixed.hex", g, &glen));
    REQUIRE(glen == 170);
    nipc_cgroups_lookup_view_t v;
    REQUIRE(nipc_cgroups_lookup_resp_decode(g, glen, &v) == NIPC_OK);
    CHECK_EQ_U64(v.item_count, 3);
    CHECK_EQ_U64(v.generation, 0x0102030405060708ull);
    for (uint32_t i = 0; i < 3; i++)
        check_cg(&v, i, &golden_mixed[i]);
    nipc_cgroups_lookup_item_t it;
    REQUIRE(nipc_cgroups_lookup_resp_item(&v, 0, &it) == NIPC_OK);
    CHECK_EQ_U64(it.labels.table, 40); /* align8(fixed_end 37) */

    CHECK_OK(cg_build(out, sizeof out, v.generation, golden_mixed, 3, &olen));
    CHECK_EQ_U64(olen, glen);
    CHECK_MEM(out, g, glen);
}

static const raw_app_t golden_two[2] = {
    {NIPC_APP_KNOWN,
     NIPC_ORCH_K8S,
     NIPC_APP_CGROUP_KNOWN,
     42,
     1,
     1000,
     77,
     "abcdefghijklmno",
     "/k",
     "k",
     2,
     {{"a", "1"}, {"bb", ""}}},
    {NIPC_APP_UNKNOWN, 0, 0, 43, 0, NIPC_UID_UNSET, 0, "", "", "", 0, {{0}}},
};

static void golden_apps_response(void)
{
    uint8_t g[TF_MAX_FILE], out[256];
    size_t glen = 0, olen = 0;
    REQUIRE(tf_golden("apps_lookup_resp_two.hex", g, &glen));
    REQUIRE(glen == 223);
    nipc_apps_lookup_view_t v;
    REQUIRE(nipc_apps_lookup_resp_decode(g, glen, &v) == NIPC_OK);
    CHECK_EQ_U64(v.item_count, 2);
    CHECK_EQ_U64(v.generation, 9);
    for (uint32_t i = 0; i < 2; i++)
        check_app(&v, i, &golden_two[i]);
    CHECK_OK(app_build(out, sizeof out, 9, golden_two, 2, &olen));
    CHECK_EQ_U64(olen, glen);
    CHECK_MEM(out, g, glen);
}

/* ------------------------------------------------------------ round trips */

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint32_t rnd(uint32_t n)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return n ? (uint32_t)(rng_state % n) : 0;
}

/* A random NUL-free string of 0..max bytes in pool (kept alive by the caller). */
static const char *rnd_string(char *pool, uint32_t min, uint32_t max)
{
    uint32_t n = min + rnd(max - min + 1);
    for (uint32_t i = 0; i < n; i++)
        pool[i] = (char)(1 + rnd(255));
    pool[n] = 0;
    return pool;
}

static void rnd_labels(char (*pool)[64], uint16_t *n, raw_label_t *l)
{
    *n = (uint16_t)rnd(4);
    for (uint16_t j = 0; j < *n; j++) {
        l[j].k = rnd_string(pool[2 * j], 1, 20);
        l[j].v = rnd_string(pool[2 * j + 1], 0, 20);
    }
}

static void roundtrip_cgroups_random(void)
{
    static uint8_t out[16384], again[16384];
    static char pool[16][8][64];
    for (int round = 0; round < 300; round++) {
        raw_cg_t items[16];
        uint32_t n = rnd(17) > 15 ? 0 : 1 + rnd(15);
        for (uint32_t i = 0; i < n; i++) {
            raw_cg_t *r = &items[i];
            memset(r, 0, sizeof *r);
            r->status = (uint16_t)rnd(5);
            r->path = rnd_string(pool[i][0], 1, 60);
            r->name = "";
            if (r->status == NIPC_CGROUP_KNOWN) {
                r->orch = (uint16_t)rnd(12); /* unknown values are kept */
                r->name = rnd_string(pool[i][1], 0, 40);
                rnd_labels(&pool[i][2], &r->nlabels, r->labels);
            }
        }
        uint64_t gen = ((uint64_t)rnd(UINT32_MAX) << 32) | rnd(UINT32_MAX);
        size_t len = 0, len2 = 0;
        REQUIRE(cg_build(out, sizeof out, gen, items, n, &len) == NIPC_OK);
        CHECK_EQ_U64(raw_resp(again, gen, n, items, NULL), len);
        CHECK_MEM(again, out, len);
        nipc_cgroups_lookup_view_t v;
        REQUIRE(nipc_cgroups_lookup_resp_decode(out, len, &v) == NIPC_OK);
        CHECK_EQ_U64(v.item_count, n);
        CHECK_EQ_U64(v.generation, gen);
        nipc_cgroups_lookup_builder_t b;
        nipc_cgroups_lookup_builder_init(&b, again, sizeof again, n, gen);
        for (uint32_t i = 0; i < n; i++) {
            check_cg(&v, i, &items[i]);
            nipc_cgroups_lookup_item_t it;
            REQUIRE(nipc_cgroups_lookup_resp_item(&v, i, &it) == NIPC_OK);
            CHECK_OK(nipc_cgroups_lookup_builder_add(&b, &it, NULL));
        }
        CHECK_OK(nipc_cgroups_lookup_builder_finish(&b, &len2));
        CHECK_EQ_U64(len2, len);
        CHECK_MEM(again, out, len);
    }
}

static void rnd_app(raw_app_t *r, char (*pool)[64])
{
    memset(r, 0, sizeof *r);
    r->status = (uint16_t)rnd(4);
    r->pid = rnd(UINT32_MAX);
    r->uid = NIPC_UID_UNSET;
    r->comm = r->path = r->name = "";
    if (r->status != NIPC_APP_KNOWN)
        return;
    r->cgs = (uint16_t)rnd(4);
    r->ppid = rnd(100000);
    r->uid = rnd(2) ? rnd(70000) : NIPC_UID_UNSET;
    r->start = ((uint64_t)rnd(UINT32_MAX) << 20) | rnd(1u << 20);
    r->comm = rnd_string(pool[0], 1, 15);
    if (r->cgs == NIPC_APP_CGROUP_KNOWN) {
        r->orch = (uint16_t)rnd(9);
        r->path = rnd_string(pool[1], 1, 50);
        r->name = rnd_string(pool[2], 0, 30);
        rnd_labels(&pool[3], &r->nlabels, r->labels);
    } else if (r->cgs == NIPC_APP_CGROUP_UNKNOWN_RETRY_LATER) {
        r->path = rnd_string(pool[1], 0, 50);
    } else if (r->cgs == NIPC_APP_CGROUP_UNKNOWN_PERMANENT) {
        r->path = rnd_string(pool[1], 1, 50);
    }
}

static void roundtrip_apps_random(void)
{
    static uint8_t out[16384], again[16384];
    static char pool[16][10][64];
    for (int round = 0; round < 300; round++) {
        raw_app_t items[16];
        uint32_t n = rnd(16);
        for (uint32_t i = 0; i < n; i++)
            rnd_app(&items[i], pool[i]);
        uint64_t gen = rnd(1000);
        size_t len = 0, len2 = 0;
        REQUIRE(app_build(out, sizeof out, gen, items, n, &len) == NIPC_OK);
        CHECK_EQ_U64(raw_resp(again, gen, n, NULL, items), len);
        CHECK_MEM(again, out, len);
        nipc_apps_lookup_view_t v;
        REQUIRE(nipc_apps_lookup_resp_decode(out, len, &v) == NIPC_OK);
        CHECK_EQ_U64(v.item_count, n);
        nipc_apps_lookup_builder_t b;
        nipc_apps_lookup_builder_init(&b, again, sizeof again, n, gen);
        for (uint32_t i = 0; i < n; i++) {
            check_app(&v, i, &items[i]);
            nipc_apps_lookup_item_t it;
            REQUIRE(nipc_apps_lookup_resp_item(&v, i, &it) == NIPC_OK);
            CHECK_OK(nipc_apps_lookup_builder_add(&b, &it, NULL));
        }
        CHECK_OK(nipc_apps_lookup_builder_finish(&b, &len2));
        CHECK_EQ_U64(len2, len);
        CHECK_MEM(again, out, len);
    }
}

static void roundtrip_requests_random(void)
{
    static uint8_t out[65536];
    static char pool[64][300];
    for (int round = 0; round < 200; round++) {
        uint32_t n = rnd(64), pids[64];
        nipc_str_t keys[64];
        for (uint32_t i = 0; i < n; i++) {
            keys[i] = S(rnd_string(pool[i], 1, 299));
            pids[i] = rnd(UINT32_MAX);
        }
        size_t len = 0;
        REQUIRE(nipc_cgroups_lookup_req_encode(keys, n, out, sizeof out, &len) == NIPC_OK);
        nipc_cgroups_lookup_req_t cr;
        REQUIRE(nipc_cgroups_lookup_req_decode(out, len, &cr) == NIPC_OK);
        CHECK_EQ_U64(cr.item_count, n);
        for (uint32_t i = 0; i < n; i++) {
            nipc_str_t k;
            CHECK_OK(nipc_cgroups_lookup_req_key(&cr, i, &k));
            CHECK(str_is(k, keys[i].ptr));
        }
        /* The Level 2 splitter's prefix rule agrees with the exact encoded size. */
        uint64_t cap = 16 + rnd((uint32_t)len + 16);
        uint64_t fit_size = 0;
        uint32_t fit = nipc__cgroups_lookup_req_prefix(keys, n, cap, &fit_size);
        size_t need = 0;
        nipc_cgroups_lookup_req_encode(keys, fit, NULL, 0, &need);
        CHECK(need <= cap);
        CHECK_EQ_U64(need, fit_size);
        if (fit < n) {
            nipc_cgroups_lookup_req_encode(keys, fit + 1, NULL, 0, &need);
            CHECK(need > cap);
        }

        REQUIRE(nipc_apps_lookup_req_encode(pids, n, out, sizeof out, &len) == NIPC_OK);
        CHECK_EQ_U64(len, 16 + 16u * n);
        nipc_apps_lookup_req_t ar;
        REQUIRE(nipc_apps_lookup_req_decode(out, len, &ar) == NIPC_OK);
        for (uint32_t i = 0; i < ar.item_count; i++) {
            uint32_t pid = 0;
            CHECK_OK(nipc_apps_lookup_req_pid(&ar, i, &pid));
            CHECK_EQ_U64(pid, pids[i]);
        }
    }
}

/* ------------------------------------------------------------ rejections */

typedef struct mutation {
    const char *rule;
    size_t at;
    int width;
    uint64_t value;
    nipc_error_t expect;
} mutation_t;

enum { CG_REQ, APP_REQ, CG_RESP, APP_RESP };

static nipc_error_t decode_as(int kind, const uint8_t *p, size_t len)
{
    nipc_cgroups_lookup_req_t cq;
    nipc_apps_lookup_req_t aq;
    nipc_cgroups_lookup_view_t cv;
    nipc_apps_lookup_view_t av;
    switch (kind) {
    case CG_REQ:
        return nipc_cgroups_lookup_req_decode(p, len, &cq);
    case APP_REQ:
        return nipc_apps_lookup_req_decode(p, len, &aq);
    case CG_RESP:
        return nipc_cgroups_lookup_resp_decode(p, len, &cv);
    default:
        return nipc_apps_lookup_resp_decode(p, len, &av);
    }
}

/* Applies each mutation to a fresh copy of `base` and checks the verdict. */
static void run_mutations(int kind, const uint8_t *base, size_t len, const mutation_t *m, size_t n)
{
    CHECK_OK(decode_as(kind, base, len)); /* the unmodified base is valid */
    for (size_t i = 0; i < n; i++) {
        uint8_t copy[TF_MAX_FILE];
        memcpy(copy, base, len);
        put(copy + m[i].at, m[i].width, m[i].value);
        nipc_error_t got = decode_as(kind, copy, len);
        t_checks++;
        if (got != m[i].expect) {
            t_failures++;
            fprintf(stderr, "rule '%s': got %s, expected %s\n", m[i].rule, nipc_error_name(got),
                    nipc_error_name(m[i].expect));
        }
    }
}

#define RUN(kind, base, len, table)                                                                \
    run_mutations(kind, base, len, table, sizeof table / sizeof table[0])

static void reject_request_rules(void)
{
    uint8_t v[TF_MAX_FILE];
    size_t len = 0;
    /* cgroups_lookup_req.bin: directory {0,17} {24,31} at 16, packed at 32. */
    /* clang-format off */
    static const mutation_t cg[] = {
        {"layout_version != 1", 0, 2, 2, NIPC_ERR_BAD_LAYOUT},
        {"flags != 0", 2, 2, 1, NIPC_ERR_BAD_FLAGS},
        {"reserved0 != 0", 8, 4, 1, NIPC_ERR_BAD_RESERVED},
        {"reserved1 != 0", 12, 4, 0x80000000u, NIPC_ERR_BAD_RESERVED},
        {"directory past the payload", 4, 4, 10, NIPC_ERR_TRUNCATED},
        {"offset not 8-aligned", 16, 4, 4, NIPC_ERR_BAD_ALIGNMENT},
        {"entry length 1 (< 2)", 20, 4, 1, NIPC_ERR_BAD_FIELD},
        {"entry length 0", 20, 4, 0, NIPC_ERR_BAD_FIELD},
        {"entry past the packed area", 28, 4, 32, NIPC_ERR_OUT_OF_BOUNDS},
        {"entry overlaps the previous", 24, 4, 16, NIPC_ERR_OVERLAP},
        {"entries out of order", 24, 4, 0, NIPC_ERR_OVERLAP},
        {"key without its NUL", 48, 1, 'x', NIPC_ERR_MISSING_NUL},
        {"NUL inside a key", 36, 1, 0, NIPC_ERR_EMBEDDED_NUL},
    };
    /* clang-format on */
    REQUIRE(tf_vector("cgroups_lookup_req.bin", v, &len));
    RUN(CG_REQ, v, len, cg);
    CHECK_ERR(decode_as(CG_REQ, v, 15), NIPC_ERR_TRUNCATED);
    CHECK_ERR(decode_as(CG_REQ, NULL, 0), NIPC_ERR_TRUNCATED);

    /* apps_lookup_req.bin: directory {0,8} {8,8} {16,8}, packed at 40. */
    /* clang-format off */
    static const mutation_t app[] = {
        {"layout_version != 1", 0, 2, 0, NIPC_ERR_BAD_LAYOUT},
        {"flags != 0", 2, 2, 0x100, NIPC_ERR_BAD_FLAGS},
        {"reserved0 != 0", 8, 4, 7, NIPC_ERR_BAD_RESERVED},
        {"reserved1 != 0", 12, 4, 7, NIPC_ERR_BAD_RESERVED},
        {"directory past the payload", 4, 4, 7, NIPC_ERR_TRUNCATED},
        {"offset not 8-aligned", 24, 4, 9, NIPC_ERR_BAD_ALIGNMENT},
        {"entry length 7", 20, 4, 7, NIPC_ERR_BAD_FIELD},
        {"entry length 9", 28, 4, 9, NIPC_ERR_BAD_FIELD},
        {"entry length 16", 36, 4, 16, NIPC_ERR_BAD_FIELD},
        {"entry past the packed area", 32, 4, 24, NIPC_ERR_OUT_OF_BOUNDS},
        {"entries out of order", 24, 4, 0, NIPC_ERR_OVERLAP},
        {"key reserved != 0", 52, 4, 1, NIPC_ERR_BAD_RESERVED},
    };
    /* clang-format on */
    REQUIRE(tf_vector("apps_lookup_req.bin", v, &len));
    RUN(APP_REQ, v, len, app);

    /* Not checked: trailing bytes, padding between keys, key placement. */
    uint8_t copy[TF_MAX_FILE];
    REQUIRE(tf_vector("cgroups_lookup_req.bin", v, &len));
    memcpy(copy, v, len);
    copy[len] = 0x55;
    CHECK_OK(decode_as(CG_REQ, copy, len + 1));
    copy[50] = 0x55; /* padding after key 0 */
    CHECK_OK(decode_as(CG_REQ, copy, len));
    REQUIRE(tf_vector("apps_lookup_req.bin", v, &len));
    memcpy(copy, v, len);
    put32(copy + 32, 24); /* key 2 one slot further, past the old end */
    memset(copy + len, 0, 8);
    CHECK_OK(decode_as(APP_REQ, copy, len + 8));
}

/* A packed area of 4 GiB or more is refused before anything is read past the
 * header (no directory entries), so a short buffer can claim that length. */
static void reject_packed_area_4gib(void)
{
    if (sizeof(size_t) < 8)
        return;
    uint8_t h[16] = {1, 0, 0, 0};
    size_t huge = (size_t)UINT32_MAX + 17u;
    CHECK_ERR(decode_as(CG_REQ, h, huge), NIPC_ERR_SIZE_OVERFLOW);
    CHECK_ERR(decode_as(APP_REQ, h, huge), NIPC_ERR_SIZE_OVERFLOW);
    CHECK_ERR(decode_as(CG_RESP, h, huge), NIPC_ERR_SIZE_OVERFLOW);
    CHECK_ERR(decode_as(APP_RESP, h, huge), NIPC_ERR_SIZE_OVERFLOW);
    CHECK_OK(decode_as(CG_RESP, h, (size_t)UINT32_MAX + 16u)); /* exactly 2^32 - 1 */
}

static void reject_response_directory_rules(void)
{
    uint8_t g[TF_MAX_FILE];
    size_t len = 0;
    /* golden mixed: directory {0,61} {64,32} {96,34} at 16, packed at 40. */
    /* clang-format off */
    static const mutation_t cg[] = {
        {"layout_version != 1", 0, 2, 3, NIPC_ERR_BAD_LAYOUT},
        {"flags != 0", 2, 2, 1, NIPC_ERR_BAD_FLAGS},
        {"directory past the payload", 4, 4, 30, NIPC_ERR_TRUNCATED},
        {"offset not 8-aligned", 24, 4, 68, NIPC_ERR_BAD_ALIGNMENT},
        {"entry shorter than 28", 28, 4, 27, NIPC_ERR_BAD_FIELD},
        {"entry past the packed area", 36, 4, 35, NIPC_ERR_OUT_OF_BOUNDS},
        {"entry overlaps the previous", 24, 4, 56, NIPC_ERR_OVERLAP},
        {"entries out of order", 32, 4, 0, NIPC_ERR_OVERLAP},
    };
    /* clang-format on */
    REQUIRE(tf_golden("cgroups_lookup_resp_mixed.hex", g, &len));
    RUN(CG_RESP, g, len, cg);
    CHECK_ERR(decode_as(CG_RESP, g, 15), NIPC_ERR_TRUNCATED);

    /* golden two: directory {0,128} {128,63}, packed at 32. */
    /* clang-format off */
    static const mutation_t app[] = {
        {"entry shorter than 60", 28, 4, 59, NIPC_ERR_BAD_FIELD},
        {"offset not 8-aligned", 24, 4, 129, NIPC_ERR_BAD_ALIGNMENT},
        {"entry overlaps the previous", 24, 4, 120, NIPC_ERR_OVERLAP},
        {"entry past the packed area", 28, 4, 64, NIPC_ERR_OUT_OF_BOUNDS},
    };
    /* clang-format on */
    REQUIRE(tf_golden("apps_lookup_resp_two.hex", g, &len));
    RUN(APP_RESP, g, len, app);

    /* Any generation is valid; trailing bytes after the last item are not checked. */
    uint8_t copy[TF_MAX_FILE];
    memcpy(copy, g, len);
    put64(copy + 8, 0);
    CHECK_OK(decode_as(APP_RESP, copy, len));
    put64(copy + 8, UINT64_MAX);
    copy[len] = 0xAA;
    CHECK_OK(decode_as(APP_RESP, copy, len + 1));
}

static void reject_cgroups_item_rules(void)
{
    uint8_t v[TF_MAX_FILE];
    size_t len = 0;
    /* known_with_labels: item at 24, length 114; path 28:21, name 50:5,
     * table at +56: {88,9,98,7} {106,3,110,3}. */
#define I(x) (24 + (x))
    /* clang-format off */
    static const mutation_t m[] = {
        {"item layout_version != 1", I(0), 2, 0, NIPC_ERR_BAD_LAYOUT},
        {"unknown status 5", I(2), 2, 5, NIPC_ERR_BAD_STATUS},
        {"reserved0 != 0", I(6), 2, 1, NIPC_ERR_BAD_RESERVED},
        {"reserved1 != 0", I(26), 2, 1, NIPC_ERR_BAD_RESERVED},
        {"path offset below the fixed part", I(8), 4, 27, NIPC_ERR_OUT_OF_BOUNDS},
        {"name offset below the fixed part", I(16), 4, 0, NIPC_ERR_OUT_OF_BOUNDS},
        {"path past the item", I(12), 4, 200, NIPC_ERR_OUT_OF_BOUNDS},
        {"path without its NUL", I(12), 4, 20, NIPC_ERR_MISSING_NUL},
        {"NUL inside the path", I(30), 1, 0, NIPC_ERR_EMBEDDED_NUL},
        {"NUL inside the name", I(51), 1, 0, NIPC_ERR_EMBEDDED_NUL},
        {"name overlapping the path", I(16), 4, 44, NIPC_ERR_OVERLAP},
        {"not KNOWN with an orchestrator", I(2), 2, NIPC_CGROUP_UNKNOWN_PERMANENT,
         NIPC_ERR_BAD_FIELD},
        {"no labels but bytes after the strings", I(24), 2, 0, NIPC_ERR_BAD_FIELD},
        {"label table past the item", I(24), 2, 10, NIPC_ERR_OUT_OF_BOUNDS},
        {"empty label key", I(60), 4, 0, NIPC_ERR_BAD_FIELD},
        {"label key not right after the table", I(56), 4, 96, NIPC_ERR_BAD_FIELD},
        {"label value not right after its key", I(64), 4, 99, NIPC_ERR_BAD_FIELD},
        {"next key not right after the value", I(72), 4, 105, NIPC_ERR_BAD_FIELD},
        {"label key without its NUL", I(60), 4, 8, NIPC_ERR_MISSING_NUL},
        {"NUL inside a label key", I(90), 1, 0, NIPC_ERR_EMBEDDED_NUL},
        {"NUL inside a label value", I(99), 1, 0, NIPC_ERR_EMBEDDED_NUL},
        {"label value past the item", I(84), 4, 4, NIPC_ERR_OUT_OF_BOUNDS},
    };
    /* clang-format on */
#undef I
    REQUIRE(tf_vector("cgroups_lookup_resp_known_with_labels.bin", v, &len));
    RUN(CG_RESP, v, len, m);

    /* Two-field rules on the same item. */
    uint8_t c[TF_MAX_FILE];
    memcpy(c, v, len);
    put16(c + 24 + 2, NIPC_CGROUP_UNKNOWN_RETRY_LATER);
    put16(c + 24 + 4, 0); /* orchestrator cleared: the name still breaks the rule */
    CHECK_ERR(decode_as(CG_RESP, c, len), NIPC_ERR_BAD_FIELD);
    put32(c + 24 + 16, 55); /* empty name at the name's NUL: the labels still do */
    put32(c + 24 + 20, 0);
    CHECK_ERR(decode_as(CG_RESP, c, len), NIPC_ERR_BAD_FIELD);
    put16(c + 24 + 2, NIPC_CGROUP_KNOWN);
    CHECK_OK(decode_as(CG_RESP, c, len)); /* the same layout is fine when KNOWN */
    memcpy(c, v, len);
    put32(c + 24 + 8, 49); /* empty path at the path's NUL */
    put32(c + 24 + 12, 0);
    CHECK_ERR(decode_as(CG_RESP, c, len), NIPC_ERR_BAD_FIELD);

    /* Padding before the label table (golden mixed, item 0 at 40, fixed_end +37). */
    REQUIRE(tf_golden("cgroups_lookup_resp_mixed.hex", v, &len));
    memcpy(c, v, len);
    c[40 + 38] = 1;
    CHECK_ERR(decode_as(CG_RESP, c, len), NIPC_ERR_BAD_RESERVED);
    memcpy(c, v, len);
    put32(c + 20, 62); /* item 0 one byte longer: a byte after its last value */
    CHECK_ERR(decode_as(CG_RESP, c, len), NIPC_ERR_BAD_FIELD);
}

static void reject_apps_item_rules(void)
{
    uint8_t v[TF_MAX_FILE];
    size_t len = 0;
    /* known_full: item at 24, length 167; comm 60:15, path 76:11, name 88:11,
     * padding +100..103, table at +104: {136,5,142,12} {155,7,163,3}. */
#define I(x) (24 + (x))
    /* clang-format off */
    static const mutation_t m[] = {
        {"item layout_version != 1", I(0), 2, 2, NIPC_ERR_BAD_LAYOUT},
        {"unknown status 4", I(2), 2, 4, NIPC_ERR_BAD_STATUS},
        {"unknown cgroup_status 4", I(6), 2, 4, NIPC_ERR_BAD_STATUS},
        {"reserved0 != 0", I(20), 4, 1, NIPC_ERR_BAD_RESERVED},
        {"reserved1 != 0", I(58), 2, 1, NIPC_ERR_BAD_RESERVED},
        {"comm offset below the fixed part", I(32), 4, 59, NIPC_ERR_OUT_OF_BOUNDS},
        {"cgroup path offset below the fixed part", I(40), 4, 12, NIPC_ERR_OUT_OF_BOUNDS},
        {"cgroup name past the item", I(52), 4, 100, NIPC_ERR_OUT_OF_BOUNDS},
        {"comm without its NUL", I(36), 4, 14, NIPC_ERR_MISSING_NUL},
        {"NUL inside the cgroup path", I(80), 1, 0, NIPC_ERR_EMBEDDED_NUL},
        {"comm overlapping the cgroup path", I(40), 4, 64, NIPC_ERR_OVERLAP},
        {"cgroup path overlapping the name", I(48), 4, 76, NIPC_ERR_OVERLAP},
        {"label padding not zero", I(101), 1, 1, NIPC_ERR_BAD_RESERVED},
        {"label value not right after its key", I(112), 4, 143, NIPC_ERR_BAD_FIELD},
        {"HOST_ROOT with an orchestrator, path and name", I(6), 2, NIPC_APP_CGROUP_HOST_ROOT, NIPC_ERR_BAD_FIELD},
        {"UNKNOWN with fields set", I(2), 2, NIPC_APP_UNKNOWN, NIPC_ERR_BAD_FIELD},
    };
    /* clang-format on */
#undef I
    REQUIRE(tf_vector("apps_lookup_resp_known_full.bin", v, &len));
    RUN(APP_RESP, v, len, m);
}

/* Semantic rules (codecs.md §5 and §6): each case breaks exactly one rule
 * (or none); the decoder and the builder must agree, and when valid the
 * builder must produce the reference encoder's bytes. */
typedef struct cg_case {
    const char *rule;
    raw_cg_t item;
    nipc_error_t expect;
} cg_case_t;

typedef struct app_case {
    const char *rule;
    raw_app_t item;
    nipc_error_t expect;
} app_case_t;

#define KNOWN_APP(cgs, path, name) NIPC_APP_KNOWN, 0, cgs, 7, 1, 0, 9, "comm", path, name
#define NOT_KNOWN_APP(st) st, 0, 0, 7, 0, NIPC_UID_UNSET, 0, "", "", ""

/* clang-format off */
static const cg_case_t cg_cases[] = {
    {"KNOWN, every field", {0, 3, "/a", "a", 1, {{"k", "v"}}}, NIPC_OK},
    {"KNOWN, unknown orchestrator kept", {0, 999, "/a", "", 0, {{0}}}, NIPC_OK},
    {"KNOWN, one-byte path", {0, 0, "/", "", 0, {{0}}}, NIPC_OK},
    {"OVERSIZED_ITEM, minimal", {4, 0, "/a", "", 0, {{0}}}, NIPC_OK},
    {"status 5", {5, 0, "/a", "", 0, {{0}}}, NIPC_ERR_BAD_STATUS},
    {"empty path (KNOWN)", {0, 0, "", "a", 0, {{0}}}, NIPC_ERR_BAD_FIELD},
    {"empty path (UNKNOWN_PERMANENT)", {2, 0, "", "", 0, {{0}}}, NIPC_ERR_BAD_FIELD},
    {"RETRY with an orchestrator", {1, 1, "/a", "", 0, {{0}}}, NIPC_ERR_BAD_FIELD},
    {"PERMANENT with a name", {2, 0, "/a", "n", 0, {{0}}}, NIPC_ERR_BAD_FIELD},
    {"PAYLOAD_EXCEEDED with labels", {3, 0, "/a", "", 1, {{"k", ""}}}, NIPC_ERR_BAD_FIELD},
    {"OVERSIZED_ITEM with an orchestrator", {4, 2, "/a", "", 0, {{0}}}, NIPC_ERR_BAD_FIELD},
    {"empty label key", {0, 0, "/a", "a", 2, {{"k", "v"}, {"", "v"}}}, NIPC_ERR_BAD_FIELD},
    {"empty label value", {0, 0, "/a", "a", 1, {{"k", ""}}}, NIPC_OK},
};
/* clang-format on */

/* clang-format off */
static const app_case_t app_cases[] = {
    {"KNOWN/KNOWN, every field",
     {NIPC_APP_KNOWN, 2, 0, 7, 1, 0, 9, "comm", "/p", "n", 1, {{"k", "v"}}}, NIPC_OK},
    {"comm of 15 bytes", {KNOWN_APP(0, "/p", ""), 0, {{0}}}, NIPC_OK},
    {"comm of 16 bytes", {KNOWN_APP(0, "/p", ""), 0, {{0}}}, NIPC_ERR_BAD_FIELD},
    {"KNOWN with UID_UNSET", {NIPC_APP_KNOWN, 0, 0, 7, 1, NIPC_UID_UNSET, 9, "c", "/p", "", 0,
                              {{0}}}, NIPC_OK},
    {"UNKNOWN, minimal", {NOT_KNOWN_APP(NIPC_APP_UNKNOWN), 0, {{0}}}, NIPC_OK},
    {"status 4", {NOT_KNOWN_APP(4), 0, {{0}}}, NIPC_ERR_BAD_STATUS},
    {"cgroup_status 4", {KNOWN_APP(4, "/p", ""), 0, {{0}}}, NIPC_ERR_BAD_STATUS},
    {"UNKNOWN with an orchestrator", {NIPC_APP_UNKNOWN, 1, 0, 7, 0, NIPC_UID_UNSET, 0, "", "",
                                      "", 0, {{0}}}, NIPC_ERR_BAD_FIELD},
    {"UNKNOWN with a cgroup_status", {NIPC_APP_UNKNOWN, 0, 3, 7, 0, NIPC_UID_UNSET, 0, "", "",
                                      "", 0, {{0}}}, NIPC_ERR_BAD_FIELD},
    {"UNKNOWN with a ppid", {NIPC_APP_UNKNOWN, 0, 0, 7, 1, NIPC_UID_UNSET, 0, "", "", "", 0,
                             {{0}}}, NIPC_ERR_BAD_FIELD},
    {"UNKNOWN with a uid", {NIPC_APP_UNKNOWN, 0, 0, 7, 0, 0, 0, "", "", "", 0, {{0}}},
     NIPC_ERR_BAD_FIELD},
    {"UNKNOWN with a starttime", {NIPC_APP_UNKNOWN, 0, 0, 7, 0, NIPC_UID_UNSET, 1, "", "", "",
                                  0, {{0}}}, NIPC_ERR_BAD_FIELD},
    {"UNKNOWN with a comm", {NIPC_APP_UNKNOWN, 0, 0, 7, 0, NIPC_UID_UNSET, 0, "c", "", "", 0,
                             {{0}}}, NIPC_ERR_BAD_FIELD},
    {"PAYLOAD_EXCEEDED with a path", {NIPC_APP_PAYLOAD_EXCEEDED, 0, 0, 7, 0, NIPC_UID_UNSET, 0,
                                      "", "/p", "", 0, {{0}}}, NIPC_ERR_BAD_FIELD},
    {"OVERSIZED_ITEM with a name", {NIPC_APP_OVERSIZED_ITEM, 0, 0, 7, 0, NIPC_UID_UNSET, 0, "",
                                    "", "n", 0, {{0}}}, NIPC_ERR_BAD_FIELD},
    {"UNKNOWN with a label", {NOT_KNOWN_APP(NIPC_APP_UNKNOWN), 1, {{"k", "v"}}},
     NIPC_ERR_BAD_FIELD},
    {"KNOWN with an empty comm", {NIPC_APP_KNOWN, 0, 0, 7, 1, 0, 9, "", "/p", "", 0, {{0}}},
     NIPC_ERR_BAD_FIELD},
    {"cgroup KNOWN with an empty path", {KNOWN_APP(0, "", ""), 0, {{0}}}, NIPC_ERR_BAD_FIELD},
    {"cgroup RETRY with an empty path", {KNOWN_APP(1, "", ""), 0, {{0}}}, NIPC_OK},
    {"cgroup RETRY with an orchestrator", {NIPC_APP_KNOWN, 1, 1, 7, 1, 0, 9, "c", "/p", "", 0,
                                           {{0}}}, NIPC_ERR_BAD_FIELD},
    {"cgroup RETRY with a name", {KNOWN_APP(1, "/p", "n"), 0, {{0}}}, NIPC_ERR_BAD_FIELD},
    {"cgroup RETRY with a label", {KNOWN_APP(1, "/p", ""), 1, {{"k", "v"}}}, NIPC_ERR_BAD_FIELD},
    {"cgroup PERMANENT with an empty path", {KNOWN_APP(2, "", ""), 0, {{0}}},
     NIPC_ERR_BAD_FIELD},
    {"cgroup PERMANENT with an orchestrator", {NIPC_APP_KNOWN, 6, 2, 7, 1, 0, 9, "c", "/p", "",
                                               0, {{0}}}, NIPC_ERR_BAD_FIELD},
    {"cgroup PERMANENT with a name", {KNOWN_APP(2, "/p", "n"), 0, {{0}}}, NIPC_ERR_BAD_FIELD},
    {"cgroup PERMANENT with a label", {KNOWN_APP(2, "/p", ""), 1, {{"k", ""}}},
     NIPC_ERR_BAD_FIELD},
    {"cgroup HOST_ROOT, minimal", {KNOWN_APP(3, "", ""), 0, {{0}}}, NIPC_OK},
    {"cgroup HOST_ROOT with a path", {KNOWN_APP(3, "/", ""), 0, {{0}}}, NIPC_ERR_BAD_FIELD},
    {"cgroup HOST_ROOT with a name", {KNOWN_APP(3, "", "n"), 0, {{0}}}, NIPC_ERR_BAD_FIELD},
    {"cgroup HOST_ROOT with an orchestrator", {NIPC_APP_KNOWN, 1, 3, 7, 1, 0, 9, "c", "", "", 0,
                                               {{0}}}, NIPC_ERR_BAD_FIELD},
    {"cgroup HOST_ROOT with a label", {KNOWN_APP(3, "", ""), 1, {{"k", "v"}}},
     NIPC_ERR_BAD_FIELD},
};
/* clang-format on */

static void report(const char *rule, const char *who, nipc_error_t got, nipc_error_t want)
{
    t_checks++;
    if (got != want) {
        t_failures++;
        fprintf(stderr, "rule '%s' (%s): got %s, expected %s\n", rule, who, nipc_error_name(got),
                nipc_error_name(want));
    }
}

static void semantic_rules_cgroups(void)
{
    for (size_t i = 0; i < sizeof cg_cases / sizeof cg_cases[0]; i++) {
        const cg_case_t *c = &cg_cases[i];
        uint8_t raw[512], out[512];
        size_t len = raw_resp(raw, 1, 1, &c->item, NULL), olen = 0;
        report(c->rule, "decoder", decode_as(CG_RESP, raw, len), c->expect);
        nipc_error_t got = cg_build(out, sizeof out, 1, &c->item, 1, &olen);
        report(c->rule, "builder", got, c->expect);
        if (c->expect == NIPC_OK && got == NIPC_OK) {
            CHECK_EQ_U64(olen, len);
            CHECK_MEM(out, raw, len);
        }
    }
}

static void semantic_rules_apps(void)
{
    for (size_t i = 0; i < sizeof app_cases / sizeof app_cases[0]; i++) {
        app_case_t c = app_cases[i];
        if (strstr(c.rule, "15 bytes"))
            c.item.comm = "abcdefghijklmno";
        if (strstr(c.rule, "16 bytes"))
            c.item.comm = "abcdefghijklmnop";
        uint8_t raw[512], out[512];
        size_t len = raw_resp(raw, 1, 1, NULL, &c.item), olen = 0;
        report(c.rule, "decoder", decode_as(APP_RESP, raw, len), c.expect);
        nipc_error_t got = app_build(out, sizeof out, 1, &c.item, 1, &olen);
        report(c.rule, "builder", got, c.expect);
        if (c.expect == NIPC_OK && got == NIPC_OK) {
            CHECK_EQ_U64(olen, len);
            CHECK_MEM(out, raw, len);
        }
    }
}

/* ------------------------------------------------------------- builders */

static void builder_argument_errors_are_sticky(void)
{
    uint8_t out[512];
    size_t len = 0;
    nipc_cgroups_lookup_builder_t b;
    static const raw_cg_t ok = {0, 0, "/a", "a", 0, {{0}}};
    static const char nul_name[] = {'a', 0, 'b'};

    nipc_cgroups_lookup_builder_init(&b, out, sizeof out, 3, 1);
    CHECK_OK(cg_add(&b, &ok));
    nipc_cgroups_lookup_item_t it = {.path = S("/b"), .name = {nul_name, 3}};
    CHECK_ERR(nipc_cgroups_lookup_builder_add(&b, &it, NULL), NIPC_ERR_EMBEDDED_NUL);
    CHECK_ERR(cg_add(&b, &ok), NIPC_ERR_EMBEDDED_NUL); /* sticky */
    CHECK_ERR(nipc_cgroups_lookup_builder_finish(&b, &len), NIPC_ERR_EMBEDDED_NUL);

    static const char nul_path[] = {'/', 0};
    nipc_cgroups_lookup_builder_init(&b, out, sizeof out, 1, 1);
    it = (nipc_cgroups_lookup_item_t){.path = {nul_path, 2}};
    CHECK_ERR(nipc_cgroups_lookup_builder_add(&b, &it, NULL), NIPC_ERR_EMBEDDED_NUL);

    nipc_label_t bad = {S("k"), {nul_name, 3}};
    nipc_cgroups_lookup_builder_init(&b, out, sizeof out, 1, 1);
    it = (nipc_cgroups_lookup_item_t){.path = S("/a"), .labels = {.count = 1}};
    CHECK_ERR(nipc_cgroups_lookup_builder_add(&b, &it, &bad), NIPC_ERR_EMBEDDED_NUL);

    /* labels.count > 0 with neither an array nor a decoded table */
    nipc_cgroups_lookup_builder_init(&b, out, sizeof out, 1, 1);
    CHECK_ERR(nipc_cgroups_lookup_builder_add(&b, &it, NULL), NIPC_ERR_INVALID_ARGUMENT);
    CHECK_ERR(nipc_cgroups_lookup_builder_finish(&b, &len), NIPC_ERR_INVALID_ARGUMENT);

    nipc_apps_lookup_builder_t ab;
    nipc_apps_lookup_builder_init(&ab, out, sizeof out, 2, 1);
    raw_app_t bad_app = {NOT_KNOWN_APP(NIPC_APP_UNKNOWN), 0, {{0}}};
    bad_app.ppid = 5;
    CHECK_ERR(app_add(&ab, &bad_app), NIPC_ERR_BAD_FIELD);
    bad_app.ppid = 0;
    CHECK_ERR(app_add(&ab, &bad_app), NIPC_ERR_BAD_FIELD); /* sticky */
    CHECK_ERR(nipc_apps_lookup_builder_finish(&ab, &len), NIPC_ERR_BAD_FIELD);
}

static void builder_item_count(void)
{
    uint8_t out[512];
    size_t len = 0;
    static const raw_cg_t item = {2, 0, "/a", "", 0, {{0}}};
    nipc_cgroups_lookup_builder_t b;
    nipc_cgroups_lookup_builder_init(&b, out, sizeof out, 2, 1);
    CHECK_OK(cg_add(&b, &item));
    CHECK_ERR(nipc_cgroups_lookup_builder_finish(&b, &len), NIPC_ERR_BAD_ITEM_COUNT);

    nipc_cgroups_lookup_builder_init(&b, out, sizeof out, 1, 1);
    CHECK_OK(cg_add(&b, &item));
    CHECK_ERR(cg_add(&b, &item), NIPC_ERR_BAD_ITEM_COUNT);
    CHECK_ERR(nipc_cgroups_lookup_builder_finish(&b, &len), NIPC_ERR_BAD_ITEM_COUNT);

    static const raw_app_t app = {NOT_KNOWN_APP(NIPC_APP_UNKNOWN), 0, {{0}}};
    nipc_apps_lookup_builder_t ab;
    nipc_apps_lookup_builder_init(&ab, out, sizeof out, 0, 1);
    CHECK_ERR(app_add(&ab, &app), NIPC_ERR_BAD_ITEM_COUNT);
}

static void builder_too_small_reports_size(void)
{
    uint8_t g[TF_MAX_FILE], out[256];
    size_t glen = 0, len = 0;
    REQUIRE(tf_golden("cgroups_lookup_resp_mixed.hex", g, &glen));
    /* Sizing only, then every capacity below the size, then the exact size. */
    CHECK_ERR(cg_build(NULL, 0, 1, golden_mixed, 3, &len), NIPC_ERR_BUFFER_TOO_SMALL);
    CHECK_EQ_U64(len, glen);
    for (size_t cap = 0; cap < glen; cap += 7) {
        len = 0;
        CHECK_ERR(cg_build(out, cap, 1, golden_mixed, 3, &len), NIPC_ERR_BUFFER_TOO_SMALL);
        CHECK_EQ_U64(len, glen);
    }
    CHECK_OK(cg_build(out, glen, 0x0102030405060708ull, golden_mixed, 3, &len));
    CHECK_MEM(out, g, glen);

    REQUIRE(tf_golden("apps_lookup_resp_two.hex", g, &glen));
    CHECK_ERR(app_build(out, glen - 1, 9, golden_two, 2, &len), NIPC_ERR_BUFFER_TOO_SMALL);
    CHECK_EQ_U64(len, glen);

    size_t need = 0;
    CHECK_ERR(nipc_apps_lookup_req_encode((const uint32_t[]){1, 2}, 2, NULL, 0, &need),
              NIPC_ERR_BUFFER_TOO_SMALL);
    CHECK_EQ_U64(need, 48);
}

static void request_encoder_rules(void)
{
    uint8_t out[128];
    size_t len = 0;
    static const char nul[] = {'/', 0, 'a'};
    nipc_str_t keys[2] = {S("/ok"), S("")};
    CHECK_ERR(nipc_cgroups_lookup_req_encode(keys, 2, out, sizeof out, &len), NIPC_ERR_BAD_FIELD);
    keys[1] = (nipc_str_t){nul, 3};
    CHECK_ERR(nipc_cgroups_lookup_req_encode(keys, 2, out, sizeof out, &len),
              NIPC_ERR_EMBEDDED_NUL);
    CHECK_ERR(nipc_cgroups_lookup_req_encode(NULL, 1, out, sizeof out, &len),
              NIPC_ERR_INVALID_ARGUMENT);
    CHECK_ERR(nipc_apps_lookup_req_encode(NULL, 1, out, sizeof out, &len),
              NIPC_ERR_INVALID_ARGUMENT);

    /* The shortest key: one byte, directory length 2. */
    keys[0] = S("/");
    REQUIRE(nipc_cgroups_lookup_req_encode(keys, 1, out, sizeof out, &len) == NIPC_OK);
    CHECK_EQ_U64(len, 16 + 8 + 2);
    CHECK_EQ_U64(get32(out + 20), 2);
    nipc_cgroups_lookup_req_t req;
    CHECK_OK(nipc_cgroups_lookup_req_decode(out, len, &req));
}

/* Builds a request view for the reply tests (storage in `buf`). */
static void cg_request(const char *const *paths, uint32_t n, uint8_t *buf, size_t cap,
                       nipc_cgroups_lookup_req_t *req)
{
    nipc_str_t keys[64];
    size_t len = 0;
    for (uint32_t i = 0; i < n; i++)
        keys[i] = S(paths[i]);
    CHECK_OK(nipc_cgroups_lookup_req_encode(keys, n, buf, cap, &len));
    CHECK_OK(nipc_cgroups_lookup_req_decode(buf, len, req));
}

static void app_request(const uint32_t *pids, uint32_t n, uint8_t *buf, size_t cap,
                        nipc_apps_lookup_req_t *req)
{
    size_t len = 0;
    CHECK_OK(nipc_apps_lookup_req_encode(pids, n, buf, cap, &len));
    CHECK_OK(nipc_apps_lookup_req_decode(buf, len, req));
}

static uint16_t cg_status_at(const uint8_t *resp, size_t len, uint32_t i)
{
    nipc_cgroups_lookup_view_t v;
    nipc_cgroups_lookup_item_t it;
    if (nipc_cgroups_lookup_resp_decode(resp, len, &v) != NIPC_OK ||
        nipc_cgroups_lookup_resp_item(&v, i, &it) != NIPC_OK)
        return 0xFFFF;
    return it.status;
}

static const char *const mixed_keys[3] = {"/p/c1", "/q", "/r/s"};
/* What the handler answers for the golden keys; item 2 is a 38-byte KNOWN. */
static const raw_cg_t mixed_answers[3] = {
    {NIPC_CGROUP_KNOWN, NIPC_ORCH_PODMAN, "/p/c1", "c1", 1, {{"img", ""}}},
    {NIPC_CGROUP_UNKNOWN_RETRY_LATER, 0, "/q", "", 0, {{0}}},
    {NIPC_CGROUP_KNOWN, NIPC_ORCH_DOCKER, "/r/s", "zzzz", 0, {{0}}},
};

static nipc_error_t reply_mixed(size_t cap, uint8_t *out, size_t *len, int *exceeded)
{
    static uint8_t rq[256];
    nipc_cgroups_lookup_req_t req;
    cg_request(mixed_keys, 3, rq, sizeof rq, &req);
    nipc_cgroups_lookup_builder_t b;
    nipc_cgroups_lookup_builder_init_reply(&b, out, cap, &req, 0x0102030405060708ull);
    for (int i = 0; i < 3; i++)
        cg_add(&b, &mixed_answers[i]);
    *exceeded = nipc_cgroups_lookup_builder_exceeded(&b);
    return nipc_cgroups_lookup_builder_finish(&b, len);
}

/* The golden response is exactly what the reply policy builds under a
 * 170-byte budget; item 0 sits on the reservation boundary. */
static void reply_policy_golden_budget(void)
{
    uint8_t g[TF_MAX_FILE], out[512];
    size_t glen = 0, len = 0;
    int exceeded = 0;
    REQUIRE(tf_golden("cgroups_lookup_resp_mixed.hex", g, &glen));
    CHECK_OK(reply_mixed(170, out, &len, &exceeded));
    CHECK_EQ_U64(len, glen);
    CHECK_MEM(out, g, glen);
    CHECK(exceeded);

    /* Enough for everything: no replacement (174 = 40 + 64 + 32 + 38). */
    CHECK_OK(reply_mixed(174, out, &len, &exceeded));
    CHECK_EQ_U64(len, 174);
    CHECK(!exceeded);
    CHECK_EQ_U64(cg_status_at(out, len, 2), NIPC_CGROUP_KNOWN);
}

/* Item 0 fits alone in 169 bytes (ends at 101) but not with the tail
 * reserved after it (104 + 66 = 170): it becomes OVERSIZED_ITEM, and the
 * later items, now with room, are answered normally (no suffix mode). */
static void reply_policy_reservation_first_item(void)
{
    uint8_t out[512];
    size_t len = 0;
    int exceeded = 1;
    CHECK_OK(reply_mixed(169, out, &len, &exceeded));
    CHECK(!exceeded);
    CHECK_EQ_U64(cg_status_at(out, len, 0), NIPC_CGROUP_OVERSIZED_ITEM);
    CHECK_EQ_U64(cg_status_at(out, len, 1), NIPC_CGROUP_UNKNOWN_RETRY_LATER);
    CHECK_EQ_U64(cg_status_at(out, len, 2), NIPC_CGROUP_KNOWN);
    CHECK_EQ_U64(len, 40 + 40 + 32 + 38);
    nipc_cgroups_lookup_view_t v;
    nipc_cgroups_lookup_item_t it;
    REQUIRE(nipc_cgroups_lookup_resp_decode(out, len, &v) == NIPC_OK);
    REQUIRE(nipc_cgroups_lookup_resp_item(&v, 0, &it) == NIPC_OK);
    CHECK(str_is(it.path, "/p/c1")); /* the key echoed, nothing else */
    CHECK(str_is(it.name, ""));
    CHECK_EQ_U64(it.orchestrator, 0);
    CHECK_EQ_U64(it.labels.count, 0);
}

/* Once an item is replaced by PAYLOAD_EXCEEDED every later item is too,
 * even one that would fit; the minimal budget holds every key. */
static void reply_policy_suffix_mode(void)
{
    static const char *const keys[4] = {"/a", "/b", "/c", "/d"};
    uint8_t rq[256], out[512];
    size_t len = 0;
    nipc_cgroups_lookup_req_t req;
    cg_request(keys, 4, rq, sizeof rq, &req);
    raw_cg_t big = {
        NIPC_CGROUP_KNOWN, 0, "/b", "0123456789012345678901234567890123456789", 0, {{0}}};
    raw_cg_t small = {NIPC_CGROUP_UNKNOWN_PERMANENT, 0, "/a", "", 0, {{0}}};
    /* 48 + 3 x 32 + 32 = 176: minimal items for all four keys. */
    nipc_cgroups_lookup_builder_t b;
    nipc_cgroups_lookup_builder_init_reply(&b, out, 200, &req, 3);
    CHECK_OK(cg_add(&b, &small));
    CHECK(!nipc_cgroups_lookup_builder_exceeded(&b));
    CHECK_OK(cg_add(&b, &big)); /* does not fit: PAYLOAD_EXCEEDED */
    CHECK(nipc_cgroups_lookup_builder_exceeded(&b));
    small.path = "/c";
    CHECK_OK(cg_add(&b, &small)); /* would fit, but suffix mode */
    small.path = "/d";
    CHECK_OK(cg_add(&b, &small));
    CHECK_OK(nipc_cgroups_lookup_builder_finish(&b, &len));
    CHECK_EQ_U64(cg_status_at(out, len, 0), NIPC_CGROUP_UNKNOWN_PERMANENT);
    for (uint32_t i = 1; i < 4; i++)
        CHECK_EQ_U64(cg_status_at(out, len, i), NIPC_CGROUP_PAYLOAD_EXCEEDED);

    /* A handler's own PAYLOAD_EXCEEDED is a replacement too: the first item
     * becomes OVERSIZED_ITEM (never a leading PAYLOAD_EXCEEDED), a later one
     * starts suffix mode. */
    raw_cg_t pe = {NIPC_CGROUP_PAYLOAD_EXCEEDED, 0, "/a", "", 0, {{0}}};
    nipc_cgroups_lookup_builder_init_reply(&b, out, sizeof out, &req, 3);
    CHECK_OK(cg_add(&b, &pe));
    CHECK(!nipc_cgroups_lookup_builder_exceeded(&b));
    small.path = "/b";
    CHECK_OK(cg_add(&b, &small));
    pe.path = "/c";
    CHECK_OK(cg_add(&b, &pe));
    CHECK(nipc_cgroups_lookup_builder_exceeded(&b));
    small.path = "/d";
    CHECK_OK(cg_add(&b, &small));
    CHECK_OK(nipc_cgroups_lookup_builder_finish(&b, &len));
    CHECK_EQ_U64(cg_status_at(out, len, 0), NIPC_CGROUP_OVERSIZED_ITEM);
    CHECK_EQ_U64(cg_status_at(out, len, 1), NIPC_CGROUP_UNKNOWN_PERMANENT);
    CHECK_EQ_U64(cg_status_at(out, len, 2), NIPC_CGROUP_PAYLOAD_EXCEEDED);
    CHECK_EQ_U64(cg_status_at(out, len, 3), NIPC_CGROUP_PAYLOAD_EXCEEDED);
}

/* Not even minimal items for every key fit: overflow from the start, and
 * finish() reports the smallest possible response. Exactly that budget
 * works (OVERSIZED_ITEM then PAYLOAD_EXCEEDED). */
static void reply_policy_overflow(void)
{
    static const char *const keys[3] = {"/a", "/bb", "/ccc"};
    uint8_t rq[256], out[512];
    size_t len = 0;
    nipc_cgroups_lookup_req_t req;
    cg_request(keys, 3, rq, sizeof rq, &req);
    const size_t min = 40 + 32 + 40 + 34; /* align8(32) + align8(33) + 34 */
    raw_cg_t known = {NIPC_CGROUP_KNOWN, 0, "/a", "a-much-longer-name", 0, {{0}}};

    nipc_cgroups_lookup_builder_t b;
    nipc_cgroups_lookup_builder_init_reply(&b, out, min - 1, &req, 0);
    CHECK_ERR(cg_add(&b, &known), NIPC_ERR_BUFFER_TOO_SMALL);
    CHECK_ERR(nipc_cgroups_lookup_builder_finish(&b, &len), NIPC_ERR_BUFFER_TOO_SMALL);
    CHECK_EQ_U64(len, min);

    nipc_cgroups_lookup_builder_init_reply(&b, out, min, &req, 0);
    for (int i = 0; i < 3; i++) {
        known.path = keys[i];
        CHECK_OK(cg_add(&b, &known));
    }
    CHECK_OK(nipc_cgroups_lookup_builder_finish(&b, &len));
    CHECK_EQ_U64(len, min);
    CHECK_EQ_U64(cg_status_at(out, len, 0), NIPC_CGROUP_OVERSIZED_ITEM);
    CHECK_EQ_U64(cg_status_at(out, len, 1), NIPC_CGROUP_PAYLOAD_EXCEEDED);
    CHECK_EQ_U64(cg_status_at(out, len, 2), NIPC_CGROUP_PAYLOAD_EXCEEDED);

    /* More items than keys: overflow too (codecs.md §4). */
    known.path = "/a";
    CHECK_ERR(cg_add(&b, &known), NIPC_ERR_BUFFER_TOO_SMALL);
    CHECK_ERR(nipc_cgroups_lookup_builder_finish(&b, &len), NIPC_ERR_BUFFER_TOO_SMALL);
}

static void reply_policy_key_echo(void)
{
    uint8_t rq[256], out[512];
    size_t len = 0;
    nipc_cgroups_lookup_req_t req;
    cg_request(mixed_keys, 3, rq, sizeof rq, &req);
    nipc_cgroups_lookup_builder_t b;
    nipc_cgroups_lookup_builder_init_reply(&b, out, sizeof out, &req, 0);
    CHECK_OK(cg_add(&b, &mixed_answers[0]));
    CHECK_ERR(cg_add(&b, &mixed_answers[0]), NIPC_ERR_BAD_FIELD); /* key 1 is "/q" */
    CHECK_ERR(cg_add(&b, &mixed_answers[1]), NIPC_ERR_BAD_FIELD); /* sticky */
    CHECK_ERR(nipc_cgroups_lookup_builder_finish(&b, &len), NIPC_ERR_BAD_FIELD);

    uint32_t pids[2] = {10, 20};
    nipc_apps_lookup_req_t areq;
    app_request(pids, 2, rq, sizeof rq, &areq);
    nipc_apps_lookup_builder_t ab;
    nipc_apps_lookup_builder_init_reply(&ab, out, sizeof out, &areq, 0);
    raw_app_t a = {NOT_KNOWN_APP(NIPC_APP_UNKNOWN), 0, {{0}}};
    a.pid = 10;
    CHECK_OK(app_add(&ab, &a));
    a.pid = 21;
    CHECK_ERR(app_add(&ab, &a), NIPC_ERR_BAD_FIELD);
    CHECK_ERR(nipc_apps_lookup_builder_finish(&ab, &len), NIPC_ERR_BAD_FIELD);

    /* Fewer items than keys. */
    nipc_apps_lookup_builder_init_reply(&ab, out, sizeof out, &areq, 0);
    a.pid = 10;
    CHECK_OK(app_add(&ab, &a));
    CHECK_ERR(nipc_apps_lookup_builder_finish(&ab, &len), NIPC_ERR_BAD_ITEM_COUNT);
}

/* The largest APPS_LOOKUP reply a budget holds: N keys need 16 + 8N +
 * 64(N - 1) + 63 = 72N + 15 bytes at least. 4096 bytes: 56 keys, not 57. */
static void reply_policy_max_items_for_budget(void)
{
    static uint8_t rq[2048], out[4096];
    uint32_t pids[64];
    for (uint32_t i = 0; i < 64; i++)
        pids[i] = 1000 + i;
    for (uint32_t n = 56; n <= 57; n++) {
        nipc_apps_lookup_req_t req;
        app_request(pids, n, rq, sizeof rq, &req);
        nipc_apps_lookup_builder_t b;
        nipc_apps_lookup_builder_init_reply(&b, out, sizeof out, &req, 1);
        for (uint32_t i = 0; i < n; i++) {
            raw_app_t a = {KNOWN_APP(0, "/some/cgroup/path/long", "name"), 0, {{0}}};
            a.pid = pids[i];
            app_add(&b, &a);
        }
        size_t len = 0;
        nipc_error_t err = nipc_apps_lookup_builder_finish(&b, &len);
        if (n == 56) {
            CHECK_OK(err);
            nipc_apps_lookup_view_t v;
            REQUIRE(nipc_apps_lookup_resp_decode(out, len, &v) == NIPC_OK);
            CHECK_EQ_U64(v.item_count, 56);
            uint32_t known = 0, exceeded = 0;
            for (uint32_t i = 0; i < 56; i++) {
                nipc_apps_lookup_item_t it;
                REQUIRE(nipc_apps_lookup_resp_item(&v, i, &it) == NIPC_OK);
                CHECK_EQ_U64(it.pid, pids[i]);
                known += it.status == NIPC_APP_KNOWN;
                exceeded += it.status == NIPC_APP_PAYLOAD_EXCEEDED;
                if (i && it.status == NIPC_APP_KNOWN)
                    CHECK(exceeded == 0); /* KNOWN only before the suffix */
            }
            CHECK(known >= 1);
            CHECK_EQ_U64(known + exceeded, 56);
        } else {
            CHECK_ERR(err, NIPC_ERR_BUFFER_TOO_SMALL);
            CHECK_EQ_U64(len, 72u * 57 + 15);
        }
    }
    /* Requests: (cap - 16) / 16 keys fit a budget. */
    size_t len = 0;
    CHECK_OK(nipc_apps_lookup_req_encode(pids, (1024 - 16) / 16, rq, 1024, &len));
    CHECK_EQ_U64(len, 1024);
    CHECK_ERR(nipc_apps_lookup_req_encode(pids, 1024 / 16, rq, 1024, &len),
              NIPC_ERR_BUFFER_TOO_SMALL);
}

/* The last item has no tail to reserve and no padding after it: with a
 * budget that is not a multiple of 8 it may end exactly at the budget. */
static void reply_policy_last_item_unaligned(void)
{
    uint8_t rq[64], out[256];
    uint32_t pids[2] = {1, 2};
    nipc_apps_lookup_req_t req;
    app_request(pids, 2, rq, sizeof rq, &req);
    nipc_apps_lookup_builder_t b;
    nipc_apps_lookup_builder_init_reply(&b, out, 159, &req, 1); /* 32 + 64 + 63 */
    raw_app_t a = {NOT_KNOWN_APP(NIPC_APP_UNKNOWN), 0, {{0}}};
    a.pid = 1;
    CHECK_OK(app_add(&b, &a));
    a.pid = 2;
    CHECK_OK(app_add(&b, &a));
    size_t len = 0;
    CHECK_OK(nipc_apps_lookup_builder_finish(&b, &len));
    CHECK_EQ_U64(len, 159);
    nipc_apps_lookup_view_t v;
    nipc_apps_lookup_item_t it;
    REQUIRE(nipc_apps_lookup_resp_decode(out, len, &v) == NIPC_OK);
    REQUIRE(nipc_apps_lookup_resp_item(&v, 1, &it) == NIPC_OK);
    CHECK_EQ_U64(it.status, NIPC_APP_UNKNOWN);
}

/* No keys: a 16-byte request, and a reply with no items. */
static void zero_keys(void)
{
    uint8_t rq[64], out[64];
    size_t len = 0;
    nipc_apps_lookup_req_t req;
    app_request(NULL, 0, rq, sizeof rq, &req);
    CHECK_EQ_U64(req.item_count, 0);
    nipc_apps_lookup_builder_t b;
    nipc_apps_lookup_builder_init_reply(&b, out, 16, &req, 77);
    CHECK_OK(nipc_apps_lookup_builder_finish(&b, &len));
    CHECK_EQ_U64(len, 16);
    nipc_apps_lookup_view_t v;
    CHECK_OK(nipc_apps_lookup_resp_decode(out, len, &v));
    CHECK_EQ_U64(v.generation, 77);
    nipc_apps_lookup_builder_init_reply(&b, out, 15, &req, 77);
    CHECK_ERR(nipc_apps_lookup_builder_finish(&b, &len), NIPC_ERR_BUFFER_TOO_SMALL);
    CHECK_EQ_U64(len, 16);
}

static void names(void)
{
    CHECK(strcmp(nipc_cgroup_lookup_status_name(NIPC_CGROUP_OVERSIZED_ITEM), "OVERSIZED_ITEM") ==
          0);
    CHECK(strcmp(nipc_cgroup_lookup_status_name(5), "?") == 0);
    CHECK(strcmp(nipc_app_status_name(NIPC_APP_UNKNOWN), "UNKNOWN") == 0);
    CHECK(strcmp(nipc_app_cgroup_status_name(NIPC_APP_CGROUP_HOST_ROOT), "HOST_ROOT") == 0);
    CHECK(strcmp(nipc_orchestrator_name(NIPC_ORCH_NSPAWN), "NSPAWN") == 0);
    CHECK(strcmp(nipc_orchestrator_name(8), "?") == 0);
}

T_MAIN(T_CASE(vector_cgroups_request), T_CASE(vector_requests_empty), T_CASE(vector_apps_request),
       T_CASE(vector_cgroups_responses), T_CASE(vector_empty_responses),
       T_CASE(vector_apps_responses), T_CASE(vector_prefixes_rejected),
       T_CASE(vector_oversized_by_policy), T_CASE(golden_cgroups_request),
       T_CASE(golden_cgroups_response), T_CASE(golden_apps_response),
       T_CASE(roundtrip_cgroups_random), T_CASE(roundtrip_apps_random),
       T_CASE(roundtrip_requests_random), T_CASE(reject_request_rules),
       T_CASE(reject_packed_area_4gib), T_CASE(reject_response_directory_rules),
       T_CASE(reject_cgroups_item_rules), T_CASE(reject_apps_item_rules),
       T_CASE(semantic_rules_cgroups), T_CASE(semantic_rules_apps),
       T_CASE(builder_argument_errors_are_sticky), T_CASE(builder_item_count),
       T_CASE(builder_too_small_reports_size), T_CASE(request_encoder_rules),
       T_CASE(reply_policy_golden_budget), T_CASE(reply_policy_reservation_first_item),
       T_CASE(reply_policy_suffix_mode), T_CASE(reply_policy_overflow),
       T_CASE(reply_policy_key_echo), T_CASE(reply_policy_max_items_for_budget),
       T_CASE(reply_policy_last_item_unaligned), T_CASE(zero_keys), T_CASE(names))
