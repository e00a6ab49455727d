/*
 * Linux shared-memory regions, shared by the data plane (shm.c) and the two
 * ways a region comes to be: a file in the run dir, named by the session
 * (shm_file.c, profiles 0x02 / 0x04, upstream's layout), or a sealed memfd
 * passed over the session's socket (shm_sealed.c, NIPC_PROFILE_SHM_SEALED,
 * netipc's own layout). Internal.
 */
#ifndef NETIPC_SHM_INTERNAL_H
#define NETIPC_SHM_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "transport/transport_internal.h"

/* One direction of a region as one side sees it. */
typedef struct nipc__shm_dir {
    uint8_t *area;
    uint32_t cap;
    uint64_t *seq;     /* messages published in this direction */
    uint32_t *len;     /* length of the current message */
    uint32_t *signal;  /* futex word */
    /* The consumer's "I am asleep" flag (sealed layout), NULL in upstream's
     * layout, where every publish wakes. */
    uint32_t *waiting;
    /* The CPU the publisher last ran on, + 1 (0: not known); sealed layout
     * only, NULL in upstream's. The consumer spins only for a peer on
     * another CPU. */
    uint32_t *cpu;
} nipc__shm_dir_t;

struct nipc__shm {
    uint8_t *base;
    size_t size;
    int fd;           /* -1 once released (sealed regions live on in the mapping) */
    int is_server;
    int guard;        /* shm_guard.c slot of a file region; -1 for sealed ones */
    char *path;       /* server's file region: removed on close */
    uint32_t req_cap, resp_cap;
    nipc__shm_dir_t tx, rx; /* what this side publishes, what it consumes */
    uint64_t rx_local;      /* messages consumed */
    int spun;               /* the last consume was a spin-only try that found nothing */
    uint32_t my_cpu;        /* this side's CPU + 1, as last read (sealed layout) */
    uint32_t cpu_age;       /* messages since my_cpu was read */
    uint64_t spins_skipped; /* consumes that did not spin: the peer was on this CPU */
};

/* Field offsets of a region's header, per layout. */
typedef struct nipc__shm_layout {
    uint32_t req_offset, req_cap, resp_offset, resp_cap; /* header fields holding these */
    uint32_t req_seq, req_len, req_signal, req_waiting, req_cpu; /* waiting, cpu 0: none */
    uint32_t resp_seq, resp_len, resp_signal, resp_waiting, resp_cpu;
} nipc__shm_layout_t;

extern const nipc__shm_layout_t nipc__shm_file_layout;
extern const nipc__shm_layout_t nipc__shm_sealed_layout;

/*
 * Allocates the region object for a mapping whose header was checked (or
 * written) and resolves both directions for this side. NULL: no memory.
 */
nipc__shm_t *nipc__shm_wrap(uint8_t *base, size_t size, int fd, int is_server,
                            const nipc__shm_layout_t *layout);

/*
 * Checks the areas a header announces against the mapping's size: offsets
 * at or after the header and 64-aligned, capacities non-zero, 64-aligned
 * and at most NIPC__SHM_AREA_MAX, the response area after the request
 * area, both inside `size`. Returns SHM_NOT_READY (zero fields: not
 * initialised yet) or SHM_BAD_SIZE.
 */
nipc_error_t nipc__shm_check_areas(const uint8_t *b, size_t size, uint32_t header_len,
                                   const nipc__shm_layout_t *layout);

#endif
