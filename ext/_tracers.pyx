# cython: language_level=3
"""Native half of the tracer backends, and the benchmark workload loops.

Thin bindings over tracers.c.  The Python API is seccomp_ack.tracers.  A
Tracer must be driven from the thread that spawned its target: ptrace
requests are accepted only from the tracing thread.
"""

from cpython.exc cimport PyErr_CheckSignals
from libc.stdint cimport int32_t, int64_t, uint32_t, uint64_t
from libc.stdlib cimport free, malloc
from libc.string cimport memset

from seccomp_ack.errors import raise_oserror

from sa_event cimport (SA_EV_NORETURN, SA_EV_REGS, SA_NREGS, event_tuple,
                       sa_event)


cdef extern from "tracers.h" nogil:
    enum:
        ST_MAX_NR
        ST_EV_PRE
        ST_PTRACE_SECCOMP
        ST_PTRACE_SYSCALL
        ST_NOTIFY

    struct st_tracer:
        int backend
        int want_events
        int want_exit
        int want_regs
        int report_all
        int leader
        int leader_status
        int leader_done
        int done
        int exec_errno
        sa_event *out
        size_t out_cap
        size_t out_n
        uint64_t counts[1024]
        uint64_t counts_other
        uint64_t stops
        uint64_t processes

    int st_init(st_tracer *t, int backend)
    void st_free(st_tracer *t)
    void st_report(st_tracer *t, unsigned nr)
    int st_spawn(st_tracer *t, const char *path, char *const *argv,
                 char *const *envp, const void *prog, unsigned prog_len)
    int st_run(st_tracer *t)
    void st_kill(st_tracer *t)
    int64_t st_syscall_loop(long nr, uint64_t n)
    int64_t st_pipe_loop(uint64_t n)
    int64_t st_signal_loop(uint64_t n)
    int64_t st_thread_job(unsigned rounds, unsigned threads, unsigned calls)
    int64_t st_notify_thread_loop(const void *prog, unsigned prog_len,
                                  long nr, uint64_t n)


EV_REGS = SA_EV_REGS
EV_NORETURN = SA_EV_NORETURN
EV_PRE = ST_EV_PRE
PTRACE_SECCOMP = ST_PTRACE_SECCOMP
PTRACE_SYSCALL = ST_PTRACE_SYSCALL
NOTIFY = ST_NOTIFY
MAX_NR = ST_MAX_NR

cdef int EINTR = 4


cdef char **_cstrings(list items) except NULL:
    cdef char **out = <char **>malloc((len(items) + 1) * sizeof(char *))
    if out == NULL:
        raise MemoryError()
    for i, item in enumerate(items):
        out[i] = <char *>item
    out[len(items)] = NULL
    return out


cdef class Tracer:
    """One traced process tree: spawn it, then call run() until done.

    backend is PTRACE_SECCOMP, PTRACE_SYSCALL or NOTIFY.  With events, run()
    returns batches of raw events; without, only counts() fill.  exit_stop
    (PTRACE_SECCOMP with events) stops again at syscall exit for the
    result; regs copies the registers there.  report lists the syscall
    numbers PTRACE_SYSCALL and NOTIFY report (None: all); PTRACE_SECCOMP
    reports what its filter selects.
    """

    cdef st_tracer t
    cdef sa_event *buf
    cdef bint spawned

    def __cinit__(self, int backend, bint events=True, bint exit_stop=True,
                  bint regs=False, report=None, size_t batch=4096):
        cdef int rc = st_init(&self.t, backend)
        if rc < 0:
            raise_oserror(-rc, "tracer init", f"backend {backend}")
        if batch == 0:
            raise ValueError("batch must be at least 1")
        self.buf = <sa_event *>malloc(batch * sizeof(sa_event))
        if self.buf == NULL:
            raise MemoryError()
        self.t.out = self.buf
        self.t.out_cap = batch
        self.t.want_events = events
        self.t.want_exit = exit_stop and events
        self.t.want_regs = regs
        if report is None:
            self.t.report_all = 1
        else:
            for nr in report:
                st_report(&self.t, nr)

    def __dealloc__(self):
        if self.spawned and not self.t.done:
            with nogil:
                st_kill(&self.t)
        st_free(&self.t)
        if self.buf != NULL:
            free(self.buf)

    def spawn(self, bytes path, list argv, list env, program=None):
        """fork; in the child install ``program`` (bytes) and execve."""
        if self.spawned:
            raise RuntimeError("this Tracer already started a process")
        cdef const unsigned char[:] view
        cdef const void *prog = NULL
        cdef unsigned n = 0
        if program is not None:
            if len(program) % 8 or not 0 < len(program) // 8 <= 4096:
                raise ValueError(f"program of {len(program)} bytes is not "
                                 "1..4096 instructions")
            view = program
            prog = &view[0]
            n = len(program) // 8
        cdef char **c_argv = _cstrings(argv)
        cdef char **c_env = NULL
        try:
            c_env = _cstrings(env)
            rc = st_spawn(&self.t, path, c_argv, c_env, prog, n)
        finally:
            free(c_argv)
            if c_env != NULL:
                free(c_env)
        self.spawned = True
        if rc < 0:
            raise_oserror(-rc, "spawn", path.decode(errors="replace"))

    def run(self):
        """Trace until a batch of events is ready or every tracee is gone.

        Returns the batch: tuples (seq, pid, tid, nr, arch, data, flags,
        args, ret, ip, time_ns, regs), regs None without EV_REGS.
        """
        cdef int rc
        while True:
            with nogil:
                rc = st_run(&self.t)
            if rc == -EINTR:
                PyErr_CheckSignals()
                continue
            if rc < 0:
                raise_oserror(-rc, "trace", f"pid {self.t.leader}")
            break
        out = []
        cdef sa_event *e
        for i in range(self.t.out_n):
            e = &self.buf[i]
            out.append(event_tuple(e))
        self.t.out_n = 0
        return out

    def kill(self):
        """SIGKILL what is left of the traced tree and reap it."""
        if self.spawned:
            with nogil:
                st_kill(&self.t)

    @property
    def done(self):
        return bool(self.t.done)

    @property
    def pid(self):
        return self.t.leader

    @property
    def status(self):
        """The waitpid status of the spawned process, None until reaped."""
        return self.t.leader_status if self.t.leader_done else None

    @property
    def exec_errno(self):
        """The errno of the child's failed execve, or 0."""
        return self.t.exec_errno

    def counts(self):
        """{syscall number: times reported}; numbers >= MAX_NR under -1."""
        out = {nr: self.t.counts[nr] for nr in range(ST_MAX_NR)
               if self.t.counts[nr]}
        if self.t.counts_other:
            out[-1] = self.t.counts_other
        return out

    def stats(self):
        """stops (ptrace stops or notifications) and processes seen."""
        return {"stops": self.t.stops, "processes": self.t.processes}


def syscall_loop(long nr, uint64_t n):
    """Make syscall ``nr`` (all arguments 0) ``n`` times; return ns."""
    cdef int64_t ns
    with nogil:
        ns = st_syscall_loop(nr, n)
    return ns


def pipe_loop(uint64_t n):
    """Write then read one byte on a pipe ``n`` times (2n syscalls); ns."""
    cdef int64_t ns
    with nogil:
        ns = st_pipe_loop(n)
    if ns < 0:
        raise_oserror(-ns, "pipe_loop")
    return ns


def signal_loop(uint64_t n):
    """tgkill this thread ``n`` times with SIGUSR2, whose handler (empty,
    SA_SIGINFO) is installed for the loop only; return ns."""
    cdef int64_t ns
    with nogil:
        ns = st_signal_loop(n)
    if ns < 0:
        raise_oserror(-ns, "signal_loop")
    return ns


def thread_job(unsigned rounds, unsigned threads, unsigned calls):
    """``rounds`` times: start ``threads`` threads (1..64) that each call
    getppid ``calls`` times, and join them; return ns."""
    cdef int64_t ns
    with nogil:
        ns = st_thread_job(rounds, threads, calls)
    if ns < 0:
        raise_oserror(-ns, "thread_job")
    return ns


def notify_thread_loop(bytes program, long nr, uint64_t n):
    """Install ``program`` on this thread only, with a listener served by a
    supervisor thread of this process, then make syscall ``nr`` ``n`` times;
    return ns.  The filter stays: call it in a child process."""
    if len(program) % 8 or not 0 < len(program) // 8 <= 4096:
        raise ValueError(f"program of {len(program)} bytes is not "
                         "1..4096 instructions")
    cdef const unsigned char[:] view = program
    cdef unsigned count = len(program) // 8
    cdef int64_t ns
    with nogil:
        ns = st_notify_thread_loop(&view[0], count, nr, n)
    if ns < 0:
        raise_oserror(-ns, "notify_thread_loop")
    return ns
