/*
 * A counting allocator for the "never allocates" suites (test_transport_alloc,
 * test_lookup_alloc). Link alloc_count.c into the test and link it with
 * NETIPC_WRAP_ALLOC (GNU ld --wrap for malloc, calloc, realloc, free and
 * strdup), so every allocation the statically linked library makes, on any
 * thread, goes through the counters.
 */
#ifndef NETIPC_TEST_ALLOC_COUNT_H
#define NETIPC_TEST_ALLOC_COUNT_H

/* Zeroes both counters and starts counting. */
void t_alloc_count_start(void);

/* Stops counting; the counters keep their values. */
void t_alloc_count_stop(void);

/* Allocations (malloc, calloc, realloc, strdup) and frees of non-NULL
 * pointers counted between start and stop. */
long t_alloc_count_allocs(void);
long t_alloc_count_frees(void);

#endif
