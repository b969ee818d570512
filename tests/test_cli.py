"""learn and run, end to end, on real programs through the real CLI.

Each case runs ``python -m seccomp_ack`` as a subprocess: the CLI forks the
target itself (learn) or installs the filter in its own process (run), so
the test process never gets a filter.
"""

import errno
import json
import os
import signal
import subprocess
import sys
import time

import pytest

import seccomp_ack
from conftest import PROFILES

HERE = os.path.dirname(os.path.abspath(__file__))
WORKLOADS = os.path.join(HERE, "workloads")
PACKAGE_PARENT = os.path.dirname(os.path.dirname(seccomp_ack.__file__))
DOCKER = os.path.join(PROFILES, "moby-profiles_seccomp_default.json")


def cli(*args, cwd=None, timeout=120):
    env = dict(os.environ, PYTHONPATH=PACKAGE_PARENT)
    return subprocess.run([sys.executable, "-m", "seccomp_ack", *args],
                          capture_output=True, text=True, cwd=cwd,
                          timeout=timeout, env=env)


def learn_then_run(tmp_path, target, *, default=None):
    profile = str(tmp_path / "app.json")
    extra = ["--default", default] if default else []
    learned = cli("learn", "-o", profile, *extra, "--", *target)
    ran = cli("run", "--profile", profile, "--", *target)
    with open(profile) as f:
        return learned, ran, json.load(f)


@pytest.mark.parametrize("script", ["files_json.py", "sqlite_job.py",
                                    "threads_job.py", "tcp_echo.py"])
def test_learned_workload_runs_to_the_same_output(tmp_path, script):
    target = [os.path.join(WORKLOADS, script), str(tmp_path / "data")]
    learned, ran, profile = learn_then_run(tmp_path, target)
    assert learned.returncode == 0, learned.stderr
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout == learned.stdout != ""
    assert "syscalls seen" in learned.stderr
    assert profile["defaultAction"] == "SCMP_ACT_ERRNO"
    assert profile["defaultErrnoRet"] == 1
    assert profile["architectures"] == ["SCMP_ARCH_X86_64"]
    names = profile["syscalls"][0]["names"]
    assert profile["syscalls"][0]["action"] == "SCMP_ACT_ALLOW"
    assert {"read", "write", "openat", "close", "exit_group"} <= set(names)
    if script == "tcp_echo.py":
        assert {"socket", "bind", "listen", "accept4", "connect"} <= \
            set(names)
    if script == "threads_job.py":
        assert "futex" in names


def test_module_target_json_tool_on_docker_profile(tmp_path):
    learned, ran, profile = learn_then_run(
        tmp_path, ["-m", "json.tool", DOCKER])
    plain = subprocess.run([sys.executable, "-m", "json.tool", DOCKER],
                           capture_output=True, text=True)
    assert learned.returncode == ran.returncode == plain.returncode == 0
    assert learned.stdout == ran.stdout == plain.stdout


DENY_SCRIPT = """
import socket, sys
if sys.argv[1] == "socket":
    try:
        socket.socket()
    except PermissionError as e:
        print("denied", e.errno)
        sys.exit(0)
print("ok")
"""


def test_syscall_outside_profile_gets_the_default_action(tmp_path):
    script = tmp_path / "maybe_socket.py"
    script.write_text(DENY_SCRIPT)
    profile = str(tmp_path / "p.json")
    learned = cli("learn", "-o", profile, "--", str(script), "quiet")
    assert learned.stdout == "ok\n", learned.stderr
    ran = cli("run", "--profile", profile, "--", str(script), "quiet")
    assert ran.stdout == "ok\n", ran.stderr
    ran = cli("run", "--profile", profile, "--", str(script), "socket")
    assert ran.stdout == f"denied {errno.EPERM}\n", ran.stderr


def test_default_kill_profile_kills(tmp_path):
    script = tmp_path / "maybe_socket.py"
    script.write_text(DENY_SCRIPT)
    profile = str(tmp_path / "p.json")
    assert cli("learn", "-o", profile, "--default", "kill", "--",
               str(script), "quiet").returncode == 0
    with open(profile) as f:
        assert json.load(f)["defaultAction"] == "SCMP_ACT_KILL_PROCESS"
    ran = cli("run", "--profile", profile, "--", str(script), "socket")
    assert ran.returncode == -signal.SIGSYS
    assert ran.stdout == ""


@pytest.mark.parametrize("code, status", [
    ("import sys; sys.exit(3)", 3),
    ("import os; os._exit(5)", 5),
    ("raise ValueError('boom')", 1),
    ("import os, signal; os.kill(os.getpid(), signal.SIGKILL)",
     -signal.SIGKILL),
])
def test_exit_status_passes_through_and_profile_is_complete(
        tmp_path, code, status):
    profile = str(tmp_path / "p.json")
    learned = cli("learn", "-o", profile, "--", "-c", code)
    assert learned.returncode == status, learned.stderr
    with open(profile) as f:
        names = json.load(f)["syscalls"][0]["names"]
    # What ran last before the end is in the profile.
    last = {3: "exit_group", 5: "exit_group", 1: "write",
            -signal.SIGKILL: "kill"}[status]
    assert last in names
    if status == 1:
        assert "ValueError: boom" in learned.stderr


def test_argv_and_stdio_pass_through(tmp_path):
    profile = str(tmp_path / "p.json")
    code = "import sys; print(sys.argv); print('err', file=sys.stderr)"
    learned = cli("learn", "-o", profile, "--", "-c", code, "a", "b c")
    assert learned.stdout == "['-c', 'a', 'b c']\n"
    assert learned.stderr.startswith("err\n")


def test_learn_covers_the_programs_the_target_runs(tmp_path):
    """app.py runs ls: the profile holds ls's syscalls too (lgetxattr,
    statx: Python makes neither), reported from ls's own pid."""
    app = tmp_path / "app.py"
    app.write_text("import subprocess, sys\n"
                   "out = subprocess.run(['ls', '-l', sys.argv[1]],\n"
                   "                     capture_output=True, text=True)\n"
                   "print(out.returncode, len(out.stdout.splitlines()))\n")
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "f").write_text("x")
    profile = str(tmp_path / "p.json")
    learned = cli("learn", "-o", profile, "--", str(app),
                  str(tmp_path / "d"))
    assert learned.stdout == "0 2\n", learned.stderr
    assert "from 2 process(es)" in learned.stderr
    with open(profile) as f:
        names = set(json.load(f)["syscalls"][0]["names"])
    assert {"execve", "vfork", "lgetxattr", "statx"} <= names
    ran = cli("run", "--profile", profile, "--", str(app),
              str(tmp_path / "d"))
    assert ran.stdout == "0 2\n", ran.stderr


def test_exec_of_a_32_bit_program_fails_clearly(tmp_path):
    # The first 20 bytes of an i386 ELF executable are all the check needs.
    fake = tmp_path / "i386-prog"
    fake.write_bytes(b"\x7fELF\x01\x01\x01" + b"\0" * 9 + b"\x02\0\x03\0"
                     + b"\0" * 64)
    fake.chmod(0o755)
    profile = str(tmp_path / "p.json")
    code = ("import subprocess, sys\n"
            "try:\n"
            "    subprocess.run([sys.argv[1]])\n"
            "except OSError as e:\n"
            "    print('exec failed', e.errno)\n")
    learned = cli("learn", "-o", profile, "--", "-c", code, str(fake))
    assert learned.stdout == f"exec failed {errno.ENOTSUP}\n"
    assert "only x86-64 ELF programs can run under ACK" in learned.stderr
    assert "execve failed with ENOTSUP: that program cannot run under ACK" \
        in learned.stderr


def test_console_script_matches_module(tmp_path):
    import shutil
    exe = shutil.which("seccomp-ack")
    assert exe, "install the package (pip install -e .) for its console script"
    out = subprocess.run([exe, "learn", "-o", str(tmp_path / "p.json"),
                          "--", "-c", "print(42)"],
                         capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout == "42\n", out.stderr


@pytest.mark.parametrize("args, message", [
    (["learn", "-o", "x.json", "--"], "no target given"),
    (["learn", "-o", "x.json", "--", "-m"], "-m needs an argument"),
    (["learn", "-o", "x.json", "--", "/nonexistent/app.py"],
     "target '/nonexistent/app.py' does not exist"),
    (["learn", "-o", "x.json", "--", "-X", "dev"],
     "unsupported python option '-X'"),
])
def test_bad_target_is_a_clear_error(tmp_path, args, message):
    out = cli(*args, cwd=tmp_path)
    assert out.returncode == 2
    assert message in out.stderr


def test_missing_files_are_clear_errors_and_learn_checks_first(tmp_path):
    out = cli("run", "--profile", str(tmp_path / "none.json"), "--", "-c",
              "pass")
    assert out.returncode == 2
    assert "No such file or directory" in out.stderr
    assert "none.json" in out.stderr and "Traceback" not in out.stderr
    out = cli("learn", "-o", str(tmp_path / "no" / "p.json"), "--", "-c",
              "print('ran')")
    assert out.returncode == 2
    assert out.stdout == ""          # refused before the target ran
    assert "directory" in out.stderr and "does not exist" in out.stderr


def test_malformed_profile_is_a_clear_error(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [')
    out = cli("run", "--profile", str(bad), "--", "-c", "pass")
    assert out.returncode == 2
    assert "bad.json" in out.stderr


def test_executables_are_learned_and_run_too(tmp_path):
    profile = str(tmp_path / "p.json")
    learned = cli("learn", "-o", profile, "--", "ls", str(WORKLOADS))
    assert learned.returncode == 0, learned.stderr
    assert "files_json.py" in learned.stdout
    with open(profile) as f:
        names = set(json.load(f)["syscalls"][0]["names"])
    assert {"execve", "getdents64", "exit_group"} <= names
    ran = cli("run", "--profile", profile, "--", "ls", str(WORKLOADS))
    assert ran.stdout == learned.stdout, ran.stderr


def test_a_full_ring_drops_events_but_not_profile_entries(tmp_path):
    profile = str(tmp_path / "p.json")
    code = ("import os, threading\n"
            "def work():\n"
            "    for _ in range(3000):\n"
            "        os.getppid()\n"
            "ts = [threading.Thread(target=work) for _ in range(4)]\n"
            "[t.start() for t in ts]; [t.join() for t in ts]\n"
            "os.getuid()\n")
    learned = cli("learn", "-o", profile, "--ring-size", "2", "--", "-c",
                  code)
    assert learned.returncode == 0, learned.stderr
    assert "events dropped (ring full)" in learned.stderr
    with open(profile) as f:
        names = set(json.load(f)["syscalls"][0]["names"])
    assert {"getppid", "getuid", "clone3", "futex"} <= names


def test_sigterm_to_learn_is_passed_on_and_the_profile_written(tmp_path):
    profile = str(tmp_path / "p.json")
    env = dict(os.environ, PYTHONPATH=PACKAGE_PARENT)
    proc = subprocess.Popen(
        [sys.executable, "-m", "seccomp_ack", "learn", "-o", profile, "--",
         "-c", "import time; print('up', flush=True); time.sleep(60)"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    assert proc.stdout.readline() == "up\n"
    # Wait until the target sleeps (clock_nanosleep, 230 on x86_64), so the
    # signal does not land between the print and the sleep.
    with open(f"/proc/{proc.pid}/task/{proc.pid}/children") as f:
        (target,) = f.read().split()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with open(f"/proc/{target}/syscall") as f:
            if f.read().split()[0] == "230":
                break
        time.sleep(0.01)
    proc.terminate()
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == -signal.SIGTERM
    assert "killed by SIGTERM" in err
    with open(profile) as f:
        assert "clock_nanosleep" in json.load(f)["syscalls"][0]["names"]


def test_monitor_inside_learn_is_refused_clearly(tmp_path):
    code = ("import seccomp_ack as sa\n"
            "try:\n"
            "    sa.Monitor(sa.Filter(default=sa.ALLOW)).__enter__()\n"
            "except sa.SeccompAckError as e:\n"
            "    print(e)\n")
    learned = cli("learn", "-o", str(tmp_path / "p.json"), "--", "-c", code)
    assert "a Monitor cannot run inside `seccomp-ack learn`" in \
        learned.stdout


@pytest.mark.parametrize("args, message", [
    (["learn", "-o", "x.json", "--ring-size", "1000", "--", "-c", "1"],
     "1000 is not a power of two"),
    (["learn", "-o", "x.json", "-c", "1"], "give the target after --"),
    (["learn", "-o", "x.json", "--", "-m", "no_such_module_here"],
     "no module named 'no_such_module_here'"),
    (["learn", "-o", "x.json", "--", "no-such-program-here"],
     "'no-such-program-here' does not exist (nor is it a command on PATH)"),
])
def test_bad_command_lines_are_clear_errors(tmp_path, args, message):
    out = cli(*args, cwd=tmp_path)
    assert out.returncode == 2
    assert message in out.stderr and "Traceback" not in out.stderr


def test_target_tracebacks_start_at_the_target(tmp_path):
    out = cli("learn", "-o", str(tmp_path / "p.json"), "--", "-c", "1/0")
    assert out.returncode == 1
    assert out.stderr.startswith(
        "Traceback (most recent call last):\n"
        '  File "<string>", line 1, in <module>\n'
        "ZeroDivisionError: division by zero\n")


def _cc(tmp_path, name, source):
    (tmp_path / f"{name}.c").write_text(source)
    exe = str(tmp_path / name)
    subprocess.run(["cc", "-O1", "-o", exe, str(tmp_path / f"{name}.c")],
                   check=True)
    return exe


def test_a_handler_with_a_full_sa_mask_may_make_syscalls(tmp_path):
    """sigfillset(&sa.sa_mask) would block SIGSYS while the handler runs,
    and its write() would then kill the process: the runtime strips
    SIGSYS from every handler's mask."""
    exe = _cc(tmp_path, "samask", r"""
#include <signal.h>
#include <string.h>
#include <unistd.h>
static void on_usr1(int s) { (void)s; write(1, "in handler\n", 11); }
int main(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1;
    sigfillset(&sa.sa_mask);
    sigaction(SIGUSR1, &sa, 0);
    raise(SIGUSR1);
    write(1, "done\n", 5);
    return 0;
}
""")
    learned = cli("learn", "-o", str(tmp_path / "p.json"), "--", exe)
    assert (learned.returncode, learned.stdout) == (0, "in handler\ndone\n")


def test_an_exec_d_program_has_a_guard_gap_below_its_stack(tmp_path):
    exe = _cc(tmp_path, "gap", r"""
#include <stdio.h>
int main(void) {
    char here;
    unsigned long sp = (unsigned long)&here, lo, hi, prev_hi = 0;
    char perms[8], prev[8] = "";
    FILE *f = fopen("/proc/self/maps", "r");
    while (fscanf(f, "%lx-%lx %7s %*[^\n]", &lo, &hi, perms) == 3) {
        if (lo <= sp && sp < hi) {
            printf("%s\n", prev_hi == lo ? prev : "none");
            return 0;
        }
        prev_hi = hi;
        snprintf(prev, sizeof prev, "%s", perms);
    }
    return 1;
}
""")
    learned = cli("learn", "-o", str(tmp_path / "p.json"), "--", exe)
    # Right below the stack: an inaccessible mapping, or nothing mapped.
    assert learned.stdout in ("---p\n", "none\n"), learned.stderr


def test_profile_of_a_killed_target_still_lets_programs_exit(tmp_path):
    profile = str(tmp_path / "p.json")
    cli("learn", "-o", profile, "--", "-c",
        "import os, signal; os.kill(os.getpid(), signal.SIGKILL)")
    with open(profile) as f:
        names = set(json.load(f)["syscalls"][0]["names"])
    assert {"exit", "exit_group"} <= names


def test_module_targets_are_found_in_the_current_directory(tmp_path):
    (tmp_path / "mypkg").mkdir()
    (tmp_path / "mypkg" / "__init__.py").write_text("")
    (tmp_path / "mypkg" / "__main__.py").write_text("print('mypkg ran')")
    out = cli("learn", "-o", "p.json", "--", "-m", "mypkg", cwd=tmp_path)
    assert out.stdout == "mypkg ran\n", out.stderr


def test_learn_refuses_a_directory_as_output_before_running(tmp_path):
    out = cli("learn", "-o", str(tmp_path), "--", "-c", "print('ran')")
    assert out.returncode == 2 and out.stdout == ""
    assert "it is a directory" in out.stderr
