"""Tracer backends (ptrace, PTRACE_SYSCALL, user notification) on real
programs, the learn CLI with --backend, and the benchmark harness's pieces.

Tracing installs filters only in the children trace() starts, so these
tests need no in_child: the test process is the tracer.
"""

import errno
import json
import os
import subprocess
import sys
import time

import pytest

import seccomp_ack
from seccomp_ack import tracers
from seccomp_ack.errors import SeccompOSError

PACKAGE_PARENT = os.path.dirname(os.path.dirname(seccomp_ack.__file__))
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PTRACE_BACKENDS = ["ptrace", "ptrace-syscall"]
ALL_BACKENDS = PTRACE_BACKENDS + ["notify"]
_probed = {}


def _need(backend):
    """Skip if the running kernel lacks what ``backend`` needs (ENOSYS or
    EINVAL from PTRACE_GET_SYSCALL_INFO, pidfd_getfd, NEW_LISTENER)."""
    if backend not in _probed:
        try:
            tracers.trace(["/bin/true"], backend=backend)
            _probed[backend] = None
        except SeccompOSError as exc:
            if exc.errno not in (errno.ENOSYS, errno.EINVAL, errno.EIO):
                raise
            _probed[backend] = str(exc)
    if _probed[backend]:
        pytest.skip(f"kernel lacks {backend}: {_probed[backend]}")


def by_name(events, name):
    return [e for e in events if e.name == name]


KNOWN = ("import os\n"
         "os.getppid()\n"
         "try:\n    os.close(987)\nexcept OSError:\n    pass\n"
         "os.write(1, b'hello')\n"
         "os._exit(7)\n")


@pytest.mark.parametrize("backend", PTRACE_BACKENDS)
def test_ptrace_sees_known_syscalls_with_their_results(backend, capfd):
    _need(backend)
    res = tracers.trace([sys.executable, "-c", KNOWN], backend=backend,
                        syscalls=["getppid", "close", "write", "exit_group"])
    assert res.exitcode == 7
    [ppid] = by_name(res.events, "getppid")
    assert ppid.ret == os.getpid()          # we are its parent
    [bad] = [e for e in by_name(res.events, "close") if e.args[0] == 987]
    assert bad.ret == -errno.EBADF and bad.errno == errno.EBADF
    [hello] = [e for e in by_name(res.events, "write") if e.args[2] == 5]
    assert hello.args[0] == 1 and hello.ret == 5
    [end] = by_name(res.events, "exit_group")
    assert end.args[0] == 7 and end.noreturn and end.ret is None
    assert {e.pid for e in res.events} == {ppid.pid} == {ppid.tid}
    assert [e.seq for e in res.events] == list(range(len(res.events)))
    assert res.counts["getppid"] == 1 and res.counts["exit_group"] == 1
    assert set(res.counts) == {"getppid", "close", "write", "exit_group"}
    assert "hello" in capfd.readouterr().out


def test_notify_sees_known_syscalls_with_arguments_only(capfd):
    _need("notify")
    res = tracers.trace([sys.executable, "-c", KNOWN], backend="notify",
                        syscalls=["getppid", "close", "write", "exit_group"])
    assert res.exitcode == 7
    [ppid] = by_name(res.events, "getppid")
    assert ppid.pre and ppid.ret is None and ppid.errno is None
    [bad] = [e for e in by_name(res.events, "close") if e.args[0] == 987]
    assert bad.pre and bad.ret is None
    [hello] = [e for e in by_name(res.events, "write") if e.args[2] == 5]
    assert hello.args[0] == 1
    [end] = by_name(res.events, "exit_group")
    assert end.args[0] == 7
    assert all(e.pre and e.flags & tracers.EV_PRE for e in res.events)
    assert {e.pid for e in res.events} == {ppid.tid}
    assert "hello" in capfd.readouterr().out


@pytest.mark.parametrize("backend", ALL_BACKENDS)
def test_env_true_every_syscall(backend):
    _need(backend)
    res = tracers.trace(["/usr/bin/env", "true"], backend=backend)
    assert res.exitcode == 0
    names = [e.name for e in res.events]
    # The first thing the target does is the execve we started it with.
    assert names[0] == "execve"
    assert names[-1] == "exit_group"
    # env runs true through execvp: the execve that worked returned 0.
    execs = by_name(res.events, "execve")
    if backend != "notify":
        assert execs[-1].ret == 0 and execs[0].ret == 0
        assert all(e.ret is not None for e in res.events[:-1])
    assert sum(res.counts.values()) == len(res.events)
    assert res.stats["processes"] >= 1


@pytest.mark.parametrize("backend", ALL_BACKENDS)
def test_ls_of_a_directory_through_a_shell(backend, tmp_path):
    _need(backend)
    d = tmp_path / "dir"
    d.mkdir()
    for name in ("alpha", "beta", "gamma"):
        (d / name).write_text(name)
    out = tmp_path / "listing"
    res = tracers.trace(["/bin/sh", "-c", f"/bin/ls -1 {d} > {out}"],
                        backend=backend)
    assert res.exitcode == 0
    listing = out.read_bytes()
    assert listing == b"alpha\nbeta\ngamma\n"
    writes = [e for e in by_name(res.events, "write") if e.args[0] == 1]
    assert [e.args[2] for e in writes] == [len(listing)]
    dents = by_name(res.events, "getdents64")
    assert dents
    if backend != "notify":
        assert writes[0].ret == len(listing)
        assert dents[0].ret > 0 and dents[-1].ret == 0
    execs = [e for e in by_name(res.events, "execve")
             if backend == "notify" or e.ret == 0]
    # sh may exec ls in place or fork first: either way, two images ran.
    assert len(execs) >= 2


@pytest.mark.parametrize("backend", PTRACE_BACKENDS)
def test_ptrace_follows_forks_and_threads(backend):
    _need(backend)
    code = ("import os, threading\n"
            "t = [threading.Thread(target=os.getppid) for _ in range(3)]\n"
            "[x.start() for x in t]; [x.join() for x in t]\n"
            "pid = os.fork()\n"
            "if pid == 0:\n    os.getppid(); os._exit(0)\n"
            "os.waitpid(pid, 0)\n")
    res = tracers.trace([sys.executable, "-c", code], backend=backend,
                        syscalls=["getppid"])
    assert res.exitcode == 0
    events = res.events
    assert len(events) == 4
    main = [e for e in events if e.ret == os.getpid()]
    child = [e for e in events if e.ret != os.getpid()]
    assert len(main) == 3 and len(child) == 1
    assert len({e.tid for e in main}) == 3
    assert all(e.pid != e.tid for e in main)   # threads of one process
    assert len({e.pid for e in main}) == 1
    assert child[0].pid == child[0].tid and child[0].ret == main[0].pid
    assert res.stats["processes"] == 2


def test_ptrace_registers_after_the_syscall():
    _need("ptrace")
    res = tracers.trace([sys.executable, "-c", KNOWN], backend="ptrace",
                        syscalls=["getppid"], regs=True)
    [ppid] = res.events
    assert ppid.flags & tracers.EV_REGS
    assert ppid.regs["rax"] == ppid.ret == os.getpid()
    assert ppid.regs["rip"] == ppid.ip
    assert ppid.regs["rcx"] == ppid.ip      # syscall saves rip in rcx


@pytest.mark.parametrize("backend", ALL_BACKENDS)
def test_counting_only_counts_exactly(backend):
    _need(backend)
    env = dict(os.environ, PYTHONPATH=PACKAGE_PARENT)
    code = ("from seccomp_ack import _tracers; "
            "_tracers.syscall_loop(110, 1234)")
    res = tracers.trace([sys.executable, "-c", code], backend=backend,
                        syscalls=["getppid"], events=False, env=env)
    assert res.exitcode == 0 and res.events is None
    assert res.counts == {"getppid": 1234}
    stops = res.stats["stops"]
    if backend == "notify":
        assert stops == 1234
    elif backend == "ptrace":
        assert 1234 <= stops < 1300      # one stop each, plus fork/exec
    else:
        assert stops > 2 * 1234          # every syscall, twice


def test_on_event_exception_kills_the_traced_tree():
    _need("ptrace")

    def boom(event):
        raise KeyError("stop here")

    t0 = time.monotonic()
    with pytest.raises(KeyError):
        tracers.trace(["/bin/sh", "-c", "sleep 30"], backend="ptrace",
                      on_event=boom)
    assert time.monotonic() - t0 < 10
    # No child is left running or unreaped.
    with pytest.raises(ChildProcessError):
        os.waitpid(-1, os.WNOHANG)


def test_missing_executable_and_bad_arguments(tmp_path):
    with pytest.raises(SeccompOSError) as info:
        tracers.trace(["no-such-program-here"], backend="ptrace")
    assert info.value.errno == errno.ENOENT
    notexec = tmp_path / "plain"
    notexec.write_text("data")
    with pytest.raises(SeccompOSError) as info:
        tracers.trace([str(notexec)], backend="ptrace")
    assert info.value.errno == errno.EACCES
    with pytest.raises(ValueError, match="unknown backend"):
        tracers.trace(["/bin/true"], backend="gdb")
    with pytest.raises(ValueError, match="empty argv"):
        tracers.trace([], backend="ptrace")
    with pytest.raises(ValueError, match="registers"):
        tracers.trace(["/bin/true"], backend="notify", regs=True)
    with pytest.raises(seccomp_ack.UnknownSyscallError):
        tracers.trace(["/bin/true"], syscalls=["no_such_call"])


def test_tracer_filters_select_what_stops():
    f = tracers.tracer_filter("ptrace", ["getppid"], data=3)
    prog = f.compile()
    nr = seccomp_ack.syscall_number("getppid")
    assert prog.run(nr) == 0x7FF00003                # TRACE | 3
    assert prog.run(nr + 1) == 0x7FFF0000            # ALLOW
    n = tracers.tracer_filter("notify").compile()
    assert n.run(0) == 0x7FC00000                    # USER_NOTIF
    assert tracers.tracer_filter("ptrace-syscall") is None


# -- the learn CLI -------------------------------------------------------

def cli(*args, timeout=120):
    env = dict(os.environ, PYTHONPATH=PACKAGE_PARENT)
    return subprocess.run([sys.executable, "-m", "seccomp_ack", *args],
                          capture_output=True, text=True, timeout=timeout,
                          env=env)


@pytest.mark.parametrize("backend", ALL_BACKENDS)
def test_learn_cli_with_a_tracer_backend(backend, tmp_path):
    _need(backend)
    out = tmp_path / "p.json"
    r = cli("learn", "--backend", backend, "-o", str(out), "--",
            "/bin/sh", "-c", "/usr/bin/env true; exit 3")
    assert r.returncode == 3, r.stderr
    profile = json.loads(out.read_text())
    allowed = {n for s in profile["syscalls"]
               if s["action"] == "SCMP_ACT_ALLOW" for n in s["names"]}
    assert {"execve", "exit_group", "wait4", "clone"} <= allowed or \
        {"execve", "exit_group", "wait4", "vfork"} <= allowed
    assert "processes" not in r.stderr
    assert "from 2 process(es)" in r.stderr or \
        "from 3 process(es)" in r.stderr


def test_learned_profile_runs_the_program_it_learned(tmp_path):
    _need("ptrace")
    out = tmp_path / "p.json"
    code = "import json; print(json.dumps({'a': 1}))"
    r = cli("learn", "--backend", "ptrace", "-o", str(out), "--",
            sys.executable, "-c", code)
    assert r.returncode == 0, r.stderr
    ran = cli("run", "--profile", str(out), "--", "-c", code)
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout == '{"a": 1}\n'


def test_learn_cli_errors():
    r = cli("learn", "--backend", "ptrace", "-o", "/dev/null", "--")
    assert r.returncode == 2 and "no target given" in r.stderr
    r = cli("learn", "--backend", "notify", "-o", "/dev/null", "--",
            "no-such-program-here")
    assert r.returncode == 2 and "No such file" in r.stderr
    r = cli("learn", "--backend", "dtrace", "-o", "/dev/null", "--", "x")
    assert r.returncode == 2 and "invalid choice" in r.stderr


# -- benchmark harness pieces ----------------------------------------------

@pytest.fixture
def bench():
    sys.path.insert(0, REPO)
    try:
        from benchmarks import harness, report
        yield harness, report
    finally:
        sys.path.remove(REPO)


def test_summary_and_targets(bench):
    harness, report = bench
    s = harness.summarize([5.0, 1.0, 3.0, 2.0, 4.0])
    assert (s["median_ns"], s["min_ns"], s["max_ns"]) == (3.0, 1.0, 5.0)
    assert (s["q1_ns"], s["q3_ns"]) == (2.0, 4.0)
    doc = {"results": {
        "signal": {"getppid": {"median_ns": 1000.0}},
        "ack-ring": {"getppid": {"median_ns": 1300.0}},
        "ptrace": {"getppid": {"median_ns": 26000.0}},
    }, "filters": None}
    t = {x["name"]: x for x in report.targets(doc)}
    sig = t["ACK reported <= 1.2x bare signal round trip"]
    assert sig["pass"] is False and sig["ratio"] == pytest.approx(1.3)
    assert "off by 8%" in sig["verdict"]
    pt = t["ACK >= 15x faster than ptrace TRACE"]
    assert pt["pass"] is True and pt["ratio"] == pytest.approx(20)
    assert t["ACK >= 25x faster than strace -f"]["pass"] is None


def test_sized_programs_and_libseccomp_export(bench):
    harness, _ = bench
    for family in ("nr-allowed", "arg-checked"):
        prog, rules = harness.sized_program(family, 1000)
        assert 900 <= len(prog) <= 1100 and rules > 100
        big, _ = harness.sized_program(family, 4000)
        assert 3600 <= len(big) <= 4096
    from seccomp_ack.program import Program
    flt = seccomp_ack.Filter(default=seccomp_ack.ERRNO(1)).add(
        seccomp_ack.ALLOW, "getppid", "read")
    import pyseccomp  # noqa: F401 - a test dependency (pyproject: test)
    lib, skipped = harness.libseccomp_filter(flt)
    data, seconds = harness.libseccomp_export(lib)
    prog = Program.from_bytes(data)
    assert skipped == 0 and seconds >= 0
    assert prog.run(seccomp_ack.syscall_number("getppid")) == 0x7FFF0000
    assert prog.run(seccomp_ack.syscall_number("write")) == 0x00050001


def test_one_worker_run_per_kind(bench):
    harness, _ = bench
    mechs = {m.key: m for m in harness.mechanisms()}
    for key in ("none", "ack-ring", "ptrace", "notify-process"):
        if key.startswith(("ptrace", "notify")):
            _need("notify" if key.startswith("notify") else "ptrace")
        r = harness.run_one(mechs[key], "pipe", 50)
        assert r["ops"] == 100 and r["ns"] > 0
        if key == "ack-ring":
            assert r["stats"]["reported"] >= 100


def test_smoke_run_writes_all_results(bench, tmp_path):
    env = dict(os.environ, PYTHONPATH=REPO)
    r = subprocess.run([sys.executable, "-m", "benchmarks", "--smoke",
                        "--workloads", "getppid", "--no-filters", "--out",
                        str(tmp_path)], cwd=REPO, env=env,
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    doc = json.loads((tmp_path / "results.json").read_text())
    assert doc["mode"] == "smoke" and doc["machine"]["cores"] >= 1
    assert doc["results"]["none"]["getppid"]["median_ns"] > 0
    assert doc["results"]["ptrace"]["getppid"]["median_ns"] > 0
    assert doc["mechanisms"]["ptracer"]["available"] in (True, False)
    md = (tmp_path / "results.md").read_text()
    assert "| no filter |" in md and "## Targets" in md
    if doc["chart"]:
        assert (tmp_path / "results.png").read_bytes()[:4] == b"\x89PNG"
    else:
        assert "matplotlib" in doc["chart_skipped"]
