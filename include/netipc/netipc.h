/*
 * netipc: local IPC for Netdata plugins and helper services, wire-compatible
 * with plugin-ipc protocol v1. Umbrella header: includes every public API.
 */
#ifndef NETIPC_NETIPC_H
#define NETIPC_NETIPC_H

#include "netipc/version.h"
#include "netipc/error.h"
#include "netipc/protocol.h"
#include "netipc/codec.h"
#include "netipc/lookup.h"
#include "netipc/transport.h"
#include "netipc/service.h"
#include "netipc/cache.h"

#endif
