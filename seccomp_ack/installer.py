"""Installing filters: no_new_privs, then seccomp(2), with TSYNC by default.

Every failure is a :class:`~seccomp_ack.errors.SeccompOSError` naming the
operation.  Before calling the kernel, the size limits are checked here so
that the error says which limit and by how much: 1..4096 instructions per
filter, and the kernel's budget over all stacked filters, which it counts
after converting each to eBPF (:func:`seccomp_ack.codegen.kernel_length`).
"""

import threading
from typing import TYPE_CHECKING, List, Union

from .bpfconst import MAXINSNS
from .errors import ProgramError
from .rules import Filter

if TYPE_CHECKING:
    from .program import Program

SECCOMP_FILTER_FLAG_TSYNC = 1

# Kernel lengths of the filters this process installed (forked children
# inherit the list as they inherit the filters).
_layers: List[int] = []
_lock = threading.Lock()


def installed_layers() -> List[int]:
    """Kernel lengths of the filters installed by this library so far."""
    with _lock:
        return list(_layers)


def check_budget(program) -> int:
    """Raise ProgramError if ``program`` cannot be stacked on the filters
    installed so far; return its kernel length."""
    from .codegen import check_stack_budget, kernel_length
    if not 1 <= len(program) <= MAXINSNS:
        raise ProgramError(
            f"program has {len(program)} instructions; a filter must have "
            f"1..{MAXINSNS}")
    length = kernel_length(program)
    with _lock:
        check_stack_budget(_layers + [length])
    return length


def threads_blocking_sigsys() -> List[int]:
    """TIDs of this process's threads that block SIGSYS (SigBlk in
    /proc/self/task/TID/status).  An ACK trap in such a thread kills the
    whole process: the kernel resets a blocked forced signal to its default
    action."""
    import os
    out = []
    for tid in os.listdir("/proc/self/task"):
        try:
            with open(f"/proc/self/task/{tid}/status") as f:
                for line in f:
                    if line.startswith("SigBlk:"):
                        if int(line.split()[1], 16) >> 30 & 1:  # SIGSYS=31
                            out.append(int(tid))
                        break
        except FileNotFoundError:
            continue  # the thread exited meanwhile
    return sorted(out)


def install(filter_or_program: Union[Filter, "Program", bytes], *,
            tsync: bool = True):
    """Install a filter on this process (all threads, with ``tsync``).

    Accepts a :class:`Filter` (compiled here; if it has ACK rules, the
    SIGSYS handler is installed first), a :class:`Program`, or raw
    ``struct sock_filter`` bytes.  Returns the Program installed.  A filter
    can never be removed: install in a child process when testing.
    """
    from . import _runtime
    from .program import Program

    if isinstance(filter_or_program, Filter):
        if filter_or_program.uses_ack():
            from .runtime import current_ring
            blocking = threads_blocking_sigsys()
            if blocking:
                raise ProgramError(
                    f"thread(s) {', '.join(map(str, blocking))} block "
                    "SIGSYS: their first reported syscall would kill the "
                    "process; unblock SIGSYS there, or install before "
                    "starting them")
            current_ring()
        program = filter_or_program.compile()
    elif isinstance(filter_or_program, Program):
        program = filter_or_program
    elif isinstance(filter_or_program, (bytes, bytearray)):
        program = Program.from_bytes(bytes(filter_or_program))
    else:
        raise TypeError(
            f"install() takes a Filter, Program or bytes, not "
            f"{type(filter_or_program).__name__}")
    program.validate()
    length = check_budget(program)
    _runtime.set_no_new_privs()
    _runtime.install_filter(bytes(program),
                            SECCOMP_FILTER_FLAG_TSYNC if tsync else 0)
    with _lock:
        _layers.append(length)
    return program
