/*
 * Linux SHM data plane: publish and consume of whole messages through a
 * region's two areas, whichever way the region was made (a file in the run
 * dir, shm_file.c, or a sealed memfd, shm_sealed.c). Publication is a
 * release store of the length and a release increment of the sequence
 * number; the consumer spins briefly, then sleeps on the direction's futex
 * word in slices of at most 100 ms so it can notice an abort, a dead peer
 * or a region the peer truncated (SIGBUS repaired by shm_guard.c).
 *
 * Wake-ups. Upstream's layout has no waiting flag, so every publish there
 * increments the futex word and calls FUTEX_WAKE. The sealed layout has
 * one per direction: the consumer raises it before its last check and its
 * sleep, the publisher looks at it after publishing and wakes only when it
 * is up. Both sides order their store and their load with a full fence
 * (the Dekker pattern), so either the publisher sees the flag or the
 * consumer sees the message: no wake-up is lost (tests/model/wake.pml
 * checks it with SPIN).
 *
 * Spinning pays when the peer runs on another CPU and answers within the
 * spin; when both share a CPU the peer cannot run while we spin, so every
 * spin is lost time. In the sealed layout each publisher also stores the
 * CPU it runs on (read again every SHM_CPU_REFRESH messages: migrations
 * are rare), and a consumer whose peer last published from its own CPU
 * goes straight to sleep. Upstream's layout has no such word: there the
 * consumer always spins, as upstream does. (Guessing from failed spins
 * does not work: when one side sleeps the other's spins fail too, and both
 * settle into sleeping on every message even on two CPUs.)
 *
 * This file does not frame or validate messages (transport/session.c does).
 */
#include <errno.h>
#include <linux/futex.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "common/internal.h"
#include "platform/platform.h"
#include "transport/posix/shm_guard.h"
#include "transport/posix/shm_internal.h"

#define SHM_SPIN_TRIES 128u
#define SHM_CPU_REFRESH 64u
#define SHM_WAIT_SLICE_MS 100u

static inline void cpu_pause(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

static long futex(uint32_t *word, int op, uint32_t val, const struct timespec *ts)
{
    /* Shared (not FUTEX_PRIVATE_FLAG) operations: the word is in a mapping
     * that two processes share. */
    return syscall(SYS_futex, word, op, val, ts, NULL, 0);
}

/* ----------------------------------------------------------------- setup */

static void *at(uint8_t *base, uint32_t off)
{
    return off ? base + off : NULL;
}

nipc__shm_t *nipc__shm_wrap(uint8_t *base, size_t size, int fd, int is_server,
                            const nipc__shm_layout_t *l)
{
    nipc__shm_t *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->base = base;
    s->size = size;
    s->fd = fd;
    s->is_server = is_server;
    s->guard = -1;
    s->req_cap = nipc__ld32(base + l->req_cap);
    s->resp_cap = nipc__ld32(base + l->resp_cap);
    nipc__shm_dir_t req = {
        .area = base + nipc__ld32(base + l->req_offset),
        .cap = s->req_cap,
        .seq = at(base, l->req_seq),
        .len = at(base, l->req_len),
        .signal = at(base, l->req_signal),
        .waiting = at(base, l->req_waiting),
        .cpu = at(base, l->req_cpu),
    };
    nipc__shm_dir_t resp = {
        .area = base + nipc__ld32(base + l->resp_offset),
        .cap = s->resp_cap,
        .seq = at(base, l->resp_seq),
        .len = at(base, l->resp_len),
        .signal = at(base, l->resp_signal),
        .waiting = at(base, l->resp_waiting),
        .cpu = at(base, l->resp_cpu),
    };
    /* The server consumes requests and publishes responses. */
    s->tx = is_server ? resp : req;
    s->rx = is_server ? req : resp;
    s->rx_local = __atomic_load_n(s->rx.seq, __ATOMIC_ACQUIRE);
    s->cpu_age = SHM_CPU_REFRESH; /* read at the first message */
    return s;
}

nipc_error_t nipc__shm_check_areas(const uint8_t *b, size_t size, uint32_t header_len,
                                   const nipc__shm_layout_t *l)
{
    uint64_t req_off = nipc__ld32(b + l->req_offset), req_cap = nipc__ld32(b + l->req_cap);
    uint64_t resp_off = nipc__ld32(b + l->resp_offset), resp_cap = nipc__ld32(b + l->resp_cap);
    if (req_off < header_len || resp_off < header_len || req_cap == 0 || resp_cap == 0)
        return NIPC_ERR_SHM_NOT_READY;
    if (req_off % 64 || req_cap % 64 || resp_off % 64 || resp_cap % 64)
        return NIPC_ERR_SHM_BAD_SIZE;
    if (resp_off < nipc__align64(req_off + req_cap))
        return NIPC_ERR_SHM_BAD_SIZE;
    /* 64-bit sums of u32 values cannot wrap. */
    if (req_off + req_cap > size || resp_off + resp_cap > size || resp_off + resp_cap > UINT32_MAX)
        return NIPC_ERR_SHM_BAD_SIZE;
    /* Receive buffers are sized from the areas: nothing absurd. */
    if (req_cap > NIPC__SHM_AREA_MAX || resp_cap > NIPC__SHM_AREA_MAX)
        return NIPC_ERR_SHM_BAD_SIZE;
    return NIPC_OK;
}

uint32_t nipc__shm_request_capacity(const nipc__shm_t *s)
{
    return s->req_cap;
}

uint32_t nipc__shm_response_capacity(const nipc__shm_t *s)
{
    return s->resp_cap;
}

/* ------------------------------------------------------- publish/consume */

/* This side's CPU + 1, read again every SHM_CPU_REFRESH calls. */
static uint32_t my_cpu(nipc__shm_t *s)
{
    if (++s->cpu_age >= SHM_CPU_REFRESH) {
        int cpu = sched_getcpu();
        s->my_cpu = cpu >= 0 ? (uint32_t)cpu + 1u : 0;
        s->cpu_age = 0;
    }
    return s->my_cpu;
}

nipc_error_t nipc__shm_publish(nipc__shm_t *s, const void *hdr, size_t hlen, const void *payload,
                               size_t plen)
{
    nipc__shm_dir_t *d = &s->tx;
    size_t len = hlen + plen;
    if (len == 0)
        return NIPC_ERR_INVALID_ARGUMENT;
    if (len > d->cap)
        return NIPC_ERR_TOO_LARGE;
    memcpy(d->area, hdr, hlen);
    if (plen)
        memcpy(d->area + hlen, payload, plen);
    if (d->cpu) /* a hint for the consumer's spin; any value is harmless */
        __atomic_store_n(d->cpu, my_cpu(s), __ATOMIC_RELAXED);

    /* Payload before length, length before sequence: a reader that
     * acquires seq and then len sees the whole message. */
    __atomic_store_n(d->len, (uint32_t)len, __ATOMIC_RELEASE);
    __atomic_add_fetch(d->seq, 1, __ATOMIC_RELEASE);
    if (d->waiting) {
        /* Store seq, fence, load the flag: paired with the consumer's
         * store flag, fence, load seq. One of the two sees the other. */
        __atomic_thread_fence(__ATOMIC_SEQ_CST);
        if (!__atomic_load_n(d->waiting, __ATOMIC_RELAXED))
            return NIPC_OK; /* the consumer is spinning: no system call */
    }
    __atomic_add_fetch(d->signal, 1, __ATOMIC_RELEASE);
    futex(d->signal, FUTEX_WAKE, 1, NULL);
    return NIPC_OK;
}

/* Ends a wait with `err`, lowering this side's waiting flag first. */
static nipc_error_t stop_waiting(nipc__shm_dir_t *d, nipc_error_t err)
{
    if (d->waiting)
        __atomic_store_n(d->waiting, 0, __ATOMIC_RELAXED);
    return err;
}

/* The slow path: sleep on the futex word, in slices, until the message
 * with sequence `expected` is published. */
static nipc_error_t wait_message(nipc__shm_t *s, uint64_t expected, uint64_t deadline,
                                 const nipc_abort_t *abort, nipc__conn_t *liveness)
{
    nipc__shm_dir_t *d = &s->rx;
    for (;;) {
        if (d->waiting) {
            __atomic_store_n(d->waiting, 1, __ATOMIC_RELAXED);
            __atomic_thread_fence(__ATOMIC_SEQ_CST);
        }
        uint32_t v = __atomic_load_n(d->signal, __ATOMIC_ACQUIRE);
        if (__atomic_load_n(d->seq, __ATOMIC_ACQUIRE) >= expected)
            return stop_waiting(d, NIPC_OK);
        /* Nothing wakes the futex on abort: check before every sleep so a
         * set abort returns at once and a later one within one slice. */
        if (nipc_abort_is_set(abort))
            return stop_waiting(d, NIPC_ERR_ABORTED);
        /* A truncated file region reads as zeros after the repair: its
         * sequence never arrives, and the session must end. */
        if (nipc__shm_guard_tripped(s->guard))
            return stop_waiting(d, NIPC_ERR_SHM_LOST);
        if (deadline == 0) { /* spin only: the caller retries with a deadline */
            s->spun = 1;
            return stop_waiting(d, NIPC_ERR_TIMEOUT);
        }
        uint32_t slice = nipc__remaining_ms(deadline, SHM_WAIT_SLICE_MS);
        if (slice == 0)
            return stop_waiting(d, NIPC_ERR_TIMEOUT);
        struct timespec ts = {.tv_sec = slice / 1000u, .tv_nsec = (long)(slice % 1000u) * 1000000L};
        long rc = futex(d->signal, FUTEX_WAIT, v, &ts);
        int e = rc != 0 ? errno : 0;
        /* The kernel could not read the word: the page is gone. */
        if (e == EFAULT)
            return stop_waiting(d, NIPC_ERR_SHM_LOST);
        /* An empty slice: the peer may be gone. */
        if (e == ETIMEDOUT && liveness && nipc__conn_peer_gone(liveness))
            return stop_waiting(d, NIPC_ERR_DISCONNECTED);
        /* EAGAIN (word changed), EINTR, wake-up, timeout: re-check the
         * sequence (a message wins over an abort), then the abort. */
    }
}

nipc_error_t nipc__shm_consume(nipc__shm_t *s, void *buf, size_t cap, uint32_t *len,
                               uint64_t deadline, const nipc_abort_t *abort,
                               nipc__conn_t *liveness)
{
    nipc__shm_dir_t *d = &s->rx;
    uint64_t expected = s->rx_local + 1;
    size_t max_copy = cap < d->cap ? cap : d->cap;

    int seen = 0;
    /* No spin right after a spin-only try that found nothing, nor for a
     * peer that runs on this CPU (it cannot publish while we spin). */
    uint32_t tries = SHM_SPIN_TRIES;
    if (s->spun)
        tries = 0;
    else if (d->cpu) {
        uint32_t peer = __atomic_load_n(d->cpu, __ATOMIC_RELAXED);
        if (peer && peer == my_cpu(s)) {
            tries = 0;
            s->spins_skipped++;
        }
    }
    s->spun = 0;
    for (uint32_t i = 0; i < tries; i++) {
        if (__atomic_load_n(d->seq, __ATOMIC_ACQUIRE) >= expected) {
            seen = 1;
            break;
        }
        cpu_pause();
    }
    if (!seen) {
        nipc_error_t err = wait_message(s, expected, deadline, abort, liveness);
        if (err != NIPC_OK)
            return err;
    }

    uint32_t n = __atomic_load_n(d->len, __ATOMIC_ACQUIRE);
    s->rx_local = expected;
    if (n == 0)
        return NIPC_ERR_CORRUPT;
    if (n > max_copy)
        return NIPC_ERR_TOO_LARGE;
    memcpy(buf, d->area, n);
    *len = n;
    return NIPC_OK;
}

void nipc__shm_close(nipc__shm_t *s)
{
    if (!s)
        return;
    nipc__shm_guard_remove(s->guard);
    munmap(s->base, s->size);
    if (s->fd >= 0)
        close(s->fd);
    if (s->is_server && s->path)
        unlink(s->path);
    free(s->path);
    free(s);
}
