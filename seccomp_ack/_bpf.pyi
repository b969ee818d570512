"""Type stubs for the native simulator and validator (ext/_bpf.pyx)."""

def validate(program: bytes) -> None:
    """Raise ValueError naming the instruction and value unless the kernel
    would accept ``program`` (struct sock_filter bytes) as a seccomp
    filter."""

def run(program: bytes, seccomp_data: bytes) -> int:
    """Validate ``program``, then return the raw 32-bit value it returns
    for the 64-byte ``seccomp_data``; ValueError for bad input."""
