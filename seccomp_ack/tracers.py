"""Tracer backends: any program's syscalls, by ptrace or user notification.

The ACK runtime (:mod:`seccomp_ack.runtime`) reports syscalls from inside
the process it watches, so it needs a Python target.  The backends here
watch from outside, any executable, with the mechanisms the kernel has, and
deliver the same :class:`~seccomp_ack.runtime.Event`:

``"ptrace"``
    A filter returns SECCOMP_RET_TRACE for the reported syscalls (installed
    in the child between fork and exec); each one stops the tracee once
    with its arguments, and once more at syscall exit for the result and
    the post-syscall registers.  Counting only (``events=False``) skips the
    exit stop: one stop per syscall.
``"ptrace-syscall"``
    No filter: PTRACE_SYSCALL stops every syscall twice (entry and exit),
    reported or not.  The classic way, and the slowest.
``"notify"``
    A filter returns SECCOMP_RET_USER_NOTIF; this process receives each
    notification from the listener and answers
    SECCOMP_USER_NOTIF_FLAG_CONTINUE.  The supervisor sees the call before
    it runs and never its result: every event has ``pre`` set and
    ``ret=None``.

ptrace backends follow fork, vfork, clone and exec; a filter is inherited
across all of them, so the notify backend sees the whole tree too.

Design limits:

- The ptrace backends wait with ``waitpid(-1, __WALL)``, as a tracer must:
  an untraced child of this process that exits during :func:`trace` is
  reaped by it.  Trace from a process with no other children running.
- ``trace`` must be called from one thread from start to end (ptrace
  accepts requests from the tracing thread only); it holds no lock, so
  other Python threads keep running.
- A thread that dies inside a syscall (exit, exit_group, or killed by its
  process's exit_group) has no result: its event has ``noreturn`` set and
  ``ret=None``.
- Filters cover x86-64 only: an i386 (int 0x80) or x32 syscall kills the
  target, as the learned profile would.
- The notify backend needs pidfd_getfd (Linux 5.6); ptrace needs
  PTRACE_GET_SYSCALL_INFO (5.3).
"""

import errno as _errno
import os
import shutil
from typing import (Callable, Dict, List, NamedTuple, Optional,
                    Sequence, Union)

from . import tables
from .actions import ALLOW, TRACE, USER_NOTIF
from .errors import RuleError, raise_oserror
from .rules import Filter
from .runtime import Event, Learned

#: Backend names accepted by :func:`trace`.
BACKENDS = ("ptrace", "ptrace-syscall", "notify")

#: Event flags (the first two have the ACK runtime's values).
EV_REGS = 0x1
EV_NORETURN = 0x2
EV_PRE = 0x100


def _native():
    from . import _tracers
    return _tracers


class TracerEvent(Event):
    """An :class:`~seccomp_ack.runtime.Event` from a tracer backend.

    Same fields; ``ret`` is None when there is no result (``pre`` or
    ``noreturn``).  ``data`` is the SECCOMP_RET_DATA of the TRACE verdict
    (0 for the other backends).
    """

    __slots__ = ()

    @property
    def errno(self) -> Optional[int]:
        if self.ret is None:
            return None
        return -self.ret if -4095 <= self.ret < 0 else None

    @property
    def pre(self) -> bool:
        """True if seen before it ran (notify): arguments only, no ret."""
        return bool(self.flags & EV_PRE)

    @property
    def noreturn(self) -> bool:
        """True if the thread never came back from it (no ret)."""
        return bool(self.flags & EV_NORETURN)

    @property
    def refused(self) -> bool:
        """Always False: tracers run every syscall."""
        return False

    @property
    def before(self) -> bool:
        """Same as :attr:`pre`."""
        return self.pre


def _event(raw: tuple) -> TracerEvent:
    (seq, pid, tid, nr, arch, data, flags, args, ret, ip, time_ns,
     regs) = raw
    if flags & (EV_PRE | EV_NORETURN):
        ret = None
    return TracerEvent(seq, pid, tid, nr, arch, data, flags, args, ret, ip,
                       time_ns, regs)


class TraceResult(NamedTuple):
    """What :func:`trace` saw.

    ``events`` is the list of events, or None when they went to
    ``on_event`` or were only counted; ``counts`` maps syscall names (or
    ``syscall_<nr>``) to how often they were reported; ``status`` is the
    ``os.waitpid`` status of the started process; ``stats`` has ``stops``
    (ptrace stops or notifications) and ``processes`` seen.
    """

    events: Optional[List[Event]]
    counts: Dict[str, int]
    status: int
    stats: Dict[str, int]

    @property
    def exitcode(self) -> int:
        """The exit code, or -signal, as :mod:`subprocess` gives it."""
        return os.waitstatus_to_exitcode(self.status)


def tracer_filter(backend: str,
                  syscalls: Optional[Sequence[Union[str, int]]] = None,
                  data: int = 0) -> Optional[Filter]:
    """The filter the child installs for ``backend`` (None: no filter).

    It returns TRACE (ptrace) or USER_NOTIF (notify) for ``syscalls``, or
    for every syscall when ``syscalls`` is None, and ALLOW otherwise.  The
    notify filter also notifies execve and execveat, which tell the
    supervisor when the target begins (unreported unless asked for).
    """
    if backend == "ptrace-syscall":
        return None
    if backend == "ptrace":
        action = TRACE(data)
    elif backend == "notify":
        action = USER_NOTIF
    else:
        raise ValueError(f"unknown backend {backend!r}; known: {BACKENDS}")
    if syscalls is None:
        return Filter(default=action)
    numbers = tables.syscall_numbers(syscalls)
    if not numbers:
        raise RuleError("syscalls is empty: give None to report them all")
    if backend == "notify":
        # The supervisor learns from execve that the target started: the
        # syscalls before it are the launcher's (tracers.c).  Reported only
        # if asked for.
        numbers += [tables.syscall_number("execve"),
                    tables.syscall_number("execveat")]
    return Filter(default=ALLOW).add(action, *sorted(set(numbers)))


def _resolve(argv: Sequence[str]) -> str:
    if not argv:
        raise ValueError("trace() needs a command line, got an empty argv")
    path = argv[0]
    if os.sep not in path:
        found = shutil.which(path)
        if found is None:
            raise_oserror(_errno.ENOENT, "execve", f"{path} is not on PATH")
        path = found
    return path


def trace(argv: Sequence[str], *, backend: str = "ptrace",
          syscalls: Optional[Sequence[Union[str, int]]] = None,
          on_event: Optional[Callable[[Event], None]] = None,
          events: bool = True, regs: bool = False,
          env: Optional[Dict[str, str]] = None,
          batch: int = 4096) -> TraceResult:
    """Run ``argv`` (any executable) under ``backend``; return what it did.

    ``syscalls`` (names or numbers) limits what is reported; None reports
    everything.  Events go to ``on_event(event)`` in order, in batches of
    up to ``batch`` (the traced tree waits while a batch is handled), or
    are returned in the result.  ``events=False`` only counts, in C, with
    no per-syscall Python work (the ptrace backend then stops once per
    syscall instead of twice).  ``regs`` (ptrace backends) adds the
    post-syscall registers.  ``env`` replaces the environment.

    If ``on_event`` raises, or a signal handler does (Ctrl-C), the traced
    tree is killed and the exception propagates.
    """
    native = _native()
    kinds = {"ptrace": native.PTRACE_SECCOMP,
             "ptrace-syscall": native.PTRACE_SYSCALL,
             "notify": native.NOTIFY}
    if backend not in kinds:
        raise ValueError(f"unknown backend {backend!r}; known: {BACKENDS}")
    if regs and backend == "notify":
        raise ValueError("the notify backend sees no registers (it runs "
                         "before the syscall)")
    argv = [os.fsdecode(a) for a in argv]
    path = _resolve(argv)
    flt = tracer_filter(backend, syscalls)
    program = bytes(flt.compile()) if flt is not None else None
    report = None
    if backend != "ptrace" and syscalls is not None:
        report = tables.syscall_numbers(syscalls)
    environ = os.environ if env is None else env
    tracer = native.Tracer(kinds[backend], events=events, regs=regs,
                           report=report, batch=batch)
    tracer.spawn(os.fsencode(path), [os.fsencode(a) for a in argv],
                 [os.fsencode(f"{k}={v}") for k, v in environ.items()],
                 program)
    kept: Optional[List[Event]] = [] if events and on_event is None \
        else None
    try:
        while not tracer.done:
            batch_events = [_event(raw) for raw in tracer.run()]
            if on_event is not None:
                for event in batch_events:
                    on_event(event)
            elif kept is not None:
                kept.extend(batch_events)
    finally:
        if not tracer.done:
            tracer.kill()
    if tracer.exec_errno:
        raise_oserror(tracer.exec_errno, "execve", path)
    counts: Dict[str, int] = {}
    for nr, n in tracer.counts().items():
        counts[_name(nr)] = n
    return TraceResult(kept, counts, tracer.status, tracer.stats())


def _name(nr: int) -> str:
    if nr < 0:
        return "syscall_other"
    try:
        return tables.syscall_name(nr)
    except ValueError:
        return f"syscall_{nr}"


def learn(argv: Sequence[str], *, backend: str = "ptrace"):
    """Learn the syscalls of ``argv`` (any executable) with ``backend``.

    Returns a :class:`seccomp_ack.supervise.LearnResult` (learned, status,
    stats), like the ACK learner; ``stats`` has no dropped or lost events
    (tracers never drop), plus ``stops`` and ``processes``.
    """
    from .supervise import LearnResult
    learned = Learned()
    result = trace(argv, backend=backend, on_event=learned.add)
    stats = dict(result.stats, reported=sum(result.counts.values()),
                 dropped=0, lost=0)
    return LearnResult(learned, result.status, stats)


__all__ = ["BACKENDS", "EV_NORETURN", "EV_PRE", "EV_REGS", "TraceResult",
           "TracerEvent", "learn", "trace", "tracer_filter"]
