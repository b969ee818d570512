"""The running kernel as the oracle of the code generator.

Each test compiles filters, then rewrites every ``ret`` of the program into
an ERRNO of its own (so that no call really runs, and the errno tells
which ``ret`` the kernel reached).  A forked child installs the program and
issues many calls through libc's ``syscall()``; the parent compares each
errno with the C simulator and with the reference evaluator.

The program is wrapped so that it applies to those calls only: a prefix
allows every call whose instruction pointer is not the one just after the
``syscall`` instruction in libc's ``syscall()``, so the child's own work
(pickling, writing to the pipe, exiting) runs normally.  Calls from
Python can only use the x86_64 syscall instruction, so the arch token is
always x86_64's; x32 numbers (with the 0x40000000 bit) do reach the filter
that way, i386 and aarch64 tokens cannot be produced and are covered by the
simulator tests only.
"""

import ctypes
import errno
import warnings

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import in_child
from seccomp_ack import strategies as sst
from seccomp_ack import tables
from seccomp_ack.actions import ACK, ALLOW, ERRNO, RET_ERRNO
from seccomp_ack.codegen import (MultiplexerWarning, check_stack_budget,
                                 compile_filter, kernel_length)
from seccomp_ack.errors import ProgramError, SeccompOSError
from seccomp_ack.program import Program
from seccomp_ack.rules import Condition, Filter

import test_codegen as simulated

X86_64 = tables.AUDIT_ARCH_X86_64
_LIBC = ctypes.CDLL(None, use_errno=True)
_SYSCALL = _LIBC.syscall
_SYSCALL.restype = ctypes.c_long
_SYSCALL.argtypes = [ctypes.c_long] + [ctypes.c_ulong] * 6

#: x86_64 uretprobe and uprobe: Linux (6.11 on) runs them without
#: consulting seccomp, so the kernel cannot serve as oracle for them.
UNFILTERED = {335, 336}

#: The first errno that stands for a ``ret``; others follow.
ERRNO_BASE = 1000
_U32 = 0xFFFFFFFF


def _syscall_ip() -> int:
    """The address just after the ``syscall`` instruction of libc's
    syscall(), which is the instruction pointer seccomp sees for it."""
    start = ctypes.cast(_SYSCALL, ctypes.c_void_p).value
    code = ctypes.string_at(start, 96)
    at = code.find(b"\x0f\x05")
    assert at >= 0, "no syscall instruction in libc's syscall()"
    return start + at + 2


CALL_IP = _syscall_ip()


def _only_for_our_calls(insns):
    """Prefix ``insns`` with: calls from elsewhere than CALL_IP are allowed.

    0: ld [ip.lo]; 1: jeq #lo, 2, 4; 2: ld [ip.hi]; 3: jeq #hi, 5, 4;
    4: ret ALLOW; 5: the program.
    """
    return [(0x20, 0, 0, 8), (0x15, 0, 2, CALL_IP & _U32),
            (0x20, 0, 0, 12), (0x15, 1, 0, CALL_IP >> 32),
            (0x06, 0, 0, ALLOW.value)] + list(insns)


def _errno_per_ret(program):
    """The program with each distinct ``ret #k`` turned into its own
    ERRNO, and errno -> k."""
    codes = {}
    out = []
    for code, jt, jf, k in program:
        if code == 0x06:
            e = codes.setdefault(k, ERRNO_BASE + len(codes))
            k = RET_ERRNO | e
        out.append((code, jt, jf, k))
    return out, {e: k for k, e in codes.items()}


def _issue(program_bytes, calls):
    """In the child: install, then make every call; (ret, errno) each."""
    from seccomp_ack import _runtime
    _runtime.set_no_new_privs()
    _runtime.install_filter(program_bytes, 0)
    out = []
    for nr, args in calls:
        ctypes.set_errno(0)
        ret = _SYSCALL(nr, *args)
        out.append((ret, ctypes.get_errno()))
    return out


def kernel_returns(program, calls):
    """What the kernel's run of ``program`` returned for each call."""
    mapped, back = _errno_per_ret(program)
    wrapped = bytes(Program(_only_for_our_calls(mapped)))
    results = in_child(_issue, wrapped, calls).value
    out = []
    for (nr, args), (ret, err) in zip(calls, results):
        assert ret == -1 and err in back, \
            f"call {nr:#x} {args} returned {ret} errno {err}: it ran"
        out.append(back[err])
    return out


@pytest.fixture(scope="module", autouse=True)
def seccomp_filters_available():
    """Skip when this kernel or sandbox lets no process install a filter."""
    def probe():
        from seccomp_ack import _runtime
        try:
            _runtime.set_no_new_privs()
            _runtime.install_filter(bytes(Program([(0x06, 0, 0,
                                                    ALLOW.value)])), 0)
        except SeccompOSError as exc:
            return exc.errno
        return 0
    err = in_child(probe).value
    if err in (errno.EINVAL, errno.ENOSYS, errno.EACCES, errno.EPERM):
        pytest.skip(f"seccomp filters cannot be installed here: "
                    f"{errno.errorcode[err]}")
    assert err == 0, errno.errorcode.get(err, err)


def check(flt, calls, trampoline=simulated.TRAMP):
    """Kernel, C simulator and reference agree on every call."""
    with warnings.catch_warnings():   # multiplexers: test_multiplexers.py
        warnings.simplefilter("ignore", MultiplexerWarning)
        program = compile_filter(flt, trampoline=trampoline,
                                 cookies=simulated.cookie)
    calls = [(nr, tuple(args) + (0,) * (6 - len(args)))
             for nr, args in calls]
    assert not UNFILTERED & {nr for nr, _ in calls}
    got = kernel_returns(program, calls)
    for (nr, args), kernel in zip(calls, got):
        sim = program.run(nr, args, arch=X86_64, ip=CALL_IP)
        ref = simulated.expected(flt, nr, args, X86_64, CALL_IP) \
            if trampoline == simulated.TRAMP else None
        assert kernel == sim, (hex(nr), args, hex(kernel), hex(sim))
        if ref is not None:
            assert kernel == ref, (hex(nr), args, hex(kernel), hex(ref))
    return got


def test_the_call_ip_is_libc_syscall():
    """A filter keyed on CALL_IP sees the calls made through _SYSCALL."""
    getppid = tables.syscall_number("getppid")
    insns = [(0x20, 0, 0, 0), (0x15, 0, 1, getppid),
             (0x06, 0, 0, ERRNO(77).value), (0x06, 0, 0, ALLOW.value)]
    results = in_child(_issue, bytes(Program(_only_for_our_calls(insns))),
                       [(getppid, (0,) * 6)]).value
    assert results == [(-1, 77)]


def test_comparison_tables_in_the_kernel():
    # One filter: a syscall number per (row, operator), allowed when the
    # comparison holds; the same rows as the simulator's table.
    flt = Filter(ERRNO(1))
    calls = []
    want = []
    nr = 1000
    for no, width, value, arg, answers in simulated.COMPARISONS:
        for op, answer in zip(simulated._OPS, answers):
            flt.add(ALLOW, nr, Condition(3, op, value, width=width))
            calls.append((nr, (0, 0, 0, arg)))
            want.append(answer == "T")
            nr += 1
    for no, width, mask, value, arg, holds in simulated.MASKED:
        flt.add(ALLOW, nr, Condition(3, "masked_eq", value, mask, width))
        calls.append((nr, (0, 0, 0, arg)))
        want.append(holds)
        nr += 1
    got = check(flt, calls)
    assert got == [ALLOW.value if w else ERRNO(1).value for w in want]


def test_abi_table_in_the_kernel():
    for abis in {row[1] for row in simulated.ABI_CASES}:
        flt = Filter(ERRNO(1), abis=abis, bad_abi=simulated.BAD)
        flt.add(ALLOW, "read").add(ERRNO(2), "openat")
        calls = [(row[3], ()) for row in simulated.ABI_CASES
                 if row[1] == abis and row[2] == X86_64]
        calls += [(0, ()), (0x40000000, ()), (0x80000000, ()),
                  (0xBFFFFFFF, ()), (0x40000101, ()), (257, ())]
        check(flt, calls)


def test_ack_blocks_in_the_kernel():
    names = [row[1] for row in simulated.ACK_CASES]
    for flt in (Filter(ERRNO(1)).add(ACK(9), *names),
                Filter(ACK(9)).add(ERRNO(1), "kill")):
        calls = [(tables.syscall_number(row[1]), row[2])
                 for row in simulated.ACK_CASES]
        away = check(flt, calls)
        here = check(flt, calls, trampoline=CALL_IP)
        assert set(here) == {ALLOW.value}
        assert away != here


_KERNEL = settings(max_examples=150, deadline=None, derandomize=False,
                   suppress_health_check=[HealthCheck.too_slow,
                                          HealthCheck.data_too_large])


@_KERNEL
@given(sst.filters(max_rules=16), st.data(), st.booleans())
def test_random_filters_in_the_kernel(flt, data, at_trampoline):
    calls = []
    for _ in range(80):
        call = data.draw(sst.syscall_inputs(flt, trampoline=CALL_IP))
        if call.nr not in UNFILTERED:
            calls.append((call.nr, call.args))
    check(flt, calls,
          trampoline=CALL_IP if at_trampoline else simulated.TRAMP)


def _stack(programs):
    """In the child: install ``programs``, oldest first; the errno of the
    first refusal, or 0."""
    from seccomp_ack import _runtime
    _runtime.set_no_new_privs()
    for p in programs:
        try:
            _runtime.install_filter(bytes(Program(p)), 0)
        except SeccompOSError as exc:
            return exc.errno
    return 0


def _fits(programs):
    return in_child(_stack, programs).value == 0


def _measured_length(program):
    """The kernel length of ``program``, found by stacking: below seven
    fillers of 4096 (4104 each with the 4), a program of kernel length L
    leaves room for a last filler of 4032 - L."""
    base = [program] + [simulated.filler(4096)] * 7
    lo, hi = 0, 4032
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if _fits(base + [simulated.filler(mid)]):
            lo = mid
        else:
            hi = mid - 1
    return 4032 - lo


@pytest.mark.parametrize("no,insns,length", simulated.KERNEL_LENGTHS,
                         ids=[f"klen{row[0]}" for row in
                              simulated.KERNEL_LENGTHS])
def test_kernel_length_table_in_the_kernel(no, insns, length):
    allow = [(code, jt, jf, ALLOW.value if code == 0x06 else k)
             for code, jt, jf, k in insns]
    assert _measured_length(allow) == length


def test_stack_budget_matches_the_kernel():
    filler = simulated.filler
    fits = [filler(4096)] * 7 + [filler(4036)]
    too_many = [filler(4096)] * 7 + [filler(4037)]
    assert check_stack_budget(fits) == 32768
    with pytest.raises(ProgramError, match="32769"):
        check_stack_budget(too_many)
    assert _fits(fits)
    assert in_child(_stack, too_many).value == errno.ENOMEM


@settings(max_examples=3, deadline=None)
@given(sst.filters(max_rules=10))
def test_kernel_length_of_compiled_filters(flt):
    # Below seven fillers of 4096 (4104 each with the 4), a program P of
    # kernel length L leaves room for a last filler of 4032 - L.
    program = list(compile_filter(flt, trampoline=simulated.TRAMP,
                                  cookies=simulated.cookie))
    # Nothing may kill the child, nor fail its own calls.
    program = _only_for_our_calls(_errno_per_ret(program)[0])
    room = 4032 - kernel_length(program)
    assert room >= 2
    base = [program] + [simulated.filler(4096)] * 7
    assert _fits(base + [simulated.filler(room)])
    assert not _fits(base + [simulated.filler(room + 1)])
