"""seccomp_ack: emulated SECCOMP_RET_ACK, a seccomp-BPF compiler, OCI profiles.

Quick tour::

    import seccomp_ack as sa
    f = sa.Filter(default=sa.ERRNO(1))
    f.add(sa.ALLOW, "read", "write", "exit_group")
    prog = f.compile()
    print(prog.disasm())
    prog.run(sa.syscall_number("read"))   # -> 0x7fff0000 (ALLOW)

See README.md for learning a program's syscalls and enforcing them.
"""

import platform as _platform
import sys as _sys

if not _sys.platform.startswith("linux") or _platform.machine() != "x86_64":
    raise ImportError(
        "seccomp_ack runs only on Linux x86-64: it installs seccomp filters "
        "and emulates SECCOMP_RET_ACK with an x86-64 SIGSYS handler, and this "
        f"is {_sys.platform} {_platform.machine()}")

from .actions import (ACK, ALLOW, ERRNO, KILL, KILL_PROCESS,  # noqa: E402
                      KILL_THREAD, LOG, TRACE, TRAP, USER_NOTIF, Action)
from .errors import (ProfileError, ProgramError, RuleError,  # noqa: E402
                     SeccompAckError, SeccompOSError, UnknownSyscallError)
from .rules import Arg, Condition, Filter, Rule  # noqa: E402
from .tables import syscall_name, syscall_number  # noqa: E402

__version__ = "0.1.0"

__all__ = [
    "ACK", "ALLOW", "ERRNO", "KILL", "KILL_PROCESS", "KILL_THREAD", "LOG",
    "TRACE", "TRAP", "USER_NOTIF", "Action", "Arg", "Condition", "Filter",
    "Rule", "Program", "Monitor", "Event", "install", "learn",
    "load_profile", "syscall_name", "syscall_number", "ProfileError",
    "ProgramError", "RuleError", "SeccompAckError", "SeccompOSError",
    "UnknownSyscallError",
]

_LAZY = {
    "Program": ("program", "Program"),
    "install": ("installer", "install"),
    "load_profile": ("profiles", "load_profile"),
    "Monitor": ("runtime", "Monitor"),
    "Event": ("runtime", "Event"),
    "learn": ("runtime", "learn"),
}


def __getattr__(name):
    # The native modules load on first use, so that the pure-Python stages
    # (tables, rules) import even from a source tree that was never built.
    try:
        module, attr = _LAZY[name]
    except KeyError:
        raise AttributeError(
            f"module 'seccomp_ack' has no attribute {name!r}") from None
    import importlib
    value = getattr(importlib.import_module(f".{module}", __name__), attr)
    globals()[name] = value
    return value
