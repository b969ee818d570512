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
