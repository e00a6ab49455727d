/* The counting allocator of alloc_count.h. */
#include "alloc_count.h"

#include <stdatomic.h>
#include <stddef.h>

static atomic_int counting;
static atomic_long n_alloc, n_free;

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t n);
void __real_free(void *p);
char *__real_strdup(const char *s);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t n);
void __wrap_free(void *p);
char *__wrap_strdup(const char *s);

static void count_alloc(void)
{
    if (atomic_load(&counting))
        atomic_fetch_add(&n_alloc, 1);
}

void *__wrap_malloc(size_t n)
{
    count_alloc();
    return __real_malloc(n);
}

void *__wrap_calloc(size_t n, size_t size)
{
    count_alloc();
    return __real_calloc(n, size);
}

void *__wrap_realloc(void *p, size_t n)
{
    count_alloc();
    return __real_realloc(p, n);
}

void __wrap_free(void *p)
{
    if (p && atomic_load(&counting))
        atomic_fetch_add(&n_free, 1);
    __real_free(p);
}

char *__wrap_strdup(const char *s)
{
    count_alloc();
    return __real_strdup(s);
}

void t_alloc_count_start(void)
{
    atomic_store(&n_alloc, 0);
    atomic_store(&n_free, 0);
    atomic_store(&counting, 1);
}

void t_alloc_count_stop(void)
{
    atomic_store(&counting, 0);
}

long t_alloc_count_allocs(void)
{
    return atomic_load(&n_alloc);
}

long t_alloc_count_frees(void)
{
    return atomic_load(&n_free);
}
