"""One timed run: set up a mechanism in this process, run a workload, report.

    python -m benchmarks.worker MECHANISM WORKLOAD N --result FILE

The harness starts a fresh interpreter for every run, so a filter installed
here (it can never be removed) dies with the run.  Mechanisms that watch
from outside (ptrace, notify supervisor process, strace) run this with
MECHANISM ``none`` under their tracer.  The workload is timed inside this
process with CLOCK_MONOTONIC around a C loop (or, for sqlite, a Python
loop around the sqlite3 calls), so interpreter start-up and tracer
attach costs are not in the numbers.

The result file gets one JSON object: ``ns`` (total), ``ops`` (unit count)
and ``calls`` (syscalls the loop made, where known).
"""

import json
import os
import sys
import tempfile
import time
from typing import Callable, Dict, List, Optional, Tuple

import seccomp_ack as sa
from seccomp_ack import _tracers

#: Syscalls each workload reports under selective mechanisms (None: all).
WORKLOAD_SYSCALLS: Dict[str, Optional[List[str]]] = {
    "getppid": ["getppid"],
    "pipe": ["read", "write"],
    "sqlite": None,
    "threads": None,
    "personality": ["personality"],
}

#: What one op of each workload is.
WORKLOAD_UNITS = {
    "getppid": "syscall (getppid)",
    "pipe": "syscall (1-byte write or read on a pipe)",
    "sqlite": "insert (one sqlite3 transaction on a file)",
    "threads": "thread (start, 10 getppid, exit, join; 4 at a time)",
    "personality": "syscall (personality(0): checked against arguments "
                   "by Docker's profile)",
}

THREADS_PER_ROUND = 4
CALLS_PER_THREAD = 10


def _getppid(n: int) -> Tuple[int, int, int]:
    nr = sa.syscall_number("getppid")
    _tracers.syscall_loop(nr, max(n // 10, 10))   # warm up
    return _tracers.syscall_loop(nr, n), n, n


def _personality(n: int) -> Tuple[int, int, int]:
    # personality(0) sets PER_LINUX, which this process already has.
    nr = sa.syscall_number("personality")
    _tracers.syscall_loop(nr, max(n // 10, 10))
    return _tracers.syscall_loop(nr, n), n, n


def _pipe(n: int) -> Tuple[int, int, int]:
    _tracers.pipe_loop(max(n // 10, 10))
    return _tracers.pipe_loop(n), 2 * n, 2 * n


def _sqlite(n: int) -> Tuple[int, int, int]:
    import sqlite3
    with tempfile.TemporaryDirectory(prefix="sa-bench-") as tmp:
        db = sqlite3.connect(os.path.join(tmp, "bench.db"),
                             isolation_level=None)
        # DELETE journal: every commit creates, writes and unlinks a file.
        # synchronous=OFF keeps disk flush latency (noise) out of it.
        db.execute("PRAGMA journal_mode=DELETE")
        db.execute("PRAGMA synchronous=OFF")
        db.execute("CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT)")
        db.execute("INSERT INTO t VALUES (-1, 'warm')")
        t0 = time.monotonic_ns()
        for i in range(n):
            db.execute("BEGIN")
            db.execute("INSERT INTO t VALUES (?, ?)", (i, f"value-{i}"))
            db.execute("COMMIT")
        ns = time.monotonic_ns() - t0
        db.close()
    return ns, n, 0


def _threads(n: int) -> Tuple[int, int, int]:
    _tracers.thread_job(2, THREADS_PER_ROUND, CALLS_PER_THREAD)
    ns = _tracers.thread_job(n, THREADS_PER_ROUND, CALLS_PER_THREAD)
    threads = n * THREADS_PER_ROUND
    return ns, threads, threads * CALLS_PER_THREAD


WORKLOADS: Dict[str, Callable[[int], Tuple[int, int, int]]] = {
    "getppid": _getppid, "pipe": _pipe, "sqlite": _sqlite,
    "threads": _threads, "personality": _personality,
}


def _ack_filter(workload: str) -> "sa.Filter":
    names = WORKLOAD_SYSCALLS[workload]
    if names is None:
        return sa.Filter(default=sa.ACK(1))
    return sa.Filter(default=sa.ALLOW).add(sa.ACK(1), *names)


def _silence_all(monitor, workload: str) -> None:
    names = WORKLOAD_SYSCALLS[workload]
    if names is None:
        monitor.silence(*range(0, 512))
    else:
        monitor.silence(*names)


def run(mechanism: str, workload: str, n: int) -> dict:
    """Set up ``mechanism`` (irreversibly), run ``workload``; the result."""
    work = WORKLOADS[workload]
    extra: dict = {}
    if mechanism == "none":
        ns, ops, calls = work(n)
    elif mechanism == "nr-filter":
        # Everything the workloads do is allowed from the number alone.
        sa.install(sa.Filter(default=sa.ALLOW).add(sa.ERRNO(1), "acct"))
        ns, ops, calls = work(n)
    elif mechanism.startswith("program:"):
        with open(mechanism[len("program:"):], "rb") as f:
            sa.install(f.read())
        ns, ops, calls = work(n)
    elif mechanism == "signal":
        if workload != "getppid":
            raise SystemExit("signal: getppid workload only")
        ns, ops, calls = _tracers.signal_loop(n), n, n
    elif mechanism in ("ack-ring", "ack-callback", "ack-silenced"):
        seen = [0]

        def on_event(event):
            seen[0] += 1

        cb = on_event if mechanism == "ack-callback" else None
        with sa.Monitor(_ack_filter(workload), on_event=cb,
                        dispatcher=True) as mon:
            if mechanism == "ack-silenced":
                _silence_all(mon, workload)
            ns, ops, calls = work(n)
        extra = {"stats": mon.stats, "callbacks": seen[0]}
    elif mechanism == "notify-thread":
        if workload != "getppid":
            raise SystemExit("notify-thread: getppid workload only")
        prog = sa.Filter(default=sa.ALLOW).add(sa.USER_NOTIF, "getppid")
        ns = _tracers.notify_thread_loop(bytes(prog.compile()),
                                         sa.syscall_number("getppid"), n)
        ops = calls = n
    else:
        raise SystemExit(f"unknown mechanism {mechanism!r}")
    return dict(extra, ns=ns, ops=ops, calls=calls)


def main(argv: Optional[List[str]] = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 5 or argv[3] != "--result":
        print(__doc__, file=sys.stderr)
        return 2
    mechanism, workload, n, _, path = argv
    result = run(mechanism, workload, int(n))
    # Write then rename: a reader never sees half a file.
    with open(path + ".tmp", "w") as f:
        json.dump(result, f)
    os.replace(path + ".tmp", path)
    return 0


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    # Skip interpreter teardown: the filter and the SIGSYS handler stay
    # installed to the end, and nothing here needs finalizing.
    os._exit(code)
