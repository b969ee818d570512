"""Build the native parts of seccomp_ack.

Two extension modules:
- ``seccomp_ack._bpf``: classic-BPF simulator and validator (Cython + C);
- ``seccomp_ack._runtime``: installer and SIGSYS runtime (Cython + C + asm).

and one freestanding static executable, ``seccomp_ack/_launcher``
(``ext/launcher.c``), which the ACK runtime execs in place of a program so
that the program still reports after exec.  It is linked at a fixed address,
with the trampoline page at SA_TRAMPOLINE_PAGE (``ext/runtime.h``).

The runtime's trampoline is an assembly file (``ext/trampoline.S``), which
distutils does not compile by default; the build_ext below teaches it.
"""

import os
import platform
import shutil
import subprocess
import sys

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext


TRAMPOLINE_PAGE = "0x3ac000000000"   # SA_TRAMPOLINE_PAGE in ext/runtime.h
LAUNCHER_TEXT = "0x3ac000100000"


class BuildExt(build_ext):
    def build_extensions(self):
        if ".S" not in self.compiler.src_extensions:
            self.compiler.src_extensions.append(".S")
        super().build_extensions()

    def run(self):
        super().run()  # builds in build/, then copies in place if asked
        if self.extensions:
            self.build_launcher()

    def build_launcher(self):
        out = os.path.join(self.build_lib, "seccomp_ack", "_launcher")
        os.makedirs(os.path.dirname(out), exist_ok=True)
        cc = os.environ.get("CC", "cc")
        cmd = [cc, "-std=gnu11", "-O2", "-Wall", "-Wextra",
               "-Wno-unused-parameter", "-static", "-nostdlib",
               "-ffreestanding", "-fno-stack-protector", "-fPIE", "-no-pie",
               "-fvisibility=hidden", "-fno-asynchronous-unwind-tables",
               "-Iext", f"-Wl,--section-start=.tramp={TRAMPOLINE_PAGE}",
               f"-Wl,-Ttext-segment={LAUNCHER_TEXT}", "-Wl,-z,noexecstack",
               "-Wl,--build-id=none", "-o", out, "ext/launcher.c",
               "ext/trampoline.S"]
        print(" ".join(cmd))
        subprocess.check_call(cmd)
        if self.inplace:
            # In-place and editable builds run from the source tree.
            build_py = self.get_finalized_command("build_py")
            shutil.copy2(out, os.path.join(
                build_py.get_package_dir("seccomp_ack"), "_launcher"))


def extensions():
    if not (sys.platform.startswith("linux")
            and platform.machine() == "x86_64"):
        # The package imports elsewhere only to say why it cannot work.
        return []
    from Cython.Build import cythonize

    cflags = ["-std=gnu11", "-O2", "-Wall", "-Wextra", "-Wno-unused-parameter",
              "-fno-strict-aliasing"]
    mods = [
        Extension("seccomp_ack._bpf",
                  ["ext/_bpf.pyx", "ext/bpf_sim.c"],
                  include_dirs=["ext"], extra_compile_args=cflags),
        Extension("seccomp_ack._runtime",
                  ["ext/_runtime.pyx", "ext/runtime.c", "ext/trampoline.S"],
                  include_dirs=["ext"], extra_compile_args=cflags),
        Extension("seccomp_ack._tracers",
                  ["ext/_tracers.pyx", "ext/tracers.c"],
                  include_dirs=["ext"], extra_compile_args=cflags),
    ]
    return cythonize(mods, language_level=3,
                     compiler_directives={"embedsignature": True})


setup(ext_modules=extensions(), cmdclass={"build_ext": BuildExt})
