"""Command line: ``seccomp-ack`` / ``python -m seccomp_ack``.

    seccomp-ack learn -o app.json [--default errno|kill] -- TARGET
    seccomp-ack run --profile app.json -- TARGET
    seccomp-ack disasm PROFILE

TARGET is given the way ``python`` takes it: ``script.py [args]``,
``-m module [args]`` or ``-c code [args]``.
"""

import argparse
import errno
import os
import signal
import warnings
import sys
from typing import List, Optional

from .actions import ERRNO, KILL_PROCESS, LOG
from .errors import SeccompAckError

DEFAULTS = {
    "errno": ERRNO(1),        # EPERM: Python code sees PermissionError
    "kill": KILL_PROCESS,
    "log": LOG,
}


TARGET_HELP = ("script.py [args] | -m module [args] | -c code [args] | "
               "program [args], after --")


def _ring_size(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number")
    if n < 2 or n > 1 << 24 or n & (n - 1):
        raise argparse.ArgumentTypeError(
            f"{n} is not a power of two in 2..{1 << 24}")
    return n


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        if "unrecognized arguments" in message:
            message += " (give the target after --, as in: seccomp-ack " \
                       "learn -o app.json -- -c 'print(1)')"
        super().error(message)


def _parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="seccomp-ack",
        description="Learn a Python program's syscalls with emulated "
                    "SECCOMP_RET_ACK, then enforce them.")
    sub = p.add_subparsers(dest="command", required=True,
                           parser_class=_Parser)

    learn = sub.add_parser(
        "learn", help="run TARGET, report every syscall, write a profile",
        description="Run TARGET under an ACK filter (every syscall reported, "
                    "none denied) and write an OCI seccomp profile of what it "
                    "did.")
    learn.add_argument("-o", "--output", required=True,
                       help="profile to write (JSON)")
    learn.add_argument("--default", choices=sorted(DEFAULTS),
                       default="errno",
                       help="action for syscalls outside the profile "
                            "(default: errno, i.e. EPERM)")
    learn.add_argument("--ring-size", type=_ring_size, default=16384,
                       help="events the ring holds, a power of two "
                            "(default: 16384; about 300 bytes each, in "
                            "/dev/shm).  Events a full ring drops are "
                            "counted; the profile stays complete")
    learn.add_argument("--backend", default="ack",
                       choices=["ack", "ptrace", "ptrace-syscall", "notify"],
                       help="how to see syscalls (default: ack); the others "
                            "trace any executable: TARGET is then its argv")
    learn.add_argument("target", nargs=argparse.REMAINDER, help=TARGET_HELP)

    run = sub.add_parser(
        "run", help="run TARGET under a profile",
        description="Install the profile's filter, then run TARGET.")
    run.add_argument("--profile", required=True, help="OCI seccomp profile")
    run.add_argument("target", nargs=argparse.REMAINDER, help=TARGET_HELP)

    dis = sub.add_parser("disasm", help="compile a profile, print its BPF")
    dis.add_argument("profile")
    return p


def _split(argv: List[str]):
    # Everything after the first "--" is the target, untouched by argparse.
    if "--" in argv:
        i = argv.index("--")
        return argv[:i], argv[i + 1:]
    return argv, None


def _summary(result, output: str) -> str:
    learned = result.learned
    counts = sorted(learned.counts.items(), key=lambda kv: (-kv[1], kv[0]))
    total = sum(learned.counts.values()) + sum(learned.unknown.values())
    lines = [f"seccomp_ack: {len(counts)} syscalls seen in {total} events "
             f"from {len(learned.pids)} process(es); profile written to "
             f"{output}"]
    cells = [f"{name} {n}" for name, n in counts]
    for i in range(0, len(cells), 6):
        lines.append("  " + ", ".join(cells[i:i + 6]))
    unseen = sorted(learned.unreported - set(learned.counts))
    if unseen:
        lines.append(f"  made but not reported (their events were dropped, "
                     f"or made by a dispatcher): {', '.join(unseen)}")
    for nr, n in sorted(learned.unknown.items()):
        lines.append(f"  unknown syscall number {nr}: {n} (not in profile)")
    stats = result.stats
    if stats.get("dropped") or stats.get("lost"):
        lines.append(f"seccomp_ack: warning: {stats['dropped']} events "
                     f"dropped (ring full) and {stats['lost']} lost (writer "
                     "died): the counts above are short, the profile is not "
                     "(every syscall that trapped is in it); --ring-size "
                     "keeps more")
    for event in learned.refused:
        lines.append(f"seccomp_ack: pid {event.pid}'s {event.name} failed "
                     "with ENOTSUP: that program cannot run under ACK (the "
                     "reason was printed above)")
    status = result.status
    if status is not None and os.WIFSIGNALED(status):
        sig = signal.Signals(os.WTERMSIG(status))
        why = (": a seccomp verdict killed it (an i386 `int 0x80` call, "
               "which learning does not cover, does that)"
               if sig == signal.SIGSYS else "")
        lines.append(f"seccomp_ack: the target was killed by {sig.name}"
                     f"{why}")
    return "\n".join(lines)


def _target(args, rest):
    from .supervise import parse_target
    argv = rest if rest is not None else args.target
    return parse_target(list(argv))


def main(argv: Optional[List[str]] = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    # Library warnings (MultiplexerWarning, ProfileWarning) as CLI lines.
    warnings.showwarning = lambda message, category, *rest, **kw: print(
        f"seccomp-ack: warning: {message}", file=sys.stderr)
    head, rest = _split(argv)
    args = _parser().parse_args(head)
    try:
        if args.command == "learn":
            return _learn(args, rest)
        if args.command == "run":
            return _run(args, rest)
        return _disasm(args)
    except BrokenPipeError:
        # Output piped into `head`: not an error of ours.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except (SeccompAckError, OSError) as exc:
        print(f"seccomp-ack: error: {exc}", file=sys.stderr)
        return 2


def _check_output(path: str) -> None:
    # Before the target runs: a profile that cannot be written is lost work.
    directory = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(path):
        raise OSError(errno.EISDIR, f"cannot write the profile {path!r}: "
                      "it is a directory")
    if not os.path.isdir(directory):
        raise OSError(errno.ENOENT, f"cannot write the profile {path!r}: "
                      f"directory {directory!r} does not exist")
    if not os.access(directory, os.W_OK | os.X_OK):
        raise OSError(errno.EACCES, f"cannot write the profile {path!r}: "
                      f"directory {directory!r} is not writable")


def _learn(args, rest) -> int:
    from . import supervise
    from .profiles import dump_profile
    _check_output(args.output)
    if args.backend == "ack":
        target = _target(args, rest)
        result = supervise.learn(target, ring_size=args.ring_size)
    else:
        result = _learn_traced(args, rest)
    flt = result.learned.filter(DEFAULTS[args.default])
    dump_profile(flt, args.output)
    print(_summary(result, args.output), file=sys.stderr)
    supervise.pass_status(result.status)
    return 0


def _learn_traced(args, rest):
    # Tracer backends watch from outside: TARGET is any command line.
    from . import tracers
    from .supervise import TargetError
    argv = list(rest if rest is not None else args.target)
    if not argv:
        raise TargetError("no target given: expected a command after --")
    return tracers.learn(argv, backend=args.backend)


def _run(args, rest) -> int:
    from . import supervise
    from .profiles import load_profile
    target = _target(args, rest)
    flt = load_profile(args.profile)
    waiting = sorted({repr(r.action) for r in flt.rules
                      if r.action.kind in ("trace", "user_notif")})
    if waiting:
        # Without a tracer or a listener the kernel fails these with ENOSYS.
        print(f"seccomp-ack: warning: the profile uses {', '.join(waiting)}"
              "; with no tracer or notification listener attached, those "
              "calls fail with ENOSYS", file=sys.stderr)
    supervise.enforce(target, flt)
    return 0  # not reached


def _disasm(args) -> int:
    from .profiles import load_profile
    program = load_profile(args.profile).compile()
    print(program.disasm())
    return 0
