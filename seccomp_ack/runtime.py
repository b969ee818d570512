"""The ACK runtime, Python side: events, the Monitor, in-process learning.

The SIGSYS handler (``ext/runtime.c``) re-issues each trapped syscall and
publishes an event into a shared ring; nothing here runs inside it.  A
:class:`Monitor` installs the handler and a filter, then drains the ring in
batches and calls your callback outside the handler: from a dispatcher
thread, or from :meth:`Monitor.poll` in yours.

Design limits (see also README.md, "Limitations"):

- A filter can never be removed.  Leaving the ``with`` block stops the
  dispatcher, not the filter: later syscalls still trap, are re-issued, and
  go to the ring (or are counted as dropped once it is full).
- ``silence()`` stops reporting a syscall but not trapping it: the trap still
  costs a signal round trip, as no filter can be relaxed.
- Syscalls made by the dispatcher thread (including your callbacks) are not
  reported: reporting them would wake the dispatcher for its own work.
- Not reported, always allowed under ACK: rt_sigreturn and restart_syscall
  (the handler's own return path), clone3, vfork and thread-creating clone
  (their child would start inside the handler).
- exec: the new image is started by the launcher (``_launcher``), which
  installs the same handler and loads the program, so it keeps reporting
  into the same ring.  Only 64-bit x86-64 programs; others fail with
  ENOTSUP.  The ring is a file (in /dev/shm when there is one): a program
  exec'd where that path is not visible (another mount namespace) fails to
  start.
"""

import atexit
import collections
import logging
import os
import threading
from typing import Callable, Dict, Iterable, List, Optional

from . import tables
from .actions import ACK, ALLOW, Action, ERRNO
from .errors import RuleError, SeccompAckError
from .rules import Filter

log = logging.getLogger("seccomp_ack")

#: Default ring size: events, each about 300 bytes.
DEFAULT_RING_SIZE = 16384

#: Clocksources whose time the vDSO reads without a syscall.
_VDSO_CLOCKSOURCES = {"tsc", "kvm-clock", "hyperv_clocksource_tsc_page",
                      "arch_sys_counter"}

# ucontext gregs order on x86-64 (REG_* in sys/ucontext.h).
REG_NAMES = ("r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15", "rdi",
             "rsi", "rbp", "rbx", "rdx", "rax", "rcx", "rsp", "rip", "efl",
             "csgsfs", "err", "trapno", "oldmask", "cr2")


#: Syscalls the ACK handler makes itself, through the trampoline: a lock()
#: layer keeps them (as ACK) so the handler goes on working.
RUNTIME_SYSCALLS = (
    "getpid", "gettid", "process_vm_readv", "process_vm_writev", "futex",
    "clock_gettime", "rt_sigprocmask", "rt_sigaction", "sigaltstack",
    "tgkill")


#: A lock() never denies these: a process must always be able to end.
ALWAYS_ALLOWED_BY_LOCK = ("exit", "exit_group")


def _native():
    from . import _runtime
    return _runtime


class Event:
    """One reported syscall, as it was after it completed.

    ``ret`` is the raw return value (``-errno`` on failure), ``data`` the
    ACK data of the rule that matched, ``ip`` the address after the
    application's ``syscall`` instruction, ``time_ns`` CLOCK_MONOTONIC after
    the syscall, ``regs`` a dict of the post-syscall general registers when
    asked for (``Monitor(regs=True)``, else None).
    """

    __slots__ = ("seq", "pid", "tid", "nr", "arch", "data", "flags", "args",
                 "ret", "ip", "time_ns", "regs")

    def __init__(self, seq, pid, tid, nr, arch, data, flags, args, ret, ip,
                 time_ns, regs=None):
        self.seq = seq
        self.pid = pid
        self.tid = tid
        self.nr = nr
        self.arch = arch
        self.data = data
        self.flags = flags
        self.args = args
        self.ret = ret
        self.ip = ip
        self.time_ns = time_ns
        self.regs = dict(zip(REG_NAMES, regs)) if regs is not None else None

    @property
    def name(self) -> str:
        """The syscall's name, or ``"syscall_<nr>"`` for an unknown number."""
        try:
            return tables.syscall_name(self.nr)
        except ValueError:
            return f"syscall_{self.nr}"

    @property
    def errno(self) -> Optional[int]:
        """The errno the syscall failed with, or None if it succeeded."""
        return -self.ret if -4095 <= self.ret < 0 else None

    @property
    def refused(self) -> bool:
        """True if the runtime refused the syscall (exec) instead of running it."""
        return bool(self.flags & _native().EV_REFUSED)

    @property
    def noreturn(self) -> bool:
        """True for exit/exit_group, recorded before they ran."""
        return bool(self.flags & _native().EV_NORETURN)

    @property
    def before(self) -> bool:
        """True for a signal the caller sent itself: recorded before it ran
        (it may never return), so ``ret`` is 0, not the result."""
        return bool(self.flags & _native().EV_BEFORE)

    def __repr__(self):
        args = ", ".join(f"{a:#x}" for a in self.args)
        return (f"<Event {self.name}({args}) = {self.ret} data={self.data} "
                f"pid={self.pid} tid={self.tid}>")


def events_from(raw: Iterable[tuple]) -> List[Event]:
    """Events from the tuples :meth:`_runtime.Ring.drain` returns."""
    return [Event(*t) for t in raw]


def vdso_clock_usable() -> bool:
    """True if CLOCK_MONOTONIC is read by the vDSO without a syscall."""
    path = "/sys/devices/system/clocksource/clocksource0/current_clocksource"
    try:
        with open(path) as f:
            return f.read().strip() in _VDSO_CLOCKSOURCES
    except OSError:
        return False


_lock = threading.Lock()
_ring = None
#: Set in the child of `seccomp-ack learn`, whose ring the supervisor owns.
_supervised = False


def trampoline_address() -> int:
    """The address ACK filters allow this process to re-issue syscalls from."""
    return _native().trampoline_address()


def new_ring(size: int = DEFAULT_RING_SIZE, *, regs: bool = False):
    """A shared event ring of ``size`` events (a power of two)."""
    return _native().Ring(size, regs)


def launcher_path() -> Optional[str]:
    """The exec launcher built with the package, or None if it is missing
    (exec under ACK is then refused with ENOTSUP)."""
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                        "_launcher")
    return path if os.access(path, os.X_OK) else None


def attach(ring, *, vdso_clock: Optional[bool] = None,
           exec_support: bool = True) -> None:
    """Install the SIGSYS handler (once) and make ``ring`` its event ring.

    Call before installing a filter with ACK rules; :func:`install` does it
    for you when the filter is a :class:`Filter`.  With ``exec_support``,
    a program exec'd under ACK is started by the launcher and keeps
    reporting; without it, exec fails with ENOTSUP.
    """
    global _ring
    if vdso_clock is None:
        vdso_clock = vdso_clock_usable()
    launcher = launcher_path() if exec_support else None
    with _lock:
        _native().install_handler(ring, vdso_clock, launcher)
        _ring = ring


def current_ring(size: int = DEFAULT_RING_SIZE, *, regs: bool = False):
    """The process's event ring, created and attached on first use.

    ``size`` applies when the ring is created; ``regs=True`` turns register
    capture on for the existing ring too (it is never turned off here)."""
    with _lock:
        ring = _ring
    if ring is None:
        ring = new_ring(size, regs=regs)
        attach(ring)
        atexit.register(ring.unlink)  # only the creating process unlinks
    if regs:
        ring.regs = True
    return ring


class Monitor:
    """Report the syscalls a filter ACKs, in this process and its children.

    ``with Monitor(filter, on_event=print): ...`` installs the SIGSYS handler
    and ``filter`` (which normally has ACK rules or an ACK default), then
    calls ``on_event(event)`` for each report, in order, from a dispatcher
    thread.  Without ``on_event``, collect events with :meth:`events` or
    :meth:`poll`.  An exception in a callback is logged and kept in
    :attr:`errors`; it does not stop reporting.

    The filter stays installed after the block (no filter can be removed).
    """

    def __init__(self, filter: Filter,
                 on_event: Optional[Callable[[Event], None]] = None, *,
                 ring_size: int = DEFAULT_RING_SIZE, regs: bool = False,
                 dispatcher: Optional[bool] = None, tsync: bool = True):
        if not isinstance(filter, Filter):
            raise RuleError(f"Monitor needs a Filter, not {filter!r}")
        self.filter = filter
        self._callbacks: List[Callable[[Event], None]] = []
        if on_event is not None:
            self._callbacks.append(on_event)
        self._ring_size = ring_size
        self._regs = regs
        self._tsync = tsync
        self._use_thread = on_event is not None if dispatcher is None \
            else dispatcher
        self._thread: Optional[threading.Thread] = None
        self._stop = threading.Event()
        self._poll_lock = threading.Lock()
        self._base: Dict[str, int] = {}
        self._delivered = 0
        self._seen = set()
        self.errors: List[BaseException] = []
        self.ring = None
        self.program = None

    def add_callback(self, fn: Callable[[Event], None]) -> None:
        """Call ``fn(event)`` too, after the callbacks added before it."""
        self._callbacks.append(fn)

    def __enter__(self) -> "Monitor":
        from .installer import install
        if _supervised:
            raise SeccompAckError(
                "a Monitor cannot run inside `seccomp-ack learn`: the learn "
                "supervisor drains this process's event ring, and events "
                "this Monitor took would be missing from the profile")
        self.ring = current_ring(self._ring_size, regs=self._regs)
        self._base = self.ring.counters()
        self.program = install(self.filter, tsync=self._tsync)
        if self._use_thread:
            self._thread = threading.Thread(
                target=self._dispatch, name="seccomp_ack-dispatcher",
                daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        """Stop the dispatcher after it has delivered what is in the ring."""
        if self._thread is not None:
            self._stop.set()
            self._thread.join()
            self._thread = None
            self.poll()

    def _dispatch(self) -> None:
        _native().set_quiet_thread(True)
        while not self._stop.is_set():
            self.ring.wait(20)
            self.poll()

    def poll(self) -> int:
        """Deliver pending events to the callbacks now; returns how many."""
        with self._poll_lock:
            batch = self._drain()
            for event in batch:
                for fn in self._callbacks:
                    try:
                        fn(event)
                    except Exception as exc:  # reported, never swallowed
                        log.exception("seccomp_ack callback %r failed on %r",
                                      fn, event)
                        self.errors.append(exc)
            return len(batch)

    def _drain(self) -> List[Event]:
        batch = events_from(self.ring.drain())
        self._delivered += len(batch)
        self._seen.update(e.nr for e in batch)
        return batch

    def events(self) -> List[Event]:
        """Drain and return pending events (callbacks are not called)."""
        with self._poll_lock:
            return self._drain()

    def silence(self, *syscalls) -> None:
        """Stop reporting these syscalls (names or numbers).

        The trap remains, with its cost: no filter can be relaxed.
        """
        for nr in tables.syscall_numbers(syscalls):
            _native().set_silenced(nr, True)

    def unsilence(self, *syscalls) -> None:
        """Report these syscalls again."""
        for nr in tables.syscall_numbers(syscalls):
            _native().set_silenced(nr, False)

    def lock(self, default: Action = ERRNO(1)):
        """Install a layer that denies every syscall not seen so far.

        Learn during a warm-up, then enforce in the same process: after
        ``lock()``, a syscall this Monitor never saw gets ``default`` (the
        ACK layer below still reports it, with its result; with ERRNO the
        report shows the error).  Seen means: delivered by this Monitor
        (callbacks, :meth:`events` or :meth:`poll`; pending events are
        delivered first), made unreported by the dispatcher thread, one
        of the syscalls that are never reported, or exit and exit_group
        (a process must always be able to end).  The few syscalls the ACK
        handler itself needs (:data:`RUNTIME_SYSCALLS`) stay allowed, and
        reported, when not seen.  Returns the installed Program; the
        kernel's budget over stacked filters is checked first.
        """
        from .codegen import UNREPORTED_UNDER_ACK
        from .installer import install
        if self.ring is None:
            raise RuleError("lock() needs an entered Monitor")
        if self._use_thread:
            self.poll()
        else:
            self.events()  # drained into the seen set, not delivered
        seen = set()
        # The ring's bitmap holds every syscall that trapped, so those whose
        # events were dropped are not denied for that.
        for nr in self._seen | set(self.ring.seen()) | \
                set(self.ring.quiet_seen()):
            try:
                seen.add(tables.syscall_name(nr))
            except ValueError:
                pass  # a number no table knows: nothing to allow by name
        seen |= set(UNREPORTED_UNDER_ACK) | set(ALWAYS_ALLOWED_BY_LOCK)
        layer = Filter(default=default)
        layer.add(ALLOW, *sorted(seen))
        runtime_only = sorted(set(RUNTIME_SYSCALLS) - seen)
        if runtime_only:
            layer.add(ACK(1), *runtime_only)
        return install(layer, tsync=self._tsync)

    @property
    def stats(self) -> Dict[str, int]:
        """Counters: delivered (to this Monitor), dropped (ring full), lost,
        and the handler's reported, silenced, quiet, foreign, refused."""
        if self.ring is None:
            return {"delivered": 0}
        # The handler's counters are the ring's, shared by every Monitor of
        # the process: count from this Monitor's start.
        now = self.ring.counters()
        out = {k: v - self._base.get(k, 0) for k, v in now.items()}
        return dict(out, delivered=self._delivered)


class Learned:
    """Syscalls seen while learning, with counts, and the profile they give."""

    def __init__(self):
        self.counts: Dict[str, int] = collections.Counter()
        self.unknown: Dict[int, int] = collections.Counter()
        self.refused: List[Event] = []
        self.pids = set()
        #: Names made but never delivered as events: a dispatcher thread's,
        #: and those whose events the ring had to drop (from its ``seen``
        #: bitmap), so that the profile is complete all the same.
        self.unreported = set()

    def add_numbers(self, numbers: Iterable[int]) -> None:
        """Add syscalls known to have been made, by x86_64 number."""
        for nr in numbers:
            try:
                self.unreported.add(tables.syscall_name(nr))
            except ValueError:
                self.unknown.setdefault(nr, 0)

    def add(self, event: Event) -> None:
        try:
            self.counts[tables.syscall_name(event.nr)] += 1
        except ValueError:
            self.unknown[event.nr] += 1
        if event.refused:
            self.refused.append(event)
        self.pids.add(event.pid)

    def syscalls(self) -> List[str]:
        """Names seen, plus those the ACK runtime cannot report (which a
        program may have used unseen), plus exit and exit_group (a program
        killed before it could exit must still be able to end), sorted."""
        from .codegen import UNREPORTED_UNDER_ACK
        return sorted(set(self.counts) | self.unreported |
                      set(UNREPORTED_UNDER_ACK) | set(ALWAYS_ALLOWED_BY_LOCK))

    def filter(self, default: Action = ERRNO(1)) -> Filter:
        """A filter allowing what was learned, ``default`` for the rest."""
        f = Filter(default=default)
        f.add(ALLOW, *self.syscalls())
        return f

    def profile(self, default: Action = ERRNO(1)) -> dict:
        """The OCI seccomp profile of :meth:`filter`."""
        return self.filter(default).to_profile()


class _Learning:
    def __init__(self, data: int, ring_size: int):
        self.learned = Learned()
        self.monitor = Monitor(Filter(default=ACK(data)), ring_size=ring_size,
                               dispatcher=True)
        self.monitor.add_callback(self.learned.add)

    def __enter__(self) -> Learned:
        self.monitor.__enter__()
        return self.learned

    def __exit__(self, *exc):
        self.monitor.close()
        self.learned.add_numbers(self.monitor.ring.quiet_seen())
        self.learned.add_numbers(self.monitor.ring.seen())


def learn(*, data: int = 1, ring_size: int = DEFAULT_RING_SIZE):
    """Learn this process's syscalls: ``with learn() as learned: ...``.

    Installs an ACK filter on the whole process (it stays installed) and
    returns a :class:`Learned` that fills as events arrive; after the block,
    ``learned.profile()`` is the OCI profile of what ran inside it.
    """
    return _Learning(data, ring_size)


__all__ = ["Event", "Monitor", "Learned", "learn", "attach", "new_ring",
           "current_ring", "trampoline_address"]
