/* SPDX-License-Identifier: MIT */
/*
 * void hypercall_regs_snapshot(uint64_t out[HC_SNAP_COUNT])
 *
 * Loads known patterns into every general-purpose register but rsp
 * (rbx, rbp, r12-r15, the six argument registers, rcx and r11), makes
 * hypercall 1 (sum of the six arguments) and stores, right after the
 * `outb`, the registers into out[] in this order:
 *   0 rax, 1 rbx, 2 rbp, 3 r12, 4 r13, 5 r14, 6 r15,
 *   7 rdi, 8 rsi, 9 rdx, 10 r10, 11 r8, 12 r9, 13 rcx, 14 r11
 * The expected values are in hypercall_regs.h. Restores the callee-saved
 * registers before returning; calls nothing, so no alignment concerns.
 */
#include "hypercall_regs.h"

	.text
	.code64
	.globl hypercall_regs_snapshot
	.type hypercall_regs_snapshot, @function
hypercall_regs_snapshot:
	push	%rbx
	push	%rbp
	push	%r12
	push	%r13
	push	%r14
	push	%r15
	push	%rdi			/* out */

	movabs	$HC_PAT_RBX, %rbx
	movabs	$HC_PAT_RBP, %rbp
	movabs	$HC_PAT_R12, %r12
	movabs	$HC_PAT_R13, %r13
	movabs	$HC_PAT_R14, %r14
	movabs	$HC_PAT_R15, %r15
	movabs	$HC_PAT_RDI, %rdi
	movabs	$HC_PAT_RSI, %rsi
	movabs	$HC_PAT_RDX, %rdx
	movabs	$HC_PAT_R10, %r10
	movabs	$HC_PAT_R8, %r8
	movabs	$HC_PAT_R9, %r9
	movabs	$HC_PAT_RCX, %rcx
	movabs	$HC_PAT_R11, %r11
	mov	$1, %eax		/* TESTDEV_HC_SUM */
	outb	%al, $0xf5		/* TESTDEV_HYPERCALL_PORT */

	/* Stack them so that out[0] ends up at the lowest address. */
	push	%r11
	push	%rcx
	push	%r9
	push	%r8
	push	%r10
	push	%rdx
	push	%rsi
	push	%rdi
	push	%r15
	push	%r14
	push	%r13
	push	%r12
	push	%rbp
	push	%rbx
	push	%rax
	mov	HC_SNAP_COUNT * 8(%rsp), %rdi	/* out */
	mov	%rsp, %rsi
	mov	$HC_SNAP_COUNT, %ecx
	rep movsq
	add	$(HC_SNAP_COUNT + 1) * 8, %rsp

	pop	%r15
	pop	%r14
	pop	%r13
	pop	%r12
	pop	%rbp
	pop	%rbx
	ret
	.size hypercall_regs_snapshot, . - hypercall_regs_snapshot

	.section .note.GNU-stack, "", @progbits
