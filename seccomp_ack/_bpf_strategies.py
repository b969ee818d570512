"""Hypothesis strategies for raw BPF programs and seccomp_data inputs.

``seccomp_ack.strategies`` re-exports :func:`programs` and
:func:`seccomp_data_inputs`; import them from there.

Generated programs are built front to back while keeping the kernel's own
bookkeeping (which scratch words are stored on every path), so
``programs()`` yields only programs the kernel accepts, from every opcode
seccomp allows, and ``programs(valid=False)`` yields near misses: a valid
program with one thing broken, of the kinds the kernel checks for.
Constants are drawn from values filters compare with (syscall numbers,
AUDIT_ARCH tokens, sign and x32 bits), and so are the inputs, so random
comparisons are sometimes true.
"""

from typing import Dict, List, Tuple

from hypothesis import strategies as st

from . import bpfconst as c
from . import tables

Insn = Tuple[int, int, int, int]

_U32 = 0xFFFFFFFF

_INTERESTING = sorted({
    0, 1, 2, 3, 4, 7, 8, 31, 32, 59, 60, 231, 0x7F, 0x80, 0xFF, 0x100,
    0xFFFF, 0x10000, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFE, 0xFFFFFFFF,
    tables.X32_SYSCALL_BIT, tables.X32_SYSCALL_BIT | 1,
    tables.AUDIT_ARCH_X86_64, tables.AUDIT_ARCH_I386,
    tables.AUDIT_ARCH_AARCH64, 0x7FFF0000, 0x00050001,
})

_ALU_OPS = (c.ADD, c.SUB, c.MUL, c.DIV, c.AND, c.OR, c.XOR, c.LSH, c.RSH)
_COND_OPS = (c.JEQ, c.JGT, c.JGE, c.JSET)

# Opcodes classic BPF knows but seccomp rejects, for near misses.
_REJECTED_CODES = (
    c.LD | c.H | c.ABS, c.LD | c.B | c.ABS, c.LD | c.W | c.IND,
    c.LD | c.H | c.IND, c.LD | c.B | c.IND, c.LDX | c.B | c.MSH,
    c.ALU | c.MOD | c.K, c.ALU | c.MOD | c.X, c.ALU | c.NEG | c.X,
    c.RET | c.X, c.JMP | c.JA | c.X, c.LDX | c.W | c.ABS,
)


def words() -> st.SearchStrategy:
    """Unsigned 32-bit values, often ones filters compare with."""
    return st.one_of(st.sampled_from(_INTERESTING),
                     st.integers(0, _U32),
                     st.integers(0, 400))


def _u64() -> st.SearchStrategy:
    halves = st.builds(lambda hi, lo: hi << 32 | lo, words(), words())
    return st.one_of(halves, st.integers(0, 2**64 - 1))


def _after(insn: Insn, pc: int, masks: List[int], valid: int) -> int:
    """Update ``masks`` for ``insn`` at ``pc``; return memvalid after it."""
    code, jt, jf, k = insn
    if code in (c.ST, c.STX):
        return valid | (1 << k)
    if code == c.JMP | c.JA:
        masks[pc + 1 + k] &= valid
        return 0xFFFF
    if code & 0x07 == c.JMP:
        masks[pc + 1 + jt] &= valid
        masks[pc + 1 + jf] &= valid
        return 0xFFFF
    return valid


@st.composite
def _instruction(draw, pc: int, n: int, stored: int) -> Insn:
    """One valid instruction at ``pc`` of ``n`` (not the last one)."""
    left = n - pc - 1
    kinds = ["ld_abs", "ld_len", "ld_imm", "st", "alu_k", "alu_x", "neg",
             "misc", "ret", "ja", "jcond"]
    if stored:
        kinds.append("ld_mem")
    kind = draw(st.sampled_from(kinds))
    cls = draw(st.sampled_from((c.LD, c.LDX)))
    if kind == "ld_abs":
        return (c.LD | c.W | c.ABS, 0, 0, 4 * draw(st.integers(0, 15)))
    if kind == "ld_len":
        return (cls | c.W | c.LEN, 0, 0, 0)
    if kind == "ld_imm":
        return (cls | c.IMM, 0, 0, draw(words()))
    if kind == "ld_mem":
        slots = [i for i in range(c.MEMWORDS) if stored >> i & 1]
        return (cls | c.MEM, 0, 0, draw(st.sampled_from(slots)))
    if kind == "st":
        return (draw(st.sampled_from((c.ST, c.STX))), 0, 0,
                draw(st.integers(0, c.MEMWORDS - 1)))
    if kind == "alu_k":
        op = draw(st.sampled_from(_ALU_OPS))
        if op in (c.LSH, c.RSH):
            k = draw(st.integers(0, 31))
        elif op == c.DIV:
            k = draw(words().filter(bool))
        else:
            k = draw(words())
        return (c.ALU | op | c.K, 0, 0, k)
    if kind == "alu_x":
        return (c.ALU | draw(st.sampled_from(_ALU_OPS)) | c.X, 0, 0, 0)
    if kind == "neg":
        return (c.ALU | c.NEG, 0, 0, 0)
    if kind == "misc":
        return (c.MISC | draw(st.sampled_from((c.TAX, c.TXA))), 0, 0, 0)
    if kind == "ret":
        return draw(_ret())
    if kind == "ja":
        return (c.JMP | c.JA, 0, 0, draw(st.integers(0, left - 1)))
    op = draw(st.sampled_from(_COND_OPS))
    src = draw(st.sampled_from((c.K, c.X)))
    reach = st.integers(0, min(left - 1, 255))
    k = draw(words()) if src == c.K else 0
    return (c.JMP | op | src, draw(reach), draw(reach), k)


def _ret() -> st.SearchStrategy:
    return st.one_of(st.builds(lambda k: (c.RET | c.K, 0, 0, k), words()),
                     st.just((c.RET | c.A, 0, 0, 0)))


@st.composite
def _valid_program(draw, max_size: int) -> List[Insn]:
    n = draw(st.integers(1, max_size))
    masks = [0xFFFF] * n
    valid = 0
    insns: List[Insn] = []
    for pc in range(n):
        # The kernel's memvalid at pc (check_load_and_stores()).
        valid &= masks[pc]
        insn = draw(_ret()) if pc == n - 1 else draw(
            _instruction(pc, n, valid))
        insns.append(insn)
        valid = _after(insn, pc, masks, valid)
    if draw(st.integers(0, 9)) == 0:
        insns = draw(_with_unused_fields(insns))
    return insns


@st.composite
def _with_unused_fields(draw, insns: List[Insn]) -> List[Insn]:
    """Set fields the kernel ignores (jt/jf of non-jumps, k of ret a...)."""
    out = []
    for code, jt, jf, k in insns:
        if code & 0x07 != c.JMP and draw(st.booleans()):
            jt, jf = draw(st.integers(0, 255)), draw(st.integers(0, 255))
        if code in (c.RET | c.A, c.MISC | c.TAX, c.MISC | c.TXA,
                    c.ALU | c.NEG) and draw(st.booleans()):
            k = draw(words())
        out.append((code, jt, jf, k))
    return out


@st.composite
def _broken_program(draw, max_size: int) -> List[Insn]:
    insns = draw(_valid_program(max_size))
    n = len(insns)
    pc = draw(st.integers(0, n - 1))
    code, jt, jf, k = insns[pc]
    how = draw(st.sampled_from((
        "code16", "code8", "rejected", "bad_k", "jump", "last", "load",
        "empty")))
    if how == "empty":
        return []
    if how == "code16":
        code = draw(st.integers(0, 0xFFFF))
    elif how == "code8":
        code = draw(st.integers(0, 0xFF))
    elif how == "rejected":
        code = draw(st.sampled_from(_REJECTED_CODES))
    elif how == "bad_k":
        code, k = draw(st.sampled_from((
            (c.LD | c.W | c.ABS, draw(st.integers(0, 80))),
            (c.LD | c.W | c.ABS, draw(words())),
            (c.ALU | c.DIV | c.K, 0),
            (c.ALU | draw(st.sampled_from((c.LSH, c.RSH))) | c.K,
             draw(st.one_of(st.integers(30, 40), words()))),
            (draw(st.sampled_from((c.ST, c.STX, c.LD | c.MEM,
                                   c.LDX | c.MEM))),
             draw(st.integers(14, 20))),
        )))
    elif how == "jump":
        left = n - pc - 1
        if draw(st.booleans()):
            code, jt, jf = c.JMP | c.JA, 0, 0
            k = draw(st.one_of(st.integers(max(left - 1, 0), left + 2),
                               words()))
        else:
            code = c.JMP | draw(st.sampled_from(_COND_OPS)) | c.K
            jt = draw(st.integers(0, 255))
            jf = draw(st.integers(max(left - 2, 0), min(left + 1, 255)))
    elif how == "last":
        pc = n - 1
        code, jt, jf, k = draw(_instruction(0, 2, 0))
    else:  # a load from a word that may not be stored
        code = draw(st.sampled_from((c.LD | c.MEM, c.LDX | c.MEM)))
        k = draw(st.integers(0, c.MEMWORDS - 1))
    insns[pc] = (code, jt, jf, k)
    return insns


def programs(valid: bool = True, max_size: int = 48
             ) -> st.SearchStrategy:
    """Raw programs: lists of (code, jt, jf, k) tuples.

    With ``valid=True`` every program is one the kernel's seccomp checker
    accepts, 1 to ``max_size`` instructions long.  With ``valid=False``
    they are near misses (most, not all, invalid): a valid program with a
    changed opcode, an out-of-range constant, offset or jump, a last
    instruction that is not a return, a load from a scratch word that may
    be unset, or no instruction at all.
    """
    if valid:
        return _valid_program(max_size)
    return _broken_program(max_size)


def seccomp_data_inputs() -> st.SearchStrategy:
    """Syscall inputs as keyword arguments for ``Program.run``.

    Each is a dict with ``nr``, ``args`` (0 to 6 unsigned 64-bit values),
    ``arch`` (an ABI name or a raw 32-bit token) and ``ip``.
    """
    @st.composite
    def build(draw) -> Dict[str, object]:
        arch = draw(st.one_of(
            st.sampled_from(("x86_64", "x86_64", "i386", "x32", "aarch64")),
            words()))
        nr = draw(words())
        if arch == "x32":
            nr |= tables.X32_SYSCALL_BIT
        args = draw(st.lists(_u64(), max_size=6))
        return {"nr": nr, "args": args, "arch": arch, "ip": draw(_u64())}
    return build()
