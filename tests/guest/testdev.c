/* SPDX-License-Identifier: MIT */
/* testdev exit, with a console note when the VM goes on (no --testdev). */
#include "io.h"
#include "testdev.h"

void testdev_exit(unsigned status)
{
	outb(TESTDEV_EXIT_PORT, (uint8_t)status);
	/*
	 * The write is posted: this vCPU runs on while testdev ends the VM. A
	 * hypercall waits for testdev's reply, which comes after the exit write
	 * was handled; if testdev answers, it is attached and the VM is ending,
	 * so stay quiet until the monitor stops this vCPU.
	 */
	if (hypercall0(TESTDEV_HC_SIGNATURE) == TESTDEV_SIGNATURE)
		park();
	kprintf("testdev: exit %u had no effect (no --testdev?)\n", status);
	park();
}
