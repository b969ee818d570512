/*
 * seccomp_ack runtime: SIGSYS handler, event ring, installer.
 *
 * See runtime.c for the design essay.  Everything here is plain C11; the
 * Cython module _runtime.pyx is the only user.
 */
#ifndef SECCOMP_ACK_RUNTIME_H
#define SECCOMP_ACK_RUNTIME_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#define SA_NREGS 23            /* NGREG on x86-64: the ucontext gregs */
#define SA_RING_MAGIC 0x53414b52u /* "SAKR" */
#define SA_COOKIE_USED 0x80000000u
#define SA_COOKIE_SILENT 0x40000000u /* emulate, never report (guards) */
#define SA_MAX_NR 1024          /* silence() covers syscall numbers below */

/* The fixed address of the trampoline page: `syscall; ret` at offset 0.
 * Every image of a process tree under ACK maps the same page here (the
 * runtime at start-up, the launcher through its ELF headers), so one filter
 * recognises re-issued syscalls across exec.  Far from where Linux puts
 * executables (0x400000, 0x55...), libraries and stacks (0x7f...). */
#define SA_TRAMPOLINE_PAGE 0x3ac000000000ull
#define SA_TRAMPOLINE_IP (SA_TRAMPOLINE_PAGE + 2)

/* Event flags. */
#define SA_EV_REGS 0x1          /* regs[] holds the post-syscall registers */
#define SA_EV_NORETURN 0x2      /* exit/exit_group: recorded before it ran */
#define SA_EV_REFUSED 0x4       /* not run: ret is the error we returned */
#define SA_EV_EMULATED 0x8      /* emulated by the runtime, see runtime.c */
#define SA_EV_BEFORE 0x10       /* a signal to the caller itself: recorded
                                   before it ran (it may not return), so
                                   ret is 0, not the result */

struct sa_event {
    uint64_t seq;              /* ticket: the order events were claimed in */
    int32_t pid;
    int32_t tid;
    int32_t nr;
    uint32_t arch;
    uint32_t data;             /* the ACK data of the rule that matched */
    uint32_t flags;            /* SA_EV_* */
    uint64_t args[6];
    int64_t ret;               /* raw return value: -errno on failure */
    uint64_t ip;               /* address after the app's syscall insn */
    uint64_t time_ns;          /* CLOCK_MONOTONIC after the syscall */
    uint64_t regs[SA_NREGS];   /* only with SA_EV_REGS */
};

struct sa_slot {
    _Atomic uint64_t seq;      /* == ticket + 1 once published */
    struct sa_event ev;
};

/* Counters the handler keeps; Python reads them.  All relaxed atomics:
 * they are statistics, never used to order other memory. */
struct sa_counters {
    _Atomic uint64_t reported;   /* events published */
    _Atomic uint64_t dropped;    /* events lost because the ring was full */
    _Atomic uint64_t silenced;   /* re-issued but not reported (silence()) */
    _Atomic uint64_t quiet;      /* re-issued for a quiet thread */
    _Atomic uint64_t foreign;    /* SIGSYS not ours, passed on */
    _Atomic uint64_t refused;    /* exec refused */
    _Atomic uint64_t faults;     /* bad app pointers met while emulating */
    _Atomic uint64_t wakeups;    /* futex wakes sent to the consumer */
};

struct sa_ring {
    uint32_t magic;
    uint32_t capacity;           /* slots, a power of two */
    uint32_t slot_size;
    uint32_t want_regs;          /* copy the registers into every event */
    _Alignas(64) _Atomic uint64_t head;   /* next ticket for producers */
    _Alignas(64) _Atomic uint64_t tail;   /* next ticket for the consumer */
    _Atomic uint64_t lost;       /* claimed but never published (writer died) */
    _Alignas(64) _Atomic uint32_t wake;   /* futex word */
    _Atomic uint32_t waiters;    /* consumers asleep on `wake` */
    struct sa_counters counters;
    /* Shared with every process writing the ring, exec'd images included:
     * which TRAP data are ACK cookies (SA_COOKIE_USED | data), and which
     * syscall numbers are silenced. */
    _Atomic uint32_t cookies[65536];
    _Atomic uint64_t silenced[SA_MAX_NR / 64];
    /* Syscalls made by quiet (consumer) threads: not reported, but a
     * profile or a lock() must still allow them. */
    _Atomic uint64_t quiet_seen[SA_MAX_NR / 64];
    /* Every syscall number that trapped into an ACK handler writing this
     * ring, reported or not (dropped, silenced, quiet, guard): a learned
     * profile stays complete when the ring overflows. */
    _Atomic uint64_t seen[SA_MAX_NR / 64];
    _Alignas(64) struct sa_slot slots[];
};

size_t sa_ring_bytes(uint32_t capacity);
static inline uint64_t sa_ring_bytes_inline(uint32_t capacity)
{
    return sizeof(struct sa_ring) + (uint64_t)capacity * sizeof(struct sa_slot);
}
void sa_ring_init(struct sa_ring *ring, uint32_t capacity);
/* Check a ring mapped from a file: magic, and capacity against its size. */
int sa_ring_valid(const struct sa_ring *ring, size_t bytes);

/* Consumer side (one consumer at a time). Returns events copied to out. */
size_t sa_ring_drain(struct sa_ring *ring, struct sa_event *out, size_t max);
/* Skip one claimed-but-unpublished slot; only when every writer is dead. */
int sa_ring_skip_stuck(struct sa_ring *ring);
/* Sleep until events are pending or timeout_ms passes. */
void sa_ring_wait(struct sa_ring *ring, int timeout_ms);
uint64_t sa_ring_pending(struct sa_ring *ring);

/* Process-wide runtime state. */
int sa_trampoline_map(void);
int sa_runtime_install(struct sa_ring *ring, int vdso_clock,
                       const char *launcher, const char *ring_path);
void sa_register_cookie(unsigned cookie, unsigned data, int silent);
int sa_set_silenced(unsigned nr, int on);
void sa_set_quiet_thread(int on);
uintptr_t sa_trampoline_address(void);

/* Installer: returns 0, -errno, or a positive TID that TSYNC could not sync. */
long sa_set_no_new_privs(void);
long sa_install_filter(const void *insns, unsigned count, unsigned flags);

/* The trampoline (trampoline.S). */
long sa_syscall6(long nr, long a0, long a1, long a2, long a3, long a4,
                 long a5);

#endif
