"""Syscall multiplexers (socketcall, ipc on i386): rules never leak onto
them, and a filter whose rules they can bypass is warned about."""

import os
import warnings

import pytest

from seccomp_ack import ALLOW, ERRNO, Arg, Filter, tables
from seccomp_ack.codegen import MultiplexerWarning as CodegenWarning
from seccomp_ack.errors import ProgramError
from seccomp_ack.multiplexers import (MULTIPLEXED, MultiplexerWarning, gaps,
                                      multiplexers)
from seccomp_ack.profiles import load_profile

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PROFILES = os.path.join(REPO, "..", "shared", "data", "profiles")

SOCKETCALL = tables.syscall_number("socketcall", "i386")
IPC = tables.syscall_number("ipc", "i386")
AF_INET, SYS_SOCKET, SYS_BIND = 2, 1, 2
EPERM = ERRNO(1).value
ALLOWED = ALLOW.value


def compile_quietly(flt):
    """Compile, and return the program and the MultiplexerWarnings."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        program = flt.compile(trampoline=0)
    found = [w for w in caught if issubclass(w.category, MultiplexerWarning)]
    return program, found


def test_only_i386_has_multiplexers_in_the_tables():
    assert multiplexers("i386") == {"socketcall": 102, "ipc": 117}
    for abi in ("x86_64", "x32", "aarch64"):
        assert multiplexers(abi) == {}


def test_no_sub_call_has_its_multiplexers_number_on_any_abi():
    for abi in tables.ABI_ARCH:
        table = tables.syscall_names(abi)
        for mux, nr in multiplexers(abi).items():
            for sub in MULTIPLEXED[mux]:
                assert table.get(sub) != nr, (abi, sub)


def test_the_codegen_warning_is_the_multiplexer_warning():
    assert CodegenWarning is MultiplexerWarning
    assert issubclass(MultiplexerWarning, UserWarning)


def test_socket_conditions_are_never_tested_on_socketcall():
    # arg 0 == 1 is also SYS_SOCKET: a leak would deny socketcall(1, ...).
    flt = Filter(ERRNO(1), abis=("x86_64", "i386"))
    flt.add(ALLOW, "socketcall")
    flt.add(ERRNO(13), "socket", Arg(0) == SYS_SOCKET)
    flt.add(ALLOW, "socket")
    program, _ = compile_quietly(flt)
    for call in (SYS_SOCKET, SYS_BIND, 0, 0xFFFFFFFF):
        assert program.run(SOCKETCALL, [call, 0x1000], arch="i386") == \
            ALLOWED
    socket = tables.syscall_number("socket", "i386")
    assert program.run(socket, [SYS_SOCKET], arch="i386") == \
        ERRNO(13).value
    assert program.run(socket, [AF_INET], arch="i386") == ALLOWED


def test_a_socket_rule_does_not_open_socketcall():
    # AF_INET (2) is also SYS_BIND: a leak would allow socketcall(2, ...).
    flt = Filter(ERRNO(1), abis=("x86_64", "i386"))
    flt.add(ALLOW, "socket", Arg(0) == AF_INET)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        program = flt.compile(trampoline=0)
    for call in (AF_INET, SYS_SOCKET, 0):
        assert program.run(SOCKETCALL, [call, AF_INET], arch="i386") == EPERM
    socket = tables.syscall_number("socket", "i386")
    assert program.run(socket, [AF_INET], arch="i386") == ALLOWED
    assert program.run(socket, [10], arch="i386") == EPERM


def test_allowed_socketcall_with_socket_restricted_by_arguments_warns():
    flt = Filter(ERRNO(1), abis=("x86_64", "i386"))
    flt.add(ALLOW, "socketcall")
    flt.add(ALLOW, "socket", Arg(0) == AF_INET)
    program, found = compile_quietly(flt)
    assert len(found) == 1
    assert found[0].filename == __file__   # points at the caller
    text = str(found[0].message)
    assert text.startswith("i386: socketcall is allowed")
    assert "socket (denied except for some arguments)" in text
    # The warning changes nothing in the program.
    assert program.run(SOCKETCALL, [SYS_SOCKET, 0], arch="i386") == ALLOWED


def test_a_denied_sub_call_under_an_allowing_default_warns():
    flt = Filter(ALLOW, abis=("x86_64", "i386"))
    flt.add(ERRNO(1), "bind")
    flt.add(ERRNO(1), "connect", Arg(2) > 16)
    assert gaps(flt) == [("i386", "socketcall",
                          ["bind (denied)",
                           "connect (restricted by its arguments)"])]


def test_a_denied_ipc_sub_call_warns_even_without_a_direct_i386_number():
    # i386 has no direct semop: only ipc(SEMOP, ...) reaches it there.
    assert "semop" not in tables.syscall_names("i386")
    flt = Filter(ALLOW, abis=("x86_64", "i386"))
    flt.add(ERRNO(1), "semop")
    assert gaps(flt) == [("i386", "ipc", ["semop (denied)"])]
    flt.add(ERRNO(1), "ipc", Arg(0) == 1)   # SEMOP
    assert gaps(flt) == []


def test_denying_the_multiplexer_or_the_sub_call_number_closes_the_gap():
    flt = Filter(ALLOW, abis=("x86_64", "i386"))
    flt.add(ERRNO(1), "bind")
    flt.add(ERRNO(1), "socketcall", Arg(0) == SYS_BIND)
    assert gaps(flt) == []
    flt = Filter(ALLOW, abis=("x86_64", "i386"))
    flt.add(ERRNO(1), "bind")
    flt.add(ERRNO(1), "socketcall")
    assert gaps(flt) == []
    # A raw number on the first ABI counts as the multiplexer too.
    flt = Filter(ALLOW, abis=("i386", "x86_64"))
    flt.add(ERRNO(1), "bind")
    flt.add(ERRNO(1), SOCKETCALL)
    assert gaps(flt) == []


def test_socketcall_allowed_only_for_other_sub_calls_is_no_gap():
    flt = Filter(ERRNO(1), abis=("x86_64", "i386"))
    flt.add(ALLOW, "socketcall", Arg(0) == SYS_SOCKET)
    flt.add(ALLOW, "socket")
    assert gaps(flt) == []   # bind and the rest are denied both ways
    flt.add(ALLOW, "socketcall", Arg(0) == SYS_BIND, Arg(1) == 0)
    assert gaps(flt) == [("i386", "socketcall", ["bind (denied)"])]


def test_no_warning_without_a_covered_abi_that_multiplexes():
    flt = Filter(ALLOW, abis=("x86_64", "x32", "aarch64"))
    flt.add(ERRNO(1), "bind")
    flt.add(ERRNO(1), "socket", Arg(0) == 40)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        flt.compile(trampoline=0)
    assert gaps(flt) == []


def test_sub_calls_no_covered_abi_can_name_are_not_reported():
    # recv and send exist directly on no covered ABI: nothing denies them.
    flt = Filter(ERRNO(1), abis=("x86_64", "i386"))
    flt.add(ALLOW, "socketcall")
    for name in MULTIPLEXED["socketcall"]:
        if name in tables.syscall_names("x86_64") or \
                name in tables.syscall_names("i386"):
            flt.add(ALLOW, name)
    assert gaps(flt) == []


def test_a_table_mapping_a_sub_call_to_its_multiplexer_is_refused(
        monkeypatch):
    real = tables.syscall_names

    def broken(abi="x86_64"):
        table = real(abi)
        if abi == "i386":
            table["socket"] = table["socketcall"]
        return table

    monkeypatch.setattr(tables, "syscall_names", broken)
    flt = Filter(ERRNO(1), abis=("x86_64", "i386"))
    flt.add(ALLOW, "read")
    with pytest.raises(ProgramError, match="gives socket the number 102 "
                       "of its multiplexer socketcall"):
        gaps(flt)


@pytest.mark.parametrize("name, denied", [
    ("moby-profiles_seccomp_default.json", (40,)),          # AF_VSOCK
    ("container-libs_common_seccomp.json", (40,)),
    ("containers-common_seccomp_2025-08.json", (16, 3, 9)),  # NETLINK_AUDIT
])
def test_real_profiles_with_i386_warn_about_socket(name, denied):
    flt = load_profile(os.path.join(PROFILES, name))
    assert "i386" in flt.abis
    program, found = compile_quietly(flt)
    assert [str(w.message).split(":")[0] for w in found] == ["i386"]
    assert gaps(flt) == [("i386", "socketcall",
                          ["socket (denied except for some arguments)"])]
    # The gap, concretely: a socket the direct call denies is allowed
    # through socketcall; the socket rules are not applied to socketcall.
    socket = tables.syscall_number("socket", "i386")
    assert program.run(socket, denied, arch="i386") != ALLOWED
    assert program.run(SOCKETCALL, (SYS_SOCKET,) + denied, arch="i386") \
        == ALLOWED


def test_a_profile_allowing_socket_outright_does_not_warn():
    path = os.path.join(PROFILES,
                        "moby-profiles_fixtures_default-old-format.json")
    flt = load_profile(path)
    assert "i386" in flt.abis
    _, found = compile_quietly(flt)
    assert found == []
