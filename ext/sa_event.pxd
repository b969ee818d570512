# The event record shared by the ACK runtime and the tracers (runtime.h).

from libc.stdint cimport int32_t, int64_t, uint32_t, uint64_t


cdef extern from "runtime.h" nogil:
    enum:
        SA_NREGS
        SA_EV_REGS
        SA_EV_NORETURN
        SA_EV_REFUSED
        SA_EV_EMULATED
        SA_EV_BEFORE

    struct sa_event:
        uint64_t seq
        int32_t pid
        int32_t tid
        int32_t nr
        uint32_t arch
        uint32_t data
        uint32_t flags
        uint64_t args[6]
        int64_t ret
        uint64_t ip
        uint64_t time_ns
        uint64_t regs[23]


cdef inline tuple event_tuple(const sa_event *e):
    """The event as Python sees it (seccomp_ack.runtime.Event's fields):
    (seq, pid, tid, nr, arch, data, flags, args, ret, ip, time_ns, regs),
    regs None unless SA_EV_REGS."""
    return (e.seq, e.pid, e.tid, e.nr, e.arch, e.data, e.flags,
            (e.args[0], e.args[1], e.args[2], e.args[3], e.args[4],
             e.args[5]),
            e.ret, e.ip, e.time_ns,
            tuple([e.regs[j] for j in range(SA_NREGS)])
            if e.flags & SA_EV_REGS else None)
