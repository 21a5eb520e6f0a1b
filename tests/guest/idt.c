/* SPDX-License-Identifier: MIT */
/* The shared IDT, the default exception report and the handler table. */
#include "guest.h"
#include "gdt.h"
#include "idt.h"
#include "testdev.h"

struct idt_gate {
	uint16_t offset_low;
	uint16_t selector;
	uint8_t ist;
	uint8_t type_attr;
	uint16_t offset_mid;
	uint32_t offset_high;
	uint32_t reserved;
} __attribute__((packed));
_Static_assert(sizeof(struct idt_gate) == 16, "64-bit IDT gates are 16 bytes");

struct idt_ptr {
	uint16_t limit;
	uint64_t base;
} __attribute__((packed));

#define GATE_INTERRUPT_PRESENT 0x8e /* P=1, DPL=0, 64-bit interrupt gate */
#define ISR_STUB_SIZE 16

extern char isr_stubs[];
void isr_dispatch(struct isr_frame *frame);

static struct idt_gate idt[256] __attribute__((aligned(16)));
static isr_handler_t handlers[256];

static uint16_t read_cs(void)
{
	uint16_t cs;
	__asm__ __volatile__("mov %%cs, %0" : "=r"(cs));
	return cs;
}

void idt_init(void)
{
	uint16_t cs = read_cs(); /* the monitor's flat code segment (0x8) */

	for (unsigned v = 0; v < 256; v++) {
		uint64_t addr = (uint64_t)(uintptr_t)(isr_stubs + v * ISR_STUB_SIZE);

		idt[v].offset_low = (uint16_t)addr;
		idt[v].selector = cs;
		/* #DF and #PF on stacks of their own (gdt.c): reported even when the stack broke. */
		idt[v].ist = v == EXC_DF ? GDT_IST_DF : v == EXC_PF ? GDT_IST_PF : 0;
		idt[v].type_attr = GATE_INTERRUPT_PRESENT;
		idt[v].offset_mid = (uint16_t)(addr >> 16);
		idt[v].offset_high = (uint32_t)(addr >> 32);
		idt[v].reserved = 0;
	}
}

void idt_load(void)
{
	struct idt_ptr p = { .limit = sizeof(idt) - 1, .base = (uint64_t)(uintptr_t)idt };

	__asm__ __volatile__("lidt %0" : : "m"(p) : "memory");
}

void idt_load_empty(void)
{
	struct idt_ptr p = { .limit = 0, .base = 0 };

	__asm__ __volatile__("lidt %0" : : "m"(p) : "memory");
}

void idt_set_handler(unsigned vector, isr_handler_t handler)
{
	if (vector < 256)
		__atomic_store_n(&handlers[vector], handler, __ATOMIC_RELEASE);
}

void isr_dispatch(struct isr_frame *frame)
{
	unsigned vector = (unsigned)frame->vector;
	isr_handler_t h = vector < 256 ? __atomic_load_n(&handlers[vector], __ATOMIC_ACQUIRE) : 0;

	if (h) {
		h(frame);
		return;
	}
	if (vector < 32) {
		if (vector == EXC_PF || vector == EXC_DF)
			kprintf("exception vector=%u rip=0x%lx rsp=0x%lx error=0x%lx cr2=0x%lx cpu=%u\n", vector,
				frame->rip, frame->rsp, frame->error, read_cr2(), this_cpu());
		else
			kprintf("exception vector=%u rip=0x%lx rsp=0x%lx error=0x%lx cpu=%u\n", vector, frame->rip,
				frame->rsp, frame->error, this_cpu());
		testdev_exit(100 + vector);
	}
	kprintf("unexpected interrupt vector=%u rip=0x%lx cpu=%u\n", vector, frame->rip, this_cpu());
	testdev_exit(99);
}
