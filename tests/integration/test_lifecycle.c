/* SPDX-License-Identifier: MIT */
/* How a VM ends: triple fault, i8042 reset, PM1a power-off, testdev exit. */
#include <criterion/criterion.h>
#include <string.h>

#include "tests/integration/harness.h"

TestSuite(lifecycle, .fini = squib_teardown);

Test(lifecycle, triple_fault_is_a_reset)
{
	static struct squib_run r; /* outlives the test: squib_teardown runs after it */

	squib_run_init(&r);
	squib_run_guest(&r, 1, false, "triple");
	cr_assert_eq(r.status, SQUIB_EXIT_OK, "%s", squib_describe(&r));
	cr_assert(strstr(r.console, "triple: faulting\n"), "guest never ran\n%s", squib_describe(&r));
	cr_assert(contains_ci(r.err, "reset"), "stderr does not mention a reset\n%s", squib_describe(&r));
}

Test(lifecycle, i8042_reset)
{
	static struct squib_run r; /* outlives the test: squib_teardown runs after it */

	squib_run_init(&r);
	squib_run_guest(&r, 1, false, "reset");
	cr_assert_eq(r.status, SQUIB_EXIT_OK, "%s", squib_describe(&r));
	cr_assert(strstr(r.console, "reset: writing"), "guest never ran\n%s", squib_describe(&r));
	cr_assert(!strstr(r.console, "reset: had no effect"), "%s", squib_describe(&r));
	cr_assert(contains_ci(r.err, "reset"), "stderr does not mention a reset\n%s", squib_describe(&r));
}

Test(lifecycle, pm1a_poweroff)
{
	static struct squib_run r; /* outlives the test: squib_teardown runs after it */

	squib_run_init(&r);
	squib_run_guest(&r, 1, false, "poweroff");
	cr_assert_eq(r.status, SQUIB_EXIT_OK, "%s", squib_describe(&r));
	cr_assert(strstr(r.console, "poweroff: writing"), "guest never ran\n%s", squib_describe(&r));
	cr_assert(contains_ci(r.err, "shutdown"), "stderr does not mention a shutdown\n%s",
		  squib_describe(&r));
}

Test(lifecycle, testdev_exit_status_passes_through)
{
	static struct squib_run r; /* outlives the test: squib_teardown runs after it */

	squib_run_init(&r);
	squib_run_guest(&r, 1, true, "exit status=42");
	cr_assert_eq(r.status, 42, "%s", squib_describe(&r));
	cr_assert_eq(r.signal, 0, "%s", squib_describe(&r));
}

Test(lifecycle, unknown_workload_fails_in_guest)
{
	static struct squib_run r; /* outlives the test: squib_teardown runs after it */

	squib_run_init(&r);
	squib_run_guest(&r, 1, true, "no-such-workload");
	cr_assert_eq(r.status, 1, "%s", squib_describe(&r));
	cr_assert(strstr(r.console, "FAIL workload: unknown 'no-such-workload'"), "%s", squib_describe(&r));
}

/* `start` without --kernel boots the demo guest embedded in the monitor. */
Test(lifecycle, embedded_demo_guest)
{
	static struct squib_run r; /* outlives the test: squib_teardown runs after it */
	const char *args[] = { "start", "--cpus", "2", "--console", NULL, NULL };

	squib_run_init(&r);
	args[4] = r.console_path;
	squib_start(&r, args);
	squib_finish(&r);
	cr_assert_eq(r.status, SQUIB_EXIT_OK, "%s", squib_describe(&r));
	cr_assert(strstr(r.console, "demo: all 2 vCPUs greeted\n"), "%s", squib_describe(&r));
}
