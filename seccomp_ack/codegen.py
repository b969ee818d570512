"""Code generation: compile a :class:`~seccomp_ack.rules.Filter` to BPF.

The program has four parts, laid out in this order so that every jump goes
forward:

1. **Arch check.**  ``ld [4]`` and one ``jeq`` per arch token the filter
   covers; any other token gets the filter's ``bad_abi`` action.  x86_64 and
   x32 share a token; the x32 bit of the syscall number (tested with
   ``jset``, as :meth:`Filter.evaluate` and the kernel's own x32 test do)
   chooses between them, and an ABI the filter does not cover gets
   ``bad_abi``.
2. **Dispatch** per ABI: a balanced binary search (``jge``) over intervals
   of syscall numbers that cover the whole 32-bit space.  Consecutive
   numbers with one verdict, and the gaps (the default action), form one
   interval.  A leaf jumps straight to an action block or to the block of a
   syscall with argument conditions.  A syscall whose rules have no
   conditions is decided from arch and number alone: its path reads no
   argument and no instruction pointer, so the kernel can cache the
   verdict of ALLOW.
3. **Syscall blocks**, one per syscall with conditions: its rules, most
   restrictive action first (insertion order among one kind), each an AND
   of comparisons; the first rule that matches decides, and when none
   does, the default action (or a rule without conditions that outranks
   the rest) decides.  64-bit comparisons use both words with ordered
   semantics; 32-bit ones read only the low word.
4. **Action blocks**: one ``ret`` per distinct return value, and one ACK
   block per distinct ACK data.

ACK lowering (see DESIGN.md, "ACK by emulation"):

- ``ACK(0)`` is ALLOW.  ``ACK(d)`` becomes an ACK block that allows the
  call when the instruction pointer is the runtime's trampoline and
  otherwise returns ``TRAP | cookie``.  The pointer is read only inside
  the ACK block, after dispatch on arch, number and arguments, so the
  trampoline can re-issue only calls whose verdict is ACK.
- ACK is emulated on the x86_64 ABI only.  On i386, x32 and aarch64, and
  for ``bad_abi``, ACK lowers to ALLOW (unreported): the runtime re-issues
  through the 64-bit ``syscall`` instruction, which would run a different
  syscall for those ABIs.
- On x86_64, the syscalls in :data:`UNREPORTED_UNDER_ACK` lower ACK to
  ALLOW (unreported): the runtime's own return path (rt_sigreturn, and
  restart_syscall, which the kernel's restart of an interrupted re-issued
  syscall uses).  Every other syscall is reportable, clone, clone3, vfork
  and execve included (the runtime re-issues them so that the child or the
  new image goes on reporting).  This is done as a rewrite of the rules
  before code generation, so that a test can mirror it on
  :meth:`Filter.evaluate`.
- A ``TRAP(d)`` whose ``d`` is an ACK cookie is refused (:class:`RuleError`):
  its SIGSYS would be taken for an ACK report.

Multiplexers (see :mod:`seccomp_ack.multiplexers`): a sub-call's name
(``socket``) is only ever mapped through the syscall tables to its own
number (i386's direct ``socket``, 359), never to its multiplexer
(``socketcall``, 102), so a rule's argument conditions are never tested on
a multiplexer's registers.  Where a covered ABI's multiplexer is permitted
for a sub-call that the filter denies or restricts by arguments, the rule
cannot be enforced: compiling warns with
:class:`~seccomp_ack.multiplexers.MultiplexerWarning` (it does not change
the program).

Limits: a program longer than 4096 instructions raises
:class:`~seccomp_ack.errors.ProgramError` at compile time;
:func:`check_stack_budget` checks the kernel's budget over stacked filters,
which counts instructions after conversion to eBPF (:func:`kernel_length`).
"""

from typing import (Callable, Dict, List, Optional, Sequence, Tuple, Union)

from . import bpfconst as c
from . import tables
from .actions import ALLOW, Action
from .asm import Assembler, Instruction, Label, longest_path
from .errors import ProgramError, RuleError
from .multiplexers import (  # noqa: F401 - MultiplexerWarning re-exported
    MultiplexerWarning, check as _check_multiplexers)
from .rules import Condition, Filter

__all__ = ["compile_filter", "compile_instructions", "check_stack_budget",
           "kernel_length", "lower_rules", "longest_path",
           "UNREPORTED_UNDER_ACK", "GUARDED", "ACK_GUARD",
           "MultiplexerWarning"]

#: x86_64 syscalls whose ACK verdict is lowered to ALLOW (never reported).
UNREPORTED_UNDER_ACK = frozenset({"rt_sigreturn", "restart_syscall"})

#: Calls the runtime must see whenever a filter reports with ACK, even if
#: the filter's rules allow them outright: blocking SIGSYS (a trap while
#: it is blocked kills the process: glibc blocks every signal around
#: pthread_create; a handler installed with a full sa_mask blocks it while
#: it runs), replacing the SIGSYS handler, and exec (the new image must
#: start under the launcher).  On x86_64 they get guard rules, added
#: after every other rule, that replace ALLOW (an ALLOW rule's, or an ALLOW
#: default's) and nothing else: ACK_GUARD, or the default when the default
#: is a reporting ACK.  ACK_GUARD ranks with ACK, so it overrides ALLOW (and
#: ACK(0)), and yields to every more restrictive action and to the
#: filter's own reporting ACK rules.  The runtime emulates ACK_GUARD calls
#: and does not report them.  (syscall, conditions) pairs:
GUARDED: Tuple[Tuple[str, Tuple[Condition, ...]], ...] = (
    # SIG_BLOCK or SIG_SETMASK (any how but SIG_UNBLOCK), with a new set.
    ("rt_sigprocmask", (Condition(0, "ne", 1, width=32),
                        Condition(1, "ne", 0))),
    ("rt_sigaction", (Condition(0, "eq", 31, width=32),)),     # SIGSYS
    # Any handler: its sa_mask must not block SIGSYS while it runs.
    ("rt_sigaction", (Condition(1, "ne", 0),)),
    ("execve", ()),
    ("execveat", ()),
)

#: The action of guard rules in a filter whose default does not report.
ACK_GUARD = Action("ack_guard")

#: The ABI whose syscalls the ACK runtime can re-issue.
ACK_ABI = "x86_64"

_WORD = 0xFFFFFFFF
_GUARD_KEY = -1   # the guard's ACK block, beside ACK data 0..0xFFFF
_TRAP = 0x00030000

#: One lowered rule: (syscall number, action, conditions).
LoweredRule = Tuple[int, Action, Tuple[Condition, ...]]


# -- ACK lowering as a rewrite of the rules ------------------------------

def _lower_action(action: Action, abi: Optional[str]) -> Action:
    """ACK(0), and ACK outside the x86_64 ABI, are ALLOW."""
    if action.kind == "ack" and (action.data == 0 or abi != ACK_ABI):
        return ALLOW
    return action


def _reports(flt: Filter) -> bool:
    """True if ``flt`` reports any syscall of the x86_64 ABI."""
    if ACK_ABI not in flt.abis:
        return False
    actions = [r.action for _, r in flt.rules_for(ACK_ABI)]
    return any(a.kind == "ack" and a.data for a in actions + [flt.default])


def lower_rules(flt: Filter, abi: str) -> Tuple[Action, List[LoweredRule]]:
    """The default action and rules of ``flt`` on ``abi``, ACK lowered.

    The result has the same meaning as the filter under the precedence
    rules of :mod:`seccomp_ack.rules`, except where ACK is lowered to ALLOW
    (see the module docstring).  ACK actions left in the result are the
    reporting ones; they appear only on the x86_64 ABI.
    """
    default = _lower_action(flt.default, abi)
    names = tables.syscall_names(ACK_ABI)
    special = {names[n] for n in UNREPORTED_UNDER_ACK}
    out: List[LoweredRule] = []

    def add(nr: int, action: Action, conds: Tuple[Condition, ...]):
        if action.kind == "ack" and abi == ACK_ABI and nr in special:
            action = ALLOW
        out.append((nr, action, conds))

    for nr, rule in flt.rules_for(abi):
        add(nr, _lower_action(rule.action, abi), rule.conditions)
    if abi == ACK_ABI and _reports(flt):
        # A guard replaces ALLOW only: where an ALLOW rule matches, or the
        # default, when it is ALLOW; never a more restrictive verdict.
        guard = default if default.kind == "ack" else ACK_GUARD
        allowing = [(nr, conds) for nr, action, conds in out
                    if action == ALLOW]
        for name, conds in GUARDED:
            nr = names[name]
            for rule_nr, rule_conds in allowing:
                if rule_nr == nr:
                    out.append((nr, guard, rule_conds + conds))
            if default == ALLOW:
                out.append((nr, guard, conds))
    if default.kind == "ack":
        # The special syscalls must not fall to a reporting default: give
        # them rules of their own, last, so that every other rule still
        # takes precedence as it did.
        for nr in sorted(special):
            add(nr, default, ())
    return default, out


# -- comparisons --------------------------------------------------------

def _fold(cond: Condition) -> Optional[bool]:
    """True or False if ``cond`` holds for every argument or for none."""
    full = (1 << cond.width) - 1
    v = cond.value
    if cond.op == "masked_eq":
        if v & ~cond.mask & full:
            return False
        return True if cond.mask == 0 else None
    return {"lt": False if v == 0 else None,
            "ge": True if v == 0 else None,
            "gt": False if v == full else None,
            "le": True if v == full else None}.get(cond.op)


# What A holds: (offset, mask) after ``ld [offset]`` (and ``and #mask``),
# or None when unknown.
_AState = Optional[Tuple[int, int]]


def _load(asm: Assembler, state: _AState, offset: int,
          mask: int = _WORD) -> _AState:
    """Emit ``ld [offset]`` (and ``and #mask``) unless A holds it already."""
    if state == (offset, mask):
        return state
    if state != (offset, _WORD):
        asm.ld(offset)
    if mask != _WORD:
        asm.and_(mask)
    return (offset, mask)


def _emit_condition(asm: Assembler, cond: Condition, yes: Label, no: Label,
                    state: _AState) -> _AState:
    """Emit one comparison; return what A holds whenever ``yes`` is reached.

    ``state`` is what A holds on entry.
    """
    lo_off = c.off_arg_lo(cond.index)
    hi_off = c.off_arg_hi(cond.index)
    op = cond.op
    lo, hi = cond.value & _WORD, cond.value >> 32
    mlo, mhi = cond.mask & _WORD, cond.mask >> 32

    if op == "masked_eq" and mlo == 0 and cond.width == 64:
        # The high word only (the low value is zero, or _fold refused it):
        #   ld [hi]; and #mhi; jeq #H, yes, no
        _load(asm, state, hi_off, mhi)
        asm.jump("jeq", hi, yes, no)
        return (hi_off, mhi)

    if cond.width == 32 or (op == "masked_eq" and mhi == 0):
        # The low word only (a masked_eq with no high mask bits has a zero
        # high value, or _fold already refused it):
        #   ld [lo]; (and #mask;) jeq|jgt|jge #v, yes, no   (or no, yes)
        state = _load(asm, state, lo_off, mlo if op == "masked_eq" else _WORD)
        _jump_low(asm, op, lo, yes, no)
        return state

    if op in ("eq", "ne", "masked_eq"):
        # Equal iff both words are equal:
        #   ld [hi]; (and #mhi;) jeq #H, next, no|yes
        #   next: ld [lo]; (and #mlo;) jeq #L, yes, no   (ne: no, yes)
        masked = op == "masked_eq"
        mid = asm.label("word")
        _load(asm, state, hi_off, mhi if masked else _WORD)
        if op == "ne":
            asm.jump("jeq", hi, mid, yes)
        else:
            asm.jump("jeq", hi, mid, no)
        asm.bind(mid)
        low = _load(asm, None, lo_off, mlo if masked else _WORD)
        if op == "ne":
            asm.jump("jeq", lo, no, yes)
            return None   # yes is reached from both words
        asm.jump("jeq", lo, yes, no)
        return low

    # Ordered: a > V  iff  hi > H, or hi == H and lo > L (>= for ge).
    # lt and le are the negations of ge and gt, with the exits swapped:
    #   ld [hi]; jgt #H, above, next
    #   next: jeq #H, low, below       (skipped when H == 0)
    #   low: ld [lo]; jgt|jge #L, above, below
    strict = op in ("gt", "le")
    above, below = (yes, no) if op in ("gt", "ge") else (no, yes)
    _load(asm, state, hi_off)
    low = asm.label("low")
    if hi != 0:
        nxt = asm.label("hi_eq")
        asm.jump("jgt", hi, above, nxt)
        asm.bind(nxt)
        asm.jump("jeq", hi, low, below)
    else:
        asm.jump("jgt", hi, above, low)
    asm.bind(low)
    asm.ld(lo_off)
    asm.jump("jgt" if strict else "jge", lo, above, below)
    return None


def _jump_low(asm: Assembler, op: str, v: int, yes: Label,
              no: Label) -> None:
    """The one jump that compares A with 32-bit ``v`` for ``op``."""
    if op in ("eq", "masked_eq"):
        asm.jump("jeq", v, yes, no)
    elif op == "ne":
        asm.jump("jeq", v, no, yes)
    elif op == "gt":
        asm.jump("jgt", v, yes, no)
    elif op == "ge":
        asm.jump("jge", v, yes, no)
    elif op == "lt":
        asm.jump("jge", v, no, yes)
    else:  # le
        asm.jump("jgt", v, no, yes)


# -- the code generator -------------------------------------------------

_Verdict = Union[Action, Label]   # an action, or a syscall block


class _Generator:
    """Emits one filter; see the module docstring for the layout."""

    def __init__(self, flt: Filter, trampoline: Optional[int],
                 cookies: Optional[Callable[[int], int]]):
        self.flt = flt
        self.asm = Assembler()
        self._trampoline = trampoline
        self._cookies = cookies
        self._cookie_of: Dict[int, int] = {}      # ACK data -> cookie
        self._ack_blocks: Dict[int, Label] = {}   # ACK data -> block
        self._blocks: List[Tuple[Label, list, Action]] = []
        self._block_of: Dict[tuple, Label] = {}   # rules -> its block

    # Actions ----------------------------------------------------------

    def action_label(self, action: Action) -> Label:
        """Where a verdict of ``action`` jumps: a ret or an ACK block."""
        if action.kind in ("ack", "ack_guard"):
            key = action.data if action.kind == "ack" else _GUARD_KEY
            label = self._ack_blocks.get(key)
            if label is None:
                label = self.asm.label(f"ack{key}_")
                self._ack_blocks[key] = label
            return label
        return self.asm.ret_label(action.value)

    def _cookie(self, data: int) -> int:
        if data == _GUARD_KEY:
            from .cookies import guard_cookie
            return guard_cookie()
        if self._cookies is None:
            from .cookies import cookie_for
            self._cookies = cookie_for
        cookie = self._cookies(data)
        if isinstance(cookie, bool) or not isinstance(cookie, int) \
                or not 1 <= cookie <= 0xFFFF:
            raise RuleError(f"cookie {cookie!r} for ACK({data}) is not in "
                            "1..65535")
        return cookie

    def _trampoline_address(self) -> int:
        if self._trampoline is None:
            from .runtime import trampoline_address
            self._trampoline = trampoline_address()
        t = self._trampoline
        if isinstance(t, bool) or not isinstance(t, int) \
                or not 0 <= t < 1 << 64:
            raise RuleError(f"trampoline address {t!r} is not a 64-bit "
                            "unsigned int")
        return t

    def emit_ack_blocks(self) -> None:
        if not self._ack_blocks:
            return
        tramp = self._trampoline_address()
        allow = self.asm.ret_label(ALLOW.value)
        for data, label in self._ack_blocks.items():
            cookie = self._cookie_of[data] = self._cookie(data)
            trap = self.asm.ret_label(_TRAP | cookie)
            # Allow the re-issue from the trampoline, trap anything else:
            #   ackD: ld [8]; jeq #lo(tramp), hi, trap
            #   hi:   ld [12]; jeq #hi(tramp), allow, trap
            #   trap: ret TRAP|cookie
            hi = self.asm.label("ip_hi")
            self.asm.bind(label)
            self.asm.ld(c.OFF_IP_LO)
            self.asm.jump("jeq", tramp & _WORD, hi, trap)
            self.asm.bind(hi)
            self.asm.ld(c.OFF_IP_HI)
            self.asm.jump("jeq", tramp >> 32, allow, trap)

    def check_trap_data(self) -> None:
        from .cookies import is_cookie
        ours = set(self._cookie_of.values())
        actions = [r.action for r in self.flt.rules]
        actions += [self.flt.default, self.flt.bad_abi]
        for action in actions:
            if action.kind == "trap" and (action.data in ours
                                          or is_cookie(action.data)):
                raise RuleError(
                    f"{action!r}: trap data {action.data} ({action.data:#x})"
                    " is an ACK cookie, so its SIGSYS would be taken for "
                    "an ACK report; choose other data")

    # Verdicts ---------------------------------------------------------

    def verdicts(self, abi: str) -> Tuple[Action, Dict[int, _Verdict]]:
        """The default action and, per syscall number, its verdict.

        A verdict is an action when it does not depend on the arguments;
        otherwise a syscall block is queued and its number is the verdict.
        """
        default, lowered = lower_rules(self.flt, abi)
        per_nr: Dict[int, list] = {}
        for order, (nr, action, conds) in enumerate(lowered):
            folded = [x for x in conds if _fold(x) is not True]
            if any(_fold(x) is False for x in folded):
                continue   # can never match
            # Group the comparisons by argument word, so that A is reused.
            kept = tuple(sorted(dict.fromkeys(folded), key=lambda x: x.index))
            per_nr.setdefault(nr, []).append((action.rank, order, action,
                                              kept))
        out: Dict[int, _Verdict] = {}
        for nr, rules in per_nr.items():
            rules.sort(key=lambda r: (r[0], r[1]))
            fallback = default
            kept_rules = []
            for _, _, action, conds in rules:
                if not conds:
                    fallback = action   # outranks every rule after it
                    break
                kept_rules.append((action, conds))
            if not kept_rules:
                out[nr] = fallback
                continue
            # ABIs often share a syscall's rules: emit each block once.
            key = (tuple(kept_rules), fallback)
            label = self._block_of.get(key)
            if label is None:
                label = self._block_of[key] = self.asm.label(f"nr{nr}_")
                self._blocks.append((label, kept_rules, fallback))
            out[nr] = label
        return default, out

    def target(self, verdict) -> Label:
        return verdict if isinstance(verdict, Label) \
            else self.action_label(verdict)

    def intervals(self, abi: str) -> List[Tuple[int, Label]]:
        """(first number, target) per interval, covering 0..2**32-1."""
        default, verdicts = self.verdicts(abi)
        default_label = self.action_label(default)
        out: List[Tuple[int, Label]] = []

        def add(lo: int, label: Label):
            if not out or out[-1][1] is not label:
                out.append((lo, label))

        add(0, default_label)
        for nr in sorted(verdicts):
            if out[-1][0] == nr:
                # nr follows the previous number: no default gap between.
                out.pop()
            add(nr, self.target(verdicts[nr]))
            if nr < _WORD:
                add(nr + 1, default_label)
        return out

    def emit_tree(self, intervals: Sequence[Tuple[int, Label]]) -> None:
        """Emit the binary search over ``intervals`` (at least two)."""
        # Split in the middle; A holds the syscall number:
        #   jge #first_of_right_half, right, left
        #   left: <left half>
        #   right: <right half>
        mid = len(intervals) // 2
        left, right = intervals[:mid], intervals[mid:]
        lt = left[0][1] if len(left) == 1 else self.asm.label("lo")
        rt = right[0][1] if len(right) == 1 else self.asm.label("hi")
        self.asm.jump("jge", right[0][0], rt, lt)
        if len(left) > 1:
            self.asm.bind(lt)
            self.emit_tree(left)
        if len(right) > 1:
            self.asm.bind(rt)
            self.emit_tree(right)

    def emit_block(self, label: Label, rules, fallback: Action) -> None:
        # Each rule is an AND of comparisons; a failed comparison goes on
        # to the next rule, the last one to the fallback action:
        #   rule1: <cmp1> ok1, rule2;  ok1: <cmp2> action1, rule2
        #   rule2: ...                 ... fallback
        self.asm.bind(label)
        for i, (action, conds) in enumerate(rules):
            last_rule = i == len(rules) - 1
            no = self.action_label(fallback) if last_rule \
                else self.asm.label("rule")
            state: _AState = None
            for j, cond in enumerate(conds):
                yes = self.action_label(action) if j == len(conds) - 1 \
                    else self.asm.label("and")
                state = _emit_condition(self.asm, cond, yes, no, state)
                if j < len(conds) - 1:
                    self.asm.bind(yes)
            if not last_rule:
                self.asm.bind(no)

    # The whole program ------------------------------------------------

    def generate(self) -> List[Instruction]:
        asm = self.asm
        flt = self.flt
        bad = self.action_label(_lower_action(flt.bad_abi, None))

        # Dispatch entry per ABI: a leaf when the ABI has one verdict.
        entries: Dict[str, Label] = {}
        trees: List[Tuple[Label, list, bool]] = []   # (label, ivs, load nr)
        for abi in flt.abis:
            ivs = self.intervals(abi)
            if len(ivs) == 1:
                entries[abi] = ivs[0][1]
            else:
                entries[abi] = asm.label(f"{abi}_")
                trees.append((entries[abi], ivs, abi not in ("x86_64",
                                                              "x32")))

        # Arch check, the native token first:
        #   ld [4]; jeq #TOKEN1, abi1, next; next: jeq #TOKEN2, ... bad
        tokens: List[Tuple[int, Label]] = []
        x86 = [a for a in ("x86_64", "x32") if a in entries]
        if x86:
            tokens.append((tables.AUDIT_ARCH_X86_64, asm.label("x86_")))
        for abi in flt.abis:
            if abi not in ("x86_64", "x32"):
                tokens.append((tables.ABI_ARCH[abi], entries[abi]))
        asm.ld(c.OFF_ARCH)
        for i, (token, label) in enumerate(tokens):
            nxt = bad if i == len(tokens) - 1 else asm.label("arch")
            asm.jump("jeq", token, label, nxt)
            if nxt is not bad:
                asm.bind(nxt)

        if x86:
            # One token, two ABIs: the x32 bit of the number decides.
            #   x86: ld [0]; jset #0x40000000, x32|bad, x86_64|bad
            asm.bind(tokens[0][1])
            asm.ld(c.OFF_NR)
            asm.jump("jset", tables.X32_SYSCALL_BIT,
                     entries.get("x32", bad), entries.get("x86_64", bad))

        for label, ivs, load_nr in trees:
            asm.bind(label)
            if load_nr:
                asm.ld(c.OFF_NR)
            self.emit_tree(ivs)

        for label, rules, fallback in self._blocks:
            self.emit_block(label, rules, fallback)
        self.emit_ack_blocks()
        self.check_trap_data()
        return asm.assemble()


def compile_instructions(flt: Filter, *, trampoline: Optional[int] = None,
                         cookies: Optional[Callable[[int], int]] = None
                         ) -> List[Instruction]:
    """Compile ``flt`` to a list of (code, jt, jf, k) instructions.

    Arguments as for :func:`compile_filter`.  Raises ProgramError when the
    program exceeds the kernel's 4096 instructions.  Warns with
    MultiplexerWarning where a multiplexer lets calls bypass a rule.
    """
    if not isinstance(flt, Filter):
        raise RuleError(f"expected a Filter, got {flt!r}")
    _check_multiplexers(flt)
    insns = _Generator(flt, trampoline, cookies).generate()
    if len(insns) > c.MAXINSNS:
        raise ProgramError(f"program has {len(insns)} instructions; the "
                           f"kernel allows {c.MAXINSNS}")
    return insns


def compile_filter(flt: Filter, *, trampoline: Optional[int] = None,
                   cookies: Optional[Callable[[int], int]] = None):
    """Compile ``flt`` to a BPF :class:`~seccomp_ack.program.Program`.

    ``trampoline`` is the instruction pointer from which the ACK runtime
    re-issues syscalls; it is looked up in :mod:`seccomp_ack.runtime` only
    when the filter reports with ACK.  ``cookies`` maps ACK data to its
    16-bit cookie (default :func:`seccomp_ack.cookies.cookie_for`).
    """
    from .program import Program
    return Program(compile_instructions(flt, trampoline=trampoline,
                                        cookies=cookies))


def kernel_length(program) -> int:
    """How many instructions the kernel charges ``program`` for.

    The kernel converts classic BPF to eBPF before it counts: 3 more
    instructions of prologue, one more per ``ret`` (a move and an exit),
    one more per conditional jump with two non-zero offsets, or a ``jset``
    with a non-zero false offset (a jump and a ``ja``), and one more per
    conditional jump on a constant of 0x80000000 or above (eBPF immediates
    are signed, so it is moved to a register first).  Measured against Linux 6.18 on every instruction this
    compiler emits; other ALU instructions (division by X...) may cost
    more there than counted here.
    """
    total = 3
    for code, jt, jf, k in (tuple(i) for i in program):
        total += 1
        cls = code & 0x07
        if cls == c.RET:
            total += 1
        elif cls == c.JMP and code & 0xF0 != c.JA:
            # eBPF inverts jeq, jgt and jge when only jf jumps; not jset.
            total += bool(jf) and (bool(jt) or code & 0xF0 == c.JSET)
            total += code & c.X == 0 and k >= 0x80000000
    return total


def check_stack_budget(programs: Sequence) -> int:
    """Check stacked filters against the kernel's instruction budget.

    ``programs`` lists every filter the thread will have, oldest first, the
    one about to be installed last: each a Program (or instruction list),
    or the number :func:`kernel_length` gives for it.  The kernel charges
    each filter its converted length, plus 4 for every filter already
    installed, and refuses (ENOMEM) more than 32768.  Returns the total;
    raises ProgramError with the numbers.
    """
    lengths = []
    for p in programs:
        if isinstance(p, bool) or not isinstance(p, int):
            p = kernel_length(p)
        elif p < 1:
            raise ProgramError(f"a filter of kernel length {p} cannot be "
                               "installed")
        lengths.append(p)
    total = sum(lengths) + 4 * max(len(lengths) - 1, 0)
    if total > c.MAX_INSNS_PER_PATH:
        raise ProgramError(
            f"{len(lengths)} stacked filters need {total} instructions "
            f"({sum(lengths)} after conversion to eBPF, plus 4 for each of "
            f"the {len(lengths) - 1} installed before the last); the kernel "
            f"allows {c.MAX_INSNS_PER_PATH}")
    return total
