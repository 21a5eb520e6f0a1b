/* SPDX-License-Identifier: MIT */
/* Exceptions and interrupts inside the guest: int3, an unhandled #UD, the LAPIC timer. */
#include <criterion/criterion.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/lib/harness.h"

TestSuite(exceptions, .fini = squib_teardown);
TestSuite(interrupts, .fini = squib_teardown);

/* workload, vCPUs, testdev, status, console lines */
SQUIB_CASE(exceptions, int3_reaches_guest_handler,
	   { "int3", 1, true, SQUIB_EXPECT_PASS, { "ok int3-count\n", "ok int3-rip\n" }, { NULL } })

/*
 * The int3 fallback: KVM's forced-emulation prefix makes KVM emulate the int3,
 * which its emulator cannot do in 64-bit mode, so KVM reports an emulation
 * failure exactly as the PVM backend does for every int3. squib must inject
 * #BP itself (vcpu-worker/worker.c, try_inject_int3) for the guest to pass.
 */
#define FEP_PARAM "/sys/module/kvm/parameters/force_emulation_prefix"

static bool write_param(const char *path, const char *value)
{
	FILE *f = fopen(path, "w");
	bool ok;

	if (!f)
		return false;
	ok = fputs(value, f) >= 0;
	return fclose(f) == 0 && ok;
}

static void restore_fep(void)
{
	(void)write_param(FEP_PARAM, "0");
	squib_teardown();
}

Test(exceptions, int3_emulation_failure_is_injected_as_bp, .fini = restore_fep)
{
	static struct squib_run r; /* outlives the test: squib_teardown runs after it */

	/*
	 * The prefix is a host-wide KVM debug knob: flip it only inside the
	 * throwaway nested test host (tests/svm-host, which has /svm-host), or
	 * where the person running the tests opts in.
	 */
	if (access("/svm-host", F_OK) != 0 && !getenv("SQUIB_TEST_FORCE_EMULATION"))
		cr_skip_test("not in the nested test host: set SQUIB_TEST_FORCE_EMULATION=1 to let this test "
			     "turn on %s for a moment", FEP_PARAM);
	if (!write_param(FEP_PARAM, "1"))
		cr_skip_test("cannot enable %s (needs root and kvm.ko): the int3 fallback is untested here", FEP_PARAM);
	squib_run_init(&r);
	squib_start_guest(&r, 1, true, "int3-emulated", "--verbose", NULL);
	squib_finish(&r);
	squib_assert_pass(&r);
	cr_assert(strstr(r.console, "ok int3-rip\n"), "%s", squib_describe(&r));
	cr_assert(strstr(r.err, "int3 injected 1)"), "the monitor counted one injected #BP\n%s", squib_describe(&r));
}

/* The guest's default handler reports #UD and exits with 100 + 6. */
SQUIB_CASE(exceptions, unhandled_ud2_reported_by_guest, { "fault", 1, true, 106, { "exception vector=6 rip=0x" }, { NULL } })

/*
 * A fault on a broken stack is still reported: #PF and #DF run on interrupt
 * stacks of their own in the test guest, so this is exit 114 with the
 * faulting rsp and address, not a triple fault.
 */
SQUIB_CASE(exceptions, page_fault_on_a_broken_stack_reported_by_guest,
	   { "stack-fault", 1, true, 114,
	     { "exception vector=14 rip=0x", " rsp=0x200000000 ", " cr2=0x1fffffff8 " }, { NULL } })

SQUIB_CASE(interrupts, lapic_timer_periodic, { "timer", 1, true, SQUIB_EXPECT_PASS, { "ok timer-ticks\n" }, { NULL } })
