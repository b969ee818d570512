# cython: language_level=3
"""Native half of the ACK runtime and of the installer.

Thin bindings over runtime.c: the shared event ring, the SIGSYS handler's
process-wide state, and the two syscalls that install a filter.  The Python
API is in seccomp_ack.runtime and seccomp_ack.install.
"""

import os
import tempfile

from libc.stdint cimport int32_t, int64_t, uint32_t, uint64_t, uintptr_t
from libc.stdlib cimport free, malloc
from posix.mman cimport (MAP_ANONYMOUS, MAP_FAILED, MAP_SHARED, PROT_READ,
                         PROT_WRITE, mmap, munmap)

from seccomp_ack.errors import raise_oserror

from sa_event cimport (SA_EV_BEFORE, SA_EV_EMULATED, SA_EV_NORETURN,
                       SA_EV_REFUSED, SA_EV_REGS, SA_NREGS, event_tuple,
                       sa_event)


cdef extern from "runtime.h" nogil:
    struct sa_counters:
        uint64_t reported
        uint64_t dropped
        uint64_t silenced
        uint64_t quiet
        uint64_t foreign
        uint64_t refused
        uint64_t faults
        uint64_t wakeups

    struct sa_ring:
        uint32_t capacity
        uint32_t want_regs
        uint64_t head
        uint64_t tail
        uint64_t lost
        sa_counters counters
        uint64_t quiet_seen[16]
        uint64_t seen[16]

    size_t sa_ring_bytes(uint32_t capacity)
    void sa_ring_init(sa_ring *ring, uint32_t capacity)
    size_t sa_ring_drain(sa_ring *ring, sa_event *out, size_t max)
    int sa_ring_skip_stuck(sa_ring *ring)
    void sa_ring_wait(sa_ring *ring, int timeout_ms)
    uint64_t sa_ring_pending(sa_ring *ring)
    int sa_trampoline_map()
    int sa_runtime_install(sa_ring *ring, int vdso_clock,
                           const char *launcher, const char *ring_path)
    void sa_register_cookie(unsigned cookie, unsigned data, int silent)
    int sa_set_silenced(unsigned nr, int on)
    void sa_set_quiet_thread(int on)
    uintptr_t sa_trampoline_address()
    long sa_set_no_new_privs()
    long sa_install_filter(const void *insns, unsigned count, unsigned flags)


EV_REGS = SA_EV_REGS
EV_NORETURN = SA_EV_NORETURN
EV_REFUSED = SA_EV_REFUSED
EV_EMULATED = SA_EV_EMULATED
EV_BEFORE = SA_EV_BEFORE
NREGS = SA_NREGS

#: Rings that were ever given to the handler are never unmapped: a child or
#: a late trap could still write into them.
_pinned = []

# The trampoline page must exist before sa_syscall6 is first used.
_rc = sa_trampoline_map()
if _rc < 0:
    raise_oserror(-_rc, "mmap(trampoline page at 0x3ac000000000)",
                  "the fixed address the ACK runtime needs is taken")


RING_PREFIX = "seccomp_ack-ring-"


def _ring_dir():
    # A tmpfs, when there is one: the ring is memory, not disk.
    for d in ("/dev/shm", tempfile.gettempdir()):
        if os.path.isdir(d) and os.access(d, os.W_OK | os.X_OK):
            return d
    return tempfile.gettempdir()


def remove_stale_rings(directory=None):
    """Remove ring files whose creating process is gone.

    A ring file is named after its creator's pid.  The creator removes it
    at exit, but a process that ends with os._exit or a signal cannot; the
    next ring created on the machine cleans up after it.  Returns the
    paths removed.
    """
    directory = directory or _ring_dir()
    removed = []
    try:
        names = os.listdir(directory)
    except OSError:
        return removed
    for name in names:
        if not name.startswith(RING_PREFIX):
            continue
        pid = name[len(RING_PREFIX):].split("-", 1)[0]
        if not pid.isdigit():
            continue
        try:
            os.kill(int(pid), 0)
            continue                     # alive (ours or someone's)
        except ProcessLookupError:
            pass
        except PermissionError:
            continue                     # alive, another user's
        path = os.path.join(directory, name)
        try:
            os.unlink(path)
            removed.append(path)
        except OSError:
            pass
    return removed


cdef class Ring:
    """A bounded event ring in a MAP_SHARED mapping.

    Producers are SIGSYS handlers, in this process and in its forked
    children; there is one consumer, the caller of drain().
    """

    cdef sa_ring *ring
    cdef size_t nbytes
    cdef sa_event *buf
    cdef size_t bufcap
    cdef readonly str path
    cdef int owner

    def __cinit__(self, uint32_t capacity=4096, bint regs=False):
        if capacity < 2 or capacity > (1 << 24) or \
                capacity & (capacity - 1):
            raise ValueError(
                f"ring capacity {capacity} must be a power of two in "
                f"2..{1 << 24}")
        self.nbytes = sa_ring_bytes(capacity)
        # A file, not anonymous memory: after exec the launcher maps it
        # again by path (an inherited fd could have been closed by then).
        directory = _ring_dir()
        remove_stale_rings(directory)
        fd, self.path = tempfile.mkstemp(
            prefix=f"{RING_PREFIX}{os.getpid()}-", dir=directory)
        self.owner = os.getpid()
        cdef void *p
        try:
            os.ftruncate(fd, self.nbytes)
            p = mmap(NULL, self.nbytes, PROT_READ | PROT_WRITE, MAP_SHARED,
                     fd, 0)
        finally:
            os.close(fd)
        if p == MAP_FAILED:
            import errno as _errno
            self.unlink()
            raise_oserror(_errno.ENOMEM, "mmap(event ring)",
                          f"{self.nbytes} bytes")
        self.ring = <sa_ring *>p
        sa_ring_init(self.ring, capacity)
        self.ring.want_regs = 1 if regs else 0
        self.bufcap = 256
        self.buf = <sa_event *>malloc(self.bufcap * sizeof(sa_event))
        if self.buf == NULL:
            raise MemoryError()

    def __dealloc__(self):
        if self.buf != NULL:
            free(self.buf)
        if self.ring != NULL and not self.pinned():
            munmap(self.ring, self.nbytes)
            self.unlink()

    def unlink(self):
        """Remove the ring's file (the mapping stays).  Programs that exec
        after this fail to start (the launcher cannot map the ring).  Only
        the process that created the ring removes it."""
        if self.path and os.getpid() == self.owner:
            try:
                os.unlink(self.path)
            except FileNotFoundError:
                pass

    cdef bint pinned(self):
        if _pinned is None:
            return True  # interpreter shutdown: leave the mapping alone
        for r in _pinned:
            if r is self:
                return True
        return False

    @property
    def capacity(self):
        return self.ring.capacity

    def pending(self):
        """Events claimed and not yet drained (some may still be written)."""
        return sa_ring_pending(self.ring)

    def drain(self, size_t max_events=65536):
        """Copy out up to max_events published events, oldest first.

        Returns a list of tuples (seq, pid, tid, nr, arch, data, flags,
        args, ret, ip, time_ns, regs), regs being None without EV_REGS.
        """
        out = []
        cdef size_t n, i, want
        cdef sa_event *e
        while len(out) < max_events:
            want = min(self.bufcap, max_events - len(out))
            with nogil:
                n = sa_ring_drain(self.ring, self.buf, want)
            for i in range(n):
                e = &self.buf[i]
                out.append(event_tuple(e))
            if n < want:
                break
        return out

    def skip_stuck(self):
        """Skip one slot whose writer died before publishing it.

        Call only when every process that could write the ring is gone.
        Returns True if a slot was skipped (it is counted in ``lost``).
        """
        return bool(sa_ring_skip_stuck(self.ring))

    def wait(self, int timeout_ms):
        """Sleep until the ring is half full or timeout_ms passes."""
        with nogil:
            sa_ring_wait(self.ring, timeout_ms)

    @property
    def regs(self):
        """Whether events carry the post-syscall registers.  Settable: the
        flag lives in the shared ring, so every writer follows it."""
        return bool(self.ring.want_regs)

    @regs.setter
    def regs(self, bint on):
        self.ring.want_regs = 1 if on else 0

    def quiet_seen(self):
        """Numbers of the syscalls quiet (consumer) threads made, unreported."""
        return [w * 64 + b for w in range(16) for b in range(64)
                if (self.ring.quiet_seen[w] >> b) & 1]

    def seen(self):
        """Numbers of every syscall that trapped into a handler writing this
        ring, reported or not (dropped events included)."""
        return [w * 64 + b for w in range(16) for b in range(64)
                if (self.ring.seen[w] >> b) & 1]

    def counters(self):
        """The handler's counters, plus ``lost`` (see skip_stuck)."""
        c = &self.ring.counters
        return {
            "reported": c.reported, "dropped": c.dropped,
            "silenced": c.silenced, "quiet": c.quiet,
            "foreign": c.foreign, "refused": c.refused,
            "faults": c.faults, "wakeups": c.wakeups,
            "lost": self.ring.lost,
        }


def install_handler(Ring ring, bint vdso_clock, launcher=None):
    """Install the SIGSYS handler (once) and make ``ring`` the event ring.

    ``launcher`` is the path of the exec launcher; without it, exec under
    ACK is refused with ENOTSUP.
    """
    if not any(r is ring for r in _pinned):
        _pinned.append(ring)
    cdef bytes lpath = os.fsencode(launcher) if launcher else b""
    cdef bytes rpath = os.fsencode(ring.path)
    if len(lpath) >= 4096 or len(rpath) >= 4096:
        raise ValueError("launcher or ring path is 4096 bytes or longer")
    cdef int rc = sa_runtime_install(ring.ring, vdso_clock, lpath, rpath)
    if rc < 0:
        raise_oserror(-rc, "sigaction(SIGSYS)")


def register_cookie(unsigned cookie, unsigned data, bint silent=False):
    """Mark TRAP data ``cookie`` as an ACK report carrying ``data``; a
    ``silent`` cookie is emulated but never reported (guard rules)."""
    if not 0 < cookie <= 0xFFFF or data > 0xFFFF:
        raise ValueError(f"cookie {cookie:#x} / data {data:#x} out of range")
    sa_register_cookie(cookie, data, silent)


def set_silenced(unsigned nr, bint on):
    """Stop (on=True) or resume reporting syscall number ``nr``."""
    if nr >= 1024:
        raise ValueError(f"syscall number {nr} is out of range 0..1023")
    if sa_set_silenced(nr, on) < 0:
        raise RuntimeError("silence() needs the ACK runtime: no ring yet")


def set_quiet_thread(bint on):
    """Make the calling thread's syscalls unreported (the consumer's)."""
    sa_set_quiet_thread(on)


def trampoline_address():
    """The instruction pointer ACK filters allow re-issued syscalls from."""
    return sa_trampoline_address()


def set_no_new_privs():
    cdef long rc = sa_set_no_new_privs()
    if rc < 0:
        raise_oserror(-rc, "prctl(PR_SET_NO_NEW_PRIVS)")


def install_filter(bytes program, unsigned flags=0):
    """seccomp(SECCOMP_SET_MODE_FILTER, flags, program); needs no_new_privs.

    Returns nothing; raises SeccompOSError naming the operation.  With
    SECCOMP_FILTER_FLAG_TSYNC, a thread that could not be synchronized is
    reported by TID.
    """
    cdef Py_ssize_t n = len(program) // 8
    if len(program) % 8 or n == 0 or n > 0xFFFF:
        raise ValueError(
            f"program of {len(program)} bytes is not 1..65535 instructions")
    cdef const unsigned char[:] view = program
    cdef long rc
    with nogil:
        rc = sa_install_filter(&view[0], <unsigned>n, flags)
    if rc < 0:
        raise_oserror(-rc, "seccomp(SECCOMP_SET_MODE_FILTER)",
                      f"{n} instructions, flags {flags:#x}")
    if rc > 0:
        import errno as _errno
        raise_oserror(_errno.EAGAIN, "seccomp(SECCOMP_SET_MODE_FILTER)",
                      f"thread {rc} could not be synchronized (TSYNC)")
