"""Classic BPF opcodes and the seccomp_data layout (linux/filter.h, bpf_common.h)."""

# Instruction classes.
LD, LDX, ST, STX, ALU, JMP, RET, MISC = 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07
# ld/ldx sizes and modes.
W, H, B = 0x00, 0x08, 0x10
IMM, ABS, IND, MEM, LEN, MSH = 0x00, 0x20, 0x40, 0x60, 0x80, 0xA0
# alu/jmp operations.
ADD, SUB, MUL, DIV, OR, AND, LSH, RSH, NEG, MOD, XOR = (
    0x00, 0x10, 0x20, 0x30, 0x40, 0x50, 0x60, 0x70, 0x80, 0x90, 0xA0)
JA, JEQ, JGT, JGE, JSET = 0x00, 0x10, 0x20, 0x30, 0x40
# Operand source.
K, X = 0x00, 0x08
# ret source.
A = 0x10
# misc.
TAX, TXA = 0x00, 0x80

#: Scratch memory words (BPF_MEMWORDS).
MEMWORDS = 16
#: Largest program one filter may hold (BPF_MAXINSNS).
MAXINSNS = 4096
#: Instructions allowed over all stacked filters, plus 4 per filter
#: (MAX_INSNS_PER_PATH in kernel/seccomp.c).
MAX_INSNS_PER_PATH = 32768

# struct seccomp_data { int nr; __u32 arch; __u64 instruction_pointer;
#                       __u64 args[6]; }
SECCOMP_DATA_SIZE = 64
OFF_NR = 0
OFF_ARCH = 4
OFF_IP_LO = 8
OFF_IP_HI = 12


def off_arg_lo(index: int) -> int:
    """Offset of the low 32 bits of args[index] (little-endian ABIs)."""
    return 16 + 8 * index


def off_arg_hi(index: int) -> int:
    """Offset of the high 32 bits of args[index] (little-endian ABIs)."""
    return 16 + 8 * index + 4
