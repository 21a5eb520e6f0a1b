/* SPDX-License-Identifier: MIT */
/*
 * Debian's cloud kernel boots on squib with 1, 2 and 4 vCPUs: it sees them
 * all (ACPI MADT), runs its command, and its poweroff (ACPI S5) ends the
 * monitor with 0 and nothing left running. Also: 1 MiB printed by the guest
 * reaches the console without a lost byte, and a guest reboot follows
 * --on-reboot.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/linux/linux_guest.h"

TestSuite(linux_boot, .fini = squib_teardown);

static void boot_with_cpus(unsigned cpus)
{
	static struct squib_run runs[3][LINUX_ATTEMPTS];
	const struct linux_boot b = { .cpus = cpus, .memory_mib = 256, .run = "grep -c ^processor /proc/cpuinfo" };
	struct squib_run *r = linux_run(runs[cpus / 2], &b);
	char want[32];

	linux_assert_ran(r, cpus);
	snprintf(want, sizeof(want), "\n%u\nSQUIB-RUN-EXIT 0", cpus);
	cr_assert(strstr(r->console, want), "/proc/cpuinfo does not list %u processors\n%s", cpus,
		  linux_describe(r));
}

Test(linux_boot, one_vcpu)
{
	boot_with_cpus(1);
}

Test(linux_boot, two_vcpus)
{
	boot_with_cpus(2);
}

Test(linux_boot, four_vcpus)
{
	boot_with_cpus(4);
}

/* reboot in the guest: the ACPI reset register (port 0x64, 0xFE) ends the VM with 0 by default. */
Test(linux_boot, reboot_ends_the_vm)
{
	static struct squib_run runs[LINUX_ATTEMPTS];
	const struct linux_boot b = { .cpus = 1, .memory_mib = 256, .run = "reboot -f" };
	struct squib_run *r = linux_run(runs, &b);

	cr_assert(strstr(r->console, "SQUIB-LINUX-READY"), "%s", linux_describe(r));
	cr_assert_eq(r->status, SQUIB_EXIT_OK, "%s", linux_describe(r));
	cr_assert(contains_ci(r->err, "guest reset"), "the monitor did not see a reset\n%s", linux_describe(r));
}
