"""A small classic-BPF assembler: instructions, labels and far jumps.

The code generator writes instructions whose jump targets are symbolic
:class:`Label` objects; :meth:`Assembler.assemble` resolves them in a final
pass into the ``(code, jt, jf, k)`` tuples the kernel takes.  It knows three
more things, and nothing about seccomp:

- Jumps only go forward (the kernel refuses loops).  A backward jump is a
  bug in the caller and raises :class:`~seccomp_ack.errors.ProgramError`.
- A conditional jump holds its targets in 8 bits, so it reaches at most 255
  instructions ahead.  A farther target gets an *island* inserted right
  after the jump: a copy of the target when the target is a ``ret``,
  otherwise a ``ja`` (whose offset has 32 bits).  An island already in
  reach is reused.  Inserting islands lengthens other jumps, so the pass
  repeats until nothing changes.
- ``ret`` blocks are shared: :meth:`Assembler.ret_label` hands out one label
  per return value, and the blocks are laid out once, at the end.

:func:`longest_path` measures an assembled program: the most instructions
any run can execute.
"""

from typing import Dict, Iterable, List, Optional, Sequence, Tuple, Union

from . import bpfconst as c
from .errors import ProgramError

#: One assembled instruction: (code, jt, jf, k), as in ``struct sock_filter``.
Instruction = Tuple[int, int, int, int]

#: The farthest a conditional jump reaches (its offsets are 8-bit).
MAX_COND_JUMP = 255

_LD_ABS = c.LD | c.W | c.ABS
_AND_K = c.ALU | c.AND | c.K
_JA = c.JMP | c.JA
_RET_K = c.RET | c.K

#: Conditional jump mnemonics -> opcode (comparison with the constant k).
COND_OPS = {"jeq": c.JMP | c.JEQ | c.K, "jgt": c.JMP | c.JGT | c.K,
            "jge": c.JMP | c.JGE | c.K, "jset": c.JMP | c.JSET | c.K}


class Label:
    """A jump target, placed with :meth:`Assembler.bind`."""

    __slots__ = ("name",)

    def __init__(self, name: str):
        self.name = name

    def __repr__(self):
        return f"<Label {self.name}>"


class _Insn:
    """An instruction before assembly; jumps name their targets by Label."""

    __slots__ = ("code", "k", "jt", "jf", "target")

    def __init__(self, code: int, k: int = 0, jt: Optional[Label] = None,
                 jf: Optional[Label] = None, target: Optional[Label] = None):
        self.code = code
        self.k = k
        self.jt = jt        # conditional jumps
        self.jf = jf
        self.target = target  # ja

    def is_cond(self) -> bool:
        return self.jt is not None

    def same_as(self, other: "_Insn") -> bool:
        return (self.code, self.k, self.jt, self.jf, self.target) == \
            (other.code, other.k, other.jt, other.jf, other.target)


_Item = Union[_Insn, Label]


class Assembler:
    """Collects instructions and labels, then assembles them.

    Typical use::

        asm = Assembler()
        allow = asm.ret_label(RET_ALLOW)
        deny = asm.ret_label(RET_ERRNO | 1)
        asm.ld(OFF_NR)
        asm.jump("jeq", 39, allow, deny)
        program = asm.assemble()
    """

    def __init__(self):
        self._items: List[_Item] = []
        self._bound: Dict[int, Label] = {}   # id(label) -> label, once bound
        self._rets: Dict[int, Label] = {}    # return value -> shared block
        self._count = 0

    # -- building -----------------------------------------------------

    def label(self, name: str = "L") -> Label:
        """Make a new, not yet placed, label."""
        self._count += 1
        return Label(f"{name}{self._count}")

    def bind(self, label: Label) -> None:
        """Place ``label`` at the next instruction emitted."""
        if id(label) in self._bound:
            raise ProgramError(f"label {label.name} is placed twice")
        self._bound[id(label)] = label
        self._items.append(label)

    def ld(self, offset: int) -> None:
        """``ld [offset]``: load a 32-bit word of seccomp_data into A."""
        self._items.append(_Insn(_LD_ABS, offset))

    def and_(self, mask: int) -> None:
        """``and #mask``: A &= mask."""
        self._items.append(_Insn(_AND_K, mask))

    def jump(self, op: str, k: int, jt: Label, jf: Label) -> None:
        """``op #k, jt, jf`` with op one of jeq, jgt, jge, jset."""
        self._items.append(_Insn(COND_OPS[op], k, jt=jt, jf=jf))

    def ja(self, target: Label) -> None:
        """``ja target``: jump unconditionally (32-bit offset)."""
        self._items.append(_Insn(_JA, target=target))

    def ret(self, value: int) -> None:
        """``ret #value``: return a seccomp action here."""
        self._items.append(_Insn(_RET_K, value))

    def ret_label(self, value: int) -> Label:
        """The label of the shared ``ret #value`` block (laid out last)."""
        label = self._rets.get(value)
        if label is None:
            label = self._rets[value] = self.label(f"ret_{value:08x}_")
        return label

    # -- assembling ---------------------------------------------------

    def assemble(self) -> List[Instruction]:
        """Resolve labels, insert far-jump islands, return the program."""
        items = list(self._items)
        for value, label in self._rets.items():
            self._bound[id(label)] = label
            items.append(label)
            items.append(_Insn(_RET_K, value))
        insns, where = self._place_islands(items)
        return self._encode(insns, where)

    def _positions(self, items: Sequence[_Item]):
        """Instruction list and label -> index of the instruction it names."""
        insns: List[_Insn] = []
        where: Dict[int, int] = {}
        for item in items:
            if isinstance(item, Label):
                where[id(item)] = len(insns)
            else:
                insns.append(item)
        return insns, where

    def _target(self, label: Label, where: Dict[int, int], n: int) -> int:
        pos = where.get(id(label))
        if pos is None:
            raise ProgramError(f"jump to label {label.name}, never placed")
        if pos >= n:
            raise ProgramError(f"label {label.name} is placed after the "
                               "last instruction")
        return pos

    def _place_islands(self, items: List[_Item]):
        # Each pass finds conditional jumps that reach too far and gives
        # each far branch an island right after the jump.  A conditional
        # jump never falls through, so nothing else runs into an island.
        # Islands only lengthen jumps, so passes repeat to a fixed point.
        while True:
            insns, where = self._positions(items)
            n = len(insns)
            fixes = []   # (jump, branch name, its index, target index)
            for i, insn in enumerate(insns):
                if insn.code == _JA:
                    if self._target(insn.target, where, n) <= i:
                        raise ProgramError(
                            f"backward or self jump at instruction {i}")
                if not insn.is_cond():
                    continue
                for branch in ("jt", "jf"):
                    t = self._target(getattr(insn, branch), where, n)
                    if t <= i:
                        raise ProgramError(
                            f"backward or self jump at instruction {i}")
                    if t - i - 1 > MAX_COND_JUMP:
                        fixes.append((insn, branch, i, t))
            if not fixes:
                return insns, where
            if n > 8 * c.MAXINSNS:
                raise ProgramError(
                    f"far-jump islands do not converge ({n} instructions)")
            self._insert_islands(items, insns, fixes)

    def _insert_islands(self, items: List[_Item], insns: List[_Insn],
                        fixes) -> None:
        item_index = {id(item): k for k, item in enumerate(items)}
        islands: Dict[int, List[_Item]] = {}    # after a jump
        names: Dict[int, List[_Item]] = {}      # before a reused insn
        new: List[Tuple[int, _Insn, Label]] = []   # islands of this pass
        for insn, branch, i, t in fixes:
            if insns[t].code == _RET_K:
                island = _Insn(_RET_K, insns[t].k)
            else:
                island = _Insn(_JA, target=getattr(insn, branch))
            # Reuse an island of this pass, or an identical instruction,
            # already within reach (the next pass checks the reach again).
            reuse = next((lb for pos, isl, lb in new
                          if i < pos <= i + MAX_COND_JUMP
                          and isl.same_as(island)), None)
            if reuse is not None:
                setattr(insn, branch, reuse)
                continue
            label = self.label("island")
            self._bound[id(label)] = label
            setattr(insn, branch, label)
            end = min(i + 1 + MAX_COND_JUMP, len(insns))
            j = next((j for j in range(i + 1, end)
                      if insns[j].same_as(island)), None)
            if j is not None:
                # A new label right before the instruction names it.
                names.setdefault(item_index[id(insns[j])], []).append(label)
                new.append((j, insns[j], label))
                continue
            islands.setdefault(item_index[id(insn)] + 1,
                               []).extend([label, island])
            new.append((i + 1, island, label))
        # Insert from the back so that the indices stay valid; at one index,
        # islands (ending the previous jump) come before the labels that
        # name the instruction already there.
        for at in sorted(set(islands) | set(names), reverse=True):
            items[at:at] = islands.get(at, []) + names.get(at, [])

    @staticmethod
    def _encode(insns: List[_Insn], where: Dict[int, int]) \
            -> List[Instruction]:
        out: List[Instruction] = []
        for i, insn in enumerate(insns):
            if insn.is_cond():
                jt = where[id(insn.jt)] - i - 1
                jf = where[id(insn.jf)] - i - 1
                out.append((insn.code, jt, jf, insn.k))
            elif insn.code == _JA:
                out.append((insn.code, 0, 0, where[id(insn.target)] - i - 1))
            else:
                out.append((insn.code, 0, 0, insn.k))
        return out


def _instructions(program) -> List[Instruction]:
    """The (code, jt, jf, k) tuples of a Program or of a plain sequence."""
    insns = getattr(program, "instructions", program)
    return [tuple(insn) for insn in insns]


def longest_path(program: Union[Sequence[Instruction], Iterable]) -> int:
    """The most instructions one run of ``program`` can execute.

    A static bound over every path of the jump graph (which has no loops),
    counting the final ``ret``; no input need exist that takes the longest
    path.  ``program`` is a Program or a sequence of (code, jt, jf, k).
    """
    insns = _instructions(program)
    n = len(insns)
    longest = [0] * (n + 1)
    for i in range(n - 1, -1, -1):
        code, jt, jf, k = insns[i]
        cls = code & 0x07
        if cls == c.RET:
            nexts: Tuple[int, ...] = ()
        elif cls == c.JMP and code & 0xF0 == c.JA:
            nexts = (i + 1 + k,)
        elif cls == c.JMP:
            nexts = (i + 1 + jt, i + 1 + jf)
        else:
            nexts = (i + 1,)
        for t in nexts:
            if not i < t < n:
                raise ProgramError(
                    f"instruction {i} jumps to {t}, outside the program "
                    f"of {n} instructions")
        longest[i] = 1 + max((longest[t] for t in nexts), default=0)
    return longest[0] if n else 0
