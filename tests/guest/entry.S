/* SPDX-License-Identifier: MIT */
/*
 * Entry of the raw test guest: every vCPU starts here, simultaneously, in
 * 64-bit mode with interrupts off (README "Raw guest ABI"):
 *   rdi = vCPU index, rsi = number of vCPUs, rdx = RAM size in bytes,
 *   rcx = guest-physical address of the NUL-terminated cmdline (0: none),
 *   rsp = top of a 16 KiB stack private to this vCPU.
 *
 * Start-up: vCPU 0 zeroes .bss and then opens boot_gate (in .data, so it is
 * 0 in the loaded image, never in .bss); the other vCPUs spin on the gate
 * and touch nothing else before it opens. Then every vCPU calls
 *   guest_main(cpu, ncpus, ramsize, cmdline)
 * with rsp % 16 == 8 at its first instruction, as the SysV ABI wants.
 */
	.section .text.entry, "ax", @progbits
	.code64
	.globl _start
	.type _start, @function
_start:
	cli
	cld
	/* Keep the ABI registers in callee-saved registers across the set-up. */
	mov	%rdi, %r12
	mov	%rsi, %r13
	mov	%rdx, %r14
	mov	%rcx, %r15
	and	$-16, %rsp
	xor	%ebp, %ebp
	test	%r12, %r12
	jnz	2f

	/* vCPU 0: zero .bss, then open the gate. */
	lea	__bss_start(%rip), %rdi
	lea	__bss_end(%rip), %rcx
	sub	%rdi, %rcx
	xor	%eax, %eax
	rep stosb
	/* xchg is a locked, fully ordered store: the zeroes are visible first. */
	mov	$1, %eax
	xchg	%eax, boot_gate(%rip)
	jmp	3f

	/* Other vCPUs: wait for the gate. */
2:	pause
	cmpl	$1, boot_gate(%rip)
	jne	2b

3:	mov	%r12, %rdi
	mov	%r13, %rsi
	mov	%r14, %rdx
	mov	%r15, %rcx
	call	guest_main
	/* guest_main does not return; park if it ever does. */
4:	cli
	hlt
	jmp	4b
	.size _start, . - _start

	.section .data
	.balign 64
	.globl boot_gate
	.type boot_gate, @object
boot_gate:
	.long 0
	.size boot_gate, 4

	.section .note.GNU-stack, "", @progbits
