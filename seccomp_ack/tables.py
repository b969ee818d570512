"""Syscall tables: name <-> number for each supported ABI.

The numbers come from the generated module ``_syscalls`` (see
``tools/gen_syscalls.py``).  An ABI is named as in this project: ``x86_64``,
``i386``, ``x32`` and ``aarch64``.  x32 numbers include the 0x40000000 bit,
because that is what a filter sees.
"""

from typing import Dict

from . import _syscalls
from .errors import UnknownSyscallError

#: AUDIT_ARCH_* tokens (seccomp_data.arch) per ABI.
AUDIT_ARCH_X86_64 = 0xC000003E
AUDIT_ARCH_I386 = 0x40000003
AUDIT_ARCH_AARCH64 = 0xC00000B7

#: Bit set in seccomp_data.nr for x32 syscalls (__X32_SYSCALL_BIT).
X32_SYSCALL_BIT = 0x40000000

ABI_ARCH: Dict[str, int] = {
    "x86_64": AUDIT_ARCH_X86_64,
    "i386": AUDIT_ARCH_I386,
    "x32": AUDIT_ARCH_X86_64,
    "aarch64": AUDIT_ARCH_AARCH64,
}

#: The ABI of the running process (the only one this package runs on).
NATIVE_ABI = "x86_64"

TABLE_SOURCE = _syscalls.SOURCE

_BY_NUMBER = {abi: {nr: name for name, nr in table.items()}
              for abi, table in _syscalls.TABLES.items()}


def _table(abi: str) -> Dict[str, int]:
    try:
        return _syscalls.TABLES[abi]
    except KeyError:
        known = ", ".join(sorted(_syscalls.TABLES))
        raise UnknownSyscallError(
            f"unknown ABI {abi!r} (known: {known})") from None


def syscall_number(name: str, abi: str = NATIVE_ABI) -> int:
    """Return the number of syscall ``name`` on ``abi``.

    Raises :class:`UnknownSyscallError` if the ABI has no such syscall.
    """
    table = _table(abi)
    try:
        return table[name]
    except (KeyError, TypeError):
        raise UnknownSyscallError(
            f"unknown syscall {name!r} on {abi}") from None


def syscall_name(nr: int, abi: str = NATIVE_ABI) -> str:
    """Return the name of syscall number ``nr`` on ``abi``.

    Raises :class:`UnknownSyscallError` if the ABI has no such number.
    """
    _table(abi)
    try:
        return _BY_NUMBER[abi][nr]
    except (KeyError, TypeError):
        raise UnknownSyscallError(
            f"unknown syscall number {nr!r} on {abi}") from None


def syscall_names(abi: str = NATIVE_ABI) -> Dict[str, int]:
    """Return a copy of the whole name -> number table of ``abi``."""
    return dict(_table(abi))


def syscall_numbers(syscalls, abi: str = NATIVE_ABI):
    """Numbers of ``syscalls`` (names or numbers) on ``abi``, in order."""
    out = []
    for s in syscalls:
        if isinstance(s, str):
            out.append(syscall_number(s, abi))
        elif isinstance(s, int) and not isinstance(s, bool) and s >= 0:
            out.append(s)
        else:
            raise UnknownSyscallError(
                f"expected a syscall name or number, got {s!r}")
    return out


def arch_token(arch) -> int:
    """Return the AUDIT_ARCH token for an ABI name or a raw token."""
    if isinstance(arch, int) and not isinstance(arch, bool):
        if not 0 <= arch <= 0xFFFFFFFF:
            raise UnknownSyscallError(
                f"arch token {arch:#x} does not fit in 32 bits")
        return arch
    try:
        return ABI_ARCH[arch]
    except (KeyError, TypeError):
        known = ", ".join(sorted(ABI_ARCH))
        raise UnknownSyscallError(
            f"unknown ABI {arch!r} (known: {known})") from None
