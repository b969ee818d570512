/*
 * The ACK handler core, shared by the in-process runtime (runtime.c, built
 * against libc) and the exec launcher (launcher.c, freestanding).
 *
 * Everything here is async-signal-safe by construction: no libc calls, no
 * allocation except mmap through the trampoline, no locks.  Kernel structures
 * are declared here with their kernel layout, so the same code runs in both
 * builds.  The includer provides, before including this file:
 *
 *   static struct sa_ring *core_ring(void);     the ring, or NULL
 *   static int32_t core_pid(void);              getpid() of the caller
 *   static int32_t core_tid(void);              gettid() of the caller
 *   static void core_forget_ids(void);          called in a fork child
 *   static uint64_t core_now_ns(void);          CLOCK_MONOTONIC
 *   static int core_quiet(void);                1 on the consumer thread
 *   static struct k_sigaction *core_app_action(void);
 *   static const char *core_launcher(void);     NULL: refuse exec
 *   static const char *core_ring_path(void);
 *   static void core_vfork(int on);             around a shared-memory clone
 */
#ifndef SECCOMP_ACK_CORE_H
#define SECCOMP_ACK_CORE_H

#include "runtime.h"

#include <linux/audit.h>
#include <linux/futex.h>
#include <stdint.h>

/* Syscall numbers and constants used here (x86-64 ABI). */
#define NR_read 0
#define NR_write 1
#define NR_close 3
#define NR_mmap 9
#define NR_munmap 11
#define NR_rt_sigaction 13
#define NR_rt_sigprocmask 14
#define NR_getpid 39
#define NR_clone 56
#define NR_vfork 58
#define NR_execve 59
#define NR_exit 60
#define NR_kill 62
#define NR_sigaltstack 131
#define NR_gettid 186
#define NR_tkill 200
#define NR_futex 202
#define NR_clock_gettime 228
#define NR_exit_group 231
#define NR_tgkill 234
#define NR_openat 257
#define NR_faccessat 269
#define NR_rt_tgsigqueueinfo 297
#define NR_rt_sigqueueinfo 129
#define NR_process_vm_readv 310
#define NR_process_vm_writev 311
#define NR_execveat 322
#define NR_clone3 435

#define K_SIGSYS 31
#define K_SIG_BLOCK 0
#define K_SIG_SETMASK 2
#define K_SA_SIGINFO 4
#define K_SIG_DFL 0
#define K_SIG_IGN 1
#define K_SYS_SECCOMP 1
#define K_EFAULT 14
#define K_EINVAL 22
#define K_E2BIG 7
#define K_ENOEXEC 8
#define K_EACCES 13
#define K_ENOTSUP 95
#define K_AT_FDCWD (-100)
#define K_AT_EMPTY_PATH 0x1000
#define K_O_RDONLY 0
#define K_O_CLOEXEC 02000000
#define K_X_OK 1
#define K_PROT_READ 1
#define K_PROT_WRITE 2
#define K_MAP_PRIVATE 0x02
#define K_MAP_ANONYMOUS 0x20
#define K_PATH_MAX 4096
#define K_CLONE_VM 0x100
#define K_CLONE_VFORK 0x4000
#define K_SIGCHLD 17
#define K_MAP_STACK 0x20000
#define K_MAP_NORESERVE 0x4000

/* The layout rt_sigaction(2) reads and writes on x86-64. */
struct k_sigaction {
    uintptr_t handler;
    unsigned long flags;
    uintptr_t restorer;
    uint64_t mask;
};

/* siginfo_t as the kernel fills it for SIGSYS (SYS_SECCOMP). */
struct k_siginfo {
    int32_t si_signo;
    int32_t si_errno;     /* SECCOMP_RET_DATA: our cookie */
    int32_t si_code;
    int32_t pad;
    uintptr_t call_addr;  /* address after the app's syscall instruction */
    int32_t syscall;
    uint32_t arch;
};

struct k_stack {
    uintptr_t ss_sp;
    int32_t ss_flags;
    int32_t pad;
    uint64_t ss_size;
};

/* ucontext as the kernel builds it on x86-64 (glibc's ucontext_t has the
 * same prefix).  gregs are in sigcontext order. */
enum {
    G_R8, G_R9, G_R10, G_R11, G_R12, G_R13, G_R14, G_R15, G_RDI, G_RSI,
    G_RBP, G_RBX, G_RDX, G_RAX, G_RCX, G_RSP, G_RIP, G_EFL, G_CSGSFS,
    G_ERR, G_TRAPNO, G_OLDMASK, G_CR2
};

struct k_ucontext {
    unsigned long uc_flags;
    struct k_ucontext *uc_link;
    struct k_stack uc_stack;
    uint64_t gregs[SA_NREGS];
    uintptr_t fpregs;
    uint64_t reserved[8];
    uint64_t uc_sigmask;
};

static inline long core_syscall(long nr, long a0, long a1, long a2, long a3,
                                long a4, long a5)
{
    return sa_syscall6(nr, a0, a1, a2, a3, a4, a5);
}

/* ------------------------------------------------------------ the ring */

static inline struct sa_slot *core_slot(struct sa_ring *r, uint64_t ticket)
{
    return (struct sa_slot *)((char *)r->slots +
                              (size_t)(ticket & (r->capacity - 1)) *
                                  r->slot_size);
}

static void core_publish(const struct k_siginfo *si,
                         const struct k_ucontext *uc, long nr,
                         const long a[6], long ret, unsigned data,
                         unsigned flags)
{
    struct sa_ring *r = core_ring();
    if (r == NULL)
        return;

    /* Claim a ticket.  The acquire load of slot->seq pairs with the
     * consumer's release store when it freed the slot: we may only write
     * the slot once its previous event has been copied out. */
    uint64_t pos = atomic_load_explicit(&r->head, memory_order_relaxed);
    struct sa_slot *slot;
    for (;;) {
        slot = core_slot(r, pos);
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
    ev->pid = core_pid();
    ev->tid = core_tid();
    ev->nr = (int32_t)nr;
    ev->arch = si->arch;
    ev->data = data;
    ev->flags = flags;
    for (int i = 0; i < 6; i++)
        ev->args[i] = (uint64_t)a[i];
    ev->ret = ret;
    ev->ip = (uint64_t)si->call_addr;
    ev->time_ns = core_now_ns();
    if (r->want_regs) {
        for (int i = 0; i < SA_NREGS; i++)
            ev->regs[i] = uc->gregs[i];
        ev->flags |= SA_EV_REGS;
    }

    /* Release: the consumer that sees seq == pos + 1 sees the event. */
    atomic_store_explicit(&slot->seq, pos + 1, memory_order_release);
    atomic_fetch_add_explicit(&r->counters.reported, 1, memory_order_relaxed);

    /* Wake a sleeping consumer only when the ring is half full, or when the
     * process is about to exit or exec: a consumer also wakes by itself
     * every few milliseconds, so a quiet period costs no futex syscall per
     * event.  The seq_cst fence orders our publish before the read of
     * `waiters`, pairing with the fence in sa_ring_wait. */
    atomic_thread_fence(memory_order_seq_cst);
    if (atomic_load_explicit(&r->waiters, memory_order_relaxed) != 0) {
        uint64_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
        if (pos + 1 - tail >= r->capacity / 2 ||
            (flags & (SA_EV_NORETURN | SA_EV_BEFORE))) {
            atomic_fetch_add_explicit(&r->wake, 1, memory_order_relaxed);
            core_syscall(NR_futex, (long)&r->wake, FUTEX_WAKE, 0x7fffffff, 0,
                         0, 0);
            atomic_fetch_add_explicit(&r->counters.wakeups, 1,
                                      memory_order_relaxed);
        }
    }
}

static void core_count(_Atomic uint64_t *(*pick)(struct sa_ring *))
{
    struct sa_ring *r = core_ring();
    if (r)
        atomic_fetch_add_explicit(pick(r), 1, memory_order_relaxed);
}

static _Atomic uint64_t *pick_faults(struct sa_ring *r)
{
    return &r->counters.faults;
}
static _Atomic uint64_t *pick_foreign(struct sa_ring *r)
{
    return &r->counters.foreign;
}
static _Atomic uint64_t *pick_refused(struct sa_ring *r)
{
    return &r->counters.refused;
}
static _Atomic uint64_t *pick_silenced(struct sa_ring *r)
{
    return &r->counters.silenced;
}
static _Atomic uint64_t *pick_quiet(struct sa_ring *r)
{
    return &r->counters.quiet;
}

/* ------------------------------------------------- safe memory access */

struct k_iovec {
    uintptr_t base;
    uint64_t len;
};

/* Copy between our memory and the application's pointers without faulting:
 * a bad pointer makes process_vm_{read,write}v fail with EFAULT where a
 * plain load would crash inside the handler. */
static long core_copy_in(void *dst, uintptr_t src, uint64_t n)
{
    struct k_iovec local = {(uintptr_t)dst, n}, remote = {src, n};
    long rc = core_syscall(NR_process_vm_readv, core_pid(), (long)&local, 1,
                           (long)&remote, 1, 0);
    return rc == (long)n ? 0 : -K_EFAULT;
}

static long core_copy_out(uintptr_t dst, const void *src, uint64_t n)
{
    struct k_iovec local = {(uintptr_t)src, n}, remote = {dst, n};
    long rc = core_syscall(NR_process_vm_writev, core_pid(), (long)&local, 1,
                           (long)&remote, 1, 0);
    return rc == (long)n ? 0 : -K_EFAULT;
}

/* Copy a NUL-terminated string of at most cap - 1 bytes; 0 or -errno. */
static long core_copy_string(char *dst, uintptr_t src, uint64_t cap)
{
    uint64_t done = 0;
    while (done < cap) {
        /* Read up to the end of the source page, so that a string ending
         * just before an unmapped page is still read. */
        uint64_t chunk = 4096 - ((src + done) & 4095);
        if (chunk > cap - done)
            chunk = cap - done;
        if (core_copy_in(dst + done, src + done, chunk) != 0)
            return -K_EFAULT;
        for (uint64_t i = 0; i < chunk; i++)
            if (dst[done + i] == '\0')
                return 0;
        done += chunk;
    }
    return -36; /* ENAMETOOLONG */
}

static inline uint64_t core_strlen(const char *s)
{
    uint64_t n = 0;
    while (s[n])
        n++;
    return n;
}

/* ---------------------------------------------- syscalls needing care */

#define SIGSYS_BIT (1ull << (K_SIGSYS - 1))

static long core_sigprocmask(struct k_ucontext *uc, const long a[6])
{
    long how = a[0];
    uintptr_t set = (uintptr_t)a[1];
    uint64_t mask;
    long rc;

    if (set != 0 && a[3] == 8 &&
        (how == K_SIG_BLOCK || how == K_SIG_SETMASK)) {
        if (core_copy_in(&mask, set, sizeof mask) != 0) {
            core_count(pick_faults);
            return -K_EFAULT;
        }
        mask &= ~SIGSYS_BIT;  /* a trap while SIGSYS is blocked kills */
        rc = core_syscall(NR_rt_sigprocmask, how, (long)&mask, a[2], 8, 0, 0);
    } else {
        rc = core_syscall(NR_rt_sigprocmask, how, set, a[2], a[3], 0, 0);
    }
    if (rc == 0 && set != 0) {
        /* rt_sigreturn restores uc_sigmask: make it the new mask. */
        uint64_t now = 0;
        core_syscall(NR_rt_sigprocmask, K_SIG_BLOCK, 0, (long)&now, 8, 0, 0);
        uc->uc_sigmask = now;
    }
    return rc;
}

static long core_sigaltstack(struct k_ucontext *uc, const long a[6])
{
    long rc = core_syscall(NR_sigaltstack, a[0], a[1], 0, 0, 0, 0);
    if (rc == 0 && a[0] != 0) {
        /* rt_sigreturn restores uc_stack: make it the new stack. */
        struct k_stack now;
        core_syscall(NR_sigaltstack, 0, (long)&now, 0, 0, 0, 0);
        uc->uc_stack = now;
    }
    return rc;
}

static long core_sigaction_sigsys(const long a[6])
{
    struct k_sigaction next, *app = core_app_action();
    if (a[3] != 8)
        return -K_EINVAL;
    if (a[1] != 0 && core_copy_in(&next, (uintptr_t)a[1], sizeof next)) {
        core_count(pick_faults);
        return -K_EFAULT;
    }
    if (a[2] != 0 && core_copy_out((uintptr_t)a[2], app, sizeof *app)) {
        core_count(pick_faults);
        return -K_EFAULT;
    }
    if (a[1] != 0)
        *app = next;
    return 0;
}

/* rt_sigaction for another signal: a handler whose sa_mask holds SIGSYS
 * would run with SIGSYS blocked, and a trap in it would kill.  Install it
 * with SIGSYS stripped from its mask (the application reads that back). */
static long core_sigaction_other(const long a[6])
{
    struct k_sigaction act;
    if (a[1] == 0 || a[3] != 8)
        return core_syscall(NR_rt_sigaction, a[0], a[1], a[2], a[3], 0, 0);
    if (core_copy_in(&act, (uintptr_t)a[1], sizeof act) != 0) {
        core_count(pick_faults);
        return -K_EFAULT;
    }
    act.mask &= ~SIGSYS_BIT;
    return core_syscall(NR_rt_sigaction, a[0], (long)&act, a[2], 8, 0, 0);
}

static long core_refuse_exec(const char *why, uint64_t len)
{
    core_syscall(NR_write, 2, (long)why, (long)len, 0, 0, 0);
    core_count(pick_refused);
    return -K_ENOTSUP;
}

#define REFUSE(msg) core_refuse_exec(msg, sizeof msg - 1)

static int core_is_space(char c)
{
    return c == ' ' || c == '\t';
}

/* Parse "#!interp [arg]" in buf[0..n); interp and arg point into buf,
 * which is modified.  Returns 0, or -ENOEXEC if there is no interpreter. */
static long core_parse_shebang(char *buf, long n, char **interp, char **arg)
{
    long i = 2, end;
    for (end = 2; end < n && buf[end] != '\n'; end++)
        ;
    buf[end < n ? end : n - 1] = '\0';
    if (end >= n && n == 256)
        buf[255] = '\0';
    while (core_is_space(buf[i]))
        i++;
    if (buf[i] == '\0')
        return -K_ENOEXEC;
    *interp = &buf[i];
    while (buf[i] && !core_is_space(buf[i]))
        i++;
    *arg = 0;
    if (buf[i]) {
        buf[i++] = '\0';
        while (core_is_space(buf[i]))
            i++;
        if (buf[i]) {
            *arg = &buf[i];
            /* The kernel passes the rest of the line as one argument,
             * trailing blanks removed. */
            long j = (long)core_strlen(*arg);
            while (j > 0 && core_is_space((*arg)[j - 1]))
                (*arg)[--j] = '\0';
        }
    }
    return 0;
}

/* Check what the kernel would check before the point of no return, so the
 * caller still gets ENOENT, EACCES or ENOEXEC from its own image.  A 32-bit
 * ELF cannot run under the launcher (its syscalls would use another ABI):
 * ENOTSUP, said on stderr.  depth guards against interpreter loops. */
static long core_exec_precheck(const char *path, int depth)
{
    char head[256];
    long fd = core_syscall(NR_openat, K_AT_FDCWD, (long)path,
                           K_O_RDONLY | K_O_CLOEXEC, 0, 0, 0);
    if (fd < 0)
        return fd;
    long n = core_syscall(NR_read, fd, (long)head, sizeof head, 0, 0, 0);
    core_syscall(NR_close, fd, 0, 0, 0, 0, 0);
    if (n < 0)
        return n;
    long rc = core_syscall(NR_faccessat, K_AT_FDCWD, (long)path, K_X_OK, 0,
                           0, 0);
    if (rc < 0)
        return rc;
    if (n >= 20 && head[0] == 0x7f && head[1] == 'E' && head[2] == 'L' &&
        head[3] == 'F') {
        if (head[4] != 2 || head[18] != 62 || head[19] != 0)
            return REFUSE("seccomp_ack: only x86-64 ELF programs can run "
                          "under ACK; failing exec with ENOTSUP\n");
        return 0;
    }
    if (n >= 2 && head[0] == '#' && head[1] == '!') {
        char *interp, *arg;
        if (depth >= 4 || core_parse_shebang(head, n, &interp, &arg) < 0)
            return -K_ENOEXEC;
        return core_exec_precheck(interp, depth + 1);
    }
    return -K_ENOEXEC;
}

/* exec under ACK: the filter survives exec, this handler does not.  Exec
 * the launcher instead, which installs a handler and then loads the
 * program itself (launcher.c).  Returns only on failure. */
static long core_exec(const struct k_siginfo *si, const struct k_ucontext *uc,
                      long nr, const long a[6], unsigned data, int report)
{
    const char *launcher = core_launcher();
    const char *ring_path = core_ring_path();
    uintptr_t path_p, argv_p, envp_p;
    char path[K_PATH_MAX];

    if (nr == NR_execveat) {
        if ((a[4] & K_AT_EMPTY_PATH) ||
            (a[0] != K_AT_FDCWD && a[0] != (long)(uint32_t)K_AT_FDCWD))
            return REFUSE("seccomp_ack: execveat with a directory fd under "
                          "ACK is not supported; failing it with ENOTSUP\n");
        path_p = (uintptr_t)a[1], argv_p = (uintptr_t)a[2];
        envp_p = (uintptr_t)a[3];
    } else {
        path_p = (uintptr_t)a[0], argv_p = (uintptr_t)a[1];
        envp_p = (uintptr_t)a[2];
    }
    if (launcher == NULL || ring_path == NULL)
        return REFUSE("seccomp_ack: exec under ACK needs the launcher, "
                      "which is not available; failing it with ENOTSUP\n");
    long rc = core_copy_string(path, path_p, sizeof path);
    if (rc < 0)
        return rc;
    rc = core_exec_precheck(path, 0);
    if (rc < 0)
        return rc;

    /* Count argv, then build [launcher, ring, path, argv...] in an
     * anonymous mapping (argv may be long; the handler's stack is the
     * application's). */
    uint64_t argc = 0;
    for (;;) {
        uintptr_t p;
        if (core_copy_in(&p, argv_p + argc * 8, 8) != 0)
            return -K_EFAULT;
        if (p == 0)
            break;
        if (++argc > (1u << 20))
            return -K_E2BIG;
    }
    uint64_t bytes = (argc + 4) * 8;
    long map = core_syscall(NR_mmap, 0, (long)bytes, K_PROT_READ | K_PROT_WRITE,
                            K_MAP_PRIVATE | K_MAP_ANONYMOUS, -1, 0);
    if (map < 0 && map > -4096)
        return map;
    uintptr_t *argv = (uintptr_t *)map;
    argv[0] = (uintptr_t)launcher;
    argv[1] = (uintptr_t)ring_path;
    argv[2] = (uintptr_t)path;
    if (argc > 0 && core_copy_in(&argv[3], argv_p, argc * 8) != 0) {
        core_syscall(NR_munmap, map, (long)bytes, 0, 0, 0, 0);
        return -K_EFAULT;
    }
    argv[3 + argc] = 0;

    /* Past this point the exec normally succeeds and never returns, so the
     * event goes out first. */
    if (report)
        core_publish(si, uc, nr, a, 0, data, SA_EV_BEFORE);
    rc = core_syscall(NR_execve, (long)launcher, map, (long)envp_p, 0, 0, 0);
    core_syscall(NR_munmap, map, (long)bytes, 0, 0, 0, 0);
    return rc;
}

/* ------------------------------------------------- clone, clone3, vfork */

/*
 * A child made by a re-issued clone starts right after the trampoline's
 * `syscall`, at its `ret`, with the stack pointer the clone gave it.  When
 * that stack is new (threads, posix_spawn), we put a child frame at its
 * top, so that the `ret` enters sa_clone_child (trampoline.S), which pops
 * the application's registers and returns to the application's call site:
 *
 *     top - 112: &sa_clone_child      <- the child's first rsp
 *                r15 r14 r13 r12 rbp rbx r9 r8 r10 rdx rsi rdi
 *     top -   8: call address         <- popped by the last ret
 *     top:                            <- the child's rsp, as asked for
 *
 * A child that shares the caller's stack (vfork, clone with CLONE_VM and
 * no stack) would return through this handler on the very stack the
 * suspended parent's handler frame lives on, and clobber it.  So it gets
 * a copy of the top of the caller's stack instead (CHILD_COPY bytes above
 * the stack pointer) with the same child frame below it: its frames are
 * the caller's frames, copied, and its writes through the stack pointer
 * land in the copy (documented limit).  Writes through pointers reach the
 * shared memory, as vfork promises.  The parent frees the copy once a
 * CLONE_VFORK child has exec'd or exited.
 *
 * A fork-like clone (no CLONE_VM, no new stack) needs none of this: the
 * child returns through this handler on its own copy of the stack.
 */
#define CHILD_FRAME_WORDS 14
#define CHILD_COPY (64 * 1024)
#define CHILD_ROOM (256 * 1024)

extern void sa_clone_child(void) __attribute__((visibility("hidden")));

/* Under AddressSanitizer, a vfork child that execs leaves the redzones of
 * its handler frames poisoned in the copy's (shared) shadow memory, and our
 * munmap bypasses ASan: clear them, or the next mapping at that address
 * reports a false stack-buffer overflow (tests/test_sanitizers.py). */
#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
static void core_unpoison(long map, uint64_t len)
{
    __asan_unpoison_memory_region((void *)map, len);
}
#else
static void core_unpoison(long map, uint64_t len)
{
    (void)map, (void)len;
}
#endif

static void core_child_frame(uint64_t *frame, const struct k_siginfo *si,
                             const uint64_t *g)
{
    static const int order[12] = {G_R15, G_R14, G_R13, G_R12, G_RBP, G_RBX,
                                  G_R9,  G_R8,  G_R10, G_RDX, G_RSI, G_RDI};
    frame[0] = (uint64_t)(uintptr_t)sa_clone_child;
    for (int i = 0; i < 12; i++)
        frame[1 + i] = g[order[i]];
    frame[13] = (uint64_t)si->call_addr;
}

/* struct clone_args offsets (linux/sched.h). */
#define CA_FLAGS 0
#define CA_STACK 5
#define CA_STACK_SIZE 6

static long core_clone(const struct k_siginfo *si, const struct k_ucontext *uc,
                       long nr, const long a[6])
{
    const uint64_t *g = uc->gregs;
    uint64_t ca[32];  /* a copy of clone3's clone_args, up to 256 bytes */
    uint64_t flags, top = 0;
    uint64_t frame[CHILD_FRAME_WORDS];

    if (nr == NR_clone3) {
        uint64_t size = (uint64_t)a[1];
        if (size < 64 || size > sizeof ca)
            return core_syscall(nr, a[0], a[1], 0, 0, 0, 0);  /* kernel says */
        if (core_copy_in(ca, (uintptr_t)a[0], size) != 0)
            return -K_EFAULT;
        flags = ca[CA_FLAGS];
        if (ca[CA_STACK] != 0)
            top = ca[CA_STACK] + ca[CA_STACK_SIZE];
    } else if (nr == NR_vfork) {
        flags = K_CLONE_VM | K_CLONE_VFORK | K_SIGCHLD;
    } else {
        flags = (uint64_t)a[0];
        top = (uint64_t)a[1];
    }

    if (top == 0 && !(flags & K_CLONE_VM)) {
        /* Fork-like: the child returns through this handler. */
        long ret = core_syscall(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
        if (ret == 0)
            core_forget_ids();
        return ret;
    }

    core_child_frame(frame, si, g);
    long map = 0;
    uint64_t map_len = 0, child_sp;
    if (top != 0) {
        /* A new stack: the frame goes at its top (x86 stores need no
         * alignment, so the child ends at exactly the top it asked for). */
        child_sp = top - sizeof frame;
        if (core_copy_out(child_sp, frame, sizeof frame) != 0)
            return -K_EFAULT;
    } else {
        /* The caller's stack, shared: the child runs on a copy. */
        map_len = CHILD_ROOM + CHILD_COPY;
        map = core_syscall(NR_mmap, 0, (long)map_len,
                           K_PROT_READ | K_PROT_WRITE,
                           K_MAP_PRIVATE | K_MAP_ANONYMOUS | K_MAP_STACK |
                               K_MAP_NORESERVE,
                           -1, 0);
        if (map < 0 && map > -4096)
            return map;
        uint64_t rsp = g[G_RSP];
        char *copy = (char *)map + CHILD_ROOM;
        /* Up to the end of the stack mapping: a partial read stops there. */
        struct k_iovec local = {(uintptr_t)copy, CHILD_COPY};
        struct k_iovec remote = {rsp, CHILD_COPY};
        core_syscall(NR_process_vm_readv, core_pid(), (long)&local, 1,
                     (long)&remote, 1, 0);
        child_sp = (uint64_t)(uintptr_t)copy - sizeof frame;
        for (int i = 0; i < CHILD_FRAME_WORDS; i++)
            ((uint64_t *)(uintptr_t)child_sp)[i] = frame[i];
        top = (uint64_t)(uintptr_t)copy;
    }

    long ret;
    core_vfork(1);
    if (nr == NR_clone3) {
        if (map) {
            ca[CA_STACK] = (uint64_t)map;
            ca[CA_STACK_SIZE] = child_sp - (uint64_t)map;
        } else {
            ca[CA_STACK_SIZE] = child_sp - ca[CA_STACK];
        }
        ret = core_syscall(NR_clone3, (long)ca, a[1], 0, 0, 0, 0);
    } else if (nr == NR_vfork) {
        ret = core_syscall(NR_clone, (long)flags, (long)child_sp, 0, 0, 0, 0);
    } else {
        ret = core_syscall(NR_clone, a[0], (long)child_sp, a[2], a[3], a[4],
                           a[5]);
    }
    /* Only the parent gets here: the child left through its frame. */
    core_vfork(0);
    if (map && ((flags & K_CLONE_VFORK) || ret < 0)) {
        core_unpoison(map, map_len);
        core_syscall(NR_munmap, map, (long)map_len, 0, 0, 0, 0);
    }
    return ret;
}

/* --------------------------------------------------------- the handler */

/* A SIGSYS that is not an ACK trap: give it to the application's handler,
 * or do what the kernel would have done without us. */
static void core_pass_on(int sig, struct k_siginfo *si, void *ctx)
{
    core_count(pick_foreign);
    struct k_sigaction act = *core_app_action();
    if (act.handler == K_SIG_IGN && si->si_code != K_SYS_SECCOMP)
        return;
    if (act.handler == K_SIG_DFL || act.handler == K_SIG_IGN) {
        /* Default action of SIGSYS (a forced seccomp SIGSYS ignores
         * SIG_IGN): restore it and re-raise; SIGSYS is not blocked in this
         * handler (SA_NODEFER), so it is delivered at once and kills. */
        struct k_sigaction dfl = {0, 0, 0, 0};
        core_syscall(NR_rt_sigaction, K_SIGSYS, (long)&dfl, 0, 8, 0, 0);
        core_syscall(NR_tgkill, core_pid(), core_tid(), K_SIGSYS, 0, 0, 0);
        return;
    }
    if (act.flags & K_SA_SIGINFO)
        ((void (*)(int, void *, void *))act.handler)(sig, si, ctx);
    else
        ((void (*)(int))act.handler)(sig);
}

static void core_mark(_Atomic uint64_t *bitmap, long nr)
{
    if (nr < 0 || nr >= SA_MAX_NR)
        return;
    uint64_t bit = 1ull << (nr % 64);
    /* Read first: the common case (already set) stays a read. */
    if (!(atomic_load_explicit(&bitmap[nr / 64], memory_order_relaxed) &
          bit))
        atomic_fetch_or_explicit(&bitmap[nr / 64], bit, memory_order_relaxed);
}

static int core_is_silenced(struct sa_ring *r, long nr)
{
    if (r == NULL || nr < 0 || nr >= SA_MAX_NR)
        return 0;
    uint64_t word = atomic_load_explicit(&r->silenced[nr / 64],
                                         memory_order_relaxed);
    return (word >> (nr % 64)) & 1;
}

/* True if the syscall sends a signal that may reach the calling thread. */
static int core_signals_self(long nr, const long a[6])
{
    switch (nr) {
    case NR_kill:
        return a[0] == 0 || a[0] < -1 || a[0] == core_pid();
    case NR_tgkill:
    case NR_rt_tgsigqueueinfo:
    case NR_rt_sigqueueinfo:
        return a[0] == core_pid();
    case NR_tkill:
        return a[0] == core_tid();
    default:
        return 0;
    }
}

/* Returns the cookie's table entry (SA_COOKIE_* | data), or 0 if the
 * SIGSYS is not an ACK trap. */
static uint32_t core_cookie(const struct k_siginfo *si)
{
    struct sa_ring *r = core_ring();
    if (si->si_code != K_SYS_SECCOMP || si->arch != AUDIT_ARCH_X86_64 ||
        r == NULL)
        return 0;
    uint32_t entry = atomic_load_explicit(
        &r->cookies[(unsigned)si->si_errno & 0xffff], memory_order_relaxed);
    return (entry & SA_COOKIE_USED) ? entry : 0;
}

static void core_handle(int sig, struct k_siginfo *si, struct k_ucontext *uc)
{
    uint32_t cookie = core_cookie(si);
    if (cookie == 0) {
        core_pass_on(sig, si, uc);
        return;
    }

    uint64_t *g = uc->gregs;
    long nr = (long)g[G_RAX];
    const long a[6] = {(long)g[G_RDI], (long)g[G_RSI], (long)g[G_RDX],
                       (long)g[G_R10], (long)g[G_R8],  (long)g[G_R9]};
    unsigned data = cookie & 0xffff;
    struct sa_ring *r = core_ring();
    int silent = (cookie & SA_COOKIE_SILENT) != 0;
    int report = !silent && !core_quiet() && !core_is_silenced(r, nr);
    if (r)
        core_mark(r->seen, nr);
    unsigned flags = 0;
    long ret;

    switch (nr) {
    case NR_exit:
    case NR_exit_group:
        /* Never returns: publish first (even on a quiet thread, since
         * nothing else would tell of the exit). */
        core_publish(si, uc, nr, a, 0, data, SA_EV_NORETURN);
        ret = core_syscall(nr, a[0], 0, 0, 0, 0, 0);
        /* Still here: a newer filter layer denied it.  Report that too. */
        flags = SA_EV_NORETURN;
        break;
    case NR_execve:
    case NR_execveat:
        ret = core_exec(si, uc, nr, a, data, report);
        flags = ret == -K_ENOTSUP ? SA_EV_REFUSED : 0;
        break;
    case NR_rt_sigprocmask:
        ret = core_sigprocmask(uc, a);
        flags = SA_EV_EMULATED;
        break;
    case NR_sigaltstack:
        ret = core_sigaltstack(uc, a);
        flags = SA_EV_EMULATED;
        break;
    case NR_rt_sigaction:
        if (a[0] == K_SIGSYS) {
            ret = core_sigaction_sigsys(a);
        } else {
            ret = core_sigaction_other(a);
        }
        flags = SA_EV_EMULATED;
        break;
    case NR_clone:
    case NR_clone3:
    case NR_vfork:
        ret = core_clone(si, uc, nr, a);
        break;
    default:
        if (report && core_signals_self(nr, a)) {
            /* It may kill us before it returns: publish first. */
            core_publish(si, uc, nr, a, 0, data, SA_EV_BEFORE);
            g[G_RAX] = (uint64_t)core_syscall(nr, a[0], a[1], a[2], a[3],
                                              a[4], a[5]);
            return;
        }
        ret = core_syscall(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
        break;
    }
    g[G_RAX] = (uint64_t)ret;

    if (report) {
        core_publish(si, uc, nr, a, ret, data, flags);
    } else if (silent) {
        /* A guard: emulated for safety, not asked to be reported. */
    } else if (core_quiet()) {
        core_count(pick_quiet);
        if (r)
            core_mark(r->quiet_seen, nr);
    } else {
        core_count(pick_silenced);
    }
}

#endif
