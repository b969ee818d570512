"""Exception types, one per stage, and the one place errno becomes an exception.

Every error raised by seccomp_ack is a subclass of :class:`SeccompAckError`.
Bad input (an unknown syscall, an errno out of range, a malformed profile) is
also a :class:`ValueError`; a failing system call is an :class:`OSError`
whose message names the operation.
"""

import errno as _errno
import os


class SeccompAckError(Exception):
    """Base class of every error this library raises."""


class UnknownSyscallError(SeccompAckError, ValueError):
    """A syscall name or number that the syscall table does not know."""


class RuleError(SeccompAckError, ValueError):
    """A rule, action or condition with a value out of range."""


class ProgramError(SeccompAckError, ValueError):
    """A BPF program that the kernel's seccomp checker would reject."""


class ProfileError(SeccompAckError, ValueError):
    """A seccomp profile (OCI/Docker JSON) that is malformed or unsupported.

    ``path`` is the JSON path of the bad value, for example
    ``syscalls[3].action``.
    """

    def __init__(self, path: str, message: str):
        super().__init__(f"{path}: {message}" if path else message)
        self.path = path


class SeccompOSError(SeccompAckError, OSError):
    """A system call made by seccomp_ack failed.

    ``operation`` names what was being done, for example
    ``seccomp(SECCOMP_SET_MODE_FILTER)``.
    """

    def __init__(self, err: int, operation: str, detail: str = ""):
        text = f"{operation} failed: {os.strerror(err)}"
        if detail:
            text += f" ({detail})"
        super().__init__(err, text)
        self.operation = operation

    def __str__(self) -> str:
        return f"[Errno {self.errno}] {self.strerror}"


def raise_oserror(err: int, operation: str, detail: str = "") -> None:
    """Raise the OSError subclass for ``err`` (a positive errno value)."""
    if err == _errno.EINVAL:
        raise SeccompOSError(err, operation, detail or "invalid argument")
    raise SeccompOSError(err, operation, detail)
