/*
 * Small helpers shared by every layer of the library: native-order loads and
 * stores on unaligned byte buffers, alignment, overflow-checked size
 * arithmetic and the OS-error detail setter. Nothing here is public.
 */
#ifndef NETIPC_COMMON_INTERNAL_H
#define NETIPC_COMMON_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "netipc/error.h"

/* Integers travel in host byte order (all supported hosts are little-endian);
 * memcpy keeps unaligned access well defined and compiles to a plain move. */
static inline uint16_t nipc__ld16(const uint8_t *p)
{
    uint16_t v;
    memcpy(&v, p, sizeof v);
    return v;
}
static inline uint32_t nipc__ld32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, sizeof v);
    return v;
}
static inline uint64_t nipc__ld64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, sizeof v);
    return v;
}
static inline void nipc__st16(uint8_t *p, uint16_t v)
{
    memcpy(p, &v, sizeof v);
}
static inline void nipc__st32(uint8_t *p, uint32_t v)
{
    memcpy(p, &v, sizeof v);
}
static inline void nipc__st64(uint8_t *p, uint64_t v)
{
    memcpy(p, &v, sizeof v);
}

/* align8 on 64-bit sizes: callers keep values far below UINT64_MAX. */
static inline uint64_t nipc__align8(uint64_t x)
{
    return (x + 7u) & ~(uint64_t)7u;
}
static inline uint64_t nipc__align64(uint64_t x)
{
    return (x + 63u) & ~(uint64_t)63u;
}

/* Records `os_error` as this thread's OS detail and returns `err`. */
nipc_error_t nipc__os_fail(nipc_error_t err, int os_error);

/*
 * At the exit of a public call that fails with `err` after several steps
 * (a Level 2 call, a refresh): keeps the OS detail only if it belongs to
 * `err`, so an earlier step's errno never decorates a later error. Returns
 * `err`.
 */
nipc_error_t nipc__os_settle(nipc_error_t err);

#define NIPC__UNUSED(x) ((void)(x))

#endif
