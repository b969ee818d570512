"""The comparison harness: every mechanism, the same workloads, interleaved.

Each run is a fresh interpreter (``benchmarks.worker``) that times its
workload from inside; tracers wrap that interpreter from outside.  Runs are
interleaved round-robin (repetition r of every mechanism and workload comes
before repetition r + 1 of any), so slow drift of the machine spreads over
all of them, and the median over repetitions is kept with its spread.
"""

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import seccomp_ack as sa
from seccomp_ack import tracers
from seccomp_ack.asm import longest_path

# WORKLOAD_UNITS is read through this module by __main__.
from .worker import WORKLOAD_SYSCALLS, WORKLOAD_UNITS  # noqa: F401

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
DOCKER_PROFILE = os.path.join(REPO, "..", "shared", "data", "profiles",
                              "moby-profiles_seccomp_default.json")
STRACE = shutil.which("strace")


class Mode:
    """How long to run: per-run time budget, repetitions, size sweep."""

    def __init__(self, name: str, budget_s: float, reps: int,
                 sizes: Sequence[int], compiles: int):
        self.name = name
        self.budget_ns = budget_s * 1e9
        self.reps = reps
        self.sizes = tuple(sizes)
        self.compiles = compiles


MODES = {
    "full": Mode("full", 0.6, 5, (0, 250, 500, 1000, 2000, 4000), 9),
    "quick": Mode("quick", 0.12, 3, (0, 500, 1000, 2000, 4000), 3),
    "smoke": Mode("smoke", 0.003, 1, (0, 1000), 1),
}

# Rough cost per reported syscall (ns), only to size each run's loop so
# that every run takes about the mode's budget.
_PER_CALL = {
    "none": 100, "nr-filter": 120, "signal": 1000, "ack-ring": 2000,
    "ack-callback": 2500, "ack-silenced": 1000, "ptrace": 25000,
    "ptrace-exit": 60000, "ptrace-syscall": 50000, "notify-thread": 3000,
    "notify-process": 15000, "strace": 60000, "strace-bpf": 30000,
    "python-ptrace": 300000,
}
# Per op: fixed cost (ns) and syscalls made.
_OP_COST = {"getppid": (0, 1), "pipe": (0, 1), "sqlite": (25000, 25),
            "threads": (40000, 25), "personality": (0, 1)}


class Mechanism:
    """One way of running a workload, with the workloads it applies to."""

    def __init__(self, key: str, label: str, kind: str,
                 workloads: Optional[Sequence[str]] = None,
                 reason: Optional[str] = None):
        self.key = key
        self.label = label
        self.kind = kind              # worker, trace, strace, python-ptrace
        self.workloads = tuple(workloads) if workloads else None
        self.reason = reason          # why it is unavailable, or None

    def applies(self, workload: str) -> bool:
        return self.workloads is None or workload in self.workloads


def _python_ptrace_reason() -> Optional[str]:
    try:
        import ptrace.debugger  # noqa: F401
    except Exception as exc:  # any import failure means unavailable
        return f"python-ptrace does not import: {exc}"
    return None


def _ptracer_reason() -> Optional[str]:
    try:
        import ptracer  # noqa: F401
    except Exception as exc:
        return (f"ptracer does not import ({exc}); `pip install ptracer` "
                "fails to build its C extension on CPython 3.11 "
                "(PyFrameObject is opaque since 3.11)")
    return "ptracer imports, but no driver is written for it yet"


def mechanisms() -> List[Mechanism]:
    """Every mechanism, available or not (unavailable ones say why)."""
    single = ("getppid", "pipe", "sqlite")
    no_strace = None if STRACE else "strace is not installed"
    return [
        Mechanism("none", "no filter", "worker"),
        Mechanism("nr-filter", "filter, ALLOW from nr only", "worker"),
        Mechanism("signal", "bare signal round trip (tgkill)", "worker",
                  ["getppid"]),
        Mechanism("ack-ring", "ACK reported (ring only)", "worker"),
        Mechanism("ack-callback", "ACK reported + Python callback",
                  "worker"),
        Mechanism("ack-silenced", "ACK silenced", "worker"),
        Mechanism("ptrace", "ptrace TRACE (1 stop, counted in C)", "trace"),
        Mechanism("ptrace-exit", "ptrace TRACE + exit stop (events)",
                  "trace"),
        Mechanism("ptrace-syscall", "ptrace PTRACE_SYSCALL (2 stops)",
                  "trace"),
        Mechanism("notify-thread", "USER_NOTIF, supervisor thread",
                  "worker", ["getppid"]),
        Mechanism("notify-process", "USER_NOTIF, supervisor process",
                  "trace"),
        Mechanism("strace", "strace -f", "strace", reason=no_strace),
        Mechanism("strace-bpf", "strace -f --seccomp-bpf", "strace",
                  reason=no_strace),
        Mechanism("python-ptrace", "python-ptrace (PTRACE_SYSCALL)",
                  "python-ptrace", single, reason=_python_ptrace_reason()),
        Mechanism("ptracer", "ptracer (PyPI)", "none",
                  reason=_ptracer_reason()),
    ]


WORKLOADS = ("getppid", "pipe", "sqlite", "threads")


def iterations(mode: Mode, mechanism: str, workload: str) -> int:
    """Loop count for one run of ``mechanism`` on ``workload``."""
    per_call = _PER_CALL.get(mechanism, 200)
    fixed, calls = _OP_COST[workload]
    n = int(mode.budget_ns / (fixed + calls * per_call))
    low = 2 if workload in ("sqlite", "threads") else 20
    return max(low, min(n, 5_000_000))


def _env() -> Dict[str, str]:
    env = dict(os.environ)
    path = env.get("PYTHONPATH")
    env["PYTHONPATH"] = REPO + (os.pathsep + path if path else "")
    return env


def worker_argv(mechanism: str, workload: str, n: int,
                result: str) -> List[str]:
    return [sys.executable, "-m", "benchmarks.worker", mechanism, workload,
            str(n), "--result", result]


def _python_ptrace_run(argv: List[str], env: Dict[str, str]) -> int:
    # A minimal PTRACE_SYSCALL loop with python-ptrace's debugger API.
    from ptrace.debugger import (ProcessExit, ProcessSignal,
                                 PtraceDebugger)
    from ptrace.debugger.child import createChild
    pid = createChild(argv, False, env)
    debugger = PtraceDebugger()
    try:
        process = debugger.addProcess(pid, is_attached=True)
        process.syscall()
        while True:
            try:
                process.waitSyscall()
                process.syscall()
            except ProcessSignal as event:
                process.syscall(event.signum)
            except ProcessExit as event:
                return event.exitcode or 0
    finally:
        debugger.quit()


def run_one(mech: Mechanism, workload: str, n: int,
            timeout: float = 600) -> dict:
    """One timed run; returns the worker's result dict."""
    env = _env()
    with tempfile.TemporaryDirectory(prefix="sa-bench-") as tmp:
        result = os.path.join(tmp, "result.json")
        syscalls = WORKLOAD_SYSCALLS.get(workload)
        if mech.kind == "worker":
            argv = worker_argv(mech.key, workload, n, result)
            proc = subprocess.run(argv, env=env, timeout=timeout,
                                  stdout=subprocess.DEVNULL,
                                  stderr=subprocess.PIPE, text=True)
            if proc.returncode:
                raise RuntimeError(f"{mech.key}/{workload}: worker failed "
                                   f"({proc.returncode}): {proc.stderr}")
        elif mech.kind == "trace":
            argv = worker_argv("none", workload, n, result)
            seen = [0]

            def count(event):
                seen[0] += 1

            backend = {"ptrace": "ptrace", "ptrace-exit": "ptrace",
                       "ptrace-syscall": "ptrace-syscall",
                       "notify-process": "notify"}[mech.key]
            events = mech.key == "ptrace-exit"
            traced = tracers.trace(argv, backend=backend, syscalls=syscalls,
                                   events=events,
                                   on_event=count if events else None,
                                   env=env)
            if traced.exitcode:
                raise RuntimeError(f"{mech.key}/{workload}: exit "
                                   f"{traced.exitcode}")
        elif mech.kind == "strace":
            argv = [STRACE, "-f", "-qq", "-o", os.devnull]
            if mech.key == "strace-bpf":
                argv.append("--seccomp-bpf")
            if syscalls is not None:
                argv += ["-e", "trace=" + ",".join(syscalls)]
            argv += worker_argv("none", workload, n, result)
            proc = subprocess.run(argv, env=env, timeout=timeout,
                                  stdout=subprocess.DEVNULL,
                                  stderr=subprocess.PIPE, text=True)
            if proc.returncode:
                raise RuntimeError(f"{mech.key}/{workload}: strace failed "
                                   f"({proc.returncode}): {proc.stderr}")
        elif mech.kind == "python-ptrace":
            code = _python_ptrace_run(
                worker_argv("none", workload, n, result), env)
            if code:
                raise RuntimeError(f"{mech.key}/{workload}: exit {code}")
        else:
            raise RuntimeError(f"{mech.key} cannot run: {mech.reason}")
        with open(result) as f:
            return json.load(f)


def summarize(samples: Sequence[float]) -> dict:
    """Median, min, max and quartiles of ns-per-op samples."""
    s = sorted(samples)
    if len(s) >= 2:
        q1, _, q3 = statistics.quantiles(s, n=4, method="inclusive")
    else:
        q1 = q3 = s[0]
    return {"median_ns": statistics.median(s), "min_ns": s[0],
            "max_ns": s[-1], "q1_ns": q1, "q3_ns": q3,
            "samples_ns": [round(x, 1) for x in samples]}


Progress = Callable[[str], None]


def run_matrix(mode: Mode, mechs: List[Mechanism],
               workloads: Sequence[str], progress: Progress) -> dict:
    """Round-robin repetitions over every (mechanism, workload) pair."""
    cells = [(m, w) for w in workloads for m in mechs
             if m.reason is None and m.applies(w)]
    samples: Dict[Tuple[str, str], List[float]] = {}
    ops: Dict[Tuple[str, str], int] = {}
    errors: Dict[Tuple[str, str], str] = {}
    for rep in range(mode.reps):
        for mech, workload in cells:
            key = (mech.key, workload)
            if key in errors:
                continue
            n = iterations(mode, mech.key, workload)
            t0 = time.monotonic()
            try:
                r = run_one(mech, workload, n)
            except Exception as exc:  # recorded in the results, not hidden
                errors[key] = f"{type(exc).__name__}: {exc}"[:500]
                progress(f"  {mech.key}/{workload}: FAILED {errors[key]}")
                continue
            per_op = r["ns"] / r["ops"]
            samples.setdefault(key, []).append(per_op)
            ops[key] = r["ops"]
            progress(f"  rep {rep + 1}/{mode.reps} {mech.key:15} "
                     f"{workload:8} {per_op:12.1f} ns/op "
                     f"({r['ops']} ops, {time.monotonic() - t0:.2f}s)")
    out: Dict[str, Dict[str, dict]] = {}
    for (mech, workload), values in samples.items():
        out.setdefault(mech, {})[workload] = dict(
            summarize(values), ops_per_run=ops[(mech, workload)])
    for (mech, workload), err in errors.items():
        out.setdefault(mech, {})[workload] = {"error": err}
    return out


# -- filters -------------------------------------------------------------

def _padded(family: str, rules: int) -> sa.Filter:
    """A filter of ``rules`` argument-checking rules.

    nr-allowed: the rules are on another syscall (acct), so getppid stays
    decided from its number.  arg-checked: the rules are on getppid itself
    (none matches its arguments), so every call walks all of them.
    """
    target = "acct" if family == "nr-allowed" else "getppid"
    flt = sa.Filter(default=sa.ALLOW)
    for k in range(rules):
        flt.add(sa.ERRNO(1), target, sa.Arg(0) == k + 1)
    return flt


def sized_program(family: str, size: int):
    """A program of ``family`` as close to ``size`` instructions as the
    rules allow (never above 4096); returns (program, rules)."""
    a, b = 8, 16
    la, lb = len(_padded(family, a).compile()), \
        len(_padded(family, b).compile())
    slope = (lb - la) / (b - a)
    goal = min(size, 4096)
    rules = max(1, round(a + (goal - la) / slope))
    best = None
    for _ in range(6):
        try:
            program = _padded(family, rules).compile()
        except sa.ProgramError:   # above the kernel's 4096: fewer rules
            rules -= max(1, rules // 20)
            continue
        if best is None or abs(len(program) - goal) < \
                abs(len(best[0]) - goal):
            best = (program, rules)
        if abs(len(program) - goal) <= goal // 50:
            break
        # Far-jump islands make size grow faster than linearly: rescale.
        rules = max(1, round(rules * goal / len(program)))
    return best


_LIBSECCOMP_OPS = {"eq": "EQ", "ne": "NE", "lt": "LT", "le": "LE",
                   "gt": "GT", "ge": "GE", "masked_eq": "MASKED_EQ"}
_LIBSECCOMP_ARCH = {"x86_64": "X86_64", "i386": "X86", "x32": "X32"}


def _libseccomp_action(sc, action):
    kind = action.kind
    if kind == "allow":
        return sc.ALLOW
    if kind == "errno":
        return sc.ERRNO(action.data)
    if kind == "kill_process":
        return sc.KILL_PROCESS
    if kind == "kill_thread":
        return sc.KILL_THREAD
    if kind == "trace":
        return sc.TRACE(action.data)
    if kind == "trap":
        return sc.TRAP
    if kind == "log":
        return sc.LOG
    raise ValueError(f"no libseccomp action for {action!r}")


def libseccomp_filter(flt: sa.Filter):
    """The same rules as a pyseccomp (libseccomp) filter, not yet exported.

    Returns (filter, rules skipped): libseccomp refuses a rule whose action
    is the default one and names it cannot resolve on any of its arches.
    """
    import pyseccomp as sc
    out = sc.SyscallFilter(_libseccomp_action(sc, flt.default))
    for abi in flt.abis:
        if abi != "x86_64":
            out.add_arch(getattr(sc.Arch, _LIBSECCOMP_ARCH[abi]))
    skipped = 0
    for rule in flt.rules:
        args = []
        for c in rule.conditions:
            op = getattr(sc, _LIBSECCOMP_OPS[c.op])
            if c.op == "masked_eq":
                args.append(sc.Arg(c.index, op, c.mask, c.value))
            else:
                args.append(sc.Arg(c.index, op, c.value))
        try:
            out.add_rule(_libseccomp_action(sc, rule.action), rule.syscall,
                         *args)
        except (OSError, ValueError, RuntimeError):
            skipped += 1
    return out, skipped


def libseccomp_export(lib_filter) -> Tuple[bytes, float]:
    """Export a pyseccomp filter as BPF; returns (bytes, seconds)."""
    with tempfile.TemporaryFile() as f:
        t0 = time.perf_counter()
        lib_filter.export_bpf(f)
        seconds = time.perf_counter() - t0
        f.seek(0)
        return f.read(), seconds


def docker_programs(mode: Mode) -> dict:
    """Our and libseccomp's compilation of Docker's default profile."""
    flt = sa.load_profile(DOCKER_PROFILE)
    out: dict = {}
    times = []
    for _ in range(mode.compiles):
        t0 = time.perf_counter()
        ours = flt.compile()
        times.append(time.perf_counter() - t0)
    out["ours"] = {"program": ours, "compile_s": statistics.median(times),
                   "compile_samples_s": times}
    try:
        import pyseccomp  # noqa: F401
    except Exception as exc:
        out["libseccomp"] = {"error": f"pyseccomp does not import: {exc}"}
        return out
    times = []
    skipped = 0
    for _ in range(mode.compiles):
        lib_filter, skipped = libseccomp_filter(flt)
        data, seconds = libseccomp_export(lib_filter)
        times.append(seconds)
    out["libseccomp"] = {
        "program": sa.Program.from_bytes(data),
        "compile_s": statistics.median(times),
        "compile_samples_s": times, "rules_skipped": skipped}
    return out


def run_filters(mode: Mode, progress: Progress, tmpdir: str) -> dict:
    """Filter size sweep and the Docker profile, round-robin like the rest."""
    cases = []   # (key, label, program or None, meta)
    for family in ("nr-allowed", "arg-checked"):
        for size in mode.sizes:
            if size == 0:
                continue
            program, rules = sized_program(family, size)
            cases.append((f"{family}-{size}", program,
                          {"family": family, "target": size,
                           "rules": rules}))
    docker = docker_programs(mode)
    for who in ("ours", "libseccomp"):
        if "program" in docker[who]:
            cases.append((f"docker-{who}", docker[who]["program"],
                          {"family": "docker", "compiler": who}))

    mechs = {"none": Mechanism("none", "no filter", "worker"),
             "nr-filter": Mechanism("nr-filter", "nr-only", "worker")}
    meta = {}
    for key, program, info in cases:
        path = os.path.join(tmpdir, key + ".bpf")
        with open(path, "wb") as f:
            f.write(bytes(program))
        mechs[key] = Mechanism("program:" + path, key, "worker")
        meta[key] = dict(info, instructions=len(program),
                         longest_path=longest_path(program))
    workloads = {key: ["getppid"] for key in mechs}
    for key in ("none", "nr-filter", "docker-ours", "docker-libseccomp"):
        if key in workloads:
            workloads[key].append("personality")
    samples: Dict[Tuple[str, str], List[float]] = {}
    for rep in range(mode.reps):
        for key, mech in mechs.items():
            for workload in workloads[key]:
                n = iterations(mode, "nr-filter", workload)
                r = run_one(mech, workload, n)
                samples.setdefault((key, workload), []).append(
                    r["ns"] / r["ops"])
        progress(f"  filters: rep {rep + 1}/{mode.reps} done")
    results = {}
    for (key, workload), values in samples.items():
        results.setdefault(key, dict(meta.get(key, {})))[workload] = \
            summarize(values)
    sweep = []
    for family in ("nr-allowed", "arg-checked"):
        for size in mode.sizes:
            if size == 0:
                row = {"family": family, "target": 0, "instructions": 0,
                       "longest_path": 0,
                       "getppid": results["none"]["getppid"]}
            else:
                row = results[f"{family}-{size}"]
            sweep.append(row)
    dock = {}
    for who in ("ours", "libseccomp"):
        info = docker[who]
        if "program" not in info:
            dock[who] = info
            continue
        key = f"docker-{who}"
        dock[who] = {
            "instructions": meta[key]["instructions"],
            "longest_path": meta[key]["longest_path"],
            "compile_ms": info["compile_s"] * 1e3,
            "compile_samples_ms": [t * 1e3 for t in info["compile_samples_s"]],
            "getppid": results[key]["getppid"],
            "personality": results[key]["personality"],
        }
        if "rules_skipped" in info:
            dock[who]["rules_skipped"] = info["rules_skipped"]
    return {"size_sweep": sweep, "docker": dock,
            "reference": {k: results[k] for k in ("none", "nr-filter")}}
