/* SPDX-License-Identifier: MIT */
/*
 * fault: vCPU 0 prints `fault: ud2` and executes ud2 with the normal IDT:
 * the default handler prints `exception vector=6 rip=0x... error=0x0 cpu=0`
 * and exits through testdev with 106. Checks the guest's own exception path.
 */
#include "guest.h"
#include "workloads.h"

void wl_fault(unsigned cpu)
{
	if (cpu != 0)
		return;
	kputs("fault: ud2");
	__asm__ __volatile__("ud2" ::: "memory");
	kputs("fault: still running after ud2");
}
