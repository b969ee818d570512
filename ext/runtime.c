/*
 * The ACK runtime: a SIGSYS handler that turns SECCOMP_RET_TRAP into the
 * never-merged SECCOMP_RET_ACK, plus the consumer side of the event ring and
 * the installer.
 *
 * A filter compiled with ACK(d) returns TRAP|cookie for the syscall, unless
 * the syscall comes from the trampoline, which it allows.  The kernel skips
 * the syscall and delivers SIGSYS.  The handler (ack_core.h, shared with the
 * exec launcher) then:
 *   1. checks that the SIGSYS is a seccomp trap whose cookie is ours, else
 *      passes it to the handler the application installed (or dies as the
 *      kernel would have);
 *   2. re-issues the syscall through the trampoline with the registers of
 *      the trapped call (rax = nr, rdi rsi rdx r10 r8 r9 = args);
 *   3. writes the result into the ucontext's rax, so that when the handler
 *      returns (rt_sigreturn) the application sees a completed syscall;
 *   4. publishes an event into the shared ring.
 *
 * Handler rules.  No malloc, no locks, no stdio, no Python.  errno is saved
 * first and restored last.  Every syscall the runtime makes goes through the
 * trampoline, so the handler never traps itself.  Failures become counters.
 * The handler is installed with SA_SIGINFO | SA_NODEFER and an empty mask: a
 * syscall made by a nested signal handler (Python's wakeup-fd write, say)
 * traps again and is handled on top of us, and the signal mask inside the
 * handler is exactly the application's mask at the trap.
 *
 * The trampoline page sits at a fixed address (SA_TRAMPOLINE_PAGE), mapped
 * here at import and by the launcher's ELF headers in exec'd images, so the
 * filter's instruction-pointer check holds across exec.
 *
 * The ring is a bounded multi-producer, single-consumer queue with a
 * sequence number per slot, in a MAP_SHARED mapping (of a file, so that the
 * launcher can map it again after exec).  A producer that finds the ring
 * full drops the event and counts it; it never blocks.
 */
#define _GNU_SOURCE
#include "runtime.h"

#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif

/* Process-wide state.  Forked children inherit a copy, which is what they
 * need: the same filter, the same cookies, the same (shared) ring. */
static _Atomic(struct sa_ring *) g_ring;
static _Atomic uint32_t g_cookies[65536];  /* copied into every new ring */
static int g_vdso_clock;
static _Atomic int32_t g_pid;              /* cached getpid(), 0 = stale */
static char g_launcher[4096];
static char g_ring_path[4096];

/* Per-thread: cached TID (0 = unknown) and the quiet flag of the consumer
 * thread.  initial-exec, so reading them never calls __tls_get_addr (which
 * may allocate) from the handler. */
static __thread int32_t t_tid __attribute__((tls_model("initial-exec")));
static __thread int t_quiet __attribute__((tls_model("initial-exec")));
/* Set while this thread re-issues a clone whose child shares its memory
 * and thread pointer (vfork): the child must not use or fill the caches. */
static __thread int t_vfork __attribute__((tls_model("initial-exec")));

/* ------------------------------------------- hooks for the shared core */

struct k_sigaction;
static struct k_sigaction *core_app_action(void);

static struct sa_ring *core_ring(void)
{
    return atomic_load_explicit(&g_ring, memory_order_acquire);
}

static int32_t core_pid(void)
{
    if (t_vfork)
        return (int32_t)sa_syscall6(SYS_getpid, 0, 0, 0, 0, 0, 0);
    int32_t pid = atomic_load_explicit(&g_pid, memory_order_relaxed);
    if (pid == 0) {
        pid = (int32_t)sa_syscall6(SYS_getpid, 0, 0, 0, 0, 0, 0);
        atomic_store_explicit(&g_pid, pid, memory_order_relaxed);
    }
    return pid;
}

static int32_t core_tid(void)
{
    if (t_vfork)
        return (int32_t)sa_syscall6(SYS_gettid, 0, 0, 0, 0, 0, 0);
    if (t_tid == 0)
        t_tid = (int32_t)sa_syscall6(SYS_gettid, 0, 0, 0, 0, 0, 0);
    return t_tid;
}

/* A new process: forget the parent's ids. */
static void core_forget_ids(void)
{
    atomic_store_explicit(&g_pid, 0, memory_order_relaxed);
    t_tid = 0;
}

static uint64_t core_now_ns(void)
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

static int core_quiet(void)
{
    return t_quiet;
}

static void core_vfork(int on)
{
    t_vfork = on;
}

static const char *core_launcher(void)
{
    return g_launcher[0] ? g_launcher : NULL;
}

static const char *core_ring_path(void)
{
    return g_ring_path[0] ? g_ring_path : NULL;
}

#include "ack_core.h"

static struct k_sigaction g_app_action;  /* the app's SIGSYS action */

static struct k_sigaction *core_app_action(void)
{
    return &g_app_action;
}

static void ack_handler(int sig, siginfo_t *si, void *ctx)
{
    int saved_errno = errno;
    core_handle(sig, (struct k_siginfo *)si, (struct k_ucontext *)ctx);
    errno = saved_errno;
}

/* ------------------------------------------------------------ the ring */

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
        atomic_init(&core_slot(r, i)->seq, i);
}

int sa_ring_valid(const struct sa_ring *r, size_t bytes)
{
    return bytes >= sizeof *r && r->magic == SA_RING_MAGIC &&
           r->slot_size == sizeof(struct sa_slot) && r->capacity >= 2 &&
           (r->capacity & (r->capacity - 1)) == 0 &&
           sa_ring_bytes(r->capacity) <= bytes;
}

size_t sa_ring_drain(struct sa_ring *r, struct sa_event *out, size_t max)
{
    uint64_t pos = atomic_load_explicit(&r->tail, memory_order_relaxed);
    size_t n = 0;
    while (n < max) {
        struct sa_slot *slot = core_slot(r, pos);
        /* Acquire pairs with the producer's release in core_publish(). */
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
    struct sa_slot *slot = core_slot(r, pos);
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
    /* Pairs with the fence in core_publish(): either the producer sees our
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

/* -------------------------------------------------------- installation */

static const unsigned char k_tramp_code[3] = {0x0f, 0x05, 0xc3};

int sa_trampoline_map(void)
{
    void *want = (void *)(uintptr_t)SA_TRAMPOLINE_PAGE;
    void *p = mmap(want, 4096, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    if (p == MAP_FAILED) {
        if (errno != EEXIST)
            return -errno;
        /* Already there: ours if it holds the trampoline (this image was
         * started by the launcher, or the module was loaded twice).  Read
         * it with process_vm_readv, which fails instead of faulting. */
        unsigned char code[3];
        struct iovec local = {code, 3}, remote = {want, 3};
        if (syscall(SYS_process_vm_readv, getpid(), &local, 1, &remote, 1,
                    0) != 3 || memcmp(code, k_tramp_code, 3) != 0)
            return -EEXIST;
        return 0;
    }
    if (p != want) {  /* a kernel without MAP_FIXED_NOREPLACE */
        munmap(p, 4096);
        return -EEXIST;
    }
    memcpy(p, k_tramp_code, sizeof k_tramp_code);
    if (mprotect(p, 4096, PROT_READ | PROT_EXEC) != 0)
        return -errno;
    return 0;
}

static void atfork_child(void)
{
    core_forget_ids();
}

static void copy_cookies(struct sa_ring *ring)
{
    for (unsigned i = 0; i < 65536; i++) {
        uint32_t c = atomic_load_explicit(&g_cookies[i], memory_order_relaxed);
        if (c)
            atomic_store_explicit(&ring->cookies[i], c, memory_order_relaxed);
    }
}

static void set_path(char *dst, const char *src)
{
    size_t n = src ? strlen(src) : 0;
    if (n >= 4096)
        n = 0;  /* Python checked the length; refuse exec rather than cut */
    memcpy(dst, src ? src : "", n);
    dst[n] = '\0';
}

int sa_runtime_install(struct sa_ring *ring, int vdso_clock,
                       const char *launcher, const char *ring_path)
{
    static int installed;
    struct sigaction sa, old;

    g_vdso_clock = vdso_clock;
    copy_cookies(ring);
    set_path(g_launcher, launcher);
    set_path(g_ring_path, ring_path);
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

void sa_register_cookie(unsigned cookie, unsigned data, int silent)
{
    uint32_t entry = SA_COOKIE_USED | (silent ? SA_COOKIE_SILENT : 0) |
                     (data & 0xffff);
    atomic_store_explicit(&g_cookies[cookie & 0xffff], entry,
                          memory_order_release);
    struct sa_ring *r = core_ring();
    if (r)
        atomic_store_explicit(&r->cookies[cookie & 0xffff], entry,
                              memory_order_release);
}

int sa_set_silenced(unsigned nr, int on)
{
    struct sa_ring *r = core_ring();
    if (r == NULL || nr >= SA_MAX_NR)
        return -EINVAL;
    uint64_t bit = 1ull << (nr % 64);
    if (on)
        atomic_fetch_or_explicit(&r->silenced[nr / 64], bit,
                                 memory_order_relaxed);
    else
        atomic_fetch_and_explicit(&r->silenced[nr / 64], ~bit,
                                  memory_order_relaxed);
    return 0;
}

void sa_set_quiet_thread(int on)
{
    t_quiet = on;
}

uintptr_t sa_trampoline_address(void)
{
    return (uintptr_t)SA_TRAMPOLINE_IP;
}

/* Not through the trampoline: installing a filter is the application's
 * act, so under ACK these calls trap and are reported like any other (a
 * learned profile must allow them), and a filter denying them denies
 * them.  A `syscall` instruction of our own rather than libc's syscall():
 * callers can tell our installs from their libc calls by address.
 * Returns 0, -errno, or (TSYNC) the TID that could not be synced. */
static long raw_syscall3(long nr, long a0, long a1, long a2)
{
    /* prctl checks that the arguments it does not use are zero. */
    register long a3 __asm__("r10") = 0;
    register long a4 __asm__("r8") = 0;
    long ret;
    __asm__ volatile("syscall"
                     : "=a"(ret)
                     : "a"(nr), "D"(a0), "S"(a1), "d"(a2), "r"(a3), "r"(a4)
                     : "rcx", "r11", "memory");
    return ret;
}

long sa_set_no_new_privs(void)
{
    return raw_syscall3(SYS_prctl, PR_SET_NO_NEW_PRIVS, 1, 0);
}

long sa_install_filter(const void *insns, unsigned count, unsigned flags)
{
    struct sock_fprog prog = {(unsigned short)count,
                              (struct sock_filter *)insns};
    return raw_syscall3(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags,
                        (long)&prog);
}
