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
import sys
from typing import List, Optional

from .actions import ERRNO, KILL_PROCESS, LOG
from .errors import SeccompAckError

DEFAULTS = {
    "errno": ERRNO(1),        # EPERM: Python code sees PermissionError
    "kill": KILL_PROCESS,
    "log": LOG,
}


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="seccomp-ack",
        description="Learn a Python program's syscalls with emulated "
                    "SECCOMP_RET_ACK, then enforce them.")
    sub = p.add_subparsers(dest="command", required=True)

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
    learn.add_argument("--ring-size", type=int, default=16384,
                       help="events the ring holds (a power of two)")
    learn.add_argument("--backend", default="ack",
                       choices=["ack", "ptrace", "ptrace-syscall", "notify"],
                       help="how to see syscalls (default: ack); the others "
                            "trace any executable: TARGET is then its argv")
    learn.add_argument("target", nargs=argparse.REMAINDER,
                       help="script.py [args] | -m module [args] | "
                            "-c code [args]")

    run = sub.add_parser(
        "run", help="run TARGET under a profile",
        description="Install the profile's filter, then run TARGET.")
    run.add_argument("--profile", required=True, help="OCI seccomp profile")
    run.add_argument("target", nargs=argparse.REMAINDER)

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
    for nr, n in sorted(learned.unknown.items()):
        lines.append(f"  unknown syscall number {nr}: {n} (not in profile)")
    stats = result.stats
    if stats["dropped"] or stats["lost"]:
        lines.append(f"seccomp_ack: WARNING: {stats['dropped']} events "
                     f"dropped (ring full) and {stats['lost']} lost (writer "
                     "died); the profile may be incomplete: raise "
                     "--ring-size")
    for event in learned.refused:
        lines.append(f"seccomp_ack: pid {event.pid} tried {event.name}; exec "
                     "under ACK is not supported yet, it failed with ENOTSUP")
    return "\n".join(lines)


def _target(args, rest):
    from .supervise import parse_target
    argv = rest if rest is not None else args.target
    return parse_target(list(argv))


def main(argv: Optional[List[str]] = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    head, rest = _split(argv)
    args = _parser().parse_args(head)
    try:
        if args.command == "learn":
            return _learn(args, rest)
        if args.command == "run":
            return _run(args, rest)
        return _disasm(args)
    except (SeccompAckError, OSError) as exc:
        print(f"seccomp-ack: error: {exc}", file=sys.stderr)
        return 2


def _check_output(path: str) -> None:
    # Before the target runs: a profile that cannot be written is lost work.
    directory = os.path.dirname(os.path.abspath(path))
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
    supervise.enforce(target, flt)
    return 0  # not reached


def _disasm(args) -> int:
    from .profiles import load_profile
    program = load_profile(args.profile).compile()
    print(program.disasm())
    return 0
