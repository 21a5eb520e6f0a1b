/* SPDX-License-Identifier: MIT */
/* Exceptions and interrupts inside the guest: int3, an unhandled #UD, the LAPIC timer. */
#include <criterion/criterion.h>
#include <string.h>

#include "tests/integration/harness.h"

TestSuite(exceptions, .fini = squib_teardown);
TestSuite(interrupts, .fini = squib_teardown);

Test(exceptions, int3_reaches_guest_handler)
{
	static struct squib_run r; /* outlives the test: squib_teardown runs after it */

	squib_run_init(&r);
	squib_run_guest(&r, 1, true, "int3");
	squib_assert_pass(&r);
	cr_assert(strstr(r.console, "ok int3-count\n"), "%s", squib_describe(&r));
	cr_assert(strstr(r.console, "ok int3-rip\n"), "%s", squib_describe(&r));
}

/* The guest's default handler reports #UD and exits with 100 + 6. */
Test(exceptions, unhandled_ud2_reported_by_guest)
{
	static struct squib_run r; /* outlives the test: squib_teardown runs after it */

	squib_run_init(&r);
	squib_run_guest(&r, 1, true, "fault");
	cr_assert_eq(r.status, 106, "%s", squib_describe(&r));
	cr_assert(strstr(r.console, "exception vector=6 rip=0x"), "%s", squib_describe(&r));
}

Test(interrupts, lapic_timer_periodic)
{
	static struct squib_run r; /* outlives the test: squib_teardown runs after it */

	squib_run_init(&r);
	squib_run_guest(&r, 1, true, "timer");
	squib_assert_pass(&r);
	cr_assert(strstr(r.console, "ok timer-ticks\n"), "%s", squib_describe(&r));
}
