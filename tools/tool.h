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

#endif
