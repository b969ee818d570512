/*
 * The trampoline: the one `syscall` instruction the ACK runtime re-issues
 * trapped syscalls through.
 *
 *   long sa_syscall6(long nr, long a0, long a1, long a2, long a3, long a4,
 *                    long a5);
 *
 * A compiled ACK branch allows a syscall whose seccomp_data
 * instruction_pointer equals sa_trampoline_ip, the address just after the
 * `syscall` below (the kernel reports the address of the next instruction).
 * Every syscall the runtime makes goes through here, so the runtime never
 * traps itself.  The label is hidden so no other object can interpose it.
 *
 * SysV calling convention in, kernel convention out: the fourth argument
 * moves from rcx to r10 (the `syscall` instruction clobbers rcx and r11),
 * the seventh C argument (a5) comes from the stack.
 */
	.text
	.globl	sa_syscall6
	.hidden	sa_syscall6
	.type	sa_syscall6, @function
	.globl	sa_trampoline_ip
	.hidden	sa_trampoline_ip
sa_syscall6:
	.cfi_startproc
	movq	%rdi, %rax
	movq	%rsi, %rdi
	movq	%rdx, %rsi
	movq	%rcx, %rdx
	movq	%r8, %r10
	movq	%r9, %r8
	movq	8(%rsp), %r9
	syscall
sa_trampoline_ip:
	ret
	.cfi_endproc
	.size	sa_syscall6, .-sa_syscall6

	.section .note.GNU-stack, "", @progbits
