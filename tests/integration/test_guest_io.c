/* SPDX-License-Identifier: MIT */
/*
 * Guest I/O paths: COM1 output, port I/O and MMIO on testdev, hypercalls.
 * The test guest checks values itself (ok/FAIL lines, PASS, exit status);
 * these tests check the status and the console.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "tests/integration/harness.h"

TestSuite(guest_io, .fini = squib_teardown);
TestSuite(hypercall, .fini = squib_teardown);

Test(guest_io, serial_hello)
{
	static struct squib_run r; /* outlives the test: squib_teardown runs after it */

	squib_run_init(&r);
	squib_run_guest(&r, 1, true, "serial");
	cr_assert_eq(r.status, SQUIB_EXIT_OK, "%s", squib_describe(&r));
	cr_assert(strstr(r.console, "hello\n"), "no 'hello' line on the console\n%s", squib_describe(&r));
}

Test(guest_io, pio)
{
	static struct squib_run r; /* outlives the test: squib_teardown runs after it */

	squib_run_init(&r);
	squib_run_guest(&r, 1, true, "pio");
	squib_assert_pass(&r);
	/* rep outsb to COM1 reaches the console */
	cr_assert(strstr(r.console, "string-io\n"), "rep outsb output missing\n%s", squib_describe(&r));
	cr_assert(strstr(r.console, "ok pio-insb\n"), "%s", squib_describe(&r));
	cr_assert(strstr(r.console, "ok pio-outsl\n"), "%s", squib_describe(&r));
}

Test(guest_io, mmio)
{
	static struct squib_run r; /* outlives the test: squib_teardown runs after it */

	squib_run_init(&r);
	squib_run_guest(&r, 1, true, "mmio");
	squib_assert_pass(&r);
	cr_assert(strstr(r.console, "ok mmio-x-b7\n"), "%s", squib_describe(&r));
	cr_assert(strstr(r.console, "ok mmio-counter-step\n"), "%s", squib_describe(&r));
	cr_assert(strstr(r.console, "ok mmio-counter-ro\n"), "%s", squib_describe(&r));
}

Test(hypercall, functions_and_registers)
{
	static struct squib_run r; /* outlives the test: squib_teardown runs after it */

	squib_run_init(&r);
	squib_run_guest(&r, 1, true, "hypercall");
	squib_assert_pass(&r);
	cr_assert(strstr(r.console, "ok hc-signature\n"), "%s", squib_describe(&r));
	cr_assert(strstr(r.console, "ok hc-sum-wrap\n"), "%s", squib_describe(&r));
	cr_assert(strstr(r.console, "ok hc-unknown\n"), "%s", squib_describe(&r));
	cr_assert(strstr(r.console, "ok hc-regs\n"), "registers not preserved\n%s", squib_describe(&r));
}
