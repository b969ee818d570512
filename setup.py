"""Build the native parts of seccomp_ack.

Two extension modules:
- ``seccomp_ack._bpf``: classic-BPF simulator and validator (Cython + C);
- ``seccomp_ack._runtime``: installer and SIGSYS runtime (Cython + C + asm).

The runtime's trampoline is an assembly file (``ext/trampoline.S``), which
distutils does not compile by default; the build_ext below teaches it.
"""

import platform
import sys

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext


class BuildExt(build_ext):
    def build_extensions(self):
        if ".S" not in self.compiler.src_extensions:
            self.compiler.src_extensions.append(".S")
        super().build_extensions()


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
    ]
    return cythonize(mods, language_level=3,
                     compiler_directives={"embedsignature": True})


setup(ext_modules=extensions(), cmdclass={"build_ext": BuildExt})
