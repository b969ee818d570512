/*
 * Tracer backends: the ways to see another program's syscalls that exist in
 * the kernel, next to the ACK emulation (runtime.c) that seccomp_ack adds.
 *
 * ptrace, SECCOMP_RET_TRACE (ST_PTRACE_SECCOMP).  The child asks to be
 * traced (PTRACE_TRACEME), stops itself, and once the tracer has set its
 * options installs a filter returning TRACE for the reported syscalls and
 * execs the target.  Each TRACE verdict is a PTRACE_EVENT_SECCOMP stop with
 * the arguments; to learn the result we resume with PTRACE_SYSCALL, which
 * stops once more at syscall exit (on 4.8+ the seccomp stop comes after the
 * entry stop, so the next syscall stop is the exit).  Without the result
 * (counting only) we resume with PTRACE_CONT: one stop per syscall.
 * The options follow fork, vfork, clone and exec; EXITKILL kills the traced
 * tree if the tracer dies, so nothing runs on untraced.
 *
 * ptrace, PTRACE_SYSCALL (ST_PTRACE_SYSCALL).  No filter: every syscall of
 * every tracee stops twice (entry and exit); unreported ones are resumed
 * at once.
 *
 * Both read the stop with PTRACE_GET_SYSCALL_INFO (5.3+), one call that
 * says which stop this is and gives the number, arguments, arch and IP or
 * the return value, instead of guessing entry from exit by counting.
 *
 * Per tracee we keep only what must survive between its stops: whether its
 * next SIGSTOP is the one auto-attach sends (suppress it), and the event
 * waiting for its exit stop.  A thread that exits inside a syscall (exit,
 * exit_group, or killed by a sibling's exit_group) never stops at exit;
 * its event is published with SA_EV_NORETURN when we reap it.
 *
 * Limit: we wait with waitpid(-1, __WALL), as any ptrace tracer must to
 * see its tracees' stops, so a child of the calling process that is not
 * traced and exits meanwhile is reaped here.  Trace from a process (or
 * thread) that has no other children running.
 *
 * user notification (ST_NOTIFY).  The child installs a filter returning
 * USER_NOTIF for the reported syscalls with SECCOMP_FILTER_FLAG_NEW_LISTENER
 * and execs the target.  The listener fd is born in the child; we take a
 * copy with pidfd_getfd (5.6+).  The child publishes the fd number in a
 * shared page with a plain store, because any syscall it makes after the
 * filter is installed may itself wait for a supervisor that has no fd yet;
 * it then waits until we confirm we hold a copy, since the fd is close-on-
 * exec and the filter would lose its listener at exec (its notifications
 * then fail with ENOSYS).  Those waiting syscalls are ours, not the
 * target's: nothing is reported before the leader's execve, which the
 * filter therefore always notifies.  The supervisor answers every
 * notification with SECCOMP_USER_NOTIF_FLAG_CONTINUE: the kernel runs the
 * syscall as if allowed.  It sees arguments only, never the result, so events carry
 * ST_EV_PRE.  The listener reports POLLHUP when no task uses the filter;
 * a zombie still does, so we reap the leader when its pidfd says it exited.
 */
#define _GNU_SOURCE
#include "tracers.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/futex.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct st_tracee {
    pid_t tid;
    pid_t tgid;
    int fresh;                   /* auto-attached: its first SIGSTOP is ours */
    int pending;                 /* ev waits for this thread's exit stop */
    struct sa_event ev;
};

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The thread group of `tid`, from /proc (0 if it is gone).  Called once per
 * new thread, or per notification in events mode (cached), never per stop. */
static pid_t proc_tgid(pid_t tid)
{
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/%d/status", (int)tid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return 0;
    buf[n] = '\0';
    char *p = strstr(buf, "\nTgid:");
    return p ? (pid_t)strtol(p + 6, NULL, 10) : 0;
}

int st_init(struct st_tracer *t, int backend)
{
    memset(t, 0, sizeof *t);
    if (backend != ST_PTRACE_SECCOMP && backend != ST_PTRACE_SYSCALL &&
        backend != ST_NOTIFY)
        return -EINVAL;
    t->backend = backend;
    t->err_pipe = -1;
    t->listener = -1;
    t->cap_tracees = 16;
    t->tracees = calloc(t->cap_tracees, sizeof *t->tracees);
    return t->tracees ? 0 : -ENOMEM;
}

void st_free(struct st_tracer *t)
{
    free(t->tracees);
    t->tracees = NULL;
    if (t->err_pipe >= 0)
        close(t->err_pipe);
    if (t->listener >= 0)
        close(t->listener);
    t->err_pipe = t->listener = -1;
}

void st_report(struct st_tracer *t, unsigned nr)
{
    if (nr < ST_MAX_NR)
        t->report[nr / 64] |= 1ull << (nr % 64);
}

static int reported(const struct st_tracer *t, uint64_t nr)
{
    if (t->report_all)
        return 1;
    return nr < ST_MAX_NR && (t->report[nr / 64] >> (nr % 64)) & 1;
}

static void count(struct st_tracer *t, uint64_t nr)
{
    if (nr < ST_MAX_NR)
        t->counts[nr]++;
    else
        t->counts_other++;
}

static void emit(struct st_tracer *t, const struct sa_event *ev)
{
    /* st_run stops before the buffer is full; one event per stop at most. */
    struct sa_event *out = &t->out[t->out_n++];
    *out = *ev;
    out->seq = t->seq++;
}

/* -- the tracee table: small and scanned linearly, because live threads
 * are few and a scan costs nothing next to a ptrace stop. ---------------- */

static struct st_tracee *find(struct st_tracer *t, pid_t tid)
{
    for (size_t i = 0; i < t->ntracees; i++)
        if (t->tracees[i].tid == tid)
            return &t->tracees[i];
    return NULL;
}

static struct st_tracee *add(struct st_tracer *t, pid_t tid, pid_t tgid)
{
    if (t->ntracees == t->cap_tracees) {
        size_t cap = t->cap_tracees * 2;
        struct st_tracee *p = realloc(t->tracees, cap * sizeof *p);
        if (!p)
            return NULL;
        t->tracees = p;
        t->cap_tracees = cap;
    }
    struct st_tracee *e = &t->tracees[t->ntracees++];
    memset(e, 0, sizeof *e);
    e->tid = tid;
    e->tgid = tgid ? tgid : tid;
    if (e->tgid == tid)
        t->processes++;
    return e;
}

static void drop(struct st_tracer *t, struct st_tracee *e)
{
    *e = t->tracees[--t->ntracees];
}

/* -- spawning --------------------------------------------------------- */

static void child_fail(int fd, int err)
{
    /* Only async-signal-safe calls between fork and exec. */
    ssize_t rc = write(fd, &err, sizeof err);
    (void)rc;
    _exit(127);
}

static long install(const void *prog, unsigned len, unsigned flags)
{
    struct sock_fprog fprog = {
        .len = (unsigned short)len,
        .filter = (struct sock_filter *)prog,
    };
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
        return -errno;
    long rc = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &fprog);
    return rc < 0 ? -errno : rc;
}

static int read_child_errno(struct st_tracer *t)
{
    int err = 0;
    if (t->err_pipe >= 0 && read(t->err_pipe, &err, sizeof err) == sizeof err)
        t->exec_errno = err;
    return t->exec_errno;
}

static int spawn_ptrace(struct st_tracer *t, const char *path,
                        char *const argv[], char *const envp[],
                        const void *prog, unsigned prog_len)
{
    int errp[2];
    if (pipe2(errp, O_CLOEXEC) != 0)
        return -errno;
    pid_t pid = fork();
    if (pid < 0) {
        int err = errno;
        close(errp[0]);
        close(errp[1]);
        return -err;
    }
    if (pid == 0) {
        if (ptrace(PTRACE_TRACEME, 0, 0, 0) != 0)
            child_fail(errp[1], errno);
        /* Wait here until the tracer has set its options: TRACESECCOMP
         * must be on before the first TRACE verdict, or it fails ENOSYS. */
        raise(SIGSTOP);
        if (prog) {
            long rc = install(prog, prog_len, 0);
            if (rc < 0)
                child_fail(errp[1], (int)-rc);
        }
        execve(path, argv, envp);
        child_fail(errp[1], errno);
    }
    close(errp[1]);
    t->err_pipe = errp[0];
    t->leader = pid;

    int status;
    while (waitpid(pid, &status, __WALL) < 0)
        if (errno != EINTR)
            return -errno;
    if (!WIFSTOPPED(status)) {
        t->leader_status = status;
        t->leader_done = t->done = 1;
        int err = read_child_errno(t);
        return err ? -err : -ECHILD;
    }
    long opts = PTRACE_O_TRACESYSGOOD | PTRACE_O_TRACEFORK |
                PTRACE_O_TRACEVFORK | PTRACE_O_TRACECLONE |
                PTRACE_O_TRACEEXEC | PTRACE_O_EXITKILL;
    if (t->backend == ST_PTRACE_SECCOMP)
        opts |= PTRACE_O_TRACESECCOMP;
    if (ptrace(PTRACE_SETOPTIONS, pid, 0, (void *)opts) != 0 ||
        !add(t, pid, pid)) {
        int err = errno ? errno : ENOMEM;
        kill(pid, SIGKILL);
        waitpid(pid, &status, __WALL);
        t->leader_status = status;
        t->leader_done = t->done = 1;
        return -err;
    }
    int req = t->backend == ST_PTRACE_SECCOMP ? PTRACE_CONT : PTRACE_SYSCALL;
    if (ptrace(req, pid, 0, 0) != 0)
        return -errno;
    return 0;
}

/* The shared page through which the notify child hands over its listener. */
struct handover {
    _Atomic uint32_t state;      /* futex word: HO_* */
    _Atomic int32_t value;       /* the listener fd, or an errno */
};
#define HO_WAITING 0
#define HO_READY 1               /* value = the child's listener fd */
#define HO_FAILED 2              /* value = errno */
#define HO_TAKEN 3               /* we hold a copy; the child may exec */

static long futex(_Atomic uint32_t *word, int op, uint32_t val,
                  const struct timespec *timeout)
{
    return syscall(SYS_futex, word, op, val, timeout, NULL, 0);
}

static int spawn_notify(struct st_tracer *t, const char *path,
                        char *const argv[], char *const envp[],
                        const void *prog, unsigned prog_len)
{
    int errp[2];
    if (!prog)
        return -EINVAL;
    struct handover *ho = mmap(NULL, sizeof *ho, PROT_READ | PROT_WRITE,
                               MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (ho == MAP_FAILED)
        return -errno;
    atomic_init(&ho->state, HO_WAITING);
    if (pipe2(errp, O_CLOEXEC) != 0) {
        int err = errno;
        munmap(ho, sizeof *ho);
        return -err;
    }
    pid_t pid = fork();
    if (pid < 0) {
        int err = errno;
        close(errp[0]);
        close(errp[1]);
        munmap(ho, sizeof *ho);
        return -err;
    }
    if (pid == 0) {
        long fd = install(prog, prog_len, SECCOMP_FILTER_FLAG_NEW_LISTENER);
        /* Relaxed is enough for value: the release store of state orders
         * it before the parent's acquire load. */
        atomic_store_explicit(&ho->value, (int32_t)(fd < 0 ? -fd : fd),
                              memory_order_relaxed);
        atomic_store_explicit(&ho->state, fd < 0 ? HO_FAILED : HO_READY,
                              memory_order_release);
        if (fd < 0)
            _exit(127);
        /* This wake may itself be a notification: the parent also polls
         * with a timeout, so it does not depend on it. */
        futex(&ho->state, FUTEX_WAKE, 1, NULL);
        while (atomic_load_explicit(&ho->state, memory_order_acquire) !=
               HO_TAKEN)
            futex(&ho->state, FUTEX_WAIT, HO_READY, NULL);
        execve(path, argv, envp);
        child_fail(errp[1], errno);
    }
    close(errp[1]);
    t->err_pipe = errp[0];
    t->leader = pid;

    int err = 0;
    struct timespec ms = {0, 1000000};
    uint32_t state;
    while ((state = atomic_load_explicit(&ho->state, memory_order_acquire))
           == HO_WAITING) {
        int status;
        if (waitpid(pid, &status, WNOHANG) == pid) {
            t->leader_status = status;
            t->leader_done = t->done = 1;
            err = ECHILD;
            break;
        }
        futex(&ho->state, FUTEX_WAIT, HO_WAITING, &ms);
    }
    if (!err && state == HO_FAILED)
        err = atomic_load_explicit(&ho->value, memory_order_relaxed);
    if (!err) {
        int child_fd = atomic_load_explicit(&ho->value, memory_order_relaxed);
        int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
        if (pidfd < 0) {
            err = errno;
        } else {
            t->listener = (int)syscall(SYS_pidfd_getfd, pidfd, child_fd, 0);
            if (t->listener < 0)
                err = errno;
            close(pidfd);
        }
    }
    if (err) {
        if (!t->leader_done) {
            int status;
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            t->leader_status = status;
            t->leader_done = t->done = 1;
        }
        munmap(ho, sizeof *ho);
        return -err;
    }
    atomic_store_explicit(&ho->state, HO_TAKEN, memory_order_release);
    futex(&ho->state, FUTEX_WAKE, 1, NULL);
    munmap(ho, sizeof *ho);
    t->processes = 1;
    return 0;
}

int st_spawn(struct st_tracer *t, const char *path, char *const argv[],
             char *const envp[], const void *prog, unsigned prog_len)
{
    if (t->backend == ST_NOTIFY)
        return spawn_notify(t, path, argv, envp, prog, prog_len);
    return spawn_ptrace(t, path, argv, envp, prog, prog_len);
}

/* -- the ptrace loop -------------------------------------------------- */

static int resume(struct st_tracer *t, struct st_tracee *e, int sig)
{
    int req = PTRACE_CONT;
    if (t->backend == ST_PTRACE_SYSCALL || e->pending)
        req = PTRACE_SYSCALL;
    /* ESRCH: killed meanwhile (a sibling's exit_group); we reap it later. */
    if (ptrace(req, e->tid, 0, (void *)(long)sig) != 0 && errno != ESRCH)
        return -errno;
    return 0;
}

/* user_regs_struct in the order of the ucontext gregs (REG_R8 ...). */
static void copy_regs(const struct user_regs_struct *r, uint64_t *g)
{
    uint64_t v[SA_NREGS] = {
        r->r8, r->r9, r->r10, r->r11, r->r12, r->r13, r->r14, r->r15,
        r->rdi, r->rsi, r->rbp, r->rbx, r->rdx, r->rax, r->rcx, r->rsp,
        r->rip, r->eflags,
        (r->cs & 0xffff) | (r->gs & 0xffff) << 16 | (r->fs & 0xffff) << 32 |
            (r->ss & 0xffff) << 48,
        0, 0, 0, 0,
    };
    memcpy(g, v, sizeof v);
}

static void start_event(struct st_tracer *t, struct st_tracee *e,
                        const struct __ptrace_syscall_info *info,
                        uint64_t nr, const uint64_t *args, uint32_t data)
{
    struct sa_event *ev = &e->ev;
    memset(ev, 0, offsetof(struct sa_event, regs));
    ev->pid = e->tgid;
    ev->tid = e->tid;
    ev->nr = (int32_t)nr;
    ev->arch = info->arch;
    ev->data = data;
    memcpy(ev->args, args, sizeof ev->args);
    ev->ip = info->instruction_pointer;
    e->pending = 1;
}

static int on_syscall_stop(struct st_tracer *t, struct st_tracee *e)
{
    struct __ptrace_syscall_info info;
    if (ptrace(PTRACE_GET_SYSCALL_INFO, e->tid, sizeof info, &info) < 0)
        return errno == ESRCH ? 0 : -errno;
    if (info.op == PTRACE_SYSCALL_INFO_ENTRY) {
        if (!reported(t, info.entry.nr))
            return resume(t, e, 0);
        count(t, info.entry.nr);
        if (t->want_events)
            start_event(t, e, &info, info.entry.nr, info.entry.args, 0);
    } else if (info.op == PTRACE_SYSCALL_INFO_EXIT && e->pending) {
        e->pending = 0;
        e->ev.ret = info.exit.rval;
        e->ev.time_ns = now_ns();
        if (t->want_regs) {
            struct user_regs_struct regs;
            if (ptrace(PTRACE_GETREGS, e->tid, 0, &regs) == 0) {
                copy_regs(&regs, e->ev.regs);
                e->ev.flags |= SA_EV_REGS;
            }
        }
        emit(t, &e->ev);
    }
    return resume(t, e, 0);
}

static int on_event_stop(struct st_tracer *t, struct st_tracee *e, int event)
{
    unsigned long msg = 0;
    if (event == PTRACE_EVENT_SECCOMP) {
        struct __ptrace_syscall_info info;
        if (ptrace(PTRACE_GET_SYSCALL_INFO, e->tid, sizeof info, &info) < 0)
            return errno == ESRCH ? 0 : -errno;
        count(t, info.seccomp.nr);
        if (t->want_events && t->want_exit)
            start_event(t, e, &info, info.seccomp.nr, info.seccomp.args,
                        info.seccomp.ret_data);
    } else if (event == PTRACE_EVENT_FORK || event == PTRACE_EVENT_VFORK ||
               event == PTRACE_EVENT_CLONE) {
        if (ptrace(PTRACE_GETEVENTMSG, e->tid, 0, &msg) == 0 &&
            !find(t, (pid_t)msg)) {
            /* A clone may be a thread or a process: ask /proc. */
            pid_t tgid = event == PTRACE_EVENT_CLONE ? proc_tgid((pid_t)msg)
                                                     : (pid_t)msg;
            struct st_tracee *child = add(t, (pid_t)msg, tgid);
            if (!child)
                return -ENOMEM;
            child->fresh = 1;
            e = find(t, e->tid);   /* add() may have moved the table */
        }
    } else if (event == PTRACE_EVENT_EXEC) {
        /* A non-leader thread that execs takes over the leader's TID; the
         * others are gone.  Keep its pending execve event. */
        if (ptrace(PTRACE_GETEVENTMSG, e->tid, 0, &msg) == 0 &&
            (pid_t)msg != e->tid) {
            struct st_tracee *former = find(t, (pid_t)msg);
            if (former) {
                e->pending = former->pending;
                e->ev = former->ev;
                e->ev.tid = e->tid;
                pid_t tid = e->tid;
                drop(t, former);
                e = find(t, tid);
            }
        }
    }
    return resume(t, e, 0);
}

static int on_stop(struct st_tracer *t, pid_t pid, int status)
{
    struct st_tracee *e = find(t, pid);
    if (!e) {
        /* A new tracee whose first stop beat its parent's fork event. */
        e = add(t, pid, proc_tgid(pid));
        if (!e)
            return -ENOMEM;
        e->fresh = 1;
    }
    t->stops++;
    int sig = WSTOPSIG(status), event = (unsigned)status >> 16;
    if (sig == (SIGTRAP | 0x80))
        return on_syscall_stop(t, e);
    if (sig == SIGTRAP && event)
        return on_event_stop(t, e, event);
    if (sig == SIGSTOP && e->fresh) {
        e->fresh = 0;
        return resume(t, e, 0);
    }
    /* A signal for the tracee: deliver it.  GETSIGINFO fails for a
     * group-stop, which (attached without SEIZE) we can only resume. */
    siginfo_t si;
    if (ptrace(PTRACE_GETSIGINFO, pid, 0, &si) != 0)
        sig = 0;
    return resume(t, e, sig);
}

static void on_gone(struct st_tracer *t, pid_t pid, int status)
{
    struct st_tracee *e = find(t, pid);
    if (e) {
        if (e->pending) {
            e->ev.flags |= SA_EV_NORETURN;
            e->ev.ret = 0;
            e->ev.time_ns = now_ns();
            emit(t, &e->ev);
        }
        drop(t, e);
    }
    if (pid == t->leader) {
        t->leader_status = status;
        t->leader_done = 1;
    }
    if (t->leader_done && t->ntracees == 0)
        t->done = 1;
}

static int run_ptrace(struct st_tracer *t)
{
    while (!t->done && (!t->want_events || t->out_n < t->out_cap)) {
        int status;
        /* With events in hand, return them rather than sleep: the caller
         * sees each event while the tracee runs on, not at the end. */
        pid_t pid = waitpid(-1, &status, __WALL | (t->out_n ? WNOHANG : 0));
        if (pid == 0)
            break;
        if (pid < 0) {
            if (errno == EINTR)
                return -EINTR;
            if (errno == ECHILD) {
                t->done = 1;
                break;
            }
            return -errno;
        }
        int rc = 0;
        if (WIFSTOPPED(status))
            rc = on_stop(t, pid, status);
        else if (WIFEXITED(status) || WIFSIGNALED(status))
            on_gone(t, pid, status);
        if (rc < 0)
            return rc;
    }
    if (t->done)
        read_child_errno(t);
    return 0;
}

/* -- the notify loop -------------------------------------------------- */

static pid_t cached_tgid(struct st_tracer *t, pid_t tid)
{
    for (unsigned i = 0; i < 64; i++)
        if (t->tgid_cache[i].tid == tid)
            return t->tgid_cache[i].tgid;
    pid_t tgid = proc_tgid(tid);
    unsigned i = t->tgid_next++ % 64;
    t->tgid_cache[i].tid = tid;
    t->tgid_cache[i].tgid = tgid ? tgid : tid;
    return t->tgid_cache[i].tgid;
}

static int reap_leader(struct st_tracer *t, int flags)
{
    int status;
    pid_t r;
    while ((r = waitpid(t->leader, &status, flags)) < 0 && errno == EINTR)
        ;
    if (r == t->leader) {
        t->leader_status = status;
        t->leader_done = 1;
    }
    return r;
}

static int run_notify(struct st_tracer *t)
{
    struct seccomp_notif req;
    struct seccomp_notif_resp resp;
    int pidfd = -1;

    if (!t->leader_done) {
        pidfd = (int)syscall(SYS_pidfd_open, t->leader, 0);
        if (pidfd < 0)
            return -errno;
    }
    int rc = 0;
    while (!t->done && (!t->want_events || t->out_n < t->out_cap)) {
        struct pollfd fds[2] = {
            {.fd = t->listener, .events = POLLIN},
            {.fd = pidfd, .events = POLLIN},
        };
        int ready = poll(fds, pidfd >= 0 ? 2 : 1, t->out_n ? 0 : -1);
        if (ready < 0) {
            rc = -errno;
            break;
        }
        if (ready == 0)   /* nothing waiting: hand over what we have */
            break;
        if (fds[1].revents) {
            /* The leader exited: reap it, or the zombie keeps the filter in
             * use and the listener never hangs up. */
            reap_leader(t, 0);
            close(pidfd);
            pidfd = -1;
        }
        if (!(fds[0].revents & POLLIN)) {
            if (fds[0].revents & (POLLHUP | POLLERR))
                t->done = 1;
            continue;
        }
        memset(&req, 0, sizeof req);
        if (ioctl(t->listener, SECCOMP_IOCTL_NOTIF_RECV, &req) != 0) {
            if (errno == EINTR) {
                rc = -EINTR;
                break;
            }
            if (errno == ENOENT)   /* the caller died before we read it */
                continue;
            rc = -errno;
            break;
        }
        /* The child's own syscalls between the filter and execve (the
         * handover wait) are ours, not the target's: let them run unseen. */
        if (!t->exec_seen) {
            if (req.pid == (uint32_t)t->leader &&
                (req.data.nr == SYS_execve || req.data.nr == SYS_execveat))
                t->exec_seen = 1;
        }
        /* The filter always notifies execve (see tracers.py); report only
         * what was asked for. */
        int report = t->exec_seen && reported(t, req.data.nr);
        if (report) {
            t->stops++;
            count(t, (uint64_t)req.data.nr);
        }
        if (report && t->want_events) {
            struct sa_event ev;
            memset(&ev, 0, offsetof(struct sa_event, regs));
            ev.tid = (int32_t)req.pid;
            ev.pid = cached_tgid(t, req.pid);
            ev.nr = req.data.nr;
            ev.arch = req.data.arch;
            ev.flags = ST_EV_PRE;
            memcpy(ev.args, req.data.args, sizeof ev.args);
            ev.ip = req.data.instruction_pointer;
            ev.time_ns = now_ns();
            emit(t, &ev);
        }
        memset(&resp, 0, sizeof resp);
        resp.id = req.id;
        resp.flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
        if (ioctl(t->listener, SECCOMP_IOCTL_NOTIF_SEND, &resp) != 0 &&
            errno != ENOENT) {
            rc = -errno;
            break;
        }
    }
    if (pidfd >= 0)
        close(pidfd);
    if (t->done) {
        if (!t->leader_done)
            reap_leader(t, 0);
        read_child_errno(t);
    }
    return rc;
}

int st_run(struct st_tracer *t)
{
    if (t->done)
        return 0;
    if (t->backend == ST_NOTIFY)
        return run_notify(t);
    return run_ptrace(t);
}

void st_kill(struct st_tracer *t)
{
    if (t->done)
        return;
    if (t->backend == ST_NOTIFY) {
        kill(t->leader, SIGKILL);
        reap_leader(t, 0);
        t->done = 1;
        return;
    }
    for (size_t i = 0; i < t->ntracees; i++)
        kill(t->tracees[i].tid, SIGKILL);
    /* Reap them all, so no zombie is left behind. */
    while (!t->done) {
        int status;
        pid_t pid = waitpid(-1, &status, __WALL);
        if (pid < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        if (WIFEXITED(status) || WIFSIGNALED(status))
            on_gone(t, pid, status);  /* nothing pending under notify */
    }
    t->done = 1;
}

/* -- workload loops for the benchmarks -------------------------------- */

int64_t st_syscall_loop(long nr, uint64_t n)
{
    uint64_t t0 = now_ns();
    for (uint64_t i = 0; i < n; i++)
        syscall(nr, 0, 0, 0, 0, 0, 0);
    return (int64_t)(now_ns() - t0);
}

int64_t st_pipe_loop(uint64_t n)
{
    int p[2];
    char c = 'x';
    if (pipe2(p, O_CLOEXEC) != 0)
        return -errno;
    uint64_t t0 = now_ns();
    for (uint64_t i = 0; i < n; i++) {
        if (write(p[1], &c, 1) != 1 || read(p[0], &c, 1) != 1) {
            int err = errno ? errno : EIO;
            close(p[0]);
            close(p[1]);
            return -err;
        }
    }
    int64_t ns = (int64_t)(now_ns() - t0);
    close(p[0]);
    close(p[1]);
    return ns;
}

static void empty_handler(int sig, siginfo_t *si, void *uc)
{
}

int64_t st_signal_loop(uint64_t n)
{
    struct sigaction sa, old;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = empty_handler;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGUSR2, &sa, &old) != 0)
        return -errno;
    pid_t pid = getpid(), tid = (pid_t)syscall(SYS_gettid);
    uint64_t t0 = now_ns();
    for (uint64_t i = 0; i < n; i++)
        syscall(SYS_tgkill, pid, tid, SIGUSR2);
    int64_t ns = (int64_t)(now_ns() - t0);
    sigaction(SIGUSR2, &old, NULL);
    return ns;
}

static void *getppid_worker(void *arg)
{
    unsigned calls = (unsigned)(uintptr_t)arg;
    for (unsigned i = 0; i < calls; i++)
        syscall(SYS_getppid);
    return NULL;
}

int64_t st_thread_job(unsigned rounds, unsigned threads, unsigned calls)
{
    pthread_t tids[64];
    if (threads == 0 || threads > 64)
        return -EINVAL;
    uint64_t t0 = now_ns();
    for (unsigned r = 0; r < rounds; r++) {
        unsigned started = 0;
        int err = 0;
        for (; started < threads; started++) {
            err = pthread_create(&tids[started], NULL, getppid_worker,
                                 (void *)(uintptr_t)calls);
            if (err)
                break;
        }
        for (unsigned i = 0; i < started; i++)
            pthread_join(tids[i], NULL);
        if (err)
            return -err;
    }
    return (int64_t)(now_ns() - t0);
}

/* The supervisor of st_notify_thread_loop: a thread of the same process,
 * created before the filter so that it does not inherit it. */
struct self_notify {
    int pipe_r;                  /* the listener fd arrives here */
    uint64_t magic;              /* args[0] of the last call: stop */
    int err;
};

static void *self_supervisor(void *arg)
{
    struct self_notify *s = arg;
    int fd;
    if (read(s->pipe_r, &fd, sizeof fd) != sizeof fd) {
        s->err = EIO;
        return NULL;
    }
    for (;;) {
        struct seccomp_notif req;
        struct seccomp_notif_resp resp;
        memset(&req, 0, sizeof req);
        if (ioctl(fd, SECCOMP_IOCTL_NOTIF_RECV, &req) != 0) {
            if (errno == EINTR || errno == ENOENT)
                continue;
            s->err = errno;
            break;
        }
        memset(&resp, 0, sizeof resp);
        resp.id = req.id;
        resp.flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
        if (ioctl(fd, SECCOMP_IOCTL_NOTIF_SEND, &resp) != 0 &&
            errno != ENOENT) {
            s->err = errno;
            break;
        }
        if (req.data.args[0] == s->magic)
            break;
    }
    close(fd);
    return NULL;
}

int64_t st_notify_thread_loop(const void *prog, unsigned prog_len, long nr,
                              uint64_t n)
{
    int p[2];
    pthread_t sup;
    struct self_notify s = {.magic = 0x5eccacc0ffeeull};
    if (pipe2(p, O_CLOEXEC) != 0)
        return -errno;
    s.pipe_r = p[0];
    int err = pthread_create(&sup, NULL, self_supervisor, &s);
    if (err) {
        close(p[0]);
        close(p[1]);
        return -err;
    }
    /* No TSYNC: the filter is this thread's alone, not the supervisor's. */
    long fd = install(prog, prog_len, SECCOMP_FILTER_FLAG_NEW_LISTENER);
    int ifd = fd < 0 ? -1 : (int)fd;
    if (write(p[1], &ifd, sizeof ifd) != sizeof ifd || fd < 0) {
        pthread_join(sup, NULL);
        close(p[0]);
        close(p[1]);
        return fd < 0 ? fd : -EIO;
    }
    uint64_t t0 = now_ns();
    for (uint64_t i = 0; i < n; i++)
        syscall(nr, 0, 0, 0, 0, 0, 0);
    int64_t ns = (int64_t)(now_ns() - t0);
    syscall(nr, s.magic, 0, 0, 0, 0, 0);
    pthread_join(sup, NULL);
    close((int)fd);
    close(p[0]);
    close(p[1]);
    return s.err ? -s.err : ns;
}
