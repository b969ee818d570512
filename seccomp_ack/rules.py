"""Rules: the validated intermediate form every front end produces.

A :class:`Filter` is a default action plus rules.  A rule is an action, one
syscall (by name, or by number on the filter's first ABI) and zero or more
argument conditions, all of which must hold (AND).  Several rules for one
syscall mean OR.  When several rules match one call, the most restrictive
action wins (see :mod:`seccomp_ack.actions` for the order); between rules
with the same kind of action, the rule added first wins.

Conditions compare one of the six syscall arguments with a constant.  By
default an argument is compared as a 64-bit unsigned value (two 32-bit words
in BPF).  ``Arg(i, width=32)`` compares only the low 32 bits: use it for C
``int`` arguments (flags, fds, domains), which callers may pass sign-extended
or with garbage above bit 31.  Use the 64-bit default for pointers, sizes and
``long`` arguments.

The Python rule API (this module) and the JSON profile front end
(:mod:`seccomp_ack.profiles`) both produce these objects; the code generator
(:mod:`seccomp_ack.codegen`) consumes them, and :meth:`Filter.evaluate` is a
reference evaluator that does not share code with the generator.
"""

from typing import Iterable, List, Optional, Sequence, Tuple, Union

from . import tables
from .actions import KILL_PROCESS, Action
from .errors import RuleError, UnknownSyscallError

ARG_COUNT = 6
_OPS = ("eq", "ne", "lt", "le", "gt", "ge", "masked_eq")
_OP_SYMBOL = {"eq": "==", "ne": "!=", "lt": "<", "le": "<=", "gt": ">",
              "ge": ">=", "masked_eq": "=="}


def _check_value(value, width: int, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise RuleError(f"{what} must be an int, not {value!r}")
    limit = (1 << width) - 1
    if not 0 <= value <= limit:
        if value < 0:
            raise RuleError(
                f"{what} {value} is negative; arguments are compared "
                f"unsigned (write {value & limit:#x} for the {width}-bit "
                "two's complement)")
        raise RuleError(f"{what} {value:#x} does not fit in {width} bits")
    return value


class Condition:
    """``(args[index] & mask) <op> value``, on ``width`` bits.

    ``mask`` is all ones except for masked equality.  Build conditions with
    :class:`Arg` rather than directly.
    """

    __slots__ = ("index", "op", "value", "mask", "width")

    def __init__(self, index: int, op: str, value: int,
                 mask: Optional[int] = None, width: int = 64):
        if isinstance(index, bool) or not isinstance(index, int) \
                or not 0 <= index < ARG_COUNT:
            raise RuleError(
                f"argument index {index!r} is out of range 0..{ARG_COUNT - 1}")
        if op not in _OPS:
            raise RuleError(f"unknown comparison {op!r} (known: {_OPS})")
        if width not in (32, 64):
            raise RuleError(f"argument width {width!r} must be 32 or 64")
        full = (1 << width) - 1
        value = _check_value(value, width, "comparison value")
        if mask is None:
            mask = full
        else:
            mask = _check_value(mask, width, "mask")
        if op != "masked_eq" and mask != full:
            raise RuleError(f"a mask is only allowed with ==, not {op!r}")
        for name, v in (("index", index), ("op", op), ("value", value),
                        ("mask", mask), ("width", width)):
            object.__setattr__(self, name, v)

    def __setattr__(self, name, value):
        raise AttributeError("Condition is immutable")

    def _key(self):
        return (self.index, self.op, self.value, self.mask, self.width)

    def __eq__(self, other):
        if not isinstance(other, Condition):
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self):
        return hash(self._key())

    def __repr__(self):
        arg = f"Arg({self.index})" if self.width == 64 \
            else f"Arg({self.index}, width=32)"
        if self.op == "masked_eq":
            return f"({arg} & {self.mask:#x}) == {self.value:#x}"
        return f"{arg} {_OP_SYMBOL[self.op]} {self.value:#x}"

    def holds(self, arg: int) -> bool:
        """Evaluate the condition on one raw 64-bit argument value."""
        a = arg & ((1 << self.width) - 1) & self.mask
        v = self.value
        return {"eq": a == v, "masked_eq": a == v, "ne": a != v,
                "lt": a < v, "le": a <= v, "gt": a > v,
                "ge": a >= v}[self.op]


class _Masked:
    """``Arg(i) & mask``: only ``==`` may follow."""

    __slots__ = ("arg", "mask")
    __hash__ = None

    def __init__(self, arg: "Arg", mask: int):
        self.arg = arg
        self.mask = _check_value(mask, arg.width, "mask")

    def __eq__(self, value):
        return Condition(self.arg.index, "masked_eq", value, self.mask,
                         self.arg.width)

    def __ne__(self, value):
        raise RuleError("masked comparisons support only ==, not !=")


class Arg:
    """Syscall argument ``index`` (0..5), compared on ``width`` bits.

    ``Arg(0) == 1``, ``Arg(2) >= 4096``, ``(Arg(1) & 0o3) == 0o1``.
    """

    __slots__ = ("index", "width")
    __hash__ = None

    def __init__(self, index: int, width: int = 64):
        Condition(index, "eq", 0, width=width)  # validates index and width
        self.index = index
        self.width = width

    def _cond(self, op, value):
        return Condition(self.index, op, value, width=self.width)

    def __eq__(self, value):
        return self._cond("eq", value)

    def __ne__(self, value):
        return self._cond("ne", value)

    def __lt__(self, value):
        return self._cond("lt", value)

    def __le__(self, value):
        return self._cond("le", value)

    def __gt__(self, value):
        return self._cond("gt", value)

    def __ge__(self, value):
        return self._cond("ge", value)

    def __and__(self, mask):
        return _Masked(self, mask)

    __rand__ = __and__

    def __repr__(self):
        return f"Arg({self.index}, width={self.width})"


Syscall = Union[str, int]


class Rule:
    """One action for one syscall when all ``conditions`` hold."""

    __slots__ = ("action", "syscall", "conditions")

    def __init__(self, action: Action, syscall: Syscall,
                 conditions: Sequence[Condition] = ()):
        object.__setattr__(self, "action", action)
        object.__setattr__(self, "syscall", syscall)
        object.__setattr__(self, "conditions", tuple(conditions))

    def __setattr__(self, name, value):
        raise AttributeError("Rule is immutable")

    def __eq__(self, other):
        if not isinstance(other, Rule):
            return NotImplemented
        return (self.action, self.syscall, self.conditions) == \
            (other.action, other.syscall, other.conditions)

    def __hash__(self):
        return hash((self.action, self.syscall, self.conditions))

    def __repr__(self):
        conds = "".join(f", {c!r}" for c in self.conditions)
        return f"Rule({self.action!r}, {self.syscall!r}{conds})"

    def matches(self, args: Sequence[int]) -> bool:
        return all(c.holds(args[c.index]) for c in self.conditions)


def _check_action(action, what: str) -> Action:
    if not isinstance(action, Action):
        raise RuleError(f"{what} must be an Action such as ALLOW or "
                        f"ERRNO(1), not {action!r}")
    return action


class Filter:
    """A seccomp filter: a default action and rules, for one or more ABIs.

    ``abis`` lists the ABIs the filter covers (the first is the one raw
    syscall numbers refer to); any other arch token or x32 number gets
    ``bad_abi``.
    """

    def __init__(self, default: Action, *, abis: Iterable[str] = ("x86_64",),
                 bad_abi: Action = KILL_PROCESS):
        self.default = _check_action(default, "default action")
        self.bad_abi = _check_action(bad_abi, "bad_abi action")
        self.abis: Tuple[str, ...] = tuple(abis)
        if not self.abis:
            raise RuleError("a filter must cover at least one ABI")
        for abi in self.abis:
            tables.arch_token(abi)  # raises for an unknown ABI
        if len(set(self.abis)) != len(self.abis):
            raise RuleError(f"ABI listed twice in {self.abis!r}")
        self.rules: List[Rule] = []

    def add(self, action: Action, *syscalls_and_conditions) -> "Filter":
        """Add ``action`` for each syscall given, when all conditions hold.

        Syscalls are names or numbers; conditions are :class:`Arg`
        comparisons.  Returns the filter, so calls can be chained.
        """
        _check_action(action, "action")
        syscalls: List[Syscall] = []
        conditions: List[Condition] = []
        for item in syscalls_and_conditions:
            if isinstance(item, Condition):
                conditions.append(item)
            elif isinstance(item, str):
                self._check_name(item)
                syscalls.append(item)
            elif isinstance(item, int) and not isinstance(item, bool):
                if not 0 <= item <= 0xFFFFFFFF:
                    raise RuleError(
                        f"syscall number {item} does not fit in 32 bits")
                syscalls.append(item)
            elif isinstance(item, (Arg, _Masked)):
                raise RuleError(
                    f"{item!r} is not a condition: compare it, as in "
                    "Arg(0) == 1")
            else:
                raise RuleError(
                    f"expected a syscall name, number or Arg condition, "
                    f"got {item!r}")
        if not syscalls:
            raise RuleError("add() needs at least one syscall")
        for syscall in syscalls:
            self.rules.append(Rule(action, syscall, conditions))
        return self

    def _check_name(self, name: str) -> None:
        for abi in self.abis:
            if name in tables.syscall_names(abi):
                return
        raise UnknownSyscallError(
            f"unknown syscall {name!r} on {', '.join(self.abis)}")

    def __repr__(self):
        return (f"<Filter default={self.default!r} abis={self.abis!r} "
                f"{len(self.rules)} rules>")

    # -- lowering -----------------------------------------------------

    def rules_for(self, abi: str) -> List[Tuple[int, Rule]]:
        """The rules that apply on ``abi``, with their syscall numbers.

        A name that does not exist on ``abi`` is skipped for that ABI; a raw
        number applies to the filter's first ABI only.
        """
        out = []
        table = tables.syscall_names(abi)
        for rule in self.rules:
            if isinstance(rule.syscall, str):
                if rule.syscall in table:
                    out.append((table[rule.syscall], rule))
            elif abi == self.abis[0]:
                out.append((rule.syscall, rule))
        return out

    def uses_ack(self) -> bool:
        """True if any rule (or the default) is a reporting ACK."""
        actions = [r.action for r in self.rules] + [self.default]
        return any(a.kind == "ack" and a.data != 0 for a in actions)

    def evaluate(self, nr: int, args: Sequence[int] = (), *,
                 arch="x86_64") -> Tuple[Action, Optional[str]]:
        """Reference evaluator: the action this filter's rules give a call.

        Returns ``(action, abi)``, where ``abi`` is the ABI the call was
        matched on, or None when it got ``bad_abi``.  It works from the rules
        alone and shares no code with the code generator, so tests can hold
        one against the other.  ACK is returned as ACK: lowering it (and the
        syscalls the ACK runtime never traps) is the compiler's business.
        """
        token = tables.arch_token(arch)
        args = tuple(args) + (0,) * (ARG_COUNT - len(args))
        abi = None
        for candidate in self.abis:
            if tables.ABI_ARCH[candidate] != token:
                continue
            is_x32 = bool(nr & tables.X32_SYSCALL_BIT)
            if token == tables.AUDIT_ARCH_X86_64 and \
                    is_x32 != (candidate == "x32"):
                continue
            abi = candidate
        if abi is None:
            return self.bad_abi, None
        best = None
        for number, rule in self.rules_for(abi):
            if number == nr and rule.matches(args):
                if best is None or rule.action.rank < best.rank:
                    best = rule.action
        return (best if best is not None else self.default), abi

    def compile(self, *, trampoline: Optional[int] = None):
        """Compile to a BPF :class:`~seccomp_ack.program.Program`.

        ``trampoline`` is the instruction pointer the ACK runtime re-issues
        syscalls from; it defaults to this process's trampoline.
        """
        from .codegen import compile_filter
        return compile_filter(self, trampoline=trampoline)

    def to_profile(self) -> dict:
        """Export as an OCI/Docker seccomp profile (a JSON-ready dict)."""
        from .profiles import filter_to_profile
        return filter_to_profile(self)
