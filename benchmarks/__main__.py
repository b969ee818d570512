"""``python -m benchmarks [--quick | --smoke] [--out DIR]``

Runs every mechanism on every workload (see README.md), then writes
results.json, results.md and results.png (the chart needs matplotlib,
``pip install -e '.[bench]'``; without it the chart is skipped and
results.json says so).
"""

import argparse
import datetime
import os
import platform
import shlex
import sys
import tempfile
import time

from . import harness, report


def machine() -> dict:
    """CPU model, cores, kernel and Python of this machine."""
    cpu = platform.processor() or "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {"cpu_model": cpu, "cores": os.cpu_count(),
            "kernel": platform.release(),
            "python": platform.python_version(),
            "implementation": platform.python_implementation()}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks",
                                description=__doc__.splitlines()[0])
    g = p.add_mutually_exclusive_group()
    g.add_argument("--quick", action="store_true",
                   help="short runs, 3 repetitions (under two minutes)")
    g.add_argument("--smoke", action="store_true",
                   help="tiny runs, one repetition: checks the harness "
                        "works, measures nothing")
    p.add_argument("--out", default=harness.HERE,
                   help="directory for results.json/md/png "
                        "(default: benchmarks/)")
    p.add_argument("--workloads", default=",".join(harness.WORKLOADS),
                   help="comma-separated subset of "
                        + ",".join(harness.WORKLOADS))
    p.add_argument("--no-filters", action="store_true",
                   help="skip the filter size sweep and Docker profile")
    args = p.parse_args(argv)
    mode = harness.MODES["smoke" if args.smoke else
                         "quick" if args.quick else "full"]
    workloads = [w for w in args.workloads.split(",") if w]
    for w in workloads:
        if w not in harness.WORKLOADS:
            p.error(f"unknown workload {w!r}")

    def progress(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    started = time.monotonic()
    mechs = harness.mechanisms()
    progress(f"benchmarks: {mode.name} mode, {mode.reps} repetitions")
    results = harness.run_matrix(mode, mechs, workloads, progress)
    filters = None
    if not args.no_filters:
        with tempfile.TemporaryDirectory(prefix="sa-bench-") as tmp:
            filters = harness.run_filters(mode, progress, tmp)
    doc = {
        "schema": 1,
        "created": datetime.datetime.now(datetime.timezone.utc)
        .isoformat(timespec="seconds"),
        "command": " ".join(["python -m benchmarks"] + [
            shlex.quote(a) for a in (sys.argv[1:] if argv is None
                                     else argv)]),
        "mode": mode.name,
        "repetitions": mode.reps,
        "machine": machine(),
        "mechanisms": {m.key: {"label": m.label, "available":
                               m.reason is None, "reason": m.reason}
                       for m in mechs},
        "workloads": {w: {"unit": harness.WORKLOAD_UNITS[w],
                          "reported": harness.WORKLOAD_SYSCALLS[w]
                          or "all"} for w in workloads},
        "results": results,
        "filters": filters,
    }
    doc["targets"] = report.targets(doc)
    doc["elapsed_s"] = round(time.monotonic() - started, 1)
    os.makedirs(args.out, exist_ok=True)
    written = report.write_all(doc, args.out)
    for path in written:
        progress(f"benchmarks: wrote {path}")
    for t in doc["targets"]:
        progress(f"  target {t['name']}: {t['verdict']}")
    progress(f"benchmarks: done in {doc['elapsed_s']} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
