/*
 * Platform half of the netipc tool: the default run directory and the
 * inspection of endpoints (status, cleanup). endpoints_posix.c looks at
 * socket and SHM files.
 */
#ifndef NETIPC_TOOL_H
#define NETIPC_TOOL_H

#include <stddef.h>
#include <stdint.h>

/* $NETIPC_RUN_DIR, else $XDG_RUNTIME_DIR/netipc, else /tmp/netipc-<uid>;
 * created 0700 when missing. 0 on success, -1 after printing why. */
int nipc_tool_default_run_dir(char *out, size_t cap);

/* Prints every endpoint of run_dir. 0 on success, -1 on error. */
int nipc_tool_status(const char *run_dir, uint64_t token);

/* Removes stale endpoint files. 0 on success, -1 on error. */
int nipc_tool_cleanup(const char *run_dir);

/* ---------------------------------------------- lookup providers (lookup_posix.c) */

#include "netipc/service.h"

/* cgroups-lookup: this machine's cgroup tree (or `corpus` corpus items when
 * non-zero), indexed; rescan() swaps in a fresh scan and bumps the
 * generation when it changed. The handler's ctx is the database. */
typedef struct nipc_tool_cgroups nipc_tool_cgroups_t;
nipc_error_t nipc_tool_cgroups_open(uint32_t corpus, nipc_tool_cgroups_t **out);
void nipc_tool_cgroups_rescan(nipc_tool_cgroups_t *db);
void nipc_tool_cgroups_free(nipc_tool_cgroups_t *db);
nipc_error_t nipc_tool_cgroups_lookup(void *ctx, const nipc_cgroups_lookup_req_t *req,
                                      nipc_cgroups_lookup_builder_t *b);

/* apps-lookup from /proc; ctx points to the generation (a uint64_t), see
 * nipc_tool_apps_generation(). */
nipc_error_t nipc_tool_apps_lookup(void *ctx, const nipc_apps_lookup_req_t *req,
                                   nipc_apps_lookup_builder_t *b);
uint64_t nipc_tool_apps_generation(void);

#endif
