"""Targets, and the results as JSON, a Markdown table and a chart."""

import json
import os
from typing import List, Optional

from .harness import WORKLOADS


def _median(doc: dict, mech: str, workload: str = "getppid"
            ) -> Optional[float]:
    return doc["results"].get(mech, {}).get(workload, {}).get("median_ns")


def _target(name: str, ratio: Optional[float], limit: float,
            at_most: bool, what: str) -> dict:
    """``ratio`` must be <= limit (at_most) or >= limit."""
    if ratio is None:
        return {"name": name, "ratio": None, "limit": limit,
                "pass": None, "verdict": "not measured", "what": what}
    ok = ratio <= limit if at_most else ratio >= limit
    # Headroom or shortfall, as a fraction of the limit.
    off = (limit - ratio) / limit if at_most else (ratio - limit) / limit
    verdict = (f"pass ({ratio:.3g} vs {'<=' if at_most else '>='} "
               f"{limit:g}, {abs(off):.0%} headroom)" if ok else
               f"MISS ({ratio:.3g} vs {'<=' if at_most else '>='} "
               f"{limit:g}, off by {abs(off):.0%})")
    return {"name": name, "ratio": ratio, "limit": limit,
            "comparison": "<=" if at_most else ">=", "pass": ok,
            "verdict": verdict, "what": what}


def _div(a: Optional[float], b: Optional[float]) -> Optional[float]:
    return a / b if a is not None and b else None


def _with_best(t: dict, doc: dict, num: str, den: str) -> dict:
    """Add the ratio of the fastest samples: when a median sits on noise
    (bimodal samples), this says whether the verdict is robust."""
    a = doc["results"].get(num, {}).get("getppid", {}).get("min_ns")
    b = doc["results"].get(den, {}).get("getppid", {}).get("min_ns")
    t["ratio_of_minimums"] = _div(a, b)
    if t["ratio_of_minimums"] is not None:
        t["verdict"] += f"; fastest runs: {t['ratio_of_minimums']:.3g}"
    return t


def targets(doc: dict) -> List[dict]:
    """The issue's targets, from the medians of this run."""
    ack = _median(doc, "ack-ring")
    out = [_with_best(_target(
        "ACK reported <= 1.2x bare signal round trip",
        _div(ack, _median(doc, "signal")), 1.2, True,
        "ack-ring / signal, getppid"), doc, "ack-ring", "signal")]
    for key, label, limit in (
            ("ptrace", "ptrace TRACE", 15), ("strace", "strace -f", 25),
            ("strace-bpf", "strace -f --seccomp-bpf", 25),
            ("notify-thread", "notify (supervisor thread)", 5),
            ("notify-process", "notify (supervisor process)", 5)):
        out.append(_with_best(_target(
            f"ACK >= {limit}x faster than {label}",
            _div(_median(doc, key), ack), limit, False,
            f"{key} / ack-ring, getppid"), doc, key, "ack-ring"))
    filters = doc.get("filters")
    if not filters:
        return out
    dock = filters["docker"]
    ours, lib = dock.get("ours", {}), dock.get("libseccomp", {})

    def med(d, w):
        return d.get(w, {}).get("median_ns") if d else None

    nr_only = filters["reference"]["nr-filter"]["getppid"]["median_ns"]
    out += [
        _target("Docker profile, nr-allowed syscall <= 1.1x nr-only filter",
                _div(med(ours, "getppid"), nr_only), 1.1, True,
                "docker-ours / nr-filter, getppid"),
        _target("our Docker program no larger than libseccomp's",
                _div(ours.get("instructions"), lib.get("instructions")),
                1.0, True, "instructions, ours / libseccomp"),
        _target("our Docker program's longest path no longer",
                _div(ours.get("longest_path"), lib.get("longest_path")),
                1.0, True, "longest path, ours / libseccomp"),
        _target("our Docker program no slower (nr-allowed getppid)",
                _div(med(ours, "getppid"), med(lib, "getppid")), 1.0, True,
                "ns per getppid, ours / libseccomp"),
        _target("our Docker program no slower (arg-checked personality)",
                _div(med(ours, "personality"), med(lib, "personality")),
                1.0, True, "ns per personality(0), ours / libseccomp"),
        _target("our Docker program compiled faster",
                _div(ours.get("compile_ms"), lib.get("compile_ms")), 1.0,
                True, "compile time, ours / libseccomp (< 1 passes)"),
    ]
    return out


def _ns(x: Optional[float]) -> str:
    if x is None:
        return "–"
    return f"{x:,.0f}" if x >= 100 else f"{x:.1f}"


def markdown(doc: dict) -> str:
    """results.md: the machine, the tables, the targets."""
    m = doc["machine"]
    lines = [
        "# seccomp_ack benchmark results",
        "",
        f"`{doc['command']}` ({doc['mode']} mode, {doc['repetitions']} "
        f"interleaved repetitions, {doc['created']}, {doc['elapsed_s']} s)",
        "",
        f"Machine: {m['cpu_model']}, {m['cores']} cores; Linux "
        f"{m['kernel']}; {m['implementation']} {m['python']}.",
        "",
        "Median ns per op [min–max]; ops are defined per workload below.",
        "",
    ]
    workloads = [w for w in WORKLOADS if w in doc["workloads"]]
    lines.append("| mechanism | " + " | ".join(workloads) + " |")
    lines.append("|---|" + "---:|" * len(workloads))
    for key, info in doc["mechanisms"].items():
        if not info["available"]:
            continue
        cells = []
        for w in workloads:
            r = doc["results"].get(key, {}).get(w)
            if r is None:
                cells.append("n/a")
            elif "error" in r:
                cells.append("failed")
            else:
                cells.append(f"{_ns(r['median_ns'])} "
                             f"[{_ns(r['min_ns'])}–{_ns(r['max_ns'])}]")
        lines.append(f"| {info['label']} | " + " | ".join(cells) + " |")
    lines += ["", "Workloads (op = ...):", ""]
    for w in workloads:
        rep = doc["workloads"][w]["reported"]
        rep = ", ".join(rep) if isinstance(rep, list) else rep
        lines.append(f"- **{w}**: {doc['workloads'][w]['unit']}; "
                     f"syscalls reported: {rep}")
    missing = [f"- {i['label']}: {i['reason']}"
               for i in doc["mechanisms"].values() if not i["available"]]
    failed = [f"- {k}/{w}: {r['error']}"
              for k, ws in doc["results"].items()
              for w, r in ws.items() if "error" in r]
    if missing or failed:
        lines += ["", "Not measured:", ""] + missing + failed
    filters = doc.get("filters")
    if filters:
        lines += ["", "## Filter size (ns per getppid)", "",
                  "| family | instructions | longest path | "
                  "median [min–max] |",
                  "|---|---:|---:|---:|"]
        for row in filters["size_sweep"]:
            g = row["getppid"]
            lines.append(f"| {row['family']} | {row['instructions']} | "
                         f"{row['longest_path']} | {_ns(g['median_ns'])} "
                         f"[{_ns(g['min_ns'])}–{_ns(g['max_ns'])}] |")
        lines += ["", "## Docker's default profile", "",
                  "| compiler | instructions | longest path | compile ms | "
                  "ns/getppid | ns/personality(0) |",
                  "|---|---:|---:|---:|---:|---:|"]
        for who, d in filters["docker"].items():
            if "error" in d:
                lines.append(f"| {who} | {d['error']} | | | | |")
                continue
            lines.append(
                f"| {who} | {d['instructions']} | {d['longest_path']} | "
                f"{d['compile_ms']:.2f} | {_ns(d['getppid']['median_ns'])} "
                f"| {_ns(d['personality']['median_ns'])} |")
        ref = filters["reference"]
        lines.append("")
        lines.append(f"Same run: no filter "
                     f"{_ns(ref['none']['getppid']['median_ns'])} ns, "
                     f"nr-only filter "
                     f"{_ns(ref['nr-filter']['getppid']['median_ns'])} ns "
                     "per getppid.")
    lines += ["", "## Targets", "", "| target | result |", "|---|---|"]
    for t in doc["targets"]:
        lines.append(f"| {t['name']} | {t['verdict']} |")
    if doc.get("chart"):
        lines += ["", f"![chart]({doc['chart']})"]
    return "\n".join(lines) + "\n"


def chart(doc: dict, path: str) -> Optional[str]:
    """Write the PNG; returns None, or why it was not drawn."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as exc:
        return f"matplotlib is not installed ({exc})"
    fig, axes = plt.subplots(1, 3, figsize=(18, 6))

    ax = axes[0]
    rows = [(info["label"], _median(doc, key))
            for key, info in doc["mechanisms"].items()
            if _median(doc, key) is not None]
    ax.barh([r[0] for r in rows], [r[1] for r in rows], color="tab:blue")
    ax.set_xscale("log")
    ax.invert_yaxis()
    ax.set_xlabel("ns per getppid (log)")
    ax.set_title("One syscall, by mechanism")
    for i, (_, v) in enumerate(rows):
        ax.text(v, i, f" {_ns(v)}", va="center", fontsize=8)

    ax = axes[1]
    workloads = [w for w in WORKLOADS if w in doc["workloads"]]
    keys = [k for k in doc["mechanisms"]
            if any(_median(doc, k, w) for w in workloads)]
    width = 0.8 / max(1, len(workloads))
    for j, w in enumerate(workloads):
        base = _median(doc, "none", w)
        vals = [(_median(doc, k, w) or 0) / base if base else 0
                for k in keys]
        ax.bar([i + j * width for i in range(len(keys))], vals, width,
               label=w)
    ax.set_xticks([i + 0.4 - width / 2 for i in range(len(keys))])
    ax.set_xticklabels(keys, rotation=60, ha="right", fontsize=8)
    ax.set_yscale("log")
    ax.set_ylabel("slowdown vs no filter (log)")
    ax.set_title("Workloads")
    ax.legend(fontsize=8)

    ax = axes[2]
    filters = doc.get("filters")
    if filters:
        for family in ("nr-allowed", "arg-checked"):
            pts = [(r["instructions"], r["getppid"]["median_ns"])
                   for r in filters["size_sweep"] if r["family"] == family]
            ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o",
                    label=family)
        for who, d in filters["docker"].items():
            if "getppid" in d:
                ax.scatter([d["instructions"]], [d["getppid"]["median_ns"]],
                           marker="x", label=f"Docker, {who}")
        ax.set_xlabel("filter instructions")
        ax.set_ylabel("ns per getppid")
        ax.set_title("Filter size")
        ax.legend(fontsize=8)
    m = doc["machine"]
    fig.suptitle(f"seccomp_ack benchmarks ({doc['mode']}): {m['cpu_model']}"
                 f", {m['cores']} cores, Linux {m['kernel']}, Python "
                 f"{m['python']}", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return None


def write_all(doc: dict, outdir: str) -> List[str]:
    """Write results.png, .json and .md into ``outdir``; return the paths."""
    png = os.path.join(outdir, "results.png")
    why = chart(doc, png)
    doc["chart"] = None if why else "results.png"
    doc["chart_skipped"] = why
    js = os.path.join(outdir, "results.json")
    with open(js, "w") as f:
        json.dump(doc, f, indent=1, sort_keys=False)
        f.write("\n")
    md = os.path.join(outdir, "results.md")
    with open(md, "w") as f:
        f.write(markdown(doc))
    return [p for p in (js, md, png) if os.path.exists(p)]
