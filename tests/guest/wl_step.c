/* SPDX-License-Identifier: MIT */
/*
 * step: vCPU 0 runs 20 nops and exits through testdev with 0, printing
 * nothing (for --single-step N). The others halt.
 */
#include "guest.h"
#include "testdev.h"
#include "workloads.h"

void wl_step(unsigned cpu)
{
	if (cpu != 0)
		return;
	__asm__ __volatile__(".rept 20\n\tnop\n\t.endr" ::: "memory");
	testdev_exit(0);
}
