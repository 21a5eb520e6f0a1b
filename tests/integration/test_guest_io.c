/* SPDX-License-Identifier: MIT */
/*
 * Guest I/O paths: COM1 output, port I/O and MMIO on testdev, hypercalls.
 * The test guest checks values itself (ok/FAIL lines, PASS, exit status);
 * these tests check the status and the console.
 */
#include <criterion/criterion.h>

#include "tests/lib/harness.h"

TestSuite(guest_io, .fini = squib_teardown);
TestSuite(hypercall, .fini = squib_teardown);

/* workload, vCPUs, testdev, status, console lines (the guest's own checks are its ok lines) */
SQUIB_CASE(guest_io, serial_hello, { "serial", 1, true, SQUIB_EXIT_OK, { "hello\n" }, { NULL } })
/* rep outsb to COM1 reaches the console */
SQUIB_CASE(guest_io, pio, { "pio", 1, true, SQUIB_EXPECT_PASS, { "string-io\n", "ok pio-insb\n", "ok pio-outsl\n" }, { NULL } })
SQUIB_CASE(guest_io, mmio,
	   { "mmio", 1, true, SQUIB_EXPECT_PASS,
	     { "ok mmio-x-b7\n", "ok mmio-counter-step\n", "ok mmio-counter-ro\n" }, { NULL } })
/* ok hc-regs: the registers a hypercall does not return are preserved */
SQUIB_CASE(hypercall, functions_and_registers,
	   { "hypercall", 1, true, SQUIB_EXPECT_PASS,
	     { "ok hc-signature\n", "ok hc-sum-wrap\n", "ok hc-unknown\n", "ok hc-regs\n" }, { NULL } })
