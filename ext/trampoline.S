/*
 * long sa_syscall6(long nr, long a0, long a1, long a2, long a3, long a4,
 *                  long a5);
 *
 * Every syscall the runtime makes goes through the one `syscall`
 * instruction of the trampoline page, mapped at the fixed address
 * SA_TRAMPOLINE_PAGE (runtime.h) by sa_trampoline_map().  A compiled ACK
 * branch allows a syscall whose seccomp_data instruction_pointer is the
 * address just after that instruction (the kernel reports the address of
 * the next one), so the runtime never traps itself.
 *
 * SysV calling convention in, kernel convention out: the fourth argument
 * moves from rcx to r10, the seventh C argument (a5) comes from the stack.
 * r11 carries the page address: `syscall` clobbers it anyway.
 */
#define SA_TRAMPOLINE_PAGE 0x3ac000000000

	.text
	.globl	sa_syscall6
	.hidden	sa_syscall6
	.type	sa_syscall6, @function
sa_syscall6:
	.cfi_startproc
	movq	%rdi, %rax
	movq	%rsi, %rdi
	movq	%rdx, %rsi
	movq	%rcx, %rdx
	movq	%r8, %r10
	movq	%r9, %r8
	movq	8(%rsp), %r9
	movabsq	$SA_TRAMPOLINE_PAGE, %r11
	call	*%r11
	ret
	.cfi_endproc
	.size	sa_syscall6, .-sa_syscall6

/*
 * A child of a re-issued clone with a new stack starts at the trampoline's
 * `ret` with its stack pointer at a child frame (ack_core.h, core_clone);
 * that `ret` lands here.  Restore the application's registers, return 0
 * (the child's clone result) and return to the application's call site,
 * leaving the stack pointer where the application asked for it.
 */
	.globl	sa_clone_child
	.hidden	sa_clone_child
	.type	sa_clone_child, @function
sa_clone_child:
	popq	%r15
	popq	%r14
	popq	%r13
	popq	%r12
	popq	%rbp
	popq	%rbx
	popq	%r9
	popq	%r8
	popq	%r10
	popq	%rdx
	popq	%rsi
	popq	%rdi
	xorl	%eax, %eax
	ret
	.size	sa_clone_child, .-sa_clone_child

	.section .note.GNU-stack, "", @progbits
