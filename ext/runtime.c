/*
 * The ACK runtime: a SIGSYS handler that turns SECCOMP_RET_TRAP into the
 * never-merged SECCOMP_RET_ACK.
 *
 * A filter compiled with ACK(d) returns TRAP|cookie for the syscall, unless
 * the syscall comes from the trampoline (trampoline.S), which it allows.  The
 * kernel skips the syscall and delivers SIGSYS.  Here we:
 *   1. check that the SIGSYS is a seccomp trap whose cookie is ours, else
 *      pass it to the handler the application installed (or die as the
 *      kernel would have);
 *   2. re-issue the syscall through the trampoline with the registers of the
 *      trapped call (rax = nr, rdi rsi rdx r10 r8 r9 = args);
 *   3. write the result into the ucontext's rax, so that when the handler
 *      returns (rt_sigreturn) the application sees a completed syscall;
 *   4. publish an event into a shared ring.
 *
 * Handler rules.  No malloc, no locks, no stdio, no Python.  errno is saved
 * first and restored last.  Every syscall the runtime makes goes through the
 * trampoline, so the handler never traps itself.  Failures become counters.
 * The handler is installed with SA_SIGINFO | SA_NODEFER and an empty mask: a
 * syscall made by a nested signal handler (Python's wakeup-fd write, say)
 * traps again and is handled on top of us, and the signal mask inside the
 * handler is exactly the application's mask at the trap.
 *
 * Syscalls that need more than a re-issue (DESIGN.md "Syscalls that need
 * care"):
 *   - exit, exit_group never return: the event is published first.  So is
 *     a signal the caller sends itself (kill, tkill, tgkill, and the
 *     sigqueueinfo pair), which may kill it before the syscall returns.
 *   - rt_sigprocmask: rt_sigreturn restores uc_sigmask, which would undo the
 *     change; after the re-issue the resulting mask is copied into the
 *     ucontext.  SIGSYS is stripped from any set the application blocks,
 *     because a trap while SIGSYS is blocked kills the process.
 *   - sigaltstack: likewise, the resulting stack is copied into uc_stack.
 *   - rt_sigaction(SIGSYS): emulated.  The application's handler is kept in
 *     g_app_action and called for SIGSYS that is not ours; ours stays.
 *   - clone is re-issued only when fork-like (no CLONE_VM, no new stack):
 *     the child then returns through this handler on its copy of the stack.
 *     The compiler never traps clone3, vfork and thread-creating clone.
 *   - execve, execveat: the new image would not have this handler and would
 *     die on its first trapped syscall.  They are refused with ENOTSUP, a
 *     line on stderr and an event flagged SA_EV_REFUSED.
 *
 * The ring is a bounded multi-producer, single-consumer queue with a
 * sequence number per slot, in a MAP_SHARED mapping so that forked children
 * publish into their parent's ring.  A producer that finds the ring full
 * drops the event and counts it; it never blocks.
 */
#define _GNU_SOURCE
#include "runtime.h"

#include <errno.h>
#include <limits.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/futex.h>
#include <linux/sched.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#ifndef SYS_SECCOMP
#define SYS_SECCOMP 1
#endif

extern const char sa_trampoline_ip[];

/* The layout rt_sigaction(2) reads and writes on x86-64. */
struct k_sigaction {
    uintptr_t handler;
    unsigned long flags;
    uintptr_t restorer;
    uint64_t mask;
};

#define SA_COOKIE_USED 0x80000000u

/* Process-wide state.  Forked children inherit a copy, which is what they
 * need: the same filter, the same cookies, the same (shared) ring. */
static _Atomic(struct sa_ring *) g_ring;
static _Atomic uint32_t g_cookies[65536];       /* SA_COOKIE_USED | data */
static _Atomic uint64_t g_silenced[1024 / 64];  /* bitmap over nr */
static struct k_sigaction g_app_action;          /* the app's SIGSYS action */
static int g_vdso_clock;
static _Atomic int32_t g_pid;                    /* cached getpid(), 0 = stale */

/* Per-thread: cached TID (0 = unknown) and the quiet flag of the consumer
 * thread.  initial-exec, so reading them never calls __tls_get_addr (which
 * may allocate) from the handler. */
static __thread int32_t t_tid __attribute__((tls_model("initial-exec")));
static __thread int t_quiet __attribute__((tls_model("initial-exec")));

static struct sa_slot *slot_at(struct sa_ring *r, uint64_t ticket)
{
    return (struct sa_slot *)((char *)r->slots +
                              (size_t)(ticket & (r->capacity - 1)) *
                                  r->slot_size);
}

size_t sa_ring_bytes(uint32_t capacity)
{
    return sizeof(struct sa_ring) + (size_t)capacity * sizeof(struct sa_slot);
}

void sa_ring_init(struct sa_ring *r, uint32_t capacity)
{
    memset(r, 0, sizeof *r);
    r->magic = SA_RING_MAGIC;
    r->capacity = capacity;
    r->slot_size = sizeof(struct sa_slot);
    for (uint32_t i = 0; i < capacity; i++)
        atomic_init(&slot_at(r, i)->seq, i);
}

/* ---------------------------------------------------------------- ids */

static int32_t current_pid(void)
{
    int32_t pid = atomic_load_explicit(&g_pid, memory_order_relaxed);
    if (pid == 0) {
        pid = (int32_t)sa_syscall6(SYS_getpid, 0, 0, 0, 0, 0, 0);
        atomic_store_explicit(&g_pid, pid, memory_order_relaxed);
    }
    return pid;
}

static int32_t current_tid(void)
{
    if (t_tid == 0)
        t_tid = (int32_t)sa_syscall6(SYS_gettid, 0, 0, 0, 0, 0, 0);
    return t_tid;
}

/* A new process: forget the parent's ids. */
static void forget_ids(void)
{
    atomic_store_explicit(&g_pid, 0, memory_order_relaxed);
    t_tid = 0;
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    /* The vDSO makes no syscall when the clocksource supports it; Python
     * checked that before setting g_vdso_clock.  Otherwise the vDSO would
     * fall back to a `syscall` outside the trampoline, which traps, and the
     * nested handler would ask for the time again. */
    if (g_vdso_clock)
        clock_gettime(CLOCK_MONOTONIC, &ts);
    else
        sa_syscall6(SYS_clock_gettime, CLOCK_MONOTONIC, (long)&ts, 0, 0, 0,
                    0);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ------------------------------------------------------------ the ring */

static void publish(const siginfo_t *si, const ucontext_t *uc, long nr,
                    const long a[6], long ret, unsigned data, unsigned flags)
{
    struct sa_ring *r = atomic_load_explicit(&g_ring, memory_order_acquire);
    if (r == NULL)
        return;

    /* Claim a ticket.  The acquire load of slot->seq pairs with the
     * consumer's release store when it freed the slot: we may only write
     * the slot once its previous event has been copied out. */
    uint64_t pos = atomic_load_explicit(&r->head, memory_order_relaxed);
    struct sa_slot *slot;
    for (;;) {
        slot = slot_at(r, pos);
        uint64_t seq = atomic_load_explicit(&slot->seq, memory_order_acquire);
        int64_t diff = (int64_t)(seq - pos);
        if (diff == 0) {
            if (atomic_compare_exchange_weak_explicit(
                    &r->head, &pos, pos + 1, memory_order_relaxed,
                    memory_order_relaxed))
                break;
        } else if (diff < 0) {
            /* Full: the slot still holds an unread event. */
            atomic_fetch_add_explicit(&r->counters.dropped, 1,
                                      memory_order_relaxed);
            return;
        } else {
            pos = atomic_load_explicit(&r->head, memory_order_relaxed);
        }
    }

    struct sa_event *ev = &slot->ev;
    ev->seq = pos;
    ev->pid = current_pid();
    ev->tid = current_tid();
    ev->nr = (int32_t)nr;
    ev->arch = si->si_arch;
    ev->data = data;
    ev->flags = flags;
    for (int i = 0; i < 6; i++)
        ev->args[i] = (uint64_t)a[i];
    ev->ret = ret;
    ev->ip = (uint64_t)(uintptr_t)si->si_call_addr;
    ev->time_ns = now_ns();
    if (r->want_regs) {
        for (int i = 0; i < SA_NREGS; i++)
            ev->regs[i] = (uint64_t)uc->uc_mcontext.gregs[i];
        ev->flags |= SA_EV_REGS;
    }

    /* Release: the consumer that sees seq == pos + 1 sees the event. */
    atomic_store_explicit(&slot->seq, pos + 1, memory_order_release);
    atomic_fetch_add_explicit(&r->counters.reported, 1, memory_order_relaxed);

    /* Wake a sleeping consumer only when the ring is half full, or when the
     * process is about to exit: a consumer also wakes by itself every few
     * milliseconds, so a quiet period costs no futex syscall per event.
     * The seq_cst fence orders our publish before the read of `waiters`,
     * pairing with the fence in sa_ring_wait. */
    atomic_thread_fence(memory_order_seq_cst);
    if (atomic_load_explicit(&r->waiters, memory_order_relaxed) != 0) {
        uint64_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
        if (pos + 1 - tail >= r->capacity / 2 || (flags & SA_EV_NORETURN)) {
            atomic_fetch_add_explicit(&r->wake, 1, memory_order_relaxed);
            sa_syscall6(SYS_futex, (long)&r->wake, FUTEX_WAKE, INT_MAX, 0, 0,
                        0);
            atomic_fetch_add_explicit(&r->counters.wakeups, 1,
                                      memory_order_relaxed);
        }
    }
}

size_t sa_ring_drain(struct sa_ring *r, struct sa_event *out, size_t max)
{
    uint64_t pos = atomic_load_explicit(&r->tail, memory_order_relaxed);
    size_t n = 0;
    while (n < max) {
        struct sa_slot *slot = slot_at(r, pos);
        /* Acquire pairs with the producer's release in publish(). */
        uint64_t seq = atomic_load_explicit(&slot->seq, memory_order_acquire);
        if (seq != pos + 1)
            break;
        out[n++] = slot->ev;
        /* Release: the event is copied before the slot is handed back. */
        atomic_store_explicit(&slot->seq, pos + r->capacity,
                              memory_order_release);
        pos++;
    }
    atomic_store_explicit(&r->tail, pos, memory_order_release);
    return n;
}

int sa_ring_skip_stuck(struct sa_ring *r)
{
    uint64_t pos = atomic_load_explicit(&r->tail, memory_order_relaxed);
    uint64_t head = atomic_load_explicit(&r->head, memory_order_acquire);
    if (pos >= head)
        return 0;
    struct sa_slot *slot = slot_at(r, pos);
    if (atomic_load_explicit(&slot->seq, memory_order_acquire) == pos + 1)
        return 0;  /* published after all: drain it instead */
    atomic_store_explicit(&slot->seq, pos + r->capacity, memory_order_release);
    atomic_store_explicit(&r->tail, pos + 1, memory_order_release);
    atomic_fetch_add_explicit(&r->lost, 1, memory_order_relaxed);
    return 1;
}

uint64_t sa_ring_pending(struct sa_ring *r)
{
    return atomic_load_explicit(&r->head, memory_order_acquire) -
           atomic_load_explicit(&r->tail, memory_order_relaxed);
}

void sa_ring_wait(struct sa_ring *r, int timeout_ms)
{
    uint32_t word = atomic_load_explicit(&r->wake, memory_order_acquire);
    atomic_fetch_add_explicit(&r->waiters, 1, memory_order_relaxed);
    /* Pairs with the fence in publish(): either the producer sees our
     * waiter count, or we see its event in sa_ring_pending. */
    atomic_thread_fence(memory_order_seq_cst);
    if (sa_ring_pending(r) < r->capacity / 2) {
        struct timespec ts = {timeout_ms / 1000,
                              (long)(timeout_ms % 1000) * 1000000L};
        /* Not FUTEX_PRIVATE: the word lives in a MAP_SHARED mapping that
         * producers in other processes (forked children) wake through. */
        sa_syscall6(SYS_futex, (long)&r->wake, FUTEX_WAIT, word, (long)&ts,
                    0, 0);
    }
    atomic_fetch_sub_explicit(&r->waiters, 1, memory_order_relaxed);
}

/* ------------------------------------------------- safe memory access */

/* Copy between our memory and the application's pointers without faulting:
 * a bad pointer makes process_vm_{read,write}v fail with EFAULT where a
 * plain memcpy would crash inside the handler. */
static long copy_from_app(void *dst, uintptr_t src, size_t n)
{
    struct iovec local = {dst, n}, remote = {(void *)src, n};
    long rc = sa_syscall6(SYS_process_vm_readv, current_pid(), (long)&local,
                          1, (long)&remote, 1, 0);
    return rc == (long)n ? 0 : -EFAULT;
}

static long copy_to_app(uintptr_t dst, const void *src, size_t n)
{
    struct iovec local = {(void *)src, n}, remote = {(void *)dst, n};
    long rc = sa_syscall6(SYS_process_vm_writev, current_pid(), (long)&local,
                          1, (long)&remote, 1, 0);
    return rc == (long)n ? 0 : -EFAULT;
}

static void count_fault(void)
{
    struct sa_ring *r = atomic_load_explicit(&g_ring, memory_order_relaxed);
    if (r)
        atomic_fetch_add_explicit(&r->counters.faults, 1,
                                  memory_order_relaxed);
}

/* ---------------------------------------------- syscalls needing care */

#define SIGSYS_BIT (1ull << (SIGSYS - 1))

static long emulate_sigprocmask(ucontext_t *uc, const long a[6])
{
    long how = a[0];
    uintptr_t set = (uintptr_t)a[1];
    uint64_t mask;
    long rc;

    if (set != 0 && a[3] == 8 && (how == SIG_BLOCK || how == SIG_SETMASK)) {
        if (copy_from_app(&mask, set, sizeof mask) != 0) {
            count_fault();
            return -EFAULT;
        }
        mask &= ~SIGSYS_BIT;
        rc = sa_syscall6(SYS_rt_sigprocmask, how, (long)&mask, a[2], 8, 0, 0);
    } else {
        rc = sa_syscall6(SYS_rt_sigprocmask, how, set, a[2], a[3], 0, 0);
    }
    if (rc == 0 && set != 0) {
        /* rt_sigreturn restores uc_sigmask: make it the new mask. */
        uint64_t now;
        sa_syscall6(SYS_rt_sigprocmask, SIG_BLOCK, 0, (long)&now, 8, 0, 0);
        memcpy(&uc->uc_sigmask, &now, sizeof now);
    }
    return rc;
}

static long emulate_sigaltstack(ucontext_t *uc, const long a[6])
{
    long rc = sa_syscall6(SYS_sigaltstack, a[0], a[1], 0, 0, 0, 0);
    if (rc == 0 && a[0] != 0) {
        /* rt_sigreturn restores uc_stack: make it the new stack. */
        stack_t now;
        sa_syscall6(SYS_sigaltstack, 0, (long)&now, 0, 0, 0, 0);
        uc->uc_stack = now;
    }
    return rc;
}

static long emulate_sigaction_sigsys(const long a[6])
{
    struct k_sigaction next;
    if (a[3] != 8)
        return -EINVAL;
    if (a[1] != 0 && copy_from_app(&next, (uintptr_t)a[1], sizeof next)) {
        count_fault();
        return -EFAULT;
    }
    if (a[2] != 0 &&
        copy_to_app((uintptr_t)a[2], &g_app_action, sizeof g_app_action)) {
        count_fault();
        return -EFAULT;
    }
    if (a[1] != 0)
        g_app_action = next;
    return 0;
}

static long refuse_exec(void)
{
    static const char msg[] =
        "seccomp_ack: exec under an ACK filter is not supported yet; "
        "failing it with ENOTSUP\n";
    sa_syscall6(SYS_write, 2, (long)msg, sizeof msg - 1, 0, 0, 0);
    struct sa_ring *r = atomic_load_explicit(&g_ring, memory_order_relaxed);
    if (r)
        atomic_fetch_add_explicit(&r->counters.refused, 1,
                                  memory_order_relaxed);
    return -ENOTSUP;
}

/* --------------------------------------------------------- the handler */

/* A SIGSYS that is not an ACK trap: give it to the application's handler,
 * or do what the kernel would have done without us. */
static void pass_on(int sig, siginfo_t *si, void *ctx)
{
    struct sa_ring *r = atomic_load_explicit(&g_ring, memory_order_relaxed);
    if (r)
        atomic_fetch_add_explicit(&r->counters.foreign, 1,
                                  memory_order_relaxed);

    struct k_sigaction act = g_app_action;
    if (act.handler == (uintptr_t)SIG_IGN && si->si_code != SYS_SECCOMP)
        return;
    if (act.handler == (uintptr_t)SIG_DFL ||
        act.handler == (uintptr_t)SIG_IGN) {
        /* Default action of SIGSYS (a forced seccomp SIGSYS ignores
         * SIG_IGN): restore it and re-raise; SIGSYS is not blocked in this
         * handler (SA_NODEFER), so it is delivered at once and kills. */
        struct k_sigaction dfl = {0};
        dfl.handler = (uintptr_t)SIG_DFL;
        sa_syscall6(SYS_rt_sigaction, SIGSYS, (long)&dfl, 0, 8, 0, 0);
        sa_syscall6(SYS_tgkill, current_pid(), current_tid(), SIGSYS, 0, 0,
                    0);
        return;
    }
    if (act.flags & SA_SIGINFO)
        ((void (*)(int, siginfo_t *, void *))act.handler)(sig, si, ctx);
    else
        ((void (*)(int))act.handler)(sig);
}

static int is_silenced(long nr)
{
    if (nr < 0 || nr >= 1024)
        return 0;
    uint64_t word = atomic_load_explicit(&g_silenced[nr / 64],
                                         memory_order_relaxed);
    return (word >> (nr % 64)) & 1;
}

/* True if the syscall sends a signal that may reach the calling thread. */
static int signals_self(long nr, const long a[6])
{
    switch (nr) {
    case SYS_kill:
        return a[0] == 0 || a[0] < -1 || a[0] == current_pid();
    case SYS_tgkill:
    case SYS_rt_tgsigqueueinfo:
    case SYS_rt_sigqueueinfo:
        return a[0] == current_pid();
    case SYS_tkill:
        return a[0] == current_tid();
    default:
        return 0;
    }
}

static void ack_handler(int sig, siginfo_t *si, void *ctx)
{
    int saved_errno = errno;
    ucontext_t *uc = ctx;
    greg_t *g = uc->uc_mcontext.gregs;

    if (si->si_code != SYS_SECCOMP || si->si_arch != AUDIT_ARCH_X86_64) {
        pass_on(sig, si, ctx);
        errno = saved_errno;
        return;
    }
    uint32_t entry = atomic_load_explicit(
        &g_cookies[(unsigned)si->si_errno & 0xffff], memory_order_relaxed);
    if (!(entry & SA_COOKIE_USED)) {
        pass_on(sig, si, ctx);
        errno = saved_errno;
        return;
    }

    long nr = g[REG_RAX];
    const long a[6] = {g[REG_RDI], g[REG_RSI], g[REG_RDX],
                       g[REG_R10], g[REG_R8],  g[REG_R9]};
    unsigned data = entry & 0xffff;
    unsigned flags = 0;
    long ret;

    switch (nr) {
    case SYS_exit:
    case SYS_exit_group:
        /* Never returns: publish first (counted as reported even when the
         * thread is quiet, since nothing else would tell of the exit). */
        publish(si, uc, nr, a, 0, data, SA_EV_NORETURN);
        sa_syscall6(nr, a[0], 0, 0, 0, 0, 0);
        __builtin_unreachable();
    case SYS_execve:
    case SYS_execveat:
        ret = refuse_exec();
        flags = SA_EV_REFUSED;
        break;
    case SYS_rt_sigprocmask:
        ret = emulate_sigprocmask(uc, a);
        flags = SA_EV_EMULATED;
        break;
    case SYS_sigaltstack:
        ret = emulate_sigaltstack(uc, a);
        flags = SA_EV_EMULATED;
        break;
    case SYS_rt_sigaction:
        if (a[0] == SIGSYS) {
            ret = emulate_sigaction_sigsys(a);
            flags = SA_EV_EMULATED;
        } else {
            ret = sa_syscall6(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
        }
        break;
    case SYS_clone:
        ret = sa_syscall6(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
        if (ret == 0)
            forget_ids();  /* we are the child */
        break;
    default:
        if (!t_quiet && !is_silenced(nr) && signals_self(nr, a)) {
            publish(si, uc, nr, a, 0, data, SA_EV_BEFORE);
            g[REG_RAX] = sa_syscall6(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
            errno = saved_errno;
            return;
        }
        ret = sa_syscall6(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
        break;
    }
    g[REG_RAX] = ret;

    struct sa_ring *r = atomic_load_explicit(&g_ring, memory_order_relaxed);
    if (t_quiet) {
        if (r)
            atomic_fetch_add_explicit(&r->counters.quiet, 1,
                                      memory_order_relaxed);
    } else if (is_silenced(nr)) {
        if (r)
            atomic_fetch_add_explicit(&r->counters.silenced, 1,
                                      memory_order_relaxed);
    } else {
        publish(si, uc, nr, a, ret, data, flags);
    }
    errno = saved_errno;
}

/* -------------------------------------------------------- installation */

static void atfork_child(void)
{
    forget_ids();
}

int sa_runtime_install(struct sa_ring *ring, int vdso_clock)
{
    static int installed;
    struct sigaction sa, old;

    g_vdso_clock = vdso_clock;
    atomic_store_explicit(&g_ring, ring, memory_order_release);
    if (installed)
        return 0;

    if (pthread_atfork(NULL, NULL, atfork_child) != 0)
        return -ENOMEM;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = ack_handler;
    sa.sa_flags = SA_SIGINFO | SA_NODEFER;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGSYS, &sa, &old) != 0)
        return -errno;
    g_app_action.handler = (uintptr_t)old.sa_handler;
    g_app_action.flags = (unsigned long)old.sa_flags;
    g_app_action.restorer = (uintptr_t)old.sa_restorer;
    memcpy(&g_app_action.mask, &old.sa_mask, sizeof g_app_action.mask);

    /* A trap while SIGSYS is blocked kills the process. */
    sigset_t sys;
    sigemptyset(&sys);
    sigaddset(&sys, SIGSYS);
    pthread_sigmask(SIG_UNBLOCK, &sys, NULL);
    installed = 1;
    return 0;
}

void sa_runtime_set_ring(struct sa_ring *ring)
{
    atomic_store_explicit(&g_ring, ring, memory_order_release);
}

void sa_register_cookie(unsigned cookie, unsigned data)
{
    atomic_store_explicit(&g_cookies[cookie & 0xffff],
                          SA_COOKIE_USED | (data & 0xffff),
                          memory_order_release);
}

void sa_set_silenced(unsigned nr, int on)
{
    if (nr >= 1024)
        return;
    uint64_t bit = 1ull << (nr % 64);
    if (on)
        atomic_fetch_or_explicit(&g_silenced[nr / 64], bit,
                                 memory_order_relaxed);
    else
        atomic_fetch_and_explicit(&g_silenced[nr / 64], ~bit,
                                  memory_order_relaxed);
}

void sa_set_quiet_thread(int on)
{
    t_quiet = on;
}

uintptr_t sa_trampoline_address(void)
{
    return (uintptr_t)sa_trampoline_ip;
}

/* Both go through the trampoline: under an ACK filter the installer's own
 * syscalls are then allowed without a report (they are never bypassing a
 * deny rule: the IP check sits inside ACK branches only). */
long sa_set_no_new_privs(void)
{
    return sa_syscall6(SYS_prctl, PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0, 0);
}

long sa_install_filter(const void *insns, unsigned count, unsigned flags)
{
    struct sock_fprog prog = {(unsigned short)count,
                              (struct sock_filter *)insns};
    return sa_syscall6(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags,
                       (long)&prog, 0, 0, 0);
}
