/*
 * Envelope codec tests (wire.md sections 1-5): the outer header, the chunk
 * continuation header and chunk count, Level 1 batch building and
 * validation, HELLO / HELLO_ACK payloads, the server's HELLO decision
 * procedure (in upstream order) and the client's HELLO_ACK interpretation.
 *
 * Inputs are written byte by byte here (little-endian, as the wire is on
 * every supported host) rather than produced by the encoders under test, so
 * a symmetric encoder/decoder bug cannot hide. Reference vectors and golden
 * files live in test_codec.c.
 */
#include "test.h"

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

static void put64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
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

/* A valid 32-byte outer header written field by field. */
static void raw_header(uint8_t *p, uint16_t kind, uint16_t code, uint16_t flags, uint16_t status,
                       uint32_t payload_len, uint32_t item_count, uint64_t message_id)
{
    put32(p + 0, 0x4e495043u);
    put16(p + 4, 1);
    put16(p + 6, 32);
    put16(p + 8, kind);
    put16(p + 10, flags);
    put16(p + 12, code);
    put16(p + 14, status);
    put32(p + 16, payload_len);
    put32(p + 20, item_count);
    put64(p + 24, message_id);
}

/* A valid 32-byte chunk continuation header written field by field. */
static void raw_chunk(uint8_t *p, uint64_t message_id, uint32_t total, uint32_t index,
                      uint32_t count, uint32_t chunk_len)
{
    put32(p + 0, 0x4e43484bu);
    put16(p + 4, 1);
    put16(p + 6, 0);
    put64(p + 8, message_id);
    put32(p + 16, total);
    put32(p + 20, index);
    put32(p + 24, count);
    put32(p + 28, chunk_len);
}

/* ---------------------------------------------------------------- header */

static void header_make_and_roundtrip(void)
{
    nipc_header_t h = nipc_header_make(NIPC_KIND_RESPONSE, NIPC_METHOD_APPS_LOOKUP,
                                       NIPC_FLAG_BATCH, NIPC_STATUS_LIMIT_EXCEEDED, 0x01020304u,
                                       0x0a0b0c0du, 0x1122334455667788ull);
    CHECK_EQ_U64(h.magic, 0x4e495043u);
    CHECK_EQ_U64(h.version, 1);
    CHECK_EQ_U64(h.header_len, 32);

    uint8_t buf[40];
    memset(buf, 0xee, sizeof buf);
    nipc_header_encode(&h, buf);
    CHECK(all_bytes_are(buf + 32, 8, 0xee)); /* exactly 32 bytes written */

    static const uint8_t expect[32] = {
        0x43, 0x50, 0x49, 0x4e, 0x01, 0x00, 0x20, 0x00, 0x02, 0x00, 0x01, 0x00, 0x05, 0x00,
        0x05, 0x00, 0x04, 0x03, 0x02, 0x01, 0x0d, 0x0c, 0x0b, 0x0a, 0x88, 0x77, 0x66, 0x55,
        0x44, 0x33, 0x22, 0x11};
    CHECK_MEM(buf, expect, 32);

    nipc_header_t d;
    memset(&d, 0, sizeof d);
    CHECK_OK(nipc_header_decode(buf, 32, &d));
    CHECK_EQ_U64(d.kind, NIPC_KIND_RESPONSE);
    CHECK_EQ_U64(d.flags, NIPC_FLAG_BATCH);
    CHECK_EQ_U64(d.code, NIPC_METHOD_APPS_LOOKUP);
    CHECK_EQ_U64(d.transport_status, NIPC_STATUS_LIMIT_EXCEEDED);
    CHECK_EQ_U64(d.payload_len, 0x01020304u);
    CHECK_EQ_U64(d.item_count, 0x0a0b0c0du);
    CHECK_EQ_U64(d.message_id, 0x1122334455667788ull);

    /* Every kind 1..3 is accepted; a longer buffer (header + payload) too. */
    uint8_t msg[64];
    memset(msg, 0x5a, sizeof msg);
    for (uint16_t kind = 1; kind <= 3; kind++) {
        raw_header(msg, kind, 1, 0, 0, 32, 1, 0);
        CHECK_OK(nipc_header_decode(msg, sizeof msg, &d));
        CHECK_EQ_U64(d.kind, kind);
    }
}

static void header_unchecked_fields_pass(void)
{
    /* flags, code, transport_status, message_id, payload_len and item_count
     * are the receiver's business, not the decoder's. */
    uint8_t b[32];
    raw_header(b, NIPC_KIND_CONTROL, 0xffff, 0xffff, 0xffff, UINT32_MAX, UINT32_MAX, UINT64_MAX);
    nipc_header_t d;
    CHECK_OK(nipc_header_decode(b, sizeof b, &d));
    CHECK_EQ_U64(d.flags, 0xffff);
    CHECK_EQ_U64(d.code, 0xffff);
    CHECK_EQ_U64(d.transport_status, 0xffff);
    CHECK_EQ_U64(d.payload_len, UINT32_MAX);
    CHECK_EQ_U64(d.item_count, UINT32_MAX);
    CHECK_EQ_U64(d.message_id, UINT64_MAX);
}

static void header_reject_truncated(void)
{
    uint8_t b[32];
    raw_header(b, 1, 1, 0, 0, 8, 1, 1);
    nipc_header_t d;
    CHECK_ERR(nipc_header_decode(b, 0, &d), NIPC_ERR_TRUNCATED);
    CHECK_ERR(nipc_header_decode(b, 1, &d), NIPC_ERR_TRUNCATED);
    CHECK_ERR(nipc_header_decode(b, 31, &d), NIPC_ERR_TRUNCATED);
    CHECK_OK(nipc_header_decode(b, 32, &d));
}

static void header_reject_magic(void)
{
    uint8_t b[32];
    nipc_header_t d;
    raw_header(b, 1, 1, 0, 0, 8, 1, 77);
    put32(b, 0x4e43484bu); /* a chunk header where a message header belongs */
    CHECK_ERR(nipc_header_decode(b, 32, &d), NIPC_ERR_BAD_MAGIC);
    CHECK_EQ_U64(d.magic, 0x4e43484bu); /* fields stored even when rejected */
    CHECK_EQ_U64(d.message_id, 77);
    put32(b, 0x43504e49u); /* byte-swapped magic */
    CHECK_ERR(nipc_header_decode(b, 32, &d), NIPC_ERR_BAD_MAGIC);
    put32(b, 0);
    CHECK_ERR(nipc_header_decode(b, 32, &d), NIPC_ERR_BAD_MAGIC);
}

static void header_reject_version(void)
{
    uint8_t b[32];
    nipc_header_t d;
    static const uint16_t bad[] = {0, 2, 0x0100, 0xffff};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        raw_header(b, 1, 1, 0, 0, 8, 1, 1);
        put16(b + 4, bad[i]);
        CHECK_ERR(nipc_header_decode(b, 32, &d), NIPC_ERR_BAD_VERSION);
        CHECK_EQ_U64(d.version, bad[i]);
    }
}

static void header_reject_header_len(void)
{
    uint8_t b[32];
    nipc_header_t d;
    static const uint16_t bad[] = {0, 31, 33, 64, 0x2000};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        raw_header(b, 1, 1, 0, 0, 8, 1, 1);
        put16(b + 6, bad[i]);
        CHECK_ERR(nipc_header_decode(b, 32, &d), NIPC_ERR_BAD_HEADER_LEN);
    }
}

static void header_reject_kind(void)
{
    uint8_t b[32];
    nipc_header_t d;
    static const uint16_t bad[] = {0, 4, 0x0101, 0xffff};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        raw_header(b, 1, 1, 0, 0, 8, 1, 1);
        put16(b + 8, bad[i]);
        CHECK_ERR(nipc_header_decode(b, 32, &d), NIPC_ERR_BAD_KIND);
        CHECK_EQ_U64(d.kind, bad[i]);
    }
}

static void header_check_order(void)
{
    /* Rule order: length, magic, version, header_len, kind. */
    uint8_t b[32];
    nipc_header_t d;
    raw_header(b, 0, 1, 0, 0, 8, 1, 1);
    put32(b, 0);
    put16(b + 4, 9);
    put16(b + 6, 9);
    CHECK_ERR(nipc_header_decode(b, 31, &d), NIPC_ERR_TRUNCATED);
    CHECK_ERR(nipc_header_decode(b, 32, &d), NIPC_ERR_BAD_MAGIC);
    put32(b, 0x4e495043u);
    CHECK_ERR(nipc_header_decode(b, 32, &d), NIPC_ERR_BAD_VERSION);
    put16(b + 4, 1);
    CHECK_ERR(nipc_header_decode(b, 32, &d), NIPC_ERR_BAD_HEADER_LEN);
    put16(b + 6, 32);
    CHECK_ERR(nipc_header_decode(b, 32, &d), NIPC_ERR_BAD_KIND);
}

/* ---------------------------------------------------------- chunk header */

static void chunk_roundtrip(void)
{
    nipc_chunk_header_t c = {NIPC_CHUNK_MAGIC, 1, 0, 0xfedcba9876543210ull, 0x11223344u,
                             0x55667788u, 0x99aabbccu, 0xddeeff00u};
    uint8_t buf[40];
    memset(buf, 0xee, sizeof buf);
    nipc_chunk_header_encode(&c, buf);
    CHECK(all_bytes_are(buf + 32, 8, 0xee));

    uint8_t expect[32];
    raw_chunk(expect, 0xfedcba9876543210ull, 0x11223344u, 0x55667788u, 0x99aabbccu,
              0xddeeff00u);
    CHECK_MEM(buf, expect, 32);

    nipc_chunk_header_t d;
    memset(&d, 0, sizeof d);
    CHECK_OK(nipc_chunk_header_decode(buf, 32, &d));
    CHECK_EQ_U64(d.magic, NIPC_CHUNK_MAGIC);
    CHECK_EQ_U64(d.version, 1);
    CHECK_EQ_U64(d.flags, 0);
    CHECK_EQ_U64(d.message_id, 0xfedcba9876543210ull);
    CHECK_EQ_U64(d.total_message_len, 0x11223344u);
    CHECK_EQ_U64(d.chunk_index, 0x55667788u);
    CHECK_EQ_U64(d.chunk_count, 0x99aabbccu);
    CHECK_EQ_U64(d.chunk_payload_len, 0xddeeff00u);
}

static void chunk_reject_truncated(void)
{
    uint8_t b[36];
    raw_chunk(b, 1, 100, 1, 2, 4);
    nipc_chunk_header_t d;
    CHECK_ERR(nipc_chunk_header_decode(b, 0, &d), NIPC_ERR_TRUNCATED);
    CHECK_ERR(nipc_chunk_header_decode(b, 31, &d), NIPC_ERR_TRUNCATED);
    CHECK_OK(nipc_chunk_header_decode(b, 32, &d));
    CHECK_OK(nipc_chunk_header_decode(b, 36, &d));
}

static void chunk_reject_magic(void)
{
    uint8_t b[32];
    nipc_chunk_header_t d;
    raw_chunk(b, 5, 100, 1, 2, 4);
    put32(b, 0x4e495043u); /* an outer header magic where NCHK belongs */
    CHECK_ERR(nipc_chunk_header_decode(b, 32, &d), NIPC_ERR_BAD_MAGIC);
    CHECK_EQ_U64(d.message_id, 5); /* stored even when rejected */
    put32(b, 0x4b48434eu);
    CHECK_ERR(nipc_chunk_header_decode(b, 32, &d), NIPC_ERR_BAD_MAGIC);
}

static void chunk_reject_version(void)
{
    uint8_t b[32];
    nipc_chunk_header_t d;
    raw_chunk(b, 5, 100, 1, 2, 4);
    put16(b + 4, 0);
    CHECK_ERR(nipc_chunk_header_decode(b, 32, &d), NIPC_ERR_BAD_VERSION);
    put16(b + 4, 2);
    CHECK_ERR(nipc_chunk_header_decode(b, 32, &d), NIPC_ERR_BAD_VERSION);
}

static void chunk_reject_flags(void)
{
    uint8_t b[32];
    nipc_chunk_header_t d;
    raw_chunk(b, 5, 100, 1, 2, 4);
    put16(b + 6, 1);
    CHECK_ERR(nipc_chunk_header_decode(b, 32, &d), NIPC_ERR_BAD_FLAGS);
    put16(b + 6, 0x8000);
    CHECK_ERR(nipc_chunk_header_decode(b, 32, &d), NIPC_ERR_BAD_FLAGS);
    /* order: magic before version before flags */
    put16(b + 4, 2);
    CHECK_ERR(nipc_chunk_header_decode(b, 32, &d), NIPC_ERR_BAD_VERSION);
    put32(b, 0);
    CHECK_ERR(nipc_chunk_header_decode(b, 32, &d), NIPC_ERR_BAD_MAGIC);
}

/* count = 1 + ceil((P - F) / B), computed independently in 64 bits. */
static uint64_t ref_count(uint64_t p, uint64_t f, uint64_t pkt)
{
    uint64_t b = pkt - 32;
    return 1 + (p - f + b - 1) / b;
}

static void chunk_count_formula(void)
{
    /* Sender view: F = min(P, B). */
    static const uint32_t pkts[] = {33, 34, 40, 64, 100, 4096, 65536};
    static const uint32_t sizes[] = {0, 1, 2, 31, 32, 33, 63, 64, 65, 100, 1000, 65504, 65505,
                                     1048576};
    for (size_t i = 0; i < sizeof pkts / sizeof pkts[0]; i++) {
        for (size_t j = 0; j < sizeof sizes / sizeof sizes[0]; j++) {
            uint32_t b = pkts[i] - 32, p = sizes[j];
            uint32_t f = p < b ? p : b;
            CHECK_EQ_U64(nipc_chunk_count(p, f, pkts[i]), ref_count(p, f, pkts[i]));
        }
    }
    /* Hand-computed points. */
    CHECK_EQ_U64(nipc_chunk_count(0, 0, 64), 1);
    CHECK_EQ_U64(nipc_chunk_count(32, 32, 64), 1);   /* exactly one packet */
    CHECK_EQ_U64(nipc_chunk_count(33, 32, 64), 2);   /* one byte spills */
    CHECK_EQ_U64(nipc_chunk_count(64, 32, 64), 2);   /* two full chunks */
    CHECK_EQ_U64(nipc_chunk_count(100, 32, 64), 4);  /* 32 + 32 + 32 + 4 */
    CHECK_EQ_U64(nipc_chunk_count(100, 10, 64), 4);  /* receiver recomputes from F */
    CHECK_EQ_U64(nipc_chunk_count(100, 100, 64), 1); /* F = P: complete */
    CHECK_EQ_U64(nipc_chunk_count(10, 1, 33), 10);
    /* Large values must not wrap. */
    CHECK_EQ_U64(nipc_chunk_count(UINT32_MAX, 65504, 65536), ref_count(UINT32_MAX, 65504, 65536));
    CHECK_EQ_U64(nipc_chunk_count(UINT32_MAX, 1, 33), UINT32_MAX);
    CHECK_EQ_U64(nipc_chunk_count(UINT32_MAX, UINT32_MAX, UINT32_MAX), 1);
    /* A count that does not fit the u32 wire field is reported as invalid. */
    CHECK_EQ_U64(nipc_chunk_count(UINT32_MAX, 0, 33), 0);
    /* Invalid input. */
    CHECK_EQ_U64(nipc_chunk_count(100, 32, 32), 0);
    CHECK_EQ_U64(nipc_chunk_count(100, 32, 0), 0);
    CHECK_EQ_U64(nipc_chunk_count(100, 101, 64), 0);
}

/* ----------------------------------------------------------------- batch */

static void batch_varied_lengths(void)
{
    static const uint8_t data[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
    static const uint32_t lens[] = {0, 1, 7, 8, 9};
    /* Hand-computed: items at packed 0 (len 0), 0, 8, 16, 24; end align8(33) = 40. */
    static const uint32_t offs[] = {0, 0, 8, 16, 24};
    uint8_t buf[128];
    memset(buf, 0xcc, sizeof buf);
    nipc_batch_builder_t b;
    nipc_batch_builder_init(&b, buf, sizeof buf, 5);
    for (size_t i = 0; i < 5; i++)
        CHECK_OK(nipc_batch_builder_add(&b, data, lens[i]));
    size_t len = 0;
    CHECK_OK(nipc_batch_builder_finish(&b, &len));
    CHECK_EQ_U64(len, 40 + 40);
    CHECK(all_bytes_are(buf + len, sizeof buf - len, 0xcc)); /* nothing written past */

    for (size_t i = 0; i < 5; i++) {
        CHECK_EQ_U64(get32(buf + 8 * i), offs[i]);
        CHECK_EQ_U64(get32(buf + 8 * i + 4), lens[i]);
    }
    const uint8_t *packed = buf + 40;
    /* padding after item 1 (1 byte at 0) and item 2 (7 bytes at 8) */
    CHECK(all_bytes_are(packed + 1, 7, 0));
    CHECK(packed[15] == 0);
    CHECK_MEM(packed + 16, data, 8);
    CHECK_MEM(packed + 24, data, 9);
    CHECK(all_bytes_are(packed + 33, 7, 0)); /* final padding, counted in len */

    CHECK_OK(nipc_batch_validate(buf, len, 5));
    for (uint32_t i = 0; i < 5; i++) {
        const uint8_t *it = NULL;
        uint32_t il = 99;
        CHECK_OK(nipc_batch_item(buf, len, 5, i, &it, &il));
        CHECK_EQ_U64(il, lens[i]);
        CHECK(it == packed + offs[i]);
        if (il)
            CHECK_MEM(it, data, il);
    }
}

static void batch_single_and_empty(void)
{
    uint8_t buf[32];
    size_t len = 0;
    nipc_batch_builder_t b;

    /* BATCH with one item still carries a 1-entry directory. */
    nipc_batch_builder_init(&b, buf, sizeof buf, 1);
    CHECK_OK(nipc_batch_builder_add(&b, "hello", 5));
    CHECK_OK(nipc_batch_builder_finish(&b, &len));
    CHECK_EQ_U64(len, 16);
    static const uint8_t expect[16] = {0, 0, 0, 0, 5, 0, 0, 0, 'h', 'e', 'l', 'l', 'o', 0, 0, 0};
    CHECK_MEM(buf, expect, 16);

    nipc_batch_builder_init(&b, buf, sizeof buf, 0);
    CHECK_OK(nipc_batch_builder_finish(&b, &len));
    CHECK_EQ_U64(len, 0);
    CHECK_OK(nipc_batch_validate(buf, 0, 0));
}

static void batch_roundtrip_many(void)
{
    /* 40 items of lengths 0..39, each byte tagged with its item index. */
    uint8_t items[40][40];
    uint8_t buf[2048];
    for (int i = 0; i < 40; i++)
        memset(items[i], i + 1, sizeof items[i]);
    nipc_batch_builder_t b;
    nipc_batch_builder_init(&b, buf, sizeof buf, 40);
    uint64_t expect_packed = 0;
    for (uint32_t i = 0; i < 40; i++) {
        CHECK_OK(nipc_batch_builder_add(&b, items[i], i));
        expect_packed += (i + 7u) / 8u * 8u;
    }
    size_t len = 0;
    CHECK_OK(nipc_batch_builder_finish(&b, &len));
    CHECK_EQ_U64(len, 40 * 8 + expect_packed);
    CHECK(len % 8 == 0);
    CHECK_OK(nipc_batch_validate(buf, len, 40));
    for (uint32_t i = 0; i < 40; i++) {
        const uint8_t *it;
        uint32_t il;
        CHECK_OK(nipc_batch_item(buf, len, 40, i, &it, &il));
        CHECK_EQ_U64(il, i);
        CHECK_EQ_U64((size_t)(it - (buf + 320)) % 8, 0);
        if (il)
            CHECK_MEM(it, items[i], il);
    }
}

static void batch_needed_size(void)
{
    static const uint8_t data[13] = "twelve bytes";
    uint8_t big[256], exact[256];
    size_t big_len = 0, needed = 0, len = 0;
    nipc_batch_builder_t b;

    nipc_batch_builder_init(&b, big, sizeof big, 3);
    CHECK_OK(nipc_batch_builder_add(&b, data, 12));
    CHECK_OK(nipc_batch_builder_add(&b, data, 3));
    CHECK_OK(nipc_batch_builder_add(&b, data, 13));
    CHECK_OK(nipc_batch_builder_finish(&b, &big_len));
    CHECK_EQ_U64(big_len, 24 + 16 + 8 + 16);

    /* Size query with no buffer. */
    nipc_batch_builder_init(&b, NULL, 0, 3);
    CHECK_ERR(nipc_batch_builder_add(&b, data, 12), NIPC_ERR_BUFFER_TOO_SMALL);
    CHECK_ERR(nipc_batch_builder_add(&b, data, 3), NIPC_ERR_BUFFER_TOO_SMALL);
    CHECK_ERR(nipc_batch_builder_add(&b, data, 13), NIPC_ERR_BUFFER_TOO_SMALL);
    CHECK_ERR(nipc_batch_builder_finish(&b, &needed), NIPC_ERR_BUFFER_TOO_SMALL);
    CHECK_EQ_U64(needed, big_len);

    /* size - 1 fails with the same report; the last item is the one that no longer fits. */
    nipc_batch_builder_init(&b, exact, needed - 1, 3);
    CHECK_OK(nipc_batch_builder_add(&b, data, 12));
    CHECK_OK(nipc_batch_builder_add(&b, data, 3));
    CHECK_ERR(nipc_batch_builder_add(&b, data, 13), NIPC_ERR_BUFFER_TOO_SMALL);
    size_t again = 0;
    CHECK_ERR(nipc_batch_builder_finish(&b, &again), NIPC_ERR_BUFFER_TOO_SMALL);
    CHECK_EQ_U64(again, needed);

    /* Retry with exactly the reported size: identical bytes. */
    memset(exact, 0xcc, sizeof exact);
    nipc_batch_builder_init(&b, exact, needed, 3);
    CHECK_OK(nipc_batch_builder_add(&b, data, 12));
    CHECK_OK(nipc_batch_builder_add(&b, data, 3));
    CHECK_OK(nipc_batch_builder_add(&b, data, 13));
    CHECK_OK(nipc_batch_builder_finish(&b, &len));
    CHECK_EQ_U64(len, needed);
    CHECK_MEM(exact, big, big_len);
    CHECK(exact[needed] == 0xcc);

    /* Too small for even the first item: keeps counting. */
    nipc_batch_builder_init(&b, exact, 8, 3);
    CHECK_ERR(nipc_batch_builder_add(&b, data, 12), NIPC_ERR_BUFFER_TOO_SMALL);
    CHECK_ERR(nipc_batch_builder_add(&b, data, 3), NIPC_ERR_BUFFER_TOO_SMALL);
    CHECK_ERR(nipc_batch_builder_add(&b, data, 13), NIPC_ERR_BUFFER_TOO_SMALL);
    CHECK_ERR(nipc_batch_builder_finish(&b, &again), NIPC_ERR_BUFFER_TOO_SMALL);
    CHECK_EQ_U64(again, needed);
}

static void batch_builder_item_count(void)
{
    uint8_t buf[64];
    size_t len = 0;
    nipc_batch_builder_t b;

    nipc_batch_builder_init(&b, buf, sizeof buf, 2);
    CHECK_OK(nipc_batch_builder_add(&b, "a", 1));
    CHECK_OK(nipc_batch_builder_add(&b, "b", 1));
    CHECK_ERR(nipc_batch_builder_add(&b, "c", 1), NIPC_ERR_BAD_ITEM_COUNT);
    CHECK_ERR(nipc_batch_builder_finish(&b, &len), NIPC_ERR_BAD_ITEM_COUNT); /* sticky */

    nipc_batch_builder_init(&b, buf, sizeof buf, 2);
    CHECK_OK(nipc_batch_builder_add(&b, "a", 1));
    CHECK_ERR(nipc_batch_builder_finish(&b, &len), NIPC_ERR_BAD_ITEM_COUNT);

    /* Too few items while also too small: the count error wins (size is not exact yet). */
    nipc_batch_builder_init(&b, NULL, 0, 2);
    CHECK_ERR(nipc_batch_builder_add(&b, "a", 1), NIPC_ERR_BUFFER_TOO_SMALL);
    CHECK_ERR(nipc_batch_builder_finish(&b, &len), NIPC_ERR_BAD_ITEM_COUNT);

    nipc_batch_builder_init(&b, buf, sizeof buf, 1);
    CHECK_ERR(nipc_batch_builder_add(&b, NULL, 4), NIPC_ERR_INVALID_ARGUMENT);
    CHECK_ERR(nipc_batch_builder_finish(&b, &len), NIPC_ERR_INVALID_ARGUMENT);
    nipc_batch_builder_init(&b, buf, sizeof buf, 1);
    CHECK_OK(nipc_batch_builder_add(&b, NULL, 0)); /* empty item needs no pointer */
    CHECK_OK(nipc_batch_builder_finish(&b, &len));
    CHECK_EQ_U64(len, 8);
}

static void batch_builder_size_overflow(void)
{
    static const uint8_t dummy[8] = {0};
    size_t len = 0;
    nipc_batch_builder_t b;

    /* 8 + align8(UINT32_MAX - 15) = UINT32_MAX - 7: the largest possible payload. */
    nipc_batch_builder_init(&b, NULL, 0, 1);
    CHECK_ERR(nipc_batch_builder_add(&b, dummy, UINT32_MAX - 15u), NIPC_ERR_BUFFER_TOO_SMALL);
    CHECK_ERR(nipc_batch_builder_finish(&b, &len), NIPC_ERR_BUFFER_TOO_SMALL);
    CHECK_EQ_U64(len, (uint64_t)UINT32_MAX - 7u);

    /* One byte more pads to 2^32. */
    nipc_batch_builder_init(&b, NULL, 0, 1);
    CHECK_ERR(nipc_batch_builder_add(&b, dummy, UINT32_MAX - 14u), NIPC_ERR_SIZE_OVERFLOW);
    CHECK_ERR(nipc_batch_builder_finish(&b, &len), NIPC_ERR_SIZE_OVERFLOW);

    nipc_batch_builder_init(&b, NULL, 0, 2);
    CHECK_ERR(nipc_batch_builder_add(&b, dummy, UINT32_MAX), NIPC_ERR_SIZE_OVERFLOW);
    CHECK_ERR(nipc_batch_builder_add(&b, dummy, 1), NIPC_ERR_SIZE_OVERFLOW); /* sticky */

    /* Two items that only overflow together. */
    nipc_batch_builder_init(&b, NULL, 0, 2);
    CHECK_ERR(nipc_batch_builder_add(&b, dummy, 0x80000000u), NIPC_ERR_BUFFER_TOO_SMALL);
    CHECK_ERR(nipc_batch_builder_add(&b, dummy, 0x80000000u), NIPC_ERR_SIZE_OVERFLOW);
    CHECK_ERR(nipc_batch_builder_finish(&b, &len), NIPC_ERR_SIZE_OVERFLOW);

    /* A directory alone beyond 4 GiB. */
    nipc_batch_builder_init(&b, NULL, 0, 0x20000000u);
    CHECK_ERR(nipc_batch_builder_add(&b, NULL, 0), NIPC_ERR_SIZE_OVERFLOW);
}

/* A 3-item batch written by hand: items at packed 0 (len 5), 8 (len 8), 16 (len 1). */
static size_t raw_batch3(uint8_t *b)
{
    memset(b, 0, 48);
    put32(b + 0, 0);
    put32(b + 4, 5);
    put32(b + 8, 8);
    put32(b + 12, 8);
    put32(b + 16, 16);
    put32(b + 20, 1);
    return 24 + 24;
}

static void batch_validate_accepts(void)
{
    uint8_t b[64];
    size_t len = raw_batch3(b);
    CHECK_OK(nipc_batch_validate(b, len, 3));
    /* offset + length == packed length exactly */
    put32(b + 20, 8);
    CHECK_OK(nipc_batch_validate(b, len, 3));
    /* order and overlap are not checked */
    put32(b + 0, 16);
    put32(b + 16, 0);
    put32(b + 8, 0);
    put32(b + 12, 24);
    CHECK_OK(nipc_batch_validate(b, len, 3));
    /* zero-length item at the very end of the packed area */
    put32(b + 16, 24);
    put32(b + 20, 0);
    CHECK_OK(nipc_batch_validate(b, len, 3));
    const uint8_t *it;
    uint32_t il;
    CHECK_OK(nipc_batch_item(b, len, 3, 2, &it, &il));
    CHECK_EQ_U64(il, 0);
    CHECK(it == b + 48);
}

static void batch_reject_short_directory(void)
{
    uint8_t b[64];
    size_t len = raw_batch3(b);
    const uint8_t *it;
    uint32_t il;
    CHECK_ERR(nipc_batch_validate(b, 23, 3), NIPC_ERR_TRUNCATED);
    CHECK_ERR(nipc_batch_validate(b, 0, 3), NIPC_ERR_TRUNCATED);
    CHECK_ERR(nipc_batch_item(b, 23, 3, 0, &it, &il), NIPC_ERR_TRUNCATED);
    /* a directory of 2^29 entries (4 GiB) against a small payload, no wrap */
    CHECK_ERR(nipc_batch_validate(b, len, 0x20000000u), NIPC_ERR_TRUNCATED);
    CHECK_ERR(nipc_batch_validate(b, len, UINT32_MAX), NIPC_ERR_TRUNCATED);
    CHECK_ERR(nipc_batch_item(b, len, UINT32_MAX, 0, &it, &il), NIPC_ERR_TRUNCATED);
    /* exactly the directory, empty packed area, zero-length items at 0 */
    memset(b, 0, 24);
    CHECK_OK(nipc_batch_validate(b, 24, 3));
}

static void batch_reject_misaligned(void)
{
    static const uint32_t bad[] = {1, 4, 7, 9};
    uint8_t b[64];
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        size_t len = raw_batch3(b);
        put32(b + 8, bad[i]); /* entry 1 */
        put32(b + 12, 1);
        CHECK_ERR(nipc_batch_validate(b, len, 3), NIPC_ERR_BAD_ALIGNMENT);
    }
    /* alignment is checked before bounds */
    size_t len = raw_batch3(b);
    put32(b + 8, 0xfffffff9u);
    CHECK_ERR(nipc_batch_validate(b, len, 3), NIPC_ERR_BAD_ALIGNMENT);
}

static void batch_reject_out_of_bounds(void)
{
    uint8_t b[64];
    size_t len = raw_batch3(b);
    put32(b + 20, 9); /* entry 2: 16 + 9 = 25 > 24 */
    CHECK_ERR(nipc_batch_validate(b, len, 3), NIPC_ERR_OUT_OF_BOUNDS);

    len = raw_batch3(b);
    put32(b + 16, 24); /* offset at the end, length 1 */
    CHECK_ERR(nipc_batch_validate(b, len, 3), NIPC_ERR_OUT_OF_BOUNDS);

    len = raw_batch3(b);
    put32(b + 16, 32); /* offset past the end, length 0 */
    put32(b + 20, 0);
    CHECK_ERR(nipc_batch_validate(b, len, 3), NIPC_ERR_OUT_OF_BOUNDS);

    /* the same payload with a shorter len: entry 2 ends at packed 17 */
    len = raw_batch3(b);
    CHECK_OK(nipc_batch_validate(b, len - 7, 3));
    CHECK_ERR(nipc_batch_validate(b, len - 8, 3), NIPC_ERR_OUT_OF_BOUNDS);
}

static void batch_reject_wrapping_entry(void)
{
    /* A 32-bit offset + length would wrap to a small value and pass. */
    uint8_t b[64];
    size_t len = raw_batch3(b);
    put32(b + 8, 0xfffffff8u);
    put32(b + 12, 16); /* 32-bit sum: 8 */
    CHECK_ERR(nipc_batch_validate(b, len, 3), NIPC_ERR_OUT_OF_BOUNDS);

    len = raw_batch3(b);
    put32(b + 8, 8);
    put32(b + 12, UINT32_MAX - 7u); /* 32-bit sum: 0 */
    CHECK_ERR(nipc_batch_validate(b, len, 3), NIPC_ERR_OUT_OF_BOUNDS);

    len = raw_batch3(b);
    put32(b + 12, UINT32_MAX);
    CHECK_ERR(nipc_batch_validate(b, len, 3), NIPC_ERR_OUT_OF_BOUNDS);
    const uint8_t *it;
    uint32_t il;
    CHECK_ERR(nipc_batch_item(b, len, 3, 1, &it, &il), NIPC_ERR_OUT_OF_BOUNDS);
}

static void batch_reject_first_bad_entry_decides(void)
{
    /* Two bad entries of different kinds: the error is the first one's,
     * whichever kind it is (validate checks a whole directory at once and
     * names the culprit only when something is wrong). */
    uint8_t b[64];
    size_t len = raw_batch3(b);
    put32(b + 4, 100); /* entry 0 out of bounds */
    put32(b + 16, 4);  /* entry 2 misaligned */
    CHECK_ERR(nipc_batch_validate(b, len, 3), NIPC_ERR_OUT_OF_BOUNDS);

    len = raw_batch3(b);
    put32(b + 0, 4);    /* entry 0 misaligned */
    put32(b + 20, 100); /* entry 2 out of bounds */
    CHECK_ERR(nipc_batch_validate(b, len, 3), NIPC_ERR_BAD_ALIGNMENT);

    /* an aligned offset far out and a short one: the largest end decides */
    len = raw_batch3(b);
    put32(b + 16, 0xfffffff8u);
    put32(b + 20, 0);
    CHECK_ERR(nipc_batch_validate(b, len, 3), NIPC_ERR_OUT_OF_BOUNDS);
}

static void batch_item_index_out_of_range(void)
{
    uint8_t b[64];
    size_t len = raw_batch3(b);
    const uint8_t *it = NULL;
    uint32_t il = 0;
    CHECK_OK(nipc_batch_item(b, len, 3, 2, &it, &il));
    CHECK_ERR(nipc_batch_item(b, len, 3, 3, &it, &il), NIPC_ERR_INVALID_ARGUMENT);
    CHECK_ERR(nipc_batch_item(b, len, 3, UINT32_MAX, &it, &il), NIPC_ERR_INVALID_ARGUMENT);
    CHECK_ERR(nipc_batch_item(b, len, 0, 0, &it, &il), NIPC_ERR_INVALID_ARGUMENT);
}

static void batch_item_rechecks_entry(void)
{
    /* nipc_batch_item checks the entry it extracts, without a prior validate. */
    uint8_t b[64];
    size_t len = raw_batch3(b);
    put32(b + 8, 4); /* entry 1 misaligned */
    put32(b + 20, 100); /* entry 2 out of bounds */
    const uint8_t *it = NULL;
    uint32_t il = 0;
    CHECK_OK(nipc_batch_item(b, len, 3, 0, &it, &il));
    CHECK(it == b + 24);
    CHECK_EQ_U64(il, 5);
    CHECK_ERR(nipc_batch_item(b, len, 3, 1, &it, &il), NIPC_ERR_BAD_ALIGNMENT);
    CHECK_ERR(nipc_batch_item(b, len, 3, 2, &it, &il), NIPC_ERR_OUT_OF_BOUNDS);
}

/* ----------------------------------------------------- HELLO / HELLO_ACK */

/* The HELLO of hello.bin written by hand (44 bytes). */
static void raw_hello_payload(uint8_t *p)
{
    put16(p + 0, 1);
    put16(p + 2, 0);
    put32(p + 4, 0x05);
    put32(p + 8, 0x04);
    put32(p + 12, 4096);
    put32(p + 16, 100);
    put32(p + 20, 1048576);
    put32(p + 24, 1);
    put32(p + 28, 0);
    put64(p + 32, 0xAABBCCDDEEFF0011ull);
    put32(p + 40, 65536);
}

static void hello_roundtrip(void)
{
    nipc_hello_t h = {1, 0, 0x05, 0x04, 4096, 100, 1048576, 1, 0, 0xAABBCCDDEEFF0011ull, 65536};
    uint8_t buf[52], expect[44];
    memset(buf, 0xee, sizeof buf);
    nipc_hello_encode(&h, buf);
    CHECK(all_bytes_are(buf + 44, 8, 0xee)); /* 44 bytes, not a padded 48-byte struct */
    raw_hello_payload(expect);
    CHECK_MEM(buf, expect, 44);

    nipc_hello_t d;
    memset(&d, 0, sizeof d);
    CHECK_OK(nipc_hello_decode(buf, 44, &d));
    CHECK_EQ_U64(d.layout_version, 1);
    CHECK_EQ_U64(d.supported_profiles, 0x05);
    CHECK_EQ_U64(d.preferred_profiles, 0x04);
    CHECK_EQ_U64(d.max_request_payload_bytes, 4096);
    CHECK_EQ_U64(d.max_request_batch_items, 100);
    CHECK_EQ_U64(d.max_response_payload_bytes, 1048576);
    CHECK_EQ_U64(d.max_response_batch_items, 1);
    CHECK_EQ_U64(d.auth_token, 0xAABBCCDDEEFF0011ull);
    CHECK_EQ_U64(d.packet_size, 65536);
    CHECK_OK(nipc_hello_decode(buf, sizeof buf, &d)); /* extra bytes ignored */
}

static void hello_reject_truncated(void)
{
    uint8_t p[44];
    nipc_hello_t d;
    raw_hello_payload(p);
    CHECK_ERR(nipc_hello_decode(p, 0, &d), NIPC_ERR_TRUNCATED);
    CHECK_ERR(nipc_hello_decode(p, 43, &d), NIPC_ERR_TRUNCATED);
    CHECK_OK(nipc_hello_decode(p, 44, &d));
}

static void hello_reject_layout(void)
{
    uint8_t p[44];
    nipc_hello_t d;
    raw_hello_payload(p);
    put16(p, 0);
    CHECK_ERR(nipc_hello_decode(p, 44, &d), NIPC_ERR_BAD_LAYOUT);
    put16(p, 2);
    CHECK_ERR(nipc_hello_decode(p, 44, &d), NIPC_ERR_BAD_LAYOUT);
    CHECK_EQ_U64(d.layout_version, 2);
    CHECK_EQ_U64(d.packet_size, 65536); /* stored even when rejected */
    /* layout before reserved (INCOMPATIBLE ACK beats silent close) */
    put32(p + 28, 1);
    CHECK_ERR(nipc_hello_decode(p, 44, &d), NIPC_ERR_BAD_LAYOUT);
}

static void hello_reject_reserved(void)
{
    uint8_t p[44];
    nipc_hello_t d;
    raw_hello_payload(p);
    put32(p + 28, 1);
    CHECK_ERR(nipc_hello_decode(p, 44, &d), NIPC_ERR_BAD_RESERVED);
    put32(p + 28, 0x80000000u);
    CHECK_ERR(nipc_hello_decode(p, 44, &d), NIPC_ERR_BAD_RESERVED);
}

static void hello_flags_accepted(void)
{
    uint8_t p[44];
    nipc_hello_t d;
    raw_hello_payload(p);
    put16(p + 2, 0xffff);
    CHECK_OK(nipc_hello_decode(p, 44, &d));
    CHECK_EQ_U64(d.flags, 0xffff);
}

/* The HELLO_ACK of hello_ack.bin written by hand (48 bytes). */
static void raw_ack_payload(uint8_t *p)
{
    put16(p + 0, 1);
    put16(p + 2, 0);
    put32(p + 4, 0x07);
    put32(p + 8, 0x05);
    put32(p + 12, 0x04);
    put32(p + 16, 2048);
    put32(p + 20, 50);
    put32(p + 24, 65536);
    put32(p + 28, 1);
    put32(p + 32, 32768);
    put32(p + 36, 0);
    put64(p + 40, 1);
}

static void hello_ack_roundtrip(void)
{
    nipc_hello_ack_t a = {1, 0, 0x07, 0x05, 0x04, 2048, 50, 65536, 1, 32768, 0, 1};
    uint8_t buf[56], expect[48];
    memset(buf, 0xee, sizeof buf);
    nipc_hello_ack_encode(&a, buf);
    CHECK(all_bytes_are(buf + 48, 8, 0xee));
    raw_ack_payload(expect);
    CHECK_MEM(buf, expect, 48);

    nipc_hello_ack_t d;
    memset(&d, 0, sizeof d);
    CHECK_OK(nipc_hello_ack_decode(buf, 48, &d));
    CHECK_EQ_U64(d.server_supported_profiles, 0x07);
    CHECK_EQ_U64(d.intersection_profiles, 0x05);
    CHECK_EQ_U64(d.selected_profile, 0x04);
    CHECK_EQ_U64(d.agreed_max_request_payload_bytes, 2048);
    CHECK_EQ_U64(d.agreed_max_request_batch_items, 50);
    CHECK_EQ_U64(d.agreed_max_response_payload_bytes, 65536);
    CHECK_EQ_U64(d.agreed_max_response_batch_items, 1);
    CHECK_EQ_U64(d.agreed_packet_size, 32768);
    CHECK_EQ_U64(d.session_id, 1);

    a.session_id = UINT64_MAX;
    nipc_hello_ack_encode(&a, buf);
    CHECK(all_bytes_are(buf + 40, 8, 0xff));
    CHECK_OK(nipc_hello_ack_decode(buf, 48, &d));
    CHECK_EQ_U64(d.session_id, UINT64_MAX);
}

static void hello_ack_reject_truncated(void)
{
    uint8_t p[48];
    nipc_hello_ack_t d;
    raw_ack_payload(p);
    CHECK_ERR(nipc_hello_ack_decode(p, 0, &d), NIPC_ERR_TRUNCATED);
    CHECK_ERR(nipc_hello_ack_decode(p, 44, &d), NIPC_ERR_TRUNCATED); /* HELLO-sized */
    CHECK_ERR(nipc_hello_ack_decode(p, 47, &d), NIPC_ERR_TRUNCATED);
    CHECK_OK(nipc_hello_ack_decode(p, 48, &d));
}

static void hello_ack_reject_flags(void)
{
    uint8_t p[48];
    nipc_hello_ack_t d;
    raw_ack_payload(p);
    put16(p + 2, 1);
    CHECK_ERR(nipc_hello_ack_decode(p, 48, &d), NIPC_ERR_BAD_FLAGS);
    /* client order: flags before layout */
    put16(p, 2);
    CHECK_ERR(nipc_hello_ack_decode(p, 48, &d), NIPC_ERR_BAD_FLAGS);
}

static void hello_ack_reject_layout(void)
{
    uint8_t p[48];
    nipc_hello_ack_t d;
    raw_ack_payload(p);
    put16(p, 0);
    CHECK_ERR(nipc_hello_ack_decode(p, 48, &d), NIPC_ERR_BAD_LAYOUT);
    put16(p, 2);
    CHECK_ERR(nipc_hello_ack_decode(p, 48, &d), NIPC_ERR_BAD_LAYOUT);
}

static void hello_ack_reserved_ignored(void)
{
    uint8_t p[48];
    nipc_hello_ack_t d;
    raw_ack_payload(p);
    put32(p + 36, 0xdeadbeefu);
    CHECK_OK(nipc_hello_ack_decode(p, 48, &d));
    CHECK_EQ_U64(d.session_id, 1);
}

static void profile_highest_bit(void)
{
    CHECK_EQ_U64(nipc_profile_highest(0), 0);
    CHECK_EQ_U64(nipc_profile_highest(0x01), 0x01);
    CHECK_EQ_U64(nipc_profile_highest(0x03), 0x02);
    CHECK_EQ_U64(nipc_profile_highest(0x05), 0x04);
    CHECK_EQ_U64(nipc_profile_highest(0x07), 0x04);
    CHECK_EQ_U64(nipc_profile_highest(0x0f), 0x08);
    CHECK_EQ_U64(nipc_profile_highest(0x80000000u), 0x80000000u);
    CHECK_EQ_U64(nipc_profile_highest(UINT32_MAX), 0x80000000u);
}

/* --------------------------------------------- server decision procedure */

#define TOKEN 0x0123456789abcdefull

/* A complete 76-byte HELLO message, written by hand. */
static void hs_hello(uint8_t *m, uint32_t supported, uint32_t preferred, uint32_t max_req,
                     uint32_t batch, uint64_t token, uint32_t packet)
{
    raw_header(m, NIPC_KIND_CONTROL, NIPC_CONTROL_HELLO, 0, 0, 44, 1, 0);
    uint8_t *p = m + 32;
    put16(p + 0, 1);
    put16(p + 2, 0);
    put32(p + 4, supported);
    put32(p + 8, preferred);
    put32(p + 12, max_req);
    put32(p + 16, batch);
    put32(p + 20, 4096);
    put32(p + 24, 7);
    put32(p + 28, 0);
    put64(p + 32, token);
    put32(p + 40, packet);
}

static nipc__server_offer_t hs_offer(void)
{
    nipc__server_offer_t o;
    o.supported_profiles = 0x03;
    o.preferred_profiles = 0x03;
    o.max_request_payload = 4096;
    o.max_response_payload = 65536;
    o.packet_size = 65536;
    o.auth_token = TOKEN;
    return o;
}

/* A rejection ACK is layout_version 1 and nothing else. */
static int ack_is_rejection(const nipc_hello_ack_t *a)
{
    return a->layout_version == 1 && a->flags == 0 && a->server_supported_profiles == 0 &&
           a->intersection_profiles == 0 && a->selected_profile == 0 &&
           a->agreed_max_request_payload_bytes == 0 && a->agreed_max_request_batch_items == 0 &&
           a->agreed_max_response_payload_bytes == 0 &&
           a->agreed_max_response_batch_items == 0 && a->agreed_packet_size == 0 &&
           a->reserved == 0 && a->session_id == 0;
}

static int decide(const uint8_t *m, size_t len, const nipc__server_offer_t *o,
                  nipc_hello_ack_t *ack)
{
    nipc_hello_t h;
    memset(ack, 0xa5, sizeof *ack); /* must be overwritten */
    return nipc__handshake_decide(m, len, o, 42, &h, ack);
}

static void hs_step1_no_bytes(void)
{
    uint8_t m[76];
    nipc_hello_ack_t a;
    nipc__server_offer_t o = hs_offer();
    hs_hello(m, 1, 0, 1024, 1, TOKEN, 65536);
    CHECK(decide(m, 0, &o, &a) == NIPC__HS_CLOSE);
}

static void hs_step2_header_invalid(void)
{
    uint8_t m[76];
    nipc_hello_ack_t a;
    nipc__server_offer_t o = hs_offer();

    hs_hello(m, 1, 0, 1024, 1, TOKEN, 65536);
    CHECK(decide(m, 31, &o, &a) == NIPC__HS_CLOSE);
    put32(m, 0x4e43484bu);
    CHECK(decide(m, 76, &o, &a) == NIPC__HS_CLOSE);
    put16(m + 4, 2); /* bad magic AND other version: not the exception */
    CHECK(decide(m, 76, &o, &a) == NIPC__HS_CLOSE);

    hs_hello(m, 1, 0, 1024, 1, TOKEN, 65536);
    put16(m + 6, 33);
    CHECK(decide(m, 76, &o, &a) == NIPC__HS_CLOSE);
    hs_hello(m, 1, 0, 1024, 1, TOKEN, 65536);
    put16(m + 8, 0);
    CHECK(decide(m, 76, &o, &a) == NIPC__HS_CLOSE);
    put16(m + 8, 4);
    CHECK(decide(m, 76, &o, &a) == NIPC__HS_CLOSE);

    /* Version != 1 but not a v-other HELLO: header_len, kind or code differ. */
    hs_hello(m, 1, 0, 1024, 1, TOKEN, 65536);
    put16(m + 4, 2);
    put16(m + 6, 40);
    CHECK(decide(m, 76, &o, &a) == NIPC__HS_CLOSE);
    hs_hello(m, 1, 0, 1024, 1, TOKEN, 65536);
    put16(m + 4, 2);
    put16(m + 8, NIPC_KIND_REQUEST);
    CHECK(decide(m, 76, &o, &a) == NIPC__HS_CLOSE);
    hs_hello(m, 1, 0, 1024, 1, TOKEN, 65536);
    put16(m + 4, 2);
    put16(m + 12, NIPC_CONTROL_HELLO_ACK);
    CHECK(decide(m, 76, &o, &a) == NIPC__HS_CLOSE);
}

static void hs_step2a_other_version(void)
{
    uint8_t m[76];
    nipc_hello_ack_t a;
    nipc__server_offer_t o = hs_offer();
    static const uint16_t versions[] = {0, 2, 0xffff};
    for (size_t i = 0; i < sizeof versions / sizeof versions[0]; i++) {
        hs_hello(m, 1, 0, 1024, 1, TOKEN, 65536);
        put16(m + 4, versions[i]);
        CHECK(decide(m, 76, &o, &a) == NIPC_STATUS_INCOMPATIBLE);
        CHECK(ack_is_rejection(&a));
    }
    /* Decided from the header alone: before the payload (and every later) check. */
    hs_hello(m, 0, 0, 1u << 30, 1, ~TOKEN, 1);
    put16(m + 4, 2);
    put16(m + 32, 9);
    put32(m + 60, 1);
    CHECK(decide(m, 76, &o, &a) == NIPC_STATUS_INCOMPATIBLE);
    CHECK(decide(m, 32, &o, &a) == NIPC_STATUS_INCOMPATIBLE);
    CHECK(ack_is_rejection(&a));
}

static void hs_step3_not_a_hello(void)
{
    uint8_t m[76];
    nipc_hello_ack_t a;
    nipc__server_offer_t o = hs_offer();
    hs_hello(m, 1, 0, 1024, 1, TOKEN, 65536);
    put16(m + 8, NIPC_KIND_REQUEST);
    CHECK(decide(m, 76, &o, &a) == NIPC__HS_CLOSE);
    put16(m + 8, NIPC_KIND_RESPONSE);
    CHECK(decide(m, 76, &o, &a) == NIPC__HS_CLOSE);
    hs_hello(m, 1, 0, 1024, 1, TOKEN, 65536);
    put16(m + 12, NIPC_CONTROL_HELLO_ACK);
    CHECK(decide(m, 76, &o, &a) == NIPC__HS_CLOSE);
    put16(m + 12, 0);
    CHECK(decide(m, 76, &o, &a) == NIPC__HS_CLOSE);
}

static void hs_step4_short_payload(void)
{
    uint8_t m[76];
    nipc_hello_ack_t a;
    nipc__server_offer_t o = hs_offer();
    hs_hello(m, 1, 0, 1024, 1, TOKEN, 65536);
    CHECK(decide(m, 32, &o, &a) == NIPC__HS_CLOSE);
    CHECK(decide(m, 75, &o, &a) == NIPC__HS_CLOSE);
    /* also before the layout check */
    put16(m + 32, 2);
    CHECK(decide(m, 75, &o, &a) == NIPC__HS_CLOSE);
}

static void hs_step5_layout(void)
{
    uint8_t m[76];
    nipc_hello_ack_t a;
    nipc__server_offer_t o = hs_offer();
    hs_hello(m, 1, 0, 1024, 1, TOKEN, 65536);
    put16(m + 32, 2);
    CHECK(decide(m, 76, &o, &a) == NIPC_STATUS_INCOMPATIBLE);
    CHECK(ack_is_rejection(&a));
    /* before reserved, profiles, token, limits, packet */
    put32(m + 60, 1);
    put32(m + 36, 0x10);
    put64(m + 64, ~TOKEN);
    put32(m + 44, UINT32_MAX);
    put32(m + 72, 0);
    CHECK(decide(m, 76, &o, &a) == NIPC_STATUS_INCOMPATIBLE);
    CHECK(ack_is_rejection(&a));
}

static void hs_step6_reserved(void)
{
    uint8_t m[76];
    nipc_hello_ack_t a;
    nipc__server_offer_t o = hs_offer();
    hs_hello(m, 1, 0, 1024, 1, TOKEN, 65536);
    put32(m + 60, 1);
    CHECK(decide(m, 76, &o, &a) == NIPC__HS_CLOSE);
    /* before profiles and token */
    put32(m + 36, 0x10);
    put64(m + 64, ~TOKEN);
    CHECK(decide(m, 76, &o, &a) == NIPC__HS_CLOSE);
}

static void hs_unchecked_fields(void)
{
    /* HELLO flags and the header's flags / payload_len / item_count /
     * message_id / transport_status are not checked. */
    uint8_t m[76];
    nipc_hello_ack_t a;
    nipc__server_offer_t o = hs_offer();
    hs_hello(m, 1, 0, 1024, 1, TOKEN, 65536);
    put16(m + 34, 0xffff);
    put16(m + 10, 0xffff);
    put16(m + 14, 6);
    put32(m + 16, 9999);
    put32(m + 20, 0);
    put64(m + 24, 77);
    CHECK(decide(m, 76, &o, &a) == NIPC_STATUS_OK);
    CHECK_EQ_U64(a.flags, 0);
}

static void hs_step7_no_common_profile(void)
{
    uint8_t m[76];
    nipc_hello_ack_t a;
    nipc__server_offer_t o = hs_offer();
    hs_hello(m, 0x04, 0x04, 1024, 1, TOKEN, 65536);
    CHECK(decide(m, 76, &o, &a) == NIPC_STATUS_UNSUPPORTED);
    CHECK(ack_is_rejection(&a));
    hs_hello(m, 0, 0, 1024, 1, TOKEN, 65536);
    CHECK(decide(m, 76, &o, &a) == NIPC_STATUS_UNSUPPORTED);
    /* upstream order: profiles before token, limit and packet */
    hs_hello(m, 0x04, 0, 1024, 1, ~TOKEN, 65536);
    CHECK(decide(m, 76, &o, &a) == NIPC_STATUS_UNSUPPORTED);
    hs_hello(m, 0x08, 0, UINT32_MAX, 1, TOKEN ^ 1u, 16);
    CHECK(decide(m, 76, &o, &a) == NIPC_STATUS_UNSUPPORTED);
    CHECK(ack_is_rejection(&a));
}

static void hs_step8_token(void)
{
    uint8_t m[76];
    nipc_hello_ack_t a;
    nipc__server_offer_t o = hs_offer();
    hs_hello(m, 0x01, 0, 1024, 1, TOKEN ^ 1u, 65536);
    CHECK(decide(m, 76, &o, &a) == NIPC_STATUS_AUTH_FAILED);
    CHECK(ack_is_rejection(&a));
    hs_hello(m, 0x01, 0, 1024, 1, TOKEN ^ 0x8000000000000000ull, 65536);
    CHECK(decide(m, 76, &o, &a) == NIPC_STATUS_AUTH_FAILED);
    hs_hello(m, 0x01, 0, 1024, 1, 0, 65536);
    CHECK(decide(m, 76, &o, &a) == NIPC_STATUS_AUTH_FAILED);
    /* before the request limit and the packet size */
    hs_hello(m, 0x01, 0, 4097, 1, ~TOKEN, 65536);
    CHECK(decide(m, 76, &o, &a) == NIPC_STATUS_AUTH_FAILED);
    hs_hello(m, 0x01, 0, UINT32_MAX, 1, ~TOKEN, 32);
    CHECK(decide(m, 76, &o, &a) == NIPC_STATUS_AUTH_FAILED);
    CHECK(ack_is_rejection(&a));
    /* a zero token is a value like any other */
    o.auth_token = 0;
    hs_hello(m, 0x01, 0, 1024, 1, 0, 65536);
    CHECK(decide(m, 76, &o, &a) == NIPC_STATUS_OK);
}

static void hs_step9_request_limit(void)
{
    uint8_t m[76];
    nipc_hello_ack_t a;
    nipc__server_offer_t o = hs_offer();
    hs_hello(m, 0x01, 0, 4097, 1, TOKEN, 65536);
    CHECK(decide(m, 76, &o, &a) == NIPC_STATUS_LIMIT_EXCEEDED);
    CHECK(ack_is_rejection(&a));
    hs_hello(m, 0x01, 0, UINT32_MAX, 1, TOKEN, 65536);
    CHECK(decide(m, 76, &o, &a) == NIPC_STATUS_LIMIT_EXCEEDED);
    /* before the packet size */
    hs_hello(m, 0x01, 0, 4097, 1, TOKEN, 0);
    CHECK(decide(m, 76, &o, &a) == NIPC_STATUS_LIMIT_EXCEEDED);
    /* equal is fine */
    hs_hello(m, 0x01, 0, 4096, 1, TOKEN, 65536);
    CHECK(decide(m, 76, &o, &a) == NIPC_STATUS_OK);
    CHECK_EQ_U64(a.agreed_max_request_payload_bytes, 4096);
}

static void hs_step10_packet_size(void)
{
    uint8_t m[76];
    nipc_hello_ack_t a;
    nipc__server_offer_t o = hs_offer();
    static const uint32_t small[] = {0, 1, 32};
    for (size_t i = 0; i < sizeof small / sizeof small[0]; i++) {
        hs_hello(m, 0x01, 0, 1024, 1, TOKEN, small[i]);
        CHECK(decide(m, 76, &o, &a) == NIPC_STATUS_INCOMPATIBLE);
        CHECK(ack_is_rejection(&a));
    }
    /* the server's own packet size counts too: min(hello, server) */
    o.packet_size = 32;
    hs_hello(m, 0x01, 0, 1024, 1, TOKEN, 65536);
    CHECK(decide(m, 76, &o, &a) == NIPC_STATUS_INCOMPATIBLE);
    o.packet_size = 33;
    CHECK(decide(m, 76, &o, &a) == NIPC_STATUS_OK);
    CHECK_EQ_U64(a.agreed_packet_size, 33);
    o = hs_offer();
    hs_hello(m, 0x01, 0, 1024, 1, TOKEN, 33);
    CHECK(decide(m, 76, &o, &a) == NIPC_STATUS_OK);
    CHECK_EQ_U64(a.agreed_packet_size, 33);
}

static void hs_step11_success_values(void)
{
    uint8_t m[76];
    nipc_hello_t h;
    nipc_hello_ack_t a;
    nipc__server_offer_t o = hs_offer();
    o.supported_profiles = 0x07;
    o.preferred_profiles = 0x07;
    o.max_request_payload = 1u << 20;
    o.max_response_payload = 2048;
    o.packet_size = 16384;

    /* request payload echoed even though smaller than the server's; batch
     * echoed without a cap; response limit is the server's (hint 4096 and
     * response batch 7 ignored); response batch = request batch. */
    hs_hello(m, 0x03, 0, 100, 1000000, TOKEN, 212992);
    memset(&h, 0, sizeof h);
    memset(&a, 0xa5, sizeof a);
    CHECK(nipc__handshake_decide(m, 76, &o, 0x1234567890ull, &h, &a) == NIPC_STATUS_OK);
    CHECK_EQ_U64(a.layout_version, 1);
    CHECK_EQ_U64(a.flags, 0);
    CHECK_EQ_U64(a.server_supported_profiles, 0x07);
    CHECK_EQ_U64(a.intersection_profiles, 0x03);
    CHECK_EQ_U64(a.selected_profile, 0x02); /* no client preference: highest of I */
    CHECK_EQ_U64(a.agreed_max_request_payload_bytes, 100);
    CHECK_EQ_U64(a.agreed_max_request_batch_items, 1000000);
    CHECK_EQ_U64(a.agreed_max_response_payload_bytes, 2048);
    CHECK_EQ_U64(a.agreed_max_response_batch_items, 1000000);
    CHECK_EQ_U64(a.agreed_packet_size, 16384); /* min(212992, 16384) */
    CHECK_EQ_U64(a.reserved, 0);
    CHECK_EQ_U64(a.session_id, 0x1234567890ull);
    /* the decoded HELLO is handed back */
    CHECK_EQ_U64(h.supported_profiles, 0x03);
    CHECK_EQ_U64(h.max_request_batch_items, 1000000);
    CHECK_EQ_U64(h.max_response_payload_bytes, 4096);
    CHECK_EQ_U64(h.auth_token, TOKEN);
    CHECK_EQ_U64(h.packet_size, 212992);

    /* packet = min in the other direction */
    hs_hello(m, 0x03, 0, 100, 1, TOKEN, 4096);
    CHECK(decide(m, 76, &o, &a) == NIPC_STATUS_OK);
    CHECK_EQ_U64(a.agreed_packet_size, 4096);
    /* zero request fields are echoed as they are (the client defaults them) */
    hs_hello(m, 0x03, 0, 0, 0, TOKEN, 4096);
    CHECK(decide(m, 76, &o, &a) == NIPC_STATUS_OK);
    CHECK_EQ_U64(a.agreed_max_request_payload_bytes, 0);
    CHECK_EQ_U64(a.agreed_max_request_batch_items, 0);
    CHECK_EQ_U64(a.agreed_max_response_batch_items, 0);
}

static uint32_t select_profile(uint32_t c_sup, uint32_t c_pref, uint32_t s_sup, uint32_t s_pref)
{
    uint8_t m[76];
    nipc_hello_ack_t a;
    nipc__server_offer_t o = hs_offer();
    o.supported_profiles = s_sup;
    o.preferred_profiles = s_pref;
    hs_hello(m, c_sup, c_pref, 1024, 1, TOKEN, 65536);
    if (decide(m, 76, &o, &a) != NIPC_STATUS_OK)
        return 0xdead;
    return a.selected_profile;
}

static void hs_profile_selection(void)
{
    /* wire.md 5: live-peer observations with S_pref = S_prof */
    CHECK_EQ_U64(select_profile(0x03, 0x01, 0x03, 0x03), 0x01);
    CHECK_EQ_U64(select_profile(0x03, 0x02, 0x03, 0x03), 0x02);
    CHECK_EQ_U64(select_profile(0x03, 0x03, 0x03, 0x03), 0x02);
    CHECK_EQ_U64(select_profile(0x03, 0x00, 0x03, 0x03), 0x02);
    /* no preferences anywhere: highest bit of the intersection (SHM wins) */
    CHECK_EQ_U64(select_profile(0x03, 0, 0x03, 0), 0x02);
    CHECK_EQ_U64(select_profile(0x07, 0, 0x05, 0), 0x04);
    /* server preference 0: the client's preference cannot apply */
    CHECK_EQ_U64(select_profile(0x03, 0x01, 0x03, 0), 0x02);
    /* preferences that do not meet in I fall back to highest(I) */
    CHECK_EQ_U64(select_profile(0x03, 0x04, 0x07, 0x07), 0x02);
    CHECK_EQ_U64(select_profile(0x07, 0x01, 0x07, 0x02), 0x04);
    /* highest bit of I & c_pref & s_pref */
    CHECK_EQ_U64(select_profile(0x07, 0x05, 0x07, 0x03), 0x01);
    CHECK_EQ_U64(select_profile(0x07, 0x07, 0x07, 0x06), 0x04);
    CHECK_EQ_U64(select_profile(0x05, 0x01, 0x07, 0x07), 0x01);
    /* a single-bit intersection wins whatever the preferences */
    CHECK_EQ_U64(select_profile(0x01, 0x02, 0x03, 0x02), 0x01);
}

static void hs_encode_messages(void)
{
    /* encode_hello / encode_ack frame the payload in a control header. */
    nipc_hello_t h = {1, 0, 0x01, 0, 1024, 1, 65536, 1, 0, TOKEN, 65536};
    uint8_t msg[76], ref[76];
    nipc__handshake_encode_hello(&h, msg);
    hs_hello(ref, 0x01, 0, 1024, 1, TOKEN, 65536);
    put32(ref + 32 + 20, 65536); /* hs_hello writes hint 4096, batch 7 */
    put32(ref + 32 + 24, 1);
    CHECK_MEM(msg, ref, 76);

    nipc_hello_ack_t a;
    nipc__server_offer_t o = hs_offer();
    CHECK(decide(msg, 76, &o, &a) == NIPC_STATUS_OK);
    uint8_t out[80];
    nipc__handshake_encode_ack(NIPC_STATUS_OK, &a, out);
    uint8_t hdr[32];
    raw_header(hdr, NIPC_KIND_CONTROL, NIPC_CONTROL_HELLO_ACK, 0, 0, 48, 1, 0);
    CHECK_MEM(out, hdr, 32);
    nipc_hello_ack_t back;
    CHECK_OK(nipc__handshake_client_result(out, 80, &back));
    CHECK(memcmp(&back, &a, sizeof a) == 0);

    /* A rejection ACK: status in the header, payload = layout 1 + zeros. */
    hs_hello(msg, 0x01, 0, 1024, 1, ~TOKEN, 65536);
    int st = decide(msg, 76, &o, &a);
    CHECK(st == NIPC_STATUS_AUTH_FAILED);
    nipc__handshake_encode_ack(st, &a, out);
    raw_header(hdr, NIPC_KIND_CONTROL, NIPC_CONTROL_HELLO_ACK, 0, NIPC_STATUS_AUTH_FAILED, 48,
               1, 0);
    CHECK_MEM(out, hdr, 32);
    CHECK(out[32] == 1 && out[33] == 0);
    CHECK(all_bytes_are(out + 34, 46, 0));
    CHECK_ERR(nipc__handshake_client_result(out, 80, &back), NIPC_ERR_AUTH_FAILED);
}

/* ------------------------------------------------ client ACK processing */

static void hs_ack(uint8_t *m, uint16_t status)
{
    raw_header(m, NIPC_KIND_CONTROL, NIPC_CONTROL_HELLO_ACK, 0, status, 48, 1, 0);
    raw_ack_payload(m + 32);
}

static void client_ack_ok(void)
{
    uint8_t m[80];
    nipc_hello_ack_t a;
    memset(&a, 0, sizeof a);
    hs_ack(m, NIPC_STATUS_OK);
    CHECK_OK(nipc__handshake_client_result(m, 80, &a));
    CHECK_EQ_U64(a.selected_profile, 0x04);
    CHECK_EQ_U64(a.agreed_max_request_payload_bytes, 2048);
    CHECK_EQ_U64(a.agreed_max_response_payload_bytes, 65536);
    CHECK_EQ_U64(a.agreed_packet_size, 32768);
    CHECK_EQ_U64(a.session_id, 1);
    /* reserved is ignored */
    put32(m + 32 + 36, 5);
    CHECK_OK(nipc__handshake_client_result(m, 80, &a));
    /* smallest acceptable packet size */
    hs_ack(m, NIPC_STATUS_OK);
    put32(m + 32 + 32, 33);
    CHECK_OK(nipc__handshake_client_result(m, 80, &a));
    CHECK_EQ_U64(a.agreed_packet_size, 33);
}

static void client_ack_statuses(void)
{
    uint8_t m[80];
    nipc_hello_ack_t a;
    hs_ack(m, NIPC_STATUS_AUTH_FAILED);
    CHECK_ERR(nipc__handshake_client_result(m, 80, &a), NIPC_ERR_AUTH_FAILED);
    hs_ack(m, NIPC_STATUS_UNSUPPORTED);
    CHECK_ERR(nipc__handshake_client_result(m, 80, &a), NIPC_ERR_UNSUPPORTED);
    hs_ack(m, NIPC_STATUS_INCOMPATIBLE);
    CHECK_ERR(nipc__handshake_client_result(m, 80, &a), NIPC_ERR_INCOMPATIBLE);
    hs_ack(m, NIPC_STATUS_LIMIT_EXCEEDED);
    CHECK_ERR(nipc__handshake_client_result(m, 80, &a), NIPC_ERR_LIMIT_EXCEEDED);
    static const uint16_t other[] = {NIPC_STATUS_BAD_ENVELOPE, NIPC_STATUS_INTERNAL_ERROR, 7,
                                     0xffff};
    for (size_t i = 0; i < sizeof other / sizeof other[0]; i++) {
        hs_ack(m, other[i]);
        CHECK_ERR(nipc__handshake_client_result(m, 80, &a), NIPC_ERR_HANDSHAKE);
    }
    /* The status is read before the payload: a rejection needs no valid payload. */
    hs_ack(m, NIPC_STATUS_AUTH_FAILED);
    CHECK_ERR(nipc__handshake_client_result(m, 32, &a), NIPC_ERR_AUTH_FAILED);
}

static void client_ack_bad_header_version(void)
{
    uint8_t m[80];
    nipc_hello_ack_t a;
    hs_ack(m, NIPC_STATUS_OK);
    put16(m + 4, 2);
    CHECK_ERR(nipc__handshake_client_result(m, 80, &a), NIPC_ERR_INCOMPATIBLE);
    put16(m + 4, 0);
    CHECK_ERR(nipc__handshake_client_result(m, 80, &a), NIPC_ERR_INCOMPATIBLE);
}

static void client_ack_bad_header(void)
{
    uint8_t m[80];
    nipc_hello_ack_t a;
    hs_ack(m, NIPC_STATUS_OK);
    CHECK_ERR(nipc__handshake_client_result(m, 0, &a), NIPC_ERR_PROTOCOL);
    CHECK_ERR(nipc__handshake_client_result(m, 31, &a), NIPC_ERR_PROTOCOL);
    put32(m, 0x4e43484bu);
    CHECK_ERR(nipc__handshake_client_result(m, 80, &a), NIPC_ERR_PROTOCOL);
    hs_ack(m, NIPC_STATUS_OK);
    put16(m + 6, 48);
    CHECK_ERR(nipc__handshake_client_result(m, 80, &a), NIPC_ERR_PROTOCOL);
    hs_ack(m, NIPC_STATUS_OK);
    put16(m + 8, 0);
    CHECK_ERR(nipc__handshake_client_result(m, 80, &a), NIPC_ERR_PROTOCOL);
    put16(m + 8, 4);
    CHECK_ERR(nipc__handshake_client_result(m, 80, &a), NIPC_ERR_PROTOCOL);
}

static void client_ack_not_an_ack(void)
{
    uint8_t m[80];
    nipc_hello_ack_t a;
    hs_ack(m, NIPC_STATUS_OK);
    put16(m + 8, NIPC_KIND_RESPONSE);
    CHECK_ERR(nipc__handshake_client_result(m, 80, &a), NIPC_ERR_PROTOCOL);
    hs_ack(m, NIPC_STATUS_OK);
    put16(m + 12, NIPC_CONTROL_HELLO);
    CHECK_ERR(nipc__handshake_client_result(m, 80, &a), NIPC_ERR_PROTOCOL);
    /* even with a rejection status, the wrong kind is a protocol error */
    hs_ack(m, NIPC_STATUS_AUTH_FAILED);
    put16(m + 8, NIPC_KIND_REQUEST);
    CHECK_ERR(nipc__handshake_client_result(m, 80, &a), NIPC_ERR_PROTOCOL);
}

static void client_ack_short_payload(void)
{
    uint8_t m[80];
    nipc_hello_ack_t a;
    hs_ack(m, NIPC_STATUS_OK);
    CHECK_ERR(nipc__handshake_client_result(m, 79, &a), NIPC_ERR_PROTOCOL);
    CHECK_ERR(nipc__handshake_client_result(m, 32, &a), NIPC_ERR_PROTOCOL);
}

static void client_ack_flags(void)
{
    uint8_t m[80];
    nipc_hello_ack_t a;
    hs_ack(m, NIPC_STATUS_OK);
    put16(m + 34, 1);
    CHECK_ERR(nipc__handshake_client_result(m, 80, &a), NIPC_ERR_PROTOCOL);
    put16(m + 32, 2); /* flags are checked before the layout */
    CHECK_ERR(nipc__handshake_client_result(m, 80, &a), NIPC_ERR_PROTOCOL);
}

static void client_ack_layout(void)
{
    uint8_t m[80];
    nipc_hello_ack_t a;
    hs_ack(m, NIPC_STATUS_OK);
    put16(m + 32, 2);
    CHECK_ERR(nipc__handshake_client_result(m, 80, &a), NIPC_ERR_INCOMPATIBLE);
    put16(m + 32, 0);
    CHECK_ERR(nipc__handshake_client_result(m, 80, &a), NIPC_ERR_INCOMPATIBLE);
}

static void client_ack_packet_size(void)
{
    uint8_t m[80];
    nipc_hello_ack_t a;
    static const uint32_t small[] = {0, 1, 32};
    for (size_t i = 0; i < sizeof small / sizeof small[0]; i++) {
        hs_ack(m, NIPC_STATUS_OK);
        put32(m + 32 + 32, small[i]);
        CHECK_ERR(nipc__handshake_client_result(m, 80, &a), NIPC_ERR_PROTOCOL);
    }
}

static void token_equality(void)
{
    CHECK(nipc__token_equal(0, 0));
    CHECK(nipc__token_equal(TOKEN, TOKEN));
    CHECK(!nipc__token_equal(TOKEN, TOKEN ^ 1u));
    CHECK(!nipc__token_equal(TOKEN, TOKEN ^ 0x8000000000000000ull));
    CHECK(!nipc__token_equal(0, UINT64_MAX));
}

T_MAIN(T_CASE(header_make_and_roundtrip), T_CASE(header_unchecked_fields_pass),
       T_CASE(header_reject_truncated), T_CASE(header_reject_magic),
       T_CASE(header_reject_version), T_CASE(header_reject_header_len),
       T_CASE(header_reject_kind), T_CASE(header_check_order), T_CASE(chunk_roundtrip),
       T_CASE(chunk_reject_truncated), T_CASE(chunk_reject_magic), T_CASE(chunk_reject_version),
       T_CASE(chunk_reject_flags), T_CASE(chunk_count_formula), T_CASE(batch_varied_lengths),
       T_CASE(batch_single_and_empty), T_CASE(batch_roundtrip_many), T_CASE(batch_needed_size),
       T_CASE(batch_builder_item_count), T_CASE(batch_builder_size_overflow),
       T_CASE(batch_validate_accepts), T_CASE(batch_reject_short_directory),
       T_CASE(batch_reject_misaligned), T_CASE(batch_reject_out_of_bounds),
       T_CASE(batch_reject_wrapping_entry), T_CASE(batch_reject_first_bad_entry_decides),
       T_CASE(batch_item_index_out_of_range),
       T_CASE(batch_item_rechecks_entry), T_CASE(hello_roundtrip),
       T_CASE(hello_reject_truncated), T_CASE(hello_reject_layout),
       T_CASE(hello_reject_reserved), T_CASE(hello_flags_accepted), T_CASE(hello_ack_roundtrip),
       T_CASE(hello_ack_reject_truncated), T_CASE(hello_ack_reject_flags),
       T_CASE(hello_ack_reject_layout), T_CASE(hello_ack_reserved_ignored),
       T_CASE(profile_highest_bit), T_CASE(hs_step1_no_bytes), T_CASE(hs_step2_header_invalid),
       T_CASE(hs_step2a_other_version), T_CASE(hs_step3_not_a_hello),
       T_CASE(hs_step4_short_payload), T_CASE(hs_step5_layout), T_CASE(hs_step6_reserved),
       T_CASE(hs_unchecked_fields), T_CASE(hs_step7_no_common_profile), T_CASE(hs_step8_token),
       T_CASE(hs_step9_request_limit), T_CASE(hs_step10_packet_size),
       T_CASE(hs_step11_success_values), T_CASE(hs_profile_selection),
       T_CASE(hs_encode_messages), T_CASE(client_ack_ok), T_CASE(client_ack_statuses),
       T_CASE(client_ack_bad_header_version), T_CASE(client_ack_bad_header),
       T_CASE(client_ack_not_an_ack), T_CASE(client_ack_short_payload), T_CASE(client_ack_flags),
       T_CASE(client_ack_layout), T_CASE(client_ack_packet_size), T_CASE(token_equality))
