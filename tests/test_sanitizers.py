"""The ACK runtime built with AddressSanitizer and UndefinedBehaviorSanitizer.

The module fixture compiles ``ext/runtime.c``, ``ext/trampoline.S`` and a
fresh Cython translation of ``ext/_runtime.pyx`` with
``-fsanitize=address,undefined`` into a copy of the package in a temporary
directory.  The tests then run Python with that copy first on the path and
the matching sanitizer runtimes preloaded (the interpreter itself is not
instrumented, so libasan must come first in the link order), and fail on
any sanitizer report.  See docs/sanitizers.md.

Skipped only when the compiler has no sanitizer runtime, found at run time.
"""

import os
import shutil
import subprocess
import sys
import sysconfig

import pytest

from conftest import REPO

CC = os.environ.get("CC", "gcc")
SANITIZE = ["-fsanitize=address,undefined", "-fno-sanitize-recover=undefined",
            "-fno-omit-frame-pointer"]
REPORTS = ("ERROR: AddressSanitizer", "runtime error:", "SUMMARY: ")
TESTS = os.path.join(REPO, "tests")

PROBE = r"""
#include <limits.h>
#include <stdlib.h>
int main(int argc, char **argv)
{
    if (argv[1][0] == 'a') {          /* one int past a heap block */
        int *p = malloc(4 * sizeof *p);
        int v = p[argc + 2];
        free(p);
        return v;
    }
    int x = INT_MAX - 1;              /* signed overflow */
    x += argc;
    return x & 1;
}
"""


def _runtime_library(name):
    """The absolute path of the compiler's ``name``, or None."""
    try:
        out = subprocess.run([CC, f"-print-file-name={name}"],
                             capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        return None
    path = out.stdout.strip()
    return os.path.realpath(path) if os.path.isabs(path) and \
        os.path.exists(path) else None


def _run(cmd, **kw):
    done = subprocess.run(cmd, capture_output=True, text=True, **kw)
    assert done.returncode == 0, \
        f"{' '.join(cmd)} failed:\n{done.stdout}\n{done.stderr}"
    return done


@pytest.fixture(scope="module")
def sanitized(tmp_path_factory):
    """(package directory, environment) of a sanitized build."""
    libs = [_runtime_library("libasan.so"), _runtime_library("libubsan.so")]
    # This machine's compiler has them (gcc's libasan and libubsan): their
    # absence is a broken toolchain, reported as a failure, not a skip.
    assert None not in libs, f"{CC} has no ASan/UBSan runtime library"
    top = tmp_path_factory.mktemp("sanitized")
    probe = top / "probe.c"
    probe.write_text(PROBE)
    linked = subprocess.run([CC, *SANITIZE, "-o", str(top / "probe"),
                             str(probe)], capture_output=True, text=True)
    assert linked.returncode == 0, \
        f"{CC} cannot link a program with {' '.join(SANITIZE)}: " \
        f"{linked.stderr}"

    # A copy of the package, with the sanitized _runtime in place of the
    # regular one (the launcher and the other modules as they are).
    pkg = top / "pkg"
    shutil.copytree(os.path.join(REPO, "seccomp_ack"), pkg / "seccomp_ack",
                    ignore=shutil.ignore_patterns("__pycache__",
                                                  "_runtime.*"))
    ext = os.path.join(REPO, "ext")
    c_file = top / "_runtime.c"
    _run([sys.executable, "-m", "cython", "-3", "-I", ext,
          os.path.join(ext, "_runtime.pyx"), "-o", str(c_file)])
    flags = [*SANITIZE, "-g", "-O1", "-fPIC", "-std=gnu11", "-I", ext,
             "-I", sysconfig.get_paths()["include"]]
    objects = []
    for src in (str(c_file), os.path.join(ext, "runtime.c"),
                os.path.join(ext, "trampoline.S")):
        obj = str(top / (os.path.basename(src) + ".o"))
        _run([CC, *flags, "-c", src, "-o", obj])
        objects.append(obj)
    module = pkg / "seccomp_ack" / \
        ("_runtime" + sysconfig.get_config_var("EXT_SUFFIX"))
    _run([CC, "-shared", *SANITIZE, *objects, "-o", str(module)])

    env = dict(os.environ,
               PYTHONPATH=str(pkg),
               LD_PRELOAD=":".join(libs),
               ASAN_OPTIONS="detect_leaks=0:abort_on_error=1",
               UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1",
               PYTHONDONTWRITEBYTECODE="1")
    return top, module, env


def _no_reports(stderr):
    found = [line for line in stderr.splitlines()
             if any(r in line for r in REPORTS)]
    assert not found, "sanitizer report:\n" + stderr[-8000:]


def test_sanitizers_report_a_planted_overflow_and_signed_overflow(
        sanitized):
    """The harness can fail: the same flags, runtimes and options catch a
    heap overflow and a signed overflow in a probe program."""
    top, _, env = sanitized
    heap = subprocess.run([str(top / "probe"), "a"], env=env,
                          capture_output=True, text=True, timeout=60)
    assert heap.returncode != 0
    assert "ERROR: AddressSanitizer: heap-buffer-overflow" in heap.stderr
    signed = subprocess.run([str(top / "probe"), "u"], env=env,
                            capture_output=True, text=True, timeout=60)
    assert signed.returncode != 0
    assert "runtime error: signed integer overflow" in signed.stderr


def test_sanitized_runtime_is_instrumented(sanitized):
    _, module, _ = sanitized
    symbols = _run(["nm", "-D", "--undefined-only", str(module)]).stdout
    assert "__asan_report_" in symbols
    assert "__ubsan_handle_" in symbols


def test_runtime_workload_is_clean_under_asan_and_ubsan(sanitized):
    """ACK reports, threads, fork, exec of /bin/true, sigprocmask,
    sigaltstack, a foreign SIGSYS storm and an overflowing ring, each
    checked exactly by the workload itself."""
    _, module, env = sanitized
    done = subprocess.run(
        [sys.executable, os.path.join(TESTS, "_sanitizer_workload.py")],
        env=env, capture_output=True, text=True, timeout=120)
    _no_reports(done.stderr)
    lines = done.stdout.splitlines()
    assert lines[0] == f"runtime {module}", done.stdout
    assert lines[1:] == [f"{part} 0" for part in (
        "ack_reports_results", "threads", "forks", "execs", "sigprocmask",
        "sigaltstack", "foreign_sigsys", "overflow")], \
        done.stdout + done.stderr
    assert done.returncode == 0


def test_runtime_tests_pass_under_asan_and_ubsan(sanitized, tmp_path):
    """The runtime's own tests, and the stress tests, against the
    sanitized module."""
    _, module, env = sanitized
    check = tmp_path / "which.py"
    check.write_text("from seccomp_ack import _runtime\n"
                     "print(_runtime.__file__)\n")
    assert _run([sys.executable, str(check)], env=env,
                cwd=tmp_path).stdout.strip() == str(module)
    done = subprocess.run(
        # -s: a report from any process reaches our stderr, not just the
        # output of a failing test.
        [sys.executable, "-m", "pytest", "-q", "-s", "-p", "no:cacheprovider",
         os.path.join(TESTS, "test_runtime.py"),
         os.path.join(TESTS, "test_runtime_stress.py"),
         # lock() denies what warm-up did not see, and ASan's own munmap
         # at thread exit was not seen: ASan dies (docs/sanitizers.md).
         "-k", "not test_lock_denies_what_was_not_seen"],
        env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    _no_reports(done.stdout + done.stderr)
    assert done.returncode == 0, done.stdout[-8000:] + done.stderr[-4000:]
    assert " passed" in done.stdout and "failed" not in done.stdout
