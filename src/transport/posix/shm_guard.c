/*
 * SIGBUS guard for shared-memory regions backed by a file in the run dir
 * (profiles 0x02 / 0x04). The peer can open that file too, and if it
 * truncates it, the pages beyond the new end vanish from our mapping: the
 * next access raises SIGBUS, which kills the process by default. That
 * would let one hostile client end every session of a server (or a hostile
 * provider a Netdata plugin).
 *
 * Every such mapping is registered here. A process-wide SIGBUS handler,
 * installed the first time a region is registered, looks the fault address
 * up; when it lies in a registered region it maps anonymous zero pages over
 * the whole region (MAP_FIXED, so the address stays valid), marks the
 * region tripped and returns: the faulting access completes on the zero
 * pages, and the session sees the trip at its next wait (SHM_LOST). Any
 * other SIGBUS goes to the handler that was installed before ours, or gets
 * the default action. Hosts that install their own SIGBUS handler later
 * call nipc_shm_fault_recover() from it (transport.h).
 *
 * Nothing here runs per message: registration happens when a region is
 * mapped, the handler only on a fault. Sealed regions (memfd, profile
 * NIPC_PROFILE_SHM_SEALED) cannot shrink and are not registered.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/mman.h>

#include "transport/posix/shm_guard.h"

/* Regions a process can guard at once: sessions of all its servers and
 * clients on SHM. Beyond it a region is refused (SHM_ALLOC): the session
 * then runs on the socket, never on an unguarded region. */
#define GUARD_SLOTS 4096

typedef struct guard_slot {
    _Atomic uintptr_t base; /* 0 = free */
    _Atomic size_t size;
    atomic_int tripped;
} guard_slot_t;

static guard_slot_t slots[GUARD_SLOTS];
static atomic_int slots_used; /* high-water mark: the handler scans below it */
static pthread_mutex_t slots_lock = PTHREAD_MUTEX_INITIALIZER;

static pthread_once_t install_once = PTHREAD_ONCE_INIT;
static struct sigaction previous;
static atomic_int installed;

/* Async-signal-safe: atomic loads, mmap(2), an atomic store. */
bool nipc_shm_fault_recover(void *addr)
{
    uintptr_t a = (uintptr_t)addr;
    int used = atomic_load_explicit(&slots_used, memory_order_acquire);
    for (int i = 0; i < used; i++) {
        uintptr_t base = atomic_load_explicit(&slots[i].base, memory_order_acquire);
        if (!base || a < base || a - base >= atomic_load(&slots[i].size))
            continue;
        size_t size = atomic_load(&slots[i].size);
        /* Zero pages over the whole region: the peer broke it, nothing in
         * it can be trusted any more, and no later access may fault. */
        void *m = mmap((void *)base, size, PROT_READ | PROT_WRITE,
                       MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (m == MAP_FAILED)
            return false; /* cannot repair: let the fault take its course */
        atomic_store(&slots[i].tripped, 1);
        return true;
    }
    return false;
}

/* What SIGBUS would have done without us. */
static void chain(int sig, siginfo_t *info, void *uctx)
{
    if (previous.sa_flags & SA_SIGINFO) {
        if (previous.sa_sigaction) {
            previous.sa_sigaction(sig, info, uctx);
            return;
        }
    } else if (previous.sa_handler != SIG_DFL && previous.sa_handler != SIG_IGN) {
        previous.sa_handler(sig);
        return;
    }
    /* Ignored: a signal someone sent stays ignored; a real fault cannot be
     * ignored (the kernel would deliver it again and again). */
    if (previous.sa_handler == SIG_IGN && !(previous.sa_flags & SA_SIGINFO) && info &&
        info->si_code <= 0)
        return;
    /* Default action: a sent signal is raised again (it is blocked until
     * this handler returns), a fault recurs when the access is retried.
     * The process then ends by SIGBUS, as test_shm_hostile's
     * sigbus_in_fresh_processes checks; a process killed by a signal never
     * writes its coverage data, hence the exclusion. */
    /* GCOVR_EXCL_START */
    struct sigaction dfl = {.sa_handler = SIG_DFL};
    sigemptyset(&dfl.sa_mask);
    sigaction(SIGBUS, &dfl, NULL);
    if (!info || info->si_code <= 0)
        raise(SIGBUS);
    /* GCOVR_EXCL_STOP */
}

static void on_sigbus(int sig, siginfo_t *info, void *uctx)
{
    int saved = errno;
    if (!(info && info->si_code > 0 && nipc_shm_fault_recover(info->si_addr)))
        chain(sig, info, uctx);
    errno = saved;
}

static void install(void)
{
    struct sigaction sa = {.sa_sigaction = on_sigbus,
                           .sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESTART};
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGBUS, &sa, &previous) == 0)
        atomic_store(&installed, 1);
}

int nipc__shm_guard_add(void *base, size_t size)
{
    pthread_once(&install_once, install);
    if (!atomic_load(&installed))
        return -1;
    pthread_mutex_lock(&slots_lock);
    int found = -1;
    for (int i = 0; i < GUARD_SLOTS; i++) {
        if (atomic_load_explicit(&slots[i].base, memory_order_relaxed) == 0) {
            found = i;
            break;
        }
    }
    if (found >= 0) {
        guard_slot_t *s = &slots[found];
        atomic_store(&s->size, size);
        atomic_store(&s->tripped, 0);
        /* The base last: the handler trusts a slot once it sees its base. */
        atomic_store_explicit(&s->base, (uintptr_t)base, memory_order_release);
        if (found >= atomic_load(&slots_used))
            atomic_store_explicit(&slots_used, found + 1, memory_order_release);
    }
    pthread_mutex_unlock(&slots_lock);
    return found;
}

void nipc__shm_guard_remove(int slot)
{
    if (slot < 0)
        return;
    pthread_mutex_lock(&slots_lock);
    atomic_store_explicit(&slots[slot].base, 0, memory_order_release);
    pthread_mutex_unlock(&slots_lock);
}

int nipc__shm_guard_tripped(int slot)
{
    return slot >= 0 && atomic_load_explicit(&slots[slot].tripped, memory_order_acquire);
}
