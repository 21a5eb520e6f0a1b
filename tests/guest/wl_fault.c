/* SPDX-License-Identifier: MIT */
/*
 * fault: vCPU 0 prints `fault: ud2` and executes ud2 with the normal IDT:
 * the default handler prints `exception vector=6 rip=0x... error=0x0 cpu=0`
 * and exits through testdev with 106. Checks the guest's own exception path.
 *
 * stack-fault: vCPU 0 prints `stack-fault: pushing below 8 GiB` and moves
 * rsp to 8 GiB, outside the identity map, then pushes: the #PF cannot be
 * delivered on that stack, but #PF has an interrupt stack of its own
 * (gdt.c), so the default handler prints `exception vector=14 rip=0x...
 * rsp=0x200000000 ... cr2=0x1fffffff8` and exits with 114 instead of the
 * machine triple-faulting.
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

void wl_stack_fault(unsigned cpu)
{
	if (cpu != 0)
		return;
	kputs("stack-fault: pushing below 8 GiB");
	__asm__ __volatile__("mov %0, %%rsp\n\tpushq $0" : : "r"(0x200000000ull) : "memory");
	kputs("stack-fault: still running after the push");
}
