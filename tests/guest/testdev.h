/* SPDX-License-Identifier: MIT */
/*
 * The testdev device (monitor flag --testdev), as seen from the guest:
 * exit port, hypercall doorbell, MMIO scratch slots and the PIO scratch.
 * Ports and addresses come from common/platform.h.
 */
#ifndef SQUIB_GUEST_TESTDEV_H
#define SQUIB_GUEST_TESTDEV_H

#include <stdint.h>

#include "common/platform.h"
#include "guest.h"

/* MMIO address of byte `offset` of the testdev window. */
#define TESTDEV_MMIO(offset) (TESTDEV_MMIO_BASE + (uint64_t)(offset))

/*
 * Ends the VM with `status` (the monitor exits with it). If the write does
 * not end the VM (no --testdev), says so on the console and parks.
 */
NORETURN void testdev_exit(unsigned status);

/*
 * Hypercall: rax = func, args in rdi, rsi, rdx, r10, r8, r9, then
 * `outb %al, $0xf5`. The monitor puts the result in rax and preserves every
 * other register, so rax is the only register operand written; "memory"
 * keeps surrounding memory accesses (and clock reads) in program order.
 */
static inline uint64_t hypercall6(uint64_t func, uint64_t a0, uint64_t a1, uint64_t a2,
				  uint64_t a3, uint64_t a4, uint64_t a5)
{
	register uint64_t r10 __asm__("r10") = a3;
	register uint64_t r8 __asm__("r8") = a4;
	register uint64_t r9 __asm__("r9") = a5;
	uint64_t rax = func;

	__asm__ __volatile__("outb %%al, %[port]"
			     : "+a"(rax)
			     : [port] "N"(TESTDEV_HYPERCALL_PORT), "D"(a0), "S"(a1), "d"(a2),
			       "r"(r10), "r"(r8), "r"(r9)
			     : "memory");
	return rax;
}

static inline uint64_t hypercall0(uint64_t func)
{
	return hypercall6(func, 0, 0, 0, 0, 0, 0);
}

/* Host CLOCK_MONOTONIC in nanoseconds (hypercall 2). */
static inline uint64_t testdev_clock_ns(void)
{
	return hypercall0(TESTDEV_HC_CLOCK);
}

#endif
