"""Program.validate() against the kernel's seccomp checker.

The kernel is the oracle: every program here is also offered to
seccomp(SECCOMP_SET_MODE_FILTER) in a forked child, and validate() must
raise exactly when the kernel answers EINVAL.  The pure-Python validator
(seccomp_ack._pybpf.check) is held to the same answers.
"""

import errno
import os
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from seccomp_ack import _pybpf
from seccomp_ack import bpfconst as c
from seccomp_ack._bpf_strategies import programs
from seccomp_ack.errors import ProgramError
from seccomp_ack.program import Program

from _child import install_raw, kernel_accepts, run_child

ALLOW = 0x7FFF0000
RET_A = (c.RET | c.A, 0, 0, 0)


def ret(k=ALLOW):
    return (c.RET | c.K, 0, 0, k)


def ld(k):
    return (c.LD | c.W | c.ABS, 0, 0, k)


def ja(k):
    return (c.JMP | c.JA, 0, 0, k)


def jeq(jt, jf, k=0):
    return (c.JMP | c.JEQ | c.K, jt, jf, k)


def st_(k):
    return (c.ST, 0, 0, k)


def ldm(k):
    return (c.LD | c.MEM, 0, 0, k)


def ours(insns):
    """(C validator accepts, Python validator accepts), which must agree."""
    prog = Program(insns)
    try:
        prog.validate()
        accepted = True
    except ProgramError:
        accepted = False
    assert accepted == (_pybpf.check(prog.instructions) is None), insns
    return accepted


def assert_kernel_agrees(cases):
    verdicts = kernel_accepts([bytes(Program(insns)) for insns in cases])
    for insns, (accepted, err) in zip(cases, verdicts):
        assert accepted or err == errno.EINVAL, (insns, err)
        assert ours(insns) == accepted, (Program(insns).disasm(), accepted)


# (instructions, message) for programs the kernel rejects.
INVALID = [
    ([], "the program has no instructions (a filter needs 1 to 4096)"),
    ([ja(0)] * 4096 + [ret()],
     "the program has 4097 instructions, more than the kernel's limit of "
     "4096"),
    ([(0x28, 0, 0, 0), ret()],
     "instruction 0: opcode 0x0028 is not allowed in seccomp filters"),
    ([(c.ALU | c.MOD | c.K, 0, 0, 3), ret()],
     "instruction 0: opcode 0x0094 is not allowed in seccomp filters"),
    ([ret(), (0x0106, 0, 0, 0)],
     "instruction 1: opcode 0x0106 is not allowed in seccomp filters"),
    ([ld(66), ret()], "instruction 0: load offset 66 is not a 4-aligned "
                      "offset inside the 64-byte seccomp_data"),
    ([ld(64), ret()], "instruction 0: load offset 64 is not"),
    ([ld(2), ret()], "instruction 0: load offset 2 is not"),
    ([(c.ALU | c.DIV | c.K, 0, 0, 0), ret()],
     "instruction 0: division by constant 0"),
    ([(c.ALU | c.LSH | c.K, 0, 0, 32), ret()],
     "instruction 0: shift by constant 32 is out of range 0..31"),
    ([(c.ALU | c.RSH | c.K, 0, 0, 0xFFFFFFFF), ret()],
     "instruction 0: shift by constant 4294967295 is out of range 0..31"),
    ([st_(16), ret()],
     "instruction 0: scratch word index 16 is out of range 0..15"),
    ([(c.LDX | c.MEM, 0, 0, 99), ret()],
     "instruction 0: scratch word index 99 is out of range 0..15"),
    ([ld(0), ja(2), ret(), ret()],
     "instruction 1: jump offset 2 goes past the end of the 4-instruction "
     "program"),
    ([ja(0xFFFFFFFF), ret()], "instruction 0: jump offset 4294967295 goes"),
    ([ld(0), jeq(2, 0), ret(), ret()],
     "instruction 1: true jump offset 2 goes past the end of the "
     "4-instruction program"),
    ([jeq(0, 200), ret()], "instruction 0: false jump offset 200 goes past "
                           "the end of the 2-instruction program"),
    ([ld(0)], "instruction 0: the last instruction must be a return, not "
              "opcode 0x0020"),
    ([ret(), (c.ALU | c.NEG, 0, 0, 0)],
     "instruction 1: the last instruction must be a return, not opcode "
     "0x0084"),
    ([ldm(3), ret()], "instruction 0: load from scratch word M[3], which is "
                      "not stored on every path that reaches it"),
    # Stored on one branch only.
    ([jeq(0, 1), st_(1), ldm(1), ret()], "instruction 2: load from scratch "
                                         "word M[1]"),
    # The kernel carries the set across a RET, so this unreachable load is
    # rejected although no path reaches it.
    ([ret(), ldm(0), ret()], "instruction 1: load from scratch word M[0]"),
]

VALID = [
    [ret()],
    [RET_A],
    [ja(0)] * 4095 + [ret()],
    [st_(0), ldm(0), ret()],
    [(c.STX, 0, 0, 15), (c.LDX | c.MEM, 0, 0, 15), ret()],
    # Stored on both branches.
    [jeq(0, 2), st_(4), ja(1), st_(4), ldm(4), RET_A],
    # Stored before a RET: the kernel carries the set to the next
    # instruction, so this (unreachable) load passes.
    [st_(2), ret(), ldm(2), ret()],
    # A jump of offset 0 marks the next instruction with the current set.
    [st_(3), jeq(0, 0), ldm(3), ret()],
    [ld(60), (c.ALU | c.LSH | c.K, 0, 0, 31), (c.ALU | c.DIV | c.X, 0, 0, 0),
     ret()],
    # Fields an instruction does not use are ignored.
    [(c.LD | c.IMM, 7, 9, 5), (c.RET | c.A, 1, 1, 99)],
    [ld(0), jeq(255, 255)] + [ret()] * 256,
]


@pytest.mark.parametrize("insns,message", INVALID,
                         ids=[f"invalid{i}" for i in range(len(INVALID))])
def test_invalid_programs_name_the_instruction_and_value(insns, message):
    with pytest.raises(ProgramError, match=re.escape(message)):
        Program(insns).validate()


@pytest.mark.parametrize("insns", VALID,
                         ids=[f"valid{i}" for i in range(len(VALID))])
def test_valid_programs_pass(insns):
    Program(insns).validate()


def test_the_kernel_agrees_with_the_tables():
    assert_kernel_agrees([insns for insns, _ in INVALID] + VALID)


def test_every_opcode_against_the_kernel():
    """All 65536 opcodes, each in a program that is valid but for it.

    Every accepted program returns ALLOW whatever its opcode does, so one
    child can install them all; if one kills the child anyway (the kernel
    accepted an opcode this test did not expect), the parent records it as
    accepted and starts a new child after it.
    """
    def probe(code):
        if code & 0x07 == c.JMP:
            k = 0
        elif code & 0x07 == c.RET:
            k = ALLOW
        else:
            k = 4
        # A = ALLOW (for ret a), X = 1 (for div x), M[4] stored.
        return bytes(Program([(c.LD | c.IMM, 0, 0, ALLOW),
                              (c.LDX | c.IMM, 0, 0, 1), st_(4),
                              (code, 0, 0, k), ret()]))

    kernel = {}
    start = 0
    while start < 0x10000:
        first = start

        def body(fd):
            for code in range(first, 0x10000):
                err = install_raw(probe(code))
                os.write(fd, bytes([err]))

        data, _ = run_child(body, timeout=60)
        for offset, err in enumerate(data):
            kernel[first + offset] = err
        start = first + len(data)
        if start < 0x10000:
            kernel[start] = 0  # the child died: that one was installed
            start += 1
    ours_accepted = set()
    for code in range(0x10000):
        program = Program.from_bytes(probe(code))
        assert ours(program.instructions) == (kernel[code] == 0), (
            hex(code), kernel[code])
        if kernel[code] == 0:
            ours_accepted.add(code)
        else:
            assert kernel[code] == errno.EINVAL
    # 7 loads, 2 stores, 9 ALU ops x 2 sources + NEG, 2 misc, 2 returns,
    # JA and 4 conditional jumps x 2 sources.
    assert len(ours_accepted) == 7 + 2 + 19 + 2 + 2 + 9


def test_empty_program_against_the_kernel():
    # install_raw passes a zero length straight to seccomp(2).
    assert kernel_accepts([b""]) == [(False, errno.EINVAL)]


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.too_slow,
                                 HealthCheck.data_too_large])
@given(st.lists(st.one_of(programs(valid=False), programs()),
                min_size=12, max_size=12))
def test_validator_matches_the_kernel(batch):
    assert_kernel_agrees(batch)


@settings(max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(programs(valid=False))
def test_c_and_python_validators_agree(insns):
    ours(insns)


@settings(max_examples=100, deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(programs())
def test_generated_valid_programs_are_valid(insns):
    assert ours(insns)


def test_validate_raises_every_time_not_only_the_first():
    prog = Program([ldm(0), ret()])
    for _ in range(2):
        with pytest.raises(ProgramError, match="instruction 0"):
            prog.validate()
    good = Program([ret()])
    good.validate()
    good.validate()
