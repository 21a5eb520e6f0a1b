/* SPDX-License-Identifier: MIT */
/* serial: vCPU 0 prints `hello` and exits through testdev with 0. */
#include "guest.h"
#include "testdev.h"
#include "workloads.h"

void wl_serial(unsigned cpu)
{
	if (cpu != 0)
		return;
	kputs("hello");
	testdev_exit(0);
}
