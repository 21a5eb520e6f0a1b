/* SPDX-License-Identifier: MIT */
/* exit status=N: vCPU 0 exits through testdev with N (default 0) at once. */
#include "cmdline.h"
#include "guest.h"
#include "testdev.h"
#include "workloads.h"

void wl_exit(unsigned cpu)
{
	if (cpu != 0)
		return;
	testdev_exit((unsigned)cmdline_get_u64("status", 0));
}
