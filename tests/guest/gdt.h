/* SPDX-License-Identifier: MIT */
#ifndef SQUIB_GUEST_GDT_H
#define SQUIB_GUEST_GDT_H

#define GDT_CODE_SELECTOR 0x08
#define GDT_DATA_SELECTOR 0x10
/* vCPU cpu's TSS: two GDT slots each, after the three fixed ones. */
#define GDT_TSS_SELECTOR(cpu) ((3u + 2u * (cpu)) * 8u)

/* Interrupt stack table entries each TSS carries (idt.c assigns them). */
#define GDT_IST_DF 1 /* double fault */
#define GDT_IST_PF 2 /* page fault */
#define GDT_IST_COUNT 2

/* Loads the guest's own GDT and reloads CS, DS, ES, SS. Before percpu_init. */
void gdt_load(void);

/* Fills vCPU cpu's TSS (its IST stacks) and loads it with ltr. Once per vCPU, after gdt_load. */
void gdt_load_tss(unsigned cpu);

#endif
