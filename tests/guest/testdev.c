/* SPDX-License-Identifier: MIT */
/* testdev exit, with a console note when the VM goes on (no --testdev). */
#include "io.h"
#include "testdev.h"

void testdev_exit(unsigned status)
{
	outb(TESTDEV_EXIT_PORT, (uint8_t)status);
	/* Still here: the write was dropped, testdev is not attached. */
	kprintf("testdev: exit %u had no effect (no --testdev?)\n", status);
	park();
}
