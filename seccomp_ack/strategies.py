"""Hypothesis strategies for fuzzing seccomp filters and their compilers.

::

    from hypothesis import given
    from hypothesis import strategies as st
    from seccomp_ack import strategies as sst

    @given(sst.filters(), st.data())
    def test_my_compiler(flt, data):
        call = data.draw(sst.syscall_inputs(flt))
        ...

- :func:`conditions`, :func:`actions`, :func:`rules` and :func:`filters`
  build the rule IR, biased towards the values where comparisons change
  their answer (0, word boundaries, all ones) and towards syscalls that
  need care under ACK.
- :func:`syscall_inputs` draws calls aimed at one filter: its syscall
  numbers and their neighbours, arguments at and around its constants
  (each 32-bit word on its own), its arch tokens and a foreign one, and
  instruction pointers at and around a trampoline.
- ``programs`` and ``seccomp_data_inputs`` (raw BPF programs and raw
  seccomp_data) come from :mod:`seccomp_ack._bpf_strategies`.

Design limit: TRAP data and ACK data stay below 0x8000, so that TRAP data
never equals an ACK cookie (cookies are allocated from 0xFFFF down).
"""

from typing import NamedTuple, Optional, Sequence, Tuple

from hypothesis import strategies as st

from . import tables
from ._bpf_strategies import programs, seccomp_data_inputs
from .actions import Action
from .rules import ARG_COUNT, Condition, Filter

__all__ = ["SyscallInput", "actions", "conditions", "rules", "filters",
           "syscall_inputs", "programs", "seccomp_data_inputs",
           "ABIS", "FOREIGN_ARCH"]

#: The ABIs a filter can cover.
ABIS: Tuple[str, ...] = ("x86_64", "i386", "x32", "aarch64")

#: An arch token no filter covers (AUDIT_ARCH_ARM, 32-bit little endian).
FOREIGN_ARCH = 0x40000028

_U32 = 0xFFFFFFFF
_U64 = (1 << 64) - 1

#: Names drawn by :func:`rules`: everyday syscalls and those that need care
#: under ACK (see DESIGN.md).
SYSCALL_NAMES: Tuple[str, ...] = (
    "read", "write", "openat", "close", "mmap", "ioctl", "getppid",
    "exit_group", "futex", "clone", "clone3", "vfork", "rt_sigreturn",
    "restart_syscall", "execve", "rt_sigprocmask", "socket")

_EDGES_64 = (0, 1, 0x7FFFFFFF, 0x80000000, _U32 - 1, _U32, 1 << 32,
             (1 << 32) + 1, 0x1FFFFFFFF, 0x7FFFFFFFFFFFFFFF,
             0x8000000000000000, _U64 - 1, _U64, 0xFFFFFFFF00000000)
_EDGES_32 = (0, 1, 2, 0x7FFFFFFF, 0x80000000, _U32 - 1, _U32)


def _values(width: int) -> st.SearchStrategy:
    edges = _EDGES_64 if width == 64 else _EDGES_32
    return st.one_of(st.sampled_from(edges),
                     st.integers(0, (1 << width) - 1))


@st.composite
def conditions(draw, index: Optional[int] = None) -> Condition:
    """One argument comparison, on argument ``index`` (drawn if None)."""
    if index is None:
        index = draw(st.integers(0, ARG_COUNT - 1))
    width = draw(st.sampled_from((64, 32)))
    op = draw(st.sampled_from(
        ("eq", "ne", "lt", "le", "gt", "ge", "masked_eq")))
    value = draw(_values(width))
    if op != "masked_eq":
        return Condition(index, op, value, width=width)
    full = (1 << width) - 1
    mask = draw(st.one_of(st.sampled_from((0, 0x100, 0x3, full, _U32 & full,
                                           full ^ (_U32 & full))),
                          st.integers(0, full)))
    # Mostly a value the mask can produce; sometimes one it cannot.
    if draw(st.integers(0, 4)):
        value &= mask
    return Condition(index, "masked_eq", value, mask, width)


def actions(*, ack: bool = True) -> st.SearchStrategy:
    """Any action, with data at its edges; ACK only when ``ack``."""
    kinds = [
        st.sampled_from((Action("kill_process"), Action("kill_thread"),
                         Action("user_notif"), Action("log"),
                         Action("allow"))),
        st.builds(Action, st.just("errno"),
                  st.one_of(st.sampled_from((0, 1, 4095)),
                            st.integers(0, 4095))),
        st.builds(Action, st.just("trap"), st.integers(0, 0x7FFF)),
        st.builds(Action, st.just("trace"), st.integers(0, 0xFFFF)),
    ]
    if ack:
        kinds.append(st.builds(Action, st.just("ack"),
                               st.one_of(st.sampled_from((0, 1, 2)),
                                         st.integers(0, 0x7FFF))))
    return st.one_of(kinds)


def _syscalls(abis: Sequence[str]) -> st.SearchStrategy:
    names = [n for n in SYSCALL_NAMES
             if any(n in tables.syscall_names(a) for a in abis)]
    raw = st.one_of(
        st.sampled_from((0, 1, 15, 56, 0x40000000, 0x40000001, 0x40000038,
                         0x3FFFFFFF, 0x7FFFFFFF, 0x80000000, _U32)),
        st.integers(0, 500), st.integers(0, _U32))
    return st.one_of(st.sampled_from(names), raw)


@st.composite
def rules(draw, abis: Sequence[str] = ("x86_64",), *,
          max_conditions: int = 3):
    """``(action, syscall, conditions)`` ready for :meth:`Filter.add`.

    The syscall is a name that exists on one of ``abis``, or a raw number.
    """
    action = draw(actions())
    syscall = draw(_syscalls(abis))
    conds = draw(st.lists(conditions(), max_size=max_conditions))
    return action, syscall, tuple(conds)


@st.composite
def filters(draw, abis: Optional[Sequence[str]] = None, *,
            max_rules: int = 12) -> Filter:
    """A :class:`Filter` of up to ``max_rules`` rules.

    ``abis`` fixes the ABIs (in order); by default a random non-empty
    subset in random order is drawn.
    """
    if abis is None:
        abis = draw(st.lists(st.sampled_from(ABIS), min_size=1, max_size=4,
                             unique=True))
    flt = Filter(draw(actions()), abis=abis,
                 bad_abi=draw(actions()))
    for action, syscall, conds in draw(
            st.lists(rules(abis), max_size=max_rules)):
        flt.add(action, syscall, *conds)
    return flt


class SyscallInput(NamedTuple):
    """One call as a filter sees it: seccomp_data's fields."""

    nr: int
    args: Tuple[int, ...]
    arch: int
    ip: int


def _near(value: int, limit: int) -> Tuple[int, ...]:
    return tuple(v for v in (value - 1, value, value + 1) if 0 <= v <= limit)


def _edges(cond: Condition) -> Tuple[int, ...]:
    """Arguments around ``cond``'s constant: each word at, below and above
    the constant's word, all mask bits off, and garbage above bit 31."""
    v = cond.value
    out = {hi << 32 | lo for hi in _near(v >> 32, _U32)
           for lo in _near(v & _U32, _U32)}
    out.add(v | (~cond.mask & _U64))
    out.add(v ^ 0xFFFFFFFF00000000)
    return tuple(sorted(out))


def _arg_edges(flt: Filter, index: int) -> Tuple[int, ...]:
    """The edges of every condition of ``flt`` on args[index]."""
    out = {0, _U64, _U32, 1 << 32}
    for rule in flt.rules:
        for cond in rule.conditions:
            if cond.index == index:
                out.update(_edges(cond))
    return tuple(sorted(out))


@st.composite
def syscall_inputs(draw, flt: Filter, *,
                   trampoline: Optional[int] = None) -> SyscallInput:
    """A call aimed at ``flt``'s boundaries (see the module docstring).

    Two calls in three aim at one rule: its ABI's arch token and number,
    and each argument it compares at the edges of that comparison.  The
    others range wider: numbers next to the filter's, x32 and other
    boundaries, foreign tokens, any argument.
    """
    ruled = [(abi, nr, rule) for abi in flt.abis
             for nr, rule in flt.rules_for(abi)]
    if ruled and draw(st.integers(0, 2)):
        abi, nr, rule = draw(st.sampled_from(ruled))
        arch = tables.ABI_ARCH[abi]
        args = []
        for i in range(ARG_COUNT):
            mine = [x for c in rule.conditions if c.index == i
                    for x in _edges(c)]
            choices = [st.sampled_from(_arg_edges(flt, i)),
                       st.integers(0, _U64)]
            if mine:
                choices = [st.sampled_from(sorted(set(mine)))] * 3 + choices
            args.append(draw(st.one_of(choices)))
        args = tuple(args)
    else:
        tokens = sorted({tables.ABI_ARCH[a] for a in flt.abis}
                        | {tables.AUDIT_ARCH_X86_64, FOREIGN_ARCH})
        arch = draw(st.sampled_from(tokens))
        numbers = {0, 0x3FFFFFFF, tables.X32_SYSCALL_BIT, 0x80000000,
                   0xBFFFFFFF, 0xC0000000, _U32}
        for _, ruled_nr, _ in ruled:
            numbers.update(_near(ruled_nr, _U32))
            numbers.add(ruled_nr ^ tables.X32_SYSCALL_BIT)
        for name in ("clone", "rt_sigreturn", "vfork", "clone3",
                     "restart_syscall"):
            numbers.add(tables.syscall_number(name, "x86_64"))
        nr = draw(st.one_of(st.sampled_from(sorted(numbers)),
                            st.integers(0, 600), st.integers(0, _U32)))
        args = tuple(draw(st.one_of(st.sampled_from(_arg_edges(flt, i)),
                                    st.integers(0, _U64)))
                     for i in range(ARG_COUNT))
    ips = [0, _U64]
    if trampoline is not None:
        ips += list(_near(trampoline, _U64))
        ips += [trampoline ^ (1 << 32), trampoline ^ 1 << 40]
    ip = draw(st.one_of(st.sampled_from(ips), st.integers(0, _U64)))
    return SyscallInput(nr, args, arch, ip)
