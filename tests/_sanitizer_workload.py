"""A workload for the ACK runtime, run by test_sanitizers.py in a process
whose ``seccomp_ack._runtime`` is built with ASan and UBSan.

Each part runs in its own forked child under its own filter and checks
exact results; the script prints the runtime module it used, one line per
part, and exits with the number of parts that failed.
"""

import ctypes
import errno
import os
import signal
import subprocess
import sys
import threading
import traceback

import seccomp_ack as sa
from seccomp_ack import _runtime, runtime


def _ack(*names):
    return sa.Filter(default=sa.ALLOW).add(sa.ACK(3), *names)


def ack_reports_results():
    with sa.Monitor(_ack("getppid", "close")) as mon:
        ppid = os.getppid()
        try:
            os.close(987)
        except OSError as exc:
            assert exc.errno == errno.EBADF
        events = [(e.name, e.ret) for e in mon.events()]
    assert events == [("getppid", ppid), ("close", -errno.EBADF)], events


def threads():
    got = []
    with sa.Monitor(_ack("getppid"), on_event=got.append,
                    ring_size=4096) as mon:
        ts = [threading.Thread(target=lambda: [os.getppid()
                                               for _ in range(500)])
              for _ in range(4)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
    assert len(got) == 2000 and mon.stats["dropped"] == 0, mon.stats


def forks():
    with sa.Monitor(_ack("getppid")) as mon:
        pids = []
        for _ in range(5):
            pid = os.fork()
            if pid == 0:
                for _ in range(10):
                    os.getppid()
                os._exit(4)
            pids.append(pid)
        codes = [os.waitstatus_to_exitcode(os.waitpid(p, 0)[1])
                 for p in pids]
        events = mon.events()
    assert codes == [4] * 5
    assert sorted(e.pid for e in events) == sorted(pids * 10)


def execs():
    with sa.Monitor(sa.Filter(default=sa.ACK(1)), ring_size=1 << 14) as mon:
        codes = [subprocess.run(["/bin/true"]).returncode for _ in range(3)]
        events = mon.events()
    assert codes == [0] * 3
    pids = [e.pid for e in events if e.name == "execve" and e.ret == 0]
    exits = [e.pid for e in events if e.name == "exit_group"]
    assert len(set(pids)) == 3 and sorted(exits) == sorted(pids), events


def sigprocmask():
    with sa.Monitor(sa.Filter(default=sa.ACK(1))):
        signal.pthread_sigmask(signal.SIG_SETMASK, signal.valid_signals())
        blocked = signal.pthread_sigmask(signal.SIG_BLOCK, [])
        ppid = os.getppid()
    assert signal.SIGUSR1 in blocked and signal.SIGSYS not in blocked
    assert ppid > 0


class StackT(ctypes.Structure):
    _fields_ = [("ss_sp", ctypes.c_void_p), ("ss_flags", ctypes.c_int),
                ("ss_size", ctypes.c_size_t)]


def sigaltstack():
    libc = ctypes.CDLL(None, use_errno=True)
    buf = ctypes.create_string_buffer(1 << 16)
    now = StackT()
    with sa.Monitor(sa.Filter(default=sa.ACK(1))):
        assert libc.sigaltstack(ctypes.byref(
            StackT(ctypes.addressof(buf), 0, len(buf))), None) == 0
        assert libc.sigaltstack(None, ctypes.byref(now)) == 0
    assert (now.ss_sp, now.ss_size) == (ctypes.addressof(buf), len(buf))


def foreign_sigsys():
    got = []
    with sa.Monitor(_ack("getppid", "kill")) as mon:
        signal.signal(signal.SIGSYS, lambda s, f: got.append(s))
        for _ in range(50):
            os.kill(os.getpid(), signal.SIGSYS)
        os.getppid()
        stats = mon.stats
    assert len(got) == 50 and stats["foreign"] == 50, (got, stats)


def overflow():
    ring = runtime.new_ring(16)
    runtime.attach(ring)
    sa.install(_ack("getppid"))
    for _ in range(100):
        os.getppid()
    events = ring.drain()
    counters = ring.counters()
    assert len(events) == counters["reported"] == 16, counters
    assert counters["dropped"] == 84, counters


PARTS = [ack_reports_results, threads, forks, execs, sigprocmask,
         sigaltstack, foreign_sigsys, overflow]


def run(part):
    sys.stdout.flush()
    pid = os.fork()
    if pid == 0:
        try:
            part()
            code = 0
        except BaseException:
            traceback.print_exc()
            code = 1
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])


def main():
    print("runtime", _runtime.__file__)
    failed = 0
    for part in PARTS:
        code = run(part)
        print(part.__name__, code)
        failed += code != 0
    return failed


if __name__ == "__main__":
    sys.exit(main())
