/* SPDX-License-Identifier: MIT */
/*
 * Interrupt entry stubs, one per vector, each 16 bytes at
 * isr_stubs + 16 * vector. A stub pushes a dummy error code (for vectors
 * where the CPU pushes none), then the vector number, and jumps to
 * isr_common, which saves all 15 general-purpose registers (the layout of
 * struct isr_frame in idt.h), calls isr_dispatch(frame) on a 16-byte
 * aligned stack, restores the registers (a handler may have changed the
 * saved ones) and returns with iretq. Interrupt gates: IF is 0 inside.
 * No SSE state needs saving: the guest is built with -mgeneral-regs-only.
 */
	.text
	.code64

/* Vectors for which the CPU pushes an error code: 8, 10-14, 17, 21, 29, 30. */
	.set ERRCODE_MASK, (1 << 8) | (0x1f << 10) | (1 << 17) | (1 << 21) | (1 << 29) | (1 << 30)

	.balign 16
	.globl isr_stubs
isr_stubs:
	.set vec, 0
	.rept 256
	.org isr_stubs + vec * 16, 0xcc
	.if vec < 32
	.if ((ERRCODE_MASK >> vec) & 1) == 0
	pushq	$0
	.endif
	.else
	pushq	$0
	.endif
	pushq	$vec
	jmp	isr_common
	.set vec, vec + 1
	.endr
	.org isr_stubs + 256 * 16, 0xcc

isr_common:
	push	%rax
	push	%rcx
	push	%rdx
	push	%rbx
	push	%rbp
	push	%rsi
	push	%rdi
	push	%r8
	push	%r9
	push	%r10
	push	%r11
	push	%r12
	push	%r13
	push	%r14
	push	%r15
	cld
	mov	%rsp, %rdi		/* struct isr_frame * */
	mov	%rsp, %rbx		/* callee-saved: the unaligned rsp */
	and	$-16, %rsp
	call	isr_dispatch
	mov	%rbx, %rsp
	pop	%r15
	pop	%r14
	pop	%r13
	pop	%r12
	pop	%r11
	pop	%r10
	pop	%r9
	pop	%r8
	pop	%rdi
	pop	%rsi
	pop	%rbp
	pop	%rbx
	pop	%rdx
	pop	%rcx
	pop	%rax
	add	$16, %rsp		/* vector and error code */
	iretq

	.section .note.GNU-stack, "", @progbits
