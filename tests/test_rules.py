"""The Python rule API: actions, conditions, filters; bad input gets a clear
error naming the bad value."""

import pytest

import seccomp_ack as sa
from seccomp_ack import Arg
from seccomp_ack.actions import Action


@pytest.mark.parametrize("make, message", [
    (lambda: sa.ERRNO(4096), "errno 4096 is out of range 0..4095"),
    (lambda: sa.ERRNO(-1), "errno -1 is out of range 0..4095"),
    (lambda: sa.ERRNO("EPERM"), "ERRNO data must be an int, not 'EPERM'"),
    (lambda: sa.TRAP(0x10000),
     "TRAP data 65536 does not fit in 16 bits (0..65535)"),
    (lambda: sa.TRACE(-3), "TRACE data -3 does not fit in 16 bits"),
    (lambda: sa.ACK(70000), "ACK data 70000 does not fit in 16 bits"),
    (lambda: Action("allow", 1), "ALLOW takes no data, got 1"),
    (lambda: Action("deny"), "unknown action kind 'deny'"),
])
def test_bad_action_data_names_the_value(make, message):
    with pytest.raises(sa.RuleError, match=message.replace("(", r"\(")
                       .replace(")", r"\)")):
        make()


@pytest.mark.parametrize("make, message", [
    (lambda: Arg(6), "argument index 6 is out of range 0..5"),
    (lambda: Arg(-1), "argument index -1 is out of range 0..5"),
    (lambda: Arg(0, width=16), "argument width 16 must be 32 or 64"),
    (lambda: Arg(0) == -1, "comparison value -1 is negative; arguments are "
     "compared unsigned"),
    (lambda: Arg(0) == 1 << 64, "comparison value 0x10000000000000000 does "
     "not fit in 64 bits"),
    (lambda: Arg(0, width=32) > 1 << 32, "comparison value 0x100000000 "
     "does not fit in 32 bits"),
    (lambda: (Arg(1) & -8) == 0, "mask -8 is negative"),
    (lambda: (Arg(1) & 8) != 0, "masked comparisons support only =="),
])
def test_bad_conditions_name_the_value(make, message):
    with pytest.raises(sa.RuleError, match=message):
        make()


def test_unknown_syscall_name_is_an_error_naming_it():
    f = sa.Filter(default=sa.ALLOW)
    with pytest.raises(sa.UnknownSyscallError,
                       match="unknown syscall 'opne' on x86_64"):
        f.add(sa.ERRNO(1), "opne")
    with pytest.raises(sa.UnknownSyscallError,
                       match="unknown syscall 'nope' on x86_64"):
        sa.syscall_number("nope")
    with pytest.raises(sa.UnknownSyscallError,
                       match="unknown syscall number 9999 on x86_64"):
        sa.syscall_name(9999)
    with pytest.raises(sa.UnknownSyscallError, match="unknown ABI 'arm'"):
        sa.syscall_number("read", "arm")
    assert f.rules == []  # nothing half-added


@pytest.mark.parametrize("args, message", [
    ((sa.ALLOW,), "add\\(\\) needs at least one syscall"),
    ((sa.ALLOW, "read", Arg(0)), "Arg\\(0, width=64\\) is not a condition"),
    ((sa.ALLOW, 3.5), "expected a syscall name, number or Arg condition, "
     "got 3.5"),
    ((sa.ALLOW, 1 << 32), "syscall number 4294967296 does not fit"),
    (("ALLOW", "read"), "action must be an Action such as ALLOW"),
])
def test_bad_add_arguments(args, message):
    with pytest.raises(sa.RuleError, match=message):
        sa.Filter(default=sa.ALLOW).add(*args)


def test_bad_filter_construction():
    with pytest.raises(sa.RuleError, match="default action must be an "
                       "Action"):
        sa.Filter(default=1)
    with pytest.raises(sa.UnknownSyscallError, match="unknown ABI 'mips'"):
        sa.Filter(default=sa.ALLOW, abis=("x86_64", "mips"))
    with pytest.raises(sa.RuleError, match="ABI listed twice"):
        sa.Filter(default=sa.ALLOW, abis=("x86_64", "x86_64"))


def test_rules_are_stored_one_per_syscall_with_their_conditions():
    f = sa.Filter(default=sa.ERRNO(1))
    f.add(sa.ALLOW, "read", "write", Arg(0) <= 2)
    assert [(r.action, r.syscall, r.conditions) for r in f.rules] == [
        (sa.ALLOW, "read", (Arg(0) <= 2,)),
        (sa.ALLOW, "write", (Arg(0) <= 2,)),
    ]


@pytest.mark.parametrize("cond, arg, holds", [
    (Arg(0) == 5, 5, True),
    (Arg(0) != 5, 5, False),
    (Arg(0) < 5, 4, True),
    (Arg(0) <= 5, 6, False),
    (Arg(0) > 5, 1 << 40, True),
    (Arg(0) >= 1 << 40, (1 << 40) - 1, False),
    ((Arg(0) & 0xF0) == 0x30, 0x135, True),
    (Arg(0, width=32) == 0xFFFFFFFF, 0xFFFFFFFFFFFFFFFF, True),  # int -1
    (Arg(0) == 0xFFFFFFFF, 0xFFFFFFFFFFFFFFFF, False),
])
def test_conditions_evaluate_unsigned_on_their_width(cond, arg, holds):
    assert cond.holds(arg) is holds


def test_most_restrictive_matching_action_wins():
    f = sa.Filter(default=sa.ALLOW)
    f.add(sa.LOG, "openat")
    f.add(sa.ERRNO(13), "openat", Arg(2) > 0)
    f.add(sa.ERRNO(1), "openat", Arg(2) > 1)   # same kind: first added wins
    nr = sa.syscall_number("openat")
    assert f.evaluate(nr, (0, 0, 0))[0] == sa.LOG
    assert f.evaluate(nr, (0, 0, 5))[0] == sa.ERRNO(13)
    assert f.evaluate(nr, (0, 0, 5), arch="i386") == (sa.KILL_PROCESS, None)
