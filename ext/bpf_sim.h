/* Classic-BPF simulator and seccomp validator (plain C, no Python).
 *
 * bpf_sim_check() accepts exactly the programs that the kernel accepts for
 * seccomp(SECCOMP_SET_MODE_FILTER): the union of bpf_check_basics_ok(),
 * bpf_check_classic() with check_load_and_stores() (net/core/filter.c) and
 * seccomp_check_filter() (kernel/seccomp.c).
 *
 * bpf_sim_run() runs a program that passed bpf_sim_check() against one
 * struct seccomp_data and returns the raw 32-bit filter return value.
 */
#ifndef SECCOMP_ACK_BPF_SIM_H
#define SECCOMP_ACK_BPF_SIM_H

#include <stddef.h>
#include <stdint.h>

#include <linux/filter.h>
#include <linux/seccomp.h>

/* Index reported by bpf_sim_check() for errors about the whole program. */
#define BPF_SIM_WHOLE_PROGRAM (-1)

/* Return 0 if the kernel would accept the program, -1 if not.  On -1,
 * write a sentence naming the bad value into msg (NUL-terminated, at most
 * msglen bytes) and the offending instruction index into *index
 * (BPF_SIM_WHOLE_PROGRAM for a bad length). */
int bpf_sim_check(const struct sock_filter *prog, unsigned n,
                  char *msg, size_t msglen, int *index);

/* Run a checked program.  A program that did not pass bpf_sim_check() does
 * not crash the simulator: any out-of-bounds access returns 0 (KILL). */
uint32_t bpf_sim_run(const struct sock_filter *prog, unsigned n,
                     const struct seccomp_data *data);

#endif
