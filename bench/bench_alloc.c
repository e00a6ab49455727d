/*
 * Allocation counter for the benchmark binary. On glibc the executable
 * defines malloc, calloc, realloc and the aligned allocators itself and
 * forwards them to glibc's own entry points (__libc_malloc ...), so every
 * allocation in the process is counted: netipc (linked statically), the C
 * library's internal ones and those of shared libraries such as libzmq.
 * No LD_PRELOAD and no change to the library. free() is not replaced: the
 * memory still comes from glibc's allocator, which frees it as usual.
 *
 * Compiled out (counting reports "not measured") under sanitizers, which
 * bring their own allocator, and on other C libraries.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "bench.h"

#if defined(NETIPC_BENCH_COUNT_ALLOCS) && defined(__GLIBC__)

static atomic_uint_fast64_t allocations;

extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *p, size_t size);
extern void *__libc_memalign(size_t align, size_t size);

static inline void counted(void)
{
    atomic_fetch_add_explicit(&allocations, 1, memory_order_relaxed);
}

void *malloc(size_t size)
{
    counted();
    return __libc_malloc(size);
}

void *calloc(size_t n, size_t size)
{
    counted();
    return __libc_calloc(n, size);
}

void *realloc(void *p, size_t size)
{
    counted();
    return __libc_realloc(p, size);
}

void *memalign(size_t align, size_t size);
void *memalign(size_t align, size_t size)
{
    counted();
    return __libc_memalign(align, size);
}

void *aligned_alloc(size_t align, size_t size)
{
    counted();
    return __libc_memalign(align, size);
}

int posix_memalign(void **out, size_t align, size_t size)
{
    if (align < sizeof(void *) || (align & (align - 1)) != 0)
        return EINVAL;
    counted();
    void *p = __libc_memalign(align, size);
    if (!p)
        return ENOMEM;
    *out = p;
    return 0;
}

uint64_t bench_alloc_count(void)
{
    return atomic_load_explicit(&allocations, memory_order_relaxed);
}

int bench_alloc_counting(void)
{
    return 1;
}

#else

uint64_t bench_alloc_count(void)
{
    return 0;
}

int bench_alloc_counting(void)
{
    return 0;
}

#endif
