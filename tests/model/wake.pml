/*
 * The wake-up protocol of netipc's sealed SHM profile (src/transport/posix/
 * shm.c), for the SPIN model checker: one direction of a region, one
 * publisher, one consumer, N messages.
 *
 * Publisher, per message:  seq := seq + 1; FENCE; if waiting: signal++, FUTEX_WAKE.
 * Consumer, per message:   look at seq once (the spin); then loop {
 *                            waiting := 1; FENCE; v := signal;
 *                            if seq >= expected: waiting := 0, done;
 *                            FUTEX_WAIT(signal, v) }
 *
 * Memory is modelled as x86-64 TSO: each side's stores wait in its own
 * store buffer (one pending store here) until a flush, which may happen at
 * any moment; a side's loads see its own pending store; FENCE waits until
 * the buffer is empty (what __atomic_thread_fence(__ATOMIC_SEQ_CST) does).
 * FUTEX_WAIT is atomic in the kernel: it sleeps only if signal still
 * equals v, and only FUTEX_WAKE ends the sleep (no timeout is modelled, so
 * a lost wake-up is a consumer asleep forever: an invalid end state).
 *
 * Checked: no invalid end state (no lost wake-up, no deadlock) and the
 * assertions. Built twice by tests/model/check.sh: with FENCE it must
 * verify; without (-DNO_FENCE) SPIN must find the lost wake-up, which
 * shows that the model can fail and that the fences are what prevent it.
 */
#ifndef N
#define N 4
#endif

byte seq = 0;       /* in memory */
bit waiting = 0;    /* in memory */
byte signal = 0;    /* futex word; its increment is a syscall-side store */
bit asleep = 0;     /* the consumer is inside FUTEX_WAIT */
byte consumed = 0;

/* Store buffers: a pending value per side (the publisher only ever buffers
 * seq, the consumer only waiting). */
bit pub_pending = 0;  byte pub_val;
bit con_pending = 0;  bit con_val;

inline pub_store_seq(v) {
    atomic { (pub_pending == 0); pub_val = v; pub_pending = 1 }
}
inline con_store_waiting(v) {
    atomic { (con_pending == 0); con_val = v; con_pending = 1 }
}
/* The consumer's own loads see its pending store. */
inline con_load_seq(r) { r = seq }
inline pub_load_waiting(r) { r = waiting }

#ifdef NO_FENCE
inline pub_fence() { skip }
inline con_fence() { skip }
#else
inline pub_fence() { (pub_pending == 0) }
inline con_fence() { (con_pending == 0) }
#endif

active proctype memory() {
end:
    do
    :: atomic { pub_pending -> seq = pub_val; pub_pending = 0 }
    :: atomic { con_pending -> waiting = con_val; con_pending = 0 }
    od
}

active proctype publisher() {
    byte i = 0;
    bit w;
    do
    :: i < N ->
        i++;
        pub_store_seq(i);
        pub_fence();
        pub_load_waiting(w);
        if
        :: w ->
            /* A system call drains the store buffer before it runs. */
            (pub_pending == 0);
            atomic { signal++; asleep = 0 }   /* signal += 1; FUTEX_WAKE */
        :: else -> skip
        fi
    :: else -> break
    od
}

active proctype consumer() {
    byte expected = 1, s, v;
    do
    :: expected <= N ->
        con_load_seq(s);                       /* the spin (one look) */
        if
        :: s >= expected -> goto got
        :: else -> skip
        fi;
        do
        :: con_store_waiting(1);
           con_fence();
           v = signal;
           con_load_seq(s);
           if
           :: s >= expected -> con_store_waiting(0); break
           :: else ->
               /* FUTEX_WAIT(signal, v): sleep only if the word is unchanged. */
               atomic { if :: signal == v -> asleep = 1 :: else -> skip fi };
               (asleep == 0)
           fi
        od;
got:
        assert(seq >= expected);
        consumed = expected;
        expected++
    :: else -> break
    od;
    assert(consumed == N)
}
