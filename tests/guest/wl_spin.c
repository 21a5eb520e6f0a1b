/* SPDX-License-Identifier: MIT */
/*
 * spin: vCPU 0 prints `spinning` and then spins forever (pause, interrupts
 * off); the others halt. For tests that signal or kill workers.
 */
#include "guest.h"
#include "workloads.h"

void wl_spin(unsigned cpu)
{
	if (cpu != 0)
		return;
	kputs("spinning");
	for (;;)
		cpu_relax();
}
