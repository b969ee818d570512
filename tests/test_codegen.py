"""The code generator, held against tables, Filter.evaluate and hypothesis.

Every program here runs in both simulators (the C one and the pure-Python
one); none is installed.  The kernel as oracle is test_compiler_kernel.py.
"""

import re
import warnings

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from seccomp_ack import strategies as sst
from seccomp_ack import tables
from seccomp_ack.actions import (ACK, ALLOW, ERRNO, KILL_PROCESS,
                                 KILL_THREAD, LOG, RET_TRAP, TRACE, TRAP,
                                 USER_NOTIF)
from seccomp_ack.asm import Assembler, longest_path
from seccomp_ack.codegen import (GUARDED, UNREPORTED_UNDER_ACK,
                                 MultiplexerWarning,
                                 check_stack_budget, compile_filter,
                                 compile_instructions, kernel_length)
from seccomp_ack.cookies import guard_cookie
from seccomp_ack.errors import ProgramError, RuleError
from seccomp_ack.program import Program
from seccomp_ack.rules import Arg, Condition, Filter

#: A trampoline address with distinct, non-zero words.
TRAMP = 0x00007F1234567890
X86_64 = tables.AUDIT_ARCH_X86_64
I386 = tables.AUDIT_ARCH_I386
AARCH64 = tables.AUDIT_ARCH_AARCH64
FOREIGN = sst.FOREIGN_ARCH
CLONE_VM = 0x100
GUARD = guard_cookie()   # the guard rules' cookie, whatever ``cookies`` says


def cookie(data):
    """The tests' cookies: 0x8000..0xFFFE, never equal to TRAP data."""
    return 0xFFFF - data


def build(flt):
    # Random filters often allow i386's socketcall while restricting
    # socket: that warning has its own tests (test_multiplexers.py).
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MultiplexerWarning)
        return compile_filter(flt, trampoline=TRAMP, cookies=cookie)


def nr_of(name, abi="x86_64"):
    return tables.syscall_number(name, abi)


@pytest.fixture(params=["run", "interpret"])
def run(request):
    """Run a program on one call, in the C or in the Python simulator."""
    def call(program, nr, args=(), arch=X86_64, ip=0):
        method = getattr(program, request.param)
        return method(nr, list(args), arch=arch, ip=ip)
    return call


# The reference: Filter.evaluate, then the ACK lowering written out again
# (independently of the code generator's rewrite of the rules).
_UNREPORTED = {"rt_sigreturn", "restart_syscall"}


def _reports(flt):
    return "x86_64" in flt.abis and any(
        a.kind == "ack" and a.data
        for a in [r.action for _, r in flt.rules_for("x86_64")]
        + [flt.default])


def _guarded(nr, args):
    """The guard rules, written out again: calls the runtime must see."""
    try:
        name = tables.syscall_name(nr, "x86_64")
    except ValueError:
        return False
    how, new_set = args[0] & 0xFFFFFFFF, args[1]
    return (name == "rt_sigprocmask" and how != 1 and new_set != 0
            or name == "rt_sigaction" and (args[0] & 0xFFFFFFFF == 31
                                           or args[1] != 0)
            or name in ("execve", "execveat"))


def expected(flt, nr, args=(), arch=X86_64, ip=0):
    args = tuple(args) + (0,) * (6 - len(args))
    action, abi = flt.evaluate(nr, args, arch=arch)
    if abi == "x86_64" and _reports(flt) and _guarded(nr, args) and (
            action.kind == "allow"
            or action.kind == "ack" and action.data == 0):
        # A guard rule outranks ALLOW: the default if that reports, else
        # the silent guard cookie.
        if flt.default.kind == "ack" and flt.default.data:
            action = flt.default
        else:
            return ALLOW.value if ip == TRAMP else RET_TRAP | GUARD
    if action.kind != "ack":
        return action.value
    if action.data == 0 or abi != "x86_64":
        return ALLOW.value
    try:
        name = tables.syscall_name(nr, "x86_64")
    except ValueError:
        name = None
    if name in _UNREPORTED:
        return ALLOW.value
    if ip == TRAMP:
        return ALLOW.value
    return RET_TRAP | cookie(action.data)


def test_unreported_syscalls_are_the_documented_ones():
    assert UNREPORTED_UNDER_ACK == _UNREPORTED


# -- comparisons: operator x width x boundary ---------------------------

_OPS = ("eq", "ne", "lt", "le", "gt", "ge")


def _w(hi, lo):
    return hi << 32 | lo


# (number, width, value, argument, expected "eq ne lt le gt ge" as T/F)
COMPARISONS = [
    # 64-bit, value hi=5 lo=7.
    (1, 64, _w(5, 7), _w(5, 7), "TFFTFT"),            # equal
    (2, 64, _w(5, 7), _w(5, 6), "FTTTFF"),            # hi equal, lo below
    (3, 64, _w(5, 7), _w(5, 8), "FTFFTT"),            # hi equal, lo above
    (4, 64, _w(5, 7), _w(4, 8), "FTTTFF"),            # hi below, lo above
    (5, 64, _w(5, 7), _w(6, 6), "FTFFTT"),            # hi above, lo below
    (6, 64, _w(5, 7), _w(4, 0xFFFFFFFF), "FTTTFF"),   # hi below, lo max
    (7, 64, _w(5, 7), _w(6, 0), "FTFFTT"),            # hi above, lo 0
    (8, 64, _w(5, 7), _w(4, 7), "FTTTFF"),            # hi below, lo equal
    (9, 64, _w(5, 7), _w(6, 7), "FTFFTT"),            # hi above, lo equal
    # 64-bit, value with a zero high word.
    (10, 64, 7, 7, "TFFTFT"),
    (11, 64, 7, 6, "FTTTFF"),
    (12, 64, 7, _w(1, 0), "FTFFTT"),                  # hi above, lo below
    (13, 64, 7, _w(1, 7), "FTFFTT"),
    (14, 64, 0, 0, "TFFTFT"),
    (15, 64, 0, _w(0xFFFFFFFF, 0xFFFFFFFF), "FTFFTT"),
    # 64-bit, value with an all-ones high word.
    (16, 64, _w(0xFFFFFFFF, 0), _w(0xFFFFFFFF, 0), "TFFTFT"),
    (17, 64, _w(0xFFFFFFFF, 0), _w(0xFFFFFFFF, 1), "FTFFTT"),
    (18, 64, _w(0xFFFFFFFF, 0), _w(0xFFFFFFFE, 0xFFFFFFFF), "FTTTFF"),
    (19, 64, (1 << 64) - 1, (1 << 64) - 1, "TFFTFT"),
    (20, 64, (1 << 64) - 1, _w(0xFFFFFFFF, 0xFFFFFFFE), "FTTTFF"),
    # 32-bit: the high word is ignored, whatever it holds.
    (21, 32, 7, 7, "TFFTFT"),
    (22, 32, 7, _w(5, 7), "TFFTFT"),
    (23, 32, 7, _w(0xFFFFFFFF, 6), "FTTTFF"),
    (24, 32, 7, _w(1, 8), "FTFFTT"),
    (25, 32, 0xFFFFFFFF, 0xFFFFFFFF, "TFFTFT"),
    (26, 32, 0xFFFFFFFF, _w(3, 0xFFFFFFFE), "FTTTFF"),
    (27, 32, 0, _w(0xFFFFFFFF, 0), "TFFTFT"),
    (28, 32, 0x80000000, 0x7FFFFFFF, "FTTTFF"),       # unsigned, not signed
    (29, 64, 1, 0, "FTTTFF"),
    (30, 32, 1, _w(1, 0), "FTTTFF"),
]


@pytest.mark.parametrize("no,width,value,arg,answers", COMPARISONS,
                         ids=[f"cmp{row[0]}" for row in COMPARISONS])
def test_comparison(run, no, width, value, arg, answers):
    for op, answer in zip(_OPS, answers):
        cond = Condition(2, op, value, width=width)
        flt = Filter(ERRNO(1)).add(ALLOW, "getppid", cond)
        holds = answer == "T"
        assert cond.holds(arg) is holds, (no, op)   # the table itself
        want = ALLOW.value if holds else ERRNO(1).value
        got = run(build(flt), nr_of("getppid"), [0, 0, arg])
        assert got == want, (no, op, hex(arg))


# (number, width, mask, value, argument, holds)
MASKED = [
    (1, 32, 0xF0, 0x30, 0x35, True),
    (2, 32, 0xF0, 0x30, 0x45, False),
    (3, 32, 0xF0, 0x30, _w(0xFFFFFFFF, 0x35), True),   # high garbage
    (4, 64, _w(0xFF, 0xFF), _w(0x12, 0x34), _w(0x12, 0xAAAAAA34), True),
    (5, 64, _w(0xFF, 0xFF), _w(0x12, 0x34), _w(0x13, 0x34), False),
    (6, 64, _w(0xFF, 0xFF), _w(0x12, 0x34), _w(0x12, 0x35), False),
    (7, 64, _w(0xFF, 0), _w(5, 0), _w(5, 0xFFFFFFFF), True),  # hi mask only
    (8, 64, _w(0xFF, 0), _w(5, 0), _w(6, 0), False),
    (9, 64, 0xF0, 0x30, _w(7, 0x30), True),           # lo mask only
    (10, 64, 0xF, 0x10, 0x10, False),                 # value outside mask
    (11, 64, 0, 0, _w(9, 9), True),                   # empty mask
    (12, 32, CLONE_VM, 0, CLONE_VM, False),
]


@pytest.mark.parametrize("no,width,mask,value,arg,holds", MASKED,
                         ids=[f"masked{row[0]}" for row in MASKED])
def test_masked_equality(run, no, width, mask, value, arg, holds):
    cond = Condition(4, "masked_eq", value, mask, width)
    assert cond.holds(arg) is holds
    flt = Filter(ERRNO(1)).add(ALLOW, "getppid", cond)
    want = ALLOW.value if holds else ERRNO(1).value
    assert run(build(flt), nr_of("getppid"), [0, 0, 0, 0, arg]) == want


def test_conditions_of_one_rule_are_anded_and_rules_ored(run):
    flt = Filter(ERRNO(1))
    flt.add(ALLOW, "openat", Arg(0) == 1, Arg(1) >= 10)
    flt.add(ALLOW, "openat", Arg(0) == 2)
    p = build(flt)
    openat = nr_of("openat")
    assert run(p, openat, [1, 10]) == ALLOW.value
    assert run(p, openat, [1, 9]) == ERRNO(1).value
    assert run(p, openat, [2, 0]) == ALLOW.value
    assert run(p, openat, [3, 99]) == ERRNO(1).value


# -- ABIs ---------------------------------------------------------------

BAD = ERRNO(99)
ALL_ABIS = ("x86_64", "i386", "x32", "aarch64")

# (number, abis, arch token, nr, expected action); each filter allows
# read, fails openat with ERRNO(2) and has default ERRNO(1).
ABI_CASES = [
    (1, ("x86_64",), X86_64, 0, ALLOW),                 # read
    (2, ("x86_64",), X86_64, 257, ERRNO(2)),            # openat
    (3, ("x86_64",), X86_64, 1, ERRNO(1)),              # write: default
    (4, ("x86_64",), I386, 3, BAD),                     # i386 read
    (5, ("x86_64",), X86_64, 0x40000000, BAD),          # x32 read
    (6, ("x86_64",), X86_64, 0x40000101, BAD),          # x32 openat
    (7, ("x86_64",), X86_64, 0xFFFFFFFF, BAD),          # x32 bit set
    (8, ("x86_64",), X86_64, 0x80000000, ERRNO(1)),     # no x32 bit
    (9, ("x86_64",), AARCH64, 63, BAD),
    (10, ("x86_64",), FOREIGN, 0, BAD),
    (11, ALL_ABIS, X86_64, 0, ALLOW),
    (12, ALL_ABIS, I386, 3, ALLOW),                     # i386 read
    (13, ALL_ABIS, I386, 295, ERRNO(2)),                # i386 openat
    (14, ALL_ABIS, I386, 0, ERRNO(1)),                  # i386 restart
    (15, ALL_ABIS, I386, 0x40000000, ERRNO(1)),         # never x32
    (16, ALL_ABIS, X86_64, 0x40000000, ALLOW),          # x32 read
    (17, ALL_ABIS, X86_64, 0x40000101, ERRNO(2)),       # x32 openat
    (18, ALL_ABIS, X86_64, 0x40000003, ERRNO(1)),       # x32 close
    (19, ALL_ABIS, AARCH64, 63, ALLOW),                 # aarch64 read
    (20, ALL_ABIS, AARCH64, 56, ERRNO(2)),              # aarch64 openat
    (21, ALL_ABIS, AARCH64, 0, ERRNO(1)),
    (22, ALL_ABIS, FOREIGN, 63, BAD),
    (23, ("x32",), X86_64, 0, BAD),                     # x86_64 read
    (24, ("x32",), X86_64, 0x40000000, ALLOW),
    (25, ("i386", "aarch64"), X86_64, 0, BAD),
    (26, ("i386", "aarch64"), I386, 3, ALLOW),
    (27, ("aarch64",), AARCH64, 63, ALLOW),
    (28, ("aarch64",), I386, 3, BAD),
]


@pytest.mark.parametrize("no,abis,arch,nr,action", ABI_CASES,
                         ids=[f"abi{row[0]}" for row in ABI_CASES])
def test_abi(run, no, abis, arch, nr, action):
    flt = Filter(ERRNO(1), abis=abis, bad_abi=BAD)
    flt.add(ALLOW, "read").add(ERRNO(2), "openat")
    assert run(build(flt), nr, [], arch) == action.value
    assert expected(flt, nr, (), arch) == action.value


# -- actions --------------------------------------------------------------

# (number, action of the rule for getppid, ip, expected raw value)
ACTION_CASES = [
    (1, KILL_PROCESS, 0, 0x80000000),
    (2, KILL_THREAD, 0, 0x00000000),
    (3, TRAP(0), 0, 0x00030000),
    (4, TRAP(0x7FFF), 0, 0x00037FFF),
    (5, ERRNO(0), 0, 0x00050000),
    (6, ERRNO(4095), 0, 0x00050FFF),
    (7, USER_NOTIF, 0, 0x7FC00000),
    (8, TRACE(0xFFFF), 0, 0x7FF0FFFF),
    (9, LOG, 0, 0x7FFC0000),
    (10, ALLOW, 0, 0x7FFF0000),
    (11, ACK(0), 0, 0x7FFF0000),
    (12, ACK(5), 0, RET_TRAP | cookie(5)),
    (13, ACK(5), TRAMP, 0x7FFF0000),
    (14, ACK(5), TRAMP + 1, RET_TRAP | cookie(5)),
    (15, ACK(5), TRAMP ^ 1 << 32, RET_TRAP | cookie(5)),   # hi word differs
    (16, ACK(5), TRAMP & 0xFFFFFFFF, RET_TRAP | cookie(5)),
    (17, ACK(0x7FFF), 0, RET_TRAP | cookie(0x7FFF)),
]


@pytest.mark.parametrize("no,action,ip,value", ACTION_CASES,
                         ids=[f"action{row[0]}" for row in ACTION_CASES])
def test_action(run, no, action, ip, value):
    flt = Filter(ERRNO(1)).add(action, "getppid")
    assert run(build(flt), nr_of("getppid"), [], X86_64, ip) == value
    assert expected(flt, nr_of("getppid"), (), X86_64, ip) == value


# (number, syscall, args, ip, expected) under ACK(9) for every syscall
# named, default ERRNO(1).
FORK = 17   # SIGCHLD, as fork() passes it
ACK_CASES = [
    (1, "rt_sigreturn", (), 0, ALLOW.value),
    (2, "restart_syscall", (), 0, ALLOW.value),
    (3, "clone3", (), 0, RET_TRAP | cookie(9)),
    (4, "vfork", (), 0, RET_TRAP | cookie(9)),
    (5, "clone", (FORK, 0), 0, RET_TRAP | cookie(9)),          # fork-like
    (6, "clone", (FORK, 0), TRAMP, ALLOW.value),
    (7, "clone", (FORK | CLONE_VM, 0), 0, RET_TRAP | cookie(9)),  # thread
    (8, "clone", (FORK, 0x7F0000001000), 0, RET_TRAP | cookie(9)),
    (9, "vfork", (), TRAMP, ALLOW.value),
    (10, "clone3", (), TRAMP, ALLOW.value),
    (11, "execve", (), 0, RET_TRAP | cookie(9)),
    (12, "execveat", (), 0, RET_TRAP | cookie(9)),
    (13, "getppid", (), 0, RET_TRAP | cookie(9)),
]


@pytest.mark.parametrize("no,name,args,ip,value", ACK_CASES,
                         ids=[f"ack{row[0]}" for row in ACK_CASES])
def test_ack_lowering_of_special_syscalls(run, no, name, args, ip, value):
    by_rule = Filter(ERRNO(1)).add(ACK(9), name)
    by_default = Filter(ACK(9)).add(ERRNO(1), "kill")
    for flt in (by_rule, by_default):
        assert run(build(flt), nr_of(name), args, X86_64, ip) == value
        assert expected(flt, nr_of(name), args, X86_64, ip) == value


def test_ack_is_allow_outside_the_x86_64_abi(run):
    flt = Filter(ACK(3), abis=("x86_64", "i386", "x32", "aarch64"),
                 bad_abi=ACK(4))
    flt.add(ACK(5), "getppid")
    p = build(flt)
    getppid = RET_TRAP | cookie(5)
    assert run(p, nr_of("getppid"), [], X86_64) == getppid
    assert run(p, nr_of("getpid"), [], X86_64) == RET_TRAP | cookie(3)
    for abi, arch in (("i386", I386), ("x32", X86_64),
                      ("aarch64", AARCH64)):
        assert run(p, nr_of("getppid", abi), [], arch) == ALLOW.value
        assert run(p, nr_of("getpid", abi), [], arch) == ALLOW.value
    assert run(p, 0, [], FOREIGN) == ALLOW.value      # bad_abi ACK


def test_a_filter_without_reporting_ack_needs_no_runtime(monkeypatch):
    from seccomp_ack import cookies, runtime

    def looked_up(*args):
        raise AssertionError("the ACK runtime was consulted")
    monkeypatch.setattr(runtime, "trampoline_address", looked_up)
    monkeypatch.setattr(cookies, "cookie_for", looked_up)
    quiet = [Filter(ALLOW).add(ACK(0), "read"),
             Filter(ERRNO(1), abis=("i386",)).add(ACK(7), "getppid"),
             Filter(ERRNO(1), bad_abi=ACK(7)),
             Filter(ACK(7)).add(ALLOW, "read").rules and
             Filter(ACK(7), abis=("aarch64", "x32"))]
    for flt in quiet:
        compile_filter(flt)
    with pytest.raises(AssertionError, match="runtime was consulted"):
        compile_filter(Filter(ERRNO(1)).add(ACK(7), "getppid"))


def test_trap_data_that_is_an_ack_cookie_is_refused():
    flt = Filter(ERRNO(1)).add(ACK(5), "getppid")
    flt.add(TRAP(cookie(5)), "getpid")
    with pytest.raises(RuleError, match=f"trap data {cookie(5)} "):
        build(flt)
    flt = Filter(TRAP(cookie(6))).add(ACK(6), "getppid")
    with pytest.raises(RuleError, match="is an ACK cookie"):
        build(flt)


def test_trap_data_allocated_by_the_runtime_is_refused(monkeypatch):
    from seccomp_ack import cookies
    monkeypatch.setattr(cookies, "is_cookie", lambda v: v == 0x1234)
    flt = Filter(ERRNO(1)).add(TRAP(0x1234), "getpid")
    with pytest.raises(RuleError, match=r"TRAP\(4660\): trap data 4660 "
                                        r"\(0x1234\) is an ACK cookie"):
        build(flt)
    build(Filter(ERRNO(1)).add(TRAP(0x1235), "getpid"))


# -- precedence -----------------------------------------------------------

def test_most_restrictive_action_wins(run):
    flt = Filter(ERRNO(1))
    flt.add(ALLOW, "openat")
    flt.add(LOG, "openat", Arg(2) == 1)
    flt.add(ERRNO(13), "openat", (Arg(1) & 3) == 1)
    flt.add(TRAP(2), "openat", Arg(0) == 5)
    flt.add(KILL_PROCESS, "openat", Arg(0) == 5, Arg(2) == 1)
    p = build(flt)
    openat = nr_of("openat")
    assert run(p, openat, [0, 0, 0]) == ALLOW.value
    assert run(p, openat, [0, 0, 1]) == LOG.value
    assert run(p, openat, [0, 1, 1]) == ERRNO(13).value
    assert run(p, openat, [5, 1, 0]) == TRAP(2).value
    assert run(p, openat, [5, 1, 1]) == KILL_PROCESS.value


def test_first_added_wins_among_one_kind(run):
    flt = Filter(ALLOW)
    flt.add(ERRNO(1), "openat", Arg(0) == 1)
    flt.add(ERRNO(2), "openat")
    flt.add(ERRNO(3), "openat", Arg(0) == 2)
    p = build(flt)
    openat = nr_of("openat")
    assert run(p, openat, [1]) == ERRNO(1).value
    assert run(p, openat, [2]) == ERRNO(2).value
    assert run(p, openat, [3]) == ERRNO(2).value


# -- programs: size, far jumps, layout ------------------------------------

def test_compile_filter_wraps_the_instructions_in_a_program():
    flt = Filter(ERRNO(1)).add(ACK(2), "getppid", Arg(0) < 5)
    insns = compile_instructions(flt, trampoline=TRAMP, cookies=cookie)
    assert all(type(insn) is tuple and len(insn) == 4 for insn in insns)
    assert Program(insns) == build(flt)


def test_syscalls_without_conditions_share_one_ret_per_action():
    flt = Filter(ERRNO(1))
    flt.add(ALLOW, *range(0, 200, 2))
    p = build(flt)
    rets = [insn for insn in p if insn.code == 0x06]
    assert sorted(set(r.k for r in rets)) == sorted(
        {ALLOW.value, ERRNO(1).value, KILL_PROCESS.value})
    # The search is balanced: 200 intervals, depth 8 plus arch and x32.
    assert longest_path(p) <= 4 + 8 + 1


def test_far_jumps(run):
    flt = Filter(ERRNO(1))
    for nr in range(300):
        flt.add(ERRNO(1000 + nr), nr, Arg(0) == nr)
    p = build(flt)
    p.validate()
    assert len(p) > 1000
    assert any(insn.code == 0x05 for insn in p), "expected a ja island"
    for nr in (0, 1, 150, 298, 299):
        assert run(p, nr, [nr]) == ERRNO(1000 + nr).value
        assert run(p, nr, [nr + 1]) == ERRNO(1).value
    assert run(p, 300, [300]) == ERRNO(1).value


def test_assembler_reaches_far_targets_through_islands():
    asm = Assembler()
    end = asm.label("end")
    labels = [asm.label() for _ in range(600)]
    asm.ld(0)
    asm.jump("jeq", 1, end, labels[0])
    for i, label in enumerate(labels):
        asm.bind(label)
        asm.ld(4 * (i % 16))
    asm.bind(end)
    asm.ld(0)
    asm.ret(7)
    insns = asm.assemble()
    p = Program(insns)
    p.validate()
    assert p.interpret(1) == 7 and p.interpret(2) == 7
    # jeq #1, island, next; island: ja end
    assert insns[1][1:3] == (0, 1) and insns[2][0] == 0x05


def test_assembler_refuses_backward_jumps():
    asm = Assembler()
    top = asm.label("top")
    asm.bind(top)
    asm.ld(0)
    asm.ja(top)
    with pytest.raises(ProgramError, match="backward"):
        asm.assemble()


def test_assembler_refuses_a_label_never_placed():
    asm = Assembler()
    asm.ja(asm.label("nowhere"))
    with pytest.raises(ProgramError, match="never placed"):
        asm.assemble()


def test_program_size_limit():
    flt = Filter(ERRNO(1))
    for nr in range(700):
        flt.add(ERRNO(1), nr, Arg(0) == nr, Arg(1) > nr)
    with pytest.raises(ProgramError) as info:
        build(flt)
    assert re.fullmatch(r"program has \d+ instructions; the kernel allows "
                        r"4096", str(info.value))


def filler(n):
    """n instructions: loads, then ret ALLOW; the kernel charges n + 4."""
    return [(0x20, 0, 0, 0)] * (n - 1) + [(0x06, 0, 0, ALLOW.value)]


# (number, program, kernel length) as measured on Linux 6.18.
KERNEL_LENGTHS = [
    (1, [(0x06, 0, 0, 0)], 5),
    (2, filler(2), 6),
    (3, [(0x20, 0, 0, 0), (0x15, 0, 1, 5), (6, 0, 0, 0), (6, 0, 0, 1)], 9),
    (4, [(0x20, 0, 0, 0), (0x15, 0, 1, 0x80000000), (6, 0, 0, 0),
         (6, 0, 0, 1)], 10),
    (5, [(0x20, 0, 0, 0), (0x15, 1, 2, 5)] + [(6, 0, 0, 0)] * 3, 12),
    (6, [(0x20, 0, 0, 0), (0x45, 1, 2, 0x80000000)] + [(6, 0, 0, 0)] * 3,
     13),
    (7, [(0x20, 0, 0, 0), (0x54, 0, 0, 0x80000003), (6, 0, 0, 0)], 7),
    (8, [(0x05, 0, 0, 1), (6, 0, 0, 0), (6, 0, 0, 1)], 8),
    (9, [(0x20, 0, 0, 8), (0x45, 0, 1, 0xCA524C29), (6, 0, 0, 0),
         (6, 0, 0, 1)], 11),
    (10, [(0x20, 0, 0, 8), (0x45, 1, 0, 0xCA524C29), (6, 0, 0, 0),
          (6, 0, 0, 1)], 10),
    (11, [(0x20, 0, 0, 8), (0x25, 0, 1, 0xCA524C29), (6, 0, 0, 0),
          (6, 0, 0, 1)], 10),
    (12, [(0x20, 0, 0, 8), (0x15, 0, 0, 0xCA524C29), (6, 0, 0, 0)], 8),
]


@pytest.mark.parametrize("no,insns,length", KERNEL_LENGTHS,
                         ids=[f"klen{row[0]}" for row in KERNEL_LENGTHS])
def test_kernel_length(no, insns, length):
    assert kernel_length(insns) == length
    assert kernel_length(Program(insns)) == length


def test_stack_budget():
    assert check_stack_budget([100]) == 100
    assert check_stack_budget([100, 50]) == 154
    assert check_stack_budget([filler(4096)] * 7 + [filler(4036)]) == 32768
    with pytest.raises(ProgramError, match=r"^8 stacked filters need 32769 "
                                           r"instructions \(32741 after "):
        check_stack_budget([filler(4096)] * 7 + [filler(4037)])
    with pytest.raises(ProgramError, match="kernel length 0"):
        check_stack_budget([0])


def test_longest_path_counts_the_worst_branch():
    insns = [(0x20, 0, 0, 0), (0x15, 0, 2, 1), (0x20, 0, 0, 4),
             (0x06, 0, 0, 1), (0x06, 0, 0, 2)]
    assert longest_path(insns) == 4
    assert longest_path(Program(insns)) == 4


# -- golden disassembly, one small filter per ABI ------------------------

GOLDEN = {
    "x86_64": """\
 0: ld [arch]
 1: jeq #AUDIT_ARCH_X86_64, 2, 15
 2: ld [nr]
 3: jset #0x40000000, 15, 4
 4: jge #2, 6, 5
 5: jge #1, 8, 17
 6: jge #110, 7, 16
 7: jge #111, 16, 11
 8: ld [args[2].lo]
 9: and #1
10: jeq #1, 18, 16
11: ld [instruction_pointer.lo]
12: jeq #0x34567890, 13, 19
13: ld [instruction_pointer.hi]
14: jeq #0x7f12, 17, 19
15: ret KILL_PROCESS
16: ret ERRNO(1)
17: ret ALLOW
18: ret ERRNO(5)
19: ret TRAP(0xfff6)
""",
    "i386": """\
 0: ld [arch]
 1: jeq #AUDIT_ARCH_I386, 2, 11
 2: ld [nr]
 3: jge #5, 6, 4
 4: jge #3, 5, 12
 5: jge #4, 8, 13
 6: jge #64, 7, 12
 7: jge #65, 12, 13
 8: ld [args[2].lo]
 9: and #1
10: jeq #1, 14, 12
11: ret KILL_PROCESS
12: ret ERRNO(1)
13: ret ALLOW
14: ret ERRNO(5)
""",
    "x32": """\
 0: ld [arch]
 1: jeq #AUDIT_ARCH_X86_64, 2, 12
 2: ld [nr]
 3: jset #0x40000000, 4, 12
 4: jge #0x40000002, 7, 5
 5: jge #0x40000000, 6, 13
 6: jge #0x40000001, 9, 14
 7: jge #0x4000006e, 8, 13
 8: jge #0x4000006f, 13, 14
 9: ld [args[2].lo]
10: and #1
11: jeq #1, 15, 13
12: ret KILL_PROCESS
13: ret ERRNO(1)
14: ret ALLOW
15: ret ERRNO(5)
""",
    "aarch64": """\
 0: ld [arch]
 1: jeq #AUDIT_ARCH_AARCH64, 2, 11
 2: ld [nr]
 3: jge #65, 6, 4
 4: jge #63, 5, 12
 5: jge #64, 8, 13
 6: jge #173, 7, 12
 7: jge #174, 12, 13
 8: ld [args[2].lo]
 9: and #1
10: jeq #1, 14, 12
11: ret KILL_PROCESS
12: ret ERRNO(1)
13: ret ALLOW
14: ret ERRNO(5)
""",
}


def _small(abi):
    flt = Filter(ERRNO(1), abis=(abi,))
    flt.add(ALLOW, "read").add(ERRNO(5), "write", (Arg(2) & 1) == 1)
    flt.add(ACK(9), "getppid")
    return flt


@pytest.mark.parametrize("abi", ALL_ABIS)
def test_golden_disassembly(abi):
    text = build(_small(abi)).disasm(abi)
    assert text == GOLDEN[abi]


# -- properties -------------------------------------------------------------

def _trace(insns, fields):
    """Run ``insns`` on the seccomp_data offsets in ``fields``; return the
    value and the offsets read.  A read of a missing offset is a failure.
    """
    pc = acc = 0
    read = set()
    while True:
        code, jt, jf, k = insns[pc]
        pc += 1
        if code == 0x20:                       # ld [k]
            read.add(k)
            assert k in fields, f"reads offset {k}"
            acc = fields[k]
        elif code == 0x54:                     # and #k
            acc &= k
        elif code == 0x06:                     # ret #k
            return k, read
        elif code == 0x05:                     # ja
            pc += k
        else:
            op = code & 0xF0
            taken = {0x10: acc == k, 0x20: acc > k, 0x30: acc >= k,
                     0x40: acc & k != 0}[op]
            pc += jt if taken else jf


def _decided_by_nr(flt, nr, token):
    """Whether the verdict on (token, nr) depends on nothing else: no rule
    with conditions, and not a reporting ACK (whose block reads the
    instruction pointer, and, for clone, the arguments)."""
    action, abi = flt.evaluate(nr, arch=token)
    if abi is not None and any(
            rule.conditions for n, rule in flt.rules_for(abi) if n == nr):
        return False
    if abi == "x86_64" and _reports(flt) and nr in {
            nr_of(name) for name, _ in GUARDED}:
        return False   # guard rules read arguments or the IP
    if action.kind == "ack" and action.data and abi == "x86_64":
        return expected(flt, nr, arch=token) == ALLOW.value \
            and tables.syscall_name(nr) in _UNREPORTED
    return True


_SETTINGS = settings(max_examples=300, deadline=None,
                     suppress_health_check=[HealthCheck.too_slow])


@_SETTINGS
@given(sst.filters(), st.data())
def test_compiled_programs_agree_with_the_reference_evaluator(flt, data):
    p = build(flt)
    p.validate()
    assert 2 <= longest_path(p) <= len(p)
    for _ in range(20):
        call = data.draw(sst.syscall_inputs(flt, trampoline=TRAMP))
        want = expected(flt, call.nr, call.args, call.arch, call.ip)
        got = p.run(call.nr, call.args, arch=call.arch, ip=call.ip)
        assert got == want, call
        assert p.interpret(call.nr, call.args, arch=call.arch,
                           ip=call.ip) == want


@_SETTINGS
@given(sst.filters())
def test_nr_only_verdicts_read_only_arch_and_nr(flt):
    insns = list(build(flt))
    numbers = {0, 0xFFFFFFFF}
    for abi in flt.abis:
        for nr, _ in flt.rules_for(abi):
            numbers.update({nr, max(nr - 1, 0), min(nr + 1, 0xFFFFFFFF)})
    tokens = {tables.ABI_ARCH[abi] for abi in flt.abis} | {FOREIGN}
    for token in tokens:
        for nr in numbers:
            if not _decided_by_nr(flt, nr, token):
                continue
            value, read = _trace(insns, {0: nr, 4: token})
            assert read <= {0, 4}
            assert value == expected(flt, nr, arch=token)


# -- guard rules: calls the runtime must see whenever a filter reports --

SIG_BLOCK, SIG_UNBLOCK, SIGINT, SIGSYS = 0, 1, 2, 31
SET = 0x7FFC0000   # a pointer to a new signal set


def _reporting(default=ALLOW):
    return Filter(default).add(ACK(3), "getppid")


GUARD_CASES = [
    (1, _reporting(), "rt_sigprocmask", (SIG_BLOCK, SET), 0,
     RET_TRAP | GUARD),
    (2, _reporting(), "rt_sigprocmask", (SIG_BLOCK, SET), TRAMP,
     ALLOW.value),
    (3, _reporting(), "rt_sigprocmask", (SIG_UNBLOCK, SET), 0, ALLOW.value),
    (4, _reporting(), "rt_sigprocmask", (SIG_BLOCK, 0), 0, ALLOW.value),
    (5, _reporting(), "rt_sigaction", (SIGSYS, SET), 0, RET_TRAP | GUARD),
    (6, _reporting(), "rt_sigaction", (SIGINT, SET), 0, RET_TRAP | GUARD),
    (16, _reporting(), "rt_sigaction", (SIGINT, 0), 0, ALLOW.value),
    (7, _reporting(), "execve", (), 0, RET_TRAP | GUARD),
    (8, _reporting(), "execveat", (), 0, RET_TRAP | GUARD),
    # Never more permissive than the filter's own verdict:
    (9, _reporting(ERRNO(1)), "rt_sigprocmask", (SIG_BLOCK, SET), 0,
     ERRNO(1).value),
    (10, _reporting(ERRNO(1)).add(ALLOW, "rt_sigprocmask"),
     "rt_sigprocmask", (SIG_BLOCK, SET), 0, RET_TRAP | GUARD),
    (11, _reporting().add(KILL_PROCESS, "execve"), "execve", (), 0,
     KILL_PROCESS.value),
    # A reporting default reports them, with its own data:
    (12, Filter(ACK(4)).add(ALLOW, "execve"), "execve", (), 0,
     RET_TRAP | cookie(4)),
    # The filter's own ACK rule wins over the guard:
    (13, _reporting().add(ACK(7), "execve"), "execve", (), 0,
     RET_TRAP | cookie(7)),
    # A filter that reports nothing gets no guard:
    (14, Filter(ALLOW).add(ERRNO(1), "getppid"), "execve", (), 0,
     ALLOW.value),
    (15, Filter(ALLOW).add(ACK(0), "getppid"), "rt_sigprocmask",
     (SIG_BLOCK, SET), 0, ALLOW.value),
]


@pytest.mark.parametrize("no,flt,name,args,ip,value", GUARD_CASES,
                         ids=[f"guard{row[0]}" for row in GUARD_CASES])
def test_guard_rules_only_replace_allow(run, no, flt, name, args, ip, value):
    assert run(build(flt), nr_of(name), args, X86_64, ip) == value
    assert expected(flt, nr_of(name), args, X86_64, ip) == value
