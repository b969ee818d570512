/* Classic-BPF simulator and seccomp validator.
 *
 * The validator mirrors the kernel's checks rule for rule, because its job
 * is to predict EINVAL from seccomp(SECCOMP_SET_MODE_FILTER) before the
 * kernel is asked.  The simulator mirrors what the kernel runs: the classic
 * program converted to 32-bit eBPF (bpf_convert_filter()), so its corner
 * cases are those of the conversion, not of the historical interpreter
 * (tests/test_program.py checks each against the running kernel):
 *
 * - A, X start at 0 (the conversion emits "A ^= A; X ^= X" first);
 * - division by X == 0 makes the whole filter return 0 (KILL_THREAD);
 * - shifts by X use the low 5 bits of X: the eBPF interpreter masks with
 *   31 and the x86-64 JIT uses the 32-bit SHL/SHR, which masks the same;
 * - comparisons are unsigned 32-bit (negative immediates are zero-extended
 *   through a temporary register by the conversion).
 *
 * Scratch memory starts at 0 here, but the validator rejects every program
 * that could read a word before writing it, so the value is never seen.
 */
#include "bpf_sim.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#define SECCOMP_DATA_SIZE ((uint32_t)sizeof(struct seccomp_data))

/* Write "instruction N: <text>" (or just <text> for the whole program). */
static int fail(char *msg, size_t msglen, int *index, int pc,
                const char *fmt, ...)
{
    size_t used = 0;
    va_list ap;

    if (index)
        *index = pc;
    if (!msg || msglen == 0)
        return -1;
    if (pc >= 0) {
        int w = snprintf(msg, msglen, "instruction %d: ", pc);
        used = (w > 0 && (size_t)w < msglen) ? (size_t)w : msglen - 1;
    }
    va_start(ap, fmt);
    vsnprintf(msg + used, msglen - used, fmt, ap);
    va_end(ap);
    return -1;
}

/* The opcodes seccomp_check_filter() lists; every other one is EINVAL,
 * including classic ones such as LD|H|ABS, LD|IND and ALU|MOD. */
static bool seccomp_allows(uint16_t code)
{
    switch (code) {
    case BPF_LD | BPF_W | BPF_ABS:
    case BPF_LD | BPF_W | BPF_LEN:
    case BPF_LDX | BPF_W | BPF_LEN:
    case BPF_LD | BPF_IMM:
    case BPF_LDX | BPF_IMM:
    case BPF_LD | BPF_MEM:
    case BPF_LDX | BPF_MEM:
    case BPF_ST:
    case BPF_STX:
    case BPF_ALU | BPF_ADD | BPF_K:
    case BPF_ALU | BPF_ADD | BPF_X:
    case BPF_ALU | BPF_SUB | BPF_K:
    case BPF_ALU | BPF_SUB | BPF_X:
    case BPF_ALU | BPF_MUL | BPF_K:
    case BPF_ALU | BPF_MUL | BPF_X:
    case BPF_ALU | BPF_DIV | BPF_K:
    case BPF_ALU | BPF_DIV | BPF_X:
    case BPF_ALU | BPF_AND | BPF_K:
    case BPF_ALU | BPF_AND | BPF_X:
    case BPF_ALU | BPF_OR | BPF_K:
    case BPF_ALU | BPF_OR | BPF_X:
    case BPF_ALU | BPF_XOR | BPF_K:
    case BPF_ALU | BPF_XOR | BPF_X:
    case BPF_ALU | BPF_LSH | BPF_K:
    case BPF_ALU | BPF_LSH | BPF_X:
    case BPF_ALU | BPF_RSH | BPF_K:
    case BPF_ALU | BPF_RSH | BPF_X:
    case BPF_ALU | BPF_NEG:
    case BPF_MISC | BPF_TAX:
    case BPF_MISC | BPF_TXA:
    case BPF_RET | BPF_K:
    case BPF_RET | BPF_A:
    case BPF_JMP | BPF_JA:
    case BPF_JMP | BPF_JEQ | BPF_K:
    case BPF_JMP | BPF_JEQ | BPF_X:
    case BPF_JMP | BPF_JGT | BPF_K:
    case BPF_JMP | BPF_JGT | BPF_X:
    case BPF_JMP | BPF_JGE | BPF_K:
    case BPF_JMP | BPF_JGE | BPF_X:
    case BPF_JMP | BPF_JSET | BPF_K:
    case BPF_JMP | BPF_JSET | BPF_X:
        return true;
    default:
        return false;
    }
}

static bool is_cond_jump(uint16_t code)
{
    return BPF_CLASS(code) == BPF_JMP && code != (BPF_JMP | BPF_JA);
}

/* check_load_and_stores(): one forward pass (jumps only go forward), with
 * a bit per scratch word that is stored on every path.  The kernel's pass
 * has a quirk kept here on purpose: after a RET the set is carried on to
 * the next instruction as if RET fell through, which can only reject more.
 */
static int check_memory(const struct sock_filter *prog, unsigned n,
                        char *msg, size_t msglen, int *index)
{
    uint16_t masks[BPF_MAXINSNS];
    uint16_t valid = 0;

    memset(masks, 0xff, n * sizeof(masks[0]));
    for (unsigned pc = 0; pc < n; pc++) {
        const struct sock_filter *f = &prog[pc];

        valid &= masks[pc];
        switch (f->code) {
        case BPF_ST:
        case BPF_STX:
            valid |= (uint16_t)(1u << f->k);
            break;
        case BPF_LD | BPF_MEM:
        case BPF_LDX | BPF_MEM:
            if (!(valid & (1u << f->k)))
                return fail(msg, msglen, index, (int)pc,
                            "load from scratch word M[%u], which is not "
                            "stored on every path that reaches it",
                            (unsigned)f->k);
            break;
        case BPF_JMP | BPF_JA:
            masks[pc + 1 + f->k] &= valid;
            valid = 0xffff;
            break;
        default:
            if (is_cond_jump(f->code)) {
                masks[pc + 1 + f->jt] &= valid;
                masks[pc + 1 + f->jf] &= valid;
                valid = 0xffff;
            }
            break;
        }
    }
    return 0;
}

int bpf_sim_check(const struct sock_filter *prog, unsigned n,
                  char *msg, size_t msglen, int *index)
{
    if (n == 0)
        return fail(msg, msglen, index, BPF_SIM_WHOLE_PROGRAM,
                    "the program has no instructions (a filter needs "
                    "1 to %d)", BPF_MAXINSNS);
    if (n > BPF_MAXINSNS)
        return fail(msg, msglen, index, BPF_SIM_WHOLE_PROGRAM,
                    "the program has %u instructions, more than the "
                    "kernel's limit of %d", n, BPF_MAXINSNS);

    for (unsigned pc = 0; pc < n; pc++) {
        const struct sock_filter *f = &prog[pc];
        /* Instructions left after this one; jumps must land among them. */
        uint32_t left = n - pc - 1;

        if (!seccomp_allows(f->code))
            return fail(msg, msglen, index, (int)pc,
                        "opcode 0x%04x is not allowed in seccomp filters",
                        (unsigned)f->code);
        switch (f->code) {
        case BPF_LD | BPF_W | BPF_ABS:
            if (f->k >= SECCOMP_DATA_SIZE || (f->k & 3))
                return fail(msg, msglen, index, (int)pc,
                            "load offset %u is not a 4-aligned offset "
                            "inside the %u-byte seccomp_data",
                            (unsigned)f->k, SECCOMP_DATA_SIZE);
            break;
        case BPF_ALU | BPF_DIV | BPF_K:
            if (f->k == 0)
                return fail(msg, msglen, index, (int)pc,
                            "division by constant 0");
            break;
        case BPF_ALU | BPF_LSH | BPF_K:
        case BPF_ALU | BPF_RSH | BPF_K:
            if (f->k >= 32)
                return fail(msg, msglen, index, (int)pc,
                            "shift by constant %u is out of range 0..31",
                            (unsigned)f->k);
            break;
        case BPF_LD | BPF_MEM:
        case BPF_LDX | BPF_MEM:
        case BPF_ST:
        case BPF_STX:
            if (f->k >= BPF_MEMWORDS)
                return fail(msg, msglen, index, (int)pc,
                            "scratch word index %u is out of range 0..%d",
                            (unsigned)f->k, BPF_MEMWORDS - 1);
            break;
        case BPF_JMP | BPF_JA:
            if (f->k >= left)
                return fail(msg, msglen, index, (int)pc,
                            "jump offset %u goes past the end of the "
                            "%u-instruction program",
                            (unsigned)f->k, n);
            break;
        default:
            if (is_cond_jump(f->code)) {
                if (f->jt >= left)
                    return fail(msg, msglen, index, (int)pc,
                                "true jump offset %u goes past the end of "
                                "the %u-instruction program",
                                (unsigned)f->jt, n);
                if (f->jf >= left)
                    return fail(msg, msglen, index, (int)pc,
                                "false jump offset %u goes past the end of "
                                "the %u-instruction program",
                                (unsigned)f->jf, n);
            }
            break;
        }
    }

    if (BPF_CLASS(prog[n - 1].code) != BPF_RET)
        return fail(msg, msglen, index, (int)(n - 1),
                    "the last instruction must be a return, not opcode "
                    "0x%04x", (unsigned)prog[n - 1].code);
    return check_memory(prog, n, msg, msglen, index);
}

uint32_t bpf_sim_run(const struct sock_filter *prog, unsigned n,
                     const struct seccomp_data *data)
{
    uint32_t a = 0, x = 0;
    uint32_t mem[BPF_MEMWORDS] = {0};
    unsigned char bytes[sizeof(struct seccomp_data)];

    /* Word loads are byte offsets into the structure. */
    memcpy(bytes, data, sizeof(bytes));

    for (unsigned pc = 0; pc < n; pc++) {
        const struct sock_filter *f = &prog[pc];
        uint32_t k = f->k;
        uint32_t src = (BPF_SRC(f->code) == BPF_X) ? x : k;

        switch (f->code) {
        case BPF_LD | BPF_W | BPF_ABS:
            if (k >= SECCOMP_DATA_SIZE || (k & 3))
                return 0;
            memcpy(&a, bytes + k, sizeof(a));
            break;
        case BPF_LD | BPF_W | BPF_LEN:
            a = SECCOMP_DATA_SIZE;
            break;
        case BPF_LDX | BPF_W | BPF_LEN:
            x = SECCOMP_DATA_SIZE;
            break;
        case BPF_LD | BPF_IMM:
            a = k;
            break;
        case BPF_LDX | BPF_IMM:
            x = k;
            break;
        /* Unchecked programs: an index past the scratch words is KILL. */
        case BPF_LD | BPF_MEM:
            if (k >= BPF_MEMWORDS)
                return 0;
            a = mem[k];
            break;
        case BPF_LDX | BPF_MEM:
            if (k >= BPF_MEMWORDS)
                return 0;
            x = mem[k];
            break;
        case BPF_ST:
            if (k >= BPF_MEMWORDS)
                return 0;
            mem[k] = a;
            break;
        case BPF_STX:
            if (k >= BPF_MEMWORDS)
                return 0;
            mem[k] = x;
            break;
        case BPF_ALU | BPF_ADD | BPF_K:
        case BPF_ALU | BPF_ADD | BPF_X:
            a += src;
            break;
        case BPF_ALU | BPF_SUB | BPF_K:
        case BPF_ALU | BPF_SUB | BPF_X:
            a -= src;
            break;
        case BPF_ALU | BPF_MUL | BPF_K:
        case BPF_ALU | BPF_MUL | BPF_X:
            a *= src;
            break;
        case BPF_ALU | BPF_DIV | BPF_K:
        case BPF_ALU | BPF_DIV | BPF_X:
            if (src == 0)
                return 0;  /* the converted program exits with 0 */
            a /= src;
            break;
        case BPF_ALU | BPF_AND | BPF_K:
        case BPF_ALU | BPF_AND | BPF_X:
            a &= src;
            break;
        case BPF_ALU | BPF_OR | BPF_K:
        case BPF_ALU | BPF_OR | BPF_X:
            a |= src;
            break;
        case BPF_ALU | BPF_XOR | BPF_K:
        case BPF_ALU | BPF_XOR | BPF_X:
            a ^= src;
            break;
        case BPF_ALU | BPF_LSH | BPF_K:
        case BPF_ALU | BPF_LSH | BPF_X:
            a <<= (src & 31);
            break;
        case BPF_ALU | BPF_RSH | BPF_K:
        case BPF_ALU | BPF_RSH | BPF_X:
            a >>= (src & 31);
            break;
        case BPF_ALU | BPF_NEG:
            a = 0u - a;
            break;
        case BPF_MISC | BPF_TAX:
            x = a;
            break;
        case BPF_MISC | BPF_TXA:
            a = x;
            break;
        case BPF_RET | BPF_K:
            return k;
        case BPF_RET | BPF_A:
            return a;
        case BPF_JMP | BPF_JA:
            /* Past the end ends the loop: KILL, as for any bad program. */
            if (k >= n - pc)
                return 0;
            pc += k;
            break;
        case BPF_JMP | BPF_JEQ | BPF_K:
        case BPF_JMP | BPF_JEQ | BPF_X:
            pc += (a == src) ? f->jt : f->jf;
            break;
        case BPF_JMP | BPF_JGT | BPF_K:
        case BPF_JMP | BPF_JGT | BPF_X:
            pc += (a > src) ? f->jt : f->jf;
            break;
        case BPF_JMP | BPF_JGE | BPF_K:
        case BPF_JMP | BPF_JGE | BPF_X:
            pc += (a >= src) ? f->jt : f->jf;
            break;
        case BPF_JMP | BPF_JSET | BPF_K:
        case BPF_JMP | BPF_JSET | BPF_X:
            pc += (a & src) ? f->jt : f->jf;
            break;
        default:
            /* An opcode seccomp rejects: an unchecked program kills. */
            return 0;
        }
    }
    return 0;
}
