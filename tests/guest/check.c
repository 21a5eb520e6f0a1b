/* SPDX-License-Identifier: MIT */
/* ok/FAIL reporting shared by the workloads. */
#include "check.h"
#include "guest.h"
#include "testdev.h"

static uint32_t failures;

static bool report(const char *name, uint64_t expected, uint64_t got, bool pass, bool quiet, const char *rel)
{
	if (pass) {
		if (!quiet)
			kprintf("ok %s\n", name);
		return true;
	}
	atomic_inc32(&failures);
	kprintf("FAIL %s: expected %s0x%lx got 0x%lx\n", name, rel, expected, got);
	return false;
}

bool check_eq(const char *name, uint64_t expected, uint64_t got)
{
	return report(name, expected, got, expected == got, false, "");
}

bool check_eq_quiet(const char *name, uint64_t expected, uint64_t got)
{
	return report(name, expected, got, expected == got, true, "");
}

bool check_ge(const char *name, uint64_t min, uint64_t got)
{
	return report(name, min, got, got >= min, false, ">=");
}

void check_fail(const char *name, const char *reason)
{
	atomic_inc32(&failures);
	kprintf("FAIL %s: %s\n", name, reason);
}

uint32_t check_failures(void)
{
	return atomic_load32(&failures);
}

void finish(void)
{
	uint32_t n = check_failures();

	if (n == 0) {
		kputs("PASS");
		testdev_exit(0);
	}
	kprintf("FAILED %u\n", n);
	testdev_exit(1);
}
