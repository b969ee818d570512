# cython: language_level=3
"""Native classic-BPF simulator and seccomp validator.

Thin wrappers over ext/bpf_sim.c.  Programs are ``struct sock_filter``
arrays as bytes (8 bytes per instruction, native little-endian); input is
one 64-byte ``struct seccomp_data``.  Use :class:`seccomp_ack.program.Program`
rather than this module: it builds both buffers and names errors.
"""

from libc.stdint cimport uint32_t, uintptr_t
from libc.stdlib cimport free, malloc
from libc.string cimport memcpy


cdef extern from "bpf_sim.h":
    struct sock_filter:
        pass
    struct c_seccomp_data "seccomp_data":
        pass
    int bpf_sim_check(const sock_filter *prog, unsigned n, char *msg,
                      size_t msglen, int *index) nogil
    uint32_t bpf_sim_run(const sock_filter *prog, unsigned n,
                         const c_seccomp_data *data) nogil

cdef enum:
    INSN_SIZE = 8
    DATA_SIZE = 64
    MSG_SIZE = 256
    # BPF_MAXINSNS: longer programs are rejected before any copy is made.
    MAX_INSNS = 4096


cdef unsigned _count(bytes program) except? 0:
    cdef Py_ssize_t size = len(program)
    if size % INSN_SIZE:
        raise ValueError(
            f"program of {size} bytes is not a whole number of "
            f"{INSN_SIZE}-byte instructions")
    if size // INSN_SIZE > 0xFFFFFFFF:
        raise ValueError(f"program of {size} bytes is too long")
    return <unsigned>(size // INSN_SIZE)


cdef int _check(const char *buf, unsigned n) except -1:
    cdef char msg[MSG_SIZE]
    cdef int index = 0
    cdef int rc
    with nogil:
        rc = bpf_sim_check(<const sock_filter *>buf, n, msg, MSG_SIZE,
                           &index)
    if rc != 0:
        raise ValueError(msg.decode("utf-8", "replace"))
    return 0


def validate(bytes program not None):
    """Raise ValueError, naming the instruction and value, unless the kernel
    would accept ``program`` as a seccomp filter."""
    cdef unsigned n = _count(program)
    cdef const char *buf
    cdef char *copy = NULL
    if n > MAX_INSNS or n == 0:
        # The C check reports the length; no instruction is read.
        _check(NULL, n)
    buf = _aligned(program, &copy)
    try:
        _check(buf, n)
    finally:
        free(copy)


def run(bytes program not None, bytes seccomp_data not None):
    """Return the raw 32-bit value the filter returns for ``seccomp_data``.

    The program is validated first (ValueError if the kernel would reject
    it).  The simulation itself runs without the GIL.
    """
    cdef unsigned n = _count(program)
    cdef const char *buf
    cdef char *copy = NULL
    cdef unsigned char data[DATA_SIZE]
    cdef uint32_t result
    if len(seccomp_data) != DATA_SIZE:
        raise ValueError(
            f"seccomp_data must be {DATA_SIZE} bytes, got "
            f"{len(seccomp_data)}")
    memcpy(data, <const char *>seccomp_data, DATA_SIZE)
    if n > MAX_INSNS or n == 0:
        _check(NULL, n)
    buf = _aligned(program, &copy)
    try:
        _check(buf, n)
        with nogil:
            result = bpf_sim_run(<const sock_filter *>buf, n,
                                 <const c_seccomp_data *>data)
    finally:
        free(copy)
    return result


cdef const char *_aligned(bytes program, char **copy) except NULL:
    # CPython's bytes payload is 8-aligned in practice; C requires it for
    # struct access, so copy in the (theoretical) other case.
    cdef const char *buf = program
    cdef Py_ssize_t size = len(program)
    if (<uintptr_t>buf) % 4 == 0:
        return buf
    copy[0] = <char *>malloc(size if size else 1)
    if copy[0] == NULL:
        raise MemoryError()
    memcpy(copy[0], buf, size)
    return copy[0]
