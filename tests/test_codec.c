/*
 * Method codec tests (codecs.md sections 1-3, 7) plus the byte-exact
 * checks against external references:
 *
 *  - the upstream reference vectors in tests/data/vectors/ (decoded field by
 *    field and re-encoded to identical bytes, as vectors/README.md asks);
 *  - hand-written golden messages in tests/data/golden/ (.hex files), written from
 *    the spec (not from our encoder), checked both ways.
 *
 * The lookup vectors are only checked for presence here; their codecs are
 * tested elsewhere. Malformed inputs are written byte by byte.
 */
#include "test.h"

#include "netipc/codec.h"
#include "netipc/protocol.h"
#include "protocol/handshake.h"

/* ------------------------------------------------------------ byte helpers */

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v & 0xffu);
    p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static int all_bytes_are(const uint8_t *p, size_t n, uint8_t v)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != v)
            return 0;
    return 1;
}

static int str_is(nipc_str_t s, const char *expect, size_t n)
{
    return s.len == n && memcmp(s.ptr, expect, n) == 0 && s.ptr[n] == '\0';
}

/* ----------------------------------------------------------- file loading */

#define MAX_FILE 4096

static int read_file(const char *path, uint8_t *buf, size_t cap, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "cannot open %s\n", path);
        return 0;
    }
    *len = fread(buf, 1, cap, f);
    int ok = !ferror(f) && *len < cap; /* a full buffer may mean a cut file */
    fclose(f);
    if (!ok)
        fprintf(stderr, "cannot read %s completely\n", path);
    return ok;
}

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Hex text to bytes: whitespace is ignored, '#' starts a comment up to the
 * end of the line, anything else is an error, as is an odd digit count.
 * Errors are reported on stderr unless `what` is NULL. */
static int parse_hex(const char *what, const char *text, size_t n, uint8_t *out, size_t cap,
                     size_t *len)
{
    int hi = -1;
    *len = 0;
    for (size_t i = 0; i < n; i++) {
        char c = text[i];
        if (c == '#') {
            while (i < n && text[i] != '\n')
                i++;
            continue;
        }
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r')
            continue;
        int d = hex_digit(c);
        if (d < 0 || *len == cap) {
            if (what)
                fprintf(stderr, "%s: bad hex text at offset %zu\n", what, i);
            return 0;
        }
        if (hi < 0) {
            hi = d;
        } else {
            out[(*len)++] = (uint8_t)(hi << 4 | d);
            hi = -1;
        }
    }
    if (hi >= 0 && what)
        fprintf(stderr, "%s: odd number of hex digits\n", what);
    return hi < 0;
}

static int load_vector(const char *name, uint8_t *buf, size_t *len)
{
    char path[512];
    snprintf(path, sizeof path, "%s/vectors/%s", NETIPC_TEST_DATA, name);
    return read_file(path, buf, MAX_FILE, len);
}

static int load_golden(const char *name, uint8_t *buf, size_t *len)
{
    char path[512];
    static uint8_t text[MAX_FILE * 4];
    size_t tlen = 0;
    snprintf(path, sizeof path, "%s/golden/%s", NETIPC_TEST_DATA, name);
    if (!read_file(path, text, sizeof text, &tlen))
        return 0;
    return parse_hex(name, (const char *)text, tlen, buf, MAX_FILE, len);
}

static void hex_loader_self_check(void)
{
    static const char text[] = "# c\n0a 0B\t# inline ff\n c0\r\nFF";
    uint8_t out[8];
    size_t len = 0;
    CHECK(parse_hex("self", text, sizeof text - 1, out, sizeof out, &len));
    CHECK_EQ_U64(len, 4);
    static const uint8_t expect[4] = {0x0a, 0x0b, 0xc0, 0xff};
    CHECK_MEM(out, expect, 4);
    CHECK(!parse_hex(NULL, "0a0", 3, out, sizeof out, &len)); /* odd digits */
    CHECK(!parse_hex(NULL, "0g", 2, out, sizeof out, &len));  /* not hex */
    CHECK(!parse_hex(NULL, "00112233445566778899", 20, out, sizeof out, &len)); /* too long */
}

/* ------------------------------------------------------ reference vectors */

static void vectors_all_present(void)
{
    /* vectors/README.md file table: every file, with its size. */
    static const struct {
        const char *name;
        size_t size;
    } files[] = {
        {"header.bin", 32},
        {"chunk_header.bin", 32},
        {"hello.bin", 44},
        {"hello_ack.bin", 48},
        {"cgroups_req.bin", 4},
        {"cgroups_resp.bin", 266},
        {"cgroups_resp_empty.bin", 24},
        {"cgroups_lookup_req.bin", 87},
        {"cgroups_lookup_req_empty.bin", 16},
        {"cgroups_lookup_resp_known_with_labels.bin", 138},
        {"cgroups_lookup_resp_known_no_labels.bin", 65},
        {"cgroups_lookup_resp_unknown_retry.bin", 68},
        {"cgroups_lookup_resp_unknown_permanent.bin", 59},
        {"cgroups_lookup_resp_payload_exceeded.bin", 71},
        {"cgroups_lookup_resp_oversized_item.bin", 64},
        {"cgroups_lookup_resp_empty.bin", 16},
        {"apps_lookup_req.bin", 64},
        {"apps_lookup_req_empty.bin", 16},
        {"apps_lookup_resp_known_full.bin", 191},
        {"apps_lookup_resp_known_retry.bin", 98},
        {"apps_lookup_resp_known_permanent.bin", 101},
        {"apps_lookup_resp_known_host_root.bin", 91},
        {"apps_lookup_resp_unknown_pid.bin", 87},
        {"apps_lookup_resp_payload_exceeded.bin", 87},
        {"apps_lookup_resp_oversized_item.bin", 87},
        {"apps_lookup_resp_empty.bin", 16},
    };
    static uint8_t buf[MAX_FILE];
    CHECK_EQ_U64(sizeof files / sizeof files[0], 26);
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        size_t len = 0;
        CHECK(load_vector(files[i].name, buf, &len));
        CHECK_EQ_U64(len, files[i].size);
    }
}

static void vector_header(void)
{
    uint8_t v[MAX_FILE], out[32];
    size_t len = 0;
    REQUIRE(load_vector("header.bin", v, &len));
    REQUIRE(len == 32);

    nipc_header_t h;
    CHECK_OK(nipc_header_decode(v, len, &h));
    CHECK_EQ_U64(h.magic, 0x4e495043u);
    CHECK_EQ_U64(h.version, 1);
    CHECK_EQ_U64(h.header_len, 32);
    CHECK_EQ_U64(h.kind, NIPC_KIND_REQUEST);
    CHECK_EQ_U64(h.flags, NIPC_FLAG_BATCH);
    CHECK_EQ_U64(h.code, NIPC_METHOD_CGROUPS_SNAPSHOT);
    CHECK_EQ_U64(h.transport_status, NIPC_STATUS_OK);
    CHECK_EQ_U64(h.payload_len, 12345);
    CHECK_EQ_U64(h.item_count, 42);
    CHECK_EQ_U64(h.message_id, 0xDEADBEEFCAFEBABEull);

    nipc_header_t e = nipc_header_make(NIPC_KIND_REQUEST, NIPC_METHOD_CGROUPS_SNAPSHOT,
                                       NIPC_FLAG_BATCH, NIPC_STATUS_OK, 12345, 42,
                                       0xDEADBEEFCAFEBABEull);
    nipc_header_encode(&e, out);
    CHECK_MEM(out, v, 32);
}

static void vector_chunk_header(void)
{
    uint8_t v[MAX_FILE], out[32];
    size_t len = 0;
    REQUIRE(load_vector("chunk_header.bin", v, &len));
    REQUIRE(len == 32);

    nipc_chunk_header_t c;
    CHECK_OK(nipc_chunk_header_decode(v, len, &c));
    CHECK_EQ_U64(c.magic, 0x4e43484bu);
    CHECK_EQ_U64(c.version, 1);
    CHECK_EQ_U64(c.flags, 0);
    CHECK_EQ_U64(c.message_id, 0x1234567890ABCDEFull);
    CHECK_EQ_U64(c.total_message_len, 100000);
    CHECK_EQ_U64(c.chunk_index, 3);
    CHECK_EQ_U64(c.chunk_count, 10);
    CHECK_EQ_U64(c.chunk_payload_len, 8192);

    nipc_chunk_header_t e = {NIPC_CHUNK_MAGIC, 1, 0, 0x1234567890ABCDEFull, 100000, 3, 10,
                             8192};
    nipc_chunk_header_encode(&e, out);
    CHECK_MEM(out, v, 32);
}

static void vector_hello(void)
{
    uint8_t v[MAX_FILE], out[44];
    size_t len = 0;
    REQUIRE(load_vector("hello.bin", v, &len));
    REQUIRE(len == 44);

    nipc_hello_t h;
    CHECK_OK(nipc_hello_decode(v, len, &h));
    CHECK_EQ_U64(h.layout_version, 1);
    CHECK_EQ_U64(h.flags, 0);
    CHECK_EQ_U64(h.supported_profiles, 0x05);
    CHECK_EQ_U64(h.preferred_profiles, 0x04);
    CHECK_EQ_U64(h.max_request_payload_bytes, 4096);
    CHECK_EQ_U64(h.max_request_batch_items, 100);
    CHECK_EQ_U64(h.max_response_payload_bytes, 1048576);
    CHECK_EQ_U64(h.max_response_batch_items, 1);
    CHECK_EQ_U64(h.reserved, 0);
    CHECK_EQ_U64(h.auth_token, 0xAABBCCDDEEFF0011ull);
    CHECK_EQ_U64(h.packet_size, 65536);

    nipc_hello_t e = {1, 0, 0x05, 0x04, 4096, 100, 1048576, 1, 0, 0xAABBCCDDEEFF0011ull, 65536};
    nipc_hello_encode(&e, out);
    CHECK_MEM(out, v, 44);
}

static void vector_hello_ack(void)
{
    uint8_t v[MAX_FILE], out[48];
    size_t len = 0;
    REQUIRE(load_vector("hello_ack.bin", v, &len));
    REQUIRE(len == 48);

    nipc_hello_ack_t a;
    CHECK_OK(nipc_hello_ack_decode(v, len, &a));
    CHECK_EQ_U64(a.layout_version, 1);
    CHECK_EQ_U64(a.flags, 0);
    CHECK_EQ_U64(a.server_supported_profiles, 0x07);
    CHECK_EQ_U64(a.intersection_profiles, 0x05);
    CHECK_EQ_U64(a.selected_profile, 0x04);
    CHECK_EQ_U64(a.agreed_max_request_payload_bytes, 2048);
    CHECK_EQ_U64(a.agreed_max_request_batch_items, 50);
    CHECK_EQ_U64(a.agreed_max_response_payload_bytes, 65536);
    CHECK_EQ_U64(a.agreed_max_response_batch_items, 1);
    CHECK_EQ_U64(a.agreed_packet_size, 32768);
    CHECK_EQ_U64(a.reserved, 0);
    CHECK_EQ_U64(a.session_id, 1);

    nipc_hello_ack_t e = {1, 0, 0x07, 0x05, 0x04, 2048, 50, 65536, 1, 32768, 0, 1};
    nipc_hello_ack_encode(&e, out);
    CHECK_MEM(out, v, 48);
}

static void vector_cgroups_req(void)
{
    uint8_t v[MAX_FILE], out[8];
    size_t len = 0, olen = 0;
    REQUIRE(load_vector("cgroups_req.bin", v, &len));
    REQUIRE(len == 4);
    CHECK_OK(nipc_cgroups_req_decode(v, len));
    CHECK(v[0] == 1 && v[1] == 0 && v[2] == 0 && v[3] == 0);
    CHECK_OK(nipc_cgroups_req_encode(out, sizeof out, &olen));
    CHECK_EQ_U64(olen, 4);
    CHECK_MEM(out, v, 4);
}

struct snap_item {
    uint32_t hash, options, enabled;
    const char *name, *path;
};

/* The items of cgroups_resp.bin (vectors/README.md section 3). */
static const struct snap_item vector_items[3] = {
    {100, 0, 1, "init.scope", "/sys/fs/cgroup/init.scope"},
    {200, 0x02, 0, "system.slice/docker-abc.scope",
     "/sys/fs/cgroup/system.slice/docker-abc.scope"},
    {300, 0, 1, "", ""},
};

static void check_item(const nipc_cgroups_view_t *view, uint32_t i, const struct snap_item *e)
{
    nipc_cgroup_item_t it;
    memset(&it, 0, sizeof it);
    CHECK_OK(nipc_cgroups_resp_item(view, i, &it));
    CHECK_EQ_U64(it.hash, e->hash);
    CHECK_EQ_U64(it.options, e->options);
    CHECK_EQ_U64(it.enabled, e->enabled);
    CHECK(str_is(it.name, e->name, strlen(e->name)));
    CHECK(str_is(it.path, e->path, strlen(e->path)));
}

static nipc_error_t build_snapshot(uint8_t *buf, size_t cap, uint32_t systemd, uint64_t gen,
                                   const struct snap_item *items, uint32_t n, size_t *len)
{
    nipc_cgroups_builder_t b;
    nipc_cgroups_builder_init(&b, buf, cap, n, systemd, gen);
    for (uint32_t i = 0; i < n; i++)
        nipc_cgroups_builder_add(&b, items[i].hash, items[i].options, items[i].enabled,
                                 items[i].name, (uint32_t)strlen(items[i].name), items[i].path,
                                 (uint32_t)strlen(items[i].path));
    return nipc_cgroups_builder_finish(&b, len);
}

static void vector_cgroups_resp(void)
{
    uint8_t v[MAX_FILE], out[512];
    size_t len = 0, olen = 0;
    REQUIRE(load_vector("cgroups_resp.bin", v, &len));
    REQUIRE(len == 266);

    nipc_cgroups_view_t view;
    CHECK_OK(nipc_cgroups_resp_decode(v, len, &view));
    CHECK_EQ_U64(view.item_count, 3);
    CHECK_EQ_U64(view.systemd_enabled, 1);
    CHECK_EQ_U64(view.generation, 999);
    /* directory as listed (the view does not expose it) */
    static const uint32_t dir[6] = {0, 69, 72, 107, 184, 34};
    for (int i = 0; i < 6; i++)
        CHECK_EQ_U64(get32(v + 24 + 4 * i), dir[i]);
    for (uint32_t i = 0; i < 3; i++)
        check_item(&view, i, &vector_items[i]);
    /* string offsets inside the items: 32:10 43:25 / 32:29 62:44 / 32:0 33:0 */
    nipc_cgroup_item_t it;
    CHECK_OK(nipc_cgroups_resp_item(&view, 0, &it));
    CHECK(it.name.ptr == (const char *)v + 48 + 32);
    CHECK(it.path.ptr == (const char *)v + 48 + 43);
    CHECK_OK(nipc_cgroups_resp_item(&view, 1, &it));
    CHECK(it.path.ptr == (const char *)v + 48 + 72 + 62);
    CHECK_OK(nipc_cgroups_resp_item(&view, 2, &it));
    CHECK(it.name.ptr == (const char *)v + 48 + 184 + 32);
    CHECK(it.path.ptr == (const char *)v + 48 + 184 + 33);

    /* encode from the listed values */
    memset(out, 0xcc, sizeof out);
    CHECK_OK(build_snapshot(out, sizeof out, 1, 999, vector_items, 3, &olen));
    CHECK_EQ_U64(olen, 266);
    CHECK_MEM(out, v, 266);

    /* round trip: decode, rebuild from the view */
    nipc_cgroups_builder_t b;
    memset(out, 0xcc, sizeof out);
    nipc_cgroups_builder_init(&b, out, sizeof out, view.item_count, view.systemd_enabled,
                              view.generation);
    for (uint32_t i = 0; i < view.item_count; i++) {
        CHECK_OK(nipc_cgroups_resp_item(&view, i, &it));
        CHECK_OK(nipc_cgroups_builder_add(&b, it.hash, it.options, it.enabled, it.name.ptr,
                                          it.name.len, it.path.ptr, it.path.len));
    }
    CHECK_OK(nipc_cgroups_builder_finish(&b, &olen));
    CHECK_EQ_U64(olen, 266);
    CHECK_MEM(out, v, 266);
}

static void vector_cgroups_resp_empty(void)
{
    uint8_t v[MAX_FILE], out[64];
    size_t len = 0, olen = 0;
    REQUIRE(load_vector("cgroups_resp_empty.bin", v, &len));
    REQUIRE(len == 24);
    nipc_cgroups_view_t view;
    CHECK_OK(nipc_cgroups_resp_decode(v, len, &view));
    CHECK_EQ_U64(view.item_count, 0);
    CHECK_EQ_U64(view.systemd_enabled, 0);
    CHECK_EQ_U64(view.generation, 42);
    nipc_cgroup_item_t it;
    CHECK_ERR(nipc_cgroups_resp_item(&view, 0, &it), NIPC_ERR_INVALID_ARGUMENT);

    memset(out, 0xcc, sizeof out);
    CHECK_OK(build_snapshot(out, sizeof out, 0, 42, NULL, 0, &olen));
    CHECK_EQ_U64(olen, 24);
    CHECK_MEM(out, v, 24);
    CHECK(out[24] == 0xcc);
}

/* ------------------------------------------------------- golden messages */

static void golden_hello(void)
{
    /* The example printed in wire.md section 4, verbatim. */
    static const char wire_md[] =
        "4350494e 0100 2000 0300 0000 0100 0000 2c000000 01000000 0000000000000000"
        "0100 0000 01000000 00000000 00040000 01000000 00000100 01000000 00000000 "
        "bebafecaefbeadde 00400300";
    uint8_t g[MAX_FILE], doc[128], out[76];
    size_t glen = 0, dlen = 0;
    REQUIRE(load_golden("hello_msg.hex", g, &glen));
    REQUIRE(parse_hex("wire.md example", wire_md, sizeof wire_md - 1, doc, sizeof doc, &dlen));
    CHECK_EQ_U64(glen, 76);
    CHECK_EQ_U64(dlen, 76);
    CHECK_MEM(g, doc, 76);

    nipc_header_t h;
    CHECK_OK(nipc_header_decode(g, glen, &h));
    CHECK_EQ_U64(h.kind, NIPC_KIND_CONTROL);
    CHECK_EQ_U64(h.code, NIPC_CONTROL_HELLO);
    CHECK_EQ_U64(h.flags, 0);
    CHECK_EQ_U64(h.transport_status, 0);
    CHECK_EQ_U64(h.payload_len, 44);
    CHECK_EQ_U64(h.item_count, 1);
    CHECK_EQ_U64(h.message_id, 0);
    nipc_hello_t hello;
    CHECK_OK(nipc_hello_decode(g + 32, glen - 32, &hello));
    CHECK_EQ_U64(hello.layout_version, 1);
    CHECK_EQ_U64(hello.flags, 0);
    CHECK_EQ_U64(hello.supported_profiles, NIPC_PROFILE_BASELINE);
    CHECK_EQ_U64(hello.preferred_profiles, 0);
    CHECK_EQ_U64(hello.max_request_payload_bytes, 1024);
    CHECK_EQ_U64(hello.max_request_batch_items, 1);
    CHECK_EQ_U64(hello.max_response_payload_bytes, 65536);
    CHECK_EQ_U64(hello.max_response_batch_items, 1);
    CHECK_EQ_U64(hello.reserved, 0);
    CHECK_EQ_U64(hello.auth_token, 0xDEADBEEFCAFEBABEull);
    CHECK_EQ_U64(hello.packet_size, 212992);

    nipc_hello_t e = {1, 0, 0x01, 0, 1024, 1, 65536, 1, 0, 0xDEADBEEFCAFEBABEull, 212992};
    nipc__handshake_encode_hello(&e, out);
    CHECK_MEM(out, g, 76);
}

static void golden_hello_ack(void)
{
    uint8_t hello[MAX_FILE], g[MAX_FILE], out[80];
    size_t hlen = 0, glen = 0;
    REQUIRE(load_golden("hello_msg.hex", hello, &hlen));
    REQUIRE(load_golden("hello_ack_msg.hex", g, &glen));
    CHECK_EQ_U64(glen, 80);

    /* decode as a client */
    nipc_hello_ack_t a;
    CHECK_OK(nipc__handshake_client_result(g, glen, &a));
    CHECK_EQ_U64(a.layout_version, 1);
    CHECK_EQ_U64(a.flags, 0);
    CHECK_EQ_U64(a.server_supported_profiles, 0x03);
    CHECK_EQ_U64(a.intersection_profiles, 0x01);
    CHECK_EQ_U64(a.selected_profile, 0x01);
    CHECK_EQ_U64(a.agreed_max_request_payload_bytes, 1024);
    CHECK_EQ_U64(a.agreed_max_request_batch_items, 1);
    CHECK_EQ_U64(a.agreed_max_response_payload_bytes, 65536);
    CHECK_EQ_U64(a.agreed_max_response_batch_items, 1);
    CHECK_EQ_U64(a.agreed_packet_size, 65536);
    CHECK_EQ_U64(a.reserved, 0);
    CHECK_EQ_U64(a.session_id, 7);
    nipc_header_t h;
    CHECK_OK(nipc_header_decode(g, glen, &h));
    CHECK_EQ_U64(h.code, NIPC_CONTROL_HELLO_ACK);
    CHECK_EQ_U64(h.payload_len, 48);

    /* the server's answer to the golden HELLO, encoded */
    nipc__server_offer_t o = {0x03, 0x03, 4096, 65536, 65536, 0xDEADBEEFCAFEBABEull};
    nipc_hello_t parsed;
    nipc_hello_ack_t ack;
    int st = nipc__handshake_decide(hello, hlen, &o, 7, &parsed, &ack);
    CHECK(st == NIPC_STATUS_OK);
    nipc__handshake_encode_ack(st, &ack, out);
    CHECK_MEM(out, g, 80);
}

static void golden_increment_single(void)
{
    uint8_t req[MAX_FILE], resp[MAX_FILE], out[40];
    size_t rqlen = 0, rslen = 0, plen = 0;
    REQUIRE(load_golden("increment_req.hex", req, &rqlen));
    REQUIRE(load_golden("increment_resp.hex", resp, &rslen));
    CHECK_EQ_U64(rqlen, 40);
    CHECK_EQ_U64(rslen, 40);

    nipc_header_t hq, hs;
    uint64_t vq = 0, vs = 0;
    CHECK_OK(nipc_header_decode(req, rqlen, &hq));
    CHECK_OK(nipc_header_decode(resp, rslen, &hs));
    CHECK_EQ_U64(hq.kind, NIPC_KIND_REQUEST);
    CHECK_EQ_U64(hs.kind, NIPC_KIND_RESPONSE);
    CHECK_EQ_U64(hq.code, NIPC_METHOD_INCREMENT);
    CHECK_EQ_U64(hs.code, hq.code);
    CHECK_EQ_U64(hq.message_id, 0x0102030405060708ull);
    CHECK_EQ_U64(hs.message_id, hq.message_id);
    CHECK_EQ_U64(hq.payload_len, 8);
    CHECK_EQ_U64(hs.payload_len, 8);
    CHECK_EQ_U64(hq.item_count, 1);
    CHECK_EQ_U64(hs.transport_status, NIPC_STATUS_OK);
    CHECK_OK(nipc_increment_decode(req + 32, rqlen - 32, &vq));
    CHECK_OK(nipc_increment_decode(resp + 32, rslen - 32, &vs));
    CHECK_EQ_U64(vq, 41);
    CHECK_EQ_U64(vs, vq + 1);

    nipc_header_t e = nipc_header_make(NIPC_KIND_REQUEST, NIPC_METHOD_INCREMENT, 0, 0, 8, 1,
                                       0x0102030405060708ull);
    nipc_header_encode(&e, out);
    CHECK_OK(nipc_increment_encode(41, out + 32, 8, &plen));
    CHECK_EQ_U64(plen, 8);
    CHECK_MEM(out, req, 40);
    e.kind = NIPC_KIND_RESPONSE;
    nipc_header_encode(&e, out);
    CHECK_OK(nipc_increment_encode(42, out + 32, 8, &plen));
    CHECK_MEM(out, resp, 40);
}

static void golden_increment_batch(void)
{
    static const uint64_t values[3] = {1, 0x100, 0xFFFFFFFFFFFFFFFEull};
    uint8_t g[MAX_FILE], out[128], item[8];
    size_t glen = 0, plen = 0, ilen = 0;
    REQUIRE(load_golden("increment_batch.hex", g, &glen));
    CHECK_EQ_U64(glen, 80);

    nipc_header_t h;
    CHECK_OK(nipc_header_decode(g, glen, &h));
    CHECK_EQ_U64(h.flags, NIPC_FLAG_BATCH);
    CHECK_EQ_U64(h.code, NIPC_METHOD_INCREMENT);
    CHECK_EQ_U64(h.item_count, 3);
    CHECK_EQ_U64(h.payload_len, 48);
    CHECK_EQ_U64(h.message_id, 9);
    CHECK_OK(nipc_batch_validate(g + 32, h.payload_len, h.item_count));
    for (uint32_t i = 0; i < 3; i++) {
        const uint8_t *p = NULL;
        uint32_t plen32 = 0;
        uint64_t v = 0;
        CHECK_OK(nipc_batch_item(g + 32, h.payload_len, 3, i, &p, &plen32));
        CHECK_EQ_U64(plen32, 8);
        CHECK(p == g + 32 + 24 + 8 * i);
        CHECK_OK(nipc_increment_decode(p, plen32, &v));
        CHECK_EQ_U64(v, values[i]);
    }

    nipc_batch_builder_t b;
    nipc_batch_builder_init(&b, out + 32, sizeof out - 32, 3);
    for (int i = 0; i < 3; i++) {
        CHECK_OK(nipc_increment_encode(values[i], item, sizeof item, &ilen));
        CHECK_OK(nipc_batch_builder_add(&b, item, (uint32_t)ilen));
    }
    CHECK_OK(nipc_batch_builder_finish(&b, &plen));
    CHECK_EQ_U64(plen, 48);
    nipc_header_t e = nipc_header_make(NIPC_KIND_REQUEST, NIPC_METHOD_INCREMENT, NIPC_FLAG_BATCH,
                                       0, (uint32_t)plen, 3, 9);
    nipc_header_encode(&e, out);
    CHECK_MEM(out, g, 80);

    /* The one-pass INCREMENT batch codec gives and reads the same bytes. */
    uint64_t got[3] = {0};
    memset(out, 0xcc, sizeof out);
    CHECK_OK(nipc_increment_batch_encode(values, 3, out, sizeof out, &plen));
    CHECK_EQ_U64(plen, 48);
    CHECK_MEM(out, g + 32, 48);
    CHECK_OK(nipc_increment_batch_decode(g + 32, 48, 3, got));
    CHECK_MEM(got, values, sizeof values);
}

/* The per-item path that nipc_increment_batch_decode() must agree with. */
static nipc_error_t increment_items_generic(const uint8_t *p, size_t len, uint32_t n,
                                            uint64_t *out)
{
    for (uint32_t i = 0; i < n; i++) {
        const uint8_t *item;
        uint32_t ilen;
        nipc_error_t err = nipc_batch_item(p, len, n, i, &item, &ilen);
        if (err == NIPC_OK)
            err = nipc_increment_decode(item, ilen, &out[i]);
        if (err != NIPC_OK)
            return err;
    }
    return NIPC_OK;
}

static void increment_batch_encode_sizes(void)
{
    static const uint64_t values[5] = {7, 0, UINT64_MAX, 42, 1};
    uint8_t built[128], out[128], item[8];
    size_t blen = 0, len = 0, ilen = 0;
    for (uint32_t n = 0; n <= 5; n++) {
        nipc_batch_builder_t b;
        nipc_batch_builder_init(&b, built, sizeof built, n);
        for (uint32_t i = 0; i < n; i++) {
            CHECK_OK(nipc_increment_encode(values[i], item, sizeof item, &ilen));
            CHECK_OK(nipc_batch_builder_add(&b, item, (uint32_t)ilen));
        }
        CHECK_OK(nipc_batch_builder_finish(&b, &blen));
        memset(out, 0xcc, sizeof out);
        CHECK_OK(nipc_increment_batch_encode(values, n, out, blen, &len));
        CHECK_EQ_U64(len, blen);
        CHECK_MEM(out, built, blen);
        CHECK(out[blen] == 0xcc); /* nothing written past */
        if (n == 0)
            continue;
        CHECK_ERR(nipc_increment_batch_encode(values, n, out, blen - 1, &len),
                  NIPC_ERR_BUFFER_TOO_SMALL);
        CHECK_EQ_U64(len, blen);
        CHECK_ERR(nipc_increment_batch_encode(values, n, NULL, 0, &len),
                  NIPC_ERR_BUFFER_TOO_SMALL);
        CHECK_EQ_U64(len, blen);
    }
    CHECK_OK(nipc_increment_batch_encode(NULL, 0, NULL, 0, &len));
    CHECK_EQ_U64(len, 0);
    CHECK_ERR(nipc_increment_batch_encode(NULL, 1, out, sizeof out, &len),
              NIPC_ERR_INVALID_ARGUMENT);
    /* 16 x 2^28 = 2^32 bytes: one past the largest payload (values not read). */
    CHECK_ERR(nipc_increment_batch_encode(values, 1u << 28, NULL, 0, &len),
              NIPC_ERR_SIZE_OVERFLOW);
}

static void increment_batch_decode_matches_items(void)
{
    static const uint64_t values[4] = {10, 20, 30, 40};
    uint8_t good[64], p[64];
    size_t len = 0;
    CHECK_OK(nipc_increment_batch_encode(values, 4, good, sizeof good, &len));
    CHECK_EQ_U64(len, 64);

    /* Each case writes one u32 into a good payload (or shortens it); the
     * one-pass decoder must give what the per-item path gives. */
    static const struct {
        uint32_t at, value, len;
        nipc_error_t want;
    } cases[] = {
        {0, 0, 64, NIPC_OK},                            /* untouched */
        {0, 0, 31, NIPC_ERR_TRUNCATED},                 /* shorter than the directory */
        {0, 0, 63, NIPC_ERR_OUT_OF_BOUNDS},             /* item 3 runs past the end */
        {8, 12, 64, NIPC_ERR_BAD_ALIGNMENT},            /* item 1 misaligned */
        {12, 7, 64, NIPC_ERR_TRUNCATED},                /* item 1 shorter than 8 */
        {12, 9, 64, NIPC_OK},                           /* item 1 a byte longer, still inside */
        {28, 9, 64, NIPC_ERR_OUT_OF_BOUNDS},            /* item 3 a byte longer */
        {24, 32, 64, NIPC_ERR_OUT_OF_BOUNDS},           /* item 3 starts at the end */
        {16, 0xfffffff8u, 64, NIPC_ERR_OUT_OF_BOUNDS},  /* item 2 far out (wraps in 32 bits) */
        {20, UINT32_MAX, 64, NIPC_ERR_OUT_OF_BOUNDS},   /* item 2's end wraps in 32 bits */
        {0, 8, 64, NIPC_OK},                            /* item 0 read from item 1's place */
        {4, 0, 64, NIPC_ERR_TRUNCATED},                 /* item 0 empty */
        {4, 16, 64, NIPC_OK},                           /* item 0 of 16 bytes: rest ignored */
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        memcpy(p, good, sizeof good);
        put32(p + cases[c].at, cases[c].value);
        uint64_t a[4] = {0}, b[4] = {0};
        CHECK_ERR(increment_items_generic(p, cases[c].len, 4, b), cases[c].want);
        CHECK_ERR(nipc_increment_batch_decode(p, cases[c].len, 4, a), cases[c].want);
        if (cases[c].want == NIPC_OK)
            CHECK_MEM(a, b, sizeof a);
    }

    /* Two bad items: the first one's error, whichever kind. */
    memcpy(p, good, sizeof good);
    put32(p + 12, 4);  /* item 1 short */
    put32(p + 16, 3);  /* item 2 misaligned */
    uint64_t a[4];
    CHECK_ERR(nipc_increment_batch_decode(p, 64, 4, a), NIPC_ERR_TRUNCATED);
    put32(p + 8, 1);   /* item 1 misaligned too: alignment is checked first */
    CHECK_ERR(nipc_increment_batch_decode(p, 64, 4, a), NIPC_ERR_BAD_ALIGNMENT);

    CHECK_OK(nipc_increment_batch_decode(NULL, 0, 0, NULL));
    CHECK_ERR(nipc_increment_batch_decode(NULL, 8, 0, a), NIPC_ERR_INVALID_ARGUMENT);
    CHECK_ERR(nipc_increment_batch_decode(good, 64, 4, NULL), NIPC_ERR_INVALID_ARGUMENT);
    CHECK_ERR(nipc_increment_batch_decode(good, 64, UINT32_MAX, a), NIPC_ERR_TRUNCATED);
}

static void golden_string_reverse(void)
{
    uint8_t g[MAX_FILE], out[32];
    size_t glen = 0, olen = 0;
    nipc_str_t s;

    REQUIRE(load_golden("string_reverse_abc.hex", g, &glen));
    CHECK_EQ_U64(glen, 12);
    CHECK_OK(nipc_string_reverse_decode(g, glen, &s));
    CHECK(str_is(s, "abc", 3));
    CHECK(s.ptr == (const char *)g + 8);
    CHECK_OK(nipc_string_reverse_encode("abc", 3, out, sizeof out, &olen));
    CHECK_EQ_U64(olen, 12);
    CHECK_MEM(out, g, 12);

    REQUIRE(load_golden("string_reverse_empty.hex", g, &glen));
    CHECK_EQ_U64(glen, 9);
    CHECK_OK(nipc_string_reverse_decode(g, glen, &s));
    CHECK_EQ_U64(s.len, 0);
    CHECK(s.ptr == (const char *)g + 8 && s.ptr[0] == '\0');
    CHECK_OK(nipc_string_reverse_encode("", 0, out, sizeof out, &olen));
    CHECK_EQ_U64(olen, 9);
    CHECK_MEM(out, g, 9);
    CHECK_OK(nipc_string_reverse_encode(NULL, 0, out, sizeof out, &olen));
    CHECK_MEM(out, g, 9);
}

static void golden_string_reverse_batch(void)
{
    static const char *const strs[3] = {"abc", "", "hello"};
    static const uint32_t offs[3] = {0, 16, 32};
    uint8_t g[MAX_FILE], out[160], item[32];
    size_t glen = 0, plen = 0, ilen = 0;
    REQUIRE(load_golden("string_reverse_batch.hex", g, &glen));
    CHECK_EQ_U64(glen, 104);

    nipc_header_t h;
    CHECK_OK(nipc_header_decode(g, glen, &h));
    CHECK_EQ_U64(h.flags, NIPC_FLAG_BATCH);
    CHECK_EQ_U64(h.code, NIPC_METHOD_STRING_REVERSE);
    CHECK_EQ_U64(h.item_count, 3);
    CHECK_EQ_U64(h.payload_len, 72);
    CHECK_EQ_U64(h.message_id, 16);
    CHECK_OK(nipc_batch_validate(g + 32, h.payload_len, 3));
    for (uint32_t i = 0; i < 3; i++) {
        const uint8_t *p = NULL;
        uint32_t l = 0;
        nipc_str_t s;
        CHECK_OK(nipc_batch_item(g + 32, h.payload_len, 3, i, &p, &l));
        CHECK(p == g + 32 + 24 + offs[i]);
        CHECK_EQ_U64(l, 9 + strlen(strs[i]));
        CHECK_OK(nipc_string_reverse_decode(p, l, &s));
        CHECK(str_is(s, strs[i], strlen(strs[i])));
    }

    nipc_batch_builder_t b;
    memset(out, 0xcc, sizeof out);
    nipc_batch_builder_init(&b, out + 32, sizeof out - 32, 3);
    for (int i = 0; i < 3; i++) {
        CHECK_OK(nipc_string_reverse_encode(strs[i], (uint32_t)strlen(strs[i]), item,
                                            sizeof item, &ilen));
        CHECK_OK(nipc_batch_builder_add(&b, item, (uint32_t)ilen));
    }
    CHECK_OK(nipc_batch_builder_finish(&b, &plen));
    CHECK_EQ_U64(plen, 72);
    nipc_header_t e = nipc_header_make(NIPC_KIND_REQUEST, NIPC_METHOD_STRING_REVERSE,
                                       NIPC_FLAG_BATCH, 0, (uint32_t)plen, 3, 16);
    nipc_header_encode(&e, out);
    CHECK_MEM(out, g, 104);
}

/* Splits a payload into packets as a wire.md section 3 sender does. */
static uint32_t chunk_packets(const uint8_t *payload, uint32_t p, uint32_t pkt, uint64_t id,
                              uint8_t packets[][64], size_t lens[], uint32_t max)
{
    uint32_t b = pkt - 32;
    uint32_t first = p < b ? p : b;
    nipc_header_t h = nipc_header_make(NIPC_KIND_REQUEST, NIPC_METHOD_STRING_REVERSE, 0, 0, p, 1,
                                       id);
    nipc_header_encode(&h, packets[0]);
    memcpy(packets[0] + 32, payload, first);
    lens[0] = 32 + (size_t)first;
    uint32_t count = 1 + (p - first + b - 1) / b;
    uint32_t done = first;
    for (uint32_t i = 1; i < count && i < max; i++) {
        uint32_t n = p - done < b ? p - done : b;
        nipc_chunk_header_t c = {NIPC_CHUNK_MAGIC, 1, 0, id, 32 + p, i, count, n};
        nipc_chunk_header_encode(&c, packets[i]);
        memcpy(packets[i] + 32, payload + done, n);
        lens[i] = 32 + (size_t)n;
        done += n;
    }
    return count;
}

static void golden_chunk_continuation(void)
{
    uint8_t g[MAX_FILE], payload[100], packets[8][64];
    size_t glen = 0, lens[8];
    REQUIRE(load_golden("chunk_continuation.hex", g, &glen));
    CHECK_EQ_U64(glen, 36);

    nipc_chunk_header_t c;
    CHECK_OK(nipc_chunk_header_decode(g, glen, &c));
    CHECK_EQ_U64(c.message_id, 0x1122334455667788ull);
    CHECK_EQ_U64(c.total_message_len, 132);
    CHECK_EQ_U64(c.chunk_index, 3);
    CHECK_EQ_U64(c.chunk_count, 4);
    CHECK_EQ_U64(c.chunk_payload_len, glen - 32);
    /* the receiver's recomputed count matches the header */
    CHECK_EQ_U64(nipc_chunk_count(c.total_message_len - 32, 64 - 32, 64), c.chunk_count);
    for (int i = 0; i < 4; i++)
        CHECK(g[32 + i] == 96 + i);

    for (int i = 0; i < 100; i++)
        payload[i] = (uint8_t)i;
    uint32_t count = chunk_packets(payload, 100, 64, 0x1122334455667788ull, packets, lens, 8);
    REQUIRE(count == 4);
    CHECK_EQ_U64(lens[0], 64);
    CHECK_EQ_U64(lens[1], 64);
    CHECK_EQ_U64(lens[2], 64);
    CHECK_EQ_U64(lens[3], glen);
    CHECK_MEM(packets[3], g, glen);
    /* every continuation decodes with consecutive indexes */
    for (uint32_t i = 1; i < count; i++) {
        nipc_chunk_header_t d;
        CHECK_OK(nipc_chunk_header_decode(packets[i], lens[i], &d));
        CHECK_EQ_U64(d.chunk_index, i);
        CHECK_EQ_U64(d.chunk_count, 4);
        CHECK_EQ_U64(d.chunk_payload_len, lens[i] - 32);
        CHECK_MEM(packets[i] + 32, payload + 32 * i, lens[i] - 32);
    }
    nipc_header_t h;
    CHECK_OK(nipc_header_decode(packets[0], lens[0], &h));
    CHECK_EQ_U64(h.payload_len, 100);
}

static const struct snap_item golden_items[2] = {
    {177670, 0, 1, "a", "/x/a"},
    {5863242, 0x02, 0, "bc", ""},
};

static void golden_cgroups_snapshot(void)
{
    uint8_t g[MAX_FILE], out[256];
    size_t glen = 0, olen = 0;
    REQUIRE(load_golden("cgroups_snapshot_2items.hex", g, &glen));
    CHECK_EQ_U64(glen, 116);

    nipc_cgroups_view_t view;
    CHECK_OK(nipc_cgroups_resp_decode(g, glen, &view));
    CHECK_EQ_U64(view.item_count, 2);
    CHECK_EQ_U64(view.systemd_enabled, 1);
    CHECK_EQ_U64(view.generation, 7);
    for (uint32_t i = 0; i < 2; i++)
        check_item(&view, i, &golden_items[i]);
    CHECK_EQ_U64(nipc_djb2("a", 1), golden_items[0].hash);
    CHECK_EQ_U64(nipc_djb2("bc", 2), golden_items[1].hash);

    memset(out, 0xcc, sizeof out);
    CHECK_OK(build_snapshot(out, sizeof out, 1, 7, golden_items, 2, &olen));
    CHECK_EQ_U64(olen, 116);
    CHECK_MEM(out, g, 116);
    CHECK(out[116] == 0xcc); /* no trailing padding written */
}

/* -------------------------------------------------------------- INCREMENT */

static void increment_roundtrip(void)
{
    static const uint64_t values[] = {0, 1, 41, 0x0102030405060708ull, UINT64_MAX};
    uint8_t buf[16];
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
        size_t len = 0;
        uint64_t v = 0;
        memset(buf, 0xcc, sizeof buf);
        CHECK_OK(nipc_increment_encode(values[i], buf, sizeof buf, &len));
        CHECK_EQ_U64(len, 8);
        CHECK(all_bytes_are(buf + 8, 8, 0xcc));
        for (int k = 0; k < 8; k++)
            CHECK(buf[k] == (uint8_t)(values[i] >> (8 * k)));
        CHECK_OK(nipc_increment_decode(buf, len, &v));
        CHECK_EQ_U64(v, values[i]);
    }
}

static void increment_encode_small_buffer(void)
{
    uint8_t buf[8];
    size_t len = 0;
    memset(buf, 0xcc, sizeof buf);
    CHECK_ERR(nipc_increment_encode(5, buf, 7, &len), NIPC_ERR_BUFFER_TOO_SMALL);
    CHECK_EQ_U64(len, 8);
    CHECK(all_bytes_are(buf, 8, 0xcc));
    len = 0;
    CHECK_ERR(nipc_increment_encode(5, NULL, 0, &len), NIPC_ERR_BUFFER_TOO_SMALL);
    CHECK_EQ_U64(len, 8);
    CHECK_OK(nipc_increment_encode(5, buf, len, &len));
}

static void increment_reject_truncated(void)
{
    static const uint8_t b[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    uint64_t v = 99;
    CHECK_ERR(nipc_increment_decode(b, 0, &v), NIPC_ERR_TRUNCATED);
    CHECK_ERR(nipc_increment_decode(b, 7, &v), NIPC_ERR_TRUNCATED);
    CHECK_EQ_U64(v, 99);
    CHECK_OK(nipc_increment_decode(b, 8, &v));
    CHECK_EQ_U64(v, 0x0807060504030201ull);
}

static void increment_extra_bytes_ignored(void)
{
    static const uint8_t b[16] = {42, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff,
                                  0xff, 0xff, 0xff, 0xff};
    uint64_t v = 0;
    CHECK_OK(nipc_increment_decode(b, 9, &v));
    CHECK_EQ_U64(v, 42);
    CHECK_OK(nipc_increment_decode(b, 16, &v));
    CHECK_EQ_U64(v, 42);
}

/* --------------------------------------------------------- STRING_REVERSE */

static void string_reverse_roundtrip(void)
{
    static const struct {
        const char *s;
        uint32_t n;
    } cases[] = {{"", 0}, {"a", 1}, {"abc", 3}, {"a\0b", 3}, {"\0", 1}, {"12345678", 8}};
    uint8_t buf[64];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t len = 0;
        nipc_str_t s;
        memset(buf, 0xcc, sizeof buf);
        CHECK_OK(nipc_string_reverse_encode(cases[i].s, cases[i].n, buf, sizeof buf, &len));
        CHECK_EQ_U64(len, 9 + cases[i].n);
        CHECK_EQ_U64(get32(buf), 8);
        CHECK_EQ_U64(get32(buf + 4), cases[i].n);
        CHECK(buf[8 + cases[i].n] == 0);
        CHECK(buf[len] == 0xcc);
        CHECK_OK(nipc_string_reverse_decode(buf, len, &s));
        CHECK(s.ptr == (const char *)buf + 8);
        CHECK(str_is(s, cases[i].s, cases[i].n));
    }

    /* a long string, and the response convention (reversed) */
    char text[200], rev[200];
    static uint8_t big[256], big2[256];
    for (int i = 0; i < 200; i++)
        text[i] = (char)('A' + i % 26);
    size_t len = 0, len2 = 0;
    nipc_str_t s;
    CHECK_OK(nipc_string_reverse_encode(text, 200, big, sizeof big, &len));
    CHECK_OK(nipc_string_reverse_decode(big, len, &s));
    for (uint32_t i = 0; i < s.len; i++)
        rev[i] = s.ptr[s.len - 1 - i];
    CHECK_OK(nipc_string_reverse_encode(rev, s.len, big2, sizeof big2, &len2));
    CHECK_EQ_U64(len2, 209);
    CHECK(big2[8] == 'A' + 199 % 26 && big2[8 + 199] == 'A');
}

static void string_reverse_needed_size(void)
{
    uint8_t big[64], exact[64];
    size_t blen = 0, needed = 0, len = 0;
    CHECK_OK(nipc_string_reverse_encode("hello", 5, big, sizeof big, &blen));
    CHECK_EQ_U64(blen, 14);
    CHECK_ERR(nipc_string_reverse_encode("hello", 5, NULL, 0, &needed),
              NIPC_ERR_BUFFER_TOO_SMALL);
    CHECK_EQ_U64(needed, 14);
    memset(exact, 0xcc, sizeof exact);
    CHECK_ERR(nipc_string_reverse_encode("hello", 5, exact, needed - 1, &len),
              NIPC_ERR_BUFFER_TOO_SMALL);
    CHECK_EQ_U64(len, 14);
    CHECK(all_bytes_are(exact, sizeof exact, 0xcc));
    CHECK_OK(nipc_string_reverse_encode("hello", 5, exact, needed, &len));
    CHECK_EQ_U64(len, needed);
    CHECK_MEM(exact, big, blen);
    CHECK(exact[needed] == 0xcc);
}

static void string_reverse_max_length_for_buffer(void)
{
    char text[64];
    uint8_t buf[64];
    size_t len = 0;
    nipc_str_t s;
    memset(text, 'z', sizeof text);
    /* 64-byte buffer: 9 + 55 = 64 */
    CHECK_OK(nipc_string_reverse_encode(text, 55, buf, sizeof buf, &len));
    CHECK_EQ_U64(len, 64);
    CHECK_OK(nipc_string_reverse_decode(buf, len, &s));
    CHECK(str_is(s, text, 55));
    CHECK_ERR(nipc_string_reverse_encode(text, 56, buf, sizeof buf, &len),
              NIPC_ERR_BUFFER_TOO_SMALL);
    CHECK_EQ_U64(len, 65);
    /* the decoder's matching bound: length 55 in 64 bytes */
    put32(buf + 4, 56);
    CHECK_ERR(nipc_string_reverse_decode(buf, 64, &s), NIPC_ERR_OUT_OF_BOUNDS);
}

static void string_reverse_size_overflow(void)
{
    static const char dummy[1] = {'x'};
    size_t len = 0;
    /* 9 + n must fit u32; the string itself is never read in these cases */
    CHECK_ERR(nipc_string_reverse_encode(dummy, UINT32_MAX, NULL, 0, &len),
              NIPC_ERR_SIZE_OVERFLOW);
    CHECK_ERR(nipc_string_reverse_encode(dummy, UINT32_MAX - 8u, NULL, 0, &len),
              NIPC_ERR_SIZE_OVERFLOW);
    len = 0;
    CHECK_ERR(nipc_string_reverse_encode(dummy, UINT32_MAX - 9u, NULL, 0, &len),
              NIPC_ERR_BUFFER_TOO_SMALL);
    CHECK_EQ_U64(len, UINT32_MAX);
    CHECK_ERR(nipc_string_reverse_encode(NULL, 3, NULL, 0, &len), NIPC_ERR_INVALID_ARGUMENT);
}

/* "abc" written by hand, with room after it. */
static void raw_sr(uint8_t *b)
{
    memset(b, 0, 32);
    put32(b, 8);
    put32(b + 4, 3);
    memcpy(b + 8, "abc", 4);
}

static void string_reverse_reject_truncated(void)
{
    uint8_t b[32];
    nipc_str_t s;
    raw_sr(b);
    for (size_t n = 0; n < 8; n++)
        CHECK_ERR(nipc_string_reverse_decode(b, n, &s), NIPC_ERR_TRUNCATED);
    put32(b, 9); /* length is checked before the offset */
    CHECK_ERR(nipc_string_reverse_decode(b, 7, &s), NIPC_ERR_TRUNCATED);
    CHECK_ERR(nipc_string_reverse_decode(b, 4, &s), NIPC_ERR_TRUNCATED);
    put32(b, 8);
    /* 8 bytes of header: the NUL of even an empty string is missing */
    put32(b + 4, 0);
    b[8] = 0;
    CHECK_ERR(nipc_string_reverse_decode(b, 8, &s), NIPC_ERR_OUT_OF_BOUNDS);
    CHECK_OK(nipc_string_reverse_decode(b, 9, &s));
}

static void string_reverse_reject_offset(void)
{
    static const uint32_t bad[] = {0, 7, 9, 16, UINT32_MAX};
    uint8_t b[32];
    nipc_str_t s;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        raw_sr(b);
        put32(b, bad[i]);
        CHECK_ERR(nipc_string_reverse_decode(b, 12, &s), NIPC_ERR_BAD_FIELD);
    }
}

static void string_reverse_reject_length(void)
{
    uint8_t b[32];
    nipc_str_t s;
    raw_sr(b);
    CHECK_ERR(nipc_string_reverse_decode(b, 11, &s), NIPC_ERR_OUT_OF_BOUNDS); /* NUL cut */
    CHECK_OK(nipc_string_reverse_decode(b, 12, &s));
    put32(b + 4, 4);
    CHECK_ERR(nipc_string_reverse_decode(b, 12, &s), NIPC_ERR_OUT_OF_BOUNDS);
    put32(b + 4, 24); /* 9 + 24 = 33 > 32 */
    CHECK_ERR(nipc_string_reverse_decode(b, 32, &s), NIPC_ERR_OUT_OF_BOUNDS);
    put32(b + 4, 23); /* exactly fits, NUL at 31 */
    CHECK_OK(nipc_string_reverse_decode(b, 32, &s));
    /* values whose 32-bit 9 + n wraps to a small number */
    put32(b + 4, UINT32_MAX);
    CHECK_ERR(nipc_string_reverse_decode(b, 32, &s), NIPC_ERR_OUT_OF_BOUNDS);
    put32(b + 4, UINT32_MAX - 8u);
    CHECK_ERR(nipc_string_reverse_decode(b, 32, &s), NIPC_ERR_OUT_OF_BOUNDS);
    put32(b + 4, UINT32_MAX - 9u);
    CHECK_ERR(nipc_string_reverse_decode(b, 32, &s), NIPC_ERR_OUT_OF_BOUNDS);
}

static void string_reverse_reject_missing_nul(void)
{
    uint8_t b[32];
    nipc_str_t s;
    raw_sr(b);
    b[11] = 'd';
    CHECK_ERR(nipc_string_reverse_decode(b, 12, &s), NIPC_ERR_MISSING_NUL);
    CHECK_ERR(nipc_string_reverse_decode(b, 32, &s), NIPC_ERR_MISSING_NUL); /* NUL at 12 is not it */
    raw_sr(b);
    put32(b + 4, 0);
    b[8] = 'a';
    CHECK_ERR(nipc_string_reverse_decode(b, 9, &s), NIPC_ERR_MISSING_NUL);
}

static void string_reverse_accepts_nuls_and_trailing(void)
{
    uint8_t b[32];
    nipc_str_t s;
    raw_sr(b);
    b[9] = 0; /* "a\0c" */
    CHECK_OK(nipc_string_reverse_decode(b, 12, &s));
    CHECK(str_is(s, "a\0c", 3));
    raw_sr(b);
    memset(b + 12, 0x77, 20); /* trailing garbage */
    CHECK_OK(nipc_string_reverse_decode(b, 32, &s));
    CHECK(str_is(s, "abc", 3));
}

/* ------------------------------------------------- CGROUPS_SNAPSHOT request */

static void cgroups_req_encode(void)
{
    uint8_t b[8];
    size_t len = 0;
    memset(b, 0xcc, sizeof b);
    CHECK_ERR(nipc_cgroups_req_encode(b, 3, &len), NIPC_ERR_BUFFER_TOO_SMALL);
    CHECK_EQ_U64(len, 4);
    CHECK(all_bytes_are(b, 8, 0xcc));
    CHECK_ERR(nipc_cgroups_req_encode(NULL, 0, &len), NIPC_ERR_BUFFER_TOO_SMALL);
    CHECK_OK(nipc_cgroups_req_encode(b, 4, &len));
    static const uint8_t expect[4] = {1, 0, 0, 0};
    CHECK_MEM(b, expect, 4);
    CHECK(b[4] == 0xcc);
    CHECK_OK(nipc_cgroups_req_decode(b, len));
}

static void cgroups_req_reject_truncated(void)
{
    static const uint8_t b[4] = {1, 0, 0, 0};
    for (size_t n = 0; n < 4; n++)
        CHECK_ERR(nipc_cgroups_req_decode(b, n), NIPC_ERR_TRUNCATED);
    static const uint8_t bad[4] = {2, 0, 1, 0}; /* length first */
    CHECK_ERR(nipc_cgroups_req_decode(bad, 3), NIPC_ERR_TRUNCATED);
}

static void cgroups_req_reject_layout(void)
{
    uint8_t b[4] = {0, 0, 0, 0};
    CHECK_ERR(nipc_cgroups_req_decode(b, 4), NIPC_ERR_BAD_LAYOUT);
    b[0] = 2;
    CHECK_ERR(nipc_cgroups_req_decode(b, 4), NIPC_ERR_BAD_LAYOUT);
    b[0] = 1;
    b[1] = 1; /* 0x0101 */
    CHECK_ERR(nipc_cgroups_req_decode(b, 4), NIPC_ERR_BAD_LAYOUT);
    b[3] = 1; /* layout before flags */
    CHECK_ERR(nipc_cgroups_req_decode(b, 4), NIPC_ERR_BAD_LAYOUT);
}

static void cgroups_req_reject_flags(void)
{
    uint8_t b[4] = {1, 0, 1, 0};
    CHECK_ERR(nipc_cgroups_req_decode(b, 4), NIPC_ERR_BAD_FLAGS);
    b[2] = 0;
    b[3] = 0x80;
    CHECK_ERR(nipc_cgroups_req_decode(b, 4), NIPC_ERR_BAD_FLAGS);
}

static void cgroups_req_extra_bytes_ignored(void)
{
    static const uint8_t b[8] = {1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff};
    CHECK_OK(nipc_cgroups_req_decode(b, 8));
}

/* ----------------------------------------------- CGROUPS_SNAPSHOT builder */

static void cgroups_builder_roundtrip(void)
{
    static const struct snap_item items[] = {
        {1, 0, 0, "", ""},
        {2, 1, 1, "x", ""},
        {3, 2, 0, "", "/y"},
        {4, 0xffffffffu, 0xffffffffu, "name-with-6", "/sys/fs/cgroup/name-with-6"},
        {0xffffffffu, 7, 1, "a\0b", "p\0q"},
        {6, 0, 1, "exactly-eight-b", "0123456"},
    };
    const uint32_t n = sizeof items / sizeof items[0];
    static uint8_t buf[1024];
    size_t len = 0;
    memset(buf, 0xcc, sizeof buf);
    nipc_cgroups_builder_t b;
    nipc_cgroups_builder_init(&b, buf, sizeof buf, n, 0xfffffffeu, UINT64_MAX);
    /* explicit lengths so interior NULs travel */
    static const uint32_t name_lens[] = {0, 1, 0, 11, 3, 15};
    static const uint32_t path_lens[] = {0, 0, 2, 26, 3, 7};
    for (uint32_t i = 0; i < n; i++)
        CHECK_OK(nipc_cgroups_builder_add(&b, items[i].hash, items[i].options, items[i].enabled,
                                          items[i].name, name_lens[i], items[i].path,
                                          path_lens[i]));
    CHECK_OK(nipc_cgroups_builder_finish(&b, &len));

    /* layout computed independently: item i at align8(end of i-1), length 34 + n + p */
    uint64_t off = 0, end = 0;
    for (uint32_t i = 0; i < n; i++) {
        off = i ? (end + 7) / 8 * 8 : 0;
        uint64_t ilen = 34u + name_lens[i] + path_lens[i];
        CHECK_EQ_U64(get32(buf + 24 + 8 * i), off);
        CHECK_EQ_U64(get32(buf + 24 + 8 * i + 4), ilen);
        CHECK(all_bytes_are(buf + 24 + 8 * n + end, (size_t)(off - end), 0)); /* gap */
        end = off + ilen;
    }
    CHECK_EQ_U64(len, 24 + 8 * n + end); /* no trailing padding */
    CHECK(buf[len] == 0xcc);

    nipc_cgroups_view_t view;
    CHECK_OK(nipc_cgroups_resp_decode(buf, len, &view));
    CHECK_EQ_U64(view.item_count, n);
    CHECK_EQ_U64(view.systemd_enabled, 0xfffffffeu); /* carried verbatim, not as a bool */
    CHECK_EQ_U64(view.generation, UINT64_MAX);
    CHECK_EQ_U64(get32(buf + 8), 0xfffffffeu);
    for (uint32_t i = 0; i < n; i++) {
        nipc_cgroup_item_t it;
        CHECK_OK(nipc_cgroups_resp_item(&view, i, &it));
        CHECK_EQ_U64(it.hash, items[i].hash);
        CHECK_EQ_U64(it.options, items[i].options);
        CHECK_EQ_U64(it.enabled, items[i].enabled);
        CHECK(str_is(it.name, items[i].name, name_lens[i]));
        CHECK(str_is(it.path, items[i].path, path_lens[i]));
    }
}

static void cgroups_builder_empty(void)
{
    uint8_t buf[32];
    size_t len = 0;
    nipc_cgroups_builder_t b;
    memset(buf, 0xcc, sizeof buf);
    nipc_cgroups_builder_init(&b, buf, 24, 0, 0, 5);
    CHECK_OK(nipc_cgroups_builder_finish(&b, &len));
    CHECK_EQ_U64(len, 24);
    CHECK(buf[24] == 0xcc);
    static const uint8_t expect[24] = {1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                                       0, 0, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0};
    CHECK_MEM(buf, expect, 24);

    nipc_cgroups_builder_init(&b, buf, 23, 0, 0, 5);
    CHECK_ERR(nipc_cgroups_builder_finish(&b, &len), NIPC_ERR_BUFFER_TOO_SMALL);
    CHECK_EQ_U64(len, 24);
    nipc_cgroups_builder_init(&b, NULL, 0, 0, 0, 5);
    CHECK_ERR(nipc_cgroups_builder_finish(&b, &len), NIPC_ERR_BUFFER_TOO_SMALL);
    CHECK_EQ_U64(len, 24);
}

static void cgroups_builder_one_item(void)
{
    uint8_t buf[128];
    size_t len = 0;
    static const struct snap_item one = {9, 1, 1, "one", "/one"};
    CHECK_OK(build_snapshot(buf, sizeof buf, 0, 1, &one, 1, &len));
    CHECK_EQ_U64(len, 24 + 8 + 34 + 3 + 4);
    nipc_cgroups_view_t view;
    CHECK_OK(nipc_cgroups_resp_decode(buf, len, &view));
    CHECK_EQ_U64(view.item_count, 1);
    check_item(&view, 0, &one);
    nipc_cgroup_item_t it;
    CHECK_ERR(nipc_cgroups_resp_item(&view, 1, &it), NIPC_ERR_INVALID_ARGUMENT);
}

static void cgroups_builder_needed_size(void)
{
    static uint8_t big[512], exact[512];
    size_t blen = 0, needed = 0, len = 0;
    CHECK_OK(build_snapshot(big, sizeof big, 1, 999, vector_items, 3, &blen));
    CHECK_EQ_U64(blen, 266);

    CHECK_ERR(build_snapshot(NULL, 0, 1, 999, vector_items, 3, &needed),
              NIPC_ERR_BUFFER_TOO_SMALL);
    CHECK_EQ_U64(needed, 266);
    /* too small for the header alone */
    CHECK_ERR(build_snapshot(exact, 20, 1, 999, vector_items, 3, &len),
              NIPC_ERR_BUFFER_TOO_SMALL);
    CHECK_EQ_U64(len, 266);
    /* room for the first two items only */
    CHECK_ERR(build_snapshot(exact, 240, 1, 999, vector_items, 3, &len),
              NIPC_ERR_BUFFER_TOO_SMALL);
    CHECK_EQ_U64(len, 266);
    CHECK_ERR(build_snapshot(exact, needed - 1, 1, 999, vector_items, 3, &len),
              NIPC_ERR_BUFFER_TOO_SMALL);
    CHECK_EQ_U64(len, 266);
    memset(exact, 0xcc, sizeof exact);
    CHECK_OK(build_snapshot(exact, needed, 1, 999, vector_items, 3, &len));
    CHECK_EQ_U64(len, needed);
    CHECK_MEM(exact, big, blen);
    CHECK(exact[needed] == 0xcc);
}

/* Size of a snapshot of n items of `ilen` bytes each, from codecs.md 3. */
static uint64_t snapshot_size(uint64_t n, uint64_t ilen)
{
    if (n == 0)
        return 24;
    return 24 + 8 * n + (n - 1) * ((ilen + 7) / 8 * 8) + ilen;
}

static void cgroups_builder_max_items(void)
{
    static uint8_t buf[8192];
    static struct snap_item items[80];
    size_t len = 0;
    nipc_cgroups_builder_t b;

    /* Empty strings: 34-byte items, 48 bytes per item but 6 less for the
     * last one: 18 + 48N <= 1024 gives N = 20 (978 bytes); 21 needs 1026. */
    CHECK_EQ_U64(snapshot_size(20, 34), 978);
    CHECK_EQ_U64(snapshot_size(21, 34), 1026);
    for (int i = 0; i < 80; i++) {
        items[i].hash = (uint32_t)i;
        items[i].options = 0;
        items[i].enabled = 1;
        items[i].name = "";
        items[i].path = "";
    }
    CHECK_OK(build_snapshot(buf, 1024, 0, 0, items, 20, &len));
    CHECK_EQ_U64(len, 978);
    CHECK_ERR(build_snapshot(buf, 1024, 0, 0, items, 21, &len), NIPC_ERR_BUFFER_TOO_SMALL);
    CHECK_EQ_U64(len, 1026);

    /* 49-byte items ("name5" + 10-byte path) under a 4096 limit. */
    uint64_t limit = 4096, n = 0;
    while (snapshot_size(n + 1, 49) <= limit)
        n++;
    CHECK_EQ_U64(n, 63);
    for (int i = 0; i < 80; i++) {
        items[i].name = "name5";
        items[i].path = "/path/0010";
    }
    nipc_cgroups_builder_init(&b, buf, (size_t)limit, (uint32_t)n, 0, 0);
    for (uint32_t i = 0; i < n; i++)
        CHECK_OK(nipc_cgroups_builder_add(&b, i, 0, 1, "name5", 5, "/path/0010", 10));
    CHECK_OK(nipc_cgroups_builder_finish(&b, &len));
    CHECK_EQ_U64(len, snapshot_size(n, 49));
    CHECK(len <= limit && len + 64 > limit);
    CHECK_ERR(build_snapshot(buf, (size_t)limit, 0, 0, items, (uint32_t)n + 1, &len),
              NIPC_ERR_BUFFER_TOO_SMALL);
    CHECK_EQ_U64(len, snapshot_size(n + 1, 49));
    nipc_cgroups_view_t view;
    CHECK_OK(build_snapshot(buf, sizeof buf, 0, 0, items, (uint32_t)n + 1, &len));
    CHECK_OK(nipc_cgroups_resp_decode(buf, len, &view));
    CHECK_EQ_U64(view.item_count, n + 1);
}

static void cgroups_builder_max_strings(void)
{
    char text[80];
    uint8_t buf[160];
    size_t len = 0;
    nipc_cgroups_builder_t b;
    memset(text, 'n', sizeof text);

    /* One item in 128 bytes: 24 + 8 + 34 + name + path <= 128, so 62 string bytes. */
    nipc_cgroups_builder_init(&b, buf, 128, 1, 0, 0);
    CHECK_OK(nipc_cgroups_builder_add(&b, 1, 0, 0, text, 62, "", 0));
    CHECK_OK(nipc_cgroups_builder_finish(&b, &len));
    CHECK_EQ_U64(len, 128);
    nipc_cgroups_view_t view;
    nipc_cgroup_item_t it;
    CHECK_OK(nipc_cgroups_resp_decode(buf, len, &view));
    CHECK_OK(nipc_cgroups_resp_item(&view, 0, &it));
    CHECK(str_is(it.name, text, 62));
    CHECK_EQ_U64(it.path.len, 0);

    nipc_cgroups_builder_init(&b, buf, 128, 1, 0, 0);
    CHECK_OK(nipc_cgroups_builder_add(&b, 1, 0, 0, text, 31, text, 31));
    CHECK_OK(nipc_cgroups_builder_finish(&b, &len));
    CHECK_EQ_U64(len, 128);

    nipc_cgroups_builder_init(&b, buf, 128, 1, 0, 0);
    CHECK_ERR(nipc_cgroups_builder_add(&b, 1, 0, 0, text, 32, text, 31),
              NIPC_ERR_BUFFER_TOO_SMALL);
    CHECK_ERR(nipc_cgroups_builder_finish(&b, &len), NIPC_ERR_BUFFER_TOO_SMALL);
    CHECK_EQ_U64(len, 129);
}

static void cgroups_builder_item_count(void)
{
    uint8_t buf[256];
    size_t len = 0;
    nipc_cgroups_builder_t b;

    nipc_cgroups_builder_init(&b, buf, sizeof buf, 1, 0, 0);
    CHECK_OK(nipc_cgroups_builder_add(&b, 1, 0, 0, "a", 1, "b", 1));
    CHECK_ERR(nipc_cgroups_builder_add(&b, 2, 0, 0, "a", 1, "b", 1), NIPC_ERR_BAD_ITEM_COUNT);
    CHECK_ERR(nipc_cgroups_builder_finish(&b, &len), NIPC_ERR_BAD_ITEM_COUNT);

    nipc_cgroups_builder_init(&b, buf, sizeof buf, 2, 0, 0);
    CHECK_OK(nipc_cgroups_builder_add(&b, 1, 0, 0, "a", 1, "b", 1));
    CHECK_ERR(nipc_cgroups_builder_finish(&b, &len), NIPC_ERR_BAD_ITEM_COUNT);

    nipc_cgroups_builder_init(&b, buf, sizeof buf, 0, 0, 0);
    CHECK_ERR(nipc_cgroups_builder_add(&b, 1, 0, 0, "", 0, "", 0), NIPC_ERR_BAD_ITEM_COUNT);

    nipc_cgroups_builder_init(&b, buf, sizeof buf, 1, 0, 0);
    CHECK_ERR(nipc_cgroups_builder_add(&b, 1, 0, 0, NULL, 1, "", 0), NIPC_ERR_INVALID_ARGUMENT);
    CHECK_ERR(nipc_cgroups_builder_finish(&b, &len), NIPC_ERR_INVALID_ARGUMENT);
    nipc_cgroups_builder_init(&b, buf, sizeof buf, 1, 0, 0);
    CHECK_ERR(nipc_cgroups_builder_add(&b, 1, 0, 0, "", 0, NULL, 2), NIPC_ERR_INVALID_ARGUMENT);
    nipc_cgroups_builder_init(&b, buf, sizeof buf, 1, 0, 0);
    CHECK_OK(nipc_cgroups_builder_add(&b, 1, 0, 0, NULL, 0, NULL, 0));
    CHECK_OK(nipc_cgroups_builder_finish(&b, &len));
    CHECK_EQ_U64(len, 24 + 8 + 34);
}

static void cgroups_builder_size_overflow(void)
{
    static const char dummy[1] = {'x'};
    size_t len = 0;
    nipc_cgroups_builder_t b;

    /* a directory alone past 4 GiB: 24 + 8 * 2^29 */
    nipc_cgroups_builder_init(&b, NULL, 0, 0x20000000u, 0, 0);
    CHECK_ERR(nipc_cgroups_builder_add(&b, 0, 0, 0, "", 0, "", 0), NIPC_ERR_SIZE_OVERFLOW);
    CHECK_ERR(nipc_cgroups_builder_finish(&b, &len), NIPC_ERR_SIZE_OVERFLOW);
    nipc_cgroups_builder_init(&b, NULL, 0, UINT32_MAX, 0, 0);
    CHECK_ERR(nipc_cgroups_builder_finish(&b, &len), NIPC_ERR_SIZE_OVERFLOW);

    /* the largest directory that fits: 24 + 8 * 536870908 = UINT32_MAX - 7 */
    nipc_cgroups_builder_init(&b, NULL, 0, 536870908u, 0, 0);
    CHECK_ERR(nipc_cgroups_builder_add(&b, 0, 0, 0, "", 0, "", 0), NIPC_ERR_SIZE_OVERFLOW);

    /* one item: 24 + 8 + 34 + n <= UINT32_MAX */
    nipc_cgroups_builder_init(&b, NULL, 0, 1, 0, 0);
    CHECK_ERR(nipc_cgroups_builder_add(&b, 0, 0, 0, dummy, UINT32_MAX - 66u, "", 0),
              NIPC_ERR_BUFFER_TOO_SMALL);
    CHECK_ERR(nipc_cgroups_builder_finish(&b, &len), NIPC_ERR_BUFFER_TOO_SMALL);
    CHECK_EQ_U64(len, UINT32_MAX);
    nipc_cgroups_builder_init(&b, NULL, 0, 1, 0, 0);
    CHECK_ERR(nipc_cgroups_builder_add(&b, 0, 0, 0, dummy, UINT32_MAX - 65u, "", 0),
              NIPC_ERR_SIZE_OVERFLOW);
    nipc_cgroups_builder_init(&b, NULL, 0, 1, 0, 0);
    CHECK_ERR(nipc_cgroups_builder_add(&b, 0, 0, 0, dummy, UINT32_MAX, dummy, UINT32_MAX),
              NIPC_ERR_SIZE_OVERFLOW);
    CHECK_ERR(nipc_cgroups_builder_finish(&b, &len), NIPC_ERR_SIZE_OVERFLOW);
    /* the path half of the sum, and two items overflowing together */
    nipc_cgroups_builder_init(&b, NULL, 0, 1, 0, 0);
    CHECK_ERR(nipc_cgroups_builder_add(&b, 0, 0, 0, "", 0, dummy, UINT32_MAX - 65u),
              NIPC_ERR_SIZE_OVERFLOW);
    nipc_cgroups_builder_init(&b, NULL, 0, 2, 0, 0);
    CHECK_ERR(nipc_cgroups_builder_add(&b, 0, 0, 0, dummy, 0x80000000u, "", 0),
              NIPC_ERR_BUFFER_TOO_SMALL);
    CHECK_ERR(nipc_cgroups_builder_add(&b, 0, 0, 0, dummy, 0x80000000u, "", 0),
              NIPC_ERR_SIZE_OVERFLOW);
    CHECK_ERR(nipc_cgroups_builder_finish(&b, &len), NIPC_ERR_SIZE_OVERFLOW);
}

/* ------------------------------------------------ CGROUPS_SNAPSHOT decode */

static size_t load_resp(uint8_t *v)
{
    size_t len = 0;
    if (!load_vector("cgroups_resp.bin", v, &len) || len != 266)
        return 0;
    return len;
}

static void cgroups_resp_reject_truncated(void)
{
    uint8_t v[MAX_FILE];
    size_t len = load_resp(v);
    REQUIRE(len);
    nipc_cgroups_view_t view;
    CHECK_ERR(nipc_cgroups_resp_decode(v, 0, &view), NIPC_ERR_TRUNCATED);
    CHECK_ERR(nipc_cgroups_resp_decode(v, 23, &view), NIPC_ERR_TRUNCATED);
    CHECK_ERR(nipc_cgroups_resp_decode(NULL, 0, &view), NIPC_ERR_TRUNCATED);
    /* length first: a short header with bad fields is still TRUNCATED */
    put16(v, 2);
    put16(v + 2, 1);
    CHECK_ERR(nipc_cgroups_resp_decode(v, 23, &view), NIPC_ERR_TRUNCATED);
    CHECK_ERR(nipc_cgroups_resp_decode(v, 16, &view), NIPC_ERR_TRUNCATED);
    CHECK_ERR(nipc_cgroups_resp_decode(v, 24, &view), NIPC_ERR_BAD_LAYOUT);
}

static void cgroups_resp_reject_layout(void)
{
    uint8_t v[MAX_FILE];
    size_t len = load_resp(v);
    REQUIRE(len);
    nipc_cgroups_view_t view;
    put16(v, 2);
    CHECK_ERR(nipc_cgroups_resp_decode(v, len, &view), NIPC_ERR_BAD_LAYOUT);
    put16(v, 0);
    CHECK_ERR(nipc_cgroups_resp_decode(v, len, &view), NIPC_ERR_BAD_LAYOUT);
    put16(v + 2, 1); /* layout before flags and reserved */
    put32(v + 12, 1);
    CHECK_ERR(nipc_cgroups_resp_decode(v, len, &view), NIPC_ERR_BAD_LAYOUT);
}

static void cgroups_resp_reject_flags(void)
{
    uint8_t v[MAX_FILE];
    size_t len = load_resp(v);
    REQUIRE(len);
    nipc_cgroups_view_t view;
    put16(v + 2, 1);
    CHECK_ERR(nipc_cgroups_resp_decode(v, len, &view), NIPC_ERR_BAD_FLAGS);
    put32(v + 12, 1); /* flags before reserved */
    CHECK_ERR(nipc_cgroups_resp_decode(v, len, &view), NIPC_ERR_BAD_FLAGS);
}

static void cgroups_resp_reject_reserved(void)
{
    uint8_t v[MAX_FILE];
    size_t len = load_resp(v);
    REQUIRE(len);
    nipc_cgroups_view_t view;
    put32(v + 12, 1);
    CHECK_ERR(nipc_cgroups_resp_decode(v, len, &view), NIPC_ERR_BAD_RESERVED);
    put32(v + 12, 0x80000000u);
    CHECK_ERR(nipc_cgroups_resp_decode(v, len, &view), NIPC_ERR_BAD_RESERVED);
}

static void cgroups_resp_reject_directory_beyond(void)
{
    uint8_t v[MAX_FILE];
    size_t len = load_resp(v);
    REQUIRE(len);
    nipc_cgroups_view_t view;
    /* 24 + 8N in 32 bits would be 24, 16, 8: all "fit" a 266-byte payload */
    static const uint32_t huge[] = {0x20000000u, 0x1fffffffu, 0x1ffffffeu, UINT32_MAX};
    for (size_t i = 0; i < sizeof huge / sizeof huge[0]; i++) {
        put32(v + 4, huge[i]);
        CHECK_ERR(nipc_cgroups_resp_decode(v, len, &view), NIPC_ERR_TRUNCATED);
    }
    /* just one entry too many for the bytes: 24 + 8 * 31 = 272 > 266 */
    put32(v + 4, 31);
    CHECK_ERR(nipc_cgroups_resp_decode(v, len, &view), NIPC_ERR_TRUNCATED);
    /* an empty snapshot that claims one item */
    uint8_t e[32];
    memset(e, 0, sizeof e);
    put16(e, 1);
    put32(e + 4, 1);
    CHECK_ERR(nipc_cgroups_resp_decode(e, 24, &view), NIPC_ERR_TRUNCATED);
    CHECK_ERR(nipc_cgroups_resp_decode(e, 31, &view), NIPC_ERR_TRUNCATED);
}

static void cgroups_resp_reject_misaligned_entry(void)
{
    uint8_t v[MAX_FILE];
    size_t len = load_resp(v);
    REQUIRE(len);
    nipc_cgroups_view_t view;
    put32(v + 24 + 8, 73); /* entry 1 offset 72 -> 73 */
    CHECK_ERR(nipc_cgroups_resp_decode(v, len, &view), NIPC_ERR_BAD_ALIGNMENT);
    put32(v + 24 + 8, 76);
    CHECK_ERR(nipc_cgroups_resp_decode(v, len, &view), NIPC_ERR_BAD_ALIGNMENT);
}

static void cgroups_resp_reject_entry_out_of_bounds(void)
{
    uint8_t v[MAX_FILE];
    size_t len = load_resp(v);
    REQUIRE(len);
    nipc_cgroups_view_t view;
    /* packed area is 266 - 48 = 218 bytes; entry 2 is {184, 34} and ends there */
    put32(v + 24 + 20, 35);
    CHECK_ERR(nipc_cgroups_resp_decode(v, len, &view), NIPC_ERR_OUT_OF_BOUNDS);
    len = load_resp(v);
    CHECK_ERR(nipc_cgroups_resp_decode(v, len - 1, &view), NIPC_ERR_OUT_OF_BOUNDS);
    /* 32-bit offset + length wraps to 0x20 */
    len = load_resp(v);
    put32(v + 24 + 16, 0xfffffff8u);
    put32(v + 24 + 20, 0x28);
    CHECK_ERR(nipc_cgroups_resp_decode(v, len, &view), NIPC_ERR_OUT_OF_BOUNDS);
    len = load_resp(v);
    put32(v + 24 + 20, UINT32_MAX);
    CHECK_ERR(nipc_cgroups_resp_decode(v, len, &view), NIPC_ERR_OUT_OF_BOUNDS);
}

static void cgroups_resp_reject_short_entry(void)
{
    uint8_t v[MAX_FILE];
    size_t len = load_resp(v);
    REQUIRE(len);
    nipc_cgroups_view_t view;
    put32(v + 24 + 20, 31);
    CHECK_ERR(nipc_cgroups_resp_decode(v, len, &view), NIPC_ERR_BAD_FIELD);
    put32(v + 24 + 20, 0);
    CHECK_ERR(nipc_cgroups_resp_decode(v, len, &view), NIPC_ERR_BAD_FIELD);
    /* 32 bytes pass the directory; the item then has no room for its strings */
    put32(v + 24 + 20, 32);
    CHECK_OK(nipc_cgroups_resp_decode(v, len, &view));
    nipc_cgroup_item_t it;
    CHECK_ERR(nipc_cgroups_resp_item(&view, 2, &it), NIPC_ERR_OUT_OF_BOUNDS);
}

static void cgroups_resp_unchecked(void)
{
    uint8_t v[MAX_FILE];
    size_t len = load_resp(v);
    REQUIRE(len);
    nipc_cgroups_view_t view;
    nipc_cgroup_item_t it;
    /* item order and overlap: entries 0 and 2 swapped, entry 1 = entry 0 */
    put32(v + 24 + 0, 184);
    put32(v + 24 + 4, 34);
    put32(v + 24 + 16, 0);
    put32(v + 24 + 20, 69);
    put32(v + 24 + 8, 0);
    put32(v + 24 + 12, 69);
    CHECK_OK(nipc_cgroups_resp_decode(v, len, &view));
    check_item(&view, 0, &vector_items[2]);
    check_item(&view, 1, &vector_items[0]);
    check_item(&view, 2, &vector_items[0]);
    /* trailing bytes after the last item */
    uint8_t w[MAX_FILE];
    len = load_resp(w);
    memset(w + len, 0x55, 10);
    CHECK_OK(nipc_cgroups_resp_decode(w, len + 10, &view));
    CHECK_OK(nipc_cgroups_resp_item(&view, 2, &it));
    /* any systemd_enabled and generation */
    put32(w + 8, UINT32_MAX);
    CHECK_OK(nipc_cgroups_resp_decode(w, len, &view));
    CHECK_EQ_U64(view.systemd_enabled, UINT32_MAX);
}

/* ------------------------------------------------- CGROUPS_SNAPSHOT items */

/*
 * One-item snapshot written by hand: header, directory {0, L}, item at 32
 * with name "abc" at item +32 (NUL at +35) and path "/p" at +36 (NUL at +38),
 * L = 39. Item field n is at payload 32 + n.
 */
#define IT 32u
static size_t raw_snap1(uint8_t *p)
{
    memset(p, 0, 128);
    put16(p, 1);
    put32(p + 4, 1);
    put32(p + 24, 0);
    put32(p + 28, 39);
    put16(p + IT + 0, 1);
    put32(p + IT + 4, 1234);
    put32(p + IT + 16, 32);
    put32(p + IT + 20, 3);
    put32(p + IT + 24, 36);
    put32(p + IT + 28, 2);
    memcpy(p + IT + 32, "abc", 4);
    memcpy(p + IT + 36, "/p", 3);
    return IT + 39;
}

static nipc_error_t snap1_item(uint8_t *p, size_t len, nipc_cgroup_item_t *it)
{
    nipc_cgroups_view_t view;
    nipc_error_t err = nipc_cgroups_resp_decode(p, len, &view);
    if (err != NIPC_OK)
        return err;
    return nipc_cgroups_resp_item(&view, 0, it);
}

static void cgroups_item_hand_written_ok(void)
{
    uint8_t p[128];
    size_t len = raw_snap1(p);
    nipc_cgroup_item_t it;
    CHECK_OK(snap1_item(p, len, &it));
    CHECK_EQ_U64(it.hash, 1234);
    CHECK(str_is(it.name, "abc", 3));
    CHECK(str_is(it.path, "/p", 2));
    CHECK(it.name.ptr == (const char *)p + IT + 32);
}

static void cgroups_item_reject_index(void)
{
    uint8_t p[128];
    size_t len = raw_snap1(p);
    nipc_cgroups_view_t view;
    nipc_cgroup_item_t it;
    CHECK_OK(nipc_cgroups_resp_decode(p, len, &view));
    CHECK_ERR(nipc_cgroups_resp_item(&view, 1, &it), NIPC_ERR_INVALID_ARGUMENT);
    CHECK_ERR(nipc_cgroups_resp_item(&view, UINT32_MAX, &it), NIPC_ERR_INVALID_ARGUMENT);
}

static void cgroups_item_reject_layout(void)
{
    uint8_t p[128];
    size_t len = raw_snap1(p);
    nipc_cgroup_item_t it;
    put16(p + IT, 2);
    CHECK_ERR(snap1_item(p, len, &it), NIPC_ERR_BAD_LAYOUT);
    put16(p + IT, 0);
    CHECK_ERR(snap1_item(p, len, &it), NIPC_ERR_BAD_LAYOUT);
    put16(p + IT + 2, 1); /* layout before flags */
    CHECK_ERR(snap1_item(p, len, &it), NIPC_ERR_BAD_LAYOUT);
}

static void cgroups_item_reject_flags(void)
{
    uint8_t p[128];
    size_t len = raw_snap1(p);
    nipc_cgroup_item_t it;
    put16(p + IT + 2, 1);
    CHECK_ERR(snap1_item(p, len, &it), NIPC_ERR_BAD_FLAGS);
    put16(p + IT + 2, 0x8000);
    CHECK_ERR(snap1_item(p, len, &it), NIPC_ERR_BAD_FLAGS);
}

static void cgroups_item_reject_offset_in_fixed_part(void)
{
    uint8_t p[128];
    size_t len;
    nipc_cgroup_item_t it;
    /* a string starting inside the 32-byte fixed part, with a NUL where it ends */
    len = raw_snap1(p);
    put32(p + IT + 16, 31);
    put32(p + IT + 20, 4);
    CHECK_ERR(snap1_item(p, len, &it), NIPC_ERR_OUT_OF_BOUNDS);
    len = raw_snap1(p);
    put32(p + IT + 16, 0);
    put32(p + IT + 20, 2); /* item +2 is flags = 0: a "NUL" */
    CHECK_ERR(snap1_item(p, len, &it), NIPC_ERR_OUT_OF_BOUNDS);
    len = raw_snap1(p);
    put32(p + IT + 24, 31);
    put32(p + IT + 28, 1);
    CHECK_ERR(snap1_item(p, len, &it), NIPC_ERR_OUT_OF_BOUNDS);
    len = raw_snap1(p);
    put32(p + IT + 24, 28); /* path_length field bytes */
    put32(p + IT + 28, 0);
    CHECK_ERR(snap1_item(p, len, &it), NIPC_ERR_OUT_OF_BOUNDS);
}

static void cgroups_item_reject_string_past_item(void)
{
    uint8_t p[128];
    size_t len;
    nipc_cgroup_item_t it;
    /* path "/p" + NUL ends exactly at the item end (39); one more byte is past it
     * even though the payload has zero bytes there */
    len = raw_snap1(p);
    put32(p + IT + 28, 3);
    CHECK_ERR(snap1_item(p, len + 8, &it), NIPC_ERR_OUT_OF_BOUNDS);
    len = raw_snap1(p);
    put32(p + IT + 24, 39);
    put32(p + IT + 28, 0);
    CHECK_ERR(snap1_item(p, len + 8, &it), NIPC_ERR_OUT_OF_BOUNDS);
    len = raw_snap1(p);
    put32(p + IT + 16, 40);
    put32(p + IT + 20, 0);
    CHECK_ERR(snap1_item(p, len + 8, &it), NIPC_ERR_OUT_OF_BOUNDS);
}

static void cgroups_item_reject_wrapping_string(void)
{
    /* offset + length + 1 computed in 32 bits would wrap into the item */
    uint8_t p[128];
    size_t len;
    nipc_cgroup_item_t it;
    len = raw_snap1(p);
    put32(p + IT + 20, UINT32_MAX); /* name 32 + max + 1 = 32 */
    CHECK_ERR(snap1_item(p, len, &it), NIPC_ERR_OUT_OF_BOUNDS);
    len = raw_snap1(p);
    put32(p + IT + 20, UINT32_MAX - 32u); /* 32 + len + 1 = 0 */
    CHECK_ERR(snap1_item(p, len, &it), NIPC_ERR_OUT_OF_BOUNDS);
    len = raw_snap1(p);
    put32(p + IT + 24, 0xfffffff0u); /* path 0xfffffff0 + 0x11 + 1 = 2 */
    put32(p + IT + 28, 0x11u);
    CHECK_ERR(snap1_item(p, len, &it), NIPC_ERR_OUT_OF_BOUNDS);
    len = raw_snap1(p);
    put32(p + IT + 24, UINT32_MAX);
    put32(p + IT + 28, 0);
    CHECK_ERR(snap1_item(p, len, &it), NIPC_ERR_OUT_OF_BOUNDS);
    len = raw_snap1(p);
    put32(p + IT + 24, UINT32_MAX);
    put32(p + IT + 28, UINT32_MAX);
    CHECK_ERR(snap1_item(p, len, &it), NIPC_ERR_OUT_OF_BOUNDS);
}

static void cgroups_item_reject_missing_nul(void)
{
    uint8_t p[128];
    size_t len;
    nipc_cgroup_item_t it;
    len = raw_snap1(p);
    p[IT + 35] = 'd'; /* name "abc" loses its NUL */
    CHECK_ERR(snap1_item(p, len, &it), NIPC_ERR_MISSING_NUL);
    len = raw_snap1(p);
    p[IT + 38] = 'q'; /* path "/p" loses its NUL */
    CHECK_ERR(snap1_item(p, len, &it), NIPC_ERR_MISSING_NUL);
    len = raw_snap1(p);
    put32(p + IT + 20, 2); /* name "ab": byte +34 is 'c' */
    CHECK_ERR(snap1_item(p, len, &it), NIPC_ERR_MISSING_NUL);
}

static void cgroups_item_reject_overlap(void)
{
    uint8_t p[128];
    size_t len;
    nipc_cgroup_item_t it;
    /* the same range */
    len = raw_snap1(p);
    put32(p + IT + 24, 32);
    put32(p + IT + 28, 3);
    CHECK_ERR(snap1_item(p, len, &it), NIPC_ERR_OVERLAP);
    /* path is the name's NUL (empty path at +35) */
    len = raw_snap1(p);
    put32(p + IT + 24, 35);
    put32(p + IT + 28, 0);
    CHECK_ERR(snap1_item(p, len, &it), NIPC_ERR_OVERLAP);
    /* name "bc" inside path "abc" */
    len = raw_snap1(p);
    put32(p + IT + 16, 33);
    put32(p + IT + 20, 2);
    put32(p + IT + 24, 32);
    put32(p + IT + 28, 3);
    CHECK_ERR(snap1_item(p, len, &it), NIPC_ERR_OVERLAP);
    /* name (empty, at +35) is the path's NUL: path before name */
    len = raw_snap1(p);
    put32(p + IT + 16, 35);
    put32(p + IT + 20, 0);
    put32(p + IT + 24, 32);
    put32(p + IT + 28, 3);
    CHECK_ERR(snap1_item(p, len, &it), NIPC_ERR_OVERLAP);
}

static void cgroups_item_accepts_unusual_layouts(void)
{
    uint8_t p[128];
    size_t len;
    nipc_cgroup_item_t it;
    /* path before name, adjacent, no overlap */
    len = raw_snap1(p);
    put32(p + IT + 16, 36);
    put32(p + IT + 20, 2);
    put32(p + IT + 24, 32);
    put32(p + IT + 28, 3);
    CHECK_OK(snap1_item(p, len, &it));
    CHECK(str_is(it.name, "/p", 2));
    CHECK(str_is(it.path, "abc", 3));
    /* interior NULs */
    len = raw_snap1(p);
    p[IT + 33] = 0;
    CHECK_OK(snap1_item(p, len, &it));
    CHECK(str_is(it.name, "a\0c", 3));
    /* trailing bytes inside the item and a gap between the strings */
    len = raw_snap1(p);
    put32(p + 28, 48);
    put32(p + IT + 24, 40);
    memcpy(p + IT + 40, "/p", 3);
    memset(p + IT + 43, 0x66, 5);
    CHECK_OK(snap1_item(p, len + 9, &it));
    CHECK(str_is(it.path, "/p", 2));
}

/* ------------------------------------------------------------------ djb2 */

static void djb2_values(void)
{
    /* values computed independently (h = h * 33 + c from 5381, mod 2^32) */
    CHECK_EQ_U64(nipc_djb2("", 0), 5381);
    CHECK_EQ_U64(nipc_djb2(NULL, 0), 5381);
    CHECK_EQ_U64(nipc_djb2("a", 1), 177670);
    CHECK_EQ_U64(nipc_djb2("bc", 2), 5863242);
    CHECK_EQ_U64(nipc_djb2("init.scope", 10), 663112545u);
    CHECK_EQ_U64(nipc_djb2("\xff", 1), 177828); /* bytes are unsigned */
    CHECK_EQ_U64(nipc_djb2("a\0b", 3), (177670u * 33u + 0u) * 33u + 98u);
    char text[440];
    for (int i = 0; i < 10; i++)
        memcpy(text + 44 * i, "/sys/fs/cgroup/system.slice/docker-abc.scope", 44);
    CHECK_EQ_U64(nipc_djb2(text, sizeof text), 1422950047u); /* wraps many times */
}

T_MAIN(T_CASE(hex_loader_self_check), T_CASE(vectors_all_present), T_CASE(vector_header),
       T_CASE(vector_chunk_header), T_CASE(vector_hello), T_CASE(vector_hello_ack),
       T_CASE(vector_cgroups_req), T_CASE(vector_cgroups_resp),
       T_CASE(vector_cgroups_resp_empty), T_CASE(golden_hello), T_CASE(golden_hello_ack),
       T_CASE(golden_increment_single), T_CASE(golden_increment_batch),
       T_CASE(increment_batch_encode_sizes), T_CASE(increment_batch_decode_matches_items),
       T_CASE(golden_string_reverse), T_CASE(golden_string_reverse_batch),
       T_CASE(golden_chunk_continuation), T_CASE(golden_cgroups_snapshot),
       T_CASE(increment_roundtrip), T_CASE(increment_encode_small_buffer),
       T_CASE(increment_reject_truncated), T_CASE(increment_extra_bytes_ignored),
       T_CASE(string_reverse_roundtrip), T_CASE(string_reverse_needed_size),
       T_CASE(string_reverse_max_length_for_buffer), T_CASE(string_reverse_size_overflow),
       T_CASE(string_reverse_reject_truncated), T_CASE(string_reverse_reject_offset),
       T_CASE(string_reverse_reject_length), T_CASE(string_reverse_reject_missing_nul),
       T_CASE(string_reverse_accepts_nuls_and_trailing), T_CASE(cgroups_req_encode),
       T_CASE(cgroups_req_reject_truncated), T_CASE(cgroups_req_reject_layout),
       T_CASE(cgroups_req_reject_flags), T_CASE(cgroups_req_extra_bytes_ignored),
       T_CASE(cgroups_builder_roundtrip), T_CASE(cgroups_builder_empty),
       T_CASE(cgroups_builder_one_item), T_CASE(cgroups_builder_needed_size),
       T_CASE(cgroups_builder_max_items), T_CASE(cgroups_builder_max_strings),
       T_CASE(cgroups_builder_item_count), T_CASE(cgroups_builder_size_overflow),
       T_CASE(cgroups_resp_reject_truncated), T_CASE(cgroups_resp_reject_layout),
       T_CASE(cgroups_resp_reject_flags), T_CASE(cgroups_resp_reject_reserved),
       T_CASE(cgroups_resp_reject_directory_beyond),
       T_CASE(cgroups_resp_reject_misaligned_entry),
       T_CASE(cgroups_resp_reject_entry_out_of_bounds), T_CASE(cgroups_resp_reject_short_entry),
       T_CASE(cgroups_resp_unchecked), T_CASE(cgroups_item_hand_written_ok),
       T_CASE(cgroups_item_reject_index), T_CASE(cgroups_item_reject_layout),
       T_CASE(cgroups_item_reject_flags), T_CASE(cgroups_item_reject_offset_in_fixed_part),
       T_CASE(cgroups_item_reject_string_past_item), T_CASE(cgroups_item_reject_wrapping_string),
       T_CASE(cgroups_item_reject_missing_nul), T_CASE(cgroups_item_reject_overlap),
       T_CASE(cgroups_item_accepts_unusual_layouts), T_CASE(djb2_values))
