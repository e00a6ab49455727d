/*
 * Shared helpers for the libFuzzer targets: the entry point prototype, an
 * invariant check that aborts (so libFuzzer records the input as a crash),
 * and helpers that read every byte of a view so AddressSanitizer sees any
 * view that reaches outside the input. Nothing here is a decoder: each
 * target checks the library against rules restated from the spec.
 */
#ifndef NETIPC_FUZZ_H
#define NETIPC_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "netipc/error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(cond)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #cond);           \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

#define FUZZ_CHECK_ERR(got, want)                                                                  \
    do {                                                                                           \
        nipc_error_t f_got_ = (got), f_want_ = (want);                                             \
        if (f_got_ != f_want_) {                                                                   \
            fprintf(stderr, "%s:%d: %s returned %s, expected %s\n", __FILE__, __LINE__, #got,      \
                    nipc_error_name(f_got_), nipc_error_name(f_want_));                            \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

/* Reads every byte of [p, p + n); the volatile sink keeps the loads. */
static inline void fuzz_touch(const void *p, size_t n)
{
    volatile uint8_t sink = 0;
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++)
        sink = (uint8_t)(sink ^ b[i]);
    (void)sink;
}

/* True when [p, p + n) lies inside [base, base + size). */
static inline int fuzz_inside(const void *base, size_t size, const void *p, size_t n)
{
    uintptr_t b = (uintptr_t)base, q = (uintptr_t)p;
    return q >= b && q - b <= size && n <= size - (q - b);
}

/* Little-endian loads restated here so the oracles do not reuse library code. */
static inline uint16_t fuzz_ld16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}
static inline uint32_t fuzz_ld32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline uint64_t fuzz_ld64(const uint8_t *p)
{
    return (uint64_t)fuzz_ld32(p) | (uint64_t)fuzz_ld32(p + 4) << 32;
}

#endif
