"""libseccomp as a second oracle for the profile compiler.

Each real profile in shared/data/profiles is compiled twice: by this package
(``load_profile(...).compile()``) and by libseccomp, through pyseccomp, from
the same JSON read here independently, as runc would feed it (same caps, same
kernel, rules equal to the default dropped, comparisons of one argument twice
split into rules of their own).  libseccomp's BPF is exported and loaded with
``Program.from_bytes``; both programs then run in the C simulator on every
syscall number of each covered ABI, on argument values at the edges of every
rule's constants, and on hypothesis-random inputs.

Every verdict that differs must fall in one of the classes explained in
docs/libseccomp-differences.md (:func:`classify`); anything else fails.
Small probes pin down each class on a filter made for it, so that a change
in libseccomp's behaviour shows up as a failing probe.

pyseccomp (and the libseccomp2 it loads) is a test dependency: if it cannot
be imported, this module fails to import, with the reason; it never skips.
"""

import collections
import errno as errno_mod
import json
import os
import tempfile
import warnings

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

try:
    import pyseccomp as sc
except (ImportError, OSError, RuntimeError) as exc:   # pragma: no cover
    raise ImportError(
        "tests/test_libseccomp_oracle.py needs pyseccomp and libseccomp2 "
        "(pip install -e '.[test]'; apt-get install libseccomp2): "
        f"{exc}") from exc

from seccomp_ack import tables
from seccomp_ack.asm import longest_path
from seccomp_ack.multiplexers import MultiplexerWarning
from seccomp_ack.profiles import load_profile
from seccomp_ack.program import Program

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PROFILES = os.path.join(REPO, "..", "shared", "data", "profiles")

#: The host the profiles are loaded for, by both compilers.
KERNEL = (6, 8)
CAPS = ()

KILL_PROCESS = 0x80000000
KILL_THREAD = 0x00000000
_U32 = 0xFFFFFFFF
_U64 = (1 << 64) - 1

_SCMP_ARCH = {
    "SCMP_ARCH_X86_64": ("x86_64", sc.Arch.X86_64),
    "SCMP_ARCH_X86": ("i386", sc.Arch.X86),
    "SCMP_ARCH_X32": ("x32", sc.Arch.X32),
    "SCMP_ARCH_AARCH64": ("aarch64", sc.Arch.AARCH64),
}
_OPS = {
    "SCMP_CMP_NE": sc.NE, "SCMP_CMP_LT": sc.LT, "SCMP_CMP_LE": sc.LE,
    "SCMP_CMP_EQ": sc.EQ, "SCMP_CMP_GE": sc.GE, "SCMP_CMP_GT": sc.GT,
    "SCMP_CMP_MASKED_EQ": sc.MASKED_EQ,
}

#: i386 syscalls that multiplex others, and their sub-calls by name.
SOCKETCALL_SUBCALLS = {
    "socket": 1, "bind": 2, "connect": 3, "listen": 4, "accept": 5,
    "getsockname": 6, "getpeername": 7, "socketpair": 8, "send": 9,
    "recv": 10, "sendto": 11, "recvfrom": 12, "shutdown": 13,
    "setsockopt": 14, "getsockopt": 15, "sendmsg": 16, "recvmsg": 17,
    "accept4": 18, "recvmmsg": 19, "sendmmsg": 20}
IPC_SUBCALLS = {
    "semop": 1, "semget": 2, "semctl": 3, "semtimedop": 4, "msgsnd": 11,
    "msgrcv": 12, "msgget": 13, "msgctl": 14, "shmat": 21, "shmdt": 22,
    "shmget": 23, "shmctl": 24}


def profile_paths():
    """Every JSON file in shared/data/profiles that is a profile."""
    out = []
    for name in sorted(os.listdir(PROFILES)):
        if not name.endswith(".json"):
            continue
        with open(os.path.join(PROFILES, name)) as f:
            data = json.load(f)
        if isinstance(data, dict) and "defaultAction" in data:
            out.append(name)
    return out


# -- the profile as runc would hand it to libseccomp ---------------------

def _scmp_action(obj, action_key, ret_key, name_key):
    """(pyseccomp action value, raw (name, errno)) of a rule or profile."""
    name = obj[action_key]
    ret = obj.get(ret_key)
    if ret is None and obj.get(name_key) is not None:
        ret = getattr(errno_mod, obj[name_key])
    if name in ("SCMP_ACT_ERRNO", "SCMP_ACT_TRACE"):
        ret = errno_mod.EPERM if ret is None else ret
        make = sc.ERRNO if name == "SCMP_ACT_ERRNO" else sc.TRACE
        return make(min(ret, 4095) if make is sc.ERRNO else ret), (name, ret)
    simple = {"SCMP_ACT_KILL": sc.KILL, "SCMP_ACT_KILL_THREAD": sc.KILL,
              "SCMP_ACT_KILL_PROCESS": sc.KILL_PROCESS,
              "SCMP_ACT_TRAP": sc.TRAP, "SCMP_ACT_ALLOW": sc.ALLOW,
              "SCMP_ACT_LOG": sc.LOG, "SCMP_ACT_NOTIFY": sc.NOTIFY}
    return simple[name], (name, 0)


def _applies(rule):
    """moby's includes/excludes for an amd64 host with CAPS and KERNEL."""
    inc = rule.get("includes") or {}
    exc = rule.get("excludes") or {}

    def kernel(text):
        return tuple(int(x) for x in text.split(".")) if text else None

    if not set(inc.get("caps") or ()) <= set(CAPS):
        return False
    if inc.get("arches") and "amd64" not in inc["arches"]:
        return False
    if kernel(inc.get("minKernel")) and KERNEL < kernel(inc["minKernel"]):
        return False
    if set(exc.get("caps") or ()) & set(CAPS):
        return False
    if "amd64" in (exc.get("arches") or ()):
        return False
    if kernel(exc.get("minKernel")) and KERNEL >= kernel(exc["minKernel"]):
        return False
    return True


def _arches(profile):
    """The SCMP_ARCH_* names runc would add, native first, ours only."""
    listed = list(profile.get("architectures") or ())
    for entry in profile.get("archMap") or ():
        if entry["architecture"] == "SCMP_ARCH_X86_64":
            listed += [entry["architecture"]] + \
                list(entry.get("subArchitectures") or ())
    out = ["SCMP_ARCH_X86_64"]
    out += [a for a in listed if a in _SCMP_ARCH and a not in out]
    return out


class LibseccompBuild:
    """A profile compiled by libseccomp: the program and what was left out.

    ``unknown`` holds the names libseccomp 2.5.4 cannot resolve (newer than
    its tables); runc skips them, and so does this build.  ``rules`` lists
    what was added, in order: (name, action, [(index, op, a, b)]).
    ``refused`` holds the names of rules libseccomp refuses to add.
    """

    def __init__(self, profile):
        default, default_raw = _scmp_action(
            profile, "defaultAction", "defaultErrnoRet", "defaultErrno")
        flt = sc.SyscallFilter(default)
        self.abis = []
        for name in _arches(profile):
            abi, token = _SCMP_ARCH[name]
            self.abis.append(abi)
            if not flt.exist_arch(token):
                flt.add_arch(token)
        self.unknown = set()
        self.refused = set()
        self.rules = []
        for rule in profile.get("syscalls") or ():
            if not _applies(rule):
                continue
            action, raw = _scmp_action(rule, "action", "errnoRet", "errno")
            if raw == default_raw:
                continue   # runc drops it; libseccomp would refuse it
            if raw[0] == "SCMP_ACT_ERRNO" and raw[1] >= 4095:
                # libseccomp 2.5.4 refuses ERRNO(4095) and above (EINVAL),
                # and runc with it; the kernel would clamp to 4095.
                self.refused.update(rule.get("names") or [rule["name"]])
                continue
            args = [(a["index"], _OPS[a["op"]], a["value"],
                     a.get("valueTwo") or 0)
                    for a in rule.get("args") or ()]
            indexes = [a[0] for a in args]
            groups = [[a] for a in args] \
                if len(set(indexes)) != len(indexes) else [args]
            names = rule.get("names") or [rule.get("name")]
            for name in names:
                nr = sc.resolve_syscall(sc.Arch.NATIVE, name)
                if nr == -1:    # __NR_SCMP_ERROR: runc skips the name
                    self.unknown.add(name)
                    continue
                for group in groups:
                    flt.add_rule(action, nr, *(sc.Arg(*a) for a in group))
                    self.rules.append((name, action, group))
        self.program = export(flt)


def export(flt) -> Program:
    """libseccomp's BPF for a pyseccomp filter, as a Program."""
    with tempfile.TemporaryFile() as f:
        flt.export_bpf(f)
        f.seek(0)
        return Program.from_bytes(f.read())


class Pair:
    """One profile compiled by both, with what classifying needs."""

    def __init__(self, name):
        with open(os.path.join(PROFILES, name)) as f:
            self.profile = json.load(f)
        self.name = name
        self.filter = load_profile(self.profile, caps=CAPS, kernel=KERNEL)
        with warnings.catch_warnings():
            # Docker's and Podman's profiles warn about socketcall on i386
            # (tests/test_multiplexers.py): not this module's business.
            warnings.simplefilter("ignore", MultiplexerWarning)
            self.ours = self.filter.compile(trampoline=0)
        self.lib = LibseccompBuild(self.profile)
        assert self.lib.abis == list(self.filter.abis), name
        self.default = self.filter.default.value

    def verdicts(self, nr, args, arch):
        return (self.ours.run(nr, args, arch=arch),
                self.lib.program.run(nr, args, arch=arch))


_PAIRS = {}


def pair(name) -> Pair:
    """The compiled pair for one profile, built once per session."""
    if name not in _PAIRS:
        _PAIRS[name] = Pair(name)
    return _PAIRS[name]


# -- classifying differences ----------------------------------------------

def _abi_of(flt, nr, arch):
    """The covered ABI a call is matched on, or None (bad arch)."""
    token = tables.arch_token(arch)
    for abi in flt.abis:
        if tables.ABI_ARCH[abi] != token:
            continue
        if token == tables.AUDIT_ARCH_X86_64 and \
                bool(nr & tables.X32_SYSCALL_BIT) != (abi == "x32"):
            continue
        return abi
    return None


def _name(nr, abi):
    try:
        return tables.syscall_name(nr, abi)
    except Exception:
        return None


def _holds(op, arg, a, b, bits):
    """One libseccomp comparison on ``bits`` of the argument."""
    arg &= (1 << bits) - 1
    if op == sc.MASKED_EQ:
        return arg & a == b & a
    return {sc.NE: arg != a, sc.LT: arg < a, sc.LE: arg <= a,
            sc.EQ: arg == a, sc.GE: arg >= a, sc.GT: arg > a}[op]


def _lib_knows(name, abi):
    """Whether libseccomp 2.5.4 has a number for ``name`` on ``abi``."""
    token = {"x86_64": sc.Arch.X86_64, "i386": sc.Arch.X86,
             "x32": sc.Arch.X32, "aarch64": sc.Arch.AARCH64}[abi]
    return sc.resolve_syscall(token, name) >= 0 or (
        abi == "i386" and (name in SOCKETCALL_SUBCALLS
                           or name in IPC_SUBCALLS))


def classify(p: Pair, nr, args, arch, ours, lib):
    """The documented class of one differing verdict, or None.

    The classes, and which side is right, are explained in
    docs/libseccomp-differences.md; each check below names one.
    """
    args = tuple(args) + (0,) * (6 - len(args))
    abi = _abi_of(p.filter, nr, arch)
    x86 = tables.arch_token(arch) == tables.AUDIT_ARCH_X86_64
    if x86 and nr == _U32 and lib == p.default:
        return "syscall -1"
    if x86 and "x32" not in p.filter.abis and nr & 0x80000000 \
            and not nr & tables.X32_SYSCALL_BIT and ours == p.default \
            and lib == KILL_THREAD:
        return "number of no ABI"
    if abi is None:
        if ours == KILL_PROCESS and lib == KILL_THREAD:
            return "bad-arch action"
        return None
    name = _name(nr, abi)
    if name is not None and not _lib_knows(name, abi) and lib == p.default:
        return "name unknown to libseccomp 2.5.4"
    if name in p.lib.refused and lib == p.default and ours == 0x50FFF:
        return "errno above 4094"
    if abi == "i386" and any(a >> 32 for a in args):
        # The kernel zero-extends i386 arguments: unreachable input.
        return "i386 high word"
    if abi == "x32" and any(a >> 32 for a in args):
        return "x32 high word"
    if abi == "i386" and name in ("socketcall", "ipc"):
        sub = SOCKETCALL_SUBCALLS if name == "socketcall" else IPC_SUBCALLS
        if args[0] in sub.values():
            return f"i386 {name} sub-call"
    # Overlapping rules: libseccomp keeps the first one added, we the
    # most restrictive action.
    bits = 32 if abi in ("i386", "x32") else 64
    matching = [action for rule_name, action, group in p.lib.rules
                if rule_name == name and all(
                    _holds(op, args[i], a, b, bits) for i, op, a, b in group)]
    if len(set(matching)) > 1 and lib == matching[0] and \
            ours == p.filter.evaluate(nr, args, arch=arch)[0].value:
        return "overlapping rules"
    return None


def compare(p: Pair, inputs, counts=None):
    """Run every input through both programs; return unexplained ones."""
    unexplained = []
    for nr, args, arch in inputs:
        ours, lib = p.verdicts(nr, args, arch)
        if ours == lib:
            continue
        cls = classify(p, nr, args, arch, ours, lib)
        if cls is None:
            unexplained.append((hex(nr), [hex(a) for a in args], arch,
                                hex(ours), hex(lib)))
        elif counts is not None:
            counts[cls] += 1
    return unexplained


# -- inputs ---------------------------------------------------------------

def number_inputs(p: Pair):
    """Every number of each covered ABI, its neighbours, and bad arches."""
    out = []
    for abi in p.filter.abis:
        table = tables.syscall_names(abi)
        base = tables.X32_SYSCALL_BIT if abi == "x32" else 0
        numbers = set(table.values())
        numbers |= set(range(base, base + max(table.values()) - base + 40))
        numbers |= {base + 0x3FFFFFFF & _U32, _U32, base | 0x80000000}
        out += [(nr, (), abi) for nr in sorted(numbers)]
    # ABIs the filter does not cover; x32 numbers when x32 is not covered.
    for abi in ("i386", "aarch64", "x32"):
        if abi not in p.filter.abis:
            for nr in sorted(tables.syscall_names(abi).values())[:40]:
                out.append((nr, (), abi))
    out.append((0, (), 0x40000028))   # AUDIT_ARCH_ARM
    return out


def _edges(value):
    """Values at the edges of a rule's constant, in 32 and 64 bits."""
    out = set()
    for v in (value, value & _U32):
        for d in (-1, 0, 1):
            out.add((v + d) & _U64)
    out |= {value | 1 << 32, (1 << 32) + (value & _U32), value >> 32,
            0, _U32, _U64}
    return out


def constants(rule):
    """Per argument index, the interesting values of one JSON rule."""
    per_index = collections.defaultdict(set)
    for a in rule.get("args") or ():
        value, two = a["value"], a.get("valueTwo") or 0
        per_index[a["index"]] |= _edges(value)
        if a["op"] == "SCMP_CMP_MASKED_EQ":
            per_index[a["index"]] |= _edges(two) | _edges(two & value)
            per_index[a["index"]] |= {two | ~value & _U64,
                                      (two & value) | 1 << 63}
    return per_index


def argument_inputs(p: Pair):
    """Edge values for every rule with arguments, on every covered ABI."""
    out = []
    rules = [r for r in p.profile.get("syscalls") or () if r.get("args")]
    for rule in rules:
        per_index = constants(rule)
        names = rule.get("names") or [rule.get("name")]
        # A base call satisfying each comparison, then one index at a time.
        base = [0] * 6
        for a in rule["args"]:
            base[a["index"]] = a.get("valueTwo") or 0 \
                if a["op"] == "SCMP_CMP_MASKED_EQ" else a["value"]
        calls = {tuple(base)}
        for index, values in per_index.items():
            for v in values:
                args = list(base)
                args[index] = v
                calls.add(tuple(args))
        for abi in p.filter.abis:
            table = tables.syscall_names(abi)
            nrs = [table[n] for n in names if n in table]
            if abi == "i386":
                # Multiplexed calls: the sub-call number in arg 0.
                for n in names:
                    for mux, sub in (("socketcall", SOCKETCALL_SUBCALLS),
                                     ("ipc", IPC_SUBCALLS)):
                        if n in sub:
                            out += [(table[mux], (sub[n],) + c[1:], abi)
                                    for c in calls]
            out += [(nr, c, abi) for nr in nrs for c in calls]
    return out


PROFILE_NAMES = profile_paths()


def test_the_shared_profiles_are_found():
    assert "moby-profiles_seccomp_default.json" in PROFILE_NAMES
    assert "container-libs_common_seccomp.json" in PROFILE_NAMES
    assert len(PROFILE_NAMES) >= 6


@pytest.mark.parametrize("name", PROFILE_NAMES)
def test_every_number_gets_the_same_verdict_or_a_documented_one(name):
    p = pair(name)
    assert compare(p, number_inputs(p)) == []


@pytest.mark.parametrize("name", PROFILE_NAMES)
def test_argument_edges_get_the_same_verdict_or_a_documented_one(name):
    p = pair(name)
    inputs = argument_inputs(p)
    assert compare(p, inputs) == []


_ARG = st.one_of(st.integers(0, _U64), st.integers(0, _U32),
                 st.sampled_from([0, 1, 2, 8, 16, 38, 39, 40, 41, 0x20000,
                                  0x7E020000, _U32, 1 << 32, _U64]))


@pytest.mark.parametrize("name", ["moby-profiles_seccomp_default.json",
                                  "container-libs_common_seccomp.json",
                                  "moby-profiles_fixtures_default-old-format"
                                  ".json"])
@settings(max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_random_calls_get_the_same_verdict_or_a_documented_one(name, data):
    p = pair(name)
    abi = data.draw(st.sampled_from(list(p.filter.abis) + ["aarch64"]))
    table = tables.syscall_names(abi)
    nr = data.draw(st.one_of(st.sampled_from(sorted(table.values())),
                             st.integers(0, _U32)))
    args = tuple(data.draw(st.lists(_ARG, min_size=6, max_size=6)))
    # The raw token: a random number may belong to no ABI.
    assert compare(p, [(nr, args, tables.ABI_ARCH[abi])]) == []


def test_each_documented_class_occurs_on_the_real_profiles():
    """The classes are not hypothetical: count them on real profiles."""
    counts = collections.Counter()
    for name in PROFILE_NAMES:
        p = pair(name)
        assert compare(p, number_inputs(p) + argument_inputs(p),
                       counts) == []
    assert counts["bad-arch action"] > 0
    assert counts["name unknown to libseccomp 2.5.4"] > 0
    assert counts["i386 high word"] > 0


# -- probes: one filter per class of difference ---------------------------

def _lib(default, rules, arches=()):
    flt = sc.SyscallFilter(default)
    for arch in arches:
        flt.add_arch(arch)
    for action, name, args in rules:
        flt.add_rule(action, name, *args)
    return export(flt)


def test_libseccomp_kills_the_thread_on_a_bad_arch_and_we_the_process():
    lib = _lib(sc.ALLOW, [])
    ours = load_profile({"defaultAction": "SCMP_ACT_ALLOW"}).compile()
    assert lib.run(0, arch="i386") == KILL_THREAD
    assert ours.run(0, arch="i386") == KILL_PROCESS


def test_libseccomp_compares_only_the_low_word_on_32_bit_abis():
    rule = [(sc.ERRNO(1), "personality", [sc.Arg(0, sc.EQ, 8)])]
    arches = (sc.Arch.X86, sc.Arch.X32)
    lib = _lib(sc.ALLOW, rule, arches)
    ours = load_profile({
        "defaultAction": "SCMP_ACT_ALLOW",
        "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86",
                          "SCMP_ARCH_X32"],
        "syscalls": [{"names": ["personality"], "action": "SCMP_ACT_ERRNO",
                      "args": [{"index": 0, "value": 8,
                                "op": "SCMP_CMP_EQ"}]}]}).compile()
    high = (1 << 32) | 8
    for abi in ("i386", "x32"):
        nr = tables.syscall_number("personality", abi)
        assert lib.run(nr, [high], arch=abi) == sc.ERRNO(1)
        assert ours.run(nr, [high], arch=abi) == sc.ALLOW
        assert lib.run(nr, [8], arch=abi) == ours.run(nr, [8], arch=abi)
    nr = tables.syscall_number("personality")
    assert lib.run(nr, [high]) == ours.run(nr, [high]) == sc.ALLOW


def test_libseccomp_masks_the_datum_of_masked_eq_as_we_do():
    # valueTwo 0x13 has a bit (0x10) outside the mask 0x0f.
    lib = _lib(sc.ALLOW, [(sc.ERRNO(1), "personality",
                           [sc.Arg(0, sc.MASKED_EQ, 0x0F, 0x13)])])
    ours = load_profile({
        "defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [{"names": ["personality"], "action": "SCMP_ACT_ERRNO",
                      "args": [{"index": 0, "value": 0x0F, "valueTwo": 0x13,
                                "op": "SCMP_CMP_MASKED_EQ"}]}]}).compile()
    nr = tables.syscall_number("personality")
    for arg in (0x03, 0x13, 0xF3, 0x04, 1 << 40 | 3):
        assert lib.run(nr, [arg]) == ours.run(nr, [arg]), hex(arg)
    assert ours.run(nr, [0x03]) == sc.ERRNO(1)


def test_libseccomp_refuses_a_rule_equal_to_the_default():
    flt = sc.SyscallFilter(sc.ERRNO(1))
    with pytest.raises(OSError) as info:
        flt.add_rule(sc.ERRNO(1), "read")
    assert info.value.errno == errno_mod.EACCES


def test_libseccomp_refuses_two_comparisons_of_one_argument():
    # runc then adds one rule per comparison (OR), and so do both builds
    # here; ours could AND them, but follows runc.
    flt = sc.SyscallFilter(sc.ALLOW)
    with pytest.raises(OSError) as info:
        flt.add_rule(sc.ERRNO(1), "personality", sc.Arg(0, sc.GE, 4),
                     sc.Arg(0, sc.LE, 8))
    assert info.value.errno == errno_mod.EINVAL


def test_libseccomp_turns_an_i386_socket_rule_into_a_socketcall_rule():
    # Its socketcall version keeps only the sub-call test (arg 0): the
    # domain test cannot apply to socketcall's registers.
    rule = [(sc.ALLOW, "socket", [sc.Arg(0, sc.EQ, 2)])]
    lib = _lib(sc.ERRNO(1), rule, (sc.Arch.X86,))
    socketcall = tables.syscall_number("socketcall", "i386")
    socket = tables.syscall_number("socket", "i386")
    assert lib.run(socketcall, [1, 0xDEAD], arch="i386") == sc.ALLOW
    assert lib.run(socketcall, [2, 0xDEAD], arch="i386") == sc.ERRNO(1)
    assert lib.run(socket, [2], arch="i386") == sc.ALLOW
    assert lib.run(socket, [10], arch="i386") == sc.ERRNO(1)


def test_libseccomp_takes_x32_numbers_for_a_bad_arch_as_we_do():
    lib = _lib(sc.ALLOW, [])
    ours = load_profile({"defaultAction": "SCMP_ACT_ALLOW"}).compile()
    x32_read = tables.syscall_number("read", "x32")
    assert lib.run(x32_read) == KILL_THREAD
    assert ours.run(x32_read) == KILL_PROCESS
    # Numbers with no ABI: libseccomp takes them for a bad arch, except
    # -1; we give them the default, except those with the x32 bit.
    assert lib.run(0x80000000) == KILL_THREAD
    assert ours.run(0x80000000) == sc.ALLOW
    assert lib.run(_U32) == sc.ALLOW
    assert ours.run(_U32) == KILL_PROCESS


def test_our_docker_program_is_no_larger_and_its_path_shorter():
    p = pair("moby-profiles_seccomp_default.json")
    assert len(p.ours) <= len(p.lib.program), \
        (len(p.ours), len(p.lib.program))
    assert longest_path(p.ours) < longest_path(p.lib.program), \
        (longest_path(p.ours), longest_path(p.lib.program))
