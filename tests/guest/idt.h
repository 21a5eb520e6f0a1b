/* SPDX-License-Identifier: MIT */
/*
 * Interrupt descriptor table: 256 interrupt gates into the stubs of isr.S,
 * which save every general-purpose register and call a C handler with the
 * frame below. Vectors 0-31 without a handler report
 * `exception vector=V rip=0x... error=0x...` and exit through testdev with
 * 100 + V; other vectors without a handler report
 * `unexpected interrupt vector=V rip=0x...` and exit with 99.
 */
#ifndef SQUIB_GUEST_IDT_H
#define SQUIB_GUEST_IDT_H

#include <stdint.h>

/* Saved by isr.S; the lowest address first. A handler may change it (rip). */
struct isr_frame {
	uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
	uint64_t rdi, rsi, rbp, rbx, rdx, rcx, rax;
	uint64_t vector;
	uint64_t error; /* 0 for vectors that push no error code */
	/* pushed by the CPU */
	uint64_t rip, cs, rflags, rsp, ss;
};
_Static_assert(sizeof(struct isr_frame) == 22 * 8, "isr.S pushes 22 quadwords");

typedef void (*isr_handler_t)(struct isr_frame *frame);

#define EXC_DE 0
#define EXC_DB 1
#define EXC_BP 3
#define EXC_UD 6
#define EXC_DF 8
#define EXC_GP 13
#define EXC_PF 14
#define VECTOR_TIMER 0x40
#define VECTOR_UART 0x44 /* COM1, IOAPIC pin 4 */
#define VECTOR_SPURIOUS 0xff

/* vCPU 0, once: fills the shared table. */
void idt_init(void);
/* Every vCPU: lidt of the shared table. */
void idt_load(void);
/* Installs (or, with NULL, removes) the handler of a vector. */
void idt_set_handler(unsigned vector, isr_handler_t handler);
/* Loads an IDT with limit 0: the next exception becomes a triple fault. */
void idt_load_empty(void);

#endif
