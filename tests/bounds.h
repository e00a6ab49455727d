/*
 * How long an operation may take, derived from the library's documented
 * timeouts and retry schedule (the public headers, service_internal.h), so
 * that a suite's "must finish / recover within" bound says which waits it
 * adds up and holds on a busy machine as well as on an idle one.
 *
 * Every bound is the sum of the waits the library documents for that path
 * plus T_SLACK_MS: the CPU work of the operation itself and the scheduler's
 * delays, which on a machine whose cores are all busy (make test-load) come
 * on top of any documented wait. Like every test window the slack scales
 * with NETIPC_TEST_SLOW (valgrind, sanitizers).
 */
#ifndef NETIPC_TEST_BOUNDS_H
#define NETIPC_TEST_BOUNDS_H

#include "netipc/service.h"
#include "netipc/transport.h"
#include "service/service_internal.h"
#include "support.h"

/* CPU work and scheduling on a loaded machine, beyond documented waits. */
#define T_SLACK_MS T_MS(1000u)

/* A documented wait of `ms`, as a bound. */
static inline unsigned t_bound(unsigned ms)
{
    return ms + T_SLACK_MS;
}

/*
 * A Level 2 call with timeout `call_ms`: the deadline bounds the whole call,
 * its reconnects and SHM attach included (service.h).
 */
static inline unsigned t_call_bound(unsigned call_ms)
{
    return t_bound(call_ms);
}

/*
 * A call whose provider is gone for good, with a timeout longer than the
 * reconnect schedule: the failed attempt (a dead peer is noticed within one
 * 100 ms wait slice, transport.h), then every reconnect attempt of the
 * schedule, refused at once, with its waits in between.
 */
static inline unsigned t_failed_retry_bound(void)
{
    return t_bound(100u + nipc__reconnect_window_ms());
}

/*
 * refresh(): one connect, bounded by the handshake timeout, then at most
 * one SHM attach window (transport.h defaults unless configured).
 */
static inline unsigned t_refresh_bound(unsigned handshake_ms, unsigned attach_ms)
{
    return t_bound((handshake_ms ? handshake_ms : NIPC_HANDSHAKE_TIMEOUT_DEFAULT_MS) +
                   (attach_ms ? attach_ms : NIPC_SHM_ATTACH_TIMEOUT_DEFAULT_MS));
}

#endif
