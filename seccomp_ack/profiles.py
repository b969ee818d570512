"""Profiles: OCI, Docker and Podman seccomp profiles (JSON), both ways.

:func:`load_profile` turns a profile into a :class:`~seccomp_ack.rules.Filter`
as a container runtime (runc with libseccomp, fed by moby's profile
expansion) would build it on this machine, an x86-64 host;
:func:`filter_to_profile` and :func:`dump_profile` turn a Filter back into a
profile that loads to a filter with the same verdict on every call.

Every key is checked.  A key this module does not know, or knows but cannot
honour, is a :class:`~seccomp_ack.errors.ProfileError` naming its JSON path
(``syscalls[4].foo: unknown field``); nothing is silently dropped.  Only
``comment`` (top level and per rule) is documentation and is ignored.

Semantics chosen, with where they come from:

- Actions.  ``SCMP_ACT_KILL`` is KILL_THREAD (as in libseccomp and runc).
  ``errnoRet`` / ``defaultErrnoRet`` apply to ``SCMP_ACT_ERRNO`` and
  ``SCMP_ACT_TRACE`` only (the OCI runtime spec and runc); on any other
  action they are an error.  Without one, both mean 1 (EPERM), as in runc:
  ``SCMP_ACT_TRACE`` alone is ``TRACE(1)``.  The data is 16 bits
  (0..65535); the kernel clamps an errno above 4095 to 4095, and so does
  this loader (``errnoRet: 12345`` loads as ``ERRNO(4095)``).  Podman's
  non-OCI ``errno`` / ``defaultErrno`` give the errno by name ("ENOSYS");
  an unknown name is an error, and so is a name that disagrees with an
  ``errnoRet`` given beside it.
- A rule whose action equals the default action is dropped, as runc does
  (libseccomp refuses such a rule with EACCES).  This matters when another
  rule for the same syscall is less restrictive: that one then decides.
- ``includes`` / ``excludes`` (moby's semantics, read from moby/profiles):
  a rule applies when *all* ``includes.caps`` are in ``caps``, the native
  arch ("amd64") is in ``includes.arches``, and the kernel is at least
  ``includes.minKernel``; it is dropped when *any* ``excludes.caps`` is in
  ``caps``, when "amd64" is in ``excludes.arches``, or when the kernel is at
  least ``excludes.minKernel``.  Empty lists impose nothing.  Only the
  native arch is tested, even for rules that also land in the i386 and x32
  parts of the filter (moby does the same).
- Architectures.  As with libseccomp, the native ABI (x86_64) is always
  covered, first.  ``architectures`` adds every listed ABI this package
  supports (X86 -> i386, X32 -> x32, AARCH64 -> aarch64); ``archMap`` adds
  only the entry whose ``architecture`` is SCMP_ARCH_X86_64 and its
  ``subArchitectures`` (moby).  Both at once is an error (moby).  Listed
  arches we do not support (ppc, s390, mips...) are skipped: no call from
  them can reach this machine.  Unknown ``SCMP_ARCH_*`` names are errors.
- Arguments: all 64-bit.  Several ``args`` in one rule must all hold (AND),
  except that when two of them compare the same argument index, runc adds
  each comparison as a rule of its own (so they OR); libseccomp itself
  rejects a rule comparing one argument twice.  This loader follows runc.
  For ``SCMP_CMP_MASKED_EQ``, ``value`` is the mask and ``valueTwo`` the
  datum; libseccomp masks the datum too, so ``(arg & value) == (valueTwo &
  value)``.  ``valueTwo`` defaults to 0; on other operators libseccomp
  ignores it, so a non-zero one is an error with ``strict=True`` and a
  :class:`ProfileWarning` otherwise.
- Syscall names.  A name that exists on some covered ABI becomes a rule
  (the IR skips it on covered ABIs that lack it).  A name libseccomp knows
  only on arches we do not cover (``recv``, ``riscv_hwprobe``...) is
  skipped without a word, and so is a name of an ABI the profile does not
  cover (``_llseek`` without SCMP_ARCH_X86): multi-arch profiles list them
  on purpose.  A name known nowhere is an error with ``strict=True``; with
  ``strict=False`` it is skipped and one :class:`ProfileWarning` lists
  every skipped name.
  (runc ignores unknown names silently.)  Names are only resolved for rules
  that apply; every rule is validated in full regardless.
- ``flags`` (SECCOMP_FILTER_FLAG_*) are rejected: they change how a filter
  is installed, not its verdicts, and the Filter IR carries none.  Ask the
  installer for them instead.  An empty list is accepted.  So are
  ``listenerPath`` / ``listenerMetadata`` when empty; otherwise they are
  rejected: this package has no SCMP_ACT_NOTIFY listener.

Design limits:

- Export cannot express ACK with data (ACK(0) exports as ALLOW), TRAP with
  data, 32-bit comparisons, two comparisons of one argument in one rule, a
  raw syscall number whose name also exists on another covered ABI, a
  filter that does not cover x86_64, a ``bad_abi`` other than KILL_PROCESS,
  or a rule whose action equals the default while a less restrictive rule
  for the same syscall exists (the loader, like runc, would drop it).  Each
  raises ProfileError.  A redundant rule equal to the default is left out;
  a masked comparison that can never hold (datum bits outside the mask) is
  written as ``SCMP_CMP_LT 0``, which can never hold either.
- A call from an ABI the profile does not cover gets the Filter's
  ``bad_abi`` (KILL_PROCESS); libseccomp's default is SCMP_ACT_KILL (the
  thread).  Killing the whole process is the safer of the two.
- On the i386 ABI libseccomp compares only the low 32 bits of a value;
  the IR compares 64 bits of the zero-extended argument, so a value above
  0xffffffff never matches there.
- When rules for one syscall overlap, the IR's order decides (most
  restrictive action first); libseccomp's own tie-breaking is not modelled.
"""

import errno as _errno
import json
import os
import re
import warnings
from typing import Any, Dict, Iterable, List, Optional, Tuple, Union

from . import _syscalls, tables
from .actions import MAX_ERRNO, RET_DATA, Action
from .errors import ProfileError, RuleError, UnknownSyscallError
from .rules import ARG_COUNT, Condition, Filter, Rule

__all__ = ["ProfileWarning", "load_profile", "filter_to_profile",
           "dump_profile"]


class ProfileWarning(UserWarning):
    """Something in a profile was skipped (only with ``strict=False``)."""


# SCMP_ACT_* -> action kind.
_ACTIONS = {
    "SCMP_ACT_KILL": "kill_thread",
    "SCMP_ACT_KILL_THREAD": "kill_thread",
    "SCMP_ACT_KILL_PROCESS": "kill_process",
    "SCMP_ACT_TRAP": "trap",
    "SCMP_ACT_ERRNO": "errno",
    "SCMP_ACT_TRACE": "trace",
    "SCMP_ACT_ALLOW": "allow",
    "SCMP_ACT_LOG": "log",
    "SCMP_ACT_NOTIFY": "user_notif",
}

# Kinds whose data an errnoRet gives (runtime spec, runc).
_ERRNO_RET_KINDS = ("errno", "trace")

# runc's data for ERRNO and TRACE without errnoRet: EPERM.
_DEFAULT_ERRNO_RET = _errno.EPERM

_OPS = {
    "SCMP_CMP_NE": "ne",
    "SCMP_CMP_LT": "lt",
    "SCMP_CMP_LE": "le",
    "SCMP_CMP_EQ": "eq",
    "SCMP_CMP_GE": "ge",
    "SCMP_CMP_GT": "gt",
    "SCMP_CMP_MASKED_EQ": "masked_eq",
}
_OP_NAMES = {op: name for name, op in _OPS.items()}

# SCMP_ARCH_* names of the ABIs this package covers.
_SCMP_ARCH_ABI = {
    "SCMP_ARCH_X86_64": "x86_64",
    "SCMP_ARCH_X86": "i386",
    "SCMP_ARCH_X32": "x32",
    "SCMP_ARCH_AARCH64": "aarch64",
}
_ABI_SCMP_ARCH = {abi: name for name, abi in _SCMP_ARCH_ABI.items()}

# SCMP_ARCH_* names libseccomp knows that this package does not cover.
_SCMP_ARCH_FOREIGN = frozenset(
    "SCMP_ARCH_" + name for name in (
        "ARM", "LOONGARCH64", "M68K", "MIPS", "MIPS64", "MIPS64N32",
        "MIPSEL", "MIPSEL64", "MIPSEL64N32", "PARISC", "PARISC64", "PPC",
        "PPC64", "PPC64LE", "RISCV64", "S390", "S390X", "SH", "SHEB"))

_NATIVE_SCMP_ARCH = "SCMP_ARCH_X86_64"

# libseccomp's arch names, as moby's includes/excludes "arches" use them.
_NATIVE_ARCH_NAME = "amd64"
_ARCH_NAMES = frozenset((
    "amd64", "x86", "x32", "arm", "arm64", "loong64", "loongarch64",
    "m68k", "mips", "mipsle", "mipsel", "mips64", "mips64n32", "mipsel64",
    "mipsel64n32", "mips3l64n32", "parisc", "parisc64", "ppc", "ppc64",
    "ppc64le", "riscv64", "s390", "s390x", "sh", "sheb"))

# Syscalls libseccomp knows only on arches this package does not cover
# (generated from its src/syscalls.csv beside the tables).
_FOREIGN_SYSCALLS = _syscalls.OTHER_ABI_NAMES

_FLAGS = frozenset((
    "SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG",
    "SECCOMP_FILTER_FLAG_SPEC_ALLOW", "SECCOMP_FILTER_FLAG_NEW_LISTENER",
    "SECCOMP_FILTER_FLAG_TSYNC_ESRCH",
    "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"))

_TOP_KEYS = frozenset((
    "defaultAction", "defaultErrnoRet", "defaultErrno", "architectures",
    "archMap", "syscalls", "flags", "listenerPath", "listenerMetadata",
    "comment"))
_RULE_KEYS = frozenset((
    "names", "name", "action", "args", "errnoRet", "errno", "comment",
    "includes", "excludes"))
_ARG_KEYS = frozenset(("index", "value", "valueTwo", "op"))
_CONDITION_KEYS = frozenset(("caps", "arches", "minKernel"))
_ARCH_MAP_KEYS = frozenset(("architecture", "subArchitectures"))

_U64_MAX = (1 << 64) - 1
_KERNEL_RE = re.compile(r"^(\d+)\.(\d+)")
_MIN_KERNEL_RE = re.compile(r"^(\d+)\.(\d+)$")
_ERRNO_NAME_RE = re.compile(r"^E[A-Z0-9]+$")

Kernel = Union[str, Tuple[int, int]]
PathOrDict = Union[str, "os.PathLike[str]", Dict[str, Any]]


# -- reading ----------------------------------------------------------------

def load_profile(path_or_dict: PathOrDict, *, caps: Iterable[str] = (),
                 kernel: Optional[Kernel] = None,
                 strict: bool = True) -> Filter:
    """Load an OCI / Docker / Podman seccomp profile as a :class:`Filter`.

    ``path_or_dict`` is the path of a JSON file or an already parsed
    profile.  ``caps`` is the container's capability set (names such as
    ``"CAP_SYS_ADMIN"``) and ``kernel`` the kernel version, ``"5.10"`` or
    ``(5, 10)``, by default the running kernel's; both decide which
    conditional rules apply.  ``strict`` decides whether a syscall name
    known on no architecture is an error or a :class:`ProfileWarning`.

    Raises :class:`ProfileError` naming the JSON path of the first value
    that is malformed or unsupported (and the file, for a path).  See the
    module docstring for the semantics.
    """
    if isinstance(path_or_dict, dict):
        return _Loader(caps, kernel, strict).load(path_or_dict)
    if not isinstance(path_or_dict, (str, os.PathLike)):
        raise TypeError(
            "load_profile() takes a path or a dict, not "
            f"{type(path_or_dict).__name__}")
    filename = os.fspath(path_or_dict)
    with open(filename, encoding="utf-8") as f:
        text = f.read()
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise ProfileError(
            "", f"{filename}:{e.lineno}:{e.colno}: malformed JSON: "
            f"{e.msg}") from None
    try:
        return _Loader(caps, kernel, strict).load(data)
    except ProfileError as e:
        raise ProfileError(e.path, f"{_message(e)} (in {filename})") \
            from None


def _message(error: ProfileError) -> str:
    """The message of ``error`` without its path prefix."""
    text = str(error)
    prefix = f"{error.path}: "
    return text[len(prefix):] if error.path and text.startswith(prefix) \
        else text


def _parse_kernel(kernel: Optional[Kernel]) -> Tuple[int, int]:
    if kernel is None:
        kernel = os.uname().release
    if isinstance(kernel, tuple):
        if len(kernel) != 2 or not all(
                isinstance(k, int) and not isinstance(k, bool) and k >= 0
                for k in kernel):
            raise ValueError(
                f"kernel {kernel!r} must be (major, minor), two ints >= 0")
        return kernel
    if isinstance(kernel, str):
        match = _KERNEL_RE.match(kernel)
        if match:
            return int(match.group(1)), int(match.group(2))
    raise ValueError(
        f"kernel {kernel!r} must be \"major.minor\" (such as \"5.10\" or a "
        "uname release) or a (major, minor) tuple")


def _fail(path: str, message: str) -> ProfileError:
    return ProfileError(path, message)


def _type_name(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string",
            bool: "a boolean", int: "an integer", float: "a number",
            type(None): "null"}.get(type(value), type(value).__name__)


def _expect(value: Any, kind: type, path: str, what: str) -> Any:
    """``value`` if it has JSON type ``kind`` (bool is not an int)."""
    ok = isinstance(value, kind) and not (
        kind is int and isinstance(value, bool))
    if not ok:
        raise _fail(path, f"{what} must be {_type_name(kind())}, not "
                    f"{_type_name(value)} {json.dumps(value)}")
    return value


def _check_keys(obj: Dict[str, Any], known: frozenset, path: str) -> None:
    for key in obj:
        if key not in known:
            where = f"{path}.{key}" if path else key
            raise _fail(where, "unknown field (known: "
                        f"{', '.join(sorted(known))})")


def _optional_list(obj: Dict[str, Any], key: str, path: str) -> list:
    """The list at ``obj[key]``; absent or null mean an empty list."""
    value = obj.get(key)
    if value is None:
        return []
    return _expect(value, list, path, f"{key!r}")


def _optional_dict(obj: Dict[str, Any], key: str,
                   path: str) -> Dict[str, Any]:
    value = obj.get(key)
    if value is None:
        return {}
    return _expect(value, dict, path, f"{key!r}")


#: Linux capabilities (include/uapi/linux/capability.h, 0..40), the names
#: ``caps`` may hold.
CAPABILITIES = frozenset(f"CAP_{name}" for name in (
    "CHOWN DAC_OVERRIDE DAC_READ_SEARCH FOWNER FSETID KILL SETGID SETUID "
    "SETPCAP LINUX_IMMUTABLE NET_BIND_SERVICE NET_BROADCAST NET_ADMIN "
    "NET_RAW IPC_LOCK IPC_OWNER SYS_MODULE SYS_RAWIO SYS_CHROOT SYS_PTRACE "
    "SYS_PACCT SYS_ADMIN SYS_BOOT SYS_NICE SYS_RESOURCE SYS_TIME "
    "SYS_TTY_CONFIG MKNOD LEASE AUDIT_WRITE AUDIT_CONTROL SETFCAP "
    "MAC_OVERRIDE MAC_ADMIN SYSLOG WAKE_ALARM BLOCK_SUSPEND AUDIT_READ "
    "PERFMON BPF CHECKPOINT_RESTORE").split())


def _normalise_cap(cap: Any) -> str:
    """``sys_admin``, ``cap_sys_admin`` -> ``CAP_SYS_ADMIN``, as Docker
    normalises capability names; an unknown name is an error naming it."""
    if not isinstance(cap, str):
        raise TypeError(f"capability {cap!r} is not a string")
    name = cap.upper()
    if not name.startswith("CAP_"):
        name = "CAP_" + name
    if name not in CAPABILITIES:
        raise ProfileError("", f"unknown capability {cap!r}; caps are names "
                           "such as CAP_SYS_ADMIN")
    return name


class _Loader:
    """One load: the host's caps and kernel, and what was skipped."""

    def __init__(self, caps: Iterable[str], kernel: Optional[Kernel],
                 strict: bool):
        if isinstance(caps, str):
            raise TypeError(
                f"caps must be a collection of names, not the string "
                f"{caps!r}")
        self.caps = frozenset(_normalise_cap(cap) for cap in caps)
        self.kernel = _parse_kernel(kernel)
        self.strict = strict
        self.unknown: List[Tuple[str, str]] = []
        self.ignored: List[str] = []

    def load(self, data: Any) -> Filter:
        profile = _expect(data, dict, "", "a profile")
        _check_keys(profile, _TOP_KEYS, "")
        self._check_unsupported(profile)

        # The default action.
        if "defaultAction" not in profile:
            raise _fail("defaultAction", "missing (every profile needs one)")
        default, default_raw = self._action(
            profile, "defaultAction", "defaultErrnoRet", "defaultErrno", "")

        # The ABIs, then the filter.
        abis = self._abis(profile)
        flt = Filter(default, abis=abis)

        # The rules, in order.
        rules = _optional_list(profile, "syscalls", "syscalls")
        for i, rule in enumerate(rules):
            self._rule(flt, default_raw, rule, f"syscalls[{i}]")

        self._warn()
        return flt

    # -- top level ----------------------------------------------------

    def _check_unsupported(self, profile: Dict[str, Any]) -> None:
        flags = _optional_list(profile, "flags", "flags")
        for i, flag in enumerate(flags):
            path = f"flags[{i}]"
            _expect(flag, str, path, "a flag")
            if flag in _FLAGS:
                raise _fail(path, f"{flag} is not supported: flags change "
                            "how a filter is installed, and a Filter "
                            "carries none (pass them to the installer)")
            raise _fail(path, f"unknown flag {flag!r} (known: "
                        f"{', '.join(sorted(_FLAGS))})")
        for key in ("listenerPath", "listenerMetadata"):
            value = profile.get(key)
            if value not in (None, ""):
                raise _fail(key, f"{json.dumps(value)} is not supported: "
                            "seccomp_ack has no SCMP_ACT_NOTIFY listener")
        comment = profile.get("comment")
        if comment is not None:
            _expect(comment, str, "comment", "a comment")

    def _abis(self, profile: Dict[str, Any]) -> List[str]:
        arches = _optional_list(profile, "architectures", "architectures")
        arch_map = _optional_list(profile, "archMap", "archMap")
        if arches and arch_map:
            raise _fail("archMap", "give either 'architectures' or "
                        "'archMap', not both")
        listed: List[str] = []
        for i, name in enumerate(arches):
            listed.append(self._scmp_arch(name, f"architectures[{i}]"))
        for i, entry in enumerate(arch_map):
            path = f"archMap[{i}]"
            _expect(entry, dict, path, "an archMap entry")
            _check_keys(entry, _ARCH_MAP_KEYS, path)
            if "architecture" not in entry:
                raise _fail(f"{path}.architecture", "missing")
            main = self._scmp_arch(entry["architecture"],
                                   f"{path}.architecture")
            subs = [self._scmp_arch(sub, f"{path}.subArchitectures[{j}]")
                    for j, sub in enumerate(_optional_list(
                        entry, "subArchitectures",
                        f"{path}.subArchitectures"))]
            if main == _NATIVE_SCMP_ARCH:
                listed.extend([main] + subs)

        # Native first, as libseccomp always includes it; then the rest.
        abis = [tables.NATIVE_ABI]
        for name in listed:
            abi = _SCMP_ARCH_ABI.get(name)
            if abi is not None and abi not in abis:
                abis.append(abi)
        return abis

    @staticmethod
    def _scmp_arch(name: Any, path: str) -> str:
        _expect(name, str, path, "an architecture")
        if name not in _SCMP_ARCH_ABI and name not in _SCMP_ARCH_FOREIGN:
            raise _fail(path, f"unknown architecture {name!r}")
        return name

    # -- actions ------------------------------------------------------

    def _action(self, obj: Dict[str, Any], action_key: str, ret_key: str,
                name_key: str, path: str) -> Tuple[Action, Tuple[str, int]]:
        """The action of ``obj``, and its raw (kind, data) before clamping.

        runc compares raw actions to drop rules equal to the default.
        """
        prefix = f"{path}." if path else ""
        name = _expect(obj.get(action_key), str, prefix + action_key,
                       "an action")
        kind = _ACTIONS.get(name)
        if kind is None:
            raise _fail(prefix + action_key, f"unknown action {name!r} "
                        f"(known: {', '.join(sorted(_ACTIONS))})")

        # errnoRet (OCI) and errno (Podman, by name).
        ret = obj.get(ret_key)
        if ret is not None:
            _expect(ret, int, prefix + ret_key, "an errno")
            if not 0 <= ret <= RET_DATA:
                raise _fail(prefix + ret_key, f"errno {ret} does not fit in "
                            f"16 bits (0..{RET_DATA})")
        errno_name = obj.get(name_key)
        if errno_name is not None:
            _expect(errno_name, str, prefix + name_key, "an errno name")
            number = getattr(_errno, errno_name, None)
            if not _ERRNO_NAME_RE.match(errno_name) or \
                    not isinstance(number, int):
                raise _fail(prefix + name_key,
                            f"unknown errno name {errno_name!r}")
            if ret is not None and ret != number:
                raise _fail(prefix + name_key, f"{errno_name} is {number}, "
                            f"but {ret_key} is {ret}")
            ret = number
        if ret is not None and kind not in _ERRNO_RET_KINDS:
            key = ret_key if ret_key in obj else name_key
            raise _fail(prefix + key, f"{name} takes no errno (only "
                        "SCMP_ACT_ERRNO and SCMP_ACT_TRACE do)")

        # ERRNO and TRACE mean EPERM without one, as in runc.
        if kind in _ERRNO_RET_KINDS:
            raw = _DEFAULT_ERRNO_RET if ret is None else ret
            data = min(raw, MAX_ERRNO) if kind == "errno" else raw
        else:
            raw = data = 0
        return Action(kind, data), (kind, raw)

    # -- rules --------------------------------------------------------

    def _rule(self, flt: Filter, default_raw: Tuple[str, int], rule: Any,
              path: str) -> None:
        _expect(rule, dict, path, "a rule")
        _check_keys(rule, _RULE_KEYS, path)
        names = self._names(rule, path)
        if "action" not in rule:
            raise _fail(f"{path}.action", "missing")
        action, raw = self._action(rule, "action", "errnoRet", "errno", path)
        conditions = self._args(rule, path)
        applies = self._applies(rule, path)
        comment = rule.get("comment")
        if comment is not None:
            _expect(comment, str, f"{path}.comment", "a comment")
        if not applies:
            return

        # Resolve names; names of other arches are skipped on purpose.
        known = []
        for where, name in names:
            if any(name in tables.syscall_names(abi) for abi in flt.abis):
                known.append(name)
            elif name in _FOREIGN_SYSCALLS or any(
                    name in tables.syscall_names(abi)
                    for abi in tables.ABI_ARCH):
                continue
            elif self.strict:
                raise _fail(where, f"unknown syscall {name!r} (on every "
                            "architecture libseccomp knows)")
            else:
                self.unknown.append((where, name))
        if raw == default_raw or not known:
            return  # runc drops a rule equal to the default action

        # Comparisons of one argument twice: runc makes one rule of each.
        indexes = [c.index for c in conditions]
        if len(set(indexes)) != len(indexes):
            groups = [[c] for c in conditions]
        else:
            groups = [conditions]
        for group in groups:
            try:
                flt.add(action, *known, *group)
            except (RuleError, UnknownSyscallError) as e:
                raise _fail(path, str(e)) from None

    @staticmethod
    def _names(rule: Dict[str, Any], path: str) -> List[Tuple[str, str]]:
        """(JSON path, name) of each syscall the rule names."""
        has_names = rule.get("names") is not None
        has_name = rule.get("name") is not None
        if has_names and has_name:
            raise _fail(f"{path}.name", "give either 'name' or 'names', "
                        "not both")
        if has_name:
            items = [(f"{path}.name", rule["name"])]
        elif has_names:
            names = _expect(rule["names"], list, f"{path}.names",
                            "'names'")
            if not names:
                raise _fail(f"{path}.names", "empty list: a rule needs at "
                            "least one syscall name")
            items = [(f"{path}.names[{i}]", name)
                     for i, name in enumerate(names)]
        else:
            raise _fail(f"{path}.names", "missing (a rule needs 'names')")
        for where, name in items:
            _expect(name, str, where, "a syscall name")
            if not name:
                raise _fail(where, "empty syscall name \"\"")
        return items

    def _args(self, rule: Dict[str, Any], path: str) -> List[Condition]:
        conditions = []
        for i, arg in enumerate(_optional_list(rule, "args",
                                               f"{path}.args")):
            where = f"{path}.args[{i}]"
            _expect(arg, dict, where, "an argument comparison")
            _check_keys(arg, _ARG_KEYS, where)
            for key in ("index", "value", "op"):
                if key not in arg:
                    raise _fail(f"{where}.{key}", "missing")
            index = _expect(arg["index"], int, f"{where}.index", "an index")
            if not 0 <= index < ARG_COUNT:
                raise _fail(f"{where}.index", f"argument index {index} is "
                            f"out of range 0..{ARG_COUNT - 1}")
            value = self._u64(arg["value"], f"{where}.value")
            value_two = arg.get("valueTwo")
            value_two = 0 if value_two is None else \
                self._u64(value_two, f"{where}.valueTwo")
            op_name = _expect(arg["op"], str, f"{where}.op", "an operator")
            op = _OPS.get(op_name)
            if op is None:
                raise _fail(f"{where}.op", f"unknown operator {op_name!r} "
                            f"(known: {', '.join(sorted(_OPS))})")
            if op == "masked_eq":
                cond = Condition(index, op, value_two & value, mask=value)
            else:
                if value_two:
                    message = (f"valueTwo {value_two} means nothing with "
                               f"{op_name} (only SCMP_CMP_MASKED_EQ uses it)")
                    if self.strict:
                        raise _fail(f"{where}.valueTwo", message)
                    self.ignored.append(f"{where}.valueTwo: {message}")
                cond = Condition(index, op, value)
            conditions.append(cond)
        return conditions

    @staticmethod
    def _u64(value: Any, path: str) -> int:
        _expect(value, int, path, "a value")
        if value < 0:
            raise _fail(path, f"value {value} is negative; comparisons are "
                        f"unsigned 64-bit (write {value & _U64_MAX})")
        if value > _U64_MAX:
            raise _fail(path, f"value {value} does not fit in 64 bits")
        return value

    def _applies(self, rule: Dict[str, Any], path: str) -> bool:
        """Whether ``includes`` and ``excludes`` let the rule apply here.

        Both are validated in full before either is decided.
        """
        includes = self._condition(rule, "includes", path)
        excludes = self._condition(rule, "excludes", path)
        caps, arches, kernel = includes
        if caps and not caps <= self.caps:
            return False
        if arches and _NATIVE_ARCH_NAME not in arches:
            return False
        if kernel is not None and self.kernel < kernel:
            return False
        caps, arches, kernel = excludes
        if caps & self.caps:
            return False
        if _NATIVE_ARCH_NAME in arches:
            return False
        if kernel is not None and self.kernel >= kernel:
            return False
        return True

    @staticmethod
    def _condition(rule: Dict[str, Any], key: str, path: str):
        where = f"{path}.{key}"
        obj = _optional_dict(rule, key, where)
        _check_keys(obj, _CONDITION_KEYS, where)
        caps = set()
        for i, cap in enumerate(_optional_list(obj, "caps",
                                               f"{where}.caps")):
            _expect(cap, str, f"{where}.caps[{i}]", "a capability")
            caps.add(cap)
        arches = set()
        for i, arch in enumerate(_optional_list(obj, "arches",
                                                f"{where}.arches")):
            _expect(arch, str, f"{where}.arches[{i}]", "an arch")
            if arch not in _ARCH_NAMES:
                raise _fail(f"{where}.arches[{i}]",
                            f"unknown arch {arch!r}")
            arches.add(arch)
        kernel = None
        version = obj.get("minKernel")
        if version not in (None, ""):
            _expect(version, str, f"{where}.minKernel", "a kernel version")
            match = _MIN_KERNEL_RE.match(version)
            if not match or (match.group(1), match.group(2)) == ("0", "0"):
                raise _fail(f"{where}.minKernel", f"kernel version "
                            f"{version!r} is not \"<major>.<minor>\"")
            kernel = (int(match.group(1)), int(match.group(2)))
        return frozenset(caps), frozenset(arches), kernel

    def _warn(self) -> None:
        lines = []
        if self.unknown:
            lines.append(
                f"skipped {len(self.unknown)} unknown syscall name(s): " +
                ", ".join(f"{name} ({where})" for where, name in
                          self.unknown))
        lines.extend(f"ignored {item}" for item in self.ignored)
        if lines:
            # 4: _warn, load, load_profile, then load_profile's caller.
            warnings.warn("; ".join(lines), ProfileWarning, stacklevel=4)


# -- writing ----------------------------------------------------------------

def _normal(action: Action) -> Action:
    """ACK(0) is ALLOW: the RFC's "allow, do not report"."""
    if action.kind == "ack" and action.data == 0:
        return Action("allow")
    return action


def _export_action(action: Action, path: str) -> Tuple[str, Optional[int]]:
    """The SCMP_ACT_* name and errnoRet (or None) of ``action``."""
    action = _normal(action)
    if action.kind == "ack":
        raise _fail(path, f"{action!r} cannot be written to a profile: OCI "
                    "has no ACK action (only ACK(0), which is ALLOW)")
    if action.kind == "trap" and action.data:
        raise _fail(path, f"{action!r} cannot be written to a profile: OCI "
                    "has no place for TRAP data")
    if action.kind in _ERRNO_RET_KINDS:
        return action.oci_name, action.data
    return action.oci_name, None


def _export_name(flt: Filter, rule: Rule, path: str) -> str:
    if isinstance(rule.syscall, str):
        return rule.syscall
    first = flt.abis[0]
    try:
        name = tables.syscall_name(rule.syscall, first)
    except UnknownSyscallError:
        raise _fail(path, f"syscall number {rule.syscall} has no name on "
                    f"{first}, and a profile names syscalls") from None
    for abi in flt.abis[1:]:
        if name in tables.syscall_names(abi):
            raise _fail(path, f"syscall number {rule.syscall} ({name}) "
                        f"applies to {first} only, but the name {name!r} "
                        f"would also match on {abi}")
    return name


def _export_arg(cond: Condition, path: str) -> Dict[str, Any]:
    if cond.width != 64:
        raise _fail(path, f"{cond!r} compares 32 bits; a profile can only "
                    "compare 64")
    if cond.op == "masked_eq":
        if cond.value & ~cond.mask:
            # Never true; libseccomp would mask the datum and make it true
            # sometimes.  "arg < 0" is never true either.
            return {"index": cond.index, "op": "SCMP_CMP_LT", "value": 0}
        return {"index": cond.index, "op": _OP_NAMES[cond.op],
                "value": cond.mask, "valueTwo": cond.value}
    return {"index": cond.index, "op": _OP_NAMES[cond.op],
            "value": cond.value}


def filter_to_profile(flt: Filter) -> Dict[str, Any]:
    """Export ``flt`` as an OCI / Docker seccomp profile (a JSON-ready dict).

    Rules with the same action and conditions share one entry, names
    sorted; entries keep the order of the rules where it can decide a
    verdict.  :func:`load_profile` on the result gives a filter with the
    same verdict for every call (ACK(0) reads back as ALLOW).  What a
    profile cannot express raises :class:`ProfileError` (see the module
    docstring); its path names the rule, as ``rules[3]``.
    """
    if tables.NATIVE_ABI not in flt.abis:
        raise _fail("architectures", f"the filter covers {flt.abis!r} but "
                    f"not {tables.NATIVE_ABI}, which a profile always does")
    if flt.bad_abi.kind != "kill_process":
        raise _fail("", f"bad_abi {flt.bad_abi!r} cannot be written to a "
                    "profile, which always kills on other ABIs")

    # Default action and architectures.
    profile: Dict[str, Any] = {}
    default = _normal(flt.default)
    name, ret = _export_action(default, "defaultAction")
    profile["defaultAction"] = name
    if ret is not None:
        profile["defaultErrnoRet"] = ret
    abis = [tables.NATIVE_ABI] + [a for a in flt.abis
                                  if a != tables.NATIVE_ABI]
    profile["architectures"] = [_ABI_SCMP_ARCH[a] for a in abis]

    # Each rule: name, action, args.
    exported = []
    for i, rule in enumerate(flt.rules):
        path = f"rules[{i}]"
        syscall = _export_name(flt, rule, path)
        action = _normal(rule.action)
        act = _export_action(action, path)
        indexes = [c.index for c in rule.conditions]
        if len(set(indexes)) != len(indexes):
            raise _fail(path, "compares one argument twice; a profile "
                        "cannot say that (runc would OR the comparisons)")
        args = tuple(json.dumps(_export_arg(c, f"{path}.conditions[{j}]"),
                                sort_keys=True)
                     for j, c in enumerate(rule.conditions))
        exported.append((syscall, action, act, args, path))

    # Rules equal to the default: the loader drops them, as runc does.
    kept = []
    for syscall, action, act, args, path in exported:
        if action == default:
            for other_syscall, other, _, _, _ in exported:
                if other_syscall == syscall and other != default and \
                        other.rank >= default.rank:
                    raise _fail(path, f"{action!r} equals the default "
                                "action, so a profile loader drops it, "
                                f"and then {other!r} would decide "
                                f"{syscall}")
            continue
        kept.append((syscall, act, args))

    # Group, never moving a rule before an earlier one for its syscall.
    groups: List[Tuple[Tuple, List[str]]] = []
    latest: Dict[Tuple, int] = {}
    last_of_syscall: Dict[str, int] = {}
    for syscall, act, args in kept:
        key = (act, args)
        index = latest.get(key)
        if index is None or index < last_of_syscall.get(syscall, -1):
            index = len(groups)
            groups.append((key, []))
            latest[key] = index
        if syscall not in groups[index][1]:
            groups[index][1].append(syscall)
        last_of_syscall[syscall] = index

    entries = []
    for ((name, ret), args), names in groups:
        entry: Dict[str, Any] = {"names": sorted(names), "action": name}
        if ret is not None:
            entry["errnoRet"] = ret
        if args:
            entry["args"] = [json.loads(a) for a in args]
        entries.append(entry)
    profile["syscalls"] = entries
    return profile


def dump_profile(flt: Filter, path: Union[str, "os.PathLike[str]"]) -> None:
    """Write ``flt`` to ``path`` as a profile: JSON, keys sorted, indented 2.

    The file is written whole or not at all (through a temporary file).
    """
    profile = filter_to_profile(flt)
    text = json.dumps(profile, sort_keys=True, indent=2) + "\n"
    target = os.fspath(path)
    tmp = f"{target}.tmp{os.getpid()}"
    try:
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
