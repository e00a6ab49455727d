/*
 * Writes the seed corpora of the fuzz targets: make_seeds <vectors> <out>.
 * Each target gets <out>/<target>/ with the matching reference vectors
 * (bare payloads, wrapped in a header for the handshake target) plus a few
 * valid messages built here with the library's own encoders. Run at build
 * time; nothing it writes is kept in the source tree.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "corpus/corpus.h"
#include "netipc/codec.h"
#include "netipc/lookup.h"
#include "netipc/protocol.h"
#include "protocol/handshake.h"

static const char *out_root;
static const char *vec_root;

static void die(const char *what, const char *path)
{
    fprintf(stderr, "make_seeds: %s %s: %s\n", what, path, strerror(errno));
    exit(1);
}

static void make_dir(const char *path)
{
    if (mkdir(path, 0755) != 0 && errno != EEXIST)
        die("cannot create", path);
}

static void put(const char *target, const char *name, const void *data, size_t len)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", out_root, target);
    make_dir(path);
    snprintf(path, sizeof path, "%s/%s/%s", out_root, target, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, len, f) != len || fclose(f) != 0)
        die("cannot write", path);
}

/* Reads a reference vector into buf (at most cap bytes); returns its size. */
static size_t vector(const char *name, uint8_t *buf, size_t cap)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", vec_root, name);
    FILE *f = fopen(path, "rb");
    if (!f)
        die("cannot read", path);
    size_t n = fread(buf, 1, cap, f);
    int more = fgetc(f) != EOF;
    fclose(f);
    if (more) {
        errno = EFBIG;
        die("too large:", path);
    }
    return n;
}

static void copy_vector(const char *target, const char *name)
{
    uint8_t buf[65536];
    size_t n = vector(name, buf, sizeof buf);
    put(target, name, buf, n);
}

static void put_header(const char *name, uint16_t kind, uint16_t code, uint16_t flags,
                       uint16_t status, uint32_t payload_len, uint32_t items)
{
    uint8_t out[NIPC_HEADER_SIZE];
    nipc_header_t h = nipc_header_make(kind, code, flags, status, payload_len, items, 77);
    nipc_header_encode(&h, out);
    put("header", name, out, sizeof out);
}

static void seeds_envelope(void)
{
    copy_vector("header", "header.bin");
    put_header("increment_req", NIPC_KIND_REQUEST, NIPC_METHOD_INCREMENT, 0, 0, 8, 1);
    put_header("snapshot_resp", NIPC_KIND_RESPONSE, NIPC_METHOD_CGROUPS_SNAPSHOT, 0, NIPC_STATUS_OK,
               266, 1);
    put_header("limit_resp", NIPC_KIND_RESPONSE, NIPC_METHOD_STRING_REVERSE, 0,
               NIPC_STATUS_LIMIT_EXCEEDED, 0, 1);
    put_header("hello", NIPC_KIND_CONTROL, NIPC_CONTROL_HELLO, 0, 0, NIPC_HELLO_SIZE, 1);
    put_header("batch_req", NIPC_KIND_REQUEST, NIPC_METHOD_INCREMENT, NIPC_FLAG_BATCH, 0, 48, 3);

    copy_vector("chunk_header", "chunk_header.bin");
    /* A 100,000-byte payload over 65536-byte packets: chunk 1 of 2. */
    nipc_chunk_header_t c = {NIPC_CHUNK_MAGIC, 1, 0, 9, 100032u, 1, 2, 100000u - 65504u};
    uint8_t out[NIPC_CHUNK_HEADER_SIZE];
    nipc_chunk_header_encode(&c, out);
    put("chunk_header", "second_of_two", out, sizeof out);
}

static void put_batch(const char *name, const char *const *items, uint32_t n)
{
    uint8_t buf[4 + 1024];
    nipc_batch_builder_t b;
    size_t len = 0;
    memcpy(buf, &n, 4); /* little-endian host, like the wire */
    nipc_batch_builder_init(&b, buf + 4, sizeof buf - 4, n);
    for (uint32_t i = 0; i < n; i++)
        nipc_batch_builder_add(&b, items[i], (uint32_t)strlen(items[i]));
    if (nipc_batch_builder_finish(&b, &len) != NIPC_OK) {
        fprintf(stderr, "make_seeds: batch %s does not build\n", name);
        exit(1);
    }
    put("batch", name, buf, 4 + len);
}

static void seeds_batch(void)
{
    static const char *const three[] = {"abc", "", "twelve bytes"};
    static const char *const one[] = {"single"};
    put_batch("three", three, 3);
    put_batch("one", one, 1);
    put_batch("empty", NULL, 0);

    /* A batch of three INCREMENT requests. */
    uint8_t buf[4 + 64];
    uint32_t n = 3;
    nipc_batch_builder_t b;
    size_t len = 0;
    memcpy(buf, &n, 4);
    nipc_batch_builder_init(&b, buf + 4, sizeof buf - 4, n);
    for (uint64_t v = 1; v <= 3; v++) {
        uint8_t inc[NIPC_INCREMENT_SIZE];
        size_t il;
        nipc_increment_encode(v * 1000u, inc, sizeof inc, &il);
        nipc_batch_builder_add(&b, inc, (uint32_t)il);
    }
    if (nipc_batch_builder_finish(&b, &len) != NIPC_OK) {
        fprintf(stderr, "make_seeds: increment batch does not build\n");
        exit(1);
    }
    put("batch", "increments", buf, 4 + len);
}

static nipc_hello_t client_hello(void)
{
    nipc_hello_t h = {1,     0, 0x07u, 0x06u, 1024u, 1u, 1048576u, 1u, 0, 0xAABBCCDDEEFF0011ull,
                      65536u};
    return h;
}

static void seeds_handshake(void)
{
    uint8_t buf[256], msg[NIPC_HEADER_SIZE + NIPC_HELLO_ACK_SIZE];

    copy_vector("hello", "hello.bin");
    nipc_hello_t h = client_hello();
    nipc_hello_encode(&h, buf);
    put("hello", "client_default", buf, NIPC_HELLO_SIZE);

    copy_vector("hello_ack", "hello_ack.bin");
    nipc_hello_ack_t a = {1, 0, 0x07u, 0x07u, 0x04u, 1024u, 1u, 1048576u, 1u, 65536u, 0, 42};
    nipc_hello_ack_encode(&a, buf);
    put("hello_ack", "server_default", buf, NIPC_HELLO_ACK_SIZE);

    /* Whole messages: the reference payloads behind a CONTROL header. */
    size_t n = vector("hello.bin", buf + NIPC_HEADER_SIZE, sizeof buf - NIPC_HEADER_SIZE);
    nipc_header_t hh =
        nipc_header_make(NIPC_KIND_CONTROL, NIPC_CONTROL_HELLO, 0, 0, (uint32_t)n, 1, 0);
    nipc_header_encode(&hh, buf);
    put("handshake", "hello.bin.msg", buf, NIPC_HEADER_SIZE + n);
    n = vector("hello_ack.bin", buf + NIPC_HEADER_SIZE, sizeof buf - NIPC_HEADER_SIZE);
    hh = nipc_header_make(NIPC_KIND_CONTROL, NIPC_CONTROL_HELLO_ACK, 0, NIPC_STATUS_OK, (uint32_t)n,
                          1, 0);
    nipc_header_encode(&hh, buf);
    put("handshake", "hello_ack.bin.msg", buf, NIPC_HEADER_SIZE + n);

    /* A client HELLO and the server's real answer to it. */
    nipc__handshake_encode_hello(&h, buf);
    put("handshake", "hello_msg", buf, NIPC_HEADER_SIZE + NIPC_HELLO_SIZE);
    nipc__server_offer_t offer = {0x07u, 0x06u, 4096u, 1048576u, 65536u, h.auth_token};
    nipc_hello_t got;
    int st = nipc__handshake_decide(buf, NIPC_HEADER_SIZE + NIPC_HELLO_SIZE, &offer, 7, &got, &a);
    nipc__handshake_encode_ack(st, &a, msg);
    put("handshake", "ack_ok_msg", msg, sizeof msg);
    h.auth_token ^= 1u;
    nipc__handshake_encode_hello(&h, buf);
    st = nipc__handshake_decide(buf, NIPC_HEADER_SIZE + NIPC_HELLO_SIZE, &offer, 7, &got, &a);
    nipc__handshake_encode_ack(st, &a, msg);
    put("handshake", "ack_auth_failed_msg", msg, sizeof msg);
}

static void seeds_methods(void)
{
    uint8_t buf[256];
    size_t n;
    static const uint64_t values[] = {0, 1, 41, UINT64_MAX};
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
        char name[32];
        nipc_increment_encode(values[i], buf, sizeof buf, &n);
        snprintf(name, sizeof name, "value_%zu", i);
        put("increment", name, buf, n);
    }

    static const struct {
        const char *name, *s;
        uint32_t len;
    } strs[] = {{"empty", "", 0}, {"hello", "hello, world", 12}, {"interior_nul", "ab\0cd", 5}};
    for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++) {
        nipc_string_reverse_encode(strs[i].s, strs[i].len, buf, sizeof buf, &n);
        put("string_reverse", strs[i].name, buf, n);
    }

    copy_vector("cgroups_req", "cgroups_req.bin");
    nipc_cgroups_req_encode(buf, sizeof buf, &n);
    put("cgroups_req", "encoded", buf, n);

    copy_vector("cgroups_resp", "cgroups_resp.bin");
    copy_vector("cgroups_resp", "cgroups_resp_empty.bin");
    /* Production-shaped snapshots from the deterministic corpus. */
    static const uint32_t sizes[] = {1, 8, 32};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        nipc_cgroup_set_t set;
        if (nipc_cgroup_set_corpus(3, sizes[i], &set) != NIPC_OK) {
            fprintf(stderr, "make_seeds: corpus failed\n");
            exit(1);
        }
        size_t need = nipc_cgroup_set_encoded_size(&set);
        uint8_t *out = malloc(need);
        if (!out || nipc_cgroup_set_encode(&set, 5, out, need, &n) != NIPC_OK) {
            fprintf(stderr, "make_seeds: corpus encode failed\n");
            exit(1);
        }
        char name[32];
        snprintf(name, sizeof name, "corpus_%u", sizes[i]);
        put("cgroups_resp", name, out, n);
        free(out);
        nipc_cgroup_set_free(&set);
    }
}

/* Lookup seeds: every reference vector, plus multi-key requests and
 * multi-item responses (labels, every status, a PAYLOAD_EXCEEDED tail). */
static void seeds_lookups(void)
{
    static const char *const cg_resp[] = {
        "cgroups_lookup_resp_known_with_labels.bin", "cgroups_lookup_resp_known_no_labels.bin",
        "cgroups_lookup_resp_unknown_retry.bin",     "cgroups_lookup_resp_unknown_permanent.bin",
        "cgroups_lookup_resp_payload_exceeded.bin",  "cgroups_lookup_resp_oversized_item.bin",
        "cgroups_lookup_resp_empty.bin",
    };
    static const char *const app_resp[] = {
        "apps_lookup_resp_known_full.bin",       "apps_lookup_resp_known_retry.bin",
        "apps_lookup_resp_known_permanent.bin",  "apps_lookup_resp_known_host_root.bin",
        "apps_lookup_resp_unknown_pid.bin",      "apps_lookup_resp_payload_exceeded.bin",
        "apps_lookup_resp_oversized_item.bin",   "apps_lookup_resp_empty.bin",
    };
    for (size_t i = 0; i < sizeof cg_resp / sizeof cg_resp[0]; i++)
        copy_vector("cgroups_lookup_resp", cg_resp[i]);
    for (size_t i = 0; i < sizeof app_resp / sizeof app_resp[0]; i++)
        copy_vector("apps_lookup_resp", app_resp[i]);
    copy_vector("cgroups_lookup_req", "cgroups_lookup_req.bin");
    copy_vector("cgroups_lookup_req", "cgroups_lookup_req_empty.bin");
    copy_vector("apps_lookup_req", "apps_lookup_req.bin");
    copy_vector("apps_lookup_req", "apps_lookup_req_empty.bin");

    static uint8_t buf[65536];
    static char paths[40][64];
    nipc_str_t keys[40];
    uint32_t pids[40];
    size_t n = 0;
    for (uint32_t i = 0; i < 40; i++) {
        snprintf(paths[i], sizeof paths[i], "/system.slice/unit-%u.service%.*s", i, (int)(i % 9),
                 "/xxxxxxxx");
        keys[i] = (nipc_str_t){paths[i], (uint32_t)strlen(paths[i])};
        pids[i] = 1000u + i * 37u;
    }
    if (nipc_cgroups_lookup_req_encode(keys, 40, buf, sizeof buf, &n) != NIPC_OK)
        exit(1);
    put("cgroups_lookup_req", "forty_keys", buf, n);
    if (nipc_apps_lookup_req_encode(pids, 40, buf, sizeof buf, &n) != NIPC_OK)
        exit(1);
    put("apps_lookup_req", "forty_pids", buf, n);

    static const nipc_label_t labels[2] = {{{"namespace", 9}, {"default", 7}}, {{"pod", 3}, {"", 0}}};
    nipc_cgroups_lookup_builder_t cb;
    nipc_cgroups_lookup_builder_init(&cb, buf, sizeof buf, 10, 77);
    for (uint32_t i = 0; i < 10; i++) {
        nipc_cgroups_lookup_item_t it = {.status = (uint16_t)(i % 5), .path = keys[i],
                                         .name = {"", 0}};
        if (it.status == NIPC_CGROUP_KNOWN) {
            it.orchestrator = (uint16_t)i;
            it.name = (nipc_str_t){paths[i] + 14, 6};
            it.labels.count = (uint16_t)(i % 3);
        }
        nipc_cgroups_lookup_builder_add(&cb, &it, labels);
    }
    if (nipc_cgroups_lookup_builder_finish(&cb, &n) != NIPC_OK)
        exit(1);
    put("cgroups_lookup_resp", "ten_items", buf, n);

    nipc_apps_lookup_builder_t ab;
    nipc_apps_lookup_builder_init(&ab, buf, sizeof buf, 8, 78);
    for (uint32_t i = 0; i < 8; i++) {
        nipc_apps_lookup_item_t it = {.status = NIPC_APP_KNOWN, .cgroup_status = (uint16_t)(i % 4),
                                      .pid = pids[i], .ppid = 1, .uid = 1000, .starttime = i,
                                      .comm = {"worker", 6}, .cgroup_path = keys[i],
                                      .cgroup_name = {"", 0}};
        if (i % 4 == NIPC_APP_CGROUP_KNOWN) {
            it.cgroup_name = (nipc_str_t){"unit", 4};
            it.labels.count = 2;
        } else if (i % 4 == NIPC_APP_CGROUP_HOST_ROOT) {
            it.cgroup_path = (nipc_str_t){"", 0};
        }
        if (i >= 6) /* a PAYLOAD_EXCEEDED tail */
            it = (nipc_apps_lookup_item_t){.status = NIPC_APP_PAYLOAD_EXCEEDED, .pid = pids[i],
                                           .uid = NIPC_UID_UNSET, .comm = {"", 0},
                                           .cgroup_path = {"", 0}, .cgroup_name = {"", 0}};
        nipc_apps_lookup_builder_add(&ab, &it, labels);
    }
    if (nipc_apps_lookup_builder_finish(&ab, &n) != NIPC_OK)
        exit(1);
    put("apps_lookup_resp", "eight_items", buf, n);
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: make_seeds <vectors dir> <output dir>\n");
        return 2;
    }
    vec_root = argv[1];
    out_root = argv[2];
    make_dir(out_root);
    seeds_envelope();
    seeds_batch();
    seeds_handshake();
    seeds_methods();
    seeds_lookups();
    return 0;
}
