"""The generated syscall tables: current, and OTHER_ABI_NAMES right."""

import os
import subprocess
import sys

from seccomp_ack import _syscalls, tables

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CSV = os.path.join(REPO, "..", "shared", "data", "profiles",
                   "libseccomp_src_syscalls.csv")


def test_the_checked_in_module_is_what_the_generator_writes(tmp_path):
    out = tmp_path / "_syscalls.py"
    subprocess.run([sys.executable,
                    os.path.join(REPO, "tools", "gen_syscalls.py"), CSV,
                    str(out)], check=True, capture_output=True)
    with open(os.path.join(REPO, "seccomp_ack", "_syscalls.py")) as f:
        assert out.read_text() == f.read()


def test_other_abi_names_are_known_only_elsewhere():
    names = _syscalls.OTHER_ABI_NAMES
    assert isinstance(names, frozenset)
    assert {"recv", "send", "riscv_hwprobe", "s390_sthyi"} <= names
    for abi in tables.ABI_ARCH:
        assert not names & set(tables.syscall_names(abi)), abi
    # A name the CSV knows on a covered ABI is not in it, even if other
    # ABIs lack it (i386-only socketcall), nor is a made-up one.
    assert "socketcall" not in names and "read" not in names
    assert "no_such_syscall" not in names
