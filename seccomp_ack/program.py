"""BPF programs: the seccomp filter as the kernel sees it.

A :class:`Program` is an immutable sequence of classic-BPF instructions
(``struct sock_filter``).  It can

- check itself the way the kernel will (:meth:`Program.validate`): a
  program passes exactly when seccomp(SECCOMP_SET_MODE_FILTER) would accept
  it, so callers never learn about a bad program from a bare EINVAL;
- run on one syscall in the C simulator (:meth:`Program.run`) or in the
  independent pure-Python interpreter (:meth:`Program.interpret`);
- print itself (:meth:`Program.disasm`) and be read back from that text
  (:meth:`Program.assemble`).

Design limits:

- Semantics follow today's kernels, which run classic BPF converted to
  32-bit eBPF: division by X == 0 makes the filter return 0 (KILL_THREAD)
  and a shift by X uses the low 5 bits of X.  The tests check both on the
  running kernel (x86-64, JIT on); the kernel's eBPF interpreter masks
  shifts the same way, but other architectures' JITs are not checked.
- The assembler reads the disassembler's syntax only; it knows
  instructions, numeric or named jump targets and a few constant names,
  no macros.  It does not validate: call :meth:`Program.validate`.

Assembly syntax (one instruction a line; ``;`` starts a comment)::

    0: ld [arch]
    1: jeq #AUDIT_ARCH_X86_64, 3, 2
    2: ret KILL_PROCESS
    3: ld [nr]
    4: jeq #59, 5, 6            ; execve
    5: ret ERRNO(1)
    6: ret ALLOW

A leading ``N:`` is the instruction's index (checked); a leading ``name:``
defines a label.  Jump targets are absolute instruction indexes or labels.
Loads: ``ld [nr]``, ``ld [arch]``, ``ld [instruction_pointer.lo]``,
``ld [args[2].hi]``, ``ld [16]``, ``ld #5``, ``ld len``, ``ld M[3]``, and
the same with ``ldx`` for #, len and M[]; stores ``st M[3]``, ``stx M[3]``;
ALU ``add|sub|mul|div|and|or|xor|lsh|rsh #k`` or ``... x``, ``neg``;
``tax``, ``txa``; ``ja T``; ``jeq|jgt|jge|jset #k|x, T, T``;
``ret #k``, ``ret a``, ``ret ALLOW``, ``ret ERRNO(1)``, ``ret TRAP(0x2a)``;
and ``.insn code, jt, jf, k`` for any raw instruction.
"""

import re
import struct
from typing import (Dict, Iterable, List, NamedTuple, Optional, Sequence,
                    Tuple, Union)

from . import _pybpf
from . import bpfconst as c
from . import tables
from .actions import Action
from .errors import ProgramError, RuleError, UnknownSyscallError

_INSN = struct.Struct("<HBBI")
_DATA = struct.Struct("<iIQ6Q")
_U32 = 0xFFFFFFFF
_U64 = 0xFFFFFFFFFFFFFFFF
_NARGS = 6


class Instruction(NamedTuple):
    """One ``struct sock_filter``: opcode, jump offsets, constant."""

    code: int
    jt: int
    jf: int
    k: int


_FIELD_LIMITS = (("code", 0xFFFF, 16), ("jt", 0xFF, 8), ("jf", 0xFF, 8),
                 ("k", _U32, 32))


def _instruction(index: int, value) -> Instruction:
    """Check one (code, jt, jf, k) tuple and return it as an Instruction."""
    try:
        fields = tuple(value)
    except TypeError:
        raise ProgramError(
            f"instruction {index}: {value!r} is not a (code, jt, jf, k) "
            "tuple") from None
    if len(fields) != 4:
        raise ProgramError(
            f"instruction {index}: {value!r} has {len(fields)} fields, "
            "not 4 (code, jt, jf, k)")
    for field, (name, limit, bits) in zip(fields, _FIELD_LIMITS):
        if isinstance(field, bool) or not isinstance(field, int):
            raise ProgramError(
                f"instruction {index}: {name} {field!r} is not an int")
        if not 0 <= field <= limit:
            raise ProgramError(
                f"instruction {index}: {name} {field} does not fit in "
                f"{bits} bits (0..{limit:#x})")
    return Instruction(*fields)


def _check_int(name: str, value, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ProgramError(f"{name} {value!r} is not an int")
    if not low <= value <= high:
        if value < 0 and low == 0:
            raise ProgramError(
                f"{name} {value} is negative; pass the unsigned value "
                f"(0..{high:#x}), e.g. {value} & {high:#x}")
        raise ProgramError(
            f"{name} {value} is out of range {low}..{high:#x}")
    return value


def seccomp_data(nr: int, args: Sequence[int] = (), arch="x86_64",
                 ip: int = 0) -> bytes:
    """Return the 64-byte ``struct seccomp_data`` a filter sees.

    ``nr`` is 0..2**32-1 (or its signed view, down to -2**31) and is stored
    as the kernel's ``int``.  ``args`` holds up to six unsigned 64-bit
    values; missing ones are 0.  ``arch`` is an ABI name (``x86_64``,
    ``i386``, ``x32``, ``aarch64``) or a raw AUDIT_ARCH token; with
    ``x32``, ``nr`` must carry the x32 bit 0x40000000, as the kernel's does.
    ``ip`` is the unsigned 64-bit instruction pointer.
    """
    nr = _check_int("nr", nr, -(1 << 31), _U32)
    if arch == "x32" and not nr & tables.X32_SYSCALL_BIT:
        raise ProgramError(
            f"nr {nr:#x} lacks the x32 bit {tables.X32_SYSCALL_BIT:#x}; "
            "x32 syscall numbers include it")
    token = tables.arch_token(arch)
    if isinstance(args, (str, bytes)) or not isinstance(args, Iterable):
        raise ProgramError(f"args {args!r} is not a sequence of ints")
    args = list(args)
    if len(args) > _NARGS:
        raise ProgramError(
            f"{len(args)} args given; a syscall has at most {_NARGS}")
    for i, arg in enumerate(args):
        _check_int(f"args[{i}]", arg, 0, _U64)
    args += [0] * (_NARGS - len(args))
    ip = _check_int("ip", ip, 0, _U64)
    signed_nr = nr - (1 << 32) if nr >= 1 << 31 else nr
    return _DATA.pack(signed_nr, token, ip, *args)


class Program:
    """An immutable classic-BPF program, as seccomp installs it.

    ``Program(instructions)`` takes (code, jt, jf, k) tuples and checks that
    each field fits its C type; whether the kernel would accept the program
    is :meth:`validate`'s question.  Programs compare and hash by their
    instructions.
    """

    __slots__ = ("_insns", "_bytes", "_error")

    def __init__(self, instructions: Iterable[Sequence[int]]):
        if isinstance(instructions, (bytes, bytearray, memoryview)):
            raise ProgramError(
                "Program() takes (code, jt, jf, k) tuples; use "
                "Program.from_bytes() for struct sock_filter bytes")
        insns = tuple(_instruction(i, value)
                      for i, value in enumerate(instructions))
        object.__setattr__(self, "_insns", insns)
        object.__setattr__(self, "_bytes", None)
        # None: not checked yet; "": valid; otherwise the reason.
        object.__setattr__(self, "_error", None)

    def __setattr__(self, name, value):
        raise AttributeError("Program is immutable")

    @property
    def instructions(self) -> Tuple[Instruction, ...]:
        """The instructions, as a tuple of :class:`Instruction`."""
        return self._insns

    def __len__(self) -> int:
        return len(self._insns)

    def __iter__(self):
        return iter(self._insns)

    def __eq__(self, other):
        if not isinstance(other, Program):
            return NotImplemented
        return self._insns == other._insns

    def __hash__(self):
        return hash(self._insns)

    def __repr__(self):
        return f"<Program of {len(self._insns)} instructions>"

    def __reduce__(self):
        # Slots plus a blocked __setattr__ defeat the default pickling.
        return (Program, (self._insns,))

    def __bytes__(self) -> bytes:
        """The ``struct sock_filter`` array (little-endian), as installed."""
        if self._bytes is None:
            blob = b"".join(_INSN.pack(*insn) for insn in self._insns)
            object.__setattr__(self, "_bytes", blob)
        return self._bytes

    @classmethod
    def from_bytes(cls, data: Union[bytes, bytearray, memoryview]
                   ) -> "Program":
        """Read a ``struct sock_filter`` array (8 bytes an instruction)."""
        try:
            blob = bytes(data)
        except TypeError:
            raise ProgramError(
                f"{type(data).__name__} is not a bytes-like object") from None
        if len(blob) % _INSN.size:
            raise ProgramError(
                f"program of {len(blob)} bytes is not a whole number of "
                f"{_INSN.size}-byte instructions")
        return cls(_INSN.iter_unpack(blob))

    # -- checking and running -------------------------------------------

    def validate(self) -> None:
        """Raise :class:`ProgramError` if the kernel would reject this program.

        The checks are the kernel's, in full: 1 to 4096 instructions, only
        the opcodes seccomp allows, aligned loads inside seccomp_data, no
        division or shift by a bad constant, jumps inside the program, a
        return last, and no scratch-memory load that some path reaches
        before a store.  The message names the instruction and the value.
        """
        if self._error is None:
            from . import _bpf
            try:
                _bpf.validate(bytes(self))
                error = ""
            except ValueError as exc:
                error = str(exc)
            object.__setattr__(self, "_error", error)
        if self._error:
            raise ProgramError(self._error)

    def run(self, nr: int, args: Sequence[int] = (), *, arch="x86_64",
            ip: int = 0) -> int:
        """Return what the filter returns for one syscall (C simulator).

        The result is the raw 32-bit SECCOMP_RET_* value; decode it with
        :meth:`seccomp_ack.actions.Action.from_value`.  See
        :func:`seccomp_data` for the arguments.  Raises ProgramError if the
        program is invalid.
        """
        from . import _bpf
        data = seccomp_data(nr, args, arch, ip)
        self.validate()
        return _bpf.run(bytes(self), data)

    def interpret(self, nr: int, args: Sequence[int] = (), *,
                  arch="x86_64", ip: int = 0) -> int:
        """Same as :meth:`run`, in the pure-Python interpreter.

        This path shares no code with :meth:`run` (it has its own
        validator too); it exists to test one against the other.
        """
        data = seccomp_data(nr, args, arch, ip)
        problem = _pybpf.check(self._insns)
        if problem is not None:
            index, reason = problem
            where = "program" if index < 0 else f"instruction {index}"
            raise ProgramError(f"{where}: {reason}")
        return _pybpf.run(self._insns, data)

    # -- text -----------------------------------------------------------

    def disasm(self, abi: str = "x86_64") -> str:
        """Return the program as text, one numbered instruction a line.

        Loads name the seccomp_data field, returns name the action, a
        comparison of the arch field names the AUDIT_ARCH token, and a
        JEQ on a syscall number just loaded names the syscall of ``abi``
        in a comment.  :meth:`assemble` reads the text back exactly.
        """
        return _disassemble(self._insns, abi)

    @classmethod
    def assemble(cls, text: str) -> "Program":
        """Read text in the :meth:`disasm` syntax (see the module doc).

        ``Program.assemble(p.disasm()) == p`` for every program ``p``.
        Raises ProgramError naming the line for text it cannot read; the
        program itself is not validated.
        """
        return cls(_assemble(text))


# ---------------------------------------------------------------------------
# Disassembler

_ALU_NAMES = {c.ADD: "add", c.SUB: "sub", c.MUL: "mul", c.DIV: "div",
              c.AND: "and", c.OR: "or", c.XOR: "xor", c.LSH: "lsh",
              c.RSH: "rsh"}
_JMP_NAMES = {c.JEQ: "jeq", c.JGT: "jgt", c.JGE: "jge", c.JSET: "jset"}

_ARCH_NAMES = {tables.AUDIT_ARCH_X86_64: "AUDIT_ARCH_X86_64",
               tables.AUDIT_ARCH_I386: "AUDIT_ARCH_I386",
               tables.AUDIT_ARCH_AARCH64: "AUDIT_ARCH_AARCH64"}
_ARCH_VALUES = {name: value for value, name in _ARCH_NAMES.items()}


def _field_names() -> Dict[int, str]:
    names = {c.OFF_NR: "nr", c.OFF_ARCH: "arch",
             c.OFF_IP_LO: "instruction_pointer.lo",
             c.OFF_IP_HI: "instruction_pointer.hi"}
    for i in range(_NARGS):
        names[c.off_arg_lo(i)] = f"args[{i}].lo"
        names[c.off_arg_hi(i)] = f"args[{i}].hi"
    return names


_FIELDS = _field_names()
_OFFSETS = {name: off for off, name in _FIELDS.items()}

# Action kinds that carry data, and how to print the data.
_DATA_KINDS = {"errno": "ERRNO", "trap": "TRAP", "trace": "TRACE"}
_PLAIN_KINDS = {"allow": "ALLOW", "kill_process": "KILL_PROCESS",
                "kill_thread": "KILL_THREAD", "log": "LOG",
                "user_notif": "USER_NOTIF"}


def _num(value: int) -> str:
    return str(value) if value < 4096 else f"{value:#x}"


def _action_text(value: int) -> Tuple[str, str]:
    """(operand, comment) for ``ret #value``."""
    try:
        action = Action.from_value(value)
    except RuleError:
        return f"#{_num(value)}", "unknown action: the kernel kills"
    if action.value != value:
        # Data the kernel clamps or ignores: keep the exact value.
        return f"#{_num(value)}", repr(action)
    if action.kind in _DATA_KINDS:
        data = action.data
        shown = str(data) if action.kind == "errno" or data < 10 \
            else f"{data:#x}"
        return f"{_DATA_KINDS[action.kind]}({shown})", ""
    return _PLAIN_KINDS[action.kind], ""


_UNSEEN = object()


def _a_fields(insns: Sequence[Instruction]) -> List[Optional[str]]:
    """For each instruction, the seccomp_data field A surely holds, if any.

    Jumps only go forward, so one pass sees every predecessor first.
    """
    n = len(insns)
    state: List[object] = [_UNSEEN] * n
    if n:
        state[0] = None
    for pc, (code, jt, jf, k) in enumerate(insns):
        held = state[pc]
        if held is _UNSEEN:
            held = None
            state[pc] = None
        cls = code & 0x07
        if code == c.LD | c.W | c.ABS:
            out = _FIELDS.get(k)
        elif cls == c.LD or cls == c.ALU or code == c.MISC | c.TXA:
            out = None
        else:
            out = held
        if cls == c.RET:
            targets: Tuple[int, ...] = ()
        elif cls == c.JMP:
            targets = ((k,) if code & 0xF0 == c.JA else (jt, jf))
            targets = tuple(pc + 1 + off for off in targets)
        else:
            targets = (pc + 1,)
        for target in targets:
            if target >= n:
                continue
            if state[target] is _UNSEEN:
                state[target] = out
            elif state[target] != out:
                state[target] = None
    return state  # type: ignore[return-value]


def _syscall_comment(nr: int, abi: str) -> str:
    candidates = [abi]
    if abi == "x86_64" and nr & tables.X32_SYSCALL_BIT:
        candidates = ["x32"]
    for name in candidates:
        try:
            syscall = tables.syscall_name(nr, name)
        except UnknownSyscallError:
            continue
        return syscall if name == abi else f"{name} {syscall}"
    return ""


def _text(pc: int, insn: Instruction, held: Optional[str],
          abi: str) -> Optional[Tuple[str, str]]:
    """(text, comment) of an instruction, or None if only .insn fits."""
    code, jt, jf, k = insn
    cls = code & 0x07
    uses_jumps = cls == c.JMP and code != c.JMP | c.JA
    if not uses_jumps and (jt or jf):
        return None
    if code == c.LD | c.W | c.ABS:
        return f"ld [{_FIELDS.get(k, _num(k))}]", ""
    if code in (c.LD | c.W | c.LEN, c.LDX | c.W | c.LEN):
        return (None if k else (f"{'ld' if cls == c.LD else 'ldx'} len", ""))
    if code in (c.LD | c.IMM, c.LDX | c.IMM):
        return f"{'ld' if cls == c.LD else 'ldx'} #{_num(k)}", ""
    if code in (c.LD | c.MEM, c.LDX | c.MEM, c.ST, c.STX):
        name = {c.LD | c.MEM: "ld", c.LDX | c.MEM: "ldx", c.ST: "st",
                c.STX: "stx"}[code]
        return f"{name} M[{k}]", ""
    if cls == c.ALU:
        op, src = code & 0xF0, code & 0x08
        if code == c.ALU | c.NEG:
            return (None if k else ("neg", ""))
        if op in _ALU_NAMES and code == c.ALU | op | src:
            if src == c.X:
                return (None if k else (f"{_ALU_NAMES[op]} x", ""))
            return f"{_ALU_NAMES[op]} #{_num(k)}", ""
        return None
    if code in (c.MISC | c.TAX, c.MISC | c.TXA):
        return (None if k else ("tax" if code == c.MISC | c.TAX else "txa",
                                ""))
    if code == c.RET | c.K:
        return f"ret {_action_text(k)[0]}", _action_text(k)[1]
    if code == c.RET | c.A:
        return (None if k else ("ret a", ""))
    if code == c.JMP | c.JA:
        return f"ja {pc + 1 + k}", ""
    if cls == c.JMP:
        op, src = code & 0xF0, code & 0x08
        if op not in _JMP_NAMES or code != c.JMP | op | src:
            return None
        targets = f"{pc + 1 + jt}, {pc + 1 + jf}"
        if src == c.X:
            if k:
                return None
            return f"{_JMP_NAMES[op]} x, {targets}", ""
        comment = ""
        operand = _num(k)
        if held == "arch" and k in _ARCH_NAMES:
            operand = _ARCH_NAMES[k]
        elif held == "nr" and op == c.JEQ:
            comment = _syscall_comment(k, abi)
        return f"{_JMP_NAMES[op]} #{operand}, {targets}", comment
    return None


def _disassemble(insns: Sequence[Instruction], abi: str) -> str:
    tables.arch_token(abi)  # an unknown ABI fails here, by name
    width = len(str(max(len(insns) - 1, 0)))
    held = _a_fields(insns)
    lines = []
    for pc, insn in enumerate(insns):
        shown = _text(pc, insn, held[pc], abi)
        if shown is None:
            code, jt, jf, k = insn
            text = f".insn {code:#06x}, {jt}, {jf}, {k:#x}"
            comment = ("opcode not allowed in seccomp filters"
                       if not _pybpf.seccomp_allows(code)
                       else "fields the instruction does not use are set")
        else:
            text, comment = shown
        line = f"{pc:>{width}}: {text}"
        if comment:
            line = f"{line:<40} ; {comment}"
        lines.append(line)
    return "\n".join(lines) + ("\n" if lines else "")


# ---------------------------------------------------------------------------
# Assembler

_LINE = re.compile(r"^\s*(?:([A-Za-z_][\w.]*|\d+)\s*:)?\s*(.*?)\s*$")
_ACTION = re.compile(r"^([A-Za-z_]+)\s*(?:\(\s*([^)]*?)\s*\))?$")
_LD_FIELD = re.compile(r"^\[\s*(.*?)\s*\]$")
_MEM = re.compile(r"^M\[\s*(.*?)\s*\]$", re.IGNORECASE)

_ALU_OPS = {name: op for op, name in _ALU_NAMES.items()}
_JMP_OPS = {name: op for op, name in _JMP_NAMES.items()}


class _Line(NamedTuple):
    number: int
    mnemonic: str
    operands: List[str]


def _fail(line: int, message: str) -> ProgramError:
    return ProgramError(f"line {line}: {message}")


def _int(text: str, line: int, what: str, limit: int = _U32) -> int:
    try:
        value = int(text, 0)
    except ValueError:
        raise _fail(line, f"{what} {text!r} is not a number") from None
    if not 0 <= value <= limit:
        raise _fail(line, f"{what} {value} is out of range 0..{limit:#x}")
    return value


def _imm(text: str, line: int) -> int:
    """A ``#k`` operand: a number or an AUDIT_ARCH_* name."""
    if not text.startswith("#"):
        raise _fail(line, f"expected #constant or x, got {text!r}")
    body = text[1:].strip()
    if body in _ARCH_VALUES:
        return _ARCH_VALUES[body]
    return _int(body, line, "constant")


def _ret_value(text: str, line: int) -> int:
    if text.startswith("#"):
        return _imm(text, line)
    match = _ACTION.match(text)
    name = match.group(1).upper() if match else ""
    kinds = {v: k for k, v in {**_DATA_KINDS, **_PLAIN_KINDS}.items()}
    kinds["KILL"] = "kill_thread"
    if name not in kinds:
        raise _fail(line, f"unknown return value {text!r} (use #k, a, or "
                          "an action such as ALLOW or ERRNO(1))")
    data = match.group(2)
    if data is None and kinds[name] in _DATA_KINDS:
        raise _fail(line, f"{name} needs its data in parentheses, "
                          f"e.g. {name}(1)")
    if data is not None and kinds[name] not in _DATA_KINDS:
        raise _fail(line, f"{name} takes no data, got {text!r}")
    try:
        action = Action(kinds[name],
                        _int(data, line, f"{name} data") if data else 0)
    except RuleError as exc:
        raise _fail(line, str(exc)) from None
    return action.value


def _split(text: str) -> Tuple[str, List[str]]:
    parts = text.split(None, 1)
    mnemonic = parts[0].lower()
    operands = ([o.strip() for o in parts[1].split(",")]
                if len(parts) > 1 else [])
    return mnemonic, operands


def _parse_lines(text: str) -> Tuple[List[_Line], Dict[str, int]]:
    """Instruction lines, and label name -> instruction index."""
    lines: List[_Line] = []
    labels: Dict[str, int] = {}
    for number, raw in enumerate(text.splitlines(), 1):
        body = raw.split(";", 1)[0]
        match = _LINE.match(body)
        label, rest = match.group(1), match.group(2)
        if label is not None:
            if label.isdigit():
                if int(label) != len(lines):
                    raise _fail(number, f"instruction number {label} is "
                                        f"wrong: this is instruction "
                                        f"{len(lines)}")
                if not rest:
                    raise _fail(number, f"instruction {label} is empty")
            elif label in labels:
                raise _fail(number, f"label {label!r} is defined twice")
            else:
                labels[label] = len(lines)
        if rest:
            mnemonic, operands = _split(rest)
            lines.append(_Line(number, mnemonic, operands))
    return lines, labels


def _target(text: str, pc: int, line: int, labels: Dict[str, int],
            limit: int) -> int:
    """Offset from the instruction after ``pc`` to a jump target."""
    if text in labels:
        target = labels[text]
    elif text.isdigit() or text.lower().startswith("0x"):
        target = _int(text, line, "jump target", _U64)
    else:
        raise _fail(line, f"jump target {text!r} is neither an instruction "
                          "number nor a label")
    offset = target - pc - 1
    if offset < 0:
        raise _fail(line, f"jump target {text} is not after instruction "
                          f"{pc} (BPF jumps only go forward)")
    if offset > limit:
        raise _fail(line, f"jump target {text} is {offset} instructions "
                          f"ahead; the offset must fit in 0..{limit}")
    return offset


def _operands(line: _Line, count: int) -> List[str]:
    if len(line.operands) != count:
        raise _fail(line.number, f"{line.mnemonic} takes {count} "
                                 f"operand{'s' if count != 1 else ''}, got "
                                 f"{len(line.operands)}")
    return line.operands


def _encode(pc: int, line: _Line, labels: Dict[str, int]) -> Instruction:
    mnemonic, number = line.mnemonic, line.number
    if mnemonic == ".insn":
        code, jt, jf, k = _operands(line, 4)
        return Instruction(_int(code, number, "code", 0xFFFF),
                           _int(jt, number, "jt", 0xFF),
                           _int(jf, number, "jf", 0xFF),
                           _int(k, number, "k"))
    if mnemonic in ("ld", "ldx", "st", "stx"):
        (operand,) = _operands(line, 1)
        cls = {"ld": c.LD, "ldx": c.LDX, "st": c.ST, "stx": c.STX}[mnemonic]
        mem = _MEM.match(operand)
        if mem:
            index = _int(mem.group(1), number, "scratch index")
            mode = c.MEM if cls in (c.LD, c.LDX) else 0
            return Instruction(cls | mode, 0, 0, index)
        if cls in (c.ST, c.STX):
            raise _fail(number, f"{mnemonic} needs M[index], got "
                                f"{operand!r}")
        if operand.lower() == "len":
            return Instruction(cls | c.W | c.LEN, 0, 0, 0)
        if operand.startswith("#"):
            return Instruction(cls | c.IMM, 0, 0, _imm(operand, number))
        field = _LD_FIELD.match(operand)
        if field and cls == c.LD:
            name = field.group(1)
            offset = (_OFFSETS[name] if name in _OFFSETS
                      else _int(name, number, "seccomp_data offset"))
            return Instruction(c.LD | c.W | c.ABS, 0, 0, offset)
        raise _fail(number, f"cannot read operand {operand!r} of "
                            f"{mnemonic}")
    if mnemonic in _ALU_OPS:
        (operand,) = _operands(line, 1)
        op = _ALU_OPS[mnemonic]
        if operand.lower() == "x":
            return Instruction(c.ALU | op | c.X, 0, 0, 0)
        return Instruction(c.ALU | op | c.K, 0, 0, _imm(operand, number))
    if mnemonic in ("neg", "tax", "txa"):
        _operands(line, 0)
        code = {"neg": c.ALU | c.NEG, "tax": c.MISC | c.TAX,
                "txa": c.MISC | c.TXA}[mnemonic]
        return Instruction(code, 0, 0, 0)
    if mnemonic == "ret":
        (operand,) = _operands(line, 1)
        if operand.lower() == "a":
            return Instruction(c.RET | c.A, 0, 0, 0)
        return Instruction(c.RET | c.K, 0, 0, _ret_value(operand, number))
    if mnemonic == "ja":
        (target,) = _operands(line, 1)
        return Instruction(c.JMP | c.JA, 0, 0,
                           _target(target, pc, number, labels, _U32))
    if mnemonic in _JMP_OPS:
        operand, true, false = _operands(line, 3)
        jt = _target(true, pc, number, labels, 0xFF)
        jf = _target(false, pc, number, labels, 0xFF)
        op = _JMP_OPS[mnemonic]
        if operand.lower() == "x":
            return Instruction(c.JMP | op | c.X, jt, jf, 0)
        return Instruction(c.JMP | op | c.K, jt, jf, _imm(operand, number))
    raise _fail(number, f"unknown instruction {mnemonic!r}")


def _assemble(text: str) -> List[Instruction]:
    if not isinstance(text, str):
        raise ProgramError(f"assembly text must be a str, not "
                           f"{type(text).__name__}")
    lines, labels = _parse_lines(text)
    return [_encode(pc, line, labels) for pc, line in enumerate(lines)]
