"""Kernel-as-oracle helpers for the Program tests.

A seccomp filter can never be removed, so every filter these helpers
install goes into a forked child; the parent reads what the child reports
through a pipe and how it ended.  Children never dump core and never run a
signal handler that could loop under a hostile filter (faulthandler's
SIGSEGV handler retries forever if the filter denies rt_sigaction).
"""

import ctypes
import faulthandler
import os
import resource
import select
import signal
import struct
import sys
import time
from typing import Callable, List, Optional, Sequence, Tuple

SYS_SECCOMP = 317
SECCOMP_SET_MODE_FILTER = 1
PR_SET_NO_NEW_PRIVS = 38
PR_SET_DUMPABLE = 4

_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long
_libc.prctl.restype = ctypes.c_int


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


def libc_syscall_ip() -> int:
    """The instruction pointer a filter sees for calls made via libc's
    syscall(): the address just after its ``syscall`` instruction."""
    addr = ctypes.cast(_libc.syscall, ctypes.c_void_p).value
    code = ctypes.string_at(addr, 64)
    at = code.find(b"\x0f\x05")
    assert at >= 0, "no syscall instruction in libc's syscall()"
    return addr + at + 2


def _prepare_child() -> None:
    faulthandler.disable()
    for sig in (signal.SIGSEGV, signal.SIGBUS, signal.SIGILL,
                signal.SIGFPE, signal.SIGABRT, signal.SIGSYS):
        signal.signal(sig, signal.SIG_DFL)
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    _libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)
    if _libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_NO_NEW_PRIVS)")


def install_raw(blob: bytes) -> int:
    """Install ``blob`` as a filter in this process; return 0 or the errno.

    Uses seccomp_ack._runtime.install_filter when it can take the program
    (1..65535 instructions), else the raw syscall.  Call only in a child.
    """
    count = len(blob) // 8
    try:
        from seccomp_ack import _runtime
    except ImportError:
        _runtime = None
    if _runtime is not None and 1 <= count <= 0xFFFF:
        try:
            _runtime.install_filter(blob, 0)
        except OSError as exc:
            return exc.errno
        return 0
    buf = ctypes.create_string_buffer(blob, max(len(blob), 1))
    fprog = _SockFprog(count & 0xFFFF, ctypes.cast(buf, ctypes.c_void_p))
    rc = _libc.syscall(ctypes.c_long(SYS_SECCOMP),
                       ctypes.c_long(SECCOMP_SET_MODE_FILTER),
                       ctypes.c_long(0), ctypes.byref(fprog))
    return 0 if rc == 0 else ctypes.get_errno()


def run_child(body: Callable[[int], None], timeout: float = 10.0
              ) -> Tuple[bytes, int]:
    """Run ``body(write_fd)`` in a forked child; return (bytes, status).

    The bytes are everything the child wrote before it ended, however it
    ended; status is the raw wait status.
    """
    read_fd, write_fd = os.pipe()
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(read_fd)
            _prepare_child()
            body(write_fd)
        finally:
            os._exit(0)
    os.close(write_fd)
    chunks = []
    deadline = time.monotonic() + timeout
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                os.kill(pid, signal.SIGKILL)
                raise AssertionError(f"child did not finish in {timeout} s")
            ready, _, _ = select.select([read_fd], [], [], left)
            if ready:
                chunk = os.read(read_fd, 1 << 16)
                if not chunk:
                    break
                chunks.append(chunk)
    finally:
        os.close(read_fd)
        _, status = os.waitpid(pid, 0)
    return b"".join(chunks), status


def kernel_accepts(blobs: Sequence[bytes]) -> List[Tuple[bool, int]]:
    """For each program, (accepted, errno) as seccomp(2) answers.

    Rejected programs leave no trace, so one child tries programs until
    the kernel accepts one; that child then exits (perhaps killed by the
    filter it installed) and a new child goes on with the rest.
    """
    results: List[Tuple[bool, int]] = []
    while len(results) < len(blobs):
        todo = blobs[len(results):]

        def body(fd: int) -> None:
            for blob in todo:
                os.write(fd, b"T")
                err = install_raw(blob)
                if err == 0:
                    return  # installed: report nothing more
                os.write(fd, bytes([err]))

        data, _ = run_child(body)
        assert data[:1] == b"T", f"child failed before trying: {data!r}"
        for i in range(0, len(data), 2):
            pair = data[i:i + 2]
            assert pair[:1] == b"T", f"bad report {data!r}"
            results.append((len(pair) == 1, pair[1] if len(pair) == 2
                            else 0))
    return results


# One syscall's outcome: ("ret", value, errno) or ("killed", signal, 0).
Outcome = Tuple[str, int, int]


def kernel_outcomes(blob: bytes, calls: Sequence[Tuple[int, Sequence[int]]]
                    ) -> List[Outcome]:
    """Install ``blob`` in a child and make each (nr, args) call in turn.

    Returns one outcome per call made; if the filter kills the child, the
    last outcome is ("killed", signal, 0) and later calls are not made.
    The filter must allow the child's own write(2) and exit_group(2).
    """
    record = struct.Struct("<qi")

    def body(fd: int) -> None:
        err = install_raw(blob)
        if err:
            os.write(fd, b"E" + bytes([err]))
            return
        os.write(fd, b"I")
        for nr, args in calls:
            argv = [ctypes.c_ulong(a) for a in list(args) + [0] * 6][:6]
            ctypes.set_errno(0)
            ret = _libc.syscall(ctypes.c_long(nr), *argv)
            os.write(fd, record.pack(ret, ctypes.get_errno()))

    data, status = run_child(body)
    assert data[:1] == b"I", f"filter not installed: {data!r}"
    data = data[1:]
    out: List[Outcome] = []
    for i in range(0, len(data) - len(data) % record.size, record.size):
        ret, err = record.unpack_from(data, i)
        out.append(("ret", ret, err))
    if os.WIFSIGNALED(status):
        out.append(("killed", os.WTERMSIG(status), 0))
    else:
        assert len(out) == len(calls), f"child exited early: {status}"
    return out


def expected_outcome(verdict: int) -> Optional[Outcome]:
    """The outcome a filter verdict of ERRNO or KILL produces."""
    action = verdict & 0xFFFF0000
    if action == 0x00050000:
        err = min(verdict & 0xFFFF, 4095)
        return ("ret", 0, 0) if err == 0 else ("ret", -1, err)
    if action in (0, 0x80000000):
        return ("killed", signal.SIGSYS, 0)
    return None
