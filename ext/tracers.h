/*
 * seccomp_ack tracer backends: ptrace (SECCOMP_RET_TRACE or PTRACE_SYSCALL)
 * and seccomp user notification, plus the C workload loops the benchmarks
 * time inside the traced process.
 *
 * See tracers.c for the design essay.  Plain C11; _tracers.pyx is the only
 * user.
 */
#ifndef SECCOMP_ACK_TRACERS_H
#define SECCOMP_ACK_TRACERS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "runtime.h"             /* struct sa_event, SA_EV_*: one layout */

#define ST_MAX_NR 1024           /* syscall numbers counted one by one */

/* Event flags: runtime.h's SA_EV_REGS and SA_EV_NORETURN (here: the thread
 * died inside the syscall, so there is no ret), and one of our own. */
#define ST_EV_PRE 0x100          /* seen before it ran (notify): args only,
                                    no ret */

/* Backends. */
#define ST_PTRACE_SECCOMP 1      /* SECCOMP_RET_TRACE stop, then exit stop */
#define ST_PTRACE_SYSCALL 2      /* PTRACE_SYSCALL: entry and exit stops */
#define ST_NOTIFY 3              /* SECCOMP_RET_USER_NOTIF + CONTINUE */

struct st_tracee;

struct st_tracer {
    int backend;                 /* ST_PTRACE_SECCOMP, ... */
    int want_events;             /* fill out[]; else only count */
    int want_exit;               /* ptrace seccomp: stop again at exit */
    int want_regs;               /* copy the registers at the exit stop */
    uint64_t report[ST_MAX_NR / 64];  /* PTRACE_SYSCALL: syscalls to report */
    int report_all;

    pid_t leader;                /* the process we started */
    int leader_status;           /* its waitpid status, once reaped */
    int leader_done;
    int done;                    /* no tracee left */
    int exec_errno;              /* the child's execve failed with this */
    int err_pipe;                /* read end: the child's execve errno */
    int listener;                /* notify: the listener fd */
    int exec_seen;               /* notify: the leader reached execve */

    struct st_tracee *tracees;   /* live tracees (ptrace) */
    size_t ntracees, cap_tracees;
    struct { pid_t tid, tgid; } tgid_cache[64];   /* notify */
    unsigned tgid_next;

    struct sa_event *out;        /* the caller's buffer */
    size_t out_cap, out_n;
    uint64_t seq;

    uint64_t counts[ST_MAX_NR];  /* per syscall number */
    uint64_t counts_other;       /* numbers >= ST_MAX_NR */
    uint64_t stops;              /* ptrace stops or notifications handled */
    uint64_t processes;          /* tracees ever seen */
};

/* Returns 0 or -errno. */
int st_init(struct st_tracer *t, int backend);
void st_free(struct st_tracer *t);
void st_report(struct st_tracer *t, unsigned nr);

/* fork, install `prog` (may be NULL for PTRACE_SYSCALL) in the child and
 * execve(path, argv, envp).  Returns 0 or -errno. */
int st_spawn(struct st_tracer *t, const char *path, char *const argv[],
             char *const envp[], const void *prog, unsigned prog_len);

/* Run until `t->out` is full or every tracee is gone (t->done).  Returns 0,
 * or -EINTR when a signal for the caller arrived, or another -errno. */
int st_run(struct st_tracer *t);

/* Kill what is left of the traced tree (after an error). */
void st_kill(struct st_tracer *t);

/* Workload loops, timed with CLOCK_MONOTONIC; return nanoseconds. */
int64_t st_syscall_loop(long nr, uint64_t n);
int64_t st_pipe_loop(uint64_t n);
int64_t st_signal_loop(uint64_t n);
int64_t st_thread_job(unsigned rounds, unsigned threads, unsigned calls);
/* In this thread only: install `prog` (USER_NOTIF for `nr`) with a new
 * listener served by a supervisor thread, then loop.  Irreversible: call in
 * a child process.  Returns ns, or -errno. */
int64_t st_notify_thread_loop(const void *prog, unsigned prog_len, long nr,
                              uint64_t n);

#endif
