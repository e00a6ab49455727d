/*
 * Level 3 suite: the cgroups snapshot cache against real provider processes
 * (tests/service_peers.c) serving deterministic corpora.
 *
 * Covers: empty until the first refresh, building from a 1,000-item
 * snapshot, lookups by (hash, name) hitting every item and missing absent
 * names / wrong hashes, snapshot order, status counters, the old snapshot
 * kept while the provider is gone or sends a corrupt item, replacement by a
 * new provider's corpus, an empty snapshot, and lookups on four threads
 * while the main thread refreshes between two corpora (run it under
 * -DNETIPC_SANITIZER=thread as well). Every case checks fds and run dir.
 */
#include "test.h"

#include <stdatomic.h>

#include "corpus/corpus.h"
#include "netipc/cache.h"
#include "platform/platform.h"
#include "service_peers.h"
#include "support.h"

#if defined(__linux__) || defined(_WIN32)
#define HAVE_SHM 1
#else
#define HAVE_SHM 0
#endif

typedef sp_fx_t fx_t;

static void fx_end(fx_t *f)
{
    int code, left;
    CHECK_EQ_U64(sp_fx_end(f, &code, &left), 0);
    CHECK_EQ_U64(code, 0);
    CHECK_EQ_U64(left, 0);
}

static nipc_cgroups_cache_status_t cache_status(const nipc_cgroups_cache_t *c)
{
    nipc_cgroups_cache_status_t st;
    nipc_cgroups_cache_status(c, &st);
    return st;
}

/* A corpus as the test expects to find it in the cache. */
typedef struct corpus {
    nipc_cgroup_set_t set;
} corpus_t;

static int corpus_load(corpus_t *k, uint64_t seed, uint32_t count)
{
    return nipc_cgroup_set_corpus(seed, count, &k->set) == NIPC_OK;
}

static void corpus_free(corpus_t *k)
{
    nipc_cgroup_set_free(&k->set);
}

static int same_item(const nipc_cgroup_item_t *it, const nipc_cgroup_entry_t *e)
{
    return it->hash == e->hash && it->options == e->options && it->enabled == e->enabled &&
           it->name.len == e->name_len && memcmp(it->name.ptr, e->name, e->name_len) == 0 &&
           it->name.ptr[it->name.len] == 0 && it->path.len == e->path_len &&
           memcmp(it->path.ptr, e->path, e->path_len) == 0 && it->path.ptr[it->path.len] == 0;
}

/* Every item is found by (hash, name) and listed in snapshot order. */
static int cache_holds(nipc_cgroups_cache_t *c, const corpus_t *k)
{
    int ok = 1;
    nipc_cgroups_cache_read_lock(c);
    ok &= nipc_cgroups_cache_count(c) == k->set.count;
    for (uint32_t i = 0; i < k->set.count; i++) {
        const nipc_cgroup_entry_t *e = &k->set.items[i];
        nipc_cgroup_item_t it = {0};
        ok &= t_item_copy(nipc_cgroups_cache_get(c, e->hash, e->name, e->name_len), &it) == 1 &&
              same_item(&it, e);
        ok &= t_item_copy(nipc_cgroups_cache_item(c, i), &it) == 1 && same_item(&it, e);
    }
    nipc_cgroups_cache_read_unlock(c);
    return ok;
}

/* Index of the item of `in` with the same (hash, name) as e, or -1.
 * Corpora of different seeds share some names (common systemd units). */
static int32_t twin_of(const nipc_cgroup_entry_t *e, const corpus_t *in)
{
    for (uint32_t j = 0; j < in->set.count; j++) {
        const nipc_cgroup_entry_t *o = &in->set.items[j];
        if (o->hash == e->hash && o->name_len == e->name_len &&
            memcmp(o->name, e->name, e->name_len) == 0)
            return (int32_t)j;
    }
    return -1;
}

/* No item of `k` is found, except those `current` (what the cache holds)
 * has too; returns the number of items checked to be absent. */
static int cache_lacks(nipc_cgroups_cache_t *c, const corpus_t *k, const corpus_t *current)
{
    int hits = 0, absent = 0;
    nipc_cgroups_cache_read_lock(c);
    for (uint32_t i = 0; i < k->set.count; i++) {
        if (current && twin_of(&k->set.items[i], current) >= 0)
            continue;
        nipc_cgroup_item_t it = {0};
        hits += t_item_copy(nipc_cgroups_cache_get(c, k->set.items[i].hash, k->set.items[i].name,
                                                   k->set.items[i].name_len),
                            &it);
        absent++;
    }
    nipc_cgroups_cache_read_unlock(c);
    return hits == 0 ? absent : 0;
}

/* ------------------------------------------------------------------ cases */

static void test_cache_empty_until_refresh(void)
{
    fx_t f;
    REQUIRE(sp_fx_begin(&f));
    nipc_cgroups_cache_t *c = NULL;
    REQUIRE(nipc_cgroups_cache_create(f.run, SP_SERVICE, NULL, &c) == NIPC_OK);
    CHECK_EQ_U64(nipc_cgroups_cache_ready(c), 0);
    nipc_cgroups_cache_status_t st = cache_status(c);
    CHECK_EQ_U64(st.populated, 0);
    CHECK_EQ_U64(st.item_count, 0);
    CHECK_EQ_U64(st.refresh_success_count + st.refresh_failure_count, 0);
    CHECK_EQ_U64(st.last_refresh_ms, 0);
    CHECK_EQ_U64(st.client_state, NIPC_CLIENT_DISCONNECTED);
    nipc_cgroup_item_t it = {0};
    nipc_cgroups_cache_read_lock(c);
    CHECK_EQ_U64(nipc_cgroups_cache_count(c), 0);
    CHECK_EQ_U64(t_item_copy(nipc_cgroups_cache_get(c, nipc_djb2("a", 1), "a", 1), &it), 0);
    CHECK_EQ_U64(t_item_copy(nipc_cgroups_cache_item(c, 0), &it), 0);
    nipc_cgroups_cache_read_unlock(c);

    /* No provider: the refresh fails with the connect's reason (not a
     * "not connected" that only says the same thing again), nothing changes. */
    CHECK_ERR(nipc_cgroups_cache_refresh(c, 1000), NIPC_ERR_NOT_FOUND);
    st = cache_status(c);
    CHECK_EQ_U64(st.populated, 0);
    CHECK_EQ_U64(st.refresh_failure_count, 1);
    CHECK_EQ_U64(st.last_error, NIPC_ERR_NOT_FOUND);
    CHECK_EQ_U64(st.client_state, NIPC_CLIENT_NOT_FOUND);
    CHECK_EQ_U64(nipc_cgroups_cache_ready(c), 0);

    /* An empty snapshot is still a snapshot: ready, zero items. */
    REQUIRE(sp_fx_start(&f, "server", (const char *[]){"method=snap", "items=0", "gen=3", NULL}));
    CHECK_OK(nipc_cgroups_cache_refresh(c, 2000));
    st = cache_status(c);
    CHECK_EQ_U64(st.populated, 1);
    CHECK_EQ_U64(st.item_count, 0);
    CHECK_EQ_U64(st.generation, 3);
    CHECK_EQ_U64(st.refresh_success_count, 1);
    CHECK(st.last_refresh_ms > 0);
    CHECK_EQ_U64(nipc_cgroups_cache_ready(c), 1);
    nipc_cgroups_cache_read_lock(c);
    CHECK_EQ_U64(nipc_cgroups_cache_count(c), 0);
    CHECK_EQ_U64(t_item_copy(nipc_cgroups_cache_get(c, nipc_djb2("a", 1), "a", 1), &it), 0);
    nipc_cgroups_cache_read_unlock(c);
    nipc_cgroups_cache_free(c);
    fx_end(&f);
}

/* Build from 1,000 items; every lookup answers exactly. */
static void cache_build_and_lookup(uint32_t profiles)
{
    fx_t f;
    REQUIRE(sp_fx_begin(&f));
    corpus_t k, other;
    REQUIRE(corpus_load(&k, 3, 1000));
    REQUIRE(corpus_load(&other, 4, 100));
    REQUIRE(sp_fx_start(&f, "server",
                        (const char *[]){"method=snap", "items=1000", "seed=3", "gen=5",
                                         "resp=1048576", "prof=3", NULL}));
    nipc_client_config_t cfg = {.supported_profiles = profiles};
    nipc_cgroups_cache_t *c = NULL;
    REQUIRE(nipc_cgroups_cache_create(f.run, SP_SERVICE, &cfg, &c) == NIPC_OK);
    unsigned long long before = t_now_ms();
    CHECK_OK(nipc_cgroups_cache_refresh(c, 5000));
    CHECK_EQ_U64(nipc_cgroups_cache_ready(c), 1);
    nipc_cgroups_cache_status_t st = cache_status(c);
    CHECK_EQ_U64(st.populated, 1);
    CHECK_EQ_U64(st.item_count, 1000);
    CHECK_EQ_U64(st.generation, 5);
    CHECK_EQ_U64(st.systemd_enabled, k.set.systemd_enabled);
    CHECK_EQ_U64(st.refresh_success_count, 1);
    CHECK_EQ_U64(st.refresh_failure_count, 0);
    CHECK_EQ_U64(st.client_state, NIPC_CLIENT_READY);
    CHECK(st.last_refresh_ms > 0);
    CHECK(cache_holds(c, &k));
    CHECK(cache_lacks(c, &other, &k) > 50);

    /* Misses: near names, wrong hashes, same name with another hash. */
    int hits = 0;
    nipc_cgroup_item_t it = {0};
    char name[NIPC_CORPUS_NAME_MAX + 2];
    nipc_cgroups_cache_read_lock(c);
    for (uint32_t i = 0; i < k.set.count; i += 7) {
        const nipc_cgroup_entry_t *e = &k.set.items[i];
        hits += t_item_copy(nipc_cgroups_cache_get(c, e->hash ^ 1u, e->name, e->name_len), &it);
        hits +=
            t_item_copy(nipc_cgroups_cache_get(c, e->hash + 0x10000u, e->name, e->name_len), &it);
        memcpy(name, e->name, e->name_len);
        name[e->name_len] = 'x';
        hits += t_item_copy(
            nipc_cgroups_cache_get(c, nipc_djb2(name, e->name_len + 1u), name, e->name_len + 1u),
            &it);
        hits += t_item_copy(nipc_cgroups_cache_get(c, e->hash, name, e->name_len + 1u), &it);
        if (e->name_len > 1)
            hits += t_item_copy(nipc_cgroups_cache_get(c, e->hash, e->name, e->name_len - 1u), &it);
    }
    hits += t_item_copy(nipc_cgroups_cache_get(c, 5381u, "", 0), &it);
    hits += t_item_copy(nipc_cgroups_cache_get(c, k.set.items[0].hash, NULL, 3), &it);
    CHECK_EQ_U64(t_item_copy(nipc_cgroups_cache_item(c, 1000), &it), 0);
    nipc_cgroups_cache_read_unlock(c);
    CHECK_EQ_U64(hits, 0);

    /* A second refresh replaces the copy with an equal one. */
    CHECK_OK(nipc_cgroups_cache_refresh(c, 5000));
    st = cache_status(c);
    CHECK_EQ_U64(st.refresh_success_count, 2);
    CHECK(st.last_refresh_ms >= before);
    CHECK(cache_holds(c, &k));
    nipc_cgroups_cache_free(c);
    corpus_free(&k);
    corpus_free(&other);
    fx_end(&f);
}

static void test_cache_build_and_lookup_uds(void)
{
    cache_build_and_lookup(NIPC_PROFILE_BASELINE);
}

static void test_cache_build_and_lookup_shm(void)
{
#if HAVE_SHM
    cache_build_and_lookup(NIPC_PROFILE_BASELINE | NIPC_PROFILE_SHM_HYBRID);
#endif
}

/* A provider whose items all carry the same hash (broken or hostile): the
 * index notices the collisions while it is built and indexes by name too,
 * so the refresh stays fast and every item is still found by (hash, name). */
static void test_cache_colliding_hashes(void)
{
    fx_t f;
    REQUIRE(sp_fx_begin(&f));
    corpus_t k;
    REQUIRE(corpus_load(&k, 9, 20000));
    for (uint32_t i = 0; i < k.set.count; i++)
        k.set.items[i].hash = 7;
    REQUIRE(sp_fx_start(
        &f, "server",
        (const char *[]){"method=snap", "items=20000", "seed=9", "hash=7", "resp=8388608", NULL}));
    nipc_client_config_t cfg = {.max_response_payload_bytes = 8388608,
                                .max_payload_ceiling = 8388608};
    nipc_cgroups_cache_t *c = NULL;
    REQUIRE(nipc_cgroups_cache_create(f.run, SP_SERVICE, &cfg, &c) == NIPC_OK);
    unsigned long long t0 = t_now_ms();
    CHECK_OK(nipc_cgroups_cache_refresh(c, 10000));
    /* A quadratic index build of 20,000 colliding items takes far longer. */
    CHECK(t_now_ms() - t0 < 5000);
    CHECK(cache_holds(c, &k));
    int hits = 0;
    nipc_cgroup_item_t it = {0};
    nipc_cgroups_cache_read_lock(c);
    for (uint32_t i = 0; i < k.set.count; i += 13)
        hits += t_item_copy(
            nipc_cgroups_cache_get(c, 8, k.set.items[i].name, k.set.items[i].name_len), &it);
    nipc_cgroups_cache_read_unlock(c);
    CHECK_EQ_U64(hits, 0);
    nipc_cgroups_cache_free(c);
    corpus_free(&k);
    fx_end(&f);
}

/* The provider dies: refreshes fail, lookups keep the old data; a new
 * provider with another corpus replaces it. */
static void test_cache_keeps_data_across_restart(void)
{
    fx_t f;
    REQUIRE(sp_fx_begin(&f));
    corpus_t a, b;
    REQUIRE(corpus_load(&a, 21, 300));
    REQUIRE(corpus_load(&b, 22, 200));
    REQUIRE(sp_fx_start(
        &f, "server",
        (const char *[]){"method=snap", "items=300", "seed=21", "gen=1", "resp=262144", NULL}));
    nipc_cgroups_cache_t *c = NULL;
    REQUIRE(nipc_cgroups_cache_create(f.run, SP_SERVICE, NULL, &c) == NIPC_OK);
    CHECK_OK(nipc_cgroups_cache_refresh(c, 2000));
    CHECK(cache_holds(c, &a));
    uint64_t stamp = cache_status(c).last_refresh_ms;

    sp_fx_kill(&f);
    CHECK(nipc_cgroups_cache_refresh(c, 2000) != NIPC_OK);
    nipc_cgroups_cache_status_t st = cache_status(c);
    CHECK_EQ_U64(st.refresh_failure_count, 1);
    CHECK_EQ_U64(st.refresh_success_count, 1);
    CHECK(st.last_error != NIPC_OK);
    CHECK(st.client_state != NIPC_CLIENT_READY);
    CHECK_EQ_U64(st.populated, 1);
    CHECK_EQ_U64(st.item_count, 300);
    CHECK_EQ_U64(st.generation, 1);
    CHECK_EQ_U64(st.last_refresh_ms, stamp);
    CHECK_EQ_U64(nipc_cgroups_cache_ready(c), 1);
    CHECK(cache_holds(c, &a));

    /* Still gone: the client is now NOT_FOUND; still the old data. */
    CHECK_ERR(nipc_cgroups_cache_refresh(c, 2000), NIPC_ERR_NOT_FOUND);
    st = cache_status(c);
    CHECK_EQ_U64(st.refresh_failure_count, 2);
    CHECK_EQ_U64(st.client_state, NIPC_CLIENT_NOT_FOUND);
    CHECK(cache_holds(c, &a));

    REQUIRE(sp_fx_start(
        &f, "server",
        (const char *[]){"method=snap", "items=200", "seed=22", "gen=7", "resp=262144", NULL}));
    CHECK_OK(nipc_cgroups_cache_refresh(c, 2000));
    st = cache_status(c);
    CHECK_EQ_U64(st.refresh_success_count, 2);
    CHECK_EQ_U64(st.item_count, 200);
    CHECK_EQ_U64(st.generation, 7);
    CHECK_EQ_U64(st.client_state, NIPC_CLIENT_READY);
    CHECK(cache_holds(c, &b));
    CHECK(cache_lacks(c, &a, &b) > 100);
    nipc_cgroups_cache_free(c);
    corpus_free(&a);
    corpus_free(&b);
    fx_end(&f);
}

/* A snapshot whose directory is valid but one item is not: the refresh
 * fails and the previous snapshot stays. */
static void test_cache_rejects_corrupt_item(void)
{
    fx_t f;
    REQUIRE(sp_fx_begin(&f));
    corpus_t a;
    REQUIRE(corpus_load(&a, 31, 50));
    nipc_cgroups_cache_t *c = NULL;
    REQUIRE(nipc_cgroups_cache_create(f.run, SP_SERVICE, NULL, &c) == NIPC_OK);

    REQUIRE(sp_fx_start(&f, "server",
                        (const char *[]){"method=snap", "items=50", "seed=32", "corrupt=1", NULL}));
    CHECK_ERR(nipc_cgroups_cache_refresh(c, 2000), NIPC_ERR_MISSING_NUL);
    CHECK_EQ_U64(nipc_cgroups_cache_ready(c), 0);
    CHECK_EQ_U64(cache_status(c).refresh_failure_count, 1);
    CHECK_EQ_U64(sp_fx_stop(&f), 0);

    REQUIRE(sp_fx_start(&f, "server",
                        (const char *[]){"method=snap", "items=50", "seed=31", "gen=4", NULL}));
    CHECK_OK(nipc_cgroups_cache_refresh(c, 2000));
    CHECK(cache_holds(c, &a));
    CHECK_EQ_U64(sp_fx_stop(&f), 0);

    REQUIRE(sp_fx_start(&f, "server",
                        (const char *[]){"method=snap", "items=50", "seed=32", "corrupt=1", NULL}));
    CHECK_ERR(nipc_cgroups_cache_refresh(c, 2000), NIPC_ERR_MISSING_NUL);
    nipc_cgroups_cache_status_t st = cache_status(c);
    CHECK_EQ_U64(st.refresh_failure_count, 2);
    CHECK_EQ_U64(st.refresh_success_count, 1);
    CHECK_EQ_U64(st.last_error, NIPC_ERR_MISSING_NUL);
    CHECK_EQ_U64(st.generation, 4);
    CHECK(cache_holds(c, &a));
    nipc_cgroups_cache_free(c);
    corpus_free(&a);
    fx_end(&f);
}

/* ------------------------------------------------------------ concurrency */

#define READERS 4
#define REFRESHES 60

typedef struct shared {
    nipc_cgroups_cache_t *cache;
    const corpus_t *k[2]; /* what the provider alternates between */
    int32_t *twin[2];     /* twin[s][i]: item i of k[s] in the other corpus, or -1 */
    atomic_int stop;
    unsigned long long give_up_ms; /* readers stop by then even if refreshes starve */
} shared_t;

typedef struct reader {
    shared_t *sh;
    nipc__thread_t *thread;
    uint32_t rng;
    unsigned long long rounds, hits, seen[2], bad;
} reader_t;

static uint32_t next_rand(uint32_t *s)
{
    uint32_t x = *s;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return *s = x;
}

/* One guard = one snapshot: its count says which corpus it is, and every
 * lookup inside the guard must agree with that corpus and only that one. */
static void reader_main(void *arg)
{
    reader_t *r = arg;
    shared_t *sh = r->sh;
    while (!atomic_load(&sh->stop) && t_now_ms() < sh->give_up_ms) {
        nipc_cgroups_cache_read_lock(sh->cache);
        uint32_t n = nipc_cgroups_cache_count(sh->cache);
        int which = n == sh->k[0]->set.count ? 0 : n == sh->k[1]->set.count ? 1 : -1;
        if (which < 0) {
            r->bad++;
            nipc_cgroups_cache_read_unlock(sh->cache);
            continue;
        }
        r->seen[which]++;
        for (int probe = 0; probe < 8; probe++) {
            int side = probe & 1;
            const nipc_cgroup_set_t *set = &sh->k[side]->set;
            uint32_t i = next_rand(&r->rng) % set->count;
            const nipc_cgroup_entry_t *e = &set->items[i];
            /* What this snapshot must answer: the item itself, its twin in
             * the other corpus (which may differ in path or options), or
             * nothing. */
            const nipc_cgroup_entry_t *want = e;
            if (side != which)
                want = sh->twin[side][i] < 0 ? NULL : &sh->k[which]->set.items[sh->twin[side][i]];
            nipc_cgroup_item_t it = {0};
            int hit =
                t_item_copy(nipc_cgroups_cache_get(sh->cache, e->hash, e->name, e->name_len), &it);
            if (hit != (want != NULL) || (hit && !same_item(&it, want)))
                r->bad++;
            r->hits += (unsigned long long)hit;
        }
        uint32_t i = next_rand(&r->rng) % n;
        nipc_cgroup_item_t it = {0};
        if (!t_item_copy(nipc_cgroups_cache_item(sh->cache, i), &it) ||
            !same_item(&it, &sh->k[which]->set.items[i]))
            r->bad++;
        nipc_cgroups_cache_read_unlock(sh->cache);
        r->rounds++;
    }
}

/* twin_of() for every item of `k`; returns the number of shared names. */
static int32_t *twins(const corpus_t *k, const corpus_t *other, uint32_t *shared)
{
    int32_t *t = malloc(k->set.count * sizeof *t);
    *shared = 0;
    for (uint32_t i = 0; t && i < k->set.count; i++) {
        t[i] = twin_of(&k->set.items[i], other);
        *shared += t[i] >= 0;
    }
    return t;
}

static void test_cache_concurrent_lookups_during_refresh(void)
{
    fx_t f;
    REQUIRE(sp_fx_begin(&f));
    corpus_t a, b;
    REQUIRE(corpus_load(&a, 41, 1000));
    REQUIRE(corpus_load(&b, 42, 700));
    uint32_t shared_a = 0, shared_b = 0;
    int32_t *twin_a = twins(&a, &b, &shared_a), *twin_b = twins(&b, &a, &shared_b);
    REQUIRE(twin_a && twin_b);
    /* Mostly distinct names, so a snapshot mix-up cannot go unnoticed. */
    CHECK(shared_a < a.set.count / 2);
    REQUIRE(sp_fx_start(&f, "server",
                        (const char *[]){"method=snap", "seed=41", "items=1000", "seed2=42",
                                         "items2=700", "resp=1048576", NULL}));
    shared_t sh = {.k = {&a, &b}, .twin = {twin_a, twin_b}};
    atomic_init(&sh.stop, 0);
    sh.give_up_ms = t_now_ms() + T_MS(12000);
    REQUIRE(nipc_cgroups_cache_create(f.run, SP_SERVICE, NULL, &sh.cache) == NIPC_OK);
    CHECK_OK(nipc_cgroups_cache_refresh(sh.cache, 5000)); /* corpus a */
    CHECK(cache_holds(sh.cache, &a));

    reader_t r[READERS];
    memset(r, 0, sizeof r);
    int started = 0;
    for (int i = 0; i < READERS; i++) {
        r[i].sh = &sh;
        r[i].rng = 0x9e3779b9u * (uint32_t)(i + 1);
        started += nipc__thread_start(&r[i].thread, reader_main, &r[i]) == NIPC_OK;
    }
    CHECK_EQ_U64(started, READERS);

    int ok = 0;
    unsigned long long t0 = t_now_ms(), slowest = 0;
    for (int i = 0; i < REFRESHES; i++) {
        unsigned long long r0 = t_now_ms();
        nipc_error_t err = nipc_cgroups_cache_refresh(sh.cache, 5000);
        unsigned long long spent = t_now_ms() - r0;
        slowest = spent > slowest ? spent : slowest;
        ok += err == NIPC_OK;
        if (err != NIPC_OK) /* say which error, and after how long */
            fprintf(stderr, "  refresh %d: %s after %llu ms\n", i, nipc_error_name(err), spent);
        /* The readers get the processor too, between refreshes. */
        nipc__sleep_ms(1);
    }
    unsigned long long took = t_now_ms() - t0;
    atomic_store(&sh.stop, 1);
    for (int i = 0; i < READERS; i++)
        if (r[i].thread)
            nipc__thread_join(r[i].thread);

    CHECK_EQ_U64(ok, REFRESHES);
    CHECK(took < T_MS(10000)); /* refreshes are not starved by overlapping guards */
    unsigned long long bad = 0, rounds = 0, seen0 = 0, seen1 = 0, hits = 0;
    for (int i = 0; i < READERS; i++) {
        bad += r[i].bad;
        rounds += r[i].rounds;
        seen0 += r[i].seen[0];
        seen1 += r[i].seen[1];
        hits += r[i].hits;
        CHECK(r[i].rounds > 0);
    }
    CHECK_EQ_U64(bad, 0);
    CHECK(seen0 > 0 && seen1 > 0);
    CHECK(hits > 0);
    fprintf(stderr,
            "  %llu guarded rounds (%llu on a, %llu on b), %d refreshes in %llu ms "
            "(slowest %llu ms), %u names shared\n",
            rounds, seen0, seen1, REFRESHES, took, slowest, shared_a);

    nipc_cgroups_cache_status_t st = cache_status(sh.cache);
    CHECK_EQ_U64(st.refresh_success_count, REFRESHES + 1);
    CHECK_EQ_U64(st.refresh_failure_count, 0);
    /* 61 snapshots alternating a, b, a, ...: the last one is a. */
    CHECK_EQ_U64(st.item_count, 1000);
    CHECK(cache_holds(sh.cache, &a));
    nipc_cgroups_cache_free(sh.cache);
    free(twin_a);
    free(twin_b);
    corpus_free(&a);
    corpus_free(&b);
    fx_end(&f);
}

/* Arguments the cache validates. */
static void test_cache_arguments(void)
{
    nipc_cgroups_cache_t *c = NULL;
    CHECK_ERR(nipc_cgroups_cache_create(NULL, SP_SERVICE, NULL, &c), NIPC_ERR_INVALID_ARGUMENT);
    CHECK_ERR(nipc_cgroups_cache_create("/tmp", "../x", NULL, &c), NIPC_ERR_BAD_SERVICE_NAME);
    CHECK_ERR(nipc_cgroups_cache_create("/tmp", SP_SERVICE, NULL, NULL), NIPC_ERR_INVALID_ARGUMENT);
    nipc_cgroups_cache_free(NULL);
}

int main(int argc, char **argv)
{
    t_init(argc, argv);
    if (argc > 1 && strcmp(argv[1], "peer") == 0)
        return sp_peer_main(argc - 2, argv + 2);
    static const t_case_t cases[] = {
        T_CASE(test_cache_arguments),
        T_CASE(test_cache_empty_until_refresh),
        T_CASE(test_cache_build_and_lookup_uds),
        T_CASE(test_cache_build_and_lookup_shm),
        T_CASE(test_cache_keeps_data_across_restart),
        T_CASE(test_cache_colliding_hashes),
        T_CASE(test_cache_rejects_corrupt_item),
        T_CASE(test_cache_concurrent_lookups_during_refresh),
    };
    return t_run(cases, sizeof cases / sizeof cases[0], argc, argv);
}
