/* SPDX-License-Identifier: MIT */
/* How a VM ends: triple fault, i8042 reset, PM1a power-off, testdev exit. */
#include <criterion/criterion.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "tests/lib/harness.h"

TestSuite(lifecycle, .fini = squib_teardown);

/*
 * A triple fault is not a reset the guest asked for: it has its own status
 * and message, and the faulting vCPU's state is logged (the guest loaded an
 * IDT with limit 0, so the dump must say so).
 */
Test(lifecycle, triple_fault_has_its_own_status_and_dump)
{
	static struct squib_run r; /* outlives the test: squib_teardown runs after it */

	squib_run_init(&r);
	squib_run_guest(&r, 1, false, "triple");
	cr_assert_eq(r.status, SQUIB_EXIT_GUEST_FAULT, "%s", squib_describe(&r));
	cr_assert(strstr(r.console, "triple: faulting\n"), "guest never ran\n%s", squib_describe(&r));
	cr_assert(strstr(r.err, "guest triple fault (vcpu0)"), "no triple-fault message\n%s", squib_describe(&r));
	cr_assert(!strstr(r.err, "guest reset"), "a triple fault reported as a reset\n%s", squib_describe(&r));
	cr_assert(log_has(r.err, "vcpu0", "triple fault: rip=0x"), "no register dump\n%s", squib_describe(&r));
	/* Intel keeps the guest's registers; KVM on AMD has reinitialised them by now, and says so. */
	cr_assert(strstr(r.err, " idt_limit=0x0 ") || strstr(r.err, "KVM reinitialised the registers at the shutdown"),
		  "the dump neither shows the empty IDT nor says the registers were reset\n%s", squib_describe(&r));
	cr_assert(log_has(r.err, "vcpu0", "triple fault: exception"), "no event dump\n%s", squib_describe(&r));
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

/* workload, vCPUs, testdev, status, console lines, stderr words */
SQUIB_CASE(lifecycle, pm1a_poweroff,
	   { "poweroff", 1, false, SQUIB_EXIT_OK, { "poweroff: writing" }, { "shutdown" } })

SQUIB_CASE(lifecycle, testdev_exit_status_passes_through, { "exit status=42", 1, true, 42, { NULL }, { NULL } })

SQUIB_CASE(lifecycle, unknown_workload_fails_in_guest,
	   { "no-such-workload", 1, true, 1, { "FAIL workload: unknown 'no-such-workload'" }, { NULL } })

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

/*
 * --on-reboot restart: each reset boots the VM again (the console file
 * keeps every boot's output); a signal still ends the whole thing, and no
 * process of any boot is left behind.
 */
Test(lifecycle, on_reboot_restart_boots_again)
{
	static struct squib_run r; /* outlives the test: squib_teardown runs after it */
	double deadline;

	squib_run_init(&r);
	squib_start_guest(&r, 1, false, "reset", "--on-reboot", "restart", NULL);
	deadline = now_s() + squib_timeout();
	while (now_s() < deadline) {
		char *c = slurp(r.console_path);
		size_t boots = c ? count_lines_containing(c, "reset: writing") : 0;

		free(c);
		if (boots >= 3)
			break;
		sleep_s(0.2);
	}
	cr_assert(kill(r.pid, SIGTERM) == 0, "the monitor ended by itself\n%s", squib_describe(&r));
	squib_finish(&r);
	cr_assert_geq(count_lines_containing(r.console, "reset: writing"), 3, "fewer than 3 boots\n%s",
		      squib_describe(&r));
	cr_assert_geq(count_lines_containing(r.err, "booting it again"), 2, "%s", squib_describe(&r));
	cr_assert_eq(r.status, 128 + SIGTERM, "%s", squib_describe(&r));
	cr_assert(kill(-r.pid, 0) < 0 && errno == ESRCH, "processes left behind\n%s", squib_describe(&r));
}

Test(lifecycle, on_reboot_exit_is_the_default)
{
	static struct squib_run r; /* outlives the test: squib_teardown runs after it */

	squib_run_init(&r);
	squib_start_guest(&r, 1, false, "reset", "--on-reboot", "exit", NULL);
	squib_finish(&r);
	cr_assert_eq(r.status, SQUIB_EXIT_OK, "%s", squib_describe(&r));
	cr_assert_eq(count_lines_containing(r.console, "reset: writing"), 1, "%s", squib_describe(&r));
	cr_assert(contains_ci(r.err, "--on-reboot exit"), "%s", squib_describe(&r));
}
