"""Seccomp actions: what a filter returns for a syscall.

Every action the kernel knows is here, plus ``ACK(data)``, the action proposed
in 2016 and emulated by this library: as permissive as ALLOW, but the syscall
is reported (with its return value) after it completes.  ``ACK(0)`` means
"allow, do not report", exactly as in the RFC.

Actions are ordered by how restrictive they are, most restrictive first:
KILL_PROCESS, KILL_THREAD, TRAP, ERRNO, USER_NOTIF, TRACE, LOG, ACK, ALLOW.
This is the kernel's own order (ACK takes the place the RFC gave it, just
above ALLOW).  When several rules of one filter match a call, the most
restrictive action wins; between rules with the same kind of action, the
rule added first wins.
"""

from typing import Optional

from .errors import RuleError

# SECCOMP_RET_* values (include/uapi/linux/seccomp.h).
RET_KILL_PROCESS = 0x80000000
RET_KILL_THREAD = 0x00000000
RET_TRAP = 0x00030000
RET_ERRNO = 0x00050000
RET_USER_NOTIF = 0x7FC00000
RET_TRACE = 0x7FF00000
RET_LOG = 0x7FFC0000
RET_ALLOW = 0x7FFF0000
RET_ACTION_FULL = 0xFFFF0000
RET_DATA = 0x0000FFFF

#: The largest errno a filter may return (the kernel clamps above it).
MAX_ERRNO = 4095

# kind -> (rank, base value, largest data, OCI name).  Rank 0 is the most
# restrictive.  ACK has no kernel value: the compiler lowers it.
_KINDS = {
    "kill_process": (0, RET_KILL_PROCESS, 0, "SCMP_ACT_KILL_PROCESS"),
    "kill_thread": (1, RET_KILL_THREAD, 0, "SCMP_ACT_KILL_THREAD"),
    "trap": (2, RET_TRAP, RET_DATA, "SCMP_ACT_TRAP"),
    "errno": (3, RET_ERRNO, MAX_ERRNO, "SCMP_ACT_ERRNO"),
    "user_notif": (4, RET_USER_NOTIF, 0, "SCMP_ACT_NOTIFY"),
    "trace": (5, RET_TRACE, RET_DATA, "SCMP_ACT_TRACE"),
    "log": (6, RET_LOG, 0, "SCMP_ACT_LOG"),
    "ack": (7, None, RET_DATA, None),
    # Internal: what the compiler adds so that the runtime sees the calls
    # it must emulate (see codegen.GUARDED); re-issued, never reported.
    "ack_guard": (7, None, 0, None),
    "allow": (8, RET_ALLOW, 0, "SCMP_ACT_ALLOW"),
}

_NAMES = {
    "kill_process": "KILL_PROCESS", "kill_thread": "KILL_THREAD",
    "trap": "TRAP", "errno": "ERRNO", "user_notif": "USER_NOTIF",
    "trace": "TRACE", "log": "LOG", "ack": "ACK", "allow": "ALLOW",
    "ack_guard": "ACK_GUARD",
}

_WITH_DATA = {"trap", "errno", "trace", "ack"}


class Action:
    """One seccomp action with its 16-bit data (errno, trap or trace data).

    Build actions with the module constants and factories: ``ALLOW``,
    ``ERRNO(1)``, ``ACK(7)``...  Actions are immutable, hashable and compare
    by kind and data.
    """

    __slots__ = ("kind", "data")

    def __init__(self, kind: str, data: int = 0):
        if kind not in _KINDS:
            raise RuleError(f"unknown action kind {kind!r}")
        if isinstance(data, bool) or not isinstance(data, int):
            raise RuleError(
                f"{_NAMES[kind]} data must be an int, not {data!r}")
        limit = _KINDS[kind][2]
        if not 0 <= data <= limit:
            if kind == "errno":
                raise RuleError(
                    f"errno {data} is out of range 0..{MAX_ERRNO}")
            if limit == 0:
                raise RuleError(f"{_NAMES[kind]} takes no data, got {data}")
            raise RuleError(
                f"{_NAMES[kind]} data {data} does not fit in 16 bits "
                f"(0..{limit})")
        object.__setattr__(self, "kind", kind)
        object.__setattr__(self, "data", data)

    def __setattr__(self, name, value):
        raise AttributeError("Action is immutable")

    @property
    def rank(self) -> int:
        """0 for the most restrictive action (KILL_PROCESS), 8 for ALLOW."""
        return _KINDS[self.kind][0]

    @property
    def value(self) -> int:
        """The raw 32-bit SECCOMP_RET_* value a filter returns.

        ``ACK(0)`` is ALLOW; another ACK has no fixed value (the compiler
        lowers it to TRAP with a cookie) and raises RuleError.
        """
        if self.kind == "ack_guard":
            raise RuleError("ACK_GUARD has no fixed return value")
        if self.kind == "ack":
            if self.data == 0:
                return RET_ALLOW
            raise RuleError(
                f"{self!r} has no fixed return value: the compiler lowers "
                "it to TRAP with a cookie")
        return _KINDS[self.kind][1] | self.data

    @property
    def oci_name(self) -> Optional[str]:
        """The SCMP_ACT_* name of OCI profiles (None for ACK)."""
        return _KINDS[self.kind][3]

    def __eq__(self, other):
        if not isinstance(other, Action):
            return NotImplemented
        return self.kind == other.kind and self.data == other.data

    def __hash__(self):
        return hash((self.kind, self.data))

    def __repr__(self):
        if self.kind in _WITH_DATA:
            return f"{_NAMES[self.kind]}({self.data})"
        return _NAMES[self.kind]

    @classmethod
    def from_value(cls, value: int) -> "Action":
        """Decode a raw SECCOMP_RET_* value, as a filter returns it.

        An unknown action (which the kernel treats as KILL_PROCESS) raises
        RuleError naming the value.
        """
        if not 0 <= value <= 0xFFFFFFFF:
            raise RuleError(f"filter return value {value!r} is not 32-bit")
        base = value & RET_ACTION_FULL
        data = value & RET_DATA
        for kind, (_, kernel_value, limit, _) in _KINDS.items():
            if kernel_value == base:
                if kind == "errno":
                    data = min(data, MAX_ERRNO)  # the kernel clamps
                elif limit == 0:
                    data = 0  # the kernel ignores data of these actions
                return cls(kind, data)
        raise RuleError(f"filter return value {value:#010x} is no known "
                        "action (the kernel would kill the process)")


ALLOW = Action("allow")
KILL_PROCESS = Action("kill_process")
KILL_THREAD = Action("kill_thread")
LOG = Action("log")
USER_NOTIF = Action("user_notif")

#: KILL is KILL_THREAD, as SECCOMP_RET_KILL is in the kernel.
KILL = KILL_THREAD


def ERRNO(errno: int) -> Action:  # noqa: N802 - named like the kernel's
    """Fail the syscall with ``errno`` (0..4095), without running it."""
    return Action("errno", errno)


def TRAP(data: int = 0) -> Action:  # noqa: N802
    """Send SIGSYS before the syscall runs, with 16 bits of ``data``."""
    return Action("trap", data)


def TRACE(data: int = 0) -> Action:  # noqa: N802
    """Notify a ptrace tracer (PTRACE_O_TRACESECCOMP) with ``data``."""
    return Action("trace", data)


def ACK(data: int = 1) -> Action:  # noqa: N802
    """Run the syscall, then report it with ``data``; ``ACK(0)`` is ALLOW."""
    return Action("ack", data)
