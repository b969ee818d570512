"""Run a Python target under a filter: learn its syscalls, or enforce a profile.

A target is given the way ``python`` takes it: ``script.py [args]``,
``-m module [args]`` or ``-c code [args]``.  It runs in this interpreter,
after the filter is installed, with ``sys.argv`` and ``sys.path[0]`` set as
``python`` would set them; its exit status passes through.  A target that
is an executable (an ELF program, a script whose ``#!`` line names no
Python, or a command found on PATH) is exec'd instead, after the filter is
installed: under ACK through the launcher, so it reports too.

``learn`` forks: the child installs the SIGSYS handler and an ACK filter and
runs the target; the parent collects events from the shared ring until the
child and every process it forked are gone, so a target that crashes, is
killed or calls ``os._exit`` still yields a complete profile (events a dying
writer claimed but never finished are counted as lost, never hidden).

``run`` installs the profile's filter in this process and runs the target;
the syscalls made between installing and starting the target are the same
code path as in ``learn``, so a learned profile covers them.
"""

import atexit
import ctypes
import importlib.util
import os
import runpy
import shutil
import signal
import sys
import threading
import traceback
import types
from typing import List, NamedTuple

from . import runtime
from .actions import ACK
from .errors import SeccompAckError
from .installer import install
from .rules import Filter

PR_SET_CHILD_SUBREAPER = 36
PR_SET_PDEATHSIG = 1

#: Signals the supervisor passes on to the target and outlives, so that
#: `timeout seccomp-ack learn ...` still writes the profile.
FORWARDED = (signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1,
             signal.SIGUSR2)


class TargetError(SeccompAckError, ValueError):
    """A target command line that cannot be run."""


class Target(NamedTuple):
    kind: str          # "script", "module", "code" or "exec"
    value: str         # the path, module name or code
    argv: List[str]    # sys.argv (or the program's argv) as it will see it

    def describe(self) -> str:
        return {"script": self.value, "module": f"-m {self.value}",
                "code": "-c ...", "exec": self.value}[self.kind]


def _is_python_source(path: str) -> bool:
    """True unless ``path`` is an ELF file or a ``#!`` script for another
    interpreter than Python."""
    if path.endswith(".py"):
        return True
    try:
        with open(path, "rb") as f:
            head = f.read(256)
    except OSError:
        return True   # let runpy report it
    if head.startswith(b"\x7fELF"):
        return False
    if head.startswith(b"#!"):
        return b"python" in head.split(b"\n", 1)[0]
    return True


def parse_target(argv: List[str]) -> Target:
    """Parse ``script.py [args]``, ``-m module [args]``, ``-c code [args]``
    or ``program [args]``."""
    if not argv:
        raise TargetError("no target given: expected script.py, -m module, "
                          "-c code or a program after --")
    first = argv[0]
    if first in ("-m", "-c"):
        if len(argv) < 2:
            raise TargetError(f"{first} needs an argument")
        if first == "-m":
            # As `python -m` does: look in the current directory first.
            sys.path.insert(0, os.getcwd())
            try:
                found = importlib.util.find_spec(argv[1]) is not None
            except (ImportError, ValueError):
                found = False
            finally:
                sys.path.pop(0)
            if not found:
                raise TargetError(f"no module named {argv[1]!r}")
            return Target("module", argv[1], [argv[1]] + argv[2:])
        return Target("code", argv[1], ["-c"] + argv[2:])
    if first.startswith("-"):
        raise TargetError(
            f"unsupported python option {first!r}: give script.py, -m module, "
            "-c code or a program")
    path = first
    if not os.path.exists(path):
        found = shutil.which(first) if os.sep not in first else None
        if found is None:
            raise TargetError(f"target {first!r} does not exist (nor is it "
                              "a command on PATH)")
        path = found
    if path == first and _is_python_source(path):
        return Target("script", path, list(argv))
    if not os.access(path, os.X_OK):
        raise TargetError(f"target {path!r} is not executable")
    return Target("exec", path, list(argv))


def _print_target_error(exc: BaseException) -> None:
    # Start the traceback at the target's own code, as python would.
    tb = exc.__traceback__
    while tb is not None and (
            tb.tb_frame.f_code.co_filename == __file__
            or tb.tb_frame.f_code.co_filename.startswith("<frozen runpy")):
        tb = tb.tb_next
    traceback.print_exception(type(exc), exc, tb)


def _exit_code(exc: SystemExit) -> int:
    code = exc.code
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF
    print(code, file=sys.stderr)
    return 1


def run_target(target: Target) -> int:
    """Run ``target`` in this interpreter; return its exit status."""
    sys.argv = list(target.argv)
    if target.kind == "exec":
        try:
            os.execv(target.value, target.argv)
        except OSError as exc:
            print(f"seccomp-ack: cannot exec {target.value!r}: {exc}",
                  file=sys.stderr)
            return 127
    try:
        if target.kind == "script":
            path = os.path.abspath(target.value)  # python's __file__ is
            sys.path[0] = os.path.dirname(path)   # absolute since 3.9
            runpy.run_path(path, run_name="__main__")
        elif target.kind == "module":
            sys.path[0] = os.getcwd()
            runpy.run_module(target.value, run_name="__main__",
                             alter_sys=True)
        else:
            sys.path[0] = ""
            module = types.ModuleType("__main__")
            sys.modules["__main__"] = module
            exec(compile(target.value, "<string>", "exec"), module.__dict__)
    except SystemExit as exc:
        return _exit_code(exc)
    except KeyboardInterrupt as exc:
        _print_target_error(exc)
        return 128 + signal.SIGINT
    except BaseException as exc:
        _print_target_error(exc)
        return 1
    return 0


def finish(code: int) -> None:
    """Exit as the interpreter would after the target: join threads, run
    atexit handlers, flush stdio, then _exit (never returns)."""
    try:
        threading._shutdown()  # waits for non-daemon threads
        atexit._run_exitfuncs()
    except BaseException:
        traceback.print_exc()
        code = code or 1
    for stream in (sys.stdout, sys.stderr):
        if stream is None or getattr(stream, "closed", False):
            continue  # the target closed it (json.tool does)
        try:
            stream.flush()
        except (OSError, ValueError):
            code = code or 120
    os._exit(code)


class LearnResult(NamedTuple):
    learned: runtime.Learned
    status: int        # os.waitpid status of the target process
    stats: dict        # ring counters: reported, dropped, lost, ...


def _reap_all(pid: int, ring, learned: runtime.Learned) -> int:
    """Collect events until ``pid`` and every orphan it left have exited."""
    status = None
    while True:
        for event in runtime.events_from(ring.drain()):
            learned.add(event)
        try:
            done, st = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            break
        if done == 0:
            ring.wait(20)
            continue
        if done == pid:
            status = st
    for event in runtime.events_from(ring.drain()):
        learned.add(event)
    # Every writer is gone: a slot still unpublished will never be.
    while ring.pending():
        if not ring.skip_stuck():
            for event in runtime.events_from(ring.drain()):
                learned.add(event)
    return status


def learn(target: Target, *, data: int = 1,
          ring_size: int = runtime.DEFAULT_RING_SIZE) -> LearnResult:
    """Run ``target`` in a child under an ACK filter and learn its syscalls."""
    ring = runtime.new_ring(ring_size)
    program = Filter(default=ACK(data)).compile()
    libc = ctypes.CDLL(None, use_errno=True)
    # Orphans of the target are reparented to us, so we can wait for them
    # and know when nobody can write the ring any more.
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"prctl(PR_SET_CHILD_SUBREAPER): "
                      f"{os.strerror(err)}")
    sys.stdout.flush()
    sys.stderr.flush()
    supervisor = os.getpid()
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            # Never outlive the supervisor: nobody would collect our events.
            libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
            if os.getppid() != supervisor:
                os._exit(1)
            runtime._supervised = True
            runtime.attach(ring)
            install(program)
            code = run_target(target)
        except BaseException:
            traceback.print_exc()
        finish(code)
    # The terminal's SIGINT reaches the target too; we stay to collect.
    # Other termination requests are passed on to the target.
    old = {signal.SIGINT: signal.signal(signal.SIGINT, signal.SIG_IGN)}
    for sig in FORWARDED:
        old[sig] = signal.signal(sig, lambda s, f: os.kill(pid, s))
    try:
        learned = runtime.Learned()
        status = _reap_all(pid, ring, learned)
        # The ring's bitmap knows every syscall that trapped, even those
        # whose events were dropped when the ring was full.
        learned.add_numbers(ring.seen())
    finally:
        for sig, handler in old.items():
            signal.signal(sig, handler)
        ring.unlink()
    return LearnResult(learned, status, ring.counters())


def enforce(target: Target, flt: Filter) -> None:
    """Install ``flt`` in this process, run ``target`` and exit with its
    status (never returns)."""
    install(flt)
    finish(run_target(target))


def pass_status(status: int) -> None:
    """Exit the way a process with waitpid ``status`` ended (never returns)."""
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        sys.stdout.flush()
        sys.stderr.flush()
        if sig not in (signal.SIGKILL, signal.SIGSTOP):
            signal.signal(sig, signal.SIG_DFL)
        os.kill(os.getpid(), sig)
        os._exit(128 + sig)  # if the signal did not kill us (SIGCHLD...)
    sys.exit(os.waitstatus_to_exitcode(status))
