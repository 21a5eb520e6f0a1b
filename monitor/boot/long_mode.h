/* SPDX-License-Identifier: MIT */
/*
 * What every vCPU squib starts directly in 64-bit mode needs, shared by the
 * raw guest ABI (monitor/boot/raw_guest.c) and the Linux 64-bit boot protocol
 * (monitor/boot/bzimage.c, monitor/boot/linux_boot.c): identity page tables built in
 * guest RAM, and the registers of a CPU already in long mode.
 *
 * Page tables (guest-physical): PML4 at 0x1000, PDPT at 0x2000, four page
 * directories at 0x3000-0x6fff mapping 0-4 GiB (RAM and every device
 * window) with 2 MiB pages.
 */
#ifndef SQUIB_MONITOR_LONG_MODE_H
#define SQUIB_MONITOR_LONG_MODE_H

#include <stdint.h>

#include "common/compiler.h"
#include "common/guest_mem.h"

#define LONG_MODE_PML4_ADDR 0x1000ULL
#define LONG_MODE_PDPT_ADDR 0x2000ULL
#define LONG_MODE_PD_ADDR 0x3000ULL
#define LONG_MODE_PD_PAGES 4 /* 4 GiB of 2 MiB pages */
#define LONG_MODE_TABLES_END (LONG_MODE_PD_ADDR + LONG_MODE_PD_PAGES * 0x1000ULL)

/* GDT descriptors for a flat 64-bit code segment and a flat data segment. */
#define LONG_MODE_GDT_CODE64 0x00af9b000000ffffULL
#define LONG_MODE_GDT_DATA 0x00cf93000000ffffULL

/* Writes the identity page tables. 0, or -EFAULT when RAM is too small. */
int long_mode_write_page_tables(const struct guest_mem *mem) MUST_USE;

/* The entry state of a vCPU: segments from a GDT the caller wrote, and registers. */
struct long_mode_entry {
	uint64_t gdt_base;
	uint16_t gdt_limit;
	uint16_t cs_selector; /* a LONG_MODE_GDT_CODE64 descriptor */
	uint16_t ds_selector; /* a LONG_MODE_GDT_DATA descriptor, also ES, FS, GS, SS */
	uint64_t cr3;
	uint64_t rip, rsp;
	uint64_t rdi, rsi, rdx, rcx;
};

/*
 * Puts the vCPU in 64-bit mode (CR0 PE|MP|ET|NE|WP|PG, CR4 PAE|OSFXSR|
 * OSXMMEXCPT, EFER LME|LMA, IDTR empty, RFLAGS 0x2: interrupts off) with
 * e's segments and registers; every other general register is 0.
 * Preconditions: CPUID was set on the vCPU (KVM checks EFER.LME against
 * it) and the vCPU has not run. 0 or -errno from KVM_{GET,SET}_{S,}REGS.
 */
int long_mode_set_vcpu(int vcpu_fd, const struct long_mode_entry *e) MUST_USE;

#endif
