"""Pure-Python classic-BPF interpreter and seccomp validator.

A second, independent implementation of what ``ext/bpf_sim.c`` does, kept
for differential tests: the C code switches on whole opcodes, this module
decodes class, operation and source fields separately, so a slip in one
is unlikely to be repeated in the other.  It is slow; use
:meth:`seccomp_ack.program.Program.run` for real work.

Semantics are the kernel's (classic BPF converted to 32-bit eBPF): A and X
start at 0, arithmetic wraps at 32 bits, division by X == 0 makes the
filter return 0, shifts by X use the low 5 bits of X.
"""

import struct
from typing import Optional, Sequence, Tuple

from . import bpfconst as c

_MASK32 = 0xFFFFFFFF

# (class, mode) pairs of the loads seccomp accepts, with the size bits W.
_LOADS = {(c.LD, c.ABS), (c.LD, c.LEN), (c.LDX, c.LEN), (c.LD, c.IMM),
          (c.LDX, c.IMM), (c.LD, c.MEM), (c.LDX, c.MEM)}
_ALU_OPS = {c.ADD, c.SUB, c.MUL, c.DIV, c.AND, c.OR, c.XOR, c.LSH, c.RSH}
_COND_OPS = {c.JEQ, c.JGT, c.JGE, c.JSET}

Insn = Tuple[int, int, int, int]


def seccomp_allows(code: int) -> bool:
    """Whether ``code`` is one of the opcodes seccomp_check_filter lists."""
    if code > 0xFF:
        return False
    cls = code & 0x07
    rest = code & ~0x07
    if cls in (c.LD, c.LDX):
        size, mode = code & 0x18, code & 0xE0
        return size == c.W and (cls, mode) in _LOADS
    if cls in (c.ST, c.STX):
        return rest == 0
    if cls == c.ALU:
        op, src = code & 0xF0, code & 0x08
        if op == c.NEG:
            return rest == c.NEG
        return op in _ALU_OPS and rest == op | src
    if cls == c.JMP:
        op, src = code & 0xF0, code & 0x08
        if op == c.JA:
            return rest == 0
        return op in _COND_OPS and rest == op | src
    if cls == c.RET:
        return rest in (c.K, c.A)
    # MISC: only TAX and TXA, with no other bit set.
    return rest in (c.TAX, c.TXA)


def check(insns: Sequence[Insn]) -> Optional[Tuple[int, str]]:
    """Return None if the kernel accepts ``insns``, else (index, reason).

    The index is -1 for a bad program length.
    """
    n = len(insns)
    if not 1 <= n <= c.MAXINSNS:
        return -1, f"length {n} is outside 1..{c.MAXINSNS}"
    for pc, (code, jt, jf, k) in enumerate(insns):
        if not seccomp_allows(code):
            return pc, f"opcode {code:#x} not allowed"
        cls, op = code & 0x07, code & 0xF0
        mode = code & 0xE0
        room = n - pc - 1
        if cls == c.LD and mode == c.ABS:
            if k % 4 or k >= c.SECCOMP_DATA_SIZE:
                return pc, f"bad offset {k}"
        elif cls == c.ALU and code & 0x08 == c.K:
            if op == c.DIV and k == 0:
                return pc, "division by 0"
            if op in (c.LSH, c.RSH) and k > 31:
                return pc, f"shift by {k}"
        elif (cls in (c.ST, c.STX)
              or (cls in (c.LD, c.LDX) and mode == c.MEM)):
            if k > c.MEMWORDS - 1:
                return pc, f"scratch index {k}"
        elif cls == c.JMP:
            if op == c.JA:
                if k >= room:
                    return pc, f"ja offset {k}"
            elif max(jt, jf) >= room:
                return pc, f"jump offsets {jt}, {jf}"
    if insns[-1][0] & 0x07 != c.RET:
        return n - 1, "last instruction is not a return"
    return _check_scratch(insns)


def _check_scratch(insns: Sequence[Insn]) -> Optional[Tuple[int, str]]:
    # Sets of scratch words stored on every path, per instruction; RET
    # passes its set on to the next instruction, as the kernel's pass does.
    into = [set(range(c.MEMWORDS)) for _ in insns]
    stored: set = set()
    for pc, (code, jt, jf, k) in enumerate(insns):
        stored = stored & into[pc]
        cls, mode = code & 0x07, code & 0xE0
        if cls in (c.ST, c.STX):
            stored = stored | {k}
        elif cls in (c.LD, c.LDX) and mode == c.MEM:
            if k not in stored:
                return pc, f"M[{k}] may be unset"
        elif cls == c.JMP:
            targets = ([k] if code & 0xF0 == c.JA else [jt, jf])
            for off in targets:
                into[pc + 1 + off] &= stored
            stored = set(range(c.MEMWORDS))
    return None


def run(insns: Sequence[Insn], data: bytes) -> int:
    """Run a valid program on a 64-byte seccomp_data; return its value."""
    words = struct.unpack("<16I", data)
    acc = idx = 0
    scratch = [0] * c.MEMWORDS
    pc = 0
    while pc < len(insns):
        code, jt, jf, k = insns[pc]
        pc += 1
        cls = code & 0x07
        operand = idx if code & 0x08 else k
        if cls == c.RET:
            return acc if code & 0x18 == c.A else k
        if cls in (c.LD, c.LDX):
            mode = code & 0xE0
            if mode == c.ABS:
                value = words[k // 4]
            elif mode == c.LEN:
                value = c.SECCOMP_DATA_SIZE
            elif mode == c.MEM:
                value = scratch[k]
            else:
                value = k
            if cls == c.LD:
                acc = value
            else:
                idx = value
        elif cls == c.ST:
            scratch[k] = acc
        elif cls == c.STX:
            scratch[k] = idx
        elif cls == c.MISC:
            if code & 0xF8 == c.TAX:
                idx = acc
            else:
                acc = idx
        elif cls == c.ALU:
            result = _alu(code & 0xF0, acc, operand)
            if result is None:
                return 0
            acc = result
        else:
            op = code & 0xF0
            if op == c.JA:
                pc += k
                continue
            if op == c.JEQ:
                taken = acc == operand
            elif op == c.JGT:
                taken = acc > operand
            elif op == c.JGE:
                taken = acc >= operand
            else:
                taken = (acc & operand) != 0
            pc += jt if taken else jf
    raise ValueError("program ran off its end (it was not validated)")


def _alu(op: int, a: int, b: int) -> Optional[int]:
    """32-bit ALU result, or None when the filter must return 0."""
    if op == c.ADD:
        return (a + b) & _MASK32
    if op == c.SUB:
        return (a - b) & _MASK32
    if op == c.MUL:
        return (a * b) & _MASK32
    if op == c.DIV:
        return None if b == 0 else a // b
    if op == c.AND:
        return a & b
    if op == c.OR:
        return a | b
    if op == c.XOR:
        return a ^ b
    if op == c.LSH:
        return (a << (b % 32)) & _MASK32
    if op == c.RSH:
        return a >> (b % 32)
    return (-a) & _MASK32  # NEG
