/* SPDX-License-Identifier: MIT */
/*
 * demo (also the workload when the command line is absent or blank): every
 * vCPU greets, vCPU 0 waits for all greetings, then powers the VM off
 * through PM1a (no testdev needed).
 *   hello from vCPU <i> of <n>        (one line per vCPU, any order)
 *   demo: all <n> vCPUs greeted       (vCPU 0, last)
 */
#include "common/platform.h"
#include "guest.h"
#include "io.h"
#include "workloads.h"

#define PM1A_SLP_TYP_S5 (5u << 10)

static uint32_t greeted;

void wl_demo(unsigned cpu)
{
	kprintf("hello from vCPU %u of %lu\n", cpu, boot.ncpus);
	atomic_inc32(&greeted);
	if (cpu != 0)
		return;
	wait_until_at_least(&greeted, (uint32_t)boot.ncpus_used);
	kprintf("demo: all %lu vCPUs greeted\n", boot.ncpus);
	outw(PM1A_CNT_PORT, PM1A_SLP_EN | PM1A_SLP_TYP_S5);
	kputs("demo: power-off had no effect");
}
