/*
 * Reference rows: what this machine does with plain system calls, no netipc
 * code at all. Each row does the least work that still moves the same bytes
 * as the library row it is compared with:
 *
 *  - SEQPACKET ping-pong: 40-byte messages (a 32-byte header and one u64,
 *    the size of an INCREMENT call), blocking send()/recv(), the server adds
 *    one to the u64;
 *  - SEQPACKET batch: one 8 KB message each way (header + 1,000 u64 that the
 *    server increments);
 *  - SEQPACKET pipeline: 40-byte messages, 16 in flight;
 *  - shared-memory ping-pong: one area per direction, publish = copy, release
 *    length and sequence, bump a futex word and FUTEX_WAKE on every publish;
 *    consume = spin 128 pauses on the sequence, then FUTEX_WAIT. The same
 *    algorithm family as the protocol's SHM data plane, written separately;
 *  - open-addressing hash lookup over the same (hash, name) keys as the
 *    cache rows.
 *
 * Deliberately no error recovery: a failure ends the sample.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "corpus/corpus.h"

#define RAW_HEADER 32u
#define RAW_BATCH_SIZE (RAW_HEADER + BENCH_BATCH_ITEMS * 8u) /* 8,032 bytes */
#define RAW_BUF 65536u
#define RAW_SPIN 128
#define RAW_SHM_AREA 4096u
#define CONNECT_WAIT_MS 5000

static void rd_u64(const uint8_t *p, uint64_t *v)
{
    memcpy(v, p, 8);
}

static void wr_u64(uint8_t *p, uint64_t v)
{
    memcpy(p, &v, 8);
}

static int path_in(const char *dir, const char *name, char *out, size_t cap)
{
    int n = snprintf(out, cap, "%s/%s", dir, name);
    return n > 0 && (size_t)n < cap ? 0 : -1;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* ============================================================ SEQPACKET */

typedef struct seq_server {
    int listen_fd;
    pthread_t thread;
    atomic_uint_fast64_t requests;
    char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
} seq_server_t;

static void *seq_serve(void *arg)
{
    seq_server_t *s = arg;
    static uint8_t buf[RAW_BUF];
    for (;;) {
        int fd = accept(s->listen_fd, NULL, NULL);
        if (fd < 0) {
            if (errno == EINTR)
                continue;
            return NULL;
        }
        for (;;) {
            ssize_t n = recv(fd, buf, sizeof buf, 0);
            if (n <= 0)
                break;
            size_t len = (size_t)n;
            for (size_t off = RAW_HEADER; off + 8 <= len; off += 8) {
                uint64_t v;
                rd_u64(buf + off, &v);
                wr_u64(buf + off, v + 1);
            }
            if (send(fd, buf, len, MSG_NOSIGNAL) != n)
                break;
            atomic_fetch_add_explicit(&s->requests, 1, memory_order_relaxed);
        }
        close(fd);
    }
}

static int seq_server_start(const scenario_t *sc, const char *run_dir, void **state)
{
    (void)sc;
    seq_server_t *s = calloc(1, sizeof *s);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (!s || path_in(run_dir, "raw.sock", sa.sun_path, sizeof sa.sun_path) != 0)
        return -1;
    memcpy(s->path, sa.sun_path, sizeof s->path);
    s->listen_fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    if (s->listen_fd < 0 || bind(s->listen_fd, (struct sockaddr *)&sa, sizeof sa) != 0 ||
        listen(s->listen_fd, 4) != 0) {
        perror("raw seqpacket listen");
        return -1;
    }
    if (pthread_create(&s->thread, NULL, seq_serve, s) != 0)
        return -1;
    *state = s;
    return 0;
}

static uint64_t seq_server_requests(void *state)
{
    seq_server_t *s = state;
    return atomic_load(&s->requests);
}

static void seq_server_stop(void *state)
{
    seq_server_t *s = state;
    unlink(s->path);
    /* The process exits next; the serving thread ends with it. */
}

const server_ops_t bench_raw_seqpacket_server = {seq_server_start, seq_server_requests,
                                                 seq_server_stop};

typedef struct seq_client {
    int fd;
    size_t size; /* message size */
    uint8_t tx[RAW_BUF];
    uint8_t rx[RAW_BUF];
} seq_client_t;

static int seq_open_size(const char *run_dir, size_t size, void **state)
{
    seq_client_t *c = calloc(1, sizeof *c);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (!c || path_in(run_dir, "raw.sock", sa.sun_path, sizeof sa.sun_path) != 0)
        return -1;
    c->size = size;
    for (int waited = 0;; waited += 5) {
        c->fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
        if (c->fd < 0)
            return -1;
        if (connect(c->fd, (struct sockaddr *)&sa, sizeof sa) == 0)
            break;
        close(c->fd);
        if (waited >= CONNECT_WAIT_MS) {
            perror("raw seqpacket connect");
            return -1;
        }
        sleep_ms(5);
    }
    *state = c;
    return 0;
}

static int seq_open(const scenario_t *sc, const char *run_dir, void **state)
{
    (void)sc;
    return seq_open_size(run_dir, BENCH_MSG_SIZE, state);
}

static int seq_open_batch(const scenario_t *sc, const char *run_dir, void **state)
{
    (void)sc;
    return seq_open_size(run_dir, RAW_BATCH_SIZE, state);
}

static int seq_send(void *state, uint64_t id)
{
    seq_client_t *c = state;
    wr_u64(c->tx + 24, id);
    for (size_t off = RAW_HEADER; off < c->size; off += 8)
        wr_u64(c->tx + off, id + off);
    if (send(c->fd, c->tx, c->size, MSG_NOSIGNAL) != (ssize_t)c->size) {
        perror("raw seqpacket send");
        return -1;
    }
    return 0;
}

static int seq_receive(void *state, uint64_t *id)
{
    seq_client_t *c = state;
    ssize_t n = recv(c->fd, c->rx, sizeof c->rx, 0);
    if (n != (ssize_t)c->size) {
        fprintf(stderr, "raw seqpacket recv: %zd bytes\n", n);
        return -1;
    }
    rd_u64(c->rx + 24, id);
    for (size_t off = RAW_HEADER; off < c->size; off += 8) {
        uint64_t v;
        rd_u64(c->rx + off, &v);
        if (v != *id + off + 1) {
            fprintf(stderr, "raw seqpacket: wrong answer\n");
            return -1;
        }
    }
    return 0;
}

static int seq_call(void *state, uint64_t seq)
{
    uint64_t id;
    if (seq_send(state, seq) != 0 || seq_receive(state, &id) != 0)
        return -1;
    return id == seq ? 0 : -1;
}

static void seq_close(void *state)
{
    seq_client_t *c = state;
    close(c->fd);
    free(c);
}

const client_ops_t bench_raw_seqpacket_client = {seq_open, seq_call, NULL, NULL, seq_close};
const client_ops_t bench_raw_seqpacket_batch_client = {seq_open_batch, seq_call, NULL, NULL,
                                                       seq_close};
const client_ops_t bench_raw_seqpacket_pipeline_client = {seq_open, NULL, seq_send, seq_receive,
                                                          seq_close};

/* =============================================================== shm */

/* One direction: its control words in their own cache line, then its area. */
typedef struct shm_dir {
    _Alignas(64) atomic_uint_fast64_t seq;
    atomic_uint len;
    atomic_uint signal;  /* futex word */
    atomic_uint waiting; /* conditional wake: the consumer is (about to be) asleep */
    _Alignas(64) uint8_t area[RAW_SHM_AREA];
} shm_dir_t;

typedef struct shm_region {
    shm_dir_t req, resp;
    _Alignas(64) atomic_int closed; /* client gone */
} shm_region_t;

typedef struct shm_end {
    shm_region_t *r;
    int cond; /* wake only a declared waiter (SHM_SEALED rows) */
    uint64_t seen_req, seen_resp;
    uint8_t buf[RAW_SHM_AREA];
    char path[512];
} shm_end_t;

static long futex_op(atomic_uint *word, int op, unsigned val, const struct timespec *ts)
{
    /* Shared futex: the word lives in a mapping two processes share. */
    return syscall(SYS_futex, (unsigned *)word, op, val, ts, NULL, 0);
}

static void shm_publish(shm_dir_t *d, const uint8_t *msg, uint32_t len, int cond)
{
    memcpy(d->area, msg, len);
    atomic_store_explicit(&d->len, len, memory_order_release);
    atomic_fetch_add_explicit(&d->seq, 1, memory_order_release);
    /* Conditional: store seq, full fence, load the flag; the consumer
     * stores the flag, full fence, loads seq. One sees the other. */
    if (cond) {
        atomic_thread_fence(memory_order_seq_cst);
        if (!atomic_load_explicit(&d->waiting, memory_order_relaxed))
            return;
    }
    atomic_fetch_add_explicit(&d->signal, 1, memory_order_release);
    futex_op(&d->signal, FUTEX_WAKE, 1, NULL);
}

static inline void pause_cpu(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

/* Returns the length, or 0 when `closed` was raised while waiting. */
static uint32_t shm_consume(shm_dir_t *d, uint64_t *seen, uint8_t *out, atomic_int *closed,
                            int cond)
{
    uint64_t want = *seen + 1;
    int ready = 0;
    for (int i = 0; i < RAW_SPIN; i++) {
        if (atomic_load_explicit(&d->seq, memory_order_acquire) >= want) {
            ready = 1;
            break;
        }
        pause_cpu();
    }
    while (!ready) {
        if (cond) {
            atomic_store_explicit(&d->waiting, 1, memory_order_relaxed);
            atomic_thread_fence(memory_order_seq_cst);
        }
        unsigned v = atomic_load_explicit(&d->signal, memory_order_acquire);
        if (atomic_load_explicit(&d->seq, memory_order_acquire) >= want)
            break;
        if (closed && atomic_load(closed))
            return 0;
        struct timespec slice = {0, 100 * 1000000L};
        futex_op(&d->signal, FUTEX_WAIT, v, &slice);
    }
    if (cond)
        atomic_store_explicit(&d->waiting, 0, memory_order_relaxed);
    uint32_t len = atomic_load_explicit(&d->len, memory_order_acquire);
    memcpy(out, d->area, len);
    *seen = want;
    return len;
}

typedef struct shm_server {
    shm_end_t end;
    pthread_t thread;
    atomic_uint_fast64_t requests;
} shm_server_t;

static void *shm_serve(void *arg)
{
    shm_server_t *s = arg;
    shm_region_t *r = s->end.r;
    for (;;) {
        uint32_t len =
            shm_consume(&r->req, &s->end.seen_req, s->end.buf, &r->closed, s->end.cond);
        if (len == 0)
            return NULL;
        uint64_t v;
        rd_u64(s->end.buf + RAW_HEADER, &v);
        wr_u64(s->end.buf + RAW_HEADER, v + 1);
        shm_publish(&r->resp, s->end.buf, len, s->end.cond);
        atomic_fetch_add_explicit(&s->requests, 1, memory_order_relaxed);
    }
}

static shm_region_t *shm_map(const char *path, int create)
{
    int fd = open(path, create ? O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC : O_RDWR | O_CLOEXEC,
                  0600);
    if (fd < 0)
        return NULL;
    if (create && ftruncate(fd, sizeof(shm_region_t)) != 0) {
        close(fd);
        return NULL;
    }
    void *m = mmap(NULL, sizeof(shm_region_t), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    return m == MAP_FAILED ? NULL : m;
}

static int shm_server_start(const scenario_t *sc, const char *run_dir, void **state)
{
    shm_server_t *s = calloc(1, sizeof *s);
    if (!s || path_in(run_dir, "raw.shm", s->end.path, sizeof s->end.path) != 0)
        return -1;
    s->end.cond = sc->shm == SHM_SEALED;
    s->end.r = shm_map(s->end.path, 1);
    if (!s->end.r) {
        perror("raw shm create");
        return -1;
    }
    if (pthread_create(&s->thread, NULL, shm_serve, s) != 0)
        return -1;
    *state = s;
    return 0;
}

static uint64_t shm_server_requests(void *state)
{
    shm_server_t *s = state;
    return atomic_load(&s->requests);
}

static void shm_server_stop(void *state)
{
    shm_server_t *s = state;
    atomic_store(&s->end.r->closed, 1);
    atomic_fetch_add(&s->end.r->req.signal, 1);
    futex_op(&s->end.r->req.signal, FUTEX_WAKE, 1, NULL);
    pthread_join(s->thread, NULL);
    unlink(s->end.path);
}

const server_ops_t bench_raw_shm_server = {shm_server_start, shm_server_requests, shm_server_stop};

typedef struct shm_client {
    shm_end_t end;
    uint8_t tx[BENCH_MSG_SIZE];
} shm_client_t;

static int shm_client_open(const scenario_t *sc, const char *run_dir, void **state)
{
    shm_client_t *c = calloc(1, sizeof *c);
    if (!c || path_in(run_dir, "raw.shm", c->end.path, sizeof c->end.path) != 0)
        return -1;
    c->end.cond = sc->shm == SHM_SEALED;
    for (int waited = 0; !(c->end.r = shm_map(c->end.path, 0)); waited += 5) {
        if (waited >= CONNECT_WAIT_MS) {
            perror("raw shm attach");
            return -1;
        }
        sleep_ms(5);
    }
    c->end.seen_req = atomic_load(&c->end.r->req.seq);
    c->end.seen_resp = atomic_load(&c->end.r->resp.seq);
    *state = c;
    return 0;
}

static int shm_client_call(void *state, uint64_t seq)
{
    shm_client_t *c = state;
    wr_u64(c->tx + 24, seq);
    wr_u64(c->tx + RAW_HEADER, seq);
    shm_publish(&c->end.r->req, c->tx, sizeof c->tx, c->end.cond);
    uint32_t len = shm_consume(&c->end.r->resp, &c->end.seen_resp, c->end.buf, NULL, c->end.cond);
    uint64_t v;
    rd_u64(c->end.buf + RAW_HEADER, &v);
    if (len != sizeof c->tx || v != seq + 1) {
        fprintf(stderr, "raw shm: wrong answer\n");
        return -1;
    }
    return 0;
}

static void shm_client_close(void *state)
{
    shm_client_t *c = state;
    munmap(c->end.r, sizeof(shm_region_t));
    free(c);
}

const client_ops_t bench_raw_shm_client = {shm_client_open, shm_client_call, NULL, NULL,
                                           shm_client_close};

/* ============================================================ hash lookup */

typedef struct raw_entry {
    uint32_t hash;
    uint32_t len;
    const char *name;
    const char *path;
    uint32_t options;
    uint32_t path_len;
} raw_entry_t;

typedef struct raw_hash {
    nipc_cgroup_set_t set;
    char *arena; /* the table's own copy of the strings, as a cache keeps one */
    raw_entry_t *entries;
    uint32_t *slots; /* entry index + 1, 0 = empty */
    uint32_t mask;
    bench_key_t *keys;
    uint32_t nkeys, next;
} raw_hash_t;

/* murmur3's 32-bit finaliser: spreads the caller's hash over the table. */
static inline uint32_t mix32(uint32_t h)
{
    h ^= h >> 16;
    h *= 0x85ebca6bu;
    h ^= h >> 13;
    h *= 0xc2b2ae35u;
    h ^= h >> 16;
    return h;
}

static int raw_hash_open(const scenario_t *sc, const char *run_dir, void **state)
{
    (void)run_dir;
    raw_hash_t *h = calloc(1, sizeof *h);
    if (!h || bench_corpus_keys(sc->param, &h->set, &h->keys) != 0)
        return -1;
    uint32_t n = h->set.count, size = 16;
    while (size < 2 * n)
        size <<= 1;
    size_t bytes = 0;
    for (uint32_t i = 0; i < n; i++)
        bytes += h->set.items[i].name_len + h->set.items[i].path_len + 2u;
    h->arena = malloc(bytes);
    h->entries = calloc(n, sizeof *h->entries);
    h->slots = calloc(size, sizeof *h->slots);
    if (!h->arena || !h->entries || !h->slots)
        return -1;
    h->mask = size - 1;
    char *p = h->arena;
    for (uint32_t i = 0; i < n; i++) {
        const nipc_cgroup_entry_t *e = &h->set.items[i];
        char *name = p;
        memcpy(p, e->name, e->name_len + 1u);
        p += e->name_len + 1u;
        char *path = p;
        memcpy(p, e->path, e->path_len + 1u);
        p += e->path_len + 1u;
        h->entries[i] = (raw_entry_t){e->hash, e->name_len, name, path, e->options,
                                      e->path_len};
        uint32_t b = mix32(e->hash) & h->mask;
        while (h->slots[b])
            b = (b + 1) & h->mask;
        h->slots[b] = i + 1;
    }
    h->nkeys = n;
    *state = h;
    return 0;
}

static inline const raw_entry_t *raw_find(const raw_hash_t *h, uint32_t hash, const char *name,
                                          uint32_t len)
{
    for (uint32_t b = mix32(hash) & h->mask;; b = (b + 1) & h->mask) {
        uint32_t slot = h->slots[b];
        if (!slot)
            return NULL;
        const raw_entry_t *e = &h->entries[slot - 1];
        if (e->hash == hash && e->len == len && memcmp(e->name, name, len) == 0)
            return e;
    }
}

static uint64_t raw_hash_block(void *state, uint32_t count)
{
    raw_hash_t *h = state;
    uint64_t found = 0;
    for (uint32_t i = 0; i < count; i++) {
        const bench_key_t *k = &h->keys[h->next];
        if (++h->next == h->nkeys)
            h->next = 0;
        const raw_entry_t *e = raw_find(h, k->hash, k->name, k->len);
        /* Read what a caller would read, as the cache row's get() copies it. */
        if (e && e->path_len)
            found++;
    }
    return found;
}

static void raw_hash_close(void *state)
{
    raw_hash_t *h = state;
    free(h->arena);
    free(h->entries);
    free(h->slots);
    free(h->keys);
    nipc_cgroup_set_free(&h->set);
    free(h);
}

const local_ops_t bench_raw_hash_local = {raw_hash_open, raw_hash_block, raw_hash_close, NULL};
