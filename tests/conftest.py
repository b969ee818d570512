"""Shared test helpers: run code in a forked child and get its result.

A seccomp filter can never be removed, so every test that installs one does
it in a child made by :func:`in_child`; the parent asserts on what the child
sent back through a pipe.
"""

import os
import pickle
import select
import signal
import sys
import time
import traceback

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PROFILES = os.path.join(REPO, "..", "shared", "data", "profiles")


class ChildResult:
    def __init__(self, status, payload):
        self.status = status
        self.payload = payload

    @property
    def exitcode(self):
        return os.waitstatus_to_exitcode(self.status)

    @property
    def value(self):
        kind, value = self.payload or ("missing", None)
        if kind == "error":
            raise AssertionError(f"child raised:\n{value}")
        if kind != "ok":
            raise AssertionError(
                f"child sent no result (exit {self.exitcode})")
        return value


def in_child(fn, *args, timeout=120):
    """Run ``fn(*args)`` in a forked child; return a ChildResult.

    The child's return value (or traceback) comes back pickled.  The child
    leaves with os._exit so nothing of pytest runs twice.
    """
    r, w = os.pipe()
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        try:
            payload = ("ok", fn(*args))
        except BaseException:
            payload = ("error", traceback.format_exc())
        try:
            data = pickle.dumps(payload)
            while data:
                n = os.write(w, data)
                data = data[n:]
        finally:
            os._exit(0)
    os.close(w)
    chunks = []
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            os.close(r)
            raise AssertionError(f"child did not finish in {timeout} s")
        ready, _, _ = select.select([r], [], [], left)
        if not ready:
            continue
        chunk = os.read(r, 1 << 16)
        if not chunk:
            break
        chunks.append(chunk)
    os.close(r)
    _, status = os.waitpid(pid, 0)
    data = b"".join(chunks)
    return ChildResult(status, pickle.loads(data) if data else None)


@pytest.fixture
def child():
    return in_child
