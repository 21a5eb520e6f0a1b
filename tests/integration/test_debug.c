/* SPDX-License-Identifier: MIT */
/* --single-step N: the monitor logs N steps (`step pc=0x...`) and the guest still ends normally. */
#include <criterion/criterion.h>

#include "tests/integration/harness.h"

TestSuite(debug, .fini = squib_teardown);

Test(debug, single_step_logs_each_step)
{
	static struct squib_run r; /* outlives the test: squib_teardown runs after it */

	squib_run_init(&r);
	squib_start_guest(&r, 1, true, "step", "--single-step", "5", NULL);
	squib_finish(&r);
	cr_assert_eq(r.status, SQUIB_EXIT_OK, "%s", squib_describe(&r));
	cr_assert_eq(count_lines_containing(r.err, "step pc=0x"), 5, "expected 5 'step pc=0x' lines\n%s",
		     squib_describe(&r));
}
