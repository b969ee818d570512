"""Tests for seccomp_ack.profiles: OCI / Docker / Podman profiles, both ways.

Verdicts are checked through Filter.evaluate (the reference evaluator) and
filter.rules; nothing here compiles or installs a filter.
"""

import copy
import errno
import glob
import json
import re
import os
import warnings

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from seccomp_ack import tables
from seccomp_ack.actions import (ACK, ALLOW, ERRNO, KILL_PROCESS,
                                 KILL_THREAD, LOG, TRACE, TRAP, USER_NOTIF)
from seccomp_ack.errors import ProfileError
from seccomp_ack.profiles import (ProfileWarning, dump_profile,
                                  filter_to_profile, load_profile)
from seccomp_ack.rules import Arg, Condition, Filter

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PROFILES = os.path.join(REPO_ROOT, "..", "shared", "data", "profiles")
DOCKER = os.path.join(PROFILES, "moby-profiles_seccomp_default.json")
OLD_FORMAT = os.path.join(PROFILES,
                          "moby-profiles_fixtures_default-old-format.json")
EXAMPLE = os.path.join(PROFILES, "moby-profiles_fixtures_example.json")
CONDITIONAL = os.path.join(PROFILES,
                           "moby-profiles_fixtures_conditional_include.json")
PODMAN = os.path.join(PROFILES, "container-libs_common_seccomp.json")
PODMAN_OLD = os.path.join(PROFILES, "containers-common_seccomp_2025-08.json")
VIOLATION = os.path.join(PROFILES, "k8s-website_violation.json")

ALL_ABIS = ("x86_64", "i386", "x32", "aarch64")
CLONE_NEWUSER = 0x10000000
AF_NETLINK, AF_VSOCK, NETLINK_AUDIT = 16, 40, 9


def verdict(flt, name, *args, abi="x86_64"):
    """The action ``flt`` gives syscall ``name`` on ``abi``."""
    action, matched = flt.evaluate(tables.syscall_number(name, abi), args,
                                   arch=abi)
    assert matched == abi
    return action


def normal(action):
    return ALLOW if action == ACK(0) else action


# -- every real profile --------------------------------------------------

PROFILE_FILES = sorted(glob.glob(os.path.join(PROFILES, "*.json")))

EXPECTED = {  # file -> (default, abis)
    "container-libs_common_seccomp.json":
        (ERRNO(38), ("x86_64", "i386", "x32")),
    "containers-common_seccomp_2025-08.json":
        (ERRNO(38), ("x86_64", "i386", "x32")),
    "k8s-website_violation.json": (ERRNO(1), ("x86_64",)),
    "moby-profiles_fixtures_conditional_include.json":
        (ERRNO(1), ("x86_64",)),
    "moby-profiles_fixtures_default-old-format.json":
        (ERRNO(1), ("x86_64", "i386", "x32")),
    "moby-profiles_fixtures_example.json": (ERRNO(1), ("x86_64",)),
    "moby-profiles_seccomp_default.json":
        (ERRNO(1), ("x86_64", "i386", "x32")),
}

CAP_SETS = ((), ("CAP_SYS_ADMIN",),
            ("CAP_SYS_ADMIN", "CAP_SYS_PTRACE", "CAP_BPF", "CAP_SYSLOG",
             "CAP_AUDIT_WRITE", "CAP_SYS_CHROOT"))


def test_the_shared_profiles_are_all_known_to_these_tests():
    assert {os.path.basename(p) for p in PROFILE_FILES} == set(EXPECTED)


@pytest.mark.parametrize("path", PROFILE_FILES, ids=os.path.basename)
@pytest.mark.parametrize("caps", CAP_SETS)
@pytest.mark.parametrize("kernel", [None, "3.10", (6, 8)])
def test_every_profile_loads_with_its_default_and_architectures(
        path, caps, kernel):
    flt = load_profile(path, caps=caps, kernel=kernel)
    default, abis = EXPECTED[os.path.basename(path)]
    assert flt.default == default
    assert flt.abis == abis
    # A syscall no profile mentions gets the default action.
    assert verdict(flt, "tuxcall") == default
    assert all(rule.action != default for rule in flt.rules)


def test_docker_default_without_capabilities():
    flt = load_profile(DOCKER, kernel="6.8")
    assert verdict(flt, "read") == ALLOW
    assert verdict(flt, "clone", 0x11) == ALLOW  # fork-like clone
    assert verdict(flt, "clone", CLONE_NEWUSER) == ERRNO(1)
    assert verdict(flt, "clone", 0, CLONE_NEWUSER) == ALLOW  # s390 rule out
    assert verdict(flt, "clone3") == ERRNO(38)
    assert verdict(flt, "mount") == ERRNO(1)
    assert verdict(flt, "bpf") == ERRNO(1)
    assert verdict(flt, "arch_prctl") == ALLOW  # includes.arches amd64
    assert verdict(flt, "modify_ldt") == ALLOW
    assert verdict(flt, "ptrace") == ALLOW  # minKernel 4.8
    for persona in (0, 8, 0x20000, 0x20008, 0xFFFFFFFF):
        assert verdict(flt, "personality", persona) == ALLOW
    assert verdict(flt, "personality", 9) == ERRNO(1)
    assert verdict(flt, "personality", 0x1FFFFFFFF) == ERRNO(1)
    assert verdict(flt, "socket", 2) == ALLOW
    assert verdict(flt, "socket", AF_VSOCK) == ERRNO(1)
    assert verdict(flt, "socket", 41) == ALLOW


def test_docker_default_covers_i386_and_x32():
    flt = load_profile(DOCKER, kernel="6.8")
    assert verdict(flt, "_llseek", abi="i386") == ALLOW
    assert verdict(flt, "socketcall", abi="i386") == ALLOW
    assert verdict(flt, "clone", CLONE_NEWUSER, abi="i386") == ERRNO(1)
    assert verdict(flt, "read", abi="x32") == ALLOW
    assert verdict(flt, "clone3", abi="x32") == ERRNO(38)
    # aarch64 is in the archMap, but not in the x86-64 entry.
    action, abi = flt.evaluate(63, arch="aarch64")
    assert (action, abi) == (KILL_PROCESS, None)


def test_docker_default_with_cap_sys_admin():
    flt = load_profile(DOCKER, caps=("CAP_SYS_ADMIN",), kernel="6.8")
    assert verdict(flt, "mount") == ALLOW
    assert verdict(flt, "clone", CLONE_NEWUSER) == ALLOW
    assert verdict(flt, "clone3") == ALLOW
    assert verdict(flt, "bpf") == ALLOW
    assert verdict(flt, "syslog") == ALLOW
    assert verdict(flt, "reboot") == ERRNO(1)  # needs CAP_SYS_BOOT


def test_docker_default_min_kernel_and_ptrace_capability():
    old = load_profile(DOCKER, kernel="4.7")
    assert verdict(old, "ptrace") == ERRNO(1)
    assert verdict(old, "process_vm_readv") == ERRNO(1)
    assert verdict(load_profile(DOCKER, kernel=(4, 8)), "ptrace") == ALLOW
    traced = load_profile(DOCKER, kernel="4.7", caps=("CAP_SYS_PTRACE",))
    assert verdict(traced, "ptrace") == ALLOW
    assert verdict(traced, "kcmp") == ALLOW


def test_podman_default_errno_by_name_and_socket_rules():
    flt = load_profile(PODMAN, kernel="6.8")
    assert flt.default == ERRNO(errno.ENOSYS)
    assert verdict(flt, "kexec_load") == ERRNO(errno.EPERM)
    assert verdict(flt, "read") == ALLOW
    assert verdict(flt, "clone3") == ALLOW
    assert verdict(flt, "chroot") == ERRNO(1)
    assert verdict(flt, "bpf") == ERRNO(1)
    audit = (AF_NETLINK, 3, NETLINK_AUDIT)
    assert verdict(flt, "socket", *audit) == ERRNO(errno.EINVAL)
    assert verdict(flt, "socket", AF_NETLINK, 3, 0) == ALLOW
    assert verdict(flt, "socket", 2, 1, 0) == ALLOW
    # AF_VSOCK: "a0 == 40" is ERRNO, "a0 != 16" is ALLOW; ERRNO wins.
    assert verdict(flt, "socket", AF_VSOCK) == ERRNO(1)


def test_podman_default_with_capabilities():
    flt = load_profile(PODMAN, kernel="6.8",
                       caps=("CAP_AUDIT_WRITE", "CAP_SYS_CHROOT", "CAP_BPF"))
    assert verdict(flt, "socket", AF_NETLINK, 3, NETLINK_AUDIT) == ALLOW
    assert verdict(flt, "socket", AF_VSOCK) == ERRNO(1)
    assert verdict(flt, "chroot") == ALLOW
    assert verdict(flt, "bpf") == ALLOW
    # excludes.caps [CAP_SYS_ADMIN, CAP_BPF] is "any of": one is enough.
    admin = load_profile(PODMAN, kernel="6.8", caps=("CAP_SYS_ADMIN",))
    assert verdict(admin, "bpf") == ALLOW
    assert verdict(admin, "perf_event_open") == ALLOW


def test_older_podman_profile_agrees_on_the_basics():
    flt = load_profile(PODMAN_OLD, kernel="6.8")
    assert verdict(flt, "kexec_load") == ERRNO(1)
    assert verdict(flt, "socket", AF_NETLINK, 3, NETLINK_AUDIT) == \
        ERRNO(errno.EINVAL)


def test_old_format_singular_name_and_flat_architectures():
    flt = load_profile(OLD_FORMAT)
    assert flt.abis == ("x86_64", "i386", "x32")
    assert verdict(flt, "accept") == ALLOW
    assert verdict(flt, "_llseek", abi="i386") == ALLOW
    assert verdict(flt, "personality", 8) == ALLOW
    assert verdict(flt, "personality", 1) == ERRNO(1)
    assert verdict(flt, "clone", CLONE_NEWUSER) == ERRNO(1)
    assert verdict(flt, "clone", 0x11) == ALLOW
    names = {rule.syscall for rule in flt.rules}
    assert "recv" not in names and "send" not in names  # foreign only


def test_example_errno_ret_is_clamped_like_the_kernel():
    flt = load_profile(EXAMPLE)
    assert verdict(flt, "syslog") == ERRNO(4095)  # errnoRet 12345
    assert verdict(flt, "open") == ALLOW
    assert verdict(flt, "clone", 0x11) == ALLOW
    assert verdict(flt, "clone", CLONE_NEWUSER) == ERRNO(1)


def test_conditional_include_caps():
    plain = load_profile(CONDITIONAL)
    assert verdict(plain, "chmod") == ALLOW
    assert verdict(plain, "syslog") == ERRNO(1)
    assert verdict(plain, "ptrace") == ALLOW
    admin = load_profile(CONDITIONAL, caps=("CAP_SYSLOG", "CAP_SYS_ADMIN"))
    assert verdict(admin, "syslog") == ALLOW
    assert verdict(admin, "ptrace") == ERRNO(1)


def test_k8s_violation_has_only_a_default_action():
    flt = load_profile(VIOLATION)
    assert flt.rules == []
    assert flt.default == ERRNO(1)
    assert verdict(flt, "read") == ERRNO(1)


# -- semantics on small profiles ---------------------------------------------

def profile(*rules, **top):
    top.setdefault("defaultAction", "SCMP_ACT_ERRNO")
    return dict(top, syscalls=list(rules))


def test_comparisons_of_different_arguments_all_must_hold():
    flt = load_profile(profile({"names": ["read"], "action": "SCMP_ACT_ALLOW",
                                "args": [
                                    {"index": 0, "value": 1,
                                     "op": "SCMP_CMP_EQ"},
                                    {"index": 1, "value": 2,
                                     "op": "SCMP_CMP_EQ"}]}))
    assert verdict(flt, "read", 1, 2) == ALLOW
    assert verdict(flt, "read", 1, 3) == ERRNO(1)
    assert verdict(flt, "read", 0, 2) == ERRNO(1)


def test_two_comparisons_of_one_argument_become_two_rules_as_in_runc():
    flt = load_profile(profile({"names": ["read"], "action": "SCMP_ACT_ALLOW",
                                "args": [
                                    {"index": 0, "value": 1,
                                     "op": "SCMP_CMP_EQ"},
                                    {"index": 0, "value": 2,
                                     "op": "SCMP_CMP_EQ"},
                                    {"index": 1, "value": 7,
                                     "op": "SCMP_CMP_EQ"}]}))
    assert len(flt.rules) == 3
    assert verdict(flt, "read", 1) == ALLOW
    assert verdict(flt, "read", 2) == ALLOW
    assert verdict(flt, "read", 3, 7) == ALLOW
    assert verdict(flt, "read", 3, 0) == ERRNO(1)


def test_masked_eq_value_is_the_mask_and_the_datum_is_masked_too():
    flt = load_profile(profile({"names": ["read"], "action": "SCMP_ACT_ALLOW",
                                "args": [{"index": 2, "value": 0xF0,
                                          "valueTwo": 0x1F,
                                          "op": "SCMP_CMP_MASKED_EQ"}]}))
    assert flt.rules[0].conditions == ((Arg(2) & 0xF0) == 0x10,)
    assert verdict(flt, "read", 0, 0, 0x13) == ALLOW
    assert verdict(flt, "read", 0, 0, 0x1F0) == ERRNO(1)


def test_masked_eq_without_value_two_compares_with_zero():
    flt = load_profile(profile({"names": ["read"], "action": "SCMP_ACT_ALLOW",
                                "args": [{"index": 0, "value": 4,
                                          "op": "SCMP_CMP_MASKED_EQ"}]}))
    assert verdict(flt, "read", 3) == ALLOW
    assert verdict(flt, "read", 4) == ERRNO(1)


@pytest.mark.parametrize("op, value, true_at, false_at", [
    ("SCMP_CMP_NE", 5, 6, 5), ("SCMP_CMP_LT", 5, 4, 5),
    ("SCMP_CMP_LE", 5, 5, 6), ("SCMP_CMP_EQ", 5, 5, 4),
    ("SCMP_CMP_GE", 5, 5, 4), ("SCMP_CMP_GT", 5, 6, 5),
    ("SCMP_CMP_GT", 0xFFFFFFFF, 1 << 32, 0xFFFFFFFF),
])
def test_each_operator_compares_64_bits(op, value, true_at, false_at):
    flt = load_profile(profile({"names": ["read"], "action": "SCMP_ACT_ALLOW",
                                "args": [{"index": 3, "value": value,
                                          "op": op}]}))
    assert flt.rules[0].conditions[0].width == 64
    assert verdict(flt, "read", 0, 0, 0, true_at) == ALLOW
    assert verdict(flt, "read", 0, 0, 0, false_at) == ERRNO(1)


def test_a_rule_equal_to_the_default_is_dropped_as_runc_does():
    flt = load_profile(profile(
        {"names": ["read"], "action": "SCMP_ACT_ERRNO"},
        {"names": ["read"], "action": "SCMP_ACT_ALLOW",
         "args": [{"index": 0, "value": 0, "op": "SCMP_CMP_EQ"}]},
        {"names": ["write"], "action": "SCMP_ACT_ERRNO", "errnoRet": 2}))
    assert [r.syscall for r in flt.rules] == ["read", "write"]
    assert verdict(flt, "read", 0) == ALLOW
    assert verdict(flt, "read", 1) == ERRNO(1)
    assert verdict(flt, "write") == ERRNO(2)


@pytest.mark.parametrize("name, action", [
    ("SCMP_ACT_KILL", KILL_THREAD), ("SCMP_ACT_KILL_THREAD", KILL_THREAD),
    ("SCMP_ACT_KILL_PROCESS", KILL_PROCESS), ("SCMP_ACT_TRAP", TRAP(0)),
    ("SCMP_ACT_ERRNO", ERRNO(1)), ("SCMP_ACT_TRACE", TRACE(1)),
    ("SCMP_ACT_ALLOW", ALLOW), ("SCMP_ACT_LOG", LOG),
    ("SCMP_ACT_NOTIFY", USER_NOTIF),
])
def test_each_action_name(name, action):
    flt = load_profile(profile({"names": ["read"], "action": name},
                               defaultAction="SCMP_ACT_KILL_PROCESS"
                               if name != "SCMP_ACT_KILL_PROCESS"
                               else "SCMP_ACT_ALLOW"))
    assert verdict(flt, "read") == action


def test_errno_ret_applies_to_errno_and_trace():
    flt = load_profile(profile(
        {"names": ["read"], "action": "SCMP_ACT_TRACE", "errnoRet": 7},
        {"names": ["write"], "action": "SCMP_ACT_ERRNO", "errnoRet": 0},
        defaultAction="SCMP_ACT_TRACE", defaultErrnoRet=9))
    assert flt.default == TRACE(9)
    assert verdict(flt, "read") == TRACE(7)
    assert verdict(flt, "write") == ERRNO(0)


def test_podman_errno_names_agree_with_errno_ret():
    flt = load_profile(profile(
        {"names": ["read"], "action": "SCMP_ACT_ERRNO", "errno": "EACCES"},
        {"names": ["write"], "action": "SCMP_ACT_ERRNO", "errno": "EIO",
         "errnoRet": errno.EIO},
        defaultErrno="ENOSYS"))
    assert flt.default == ERRNO(errno.ENOSYS)
    assert verdict(flt, "read") == ERRNO(errno.EACCES)
    assert verdict(flt, "write") == ERRNO(errno.EIO)


@pytest.mark.parametrize("top, abis", [
    ({}, ("x86_64",)),
    ({"architectures": ["SCMP_ARCH_X86"]}, ("x86_64", "i386")),
    ({"architectures": ["SCMP_ARCH_AARCH64", "SCMP_ARCH_X86_64",
                        "SCMP_ARCH_PPC64LE", "SCMP_ARCH_X32"]},
     ("x86_64", "aarch64", "x32")),
    ({"archMap": [{"architecture": "SCMP_ARCH_AARCH64",
                   "subArchitectures": ["SCMP_ARCH_ARM"]}]}, ("x86_64",)),
    ({"archMap": [{"architecture": "SCMP_ARCH_X86_64",
                   "subArchitectures": None}]}, ("x86_64",)),
    ({"archMap": [{"architecture": "SCMP_ARCH_X86_64",
                   "subArchitectures": ["SCMP_ARCH_X32"]}]},
     ("x86_64", "x32")),
])
def test_architectures_and_arch_map(top, abis):
    assert load_profile(profile(**top)).abis == abis


def rule_with(includes=None, excludes=None):
    rule = {"names": ["read"], "action": "SCMP_ACT_ALLOW"}
    if includes is not None:
        rule["includes"] = includes
    if excludes is not None:
        rule["excludes"] = excludes
    return profile(rule)


@pytest.mark.parametrize("includes, excludes, caps, kernel, applies", [
    ({"caps": ["CAP_CHOWN", "CAP_KILL"]}, None, ("CAP_CHOWN",), "6.1", False),
    ({"caps": ["CAP_CHOWN", "CAP_KILL"]}, None, ("CAP_CHOWN", "CAP_KILL"), "6.1", True),
    (None, {"caps": ["CAP_CHOWN", "CAP_KILL"]}, ("CAP_KILL",), "6.1", False),
    (None, {"caps": ["CAP_CHOWN", "CAP_KILL"]}, ("CAP_SETUID",), "6.1", True),
    ({"arches": ["arm64", "x86"]}, None, (), "6.1", False),
    ({"arches": ["amd64"]}, None, (), "6.1", True),
    (None, {"arches": ["amd64"]}, (), "6.1", False),
    (None, {"arches": ["s390x"]}, (), "6.1", True),
    ({"minKernel": "5.10"}, None, (), "5.9", False),
    ({"minKernel": "5.10"}, None, (), "5.10.3-generic", True),
    ({"minKernel": "5.10"}, None, (), (6, 0), True),
    (None, {"minKernel": "5.10"}, (), "5.10", False),
    (None, {"minKernel": "5.10"}, (), "4.19", True),
    ({}, {}, (), "6.1", True),
])
def test_includes_and_excludes(includes, excludes, caps, kernel, applies):
    flt = load_profile(rule_with(includes, excludes), caps=caps,
                       kernel=kernel)
    assert verdict(flt, "read") == (ALLOW if applies else ERRNO(1))


def test_the_running_kernel_is_the_default():
    release = os.uname().release
    major, minor = (int(x) for x in release.split(".")[:2])
    flt = load_profile(rule_with({"minKernel": f"{major}.{minor}"}))
    assert verdict(flt, "read") == ALLOW
    flt = load_profile(rule_with({"minKernel": f"{major}.{minor + 1}"}))
    assert verdict(flt, "read") == ERRNO(1)


@pytest.mark.parametrize("kernel", ["six", (6,), (6, "1"), 6.1])
def test_a_bad_kernel_argument_is_rejected(kernel):
    with pytest.raises(ValueError, match="kernel"):
        load_profile(profile(), kernel=kernel)


def test_comments_and_empty_listener_fields_are_accepted():
    flt = load_profile(profile({"names": ["read"], "action": "SCMP_ACT_ALLOW",
                                "comment": "why"},
                               comment="top", flags=[], listenerPath=""))
    assert verdict(flt, "read") == ALLOW


# -- bad input ---------------------------------------------------------------

BASE = {"defaultAction": "SCMP_ACT_ERRNO",
        "syscalls": [{"names": ["read", "write"],
                      "action": "SCMP_ACT_ALLOW",
                      "args": [{"index": 0, "value": 1,
                                "op": "SCMP_CMP_EQ"}]}]}


def mutate(path, value):
    """BASE with the value at ``path`` (a tuple of keys) replaced."""
    data = copy.deepcopy(BASE)
    target = data
    for key in path[:-1]:
        target = target[key]
    if value is _DELETE:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return data


_DELETE = object()
RULE = ("syscalls", 0)
ARG = RULE + ("args", 0)

BAD = [
    (("foo",), 1, "foo: unknown field", "foo"),
    (RULE + ("foo",), 1, "syscalls[0].foo: unknown field", "foo"),
    (ARG + ("bar",), 1, "syscalls[0].args[0].bar: unknown field", "bar"),
    (RULE + ("names",), [], "syscalls[0].names: empty list", "names"),
    (RULE + ("names",), ["read", ""], "syscalls[0].names[1]", '""'),
    (RULE + ("names",), ["read", 3], "syscalls[0].names[1]", "3"),
    (RULE + ("name",), "read", "syscalls[0].name", "'names'"),
    (RULE + ("names",), _DELETE, "syscalls[0].names: missing", "names"),
    (RULE + ("errnoRet",), 1, "syscalls[0].errnoRet", "SCMP_ACT_ALLOW"),
    (RULE + ("errno",), "EPERM", "syscalls[0].errno", "SCMP_ACT_ALLOW"),
    (RULE + ("action",), "SCMP_ACT_FOO", "syscalls[0].action",
     "SCMP_ACT_FOO"),
    (RULE + ("action",), _DELETE, "syscalls[0].action: missing", "action"),
    (ARG + ("op",), "SCMP_CMP_FOO", "syscalls[0].args[0].op",
     "SCMP_CMP_FOO"),
    (ARG + ("index",), 6, "syscalls[0].args[0].index", "6"),
    (ARG + ("index",), True, "syscalls[0].args[0].index", "true"),
    (ARG + ("value",), -1, "syscalls[0].args[0].value", "-1"),
    (ARG + ("value",), 1 << 64, "syscalls[0].args[0].value",
     str(1 << 64)),
    (ARG + ("value",), 1.5, "syscalls[0].args[0].value", "1.5"),
    (ARG + ("valueTwo",), -2, "syscalls[0].args[0].valueTwo", "-2"),
    (ARG + ("valueTwo",), False, "syscalls[0].args[0].valueTwo", "false"),
    (ARG + ("valueTwo",), 3, "syscalls[0].args[0].valueTwo", "3"),
    (ARG + ("value",), _DELETE, "syscalls[0].args[0].value: missing",
     "value"),
    (("defaultErrno",), "EFOO", "defaultErrno", "EFOO"),
    (("defaultErrno",), "errno", "defaultErrno", "errno"),
    (("defaultErrnoRet",), 65536, "defaultErrnoRet", "65536"),
    (("defaultAction",), _DELETE, "defaultAction: missing", "defaultAction"),
    (("defaultAction",), 5, "defaultAction", "5"),
    (("flags",), ["SECCOMP_FILTER_FLAG_LOG"], "flags[0]",
     "SECCOMP_FILTER_FLAG_LOG"),
    (("flags",), ["FLAG_BOGUS"], "flags[0]", "FLAG_BOGUS"),
    (("listenerPath",), "/run/agent.sock", "listenerPath",
     "/run/agent.sock"),
    (("architectures",), ["SCMP_ARCH_VAX"], "architectures[0]",
     "SCMP_ARCH_VAX"),
    (("archMap",), [{"architecture": "SCMP_ARCH_X86_64", "subs": []}],
     "archMap[0].subs: unknown field", "subs"),
    (("syscalls",), {"names": ["read"]}, "syscalls", "object"),
    (RULE + ("includes",), {"caps": "CAP_SYS_ADMIN"},
     "syscalls[0].includes.caps", "CAP_SYS_ADMIN"),
    (RULE + ("includes",), {"kernel": "4.8"},
     "syscalls[0].includes.kernel: unknown field", "kernel"),
    (RULE + ("excludes",), {"arches": ["vax"]},
     "syscalls[0].excludes.arches[0]", "vax"),
    (RULE + ("includes",), {"minKernel": "4"},
     "syscalls[0].includes.minKernel", "'4'"),
    (RULE + ("includes",), {"minKernel": "0.0"},
     "syscalls[0].includes.minKernel", "'0.0'"),
    (RULE + ("names",), ["read", "no_such_syscall"],
     "syscalls[0].names[1]", "no_such_syscall"),
]


@pytest.mark.parametrize("path, value, where, bad", BAD,
                         ids=[f"{i}-{b[2]}" for i, b in enumerate(BAD)])
def test_bad_input_names_the_json_path_and_the_value(path, value, where,
                                                     bad):
    with pytest.raises(ProfileError) as info:
        load_profile(mutate(path, value))
    assert where in str(info.value)
    assert bad in str(info.value)
    assert info.value.path == where.split(":")[0]


def test_errno_ret_that_disagrees_with_the_errno_name():
    data = profile({"names": ["read"], "action": "SCMP_ACT_ERRNO",
                    "errnoRet": 1, "errno": "ENOSYS"})
    with pytest.raises(ProfileError, match=r"syscalls\[0\]\.errno: "
                       r"ENOSYS is 38, but errnoRet is 1"):
        load_profile(data)


def test_default_errno_ret_on_an_allow_default():
    with pytest.raises(ProfileError, match="defaultErrnoRet: SCMP_ACT_ALLOW "
                       "takes no errno"):
        load_profile(profile(defaultAction="SCMP_ACT_ALLOW",
                             defaultErrnoRet=1))


def test_both_architectures_and_arch_map():
    data = profile(architectures=["SCMP_ARCH_X86_64"],
                   archMap=[{"architecture": "SCMP_ARCH_X86_64"}])
    with pytest.raises(ProfileError, match="archMap: give either"):
        load_profile(data)


def test_a_rule_that_does_not_apply_is_still_validated():
    data = profile({"names": ["read"], "action": "SCMP_ACT_ALLOW",
                    "includes": {"caps": ["CAP_NOBODY_HAS"]},
                    "args": [{"index": 9, "value": 0, "op": "SCMP_CMP_EQ"}]})
    with pytest.raises(ProfileError, match=r"syscalls\[0\]\.args\[0\]\."
                       "index: argument index 9"):
        load_profile(data)


def test_malformed_json_names_the_file_line_and_column(tmp_path):
    path = tmp_path / "broken.json"
    path.write_text('{\n  "defaultAction": "SCMP_ACT_ERRNO",\n  oops\n}\n')
    with pytest.raises(ProfileError) as info:
        load_profile(path)
    assert f"{path}:3:3: malformed JSON" in str(info.value)


def test_an_error_in_a_file_names_the_file(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(mutate(("foo",), 1)))
    with pytest.raises(ProfileError) as info:
        load_profile(str(path))
    assert info.value.path == "foo"
    assert str(info.value).startswith("foo: unknown field")
    assert f"(in {path})" in str(info.value)


def test_a_profile_must_be_an_object_or_a_path(tmp_path):
    path = tmp_path / "list.json"
    path.write_text("[]")
    with pytest.raises(ProfileError, match="must be an object, not a list"):
        load_profile(path)
    with pytest.raises(TypeError, match="path or a dict"):
        load_profile(42)


def test_lenient_loading_warns_once_about_every_skipped_name():
    data = profile(
        {"names": ["read", "no_such_one"], "action": "SCMP_ACT_ALLOW"},
        {"names": ["nor_this"], "action": "SCMP_ACT_ALLOW"},
        {"names": ["write"], "action": "SCMP_ACT_ALLOW",
         "args": [{"index": 0, "value": 1, "valueTwo": 5,
                   "op": "SCMP_CMP_EQ"}]})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        flt = load_profile(data, strict=False)
    assert len(caught) == 1
    assert caught[0].filename == __file__  # points at the caller
    assert issubclass(caught[0].category, ProfileWarning)
    text = str(caught[0].message)
    assert "no_such_one (syscalls[0].names[1])" in text
    assert "nor_this (syscalls[1].names[0])" in text
    assert "syscalls[2].args[0].valueTwo" in text
    assert [r.syscall for r in flt.rules] == ["read", "write"]
    assert verdict(flt, "write", 1) == ALLOW


def test_foreign_only_names_are_skipped_without_a_warning():
    data = profile({"names": ["recv", "riscv_hwprobe", "_llseek", "read"],
                    "action": "SCMP_ACT_ALLOW"})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        flt = load_profile(data)
    assert [r.syscall for r in flt.rules] == ["read"]


# -- export ------------------------------------------------------------------

def test_export_groups_rules_and_sorts_names():
    flt = Filter(ERRNO(1), abis=("x86_64", "i386"))
    flt.add(ALLOW, "write", "read")
    flt.add(ERRNO(38), "clone3")
    flt.add(ALLOW, "close")
    flt.add(ALLOW, "personality", Arg(0) == 8)
    flt.add(TRACE(3), "ptrace", (Arg(1) & 0xFF) == 0x10, Arg(2) <= 4)
    assert filter_to_profile(flt) == {
        "defaultAction": "SCMP_ACT_ERRNO",
        "defaultErrnoRet": 1,
        "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"],
        "syscalls": [
            {"names": ["close", "read", "write"],
             "action": "SCMP_ACT_ALLOW"},
            {"names": ["clone3"], "action": "SCMP_ACT_ERRNO",
             "errnoRet": 38},
            {"names": ["personality"], "action": "SCMP_ACT_ALLOW",
             "args": [{"index": 0, "op": "SCMP_CMP_EQ", "value": 8}]},
            {"names": ["ptrace"], "action": "SCMP_ACT_TRACE",
             "errnoRet": 3,
             "args": [{"index": 1, "op": "SCMP_CMP_MASKED_EQ",
                       "value": 0xFF, "valueTwo": 0x10},
                      {"index": 2, "op": "SCMP_CMP_LE", "value": 4}]},
        ],
    }
    assert flt.to_profile() == filter_to_profile(flt)


def test_dump_profile_writes_sorted_json_that_loads_back(tmp_path):
    flt = Filter(KILL_PROCESS)
    flt.add(ACK(0), "read")
    flt.add(ERRNO(5), 1, Arg(0) > 2)
    path = tmp_path / "out.json"
    dump_profile(flt, path)
    text = path.read_text()
    profile_dict = json.loads(text)
    assert text == json.dumps(profile_dict, sort_keys=True, indent=2) + "\n"
    assert profile_dict["syscalls"][0] == {"names": ["read"],
                                           "action": "SCMP_ACT_ALLOW"}
    assert profile_dict["syscalls"][1]["names"] == ["write"]
    back = load_profile(path)
    assert verdict(back, "read") == ALLOW
    assert verdict(back, "write", 3) == ERRNO(5)
    assert verdict(back, "write", 2) == KILL_PROCESS
    assert os.listdir(tmp_path) == ["out.json"]


def test_dump_profile_writes_nothing_when_export_fails(tmp_path):
    flt = Filter(ALLOW)
    flt.add(ACK(4), "read")
    with pytest.raises(ProfileError):
        dump_profile(flt, tmp_path / "out.json")
    assert os.listdir(tmp_path) == []


def unexportable(build):
    flt = Filter(ERRNO(1))
    build(flt)
    with pytest.raises(ProfileError) as info:
        filter_to_profile(flt)
    return str(info.value)


def test_export_refuses_what_a_profile_cannot_say():
    assert "rules[0]: ACK(7) cannot be written" in unexportable(
        lambda f: f.add(ACK(7), "read"))
    assert "rules[0]: TRAP(2) cannot be written" in unexportable(
        lambda f: f.add(TRAP(2), "read"))
    assert "rules[1].conditions[0]" in unexportable(
        lambda f: f.add(ALLOW, "read").add(ALLOW, "write",
                                           Arg(0, width=32) == 1))
    assert "compares one argument twice" in unexportable(
        lambda f: f.add(ALLOW, "read", Arg(0) > 1, Arg(0) < 9))
    assert "syscall number 100000 has no name" in unexportable(
        lambda f: f.add(ALLOW, 100000))
    with pytest.raises(ProfileError, match="defaultAction: ACK"):
        filter_to_profile(Filter(ACK(1)))


def test_export_refuses_a_raw_number_that_would_widen_to_other_abis():
    flt = Filter(ERRNO(1), abis=("x86_64", "i386"))
    flt.add(ALLOW, 0)  # read, on x86_64 only
    with pytest.raises(ProfileError, match=r"rules\[0\]: syscall number 0 "
                       r"\(read\) applies to x86_64 only"):
        filter_to_profile(flt)
    flt = Filter(ERRNO(1), abis=("x86_64", "i386"))
    flt.add(ALLOW, 158)  # arch_prctl exists on i386 too
    with pytest.raises(ProfileError):
        filter_to_profile(flt)


def test_export_refuses_filters_without_native_abi_or_other_bad_abi():
    with pytest.raises(ProfileError, match="architectures: the filter "
                       "covers"):
        filter_to_profile(Filter(ALLOW, abis=("i386",)))
    with pytest.raises(ProfileError, match="bad_abi ERRNO"):
        filter_to_profile(Filter(ALLOW, bad_abi=ERRNO(1)))


def test_export_drops_a_redundant_rule_equal_to_the_default():
    flt = Filter(ERRNO(1))
    flt.add(ERRNO(1), "read")
    flt.add(KILL_THREAD, "read", Arg(0) == 3)
    assert filter_to_profile(flt)["syscalls"] == [
        {"names": ["read"], "action": "SCMP_ACT_KILL_THREAD",
         "args": [{"index": 0, "op": "SCMP_CMP_EQ", "value": 3}]}]
    flt.add(ALLOW, "read", Arg(1) == 0)
    with pytest.raises(ProfileError, match=r"rules\[0\]: ERRNO\(1\) equals "
                       r"the default action"):
        filter_to_profile(flt)


def test_export_keeps_the_order_of_equal_rank_rules_for_one_syscall():
    flt = Filter(ALLOW)
    flt.add(ERRNO(5), "write", Arg(0) == 1)
    flt.add(ERRNO(1), "read", Arg(0) == 1)
    flt.add(ERRNO(5), "read", Arg(0) == 1)
    assert verdict(flt, "read", 1) == ERRNO(1)
    back = load_profile(filter_to_profile(flt))
    assert verdict(back, "read", 1) == ERRNO(1)
    assert verdict(back, "write", 1) == ERRNO(5)


def test_export_writes_a_never_true_masked_comparison_faithfully():
    flt = Filter(ERRNO(1))
    flt.add(ALLOW, "read", (Arg(0) & 0x0F) == 0x10)
    back = load_profile(filter_to_profile(flt))
    for value in (0, 0x10, 0x1F, 0xF0):
        assert verdict(back, "read", value) == ERRNO(1)


def interesting_args(flt):
    """Argument values at and around every value the rules compare."""
    values = {0, 1, (1 << 32) - 1, 1 << 32, (1 << 64) - 1}
    for rule in flt.rules:
        for cond in rule.conditions:
            for v in (cond.value, cond.mask, cond.value & cond.mask,
                      cond.value | ~cond.mask):
                for near in (v - 1, v, v + 1):
                    values.add(near & ((1 << 64) - 1))
    return sorted(values)


def witnesses(flt):
    """For each rule, arguments that satisfy every one of its conditions
    (where one value can), so that each rule gets to decide a verdict."""
    out = []
    for rule in flt.rules:
        args = [0] * 6
        for cond in rule.conditions:
            args[cond.index] = {
                "eq": cond.value, "masked_eq": cond.value & cond.mask,
                "ne": cond.value ^ 1, "lt": max(cond.value - 1, 0),
                "le": cond.value, "gt": min(cond.value + 1, BIG),
                "ge": cond.value}[cond.op]
        out.append(tuple(args))
    return out


def same_verdicts(one, two, numbers_by_abi, args_list):
    for abi in ALL_ABIS:
        for nr in numbers_by_abi[abi]:
            for args in args_list:
                a, abi_a = one.evaluate(nr, args, arch=abi)
                b, abi_b = two.evaluate(nr, args, arch=abi)
                assert (normal(a), abi_a) == (normal(b), abi_b), \
                    (abi, nr, args)


@pytest.mark.parametrize("path", [DOCKER, PODMAN, OLD_FORMAT, EXAMPLE],
                         ids=os.path.basename)
def test_real_profiles_round_trip(path):
    flt = load_profile(path, kernel="6.8")
    back = load_profile(filter_to_profile(flt), kernel="6.8")
    # Every syscall number with plain arguments...
    numbers = {abi: sorted(set(tables.syscall_names(abi).values()))
               for abi in ALL_ABIS}
    same_verdicts(flt, back, numbers, [(0,) * 6])
    # ...and the syscalls with argument rules with many arguments.
    compared = {r.syscall for r in flt.rules if r.conditions}
    numbers = {abi: sorted(tables.syscall_names(abi)[n] for n in compared
                           if n in tables.syscall_names(abi))
               for abi in ALL_ABIS}
    values = interesting_args(flt)
    args_list = [(v,) * 6 for v in values] + [(0, v) for v in values] + \
        [(AF_NETLINK, 0, NETLINK_AUDIT)] + witnesses(flt)
    same_verdicts(flt, back, numbers, args_list)


# -- round trip of random filters ----------------------------------------

NAMES = ("read", "write", "open", "openat", "_llseek", "arch_prctl", "clone",
         "socketcall")
BIG = (1 << 64) - 1
VALUES = st.one_of(st.sampled_from([0, 1, 2, 0xFF, 0xFFFFFFFF, 1 << 32, BIG]),
                   st.integers(0, BIG))
EXPORTABLE_ACTIONS = st.one_of(
    st.sampled_from([KILL_PROCESS, KILL_THREAD, TRAP(0), ALLOW, LOG,
                     USER_NOTIF, ACK(0)]),
    st.builds(ERRNO, st.integers(0, 4095)),
    st.builds(TRACE, st.integers(0, 0xFFFF)),
    st.builds(ERRNO, st.sampled_from([1, 2, 38])),
    st.builds(TRACE, st.sampled_from([1, 2])))
OPS = ("eq", "ne", "lt", "le", "gt", "ge", "masked_eq")


@st.composite
def conditions(draw, index):
    op = draw(st.sampled_from(OPS))
    if op == "masked_eq":
        mask = draw(VALUES)
        value = draw(st.one_of(VALUES, st.just(mask), st.just(0)))
        mode = draw(st.sampled_from(["inside", "outside", "any"]))
        if mode == "inside":
            value &= mask
        elif mode == "outside" and mask != BIG:
            outside = ~mask & BIG
            value = (value & mask) | (outside & -outside)  # never true
        return Condition(index, op, value, mask=mask)
    return Condition(index, op, draw(VALUES))


@st.composite
def filters(draw):
    """Random exportable filters.

    Each filter draws its rules from a small palette of syscalls, actions
    and condition sets, so that rules often collide: same syscall, same
    conditions, actions of the same rank with different data.
    """
    abis = ["x86_64"] + draw(st.lists(
        st.sampled_from(["i386", "x32", "aarch64"]), unique=True))
    abis = draw(st.permutations(abis))
    default = draw(EXPORTABLE_ACTIONS)
    flt = Filter(default, abis=abis)
    names = [n for n in NAMES
             if any(n in tables.syscall_names(a) for a in abis)]
    if abis == ["x86_64"]:
        names += [0, 1, 2, 56, 158]  # raw numbers, on one ABI only
    syscalls = draw(st.lists(st.sampled_from(names), min_size=1,
                             max_size=3, unique=True))
    actions = draw(st.lists(EXPORTABLE_ACTIONS.filter(
        lambda a: normal(a) != normal(default)), min_size=1, max_size=4))
    condition_sets = [()] + [
        tuple(draw(conditions(i)) for i in indexes)
        for indexes in draw(st.lists(st.lists(
            st.integers(0, 5), unique=True, min_size=1, max_size=3),
            min_size=1, max_size=3))]
    for _ in range(draw(st.integers(0, 10))):
        flt.add(draw(st.sampled_from(actions)),
                draw(st.sampled_from(syscalls)),
                *draw(st.sampled_from(condition_sets)))
    return flt


@settings(max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(flt=filters(), data=st.data())
def test_random_filters_round_trip(flt, data):
    back = load_profile(filter_to_profile(flt))
    assert set(back.abis) == set(flt.abis)
    numbers = {abi: sorted({tables.syscall_names(abi)[n] for n in NAMES
                            if n in tables.syscall_names(abi)} |
                           {0, 1, 2, 56, 158})
               for abi in ALL_ABIS}
    pool = interesting_args(flt)
    args_list = data.draw(st.lists(
        st.tuples(*[st.sampled_from(pool)] * 6), min_size=1, max_size=12))
    args_list += witnesses(flt)
    same_verdicts(flt, back, numbers, args_list)



@pytest.mark.parametrize("cap, message", [
    ("CAP_BOGUS", "unknown capability 'CAP_BOGUS'; caps are names such as "
     "CAP_SYS_ADMIN"),
    ("bogus", "unknown capability 'bogus'"),
])
def test_unknown_capabilities_are_errors_naming_them(cap, message):
    with pytest.raises(ProfileError, match=re.escape(message)):
        load_profile({"defaultAction": "SCMP_ACT_ALLOW"}, caps=[cap])


@pytest.mark.parametrize("cap", ["CAP_SYS_ADMIN", "SYS_ADMIN", "sys_admin",
                                 "cap_sys_admin"])
def test_capability_names_are_normalised_as_docker_does(cap):
    flt = load_profile(os.path.join(PROFILES, "moby-profiles_seccomp_"
                                    "default.json"), caps=[cap])
    assert flt.evaluate(tables.syscall_number("mount"))[0] == ALLOW
