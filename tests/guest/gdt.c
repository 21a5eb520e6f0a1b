/* SPDX-License-Identifier: MIT */
/*
 * The guest's own GDT: null, 64-bit code (0x08), data (0x10), then one
 * 64-bit TSS descriptor per vCPU (16 bytes each, selector GDT_TSS_SELECTOR(cpu)).
 * Every vCPU loads the GDT first thing, so the guest does not depend on the
 * monitor's boot GDT at 0x500 staying intact (that page is ordinary RAM to
 * the guest), then its own TSS, whose interrupt stack table gives #DF and
 * #PF stacks of their own (idt.c): a fault on a broken stack is reported
 * with its registers instead of escalating to a silent triple fault.
 */
#include <stdint.h>

#include "gdt.h"
#include "guest.h"

#define GDT_FIXED 3
#define IST_STACK_SIZE 8192

/* The 64-bit TSS (Intel SDM vol. 3, 8.7). */
struct tss64 {
	uint32_t reserved0;
	uint64_t rsp[3];
	uint64_t reserved1;
	uint64_t ist[7];
	uint64_t reserved2;
	uint16_t reserved3;
	uint16_t iomap_base;
} __attribute__((packed));
_Static_assert(sizeof(struct tss64) == 104, "the 64-bit TSS is 104 bytes");

static uint64_t guest_gdt[GDT_FIXED + 2 * GUEST_MAX_CPUS] __attribute__((aligned(16))) = {
	0,
	0x00af9a000000ffffull, /* 0x08: present, DPL 0, execute/read, L=1 (64-bit) */
	0x00cf92000000ffffull, /* 0x10: present, DPL 0, read/write data */
};
static struct tss64 tss[GUEST_MAX_CPUS] __attribute__((aligned(16)));
static uint8_t ist_stacks[GUEST_MAX_CPUS][GDT_IST_COUNT][IST_STACK_SIZE] __attribute__((aligned(16)));

struct gdt_pointer {
	uint16_t limit;
	uint64_t base;
} __attribute__((packed));

/*
 * Loads the GDT, reloads DS/ES/SS with the data selector and CS with a far
 * return. FS and GS are left alone: loading a selector into GS would reset
 * the GS base that holds per-vCPU data, so call this before percpu_init.
 */
void gdt_load(void)
{
	struct gdt_pointer p = { sizeof(guest_gdt) - 1, (uint64_t)(uintptr_t)guest_gdt };

	__asm__ __volatile__("lgdt %0\n\t"
			     "mov %1, %%ax\n\t"
			     "mov %%ax, %%ds\n\t"
			     "mov %%ax, %%es\n\t"
			     "mov %%ax, %%ss\n\t"
			     "pushq %2\n\t"
			     "lea 1f(%%rip), %%rax\n\t"
			     "pushq %%rax\n\t"
			     "lretq\n"
			     "1:"
			     :
			     : "m"(p), "i"(GDT_DATA_SELECTOR), "i"(GDT_CODE_SELECTOR)
			     : "rax", "memory");
}

void gdt_load_tss(unsigned cpu)
{
	uint64_t base = (uint64_t)(uintptr_t)&tss[cpu];
	uint64_t limit = sizeof(struct tss64) - 1;
	uint16_t sel = (uint16_t)GDT_TSS_SELECTOR(cpu);

	for (unsigned i = 0; i < GDT_IST_COUNT; i++)
		tss[cpu].ist[i] = (uint64_t)(uintptr_t)&ist_stacks[cpu][i][IST_STACK_SIZE];
	tss[cpu].iomap_base = sizeof(struct tss64); /* no I/O bitmap */
	/* Type 9 (available 64-bit TSS), present, DPL 0; the base spans both halves. */
	guest_gdt[GDT_FIXED + 2 * cpu] = (limit & 0xffff) | ((base & 0xffffff) << 16) | (0x89ull << 40) |
					 (((limit >> 16) & 0xf) << 48) | (((base >> 24) & 0xff) << 56);
	guest_gdt[GDT_FIXED + 2 * cpu + 1] = base >> 32;
	__asm__ __volatile__("ltr %0" : : "r"(sel) : "memory");
}
