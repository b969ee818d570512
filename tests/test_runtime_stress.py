"""The ACK runtime under pressure: fork and thread storms, signal storms
during blocking syscalls, overflowing rings, writers killed mid-run, and
exec storms.

Every case installs its filter in a forked child (``in_child``); the parent
asserts on what the child reports.  Loops have fixed iteration counts and
every wait is bounded, so each test stops by itself.  The counts asserted
are exact: a lost, doubled or misattributed event fails the test.
"""

import collections
import ctypes
import errno
import mmap
import os
import signal
import struct
import threading
import time

import seccomp_ack as sa
from seccomp_ack import runtime
from conftest import in_child

EINTR = -errno.EINTR


def _ack(*names, data=5):
    return sa.Filter(default=sa.ALLOW).add(sa.ACK(data), *names)


def _getppids(count):
    for _ in range(count):
        os.getppid()


def _read_all(fd):
    chunks = []
    while True:
        chunk = os.read(fd, 1 << 16)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)


def _state(pid):
    """The scheduler state letter of ``pid`` (R, S, T, ...)."""
    with open(f"/proc/{pid}/stat") as f:
        return f.read().rsplit(")", 1)[1].split()[0]


def _wait_state(pid, states, tries=10000):
    """Poll until ``pid`` is in one of ``states`` (at most ~10 s)."""
    for _ in range(tries):
        if _state(pid) in states:
            return
        time.sleep(0.001)
    raise AssertionError(f"process {pid} never reached state {states}")


def _unique_tickets(seqs):
    """True if the tickets are distinct and exactly 0..len-1."""
    return sorted(seqs) == list(range(len(seqs)))


# ---------------------------------------------------------------- fork storm

FORKS, NEST_EVERY, CALLS = 40, 4, 100  # 40 children, 10 grandchildren


def _storm_child(k, nest, w):
    """A fork-storm child: maybe fork a grandchild, make CALLS getppid,
    and exit with status k (or 90+ if something went wrong)."""
    code = k
    try:
        if nest:
            grandchild = os.fork()
            if grandchild == 0:
                _getppids(CALLS)
                os._exit(100 + k)
            os.write(w, f"{os.getpid()} {grandchild}\n".encode())
        _getppids(CALLS)
        if nest:
            _, status = os.waitpid(grandchild, 0)
            if os.waitstatus_to_exitcode(status) != 100 + k:
                code = 90
    except BaseException:
        code = 91
    os._exit(code)


def test_fork_storm_reports_every_call_of_every_child_with_its_own_pid():
    def body():
        r, w = os.pipe()
        with sa.Monitor(_ack("getppid", "clone"), ring_size=8192) as mon:
            kids = {}
            for k in range(FORKS):
                pid = os.fork()
                if pid == 0:
                    _storm_child(k, k % NEST_EVERY == 0, w)
                kids[pid] = k
            codes = {}
            for pid, k in kids.items():
                _, status = os.waitpid(pid, 0)
                codes[k] = os.waitstatus_to_exitcode(status)
            os.close(w)
            nested = dict(tuple(map(int, line.split()))
                          for line in _read_all(r).splitlines())
            events = [(e.seq, e.name, e.pid, e.ret) for e in mon.events()]
            return os.getpid(), kids, codes, nested, events, mon.stats

    me, kids, codes, nested, events, stats = in_child(body).value
    assert codes == {k: k for k in range(FORKS)}
    # Who forked whom, from the forks' return values.
    parent_of = {pid: me for pid in kids}
    parent_of.update({gpid: cpid for cpid, gpid in nested.items()})
    assert len(parent_of) == FORKS + FORKS // NEST_EVERY == 50

    getppids = [(pid, ret) for _, name, pid, ret in events
                if name == "getppid"]
    assert collections.Counter(pid for pid, _ in getppids) == \
        {pid: CALLS for pid in parent_of}
    assert all(ret == parent_of[pid] for pid, ret in getppids)

    # Each fork is reported twice: by the parent with the child's pid, and
    # by the child (which returns through the handler too) with 0.
    in_parent = sorted((pid, ret) for _, name, pid, ret in events
                       if name == "clone" and ret != 0)
    in_child_ = sorted(pid for _, name, pid, ret in events
                       if name == "clone" and ret == 0)
    assert in_parent == sorted((ppid, pid) for pid, ppid in parent_of.items())
    assert in_child_ == sorted(parent_of)

    assert len(events) == 50 * CALLS + 2 * 50 == stats["reported"]
    assert stats["dropped"] == stats["lost"] == 0
    assert _unique_tickets([seq for seq, *_ in events])


# --------------------------------------------------- threads and forks at once

THREADS, T_CALLS, SPAWNS, S_CALLS = 3, 3000, 8, 500


def test_threads_and_forks_through_a_small_ring_lose_nothing_uncounted():
    def body():
        got = []
        codes = []
        with sa.Monitor(_ack("getppid"), on_event=got.append,
                        ring_size=64) as mon:
            def forker():
                pids = []
                for _ in range(SPAWNS):
                    pid = os.fork()
                    if pid == 0:
                        _getppids(S_CALLS)
                        os._exit(7)
                    pids.append(pid)
                for pid in pids:
                    codes.append(os.waitstatus_to_exitcode(
                        os.waitpid(pid, 0)[1]))

            workers = [threading.Thread(target=_getppids, args=(T_CALLS,))
                       for _ in range(THREADS)]
            workers.append(threading.Thread(target=forker))
            for t in workers:
                t.start()
            for t in workers:
                t.join()
        by_pid = collections.Counter(e.pid for e in got)
        by_tid = collections.Counter(e.tid for e in got
                                     if e.pid == os.getpid())
        return (codes, [e.seq for e in got], by_pid, by_tid, mon.stats,
                os.getpid())

    codes, seqs, by_pid, by_tid, stats, me = in_child(body).value
    made = THREADS * T_CALLS + SPAWNS * S_CALLS
    assert codes == [7] * SPAWNS
    assert stats["delivered"] == len(seqs) == stats["reported"]
    assert stats["delivered"] + stats["dropped"] == made
    assert stats["lost"] == 0
    # Nothing doubled: every ticket once, and delivered in ticket order.
    assert _unique_tickets(seqs) and seqs == sorted(seqs)
    assert len(by_pid) <= SPAWNS + 1
    assert all(n <= S_CALLS for pid, n in by_pid.items() if pid != me)
    assert len(by_tid) <= THREADS
    assert all(n <= T_CALLS for n in by_tid.values())


# ------------------------------------------------------------- signal storms

READ_SIGNALS, SLEEP_SIGNALS, SLEEP = 20, 5, 0.6
SLEEPS = ("clock_nanosleep", "nanosleep")


def _sender(target, go, ack, w, count, sleep_count, close):
    """Signal ``target`` count times while it blocks in read, then write
    its data, then signal it sleep_count times while it sleeps.  Each
    signal is sent only once the target is asleep again (state S) after
    acknowledging the previous one, so no two signals merge."""
    try:
        for fd in close:    # so that reads see EOF if the target dies
            os.close(fd)
        for phase, n in ((0, count), (1, sleep_count)):
            assert os.read(go, 1) == b"g"
            for _ in range(n):
                _wait_state(target, "S")
                os.kill(target, signal.SIGUSR1)
                assert os.read(ack, 1)
            if phase == 0:
                os.write(w, b"payload")
        os._exit(0)
    except BaseException:
        os._exit(1)


def _signal_storm(restart):
    """Run the read and sleep storms in a child; return what it saw."""
    def body():
        r, w = os.pipe()
        go_r, go_w = os.pipe()
        ack_r, ack_w = os.pipe()
        ran = []

        def handler(sig, frame):
            ran.append(sig)
            if not restart:
                os.write(ack_w, b"a")

        signal.signal(signal.SIGUSR1, handler)
        if restart:
            # SA_RESTART; the C-level handler acknowledges each delivery
            # through the wakeup fd, since the Python one runs only once
            # the restarted read returns.
            signal.siginterrupt(signal.SIGUSR1, False)
            os.set_blocking(ack_w, False)
            signal.set_wakeup_fd(ack_w)
        me = os.getpid()
        sender = os.fork()
        if sender == 0:
            _sender(me, go_r, ack_r, w, READ_SIGNALS, SLEEP_SIGNALS,
                    (r, go_w, ack_w))
        with sa.Monitor(_ack("read", *SLEEPS)) as mon:
            os.write(go_w, b"g")
            data = os.read(r, 100)
            ran_in_read = len(ran)
            os.write(go_w, b"g")
            t0 = time.monotonic()
            time.sleep(SLEEP)
            slept = time.monotonic() - t0
            _, status = os.waitpid(sender, 0)
            events = mon.events()
        reads = [e.ret for e in events if e.name == "read" and e.args[0] == r]
        sleeps = [e.ret for e in events if e.name in SLEEPS]
        return (data, ran_in_read, len(ran), slept, reads, sleeps,
                os.waitstatus_to_exitcode(status))

    return in_child(body).value


def test_signal_storm_without_sa_restart_shows_every_eintr_python_retried():
    data, in_read, ran, slept, reads, sleeps, sender = _signal_storm(False)
    assert sender == 0
    assert data == b"payload"
    assert in_read == READ_SIGNALS
    assert ran == READ_SIGNALS + SLEEP_SIGNALS
    # PEP 475: each EINTR the handler wrote into rax went back to Python,
    # which ran the handler and retried.
    assert reads == [EINTR] * READ_SIGNALS + [len(b"payload")]
    assert sleeps == [EINTR] * SLEEP_SIGNALS + [0]
    assert slept >= SLEEP


def test_signal_storm_with_sa_restart_restarts_the_read_in_the_kernel():
    data, in_read, ran, slept, reads, sleeps, sender = _signal_storm(True)
    assert sender == 0
    assert data == b"payload"
    # The kernel restarted the read at the trampoline each time: one
    # report, no EINTR.  The C handler acknowledged every delivery (the
    # sender got all its wakeup bytes); the Python handler ran once for
    # the merged flag, just after the read returned.
    assert reads == [len(b"payload")]
    assert in_read in (0, 1)
    # A sleep is never restarted after a handler ran, SA_RESTART or not
    # (signal(7)): Python retries with the same deadline and the full
    # length is slept all the same.
    assert sleeps == [EINTR] * SLEEP_SIGNALS + [0]
    assert ran == 1 + SLEEP_SIGNALS
    assert slept >= SLEEP


STOPS, NAP = 3, 0.4


class _Timespec(ctypes.Structure):
    _fields_ = [("tv_sec", ctypes.c_long), ("tv_nsec", ctypes.c_long)]


def test_stop_and_continue_restart_sleeps_through_restart_syscall():
    """SIGSTOP then SIGCONT (no handler runs) restart an interrupted sleep
    in the kernel: a relative nanosleep through restart_syscall, an
    absolute one (time.sleep) by re-running it.  Both restarts start at
    the trampoline and must stay invisible: one report each, ret 0, the
    full length slept."""
    def body():
        libc = ctypes.CDLL(None, use_errno=True)
        go_r, go_w = os.pipe()
        me = os.getpid()
        sender = os.fork()
        if sender == 0:
            try:
                os.close(go_w)
                for _ in range(2):
                    assert os.read(go_r, 1) == b"g"
                    for _ in range(STOPS):
                        _wait_state(me, "S")
                        os.kill(me, signal.SIGSTOP)
                        _wait_state(me, "T")
                        os.kill(me, signal.SIGCONT)
                os._exit(0)
            except BaseException:
                os._exit(1)
        with sa.Monitor(_ack(*SLEEPS)) as mon:
            nap = _Timespec(0, int(NAP * 1e9))
            os.write(go_w, b"g")
            t0 = time.monotonic()
            rc = libc.nanosleep(ctypes.byref(nap), None)
            relative = time.monotonic() - t0
            os.write(go_w, b"g")
            t0 = time.monotonic()
            time.sleep(NAP)
            absolute = time.monotonic() - t0
            _, status = os.waitpid(sender, 0)
            sleeps = [(e.args[1], e.ret) for e in mon.events()
                      if e.name in SLEEPS]
        return rc, relative, absolute, sleeps, \
            os.waitstatus_to_exitcode(status)

    rc, relative, absolute, sleeps, sender = in_child(body).value
    assert sender == 0
    assert rc == 0
    assert relative >= NAP and absolute >= NAP
    TIMER_ABSTIME = 1
    assert sleeps == [(0, 0), (TIMER_ABSTIME, 0)]


# ------------------------------------------------ rt_sigprocmask, sigaltstack

class _StackT(ctypes.Structure):
    _fields_ = [("ss_sp", ctypes.c_void_p), ("ss_flags", ctypes.c_int),
                ("ss_size", ctypes.c_size_t)]


SS_DISABLE = 2


def _alt_stack_story():
    """Set, query, disable and query the alternate signal stack."""
    libc = ctypes.CDLL(None, use_errno=True)
    buf = ctypes.create_string_buffer(1 << 16)
    new = _StackT(ctypes.addressof(buf), 0, len(buf))
    before, old, now, after = _StackT(), _StackT(), _StackT(), _StackT()
    rcs = [libc.sigaltstack(None, ctypes.byref(before)),
           libc.sigaltstack(ctypes.byref(new), ctypes.byref(old)),
           libc.sigaltstack(None, ctypes.byref(now)),
           libc.sigaltstack(ctypes.byref(_StackT(None, SS_DISABLE, 0)),
                            None),
           libc.sigaltstack(None, ctypes.byref(after))]
    view = [(s.ss_sp or 0, s.ss_flags, s.ss_size)
            for s in (before, old, now)]
    return rcs, view, after.ss_flags, ctypes.addressof(buf)


def _mask_story():
    """Block every signal, look at the mask, make a call, restore."""
    old = signal.pthread_sigmask(signal.SIG_SETMASK, signal.valid_signals())
    blocked = signal.pthread_sigmask(signal.SIG_BLOCK, [])
    with open("/proc/thread-self/status") as f:
        sigblk = int(next(line for line in f
                          if line.startswith("SigBlk:")).split()[1], 16)
    ppid = os.getppid()                  # traps while all else is blocked
    signal.pthread_sigmask(signal.SIG_SETMASK, old)
    restored = signal.pthread_sigmask(signal.SIG_BLOCK, [])
    kernel = {s for s in range(1, 65) if sigblk >> (s - 1) & 1}
    return (sorted(map(int, blocked)), sorted(kernel), ppid,
            restored == old)


def test_sigaltstack_and_sigprocmask_effects_survive_sigreturn():
    def under_ack():
        with sa.Monitor(sa.Filter(default=sa.ACK(1))) as mon:
            stack = _alt_stack_story()
            mask = _mask_story()
            events = [(e.name, e.ret, bool(e.flags & 0x8))
                      for e in mon.events()
                      if e.name in ("sigaltstack", "rt_sigprocmask")]
        return stack, mask, events

    def plain():
        return _alt_stack_story(), _mask_story()

    (rcs, view, disabled, buf), mask, events = in_child(under_ack).value
    (p_rcs, p_view, p_disabled, p_buf), p_mask = in_child(plain).value
    assert rcs == p_rcs == [0] * 5
    before, old, now = view
    assert old == before                 # the set call returned the old one
    assert now == (buf, 0, 1 << 16)      # the new stack outlived sigreturn
    assert disabled == p_disabled == SS_DISABLE
    assert p_view[2] == (p_buf, 0, 1 << 16)

    blocked, kernel, ppid, restored = mask
    p_blocked, p_kernel, p_ppid, p_restored = p_mask
    sigsys = int(signal.SIGSYS)
    # Everything the same call blocks without a filter, except SIGSYS: in
    # the query, in the kernel's own view, and the trap still worked.
    assert sigsys in p_blocked and sigsys in p_kernel
    assert blocked == [s for s in p_blocked if s != sigsys]
    assert kernel == [s for s in p_kernel if s != sigsys]
    assert ppid == os.getpid() and restored and p_restored
    # Every call was reported, emulated, and succeeded.
    assert [e for e in events if e[0] == "sigaltstack"] == \
        [("sigaltstack", 0, True)] * 5
    assert all(ret == 0 and emulated for name, ret, emulated in events)


# ------------------------------------------------- nested and foreign SIGSYS

KILLS, W_CALLS = 2000, 5000


def test_foreign_sigsys_storm_goes_to_the_app_handler_while_acks_go_on():
    def body():
        got = []
        with sa.Monitor(_ack("getppid", "kill")) as mon:
            signal.signal(signal.SIGSYS, lambda s, f: got.append(s))
            results = []
            worker = threading.Thread(
                target=lambda: results.extend(os.getppid()
                                              for _ in range(W_CALLS)))
            worker.start()
            me = os.getpid()
            for _ in range(KILLS):
                # The kill traps; the re-issued kill raises a SIGSYS
                # (SI_USER) that lands on top of the ACK handler.
                os.kill(me, signal.SIGSYS)
            worker.join()
            events = mon.events()
            stats = mon.stats
        kills = [(e.args[1], e.before, e.tid) for e in events
                 if e.name == "kill"]
        getppids = [(e.ret, e.tid) for e in events if e.name == "getppid"]
        return (len(got), set(results), kills, getppids, stats,
                threading.get_native_id(), worker.native_id)

    ran, results, kills, getppids, stats, main, worker = in_child(body).value
    assert ran == KILLS
    assert results == {os.getpid()}
    assert kills == [(signal.SIGSYS, True, main)] * KILLS
    assert getppids == [(os.getpid(), worker)] * W_CALLS
    assert stats["foreign"] == KILLS
    assert stats["reported"] == stats["delivered"] == KILLS + W_CALLS
    assert stats["dropped"] == stats["lost"] == 0


# ------------------------------------------------------------- ring overflow

WRITERS, M_CALLS, TINY = 6, 2000, 16


def _forked_writers(ring, count, calls, consume):
    """Fork ``count`` writers making ``calls`` getppid each; drain while
    they run if ``consume``; return (events, exit codes)."""
    pids = []
    for _ in range(count):
        pid = os.fork()
        if pid == 0:
            _getppids(calls)
            os._exit(3)
        pids.append(pid)
    events, codes = [], {}
    for _ in range(1_000_000):
        if consume:
            events += ring.drain()
        for pid in pids:
            if pid not in codes:
                done, status = os.waitpid(
                    pid, os.WNOHANG if consume else 0)
                if done:
                    codes[pid] = os.waitstatus_to_exitcode(status)
        if len(codes) == count:
            break
    events += ring.drain()
    return runtime.events_from(events), codes


def _overflow(consume):
    def body():
        ring = runtime.new_ring(TINY)
        runtime.attach(ring)
        sa.install(_ack("getppid"))
        events, codes = _forked_writers(ring, WRITERS, M_CALLS, consume)
        return ([e.seq for e in events],
                collections.Counter(e.pid for e in events), codes,
                ring.counters(), ring.pending())

    return in_child(body).value


def test_tiny_ring_with_forked_writers_and_no_consumer_keeps_the_first():
    seqs, by_pid, codes, counters, pending = _overflow(False)
    assert list(codes.values()) == [3] * WRITERS
    assert seqs == list(range(TINY))
    assert counters["reported"] == TINY
    assert counters["dropped"] == WRITERS * M_CALLS - TINY
    assert counters["lost"] == 0 and pending == 0


def test_tiny_ring_with_forked_writers_and_a_consumer_counts_every_drop():
    seqs, by_pid, codes, counters, pending = _overflow(True)
    assert list(codes.values()) == [3] * WRITERS
    assert counters["reported"] == len(seqs)
    assert counters["reported"] + counters["dropped"] == WRITERS * M_CALLS
    assert counters["lost"] == 0 and pending == 0
    assert _unique_tickets(seqs) and seqs == sorted(seqs)
    assert set(by_pid) <= set(codes)
    assert all(n <= M_CALLS for n in by_pid.values())


# ------------------------------------------------ a writer killed mid-run

# All the calls together fit in the 65536-event ring, so nothing is ever
# dropped, however slowly the consumer runs on a loaded machine.
SURVIVORS, K_CALLS, VICTIM_CALLS = 5, 2000, 40_000


def _gated_writer(gate, calls, then_wait=False):
    """Wait for the gate to open (EOF), then make ``calls`` getppid at a
    low priority; the victim then waits to be killed."""
    os.nice(10)
    os.read(gate, 1)
    _getppids(calls)
    if then_wait:
        signal.pause()
    os._exit(0)


def test_writer_killed_mid_run_every_ticket_is_delivered_or_lost():
    def body():
        ring = runtime.new_ring(1 << 16)
        runtime.attach(ring)
        sa.install(_ack("getppid"))
        gate, opener = os.pipe()
        pids = []
        for calls in [VICTIM_CALLS] + [K_CALLS] * SURVIVORS:
            pid = os.fork()
            if pid == 0:
                os.close(opener)
                _gated_writer(gate, calls, then_wait=not pids)
            pids.append(pid)
        victim, survivors = pids[0], pids[1:]
        os.close(opener)                  # all start at once
        events, codes, vstatus = [], {}, None
        for _ in range(10_000_000):
            events += ring.drain()
            if vstatus is None and sum(e[1] == victim for e in events) > 100:
                os.kill(victim, signal.SIGKILL)   # mid-run
                vstatus = os.waitpid(victim, 0)[1]
            for pid in survivors:
                if pid not in codes:
                    done, status = os.waitpid(pid, os.WNOHANG)
                    if done:
                        codes[pid] = os.waitstatus_to_exitcode(status)
            if vstatus is not None and len(codes) == SURVIVORS:
                break
        skipped = 0
        for _ in range(ring.capacity + 2):
            events += ring.drain()
            if ring.pending() == 0:
                break
            skipped += ring.skip_stuck()
        events = runtime.events_from(events)
        return (victim, survivors, os.waitstatus_to_exitcode(vstatus),
                codes, [e.seq for e in events],
                collections.Counter(e.pid for e in events), skipped,
                ring.counters(), ring.pending())

    (victim, survivors, vcode, codes, seqs, by_pid, skipped, counters,
     pending) = in_child(body).value
    assert vcode == -signal.SIGKILL
    assert codes == {pid: 0 for pid in survivors}
    # The consumer reached the head: each claimed ticket was delivered
    # once or skipped (and counted as lost), at most the victim's one.
    assert pending == 0
    assert counters["lost"] == skipped <= 1
    assert len(set(seqs)) == len(seqs)
    assert max(seqs) < len(seqs) + skipped
    # Survivors lost nothing; the victim died mid-run.
    assert counters["dropped"] == 0
    assert {pid: by_pid[pid] for pid in survivors} == \
        {pid: K_CALLS for pid in survivors}
    assert 100 < by_pid[victim] <= VICTIM_CALLS
    assert set(by_pid) == {victim, *survivors}
    # A writer killed between publishing and counting leaves reported one
    # short of what was delivered.
    assert len(seqs) - 1 <= counters["reported"] <= len(seqs)


# Offsets in struct sa_ring (ext/runtime.h): head and tail each start a
# 64-byte line, lost follows tail.  The test checks them before use.
_HEAD, _TAIL, _LOST = 64, 128, 136


def test_slot_claimed_by_a_writer_that_died_is_skipped_and_counted_lost():
    """A writer killed between claiming a ticket and publishing it, made
    deterministic: it claims by bumping head in the shared file, then
    SIGKILLs itself.  The consumer stops at the stuck slot until
    skip_stuck() counts it lost; the others' events then come through."""
    def body():
        ring = runtime.new_ring(1 << 10)
        runtime.attach(ring)
        sa.install(_ack("getppid"))
        fd = os.open(ring.path, os.O_RDWR)
        shared = mmap.mmap(fd, 4096)
        os.close(fd)

        def word(off):
            return struct.unpack_from("<Q", shared, off)[0]

        _getppids(3)
        layout_ok = [word(_HEAD), word(_TAIL)] == [3, 0]
        first = ring.drain()
        layout_ok &= [word(_HEAD), word(_TAIL), word(_LOST)] == [3, 3, 0]
        nothing_stuck = ring.skip_stuck()

        dier = os.fork()
        if dier == 0:
            struct.pack_into("<Q", shared, _HEAD, word(_HEAD) + 1)
            os.kill(os.getpid(), signal.SIGKILL)
        os.waitpid(dier, 0)
        events, codes = _forked_writers(ring, WRITERS, 50, False)
        blocked = len(events)
        pending = ring.pending()
        skipped = [ring.skip_stuck(), ring.skip_stuck()]
        rest = runtime.events_from(ring.drain())
        return (layout_ok, len(first), nothing_stuck, blocked, pending,
                skipped, [e.seq for e in rest], ring.counters(),
                word(_HEAD), word(_TAIL))

    (layout_ok, first, nothing_stuck, blocked, pending, skipped, seqs,
     counters, head, tail) = in_child(body).value
    assert layout_ok, "struct sa_ring changed: update _HEAD/_TAIL/_LOST"
    assert first == 3 and not nothing_stuck
    made = WRITERS * 50
    assert blocked == 0 and pending == made + 1
    assert skipped == [True, False]      # the second slot is published
    assert seqs == list(range(4, 4 + made))
    assert counters["lost"] == 1 and counters["reported"] == 3 + made
    assert head == tail == 3 + 1 + made == first + counters["lost"] + made


# ---------------------------------------------------------------- exec storm

EXECS = 30


def test_exec_storm_reports_each_exec_and_each_new_image_exit():
    def body():
        import subprocess
        ring = runtime.new_ring(1 << 15)
        runtime.attach(ring)
        sa.install(sa.Filter(default=sa.ACK(1)))
        codes = [subprocess.run(["/bin/true"]).returncode
                 for _ in range(EXECS)]
        events = runtime.events_from(ring.drain())
        me = os.getpid()
        forks = [e.ret for e in events if e.pid == me
                 and e.name in ("vfork", "clone", "clone3")]
        execs = [(e.pid, e.args[0], e.ret, e.before) for e in events
                 if e.name == "execve"]
        exits = [(e.pid, e.args[0], e.noreturn) for e in events
                 if e.name == "exit_group"]
        return codes, forks, execs, exits, ring.counters()

    codes, forks, execs, exits, counters = in_child(body).value
    assert codes == [0] * EXECS
    assert len(set(forks)) == len(forks) == EXECS
    assert sorted(pid for pid, *_ in execs) == sorted(forks)
    assert all(ret == 0 and before for _, _, ret, before in execs)
    assert sorted(exits) == sorted((pid, 0, True) for pid in forks)
    assert counters["dropped"] == counters["lost"] == 0
    assert counters["refused"] == 0
