/* SPDX-License-Identifier: MIT */
/*
 * Ending the VM without testdev:
 *   triple    prints `triple: faulting`, loads an IDT with limit 0 and runs
 *             ud2: #UD -> #DF -> triple fault (the monitor reports it, status 5).
 *   reset     prints `reset: writing 0xfe to port 0x64` and resets (i8042).
 *   poweroff  prints `poweroff: writing PM1a` and powers off (PM1a S5).
 * vCPUs other than 0 halt. If the VM goes on, vCPU 0 says so and halts.
 */
#include "common/platform.h"
#include "guest.h"
#include "idt.h"
#include "io.h"
#include "workloads.h"

#define PM1A_SLP_TYP_S5 (5u << 10)

void wl_triple(unsigned cpu)
{
	if (cpu != 0)
		return;
	kputs("triple: faulting");
	idt_load_empty();
	__asm__ __volatile__("ud2" ::: "memory");
	kputs("triple: still running after ud2");
}

void wl_reset(unsigned cpu)
{
	if (cpu != 0)
		return;
	kputs("reset: writing 0xfe to port 0x64");
	outb(I8042_COMMAND_PORT, I8042_CMD_RESET);
	kputs("reset: had no effect");
}

void wl_poweroff(unsigned cpu)
{
	if (cpu != 0)
		return;
	kputs("poweroff: writing PM1a");
	outw(PM1A_CNT_PORT, PM1A_SLP_EN | PM1A_SLP_TYP_S5);
	kputs("poweroff: had no effect");
}
