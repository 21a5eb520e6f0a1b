/* SPDX-License-Identifier: MIT */
/* Several vCPUs: the demo guest and concurrent device access. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "tests/lib/harness.h"

TestSuite(smp, .fini = squib_teardown);

/* No --cmdline, no --testdev: the demo greets from each vCPU and powers off. */
Test(smp, demo_two_vcpus)
{
	static struct squib_run r; /* outlives the test: squib_teardown runs after it */

	squib_run_init(&r);
	squib_run_guest(&r, 2, false, NULL);
	cr_assert_eq(r.status, SQUIB_EXIT_OK, "%s", squib_describe(&r));
	cr_assert_eq(count_lines_containing(r.console, "hello from vCPU 0 of 2"), 1, "%s", squib_describe(&r));
	cr_assert_eq(count_lines_containing(r.console, "hello from vCPU 1 of 2"), 1, "%s", squib_describe(&r));
	cr_assert_eq(count_lines_containing(r.console, "hello from vCPU"), 2, "%s", squib_describe(&r));
	cr_assert(strstr(r.console, "demo: all 2 vCPUs greeted\n"), "%s", squib_describe(&r));
	cr_assert(contains_ci(r.err, "shutdown"), "stderr does not mention a shutdown\n%s",
		  squib_describe(&r));
}

SQUIB_CASE(smp, four_vcpus_use_devices_at_once,
	   { "smp", 4, true, SQUIB_EXPECT_PASS, { "vcpu 0 ok\n", "vcpu 1 ok\n", "vcpu 2 ok\n", "vcpu 3 ok\n" }, { NULL } })
