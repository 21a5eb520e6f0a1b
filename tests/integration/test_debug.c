/* SPDX-License-Identifier: MIT */
/*
 * Debugging aids: --single-step N logs N steps (`step pc=0x...`) and the
 * guest still ends normally; SIGUSR1 makes the monitor log every vCPU's and
 * every device's state and keep running.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "tests/lib/harness.h"

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

/* A log line: whose, and how its message starts. */
struct log_needle {
	const char *who;
	const char *msg;
};

/* True once the monitor's stderr holds every needle (stderr is read as the run goes). */
static bool err_has_all(struct squib_run *r, const struct log_needle *needles, size_t n, double timeout_s)
{
	double deadline = now_s() + timeout_s;

	for (;;) {
		char *err = slurp(r->err_path);
		bool all = err != NULL;

		for (size_t i = 0; all && i < n; i++)
			all = log_has(err, needles[i].who, needles[i].msg);
		free(err);
		if (all)
			return true;
		if (now_s() >= deadline)
			return false;
		sleep_s(0.05);
	}
}

Test(debug, sigusr1_dumps_every_vcpu_and_device_and_the_vm_runs_on)
{
	static struct squib_run r; /* outlives the test: squib_teardown runs after it */
	static const struct log_needle needles[] = {
		{ "monitor", "state dump requested (SIGUSR1)" },
		{ "vcpu0", "state dump: rip=0x" }, /* spinning with interrupts off */
		{ "vcpu1", "state dump: rip=0x" }, /* halted inside KVM */
		{ "vcpu1", "state dump: cr0=0x" },
		{ "vcpu1", "state dump: exception" },
		{ "dev-uart", "state dump: uart ier" },
		{ "dev-rng0", "state dump: status 0 " },
		{ "dev-rng0", "state dump: queue 0 not ready" },
	};

	squib_run_init(&r);
	squib_start_guest(&r, 2, true, "spin", "--rng", NULL);
	cr_assert(squib_wait_console(&r, "spinning\n", squib_timeout()), "guest did not start spinning\n%s",
		  squib_describe(&r));
	cr_assert_eq(kill(r.pid, SIGUSR1), 0, "kill: monitor already gone\n%s", squib_describe(&r));
	cr_assert(err_has_all(&r, needles, sizeof(needles) / sizeof(needles[0]), squib_timeout()),
		  "the state dump is incomplete\n%s", squib_describe(&r));
	sleep_s(0.5);
	cr_assert_eq(kill(r.pid, SIGTERM), 0, "the monitor ended after the dump\n%s", squib_describe(&r));
	squib_finish(&r);
	cr_assert_eq(r.status, 128 + SIGTERM, "expected status 143 after SIGTERM\n%s", squib_describe(&r));
}
