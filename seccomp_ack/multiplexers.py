"""Syscall multiplexers: socketcall and ipc, and what a filter cannot see.

Some ABIs reach a family of syscalls through one multiplexer: on i386,
``socketcall(call, args)`` runs socket, bind, connect... chosen by ``call``
(``SYS_SOCKET`` = 1...), with the real arguments in user memory at ``args``;
``ipc(call, ...)`` does the same for the System V calls (``SEMOP`` = 1...).
i386 also has direct numbers for most of them (Linux 4.3 for sockets, 5.1
for ipc), but a program may use either path.  seccomp sees only the
multiplexer's registers: its sub-call number, and a pointer.

So the compiler never maps a sub-call's name to its multiplexer: a rule on
``socket`` applies to i386's direct ``socket`` (359) only, and its argument
conditions are never tested against socketcall's registers (where arg 0 is
the sub-call and arg 1 a pointer).  :func:`check` also makes sure no table
gives a sub-call the multiplexer's number.

What the filter then cannot enforce is reported, not guessed:
:func:`check` warns (:class:`MultiplexerWarning`) when a covered ABI has a
multiplexer that the filter permits (by a rule or by default) for some
sub-call, while the filter denies that sub-call, or restricts it by its
arguments, when it is called by name.  A program can then reach the call
through the multiplexer.  To close the gap, deny the multiplexer (or the
sub-call number in its arg 0), or drop the ABI.

Which ABIs have a multiplexer comes from the syscall tables (an ABI whose
table has ``socketcall`` or ``ipc``); with the current tables, only i386.
"""

import os
import sys
import warnings
from typing import Dict, List, Optional, Tuple

from . import tables
from .actions import Action
from .errors import ProgramError
from .rules import Filter

__all__ = ["MultiplexerWarning", "MULTIPLEXED", "multiplexers", "gaps",
           "check"]


class MultiplexerWarning(UserWarning):
    """A filter's rule cannot be enforced through a syscall multiplexer."""


#: Per multiplexer, its sub-calls: name -> the number in its arg 0
#: (linux/net.h SYS_*, and linux/ipc.h for ipc).
MULTIPLEXED: Dict[str, Dict[str, int]] = {
    "socketcall": {
        "socket": 1, "bind": 2, "connect": 3, "listen": 4, "accept": 5,
        "getsockname": 6, "getpeername": 7, "socketpair": 8, "send": 9,
        "recv": 10, "sendto": 11, "recvfrom": 12, "shutdown": 13,
        "setsockopt": 14, "getsockopt": 15, "sendmsg": 16, "recvmsg": 17,
        "accept4": 18, "recvmmsg": 19, "sendmmsg": 20},
    "ipc": {
        "semop": 1, "semget": 2, "semctl": 3, "semtimedop": 4,
        "msgsnd": 11, "msgrcv": 12, "msgget": 13, "msgctl": 14,
        "shmat": 21, "shmdt": 22, "shmget": 23, "shmctl": 24},
}

# Actions that let a call run without anyone deciding on it.  ACK and the
# compiler's guard allow the call (and report it, or emulate it).
_PERMISSIVE = frozenset(("allow", "log", "ack", "ack_guard"))

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))


def multiplexers(abi: str) -> Dict[str, int]:
    """The multiplexers ``abi`` has: name -> syscall number."""
    table = tables.syscall_names(abi)
    return {name: table[name] for name in MULTIPLEXED if name in table}


def _permissive(action: Action) -> bool:
    return action.kind in _PERMISSIVE


def _check_tables(abi: str, muxes: Dict[str, int]) -> None:
    """No sub-call may share its multiplexer's number (a table error)."""
    table = tables.syscall_names(abi)
    for mux, nr in muxes.items():
        for sub in MULTIPLEXED[mux]:
            if table.get(sub) == nr:
                raise ProgramError(
                    f"the {abi} table gives {sub} the number {nr} of its "
                    f"multiplexer {mux}: the argument conditions of {sub} "
                    f"would be tested on {mux}'s registers")


def _mux_permits(flt: Filter, abi: str, nr: int, call: int) -> bool:
    """Whether the multiplexer may run sub-call ``call`` unchecked.

    A rule on the multiplexer whose conditions all test arg 0 decides for
    ``call`` alone; a rule that also tests other arguments (pointers) may
    or may not match, so only a permissive one counts.
    """
    permits = _permissive(flt.default)
    for number, rule in flt.rules_for(abi):
        if number != nr:
            continue
        first_only = all(c.index == 0 for c in rule.conditions)
        if not all(c.holds(call) for c in rule.conditions if c.index == 0):
            continue   # cannot match this sub-call
        if not _permissive(rule.action):
            if first_only:
                return False   # denies this sub-call whatever the rest
        else:
            permits = True
    return permits


def _named_rules(flt: Filter, name: str):
    """The rules for ``name``, whether given by name or by a raw number."""
    first = tables.syscall_names(flt.abis[0])
    out = []
    for rule in flt.rules:
        if rule.syscall == name or (
                not isinstance(rule.syscall, str)
                and first.get(name) == rule.syscall):
            out.append(rule)
    return out


def _restriction(flt: Filter, name: str) -> Optional[str]:
    """How ``name``, called directly, is held back: a phrase, or None."""
    rules = _named_rules(flt, name)
    plain = [r.action for r in rules if not r.conditions]
    fallback = min(plain, key=lambda a: a.rank) if plain else flt.default
    if not _permissive(fallback):
        if any(r.conditions and _permissive(r.action) for r in rules):
            return f"{name} (denied except for some arguments)"
        return f"{name} (denied)"
    if any(r.conditions and not _permissive(r.action)
           and r.action.rank < fallback.rank for r in rules):
        return f"{name} (restricted by its arguments)"
    return None


def gaps(flt: Filter) -> List[Tuple[str, str, List[str]]]:
    """What the filter cannot enforce through multiplexers.

    Returns (abi, multiplexer, [sub-call phrases]) for each covered ABI's
    multiplexer that the filter permits for sub-calls it denies or
    restricts by name.  Only sub-calls that some covered ABI can call
    directly count: the filter cannot name the others.  Raises
    ProgramError if a table maps a sub-call to its multiplexer's number.
    """
    direct = set()
    for abi in flt.abis:
        direct.update(tables.syscall_names(abi))
    out = []
    for abi in flt.abis:
        muxes = multiplexers(abi)
        _check_tables(abi, muxes)
        for mux, nr in muxes.items():
            found = []
            for sub, call in MULTIPLEXED[mux].items():
                if sub not in direct or \
                        not _mux_permits(flt, abi, nr, call):
                    continue
                phrase = _restriction(flt, sub)
                if phrase is not None:
                    found.append(phrase)
            if found:
                out.append((abi, mux, found))
    return out


def _caller_stacklevel() -> int:
    """The stacklevel of the first frame outside this package."""
    level = 1
    frame = sys._getframe(1)
    while frame is not None and os.path.dirname(
            os.path.abspath(frame.f_code.co_filename)) == _PACKAGE_DIR:
        level += 1
        frame = frame.f_back
    return level


def check(flt: Filter) -> None:
    """Warn (:class:`MultiplexerWarning`) about each gap :func:`gaps` finds.

    One warning per (ABI, multiplexer), naming the sub-calls; it points at
    the first caller outside this package.
    """
    for abi, mux, found in gaps(flt):
        warnings.warn(
            f"{abi}: {mux} is allowed, so the filter cannot enforce its "
            f"rules for {', '.join(found)}: a program can make these calls "
            f"through {mux}; deny {mux} (or those sub-calls in its arg 0) "
            f"to close the gap", MultiplexerWarning,
            stacklevel=_caller_stacklevel())
