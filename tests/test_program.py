"""Program: C simulator, pure-Python interpreter, disassembler, assembler.

Every semantic test runs the same body against both interpreters; the
kernel itself is the oracle for the corner cases (shifts by X >= 32,
division by X == 0, field offsets, the instruction pointer).
"""

import copy
import pickle
import re
import signal
import struct

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from seccomp_ack import bpfconst as c
from seccomp_ack import tables
from seccomp_ack._bpf_strategies import programs, seccomp_data_inputs, words
from seccomp_ack.errors import ProgramError
from seccomp_ack.program import Instruction, Program, seccomp_data

from _child import expected_outcome, kernel_outcomes, libc_syscall_ip

ALLOW = 0x7FFF0000
ERRNO = 0x00050000
X32 = tables.X32_SYSCALL_BIT
X86_64 = tables.AUDIT_ARCH_X86_64

LD_ABS = c.LD | c.W | c.ABS
RET_A = (c.RET | c.A, 0, 0, 0)


def ret(k):
    return (c.RET | c.K, 0, 0, k)


def ld(k):
    return (LD_ABS, 0, 0, k)


def alu(op, k=None):
    """ALU with constant k, or with X when k is None."""
    if k is None:
        return (c.ALU | op | c.X, 0, 0, 0)
    return (c.ALU | op | c.K, 0, 0, k)


def jmp(op, k, jt, jf):
    if k is None:
        return (c.JMP | op | c.X, jt, jf, 0)
    return (c.JMP | op | c.K, jt, jf, k)


def ldi(k):
    return (c.LD | c.IMM, 0, 0, k)


def ldxi(k):
    return (c.LDX | c.IMM, 0, 0, k)


def both(program, *args, **kwargs):
    """Run in the C simulator and the interpreter; they must agree."""
    fast = program.run(*args, **kwargs)
    slow = program.interpret(*args, **kwargs)
    assert fast == slow, (program.disasm(), args, kwargs)
    return fast


CALL = dict(nr=59, args=(0x1111111122222222, 0x33333333_44444444, 5, 6, 7,
                         0xFFFFFFFFFFFFFFFF), ip=0x00007F00_12345678)

# (name, instructions, expected return) with the input CALL on x86_64.
CASES = [
    ("ld nr", [ld(0), RET_A], 59),
    ("ld arch", [ld(4), RET_A], X86_64),
    ("ld ip lo", [ld(8), RET_A], 0x12345678),
    ("ld ip hi", [ld(12), RET_A], 0x7F00),
    ("ld args[0] lo", [ld(16), RET_A], 0x22222222),
    ("ld args[0] hi", [ld(20), RET_A], 0x11111111),
    ("ld args[1] hi", [ld(28), RET_A], 0x33333333),
    ("ld args[5] lo", [ld(56), RET_A], 0xFFFFFFFF),
    ("ld args[5] hi", [ld(60), RET_A], 0xFFFFFFFF),
    ("ld len", [(c.LD | c.W | c.LEN, 0, 0, 0), RET_A], 64),
    ("ldx len", [(c.LDX | c.W | c.LEN, 0, 0, 0), (c.MISC | c.TXA, 0, 0, 0),
                 RET_A], 64),
    ("ld imm", [ldi(0xDEADBEEF), RET_A], 0xDEADBEEF),
    ("ldx imm + txa", [ldxi(7), (c.MISC | c.TXA, 0, 0, 0), RET_A], 7),
    ("A starts at 0", [RET_A], 0),
    ("X starts at 0", [(c.MISC | c.TXA, 0, 0, 0), RET_A], 0),
    ("tax", [ldi(9), (c.MISC | c.TAX, 0, 0, 0), ldi(1), alu(c.ADD), RET_A],
     10),
    ("st / ld mem", [ldi(5), (c.ST, 0, 0, 15), ldi(0), (c.LD | c.MEM, 0, 0,
                                                         15), RET_A], 5),
    ("stx / ldx mem", [ldxi(6), (c.STX, 0, 0, 0), ldxi(0),
                       (c.LDX | c.MEM, 0, 0, 0), (c.MISC | c.TXA, 0, 0, 0),
                       RET_A], 6),
    ("add k wraps", [ldi(0xFFFFFFFF), alu(c.ADD, 2), RET_A], 1),
    ("add x", [ldi(3), ldxi(4), alu(c.ADD), RET_A], 7),
    ("sub k wraps", [ldi(1), alu(c.SUB, 2), RET_A], 0xFFFFFFFF),
    ("sub x", [ldi(10), ldxi(4), alu(c.SUB), RET_A], 6),
    ("mul k wraps", [ldi(0x10000), alu(c.MUL, 0x10001), RET_A], 0x10000),
    ("mul x", [ldi(6), ldxi(7), alu(c.MUL), RET_A], 42),
    ("div k unsigned", [ldi(0xFFFFFFFF), alu(c.DIV, 2), RET_A], 0x7FFFFFFF),
    ("div x", [ldi(45), ldxi(7), alu(c.DIV), RET_A], 6),
    ("div by x == 0 returns 0", [ldi(45), alu(c.DIV), ret(ALLOW)], 0),
    ("and k", [ldi(0xFF0F), alu(c.AND, 0x0FF0), RET_A], 0x0F00),
    ("and x", [ldi(6), ldxi(3), alu(c.AND), RET_A], 2),
    ("or k", [ldi(0x50000), alu(c.OR, 0x26), RET_A], 0x50026),
    ("or x", [ldi(4), ldxi(1), alu(c.OR), RET_A], 5),
    ("xor k", [ldi(0xFF), alu(c.XOR, 0x0F), RET_A], 0xF0),
    ("xor x", [ldi(5), ldxi(5), alu(c.XOR), RET_A], 0),
    ("lsh k", [ldi(0x80000001), alu(c.LSH, 1), RET_A], 2),
    ("lsh k 31", [ldi(1), alu(c.LSH, 31), RET_A], 0x80000000),
    ("lsh x", [ldi(1), ldxi(4), alu(c.LSH), RET_A], 16),
    ("lsh x 32 is lsh 0", [ldi(3), ldxi(32), alu(c.LSH), RET_A], 3),
    ("lsh x 33 is lsh 1", [ldi(3), ldxi(33), alu(c.LSH), RET_A], 6),
    ("rsh k", [ldi(0x80000000), alu(c.RSH, 31), RET_A], 1),
    ("rsh x is logical", [ldi(0x80000000), ldxi(4), alu(c.RSH), RET_A],
     0x08000000),
    ("rsh x 36 is rsh 4", [ldi(0x80), ldxi(36), alu(c.RSH), RET_A], 0x8),
    ("neg", [ldi(1), (c.ALU | c.NEG, 0, 0, 0), RET_A], 0xFFFFFFFF),
    ("neg 0", [(c.ALU | c.NEG, 0, 0, 0), RET_A], 0),
    ("ret k", [ret(0x00050001)], 0x00050001),
    ("ja", [(c.JMP | c.JA, 0, 0, 1), ret(1), ret(2)], 2),
    ("ja 0", [(c.JMP | c.JA, 0, 0, 0), ret(1), ret(2)], 1),
    ("jeq k true", [ld(0), jmp(c.JEQ, 59, 0, 1), ret(1), ret(2)], 1),
    ("jeq k false", [ld(0), jmp(c.JEQ, 60, 0, 1), ret(1), ret(2)], 2),
    ("jeq x", [ld(0), ldxi(59), jmp(c.JEQ, None, 1, 0), ret(1), ret(2)], 2),
    ("jgt k unsigned", [ldi(0x80000000), jmp(c.JGT, 1, 0, 1), ret(1),
                        ret(2)], 1),
    ("jgt k equal", [ldi(5), jmp(c.JGT, 5, 0, 1), ret(1), ret(2)], 2),
    ("jgt x", [ldi(6), ldxi(5), jmp(c.JGT, None, 0, 1), ret(1), ret(2)], 1),
    ("jge k equal", [ldi(5), jmp(c.JGE, 5, 0, 1), ret(1), ret(2)], 1),
    ("jge k less", [ldi(4), jmp(c.JGE, 5, 0, 1), ret(1), ret(2)], 2),
    ("jge x", [ldi(4), ldxi(5), jmp(c.JGE, None, 0, 1), ret(1), ret(2)], 2),
    ("jset k", [ldi(6), jmp(c.JSET, 2, 0, 1), ret(1), ret(2)], 1),
    ("jset k none", [ldi(6), jmp(c.JSET, 9, 0, 1), ret(1), ret(2)], 2),
    ("jset x", [ldi(6), ldxi(1), jmp(c.JSET, None, 0, 1), ret(1), ret(2)],
     2),
    ("jt 255", [ldi(0), jmp(c.JEQ, 0, 255, 0)] + [ret(1)] * 255 + [ret(2)],
     2),
    ("unused fields ignored", [(c.LD | c.IMM, 9, 9, 4), (c.RET | c.A, 3, 3,
                                                         77)], 4),
]


@pytest.mark.parametrize("name,insns,expected", CASES,
                         ids=[case[0] for case in CASES])
def test_each_opcode_in_both_interpreters(name, insns, expected):
    assert both(Program(insns), **CALL) == expected


def test_nr_is_the_kernels_signed_int():
    prog = Program([ld(0), RET_A])
    assert both(prog, 0xFFFFFFFF) == 0xFFFFFFFF
    assert both(prog, -1) == 0xFFFFFFFF
    assert both(prog, -(1 << 31)) == 0x80000000
    assert seccomp_data(0xFFFFFFFF)[:4] == b"\xff\xff\xff\xff"


@pytest.mark.parametrize("arch,token", [
    ("x86_64", 0xC000003E), ("i386", 0x40000003), ("aarch64", 0xC00000B7),
    ("x32", 0xC000003E), (0x12345678, 0x12345678)])
def test_arch_names_and_raw_tokens(arch, token):
    prog = Program([ld(4), RET_A])
    nr = X32 | 1 if arch == "x32" else 1
    assert both(prog, nr, arch=arch) == token


def test_seccomp_data_layout():
    data = seccomp_data(1, [2, 3 << 32], arch="i386", ip=0x1122334455667788)
    assert data == struct.pack("<iIQ6Q", 1, 0x40000003, 0x1122334455667788,
                               2, 3 << 32, 0, 0, 0, 0)
    assert len(data) == 64


def test_run_returns_raw_values_and_a_long_program():
    # 4095 jumps-over, then the return: the simulator walks them all.
    insns = [(c.JMP | c.JA, 0, 0, 0)] * 4095 + [ret(0x7FFC0000)]
    assert both(Program(insns), 0) == 0x7FFC0000


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(programs(), st.lists(seccomp_data_inputs(), min_size=1, max_size=4))
def test_c_simulator_matches_python_interpreter(insns, inputs):
    prog = Program(insns)
    for call in inputs:
        assert prog.run(**call) == prog.interpret(**call)


# -- bytes and construction -------------------------------------------------

def test_bytes_are_struct_sock_filter_little_endian():
    prog = Program([(0x15, 1, 2, 0x01020304), ret(ALLOW)])
    assert bytes(prog) == (b"\x15\x00\x01\x02\x04\x03\x02\x01"
                           b"\x06\x00\x00\x00\x00\x00\xff\x7f")
    assert Program.from_bytes(bytes(prog)) == prog
    assert Program.from_bytes(bytearray(bytes(prog))) == prog
    assert len(prog) == 2


def test_instructions_are_named_tuples_and_programs_compare_by_them():
    prog = Program([[6, 0, 0, 5]])
    assert prog.instructions == (Instruction(code=6, jt=0, jf=0, k=5),)
    assert prog.instructions[0].k == 5
    assert prog == Program([(6, 0, 0, 5)])
    assert hash(prog) == hash(Program([(6, 0, 0, 5)]))
    assert prog != Program([(6, 0, 0, 6)])
    assert len({prog, Program([(6, 0, 0, 5)])}) == 1
    with pytest.raises(AttributeError):
        prog.instructions = ()


def test_programs_pickle_and_copy():
    prog = Program([(0x15, 1, 2, 3), ret(ALLOW), ret(0)])
    assert pickle.loads(pickle.dumps(prog)) == prog
    assert copy.deepcopy(prog) == prog


@pytest.mark.parametrize("insn,message", [
    ((0x10000, 0, 0, 0), "instruction 0: code 65536 does not fit in 16 bits"),
    ((6, 256, 0, 0), "instruction 0: jt 256 does not fit in 8 bits"),
    ((6, 0, -1, 0), "instruction 0: jf -1 does not fit in 8 bits"),
    ((6, 0, 0, 1 << 32), "instruction 0: k 4294967296 does not fit in 32"),
    ((6, 0, 0, -1), "instruction 0: k -1 does not fit in 32 bits"),
    ((6, 0, 0), "has 3 fields, not 4"),
    ((6, 0, 0, "5"), "instruction 0: k '5' is not an int"),
    ((6, True, 0, 0), "instruction 0: jt True is not an int"),
])
def test_constructor_names_the_bad_field(insn, message):
    with pytest.raises(ProgramError, match=re.escape(message)):
        Program([insn])


def test_constructor_names_the_instruction_index():
    with pytest.raises(ProgramError, match="instruction 2: jt 300"):
        Program([ret(0), ret(0), (6, 300, 0, 0)])


def test_from_bytes_rejects_a_partial_instruction():
    with pytest.raises(ProgramError,
                       match="program of 7 bytes is not a whole number of "
                             "8-byte instructions"):
        Program.from_bytes(b"\x06" * 7)
    with pytest.raises(ProgramError, match="use Program.from_bytes"):
        Program(b"\x06\x00\x00\x00\x00\x00\xff\x7f")


@pytest.mark.parametrize("kwargs,message", [
    (dict(nr=1, args=[-1]), r"args\[0\] -1 is negative"),
    (dict(nr=1, args=[0, 1 << 64]), r"args\[1\] 18446744073709551616 is "
                                    "out of range"),
    (dict(nr=1, args=[0] * 7), "7 args given; a syscall has at most 6"),
    (dict(nr=1, args=[1.5]), r"args\[0\] 1.5 is not an int"),
    (dict(nr=1, args="ab"), "is not a sequence of ints"),
    (dict(nr=1 << 32), "nr 4294967296 is out of range"),
    (dict(nr=-(1 << 31) - 1), "nr -2147483649 is out of range"),
    (dict(nr=True), "nr True is not an int"),
    (dict(nr=1, ip=-5), "ip -5 is negative"),
    (dict(nr=1, arch="x32"), "nr 0x1 lacks the x32 bit 0x40000000"),
])
def test_run_names_the_bad_input(kwargs, message):
    prog = Program([ret(ALLOW)])
    for method in (prog.run, prog.interpret):
        with pytest.raises(ProgramError, match=message):
            method(**kwargs)


def test_run_rejects_an_unknown_abi_by_name():
    with pytest.raises(ValueError, match="unknown ABI 'mips'"):
        Program([ret(ALLOW)]).run(1, arch="mips")


def test_run_and_interpret_refuse_invalid_programs():
    prog = Program([ld(0)])
    with pytest.raises(ProgramError, match="instruction 0: the last "
                                           "instruction must be a return"):
        prog.run(1)
    with pytest.raises(ProgramError, match="instruction 0"):
        prog.interpret(1)


# -- disassembler and assembler --------------------------------------------

GOLDEN = Program([
    ld(4),
    jmp(c.JEQ, X86_64, 1, 0),
    ret(0x80000000),
    ld(0),
    jmp(c.JGE, X32, 6, 0),
    jmp(c.JEQ, 59, 4, 0),
    jmp(c.JEQ, 1, 0, 4),
    ld(16),
    (c.ST, 0, 0, 2),
    jmp(c.JSET, 0x80000000, 0, 1),
    ret(0x0005000D),
    ret(0x0003FFFE),
    ret(0x0005FFFF),
    ret(0x12340000),
    (c.JMP | c.JA, 0, 0, 0),
    ret(ALLOW),
])

GOLDEN_TEXT = """\
 0: ld [arch]
 1: jeq #AUDIT_ARCH_X86_64, 3, 2
 2: ret KILL_PROCESS
 3: ld [nr]
 4: jge #0x40000000, 11, 5
 5: jeq #59, 10, 6                       ; execve
 6: jeq #1, 7, 11                        ; write
 7: ld [args[0].lo]
 8: st M[2]
 9: jset #0x80000000, 10, 11
10: ret ERRNO(13)
11: ret TRAP(0xfffe)
12: ret #0x5ffff                         ; ERRNO(4095)
13: ret #0x12340000                      ; unknown action: the kernel kills
14: ja 15
15: ret ALLOW
"""


def test_disasm_golden_x86_64():
    assert GOLDEN.disasm() == GOLDEN_TEXT
    assert Program.assemble(GOLDEN_TEXT) == GOLDEN


def test_disasm_names_syscalls_of_the_requested_abi():
    prog = Program([ld(0), jmp(c.JEQ, 11, 0, 0), jmp(c.JEQ, X32 | 0, 0, 0),
                    ret(ALLOW)])
    i386 = prog.disasm("i386").splitlines()
    assert i386[1].endswith("; execve")  # 11 is execve on i386
    x86 = prog.disasm().splitlines()
    assert x86[1].endswith("; munmap")
    assert x86[2].endswith("; x32 read")


def test_disasm_names_nr_only_where_a_holds_it_on_every_path():
    # Instruction 3 is reached with A = nr (from 1) and A = arch (from 2).
    prog = Program([ld(0), jmp(c.JEQ, 1, 0, 1), ld(4),
                    jmp(c.JEQ, 2, 0, 0), ret(ALLOW)])
    lines = prog.disasm().splitlines()
    assert lines[1].endswith("; write")
    assert ";" not in lines[3]


def test_disasm_prints_every_raw_instruction_losslessly():
    prog = Program([(0x28, 1, 2, 3), (c.RET | c.A, 0, 0, 9),
                    (c.ALU | c.MOD | c.K, 0, 0, 3), (c.JMP | c.JA, 1, 0, 9),
                    (0x0115, 0, 0, 0), ld(66),
                    (c.JMP | c.JA, 0, 0, 0xFFFFFFF0),
                    jmp(c.JEQ, 5, 255, 200)])
    text = prog.disasm()
    assert text.startswith("0: .insn 0x0028, 1, 2, 0x3 ")
    assert "not allowed in seccomp filters" in text
    assert "fields the instruction does not use are set" in text
    assert "5: ld [66]" in text
    assert Program.assemble(text) == prog


def test_assembler_reads_hand_written_text_with_labels():
    text = """
        ; allow write, fail everything else
        ld [nr]
        jeq #1, good, bad
    good: ret allow
    bad:
        ret errno(1)
    """
    prog = Program.assemble(text)
    assert prog == Program([ld(0), jmp(c.JEQ, 1, 0, 1), ret(ALLOW),
                            ret(ERRNO | 1)])
    assert both(prog, 1) == ALLOW
    assert both(prog, 2) == ERRNO | 1


def test_assembler_reads_every_mnemonic():
    text = """
        ld len
        ldx len
        ld #0x10
        ldx #AUDIT_ARCH_I386
        st M[0]
        stx M[15]
        ld M[0]
        ldx M[15]
        ld [instruction_pointer.hi]
        ld [16]
        add #1
        sub x
        mul #2
        div #3
        and x
        or #4
        xor x
        lsh #5
        rsh x
        neg
        tax
        txa
        ja 23
        jgt x, 24, 24
        jge #7, 25, 25
        ret a
    """
    prog = Program.assemble(text)
    prog.validate()
    assert [i.code for i in prog.instructions] == [
        0x80, 0x81, 0x00, 0x01, 0x02, 0x03, 0x60, 0x61, 0x20, 0x20,
        0x04, 0x1C, 0x24, 0x34, 0x5C, 0x44, 0xAC, 0x64, 0x7C, 0x84,
        0x07, 0x87, 0x05, 0x2D, 0x35, 0x16]
    assert prog.instructions[3].k == 0x40000003
    assert prog.instructions[8].k == 12
    assert Program.assemble(prog.disasm()) == prog


@pytest.mark.parametrize("text,message", [
    ("lda #1", "line 1: unknown instruction 'lda'"),
    ("ret allow\n5: ret allow", "line 2: instruction number 5 is wrong: "
                                "this is instruction 1"),
    ("ja 0\nret a", "line 1: jump target 0 is not after instruction 0"),
    ("jeq #1, 300, 1\n" + "ret a\n" * 300,
     "line 1: jump target 300 is 299 instructions ahead; the offset must "
     "fit in 0..255"),
    ("ja nowhere\nret a", "line 1: jump target 'nowhere' is neither"),
    ("ret ERRNO(5000)", "line 1: errno 5000 is out of range 0..4095"),
    ("ret ERRNO", r"line 1: ERRNO needs its data in parentheses"),
    ("ret ALLOW(3)", "line 1: ALLOW takes no data"),
    ("ret maybe", "line 1: unknown return value 'maybe'"),
    ("ld #0x100000000", "line 1: constant 4294967296 is out of range"),
    ("ld #x1", "line 1: constant 'x1' is not a number"),
    ("st [4]", r"line 1: st needs M\[index\]"),
    ("add", "line 1: add takes 1 operand, got 0"),
    ("a: ret a\na: ret a", "line 2: label 'a' is defined twice"),
    (".insn 6, 0, 0", "line 1: .insn takes 4 operands, got 3"),
])
def test_assembler_errors_name_the_line(text, message):
    with pytest.raises(ProgramError, match=message):
        Program.assemble(text)


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(programs(), programs(valid=False)),
       st.sampled_from(["x86_64", "i386", "x32", "aarch64"]))
def test_assemble_disasm_round_trip(insns, abi):
    prog = Program(insns)
    assert Program.assemble(prog.disasm(abi)) == prog


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 0xFFFF), st.integers(0, 255),
                          st.integers(0, 255), words()), max_size=12))
def test_round_trip_of_arbitrary_raw_instructions(insns):
    prog = Program(insns)
    assert Program.assemble(prog.disasm()) == prog


def test_valid_programs_with_clean_fields_print_no_raw_instructions():
    for case in CASES:
        text = Program(case[1]).disasm()
        if case[0] != "unused fields ignored":
            assert ".insn" not in text, text


# -- the kernel as oracle ---------------------------------------------------

def guarded(body):
    """Wrap a valid program so that every verdict is ERRNO or KILL.

    Calls without the x32 bit in nr (the test child's own write and exit)
    are allowed.  ``ret #k`` becomes ERRNO(k & 0xfff); ``ret a`` jumps to
    an epilogue returning ERRNO(A & 0xfff)::

        ld [nr]; jset #0x40000000, body, 2; ret ALLOW
        body...
        and #0xfff; or #0x50000; ret a
    """
    n = len(body)
    out = [ld(0), jmp(c.JSET, X32, 1, 0), ret(ALLOW)]
    for i, (code, jt, jf, k) in enumerate(body):
        if code & 0x07 == c.RET:
            out.append((c.JMP | c.JA, 0, 0, n - i - 1) if code == c.RET | c.A
                       else ret(ERRNO | (k & 0xFFF)))
        else:
            out.append((code, jt, jf, k))
    out += [alu(c.AND, 0xFFF), alu(c.OR, ERRNO), RET_A]
    prog = Program(out)
    prog.validate()
    return prog


def check_against_kernel(prog, calls):
    """Install ``prog`` in a child, make ``calls``, compare each outcome
    with the simulator's verdict."""
    ip = libc_syscall_ip()
    got = kernel_outcomes(bytes(prog), calls)
    for (nr, args), outcome in zip(calls, got):
        verdict = both(prog, nr, args, ip=ip)
        assert outcome == expected_outcome(verdict), (
            prog.disasm(), hex(nr), args, hex(verdict), outcome)
        if outcome[0] == "killed":
            break
    assert len(got) == len(calls) or got[-1][0] == "killed"


def test_kernel_shift_by_x_uses_the_low_five_bits():
    body = Program.assemble("""
        ld [args[0].lo]
        tax
        ld [args[1].lo]
        lsh x
        st M[0]
        ld [args[1].lo]
        rsh x
        ldx M[0]
        add x
        ret a
    """)
    calls = [(X32 | 7, (shift, value)) for shift in (0, 1, 31, 32, 33, 36,
                                                     63, 64, 0xFFFFFFFF)
             for value in (0x81, 0x400)]
    check_against_kernel(guarded(body.instructions), calls)


def test_kernel_division_by_x_zero_kills():
    body = Program.assemble("""
        ld [args[0].lo]
        tax
        ld #4000
        div x
        ret a
    """)
    prog = guarded(body.instructions)
    assert both(prog, X32 | 7, (0,)) == 0
    check_against_kernel(prog, [(X32 | 7, (8,)), (X32 | 7, (3,)),
                                (X32 | 7, (0,)), (X32 | 7, (1,))])


def test_kernel_sees_the_fields_where_the_simulator_reads_them():
    for offset in range(0, 64, 4):
        # ERRNO(field & 0xfff) and, in a second call, the next 12 bits.
        body = [ld(offset), jmp(c.JSET, 1 << 20, 0, 1),
                alu(c.RSH, 12), RET_A]
        calls = [(X32 | 0x123, (0xA0000ABC_00000DEF, 0x5000_0000_0FFF_F123,
                                0xFFFFFFFFFFFFFFFF, 0x100000, 42, 1 << 63)),
                 (X32 | 0x80000000, (1, 2, 3, 4, 5, 6))]
        check_against_kernel(guarded(body), calls)


def test_kernel_sees_the_instruction_pointer_of_libc_syscall():
    ip = libc_syscall_ip()
    body = [ld(8), jmp(c.JEQ, ip & 0xFFFFFFFF, 0, 3),
            ld(12), jmp(c.JEQ, ip >> 32, 0, 1), ret(1), ret(2)]
    prog = guarded(body)
    assert both(prog, X32 | 5, ip=ip) == ERRNO | 1
    check_against_kernel(prog, [(X32 | 5, ())])


@settings(max_examples=120, deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(programs(max_size=40),
       st.lists(st.tuples(words(), st.lists(st.integers(0, 2**64 - 1)
                                            | st.builds(lambda a, b: a << 32
                                                        | b, words(),
                                                        words()),
                                            min_size=6, max_size=6)),
                min_size=1, max_size=5))
def test_simulator_matches_the_kernel(insns, raw_calls):
    calls = [(X32 | nr, args) for nr, args in raw_calls]
    check_against_kernel(guarded(insns), calls)


def test_guarded_programs_kill_by_sigsys():
    # The harness itself: a KILL verdict must show up as death by SIGSYS.
    assert expected_outcome(0) == ("killed", signal.SIGSYS, 0)
    assert expected_outcome(ERRNO) == ("ret", 0, 0)
    assert expected_outcome(ERRNO | 5000) == ("ret", -1, 4095)
