/* SPDX-License-Identifier: MIT */
/*
 * The guest's own GDT: null, 64-bit code (0x08), data (0x10). Every vCPU
 * loads it first thing, so the guest does not depend on the monitor's boot
 * GDT at 0x500 staying intact (that page is ordinary RAM to the guest).
 */
#include <stdint.h>

#include "gdt.h"

static const uint64_t guest_gdt[3] __attribute__((aligned(16))) = {
	0,
	0x00af9a000000ffffull, /* 0x08: present, DPL 0, execute/read, L=1 (64-bit) */
	0x00cf92000000ffffull, /* 0x10: present, DPL 0, read/write data */
};

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
